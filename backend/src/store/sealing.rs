//! Seals metric heads into compressed chunks: a series' head is sealed once
//! it holds [`SEAL_POINTS`] points or its oldest point has waited
//! [`SEAL_AGE`], so the uncompressed head stays small and bounded.

use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::StoreError;
use super::ingest_metrics::{MetricIndexer, StoredPoint};
use super::metric_chunks;

/// Points that make a head worth sealing (20 minutes of a 10 s series).
pub const SEAL_POINTS: u32 = 120;
/// Longest a point stays in the head.
pub const SEAL_AGE: Duration = Duration::from_secs(600);

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

/// Seals due heads until `budget` is spent; returns true if some are left.
pub fn seal_due(
    conn: &mut Connection,
    metrics: &mut MetricIndexer,
    budget: Duration,
    force: bool,
) -> Result<bool, StoreError> {
    metrics.load_head(conn)?;
    let started = Instant::now();
    let due: Vec<i64> = metrics
        .head
        .iter()
        .filter(|(_, (n, since))| force || *n >= SEAL_POINTS || since.elapsed() >= SEAL_AGE)
        .map(|(s, _)| *s)
        .collect();
    for (i, series) in due.iter().enumerate() {
        if started.elapsed() >= budget && !force {
            return Ok(i < due.len());
        }
        seal(conn, *series)?;
        metrics.head.remove(series);
    }
    Ok(false)
}

fn seal(conn: &mut Connection, series: i64) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let blobs: Vec<Vec<u8>> = tx
        .prepare_cached("SELECT point FROM metric_head WHERE series_id = ?1 ORDER BY time, seq")?
        .query_map(params![series], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if blobs.is_empty() {
        return Ok(());
    }
    let mut points = Vec::with_capacity(blobs.len());
    for b in &blobs {
        let p: StoredPoint =
            serde_json::from_slice(b).map_err(|e| StoreError::Corrupt(series, e.to_string()))?;
        points.push(p);
    }
    let data = metric_chunks::encode(&points).map_err(|e| StoreError::Encode(e.to_string()))?;
    let min = points.iter().map(|p| p.time().0).min().unwrap_or(0);
    let max = points.iter().map(|p| p.time().0).max().unwrap_or(0);
    tx.prepare_cached(
        "INSERT INTO metric_chunks (series_id, min_time, max_time, point_count, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        series,
        i64::try_from(min).unwrap_or(i64::MAX),
        i64::try_from(max).unwrap_or(i64::MAX),
        points.len() as i64,
        data
    ])?;
    tx.prepare_cached("DELETE FROM metric_head WHERE series_id = ?1")?
        .execute(params![series])?;
    tx.commit()?;
    Ok(())
}
