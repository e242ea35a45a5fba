//! The query API (`/api/*`): JSON in, JSON out. Only this module knows HTTP
//! status codes.

mod error;
mod health;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::routing::get;

pub use error::ApiError;

/// What every API handler can reach.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<ApiStateInner>,
}

struct ApiStateInner {
    started: Instant,
    data_dir: PathBuf,
    db_path: PathBuf,
}

impl ApiState {
    /// State for a server that started now.
    pub fn new(data_dir: PathBuf, db_path: PathBuf) -> Self {
        Self {
            inner: Arc::new(ApiStateInner {
                started: Instant::now(),
                data_dir,
                db_path,
            }),
        }
    }
}

/// The `/api` routes; unknown `/api/...` paths answer a JSON 404.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/health", get(health::health))
        .route("/api/{*rest}", axum::routing::any(error::unknown_route))
        .with_state(state)
}
