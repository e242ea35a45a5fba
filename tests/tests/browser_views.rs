//! The Spans, Services, Metrics, Getting-started and About views in a real
//! Chromium, TinyOlly-style `?tab=` links, and span links that find their
//! trace.

use std::time::Duration;

use fantoccini::Locator;
use sightline_tests::Sightline;
use sightline_tests::browser::{Browser, attrs, count, open, path_and_query, shot, texts, wait_js};
use sightline_tests::manifest::Engine;
use sightline_tests::scenario::{self, *};

async fn seeded() -> (Sightline, Browser) {
    let server = Sightline::start();
    let client = reqwest::Client::new();
    scenario::send(&client, &server.otlp_http_url, scenario::now_nanos(), 40).await;
    let browser = Browser::start().await;
    (server, browser)
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_search_and_span_links_find_their_trace() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(c, &server.url("/spans"), "#spans-table tbody tr").await;
    // 9 checkout + 3 orphan-trace + 40 item spans.
    wait_js(
        c,
        &format!("{} === 52", count("#spans-table tbody tr")),
        10,
        "52 spans",
    )
    .await;
    c.find(Locator::Id("f-status"))
        .await
        .unwrap()
        .select_by_value("error")
        .await
        .unwrap();
    wait_js(
        c,
        "return location.search.includes('status=error')",
        5,
        "status=error",
    )
    .await;
    c.find(Locator::Id("f-service"))
        .await
        .unwrap()
        .send_keys("payment")
        .await
        .unwrap();
    wait_js(
        c,
        &format!("{} === 2", count("#spans-table tbody tr")),
        10,
        "payment's two failed spans",
    )
    .await;
    let mut ids = attrs(c, "#spans-table tbody tr", "data-span-id").await;
    ids.sort();
    assert_eq!(ids, [PAY_SERVER, PAY_CHARGE]);
    shot(c, "spans").await;
    // A row opens its trace with the span selected.
    c.find(Locator::Css(&format!(
        "#spans-table tr[data-span-id='{PAY_CHARGE}'] td:nth-child(4)"
    )))
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
        format!("/traces/{CHECKOUT_TRACE}?span={PAY_CHARGE}")
    );

    // /spans/{id} and TinyOlly's ?tab=spans&spanId= find the trace.
    for start in [
        format!("/spans/{CART_LOAD}"),
        format!("/?tab=spans&spanId={CART_LOAD}"),
    ] {
        open(c, &server.url(&start), "#span-panel").await;
        assert_eq!(
            path_and_query(c).await,
            format!("/traces/{CHECKOUT_TRACE}?span={CART_LOAD}")
        );
        assert_eq!(texts(c, "#span-title").await, ["load cart"]);
    }
    open(c, &server.url("/spans/00000000000000aa"), ".error-box").await;
    assert!(texts(c, ".error-box").await[0].contains("no stored span"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tinyolly_links_open_their_views() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    let cases = [
        (
            format!("/?tab=traces&traceId={CHECKOUT_TRACE}"),
            format!("/traces/{CHECKOUT_TRACE}"),
            "#waterfall .wf-row",
        ),
        (
            "/?tab=traces".to_owned(),
            "/traces".to_owned(),
            "#traces-table",
        ),
        (
            "/?tab=spans".to_owned(),
            "/spans".to_owned(),
            "#spans-table",
        ),
        ("/?tab=logs".to_owned(), "/logs".to_owned(), "#logs-table"),
        (
            "/?tab=services".to_owned(),
            "/services".to_owned(),
            "#services-table",
        ),
        (
            "/?tab=metrics".to_owned(),
            "/metrics".to_owned(),
            "#page-metrics",
        ),
        ("/".to_owned(), "/traces".to_owned(), "#traces-table"),
    ];
    for (from, to, css) in cases {
        open(c, &server.url(&from), css).await;
        assert_eq!(path_and_query(c).await, to, "{from}");
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn services_catalog_and_global_map() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(c, &server.url("/services"), "#services-table tbody tr").await;
    let mut names = attrs(c, "#services-table tbody tr", "data-service").await;
    names.sort();
    assert_eq!(names, ["bank", "cart", "payment", "scheduler", "web"]);
    assert_eq!(
        c.execute(
            &count("#services-table tbody tr svg.sparkline polyline"),
            vec![]
        )
        .await
        .unwrap(),
        5
    );
    let payment = texts(c, "#services-table tr[data-service='payment'] td").await;
    assert_eq!(payment[2], "100%", "payment's request failed: {payment:?}");
    // The global map: services, the inferred caller, the failing edge.
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#global-map .node"))
        .await
        .unwrap();
    let mut nodes = attrs(c, "#global-map .node", "data-service").await;
    nodes.sort();
    for n in ["bank", "cart", "payment", "web"] {
        assert!(nodes.contains(&n.to_owned()), "{n} not in {nodes:?}");
    }
    assert_eq!(
        attrs(
            c,
            "#global-map .edge.err[data-from='web'][data-to='payment']",
            "data-calls"
        )
        .await,
        ["1"]
    );
    shot(c, "services").await;

    // The row's buttons open the other views filtered to the service.
    c.find(Locator::Css(
        "#services-table tr[data-service='payment'] td.actions a",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#traces-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(path_and_query(c).await, "/traces?service=payment");
    assert_eq!(
        attrs(c, "#traces-table tbody tr", "data-trace-id").await,
        [CHECKOUT_TRACE]
    );
    c.back().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#services-table tbody tr"))
        .await
        .unwrap();
    let logs = attrs(
        c,
        "#services-table tr[data-service='payment'] td.actions a",
        "href",
    )
    .await;
    assert_eq!(
        logs,
        [
            "/traces?service=payment",
            "/spans?service=payment",
            "/logs?service=payment",
            "/metrics?service=payment"
        ]
    );
    // A map node opens the service's traces.
    c.find(Locator::Css("#global-map .node[data-service='cart']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return location.pathname === '/traces' && location.search === '?service=cart'",
        10,
        "cart's traces",
    )
    .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn getting_started_lists_the_endpoints() {
    let server = Sightline::start();
    let browser = Browser::start().await;
    let c = &browser.client;
    open(c, &server.url("/start"), "#endpoint-http").await;
    // The test server listens on ephemeral ports: the page shows those.
    let http = server.otlp_http_url.clone();
    let grpc = format!("http://{}", server.otlp_grpc_addr);
    wait_js(
        c,
        &format!(
            "return document.getElementById('endpoint-http').textContent === '{http}' \
             && document.getElementById('endpoint-grpc').textContent === '{grpc}'"
        ),
        10,
        "the receivers' real ports",
    )
    .await;
    assert!(
        texts(c, "#env-http").await[0].contains(&format!("OTEL_EXPORTER_OTLP_ENDPOINT={http}"))
    );
    c.find(Locator::Id("copy-env-http"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return document.getElementById('copy-env-http').dataset.copiedVia",
        5,
        "copied",
    )
    .await;
    shot(c, "getting-started").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_picker_chart_legend_and_hover() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(c, &server.url("/metrics"), "#metric-list li").await;
    let names = texts(c, "#metric-list .metric-name").await;
    for n in [
        "http.server.duration",
        "http.server.requests",
        "process.cpu.utilization",
    ] {
        assert!(names.contains(&n.to_owned()), "{n} not in {names:?}");
    }
    // The picker's search narrows the list.
    c.find(Locator::Id("metric-search"))
        .await
        .unwrap()
        .send_keys("requests")
        .await
        .unwrap();
    wait_js(
        c,
        &format!("{} === 1", count("#metric-list li")),
        5,
        "one metric",
    )
    .await;
    c.find(Locator::Css("#metric-list li a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return location.search.startsWith('?metric=http.server.requests')",
        5,
        "metric in the URL",
    )
    .await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#metric-chart canvas"))
        .await
        .unwrap();
    // One line per route, named in the legend.
    wait_js(
        c,
        &format!("{} === 2", count("#metric-chart .legend-item")),
        10,
        "two series",
    )
    .await;
    let legend = texts(c, "#metric-chart .legend-item").await;
    assert!(legend.iter().any(|l| l.contains("/checkout")), "{legend:?}");
    // Something was drawn on the canvas.
    let drawn = wait_js(
        c,
        "const c = document.querySelector('#metric-chart canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;",
        10,
        "pixels on the canvas",
    )
    .await;
    assert!(drawn.as_u64().unwrap_or(0) > 500, "{drawn}");
    // Hovering shows every series' value at the nearest step.
    c.execute(
        "const c = document.querySelector('#metric-chart .chart-canvas'); const r = c.getBoundingClientRect();
         c.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width * 0.6, clientY: r.top + 100, bubbles: true}));",
        vec![],
    )
    .await
    .unwrap();
    c.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Id("chart-readout"))
        .await
        .unwrap();
    assert_eq!(
        c.execute(&count("#chart-readout .readout-row"), vec![])
            .await
            .unwrap(),
        2
    );
    shot(c, "metrics").await;
    // Aggregation and group-by live in the URL.
    c.find(Locator::Id("f-agg"))
        .await
        .unwrap()
        .select_by_value("sum")
        .await
        .unwrap();
    wait_js(
        c,
        "return location.search.includes('agg=sum')",
        5,
        "agg=sum",
    )
    .await;
    // A histogram is drawn as percentile lines.
    open(
        c,
        &server.url("/metrics?metric=http.server.duration"),
        "#metric-chart .legend-item",
    )
    .await;
    wait_js(
        c,
        &format!("{} === 3", count("#metric-chart .legend-item")),
        10,
        "p50, p95, p99",
    )
    .await;
    let legend = texts(c, "#metric-chart .legend-item").await;
    assert!(
        legend[0].starts_with("p50") && legend[2].starts_with("p99"),
        "{legend:?}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn about_shows_the_server_its_storage_and_the_backup_link() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(c, &server.url("/traces"), "#about-link").await;
    // Reachable from the header, and as a TinyOlly-style tab.
    c.find(Locator::Id("about-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#about-ingest-table"))
        .await
        .unwrap();
    assert_eq!(path_and_query(c).await, "/about");

    let health: serde_json::Value = reqwest::get(server.url("/api/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Without a login there is no session to end.
    assert_eq!(health["loginRequired"], false);
    assert!(c.find(Locator::Id("sign-out")).await.is_err());
    assert_eq!(
        texts(c, "#about-version").await,
        [health["version"].as_str().unwrap()]
    );
    // The scenario's 52 spans came over OTLP/HTTP JSON.
    assert_eq!(
        texts(
            c,
            "#about-ingest-table tr[data-signal='traces'][data-transport='http/json'] td.accepted"
        )
        .await,
        ["52"]
    );
    match server.engine() {
        Engine::Sqlite => {
            let data_dir = server.data_dir().display().to_string();
            assert_eq!(texts(c, "#about-data-dir").await, [data_dir.as_str()]);
            assert!(texts(c, "#about-db-size").await[0].contains("of 512 MB"));
            // The backup link downloads from /api/backup; the note says how to restore.
            assert_eq!(attrs(c, "#download-backup", "href").await, ["/api/backup"]);
            assert_eq!(
                c.execute(
                    "return document.getElementById('download-backup').hasAttribute('download')",
                    vec![]
                )
                .await
                .unwrap(),
                true
            );
            let note = texts(c, "#restore-note").await.join(" ");
            assert!(
                note.contains("stop sightline")
                    && note.contains(&format!("{data_dir}/sightline.db"))
                    && note.contains("start it"),
                "{note}"
            );
        }
        Engine::ClickHouse => {
            // The engine and where it stores; no size cap and no download.
            assert!(texts(c, "#about-engine").await[0].contains("ClickHouse"));
            let db = server.clickhouse_database().unwrap_or_default();
            assert!(
                texts(c, "#about-data-dir").await[0].ends_with(&format!("database {db}")),
                "{:?}",
                texts(c, "#about-data-dir").await
            );
            assert!(texts(c, "#about-db-size").await[0].contains("active parts"));
            assert!(c.find(Locator::Id("download-backup")).await.is_err());
            let note = texts(c, "#restore-note").await.join(" ");
            assert!(note.contains("BACKUP"), "{note}");
        }
    }
    shot(c, "about").await;
    open(c, &server.url("/?tab=about"), "#page-about").await;
    assert_eq!(path_and_query(c).await, "/about");
    browser.close().await;
}
