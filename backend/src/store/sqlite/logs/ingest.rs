//! Writing logs: one block per commit, plus its index rows (log groups,
//! Bloom filter of words and indexed attributes, and each trace's list of
//! log blocks for trace→logs correlation).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};
use shared::logs::{LogRecord, ResourceLogs};
use shared::trace::Resource;
use shared::{AnyValue, TraceId};

use crate::store::StoreError;
use crate::store::sqlite::blocks::bloom::{BloomBuilder, IndexedKeys, Namespace, terms};
use crate::store::sqlite::blocks::codec::Effort;
use crate::store::sqlite::blocks::logs::{self, LogItem};
use crate::store::sqlite::blocks::{MAX_INGEST_BLOCK_ITEMS, SIGNAL_LOGS};
use crate::store::sqlite::reclaim::Reclaimer;
use crate::store::sqlite::spans::ingest::{IngestBatch, joined_filter};
use crate::store::sqlite::spans::service_minutes::ServiceMinutes;
use crate::store::sqlite::strings::Interner;
use crate::store::sqlite::varlist;

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
        mut batches: Vec<IngestBatch<ResourceLogs>>,
        reclaim: &Reclaimer,
    ) -> Result<Vec<(usize, u64)>, StoreError> {
        let mut accepted = Vec::with_capacity(batches.len());
        let mut items: Vec<LogItem> = Vec::new();
        let filter = joined_filter(&mut batches);
        for IngestBatch { job, request, .. } in batches {
            let before = items.len();
            items.extend(LogItem::from_request(request));
            let n = (items.len() - before) as u64;
            accepted.push((job, n));
        }
        if items.is_empty() {
            return Ok(accepted);
        }
        // Sorted once, before splitting.
        logs::sort_for_block(&mut items);
        // The receivers' filter entries serve when the commit is one block.
        let mut filter = filter.filter(|_| items.len() <= MAX_INGEST_BLOCK_ITEMS);
        for block in items.chunks(MAX_INGEST_BLOCK_ITEMS) {
            let (block_id, traces) = self.insert_block(tx, interner, block, filter.take())?;
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
    fn insert_block(
        &mut self,
        tx: &Transaction<'_>,
        interner: &mut Interner,
        items: &[LogItem],
        filter: Option<BloomBuilder>,
    ) -> Result<(i64, HashMap<TraceId, TraceLogs>), StoreError> {
        let mut minutes = ServiceMinutes::default();
        let data =
            logs::encode(items, Effort::Ingest).map_err(|e| StoreError::Encode(e.to_string()))?;
        let block_id = crate::store::sqlite::blocks::insert(
            tx,
            SIGNAL_LOGS,
            logs::FORMAT_VERSION,
            items.len(),
            crate::store::sqlite::blocks::time_range(
                items.iter().map(|i| i.record.effective_time().0),
            ),
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
        let filter = match filter {
            Some(f) => f.finish(),
            None => log_filter(&mut self.indexed, items),
        };
        crate::store::sqlite::blocks::insert_filter(tx, block_id, &filter)?;
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
    let mut seen_resources: HashSet<*const Resource> = HashSet::default();
    for item in items {
        if seen_resources.insert(Arc::as_ptr(&item.resource)) {
            add_resource(&mut bloom, indexed, &item.resource);
        }
        add_record(&mut bloom, indexed, &item.record, &mut seen_terms);
    }
    bloom.finish()
}

/// The filter entries of one request, computed by the receiver that
/// decoded it so the writer only joins them (see
/// [`crate::store::sqlite::spans::ingest::request_filter`]).
pub fn request_filter(indexed: &mut IndexedKeys, request: &[ResourceLogs]) -> BloomBuilder {
    let mut bloom = BloomBuilder::default();
    let mut seen_terms = HashSet::default();
    for rl in request {
        add_resource(&mut bloom, indexed, &rl.resource);
        for record in rl.scope_logs.iter().flat_map(|sl| &sl.log_records) {
            add_record(&mut bloom, indexed, record, &mut seen_terms);
        }
    }
    bloom
}

fn add_resource(bloom: &mut BloomBuilder, indexed: &mut IndexedKeys, resource: &Resource) {
    bloom.add(Namespace::Service, resource.service_name().as_bytes());
    for kv in &resource.attributes {
        indexed.add(bloom, &kv.key, &kv.value);
    }
}

fn add_record(
    bloom: &mut BloomBuilder,
    indexed: &mut IndexedKeys,
    r: &LogRecord,
    seen_terms: &mut HashSet<String>,
) {
    add_value_terms(bloom, &r.body, seen_terms);
    for kv in &r.attributes {
        indexed.add(bloom, &kv.key, &kv.value);
    }
    if let Some(sid) = r.span_id {
        bloom.add(Namespace::SpanId, &sid.0);
    }
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
                    crate::store::sqlite::spans::ingest::offset(min_t, max_t),
                    count,
                    varlist::encode(&[block_id])
                ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::logs::ScopeLogs;
    use shared::trace::Scope;
    use shared::{KeyValue, SpanId};

    /// The entries a receiver computes for a request make the filter the
    /// writer would build from the request's records.
    #[test]
    fn request_filters_equal_block_filters() {
        let request: Vec<ResourceLogs> = ["host-a", "host-b"]
            .iter()
            .enumerate()
            .map(|(i, host)| ResourceLogs {
                resource: Resource {
                    attributes: vec![
                        KeyValue::string("service.name", "shop"),
                        KeyValue::string("host.name", *host),
                    ],
                    ..Default::default()
                },
                scope_logs: vec![ScopeLogs {
                    scope: Scope::default(),
                    log_records: (0..3u8)
                        .map(|n| LogRecord {
                            body: AnyValue::String(format!("order {n} shipped from {host}")),
                            span_id: Some(SpanId([i as u8 * 10 + n + 1; 8])),
                            ..Default::default()
                        })
                        .collect(),
                }],
            })
            .collect();
        let mut indexed = IndexedKeys::new(&["host.name".to_owned()]);
        let from_request = request_filter(&mut indexed, &request).finish();
        let items: Vec<LogItem> = LogItem::from_request(request).collect();
        assert_eq!(from_request, log_filter(&mut indexed, &items));
        let bloom = crate::store::sqlite::blocks::bloom::Bloom::parse(&from_request).unwrap();
        assert!(bloom.may_contain(Namespace::Attribute, b"host.name=host-b"));
        assert!(bloom.may_contain(Namespace::Term, b"shipped"));
        assert!(bloom.may_contain(Namespace::SpanId, &[13; 8]));
    }
}
