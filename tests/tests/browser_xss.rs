//! Hostile telemetry in a real Chromium: service names, span names,
//! attribute keys and values, events and log bodies holding markup and
//! `javascript:` URLs are shown as text in every view, never run or turned
//! into elements; the CSP admits the dashboard itself (its loader, its
//! WebAssembly and its style attributes). And with a UI token, the login
//! page leads to the deep link that was asked for, also from another site.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use sightline_tests::browser::{Browser, open, path_and_query, shot, submit_login, wait_js};
use sightline_tests::scenario::{self, CHECKOUT_TRACE, PAY_SERVER};
use sightline_tests::{Options, Sightline};

const P_SCRIPT: &str = "<script>window.__pwned=1</script>";
const P_IMG: &str = r#"<img src=x onerror="window.__pwned=1">"#;
const P_JS: &str = "javascript:window.__pwned=1";

const TRACE: &str = "7ac0000000000000000000000000000a";
const ROOT: &str = "a1a1a1a1a1a1a1a1";
const CHILD: &str = "b2b2b2b2b2b2b2b2";

fn kv(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// One trace over two services named with markup; every text field of
/// the spans carries a payload.
fn hostile_traces(now: u64) -> Value {
    let t = |ms: u64| (now - 60_000_000_000 + ms * 1_000_000).to_string();
    json!({"resourceSpans": [
        {"resource": {"attributes": [kv("service.name", P_IMG), kv("deployment.environment.name", P_SCRIPT)]},
         "scopeSpans": [{"scope": {"name": P_SCRIPT}, "spans": [{
            "traceId": TRACE, "spanId": ROOT, "name": P_SCRIPT, "kind": 2,
            "startTimeUnixNano": t(0), "endTimeUnixNano": t(50),
            "attributes": [kv(P_IMG, P_SCRIPT), kv("url.full", P_JS), kv("http.route", P_IMG)],
            "events": [{"timeUnixNano": t(10), "name": P_IMG,
                        "attributes": [kv("exception.message", P_SCRIPT), kv("link", P_JS)]}],
            "status": {"code": 2, "message": P_IMG}
         }]}]},
        {"resource": {"attributes": [kv("service.name", P_SCRIPT)]},
         "scopeSpans": [{"scope": {}, "spans": [{
            "traceId": TRACE, "spanId": CHILD, "parentSpanId": ROOT, "name": P_IMG, "kind": 2,
            "startTimeUnixNano": t(5), "endTimeUnixNano": t(40),
            "attributes": [kv("url.full", P_JS)]
         }]}]}
    ]})
}

fn hostile_logs(now: u64) -> Value {
    let t = (now - 59_000_000_000).to_string();
    json!({"resourceLogs": [{
        "resource": {"attributes": [kv("service.name", P_IMG)]},
        "scopeLogs": [{"scope": {}, "logRecords": [
            {"timeUnixNano": t, "observedTimeUnixNano": t, "severityNumber": 17, "severityText": "ERROR",
             "body": {"stringValue": P_SCRIPT}, "traceId": TRACE, "spanId": ROOT,
             "attributes": [kv("url.full", P_JS), kv(P_IMG, P_IMG)]},
            {"timeUnixNano": t, "observedTimeUnixNano": t, "severityNumber": 9,
             "body": {"stringValue": P_IMG}}
        ]}]
    }]})
}

async fn post(server: &Sightline, path: &str, body: &Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/{path}", server.otlp_http_url))
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "POST /v1/{path}: {}", r.status());
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

/// Waits until `text` is the content of a text node in the page (so it
/// is shown as text, whatever markup it looks like).
async fn shows_literally(c: &Client, text: &str, view: &str) {
    let script = format!(
        "const p = {}; return Array.from(document.querySelectorAll('body *')).some(e =>
           Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.includes(p)));",
        json!(text)
    );
    wait_js(c, &script, 10, &format!("{text:?} shown as text in {view}")).await;
}

/// Nothing from the data ran or became an element or a link.
async fn assert_clean(c: &Client, view: &str) {
    let found = c
        .execute(
            "return {
               pwned: typeof window.__pwned,
               imgs: Array.from(document.querySelectorAll('img'))
                 .filter(i => i.getAttribute('src') === 'x' || i.hasAttribute('onerror')).length,
               handlers: document.querySelectorAll('[onerror]').length,
               scripts: Array.from(document.scripts).filter(s => s.textContent.includes('__pwned')).length,
               jsLinks: Array.from(document.querySelectorAll('a[href]'))
                 .filter(a => a.getAttribute('href').trim().toLowerCase().startsWith('javascript:')).length,
             };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        found,
        json!({"pwned": "undefined", "imgs": 0, "handlers": 0, "scripts": 0, "jsLinks": 0}),
        "{view}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn markup_in_telemetry_is_shown_as_text_in_every_view() {
    let server = Sightline::start();
    let now = scenario::now_nanos();
    post(&server, "traces", &hostile_traces(now)).await;
    post(&server, "logs", &hostile_logs(now)).await;
    let browser = Browser::start().await;
    let c = &browser.client;

    // Traces list. From here on the app navigates itself (no reload), so a
    // listener sees every CSP violation of the views that follow.
    open(c, &server.url("/traces?range=1h"), "#traces-table tbody tr").await;
    c.execute(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',
           e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));",
        vec![],
    )
    .await
    .unwrap();
    shows_literally(c, P_SCRIPT, "the traces list").await;
    shows_literally(c, P_IMG, "the traces list").await;
    assert_clean(c, "traces list").await;

    // The trace, with the root span's panel open.
    click(c, "#traces-table tbody tr td.root a.op").await;
    click(c, &format!("#waterfall .wf-row[data-span-id='{ROOT}']")).await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("span-panel"))
        .await
        .unwrap();
    assert_eq!(
        path_and_query(c).await,
        format!("/traces/{TRACE}?span={ROOT}")
    );
    for p in [P_SCRIPT, P_IMG, P_JS] {
        shows_literally(c, p, "the trace view").await;
    }
    // The waterfall's indent is a style attribute: the CSP must admit it.
    let indent = c
        .execute(
            &format!(
                "return [getComputedStyle(document.querySelector(\"#waterfall .wf-row[data-span-id='{ROOT}'] .wf-name\")).paddingLeft,
                         getComputedStyle(document.querySelector(\"#waterfall .wf-row[data-span-id='{CHILD}'] .wf-name\")).paddingLeft]"
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(indent, json!(["6px", "20px"]), "style attributes applied");
    shot(c, "xss-trace").await;
    assert_clean(c, "trace view with the span panel").await;

    // Spans, logs (a row opened) and services, through the tab bar.
    click(c, "nav.tabs a.tab[href^='/spans']").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#spans-table tbody tr"))
        .await
        .unwrap();
    shows_literally(c, P_SCRIPT, "the spans view").await;
    shows_literally(c, P_IMG, "the spans view").await;
    assert_clean(c, "spans view").await;

    click(c, "nav.tabs a.tab[href^='/logs']").await;
    click(c, "#logs-table tr.log-row.sev-error").await;
    c.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#logs-table tr.log-detail"))
        .await
        .unwrap();
    for p in [P_SCRIPT, P_IMG, P_JS] {
        shows_literally(c, p, "the logs view").await;
    }
    assert_clean(c, "logs view with a row open").await;

    click(c, "nav.tabs a.tab[href^='/services']").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#services-table tbody tr"))
        .await
        .unwrap();
    shows_literally(c, P_SCRIPT, "the services view").await;
    shows_literally(c, P_IMG, "the services view").await;
    shot(c, "xss-services").await;
    assert_clean(c, "services view").await;

    let violations = c.execute("return window.__csp", vec![]).await.unwrap();
    assert_eq!(violations, json!([]), "CSP violations");
    browser.close().await;
}

const UI_TOKEN: &str = "browser-login-token-42";

#[tokio::test(flavor = "multi_thread")]
async fn the_login_page_leads_to_the_requested_deep_link() {
    let server = Sightline::start_with(Options {
        args: vec!["--ui-token".into(), UI_TOKEN.into()],
        ..Default::default()
    });
    scenario::send(
        &reqwest::Client::new(),
        &server.otlp_http_url,
        scenario::now_nanos(),
        0,
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    let deep = format!("/traces/{CHECKOUT_TRACE}?span={PAY_SERVER}");

    open(c, &server.url(&deep), "#login-form").await;
    let at = path_and_query(c).await;
    assert!(
        at.starts_with("/login?next=") && at.contains(CHECKOUT_TRACE),
        "{at}"
    );

    // A wrong token: the page says so and stays.
    submit_login(c, "not-it").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("login-error"))
        .await
        .unwrap();
    let notice = c
        .find(Locator::Id("login-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains("Wrong token"), "{notice}");
    shot(c, "login-wrong-token").await;

    // The right one: straight to the deep link, which renders with its data.
    submit_login(c, UI_TOKEN).await;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("span-panel"))
        .await
        .unwrap();
    assert_eq!(path_and_query(c).await, deep);
    wait_js(
        c,
        &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{PAY_SERVER}']\")"),
        10,
        "the selected span from the deep link",
    )
    .await;
    // The session cookie is out of reach of scripts.
    let cookies = c.execute("return document.cookie", vec![]).await.unwrap();
    assert_eq!(cookies, json!(""), "HttpOnly");

    // A link followed from another site (localhost is another site than
    // 127.0.0.1) arrives without the SameSite=Strict cookie; the login page
    // reloads itself from this site, the cookie comes along, and the link
    // opens without asking again.
    let elsewhere = server.otlp_http_url.replacen("127.0.0.1", "localhost", 1);
    c.goto(&format!("{elsewhere}/")).await.unwrap();
    c.execute(
        "location.href = arguments[0];",
        vec![json!(server.url(&deep))],
    )
    .await
    .unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("span-panel"))
        .await
        .unwrap();
    assert_eq!(path_and_query(c).await, deep);

    // The header's Sign out button ends the session.
    shot(c, "login-signed-in").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("sign-out"))
        .await
        .expect("a dashboard behind a login offers Sign out")
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("login-form"))
        .await
        .unwrap();
    open(c, &server.url("/traces"), "#login-form").await;
    assert_eq!(path_and_query(c).await, "/login?next=%2Ftraces");
    browser.close().await;
}
