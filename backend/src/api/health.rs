//! `GET /api/health`: always open, cheap, for load balancers and the footer.

use axum::Json;
use axum::extract::State;
use shared::api::HealthResponse;

use super::ApiState;

/// Reports liveness, version, uptime, the storage engine and the size of
/// what it stores (0 when the engine cannot be asked right now: health
/// stays an answer while ClickHouse is down).
pub async fn health(State(state): State<ApiState>) -> Json<HealthResponse> {
    let db_size_bytes = state.read(|s| s.disk_bytes()).await.unwrap_or(0);
    let s = &state.inner;
    Json(HealthResponse {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_seconds: s.started.elapsed().as_secs(),
        data_dir: s.storage.location(),
        storage_engine: s.storage.engine().to_owned(),
        db_size_bytes,
        otlp_http_port: s.otlp_ports.0,
        otlp_grpc_port: s.otlp_ports.1,
        login_required: s.login_required,
    })
}
