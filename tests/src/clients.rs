//! The OpenTelemetry SDK clients of `tests/clients/`: finding them (set up
//! by `./x`), running one against a server, and reading the manifest of
//! what it sent.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::manifest::Manifest;
use crate::{Sightline, workspace_root};

/// One SDK, exporter and protocol.
#[derive(Clone, Copy, Debug)]
pub enum Client {
    /// opentelemetry-python, OTLP/gRPC exporter.
    PythonGrpc,
    /// opentelemetry-python, OTLP/HTTP protobuf exporter, gzip-compressed.
    PythonHttpProtobuf,
    /// opentelemetry-js, OTLP/HTTP JSON exporters.
    NodeHttpJson,
}

impl Client {
    /// The transport the server's counters file this client's requests under.
    pub fn transport(self) -> &'static str {
        match self {
            Client::PythonGrpc => "grpc",
            Client::PythonHttpProtobuf => "http/protobuf",
            Client::NodeHttpJson => "http/json",
        }
    }
}

/// `.venv/bin/python`, or a panic saying how to create it.
pub fn python() -> PathBuf {
    let python = workspace_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `./x test` (or `./x setup`) to create the Python venv with the OpenTelemetry SDK",
        python.display()
    );
    python
}

/// `tests/clients/node`, or a panic saying how to install its packages.
pub fn node_dir() -> PathBuf {
    let dir = workspace_root().join("tests/clients/node");
    assert!(
        dir.join("node_modules/@opentelemetry/sdk-trace-base")
            .exists(),
        "{}/node_modules is missing: run `./x test` (or `./x setup`) to install the OpenTelemetry JS SDK",
        dir.display()
    );
    dir
}

/// Runs `client` against `server` as service `service`; returns its
/// manifest. Panics with the client's output if it fails (including when
/// any of its exports failed).
pub async fn run(client: Client, server: &Sightline, service: &str) -> Manifest {
    match run_with(client, server, service, &[]).await {
        Ok(m) => m,
        Err(f) => panic!("{client:?} failed ({}):\n{}", f.status, f.output),
    }
}

/// A client run that failed: its exit status and what it printed.
#[derive(Debug)]
pub struct ClientFailure {
    pub status: std::process::ExitStatus,
    /// stdout, then stderr.
    pub output: String,
}

/// Runs `client` as [`run`] does, with `env` added to its environment
/// (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_CERTIFICATE`, …), and
/// returns its failure instead of panicking. The endpoint is `https://`
/// when the server runs with TLS.
pub async fn run_with(
    client: Client,
    server: &Sightline,
    service: &str,
    env: &[(&str, &str)],
) -> Result<Manifest, ClientFailure> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("manifest.json");
    let root = workspace_root();
    let mut cmd = match client {
        Client::PythonGrpc | Client::PythonHttpProtobuf => {
            let mut c = tokio::process::Command::new(python());
            c.arg(root.join("tests/clients/python/send.py"));
            match client {
                Client::PythonGrpc => c.args([
                    "--protocol",
                    "grpc",
                    "--endpoint",
                    &format!(
                        "{}://{}",
                        if server.tls() { "https" } else { "http" },
                        server.otlp_grpc_addr
                    ),
                ]),
                _ => c.args([
                    "--protocol",
                    "http/protobuf",
                    "--compression",
                    "gzip",
                    "--endpoint",
                    &server.otlp_http_url,
                ]),
            };
            c.env("PYTHONDONTWRITEBYTECODE", "1");
            c
        }
        Client::NodeHttpJson => {
            let dir = node_dir();
            let mut c = tokio::process::Command::new("node");
            c.arg(dir.join("send.mjs"))
                .args(["--endpoint", &server.otlp_http_url])
                .current_dir(dir);
            c
        }
    };
    cmd.args(["--service", service]).arg("--out").arg(&out);
    // The caller's OTEL_* settings (headers, compression, …) must not leak in.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    // requests lets these override a session's own CA file (its `verify`),
    // which is where the HTTP exporter puts OTEL_EXPORTER_OTLP_CERTIFICATE.
    for key in ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"] {
        cmd.env_remove(key);
    }
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{client:?} did not finish within 120 s"))
        .unwrap_or_else(|e| panic!("cannot start {client:?}: {e}"));
    if !output.status.success() {
        return Err(ClientFailure {
            status: output.status,
            output: format!(
                "stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(Manifest::read(&out))
}
