//! What the writer thread receives through its queue: write requests from
//! ingest and finished work from the compactor. Both threads import these
//! types, so the writer and the compactor do not import each other.

use tokio::sync::oneshot;

use super::blocks::bloom::BloomBuilder;
use super::compaction::Prepared;
use super::metrics::rollups::PreparedBackfill;
use super::metrics::sealing::PreparedSeal;
use crate::store::contract::{WriteBatch, WriteError, WriteOutcome};

/// A write request from ingest.
pub struct WriteJob {
    pub batch: WriteBatch,
    pub items: u64,
    /// The batch's block filter entries, computed by the submitting thread.
    pub filter: Option<BloomBuilder>,
    pub reply: oneshot::Sender<Result<WriteOutcome, WriteError>>,
}

/// What the writer thread receives.
pub enum Job {
    Write(WriteJob),
    /// Finished compaction or sealing work from the compactor thread.
    Apply(ApplyJob),
}

/// Work the compactor hands to the writer.
pub enum Apply {
    Merge(Prepared),
    /// Seals of several series, applied one after another (one trip
    /// through the writer's queue for all of them).
    Seals(Vec<PreparedSeal>),
    Backfill(PreparedBackfill),
}

/// A piece of work and where to say it was applied.
pub struct ApplyJob {
    pub work: Apply,
    pub done: oneshot::Sender<()>,
}
