//! The service catalog and the service map on ClickHouse, aggregated in SQL
//! from the exporter's span and log rows with the embedded engine's rules
//! (`store::service_minutes`, `store::service_map`):
//!
//! - the catalog counts whole minutes (a minute counts when it touches the
//!   window; open bounds close on the stored data), requests are SERVER and
//!   CONSUMER spans (a service without any counts its root spans instead),
//!   percentiles come from the same log-linear duration histogram (±2 %),
//!   filled per bucket in SQL;
//! - the map joins each span to its parent (same trace, `ParentSpanId =
//!   SpanId`) among the window's spans: a parent in another service is a
//!   call; a SERVER or CONSUMER span whose parent is not there was called
//!   from outside (the `external` node).
//!
//! Spans are counted once each (`GROUP BY TraceId, SpanId`): a span stored
//! twice counts once, as in the embedded engine, at the price of
//! ClickHouse memory growing with the window's spans. Log records are
//! counted as stored.

use std::collections::{BTreeMap, HashMap};

use clickhouse::Row;
use clickhouse::query::Query;
use serde::Deserialize;
use shared::UnixNanos;
use shared::api::{
    ServiceMapEdge, ServiceMapNode, ServiceMapResponse, ServiceStats, ServicesResponse,
};
use shared::query::Bounds;
use shared::trace::SpanKind;

use super::super::StoreError;
use super::super::duration_hist::DurationHistogram;
use super::client::Ch;
use super::rows::{IS_ERROR, kind_spellings};
use super::schema::{LOGS, Schema, TRACES};
use crate::store::sqlite::spans::service_map::EXTERNAL;

/// The catalog's time unit (`service_minutes`).
pub(super) const MINUTE: u64 = 60_000_000_000;

/// Most sparkline buckets across a window (`service_minutes`).
const SPARK_BUCKETS: u64 = 30;

/// A span's duration histogram bucket in SQL, as `DurationHistogram`
/// numbers them; a bucket's spans are recorded at its shortest duration.
const DURATION_BUCKET: &str = "toUInt32(if(dur <= 1, 0, log2(dur) * 32 + 1))";

/// A `sumMap`/`minMap` result: keys and their values.
type KeyedValues = (Vec<u32>, Vec<u64>);

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn minute_of(t: u64) -> i64 {
    i64::try_from(t / MINUTE).unwrap_or(i64::MAX)
}

/// The window's spans once each, with what the catalog and the map use;
/// `window` is a condition on `Timestamp`, `entry_kinds` the spellings of
/// SERVER and CONSUMER.
fn unique_spans(window: &str) -> String {
    format!(
        "SELECT TraceId AS trace, SpanId AS span, any(ParentSpanId) AS parent,
                any(ServiceName) AS service, any(toUnixTimestamp64Nano(Timestamp)) AS start,
                any(Duration) AS dur, any(SpanKind) IN {{entry_kinds:Array(String)}} AS entry,
                max({IS_ERROR}) AS err
         FROM {TRACES} WHERE {window}
         GROUP BY TraceId, SpanId"
    )
}

fn bind_entry_kinds(query: Query) -> Query {
    let mut kinds = kind_spellings(SpanKind::Server);
    kinds.extend(kind_spellings(SpanKind::Consumer));
    query.param("entry_kinds", kinds)
}

/// A histogram from per-bucket counts and shortest durations.
fn histogram(counts: &KeyedValues, shortest: &KeyedValues) -> DurationHistogram {
    let shortest: HashMap<u32, u64> = shortest
        .0
        .iter()
        .copied()
        .zip(shortest.1.iter().copied())
        .collect();
    let mut h = DurationHistogram::default();
    for (bucket, n) in counts.0.iter().zip(&counts.1) {
        if let Some(&d) = shortest.get(bucket) {
            h.record_n(d, *n);
        }
    }
    h
}

#[derive(Row, Deserialize)]
struct Extent {
    lo: i64,
    hi: i64,
    n: u64,
}

/// The first and last minute holding a span or a log record; `None` for
/// an empty store.
async fn stored_minutes(ch: &Ch) -> Result<Option<(i64, i64)>, StoreError> {
    let sql = format!(
        "SELECT toInt64(min(first)) AS lo, toInt64(max(last)) AS hi, sum(rows) AS n FROM (
           SELECT intDiv(toUnixTimestamp(min(Timestamp)), 60) AS first,
                  intDiv(toUnixTimestamp(max(Timestamp)), 60) AS last, count() AS rows
           FROM {TRACES}
           UNION ALL
           SELECT intDiv(toUnixTimestamp(min(TimestampTime)), 60),
                  intDiv(toUnixTimestamp(max(TimestampTime)), 60), count()
           FROM {LOGS}
         ) WHERE rows > 0"
    );
    let e = ch.rows::<Extent>(ch.sql(&sql)).await?.into_iter().next();
    Ok(e.filter(|e| e.n > 0).map(|e| (e.lo, e.hi)))
}

/// One service's spans over the catalog's minutes.
#[derive(Row, Deserialize)]
struct ServiceSpans {
    service: String,
    spans: u64,
    span_errors: u64,
    requests: u64,
    request_errors: u64,
    roots: u64,
    root_errors: u64,
    last: i64,
    request_spark: KeyedValues,
    root_spark: KeyedValues,
    request_counts: KeyedValues,
    request_shortest: KeyedValues,
    root_counts: KeyedValues,
    root_shortest: KeyedValues,
}

#[derive(Row, Deserialize)]
struct ServiceLogs {
    service: String,
    n: u64,
    last: i64,
}

/// The catalog's minutes and sparkline buckets over `bounds`.
struct Minutes {
    from: u64,
    to: u64,
    from_min: i64,
    to_min: i64,
    buckets: u64,
    per_bucket: u64,
}

impl Minutes {
    fn new(bounds: Bounds, (lo, hi): (i64, i64)) -> Self {
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
            unsigned(lo).saturating_mul(MINUTE)
        } else {
            bounds.from
        };
        let to = if bounds.to == u64::MAX {
            (unsigned(hi) + 1).saturating_mul(MINUTE)
        } else {
            bounds.to
        };
        let span_minutes = unsigned((to_min - from_min + 1).max(1));
        let buckets = SPARK_BUCKETS.min(span_minutes).max(1);
        Self {
            from,
            to,
            from_min,
            to_min,
            buckets,
            per_bucket: span_minutes.div_ceil(buckets),
        }
    }

    /// The first nanosecond of the first minute, the one after the last.
    fn nanos(&self) -> (i64, i64) {
        let at = |m: i64| signed(unsigned(m).saturating_mul(MINUTE));
        (at(self.from_min), at(self.to_min.saturating_add(1)))
    }

    fn bind(&self, query: Query) -> Query {
        let (lo, hi) = self.nanos();
        query
            .param("lo", lo)
            .param("hi", hi)
            .param("minute", signed(MINUTE))
            .param("from_min", self.from_min)
            .param("per_bucket", signed(self.per_bucket))
            .param("buckets", signed(self.buckets))
    }
}

async fn service_spans(ch: &Ch, m: &Minutes) -> Result<Vec<ServiceSpans>, StoreError> {
    let spans = unique_spans(
        "Timestamp >= fromUnixTimestamp64Nano({lo:Int64}) AND Timestamp < fromUnixTimestamp64Nano({hi:Int64})",
    );
    let sql = format!(
        "SELECT service,
                count() AS spans, countIf(err) AS span_errors,
                countIf(entry) AS requests, countIf(entry AND err) AS request_errors,
                countIf(root) AS roots, countIf(root AND err) AS root_errors,
                max(start + toInt64(dur)) AS last,
                sumMapIf([spark], [toUInt64(1)], entry) AS request_spark,
                sumMapIf([spark], [toUInt64(1)], root) AS root_spark,
                sumMapIf([hb], [toUInt64(1)], entry) AS request_counts,
                minMapIf([hb], [dur], entry) AS request_shortest,
                sumMapIf([hb], [toUInt64(1)], root) AS root_counts,
                minMapIf([hb], [dur], root) AS root_shortest
         FROM (
           SELECT service, start, dur, entry, err, NOT entry AND parent = '' AS root,
                  toUInt32(least(intDiv(greatest(intDiv(start, {{minute:Int64}}) - {{from_min:Int64}}, 0),
                                        {{per_bucket:Int64}}), {{buckets:Int64}} - 1)) AS spark,
                  {DURATION_BUCKET} AS hb
           FROM ({spans})
         )
         GROUP BY service"
    );
    ch.rows(bind_entry_kinds(m.bind(ch.sql(&sql)))).await
}

async fn service_logs(ch: &Ch, m: &Minutes) -> Result<Vec<ServiceLogs>, StoreError> {
    let sql = format!(
        "SELECT ServiceName AS service, count() AS n,
                max(toUnixTimestamp64Nano(Timestamp)) AS last
         FROM {LOGS}
         WHERE Timestamp >= fromUnixTimestamp64Nano({{lo:Int64}})
           AND Timestamp < fromUnixTimestamp64Nano({{hi:Int64}})
           AND TimestampTime >= toDateTime({{lo_s:UInt32}})
           AND TimestampTime <= toDateTime({{hi_s:UInt32}})
         GROUP BY ServiceName"
    );
    let (lo, hi) = m.nanos();
    let seconds = |ns: i64| u32::try_from(unsigned(ns) / 1_000_000_000).unwrap_or(u32::MAX);
    ch.rows(
        m.bind(ch.sql(&sql))
            .param("lo_s", seconds(lo))
            .param("hi_s", seconds(hi)),
    )
    .await
}

/// The catalog over `bounds`, by service name.
pub async fn services(
    ch: &Ch,
    _schema: &Schema,
    bounds: Bounds,
) -> Result<ServicesResponse, StoreError> {
    let Some(stored) = stored_minutes(ch).await? else {
        return Ok(ServicesResponse {
            from: UnixNanos(bounds.from),
            to: UnixNanos(bounds.to),
            bucket: UnixNanos(MINUTE),
            services: Vec::new(),
        });
    };
    let m = Minutes::new(bounds, stored);
    let seconds = (m.to.saturating_sub(m.from) as f64 / 1e9).max(1.0);
    let spark = |kv: &KeyedValues| {
        let mut out = vec![0u64; m.buckets as usize];
        for (b, n) in kv.0.iter().zip(&kv.1) {
            if let Some(slot) = out.get_mut(*b as usize) {
                *slot += n;
            }
        }
        out
    };
    let mut by_name: BTreeMap<String, ServiceStats> = BTreeMap::new();
    let blank = |name: &str| ServiceStats {
        name: name.to_owned(),
        span_count: 0,
        error_span_count: 0,
        request_count: 0,
        request_error_count: 0,
        request_rate: 0.0,
        error_rate: 0.0,
        p50: None,
        p95: None,
        p99: None,
        log_count: 0,
        last_seen: None,
        requests_over_time: vec![0; m.buckets as usize],
    };
    for s in service_spans(ch, &m).await? {
        // A service without requests is measured by its root spans.
        let (requests, errors, hist, over_time) = if s.requests > 0 {
            (
                s.requests,
                s.request_errors,
                histogram(&s.request_counts, &s.request_shortest),
                spark(&s.request_spark),
            )
        } else {
            (
                s.roots,
                s.root_errors,
                histogram(&s.root_counts, &s.root_shortest),
                spark(&s.root_spark),
            )
        };
        let last = unsigned(s.last);
        let mut stats = blank(&s.service);
        stats.span_count = s.spans;
        stats.error_span_count = s.span_errors;
        stats.request_count = requests;
        stats.request_error_count = errors;
        stats.request_rate = requests as f64 / seconds;
        stats.error_rate = if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        };
        stats.p50 = hist.quantile(0.5).map(UnixNanos);
        stats.p95 = hist.quantile(0.95).map(UnixNanos);
        stats.p99 = hist.quantile(0.99).map(UnixNanos);
        stats.last_seen = (last > 0).then_some(UnixNanos(last));
        stats.requests_over_time = over_time;
        by_name.insert(s.service, stats);
    }
    for l in service_logs(ch, &m).await? {
        let stats = by_name
            .entry(l.service.clone())
            .or_insert_with(|| blank(&l.service));
        stats.log_count = l.n;
        let last = stats.last_seen.map_or(0, |t| t.0).max(unsigned(l.last));
        stats.last_seen = (last > 0).then_some(UnixNanos(last));
    }
    Ok(ServicesResponse {
        from: UnixNanos(m.from),
        to: UnixNanos(m.to),
        bucket: UnixNanos(m.per_bucket.saturating_mul(MINUTE)),
        services: by_name.into_values().collect(),
    })
}

#[derive(Row, Deserialize)]
struct NodeRow {
    service: String,
    spans: u64,
    errors: u64,
}

/// Calls into `callee`: from `caller` when `known`, else from outside.
#[derive(Row, Deserialize)]
struct EdgeRow {
    known: bool,
    caller: String,
    callee: String,
    calls: u64,
    errors: u64,
    counts: KeyedValues,
    shortest: KeyedValues,
}

/// The map of calls over `bounds`.
pub async fn service_map(
    ch: &Ch,
    _schema: &Schema,
    bounds: Bounds,
) -> Result<ServiceMapResponse, StoreError> {
    let spans = unique_spans(
        "Timestamp >= fromUnixTimestamp64Nano({from:Int64}) AND Timestamp <= fromUnixTimestamp64Nano({to:Int64})",
    );
    let bind = |q: Query| {
        bind_entry_kinds(q)
            .param("from", signed(bounds.from))
            .param("to", signed(bounds.to))
    };
    let nodes: Vec<NodeRow> = ch
        .rows(bind(ch.sql(&format!(
            "SELECT service, count() AS spans, countIf(err) AS errors
             FROM ({spans}) GROUP BY service"
        ))))
        .await?;
    // A span missing from the right side reads `found = 0` (no NULLs).
    let edges: Vec<EdgeRow> = ch
        .rows(bind(ch.sql(&format!(
            "SELECT p.found = 1 AS known, p.service AS caller, c.service AS callee,
                    count() AS calls, countIf(c.err) AS errors,
                    sumMap([hb], [toUInt64(1)]) AS counts, minMap([hb], [dur]) AS shortest
             FROM (SELECT *, {DURATION_BUCKET} AS hb FROM ({spans})) AS c
             LEFT JOIN (SELECT trace, span, service, toUInt8(1) AS found FROM ({spans})) AS p
               ON c.trace = p.trace AND c.parent = p.span
             WHERE c.parent != ''
               AND if(p.found = 1, p.service != c.service, c.entry)
             GROUP BY known, caller, callee"
        ))))
        .await?;
    let spans_examined = nodes.iter().map(|n| n.spans).sum();
    let mut node_list: Vec<ServiceMapNode> = nodes
        .into_iter()
        .map(|n| ServiceMapNode {
            name: n.service,
            external: false,
            span_count: n.spans,
            error_count: n.errors,
        })
        .collect();
    if edges.iter().any(|e| !e.known) {
        node_list.push(ServiceMapNode {
            name: EXTERNAL.to_owned(),
            external: true,
            span_count: 0,
            error_count: 0,
        });
    }
    node_list.sort_by(|a, b| (a.external, &a.name).cmp(&(b.external, &b.name)));
    let mut edge_list: Vec<(bool, ServiceMapEdge)> = edges
        .into_iter()
        .map(|e| {
            let p95 = histogram(&e.counts, &e.shortest).quantile(0.95);
            let edge = ServiceMapEdge {
                caller: if e.known {
                    e.caller
                } else {
                    EXTERNAL.to_owned()
                },
                callee: e.callee,
                call_count: e.calls,
                error_count: e.errors,
                p95: UnixNanos(p95.unwrap_or(0)),
            };
            (e.known, edge)
        })
        .collect();
    edge_list
        .sort_by(|(ka, a), (kb, b)| (&a.caller, &a.callee, ka).cmp(&(&b.caller, &b.callee, kb)));
    Ok(ServiceMapResponse {
        nodes: node_list,
        edges: edge_list.into_iter().map(|(_, e)| e).collect(),
        spans_examined,
        complete: true,
    })
}
