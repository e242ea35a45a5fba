//! Merges runs of small blocks into big ones. Group commit writes whatever
//! arrived together (a few hundred items at low rates), while compression
//! and index size want thousands per block; compaction rewrites small
//! blocks, oldest first, into blocks of about [`TARGET_ITEMS`], and points
//! the trace summaries at the new block. Contents are unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, Transaction, params};
use shared::TraceId;
use shared::trace::{Resource, Scope};

use super::blocks::logs::{self as log_blocks, LogItem};
use super::blocks::spans::{SpanBlockReader, SpanItem};
use super::ingest_logs::{LogIndexer, SIGNAL_LOGS};
use super::ingest_spans::{SIGNAL_SPANS, SpanIndexer};
use super::strings::Interner;
use super::{StoreError, varlist};

/// Items per compacted block.
pub const TARGET_ITEMS: i64 = 8192;
/// A run of this many small blocks is merged even if it holds few items.
const MAX_SMALL_BLOCKS: usize = 16;

/// Picks the oldest run of small blocks worth merging.
fn pick_run(tx: &Transaction<'_>, signal: i64) -> Result<Vec<i64>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, item_count FROM blocks WHERE signal = ?1 AND item_count < ?2 ORDER BY id LIMIT 256",
    )?;
    let small: Vec<(i64, i64)> = stmt
        .query_map(params![signal, TARGET_ITEMS / 2], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut run = Vec::new();
    let mut items = 0i64;
    for (id, n) in small {
        if items + n > TARGET_ITEMS && !run.is_empty() {
            break;
        }
        run.push(id);
        items += n;
    }
    if run.len() >= 2 && (items >= TARGET_ITEMS / 2 || run.len() >= MAX_SMALL_BLOCKS) {
        Ok(run)
    } else {
        Ok(Vec::new())
    }
}

fn intern<T: PartialEq>(table: &mut Vec<Arc<T>>, v: T) -> Arc<T> {
    if let Some(x) = table.iter().find(|x| ***x == v) {
        return x.clone();
    }
    let a = Arc::new(v);
    table.push(a.clone());
    a
}

fn block_data(tx: &Transaction<'_>, id: i64) -> Result<Vec<u8>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT data FROM block_data WHERE block_id = ?1")?
        .query_row(params![id], |r| r.get(0))?)
}

/// Replaces `old` block ids by `new` in one list column of a trace.
fn relink(
    tx: &Transaction<'_>,
    column: &str,
    trace_id: &TraceId,
    old: &[i64],
    new: i64,
) -> Result<(), StoreError> {
    let select = format!("SELECT id, {column} FROM traces WHERE trace_id = ?1");
    let row: Option<(i64, Vec<u8>)> = tx
        .prepare_cached(&select)?
        .query_row(params![trace_id.0.as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .ok();
    let Some((row, blob)) = row else {
        return Ok(());
    };
    let ids: Vec<i64> = varlist::decode(&blob)
        .into_iter()
        .filter(|id| !old.contains(id))
        .collect();
    let merged = varlist::merge(&varlist::encode(&ids), [new]);
    let update =
        format!("UPDATE traces SET {column} = ?2, max_block = max(max_block, ?3) WHERE id = ?1");
    tx.prepare_cached(&update)?
        .execute(params![row, varlist::encode(&merged), new])?;
    Ok(())
}

/// Merges one run of small span blocks; false when there was none.
pub fn compact_spans(
    conn: &mut Connection,
    interner: &mut Interner,
    spans: &mut SpanIndexer,
) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    let run = pick_run(&tx, SIGNAL_SPANS)?;
    if run.is_empty() {
        return Ok(false);
    }
    let mut resources: Vec<Arc<Resource>> = Vec::new();
    let mut scopes: Vec<Arc<Scope>> = Vec::new();
    let mut items = Vec::new();
    for &id in &run {
        let data = block_data(&tx, id)?;
        let reader =
            SpanBlockReader::open(&data).map_err(|e| StoreError::Corrupt(id, e.to_string()))?;
        let block = reader
            .decode(|_, _| true)
            .map_err(|e| StoreError::Corrupt(id, e.to_string()))?;
        let res: Vec<Arc<Resource>> = block
            .resources
            .into_iter()
            .map(|r| intern(&mut resources, r))
            .collect();
        let sc: Vec<Arc<Scope>> = block
            .scopes
            .into_iter()
            .map(|s| intern(&mut scopes, s))
            .collect();
        for (ri, si, span) in block.spans {
            let (Some(r), Some(s)) = (res.get(ri as usize), sc.get(si as usize)) else {
                return Err(StoreError::Corrupt(id, "resource or scope index".into()));
            };
            items.push(SpanItem {
                resource: r.clone(),
                scope: s.clone(),
                span,
            });
        }
    }
    let (new_id, traces) = spans.insert_block(&tx, interner, &mut items)?;
    for trace_id in traces.keys() {
        relink(&tx, "span_blocks", trace_id, &run, new_id)?;
    }
    delete_blocks(&tx, &run)?;
    tx.commit()?;
    Ok(true)
}

/// Merges one run of small log blocks; false when there was none.
pub fn compact_logs(
    conn: &mut Connection,
    interner: &mut Interner,
    logs: &mut LogIndexer,
) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    let run = pick_run(&tx, SIGNAL_LOGS)?;
    if run.is_empty() {
        return Ok(false);
    }
    let mut resources: Vec<Arc<Resource>> = Vec::new();
    let mut scopes: Vec<Arc<Scope>> = Vec::new();
    let mut items = Vec::new();
    for &id in &run {
        let data = block_data(&tx, id)?;
        let block = log_blocks::decode(&data, |_| true)
            .map_err(|e| StoreError::Corrupt(id, e.to_string()))?;
        let res: Vec<Arc<Resource>> = block
            .resources
            .into_iter()
            .map(|r| intern(&mut resources, r))
            .collect();
        let sc: Vec<Arc<Scope>> = block
            .scopes
            .into_iter()
            .map(|s| intern(&mut scopes, s))
            .collect();
        for (ri, si, record) in block.records {
            let (Some(r), Some(s)) = (res.get(ri as usize), sc.get(si as usize)) else {
                return Err(StoreError::Corrupt(id, "resource or scope index".into()));
            };
            items.push(LogItem {
                resource: r.clone(),
                scope: s.clone(),
                record,
            });
        }
    }
    let (new_id, traces): (i64, HashMap<TraceId, _>) =
        logs.insert_block(&tx, interner, &mut items)?;
    for trace_id in traces.keys() {
        relink(&tx, "log_blocks", trace_id, &run, new_id)?;
    }
    delete_blocks(&tx, &run)?;
    tx.commit()?;
    Ok(true)
}

fn delete_blocks(tx: &Transaction<'_>, ids: &[i64]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached("DELETE FROM blocks WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id])?;
    }
    Ok(())
}
