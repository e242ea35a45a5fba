//! Every query endpoint through the real binary on one fixed data set (sent
//! over OTLP/HTTP JSON), compared with golden files in `tests/snapshots/`,
//! plus the errors: unknown ids (404) and bad parameters (400 naming the
//! parameter); and the search fixes of issue 16 on data shaped like an
//! auto-instrumented app's (array attributes, calls inside traces, short
//! trace ids).

use serde_json::{Value, json};
use sightline_tests::clickhouse::ClickHouse;
use sightline_tests::otlp_json::hex_id;
use sightline_tests::snapshot::assert_snapshot;
use sightline_tests::{Options, Sightline};

/// 2027-01-15T08:00:00Z: fixed so every answer is the same on every run.
const T0: u64 = 1_800_000_000_000_000_000;
const MS: u64 = 1_000_000;
const WINDOW: &str = "from=2027-01-15T07:00:00Z&to=1800007200000000000";

fn trace_id(n: u64) -> String {
    format!("{:016x}{:016x}", 0x5157_0000_0000_0000u64 + n, n)
}

fn span_id(trace: u64, n: u64) -> String {
    format!("{:08x}{:08x}", trace, n)
}

fn str_attr(k: &str, v: &str) -> Value {
    json!({"key": k, "value": {"stringValue": v}})
}

fn int_attr(k: &str, v: i64) -> Value {
    json!({"key": k, "value": {"intValue": v.to_string()}})
}

#[allow(clippy::too_many_arguments)]
fn span(
    trace: u64,
    n: u64,
    parent: Option<u64>,
    name: &str,
    kind: u8,
    start: u64,
    dur_ms: u64,
    error: bool,
    attrs: Vec<Value>,
) -> Value {
    let mut s = json!({
        "traceId": trace_id(trace),
        "spanId": span_id(trace, n),
        "name": name,
        "kind": kind,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + dur_ms * MS).to_string(),
        "attributes": attrs,
        "status": if error { json!({"code": 2, "message": "card declined"}) } else { json!({}) },
    });
    if let Some(p) = parent {
        s["parentSpanId"] = json!(span_id(trace, p));
    }
    s
}

fn resource_spans(service: &str, spans: Vec<Value>) -> Value {
    json!({
        "resource": {"attributes": [str_attr("service.name", service), str_attr("deployment.environment", "test")]},
        "scopeSpans": [{"scope": {"name": "shop", "version": "1.2.0"}, "spans": spans}]
    })
}

/// Six checkout traces (every third fails in payment), each
/// frontend → checkout → payment, and one payment span called from outside.
fn traces_request() -> Value {
    let (mut front, mut checkout, mut payment) = (Vec::new(), Vec::new(), Vec::new());
    for t in 1..=6u64 {
        let start = T0 + t * 60_000 * MS;
        let failed = t % 3 == 0;
        front.push(span(
            t,
            1,
            None,
            "GET /checkout",
            2,
            start,
            200 + t * 10,
            failed,
            vec![
                str_attr("http.route", "/checkout"),
                int_attr("http.status_code", if failed { 500 } else { 200 }),
                int_attr("user.id", t as i64),
            ],
        ));
        front.push(span(
            t,
            2,
            Some(1),
            "POST checkout",
            3,
            start + 5 * MS,
            150,
            failed,
            vec![],
        ));
        checkout.push(span(
            t,
            3,
            Some(2),
            "PlaceOrder",
            2,
            start + 10 * MS,
            140,
            failed,
            vec![],
        ));
        checkout.push(span(
            t,
            4,
            Some(3),
            "charge",
            3,
            start + 20 * MS,
            100,
            failed,
            vec![],
        ));
        let mut charge = span(
            t,
            5,
            Some(4),
            "Charge",
            2,
            start + 25 * MS,
            90,
            failed,
            vec![str_attr(
                "payment.method",
                if t % 2 == 0 { "card" } else { "paypal" },
            )],
        );
        if failed {
            charge["events"] = json!([{
                "timeUnixNano": (start + 100 * MS).to_string(),
                "name": "exception",
                "attributes": [
                    str_attr("exception.type", "CardDeclined"),
                    str_attr("exception.stacktrace", "CardDeclined: declined\n  at charge (pay.py:12)"),
                ]
            }]);
        }
        payment.push(charge);
    }
    // A payment span whose caller sent nothing (an external client).
    let mut webhook = span(
        7,
        1,
        Some(99),
        "Webhook",
        2,
        T0 + 7 * 60_000 * MS,
        12,
        false,
        vec![],
    );
    webhook["links"] = json!([{"traceId": trace_id(1), "spanId": span_id(1, 5), "attributes": [str_attr("link.kind", "retry-of")]}]);
    payment.push(webhook);
    json!({"resourceSpans": [
        resource_spans("frontend", front),
        resource_spans("checkout", checkout),
        resource_spans("payment", payment),
    ]})
}

fn logs_request() -> Value {
    let mut records = Vec::new();
    for t in 1..=6u64 {
        let time = T0 + t * 60_000 * MS + 30 * MS;
        let failed = t % 3 == 0;
        records.push(json!({
            "timeUnixNano": time.to_string(),
            "observedTimeUnixNano": (time + MS).to_string(),
            "severityNumber": if failed { 17 } else { 9 },
            "severityText": if failed { "ERROR" } else { "INFO" },
            "body": {"stringValue": if failed { format!("Payment declined for order {t}") } else { format!("Order {t} charged") }},
            "attributes": [int_attr("order.id", t as i64)],
            "traceId": trace_id(t),
            "spanId": span_id(t, 5),
        }));
    }
    json!({"resourceLogs": [{
        "resource": {"attributes": [str_attr("service.name", "payment")]},
        "scopeLogs": [{"scope": {"name": "payment.log"}, "logRecords": records}]
    }]})
}

async fn send(server: &Sightline, path: &str, body: &Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", server.otlp_http_url))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}: {}", resp.text().await.unwrap());
}

async fn get(server: &Sightline, path: &str) -> (u16, Value) {
    let resp = reqwest::get(server.url(path)).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn ok(server: &Sightline, path: &str) -> Value {
    let (status, body) = get(server, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn ids(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[field].as_str().unwrap().to_owned())
        .collect()
}

async fn loaded() -> Sightline {
    let server = Sightline::start();
    send(&server, "/v1/traces", &traces_request()).await;
    send(&server, "/v1/logs", &logs_request()).await;
    server
}

#[tokio::test]
async fn trace_search_snapshots() {
    let s = loaded().await;
    let all = ok(&s, &format!("/api/traces?{WINDOW}")).await;
    assert_snapshot("traces_all", &all);
    assert_eq!(
        ids(&all, "traces", "traceId"),
        (1..=7).rev().map(trace_id).collect::<Vec<_>>()
    );
    let errors = ok(&s, &format!("/api/traces?{WINDOW}&status=error")).await;
    assert_eq!(
        ids(&errors, "traces", "traceId"),
        [trace_id(6), trace_id(3)]
    );
    let of_payment_card = ok(
        &s,
        &format!("/api/traces?{WINDOW}&service=payment&attr=payment.method:card"),
    )
    .await;
    assert_snapshot("traces_payment_card", &of_payment_card);
    assert_eq!(
        ids(&of_payment_card, "traces", "traceId"),
        [trace_id(6), trace_id(4), trace_id(2)]
    );
    let slow = ok(
        &s,
        &format!("/api/traces?{WINDOW}&min_duration=240ms&operation=GET%20%2Fcheckout"),
    )
    .await;
    assert_eq!(
        ids(&slow, "traces", "traceId"),
        [trace_id(6), trace_id(5), trace_id(4)]
    );
    let text = ok(
        &s,
        &format!("/api/traces?{WINDOW}&q={}", &trace_id(5)[..16]),
    )
    .await;
    assert_eq!(ids(&text, "traces", "traceId"), [trace_id(5)]);
    // Pages of two follow each other without gaps or repeats.
    let mut cursor = String::new();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let page = ok(&s, &format!("/api/traces?{WINDOW}&limit=2{cursor}")).await;
        seen.extend(ids(&page, "traces", "traceId"));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=7).rev().map(trace_id).collect::<Vec<_>>());
}

#[tokio::test]
async fn trace_detail_and_otlp_export_round_trip() {
    let s = loaded().await;
    let detail = ok(&s, &format!("/api/traces/{}", trace_id(3))).await;
    assert_snapshot("trace_detail", &detail);
    assert_eq!(detail["summary"]["logCount"], 1);
    assert_eq!(detail["summary"]["errorCount"], 5);
    let resp = reqwest::get(s.url(&format!("/api/traces/{}/otlp", trace_id(3))))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(&format!("trace-{}.json", trace_id(3))),
        "{disposition}"
    );
    let export: Value = resp.json().await.unwrap();
    assert_snapshot("trace_otlp", &export);
    // Sent to another instance, the file gives back the same trace.
    let other = Sightline::start();
    send(&other, "/v1/traces", &export).await;
    let again = ok(&other, &format!("/api/traces/{}", trace_id(3))).await;
    let mut expected = detail.clone();
    expected["summary"]["logCount"] = json!(0);
    assert_eq!(again, expected);
}

#[tokio::test]
async fn trace_outline_is_the_detail_without_attributes() {
    let s = loaded().await;
    let outline = ok(&s, &format!("/api/traces/{}/outline", trace_id(3))).await;
    assert_snapshot("trace_outline", &outline);
    let detail = ok(&s, &format!("/api/traces/{}", trace_id(3))).await;
    assert_eq!(outline["summary"], detail["summary"]);
    let spans = outline["spans"].as_array().unwrap();
    assert_eq!(spans.len(), detail["spans"].as_array().unwrap().len());
    for (o, d) in spans.iter().zip(detail["spans"].as_array().unwrap()) {
        assert_eq!(o[0], d["span"]["spanId"]);
        assert_eq!(
            outline["names"][o[5].as_u64().unwrap() as usize],
            d["span"]["name"]
        );
        assert_eq!(
            outline["services"][o[4].as_u64().unwrap() as usize],
            d["service"]
        );
    }
    let (status, _) = get(&s, "/api/traces/00000000000000000000000000000bad/outline").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn span_search_snapshots() {
    let s = loaded().await;
    let charges = ok(
        &s,
        &format!("/api/spans?{WINDOW}&service=payment&name=Charge"),
    )
    .await;
    assert_snapshot("spans_charge", &charges);
    assert_eq!(charges["spans"].as_array().unwrap().len(), 6);
    let one = ok(&s, &format!("/api/spans?span_id={}", span_id(4, 3))).await;
    assert_eq!(ids(&one, "spans", "service"), ["checkout"]);
    assert_eq!(one["spans"][0]["span"]["name"], "PlaceOrder");
    let clients = ok(&s, &format!("/api/spans?{WINDOW}&kind=client&status=error")).await;
    let names: Vec<String> = clients["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["span"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["charge", "POST checkout", "charge", "POST checkout"]
    );
    let long = ok(&s, &format!("/api/spans?{WINDOW}&min_duration=260ms")).await;
    assert_eq!(ids(&long, "spans", "service"), ["frontend"]);
}

#[tokio::test]
async fn log_search_snapshots() {
    let s = loaded().await;
    let declined = ok(&s, &format!("/api/logs?{WINDOW}&q=payment%20DECLINED")).await;
    assert_snapshot("logs_declined", &declined);
    assert_eq!(declined["logs"].as_array().unwrap().len(), 2);
    let errors = ok(&s, &format!("/api/logs?{WINDOW}&severity_min=error")).await;
    assert_eq!(errors["logs"].as_array().unwrap().len(), 2);
    let of_trace = ok(&s, &format!("/api/logs?trace_id={}", trace_id(4))).await;
    assert_eq!(
        of_trace["logs"][0]["record"]["body"]["stringValue"],
        "Order 4 charged"
    );
    let by_attr = ok(&s, &format!("/api/logs?{WINDOW}&attr=order.id:5")).await;
    assert_eq!(by_attr["logs"].as_array().unwrap().len(), 1);
    let other_service = ok(&s, &format!("/api/logs?{WINDOW}&service=frontend")).await;
    assert!(other_service["logs"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn services_and_service_map_snapshots() {
    let s = loaded().await;
    let services = ok(&s, &format!("/api/services?{WINDOW}")).await;
    assert_snapshot("services", &services);
    let payment = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "payment")
        .unwrap()
        .clone();
    assert_eq!(payment["requestCount"], 7);
    assert_eq!(payment["requestErrorCount"], 2);
    assert_eq!(payment["logCount"], 6);
    let map = ok(&s, &format!("/api/service-map?{WINDOW}")).await;
    assert_snapshot("service_map", &map);
    let edges: Vec<(String, String, u64)> = map["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["caller"].as_str().unwrap().to_owned(),
                e["callee"].as_str().unwrap().to_owned(),
                e["callCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        edges,
        [
            ("checkout".to_owned(), "payment".to_owned(), 6),
            ("external".to_owned(), "payment".to_owned(), 1),
            ("frontend".to_owned(), "checkout".to_owned(), 6),
        ]
    );
}

#[tokio::test]
async fn unknown_ids_are_404_and_bad_parameters_400() {
    let s = loaded().await;
    let mut answers = serde_json::Map::new();
    for path in [
        format!("/api/traces/{}", trace_id(42)),
        format!("/api/traces/{}/otlp", trace_id(42)),
        "/api/traces/xyz".to_owned(),
        "/api/traces?limit=5000".to_owned(),
        "/api/traces?status=maybe".to_owned(),
        "/api/traces?from=yesterday".to_owned(),
        "/api/traces?range=a%20while".to_owned(),
        "/api/traces?min_duration=2s&max_duration=1s".to_owned(),
        "/api/traces?attr=novalue".to_owned(),
        "/api/traces?cursor=not-a-cursor".to_owned(),
        "/api/traces?root_only=maybe".to_owned(),
        "/api/traces/5157000".to_owned(),
        "/api/spans?kind=sideways".to_owned(),
        "/api/spans?span_id=123".to_owned(),
        "/api/logs?severity_min=loud".to_owned(),
        "/api/logs?trace_id=zz".to_owned(),
        "/api/services?to=0&from=5".to_owned(),
        "/api/service-map?range=-1h".to_owned(),
        "/api/nothing-here".to_owned(),
    ] {
        let (status, body) = get(&s, &path).await;
        assert!(status == 400 || status == 404, "{path}: {status}");
        assert!(body["error"].is_string(), "{path}: {body}");
        answers.insert(path, json!({"status": status, "body": body}));
    }
    assert_snapshot("errors", &Value::Object(answers));
}

/// A server on the embedded store, or on a fresh database of a ClickHouse
/// (the test engine of `tests/clickhouse/`), which lives as long as it.
struct OnEngine {
    server: Sightline,
    _clickhouse: Option<ClickHouse>,
}

impl OnEngine {
    fn start(clickhouse: bool, mut args: Vec<String>) -> Self {
        let ch = clickhouse.then(ClickHouse::start);
        if let Some(ch) = &ch {
            args.extend([
                "--clickhouse-url".to_owned(),
                ch.url.clone(),
                "--clickhouse-database".to_owned(),
                ch.fresh_database(),
            ]);
        }
        Self {
            server: Sightline::start_with(Options {
                args,
                ..Options::default()
            }),
            _clickhouse: ch,
        }
    }
}

/// The engines the search fixes are checked on, with a label for messages.
const ENGINES: [(bool, &str); 2] = [(false, "sqlite"), (true, "clickhouse")];

fn array_attr(k: &str, values: &[&str]) -> Value {
    let values: Vec<Value> = values.iter().map(|v| json!({"stringValue": v})).collect();
    json!({"key": k, "value": {"arrayValue": {"values": values}}})
}

/// Regression (issue 16, item 6): `attr=http.request.header.x_req_id:req-1995`
/// found nothing, because captured headers are arrays of strings. An
/// element matches, with the key indexed (block filters) and without.
#[tokio::test]
async fn array_attributes_are_filtered_by_element() {
    // The embedded store with the key indexed (block filters) and not, then
    // ClickHouse.
    for (clickhouse, indexed) in [(false, true), (false, false), (true, false)] {
        let args = if indexed {
            vec![
                "--indexed-attributes".to_owned(),
                "http.request.header.x_req_id,http.route".to_owned(),
            ]
        } else {
            Vec::new()
        };
        let engine = OnEngine::start(clickhouse, args);
        let s = &engine.server;
        let indexed = format!("clickhouse: {clickhouse}, indexed: {indexed}");
        let spans = (1..=3u64)
            .map(|t| {
                span(
                    t,
                    1,
                    None,
                    "GET /items/{id}",
                    2,
                    T0 + t * 60_000 * MS,
                    20,
                    false,
                    vec![
                        str_attr("http.route", "/items/{id}"),
                        array_attr("http.request.header.x_req_id", &[&format!("req-199{t}")]),
                    ],
                )
            })
            .collect();
        send(
            s,
            "/v1/traces",
            &json!({"resourceSpans": [resource_spans("catalog", spans)]}),
        )
        .await;
        send(
            s,
            "/v1/logs",
            &json!({"resourceLogs": [{
                "resource": {"attributes": [str_attr("service.name", "catalog")]},
                "scopeLogs": [{"scope": {"name": "catalog.log"}, "logRecords": [{
                    "timeUnixNano": (T0 + 60_000 * MS).to_string(),
                    "severityNumber": 9,
                    "body": {"stringValue": "item read"},
                    "attributes": [array_attr("http.request.header.x_req_id", &["req-1991", "req-7"])],
                    "traceId": trace_id(1),
                }]}]
            }]}),
        )
        .await;
        let traces = ok(
            s,
            &format!("/api/traces?{WINDOW}&attr=http.request.header.x_req_id:req-1992"),
        )
        .await;
        assert_eq!(
            ids(&traces, "traces", "traceId"),
            [trace_id(2)],
            "indexed: {indexed}"
        );
        let spans = ok(
            s,
            &format!("/api/spans?{WINDOW}&attr=http.request.header.x_req_id=req-1993"),
        )
        .await;
        assert_eq!(
            spans["spans"][0]["span"]["spanId"],
            json!(span_id(3, 1)),
            "indexed: {indexed}"
        );
        let logs = ok(
            s,
            &format!("/api/logs?{WINDOW}&attr=http.request.header.x_req_id:req-7"),
        )
        .await;
        assert_eq!(
            logs["logs"].as_array().unwrap().len(),
            1,
            "indexed: {indexed}"
        );
        let none = ok(
            s,
            &format!("/api/traces?{WINDOW}&attr=http.request.header.x_req_id:req-199"),
        )
        .await;
        assert!(none["traces"].as_array().unwrap().is_empty());
    }
}

/// Regression (issue 16, item 7): `service=inventory&operation=POST
/// /reserve/{item_id}` and `q=reserve` found no trace when the call was
/// not the root span. They match any span now; `root_only=true` keeps the
/// root-only reading.
#[tokio::test]
async fn trace_search_matches_any_span_unless_root_only() {
    for (clickhouse, engine) in ENGINES {
        let on = OnEngine::start(clickhouse, Vec::new());
        any_span_search(&on.server).await;
        eprintln!("any-span trace search passed on {engine}");
    }
}

async fn any_span_search(s: &Sightline) {
    let reserve = "POST /reserve/{item_id}";
    let start = |t: u64| T0 + t * 60_000 * MS;
    // 1: web GET /cart → web client reserve → inventory reserve;
    // 2: inventory reserve called from outside (its root);
    // 3: web GET /cart alone.
    let web = vec![
        span(1, 1, None, "GET /cart", 2, start(1), 80, false, vec![]),
        span(
            1,
            2,
            Some(1),
            reserve,
            3,
            start(1) + 5 * MS,
            50,
            false,
            vec![],
        ),
        span(3, 1, None, "GET /cart", 2, start(3), 40, false, vec![]),
    ];
    let inventory = vec![
        span(
            1,
            3,
            Some(2),
            reserve,
            2,
            start(1) + 10 * MS,
            40,
            false,
            vec![str_attr("item.id", "42")],
        ),
        span(2, 1, None, reserve, 2, start(2), 30, true, vec![]),
    ];
    send(
        s,
        "/v1/traces",
        &json!({"resourceSpans": [
            resource_spans("web", web),
            resource_spans("inventory", inventory),
        ]}),
    )
    .await;
    let found = |qs: String| async move {
        ids(
            &ok(s, &format!("/api/traces?{WINDOW}&{qs}")).await,
            "traces",
            "traceId",
        )
    };
    let op = "operation=POST%20%2Freserve%2F%7Bitem_id%7D";
    assert_eq!(
        found(format!("service=inventory&{op}")).await,
        [trace_id(2), trace_id(1)]
    );
    assert_eq!(
        found(format!("service=inventory&{op}&root_only=true")).await,
        [trace_id(2)]
    );
    assert_eq!(found(op.to_owned()).await, [trace_id(2), trace_id(1)]);
    assert_eq!(found(format!("{op}&root_only=true")).await, [trace_id(2)]);
    assert_eq!(
        found("service=web&operation=GET%20%2Fcart".to_owned()).await,
        [trace_id(3), trace_id(1)]
    );
    assert_eq!(
        found("q=reserve".to_owned()).await,
        [trace_id(2), trace_id(1)]
    );
    assert_eq!(
        found("q=reserve&root_only=true".to_owned()).await,
        [trace_id(2)]
    );
    assert_eq!(
        found("q=INVENT".to_owned()).await,
        [trace_id(2), trace_id(1)]
    );
    assert_eq!(found(format!("{op}&attr=item.id:42")).await, [trace_id(1)]);
    assert_eq!(found(format!("{op}&status=error")).await, [trace_id(2)]);
    // The summary stays the trace's own: root, spans, services.
    let one = ok(
        s,
        &format!("/api/traces?{WINDOW}&service=inventory&{op}&limit=2"),
    )
    .await;
    let t1 = &one["traces"][1];
    assert_eq!(t1["rootName"], "GET /cart");
    assert_eq!(t1["spanCount"], 3);
    let mut services: Vec<&str> = t1["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    services.sort();
    assert_eq!(services, ["inventory", "web"]);
}

/// Regression (issue 16, item 11): lists show `87f8f764…`, and
/// `/traces/87f8f764` answered "not a trace id". A prefix of 8 or more hex
/// digits that one trace starts with names it; one that several start with
/// is a 409 listing them; fewer than 8 digits is a 400.
#[tokio::test]
async fn short_trace_ids_resolve_or_list_candidates() {
    for (clickhouse, engine) in ENGINES {
        let on = OnEngine::start(clickhouse, Vec::new());
        send(&on.server, "/v1/traces", &traces_request()).await;
        short_ids(&on.server).await;
        eprintln!("short trace ids passed on {engine}");
    }
}

async fn short_ids(s: &Sightline) {
    let random = hex_id(1995, 16);
    let spans = [sightline_tests::otlp_json::TestSpan {
        trace_id: &random,
        span_id: "00000000000000a1",
        parent: None,
        name: "GET /short",
        start: T0 + 10 * 60_000 * MS,
        end: T0 + 10 * 60_000 * MS + 5 * MS,
        error: false,
    }];
    send(
        s,
        "/v1/traces",
        &sightline_tests::otlp_json::traces_request("short", &spans),
    )
    .await;
    // Unique prefixes: a random id's first 8 digits, 16 of a fixture id
    // (in capitals), the whole id; every trace route resolves them.
    let detail = ok(s, &format!("/api/traces/{}", &random[..8])).await;
    assert_eq!(detail["summary"]["traceId"], json!(random));
    let upper = trace_id(5)[..16].to_uppercase();
    let outline = ok(s, &format!("/api/traces/{upper}/outline")).await;
    assert_eq!(outline["summary"]["traceId"], json!(trace_id(5)));
    let resp = reqwest::get(s.url(&format!("/api/traces/{}/otlp", &trace_id(5)[..20])))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains(&trace_id(5)), "{disposition}");
    // Ambiguous: every fixture trace starts with 51570000.
    for path in ["/api/traces/51570000", "/api/traces/51570000/outline"] {
        let (status, body) = get(s, path).await;
        assert_eq!(status, 409, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("7 traces"),
            "{body}"
        );
        assert_eq!(
            body["candidates"],
            json!((1..=7).map(trace_id).collect::<Vec<_>>()),
            "in id order"
        );
    }
    // Too short, no match, not hex.
    let (status, body) = get(s, &format!("/api/traces/{}", &random[..7])).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("8"), "{body}");
    assert!(body.get("candidates").is_none());
    let (status, _) = get(s, "/api/traces/deadbeef0").await;
    assert_eq!(status, 404);
    let (status, _) = get(s, "/api/traces/51570000zz").await;
    assert_eq!(status, 400);
}
