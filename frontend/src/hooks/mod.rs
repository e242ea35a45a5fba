//! Hooks shared by the pages.

pub mod use_list;
pub mod use_poll;
