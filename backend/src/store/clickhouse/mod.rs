//! The scale-out engine: every signal in ClickHouse, in the tables of the
//! OpenTelemetry Collector's `clickhouseexporter`, so Sightline and
//! Collectors share one database and any number of Sightline processes
//! serve it (nothing is kept locally).
//!
//! The [`TelemetryStore`] contract is synchronous (reads run on blocking
//! threads); the `clickhouse` client is async, so the store keeps a handle
//! on the server's Tokio runtime and blocks on it per call.

pub mod client;
#[cfg(test)]
mod fidelity;
pub mod logs;
#[cfg(test)]
mod logs_tests;
pub mod metrics;
pub mod rows;
pub mod schema;
pub mod services;
#[cfg(test)]
mod services_tests;
pub mod stats;
pub mod traces;
pub mod words;
pub mod write;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use shared::api::{
    LogsResponse, MetricQueryResponse, MetricsResponse, RawSeriesResponse, ServiceMapResponse,
    ServicesResponse, SpansResponse, TraceDetail, TracesResponse,
};
use shared::query::{Bounds, LogQuery, MetricListQuery, MetricQuery, SpanQuery, TraceQuery};
use shared::{TraceId, TraceIdPrefix};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::StoreError;
use super::contract::{
    MetricQueryError, Pending, SearchError, StoredCounts, TelemetryStore, WriteBatch, WriteError,
};
use client::Ch;
pub use client::ClickHouseConfig;
use schema::Schema;

/// The ClickHouse engine. Cheap to clone.
#[derive(Clone)]
pub struct ClickHouseStore {
    inner: Arc<Inner>,
}

struct Inner {
    ch: Ch,
    config: ClickHouseConfig,
    /// `None` until ClickHouse was reached and its tables probed.
    schema: RwLock<Option<Arc<Schema>>>,
    runtime: Handle,
    queued: AtomicU64,
    max_queued_items: u64,
}

impl ClickHouseStore {
    /// Connects, creates missing tables (unless turned off) and probes
    /// them. A server that cannot be reached yet is retried in the
    /// background (reads and writes answer "unavailable" meanwhile); tables
    /// of a shape Sightline cannot read fail at once.
    pub async fn connect(
        config: ClickHouseConfig,
        max_queued_items: u64,
    ) -> Result<Self, StoreError> {
        let store = Self {
            inner: Arc::new(Inner {
                ch: Ch::new(&config)?,
                config,
                schema: RwLock::new(None),
                runtime: Handle::current(),
                queued: AtomicU64::new(0),
                max_queued_items,
            }),
        };
        match store.prepare().await {
            Ok(()) => {}
            Err(StoreError::Unavailable(why)) => {
                tracing::warn!(%why, "ClickHouse not reachable yet; retrying in the background");
                let retry = store.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        match retry.prepare().await {
                            Ok(()) => {
                                tracing::info!("ClickHouse reached; tables ready");
                                break;
                            }
                            Err(StoreError::Unavailable(_)) => {}
                            Err(e) => {
                                tracing::error!(error = %e, "ClickHouse tables cannot be used");
                                break;
                            }
                        }
                    }
                });
            }
            Err(e) => return Err(e),
        }
        Ok(store)
    }

    async fn prepare(&self) -> Result<(), StoreError> {
        let schema = schema::prepare(&self.inner.ch, &self.inner.config).await?;
        if let Ok(mut s) = self.inner.schema.write() {
            *s = Some(Arc::new(schema));
        }
        Ok(())
    }

    /// The probed schema, or "unavailable" until ClickHouse was reached.
    fn schema(&self) -> Result<Arc<Schema>, StoreError> {
        self.inner
            .schema
            .read()
            .ok()
            .and_then(|s| s.clone())
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "ClickHouse at {} has not been reached yet",
                    self.inner.config.url
                ))
            })
    }

    /// The database connection (for tests and benchmarks).
    pub fn ch(&self) -> &Ch {
        &self.inner.ch
    }

    /// Where the data is: `url`, database.
    pub fn location(&self) -> String {
        format!(
            "{} database {}",
            self.inner.config.url, self.inner.config.database
        )
    }

    /// Runs a read against the schema on the runtime, from a blocking thread.
    fn read<T, E, F>(&self, f: impl FnOnce(Ch, Arc<Schema>) -> F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<StoreError>,
    {
        let schema = self.schema()?;
        self.inner
            .runtime
            .block_on(f(self.inner.ch.clone(), schema))
    }
}

impl TelemetryStore for ClickHouseStore {
    fn submit(&self, batch: WriteBatch) -> Result<Pending, WriteError> {
        let items = batch.item_count();
        let queued = self.inner.queued.fetch_add(items, Ordering::SeqCst);
        if queued > 0 && queued + items > self.inner.max_queued_items {
            self.inner.queued.fetch_sub(items, Ordering::SeqCst);
            return Err(WriteError::QueueFull { queued });
        }
        let schema = match self.schema() {
            Ok(s) => s,
            Err(e) => {
                self.inner.queued.fetch_sub(items, Ordering::SeqCst);
                return Err(WriteError::Failed(e.to_string()));
            }
        };
        let (tx, rx) = oneshot::channel();
        let inner = self.inner.clone();
        self.inner.runtime.spawn(async move {
            let result = write::write(&inner.ch, &schema, batch)
                .await
                .map_err(|e| WriteError::Failed(e.to_string()));
            inner.queued.fetch_sub(items, Ordering::SeqCst);
            let _ = tx.send(result);
        });
        Ok(rx)
    }

    fn queued_items(&self) -> u64 {
        self.inner.queued.load(Ordering::Relaxed)
    }

    fn trace(&self, trace_id: &TraceId) -> Result<Option<TraceDetail>, StoreError> {
        let id = *trace_id;
        self.read(|ch, s| async move { traces::trace(&ch, &s, &id).await })
    }

    fn trace_ids_with_prefix(
        &self,
        prefix: &TraceIdPrefix,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError> {
        self.read(|ch, s| async move { traces::ids_with_prefix(&ch, &s, prefix, limit).await })
    }

    fn search_traces(
        &self,
        query: &TraceQuery,
        bounds: Bounds,
    ) -> Result<TracesResponse, SearchError> {
        self.read(|ch, s| async move { traces::search_traces(&ch, &s, query, bounds).await })
    }

    fn search_spans(
        &self,
        query: &SpanQuery,
        bounds: Bounds,
    ) -> Result<SpansResponse, SearchError> {
        self.read(|ch, s| async move { traces::search_spans(&ch, &s, query, bounds).await })
    }

    fn search_logs(&self, query: &LogQuery, bounds: Bounds) -> Result<LogsResponse, SearchError> {
        self.read(|ch, s| async move { logs::search(&ch, &s, query, bounds).await })
    }

    fn services(&self, bounds: Bounds) -> Result<ServicesResponse, StoreError> {
        self.read(|ch, s| async move { services::services(&ch, &s, bounds).await })
    }

    fn service_map(&self, bounds: Bounds) -> Result<ServiceMapResponse, StoreError> {
        self.read(|ch, s| async move { services::service_map(&ch, &s, bounds).await })
    }

    fn raw_series(&self, name: &str) -> Result<Option<RawSeriesResponse>, StoreError> {
        self.read(|ch, s| async move { metrics::raw_series(&ch, &s, name).await })
    }

    fn stored(&self) -> Result<StoredCounts, StoreError> {
        self.read(|ch, s| async move { stats::stored(&ch, &s).await })
    }

    fn metrics(&self, query: &MetricListQuery) -> Result<MetricsResponse, StoreError> {
        self.read(|ch, s| async move { metrics::metric_list(&ch, &s, query).await })
    }

    fn metric_query(
        &self,
        name: &str,
        query: &MetricQuery,
        now: u64,
    ) -> Result<Option<MetricQueryResponse>, MetricQueryError> {
        self.read(|ch, s| async move { metrics::metric_query(&ch, &s, name, query, now).await })
    }

    fn metric_rollup_bytes(&self) -> Result<u64, StoreError> {
        // Aggregation happens in SQL over raw rows: there are no rollups.
        Ok(0)
    }

    fn disk_bytes(&self) -> Result<u64, StoreError> {
        self.read(|ch, _| async move { Ok(stats::parts(&ch, &schema::TABLES).await?.1) })
    }
}

/// Stores over a real ClickHouse for tests: the engine of
/// `tests/clickhouse/front.py` (test equipment), or the server named by
/// `SIGHTLINE_TEST_CLICKHOUSE_URL`; each store gets a database of its own.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use sightline_tests::clickhouse::ClickHouse;
    use tokio::runtime::Runtime;

    use super::{ClickHouseConfig, ClickHouseStore};
    use crate::store::contract::TelemetryStore;

    /// A running ClickHouse and the runtime the stores run on; dropping it
    /// stops both.
    pub struct TestClickHouse {
        pub server: ClickHouse,
        pub runtime: Runtime,
    }

    impl TestClickHouse {
        pub fn start() -> Self {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a Tokio runtime");
            Self {
                server: ClickHouse::start(),
                runtime,
            }
        }

        /// A store over a new, empty database.
        pub fn store(&self) -> ClickHouseStore {
            self.store_on(&self.server.fresh_database())
        }

        /// A store over database `db` (created with its tables if missing).
        pub fn store_on(&self, db: &str) -> ClickHouseStore {
            let config = ClickHouseConfig::new(self.server.url.clone(), db);
            self.runtime
                .block_on(ClickHouseStore::connect(config, 200_000))
                .expect("the store connects and creates its tables")
        }

        pub fn make(&self) -> Arc<dyn TelemetryStore> {
            Arc::new(self.store())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestClickHouse;

    #[test]
    fn a_missing_database_is_created_with_its_tables() {
        let ch = TestClickHouse::start();
        let db = format!("{}_new", ch.server.fresh_database());
        let store = ch.store_on(&db);
        let stored = crate::store::contract::TelemetryStore::stored(&store).unwrap();
        assert_eq!(stored.spans.items, 0);
        let tables = ch.runtime.block_on(ch.server.sql(&format!(
            "SELECT count() FROM system.tables WHERE database = '{db}' AND name LIKE 'otel_%'"
        )));
        assert_eq!(tables.trim(), "9", "8 tables and the materialized view");
    }

    /// ClickHouse itself parses every cluster statement (`formatQuery`
    /// fails on a syntax error); running them needs a cluster with Keeper,
    /// which the test engine has not.
    #[test]
    fn clickhouse_parses_every_cluster_statement() {
        let ch = TestClickHouse::start();
        let mut config = super::ClickHouseConfig::new(ch.server.url.clone(), "otel");
        config.cluster = Some("prod".into());
        config.ttl_spans = Some(std::time::Duration::from_secs(7 * 86_400));
        let client = super::client::Ch::new(&config).unwrap();
        for statement in super::schema::create_statements(&config) {
            let formatted: Vec<FormattedRow> = ch
                .runtime
                .block_on(
                    client.rows(
                        client
                            .server_sql("SELECT formatQuery({q:String}) AS sql")
                            .param("q", &statement),
                    ),
                )
                .unwrap_or_else(|e| panic!("{e}\n{statement}"));
            assert!(
                formatted[0].sql.contains("ON CLUSTER prod"),
                "{}",
                formatted[0].sql
            );
        }
    }

    #[derive(clickhouse::Row, serde::Deserialize)]
    struct FormattedRow {
        sql: String,
    }

    #[test]
    fn the_storage_suite_passes_on_clickhouse() {
        let ch = TestClickHouse::start();
        crate::store::suite::run_all(&|| ch.make(), &super::fidelity::CollectorSchema);
    }

    /// The suite's search regression checks (array attributes, any-span
    /// trace search, short trace ids) on their own.
    #[test]
    fn search_regressions_pass_on_clickhouse() {
        let ch = TestClickHouse::start();
        crate::store::suite_queries::run_search_regressions(&*ch.make());
    }
}
