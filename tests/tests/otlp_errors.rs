//! What the OTLP receivers refuse, and how: malformed bodies, bad ids,
//! decompression bombs, wrong content types, methods and paths, over HTTP
//! and gRPC; empty requests; many clients at once. Error bodies must use the
//! request's encoding (a protobuf `google.rpc.Status` or JSON
//! `{"code":…,"message":…}`), as the OTLP specification asks.

use std::io::Write;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use shared::api::{LogsResponse, StatsResponse, TraceDetail};
use shared::{TraceId, UnixNanos};
use sightline_tests::manifest::get_json;
use sightline_tests::{Options, Sightline};
use tonic::codec::CompressionEncoding;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";
const SIGNALS: [&str; 3] = ["traces", "logs", "metrics"];

/// `google.rpc.Status`, the OTLP/HTTP error body for protobuf requests.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

const INVALID_ARGUMENT: i32 = 3;
const RESOURCE_EXHAUSTED: i32 = 8;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The error body of a protobuf request.
    fn rpc_status(&self) -> RpcStatus {
        assert_eq!(
            self.content_type(),
            PROTOBUF,
            "error body of a protobuf request"
        );
        RpcStatus::decode(self.body.as_slice()).unwrap_or_else(|e| {
            panic!(
                "error body is not a google.rpc.Status: {e}: {:?}",
                self.body
            )
        })
    }

    /// The error body of a JSON request: `(code, message)`.
    fn json_status(&self) -> (i64, String) {
        assert_eq!(self.content_type(), JSON, "error body of a JSON request");
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "error body is not JSON: {e}: {}",
                String::from_utf8_lossy(&self.body)
            )
        });
        (
            v["code"]
                .as_i64()
                .unwrap_or_else(|| panic!("no numeric code in {v}")),
            v["message"]
                .as_str()
                .unwrap_or_else(|| panic!("no message in {v}"))
                .to_owned(),
        )
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn post(
    server: &Sightline,
    path: &str,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", server.otlp_http_url))
        .body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(ce) = content_encoding {
        req = req.header("content-encoding", ce);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    Answer {
        status: resp.status(),
        headers: resp.headers().clone(),
        body: resp.bytes().await.unwrap().to_vec(),
    }
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![string_kv("service.name", service)],
        ..Default::default()
    })
}

fn span(trace_id: &[u8], span_id: &[u8], name: &str, start: u64) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        name: name.into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1_000_000,
        attributes: vec![string_kv("http.route", "/cart")],
        ..Default::default()
    }
}

fn trace_request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(service),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs_request(service: &str, trace_id: &[u8], span_id: &[u8]) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_700_000_000_000_000_000,
                    severity_number: 9,
                    severity_text: "INFO".into(),
                    body: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("hello".into())),
                    }),
                    trace_id: trace_id.to_vec(),
                    span_id: span_id.to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics_request(service: &str) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(service),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "queue.depth".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: 1_700_000_000_000_000_000,
                            value: Some(number_data_point::Value::AsInt(7)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// One valid request per signal, protobuf-encoded.
fn valid_protobuf(signal: &str) -> Vec<u8> {
    match signal {
        "traces" => trace_request(
            "cart",
            vec![span(
                &[7; 16],
                &[1; 8],
                "GET /cart",
                1_700_000_000_000_000_000,
            )],
        )
        .encode_to_vec(),
        "logs" => logs_request("cart", &[7; 16], &[1; 8]).encode_to_vec(),
        _ => metrics_request("cart").encode_to_vec(),
    }
}

async fn stats(server: &Sightline) -> StatsResponse {
    get_json(server, "/api/stats").await
}

/// Nothing at all is stored.
async fn assert_nothing_stored(server: &Sightline) {
    let st = stats(server).await;
    assert_eq!(
        (
            st.spans.items,
            st.logs.items,
            st.metric_points.items,
            st.traces,
            st.metric_series
        ),
        (0, 0, 0, 0, 0),
        "{st:?}"
    );
    assert!(st.ingest.iter().all(|c| c.accepted == 0), "{:?}", st.ingest);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn garbage_bytes_are_a_400_with_a_message_in_the_request_encoding() {
    let server = Sightline::start();
    let mut garbage = vec![0xff; 12];
    garbage.extend_from_slice(b"\x0f not a protobuf message at all");
    for signal in SIGNALS {
        let path = format!("/v1/{signal}");
        let a = post(&server, &path, Some(PROTOBUF), None, garbage.clone()).await;
        assert_eq!(a.status, 400, "{path}: {}", a.text());
        let st = a.rpc_status();
        assert_eq!(st.code, INVALID_ARGUMENT, "{path}: {st:?}");
        assert!(st.message.contains("protobuf"), "{path}: {st:?}");

        let a = post(
            &server,
            &path,
            Some(JSON),
            None,
            b"{\"resourceSpans\": [".to_vec(),
        )
        .await;
        assert_eq!(a.status, 400, "{path}: {}", a.text());
        let (code, message) = a.json_status();
        assert_eq!(code, i64::from(INVALID_ARGUMENT), "{path}: {message}");
        assert!(message.contains("JSON"), "{path}: {message}");

        let a = post(&server, &path, Some(JSON), None, garbage.clone()).await;
        assert_eq!(a.status, 400, "{path}: {}", a.text());
        assert_eq!(a.json_status().0, i64::from(INVALID_ARGUMENT));
    }
    assert_nothing_stored(&server).await;
}

#[tokio::test]
async fn truncated_protobuf_is_a_400_and_stores_nothing() {
    let server = Sightline::start();
    for signal in SIGNALS {
        let full = valid_protobuf(signal);
        // Every cut inside the message leaves a length-delimited field short.
        for cut in [full.len() - 1, full.len() / 2, 3] {
            let path = format!("/v1/{signal}");
            let a = post(&server, &path, Some(PROTOBUF), None, full[..cut].to_vec()).await;
            assert_eq!(
                a.status,
                400,
                "{path} cut at {cut}/{}: {}",
                full.len(),
                a.text()
            );
            let st = a.rpc_status();
            assert_eq!(st.code, INVALID_ARGUMENT);
            assert!(!st.message.is_empty());
        }
    }
    assert_nothing_stored(&server).await;
}

#[tokio::test]
async fn a_15_byte_trace_id_is_a_400_naming_the_field() {
    let server = Sightline::start();
    let short = "0102030405060708090a0b0c0d0e0f"; // 15 bytes
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[
            {{"traceId":"{}","spanId":"0102030405060708","name":"ok","startTimeUnixNano":"1","endTimeUnixNano":"2"}},
            {{"traceId":"{short}","spanId":"0102030405060708","name":"bad","startTimeUnixNano":"1","endTimeUnixNano":"2"}}]}}]}}]}}"#,
        "0102030405060708090a0b0c0d0e0f10"
    );
    let a = post(&server, "/v1/traces", Some(JSON), None, body.into_bytes()).await;
    assert_eq!(a.status, 400, "{}", a.text());
    let (code, message) = a.json_status();
    assert_eq!(code, i64::from(INVALID_ARGUMENT));
    assert!(
        message.contains("resourceSpans[0].scopeSpans[0].spans[1].traceId"),
        "the message names the field: {message}"
    );

    // The same over protobuf, and a short span id on a log record.
    let bad = trace_request("cart", vec![span(&[7; 15], &[1; 8], "bad", 1)]).encode_to_vec();
    let a = post(&server, "/v1/traces", Some(PROTOBUF), None, bad).await;
    assert_eq!(a.status, 400, "{}", a.text());
    let st = a.rpc_status();
    assert_eq!(st.code, INVALID_ARGUMENT);
    assert!(st.message.contains("spans[0].traceId"), "{st:?}");

    let bad = logs_request("cart", &[7; 16], &[1; 7]).encode_to_vec();
    let a = post(&server, "/v1/logs", Some(PROTOBUF), None, bad).await;
    assert_eq!(a.status, 400, "{}", a.text());
    let st = a.rpc_status();
    assert!(st.message.contains("logRecords[0].spanId"), "{st:?}");

    // Nothing of a refused request is stored, not even its valid span; the
    // refusals are counted.
    assert_nothing_stored(&server).await;
    let st = stats(&server).await;
    let invalid = |signal: &str, transport: &str| {
        st.ingest
            .iter()
            .find(|c| c.signal == signal && c.transport == transport)
            .map(|c| c.invalid_requests)
    };
    assert_eq!(invalid("traces", "http/json"), Some(1));
    assert_eq!(invalid("traces", "http/protobuf"), Some(1));
    assert_eq!(invalid("logs", "http/protobuf"), Some(1));
}

#[tokio::test]
async fn a_100_mb_gzip_bomb_is_a_413() {
    let server = Sightline::start();
    let bomb = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..100 {
            enc.write_all(&zeros).unwrap();
        }
        enc.finish().unwrap()
    };
    assert!(
        bomb.len() < 200_000,
        "the bomb is small on the wire: {} bytes",
        bomb.len()
    );

    let a = post(
        &server,
        "/v1/traces",
        Some(PROTOBUF),
        Some("gzip"),
        bomb.clone(),
    )
    .await;
    assert_eq!(a.status, 413, "{}", a.text());
    let st = a.rpc_status();
    assert_eq!(st.code, RESOURCE_EXHAUSTED);
    assert!(st.message.contains("larger than"), "{st:?}");

    let a = post(&server, "/v1/logs", Some(JSON), Some("gzip"), bomb).await;
    assert_eq!(a.status, 413, "{}", a.text());
    let (code, message) = a.json_status();
    assert_eq!(code, i64::from(RESOURCE_EXHAUSTED), "{message}");

    // The server is unharmed and still accepts a gzip body of normal size.
    let a = post(
        &server,
        "/v1/traces",
        Some(PROTOBUF),
        Some("gzip"),
        gzip(&valid_protobuf("traces")),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(stats(&server).await.spans.items, 1);
}

#[tokio::test]
async fn a_body_over_the_size_limit_is_a_413() {
    let server = Sightline::start_with(Options {
        args: vec!["--max-request-size".into(), "64KiB".into()],
        ..Default::default()
    });
    let a = post(
        &server,
        "/v1/metrics",
        Some(PROTOBUF),
        None,
        vec![0; 100 * 1024],
    )
    .await;
    assert_eq!(a.status, 413, "{}", a.text());
    assert_eq!(a.rpc_status().code, RESOURCE_EXHAUSTED);
    let a = post(
        &server,
        "/v1/metrics",
        Some(PROTOBUF),
        None,
        valid_protobuf("metrics"),
    )
    .await;
    assert_eq!(a.status, 200, "a small body still passes: {}", a.text());
}

#[tokio::test]
async fn bad_gzip_and_unknown_encodings_are_refused() {
    let server = Sightline::start();
    let a = post(
        &server,
        "/v1/traces",
        Some(PROTOBUF),
        Some("gzip"),
        valid_protobuf("traces"),
    )
    .await;
    assert_eq!(a.status, 400, "not gzip at all: {}", a.text());
    assert!(a.rpc_status().message.contains("gzip"));
    let a = post(
        &server,
        "/v1/traces",
        Some(JSON),
        Some("br"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(a.status, 415, "{}", a.text());
    let (_, message) = a.json_status();
    assert!(message.contains("br"), "{message}");
    assert_nothing_stored(&server).await;
}

#[tokio::test]
async fn empty_requests_are_accepted_and_store_nothing() {
    let server = Sightline::start();
    for signal in SIGNALS {
        let path = format!("/v1/{signal}");
        let a = post(&server, &path, Some(PROTOBUF), None, Vec::new()).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        assert_eq!(a.content_type(), PROTOBUF);
        // An export response without partial success encodes to nothing.
        assert!(a.body.is_empty(), "{path}: {:?}", a.body);
        let a = post(&server, &path, Some(JSON), None, b"{}".to_vec()).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        assert_eq!(a.content_type(), JSON);
        assert_eq!(a.text(), "{}");
    }
    assert_nothing_stored(&server).await;
    let st = stats(&server).await;
    for signal in SIGNALS {
        for transport in ["http/protobuf", "http/json"] {
            let c = st
                .ingest
                .iter()
                .find(|c| c.signal == signal && c.transport == transport)
                .unwrap_or_else(|| panic!("no counter for {signal}/{transport}"));
            assert_eq!((c.requests, c.invalid_requests), (1, 0), "{c:?}");
        }
    }
}

#[tokio::test]
async fn text_plain_is_a_415() {
    let server = Sightline::start();
    for ct in [Some("text/plain"), None] {
        let a = post(&server, "/v1/traces", ct, None, valid_protobuf("traces")).await;
        assert_eq!(a.status, 415, "{ct:?}: {}", a.text());
        assert!(
            a.text().contains("application/x-protobuf"),
            "names what is accepted: {}",
            a.text()
        );
    }
    assert_nothing_stored(&server).await;
}

#[tokio::test]
async fn get_on_an_otlp_path_is_a_405_and_other_paths_are_404() {
    let server = Sightline::start();
    for signal in SIGNALS {
        let resp = reqwest::get(format!("{}/v1/{signal}", server.otlp_http_url))
            .await
            .unwrap();
        assert_eq!(resp.status(), 405);
        let allow = resp
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(allow.contains("POST"), "allow: {allow:?}");
    }
    let a = post(
        &server,
        "/v2/x",
        Some(PROTOBUF),
        None,
        valid_protobuf("traces"),
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.text());
    assert!(a.text().contains("/v1/traces"), "{}", a.text());
    let resp = reqwest::get(format!("{}/v2/x", server.otlp_http_url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_nothing_stored(&server).await;
}

/// A trace id unique to (task, request).
fn concurrent_trace_id(task: u8, i: u8) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[0] = task + 1;
    id[1] = i + 1;
    id[15] = 0x5a;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_all_succeed_and_every_span_is_stored() {
    const TASKS: u8 = 8;
    const REQUESTS: u8 = 20;
    const SPANS: u8 = 3;
    let server = Sightline::start();
    let url = server.otlp_http_url.clone();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..REQUESTS {
                let tid = concurrent_trace_id(task, i);
                let spans: Vec<Span> = (0..SPANS)
                    .map(|s| {
                        let mut sp = span(&tid, &[task + 1, i + 1, s + 1, 0, 0, 0, 0, 1], "work", 1_700_000_000_000_000_000);
                        if s > 0 {
                            sp.parent_span_id = vec![task + 1, i + 1, 1, 0, 0, 0, 0, 1];
                        }
                        sp
                    })
                    .collect();
                // Half the tasks send protobuf, half JSON.
                let (ct, body) = if task % 2 == 0 {
                    (PROTOBUF, trace_request("load", spans).encode_to_vec())
                } else {
                    let json_spans: Vec<_> = spans
                        .iter()
                        .map(|s| {
                            serde_json::json!({
                                "traceId": TraceId::from_bytes(&s.trace_id).unwrap().to_hex(),
                                "spanId": shared::SpanId::from_bytes(&s.span_id).unwrap().to_hex(),
                                "parentSpanId": if s.parent_span_id.is_empty() { String::new() } else {
                                    shared::SpanId::from_bytes(&s.parent_span_id).unwrap().to_hex() },
                                "name": s.name,
                                "kind": s.kind,
                                "startTimeUnixNano": s.start_time_unix_nano.to_string(),
                                "endTimeUnixNano": s.end_time_unix_nano.to_string(),
                            })
                        })
                        .collect();
                    let body = serde_json::json!({"resourceSpans": [{
                        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "load"}}]},
                        "scopeSpans": [{"spans": json_spans}]}]});
                    (JSON, body.to_string().into_bytes())
                };
                let resp = http
                    .post(format!("{url}/v1/traces"))
                    .header("content-type", ct)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let text = resp.text().await.unwrap();
                assert_eq!(status, 200, "task {task} request {i}: {text}");
                if ct == JSON {
                    assert_eq!(text, "{}", "task {task} request {i}: a full success");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }

    let total = u64::from(TASKS) * u64::from(REQUESTS) * u64::from(SPANS);
    let st = stats(&server).await;
    let accepted: u64 = st
        .ingest
        .iter()
        .filter(|c| c.signal == "traces")
        .map(|c| c.accepted)
        .sum();
    assert_eq!(accepted, total);
    assert_eq!(st.spans.items, total);
    assert_eq!(st.traces, u64::from(TASKS) * u64::from(REQUESTS));
    for task in 0..TASKS {
        for i in 0..REQUESTS {
            let tid = TraceId(concurrent_trace_id(task, i));
            let d: TraceDetail = get_json(&server, &format!("/api/traces/{tid}")).await;
            assert_eq!(d.summary.span_count, u64::from(SPANS), "trace {tid}");
            assert_eq!(d.spans.len(), usize::from(SPANS), "trace {tid}");
            assert!(d.summary.root_is_real, "trace {tid}");
        }
    }
}

async fn grpc_channel(server: &Sightline) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{}", server.otlp_grpc_addr))
        .unwrap()
        .connect()
        .await
        .expect("connect to the OTLP/gRPC receiver")
}

#[tokio::test]
async fn grpc_bad_trace_id_is_invalid_argument() {
    let server = Sightline::start();
    let mut client = TraceServiceClient::new(grpc_channel(&server).await);
    let req = trace_request("cart", vec![span(&[7; 15], &[1; 8], "bad", 1)]);
    let err = client
        .export(req)
        .await
        .expect_err("a 15-byte trace id is refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("spans[0].traceId"),
        "names the field: {err:?}"
    );

    let mut logs = LogsServiceClient::new(grpc_channel(&server).await);
    let err = logs
        .export(logs_request("cart", &[7; 16], &[1; 9]))
        .await
        .expect_err("a 9-byte span id is refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("logRecords[0].spanId"), "{err:?}");

    assert_nothing_stored(&server).await;
    let st = stats(&server).await;
    let grpc_invalid: u64 = st
        .ingest
        .iter()
        .filter(|c| c.transport == "grpc")
        .map(|c| c.invalid_requests)
        .sum();
    assert_eq!(grpc_invalid, 2);
}

#[tokio::test]
async fn grpc_gzip_requests_are_accepted_and_stored() {
    let server = Sightline::start();
    let tid = [9u8; 16];
    let spans = vec![
        span(&tid, &[1; 8], "GET /cart", 1_700_000_000_000_000_000),
        span(&tid, &[2; 8], "SELECT", 1_700_000_000_100_000_000),
    ];
    let mut client = TraceServiceClient::new(grpc_channel(&server).await)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let resp = client
        .export(trace_request("cart", spans.clone()))
        .await
        .expect("a gzip-compressed export succeeds");
    assert_eq!(
        resp.into_inner(),
        ExportTraceServiceResponse {
            partial_success: None
        }
    );

    let mut logs = LogsServiceClient::new(grpc_channel(&server).await)
        .send_compressed(CompressionEncoding::Gzip);
    logs.export(logs_request("cart", &tid, &[1; 8]))
        .await
        .expect("a gzip-compressed logs export succeeds");

    let d: TraceDetail = get_json(&server, &format!("/api/traces/{}", TraceId(tid))).await;
    assert_eq!(d.spans.len(), spans.len());
    for sent in &spans {
        let got = d
            .spans
            .iter()
            .find(|s| s.span.span_id.0.as_slice() == sent.span_id.as_slice())
            .unwrap_or_else(|| panic!("span {:?} not stored", sent.span_id));
        assert_eq!(got.service, "cart");
        assert_eq!(got.span.name, sent.name);
        assert_eq!(got.span.start_time, UnixNanos(sent.start_time_unix_nano));
        assert_eq!(got.span.end_time, UnixNanos(sent.end_time_unix_nano));
        assert_eq!(
            got.span.attributes,
            vec![shared::KeyValue::string("http.route", "/cart")]
        );
    }
    let logs: LogsResponse =
        get_json(&server, &format!("/api/logs?trace_id={}", TraceId(tid))).await;
    assert_eq!(logs.logs.len(), 1);
    assert_eq!(
        logs.logs[0].record.body,
        shared::AnyValue::String("hello".into())
    );
    let st = stats(&server).await;
    let grpc = |signal: &str| {
        st.ingest
            .iter()
            .find(|c| c.signal == signal && c.transport == "grpc")
            .map(|c| (c.accepted, c.requests))
    };
    assert_eq!(grpc("traces"), Some((spans.len() as u64, 1)));
    assert_eq!(grpc("logs"), Some((1, 1)));
}

// Regression: a body that could not be parsed or decompressed was answered
// 400 but not counted in `/api/stats`, so the counters hid refused requests.
#[tokio::test]
async fn refused_bodies_are_counted_as_invalid_requests() {
    let server = Sightline::start();
    let full = valid_protobuf("metrics");
    let refused = [
        ("/v1/traces", PROTOBUF, None, vec![0xff; 12]),
        ("/v1/logs", JSON, None, b"{\"resourceLogs\": [".to_vec()),
        (
            "/v1/metrics",
            PROTOBUF,
            None,
            full[..full.len() / 2].to_vec(),
        ),
        ("/v1/traces", JSON, Some("gzip"), b"{}".to_vec()),
    ];
    for (path, ct, ce, body) in refused {
        let a = post(&server, path, Some(ct), ce, body).await;
        assert_eq!(a.status, 400, "{path} {ct}: {}", a.text());
    }
    // A body of unknown encoding cannot be filed under a transport.
    let a = post(
        &server,
        "/v1/traces",
        Some("text/plain"),
        None,
        b"x".to_vec(),
    )
    .await;
    assert_eq!(a.status, 415);

    let st = stats(&server).await;
    let counts = |signal: &str, transport: &str| {
        st.ingest
            .iter()
            .find(|c| c.signal == signal && c.transport == transport)
            .map(|c| (c.requests, c.invalid_requests, c.accepted))
    };
    assert_eq!(counts("traces", "http/protobuf"), Some((1, 1, 0)));
    assert_eq!(counts("logs", "http/json"), Some((1, 1, 0)));
    assert_eq!(counts("metrics", "http/protobuf"), Some((1, 1, 0)));
    assert_eq!(counts("traces", "http/json"), Some((1, 1, 0)));
    let invalid: u64 = st.ingest.iter().map(|c| c.invalid_requests).sum();
    assert_eq!(invalid, 4, "{:?}", st.ingest);
    assert_nothing_stored(&server).await;
}

// Regression: only the first member of a gzip body of several members
// (RFC 1952) was read; the rest of the request was dropped while the client
// was told it had succeeded.
#[tokio::test]
async fn every_member_of_a_gzip_body_is_read() {
    let server = Sightline::start();
    let tid = [3u8; 16];
    let first = trace_request(
        "cart",
        vec![span(&tid, &[1; 8], "first", 1_700_000_000_000_000_000)],
    );
    let second = trace_request(
        "cart",
        vec![span(&tid, &[2; 8], "second", 1_700_000_000_200_000_000)],
    );
    // Concatenated protobuf messages merge: the body is one request of two
    // resource spans, compressed as two gzip members.
    let mut body = gzip(&first.encode_to_vec());
    body.extend(gzip(&second.encode_to_vec()));
    let a = post(&server, "/v1/traces", Some(PROTOBUF), Some("gzip"), body).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let d: TraceDetail = get_json(&server, &format!("/api/traces/{}", TraceId(tid))).await;
    let mut names: Vec<_> = d.spans.iter().map(|s| s.span.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(stats(&server).await.spans.items, 2);
}

/// Regression: tonic answered an undecodable gRPC body with INTERNAL (13),
/// which OTLP clients may retry forever; OTLP asks for INVALID_ARGUMENT.
#[tokio::test]
async fn grpc_garbage_body_is_invalid_argument() {
    let server = Sightline::start();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let garbage = b"\xff\xfe this is not protobuf \x00\x01\x02";
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(garbage.len() as u32).to_be_bytes());
    frame.extend_from_slice(garbage);
    let resp = client
        .post(format!(
            "http://{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            server.otlp_grpc_addr
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(frame)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "gRPC errors travel in grpc-status");
    assert_eq!(
        resp.headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok()),
        Some("3")
    );
}

async fn preflight(server: &Sightline, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/traces", server.otlp_http_url),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_closed_by_default_and_opens_for_configured_origins() {
    let closed = Sightline::start();
    let resp = preflight(&closed, "http://app.example").await;
    assert!(
        resp.headers().get("access-control-allow-origin").is_none(),
        "CORS open by default"
    );

    let open = Sightline::start_with(sightline_tests::Options {
        data_dir: None,
        args: vec![
            "--cors-allowed-origins".into(),
            "http://app.example,http://other.example".into(),
        ],
        ..Default::default()
    });
    let resp = preflight(&open, "http://app.example").await;
    assert!(
        resp.status().is_success(),
        "preflight status {}",
        resp.status()
    );
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://app.example"
    );
    let methods = resp.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let refused = preflight(&open, "http://evil.example").await;
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "an unlisted origin was allowed"
    );
}
