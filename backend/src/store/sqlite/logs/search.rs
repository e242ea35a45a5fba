//! `GET /api/logs`: log records newest first.
//!
//! Candidate blocks: a trace's own log blocks when `trace_id` is given,
//! else every log block overlapping the window, narrowed by `log_groups`
//! (service, severity) and by the block's Bloom filter (body words for
//! `q`, span ids, indexed attributes). Full text is word-based: every word
//! of `q` must be a word of the body (case-insensitive), the same
//! tokenisation the filters were built with.

use std::collections::HashSet;
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use shared::AnyValue;
use shared::api::{LogEntry, LogsResponse};
use shared::logs::LogRecord;
use shared::query::{Bounds, LogQuery};
use shared::trace::{Resource, Scope};
use xxhash_rust::xxh3::xxh3_64;

use crate::store::StoreError;
use crate::store::contract::SearchError;
use crate::store::cursor;
use crate::store::sqlite::blocks::SIGNAL_LOGS;
use crate::store::sqlite::blocks::bloom::{Bloom, Namespace, terms};
use crate::store::sqlite::blocks::logs as log_blocks;
use crate::store::sqlite::readers::{block_data, trace_summary};
use crate::store::sqlite::search::newest::Newest;
use crate::store::sqlite::search::{SearchContext, attrs};
use crate::store::sqlite::{strings, varlist};

/// Sort key of a log: (time, content hash) — logs have no id, and the
/// hash keeps pages stable across compaction.
type LogKey = (u64, u64);

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Collects the words of every string inside a value.
fn value_terms(v: &AnyValue, out: &mut HashSet<String>) {
    match v {
        AnyValue::String(s) => out.extend(terms(s)),
        AnyValue::Array(items) => items.iter().for_each(|i| value_terms(i, out)),
        AnyValue::KvList(kvs) => kvs.iter().for_each(|kv| value_terms(&kv.value, out)),
        other => out.extend(terms(&other.to_display_string())),
    }
}

/// A tie-breaker for logs of the same nanosecond, stable across
/// compaction (it depends on the record alone).
fn content_hash(service: &str, r: &LogRecord) -> u64 {
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(service.as_bytes());
    buf.extend_from_slice(&r.observed_time.0.to_le_bytes());
    buf.extend_from_slice(&r.severity_number.to_le_bytes());
    buf.extend_from_slice(r.severity_text.as_bytes());
    if let Some(t) = r.trace_id {
        buf.extend_from_slice(&t.0);
    }
    if let Some(s) = r.span_id {
        buf.extend_from_slice(&s.0);
    }
    match &r.body {
        AnyValue::String(s) => buf.extend_from_slice(s.as_bytes()),
        other => buf.extend_from_slice(other.to_display_string().as_bytes()),
    }
    for kv in &r.attributes {
        buf.extend_from_slice(kv.key.as_bytes());
        buf.extend_from_slice(kv.value.to_display_string().as_bytes());
    }
    xxh3_64(&buf)
}

fn candidate_blocks(
    conn: &Connection,
    q: &LogQuery,
    bounds: Bounds,
) -> Result<Option<Vec<(i64, u64)>>, SearchError> {
    if let Some(t) = q.trace_id {
        let Some((_, _, log_blocks)) = trace_summary(conn, &t)? else {
            return Ok(Some(Vec::new()));
        };
        let mut out = Vec::new();
        for id in varlist::decode(&log_blocks) {
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
    let mut sql = String::from(
        "SELECT b.id, b.max_time FROM blocks b
         WHERE b.signal = ? AND b.max_time >= ? AND b.min_time <= ?",
    );
    let mut args = vec![
        Value::Integer(SIGNAL_LOGS),
        Value::Integer(i(bounds.from)),
        Value::Integer(i(bounds.to)),
    ];
    let service = match &q.service {
        Some(s) => match strings::lookup(conn, s)? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
        None => None,
    };
    if service.is_some() || q.severity_min.is_some() {
        sql.push_str(" AND EXISTS (SELECT 1 FROM log_groups g WHERE g.block_id = b.id");
        if let Some(id) = service {
            sql.push_str(" AND g.service_id = ?");
            args.push(Value::Integer(id));
        }
        if let Some(s) = q.severity_min {
            sql.push_str(" AND g.severity_number >= ?");
            args.push(Value::Integer(i64::from(s)));
        }
        sql.push(')');
    }
    sql.push_str(" ORDER BY b.max_time DESC, b.id DESC");
    let blocks = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), |r| Ok((r.get(0)?, u(r.get(1)?))))?
        .collect::<Result<_, _>>()?;
    Ok(Some(blocks))
}

/// Logs matching `q` within `bounds`, newest first.
pub fn search(
    conn: &Connection,
    ctx: &SearchContext,
    q: &LogQuery,
    bounds: Bounds,
) -> Result<LogsResponse, SearchError> {
    let limit = q.limit.unwrap_or(shared::query::DEFAULT_LIMIT);
    let after: Option<LogKey> = match &q.cursor {
        Some(c) => {
            let f = cursor::decode("logs", c, 2)?;
            Some((cursor::number(&f[0])?, cursor::number(&f[1])?))
        }
        None => None,
    };
    let words: Vec<String> =
        q.q.as_deref()
            .map(|t| terms(t).collect())
            .unwrap_or_default();
    if q.q.is_some() && words.is_empty() {
        // Nothing searchable (only punctuation or one-letter words).
        return Ok(LogsResponse {
            logs: Vec::new(),
            next_cursor: None,
        });
    }
    let mut found: Newest<LogKey, (Arc<Resource>, Arc<Scope>, LogRecord)> = Newest::new(limit);
    let blocks = candidate_blocks(conn, q, bounds)?.unwrap_or_default();
    for (n, &(block_id, _)) in blocks.iter().enumerate() {
        if (!words.is_empty() || q.span_id.is_some() || !q.attrs.is_empty())
            && let Ok(bytes) = conn
                .prepare_cached("SELECT filter FROM block_filters WHERE block_id = ?1")?
                .query_row([block_id], |r| r.get::<_, Vec<u8>>(0))
            && let Ok(bloom) = Bloom::parse(&bytes)
        {
            let possible = words
                .iter()
                .all(|w| bloom.may_contain(Namespace::Term, w.as_bytes()))
                && q.span_id
                    .is_none_or(|s| bloom.may_contain(Namespace::SpanId, &s.0))
                && attrs::block_may_match(ctx, &bloom, &q.attrs);
            if !possible {
                continue;
            }
        }
        let Some(data) = block_data(conn, block_id)? else {
            continue;
        };
        let floor = found.threshold(|k| k.0).unwrap_or(0);
        let head = |h: &log_blocks::LogHead| {
            let t = h.effective_time();
            t >= floor
                && bounds.contains(t)
                && after.is_none_or(|a| t <= a.0)
                && q.trace_id.is_none_or(|x| h.trace_id == Some(x))
                && q.span_id.is_none_or(|x| h.span_id == Some(x))
                && q.severity_min.is_none_or(|s| h.severity_number >= s)
        };
        let body_ok = |body: &AnyValue| {
            words.is_empty() || {
                let mut found = HashSet::new();
                value_terms(body, &mut found);
                words.iter().all(|w| found.contains(w))
            }
        };
        let block = log_blocks::decode_where(&data, head, body_ok, |_| true)
            .map_err(|e| StoreError::Corrupt(block_id, e.to_string()))?;
        let resources: Vec<Arc<Resource>> = block.resources.into_iter().map(Arc::new).collect();
        let scopes: Vec<Arc<Scope>> = block.scopes.into_iter().map(Arc::new).collect();
        for (ri, si, record) in block.records {
            let (Some(res), Some(scope)) = (resources.get(ri as usize), scopes.get(si as usize))
            else {
                continue;
            };
            let service = res.service_name();
            if q.service.as_deref().is_some_and(|s| s != service)
                || !attrs::all_match(&q.attrs, &[&record.attributes, &res.attributes])
            {
                continue;
            }
            let key = (record.effective_time().0, content_hash(service, &record));
            if after.is_some_and(|a| key >= a) {
                continue;
            }
            found.push(key, (res.clone(), scope.clone(), record));
        }
        found.settle();
        let next_max = blocks.get(n + 1).map_or(0, |b| b.1);
        if found.is_final(next_max, |k| k.0) {
            break;
        }
    }
    let (page, last) = found.finish();
    let logs = page
        .into_iter()
        .map(|(res, scope, record)| LogEntry {
            service: res.service_name().to_owned(),
            resource: (*res).clone(),
            scope: (*scope).clone(),
            record,
        })
        .collect();
    Ok(LogsResponse {
        logs,
        next_cursor: last.map(|(t, h)| cursor::encode("logs", &[t.to_string(), h.to_string()])),
    })
}
