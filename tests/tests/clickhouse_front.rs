//! The ClickHouse test front (`tests/clickhouse/front.py`) answers the way
//! ClickHouse does for what the storage engine and a developer with curl
//! use: plain HTTP, and the `clickhouse` crate's inserts, fetches, bound
//! values, server-side parameters, settings and errors. With
//! `SIGHTLINE_TEST_CLICKHOUSE_URL` set, the same tests check a real server.

use clickhouse::{Client, Compression, Row, error::Error};
use serde::{Deserialize, Serialize};
use sightline_tests::clickhouse::ClickHouse;

/// The column types the span tables need, under ClickHouse's column names
/// (a Nested column's parts are named with a dot).
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
struct SpanRow {
    #[serde(rename = "TraceId")]
    trace_id: String,
    #[serde(rename = "DurationNs")]
    duration_ns: u64,
    /// `DateTime64(9)`: nanoseconds since the Unix epoch.
    #[serde(rename = "Timestamp")]
    timestamp_ns: i64,
    /// `Map(LowCardinality(String), String)`, in insertion order.
    #[serde(rename = "Attributes")]
    attributes: Vec<(String, String)>,
    #[serde(rename = "Tags")]
    tags: Vec<String>,
    #[serde(rename = "Events.Name")]
    event_names: Vec<String>,
    #[serde(rename = "Events.Timestamp")]
    event_times_ns: Vec<i64>,
}

const SPANS_SCHEMA: &str = "(
    TraceId String,
    DurationNs UInt64,
    Timestamp DateTime64(9),
    Attributes Map(LowCardinality(String), String),
    Tags Array(String),
    Events Nested(Name String, Timestamp DateTime64(9))
) ENGINE = MergeTree ORDER BY (TraceId, Timestamp)";

/// A trace id that needs escaping both as a SQL literal and as a parameter.
const AWKWARD_ID: &str = "it's \\ a\ttab";

fn sample_rows() -> Vec<SpanRow> {
    let t0: i64 = 1_767_225_600_123_456_789; // 2026-01-01T00:00:00.123456789Z
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        SpanRow {
            trace_id: "trace-a".into(),
            duration_ns: 5,
            timestamp_ns: t0,
            attributes: vec![
                ("service.name".into(), "checkout".into()),
                ("http.route".into(), "/cart/{id}".into()),
            ],
            tags: strings(&["db", "slow"]),
            event_names: strings(&["exception", "retry"]),
            event_times_ns: vec![t0 + 1, t0 + 999_999_999],
        },
        SpanRow {
            trace_id: "trace-b".into(),
            duration_ns: 1_000_000_007,
            timestamp_ns: t0 + 1,
            attributes: vec![("service.name".into(), "Zahlung ✓".into())],
            tags: Vec::new(),
            event_names: Vec::new(),
            event_times_ns: Vec::new(),
        },
        SpanRow {
            trace_id: AWKWARD_ID.into(),
            duration_ns: u64::MAX,
            timestamp_ns: 0,
            attributes: Vec::new(),
            tags: strings(&["db"]),
            event_names: strings(&[""]),
            event_times_ns: vec![-1],
        },
    ]
}

fn client(ch: &ClickHouse, database: &str) -> Client {
    Client::default()
        .with_url(&ch.url)
        .with_database(database)
        .with_compression(Compression::None)
}

/// A database with the span table, filled through plain SQL.
async fn spans_database(ch: &ClickHouse) -> String {
    let db = ch.fresh_database();
    ch.sql(&format!("CREATE TABLE {db}.spans {SPANS_SCHEMA}"))
        .await;
    db
}

#[tokio::test]
async fn ping_answers_ok() {
    let ch = ClickHouse::start();
    for path in ["/ping", "/"] {
        let answer = reqwest::get(format!("{}{path}", ch.url))
            .await
            .expect("GET");
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.text().await.expect("body"), "Ok.\n", "{path}");
    }
}

#[tokio::test]
async fn plain_sql_over_http_like_curl() {
    let ch = ClickHouse::start();
    let db = ch.fresh_database();
    ch.sql(&format!(
        "CREATE TABLE {db}.logs (Id UInt64, Body String) ENGINE = MergeTree ORDER BY Id"
    ))
    .await;
    // The data after the SQL in the body, as `curl --data-binary` sends it.
    ch.sql(&format!(
        "INSERT INTO {db}.logs FORMAT JSONEachRow\n{{\"Id\":2,\"Body\":\"b\\tc\"}}\n{{\"Id\":1,\"Body\":\"a\"}}"
    ))
    .await;
    // The INSERT in `query=`, the whole body being data.
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/", ch.url))
        .query(&[("query", format!("INSERT INTO {db}.logs FORMAT CSV"))])
        .body("3,\"with, comma\"\n")
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status(), 200);
    let summary = answer
        .headers()
        .get("X-ClickHouse-Summary")
        .expect("summary header")
        .to_str()
        .expect("ASCII")
        .to_owned();
    let summary: serde_json::Value = serde_json::from_str(&summary).expect("summary is JSON");
    assert_eq!(summary["written_rows"], "1", "{summary}");

    let rows = ch
        .sql(&format!(
            "SELECT Id, Body FROM {db}.logs ORDER BY Id FORMAT JSONEachRow"
        ))
        .await;
    assert_eq!(
        rows,
        "{\"Id\":1,\"Body\":\"a\"}\n{\"Id\":2,\"Body\":\"b\\tc\"}\n{\"Id\":3,\"Body\":\"with, comma\"}\n"
    );
    // Without a FORMAT clause: `default_format`, else TabSeparated.
    let answer = http
        .get(format!("{}/", ch.url))
        .query(&[
            (
                "query",
                format!("SELECT toUInt32(count()) AS n FROM {db}.logs"),
            ),
            ("default_format", "JSONEachRow".into()),
        ])
        .send()
        .await
        .expect("GET");
    assert_eq!(answer.headers()["X-ClickHouse-Format"], "JSONEachRow");
    assert_eq!(answer.text().await.expect("body"), "{\"n\":3}\n");
    assert_eq!(
        ch.sql(&format!("SELECT Body FROM {db}.logs WHERE Id = 2"))
            .await,
        "b\\tc\n"
    );
}

/// Rows go in as `RowBinaryWithNamesAndTypes` (the client checks them
/// against the table's schema first) or, without validation, as plain
/// `RowBinary`, and come back alike.
#[tokio::test]
async fn client_rows_round_trip() {
    let ch = ClickHouse::start();
    for validation in [true, false] {
        let db = spans_database(&ch).await;
        let client = client(&ch, &db).with_validation(validation);
        let rows = sample_rows();

        let mut insert = client.insert::<SpanRow>("spans").await.expect("insert");
        for row in &rows {
            insert.write(row).await.expect("write row");
        }
        insert.end().await.expect("end insert");

        let mut expected = rows.clone();
        expected.sort_by(|a, b| a.trace_id.cmp(&b.trace_id));
        let back = client
            .query("SELECT ?fields FROM spans ORDER BY TraceId")
            .fetch_all::<SpanRow>()
            .await
            .expect("fetch");
        assert_eq!(back, expected, "validation {validation}");
        // The time columns hold the nanoseconds, not a rounding of them.
        assert_eq!(
            ch.sql(&format!(
                "SELECT toString(Timestamp), arrayStringConcat(arrayMap(t -> toString(t), Events.Timestamp), ' ') \
                 FROM {db}.spans WHERE TraceId = 'trace-a'"
            ))
            .await,
            "2026-01-01 00:00:00.123456789\t2026-01-01 00:00:00.123456790 2026-01-01 00:00:01.123456788\n"
        );
    }
}

#[tokio::test]
async fn client_bound_values_parameters_and_execute() {
    let ch = ClickHouse::start();
    let db = spans_database(&ch).await;
    let client = client(&ch, &db);
    let rows = sample_rows();
    let mut insert = client.insert::<SpanRow>("spans").await.expect("insert");
    for row in &rows {
        insert.write(row).await.expect("write row");
    }
    insert.end().await.expect("end insert");

    // `bind`: values escaped into the SQL text by the client.
    let bound = client
        .query("SELECT ?fields FROM spans WHERE TraceId = ? AND DurationNs > ?")
        .bind(AWKWARD_ID)
        .bind(10_u64)
        .fetch_all::<SpanRow>()
        .await
        .expect("bound query");
    assert_eq!(bound, vec![rows[2].clone()]);

    // `param`: server-side parameters, sent as multipart/form-data fields.
    let by_param = client
        .query("SELECT ?fields FROM spans WHERE TraceId = {id:String} OR has(Tags, {tag:String}) ORDER BY DurationNs")
        .param("id", AWKWARD_ID)
        .param("tag", "slow")
        .fetch_all::<SpanRow>()
        .await
        .expect("query with parameters");
    assert_eq!(by_param, vec![rows[0].clone(), rows[2].clone()]);

    // `execute`: a statement without rows, then its effect.
    client
        .query("INSERT INTO spans (TraceId, Attributes) SELECT 'copy', Attributes FROM spans WHERE TraceId = ?")
        .bind("trace-b")
        .execute()
        .await
        .expect("execute");
    let copied = client
        .query("SELECT Attributes['service.name'] FROM spans WHERE TraceId = 'copy'")
        .fetch_all::<String>()
        .await
        .expect("fetch copy");
    assert_eq!(copied, vec!["Zahlung ✓".to_owned()]);
}

/// Settings apply to their own query only (`with_setting` is a URL
/// parameter), and a query's database comes from the client.
#[tokio::test]
async fn client_settings_apply_to_one_query() {
    let ch = ClickHouse::start();
    let db = ch.fresh_database();
    let client = client(&ch, &db);
    let zone = client
        .query("SELECT timezone()")
        .with_setting("session_timezone", "Asia/Tokyo")
        .fetch_one::<String>()
        .await
        .expect("query with a setting");
    assert_eq!(zone, "Asia/Tokyo");
    let zone = client
        .query("SELECT timezone()")
        .fetch_one::<String>()
        .await
        .expect("query without it");
    assert_ne!(zone, "Asia/Tokyo");
    let current = client
        .query("SELECT currentDatabase()")
        .fetch_one::<String>()
        .await
        .expect("current database");
    assert_eq!(current, db);
}

/// Many queries at once over the client's pooled keep-alive connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_queries_share_pooled_connections() {
    let ch = ClickHouse::start();
    let client = client(&ch, "default");
    let tasks: Vec<_> = (0..24_u32)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .query("SELECT {n:UInt32} * 2")
                    .param("n", n)
                    .fetch_one::<u64>()
                    .await
            })
        })
        .collect();
    for (n, task) in tasks.into_iter().enumerate() {
        let doubled = task.await.expect("task").expect("query");
        assert_eq!(doubled, 2 * n as u64);
    }
}

#[tokio::test]
async fn unknown_table_is_a_clickhouse_error() {
    let ch = ClickHouse::start();
    let db = ch.fresh_database();
    let client = client(&ch, &db);

    let err = client
        .query("SELECT ?fields FROM no_such_table")
        .fetch_all::<SpanRow>()
        .await
        .expect_err("unknown table");
    let Error::BadResponse(message) = err else {
        panic!("expected a ClickHouse error, got {err:?}");
    };
    assert!(message.starts_with("Code: 60. DB::Exception:"), "{message}");
    assert!(message.contains("(UNKNOWN_TABLE)"), "{message}");

    // The insert's schema lookup fails the same way.
    let err = client
        .insert::<SpanRow>("no_such_table")
        .await
        .err()
        .expect("insert into an unknown table");
    assert!(
        matches!(&err, Error::BadResponse(m) if m.contains("(UNKNOWN_TABLE)")),
        "{err:?}"
    );

    // Over plain HTTP: ClickHouse's status, code header and body.
    let answer = reqwest::Client::new()
        .post(format!("{}/", ch.url))
        .query(&[("database", db.as_str())])
        .body("SELECT * FROM no_such_table")
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status(), 404);
    assert_eq!(answer.headers()["X-ClickHouse-Exception-Code"], "60");
    let body = answer.text().await.expect("body");
    assert!(body.starts_with("Code: 60. DB::Exception: "), "{body}");
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    // Always a front of its own: a shared server's users are not ours to know.
    let ch = ClickHouse::start_front(&["--user", "sightline", "--password", "s3cret"]);
    let with = |user: &str, password: &str| {
        client(&ch, "default")
            .with_user(user)
            .with_password(password)
    };

    let one = with("sightline", "s3cret")
        .query("SELECT 1")
        .fetch_one::<u8>()
        .await
        .expect("right credentials");
    assert_eq!(one, 1);

    for (user, password) in [("sightline", "wrong"), ("default", "s3cret")] {
        let err = with(user, password)
            .query("SELECT 1")
            .fetch_one::<u8>()
            .await
            .expect_err("wrong credentials");
        assert!(
            matches!(&err, Error::BadResponse(m) if m.starts_with("Code: 516.") && m.contains("(AUTHENTICATION_FAILED)")),
            "{user}/{password}: {err:?}"
        );
    }

    let http = reqwest::Client::new();
    let url = format!("{}/?query=SELECT%201", ch.url);
    let anonymous = http.get(&url).send().await.expect("GET");
    assert_eq!(anonymous.status(), 403);
    assert_eq!(anonymous.headers()["X-ClickHouse-Exception-Code"], "516");
    let basic = http
        .get(&url)
        .basic_auth("sightline", Some("s3cret"))
        .send()
        .await
        .expect("GET");
    assert_eq!(basic.status(), 200);
    assert_eq!(basic.text().await.expect("body"), "1\n");
}
