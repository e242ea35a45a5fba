//! Immutable compressed blocks of spans and logs: the byte-level codec they
//! share, their signal numbers and sizes, and their rows.

pub mod bloom;
pub mod codec;
pub mod logs;
pub mod spans;

use rusqlite::{Transaction, params};

use crate::store::StoreError;

/// Signal number of span blocks in `blocks.signal`.
pub const SIGNAL_SPANS: i64 = 1;
/// Signal number of log blocks in `blocks.signal`.
pub const SIGNAL_LOGS: i64 = 2;

/// Items per compacted block.
pub const TARGET_ITEMS: i64 = 16_384;
/// Most items in a block written by ingest: under the size compaction
/// picks up, so every ingest block (fast zstd, dictionary in arrival order)
/// is rewritten at archive effort, however big the commit that wrote it.
pub const MAX_INGEST_BLOCK_ITEMS: usize = (TARGET_ITEMS / 2 - 1) as usize;

/// Stores a block: its row in `blocks` (what the index needs to know
/// without opening it) and its bytes in `block_data`. Returns its id.
pub fn insert(
    tx: &Transaction<'_>,
    signal: i64,
    format: u8,
    items: usize,
    (min_time, max_time): (u64, u64),
    data: Vec<u8>,
) -> Result<i64, StoreError> {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO blocks (signal, format, item_count, min_time, max_time, bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        signal,
        format,
        i64::try_from(items).unwrap_or(i64::MAX),
        clamp(min_time),
        clamp(max_time),
        data.len() as i64
    ])?;
    let block_id = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO block_data (block_id, data) VALUES (?1, ?2)")?
        .execute(params![block_id, data])?;
    Ok(block_id)
}

/// The (min, max) of a block's time column, as its `blocks` row keeps it;
/// (0, 0) for no items.
pub fn time_range(times: impl Iterator<Item = u64>) -> (u64, u64) {
    times
        .fold(None, |r: Option<(u64, u64)>, t| {
            Some(r.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))))
        })
        .unwrap_or((0, 0))
}

/// Stores a block's Bloom filter (see [`bloom`]).
pub fn insert_filter(tx: &Transaction<'_>, block_id: i64, filter: &[u8]) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO block_filters (block_id, filter) VALUES (?1, ?2)")?
        .execute(params![block_id, filter])?;
    Ok(())
}
