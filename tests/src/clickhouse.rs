//! A ClickHouse for tests: `tests/clickhouse/front.py` (the real engine,
//! chdb, behind ClickHouse's HTTP interface) started on a free loopback port
//! with its own temporary directory, or the server named by
//! `SIGHTLINE_TEST_CLICKHOUSE_URL`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::workspace_root;

/// How long the front may take to import chdb and start the engine; slow
/// shared CI machines need far more than the usual two seconds.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A ClickHouse to test against; a front started here is killed when dropped.
pub struct ClickHouse {
    /// Base URL of the HTTP interface, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
    http: reqwest::Client,
}

impl ClickHouse {
    /// The server named by `SIGHTLINE_TEST_CLICKHOUSE_URL` when it is set
    /// (a real ClickHouse, shared: isolate tests with [`Self::fresh_database`]),
    /// else a front of its own.
    pub fn start() -> Self {
        match std::env::var("SIGHTLINE_TEST_CLICKHOUSE_URL") {
            Ok(url) if !url.is_empty() => Self {
                url: url.trim_end_matches('/').to_owned(),
                child: None,
                _tmp: None,
                http: reqwest::Client::new(),
            },
            _ => Self::start_front(&[]),
        }
    }

    /// Starts a front with extra flags (e.g. `--user`, `--password`), even
    /// when `SIGHTLINE_TEST_CLICKHOUSE_URL` is set.
    pub fn start_front(args: &[&str]) -> Self {
        let root = workspace_root();
        let python = root.join(".venv/bin/python");
        let tmp = tempfile::tempdir().expect("temp dir");
        let setup_hint = "run `./x setup`, which installs the ClickHouse engine (chdb) into .venv";
        let mut child = Command::new(&python)
            .arg(root.join("tests/clickhouse/front.py"))
            .args(["--port", "0", "--path"])
            .arg(tmp.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {setup_hint}", python.display()));

        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let log_thread = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("[clickhouse] {line}");
                    log.lock().expect("log lock").push(line);
                }
            })
        };
        // The one stdout line says where it listens; the rest is drained so
        // the front never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = log_thread.join();
                panic!(
                    "the ClickHouse front did not start ({e}); {setup_hint}. Its log: {:?}",
                    log.lock().map(|l| l.clone()).unwrap_or_default()
                );
            }
        };
        Self {
            url: format!("http://{addr}"),
            child: Some(child),
            _tmp: Some(tmp),
            http: reqwest::Client::new(),
        }
    }

    /// Creates a database no other test uses and returns its name. Blocking,
    /// so that synchronous store factories can call it too; it works from
    /// inside a Tokio runtime as well (on a thread of its own).
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // The start time keeps names apart across runs on a shared server,
        // where a container may get the same pid every time.
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!(
            "sl_test_{started}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let url = self.url.clone();
        let sql = format!("CREATE DATABASE {name}");
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(post_sql(&reqwest::Client::new(), &url, &sql))
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
        name
    }

    /// Runs one SQL statement (POSTed as plain text, as curl would) and
    /// returns the answer's body; panics with ClickHouse's error otherwise.
    pub async fn sql(&self, sql: &str) -> String {
        post_sql(&self.http, &self.url, sql).await
    }
}

async fn post_sql(http: &reqwest::Client, url: &str, sql: &str) -> String {
    let response = http
        .post(format!("{url}/"))
        .body(sql.to_owned())
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status();
    let body = response.text().await.expect("answer body");
    assert!(status.is_success(), "{sql}\n→ {status}: {body}");
    body
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
