//! Metric rollups: 1-minute and 1-hour buckets of every series, kept equal
//! to what its sealed chunks hold.
//!
//! **When.** Rollups are computed when head points are sealed into a chunk:
//! the compactor thread ([`prepare_for_seal`], read-only) recomputes every
//! hour the sealed points fall into from the chunks already there plus the
//! new points, and the writer writes those rows in the transaction that
//! stores the chunk ([`write`]). So the invariant is simple: *the rollup
//! rows of a series summarise exactly its sealed chunks*. Points still in
//! the head are not rolled up yet; queries read them raw (see
//! `metrics::query`). Recomputing an hour replaces its rows, so a late
//! point only makes its hour (and the hour of the point after it, whose
//! increase it changes) be computed again.
//!
//! **Stored form.** One row per series and hour in each of
//! `metric_rollups_1m` (the hour's minute buckets, packed) and
//! `metric_rollups_1h` (the hour bucket, merged from those minutes, which is
//! exact), encoded by `rollup_codec`.
//!
//! **Backfill.** Series sealed before rollups existed are listed in
//! `metric_rollup_backfill`; the compactor rolls each one up whole
//! ([`prepare_backfill`] / [`apply_backfill`]).
//!
//! **Retention.** Rows go in whole hours with the points they summarise
//! ([`evict_before`]).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use shared::metrics::{MetricKind, Temporality};

use super::metric_chunks;
use super::point_codec::StoredPoint;
use super::rollup_codec;
use super::rollup_math::{Differ, Rollup, Semantics};
use crate::store::StoreError;

/// Width of a 1-minute bucket, in nanoseconds.
pub const MINUTE: u64 = 60_000_000_000;
/// Width of a 1-hour bucket (and of one stored row), in nanoseconds.
pub const HOUR: u64 = 3_600_000_000_000;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The rows of one hour of one series.
#[derive(Debug)]
pub struct HourRows {
    pub hour: u64,
    /// The hour's 1-minute buckets.
    pub minutes: Vec<u8>,
    /// The hour's 1-hour bucket.
    pub whole: Vec<u8>,
}

/// Rollup rows ready to be written for one series.
#[derive(Debug)]
pub struct PreparedRollups {
    pub series: i64,
    /// The chunks the rows were computed from: if any is gone when the
    /// rows are written (evicted meanwhile), the rows are stale.
    pub chunks: Vec<i64>,
    pub hours: Vec<HourRows>,
    /// The newest point among those rolled up: (time, head-row form).
    pub tail: Option<(u64, Vec<u8>)>,
}

/// The points of one sealed chunk, with the keys the store reads chunks in.
pub struct ChunkPoints {
    pub min_time: u64,
    pub id: i64,
    pub points: Vec<StoredPoint>,
}

/// Points in the store's read order: chunks by (min time, id) one after
/// another, then `head` (head points), stably sorted by time. Every reader
/// of points uses this order, so points with equal times meet in the same
/// order everywhere (it decides which is "first", "last" and whose
/// increase a reading gets).
pub fn in_read_order(mut chunks: Vec<ChunkPoints>, head: Vec<StoredPoint>) -> Vec<StoredPoint> {
    chunks.sort_by_key(|c| (c.min_time, c.id));
    let mut out: Vec<StoredPoint> =
        Vec::with_capacity(chunks.iter().map(|c| c.points.len()).sum::<usize>() + head.len());
    for c in chunks {
        out.extend(c.points);
    }
    out.extend(head);
    if !out.is_sorted_by_key(StoredPoint::time) {
        out.sort_by_key(StoredPoint::time);
    }
    out
}

/// How a series' points add up.
pub fn semantics(conn: &Connection, series: i64) -> Result<Semantics, StoreError> {
    let (kind, temporality, monotonic): (u8, i32, bool) = conn
        .prepare_cached("SELECT kind, temporality, monotonic FROM metric_series WHERE id = ?1")?
        .query_row(params![series], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let kind = MetricKind::from_code(kind)
        .ok_or_else(|| StoreError::Corrupt(series, "metric kind".into()))?;
    Ok(Semantics::of(
        kind,
        Temporality::from_otlp(temporality),
        monotonic,
    ))
}

fn decode_chunk(id: i64, min_time: u64, data: &[u8]) -> Result<ChunkPoints, StoreError> {
    Ok(ChunkPoints {
        min_time,
        id,
        // Rollups and queries never look at a point's attributes.
        points: metric_chunks::decode(data, &[])
            .map_err(|e| StoreError::Corrupt(id, e.to_string()))?,
    })
}

/// A stored chunk, not decoded yet.
pub struct SealedRow {
    pub id: i64,
    pub min_time: u64,
    pub max_time: u64,
    pub data: Vec<u8>,
}

/// The sealed chunks of `series` that may hold points in `[lo, hi)`, plus
/// the chunk holding the last point before `lo` (its predecessor, which
/// increases need), in read order (min time, id).
pub fn sealed_rows(
    conn: &Connection,
    series: i64,
    lo: u64,
    hi: u64,
) -> Result<Vec<SealedRow>, StoreError> {
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<SealedRow> {
        Ok(SealedRow {
            id: r.get(0)?,
            min_time: from_i64(r.get(1)?),
            max_time: from_i64(r.get(2)?),
            data: r.get(3)?,
        })
    };
    let mut out: Vec<SealedRow> = conn
        .prepare_cached(
            "SELECT id, min_time, max_time, data FROM metric_chunks
             WHERE series_id = ?1 AND max_time >= ?2 AND min_time < ?3",
        )?
        .query_map(params![series, to_i64(lo), to_i64(hi)], row)?
        .collect::<Result<_, _>>()?;
    let pred = conn
        .prepare_cached(
            "SELECT id, min_time, max_time, data FROM metric_chunks
             WHERE series_id = ?1 AND max_time < ?2 ORDER BY max_time DESC, id DESC LIMIT 1",
        )?
        .query_row(params![series, to_i64(lo)], row)
        .optional()?;
    out.extend(pred);
    out.sort_by_key(|c| (c.min_time, c.id));
    Ok(out)
}

/// [`sealed_rows`], decoded.
pub fn load_sealed(
    conn: &Connection,
    series: i64,
    lo: u64,
    hi: u64,
) -> Result<Vec<ChunkPoints>, StoreError> {
    sealed_rows(conn, series, lo, hi)?
        .into_iter()
        .map(|c| decode_chunk(c.id, c.min_time, &c.data))
        .collect()
}

/// Buckets the samples of `points` (in read order) that fall into
/// `[lo, hi)` into rows per hour; earlier points only set the predecessor.
pub fn compute_hours(sem: Semantics, points: &[StoredPoint], lo: u64, hi: u64) -> Vec<HourRows> {
    let sketch = sem.has_reading_percentiles();
    let mut differ = Differ::new(sem);
    // hour → minute slot → bucket
    let mut hours: BTreeMap<u64, BTreeMap<u8, Rollup>> = BTreeMap::new();
    for p in points {
        let t = p.time().0;
        if t >= hi {
            break;
        }
        let Some((time, sample)) = differ.feed(p) else {
            continue;
        };
        if time < lo {
            continue;
        }
        let hour = time / HOUR * HOUR;
        let slot = ((time - hour) / MINUTE) as u8;
        let minutes = hours.entry(hour).or_default();
        match minutes.get_mut(&slot) {
            Some(r) => r.add(time, sample),
            None => {
                minutes.insert(slot, Rollup::from_sample(time, sample, sketch));
            }
        }
    }
    let mut out = Vec::with_capacity(hours.len());
    for (hour, minutes) in hours {
        let mut whole: Option<Rollup> = None;
        for r in minutes.values() {
            Rollup::merge_into(&mut whole, r);
        }
        let Some(whole) = whole else { continue };
        let packed: Vec<(u8, u64, &Rollup)> = minutes
            .iter()
            .map(|(slot, r)| (*slot, hour + u64::from(*slot) * MINUTE, r))
            .collect();
        match (
            rollup_codec::encode_pack(&packed),
            rollup_codec::encode_pack(&[(0, hour, &whole)]),
        ) {
            (Ok(minutes), Ok(whole)) => out.push(HourRows {
                hour,
                minutes,
                whole,
            }),
            (Err(e), _) | (_, Err(e)) => {
                // Only a bug can get here (every bucket of a series has one kind).
                tracing::error!(error = %e, hour, "cannot encode a rollup hour");
            }
        }
    }
    out
}

/// The newest of time-ordered `points`, in head-row form.
fn tail_of(points: &[StoredPoint]) -> Option<(u64, Vec<u8>)> {
    let last = points.last()?;
    match super::point_codec::encode_head_row(last) {
        Ok(row) => Some((last.time().0, row)),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a series' newest point");
            None
        }
    }
}

/// The rollup rows a seal of `new_points` (the series' head, time-sorted)
/// changes: every hour those points fall into, recomputed from the chunks
/// already sealed plus the new points, and the hour of the sealed point
/// that follows them (its increase depends on its predecessor).
pub fn prepare_for_seal(
    conn: &Connection,
    series: i64,
    new_points: &[StoredPoint],
) -> Result<Option<PreparedRollups>, StoreError> {
    let (Some(first), Some(last)) = (
        new_points.iter().map(|p| p.time().0).min(),
        new_points.iter().map(|p| p.time().0).max(),
    ) else {
        return Ok(None);
    };
    let sem = semantics(conn, series)?;
    let lo = first / HOUR * HOUR;
    let mut hi = (last / HOUR * HOUR).saturating_add(HOUR);
    let mut chunks = load_sealed(conn, series, lo, hi)?;
    // A sealed point after the new ones whose predecessor may have changed.
    let in_loaded = chunks
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.time().0))
        .filter(|t| *t >= hi)
        .min();
    let later: Option<i64> = conn
        .prepare_cached(
            "SELECT min(min_time) FROM metric_chunks WHERE series_id = ?1 AND max_time >= ?2 AND min_time >= ?2",
        )?
        .query_row(params![series, to_i64(hi)], |r| r.get(0))?;
    let successor = match (in_loaded, later.map(from_i64)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(t) = successor {
        hi = (t / HOUR * HOUR).saturating_add(HOUR);
        chunks = load_sealed(conn, series, lo, hi)?;
    }
    let ids: Vec<i64> = chunks.iter().map(|c| c.id).collect();
    chunks.push(ChunkPoints {
        min_time: first,
        // The new chunk gets the highest id.
        id: i64::MAX,
        points: new_points.to_vec(),
    });
    let points = in_read_order(chunks, Vec::new());
    Ok(Some(PreparedRollups {
        series,
        chunks: ids,
        hours: compute_hours(sem, &points, lo, hi),
        tail: tail_of(new_points),
    }))
}

/// Writes prepared rows inside the caller's transaction. False (nothing
/// written) when a chunk they were computed from is gone: the caller
/// rolls back and the work is prepared again.
pub fn write(tx: &Transaction<'_>, r: &PreparedRollups) -> Result<bool, StoreError> {
    let mut exists = tx.prepare_cached("SELECT 1 FROM metric_chunks WHERE id = ?1")?;
    for id in &r.chunks {
        if exists
            .query_row(params![id], |_| Ok(()))
            .optional()?
            .is_none()
        {
            return Ok(false);
        }
    }
    let mut minutes = tx.prepare_cached(
        "INSERT OR REPLACE INTO metric_rollups_1m (series_id, hour, data) VALUES (?1, ?2, ?3)",
    )?;
    let mut whole = tx.prepare_cached(
        "INSERT OR REPLACE INTO metric_rollups_1h (series_id, hour, data) VALUES (?1, ?2, ?3)",
    )?;
    for h in &r.hours {
        minutes.execute(params![r.series, to_i64(h.hour), h.minutes])?;
        whole.execute(params![r.series, to_i64(h.hour), h.whole])?;
    }
    if let Some((time, point)) = &r.tail {
        tx.prepare_cached(
            "INSERT INTO metric_sealed_tail (series_id, time, point) VALUES (?1, ?2, ?3)
             ON CONFLICT (series_id) DO UPDATE SET time = excluded.time, point = excluded.point
             WHERE excluded.time >= metric_sealed_tail.time",
        )?
        .execute(params![r.series, to_i64(*time), point])?;
    }
    Ok(true)
}

/// Lists a series whose rollups must be recomputed from all its chunks
/// (queries read it raw meanwhile).
pub fn mark_backfill(tx: &Transaction<'_>, series: i64) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT OR IGNORE INTO metric_rollup_backfill (series_id) VALUES (?1)")?
        .execute(params![series])?;
    Ok(())
}

/// Series waiting for a backfill, lowest id first.
pub fn backfill_due(conn: &Connection, limit: usize) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT series_id FROM metric_rollup_backfill ORDER BY series_id LIMIT ?1")?
        .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            r.get(0)
        })?
        .collect::<Result<_, _>>()?)
}

/// A whole series rolled up.
#[derive(Debug)]
pub struct PreparedBackfill {
    pub rollups: PreparedRollups,
}

/// Rolls up every sealed chunk of `series` (compactor side).
pub fn prepare_backfill(conn: &Connection, series: i64) -> Result<PreparedBackfill, StoreError> {
    let sem = semantics(conn, series)?;
    let chunks = load_sealed(conn, series, 0, u64::MAX)?;
    let ids: Vec<i64> = chunks.iter().map(|c| c.id).collect();
    let points = in_read_order(chunks, Vec::new());
    Ok(PreparedBackfill {
        rollups: PreparedRollups {
            series,
            chunks: ids,
            hours: compute_hours(sem, &points, 0, u64::MAX),
            tail: tail_of(&points),
        },
    })
}

/// Writes a backfill and takes the series off the list (writer side),
/// unless its chunks changed since it was prepared (then it is prepared
/// again in a later round).
pub fn apply_backfill(conn: &mut Connection, b: PreparedBackfill) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let r = &b.rollups;
    let now: i64 = tx
        .prepare_cached("SELECT count(*) FROM metric_chunks WHERE series_id = ?1")?
        .query_row(params![r.series], |row| row.get(0))?;
    if usize::try_from(now).ok() != Some(r.chunks.len()) || !write(&tx, r)? {
        return Ok(());
    }
    tx.prepare_cached("DELETE FROM metric_rollup_backfill WHERE series_id = ?1")?
        .execute(params![r.series])?;
    tx.commit()?;
    Ok(())
}

/// Drops the rollup rows of hours that lie wholly at or before `t` (the
/// newest evicted point time): an hour goes once all its points went. A
/// series' newest sealed point goes when it was evicted.
pub fn evict_before(tx: &Transaction<'_>, t: i64) -> Result<(), StoreError> {
    let last_hour_start = t.saturating_sub(to_i64(HOUR) - 1);
    tx.execute(
        "DELETE FROM metric_rollups_1m WHERE hour <= ?1",
        params![last_hour_start],
    )?;
    tx.execute(
        "DELETE FROM metric_rollups_1h WHERE hour <= ?1",
        params![last_hour_start],
    )?;
    tx.execute(
        "DELETE FROM metric_sealed_tail WHERE time <= ?1",
        params![t],
    )?;
    Ok(())
}

/// Bytes of rollup data stored (for `/api/stats`).
pub fn stored_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT coalesce(sum(length(data)), 0) FROM metric_rollups_1m)
              + (SELECT coalesce(sum(length(data)), 0) FROM metric_rollups_1h)",
        [],
        |r| r.get(0),
    )?;
    Ok(from_i64(n))
}

/// A store driven by hand for tests: points written through the real
/// indexer, seals run when the test says, queries on the same connection.
#[cfg(test)]
pub(crate) mod testkit {
    use rusqlite::Connection;
    use shared::api::MetricQueryResponse;
    use shared::metrics::{
        HistogramPoint, Metric, MetricData, NumberPoint, NumberValue, ResourceMetrics,
        ScopeMetrics, Temporality,
    };
    use shared::query::{MetricQuery, Params};
    use shared::trace::{Resource, Scope};
    use shared::{KeyValue, UnixNanos};

    use crate::store::sqlite::metrics::ingest::MetricIndexer;
    use crate::store::sqlite::metrics::{query, sealing};
    use crate::store::sqlite::strings::Interner;
    use crate::store::sqlite::{connection, migrate};

    /// 2027-01-15T08:00:00Z, the start of an hour.
    pub const T0: u64 = 1_800_000_000 / 3600 * 3600 * 1_000_000_000;
    pub const SEC: u64 = 1_000_000_000;

    pub struct Db {
        _dir: tempfile::TempDir,
        pub conn: Connection,
        metrics: MetricIndexer,
        interner: Interner,
    }

    impl Db {
        pub fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let mut conn = connection::open_writer(&dir.path().join("t.db")).unwrap();
            migrate::apply(&mut conn).unwrap();
            Self {
                _dir: dir,
                conn,
                metrics: MetricIndexer::new(1000),
                interner: Interner::default(),
            }
        }

        pub fn write(&mut self, batch: Vec<ResourceMetrics>) {
            let tx = self.conn.transaction().unwrap();
            let out = self.metrics.write(&tx, &mut self.interner, batch).unwrap();
            assert_eq!(out.rejected, 0);
            tx.commit().unwrap();
        }

        /// Seals the head of every series, as the compactor would (in
        /// chunks of at most `MAX_CHUNK_POINTS`).
        pub fn seal_all(&mut self) {
            while self.count("SELECT count(*) FROM metric_head") > 0 {
                self.seal_round();
            }
        }

        fn seal_round(&mut self) {
            let series: Vec<i64> = self
                .conn
                .prepare("SELECT DISTINCT series_id FROM metric_head ORDER BY series_id")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for s in series {
                let seal = sealing::prepare(&self.conn, s).unwrap().unwrap();
                sealing::apply(&mut self.conn, &self.metrics.head, seal).unwrap();
            }
        }

        pub fn count(&self, sql: &str) -> i64 {
            self.conn.query_row(sql, [], |r| r.get(0)).unwrap()
        }

        /// `GET /api/metrics/{name}/query?{qs}` at `now`.
        pub fn query_at(&self, name: &str, qs: &str, now: u64) -> MetricQueryResponse {
            let q = MetricQuery::from_params(&Params::parse(qs)).unwrap();
            query::metric_query(&self.conn, name, &q, now)
                .unwrap()
                .unwrap()
        }

        pub fn query(&self, name: &str, qs: &str) -> MetricQueryResponse {
            self.query_at(name, qs, T0 + 1_000_000 * SEC)
        }
    }

    pub fn resource(service: &str, instance: &str) -> Resource {
        Resource {
            attributes: vec![
                KeyValue::string("service.name", service),
                KeyValue::string("service.instance.id", instance),
            ],
            ..Default::default()
        }
    }

    pub fn batch(resource: Resource, metrics: Vec<Metric>) -> Vec<ResourceMetrics> {
        vec![ResourceMetrics {
            resource,
            scope_metrics: vec![ScopeMetrics {
                scope: Scope {
                    name: "tests".into(),
                    ..Default::default()
                },
                metrics,
            }],
        }]
    }

    pub fn number(t: u64, v: f64, attrs: &[(&str, &str)]) -> NumberPoint {
        NumberPoint {
            attributes: attrs
                .iter()
                .map(|(k, v)| KeyValue::string(*k, *v))
                .collect(),
            start_time: UnixNanos(T0),
            time: UnixNanos(t),
            value: NumberValue::AsDouble(v),
            ..Default::default()
        }
    }

    pub fn counter(name: &str, points: Vec<NumberPoint>) -> Metric {
        Metric {
            name: name.into(),
            description: String::new(),
            unit: "1".into(),
            metadata: vec![],
            data: MetricData::Sum {
                points,
                temporality: Temporality::Cumulative,
                is_monotonic: true,
            },
        }
    }

    pub fn gauge(name: &str, points: Vec<NumberPoint>) -> Metric {
        Metric {
            name: name.into(),
            description: String::new(),
            unit: "1".into(),
            metadata: vec![],
            data: MetricData::Gauge { points },
        }
    }

    pub fn histogram(name: &str, points: Vec<HistogramPoint>) -> Metric {
        Metric {
            name: name.into(),
            description: String::new(),
            unit: "s".into(),
            metadata: vec![],
            data: MetricData::Histogram {
                points,
                temporality: Temporality::Cumulative,
            },
        }
    }

    pub fn hist_point(t: u64, counts: &[u64], bounds: &[f64]) -> HistogramPoint {
        HistogramPoint {
            start_time: UnixNanos(T0),
            time: UnixNanos(t),
            count: counts.iter().sum(),
            sum: Some(counts.iter().sum::<u64>() as f64 * 0.5),
            bucket_counts: counts.to_vec(),
            explicit_bounds: bounds.to_vec(),
            ..Default::default()
        }
    }

    /// The values of the only output series.
    pub fn values(r: &MetricQueryResponse) -> Vec<Option<f64>> {
        assert_eq!(r.series.len(), 1, "{:?}", r.series);
        r.series[0].points.iter().map(|p| p.value).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    /// Three hours of a 10 s counter, gauge and histogram.
    fn three_hours(db: &mut Db, from: u64, to: u64) {
        let bounds = [0.25, 1.0];
        let mut counters = Vec::new();
        let mut gauges = Vec::new();
        let mut hists = Vec::new();
        for i in from..to {
            let t = T0 + i * 10 * SEC;
            // Restarts at i = 500: counts from zero again.
            let c = if i < 500 { i * 4 } else { (i - 500) * 4 };
            counters.push(number(t, c as f64, &[]));
            gauges.push(number(t, (i % 7) as f64 * 0.25, &[]));
            hists.push(hist_point(t, &[i, 2 * i, i / 3], &bounds));
        }
        db.write(batch(
            resource("api", "a"),
            vec![
                counter("requests", counters),
                gauge("queue", gauges),
                histogram("latency", hists),
            ],
        ));
    }

    #[test]
    fn answers_are_the_same_from_the_head_and_from_rollups() {
        let queries = [
            ("requests", "from=T&to=E&step=1m"),
            ("requests", "from=T&to=E&step=1h"),
            ("requests", "from=T&to=E&step=5m&agg=sum"),
            ("queue", "from=T&to=E&step=1m&agg=avg"),
            ("queue", "from=T&to=E&step=1h&agg=max"),
            ("queue", "from=T&to=E&step=10m&agg=p90"),
            ("latency", "from=T&to=E&step=1m"),
            ("latency", "from=T&to=E&step=1h&agg=p50"),
            ("latency", "from=T&to=E&step=15m&agg=rate"),
            // Raw resolution: sealed histograms are read in place.
            ("latency", "from=T&to=E&step=30s&agg=p95"),
            ("latency", "from=T&to=E&step=10s&agg=avg"),
            ("requests", "from=T&to=E&step=30s"),
        ];
        let qs = |q: &str| {
            q.replace("T", &T0.to_string())
                .replace("E", &(T0 + 3 * 3600 * SEC - 1).to_string())
        };
        let mut db = Db::new();
        three_hours(&mut db, 0, 1080);
        let before: Vec<_> = queries.iter().map(|(n, q)| db.query(n, &qs(q))).collect();
        db.seal_all();
        assert_eq!(db.count("SELECT count(*) FROM metric_head"), 0);
        assert_eq!(db.count("SELECT count(*) FROM metric_rollups_1m"), 9);
        assert_eq!(db.count("SELECT count(*) FROM metric_rollups_1h"), 9);
        let after: Vec<_> = queries.iter().map(|(n, q)| db.query(n, &qs(q))).collect();
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            assert_eq!(b, a, "query {:?}", queries[i]);
        }
        // Spot checks: 6 points a minute, +4 each: 24 a minute, 0.4/s.
        let rate = values(&after[0]);
        assert_eq!(rate[1], Some(0.4));
        // Minute 83 holds the restart (i = 500 at 5000 s): 4·5 + 0 = 20.
        assert_eq!(rate[83], Some(20.0 / 60.0));
        let sums = values(&after[2]);
        assert_eq!(sums[0], Some(116.0), "the first point is the baseline");
        assert_eq!(sums[1], Some(120.0));
    }

    #[test]
    fn sealing_in_pieces_and_late_points_give_the_rollups_of_all_at_once() {
        let qs = format!("from={}&to={}&step=1m&agg=sum", T0, T0 + 3 * 3600 * SEC - 1);
        let mut whole = Db::new();
        three_hours(&mut whole, 0, 1080);
        whole.seal_all();
        let want = whole.query("requests", &qs);

        let mut pieces = Db::new();
        // Every point but i = 350..=359 in two seals, then the late ten.
        three_hours(&mut pieces, 0, 350);
        pieces.seal_all();
        three_hours(&mut pieces, 360, 1080);
        pieces.seal_all();
        let gap = pieces.query("requests", &qs);
        assert_ne!(gap, want);
        three_hours(&mut pieces, 350, 360);
        // Before sealing the late points are read raw from the head…
        assert_eq!(pieces.query("requests", &qs), want);
        pieces.seal_all();
        // …and after it the rollups (of their hour and the next) are redone.
        assert_eq!(pieces.query("requests", &qs), want);
        assert_eq!(
            pieces.query("requests", &qs.replace("1m", "1h")),
            whole.query("requests", &qs.replace("1m", "1h"))
        );
    }

    #[test]
    fn a_backfill_rolls_up_series_sealed_without_rollups() {
        let qs = format!("from={}&to={}&step=1h&agg=max", T0, T0 + 3 * 3600 * SEC - 1);
        let mut db = Db::new();
        three_hours(&mut db, 0, 1080);
        db.seal_all();
        let want = db.query("queue", &qs);
        // As a database from before rollups: chunks, no rollup rows.
        db.conn
            .execute_batch(
                "DELETE FROM metric_rollups_1m; DELETE FROM metric_rollups_1h;
                 INSERT INTO metric_rollup_backfill SELECT id FROM metric_series;",
            )
            .unwrap();
        assert_eq!(db.query("queue", &qs), want, "read raw meanwhile");
        for series in backfill_due(&db.conn, 10).unwrap() {
            let b = prepare_backfill(&db.conn, series).unwrap();
            apply_backfill(&mut db.conn, b).unwrap();
        }
        assert_eq!(db.count("SELECT count(*) FROM metric_rollup_backfill"), 0);
        assert_eq!(db.count("SELECT count(*) FROM metric_rollups_1h"), 9);
        assert_eq!(db.query("queue", &qs), want);
    }

    #[test]
    fn a_seal_is_dropped_when_a_chunk_it_read_was_evicted() {
        let mut db = Db::new();
        three_hours(&mut db, 0, 100);
        db.seal_all();
        three_hours(&mut db, 100, 200);
        let series: i64 = db.count("SELECT min(series_id) FROM metric_head");
        let seal = crate::store::sqlite::metrics::sealing::prepare(&db.conn, series)
            .unwrap()
            .unwrap();
        assert!(!seal.rollups.as_ref().unwrap().chunks.is_empty());
        db.conn
            .execute("DELETE FROM metric_chunks WHERE series_id = ?1", [series])
            .unwrap();
        let head = db.count("SELECT count(*) FROM metric_head");
        crate::store::sqlite::metrics::sealing::apply(&mut db.conn, &Default::default(), seal)
            .unwrap();
        assert_eq!(db.count("SELECT count(*) FROM metric_head"), head);
    }

    #[test]
    fn eviction_drops_only_whole_hours() {
        let mut db = Db::new();
        three_hours(&mut db, 0, 1080);
        db.seal_all();
        let tx = db.conn.transaction().unwrap();
        // Everything up to 30 s into the second hour is gone.
        evict_before(&tx, (T0 + 3630 * SEC) as i64).unwrap();
        tx.commit().unwrap();
        let hours: Vec<i64> = db
            .conn
            .prepare("SELECT DISTINCT hour FROM metric_rollups_1m ORDER BY hour")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(hours, [(T0 + 3600 * SEC) as i64, (T0 + 7200 * SEC) as i64]);
        assert!(stored_bytes(&db.conn).unwrap() > 0);
    }
}
