//! The only place that talks to the backend: typed calls to `/api/*` that
//! keep the HTTP status and the server's message on failure.

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use shared::api::{ErrorResponse, HealthResponse};

/// A failed API call, ready to show to the user.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The server could not be reached at all.
    #[error("cannot reach the Sightline server ({0}); is it running?")]
    Network(String),
    /// The server answered with an error status.
    #[error("{message} (HTTP {status})")]
    Status { status: u16, message: String },
    /// The answer was not what this dashboard version expects.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

/// GETs `path` and decodes its JSON answer.
pub async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    let resp = Request::get(path)
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if !resp.ok() {
        let status = resp.status();
        let message = match resp.json::<ErrorResponse>().await {
            Ok(body) => body.error,
            Err(_) => resp.status_text(),
        };
        return Err(ApiError::Status { status, message });
    }
    resp.json::<T>()
        .await
        .map_err(|e| ApiError::Decode(e.to_string()))
}

/// `GET /api/health`.
pub async fn health() -> Result<HealthResponse, ApiError> {
    get_json("/api/health").await
}
