//! `GET /api/traces/{trace_id}`: a whole trace.

use axum::Json;
use axum::extract::{Path, State};
use shared::api::TraceDetail;

use super::{ApiError, ApiState, params};

/// Everything stored about one trace, or 404.
pub async fn trace(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<TraceDetail>, ApiError> {
    let trace_id = params::trace_id("trace_id", &id)?;
    state
        .read(move |s| s.trace(&trace_id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("trace {trace_id} not found")))
}
