//! `GET /api/traces`: trace summaries newest first.
//!
//! Without attribute filters the `traces` table answers alone (walking
//! `traces_by_start` backwards, or a service's rows in `trace_services`
//! when that service is rare). With `attr` filters the span blocks of the
//! window are scanned newest first (Bloom filters skip blocks that cannot
//! hold an indexed `key=value`), the traces of matching spans collected,
//! and the same trace filters applied to their summaries.

use std::collections::HashSet;

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};
use shared::api::{TraceSummary, TracesResponse};
use shared::query::{Bounds, StatusFilter, TraceQuery};
use shared::{TraceId, UnixNanos};

use crate::store::StoreError;
use crate::store::contract::SearchError;
use crate::store::cursor;
use crate::store::sqlite::blocks::SIGNAL_SPANS;
use crate::store::sqlite::blocks::bloom::Bloom;
use crate::store::sqlite::blocks::spans::SpanBlockReader;
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
    /// `None` when the query names an unknown service: nothing matches.
    service: Option<Option<i64>>,
    operation: Option<Option<i64>>,
    /// Trace id prefix, or name/service ids matching the free text.
    text: Option<TextFilter>,
}

enum TextFilter {
    TraceIdPrefix(Vec<u8>),
    Names(HashSet<i64>),
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
            && self
                .service
                .is_none_or(|s| s.is_some_and(|s| r.services.contains(&s)))
            && self
                .operation
                .is_none_or(|o| o.is_some_and(|o| r.root_name == o))
            && match &self.text {
                None => true,
                Some(TextFilter::TraceIdPrefix(p)) => r.trace_id.0.starts_with(p),
                Some(TextFilter::Names(ids)) => {
                    ids.contains(&r.root_name) || r.services.iter().any(|s| ids.contains(s))
                }
            }
    }
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
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let ids = conn
        .prepare_cached("SELECT id FROM strings WHERE value LIKE ?1 ESCAPE '\\' LIMIT 10000")?
        .query_map([pattern], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(TextFilter::Names(ids))
}

fn row_filter(conn: &Connection, q: &TraceQuery, bounds: Bounds) -> Result<RowFilter, SearchError> {
    let after = match &q.cursor {
        Some(c) => {
            let f = cursor::decode("traces", c, 2)?;
            Some((cursor::number(&f[0])?, cursor::number(&f[1])?))
        }
        None => None,
    };
    Ok(RowFilter {
        bounds,
        after,
        status: q.status,
        min_duration: q.min_duration,
        max_duration: q.max_duration,
        service: q
            .service
            .as_deref()
            .map(|s| strings::lookup(conn, s))
            .transpose()?,
        operation: q
            .operation
            .as_deref()
            .map(|s| strings::lookup(conn, s))
            .transpose()?,
        text: q.q.as_deref().map(|t| text_filter(conn, t)).transpose()?,
    })
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
    let filter = row_filter(conn, q, bounds)?;
    let unknown_name =
        matches!(filter.service, Some(None)) || matches!(filter.operation, Some(None));
    if unknown_name {
        return finish(conn, Newest::new(limit));
    }
    if q.attrs.is_empty() {
        by_rows(conn, &filter, limit)
    } else {
        by_span_blocks(conn, ctx, q, &filter, limit)
    }
}

/// The `traces` table alone, newest first.
fn by_rows(conn: &Connection, f: &RowFilter, limit: usize) -> Result<TracesResponse, SearchError> {
    let mut sql = String::new();
    let mut args: Vec<Value> = Vec::new();
    let service = f.service.flatten();
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
    if let Some(Some(op)) = f.operation {
        sql.push_str(" AND t.root_name_id = ?");
        args.push(Value::Integer(op));
    }
    match &f.text {
        Some(TextFilter::TraceIdPrefix(p)) => {
            // Blob range: every id starting with the prefix.
            let mut hi = p.clone();
            hi.resize(16, 0xff);
            sql.push_str(" AND t.trace_id BETWEEN ? AND ?");
            args.push(Value::Blob(p.clone()));
            args.push(Value::Blob(hi));
        }
        Some(TextFilter::Names(ids)) => {
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",");
            sql.push_str(&format!(
                " AND (t.root_name_id IN ({list}) OR EXISTS (SELECT 1 FROM trace_services x WHERE x.trace_row = t.id AND x.service_id IN ({list})))"
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

/// Span blocks newest first, for traces with a span matching every `attr`.
fn by_span_blocks(
    conn: &Connection,
    ctx: &SearchContext,
    q: &TraceQuery,
    f: &RowFilter,
    limit: usize,
) -> Result<TracesResponse, SearchError> {
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    // The matching span must start inside the window too (a trace is
    // found by what happened in the window), so only the window's blocks
    // are read.
    let blocks: Vec<(i64, u64)> = conn
        .prepare_cached(
            "SELECT id, max_time FROM blocks WHERE signal = ?1 AND max_time >= ?2 AND min_time <= ?3
             ORDER BY max_time DESC, id DESC",
        )?
        .query_map(
            rusqlite::params![SIGNAL_SPANS, as_i64(f.bounds.from), as_i64(f.bounds.to)],
            |r| Ok((r.get(0)?, u(r.get(1)?))),
        )?
        .collect::<Result<_, _>>()?;
    let mut found: Newest<TraceKey, SummaryRow> = Newest::new(limit);
    let mut seen: HashSet<TraceId> = HashSet::new();
    let wanted = attrs::pairs(&q.attrs);
    let mut load = conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM traces t WHERE {}",
        trace_by_id!()
    ))?;
    for (i, &(block_id, _)) in blocks.iter().enumerate() {
        let filter_bytes: Option<Vec<u8>> = conn
            .prepare_cached("SELECT filter FROM block_filters WHERE block_id = ?1")?
            .query_row([block_id], |r| r.get(0))
            .ok();
        if let Some(bytes) = &filter_bytes
            && let Ok(bloom) = Bloom::parse(bytes)
            && !attrs::block_may_match(ctx, &bloom, &q.attrs)
        {
            continue;
        }
        let Some(data) = crate::store::sqlite::readers::block_data(conn, block_id)? else {
            continue;
        };
        let reader = SpanBlockReader::open(&data)
            .map_err(|e| StoreError::Corrupt(block_id, e.to_string()))?;
        let block = reader
            .decode_matching(
                |_, h| f.bounds.contains(h.start) && !seen.contains(&h.trace_id),
                &wanted,
            )
            .map_err(|e| StoreError::Corrupt(block_id, e.to_string()))?;
        for (ri, _, span) in &block.spans {
            if seen.contains(&span.trace_id) {
                continue;
            }
            let resource = block
                .resources
                .get(*ri as usize)
                .map(|r| r.attributes.as_slice())
                .unwrap_or(&[]);
            if !attrs::all_match(&q.attrs, &[&span.attributes, resource]) {
                continue;
            }
            seen.insert(span.trace_id);
            let row = load
                .query_row([span.trace_id.0.as_slice()], SummaryRow::read)
                .ok();
            if let Some(row) = row
                && f.accepts(&row)
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
