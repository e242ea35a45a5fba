//! Spans in the SQLite engine: writing them with their index rows, a
//! trace's detail, trace and span search, the service catalog (per service × minute counts and
//! duration histograms) and the service map.

pub mod ingest;
pub mod service_map;
pub mod service_minutes;
pub mod span_search;
pub mod trace_detail;
pub mod trace_search;
