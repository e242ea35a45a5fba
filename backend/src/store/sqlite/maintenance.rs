//! Background upkeep run by the writer between commits: size-capped
//! retention (oldest data evicted first, freed pages handed back to the
//! file system) and write statistics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::logs::ingest::LogIndexer;
use super::metrics::ingest::MetricIndexer;
use super::spans::ingest::SpanIndexer;
use super::strings::Interner;
use crate::store::StoreError;

/// Counters shared with the read side (`/api/stats`).
#[derive(Debug)]
pub struct StoreCounters {
    pub evicted_blocks: AtomicU64,
    pub evicted_items: AtomicU64,
    pub evicted_points: AtomicU64,
    pub cardinality_rejections: AtomicU64,
    /// Commit times of write batches, exported on `/metrics`.
    pub write_seconds: prometheus_client::metrics::histogram::Histogram,
}

impl Default for StoreCounters {
    fn default() -> Self {
        Self {
            evicted_blocks: AtomicU64::default(),
            evicted_items: AtomicU64::default(),
            evicted_points: AtomicU64::default(),
            cardinality_rejections: AtomicU64::default(),
            // 0.25 ms … ~4 s.
            write_seconds: prometheus_client::metrics::histogram::Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 15),
            ),
        }
    }
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
    /// The WAL auto-checkpoint threshold in force, in pages.
    wal_pages: u64,
    last_string_gc: Option<std::time::Instant>,
    counters: Arc<StoreCounters>,
    max_age: MaxAge,
    last_age_check: Option<std::time::Instant>,
}

/// Optional per-signal age limits: data older than this is evicted even
/// when the database is below its size cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxAge {
    pub spans: Option<Duration>,
    pub logs: Option<Duration>,
    pub metrics: Option<Duration>,
}

/// Eviction starts above this share of the cap…
const HIGH_WATERMARK: f64 = 0.97;
/// …and stops below this one, so it runs in bursts, not on every commit.
const LOW_WATERMARK: f64 = 0.93;

impl Maintenance {
    pub fn new(max_db_size: u64, counters: Arc<StoreCounters>) -> Self {
        Self {
            max_db_size,
            wal_pages: 0,
            last_string_gc: None,
            counters,
            max_age: MaxAge::default(),
            last_age_check: None,
        }
    }

    /// Adds per-signal age limits.
    pub fn with_max_age(mut self, max_age: MaxAge) -> Self {
        self.max_age = max_age;
        self
    }

    /// Records a commit's duration.
    pub fn note_write(&self, took: Duration) {
        self.counters.write_seconds.observe(took.as_secs_f64());
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
        self.enforce_age(conn)?;
        self.enforce_size(conn, w.interner)
    }

    fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
        let free: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
        Ok(u64::try_from((pages - free).max(0) * page_size).unwrap_or(0))
    }

    /// Keeps the database file and its WAL within the cap: the WAL is
    /// checkpointed early enough to stay a small share of it, and the oldest
    /// data is evicted when the live pages near the rest. Evicted pages stay
    /// in the file and are reused by the next writes, so under steady ingest
    /// the file sits at its high-water mark just under the cap instead of
    /// shrinking and regrowing. Only a file larger than its share (a lower
    /// cap than before, age limits, a WAL that outgrew its budget) is
    /// shrunk, a bounded step per round: every page the shrinking moves
    /// passes through the WAL. Returns true when a step is left for later.
    fn enforce_size(
        &mut self,
        conn: &mut Connection,
        interner: &mut Interner,
    ) -> Result<bool, StoreError> {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let page = u64::try_from(page_size).unwrap_or(4096).max(512);
        let wal_pages = (self.max_db_size / 20 / page).clamp(64, 1000);
        if self.wal_pages != wal_pages {
            conn.pragma_update(None, "wal_autocheckpoint", wal_pages as i64)?;
            // A checkpoint rewinds the WAL but keeps its file at its
            // high-water mark unless told to shrink it.
            conn.pragma_update(None, "journal_size_limit", (wal_pages * page) as i64)?;
            self.wal_pages = wal_pages;
        }
        let wal_budget = wal_pages * page;
        let file_limit = self.max_db_size.saturating_sub(wal_budget);
        let on_disk = conn
            .path()
            .map(|p| super::connection::size_on_disk(std::path::Path::new(p)))
            .unwrap_or(0);
        let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
        let file = u64::try_from(pages).unwrap_or(0) * page;
        // A WAL that readers keep from being checkpointed counts against the
        // cap too: what it takes beyond its budget is evicted as well.
        let wal_over = on_disk.saturating_sub(file).saturating_sub(wal_budget);
        let used = Self::used_bytes(conn)?;
        if (used.saturating_add(wal_over) as f64) >= file_limit as f64 * HIGH_WATERMARK {
            let target = ((file_limit as f64 * LOW_WATERMARK) as u64).saturating_sub(wal_over);
            let mut rounds = 0;
            while Self::used_bytes(conn)? > target && rounds < 10_000 {
                rounds += 1;
                if !self.evict_oldest(conn)? {
                    break;
                }
                // Cheap unless the string table is big or due for a pass.
                self.collect_strings(conn, interner, false)?;
            }
            self.collect_strings(conn, interner, false)?;
        }
        if wal_over > 0 {
            // Readers that overlap without a gap keep the WAL from being
            // rewound: wait for the current ones (new readers read the
            // checkpointed file and do not hold it up) and truncate it.
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        let free: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
        let free_pages = u64::try_from(free).unwrap_or(0);
        let free_bytes = free_pages * page;
        // Free pages are the room the next writes take. Only a file past
        // its share, or one that age limits left mostly empty, is shrunk.
        if free_pages > 0 && (file > file_limit || free_bytes > file_limit / 4) {
            let step = free_pages.min(wal_pages / 2).max(1);
            let mut stmt = conn.prepare(&format!("PRAGMA incremental_vacuum({step})"))?;
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
            drop(rows);
            drop(stmt);
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            return Ok(free_pages > step);
        }
        Ok(false)
    }

    /// Deletes interned strings nothing refers to any more. Names are
    /// interned for the index, and a client that puts ids into span names
    /// would otherwise grow the table past any cap. Runs when the table is a
    /// noticeable share of the database, or every few minutes after evictions.
    fn collect_strings(
        &mut self,
        conn: &mut Connection,
        interner: &mut Interner,
        force: bool,
    ) -> Result<(), StoreError> {
        let strings: i64 = conn.query_row("SELECT count(*) FROM strings", [], |r| r.get(0))?;
        let used = Self::used_bytes(conn)?;
        let big = u64::try_from(strings).unwrap_or(0) * 96 > used / 10;
        let due = self
            .last_string_gc
            .is_none_or(|t| t.elapsed() > Duration::from_secs(300));
        if !(force || big || due) {
            return Ok(());
        }
        conn.execute(
            "DELETE FROM strings WHERE id NOT IN (
                SELECT service_id FROM span_groups UNION SELECT name_id FROM span_groups
                UNION SELECT service_id FROM log_groups
                UNION SELECT root_service_id FROM traces UNION SELECT root_name_id FROM traces
                UNION SELECT service_id FROM trace_services UNION SELECT service_id FROM service_minutes
                UNION SELECT name_id FROM metric_series UNION SELECT service_id FROM metric_series)",
            [],
        )?;
        // Cached ids may point at deleted rows now.
        interner.forget();
        self.last_string_gc = Some(std::time::Instant::now());
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
                    "SELECT id, item_count, max_time FROM blocks
                     WHERE id NOT IN (SELECT max(id) FROM blocks GROUP BY signal)
                     ORDER BY max_time, id LIMIT ?1",
                )?
                .query_map(params![(count / 50).max(1)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            evicted_any = !victims.is_empty();
            let max_time = victims.iter().map(|v| v.2).max().unwrap_or(0);
            self.remove_blocks(&tx, &victims)?;
            let points = evict_metrics_before(&tx, max_time)?;
            self.counters
                .evicted_points
                .fetch_add(points, Ordering::Relaxed);
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

impl Maintenance {
    /// Deletes `victims` (id, item count, max time) with what refers to
    /// them: trace summaries' block lists, service minutes older than every
    /// remaining block.
    fn remove_blocks(
        &self,
        tx: &rusqlite::Transaction<'_>,
        victims: &[(i64, i64, i64)],
    ) -> Result<(), StoreError> {
        let ids: Vec<i64> = victims.iter().map(|v| v.0).collect();
        let items: i64 = victims.iter().map(|v| v.1).sum();
        // The traces these blocks hold, read before the blocks go.
        let mut traces = std::collections::HashSet::new();
        for id in &ids {
            let data: Option<(i64, Vec<u8>)> = tx
                .query_row(
                    "SELECT b.signal, d.data FROM blocks b JOIN block_data d ON d.block_id = b.id WHERE b.id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let found = match data {
                Some((1, bytes)) => super::blocks::spans::trace_ids(&bytes),
                Some((_, bytes)) => super::blocks::logs::trace_ids(&bytes),
                None => Ok(Vec::new()),
            };
            match found {
                Ok(t) => traces.extend(t),
                Err(e) => {
                    tracing::warn!(block = id, error = %e, "evicting a block whose trace ids cannot be read")
                }
            }
        }
        let mut del = tx.prepare_cached("DELETE FROM blocks WHERE id = ?1")?;
        for id in &ids {
            del.execute(params![id])?;
        }
        drop(del);
        unlink_traces(tx, &ids, &traces)?;
        let oldest: Option<i64> =
            tx.query_row("SELECT min(min_time) FROM blocks", [], |r| r.get(0))?;
        if let Some(oldest) = oldest {
            super::spans::service_minutes::forget_before(tx, u64::try_from(oldest).unwrap_or(0))?;
        }
        self.counters
            .evicted_blocks
            .fetch_add(ids.len() as u64, Ordering::Relaxed);
        self.counters
            .evicted_items
            .fetch_add(u64::try_from(items).unwrap_or(0), Ordering::Relaxed);
        Ok(())
    }

    /// Evicts data older than the per-signal maximum ages, at most every
    /// ten seconds.
    fn enforce_age(&mut self, conn: &mut Connection) -> Result<(), StoreError> {
        if self.max_age == MaxAge::default()
            || self
                .last_age_check
                .is_some_and(|t| t.elapsed() < Duration::from_secs(10))
        {
            return Ok(());
        }
        self.last_age_check = Some(std::time::Instant::now());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let cutoff = |age: Duration| i64::try_from(now.saturating_sub(age.as_nanos())).unwrap_or(0);
        let tx = conn.transaction()?;
        for (signal, age) in [
            (super::blocks::SIGNAL_SPANS, self.max_age.spans),
            (super::blocks::SIGNAL_LOGS, self.max_age.logs),
        ] {
            let Some(age) = age else { continue };
            let victims: Vec<(i64, i64, i64)> = tx
                .prepare_cached(
                    "SELECT id, item_count, max_time FROM blocks WHERE signal = ?1 AND max_time < ?2",
                )?
                .query_map(params![signal, cutoff(age)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            if !victims.is_empty() {
                self.remove_blocks(&tx, &victims)?;
            }
        }
        if let Some(age) = self.max_age.metrics {
            let points = evict_metrics_before(&tx, cutoff(age))?;
            self.counters
                .evicted_points
                .fetch_add(points, Ordering::Relaxed);
        }
        tx.commit()?;
        Ok(())
    }
}

/// Drops evicted block ids from the summaries of the traces they held; a
/// summary left without any block is deleted with its trace→service rows.
fn unlink_traces(
    tx: &rusqlite::Transaction<'_>,
    evicted: &[i64],
    traces: &std::collections::HashSet<shared::TraceId>,
) -> Result<(), StoreError> {
    let gone: std::collections::HashSet<i64> = evicted.iter().copied().collect();
    for trace_id in traces {
        type Row = (i64, Vec<u8>, Vec<u8>, Vec<u8>);
        let row: Option<Row> = tx
            .prepare_cached(concat!(
                "SELECT id, span_blocks, log_blocks, services FROM traces WHERE ",
                trace_by_id!()
            ))?
            .query_row(params![trace_id.0.as_slice()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((row, spans, logs, services)) = row else {
            continue;
        };
        let spans: Vec<i64> = super::varlist::decode(&spans)
            .into_iter()
            .filter(|b| !gone.contains(b))
            .collect();
        let logs: Vec<i64> = super::varlist::decode(&logs)
            .into_iter()
            .filter(|b| !gone.contains(b))
            .collect();
        if spans.is_empty() && logs.is_empty() {
            tx.prepare_cached("DELETE FROM traces WHERE id = ?1")?
                .execute(params![row])?;
            let mut del = tx.prepare_cached(
                "DELETE FROM trace_services WHERE service_id = ?1 AND trace_row = ?2",
            )?;
            for service in super::varlist::decode(&services) {
                del.execute(params![service, row])?;
            }
        } else {
            tx.prepare_cached("UPDATE traces SET span_blocks = ?2, log_blocks = ?3 WHERE id = ?1")?
                .execute(params![
                    row,
                    super::varlist::encode(&spans),
                    super::varlist::encode(&logs)
                ])?;
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
    super::metrics::rollups::evict_before(tx, t)?;
    Ok(u64::try_from(chunk_points).unwrap_or(0) + head as u64)
}
