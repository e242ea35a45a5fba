//! The service catalog's numbers (rate, errors, duration percentiles, log
//! counts, last seen) aggregated per service and minute as items are first
//! stored, so `/api/services` reads a few rows per service whatever the
//! window, and sparklines come for free.

use std::collections::HashMap;

use rusqlite::{Connection, Transaction, params};
use shared::UnixNanos;
use shared::api::{ServiceStats, ServicesResponse};
use shared::query::Bounds;
use shared::trace::SpanKind;

use crate::store::StoreError;
use crate::store::duration_hist::DurationHistogram;
use crate::store::sqlite::strings;

const MINUTE: u64 = 60_000_000_000;

/// What a row counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i64)]
enum Class {
    Spans = 0,
    Requests = 1,
    RootSpans = 2,
    Logs = 3,
}

impl Class {
    fn from_code(c: i64) -> Option<Self> {
        match c {
            0 => Some(Self::Spans),
            1 => Some(Self::Requests),
            2 => Some(Self::RootSpans),
            3 => Some(Self::Logs),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Cell {
    count: i64,
    errors: i64,
    last: u64,
    durations: DurationHistogram,
}

/// Aggregates one write's spans and logs before they are added to the table.
#[derive(Default)]
pub struct ServiceMinutes {
    cells: HashMap<(i64, i64, Class), Cell>,
}

fn minute_of(t: u64) -> i64 {
    i64::try_from(t / MINUTE).unwrap_or(i64::MAX)
}

impl ServiceMinutes {
    fn cell(&mut self, service: i64, time: u64, class: Class) -> &mut Cell {
        self.cells
            .entry((service, minute_of(time), class))
            .or_default()
    }

    /// Counts a span of `service`.
    pub fn add_span(
        &mut self,
        service: i64,
        start: u64,
        end: u64,
        kind: SpanKind,
        is_root: bool,
        is_error: bool,
    ) {
        let dur = end.saturating_sub(start);
        let c = self.cell(service, start, Class::Spans);
        c.count += 1;
        c.errors += i64::from(is_error);
        c.last = c.last.max(end.max(start));
        let class = match kind {
            SpanKind::Server | SpanKind::Consumer => Class::Requests,
            _ if is_root => Class::RootSpans,
            _ => return,
        };
        let c = self.cell(service, start, class);
        c.count += 1;
        c.errors += i64::from(is_error);
        c.last = c.last.max(end.max(start));
        c.durations.record(dur);
    }

    /// Counts a log record of `service`.
    pub fn add_log(&mut self, service: i64, time: u64, is_error: bool) {
        let c = self.cell(service, time, Class::Logs);
        c.count += 1;
        c.errors += i64::from(is_error);
        c.last = c.last.max(time);
    }

    /// Adds the aggregated cells to the table.
    pub fn flush(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let mut read = tx.prepare_cached(
            "SELECT durations FROM service_minutes WHERE service_id = ?1 AND minute = ?2 AND class = ?3",
        )?;
        let mut upsert = tx.prepare_cached(
            "INSERT INTO service_minutes (service_id, minute, class, item_count, error_count, last_time, durations)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (service_id, minute, class) DO UPDATE SET
               item_count = item_count + excluded.item_count,
               error_count = error_count + excluded.error_count,
               last_time = max(last_time, excluded.last_time),
               durations = excluded.durations",
        )?;
        for ((service, minute, class), mut cell) in self.cells {
            // Only request classes carry durations; merge with what is stored.
            if matches!(class, Class::Requests | Class::RootSpans)
                && let Ok(bytes) = read.query_row(params![service, minute, class as i64], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
            {
                cell.durations.merge(&DurationHistogram::decode(&bytes));
            }
            upsert.execute(params![
                service,
                minute,
                class as i64,
                cell.count,
                cell.errors,
                i64::try_from(cell.last).unwrap_or(i64::MAX),
                cell.durations.encode(),
            ])?;
        }
        Ok(())
    }
}

/// Drops minutes older than every stored block (retention's companion).
pub fn forget_before(tx: &Transaction<'_>, oldest: u64) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached("DELETE FROM service_minutes WHERE minute < ?1")?
        .execute(params![minute_of(oldest)])?)
}

#[derive(Default)]
struct Totals {
    spans: u64,
    span_errors: u64,
    requests: u64,
    request_errors: u64,
    request_hist: DurationHistogram,
    roots: u64,
    root_errors: u64,
    root_hist: DurationHistogram,
    logs: u64,
    last: u64,
    requests_by_bucket: Vec<u64>,
    roots_by_bucket: Vec<u64>,
}

/// Number of sparkline buckets across a window.
const SPARK_BUCKETS: usize = 30;

/// The catalog over `bounds` (whole minutes: a minute counts when it
/// overlaps the window). Open bounds are closed to the stored data.
pub fn services(conn: &Connection, bounds: Bounds) -> Result<ServicesResponse, StoreError> {
    let (lo, hi): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT min(minute), max(minute) FROM service_minutes",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(ServicesResponse {
            from: UnixNanos(bounds.from),
            to: UnixNanos(bounds.to),
            bucket: UnixNanos(MINUTE),
            services: Vec::new(),
        });
    };
    // Open bounds close on the stored minutes.
    let from_min = if bounds.from == 0 {
        lo
    } else {
        minute_of(bounds.from)
    };
    let to_min = if bounds.to == u64::MAX {
        hi
    } else {
        minute_of(bounds.to)
    };
    let from = if bounds.from == 0 {
        u64::try_from(lo).unwrap_or(0) * MINUTE
    } else {
        bounds.from
    };
    let to = if bounds.to == u64::MAX {
        (u64::try_from(hi).unwrap_or(0) + 1) * MINUTE
    } else {
        bounds.to
    };
    let span_minutes = (to_min - from_min + 1).max(1) as u64;
    let buckets = SPARK_BUCKETS.min(span_minutes as usize).max(1);
    let minutes_per_bucket = span_minutes.div_ceil(buckets as u64);
    let mut totals: HashMap<i64, Totals> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT service_id, minute, class, item_count, error_count, last_time, durations
         FROM service_minutes WHERE minute BETWEEN ?1 AND ?2",
    )?;
    let mut rows = stmt.query(params![from_min, to_min])?;
    while let Some(r) = rows.next()? {
        let service: i64 = r.get(0)?;
        let minute: i64 = r.get(1)?;
        let Some(class) = Class::from_code(r.get(2)?) else {
            continue;
        };
        let count = u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0);
        let errors = u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0);
        let last = u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0);
        let t = totals.entry(service).or_insert_with(|| Totals {
            requests_by_bucket: vec![0; buckets],
            roots_by_bucket: vec![0; buckets],
            ..Totals::default()
        });
        t.last = t.last.max(last);
        let bucket = (((minute - from_min).max(0) as u64) / minutes_per_bucket) as usize;
        let bucket = bucket.min(buckets - 1);
        match class {
            Class::Spans => {
                t.spans += count;
                t.span_errors += errors;
            }
            Class::Requests => {
                t.requests += count;
                t.request_errors += errors;
                t.request_hist
                    .merge_encoded(r.get_ref(6)?.as_blob().unwrap_or(&[]));
                t.requests_by_bucket[bucket] += count;
            }
            Class::RootSpans => {
                t.roots += count;
                t.root_errors += errors;
                t.root_hist
                    .merge_encoded(r.get_ref(6)?.as_blob().unwrap_or(&[]));
                t.roots_by_bucket[bucket] += count;
            }
            Class::Logs => t.logs += count,
        }
    }
    let seconds = (to.saturating_sub(from) as f64 / 1e9).max(1.0);
    let mut services = Vec::with_capacity(totals.len());
    for (service_id, t) in totals {
        let (requests, errors, hist, over_time) = if t.requests > 0 {
            (
                t.requests,
                t.request_errors,
                t.request_hist,
                t.requests_by_bucket,
            )
        } else {
            (t.roots, t.root_errors, t.root_hist, t.roots_by_bucket)
        };
        services.push(ServiceStats {
            name: strings::value(conn, service_id)?,
            span_count: t.spans,
            error_span_count: t.span_errors,
            request_count: requests,
            request_error_count: errors,
            request_rate: requests as f64 / seconds,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            p50: hist.quantile(0.5).map(UnixNanos),
            p95: hist.quantile(0.95).map(UnixNanos),
            p99: hist.quantile(0.99).map(UnixNanos),
            log_count: t.logs,
            last_seen: (t.last > 0).then_some(UnixNanos(t.last)),
            requests_over_time: over_time,
        });
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ServicesResponse {
        from: UnixNanos(from),
        to: UnixNanos(to),
        bucket: UnixNanos(minutes_per_bucket * MINUTE),
        services,
    })
}
