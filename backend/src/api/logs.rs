//! `GET /api/logs`: log records, newest first.

use axum::Json;
use axum::extract::{RawQuery, State};
use shared::api::LogsResponse;
use shared::query::LogQuery;

use super::{ApiError, ApiState, params};

/// Logs matching the filters; `q` is full text over the body.
pub async fn logs(
    State(state): State<ApiState>,
    raw: RawQuery,
) -> Result<Json<LogsResponse>, ApiError> {
    let q = params::parse(&raw, LogQuery::from_params)?;
    let bounds = params::bounds(&q.window)?;
    Ok(Json(state.read(move |s| s.search_logs(&q, bounds)).await?))
}
