//! Times opening very large traces in the dashboard: the real binary, headless
//! Chromium, and the performance marks the trace view records (a benchmark,
//! not a test: it prints numbers and asserts nothing about them).
//!
//!     ./x dist && cargo build --release -p sightline
//!     SIGHTLINE_BIN=target/release/sightline \
//!         cargo run --release -p sightline-tests --example trace_view_bench [-- SPANS...]
//!
//! For each size (default 10,000 and 100,000 spans) it sends one trace of
//! that many spans (`sightline_tests::big_trace`) and opens it several times
//! two ways: from the traces list (a click in the running app, the usual
//! case) and as a pasted link (a fresh page: the WebAssembly is compiled
//! again and runs unoptimised code at first). Per way it prints the best,
//! the median and the worst run (on a busy machine the best is the steadiest
//! figure) of:
//!
//! - `fetch`: the request, from the browser's resource timing (server and transfer);
//! - `decode`: the body's bytes in WebAssembly memory → the trace;
//! - `to rows`: decoded → the first waterfall rows in the document (tree, layout, render);
//! - `data → painted`: the last byte of the body received → the frame with
//!   those rows painted
//!   (the floor: 300 ms for a 10,000-span trace);
//! - `click → painted` / `open → painted`: from the click or the navigation;
//! - `scroll`: a jump to the middle of the trace → the rows there painted.

use std::time::Duration;

use fantoccini::{Client, Locator};
use sightline_tests::browser::{Browser, wait_js};
use sightline_tests::{Sightline, big_trace, scenario};

/// The trace view's marks (milliseconds since the page's time origin), once painted.
const MARKS: &str = "const m = n => { const e = performance.getEntriesByName('sightline:' + n); return e.length ? e[e.length - 1].startTime : null; };
    const r = performance.getEntriesByType('resource').filter(e => e.name.includes('/outline'));
    const f = r.length ? r[r.length - 1] : null;
    const painted = m('trace-painted');
    if (painted === null) return null;
    return { fetch: f ? f.responseEnd - f.startTime : null, arrived: f ? f.responseEnd : null,
             response: m('trace-response'),
             decoded: m('trace-decoded'), rows: m('trace-rows'), painted,
             clicked: window.__clicked || 0, bytes: f ? f.encodedBodySize : null };";

/// Scrolls to the middle of the waterfall and resolves with the milliseconds
/// until the row there is in the document and painted.
const SCROLL: &str = "const done = arguments[arguments.length - 1];
    const body = document.querySelector('#waterfall .wf-body');
    const rows = Math.round(parseFloat(body.style.height) / 26);
    const target = Math.floor(rows / 2);
    const id = (target + 1).toString(16).padStart(16, '0');
    const y = window.scrollY + body.getBoundingClientRect().top + target * 26 - 200;
    const t0 = performance.now();
    window.scrollTo(0, y);
    const check = () => {
      if (document.querySelector(`#waterfall .wf-row[data-span-id='${id}']`)) {
        requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0)));
      } else if (performance.now() - t0 > 30000) {
        done(null);
      } else {
        requestAnimationFrame(check);
      }
    };
    check();";

/// Milliseconds per phase of one opening.
struct Run {
    fetch: f64,
    decode: f64,
    to_rows: f64,
    data_to_painted: f64,
    start_to_painted: f64,
    scroll: f64,
    /// The outline's size on the wire.
    bytes: f64,
}

async fn measure(c: &Client) -> Run {
    let m = wait_js(c, MARKS, 300, "the trace's rows painted").await;
    let f = |k: &str| m[k].as_f64().unwrap_or(f64::NAN);
    let scroll = c
        .execute_async(SCROLL, vec![])
        .await
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::NAN);
    Run {
        fetch: f("fetch"),
        decode: f("decoded") - f("response"),
        to_rows: f("rows") - f("decoded"),
        data_to_painted: f("painted") - f("arrived"),
        start_to_painted: f("painted") - f("clicked"),
        scroll,
        bytes: f("bytes"),
    }
}

/// Opens the trace from the traces list, by a click on its row.
async fn open_in_app(c: &Client, server: &Sightline, trace: &str) -> Run {
    c.goto(&server.url("/traces?from=0"))
        .await
        .expect("traces list");
    let link = format!("#traces-table tr[data-trace-id='{trace}'] a.op");
    c.wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css(&link))
        .await
        .expect("the trace in the list");
    // Let the list settle (and the app's code warm up) as a reader's would.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.execute(
        &format!(
            "window.__clicked = performance.now(); document.querySelector({}).click();",
            serde_json::Value::String(link)
        ),
        vec![],
    )
    .await
    .expect("click the trace");
    measure(c).await
}

/// Opens the trace as a pasted link in a fresh page.
async fn open_cold(c: &Client, server: &Sightline, trace: &str) -> Run {
    c.goto("about:blank").await.expect("blank page");
    c.goto(&server.url(&format!("/traces/{trace}")))
        .await
        .expect("open the trace");
    measure(c).await
}

/// `(min, median, max)`.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let min = v.first().copied().unwrap_or(f64::NAN);
    let median = v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    let max = v.last().copied().unwrap_or(f64::NAN);
    (min, median, max)
}

fn report(n: usize, way: &str, start: &str, runs: &[Run]) {
    let col = |f: fn(&Run) -> f64| stats(runs.iter().map(f).collect());
    let rows: [(&str, (f64, f64, f64)); 6] = [
        ("fetch", col(|r| r.fetch)),
        ("decode", col(|r| r.decode)),
        ("to rows", col(|r| r.to_rows)),
        ("data → painted", col(|r| r.data_to_painted)),
        (start, col(|r| r.start_to_painted)),
        ("scroll", col(|r| r.scroll)),
    ];
    for (phase, (min, median, max)) in rows {
        println!("{n:>8}  {way:<8} {phase:<16} {min:>8.1} {median:>10.1} {max:>8.1}");
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace(['_', ','], "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    let server = Sightline::start();
    let client = reqwest::Client::new();
    let t0 = scenario::now_nanos() - 120_000_000_000;
    let browser = Browser::start().await;
    let c = &browser.client;
    println!(
        "{:>8}  {:<8} {:<16} {:>8} {:>10} {:>8}",
        "spans", "opened", "phase", "min ms", "median ms", "max ms"
    );
    for &n in &sizes {
        let trace = format!("{n:032x}");
        big_trace::send(&client, &server.otlp_http_url, &trace, n, t0).await;
        let runs = if n > 50_000 { 3 } else { 7 };
        let mut in_app = Vec::new();
        let mut cold = Vec::new();
        for _ in 0..runs {
            in_app.push(open_in_app(c, &server, &trace).await);
            cold.push(open_cold(c, &server, &trace).await);
        }
        report(n, "in app", "click → painted", &in_app);
        report(n, "link", "open → painted", &cold);
        let bytes = cold.last().map_or(f64::NAN, |r| r.bytes);
        println!(
            "{n:>8}  ({runs} runs each; the outline is {:.2} MB)",
            bytes / 1e6
        );
    }
    browser.close().await;
}
