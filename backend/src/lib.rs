//! Sightline's server: OTLP ingest, storage, query API and the embedded
//! dashboard. `main.rs` is a thin shell around [`server::run`].

pub mod api;
pub mod backup;
pub mod config;
pub mod datadir;
pub mod fuzz_entry;
pub mod ingest;
pub mod security;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod ui;
