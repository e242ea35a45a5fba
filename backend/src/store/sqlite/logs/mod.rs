//! Logs in the SQLite engine: writing them with their index rows, and log
//! search.

pub mod ingest;
pub mod search;
