//! One trace with every span (the trace view): its summary row, then its
//! spans from the blocks the row lists, each span once, in start order.

use std::collections::HashSet;

use rusqlite::Connection;
use shared::api::{SpanRecord, TraceDetail};
use shared::trace::{Resource, Scope};
use shared::{SpanId, TraceId};

use crate::store::StoreError;
use crate::store::sqlite::blocks::spans as span_blocks;
use crate::store::sqlite::readers::{block_data, trace_summary};
use crate::store::sqlite::varlist;

/// Everything stored about one trace; `None` when unknown or span-less.
pub fn trace_detail(
    conn: &Connection,
    trace_id: &TraceId,
) -> Result<Option<TraceDetail>, StoreError> {
    let Some((summary, span_block_ids, _)) = trace_summary(conn, trace_id)? else {
        return Ok(None);
    };
    if summary.span_count == 0 {
        return Ok(None);
    }
    let mut resources: Vec<Resource> = Vec::new();
    let mut scopes: Vec<Scope> = Vec::new();
    let mut spans: Vec<SpanRecord> = Vec::new();
    let mut seen: HashSet<SpanId> = HashSet::new();
    for block_id in varlist::decode(&span_block_ids) {
        let Some(data) = block_data(conn, block_id)? else {
            continue;
        };
        let reader = span_blocks::SpanBlockReader::open(&data)
            .map_err(|e| StoreError::Corrupt(block_id, e.to_string()))?;
        let block = reader
            .decode_trace(trace_id)
            .map_err(|e| StoreError::Corrupt(block_id, e.to_string()))?;
        for (ri, si, span) in block.spans {
            if !seen.insert(span.span_id) {
                continue;
            }
            let (Some(res), Some(sc)) = (
                block.resources.get(ri as usize),
                block.scopes.get(si as usize),
            ) else {
                continue;
            };
            let service = res.service_name().to_owned();
            spans.push(SpanRecord {
                resource: intern(&mut resources, res.clone()),
                scope: intern(&mut scopes, sc.clone()),
                service,
                span,
            });
        }
    }
    spans.sort_by(|a, b| {
        (a.span.start_time, a.span.span_id).cmp(&(b.span.start_time, b.span.span_id))
    });
    Ok(Some(TraceDetail {
        summary,
        resources,
        scopes,
        spans,
    }))
}

/// Adds `v` to `table` unless an equal one is there; returns its index.
fn intern<T: PartialEq>(table: &mut Vec<T>, v: T) -> u32 {
    if let Some(i) = table.iter().position(|x| *x == v) {
        return i as u32;
    }
    table.push(v);
    (table.len() - 1) as u32
}
