//! `GET /api/spans`: spans newest first.
//!
//! Candidate blocks come from `span_groups` (service, name, kind, error
//! count, start and duration ranges per block), a trace's own block list
//! when `trace_id` is given, or every block's span-id Bloom filter when
//! only `span_id` is. Blocks are read newest first; each is filtered on the
//! cheap span heads before attributes are decoded.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use shared::api::{SpanRecord, SpansResponse};
use shared::query::{Bounds, SpanQuery, StatusFilter};
use shared::trace::{Resource, Scope};
use shared::{SpanId, TraceId};

use crate::store::StoreError;
use crate::store::contract::SearchError;
use crate::store::cursor;
use crate::store::sqlite::blocks::SIGNAL_SPANS;
use crate::store::sqlite::blocks::bloom::{Bloom, Namespace, stored_may_contain};
use crate::store::sqlite::blocks::spans::{SpanBlockReader, has_span_id};
use crate::store::sqlite::readers::{block_data, trace_summary};
use crate::store::sqlite::search::newest::Newest;
use crate::store::sqlite::search::{SearchContext, attrs};
use crate::store::sqlite::{strings, varlist};

/// Sort key of a span: (start, trace id, span id), unique.
type SpanKey = (u64, TraceId, SpanId);

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn parse_cursor(c: &str) -> Result<SpanKey, SearchError> {
    let f = cursor::decode("spans", c, 3)?;
    let bad = |_| cursor::BadCursor;
    Ok((
        cursor::number(&f[0])?,
        TraceId::from_hex(&f[1]).map_err(bad)?,
        SpanId::from_hex(&f[2]).map_err(bad)?,
    ))
}

/// Candidate blocks, newest first: (block id, newest span start).
fn candidate_blocks(
    conn: &Connection,
    q: &SpanQuery,
    bounds: Bounds,
) -> Result<Option<Vec<(i64, u64)>>, SearchError> {
    if let Some(t) = q.trace_id {
        let Some((_, span_blocks, _)) = trace_summary(conn, &t)? else {
            return Ok(Some(Vec::new()));
        };
        let mut out = Vec::new();
        for id in varlist::decode(&span_blocks) {
            let max: Option<i64> = conn
                .prepare_cached("SELECT max_time FROM blocks WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .ok();
            if let Some(m) = max {
                out.push((id, u(m)));
            }
        }
        out.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        return Ok(Some(out));
    }
    let by_groups = q.service.is_some()
        || q.name.is_some()
        || q.kind.is_some()
        || q.status == Some(StatusFilter::Error)
        || q.min_duration.is_some()
        || q.max_duration.is_some();
    if !by_groups {
        // Nothing the group rows can narrow: the blocks of the window.
        let blocks = conn
            .prepare_cached(
                "SELECT id, max_time FROM blocks WHERE signal = ?1 AND max_time >= ?2 AND min_time <= ?3
                 ORDER BY max_time DESC, id DESC",
            )?
            .query_map(
                rusqlite::params![SIGNAL_SPANS, i(bounds.from), i(bounds.to)],
                |r| Ok((r.get(0)?, u(r.get(1)?))),
            )?
            .collect::<Result<_, _>>()?;
        return Ok(Some(blocks));
    }
    let mut sql = String::from(
        "SELECT g.block_id, max(b.max_time) FROM span_groups g JOIN blocks b ON b.id = g.block_id
         WHERE b.signal = ? AND g.max_start >= ? AND g.min_start <= ?",
    );
    let mut args = vec![
        Value::Integer(SIGNAL_SPANS),
        Value::Integer(i(bounds.from)),
        Value::Integer(i(bounds.to)),
    ];
    if let Some(s) = &q.service {
        match strings::lookup(conn, s)? {
            Some(id) => {
                sql.push_str(" AND g.service_id = ?");
                args.push(Value::Integer(id));
            }
            None => return Ok(None),
        }
    }
    if let Some(n) = &q.name {
        match strings::lookup(conn, n)? {
            Some(id) => {
                sql.push_str(" AND g.name_id = ?");
                args.push(Value::Integer(id));
            }
            None => return Ok(None),
        }
    }
    if let Some(k) = q.kind {
        sql.push_str(" AND g.kind = ?");
        args.push(Value::Integer(i64::from(k.as_otlp())));
    }
    match q.status {
        Some(StatusFilter::Error) => sql.push_str(" AND g.error_count > 0"),
        Some(StatusFilter::Unset | StatusFilter::Ok) | None => {}
    }
    if let Some(m) = q.min_duration {
        sql.push_str(" AND g.max_duration >= ?");
        args.push(Value::Integer(i(m)));
    }
    if let Some(m) = q.max_duration {
        sql.push_str(" AND g.min_duration <= ?");
        args.push(Value::Integer(i(m)));
    }
    sql.push_str(" GROUP BY g.block_id ORDER BY 2 DESC, 1 DESC");
    let blocks = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), |r| Ok((r.get(0)?, u(r.get(1)?))))?
        .collect::<Result<_, _>>()?;
    Ok(Some(blocks))
}

/// Adds `v` to `table` unless an equal one is there; returns its index.
fn intern<T: PartialEq + Clone>(table: &mut Vec<T>, v: &T) -> u32 {
    if let Some(i) = table.iter().position(|x| x == v) {
        return i as u32;
    }
    table.push(v.clone());
    (table.len() - 1) as u32
}

/// Spans matching `q` within `bounds`, newest first.
pub fn search(
    conn: &Connection,
    ctx: &SearchContext,
    q: &SpanQuery,
    bounds: Bounds,
) -> Result<SpansResponse, SearchError> {
    let limit = q.limit.unwrap_or(shared::query::DEFAULT_LIMIT);
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let mut found: Newest<SpanKey, (Arc<Resource>, Arc<Scope>, shared::trace::Span)> =
        Newest::new(limit);
    let blocks = candidate_blocks(conn, q, bounds)?.unwrap_or_default();
    let wanted = attrs::pairs(&q.attrs);
    for (n, &(block_id, _)) in blocks.iter().enumerate() {
        if let Some(sid) = q.span_id
            && let Ok(blob) =
                conn.blob_open(rusqlite::MAIN_DB, "block_filters", "filter", block_id, true)
            && !stored_may_contain(&blob, Namespace::SpanId, &sid.0).unwrap_or(true)
        {
            continue;
        }
        if !q.attrs.is_empty()
            && let Ok(bytes) = conn
                .prepare_cached("SELECT filter FROM block_filters WHERE block_id = ?1")?
                .query_row([block_id], |r| r.get::<_, Vec<u8>>(0))
            && let Ok(bloom) = Bloom::parse(&bytes)
            && !attrs::block_may_match(ctx, &bloom, &q.attrs)
        {
            continue;
        }
        let Some(data) = block_data(conn, block_id)? else {
            continue;
        };
        let corrupt = |e: crate::store::sqlite::blocks::codec::CodecError| {
            StoreError::Corrupt(block_id, e.to_string())
        };
        if let Some(sid) = q.span_id
            && !has_span_id(&data, &sid).map_err(corrupt)?
        {
            continue;
        }
        let reader = SpanBlockReader::open(&data).map_err(corrupt)?;
        let resources = reader.resources().map_err(corrupt)?;
        let service_of: HashMap<u32, &str> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u32, r.service_name()))
            .collect();
        let floor = found.threshold(|k| k.0).unwrap_or(0);
        let block = reader
            .decode_matching(
                |_, h| {
                    let dur = h.end.saturating_sub(h.start);
                    let key = (h.start, h.trace_id, h.span_id);
                    h.start >= floor
                        && bounds.contains(h.start)
                        && after.is_none_or(|a| key < a)
                        && q.trace_id.is_none_or(|t| t == h.trace_id)
                        && q.span_id.is_none_or(|s| s == h.span_id)
                        && q.service.as_deref().is_none_or(|s| {
                            service_of.get(&h.resource).is_some_and(|name| *name == s)
                        })
                        && q.name.as_deref().is_none_or(|n| n == h.name)
                        && q.kind.is_none_or(|k| k == h.kind)
                        && q.status.is_none_or(|s| s.matches(h.status))
                        && q.min_duration.is_none_or(|m| dur >= m)
                        && q.max_duration.is_none_or(|m| dur <= m)
                },
                &wanted,
            )
            .map_err(corrupt)?;
        let resources: Vec<Arc<Resource>> = block.resources.into_iter().map(Arc::new).collect();
        let scopes: Vec<Arc<Scope>> = block.scopes.into_iter().map(Arc::new).collect();
        for (ri, si, span) in block.spans {
            let (Some(res), Some(scope)) = (resources.get(ri as usize), scopes.get(si as usize))
            else {
                continue;
            };
            if !attrs::all_match(&q.attrs, &[&span.attributes, &res.attributes]) {
                continue;
            }
            found.push(
                (span.start_time.0, span.trace_id, span.span_id),
                (res.clone(), scope.clone(), span),
            );
        }
        found.settle();
        let next_max = blocks.get(n + 1).map_or(0, |b| b.1);
        if found.is_final(next_max, |k| k.0) {
            break;
        }
    }
    let (page, last) = found.finish();
    let mut resources = Vec::new();
    let mut scopes = Vec::new();
    let spans = page
        .into_iter()
        .map(|(res, scope, span)| SpanRecord {
            resource: intern(&mut resources, &*res),
            scope: intern(&mut scopes, &*scope),
            service: res.service_name().to_owned(),
            span,
        })
        .collect();
    Ok(SpansResponse {
        resources,
        scopes,
        spans,
        next_cursor: last.map(|(start, t, s)| {
            cursor::encode("spans", &[start.to_string(), t.to_string(), s.to_string()])
        }),
    })
}
