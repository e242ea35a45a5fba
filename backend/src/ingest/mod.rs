//! OTLP receivers: gRPC and HTTP (protobuf and JSON). Only this module knows
//! the wire types; it decodes requests into the shared model and hands them
//! to the store's writer.

pub mod decode;
pub mod grpc;
pub mod http;
pub mod json;
pub mod stats;
#[cfg(test)]
mod workload;

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::store::contract::{TelemetryStore, WriteBatch, WriteError};
pub use stats::{CellSnapshot, IngestStats, Signal, Transport};

/// What an accepted request reports back (OTLP partial success).
#[derive(Debug, Default, PartialEq)]
pub struct Accepted {
    pub rejected: u64,
    pub message: String,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The request is malformed; retrying it will not help.
    #[error("{0}")]
    Invalid(String),
    /// The server is overloaded or shutting down; retry later.
    #[error("{0}")]
    Unavailable(String),
}

/// Decodes requests and waits for the writer's commit.
#[derive(Clone)]
pub struct Ingestor {
    store: Arc<dyn TelemetryStore>,
    stats: Arc<IngestStats>,
}

impl Ingestor {
    pub fn new(store: Arc<dyn TelemetryStore>, stats: Arc<IngestStats>) -> Self {
        Self { store, stats }
    }

    /// Per-signal, per-transport counters.
    pub fn stats(&self) -> &Arc<IngestStats> {
        &self.stats
    }

    /// Items waiting for the writer.
    pub fn queued_items(&self) -> u64 {
        self.store.queued_items()
    }

    async fn store<T>(
        &self,
        signal: Signal,
        transport: Transport,
        decoded: Result<decode::Decoded<T>, decode::DecodeError>,
        wrap: impl FnOnce(Vec<T>) -> WriteBatch,
    ) -> Result<Accepted, IngestError> {
        let decoded = match decoded {
            Ok(d) => d,
            Err(e) => {
                self.stats.request_rejected(signal, transport);
                return Err(IngestError::Invalid(e.to_string()));
            }
        };
        let dropped = decoded.rejected;
        let mut message = decoded.reason.unwrap_or_default();
        let batch = wrap(decoded.batch);
        if batch.item_count() == 0 {
            self.stats.add(signal, transport, 0, dropped);
            return Ok(Accepted {
                rejected: dropped,
                message,
            });
        }
        let written = match self.store.submit(batch) {
            Ok(pending) => pending.await.unwrap_or(Err(WriteError::Closed)),
            Err(e) => Err(e),
        };
        match written {
            Ok(outcome) => {
                let rejected = dropped + outcome.rejected;
                if message.is_empty() {
                    message = outcome.reason.unwrap_or_default();
                }
                self.stats
                    .add(signal, transport, outcome.accepted, rejected);
                Ok(Accepted { rejected, message })
            }
            Err(
                e @ (WriteError::QueueFull { .. } | WriteError::Closed | WriteError::Failed(_)),
            ) => {
                self.stats.unavailable(signal, transport);
                Err(IngestError::Unavailable(e.to_string()))
            }
        }
    }

    /// Stores a trace export request.
    pub async fn traces(
        &self,
        req: ExportTraceServiceRequest,
        transport: Transport,
    ) -> Result<Accepted, IngestError> {
        self.store(
            Signal::Traces,
            transport,
            decode::traces(req),
            WriteBatch::Spans,
        )
        .await
    }

    /// Stores a logs export request.
    pub async fn logs(
        &self,
        req: ExportLogsServiceRequest,
        transport: Transport,
    ) -> Result<Accepted, IngestError> {
        self.store(Signal::Logs, transport, decode::logs(req), WriteBatch::Logs)
            .await
    }

    /// Stores a metrics export request.
    pub async fn metrics(
        &self,
        req: ExportMetricsServiceRequest,
        transport: Transport,
    ) -> Result<Accepted, IngestError> {
        self.store(
            Signal::Metrics,
            transport,
            decode::metrics(req),
            WriteBatch::Metrics,
        )
        .await
    }
}
