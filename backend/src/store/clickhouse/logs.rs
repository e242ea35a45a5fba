//! Log search on ClickHouse: the embedded engine's filters (window on the
//! record time, service, minimum severity, trace and span id, `attr` on
//! log or resource attributes, body words) as SQL, newest first.
//!
//! Logs have no id. A record's place in the list is (time, a hash of every
//! column read): unique for distinct records, stable across merges, and
//! the same for a record stored twice (a batch resent after the insert
//! de-duplication window), which is then listed once (`LIMIT 1 BY`).
//!
//! A page is read in two steps so full rows are read only near the page:
//! the `limit + 1`-th newest matching time (one column), then the rows
//! from that time on, hashed, de-duplicated and ordered. Should duplicates
//! leave that range short of a full page, it is widened and read again.
//!
//! The table keeps one time (the exporter stores a record without a time
//! at its observed time): both times of a record read back as that time.

use clickhouse::Row;
use clickhouse::query::Query;
use serde::Deserialize;
use shared::api::{LogEntry, LogsResponse};
use shared::logs::LogRecord;
use shared::query::{Bounds, DEFAULT_LIMIT, LogQuery};
use shared::trace::{Resource, Scope};
use shared::{AnyValue, SpanId, TraceId, UnixNanos};

use super::super::contract::SearchError;
use super::super::cursor;
use super::client::Ch;
use super::rows::{self, TextMap};
use super::schema::{LOGS, Schema};
use super::words;

/// The list kind in this engine's log cursors.
const CURSOR_KIND: &str = "chlogs";

/// One log row as read, with its identity hash.
#[derive(Row, Deserialize, Debug)]
struct LogRead {
    ts: i64,
    h: u64,
    trace_id: String,
    span_id: String,
    flags: u8,
    severity_text: String,
    severity_number: u8,
    service: String,
    body: String,
    resource_schema_url: String,
    resource: TextMap,
    scope_schema_url: String,
    scope_name: String,
    scope_version: String,
    scope_attributes: TextMap,
    attributes: TextMap,
    event_name: String,
}

impl LogRead {
    fn into_entry(self) -> LogEntry {
        let time = UnixNanos(unsigned(self.ts));
        LogEntry {
            service: self.service,
            resource: Resource {
                attributes: rows::attributes(self.resource),
                schema_url: self.resource_schema_url,
                ..Default::default()
            },
            scope: Scope {
                name: self.scope_name,
                version: self.scope_version,
                attributes: rows::attributes(self.scope_attributes),
                schema_url: self.scope_schema_url,
                ..Default::default()
            },
            record: LogRecord {
                time,
                observed_time: time,
                severity_number: i32::from(self.severity_number),
                severity_text: self.severity_text,
                body: AnyValue::String(self.body),
                attributes: rows::attributes(self.attributes),
                flags: u32::from(self.flags),
                trace_id: TraceId::from_hex(&self.trace_id).ok(),
                span_id: SpanId::from_hex(&self.span_id).ok(),
                event_name: self.event_name,
                ..Default::default()
            },
        }
    }
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Whole seconds of `t` as a `DateTime` value (which ends in 2106).
fn seconds(t: u64) -> u32 {
    u32::try_from(t / 1_000_000_000).unwrap_or(u32::MAX)
}

/// The columns of [`LogRead`]; `EventName` only where the table has it.
fn columns(schema: &Schema) -> String {
    let event = if schema.logs_event_name {
        "EventName"
    } else {
        "''"
    };
    let hashed = if schema.logs_event_name {
        ", EventName"
    } else {
        ""
    };
    format!(
        "toUnixTimestamp64Nano(Timestamp) AS ts,
         cityHash64(TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,
                    ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion,
                    ScopeAttributes, LogAttributes{hashed}) AS h,
         TraceId AS trace_id, SpanId AS span_id, TraceFlags AS flags,
         SeverityText AS severity_text, SeverityNumber AS severity_number,
         ServiceName AS service, Body AS body, ResourceSchemaUrl AS resource_schema_url,
         ResourceAttributes AS resource, ScopeSchemaUrl AS scope_schema_url,
         ScopeName AS scope_name, ScopeVersion AS scope_version,
         ScopeAttributes AS scope_attributes, LogAttributes AS attributes,
         {event} AS event_name"
    )
}

/// The query's conditions on a row, and their parameters.
struct Filter<'a> {
    q: &'a LogQuery,
    bounds: Bounds,
    words: Vec<String>,
}

impl Filter<'_> {
    fn condition(&self) -> String {
        // `TimestampTime` (seconds) is the partition and primary key
        // column: bounding it lets ClickHouse skip parts and granules.
        let mut c = vec![
            "Timestamp >= fromUnixTimestamp64Nano({from:Int64})".to_owned(),
            "Timestamp <= fromUnixTimestamp64Nano({to:Int64})".to_owned(),
            "TimestampTime >= toDateTime({from_s:UInt32})".to_owned(),
            "TimestampTime <= toDateTime({to_s:UInt32})".to_owned(),
        ];
        if self.q.service.is_some() {
            c.push("ServiceName = {service:String}".into());
        }
        if self.q.severity_min.is_some() {
            c.push("SeverityNumber >= {severity:Int32}".into());
        }
        if self.q.trace_id.is_some() {
            c.push("TraceId = {trace_id:String}".into());
        }
        if self.q.span_id.is_some() {
            c.push("SpanId = {span_id:String}".into());
        }
        // `service.name` is a resource attribute like any other; arrays
        // match by any element.
        for i in 0..self.q.attrs.len() {
            let (k, v) = (format!("{{ak{i}:String}}"), format!("{{av{i}:String}}"));
            c.push(format!(
                "({} OR {})",
                rows::attr_match_sql("LogAttributes", &k, &v),
                rows::attr_match_sql("ResourceAttributes", &k, &v)
            ));
        }
        if let Some(w) = words::condition(&self.words) {
            c.push(w);
        }
        c.join(" AND ")
    }

    fn bind(&self, mut query: Query) -> Query {
        query = query
            .param("from", signed(self.bounds.from))
            .param("to", signed(self.bounds.to))
            .param("from_s", seconds(self.bounds.from))
            .param("to_s", seconds(self.bounds.to));
        if let Some(s) = &self.q.service {
            query = query.param("service", s);
        }
        if let Some(s) = self.q.severity_min {
            query = query.param("severity", s);
        }
        if let Some(t) = &self.q.trace_id {
            query = query.param("trace_id", t.to_hex());
        }
        if let Some(s) = &self.q.span_id {
            query = query.param("span_id", s.to_hex());
        }
        for (i, f) in self.q.attrs.iter().enumerate() {
            query = query
                .param(&format!("ak{i}"), &f.key)
                .param(&format!("av{i}"), &f.value);
        }
        words::bind(query, &self.words)
    }
}

/// A place in the list: the last record of the previous page.
#[derive(Clone, Copy)]
struct After {
    ts: u64,
    h: u64,
}

fn parse_cursor(c: &str) -> Result<After, SearchError> {
    let f = cursor::decode(CURSOR_KIND, c, 2)?;
    Ok(After {
        ts: cursor::number(&f[0])?,
        h: cursor::number(&f[1])?,
    })
}

#[derive(Row, Deserialize)]
struct Floor {
    n: u64,
    floor: i64,
}

/// How many of the `k` newest matching rows older than the cursor's time
/// exist, and the oldest time among them.
async fn floor(
    ch: &Ch,
    filter: &Filter<'_>,
    after: Option<After>,
    k: u64,
) -> Result<Floor, SearchError> {
    let before = if after.is_some() {
        "AND Timestamp < fromUnixTimestamp64Nano({after_ts:Int64})"
    } else {
        ""
    };
    let sql = format!(
        "SELECT count() AS n, min(t) AS floor FROM (
           SELECT toUnixTimestamp64Nano(Timestamp) AS t FROM {LOGS}
           WHERE {} {before}
           ORDER BY Timestamp DESC LIMIT {{k:UInt64}})",
        filter.condition()
    );
    let mut query = filter.bind(ch.sql(&sql)).param("k", k);
    if let Some(a) = after {
        query = query.param("after_ts", signed(a.ts));
    }
    Ok(ch
        .rows::<Floor>(query)
        .await?
        .into_iter()
        .next()
        .unwrap_or(Floor { n: 0, floor: 0 }))
}

/// Up to `n` distinct matching rows after the cursor and from time
/// `floor` on, newest first.
async fn rows_from(
    ch: &Ch,
    schema: &Schema,
    filter: &Filter<'_>,
    after: Option<After>,
    floor: Option<i64>,
    n: u64,
) -> Result<Vec<LogRead>, SearchError> {
    let mut extra = String::new();
    if floor.is_some() {
        extra.push_str(" AND Timestamp >= fromUnixTimestamp64Nano({floor:Int64})");
    }
    if after.is_some() {
        extra.push_str(
            " AND Timestamp <= fromUnixTimestamp64Nano({after_ts:Int64})
              AND (ts, h) < ({after_ts:Int64}, {after_h:UInt64})",
        );
    }
    let sql = format!(
        "SELECT {} FROM {LOGS}
         WHERE {}{extra}
         ORDER BY ts DESC, h DESC
         LIMIT 1 BY ts, h
         LIMIT {{n:UInt64}}",
        columns(schema),
        filter.condition()
    );
    let mut query = filter.bind(ch.sql(&sql)).param("n", n);
    if let Some(f) = floor {
        query = query.param("floor", f);
    }
    if let Some(a) = after {
        query = query.param("after_ts", signed(a.ts)).param("after_h", a.h);
    }
    Ok(ch.rows(query).await?)
}

/// Log records matching `q` within `bounds`, newest first.
pub async fn search(
    ch: &Ch,
    schema: &Schema,
    q: &LogQuery,
    bounds: Bounds,
) -> Result<LogsResponse, SearchError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    let words = q.q.as_deref().map(words::of_query);
    let empty = LogsResponse {
        logs: Vec::new(),
        next_cursor: None,
    };
    if words.as_ref().is_some_and(Vec::is_empty) {
        // Nothing searchable (only punctuation or one-letter words).
        return Ok(empty);
    }
    let filter = Filter {
        q,
        bounds,
        words: words.unwrap_or_default(),
    };
    let page = limit as u64 + 1;
    let mut k = page;
    let mut rows = loop {
        let f = floor(ch, &filter, after, k).await?;
        if f.n == 0 && after.is_none() {
            return Ok(empty);
        }
        // Fewer than `k` rows: there is no floor, the second step reads
        // every row after the cursor.
        let whole = f.n < k;
        let rows = rows_from(
            ch,
            schema,
            &filter,
            after,
            (!whole).then_some(f.floor),
            page,
        )
        .await?;
        if whole || rows.len() as u64 >= page {
            break rows;
        }
        k = k.saturating_mul(4);
    };
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last()
            .map(|r| cursor::encode(CURSOR_KIND, &[unsigned(r.ts).to_string(), r.h.to_string()]))
    } else {
        None
    };
    Ok(LogsResponse {
        logs: rows.into_iter().map(LogRead::into_entry).collect(),
        next_cursor,
    })
}
