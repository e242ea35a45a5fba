//! Pages: one per view; each fetches and owns its state.

pub mod about;
pub mod home;
pub mod logs;
pub mod metrics;
pub mod services;
pub mod spans;
pub mod start;
pub mod trace;
pub mod traces;
