//! Background upkeep run by the writer between commits: size-capped
//! retention (oldest data evicted first, freed pages handed back to the
//! file system) and write statistics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, params};

use super::StoreError;
use super::ingest_logs::LogIndexer;
use super::ingest_metrics::MetricIndexer;
use super::ingest_spans::SpanIndexer;
use super::strings::Interner;

/// Counters shared with the read side (`/api/stats`).
#[derive(Default, Debug)]
pub struct StoreCounters {
    pub evicted_blocks: AtomicU64,
    pub evicted_items: AtomicU64,
    pub evicted_points: AtomicU64,
    pub cardinality_rejections: AtomicU64,
    pub commits: AtomicU64,
    pub commit_nanos_total: AtomicU64,
}

/// The writer's indexers, lent to maintenance.
pub struct Indexers<'a> {
    pub interner: &'a mut Interner,
    pub spans: &'a mut SpanIndexer,
    pub logs: &'a mut LogIndexer,
    pub metrics: &'a mut MetricIndexer,
}

/// Retention and statistics, owned by the writer thread.
pub struct Maintenance {
    max_db_size: u64,
    counters: Arc<StoreCounters>,
}

/// Eviction starts above this share of the cap…
const HIGH_WATERMARK: f64 = 0.97;
/// …and stops below this one, so it runs in bursts, not on every commit.
const LOW_WATERMARK: f64 = 0.90;

impl Maintenance {
    pub fn new(max_db_size: u64, counters: Arc<StoreCounters>) -> Self {
        Self {
            max_db_size,
            counters,
        }
    }

    /// Records a commit's duration.
    pub fn note_write(&self, took: Duration) {
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        self.counters.commit_nanos_total.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// One round of upkeep; returns true when work is left over (the
    /// writer then comes back sooner).
    pub fn run(&mut self, conn: &mut Connection, w: Indexers<'_>) -> Result<bool, StoreError> {
        self.counters
            .cardinality_rejections
            .store(w.metrics.cardinality_rejections, Ordering::Relaxed);
        if let Err(e) = w.metrics.load_head(conn) {
            tracing::error!(error = %e, "cannot read the metric head");
        }
        self.enforce_size(conn)?;
        Ok(false)
    }

    fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
        let free: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
        Ok(u64::try_from((pages - free).max(0) * page_size).unwrap_or(0))
    }

    fn enforce_size(&mut self, conn: &mut Connection) -> Result<(), StoreError> {
        let cap = self.max_db_size as f64;
        if (Self::used_bytes(conn)? as f64) < cap * HIGH_WATERMARK {
            return Ok(());
        }
        let target = (cap * LOW_WATERMARK) as u64;
        let mut rounds = 0;
        while Self::used_bytes(conn)? > target && rounds < 10_000 {
            rounds += 1;
            if !self.evict_oldest(conn)? {
                break;
            }
        }
        // Hand the freed pages back so the file itself shrinks.
        conn.execute_batch("PRAGMA incremental_vacuum")?;
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(())
    }

    /// Evicts the oldest ~2 % of blocks (by data time) and metric data as
    /// old; false when nothing is left to evict.
    fn evict_oldest(&mut self, conn: &mut Connection) -> Result<bool, StoreError> {
        let tx = conn.transaction()?;
        let count: i64 = tx.query_row("SELECT count(*) FROM blocks", [], |r| r.get(0))?;
        let mut evicted_any = false;
        if count > 0 {
            let victims: Vec<(i64, i64, i64)> = tx
                .prepare(
                    "SELECT id, item_count, max_time FROM blocks ORDER BY max_time, id LIMIT ?1",
                )?
                .query_map(params![(count / 50).max(1)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            let ids: Vec<i64> = victims.iter().map(|v| v.0).collect();
            let items: i64 = victims.iter().map(|v| v.1).sum();
            let max_time = victims.iter().map(|v| v.2).max().unwrap_or(0);
            let mut del = tx.prepare_cached("DELETE FROM blocks WHERE id = ?1")?;
            for id in &ids {
                del.execute(params![id])?;
            }
            drop(del);
            unlink_traces(&tx, &ids)?;
            let points = evict_metrics_before(&tx, max_time)?;
            self.counters
                .evicted_points
                .fetch_add(points, Ordering::Relaxed);
            self.counters
                .evicted_blocks
                .fetch_add(ids.len() as u64, Ordering::Relaxed);
            self.counters
                .evicted_items
                .fetch_add(u64::try_from(items).unwrap_or(0), Ordering::Relaxed);
            evicted_any = !ids.is_empty();
        } else {
            // Only metrics left: drop the oldest hour of them.
            let oldest_metric: Option<i64> = tx.query_row(
                "SELECT min(t) FROM (SELECT min(min_time) AS t FROM metric_chunks UNION ALL SELECT min(time) FROM metric_head)",
                [],
                |r| r.get(0),
            )?;
            if let Some(t) = oldest_metric {
                let points = evict_metrics_before(&tx, t.saturating_add(3_600_000_000_000))?;
                self.counters
                    .evicted_points
                    .fetch_add(points, Ordering::Relaxed);
                evicted_any = points > 0;
            }
        }
        tx.commit()?;
        Ok(evicted_any)
    }
}

/// Drops evicted block ids from the trace summaries whose newest block was
/// evicted; a summary left without any block is deleted with its
/// trace→service rows.
fn unlink_traces(tx: &rusqlite::Transaction<'_>, evicted: &[i64]) -> Result<(), StoreError> {
    let gone: std::collections::HashSet<i64> = evicted.iter().copied().collect();
    let mut select = tx.prepare_cached(
        "SELECT id, span_blocks, log_blocks, start_time, services FROM traces WHERE max_block = ?1",
    )?;
    let mut rows = Vec::new();
    for id in evicted {
        type Row = (i64, Vec<u8>, Vec<u8>, i64, Vec<u8>);
        let found: Vec<Row> = select
            .query_map(params![id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        rows.extend(found);
    }
    drop(select);
    for (row, spans, logs, start, services) in rows {
        let spans: Vec<i64> = super::varlist::decode(&spans)
            .into_iter()
            .filter(|b| !gone.contains(b))
            .collect();
        let logs: Vec<i64> = super::varlist::decode(&logs)
            .into_iter()
            .filter(|b| !gone.contains(b))
            .collect();
        match spans.iter().chain(&logs).max() {
            None => {
                tx.prepare_cached("DELETE FROM traces WHERE id = ?1")?
                    .execute(params![row])?;
                let mut del = tx.prepare_cached(
                    "DELETE FROM trace_services WHERE service_id = ?1 AND start_time = ?2 AND trace_row = ?3",
                )?;
                for service in super::varlist::decode(&services) {
                    del.execute(params![service, start, row])?;
                }
            }
            Some(&newest) => {
                tx.prepare_cached("UPDATE traces SET span_blocks = ?2, log_blocks = ?3, max_block = ?4 WHERE id = ?1")?
                    .execute(params![
                        row,
                        super::varlist::encode(&spans),
                        super::varlist::encode(&logs),
                        newest
                    ])?;
            }
        }
    }
    Ok(())
}

fn evict_metrics_before(tx: &rusqlite::Transaction<'_>, t: i64) -> Result<u64, StoreError> {
    let chunk_points: i64 = tx.query_row(
        "SELECT coalesce(sum(point_count), 0) FROM metric_chunks WHERE max_time <= ?1",
        params![t],
        |r| r.get(0),
    )?;
    tx.execute("DELETE FROM metric_chunks WHERE max_time <= ?1", params![t])?;
    let head = tx.execute("DELETE FROM metric_head WHERE time <= ?1", params![t])?;
    Ok(u64::try_from(chunk_points).unwrap_or(0) + head as u64)
}
