//! A web page's OpenTelemetry exporter (the JS SDK's OTLP/HTTP trace
//! exporter, bundled for the browser) sends from its own origin to the
//! OTLP/HTTP receiver on another one, in a real Chromium: the receiver
//! admits the origins `--cors-allowed-origins` names, and by default the
//! browser is refused at the preflight and sends nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sightline_tests::browser::{Browser, wait_js};
use sightline_tests::clients::node_dir;
use sightline_tests::manifest::get_json;
use sightline_tests::{Options, Sightline};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bundles `browser_exporter.mjs` and the SDK into one script (esbuild,
/// installed with the JS SDK by `./x setup`).
fn bundle(into: &Path) -> PathBuf {
    let dir = node_dir();
    let out = into.join("otel-browser.js");
    let status = Command::new(dir.join("node_modules/.bin/esbuild"))
        .current_dir(&dir)
        .args([
            "browser_exporter.mjs",
            "--bundle",
            "--format=iife",
            "--platform=browser",
        ])
        .arg(format!("--outfile={}", out.display()))
        .status()
        .expect("esbuild runs: `./x setup` installs it with the JS SDK");
    assert!(status.success(), "esbuild failed");
    out
}

/// Serves the page and its script on a loopback port of its own (another
/// origin than the receiver's); returns that origin.
async fn serve_page(script: PathBuf) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let page = "<!doctype html><title>app</title><script src=\"/otel-browser.js\"></script>";
    let script = std::fs::read(script).unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let script = script.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let (kind, body) = if request.starts_with("GET /otel-browser.js") {
                    ("text/javascript", script)
                } else {
                    ("text/html", page.as_bytes().to_vec())
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(&body).await;
            });
        }
    });
    origin
}

/// Exports one span from the page; the exporter's result.
async fn export(c: &fantoccini::Client, url: &str, name: &str) -> Value {
    c.execute_async(
        "const done = arguments[arguments.length - 1];
         window.sightlineExport(arguments[0], arguments[1]).then(done, e => done({ code: -1, error: String(e) }));",
        vec![json!(url), json!(name)],
    )
    .await
    .unwrap()
}

async fn span_names(server: &Sightline) -> Vec<String> {
    let body: Value = get_json(server, "/api/spans?service=browser-app&range=1h").await;
    body["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["span"]["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_exporter_sends_across_origins_only_when_allowed() {
    let page_dir = tempfile::tempdir().unwrap();
    let origin = serve_page(bundle(page_dir.path())).await;
    let open = Sightline::start_with(Options {
        args: vec!["--cors-allowed-origins".into(), origin.clone()],
        ..Default::default()
    });
    let closed = Sightline::start();
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!("{origin}/")).await.unwrap();
    wait_js(
        c,
        "return typeof window.sightlineExport === 'function'",
        10,
        "the bundled exporter",
    )
    .await;

    let sent = export(
        c,
        &format!("{}/v1/traces", open.otlp_http_url),
        "allowed span",
    )
    .await;
    assert_eq!(sent["code"], 0, "export to the allowed receiver: {sent}");
    assert_eq!(span_names(&open).await, ["allowed span"]);

    // Same page, a receiver that names no origin: the preflight gets no
    // CORS answer, the browser never sends the spans.
    let refused = export(
        c,
        &format!("{}/v1/traces", closed.otlp_http_url),
        "refused span",
    )
    .await;
    assert_eq!(
        refused["code"], 1,
        "export across origins without CORS: {refused}"
    );
    assert!(span_names(&closed).await.is_empty());
    browser.close().await;
}
