//! The single writer: one thread owns the database's write side. Ingest
//! hands it batches through a bounded queue; it commits every batch that is
//! waiting in one transaction (group commit), and only then answers each
//! sender. A full queue is refused at once, never buffered without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::blocks::bloom::IndexedKeys;
use super::compaction;
use super::compactor;
use super::jobs::{Apply, ApplyJob, Job, WriteJob};
use super::logs::ingest::LogIndexer;
use super::maintenance::{Indexers, Maintenance};
use super::metrics::ingest::MetricIndexer;
use super::metrics::sealing;
use super::reclaim::Reclaimer;
use super::spans::ingest::{IngestBatch, SpanIndexer};
use super::strings::Interner;
use crate::store::StoreError;
use crate::store::contract::{WriteBatch, WriteError, WriteOutcome};

/// The ingest side's handle on the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: SyncSender<Job>,
    queued: Arc<AtomicU64>,
    max_queued_items: u64,
    indexed: IndexedKeys,
}

/// Settings of the writer.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Most items allowed to wait in the queue; more answers "queue full".
    pub max_queued_items: u64,
    /// Attribute keys whose `key=value` pairs go into block filters.
    pub indexed_attributes: Vec<String>,
    /// Most series per metric name; points of new series beyond it are refused.
    pub max_series_per_metric: u64,
    /// Largest block compaction may write (a small share of the size cap,
    /// since blocks are the unit retention evicts).
    pub max_block_bytes: u64,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            max_queued_items: 200_000,
            indexed_attributes: default_indexed_attributes(),
            max_series_per_metric: 10_000,
            max_block_bytes: 512_000_000 / 20,
        }
    }
}

/// Attribute keys indexed unless configured otherwise: the ones people
/// filter traces and logs by.
pub fn default_indexed_attributes() -> Vec<String> {
    [
        "http.route",
        "http.request.method",
        "http.response.status_code",
        "http.method",
        "http.status_code",
        "rpc.method",
        "rpc.service",
        "rpc.grpc.status_code",
        "db.system",
        "db.operation",
        "messaging.destination.name",
        "error.type",
        "exception.type",
        "user.id",
        "enduser.id",
        "session.id",
        "deployment.environment",
        "service.version",
        "host.name",
        "k8s.pod.name",
        "app.product.id",
        "app.user.id",
        "app.order.id",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

impl WriterHandle {
    /// Queues a batch; fails at once when the queue is full. The returned
    /// receiver resolves after the batch is committed (or failed).
    pub fn submit(
        &self,
        batch: WriteBatch,
    ) -> Result<oneshot::Receiver<Result<WriteOutcome, WriteError>>, WriteError> {
        let items = batch.item_count();
        let before = self.queued.fetch_add(items, Ordering::SeqCst);
        // Always admit one batch into an empty queue, however large, so a
        // big request can make progress.
        if before > 0 && before + items > self.max_queued_items {
            self.queued.fetch_sub(items, Ordering::SeqCst);
            return Err(WriteError::QueueFull { queued: before });
        }
        // Filter entries are computed here, on the receiver's thread, so
        // the single writer only joins them.
        let mut indexed = self.indexed.clone();
        let filter = match &batch {
            WriteBatch::Spans(b) => Some(super::spans::ingest::request_filter(&mut indexed, b)),
            WriteBatch::Logs(b) => Some(super::logs::ingest::request_filter(&mut indexed, b)),
            WriteBatch::Metrics(_) => None,
        };
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Job::Write(WriteJob {
            batch,
            items,
            filter,
            reply,
        })) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => {
                self.queued.fetch_sub(items, Ordering::SeqCst);
                Err(WriteError::QueueFull { queued: before })
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(items, Ordering::SeqCst);
                Err(WriteError::Closed)
            }
        }
    }

    /// Items waiting in the queue now.
    pub fn queued_items(&self) -> u64 {
        self.queued.load(Ordering::SeqCst)
    }

    /// Writes a batch and waits for its commit.
    pub async fn write(&self, batch: WriteBatch) -> Result<WriteOutcome, WriteError> {
        let rx = self.submit(batch)?;
        rx.await.unwrap_or(Err(WriteError::Closed))
    }
}

/// Most jobs folded into one transaction.
const MAX_JOBS_PER_COMMIT: usize = 256;
/// Most items folded into one transaction (and so one block per signal).
const MAX_ITEMS_PER_COMMIT: u64 = 16_384;

/// The writer and compactor threads; joining returns the writer's
/// connection so the caller can close it (checkpointing the WAL).
pub struct WriterThreads {
    writer: std::thread::JoinHandle<Connection>,
    compactor: Option<std::thread::JoinHandle<()>>,
    stop_compactor: Option<SyncSender<()>>,
}

impl WriterThreads {
    /// Stops the compactor, then waits for the writer to drain and stop
    /// (it stops once every [`WriterHandle`] is dropped).
    pub fn join(mut self) -> Option<Connection> {
        drop(self.stop_compactor.take());
        if let Some(c) = self.compactor.take() {
            let _ = c.join();
        }
        self.writer.join().ok()
    }
}

/// Starts the writer thread on `conn` and the compactor beside it.
pub fn spawn(
    conn: Connection,
    db_path: std::path::PathBuf,
    config: WriterConfig,
    maintenance: Maintenance,
) -> std::io::Result<(WriterHandle, WriterThreads)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(4096);
    let queued = Arc::new(AtomicU64::new(0));
    let handle = WriterHandle {
        tx: tx.clone(),
        queued: queued.clone(),
        max_queued_items: config.max_queued_items,
        indexed: IndexedKeys::new(&config.indexed_attributes),
    };
    let settings = compactor::MergeSettings {
        max_block_bytes: i64::try_from(config.max_block_bytes).unwrap_or(i64::MAX),
        indexed: IndexedKeys::new(&config.indexed_attributes),
    };
    let w = Writer::new(conn, config, queued, maintenance);
    let head = w.metrics.head.clone();
    let writer = std::thread::Builder::new()
        .name("sightline-writer".into())
        .spawn(move || {
            let mut w = w;
            w.run(rx);
            w.conn
        })?;
    let (stop_tx, stop_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let compactor = std::thread::Builder::new()
        .name("sightline-compactor".into())
        .spawn(move || compactor::run(db_path, settings, head, tx, stop_rx))?;
    Ok((
        handle,
        WriterThreads {
            writer,
            compactor: Some(compactor),
            stop_compactor: Some(stop_tx),
        },
    ))
}

struct Writer {
    conn: Connection,
    queued: Arc<AtomicU64>,
    interner: Interner,
    spans: SpanIndexer,
    logs: LogIndexer,
    metrics: MetricIndexer,
    maintenance: Maintenance,
    reclaim: Reclaimer,
}

impl Writer {
    fn new(
        conn: Connection,
        config: WriterConfig,
        queued: Arc<AtomicU64>,
        maintenance: Maintenance,
    ) -> Self {
        let indexed = Arc::new(config.indexed_attributes);
        Self {
            spans: SpanIndexer::new(indexed.clone()),
            logs: LogIndexer::new(indexed),
            metrics: MetricIndexer::new(config.max_series_per_metric),
            conn,
            queued,
            interner: Interner::default(),
            maintenance,
            reclaim: Reclaimer::spawn(),
        }
    }

    fn run(&mut self, rx: Receiver<Job>) {
        if let Err(e) = self.spans.warm_up(&self.conn) {
            tracing::warn!(error = %e, "could not preload recent span ids for de-duplication");
        }
        // Before any write: new head rows must number after the ones a
        // previous run left.
        if let Err(e) = self.metrics.load_head(&self.conn) {
            tracing::error!(error = %e, "cannot read the metric head");
        }
        let mut next_maintenance = Instant::now() + Duration::from_secs(1);
        loop {
            let wait = next_maintenance.saturating_duration_since(Instant::now());
            let first = match rx.recv_timeout(wait) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut pending_apply = Vec::new();
            match first {
                Some(Job::Apply(job)) => pending_apply.push(job),
                Some(Job::Write(first)) => {
                    let mut jobs = vec![first];
                    let mut items = jobs[0].items;
                    while jobs.len() < MAX_JOBS_PER_COMMIT && items < MAX_ITEMS_PER_COMMIT {
                        match rx.try_recv() {
                            Ok(Job::Write(job)) => {
                                items += job.items;
                                jobs.push(job);
                            }
                            Ok(Job::Apply(job)) => pending_apply.push(job),
                            Err(_) => break,
                        }
                    }
                    self.commit(jobs);
                }
                None => {}
            }
            for job in pending_apply {
                self.apply_background(job);
            }
            if Instant::now() >= next_maintenance {
                let more = match self.maintain() {
                    Ok(more) => more,
                    Err(e) => {
                        tracing::error!(error = %e, "maintenance failed");
                        self.interner.forget();
                        false
                    }
                };
                // With a backlog, come back right after the next commit.
                let pause = if more {
                    Duration::from_millis(50)
                } else {
                    Duration::from_secs(1)
                };
                next_maintenance = Instant::now() + pause;
            }
        }
        if let Err(e) = self.maintain() {
            tracing::warn!(error = %e, "final maintenance failed");
        }
    }

    fn maintain(&mut self) -> Result<bool, StoreError> {
        self.maintenance.run(
            &mut self.conn,
            Indexers {
                interner: &mut self.interner,
                spans: &mut self.spans,
                logs: &mut self.logs,
                metrics: &mut self.metrics,
            },
        )
    }

    fn apply_background(&mut self, job: ApplyJob) {
        let result = match job.work {
            Apply::Merge(p) => compaction::apply(&mut self.conn, p).map(|_| ()),
            Apply::Seals(seals) => seals
                .into_iter()
                .try_for_each(|seal| sealing::apply(&mut self.conn, &self.metrics.head, seal)),
            Apply::Backfill(b) => super::metrics::rollups::apply_backfill(&mut self.conn, b),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "applying compaction work failed");
            self.interner.forget();
        }
        let _ = job.done.send(());
    }

    fn commit(&mut self, mut jobs: Vec<WriteJob>) {
        let started = Instant::now();
        let result = self.apply(&mut jobs);
        let total: u64 = jobs.iter().map(|j| j.items).sum();
        self.queued.fetch_sub(total, Ordering::SeqCst);
        match result {
            Ok(outcomes) => {
                self.maintenance.note_write(started.elapsed());
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = jobs.len(), "write transaction failed");
                self.interner.forget();
                self.spans.forget_pending();
                self.metrics.forget();
                for job in jobs {
                    let _ = job.reply.send(Err(WriteError::Failed(e.to_string())));
                }
            }
        }
    }

    fn apply(&mut self, jobs: &mut [WriteJob]) -> Result<Vec<WriteOutcome>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut outcomes = vec![WriteOutcome::default(); jobs.len()];
        let mut span_batches = Vec::new();
        let mut log_batches = Vec::new();
        for (i, job) in jobs.iter_mut().enumerate() {
            let filter = job.filter.take();
            match &mut job.batch {
                WriteBatch::Spans(b) => span_batches.push(IngestBatch {
                    job: i,
                    request: std::mem::take(b),
                    filter,
                }),
                WriteBatch::Logs(b) => log_batches.push(IngestBatch {
                    job: i,
                    request: std::mem::take(b),
                    filter,
                }),
                WriteBatch::Metrics(b) => {
                    outcomes[i] = self
                        .metrics
                        .write(&tx, &mut self.interner, std::mem::take(b))?;
                }
            }
        }
        if !span_batches.is_empty() {
            for (i, n) in self
                .spans
                .write(&tx, &mut self.interner, span_batches, &self.reclaim)?
            {
                outcomes[i].accepted += n;
            }
        }
        if !log_batches.is_empty() {
            for (i, n) in self
                .logs
                .write(&tx, &mut self.interner, log_batches, &self.reclaim)?
            {
                outcomes[i].accepted += n;
            }
        }
        tx.commit()?;
        self.spans.committed();
        Ok(outcomes)
    }
}
