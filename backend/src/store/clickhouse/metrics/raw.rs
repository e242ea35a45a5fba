//! Every point of a metric's series, back in the shared model
//! (`GET /api/metrics/{name}/raw`), in time order and, for equal times, in
//! the order they were written.
//!
//! What the exporter's columns cannot give back:
//! - gauge and sum values are `Float64`: every value reads as
//!   `NumberValue::AsDouble` (NaN and -0.0 survive; integers beyond 2^53
//!   round);
//! - the exporter writes 0 for a histogram's missing min, max or sum: a
//!   point whose min and max are both 0 reads with neither (a point whose
//!   observations were all exactly 0 loses them too), and the sum always
//!   reads as a number (0 when it was left out);
//! - an exponential histogram's zero threshold is not stored: it reads 0;
//! - an exemplar's value is `Float64` (0 when it had none) and reads as a
//!   double;
//! - attribute values are text and read as strings.

use std::collections::HashMap;

use clickhouse::Row;
use serde::Deserialize;
use shared::api::{RawSeries, RawSeriesResponse};
use shared::metrics::{
    Exemplar, ExpBuckets, ExpHistogramPoint, HistogramPoint, MetricData, MetricKind, NumberPoint,
    NumberValue, Quantile, SummaryPoint,
};
use shared::{KeyValue, SpanId, TraceId, UnixNanos};

use super::super::super::StoreError;
use super::super::client::Ch;
use super::super::rows::{self, TextMap};
use super::super::schema::Schema;
use super::catalog::{self, Series, unsigned};
use super::sql::{ORDER, SERIES, table_of};

/// The exemplar columns, as [`ExemplarsRead`] takes them.
const EXEMPLARS: &str = "`Exemplars.FilteredAttributes` AS ex_attrs,
    arrayMap(x -> toUnixTimestamp64Nano(x), `Exemplars.TimeUnix`) AS ex_time,
    `Exemplars.Value` AS ex_value, `Exemplars.SpanId` AS ex_span, `Exemplars.TraceId` AS ex_trace";

#[derive(Row, Deserialize)]
struct NumberRead {
    sid: u64,
    start: i64,
    time: i64,
    value: f64,
    flags: u32,
    ex_attrs: Vec<TextMap>,
    ex_time: Vec<i64>,
    ex_value: Vec<f64>,
    ex_span: Vec<String>,
    ex_trace: Vec<String>,
}

#[derive(Row, Deserialize)]
struct HistogramRead {
    sid: u64,
    start: i64,
    time: i64,
    count: u64,
    sum: f64,
    bucket_counts: Vec<u64>,
    bounds: Vec<f64>,
    flags: u32,
    min: f64,
    max: f64,
    ex_attrs: Vec<TextMap>,
    ex_time: Vec<i64>,
    ex_value: Vec<f64>,
    ex_span: Vec<String>,
    ex_trace: Vec<String>,
}

#[derive(Row, Deserialize)]
struct ExpHistogramRead {
    sid: u64,
    start: i64,
    time: i64,
    count: u64,
    sum: f64,
    scale: i32,
    zero_count: u64,
    pos_offset: i32,
    pos_counts: Vec<u64>,
    neg_offset: i32,
    neg_counts: Vec<u64>,
    flags: u32,
    min: f64,
    max: f64,
    ex_attrs: Vec<TextMap>,
    ex_time: Vec<i64>,
    ex_value: Vec<f64>,
    ex_span: Vec<String>,
    ex_trace: Vec<String>,
}

#[derive(Row, Deserialize)]
struct SummaryRead {
    sid: u64,
    start: i64,
    time: i64,
    count: u64,
    sum: f64,
    quantiles: Vec<f64>,
    values: Vec<f64>,
    flags: u32,
}

/// The columns each kind reads (after `sid`, `start`, `time`).
fn columns(kind: MetricKind) -> String {
    match kind {
        MetricKind::Gauge | MetricKind::Sum => {
            format!("Value AS value, Flags AS flags, {EXEMPLARS}")
        }
        MetricKind::Histogram => format!(
            "Count AS count, Sum AS sum, BucketCounts AS bucket_counts,
             ExplicitBounds AS bounds, Flags AS flags, Min AS min, Max AS max, {EXEMPLARS}"
        ),
        MetricKind::ExponentialHistogram => format!(
            "Count AS count, Sum AS sum, Scale AS scale, ZeroCount AS zero_count,
             PositiveOffset AS pos_offset, PositiveBucketCounts AS pos_counts,
             NegativeOffset AS neg_offset, NegativeBucketCounts AS neg_counts,
             Flags AS flags, Min AS min, Max AS max, {EXEMPLARS}"
        ),
        MetricKind::Summary => "Count AS count, Sum AS sum,
             `ValueAtQuantiles.Quantile` AS quantiles, `ValueAtQuantiles.Value` AS values,
             Flags AS flags"
            .to_owned(),
    }
}

/// Every series of metric `name` with all its points; `None` for an
/// unknown name.
pub async fn raw_series(
    ch: &Ch,
    schema: &Schema,
    name: &str,
) -> Result<Option<RawSeriesResponse>, StoreError> {
    let all = catalog::series_of(ch, schema, name).await?;
    if all.is_empty() {
        return Ok(None);
    }
    let mut data: HashMap<(MetricKind, u64), MetricData> = HashMap::new();
    for kind in kinds_of(&all) {
        let temporal = |sid: u64| {
            all.iter()
                .find(|s| s.sid == sid && s.info.kind == kind)
                .map(|s| (s.temporality, s.monotonic))
                .unwrap_or_default()
        };
        match kind {
            MetricKind::Gauge | MetricKind::Sum => {
                for (sid, rows) in read::<NumberRead>(ch, schema, name, kind).await? {
                    let attributes = attributes_of(&all, sid, kind);
                    let points = rows.into_iter().map(|r| number(r, &attributes)).collect();
                    let (temporality, is_monotonic) = temporal(sid);
                    data.insert(
                        (kind, sid),
                        if kind == MetricKind::Gauge {
                            MetricData::Gauge { points }
                        } else {
                            MetricData::Sum {
                                points,
                                temporality,
                                is_monotonic,
                            }
                        },
                    );
                }
            }
            MetricKind::Histogram => {
                for (sid, rows) in read::<HistogramRead>(ch, schema, name, kind).await? {
                    let attributes = attributes_of(&all, sid, kind);
                    let points = rows
                        .into_iter()
                        .map(|r| histogram(r, &attributes))
                        .collect();
                    let temporality = temporal(sid).0;
                    data.insert(
                        (kind, sid),
                        MetricData::Histogram {
                            points,
                            temporality,
                        },
                    );
                }
            }
            MetricKind::ExponentialHistogram => {
                for (sid, rows) in read::<ExpHistogramRead>(ch, schema, name, kind).await? {
                    let attributes = attributes_of(&all, sid, kind);
                    let points = rows
                        .into_iter()
                        .map(|r| exp_histogram(r, &attributes))
                        .collect();
                    let temporality = temporal(sid).0;
                    data.insert(
                        (kind, sid),
                        MetricData::ExponentialHistogram {
                            points,
                            temporality,
                        },
                    );
                }
            }
            MetricKind::Summary => {
                for (sid, rows) in read::<SummaryRead>(ch, schema, name, kind).await? {
                    let attributes = attributes_of(&all, sid, kind);
                    let points = rows.into_iter().map(|r| summary(r, &attributes)).collect();
                    data.insert((kind, sid), MetricData::Summary { points });
                }
            }
        }
    }
    let series = all
        .into_iter()
        .filter_map(|s| {
            let data = data.remove(&(s.info.kind, s.sid))?;
            Some(RawSeries {
                name: name.to_owned(),
                description: s.info.description,
                unit: s.info.unit,
                kind: s.info.kind,
                temporality: s.temporality,
                is_monotonic: s.monotonic,
                service: s.info.service,
                resource: s.info.resource,
                scope_name: s.info.scope_name,
                scope_version: s.info.scope_version,
                attributes: s.info.attributes,
                data,
            })
        })
        .collect();
    Ok(Some(RawSeriesResponse { series }))
}

/// The kinds among `all`, each once.
fn kinds_of(all: &[Series]) -> Vec<MetricKind> {
    let mut kinds: Vec<MetricKind> = Vec::new();
    for s in all {
        if !kinds.contains(&s.info.kind) {
            kinds.push(s.info.kind);
        }
    }
    kinds
}

fn attributes_of(all: &[Series], sid: u64, kind: MetricKind) -> Vec<KeyValue> {
    all.iter()
        .find(|s| s.sid == sid && s.info.kind == kind)
        .map(|s| s.info.attributes.clone())
        .unwrap_or_default()
}

/// A row type of [`read`]: its series key.
trait Keyed {
    fn sid(&self) -> u64;
}

macro_rules! keyed {
    ($($t:ty),*) => {$(impl Keyed for $t { fn sid(&self) -> u64 { self.sid } })*};
}
keyed!(NumberRead, HistogramRead, ExpHistogramRead, SummaryRead);

/// The rows of metric `name` in `kind`'s table, per series, in read order.
async fn read<T>(
    ch: &Ch,
    schema: &Schema,
    name: &str,
    kind: MetricKind,
) -> Result<Vec<(u64, Vec<T>)>, StoreError>
where
    T: Keyed + clickhouse::RowOwned + clickhouse::RowRead,
{
    let table = table_of(kind);
    let sql = format!(
        "SELECT {SERIES} AS sid, {start} AS start, {time} AS time, {cols}
         FROM {table} WHERE MetricName = {{name:String}}
         ORDER BY sid, time, {ORDER}",
        start = schema.metric_time_nanos(table, "StartTimeUnix"),
        time = schema.metric_time_nanos(table, "TimeUnix"),
        cols = columns(kind),
    );
    let rows: Vec<T> = ch.rows(ch.sql(&sql).param("name", name)).await?;
    let mut out: Vec<(u64, Vec<T>)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((sid, list)) if *sid == r.sid() => list.push(r),
            _ => out.push((r.sid(), vec![r])),
        }
    }
    Ok(out)
}

fn exemplars(
    attrs: Vec<TextMap>,
    time: Vec<i64>,
    value: Vec<f64>,
    span: Vec<String>,
    trace: Vec<String>,
) -> Vec<Exemplar> {
    attrs
        .into_iter()
        .zip(time)
        .zip(value)
        .zip(span.into_iter().zip(trace))
        .map(|(((attrs, time), value), (span, trace))| Exemplar {
            filtered_attributes: rows::attributes(attrs),
            time: UnixNanos(unsigned(time)),
            value: Some(NumberValue::AsDouble(value)),
            span_id: SpanId::from_hex(&span).ok(),
            trace_id: TraceId::from_hex(&trace).ok(),
        })
        .collect()
}

fn number(r: NumberRead, attributes: &[KeyValue]) -> NumberPoint {
    NumberPoint {
        attributes: attributes.to_vec(),
        start_time: UnixNanos(unsigned(r.start)),
        time: UnixNanos(unsigned(r.time)),
        value: NumberValue::AsDouble(r.value),
        exemplars: exemplars(r.ex_attrs, r.ex_time, r.ex_value, r.ex_span, r.ex_trace),
        flags: r.flags,
    }
}

/// A histogram's min and max as the exporter keeps them (0 for absent):
/// both 0 reads as neither.
pub fn min_max(min: f64, max: f64) -> (Option<f64>, Option<f64>) {
    if min == 0.0 && max == 0.0 {
        (None, None)
    } else {
        (Some(min), Some(max))
    }
}

fn histogram(r: HistogramRead, attributes: &[KeyValue]) -> HistogramPoint {
    let (min, max) = min_max(r.min, r.max);
    HistogramPoint {
        attributes: attributes.to_vec(),
        start_time: UnixNanos(unsigned(r.start)),
        time: UnixNanos(unsigned(r.time)),
        count: r.count,
        sum: Some(r.sum),
        bucket_counts: r.bucket_counts,
        explicit_bounds: r.bounds,
        exemplars: exemplars(r.ex_attrs, r.ex_time, r.ex_value, r.ex_span, r.ex_trace),
        flags: r.flags,
        min,
        max,
    }
}

fn exp_histogram(r: ExpHistogramRead, attributes: &[KeyValue]) -> ExpHistogramPoint {
    let (min, max) = min_max(r.min, r.max);
    ExpHistogramPoint {
        attributes: attributes.to_vec(),
        start_time: UnixNanos(unsigned(r.start)),
        time: UnixNanos(unsigned(r.time)),
        count: r.count,
        sum: Some(r.sum),
        scale: r.scale,
        zero_count: r.zero_count,
        positive: ExpBuckets {
            offset: r.pos_offset,
            bucket_counts: r.pos_counts,
        },
        negative: ExpBuckets {
            offset: r.neg_offset,
            bucket_counts: r.neg_counts,
        },
        flags: r.flags,
        exemplars: exemplars(r.ex_attrs, r.ex_time, r.ex_value, r.ex_span, r.ex_trace),
        min,
        max,
        zero_threshold: 0.0,
    }
}

fn summary(r: SummaryRead, attributes: &[KeyValue]) -> SummaryPoint {
    SummaryPoint {
        attributes: attributes.to_vec(),
        start_time: UnixNanos(unsigned(r.start)),
        time: UnixNanos(unsigned(r.time)),
        count: r.count,
        sum: r.sum,
        quantile_values: r
            .quantiles
            .into_iter()
            .zip(r.values)
            .map(|(quantile, value)| Quantile { quantile, value })
            .collect(),
        flags: r.flags,
    }
}
