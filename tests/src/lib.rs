//! Helpers for the integration tests: start the real `sightline` binary on
//! ephemeral loopback ports with a temporary data directory (or on a
//! ClickHouse database), find where it listens, and stop it the way an
//! operator would.

pub mod big_trace;
pub mod browser;
pub mod clickhouse;
pub mod clients;
pub mod manifest;
pub mod otlp_json;
pub mod pki;
pub mod scenario;
pub mod snapshot;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clickhouse::ClickHouse;
use crate::manifest::Engine;

/// The workspace's root directory (where `./x` and `Cargo.toml` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace root")
        .to_path_buf()
}

/// Path of the built `sightline` binary next to this test executable
/// (`target/<profile>/sightline`), or `$SIGHTLINE_BIN`.
pub fn binary_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SIGHTLINE_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/sightline
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join("sightline");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p sightline`, which `./x test` does)",
        bin.display()
    );
    bin
}

/// A running `sightline` process; killed when dropped.
pub struct Sightline {
    child: Option<Child>,
    /// Base URL of the dashboard and API, e.g. `http://127.0.0.1:41234`.
    pub ui_url: String,
    /// `host:port` of the OTLP/gRPC receiver.
    pub otlp_grpc_addr: String,
    /// Base URL of the OTLP/HTTP receiver.
    pub otlp_http_url: String,
    data_dir: PathBuf,
    /// `--clickhouse-database` when the process stores in ClickHouse.
    clickhouse_database: Option<String>,
    _tmp: Option<tempfile::TempDir>,
    log: Arc<Mutex<Vec<String>>>,
    api: reqwest::Client,
    /// The ClickHouse this process alone stores in (see [`Sightline::start`]);
    /// stopped after the process.
    _clickhouse: Option<ClickHouse>,
}

/// How to start the binary.
#[derive(Default)]
pub struct Options {
    /// Use this data directory instead of a fresh temporary one (with
    /// `clickhouse`: the directory the process runs in).
    pub data_dir: Option<PathBuf>,
    /// Extra flags. An address flag (`--ui-addr`, …) given here replaces
    /// the harness's ephemeral loopback default.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Bearer token [`Sightline::api`] sends (for a server with `--ui-token`).
    pub api_token: Option<String>,
    /// PEM certificate [`Sightline::api`] trusts (for a server with `--tls-cert`).
    pub ca_pem: Option<String>,
    /// Store in ClickHouse: `(url, database)` given as `--clickhouse-url`
    /// and `--clickhouse-database`. No data directory is passed then; the
    /// process runs in an empty temporary directory (`data_dir`).
    pub clickhouse: Option<(String, String)>,
}

/// The command [`Sightline::start_with`] runs, and the directory it keeps.
struct Prepared {
    cmd: Command,
    data_dir: PathBuf,
    tmp: Option<tempfile::TempDir>,
    clickhouse_database: Option<String>,
}

impl Options {
    /// Options storing in `database` of the ClickHouse at `url`.
    pub fn clickhouse(url: &str, database: &str) -> Self {
        Self {
            clickhouse: Some((url.to_owned(), database.to_owned())),
            ..Self::default()
        }
    }

    fn command(&self) -> Prepared {
        let mut cmd = Command::new(binary_path());
        let (tmp, data_dir) = match (&self.data_dir, &self.clickhouse) {
            (Some(d), _) => (None, d.clone()),
            (None, Some(_)) => {
                let tmp = tempfile::tempdir().expect("temp dir");
                let d = tmp.path().to_path_buf();
                (Some(tmp), d)
            }
            (None, None) => {
                let tmp = tempfile::tempdir().expect("temp dir");
                let d = tmp.path().join("data");
                (Some(tmp), d)
            }
        };
        match &self.clickhouse {
            Some((url, database)) => {
                cmd.args(["--clickhouse-url", url, "--clickhouse-database", database])
                    .current_dir(&data_dir);
            }
            None => {
                cmd.arg("--data-dir").arg(&data_dir);
            }
        }
        for flag in ["--ui-addr", "--otlp-grpc-addr", "--otlp-http-addr"] {
            if !self.args.iter().any(|a| a == flag) {
                cmd.args([flag, "127.0.0.1:0"]);
            }
        }
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Prepared {
            cmd,
            data_dir,
            tmp,
            clickhouse_database: self.clickhouse.as_ref().map(|(_, db)| db.clone()),
        }
    }
}

impl Sightline {
    /// Starts the binary with a fresh data directory, or, when
    /// `SIGHTLINE_TEST_ENGINE=clickhouse`, on a fresh database of a
    /// ClickHouse of its own: the same test then checks the ClickHouse
    /// engine (`./x test` runs the browser views test both ways).
    pub fn start() -> Self {
        if std::env::var("SIGHTLINE_TEST_ENGINE").as_deref() == Ok("clickhouse") {
            let clickhouse = ClickHouse::start();
            let mut server = Self::start_on(&clickhouse);
            server._clickhouse = Some(clickhouse);
            return server;
        }
        Self::start_with(Options::default())
    }

    /// Starts the binary on a fresh database of `clickhouse`
    /// (`--clickhouse-url`, `--clickhouse-database`; no data directory).
    pub fn start_on(clickhouse: &ClickHouse) -> Self {
        Self::start_with(Options::clickhouse(
            &clickhouse.url,
            &clickhouse.fresh_database(),
        ))
    }

    /// Runs the binary with `opts` where it must refuse to start: waits
    /// (up to 60 s) for it to exit unsuccessfully and returns its log.
    /// Panics if it starts listening or exits with success.
    pub fn refused(opts: Options) -> String {
        let Prepared { mut cmd, tmp, .. } = opts.command();
        let mut child = cmd.spawn().expect("spawn sightline");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel::<Option<String>>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[sightline] {line}");
                let _ = tx.send(Some(line));
            }
            let _ = tx.send(None);
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut log = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(line)) if line.contains(" listening") => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("sightline started instead of refusing: {log:?} {line}");
                }
                Ok(Some(line)) => log.push(line),
                Ok(None) => break,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("sightline did not exit within 60 s: {log:?}");
                }
            }
        }
        let status = child.wait().expect("wait");
        drop(tmp);
        assert!(!status.success(), "sightline exited with {status}: {log:?}");
        log.join("\n")
    }

    /// Starts the binary and waits for its start-up line.
    pub fn start_with(opts: Options) -> Self {
        let Prepared {
            mut cmd,
            data_dir,
            tmp,
            clickhouse_database,
        } = opts.command();
        let mut child = cmd.spawn().expect("spawn sightline");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("[sightline] {line}");
                    if line.contains(" listening") {
                        let _ = tx.send(line.clone());
                    }
                    log.lock().expect("log lock").push(line);
                }
            });
        }
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "sightline did not report its listeners within 30 s; log: {:?}",
                    log.lock().map(|l| l.clone())
                );
            }
        };
        let field = |name: &str| -> Option<String> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        let ui_url = field("ui").unwrap_or_else(|| panic!("start-up line has no ui=: {line}"));
        let otlp_grpc_addr =
            field("otlp_grpc").unwrap_or_else(|| panic!("start-up line has no otlp_grpc=: {line}"));
        let otlp_http_url =
            field("otlp_http").unwrap_or_else(|| panic!("start-up line has no otlp_http=: {line}"));
        Sightline {
            child: Some(child),
            ui_url,
            otlp_grpc_addr,
            otlp_http_url,
            data_dir,
            clickhouse_database,
            _tmp: tmp,
            log,
            api: api_client(opts.api_token.as_deref(), opts.ca_pem.as_deref()),
            _clickhouse: None,
        }
    }

    /// An HTTP client for the dashboard and API: it sends the bearer token
    /// and trusts the certificate given in [`Options`], if any.
    pub fn api(&self) -> &reqwest::Client {
        &self.api
    }

    /// The data directory the process uses (on ClickHouse: the empty
    /// directory it runs in, which nothing should write to).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The storage engine the process was started on.
    pub fn engine(&self) -> Engine {
        match self.clickhouse_database {
            Some(_) => Engine::ClickHouse,
            None => Engine::Sqlite,
        }
    }

    /// The ClickHouse database the process stores in, if it does.
    pub fn clickhouse_database(&self) -> Option<&str> {
        self.clickhouse_database.as_deref()
    }

    /// Whether the process serves TLS (its start-up line says `https://`).
    pub fn tls(&self) -> bool {
        self.ui_url.starts_with("https://")
    }

    /// `ui_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.ui_url, path)
    }

    /// Every line the process has logged so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends SIGTERM and waits (up to 20 s) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal_and_wait(libc::SIGTERM)
    }

    /// Sends SIGKILL (a crash) and reaps the process.
    pub fn kill9(&mut self) -> ExitStatus {
        self.signal_and_wait(libc::SIGKILL)
    }

    fn signal_and_wait(&mut self, sig: libc::c_int) -> ExitStatus {
        let mut child = self.child.take().expect("process still running");
        let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
        // SAFETY: kill(2) on our own child's pid has no memory-safety impact.
        unsafe {
            libc::kill(pid, sig);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("sightline did not exit within 20 s of signal {sig}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sightline {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A client that sends `token` as bearer and trusts `ca_pem`.
pub fn api_client(token: Option<&str>, ca_pem: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder();
    if let Some(t) = token {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {t}").parse().expect("token fits a header"),
        );
        b = b.default_headers(h);
    }
    if let Some(pem) = ca_pem {
        b = b
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("PEM"));
    }
    b.build().expect("HTTP client")
}

/// Directory for test artifacts (screenshots): `target/test-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create artifacts dir");
    dir
}
