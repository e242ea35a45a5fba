//! The dark and light themes in a real Chromium: the header toggle switches
//! and remembers the theme, every view is drawn in both (screenshots under
//! `target/test-artifacts/theme-*`), the chart redraws in the theme's colours,
//! and no view is wider than a 1024-pixel window.

use std::time::Duration;

use fantoccini::{Client, Locator};
use sightline_tests::Sightline;
use sightline_tests::browser::{Browser, open, shot, wait_js};
use sightline_tests::scenario::{self, *};

/// The page's background colour, as the browser computed it.
async fn background(c: &Client) -> String {
    c.execute(
        "return getComputedStyle(document.body).backgroundColor",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Every view, the element that says it is drawn, and what to do first.
fn views() -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("traces", "/traces".into(), "#traces-table tbody tr"),
        (
            "trace",
            format!("/traces/{CHECKOUT_TRACE}?span={PAY_SERVER}"),
            "#span-panel[data-details='loaded']",
        ),
        ("spans", "/spans".into(), "#spans-table tbody tr"),
        ("logs", "/logs".into(), "#logs-table tr.log-row"),
        (
            "metrics",
            "/metrics?metric=http.server.requests".into(),
            "#metric-chart canvas",
        ),
        ("services", "/services".into(), "#services-table tbody tr"),
        ("start", "/start".into(), "#page-start"),
        ("about", "/about".into(), "#about-ingest-table"),
        (
            "trace-404",
            "/traces/00000000000000000000000000000bad".into(),
            ".error-box",
        ),
        ("no-such-page", "/nowhere".into(), ".empty"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_view_in_both_themes_fits_1024_pixels() {
    let server = Sightline::start();
    scenario::send(
        &reqwest::Client::new(),
        &server.otlp_http_url,
        scenario::now_nanos(),
        40,
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.set_window_size(1024, 800).await.unwrap();

    // Dark by default.
    open(c, &server.url("/traces"), "#theme-toggle").await;
    assert_eq!(
        c.execute("return document.documentElement.dataset.theme", vec![])
            .await
            .unwrap(),
        "dark"
    );
    let dark_bg = background(c).await;
    let mut too_wide = Vec::new();
    let mut bar_colours = Vec::new();

    for theme in ["dark", "light"] {
        if theme == "light" {
            // The header toggle switches at once and is remembered.
            c.find(Locator::Id("theme-toggle"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            wait_js(
                c,
                "return document.documentElement.dataset.theme === 'light'",
                5,
                "the light theme",
            )
            .await;
            assert_ne!(background(c).await, dark_bg);
        }
        for (name, path, ready) in views() {
            open(c, &server.url(&path), ready).await;
            // A fresh page load keeps the stored theme.
            assert_eq!(
                c.execute("return document.documentElement.dataset.theme", vec![])
                    .await
                    .unwrap(),
                theme,
                "{name}"
            );
            // Let charts and maps settle.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let overflow = c
                .execute(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                    vec![],
                )
                .await
                .unwrap()
                .as_f64()
                .unwrap();
            shot(c, &format!("theme-{theme}-{name}")).await;
            if name == "trace" {
                // Service colours have a shade per theme.
                let colour = c
                    .execute(
                        "return getComputedStyle(document.querySelector('#waterfall .wf-row .bar')).backgroundColor",
                        vec![],
                    )
                    .await
                    .unwrap();
                bar_colours.push(colour);
            }
            if name == "about" {
                c.execute("window.scrollTo(0, document.body.scrollHeight)", vec![])
                    .await
                    .unwrap();
                shot(c, &format!("theme-{theme}-about-end")).await;
            }
            if overflow > 0.0 {
                too_wide.push(format!("{name} ({theme}): {overflow} px"));
            }
        }
    }

    assert!(
        too_wide.is_empty(),
        "wider than a 1024-pixel window: {too_wide:?}"
    );
    assert_eq!(bar_colours.len(), 2);
    assert_ne!(
        bar_colours[0], bar_colours[1],
        "a service's bar, dark and light"
    );

    // The chart is drawn in the theme's colours: its axis labels change with it.
    let axis_ink = "const c = document.querySelector('#metric-chart canvas');
        const d = c.getContext('2d').getImageData(0, 0, 90, c.height).data;
        let dark = 0, light = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] < 200) continue;
            const l = d[i] + d[i + 1] + d[i + 2];
            if (l < 384) dark++; else light++;
        }
        return dark > light ? 'dark ink' : 'light ink';";
    open(
        c,
        &server.url("/metrics?metric=http.server.requests"),
        "#metric-chart canvas",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        c.execute(axis_ink, vec![]).await.unwrap(),
        "dark ink",
        "light theme: dark labels"
    );
    c.find(Locator::Id("theme-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return document.documentElement.dataset.theme === 'dark'",
        5,
        "dark again",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        c.execute(axis_ink, vec![]).await.unwrap(),
        "light ink",
        "dark theme: light labels, redrawn without a reload"
    );
    browser.close().await;
}
