//! `GET /api/services` (the RED catalog) and `GET /api/service-map`.

use axum::Json;
use axum::extract::{RawQuery, State};
use shared::api::{ServiceMapResponse, ServicesResponse};
use shared::query::WindowQuery;

use super::{ApiError, ApiState, params};

/// Rate, errors and duration percentiles per service.
pub async fn services(
    State(state): State<ApiState>,
    raw: RawQuery,
) -> Result<Json<ServicesResponse>, ApiError> {
    let q = params::parse(&raw, WindowQuery::from_params)?;
    let bounds = params::bounds(&q.window)?;
    Ok(Json(state.read(move |s| s.services(bounds)).await?))
}

/// Calls between services.
pub async fn service_map(
    State(state): State<ApiState>,
    raw: RawQuery,
) -> Result<Json<ServiceMapResponse>, ApiError> {
    let q = params::parse(&raw, WindowQuery::from_params)?;
    let bounds = params::bounds(&q.window)?;
    Ok(Json(state.read(move |s| s.service_map(bounds)).await?))
}
