//! OTLP/gRPC receiver: the `TraceService`, `LogsService` and `MetricsService`
//! of opentelemetry-proto, gzip accepted; with an ingest token, a call
//! without `authorization: Bearer <token>` metadata is `UNAUTHENTICATED`.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::service::{Interceptor, InterceptorLayer};
use tonic::{Request, Response, Status};

use super::{Accepted, IngestError, Ingestor, Transport};
use crate::security::token::Token;

/// The three OTLP services over one ingestor.
#[derive(Clone)]
pub struct OtlpGrpc {
    ingestor: Ingestor,
}

fn status(e: IngestError) -> Status {
    match e {
        IngestError::Invalid(m) => Status::invalid_argument(m),
        IngestError::Unavailable(m) => Status::unavailable(m),
    }
}

fn rejected(a: &Accepted) -> bool {
    a.rejected > 0 || !a.message.is_empty()
}

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let a = self
            .ingestor
            .traces(request.into_inner(), Transport::Grpc)
            .await
            .map_err(status)?;
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: rejected(&a).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(a.rejected).unwrap_or(i64::MAX),
                error_message: a.message,
            }),
        }))
    }
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let a = self
            .ingestor
            .logs(request.into_inner(), Transport::Grpc)
            .await
            .map_err(status)?;
        Ok(Response::new(ExportLogsServiceResponse {
            partial_success: rejected(&a).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(a.rejected).unwrap_or(i64::MAX),
                error_message: a.message,
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let a = self
            .ingestor
            .metrics(request.into_inner(), Transport::Grpc)
            .await
            .map_err(status)?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: rejected(&a).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: i64::try_from(a.rejected).unwrap_or(i64::MAX),
                error_message: a.message,
            }),
        }))
    }
}

/// tonic answers a request body it cannot decode with `INTERNAL`; for OTLP
/// that is the client's malformed request, which the specification answers
/// with `INVALID_ARGUMENT` (not retryable). The refusal happens before any
/// handler runs, as a trailers-only response, so the status is a header.
pub fn decode_errors_are_invalid_argument<B>(
    mut resp: axum::http::Response<B>,
) -> axum::http::Response<B> {
    let headers = resp.headers_mut();
    let internal = headers.get("grpc-status").is_some_and(|v| v == "13");
    let decode = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| {
            m.starts_with("failed%20to%20decode") || m.starts_with("failed to decode")
        });
    if internal && decode {
        headers.insert("grpc-status", axum::http::HeaderValue::from_static("3"));
    }
    resp
}

/// Checks the bearer token of every call before its message is decoded.
#[derive(Clone)]
pub struct RequireToken(Option<Token>);

impl Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(token) = &self.0 else {
            return Ok(request);
        };
        let values = request.metadata().get_all("authorization");
        if values
            .iter()
            .any(|v| token.matches_authorization(v.as_encoded_bytes()))
        {
            return Ok(request);
        }
        Err(Status::unauthenticated(
            if request.metadata().contains_key("authorization") {
                "wrong token: send metadata authorization: Bearer <the server's --ingest-token>"
            } else {
                "this receiver needs a token: send metadata authorization: Bearer <the server's \
                 --ingest-token> (OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)"
            },
        ))
    }
}

/// The token check as a layer over every service; `None`: open.
pub fn require_token(token: Option<Token>) -> InterceptorLayer<RequireToken> {
    InterceptorLayer::new(RequireToken(token))
}

/// The gRPC routes, ready to serve on a listener.
pub fn routes(ingestor: Ingestor, max_message_size: usize) -> tonic::service::Routes {
    let svc = OtlpGrpc { ingestor };
    tonic::service::Routes::new(
        TraceServiceServer::new(svc.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_message_size),
    )
    .add_service(
        LogsServiceServer::new(svc.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_message_size),
    )
    .add_service(
        MetricsServiceServer::new(svc)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_message_size),
    )
}
