//! Helpers for the integration tests: start the real `sightline` binary on
//! ephemeral loopback ports with a temporary data directory, find where it
//! listens, and stop it the way an operator would.

pub mod big_trace;
pub mod browser;
pub mod clickhouse;
pub mod clients;
pub mod manifest;
pub mod otlp_json;
pub mod scenario;
pub mod snapshot;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    _tmp: Option<tempfile::TempDir>,
    log: Arc<Mutex<Vec<String>>>,
    api: reqwest::Client,
}

/// How to start the binary.
#[derive(Default)]
pub struct Options {
    /// Use this data directory instead of a fresh temporary one.
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
}

impl Sightline {
    /// Starts the binary with a fresh data directory.
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// Starts the binary and waits for its start-up line.
    pub fn start_with(opts: Options) -> Self {
        let (tmp, data_dir) = match opts.data_dir {
            Some(d) => (None, d),
            None => {
                let tmp = tempfile::tempdir().expect("temp dir");
                let d = tmp.path().join("data");
                (Some(tmp), d)
            }
        };
        let mut cmd = Command::new(binary_path());
        cmd.arg("--data-dir").arg(&data_dir);
        for flag in ["--ui-addr", "--otlp-grpc-addr", "--otlp-http-addr"] {
            if !opts.args.iter().any(|a| a == flag) {
                cmd.args([flag, "127.0.0.1:0"]);
            }
        }
        let mut child = cmd
            .args(&opts.args)
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sightline");
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
            _tmp: tmp,
            log,
            api: api_client(opts.api_token.as_deref(), opts.ca_pem.as_deref()),
        }
    }

    /// An HTTP client for the dashboard and API: it sends the bearer token
    /// and trusts the certificate given in [`Options`], if any.
    pub fn api(&self) -> &reqwest::Client {
        &self.api
    }

    /// The data directory the process uses.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
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
