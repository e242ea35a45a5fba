//! Writing metric points: each point finds (or creates) its series, under a
//! per-metric cardinality limit, and lands in the series' head (durable at
//! once); maintenance later seals heads into compressed chunks.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use shared::KeyValue;
use shared::metrics::{Metric, MetricData, ResourceMetrics, Temporality};
use shared::trace::{Resource, Scope};

use super::point_codec::StoredPoint;
use crate::store::StoreError;
use crate::store::contract::WriteOutcome;
use crate::store::sqlite::strings::Interner;

/// What makes two points belong to the same series. Attributes are sorted by
/// key, so the order an SDK happens to send them in does not split a series.
#[derive(Serialize)]
pub struct SeriesIdentity<'a> {
    pub name: &'a str,
    pub kind: u8,
    pub unit: &'a str,
    pub resource: &'a [KeyValue],
    pub scope_name: &'a str,
    pub scope_version: &'a str,
    pub attributes: Vec<&'a KeyValue>,
}

/// `SeriesIdentity` serialised without its attributes and closing brace,
/// ending in `"attributes":` so a point's sorted attributes and `}` complete it.
fn identity_prefix(
    name: &str,
    kind: u8,
    unit: &str,
    resource: &Resource,
    scope: &Scope,
) -> Result<Vec<u8>, StoreError> {
    let mut v = serde_json::to_vec(&SeriesIdentity {
        name,
        kind,
        unit,
        resource: &resource.attributes,
        scope_name: &scope.name,
        scope_version: &scope.version,
        attributes: Vec::new(),
    })
    .map_err(|e| StoreError::Encode(e.to_string()))?;
    // `…,"attributes":[]}` → `…,"attributes":`
    let tail = b"[]}";
    if v.ends_with(tail) {
        v.truncate(v.len() - tail.len());
        Ok(v)
    } else {
        Err(StoreError::Encode("series identity layout".into()))
    }
}

/// Indexes and stores metric points for the writer.
pub struct MetricIndexer {
    max_series_per_metric: u64,
    /// identity hash → (series id, identity bytes), for series already known.
    series: HashMap<u64, Vec<(i64, Vec<u8>)>>,
    /// metric name id → number of series.
    per_metric: HashMap<i64, u64>,
    seq: i64,
    /// Points refused over the cardinality limit since start.
    pub cardinality_rejections: u64,
    /// Per series with points in the head: (how many, since when).
    pub head: super::sealing::HeadCounts,
    head_loaded: bool,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl MetricIndexer {
    pub fn new(max_series_per_metric: u64) -> Self {
        Self {
            max_series_per_metric,
            series: HashMap::new(),
            per_metric: HashMap::new(),
            seq: 0,
            cardinality_rejections: 0,
            head: Default::default(),
            head_loaded: false,
        }
    }

    /// Drops caches after a failed transaction.
    pub fn forget(&mut self) {
        self.series.clear();
        self.per_metric.clear();
        if let Ok(mut head) = self.head.lock() {
            head.clear();
        }
        self.head_loaded = false;
    }

    /// Stores every point of a request; points of series over the limit are
    /// refused and reported.
    pub fn write(
        &mut self,
        tx: &Transaction<'_>,
        interner: &mut Interner,
        batch: Vec<ResourceMetrics>,
    ) -> Result<WriteOutcome, StoreError> {
        // Head sequence numbers continue after what a previous run left.
        self.load_head(tx)?;
        let mut out = WriteOutcome::default();
        let mut touched: HashMap<i64, (u64, u64)> = HashMap::new();
        for rm in batch {
            let service = interner.id(tx, rm.resource.service_name())?;
            for sm in rm.scope_metrics {
                for metric in sm.metrics {
                    self.write_metric(
                        tx,
                        interner,
                        &rm.resource,
                        &sm.scope,
                        service,
                        metric,
                        &mut out,
                        &mut touched,
                    )?;
                }
            }
        }
        // One update per series, not per point.
        let mut stmt = tx.prepare_cached(
            "UPDATE metric_series SET first_time = min(first_time, ?2), last_time = max(last_time, ?3) WHERE id = ?1",
        )?;
        for (series, (first, last)) in touched {
            stmt.execute(params![series, to_i64(first), to_i64(last)])?;
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_metric(
        &mut self,
        tx: &Transaction<'_>,
        interner: &mut Interner,
        resource: &Resource,
        scope: &Scope,
        service: i64,
        metric: Metric,
        out: &mut WriteOutcome,
        touched: &mut HashMap<i64, (u64, u64)>,
    ) -> Result<(), StoreError> {
        let name_id = interner.id(tx, &metric.name)?;
        let kind = metric.data.kind().code();
        let (temporality, monotonic) = match &metric.data {
            MetricData::Sum {
                temporality,
                is_monotonic,
                ..
            } => (*temporality, *is_monotonic),
            MetricData::Histogram { temporality, .. }
            | MetricData::ExponentialHistogram { temporality, .. } => (*temporality, false),
            _ => (Temporality::Unspecified, false),
        };
        let points: Vec<StoredPoint> = match metric.data {
            MetricData::Gauge { points } | MetricData::Sum { points, .. } => {
                points.into_iter().map(StoredPoint::Number).collect()
            }
            MetricData::Histogram { points, .. } => {
                points.into_iter().map(StoredPoint::Histogram).collect()
            }
            MetricData::ExponentialHistogram { points, .. } => {
                points.into_iter().map(StoredPoint::ExpHistogram).collect()
            }
            MetricData::Summary { points } => {
                points.into_iter().map(StoredPoint::Summary).collect()
            }
        };
        // The identity is JSON of SeriesIdentity; everything but the point's
        // attributes is the same for every point of this metric, so that
        // prefix is serialised once.
        let prefix = identity_prefix(&metric.name, kind, &metric.unit, resource, scope)?;
        for point in points {
            let attrs = match &point {
                StoredPoint::Number(p) => &p.attributes,
                StoredPoint::Histogram(p) => &p.attributes,
                StoredPoint::ExpHistogram(p) => &p.attributes,
                StoredPoint::Summary(p) => &p.attributes,
            };
            let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
            sorted.sort_by(|a, b| a.key.cmp(&b.key));
            let mut identity = prefix.clone();
            serde_json::to_writer(&mut identity, &sorted)
                .map_err(|e| StoreError::Encode(e.to_string()))?;
            identity.push(b'}');
            let hash = xxhash_rust::xxh3::xxh3_64(&identity);
            let time = point.time().0;
            let series = match self.find_series(tx, hash, &identity)? {
                Some(id) => id,
                None => {
                    let count = self.series_count(tx, name_id)?;
                    if count >= self.max_series_per_metric {
                        out.rejected += 1;
                        self.cardinality_rejections += 1;
                        if out.reason.is_none() {
                            out.reason = Some(format!(
                                "metric {:?} has reached its limit of {} series; points of new series are refused",
                                metric.name, self.max_series_per_metric
                            ));
                        }
                        continue;
                    }
                    tx.prepare_cached(
                        "INSERT INTO metric_series (name_id, kind, unit, description, temporality, monotonic,
                           service_id, identity_hash, identity, first_time, last_time)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                    )?
                    .execute(params![
                        name_id,
                        kind,
                        metric.unit,
                        metric.description,
                        temporality.as_otlp(),
                        monotonic,
                        service,
                        hash as i64,
                        identity,
                        to_i64(time)
                    ])?;
                    let id = tx.last_insert_rowid();
                    self.series
                        .entry(hash)
                        .or_default()
                        .push((id, identity.clone()));
                    *self.per_metric.entry(name_id).or_insert(0) += 1;
                    id
                }
            };
            self.seq += 1;
            // The series holds the attributes; the head row need not repeat them.
            let blob = super::point_codec::encode_head_row(&point)
                .map_err(|e| StoreError::Encode(e.to_string()))?;
            tx.prepare_cached(
                "INSERT INTO metric_head (series_id, time, seq, point) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![series, to_i64(time), self.seq, blob])?;
            let span = touched.entry(series).or_insert((time, time));
            span.0 = span.0.min(time);
            span.1 = span.1.max(time);
            if let Ok(mut head) = self.head.lock() {
                head.entry(series)
                    .or_insert((0, std::time::Instant::now()))
                    .0 += 1;
            }
            out.accepted += 1;
        }
        Ok(())
    }

    /// Loads the head's per-series counts once (after a restart the head
    /// may already hold points).
    pub fn load_head(&mut self, conn: &rusqlite::Connection) -> Result<(), StoreError> {
        if self.head_loaded {
            return Ok(());
        }
        let now = std::time::Instant::now();
        let mut stmt = conn
            .prepare("SELECT series_id, count(*), max(seq) FROM metric_head GROUP BY series_id")?;
        let rows: Vec<(i64, i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        if let Ok(mut head) = self.head.lock() {
            for (series, n, seq) in rows {
                head.insert(series, (u32::try_from(n).unwrap_or(u32::MAX), now));
                self.seq = self.seq.max(seq);
            }
        }
        self.head_loaded = true;
        Ok(())
    }

    fn find_series(
        &mut self,
        tx: &Transaction<'_>,
        hash: u64,
        identity: &[u8],
    ) -> Result<Option<i64>, StoreError> {
        if let Some(cands) = self.series.get(&hash)
            && let Some((id, _)) = cands.iter().find(|(_, ident)| ident == identity)
        {
            return Ok(Some(*id));
        }
        // Not cached: the series may exist from before a restart.
        let mut stmt =
            tx.prepare_cached("SELECT id, identity FROM metric_series WHERE identity_hash = ?1")?;
        let rows: Vec<(i64, Vec<u8>)> = stmt
            .query_map(params![hash as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let found = rows
            .iter()
            .find(|(_, ident)| ident == identity)
            .map(|(id, _)| *id);
        if let Some(id) = found {
            self.series
                .entry(hash)
                .or_default()
                .push((id, identity.to_vec()));
        }
        Ok(found)
    }

    fn series_count(&mut self, tx: &Transaction<'_>, name_id: i64) -> Result<u64, StoreError> {
        if let Some(&n) = self.per_metric.get(&name_id) {
            return Ok(n);
        }
        let n: i64 = tx
            .prepare_cached("SELECT count(*) FROM metric_series WHERE name_id = ?1")?
            .query_row(params![name_id], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let n = u64::try_from(n).unwrap_or(0);
        self.per_metric.insert(name_id, n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_prefix_plus_attributes_is_the_full_identity() {
        let resource = Resource {
            attributes: vec![KeyValue::string("service.name", "a")],
            ..Default::default()
        };
        let scope = Scope {
            name: "lib".into(),
            version: "1".into(),
            ..Default::default()
        };
        let attrs = [KeyValue::string("k", "v")];
        let full = serde_json::to_vec(&SeriesIdentity {
            name: "m",
            kind: 1,
            unit: "s",
            resource: &resource.attributes,
            scope_name: &scope.name,
            scope_version: &scope.version,
            attributes: attrs.iter().collect(),
        })
        .unwrap();
        let mut built = identity_prefix("m", 1, "s", &resource, &scope).unwrap();
        serde_json::to_writer(&mut built, &attrs.iter().collect::<Vec<_>>()).unwrap();
        built.push(b'}');
        assert_eq!(built, full);
    }
}
