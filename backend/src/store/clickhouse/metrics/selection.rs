//! What every metric aggregation statement shares: the selected series as
//! SQL parameters, their binding, and the grid of answers per group and
//! step.

use clickhouse::query::Query;
use shared::metrics::MetricKind;

use super::super::super::metric_plan::Planned;
use super::catalog::Series;
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
    pub fn of(p: &Planned<'_>, all: &[Series]) -> Self {
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
