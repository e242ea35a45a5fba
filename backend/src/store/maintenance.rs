//! Background upkeep run by the writer between commits: size-capped
//! retention (oldest data evicted first, freed pages handed back to the
//! file system) and write statistics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::ingest_metrics::MetricIndexer;
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

    /// One round of upkeep.
    pub fn run(
        &mut self,
        conn: &mut Connection,
        _interner: &mut Interner,
        metrics: &mut MetricIndexer,
    ) -> Result<(), StoreError> {
        self.counters
            .cardinality_rejections
            .store(metrics.cardinality_rejections, Ordering::Relaxed);
        self.enforce_size(conn)
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

    /// Evicts the oldest batch of blocks (and metric data as old); false when
    /// nothing is left to evict.
    fn evict_oldest(&mut self, conn: &mut Connection) -> Result<bool, StoreError> {
        let tx = conn.transaction()?;
        let oldest: Option<(i64, i64)> = tx
            .query_row("SELECT min(id), count(*) FROM blocks", [], |r| {
                Ok(r.get::<_, Option<i64>>(0)?
                    .map(|id| (id, r.get::<_, i64>(1).unwrap_or(0))))
            })
            .optional()?
            .flatten();
        let mut evicted_any = false;
        if let Some((min_id, count)) = oldest {
            // Evict ~2 % of the blocks at a time (at least one).
            let upto = min_id + (count / 50).max(1) - 1;
            let (items, max_time): (i64, Option<i64>) = tx.query_row(
                "SELECT coalesce(sum(item_count), 0), max(max_time) FROM blocks WHERE id <= ?1",
                params![upto],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let n = tx.execute("DELETE FROM blocks WHERE id <= ?1", params![upto])?;
            tx.execute("DELETE FROM traces WHERE max_block <= ?1", params![upto])?;
            if let Some(t) = max_time {
                tx.execute(
                    "DELETE FROM trace_services WHERE start_time <= ?1 AND trace_row NOT IN (SELECT id FROM traces)",
                    params![t],
                )?;
                let points = evict_metrics_before(&tx, t)?;
                self.counters
                    .evicted_points
                    .fetch_add(points, Ordering::Relaxed);
            }
            self.counters
                .evicted_blocks
                .fetch_add(n as u64, Ordering::Relaxed);
            self.counters
                .evicted_items
                .fetch_add(u64::try_from(items).unwrap_or(0), Ordering::Relaxed);
            evicted_any = n > 0;
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
