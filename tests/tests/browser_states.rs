//! Empty and error states in a real Chromium, each saying what to do: a
//! server with no data yet points to Getting started, filters that match
//! nothing offer to clear them, an unknown trace says why it may be missing,
//! and a server that went away says so in the view and in the footer. A
//! login that ends sends the dashboard to the login page, which comes back.
//! Screenshots: `target/test-artifacts/state-*.png`.

use std::time::Duration;

use fantoccini::Locator;
use sightline_tests::browser::{Browser, attrs, open, shot, submit_login, texts, wait_js};
use sightline_tests::{Options, Sightline};

#[tokio::test(flavor = "multi_thread")]
async fn empty_and_error_states_say_what_to_do() {
    let mut server = Sightline::start();
    let browser = Browser::start().await;
    let c = &browser.client;

    // Nothing received yet: every list points to Getting started.
    for (view, empty) in [
        ("traces", "#traces-empty"),
        ("spans", "#spans-empty"),
        ("logs", "#logs-empty"),
        ("services", "#services-empty"),
        ("metrics", "#metrics-empty"),
    ] {
        open(c, &server.url(&format!("/{view}")), empty).await;
        assert_eq!(
            attrs(c, &format!("{empty} a"), "href").await,
            ["/start"],
            "{view}"
        );
        shot(c, &format!("state-empty-{view}")).await;
    }

    // Filters that match nothing: a link clears them and keeps the window.
    open(
        c,
        &server.url("/traces?range=15m&service=nope"),
        "#traces-empty",
    )
    .await;
    assert!(texts(c, "#traces-empty h2").await[0].contains("match these filters"));
    assert_eq!(
        attrs(c, "#traces-empty a", "href").await,
        ["/traces?range=15m"]
    );
    shot(c, "state-no-match").await;

    // An unknown trace: why, and where to look.
    open(
        c,
        &server.url("/traces/00000000000000000000000000000bad"),
        ".error-box",
    )
    .await;
    let text = texts(c, ".error-box").await.join(" ");
    assert!(
        text.contains("HTTP 404") && text.contains("evicted"),
        "{text}"
    );
    assert_eq!(
        attrs(c, ".error-box a", "href").await,
        ["/about", "/traces"]
    );
    shot(c, "state-trace-404").await;

    // The server goes away while the page is open.
    open(c, &server.url("/logs"), "#logs-empty").await;
    wait_js(
        c,
        "return !document.getElementById('refresh-now').disabled",
        10,
        "the refresh button",
    )
    .await;
    server.terminate();
    c.find(Locator::Id("refresh-now"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "const e = document.querySelector('.error-box'); return e && e.textContent",
        10,
        "the error",
    )
    .await;
    let text = texts(c, ".error-box").await.join(" ");
    assert!(
        text.contains("cannot reach the Sightline server") && text.contains("is running"),
        "{text}"
    );
    wait_js(
        c,
        "return document.querySelector('#server-status .dot.bad') !== null",
        10,
        "the footer's bad dot",
    )
    .await;
    shot(c, "state-server-down").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_sends_the_dashboard_to_the_login_page_and_back() {
    const TOKEN: &str = "ui-token-for-the-browser";
    let server = Sightline::start_with(Options {
        args: vec!["--ui-token".into(), TOKEN.into()],
        ..Options::default()
    });
    let browser = Browser::start().await;
    let c = &browser.client;
    let here = "/logs?q=payment+failed&range=15m";

    // Signed in, the dashboard works.
    open(c, &server.url(here), "#login-form").await;
    submit_login(c, TOKEN).await;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#logs-empty"))
        .await
        .expect("the logs view after signing in");

    // The session ends while the page is open (here: a logout in another
    // tab); the next API call gets 401 and the page goes to the login.
    c.execute_async(
        "const done = arguments[arguments.length - 1];
         fetch('/logout', {method: 'POST', redirect: 'manual'}).then(() => done(true), e => done(String(e)));",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("refresh-now"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return location.pathname === '/login'",
        10,
        "the login page",
    )
    .await;
    let url = c.current_url().await.unwrap();
    assert_eq!(
        url.query(),
        Some("next=%2Flogs%3Fq%3Dpayment%2Bfailed%26range%3D15m")
    );
    // Signing in again returns to the same view.
    submit_login(c, TOKEN).await;
    wait_js(
        c,
        &format!(
            "return location.pathname + location.search === {}",
            serde_json::json!(here)
        ),
        20,
        "back at the logs view",
    )
    .await;
    browser.close().await;
}
