//! Storage: the contract every engine meets ([`contract`]), the suite that
//! checks it, and what engines share (page cursors, [`StoreError`]). The
//! embedded engine is [`sqlite`]: one SQLite database file in the data
//! directory; [`clickhouse`] stores in a ClickHouse server, in the
//! OpenTelemetry Collector's tables. Only this module writes SQL.

pub mod clickhouse;
pub mod contract;
pub mod cursor;
pub mod duration_hist;
pub mod metric_plan;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod suite;
#[cfg(test)]
pub(crate) mod suite_fidelity;
#[cfg(test)]
pub(crate) mod suite_queries;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration {name} failed: {source}")]
    Migration {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the database has schema version {found}, newer than this binary knows ({known}); upgrade sightline"
    )]
    SchemaTooNew { found: u32, known: u32 },
    #[error("stored item {0} is corrupt: {1}")]
    Corrupt(i64, String),
    #[error("cannot encode a block: {0}")]
    Encode(String),
    /// ClickHouse refused or failed a statement.
    #[error("ClickHouse: {0}")]
    ClickHouse(String),
    /// ClickHouse cannot be reached or did not answer in time: the API
    /// answers 503 and ingest asks the sender to retry.
    #[error("{0}")]
    Unavailable(String),
    /// The tables found are of a shape this binary cannot read.
    #[error("{0}")]
    UnsupportedSchema(String),
    #[error("i/o on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}
