//! Which metrics and series exist: the catalog (`GET /api/metrics`)
//! aggregated per name in SQL, and the series of one name with what
//! selecting, labelling and aggregating them needs.
//!
//! The exporter's tables have no series table, so both are computed from
//! the rows each time. A series' description, temporality and
//! monotonicity are those of its first row; a metric's kind, unit,
//! description, temporality and monotonicity are those of its first series,
//! the one with the oldest point (the embedded engine takes the first one
//! written; the two differ only for a name whose series disagree on those).

use std::collections::BTreeMap;

use clickhouse::Row;
use serde::Deserialize;
use shared::api::{MetricInfo, MetricsResponse};
use shared::metrics::{MetricKind, Temporality};
use shared::query::MetricListQuery;

use super::super::super::StoreError;
use super::super::super::metric_plan::SeriesInfo;
use super::super::client::Ch;
use super::super::rows::{self, TextMap};
use super::super::schema::Schema;
use super::sql::{ORDER, SERIES, TABLES};
use crate::store::sqlite::metrics::rollup_math::Semantics;

/// The `AggregationTemporality` and `IsMonotonic` columns of a kind's table
/// (gauges and summaries have neither).
fn temporality_columns(kind: MetricKind) -> (&'static str, &'static str) {
    match kind {
        MetricKind::Sum => ("AggregationTemporality", "IsMonotonic"),
        MetricKind::Histogram | MetricKind::ExponentialHistogram => {
            ("AggregationTemporality", "false")
        }
        MetricKind::Gauge | MetricKind::Summary => ("toInt32(0)", "false"),
    }
}

#[derive(Row, Deserialize)]
struct NameRow {
    kind: u8,
    name: String,
    series: u64,
    services: Vec<String>,
    unit: String,
    description: String,
    temporality: i32,
    monotonic: bool,
    first: i64,
}

/// The metric catalog, by name; `service` lists the metrics with a series
/// of that service, `q` those whose name holds it (any case).
pub async fn metric_list(
    ch: &Ch,
    schema: &Schema,
    q: &MetricListQuery,
) -> Result<MetricsResponse, StoreError> {
    struct Entry {
        info: MetricInfo,
        first: (i64, usize),
    }
    let parts: Vec<String> = TABLES
        .into_iter()
        .enumerate()
        .map(|(order, (table, kind))| {
            let (temporality, monotonic) = temporality_columns(kind);
            let time = schema.metric_time_nanos(table, "TimeUnix");
            format!(
                "SELECT toUInt8({order}) AS kind, MetricName AS name, uniqExact({SERIES}) AS series,
                        arraySort(groupUniqArray(toString(ServiceName))) AS services,
                        argMin(MetricUnit, ({time}, {ORDER})) AS unit,
                        argMin(MetricDescription, ({time}, {ORDER})) AS description,
                        argMin({temporality}, ({time}, {ORDER})) AS temporality,
                        argMin({monotonic}, ({time}, {ORDER})) AS monotonic,
                        min({time}) AS first
                 FROM {table} GROUP BY MetricName"
            )
        })
        .collect();
    let found: Vec<NameRow> = ch.rows(ch.sql(&parts.join(" UNION ALL "))).await?;
    let mut by_name: BTreeMap<String, Entry> = BTreeMap::new();
    for r in found {
        let order = usize::from(r.kind);
        let Some((_, kind)) = TABLES.get(order).copied() else {
            continue;
        };
        let info = MetricInfo {
            name: r.name.clone(),
            kind,
            unit: r.unit,
            description: r.description,
            temporality: rows::temporality_of(r.temporality),
            is_monotonic: r.monotonic,
            series_count: r.series,
            services: r.services,
        };
        let first = (r.first, order);
        match by_name.get_mut(&r.name) {
            None => {
                by_name.insert(r.name, Entry { info, first });
            }
            Some(e) => {
                let mut services = std::mem::take(&mut e.info.services);
                services.extend(info.services.iter().cloned());
                services.sort();
                services.dedup();
                let series = e.info.series_count + info.series_count;
                if first < e.first {
                    e.info = info;
                    e.first = first;
                }
                e.info.services = services;
                e.info.series_count = series;
            }
        }
    }
    let needle = q.q.as_ref().map(|s| s.to_lowercase());
    let metrics = by_name
        .into_values()
        .map(|e| e.info)
        .filter(|m| {
            needle
                .as_ref()
                .is_none_or(|n| m.name.to_lowercase().contains(n.as_str()))
        })
        .filter(|m| q.service.as_ref().is_none_or(|s| m.services.contains(s)))
        .collect();
    Ok(MetricsResponse { metrics })
}

#[derive(Row, Deserialize)]
struct SeriesRow {
    kind: u8,
    sid: u64,
    service: String,
    unit: String,
    description: String,
    resource: TextMap,
    scope_name: String,
    scope_version: String,
    attributes: TextMap,
    temporality: i32,
    monotonic: bool,
    first_time: i64,
    last_time: i64,
}

/// A series of one metric name.
pub struct Series {
    /// Its key in its table (`sql::SERIES`).
    pub sid: u64,
    pub temporality: Temporality,
    pub monotonic: bool,
    /// `info.id` is the series' place in the list.
    pub info: SeriesInfo,
}

/// Every series of metric `name`, first series first (oldest first point,
/// then kind, then key); empty for an unknown name.
pub async fn series_of(ch: &Ch, schema: &Schema, name: &str) -> Result<Vec<Series>, StoreError> {
    let parts: Vec<String> = TABLES
        .into_iter()
        .enumerate()
        .map(|(order, (table, kind))| {
            let (temporality, monotonic) = temporality_columns(kind);
            let time = schema.metric_time_nanos(table, "TimeUnix");
            format!(
                "SELECT toUInt8({order}) AS kind, {SERIES} AS sid,
                        any(toString(ServiceName)) AS service, any(MetricUnit) AS unit,
                        argMin(MetricDescription, ({time}, {ORDER})) AS description,
                        argMin(ResourceAttributes, ({time}, {ORDER})) AS resource,
                        any(ScopeName) AS scope_name, any(ScopeVersion) AS scope_version,
                        any(mapSort(Attributes)) AS attributes,
                        argMin({temporality}, ({time}, {ORDER})) AS temporality,
                        argMin({monotonic}, ({time}, {ORDER})) AS monotonic,
                        min({time}) AS first_time, max({time}) AS last_time
                 FROM {table} WHERE MetricName = {{name:String}} GROUP BY sid"
            )
        })
        .collect();
    let found: Vec<SeriesRow> = ch
        .rows(ch.sql(&parts.join(" UNION ALL ")).param("name", name))
        .await?;
    let mut all: Vec<(i64, usize, Series)> = Vec::with_capacity(found.len());
    for r in found {
        let order = usize::from(r.kind);
        let Some((_, kind)) = TABLES.get(order).copied() else {
            continue;
        };
        let temporality = rows::temporality_of(r.temporality);
        all.push((
            r.first_time,
            order,
            Series {
                sid: r.sid,
                temporality,
                monotonic: r.monotonic,
                info: SeriesInfo {
                    id: 0,
                    kind,
                    sem: Semantics::of(kind, temporality, r.monotonic),
                    unit: r.unit,
                    description: r.description,
                    service: r.service,
                    resource: rows::attributes(r.resource),
                    scope_name: r.scope_name,
                    scope_version: r.scope_version,
                    attributes: rows::attributes(r.attributes),
                    first_time: unsigned(r.first_time),
                    last_time: unsigned(r.last_time),
                },
            },
        ));
    }
    all.sort_by_key(|(first, order, s)| (*first, *order, s.sid));
    Ok(all
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, mut s))| {
            s.info.id = i64::try_from(i).unwrap_or(i64::MAX);
            s
        })
        .collect())
}

pub fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
