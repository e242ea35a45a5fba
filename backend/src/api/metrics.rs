//! The metric routes: `GET /api/metrics` (the catalog),
//! `GET /api/metrics/{name}/query` (aggregated per step) and
//! `GET /api/metrics/{name}/raw` (every series with its points exactly as
//! received, for export and for checking what was stored).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use shared::api::{MetricQueryResponse, MetricsResponse, RawSeriesResponse};
use shared::query::{MetricListQuery, MetricQuery, Params};

use super::{ApiError, ApiState, params};
use crate::store::contract::MetricQueryError;

/// Metric names with kind, unit, series count and services, by name;
/// `service` and `q` (a case-insensitive part of the name) narrow it.
pub async fn list(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<MetricsResponse>, ApiError> {
    let q = MetricListQuery::from_params(&Params::parse(raw.as_deref().unwrap_or("")))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(state.read(move |s| s.metrics(&q)).await?))
}

/// One metric aggregated per step (`from`, `to`, `range`, `step`, `agg`,
/// `attr`, `group_by`); 404 for an unknown metric, 400 naming a bad
/// parameter.
pub async fn query(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<MetricQueryResponse>, ApiError> {
    let q = MetricQuery::from_params(&Params::parse(raw.as_deref().unwrap_or("")))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let now = params::now();
    let lookup = name.clone();
    let answer = state
        .read(move |s| Ok::<_, ApiError>(s.metric_query(&lookup, &q, now)))
        .await?;
    match answer {
        Ok(Some(r)) => Ok(Json(r)),
        Ok(None) => Err(ApiError::NotFound(format!("metric {name:?} not found"))),
        Err(MetricQueryError::Param(e)) => Err(ApiError::BadRequest(e.to_string())),
        Err(MetricQueryError::Store(e)) => Err(e.into()),
    }
}

/// The raw series of one metric, or 404.
pub async fn raw(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<RawSeriesResponse>, ApiError> {
    let lookup = name.clone();
    state
        .read(move |s| s.raw_series(&lookup))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("metric {name:?} not found")))
}
