//! The SQL every metric read shares: which table holds which kind, what
//! makes a series, the read order of a series' rows, and the rule for the
//! first point of a cumulative series rendered from `rollup_math`.
//!
//! Everything here is fixed text chosen by kind or by an internal switch;
//! values from requests are always bound as `{name:Type}` parameters.

use shared::metrics::MetricKind;

use super::super::schema::{EXP_HISTOGRAM, GAUGE, HISTOGRAM, SUM, SUMMARY, Schema};
use crate::store::sqlite::metrics::rollup_math::{FIRST_CUMULATIVE_POINT, FirstPointRule};

/// The metric tables with the kind each holds, in the order a metric's
/// series are listed when their first points are equally old.
pub const TABLES: [(&str, MetricKind); 5] = [
    (GAUGE, MetricKind::Gauge),
    (SUM, MetricKind::Sum),
    (HISTOGRAM, MetricKind::Histogram),
    (EXP_HISTOGRAM, MetricKind::ExponentialHistogram),
    (SUMMARY, MetricKind::Summary),
];

/// The table of `kind`.
pub fn table_of(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Gauge => GAUGE,
        MetricKind::Sum => SUM,
        MetricKind::Histogram => HISTOGRAM,
        MetricKind::ExponentialHistogram => EXP_HISTOGRAM,
        MetricKind::Summary => SUMMARY,
    }
}

/// A series' key within its table: the exporter has no series table, so a
/// series is the set of rows agreeing on service, unit, resource, scope and
/// attributes (as the embedded engine's series identity, which also holds
/// name and kind). Maps are sorted first, so the order a sender happened to
/// put attributes in does not split a series.
pub const SERIES: &str = "cityHash64(ServiceName, MetricUnit, mapSort(ResourceAttributes), \
     ScopeName, ScopeVersion, mapSort(Attributes))";

/// The read order of a series' rows: time, then insertion order for equal
/// times (the part's first block, then the row's place in the part: an
/// insert is sorted stably and merges keep the parts' order).
pub const ORDER: &str = "_block_number, _part_offset";

/// Column expressions of `table` that every metric read uses.
pub struct Times {
    /// `TimeUnix` in Unix nanoseconds.
    pub time: String,
    /// `StartTimeUnix` in Unix nanoseconds.
    pub start: String,
    /// A condition on `TimeUnix` that holds for every row before `{hi}`
    /// (and maybe a second more), written so partitions and the primary
    /// key prune; rows are then cut exactly on `t`.
    pub before_hi: String,
}

impl Times {
    pub fn of(schema: &Schema, table: &str) -> Self {
        Self {
            time: schema.metric_time_nanos(table, "TimeUnix"),
            start: schema.metric_time_nanos(table, "StartTimeUnix"),
            before_hi: format!("TimeUnix <= {}", schema.metric_time_param(table, "hi")),
        }
    }
}

/// [`FIRST_CUMULATIVE_POINT`] as a condition on a row's `st` (start) and
/// `t` (time): whether the first point of a cumulative series counts its
/// whole value. The embedded engine asks `FirstPointRule::counts_whole`;
/// both read the same constant.
pub fn first_point_counts_whole() -> &'static str {
    first_point_sql(FIRST_CUMULATIVE_POINT)
}

/// `rule` as SQL (see [`first_point_counts_whole`]).
pub fn first_point_sql(rule: FirstPointRule) -> &'static str {
    match rule {
        FirstPointRule::AlwaysBaseline => "false",
        FirstPointRule::CountSinceStart => "(st > 0 AND st < t)",
    }
}

/// The condition "the row is a value": OTLP's no-recorded-value flag clear.
pub const RECORDED: &str = "bitAnd(Flags, 1) = 0";

/// The rows of the selected series up to `{hi}` as the CTE `pts`: each
/// row in `[{lo}, {hi})` plus, per series, its last row before `{lo}` (the
/// point the first increase in the window is taken against). Every row has
/// `sid`, `t`, `blk`, `off` (read order) and `columns` (expression, name);
/// `filter` adds conditions on the table's rows (which rows are points at
/// all). The CTE `base` is those rows before the split.
pub fn points_cte(table: &str, times: &Times, columns: &[(&str, &str)], filter: &str) -> String {
    let defs = join(columns.iter().map(|(e, n)| format!("{e} AS {n}")));
    let names = join(columns.iter().map(|(_, n)| (*n).to_owned()));
    let picks = join(
        columns
            .iter()
            .enumerate()
            .map(|(i, (_, n))| format!("p.{} AS {n}", i + 4)),
    );
    format!(
        "base AS (
            SELECT {SERIES} AS sid, {time} AS t, _block_number AS blk, _part_offset AS off, {defs}
            FROM {table}
            WHERE MetricName = {{name:String}} AND ServiceName IN {{services:Array(String)}}
              AND {before_hi} AND t < {{hi:Int64}} AND sid IN {{keys:Array(UInt64)}}
              AND {filter}
        ),
        pts AS (
            SELECT sid, t, blk, off, {names} FROM base WHERE t >= {{lo:Int64}}
            UNION ALL
            SELECT sid, p.1 AS t, p.2 AS blk, p.3 AS off, {picks}
            FROM (
                SELECT sid, argMax(tuple(t, blk, off, {names}), (t, blk, off)) AS p
                FROM base WHERE t < {{lo:Int64}} GROUP BY sid
            )
        )",
        time = times.time,
        before_hi = times.before_hi,
    )
}

fn join(parts: impl Iterator<Item = String>) -> String {
    parts.collect::<Vec<_>>().join(", ")
}

/// The window of one series' rows in read order, with the row before.
pub const SERIES_WINDOW: &str =
    "WINDOW w AS (PARTITION BY sid ORDER BY t, blk, off ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)";

/// A row's output group and step (its series' group; steps from `{lo}`).
pub const GROUP_AND_STEP: &str =
    "transform(sid, {keys:Array(UInt64)}, {groups:Array(UInt32)}, toUInt32(0)) AS g,
    toUInt32(intDiv(t - {lo:Int64}, {step:Int64})) AS k";

/// A row's series semantics (see `semantics_code`).
pub const SEM: &str = "transform(sid, {keys:Array(UInt64)}, {sems:Array(UInt8)}, toUInt8(0))";
