//! Gauges and sums per group and step, in one statement.
//!
//! A point is a value when its flags say "recorded" and its value is
//! finite (others are left out and do not break the chain). Each value's
//! increase over the series' previous value comes from a window over the
//! series' rows in read order (`lagInFrame`), as `rollup_math::Differ`
//! computes it: delta sums count the value itself; counters count a drop
//! as a restart (the new value counted since); gauges and up-down sums
//! the plain difference; a series' first point follows `FirstPointRule`.
//! Then per group and step: count, sum, min, max, the increases' sum and,
//! for percentiles, `quantileExactInclusive` of the values (the rank
//! `q·(n-1)` interpolation of `rollup_math::exact_percentile`).

use clickhouse::Row;
use serde::Deserialize;

use super::super::super::StoreError;
use super::super::super::metric_plan::Planned;
use super::super::client::Ch;
use super::super::schema::Schema;
use super::selection::{Selection, Values, bind, cell, empty_values};
use super::sql::{
    GROUP_AND_STEP, RECORDED, SEM, SERIES_WINDOW, Times, first_point_counts_whole, points_cte,
    table_of,
};
use crate::store::sqlite::metrics::rollup_math::{NumberRollup, Rollup};

#[derive(Row, Deserialize)]
struct NumberStep {
    g: u32,
    k: u32,
    n: u64,
    total: f64,
    lowest: f64,
    highest: f64,
    increase: f64,
    pct: f64,
}

fn statement(schema: &Schema, table: &str, percentile: bool) -> String {
    let times = Times::of(schema, table);
    let points = points_cte(
        table,
        &times,
        &[("Value", "v"), (times.start.as_str(), "st")],
        &format!("{RECORDED} AND isFinite(Value)"),
    );
    let pct = if percentile {
        "quantileExactInclusive({q:Float64})(v)"
    } else {
        "toFloat64(0)"
    };
    format!(
        "WITH {points},
        inc AS (
            SELECT sid, t, v, {SEM} AS sem, row_number() OVER w AS n, lagInFrame(v) OVER w AS pv,
                   multiIf(bitTest(sem, 0), v,
                           n = 1, if(bitTest(sem, 2) AND {first}, v, 0),
                           bitTest(sem, 1) AND v < pv, v,
                           v - pv) AS inc
            FROM pts {SERIES_WINDOW}
        )
        SELECT {GROUP_AND_STEP}, count() AS n, sum(v) AS total, min(v) AS lowest,
               max(v) AS highest, sum(inc) AS increase, {pct} AS pct
        FROM inc WHERE t >= {{lo:Int64}}
        GROUP BY g, k",
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
    let quantile = p.agg.quantile();
    let sql = statement(schema, table_of(p.kind()), quantile.is_some());
    let mut query = bind(ch.sql(&sql), name, sel, p);
    if let Some(q) = quantile {
        query = query.param("q", q);
    }
    let rows: Vec<NumberStep> = ch.rows(query).await?;
    let mut out = empty_values(p);
    let (sem, step_secs) = (p.sem(), p.step_secs());
    for r in rows {
        let value = match quantile {
            Some(_) => Some(r.pct).filter(|v| v.is_finite()),
            None => Rollup::Number(NumberRollup {
                count: r.n,
                sum: r.total,
                min: r.lowest,
                max: r.highest,
                first_time: 0,
                first: 0.0,
                last_time: 0,
                last: 0.0,
                increase: r.increase,
                sketch: None,
            })
            .evaluate(None, p.agg, sem, step_secs),
        };
        if let Some(c) = cell(&mut out, r.g, r.k) {
            *c = value;
        }
    }
    Ok(out)
}
