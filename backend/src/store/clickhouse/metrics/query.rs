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

use shared::api::{MetricQueryResponse, Resolution};
use shared::metrics::MetricKind;
use shared::query::MetricQuery;

use super::super::super::metric_plan::{self, MetricQueryError, SeriesInfo};
use super::super::client::Ch;
use super::super::schema::Schema;
use super::catalog;
use super::selection::{Selection, empty_values};
use super::{exp_histograms, histograms, numbers, summaries};

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
