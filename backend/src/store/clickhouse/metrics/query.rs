//! Metric queries (`GET /api/metrics/{name}/query`) on ClickHouse: planned
//! exactly as the embedded engine plans them (`store::metric_plan`: series
//! selection, window, steps, groups, labels, parameter errors), then
//! aggregated in SQL over the raw rows, one statement per query.
//!
//! What goes to SQL, per selected series: its key (`keys`), its output
//! group (`groups`), its place in the selection (`ranks`) and its
//! semantics (`sems`). Each kind's module computes what every point
//! contributes with window functions over a series' rows in read order
//! (the row before the window included, so the first increase in the
//! window has its predecessor), then aggregates per group and step; what
//! comes back is turned into `rollup_math`'s buckets and evaluated by the
//! very code that evaluates the embedded engine's, so an aggregation means
//! the same number on both.

use clickhouse::query::Query;
use shared::api::{MetricQueryResponse, Resolution};
use shared::metrics::MetricKind;
use shared::query::MetricQuery;

use super::super::super::metric_plan::{self, MetricQueryError, Planned, SeriesInfo};
use super::super::client::Ch;
use super::super::schema::Schema;
use super::catalog::{self, Series};
use super::{exp_histograms, histograms, numbers, summaries};
use crate::store::sqlite::metrics::rollup_math::Semantics;

/// The selected series as SQL parameters, in the plan's order.
pub struct Selection {
    pub keys: Vec<u64>,
    pub groups: Vec<u32>,
    pub ranks: Vec<u32>,
    pub sems: Vec<u8>,
    /// Their services (the tables' first sort key), each once.
    pub services: Vec<String>,
}

impl Selection {
    fn of(p: &Planned<'_>, all: &[Series]) -> Self {
        let mut out = Selection {
            keys: Vec::with_capacity(p.selected.len()),
            groups: Vec::with_capacity(p.selected.len()),
            ranks: Vec::with_capacity(p.selected.len()),
            sems: Vec::with_capacity(p.selected.len()),
            services: Vec::new(),
        };
        for (rank, (s, g)) in p.selected.iter().zip(&p.group_of).enumerate() {
            let Some(series) = usize::try_from(s.id).ok().and_then(|i| all.get(i)) else {
                continue;
            };
            out.keys.push(series.sid);
            out.groups.push(u32::try_from(*g).unwrap_or(u32::MAX));
            out.ranks.push(u32::try_from(rank).unwrap_or(u32::MAX));
            out.sems.push(semantics_code(s.sem));
            if !out.services.contains(&s.service) {
                out.services.push(s.service.clone());
            }
        }
        out
    }
}

/// A series' semantics as SQL reads them: bit 0 "delta" (each point is its
/// own interval), bit 1 "monotonic" (a drop is a restart), bit 2
/// "cumulative" (the first point is a baseline or counts whole, by
/// `FirstPointRule`).
pub fn semantics_code(sem: Semantics) -> u8 {
    let cumulative = !sem.delta && sem.kind != MetricKind::Gauge;
    u8::from(sem.delta) | (u8::from(sem.monotonic) << 1) | (u8::from(cumulative) << 2)
}

/// Binds what every aggregation statement reads: the metric's name, the
/// selection, and the steps (`lo`, `hi`, `step` in Unix nanoseconds).
pub fn bind(query: Query, name: &str, sel: &Selection, p: &Planned<'_>) -> Query {
    let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    query
        .param("name", name)
        .param("services", sel.services.clone())
        .param("keys", sel.keys.clone())
        .param("groups", sel.groups.clone())
        .param("ranks", sel.ranks.clone())
        .param("sems", sel.sems.clone())
        .param("lo", signed(p.start))
        .param("hi", signed(p.end()))
        .param("step", signed(p.step))
}

/// One value per group and step, `None` where a step has nothing.
pub type Values = Vec<Vec<Option<f64>>>;

/// An empty answer grid for `p`.
pub fn empty_values(p: &Planned<'_>) -> Values {
    vec![vec![None; p.steps]; p.groups.len()]
}

/// The cell of group `g`, step `k` (rows from SQL are not trusted to be
/// in range).
pub fn cell(values: &mut Values, g: u32, k: u32) -> Option<&mut Option<f64>> {
    values
        .get_mut(usize::try_from(g).ok()?)?
        .get_mut(usize::try_from(k).ok()?)
}

/// Answers a metric query; `None` for an unknown metric.
pub async fn metric_query(
    ch: &Ch,
    schema: &Schema,
    name: &str,
    q: &MetricQuery,
    now: u64,
) -> Result<Option<MetricQueryResponse>, MetricQueryError> {
    let all = catalog::series_of(ch, schema, name).await?;
    let infos: Vec<SeriesInfo> = all.iter().map(|s| s.info.clone()).collect();
    let Some(p) = metric_plan::plan(&infos, q, now)? else {
        return Ok(None);
    };
    let values = if p.selected.is_empty() {
        empty_values(&p)
    } else {
        let sel = Selection::of(&p, &all);
        match p.kind() {
            MetricKind::Gauge | MetricKind::Sum => {
                numbers::values(ch, schema, name, &sel, &p).await?
            }
            MetricKind::Histogram => histograms::values(ch, schema, name, &sel, &p).await?,
            MetricKind::ExponentialHistogram => {
                exp_histograms::values(ch, schema, name, &sel, &p).await?
            }
            MetricKind::Summary => summaries::values(ch, schema, name, &sel, &p).await?,
        }
    };
    // No rollups: every answer is computed from the raw rows.
    Ok(Some(p.response(name, Resolution::Raw, values)))
}
