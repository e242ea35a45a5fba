//! The storage contract: what any storage engine promises the receivers and
//! the query API. Each engine (`store::sqlite`, …) implements
//! [`TelemetryStore`] and must pass the same suite (`store::suite`).
//!
//! Guarantees:
//! - **Write**: [`TelemetryStore::submit`] returns at once. It refuses with
//!   [`WriteError::QueueFull`] when the queue holds as many items as allowed
//!   (callers answer "retry later"), otherwise returns a [`Pending`] that
//!   resolves only after the whole batch is committed: durable against a
//!   crash of the process, and visible to every read that starts afterwards.
//!   A batch is applied entirely or not at all. Batches submitted one after
//!   another by one caller commit in that order.
//! - **Identity**: a span (trace id + span id) sent again is stored once.
//! - **Reads** see one consistent snapshot per call; lists have an explicit
//!   order (spans of a trace by start time then span id; logs newest first;
//!   metric points by time, stable for equal times).
//! - **Losslessness**: what is read back equals what was written, except
//!   that a metric point's attributes come back in the series' key order.

use shared::api::{
    LogsResponse, MetricQueryResponse, MetricsResponse, RawSeriesResponse, ServiceMapResponse,
    ServicesResponse, SignalStats, SpansResponse, TraceDetail, TracesResponse,
};
use shared::logs::ResourceLogs;
use shared::metrics::ResourceMetrics;
use shared::query::{
    Bounds, LogQuery, MetricListQuery, MetricQuery, ParamError, SpanQuery, TraceQuery,
};
use shared::trace::ResourceSpans;
use shared::{TraceId, TraceIdPrefix};
use tokio::sync::oneshot;

use super::StoreError;
use super::cursor::BadCursor;

/// A submitted batch; resolves after its commit.
pub type Pending = oneshot::Receiver<Result<WriteOutcome, WriteError>>;

/// What every storage engine offers. Read methods block: call them from a
/// blocking task.
pub trait TelemetryStore: Send + Sync + 'static {
    /// Queues a batch (see the module doc for the guarantee).
    fn submit(&self, batch: WriteBatch) -> Result<Pending, WriteError>;
    /// Items waiting to be committed.
    fn queued_items(&self) -> u64;
    /// One trace with every span; `None` if no span of it is stored.
    fn trace(&self, trace_id: &TraceId) -> Result<Option<TraceDetail>, StoreError>;
    /// Ids of the stored traces (with a span stored) that start with
    /// `prefix`, in id order, at most `limit` (a short id from a list or a
    /// pasted link is resolved with it).
    fn trace_ids_with_prefix(
        &self,
        prefix: &TraceIdPrefix,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError>;
    /// Trace summaries matching `query` in `bounds`, newest start first.
    fn search_traces(
        &self,
        query: &TraceQuery,
        bounds: Bounds,
    ) -> Result<TracesResponse, SearchError>;
    /// Spans matching `query` in `bounds`, newest start first.
    fn search_spans(&self, query: &SpanQuery, bounds: Bounds)
    -> Result<SpansResponse, SearchError>;
    /// Log records matching `query` in `bounds`, newest first.
    fn search_logs(&self, query: &LogQuery, bounds: Bounds) -> Result<LogsResponse, SearchError>;
    /// The service catalog (rate, errors, durations) over `bounds`.
    fn services(&self, bounds: Bounds) -> Result<ServicesResponse, StoreError>;
    /// Calls between services over `bounds`.
    fn service_map(&self, bounds: Bounds) -> Result<ServiceMapResponse, StoreError>;
    /// Every series of a metric with its points; `None` for an unknown name.
    fn raw_series(&self, name: &str) -> Result<Option<RawSeriesResponse>, StoreError>;
    /// Counts of what is stored, per signal.
    fn stored(&self) -> Result<StoredCounts, StoreError>;

    // ---- Metric catalog and metric queries ----

    /// Every metric name with its kind, unit and series, sorted by name.
    fn metrics(&self, query: &MetricListQuery) -> Result<MetricsResponse, StoreError>;
    /// One metric aggregated per step over a window, read from rollups
    /// where the step allows and raw points elsewhere; `None` for an
    /// unknown metric. `now` (Unix nanoseconds) resolves relative windows.
    fn metric_query(
        &self,
        name: &str,
        query: &MetricQuery,
        now: u64,
    ) -> Result<Option<MetricQueryResponse>, MetricQueryError>;
    /// Bytes of stored metric rollups.
    fn metric_rollup_bytes(&self) -> Result<u64, StoreError>;
    /// Bytes the store occupies on disk (the database file and its WAL;
    /// ClickHouse: its tables' active parts).
    fn disk_bytes(&self) -> Result<u64, StoreError>;
}

/// A decoded OTLP request on its way to the database.
#[derive(Debug)]
pub enum WriteBatch {
    Spans(Vec<ResourceSpans>),
    Logs(Vec<ResourceLogs>),
    Metrics(Vec<ResourceMetrics>),
}

impl WriteBatch {
    /// Items in the batch (spans, log records or data points).
    pub fn item_count(&self) -> u64 {
        match self {
            WriteBatch::Spans(b) => count_spans(b),
            WriteBatch::Logs(b) => count_logs(b),
            WriteBatch::Metrics(b) => count_points(b),
        }
    }
}

/// What the store did with a batch.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WriteOutcome {
    /// Items committed (a duplicate of a stored span counts: it is stored).
    pub accepted: u64,
    /// Items refused (e.g. over the series cardinality limit).
    pub rejected: u64,
    /// Why the first refused item was refused.
    pub reason: Option<String>,
}

/// Why a batch was not written.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The queue holds as many items as allowed; retry later.
    #[error("the write queue is full ({queued} items waiting); retry later")]
    QueueFull { queued: u64 },
    /// The writer stopped (shutting down).
    #[error("the store is shutting down")]
    Closed,
    /// The transaction failed; nothing of the batch was written.
    #[error("the batch could not be stored: {0}")]
    Failed(String),
}

/// Counts the items of a request the way OTLP's partial success counts them.
pub fn count_spans(batch: &[ResourceSpans]) -> u64 {
    batch
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}

/// Number of log records in a batch.
pub fn count_logs(batch: &[ResourceLogs]) -> u64 {
    batch
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len() as u64)
        .sum()
}

/// Number of data points in a batch.
pub fn count_points(batch: &[ResourceMetrics]) -> u64 {
    batch
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.data.point_count() as u64)
        .sum()
}

/// What is stored, per signal (for `/api/stats`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredCounts {
    pub spans: SignalStats,
    pub logs: SignalStats,
    pub metric_points: SignalStats,
    pub traces: u64,
    pub metric_series: u64,
}

/// Why a search failed: a bad cursor (the client's fault) or the store.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Cursor(#[from] BadCursor),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a metric query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum MetricQueryError {
    /// A parameter is wrong (the API answers 400 with this message).
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
