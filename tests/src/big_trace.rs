//! One very large trace for the trace view's scale tests and benchmark: `n`
//! spans from 12 services, a few attributes each, shaped like a batch job
//! (a root fanning out to workers, each with chains and fan-outs of its own),
//! sent over OTLP/HTTP JSON in requests the server accepts.
//!
//! Span `i` (0-based) has id [`span_id`]`(i)`; spans are listed depth-first,
//! so row `i` of the waterfall with nothing collapsed is span `i`.

use serde_json::{Value, json};

const SERVICES: [&str; 12] = [
    "frontend",
    "cart",
    "checkout",
    "payment",
    "shipping",
    "email",
    "currency",
    "ads",
    "recommendation",
    "catalog",
    "quote",
    "fraud",
];

const NAMES: [&str; 6] = [
    "GET /api/cart",
    "SELECT products",
    "render",
    "POST /charge",
    "publish order",
    "resize image",
];

/// Spans per OTLP request (~4 MB of JSON, under the 16 MiB default limit).
const PER_REQUEST: usize = 10_000;

/// The id of span `i` (16 hex digits; never all zero).
pub fn span_id(i: usize) -> String {
    format!("{:016x}", i as u64 + 1)
}

/// One span of the trace: its parent index, nesting depth and times.
struct Planned {
    parent: Option<usize>,
    depth: usize,
    start: u64,
    end: u64,
}

/// The tree: depth-first order, each span inside its parent. Workers of
/// 50 spans hang off the root; inside a worker a span has up to 3 children.
fn plan(n: usize, t0: u64) -> Vec<Planned> {
    let mut spans: Vec<Planned> = Vec::with_capacity(n);
    if n == 0 {
        return spans;
    }
    let total = 60_000_000_000u64; // a minute
    spans.push(Planned {
        parent: None,
        depth: 0,
        start: t0,
        end: t0 + total,
    });
    let workers = (n - 1).div_ceil(50).max(1) as u64;
    let mut i = 1;
    let mut w = 0u64;
    while i < n {
        // A worker's window inside the root.
        let start = t0 + total * w / workers;
        let end = (t0 + total * (w + 1) / workers).max(start + 1000);
        spans.push(Planned {
            parent: Some(0),
            depth: 1,
            start,
            end,
        });
        let worker = i;
        i += 1;
        // Up to 49 descendants: depth-first, each level in the first half of
        // its parent's window.
        let mut stack: Vec<usize> = vec![worker];
        let mut in_worker = 1;
        while in_worker < 50 && i < n {
            let Some(&p) = stack.last() else { break };
            let (ps, pe, pd) = (spans[p].start, spans[p].end, spans[p].depth);
            let kids = spans
                .iter()
                .skip(p + 1)
                .filter(|s| s.parent == Some(p))
                .count();
            if kids >= 3 || pd >= 8 {
                stack.pop();
                continue;
            }
            let len = (pe - ps) / 4;
            let start = ps + len * kids as u64;
            spans.push(Planned {
                parent: Some(p),
                depth: pd + 1,
                start,
                end: start + len.max(1),
            });
            stack.push(i);
            i += 1;
            in_worker += 1;
        }
        w += 1;
    }
    spans
}

fn span_json(trace_id: &str, i: usize, p: &Planned) -> Value {
    let mut v = json!({
        "traceId": trace_id,
        "spanId": span_id(i),
        "name": NAMES[i % NAMES.len()],
        "kind": if p.depth.is_multiple_of(2) { 2 } else { 3 },
        "startTimeUnixNano": p.start.to_string(),
        "endTimeUnixNano": p.end.to_string(),
        "attributes": [
            {"key": "job.item", "value": {"intValue": i.to_string()}},
            {"key": "http.route", "value": {"stringValue": "/api/items/{id}"}},
            {"key": "db.statement", "value": {"stringValue": format!("SELECT * FROM items WHERE id = {i}")}},
        ],
        "status": {"code": if i % 97 == 13 { 2 } else { 0 }},
    });
    if let Some(parent) = p.parent {
        v["parentSpanId"] = json!(span_id(parent));
    }
    v
}

/// The OTLP/JSON requests of a trace of `n` spans starting at `t0` (Unix ns).
pub fn requests(trace_id: &str, n: usize, t0: u64) -> Vec<Value> {
    let planned = plan(n, t0);
    let mut out = Vec::new();
    for (chunk_no, chunk) in planned.chunks(PER_REQUEST).enumerate() {
        let base = chunk_no * PER_REQUEST;
        // One resource per service; a span's service follows its worker.
        let mut by_service: Vec<Vec<Value>> = vec![Vec::new(); SERVICES.len()];
        for (k, p) in chunk.iter().enumerate() {
            let i = base + k;
            let svc = if i == 0 {
                0
            } else {
                (i / 50 + p.depth) % SERVICES.len()
            };
            by_service[svc].push(span_json(trace_id, i, p));
        }
        let resource_spans: Vec<Value> = by_service
            .into_iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(svc, spans)| {
                json!({
                    "resource": {"attributes": [
                        {"key": "service.name", "value": {"stringValue": SERVICES[svc]}},
                        {"key": "service.version", "value": {"stringValue": "2.1.0"}},
                    ]},
                    "scopeSpans": [{"scope": {"name": "big-trace"}, "spans": spans}],
                })
            })
            .collect();
        out.push(json!({ "resourceSpans": resource_spans }));
    }
    out
}

/// Sends a trace of `n` spans to the OTLP/HTTP receiver at `otlp_http_url`.
pub async fn send(
    client: &reqwest::Client,
    otlp_http_url: &str,
    trace_id: &str,
    n: usize,
    t0: u64,
) {
    for body in requests(trace_id, n, t0) {
        let r = client
            .post(format!("{otlp_http_url}/v1/traces"))
            .json(&body)
            .send()
            .await
            .expect("send a part of the big trace");
        assert!(
            r.status().is_success(),
            "big trace part refused: {}",
            r.status()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_a_depth_first_tree_inside_its_root() {
        let t0 = 1_000_000_000;
        let p = plan(1001, t0);
        assert_eq!(p.len(), 1001);
        assert!(p[0].parent.is_none());
        for (i, s) in p.iter().enumerate().skip(1) {
            let parent = s.parent.expect("only the root has no parent");
            assert!(parent < i, "parents come first (depth-first order)");
            assert_eq!(s.depth, p[parent].depth + 1);
            assert!(s.start >= p[parent].start && s.end <= p[parent].end.max(s.start + 1));
        }
        assert!(p.iter().map(|s| s.depth).max().unwrap() >= 5);
        let reqs = requests("0102030405060708090a0b0c0d0e0f10", 25_000, t0);
        assert_eq!(reqs.len(), 3);
    }
}
