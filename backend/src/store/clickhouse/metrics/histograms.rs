//! Explicit-bucket histograms per group and step, in one statement.
//!
//! Each point is normalised as `rollup_math::HistRollup::from_point` does
//! (bounds that are not finite and ascending, or counts that do not match
//! them, keep only the total), then becomes its interval's observations:
//! delta points as they are; a cumulative point minus the series' previous
//! point when it continues it (same bounds, no count went down), else as
//! it is (a restart); a series' first point by `FirstPointRule` (a
//! baseline keeps its bounds, min and max but counts nothing). Per group,
//! step and bounds the bucket counts are summed (`sumForEach`) with count,
//! sum, min and max; Rust merges a step's bound sets in the order the
//! embedded engine meets them (first the lowest-ranked series' first
//! sample) and interpolates the percentile with `HistRollup::quantile`.
//!
//! One difference is left: when one group's series use bounds that do not
//! nest, the embedded engine maps a point's buckets onto its series' first
//! bounds and those onto the group's, here they are mapped once, onto the
//! group's; the percentile can differ slightly.

use std::sync::Arc;

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
use crate::store::sqlite::metrics::rollup_math::{HistRollup, Rollup};

/// The exporter's `Min`/`Max` as a nullable (both 0 means neither was
/// sent; see `raw::min_max`).
pub const MIN: &str = "if(NOT (Min = 0 AND Max = 0) AND isFinite(Min), Min, NULL)";
pub const MAX: &str = "if(NOT (Min = 0 AND Max = 0) AND isFinite(Max), Max, NULL)";
/// `Sum` as aggregation reads it (a non-finite sum counts 0).
pub const SUM: &str = "if(isFinite(Sum), Sum, 0)";

#[derive(Row, Deserialize)]
struct HistStep {
    g: u32,
    k: u32,
    bounds: Vec<f64>,
    counts: Vec<u64>,
    count: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
}

fn statement(schema: &Schema) -> String {
    let table = table_of(shared::metrics::MetricKind::Histogram);
    let times = Times::of(schema, table);
    let valid = "(arrayAll(x -> isFinite(x), ExplicitBounds)
        AND arrayAll((a, b) -> a < b, arrayPopBack(ExplicitBounds), arrayPopFront(ExplicitBounds))
        AND length(BucketCounts) = length(ExplicitBounds) + 1)";
    let bounds = format!("if({valid}, ExplicitBounds, [])");
    let counts = format!(
        "if({valid}, BucketCounts, [if(empty(BucketCounts), Count, arraySum(BucketCounts))])"
    );
    let points = points_cte(
        table,
        &times,
        &[
            (times.start.as_str(), "st"),
            ("Count", "c"),
            (SUM, "s"),
            (MIN, "mn"),
            (MAX, "mx"),
            (bounds.as_str(), "bounds"),
            (counts.as_str(), "counts"),
        ],
        RECORDED,
    );
    format!(
        "WITH {points},
        lagged AS (
            SELECT sid, t, blk, off, st, c, s, mn, mx, bounds, counts,
                   {SEM} AS sem, row_number() OVER w AS n,
                   lagInFrame(bounds) OVER w AS pb, lagInFrame(counts) OVER w AS pcs,
                   lagInFrame(c) OVER w AS pc, lagInFrame(s) OVER w AS ps
            FROM pts {SERIES_WINDOW}
        ),
        judged AS (
            SELECT *, arrayResize(pcs, length(counts)) AS before,
                   n > 1 AND pb = bounds AND c >= pc AND length(pcs) = length(counts)
                       AND arrayAll((x, y) -> x >= y, counts, before) AS continues
            FROM lagged
        ),
        kinds AS (
            SELECT *,
                   bitTest(sem, 0) OR (n = 1 AND {first}) OR (n > 1 AND NOT continues) AS whole
            FROM judged
        ),
        samples AS (
            SELECT sid, t, blk, off, mn, mx, bounds,
                   if(whole, counts,
                      if(n = 1, arrayMap(x -> toUInt64(0), counts),
                         arrayMap((x, y) -> toUInt64(x - y), counts, before))) AS dcounts,
                   if(whole, c, if(n = 1, toUInt64(0), toUInt64(c - pc))) AS dc,
                   if(whole, s, if(n = 1, 0., s - ps)) AS ds
            FROM kinds
        )
        SELECT {GROUP_AND_STEP}, bounds, sumForEach(dcounts) AS counts, sum(dc) AS count,
               sum(ds) AS sum, min(mn) AS min, max(mx) AS max
        FROM samples WHERE t >= {{lo:Int64}}
        GROUP BY g, k, bounds
        ORDER BY g, k,
            min((transform(sid, {{keys:Array(UInt64)}}, {{ranks:Array(UInt32)}}, toUInt32(0)), t, blk, off))",
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
    let rows: Vec<HistStep> = ch.rows(bind(ch.sql(&sql), name, sel, p)).await?;
    let mut out = empty_values(p);
    let mut current: Option<(u32, u32, HistRollup)> = None;
    let finish = |done: Option<(u32, u32, HistRollup)>, out: &mut Values| {
        if let Some((g, k, h)) = done
            && let Some(c) = cell(out, g, k)
        {
            *c = Rollup::Histogram(h).evaluate(None, p.agg, p.sem(), p.step_secs());
        }
    };
    for r in rows {
        let h = HistRollup {
            count: r.count,
            sum: r.sum,
            min: r.min,
            max: r.max,
            bounds: Arc::from(r.bounds),
            counts: r.counts,
        };
        match &mut current {
            Some((g, k, acc)) if *g == r.g && *k == r.k => acc.merge(&h),
            _ => {
                let done = current.replace((r.g, r.k, h));
                finish(done, &mut out);
            }
        }
    }
    finish(current, &mut out);
    Ok(out)
}
