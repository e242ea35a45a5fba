//! The embedded engine: one SQLite database file, written by one thread
//! ([`writer`]) beside a compactor ([`compactor`]), read through a pool of
//! read-only connections ([`readers`]). Inside, storage is grouped by
//! signal ([`spans`], [`logs`], [`metrics`]), by the on-disk formats
//! ([`blocks`]) and by the threads that run it.

/// The `WHERE` condition that finds a trace's summary row by its id,
/// bound as `?1`. The `traces_by_id` index covers the id's last 8 bytes
/// (migration 0005), so the condition names that expression for SQLite to
/// use the index, then compares the whole id.
macro_rules! trace_by_id {
    () => {
        "substr(trace_id, 9) = substr(?1, 9) AND trace_id = ?1"
    };
}

pub mod blocks;
pub mod compaction;
pub mod compactor;
pub mod connection;
pub mod jobs;
pub mod logs;
pub mod maintenance;
pub mod metrics;
pub mod migrate;
pub mod readers;
pub mod reclaim;
pub mod search;
pub mod spans;
pub mod strings;
pub mod varlist;
pub mod writer;

use std::path::PathBuf;
use std::sync::Arc;

use shared::api::{
    LogsResponse, MetricQueryResponse, MetricsResponse, RawSeriesResponse, ServiceMapResponse,
    ServicesResponse, SpansResponse, TraceDetail, TracesResponse,
};
use shared::query::{Bounds, LogQuery, MetricListQuery, MetricQuery, SpanQuery, TraceQuery};
use shared::{TraceId, TraceIdPrefix};

use super::StoreError;
use super::contract::{
    MetricQueryError, Pending, SearchError, StoredCounts, TelemetryStore, WriteBatch, WriteError,
};
use readers::ReaderPool;
use search::SearchContext;
use writer::WriterHandle;

/// The SQLite engine: one writer thread, read-only pooled readers.
#[derive(Clone)]
pub struct SqliteStore {
    writer: WriterHandle,
    readers: Arc<ReaderPool>,
    search: SearchContext,
    db_path: PathBuf,
}

impl SqliteStore {
    /// A store over a running writer and the database it writes.
    pub fn new(writer: WriterHandle, db_path: PathBuf, search: SearchContext) -> Self {
        Self {
            writer,
            readers: Arc::new(ReaderPool::new(db_path.clone())),
            search,
            db_path,
        }
    }
}

impl TelemetryStore for SqliteStore {
    fn submit(&self, batch: WriteBatch) -> Result<Pending, WriteError> {
        self.writer.submit(batch)
    }

    fn queued_items(&self) -> u64 {
        self.writer.queued_items()
    }

    fn trace(&self, trace_id: &TraceId) -> Result<Option<TraceDetail>, StoreError> {
        self.readers
            .with(|c| spans::trace_detail::trace_detail(c, trace_id))
    }

    fn trace_ids_with_prefix(
        &self,
        prefix: &TraceIdPrefix,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError> {
        self.readers
            .with(|c| spans::trace_search::ids_with_prefix(c, prefix, limit))
    }

    fn search_traces(
        &self,
        query: &TraceQuery,
        bounds: Bounds,
    ) -> Result<TracesResponse, SearchError> {
        self.readers
            .with(|c| Ok(spans::trace_search::search(c, &self.search, query, bounds)))?
    }

    fn search_spans(
        &self,
        query: &SpanQuery,
        bounds: Bounds,
    ) -> Result<SpansResponse, SearchError> {
        self.readers
            .with(|c| Ok(spans::span_search::search(c, &self.search, query, bounds)))?
    }

    fn search_logs(&self, query: &LogQuery, bounds: Bounds) -> Result<LogsResponse, SearchError> {
        self.readers
            .with(|c| Ok(logs::search::search(c, &self.search, query, bounds)))?
    }

    fn services(&self, bounds: Bounds) -> Result<ServicesResponse, StoreError> {
        self.readers
            .with(|c| spans::service_minutes::services(c, bounds))
    }

    fn service_map(&self, bounds: Bounds) -> Result<ServiceMapResponse, StoreError> {
        self.readers
            .with(|c| spans::service_map::service_map(c, bounds))
    }

    fn raw_series(&self, name: &str) -> Result<Option<RawSeriesResponse>, StoreError> {
        self.readers.with(|c| metrics::read::raw_series(c, name))
    }

    fn stored(&self) -> Result<StoredCounts, StoreError> {
        self.readers.with(readers::stored_counts)
    }

    // ---- Metric catalog and metric queries ----

    fn metrics(&self, query: &MetricListQuery) -> Result<MetricsResponse, StoreError> {
        self.readers.with(|c| metrics::query::metric_list(c, query))
    }

    fn metric_query(
        &self,
        name: &str,
        query: &MetricQuery,
        now: u64,
    ) -> Result<Option<MetricQueryResponse>, MetricQueryError> {
        self.readers
            .with(|c| Ok(metrics::query::metric_query(c, name, query, now)))?
    }

    fn metric_rollup_bytes(&self) -> Result<u64, StoreError> {
        self.readers.with(metrics::rollups::stored_bytes)
    }

    fn disk_bytes(&self) -> Result<u64, StoreError> {
        Ok(connection::size_on_disk(&self.db_path))
    }
}

/// An SQLite error inside a search or a metric query is a store error (so
/// their code can use `?` on `rusqlite` calls).
impl From<rusqlite::Error> for SearchError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<rusqlite::Error> for MetricQueryError {
    fn from(e: rusqlite::Error) -> Self {
        MetricQueryError::Store(StoreError::Sqlite(e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::SqliteStore;
    use super::maintenance::{Maintenance, StoreCounters};
    use super::search::SearchContext;
    use super::writer::{self, WriterConfig};
    use super::{connection, migrate};
    use crate::store::contract::TelemetryStore;

    /// A store in a fresh directory (kept in `dirs` until the test ends)
    /// whose writer indexes `indexed` and whose searches know it.
    fn store(
        dirs: &std::sync::Mutex<Vec<tempfile::TempDir>>,
        indexed: Option<Vec<String>>,
    ) -> Arc<dyn TelemetryStore> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = connection::open_writer(&path).unwrap();
        migrate::apply(&mut conn).unwrap();
        let config = WriterConfig {
            indexed_attributes: indexed
                .clone()
                .unwrap_or_else(writer::default_indexed_attributes),
            ..WriterConfig::default()
        };
        let (handle, _thread) = writer::spawn(
            conn,
            path.clone(),
            config,
            Maintenance::new(512_000_000, Arc::new(StoreCounters::default())),
        )
        .unwrap();
        dirs.lock().unwrap().push(dir);
        let search = SearchContext {
            indexed: Arc::new(indexed.unwrap_or_default()),
        };
        Arc::new(SqliteStore::new(handle, path, search))
    }

    /// The SQLite engine passes the storage suite.
    #[test]
    fn sqlite_store_meets_the_contract() {
        let dirs = std::sync::Mutex::new(Vec::new());
        let make = || store(&dirs, None);
        crate::store::suite::run_all(&make, &crate::store::suite_fidelity::Lossless);
    }

    /// The search regression checks alone, also with their attributes
    /// indexed: block filters hold one entry per array element, so no
    /// block holding a match is skipped.
    #[test]
    fn search_regressions_pass_with_and_without_indexed_keys() {
        let dirs = std::sync::Mutex::new(Vec::new());
        let indexed = [
            "http.request.header.x_req_id",
            "http.response.status_codes",
            "process.command_args",
            "shop.tenant",
            "item.id",
        ]
        .map(str::to_owned)
        .to_vec();
        crate::store::suite_queries::run_search_regressions(&*store(&dirs, Some(indexed)));
        crate::store::suite_queries::run_search_regressions(&*store(&dirs, None));
    }
}
