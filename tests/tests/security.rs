//! Tokens, login, TLS, start-up refusals and security headers, through the
//! real binary and real clients: reqwest for the API and OTLP/HTTP, the
//! OpenTelemetry Python SDK for OTLP/gRPC and OTLP/HTTPS.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use prost::Message;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use reqwest::redirect::Policy;
use sha2::Digest as _;
use shared::api::StatsResponse;
use sightline_tests::clients::{self, Client};
use sightline_tests::otlp_json::{TestSpan, traces_request};
use sightline_tests::pki::{Pki, pki};
use sightline_tests::scenario::now_nanos;
use sightline_tests::{Options, Sightline, api_client, binary_path, manifest};

const UI_TOKEN: &str = "ui-0123456789abcdef";
const INGEST_TOKEN: &str = "ingest-fedcba9876543210";

fn start(args: &[&str]) -> Sightline {
    Sightline::start_with(Options {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    })
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// One span of its own trace, as OTLP/JSON.
fn one_span(trace_id: &str, service: &str) -> serde_json::Value {
    let now = now_nanos();
    traces_request(
        service,
        &[TestSpan {
            trace_id,
            span_id: "00000000000000a1",
            parent: None,
            name: "GET /",
            start: now - 1_000_000,
            end: now,
            error: false,
        }],
    )
}

/// `google.rpc.Status`, the error body of OTLP/HTTP protobuf answers.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

async fn post_trace(
    server: &Sightline,
    body: &serde_json::Value,
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http_url))
        .json(body);
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn otlp_http_needs_the_ingest_token_and_stores_nothing_without_it() {
    let server = start(&["--ingest-token", INGEST_TOKEN]);
    let missing = "5ec0000000000000000000000000000a";
    let wrong = "5ec0000000000000000000000000000b";
    let right = "5ec0000000000000000000000000000c";

    let r = post_trace(&server, &one_span(missing, "no-token"), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], 16, "UNAUTHENTICATED: {body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer"),
        "{body}"
    );

    let r = post_trace(
        &server,
        &one_span(wrong, "wrong-token"),
        Some("Bearer not-the-token"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The token alone, without the Bearer scheme, is not accepted either.
    let r = post_trace(&server, &one_span(wrong, "wrong-token"), Some(INGEST_TOKEN)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Protobuf requests are refused in their own encoding.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/logs", server.otlp_http_url))
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/x-protobuf");
    let status = RpcStatus::decode(r.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, 16);

    let r = post_trace(
        &server,
        &one_span(right, "with-token"),
        Some(&format!("Bearer {INGEST_TOKEN}")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    // Only the authorised request's span was stored.
    let api = reqwest::Client::new();
    for (id, want) in [(missing, 404), (wrong, 404), (right, 200)] {
        let r = api
            .get(server.url(&format!("/api/traces/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "trace {id}");
    }
    let stats: StatsResponse = manifest::get_json(&server, "/api/stats").await;
    assert_eq!(stats.spans.items, 1);
    assert_eq!(stats.traces, 1);
}

#[tokio::test]
async fn otlp_grpc_from_the_python_sdk_needs_the_ingest_token() {
    let server = start(&["--ingest-token", INGEST_TOKEN]);
    let none = clients::run_with(Client::PythonGrpc, &server, "py-no-token", &[])
        .await
        .expect_err("exports without a token must fail");
    assert!(none.output.contains("UNAUTHENTICATED"), "{}", none.output);
    let wrong = clients::run_with(
        Client::PythonGrpc,
        &server,
        "py-wrong-token",
        &[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Bearer%20not-the-token",
        )],
    )
    .await
    .expect_err("exports with a wrong token must fail");
    assert!(wrong.output.contains("UNAUTHENTICATED"), "{}", wrong.output);

    let headers = format!("Authorization=Bearer%20{INGEST_TOKEN}");
    let m = clients::run_with(
        Client::PythonGrpc,
        &server,
        "py-token",
        &[("OTEL_EXPORTER_OTLP_HEADERS", &headers)],
    )
    .await
    .unwrap_or_else(|f| panic!("export with the token failed: {}", f.output));
    // Everything the authorised run sent is there, and only that (the
    // stats checks count every stored item).
    manifest::check_stored(&server, &m, "grpc", manifest::Engine::Sqlite).await;
}

fn set_cookie(h: &HeaderMap) -> String {
    h.get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// `name=value` of a `Set-Cookie` header, for a `Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_owned()
}

async fn login(
    c: &reqwest::Client,
    server: &Sightline,
    token: &str,
    next: &str,
) -> reqwest::Response {
    c.post(server.url("/login"))
        .form(&[("token", token), ("next", next)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_ui_token_guards_the_dashboard_and_api_with_a_login_and_a_cookie() {
    let mut server = start(&["--ui-token", UI_TOKEN]);
    let c = no_redirects();
    let get = |path: &str| c.get(server.url(path));

    // API: 401 without or with a wrong token, 200 with it; health stays open.
    let r = get("/api/traces").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    let body: shared::api::ErrorResponse = r.json().await.unwrap();
    assert!(body.error.contains("/login"), "{}", body.error);
    let r = get("/api/traces")
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = get("/api/traces")
        .bearer_auth(UI_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Health stays open for load balancers, and tells the dashboard that a
    // login is in force (so it offers Sign out).
    let health = get("/api/health").send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["loginRequired"], true);
    // Unknown API paths, the backup download and the Prometheus path are
    // behind the token too; with it, a scraper reads /metrics.
    for path in ["/api/nope", "/api/backup", "/metrics"] {
        assert_eq!(
            get(path).send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let scrape = get("/metrics").bearer_auth(UI_TOKEN).send().await.unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(
        scrape
            .text()
            .await
            .unwrap()
            .contains("sightline_otlp_items_accepted_total")
    );

    // Pages: a redirect to the login page that remembers where to go.
    let r = get("/traces?service=cart&range=1h").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[header::LOCATION],
        "/login?next=%2Ftraces%3Fservice%3Dcart%26range%3D1h"
    );
    let r = get("/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = get("/login?next=%2Ftraces").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"type="password""#), "{html}");
    assert!(html.contains(r#"value="/traces""#), "{html}");
    assert!(!html.contains("<script"), "no script on the login page");
    assert!(!html.contains("http-equiv"), "{html}");
    // Arriving from another site, it reloads itself once (from this site,
    // with the SameSite=Strict cookie if the browser has one).
    let cross = get("/login?next=%2Ftraces")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert!(
        cross
            .text()
            .await
            .unwrap()
            .contains(r#"<meta http-equiv="refresh" content="0">"#)
    );

    // A wrong token: 401, the form again with a notice, no cookie.
    let r = login(&c, &server, "wrong", "/traces").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(r.headers()).is_empty());
    assert!(r.text().await.unwrap().contains("Wrong token"));

    // The right one: a cookie, and back to where the user was going.
    let r = login(&c, &server, UI_TOKEN, "/traces?service=cart").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/traces?service=cart");
    let cookie = set_cookie(r.headers());
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "no TLS, no Secure: {cookie}");
    assert!(!cookie.contains(UI_TOKEN), "the cookie is not the token");
    let pair = cookie_pair(&cookie);
    for path in ["/api/traces", "/api/stats", "/traces"] {
        let r = get(path)
            .header(header::COOKIE, &pair)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path} with the cookie");
    }
    // A cookie that was edited is worthless.
    let forged = format!("{}x", pair);
    let r = get("/api/traces")
        .header(header::COOKIE, &forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // No open redirect, and no cross-site form posts.
    for evil in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let r = login(&c, &server, UI_TOKEN, evil).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/", "next={evil}");
    }
    let r = c
        .post(server.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("token", UI_TOKEN), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(r.headers()).is_empty());

    // Logout clears the cookie.
    let r = c
        .post(server.url("/logout"))
        .header(header::COOKIE, &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/login");
    let cleared = set_cookie(r.headers());
    assert!(
        cleared.starts_with("sightline_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // The session is stateless: it survives a restart with the same token
    // and ends when the token changes.
    let dir = server.data_dir().to_owned();
    assert!(server.terminate().success());
    let again = Sightline::start_with(Options {
        data_dir: Some(dir.clone()),
        args: vec!["--ui-token".into(), UI_TOKEN.into()],
        ..Default::default()
    });
    let r = c
        .get(again.url("/api/traces"))
        .header(header::COOKIE, &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "same token after a restart");
    drop(again);
    let rotated = Sightline::start_with(Options {
        data_dir: Some(dir),
        args: vec!["--ui-token".into(), "a-new-token".into()],
        ..Default::default()
    });
    let r = c
        .get(rotated.url("/api/traces"))
        .header(header::COOKIE, &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "token rotated");
}

#[tokio::test]
async fn ingest_tokens_do_not_open_the_ui_and_ui_tokens_do_not_open_ingest() {
    let server = start(&["--ui-token", UI_TOKEN, "--ingest-token", INGEST_TOKEN]);
    let r = reqwest::Client::new()
        .get(server.url("/api/traces"))
        .bearer_auth(INGEST_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post_trace(
        &server,
        &one_span("5ec0000000000000000000000000000d", "x"),
        Some(&format!("Bearer {UI_TOKEN}")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Runs the binary with `args` (a temporary data directory and loopback
/// ports unless given) until it exits; it must exit within 20 s.
fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(binary_path());
    cmd.arg("--data-dir").arg(tmp.path().join("data"));
    for flag in ["--ui-addr", "--otlp-grpc-addr", "--otlp-http-addr"] {
        if !args.contains(&flag) {
            cmd.args([flag, "127.0.0.1:0"]);
        }
    }
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SIGHTLINE_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read as _;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sightline {args:?} kept running: it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn non_loopback_listeners_without_their_token_refuse_to_start() {
    let (status, stderr) = run_to_exit(&["--ui-addr", "0.0.0.0:0"], &[]);
    assert!(!status.success(), "{stderr}");
    for want in ["--ui-addr 0.0.0.0:0", "--ui-token", "--allow-insecure"] {
        assert!(stderr.contains(want), "{want} missing: {stderr}");
    }
    let (status, stderr) = run_to_exit(
        &["--otlp-grpc-addr", "0.0.0.0:0", "--ui-token", UI_TOKEN],
        &[],
    );
    assert!(!status.success(), "{stderr}");
    for want in ["--otlp-grpc-addr 0.0.0.0:0", "--ingest-token"] {
        assert!(stderr.contains(want), "{want} missing: {stderr}");
    }
    assert!(
        !stderr.contains("--ui-addr"),
        "the UI is protected: {stderr}"
    );
}

#[tokio::test]
async fn allow_insecure_starts_and_warns_about_what_is_exposed() {
    let server = start(&[
        "--ui-addr",
        "0.0.0.0:0",
        "--otlp-http-addr",
        "0.0.0.0:0",
        "--allow-insecure",
    ]);
    let log = server.log_lines();
    let warned = |what: &[&str]| {
        log.iter()
            .any(|l| l.contains("WARN") && what.iter().all(|w| l.contains(w)))
    };
    assert!(
        warned(&[
            "--allow-insecure",
            "--ui-addr 0.0.0.0:0",
            "--ui-token",
            "read every stored trace"
        ]),
        "{log:#?}"
    );
    assert!(
        warned(&[
            "--allow-insecure",
            "--otlp-http-addr 0.0.0.0:0",
            "--ingest-token",
            "send telemetry"
        ]),
        "{log:#?}"
    );
    assert!(
        !warned(&["--otlp-grpc-addr"]),
        "gRPC stays on loopback: {log:#?}"
    );
    // It really serves, openly, beyond loopback's own address.
    let port = server.ui_url.rsplit(':').next().unwrap();
    let r = reqwest::get(format!("http://127.0.0.1:{port}/api/traces"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // SIGHTLINE_ALLOW_INSECURE is the same switch.
    let env = Sightline::start_with(Options {
        args: vec!["--ui-addr".into(), "0.0.0.0:0".into()],
        env: vec![("SIGHTLINE_ALLOW_INSECURE".into(), "true".into())],
        ..Default::default()
    });
    assert!(
        env.log_lines()
            .iter()
            .any(|l| l.contains("WARN") && l.contains("--ui-addr 0.0.0.0:0"))
    );
}

#[tokio::test]
async fn tokens_come_from_files_and_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let ui_file = dir.path().join("ui-token");
    let ingest_file = dir.path().join("ingest-token");
    std::fs::write(&ui_file, "ui-from-a-file\n").unwrap();
    std::fs::write(&ingest_file, "ingest-from-a-file\r\n").unwrap();
    let server = start(&[
        "--ui-token-file",
        ui_file.to_str().unwrap(),
        "--ingest-token-file",
        ingest_file.to_str().unwrap(),
    ]);
    let c = reqwest::Client::new();
    let status = |token: &'static str| c.get(server.url("/api/traces")).bearer_auth(token).send();
    assert_eq!(status("ui-from-a-file").await.unwrap().status(), 200);
    assert_eq!(status("ui-from-a-file2").await.unwrap().status(), 401);
    let r = post_trace(
        &server,
        &one_span("5ec0000000000000000000000000000e", "f"),
        Some("Bearer ingest-from-a-file"),
    )
    .await;
    assert_eq!(r.status(), 200);

    let env = Sightline::start_with(Options {
        env: vec![
            ("SIGHTLINE_UI_TOKEN".into(), "ui-from-env".into()),
            (
                "SIGHTLINE_INGEST_TOKEN_FILE".into(),
                ingest_file.display().to_string(),
            ),
        ],
        ..Default::default()
    });
    let r = c
        .get(env.url("/api/traces"))
        .bearer_auth("ui-from-env")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        c.get(env.url("/api/traces")).send().await.unwrap().status(),
        401
    );
    let r = post_trace(
        &env,
        &one_span("5ec0000000000000000000000000000f", "f"),
        None,
    )
    .await;
    assert_eq!(r.status(), 401);
}

#[test]
fn unreadable_or_empty_token_files_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let (status, stderr) = run_to_exit(&["--ui-token-file", empty.to_str().unwrap()], &[]);
    assert!(!status.success());
    assert!(
        stderr.contains("--ui-token-file") && stderr.contains("is empty"),
        "{stderr}"
    );
    let missing = dir.path().join("missing");
    let (status, stderr) = run_to_exit(&["--ingest-token-file", missing.to_str().unwrap()], &[]);
    assert!(!status.success());
    assert!(
        stderr.contains("cannot read --ingest-token-file") && stderr.contains("missing"),
        "{stderr}"
    );
    let (status, stderr) = run_to_exit(&["--ui-token", "two words"], &[]);
    assert!(!status.success());
    assert!(stderr.contains("--ui-token"), "{stderr}");
}

fn start_tls(pki: &Pki) -> Sightline {
    Sightline::start_with(Options {
        args: vec![
            "--tls-cert".into(),
            pki.cert.display().to_string(),
            "--tls-key".into(),
            pki.key.display().to_string(),
            "--ui-token".into(),
            UI_TOKEN.into(),
            "--ingest-token".into(),
            INGEST_TOKEN.into(),
        ],
        api_token: Some(UI_TOKEN.into()),
        ca_pem: Some(pki.ca_pem.clone()),
        ..Default::default()
    })
}

fn tls_client_env(pki: &Pki) -> (String, String) {
    (
        pki.ca.display().to_string(),
        format!("Authorization=Bearer%20{INGEST_TOKEN}"),
    )
}

#[tokio::test]
async fn tls_serves_the_api_and_both_otlp_receivers_to_real_clients() {
    let pki = pki();
    let server = start_tls(&pki);
    assert!(server.ui_url.starts_with("https://"), "{}", server.ui_url);
    assert!(
        server.otlp_http_url.starts_with("https://"),
        "{}",
        server.otlp_http_url
    );
    let r = server
        .api()
        .get(server.url("/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A client that does not trust the CA, or speaks plain HTTP, gets nowhere.
    let untrusting = api_client(Some(UI_TOKEN), None)
        .get(server.url("/api/health"))
        .send()
        .await;
    assert!(untrusting.is_err(), "{untrusting:?}");
    let plain = server.ui_url.replacen("https://", "http://", 1);
    assert!(
        reqwest::get(format!("{plain}/api/health"))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );

    // The login cookie is Secure, and host-only by its __Host- name.
    let c = reqwest::Client::builder()
        .redirect(Policy::none())
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = login(&c, &server, UI_TOKEN, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(r.headers());
    assert!(
        cookie.starts_with("__Host-sightline_session=")
            && cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let r = c
        .get(server.url("/api/traces"))
        .header(header::COOKIE, cookie_pair(&cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The Python SDK over gRPC with TLS, trusting the test CA, with the token.
    let (ca, headers) = tls_client_env(&pki);
    let env = [
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", headers.as_str()),
    ];
    let m = clients::run_with(Client::PythonGrpc, &server, "py-grpc-tls", &env)
        .await
        .unwrap_or_else(|f| panic!("gRPC over TLS failed: {}", f.output));
    manifest::check_stored(&server, &m, "grpc", manifest::Engine::Sqlite).await;

    // And over HTTPS (a server of its own: the stats checks count everything).
    let https = start_tls(&pki);
    let m = clients::run_with(Client::PythonHttpProtobuf, &https, "py-https", &env)
        .await
        .unwrap_or_else(|f| panic!("OTLP/HTTPS failed: {}", f.output));
    manifest::check_stored(&https, &m, "http/protobuf", manifest::Engine::Sqlite).await;
}

#[test]
fn tls_needs_a_matching_certificate_and_key() {
    let a = pki();
    let b = pki();
    let (status, stderr) = run_to_exit(
        &[
            "--tls-cert",
            a.cert.to_str().unwrap(),
            "--tls-key",
            b.key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!status.success());
    assert!(stderr.contains("do not make a usable pair"), "{stderr}");
    let (status, stderr) = run_to_exit(&["--tls-cert", a.cert.to_str().unwrap()], &[]);
    assert!(!status.success());
    assert!(stderr.contains("--tls-key"), "{stderr}");
    let (status, stderr) = run_to_exit(
        &[
            "--tls-cert",
            a.key.to_str().unwrap(),
            "--tls-key",
            a.key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!status.success());
    assert!(stderr.contains("no PEM certificate"), "{stderr}");
}

fn assert_security_headers(what: &str, h: &HeaderMap) -> String {
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{what}");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{what}");
    let csp = h
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(part), "{what}: {part} missing from {csp}");
    }
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src "))
        .unwrap_or_else(|| panic!("{what}: no script-src in {csp}"));
    assert!(
        !script_src.contains("'unsafe-inline'") && !script_src.contains("'unsafe-eval'"),
        "{what}: {script_src}"
    );
    csp
}

/// The text of every inline `<script>` of a page.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<script") {
        let after = &rest[i..];
        let tag_end = after.find('>').unwrap();
        let close = after.find("</script>").unwrap();
        if !after[..tag_end].contains(" src=") {
            out.push(&after[tag_end + 1..close]);
        }
        rest = &after[close..];
    }
    out
}

#[tokio::test]
async fn ui_answers_carry_security_headers_and_the_csp_admits_the_app_loader() {
    let server = start(&["--ui-token", UI_TOKEN]);
    let c = no_redirects();
    let get = |path: &str| c.get(server.url(path)).bearer_auth(UI_TOKEN).send();

    let index = get("/").await.unwrap();
    assert_eq!(index.status(), 200);
    let csp = assert_security_headers("/", index.headers());
    let html = index.text().await.unwrap();
    let scripts = inline_scripts(&html);
    assert!(
        !scripts.is_empty(),
        "the dashboard's index.html has its loader inline (was it built? `./x dist`): {html}"
    );
    for s in scripts {
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s));
        assert!(
            csp.contains(&format!("'sha256-{hash}'")),
            "inline script not admitted by the CSP: {s}\n{csp}"
        );
    }
    let js = html
        .split('"')
        .find(|s| s.ends_with(".js"))
        .expect("a script asset")
        .to_owned();
    let asset = get(&js).await.unwrap();
    assert_eq!(asset.status(), 200);
    assert_security_headers(&js, asset.headers());
    for path in ["/api/traces", "/api/health", "/api/nope"] {
        assert_security_headers(path, get(path).await.unwrap().headers());
    }
    // Refusals and the login page too.
    let refused = c.get(server.url("/api/traces")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_security_headers("401", refused.headers());
    let login = c.get(server.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let login_csp = assert_security_headers("/login", login.headers());
    assert_eq!(login_csp, csp, "one policy for every UI answer");
}
