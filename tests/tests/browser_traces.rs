//! The trace views in a real Chromium against the real binary: the traces
//! list and its filters, the trace view (waterfall order and indent, noise
//! toggle, collapse, keyboard, search, service map, span panel, logs, short
//! ids in the path), and click-to-copy with its textarea fallback.

use std::time::Duration;

use fantoccini::{Client, Locator};
use sightline_tests::Sightline;
use sightline_tests::browser::{Browser, attrs, cdp, open, path_and_query, shot, texts, wait_js};
use sightline_tests::scenario::{self, *};

async fn seeded() -> (Sightline, Browser) {
    let server = Sightline::start();
    let client = reqwest::Client::new();
    scenario::send(&client, &server.otlp_http_url, scenario::now_nanos(), 40).await;
    let browser = Browser::start().await;
    (server, browser)
}

async fn row_ids(c: &Client) -> Vec<String> {
    attrs(c, "#waterfall .wf-row[data-span-id]", "data-span-id").await
}

async fn selected(c: &Client) -> Vec<String> {
    attrs(c, "#waterfall .wf-row.selected", "data-span-id").await
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_view_draws_the_waterfall_map_panel_and_logs() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(
        c,
        &server.url(&format!("/traces/{CHECKOUT_TRACE}")),
        "#waterfall .wf-row",
    )
    .await;

    // Rows in display order with their depth; the noisy `http send` span is hidden.
    let ids = row_ids(c).await;
    let depths = attrs(c, "#waterfall .wf-row[data-span-id]", "data-depth").await;
    let expected: Vec<(String, String)> = CHECKOUT_ROWS
        .iter()
        .map(|(id, d)| (id.to_string(), d.to_string()))
        .collect();
    assert_eq!(ids.into_iter().zip(depths).collect::<Vec<_>>(), expected);
    let errors = attrs(c, "#waterfall .wf-row.error", "data-span-id").await;
    assert_eq!(errors, [WEB_PAY_CALL, PAY_SERVER, PAY_CHARGE, BANK_SERVER]);
    let critical = attrs(c, "#waterfall .wf-row.critical", "data-span-id").await;
    assert!(
        critical.contains(&WEB_ROOT.to_owned()) && critical.contains(&BANK_SERVER.to_owned()),
        "{critical:?}"
    );
    assert_eq!(texts(c, "#trace-spans").await, ["9"]);
    assert_eq!(texts(c, "#trace-errors").await, ["4"]);
    // Every duration label stays in the timeline, clear of the span names
    // (the root's bar spans the whole row: its label sits inside it).
    let strays = c
        .execute(
            "return Array.from(document.querySelectorAll('#waterfall .wf-row[data-span-id]'))
               .filter(r => r.querySelector('.bar-label').getBoundingClientRect().left
                            < r.querySelector('.wf-time').getBoundingClientRect().left - 0.5)
               .map(r => r.dataset.spanId)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(strays, serde_json::json!([]), "labels over the names");
    let inside = attrs(
        c,
        &format!("#waterfall .wf-row[data-span-id='{WEB_ROOT}'] .bar-label"),
        "class",
    )
    .await;
    assert_eq!(inside, ["bar-label inside"]);

    // The noise toggle shows the hidden span under its server span.
    c.find(Locator::Id("hide-noise"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return document.querySelectorAll('#waterfall .wf-row[data-span-id]').length === 9",
        5,
        "the noisy span",
    )
    .await;
    assert!(path_and_query(c).await.contains("noise=show"));
    // It started last of the root's children, so it is the last row.
    assert_eq!(row_ids(c).await.last().map(String::as_str), Some(WEB_NOISE));
    c.find(Locator::Id("hide-noise"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return document.querySelectorAll('#waterfall .wf-row[data-span-id]').length === 8",
        5,
        "noise hidden again",
    )
    .await;

    // The per-trace service map: nodes, the inferred caller, counted edges, the error edge.
    let mut nodes = attrs(c, "#trace-map .node", "data-service").await;
    nodes.sort();
    assert_eq!(nodes, ["bank", "cart", "external client", "payment", "web"]);
    assert_eq!(
        attrs(c, "#trace-map .node.external", "data-service").await,
        ["external client"]
    );
    let edge =
        |from: &str, to: &str| format!("#trace-map .edge[data-from='{from}'][data-to='{to}']");
    assert_eq!(attrs(c, &edge("web", "payment"), "data-calls").await, ["1"]);
    assert_eq!(
        attrs(c, &format!("{}.err", edge("web", "payment")), "data-errors").await,
        ["1"]
    );
    assert_eq!(
        attrs(c, &format!("{}.err", edge("web", "cart")), "data-calls")
            .await
            .len(),
        0
    );
    assert_eq!(
        attrs(c, &edge("external client", "web"), "data-calls").await,
        ["1"]
    );

    // Clicking a row selects it (a new history entry) and opens its panel.
    c.find(Locator::Css(&format!(
        "#waterfall .wf-row[data-span-id='{PAY_SERVER}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#span-panel[data-details='loaded']"))
        .await
        .unwrap();
    assert!(
        path_and_query(c)
            .await
            .ends_with(&format!("?span={PAY_SERVER}"))
    );
    assert_eq!(texts(c, "#span-title").await, ["POST /api/payment"]);
    assert_eq!(texts(c, "#span-status").await, ["error: card declined"]);
    let stack = texts(c, "#span-panel pre.stacktrace").await;
    assert_eq!(
        stack,
        [STACKTRACE.trim()],
        "the stack trace is shown as preformatted text"
    );
    let white_space = c
        .execute("return getComputedStyle(document.querySelector('#span-panel pre.stacktrace')).whiteSpace", vec![])
        .await
        .unwrap();
    assert_eq!(white_space, "pre");
    shot(c, "trace-view").await;

    // Keyboard: down, left to the parent, left collapses, right expands.
    c.execute("document.getElementById('waterfall').focus()", vec![])
        .await
        .unwrap();
    let key = |k: &'static str| async move {
        c.active_element()
            .await
            .unwrap()
            .send_keys(k)
            .await
            .unwrap();
    };
    key("\u{E015}").await; // ArrowDown
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{PAY_CHARGE}']\")"), 5, "ArrowDown").await;
    key("\u{E012}").await; // ArrowLeft: charge card has children and is expanded → collapse
    wait_js(
        c,
        "return document.querySelectorAll('#waterfall .wf-row[data-span-id]').length === 7",
        5,
        "collapse",
    )
    .await;
    assert!(!row_ids(c).await.contains(&BANK_SERVER.to_owned()));
    key("\u{E014}").await; // ArrowRight: expand again
    wait_js(
        c,
        "return document.querySelectorAll('#waterfall .wf-row[data-span-id]').length === 8",
        5,
        "expand",
    )
    .await;
    key("\u{E014}").await; // ArrowRight on an expanded span: its first child
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{BANK_SERVER}']\")"), 5, "first child").await;
    key("\u{E012}").await; // ArrowLeft on a leaf: the parent
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{PAY_CHARGE}']\")"), 5, "parent").await;
    key("\u{E013}").await; // ArrowUp
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{PAY_SERVER}']\")"), 5, "ArrowUp").await;
    key("\u{E007}").await; // Enter toggles the subtree
    wait_js(
        c,
        "return document.querySelectorAll('#waterfall .wf-row[data-span-id]').length === 6",
        5,
        "Enter collapses",
    )
    .await;
    key("\u{E007}").await;
    wait_js(
        c,
        "return document.querySelectorAll('#waterfall .wf-row[data-span-id]').length === 8",
        5,
        "Enter expands",
    )
    .await;

    // Search within the trace highlights matches and jumps to them.
    let find = c.find(Locator::Id("find")).await.unwrap();
    find.send_keys("charge").await.unwrap();
    wait_js(
        c,
        "return document.querySelectorAll('#waterfall .wf-row.match').length === 2",
        5,
        "2 matches",
    )
    .await;
    assert_eq!(
        attrs(c, "#waterfall .wf-row.match", "data-span-id").await,
        [PAY_CHARGE, BANK_SERVER]
    );
    assert!(path_and_query(c).await.contains("find=charge"));
    c.find(Locator::Id("find-next"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.current-match[data-span-id='{PAY_CHARGE}']\")"), 5, "first hit").await;
    c.find(Locator::Id("find-next"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.current-match[data-span-id='{BANK_SERVER}']\")"), 5, "second hit").await;
    assert_eq!(selected(c).await, [BANK_SERVER]);
    assert_eq!(texts(c, "#find-count").await, ["2 of 2"]);

    // The trace's logs are inline; clicking one opens the Logs view of the trace.
    let logs = texts(c, "#trace-log-table tbody tr td.body").await;
    assert_eq!(logs.len(), 4, "{logs:?}");
    assert!(logs.contains(&"payment failed: insufficient funds".to_owned()));
    c.find(Locator::Css("#trace-log-table tbody tr"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#logs-table tbody tr.log-row"))
        .await
        .unwrap();
    let here = path_and_query(c).await;
    assert!(
        here.starts_with("/logs?") && here.contains(&format!("trace_id={CHECKOUT_TRACE}")),
        "{here}"
    );
    wait_js(
        c,
        "return document.querySelectorAll('#logs-table tr.log-row').length === 4",
        10,
        "4 logs of the trace",
    )
    .await;
    assert_eq!(
        c.find(Locator::Id("f-trace"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(CHECKOUT_TRACE)
    );

    // Back returns to the trace with the same span selected.
    c.back().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#waterfall .wf-row.selected"))
        .await
        .unwrap();
    assert_eq!(selected(c).await, [BANK_SERVER]);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn orphans_links_and_deep_links_to_a_span() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    // A link to a span opens with that span selected, in a fresh session.
    open(
        c,
        &server.url(&format!("/traces/{ORPHAN_TRACE}?span={ORPHAN_A}")),
        "#span-panel[data-details='loaded']",
    )
    .await;
    let ids = row_ids(c).await;
    assert_eq!(ids, [ORPHAN_ROOT, ORPHAN_A, ORPHAN_B]);
    let marker = texts(c, "#waterfall .orphan-marker").await;
    assert_eq!(marker.len(), 1);
    assert!(marker[0].contains("(2)"), "{marker:?}");
    // The marker sits between the root and the orphans.
    let order = c
        .execute("return Array.from(document.querySelectorAll('#waterfall .wf-row')).map(r => r.dataset.spanId || 'marker')", vec![])
        .await
        .unwrap();
    assert_eq!(
        order,
        serde_json::json!([ORPHAN_ROOT, "marker", ORPHAN_A, ORPHAN_B])
    );
    assert!(texts(c, "#tree-issues").await[0].contains("2 span(s) with a missing parent"));
    assert_eq!(
        texts(c, "#span-parent").await,
        ["0badc0de0badc0de (not in this trace)"]
    );
    // The span's link leads to the linked trace and span.
    c.find(Locator::Css("#span-panel a.span-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{PAY_SERVER}']\")"), 10, "the linked span").await;
    assert_eq!(
        path_and_query(c).await,
        format!("/traces/{CHECKOUT_TRACE}?span={PAY_SERVER}")
    );
    c.back().await.unwrap();
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{ORPHAN_A}']\")"), 10, "back to the orphan").await;
    c.forward().await.unwrap();
    wait_js(c, &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{PAY_SERVER}']\")"), 10, "forward again").await;
    // An unknown trace says so.
    open(
        c,
        &server.url("/traces/00000000000000000000000000000bad"),
        ".error-box",
    )
    .await;
    assert!(texts(c, ".error-box").await[0].contains("HTTP 404"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_buttons_confirm_and_fall_back_to_exec_command() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(
        c,
        &server.url(&format!("/traces/{CHECKOUT_TRACE}")),
        "#copy-trace-link",
    )
    .await;
    c.find(Locator::Id("copy-trace-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let via = wait_js(
        c,
        "return document.getElementById('copy-trace-link').dataset.copiedVia",
        5,
        "a copy confirmation",
    )
    .await;
    assert!(via == "clipboard" || via == "fallback", "{via}");
    assert!(texts(c, "#copy-trace-link").await[0].starts_with("Copied"));
    // The confirmation goes away.
    wait_js(
        c,
        "return document.getElementById('copy-trace-link').textContent === 'Copy link'",
        5,
        "the label back",
    )
    .await;

    // Without the Clipboard API (plain http:// from another host), the textarea path copies.
    c.execute(
        "Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true });
         window.__copied = [];
         const orig = document.execCommand.bind(document);
         document.execCommand = (cmd, ...rest) => {
             window.__copied.push([cmd, document.activeElement && document.activeElement.value]);
             return orig(cmd, ...rest);
         };",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("copy-trace-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let via = wait_js(
        c,
        "return document.getElementById('copy-trace-link').dataset.copiedVia",
        5,
        "the fallback",
    )
    .await;
    assert_eq!(via, "fallback");
    let copied = c.execute("return window.__copied", vec![]).await.unwrap();
    assert_eq!(
        copied,
        serde_json::json!([["copy", server.url(&format!("/traces/{CHECKOUT_TRACE}"))]])
    );
    assert!(texts(c, "#copy-trace-link").await[0].starts_with("Copied"));
    // The textarea is gone again.
    assert_eq!(
        c.execute(
            "return document.querySelectorAll('textarea').length",
            vec![]
        )
        .await
        .unwrap(),
        0
    );
    // Id copy buttons copy the id itself.
    c.find(Locator::Css(".trace-id button.copy"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(c, "return window.__copied.length === 2", 5, "the id copy").await;
    let copied = c
        .execute("return window.__copied[1][1]", vec![])
        .await
        .unwrap();
    assert_eq!(copied, CHECKOUT_TRACE);
    browser.close().await;
}

/// What the page's clipboard holds now (`navigator.clipboard.readText`).
async fn read_clipboard(c: &Client) -> String {
    c.execute_async(
        "const done = arguments[arguments.length - 1];
         navigator.clipboard.readText().then(done, e => done('read failed: ' + e));",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_buttons_put_the_exact_ids_on_the_clipboard() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    // The page may read the clipboard back (what a user's paste would get).
    cdp(
        c,
        "Browser.grantPermissions",
        serde_json::json!({
            "origin": server.ui_url,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        }),
    )
    .await
    .expect("grant clipboard permissions");
    open(
        c,
        &server.url(&format!("/traces/{CHECKOUT_TRACE}?span={PAY_SERVER}")),
        "#span-panel[data-details='loaded']",
    )
    .await;
    // Something else on the clipboard first, so a copy that does nothing fails.
    c.execute_async(
        "const done = arguments[arguments.length - 1];
         navigator.clipboard.writeText('before').then(() => done(true), e => done(String(e)));",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(read_clipboard(c).await, "before");

    let copy_and_read = |button: &'static str| async move {
        c.execute(
            &format!(
                "document.querySelector({}).click()",
                serde_json::json!(button)
            ),
            vec![],
        )
        .await
        .unwrap();
        wait_js(
            c,
            &format!(
                "return document.querySelector({}).dataset.copiedVia",
                serde_json::json!(button)
            ),
            5,
            "the copy confirmation",
        )
        .await;
        read_clipboard(c).await
    };
    assert_eq!(copy_and_read(".trace-id button.copy").await, CHECKOUT_TRACE);
    assert_eq!(
        copy_and_read("#span-panel .facts dd:nth-of-type(4) button.copy").await,
        PAY_SERVER
    );
    assert_eq!(
        copy_and_read("#copy-span-link").await,
        server.url(&format!("/traces/{CHECKOUT_TRACE}?span={PAY_SERVER}"))
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_list_filters_live_in_the_url() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(c, &server.url("/traces"), "#traces-table tbody tr").await;
    // 40 item traces + checkout + orphan trace, newest first, first page of 50.
    let n = wait_js(
        c,
        "return document.querySelectorAll('#traces-table tbody tr').length",
        10,
        "rows",
    )
    .await;
    assert_eq!(n, 42);
    let starts = attrs(c, "#traces-table tbody tr", "data-trace-id").await;
    assert_eq!(starts.len(), 42);
    shot(c, "traces-list").await;

    // Errors only: a checkbox, so the URL is replaced at once.
    c.find(Locator::Id("f-errors"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return location.search.includes('status=error')",
        5,
        "status=error in the URL",
    )
    .await;
    wait_js(
        c,
        "const r = document.querySelectorAll('#traces-table tbody tr'); return r.length > 0 && Array.from(r).every(x => x.classList.contains('has-error')) && r.length < 42",
        10,
        "only failed traces",
    )
    .await;
    // A typed service filter is debounced into the URL.
    c.find(Locator::Id("f-service"))
        .await
        .unwrap()
        .send_keys("payment")
        .await
        .unwrap();
    wait_js(
        c,
        "return location.search.includes('service=payment')",
        5,
        "service=payment",
    )
    .await;
    wait_js(
        c,
        &format!("const r = document.querySelectorAll('#traces-table tbody tr'); return r.length === 1 && r[0].dataset.traceId === '{CHECKOUT_TRACE}'"),
        10,
        "the checkout trace only",
    )
    .await;
    let url = c.current_url().await.unwrap().to_string();
    // Editing filters replaced the entry: Back leaves the list.
    // A row opens the trace (a new entry); Back restores the filtered list.
    c.find(Locator::Css("#traces-table tbody tr"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("waterfall"))
        .await
        .unwrap();
    c.back().await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#traces-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().to_string(), url);
    assert_eq!(
        c.find(Locator::Id("f-service"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("payment")
    );
    assert!(
        c.find(Locator::Id("f-errors"))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap()
    );

    // The same URL in a fresh browser shows the same view.
    let fresh = Browser::start().await;
    let f = &fresh.client;
    open(f, &url, "#traces-table tbody tr").await;
    assert_eq!(
        f.find(Locator::Id("f-service"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("payment")
    );
    assert!(
        f.find(Locator::Id("f-errors"))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap()
    );
    assert_eq!(
        attrs(f, "#traces-table tbody tr", "data-trace-id").await,
        [CHECKOUT_TRACE]
    );
    fresh.close().await;

    // Attribute and duration filters.
    open(
        c,
        &server.url("/traces?attr=item.id%3D7&range=1h"),
        "#traces-table tbody tr",
    )
    .await;
    assert_eq!(
        c.find(Locator::Id("f-attrs"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("item.id=7")
    );
    assert_eq!(
        texts(c, "#traces-table tbody tr td.root a.op").await,
        ["GET /items/7"]
    );
    open(c, &server.url("/traces?min_duration=1s"), "#traces-empty").await;
    // A bad parameter is explained, not a blank page.
    open(c, &server.url("/traces?min_duration=soon"), ".notice").await;
    assert!(texts(c, ".notice").await[0].contains("min_duration"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn large_traces_draw_only_the_rows_in_view() {
    use sightline_tests::otlp_json::{TestSpan, traces_request};
    let server = Sightline::start();
    let trace = "1a59e000000000000000000000000001";
    let ids: Vec<String> = (1..=3000u64).map(|i| format!("{i:016x}")).collect();
    let t0 = scenario::now_nanos() - 60_000_000_000;
    let spans: Vec<TestSpan<'_>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| TestSpan {
            trace_id: trace,
            span_id: id,
            parent: (i > 0).then_some(ids[0].as_str()),
            name: "work",
            start: t0 + i as u64 * 1_000,
            end: t0 + 10_000_000 + i as u64 * 1_000,
            error: false,
        })
        .collect();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http_url))
        .json(&traces_request("big", &spans))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let browser = Browser::start().await;
    let c = &browser.client;
    // A link to a span far down: it is drawn, selected and scrolled into view.
    let target = &ids[2500];
    open(
        c,
        &server.url(&format!("/traces/{trace}?span={target}")),
        "#waterfall .wf-row.selected",
    )
    .await;
    let drawn = c
        .execute(
            "return document.querySelectorAll('#waterfall .wf-row').length",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        drawn.as_u64().unwrap() < 300,
        "only rows near the viewport are drawn: {drawn}"
    );
    assert_eq!(selected(c).await, std::slice::from_ref(target));
    let top = c
        .execute("return document.querySelector('#waterfall .wf-row.selected').getBoundingClientRect().top", vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        (0.0..900.0).contains(&top),
        "the selected row is on screen: {top}"
    );
    // Scrolling to the top draws the first rows.
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    wait_js(
        c,
        &format!(
            "return !!document.querySelector(\"#waterfall .wf-row[data-span-id='{}']\")",
            ids[0]
        ),
        5,
        "the root row",
    )
    .await;
    // The keyboard walks on from the selection, bringing its row back into view.
    c.execute(
        "document.getElementById('waterfall').focus({preventScroll: true})",
        vec![],
    )
    .await
    .unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E015}")
        .await
        .unwrap();
    let next = &ids[2501];
    wait_js(
        c,
        &format!("return location.search === '?span={next}'"),
        5,
        "the next row",
    )
    .await;
    wait_js(
        c,
        &format!("const r = document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{next}']\"); return !!r && r.getBoundingClientRect().top > 0 && r.getBoundingClientRect().top < 900"),
        5,
        "the next row on screen",
    )
    .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn collapsed_subtrees_and_the_selection_live_in_the_url() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    let trace_path = format!("/traces/{CHECKOUT_TRACE}");
    open(c, &server.url(&trace_path), "#waterfall .wf-row").await;
    let history = c.execute("return history.length", vec![]).await.unwrap();

    // Collapsing replaces the URL's state: no new history entry.
    c.find(Locator::Css(&format!(
        "#waterfall .wf-row[data-span-id='{PAY_SERVER}'] .twisty"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_js(
        c,
        &format!("return location.search === '?collapsed={PAY_SERVER}'"),
        5,
        "collapsed= in the URL",
    )
    .await;
    assert!(!row_ids(c).await.contains(&PAY_CHARGE.to_owned()));
    assert_eq!(
        c.execute("return history.length", vec![]).await.unwrap(),
        history,
        "collapsing added no history entry"
    );

    // Selecting pushes an entry and keeps the collapsed subtree.
    c.find(Locator::Css(&format!(
        "#waterfall .wf-row[data-span-id='{CART_SERVER}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let both = format!("/traces/{CHECKOUT_TRACE}?span={CART_SERVER}&collapsed={PAY_SERVER}");
    wait_js(
        c,
        &format!("return location.pathname + location.search === '{both}'"),
        5,
        "span and collapsed",
    )
    .await;

    // A pasted link restores both, in a fresh browser.
    let fresh = Browser::start().await;
    let f = &fresh.client;
    open(f, &server.url(&both), "#waterfall .wf-row.selected").await;
    assert_eq!(selected(f).await, [CART_SERVER]);
    let ids = row_ids(f).await;
    assert!(ids.contains(&PAY_SERVER.to_owned()) && !ids.contains(&PAY_CHARGE.to_owned()));
    assert_eq!(
        texts(
            f,
            &format!("#waterfall .wf-row[data-span-id='{PAY_SERVER}'] .tag")
        )
        .await,
        ["+2"]
    );
    fresh.close().await;

    // Back: the selection goes, the collapse stays (it was a replace).
    c.back().await.unwrap();
    wait_js(
        c,
        &format!("return location.search === '?collapsed={PAY_SERVER}' && !document.querySelector('#waterfall .wf-row.selected')"),
        5,
        "back to no selection",
    )
    .await;
    assert!(!row_ids(c).await.contains(&PAY_CHARGE.to_owned()));
    // Forward: selected again.
    c.forward().await.unwrap();
    wait_js(
        c,
        &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{CART_SERVER}']\")"),
        5,
        "forward to the selection",
    )
    .await;

    // Selecting a span inside a collapsed subtree (a search hit) expands it.
    let find = c.find(Locator::Id("find")).await.unwrap();
    find.send_keys("charge").await.unwrap();
    wait_js(
        c,
        "return !document.querySelector('#find-next').disabled",
        5,
        "search hits",
    )
    .await;
    c.find(Locator::Id("find-next"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        &format!("return !!document.querySelector(\"#waterfall .wf-row.selected[data-span-id='{PAY_CHARGE}']\")"),
        5,
        "the hit, revealed",
    )
    .await;
    assert!(!path_and_query(c).await.contains("collapsed="));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100000_span_trace_opens_and_scrolls() {
    use sightline_tests::big_trace;
    let server = Sightline::start();
    let trace = "b16b16b1600000000000000000100000";
    let n = 100_000;
    big_trace::send(
        &reqwest::Client::new(),
        &server.otlp_http_url,
        trace,
        n,
        scenario::now_nanos() - 120_000_000_000,
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&server.url(&format!("/traces/{trace}")))
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(120))
        .for_element(Locator::Css("#waterfall .wf-row[data-span-id]"))
        .await
        .expect("the first rows of the 100,000-span trace");
    assert_eq!(texts(c, "#trace-spans").await, ["100000"]);
    // Rows are in depth-first order: row i is span i.
    assert_eq!(
        row_ids(c).await.first().map(String::as_str),
        Some(big_trace::span_id(0).as_str())
    );
    let drawn = row_ids(c).await.len();
    assert!(drawn < 200, "only rows near the viewport: {drawn}");
    shot(c, "trace-100k").await;

    // Scrolling to the middle and to the end draws the rows there.
    for target in [n / 2, n - 1] {
        c.execute(
            &format!(
                "const b = document.querySelector('#waterfall .wf-body');
                 window.scrollTo(0, window.scrollY + b.getBoundingClientRect().top + {target} * 26 - 300);"
            ),
            vec![],
        )
        .await
        .unwrap();
        let id = big_trace::span_id(target);
        wait_js(
            c,
            &format!(
                "const r = document.querySelector(\"#waterfall .wf-row[data-span-id='{id}']\");
                 return !!r && r.getBoundingClientRect().top > 0 && r.getBoundingClientRect().bottom < innerHeight"
            ),
            20,
            "the row scrolled to, on screen",
        )
        .await;
        let ids = row_ids(c).await;
        assert!(ids.len() < 200, "{}", ids.len());
        assert!(
            !ids.contains(&big_trace::span_id(0)),
            "the first rows are gone"
        );
    }
    browser.close().await;
}

/// Regression (issue 16): lists show ids shortened (`87f8f764…`), and
/// `/traces/87f8f764` said "Not a trace id". A short id opens the trace and
/// the URL is replaced with the whole id (the view's state kept); digits
/// several traces start with list them; fewer than 8 are refused.
#[tokio::test(flavor = "multi_thread")]
async fn short_trace_ids_in_the_path_resolve_or_list_candidates() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    let random = sightline_tests::otlp_json::hex_id(1995, 16);
    let now = scenario::now_nanos();
    let spans = [sightline_tests::otlp_json::TestSpan {
        trace_id: &random,
        span_id: "00000000000000a1",
        parent: None,
        name: "GET /short",
        start: now - 60_000_000_000,
        end: now - 59_000_000_000,
        error: false,
    }];
    let body = sightline_tests::otlp_json::traces_request("shortener", &spans);
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    open(
        c,
        &server.url(&format!("/traces/{}?span=00000000000000a1", &random[..8])),
        "#span-panel",
    )
    .await;
    wait_js(
        c,
        &format!("return location.pathname === '/traces/{random}'"),
        10,
        "the whole id in the URL",
    )
    .await;
    assert_eq!(
        path_and_query(c).await,
        format!("/traces/{random}?span=00000000000000a1")
    );
    assert!(texts(c, "#trace-root").await[0].contains("GET /short"));
    assert_eq!(row_ids(c).await, ["00000000000000a1"]);

    // The checkout and orphan traces both start with c0ffee00.
    open(c, &server.url("/traces/c0ffee00"), "#trace-candidates a").await;
    assert!(texts(c, "#trace-ambiguous").await[0].contains("2 traces"));
    assert_eq!(
        attrs(c, "#trace-candidates a", "href").await,
        [
            format!("/traces/{CHECKOUT_TRACE}"),
            format!("/traces/{ORPHAN_TRACE}")
        ]
    );
    c.find(Locator::Css("#trace-candidates a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        &format!(
            "return !!document.querySelector(\"#waterfall .wf-row[data-span-id='{WEB_ROOT}']\")"
        ),
        10,
        "the checkout trace",
    )
    .await;
    assert_eq!(path_and_query(c).await, format!("/traces/{CHECKOUT_TRACE}"));

    open(c, &server.url("/traces/c0ffee0"), ".error-box").await;
    let refused = texts(c, ".error-box").await.join(" ");
    assert!(refused.contains("Not a trace id"), "{refused}");
    assert!(refused.contains("first 8"), "{refused}");
    browser.close().await;
}

/// Regression (issue 16): the operation filter matched root spans only.
/// It matches any span; "Root span only" (in the URL) restores that.
#[tokio::test(flavor = "multi_thread")]
async fn operation_filter_matches_any_span_unless_root_only() {
    let (server, browser) = seeded().await;
    let c = &browser.client;
    open(
        c,
        &server.url("/traces?service=payment&operation=POST%20%2Fapi%2Fpayment"),
        "#traces-table tbody tr",
    )
    .await;
    assert_eq!(
        attrs(c, "#traces-table tbody tr", "data-trace-id").await,
        [CHECKOUT_TRACE]
    );
    assert!(
        !c.find(Locator::Id("f-root-only"))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap()
    );
    c.find(Locator::Id("f-root-only"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return location.search.includes('root_only=true')",
        5,
        "root_only=true in the URL",
    )
    .await;
    wait_js(
        c,
        "return !!document.querySelector('#traces-empty')",
        10,
        "no trace has that root",
    )
    .await;
    // The URL alone rebuilds the view.
    let url = c.current_url().await.unwrap().to_string();
    open(c, &url, "#traces-empty").await;
    assert!(
        c.find(Locator::Id("f-root-only"))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap()
    );
    open(
        c,
        &server.url("/traces?operation=GET%20%2Fcheckout&root_only=true"),
        "#traces-table tbody tr",
    )
    .await;
    assert_eq!(
        attrs(c, "#traces-table tbody tr", "data-trace-id").await,
        [CHECKOUT_TRACE]
    );
    browser.close().await;
}
