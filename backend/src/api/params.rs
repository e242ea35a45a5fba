//! Parsing query strings with the request types of `shared::query` (the
//! same code the dashboard writes its links with); errors name the
//! parameter.

use axum::extract::RawQuery;
use shared::query::{Bounds, ParamError, Params, TimeWindow};

use super::ApiError;

/// The decoded pairs of a request's query string.
pub fn pairs(raw: &RawQuery) -> Params {
    Params::parse(raw.0.as_deref().unwrap_or(""))
}

/// Parses a request type from the query string.
pub fn parse<T>(
    raw: &RawQuery,
    f: impl FnOnce(&Params) -> Result<T, ParamError>,
) -> Result<T, ApiError> {
    Ok(f(&pairs(raw))?)
}

/// Now, in Unix nanoseconds (for `range=`).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Absolute bounds of a window, relative to now.
pub fn bounds(w: &TimeWindow) -> Result<Bounds, ApiError> {
    Ok(w.resolve(now())?)
}
