//! The connection to ClickHouse: the official `clickhouse` crate over HTTP
//! (RowBinary), a deadline on every call, and its failures sorted into
//! "unreachable" (the API answers 503, ingest asks to retry) and the rest.

use std::time::Duration;

use clickhouse::Client;
use clickhouse::query::Query;
use clickhouse::{RowOwned, RowRead};

use super::super::StoreError;

/// Where and how to reach ClickHouse. `Debug` leaves the password out.
#[derive(Clone)]
pub struct ClickHouseConfig {
    /// `http://host:8123` or `https://…`.
    pub url: String,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// `ON CLUSTER` name: tables are created replicated, with `Distributed`
    /// tables in front.
    pub cluster: Option<String>,
    /// Create missing tables at start-up.
    pub create_tables: bool,
    /// Longest a query or insert may take before it fails.
    pub timeout: Duration,
    /// Retention per signal, as a table `TTL`; `None` keeps data.
    pub ttl_spans: Option<Duration>,
    pub ttl_logs: Option<Duration>,
    pub ttl_metrics: Option<Duration>,
}

impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("cluster", &self.cluster)
            .field("create_tables", &self.create_tables)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClickHouseConfig {
    /// A configuration with the defaults of every optional setting.
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            database: database.into(),
            user: None,
            password: None,
            cluster: None,
            create_tables: true,
            timeout: Duration::from_secs(30),
            ttl_spans: None,
            ttl_logs: None,
            ttl_metrics: None,
        }
    }
}

/// A cloneable handle on the database; every statement goes through it.
#[derive(Clone)]
pub struct Ch {
    client: Client,
    /// The same connection without a current database, for creating it.
    server: Client,
    timeout: Duration,
}

impl Ch {
    /// A client for `config` (no connection is made yet). Fails when the
    /// system has no TLS root certificates at all: the client loads them up
    /// front, for `https://` URLs.
    pub fn new(config: &ClickHouseConfig) -> Result<Self, StoreError> {
        let base = std::panic::catch_unwind(Client::default).map_err(|_| {
            StoreError::ClickHouse(
                "no TLS root certificates found on this system (install ca-certificates, \
                 or set SSL_CERT_FILE)"
                    .into(),
            )
        })?;
        let mut server = base
            .with_url(config.url.trim_end_matches('/'))
            // Acknowledge an insert only once ClickHouse has written it:
            // a synchronous insert answers after its part is on disk.
            .with_setting("async_insert", "0")
            .with_setting(
                "max_execution_time",
                config.timeout.as_secs().max(1).to_string(),
            );
        if let Some(user) = &config.user {
            server = server.with_user(user);
        }
        if let Some(password) = &config.password {
            server = server.with_password(password);
        }
        Ok(Self {
            client: server.clone().with_database(&config.database),
            server,
            timeout: config.timeout,
        })
    }

    /// A statement sent as written: values go in `{name:Type}`
    /// placeholders bound with [`Query::param`], never into the text.
    pub fn sql(&self, sql: &str) -> Query {
        self.client.query_raw(sql)
    }

    /// A statement run without a current database (`CREATE DATABASE`).
    pub fn server_sql(&self, sql: &str) -> Query {
        self.server.query_raw(sql)
    }

    /// The underlying client (inserts).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every row of `query`.
    pub async fn rows<T>(&self, query: Query) -> Result<Vec<T>, StoreError>
    where
        T: RowOwned + RowRead,
    {
        self.deadline(query.fetch_all::<T>()).await
    }

    /// Runs a statement that returns nothing (DDL, `OPTIMIZE`).
    pub async fn run(&self, query: Query) -> Result<(), StoreError> {
        self.deadline(query.execute()).await
    }

    /// Runs `f` under the configured deadline, mapping its failure.
    pub async fn deadline<T>(
        &self,
        f: impl Future<Output = clickhouse::error::Result<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r.map_err(map_error),
            Err(_) => Err(StoreError::Unavailable(format!(
                "ClickHouse did not answer within {:?}",
                self.timeout
            ))),
        }
    }
}

/// Transport failures mean "ClickHouse is unreachable"; everything else is
/// a failed statement.
pub fn map_error(e: clickhouse::error::Error) -> StoreError {
    use clickhouse::error::Error as E;
    match e {
        E::Network(_) | E::TimedOut => {
            StoreError::Unavailable(format!("ClickHouse is unreachable: {e}"))
        }
        other => StoreError::ClickHouse(other.to_string()),
    }
}
