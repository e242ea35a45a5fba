//! Ingestion through real OpenTelemetry SDK exporters: each client of
//! `tests/clients/` sends known traces, logs and metrics to a fresh server
//! and writes a manifest of what it sent; the query API must give all of it
//! back, field by field. The golden requests in `tests/data/otlp/` (captured
//! from the same exporters) are replayed the same way.
//!
//! No waiting: an export is acknowledged only after its data is committed,
//! so everything is readable as soon as the client has exited.

use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use shared::SpanId;
use shared::api::TraceDetail;
use sightline_tests::clients::{self, Client};
use sightline_tests::manifest::{self, Engine, Manifest, Report};
use sightline_tests::{Sightline, workspace_root};

async fn round_trip(client: Client, service: &str) {
    let server = Sightline::start();
    let m = clients::run(client, &server, service).await;
    assert_eq!(m.service, service);
    assert_eq!(
        m.protocol,
        client.transport(),
        "{client:?} reports its protocol"
    );
    assert!(
        m.span_count() > 0 && !m.logs.is_empty() && m.series_count() > 0,
        "{client:?} sent nothing: {m:?}"
    );
    let checks = manifest::check_stored(&server, &m, client.transport(), Engine::Sqlite).await;
    eprintln!("{}: {checks} checks passed", m.client);
}

#[tokio::test]
async fn python_sdk_over_grpc_stores_every_field() {
    round_trip(Client::PythonGrpc, "py-grpc").await;
}

#[tokio::test]
async fn python_sdk_over_http_protobuf_gzip_stores_every_field() {
    round_trip(Client::PythonHttpProtobuf, "py-http").await;
}

#[tokio::test]
async fn node_sdk_over_http_json_stores_every_field() {
    round_trip(Client::NodeHttpJson, "node-json").await;
}

/// Span flags as sent in a golden trace request, by span id.
fn golden_span_flags(dir: &Path) -> Vec<(SpanId, u32)> {
    if let Ok(bytes) = std::fs::read(dir.join("traces.pb")) {
        let req =
            ExportTraceServiceRequest::decode(bytes.as_slice()).expect("golden traces.pb decodes");
        return req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| {
                (
                    SpanId::from_bytes(&s.span_id).expect("8-byte span id"),
                    s.flags,
                )
            })
            .collect();
    }
    let text = std::fs::read_to_string(dir.join("traces.json")).expect("golden traces.json");
    let req: serde_json::Value = serde_json::from_str(&text).expect("golden traces.json parses");
    let mut out = Vec::new();
    for rs in req["resourceSpans"].as_array().expect("resourceSpans") {
        for ss in rs["scopeSpans"].as_array().expect("scopeSpans") {
            for s in ss["spans"].as_array().expect("spans") {
                let id = s["spanId"]
                    .as_str()
                    .expect("spanId")
                    .parse()
                    .expect("hex span id");
                let flags = s["flags"]
                    .as_u64()
                    .map_or(0, |f| u32::try_from(f).expect("32-bit flags"));
                out.push((id, flags));
            }
        }
    }
    out
}

/// POSTs each golden body of `dir` as the exporter did, then checks the
/// stored result against the manifest captured with it.
async fn replay(dir: &str, ext: &str, content_type: &str, transport: &str) {
    let dir = workspace_root().join("tests/data/otlp").join(dir);
    let m = Manifest::read(&dir.join("manifest.json"));
    let server = Sightline::start();
    let http = reqwest::Client::new();
    for signal in ["traces", "logs", "metrics"] {
        let path = dir.join(format!("{signal}.{ext}"));
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let resp = http
            .post(format!("{}/v1/{signal}", server.otlp_http_url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", path.display());
        assert_eq!(resp.headers()["content-type"], content_type);
        let answer = resp.bytes().await.unwrap();
        // A full success: no partialSuccess in the answer.
        if ext == "json" {
            assert_eq!(&answer[..], b"{}", "{}", path.display());
        } else {
            assert!(answer.is_empty(), "{}: {answer:?}", path.display());
        }
    }
    manifest::check_stored(&server, &m, transport, Engine::Sqlite).await;

    // Span flags are not in the manifest (an SDK does not expose how its
    // exporter encodes them); the golden body says what was sent.
    let mut r = Report::default();
    let flags = golden_span_flags(&dir);
    r.eq("golden span count", &flags.len(), &m.span_count());
    for t in &m.traces {
        let d: TraceDetail =
            manifest::get_json(&server, &format!("/api/traces/{}", t.trace_id)).await;
        for rec in &d.spans {
            match flags.iter().find(|(id, _)| *id == rec.span.span_id) {
                Some((_, f)) => r.eq(
                    format!("span {} flags", rec.span.span_id),
                    &rec.span.flags,
                    f,
                ),
                None => r.fail(format!(
                    "span {} is not in the golden body",
                    rec.span.span_id
                )),
            }
        }
    }
    r.finish(&format!("golden {}", dir.display()));
}

#[tokio::test]
async fn golden_node_json_requests_replay_to_the_manifest() {
    replay("node-http-json", "json", "application/json", "http/json").await;
}

#[tokio::test]
async fn golden_python_protobuf_requests_replay_to_the_manifest() {
    replay(
        "python-http-protobuf",
        "pb",
        "application/x-protobuf",
        "http/protobuf",
    )
    .await;
}
