//! `GET /api/health`: always open, cheap, for load balancers and the footer.

use axum::Json;
use axum::extract::State;
use shared::api::HealthResponse;

use super::ApiState;
use crate::store::sqlite::connection::size_on_disk;

/// Reports liveness, version, uptime and the database's size on disk.
pub async fn health(State(state): State<ApiState>) -> Json<HealthResponse> {
    let s = &state.inner;
    Json(HealthResponse {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_seconds: s.started.elapsed().as_secs(),
        data_dir: s.data_dir.display().to_string(),
        db_size_bytes: size_on_disk(&s.db_path),
        otlp_http_port: s.otlp_ports.0,
        otlp_grpc_port: s.otlp_ports.1,
        login_required: s.login_required,
    })
}
