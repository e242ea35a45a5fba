//! Query API request and response types (JSON under `/api/`).

use serde::{Deserialize, Serialize};

use crate::logs::LogRecord;
use crate::metrics::{MetricData, MetricKind, Temporality};
use crate::trace::{Resource, Scope, Span, SpanKind, StatusCode};
use crate::{KeyValue, SpanId, TraceId, UnixNanos};

/// `GET /api/health`: liveness for load balancers and the dashboard footer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    /// `"ok"` while the server can serve and store.
    pub status: String,
    /// The server's version (the crate version).
    pub version: String,
    /// Seconds since the process started.
    pub uptime_seconds: u64,
    /// The data directory, as given on the command line; with the
    /// ClickHouse engine, its URL and database.
    pub data_dir: String,
    /// The storage engine: `sqlite` (embedded) or `clickhouse`.
    #[serde(default = "default_engine")]
    pub storage_engine: String,
    /// Bytes used by the database file and its write-ahead log.
    pub db_size_bytes: u64,
    /// Port of the OTLP/HTTP receiver (the dashboard shows the endpoints
    /// with its own host name and these ports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_http_port: Option<u16>,
    /// Port of the OTLP/gRPC receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_grpc_port: Option<u16>,
    /// True when the dashboard sits behind a login (`--ui-token`), so it
    /// offers a way to sign out. Says nothing the login page does not.
    #[serde(default)]
    pub login_required: bool,
}

fn default_engine() -> String {
    "sqlite".to_owned()
}

/// The body of every 4xx/5xx answer of the query API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong, in words the user can act on.
    pub error: String,
    /// For a trace id prefix that several traces start with (409): their
    /// ids, in id order. Absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<TraceId>,
}

impl ErrorResponse {
    /// An error with its message only.
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            candidates: Vec::new(),
        }
    }
}

/// One trace's summary, as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSummary {
    pub trace_id: TraceId,
    pub start_time: UnixNanos,
    pub end_time: UnixNanos,
    pub duration: UnixNanos,
    pub root_service: String,
    pub root_name: String,
    /// False when no span without parent was seen (the root shown is the
    /// earliest span).
    pub root_is_real: bool,
    pub span_count: u64,
    pub error_count: u64,
    pub services: Vec<String>,
    pub log_count: u64,
}

/// A span with the indexes of its resource and scope in the enclosing
/// response (resources and scopes are shared by many spans, so they are
/// sent once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanRecord {
    pub resource: u32,
    pub scope: u32,
    pub service: String,
    pub span: Span,
}

/// `GET /api/traces/{trace_id}`: everything stored about one trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceDetail {
    pub summary: TraceSummary,
    pub resources: Vec<Resource>,
    pub scopes: Vec<Scope>,
    /// Spans ordered by start time, then span id.
    pub spans: Vec<SpanRecord>,
}

/// `GET /api/traces/{trace_id}/outline`: what the trace view draws first —
/// every span's place in the tree and on the time axis, nothing else.
///
/// A 10,000-span trace is ~6 MB as a [`TraceDetail`] (attributes, events,
/// links) and ~0.8 MB as an outline; decoding the detail in the browser alone
/// takes longer than the view may take to show its first screen. Names and
/// services are sent once, spans refer to them by index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceOutline {
    pub summary: TraceSummary,
    /// The earliest span start; span starts are offsets from it.
    pub start: UnixNanos,
    pub services: Vec<String>,
    pub names: Vec<String>,
    /// In the detail's order (start time, then span id).
    pub spans: Vec<OutlineSpan>,
}

/// One span of a [`TraceOutline`], written as a JSON array:
/// `[spanId, parentSpanId|null, start, duration, service, name, kind, error]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "OutlineRow", into = "OutlineRow")]
pub struct OutlineSpan {
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    /// Nanoseconds after the outline's `start`.
    pub start: u64,
    /// Nanoseconds; 0 for a span that ends before it starts.
    pub duration: u64,
    /// Index into the outline's `services`.
    pub service: u32,
    /// Index into the outline's `names`.
    pub name: u32,
    pub kind: SpanKind,
    /// The span's status is an error.
    pub error: bool,
}

/// The wire form of an [`OutlineSpan`].
type OutlineRow = (
    SpanId,
    Option<SpanId>,
    UnixNanos,
    UnixNanos,
    u32,
    u32,
    SpanKind,
    bool,
);

impl From<OutlineRow> for OutlineSpan {
    fn from(r: OutlineRow) -> Self {
        OutlineSpan {
            span_id: r.0,
            parent_span_id: r.1,
            start: r.2.0,
            duration: r.3.0,
            service: r.4,
            name: r.5,
            kind: r.6,
            error: r.7,
        }
    }
}

impl From<OutlineSpan> for OutlineRow {
    fn from(s: OutlineSpan) -> Self {
        (
            s.span_id,
            s.parent_span_id,
            UnixNanos(s.start),
            UnixNanos(s.duration),
            s.service,
            s.name,
            s.kind,
            s.error,
        )
    }
}

impl TraceOutline {
    /// The outline of `detail`.
    pub fn from_detail(detail: &TraceDetail) -> Self {
        let start = detail
            .spans
            .iter()
            .map(|r| r.span.start_time.0)
            .min()
            .unwrap_or(detail.summary.start_time.0);
        let mut services = Interner::default();
        let mut names = Interner::default();
        let spans = detail
            .spans
            .iter()
            .map(|r| OutlineSpan {
                span_id: r.span.span_id,
                parent_span_id: r.span.parent_span_id,
                start: r.span.start_time.0 - start,
                duration: r.span.duration_nanos(),
                service: services.index(&r.service),
                name: names.index(&r.span.name),
                kind: r.span.kind,
                error: r.span.status.code == StatusCode::Error,
            })
            .collect();
        TraceOutline {
            summary: detail.summary.clone(),
            start: UnixNanos(start),
            services: services.list,
            names: names.list,
            spans,
        }
    }

    /// The service of `span` (empty if its index is out of range).
    pub fn service(&self, span: &OutlineSpan) -> &str {
        self.services
            .get(span.service as usize)
            .map_or("", String::as_str)
    }

    /// The name of `span` (empty if its index is out of range).
    pub fn name(&self, span: &OutlineSpan) -> &str {
        self.names
            .get(span.name as usize)
            .map_or("", String::as_str)
    }
}

/// Strings numbered in order of first appearance.
#[derive(Default)]
struct Interner {
    list: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl Interner {
    fn index(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

/// A log record with its service, resource and scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub service: String,
    pub resource: Resource,
    pub scope: Scope,
    pub record: LogRecord,
}

/// `GET /api/logs`: newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsResponse {
    pub logs: Vec<LogEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One stored series of a metric with its raw points, exactly as sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSeries {
    pub name: String,
    pub description: String,
    pub unit: String,
    pub kind: MetricKind,
    pub temporality: Temporality,
    pub is_monotonic: bool,
    pub service: String,
    pub resource: Vec<KeyValue>,
    pub scope_name: String,
    pub scope_version: String,
    /// The series' attributes, sorted by key.
    pub attributes: Vec<KeyValue>,
    /// The points in time order, in the shape of `data` of a [`Metric`].
    pub data: MetricData,
}

/// `GET /api/metrics/{name}/raw`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSeriesResponse {
    pub series: Vec<RawSeries>,
}

/// Items accepted and rejected by one transport for one signal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestCounter {
    pub signal: String,
    pub transport: String,
    pub accepted: u64,
    pub rejected: u64,
    pub requests: u64,
    pub invalid_requests: u64,
    pub unavailable: u64,
}

/// Counts of what is stored for one signal.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalStats {
    pub items: u64,
    pub blocks: u64,
    pub stored_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<UnixNanos>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<UnixNanos>,
}

/// `GET /api/stats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsResponse {
    pub spans: SignalStats,
    pub logs: SignalStats,
    pub metric_points: SignalStats,
    pub traces: u64,
    pub metric_series: u64,
    pub db_size_bytes: u64,
    pub max_db_size_bytes: u64,
    pub queued_items: u64,
    pub ingest: Vec<IngestCounter>,
    pub evicted_blocks: u64,
    pub evicted_items: u64,
    pub evicted_points: u64,
    pub cardinality_rejections: u64,
    pub uptime_seconds: u64,
    /// Bytes of metric rollups (1-minute and 1-hour buckets), beside the
    /// points' own `metric_points.stored_bytes`.
    #[serde(default)]
    pub metric_rollup_bytes: u64,
    /// Accepted items per second over about the last minute.
    #[serde(default)]
    pub ingest_rates: IngestRates,
}

/// Accepted items per second, per signal.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestRates {
    pub spans: f64,
    pub logs: f64,
    pub metric_points: f64,
}

/// `GET /api/traces`: trace summaries, newest start first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesResponse {
    pub traces: Vec<TraceSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /api/spans`: spans, newest start first, with their resources and
/// scopes sent once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpansResponse {
    pub resources: Vec<Resource>,
    pub scopes: Vec<Scope>,
    pub spans: Vec<SpanRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Rate, errors and duration of one service over a window (the RED
/// method). "Requests" are its server and consumer spans, or its root
/// spans when it has none of those.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStats {
    pub name: String,
    pub span_count: u64,
    pub error_span_count: u64,
    pub request_count: u64,
    pub request_error_count: u64,
    /// Requests per second over the window.
    pub request_rate: f64,
    /// Failed requests / requests (0 when there were none).
    pub error_rate: f64,
    /// Request duration percentiles (±2 %), absent without requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<UnixNanos>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<UnixNanos>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<UnixNanos>,
    pub log_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<UnixNanos>,
    /// Requests per bucket across the window (for a sparkline).
    pub requests_over_time: Vec<u64>,
}

/// `GET /api/services`: the service catalog, by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicesResponse {
    pub from: UnixNanos,
    pub to: UnixNanos,
    /// Width of each `requests_over_time` bucket.
    pub bucket: UnixNanos,
    pub services: Vec<ServiceStats>,
}

/// A node of the global service map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMapNode {
    pub name: String,
    /// An inferred caller outside the stored data (a span's parent is
    /// missing), not a service that sent spans.
    pub external: bool,
    pub span_count: u64,
    pub error_count: u64,
}

/// Calls from one service to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMapEdge {
    pub caller: String,
    pub callee: String,
    pub call_count: u64,
    pub error_count: u64,
    /// 95th percentile of the callee spans' duration.
    pub p95: UnixNanos,
}

/// `GET /api/service-map`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMapResponse {
    pub nodes: Vec<ServiceMapNode>,
    pub edges: Vec<ServiceMapEdge>,
    /// Spans the map was computed from.
    pub spans_examined: u64,
    /// False when the window held more spans than one map reads (the map
    /// then covers the newest `spans_examined`).
    pub complete: bool,
}

/// One metric of the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricInfo {
    pub name: String,
    pub kind: MetricKind,
    pub unit: String,
    pub description: String,
    pub temporality: Temporality,
    pub is_monotonic: bool,
    pub series_count: u64,
    pub services: Vec<String>,
}

/// `GET /api/metrics`: by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsResponse {
    pub metrics: Vec<MetricInfo>,
}

/// Where a metric query's points came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resolution {
    #[serde(rename = "raw")]
    Raw,
    #[serde(rename = "1m")]
    Minute,
    #[serde(rename = "1h")]
    Hour,
}

/// One output point; `value` is null where the step holds no data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValue {
    pub time: UnixNanos,
    pub value: Option<f64>,
}

/// A label of an output series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesLabel {
    pub key: String,
    pub value: String,
}

/// One output series of a metric query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSeriesResult {
    /// The `group_by` keys with their values, or every attribute of the
    /// stored series when not grouped.
    pub labels: Vec<SeriesLabel>,
    pub points: Vec<MetricValue>,
}

/// `GET /api/metrics/{name}/query`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricQueryResponse {
    pub name: String,
    pub kind: MetricKind,
    pub unit: String,
    pub description: String,
    pub agg: crate::query::Aggregation,
    pub from: UnixNanos,
    pub to: UnixNanos,
    pub step: UnixNanos,
    pub resolution: Resolution,
    pub series: Vec<MetricSeriesResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_round_trip() {
        let h = HealthResponse {
            status: "ok".into(),
            version: "0.1.0".into(),
            uptime_seconds: 3,
            data_dir: "./sightline-data".into(),
            storage_engine: "sqlite".into(),
            db_size_bytes: 4096,
            otlp_http_port: Some(4318),
            otlp_grpc_port: None,
            login_required: true,
        };
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains("\"uptimeSeconds\":3"));
        assert!(json.contains("\"loginRequired\":true"));
        assert_eq!(serde_json::from_str::<HealthResponse>(&json).unwrap(), h);
    }

    fn record(
        id: u8,
        parent: Option<u8>,
        start: u64,
        end: u64,
        service: &str,
        name: &str,
    ) -> SpanRecord {
        let sid = |n: u8| SpanId([0, 0, 0, 0, 0, 0, 0, n]);
        SpanRecord {
            resource: 0,
            scope: 0,
            service: service.into(),
            span: Span {
                span_id: sid(id),
                parent_span_id: parent.map(sid),
                name: name.into(),
                start_time: UnixNanos(start),
                end_time: UnixNanos(end),
                status: crate::trace::Status {
                    code: if id == 3 {
                        StatusCode::Error
                    } else {
                        StatusCode::Unset
                    },
                    message: "boom".into(),
                },
                attributes: vec![KeyValue {
                    key: "k".into(),
                    value: crate::AnyValue::String("v".into()),
                }],
                ..Span::default()
            },
        }
    }

    #[test]
    fn an_outline_keeps_tree_times_names_and_errors_only() {
        let detail = TraceDetail {
            summary: TraceSummary {
                trace_id: TraceId([1; 16]),
                start_time: UnixNanos(1000),
                end_time: UnixNanos(1900),
                duration: UnixNanos(900),
                root_service: "web".into(),
                root_name: "GET /".into(),
                root_is_real: true,
                span_count: 3,
                error_count: 1,
                services: vec!["web".into(), "db".into()],
                log_count: 0,
            },
            resources: vec![Resource::default()],
            scopes: vec![Scope::default()],
            spans: vec![
                record(1, None, 1000, 1900, "web", "GET /"),
                record(2, Some(1), 1100, 1200, "db", "SELECT"),
                // Ends before it starts: duration 0.
                record(3, Some(1), 1300, 1250, "web", "GET /"),
            ],
        };
        let o = TraceOutline::from_detail(&detail);
        assert_eq!(o.start, UnixNanos(1000));
        assert_eq!(o.services, ["web", "db"]);
        assert_eq!(o.names, ["GET /", "SELECT"]);
        assert_eq!(
            o.spans
                .iter()
                .map(|s| (s.start, s.duration, s.error))
                .collect::<Vec<_>>(),
            [(0, 900, false), (100, 100, false), (300, 0, true)]
        );
        assert_eq!(
            (o.service(&o.spans[1]), o.name(&o.spans[1])),
            ("db", "SELECT")
        );
        assert_eq!(o.spans[1].parent_span_id, Some(o.spans[0].span_id));
        let json = serde_json::to_string(&o).unwrap();
        // Spans are arrays; 64-bit numbers are strings; no attributes or messages.
        assert!(
            json.contains(
                r#"["0000000000000002","0000000000000001","100","100",1,1,"unspecified",false]"#
            ),
            "{json}"
        );
        assert!(!json.contains("boom"));
        assert_eq!(serde_json::from_str::<TraceOutline>(&json).unwrap(), o);
    }
}
