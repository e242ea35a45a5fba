//! A real Chromium opens the dashboard served by the real binary and the Yew
//! application renders (elements only the WebAssembly code creates).

use std::time::Duration;

use fantoccini::Locator;
use sightline_tests::browser::Browser;
use sightline_tests::{Sightline, artifacts_dir};

#[tokio::test(flavor = "multi_thread")]
async fn the_wasm_app_renders_its_frame_and_routes() {
    let server = Sightline::start();
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&server.url("/")).await.unwrap();

    // The root redirects to the traces view, and the tab bar is drawn by Yew.
    let tabs = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#sightline-app nav.tabs a.tab"))
        .await
        .expect("the Yew app did not render its tab bar");
    let _ = tabs;
    let labels: Vec<String> = {
        let mut v = Vec::new();
        for e in c.find_all(Locator::Css("nav.tabs a.tab")).await.unwrap() {
            v.push(e.text().await.unwrap());
        }
        v
    };
    assert_eq!(
        labels,
        [
            "Traces",
            "Spans",
            "Logs",
            "Metrics",
            "Services",
            "Getting started"
        ]
    );
    assert!(c.current_url().await.unwrap().path().ends_with("/traces"));
    assert!(
        c.find(Locator::Id("boot")).await.is_err(),
        "the static loading notice was replaced"
    );

    // The footer shows the health answer fetched by the app.
    let status = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#server-status .dot.ok"))
        .await;
    assert!(status.is_ok(), "footer did not show a healthy server");

    // Navigating to another tab changes the URL and the view.
    c.find(Locator::LinkText("Logs"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Id("page-logs"))
        .await
        .unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/logs"));

    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts_dir().join("foundation-logs.png"), png).unwrap();
    browser.close().await;
}
