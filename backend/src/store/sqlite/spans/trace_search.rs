//! `GET /api/traces`: trace summaries newest first.
//!
//! The `traces` table answers alone what its rows hold (walking
//! `traces_by_start` backwards, or a service's rows in `trace_services`
//! when that service is rare): start, status, durations, a service among
//! the trace's services, the root span's service and name (`root_only`),
//! a trace id prefix.
//!
//! Conditions on some span of the trace are answered from the span blocks
//! of the window, newest first: `operation` (with `service`: a span of that
//! service with that name), the names of free text (a span whose name or
//! service holds it) and `attr` filters. One condition drives the scan:
//! `operation` and free text pick blocks by their `span_groups` rows and
//! read span heads only; `attr` reads the window's blocks that the Bloom
//! filters do not rule out (indexed keys), building only spans whose stored
//! attributes match. A trace found so is checked against the row filters,
//! then against any other span condition on all its spans (its own blocks).
//! The span that finds a trace must start inside the window (only the
//! window's blocks are read).

use std::collections::HashSet;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use shared::api::{TraceSummary, TracesResponse};
use shared::query::{AttrFilter, Bounds, StatusFilter, TraceQuery};
use shared::trace::Span;
use shared::{KeyValue, TraceId, TraceIdPrefix, UnixNanos};

use crate::store::StoreError;
use crate::store::contract::SearchError;
use crate::store::cursor;
use crate::store::sqlite::blocks::SIGNAL_SPANS;
use crate::store::sqlite::blocks::bloom::Bloom;
use crate::store::sqlite::blocks::spans::SpanBlockReader;
use crate::store::sqlite::readers::{block_data, trace_summary};
use crate::store::sqlite::search::newest::Newest;
use crate::store::sqlite::search::{SearchContext, attrs};
use crate::store::sqlite::{strings, varlist};

/// Sort key of a trace in lists: (start time, row id).
type TraceKey = (u64, i64);

/// The columns every summary query selects, in [`SummaryRow::read`] order.
pub const SUMMARY_COLUMNS: &str = "t.id, t.trace_id, t.start_time, t.start_time + t.duration, t.span_count, t.error_count, t.root_service_id, t.root_name_id, t.root_is_real, t.services, t.log_count";

/// One `traces` row, before its string ids are resolved.
pub struct SummaryRow {
    pub row: i64,
    pub trace_id: TraceId,
    pub start: u64,
    pub end: u64,
    pub spans: u64,
    pub errors: u64,
    pub root_service: i64,
    pub root_name: i64,
    pub root_is_real: bool,
    pub services: Vec<i64>,
    pub logs: u64,
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl SummaryRow {
    pub fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        let id: Vec<u8> = r.get(1)?;
        Ok(Self {
            row: r.get(0)?,
            trace_id: TraceId(id.try_into().unwrap_or([0; 16])),
            start: u(r.get(2)?),
            end: u(r.get(3)?),
            spans: u(r.get(4)?),
            errors: u(r.get(5)?),
            root_service: r.get(6)?,
            root_name: r.get(7)?,
            root_is_real: r.get::<_, i64>(8)? != 0,
            services: varlist::decode(&r.get::<_, Vec<u8>>(9)?),
            logs: u(r.get(10)?),
        })
    }

    fn key(&self) -> TraceKey {
        (self.start, self.row)
    }

    pub fn into_summary(self, conn: &Connection) -> Result<TraceSummary, StoreError> {
        let has_spans = self.spans > 0;
        Ok(TraceSummary {
            trace_id: self.trace_id,
            start_time: UnixNanos(self.start),
            end_time: UnixNanos(self.end),
            duration: UnixNanos(self.end.saturating_sub(self.start)),
            root_service: if has_spans {
                strings::value(conn, self.root_service)?
            } else {
                String::new()
            },
            root_name: if has_spans {
                strings::value(conn, self.root_name)?
            } else {
                String::new()
            },
            root_is_real: self.root_is_real,
            span_count: self.spans,
            error_count: self.errors,
            services: self
                .services
                .iter()
                .map(|&id| strings::value(conn, id))
                .collect::<Result<_, _>>()?,
            log_count: self.logs,
        })
    }
}

/// The trace filters that live in the `traces` row, resolved to ids.
struct RowFilter {
    bounds: Bounds,
    after: Option<TraceKey>,
    status: Option<StatusFilter>,
    min_duration: Option<u64>,
    max_duration: Option<u64>,
    /// A service among the trace's services.
    any_service: Option<i64>,
    /// The root span's service and name (`root_only`).
    root_service: Option<i64>,
    root_name: Option<i64>,
    text: Option<RowText>,
}

/// Free text the row answers.
enum RowText {
    /// The first bytes of the trace id.
    TraceIdPrefix(Vec<u8>),
    /// The root's name or service is one of these strings (`root_only`).
    RootNames(HashSet<i64>),
}

impl RowFilter {
    fn accepts(&self, r: &SummaryRow) -> bool {
        let dur = r.end.saturating_sub(r.start);
        r.spans > 0
            && self.bounds.contains(r.start)
            && self.after.is_none_or(|a| r.key() < a)
            && match self.status {
                Some(StatusFilter::Error) => r.errors > 0,
                Some(_) => r.errors == 0,
                None => true,
            }
            && self.min_duration.is_none_or(|m| dur >= m)
            && self.max_duration.is_none_or(|m| dur <= m)
            && self.any_service.is_none_or(|s| r.services.contains(&s))
            && self.root_service.is_none_or(|s| r.root_service == s)
            && self.root_name.is_none_or(|o| r.root_name == o)
            && match &self.text {
                None => true,
                Some(RowText::TraceIdPrefix(p)) => r.trace_id.0.starts_with(p),
                Some(RowText::RootNames(ids)) => {
                    ids.contains(&r.root_name) || ids.contains(&r.root_service)
                }
            }
    }
}

/// A condition that some span of the trace must meet.
enum SpanCondition {
    /// A span named `name`, of `service` when given.
    Named {
        service: Option<(String, i64)>,
        name: (String, i64),
    },
    /// A span whose name or service holds `lower` (ASCII case folded, as
    /// SQLite's `LIKE` folds it); `ids` are the strings that do.
    Text { lower: String, ids: Vec<i64> },
    /// A span with every filter on its own or its resource's attributes.
    Attrs(Vec<AttrFilter>),
}

impl SpanCondition {
    /// Decided by the span's service and name alone (not `Attrs`).
    fn matches_head(&self, service: &str, name: &str) -> bool {
        match self {
            SpanCondition::Named {
                service: s,
                name: n,
            } => s.as_ref().is_none_or(|(s, _)| s == service) && n.0 == name,
            SpanCondition::Text { lower, .. } => {
                name.to_ascii_lowercase().contains(lower.as_str())
                    || service.to_ascii_lowercase().contains(lower.as_str())
            }
            SpanCondition::Attrs(_) => false,
        }
    }

    fn matches_span(&self, service: &str, span: &Span, resource: &[KeyValue]) -> bool {
        match self {
            SpanCondition::Attrs(filters) => {
                attrs::all_match(filters, &[&span.attributes, resource])
            }
            other => other.matches_head(service, &span.name),
        }
    }

    /// Which condition drives the scan (lowest first): an exact name finds
    /// few blocks by their groups and reads heads only; indexed attributes
    /// skip blocks by filter; free text reads heads of the blocks whose
    /// groups hold a matching name; other attributes read every block.
    fn scan_rank(&self, ctx: &SearchContext) -> u8 {
        match self {
            SpanCondition::Named { .. } => 0,
            SpanCondition::Attrs(f) if f.iter().any(|f| ctx.is_indexed(&f.key)) => 1,
            SpanCondition::Text { .. } => 2,
            SpanCondition::Attrs(_) => 3,
        }
    }
}

/// A search resolved against the strings table.
struct Plan {
    rows: RowFilter,
    /// Driving condition first.
    spans: Vec<SpanCondition>,
}

/// At most this many strings are taken as the names free text matches.
const MAX_NAME_MATCHES: usize = 10_000;

/// Free text: a trace id prefix (8 to 32 hex digits, even), else names.
enum TextFilter {
    TraceIdPrefix(Vec<u8>),
    Names(HashSet<i64>),
}

fn text_filter(conn: &Connection, q: &str) -> Result<TextFilter, StoreError> {
    let hex = q.trim().to_ascii_lowercase();
    if hex.len() >= 8
        && hex.len() <= 32
        && hex.len().is_multiple_of(2)
        && hex.chars().all(|c| c.is_ascii_hexdigit())
    {
        let bytes = (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect();
        return Ok(TextFilter::TraceIdPrefix(bytes));
    }
    // Case-insensitive substring over names (span and service names share
    // the strings table; LIKE folds ASCII case).
    let pattern = format!(
        "%{}%",
        q.trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let ids = conn
        .prepare_cached("SELECT id FROM strings WHERE value LIKE ?1 ESCAPE '\\' LIMIT ?2")?
        .query_map(params![pattern, MAX_NAME_MATCHES as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(TextFilter::Names(ids))
}

/// The query as row filters and span conditions; `None` when it names a
/// service, operation or text no stored string has (nothing matches).
fn plan(
    conn: &Connection,
    ctx: &SearchContext,
    q: &TraceQuery,
    bounds: Bounds,
) -> Result<Option<Plan>, SearchError> {
    let after = match &q.cursor {
        Some(c) => {
            let f = cursor::decode("traces", c, 2)?;
            Some((cursor::number(&f[0])?, cursor::number(&f[1])?))
        }
        None => None,
    };
    let mut rows = RowFilter {
        bounds,
        after,
        status: q.status,
        min_duration: q.min_duration,
        max_duration: q.max_duration,
        any_service: None,
        root_service: None,
        root_name: None,
        text: None,
    };
    let mut spans = Vec::new();
    let known = |name: &Option<String>| -> Result<Option<Option<(String, i64)>>, StoreError> {
        Ok(match name {
            None => Some(None),
            Some(n) => strings::lookup(conn, n)?.map(|id| Some((n.clone(), id))),
        })
    };
    let (Some(service), Some(operation)) = (known(&q.service)?, known(&q.operation)?) else {
        return Ok(None);
    };
    if q.root_only {
        rows.root_service = service.map(|s| s.1);
        rows.root_name = operation.map(|o| o.1);
    } else if let Some(name) = operation {
        spans.push(SpanCondition::Named { service, name });
    } else {
        rows.any_service = service.map(|s| s.1);
    }
    match q.q.as_deref().map(|t| text_filter(conn, t)).transpose()? {
        None => {}
        Some(TextFilter::TraceIdPrefix(p)) => rows.text = Some(RowText::TraceIdPrefix(p)),
        Some(TextFilter::Names(ids)) if ids.is_empty() => return Ok(None),
        Some(TextFilter::Names(ids)) if q.root_only => rows.text = Some(RowText::RootNames(ids)),
        Some(TextFilter::Names(ids)) => spans.push(SpanCondition::Text {
            lower: q
                .q
                .as_deref()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase(),
            ids: ids.into_iter().collect(),
        }),
    }
    if !q.attrs.is_empty() {
        spans.push(SpanCondition::Attrs(q.attrs.clone()));
    }
    spans.sort_by_key(|c| c.scan_rank(ctx));
    Ok(Some(Plan { rows, spans }))
}

fn finish(
    conn: &Connection,
    found: Newest<TraceKey, SummaryRow>,
) -> Result<TracesResponse, SearchError> {
    let (rows, last) = found.finish();
    let traces = rows
        .into_iter()
        .map(|r| r.into_summary(conn))
        .collect::<Result<_, _>>()?;
    Ok(TracesResponse {
        traces,
        next_cursor: last
            .map(|(start, row)| cursor::encode("traces", &[start.to_string(), row.to_string()])),
    })
}

/// Traces matching `q` within `bounds`, newest first.
pub fn search(
    conn: &Connection,
    ctx: &SearchContext,
    q: &TraceQuery,
    bounds: Bounds,
) -> Result<TracesResponse, SearchError> {
    let limit = q.limit.unwrap_or(shared::query::DEFAULT_LIMIT);
    match plan(conn, ctx, q, bounds)? {
        None => finish(conn, Newest::new(limit)),
        Some(p) if p.spans.is_empty() => by_rows(conn, &p.rows, limit),
        Some(p) => by_span_blocks(conn, ctx, &p, limit),
    }
}

/// Ids of the traces with spans that start with `prefix`, in id order.
///
/// The `traces` table is indexed by the ids' last 8 bytes only
/// (`trace_by_id!`), so this reads the whole table (about 0.15 s per
/// million traces): an index on the first bytes would cost ~12 bytes per
/// trace for a lookup people make by hand.
pub fn ids_with_prefix(
    conn: &Connection,
    prefix: &TraceIdPrefix,
    limit: usize,
) -> Result<Vec<TraceId>, StoreError> {
    let (lo, hi) = prefix.bounds();
    let ids = conn
        .prepare_cached(
            "SELECT trace_id FROM traces WHERE trace_id BETWEEN ?1 AND ?2 AND span_count > 0
             ORDER BY trace_id LIMIT ?3",
        )?
        .query_map(
            params![
                lo.0.as_slice(),
                hi.0.as_slice(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| r.get::<_, Vec<u8>>(0),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids
        .iter()
        .filter_map(|b| TraceId::from_bytes(b).ok())
        .collect())
}

/// The `traces` table alone, newest first.
fn by_rows(conn: &Connection, f: &RowFilter, limit: usize) -> Result<TracesResponse, SearchError> {
    let mut sql = String::new();
    let mut args: Vec<Value> = Vec::new();
    let service = f.any_service;
    // A rare service is cheaper to start from its own rows.
    let rare_service = match service {
        Some(s) => {
            let (of_service, all): (i64, i64) = conn.query_row(
                "SELECT (SELECT count(*) FROM trace_services WHERE service_id = ?1),
                        (SELECT max(id) FROM traces)",
                [s],
                |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0))),
            )?;
            of_service * 20 < all
        }
        None => false,
    };
    if rare_service {
        sql.push_str(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM trace_services ts JOIN traces t ON t.id = ts.trace_row
             WHERE ts.service_id = ? AND t.span_count > 0"
        ));
        args.push(Value::Integer(service.unwrap_or(0)));
    } else {
        sql.push_str(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM traces t WHERE t.span_count > 0"
        ));
        if let Some(s) = service {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM trace_services ts WHERE ts.service_id = ? AND ts.trace_row = t.id)",
            );
            args.push(Value::Integer(s));
        }
    }
    let as_i64 = |v: u64| Value::Integer(i64::try_from(v).unwrap_or(i64::MAX));
    sql.push_str(" AND t.start_time BETWEEN ? AND ?");
    args.push(as_i64(f.bounds.from));
    args.push(as_i64(f.bounds.to));
    if let Some((start, row)) = f.after {
        sql.push_str(" AND (t.start_time < ? OR (t.start_time = ? AND t.id < ?))");
        args.extend([as_i64(start), as_i64(start), Value::Integer(row)]);
    }
    match f.status {
        Some(StatusFilter::Error) => sql.push_str(" AND t.error_count > 0"),
        Some(_) => sql.push_str(" AND t.error_count = 0"),
        None => {}
    }
    if let Some(m) = f.min_duration {
        sql.push_str(" AND t.duration >= ?");
        args.push(as_i64(m));
    }
    if let Some(m) = f.max_duration {
        sql.push_str(" AND t.duration <= ?");
        args.push(as_i64(m));
    }
    if let Some(s) = f.root_service {
        sql.push_str(" AND t.root_service_id = ?");
        args.push(Value::Integer(s));
    }
    if let Some(op) = f.root_name {
        sql.push_str(" AND t.root_name_id = ?");
        args.push(Value::Integer(op));
    }
    match &f.text {
        Some(RowText::TraceIdPrefix(p)) => {
            // Blob range: every id starting with the prefix.
            let mut hi = p.clone();
            hi.resize(16, 0xff);
            sql.push_str(" AND t.trace_id BETWEEN ? AND ?");
            args.push(Value::Blob(p.clone()));
            args.push(Value::Blob(hi));
        }
        Some(RowText::RootNames(ids)) => {
            let list = id_list(ids.iter());
            sql.push_str(&format!(
                " AND (t.root_name_id IN ({list}) OR t.root_service_id IN ({list}))"
            ));
        }
        None => {}
    }
    sql.push_str(" ORDER BY t.start_time DESC, t.id DESC LIMIT ?");
    args.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let mut found = Newest::new(limit);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let row = SummaryRow::read(r)?;
        found.push(row.key(), row);
    }
    drop(rows);
    finish(conn, found)
}

/// String ids as an SQL list (integers read from the database, never
/// request text).
fn id_list<'a>(ids: impl Iterator<Item = &'a i64>) -> String {
    ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// The window's span blocks, newest first: (block id, newest span start).
fn window_blocks(conn: &Connection, bounds: Bounds) -> Result<Vec<(i64, u64)>, StoreError> {
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Ok(conn
        .prepare_cached(
            "SELECT id, max_time FROM blocks WHERE signal = ?1 AND max_time >= ?2 AND min_time <= ?3
             ORDER BY max_time DESC, id DESC",
        )?
        .query_map(
            params![SIGNAL_SPANS, as_i64(bounds.from), as_i64(bounds.to)],
            |r| Ok((r.get(0)?, u(r.get(1)?))),
        )?
        .collect::<Result<_, _>>()?)
}

/// The window's span blocks whose groups hold a span `cond` may match
/// (by service and name), newest first.
fn group_blocks(
    conn: &Connection,
    cond: &SpanCondition,
    bounds: Bounds,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let as_i64 = |v: u64| Value::Integer(i64::try_from(v).unwrap_or(i64::MAX));
    let mut sql = String::from(
        "SELECT g.block_id, max(b.max_time) FROM span_groups g JOIN blocks b ON b.id = g.block_id
         WHERE b.signal = ? AND g.max_start >= ? AND g.min_start <= ?",
    );
    let mut args = vec![
        Value::Integer(SIGNAL_SPANS),
        as_i64(bounds.from),
        as_i64(bounds.to),
    ];
    match cond {
        SpanCondition::Named { service, name } => {
            sql.push_str(" AND g.name_id = ?");
            args.push(Value::Integer(name.1));
            if let Some((_, id)) = service {
                sql.push_str(" AND g.service_id = ?");
                args.push(Value::Integer(*id));
            }
        }
        // Text so common that the matching strings were cut off: the
        // groups cannot tell, every block's heads are checked.
        SpanCondition::Text { ids, .. } if ids.len() >= MAX_NAME_MATCHES => {
            return window_blocks(conn, bounds);
        }
        SpanCondition::Text { ids, .. } => {
            let list = id_list(ids.iter());
            sql.push_str(&format!(
                " AND (g.name_id IN ({list}) OR g.service_id IN ({list}))"
            ));
        }
        SpanCondition::Attrs(_) => return window_blocks(conn, bounds),
    }
    sql.push_str(" GROUP BY g.block_id ORDER BY 2 DESC, 1 DESC");
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), |r| Ok((r.get(0)?, u(r.get(1)?))))?
        .collect::<Result<_, _>>()?)
}

/// True when every condition is met by some span of the trace (any of its
/// blocks, inside the window or not).
fn trace_meets(
    conn: &Connection,
    trace_id: &TraceId,
    conds: &[SpanCondition],
) -> Result<bool, StoreError> {
    let Some((_, span_blocks, _)) = trace_summary(conn, trace_id)? else {
        return Ok(false);
    };
    let mut met = vec![false; conds.len()];
    for block_id in varlist::decode(&span_blocks) {
        let Some(data) = block_data(conn, block_id)? else {
            continue;
        };
        let corrupt = |e: crate::store::sqlite::blocks::codec::CodecError| {
            StoreError::Corrupt(block_id, e.to_string())
        };
        let block = SpanBlockReader::open(&data)
            .and_then(|r| r.decode_trace(trace_id))
            .map_err(corrupt)?;
        for (ri, _, span) in &block.spans {
            let resource = block.resources.get(*ri as usize);
            let service = resource.map_or("", |r| r.service_name());
            let res_attrs = resource.map_or(&[][..], |r| r.attributes.as_slice());
            for (c, m) in conds.iter().zip(met.iter_mut()) {
                *m = *m || c.matches_span(service, span, res_attrs);
            }
        }
        if met.iter().all(|m| *m) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Span blocks newest first, for traces with a span meeting every
/// condition of `plan.spans` (the first drives the scan).
fn by_span_blocks(
    conn: &Connection,
    ctx: &SearchContext,
    plan: &Plan,
    limit: usize,
) -> Result<TracesResponse, SearchError> {
    let Some((driver, others)) = plan.spans.split_first() else {
        return by_rows(conn, &plan.rows, limit);
    };
    let bounds = plan.rows.bounds;
    // The matching span must start inside the window too (a trace is
    // found by what happened in the window), so only the window's blocks
    // are read.
    let blocks = group_blocks(conn, driver, bounds)?;
    let mut found: Newest<TraceKey, SummaryRow> = Newest::new(limit);
    let mut seen: HashSet<TraceId> = HashSet::new();
    let mut load = conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM traces t WHERE {}",
        trace_by_id!()
    ))?;
    for (i, &(block_id, _)) in blocks.iter().enumerate() {
        if let SpanCondition::Attrs(filters) = driver
            && let Some(bytes) = conn
                .prepare_cached("SELECT filter FROM block_filters WHERE block_id = ?1")?
                .query_row([block_id], |r| r.get::<_, Vec<u8>>(0))
                .optional()?
            && let Ok(bloom) = Bloom::parse(&bytes)
            && !attrs::block_may_match(ctx, &bloom, filters)
        {
            continue;
        }
        let Some(data) = block_data(conn, block_id)? else {
            continue;
        };
        let corrupt = |e: crate::store::sqlite::blocks::codec::CodecError| {
            StoreError::Corrupt(block_id, e.to_string())
        };
        let reader = SpanBlockReader::open(&data).map_err(corrupt)?;
        // A span older than the page's oldest trace cannot add a trace to
        // it (a trace starts no later than its spans).
        let floor = found.threshold(|k| k.0).unwrap_or(0);
        let wanted = |start: u64, trace: &TraceId| {
            start >= floor && bounds.contains(start) && !seen.contains(trace)
        };
        let mut hits: Vec<TraceId> = Vec::new();
        match driver {
            SpanCondition::Attrs(filters) => {
                let block = reader
                    .decode_matching(|_, h| wanted(h.start, &h.trace_id), &attrs::pairs(filters))
                    .map_err(corrupt)?;
                for (ri, _, span) in &block.spans {
                    let resource = block
                        .resources
                        .get(*ri as usize)
                        .map(|r| r.attributes.as_slice())
                        .unwrap_or(&[]);
                    if attrs::all_match(filters, &[&span.attributes, resource]) {
                        hits.push(span.trace_id);
                    }
                }
            }
            head_condition => {
                let resources = reader.resources().map_err(corrupt)?;
                for h in reader.heads().map_err(corrupt)? {
                    let service = resources
                        .get(h.resource as usize)
                        .map_or("", |r| r.service_name());
                    if wanted(h.start, &h.trace_id) && head_condition.matches_head(service, &h.name)
                    {
                        hits.push(h.trace_id);
                    }
                }
            }
        }
        for trace_id in hits {
            if !seen.insert(trace_id) {
                continue;
            }
            let Some(row) = load
                .query_row([trace_id.0.as_slice()], SummaryRow::read)
                .optional()?
            else {
                continue;
            };
            if plan.rows.accepts(&row)
                && (others.is_empty() || trace_meets(conn, &trace_id, others)?)
            {
                found.push(row.key(), row);
            }
        }
        found.settle();
        let next_max = blocks.get(i + 1).map_or(0, |b| b.1);
        if i + 1 == blocks.len() || found.is_final(next_max, |k| k.0) {
            break;
        }
    }
    drop(load);
    finish(conn, found)
}
