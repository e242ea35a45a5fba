//! The API's error type and its mapping onto HTTP answers.

use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use shared::TraceId;
use shared::api::ErrorResponse;

/// An API failure; each variant picks its status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Something the user asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A parameter is wrong; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// A short trace id that several traces start with: answered 409 with
    /// the candidates, so the client can pick one.
    #[error("{message}")]
    Ambiguous {
        message: String,
        candidates: Vec<TraceId>,
    },
    /// The storage engine cannot be reached (ClickHouse down or slow):
    /// worth retrying, answered 503 with `Retry-After`.
    #[error("{0}")]
    Unavailable(String),
    /// Our fault. The detail goes to the log, not to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Ambiguous {
                message,
                candidates,
            } => {
                return (
                    StatusCode::CONFLICT,
                    Json(ErrorResponse {
                        error: message,
                        candidates,
                    }),
                )
                    .into_response();
            }
            ApiError::Unavailable(m) => {
                tracing::warn!(%m, "query refused: storage unavailable");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, "5")],
                    Json(ErrorResponse::new(format!("{m}; retry shortly"))),
                )
                    .into_response();
            }
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "query failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log".to_owned(),
                )
            }
        };
        (status, Json(ErrorResponse::new(error))).into_response()
    }
}

/// Any `/api/…` path that is not a route.
pub async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no API route {}", uri.path()))
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::store::contract::SearchError> for ApiError {
    fn from(e: crate::store::contract::SearchError) -> Self {
        match e {
            crate::store::contract::SearchError::Cursor(c) => ApiError::BadRequest(c.to_string()),
            crate::store::contract::SearchError::Store(s) => s.into(),
        }
    }
}

impl From<shared::query::ParamError> for ApiError {
    fn from(e: shared::query::ParamError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}
