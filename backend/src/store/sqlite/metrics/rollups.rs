//! Metric rollups: 1-minute and 1-hour buckets of every series, kept equal
//! to what its sealed chunks hold.
//!
//! **When.** Rollups are computed when head points are sealed into a chunk:
//! the compactor thread ([`prepare_for_seal`], read-only) recomputes every
//! hour the sealed points fall into from the chunks already there plus the
//! new points, and the writer writes those rows in the transaction that
//! stores the chunk ([`write`]). So the invariant is simple: *the rollup
//! rows of a series summarise exactly its sealed chunks*. Points still in
//! the head are not rolled up yet; queries read them raw (see
//! `metrics::query`). Recomputing an hour replaces its rows, so a late
//! point only makes its hour (and the hour of the point after it, whose
//! increase it changes) be computed again.
//!
//! **Stored form.** One row per series and hour in each of
//! `metric_rollups_1m` (the hour's minute buckets, packed) and
//! `metric_rollups_1h` (the hour bucket, merged from those minutes, which is
//! exact), encoded by `rollup_codec`.
//!
//! **Backfill.** Series sealed before rollups existed are listed in
//! `metric_rollup_backfill`; the compactor rolls each one up whole
//! ([`prepare_backfill`] / [`apply_backfill`]).
//!
//! **Retention.** Rows go in whole hours with the points they summarise
//! ([`evict_before`]).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use shared::metrics::{MetricKind, Temporality};

use super::metric_chunks;
use super::point_codec::StoredPoint;
use super::rollup_codec;
use super::rollup_math::{Differ, Rollup, Semantics};
use crate::store::StoreError;

/// Width of a 1-minute bucket, in nanoseconds.
pub const MINUTE: u64 = 60_000_000_000;
/// Width of a 1-hour bucket (and of one stored row), in nanoseconds.
pub const HOUR: u64 = 3_600_000_000_000;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The rows of one hour of one series.
#[derive(Debug)]
pub struct HourRows {
    pub hour: u64,
    /// The hour's 1-minute buckets.
    pub minutes: Vec<u8>,
    /// The hour's 1-hour bucket.
    pub whole: Vec<u8>,
}

/// Rollup rows ready to be written for one series.
#[derive(Debug)]
pub struct PreparedRollups {
    pub series: i64,
    /// The chunks the rows were computed from: if any is gone when the
    /// rows are written (evicted meanwhile), the rows are stale.
    pub chunks: Vec<i64>,
    pub hours: Vec<HourRows>,
    /// The newest point among those rolled up: (time, head-row form).
    pub tail: Option<(u64, Vec<u8>)>,
}

/// The points of one sealed chunk, with the keys the store reads chunks in.
pub struct ChunkPoints {
    pub min_time: u64,
    pub id: i64,
    pub points: Vec<StoredPoint>,
}

/// Points in the store's read order: chunks by (min time, id) one after
/// another, then `head` (head points), stably sorted by time. Every reader
/// of points uses this order, so points with equal times meet in the same
/// order everywhere (it decides which is "first", "last" and whose
/// increase a reading gets).
pub fn in_read_order(mut chunks: Vec<ChunkPoints>, head: Vec<StoredPoint>) -> Vec<StoredPoint> {
    chunks.sort_by_key(|c| (c.min_time, c.id));
    let mut out: Vec<StoredPoint> =
        Vec::with_capacity(chunks.iter().map(|c| c.points.len()).sum::<usize>() + head.len());
    for c in chunks {
        out.extend(c.points);
    }
    out.extend(head);
    if !out.is_sorted_by_key(StoredPoint::time) {
        out.sort_by_key(StoredPoint::time);
    }
    out
}

/// How a series' points add up.
pub fn semantics(conn: &Connection, series: i64) -> Result<Semantics, StoreError> {
    let (kind, temporality, monotonic): (u8, i32, bool) = conn
        .prepare_cached("SELECT kind, temporality, monotonic FROM metric_series WHERE id = ?1")?
        .query_row(params![series], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let kind = MetricKind::from_code(kind)
        .ok_or_else(|| StoreError::Corrupt(series, "metric kind".into()))?;
    Ok(Semantics::of(
        kind,
        Temporality::from_otlp(temporality),
        monotonic,
    ))
}

fn decode_chunk(id: i64, min_time: u64, data: &[u8]) -> Result<ChunkPoints, StoreError> {
    Ok(ChunkPoints {
        min_time,
        id,
        // Rollups and queries never look at a point's attributes.
        points: metric_chunks::decode(data, &[])
            .map_err(|e| StoreError::Corrupt(id, e.to_string()))?,
    })
}

/// A stored chunk, not decoded yet.
pub struct SealedRow {
    pub id: i64,
    pub min_time: u64,
    pub max_time: u64,
    pub data: Vec<u8>,
}

/// The sealed chunks of `series` that may hold points in `[lo, hi)`, plus
/// the chunk holding the last point before `lo` (its predecessor, which
/// increases need), in read order (min time, id).
pub fn sealed_rows(
    conn: &Connection,
    series: i64,
    lo: u64,
    hi: u64,
) -> Result<Vec<SealedRow>, StoreError> {
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<SealedRow> {
        Ok(SealedRow {
            id: r.get(0)?,
            min_time: from_i64(r.get(1)?),
            max_time: from_i64(r.get(2)?),
            data: r.get(3)?,
        })
    };
    let mut out: Vec<SealedRow> = conn
        .prepare_cached(
            "SELECT id, min_time, max_time, data FROM metric_chunks
             WHERE series_id = ?1 AND max_time >= ?2 AND min_time < ?3",
        )?
        .query_map(params![series, to_i64(lo), to_i64(hi)], row)?
        .collect::<Result<_, _>>()?;
    let pred = conn
        .prepare_cached(
            "SELECT id, min_time, max_time, data FROM metric_chunks
             WHERE series_id = ?1 AND max_time < ?2 ORDER BY max_time DESC, id DESC LIMIT 1",
        )?
        .query_row(params![series, to_i64(lo)], row)
        .optional()?;
    out.extend(pred);
    out.sort_by_key(|c| (c.min_time, c.id));
    Ok(out)
}

/// [`sealed_rows`], decoded.
pub fn load_sealed(
    conn: &Connection,
    series: i64,
    lo: u64,
    hi: u64,
) -> Result<Vec<ChunkPoints>, StoreError> {
    sealed_rows(conn, series, lo, hi)?
        .into_iter()
        .map(|c| decode_chunk(c.id, c.min_time, &c.data))
        .collect()
}

/// Buckets the samples of `points` (in read order) that fall into
/// `[lo, hi)` into rows per hour; earlier points only set the predecessor.
pub fn compute_hours(sem: Semantics, points: &[StoredPoint], lo: u64, hi: u64) -> Vec<HourRows> {
    let sketch = sem.has_reading_percentiles();
    let mut differ = Differ::new(sem);
    // hour → minute slot → bucket
    let mut hours: BTreeMap<u64, BTreeMap<u8, Rollup>> = BTreeMap::new();
    for p in points {
        let t = p.time().0;
        if t >= hi {
            break;
        }
        let Some((time, sample)) = differ.feed(p) else {
            continue;
        };
        if time < lo {
            continue;
        }
        let hour = time / HOUR * HOUR;
        let slot = ((time - hour) / MINUTE) as u8;
        let minutes = hours.entry(hour).or_default();
        match minutes.get_mut(&slot) {
            Some(r) => r.add(time, sample),
            None => {
                minutes.insert(slot, Rollup::from_sample(time, sample, sketch));
            }
        }
    }
    let mut out = Vec::with_capacity(hours.len());
    for (hour, minutes) in hours {
        let mut whole: Option<Rollup> = None;
        for r in minutes.values() {
            Rollup::merge_into(&mut whole, r);
        }
        let Some(whole) = whole else { continue };
        let packed: Vec<(u8, u64, &Rollup)> = minutes
            .iter()
            .map(|(slot, r)| (*slot, hour + u64::from(*slot) * MINUTE, r))
            .collect();
        match (
            rollup_codec::encode_pack(&packed),
            rollup_codec::encode_pack(&[(0, hour, &whole)]),
        ) {
            (Ok(minutes), Ok(whole)) => out.push(HourRows {
                hour,
                minutes,
                whole,
            }),
            (Err(e), _) | (_, Err(e)) => {
                // Only a bug can get here (every bucket of a series has one kind).
                tracing::error!(error = %e, hour, "cannot encode a rollup hour");
            }
        }
    }
    out
}

/// The newest of time-ordered `points`, in head-row form.
fn tail_of(points: &[StoredPoint]) -> Option<(u64, Vec<u8>)> {
    let last = points.last()?;
    match super::point_codec::encode_head_row(last) {
        Ok(row) => Some((last.time().0, row)),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a series' newest point");
            None
        }
    }
}

/// The rollup rows a seal of `new_points` (the series' head, time-sorted)
/// changes: every hour those points fall into, recomputed from the chunks
/// already sealed plus the new points, and the hour of the sealed point
/// that follows them (its increase depends on its predecessor).
pub fn prepare_for_seal(
    conn: &Connection,
    series: i64,
    new_points: &[StoredPoint],
) -> Result<Option<PreparedRollups>, StoreError> {
    let (Some(first), Some(last)) = (
        new_points.iter().map(|p| p.time().0).min(),
        new_points.iter().map(|p| p.time().0).max(),
    ) else {
        return Ok(None);
    };
    let sem = semantics(conn, series)?;
    let lo = first / HOUR * HOUR;
    let mut hi = (last / HOUR * HOUR).saturating_add(HOUR);
    let mut chunks = load_sealed(conn, series, lo, hi)?;
    // A sealed point after the new ones whose predecessor may have changed.
    let in_loaded = chunks
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.time().0))
        .filter(|t| *t >= hi)
        .min();
    let later: Option<i64> = conn
        .prepare_cached(
            "SELECT min(min_time) FROM metric_chunks WHERE series_id = ?1 AND max_time >= ?2 AND min_time >= ?2",
        )?
        .query_row(params![series, to_i64(hi)], |r| r.get(0))?;
    let successor = match (in_loaded, later.map(from_i64)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(t) = successor {
        hi = (t / HOUR * HOUR).saturating_add(HOUR);
        chunks = load_sealed(conn, series, lo, hi)?;
    }
    let ids: Vec<i64> = chunks.iter().map(|c| c.id).collect();
    chunks.push(ChunkPoints {
        min_time: first,
        // The new chunk gets the highest id.
        id: i64::MAX,
        points: new_points.to_vec(),
    });
    let points = in_read_order(chunks, Vec::new());
    Ok(Some(PreparedRollups {
        series,
        chunks: ids,
        hours: compute_hours(sem, &points, lo, hi),
        tail: tail_of(new_points),
    }))
}

/// Writes prepared rows inside the caller's transaction. False (nothing
/// written) when a chunk they were computed from is gone: the caller
/// rolls back and the work is prepared again.
pub fn write(tx: &Transaction<'_>, r: &PreparedRollups) -> Result<bool, StoreError> {
    let mut exists = tx.prepare_cached("SELECT 1 FROM metric_chunks WHERE id = ?1")?;
    for id in &r.chunks {
        if exists
            .query_row(params![id], |_| Ok(()))
            .optional()?
            .is_none()
        {
            return Ok(false);
        }
    }
    let mut minutes = tx.prepare_cached(
        "INSERT OR REPLACE INTO metric_rollups_1m (series_id, hour, data) VALUES (?1, ?2, ?3)",
    )?;
    let mut whole = tx.prepare_cached(
        "INSERT OR REPLACE INTO metric_rollups_1h (series_id, hour, data) VALUES (?1, ?2, ?3)",
    )?;
    for h in &r.hours {
        minutes.execute(params![r.series, to_i64(h.hour), h.minutes])?;
        whole.execute(params![r.series, to_i64(h.hour), h.whole])?;
    }
    if let Some((time, point)) = &r.tail {
        tx.prepare_cached(
            "INSERT INTO metric_sealed_tail (series_id, time, point) VALUES (?1, ?2, ?3)
             ON CONFLICT (series_id) DO UPDATE SET time = excluded.time, point = excluded.point
             WHERE excluded.time >= metric_sealed_tail.time",
        )?
        .execute(params![r.series, to_i64(*time), point])?;
    }
    Ok(true)
}

/// Lists a series whose rollups must be recomputed from all its chunks
/// (queries read it raw meanwhile).
pub fn mark_backfill(tx: &Transaction<'_>, series: i64) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT OR IGNORE INTO metric_rollup_backfill (series_id) VALUES (?1)")?
        .execute(params![series])?;
    Ok(())
}

/// Series waiting for a backfill, lowest id first.
pub fn backfill_due(conn: &Connection, limit: usize) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT series_id FROM metric_rollup_backfill ORDER BY series_id LIMIT ?1")?
        .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            r.get(0)
        })?
        .collect::<Result<_, _>>()?)
}

/// A whole series rolled up.
#[derive(Debug)]
pub struct PreparedBackfill {
    pub rollups: PreparedRollups,
}

/// Rolls up every sealed chunk of `series` (compactor side).
pub fn prepare_backfill(conn: &Connection, series: i64) -> Result<PreparedBackfill, StoreError> {
    let sem = semantics(conn, series)?;
    let chunks = load_sealed(conn, series, 0, u64::MAX)?;
    let ids: Vec<i64> = chunks.iter().map(|c| c.id).collect();
    let points = in_read_order(chunks, Vec::new());
    Ok(PreparedBackfill {
        rollups: PreparedRollups {
            series,
            chunks: ids,
            hours: compute_hours(sem, &points, 0, u64::MAX),
            tail: tail_of(&points),
        },
    })
}

/// Writes a backfill and takes the series off the list (writer side),
/// unless its chunks changed since it was prepared (then it is prepared
/// again in a later round).
pub fn apply_backfill(conn: &mut Connection, b: PreparedBackfill) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let r = &b.rollups;
    let now: i64 = tx
        .prepare_cached("SELECT count(*) FROM metric_chunks WHERE series_id = ?1")?
        .query_row(params![r.series], |row| row.get(0))?;
    if usize::try_from(now).ok() != Some(r.chunks.len()) || !write(&tx, r)? {
        return Ok(());
    }
    tx.prepare_cached("DELETE FROM metric_rollup_backfill WHERE series_id = ?1")?
        .execute(params![r.series])?;
    tx.commit()?;
    Ok(())
}

/// Drops the rollup rows of hours that lie wholly at or before `t` (the
/// newest evicted point time): an hour goes once all its points went. A
/// series' newest sealed point goes when it was evicted.
pub fn evict_before(tx: &Transaction<'_>, t: i64) -> Result<(), StoreError> {
    let last_hour_start = t.saturating_sub(to_i64(HOUR) - 1);
    tx.execute(
        "DELETE FROM metric_rollups_1m WHERE hour <= ?1",
        params![last_hour_start],
    )?;
    tx.execute(
        "DELETE FROM metric_rollups_1h WHERE hour <= ?1",
        params![last_hour_start],
    )?;
    tx.execute(
        "DELETE FROM metric_sealed_tail WHERE time <= ?1",
        params![t],
    )?;
    Ok(())
}

/// Bytes of rollup data stored (for `/api/stats`).
pub fn stored_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT coalesce(sum(length(data)), 0) FROM metric_rollups_1m)
              + (SELECT coalesce(sum(length(data)), 0) FROM metric_rollups_1h)",
        [],
        |r| r.get(0),
    )?;
    Ok(from_i64(n))
}
