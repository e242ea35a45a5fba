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

use shared::TraceId;
use shared::api::{
    LogsResponse, MetricQueryResponse, MetricsResponse, RawSeriesResponse, ServiceMapResponse,
    ServicesResponse, SpansResponse, TraceDetail, TracesResponse,
};
use shared::query::{Bounds, LogQuery, MetricListQuery, MetricQuery, SpanQuery, TraceQuery};
use tokio::sync::oneshot;

use super::StoreError;
use super::sqlite::metrics::query::MetricQueryError;
use super::sqlite::readers::StoredCounts;
use super::sqlite::search::SearchError;
use super::sqlite::writer::{WriteBatch, WriteError, WriteOutcome};

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

    // ---- Metric catalog and metric queries (`store::sqlite::metrics::query`) ----

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
}
