//! `GET /api/stats`: what is stored, how big it is, what came in.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use rusqlite::Connection;
use shared::UnixNanos;
use shared::api::{IngestCounter, SignalStats, StatsResponse};

use super::{ApiError, ApiState};
use crate::store::StoreError;
use crate::store::connection::size_on_disk;

fn signal_stats(c: &Connection, signal: i64) -> Result<SignalStats, StoreError> {
    Ok(c.query_row(
        "SELECT coalesce(sum(item_count), 0), count(*), coalesce(sum(bytes), 0), min(min_time), max(max_time)
         FROM blocks WHERE signal = ?1",
        [signal],
        |r| {
            Ok(SignalStats {
                items: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                blocks: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                stored_bytes: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                oldest: r.get::<_, Option<i64>>(3)?.map(|v| UnixNanos(u64::try_from(v).unwrap_or(0))),
                newest: r.get::<_, Option<i64>>(4)?.map(|v| UnixNanos(u64::try_from(v).unwrap_or(0))),
            })
        },
    )?)
}

/// Counts per signal, sizes, ingest counters, evictions.
pub async fn stats(State(state): State<ApiState>) -> Result<Json<StatsResponse>, ApiError> {
    let (spans, logs, points, traces, series) = state
        .query(|c| {
            let points = c.query_row(
                "SELECT (SELECT count(*) FROM metric_head) + (SELECT coalesce(sum(point_count), 0) FROM metric_chunks),
                        (SELECT min(time) FROM metric_head), (SELECT max(time) FROM metric_head)",
                [],
                |r| {
                    Ok(SignalStats {
                        items: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        blocks: 0,
                        stored_bytes: 0,
                        oldest: r.get::<_, Option<i64>>(1)?.map(|v| UnixNanos(u64::try_from(v).unwrap_or(0))),
                        newest: r.get::<_, Option<i64>>(2)?.map(|v| UnixNanos(u64::try_from(v).unwrap_or(0))),
                    })
                },
            )?;
            let traces: i64 = c.query_row("SELECT count(*) FROM traces WHERE span_count > 0", [], |r| r.get(0))?;
            let series: i64 = c.query_row("SELECT count(*) FROM metric_series", [], |r| r.get(0))?;
            Ok((signal_stats(c, 1)?, signal_stats(c, 2)?, points, traces, series))
        })
        .await?;
    let s = &state.inner;
    let counters = &s.counters;
    Ok(Json(StatsResponse {
        spans,
        logs,
        metric_points: points,
        traces: u64::try_from(traces).unwrap_or(0),
        metric_series: u64::try_from(series).unwrap_or(0),
        db_size_bytes: size_on_disk(&s.db_path),
        max_db_size_bytes: s.max_db_size,
        queued_items: s.ingestor.queued_items(),
        ingest: s
            .ingestor
            .stats()
            .snapshot()
            .into_iter()
            .map(|c| IngestCounter {
                signal: c.signal.to_owned(),
                transport: c.transport.to_owned(),
                accepted: c.accepted,
                rejected: c.rejected,
                requests: c.requests,
                invalid_requests: c.invalid_requests,
                unavailable: c.unavailable,
            })
            .collect(),
        evicted_blocks: counters.evicted_blocks.load(Ordering::Relaxed),
        evicted_items: counters.evicted_items.load(Ordering::Relaxed),
        evicted_points: counters.evicted_points.load(Ordering::Relaxed),
        cardinality_rejections: counters.cardinality_rejections.load(Ordering::Relaxed),
        uptime_seconds: s.started.elapsed().as_secs(),
    }))
}
