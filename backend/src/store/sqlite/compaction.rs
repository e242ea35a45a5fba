//! Merges runs of small blocks into big ones. Group commit writes whatever
//! arrived together (a few hundred items at low rates), while compression
//! and index size want thousands per block; compaction rewrites small
//! blocks, oldest first, into blocks of about [`TARGET_ITEMS`], and points
//! the trace summaries at the new block. Contents are unchanged.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rustc_hash::FxHashSet;
use shared::TraceId;
use shared::trace::{Resource, Scope};

use super::blocks::bloom::IndexedKeys;
use super::blocks::codec::Effort;
use super::blocks::logs::{self as log_blocks, LogItem};
use super::blocks::spans::{self as span_blocks, SpanBlockReader, SpanItem};
use super::blocks::time_range;
use super::blocks::{SIGNAL_LOGS, SIGNAL_SPANS, TARGET_ITEMS};
use super::logs::ingest::log_filter;
use super::spans::ingest::span_filter;
use super::varlist;
use crate::store::StoreError;

/// A run of this many small blocks is merged even if it holds few items.
const MAX_SMALL_BLOCKS: usize = 16;

/// A merge computed off the writer thread, ready to be applied: the new
/// block's bytes and filter, and what the writer needs to replace the old
/// blocks by it without looking at a single item.
pub struct Prepared {
    signal: i64,
    format: u8,
    /// The blocks it replaces.
    old: Vec<i64>,
    data: Vec<u8>,
    filter: Vec<u8>,
    items: usize,
    /// Range of the block's time column (span start, log time).
    time_range: (u64, u64),
    /// The traces whose summaries list one of `old`.
    traces: Vec<TraceId>,
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
pub fn prepare_spans(
    conn: &Connection,
    max_bytes: i64,
    indexed: &mut IndexedKeys,
) -> Result<Option<Prepared>, StoreError> {
    let run = pick_run(conn, SIGNAL_SPANS, max_bytes)?;
    if run.is_empty() {
        return Ok(None);
    }
    let mut resources: Vec<Arc<Resource>> = Vec::new();
    let mut scopes: Vec<Arc<Scope>> = Vec::new();
    let mut items = Vec::new();
    let mut strings: FxHashSet<String> = FxHashSet::default();
    for &id in &run {
        let Some(data) = block_data(conn, id)? else {
            return Ok(None);
        };
        let reader =
            SpanBlockReader::open(&data).map_err(|e| StoreError::Corrupt(id, e.to_string()))?;
        for s in reader.strings() {
            if !strings.contains(s) {
                strings.insert(s.to_owned());
            }
        }
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
    let data = span_blocks::encode_archive(&items, strings.iter().map(String::as_str))
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    let mut traces: Vec<TraceId> = items.iter().map(|i| i.span.trace_id).collect();
    traces.dedup();
    Ok(Some(Prepared {
        signal: SIGNAL_SPANS,
        format: span_blocks::FORMAT_VERSION,
        old: run,
        filter: span_filter(indexed, &items),
        items: items.len(),
        time_range: time_range(items.iter().map(|i| i.span.start_time.0)),
        data,
        traces,
    }))
}

/// Decodes and re-encodes the oldest run of small log blocks.
pub fn prepare_logs(
    conn: &Connection,
    max_bytes: i64,
    indexed: &mut IndexedKeys,
) -> Result<Option<Prepared>, StoreError> {
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
    // Sorted by trace: each trace's records are one run.
    let mut traces: Vec<TraceId> = items.iter().filter_map(|i| i.record.trace_id).collect();
    traces.dedup();
    Ok(Some(Prepared {
        signal: SIGNAL_LOGS,
        format: log_blocks::FORMAT_VERSION,
        old: run,
        filter: log_filter(indexed, &items),
        items: items.len(),
        time_range: time_range(items.iter().map(|i| i.record.effective_time().0)),
        data,
        traces,
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
///
/// The writer never looks at the items: the new block's group rows are the
/// old blocks' rows merged in SQL (counts added, ranges widened), which is
/// exactly what grouping the items again would give, and the filter came
/// with the merge.
pub fn apply(conn: &mut Connection, prepared: Prepared) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    if !all_exist(&tx, &prepared.old)? {
        return Ok(false);
    }
    let new_id = super::blocks::insert(
        &tx,
        prepared.signal,
        prepared.format,
        prepared.items,
        prepared.time_range,
        prepared.data,
    )?;
    super::blocks::insert_filter(&tx, new_id, &prepared.filter)?;
    let old_ids =
        serde_json::to_string(&prepared.old).map_err(|e| StoreError::Encode(e.to_string()))?;
    let column = if prepared.signal == SIGNAL_SPANS {
        tx.prepare_cached(
            "INSERT INTO span_groups (block_id, service_id, name_id, kind, span_count, error_count,
               min_start, max_start, min_duration, max_duration)
             SELECT ?1, service_id, name_id, kind, sum(span_count), sum(error_count),
               min(min_start), max(max_start), min(min_duration), max(max_duration)
             FROM span_groups WHERE block_id IN (SELECT value FROM json_each(?2))
             GROUP BY service_id, name_id, kind",
        )?
        .execute(params![new_id, old_ids])?;
        "span_blocks"
    } else {
        tx.prepare_cached(
            "INSERT INTO log_groups (block_id, service_id, severity_number, log_count, min_time, max_time)
             SELECT ?1, service_id, severity_number, sum(log_count), min(min_time), max(max_time)
             FROM log_groups WHERE block_id IN (SELECT value FROM json_each(?2))
             GROUP BY service_id, severity_number",
        )?
        .execute(params![new_id, old_ids])?;
        "log_blocks"
    };
    for trace_id in &prepared.traces {
        relink(&tx, column, trace_id, &prepared.old, new_id)?;
    }
    delete_blocks(&tx, &prepared.old)?;
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
    use crate::store::sqlite::blocks::bloom::{Bloom, Namespace};
    use crate::store::sqlite::logs::ingest::LogIndexer;
    use crate::store::sqlite::reclaim::Reclaimer;
    use crate::store::sqlite::spans::ingest::{IngestBatch, SpanIndexer};
    use crate::store::sqlite::strings::Interner;
    use shared::trace::{ResourceSpans, ScopeSpans, Span};
    use shared::{KeyValue, SpanId, UnixNanos};

    /// Writes [`big_request`] in one commit with `indexed` attribute keys;
    /// returns what the indexer accepted.
    fn write_big_request(conn: &mut Connection, indexed: &[&str]) -> Vec<(usize, u64)> {
        let keys = indexed.iter().map(|k| (*k).to_owned()).collect();
        let mut indexer = SpanIndexer::new(Arc::new(keys));
        let mut interner = Interner::default();
        let tx = conn.transaction().unwrap();
        let accepted = indexer
            .write(
                &tx,
                &mut interner,
                vec![whole(big_request())],
                &Reclaimer::inline(),
            )
            .unwrap();
        tx.commit().unwrap();
        accepted
    }

    /// One request of job 0, its filter left to the writer.
    fn whole<T>(request: Vec<T>) -> IngestBatch<T> {
        IngestBatch {
            job: 0,
            request,
            filter: None,
        }
    }

    /// An empty, migrated database (`t.db` in the returned directory).
    fn fresh_db() -> (tempfile::TempDir, Connection) {
        let tmp = tempfile::tempdir().unwrap();
        let mut conn =
            crate::store::sqlite::connection::open_writer(&tmp.path().join("t.db")).unwrap();
        crate::store::sqlite::migrate::apply(&mut conn).unwrap();
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
                attributes: vec![
                    KeyValue::string("service.name", "big"),
                    KeyValue::string("host.name", "box-1"),
                ],
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
        let accepted = write_big_request(&mut conn, &[]);
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

        let reader = crate::store::sqlite::connection::open_reader(&path).unwrap();
        let prepared = prepare_spans(&reader, i64::MAX, &mut IndexedKeys::new(&[])).unwrap();
        let Some(prepared) = prepared else {
            panic!("the ingest blocks are not picked for compaction");
        };
        assert_eq!(prepared.signal, SIGNAL_SPANS);
        assert!(prepared.old.len() >= 2);
        let merged = sizes[..prepared.old.len()].iter().sum::<i64>();
        assert_eq!(prepared.items as i64, merged);
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
            .write(
                &tx,
                &mut interner,
                vec![whole(request)],
                &Reclaimer::inline(),
            )
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

        let reader = crate::store::sqlite::connection::open_reader(&path).unwrap();
        let prepared = prepare_logs(&reader, i64::MAX, &mut IndexedKeys::new(&[])).unwrap();
        assert!(prepared.is_some_and(|p| p.signal == SIGNAL_LOGS));
    }

    /// Every span group total of live blocks, one text line per (service,
    /// name, kind): spans, errors, start and duration ranges.
    fn group_totals(conn: &Connection) -> Vec<String> {
        conn.prepare(
            "SELECT printf('%d %d %d: %d %d %d-%d %d-%d', service_id, name_id, kind,
               sum(span_count), sum(error_count), min(min_start), max(max_start),
               min(min_duration), max(max_duration))
             FROM span_groups GROUP BY service_id, name_id, kind ORDER BY service_id, name_id, kind",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn a_merge_keeps_groups_filters_and_trace_links() {
        let (tmp, mut conn) = fresh_db();
        let path = tmp.path().join("t.db");
        write_big_request(&mut conn, &["host.name"]);
        let before = group_totals(&conn);
        let blocks_before = block_sizes(&conn, SIGNAL_SPANS).len();

        let reader = crate::store::sqlite::connection::open_reader(&path).unwrap();
        let mut indexed = IndexedKeys::new(&["host.name".to_owned()]);
        let prepared = prepare_spans(&reader, i64::MAX, &mut indexed)
            .unwrap()
            .expect("a run to merge");
        let old = prepared.old.clone();
        assert!(apply(&mut conn, prepared).unwrap());

        // One block fewer per merged block but the new one, the same group
        // totals, and every group row of the new block.
        let sizes = block_sizes(&conn, SIGNAL_SPANS);
        assert_eq!(sizes.len(), blocks_before - old.len() + 1);
        assert_eq!(sizes.iter().sum::<i64>(), 20_000);
        assert_eq!(group_totals(&conn), before);
        let new_id: i64 = conn
            .query_row("SELECT max(id) FROM blocks", [], |r| r.get(0))
            .unwrap();
        let stale: i64 = conn
            .query_row(
                "SELECT count(*) FROM span_groups WHERE block_id IN (SELECT value FROM json_each(?1))",
                params![serde_json::to_string(&old).unwrap()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stale, 0);

        // Trace summaries point at the new block instead of the old ones.
        for (blob,) in conn
            .prepare("SELECT span_blocks FROM traces")
            .unwrap()
            .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?,)))
            .unwrap()
            .map(Result::unwrap)
        {
            let ids = varlist::decode(&blob);
            assert!(ids.iter().all(|id| !old.contains(id)), "{ids:?} {old:?}");
        }
        let linked: i64 = conn
            .query_row("SELECT count(*) FROM traces", [], |r| r.get(0))
            .unwrap();
        assert_eq!(linked, 2_000);

        // The filter came with the merge: span ids, the service and the
        // resource's indexed attribute are in it.
        let filter: Vec<u8> = conn
            .query_row(
                "SELECT filter FROM block_filters WHERE block_id = ?1",
                params![new_id],
                |r| r.get(0),
            )
            .unwrap();
        let bloom = Bloom::parse(&filter).unwrap();
        assert!(bloom.may_contain(Namespace::Service, b"big"));
        assert!(bloom.may_contain(Namespace::Attribute, b"host.name=box-1"));
        let first_span = [0u8, 0, 0, 0, 0, 0, 0, 1];
        assert!(bloom.may_contain(Namespace::SpanId, &first_span));
    }
}
