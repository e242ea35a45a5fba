//! What an engine keeps of what it is given, for the storage suite.

#![cfg(test)]

use shared::logs::LogRecord;
use shared::metrics::NumberPoint;
use shared::trace::{Resource, Span};

/// What an engine keeps of what it is given. The suite compares what comes
/// back with what was written *as the engine is documented to keep it*:
/// each engine states its differences here, in code, instead of the checks
/// being weakened for every engine.
pub trait Fidelity {
    fn span(&self, s: Span) -> Span {
        s
    }
    fn resource(&self, r: Resource) -> Resource {
        r
    }
    fn log(&self, r: LogRecord) -> LogRecord {
        r
    }
    fn number_point(&self, p: NumberPoint) -> NumberPoint {
        p
    }
}

/// An engine that gives back exactly what it was given (the embedded one).
pub struct Lossless;

impl Fidelity for Lossless {}
