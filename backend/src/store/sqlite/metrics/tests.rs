//! Tests of the metric pipeline on one connection, driven by hand
//! ([`testkit::Db`]: points written through the real indexer, heads sealed
//! when a test says, queries answered on the same connection). Here is
//! what takes several modules at once: rollups give the answers raw points
//! give (whole, sealed in pieces, late, backfilled), seals meet eviction,
//! and metric queries label, filter, group and window series. Each
//! module's own unit tests stay in its file.

/// A store driven by hand for tests: points written through the real
/// indexer, seals run when the test says, queries on the same connection.
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

/// Rollups, written with seals and by backfills, and their eviction.
mod rollups {
    use super::testkit::*;
    use crate::store::sqlite::metrics::rollups::{
        apply_backfill, backfill_due, evict_before, prepare_backfill, stored_bytes,
    };
    use crate::store::sqlite::metrics::sealing;

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
        let seal = sealing::prepare(&db.conn, series).unwrap().unwrap();
        assert!(!seal.rollups.as_ref().unwrap().chunks.is_empty());
        db.conn
            .execute("DELETE FROM metric_chunks WHERE series_id = ?1", [series])
            .unwrap();
        let head = db.count("SELECT count(*) FROM metric_head");
        sealing::apply(&mut db.conn, &Default::default(), seal).unwrap();
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

/// Metric queries over series written, sealed and rolled up.
mod queries {
    use shared::UnixNanos;
    use shared::api::{MetricQueryResponse, Resolution};
    use shared::metrics::{
        ExpBuckets, ExpHistogramPoint, Metric, MetricData, Quantile, SummaryPoint,
    };
    use shared::query::{Aggregation, MetricQuery, Params};

    use super::testkit::*;
    use crate::store::contract::MetricQueryError;
    use crate::store::sqlite::metrics::query::metric_query;

    fn labels(r: &MetricQueryResponse) -> Vec<Vec<(String, String)>> {
        r.series
            .iter()
            .map(|s| {
                s.labels
                    .iter()
                    .map(|l| (l.key.clone(), l.value.clone()))
                    .collect()
            })
            .collect()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Counter `hits`: api (two instances) on routes /a and /b, web on /a;
    /// each series grows by `inc` every 10 s for ten minutes.
    fn hits(db: &mut Db) {
        for (service, instance, route, inc) in [
            ("api", "a", "/a", 1.0),
            ("api", "b", "/a", 2.0),
            ("api", "a", "/b", 4.0),
            ("web", "w", "/a", 8.0),
        ] {
            let points = (0..60u64)
                .map(|i| number(T0 + i * 10 * SEC, i as f64 * inc, &[("route", route)]))
                .collect();
            db.write(batch(
                resource(service, instance),
                vec![counter("hits", points)],
            ));
        }
    }

    #[test]
    fn series_are_labelled_filtered_and_grouped() {
        let mut db = Db::new();
        hits(&mut db);
        let window = format!("from={T0}&to={}&step=1m", T0 + 600 * SEC - 1);
        let all = db.query("hits", &window);
        assert_eq!(all.agg, Aggregation::Rate, "counters default to rate");
        assert_eq!(all.resolution, Resolution::Minute);
        // Two api series on /a differ only by instance: that labels them.
        assert_eq!(
            labels(&all),
            [
                kv(&[
                    ("service.name", "api"),
                    ("route", "/a"),
                    ("service.instance.id", "a")
                ]),
                kv(&[
                    ("service.name", "api"),
                    ("route", "/a"),
                    ("service.instance.id", "b")
                ]),
                kv(&[("service.name", "api"), ("route", "/b")]),
                kv(&[("service.name", "web"), ("route", "/a")]),
            ]
        );
        // Rates: inc per 10 s; the first minute lost its baseline point.
        let first: Vec<Option<f64>> = all.series.iter().map(|s| s.points[0].value).collect();
        assert_eq!(
            first,
            [
                Some(5.0 / 60.0),
                Some(10.0 / 60.0),
                Some(20.0 / 60.0),
                Some(40.0 / 60.0)
            ]
        );

        let web = db.query("hits", &format!("{window}&attr=service.name:web"));
        assert_eq!(
            labels(&web),
            [kv(&[("service.name", "web"), ("route", "/a")])]
        );
        let a = db.query(
            "hits",
            &format!("{window}&attr=route:/a&attr=service.instance.id:b"),
        );
        assert_eq!(values(&a)[1], Some(0.2));

        let by_route = db.query("hits", &format!("{window}&group_by=route"));
        assert_eq!(
            labels(&by_route),
            [kv(&[("route", "/a")]), kv(&[("route", "/b")])]
        );
        // /a: (1 + 2 + 8) per 10 s = 1.1/s; /b: 0.4/s.
        assert_eq!(by_route.series[0].points[1].value, Some(1.1));
        assert_eq!(by_route.series[1].points[1].value, Some(0.4));
        let by_two = db.query("hits", &format!("{window}&group_by=service.name,missing"));
        assert_eq!(
            labels(&by_two),
            [
                kv(&[("service.name", "api"), ("missing", "")]),
                kv(&[("service.name", "web"), ("missing", "")]),
            ]
        );
        let max = db.query("hits", &format!("{window}&group_by=service.name&agg=max"));
        // The largest reading of api in minute 2 (i = 11): 11 · 4.
        assert_eq!(max.series[0].points[1].value, Some(44.0));
    }

    #[test]
    fn windows_clamp_to_the_data_and_empty_steps_are_null() {
        let mut db = Db::new();
        hits(&mut db);
        // Open bounds: the data's first to last point (590 s) at 5 s.
        let open = db.query("hits", "group_by=service.name");
        assert_eq!(open.from, UnixNanos(T0));
        assert_eq!(open.step, UnixNanos(5 * SEC));
        assert_eq!(open.to, UnixNanos(T0 + 595 * SEC));
        assert_eq!(open.resolution, Resolution::Raw);
        // Relative: the last 30 minutes before "now" (20 min after the data).
        let now = T0 + 30 * 60 * SEC;
        let recent = db.query_at("hits", "range=30m&step=5m&group_by=service.name", now);
        assert_eq!(recent.from, UnixNanos(T0));
        let v: Vec<Option<f64>> = recent.series[0].points.iter().map(|p| p.value).collect();
        assert_eq!(v.len(), 7);
        assert!(v[..2].iter().all(Option::is_some));
        assert!(v[2..].iter().all(Option::is_none), "{v:?}");
        // A window without data: no series at all.
        let later = db.query_at("hits", "range=5m", now);
        assert!(later.series.is_empty());
        // No series matches the filter: none either, not a 404.
        let none = db.query("hits", "attr=route:/nowhere");
        assert!(none.series.is_empty());
    }

    #[test]
    fn too_many_steps_name_the_step_parameter() {
        let mut db = Db::new();
        hits(&mut db);
        let q = MetricQuery::from_params(&Params::parse("step=1ms")).unwrap();
        match metric_query(&db.conn, "hits", &q, T0) {
            Err(MetricQueryError::Param(e)) => assert_eq!(e.param, "step"),
            other => panic!("{other:?}"),
        }
        let q = MetricQuery::default();
        assert!(metric_query(&db.conn, "nothing", &q, T0).unwrap().is_none());
        // Percentiles of a counter's running total mean nothing.
        let q = MetricQuery::from_params(&Params::parse("agg=p95")).unwrap();
        match metric_query(&db.conn, "hits", &q, T0) {
            Err(MetricQueryError::Param(e)) => assert_eq!(e.param, "agg"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exponential_histograms_and_summaries_answer_from_rollups_too() {
        let mut db = Db::new();
        let exp: Vec<ExpHistogramPoint> = (0..180u64)
            .map(|i| ExpHistogramPoint {
                time: UnixNanos(T0 + i * 10 * SEC),
                start_time: UnixNanos(T0),
                // Scale 0: bucket 0 is (1, 2], bucket 1 is (2, 4]; delta points.
                count: 4,
                sum: Some(10.0),
                scale: 0,
                zero_count: 0,
                positive: ExpBuckets {
                    offset: 0,
                    bucket_counts: vec![1, 3],
                },
                min: Some(1.5),
                max: Some(4.0),
                ..Default::default()
            })
            .collect();
        let summary: Vec<SummaryPoint> = (0..180u64)
            .map(|i| SummaryPoint {
                time: UnixNanos(T0 + i * 10 * SEC),
                start_time: UnixNanos(T0),
                count: i * 2,
                sum: i as f64,
                quantile_values: vec![
                    Quantile {
                        quantile: 0.5,
                        value: 1.0,
                    },
                    Quantile {
                        quantile: 1.0,
                        value: (i % 10) as f64,
                    },
                ],
                ..Default::default()
            })
            .collect();
        let metric = |name: &str, data| Metric {
            name: name.into(),
            description: String::new(),
            unit: "s".into(),
            metadata: vec![],
            data,
        };
        db.write(batch(
            resource("api", "a"),
            vec![
                metric(
                    "exp",
                    MetricData::ExponentialHistogram {
                        points: exp,
                        temporality: shared::metrics::Temporality::Delta,
                    },
                ),
                metric("summary", MetricData::Summary { points: summary }),
            ],
        ));
        let window = format!("from={T0}&to={}", T0 + 1800 * SEC - 1);
        let queries = [
            ("exp", "step=1m"),
            ("exp", "step=30m&agg=p50"),
            ("exp", "step=1m&agg=rate"),
            ("summary", "step=1m&agg=p50"),
            ("summary", "step=1m&agg=max"),
            ("summary", "step=30m&agg=rate"),
            ("summary", "step=30m&agg=avg"),
        ];
        let run = |db: &Db| -> Vec<MetricQueryResponse> {
            queries
                .iter()
                .map(|(n, q)| db.query(n, &format!("{window}&{q}")))
                .collect()
        };
        let before = run(&db);
        db.seal_all();
        assert_eq!(run(&db), before);
        // p95 of {1 in (1,2], 3 in (2,4]} per point: rank 3.8 of 4 → 2 + 2·0.933.
        let p95 = values(&before[0])[0].unwrap();
        assert!((p95 - (2.0 + 2.0 * (2.8 / 3.0))).abs() < 1e-12, "{p95}");
        // p50: rank 2 of 4: a third into (2, 4].
        let p50 = values(&before[1])[0].unwrap();
        assert!((p50 - (2.0 + 2.0 / 3.0)).abs() < 1e-12, "{p50}");
        assert_eq!(values(&before[2])[0], Some(24.0 / 60.0));
        assert_eq!(values(&before[3])[0], Some(1.0));
        // The latest point of minute 0 is i = 5: max 5.
        assert_eq!(values(&before[4])[0], Some(5.0));
        // 2 per 10 s, the first point a baseline: 358 over 1800 s.
        assert_eq!(values(&before[5])[0], Some(358.0 / 1800.0));
        assert_eq!(values(&before[6])[0], Some(0.5));
    }
}
