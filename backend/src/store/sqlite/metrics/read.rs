//! Reading metric points back: sealed chunks, then the head.

use rusqlite::{Connection, params};

use super::metric_chunks;
use super::point_codec::StoredPoint;
use super::sealing::series_attributes;
use crate::store::StoreError;

/// Every point of a series in time order (stable for equal times).
pub fn series_points(conn: &Connection, series_id: i64) -> Result<Vec<StoredPoint>, StoreError> {
    let attributes = series_attributes(conn, series_id)?;
    let mut out: Vec<StoredPoint> = Vec::new();
    let chunks: Vec<Vec<u8>> = conn
        .prepare_cached(
            "SELECT data FROM metric_chunks WHERE series_id = ?1 ORDER BY min_time, id",
        )?
        .query_map(params![series_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for c in chunks {
        out.extend(
            metric_chunks::decode(&c, &attributes)
                .map_err(|e| StoreError::Corrupt(series_id, e.to_string()))?,
        );
    }
    let blobs: Vec<Vec<u8>> = conn
        .prepare_cached("SELECT point FROM metric_head WHERE series_id = ?1 ORDER BY time, seq")?
        .query_map(params![series_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for b in blobs {
        let point = super::point_codec::decode_head_row(&b)
            .map_err(|e| StoreError::Corrupt(series_id, e.to_string()))?;
        out.push(metric_chunks::with_attributes(point, &attributes));
    }
    out.sort_by_key(|p| p.time());
    Ok(out)
}
