//! OTLP/HTTP receiver: `POST /v1/{traces,logs,metrics}` with protobuf or JSON
//! bodies, optionally gzip-compressed. Answers use the request's content
//! type, as the OTLP specification asks: the export response on success, a
//! `google.rpc.Status` on failure. With an ingest token, a request without
//! `Authorization: Bearer <token>` gets 401 before its body is read.

use std::io::Read;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::{Accepted, IngestError, Ingestor, Signal, Transport};
use crate::security::token::Token;

/// `google.rpc.Status`, the error body of OTLP/HTTP.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// gRPC status codes used in error bodies.
const CODE_INVALID_ARGUMENT: i32 = 3;
const CODE_RESOURCE_EXHAUSTED: i32 = 8;
const CODE_UNAVAILABLE: i32 = 14;
const CODE_UNAUTHENTICATED: i32 = 16;

/// Settings of the HTTP receiver.
#[derive(Clone)]
pub struct HttpConfig {
    /// Largest accepted body, compressed or not, and largest decompressed body.
    pub max_request_size: usize,
    /// Origins allowed to POST from a browser (`*` for any); empty: none.
    pub cors_allowed_origins: Vec<String>,
    /// The bearer token every request must carry; `None`: open.
    pub token: Option<Token>,
}

#[derive(Clone)]
struct HttpState {
    ingestor: Ingestor,
    max: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

/// The receiver's routes.
pub fn router(ingestor: Ingestor, config: &HttpConfig) -> Router {
    let state = HttpState {
        ingestor,
        max: config.max_request_size,
    };
    let mut router = Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .route("/v1/metrics", post(metrics))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not an OTLP path: use /v1/traces, /v1/logs or /v1/metrics",
            )
        })
        .with_state(state)
        // Inside the CORS layer: a browser's preflight carries no token.
        .layer(axum::middleware::from_fn_with_state(
            config.token.clone(),
            require_token,
        ));
    if !config.cors_allowed_origins.is_empty() {
        let origins = if config.cors_allowed_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                config
                    .cors_allowed_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        router = router.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::POST, Method::OPTIONS])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::CONTENT_ENCODING,
                    header::AUTHORIZATION,
                ])
                .max_age(Duration::from_secs(3600)),
        );
    }
    router
}

/// Middleware: with a token, refuses requests that do not carry it, in the
/// encoding the request declared (text when it declared none we know).
async fn require_token(State(token): State<Option<Token>>, req: Request, next: Next) -> Response {
    let Some(token) = token else {
        return next.run(req).await;
    };
    let headers = req.headers();
    if headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .any(|v| token.matches_authorization(v.as_bytes()))
    {
        return next.run(req).await;
    }
    let message = if headers.contains_key(header::AUTHORIZATION) {
        "wrong token: send Authorization: Bearer <the server's --ingest-token>"
    } else {
        "this receiver needs a token: send Authorization: Bearer <the server's --ingest-token> \
         (OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)"
    };
    let enc = match content_type(headers).as_str() {
        "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
        "application/json" => Some(Encoding::Json),
        _ => None,
    };
    let mut resp = match enc {
        Some(enc) => error_response(
            StatusCode::UNAUTHORIZED,
            enc,
            CODE_UNAUTHENTICATED,
            message.to_owned(),
        ),
        None => (StatusCode::UNAUTHORIZED, message).into_response(),
    };
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"sightline-otlp\""),
    );
    resp
}

/// The request's media type, lowercase, without parameters.
fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn error_response(status: StatusCode, enc: Encoding, code: i32, message: String) -> Response {
    let mut resp = match enc {
        Encoding::Protobuf => (
            status,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            RpcStatus { code, message }.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "code": code, "message": message }).to_string(),
        )
            .into_response(),
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

/// Reads, size-checks and decompresses a request body. A refusal carries
/// the body's encoding when it was known.
async fn read_body(
    req: Request,
    max: usize,
) -> Result<(Encoding, Bytes), (Option<Encoding>, Response)> {
    let headers: &HeaderMap = req.headers();
    let content_type = content_type(headers);
    let enc = match content_type.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        other => {
            return Err((
                None,
                (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("unsupported content type {other:?}: use application/x-protobuf or application/json"),
                )
                    .into_response(),
            ));
        }
    };
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("identity") => false,
        Some("gzip") => true,
        Some(other) => {
            return Err((
                Some(enc),
                error_response(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    enc,
                    CODE_INVALID_ARGUMENT,
                    format!("unsupported content encoding {other:?}: use gzip or none"),
                ),
            ));
        }
    };
    let body = axum::body::to_bytes(req.into_body(), max)
        .await
        .map_err(|_| {
            let resp = error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                enc,
                CODE_RESOURCE_EXHAUSTED,
                format!("request body larger than {max} bytes"),
            );
            (Some(enc), resp)
        })?;
    if !gzip {
        return Ok((enc, body));
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
    // A gzip body may hold several members (RFC 1952); all are read.
    let mut decoder = flate2::read::MultiGzDecoder::new(&body[..]).take(max as u64 + 1);
    if let Err(e) = decoder.read_to_end(&mut out) {
        return Err((
            Some(enc),
            error_response(
                StatusCode::BAD_REQUEST,
                enc,
                CODE_INVALID_ARGUMENT,
                format!("gzip body cannot be decompressed: {e}"),
            ),
        ));
    }
    if out.len() > max {
        return Err((
            Some(enc),
            error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                enc,
                CODE_RESOURCE_EXHAUSTED,
                format!("decompressed body larger than {max} bytes"),
            ),
        ));
    }
    Ok((enc, Bytes::from(out)))
}

fn transport(enc: Encoding) -> Transport {
    match enc {
        Encoding::Protobuf => Transport::HttpProtobuf,
        Encoding::Json => Transport::HttpJson,
    }
}

fn success<M: Message + Default>(enc: Encoding, msg: M, json: serde_json::Value) -> Response {
    match enc {
        Encoding::Protobuf => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            msg.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json.to_string(),
        )
            .into_response(),
    }
}

fn failure(enc: Encoding, e: IngestError) -> Response {
    match e {
        IngestError::Invalid(m) => {
            error_response(StatusCode::BAD_REQUEST, enc, CODE_INVALID_ARGUMENT, m)
        }
        IngestError::Unavailable(m) => {
            error_response(StatusCode::SERVICE_UNAVAILABLE, enc, CODE_UNAVAILABLE, m)
        }
    }
}

fn parse<M: Message + Default>(
    enc: Encoding,
    body: &[u8],
    json: impl FnOnce(&[u8]) -> Result<M, serde_json::Error>,
) -> Result<M, Box<Response>> {
    match enc {
        Encoding::Protobuf => M::decode(body).map_err(|e| {
            Box::new(error_response(
                StatusCode::BAD_REQUEST,
                enc,
                CODE_INVALID_ARGUMENT,
                format!("malformed protobuf: {e}"),
            ))
        }),
        Encoding::Json => json(body).map_err(|e| {
            Box::new(error_response(
                StatusCode::BAD_REQUEST,
                enc,
                CODE_INVALID_ARGUMENT,
                format!("malformed JSON: {e}"),
            ))
        }),
    }
}

/// Reads and parses a request; a refused one is counted as invalid under
/// its transport (when its encoding is known).
async fn decode<M: Message + Default>(
    s: &HttpState,
    signal: Signal,
    req: Request,
    json: impl FnOnce(&[u8]) -> Result<M, serde_json::Error>,
) -> Result<(Encoding, M), Response> {
    let refused = |enc: Option<Encoding>, resp: Response| {
        if let Some(enc) = enc {
            s.ingestor.stats().request_rejected(signal, transport(enc));
        }
        resp
    };
    let (enc, body) = read_body(req, s.max)
        .await
        .map_err(|(enc, resp)| refused(enc, resp))?;
    let msg = parse(enc, &body, json).map_err(|resp| refused(Some(enc), *resp))?;
    Ok((enc, msg))
}

fn partial_json(key: &str, a: &Accepted) -> serde_json::Value {
    if a.rejected == 0 && a.message.is_empty() {
        return serde_json::json!({});
    }
    serde_json::json!({ "partialSuccess": { key: a.rejected.to_string(), "errorMessage": a.message } })
}

async fn traces(State(s): State<HttpState>, req: Request<Body>) -> Response {
    let (enc, msg): (Encoding, ExportTraceServiceRequest) =
        match decode(&s, Signal::Traces, req, super::json::trace_request).await {
            Ok(v) => v,
            Err(r) => return r,
        };
    match s.ingestor.traces(msg, transport(enc)).await {
        Ok(a) => {
            let partial =
                (a.rejected > 0 || !a.message.is_empty()).then(|| ExportTracePartialSuccess {
                    rejected_spans: i64::try_from(a.rejected).unwrap_or(i64::MAX),
                    error_message: a.message.clone(),
                });
            success(
                enc,
                ExportTraceServiceResponse {
                    partial_success: partial,
                },
                partial_json("rejectedSpans", &a),
            )
        }
        Err(e) => failure(enc, e),
    }
}

async fn logs(State(s): State<HttpState>, req: Request<Body>) -> Response {
    let (enc, msg): (Encoding, ExportLogsServiceRequest) =
        match decode(&s, Signal::Logs, req, super::json::logs_request).await {
            Ok(v) => v,
            Err(r) => return r,
        };
    match s.ingestor.logs(msg, transport(enc)).await {
        Ok(a) => {
            let partial =
                (a.rejected > 0 || !a.message.is_empty()).then(|| ExportLogsPartialSuccess {
                    rejected_log_records: i64::try_from(a.rejected).unwrap_or(i64::MAX),
                    error_message: a.message.clone(),
                });
            success(
                enc,
                ExportLogsServiceResponse {
                    partial_success: partial,
                },
                partial_json("rejectedLogRecords", &a),
            )
        }
        Err(e) => failure(enc, e),
    }
}

async fn metrics(State(s): State<HttpState>, req: Request<Body>) -> Response {
    let (enc, msg): (Encoding, ExportMetricsServiceRequest) =
        match decode(&s, Signal::Metrics, req, super::json::metrics_request).await {
            Ok(v) => v,
            Err(r) => return r,
        };
    match s.ingestor.metrics(msg, transport(enc)).await {
        Ok(a) => {
            let partial =
                (a.rejected > 0 || !a.message.is_empty()).then(|| ExportMetricsPartialSuccess {
                    rejected_data_points: i64::try_from(a.rejected).unwrap_or(i64::MAX),
                    error_message: a.message.clone(),
                });
            success(
                enc,
                ExportMetricsServiceResponse {
                    partial_success: partial,
                },
                partial_json("rejectedDataPoints", &a),
            )
        }
        Err(e) => failure(enc, e),
    }
}
