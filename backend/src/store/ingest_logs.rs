//! Writing logs: one block per commit, plus its index rows (log groups,
//! Bloom filter of words and indexed attributes, and each trace's list of
//! log blocks for trace→logs correlation).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};
use shared::logs::ResourceLogs;
use shared::{AnyValue, TraceId};

use super::StoreError;
use super::blocks::bloom::{BloomBuilder, IndexedKeys, Namespace, terms};
use super::blocks::codec::Effort;
use super::blocks::logs::{self, LogItem};
use super::reclaim::Reclaimer;
use super::service_minutes::ServiceMinutes;
use super::strings::Interner;
use super::varlist;

/// Signal number of log blocks in `blocks.signal`.
pub const SIGNAL_LOGS: i64 = 2;

/// What one block holds of one trace: (records, min time, max time).
pub type TraceLogs = (i64, u64, u64);

/// Indexes and stores logs for the writer.
pub struct LogIndexer {
    indexed: IndexedKeys,
}

/// Adds the words of every string inside a value to the filter.
pub fn add_value_terms(bloom: &mut BloomBuilder, v: &AnyValue, seen: &mut HashSet<String>) {
    match v {
        AnyValue::String(s) => {
            for t in terms(s) {
                if seen.insert(t.clone()) {
                    bloom.add(Namespace::Term, t.as_bytes());
                }
            }
        }
        AnyValue::Array(items) => items.iter().for_each(|i| add_value_terms(bloom, i, seen)),
        AnyValue::KvList(kvs) => kvs
            .iter()
            .for_each(|kv| add_value_terms(bloom, &kv.value, seen)),
        _ => {}
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl LogIndexer {
    pub fn new(indexed: Arc<Vec<String>>) -> Self {
        Self {
            indexed: IndexedKeys::new(&indexed),
        }
    }

    /// Stores the logs of several requests as one block; returns the
    /// accepted count per request index.
    pub fn write(
        &mut self,
        tx: &Transaction<'_>,
        interner: &mut Interner,
        batches: Vec<(usize, Vec<ResourceLogs>)>,
        reclaim: &Reclaimer,
    ) -> Result<Vec<(usize, u64)>, StoreError> {
        let mut accepted = Vec::with_capacity(batches.len());
        let mut items: Vec<LogItem> = Vec::new();
        for (job, batch) in batches {
            let mut n = 0u64;
            for rl in batch {
                let resource = Arc::new(rl.resource);
                for sl in rl.scope_logs {
                    let scope = Arc::new(sl.scope);
                    for record in sl.log_records {
                        n += 1;
                        items.push(LogItem {
                            resource: resource.clone(),
                            scope: scope.clone(),
                            record,
                        });
                    }
                }
            }
            accepted.push((job, n));
        }
        if items.is_empty() {
            return Ok(accepted);
        }
        // Sorted once, before splitting.
        logs::sort_for_block(&mut items);
        for block in items.chunks(super::compaction::MAX_INGEST_BLOCK_ITEMS) {
            let (block_id, traces) = self.insert_block(tx, interner, block)?;
            for (trace_id, (count, min_t, max_t)) in traces {
                link_trace(tx, block_id, &trace_id, count, min_t, max_t)?;
            }
        }
        reclaim.give(items);
        Ok(accepted)
    }

    /// Writes `items`, already in [`logs::sort_for_block`] order, as one new
    /// block with its log groups and filter; returns the block id and, per
    /// trace, (records, min time, max time).
    pub fn insert_block(
        &mut self,
        tx: &Transaction<'_>,
        interner: &mut Interner,
        items: &[LogItem],
    ) -> Result<(i64, HashMap<TraceId, TraceLogs>), StoreError> {
        let mut minutes = ServiceMinutes::default();
        let data =
            logs::encode(items, Effort::Ingest).map_err(|e| StoreError::Encode(e.to_string()))?;
        let min_time = items
            .iter()
            .map(|i| i.record.effective_time().0)
            .min()
            .unwrap_or(0);
        let max_time = items
            .iter()
            .map(|i| i.record.effective_time().0)
            .max()
            .unwrap_or(0);
        let block_id = super::blocks::insert(
            tx,
            SIGNAL_LOGS,
            logs::FORMAT_VERSION,
            items.len(),
            (min_time, max_time),
            data,
        )?;

        let mut service_of: HashMap<*const shared::trace::Resource, i64> = HashMap::default();
        let mut groups: HashMap<(i64, i32), (i64, u64, u64)> = HashMap::default();
        let mut traces: HashMap<TraceId, (i64, u64, u64)> = HashMap::default();
        for item in items.iter() {
            let service = match service_of.get(&Arc::as_ptr(&item.resource)) {
                Some(&id) => id,
                None => {
                    let id = interner.id(tx, item.resource.service_name())?;
                    service_of.insert(Arc::as_ptr(&item.resource), id);
                    id
                }
            };
            let r = &item.record;
            let t = r.effective_time().0;
            let g = groups
                .entry((service, r.severity_number))
                .or_insert((0, u64::MAX, 0));
            g.0 += 1;
            g.1 = g.1.min(t);
            g.2 = g.2.max(t);
            minutes.add_log(service, t, r.severity_number >= 17);
            if let Some(tid) = r.trace_id {
                let e = traces.entry(tid).or_insert((0, u64::MAX, 0));
                e.0 += 1;
                e.1 = e.1.min(t);
                e.2 = e.2.max(t);
            }
        }
        super::blocks::insert_filter(tx, block_id, &log_filter(&mut self.indexed, items))?;
        minutes.flush(tx)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO log_groups (block_id, service_id, severity_number, log_count, min_time, max_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for ((service, sev), (count, min_t, max_t)) in &groups {
                stmt.execute(params![
                    block_id,
                    service,
                    sev,
                    count,
                    to_i64(*min_t),
                    to_i64(*max_t)
                ])?;
            }
        }
        Ok((block_id, traces))
    }
}

/// The Bloom filter of a log block: its services, the words of bodies,
/// span ids and indexed `key=value` pairs (of records and resources). It
/// depends on the records alone, so compaction builds it off the writer
/// thread.
pub fn log_filter(indexed: &mut IndexedKeys, items: &[LogItem]) -> Vec<u8> {
    let mut bloom = BloomBuilder::default();
    let mut seen_terms = HashSet::default();
    let mut seen_resources: HashSet<*const shared::trace::Resource> = HashSet::default();
    let mut seen_services: HashSet<&str> = HashSet::default();
    for item in items {
        if seen_resources.insert(Arc::as_ptr(&item.resource)) {
            let name = item.resource.service_name();
            if seen_services.insert(name) {
                bloom.add(Namespace::Service, name.as_bytes());
            }
            for kv in &item.resource.attributes {
                indexed.add(&mut bloom, &kv.key, &kv.value);
            }
        }
        let r = &item.record;
        add_value_terms(&mut bloom, &r.body, &mut seen_terms);
        for kv in &r.attributes {
            indexed.add(&mut bloom, &kv.key, &kv.value);
        }
        if let Some(sid) = r.span_id {
            bloom.add(Namespace::SpanId, &sid.0);
        }
    }
    bloom.finish()
}

/// Adds a block of `count` log records of a trace to its summary row
/// (creating a span-less row when the trace's spans have not arrived).
fn link_trace(
    tx: &Transaction<'_>,
    block_id: i64,
    trace_id: &TraceId,
    count: i64,
    min_t: u64,
    max_t: u64,
) -> Result<(), StoreError> {
    let existing: Option<(i64, Vec<u8>)> = tx
        .prepare_cached(concat!(
            "SELECT id, log_blocks FROM traces WHERE ",
            trace_by_id!()
        ))?
        .query_row(params![trace_id.0.as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    match existing {
        Some((row, blocks)) => {
            tx.prepare_cached(
                    "UPDATE traces SET log_count = log_count + ?2, log_blocks = ?3,
                       start_time = CASE WHEN span_count = 0 THEN min(start_time, ?4) ELSE start_time END,
                       duration = CASE WHEN span_count = 0
                         THEN max(start_time + duration, ?5) - min(start_time, ?4) ELSE duration END
                     WHERE id = ?1",
                )?
                .execute(params![
                    row,
                    count,
                    varlist::encode(&varlist::merge(&blocks, [block_id])),
                    to_i64(min_t),
                    to_i64(max_t)
                ])?;
        }
        None => {
            tx.prepare_cached(
                    "INSERT INTO traces (trace_id, start_time, duration, span_count, error_count,
                       root_service_id, root_name_id, root_offset, root_is_real, services, span_blocks,
                       log_count, log_blocks)
                     VALUES (?1, ?2, ?3, 0, 0, 0, 0, 0, 0, x'', x'', ?4, ?5)",
                )?
                .execute(params![
                    trace_id.0.as_slice(),
                    to_i64(min_t),
                    super::ingest_spans::offset(min_t, max_t),
                    count,
                    varlist::encode(&[block_id])
                ])?;
        }
    }
    Ok(())
}
