//! Query API request and response types (JSON under `/api/`).

use serde::{Deserialize, Serialize};

use crate::logs::LogRecord;
use crate::metrics::{MetricData, MetricKind, Temporality};
use crate::trace::{Resource, Scope, Span};
use crate::{KeyValue, TraceId, UnixNanos};

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
    /// The data directory, as given on the command line.
    pub data_dir: String,
    /// Bytes used by the database file and its write-ahead log.
    pub db_size_bytes: u64,
    /// Port of the OTLP/HTTP receiver (the dashboard shows the endpoints
    /// with its own host name and these ports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_http_port: Option<u16>,
    /// Port of the OTLP/gRPC receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_grpc_port: Option<u16>,
}

/// The body of every 4xx/5xx answer of the query API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong, in words the user can act on.
    pub error: String,
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
            db_size_bytes: 4096,
            otlp_http_port: Some(4318),
            otlp_grpc_port: None,
        };
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains("\"uptimeSeconds\":3"));
        assert_eq!(serde_json::from_str::<HealthResponse>(&json).unwrap(), h);
    }
}
