//! `GET /api/logs`: log records, newest first.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use shared::api::LogsResponse;

use super::{ApiError, ApiState, params};
use crate::store::read::LogQuery;

/// Logs filtered by trace, span and time.
pub async fn logs(
    State(state): State<ApiState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<LogsResponse>, ApiError> {
    let query = LogQuery {
        trace_id: q
            .get("trace_id")
            .map(|v| params::trace_id("trace_id", v))
            .transpose()?,
        span_id: q
            .get("span_id")
            .map(|v| params::span_id("span_id", v))
            .transpose()?,
        from: q.get("from").map(|v| params::time("from", v)).transpose()?,
        to: q.get("to").map(|v| params::time("to", v)).transpose()?,
        limit: params::limit(q.get("limit").map(String::as_str))?,
    };
    Ok(Json(state.read(move |s| s.logs(&query)).await?))
}
