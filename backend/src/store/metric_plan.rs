//! What a metric query asks, whichever engine answers it: the series it
//! selects, its aggregation, the steps of its window, the output groups
//! and their labels, and the errors that name a parameter.
//!
//! The SQLite engine (`store::metric_query`) and the ClickHouse engine
//! (`store::clickhouse::metrics`) both plan with [`plan`] and answer with
//! [`Planned::response`], so the API's meaning cannot drift between them;
//! only how each step's numbers are found differs.

use std::collections::{BTreeMap, HashMap};

use shared::api::{MetricQueryResponse, MetricSeriesResult, MetricValue, Resolution, SeriesLabel};
use shared::metrics::MetricKind;
use shared::query::{Aggregation, AttrFilter, MetricQuery, ParamError, format_duration};
use shared::{KeyValue, UnixNanos};

pub use super::contract::MetricQueryError;
use super::sqlite::metrics::rollup_math::Semantics;
use super::sqlite::metrics::rollups::{HOUR, MINUTE};

/// Most output points a query may ask for (as Prometheus' 11,000).
pub const MAX_POINTS: u64 = 11_000;
/// Default steps, chosen so a window gets 120–300 points.
const NICE_STEPS: [u64; 15] = [
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
    15_000_000_000,
    30_000_000_000,
    MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    24 * HOUR,
];
/// Points a default step aims at, at most…
const TARGET_POINTS: u64 = 300;
/// …and at least.
const MIN_POINTS: f64 = 120.0;

/// A stored series with what selecting and labelling it needs.
#[derive(Clone, Debug)]
pub struct SeriesInfo {
    /// The engine's own handle on the series (SQLite: its row id).
    pub id: i64,
    pub kind: MetricKind,
    pub sem: Semantics,
    pub unit: String,
    pub description: String,
    pub service: String,
    pub resource: Vec<KeyValue>,
    pub scope_name: String,
    pub scope_version: String,
    /// Sorted by key.
    pub attributes: Vec<KeyValue>,
    pub first_time: u64,
    pub last_time: u64,
}

impl SeriesInfo {
    /// The value of `key` among the point attributes, then the resource's.
    pub fn attr(&self, key: &str) -> Option<String> {
        if key == "service.name" {
            return Some(self.service.clone());
        }
        shared::value::find(&self.attributes, key)
            .or_else(|| shared::value::find(&self.resource, key))
            .map(shared::AnyValue::to_display_string)
    }

    pub fn matches(&self, filters: &[AttrFilter]) -> bool {
        filters
            .iter()
            .all(|f| self.attr(&f.key).is_some_and(|v| v == f.value))
    }
}

/// The default step: the one of [`NICE_STEPS`] (or a whole number of days)
/// whose point count over `window` is nearest to 120–300 (by ratio; the
/// finest such step, so the most points, when several are inside). The nice steps are up to 5× apart, so some
/// windows (6 hours: 360 or 72 points) cannot land inside the band.
pub fn default_step(window: u64) -> u64 {
    let w = window.max(1);
    let miss = |step: u64| {
        let points = (w / step).max(1) as f64;
        (MIN_POINTS / points)
            .max(points / TARGET_POINTS as f64)
            .max(1.0)
    };
    let days = (w / TARGET_POINTS)
        .div_ceil(24 * HOUR)
        .max(2)
        .saturating_mul(24 * HOUR);
    let mut best = NICE_STEPS[0];
    for step in NICE_STEPS.iter().copied().chain([days]) {
        if miss(step) < miss(best) {
            best = step;
        }
    }
    best
}

/// A query made concrete against the series of its metric.
pub struct Planned<'a> {
    /// The metric's first series: its kind, unit, description and
    /// semantics stand for the metric.
    pub lead: &'a SeriesInfo,
    pub agg: Aggregation,
    /// The series the filters select (of the lead's kind), in the order
    /// the engine listed them.
    pub selected: Vec<&'a SeriesInfo>,
    /// Start of the first step (a multiple of `step`).
    pub start: u64,
    pub step: u64,
    pub steps: usize,
    /// The output group of each selected series (an index into `groups`).
    pub group_of: Vec<usize>,
    /// The labels of each output group, in output order.
    pub groups: Vec<Vec<SeriesLabel>>,
}

impl Planned<'_> {
    pub fn kind(&self) -> MetricKind {
        self.lead.kind
    }

    pub fn sem(&self) -> Semantics {
        self.lead.sem
    }

    /// End of the last step (exclusive).
    pub fn end(&self) -> u64 {
        self.start
            .saturating_add(self.step.saturating_mul(self.steps as u64))
    }

    pub fn step_secs(&self) -> f64 {
        self.step as f64 / 1e9
    }

    /// The answer, from each group's value per step (`values[group][step]`);
    /// groups without any value are left out.
    pub fn response(
        &self,
        name: &str,
        resolution: Resolution,
        values: Vec<Vec<Option<f64>>>,
    ) -> MetricQueryResponse {
        let series = self
            .groups
            .iter()
            .zip(values)
            .filter(|(_, v)| v.iter().any(Option::is_some))
            .map(|(labels, v)| MetricSeriesResult {
                labels: labels.clone(),
                points: v
                    .into_iter()
                    .enumerate()
                    .map(|(k, value)| MetricValue {
                        time: UnixNanos(self.start + k as u64 * self.step),
                        value,
                    })
                    .collect(),
            })
            .collect();
        MetricQueryResponse {
            name: name.to_owned(),
            kind: self.lead.kind,
            unit: self.lead.unit.clone(),
            description: self.lead.description.clone(),
            agg: self.agg,
            from: UnixNanos(self.start),
            to: UnixNanos(self.end()),
            step: UnixNanos(self.step),
            resolution,
            series,
        }
    }
}

/// Plans `q` over `all`, the metric's series with its first series first;
/// `None` when there is none (an unknown metric).
///
/// A name sent with several kinds answers with its first series' kind. An
/// open window (no `from`/`to`/`range`) is clamped to the selected series'
/// data; the step defaults to [`default_step`] of the window and may make at
/// most [`MAX_POINTS`] points.
pub fn plan<'a>(
    all: &'a [SeriesInfo],
    q: &MetricQuery,
    now: u64,
) -> Result<Option<Planned<'a>>, MetricQueryError> {
    let Some(lead) = all.first() else {
        return Ok(None);
    };
    let kind = lead.kind;
    let sem = lead.sem;
    let selected: Vec<&SeriesInfo> = all
        .iter()
        .filter(|s| s.kind == kind && s.matches(&q.attrs))
        .collect();
    let agg = q.agg.unwrap_or_else(|| sem.default_aggregation());
    if agg.quantile().is_some()
        && matches!(kind, MetricKind::Gauge | MetricKind::Sum)
        && !sem.has_reading_percentiles()
    {
        return Err(ParamError::new(
            "agg",
            format!(
                "{} of a counter's running total means nothing; use rate or sum",
                agg.as_str()
            ),
        )
        .into());
    }

    let bounds = q.window.resolve(now)?;
    let span_of: Vec<&SeriesInfo> = if selected.is_empty() {
        all.iter().collect()
    } else {
        selected.clone()
    };
    let data_first = span_of.iter().map(|s| s.first_time).min().unwrap_or(0);
    let data_last = span_of.iter().map(|s| s.last_time).max().unwrap_or(0);
    let open_from = q.window.from.is_none() && q.window.range.is_none();
    let open_to = q.window.to.is_none() && q.window.range.is_none();
    let from = if open_from { data_first } else { bounds.from };
    let to = if open_to { data_last } else { bounds.to }.max(from);

    let step = q.step.unwrap_or_else(|| default_step(to - from));
    let start = from / step * step;
    let steps = (to / step - from / step).saturating_add(1);
    if steps > MAX_POINTS {
        return Err(ParamError::new(
            "step",
            format!(
                "{} makes {steps} points over this window; at most {MAX_POINTS} (choose a larger step or a shorter window)",
                format_duration(step)
            ),
        )
        .into());
    }

    // Output groups: each series alone (by its labels), or by the group_by
    // values; in the order of those keys.
    let keyed: Vec<(Vec<String>, Vec<SeriesLabel>)> = if q.group_by.is_empty() {
        series_labels(&selected)
            .into_iter()
            .map(|l| {
                (
                    l.iter()
                        .flat_map(|x| [x.key.clone(), x.value.clone()])
                        .collect(),
                    l,
                )
            })
            .collect()
    } else {
        selected
            .iter()
            .map(|s| {
                let values: Vec<String> = q
                    .group_by
                    .iter()
                    .map(|k| s.attr(k).unwrap_or_default())
                    .collect();
                let labels = q
                    .group_by
                    .iter()
                    .zip(&values)
                    .map(|(k, v)| SeriesLabel {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect();
                (values, labels)
            })
            .collect()
    };
    let mut order: BTreeMap<&[String], &[SeriesLabel]> = BTreeMap::new();
    for (key, labels) in &keyed {
        order.entry(key.as_slice()).or_insert(labels.as_slice());
    }
    let index: HashMap<&[String], usize> = order.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let group_of = keyed
        .iter()
        .map(|(key, _)| index.get(key.as_slice()).copied().unwrap_or(0))
        .collect();
    let groups = order.values().map(|l| l.to_vec()).collect();

    Ok(Some(Planned {
        lead,
        agg,
        selected,
        start,
        step,
        steps: steps as usize,
        group_of,
        groups,
    }))
}

/// Summary quantiles cannot be merged: a group's value is the mean of its
/// series' values.
pub fn per_series_quantile(kind: MetricKind, agg: Aggregation) -> bool {
    kind == MetricKind::Summary
        && !matches!(agg, Aggregation::Rate | Aggregation::Sum | Aggregation::Avg)
}

/// Labels of ungrouped output series: `service.name`, then the series'
/// attributes; where those do not tell two series apart, the resource
/// attributes that do (and the scope, if even those are equal).
fn series_labels(selected: &[&SeriesInfo]) -> Vec<Vec<SeriesLabel>> {
    let label = |key: &str, value: String| SeriesLabel {
        key: key.to_owned(),
        value,
    };
    let mut out: Vec<Vec<SeriesLabel>> = selected
        .iter()
        .map(|s| {
            let mut l = vec![label("service.name", s.service.clone())];
            l.extend(
                s.attributes
                    .iter()
                    .filter(|kv| kv.key != "service.name")
                    .map(|kv| label(&kv.key, kv.value.to_display_string())),
            );
            l
        })
        .collect();
    let mut same: HashMap<Vec<(String, String)>, Vec<usize>> = HashMap::new();
    for (i, l) in out.iter().enumerate() {
        let key = l.iter().map(|x| (x.key.clone(), x.value.clone())).collect();
        same.entry(key).or_default().push(i);
    }
    for members in same.values().filter(|m| m.len() > 1) {
        let mut keys: Vec<&str> = members
            .iter()
            .filter_map(|i| selected.get(*i))
            .flat_map(|s| s.resource.iter().map(|kv| kv.key.as_str()))
            .filter(|k| *k != "service.name")
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let value_of = |i: usize, k: &str| {
            selected
                .get(i)
                .and_then(|s| shared::value::find(&s.resource, k))
                .map(shared::AnyValue::to_display_string)
                .unwrap_or_default()
        };
        let first = members.first().copied().unwrap_or_default();
        let differing: Vec<&str> = keys
            .into_iter()
            .filter(|k| {
                let first = value_of(first, k);
                members.iter().any(|i| value_of(*i, k) != first)
            })
            .collect();
        for &i in members {
            let Some(s) = selected.get(i) else { continue };
            let Some(l) = out.get_mut(i) else { continue };
            for k in &differing {
                l.push(label(k, value_of(i, k)));
            }
            if differing.is_empty() {
                l.push(label("otel.scope.name", s.scope_name.clone()));
                l.push(label("otel.scope.version", s.scope_version.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_steps_give_120_to_300_points_for_common_windows() {
        let m = MINUTE;
        for (window, step) in [
            (15 * m, 5_000_000_000u64),
            (HOUR, 15_000_000_000),
            (24 * HOUR, 5 * m),
            (7 * 24 * HOUR, HOUR),
            (30 * 24 * HOUR, 3 * HOUR),
            (400 * 24 * HOUR, 2 * 24 * HOUR),
        ] {
            assert_eq!(default_step(window), step, "window {window}");
            let points = window / step;
            assert!((120..=300).contains(&points), "{points} points");
        }
        // Between two nice steps, the nearer count wins: 360 beats 72.
        assert_eq!(default_step(6 * HOUR), m);
        assert_eq!(default_step(0), 1_000_000_000);
    }
}
