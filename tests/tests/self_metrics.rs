//! `GET /metrics`: the server's own counters and latencies in the
//! Prometheus/OpenMetrics text format, checked against what the test did.

use std::collections::HashMap;

use sightline_tests::Sightline;
use sightline_tests::otlp_json::{TestSpan, hex_id, traces_request};

const T0: u64 = 1_800_000_000_000_000_000;

/// `name{labels}` → value, for every sample line.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_what_came_in_and_time_queries_per_route() {
    let server = Sightline::start();
    let client = reqwest::Client::new();
    let mut sent = 0;
    for i in 0..5u64 {
        let id = hex_id(i + 1, 16);
        let spans: Vec<(String, String)> = (0..3)
            .map(|j| (hex_id(i * 10 + j + 1, 8), format!("op{j}")))
            .collect();
        let test_spans: Vec<TestSpan<'_>> = spans
            .iter()
            .map(|(sid, name)| TestSpan {
                trace_id: &id,
                span_id: sid,
                parent: None,
                name,
                start: T0,
                end: T0 + 10,
                error: false,
            })
            .collect();
        let status = client
            .post(format!("{}/v1/traces", server.otlp_http_url))
            .json(&traces_request("metrics-test", &test_spans))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        sent += test_spans.len();
    }
    let garbage = client
        .post(format!("{}/v1/traces", server.otlp_http_url))
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff_u8; 7])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(garbage, 400);
    for _ in 0..2 {
        assert_eq!(
            client
                .get(server.url("/api/traces"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let one = hex_id(1, 16);
    assert_eq!(
        client
            .get(server.url(&format!("/api/traces/{one}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let resp = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let m = samples(&text);
    let get = |k: &str| -> f64 {
        *m.get(k)
            .unwrap_or_else(|| panic!("no sample {k} in:\n{text}"))
    };
    assert_eq!(
        get(r#"sightline_otlp_items_accepted_total{signal="traces",transport="http/json"}"#),
        sent as f64
    );
    assert_eq!(
        get(r#"sightline_otlp_requests_invalid_total{signal="traces",transport="http/protobuf"}"#),
        1.0
    );
    assert_eq!(
        get(r#"sightline_query_duration_seconds_count{route="/api/traces"}"#),
        2.0
    );
    // Route templates, never raw ids, label the latencies.
    assert_eq!(
        get(r#"sightline_query_duration_seconds_count{route="/api/traces/{trace_id}"}"#),
        1.0
    );
    assert!(!text.contains(&one), "a trace id leaked into a label");
    assert!(get("sightline_write_batch_duration_seconds_count") >= 1.0);
    assert!(get("sightline_db_size_bytes") > 0.0);
    assert_eq!(get("sightline_db_max_size_bytes"), 512_000_000.0);
    assert_eq!(get("sightline_write_queue_items"), 0.0);
    assert_eq!(get("sightline_evicted_items_total"), 0.0);
    // A browser navigating to /metrics gets the dashboard's metrics page.
    let page = client
        .get(server.url("/metrics?name=http.server.duration"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<title>Sightline</title>")
    );
    assert_eq!(
        get(&format!(
            "sightline_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
}
