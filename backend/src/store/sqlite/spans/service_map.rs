//! `GET /api/service-map`: calls between services, from parent/child span
//! pairs that cross a service boundary. Computed at query time from the
//! span heads (ids, parent, kind, timing, service) of the window's blocks,
//! newest first, up to a budget of spans so the answer stays fast on a big
//! store; the response says whether the whole window was covered.

use std::collections::HashMap;

use rusqlite::Connection;
use shared::api::{ServiceMapEdge, ServiceMapNode, ServiceMapResponse};
use shared::query::Bounds;
use shared::trace::{SpanKind, StatusCode};
use shared::{SpanId, TraceId, UnixNanos};

use crate::store::StoreError;
use crate::store::duration_hist::DurationHistogram;
use crate::store::sqlite::blocks::SIGNAL_SPANS;
use crate::store::sqlite::blocks::spans::SpanBlockReader;
use crate::store::sqlite::readers::block_data;

/// Most spans one map reads.
pub const SPAN_BUDGET: usize = 500_000;

/// Name of the node standing for callers outside the stored data.
pub const EXTERNAL: &str = "external";

struct SpanFacts {
    service: u32,
    parent: Option<SpanId>,
    kind: SpanKind,
    duration: u64,
    is_error: bool,
}

#[derive(Default)]
struct EdgeAgg {
    calls: u64,
    errors: u64,
    durations: DurationHistogram,
}

/// The map of calls over `bounds`.
pub fn service_map(conn: &Connection, bounds: Bounds) -> Result<ServiceMapResponse, StoreError> {
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let blocks: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM blocks WHERE signal = ?1 AND max_time >= ?2 AND min_time <= ?3
             ORDER BY max_time DESC, id DESC",
        )?
        .query_map(
            rusqlite::params![SIGNAL_SPANS, to_i64(bounds.from), to_i64(bounds.to)],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut services: Vec<String> = Vec::new();
    let mut spans: HashMap<(TraceId, SpanId), SpanFacts> = HashMap::new();
    let mut complete = true;
    for block_id in blocks {
        if spans.len() >= SPAN_BUDGET {
            complete = false;
            break;
        }
        let Some(data) = block_data(conn, block_id)? else {
            continue;
        };
        let corrupt = |e: crate::store::sqlite::blocks::codec::CodecError| {
            StoreError::Corrupt(block_id, e.to_string())
        };
        let reader = SpanBlockReader::open(&data).map_err(corrupt)?;
        let service_ids: Vec<u32> = reader
            .resources()
            .map_err(corrupt)?
            .iter()
            .map(|r| {
                let name = r.service_name();
                match services.iter().position(|s| s == name) {
                    Some(i) => i as u32,
                    None => {
                        services.push(name.to_owned());
                        (services.len() - 1) as u32
                    }
                }
            })
            .collect();
        for h in reader.heads_unnamed().map_err(corrupt)? {
            if !bounds.contains(h.start) {
                continue;
            }
            let Some(&service) = service_ids.get(h.resource as usize) else {
                continue;
            };
            spans.insert(
                (h.trace_id, h.span_id),
                SpanFacts {
                    service,
                    parent: h.parent_span_id,
                    kind: h.kind,
                    duration: h.end.saturating_sub(h.start),
                    is_error: h.status == StatusCode::Error,
                },
            );
        }
    }
    let external = services.len() as u32;
    let mut nodes: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut edges: HashMap<(u32, u32), EdgeAgg> = HashMap::new();
    for ((trace, _), s) in &spans {
        let n = nodes.entry(s.service).or_default();
        n.0 += 1;
        n.1 += u64::from(s.is_error);
        let caller = match s.parent {
            Some(p) => match spans.get(&(*trace, p)) {
                Some(parent) if parent.service != s.service => Some(parent.service),
                Some(_) => None,
                None if matches!(s.kind, SpanKind::Server | SpanKind::Consumer) => Some(external),
                None => None,
            },
            None => None,
        };
        if let Some(caller) = caller {
            let e = edges.entry((caller, s.service)).or_default();
            e.calls += 1;
            e.errors += u64::from(s.is_error);
            e.durations.record(s.duration);
        }
    }
    let name = |i: u32| {
        services
            .get(i as usize)
            .cloned()
            .unwrap_or_else(|| EXTERNAL.to_owned())
    };
    let mut node_list: Vec<ServiceMapNode> = nodes
        .into_iter()
        .map(|(i, (count, errors))| ServiceMapNode {
            name: name(i),
            external: false,
            span_count: count,
            error_count: errors,
        })
        .collect();
    if edges.keys().any(|(c, _)| *c == external) {
        node_list.push(ServiceMapNode {
            name: EXTERNAL.to_owned(),
            external: true,
            span_count: 0,
            error_count: 0,
        });
    }
    node_list.sort_by(|a, b| (a.external, &a.name).cmp(&(b.external, &b.name)));
    let mut edge_list: Vec<ServiceMapEdge> = edges
        .into_iter()
        .map(|((c, d), e)| ServiceMapEdge {
            caller: name(c),
            callee: name(d),
            call_count: e.calls,
            error_count: e.errors,
            p95: UnixNanos(e.durations.quantile(0.95).unwrap_or(0)),
        })
        .collect();
    edge_list.sort_by(|a, b| (&a.caller, &a.callee).cmp(&(&b.caller, &b.callee)));
    Ok(ServiceMapResponse {
        nodes: node_list,
        edges: edge_list,
        spans_examined: spans.len() as u64,
        complete,
    })
}
