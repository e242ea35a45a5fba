//! The read side: read-only connections (queries never wait for the writer)
//! and the queries the API needs. Every list has an explicit order.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use shared::api::{
    RawSeries, RawSeriesResponse, SignalStats, SpanRecord, TraceDetail, TraceSummary,
};
use shared::metrics::{MetricData, MetricKind, Temporality};
use shared::trace::{Resource, Scope};
use shared::{KeyValue, SpanId, TraceId, UnixNanos};

use super::blocks::spans as span_blocks;
use super::metrics::point_codec::StoredPoint;
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

/// Adds `v` to `table` unless an equal one is there; returns its index.
fn intern<T: PartialEq>(table: &mut Vec<T>, v: T) -> u32 {
    if let Some(i) = table.iter().position(|x| *x == v) {
        return i as u32;
    }
    table.push(v);
    (table.len() - 1) as u32
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

/// Everything stored about one trace; `None` when unknown or span-less.
pub fn trace_detail(
    conn: &Connection,
    trace_id: &TraceId,
) -> Result<Option<TraceDetail>, StoreError> {
    let Some((summary, span_block_ids, _)) = trace_summary(conn, trace_id)? else {
        return Ok(None);
    };
    if summary.span_count == 0 {
        return Ok(None);
    }
    let mut resources: Vec<Resource> = Vec::new();
    let mut scopes: Vec<Scope> = Vec::new();
    let mut spans: Vec<SpanRecord> = Vec::new();
    let mut seen: HashSet<SpanId> = HashSet::new();
    for block_id in varlist::decode(&span_block_ids) {
        let Some(data) = block_data(conn, block_id)? else {
            continue;
        };
        let reader = span_blocks::SpanBlockReader::open(&data)
            .map_err(|e| StoreError::Corrupt(block_id, e.to_string()))?;
        let block = reader
            .decode_trace(trace_id)
            .map_err(|e| StoreError::Corrupt(block_id, e.to_string()))?;
        for (ri, si, span) in block.spans {
            if !seen.insert(span.span_id) {
                continue;
            }
            let (Some(res), Some(sc)) = (
                block.resources.get(ri as usize),
                block.scopes.get(si as usize),
            ) else {
                continue;
            };
            let service = res.service_name().to_owned();
            spans.push(SpanRecord {
                resource: intern(&mut resources, res.clone()),
                scope: intern(&mut scopes, sc.clone()),
                service,
                span,
            });
        }
    }
    spans.sort_by(|a, b| {
        (a.span.start_time, a.span.span_id).cmp(&(b.span.start_time, b.span.span_id))
    });
    Ok(Some(TraceDetail {
        summary,
        resources,
        scopes,
        spans,
    }))
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

#[derive(serde::Deserialize)]
struct Identity {
    resource: Vec<KeyValue>,
    scope_name: String,
    scope_version: String,
    attributes: Vec<KeyValue>,
}

/// Every series of metric `name` with its raw points in time order.
pub fn raw_series(conn: &Connection, name: &str) -> Result<Option<RawSeriesResponse>, StoreError> {
    let Some(name_id) = strings::lookup(conn, name)? else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, unit, description, temporality, monotonic, service_id, identity
         FROM metric_series WHERE name_id = ?1 ORDER BY id",
    )?;
    type SeriesRow = (i64, u8, String, String, i32, bool, i64, Vec<u8>);
    let rows: Vec<SeriesRow> = stmt
        .query_map(params![name_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut series = Vec::with_capacity(rows.len());
    for (id, kind, unit, description, temporality, monotonic, service_id, identity) in rows {
        let kind = MetricKind::from_code(kind)
            .ok_or_else(|| StoreError::Corrupt(id, "metric kind".into()))?;
        let ident: Identity = serde_json::from_slice(&identity)
            .map_err(|e| StoreError::Corrupt(id, e.to_string()))?;
        let points = super::metrics::read::series_points(conn, id)?;
        let temporality = Temporality::from_otlp(temporality);
        let data = assemble(kind, temporality, monotonic, points);
        series.push(RawSeries {
            name: name.to_owned(),
            description,
            unit,
            kind,
            temporality,
            is_monotonic: monotonic,
            service: strings::value(conn, service_id)?,
            resource: ident.resource,
            scope_name: ident.scope_name,
            scope_version: ident.scope_version,
            attributes: ident.attributes,
            data,
        });
    }
    Ok(Some(RawSeriesResponse { series }))
}

fn assemble(
    kind: MetricKind,
    temporality: Temporality,
    is_monotonic: bool,
    points: Vec<StoredPoint>,
) -> MetricData {
    let points = points.into_iter();
    match kind {
        MetricKind::Gauge => MetricData::Gauge {
            points: points.filter_map(StoredPoint::into_number).collect(),
        },
        MetricKind::Sum => MetricData::Sum {
            points: points.filter_map(StoredPoint::into_number).collect(),
            temporality,
            is_monotonic,
        },
        MetricKind::Histogram => MetricData::Histogram {
            points: points.filter_map(StoredPoint::into_histogram).collect(),
            temporality,
        },
        MetricKind::ExponentialHistogram => MetricData::ExponentialHistogram {
            points: points.filter_map(StoredPoint::into_exp_histogram).collect(),
            temporality,
        },
        MetricKind::Summary => MetricData::Summary {
            points: points.filter_map(StoredPoint::into_summary).collect(),
        },
    }
}
