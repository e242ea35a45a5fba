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

/// Each check takes any store; the SQLite engine answers them the same,
/// but for a record stored twice, which it lists as often as a page holds
/// a copy (once or twice here, by page size).
#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use shared::api::LogEntry;
    use shared::logs::{LogRecord, ResourceLogs, ScopeLogs};
    use shared::query::{Bounds, LogQuery};
    use shared::trace::{Resource, Scope};
    use shared::{AnyValue, KeyValue, UnixNanos};

    use super::super::testing::TestClickHouse;
    use super::words;
    use crate::store::contract::SearchError;
    use crate::store::contract::TelemetryStore;
    use crate::store::contract::WriteBatch;
    use crate::store::sqlite::blocks::bloom::terms;

    const T: u64 = 1_700_000_000_000_000_000;

    fn record(t: u64, body: &str) -> LogRecord {
        LogRecord {
            time: UnixNanos(t),
            severity_number: 9,
            body: AnyValue::String(body.into()),
            ..Default::default()
        }
    }

    fn batch(service: &str, records: Vec<LogRecord>) -> WriteBatch {
        WriteBatch::Logs(vec![ResourceLogs {
            resource: Resource {
                attributes: vec![KeyValue::string("service.name", service)],
                ..Default::default()
            },
            scope_logs: vec![ScopeLogs {
                scope: Scope::default(),
                log_records: records,
            }],
        }])
    }

    fn write(store: &dyn TelemetryStore, b: WriteBatch) {
        store
            .submit(b)
            .expect("queue accepts")
            .blocking_recv()
            .expect("writer answers")
            .expect("write succeeds");
    }

    fn body(e: &LogEntry) -> String {
        e.record.body.to_display_string()
    }

    /// Every page of `q` (all time), in order.
    fn all_pages(store: &dyn TelemetryStore, q: LogQuery) -> Vec<LogEntry> {
        let mut out = Vec::new();
        let mut cursor = None;
        for _ in 0..100 {
            let page = store
                .search_logs(
                    &LogQuery {
                        cursor: cursor.take(),
                        ..q.clone()
                    },
                    Bounds::ALL,
                )
                .expect("search");
            out.extend(page.logs);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return out,
            }
        }
        panic!("pagination does not end");
    }

    #[test]
    fn pages_across_equal_times_neither_repeat_nor_skip() {
        let ch = TestClickHouse::start();
        pages_across_equal_times_neither_repeat_nor_skip_check(&ch.store());
    }

    fn pages_across_equal_times_neither_repeat_nor_skip_check(store: &dyn TelemetryStore) {
        let mut records: Vec<LogRecord> = (0..9).map(|i| record(T, &format!("same {i}"))).collect();
        records.extend((0..3).map(|i| record(T + 1, &format!("later {i}"))));
        records.extend((0..3).map(|i| record(T - 1, &format!("earlier {i}"))));
        write(store, batch("a", records));
        for limit in [1, 2, 4, 20] {
            let all = all_pages(
                store,
                LogQuery {
                    limit: Some(limit),
                    ..Default::default()
                },
            );
            let bodies: HashSet<String> = all.iter().map(body).collect();
            assert_eq!((all.len(), bodies.len()), (15, 15), "pages of {limit}");
            let times: Vec<u64> = all.iter().map(|e| e.record.time.0).collect();
            assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
            assert!(all[..3].iter().all(|e| body(e).starts_with("later")));
        }
    }

    #[test]
    fn a_record_stored_twice_is_listed_once() {
        let ch = TestClickHouse::start();
        a_record_stored_twice_is_listed_once_check(&ch.store());
    }

    fn a_record_stored_twice_is_listed_once_check(store: &dyn TelemetryStore) {
        let twice = record(T + 10, "sent twice");
        // Rows of one insert are all kept; another batch is another insert.
        write(
            store,
            batch(
                "a",
                vec![twice.clone(), twice.clone(), record(T, "older one")],
            ),
        );
        write(
            store,
            batch("a", vec![twice.clone(), record(T - 1, "older two")]),
        );
        for limit in [1, 2, 10] {
            let all = all_pages(
                store,
                LogQuery {
                    limit: Some(limit),
                    ..Default::default()
                },
            );
            let bodies: Vec<String> = all.iter().map(body).collect();
            assert_eq!(
                bodies,
                ["sent twice", "older one", "older two"],
                "pages of {limit}"
            );
        }
        // The same record from another service is another record.
        write(store, batch("b", vec![twice]));
        assert_eq!(all_pages(store, LogQuery::default()).len(), 4);
    }

    /// The embedded engine's rule: every query word is a word of the body.
    fn embedded_rule(body: &str, q: &str) -> bool {
        let words = words::of_query(q);
        let found: HashSet<String> = terms(body).collect();
        !words.is_empty() && words.iter().all(|w| found.contains(w))
    }

    #[test]
    fn words_match_as_the_embedded_engine_splits_them() {
        let ch = TestClickHouse::start();
        words_match_as_the_embedded_engine_splits_them_check(&ch.store());
    }

    /// A text index answers `hasToken` from its own (ASCII-split,
    /// lower-cased) tokens; the word rule must not change with it.
    #[test]
    fn words_match_the_same_with_a_text_index() {
        let ch = TestClickHouse::start();
        let store = ch.store();
        ch.runtime
            .block_on(store.ch().run(store.ch().sql(
                "ALTER TABLE otel_logs ADD INDEX idx_body_text Body
                     TYPE text(tokenizer = splitByNonAlpha, preprocessor = lower(Body))",
            )))
            .expect("a text index");
        words_match_as_the_embedded_engine_splits_them_check(&store);
    }

    fn words_match_as_the_embedded_engine_splits_them_check(store: &dyn TelemetryStore) {
        let long = "a".repeat(70);
        let bodies = [
            "error: disk full".to_owned(),
            "Error_Code=E42 retry".into(),
            "“quoted” failure".into(),
            "café—bar".into(),
            "CAFÉ au lait".into(),
            "snake_case_word".into(),
            "x-request-id=abc123".into(),
            "naïve façade".into(),
            "ÜBER straße".into(),
            "राम सकाम".into(),
            "数据库 错误".into(),
            format!("{long} tail"),
            "mixedCASE Words".into(),
            "İstanbul".into(),
            "ⓐⓑ circled".into(),
            // Vowel signs and circled letters are alphanumeric to Rust
            // (Other_Alphabetic) but neither letters nor digits to RE2; a
            // combining accent is neither.
            "साकाम".into(),
            "okⓧ".into(),
            "cafe\u{301} noir".into(),
        ];
        let records = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| record(T + i as u64, b))
            .collect();
        write(store, batch("a", records));
        let queries = [
            "error".to_owned(),
            "ERROR".into(),
            "disk full".into(),
            "full disk!".into(),
            "code".into(),
            "error_code".into(),
            "e42".into(),
            "quoted".into(),
            "failure".into(),
            "bar".into(),
            "café".into(),
            "cafe".into(),
            "CAFÉ".into(),
            "lait".into(),
            "case".into(),
            "snake_case".into(),
            "request".into(),
            "abc123".into(),
            "abc".into(),
            "naïve".into(),
            "façade".into(),
            "facade".into(),
            "über".into(),
            "STRASSE".into(),
            "straße".into(),
            "राम".into(),
            "काम".into(),
            "सकाम".into(),
            "数据库".into(),
            "错误".into(),
            "a".repeat(63),
            "a".repeat(64),
            "a".repeat(80),
            "tail".into(),
            "mixedcase".into(),
            "words".into(),
            "istanbul".into(),
            "İstanbul".into(),
            "ⓐⓑ".into(),
            "circled".into(),
            "ok".into(),
            "noir".into(),
            "x".into(),
            "—".into(),
        ];
        for q in &queries {
            let found: HashSet<String> = all_pages(
                store,
                LogQuery {
                    q: Some(q.clone()),
                    ..Default::default()
                },
            )
            .iter()
            .map(body)
            .collect();
            let expected: HashSet<String> = bodies
                .iter()
                .filter(|b| embedded_rule(b, q))
                .cloned()
                .collect();
            assert_eq!(found, expected, "query {q:?}");
        }
    }

    #[test]
    fn filters_on_unknown_things_and_empty_windows_find_nothing() {
        let ch = TestClickHouse::start();
        filters_on_unknown_things_and_empty_windows_find_nothing_check(&ch.store());
    }

    fn filters_on_unknown_things_and_empty_windows_find_nothing_check(store: &dyn TelemetryStore) {
        let mut r = record(T, "payment failed");
        r.attributes = vec![KeyValue::string("order", "7")];
        write(store, batch("a", vec![r]));
        let find = |q: LogQuery, bounds: Bounds| store.search_logs(&q, bounds).expect("search");
        let all = |q: LogQuery| find(q, Bounds::ALL).logs.len();
        assert_eq!(all(LogQuery::default()), 1);
        assert_eq!(
            all(LogQuery {
                service: Some("nope".into()),
                ..Default::default()
            }),
            0
        );
        let attr = |s: &str| vec![shared::query::AttrFilter::parse(s).expect("attr")];
        for (filter, n) in [
            ("order=7", 1),
            ("order=8", 0),
            ("order=", 0),
            ("missing=", 0),
            ("service.name=a", 1),
        ] {
            let q = LogQuery {
                attrs: attr(filter),
                ..Default::default()
            };
            assert_eq!(all(q), n, "{filter}");
        }
        let before = find(LogQuery::default(), Bounds { from: 1, to: T - 1 });
        assert!(before.logs.is_empty() && before.next_cursor.is_none());
        let after = find(
            LogQuery::default(),
            Bounds {
                from: T + 1,
                to: u64::MAX,
            },
        );
        assert!(after.logs.is_empty());
        assert_eq!(
            find(LogQuery::default(), Bounds { from: T, to: T })
                .logs
                .len(),
            1
        );
        let backwards = find(
            LogQuery::default(),
            Bounds {
                from: T + 1,
                to: T - 1,
            },
        );
        assert!(backwards.logs.is_empty());
        assert_eq!(
            all(LogQuery {
                q: Some("!! x".into()),
                ..Default::default()
            }),
            0,
            "no searchable word"
        );
        let bad = store.search_logs(
            &LogQuery {
                cursor: Some("bm90IG91cnM".into()),
                ..Default::default()
            },
            Bounds::ALL,
        );
        assert!(matches!(bad, Err(SearchError::Cursor(_))));
    }
}
