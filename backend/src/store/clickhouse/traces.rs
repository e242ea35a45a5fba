//! Traces and spans on ClickHouse: a trace by id (its time range from
//! `otel_traces_trace_id_ts` first, so only those days' parts are read),
//! trace search (summaries aggregated per trace in SQL) and span search.
//!
//! A span sent twice may be stored twice (ClickHouse keeps rows); every
//! read keeps one row per span id, so answers match the embedded engine.

use std::collections::{HashMap, HashSet};

use clickhouse::Row;
use serde::Deserialize;
use shared::api::{SpanRecord, SpansResponse, TraceDetail, TraceSummary, TracesResponse};
use shared::query::{AttrFilter, Bounds, DEFAULT_LIMIT, SpanQuery, StatusFilter, TraceQuery};
use shared::trace::{Event, Link, Resource, Scope, Span, Status, StatusCode};
use shared::{SpanId, TraceId, TraceIdPrefix, UnixNanos};

use super::super::StoreError;
use super::super::contract::SearchError;
use super::super::cursor;
use super::client::Ch;
use super::rows::{self, IS_ERROR, TextMap};
use super::schema::{LOGS, Schema, TRACE_ID_TS, TRACES};

/// The columns of a span as [`SpanRead`] takes them.
pub const SPAN_COLUMNS: &str = "toUnixTimestamp64Nano(Timestamp) AS ts, TraceId AS trace_id,
    SpanId AS span_id, ParentSpanId AS parent, TraceState AS trace_state, SpanName AS name,
    SpanKind AS kind, ServiceName AS service, ResourceAttributes AS resource,
    ScopeName AS scope_name, ScopeVersion AS scope_version, SpanAttributes AS attributes,
    Duration AS duration, StatusCode AS status_code, StatusMessage AS status_message,
    arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`) AS ev_time,
    `Events.Name` AS ev_name, `Events.Attributes` AS ev_attrs,
    `Links.TraceId` AS link_trace, `Links.SpanId` AS link_span,
    `Links.TraceState` AS link_state, `Links.Attributes` AS link_attrs";

/// One span row as read.
#[derive(Row, Deserialize, Debug)]
pub struct SpanRead {
    pub ts: i64,
    pub trace_id: String,
    pub span_id: String,
    pub parent: String,
    pub trace_state: String,
    pub name: String,
    pub kind: String,
    pub service: String,
    pub resource: TextMap,
    pub scope_name: String,
    pub scope_version: String,
    pub attributes: TextMap,
    pub duration: u64,
    pub status_code: String,
    pub status_message: String,
    pub ev_time: Vec<i64>,
    pub ev_name: Vec<String>,
    pub ev_attrs: Vec<TextMap>,
    pub link_trace: Vec<String>,
    pub link_span: Vec<String>,
    pub link_state: Vec<String>,
    pub link_attrs: Vec<TextMap>,
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SpanRead {
    /// The span, or `None` for a row whose ids are not ids (written by
    /// something else than an exporter).
    fn into_parts(self) -> Option<(Resource, Scope, String, Span)> {
        let trace_id = TraceId::from_hex(&self.trace_id).ok()?;
        let span_id = SpanId::from_hex(&self.span_id).ok()?;
        let start = unsigned(self.ts);
        let events = self
            .ev_time
            .into_iter()
            .zip(self.ev_name)
            .zip(self.ev_attrs)
            .map(|((t, name), attrs)| Event {
                time: UnixNanos(unsigned(t)),
                name,
                attributes: rows::attributes(attrs),
                ..Default::default()
            })
            .collect();
        let links = self
            .link_trace
            .iter()
            .zip(&self.link_span)
            .zip(self.link_state.into_iter().zip(self.link_attrs))
            .filter_map(|((t, s), (state, attrs))| {
                Some(Link {
                    trace_id: TraceId::from_hex(t).ok()?,
                    span_id: SpanId::from_hex(s).ok()?,
                    trace_state: state,
                    attributes: rows::attributes(attrs),
                    ..Default::default()
                })
            })
            .collect();
        let span = Span {
            trace_id,
            span_id,
            parent_span_id: SpanId::from_hex(&self.parent).ok(),
            trace_state: self.trace_state,
            name: self.name,
            kind: rows::parse_kind(&self.kind),
            start_time: UnixNanos(start),
            end_time: UnixNanos(start.saturating_add(self.duration)),
            attributes: rows::attributes(self.attributes),
            events,
            links,
            status: Status {
                code: rows::parse_status(&self.status_code),
                message: self.status_message,
            },
            ..Default::default()
        };
        let resource = Resource {
            attributes: rows::attributes(self.resource),
            ..Default::default()
        };
        let scope = Scope {
            name: self.scope_name,
            version: self.scope_version,
            ..Default::default()
        };
        Some((resource, scope, self.service, span))
    }
}

/// Spans with their resources and scopes sent once, as the API lists them.
#[derive(Default)]
struct SpanList {
    resources: Vec<Resource>,
    scopes: Vec<Scope>,
    spans: Vec<SpanRecord>,
    seen: HashSet<(TraceId, SpanId)>,
}

impl SpanList {
    fn push(&mut self, row: SpanRead) {
        let Some((resource, scope, service, span)) = row.into_parts() else {
            return;
        };
        if !self.seen.insert((span.trace_id, span.span_id)) {
            return;
        }
        let resource = index_of(&mut self.resources, resource);
        let scope = index_of(&mut self.scopes, scope);
        self.spans.push(SpanRecord {
            resource,
            scope,
            service,
            span,
        });
    }
}

fn index_of<T: PartialEq>(list: &mut Vec<T>, item: T) -> u32 {
    let at = list.iter().position(|x| *x == item).unwrap_or_else(|| {
        list.push(item);
        list.len() - 1
    });
    u32::try_from(at).unwrap_or(u32::MAX)
}

#[derive(Row, Deserialize)]
struct Range {
    start: u32,
    end: u32,
    found: u64,
}

#[derive(Row, Deserialize)]
struct Count {
    n: u64,
}

/// One trace with every span; `None` when no span of it is stored.
pub async fn trace(
    ch: &Ch,
    schema: &Schema,
    id: &TraceId,
) -> Result<Option<TraceDetail>, StoreError> {
    let hex = id.to_hex();
    // The lookup table narrows the read to the trace's seconds; without
    // it (or for rows it never saw) the TraceId index alone finds them.
    let range = if schema.trace_id_ts {
        ch.rows::<Range>(
            ch.sql(&format!(
                "SELECT toUInt32(min(Start)) AS start, toUInt32(max(End)) AS end, count() AS found
                 FROM {TRACE_ID_TS} WHERE TraceId = {{id:String}}"
            ))
            .param("id", &hex),
        )
        .await?
        .into_iter()
        .next()
        .filter(|r| r.found > 0)
    } else {
        None
    };
    let (time_filter, from, to) = match range {
        Some(r) => (
            "AND Timestamp >= toDateTime64({from:UInt32}, 9) AND Timestamp < toDateTime64({to:UInt32} + 1, 9)",
            r.start,
            r.end,
        ),
        None => ("", 0, 0),
    };
    let rows: Vec<SpanRead> = ch
        .rows(
            ch.sql(&format!(
                "SELECT {SPAN_COLUMNS} FROM {TRACES}
                 WHERE TraceId = {{id:String}} {time_filter}
                 ORDER BY Timestamp, SpanId"
            ))
            .param("id", &hex)
            .param("from", from)
            .param("to", to),
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut list = SpanList::default();
    for row in rows {
        list.push(row);
    }
    list.spans.sort_by(|a, b| {
        (a.span.start_time, a.span.span_id).cmp(&(b.span.start_time, b.span.span_id))
    });
    let logs = ch
        .rows::<Count>(
            ch.sql(&format!(
                "SELECT count() AS n FROM {LOGS} WHERE TraceId = {{id:String}}"
            ))
            .param("id", &hex),
        )
        .await?
        .first()
        .map_or(0, |c| c.n);
    Ok(Some(TraceDetail {
        summary: summary_of(*id, &list.spans, logs),
        resources: list.resources,
        scopes: list.scopes,
        spans: list.spans,
    }))
}

/// A trace's summary from its spans (in start order).
fn summary_of(trace_id: TraceId, spans: &[SpanRecord], log_count: u64) -> TraceSummary {
    let start = spans.iter().map(|s| s.span.start_time.0).min().unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.span.end_time.0)
        .max()
        .unwrap_or(start);
    let root = spans.iter().find(|s| s.span.parent_span_id.is_none());
    let shown = root.or(spans.first());
    // Sorted, as the trace search aggregates them (`arraySort`), so a
    // trace's header and its row in the list agree.
    let services: Vec<String> = spans
        .iter()
        .map(|s| s.service.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    TraceSummary {
        trace_id,
        start_time: UnixNanos(start),
        end_time: UnixNanos(end),
        duration: UnixNanos(end.saturating_sub(start)),
        root_service: shown.map(|s| s.service.clone()).unwrap_or_default(),
        root_name: shown.map(|s| s.span.name.clone()).unwrap_or_default(),
        root_is_real: root.is_some(),
        span_count: spans.len() as u64,
        error_count: spans
            .iter()
            .filter(|s| s.span.status.code == StatusCode::Error)
            .count() as u64,
        services,
        log_count,
    }
}

/// A trace as the search aggregates it in SQL.
#[derive(Row, Deserialize, Debug)]
struct TraceRow {
    trace_id: String,
    start: i64,
    end: i64,
    spans: u64,
    errors: u64,
    root_service: String,
    root_name: String,
    root_is_real: bool,
    services: Vec<String>,
}

/// The per-trace aggregates of a trace search (grouped by `TraceId`).
const TRACE_AGGREGATES: &str = "TraceId AS trace_id,
    min(toUnixTimestamp64Nano(Timestamp)) AS start,
    max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) AS end,
    uniqExact(SpanId) AS spans,
    uniqExactIf(SpanId, StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS errors,
    if(countIf(ParentSpanId = '') > 0, argMinIf(ServiceName, Timestamp, ParentSpanId = ''), argMin(ServiceName, Timestamp)) AS root_service,
    if(countIf(ParentSpanId = '') > 0, argMinIf(SpanName, Timestamp, ParentSpanId = ''), argMin(SpanName, Timestamp)) AS root_name,
    countIf(ParentSpanId = '') > 0 AS root_is_real,
    arraySort(groupUniqArray(toString(ServiceName))) AS services";

/// `attr` filters as SQL over a span row: each must match a span or its
/// resource attribute (`service.name` included), an array by any element
/// ([`rows::attr_match_sql`]). Parameters `ak{i}`/`av{i}`.
fn attr_condition(filters: &[AttrFilter]) -> Option<String> {
    if filters.is_empty() {
        return None;
    }
    Some(
        (0..filters.len())
            .map(|i| {
                let (k, v) = (format!("{{ak{i}:String}}"), format!("{{av{i}:String}}"));
                format!(
                    "({} OR {})",
                    rows::attr_match_sql("SpanAttributes", &k, &v),
                    rows::attr_match_sql("ResourceAttributes", &k, &v)
                )
            })
            .collect::<Vec<_>>()
            .join(" AND "),
    )
}

fn bind_attrs(mut q: clickhouse::query::Query, filters: &[AttrFilter]) -> clickhouse::query::Query {
    for (i, f) in filters.iter().enumerate() {
        q = q
            .param(&format!("ak{i}"), &f.key)
            .param(&format!("av{i}"), &f.value);
    }
    q
}

/// Free text as the embedded engine reads it: a trace id prefix (8 to 32
/// hex digits, even), else a case-insensitive part of a span name or of a
/// service name (the root span's, with `root_only`).
enum Text {
    IdPrefix(String),
    Words(String),
}

fn text_of(q: &str) -> Text {
    let hex = q.trim().to_ascii_lowercase();
    if (8..=32).contains(&hex.len())
        && hex.len().is_multiple_of(2)
        && hex.chars().all(|c| c.is_ascii_hexdigit())
    {
        Text::IdPrefix(hex)
    } else {
        Text::Words(q.trim().to_owned())
    }
}

fn parse_trace_cursor(c: &str) -> Result<(u64, String), SearchError> {
    let f = cursor::decode("chtraces", c, 2)?;
    let id = TraceId::from_hex(&f[1]).map_err(|_| cursor::BadCursor)?;
    Ok((cursor::number(&f[0])?, id.to_hex()))
}

/// Trace summaries matching `q` within `bounds`, newest start first.
///
/// Two steps: the window's spans grouped per trace find the traces with a
/// span meeting each span condition (`HAVING countIf(…) > 0`: `service`,
/// `operation` — both on one span when both are given —, the names of free
/// text, `attr`); then those traces' summaries are aggregated whole (spans
/// outside the window included) and the trace-level filters (start,
/// status, durations, a trace id prefix, and with `root_only` the root's
/// service, name and free text) checked on them.
pub async fn search_traces(
    ch: &Ch,
    _schema: &Schema,
    q: &TraceQuery,
    bounds: Bounds,
) -> Result<TracesResponse, SearchError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let after = q.cursor.as_deref().map(parse_trace_cursor).transpose()?;
    let text = q.q.as_deref().map(text_of);
    let mut having = vec!["1".to_owned()];
    let mut trace_filter = vec!["1".to_owned()];
    if q.root_only {
        if q.service.is_some() {
            trace_filter.push("root_service = {service:String}".into());
        }
        if q.operation.is_some() {
            trace_filter.push("root_name = {operation:String}".into());
        }
        if let Some(Text::Words(_)) = &text {
            trace_filter.push(
                "(positionCaseInsensitiveUTF8(root_name, {text:String}) > 0
                  OR positionCaseInsensitiveUTF8(root_service, {text:String}) > 0)"
                    .into(),
            );
        }
    } else {
        match (&q.service, &q.operation) {
            (_, Some(_)) => having.push(format!(
                "countIf(SpanName = {{operation:String}}{}) > 0",
                if q.service.is_some() {
                    " AND ServiceName = {service:String}"
                } else {
                    ""
                }
            )),
            (Some(_), None) => having.push("countIf(ServiceName = {service:String}) > 0".into()),
            (None, None) => {}
        }
        if let Some(Text::Words(_)) = &text {
            having.push(
                "countIf(positionCaseInsensitiveUTF8(SpanName, {text:String}) > 0
                  OR positionCaseInsensitiveUTF8(ServiceName, {text:String}) > 0) > 0"
                    .into(),
            );
        }
    }
    if let Some(cond) = attr_condition(&q.attrs) {
        having.push(format!("countIf({cond}) > 0"));
    }
    if let Some(Text::IdPrefix(_)) = &text {
        trace_filter.push("startsWith(lower(trace_id), {text:String})".into());
    }
    match q.status {
        Some(StatusFilter::Error) => trace_filter.push("errors > 0".into()),
        Some(_) => trace_filter.push("errors = 0".into()),
        None => {}
    }
    if q.min_duration.is_some() {
        trace_filter.push("end - start >= {min_duration:Int64}".into());
    }
    if q.max_duration.is_some() {
        trace_filter.push("end - start <= {max_duration:Int64}".into());
    }
    if after.is_some() {
        trace_filter.push("(start < {after_start:Int64} OR (start = {after_start:Int64} AND trace_id < {after_id:String}))".into());
    }
    let trace_filter = trace_filter.join(" AND ");
    let sql = format!(
        "SELECT * FROM (
           SELECT {TRACE_AGGREGATES} FROM {TRACES}
           WHERE TraceId IN (
             SELECT TraceId FROM {TRACES}
             WHERE Timestamp >= fromUnixTimestamp64Nano({{from:Int64}})
               AND Timestamp <= fromUnixTimestamp64Nano({{to:Int64}})
             GROUP BY TraceId
             HAVING {having}
           )
           GROUP BY TraceId
         )
         WHERE start >= {{from:Int64}} AND start <= {{to:Int64}} AND {trace_filter}
         ORDER BY start DESC, trace_id DESC
         LIMIT {{limit:UInt64}}",
        having = having.join(" AND "),
    );
    let mut query = ch
        .sql(&sql)
        .param("from", signed(bounds.from))
        .param("to", signed(bounds.to))
        .param("limit", (limit + 1) as u64);
    if let Some(s) = &q.service {
        query = query.param("service", s);
    }
    if let Some(o) = &q.operation {
        query = query.param("operation", o);
    }
    if let Some(m) = q.min_duration {
        query = query.param("min_duration", signed(m));
    }
    if let Some(m) = q.max_duration {
        query = query.param("max_duration", signed(m));
    }
    match &text {
        Some(Text::IdPrefix(t)) | Some(Text::Words(t)) => query = query.param("text", t),
        None => {}
    }
    if let Some((start, id)) = &after {
        query = query
            .param("after_start", signed(*start))
            .param("after_id", id);
    }
    query = bind_attrs(query, &q.attrs);
    let mut rows: Vec<TraceRow> = ch.rows(query).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let ids: Vec<String> = rows.iter().map(|r| r.trace_id.clone()).collect();
    let logs = log_counts(ch, &ids).await?;
    let next_cursor = if more {
        rows.last().map(|r| {
            cursor::encode(
                "chtraces",
                &[unsigned(r.start).to_string(), r.trace_id.clone()],
            )
        })
    } else {
        None
    };
    let traces = rows
        .into_iter()
        .filter_map(|r| {
            let trace_id = TraceId::from_hex(&r.trace_id).ok()?;
            let start = unsigned(r.start);
            let end = unsigned(r.end).max(start);
            Some(TraceSummary {
                trace_id,
                start_time: UnixNanos(start),
                end_time: UnixNanos(end),
                duration: UnixNanos(end - start),
                root_service: r.root_service,
                root_name: r.root_name,
                root_is_real: r.root_is_real,
                span_count: r.spans,
                error_count: r.errors,
                services: r.services,
                log_count: logs.get(&r.trace_id).copied().unwrap_or(0),
            })
        })
        .collect();
    Ok(TracesResponse {
        traces,
        next_cursor,
    })
}

#[derive(Row, Deserialize)]
struct IdRow {
    trace_id: String,
}

/// Ids of the stored traces that start with `prefix`, in id order. The
/// lookup table (`ORDER BY TraceId`) answers from its primary key; without
/// it, or when it holds none (rows written before it existed), the spans
/// table is read.
pub async fn ids_with_prefix(
    ch: &Ch,
    schema: &Schema,
    prefix: &TraceIdPrefix,
    limit: usize,
) -> Result<Vec<TraceId>, StoreError> {
    let tables: &[&str] = if schema.trace_id_ts {
        &[TRACE_ID_TS, TRACES]
    } else {
        &[TRACES]
    };
    for table in tables {
        let rows: Vec<IdRow> = ch
            .rows(
                ch.sql(&format!(
                    "SELECT DISTINCT TraceId AS trace_id FROM {table}
                     WHERE startsWith(TraceId, {{prefix:String}})
                     ORDER BY trace_id LIMIT {{limit:UInt64}}"
                ))
                .param("prefix", prefix.as_str())
                .param("limit", limit as u64),
            )
            .await?;
        let ids: Vec<TraceId> = rows
            .iter()
            .filter_map(|r| TraceId::from_hex(&r.trace_id).ok())
            .collect();
        if !ids.is_empty() {
            return Ok(ids);
        }
    }
    Ok(Vec::new())
}

#[derive(Row, Deserialize)]
struct TraceCount {
    trace_id: String,
    n: u64,
}

/// Log records per trace id.
async fn log_counts(ch: &Ch, ids: &[String]) -> Result<HashMap<String, u64>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<TraceCount> = ch
        .rows(
            ch.sql(&format!(
                "SELECT TraceId AS trace_id, count() AS n FROM {LOGS}
                 WHERE TraceId IN {{ids:Array(String)}} GROUP BY TraceId"
            ))
            .param("ids", ids),
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.trace_id, r.n)).collect())
}

fn parse_span_cursor(c: &str) -> Result<(u64, String, String), SearchError> {
    let f = cursor::decode("spans", c, 3)?;
    let t = TraceId::from_hex(&f[1]).map_err(|_| cursor::BadCursor)?;
    let s = SpanId::from_hex(&f[2]).map_err(|_| cursor::BadCursor)?;
    Ok((cursor::number(&f[0])?, t.to_hex(), s.to_hex()))
}

/// Spans matching `q` within `bounds`, newest start first.
pub async fn search_spans(
    ch: &Ch,
    _schema: &Schema,
    q: &SpanQuery,
    bounds: Bounds,
) -> Result<SpansResponse, SearchError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let after = q.cursor.as_deref().map(parse_span_cursor).transpose()?;
    let mut cond = vec![
        "Timestamp >= fromUnixTimestamp64Nano({from:Int64})".to_owned(),
        "Timestamp <= fromUnixTimestamp64Nano({to:Int64})".to_owned(),
    ];
    if q.service.is_some() {
        cond.push("ServiceName = {service:String}".into());
    }
    if q.name.is_some() {
        cond.push("SpanName = {name:String}".into());
    }
    if q.kind.is_some() {
        cond.push("SpanKind IN {kinds:Array(String)}".into());
    }
    match q.status {
        Some(StatusFilter::Error) => cond.push(IS_ERROR.into()),
        Some(StatusFilter::Ok) => cond.push(format!("NOT {IS_ERROR}")),
        Some(StatusFilter::Unset) => {
            cond.push("StatusCode IN ('Unset', 'STATUS_CODE_UNSET', '')".into())
        }
        None => {}
    }
    if q.min_duration.is_some() {
        cond.push("Duration >= {min_duration:UInt64}".into());
    }
    if q.max_duration.is_some() {
        cond.push("Duration <= {max_duration:UInt64}".into());
    }
    if q.trace_id.is_some() {
        cond.push("TraceId = {trace_id:String}".into());
    }
    if q.span_id.is_some() {
        cond.push("SpanId = {span_id:String}".into());
    }
    if let Some(a) = attr_condition(&q.attrs) {
        cond.push(a);
    }
    if after.is_some() {
        cond.push(
            "(toUnixTimestamp64Nano(Timestamp), TraceId, SpanId) < ({after_start:Int64}, {after_trace:String}, {after_span:String})"
                .into(),
        );
    }
    let sql = format!(
        "SELECT {SPAN_COLUMNS} FROM {TRACES} WHERE {}
         ORDER BY Timestamp DESC, TraceId DESC, SpanId DESC
         LIMIT 1 BY TraceId, SpanId
         LIMIT {{limit:UInt64}}",
        cond.join(" AND ")
    );
    let mut query = ch
        .sql(&sql)
        .param("from", signed(bounds.from))
        .param("to", signed(bounds.to))
        .param("limit", (limit + 1) as u64);
    if let Some(s) = &q.service {
        query = query.param("service", s);
    }
    if let Some(n) = &q.name {
        query = query.param("name", n);
    }
    if let Some(k) = q.kind {
        query = query.param("kinds", rows::kind_spellings(k));
    }
    if let Some(m) = q.min_duration {
        query = query.param("min_duration", m);
    }
    if let Some(m) = q.max_duration {
        query = query.param("max_duration", m);
    }
    if let Some(t) = &q.trace_id {
        query = query.param("trace_id", t.to_hex());
    }
    if let Some(s) = &q.span_id {
        query = query.param("span_id", s.to_hex());
    }
    if let Some((start, t, s)) = &after {
        query = query
            .param("after_start", signed(*start))
            .param("after_trace", t)
            .param("after_span", s);
    }
    query = bind_attrs(query, &q.attrs);
    let mut rows: Vec<SpanRead> = ch.rows(query).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let mut list = SpanList::default();
    for row in rows {
        list.push(row);
    }
    let next_cursor = if more {
        list.spans.last().map(|r| {
            cursor::encode(
                "spans",
                &[
                    r.span.start_time.0.to_string(),
                    r.span.trace_id.to_string(),
                    r.span.span_id.to_string(),
                ],
            )
        })
    } else {
        None
    };
    Ok(SpansResponse {
        resources: list.resources,
        scopes: list.scopes,
        spans: list.spans,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u8, parent: Option<u8>, service: &str, start: u64) -> SpanRecord {
        SpanRecord {
            resource: 0,
            scope: 0,
            service: service.to_owned(),
            span: Span {
                trace_id: TraceId([1; 16]),
                span_id: SpanId([id; 8]),
                parent_span_id: parent.map(|p| SpanId([p; 8])),
                name: format!("op {id}"),
                start_time: UnixNanos(start),
                end_time: UnixNanos(start + 10),
                ..Default::default()
            },
        }
    }

    /// Regression: a trace's services came in span order (`shop, db`) while
    /// the trace list sorts them (`db, shop`), so the trace view's header
    /// and its row in the list disagreed.
    #[test]
    fn a_summary_lists_services_sorted_as_the_search_does() {
        let spans = [
            record(1, None, "shop", 100),
            record(2, Some(1), "shop", 110),
            record(3, Some(2), "db", 112),
            record(4, Some(3), "auth", 113),
        ];
        let s = summary_of(TraceId([1; 16]), &spans, 0);
        assert_eq!(s.services, ["auth", "db", "shop"]);
        assert_eq!(s.root_service, "shop");
        assert_eq!(s.root_name, "op 1");
        assert_eq!((s.start_time.0, s.end_time.0, s.duration.0), (100, 123, 23));
    }
}
