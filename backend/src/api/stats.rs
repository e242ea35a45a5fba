//! `GET /api/stats`: what is stored, how big it is, what came in.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use shared::api::{IngestCounter, IngestRates, StatsResponse};

use super::{ApiError, ApiState};
use crate::store::sqlite::connection::size_on_disk;

/// Counts per signal, sizes, ingest counters, evictions.
pub async fn stats(State(state): State<ApiState>) -> Result<Json<StatsResponse>, ApiError> {
    let stored = state.read(|s| s.stored()).await?;
    let metric_rollup_bytes = state.read(|s| s.metric_rollup_bytes()).await?;
    let s = &state.inner;
    let counters = &s.counters;
    Ok(Json(StatsResponse {
        spans: stored.spans,
        logs: stored.logs,
        metric_points: stored.metric_points,
        traces: stored.traces,
        metric_series: stored.metric_series,
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
        ingest_rates: {
            let [spans, logs, metric_points] = s.ingestor.stats().rates();
            IngestRates {
                spans,
                logs,
                metric_points,
            }
        },
        metric_rollup_bytes,
    }))
}
