//! Writing spans: one block per commit, plus its index rows (span groups,
//! Bloom filter, trace summaries, trace→service rows).

use std::collections::{BTreeSet, VecDeque};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};
use shared::trace::{Resource, ResourceSpans, Span, SpanKind, StatusCode};
use shared::{SpanId, TraceId};

use super::service_minutes::ServiceMinutes;
use crate::store::StoreError;
use crate::store::sqlite::blocks::bloom::{BloomBuilder, IndexedKeys, Namespace};
use crate::store::sqlite::blocks::codec::Effort;
use crate::store::sqlite::blocks::spans::{self, SpanItem};
use crate::store::sqlite::blocks::{MAX_INGEST_BLOCK_ITEMS, SIGNAL_SPANS};
use crate::store::sqlite::reclaim::Reclaimer;
use crate::store::sqlite::strings::Interner;
use crate::store::sqlite::varlist;

/// One request on its way into a block: the writer job it came from, its
/// items, and the filter entries its receiver computed (`None`: the
/// writer computes them).
pub struct IngestBatch<T> {
    pub job: usize,
    pub request: Vec<T>,
    pub filter: Option<BloomBuilder>,
}

/// The filter entries of all `batches` joined, if every one came with its
/// own (taken out of the batches).
pub fn joined_filter<T>(batches: &mut [IngestBatch<T>]) -> Option<BloomBuilder> {
    batches
        .iter_mut()
        .try_fold(BloomBuilder::default(), |mut joined, b| {
            joined.extend(b.filter.take()?);
            Some(joined)
        })
}

/// How many recent (trace id, span id) pairs are remembered to drop
/// re-sent spans (exporter retries re-send whole batches).
const RECENT_CAPACITY: usize = 1 << 20;

fn span_key(t: &TraceId, s: &SpanId) -> u64 {
    let mut b = [0u8; 24];
    b[..16].copy_from_slice(&t.0);
    b[16..].copy_from_slice(&s.0);
    xxhash_rust::xxh3::xxh3_64(&b)
}

/// Remembers recently stored spans, oldest forgotten first.
#[derive(Default)]
struct Recent {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Recent {
    fn insert(&mut self, k: u64) {
        if self.set.insert(k) {
            self.order.push_back(k);
            if self.order.len() > RECENT_CAPACITY
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
        }
    }
}

/// Indexes and stores spans for the writer.
pub struct SpanIndexer {
    indexed: IndexedKeys,
    recent: Recent,
    /// Keys added by the open transaction, forgotten if it rolls back.
    pending: Vec<u64>,
}

#[derive(Default)]
struct GroupAgg {
    count: i64,
    errors: i64,
    min_start: u64,
    max_start: u64,
    min_dur: u64,
    max_dur: u64,
}

/// A trace's root candidate: a span without parent beats one with, then
/// the earlier start wins.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Root {
    is_not_real: bool,
    start: u64,
    service: i64,
    name: i64,
}

/// What one block holds of one trace.
pub struct TraceAgg {
    start: u64,
    end: u64,
    count: i64,
    errors: i64,
    root: Root,
    services: BTreeSet<i64>,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// `to` relative to `from`, as stored in the summary's relative columns
/// (`duration`, `root_offset`): small, so SQLite stores them in few bytes.
pub fn offset(from: u64, to: u64) -> i64 {
    to_i64(to).saturating_sub(to_i64(from))
}

impl SpanIndexer {
    pub fn new(indexed: Arc<Vec<String>>) -> Self {
        Self {
            indexed: IndexedKeys::new(&indexed),
            recent: Recent::default(),
            pending: Vec::new(),
        }
    }

    /// Reloads the ids of the newest stored spans so a retry right after a
    /// restart is still recognised as a duplicate.
    pub fn warm_up(&mut self, conn: &rusqlite::Connection) -> Result<(), StoreError> {
        // The newest block ids first, then their bytes one by one: a join
        // ordered by id makes SQLite sort every block's bytes (seconds on a
        // big database) before returning the first row.
        let ids: Vec<i64> = conn
            .prepare("SELECT id FROM blocks WHERE signal = ?1 ORDER BY id DESC LIMIT 64")?
            .query_map(params![SIGNAL_SPANS], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut data_of = conn.prepare("SELECT data FROM block_data WHERE block_id = ?1")?;
        let mut loaded = 0usize;
        for id in ids {
            let Some(data) = data_of
                .query_row(params![id], |r| r.get::<_, Vec<u8>>(0))
                .optional()?
            else {
                continue;
            };
            let Ok(reader) = spans::SpanBlockReader::open(&data) else {
                continue;
            };
            if let Ok(heads) = reader.heads_unnamed() {
                loaded += heads.len();
                for h in heads {
                    self.recent.insert(span_key(&h.trace_id, &h.span_id));
                }
            }
            if loaded > RECENT_CAPACITY / 4 {
                break;
            }
        }
        Ok(())
    }

    /// The open transaction committed: its spans are now "seen".
    pub fn committed(&mut self) {
        self.pending.clear();
    }

    /// The open transaction rolled back: forget what it added.
    pub fn forget_pending(&mut self) {
        for k in self.pending.drain(..) {
            self.recent.set.remove(&k);
        }
    }

    /// Stores the spans of several requests as one block; returns the
    /// accepted count per request index.
    pub fn write(
        &mut self,
        tx: &Transaction<'_>,
        interner: &mut Interner,
        mut batches: Vec<IngestBatch<ResourceSpans>>,
        reclaim: &Reclaimer,
    ) -> Result<Vec<(usize, u64)>, StoreError> {
        let mut accepted = Vec::with_capacity(batches.len());
        let mut items: Vec<SpanItem> = Vec::new();
        let filter = joined_filter(&mut batches);
        for IngestBatch { job, request, .. } in batches {
            let mut n = 0u64;
            for item in SpanItem::from_request(request) {
                n += 1;
                let key = span_key(&item.span.trace_id, &item.span.span_id);
                if self.recent.set.contains(&key) {
                    continue;
                }
                self.recent.insert(key);
                self.pending.push(key);
                items.push(item);
            }
            accepted.push((job, n));
        }
        if items.is_empty() {
            return Ok(accepted);
        }
        // Sorted once, before splitting, so a trace stays in one block
        // where it can.
        spans::sort_for_block(&mut items);
        // The receivers' filter entries serve when the commit is one block.
        let mut filter = filter.filter(|_| items.len() <= MAX_INGEST_BLOCK_ITEMS);
        for block in items.chunks(MAX_INGEST_BLOCK_ITEMS) {
            let (block_id, traces) = self.insert_block(tx, interner, block, filter.take())?;
            for (trace_id, agg) in traces {
                merge_trace(tx, block_id, &trace_id, agg)?;
            }
        }
        reclaim.give(items);
        Ok(accepted)
    }

    /// Writes `items`, already in [`spans::sort_for_block`] order, as one
    /// new block with its span groups and filter (`filter`: the entries of
    /// exactly these items' requests, else built here); returns the block
    /// id and what each trace contributed.
    fn insert_block(
        &mut self,
        tx: &Transaction<'_>,
        interner: &mut Interner,
        items: &[SpanItem],
        filter: Option<BloomBuilder>,
    ) -> Result<(i64, HashMap<TraceId, TraceAgg>), StoreError> {
        let mut minutes = ServiceMinutes::default();
        let data =
            spans::encode(items, Effort::Ingest).map_err(|e| StoreError::Encode(e.to_string()))?;
        let block_id = crate::store::sqlite::blocks::insert(
            tx,
            SIGNAL_SPANS,
            spans::FORMAT_VERSION,
            items.len(),
            crate::store::sqlite::blocks::time_range(items.iter().map(|i| i.span.start_time.0)),
            data,
        )?;

        // Service ids per resource (resources are shared by pointer).
        let mut service_of: HashMap<*const shared::trace::Resource, i64> = HashMap::default();
        let mut groups: HashMap<(i64, i64, i32), GroupAgg> = HashMap::default();
        let mut traces: HashMap<TraceId, TraceAgg> = HashMap::default();
        for item in items.iter() {
            let service = match service_of.get(&Arc::as_ptr(&item.resource)) {
                Some(&id) => id,
                None => {
                    let id = interner.id(tx, item.resource.service_name())?;
                    service_of.insert(Arc::as_ptr(&item.resource), id);
                    id
                }
            };
            let s = &item.span;
            let name = interner.id(tx, &s.name)?;
            let dur = s.duration_nanos();
            let is_error = s.status.code == StatusCode::Error;
            let g = groups
                .entry((service, name, s.kind.as_otlp()))
                .or_insert_with(|| GroupAgg {
                    min_start: u64::MAX,
                    min_dur: u64::MAX,
                    ..Default::default()
                });
            g.count += 1;
            g.errors += i64::from(is_error);
            g.min_start = g.min_start.min(s.start_time.0);
            g.max_start = g.max_start.max(s.start_time.0);
            g.min_dur = g.min_dur.min(dur);
            g.max_dur = g.max_dur.max(dur);

            minutes.add_span(
                service,
                s.start_time.0,
                s.end_time.0,
                s.kind,
                s.parent_span_id.is_none(),
                is_error,
            );

            let root = Root {
                is_not_real: s.parent_span_id.is_some(),
                start: s.start_time.0,
                service,
                name,
            };
            let t = traces.entry(s.trace_id).or_insert_with(|| TraceAgg {
                start: u64::MAX,
                end: 0,
                count: 0,
                errors: 0,
                root,
                services: BTreeSet::new(),
            });
            t.start = t.start.min(s.start_time.0);
            t.end = t.end.max(s.end_time.0.max(s.start_time.0));
            t.count += 1;
            t.errors += i64::from(is_error);
            t.root = t.root.min(root);
            t.services.insert(service);
        }
        let filter = match filter {
            Some(f) => f.finish(),
            None => span_filter(&mut self.indexed, items),
        };
        crate::store::sqlite::blocks::insert_filter(tx, block_id, &filter)?;
        minutes.flush(tx)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO span_groups (block_id, service_id, name_id, kind, span_count, error_count,
                   min_start, max_start, min_duration, max_duration)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for ((service, name, kind), g) in &groups {
                stmt.execute(params![
                    block_id,
                    service,
                    name,
                    kind,
                    g.count,
                    g.errors,
                    to_i64(g.min_start),
                    to_i64(g.max_start),
                    to_i64(g.min_dur),
                    to_i64(g.max_dur)
                ])?;
            }
        }
        Ok((block_id, traces))
    }
}

/// The Bloom filter of a span block: its services, span ids and indexed
/// `key=value` pairs (of resources and spans). It depends on the spans
/// alone, so compaction builds it off the writer thread.
pub fn span_filter(indexed: &mut IndexedKeys, items: &[SpanItem]) -> Vec<u8> {
    let mut bloom = BloomBuilder::default();
    let mut seen_resources: HashSet<*const Resource> = HashSet::default();
    for item in items {
        // Every resource's indexed attributes, not only the first of its
        // service: instances of one service differ in host and pod names.
        if seen_resources.insert(Arc::as_ptr(&item.resource)) {
            add_resource(&mut bloom, indexed, &item.resource);
        }
        add_span(&mut bloom, indexed, &item.span);
    }
    bloom.finish()
}

/// The filter entries of one request, computed by the receiver that
/// decoded it so the writer only joins them: a block made of whole
/// requests gets the same filter as [`span_filter`], plus the entries of
/// any re-sent span the writer drops (a false positive at worst).
pub fn request_filter(indexed: &mut IndexedKeys, request: &[ResourceSpans]) -> BloomBuilder {
    let mut bloom = BloomBuilder::default();
    for rs in request {
        add_resource(&mut bloom, indexed, &rs.resource);
        for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
            add_span(&mut bloom, indexed, span);
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

fn add_span(bloom: &mut BloomBuilder, indexed: &mut IndexedKeys, span: &Span) {
    bloom.add(Namespace::SpanId, &span.span_id.0);
    for kv in &span.attributes {
        indexed.add(bloom, &kv.key, &kv.value);
    }
}

/// Merges one trace's spans of this block into its summary row.
fn merge_trace(
    tx: &Transaction<'_>,
    block_id: i64,
    trace_id: &TraceId,
    agg: TraceAgg,
) -> Result<(), StoreError> {
    let existing = tx
        .prepare_cached(concat!(
            "SELECT id, start_time, start_time + duration, span_count, error_count, root_service_id,
                    root_name_id, start_time + root_offset, root_is_real, services, span_blocks
             FROM traces WHERE ",
            trace_by_id!()
        ))?
        .query_row(params![trace_id.0.as_slice()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                Root {
                    service: r.get(5)?,
                    name: r.get(6)?,
                    start: from_i64(r.get(7)?),
                    is_not_real: r.get::<_, i64>(8)? == 0,
                },
                r.get::<_, Vec<u8>>(9)?,
                r.get::<_, Vec<u8>>(10)?,
            ))
        })
        .optional()?;
    match existing {
        None => {
            let services: Vec<i64> = agg.services.iter().copied().collect();
            tx.prepare_cached(
                "INSERT INTO traces (trace_id, start_time, duration, span_count, error_count, root_service_id,
                   root_name_id, root_offset, root_is_real, services, span_blocks, log_count, log_blocks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, x'')",
            )?
            .execute(params![
                trace_id.0.as_slice(),
                to_i64(agg.start),
                offset(agg.start, agg.end),
                agg.count,
                agg.errors,
                agg.root.service,
                agg.root.name,
                offset(agg.start, agg.root.start),
                i64::from(!agg.root.is_not_real),
                varlist::encode(&services),
                varlist::encode(&[block_id])
            ])?;
            let row = tx.last_insert_rowid();
            insert_trace_services(tx, row, services.iter().copied())?;
        }
        Some((row, start, end, count, errors, root, services_blob, blocks_blob)) => {
            let had_spans = count > 0;
            let (start, end) = if had_spans {
                (start.min(to_i64(agg.start)), end.max(to_i64(agg.end)))
            } else {
                (to_i64(agg.start), to_i64(agg.end))
            };
            let root = if had_spans {
                root.min(agg.root)
            } else {
                agg.root
            };
            let old_services: HashSet<i64> = varlist::decode(&services_blob).into_iter().collect();
            let new_services: Vec<i64> = agg
                .services
                .iter()
                .copied()
                .filter(|s| !old_services.contains(s))
                .collect();
            let services = varlist::merge(&services_blob, agg.services.iter().copied());
            let blocks = varlist::merge(&blocks_blob, [block_id]);
            tx.prepare_cached(
                "UPDATE traces SET start_time = ?2, duration = ?3, span_count = ?4, error_count = ?5,
                   root_service_id = ?6, root_name_id = ?7, root_offset = ?8, root_is_real = ?9,
                   services = ?10, span_blocks = ?11
                 WHERE id = ?1",
            )?
            .execute(params![
                row,
                start,
                end.saturating_sub(start),
                count + agg.count,
                errors + agg.errors,
                root.service,
                root.name,
                offset(from_i64(start), root.start),
                i64::from(!root.is_not_real),
                varlist::encode(&services),
                varlist::encode(&blocks)
            ])?;
            insert_trace_services(tx, row, new_services.into_iter())?;
        }
    }
    Ok(())
}

fn insert_trace_services(
    tx: &Transaction<'_>,
    row: i64,
    services: impl Iterator<Item = i64>,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO trace_services (service_id, trace_row) VALUES (?1, ?2)",
    )?;
    for s in services {
        stmt.execute(params![s, row])?;
    }
    Ok(())
}

/// Kinds that mark where a request enters a service (for RED metrics).
pub fn is_entry_kind(kind: SpanKind) -> bool {
    matches!(kind, SpanKind::Server | SpanKind::Consumer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::KeyValue;
    use shared::trace::{Scope, ScopeSpans};

    /// Two instances of one service, each with spans carrying an indexed
    /// and an unindexed attribute.
    fn request() -> Vec<ResourceSpans> {
        ["host-a", "host-b"]
            .iter()
            .enumerate()
            .map(|(i, host)| ResourceSpans {
                resource: Resource {
                    attributes: vec![
                        KeyValue::string("service.name", "shop"),
                        KeyValue::string("host.name", *host),
                    ],
                    ..Default::default()
                },
                scope_spans: vec![ScopeSpans {
                    scope: Scope::default(),
                    spans: (0..3u8)
                        .map(|n| Span {
                            trace_id: TraceId([i as u8 + 1; 16]),
                            span_id: SpanId([i as u8 * 10 + n + 1; 8]),
                            name: "GET /cart".into(),
                            attributes: vec![
                                KeyValue::string("http.route", format!("/cart/{n}")),
                                KeyValue::string("not.indexed", "x"),
                            ],
                            ..Default::default()
                        })
                        .collect(),
                }],
            })
            .collect()
    }

    /// The entries a receiver computes for a request make the filter the
    /// writer would build from the request's spans.
    #[test]
    fn request_filters_equal_block_filters() {
        let mut indexed = IndexedKeys::new(&["host.name".to_owned(), "http.route".to_owned()]);
        let request = request();
        let from_request = request_filter(&mut indexed, &request).finish();
        let items: Vec<SpanItem> = SpanItem::from_request(request).collect();
        assert_eq!(from_request, span_filter(&mut indexed, &items));
        let bloom = crate::store::sqlite::blocks::bloom::Bloom::parse(&from_request).unwrap();
        assert!(bloom.may_contain(Namespace::Attribute, b"host.name=host-b"));
        assert!(bloom.may_contain(Namespace::Attribute, b"http.route=/cart/2"));
        assert!(bloom.may_contain(Namespace::SpanId, &[13; 8]));
    }
}
