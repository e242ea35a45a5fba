//! The ClickHouse engine end to end, through the real binary
//! (`--clickhouse-url`, `--clickhouse-database`) on a real ClickHouse:
//!
//! - the OpenTelemetry SDK clients of `tests/clients/` round-trip field by
//!   field (`manifest::Engine::ClickHouse` restates what the Collector's
//!   tables keep), one test per signal;
//! - rows a Collector would write, inserted by plain SQL (current and older
//!   exporter spellings; tables created by the exporter's own DDL with
//!   `--clickhouse-no-create-tables`) read back through the API, and a table
//!   Sightline cannot read stops the start;
//! - ClickHouse going away or arriving late: 503 + `Retry-After` /
//!   `UNAVAILABLE` meanwhile, health stays up, service resumes;
//! - two processes on one database share everything (no local state);
//! - the dashboard in Chromium on a ClickHouse-backed server.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fantoccini::{Client as Browser, Locator};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue as PbValue, KeyValue as PbKeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource as PbResource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as PbSpan};
use serde_json::{Value, json};
use shared::api::{
    ErrorResponse, HealthResponse, SpanRecord, SpansResponse, TraceDetail, TraceSummary,
    TracesResponse,
};
use shared::trace::{Event, Link, Resource, Scope, Span, SpanKind, Status, StatusCode};
use shared::{AnyValue, KeyValue, SpanId, TraceId, UnixNanos};
use sightline_tests::browser::{self, attrs, open, texts, wait_js};
use sightline_tests::clickhouse::ClickHouse;
use sightline_tests::clients::{self, Client};
use sightline_tests::manifest::{self, Engine, Manifest, Report, get_json};
use sightline_tests::otlp_json::{TestSpan, traces_request};
use sightline_tests::scenario::now_nanos;
use sightline_tests::{Options, Sightline, workspace_root};

const MS: u64 = 1_000_000;

// ---------------------------------------------------------------------------
// (a) The SDK clients, field by field.

/// Each SDK client run against a ClickHouse-backed server of its own (one
/// ClickHouse, a database per server, so every count is the client's own).
struct ClientRuns {
    _clickhouse: ClickHouse,
    runs: Vec<(Client, Sightline, Manifest)>,
}

async fn every_client(prefix: &str) -> ClientRuns {
    let clickhouse = ClickHouse::start();
    let servers: Vec<(Client, Sightline)> = [
        Client::PythonGrpc,
        Client::PythonHttpProtobuf,
        Client::NodeHttpJson,
    ]
    .into_iter()
    .map(|c| (c, Sightline::start_on(&clickhouse)))
    .collect();
    let names: Vec<String> = servers
        .iter()
        .map(|(c, _)| format!("{prefix}-{}", c.transport().replace('/', "-")))
        .collect();
    let (py_grpc, py_http, node) = tokio::join!(
        clients::run(servers[0].0, &servers[0].1, &names[0]),
        clients::run(servers[1].0, &servers[1].1, &names[1]),
        clients::run(servers[2].0, &servers[2].1, &names[2]),
    );
    let runs = servers
        .into_iter()
        .zip([py_grpc, py_http, node])
        .map(|((c, s), m)| {
            assert!(
                m.span_count() > 0 && !m.logs.is_empty() && m.series_count() > 0,
                "{c:?} sent nothing: {m:?}"
            );
            (c, s, m)
        })
        .collect();
    ClientRuns {
        _clickhouse: clickhouse,
        runs,
    }
}

/// The list, the trace and the span search answer the same about each of
/// the manifest's traces: `/api/traces` holds each trace's summary as
/// `/api/traces/{id}` gives it, newest first; `/api/spans?trace_id=` holds
/// the same spans with the same resources and scopes.
async fn check_trace_reads_agree(server: &Sightline, m: &Manifest, r: &mut Report) {
    let list: TracesResponse = get_json(server, "/api/traces?from=0&limit=1000").await;
    let starts: Vec<(UnixNanos, TraceId)> = list
        .traces
        .iter()
        .map(|t| (t.start_time, t.trace_id))
        .collect();
    let mut newest_first = starts.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    r.eq(
        "/api/traces order (start, id) descending",
        &starts,
        &newest_first,
    );
    r.eq("/api/traces count", &list.traces.len(), &m.traces.len());
    for t in &m.traces {
        let d: TraceDetail = get_json(server, &format!("/api/traces/{}", t.trace_id)).await;
        let w = format!("trace {}", t.trace_id);
        match list.traces.iter().find(|s| s.trace_id == t.trace_id) {
            Some(s) => r.eq(format!("{w} /api/traces summary"), s, &d.summary),
            None => r.fail(format!("{w}: not in /api/traces")),
        }
        let spans: SpansResponse = get_json(
            server,
            &format!("/api/spans?from=0&limit=1000&trace_id={}", t.trace_id),
        )
        .await;
        r.eq(
            format!("{w} /api/spans = /api/traces/{{id}} spans"),
            &resolved(&spans.spans, &spans.resources, &spans.scopes),
            &resolved(&d.spans, &d.resources, &d.scopes),
        );
        let times: Vec<(UnixNanos, TraceId, SpanId)> = spans
            .spans
            .iter()
            .map(|s| (s.span.start_time, s.span.trace_id, s.span.span_id))
            .collect();
        let mut newest = times.clone();
        newest.sort_by(|a, b| b.cmp(a));
        r.eq(format!("{w} /api/spans newest first"), &times, &newest);
    }
}

/// Span records with their resource and scope looked up, by span id.
fn resolved(
    spans: &[SpanRecord],
    resources: &[Resource],
    scopes: &[Scope],
) -> BTreeMap<SpanId, (String, Span, Option<Resource>, Option<Scope>)> {
    spans
        .iter()
        .map(|s| {
            let at = |i: u32| usize::try_from(i).unwrap_or(usize::MAX);
            (
                s.span.span_id,
                (
                    s.service.clone(),
                    s.span.clone(),
                    resources.get(at(s.resource)).cloned(),
                    scopes.get(at(s.scope)).cloned(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_client_traces_round_trip_on_clickhouse() {
    let all = every_client("ch-traces").await;
    for (client, server, m) in &all.runs {
        let mut r = Report::default();
        manifest::check_traces(server, m, Engine::ClickHouse, &mut r).await;
        check_trace_reads_agree(server, m, &mut r).await;
        r.finish(&format!("{client:?} traces on ClickHouse"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_client_logs_round_trip_on_clickhouse() {
    let all = every_client("ch-logs").await;
    for (client, server, m) in &all.runs {
        let mut r = Report::default();
        manifest::check_logs(server, m, Engine::ClickHouse, &mut r).await;
        r.finish(&format!("{client:?} logs on ClickHouse"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_client_metrics_round_trip_on_clickhouse() {
    let all = every_client("ch-metrics").await;
    for (client, server, m) in &all.runs {
        let mut r = Report::default();
        manifest::check_metrics(server, m, Engine::ClickHouse, &mut r).await;
        r.finish(&format!("{client:?} metrics on ClickHouse"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_client_stats_count_what_was_sent_on_clickhouse() {
    let all = every_client("ch-stats").await;
    for (client, server, m) in &all.runs {
        let mut r = Report::default();
        manifest::check_stats(server, m, client.transport(), &mut r).await;
        r.finish(&format!("{client:?} stats on ClickHouse"));
    }
}

// ---------------------------------------------------------------------------
// (b) Rows a Collector wrote, by plain SQL.

/// A `Map(LowCardinality(String), String)` column's pairs.
type Pairs = Vec<(&'static str, &'static str)>;

/// One `otel_traces` row as a Collector's `clickhouseexporter` writes it,
/// with the span the API must make of it.
struct CollectorSpan {
    trace_id: &'static str,
    span_id: &'static str,
    parent: &'static str,
    trace_state: &'static str,
    name: &'static str,
    /// As spelled in the table (`Server`, or `SPAN_KIND_SERVER` by older exporters).
    kind: &'static str,
    service: &'static str,
    resource: Pairs,
    scope: (&'static str, &'static str),
    attributes: Pairs,
    start: u64,
    duration: u64,
    /// As spelled in the table (`Error`, or `STATUS_CODE_ERROR`).
    status: &'static str,
    message: &'static str,
    /// Time, name, attributes.
    events: Vec<(u64, &'static str, Pairs)>,
    links: Vec<CollectorLink>,
    want_kind: SpanKind,
    want_status: StatusCode,
}

struct CollectorLink {
    trace_id: &'static str,
    span_id: &'static str,
    trace_state: &'static str,
    attributes: Pairs,
}

/// Trace A: rows of a current exporter (`Server`, `Error`), three spans in
/// two services, an event and a link to trace B.
const TRACE_A: &str = "5ca1ab1e00000000000000000000a001";
const A_ROOT: &str = "aa00000000000001";
const A_QUERY: &str = "aa00000000000002";
const A_DB: &str = "aa00000000000003";
/// Trace B: rows of an older exporter (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`).
const TRACE_B: &str = "5ca1ab1e00000000000000000000b002";
const B_ROOT: &str = "bb00000000000001";
const B_CHARGE: &str = "bb00000000000002";
const B_CALL: &str = "bb00000000000003";

/// The rows of traces A and B, starting at `t0`.
fn collector_spans(t0: u64) -> (Vec<CollectorSpan>, Vec<CollectorSpan>) {
    let shop = vec![
        ("service.name", "shop"),
        ("host.name", "box-1"),
        ("host.cpu.count", "2"),
    ];
    let a = vec![
        CollectorSpan {
            trace_id: TRACE_A,
            span_id: A_ROOT,
            parent: "",
            trace_state: "shop=1",
            name: "GET /orders",
            kind: "Server",
            service: "shop",
            resource: shop.clone(),
            scope: ("io.opentelemetry.http", "1.2.0"),
            attributes: vec![
                ("http.route", "/orders"),
                ("http.response.status_code", "200"),
                ("sightline.ratio", "0.25"),
                ("sightline.tags", r#"["a","b"]"#),
            ],
            start: t0,
            duration: 80 * MS,
            status: "Ok",
            message: "",
            events: vec![(t0 + MS, "request.received", vec![("bytes", "512")])],
            links: vec![],
            want_kind: SpanKind::Server,
            want_status: StatusCode::Ok,
        },
        CollectorSpan {
            trace_id: TRACE_A,
            span_id: A_QUERY,
            parent: A_ROOT,
            trace_state: "",
            name: "SELECT orders",
            kind: "Client",
            service: "shop",
            resource: shop,
            scope: ("io.opentelemetry.jdbc", "1.2.0"),
            attributes: vec![("db.system", "postgresql"), ("db.rows", "3")],
            start: t0 + 10 * MS,
            duration: 50 * MS,
            status: "Error",
            message: "deadline exceeded",
            events: vec![],
            links: vec![CollectorLink {
                trace_id: TRACE_B,
                span_id: B_ROOT,
                trace_state: "legacy=1",
                attributes: vec![("link.reason", "retry")],
            }],
            want_kind: SpanKind::Client,
            want_status: StatusCode::Error,
        },
        CollectorSpan {
            trace_id: TRACE_A,
            span_id: A_DB,
            parent: A_QUERY,
            trace_state: "",
            name: "query",
            kind: "Server",
            service: "db",
            resource: vec![("service.name", "db")],
            scope: ("db-driver", ""),
            attributes: vec![],
            start: t0 + 12 * MS,
            duration: 40 * MS,
            status: "Unset",
            message: "",
            events: vec![],
            links: vec![],
            want_kind: SpanKind::Server,
            want_status: StatusCode::Unset,
        },
    ];
    let legacy = vec![("service.name", "legacy")];
    let b = vec![
        CollectorSpan {
            trace_id: TRACE_B,
            span_id: B_ROOT,
            parent: "",
            trace_state: "",
            name: "POST /pay",
            kind: "SPAN_KIND_SERVER",
            service: "legacy",
            resource: legacy.clone(),
            scope: ("legacy-sdk", "0.9"),
            attributes: vec![("payment.amount", "12.5")],
            start: t0 + 100 * MS,
            duration: 30 * MS,
            status: "STATUS_CODE_ERROR",
            message: "card declined",
            events: vec![],
            links: vec![],
            want_kind: SpanKind::Server,
            want_status: StatusCode::Error,
        },
        CollectorSpan {
            trace_id: TRACE_B,
            span_id: B_CHARGE,
            parent: B_ROOT,
            trace_state: "",
            name: "charge",
            kind: "SPAN_KIND_INTERNAL",
            service: "legacy",
            resource: legacy.clone(),
            scope: ("legacy-sdk", "0.9"),
            attributes: vec![],
            start: t0 + 105 * MS,
            duration: 20 * MS,
            status: "STATUS_CODE_OK",
            message: "",
            events: vec![(t0 + 106 * MS, "retry", vec![])],
            links: vec![],
            want_kind: SpanKind::Internal,
            want_status: StatusCode::Ok,
        },
        CollectorSpan {
            trace_id: TRACE_B,
            span_id: B_CALL,
            parent: B_ROOT,
            trace_state: "",
            name: "call bank",
            kind: "SPAN_KIND_CLIENT",
            service: "legacy",
            resource: legacy,
            scope: ("legacy-sdk", "0.9"),
            attributes: vec![],
            start: t0 + 110 * MS,
            duration: 5 * MS,
            status: "STATUS_CODE_UNSET",
            message: "",
            events: vec![],
            links: vec![],
            want_kind: SpanKind::Client,
            want_status: StatusCode::Unset,
        },
    ];
    (a, b)
}

/// A `DateTime64(9)` as text ClickHouse parses: Unix seconds and nanoseconds.
fn ch_time(t: u64) -> String {
    format!("{}.{:09}", t / 1_000_000_000, t % 1_000_000_000)
}

fn kv(items: &[(&str, &str)]) -> Vec<KeyValue> {
    items
        .iter()
        .map(|(k, v)| KeyValue::string(*k, *v))
        .collect()
}

impl CollectorSpan {
    /// The row as one `JSONEachRow` line.
    fn json_row(&self) -> String {
        let map = |items: &[(&str, &str)]| -> Value {
            Value::Object(
                items
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), json!(v)))
                    .collect(),
            )
        };
        json!({
            "Timestamp": ch_time(self.start),
            "TraceId": self.trace_id,
            "SpanId": self.span_id,
            "ParentSpanId": self.parent,
            "TraceState": self.trace_state,
            "SpanName": self.name,
            "SpanKind": self.kind,
            "ServiceName": self.service,
            "ResourceAttributes": map(&self.resource),
            "ScopeName": self.scope.0,
            "ScopeVersion": self.scope.1,
            "SpanAttributes": map(&self.attributes),
            "Duration": self.duration,
            "StatusCode": self.status,
            "StatusMessage": self.message,
            "Events.Timestamp": self.events.iter().map(|e| ch_time(e.0)).collect::<Vec<_>>(),
            "Events.Name": self.events.iter().map(|e| e.1).collect::<Vec<_>>(),
            "Events.Attributes": self.events.iter().map(|e| map(&e.2)).collect::<Vec<_>>(),
            "Links.TraceId": self.links.iter().map(|l| l.trace_id).collect::<Vec<_>>(),
            "Links.SpanId": self.links.iter().map(|l| l.span_id).collect::<Vec<_>>(),
            "Links.TraceState": self.links.iter().map(|l| l.trace_state).collect::<Vec<_>>(),
            "Links.Attributes": self.links.iter().map(|l| map(&l.attributes)).collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// The row as one `VALUES` tuple, in [`VALUES_COLUMNS`] order.
    fn values_tuple(&self) -> String {
        fn s(v: &str) -> String {
            format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
        }
        fn map(items: &[(&str, &str)]) -> String {
            let pairs: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}:{}", s(k), s(v)))
                .collect();
            format!("{{{}}}", pairs.join(","))
        }
        fn list(items: impl Iterator<Item = String>) -> String {
            format!("[{}]", items.collect::<Vec<_>>().join(","))
        }
        let parts = [
            s(&ch_time(self.start)),
            s(self.trace_id),
            s(self.span_id),
            s(self.parent),
            s(self.trace_state),
            s(self.name),
            s(self.kind),
            s(self.service),
            map(&self.resource),
            s(self.scope.0),
            s(self.scope.1),
            map(&self.attributes),
            self.duration.to_string(),
            s(self.status),
            s(self.message),
            list(self.events.iter().map(|e| s(&ch_time(e.0)))),
            list(self.events.iter().map(|e| s(e.1))),
            list(self.events.iter().map(|e| map(&e.2))),
            list(self.links.iter().map(|l| s(l.trace_id))),
            list(self.links.iter().map(|l| s(l.span_id))),
            list(self.links.iter().map(|l| s(l.trace_state))),
            list(self.links.iter().map(|l| map(&l.attributes))),
        ];
        format!("({})", parts.join(", "))
    }

    fn trace(&self) -> TraceId {
        self.trace_id.parse().expect("hex trace id")
    }

    fn id(&self) -> SpanId {
        self.span_id.parse().expect("hex span id")
    }

    /// The span the API must give back for this row.
    fn want_span(&self) -> Span {
        Span {
            trace_id: self.trace(),
            span_id: self.id(),
            parent_span_id: (!self.parent.is_empty())
                .then(|| self.parent.parse().expect("hex parent id")),
            trace_state: self.trace_state.to_owned(),
            flags: 0,
            name: self.name.to_owned(),
            kind: self.want_kind,
            start_time: UnixNanos(self.start),
            end_time: UnixNanos(self.start + self.duration),
            attributes: kv(&self.attributes),
            dropped_attributes_count: 0,
            events: self
                .events
                .iter()
                .map(|(t, name, a)| Event {
                    time: UnixNanos(*t),
                    name: (*name).to_owned(),
                    attributes: kv(a),
                    dropped_attributes_count: 0,
                })
                .collect(),
            dropped_events_count: 0,
            links: self
                .links
                .iter()
                .map(|l| Link {
                    trace_id: l.trace_id.parse().expect("hex trace id"),
                    span_id: l.span_id.parse().expect("hex span id"),
                    trace_state: l.trace_state.to_owned(),
                    attributes: kv(&l.attributes),
                    dropped_attributes_count: 0,
                    flags: 0,
                })
                .collect(),
            dropped_links_count: 0,
            status: Status {
                code: self.want_status,
                message: self.message.to_owned(),
            },
        }
    }

    fn want_resource(&self) -> Resource {
        Resource {
            attributes: kv(&self.resource),
            ..Resource::default()
        }
    }

    fn want_scope(&self) -> Scope {
        Scope {
            name: self.scope.0.to_owned(),
            version: self.scope.1.to_owned(),
            ..Scope::default()
        }
    }
}

/// The columns of a `VALUES` insert, as the exporter names them.
const VALUES_COLUMNS: &str = "Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, \
    SpanKind, ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, \
    StatusCode, StatusMessage, `Events.Timestamp`, `Events.Name`, `Events.Attributes`, \
    `Links.TraceId`, `Links.SpanId`, `Links.TraceState`, `Links.Attributes`";

/// Inserts trace A as `JSONEachRow` and trace B as `VALUES`, each by plain SQL.
async fn insert_as_a_collector(ch: &ClickHouse, db: &str, t0: u64) -> Vec<CollectorSpan> {
    let (a, b) = collector_spans(t0);
    let lines: Vec<String> = a.iter().map(CollectorSpan::json_row).collect();
    ch.sql(&format!(
        "INSERT INTO {db}.otel_traces FORMAT JSONEachRow\n{}",
        lines.join("\n")
    ))
    .await;
    let tuples: Vec<String> = b.iter().map(CollectorSpan::values_tuple).collect();
    ch.sql(&format!(
        "INSERT INTO {db}.otel_traces ({VALUES_COLUMNS}) VALUES {}",
        tuples.join(", ")
    ))
    .await;
    a.into_iter().chain(b).collect()
}

/// Attributes sorted by key everywhere in a span (a `Map` column keeps the
/// order it was given, which JSON objects do not fix).
fn sorted(mut span: Span) -> Span {
    let by_key = |a: &mut Vec<KeyValue>| a.sort_by(|x, y| x.key.cmp(&y.key));
    by_key(&mut span.attributes);
    span.events
        .iter_mut()
        .for_each(|e| by_key(&mut e.attributes));
    span.links
        .iter_mut()
        .for_each(|l| by_key(&mut l.attributes));
    span
}

fn sorted_resource(mut r: Resource) -> Resource {
    r.attributes.sort_by(|x, y| x.key.cmp(&y.key));
    r
}

/// Every read of the API gives traces A and B back as their rows say.
async fn check_collector_rows(server: &Sightline, rows: &[CollectorSpan], r: &mut Report) {
    let by_trace =
        |id: &str| -> Vec<&CollectorSpan> { rows.iter().filter(|s| s.trace_id == id).collect() };

    // The trace list: B started last, so it comes first.
    let list: TracesResponse = get_json(server, "/api/traces?from=0").await;
    let ids: Vec<String> = list.traces.iter().map(|t| t.trace_id.to_hex()).collect();
    r.eq(
        "/api/traces ids",
        &ids,
        &vec![TRACE_B.to_owned(), TRACE_A.to_owned()],
    );
    let want_summary = |id: &str, root: &str, services: &[&str]| {
        let spans = by_trace(id);
        let start = spans.iter().map(|s| s.start).min().unwrap_or(0);
        let end = spans
            .iter()
            .map(|s| s.start + s.duration)
            .max()
            .unwrap_or(0);
        let root = spans.iter().find(|s| s.span_id == root).expect("root row");
        TraceSummary {
            trace_id: id.parse().expect("hex"),
            start_time: UnixNanos(start),
            end_time: UnixNanos(end),
            duration: UnixNanos(end - start),
            root_service: root.service.to_owned(),
            root_name: root.name.to_owned(),
            root_is_real: true,
            span_count: spans.len() as u64,
            error_count: spans
                .iter()
                .filter(|s| s.want_status == StatusCode::Error)
                .count() as u64,
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            log_count: 0,
        }
    };
    let want_a = want_summary(TRACE_A, A_ROOT, &["db", "shop"]);
    let want_b = want_summary(TRACE_B, B_ROOT, &["legacy"]);
    for want in [&want_a, &want_b] {
        match list.traces.iter().find(|t| t.trace_id == want.trace_id) {
            Some(got) => r.eq(
                format!("/api/traces summary of {}", want.trace_id),
                got,
                want,
            ),
            None => r.fail(format!("/api/traces lacks {}", want.trace_id)),
        }
    }

    // Trace-level filters see both spellings.
    for (query, want) in [
        ("status=error", vec![TRACE_B, TRACE_A]),
        ("status=ok", vec![]),
        ("service=db", vec![TRACE_A]),
        ("operation=POST%20%2Fpay", vec![TRACE_B]),
        ("attr=http.route%3D%2Forders", vec![TRACE_A]),
        ("attr=host.name%3Dbox-1", vec![TRACE_A]),
        ("q=legacy", vec![TRACE_B]),
        (&format!("q={TRACE_B}"), vec![TRACE_B]),
        ("min_duration=100ms", vec![]),
        ("min_duration=80ms", vec![TRACE_A]),
    ] {
        let got: TracesResponse = get_json(server, &format!("/api/traces?from=0&{query}")).await;
        let got: Vec<String> = got.traces.iter().map(|t| t.trace_id.to_hex()).collect();
        r.eq(
            format!("/api/traces?{query}"),
            &got,
            &want.iter().map(|s| s.to_string()).collect(),
        );
    }

    // Each trace: its summary, and every span, resource and scope in
    // (start, span id) order.
    for (id, want_summary) in [(TRACE_A, &want_a), (TRACE_B, &want_b)] {
        let d: TraceDetail = get_json(server, &format!("/api/traces/{id}")).await;
        let w = format!("/api/traces/{id}");
        r.eq(format!("{w} summary"), &d.summary, want_summary);
        let mut want = by_trace(id);
        want.sort_by_key(|s| (s.start, s.span_id));
        let got_ids: Vec<String> = d.spans.iter().map(|s| s.span.span_id.to_hex()).collect();
        let want_ids: Vec<String> = want.iter().map(|s| s.span_id.to_owned()).collect();
        r.eq(format!("{w} span order"), &got_ids, &want_ids);
        for row in want {
            let w = format!("{w} span {}", row.span_id);
            let Some(rec) = d.spans.iter().find(|s| s.span.span_id == row.id()) else {
                r.fail(format!("{w}: missing"));
                continue;
            };
            check_record(r, &w, rec, &d.resources, &d.scopes, row);
        }
    }

    // Span search: every span once, newest first, with the filters reading
    // both spellings.
    let all: SpansResponse = get_json(server, "/api/spans?from=0").await;
    let mut want_all: Vec<&CollectorSpan> = rows.iter().collect();
    want_all
        .sort_by(|a, b| (b.start, b.trace_id, b.span_id).cmp(&(a.start, a.trace_id, a.span_id)));
    let got: Vec<String> = all.spans.iter().map(|s| s.span.span_id.to_hex()).collect();
    let want: Vec<String> = want_all.iter().map(|s| s.span_id.to_owned()).collect();
    r.eq("/api/spans ids newest first", &got, &want);
    for row in rows {
        let w = format!("/api/spans span {}", row.span_id);
        match all.spans.iter().find(|s| s.span.span_id == row.id()) {
            Some(rec) => check_record(r, &w, rec, &all.resources, &all.scopes, row),
            None => r.fail(format!("{w}: missing")),
        }
    }
    for (query, want) in [
        ("kind=server", vec![B_ROOT, A_DB, A_ROOT]),
        ("kind=internal", vec![B_CHARGE]),
        ("kind=client", vec![B_CALL, A_QUERY]),
        ("status=error", vec![B_ROOT, A_QUERY]),
        ("status=unset", vec![B_CALL, A_DB]),
        ("status=ok", vec![B_CALL, B_CHARGE, A_DB, A_ROOT]),
        ("service=legacy&name=charge", vec![B_CHARGE]),
        ("attr=db.system%3Dpostgresql", vec![A_QUERY]),
        ("attr=service.name%3Ddb", vec![A_DB]),
        ("min_duration=40ms&max_duration=50ms", vec![A_DB, A_QUERY]),
        (
            &format!("trace_id={TRACE_B}&span_id={B_CALL}"),
            vec![B_CALL],
        ),
    ] {
        let got: SpansResponse = get_json(server, &format!("/api/spans?from=0&{query}")).await;
        let got: Vec<String> = got.spans.iter().map(|s| s.span.span_id.to_hex()).collect();
        r.eq(
            format!("/api/spans?{query}"),
            &got,
            &want.iter().map(|s| s.to_string()).collect(),
        );
    }
}

/// One span record against its row: every field, its resource and scope.
fn check_record(
    r: &mut Report,
    w: &str,
    rec: &SpanRecord,
    resources: &[Resource],
    scopes: &[Scope],
    row: &CollectorSpan,
) {
    r.eq(format!("{w} service"), rec.service.as_str(), row.service);
    r.eq(
        format!("{w} span"),
        &sorted(rec.span.clone()),
        &sorted(row.want_span()),
    );
    let at = |i: u32| usize::try_from(i).unwrap_or(usize::MAX);
    r.eq(
        format!("{w} resource"),
        &resources
            .get(at(rec.resource))
            .cloned()
            .map(sorted_resource),
        &Some(sorted_resource(row.want_resource())),
    );
    r.eq(
        format!("{w} scope"),
        &scopes.get(at(rec.scope)).cloned(),
        &Some(row.want_scope()),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_written_by_plain_sql_read_back_through_the_api() {
    let ch = ClickHouse::start();
    let server = Sightline::start_on(&ch);
    let db = server
        .clickhouse_database()
        .expect("on ClickHouse")
        .to_owned();
    let rows = insert_as_a_collector(&ch, &db, now_nanos() - 10 * 60_000 * MS).await;
    let mut r = Report::default();
    check_collector_rows(&server, &rows, &mut r).await;
    r.finish("Collector rows in a database Sightline created");
}

/// The exporter's DDL (`exporter/clickhouseexporter/internal/sqltemplates/`,
/// one server, no TTL), as a Collector creates its tables: the newest
/// `otel_traces` (with its `ALIAS` columns) and no
/// `otel_traces_trace_id_ts`, which older exporters did not have.
fn exporter_ddl(db: &str) -> Vec<String> {
    const METRIC_HEAD: &str = "
        ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        ResourceSchemaUrl String CODEC(ZSTD(1)),
        ScopeName String CODEC(ZSTD(1)),
        ScopeVersion String CODEC(ZSTD(1)),
        ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
        ScopeSchemaUrl String CODEC(ZSTD(1)),
        ServiceName LowCardinality(String) CODEC(ZSTD(1)),
        MetricName String CODEC(ZSTD(1)),
        MetricDescription String CODEC(ZSTD(1)),
        MetricUnit String CODEC(ZSTD(1)),
        Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
        TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),";
    const EXEMPLARS: &str = "
        Exemplars Nested (
            FilteredAttributes Map(LowCardinality(String), String),
            TimeUnix DateTime64(9),
            Value Float64,
            SpanId String,
            TraceId String
        ) CODEC(ZSTD(1)),";
    const METRIC_TAIL: &str = "
        INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1
        ) ENGINE = MergeTree()
        PARTITION BY toDate(TimeUnix)
        ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
        SETTINGS index_granularity=8192, ttl_only_drop_parts = 1";
    let metric = |table: &str, body: &str| {
        format!("CREATE TABLE IF NOT EXISTS {db}.{table} ({METRIC_HEAD}{body}{METRIC_TAIL}")
    };
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.otel_traces (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.otel_logs (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree()
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1"
        ),
        metric(
            "otel_metrics_gauge",
            &format!("Value Float64 CODEC(ZSTD(1)), Flags UInt32 CODEC(ZSTD(1)),{EXEMPLARS}"),
        ),
        metric(
            "otel_metrics_sum",
            &format!(
                "Value Float64 CODEC(ZSTD(1)), Flags UInt32 CODEC(ZSTD(1)),{EXEMPLARS}
                 AggregationTemporality Int32 CODEC(ZSTD(1)),
                 IsMonotonic Boolean CODEC(Delta, ZSTD(1)),"
            ),
        ),
        metric(
            "otel_metrics_histogram",
            &format!(
                "Count UInt64 CODEC(Delta, ZSTD(1)), Sum Float64 CODEC(ZSTD(1)),
                 BucketCounts Array(UInt64) CODEC(ZSTD(1)),
                 ExplicitBounds Array(Float64) CODEC(ZSTD(1)),{EXEMPLARS}
                 Flags UInt32 CODEC(ZSTD(1)), Min Float64 CODEC(ZSTD(1)),
                 Max Float64 CODEC(ZSTD(1)), AggregationTemporality Int32 CODEC(ZSTD(1)),"
            ),
        ),
        metric(
            "otel_metrics_exp_histogram",
            &format!(
                "Count UInt64 CODEC(Delta, ZSTD(1)), Sum Float64 CODEC(ZSTD(1)),
                 Scale Int32 CODEC(ZSTD(1)), ZeroCount UInt64 CODEC(ZSTD(1)),
                 PositiveOffset Int32 CODEC(ZSTD(1)),
                 PositiveBucketCounts Array(UInt64) CODEC(ZSTD(1)),
                 NegativeOffset Int32 CODEC(ZSTD(1)),
                 NegativeBucketCounts Array(UInt64) CODEC(ZSTD(1)),{EXEMPLARS}
                 Flags UInt32 CODEC(ZSTD(1)), Min Float64 CODEC(ZSTD(1)),
                 Max Float64 CODEC(ZSTD(1)), AggregationTemporality Int32 CODEC(ZSTD(1)),"
            ),
        ),
        metric(
            "otel_metrics_summary",
            "Count UInt64 CODEC(Delta, ZSTD(1)), Sum Float64 CODEC(ZSTD(1)),
             ValueAtQuantiles Nested(Quantile Float64, Value Float64) CODEC(ZSTD(1)),
             Flags UInt32 CODEC(ZSTD(1)),",
        ),
    ]
}

/// The tables of `db`, by name.
async fn tables(ch: &ClickHouse, db: &str) -> Vec<String> {
    let out = ch
        .sql(&format!(
            "SELECT name FROM system.tables WHERE database = '{db}' ORDER BY name FORMAT TSV"
        ))
        .await;
    out.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collectors_own_tables_are_read_with_no_create_tables() {
    let ch = ClickHouse::start();
    let db = ch.fresh_database();
    for statement in exporter_ddl(&db) {
        ch.sql(&statement).await;
    }
    let before = tables(&ch, &db).await;
    let server = Sightline::start_with(Options {
        args: vec!["--clickhouse-no-create-tables".into()],
        ..Options::clickhouse(&ch.url, &db)
    });
    let rows = insert_as_a_collector(&ch, &db, now_nanos() - 10 * 60_000 * MS).await;
    let mut r = Report::default();
    check_collector_rows(&server, &rows, &mut r).await;
    r.eq(
        "tables after start (none created)",
        &tables(&ch, &db).await,
        &before,
    );
    r.finish("Collector rows in the Collector's own tables");

    // Sightline's own receivers write the same rows into them.
    let t = now_nanos() - 5 * 60_000 * MS;
    let trace = "5ca1ab1e00000000000000000000c003";
    send_trace(&server, trace, "own", t).await;
    let d: TraceDetail = get_json(&server, &format!("/api/traces/{trace}")).await;
    assert_eq!(d.summary.root_service, "own");
    assert_eq!(d.spans.len(), 2);
    assert_eq!(tables(&ch, &db).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_without_a_required_column_stops_the_start() {
    let ch = ClickHouse::start();
    let db = ch.fresh_database();
    for statement in exporter_ddl(&db) {
        // An otel_traces that lacks StatusMessage.
        let statement = statement.replace("    StatusMessage String CODEC(ZSTD(1)),\n", "");
        ch.sql(&statement).await;
    }
    assert!(
        !ch.sql(&format!(
            "SELECT name FROM system.columns WHERE database = '{db}' AND table = 'otel_traces' FORMAT TSV"
        ))
        .await
        .lines()
        .any(|c| c == "StatusMessage"),
        "the table was created without the column"
    );
    for args in [vec![], vec!["--clickhouse-no-create-tables".to_owned()]] {
        let log = Sightline::refused(Options {
            args: args.clone(),
            ..Options::clickhouse(&ch.url, &db)
        });
        assert!(
            log.contains(&format!("{db}.otel_traces has no column StatusMessage")),
            "with {args:?}, the refusal names the table and the column: {log}"
        );
    }
}

/// Sightline's own receivers write attribute values as the Collector does,
/// so its rows and a Collector's read alike and one `attr` filter finds both.
#[tokio::test(flavor = "multi_thread")]
async fn values_sightline_writes_read_like_the_collectors() {
    let ch = ClickHouse::start();
    let server = Sightline::start_on(&ch);
    let db = server
        .clickhouse_database()
        .expect("on ClickHouse")
        .to_owned();
    let values: Vec<(&str, Value, AnyValue)> = vec![
        ("int", json!({"intValue": "-7"}), AnyValue::Int(-7)),
        ("whole", json!({"doubleValue": 3.0}), AnyValue::Double(3.0)),
        ("big", json!({"doubleValue": 1e21}), AnyValue::Double(1e21)),
        (
            "tiny",
            json!({"doubleValue": 1.5e-7}),
            AnyValue::Double(1.5e-7),
        ),
        (
            "doubles",
            json!({"arrayValue": {"values": [{"doubleValue": 1.0}, {"doubleValue": 2.5}]}}),
            AnyValue::Array(vec![AnyValue::Double(1.0), AnyValue::Double(2.5)]),
        ),
        (
            "map",
            json!({"kvlistValue": {"values": [
                {"key": "z", "value": {"stringValue": "<b>&"}},
                {"key": "a", "value": {"boolValue": true}}
            ]}}),
            AnyValue::KvList(vec![
                KeyValue::string("z", "<b>&"),
                KeyValue {
                    key: "a".into(),
                    value: AnyValue::Bool(true),
                },
            ]),
        ),
        (
            "bytes",
            json!({"bytesValue": "AAH+/w=="}),
            AnyValue::Bytes(vec![0, 1, 0xfe, 0xff]),
        ),
    ];
    let t = now_nanos() - 60_000 * MS;
    let own_trace = "5ca1ab1e0000000000000000000077a1";
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "own"}}]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": [{
            "traceId": own_trace, "spanId": "00000000000077a1", "name": "values", "kind": 1,
            "startTimeUnixNano": t.to_string(), "endTimeUnixNano": (t + MS).to_string(),
            "attributes": values.iter().map(|(k, v, _)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        }]}]
    }]});
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http_url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 200);

    // The same span as a Collector writes it, values as Go prints them.
    let collector_trace = "5ca1ab1e0000000000000000000077a2";
    let texts: Vec<(&str, String)> = values
        .iter()
        .map(|(k, _, v)| (*k, manifest::collector_text(v)))
        .collect();
    let row = json!({
        "Timestamp": ch_time(t + MS), "TraceId": collector_trace, "SpanId": "00000000000077a2",
        "SpanName": "values", "SpanKind": "Internal", "ServiceName": "collector",
        "SpanAttributes": texts.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "Duration": MS, "StatusCode": "Unset",
    });
    ch.sql(&format!(
        "INSERT INTO {db}.otel_traces FORMAT JSONEachRow\n{row}"
    ))
    .await;

    let mut r = Report::default();
    let want: Vec<KeyValue> = texts
        .iter()
        .map(|(k, v)| KeyValue::string(*k, v.as_str()))
        .collect();
    for trace in [own_trace, collector_trace] {
        let got: SpansResponse =
            get_json(&server, &format!("/api/spans?from=0&trace_id={trace}")).await;
        match got.spans.first() {
            Some(s) => manifest::check_attributes(
                &mut r,
                &format!("{trace} attributes"),
                &s.span.attributes,
                &want,
            ),
            None => r.fail(format!("{trace}: no span")),
        }
    }
    for (key, text) in &texts {
        let filter: String =
            url::form_urlencoded::byte_serialize(format!("{key}={text}").as_bytes()).collect();
        let got: SpansResponse =
            get_json(&server, &format!("/api/spans?from=0&attr={filter}")).await;
        let mut traces: Vec<String> = got.spans.iter().map(|s| s.span.trace_id.to_hex()).collect();
        traces.sort();
        r.eq(
            format!("attr {key}={text} finds both rows"),
            &traces,
            &vec![own_trace.to_owned(), collector_trace.to_owned()],
        );
    }
    r.finish("own rows and Collector rows");
}

// ---------------------------------------------------------------------------
// (c) ClickHouse unreachable.

/// Sends a two-span trace (`service`, starting at `t`) over OTLP/HTTP JSON
/// and checks it was accepted.
async fn send_trace(server: &Sightline, trace_id: &str, service: &str, t: u64) {
    let status = post_trace(server, trace_id, service, t).await.status();
    assert_eq!(status, 200, "the export of {trace_id} is accepted");
}

async fn post_trace(
    server: &Sightline,
    trace_id: &str,
    service: &str,
    t: u64,
) -> reqwest::Response {
    let body = traces_request(
        service,
        &[
            TestSpan {
                trace_id,
                span_id: "0000000000000a01",
                parent: None,
                name: "GET /",
                start: t,
                end: t + 20 * MS,
                error: false,
            },
            TestSpan {
                trace_id,
                span_id: "0000000000000a02",
                parent: Some("0000000000000a01"),
                name: "work",
                start: t + MS,
                end: t + 10 * MS,
                error: true,
            },
        ],
    );
    reqwest::Client::new()
        .post(format!("{}/v1/traces", server.otlp_http_url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST /v1/traces")
}

fn grpc_request(t: u64) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(PbResource {
                attributes: vec![PbKeyValue {
                    key: "service.name".into(),
                    value: Some(PbValue {
                        value: Some(any_value::Value::StringValue("grpc".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![PbSpan {
                    trace_id: vec![0x5c; 16],
                    span_id: vec![0x0b; 8],
                    name: "grpc span".into(),
                    kind: 2,
                    start_time_unix_nano: t,
                    end_time_unix_nano: t + MS,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn grpc_export(server: &Sightline, t: u64) -> Result<(), tonic::Status> {
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", server.otlp_grpc_addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect to the OTLP/gRPC receiver");
    TraceServiceClient::new(channel)
        .export(grpc_request(t))
        .await
        .map(|_| ())
}

/// A 503 answer with `Retry-After` (whole seconds) and, for the query API,
/// a JSON error: returns the error text.
async fn assert_unavailable(resp: reqwest::Response, what: &str, json_error: bool) -> String {
    assert_eq!(resp.status(), 503, "{what}");
    let retry = resp
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .to_str()
        .expect("ASCII Retry-After")
        .to_owned();
    let seconds: u64 = retry
        .parse()
        .unwrap_or_else(|_| panic!("{what}: Retry-After {retry:?} is not seconds"));
    assert!((1..=60).contains(&seconds), "{what}: Retry-After {seconds}");
    let body = resp.text().await.expect("body");
    if !json_error {
        return body;
    }
    let e: ErrorResponse =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    assert!(!e.error.is_empty(), "{what}: empty error");
    e.error
}

async fn health(server: &Sightline) -> HealthResponse {
    get_json(server, "/api/health").await
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_stopped_under_a_running_server_answers_503_and_health_stays_up() {
    // A front of its own, even with SIGHTLINE_TEST_CLICKHOUSE_URL: it is stopped.
    let ch = ClickHouse::start_front(&[]);
    let server = Sightline::start_on(&ch);
    let t = now_nanos() - 60_000 * MS;
    let trace = "5ca1ab1e00000000000000000000d004";
    send_trace(&server, trace, "before", t).await;
    grpc_export(&server, t).await.expect("gRPC export while up");
    let list: TracesResponse = get_json(&server, "/api/traces?from=0").await;
    assert_eq!(list.traces.len(), 2);

    drop(ch);

    let api = server.api();
    for path in [
        "/api/traces?from=0".to_owned(),
        format!("/api/traces/{trace}"),
        "/api/spans?from=0".to_owned(),
        "/api/stats".to_owned(),
    ] {
        let resp = api.get(server.url(&path)).send().await.expect("GET");
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "GET {path}"
        );
        let error = assert_unavailable(resp, &format!("GET {path}"), true).await;
        assert!(error.contains("ClickHouse"), "GET {path}: {error}");
    }
    assert_unavailable(
        post_trace(&server, "5ca1ab1e00000000000000000000d005", "during", t).await,
        "POST /v1/traces",
        false,
    )
    .await;
    let err = grpc_export(&server, t)
        .await
        .expect_err("gRPC export while down");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");

    let h = health(&server).await;
    assert_eq!(h.status, "ok");
    assert_eq!(h.storage_engine, "clickhouse");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_started_before_clickhouse_serves_once_it_is_reachable() {
    let port = free_port();
    let server = Sightline::start_with(Options::clickhouse(
        &format!("http://127.0.0.1:{port}"),
        "late_otel",
    ));
    let t = now_nanos() - 60_000 * MS;
    let resp = server
        .api()
        .get(server.url("/api/traces?from=0"))
        .send()
        .await
        .expect("GET");
    let error = assert_unavailable(resp, "GET /api/traces before ClickHouse", true).await;
    assert!(error.contains("not been reached yet"), "{error}");
    let trace = "5ca1ab1e00000000000000000000e005";
    assert_unavailable(
        post_trace(&server, trace, "early", t).await,
        "POST /v1/traces before ClickHouse",
        false,
    )
    .await;
    let err = grpc_export(&server, t)
        .await
        .expect_err("gRPC before ClickHouse");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert_eq!(health(&server).await.status, "ok");

    let _ch = ClickHouse::start_front(&["--port", &port.to_string()]);
    // The server retries in the background; poll until it has the tables.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let resp = server
            .api()
            .get(server.url("/api/traces?from=0"))
            .send()
            .await
            .expect("GET");
        if resp.status() == 200 {
            let list: TracesResponse = resp.json().await.expect("JSON");
            assert!(list.traces.is_empty(), "{list:?}");
            break;
        }
        assert_eq!(resp.status(), 503);
        assert!(
            Instant::now() < deadline,
            "still unavailable 60 s after ClickHouse started: {:?}",
            resp.text().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        server
            .log_lines()
            .iter()
            .any(|l| l.contains("ClickHouse reached; tables ready"))
    );
    send_trace(&server, trace, "late", t).await;
    let d: TraceDetail = get_json(&server, &format!("/api/traces/{trace}")).await;
    assert_eq!(d.summary.root_service, "late");
    assert_eq!(d.summary.span_count, 2);
    assert_eq!(d.summary.error_count, 1);
    grpc_export(&server, t)
        .await
        .expect("gRPC export once reachable");
}

// ---------------------------------------------------------------------------
// (d) Two processes, one database.

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_on_one_database_read_what_the_other_was_sent() {
    let ch = ClickHouse::start();
    // A database neither has seen: the first to start creates it (and its
    // tables), the second finds them.
    let db = format!("{}_shared", ch.fresh_database());
    let a = Sightline::start_with(Options::clickhouse(&ch.url, &db));
    let b = Sightline::start_with(Options::clickhouse(&ch.url, &db));

    // The SDK sends to A; B gives back every field.
    let m = clients::run(Client::PythonGrpc, &a, "via-a").await;
    let mut r = Report::default();
    manifest::check_traces(&b, &m, Engine::ClickHouse, &mut r).await;
    r.finish("sent to A, read from B");

    // A trace sent to B is read from A, the same as from B.
    let trace = "5ca1ab1e00000000000000000000f006";
    send_trace(&b, trace, "via-b", now_nanos() - 60_000 * MS).await;
    let from_a: TraceDetail = get_json(&a, &format!("/api/traces/{trace}")).await;
    let from_b: TraceDetail = get_json(&b, &format!("/api/traces/{trace}")).await;
    assert_eq!(from_a, from_b);
    assert_eq!(from_a.summary.root_service, "via-b");
    assert_eq!(from_a.spans.len(), 2);

    // Both list the same traces.
    let list_a: TracesResponse = get_json(&a, "/api/traces?from=0").await;
    let list_b: TracesResponse = get_json(&b, "/api/traces?from=0").await;
    assert_eq!(list_a, list_b);
    assert_eq!(list_a.traces.len(), m.traces.len() + 1);

    // Neither wrote anything where it runs.
    for (name, s) in [("A", &a), ("B", &b)] {
        let entries: Vec<_> = std::fs::read_dir(s.data_dir())
            .expect("working directory")
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .expect("entries");
        assert!(entries.is_empty(), "{name} wrote {entries:?}");
    }
}

// ---------------------------------------------------------------------------
// (e) The dashboard on ClickHouse.

/// The attribute table of the span panel's first section, as (key, value) texts.
async fn panel_attributes(c: &Browser) -> Vec<(String, String)> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll('#span-panel details:first-of-type table.kv tr'))
               .map(tr => [tr.querySelector('th').textContent.trim(), tr.querySelector('td').textContent.trim()])",
            vec![],
        )
        .await
        .expect("read the panel");
    serde_json::from_value(v).expect("pairs")
}

async fn open_span(c: &Browser, server: &Sightline, trace: &str, span: &str) {
    open(
        c,
        &server.url(&format!("/traces/{trace}?span={span}")),
        "#span-panel[data-details='loaded']",
    )
    .await;
}

/// Saves a screenshot as `target/screenshots/<name>.png`.
async fn screenshot(c: &Browser, name: &str) {
    let dir = workspace_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_traces_spans_and_the_engine_on_clickhouse() {
    let ch = ClickHouse::start();
    let server = Sightline::start_on(&ch);
    let db = server
        .clickhouse_database()
        .expect("on ClickHouse")
        .to_owned();
    let m = clients::run(Client::PythonGrpc, &server, "py-browser").await;
    insert_as_a_collector(&ch, &db, now_nanos() - 10 * 60_000 * MS).await;
    let browser = browser::Browser::start().await;
    let c = &browser.client;

    // The trace list (last hour): the SDK's traces and the Collector's rows.
    open(c, &server.url("/traces"), "#traces-table tbody tr").await;
    let want = m.traces.len() + 2;
    wait_js(
        c,
        &format!("return document.querySelectorAll('#traces-table tbody tr').length === {want}"),
        20,
        "every trace in the list",
    )
    .await;
    let ids = attrs(c, "#traces-table tbody tr", "data-trace-id").await;
    for id in [TRACE_A, TRACE_B]
        .into_iter()
        .map(str::to_owned)
        .chain(m.traces.iter().map(|t| t.trace_id.to_hex()))
    {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let roots = texts(c, "#traces-table tbody tr td.root").await;
    for name in ["GET /orders", "POST /pay", "GET /checkout"] {
        assert!(
            roots.iter().any(|r| r.contains(name)),
            "{name} in {roots:?}"
        );
    }
    screenshot(c, "clickhouse-traces").await;

    // Trace A's waterfall: three rows, nested, the failed query marked.
    open(
        c,
        &server.url(&format!("/traces/{TRACE_A}")),
        "#waterfall .wf-row[data-span-id]",
    )
    .await;
    wait_js(
        c,
        "return document.querySelectorAll('#waterfall .wf-row[data-span-id]').length === 3",
        10,
        "three rows",
    )
    .await;
    let rows = attrs(c, "#waterfall .wf-row[data-span-id]", "data-span-id").await;
    let depths = attrs(c, "#waterfall .wf-row[data-span-id]", "data-depth").await;
    assert_eq!(rows, [A_ROOT, A_QUERY, A_DB]);
    assert_eq!(depths, ["0", "1", "2"]);
    assert_eq!(
        attrs(c, "#waterfall .wf-row.error", "data-span-id").await,
        [A_QUERY]
    );
    assert_eq!(texts(c, "#trace-spans").await, ["3"]);
    assert_eq!(texts(c, "#trace-errors").await, ["1"]);
    wait_js(
        c,
        &browser::count("#trace-logs-empty"),
        10,
        "the trace's (empty) logs",
    )
    .await;
    screenshot(c, "clickhouse-trace").await;

    // Its root span's panel: the Collector's text values as they are.
    c.find(Locator::Css(&format!(
        "#waterfall .wf-row[data-span-id='{A_ROOT}']"
    )))
    .await
    .expect("the root row")
    .click()
    .await
    .expect("click");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#span-panel[data-details='loaded']"))
        .await
        .expect("the panel loads");
    assert_eq!(texts(c, "#span-title").await, ["GET /orders"]);
    let pairs = panel_attributes(c).await;
    assert_eq!(
        pairs,
        [
            ("http.response.status_code", "200"),
            ("http.route", "/orders"),
            ("sightline.ratio", "0.25"),
            ("sightline.tags", r#"["a","b"]"#),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    screenshot(c, "clickhouse-span-collector").await;

    // Trace B (older spellings): the error and its message.
    open_span(c, &server, TRACE_B, B_ROOT).await;
    assert_eq!(texts(c, "#span-status").await, ["error: card declined"]);
    assert_eq!(
        attrs(c, "#waterfall .wf-row[data-span-id]", "data-span-id").await,
        [B_ROOT, B_CHARGE, B_CALL]
    );

    // The SDK's root span: every attribute as the Collector's text.
    let sdk_root = m
        .spans()
        .find(|s| s.parent_span_id.is_none() && !s.attributes.is_empty())
        .expect("an SDK root span with attributes");
    open_span(
        c,
        &server,
        &sdk_root.trace_id.to_hex(),
        &sdk_root.span_id.to_hex(),
    )
    .await;
    let mut want: Vec<(String, String)> = sdk_root
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), manifest::collector_text(&kv.value)))
        .collect();
    want.sort();
    assert_eq!(panel_attributes(c).await, want);
    // The trace's logs below the waterfall, bodies as text.
    let mut want_bodies: Vec<String> = m
        .logs
        .iter()
        .filter(|l| l.trace_id == Some(sdk_root.trace_id))
        .map(|l| manifest::collector_text(&l.body))
        .collect();
    assert!(!want_bodies.is_empty(), "the SDK trace has logs");
    wait_js(
        c,
        &format!(
            "return document.querySelectorAll('#trace-log-table tr.log-row').length === {}",
            want_bodies.len()
        ),
        10,
        "the trace's logs",
    )
    .await;
    let mut bodies = texts(c, "#trace-log-table tr.log-row td.body").await;
    bodies.sort();
    want_bodies.sort();
    assert_eq!(bodies, want_bodies);
    screenshot(c, "clickhouse-span-sdk").await;

    // About names the engine and where the data is.
    open(c, &server.url("/about"), "#about-engine").await;
    let engine = texts(c, "#about-engine").await;
    assert!(
        engine.len() == 1 && engine[0].contains("ClickHouse"),
        "{engine:?}"
    );
    let location = texts(c, "#about-data-dir").await;
    assert!(
        location.len() == 1 && location[0].contains(&ch.url) && location[0].contains(&db),
        "{location:?}"
    );
    screenshot(c, "clickhouse-about").await;
    browser.close().await;
}

/// The expected side's text is what the Collector (Go) writes, not what
/// Rust would print.
#[test]
fn collector_text_is_what_the_collector_writes() {
    let text = |v: AnyValue| manifest::collector_text(&v);
    assert_eq!(text(AnyValue::Int(-42)), "-42");
    assert_eq!(text(AnyValue::Bool(false)), "false");
    assert_eq!(text(AnyValue::Double(0.25)), "0.25");
    assert_eq!(text(AnyValue::Double(100.0)), "100");
    assert_eq!(text(AnyValue::Double(1e21)), "1e+21");
    assert_eq!(text(AnyValue::Double(1.5e-7)), "1.5e-7");
    assert_eq!(
        text(AnyValue::Double(f64::NAN)),
        "json: unsupported value: NaN"
    );
    assert_eq!(text(AnyValue::Bytes(vec![0, 1, 0xfe, 0xff])), "AAH+/w==");
    assert_eq!(
        text(AnyValue::Array(vec![
            AnyValue::Double(1.0),
            AnyValue::String("<a&b>".into()),
            AnyValue::Empty,
        ])),
        r#"[1,"\u003ca\u0026b\u003e",null]"#
    );
    assert_eq!(
        text(AnyValue::KvList(vec![
            KeyValue::string("z", "1"),
            KeyValue {
                key: "a".into(),
                value: AnyValue::Int(2),
            },
        ])),
        r#"{"a":2,"z":"1"}"#
    );
    assert_eq!(
        text(AnyValue::Array(vec![AnyValue::Double(f64::INFINITY)])),
        ""
    );
}

// ---------------------------------------------------------------------------
// ClickHouse over HTTPS

/// An `https://` ClickHouse URL is reached over TLS, trusting the system's
/// roots (here `SSL_CERT_FILE`, the test CA); a server certificate the
/// roots do not vouch for keeps the process from using ClickHouse at all.
#[tokio::test]
async fn an_https_clickhouse_is_reached_through_the_system_roots() {
    let pki = sightline_tests::pki::pki();
    let cert = pki.cert.display().to_string();
    let key = pki.key.display().to_string();
    let ch = ClickHouse::start_front(&["--tls-cert", &cert, "--tls-key", &key]);
    let https = ch.url.replacen("http://", "https://", 1);

    // Trusted: the database is created over TLS, a trace round-trips.
    let server = Sightline::start_with(Options {
        env: vec![("SSL_CERT_FILE".into(), pki.ca.display().to_string())],
        ..Options::clickhouse(&https, "over_tls")
    });
    let trace = "5ca1ab1e00000000000000000000715e";
    send_trace(&server, trace, "tls-shop", now_nanos() - 60_000 * MS).await;
    let detail: TraceDetail = get_json(&server, &format!("/api/traces/{trace}")).await;
    assert_eq!(detail.summary.root_service, "tls-shop");
    assert_eq!(detail.spans.len(), 2);

    // Not trusted (the roots are another CA's): nothing is written, the
    // API says ClickHouse cannot be used.
    let other = sightline_tests::pki::pki();
    let untrusted = Sightline::start_with(Options {
        env: vec![("SSL_CERT_FILE".into(), other.ca.display().to_string())],
        ..Options::clickhouse(&https, "over_tls")
    });
    let status = post_trace(&untrusted, trace, "tls-shop", now_nanos())
        .await
        .status();
    assert_eq!(
        status, 503,
        "an export it cannot store is refused for retry"
    );
    let r = reqwest::get(untrusted.url(&format!("/api/traces/{trace}")))
        .await
        .expect("API answers");
    assert_eq!(r.status(), 503);
}

// ---------------------------------------------------------------------------
// Credentials

/// The user and password come from `SIGHTLINE_CLICKHOUSE_USER` and
/// `SIGHTLINE_CLICKHOUSE_PASSWORD` (or `--clickhouse-password-file`); a
/// wrong password is ClickHouse's refusal, not a stored batch.
#[tokio::test]
async fn credentials_come_from_the_environment_or_a_file() {
    let ch = ClickHouse::start_front(&["--user", "otel", "--password", "s3cret"]);
    let with_env = Sightline::start_with(Options {
        env: vec![
            ("SIGHTLINE_CLICKHOUSE_USER".into(), "otel".into()),
            ("SIGHTLINE_CLICKHOUSE_PASSWORD".into(), "s3cret".into()),
        ],
        ..Options::clickhouse(&ch.url, "with_password")
    });
    let trace = "5ca1ab1e0000000000000000000c0de5";
    send_trace(&with_env, trace, "authed", now_nanos() - 60_000 * MS).await;
    let detail: TraceDetail = get_json(&with_env, &format!("/api/traces/{trace}")).await;
    assert_eq!(detail.summary.root_service, "authed");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("password");
    std::fs::write(&file, "s3cret\n").expect("password file");
    let with_file = Sightline::start_with(Options {
        args: vec![
            "--clickhouse-user".into(),
            "otel".into(),
            "--clickhouse-password-file".into(),
            file.display().to_string(),
        ],
        ..Options::clickhouse(&ch.url, "with_password")
    });
    let again: TraceDetail = get_json(&with_file, &format!("/api/traces/{trace}")).await;
    assert_eq!(again, detail);

    let log = Sightline::refused(Options {
        env: vec![
            ("SIGHTLINE_CLICKHOUSE_USER".into(), "otel".into()),
            ("SIGHTLINE_CLICKHOUSE_PASSWORD".into(), "wrong".into()),
        ],
        ..Options::clickhouse(&ch.url, "with_password")
    });
    assert!(
        log.contains("516") || log.contains("AUTHENTICATION_FAILED"),
        "{log}"
    );
}
