//! Parsing query parameters into typed values, with errors that name the
//! parameter.

use shared::{SpanId, TraceId};

use super::ApiError;

/// A trace id parameter.
pub fn trace_id(name: &str, v: &str) -> Result<TraceId, ApiError> {
    TraceId::from_hex(v.trim()).map_err(|e| ApiError::BadRequest(format!("parameter {name}: {e}")))
}

/// A span id parameter.
pub fn span_id(name: &str, v: &str) -> Result<SpanId, ApiError> {
    SpanId::from_hex(v.trim()).map_err(|e| ApiError::BadRequest(format!("parameter {name}: {e}")))
}

/// A time: Unix nanoseconds or RFC 3339.
pub fn time(name: &str, v: &str) -> Result<u64, ApiError> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Ok(n);
    }
    humantime::parse_rfc3339_weak(v)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "parameter {name}: {v:?} is neither Unix nanoseconds nor an RFC 3339 time"
            ))
        })
}

/// A list size: default 100, at most 1000.
pub fn limit(v: Option<&str>) -> Result<usize, ApiError> {
    match v {
        None => Ok(100),
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "parameter limit: {s:?} is not a number from 1 to 1000"
            ))),
        },
    }
}
