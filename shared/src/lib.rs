//! The telemetry model and the query API's request/response types.
//!
//! This crate is compiled twice: natively into the backend and to wasm32 into
//! the dashboard, so both sides agree on every JSON shape by construction. It
//! therefore depends on nothing that only runs on a server (no tokio, axum,
//! tonic or rusqlite).

pub mod api;
pub mod ids;
pub mod layout;
pub mod logs;
pub mod metrics;
pub mod otlp_export;
pub mod query;
pub mod time;
pub mod trace;
pub mod value;

pub use ids::{IdBuildHasher, IdError, IdHasher, SpanId, TraceId, TraceIdPrefix, TraceIdRef};
pub use time::UnixNanos;
pub use value::{AnyValue, KeyValue};
