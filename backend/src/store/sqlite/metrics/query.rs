//! The metric catalog (`GET /api/metrics`) and metric queries
//! (`GET /api/metrics/{name}/query`): series selected by attributes,
//! aggregated per step, merged per group. What a query means (selection,
//! window, steps, groups, labels, parameter errors) is planned by
//! `store::metric_plan`, shared with the ClickHouse engine.
//!
//! **Resolution.** A step under a minute reads raw points; a step that is a
//! whole number of minutes (under an hour) reads 1-minute rollups; a whole
//! number of hours reads 1-hour rollups. (A step that is not such a multiple
//! uses the next finer data, so buckets never straddle steps.) Rollups cover
//! what is sealed; per series, everything from the bucket of its oldest
//! head point on is read raw and folded into the same buckets, so the
//! newest minutes and late points are always in the answer. A series
//! listed for a rollup backfill is read raw throughout.
//!
//! Raw and rolled-up data give the same numbers (the arithmetic is in
//! `rollup_math`), except percentiles of gauge/sum readings, which
//! come from each bucket's value sketch (±0.55 %) unless the query is raw.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};
use shared::KeyValue;
use shared::api::{MetricInfo, MetricQueryResponse, MetricsResponse, Resolution};
use shared::metrics::{MetricKind, Temporality};
use shared::query::{Aggregation, MetricListQuery, MetricQuery};

use super::metric_chunks;
use super::point_codec::StoredPoint;
use super::point_codec::{self, HistRunReader};
use super::rollup_codec;
use super::rollup_math::{Differ, HistRollup, Rollup, Sample, Semantics};
use super::rollups::{self, HOUR, MINUTE};
use crate::store::StoreError;
use crate::store::contract::MetricQueryError;
pub use crate::store::metric_plan::{MAX_POINTS, default_step};
use crate::store::metric_plan::{SeriesInfo, per_series_quantile};
use crate::store::sqlite::blocks::codec::{CodecError, Cursor};
use crate::store::sqlite::strings;

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[derive(serde::Deserialize)]
struct Identity {
    resource: Vec<KeyValue>,
    scope_name: String,
    scope_version: String,
    attributes: Vec<KeyValue>,
}

/// Every series of a metric name, by id.
fn load_series(conn: &Connection, name_id: i64) -> Result<Vec<SeriesInfo>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, unit, description, temporality, monotonic, service_id, identity, first_time, last_time
         FROM metric_series WHERE name_id = ?1 ORDER BY id",
    )?;
    let mut rows = stmt.query(params![name_id])?;
    let mut services: HashMap<i64, String> = HashMap::new();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let kind = MetricKind::from_code(r.get(1)?)
            .ok_or_else(|| StoreError::Corrupt(id, "metric kind".into()))?;
        let temporality = Temporality::from_otlp(r.get(4)?);
        let monotonic: bool = r.get(5)?;
        let service_id: i64 = r.get(6)?;
        let ident: Identity =
            serde_json::from_slice(r.get_ref(7)?.as_blob().map_err(rusqlite::Error::from)?)
                .map_err(|e| StoreError::Corrupt(id, e.to_string()))?;
        let service = match services.get(&service_id) {
            Some(s) => s.clone(),
            None => {
                let s = strings::value(conn, service_id)?;
                services.insert(service_id, s.clone());
                s
            }
        };
        out.push(SeriesInfo {
            id,
            kind,
            sem: Semantics::of(kind, temporality, monotonic),
            unit: r.get(2)?,
            description: r.get(3)?,
            service,
            resource: ident.resource,
            scope_name: ident.scope_name,
            scope_version: ident.scope_version,
            attributes: ident.attributes,
            first_time: from_i64(r.get(8)?),
            last_time: from_i64(r.get(9)?),
        });
    }
    Ok(out)
}

/// The metric catalog, by name. A metric's kind, unit, description,
/// temporality and monotonicity are those of its first series; the series
/// count and services cover all its series (`service` only selects which
/// metrics are listed).
pub fn metric_list(conn: &Connection, q: &MetricListQuery) -> Result<MetricsResponse, StoreError> {
    struct Entry {
        first: (u8, String, String, i32, bool),
        series: u64,
        services: Vec<i64>,
    }
    let mut by_name: BTreeMap<i64, Entry> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT name_id, kind, unit, description, temporality, monotonic, service_id
         FROM metric_series ORDER BY name_id, id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let name_id: i64 = r.get(0)?;
        let service: i64 = r.get(6)?;
        match by_name.get_mut(&name_id) {
            Some(e) => {
                e.series += 1;
                if !e.services.contains(&service) {
                    e.services.push(service);
                }
            }
            None => {
                by_name.insert(
                    name_id,
                    Entry {
                        first: (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?),
                        series: 1,
                        services: vec![service],
                    },
                );
            }
        }
    }
    drop(rows);
    let needle = q.q.as_ref().map(|s| s.to_lowercase());
    let mut names: HashMap<i64, String> = HashMap::new();
    let mut metrics = Vec::new();
    for (name_id, e) in by_name {
        let name = strings::value(conn, name_id)?;
        if needle
            .as_ref()
            .is_some_and(|n| !name.to_lowercase().contains(n.as_str()))
        {
            continue;
        }
        let mut services = Vec::with_capacity(e.services.len());
        for id in e.services {
            let s = match names.get(&id) {
                Some(s) => s.clone(),
                None => {
                    let s = strings::value(conn, id)?;
                    names.insert(id, s.clone());
                    s
                }
            };
            services.push(s);
        }
        services.sort();
        if q.service.as_ref().is_some_and(|s| !services.contains(s)) {
            continue;
        }
        let (kind, unit, description, temporality, monotonic) = e.first;
        let kind = MetricKind::from_code(kind)
            .ok_or_else(|| StoreError::Corrupt(name_id, "metric kind".into()))?;
        metrics.push(MetricInfo {
            name,
            kind,
            unit,
            description,
            temporality: Temporality::from_otlp(temporality),
            is_monotonic: monotonic,
            series_count: e.series,
            services,
        });
    }
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(MetricsResponse { metrics })
}

/// The data a step reads: raw below a minute, 1-minute rollups below an
/// hour, 1-hour rollups above; a step must be a whole number of buckets.
pub fn resolution_for(step: u64) -> Resolution {
    if step >= HOUR && step.is_multiple_of(HOUR) {
        Resolution::Hour
    } else if step >= MINUTE && step.is_multiple_of(MINUTE) {
        Resolution::Minute
    } else {
        Resolution::Raw
    }
}

/// What the whole query works with.
struct Plan {
    /// Start of the first step (a multiple of `step`).
    start: u64,
    step: u64,
    steps: usize,
    resolution: Resolution,
    /// Gauge/sum readings are kept for exact percentiles (raw queries).
    exact: bool,
    /// Value sketches are read for percentiles (rolled-up queries).
    sketch: bool,
}

impl Plan {
    fn end(&self) -> u64 {
        self.start
            .saturating_add(self.step.saturating_mul(self.steps as u64))
    }

    fn slot(&self, t: u64) -> Option<usize> {
        let k = usize::try_from(t.checked_sub(self.start)? / self.step).ok()?;
        (k < self.steps).then_some(k)
    }
}

/// One step of one output series.
#[derive(Clone, Default)]
struct Slot {
    rollup: Option<Rollup>,
    /// Readings, for exact percentiles.
    values: Vec<f64>,
    /// Summaries: per-series values of a quantile aggregation, averaged
    /// across the group (quantiles cannot be merged).
    per_series_sum: f64,
    per_series_n: u32,
}

/// Answers a metric query; `None` for an unknown metric.
pub fn metric_query(
    conn: &Connection,
    name: &str,
    q: &MetricQuery,
    now: u64,
) -> Result<Option<MetricQueryResponse>, MetricQueryError> {
    let Some(name_id) = strings::lookup(conn, name)? else {
        return Ok(None);
    };
    let all = load_series(conn, name_id)?;
    let Some(p) = crate::store::metric_plan::plan(&all, q, now)? else {
        return Ok(None);
    };
    let (kind, sem, agg) = (p.kind(), p.sem(), p.agg);
    let resolution = resolution_for(p.step);
    let is_number = matches!(kind, MetricKind::Gauge | MetricKind::Sum);
    let percentile = agg.quantile().is_some();
    let plan = Plan {
        start: p.start,
        step: p.step,
        steps: p.steps,
        resolution,
        exact: is_number && percentile && resolution == Resolution::Raw,
        sketch: is_number && percentile && resolution != Resolution::Raw,
    };

    let mut groups: Vec<Vec<Slot>> = vec![vec![Slot::default(); plan.steps]; p.groups.len()];
    let step_secs = p.step_secs();
    for (s, &g) in p.selected.iter().zip(&p.group_of) {
        let mut slots = vec![Slot::default(); plan.steps];
        accumulate(conn, s, &plan, &mut slots)?;
        let Some(group) = groups.get_mut(g) else {
            continue;
        };
        for (g, mut one) in group.iter_mut().zip(slots) {
            let Some(r) = one.rollup.take() else { continue };
            if per_series_quantile(kind, agg)
                && let Some(v) = r.evaluate(None, agg, s.sem, step_secs)
            {
                g.per_series_sum += v;
                g.per_series_n += 1;
            }
            Rollup::merge_owned(&mut g.rollup, r);
            g.values.append(&mut one.values);
        }
    }
    let values = groups
        .iter_mut()
        .map(|slots| {
            slots
                .iter_mut()
                .map(|slot| evaluate(slot, kind, agg, sem, step_secs))
                .collect()
        })
        .collect();
    Ok(Some(p.response(name, resolution, values)))
}

fn evaluate(
    slot: &mut Slot,
    kind: MetricKind,
    agg: Aggregation,
    sem: Semantics,
    step_secs: f64,
) -> Option<f64> {
    if per_series_quantile(kind, agg) {
        return (slot.per_series_n > 0)
            .then(|| slot.per_series_sum / f64::from(slot.per_series_n))
            .filter(|v| v.is_finite());
    }
    let values = (!slot.values.is_empty()).then_some(slot.values.as_mut_slice());
    slot.rollup.as_ref()?.evaluate(values, agg, sem, step_secs)
}

/// Folds one series' data into `slots`. Raw queries read its points.
/// Rolled-up queries read rollup rows for everything sealed and add the
/// head's points on top, their increases taken against the newest sealed
/// point; when the head holds a late point (older than that), everything
/// from the late point's bucket on is read raw instead. A series awaiting
/// its backfill is read raw throughout.
fn accumulate(
    conn: &Connection,
    s: &SeriesInfo,
    plan: &Plan,
    slots: &mut [Slot],
) -> Result<(), StoreError> {
    let end = plan.end();
    let width = match plan.resolution {
        Resolution::Raw => return read_raw(conn, s, plan, plan.start, end, slots),
        Resolution::Minute => MINUTE,
        Resolution::Hour => HOUR,
    };
    let backfill = conn
        .prepare_cached("SELECT 1 FROM metric_rollup_backfill WHERE series_id = ?1")?
        .query_row(params![s.id], |_| Ok(()))
        .optional()?
        .is_some();
    if backfill {
        return read_raw(conn, s, plan, plan.start, end, slots);
    }
    let head = read_head(conn, s.id, end)?;
    let Some(head_min) = head.iter().map(|p| p.time().0).min() else {
        return read_rollups(conn, s, plan, width, end, slots);
    };
    let tail: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT time, point FROM metric_sealed_tail WHERE series_id = ?1")?
        .query_row(params![s.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let prev = match tail {
        Some((time, _)) if from_i64(time) >= head_min => None,
        Some((_, row)) => Some(Some(
            point_codec::decode_head_row(&row)
                .map_err(|e| StoreError::Corrupt(s.id, e.to_string()))?,
        )),
        None => {
            let sealed = conn
                .prepare_cached("SELECT 1 FROM metric_chunks WHERE series_id = ?1 LIMIT 1")?
                .query_row(params![s.id], |_| Ok(()))
                .optional()?
                .is_some();
            // Nothing sealed: the head is the whole series.
            (!sealed).then_some(None)
        }
    };
    match prev {
        Some(prev) => {
            read_rollups(conn, s, plan, width, end, slots)?;
            let mut differ = Differ::new(s.sem);
            if let Some(p) = &prev {
                differ.feed(p);
            }
            fold(&mut differ, head, plan, plan.start, end, slots);
            Ok(())
        }
        None => {
            // A late point in the head: rollups up to its bucket, raw after.
            let raw_from = (head_min / width * width).clamp(plan.start, end);
            if raw_from > plan.start {
                read_rollups(conn, s, plan, width, raw_from, slots)?;
            }
            read_raw_with(conn, s, plan, raw_from, end, head, slots)
        }
    }
}

/// Merges the rollup buckets of `[plan.start, until)` into their steps.
fn read_rollups(
    conn: &Connection,
    s: &SeriesInfo,
    plan: &Plan,
    width: u64,
    until: u64,
    slots: &mut [Slot],
) -> Result<(), StoreError> {
    let sql = if width == MINUTE {
        "SELECT hour, data FROM metric_rollups_1m WHERE series_id = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY hour"
    } else {
        "SELECT hour, data FROM metric_rollups_1h WHERE series_id = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY hour"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![
        s.id,
        to_i64(plan.start / HOUR * HOUR),
        to_i64(until)
    ])?;
    while let Some(r) = rows.next()? {
        let hour = from_i64(r.get(0)?);
        let data = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        rollup_codec::decode_pack(data, hour, width, plan.sketch, |t, bucket| {
            if t < until
                && let Some(slot) = plan.slot(t).and_then(|k| slots.get_mut(k))
            {
                Rollup::merge_into(&mut slot.rollup, bucket);
            }
        })
        .map_err(|e| StoreError::Corrupt(s.id, e.to_string()))?;
    }
    Ok(())
}

/// The series' head points before `until`, in read order.
fn read_head(conn: &Connection, series: i64, until: u64) -> Result<Vec<StoredPoint>, StoreError> {
    let mut head = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT point FROM metric_head WHERE series_id = ?1 AND time < ?2 ORDER BY time, seq",
    )?;
    let mut rows = stmt.query(params![series, to_i64(until)])?;
    while let Some(r) = rows.next()? {
        head.push(
            point_codec::decode_head_row(r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?)
                .map_err(|e| StoreError::Corrupt(series, e.to_string()))?,
        );
    }
    Ok(head)
}

/// Folds the raw points of `[lo, hi)` (sealed and head) into their steps.
fn read_raw(
    conn: &Connection,
    s: &SeriesInfo,
    plan: &Plan,
    lo: u64,
    hi: u64,
    slots: &mut [Slot],
) -> Result<(), StoreError> {
    let head = read_head(conn, s.id, hi)?;
    read_raw_with(conn, s, plan, lo, hi, head, slots)
}

fn read_raw_with(
    conn: &Connection,
    s: &SeriesInfo,
    plan: &Plan,
    lo: u64,
    hi: u64,
    head: Vec<StoredPoint>,
    slots: &mut [Slot],
) -> Result<(), StoreError> {
    let rows = rollups::sealed_rows(conn, s.id, lo, hi)?;
    if s.kind == MetricKind::Histogram && in_place_order(&rows, &head) {
        return read_histograms_in_place(s, plan, lo, hi, rows, head, slots);
    }
    let chunks = rows
        .into_iter()
        .map(|c| {
            Ok(rollups::ChunkPoints {
                min_time: c.min_time,
                id: c.id,
                points: metric_chunks::decode(&c.data, &[])
                    .map_err(|e| StoreError::Corrupt(c.id, e.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let points = rollups::in_read_order(chunks, head);
    fold(&mut Differ::new(s.sem), points, plan, lo, hi, slots);
    Ok(())
}

/// Whether chunks (in read order) and then the head are already in time
/// order, so walking them one after another is the read order.
fn in_place_order(rows: &[rollups::SealedRow], head: &[StoredPoint]) -> bool {
    rows.windows(2).all(|w| w[0].max_time <= w[1].min_time)
        && match (rows.last(), head.iter().map(|p| p.time().0).min()) {
            (Some(last), Some(first)) => last.max_time <= first,
            _ => true,
        }
}

/// The raw path for histograms: chunk bodies are walked in place
/// (`point_codec::HistRunReader`) and each sample is merged from one
/// reused buffer, instead of building a point and a sample per point.
fn read_histograms_in_place(
    s: &SeriesInfo,
    plan: &Plan,
    lo: u64,
    hi: u64,
    rows: Vec<rollups::SealedRow>,
    head: Vec<StoredPoint>,
    slots: &mut [Slot],
) -> Result<(), StoreError> {
    let mut differ = Differ::new(s.sem);
    let mut sample = HistRollup {
        count: 0,
        sum: 0.0,
        min: None,
        max: None,
        bounds: std::sync::Arc::from(Vec::new()),
        counts: Vec::new(),
    };
    'chunks: for row in rows {
        let corrupt = |e: CodecError| StoreError::Corrupt(row.id, e.to_string());
        let Some(body) = metric_chunks::points_body(&row.data).map_err(corrupt)? else {
            // A chunk of an earlier version: decode it as points.
            let points = metric_chunks::decode(&row.data, &[]).map_err(corrupt)?;
            fold(&mut differ, points, plan, lo, hi, slots);
            continue;
        };
        let mut c = Cursor::new(&body);
        let mut reader = HistRunReader::default();
        while let Some(v) = reader.next(&mut c).map_err(corrupt)? {
            if v.time >= hi {
                break 'chunks;
            }
            let Some(t) = differ.feed_hist_view(&v, &mut sample) else {
                continue;
            };
            if t < lo {
                continue;
            }
            if let Some(slot) = plan.slot(t).and_then(|k| slots.get_mut(k)) {
                match &mut slot.rollup {
                    Some(Rollup::Histogram(h)) => h.merge(&sample),
                    Some(_) => {}
                    None => slot.rollup = Some(Rollup::Histogram(sample.clone())),
                }
            }
        }
    }
    fold(&mut differ, head, plan, lo, hi, slots);
    Ok(())
}

/// Folds the samples of `points` (in read order) within `[lo, hi)` into
/// their steps; earlier points only prime `differ`.
fn fold(
    differ: &mut Differ,
    points: Vec<StoredPoint>,
    plan: &Plan,
    lo: u64,
    hi: u64,
    slots: &mut [Slot],
) {
    for p in points {
        if p.time().0 >= hi {
            break;
        }
        let Some((t, sample)) = differ.feed_owned(p) else {
            continue;
        };
        if t < lo {
            continue;
        }
        let Some(slot) = plan.slot(t).and_then(|k| slots.get_mut(k)) else {
            continue;
        };
        if plan.exact
            && let Sample::Number { value, .. } = &sample
        {
            slot.values.push(*value);
        }
        Rollup::add_to(&mut slot.rollup, t, sample, plan.sketch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_follows_the_step() {
        assert_eq!(resolution_for(15_000_000_000), Resolution::Raw);
        assert_eq!(resolution_for(90_000_000_000), Resolution::Raw);
        assert_eq!(resolution_for(MINUTE), Resolution::Minute);
        assert_eq!(resolution_for(5 * MINUTE), Resolution::Minute);
        assert_eq!(resolution_for(90 * MINUTE), Resolution::Minute);
        assert_eq!(resolution_for(HOUR), Resolution::Hour);
        assert_eq!(resolution_for(24 * HOUR), Resolution::Hour);
    }
}
