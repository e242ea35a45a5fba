//! Crash recovery with a real client: the OpenTelemetry Python SDK exports
//! traces and logs over OTLP/HTTP without pause while the binary is
//! `kill -9`ed and restarted on the same port, round after round. Every
//! item the SDK saw acknowledged must be readable afterwards, and SQLite's
//! integrity check must pass after every crash.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use sightline_tests::clients::python;
use sightline_tests::{Options, Sightline, workspace_root};

fn integrity(dir: &Path) -> String {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("sightline.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The acknowledged items so far: (kind, trace id) lines of the ledger.
fn ledger(path: &Path) -> BTreeSet<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, id)| (k.to_owned(), id.to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_item_acknowledged_to_a_real_sdk_survives_repeated_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let acked = tmp.path().join("acked.txt");
    let stop = tmp.path().join("stop.flag");
    let port = free_port();
    let opts = || Options {
        data_dir: Some(dir.clone()),
        args: vec!["--otlp-http-addr".into(), format!("127.0.0.1:{port}")],
        ..Default::default()
    };
    let mut server = Sightline::start_with(opts());
    let sender = tokio::process::Command::new(python())
        .arg(workspace_root().join("tests/clients/python/crash_sender.py"))
        .args(["--endpoint", &format!("http://127.0.0.1:{port}")])
        .arg("--acked")
        .arg(&acked)
        .arg("--stop")
        .arg(&stop)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python SDK sender");

    let mut before = 0;
    for round in 0..4u64 {
        // Let the SDK get acknowledgements in, then crash mid-stream.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while ledger(&acked).len() < before + 20 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "round {round}: the SDK got no new acknowledgements in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(200 + 150 * round)).await;
        server.kill9();
        assert_eq!(integrity(&dir), "ok", "after kill -9 round {round}");
        before = ledger(&acked).len();
        // Down for a moment: the SDK's exports fail or retry meanwhile.
        tokio::time::sleep(Duration::from_millis(300)).await;
        server = Sightline::start_with(opts());
    }
    std::fs::write(&stop, b"").unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), sender.wait_with_output())
        .await
        .expect("the sender stops within 60 s")
        .unwrap();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "sender failed: {summary}");
    eprintln!("{summary}");
    drop(server);

    // One more crash-free start, then every acknowledged item is read back.
    let server = Sightline::start_with(opts());
    let items = ledger(&acked);
    let traces: Vec<&String> = items
        .iter()
        .filter(|(k, _)| k == "trace")
        .map(|(_, id)| id)
        .collect();
    let logs: BTreeSet<&String> = items
        .iter()
        .filter(|(k, _)| k == "log")
        .map(|(_, id)| id)
        .collect();
    assert!(
        traces.len() >= 80,
        "too few acknowledged traces: {}",
        traces.len()
    );
    assert!(!logs.is_empty(), "no acknowledged logs");
    let client = reqwest::Client::new();
    for id in &traces {
        let resp = client
            .get(server.url(&format!("/api/traces/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "acknowledged trace {id} lost");
    }
    for id in &logs {
        let page: shared::api::LogsResponse = client
            .get(server.url(&format!("/api/logs?trace_id={id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(!page.logs.is_empty(), "acknowledged log of trace {id} lost");
    }
    assert_eq!(integrity(&dir), "ok");
}
