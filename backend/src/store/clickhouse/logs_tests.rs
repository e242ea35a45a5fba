//! Tests of the ClickHouse logs queries against a real ClickHouse.
//!
//! Each check takes any store; the SQLite engine answers them the same,
//! but for a record stored twice, which it lists as often as a page holds
//! a copy (once or twice here, by page size).

use std::collections::HashSet;

use shared::api::LogEntry;
use shared::logs::{LogRecord, ResourceLogs, ScopeLogs};
use shared::query::{Bounds, LogQuery};
use shared::trace::{Resource, Scope};
use shared::{AnyValue, KeyValue, UnixNanos};

use super::testing::TestClickHouse;
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
