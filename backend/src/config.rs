//! Command-line flags (each with a `SIGHTLINE_…` environment variable) and
//! the validated configuration the server runs with.

use std::net::SocketAddr;
use std::path::PathBuf;

use bytesize::ByteSize;
use clap::{Args, Parser};

/// Command line of the `sightline` binary.
#[derive(Debug, Parser)]
#[command(
    name = "sightline",
    version,
    about = "One-box OpenTelemetry backend: OTLP in, a compressed SQLite store, a query API and a dashboard.",
    long_about = None
)]
pub struct Cli {
    #[command(flatten)]
    pub serve: ServeArgs,
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
}

/// Why the flags cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--max-db-size must be at least 1MB, got {0}")]
    DbSizeTooSmall(ByteSize),
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub ui_addr: SocketAddr,
    pub otlp_grpc_addr: SocketAddr,
    pub otlp_http_addr: SocketAddr,
    pub max_db_size: u64,
}

impl ServeArgs {
    /// Checks the flags and turns them into a [`Config`].
    pub fn into_config(self) -> Result<Config, ConfigError> {
        if self.max_db_size.as_u64() < 1_000_000 {
            return Err(ConfigError::DbSizeTooSmall(self.max_db_size));
        }
        Ok(Config {
            data_dir: self.data_dir,
            ui_addr: self.ui_addr,
            otlp_grpc_addr: self.otlp_grpc_addr,
            otlp_http_addr: self.otlp_http_addr,
            max_db_size: self.max_db_size.as_u64(),
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
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
        assert!(help.contains("SIGHTLINE_DATA_DIR"));
    }
}
