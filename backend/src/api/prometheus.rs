//! `GET /metrics`: Sightline's own health in the Prometheus/OpenMetrics text
//! format, so the box can be watched by whatever scrapes the rest of the
//! fleet. Counters that already live elsewhere (ingest, retention) are read
//! at scrape time; the two latency histograms are kept here and fed by the
//! writer (batch commits) and by the API middleware (queries).

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use super::ApiState;
use crate::store::sqlite::connection::size_on_disk;

/// The content type of the OpenMetrics text format, which Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of the per-route query latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Labels of the ingest counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngestLabels {
    signal: &'static str,
    transport: &'static str,
}

/// Histogram constructor for [`Family`] (a plain fn, so the family is `Clone`).
fn query_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Query latencies per API route, recorded by [`record_query`].
#[derive(Clone)]
pub struct QueryLatency {
    family: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl Default for QueryLatency {
    fn default() -> Self {
        Self {
            family: Family::new_with_constructor(query_histogram),
        }
    }
}

/// Middleware timing every `/api` request under its route template (never
/// the raw path, which would give one series per trace id).
pub async fn record_query(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let response = next.run(req).await;
    state
        .inner
        .query_latency
        .family
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

fn counter(value: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(value);
    c
}

fn gauge(value: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(value).unwrap_or(i64::MAX));
    g
}

/// Reads one counter out of an ingest cell.
type CellValue = fn(&crate::ingest::CellSnapshot) -> u64;

/// Builds the registry of one scrape.
fn registry(state: &ApiState) -> Registry {
    let s = &state.inner;
    let mut r = Registry::with_prefix("sightline");
    let ingest = s.ingestor.stats().snapshot();
    let families: [(&str, &str, CellValue); 5] = [
        (
            "otlp_items_accepted",
            "Spans, log records and metric points stored",
            |c| c.accepted,
        ),
        (
            "otlp_items_rejected",
            "Items refused inside otherwise good requests (partial success)",
            |c| c.rejected,
        ),
        ("otlp_requests", "OTLP export requests handled", |c| {
            c.requests
        }),
        (
            "otlp_requests_invalid",
            "OTLP requests refused as malformed (400 / INVALID_ARGUMENT)",
            |c| c.invalid_requests,
        ),
        (
            "otlp_requests_unavailable",
            "OTLP requests turned away because the write queue was full (503 / UNAVAILABLE)",
            |c| c.unavailable,
        ),
    ];
    for (name, help, value) in families {
        let family = Family::<IngestLabels, Counter>::default();
        for cell in &ingest {
            family
                .get_or_create(&IngestLabels {
                    signal: cell.signal,
                    transport: cell.transport,
                })
                .inc_by(value(cell));
        }
        r.register(name, help, family);
    }
    r.register(
        "write_queue_items",
        "Items decoded and waiting for the writer",
        gauge(s.ingestor.queued_items()),
    );
    r.register_with_unit(
        "write_batch_duration",
        "Time to write and commit one batch",
        Unit::Seconds,
        s.counters.write_seconds.clone(),
    );
    r.register_with_unit(
        "query_duration",
        "Time to answer an API request, per route",
        Unit::Seconds,
        s.query_latency.family.clone(),
    );
    r.register_with_unit(
        "db_size",
        "Database file plus its write-ahead log",
        Unit::Bytes,
        gauge(size_on_disk(&s.db_path)),
    );
    r.register_with_unit(
        "db_max_size",
        "The --max-db-size cap",
        Unit::Bytes,
        gauge(s.max_db_size),
    );
    let c = &s.counters;
    r.register(
        "evicted_blocks",
        "Blocks removed by retention",
        counter(c.evicted_blocks.load(Ordering::Relaxed)),
    );
    r.register(
        "evicted_items",
        "Spans and log records removed by retention",
        counter(c.evicted_items.load(Ordering::Relaxed)),
    );
    r.register(
        "evicted_points",
        "Metric points removed by retention",
        counter(c.evicted_points.load(Ordering::Relaxed)),
    );
    r.register(
        "cardinality_rejections",
        "Metric points refused because their metric reached --max-series-per-metric",
        counter(c.cardinality_rejections.load(Ordering::Relaxed)),
    );
    r.register_with_unit(
        "uptime",
        "Time since start",
        Unit::Seconds,
        gauge(s.started.elapsed().as_secs()),
    );
    let build = Family::<Vec<(String, String)>, Gauge>::default();
    build
        .get_or_create(&vec![(
            "version".to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        )])
        .set(1);
    r.register("build_info", "The running version", build);
    r
}

/// The scrape handler; a browser navigating to `/metrics` gets the
/// dashboard's metrics page instead.
pub async fn metrics(State(state): State<ApiState>, uri: Uri, headers: HeaderMap) -> Response {
    if crate::ui::wants_html(&headers) {
        return crate::ui::serve(uri, headers).await;
    }
    let mut body = String::new();
    match encode(&mut body, &registry(&state)) {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding /metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
