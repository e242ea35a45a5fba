//! Reading metric points back: sealed chunks first, then the head.

use rusqlite::{Connection, params};

use super::StoreError;
use super::ingest_metrics::StoredPoint;

/// Every point of a series in time order (stable for equal times).
pub fn series_points(conn: &Connection, series_id: i64) -> Result<Vec<StoredPoint>, StoreError> {
    let mut out: Vec<StoredPoint> = Vec::new();
    let mut stmt = conn
        .prepare_cached("SELECT point FROM metric_head WHERE series_id = ?1 ORDER BY time, seq")?;
    let blobs: Vec<Vec<u8>> = stmt
        .query_map(params![series_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for b in blobs {
        out.push(
            serde_json::from_slice(&b)
                .map_err(|e| StoreError::Corrupt(series_id, e.to_string()))?,
        );
    }
    out.sort_by_key(|p| p.time());
    Ok(out)
}
