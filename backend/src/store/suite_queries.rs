//! The storage test suite's query half: searches, pagination, the service
//! catalog and the service map, checked on one small topology whose every
//! answer is known by construction.

use std::collections::HashSet;

use shared::logs::{LogRecord, ResourceLogs, ScopeLogs};
use shared::query::{AttrFilter, Bounds, LogQuery, SpanQuery, StatusFilter, TraceQuery};
use shared::trace::{
    Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanKind, Status, StatusCode,
};
use shared::{AnyValue, KeyValue, SpanId, TraceId, TraceIdPrefix, UnixNanos};

use super::contract::{TelemetryStore, WriteBatch};
use super::suite_fidelity::Fidelity;

const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;
const TRACES: u64 = 30;

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![KeyValue::string("service.name", service)],
        ..Default::default()
    }
}

fn tid(t: u64) -> TraceId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&(t + 1).to_be_bytes());
    id[15] = 0xaa;
    TraceId(id)
}

fn sid(t: u64, n: u8) -> SpanId {
    let mut id = [n; 8];
    id[..4].copy_from_slice(&((t + 1) as u32).to_be_bytes());
    SpanId(id)
}

fn start_of(t: u64) -> u64 {
    T0 + t * 10_000 * MS
}

fn is_error_trace(t: u64) -> bool {
    t.is_multiple_of(5)
}

#[allow(clippy::too_many_arguments)]
fn mk(
    t: u64,
    n: u8,
    parent: Option<u8>,
    name: &str,
    kind: SpanKind,
    offset: u64,
    dur: u64,
    error: bool,
    attrs: Vec<KeyValue>,
) -> Span {
    Span {
        trace_id: tid(t),
        span_id: sid(t, n),
        parent_span_id: parent.map(|p| sid(t, p)),
        name: name.into(),
        kind,
        start_time: UnixNanos(start_of(t) + offset),
        end_time: UnixNanos(start_of(t) + offset + dur),
        attributes: attrs,
        status: Status {
            code: if error {
                StatusCode::Error
            } else {
                StatusCode::Unset
            },
            message: String::new(),
        },
        ..Default::default()
    }
}

/// Trace `t`: frontend server → frontend client → cart server → cart db.
fn trace_spans(t: u64) -> (Vec<Span>, Vec<Span>) {
    let err = is_error_trace(t);
    let root_dur = (100 + t) * MS;
    let front = vec![
        mk(
            t,
            1,
            None,
            "GET /checkout",
            SpanKind::Server,
            0,
            root_dur,
            false,
            vec![
                KeyValue::string("http.route", "/checkout"),
                KeyValue {
                    key: "user.id".into(),
                    value: AnyValue::Int(t as i64),
                },
            ],
        ),
        mk(
            t,
            2,
            Some(1),
            "call cart",
            SpanKind::Client,
            MS,
            50 * MS,
            err,
            vec![],
        ),
    ];
    let cart = vec![
        mk(
            t,
            3,
            Some(2),
            "Cart.Get",
            SpanKind::Server,
            2 * MS,
            40 * MS,
            err,
            vec![],
        ),
        mk(
            t,
            4,
            Some(3),
            "db",
            SpanKind::Internal,
            3 * MS,
            10 * MS,
            false,
            vec![],
        ),
    ];
    (front, cart)
}

fn batch(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: resource(service),
        scope_spans: vec![ScopeSpans {
            scope: Scope {
                name: "suite".into(),
                ..Default::default()
            },
            spans,
        }],
    }
}

fn write(store: &dyn TelemetryStore, b: WriteBatch) {
    store
        .submit(b)
        .expect("queue accepts")
        .blocking_recv()
        .expect("writer answers")
        .expect("write succeeds");
}

fn log(t: u64, body: &str, severity: i32) -> LogRecord {
    LogRecord {
        time: UnixNanos(start_of(t) + 5 * MS),
        observed_time: UnixNanos(start_of(t) + 6 * MS),
        severity_number: severity,
        severity_text: String::new(),
        body: AnyValue::String(body.into()),
        trace_id: Some(tid(t)),
        span_id: Some(sid(t, 3)),
        ..Default::default()
    }
}

/// 30 traces in three writes (so three blocks), one trace of `billing`
/// whose caller is unknown, and two logs per trace.
fn load(store: &dyn TelemetryStore) {
    for chunk in 0..3 {
        let mut front = Vec::new();
        let mut cart = Vec::new();
        for t in chunk * 10..chunk * 10 + 10 {
            let (f, c) = trace_spans(t);
            front.extend(f);
            cart.extend(c);
        }
        write(
            store,
            WriteBatch::Spans(vec![batch("frontend", front), batch("cart", cart)]),
        );
    }
    let orphan = mk(
        TRACES,
        1,
        Some(9),
        "Charge",
        SpanKind::Server,
        0,
        5 * MS,
        false,
        vec![],
    );
    write(
        store,
        WriteBatch::Spans(vec![batch("billing", vec![orphan])]),
    );
    let records = (0..TRACES)
        .flat_map(|t| {
            let failed = log(t, &format!("payment failed for order {t}"), 17);
            let ok = log(t, "Cart loaded from cache", 9);
            if is_error_trace(t) {
                vec![failed, ok]
            } else {
                vec![ok]
            }
        })
        .collect();
    write(
        store,
        WriteBatch::Logs(vec![ResourceLogs {
            resource: resource("cart"),
            scope_logs: vec![ScopeLogs {
                scope: Scope::default(),
                log_records: records,
            }],
        }]),
    );
}

/// Follows `next_cursor` to the end; returns the pages.
fn all_pages<T>(mut fetch: impl FnMut(Option<String>) -> (Vec<T>, Option<String>)) -> Vec<Vec<T>> {
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let (items, next) = fetch(cursor);
        pages.push(items);
        match next {
            Some(c) => cursor = Some(c),
            None => return pages,
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

fn trace_ids(store: &dyn TelemetryStore, q: TraceQuery) -> Vec<TraceId> {
    store
        .search_traces(&q, Bounds::ALL)
        .unwrap()
        .traces
        .into_iter()
        .map(|t| t.trace_id)
        .collect()
}

/// Runs the query checks on a fresh store.
pub fn run_all(store: &dyn TelemetryStore, fidelity: &dyn Fidelity) {
    load(store);
    trace_search(store);
    span_search(store, fidelity);
    log_search(store);
    services(store);
    service_map(store);
    resource_attribute_search(store);
    run_search_regressions(store);
}

/// Two instances of one service, told apart by an indexed resource
/// attribute (`host.name`), written in one batch so they share blocks:
/// a filter on the second instance finds its spans and logs.
fn resource_attribute_search(store: &dyn TelemetryStore) {
    let instance = |host: &str| Resource {
        attributes: vec![
            KeyValue::string("service.name", "inventory"),
            KeyValue::string("host.name", host),
        ],
        ..Default::default()
    };
    let t = TRACES + 1;
    let span = |n: u8| {
        mk(
            t,
            n,
            None,
            "Reserve",
            SpanKind::Server,
            0,
            MS,
            false,
            vec![],
        )
    };
    let spans = |host: &str, n: u8| ResourceSpans {
        resource: instance(host),
        scope_spans: vec![ScopeSpans {
            scope: Scope::default(),
            spans: vec![span(n)],
        }],
    };
    write(
        store,
        WriteBatch::Spans(vec![spans("inv-a", 1), spans("inv-b", 2)]),
    );
    let logs = |host: &str, body: &str| ResourceLogs {
        resource: instance(host),
        scope_logs: vec![ScopeLogs {
            scope: Scope::default(),
            log_records: vec![log(t, body, 9)],
        }],
    };
    write(
        store,
        WriteBatch::Logs(vec![
            logs("inv-a", "reserved on a"),
            logs("inv-b", "reserved on b"),
        ]),
    );
    let on_b = || vec![AttrFilter::parse("host.name=inv-b").unwrap()];
    let found = store
        .search_spans(
            &SpanQuery {
                attrs: on_b(),
                ..Default::default()
            },
            Bounds::ALL,
        )
        .unwrap();
    assert_eq!(found.spans.len(), 1);
    assert_eq!(found.spans[0].span.span_id, sid(t, 2));
    let found = store
        .search_logs(
            &LogQuery {
                attrs: on_b(),
                ..Default::default()
            },
            Bounds::ALL,
        )
        .unwrap();
    assert_eq!(found.logs.len(), 1);
    assert_eq!(
        found.logs[0].record.body.to_display_string(),
        "reserved on b"
    );
}

fn trace_search(store: &dyn TelemetryStore) {
    // Every trace once, newest first, across pages of 7.
    let pages = all_pages(|cursor| {
        let r = store
            .search_traces(
                &TraceQuery {
                    limit: Some(7),
                    cursor,
                    ..Default::default()
                },
                Bounds::ALL,
            )
            .unwrap();
        (r.traces, r.next_cursor)
    });
    assert_eq!(pages.len(), 5);
    let all: Vec<_> = pages.concat();
    let expected: Vec<TraceId> = (0..=TRACES).rev().map(tid).collect();
    assert_eq!(all.iter().map(|t| t.trace_id).collect::<Vec<_>>(), expected);
    let t7 = all.iter().find(|t| t.trace_id == tid(7)).unwrap();
    assert_eq!(t7.root_service, "frontend");
    assert_eq!(t7.root_name, "GET /checkout");
    assert_eq!(t7.span_count, 4);
    assert_eq!(t7.duration.0, 107 * MS);
    let mut services = t7.services.clone();
    services.sort();
    assert_eq!(services, ["cart", "frontend"]);

    let q = |f: fn(&mut TraceQuery)| {
        let mut q = TraceQuery::default();
        f(&mut q);
        trace_ids(store, q)
    };
    let errors = q(|q| q.status = Some(StatusFilter::Error));
    let expected: Vec<TraceId> = (0..TRACES)
        .rev()
        .filter(|t| is_error_trace(*t))
        .map(tid)
        .collect();
    assert_eq!(errors, expected);
    assert_eq!(q(|q| q.status = Some(StatusFilter::Ok)).len(), 31 - 6);
    assert_eq!(q(|q| q.service = Some("cart".into())).len(), 30);
    assert_eq!(q(|q| q.service = Some("billing".into())), [tid(TRACES)]);
    assert!(q(|q| q.service = Some("nope".into())).is_empty());
    assert_eq!(q(|q| q.operation = Some("Charge".into())), [tid(TRACES)]);
    // Root durations are 100 + t ms: t >= 20 passes 120 ms.
    let slow = q(|q| q.min_duration = Some(120 * MS));
    assert_eq!(slow, (20..TRACES).rev().map(tid).collect::<Vec<_>>());
    let mid = q(|q| {
        q.min_duration = Some(110 * MS);
        q.max_duration = Some(112 * MS)
    });
    assert_eq!(mid, [tid(12), tid(11), tid(10)]);
    // An attribute of the root span (not indexed: a full scan), another
    // of a resource, and one that matches nothing.
    let by_user = q(|q| q.attrs = vec![AttrFilter::parse("user.id:7").unwrap()]);
    assert_eq!(by_user, [tid(7)]);
    let by_resource = q(|q| q.attrs = vec![AttrFilter::parse("service.name=billing").unwrap()]);
    assert_eq!(by_resource, [tid(TRACES)]);
    assert!(q(|q| q.attrs = vec![AttrFilter::parse("user.id:999").unwrap()]).is_empty());
    // Attribute pages: every matching trace once.
    let pages = all_pages(|cursor| {
        let r = store
            .search_traces(
                &TraceQuery {
                    attrs: vec![AttrFilter::parse("http.route:/checkout").unwrap()],
                    limit: Some(4),
                    cursor,
                    ..Default::default()
                },
                Bounds::ALL,
            )
            .unwrap();
        (r.traces, r.next_cursor)
    });
    let ids: Vec<TraceId> = pages.concat().into_iter().map(|t| t.trace_id).collect();
    assert_eq!(ids, (0..TRACES).rev().map(tid).collect::<Vec<_>>());
    // Free text: a trace id prefix, a root name, a service name.
    let prefix = tid(7).to_string()[..16].to_owned();
    let by_id = trace_ids(
        store,
        TraceQuery {
            q: Some(prefix),
            ..Default::default()
        },
    );
    assert_eq!(by_id, [tid(7)]);
    assert_eq!(q(|q| q.q = Some("checkout".into())).len(), 30);
    assert_eq!(q(|q| q.q = Some("BILL".into())), [tid(TRACES)]);
    // Time bounds pick traces by start.
    let window = store
        .search_traces(
            &TraceQuery::default(),
            Bounds {
                from: start_of(3),
                to: start_of(5),
            },
        )
        .unwrap();
    let ids: Vec<TraceId> = window.traces.iter().map(|t| t.trace_id).collect();
    assert_eq!(ids, [tid(5), tid(4), tid(3)]);
}

fn span_search(store: &dyn TelemetryStore, fidelity: &dyn Fidelity) {
    let find = |q: SpanQuery| store.search_spans(&q, Bounds::ALL).unwrap();
    let r = find(SpanQuery {
        name: Some("Cart.Get".into()),
        ..Default::default()
    });
    assert_eq!(r.spans.len(), 30);
    assert!(r.spans.iter().all(|s| s.service == "cart"));
    assert_eq!(r.resources, [fidelity.resource(resource("cart"))]);
    let starts: Vec<u64> = r.spans.iter().map(|s| s.span.start_time.0).collect();
    assert!(starts.windows(2).all(|w| w[0] > w[1]), "newest first");
    let one = find(SpanQuery {
        span_id: Some(sid(12, 3)),
        ..Default::default()
    });
    assert_eq!(one.spans.len(), 1);
    assert_eq!(one.spans[0].span, trace_spans(12).1[0]);
    let errors = find(SpanQuery {
        status: Some(StatusFilter::Error),
        kind: Some(SpanKind::Server),
        ..Default::default()
    });
    assert_eq!(errors.spans.len(), 6);
    assert!(errors.spans.iter().all(|s| s.span.name == "Cart.Get"));
    let of_trace = find(SpanQuery {
        trace_id: Some(tid(4)),
        ..Default::default()
    });
    let mut names: Vec<&str> = of_trace
        .spans
        .iter()
        .map(|s| s.span.name.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["Cart.Get", "GET /checkout", "call cart", "db"]);
    let slow_db = find(SpanQuery {
        name: Some("db".into()),
        min_duration: Some(11 * MS),
        ..Default::default()
    });
    assert!(slow_db.spans.is_empty());
    let by_attr = find(SpanQuery {
        attrs: vec![AttrFilter::parse("user.id:3").unwrap()],
        ..Default::default()
    });
    assert_eq!(by_attr.spans.len(), 1);
    assert_eq!(by_attr.spans[0].span.span_id, sid(3, 1));
    // All 60 cart spans once across pages of 13.
    let pages = all_pages(|cursor| {
        let r = find(SpanQuery {
            service: Some("cart".into()),
            limit: Some(13),
            cursor,
            ..Default::default()
        });
        (r.spans, r.next_cursor)
    });
    let ids: Vec<SpanId> = pages.concat().into_iter().map(|s| s.span.span_id).collect();
    assert_eq!(ids.len(), 60);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 60);
}

fn log_search(store: &dyn TelemetryStore) {
    let find = |q: LogQuery| store.search_logs(&q, Bounds::ALL).unwrap();
    let failed = find(LogQuery {
        q: Some("Payment FAILED".into()),
        ..Default::default()
    });
    assert_eq!(failed.logs.len(), 6);
    assert!(
        failed.logs[0]
            .record
            .body
            .to_display_string()
            .starts_with("payment failed for order 25")
    );
    assert!(
        find(LogQuery {
            q: Some("paym".into()),
            ..Default::default()
        })
        .logs
        .is_empty(),
        "words match whole"
    );
    let errors = find(LogQuery {
        severity_min: Some(17),
        ..Default::default()
    });
    assert_eq!(errors.logs.len(), 6);
    let none = find(LogQuery {
        service: Some("frontend".into()),
        ..Default::default()
    });
    assert!(none.logs.is_empty());
    let of_span = find(LogQuery {
        span_id: Some(sid(10, 3)),
        ..Default::default()
    });
    assert_eq!(of_span.logs.len(), 2);
    // 36 logs once each across pages of 5, newest first.
    let pages = all_pages(|cursor| {
        let r = find(LogQuery {
            service: Some("cart".into()),
            limit: Some(5),
            cursor,
            ..Default::default()
        });
        (r.logs, r.next_cursor)
    });
    let all = pages.concat();
    assert_eq!(all.len(), 36);
    let times: Vec<u64> = all.iter().map(|l| l.record.time.0).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    let distinct: HashSet<String> = all
        .iter()
        .map(|l| format!("{}{}", l.record.time.0, l.record.body.to_display_string()))
        .collect();
    assert_eq!(distinct.len(), 36);
}

fn services(store: &dyn TelemetryStore) {
    let r = store.services(Bounds::ALL).unwrap();
    let names: Vec<&str> = r.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["billing", "cart", "frontend"]);
    let cart = &r.services[1];
    assert_eq!(cart.span_count, 60);
    assert_eq!(cart.request_count, 30);
    assert_eq!(cart.request_error_count, 6);
    assert!((cart.error_rate - 0.2).abs() < 1e-9);
    assert_eq!(cart.log_count, 36);
    let p50 = cart.p50.unwrap().0 as f64;
    assert!((p50 - 40e6).abs() / 40e6 < 0.02, "cart p50 {p50}");
    let front = &r.services[2];
    assert_eq!(front.request_count, 30);
    assert_eq!(front.request_error_count, 0);
    // Root durations 100..=129 ms: p99 is the largest.
    let p99 = front.p99.unwrap().0 as f64;
    assert!((p99 - 129e6).abs() / 129e6 < 0.02, "frontend p99 {p99}");
    assert_eq!(
        front.requests_over_time.iter().sum::<u64>(),
        30,
        "the sparkline counts every request"
    );
    // 30 traces over 290 s: the window spans whole minutes of data.
    assert!(front.request_rate > 0.0);
    // A one-minute window counts the whole minutes it touches.
    let (from, to) = (T0, T0 + 59_999 * MS);
    let minute = 60_000 * MS;
    let expected = (0..TRACES)
        .filter(|t| (from / minute..=to / minute).contains(&(start_of(*t) / minute)))
        .count() as u64;
    let early = store.services(Bounds { from, to }).unwrap();
    let front = early
        .services
        .iter()
        .find(|s| s.name == "frontend")
        .unwrap();
    assert_eq!(front.request_count, expected);
    assert!(expected < 30);
}

fn service_map(store: &dyn TelemetryStore) {
    let m = store.service_map(Bounds::ALL).unwrap();
    assert!(m.complete);
    assert_eq!(m.spans_examined, 121);
    let nodes: Vec<(&str, bool)> = m
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.external))
        .collect();
    assert_eq!(
        nodes,
        [
            ("billing", false),
            ("cart", false),
            ("frontend", false),
            ("external", true)
        ]
    );
    let edges: Vec<(&str, &str, u64, u64)> = m
        .edges
        .iter()
        .map(|e| {
            (
                e.caller.as_str(),
                e.callee.as_str(),
                e.call_count,
                e.error_count,
            )
        })
        .collect();
    assert_eq!(
        edges,
        [("external", "billing", 1, 0), ("frontend", "cart", 30, 6)]
    );
    let p95 = m.edges[1].p95.0 as f64;
    assert!((p95 - 40e6).abs() / 40e6 < 0.02);
}

/// The search regression checks (array attributes, any-span trace search,
/// short trace ids) on a fresh store, for an engine's own tests to run
/// apart from the whole suite.
pub(crate) fn run_search_regressions(store: &dyn TelemetryStore) {
    array_attribute_search(store);
    any_span_trace_search(store);
    short_trace_ids(store);
}

fn strings(values: &[&str]) -> AnyValue {
    AnyValue::Array(
        values
            .iter()
            .map(|v| AnyValue::String((*v).into()))
            .collect(),
    )
}

/// Regression (issue 16): `attr=key:value` never matched an array
/// attribute, and OpenTelemetry puts captured HTTP headers in arrays of
/// strings. An element's text matches, in trace, span and log search, on
/// span, resource and log attributes. Writes its own traces (`headers`).
fn array_attribute_search(store: &dyn TelemetryStore) {
    let t = TRACES + 2;
    let header = |values: &[&str]| KeyValue {
        key: "http.request.header.x_req_id".into(),
        value: strings(values),
    };
    let first = vec![
        mk(
            t,
            1,
            None,
            "GET /headers",
            SpanKind::Server,
            0,
            MS,
            false,
            vec![header(&["req-1995"])],
        ),
        mk(
            t,
            2,
            Some(1),
            "lookup",
            SpanKind::Internal,
            MS,
            MS,
            false,
            vec![KeyValue {
                key: "http.response.status_codes".into(),
                value: AnyValue::Array(vec![AnyValue::Int(200), AnyValue::Int(404)]),
            }],
        ),
    ];
    let second = vec![mk(
        t + 1,
        1,
        None,
        "GET /headers",
        SpanKind::Server,
        0,
        MS,
        false,
        vec![header(&["req-2000", "req-2001"])],
    )];
    let launched = Resource {
        attributes: vec![
            KeyValue::string("service.name", "headers"),
            KeyValue {
                key: "process.command_args".into(),
                value: strings(&["java", "-jar", "app.jar"]),
            },
        ],
        ..Default::default()
    };
    write(
        store,
        WriteBatch::Spans(vec![
            batch("headers", first),
            ResourceSpans {
                resource: launched,
                scope_spans: vec![ScopeSpans {
                    scope: Scope::default(),
                    spans: second,
                }],
            },
        ]),
    );
    let mut record = log(t, "request with a header", 9);
    record.attributes = vec![header(&["req-1995", "req-1996"])];
    write(
        store,
        WriteBatch::Logs(vec![ResourceLogs {
            resource: resource("headers"),
            scope_logs: vec![ScopeLogs {
                scope: Scope::default(),
                log_records: vec![record],
            }],
        }]),
    );
    let attrs = |filters: &[&str]| -> Vec<AttrFilter> {
        filters
            .iter()
            .map(|f| AttrFilter::parse(f).unwrap())
            .collect()
    };
    let traces = |filters: &[&str]| {
        trace_ids(
            store,
            TraceQuery {
                attrs: attrs(filters),
                ..Default::default()
            },
        )
    };
    assert_eq!(traces(&["http.request.header.x_req_id:req-1995"]), [tid(t)]);
    assert_eq!(
        traces(&["http.request.header.x_req_id:req-2001"]),
        [tid(t + 1)]
    );
    assert!(traces(&["http.request.header.x_req_id:req-199"]).is_empty());
    assert!(traces(&["http.request.header.x_req_id:req"]).is_empty());
    assert_eq!(traces(&["http.response.status_codes:404"]), [tid(t)]);
    assert_eq!(traces(&["process.command_args:app.jar"]), [tid(t + 1)]);
    let spans = |filters: &[&str]| -> Vec<SpanId> {
        store
            .search_spans(
                &SpanQuery {
                    attrs: attrs(filters),
                    ..Default::default()
                },
                Bounds::ALL,
            )
            .unwrap()
            .spans
            .into_iter()
            .map(|s| s.span.span_id)
            .collect()
    };
    assert_eq!(
        spans(&["http.request.header.x_req_id:req-1995"]),
        [sid(t, 1)]
    );
    assert_eq!(
        spans(&[
            "http.request.header.x_req_id=req-2000",
            "process.command_args=-jar"
        ]),
        [sid(t + 1, 1)]
    );
    assert!(spans(&["http.response.status_codes:500"]).is_empty());
    let logs = |filter: &str| {
        store
            .search_logs(
                &LogQuery {
                    attrs: attrs(&[filter]),
                    ..Default::default()
                },
                Bounds::ALL,
            )
            .unwrap()
            .logs
            .len()
    };
    assert_eq!(logs("http.request.header.x_req_id:req-1996"), 1);
    assert_eq!(logs("http.request.header.x_req_id:req-2000"), 0);
}

/// Regression (issue 16): trace search matched `operation` and free text
/// against the root span only, so a call inside a trace could not be
/// found. `service`, `operation` (both: one span of that service with that
/// name) and free text match any span; `root_only` keeps the root-only
/// reading. Writes its own traces (`web`, `stock`).
fn any_span_trace_search(store: &dyn TelemetryStore) {
    let (a, b, c) = (TRACES + 4, TRACES + 5, TRACES + 6);
    let hold = "POST /hold/{item_id}";
    // a: web GET /shop → stock hold; b: stock hold alone (failed);
    // c: web GET /shop → web hold (the client side, same name).
    let tenant = || vec![KeyValue::string("shop.tenant", "acme")];
    let item = || vec![KeyValue::string("item.id", "7")];
    let web = vec![
        mk(
            a,
            1,
            None,
            "GET /shop",
            SpanKind::Server,
            0,
            30 * MS,
            false,
            tenant(),
        ),
        mk(
            c,
            1,
            None,
            "GET /shop",
            SpanKind::Server,
            0,
            30 * MS,
            false,
            vec![],
        ),
        mk(
            c,
            2,
            Some(1),
            hold,
            SpanKind::Client,
            MS,
            20 * MS,
            false,
            item(),
        ),
    ];
    let stock = vec![
        mk(
            a,
            2,
            Some(1),
            hold,
            SpanKind::Server,
            MS,
            20 * MS,
            false,
            item(),
        ),
        mk(b, 1, None, hold, SpanKind::Server, 0, 20 * MS, true, vec![]),
    ];
    write(
        store,
        WriteBatch::Spans(vec![batch("web", web), batch("stock", stock)]),
    );
    let find = |f: &dyn Fn(&mut TraceQuery)| {
        let mut q = TraceQuery::default();
        f(&mut q);
        trace_ids(store, q)
    };
    let ids = |ts: &[u64]| ts.iter().map(|t| tid(*t)).collect::<Vec<_>>();
    let both = |root_only: bool| {
        find(&|q| {
            q.service = Some("stock".into());
            q.operation = Some(hold.into());
            q.root_only = root_only;
        })
    };
    assert_eq!(both(false), ids(&[b, a]), "a span of stock named hold");
    assert_eq!(both(true), ids(&[b]));
    let op = |root_only: bool| {
        find(&|q| {
            q.operation = Some(hold.into());
            q.root_only = root_only;
        })
    };
    assert_eq!(op(false), ids(&[c, b, a]));
    assert_eq!(op(true), ids(&[b]));
    let service = |name: &str, root_only: bool| {
        find(&|q| {
            q.service = Some(name.into());
            q.root_only = root_only;
        })
    };
    assert_eq!(service("stock", false), ids(&[b, a]));
    assert_eq!(service("stock", true), ids(&[b]));
    assert_eq!(service("web", true), ids(&[c, a]));
    let text = |t: &str, root_only: bool| {
        find(&|q| {
            q.q = Some(t.into());
            q.root_only = root_only;
        })
    };
    assert_eq!(text("HOLD", false), ids(&[c, b, a]), "any span's name");
    assert_eq!(text("HOLD", true), ids(&[b]));
    assert_eq!(text("stoc", false), ids(&[b, a]), "any span's service");
    assert_eq!(text("stoc", true), ids(&[b]));
    // Conditions met by different spans of one trace.
    assert_eq!(
        find(&|q| {
            q.operation = Some(hold.into());
            q.attrs = vec![AttrFilter::parse("shop.tenant:acme").unwrap()];
        }),
        ids(&[a])
    );
    assert_eq!(
        find(&|q| {
            q.service = Some("web".into());
            q.operation = Some(hold.into());
            q.q = Some("/shop".into());
        }),
        ids(&[c])
    );
    assert_eq!(
        find(&|q| {
            q.q = Some("hold".into());
            q.attrs = vec![AttrFilter::parse("item.id:7").unwrap()];
            q.operation = Some("GET /shop".into());
        }),
        ids(&[c, a])
    );
    assert!(
        find(&|q| {
            q.service = Some("web".into());
            q.operation = Some(hold.into());
            q.attrs = vec![AttrFilter::parse("shop.tenant:acme").unwrap()];
        })
        .is_empty()
    );
    // Row filters still apply, and the window picks traces by start.
    assert_eq!(
        find(&|q| {
            q.operation = Some(hold.into());
            q.status = Some(StatusFilter::Error);
        }),
        ids(&[b])
    );
    let recent = store
        .search_traces(
            &TraceQuery {
                operation: Some(hold.into()),
                ..Default::default()
            },
            Bounds {
                from: start_of(b),
                to: u64::MAX,
            },
        )
        .unwrap();
    let recent: Vec<TraceId> = recent.traces.iter().map(|t| t.trace_id).collect();
    assert_eq!(recent, ids(&[c, b]));
    // Pages of one follow each other.
    let pages = all_pages(|cursor| {
        let r = store
            .search_traces(
                &TraceQuery {
                    q: Some("hold".into()),
                    limit: Some(1),
                    cursor,
                    ..Default::default()
                },
                Bounds::ALL,
            )
            .unwrap();
        (r.traces, r.next_cursor)
    });
    let paged: Vec<TraceId> = pages.concat().iter().map(|t| t.trace_id).collect();
    assert_eq!(paged, ids(&[c, b, a]));
    // A found trace's summary is still its own root's.
    let found = store
        .search_traces(
            &TraceQuery {
                service: Some("stock".into()),
                operation: Some(hold.into()),
                limit: Some(1),
                ..Default::default()
            },
            Bounds::ALL,
        )
        .unwrap();
    assert_eq!(found.traces[0].root_name, hold);
    let a_summary = store
        .search_traces(
            &TraceQuery {
                operation: Some(hold.into()),
                attrs: vec![AttrFilter::parse("shop.tenant:acme").unwrap()],
                ..Default::default()
            },
            Bounds::ALL,
        )
        .unwrap();
    assert_eq!(a_summary.traces[0].root_name, "GET /shop");
    assert_eq!(a_summary.traces[0].span_count, 2);
}

/// Short trace ids (issue 16): lists show `87f8f764…`, and a link with
/// those digits must find the trace. Ids in id order; a prefix several
/// traces start with lists them all (up to `limit`); a trace of logs only
/// is no trace to show. Writes its own traces (ids `abcdef…`).
fn short_trace_ids(store: &dyn TelemetryStore) {
    let id = |hex: &str| TraceId::from_hex(hex).unwrap();
    let x = id("abcdef0123456789000000000000000a");
    let y = id("abcdef0123456789000000000000000b");
    let z = id("abcdef02000000000000000000000001");
    let logs_only = id("abcdef03000000000000000000000001");
    let span = |trace: TraceId, n: u8| Span {
        trace_id: trace,
        span_id: SpanId([n; 8]),
        name: "prefixed".into(),
        start_time: UnixNanos(start_of(TRACES + 8) + u64::from(n)),
        end_time: UnixNanos(start_of(TRACES + 8) + u64::from(n) + MS),
        ..Default::default()
    };
    // y first: the order of the answer is the ids', not the writes'.
    write(
        store,
        WriteBatch::Spans(vec![batch(
            "prefixes",
            vec![span(y, 1), span(x, 2), span(z, 3)],
        )]),
    );
    let mut record = log(TRACES + 8, "no span of this trace was sent", 9);
    record.trace_id = Some(logs_only);
    record.span_id = None;
    write(
        store,
        WriteBatch::Logs(vec![ResourceLogs {
            resource: resource("prefixes"),
            scope_logs: vec![ScopeLogs {
                scope: Scope::default(),
                log_records: vec![record],
            }],
        }]),
    );
    let find = |p: &str, limit: usize| {
        store
            .trace_ids_with_prefix(&TraceIdPrefix::parse(p).unwrap(), limit)
            .unwrap()
    };
    assert_eq!(find("abcdef01", 10), [x, y]);
    assert_eq!(find("ABCDEF01", 10), [x, y]);
    assert_eq!(find("abcdef01", 1), [x]);
    assert_eq!(find("abcdef012", 10), [x, y], "an odd number of digits");
    assert_eq!(find("abcdef0123456789000000000000000", 10), [x, y]);
    assert_eq!(find("abcdef0123456789000000000000000b", 10), [y]);
    assert_eq!(find("abcdef02", 10), [z]);
    assert!(find("abcdef03", 10).is_empty(), "logs only");
    assert!(find("abcdef04", 10).is_empty());
    assert!(find("0bcdef01", 10).is_empty());
}
