//! Summaries per series and step, in one statement.
//!
//! A point's count and sum increases come from a window over the series'
//! rows as `rollup_math::Differ` computes them (a count that went down is
//! a restart; a series' first point by `FirstPointRule`), summed per
//! series and step, with the step's latest quantiles (`argMax` in read
//! order). Summaries stay per series because quantiles cannot be merged:
//! a group's percentile is the mean of its series' percentiles, its other
//! aggregations merge the series' steps, all in Rust as the embedded
//! engine does.

use clickhouse::Row;
use serde::Deserialize;

use super::super::super::StoreError;
use super::super::super::metric_plan::{Planned, per_series_quantile};
use super::super::client::Ch;
use super::super::schema::Schema;
use super::catalog::unsigned;
use super::selection::{Selection, Values, bind, cell, empty_values};
use super::sql::{RECORDED, SERIES_WINDOW, Times, first_point_counts_whole, points_cte, table_of};
use crate::store::sqlite::metrics::rollup_math::{Rollup, SummaryRollup};

#[derive(Row, Deserialize)]
struct SummaryStep {
    r: u32,
    k: u32,
    count: u64,
    sum: f64,
    quantiles: Vec<f64>,
    values: Vec<f64>,
    last: i64,
}

fn statement(schema: &Schema) -> String {
    let table = table_of(shared::metrics::MetricKind::Summary);
    let times = Times::of(schema, table);
    let points = points_cte(
        table,
        &times,
        &[
            (times.start.as_str(), "st"),
            ("Count", "c"),
            ("if(isFinite(Sum), Sum, 0)", "s"),
            ("`ValueAtQuantiles.Quantile`", "qs"),
            ("`ValueAtQuantiles.Value`", "vs"),
        ],
        RECORDED,
    );
    format!(
        "WITH {points},
        samples AS (
            SELECT sid, t, blk, off, qs, vs, row_number() OVER w AS n,
                   lagInFrame(c) OVER w AS pc, lagInFrame(s) OVER w AS ps,
                   multiIf(n = 1, if({first}, c, toUInt64(0)), c >= pc, toUInt64(c - pc), c) AS dc,
                   multiIf(n = 1, if({first}, s, 0.), c >= pc, s - ps, s) AS ds
            FROM pts {SERIES_WINDOW}
        )
        SELECT r, k, count, sum, latest.1 AS quantiles, latest.2 AS values, last
        FROM (
            SELECT transform(sid, {{keys:Array(UInt64)}}, {{ranks:Array(UInt32)}}, toUInt32(0)) AS r,
                   toUInt32(intDiv(t - {{lo:Int64}}, {{step:Int64}})) AS k,
                   sum(dc) AS count, sum(ds) AS sum,
                   argMax(tuple(qs, vs), (t, blk, off)) AS latest, max(t) AS last
            FROM samples WHERE t >= {{lo:Int64}}
            GROUP BY r, k
        )
        ORDER BY r, k",
        first = first_point_counts_whole(),
    )
}

/// Each group's answer per step.
pub async fn values(
    ch: &Ch,
    schema: &Schema,
    name: &str,
    sel: &Selection,
    p: &Planned<'_>,
) -> Result<Values, StoreError> {
    let sql = statement(schema);
    let rows: Vec<SummaryStep> = ch.rows(bind(ch.sql(&sql), name, sel, p)).await?;
    let (kind, agg, step_secs) = (p.kind(), p.agg, p.step_secs());
    let per_series = per_series_quantile(kind, agg);
    // Per group and step: the merged steps of its series, and the sum and
    // number of its series' own answers.
    let mut merged: Vec<Vec<(Option<Rollup>, f64, u32)>> =
        vec![vec![(None, 0.0, 0); p.steps]; p.groups.len()];
    for row in rows {
        let rank = usize::try_from(row.r).unwrap_or(usize::MAX);
        let (Some(series), Some(&g)) = (p.selected.get(rank), p.group_of.get(rank)) else {
            continue;
        };
        let Some(slot) = merged
            .get_mut(g)
            .and_then(|steps| steps.get_mut(usize::try_from(row.k).unwrap_or(usize::MAX)))
        else {
            continue;
        };
        let mut quantiles: Vec<(f64, f64)> = row
            .quantiles
            .into_iter()
            .zip(row.values)
            .filter(|(q, v)| q.is_finite() && v.is_finite())
            .collect();
        quantiles.sort_by(|a, b| a.0.total_cmp(&b.0));
        let r = Rollup::Summary(SummaryRollup {
            count: row.count,
            sum: row.sum,
            last_time: unsigned(row.last),
            quantiles,
        });
        if per_series && let Some(v) = r.evaluate(None, agg, series.sem, step_secs) {
            slot.1 += v;
            slot.2 += 1;
        }
        Rollup::merge_owned(&mut slot.0, r);
    }
    let mut out = empty_values(p);
    for (g, steps) in merged.into_iter().enumerate() {
        for (k, (rollup, total, n)) in steps.into_iter().enumerate() {
            let value = if per_series {
                (n > 0)
                    .then(|| total / f64::from(n))
                    .filter(|v| v.is_finite())
            } else {
                rollup.and_then(|r| r.evaluate(None, agg, p.sem(), step_secs))
            };
            if let (Ok(g), Ok(k)) = (u32::try_from(g), u32::try_from(k))
                && let Some(c) = cell(&mut out, g, k)
            {
                *c = value;
            }
        }
    }
    Ok(out)
}
