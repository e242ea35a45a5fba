//! Components: pure functions of their props that draw one thing.

pub mod attributes;
pub mod chart;
pub mod copy_button;
pub mod filters;
pub mod footer;
pub mod log_table;
pub mod refresh_status;
pub mod service_map;
pub mod span_panel;
pub mod status;
pub mod text_filter;
pub mod time_range;
pub mod waterfall;
