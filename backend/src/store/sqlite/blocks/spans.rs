//! The span block: an immutable, columnar, zstd-compressed set of spans.
//!
//! Spans are sorted by (trace id, start time, span id), so a trace's spans
//! are contiguous: the trace id column is run-length encoded, start times
//! are small deltas, and a child usually finds its parent a few rows above
//! it (stored as that distance instead of 8 random bytes). Every string
//! (names, attribute keys and values, service names…) goes through one
//! per-block dictionary; each column is compressed on its own so searches
//! decompress only what they filter on.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use shared::trace::{
    Event, Link, Resource, ResourceSpans, Scope, Span, SpanKind, Status, StatusCode,
};
use shared::{SpanId, TraceId, UnixNanos};

use super::codec::{
    ArcTable, CodecError, ContainerReader, ContainerWriter, Cursor, Dict, DictBuilder, Effort,
    put_attrs, put_ivarint, put_resources, put_scopes, put_uvarint, read_attrs, read_resources,
    read_scopes, scan_attrs, skip_attrs,
};

const MAGIC: [u8; 4] = *b"SLSP";
/// Current span block format. Version 2 added the row index; version 1
/// blocks (without it) are still read, from their first row.
pub const FORMAT_VERSION: u8 = 2;

mod col {
    pub const DICT: u8 = 1;
    pub const RESOURCES: u8 = 2;
    pub const SCOPES: u8 = 3;
    pub const TRACE_RUNS: u8 = 4;
    pub const SPAN_IDS: u8 = 5;
    pub const PARENTS: u8 = 6;
    pub const PARENT_IDS: u8 = 7;
    pub const STARTS: u8 = 8;
    pub const DURATIONS: u8 = 9;
    pub const RESOURCE_REFS: u8 = 10;
    pub const SCOPE_REFS: u8 = 11;
    pub const NAMES: u8 = 12;
    pub const KINDS: u8 = 13;
    pub const STATUS: u8 = 14;
    pub const TRACE_STATE_FLAGS: u8 = 15;
    pub const ATTRS: u8 = 16;
    pub const EVENTS: u8 = 17;
    pub const LINKS: u8 = 18;
    pub const DROPPED: u8 = 19;
    pub const ROW_INDEX: u8 = 20;
}

/// Rows between two checkpoints of the row index.
const CHECKPOINT_ROWS: usize = 256;

/// The row-aligned columns of variable width. The row index records where
/// every checkpoint row starts in each of them, so a reader that wants rows
/// deep in a block starts at the nearest checkpoint instead of stepping
/// over every row above it (fixed-width columns need no record).
const ROW_COLUMNS: [u8; 13] = [
    col::PARENTS,
    col::PARENT_IDS,
    col::STARTS,
    col::DURATIONS,
    col::RESOURCE_REFS,
    col::SCOPE_REFS,
    col::NAMES,
    col::STATUS,
    col::TRACE_STATE_FLAGS,
    col::ATTRS,
    col::EVENTS,
    col::LINKS,
    col::DROPPED,
];

/// Positions in [`ROW_COLUMNS`].
mod rc {
    pub const PARENTS: usize = 0;
    pub const PARENT_IDS: usize = 1;
    pub const STARTS: usize = 2;
    pub const DURATIONS: usize = 3;
    pub const RESOURCE_REFS: usize = 4;
    pub const SCOPE_REFS: usize = 5;
    pub const NAMES: usize = 6;
    pub const STATUS: usize = 7;
    pub const TRACE_STATE_FLAGS: usize = 8;
    pub const ATTRS: usize = 9;
    pub const EVENTS: usize = 10;
    pub const LINKS: usize = 11;
    pub const DROPPED: usize = 12;
}

/// A span with the resource and scope it was sent under.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanItem {
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
    pub span: Span,
}

impl SpanItem {
    /// The spans of a decoded request, each with the resource and scope
    /// it was sent under (shared, not copied).
    pub fn from_request(request: Vec<ResourceSpans>) -> impl Iterator<Item = SpanItem> {
        request.into_iter().flat_map(|rs| {
            let resource = Arc::new(rs.resource);
            rs.scope_spans.into_iter().flat_map(move |ss| {
                let (resource, scope) = (resource.clone(), Arc::new(ss.scope));
                ss.spans.into_iter().map(move |span| SpanItem {
                    resource: resource.clone(),
                    scope: scope.clone(),
                    span,
                })
            })
        })
    }
}

/// Sorts items into block order: by trace, then start, then span id.
/// Keys are taken once and sorted with their positions, then every item
/// moves once: items are a few hundred bytes each, which a comparison
/// sort would move about log2(n) times.
pub fn sort_for_block(items: &mut [SpanItem]) {
    items.sort_by_cached_key(|i| (i.span.trace_id, i.span.start_time, i.span.span_id));
}

/// Encodes `items`, which must already be in [`sort_for_block`] order.
pub fn encode(items: &[SpanItem], effort: Effort) -> Result<Vec<u8>, CodecError> {
    let mut dict = DictBuilder::default();
    // Archive blocks: a first pass collects the strings, a second writes the
    // final, sorted indexes. Ingest blocks keep first-seen order (one pass):
    // they are on the writer's critical path and compaction sorts them later.
    if effort == Effort::Archive {
        let _ = encode_columns(items, &mut dict);
        dict.freeze_sorted();
    }
    encode_with(items, effort, dict)
}

/// Encodes `items` (in [`sort_for_block`] order) as an archive block whose
/// dictionary starts from `strings`, sorted: one pass over the items where
/// [`encode`] makes two. Compaction passes the strings of the blocks the
/// items came from, which are exactly the strings the items use, so the
/// block is the one [`encode`] would write; a string missing from
/// `strings` would still be stored, after the sorted ones.
pub fn encode_archive<'s>(
    items: &[SpanItem],
    strings: impl IntoIterator<Item = &'s str>,
) -> Result<Vec<u8>, CodecError> {
    let mut dict = DictBuilder::default();
    for s in strings {
        dict.intern(s);
    }
    dict.freeze_sorted();
    encode_with(items, Effort::Archive, dict)
}

fn encode_with(
    items: &[SpanItem],
    effort: Effort,
    mut dict: DictBuilder,
) -> Result<Vec<u8>, CodecError> {
    let columns = encode_columns(items, &mut dict);
    let mut w = ContainerWriter::new(MAGIC, FORMAT_VERSION, effort);
    let mut count = Vec::new();
    put_uvarint(&mut count, items.len() as u64);
    w.column(0, count);
    w.column(col::DICT, dict.finish());
    for (id, data) in columns {
        w.column(id, data);
    }
    w.finish()
}

fn encode_columns(items: &[SpanItem], dict: &mut DictBuilder) -> Vec<(u8, Vec<u8>)> {
    let mut resources: ArcTable<Resource> = ArcTable::default();
    let mut scopes: ArcTable<Scope> = ArcTable::default();
    let (mut trace_runs, mut span_ids, mut parents, mut parent_ids) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut starts, mut durations, mut res_refs, mut scope_refs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut names, mut kinds, mut status, mut state_flags) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut attrs, mut events, mut links, mut dropped) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());

    // Trace runs: (id, count) for each maximal run of one trace id.
    let mut runs: Vec<(TraceId, u64)> = Vec::new();
    // Rows of the current trace run, by span id, to find parents.
    let mut run_rows: FxHashMap<SpanId, usize> = FxHashMap::default();
    let mut prev_start: u64 = 0;
    // Row index: per checkpoint, each row column's length so far and the
    // start time the next row's delta applies to.
    let mut checkpoints: Vec<([usize; ROW_COLUMNS.len()], u64)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let s = &item.span;
        if i > 0 && i % CHECKPOINT_ROWS == 0 {
            checkpoints.push((
                [
                    parents.len(),
                    parent_ids.len(),
                    starts.len(),
                    durations.len(),
                    res_refs.len(),
                    scope_refs.len(),
                    names.len(),
                    status.len(),
                    state_flags.len(),
                    attrs.len(),
                    events.len(),
                    links.len(),
                    dropped.len(),
                ],
                prev_start,
            ));
        }
        match runs.last_mut() {
            Some((id, n)) if *id == s.trace_id => *n += 1,
            _ => {
                runs.push((s.trace_id, 1));
                run_rows.clear();
            }
        }
        span_ids.extend_from_slice(&s.span_id.0);
        // Parent: 0 none, 1 explicit id, k >= 2: the row k-1 above, same trace.
        match s.parent_span_id {
            None => put_uvarint(&mut parents, 0),
            Some(pid) => match run_rows.get(&pid).map(|p| i - p) {
                Some(dist) => put_uvarint(&mut parents, dist as u64 + 1),
                None => {
                    put_uvarint(&mut parents, 1);
                    parent_ids.extend_from_slice(&pid.0);
                }
            },
        }
        run_rows.entry(s.span_id).or_insert(i);
        put_ivarint(&mut starts, s.start_time.0.wrapping_sub(prev_start) as i64);
        prev_start = s.start_time.0;
        put_ivarint(
            &mut durations,
            s.end_time.0.wrapping_sub(s.start_time.0) as i64,
        );
        put_uvarint(&mut res_refs, u64::from(resources.index(&item.resource)));
        put_uvarint(&mut scope_refs, u64::from(scopes.index(&item.scope)));
        put_uvarint(&mut names, u64::from(dict.intern(&s.name)));
        kinds.push(s.kind.as_otlp() as u8);
        status.push(s.status.code.as_otlp() as u8);
        put_uvarint(&mut status, u64::from(dict.intern(&s.status.message)));
        put_uvarint(&mut state_flags, u64::from(dict.intern(&s.trace_state)));
        put_uvarint(&mut state_flags, u64::from(s.flags));
        put_attrs(&mut attrs, dict, &s.attributes);
        put_uvarint(&mut events, s.events.len() as u64);
        for e in &s.events {
            put_ivarint(&mut events, e.time.0.wrapping_sub(s.start_time.0) as i64);
            put_uvarint(&mut events, u64::from(dict.intern(&e.name)));
            put_attrs(&mut events, dict, &e.attributes);
            put_uvarint(&mut events, u64::from(e.dropped_attributes_count));
        }
        put_uvarint(&mut links, s.links.len() as u64);
        for l in &s.links {
            links.extend_from_slice(&l.trace_id.0);
            links.extend_from_slice(&l.span_id.0);
            put_uvarint(&mut links, u64::from(dict.intern(&l.trace_state)));
            put_attrs(&mut links, dict, &l.attributes);
            put_uvarint(&mut links, u64::from(l.dropped_attributes_count));
            put_uvarint(&mut links, u64::from(l.flags));
        }
        put_uvarint(&mut dropped, u64::from(s.dropped_attributes_count));
        put_uvarint(&mut dropped, u64::from(s.dropped_events_count));
        put_uvarint(&mut dropped, u64::from(s.dropped_links_count));
    }
    put_uvarint(&mut trace_runs, runs.len() as u64);
    for (id, n) in &runs {
        trace_runs.extend_from_slice(&id.0);
        put_uvarint(&mut trace_runs, *n);
    }
    let res_col = put_resources(dict, resources.items());
    let scope_col = put_scopes(dict, scopes.items());
    // Offsets and start times as deltas from the previous checkpoint.
    let mut row_index = Vec::new();
    if !checkpoints.is_empty() {
        put_uvarint(&mut row_index, CHECKPOINT_ROWS as u64);
        put_uvarint(&mut row_index, checkpoints.len() as u64);
        let mut last = ([0usize; ROW_COLUMNS.len()], 0u64);
        for (offsets, start) in &checkpoints {
            for (now, before) in offsets.iter().zip(last.0) {
                put_uvarint(&mut row_index, (now - before) as u64);
            }
            put_ivarint(&mut row_index, start.wrapping_sub(last.1) as i64);
            last = (*offsets, *start);
        }
    }
    vec![
        (col::RESOURCES, res_col),
        (col::SCOPES, scope_col),
        (col::TRACE_RUNS, trace_runs),
        (col::SPAN_IDS, span_ids),
        (col::PARENTS, parents),
        (col::PARENT_IDS, parent_ids),
        (col::STARTS, starts),
        (col::DURATIONS, durations),
        (col::RESOURCE_REFS, res_refs),
        (col::SCOPE_REFS, scope_refs),
        (col::NAMES, names),
        (col::KINDS, kinds),
        (col::STATUS, status),
        (col::TRACE_STATE_FLAGS, state_flags),
        (col::ATTRS, attrs),
        (col::EVENTS, events),
        (col::LINKS, links),
        (col::DROPPED, dropped),
        (col::ROW_INDEX, row_index),
    ]
}

/// The distinct trace ids of a block, read from its run column alone.
pub fn trace_ids(bytes: &[u8]) -> Result<Vec<TraceId>, CodecError> {
    let container = ContainerReader::parse(bytes, MAGIC, FORMAT_VERSION)?;
    let raw = container.column(col::TRACE_RUNS)?;
    let mut c = Cursor::new(&raw);
    let n = c.len()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(TraceId(c.array()?));
        c.uvarint()?;
    }
    Ok(out)
}

/// True if the block holds a span with this id, read from the id column
/// alone (a Bloom filter hit is confirmed this way before a full decode).
pub fn has_span_id(bytes: &[u8], id: &SpanId) -> Result<bool, CodecError> {
    let container = ContainerReader::parse(bytes, MAGIC, FORMAT_VERSION)?;
    let ids = container.column(col::SPAN_IDS)?;
    Ok(ids.chunks_exact(8).any(|c| c == id.0))
}

/// The cheap-to-decode part of every span, used to filter before a full
/// decode: identity, timing, service, name, kind, status.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanHead {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub start: u64,
    pub end: u64,
    pub resource: u32,
    pub name: String,
    pub kind: SpanKind,
    pub status: StatusCode,
}

/// A decoded span block.
pub struct SpanBlock {
    pub resources: Vec<Resource>,
    pub scopes: Vec<Scope>,
    /// (resource index, scope index, span) in block order.
    pub spans: Vec<(u32, u32, Span)>,
}

/// Reads a span block column by column.
pub struct SpanBlockReader<'a> {
    container: ContainerReader<'a>,
    count: usize,
    dict: Dict,
}

impl<'a> SpanBlockReader<'a> {
    pub fn open(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let container = ContainerReader::parse(bytes, MAGIC, FORMAT_VERSION)?;
        let count_col = container.column(0)?;
        let count = usize::try_from(Cursor::new(&count_col).uvarint()?)
            .map_err(|_| CodecError::Malformed("span count".into()))?;
        let dict = Dict::decode(&container.column(col::DICT)?)?;
        Ok(Self {
            container,
            count,
            dict,
        })
    }

    /// The block's distinct strings (names, attribute keys and values…).
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        self.dict.strings()
    }

    /// Number of spans in the block.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True for a block without spans.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The resources of the block.
    pub fn resources(&self) -> Result<Vec<Resource>, CodecError> {
        read_resources(&self.container.column(col::RESOURCES)?, &self.dict)
    }

    fn scopes(&self) -> Result<Vec<Scope>, CodecError> {
        read_scopes(&self.container.column(col::SCOPES)?, &self.dict)
    }

    /// Decodes the filterable head of every span.
    pub fn heads(&self) -> Result<Vec<SpanHead>, CodecError> {
        let runs = self.runs()?;
        let window = Window::all(self.count);
        self.heads_in(&self.load(&window, &runs)?, &window, 0)
    }

    /// Every head without its name (cheaper when names are not needed).
    pub fn heads_unnamed(&self) -> Result<Vec<SpanHead>, CodecError> {
        let runs = self.runs()?;
        let window = Window::all(self.count);
        self.heads_in(&self.load(&window, &runs)?, &window, self.count)
    }

    /// The trace runs: (trace id, rows), in row order, covering every row.
    fn runs(&self) -> Result<Vec<(TraceId, usize)>, CodecError> {
        let raw = self.container.column(col::TRACE_RUNS)?;
        let mut c = Cursor::new(&raw);
        let n_runs = c.len()?;
        let mut runs = Vec::with_capacity(n_runs);
        let mut rows = 0usize;
        for _ in 0..n_runs {
            let id = TraceId(c.array()?);
            let len = usize::try_from(c.uvarint()?).unwrap_or(usize::MAX);
            if len > self.count - rows {
                return Err(CodecError::Malformed(
                    "trace runs exceed the span count".into(),
                ));
            }
            rows += len;
            runs.push((id, len));
        }
        if rows != self.count {
            return Err(CodecError::Malformed(
                "trace runs do not cover the spans".into(),
            ));
        }
        Ok(runs)
    }

    /// The checkpoints of the row index (none in a version 1 block): the
    /// row each one starts and where that row starts in every column.
    fn checkpoints(&self) -> Result<Vec<Checkpoint>, CodecError> {
        let raw = self.container.column(col::ROW_INDEX)?;
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = Cursor::new(&raw);
        let every = usize::try_from(c.uvarint()?)
            .ok()
            .filter(|e| *e > 0)
            .ok_or_else(|| CodecError::Malformed("row index spacing".into()))?;
        let n = c.len()?;
        let mut out: Vec<Checkpoint> = Vec::with_capacity(n);
        let mut last = Checkpoint {
            row: 0,
            offsets: [0; ROW_COLUMNS.len()],
            prev_start: 0,
        };
        for j in 1..=n {
            let mut next = Checkpoint {
                row: j
                    .checked_mul(every)
                    .filter(|r| *r < self.count)
                    .ok_or_else(|| CodecError::Malformed("row index beyond the rows".into()))?,
                offsets: last.offsets,
                prev_start: 0,
            };
            for offset in &mut next.offsets {
                *offset = usize::try_from(c.uvarint()?)
                    .ok()
                    .and_then(|d| offset.checked_add(d))
                    .ok_or_else(|| CodecError::Malformed("row index offset".into()))?;
            }
            next.prev_start = last.prev_start.wrapping_add(c.ivarint()? as u64);
            out.push(next.clone());
            last = next;
        }
        Ok(out)
    }

    /// Decompresses what `window` needs of every row column.
    fn load(&self, window: &Window, runs: &[(TraceId, usize)]) -> Result<Loaded, CodecError> {
        let (base, end) = (window.base, window.end);
        let mut cols: [Vec<u8>; ROW_COLUMNS.len()] = Default::default();
        for (k, id) in ROW_COLUMNS.iter().enumerate() {
            cols[k] = match window.upto {
                Some(upto) => self.container.column_prefix(*id, upto[k])?,
                None => self.container.column(*id)?,
            };
            if window.from[k] > cols[k].len() {
                return Err(CodecError::Malformed(
                    "row index points past a column".into(),
                ));
            }
        }
        let ids = self.container.column_prefix(col::SPAN_IDS, end * 8)?;
        let kinds = self.container.column_prefix(col::KINDS, end)?;
        if ids.len() != end * 8 || kinds.len() != end {
            return Err(CodecError::Malformed(
                "span column sizes disagree with the count".into(),
            ));
        }
        let mut trace_ids = Vec::with_capacity(end - base);
        let mut row = 0usize;
        for (id, len) in runs {
            let (from, to) = (row.max(base), (row + len).min(end));
            if from < to {
                trace_ids.extend(std::iter::repeat_n(*id, to - from));
            }
            row += len;
            if row >= end {
                break;
            }
        }
        Ok(Loaded {
            cols,
            from: window.from,
            ids,
            kinds,
            trace_ids,
        })
    }

    /// The heads of rows `window.base..window.end`, with names built from
    /// row `named_from` on (earlier rows get an empty name: callers that
    /// only need a later row range skip the allocations).
    fn heads_in(
        &self,
        l: &Loaded,
        window: &Window,
        named_from: usize,
    ) -> Result<Vec<SpanHead>, CodecError> {
        let base = window.base;
        let mut ids = Cursor::new(l.ids.get(base * 8..).unwrap_or_default());
        let (mut parents, mut pids) = (l.cursor(rc::PARENTS), l.cursor(rc::PARENT_IDS));
        let (mut starts, mut durs, mut res) = (
            l.cursor(rc::STARTS),
            l.cursor(rc::DURATIONS),
            l.cursor(rc::RESOURCE_REFS),
        );
        let (mut names, mut status) = (l.cursor(rc::NAMES), l.cursor(rc::STATUS));
        let mut out: Vec<SpanHead> = Vec::with_capacity(window.end - base);
        let mut prev_start = window.prev_start;
        for (i, trace_id) in (base..window.end).zip(l.trace_ids.iter().copied()) {
            let span_id = SpanId(ids.array()?);
            let parent_span_id = match parents.uvarint()? {
                0 => None,
                1 => Some(SpanId(pids.array()?)),
                k => {
                    let dist = usize::try_from(k - 1)
                        .map_err(|_| CodecError::Malformed("parent distance".into()))?;
                    match i.checked_sub(dist) {
                        // The parent row is above the window: only rows of a
                        // trace run that began before it, never returned.
                        Some(p) if p < base && base > 0 => None,
                        p => Some(
                            p.and_then(|p| out.get(p - base))
                                .ok_or_else(|| {
                                    CodecError::Malformed("parent row out of range".into())
                                })?
                                .span_id,
                        ),
                    }
                }
            };
            let start = prev_start.wrapping_add(starts.ivarint()? as u64);
            prev_start = start;
            let end = start.wrapping_add(durs.ivarint()? as u64);
            let kind = SpanKind::from_otlp(i32::from(l.kinds[i]));
            let code = StatusCode::from_otlp(i32::from(status.u8()?));
            let _message = status.u32v()?;
            out.push(SpanHead {
                trace_id,
                span_id,
                parent_span_id,
                start,
                end,
                resource: res.u32v()?,
                name: if i >= named_from {
                    self.dict.read(&mut names)?
                } else {
                    self.dict.skip(&mut names)?;
                    String::new()
                },
                kind,
                status: code,
            });
        }
        Ok(out)
    }

    /// Decodes the whole block; `keep(i, head)` chooses which spans to
    /// build in full (the rest are skipped cheaply).
    pub fn decode(
        &self,
        keep: impl FnMut(usize, &SpanHead) -> bool,
    ) -> Result<SpanBlock, CodecError> {
        self.decode_matching(keep, &[])
    }

    /// Like [`decode`](Self::decode), and a span is built only if every
    /// `(key, value-as-text)` pair of `attrs` is among its own or its
    /// resource's attributes (checked on the stored bytes first).
    pub fn decode_matching(
        &self,
        keep: impl FnMut(usize, &SpanHead) -> bool,
        want_attrs: &[(&str, &str)],
    ) -> Result<SpanBlock, CodecError> {
        let runs = self.runs()?;
        let window = Window::all(self.count);
        let loaded = self.load(&window, &runs)?;
        let heads = self.heads_in(&loaded, &window, 0)?;
        self.decode_rows(&loaded, &window, heads, keep, want_attrs)
    }

    /// The spans of one trace. Rows are sorted by trace, so the trace is
    /// one run of rows: reading starts at the row-index checkpoint at or
    /// above it and stops at its last row, so most of a large block is
    /// neither decompressed nor stepped over.
    pub fn decode_trace(&self, trace_id: &TraceId) -> Result<SpanBlock, CodecError> {
        let runs = self.runs()?;
        let mut row = 0usize;
        let mut range = None;
        for (id, len) in &runs {
            if id == trace_id {
                range = Some(row..row + len);
                break;
            }
            row += len;
        }
        let Some(range) = range else {
            return Ok(SpanBlock {
                resources: self.resources()?,
                scopes: self.scopes()?,
                spans: Vec::new(),
            });
        };
        let window = Window::around(&self.checkpoints()?, range.clone());
        let loaded = self.load(&window, &runs)?;
        let heads = self.heads_in(&loaded, &window, range.start)?;
        self.decode_rows(&loaded, &window, heads, |i, _| range.contains(&i), &[])
    }

    fn decode_rows(
        &self,
        l: &Loaded,
        window: &Window,
        heads: Vec<SpanHead>,
        mut keep: impl FnMut(usize, &SpanHead) -> bool,
        want_attrs: &[(&str, &str)],
    ) -> Result<SpanBlock, CodecError> {
        let resources = self.resources()?;
        let scopes = self.scopes()?;
        let (mut status, mut scope_c, mut sf) = (
            l.cursor(rc::STATUS),
            l.cursor(rc::SCOPE_REFS),
            l.cursor(rc::TRACE_STATE_FLAGS),
        );
        let (mut attrs, mut events, mut links, mut dropped) = (
            l.cursor(rc::ATTRS),
            l.cursor(rc::EVENTS),
            l.cursor(rc::LINKS),
            l.cursor(rc::DROPPED),
        );
        let all = if want_attrs.is_empty() {
            0
        } else {
            u64::MAX >> (64 - want_attrs.len().min(64))
        };
        // Which wanted pairs each resource provides.
        let resource_bits: Vec<u64> = resources
            .iter()
            .map(|r| {
                want_attrs
                    .iter()
                    .enumerate()
                    .take(64)
                    .filter(|(_, (k, v))| {
                        r.attributes
                            .iter()
                            .any(|kv| kv.key == *k && shared::query::value_matches(&kv.value, v))
                    })
                    .fold(0u64, |bits, (i, _)| bits | 1 << i)
            })
            .collect();
        let mut spans = Vec::new();
        for (i, head) in (window.base..).zip(heads.iter()) {
            let mut wanted = keep(i, head);
            if wanted && all != 0 {
                let mut probe = attrs.clone();
                let own = scan_attrs(&mut probe, &self.dict, want_attrs)?;
                let from_resource = resource_bits
                    .get(head.resource as usize)
                    .copied()
                    .unwrap_or(0);
                wanted = (own | from_resource) & all == all;
            }
            // Every column advances in step, kept or not; skipped rows are
            // stepped over without building anything.
            if !wanted {
                status.u8()?;
                self.dict.skip(&mut status)?;
                scope_c.u32v()?;
                self.dict.skip(&mut sf)?;
                sf.u32v()?;
                skip_attrs(&mut attrs, &self.dict)?;
                for _ in 0..events.len()? {
                    events.ivarint()?;
                    self.dict.skip(&mut events)?;
                    skip_attrs(&mut events, &self.dict)?;
                    events.u32v()?;
                }
                for _ in 0..links.len()? {
                    links.array::<16>()?;
                    links.array::<8>()?;
                    self.dict.skip(&mut links)?;
                    skip_attrs(&mut links, &self.dict)?;
                    links.u32v()?;
                    links.u32v()?;
                }
                dropped.u32v()?;
                dropped.u32v()?;
                dropped.u32v()?;
                continue;
            }
            let _code = status.u8()?;
            let message = self.dict.read(&mut status)?;
            let scope_idx = scope_c.u32v()?;
            let trace_state = self.dict.read(&mut sf)?;
            let flags = sf.u32v()?;
            let attributes = read_attrs(&mut attrs, &self.dict)?;
            let n_events = events.len()?;
            let mut evs = Vec::with_capacity(n_events.min(1024));
            for _ in 0..n_events {
                let dt = events.ivarint()?;
                evs.push(Event {
                    time: UnixNanos(head.start.wrapping_add(dt as u64)),
                    name: self.dict.read(&mut events)?,
                    attributes: read_attrs(&mut events, &self.dict)?,
                    dropped_attributes_count: events.u32v()?,
                });
            }
            let n_links = links.len()?;
            let mut ls = Vec::with_capacity(n_links.min(1024));
            for _ in 0..n_links {
                ls.push(Link {
                    trace_id: TraceId(links.array()?),
                    span_id: SpanId(links.array()?),
                    trace_state: self.dict.read(&mut links)?,
                    attributes: read_attrs(&mut links, &self.dict)?,
                    dropped_attributes_count: links.u32v()?,
                    flags: links.u32v()?,
                });
            }
            let (da, de, dl) = (dropped.u32v()?, dropped.u32v()?, dropped.u32v()?);
            if head.resource as usize >= resources.len() || scope_idx as usize >= scopes.len() {
                return Err(CodecError::Malformed(
                    "resource or scope index out of range".into(),
                ));
            }
            spans.push((
                head.resource,
                scope_idx,
                Span {
                    trace_id: head.trace_id,
                    span_id: head.span_id,
                    parent_span_id: head.parent_span_id,
                    trace_state,
                    flags,
                    name: head.name.clone(),
                    kind: head.kind,
                    start_time: UnixNanos(head.start),
                    end_time: UnixNanos(head.end),
                    attributes,
                    dropped_attributes_count: da,
                    events: evs,
                    dropped_events_count: de,
                    links: ls,
                    dropped_links_count: dl,
                    status: Status {
                        code: head.status,
                        message,
                    },
                },
            ));
        }
        Ok(SpanBlock {
            resources,
            scopes,
            spans,
        })
    }
}

/// One row-index checkpoint.
#[derive(Clone)]
struct Checkpoint {
    row: usize,
    offsets: [usize; ROW_COLUMNS.len()],
    /// The start time the row's start delta applies to.
    prev_start: u64,
}

/// Which rows a read covers and where they lie in the row columns.
struct Window {
    base: usize,
    end: usize,
    /// Where row `base` starts in each row column.
    from: [usize; ROW_COLUMNS.len()],
    /// Where row `end` starts in each (how much to decompress); `None`: all.
    upto: Option<[usize; ROW_COLUMNS.len()]>,
    prev_start: u64,
}

impl Window {
    fn all(count: usize) -> Self {
        Self {
            base: 0,
            end: count,
            from: [0; ROW_COLUMNS.len()],
            upto: None,
            prev_start: 0,
        }
    }

    /// The rows from the last checkpoint at or above `rows.start` to
    /// `rows.end`.
    fn around(checkpoints: &[Checkpoint], rows: std::ops::Range<usize>) -> Self {
        let before = checkpoints.iter().rev().find(|c| c.row <= rows.start);
        let after = checkpoints.iter().find(|c| c.row >= rows.end);
        Self {
            base: before.map_or(0, |c| c.row),
            end: rows.end,
            from: before.map_or([0; ROW_COLUMNS.len()], |c| c.offsets),
            upto: after.map(|c| c.offsets),
            prev_start: before.map_or(0, |c| c.prev_start),
        }
    }
}

/// The decompressed row columns of a [`Window`].
struct Loaded {
    cols: [Vec<u8>; ROW_COLUMNS.len()],
    from: [usize; ROW_COLUMNS.len()],
    ids: Vec<u8>,
    kinds: Vec<u8>,
    /// The trace id of each row of the window.
    trace_ids: Vec<TraceId>,
}

impl Loaded {
    /// A cursor on row column `k` at the window's first row.
    fn cursor(&self, k: usize) -> Cursor<'_> {
        Cursor::new(self.cols[k].get(self.from[k]..).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{AnyValue, KeyValue};

    fn item(trace: u8, span: u8, parent: Option<u8>, start: u64, svc: &Arc<Resource>) -> SpanItem {
        SpanItem {
            resource: svc.clone(),
            scope: Arc::new(Scope {
                name: "lib".into(),
                version: "1".into(),
                ..Default::default()
            }),
            span: Span {
                trace_id: TraceId([trace; 16]),
                span_id: SpanId([span; 8]),
                parent_span_id: parent.map(|p| SpanId([p; 8])),
                trace_state: if span.is_multiple_of(2) {
                    "a=b".into()
                } else {
                    String::new()
                },
                flags: 0x301,
                name: format!("op{}", span % 3),
                kind: SpanKind::from_otlp(i32::from(span % 6)),
                start_time: UnixNanos(start),
                end_time: UnixNanos(start.wrapping_add(u64::from(span) * 1000)),
                attributes: vec![
                    KeyValue::string("http.route", "/x"),
                    KeyValue {
                        key: "n".into(),
                        value: AnyValue::Int(i64::from(span)),
                    },
                ],
                dropped_attributes_count: 1,
                events: vec![Event {
                    time: UnixNanos(start + 5),
                    name: "exception".into(),
                    attributes: vec![KeyValue::string("exception.message", "boom")],
                    dropped_attributes_count: 2,
                }],
                dropped_events_count: 3,
                links: vec![Link {
                    trace_id: TraceId([9; 16]),
                    span_id: SpanId([8; 8]),
                    trace_state: "x=y".into(),
                    attributes: vec![],
                    dropped_attributes_count: 4,
                    flags: 1,
                }],
                dropped_links_count: 5,
                status: Status {
                    code: if span == 3 {
                        StatusCode::Error
                    } else {
                        StatusCode::Unset
                    },
                    message: if span == 3 {
                        "bad".into()
                    } else {
                        String::new()
                    },
                },
            },
        }
    }

    #[test]
    fn block_round_trip_is_lossless() {
        let a = Arc::new(Resource {
            attributes: vec![KeyValue::string("service.name", "a")],
            ..Default::default()
        });
        let b = Arc::new(Resource {
            attributes: vec![KeyValue::string("service.name", "b")],
            dropped_attributes_count: 2,
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        });
        let mut items = vec![
            item(2, 1, None, 1_000, &a),
            item(2, 2, Some(1), 1_100, &b),
            item(2, 3, Some(2), 900, &b), // clock skew: child starts before parent
            item(1, 4, Some(77), 50, &a), // parent not in the block
            item(1, 5, None, u64::MAX - 10, &a),
            item(3, 6, Some(6), 0, &b), // self-parent, bad data kept as sent
        ];
        sort_for_block(&mut items);
        let bytes = encode(&items, Effort::Ingest).unwrap();
        let r = SpanBlockReader::open(&bytes).unwrap();
        assert_eq!(r.len(), items.len());
        let block = r.decode(|_, _| true).unwrap();
        assert_eq!(block.spans.len(), items.len());
        for (item, (ri, si, span)) in items.iter().zip(&block.spans) {
            assert_eq!(span, &item.span);
            assert_eq!(&block.resources[*ri as usize], &*item.resource);
            assert_eq!(&block.scopes[*si as usize], &*item.scope);
        }
        let kept = r.decode(|_, h| h.status == StatusCode::Error).unwrap();
        assert_eq!(kept.spans.len(), 1);
        assert_eq!(kept.spans[0].2.span_id, SpanId([3; 8]));
        // One trace's run of rows, read alone, equals filtering the block
        // (parents inside the run resolve, names are built).
        for t in [1u8, 2, 3, 4] {
            let id = TraceId([t; 16]);
            let alone = r.decode_trace(&id).unwrap();
            let filtered = r.decode(|_, h| h.trace_id == id).unwrap();
            assert_eq!(alone.spans, filtered.spans, "trace {t}");
            assert_eq!(alone.spans.is_empty(), t == 4);
        }
    }

    /// An archive block seeded with its items' strings (as compaction seeds
    /// it from the blocks it merges) is byte for byte the two-pass block;
    /// a string missing from the seed is still stored.
    #[test]
    fn seeded_archive_blocks_equal_two_pass_blocks() {
        let a = Arc::new(Resource {
            attributes: vec![KeyValue::string("service.name", "a")],
            ..Default::default()
        });
        let mut items: Vec<SpanItem> = (0..40u8)
            .map(|i| item(i % 5, i, None, u64::from(i) * 1_000, &a))
            .collect();
        sort_for_block(&mut items);
        let ingest = encode(&items, Effort::Ingest).unwrap();
        let reader = SpanBlockReader::open(&ingest).unwrap();
        let strings: Vec<String> = reader.strings().map(str::to_owned).collect();
        assert!(strings.len() > 2, "{strings:?}");
        let seeded = encode_archive(&items, strings.iter().map(String::as_str)).unwrap();
        assert_eq!(seeded, encode(&items, Effort::Archive).unwrap());

        let partial = encode_archive(&items, strings.iter().skip(2).map(String::as_str)).unwrap();
        let back = SpanBlockReader::open(&partial)
            .unwrap()
            .decode(|_, _| true)
            .unwrap();
        let spans: Vec<&Span> = back.spans.iter().map(|(_, _, s)| s).collect();
        assert_eq!(spans, items.iter().map(|i| &i.span).collect::<Vec<_>>());
    }

    /// Regression: a trace run longer than the bytes left in its column was
    /// refused as malformed (the run length is a span count, not a size).
    #[test]
    fn long_trace_runs_decode() {
        let a = Arc::new(Resource::default());
        let mut items: Vec<SpanItem> = (0..300u32)
            .map(|i| {
                let mut it = item(7, 1, None, u64::from(i), &a);
                it.span.span_id = SpanId((u64::from(i) + 1).to_le_bytes());
                it
            })
            .collect();
        sort_for_block(&mut items);
        let bytes = encode(&items, Effort::Ingest).unwrap();
        let block = SpanBlockReader::open(&bytes)
            .unwrap()
            .decode(|_, _| true)
            .unwrap();
        assert_eq!(block.spans.len(), 300);
    }

    /// Traces deep in a block, read from the nearest row-index checkpoint,
    /// equal the same rows read from the top; runs that cross checkpoints
    /// keep their parents.
    #[test]
    fn trace_reads_from_checkpoints_match_full_reads() {
        let svc = |n: usize| {
            Arc::new(Resource {
                attributes: vec![KeyValue::string("service.name", format!("s{n}"))],
                ..Default::default()
            })
        };
        let resources: Vec<_> = (0..3).map(svc).collect();
        let mut items = Vec::new();
        // Run lengths 1..=40 cycling: runs straddle every checkpoint.
        for t in 0..120u32 {
            let len = (t % 40) + 1;
            for k in 0..len {
                let mut it = item(1, 1, None, 0, &resources[(t % 3) as usize]);
                it.span.trace_id = TraceId(u128::from(t).to_be_bytes());
                it.span.span_id = SpanId(((u64::from(t) << 16) | (u64::from(k) + 1)).to_be_bytes());
                it.span.parent_span_id =
                    (k > 0).then(|| SpanId(((u64::from(t) << 16) | u64::from(k)).to_be_bytes()));
                it.span.start_time = UnixNanos(1_000_000 * u64::from(t) + u64::from(k) * 7);
                it.span.end_time = UnixNanos(it.span.start_time.0 + 500);
                it.span.name = format!("op{}", k % 5);
                items.push(it);
            }
        }
        assert!(items.len() > 4 * CHECKPOINT_ROWS);
        sort_for_block(&mut items);
        for effort in [Effort::Ingest, Effort::Archive] {
            let bytes = encode(&items, effort).unwrap();
            let r = SpanBlockReader::open(&bytes).unwrap();
            assert_eq!(
                r.checkpoints().unwrap().len(),
                (items.len() - 1) / CHECKPOINT_ROWS
            );
            for t in 0..120u32 {
                let id = TraceId(u128::from(t).to_be_bytes());
                let alone = r.decode_trace(&id).unwrap();
                let filtered = r.decode(|_, h| h.trace_id == id).unwrap();
                assert_eq!(alone.spans.len(), (t % 40) as usize + 1, "trace {t}");
                assert_eq!(alone.spans, filtered.spans, "trace {t}");
                assert_eq!(alone.resources, filtered.resources);
            }
        }
    }

    /// Regression: `attr=key:value` never matched an array attribute (captured
    /// HTTP headers are arrays of strings): the byte-level scan compared the
    /// whole array's text. An element matches, on the span and on its resource.
    #[test]
    fn attribute_matching_finds_array_elements() {
        let strings =
            |v: &[&str]| AnyValue::Array(v.iter().map(|s| AnyValue::String((*s).into())).collect());
        let a = Arc::new(Resource {
            attributes: vec![
                KeyValue::string("service.name", "a"),
                KeyValue {
                    key: "k8s.labels".into(),
                    value: strings(&["blue", "canary"]),
                },
            ],
            ..Default::default()
        });
        let mut items: Vec<SpanItem> = (1..=3u8).map(|i| item(i, i, None, 10, &a)).collect();
        items[1].span.attributes.push(KeyValue {
            key: "http.request.header.x_req_id".into(),
            value: strings(&["req-1994", "req-1995"]),
        });
        items[2].span.attributes.push(KeyValue {
            key: "http.response.status_codes".into(),
            value: AnyValue::Array(vec![AnyValue::Int(200), AnyValue::Int(404)]),
        });
        sort_for_block(&mut items);
        let bytes = encode(&items, Effort::Ingest).unwrap();
        let r = SpanBlockReader::open(&bytes).unwrap();
        let ids = |want: &[(&str, &str)]| -> Vec<u8> {
            r.decode_matching(|_, _| true, want)
                .unwrap()
                .spans
                .iter()
                .map(|(_, _, s)| s.span_id.0[0])
                .collect()
        };
        assert_eq!(ids(&[("http.request.header.x_req_id", "req-1995")]), [2]);
        assert!(ids(&[("http.request.header.x_req_id", "req-199")]).is_empty());
        assert_eq!(ids(&[("http.response.status_codes", "404")]), [3]);
        assert_eq!(ids(&[("k8s.labels", "canary")]), [1, 2, 3]);
        assert_eq!(
            ids(&[
                ("k8s.labels", "blue"),
                ("http.request.header.x_req_id", "req-1994")
            ]),
            [2]
        );
    }

    #[test]
    fn corrupt_blocks_are_errors_not_panics() {
        let a = Arc::new(Resource::default());
        let items = vec![item(1, 1, None, 10, &a), item(1, 2, Some(1), 20, &a)];
        let bytes = encode(&items, Effort::Ingest).unwrap();
        for cut in 0..bytes.len() {
            if let Ok(r) = SpanBlockReader::open(&bytes[..cut]) {
                let _ = r.decode(|_, _| true);
            }
        }
        let mut flipped = bytes.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0x5a;
            if let Ok(r) = SpanBlockReader::open(&flipped) {
                let _ = r.decode(|_, _| true);
            }
            flipped[i] ^= 0x5a;
        }
    }
}
