//! Immutable compressed blocks of spans and logs, and the byte-level codec
//! they share.

pub mod bloom;
pub mod codec;
pub mod logs;
pub mod spans;
