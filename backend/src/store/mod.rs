//! Storage: one SQLite database file in the data directory. Only this module
//! writes SQL.

/// The `WHERE` condition that finds a trace's summary row by its id,
/// bound as `?1`. The `traces_by_id` index covers the id's last 8 bytes
/// (migration 0005), so the condition names that expression for SQLite to
/// use the index, then compares the whole id.
macro_rules! trace_by_id {
    () => {
        "substr(trace_id, 9) = substr(?1, 9) AND trace_id = ?1"
    };
}

pub mod blocks;
pub mod chunk;
pub mod clickhouse;
pub mod compaction;
pub mod compactor;
pub mod connection;
pub mod contract;
pub mod duration_hist;
pub mod exp_buckets;
pub mod ingest_logs;
pub mod ingest_metrics;
pub mod ingest_spans;
pub mod maintenance;
pub mod metric_chunks;
pub mod metric_plan;
pub mod metric_query;
pub mod metric_read;
pub mod migrate;
pub mod point_codec;
pub mod read;
pub mod reclaim;
pub mod rollup_codec;
pub mod rollup_math;
pub mod rollups;
pub mod sealing;
pub mod search;
pub mod service_map;
pub mod service_minutes;
pub mod strings;
mod suite;
mod suite_queries;
pub mod varlist;
pub mod writer;

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
