//! The store through the real binary: acknowledged data survives `kill -9`,
//! the database stays within its size cap, duplicates are stored once, and
//! trace summaries merge spans that arrive out of order.

use std::time::Duration;

use serde_json::Value;
use sightline_tests::otlp_json::{TestSpan, hex_id, traces_request};
use sightline_tests::{Options, Sightline};

const T0: u64 = 1_800_000_000_000_000_000;

async fn post(client: &reqwest::Client, server: &Sightline, body: &Value) -> reqwest::StatusCode {
    client
        .post(format!("{}/v1/traces", server.otlp_http_url))
        .json(body)
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or(reqwest::StatusCode::SERVICE_UNAVAILABLE)
}

async fn trace(server: &Sightline, id: &str) -> Option<Value> {
    let resp = reqwest::get(server.url(&format!("/api/traces/{id}")))
        .await
        .unwrap();
    if resp.status() == 404 {
        return None;
    }
    assert_eq!(resp.status(), 200);
    Some(resp.json().await.unwrap())
}

fn integrity_ok(dir: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("sightline.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_spans_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let client = reqwest::Client::new();
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..3u64 {
        let mut server = Sightline::start_with(Options {
            data_dir: Some(dir.clone()),
            args: vec![],
            ..Default::default()
        });
        // Keep sending while the process is killed under us.
        let url = format!("{}/v1/traces", server.otlp_http_url);
        let sender = {
            let client = client.clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..400u64 {
                    let id = hex_id(round * 1_000_000 + i + 1, 16);
                    let span = hex_id(round * 1_000_000 + i + 7, 8);
                    let body = traces_request(
                        "crash-test",
                        &[TestSpan {
                            trace_id: &id,
                            span_id: &span,
                            parent: None,
                            name: "op",
                            start: T0 + i,
                            end: T0 + i + 10,
                            error: false,
                        }],
                    );
                    match client.post(&url).json(&body).send().await {
                        Ok(r) if r.status() == 200 => acked.push(id),
                        _ => break,
                    }
                }
                acked
            })
        };
        // Let some requests land, then crash the process mid-stream.
        tokio::time::sleep(Duration::from_millis(150 + round * 100)).await;
        server.kill9();
        acknowledged.extend(sender.await.unwrap());
        assert_eq!(integrity_ok(&dir), "ok", "after kill -9 round {round}");
    }
    assert!(
        !acknowledged.is_empty(),
        "no request was acknowledged before the crashes"
    );
    let server = Sightline::start_with(Options {
        data_dir: Some(dir.clone()),
        args: vec![],
        ..Default::default()
    });
    for id in &acknowledged {
        assert!(
            trace(&server, id).await.is_some(),
            "acknowledged trace {id} lost after kill -9"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn database_stays_within_its_size_cap() {
    let cap: u64 = 3_000_000;
    let server = Sightline::start_with(Options {
        data_dir: None,
        args: vec!["--max-db-size".into(), cap.to_string()],
        ..Default::default()
    });
    let client = reqwest::Client::new();
    let mut first_trace = String::new();
    let mut last_trace = String::new();
    // ~25 MB of poorly compressible spans: well past the cap.
    for batch in 0..250u64 {
        let ids: Vec<(String, String)> = (0..100u64)
            .map(|i| {
                (
                    hex_id(batch * 1000 + i + 1, 16),
                    hex_id(batch * 1000 + i + 3, 8),
                )
            })
            .collect();
        let names: Vec<String> = (0..100u64).map(|i| hex_id(batch * 7919 + i, 24)).collect();
        let spans: Vec<TestSpan<'_>> = ids
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(i, ((t, s), n))| TestSpan {
                trace_id: t,
                span_id: s,
                parent: None,
                name: n,
                start: T0 + batch * 1_000_000_000 + i as u64,
                end: T0 + batch * 1_000_000_000 + i as u64 + 5,
                error: false,
            })
            .collect();
        assert_eq!(
            post(&client, &server, &traces_request("retention", &spans)).await,
            200
        );
        if batch == 0 {
            first_trace = ids[0].0.clone();
        }
        last_trace = ids[99].0.clone();
    }
    // Retention runs between commits; wait (up to 30 s) until it has caught up.
    let mut stats = Value::Null;
    for _ in 0..300 {
        stats = reqwest::get(server.url("/api/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if stats["evictedBlocks"].as_u64().unwrap_or(0) > 0
            && stats["dbSizeBytes"].as_u64().unwrap_or(u64::MAX) <= cap * 105 / 100
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        stats["evictedBlocks"].as_u64().unwrap() > 0,
        "nothing was evicted: {stats}"
    );
    let size = stats["dbSizeBytes"].as_u64().unwrap();
    assert!(
        size <= cap * 105 / 100,
        "database {size} bytes is over its cap {cap} by more than 5 %"
    );
    assert!(
        trace(&server, &last_trace).await.is_some(),
        "the newest trace was evicted"
    );
    assert!(
        trace(&server, &first_trace).await.is_none(),
        "the oldest trace survived eviction"
    );
}

#[tokio::test]
async fn a_span_sent_twice_is_stored_once() {
    let server = Sightline::start();
    let client = reqwest::Client::new();
    let body = traces_request(
        "dup",
        &[TestSpan {
            trace_id: &hex_id(1, 16),
            span_id: &hex_id(2, 8),
            parent: None,
            name: "once",
            start: T0,
            end: T0 + 9,
            error: false,
        }],
    );
    assert_eq!(post(&client, &server, &body).await, 200);
    assert_eq!(post(&client, &server, &body).await, 200);
    let t = trace(&server, &hex_id(1, 16)).await.unwrap();
    assert_eq!(t["summary"]["spanCount"], 1);
    assert_eq!(t["spans"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn trace_summaries_merge_late_and_out_of_order_spans() {
    let server = Sightline::start();
    let client = reqwest::Client::new();
    let tid = hex_id(42, 16);
    let (root, child, grandchild) = (hex_id(43, 8), hex_id(44, 8), hex_id(45, 8));
    // The grandchild arrives first, from another service, with an error.
    let first = traces_request(
        "db",
        &[TestSpan {
            trace_id: &tid,
            span_id: &grandchild,
            parent: Some(&child),
            name: "SELECT",
            start: T0 + 20,
            end: T0 + 30,
            error: true,
        }],
    );
    assert_eq!(post(&client, &server, &first).await, 200);
    let partial = trace(&server, &tid).await.unwrap();
    assert_eq!(
        partial["summary"]["rootName"], "SELECT",
        "earliest span stands in for a missing root"
    );
    assert_eq!(partial["summary"]["rootIsReal"], false);
    let rest = traces_request(
        "api",
        &[
            TestSpan {
                trace_id: &tid,
                span_id: &child,
                parent: Some(&root),
                name: "query",
                start: T0 + 10,
                end: T0 + 40,
                error: false,
            },
            TestSpan {
                trace_id: &tid,
                span_id: &root,
                parent: None,
                name: "GET /users",
                start: T0 + 5,
                end: T0 + 50,
                error: false,
            },
        ],
    );
    assert_eq!(post(&client, &server, &rest).await, 200);
    let t = trace(&server, &tid).await.unwrap();
    let s = &t["summary"];
    assert_eq!(s["rootName"], "GET /users");
    assert_eq!(s["rootService"], "api");
    assert_eq!(s["rootIsReal"], true);
    assert_eq!(s["spanCount"], 3);
    assert_eq!(s["errorCount"], 1);
    assert_eq!(s["startTime"], (T0 + 5).to_string());
    assert_eq!(s["duration"], "45");
    let mut services: Vec<String> = s["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    services.sort();
    assert_eq!(services, ["api", "db"]);
    let names: Vec<&str> = t["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["span"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["GET /users", "query", "SELECT"],
        "spans ordered by start time"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_503_with_retry_after_and_loses_nothing_acknowledged() {
    // A queue of one item: any request arriving while another waits is refused.
    let server = Sightline::start_with(Options {
        data_dir: None,
        args: vec!["--max-queued-items".into(), "1".into()],
        ..Default::default()
    });
    let client = reqwest::Client::new();
    let url = format!("{}/v1/traces", server.otlp_http_url);
    let mut tasks = Vec::new();
    for task in 0..16u64 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..10u64 {
                let id = hex_id(task * 100 + i + 1, 16);
                let spans: Vec<(String, String)> = (0..200u64)
                    .map(|k| (id.clone(), hex_id(task * 100_000 + i * 1000 + k + 1, 8)))
                    .collect();
                let spans: Vec<TestSpan<'_>> = spans
                    .iter()
                    .map(|(t, s)| TestSpan {
                        trace_id: t,
                        span_id: s,
                        parent: None,
                        name: "burst",
                        start: T0,
                        end: T0 + 1,
                        error: false,
                    })
                    .collect();
                let resp = client
                    .post(&url)
                    .json(&traces_request("burst", &spans))
                    .send()
                    .await
                    .unwrap();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap_or("").to_owned());
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                outcomes.push((id, status, retry_after, body));
            }
            outcomes
        }));
    }
    let mut refused = 0;
    let mut accepted = Vec::new();
    for t in tasks {
        for (id, status, retry_after, body) in t.await.unwrap() {
            match status {
                200 => accepted.push(id),
                503 => {
                    refused += 1;
                    assert_eq!(retry_after.as_deref(), Some("1"), "503 without Retry-After");
                    assert_eq!(body["code"], 14, "UNAVAILABLE in the status body: {body}");
                }
                other => panic!("unexpected status {other}: {body}"),
            }
        }
    }
    assert!(
        refused > 0,
        "16 concurrent senders never found the one-item queue full"
    );
    assert!(!accepted.is_empty());
    for id in &accepted {
        let t = trace(&server, id)
            .await
            .unwrap_or_else(|| panic!("acknowledged trace {id} missing"));
        assert_eq!(t["summary"]["spanCount"], 200);
    }
    let stats: Value = reqwest::get(server.url("/api/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unavailable: u64 = stats["ingest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["unavailable"].as_u64().unwrap())
        .sum();
    assert_eq!(unavailable, refused, "every 503 is counted");
}

fn gauge_request(points: std::ops::Range<u64>) -> Value {
    let points: Vec<Value> = points
        .map(|i| serde_json::json!({"timeUnixNano": (T0 + i * 10_000_000_000).to_string(), "asDouble": i as f64 * 0.5}))
        .collect();
    serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "gauges"}}]},
        "scopeMetrics": [{"metrics": [{"name": "queue.depth", "unit": "{item}", "gauge": {"dataPoints": points}}]}]
    }]})
}

async fn gauge_times(server: &Sightline) -> Vec<String> {
    let raw: Value = reqwest::get(server.url("/api/metrics/queue.depth/raw"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    raw["series"][0]["data"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["time"].as_str().unwrap().to_owned())
        .collect()
}

/// Head points of two runs of the server are sealed together, each exactly
/// once (head rows are numbered across restarts; sealing takes rows by number).
#[tokio::test(flavor = "multi_thread")]
async fn metric_points_survive_restarts_and_sealing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let client = reqwest::Client::new();
    let mut server = Sightline::start_with(Options {
        data_dir: Some(dir.clone()),
        args: vec![],
        ..Default::default()
    });
    let resp = client
        .post(format!("{}/v1/metrics", server.otlp_http_url))
        .json(&gauge_request(0..100))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(server.terminate().success());
    let server = Sightline::start_with(Options {
        data_dir: Some(dir.clone()),
        args: vec![],
        ..Default::default()
    });
    // 150 more points: the head passes the sealing threshold with points of both runs.
    let resp = client
        .post(format!("{}/v1/metrics", server.otlp_http_url))
        .json(&gauge_request(100..250))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = reqwest::get(server.url("/api/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if stats["metricPoints"]["blocks"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        stats["metricPoints"]["blocks"].as_u64().unwrap() > 0,
        "the head was never sealed: {stats}"
    );
    let times = gauge_times(&server).await;
    let expected: Vec<String> = (0..250u64)
        .map(|i| (T0 + i * 10_000_000_000).to_string())
        .collect();
    assert_eq!(
        times, expected,
        "every point of both runs, once, in time order"
    );
}

#[tokio::test]
async fn spans_older_than_max_age_are_evicted_and_newer_ones_kept() {
    let server = Sightline::start_with(Options {
        args: vec!["--max-age-spans".into(), "1h".into()],
        ..Options::default()
    });
    let client = reqwest::Client::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let span = |seed: u64, start: u64| {
        traces_request(
            "aging",
            &[TestSpan {
                trace_id: &hex_id(seed, 16),
                span_id: &hex_id(seed + 1, 8),
                parent: None,
                name: "job",
                start,
                end: start + 1_000,
                error: false,
            }],
        )
    };
    let two_hours = 2 * 3_600_000_000_000;
    assert_eq!(
        post(&client, &server, &span(40, now - two_hours)).await,
        200
    );
    assert_eq!(post(&client, &server, &span(50, now)).await, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while trace(&server, &hex_id(40, 16)).await.is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the two-hour-old trace is still there after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(trace(&server, &hex_id(50, 16)).await.is_some());
    let stats: Value = reqwest::get(server.url("/api/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["evictedItems"].as_u64().unwrap() >= 1, "{stats}");
}
