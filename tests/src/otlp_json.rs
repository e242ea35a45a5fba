//! Builders of OTLP/JSON request bodies for tests that need exact control
//! over ids, times and values (the SDK-client tests use real exporters
//! instead).

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

fn attributes(attrs: &[(&str, &str)]) -> Vec<Value> {
    attrs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
        .collect()
}

/// A gauge/sum data point: `(time, value)` with string attributes.
pub fn number_point(start: u64, time: u64, value: f64, attrs: &[(&str, &str)]) -> Value {
    json!({
        "attributes": attributes(attrs),
        "startTimeUnixNano": start.to_string(),
        "timeUnixNano": time.to_string(),
        "asDouble": value,
    })
}

/// An explicit-bucket histogram data point.
pub fn histogram_point(
    start: u64,
    time: u64,
    counts: &[u64],
    bounds: &[f64],
    sum: f64,
    min_max: Option<(f64, f64)>,
    attrs: &[(&str, &str)],
) -> Value {
    let mut v = json!({
        "attributes": attributes(attrs),
        "startTimeUnixNano": start.to_string(),
        "timeUnixNano": time.to_string(),
        "count": counts.iter().sum::<u64>().to_string(),
        "sum": sum,
        "bucketCounts": counts.iter().map(u64::to_string).collect::<Vec<_>>(),
        "explicitBounds": bounds,
    });
    if let Some((min, max)) = min_max {
        v["min"] = json!(min);
        v["max"] = json!(max);
    }
    v
}

/// A gauge metric of `points` (from [`number_point`]).
pub fn gauge(name: &str, unit: &str, description: &str, points: Vec<Value>) -> Value {
    json!({"name": name, "unit": unit, "description": description, "gauge": {"dataPoints": points}})
}

/// A sum metric; `cumulative` false means delta temporality.
pub fn sum(
    name: &str,
    unit: &str,
    description: &str,
    cumulative: bool,
    monotonic: bool,
    points: Vec<Value>,
) -> Value {
    json!({"name": name, "unit": unit, "description": description, "sum": {
        "dataPoints": points,
        "aggregationTemporality": if cumulative { 2 } else { 1 },
        "isMonotonic": monotonic,
    }})
}

/// A cumulative histogram metric of `points` (from [`histogram_point`]).
pub fn histogram(name: &str, unit: &str, description: &str, points: Vec<Value>) -> Value {
    json!({"name": name, "unit": unit, "description": description, "histogram": {
        "dataPoints": points,
        "aggregationTemporality": 2,
    }})
}

/// An ExportMetricsServiceRequest with one resource and one scope.
pub fn metrics_request(resource: &[(&str, &str)], metrics: Vec<Value>) -> Value {
    json!({"resourceMetrics": [{
        "resource": {"attributes": attributes(resource)},
        "scopeMetrics": [{"scope": {"name": "sightline-tests", "version": "1"}, "metrics": metrics}]
    }]})
}
