//! Builders of OTLP/JSON request bodies for tests that need exact control
//! over ids and times (the SDK-client tests use real exporters instead).

use serde_json::{Value, json};

/// A span for [`traces_request`].
pub struct TestSpan<'a> {
    pub trace_id: &'a str,
    pub span_id: &'a str,
    pub parent: Option<&'a str>,
    pub name: &'a str,
    pub start: u64,
    pub end: u64,
    pub error: bool,
}

/// An ExportTraceServiceRequest with one resource (`service`) and `spans`.
pub fn traces_request(service: &str, spans: &[TestSpan<'_>]) -> Value {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut v = json!({
                "traceId": s.trace_id,
                "spanId": s.span_id,
                "name": s.name,
                "kind": 2,
                "startTimeUnixNano": s.start.to_string(),
                "endTimeUnixNano": s.end.to_string(),
                "attributes": [{"key": "test.filler", "value": {"stringValue": format!("{}-{}", s.name, s.span_id)}}],
                "status": {"code": if s.error { 2 } else { 0 }}
            });
            if let Some(p) = s.parent {
                v["parentSpanId"] = json!(p);
            }
            v
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "sightline-tests"}, "spans": spans}]
    }]})
}

/// Deterministic pseudo-random hex id of `bytes` bytes from a seed.
pub fn hex_id(seed: u64, bytes: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{:02x}", (x & 0xff) as u8));
    }
    out
}
