//! The compactor thread: does the CPU-heavy part of compaction and metric
//! sealing (decoding, re-encoding, zstd) on a read-only connection, beside
//! the writer, and hands each finished piece to the writer to apply in one
//! short transaction. Ingest keeps the writer to itself meanwhile. It also
//! rolls up series sealed before rollups existed (`metrics::rollups`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use tokio::sync::oneshot;

use super::blocks::bloom::IndexedKeys;
use super::compaction;
use super::connection;
use super::jobs::{Apply, ApplyJob, Job};
use super::metrics::rollups;
use super::metrics::sealing::{self, HeadCounts};
use crate::store::StoreError;

/// Pause between rounds that found nothing to do.
const IDLE: Duration = Duration::from_secs(1);

/// The store settings merges follow.
pub struct MergeSettings {
    /// Largest block a merge may write.
    pub max_block_bytes: i64,
    /// Attribute keys whose `key=value` pairs go into block filters.
    pub indexed: IndexedKeys,
}

/// Runs until `stop` receives (or its sender is dropped).
pub fn run(
    db_path: PathBuf,
    mut settings: MergeSettings,
    head: HeadCounts,
    to_writer: SyncSender<Job>,
    stop: Receiver<()>,
) {
    let conn = match connection::open_reader(&db_path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "compactor cannot open the database; blocks will stay small");
            return;
        }
    };
    let mut backfills = HashMap::new();
    loop {
        let worked = match round(
            &conn,
            &mut settings,
            &head,
            &to_writer,
            &stop,
            &mut backfills,
        ) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "compaction round failed");
                false
            }
        };
        let wait = if worked { Duration::ZERO } else { IDLE };
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

fn send(to_writer: &SyncSender<Job>, work: Apply) -> bool {
    let (done, wait) = oneshot::channel();
    if to_writer.send(Job::Apply(ApplyJob { work, done })).is_err() {
        return false;
    }
    // Wait for the writer so the next round sees the result.
    wait.blocking_recv().is_ok()
}

fn stopping(stop: &Receiver<()>) -> bool {
    !matches!(stop.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty))
}

/// Most seals handed to the writer at once…
const SEALS_PER_JOB: usize = 64;
/// …and most points in them.
const POINTS_PER_JOB: u32 = 32_768;

/// Backfill attempts per series before this process gives up on one (its
/// queries keep reading raw points).
const BACKFILL_ATTEMPTS: u32 = 3;

fn round(
    conn: &rusqlite::Connection,
    settings: &mut MergeSettings,
    head: &HeadCounts,
    to_writer: &SyncSender<Job>,
    stop: &Receiver<()>,
    backfills: &mut HashMap<i64, u32>,
) -> Result<bool, StoreError> {
    let mut worked = false;
    let max_bytes = settings.max_block_bytes;
    if let Some(p) = compaction::prepare_spans(conn, max_bytes, &mut settings.indexed)? {
        worked |= send(to_writer, Apply::Merge(p));
    }
    if let Some(p) = compaction::prepare_logs(conn, max_bytes, &mut settings.indexed)? {
        worked |= send(to_writer, Apply::Merge(p));
    }
    let mut seals = Vec::new();
    let mut points = 0u32;
    for series in sealing::due(head) {
        if stopping(stop) {
            break;
        }
        if let Some(seal) = sealing::prepare(conn, series)? {
            points = points.saturating_add(seal.count);
            seals.push(seal);
        }
        if seals.len() >= SEALS_PER_JOB || points >= POINTS_PER_JOB {
            worked |= send(to_writer, Apply::Seals(std::mem::take(&mut seals)));
            points = 0;
        }
    }
    if !seals.is_empty() {
        worked |= send(to_writer, Apply::Seals(seals));
    }
    if stopping(stop) {
        return Ok(worked);
    }
    let given_up = backfills
        .values()
        .filter(|n| **n >= BACKFILL_ATTEMPTS)
        .count();
    for series in rollups::backfill_due(conn, 4 + given_up)? {
        let attempts = backfills.entry(series).or_insert(0);
        if *attempts >= BACKFILL_ATTEMPTS {
            continue;
        }
        *attempts += 1;
        if stopping(stop) {
            return Ok(worked);
        }
        match rollups::prepare_backfill(conn, series) {
            Ok(b) => worked |= send(to_writer, Apply::Backfill(b)),
            Err(e) => {
                tracing::warn!(series, error = %e, "cannot roll up a series; its queries read raw points");
                *attempts = BACKFILL_ATTEMPTS;
            }
        }
    }
    Ok(worked)
}
