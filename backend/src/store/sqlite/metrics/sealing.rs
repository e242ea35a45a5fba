//! Seals metric heads into compressed chunks: a series' head is sealed once
//! it holds [`SEAL_POINTS`] points or its oldest point has waited
//! [`SEAL_AGE`], so the uncompressed head stays small and bounded. The
//! chunk is built off the writer thread ([`prepare`]) and applied by it
//! ([`apply`]), deleting exactly the head rows that went into it. The
//! rollup rows of the hours the chunk touches are recomputed alongside and
//! written in the same transaction (`rollups`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::metric_chunks;
use super::point_codec;
use super::rollups::{self, PreparedRollups};
use crate::store::StoreError;

/// Points that make a head worth sealing (40 minutes of a 10 s series):
/// a chunk's fixed costs (codec header, zstd frame, its SQLite row) are
/// shared by this many points, which keeps a regular series under 2 bytes
/// a point.
pub const SEAL_POINTS: u32 = 240;
/// Longest a point stays in the head.
pub const SEAL_AGE: Duration = Duration::from_secs(600);
/// Most points one chunk takes. When ingest outruns sealing the head
/// grows; it is then sealed in runs of this many (oldest arrivals first), so
/// a query never decodes a huge chunk for a short window.
pub const MAX_CHUNK_POINTS: i64 = 480;

/// Per series with points in the head: (how many, since when). Written by
/// the writer, read by the compactor.
pub type HeadCounts = Arc<Mutex<HashMap<i64, (u32, Instant)>>>;

/// A chunk ready to replace head rows of one series.
pub struct PreparedSeal {
    pub series: i64,
    /// Head rows with `seq <= max_seq` went into the chunk.
    pub max_seq: i64,
    pub count: u32,
    pub min_time: u64,
    pub max_time: u64,
    pub data: Vec<u8>,
    /// The rollup rows this chunk changes; `None` when they could not be
    /// computed (the series is then listed for a rollup backfill).
    pub rollups: Option<PreparedRollups>,
}

/// The attributes stored in a series' identity.
pub fn series_attributes(
    conn: &Connection,
    series: i64,
) -> Result<Vec<shared::KeyValue>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Identity {
        attributes: Vec<shared::KeyValue>,
    }
    let blob: Vec<u8> = conn
        .prepare_cached("SELECT identity FROM metric_series WHERE id = ?1")?
        .query_row(params![series], |r| r.get(0))?;
    let ident: Identity =
        serde_json::from_slice(&blob).map_err(|e| StoreError::Corrupt(series, e.to_string()))?;
    Ok(ident.attributes)
}

/// Series whose head is due for sealing.
pub fn due(head: &HeadCounts) -> Vec<i64> {
    head.lock()
        .map(|h| {
            h.iter()
                .filter(|(_, (n, since))| *n >= SEAL_POINTS || since.elapsed() >= SEAL_AGE)
                .map(|(s, _)| *s)
                .collect()
        })
        .unwrap_or_default()
}

/// Builds the chunk of one series' head (read-only).
pub fn prepare(conn: &Connection, series: i64) -> Result<Option<PreparedSeal>, StoreError> {
    // A head longer than a chunk is split into equal chunks, so no small
    // remainder is left behind to wait for the age limit.
    let held: i64 = conn
        .prepare_cached("SELECT count(*) FROM metric_head WHERE series_id = ?1")?
        .query_row(params![series], |r| r.get(0))?;
    let chunks = (held.max(1) + MAX_CHUNK_POINTS - 1) / MAX_CHUNK_POINTS;
    let take = (held + chunks - 1) / chunks.max(1);
    let rows: Vec<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT seq, point FROM metric_head WHERE series_id = ?1 ORDER BY seq LIMIT ?2",
        )?
        .query_map(params![series, take.clamp(1, MAX_CHUNK_POINTS)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut points = Vec::with_capacity(rows.len());
    let mut max_seq = i64::MIN;
    for (seq, b) in &rows {
        max_seq = max_seq.max(*seq);
        let p = point_codec::decode_head_row(b)
            .map_err(|e| StoreError::Corrupt(series, e.to_string()))?;
        points.push(p);
    }
    points.sort_by_key(|p| p.time());
    let data = metric_chunks::encode(&points).map_err(|e| StoreError::Encode(e.to_string()))?;
    let rollups = match rollups::prepare_for_seal(conn, series, &points) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(series, error = %e, "cannot roll up a sealed chunk; the series will be rolled up again whole");
            None
        }
    };
    Ok(Some(PreparedSeal {
        series,
        max_seq,
        count: u32::try_from(points.len()).unwrap_or(u32::MAX),
        min_time: points.iter().map(|p| p.time().0).min().unwrap_or(0),
        max_time: points.iter().map(|p| p.time().0).max().unwrap_or(0),
        data,
        rollups,
    }))
}

/// Writes a prepared chunk and drops the head rows it holds (writer side).
pub fn apply(
    conn: &mut Connection,
    head: &HeadCounts,
    seal: PreparedSeal,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let deleted = tx
        .prepare_cached("DELETE FROM metric_head WHERE series_id = ?1 AND seq <= ?2")?
        .execute(params![seal.series, seal.max_seq])?;
    if deleted as u32 != seal.count {
        // Some of those rows are gone (evicted meanwhile): drop this chunk.
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO metric_chunks (series_id, min_time, max_time, point_count, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        seal.series,
        i64::try_from(seal.min_time).unwrap_or(i64::MAX),
        i64::try_from(seal.max_time).unwrap_or(i64::MAX),
        i64::from(seal.count),
        seal.data
    ])?;
    match &seal.rollups {
        // A chunk the rollups were computed from was evicted meanwhile:
        // drop this seal too; it is prepared again from what is left.
        Some(r) => {
            if !rollups::write(&tx, r)? {
                return Ok(());
            }
        }
        None => rollups::mark_backfill(&tx, seal.series)?,
    }
    tx.commit()?;
    if let Ok(mut h) = head.lock()
        && let Some(entry) = h.get_mut(&seal.series)
    {
        entry.0 = entry.0.saturating_sub(seal.count);
        if entry.0 == 0 {
            h.remove(&seal.series);
        }
    }
    Ok(())
}
