//! Exponential histograms per group and step, in one statement.
//!
//! Buckets travel as sparse (index, count) pairs, which `sumMap` adds up
//! whatever their offsets. Each point is read as
//! `exp_buckets::ExpBuckets::from_otlp` reads it (scale clamped to
//! −10…20, indexes shifted when it is lowered), then becomes its interval's
//! observations as `rollup_math::ExpRollup` computes them: delta points as
//! they are; a cumulative point minus the series' previous point at the
//! smaller of their scales when no count went down, else as it is (a
//! restart); a series' first point by `FirstPointRule` (a baseline is an
//! empty set of buckets at its scale). Per group and step every sample is
//! brought to the smallest scale among them (indexes shifted right, which
//! merges buckets pairwise), and zero count, buckets, count, sum, min and
//! max are summed; the percentile is interpolated by
//! `ExpBuckets::quantile`.
//!
//! Left out: the embedded engine lowers the scale further when merged
//! buckets would span more than `exp_buckets::MAX_SPAN` (2,048) indexes;
//! here that happens once per step, on the summed buckets (SDKs keep at
//! most 160 buckets, far from it).

use clickhouse::Row;
use serde::Deserialize;

use super::super::super::StoreError;
use super::super::super::metric_plan::Planned;
use super::super::client::Ch;
use super::super::schema::Schema;
use super::histograms::{MAX, MIN, SUM};
use super::selection::{Selection, Values, bind, cell, empty_values};
use super::sql::{
    GROUP_AND_STEP, RECORDED, SEM, SERIES_WINDOW, Times, first_point_counts_whole, points_cte,
    table_of,
};
use crate::store::sqlite::metrics::exp_buckets::{ExpBuckets, MAX_SPAN, Side};
use crate::store::sqlite::metrics::rollup_math::{ExpRollup, Rollup};

#[derive(Row, Deserialize)]
struct ExpStep {
    g: u32,
    k: u32,
    scale: i32,
    zero: u64,
    pos_keys: Vec<i64>,
    pos_counts: Vec<i64>,
    neg_keys: Vec<i64>,
    neg_counts: Vec<i64>,
    count: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
}

/// One side of a point as sparse `(indexes, counts)` (both Int64; an index
/// may repeat, which every later step sums), with the scale clamped as
/// `ExpBuckets::from_otlp` does.
fn side(offset: &str, counts: &str) -> String {
    format!(
        "(arrayMap(i -> bitShiftRight(toInt64({offset}) + i - 1, greatest(Scale - 20, 0)),
                   arrayEnumerate({counts})),
          arrayMap(c -> toInt64(c), {counts}))"
    )
}

/// Sparse buckets `x` `by` scales lower.
fn down(x: &str, by: &str) -> String {
    format!("(arrayMap(i -> bitShiftRight(i, {by}), {x}.1), {x}.2)")
}

fn statement(schema: &Schema) -> String {
    let table = table_of(shared::metrics::MetricKind::ExponentialHistogram);
    let times = Times::of(schema, table);
    let pos = side("PositiveOffset", "PositiveBucketCounts");
    let neg = side("NegativeOffset", "NegativeBucketCounts");
    let points = points_cte(
        table,
        &times,
        &[
            (times.start.as_str(), "st"),
            ("Count", "c"),
            (SUM, "s"),
            (MIN, "mn"),
            (MAX, "mx"),
            ("least(greatest(Scale, -10), 20)", "sc"),
            ("ZeroCount", "z"),
            (pos.as_str(), "pos"),
            (neg.as_str(), "neg"),
        ],
        RECORDED,
    );
    format!(
        "WITH {points},
        lagged AS (
            SELECT sid, t, blk, off, st, c, s, mn, mx, sc, z, pos, neg,
                   {SEM} AS sem, row_number() OVER w AS n,
                   lagInFrame(sc) OVER w AS psc, lagInFrame(z) OVER w AS pz,
                   lagInFrame(pos) OVER w AS ppos, lagInFrame(neg) OVER w AS pneg,
                   lagInFrame(c) OVER w AS pc, lagInFrame(s) OVER w AS ps
            FROM pts {SERIES_WINDOW}
        ),
        diffs AS (
            SELECT *, least(sc, psc) AS ms,
                   mapSubtract({pos_now}, {pos_before}) AS dpos,
                   mapSubtract({neg_now}, {neg_before}) AS dneg
            FROM lagged
        ),
        judged AS (
            SELECT *,
                   n > 1 AND c >= pc AND z >= pz
                       AND arrayAll(x -> x >= 0, dpos.2) AND arrayAll(x -> x >= 0, dneg.2)
                       AS continues
            FROM diffs
        ),
        kinds AS (
            SELECT *,
                   bitTest(sem, 0) OR (n = 1 AND {first}) OR (n > 1 AND NOT continues) AS whole,
                   n = 1 AND NOT whole AS baseline
            FROM judged
        ),
        samples AS (
            SELECT sid, t, mn, mx,
                   if(continues, ms, sc) AS osc,
                   if(whole, z, if(baseline, toUInt64(0), toUInt64(z - pz))) AS oz,
                   if(whole, pos.1, if(baseline, [], dpos.1)) AS opk,
                   if(whole, pos.2, if(baseline, [], dpos.2)) AS opv,
                   if(whole, neg.1, if(baseline, [], dneg.1)) AS onk,
                   if(whole, neg.2, if(baseline, [], dneg.2)) AS onv,
                   if(whole, c, if(baseline, toUInt64(0), toUInt64(c - pc))) AS oc,
                   if(whole, s, if(baseline, 0., s - ps)) AS os
            FROM kinds
        ),
        stepped AS (
            SELECT {GROUP_AND_STEP}, osc, oz, opk, opv, onk, onv, oc, os, mn, mx
            FROM samples WHERE t >= {{lo:Int64}}
        ),
        scaled AS (
            SELECT *, min(osc) OVER (PARTITION BY g, k) AS gs FROM stepped
        )
        SELECT g, k, scale, zero, pos.1 AS pos_keys, pos.2 AS pos_counts,
               neg.1 AS neg_keys, neg.2 AS neg_counts, count, sum, min, max
        FROM (
            SELECT g, k, toInt32(any(gs)) AS scale, sum(oz) AS zero,
                   sumMap(arrayMap(i -> bitShiftRight(i, osc - gs), opk), opv) AS pos,
                   sumMap(arrayMap(i -> bitShiftRight(i, osc - gs), onk), onv) AS neg,
                   sum(oc) AS count, sum(os) AS sum, min(mn) AS min, max(mx) AS max
            FROM scaled GROUP BY g, k
        )",
        pos_now = down("pos", "sc - ms"),
        pos_before = down("ppos", "psc - ms"),
        neg_now = down("neg", "sc - ms"),
        neg_before = down("pneg", "psc - ms"),
        first = first_point_counts_whole(),
    )
}

/// Dense buckets from sparse ones at `scale`, lowered until each side
/// spans at most [`MAX_SPAN`] indexes (as `ExpBuckets` keeps them).
fn buckets(r: &ExpStep) -> ExpBuckets {
    let span = |keys: &[i64], by: u32| match (keys.first(), keys.last()) {
        (Some(lo), Some(hi)) => (hi >> by) - (lo >> by) + 1,
        _ => 0,
    };
    let mut by = 0u32;
    while by < 62
        && (span(&r.pos_keys, by) > MAX_SPAN as i64 || span(&r.neg_keys, by) > MAX_SPAN as i64)
    {
        by += 1;
    }
    let dense = |keys: &[i64], counts: &[i64]| -> Side {
        let Some(lo) = keys.first().map(|k| k >> by) else {
            return Side::default();
        };
        let mut side = Side {
            offset: i32::try_from(lo).unwrap_or(0),
            counts: Vec::new(),
        };
        for (k, c) in keys.iter().zip(counts) {
            let Ok(at) = usize::try_from((k >> by) - lo) else {
                continue;
            };
            if at >= side.counts.len() {
                side.counts.resize(at + 1, 0);
            }
            if let Some(slot) = side.counts.get_mut(at) {
                *slot = slot.saturating_add(u64::try_from(*c).unwrap_or(0));
            }
        }
        side
    };
    ExpBuckets {
        scale: r.scale.saturating_sub(i32::try_from(by).unwrap_or(0)),
        zero: r.zero,
        pos: dense(&r.pos_keys, &r.pos_counts),
        neg: dense(&r.neg_keys, &r.neg_counts),
    }
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
    let rows: Vec<ExpStep> = ch.rows(bind(ch.sql(&sql), name, sel, p)).await?;
    let mut out = empty_values(p);
    for r in rows {
        let rollup = ExpRollup {
            count: r.count,
            sum: r.sum,
            min: r.min,
            max: r.max,
            buckets: buckets(&r),
        };
        if let Some(c) = cell(&mut out, r.g, r.k) {
            *c = Rollup::Exp(rollup).evaluate(None, p.agg, p.sem(), p.step_secs());
        }
    }
    Ok(out)
}
