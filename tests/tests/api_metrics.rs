//! The metric API through the real binary: metrics sent over OTLP/HTTP with
//! fixed times and values, then `/api/metrics` and
//! `/api/metrics/{name}/query` for every aggregation, grouping, attribute
//! filter and resolution, checked against golden files and against numbers
//! this file computes on its own from what it sent.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sightline_tests::Sightline;
use sightline_tests::otlp_json::{
    gauge, histogram, histogram_point, metrics_request, number_point, sum,
};
use sightline_tests::snapshot::assert_snapshot;

/// 2027-01-15T08:00:00Z, the start of an hour.
const T0: u64 = 1_800_000_000_000_000_000;
const S: u64 = 1_000_000_000;
/// Points every 10 s for an hour.
const N: u64 = 360;
const BOUNDS: [f64; 4] = [0.1, 0.5, 1.0, 5.0];

fn at(i: u64) -> u64 {
    T0 + i * 10 * S
}

/// `shop.requests` of checkout instance c1: +3 per point, restarted at
/// i = 180 (it then counted 2 since).
fn c1_requests(i: u64) -> f64 {
    if i < 180 {
        3.0 * i as f64
    } else {
        3.0 * (i - 180) as f64 + 2.0
    }
}

/// `shop.queue.depth` of cart: 0, 0.5, …, 3.5, again.
fn queue_depth(i: u64) -> f64 {
    (i % 8) as f64 * 0.5
}

/// Cumulative `shop.latency` buckets of checkout after point i: two fast,
/// one medium, one slow request per point, and every tenth point one over
/// 5 s.
fn checkout_latency(i: u64) -> Vec<u64> {
    vec![2 * i, i, i, 0, i / 10]
}

/// `shop.disk.used` of storage at minute m (every 5 min for a week): the
/// hour of the day plus a quarter per 5 minutes into the hour.
fn disk_used(m: u64) -> f64 {
    ((m / 60) % 24) as f64 + (m % 60 / 5) as f64 * 0.25
}

async fn post(client: &reqwest::Client, server: &Sightline, body: Value) {
    let status = client
        .post(format!("{}/v1/metrics", server.otlp_http_url))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

/// Starts a server and sends the whole data set.
async fn server_with_data() -> Sightline {
    let server = Sightline::start();
    let client = reqwest::Client::new();
    let pay = [("route", "/pay")];
    let c1 = (0..N)
        .map(|i| number_point(T0, at(i), c1_requests(i), &pay))
        .collect();
    let c1_bytes = (0..N)
        .map(|i| number_point(at(i), at(i), 512.0, &[]))
        .collect();
    let c1_latency = (0..N)
        .map(|i| {
            let c = checkout_latency(i);
            let sum =
                0.05 * c[0] as f64 + 0.25 * c[1] as f64 + 0.75 * c[2] as f64 + 8.0 * c[4] as f64;
            histogram_point(T0, at(i), &c, &BOUNDS, sum, Some((0.01, 8.0)), &[])
        })
        .collect();
    post(
        &client,
        &server,
        metrics_request(
            &[("service.name", "checkout"), ("service.instance.id", "c1")],
            vec![
                sum(
                    "shop.requests",
                    "{request}",
                    "Requests handled.",
                    true,
                    true,
                    c1,
                ),
                sum("shop.bytes", "By", "Bytes sent.", false, true, c1_bytes),
                histogram("shop.latency", "s", "Request duration.", c1_latency),
            ],
        ),
    )
    .await;
    let c2 = (0..N)
        .map(|i| number_point(T0, at(i), i as f64, &pay))
        .collect();
    post(
        &client,
        &server,
        metrics_request(
            &[("service.name", "checkout"), ("service.instance.id", "c2")],
            vec![sum(
                "shop.requests",
                "{request}",
                "Requests handled.",
                true,
                true,
                c2,
            )],
        ),
    )
    .await;
    let add = [("route", "/add")];
    let k1 = (0..N)
        .map(|i| number_point(T0, at(i), 2.0 * i as f64, &add))
        .collect();
    let queue = (0..N)
        .map(|i| number_point(0, at(i), queue_depth(i), &[]))
        .collect();
    let k1_latency = (0..N)
        .map(|i| {
            histogram_point(
                T0,
                at(i),
                &[0, 4 * i, 0, 0, 0],
                &BOUNDS,
                i as f64,
                None,
                &[],
            )
        })
        .collect();
    post(
        &client,
        &server,
        metrics_request(
            &[("service.name", "cart"), ("service.instance.id", "k1")],
            vec![
                sum(
                    "shop.requests",
                    "{request}",
                    "Requests handled.",
                    true,
                    true,
                    k1,
                ),
                gauge("shop.queue.depth", "{item}", "Items waiting.", queue),
                histogram("shop.latency", "s", "Request duration.", k1_latency),
            ],
        ),
    )
    .await;
    let disk = (0..7 * 24 * 12)
        .map(|k| number_point(0, T0 + k * 300 * S, disk_used(k * 5), &[]))
        .collect();
    post(
        &client,
        &server,
        metrics_request(
            &[("service.name", "storage"), ("service.instance.id", "s1")],
            vec![gauge("shop.disk.used", "GiBy", "Disk in use.", disk)],
        ),
    )
    .await;
    server
}

async fn get(server: &Sightline, path: &str) -> (u16, Value) {
    let resp = reqwest::get(server.url(path)).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn query(server: &Sightline, name: &str, params: &str) -> Value {
    let (status, body) = get(server, &format!("/api/metrics/{name}/query?{params}")).await;
    assert_eq!(status, 200, "{name}?{params}: {body}");
    body
}

/// `from`/`to` of the hour of 10 s data.
fn hour() -> String {
    format!("from={T0}&to={}", T0 + 3600 * S - 1)
}

fn values(series: &Value) -> Vec<Option<f64>> {
    series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64())
        .collect()
}

fn labels(series: &Value) -> Vec<(String, String)> {
    series["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["key"].as_str().unwrap().to_owned(),
                l["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

/// Per-step increase of a counter, computed here: each point's increase over
/// the one before (a drop is a restart) goes to the step of the later point.
fn counter_increase(values: &[(u64, f64)], step_s: u64, steps: usize) -> Vec<f64> {
    let mut out = vec![0.0; steps];
    for w in values.windows(2) {
        let ((_, prev), (t, v)) = (w[0], w[1]);
        let inc = if v < prev { v } else { v - prev };
        out[((t - T0) / S / step_s) as usize] += inc;
    }
    out
}

#[tokio::test]
async fn the_catalog_lists_every_metric_by_name() {
    let server = server_with_data().await;
    let (status, all) = get(&server, "/api/metrics").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = all["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "shop.bytes",
            "shop.disk.used",
            "shop.latency",
            "shop.queue.depth",
            "shop.requests"
        ]
    );
    let requests = &all["metrics"][4];
    assert_eq!(requests["seriesCount"], 3);
    assert_eq!(requests["services"], json!(["cart", "checkout"]));
    assert_snapshot("metrics_catalog", &all);
    let (_, cart) = get(&server, "/api/metrics?service=cart&q=SHOP.Q").await;
    assert_snapshot("metrics_catalog_cart_queue", &cart);
    assert_eq!(cart["metrics"].as_array().unwrap().len(), 1);
    let (_, none) = get(&server, "/api/metrics?service=nobody").await;
    assert_eq!(none["metrics"], json!([]));
}

#[tokio::test]
async fn counters_answer_rate_and_sum_per_series_and_per_group() {
    let server = server_with_data().await;
    let rate = query(&server, "shop.requests", &format!("{}&step=5m", hour())).await;
    assert_eq!(rate["agg"], "rate", "counters default to rate");
    assert_eq!(rate["resolution"], "1m");
    assert_eq!(rate["step"], (300 * S).to_string());
    let series = rate["series"].as_array().unwrap();
    assert_eq!(
        series.iter().map(labels).collect::<Vec<_>>(),
        [
            vec![
                ("service.name".into(), "cart".into()),
                ("route".into(), "/add".into())
            ],
            vec![
                ("service.name".into(), "checkout".into()),
                ("route".into(), "/pay".into()),
                ("service.instance.id".into(), "c1".into())
            ],
            vec![
                ("service.name".into(), "checkout".into()),
                ("route".into(), "/pay".into()),
                ("service.instance.id".into(), "c2".into())
            ],
        ],
        "instances of one service are told apart by the resource attribute that differs"
    );
    let c1: Vec<(u64, f64)> = (0..N).map(|i| (at(i), c1_requests(i))).collect();
    let want: Vec<Option<f64>> = counter_increase(&c1, 300, 12)
        .into_iter()
        .map(|inc| Some(inc / 300.0))
        .collect();
    assert_eq!(values(&series[1]), want);
    // The restart: 29 points of +3 and the first after it counted 2.
    assert_eq!(want[6], Some(89.0 / 300.0));
    assert_eq!(values(&series[2])[1], Some(0.1));
    assert_snapshot("metrics_requests_rate", &rate);

    let by_service = query(
        &server,
        "shop.requests",
        &format!("{}&step=15m&agg=sum&group_by=service.name", hour()),
    )
    .await;
    let c2: Vec<(u64, f64)> = (0..N).map(|i| (at(i), i as f64)).collect();
    let checkout: Vec<Option<f64>> = counter_increase(&c1, 900, 4)
        .iter()
        .zip(counter_increase(&c2, 900, 4))
        .map(|(a, b)| Some(a + b))
        .collect();
    let groups = by_service["series"].as_array().unwrap();
    assert_eq!(
        labels(&groups[1]),
        [("service.name".into(), "checkout".into())]
    );
    assert_eq!(values(&groups[1]), checkout);
    // Cart: +2 per point, 90 points a step, the first one the baseline.
    assert_eq!(
        values(&groups[0]),
        [Some(178.0), Some(180.0), Some(180.0), Some(180.0)]
    );
    assert_snapshot("metrics_requests_sum_by_service", &by_service);

    let filtered = query(
        &server,
        "shop.requests",
        &format!(
            "{}&step=30m&attr=route:/pay&attr=service.instance.id:c2",
            hour()
        ),
    )
    .await;
    let only = filtered["series"].as_array().unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(values(&only[0]), [Some(179.0 / 1800.0), Some(0.1)]);
    assert_snapshot("metrics_requests_filtered", &filtered);

    let delta = query(&server, "shop.bytes", &format!("{}&step=10m", hour())).await;
    assert_eq!(
        delta["agg"], "rate",
        "monotonic delta sums default to rate too"
    );
    let bytes = delta["series"][0].clone();
    assert!(
        values(&bytes)
            .iter()
            .all(|v| *v == Some(512.0 * 60.0 / 600.0))
    );
    assert_snapshot("metrics_bytes_rate", &delta);
}

/// avg, min, max, sum and percentiles of the readings in each step.
fn gauge_stats(values: &mut [f64], agg: &str) -> f64 {
    values.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        let r = q * (values.len() - 1) as f64;
        let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
        values[lo] + (values[hi] - values[lo]) * (r - lo as f64)
    };
    match agg {
        "avg" => values.iter().sum::<f64>() / values.len() as f64,
        "min" => values[0],
        "max" => values[values.len() - 1],
        "sum" => values.iter().sum(),
        "p50" => pct(0.5),
        "p90" => pct(0.9),
        "p95" => pct(0.95),
        "p99" => pct(0.99),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn gauges_answer_every_aggregation() {
    let server = server_with_data().await;
    let mut answers = serde_json::Map::new();
    for agg in ["avg", "min", "max", "sum", "p50", "p90", "p95", "p99"] {
        let r = query(
            &server,
            "shop.queue.depth",
            &format!("{}&step=15m&agg={agg}", hour()),
        )
        .await;
        assert_eq!(r["resolution"], "1m");
        let got = values(&r["series"][0]);
        for (k, v) in got.iter().enumerate() {
            let mut step: Vec<f64> = (k as u64 * 90..(k as u64 + 1) * 90)
                .map(queue_depth)
                .collect();
            let want = gauge_stats(&mut step, agg);
            // Percentiles from rollups come from a sketch: within 0.55 %.
            let tolerance = if agg.starts_with('p') { 0.0055 } else { 0.0 };
            let v = v.unwrap();
            assert!(close(v, want, tolerance), "{agg} step {k}: {v} vs {want}");
        }
        answers.insert(agg.to_owned(), json!(got));
    }
    assert_eq!(
        query(&server, "shop.queue.depth", &hour()).await["agg"],
        "avg",
        "gauges default to avg"
    );
    assert_snapshot("metrics_queue_depth_aggregations", &Value::Object(answers));

    // At raw resolution percentiles are exact.
    let raw = query(
        &server,
        "shop.queue.depth",
        &format!("from={T0}&to={}&step=30s&agg=p90", T0 + 600 * S - 1),
    )
    .await;
    assert_eq!(raw["resolution"], "raw");
    for (k, v) in values(&raw["series"][0]).iter().enumerate() {
        let mut step: Vec<f64> = (k as u64 * 3..(k as u64 + 1) * 3)
            .map(queue_depth)
            .collect();
        assert_eq!(*v, Some(gauge_stats(&mut step, "p90")), "step {k}");
    }
    assert_snapshot("metrics_queue_depth_raw_p90", &raw);
}

/// The `q` quantile of per-step histogram buckets as Prometheus'
/// `histogram_quantile`, with the lowest bucket starting at `min` (else 0)
/// and the +Inf bucket ending at `max` (else its lower bound).
fn histogram_quantile(counts: &[u64], q: f64, min: Option<f64>, max: Option<f64>) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut before = 0.0;
    for (j, &c) in counts.iter().enumerate() {
        if c == 0 || before + (c as f64) < rank {
            before += c as f64;
            continue;
        }
        let lower = if j == 0 {
            min.unwrap_or(0.0)
        } else {
            BOUNDS[j - 1]
        };
        let upper = if j < BOUNDS.len() {
            BOUNDS[j]
        } else {
            match max {
                Some(m) => m,
                None => return Some(lower),
            }
        };
        let v = lower + (upper - lower) * (rank - before) / c as f64;
        return Some(v.clamp(min.unwrap_or(f64::MIN), max.unwrap_or(f64::MAX)));
    }
    None
}

#[tokio::test]
async fn histograms_answer_percentiles_from_merged_buckets() {
    let server = server_with_data().await;
    let p95 = query(
        &server,
        "shop.latency",
        &format!("{}&step=10m&group_by=service.name", hour()),
    )
    .await;
    assert_eq!(p95["agg"], "p95", "histograms default to p95");
    // Per 10-minute step: 60 points of increases; the first point of the
    // hour is each series' baseline.
    let step_counts = |f: &dyn Fn(u64) -> Vec<u64>, k: u64| -> Vec<u64> {
        let first = (k * 60).max(1);
        let (a, b) = (f(first - 1), f(k * 60 + 59));
        a.iter().zip(&b).map(|(x, y)| y - x).collect()
    };
    let cart = |i: u64| vec![0, 4 * i, 0, 0, 0];
    let groups = p95["series"].as_array().unwrap();
    for k in 0..6u64 {
        let want = histogram_quantile(&step_counts(&cart, k), 0.95, None, None);
        assert_eq!(values(&groups[0])[k as usize], want, "cart step {k}");
        let want = histogram_quantile(
            &step_counts(&checkout_latency, k),
            0.95,
            Some(0.01),
            Some(8.0),
        );
        assert_eq!(values(&groups[1])[k as usize], want, "checkout step {k}");
    }
    // Checkout, minutes 10–20: 120 + 60 + 60 + 0 + 6 requests; rank
    // 0.95 · 246 = 233.7 falls into (0.5, 1] after 180: 0.5 + 0.5 · 53.7 / 60.
    assert!(close(values(&groups[1])[1].unwrap(), 0.9475, 1e-12));
    assert_snapshot("metrics_latency_p95_by_service", &p95);

    // One group of everything: merged buckets, not an average of p95s.
    let all = query(
        &server,
        "shop.latency",
        &format!("{}&step=1h&agg=p50&group_by=missing.key", hour()),
    )
    .await;
    assert_eq!(all["resolution"], "1h");
    let hour_counts: Vec<u64> = {
        let c = |f: &dyn Fn(u64) -> Vec<u64>| -> Vec<u64> {
            f(N - 1).iter().zip(f(0)).map(|(y, x)| y - x).collect()
        };
        c(&cart)
            .iter()
            .zip(c(&checkout_latency))
            .map(|(a, b)| a + b)
            .collect()
    };
    assert_eq!(hour_counts, [718, 1795, 359, 0, 35]);
    let p50 = histogram_quantile(&hour_counts, 0.5, Some(0.01), Some(8.0));
    assert_eq!(values(&all["series"][0]), [p50]);
    // Rank 1453.5 of 2907 is in (0.1, 0.5] after 718.
    assert!(close(
        p50.unwrap(),
        0.1 + 0.4 * (1453.5 - 718.0) / 1795.0,
        1e-12
    ));

    let mut answers = serde_json::Map::new();
    for agg in ["avg", "min", "max", "sum", "rate", "p50", "p90", "p99"] {
        let r = query(
            &server,
            "shop.latency",
            &format!("{}&step=30m&agg={agg}&attr=service.name:checkout", hour()),
        )
        .await;
        answers.insert(agg.to_owned(), json!(values(&r["series"][0])));
    }
    // Second half hour: 180 points of 2 + 1 + 1 requests and 18 slow ones.
    let count = 180.0 * 4.0 + 18.0;
    assert_eq!(
        answers["rate"],
        json!([
            Some(179.0 * 4.0 / 1800.0 + 17.0 / 1800.0),
            Some(count / 1800.0)
        ])
    );
    assert_eq!(answers["min"], json!([0.01, 0.01]));
    assert_eq!(answers["max"], json!([8.0, 8.0]));
    let sum = 180.0 * (2.0 * 0.05 + 0.25 + 0.75) + 18.0 * 8.0;
    assert!(close(answers["sum"][1].as_f64().unwrap(), sum, 1e-12));
    assert!(close(
        answers["avg"][1].as_f64().unwrap(),
        sum / count,
        1e-12
    ));
    assert_snapshot("metrics_latency_aggregations", &Value::Object(answers));
}

fn db_count(server: &Sightline, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        server.data_dir().join("sightline.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test]
async fn a_week_is_answered_from_hourly_rollups() {
    let server = server_with_data().await;
    let week = format!("from={T0}&to={}", T0 + 7 * 24 * 3600 * S - 1);
    let before = query(&server, "shop.disk.used", &week).await;
    assert_eq!(
        before["step"],
        (3600 * S).to_string(),
        "a week gets hourly steps"
    );
    assert_eq!(before["resolution"], "1h");
    // The week's 2016 points are due for sealing at once; wait for it.
    let mut sealed = false;
    for _ in 0..300 {
        if db_count(
            &server,
            "SELECT count(*) FROM metric_head h JOIN metric_series s ON s.id = h.series_id
             WHERE s.unit = 'GiBy'",
        ) == 0
        {
            sealed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sealed, "the week was not sealed within 30 s");
    assert_eq!(
        db_count(
            &server,
            "SELECT count(*) FROM metric_rollups_1h r JOIN metric_series s ON s.id = r.series_id
             WHERE s.unit = 'GiBy'"
        ),
        168
    );
    let after = query(&server, "shop.disk.used", &week).await;
    assert_eq!(after, before, "rollups answer what the raw points answered");
    let avg = values(&after["series"][0]);
    assert_eq!(avg.len(), 168);
    for (h, v) in avg.iter().enumerate() {
        assert_eq!(*v, Some((h % 24) as f64 + 1.375), "hour {h}");
    }
    let max = query(
        &server,
        "shop.disk.used",
        &format!("{week}&agg=max&step=1d"),
    )
    .await;
    // Day steps start at UTC midnight and T0 is 08:00: the first holds the
    // data's hours 0–15 only, the last its hours 160–167.
    let mut want = vec![Some(23.0 + 2.75); 8];
    want[0] = Some(15.0 + 2.75);
    assert_eq!(values(&max["series"][0]), want);
    assert_snapshot("metrics_disk_week_hourly", &after);
    let (_, stats) = get(&server, "/api/stats").await;
    assert!(stats["metricRollupBytes"].as_u64().unwrap() > 0, "{stats}");
}

#[tokio::test]
async fn unknown_metrics_are_404_and_bad_parameters_400() {
    let server = server_with_data().await;
    let (status, body) = get(&server, "/api/metrics/no.such.metric/query").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "metric \"no.such.metric\" not found");
    let mut errors = BTreeMap::new();
    for (params, param) in [
        ("agg=median", "agg"),
        ("agg=p95", "agg"),
        ("step=0", "step"),
        ("step=fast", "step"),
        ("step=1ms", "step"),
        ("from=2&to=1", "from"),
        ("range=a%20while", "range"),
        ("attr=novalue", "attr"),
    ] {
        let (status, body) = get(
            &server,
            &format!("/api/metrics/shop.requests/query?{params}"),
        )
        .await;
        assert_eq!(status, 400, "{params}: {body}");
        let message = body["error"].as_str().unwrap().to_owned();
        assert!(
            message.starts_with(&format!("parameter {param}:")),
            "{params}: {message}"
        );
        errors.insert(params.to_owned(), message);
    }
    assert_snapshot("metrics_query_errors", &json!(errors));
}
