//! The `sightline` binary: parses flags, sets up logging, runs the server
//! until SIGINT/SIGTERM.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use sightline::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

/// jemalloc rather than glibc malloc: decoded requests are allocated on the
/// receiver threads and freed on the writer, a pattern glibc serves with
/// arena locking and consolidation (a sixth of the writer's time).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();

    if let Some(Command::Backup(args)) = cli.command {
        let db = args.data_dir.join(sightline::datadir::DataDir::DB_FILE);
        let report = sightline::backup::backup(&db, &args.out, args.force)?;
        println!(
            "backed up {} to {} ({} bytes in {:.1?})",
            db.display(),
            args.out.display(),
            report.bytes,
            report.elapsed
        );
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let config = cli.serve.into_config().context("invalid flags")?;
        sightline::server::run(config, sightline::shutdown::signal()).await?;
        anyhow::Ok(())
    })
}
