//! The Logs view in a real Chromium: filters in the URL, severity colours,
//! expandable rows whose trace links open the trace, TinyOlly `?tab=logs`
//! links, and auto-refresh that pauses while a filter is being typed and
//! keeps the scroll position when it resumes.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::json;
use sightline_tests::browser::{Browser, attrs, count, open, path_and_query, texts, wait_js};
use sightline_tests::scenario::{self, *};
use sightline_tests::{Sightline, artifacts_dir};

async fn seeded() -> (Sightline, Browser) {
    let server = Sightline::start();
    let client = reqwest::Client::new();
    scenario::send(&client, &server.otlp_http_url, scenario::now_nanos(), 40).await;
    let browser = Browser::start().await;
    (server, browser)
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_filter_expand_and_link_to_their_trace() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(c, &server.url("/logs"), "#logs-table tr.log-row").await;
    wait_js(
        c,
        &format!("{} === 6", count("#logs-table tr.log-row")),
        10,
        "6 logs",
    )
    .await;
    assert_eq!(
        attrs(c, "#logs-table tr.log-row.sev-error", "data-span-id").await,
        [PAY_SERVER]
    );
    assert_eq!(
        texts(c, "#logs-table tr.log-row.sev-error .sev").await,
        ["ERROR"]
    );
    let colour = c
        .execute("return getComputedStyle(document.querySelector('#logs-table tr.sev-error .sev')).color", vec![])
        .await
        .unwrap();
    let info = c
        .execute(
            "return getComputedStyle(document.querySelector('#logs-table tr.sev-info .sev')).color",
            vec![],
        )
        .await
        .unwrap();
    assert_ne!(colour, info, "severities have their own colours");

    // Minimum severity: a select, so the URL is replaced at once.
    c.find(Locator::Id("f-severity"))
        .await
        .unwrap()
        .select_by_value("13")
        .await
        .unwrap();
    wait_js(
        c,
        "return location.search.includes('severity_min=13')",
        5,
        "severity_min",
    )
    .await;
    wait_js(
        c,
        &format!("{} === 2", count("#logs-table tr.log-row")),
        10,
        "warn and error only",
    )
    .await;

    // A row expands to its attributes and resource, with links to the trace.
    c.find(Locator::Css("#logs-table tr.log-row.sev-error"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#logs-table tr.log-detail"))
        .await
        .unwrap();
    let detail = texts(c, "#logs-table tr.log-detail").await.join(" ");
    for want in [
        "code.function",
        "handler",
        "service.version",
        "1.4.2",
        CHECKOUT_TRACE,
        PAY_SERVER,
    ] {
        assert!(detail.contains(want), "{want} missing from {detail}");
    }
    assert_eq!(
        texts(c, "#logs-table tr.log-detail .copy-id code")
            .await
            .len(),
        2
    );
    // The row's trace link opens the trace with the log's span selected.
    c.find(Locator::Css(
        "#logs-table tr.log-row.sev-error a.trace-link",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("span-panel"))
        .await
        .unwrap();
    assert_eq!(
        path_and_query(c).await,
        format!("/traces/{CHECKOUT_TRACE}?span={PAY_SERVER}")
    );
    c.back().await.unwrap();
    wait_js(
        c,
        &format!("{} === 2", count("#logs-table tr.log-row")),
        10,
        "the filtered logs again",
    )
    .await;
    assert!(path_and_query(c).await.contains("severity_min=13"));

    // Full-text search, typed (debounced into the URL).
    open(c, &server.url("/logs"), "#logs-table tr.log-row").await;
    c.find(Locator::Id("f-q"))
        .await
        .unwrap()
        .send_keys("insufficient")
        .await
        .unwrap();
    wait_js(
        c,
        "return location.search.includes('q=insufficient')",
        5,
        "q in the URL",
    )
    .await;
    wait_js(
        c,
        &format!("{} === 1", count("#logs-table tr.log-row")),
        10,
        "one match",
    )
    .await;

    // TinyOlly link: ?tab=logs&search=… lands on the filtered Logs view.
    open(c, &server.url("/?tab=logs&search=payment"), "#page-logs").await;
    wait_js(
        c,
        "return location.pathname === '/logs' && location.search === '?q=payment'",
        5,
        "the logs route",
    )
    .await;
    assert_eq!(
        c.find(Locator::Id("f-q"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("payment")
    );
    wait_js(
        c,
        &format!("{} === 2", count("#logs-table tr.log-row")),
        10,
        "two payment logs",
    )
    .await;
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(artifacts_dir().join("logs.png"), png);
    }
    browser.close().await;
}

async fn post_log(server: &Sightline, body: &str) {
    let now = scenario::now_nanos().to_string();
    let req = json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "late"}}]},
        "scopeLogs": [{"scope": {}, "logRecords": [{"timeUnixNano": now, "observedTimeUnixNano": now,
            "severityNumber": 9, "body": {"stringValue": body}}]}]
    }]});
    let r = reqwest::Client::new()
        .post(format!("{}/v1/logs", server.otlp_http_url))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// The auto-refresh indicator's state and reason (`live`, `paused:editing`…).
async fn refresh_state(c: &Client) -> String {
    c.execute(
        "const s = document.getElementById('refresh-status'); return s.dataset.state + (s.dataset.reason ? ':' + s.dataset.reason : '')",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

async fn wait_state(c: &Client, want: &str) {
    let script = format!(
        "const s = document.getElementById('refresh-status'); return s && (s.dataset.state + (s.dataset.reason ? ':' + s.dataset.reason : '')) === {}",
        json!(want)
    );
    wait_js(c, &script, 10, want).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_refresh_pauses_while_typing_and_keeps_the_scroll_position() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    // The interval is a setting of About & settings, kept in local storage.
    open(c, &server.url("/about"), "#refresh-interval").await;
    c.find(Locator::Id("refresh-interval"))
        .await
        .unwrap()
        .select_by_value("2")
        .await
        .unwrap();
    open(c, &server.url("/logs"), "#logs-table tr.log-row").await;
    wait_js(
        c,
        &format!("{} === 6", count("#logs-table tr.log-row")),
        10,
        "6 logs",
    )
    .await;
    wait_state(c, "live").await;
    assert!(texts(c, "#refresh-state").await[0].starts_with("Live"));
    assert!(
        !texts(c, "#refresh-updated").await[0].is_empty(),
        "the time of the last update is shown"
    );

    // A filter field with the focus: paused, and the header says why.
    c.find(Locator::Id("f-service"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_state(c, "paused:editing").await;
    assert_eq!(texts(c, "#refresh-state").await, ["Paused: editing"]);
    post_log(&server, "arrived while typing").await;
    // A negative check needs time to pass: more than two intervals.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        c.execute(&count("#logs-table tr.log-row"), vec![])
            .await
            .unwrap(),
        6,
        "no refresh while editing"
    );
    assert_eq!(refresh_state(c).await, "paused:editing");

    // Typing in the Logs search: still paused while typing.
    let search = c.find(Locator::Id("f-q")).await.unwrap();
    search.click().await.unwrap();
    search.send_keys("typing").await.unwrap();
    wait_js(
        c,
        "return location.search.includes('q=typing')",
        5,
        "the typed search applied",
    )
    .await;
    assert_eq!(refresh_state(c).await, "paused:editing");

    // Clearing the search and leaving the field: live again, and the new log
    // appears on top.
    c.execute(
        "const i = document.getElementById('f-q'); i.value = ''; i.dispatchEvent(new InputEvent('input', {bubbles: true}));",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css("h1.page-title"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_state(c, "live").await;
    wait_js(
        c,
        &format!("{} === 7", count("#logs-table tr.log-row")),
        10,
        "the new log",
    )
    .await;
    assert_eq!(
        texts(c, "#logs-table tr.log-row td.body").await[0],
        "arrived while typing"
    );

    // An applied text search stays put (paused); the refresh button fetches anyway.
    open(c, &server.url("/logs?q=arrived"), "#logs-table tr.log-row").await;
    wait_state(c, "paused:search").await;
    let before = texts(c, "#refresh-updated").await;
    post_log(&server, "arrived later").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        c.execute(&count("#logs-table tr.log-row"), vec![])
            .await
            .unwrap(),
        1,
        "a search does not refresh by itself"
    );
    c.find(Locator::Id("refresh-now"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        &format!("{} === 2", count("#logs-table tr.log-row")),
        10,
        "the log fetched by the refresh button",
    )
    .await;
    assert_eq!(
        texts(c, "#logs-table tr.log-row td.body").await[0],
        "arrived later"
    );
    assert_eq!(refresh_state(c).await, "paused:search");
    assert_ne!(texts(c, "#refresh-updated").await, before);

    // Switched off: the header says so, and nothing polls.
    c.find(Locator::Id("refresh-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    open(c, &server.url("/logs"), "#logs-table tr.log-row").await;
    wait_state(c, "paused:off").await;
    assert_eq!(texts(c, "#refresh-state").await, ["Auto-refresh off"]);
    c.find(Locator::Id("refresh-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_state(c, "live").await;

    // A refresh of a scrolled list keeps the scroll position.
    open(c, &server.url("/traces"), "#traces-table tbody tr").await;
    wait_js(
        c,
        &format!("{} === 42", count("#traces-table tbody tr")),
        10,
        "42 traces",
    )
    .await;
    c.execute("window.scrollTo(0, 400)", vec![]).await.unwrap();
    // The row at the top of the viewport, and where it is on screen.
    let anchor = "const r = Array.from(document.querySelectorAll('#traces-table tbody tr')).find(r => r.getBoundingClientRect().top > 100);
                  return [r.dataset.traceId, Math.round(r.getBoundingClientRect().top)];";
    let before = c.execute(anchor, vec![]).await.unwrap();
    let late = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "late"}}]},
        "scopeSpans": [{"scope": {}, "spans": [{"traceId": "1a7e0000000000000000000000000001", "spanId": "1a7e000000000001",
            "name": "late arrival", "kind": 2,
            "startTimeUnixNano": scenario::now_nanos().to_string(), "endTimeUnixNano": (scenario::now_nanos() + 1_000_000).to_string()}]}]
    }]});
    let r = reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http_url))
        .json(&late)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    wait_js(
        c,
        &format!("{} === 43", count("#traces-table tbody tr")),
        10,
        "the new trace",
    )
    .await;
    assert_eq!(
        texts(c, "#traces-table tbody tr td.root a.op").await[0],
        "late arrival"
    );
    // The rows being read stay where they were on screen (the browser's
    // scroll anchoring absorbs the row added above them).
    let id = before[0].as_str().unwrap();
    let top = c
        .execute(&format!("return Math.round(document.querySelector(\"#traces-table tr[data-trace-id='{id}']\").getBoundingClientRect().top)"), vec![])
        .await
        .unwrap();
    assert!(
        (top.as_i64().unwrap() - before[1].as_i64().unwrap()).abs() <= 2,
        "{before} → {top}"
    );
    assert!(
        c.execute("return window.scrollY", vec![])
            .await
            .unwrap()
            .as_f64()
            .unwrap()
            >= 400.0
    );
    browser.close().await;
}
