//! The ClickHouse metric engine against the embedded one: the same batches
//! are written to both, and every answer must be the same (values within
//! 1e-9 relative, the rest exactly), for every aggregation, step, window,
//! group and filter, over counters with restarts, delta and up-down sums,
//! gauges with gaps, histograms with restarts and changing bounds,
//! exponential histograms changing scale, and summaries.

use shared::api::{MetricQueryResponse, RawSeriesResponse, Resolution};
use shared::metrics::{
    Exemplar, ExpBuckets, ExpHistogramPoint, HistogramPoint, Metric, MetricData, MetricKind,
    NumberPoint, NumberValue, Quantile, ResourceMetrics, SummaryPoint, Temporality,
};
use shared::query::{Aggregation, MetricListQuery, MetricQuery, Params};
use shared::{SpanId, TraceId, UnixNanos};

use super::super::super::contract::TelemetryStore;
use super::super::super::metric_plan::MetricQueryError;
use super::super::ClickHouseStore;
use super::super::testing::TestClickHouse;
use crate::store::contract::WriteBatch;
use crate::store::sqlite::metrics::query as metric_query;
use crate::store::sqlite::metrics::read;
use crate::store::sqlite::metrics::tests::testkit::{Db, SEC, T0, batch, number, resource};

/// Points per series: every 10 s for half an hour.
const N: u64 = 180;

fn at(i: u64) -> u64 {
    T0 + i * 10 * SEC
}

/// The same data in both engines.
struct Pair {
    sqlite: Db,
    server: TestClickHouse,
    ch: ClickHouseStore,
    /// Values compared, how many of them were bit for bit equal, and the
    /// largest relative difference among the others (sketched percentiles
    /// left out).
    compared: std::cell::Cell<(u64, u64, f64)>,
}

impl Pair {
    fn new() -> Self {
        let server = TestClickHouse::start();
        let ch = server.store();
        Self {
            sqlite: Db::new(),
            server,
            ch,
            compared: std::cell::Cell::new((0, 0, 0.0)),
        }
    }

    fn write(&mut self, b: Vec<ResourceMetrics>) {
        self.sqlite.write(b.clone());
        let out = self
            .ch
            .submit(WriteBatch::Metrics(b))
            .expect("queue accepts")
            .blocking_recv()
            .expect("writer answers")
            .expect("write succeeds");
        assert_eq!(out.rejected, 0);
    }

    /// Both engines' answer to `name?qs` at `now`, compared.
    fn compare_at(&self, name: &str, qs: &str, now: u64) {
        let q = MetricQuery::from_params(&Params::parse(qs)).expect("valid parameters");
        let a = metric_query::metric_query(&self.sqlite.conn, name, &q, now);
        let b = self.ch.metric_query(name, &q, now);
        let ctx = format!("{name}?{qs}");
        match (a, b) {
            (Ok(Some(a)), Ok(Some(b))) => self.same(&ctx, &a, &b),
            (Ok(None), Ok(None)) => {}
            (Err(MetricQueryError::Param(a)), Err(MetricQueryError::Param(b))) => {
                assert_eq!(a, b, "{ctx}");
            }
            (a, b) => panic!("{ctx}: SQLite {a:?}, ClickHouse {b:?}"),
        }
    }

    fn compare(&self, name: &str, qs: &str) {
        self.compare_at(name, qs, T0 + 1_000_000 * SEC);
    }

    fn same(&self, ctx: &str, a: &MetricQueryResponse, b: &MetricQueryResponse) {
        assert_eq!(
            (&a.name, a.kind, &a.unit, &a.description, a.agg),
            (&b.name, b.kind, &b.unit, &b.description, b.agg),
            "{ctx}"
        );
        assert_eq!((a.from, a.to, a.step), (b.from, b.to, b.step), "{ctx}");
        assert_eq!(b.resolution, Resolution::Raw, "{ctx}");
        let labels = |r: &MetricQueryResponse| -> Vec<Vec<(String, String)>> {
            r.series
                .iter()
                .map(|s| {
                    s.labels
                        .iter()
                        .map(|l| (l.key.clone(), l.value.clone()))
                        .collect()
                })
                .collect()
        };
        assert_eq!(labels(a), labels(b), "{ctx}");
        // The embedded engine answers percentiles of readings at a minute
        // or more from a sketch (±0.55 %); ClickHouse exactly.
        let sketched = a.resolution != Resolution::Raw
            && matches!(a.kind, MetricKind::Gauge | MetricKind::Sum)
            && a.agg.quantile().is_some();
        let rel = if sketched { 0.0055 } else { 1e-9 };
        let (mut n, mut exact, mut worst) = self.compared.get();
        for (sa, sb) in a.series.iter().zip(&b.series) {
            assert_eq!(sa.points.len(), sb.points.len(), "{ctx}");
            for (k, (pa, pb)) in sa.points.iter().zip(&sb.points).enumerate() {
                assert_eq!(pa.time, pb.time, "{ctx}");
                match (pa.value, pb.value) {
                    (None, None) => {}
                    (Some(x), Some(y)) => {
                        n += 1;
                        if x.to_bits() == y.to_bits() {
                            exact += 1;
                        } else if !sketched {
                            worst = worst.max((x - y).abs() / x.abs().max(y.abs()));
                        }
                        assert!(
                            (x - y).abs() <= rel * x.abs().max(y.abs()).max(1.0),
                            "{ctx} {:?} step {k}: SQLite {x}, ClickHouse {y}",
                            sa.labels
                        );
                    }
                    (x, y) => panic!(
                        "{ctx} {:?} step {k}: SQLite {x:?}, ClickHouse {y:?}",
                        sa.labels
                    ),
                }
            }
        }
        self.compared.set((n, exact, worst));
    }

    /// `name` over every aggregation and step in the whole window, then
    /// windows, groups and filters.
    fn compare_everything(&self, name: &str) {
        let (all, inside) = windows();
        for agg in aggregations() {
            for step in ["", "&step=10s", "&step=1m", "&step=7m", "&step=1h"] {
                self.compare(name, &format!("{all}{step}{agg}"));
            }
            self.compare(name, &format!("{inside}&step=30s{agg}"));
            self.compare(
                name,
                &format!("{inside}&step=5m{agg}&group_by=service.name"),
            );
            self.compare(name, &agg.replacen('&', "", 1));
        }
        for agg in ["", "&agg=sum", "&agg=p90", "&agg=rate"] {
            for (window, split) in [
                (&all, "&group_by=service.name"),
                (&inside, "&group_by=route,service.instance.id"),
                (&all, "&group_by=missing.key"),
                (&inside, "&attr=service.name:api"),
                (&all, "&attr=route:/a&group_by=service.name"),
                (&inside, "&attr=route:/nowhere"),
            ] {
                self.compare(name, &format!("{window}&step=1m{agg}{split}"));
            }
        }
        let now = at(N) + 5 * 60 * SEC;
        for window in [
            "range=20m",
            "range=10m&step=1m",
            "range=2m",
            "to=1800000600000000000",
        ] {
            self.compare_at(name, window, now);
        }
    }

    /// `name` over every aggregation at steps the embedded engine answers
    /// from rollups (once it has sealed its points).
    fn compare_rolled_up(&self, name: &str) {
        let (all, inside) = windows();
        for agg in aggregations() {
            for step in ["&step=1m", "&step=1h"] {
                self.compare(name, &format!("{all}{step}{agg}"));
            }
            self.compare(
                name,
                &format!("{inside}&step=5m{agg}&group_by=service.name"),
            );
        }
    }
}

/// The whole data, and a window from inside it that does not start on a
/// step boundary (its first increase needs the point before it).
fn windows() -> (String, String) {
    (
        format!("from={T0}&to={}", at(N) - 1),
        format!("from={}&to={}", at(43) + 3, at(150)),
    )
}

/// `&agg=…` for every aggregation, and none (the default).
fn aggregations() -> Vec<String> {
    Aggregation::ALL
        .iter()
        .map(|a| format!("&agg={}", a.as_str()))
        .chain([String::new()])
        .collect()
}

fn sum_metric(
    name: &str,
    temporality: Temporality,
    monotonic: bool,
    pts: Vec<NumberPoint>,
) -> Metric {
    Metric {
        name: name.into(),
        description: format!("{name} described"),
        unit: "1".into(),
        metadata: vec![],
        data: MetricData::Sum {
            points: pts,
            temporality,
            is_monotonic: monotonic,
        },
    }
}

fn metric(name: &str, data: MetricData) -> Metric {
    Metric {
        name: name.into(),
        description: format!("{name} described"),
        unit: "s".into(),
        metadata: vec![],
        data,
    }
}

/// Each series as (service, instance, route, value of point i).
type Shape = (&'static str, &'static str, &'static str, fn(u64) -> f64);

const COUNTERS: [Shape; 4] = [
    ("api", "a", "/a", |i| i as f64),
    // Restarts at i = 100 and has counted 1 since.
    ("api", "b", "/a", |i| {
        if i < 100 {
            2.0 * i as f64
        } else {
            2.0 * (i - 100) as f64 + 1.0
        }
    }),
    ("api", "a", "/b", |i| 4.0 * i as f64 + 0.25),
    ("web", "w", "/a", |i| 8.0 * i as f64 + 1e6),
];

fn write_numbers(write: &mut dyn FnMut(Vec<ResourceMetrics>)) {
    for (service, instance, route, f) in COUNTERS {
        let attrs = [("route", route)];
        let counter: Vec<NumberPoint> = (0..N).map(|i| number(at(i), f(i), &attrs)).collect();
        let delta: Vec<NumberPoint> = (0..N)
            .map(|i| number(at(i), f(i) - f(i.saturating_sub(1)) + 0.5, &attrs))
            .collect();
        let updown: Vec<NumberPoint> = (0..N)
            .map(|i| number(at(i), (f(i) % 7.0) - 3.0, &attrs))
            .collect();
        let mut gauge: Vec<NumberPoint> = (0..N)
            .map(|i| number(at(i), ((i * 7919) % 23) as f64 * 0.125 - f(i) % 3.0, &attrs))
            .collect();
        // A gap, a NaN and an infinity: left out without breaking the chain.
        gauge[50].flags = 1;
        gauge[51].value = NumberValue::AsDouble(f64::NAN);
        gauge[52].value = NumberValue::AsDouble(f64::INFINITY);
        write(batch(
            resource(service, instance),
            vec![
                sum_metric("hits", Temporality::Cumulative, true, counter),
                sum_metric("bytes", Temporality::Delta, true, delta),
                sum_metric("conns", Temporality::Cumulative, false, updown),
                metric("depth", MetricData::Gauge { points: gauge }),
            ],
        ));
    }
    // A series that begins in the middle of the data.
    let late: Vec<NumberPoint> = (90..N)
        .map(|i| number(at(i), 3.0 * (i - 90) as f64, &[("route", "/late")]))
        .collect();
    write(batch(
        resource("web", "v"),
        vec![sum_metric("hits", Temporality::Cumulative, true, late)],
    ));
}

const BOUNDS: [f64; 4] = [0.1, 0.5, 1.0, 5.0];

fn hist(i: u64, counts: Vec<u64>, bounds: &[f64], min_max: Option<(f64, f64)>) -> HistogramPoint {
    let sum = counts
        .iter()
        .enumerate()
        .map(|(j, c)| *c as f64 * (0.05 + j as f64 * 0.7))
        .sum();
    HistogramPoint {
        start_time: UnixNanos(T0),
        time: UnixNanos(at(i)),
        count: counts.iter().sum(),
        sum: Some(sum),
        bucket_counts: counts,
        explicit_bounds: bounds.to_vec(),
        min: min_max.map(|m| m.0),
        max: min_max.map(|m| m.1),
        ..Default::default()
    }
}

fn write_histograms(write: &mut dyn FnMut(Vec<ResourceMetrics>)) {
    let cumulative = |points| MetricData::Histogram {
        points,
        temporality: Temporality::Cumulative,
    };
    // Restarts at i = 120.
    let a: Vec<HistogramPoint> = (0..N)
        .map(|i| {
            let j = if i < 120 { i } else { i - 120 };
            hist(i, vec![2 * j, j, j, 0, j / 10], &BOUNDS, Some((0.01, 8.0)))
        })
        .collect();
    let b: Vec<HistogramPoint> = (0..N)
        .map(|i| hist(i, vec![0, 4 * i, 0, i / 3, 0], &BOUNDS, None))
        .collect();
    // Bounds change at i = 90 (to a subset: they nest).
    let w: Vec<HistogramPoint> = (0..N)
        .map(|i| {
            if i < 90 {
                hist(i, vec![i, i, 2 * i, i, 1], &BOUNDS, Some((0.05, 6.0)))
            } else {
                hist(i, vec![i, 3 * i, i, 2], &[0.1, 1.0, 5.0], Some((0.05, 6.0)))
            }
        })
        .collect();
    let delta = |k: u64| -> Vec<HistogramPoint> {
        (0..N)
            .map(|i| {
                hist(
                    i,
                    vec![1, (i + k) % 3, 2, 0, (i * k) % 2],
                    &BOUNDS,
                    Some((0.02, 5.5)),
                )
            })
            .collect()
    };
    // Each series begins a point after the one before: the embedded engine
    // merges a group's series in the order they were written, this one in
    // the order of their first points (which matters when their bounds
    // differ), so both orders are the same here.
    for (n, ((service, instance, route, _), (points, delta))) in COUNTERS
        .into_iter()
        .take(3)
        .zip([(a, delta(1)), (b, delta(2)), (w, delta(3))])
        .enumerate()
    {
        let mut points: Vec<HistogramPoint> = points.into_iter().skip(n).collect();
        let mut delta: Vec<HistogramPoint> = delta.into_iter().skip(n).collect();
        for p in points.iter_mut().chain(delta.iter_mut()) {
            p.attributes = vec![shared::KeyValue::string("route", route)];
        }
        write(batch(
            resource(service, instance),
            vec![
                metric("latency", cumulative(points)),
                metric(
                    "latency.delta",
                    MetricData::Histogram {
                        points: delta,
                        temporality: Temporality::Delta,
                    },
                ),
            ],
        ));
    }
    // Two points the embedded engine normalises to their total: bounds out
    // of order, and no buckets at all. Compared before sealing only: the
    // embedded engine's rollups disagree with its own raw answer there (a
    // minute that starts with such a point keeps one bucket, which the hour
    // then maps onto +Inf, so hourly percentiles move). This engine
    // answers what the raw points answer.
    let odd = (0..N)
        .map(|i| match i {
            77 => hist(i, vec![1, 2, 3], &[1.0, 0.5], Some((0.02, 5.5))),
            78 => HistogramPoint {
                count: 5,
                ..hist(i, vec![], &[], None)
            },
            _ => hist(i, vec![1, i % 3, 2, 0, i % 2], &BOUNDS, Some((0.02, 5.5))),
        })
        .collect();
    write(batch(
        resource("api", "a"),
        vec![metric(
            "latency.odd",
            MetricData::Histogram {
                points: odd,
                temporality: Temporality::Delta,
            },
        )],
    ));
}

fn exp_point(
    i: u64,
    scale: i32,
    pos: (i32, Vec<u64>),
    neg: (i32, Vec<u64>),
    zero: u64,
) -> ExpHistogramPoint {
    let count = pos.1.iter().chain(&neg.1).sum::<u64>() + zero;
    ExpHistogramPoint {
        start_time: UnixNanos(T0),
        time: UnixNanos(at(i)),
        count,
        sum: Some(count as f64 * 1.25),
        scale,
        zero_count: zero,
        positive: ExpBuckets {
            offset: pos.0,
            bucket_counts: pos.1,
        },
        negative: ExpBuckets {
            offset: neg.0,
            bucket_counts: neg.1,
        },
        min: Some(-3.0),
        max: Some(40.0),
        ..Default::default()
    }
}

fn write_exp_histograms(write: &mut dyn FnMut(Vec<ResourceMetrics>)) {
    // Cumulative at scale 2, growing at both ends; from i = 100 the same
    // counts at scale 1 (buckets merged pairwise); restarts at i = 150.
    let at_scale = |i: u64| -> ExpHistogramPoint {
        let j = if i < 150 { i } else { i - 150 };
        let fine = vec![j, 2 * j, j / 2, 3 * j, j / 4, j / 5];
        let (scale, offset, counts) = if i < 100 {
            (2, 3, fine)
        } else {
            // Indexes 3..9 at scale 2 are 1..4 at scale 1: (3), (4,5), (6,7), (8).
            let f = &fine;
            (1, 1, vec![f[0], f[1] + f[2], f[3] + f[4], f[5]])
        };
        exp_point(i, scale, (offset, counts), (-2, vec![j / 3, j]), j / 7)
    };
    let cumulative: Vec<ExpHistogramPoint> = (0..N).map(at_scale).collect();
    // Scales beyond OpenTelemetry's range at i = 60 and 61 are clamped.
    let delta: Vec<ExpHistogramPoint> = (0..N)
        .map(|i| {
            exp_point(
                i,
                match i {
                    60 => 22,
                    61 => -12,
                    _ => (i % 3) as i32 - 1,
                },
                ((i % 5) as i32 - 2, vec![1, i % 4, 2]),
                (0, vec![i % 2]),
                1,
            )
        })
        .collect();
    for (service, instance, route, _) in COUNTERS.into_iter().take(2) {
        let attrs = vec![shared::KeyValue::string("route", route)];
        let with = |mut v: Vec<ExpHistogramPoint>| {
            for p in &mut v {
                p.attributes = attrs.clone();
            }
            v
        };
        write(batch(
            resource(service, instance),
            vec![
                metric(
                    "exp",
                    MetricData::ExponentialHistogram {
                        points: with(cumulative.clone()),
                        temporality: Temporality::Cumulative,
                    },
                ),
                metric(
                    "exp.delta",
                    MetricData::ExponentialHistogram {
                        points: with(delta.clone()),
                        temporality: Temporality::Delta,
                    },
                ),
            ],
        ));
    }
}

fn write_summaries(write: &mut dyn FnMut(Vec<ResourceMetrics>)) {
    for (n, (service, instance, route, _)) in COUNTERS.into_iter().enumerate() {
        let k = n as u64 + 1;
        let points = (0..N)
            .map(|i| {
                // Restarts at i = 120 for the second series.
                let j = if n == 1 && i >= 120 { i - 120 } else { i };
                SummaryPoint {
                    attributes: vec![shared::KeyValue::string("route", route)],
                    start_time: UnixNanos(T0),
                    time: UnixNanos(at(i)),
                    count: k * j,
                    sum: j as f64 * 0.5 * k as f64,
                    quantile_values: vec![
                        Quantile {
                            quantile: 0.5,
                            value: (i % 4) as f64 + k as f64,
                        },
                        Quantile {
                            quantile: 0.9,
                            value: 5.0 + (i % 3) as f64,
                        },
                        Quantile {
                            quantile: 1.0,
                            value: 10.0 * k as f64,
                        },
                    ],
                    flags: 0,
                }
            })
            .collect();
        write(batch(
            resource(service, instance),
            vec![metric("rpc", MetricData::Summary { points })],
        ));
    }
}

#[test]
fn gauges_and_sums_answer_as_on_sqlite() {
    let mut pair = Pair::new();
    write_numbers(&mut |b| pair.write(b));
    for name in ["hits", "bytes", "conns", "depth"] {
        pair.compare_everything(name);
    }
    pair.compare("nothing", "");
    pair.sqlite.seal_all();
    for name in ["hits", "bytes", "conns", "depth"] {
        pair.compare_rolled_up(name);
    }
    let (n, exact, worst) = pair.compared.get();
    eprintln!("gauges and sums: {n} values compared, {exact} bit for bit, else within {worst:e}");
}

#[test]
fn histograms_answer_as_on_sqlite() {
    let mut pair = Pair::new();
    write_histograms(&mut |b| pair.write(b));
    write_exp_histograms(&mut |b| pair.write(b));
    write_summaries(&mut |b| pair.write(b));
    for name in [
        "latency",
        "latency.delta",
        "latency.odd",
        "exp",
        "exp.delta",
        "rpc",
    ] {
        pair.compare_everything(name);
    }
    pair.sqlite.seal_all();
    for name in ["latency", "latency.delta", "exp", "exp.delta", "rpc"] {
        pair.compare_rolled_up(name);
    }
    let (n, exact, worst) = pair.compared.get();
    eprintln!(
        "histograms and summaries: {n} values compared, {exact} bit for bit, else within {worst:e}"
    );
}

#[test]
fn the_catalog_and_raw_series_match_sqlite() {
    let mut pair = Pair::new();
    write_numbers(&mut |b| pair.write(b));
    write_histograms(&mut |b| pair.write(b));
    write_summaries(&mut |b| pair.write(b));
    for (service, q) in [
        (None, None),
        (Some("web"), None),
        (None, Some("LAT")),
        (Some("nobody"), None),
    ] {
        let q = MetricListQuery {
            service: service.map(str::to_owned),
            q: q.map(str::to_owned),
        };
        let a = metric_query::metric_list(&pair.sqlite.conn, &q).expect("SQLite lists");
        let b = pair.ch.metrics(&q).expect("ClickHouse lists");
        assert_eq!(a, b, "{q:?}");
    }
    // Exemplars survive; histograms with both or neither of min and max.
    let exemplar = Exemplar {
        filtered_attributes: vec![shared::KeyValue::string("user", "u1")],
        time: UnixNanos(at(3)),
        value: Some(NumberValue::AsDouble(0.75)),
        span_id: Some(SpanId([7; 8])),
        trace_id: Some(TraceId([9; 16])),
    };
    let mut with_exemplar = hist(3, vec![1, 0, 0, 0, 0], &BOUNDS, Some((0.05, 0.05)));
    with_exemplar.exemplars = vec![exemplar.clone()];
    let mut gauge = number(at(3), -2.5, &[("b", "2"), ("a", "1")]);
    gauge.exemplars = vec![exemplar];
    pair.write(batch(
        resource("api", "a"),
        vec![
            metric(
                "exemplified",
                MetricData::Gauge {
                    points: vec![gauge],
                },
            ),
            metric(
                "exemplified.h",
                MetricData::Histogram {
                    points: vec![with_exemplar],
                    temporality: Temporality::Delta,
                },
            ),
        ],
    ));
    for name in [
        "hits",
        "bytes",
        "conns",
        "latency",
        "latency.delta",
        "rpc",
        "exemplified",
        "exemplified.h",
    ] {
        // Series come in another order (first written there, oldest here).
        let sorted = |r: Option<RawSeriesResponse>| {
            let mut s = r.expect("known").series;
            s.sort_by_key(|s| format!("{:?}{:?}", s.resource, s.attributes));
            s
        };
        let a = sorted(read::raw_series(&pair.sqlite.conn, name).expect("SQLite reads"));
        let b = sorted(pair.ch.raw_series(name).expect("ClickHouse reads"));
        assert_eq!(a, b, "{name}");
    }
    assert!(pair.ch.raw_series("nothing").expect("reads").is_none());
}

/// Both engines read the first-point rule from one constant: whichever
/// rule it names, the SQL and the embedded engine's test agree.
#[test]
fn the_first_point_rule_means_the_same_in_sql() {
    use super::sql::first_point_sql;
    use crate::store::sqlite::metrics::rollup_math::FirstPointRule;

    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Answer {
        whole: bool,
    }
    let server = TestClickHouse::start();
    let store = server.store();
    for rule in [
        FirstPointRule::AlwaysBaseline,
        FirstPointRule::CountSinceStart,
    ] {
        for (st, t) in [
            (0u64, 10u64),
            (5, 10),
            (10, 10),
            (11, 10),
            (1, 1_800_000_000_000_000_000),
        ] {
            let sql = format!(
                "SELECT toBool({}) AS whole FROM (SELECT {{st:Int64}} AS st, {{t:Int64}} AS t)",
                first_point_sql(rule)
            );
            let query = store.ch().sql(&sql).param("st", st).param("t", t);
            let got: Vec<Answer> = server
                .runtime
                .block_on(store.ch().rows(query))
                .expect("ClickHouse answers");
            let whole = got.first().map(|a| a.whole);
            assert_eq!(
                whole,
                Some(rule.counts_whole(st, t)),
                "{rule:?} ({st}, {t})"
            );
        }
    }
}

/// The storage suite's metric check (NaN, -0.0, time order) on its own,
/// so it runs whatever the suite's earlier checks do.
#[test]
fn the_suite_metric_check_passes() {
    let server = TestClickHouse::start();
    super::super::super::suite::metric_points_come_back_exactly_in_time_order(
        &*server.make(),
        &super::super::fidelity::CollectorSchema,
    );
}

/// Tables of older exporters keep times as `DateTime` (seconds): the same
/// points (at whole seconds) read and aggregate the same from them.
#[test]
fn tables_with_times_in_seconds_answer_the_same() {
    use super::super::ClickHouseConfig;
    use super::super::schema;

    let server = TestClickHouse::start();
    let new_db = server.server.fresh_database();
    let new = server
        .runtime
        .block_on(ClickHouseStore::connect(
            ClickHouseConfig::new(server.server.url.clone(), new_db.clone()),
            200_000,
        ))
        .expect("the store connects");
    let mut write_new = |b: Vec<ResourceMetrics>| {
        let out = new
            .submit(WriteBatch::Metrics(b))
            .expect("queue accepts")
            .blocking_recv()
            .expect("writer answers")
            .expect("write succeeds");
        assert_eq!(out.rejected, 0);
    };
    write_numbers(&mut write_new);
    write_histograms(&mut write_new);
    write_exp_histograms(&mut write_new);
    write_summaries(&mut write_new);

    let db = server.server.fresh_database();
    let config = ClickHouseConfig::new(server.server.url.clone(), db.clone());
    for statement in schema::create_statements(&config) {
        let old = statement
            .replace(
                "TimeUnix DateTime64(9) CODEC(Delta",
                "TimeUnix DateTime CODEC(Delta",
            )
            .replace(
                "toUnixTimestamp64Nano(TimeUnix)",
                "toUnixTimestamp(TimeUnix)",
            );
        server.runtime.block_on(server.server.sql(&old));
    }
    for (table, _) in super::sql::TABLES {
        server.runtime.block_on(server.server.sql(&format!(
            "INSERT INTO `{db}`.{table} SELECT * FROM `{new_db}`.{table}"
        )));
    }
    let types = server.runtime.block_on(server.server.sql(&format!(
        "SELECT DISTINCT type FROM system.columns WHERE database = '{db}'
         AND table LIKE 'otel_metrics_%' AND name IN ('TimeUnix', 'StartTimeUnix')"
    )));
    assert_eq!(types.trim(), "DateTime", "the older tables' time columns");
    let old = server
        .runtime
        .block_on(ClickHouseStore::connect(config, 200_000))
        .expect("the store reads the older tables");

    let (all, inside) = windows();
    let now = at(N) + 5 * 60 * SEC;
    for name in ["hits", "bytes", "depth", "latency", "exp", "rpc"] {
        for agg in ["", "&agg=sum", "&agg=rate", "&agg=p90"] {
            for window in [&all, &inside] {
                for step in ["", "&step=15s", "&step=1m&group_by=service.name"] {
                    let qs = format!("{window}{agg}{step}");
                    let q = MetricQuery::from_params(&Params::parse(&qs)).expect("valid");
                    let a = new.metric_query(name, &q, now);
                    let b = old.metric_query(name, &q, now);
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name}?{qs}");
                }
            }
        }
        // Debug text: NaN equals NaN there.
        assert_eq!(
            format!("{:?}", new.raw_series(name).expect("reads")),
            format!("{:?}", old.raw_series(name).expect("reads")),
            "{name}"
        );
    }
    let list = MetricListQuery::default();
    assert_eq!(
        new.metrics(&list).expect("lists"),
        old.metrics(&list).expect("lists")
    );
}

/// Points of one series at equal times keep the order they were written
/// in, in raw series and in increases (10, then 5 and 7 at one time: a
/// restart that counted 5, then +2; the other order would count 7 + 5).
#[test]
fn points_at_equal_times_keep_their_written_order() {
    let mut pair = Pair::new();
    let counter = |points| {
        batch(
            resource("api", "a"),
            vec![sum_metric("ties", Temporality::Cumulative, true, points)],
        )
    };
    pair.write(counter(vec![
        number(at(0), 10.0, &[]),
        number(at(1), 5.0, &[]),
    ]));
    pair.write(counter(vec![
        number(at(1), 7.0, &[]),
        number(at(2), 8.0, &[]),
    ]));
    let raw = pair.ch.raw_series("ties").expect("reads").expect("known");
    let values = |raw: &RawSeriesResponse| -> Vec<f64> {
        match &raw.series[0].data {
            MetricData::Sum { points, .. } => points.iter().map(|p| p.value.as_f64()).collect(),
            other => panic!("not a sum: {other:?}"),
        }
    };
    assert_eq!(values(&raw), [10.0, 5.0, 7.0, 8.0]);
    // Still so once the two inserts' parts are merged into one.
    let ch = pair.ch.ch();
    pair.server
        .runtime
        .block_on(ch.run(ch.sql("OPTIMIZE TABLE otel_metrics_sum FINAL")))
        .expect("merges");
    let merged = pair.ch.raw_series("ties").expect("reads").expect("known");
    assert_eq!(values(&merged), [10.0, 5.0, 7.0, 8.0]);
    assert_eq!(
        Some(raw),
        read::raw_series(&pair.sqlite.conn, "ties").expect("SQLite reads")
    );
    let window = format!("from={T0}&to={}", at(3) - 1);
    for agg in aggregations() {
        pair.compare("ties", &format!("{window}&step=30s{agg}"));
        pair.compare("ties", &format!("{window}&step=10s{agg}"));
    }
    let q = MetricQuery::from_params(&Params::parse(&format!("{window}&step=30s&agg=sum")))
        .expect("valid");
    let sum = pair.ch.metric_query("ties", &q, at(3)).expect("answers");
    assert_eq!(sum.map(|r| r.series[0].points[0].value), Some(Some(8.0)));
}
