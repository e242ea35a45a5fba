//! Trace-view layout: the waterfall rows, the critical path and the per-trace service map.
//!
//! These are pure functions of one trace's spans so that the dashboard's components only
//! draw, and every rule (ordering, bad-data handling, hiding, coordinates) is tested natively.
//! Bad data is expected here — partial traces, clock skew, buggy exporters — and never
//! panics or silently loses a span.

pub mod critical_path;
pub mod service_map;
pub mod waterfall;

pub use critical_path::critical_path;
pub use service_map::{MapLayout, ServiceMap, layout_map, service_map};
pub use waterfall::{
    LayoutOptions, Row, RowKind, SpanNode, TraceTree, TreeIssues, build_tree, is_noise, layout,
    parent_row, row_of, search,
};
