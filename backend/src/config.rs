//! Command-line flags (each with a `SIGHTLINE_…` environment variable) and
//! the validated configuration the server runs with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::security::exposure::{self, Listeners};
use crate::security::tls::{TlsError, TlsIdentity};
use crate::security::token::{Token, TokenError};
use crate::store::clickhouse::ClickHouseConfig;
use crate::store::sqlite::maintenance::MaxAge;

use bytesize::ByteSize;
use clap::{Args, Parser, Subcommand};

/// Command line of the `sightline` binary.
#[derive(Debug, Parser)]
#[command(
    name = "sightline",
    version,
    about = "One-box OpenTelemetry backend: OTLP in, a compressed SQLite store, a query API and a dashboard.",
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Without a command, `sightline` runs the server.
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// What the binary can do besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy the database to FILE: a consistent, self-contained SQLite file,
    /// safe to take while the server runs. Restore: stop the server, put the
    /// file in place of <data-dir>/sightline.db (removing any
    /// sightline.db-wal and sightline.db-shm beside it), start the server.
    Backup(BackupArgs),
}

/// Flags of `sightline backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Data directory of the server whose database is copied.
    #[arg(long, env = "SIGHTLINE_DATA_DIR", default_value = "./sightline-data")]
    pub data_dir: PathBuf,

    /// File to write the backup to.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Flags of the server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Directory holding the database; created if missing.
    #[arg(long, env = "SIGHTLINE_DATA_DIR", default_value = "./sightline-data")]
    pub data_dir: PathBuf,

    /// Address of the dashboard and the query API (`/api/*`).
    #[arg(long, env = "SIGHTLINE_UI_ADDR", default_value = "127.0.0.1:8080")]
    pub ui_addr: SocketAddr,

    /// Address of the OTLP/gRPC receiver.
    #[arg(
        long,
        env = "SIGHTLINE_OTLP_GRPC_ADDR",
        default_value = "127.0.0.1:4317"
    )]
    pub otlp_grpc_addr: SocketAddr,

    /// Address of the OTLP/HTTP receiver (protobuf and JSON).
    #[arg(
        long,
        env = "SIGHTLINE_OTLP_HTTP_ADDR",
        default_value = "127.0.0.1:4318"
    )]
    pub otlp_http_addr: SocketAddr,

    /// Cap on the database size; the oldest data is evicted to stay under it.
    /// Human sizes: 512MB, 2GiB, 100000000.
    #[arg(long, env = "SIGHTLINE_MAX_DB_SIZE", default_value = "512MB")]
    pub max_db_size: ByteSize,

    /// Largest OTLP request body accepted, compressed or decompressed
    /// (bigger ones get 413 / RESOURCE_EXHAUSTED).
    #[arg(long, env = "SIGHTLINE_MAX_REQUEST_SIZE", default_value = "16MiB")]
    pub max_request_size: ByteSize,

    /// Browser origins allowed to send OTLP/HTTP (comma-separated, `*` for
    /// any). Default: none, only same-origin.
    #[arg(long, env = "SIGHTLINE_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// Most series one metric may have; points of further series are refused
    /// and reported as a partial success.
    #[arg(
        long,
        env = "SIGHTLINE_MAX_SERIES_PER_METRIC",
        default_value_t = 10_000
    )]
    pub max_series_per_metric: u64,

    /// Most items (spans, log records, points) waiting for the writer; beyond
    /// it OTLP requests get 503 / UNAVAILABLE (retryable) instead of memory.
    #[arg(long, env = "SIGHTLINE_MAX_QUEUED_ITEMS", default_value_t = 200_000)]
    pub max_queued_items: u64,

    /// Attribute keys indexed for `key=value` filters (comma-separated).
    /// Default: a list of common semantic-convention keys (http.route,
    /// rpc.method, db.system, user.id, …).
    #[arg(long, env = "SIGHTLINE_INDEXED_ATTRIBUTES", value_delimiter = ',')]
    pub indexed_attributes: Vec<String>,

    /// Evict spans older than this (e.g. `7d`, `12h`) even below the size
    /// cap. Default: kept until the cap needs the room.
    #[arg(long, env = "SIGHTLINE_MAX_AGE_SPANS", value_parser = humantime::parse_duration)]
    pub max_age_spans: Option<Duration>,

    /// Evict log records older than this (as `--max-age-spans`).
    #[arg(long, env = "SIGHTLINE_MAX_AGE_LOGS", value_parser = humantime::parse_duration)]
    pub max_age_logs: Option<Duration>,

    /// Evict metric points older than this (as `--max-age-spans`).
    #[arg(long, env = "SIGHTLINE_MAX_AGE_METRICS", value_parser = humantime::parse_duration)]
    pub max_age_metrics: Option<Duration>,

    /// Token the dashboard and `/api/*` ask for: a login page sets a
    /// cookie; scripts send `Authorization: Bearer <token>`. `/api/health`
    /// stays open. Required when --ui-addr is not a loopback address.
    /// Prefer the environment variable or --ui-token-file: a flag's value
    /// is visible to other local users in the process list.
    #[arg(long, env = "SIGHTLINE_UI_TOKEN", hide_env_values = true)]
    pub ui_token: Option<String>,

    /// File holding the UI token (one line; a trailing newline is ignored).
    #[arg(
        long,
        env = "SIGHTLINE_UI_TOKEN_FILE",
        conflicts_with = "ui_token",
        value_name = "PATH"
    )]
    pub ui_token_file: Option<PathBuf>,

    /// Token OTLP clients must send (`Authorization: Bearer <token>`, as
    /// HTTP header or gRPC metadata). Required when either OTLP address is
    /// not a loopback address.
    #[arg(long, env = "SIGHTLINE_INGEST_TOKEN", hide_env_values = true)]
    pub ingest_token: Option<String>,

    /// File holding the ingest token (one line; a trailing newline is ignored).
    #[arg(
        long,
        env = "SIGHTLINE_INGEST_TOKEN_FILE",
        conflicts_with = "ingest_token",
        value_name = "PATH"
    )]
    pub ingest_token_file: Option<PathBuf>,

    /// Start even though a listener on a non-loopback address has no token
    /// (each is named in a warning at start-up).
    #[arg(
        long,
        env = "SIGHTLINE_ALLOW_INSECURE",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::SetTrue
    )]
    pub allow_insecure: bool,

    /// Certificate chain (PEM, leaf first): serve the dashboard, the API and
    /// both OTLP receivers over TLS. Needs --tls-key.
    #[arg(
        long,
        env = "SIGHTLINE_TLS_CERT",
        requires = "tls_key",
        value_name = "PATH"
    )]
    pub tls_cert: Option<PathBuf>,

    /// Private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        env = "SIGHTLINE_TLS_KEY",
        requires = "tls_cert",
        value_name = "PATH"
    )]
    pub tls_key: Option<PathBuf>,

    /// Store every signal in ClickHouse at this URL (`http://host:8123`,
    /// `https://…`) instead of the embedded SQLite file, in the tables of
    /// the OpenTelemetry Collector's clickhouseexporter. --data-dir and
    /// --max-db-size are then unused; retention is --max-age-* as a TTL.
    #[arg(long, env = "SIGHTLINE_CLICKHOUSE_URL", value_name = "URL")]
    pub clickhouse_url: Option<String>,

    /// ClickHouse database of the tables (created if missing).
    #[arg(
        long,
        env = "SIGHTLINE_CLICKHOUSE_DATABASE",
        default_value = "otel",
        value_name = "NAME"
    )]
    pub clickhouse_database: String,

    /// ClickHouse user (default: the server's `default` user).
    #[arg(long, env = "SIGHTLINE_CLICKHOUSE_USER", value_name = "NAME")]
    pub clickhouse_user: Option<String>,

    /// ClickHouse password. Prefer the environment variable or
    /// --clickhouse-password-file: a flag's value is visible to other
    /// local users in the process list.
    #[arg(long, env = "SIGHTLINE_CLICKHOUSE_PASSWORD", hide_env_values = true)]
    pub clickhouse_password: Option<String>,

    /// File holding the ClickHouse password (one line; a trailing newline
    /// is ignored).
    #[arg(
        long,
        env = "SIGHTLINE_CLICKHOUSE_PASSWORD_FILE",
        conflicts_with = "clickhouse_password",
        value_name = "PATH"
    )]
    pub clickhouse_password_file: Option<PathBuf>,

    /// Create the tables `ON CLUSTER` this cluster as ReplicatedMergeTree
    /// with Distributed tables in front (sharded by trace id).
    #[arg(long, env = "SIGHTLINE_CLICKHOUSE_CLUSTER", value_name = "NAME")]
    pub clickhouse_cluster: Option<String>,

    /// Do not create missing ClickHouse tables (they must exist, e.g.
    /// created by a Collector's exporter or by an administrator).
    #[arg(
        long,
        env = "SIGHTLINE_CLICKHOUSE_NO_CREATE_TABLES",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::SetTrue
    )]
    pub clickhouse_no_create_tables: bool,

    /// Longest a ClickHouse query or insert may take (e.g. `30s`); past
    /// it the API answers 503 and ingest asks the sender to retry.
    #[arg(
        long,
        env = "SIGHTLINE_CLICKHOUSE_TIMEOUT",
        default_value = "30s",
        value_parser = humantime::parse_duration
    )]
    pub clickhouse_timeout: Duration,
}

/// Why the flags cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--max-db-size must be at least 1MB, got {0}")]
    DbSizeTooSmall(ByteSize),
    #[error("--max-request-size must be between 1KB and 1GiB, got {0}")]
    RequestSize(ByteSize),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("--tls-cert and --tls-key go together: {0} is missing")]
    TlsHalf(&'static str),
    #[error("{0}")]
    Unprotected(String),
    #[error("--clickhouse-url {0:?} is not an http:// or https:// URL")]
    ClickHouseUrl(String),
    #[error("--clickhouse-password-file {path}: {source}")]
    ClickHousePassword {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub ui_addr: SocketAddr,
    pub otlp_grpc_addr: SocketAddr,
    pub otlp_http_addr: SocketAddr,
    pub max_db_size: u64,
    pub max_request_size: usize,
    pub cors_allowed_origins: Vec<String>,
    pub max_series_per_metric: u64,
    pub max_queued_items: u64,
    pub indexed_attributes: Vec<String>,
    pub max_age: MaxAge,
    /// Token of the dashboard and API; `None`: open.
    pub ui_token: Option<Token>,
    /// Token of the OTLP receivers; `None`: open.
    pub ingest_token: Option<Token>,
    /// Listeners beyond loopback without their token (allowed by
    /// `--allow-insecure`; each is warned about at start-up).
    pub exposed: Vec<exposure::Exposure>,
    /// Certificate and key when every listener speaks TLS.
    pub tls: Option<TlsIdentity>,
    /// Store in ClickHouse instead of the data directory's SQLite file.
    pub clickhouse: Option<ClickHouseConfig>,
}

/// The token of `flag`, from its value or its file (`flag`-file).
fn token(
    flag: &'static str,
    file_flag: &'static str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<Token>, TokenError> {
    match (value, file) {
        (Some(v), _) => Token::new(flag, &v).map(Some),
        (None, Some(path)) => Token::from_file(file_flag, &path).map(Some),
        (None, None) => Ok(None),
    }
}

impl ServeArgs {
    /// Checks the flags and turns them into a [`Config`].
    pub fn into_config(self) -> Result<Config, ConfigError> {
        if self.max_db_size.as_u64() < 1_000_000 {
            return Err(ConfigError::DbSizeTooSmall(self.max_db_size));
        }
        let max_request_size = self.max_request_size.as_u64();
        if !(1_000..=1 << 30).contains(&max_request_size) {
            return Err(ConfigError::RequestSize(self.max_request_size));
        }
        let ui_token = token(
            "--ui-token",
            "--ui-token-file",
            self.ui_token,
            self.ui_token_file,
        )?;
        let ingest_token = token(
            "--ingest-token",
            "--ingest-token-file",
            self.ingest_token,
            self.ingest_token_file,
        )?;
        let exposed = exposure::unprotected(&Listeners {
            ui: self.ui_addr,
            otlp_grpc: self.otlp_grpc_addr,
            otlp_http: self.otlp_http_addr,
            ui_token: ui_token.is_some(),
            ingest_token: ingest_token.is_some(),
        });
        if !exposed.is_empty() && !self.allow_insecure {
            return Err(ConfigError::Unprotected(exposure::refusal(&exposed)));
        }
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsIdentity::load(&cert, &key)?),
            (Some(_), None) => return Err(ConfigError::TlsHalf("--tls-key")),
            (None, Some(_)) => return Err(ConfigError::TlsHalf("--tls-cert")),
            (None, None) => None,
        };
        let max_age = MaxAge {
            spans: self.max_age_spans,
            logs: self.max_age_logs,
            metrics: self.max_age_metrics,
        };
        let clickhouse = match self.clickhouse_url {
            None => None,
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ConfigError::ClickHouseUrl(url));
                }
                let password = match (self.clickhouse_password, self.clickhouse_password_file) {
                    (Some(p), _) => Some(p),
                    (None, Some(path)) => Some(
                        std::fs::read_to_string(&path)
                            .map_err(|source| ConfigError::ClickHousePassword {
                                path: path.clone(),
                                source,
                            })?
                            .trim_end_matches(['\n', '\r'])
                            .to_owned(),
                    ),
                    (None, None) => None,
                };
                let mut c = ClickHouseConfig::new(url, self.clickhouse_database);
                c.user = self.clickhouse_user;
                c.password = password;
                c.cluster = self.clickhouse_cluster;
                c.create_tables = !self.clickhouse_no_create_tables;
                c.timeout = self.clickhouse_timeout;
                c.ttl_spans = max_age.spans;
                c.ttl_logs = max_age.logs;
                c.ttl_metrics = max_age.metrics;
                Some(c)
            }
        };
        Ok(Config {
            data_dir: self.data_dir,
            ui_addr: self.ui_addr,
            otlp_grpc_addr: self.otlp_grpc_addr,
            otlp_http_addr: self.otlp_http_addr,
            max_db_size: self.max_db_size.as_u64(),
            max_request_size: usize::try_from(max_request_size).unwrap_or(usize::MAX),
            cors_allowed_origins: self
                .cors_allowed_origins
                .into_iter()
                .filter(|o| !o.is_empty())
                .collect(),
            max_series_per_metric: self.max_series_per_metric,
            max_queued_items: self.max_queued_items.max(1),
            indexed_attributes: if self.indexed_attributes.is_empty() {
                crate::store::sqlite::writer::default_indexed_attributes()
            } else {
                self.indexed_attributes
            },
            max_age,
            ui_token,
            ingest_token,
            exposed,
            tls,
            clickhouse,
        })
    }
}

impl Config {
    /// A configuration for tests: every listener on an ephemeral loopback port.
    pub fn ephemeral(data_dir: PathBuf) -> Self {
        let any: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
        Config {
            data_dir,
            ui_addr: any,
            otlp_grpc_addr: any,
            otlp_http_addr: any,
            max_db_size: 512_000_000,
            max_request_size: 16 << 20,
            cors_allowed_origins: Vec::new(),
            max_series_per_metric: 10_000,
            max_queued_items: 200_000,
            indexed_attributes: crate::store::sqlite::writer::default_indexed_attributes(),
            max_age: MaxAge::default(),
            ui_token: None,
            ingest_token: None,
            exposed: Vec::new(),
            tls: None,
            clickhouse: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn defaults_match_the_documented_ones() {
        let cli = Cli::try_parse_from(["sightline"]).unwrap();
        let c = cli.serve.into_config().unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./sightline-data"));
        assert_eq!(c.ui_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.otlp_grpc_addr.to_string(), "127.0.0.1:4317");
        assert_eq!(c.otlp_http_addr.to_string(), "127.0.0.1:4318");
        assert_eq!(c.max_db_size, 512_000_000);
    }

    #[test]
    fn backup_is_a_subcommand_and_serving_stays_the_default() {
        let cli = Cli::try_parse_from(["sightline", "backup", "--out", "b.db"]).unwrap();
        match cli.command {
            Some(Command::Backup(args)) => {
                assert_eq!(args.out, PathBuf::from("b.db"));
                assert!(!args.force);
            }
            None => panic!("backup not parsed"),
        }
        assert!(Cli::try_parse_from(["sightline", "backup"]).is_err());
        let serve = Cli::try_parse_from(["sightline", "--data-dir", "d"]).unwrap();
        assert!(serve.command.is_none());
    }

    #[test]
    fn human_sizes_parse() {
        let cli = Cli::try_parse_from(["sightline", "--max-db-size", "2GiB"]).unwrap();
        assert_eq!(
            cli.serve.into_config().unwrap().max_db_size,
            2 * 1024 * 1024 * 1024
        );
        assert!(Cli::try_parse_from(["sightline", "--max-db-size", "lots"]).is_err());
        let tiny = Cli::try_parse_from(["sightline", "--max-db-size", "10KB"]).unwrap();
        assert!(tiny.serve.into_config().is_err());
    }

    #[test]
    fn help_documents_every_flag_and_env_var() {
        let help = Cli::command().render_long_help().to_string();
        for flag in [
            "--data-dir",
            "--ui-addr",
            "--otlp-grpc-addr",
            "--otlp-http-addr",
            "--max-db-size",
            "--ui-token",
            "--ui-token-file",
            "--ingest-token",
            "--ingest-token-file",
            "--allow-insecure",
            "--tls-cert",
            "--tls-key",
            "--clickhouse-url",
            "--clickhouse-database",
            "--clickhouse-user",
            "--clickhouse-password-file",
            "--clickhouse-cluster",
            "--clickhouse-no-create-tables",
            "--clickhouse-timeout",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
        for var in [
            "SIGHTLINE_DATA_DIR",
            "SIGHTLINE_UI_TOKEN",
            "SIGHTLINE_UI_TOKEN_FILE",
            "SIGHTLINE_INGEST_TOKEN",
            "SIGHTLINE_INGEST_TOKEN_FILE",
            "SIGHTLINE_ALLOW_INSECURE",
            "SIGHTLINE_TLS_CERT",
            "SIGHTLINE_TLS_KEY",
            "SIGHTLINE_CLICKHOUSE_URL",
            "SIGHTLINE_CLICKHOUSE_USER",
            "SIGHTLINE_CLICKHOUSE_PASSWORD",
        ] {
            assert!(help.contains(var), "{var} missing from --help");
        }
    }

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        let mut all = vec!["sightline"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap().serve.into_config()
    }

    #[test]
    fn non_loopback_listeners_need_their_token_or_allow_insecure() {
        assert!(config(&[]).unwrap().exposed.is_empty());
        let e = config(&["--ui-addr", "0.0.0.0:8080"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--ui-token") && e.contains("--allow-insecure"),
            "{e}"
        );
        let c = config(&["--ui-addr", "0.0.0.0:8080", "--ui-token", "t0k"]).unwrap();
        assert!(c.exposed.is_empty() && c.ui_token.is_some());
        let e = config(&["--otlp-grpc-addr", "[::]:4317", "--ui-token", "t"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--ingest-token"), "{e}");
        let c = config(&["--otlp-http-addr", "0.0.0.0:4318", "--allow-insecure"]).unwrap();
        assert_eq!(c.exposed.len(), 1);
        assert_eq!(c.exposed[0].addr_flag, "--otlp-http-addr");
    }

    #[test]
    fn token_flags_and_files_are_exclusive_and_checked() {
        assert!(
            Cli::try_parse_from(["sightline", "--ui-token", "a", "--ui-token-file", "/x"]).is_err()
        );
        let e = config(&["--ingest-token-file", "/nonexistent/token"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--ingest-token-file"), "{e}");
        assert!(config(&["--ui-token", "has space"]).is_err());
    }

    #[test]
    fn clickhouse_flags_become_its_configuration() {
        assert!(config(&[]).unwrap().clickhouse.is_none());
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let c = config(&[
            "--clickhouse-url",
            "https://ch.example:8443",
            "--clickhouse-user",
            "ingest",
            "--clickhouse-password-file",
            pw.to_str().unwrap(),
            "--clickhouse-cluster",
            "prod",
            "--clickhouse-no-create-tables",
            "--max-age-logs",
            "3d",
        ])
        .unwrap()
        .clickhouse
        .unwrap();
        assert_eq!(c.url, "https://ch.example:8443");
        assert_eq!(c.database, "otel");
        assert_eq!(c.user.as_deref(), Some("ingest"));
        assert_eq!(c.password.as_deref(), Some("s3cret"));
        assert_eq!(c.cluster.as_deref(), Some("prod"));
        assert!(!c.create_tables);
        assert_eq!(c.ttl_logs, Some(Duration::from_secs(3 * 86_400)));
        assert_eq!(c.ttl_spans, None);
        let e = config(&["--clickhouse-url", "ch:8123"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--clickhouse-url"), "{e}");
        let e = config(&[
            "--clickhouse-url",
            "http://ch:8123",
            "--clickhouse-password-file",
            "/nonexistent/pw",
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("--clickhouse-password-file"), "{e}");
    }

    #[test]
    fn tls_needs_both_files() {
        assert!(Cli::try_parse_from(["sightline", "--tls-cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["sightline", "--tls-key", "k.pem"]).is_err());
        let e = config(&[
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("--tls-cert"), "{e}");
    }
}
