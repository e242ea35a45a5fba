//! Backups of a running server: `sightline backup --out FILE` and the
//! dashboard's `GET /api/backup` download both give a self-contained
//! database that a new server opens with every acknowledged trace in it.

use std::path::Path;
use std::process::Command;

use sightline_tests::otlp_json::{TestSpan, hex_id, traces_request};
use sightline_tests::{Options, Sightline, binary_path};

const T0: u64 = 1_800_000_000_000_000_000;

async fn ingest(server: &Sightline, traces: u64) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..traces {
        let id = hex_id(i + 1, 16);
        let span = hex_id(i + 1000, 8);
        let body = traces_request(
            "backup-test",
            &[TestSpan {
                trace_id: &id,
                span_id: &span,
                parent: None,
                name: "checkout",
                start: T0 + i * 1000,
                end: T0 + i * 1000 + 500,
                error: false,
            }],
        );
        let status = client
            .post(format!("{}/v1/traces", server.otlp_http_url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        ids.push(id);
    }
    ids
}

/// Starts a server on a fresh data directory holding `copy` as its
/// database and checks every trace is there.
async fn restored_has(copy: &Path, ids: &[String]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(copy, dir.join("sightline.db")).unwrap();
    let server = Sightline::start_with(Options {
        data_dir: Some(dir),
        args: vec![],
        ..Default::default()
    });
    for id in ids {
        let resp = reqwest::get(server.url(&format!("/api/traces/{id}")))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "trace {id} missing from the restore");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backup_command_copies_a_running_server() {
    let server = Sightline::start();
    let ids = ingest(&server, 30).await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("copy.db");
    let run = |out: &Path, force: bool| {
        let mut cmd = Command::new(binary_path());
        cmd.arg("backup")
            .arg("--data-dir")
            .arg(server.data_dir())
            .arg("--out")
            .arg(out);
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    let first = run(&out, false);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("backed up"), "{stdout}");
    // An existing file is not replaced without --force.
    let again = run(&out, false);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(run(&out, true).status.success());
    restored_has(&out, &ids).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_streams_a_backup_download() {
    let server = Sightline::start();
    let ids = ingest(&server, 20).await;
    let resp = reqwest::get(server.url("/api/backup")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.sqlite3");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"sightline-")
            && disposition.ends_with(".db\""),
        "{disposition}"
    );
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("download.db");
    std::fs::write(&file, &bytes).unwrap();
    restored_has(&file, &ids).await;
    // Nothing is left behind in the data directory.
    let leftovers: Vec<_> = std::fs::read_dir(server.data_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("backup"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
