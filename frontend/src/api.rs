//! The only place that talks to the backend: typed calls to `/api/*` that
//! keep the HTTP status and the server's message on failure. Query strings
//! are written by `shared::query`, the same code the server parses them with.

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use shared::api::{
    ErrorResponse, HealthResponse, LogsResponse, MetricQueryResponse, MetricsResponse,
    ServiceMapResponse, ServicesResponse, SpansResponse, StatsResponse, TraceOutline,
    TracesResponse,
};
use shared::query::{LogQuery, MetricListQuery, MetricQuery, SpanQuery, TraceQuery, WindowQuery};
use shared::{TraceId, TraceIdRef};

use crate::timing;

/// A failed API call, ready to show to the user.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The server could not be reached at all.
    #[error("cannot reach the Sightline server ({0}); is it running?")]
    Network(String),
    /// The server answered with an error status.
    #[error("{message} (HTTP {status})")]
    Status { status: u16, message: String },
    /// A short trace id that several traces start with (HTTP 409): their
    /// ids, for the page to offer.
    #[error("{message}")]
    Ambiguous {
        message: String,
        candidates: Vec<TraceId>,
    },
    /// The answer was not what this dashboard version expects.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

impl ApiError {
    /// True for a 404 (an unknown trace, or an endpoint this server lacks).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { status: 404, .. })
    }

    /// What the user can do about it, when there is something general to say
    /// (a page adds its own words for a 404).
    pub fn advice(&self) -> Option<&'static str> {
        Some(match self {
            ApiError::Network(_) => {
                "Check that sightline is running and that this browser can reach it; ↻ (top right) tries again."
            }
            ApiError::Decode(_) => {
                "This page may be older than the server: reload it (Ctrl+Shift+R)."
            }
            ApiError::Status { status: 400, .. } => {
                "Change the filter the message names, or clear the filters."
            }
            ApiError::Status { status: 401, .. } => "Your login expired: log in again.",
            ApiError::Status { status: 503, .. } => {
                "The server is busy; ↻ (top right) tries again in a moment."
            }
            ApiError::Status { status, .. } if *status >= 500 => {
                "The server failed to answer; its log says why. ↻ (top right) tries again."
            }
            ApiError::Status { .. } => return None,
            ApiError::Ambiguous { .. } => "Pick one of the traces, or give more digits.",
        })
    }
}

/// GETs `path` and returns its body. A 401 (the server wants a login)
/// sends the whole window to the login page, which comes back here after.
///
/// The body is copied as bytes: turning a large answer into a JavaScript
/// string and that into a Rust `String` costs ~30 ms per MB, a byte copy
/// almost nothing (a 10,000-span trace is 6 MB of JSON).
async fn get_body(path: &str) -> Result<Vec<u8>, ApiError> {
    let resp = Request::get(path)
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if !resp.ok() {
        let status = resp.status();
        if status == 401 {
            go_to_login();
        }
        return Err(match resp.json::<ErrorResponse>().await {
            Ok(body) if status == 409 && !body.candidates.is_empty() => ApiError::Ambiguous {
                message: body.error,
                candidates: body.candidates,
            },
            Ok(body) => ApiError::Status {
                status,
                message: body.error,
            },
            Err(_) => ApiError::Status {
                status,
                message: resp.status_text(),
            },
        });
    }
    resp.binary()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))
}

/// Leaves for `/login?next=<this page>`.
fn go_to_login() {
    if let Some(w) = web_sys::window() {
        let here = w.location();
        let path = here.pathname().unwrap_or_default();
        let query = here.search().unwrap_or_default();
        let _ = here.assign(&crate::url::login_href(&format!("{path}{query}")));
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Decode(e.to_string()))
}

/// GETs `path` and decodes its JSON answer.
pub async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(&get_body(path).await?)
}

fn path(base: &str, qs: &str) -> String {
    if qs.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{qs}")
    }
}

/// A path segment, percent-encoded (metric names may hold `/` or spaces).
fn segment(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// `GET /api/health`.
pub async fn health() -> Result<HealthResponse, ApiError> {
    get_json("/api/health").await
}

/// `GET /api/stats`.
pub async fn stats() -> Result<StatsResponse, ApiError> {
    get_json("/api/stats").await
}

/// `GET /api/traces`.
pub async fn traces(q: &TraceQuery) -> Result<TracesResponse, ApiError> {
    get_json(&path("/api/traces", &q.to_query_string())).await
}

/// `GET /api/traces/{id}/outline`, with performance marks when the body
/// is in memory and when it is decoded (see `timing`). A short id is
/// resolved by the server: the outline's summary has the whole id.
pub async fn trace_outline(id: &TraceIdRef) -> Result<TraceOutline, ApiError> {
    timing::clear_trace_marks();
    let body = get_body(&format!("/api/traces/{id}/outline")).await?;
    timing::mark(timing::TRACE_RESPONSE);
    let outline = decode(&body);
    timing::mark(timing::TRACE_DECODED);
    outline
}

/// Where the trace's OTLP/JSON download is.
pub fn trace_otlp_href(id: TraceId) -> String {
    format!("/api/traces/{id}/otlp")
}

/// `GET /api/spans`.
pub async fn spans(q: &SpanQuery) -> Result<SpansResponse, ApiError> {
    get_json(&path("/api/spans", &q.to_query_string())).await
}

/// `GET /api/logs`.
pub async fn logs(q: &LogQuery) -> Result<LogsResponse, ApiError> {
    get_json(&path("/api/logs", &q.to_query_string())).await
}

/// `GET /api/services`.
pub async fn services(q: &WindowQuery) -> Result<ServicesResponse, ApiError> {
    get_json(&path("/api/services", &q.to_query_string())).await
}

/// `GET /api/service-map`.
pub async fn service_map(q: &WindowQuery) -> Result<ServiceMapResponse, ApiError> {
    get_json(&path("/api/service-map", &q.to_query_string())).await
}

/// `GET /api/metrics`.
pub async fn metrics(q: &MetricListQuery) -> Result<MetricsResponse, ApiError> {
    get_json(&path("/api/metrics", &q.to_query_string())).await
}

/// `GET /api/metrics/{name}/query`.
pub async fn metric_query(name: &str, q: &MetricQuery) -> Result<MetricQueryResponse, ApiError> {
    let base = format!("/api/metrics/{}/query", segment(name));
    get_json(&path(&base, &q.to_query_string())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_do() {
        let status = |status| ApiError::Status {
            status,
            message: "x".into(),
        };
        assert!(
            ApiError::Network("Failed to fetch".into())
                .advice()
                .unwrap()
                .contains("running")
        );
        assert!(status(500).advice().unwrap().contains("log"));
        assert!(status(503).advice().unwrap().contains("busy"));
        assert!(status(400).advice().unwrap().contains("filter"));
        assert!(
            ApiError::Decode("x".into())
                .advice()
                .unwrap()
                .contains("reload")
        );
        // A 404 is the page's to explain.
        assert_eq!(status(404).advice(), None);
        let ambiguous = ApiError::Ambiguous {
            message: "2 traces have ids starting with 87f8f764".into(),
            candidates: vec![TraceId([1; 16]), TraceId([2; 16])],
        };
        assert!(ambiguous.advice().unwrap().contains("Pick"));
        assert!(!ambiguous.is_not_found());
        assert!(status(404).is_not_found());
    }
}
