//! Components: pure functions of their props that draw one thing.

pub mod empty_state;
pub mod footer;
