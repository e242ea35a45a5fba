//! The read side: read-only connections (queries never wait for the writer)
//! and the reads every signal's queries share: a block's bytes, a trace's
//! summary row, counts of what is stored. Every list has an explicit order.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use shared::api::{SignalStats, TraceSummary};
use shared::{TraceId, UnixNanos};

use super::{connection, strings, varlist};
use crate::store::StoreError;
use crate::store::contract::StoredCounts;

/// A small pool of read-only connections.
pub struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on a pooled connection inside one read transaction, so
    /// everything it reads comes from the same snapshot (a compaction that
    /// commits meanwhile cannot move blocks away between two of its
    /// statements). Blocking: call from a blocking task.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = match self.idle.lock().ok().and_then(|mut v| v.pop()) {
            Some(c) => c,
            None => connection::open_reader(&self.path)?,
        };
        conn.execute_batch("BEGIN")?;
        let result = f(&conn);
        // A connection whose transaction cannot end is not reused.
        if conn.execute_batch("COMMIT").is_ok()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < 8
        {
            idle.push(conn);
        }
        result
    }
}

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub fn block_data(conn: &Connection, block_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT data FROM block_data WHERE block_id = ?1")?
        .query_row(params![block_id], |r| r.get(0))
        .optional()?)
}

/// A trace's summary plus its span and log block lists (varint blobs).
type SummaryRow = (TraceSummary, Vec<u8>, Vec<u8>);

/// Loads the summary row of a trace.
pub fn trace_summary(
    conn: &Connection,
    trace_id: &TraceId,
) -> Result<Option<SummaryRow>, StoreError> {
    let row = conn
        .prepare_cached(concat!(
            "SELECT start_time, start_time + duration, span_count, error_count, root_service_id, root_name_id, root_is_real,
                    services, span_blocks, log_count, log_blocks
             FROM traces WHERE ",
            trace_by_id!()
        ),
        )?
        .query_row(params![trace_id.0.as_slice()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, Vec<u8>>(7)?,
                r.get::<_, Vec<u8>>(8)?,
                r.get::<_, i64>(9)?,
                r.get::<_, Vec<u8>>(10)?,
            ))
        })
        .optional()?;
    let Some((
        start,
        end,
        spans,
        errors,
        root_service,
        root_name,
        root_real,
        services,
        span_blocks,
        logs,
        log_blocks,
    )) = row
    else {
        return Ok(None);
    };
    let services = varlist::decode(&services)
        .into_iter()
        .map(|id| strings::value(conn, id))
        .collect::<Result<Vec<_>, _>>()?;
    let summary = TraceSummary {
        trace_id: *trace_id,
        start_time: UnixNanos(from_i64(start)),
        end_time: UnixNanos(from_i64(end)),
        duration: UnixNanos(from_i64(end).saturating_sub(from_i64(start))),
        root_service: if spans > 0 {
            strings::value(conn, root_service)?
        } else {
            String::new()
        },
        root_name: if spans > 0 {
            strings::value(conn, root_name)?
        } else {
            String::new()
        },
        root_is_real: root_real != 0,
        span_count: from_i64(spans),
        error_count: from_i64(errors),
        services,
        log_count: from_i64(logs),
    };
    Ok(Some((summary, span_blocks, log_blocks)))
}

fn nanos(v: Option<i64>) -> Option<UnixNanos> {
    v.map(|v| UnixNanos(from_i64(v)))
}

fn block_stats(c: &Connection, signal: i64) -> Result<SignalStats, StoreError> {
    Ok(c.query_row(
        "SELECT coalesce(sum(item_count), 0), count(*), coalesce(sum(bytes), 0), min(min_time), max(max_time)
         FROM blocks WHERE signal = ?1",
        [signal],
        |r| {
            Ok(SignalStats {
                items: from_i64(r.get(0)?),
                blocks: from_i64(r.get(1)?),
                stored_bytes: from_i64(r.get(2)?),
                oldest: nanos(r.get(3)?),
                newest: nanos(r.get(4)?),
            })
        },
    )?)
}

/// Counts of what is stored.
pub fn stored_counts(c: &Connection) -> Result<StoredCounts, StoreError> {
    let metric_points = c.query_row(
        "SELECT (SELECT count(*) FROM metric_head) + (SELECT coalesce(sum(point_count), 0) FROM metric_chunks),
                (SELECT count(*) FROM metric_chunks), (SELECT coalesce(sum(length(data)), 0) FROM metric_chunks),
                min((SELECT min(time) FROM metric_head), (SELECT min(min_time) FROM metric_chunks)),
                max((SELECT max(time) FROM metric_head), (SELECT max(max_time) FROM metric_chunks))",
        [],
        |r| {
            Ok(SignalStats {
                items: from_i64(r.get(0)?),
                blocks: from_i64(r.get(1)?),
                stored_bytes: from_i64(r.get(2)?),
                oldest: nanos(r.get(3)?),
                newest: nanos(r.get(4)?),
            })
        },
    )?;
    let traces: i64 = c.query_row(
        "SELECT count(*) FROM traces WHERE span_count > 0",
        [],
        |r| r.get(0),
    )?;
    let series: i64 = c.query_row("SELECT count(*) FROM metric_series", [], |r| r.get(0))?;
    Ok(StoredCounts {
        spans: block_stats(c, super::blocks::SIGNAL_SPANS)?,
        logs: block_stats(c, super::blocks::SIGNAL_LOGS)?,
        metric_points,
        traces: from_i64(traces),
        metric_series: from_i64(series),
    })
}
