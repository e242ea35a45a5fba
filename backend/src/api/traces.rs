//! `GET /api/traces/{trace_id}`: a whole trace, its outline and its OTLP/JSON export.
//!
//! `{trace_id}` is the whole id or its first 8 or more hex digits (lists show
//! ids shortened): a prefix that one trace starts with names that trace,
//! one that several start with is answered 409 with their ids.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use shared::api::{TraceDetail, TraceOutline};
use shared::{TraceId, TraceIdRef};

use super::{ApiError, ApiState};

/// How many ids an ambiguous prefix's answer lists at most.
pub const MAX_CANDIDATES: usize = 20;

/// The trace a path names: the whole id, or the one trace whose id starts
/// with the digits given. Fewer than 8 digits, or not hex: 400; no trace
/// with the prefix: 404; several: 409 with (up to 20 of) their ids.
async fn resolve(state: &ApiState, text: &str) -> Result<TraceId, ApiError> {
    let prefix = match TraceIdRef::parse(text) {
        Ok(TraceIdRef::Full(id)) => return Ok(id),
        Ok(TraceIdRef::Prefix(p)) => p,
        Err(e) => return Err(ApiError::BadRequest(format!("parameter trace_id: {e}"))),
    };
    let wanted = prefix.clone();
    let mut ids = state
        .read(move |s| s.trace_ids_with_prefix(&wanted, MAX_CANDIDATES + 1))
        .await?;
    match ids.as_slice() {
        [] => Err(ApiError::NotFound(format!(
            "no stored trace id starts with {prefix}"
        ))),
        [one] => Ok(*one),
        _ => {
            let count = if ids.len() > MAX_CANDIDATES {
                format!("more than {MAX_CANDIDATES}")
            } else {
                ids.len().to_string()
            };
            ids.truncate(MAX_CANDIDATES);
            Err(ApiError::Ambiguous {
                message: format!(
                    "{count} traces have ids starting with {prefix}: give more digits or pick one"
                ),
                candidates: ids,
            })
        }
    }
}

/// Everything stored about one trace, or 404.
pub async fn trace(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<TraceDetail>, ApiError> {
    let trace_id = resolve(&state, &id).await?;
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
    let trace_id = resolve(&state, &id).await?;
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
    let trace_id = resolve(&state, &id).await?;
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
