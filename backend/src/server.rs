//! Wires the pieces together: data directory, database, the single writer,
//! the three listeners (dashboard + API, OTLP/gRPC, OTLP/HTTP; TLS on all
//! three or none), their token checks, routes, and an orderly shutdown that
//! drains in-flight requests before closing the database.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, ApiState, Storage};
use crate::config::Config;
use crate::datadir::{DataDir, DataDirError};
use crate::ingest::{self, IngestStats, Ingestor};
use crate::security::exposure::is_loopback;
use crate::security::tls::{HANDSHAKE_TIMEOUT, TlsListener};
use crate::security::ui_auth::UiAuth;
use crate::security::{self, tls::TlsIdentity};
use crate::store::clickhouse::ClickHouseStore;
use crate::store::contract::TelemetryStore;
use crate::store::sqlite::SqliteStore;
use crate::store::sqlite::maintenance::{Maintenance, StoreCounters};
use crate::store::sqlite::search::SearchContext;
use crate::store::sqlite::writer::{self, WriterConfig, WriterHandle};
use crate::store::{self, StoreError};
use crate::ui;

/// HTTP/2 flow-control window per gRPC stream: a 500-span export fits.
const GRPC_STREAM_WINDOW: u32 = 1 << 20;
/// …and per connection, for a few exports in flight on one channel.
const GRPC_CONNECTION_WINDOW: u32 = 4 << 20;

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
    #[error("cannot start the writer thread: {0}")]
    Writer(#[source] std::io::Error),
    #[error("{what} server failed: {source}")]
    Serve {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("OTLP/gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// The embedded engine's running parts: the locked data directory and the
/// writer thread that owns the database's write side.
struct Embedded {
    data_dir: DataDir,
    writer: WriterHandle,
    writer_thread: writer::WriterThreads,
}

/// The storage engine the server runs on.
enum Engine {
    Embedded(Embedded),
    ClickHouse(ClickHouseStore),
}

/// A server whose listeners are bound but not yet serving.
pub struct Server {
    config: Config,
    engine: Engine,
    counters: Arc<StoreCounters>,
    ui: TcpListener,
    grpc: TcpListener,
    http: TcpListener,
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { what, addr, source })
}

impl Server {
    /// Opens the store (the data directory's database with its writer, or
    /// ClickHouse) and binds the listeners.
    pub async fn bind(config: &Config) -> Result<Self, ServerError> {
        let counters = Arc::new(StoreCounters::default());
        let engine = match &config.clickhouse {
            Some(ch) => Engine::ClickHouse(
                ClickHouseStore::connect(ch.clone(), config.max_queued_items).await?,
            ),
            None => Engine::Embedded(open_embedded(config, counters.clone())?),
        };
        let ui = bind("dashboard and API", config.ui_addr).await?;
        let grpc = bind("OTLP/gRPC", config.otlp_grpc_addr).await?;
        let http = bind("OTLP/HTTP", config.otlp_http_addr).await?;
        Ok(Self {
            config: config.clone(),
            engine,
            counters,
            ui,
            grpc,
            http,
        })
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
        let Server {
            config,
            engine,
            counters,
            ui,
            grpc,
            http,
        } = self;
        let stats = Arc::new(IngestStats::default());
        let (store, storage): (Arc<dyn TelemetryStore>, Storage) = match &engine {
            Engine::Embedded(e) => (
                Arc::new(SqliteStore::new(
                    e.writer.clone(),
                    e.data_dir.db_path(),
                    SearchContext {
                        indexed: Arc::new(config.indexed_attributes.clone()),
                    },
                )),
                Storage::Sqlite {
                    data_dir: e.data_dir.path().to_owned(),
                    db_path: e.data_dir.db_path(),
                    max_db_size: config.max_db_size,
                },
            ),
            Engine::ClickHouse(ch) => (
                Arc::new(ch.clone()),
                Storage::ClickHouse {
                    location: ch.location(),
                },
            ),
        };
        let ingestor = Ingestor::new(store.clone(), stats.clone());
        let state = ApiState::new(storage.clone(), store.clone(), ingestor.clone(), counters)
            .with_otlp_ports(
                http.local_addr().ok().map(|a| a.port()),
                grpc.local_addr().ok().map(|a| a.port()),
            )
            .with_login_required(config.ui_token.is_some());
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = move |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        warn_about_exposure(&config);
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(
            ui = %format!("{scheme}://{}", addr(&ui)),
            otlp_grpc = %addr(&grpc),
            otlp_http = %format!("{scheme}://{}", addr(&http)),
            tls = config.tls.is_some(),
            ui_token = config.ui_token.is_some(),
            ingest_token = config.ingest_token.is_some(),
            storage = storage.engine(),
            location = %storage.location(),
            max_db_size = config.max_db_size,
            "sightline {} listening",
            env!("CARGO_PKG_VERSION"),
        );
        let ui_app = app(
            state,
            UiAuth::new(config.ui_token.clone(), config.tls.is_some()),
        );
        let ui_server = serve_http(ui, config.tls.as_ref(), ui_app, stopped(stop_rx.clone()));
        let http_app = ingest::http::router(
            ingestor.clone(),
            &ingest::http::HttpConfig {
                max_request_size: config.max_request_size,
                cors_allowed_origins: config.cors_allowed_origins.clone(),
                token: config.ingest_token.clone(),
            },
        );
        let http_server = serve_http(
            http,
            config.tls.as_ref(),
            http_app,
            stopped(stop_rx.clone()),
        );
        // HTTP/2's default 64 KiB windows make an exporter wait for a
        // WINDOW_UPDATE round trip every 64 KiB of a request, and a
        // 500-span export is ~225 KB: windows the size of a typical batch
        // let it arrive in one go (memory is bounded by the request size
        // limit and the write queue as before).
        let mut grpc_builder = tonic::transport::Server::builder()
            .initial_stream_window_size(Some(GRPC_STREAM_WINDOW))
            .initial_connection_window_size(Some(GRPC_CONNECTION_WINDOW));
        if let Some(tls) = &config.tls {
            grpc_builder = grpc_builder.tls_config(
                tonic::transport::ServerTlsConfig::new()
                    .identity(tonic::transport::Identity::from_pem(
                        tls.cert_pem(),
                        tls.key_pem(),
                    ))
                    .timeout(HANDSHAKE_TIMEOUT),
            )?;
        }
        let grpc_server = grpc_builder
            .layer(tower::util::MapResponseLayer::new(
                ingest::grpc::decode_errors_are_invalid_argument,
            ))
            .layer(ingest::grpc::require_token(config.ingest_token.clone()))
            .add_routes(ingest::grpc::routes(
                ingestor.clone(),
                config.max_request_size,
            ))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(grpc),
                stopped(stop_rx.clone()),
            );
        let signal = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let (_, ui_res, http_res, grpc_res) =
            tokio::join!(signal, ui_server, http_server, grpc_server);
        ui_res.map_err(|source| ServerError::Serve {
            what: "dashboard",
            source,
        })?;
        http_res.map_err(|source| ServerError::Serve {
            what: "OTLP/HTTP",
            source,
        })?;
        grpc_res?;
        // Every request is answered; let the writer finish and close.
        drop(ingestor);
        drop(store);
        if let Engine::Embedded(e) = engine {
            close_embedded(e).await;
        }
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// Locks the data directory, opens and migrates the database and starts
/// the writer.
fn open_embedded(config: &Config, counters: Arc<StoreCounters>) -> Result<Embedded, ServerError> {
    let data_dir = DataDir::open(&config.data_dir)?;
    let mut db = store::sqlite::connection::open_writer(&data_dir.db_path())?;
    let applied = store::sqlite::migrate::apply(&mut db)?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database schema migrated");
    }
    let (writer, writer_thread) = writer::spawn(
        db,
        data_dir.db_path(),
        WriterConfig {
            max_queued_items: config.max_queued_items,
            indexed_attributes: config.indexed_attributes.clone(),
            max_series_per_metric: config.max_series_per_metric,
            max_block_bytes: config.max_db_size / 20,
        },
        Maintenance::new(config.max_db_size, counters).with_max_age(config.max_age),
    )
    .map_err(ServerError::Writer)?;
    Ok(Embedded {
        data_dir,
        writer,
        writer_thread,
    })
}

/// Lets the writer finish what is queued, then closes the database and
/// releases the data directory.
async fn close_embedded(e: Embedded) {
    let Embedded {
        data_dir,
        writer,
        writer_thread,
    } = e;
    drop(writer);
    match tokio::task::spawn_blocking(move || writer_thread.join()).await {
        Ok(Some(conn)) => {
            // Closing the last connection checkpoints the WAL and removes it.
            if let Err((_, e)) = conn.close() {
                tracing::warn!(error = %e, "closing the database");
            }
        }
        _ => tracing::error!("the writer thread panicked"),
    }
    drop(data_dir);
}

fn addr(l: &TcpListener) -> String {
    l.local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Serves `app` on `listener`, over TLS when `tls` is set, until `stop`.
async fn serve_http(
    listener: TcpListener,
    tls: Option<&TlsIdentity>,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        Some(tls) => {
            let listener = TlsListener::new(listener, tls.acceptor())?;
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
        }
    }
}

/// Says at start-up what other machines can reach without a token
/// (allowed by `--allow-insecure`), and where tokens would cross the
/// network in clear text.
fn warn_about_exposure(config: &Config) {
    for e in &config.exposed {
        tracing::warn!(
            addr = %e.addr,
            "--allow-insecure: {} {} has no token ({} is not set): {}",
            e.addr_flag,
            e.addr,
            e.token_flag,
            e.consequence
        );
    }
    if config.tls.is_none() {
        let remote_ui = config.ui_token.is_some() && !is_loopback(&config.ui_addr);
        let remote_otlp = config.ingest_token.is_some()
            && !(is_loopback(&config.otlp_grpc_addr) && is_loopback(&config.otlp_http_addr));
        if remote_ui || remote_otlp {
            tracing::warn!(
                "tokens and telemetry cross the network in clear text: \
                 set --tls-cert and --tls-key (or put a TLS proxy in front)"
            );
        }
    }
}

/// The whole HTTP application of the UI listener: API routes, then the
/// SPA, all behind the UI token (when set) and with security headers.
/// Routes added to `routes` here are protected too.
pub fn app(state: ApiState, auth: UiAuth) -> Router {
    let routes = api::router(state).fallback(ui::serve);
    security::protect_ui(routes, auth)
}

/// Binds everything from `config` and serves until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    Server::bind(&config).await?.serve(shutdown).await
}
