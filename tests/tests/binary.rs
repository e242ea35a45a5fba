//! The real `sightline` binary on loopback: health, the embedded dashboard,
//! clean shutdown.

use sightline_tests::Sightline;

#[tokio::test]
async fn health_reports_version_and_data_dir() {
    let server = Sightline::start();
    let resp = reqwest::get(server.url("/api/health")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let health: shared::api::HealthResponse = resp.json().await.unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(health.data_dir, server.data_dir().display().to_string());
    assert!(
        health.db_size_bytes > 0,
        "the database file exists once started"
    );
}

#[tokio::test]
async fn serves_the_spa_shell_and_its_wasm() {
    let server = Sightline::start();
    let resp = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<title>Sightline</title>"),
        "the dashboard was not built into the binary (run `./x test`): {html}"
    );
    // Deep links into the app get the same shell.
    let deep = reqwest::get(server.url("/traces?service=cart"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(deep, html);

    let wasm_path = html
        .split('"')
        .find(|s| s.ends_with(".wasm"))
        .unwrap_or_else(|| panic!("no .wasm referenced by index.html: {html}"))
        .to_owned();
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let resp = client
        .get(server.url(&wasm_path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/wasm");
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let plain = reqwest::get(server.url(&wasm_path))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        &plain[..4],
        b"\0asm",
        "the module starts with the wasm magic number"
    );

    let missing = reqwest::get(server.url("/nope-123.js")).await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn unknown_api_route_is_a_json_404() {
    let server = Sightline::start();
    let resp = reqwest::get(server.url("/api/does-not-exist"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: shared::api::ErrorResponse = resp.json().await.unwrap();
    assert!(body.error.contains("/api/does-not-exist"), "{}", body.error);
}

#[test]
fn sigterm_exits_cleanly_and_leaves_no_lock() {
    let mut server = Sightline::start();
    let dir = server.data_dir().to_owned();
    assert!(dir.join("sightline.lock").exists());
    let status = server.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(
        !dir.join("sightline.lock").exists(),
        "lock file left behind"
    );
    assert!(
        !dir.join("sightline.db-wal").exists(),
        "WAL not checkpointed on shutdown"
    );
    assert!(dir.join("sightline.db").exists());
    assert!(
        server
            .log_lines()
            .iter()
            .any(|l| l.contains("stopped cleanly"))
    );
}

#[test]
fn a_second_process_on_the_same_data_dir_is_refused() {
    let first = Sightline::start();
    let out = std::process::Command::new(sightline_tests::binary_path())
        .arg("--data-dir")
        .arg(first.data_dir())
        .args([
            "--ui-addr",
            "127.0.0.1:0",
            "--otlp-grpc-addr",
            "127.0.0.1:0",
            "--otlp-http-addr",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another sightline process"),
        "{stderr}"
    );
}

#[test]
fn help_lists_flags() {
    let out = std::process::Command::new(sightline_tests::binary_path())
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--data-dir",
        "--ui-addr",
        "--otlp-grpc-addr",
        "--otlp-http-addr",
        "--max-db-size",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help:\n{text}");
    }
}
