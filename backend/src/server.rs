//! Wires the pieces together: data directory, database, listeners, routes,
//! and an orderly shutdown.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::datadir::{DataDir, DataDirError};
use crate::store::{self, StoreError};
use crate::ui;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} server failed: {source}")]
    Serve {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// A server whose listeners are bound but not yet serving.
pub struct Server {
    data_dir: DataDir,
    db: rusqlite::Connection,
    ui: TcpListener,
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { what, addr, source })
}

impl Server {
    /// Locks the data directory, opens and migrates the database, binds the
    /// listeners.
    pub async fn bind(config: &Config) -> Result<Self, ServerError> {
        let data_dir = DataDir::open(&config.data_dir)?;
        let mut db = store::connection::open_writer(&data_dir.db_path())?;
        let applied = store::migrate::apply(&mut db)?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database schema migrated");
        }
        let ui = bind("dashboard and API", config.ui_addr).await?;
        Ok(Self { data_dir, db, ui })
    }

    /// The bound address of the dashboard and API.
    pub fn ui_addr(&self) -> Option<SocketAddr> {
        self.ui.local_addr().ok()
    }

    /// Serves until `shutdown` resolves, then drains and closes the database.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let Server { data_dir, db, ui } = self;
        let state = ApiState::new(data_dir.path().to_owned(), data_dir.db_path());
        let app = app(state);
        tracing::info!(
            ui = %format_addr(ui.local_addr().ok()),
            data_dir = %data_dir.path().display(),
            "sightline {} listening",
            env!("CARGO_PKG_VERSION"),
        );
        axum::serve(ui, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| ServerError::Serve {
                what: "dashboard",
                source,
            })?;
        // Closing the last connection checkpoints the WAL and removes it.
        if let Err((_, e)) = db.close() {
            tracing::warn!(error = %e, "closing the database");
        }
        drop(data_dir);
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

fn format_addr(addr: Option<SocketAddr>) -> String {
    addr.map(|a| format!("http://{a}"))
        .unwrap_or_else(|| "?".into())
}

/// The whole HTTP application of the UI listener: API routes, then the SPA.
pub fn app(state: ApiState) -> Router {
    api::router(state).fallback(ui::serve)
}

/// Binds everything from `config` and serves until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    Server::bind(&config).await?.serve(shutdown).await
}
