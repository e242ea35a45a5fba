//! A small shop's telemetry for the dashboard's tests (and for looking at
//! the dashboard by hand: `cargo run -p sightline-tests --example seed`):
//! traces of every shape the trace view draws, correlated logs and metric
//! series, with fixed ids and times relative to a given "now".
//!
//! The checkout trace ([`CHECKOUT_TRACE`]): `web` (SERVER `GET /checkout`)
//! calls `cart` and `payment`; `payment` fails (an exception with a stack
//! trace) while calling `bank`; `web` has a noisy `http send` span under its
//! server span. The orphan trace ([`ORPHAN_TRACE`]) has a root and two spans
//! whose parent never arrived, one of them linking back to the checkout.

use serde_json::{Value, json};

pub const CHECKOUT_TRACE: &str = "c0ffee00000000000000000000000001";
pub const ORPHAN_TRACE: &str = "c0ffee00000000000000000000000002";

/// Span ids of the checkout trace.
pub const WEB_ROOT: &str = "a000000000000001";
pub const WEB_NOISE: &str = "a000000000000002";
pub const WEB_CART_CALL: &str = "a000000000000003";
pub const CART_SERVER: &str = "b000000000000001";
pub const CART_LOAD: &str = "b000000000000002";
pub const WEB_PAY_CALL: &str = "a000000000000004";
pub const PAY_SERVER: &str = "d000000000000001";
pub const PAY_CHARGE: &str = "d000000000000002";
pub const BANK_SERVER: &str = "e000000000000001";

/// Span ids of the orphan trace.
pub const ORPHAN_ROOT: &str = "f000000000000001";
pub const ORPHAN_A: &str = "f000000000000002";
pub const ORPHAN_B: &str = "f000000000000003";

/// Display order of the checkout trace's rows with noise hidden, and depths.
pub const CHECKOUT_ROWS: [(&str, usize); 8] = [
    (WEB_ROOT, 0),
    (WEB_CART_CALL, 1),
    (CART_SERVER, 2),
    (CART_LOAD, 3),
    (WEB_PAY_CALL, 1),
    (PAY_SERVER, 2),
    (PAY_CHARGE, 3),
    (BANK_SERVER, 4),
];

pub const STACKTRACE: &str = "Traceback (most recent call last):\n  File \"payment/app.py\", line 42, in charge\n    gateway.charge(card, amount)\n  File \"payment/gateway.py\", line 17, in charge\n    raise CardDeclined(\"insufficient funds\")\npayment.errors.CardDeclined: insufficient funds";

const MS: u64 = 1_000_000;

struct S<'a> {
    trace: &'a str,
    id: &'a str,
    parent: Option<&'a str>,
    name: &'a str,
    kind: u8,
    start: u64,
    end: u64,
    error: Option<&'a str>,
    attrs: Value,
    events: Value,
    links: Value,
}

fn span(s: S<'_>) -> Value {
    let mut v = json!({
        "traceId": s.trace, "spanId": s.id, "name": s.name, "kind": s.kind,
        "startTimeUnixNano": s.start.to_string(), "endTimeUnixNano": s.end.to_string(),
        "attributes": s.attrs, "events": s.events, "links": s.links,
        "status": match s.error { Some(m) => json!({"code": 2, "message": m}), None => json!({"code": 0}) },
    });
    if let Some(p) = s.parent {
        v["parentSpanId"] = json!(p);
    }
    v
}

fn kv(k: &str, v: &str) -> Value {
    json!({"key": k, "value": {"stringValue": v}})
}

fn resource(service: &str) -> Value {
    json!({"attributes": [kv("service.name", service), kv("service.version", "1.4.2"), kv("deployment.environment", "test")]})
}

fn resource_spans(service: &str, spans: Vec<Value>) -> Value {
    json!({"resource": resource(service), "scopeSpans": [{"scope": {"name": "shop.instrumentation", "version": "0.9"}, "spans": spans}]})
}

/// The traces: checkout, orphan, and `extra` plain `GET /items/{n}` traces
/// of `web` spread over the last 30 minutes.
pub fn traces(now: u64, extra: usize) -> Value {
    let t0 = now - 60_000 * MS;
    let t = CHECKOUT_TRACE;
    let none = || json!([]);
    let http = |route: &str, code: &str| {
        json!([
            kv("http.route", route),
            kv("http.method", "GET"),
            kv("http.status_code", code)
        ])
    };
    let mk = |trace, id, parent, name, kind, a: u64, b: u64, error, attrs, events, links| {
        span(S {
            trace,
            id,
            parent,
            name,
            kind,
            start: t0 + a * MS,
            end: t0 + b * MS,
            error,
            attrs,
            events,
            links,
        })
    };
    let web = vec![
        mk(
            t,
            WEB_ROOT,
            None,
            "GET /checkout",
            2,
            0,
            250,
            None,
            http("/checkout", "500"),
            none(),
            none(),
        ),
        mk(
            t,
            WEB_NOISE,
            Some(WEB_ROOT),
            "GET /checkout http send",
            1,
            246,
            247,
            None,
            none(),
            none(),
            none(),
        ),
        mk(
            t,
            WEB_CART_CALL,
            Some(WEB_ROOT),
            "POST /api/cart",
            3,
            10,
            120,
            None,
            none(),
            none(),
            none(),
        ),
        mk(
            t,
            WEB_PAY_CALL,
            Some(WEB_ROOT),
            "POST /api/payment",
            3,
            125,
            240,
            Some("502 from payment"),
            none(),
            none(),
            none(),
        ),
    ];
    let cart = vec![
        mk(
            t,
            CART_SERVER,
            Some(WEB_CART_CALL),
            "POST /api/cart",
            2,
            12,
            118,
            None,
            http("/api/cart", "200"),
            none(),
            none(),
        ),
        mk(
            t,
            CART_LOAD,
            Some(CART_SERVER),
            "load cart",
            1,
            20,
            100,
            None,
            json!([kv("cart.items", "3")]),
            none(),
            none(),
        ),
    ];
    let exception = json!([{
        "timeUnixNano": (t0 + 229 * MS).to_string(), "name": "exception",
        "attributes": [kv("exception.type", "payment.errors.CardDeclined"), kv("exception.message", "insufficient funds"),
                       kv("exception.stacktrace", STACKTRACE)]
    }]);
    let payment = vec![
        mk(
            t,
            PAY_SERVER,
            Some(WEB_PAY_CALL),
            "POST /api/payment",
            2,
            127,
            238,
            Some("card declined"),
            http("/api/payment", "502"),
            exception,
            none(),
        ),
        mk(
            t,
            PAY_CHARGE,
            Some(PAY_SERVER),
            "charge card",
            3,
            130,
            230,
            Some("insufficient funds"),
            none(),
            none(),
            none(),
        ),
    ];
    let bank = vec![mk(
        t,
        BANK_SERVER,
        Some(PAY_CHARGE),
        "charge",
        2,
        132,
        228,
        Some("declined"),
        none(),
        none(),
        none(),
    )];

    let o = ORPHAN_TRACE;
    let link = json!([{"traceId": CHECKOUT_TRACE, "spanId": PAY_SERVER, "attributes": [kv("link.reason", "retry of")]}]);
    let orphans = vec![
        mk(
            o,
            ORPHAN_ROOT,
            None,
            "nightly sync",
            1,
            1000,
            1400,
            None,
            none(),
            none(),
            none(),
        ),
        mk(
            o,
            ORPHAN_A,
            Some("0badc0de0badc0de"),
            "sync batch",
            5,
            1100,
            1200,
            None,
            none(),
            none(),
            link,
        ),
        mk(
            o,
            ORPHAN_B,
            Some("0badc0de0badc0de"),
            "sync cleanup",
            1,
            1210,
            1300,
            None,
            none(),
            none(),
            none(),
        ),
    ];
    let mut items = Vec::new();
    for i in 0..extra {
        let tid = format!("1e{:030x}", i + 1);
        let sid = format!("1f{:014x}", i + 1);
        let start =
            now - (30 * 60_000 * MS) + (i as u64) * (30 * 60_000 * MS / extra.max(1) as u64);
        let dur = (5 + (i as u64 * 37) % 400) * MS;
        items.push(span(S {
            trace: &tid,
            id: &sid,
            parent: None,
            name: &format!("GET /items/{i}"),
            kind: 2,
            start,
            end: start + dur,
            error: (i % 7 == 3).then_some("not found"),
            attrs: json!([
                kv("http.route", "/items/{id}"),
                kv("item.id", &i.to_string())
            ]),
            events: json!([]),
            links: json!([]),
        }));
    }
    let mut web_all = web;
    web_all.extend(items);
    json!({"resourceSpans": [
        resource_spans("web", web_all), resource_spans("cart", cart), resource_spans("payment", payment),
        resource_spans("bank", bank), resource_spans("scheduler", orphans),
    ]})
}

/// Logs: four correlated with the checkout trace (one an error), two not.
pub fn logs(now: u64) -> Value {
    let t0 = now - 60_000 * MS;
    let log = |at: u64, sev: u8, text: &str, body: &str, span: Option<&str>| {
        let mut v = json!({
            "timeUnixNano": (t0 + at * MS).to_string(), "observedTimeUnixNano": (t0 + at * MS).to_string(),
            "severityNumber": sev, "severityText": text, "body": {"stringValue": body},
            "attributes": [kv("code.function", "handler")],
        });
        if let Some(s) = span {
            v["traceId"] = json!(CHECKOUT_TRACE);
            v["spanId"] = json!(s);
        }
        v
    };
    let rl = |service: &str, records: Vec<Value>| json!({"resource": resource(service), "scopeLogs": [{"scope": {"name": "shop.logging"}, "logRecords": records}]});
    json!({"resourceLogs": [
        rl("web", vec![
            log(1, 9, "INFO", "checkout started for user 42", Some(WEB_ROOT)),
            log(249, 13, "WARN", "checkout finished with errors", Some(WEB_ROOT)),
            log(2000, 9, "INFO", "cache warmed", None),
        ]),
        rl("cart", vec![log(50, 5, "DEBUG", "cart loaded with 3 items", Some(CART_LOAD))]),
        rl("payment", vec![
            log(229, 17, "ERROR", "payment failed: insufficient funds", Some(PAY_SERVER)),
            log(3000, 9, "INFO", "payment gateway healthy", None),
        ]),
    ]})
}

/// Metrics: a monotonic request counter per route, a gauge, and a request
/// duration histogram, with a point per minute over the last 30 minutes.
pub fn metrics(now: u64) -> Value {
    let minutes = 30u64;
    let start = now - minutes * 60_000 * MS;
    let at = |m: u64| (start + m * 60_000 * MS).to_string();
    let counter_points = |route: &str, per_min: u64| -> Vec<Value> {
        (1..=minutes)
            .map(|m| json!({"startTimeUnixNano": start.to_string(), "timeUnixNano": at(m),
                "asInt": (m * per_min + m * m % 7).to_string(), "attributes": [kv("http.route", route)]}))
            .collect()
    };
    let mut sums = counter_points("/checkout", 60);
    sums.extend(counter_points("/items/{id}", 240));
    let gauge: Vec<Value> = (1..=minutes)
        .map(|m| json!({"timeUnixNano": at(m), "asDouble": 40.0 + (m as f64 / 3.0).sin() * 15.0}))
        .collect();
    let hist: Vec<Value> = (1..=minutes)
        .map(|m| {
            let c = [m * 10, m * 6, m * 3, m];
            json!({"startTimeUnixNano": start.to_string(), "timeUnixNano": at(m),
                "count": c.iter().sum::<u64>().to_string(), "sum": (m as f64 * 9.5),
                "bucketCounts": c.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
                "explicitBounds": [0.05, 0.1, 0.5], "attributes": [kv("http.route", "/checkout")]})
        })
        .collect();
    json!({"resourceMetrics": [{
        "resource": resource("web"),
        "scopeMetrics": [{"scope": {"name": "shop.metrics"}, "metrics": [
            {"name": "http.server.requests", "unit": "{requests}", "description": "Requests served",
             "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": sums}},
            {"name": "process.cpu.utilization", "unit": "%", "description": "CPU in use",
             "gauge": {"dataPoints": gauge}},
            {"name": "http.server.duration", "unit": "s", "description": "Request duration",
             "histogram": {"aggregationTemporality": 2, "dataPoints": hist}},
        ]}]
    }]})
}

/// Posts the whole scenario to an OTLP/HTTP receiver (`http://host:port`).
pub async fn send(client: &reqwest::Client, otlp_http_url: &str, now: u64, extra: usize) {
    for (path, body) in [
        ("traces", traces(now, extra)),
        ("logs", logs(now)),
        ("metrics", metrics(now)),
    ] {
        let resp = client
            .post(format!("{otlp_http_url}/v1/{path}"))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /v1/{path}: {e}"));
        assert!(
            resp.status().is_success(),
            "POST /v1/{path}: {}",
            resp.status()
        );
    }
}

/// Now, in Unix nanoseconds.
pub fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
