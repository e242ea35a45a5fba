//! The log block: an immutable, columnar, zstd-compressed set of log records.
//!
//! Trace-less records come first, then the logs of each trace together,
//! traces in the order of their first record: the trace id column is
//! run-length encoded (16 random bytes paid once per trace, not per record),
//! a span id seen earlier in the trace is a one-byte back reference, and
//! times are small deltas (a run's first time from the previous run's
//! first time, other times from the record before), written as byte planes.
//! Bodies and attributes share the block's string dictionary, which folds
//! repeated messages into one copy.

use std::sync::Arc;

use shared::AnyValue;
use shared::logs::{LogRecord, ResourceLogs};
use shared::trace::{Resource, Scope};
use shared::{SpanId, TraceId, UnixNanos};

use super::codec::{
    ArcTable, CodecError, ContainerReader, ContainerWriter, Cursor, Dict, DictBuilder, Effort,
    put_attrs, put_ivarint, put_planes, put_resources, put_scopes, put_uvarint, put_value,
    read_attrs, read_resources, read_scopes, read_value, skip_attrs, skip_value, unzigzag, zigzag,
};

/// The first bytes of every log block.
pub const MAGIC: [u8; 4] = *b"SLLG";
/// Current log block format. Version 2 orders a block's traces by their
/// first record, keeps trace ids apart from run lengths, refers back to a
/// span id already seen in the trace, writes times as byte planes and
/// front-codes the dictionary; version 1 blocks are still read.
pub const FORMAT_VERSION: u8 = 2;

mod col {
    pub const COUNT: u8 = 0;
    pub const DICT: u8 = 1;
    pub const RESOURCES: u8 = 2;
    pub const SCOPES: u8 = 3;
    pub const TRACE_RUNS: u8 = 4;
    pub const SPAN_IDS: u8 = 5;
    pub const TIMES: u8 = 6;
    pub const OBSERVED: u8 = 7;
    pub const SEVERITY: u8 = 8;
    pub const BODIES: u8 = 9;
    pub const ATTRS: u8 = 10;
    pub const REFS: u8 = 11;
    pub const MISC: u8 = 12;
    /// Version 2: per record, how its span id is found.
    pub const SPAN_REFS: u8 = 13;
    /// Version 2: the trace id of every run that has one.
    pub const TRACE_IDS: u8 = 14;
    /// Version 2: the text of the front-coded dictionary ([`DICT`] holds
    /// its lengths).
    pub const DICT_TEXT: u8 = 15;
}

/// [`col::SPAN_REFS`] values: no span id; a new one, the next 8 bytes of
/// [`col::SPAN_IDS`]; or `SPAN_SEEN + k`, the `k`-th last distinct span
/// id of the current trace run.
const SPAN_NONE: u8 = 0;
const SPAN_NEW: u8 = 1;
const SPAN_SEEN: u8 = 2;

/// A log record with the resource and scope it was sent under.
#[derive(Clone, Debug, PartialEq)]
pub struct LogItem {
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
    pub record: LogRecord,
}

impl LogItem {
    /// The records of a decoded request, each with the resource and scope
    /// it was sent under (shared, not copied).
    pub fn from_request(request: Vec<ResourceLogs>) -> impl Iterator<Item = LogItem> {
        request.into_iter().flat_map(|rl| {
            let resource = Arc::new(rl.resource);
            rl.scope_logs.into_iter().flat_map(move |sl| {
                let (resource, scope) = (resource.clone(), Arc::new(sl.scope));
                sl.log_records.into_iter().map(move |record| LogItem {
                    resource: resource.clone(),
                    scope: scope.clone(),
                    record,
                })
            })
        })
    }
}

/// Sorts items into block order: trace-less records first, then the logs
/// of each trace together, traces in the order of their first record, each
/// trace's logs by time. A trace run then starts a small step after the
/// one before it, which its time delta shows.
pub fn sort_for_block(items: &mut [LogItem]) {
    let mut first: rustc_hash::FxHashMap<TraceId, u64> = rustc_hash::FxHashMap::default();
    for i in items.iter() {
        if let Some(t) = i.record.trace_id {
            let e = first.entry(t).or_insert(u64::MAX);
            *e = (*e).min(i.record.effective_time().0);
        }
    }
    // Keys once, then one move per item (see the span blocks' sort).
    items.sort_by_cached_key(|i| {
        let t = i.record.effective_time().0;
        match i.record.trace_id {
            None => (false, 0, TraceId::default(), t),
            Some(id) => (true, first.get(&id).copied().unwrap_or(t), id, t),
        }
    });
}

/// Encodes `items`, which must already be in [`sort_for_block`] order.
pub fn encode(items: &[LogItem], effort: Effort) -> Result<Vec<u8>, CodecError> {
    let mut dict = DictBuilder::default();
    // Archive blocks: a first pass collects the strings, a second writes the
    // final, sorted indexes. Ingest blocks keep first-seen order (one pass):
    // they are on the writer's critical path and compaction sorts them later.
    if effort == Effort::Archive {
        let _ = encode_columns(items, &mut dict);
        dict.freeze_sorted();
    }
    let columns = encode_columns(items, &mut dict);
    let mut count = Vec::new();
    put_uvarint(&mut count, items.len() as u64);
    let mut w = ContainerWriter::new(MAGIC, FORMAT_VERSION, effort);
    w.column(col::COUNT, count);
    let (dict_lens, dict_text) = dict.finish_front_coded();
    w.column(col::DICT, dict_lens);
    w.column(col::DICT_TEXT, dict_text);
    for (id, data) in columns {
        w.column(id, data);
    }
    w.finish()
}

fn encode_columns(items: &[LogItem], dict: &mut DictBuilder) -> Vec<(u8, Vec<u8>)> {
    let mut resources: ArcTable<Resource> = ArcTable::default();
    let mut scopes: ArcTable<Scope> = ArcTable::default();
    let (mut span_refs, mut span_ids, mut severity) = (Vec::new(), Vec::new(), Vec::new());
    let (mut bodies, mut attrs, mut refs, mut misc) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut times, mut starts) = (Vec::with_capacity(items.len()), Vec::new());
    let mut observed = Vec::with_capacity(items.len());
    let mut runs: Vec<(Option<TraceId>, u64)> = Vec::new();
    // Distinct span ids of the current run, most recent last.
    let mut run_spans: Vec<SpanId> = Vec::new();
    let (mut prev_time, mut run_start) = (0u64, 0u64);
    for item in items {
        let l = &item.record;
        match runs.last_mut() {
            Some((id, n)) if *id == l.trace_id => {
                *n += 1;
                times.push(zigzag(l.time.0.wrapping_sub(prev_time) as i64));
            }
            _ => {
                runs.push((l.trace_id, 1));
                run_spans.clear();
                starts.push(zigzag(l.time.0.wrapping_sub(run_start) as i64));
                run_start = l.time.0;
            }
        }
        prev_time = l.time.0;
        match l.span_id {
            None => span_refs.push(SPAN_NONE),
            Some(s) => match run_spans.iter().rev().position(|x| *x == s) {
                Some(k) if k < usize::from(u8::MAX - SPAN_SEEN) => {
                    span_refs.push(SPAN_SEEN + k as u8);
                }
                _ => {
                    span_refs.push(SPAN_NEW);
                    span_ids.extend_from_slice(&s.0);
                    run_spans.push(s);
                }
            },
        }
        observed.push(zigzag(l.observed_time.0.wrapping_sub(l.time.0) as i64));
        put_ivarint(&mut severity, i64::from(l.severity_number));
        put_uvarint(&mut severity, u64::from(dict.intern(&l.severity_text)));
        put_value(&mut bodies, dict, &l.body);
        put_attrs(&mut attrs, dict, &l.attributes);
        put_uvarint(&mut refs, u64::from(resources.index(&item.resource)));
        put_uvarint(&mut refs, u64::from(scopes.index(&item.scope)));
        put_uvarint(&mut misc, u64::from(l.flags));
        put_uvarint(&mut misc, u64::from(l.dropped_attributes_count));
        put_uvarint(&mut misc, u64::from(dict.intern(&l.event_name)));
    }
    let (mut trace_runs, mut trace_ids) = (Vec::new(), Vec::new());
    put_uvarint(&mut trace_runs, runs.len() as u64);
    for (id, n) in &runs {
        trace_runs.push(u8::from(id.is_some()));
        put_uvarint(&mut trace_runs, *n);
        if let Some(id) = id {
            trace_ids.extend_from_slice(&id.0);
        }
    }
    // Run starts are a step of about a block's span over its traces; other
    // deltas are within one trace: two plane sets, one per distribution.
    let (mut time_col, mut observed_col) = (Vec::new(), Vec::new());
    put_planes(&mut time_col, &starts);
    put_planes(&mut time_col, &times);
    put_planes(&mut observed_col, &observed);
    let res_col = put_resources(dict, resources.items());
    let scope_col = put_scopes(dict, scopes.items());
    vec![
        (col::RESOURCES, res_col),
        (col::SCOPES, scope_col),
        (col::TRACE_RUNS, trace_runs),
        (col::TRACE_IDS, trace_ids),
        (col::SPAN_REFS, span_refs),
        (col::SPAN_IDS, span_ids),
        (col::TIMES, time_col),
        (col::OBSERVED, observed_col),
        (col::SEVERITY, severity),
        (col::BODIES, bodies),
        (col::ATTRS, attrs),
        (col::REFS, refs),
        (col::MISC, misc),
    ]
}

/// The distinct trace ids of a block, read from its run column alone.
pub fn trace_ids(bytes: &[u8]) -> Result<Vec<TraceId>, CodecError> {
    let container = ContainerReader::parse(bytes, MAGIC, FORMAT_VERSION)?;
    if container.version >= 2 {
        let raw = container.column(col::TRACE_IDS)?;
        if raw.len() % 16 != 0 {
            return Err(CodecError::Malformed("trace id column".into()));
        }
        return Ok(raw
            .chunks_exact(16)
            .filter_map(|c| <[u8; 16]>::try_from(c).ok().map(TraceId))
            .collect());
    }
    let raw = container.column(col::TRACE_RUNS)?;
    let mut c = Cursor::new(&raw);
    let n = c.len()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if c.u8()? != 0 {
            out.push(TraceId(c.array()?));
        }
        c.uvarint()?;
    }
    Ok(out)
}

/// Per record: trace id, span id, time and observed time.
struct Heads {
    trace_ids: Vec<Option<TraceId>>,
    span_ids: Vec<Option<SpanId>>,
    times: Vec<u64>,
    observed: Vec<u64>,
}

/// Reads the trace runs: the trace id of each of the `n` records, and
/// where each run starts.
fn read_runs(
    c: &ContainerReader<'_>,
    n: usize,
) -> Result<(Vec<Option<TraceId>>, Vec<usize>), CodecError> {
    let runs_raw = c.column(col::TRACE_RUNS)?;
    let ids_raw = if c.version >= 2 {
        c.column(col::TRACE_IDS)?
    } else {
        Vec::new()
    };
    let mut runs = Cursor::new(&runs_raw);
    let mut ids = Cursor::new(&ids_raw);
    let n_runs = runs.len()?;
    let mut trace_ids: Vec<Option<TraceId>> = Vec::with_capacity(n.min(1 << 20));
    let mut starts = Vec::with_capacity(n_runs.min(1 << 20));
    for _ in 0..n_runs {
        let id = match runs.u8()? {
            0 => None,
            _ if c.version >= 2 => Some(TraceId(ids.array()?)),
            _ => Some(TraceId(runs.array()?)),
        };
        let len = usize::try_from(runs.uvarint()?).unwrap_or(usize::MAX);
        if len > n - trace_ids.len() {
            return Err(CodecError::Malformed(
                "trace runs exceed the record count".into(),
            ));
        }
        starts.push(trace_ids.len());
        trace_ids.extend(std::iter::repeat_n(id, len));
    }
    if trace_ids.len() != n {
        return Err(CodecError::Malformed(
            "trace runs do not cover the records".into(),
        ));
    }
    Ok((trace_ids, starts))
}

fn read_heads(c: &ContainerReader<'_>, n: usize) -> Result<Heads, CodecError> {
    let (trace_ids, starts) = read_runs(c, n)?;
    let ids_raw = c.column(col::SPAN_IDS)?;
    let times_raw = c.column(col::TIMES)?;
    let observed_raw = c.column(col::OBSERVED)?;
    let mut ids = Cursor::new(&ids_raw);
    let mut span_ids = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    let mut observed = Vec::with_capacity(n);
    if c.version < 2 {
        let (mut t, mut o) = (Cursor::new(&times_raw), Cursor::new(&observed_raw));
        let mut prev = 0u64;
        for _ in 0..n {
            span_ids.push(match ids.u8()? {
                0 => None,
                _ => Some(SpanId(ids.array()?)),
            });
            let time = prev.wrapping_add(t.ivarint()? as u64);
            prev = time;
            times.push(time);
            observed.push(time.wrapping_add(o.ivarint()? as u64));
        }
        return Ok(Heads {
            trace_ids,
            span_ids,
            times,
            observed,
        });
    }
    let refs_raw = c.column(col::SPAN_REFS)?;
    if refs_raw.len() != n {
        return Err(CodecError::Malformed("span references".into()));
    }
    let mut time_cursor = Cursor::new(&times_raw);
    let mut run_deltas = time_cursor.planes(starts.len())?.into_iter();
    let mut deltas = time_cursor.planes(n - starts.len())?.into_iter();
    let offsets = Cursor::new(&observed_raw).planes(n)?;
    let mut next_run = starts.iter().copied().peekable();
    let mut run_spans: Vec<SpanId> = Vec::new();
    let (mut prev, mut run_start) = (0u64, 0u64);
    let missing = || CodecError::Malformed("time column".into());
    for (i, (r, o)) in refs_raw.iter().zip(offsets).enumerate() {
        let time = if next_run.next_if_eq(&i).is_some() {
            run_spans.clear();
            run_start =
                run_start.wrapping_add(unzigzag(run_deltas.next().ok_or_else(missing)?) as u64);
            run_start
        } else {
            prev.wrapping_add(unzigzag(deltas.next().ok_or_else(missing)?) as u64)
        };
        prev = time;
        times.push(time);
        observed.push(time.wrapping_add(unzigzag(o) as u64));
        span_ids.push(match *r {
            SPAN_NONE => None,
            SPAN_NEW => {
                let s = SpanId(ids.array()?);
                run_spans.push(s);
                Some(s)
            }
            k => {
                let back = usize::from(k - SPAN_SEEN);
                let s = run_spans
                    .len()
                    .checked_sub(back + 1)
                    .and_then(|j| run_spans.get(j))
                    .ok_or_else(|| CodecError::Malformed("span reference".into()))?;
                Some(*s)
            }
        });
    }
    Ok(Heads {
        trace_ids,
        span_ids,
        times,
        observed,
    })
}

/// A decoded log block.
pub struct LogBlock {
    pub resources: Vec<Resource>,
    pub scopes: Vec<Scope>,
    /// (resource index, scope index, record) in block order.
    pub records: Vec<(u32, u32, LogRecord)>,
}

/// Decodes a log block; `keep(record)` chooses which records to return.
pub fn decode(bytes: &[u8], keep: impl FnMut(&LogRecord) -> bool) -> Result<LogBlock, CodecError> {
    decode_where(bytes, |_| true, |_| true, keep)
}

/// The fields of a record that are cheap to read, for filtering before the
/// body and attributes are built.
pub struct LogHead {
    pub time: u64,
    pub observed_time: u64,
    pub severity_number: i32,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
}

impl LogHead {
    /// The time lists sort by (as [`LogRecord::effective_time`]).
    pub fn effective_time(&self) -> u64 {
        if self.time != 0 {
            self.time
        } else {
            self.observed_time
        }
    }
}

/// Decodes the records passing three filters in turn: `head` (before
/// anything is built), `body` (before the attributes are), then `keep`
/// on the whole record. Rows failing early are stepped over cheaply.
pub fn decode_where(
    bytes: &[u8],
    mut head: impl FnMut(&LogHead) -> bool,
    mut body_ok: impl FnMut(&AnyValue) -> bool,
    mut keep: impl FnMut(&LogRecord) -> bool,
) -> Result<LogBlock, CodecError> {
    let c = ContainerReader::parse(bytes, MAGIC, FORMAT_VERSION)?;
    let count_raw = c.column(col::COUNT)?;
    let n = usize::try_from(Cursor::new(&count_raw).uvarint()?)
        .map_err(|_| CodecError::Malformed("log count".into()))?;
    let dict = if c.version >= 2 {
        Dict::decode_front_coded(&c.column(col::DICT)?, &c.column(col::DICT_TEXT)?)?
    } else {
        Dict::decode(&c.column(col::DICT)?)?
    };
    let resources = read_resources(&c.column(col::RESOURCES)?, &dict)?;
    let scopes = read_scopes(&c.column(col::SCOPES)?, &dict)?;
    let cols: Vec<Vec<u8>> = [col::SEVERITY, col::BODIES, col::ATTRS, col::REFS, col::MISC]
        .iter()
        .map(|id| c.column(*id))
        .collect::<Result<_, _>>()?;
    let [severity, bodies, attrs, refs, misc] = cols.as_slice() else {
        return Err(CodecError::Malformed("log columns".into()));
    };
    // Every record writes at least two bytes of severity (number, text):
    // a count beyond that is corrupt, and is refused before anything is
    // sized by it.
    if n > severity.len() / 2 {
        return Err(CodecError::Malformed(format!(
            "{n} log records in {} bytes of severity",
            severity.len()
        )));
    }
    let heads = read_heads(&c, n)?;
    let mut severity = Cursor::new(severity);
    let (mut bodies, mut attrs, mut refs, mut misc) = (
        Cursor::new(bodies),
        Cursor::new(attrs),
        Cursor::new(refs),
        Cursor::new(misc),
    );
    let mut records = Vec::new();
    let rows = heads
        .trace_ids
        .into_iter()
        .zip(heads.span_ids)
        .zip(heads.times.into_iter().zip(heads.observed));
    for ((trace_id, span_id), (time, observed_time)) in rows {
        let severity_number = i32::try_from(severity.ivarint()?)
            .map_err(|_| CodecError::Malformed("severity".into()))?;
        let h = LogHead {
            time,
            observed_time,
            severity_number,
            trace_id,
            span_id,
        };
        let wanted = head(&h);
        let body = if wanted {
            Some(read_value(&mut bodies, &dict)?)
        } else {
            skip_value(&mut bodies, &dict)?;
            None
        };
        let Some(body) = body.filter(|b| body_ok(b)) else {
            dict.skip(&mut severity)?;
            skip_attrs(&mut attrs, &dict)?;
            refs.u32v()?;
            refs.u32v()?;
            misc.u32v()?;
            misc.u32v()?;
            dict.skip(&mut misc)?;
            continue;
        };
        let severity_text = dict.read(&mut severity)?;
        let attributes = read_attrs(&mut attrs, &dict)?;
        let (ri, si) = (refs.u32v()?, refs.u32v()?);
        if ri as usize >= resources.len() || si as usize >= scopes.len() {
            return Err(CodecError::Malformed(
                "resource or scope index out of range".into(),
            ));
        }
        let record = LogRecord {
            time: UnixNanos(time),
            observed_time: UnixNanos(observed_time),
            severity_number,
            severity_text,
            body,
            attributes,
            flags: misc.u32v()?,
            dropped_attributes_count: misc.u32v()?,
            event_name: dict.read(&mut misc)?,
            trace_id,
            span_id,
        };
        if keep(&record) {
            records.push((ri, si, record));
        }
    }
    Ok(LogBlock {
        resources,
        scopes,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{AnyValue, KeyValue};

    fn rec(trace: Option<u8>, t: u64, body: &str) -> LogItem {
        LogItem {
            resource: Arc::new(Resource {
                attributes: vec![KeyValue::string("service.name", "cart")],
                ..Default::default()
            }),
            scope: Arc::new(Scope {
                name: "cart.log".into(),
                ..Default::default()
            }),
            record: LogRecord {
                time: UnixNanos(t),
                observed_time: UnixNanos(t.wrapping_add(7)),
                severity_number: 17,
                severity_text: "ERROR".into(),
                body: AnyValue::String(body.into()),
                attributes: vec![KeyValue {
                    key: "retry".into(),
                    value: AnyValue::Bool(true),
                }],
                dropped_attributes_count: 2,
                flags: 1,
                trace_id: trace.map(|t| TraceId([t; 16])),
                span_id: trace.map(|t| SpanId([t; 8])),
                event_name: if t.is_multiple_of(2) {
                    "ev".into()
                } else {
                    String::new()
                },
            },
        }
    }

    #[test]
    fn block_round_trip_is_lossless() {
        let mut items = mixed_items();
        sort_for_block(&mut items);
        let bytes = encode(&items, Effort::Ingest).unwrap();
        let block = decode(&bytes, |_| true).unwrap();
        assert_eq!(block.records.len(), items.len());
        for (item, (ri, si, r)) in items.iter().zip(&block.records) {
            assert_eq!(r, &item.record);
            assert_eq!(&block.resources[*ri as usize], &*item.resource);
            assert_eq!(&block.scopes[*si as usize], &*item.scope);
        }
        let only = decode(&bytes, |r| r.trace_id == Some(TraceId([2; 16]))).unwrap();
        assert_eq!(only.records.len(), 2);
    }

    /// Regression: a trace run longer than the bytes left in its column was
    /// refused as malformed (the run length is a record count, not a size).
    #[test]
    fn long_trace_runs_decode() {
        let mut items: Vec<LogItem> = (0..300u64).map(|t| rec(Some(3), t, "x")).collect();
        sort_for_block(&mut items);
        let bytes = encode(&items, Effort::Ingest).unwrap();
        assert_eq!(decode(&bytes, |_| true).unwrap().records.len(), 300);
    }

    fn mixed_items() -> Vec<LogItem> {
        let mut items = vec![
            rec(Some(2), 100, "payment failed"),
            rec(None, 50, "started"),
            rec(Some(1), 0, "zero time"),
            rec(Some(2), 90, "payment failed"),
            rec(Some(1), u64::MAX, "end of time"),
        ];
        items[2].record.body = AnyValue::KvList(vec![KeyValue::string("msg", "structured")]);
        items
    }

    /// A block written by the version 1 encoder (the items of
    /// [`mixed_items`] in version 1 order, archive effort) still decodes.
    #[test]
    fn version_1_blocks_decode() {
        let bytes = include_bytes!("testdata/logs-v1.block");
        let block = decode(bytes, |_| true).unwrap();
        let mut want: Vec<LogRecord> = mixed_items().into_iter().map(|i| i.record).collect();
        want.sort_by_key(|r| (r.trace_id.unwrap_or_default(), r.effective_time().0));
        let got: Vec<&LogRecord> = block.records.iter().map(|(_, _, r)| r).collect();
        assert_eq!(got, want.iter().collect::<Vec<_>>());
        assert_eq!(
            trace_ids(bytes).unwrap(),
            vec![TraceId([1; 16]), TraceId([2; 16])]
        );
    }

    /// Span ids repeat within a trace, traces interleave in time, a
    /// trace-less record carries a span id, and times run backwards
    /// (records without a time sort by their observed time).
    #[test]
    fn traces_spans_and_times_round_trip() {
        let mut items = Vec::new();
        for k in 0..600u64 {
            let trace = (k % 3) as u8 + 1;
            let mut item = rec(Some(trace), 1_000_000 * (k % 50) + k * 7, "x");
            item.record.span_id = Some(SpanId([(k % 7) as u8 + 10 * trace; 8]));
            if k % 97 == 0 {
                item.record.time = UnixNanos(0);
            }
            item.record.observed_time = UnixNanos(item.record.time.0 ^ (k * 1_234_567));
            items.push(item);
        }
        let mut orphan = rec(None, 5, "no trace");
        orphan.record.span_id = Some(SpanId([9; 8]));
        items.push(orphan);
        sort_for_block(&mut items);
        for effort in [Effort::Ingest, Effort::Archive] {
            let bytes = encode(&items, effort).unwrap();
            let block = decode(&bytes, |_| true).unwrap();
            let got: Vec<&LogRecord> = block.records.iter().map(|(_, _, r)| r).collect();
            assert_eq!(got, items.iter().map(|i| &i.record).collect::<Vec<_>>());
            let mut ids = trace_ids(&bytes).unwrap();
            ids.sort();
            assert_eq!(
                ids,
                vec![TraceId([1; 16]), TraceId([2; 16]), TraceId([3; 16])]
            );
        }
    }

    #[test]
    fn truncated_blocks_are_errors() {
        let items = vec![rec(Some(1), 1, "a"), rec(None, 2, "b")];
        let bytes = encode(&items, Effort::Ingest).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], |_| true).is_err());
        }
    }

    /// A forged record count far beyond the data is refused before any
    /// buffer is sized by it.
    #[test]
    fn an_inflated_record_count_is_refused() {
        let items = vec![rec(Some(1), 1, "a"), rec(None, 2, "b")];
        let bytes = encode(&items, Effort::Ingest).unwrap();
        let r = ContainerReader::parse(&bytes, MAGIC, FORMAT_VERSION).unwrap();
        let ids: Vec<u8> = r.column_sizes().map(|(id, _, _)| id).collect();
        let mut w = ContainerWriter::new(MAGIC, FORMAT_VERSION, Effort::Ingest);
        for id in ids {
            let data = if id == col::COUNT {
                let mut b = Vec::new();
                put_uvarint(&mut b, 1 << 40);
                b
            } else {
                r.column(id).unwrap()
            };
            w.column(id, data);
        }
        let forged = w.finish().unwrap();
        assert!(matches!(
            decode(&forged, |_| true),
            Err(CodecError::Malformed(_))
        ));
    }
}
