//! `GET /api/traces/{trace_id}`: a whole trace, its outline and its OTLP/JSON export.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use shared::api::{TraceDetail, TraceOutline};

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

/// The trace's outline (tree, times, names, errors): what the dashboard
/// draws first, an eighth of the detail's size. 404 if unknown.
pub async fn outline(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<TraceOutline>, ApiError> {
    let trace_id = params::trace_id("trace_id", &id)?;
    state
        .read(move |s| s.trace(&trace_id))
        .await?
        .map(|d| Json(TraceOutline::from_detail(&d)))
        .ok_or_else(|| ApiError::NotFound(format!("trace {trace_id} not found")))
}

/// The trace as an OTLP/JSON file (download, share, or send back to any
/// OTLP/HTTP endpoint), or 404.
pub async fn otlp(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let trace_id = params::trace_id("trace_id", &id)?;
    let detail = state
        .read(move |s| s.trace(&trace_id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("trace {trace_id} not found")))?;
    let body = shared::otlp_export::trace_to_otlp_json(&detail);
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"trace-{trace_id}.json\""),
        )],
        Json(body),
    ))
}
