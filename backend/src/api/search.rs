//! `GET /api/traces` and `GET /api/spans`: searches, newest first.

use axum::Json;
use axum::extract::{RawQuery, State};
use shared::api::{SpansResponse, TracesResponse};
use shared::query::{SpanQuery, TraceQuery};

use super::{ApiError, ApiState, params};

/// Trace summaries matching the filters.
pub async fn traces(
    State(state): State<ApiState>,
    raw: RawQuery,
) -> Result<Json<TracesResponse>, ApiError> {
    let q = params::parse(&raw, TraceQuery::from_params)?;
    let bounds = params::bounds(&q.window)?;
    Ok(Json(
        state.read(move |s| s.search_traces(&q, bounds)).await?,
    ))
}

/// Spans matching the filters (`span_id` alone finds one span).
pub async fn spans(
    State(state): State<ApiState>,
    raw: RawQuery,
) -> Result<Json<SpansResponse>, ApiError> {
    let q = params::parse(&raw, SpanQuery::from_params)?;
    let bounds = params::bounds(&q.window)?;
    Ok(Json(state.read(move |s| s.search_spans(&q, bounds)).await?))
}
