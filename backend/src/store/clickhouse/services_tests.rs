//! Tests of the ClickHouse services queries against a real ClickHouse.
//!
//! Each check takes any store; the SQLite engine answers them the same.

use shared::logs::{LogRecord, ResourceLogs, ScopeLogs};
use shared::query::Bounds;
use shared::trace::{
    Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanKind, Status, StatusCode,
};
use shared::{KeyValue, SpanId, TraceId, UnixNanos};

use super::services::MINUTE;
use super::testing::TestClickHouse;
use crate::store::contract::TelemetryStore;
use crate::store::contract::WriteBatch;

/// The start of a minute.
const T: u64 = 1_700_000_040_000_000_000;
const MS: u64 = 1_000_000;

fn span(trace: u8, id: u8, parent: Option<u8>, kind: SpanKind, start: u64, dur: u64) -> Span {
    Span {
        trace_id: TraceId([trace; 16]),
        span_id: SpanId([id; 8]),
        parent_span_id: parent.map(|p| SpanId([p; 8])),
        name: format!("op-{id}"),
        kind,
        start_time: UnixNanos(start),
        end_time: UnixNanos(start + dur),
        ..Default::default()
    }
}

fn failed(mut s: Span) -> Span {
    s.status = Status {
        code: StatusCode::Error,
        message: String::new(),
    };
    s
}

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![KeyValue::string("service.name", service)],
        ..Default::default()
    }
}

fn spans(by_service: Vec<(&str, Vec<Span>)>) -> WriteBatch {
    WriteBatch::Spans(
        by_service
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: resource(service),
                scope_spans: vec![ScopeSpans {
                    scope: Scope::default(),
                    spans,
                }],
            })
            .collect(),
    )
}

fn logs(service: &str, times: &[u64]) -> WriteBatch {
    WriteBatch::Logs(vec![ResourceLogs {
        resource: resource(service),
        scope_logs: vec![ScopeLogs {
            scope: Scope::default(),
            log_records: times
                .iter()
                .map(|t| LogRecord {
                    time: UnixNanos(*t),
                    ..Default::default()
                })
                .collect(),
        }],
    }])
}

fn write(store: &dyn TelemetryStore, b: WriteBatch) {
    store
        .submit(b)
        .expect("queue accepts")
        .blocking_recv()
        .expect("writer answers")
        .expect("write succeeds");
}

fn near(got: u64, want: u64) -> bool {
    (got as f64 - want as f64).abs() / want as f64 <= 0.02
}

#[test]
fn an_empty_store_and_an_empty_window_list_nothing() {
    let ch = TestClickHouse::start();
    an_empty_store_and_an_empty_window_list_nothing_check(&ch.store());
}

fn an_empty_store_and_an_empty_window_list_nothing_check(store: &dyn TelemetryStore) {
    let window = Bounds {
        from: T,
        to: T + 10 * MINUTE,
    };
    let r = store.services(window).expect("catalog");
    assert!(r.services.is_empty());
    assert_eq!((r.from.0, r.to.0, r.bucket.0), (T, T + 10 * MINUTE, MINUTE));
    let m = store.service_map(Bounds::ALL).expect("map");
    assert!(m.nodes.is_empty() && m.edges.is_empty() && m.complete);
    assert_eq!(m.spans_examined, 0);

    write(
        store,
        spans(vec![("a", vec![span(1, 1, None, SpanKind::Server, T, MS)])]),
    );
    // An hour with nothing in it, cut into 30 buckets of whole minutes.
    let past = Bounds {
        from: T - 2 * 60 * MINUTE,
        to: T - 60 * MINUTE,
    };
    let r = store.services(past).expect("catalog");
    assert!(r.services.is_empty());
    assert_eq!(r.bucket.0, 3 * MINUTE, "61 minutes in 30 buckets");
    let m = store.service_map(past).expect("map");
    assert!(m.nodes.is_empty() && m.edges.is_empty());
    // Open bounds close on the stored minutes.
    let r = store.services(Bounds::ALL).expect("catalog");
    assert_eq!((r.from.0, r.to.0, r.bucket.0), (T, T + MINUTE, MINUTE));
    assert_eq!(r.services.len(), 1);
}

#[test]
fn a_span_stored_twice_counts_once() {
    let ch = TestClickHouse::start();
    a_span_stored_twice_counts_once_check(&ch.store());
}

fn a_span_stored_twice_counts_once_check(store: &dyn TelemetryStore) {
    let root = span(1, 1, None, SpanKind::Server, T, 10 * MS);
    let child = span(1, 2, Some(1), SpanKind::Server, T + MS, 5 * MS);
    // One insert keeps both copies; another batch is another insert.
    write(
        store,
        spans(vec![("front", vec![root.clone(), root.clone()])]),
    );
    write(
        store,
        spans(vec![
            ("front", vec![root]),
            ("back", vec![child.clone(), child]),
        ]),
    );
    let r = store.services(Bounds::ALL).expect("catalog");
    let counts: Vec<(&str, u64, u64)> = r
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.span_count, s.request_count))
        .collect();
    assert_eq!(counts, [("back", 1, 1), ("front", 1, 1)]);
    let m = store.service_map(Bounds::ALL).expect("map");
    assert_eq!(m.spans_examined, 2);
    assert_eq!(m.edges.len(), 1);
    assert_eq!(
        m.edges[0].call_count, 1,
        "each copy of the parent is not a call"
    );
}

#[test]
fn roots_stand_in_for_requests_and_minutes_count_whole() {
    let ch = TestClickHouse::start();
    roots_stand_in_for_requests_and_minutes_count_whole_check(&ch.store());
}

fn roots_stand_in_for_requests_and_minutes_count_whole_check(store: &dyn TelemetryStore) {
    let worker = vec![
        span(1, 1, None, SpanKind::Internal, T, 10 * MS),
        failed(span(2, 1, None, SpanKind::Internal, T + MS, 20 * MS)),
        span(3, 1, None, SpanKind::Producer, T + 2 * MS, 30 * MS),
        span(3, 2, Some(1), SpanKind::Internal, T + 3 * MS, MS),
    ];
    let api = vec![
        span(4, 1, None, SpanKind::Server, T + MS, 100 * MS),
        span(5, 1, None, SpanKind::Consumer, T + 2 * MINUTE, 300 * MS),
        span(5, 2, Some(1), SpanKind::Internal, T + 2 * MINUTE, MS),
    ];
    write(store, spans(vec![("worker", worker), ("api", api)]));
    write(store, logs("cron", &[T + 90_000 * MS, T + MINUTE]));

    let window = Bounds {
        from: T,
        to: T + 3 * MINUTE - 1,
    };
    let r = store.services(window).expect("catalog");
    assert_eq!(r.bucket.0, MINUTE);
    let names: Vec<&str> = r.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["api", "cron", "worker"]);
    let (api, cron, worker) = (&r.services[0], &r.services[1], &r.services[2]);
    assert_eq!((api.request_count, api.span_count), (2, 3));
    assert_eq!(api.requests_over_time, [1, 0, 1]);
    assert!(near(api.p99.expect("p99").0, 300 * MS));
    assert_eq!(api.last_seen, Some(UnixNanos(T + 2 * MINUTE + 300 * MS)));
    assert!((api.request_rate - 2.0 / (3.0 * 60.0)).abs() < 1e-6);
    assert_eq!(
        (cron.log_count, cron.span_count, cron.request_count),
        (2, 0, 0)
    );
    assert_eq!(cron.last_seen, Some(UnixNanos(T + 90_000 * MS)));
    assert!(cron.p50.is_none());
    // Root spans of any kind but SERVER and CONSUMER.
    assert_eq!((worker.request_count, worker.request_error_count), (3, 1));
    assert_eq!((worker.span_count, worker.error_span_count), (4, 1));
    assert!(near(worker.p50.expect("p50").0, 20 * MS));
    assert!((worker.error_rate - 1.0 / 3.0).abs() < 1e-9);

    // A window inside one minute counts that whole minute.
    let inside = Bounds {
        from: T + 30_000 * MS,
        to: T + 30_000 * MS + 1,
    };
    let r = store.services(inside).expect("catalog");
    let worker = r
        .services
        .iter()
        .find(|s| s.name == "worker")
        .expect("worker");
    assert_eq!(worker.request_count, 3);
    assert_eq!(worker.requests_over_time, [3]);
    assert!(r.services.iter().all(|s| s.name != "cron"));
}

#[test]
fn the_map_joins_parents_within_the_window() {
    let ch = TestClickHouse::start();
    the_map_joins_parents_within_the_window_check(&ch.store());
}

fn the_map_joins_parents_within_the_window_check(store: &dyn TelemetryStore) {
    let frontend = vec![
        span(1, 1, None, SpanKind::Server, T, 100 * MS),
        span(1, 2, Some(1), SpanKind::Client, T + MS, 50 * MS),
        span(1, 6, Some(1), SpanKind::Client, T + 2 * MS, 9 * MS),
    ];
    let cart = vec![
        failed(span(1, 3, Some(2), SpanKind::Server, T + 2 * MS, 40 * MS)),
        span(1, 4, Some(3), SpanKind::Internal, T + 3 * MS, 10 * MS),
        // A client call without a child anywhere: no edge.
        span(1, 5, Some(4), SpanKind::Client, T + 4 * MS, 5 * MS),
    ];
    // Parents that are not stored: only SERVER and CONSUMER spans were
    // called from outside.
    let billing = vec![
        span(2, 1, Some(9), SpanKind::Server, T + 5 * MS, 5 * MS),
        span(2, 2, Some(9), SpanKind::Internal, T + 5 * MS, 5 * MS),
        span(2, 3, Some(9), SpanKind::Client, T + 5 * MS, 5 * MS),
    ];
    // A service that happens to be called "external".
    let named_external = vec![span(1, 7, Some(6), SpanKind::Server, T + 3 * MS, 8 * MS)];
    write(
        store,
        spans(vec![
            ("frontend", frontend),
            ("cart", cart),
            ("billing", billing),
            ("external", named_external),
        ]),
    );
    let m = store.service_map(Bounds::ALL).expect("map");
    assert!(m.complete);
    assert_eq!(m.spans_examined, 10);
    let nodes: Vec<(&str, bool, u64, u64)> = m
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.external, n.span_count, n.error_count))
        .collect();
    assert_eq!(
        nodes,
        [
            ("billing", false, 3, 0),
            ("cart", false, 3, 1),
            ("external", false, 1, 0),
            ("frontend", false, 3, 0),
            ("external", true, 0, 0),
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
        [
            ("external", "billing", 1, 0),
            ("frontend", "cart", 1, 1),
            ("frontend", "external", 1, 0),
        ]
    );
    assert!(near(m.edges[1].p95.0, 40 * MS));

    // Without the frontend's client span in the window, the cart server
    // span's caller is outside it.
    let later = Bounds {
        from: T + 2 * MS,
        to: u64::MAX,
    };
    let m = store.service_map(later).expect("map");
    let edges: Vec<(&str, &str, bool)> = m
        .edges
        .iter()
        .map(|e| (e.caller.as_str(), e.callee.as_str(), e.caller == "external"))
        .collect();
    assert_eq!(
        edges,
        [
            ("external", "billing", true),
            ("external", "cart", true),
            ("frontend", "external", false),
        ]
    );
    assert_eq!(m.spans_examined, 8);
}
