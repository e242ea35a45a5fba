//! Merges runs of small blocks into big ones. Group commit writes whatever
//! arrived together (a few hundred items at low rates), while compression
//! and index size want thousands per block; compaction rewrites small
//! blocks, oldest first, into blocks of about [`TARGET_ITEMS`], and points
//! the trace summaries at the new block. Contents are unchanged.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use shared::TraceId;
use shared::trace::{Resource, Scope};

use super::blocks::codec::Effort;
use super::blocks::logs::{self as log_blocks, LogItem};
use super::blocks::spans::{self as span_blocks, SpanBlockReader, SpanItem};
use super::ingest_logs::{LogIndexer, SIGNAL_LOGS};
use super::ingest_spans::{SIGNAL_SPANS, SpanIndexer};
use super::strings::Interner;
use super::{StoreError, varlist};

/// Items per compacted block.
pub const TARGET_ITEMS: i64 = 16_384;
/// Most items in a block written by ingest: under the size compaction
/// picks up, so every ingest block (fast zstd, dictionary in arrival order)
/// is rewritten at archive effort, however big the commit that wrote it.
pub const MAX_INGEST_BLOCK_ITEMS: usize = (TARGET_ITEMS / 2 - 1) as usize;
/// A run of this many small blocks is merged even if it holds few items.
const MAX_SMALL_BLOCKS: usize = 16;

/// A merge computed off the writer thread, ready to be applied.
pub enum Prepared {
    Spans {
        old: Vec<i64>,
        items: Vec<SpanItem>,
        data: Vec<u8>,
    },
    Logs {
        old: Vec<i64>,
        items: Vec<LogItem>,
        data: Vec<u8>,
    },
}

/// Picks the oldest run of small blocks worth merging. A merged block stays
/// under `max_bytes`: blocks are what retention evicts, so none may be a
/// large share of the size cap.
fn pick_run(conn: &Connection, signal: i64, max_bytes: i64) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, item_count, bytes FROM blocks WHERE signal = ?1 AND item_count < ?2 ORDER BY id LIMIT 256",
    )?;
    let small: Vec<(i64, i64, i64)> = stmt
        .query_map(params![signal, TARGET_ITEMS / 2], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut run = Vec::new();
    let (mut items, mut bytes) = (0i64, 0i64);
    for (id, n, b) in small {
        if (items + n > TARGET_ITEMS || bytes + b > max_bytes) && !run.is_empty() {
            break;
        }
        run.push(id);
        items += n;
        bytes += b;
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

fn block_data(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT data FROM block_data WHERE block_id = ?1")?
        .query_row(params![id], |r| r.get(0))
        .optional()?)
}

/// Decodes and re-encodes the oldest run of small span blocks (read-only:
/// runs beside the writer). `None` when there is nothing to merge.
pub fn prepare_spans(conn: &Connection, max_bytes: i64) -> Result<Option<Prepared>, StoreError> {
    let run = pick_run(conn, SIGNAL_SPANS, max_bytes)?;
    if run.is_empty() {
        return Ok(None);
    }
    let mut resources: Vec<Arc<Resource>> = Vec::new();
    let mut scopes: Vec<Arc<Scope>> = Vec::new();
    let mut items = Vec::new();
    for &id in &run {
        let Some(data) = block_data(conn, id)? else {
            return Ok(None);
        };
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
    span_blocks::sort_for_block(&mut items);
    let data = span_blocks::encode(&items, Effort::Archive)
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(Some(Prepared::Spans {
        old: run,
        items,
        data,
    }))
}

/// Decodes and re-encodes the oldest run of small log blocks.
pub fn prepare_logs(conn: &Connection, max_bytes: i64) -> Result<Option<Prepared>, StoreError> {
    let run = pick_run(conn, SIGNAL_LOGS, max_bytes)?;
    if run.is_empty() {
        return Ok(None);
    }
    let mut resources: Vec<Arc<Resource>> = Vec::new();
    let mut scopes: Vec<Arc<Scope>> = Vec::new();
    let mut items = Vec::new();
    for &id in &run {
        let Some(data) = block_data(conn, id)? else {
            return Ok(None);
        };
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
    log_blocks::sort_for_block(&mut items);
    let data = log_blocks::encode(&items, Effort::Archive)
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(Some(Prepared::Logs {
        old: run,
        items,
        data,
    }))
}

/// Replaces `old` block ids by `new` in one list column of a trace.
fn relink(
    tx: &Transaction<'_>,
    column: &str,
    trace_id: &TraceId,
    old: &[i64],
    new: i64,
) -> Result<(), StoreError> {
    let select = format!("SELECT id, {column} FROM traces WHERE {}", trace_by_id!());
    let row: Option<(i64, Vec<u8>)> = tx
        .prepare_cached(&select)?
        .query_row(params![trace_id.0.as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((row, blob)) = row else {
        return Ok(());
    };
    let ids: Vec<i64> = varlist::decode(&blob)
        .into_iter()
        .filter(|id| !old.contains(id))
        .collect();
    let merged = varlist::merge(&varlist::encode(&ids), [new]);
    let update = format!("UPDATE traces SET {column} = ?2 WHERE id = ?1");
    tx.prepare_cached(&update)?
        .execute(params![row, varlist::encode(&merged)])?;
    Ok(())
}

fn all_exist(tx: &Transaction<'_>, ids: &[i64]) -> Result<bool, StoreError> {
    let mut stmt = tx.prepare_cached("SELECT 1 FROM blocks WHERE id = ?1")?;
    for id in ids {
        if stmt
            .query_row(params![id], |_| Ok(()))
            .optional()?
            .is_none()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Applies a prepared merge in one transaction of the writer; a merge whose
/// blocks changed meanwhile (evicted) is dropped. Returns whether it applied.
pub fn apply(
    conn: &mut Connection,
    interner: &mut Interner,
    spans: &mut SpanIndexer,
    logs: &mut LogIndexer,
    prepared: Prepared,
) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    match prepared {
        Prepared::Spans { old, items, data } => {
            if !all_exist(&tx, &old)? {
                return Ok(false);
            }
            let (new_id, traces) = spans.insert_block(&tx, interner, &items, Some(data))?;
            for trace_id in traces.keys() {
                relink(&tx, "span_blocks", trace_id, &old, new_id)?;
            }
            delete_blocks(&tx, &old)?;
        }
        Prepared::Logs { old, items, data } => {
            if !all_exist(&tx, &old)? {
                return Ok(false);
            }
            let (new_id, traces) = logs.insert_block(&tx, interner, &items, Some(data))?;
            for trace_id in traces.keys() {
                relink(&tx, "log_blocks", trace_id, &old, new_id)?;
            }
            delete_blocks(&tx, &old)?;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::trace::{ResourceSpans, ScopeSpans, Span};
    use shared::{KeyValue, SpanId, UnixNanos};

    /// An empty, migrated database (`t.db` in the returned directory).
    fn fresh_db() -> (tempfile::TempDir, Connection) {
        let tmp = tempfile::tempdir().unwrap();
        let mut conn = crate::store::connection::open_writer(&tmp.path().join("t.db")).unwrap();
        crate::store::migrate::apply(&mut conn).unwrap();
        (tmp, conn)
    }

    /// Items per block of `signal`, oldest first.
    fn block_sizes(conn: &Connection, signal: i64) -> Vec<i64> {
        conn.prepare("SELECT item_count FROM blocks WHERE signal = ?1 ORDER BY id")
            .unwrap()
            .query_map(params![signal], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// 2,000 traces of 10 spans, all in one request.
    fn big_request() -> Vec<ResourceSpans> {
        let mut spans = Vec::new();
        for t in 0..2_000u32 {
            let mut trace = [0u8; 16];
            trace[..4].copy_from_slice(&t.to_be_bytes());
            for s in 0..10u32 {
                let mut id = [0u8; 8];
                id[..4].copy_from_slice(&t.to_be_bytes());
                id[4..].copy_from_slice(&(s + 1).to_be_bytes());
                spans.push(Span {
                    trace_id: TraceId(trace),
                    span_id: SpanId(id),
                    name: format!("op-{s}"),
                    start_time: UnixNanos(1_000_000 + u64::from(t * 10 + s)),
                    end_time: UnixNanos(2_000_000 + u64::from(t * 10 + s)),
                    ..Default::default()
                });
            }
        }
        vec![ResourceSpans {
            resource: Resource {
                attributes: vec![KeyValue::string("service.name", "big")],
                ..Default::default()
            },
            scope_spans: vec![ScopeSpans {
                scope: Scope::default(),
                spans,
            }],
        }]
    }

    #[test]
    fn a_big_commit_is_written_as_blocks_compaction_rewrites() {
        let (tmp, mut conn) = fresh_db();
        let path = tmp.path().join("t.db");
        let mut indexer = SpanIndexer::new(Arc::new(Vec::new()));
        let mut interner = Interner::default();
        let tx = conn.transaction().unwrap();
        let accepted = indexer
            .write(&tx, &mut interner, vec![(0, big_request())])
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(accepted, vec![(0, 20_000)]);

        let sizes = block_sizes(&conn, SIGNAL_SPANS);
        assert_eq!(sizes.iter().sum::<i64>(), 20_000);
        assert!(sizes.len() >= 3, "{sizes:?}");
        assert!(
            sizes.iter().all(|&n| n < TARGET_ITEMS / 2),
            "every ingest block is small enough for compaction: {sizes:?}"
        );
        // Traces cut by a block boundary are summarised whole.
        let counts: Vec<i64> = conn
            .prepare("SELECT DISTINCT span_count FROM traces")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(counts, vec![10]);

        let reader = crate::store::connection::open_reader(&path).unwrap();
        let prepared = prepare_spans(&reader, i64::MAX).unwrap();
        let Some(Prepared::Spans { old, items, .. }) = prepared else {
            panic!("the ingest blocks are not picked for compaction");
        };
        assert!(old.len() >= 2);
        assert_eq!(items.len() as i64, sizes[..old.len()].iter().sum::<i64>());
    }

    #[test]
    fn a_big_log_commit_is_written_as_blocks_compaction_rewrites() {
        use shared::logs::{LogRecord, ResourceLogs, ScopeLogs};
        let (tmp, mut conn) = fresh_db();
        let path = tmp.path().join("t.db");
        let records = (0..20_000u64)
            .map(|i| LogRecord {
                time: UnixNanos(1_000_000 + i),
                body: shared::AnyValue::String(format!("request {i} done")),
                trace_id: Some(TraceId([(i % 7) as u8 + 1; 16])),
                ..Default::default()
            })
            .collect();
        let request = vec![ResourceLogs {
            resource: Resource {
                attributes: vec![KeyValue::string("service.name", "big")],
                ..Default::default()
            },
            scope_logs: vec![ScopeLogs {
                scope: Scope::default(),
                log_records: records,
            }],
        }];
        let mut indexer = LogIndexer::new(Arc::new(Vec::new()));
        let mut interner = Interner::default();
        let tx = conn.transaction().unwrap();
        let accepted = indexer
            .write(&tx, &mut interner, vec![(0, request)])
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(accepted, vec![(0, 20_000)]);

        let sizes = block_sizes(&conn, SIGNAL_LOGS);
        assert_eq!(sizes.iter().sum::<i64>(), 20_000);
        assert!(sizes.iter().all(|&n| n < TARGET_ITEMS / 2), "{sizes:?}");
        // Each trace's log count spans every block it landed in.
        let total: i64 = conn
            .query_row("SELECT sum(log_count) FROM traces", [], |r| r.get(0))
            .unwrap();
        assert_eq!(total, 20_000);

        let reader = crate::store::connection::open_reader(&path).unwrap();
        assert!(matches!(
            prepare_logs(&reader, i64::MAX).unwrap(),
            Some(Prepared::Logs { .. })
        ));
    }
}
