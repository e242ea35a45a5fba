//! The log block: an immutable, columnar, zstd-compressed set of log records.
//!
//! Records are sorted by (trace id, time) with trace-less records first:
//! the logs of one trace sit together, so the trace id column is
//! run-length encoded (16 random bytes paid once per trace, not per record)
//! and times are small deltas. Bodies and attributes share the block's
//! string dictionary, which folds repeated messages into one copy.

use std::sync::Arc;

use shared::AnyValue;
use shared::logs::LogRecord;
use shared::trace::{Resource, Scope};
use shared::{SpanId, TraceId, UnixNanos};

use super::codec::{
    ArcTable, CodecError, ContainerReader, ContainerWriter, Cursor, Dict, DictBuilder, Effort,
    put_attrs, put_ivarint, put_resources, put_scopes, put_uvarint, put_value, read_attrs,
    read_resources, read_scopes, read_value, skip_attrs, skip_value,
};

const MAGIC: [u8; 4] = *b"SLLG";
/// Current log block format.
pub const FORMAT_VERSION: u8 = 1;

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
}

/// A log record with the resource and scope it was sent under.
#[derive(Clone, Debug, PartialEq)]
pub struct LogItem {
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
    pub record: LogRecord,
}

/// The key logs are sorted by inside a block.
fn sort_key(l: &LogRecord) -> (TraceId, u64) {
    (l.trace_id.unwrap_or_default(), l.effective_time().0)
}

/// Sorts items into block order.
pub fn sort_for_block(items: &mut [LogItem]) {
    items.sort_by_key(|i| sort_key(&i.record));
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
    w.column(col::DICT, dict.finish());
    for (id, data) in columns {
        w.column(id, data);
    }
    w.finish()
}

fn encode_columns(items: &[LogItem], dict: &mut DictBuilder) -> Vec<(u8, Vec<u8>)> {
    let mut resources: ArcTable<Resource> = ArcTable::default();
    let mut scopes: ArcTable<Scope> = ArcTable::default();
    let (mut span_ids, mut times, mut observed, mut severity) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut bodies, mut attrs, mut refs, mut misc) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut runs: Vec<(Option<TraceId>, u64)> = Vec::new();
    let mut prev_time = 0u64;
    for item in items {
        let l = &item.record;
        match runs.last_mut() {
            Some((id, n)) if *id == l.trace_id => *n += 1,
            _ => runs.push((l.trace_id, 1)),
        }
        match l.span_id {
            Some(s) => {
                span_ids.push(1);
                span_ids.extend_from_slice(&s.0);
            }
            None => span_ids.push(0),
        }
        put_ivarint(&mut times, l.time.0.wrapping_sub(prev_time) as i64);
        prev_time = l.time.0;
        put_ivarint(
            &mut observed,
            l.observed_time.0.wrapping_sub(l.time.0) as i64,
        );
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
    let mut trace_runs = Vec::new();
    put_uvarint(&mut trace_runs, runs.len() as u64);
    for (id, n) in &runs {
        match id {
            Some(id) => {
                trace_runs.push(1);
                trace_runs.extend_from_slice(&id.0);
            }
            None => trace_runs.push(0),
        }
        put_uvarint(&mut trace_runs, *n);
    }
    let res_col = put_resources(dict, resources.items());
    let scope_col = put_scopes(dict, scopes.items());
    vec![
        (col::RESOURCES, res_col),
        (col::SCOPES, scope_col),
        (col::TRACE_RUNS, trace_runs),
        (col::SPAN_IDS, span_ids),
        (col::TIMES, times),
        (col::OBSERVED, observed),
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
    let dict = Dict::decode(&c.column(col::DICT)?)?;
    let resources = read_resources(&c.column(col::RESOURCES)?, &dict)?;
    let scopes = read_scopes(&c.column(col::SCOPES)?, &dict)?;
    let runs_raw = c.column(col::TRACE_RUNS)?;
    let mut runs = Cursor::new(&runs_raw);
    let n_runs = runs.len()?;
    let mut trace_ids: Vec<Option<TraceId>> = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n_runs {
        let id = match runs.u8()? {
            0 => None,
            _ => Some(TraceId(runs.array()?)),
        };
        let len = usize::try_from(runs.uvarint()?).unwrap_or(usize::MAX);
        if len > n - trace_ids.len() {
            return Err(CodecError::Malformed(
                "trace runs exceed the record count".into(),
            ));
        }
        trace_ids.extend(std::iter::repeat_n(id, len));
    }
    if trace_ids.len() != n {
        return Err(CodecError::Malformed(
            "trace runs do not cover the records".into(),
        ));
    }
    let cols: Vec<Vec<u8>> = [
        col::SPAN_IDS,
        col::TIMES,
        col::OBSERVED,
        col::SEVERITY,
        col::BODIES,
        col::ATTRS,
        col::REFS,
        col::MISC,
    ]
    .iter()
    .map(|id| c.column(*id))
    .collect::<Result<_, _>>()?;
    let [ids, times, observed, severity, bodies, attrs, refs, misc] = cols.as_slice() else {
        return Err(CodecError::Malformed("log columns".into()));
    };
    let (mut ids, mut times, mut observed, mut severity) = (
        Cursor::new(ids),
        Cursor::new(times),
        Cursor::new(observed),
        Cursor::new(severity),
    );
    let (mut bodies, mut attrs, mut refs, mut misc) = (
        Cursor::new(bodies),
        Cursor::new(attrs),
        Cursor::new(refs),
        Cursor::new(misc),
    );
    let mut records = Vec::new();
    let mut prev_time = 0u64;
    for trace_id in trace_ids {
        let span_id = match ids.u8()? {
            0 => None,
            _ => Some(SpanId(ids.array()?)),
        };
        let time = prev_time.wrapping_add(times.ivarint()? as u64);
        prev_time = time;
        let observed_time = time.wrapping_add(observed.ivarint()? as u64);
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
        let mut items = vec![
            rec(Some(2), 100, "payment failed"),
            rec(None, 50, "started"),
            rec(Some(1), 0, "zero time"),
            rec(Some(2), 90, "payment failed"),
            rec(Some(1), u64::MAX, "end of time"),
        ];
        items[2].record.body = AnyValue::KvList(vec![KeyValue::string("msg", "structured")]);
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

    #[test]
    fn truncated_blocks_are_errors() {
        let items = vec![rec(Some(1), 1, "a"), rec(None, 2, "b")];
        let bytes = encode(&items, Effort::Ingest).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], |_| true).is_err());
        }
    }
}

/// Block size on a real workload. Not a correctness test: run by hand with
/// `SIGHTLINE_LOG_WORKLOAD=<dir with logs/*.pb> cargo test -p sightline --lib
/// blocks::logs::workload -- --ignored --nocapture`. Prints the compressed
/// bytes per log of every column, as compaction would write the blocks;
/// with `SIGHTLINE_LOG_DUMP=<dir>` also writes each column's raw bytes,
/// concatenated over the blocks, for comparison with other compressors.
#[cfg(test)]
mod workload {
    use super::*;
    use prost::Message;

    const NAMES: [&str; 13] = [
        "count",
        "dictionary",
        "resources",
        "scopes",
        "trace runs",
        "span ids",
        "times",
        "observed",
        "severity",
        "bodies",
        "attributes",
        "refs",
        "misc",
    ];

    fn load(dir: &std::path::Path) -> Vec<LogItem> {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("logs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pb"))
            .collect();
        files.sort();
        let mut items = Vec::new();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let req =
                opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest::decode(
                    bytes.as_slice(),
                )
                .unwrap();
            for rl in crate::ingest::decode::logs(req).unwrap().batch {
                let resource = Arc::new(rl.resource);
                for sl in rl.scope_logs {
                    let scope = Arc::new(sl.scope);
                    for record in sl.log_records {
                        items.push(LogItem {
                            resource: resource.clone(),
                            scope: scope.clone(),
                            record,
                        });
                    }
                }
            }
        }
        items
    }

    #[test]
    #[ignore = "needs a benchmark workload"]
    fn column_sizes() {
        let Ok(dir) = std::env::var("SIGHTLINE_LOG_WORKLOAD") else {
            eprintln!("SIGHTLINE_LOG_WORKLOAD is not set");
            return;
        };
        let dump = std::env::var("SIGHTLINE_LOG_DUMP").ok();
        let mut items = load(std::path::Path::new(&dir));
        items.sort_by_key(|i| i.record.effective_time().0);
        let n = items.len();
        let mut packed = [0usize; 256];
        let mut raw = [0usize; 256];
        let mut total = 0usize;
        let mut dumps: Vec<Vec<u8>> = vec![Vec::new(); 256];
        let (mut enc_time, mut dec_time) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        for chunk in items.chunks(crate::store::compaction::TARGET_ITEMS as usize) {
            let mut block = chunk.to_vec();
            sort_for_block(&mut block);
            let t = std::time::Instant::now();
            let bytes = encode(&block, Effort::Archive).unwrap();
            enc_time += t.elapsed();
            total += bytes.len();
            let c = ContainerReader::parse(&bytes, MAGIC, FORMAT_VERSION).unwrap();
            for (id, r, p) in c.column_sizes() {
                raw[id as usize] += r;
                packed[id as usize] += p;
                if dump.is_some() {
                    dumps[id as usize].extend(c.column(id).unwrap());
                }
            }
            let t = std::time::Instant::now();
            let back = decode(&bytes, |_| true).unwrap();
            dec_time += t.elapsed();
            assert_eq!(back.records.len(), block.len());
            for (item, (_, _, r)) in block.iter().zip(&back.records) {
                assert_eq!(&item.record, r);
            }
        }
        println!("{n} logs, format {FORMAT_VERSION}");
        println!(
            "{:<12} {:>10} {:>10} {:>8}",
            "column", "raw B", "packed B", "B/log"
        );
        for id in 0..256 {
            if raw[id] == 0 && packed[id] == 0 {
                continue;
            }
            let name = NAMES.get(id).copied().unwrap_or("?");
            println!(
                "{name:<12} {:>10} {:>10} {:>8.2}",
                raw[id],
                packed[id],
                packed[id] as f64 / n as f64
            );
            if let Some(d) = &dump {
                std::fs::write(
                    format!("{d}/{id:02}-{}.raw", name.replace(' ', "-")),
                    &dumps[id],
                )
                .unwrap();
            }
        }
        let columns: usize = packed.iter().sum();
        println!(
            "{:<12} {:>10} {:>10} {:>8.2}",
            "headers",
            "",
            total - columns,
            (total - columns) as f64 / n as f64
        );
        println!(
            "{:<12} {:>10} {total:>10} {:>8.2}",
            "total",
            "",
            total as f64 / n as f64
        );
        println!("encode {enc_time:?}, decode {dec_time:?} (debug build)");
    }
}
