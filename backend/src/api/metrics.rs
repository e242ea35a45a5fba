//! `GET /api/metrics/{name}/raw`: every series of a metric with its points
//! exactly as received (for export and for checking what was stored).

use axum::Json;
use axum::extract::{Path, State};
use shared::api::RawSeriesResponse;

use super::{ApiError, ApiState};

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
