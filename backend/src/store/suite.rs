//! The storage test suite: the contract of [`TelemetryStore`], checked
//! against an engine. Each engine's tests call [`run_all`] with a factory of
//! fresh, empty stores.

use std::sync::Arc;

use shared::logs::{LogRecord, ResourceLogs, ScopeLogs};
use shared::metrics::{
    Metric, MetricData, NumberPoint, NumberValue, ResourceMetrics, ScopeMetrics,
};
use shared::trace::{Resource, ResourceSpans, Scope, ScopeSpans, Span, Status, StatusCode};
use shared::{AnyValue, KeyValue, SpanId, TraceId, UnixNanos};

use super::contract::{TelemetryStore, WriteBatch, WriteOutcome};
use super::suite_fidelity::Fidelity;
use shared::query::{Bounds, LogQuery};

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![KeyValue::string("service.name", service)],
        ..Default::default()
    }
}

fn span(trace: u8, id: u8, parent: Option<u8>, start: u64) -> Span {
    Span {
        trace_id: TraceId([trace; 16]),
        span_id: SpanId([id; 8]),
        parent_span_id: parent.map(|p| SpanId([p; 8])),
        name: format!("op-{id}"),
        start_time: UnixNanos(start),
        end_time: UnixNanos(start + 100),
        attributes: vec![KeyValue {
            key: "n".into(),
            value: AnyValue::Int(i64::from(id)),
        }],
        status: Status {
            code: if id == 3 {
                StatusCode::Error
            } else {
                StatusCode::Unset
            },
            message: String::new(),
        },
        ..Default::default()
    }
}

fn spans(service: &str, spans: Vec<Span>) -> WriteBatch {
    WriteBatch::Spans(vec![ResourceSpans {
        resource: resource(service),
        scope_spans: vec![ScopeSpans {
            scope: Scope {
                name: "suite".into(),
                ..Default::default()
            },
            spans,
        }],
    }])
}

fn write(store: &dyn TelemetryStore, batch: WriteBatch) -> WriteOutcome {
    store
        .submit(batch)
        .expect("queue accepts")
        .blocking_recv()
        .expect("writer answers")
        .expect("write succeeds")
}

/// Runs every check against stores made by `make`.
pub(crate) fn run_all(make: &dyn Fn() -> Arc<dyn TelemetryStore>, fidelity: &dyn Fidelity) {
    written_spans_are_visible_when_the_write_returns(&*make(), fidelity);
    the_same_span_is_stored_once(&*make());
    a_trace_is_merged_across_batches_in_start_order(&*make());
    logs_come_back_newest_first_and_exact(&*make(), fidelity);
    metric_points_come_back_exactly_in_time_order(&*make(), fidelity);
    unknown_things_are_none(&*make());
    super::suite_queries::run_all(&*make(), fidelity);
}

fn written_spans_are_visible_when_the_write_returns(
    store: &dyn TelemetryStore,
    fidelity: &dyn Fidelity,
) {
    let out = write(
        store,
        spans("a", vec![span(1, 1, None, 10), span(1, 2, Some(1), 20)]),
    );
    assert_eq!(out.accepted, 2);
    let t = store
        .trace(&TraceId([1; 16]))
        .unwrap()
        .expect("visible right after the write returned");
    assert_eq!(t.spans.len(), 2);
    assert_eq!(t.spans[1].span, fidelity.span(span(1, 2, Some(1), 20)));
    assert_eq!(
        t.resources[t.spans[0].resource as usize],
        fidelity.resource(resource("a"))
    );
    let stored = store.stored().unwrap();
    assert_eq!(stored.spans.items, 2);
    assert_eq!(stored.traces, 1);
    assert_eq!(stored.spans.oldest.map(|t| t.0), Some(10));
}

fn the_same_span_is_stored_once(store: &dyn TelemetryStore) {
    write(store, spans("a", vec![span(2, 1, None, 10)]));
    let again = write(store, spans("a", vec![span(2, 1, None, 10)]));
    assert_eq!(again.accepted, 1, "a duplicate is acknowledged");
    let t = store.trace(&TraceId([2; 16])).unwrap().unwrap();
    assert_eq!(t.spans.len(), 1);
    assert_eq!(t.summary.span_count, 1);
}

fn a_trace_is_merged_across_batches_in_start_order(store: &dyn TelemetryStore) {
    write(store, spans("b", vec![span(3, 3, Some(2), 30)]));
    write(
        store,
        spans("a", vec![span(3, 2, Some(1), 20), span(3, 1, None, 10)]),
    );
    let t = store.trace(&TraceId([3; 16])).unwrap().unwrap();
    let ids: Vec<SpanId> = t.spans.iter().map(|s| s.span.span_id).collect();
    assert_eq!(ids, [SpanId([1; 8]), SpanId([2; 8]), SpanId([3; 8])]);
    assert_eq!(t.summary.root_name, "op-1");
    assert_eq!(t.summary.error_count, 1);
    assert_eq!(t.summary.span_count, 3);
}

fn logs_come_back_newest_first_and_exact(store: &dyn TelemetryStore, fidelity: &dyn Fidelity) {
    let rec = |t: u64| LogRecord {
        time: UnixNanos(t),
        observed_time: UnixNanos(t + 1),
        severity_number: 9,
        severity_text: "INFO".into(),
        body: AnyValue::String(format!("line {t}")),
        trace_id: Some(TraceId([4; 16])),
        span_id: Some(SpanId([1; 8])),
        ..Default::default()
    };
    let batch = WriteBatch::Logs(vec![ResourceLogs {
        resource: resource("c"),
        scope_logs: vec![ScopeLogs {
            scope: Scope::default(),
            log_records: vec![rec(5), rec(50), rec(7)],
        }],
    }]);
    assert_eq!(write(store, batch).accepted, 3);
    let got = store
        .search_logs(
            &LogQuery {
                trace_id: Some(TraceId([4; 16])),
                limit: Some(10),
                ..Default::default()
            },
            Bounds::ALL,
        )
        .unwrap();
    let times: Vec<u64> = got.logs.iter().map(|l| l.record.time.0).collect();
    assert_eq!(times, [50, 7, 5]);
    assert_eq!(got.logs[0].record, fidelity.log(rec(50)));
}

pub(crate) fn metric_points_come_back_exactly_in_time_order(
    store: &dyn TelemetryStore,
    fidelity: &dyn Fidelity,
) {
    let point = |t: u64, v: f64| NumberPoint {
        attributes: vec![KeyValue::string("k", "v")],
        start_time: UnixNanos(1),
        time: UnixNanos(t),
        value: NumberValue::AsDouble(v),
        exemplars: vec![],
        flags: 0,
    };
    let batch = WriteBatch::Metrics(vec![ResourceMetrics {
        resource: resource("d"),
        scope_metrics: vec![ScopeMetrics {
            scope: Scope::default(),
            metrics: vec![Metric {
                name: "queue.depth".into(),
                description: "items waiting".into(),
                unit: "{item}".into(),
                metadata: vec![],
                data: MetricData::Gauge {
                    points: vec![point(20, 2.5), point(10, f64::NAN), point(30, -0.0)],
                },
            }],
        }],
    }]);
    assert_eq!(write(store, batch).accepted, 3);
    let series = store.raw_series("queue.depth").unwrap().unwrap().series;
    assert_eq!(series.len(), 1);
    let MetricData::Gauge { points } = &series[0].data else {
        panic!("not a gauge: {:?}", series[0].data)
    };
    let times: Vec<u64> = points.iter().map(|p| p.time.0).collect();
    assert_eq!(times, [10, 20, 30]);
    assert!(matches!(points[0].value, NumberValue::AsDouble(v) if v.is_nan()));
    assert!(
        matches!(points[2].value, NumberValue::AsDouble(v) if v == 0.0 && v.is_sign_negative())
    );
    assert_eq!(points[1], fidelity.number_point(point(20, 2.5)));
}

fn unknown_things_are_none(store: &dyn TelemetryStore) {
    assert!(store.trace(&TraceId([99; 16])).unwrap().is_none());
    assert!(store.raw_series("no.such.metric").unwrap().is_none());
    assert!(
        store
            .search_logs(
                &LogQuery {
                    trace_id: Some(TraceId([99; 16])),
                    limit: Some(10),
                    ..Default::default()
                },
                Bounds::ALL,
            )
            .unwrap()
            .logs
            .is_empty()
    );
}
