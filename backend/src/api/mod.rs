//! The query API (`/api/*`): JSON in, JSON out. Only this module knows HTTP
//! status codes.

mod backup;
mod error;
mod health;
mod logs;
mod metrics;
mod params;
mod prometheus;
mod search;
mod services;
mod stats;
mod traces;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::routing::get;

pub use error::ApiError;

use crate::ingest::Ingestor;
use crate::store::contract::TelemetryStore;
use crate::store::sqlite::maintenance::StoreCounters;

/// What every API handler can reach.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<ApiStateInner>,
}

/// Where the store keeps its data, as the health and stats answers and the
/// About page tell it.
#[derive(Clone, Debug)]
pub enum Storage {
    /// The embedded engine's database file in the data directory.
    Sqlite {
        data_dir: PathBuf,
        db_path: PathBuf,
        max_db_size: u64,
    },
    /// A ClickHouse server: URL and database.
    ClickHouse { location: String },
}

impl Storage {
    /// The engine's name: `sqlite` or `clickhouse`.
    pub fn engine(&self) -> &'static str {
        match self {
            Storage::Sqlite { .. } => "sqlite",
            Storage::ClickHouse { .. } => "clickhouse",
        }
    }

    /// The data directory, or the ClickHouse URL and database.
    pub fn location(&self) -> String {
        match self {
            Storage::Sqlite { data_dir, .. } => data_dir.display().to_string(),
            Storage::ClickHouse { location } => location.clone(),
        }
    }

    /// The size cap (0: none; ClickHouse keeps data by TTL).
    pub fn max_db_size(&self) -> u64 {
        match self {
            Storage::Sqlite { max_db_size, .. } => *max_db_size,
            Storage::ClickHouse { .. } => 0,
        }
    }
}

struct ApiStateInner {
    started: Instant,
    storage: Storage,
    store: Arc<dyn TelemetryStore>,
    ingestor: Ingestor,
    counters: Arc<StoreCounters>,
    otlp_ports: (Option<u16>, Option<u16>),
    login_required: bool,
    query_latency: prometheus::QueryLatency,
}

impl ApiState {
    /// State for a server that started now.
    pub fn new(
        storage: Storage,
        store: Arc<dyn TelemetryStore>,
        ingestor: Ingestor,
        counters: Arc<StoreCounters>,
    ) -> Self {
        Self {
            inner: Arc::new(ApiStateInner {
                started: Instant::now(),
                storage,
                store,
                ingestor,
                counters,
                otlp_ports: (None, None),
                login_required: false,
                query_latency: prometheus::QueryLatency::default(),
            }),
        }
    }

    /// Records where the OTLP receivers listen (HTTP, gRPC), for
    /// `/api/health`. Call before the state is shared.
    pub fn with_otlp_ports(mut self, http: Option<u16>, grpc: Option<u16>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.otlp_ports = (http, grpc);
        }
        self
    }

    /// Records whether the dashboard needs a login, for `/api/health`.
    /// Call before the state is shared.
    pub fn with_login_required(mut self, required: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.login_required = required;
        }
        self
    }

    /// Runs a read of the store on a blocking thread.
    async fn read<T, E>(
        &self,
        f: impl FnOnce(&dyn TelemetryStore) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| ApiError::Internal(format!("query task: {e}")))?
            .map_err(Into::into)
    }
}

/// The `/api` routes (unknown `/api/...` paths answer a JSON 404), each
/// timed for `/metrics`, and `/metrics` itself.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/api/health", get(health::health))
        .route("/api/stats", get(stats::stats))
        .route("/api/backup", get(backup::download))
        .route("/api/traces", get(search::traces))
        .route("/api/traces/{trace_id}", get(traces::trace))
        .route("/api/traces/{trace_id}/otlp", get(traces::otlp))
        .route("/api/traces/{trace_id}/outline", get(traces::outline))
        .route("/api/spans", get(search::spans))
        .route("/api/logs", get(logs::logs))
        .route("/api/services", get(services::services))
        .route("/api/service-map", get(services::service_map))
        .route("/api/metrics/{name}/raw", get(metrics::raw))
        .route("/api/metrics", get(metrics::list))
        .route("/api/metrics/{name}/query", get(metrics::query))
        .route("/api/{*rest}", axum::routing::any(error::unknown_route))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            prometheus::record_query,
        ));
    api.route("/metrics", get(prometheus::metrics))
        .with_state(state)
}
