//! Storage: one SQLite database file in the data directory. Only this module
//! writes SQL.

pub mod chunk;
pub mod connection;
pub mod migrate;

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
    #[error("i/o on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}
