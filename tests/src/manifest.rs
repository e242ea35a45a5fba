//! The manifest an SDK client of `tests/clients/` writes (exactly what it
//! sent), and the checks of the query API's answers against it, field by
//! field. Values in the manifest have the API's own OTLP/JSON shapes, so
//! they deserialize into the shared model and compare with its types
//! (an `intValue` never equals a `doubleValue`).
//!
//! The checks take the server's [`Engine`]: the embedded store gives back
//! everything as sent; on ClickHouse the expected side is restated the way
//! the Collector's tables keep it (attribute values as text, no dropped
//! counts, one log time, …), and every field those tables keep is still
//! compared.

use std::collections::BTreeSet;
use std::fmt::{Debug, Display};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use shared::api::{LogEntry, LogsResponse, RawSeriesResponse, StatsResponse, TraceDetail};
use shared::metrics::{MetricData, MetricKind, NumberValue, Temporality};
use shared::trace::{Resource, Scope, SpanKind, Status, StatusCode};
use shared::{AnyValue, KeyValue, SpanId, TraceId, UnixNanos};

use crate::Sightline;

/// The storage engine a server runs on, and what it gives back of what it
/// was sent. The embedded SQLite store keeps every field as sent; ClickHouse
/// keeps what the OpenTelemetry Collector `clickhouseexporter`'s tables have
/// columns for (README "What differs from the embedded store";
/// `backend/src/store/clickhouse/fidelity.rs`), restated here independently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    ClickHouse,
}

impl Engine {
    /// An attribute value as stored: on ClickHouse a string, written the
    /// way the Collector writes it ([`collector_text`]).
    pub fn value(self, v: &AnyValue) -> AnyValue {
        match self {
            Engine::Sqlite => v.clone(),
            Engine::ClickHouse => AnyValue::String(collector_text(v)),
        }
    }

    /// Attributes as stored (each value as [`Engine::value`]).
    pub fn attributes(self, kvs: &[KeyValue]) -> Vec<KeyValue> {
        kvs.iter()
            .map(|kv| KeyValue {
                key: kv.key.clone(),
                value: self.value(&kv.value),
            })
            .collect()
    }

    /// A dropped-attributes/events/links count as stored: ClickHouse has no
    /// column for any of them.
    pub fn dropped(self, n: u32) -> u32 {
        match self {
            Engine::Sqlite => n,
            Engine::ClickHouse => 0,
        }
    }

    /// A log record's time and observed time as stored: ClickHouse keeps
    /// one `Timestamp`, the record's time (its observed time when it has
    /// none), which stands for both.
    pub fn log_times(self, time: UnixNanos, observed: UnixNanos) -> (UnixNanos, UnixNanos) {
        match self {
            Engine::Sqlite => (time, observed),
            Engine::ClickHouse => {
                let t = if time.0 == 0 { observed } else { time };
                (t, t)
            }
        }
    }

    /// A log body as stored: on ClickHouse `Body String` holds its
    /// [`collector_text`], and an empty text reads back as no body.
    pub fn log_body(self, body: &AnyValue) -> AnyValue {
        match self {
            Engine::Sqlite => body.clone(),
            Engine::ClickHouse => match collector_text(body) {
                t if t.is_empty() => AnyValue::Empty,
                t => AnyValue::String(t),
            },
        }
    }

    /// Log flags as stored: ClickHouse's `TraceFlags UInt8` keeps the low byte.
    pub fn log_flags(self, flags: u32) -> u32 {
        match self {
            Engine::Sqlite => flags,
            Engine::ClickHouse => flags & 0xff,
        }
    }

    /// A metric point's number as stored: ClickHouse's `Value Float64`
    /// gives integers back as doubles.
    pub fn number(self, v: NumberValue) -> NumberValue {
        match (self, v) {
            (Engine::Sqlite, v) => v,
            (Engine::ClickHouse, NumberValue::AsInt(i)) => NumberValue::AsDouble(i as f64),
            (Engine::ClickHouse, v) => v,
        }
    }
}

/// An attribute value as the Collector writes it into a ClickHouse `String`
/// (`pcommon.Value.AsString`): strings as they are, booleans and integers
/// in their usual text, doubles as JavaScript prints them (`1e+21`,
/// `1e-7`), bytes in base64, arrays and maps as Go's `encoding/json` writes
/// their plain values (sorted keys, `<>&` escaped, integral doubles without
/// a fraction; "" when a double in them is not finite).
pub fn collector_text(v: &AnyValue) -> String {
    use base64::Engine as _;
    match v {
        AnyValue::Empty => String::new(),
        AnyValue::String(s) => s.clone(),
        AnyValue::Bool(b) => b.to_string(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => es6_number(*d).unwrap_or_else(|| {
            let g = if d.is_nan() {
                "NaN"
            } else if *d > 0.0 {
                "+Inf"
            } else {
                "-Inf"
            };
            format!("json: unsupported value: {g}")
        }),
        AnyValue::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        AnyValue::Array(_) | AnyValue::KvList(_) => {
            let mut out = String::new();
            match go_json(v, &mut out) {
                Some(()) => out,
                None => String::new(),
            }
        }
    }
}

/// A double as ECMAScript's Number::toString (Go's JSON encoder and the
/// Collector's `float64AsString`); `None` for NaN and infinities.
fn es6_number(d: f64) -> Option<String> {
    if !d.is_finite() {
        return None;
    }
    let abs = d.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e21`/`1.5e-7`; JavaScript `1e+21`/`1.5e-7`.
        let s = format!("{d:e}");
        return Some(match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        });
    }
    Some(d.to_string())
}

/// `v` as Go's `json.Marshal` writes its plain value; `None` when Go fails
/// (a NaN or infinite double).
fn go_json(v: &AnyValue, out: &mut String) -> Option<()> {
    use base64::Engine as _;
    match v {
        AnyValue::Empty => out.push_str("null"),
        AnyValue::String(s) => go_json_string(s, out),
        AnyValue::Bool(b) => out.push_str(&b.to_string()),
        AnyValue::Int(i) => out.push_str(&i.to_string()),
        AnyValue::Double(d) => out.push_str(&es6_number(*d)?),
        AnyValue::Bytes(b) => {
            go_json_string(&base64::engine::general_purpose::STANDARD.encode(b), out)
        }
        AnyValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out)?;
            }
            out.push(']');
        }
        AnyValue::KvList(kvs) => {
            // A Go map: the last value of a key wins, keys come out sorted.
            let map: std::collections::BTreeMap<&str, &AnyValue> =
                kvs.iter().map(|kv| (kv.key.as_str(), &kv.value)).collect();
            out.push('{');
            for (i, (k, v)) in map.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(v, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

/// A JSON string as Go's encoder writes it (HTML-safe).
fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)))
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What one client run sent.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// SDK and version, e.g. `opentelemetry-python 1.45.2`.
    pub client: String,
    pub protocol: String,
    pub service: String,
    /// The resource attributes the client set (the SDK may add more).
    pub resource: Vec<KeyValue>,
    pub scope: ManifestScope,
    /// Successful export calls per signal (each is one request).
    pub exports: Exports,
    pub traces: Vec<ManifestTrace>,
    pub logs: Vec<ManifestLog>,
    pub metrics: Vec<ManifestMetric>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ManifestScope {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Exports {
    pub traces: u64,
    pub logs: u64,
    pub metrics: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestTrace {
    pub trace_id: TraceId,
    pub spans: Vec<ManifestSpan>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub trace_state: String,
    pub name: String,
    pub kind: SpanKind,
    pub start_time: UnixNanos,
    pub end_time: UnixNanos,
    pub attributes: Vec<KeyValue>,
    pub events: Vec<ManifestEvent>,
    pub links: Vec<ManifestLink>,
    pub status: Status,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
    pub dropped_links_count: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ManifestEvent {
    pub name: String,
    pub time: UnixNanos,
    pub attributes: Vec<KeyValue>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_state: String,
    pub attributes: Vec<KeyValue>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestLog {
    pub time: UnixNanos,
    pub observed_time: UnixNanos,
    pub severity_number: i32,
    pub severity_text: String,
    pub body: AnyValue,
    pub attributes: Vec<KeyValue>,
    pub event_name: String,
    pub flags: u32,
    #[serde(default)]
    pub trace_id: Option<TraceId>,
    #[serde(default)]
    pub span_id: Option<SpanId>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestMetric {
    pub name: String,
    pub unit: String,
    pub description: String,
    pub kind: MetricKind,
    pub temporality: Temporality,
    pub is_monotonic: bool,
    pub series: Vec<ManifestSeries>,
}

/// One attribute set of a metric and the value its one point must have.
#[derive(Clone, Debug, Deserialize)]
pub struct ManifestSeries {
    pub attributes: Vec<KeyValue>,
    /// Sums and gauges.
    #[serde(default)]
    pub value: Option<NumberValue>,
    /// Histograms.
    #[serde(default)]
    pub histogram: Option<ManifestHistogram>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestHistogram {
    #[serde(deserialize_with = "u64_text")]
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    #[serde(deserialize_with = "u64_texts")]
    pub bucket_counts: Vec<u64>,
    pub explicit_bounds: Vec<f64>,
}

fn u64_text<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

fn u64_texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .collect()
}

impl Manifest {
    /// Reads a manifest file.
    pub fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read manifest {}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("manifest {} does not parse: {e}", path.display()))
    }

    /// Number of spans over all traces.
    pub fn span_count(&self) -> usize {
        self.traces.iter().map(|t| t.spans.len()).sum()
    }

    /// Number of metric series; each carries exactly one point.
    pub fn series_count(&self) -> usize {
        self.metrics.iter().map(|m| m.series.len()).sum()
    }

    /// Every span, with its trace.
    pub fn spans(&self) -> impl Iterator<Item = &ManifestSpan> {
        self.traces.iter().flat_map(|t| &t.spans)
    }
}

/// Mismatches found so far; [`Report::finish`] fails the test listing all
/// of them, so one run shows every difference.
#[derive(Default)]
pub struct Report {
    checks: usize,
    problems: Vec<String>,
}

impl Report {
    /// Records whether `got == want`.
    pub fn eq<T: PartialEq + Debug + ?Sized>(&mut self, what: impl Display, got: &T, want: &T) {
        self.checks += 1;
        if got != want {
            self.problems
                .push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }

    /// Records a failed check.
    pub fn fail(&mut self, what: impl Display) {
        self.checks += 1;
        self.problems.push(what.to_string());
    }

    /// Number of checks made so far.
    pub fn checks(&self) -> usize {
        self.checks
    }

    /// Panics if any check failed (or none was made).
    pub fn finish(self, label: &str) {
        assert!(self.checks > 0, "{label}: nothing was checked");
        assert!(
            self.problems.is_empty(),
            "{label}: {} of {} checks failed:\n  {}",
            self.problems.len(),
            self.checks,
            self.problems.join("\n  ")
        );
    }
}

/// GETs `path` from the query API and decodes the JSON answer.
pub async fn get_json<T: DeserializeOwned>(server: &Sightline, path: &str) -> T {
    let resp = server
        .api()
        .get(server.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Compares attribute lists as maps: the same keys, and under each key the
/// same value of the same type.
pub fn check_attributes(r: &mut Report, what: &str, got: &[KeyValue], want: &[KeyValue]) {
    let keys = |kvs: &[KeyValue]| kvs.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>();
    let (mut got_keys, mut want_keys) = (keys(got), keys(want));
    got_keys.sort();
    want_keys.sort();
    r.eq(format!("{what} keys"), &got_keys, &want_keys);
    for kv in want {
        if let Some(g) = got.iter().find(|g| g.key == kv.key) {
            r.eq(format!("{what}[{}]", kv.key), &g.value, &kv.value);
        }
    }
}

/// Every attribute the client set on the resource is stored with its type
/// (the SDK may add its own, such as `telemetry.sdk.*`).
fn check_resource(r: &mut Report, what: &str, got: &[KeyValue], m: &Manifest, engine: Engine) {
    for kv in &m.resource {
        match got.iter().find(|g| g.key == kv.key) {
            Some(g) => r.eq(
                format!("{what} resource[{}]", kv.key),
                &g.value,
                &engine.value(&kv.value),
            ),
            None => r.fail(format!("{what}: resource attribute {} missing", kv.key)),
        }
    }
}

/// On ClickHouse, what its tables have no column for comes back empty:
/// the resource's schema URL and dropped count, the scope's attributes,
/// dropped count and schema URL, span flags. (The manifest does not say
/// what an SDK sent there, so on SQLite these are checked by the golden
/// replays and the storage suite.)
fn check_absent_on_clickhouse(
    r: &mut Report,
    what: &str,
    resource: &Resource,
    scope: &Scope,
    flags: Option<u32>,
) {
    r.eq(
        format!("{what} resource.schemaUrl (no column)"),
        resource.schema_url.as_str(),
        "",
    );
    r.eq(
        format!("{what} resource.droppedAttributesCount (no column)"),
        &resource.dropped_attributes_count,
        &0,
    );
    r.eq(
        format!("{what} scope.attributes (no column on otel_traces)"),
        &scope.attributes,
        &Vec::new(),
    );
    r.eq(
        format!("{what} scope.droppedAttributesCount (no column)"),
        &scope.dropped_attributes_count,
        &0,
    );
    if let Some(flags) = flags {
        r.eq(format!("{what} flags (no column)"), &flags, &0);
    }
}

/// Reads every trace of the manifest back and compares it span by span.
pub async fn check_traces(server: &Sightline, m: &Manifest, engine: Engine, r: &mut Report) {
    for t in &m.traces {
        let d: TraceDetail = get_json(server, &format!("/api/traces/{}", t.trace_id)).await;
        let w = format!("trace {}", t.trace_id);
        let s = &d.summary;
        r.eq(
            format!("{w} summary.spanCount"),
            &s.span_count,
            &(t.spans.len() as u64),
        );
        r.eq(format!("{w} spans"), &d.spans.len(), &t.spans.len());
        r.eq(
            format!("{w} services"),
            &s.services,
            &vec![m.service.clone()],
        );
        let start = t.spans.iter().map(|s| s.start_time).min();
        let end = t.spans.iter().map(|s| s.end_time).max();
        r.eq(
            format!("{w} summary.startTime"),
            &Some(s.start_time),
            &start,
        );
        r.eq(format!("{w} summary.endTime"), &Some(s.end_time), &end);
        let errors = t
            .spans
            .iter()
            .filter(|s| s.status.code == StatusCode::Error);
        r.eq(
            format!("{w} summary.errorCount"),
            &s.error_count,
            &(errors.count() as u64),
        );
        let roots: Vec<_> = t
            .spans
            .iter()
            .filter(|s| s.parent_span_id.is_none())
            .collect();
        r.eq(
            format!("{w} summary.rootIsReal"),
            &s.root_is_real,
            &!roots.is_empty(),
        );
        if let [root] = roots.as_slice() {
            r.eq(format!("{w} summary.rootName"), &s.root_name, &root.name);
            r.eq(
                format!("{w} summary.rootService"),
                &s.root_service,
                &m.service,
            );
        }
        let logs = m.logs.iter().filter(|l| l.trace_id == Some(t.trace_id));
        r.eq(
            format!("{w} summary.logCount"),
            &s.log_count,
            &(logs.count() as u64),
        );
        let order: Vec<_> = d
            .spans
            .iter()
            .map(|s| (s.span.start_time, s.span.span_id.to_hex()))
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        r.eq(
            format!("{w} span order (start time, span id)"),
            &order,
            &sorted,
        );

        for want in &t.spans {
            let w = format!("{w} span {} {:?}", want.span_id, want.name);
            let Some(rec) = d.spans.iter().find(|x| x.span.span_id == want.span_id) else {
                r.fail(format!("{w}: not stored"));
                continue;
            };
            r.eq(format!("{w} service"), &rec.service, &m.service);
            let resource = usize::try_from(rec.resource)
                .ok()
                .and_then(|i| d.resources.get(i));
            match resource {
                Some(res) => check_resource(r, &w, &res.attributes, m, engine),
                None => r.fail(format!("{w}: resource index {} out of range", rec.resource)),
            }
            let scope = usize::try_from(rec.scope)
                .ok()
                .and_then(|i| d.scopes.get(i));
            match scope {
                Some(sc) => {
                    r.eq(format!("{w} scope.name"), &sc.name, &m.scope.name);
                    r.eq(format!("{w} scope.version"), &sc.version, &m.scope.version);
                }
                None => r.fail(format!("{w}: scope index {} out of range", rec.scope)),
            }
            if let (Engine::ClickHouse, Some(res), Some(sc)) = (engine, resource, scope) {
                check_absent_on_clickhouse(r, &w, res, sc, Some(rec.span.flags));
            }
            let got = &rec.span;
            r.eq(format!("{w} traceId"), &got.trace_id, &want.trace_id);
            r.eq(
                format!("{w} parentSpanId"),
                &got.parent_span_id,
                &want.parent_span_id,
            );
            r.eq(format!("{w} name"), &got.name, &want.name);
            r.eq(format!("{w} kind"), &got.kind, &want.kind);
            r.eq(format!("{w} startTime"), &got.start_time, &want.start_time);
            r.eq(format!("{w} endTime"), &got.end_time, &want.end_time);
            r.eq(
                format!("{w} traceState"),
                &got.trace_state,
                &want.trace_state,
            );
            r.eq(format!("{w} status"), &got.status, &want.status);
            r.eq(
                format!("{w} droppedAttributesCount"),
                &got.dropped_attributes_count,
                &engine.dropped(want.dropped_attributes_count),
            );
            r.eq(
                format!("{w} droppedEventsCount"),
                &got.dropped_events_count,
                &engine.dropped(want.dropped_events_count),
            );
            r.eq(
                format!("{w} droppedLinksCount"),
                &got.dropped_links_count,
                &engine.dropped(want.dropped_links_count),
            );
            check_attributes(
                r,
                &format!("{w} attributes"),
                &got.attributes,
                &engine.attributes(&want.attributes),
            );
            r.eq(
                format!("{w} event count"),
                &got.events.len(),
                &want.events.len(),
            );
            for (i, (ge, we)) in got.events.iter().zip(&want.events).enumerate() {
                r.eq(format!("{w} events[{i}].name"), &ge.name, &we.name);
                r.eq(format!("{w} events[{i}].time"), &ge.time, &we.time);
                check_attributes(
                    r,
                    &format!("{w} events[{i}].attributes"),
                    &ge.attributes,
                    &engine.attributes(&we.attributes),
                );
                if engine == Engine::ClickHouse {
                    r.eq(
                        format!("{w} events[{i}].droppedAttributesCount (no column)"),
                        &ge.dropped_attributes_count,
                        &0,
                    );
                }
            }
            r.eq(
                format!("{w} link count"),
                &got.links.len(),
                &want.links.len(),
            );
            for (i, (gl, wl)) in got.links.iter().zip(&want.links).enumerate() {
                r.eq(
                    format!("{w} links[{i}].traceId"),
                    &gl.trace_id,
                    &wl.trace_id,
                );
                r.eq(format!("{w} links[{i}].spanId"), &gl.span_id, &wl.span_id);
                r.eq(
                    format!("{w} links[{i}].traceState"),
                    &gl.trace_state,
                    &wl.trace_state,
                );
                check_attributes(
                    r,
                    &format!("{w} links[{i}].attributes"),
                    &gl.attributes,
                    &engine.attributes(&wl.attributes),
                );
                if engine == Engine::ClickHouse {
                    r.eq(format!("{w} links[{i}].flags (no column)"), &gl.flags, &0);
                    r.eq(
                        format!("{w} links[{i}].droppedAttributesCount (no column)"),
                        &gl.dropped_attributes_count,
                        &0,
                    );
                }
            }
        }
    }
}

fn check_log(
    r: &mut Report,
    w: &str,
    got: &LogEntry,
    want: &ManifestLog,
    m: &Manifest,
    engine: Engine,
) {
    r.eq(format!("{w} service"), &got.service, &m.service);
    check_resource(r, w, &got.resource.attributes, m, engine);
    r.eq(format!("{w} scope.name"), &got.scope.name, &m.scope.name);
    r.eq(
        format!("{w} scope.version"),
        &got.scope.version,
        &m.scope.version,
    );
    let g = &got.record;
    let (time, observed_time) = engine.log_times(want.time, want.observed_time);
    r.eq(format!("{w} time"), &g.time, &time);
    r.eq(
        format!("{w} observedTime"),
        &g.observed_time,
        &observed_time,
    );
    r.eq(
        format!("{w} severityNumber"),
        &g.severity_number,
        &want.severity_number,
    );
    r.eq(
        format!("{w} severityText"),
        &g.severity_text,
        &want.severity_text,
    );
    r.eq(format!("{w} body"), &g.body, &engine.log_body(&want.body));
    check_attributes(
        r,
        &format!("{w} attributes"),
        &g.attributes,
        &engine.attributes(&want.attributes),
    );
    if engine == Engine::ClickHouse {
        r.eq(
            format!("{w} droppedAttributesCount (no column)"),
            &g.dropped_attributes_count,
            &0,
        );
    }
    r.eq(format!("{w} eventName"), &g.event_name, &want.event_name);
    r.eq(
        format!("{w} flags"),
        &g.flags,
        &engine.log_flags(want.flags),
    );
    r.eq(format!("{w} traceId"), &g.trace_id, &want.trace_id);
    r.eq(format!("{w} spanId"), &g.span_id, &want.span_id);
}

/// Reads the manifest's logs back: all of them, then by trace and by span.
pub async fn check_logs(server: &Sightline, m: &Manifest, engine: Engine, r: &mut Report) {
    let all: LogsResponse = get_json(server, "/api/logs?limit=1000").await;
    let mine: Vec<&LogEntry> = all.logs.iter().filter(|e| e.service == m.service).collect();
    r.eq("log count", &mine.len(), &m.logs.len());
    let times: Vec<UnixNanos> = mine.iter().map(|e| e.record.effective_time()).collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    r.eq("logs newest first", &times, &newest_first);
    let stored_time = |l: &ManifestLog| engine.log_times(l.time, l.observed_time).0;
    for want in &m.logs {
        let w = format!("log at {} ({:?})", want.time, want.severity_text);
        match mine.iter().find(|e| e.record.time == stored_time(want)) {
            Some(got) => check_log(r, &w, got, want, m, engine),
            None => r.fail(format!("{w}: not stored")),
        }
    }

    // The trace and span filters return exactly the correlated records.
    let ids: BTreeSet<(String, Option<String>)> = m
        .logs
        .iter()
        .filter_map(|l| {
            l.trace_id
                .map(|t| (t.to_hex(), l.span_id.map(|s| s.to_hex())))
        })
        .flat_map(|(t, s)| [(t.clone(), None), (t, s)])
        .collect();
    for (trace_id, span_id) in ids {
        let mut path = format!("/api/logs?limit=1000&trace_id={trace_id}");
        if let Some(s) = &span_id {
            path.push_str(&format!("&span_id={s}"));
        }
        let got: LogsResponse = get_json(server, &path).await;
        let mut got_times: Vec<UnixNanos> = got.logs.iter().map(|e| e.record.time).collect();
        let mut want_times: Vec<UnixNanos> = m
            .logs
            .iter()
            .filter(|l| l.trace_id.map(|t| t.to_hex()).as_ref() == Some(&trace_id))
            .filter(|l| span_id.is_none() || l.span_id.map(|s| s.to_hex()) == span_id)
            .map(stored_time)
            .collect();
        got_times.sort();
        want_times.sort();
        r.eq(format!("GET {path} record times"), &got_times, &want_times);
    }
}

/// Reads every metric of the manifest back: one series per attribute set,
/// each with exactly the one point the client's single collection made.
pub async fn check_metrics(server: &Sightline, m: &Manifest, engine: Engine, r: &mut Report) {
    for want in &m.metrics {
        let resp: RawSeriesResponse =
            get_json(server, &format!("/api/metrics/{}/raw", want.name)).await;
        let mine: Vec<_> = resp
            .series
            .iter()
            .filter(|s| s.service == m.service)
            .collect();
        let w = format!("metric {}", want.name);
        r.eq(format!("{w} series count"), &mine.len(), &want.series.len());
        for ws in &want.series {
            let point_attrs = engine.attributes(&ws.attributes);
            let want_value = ws.value.map(|v| engine.number(v));
            let mut want_attrs = point_attrs.clone();
            want_attrs.sort_by(|a, b| a.key.cmp(&b.key));
            let w = format!("{w} {{{}}}", describe(&want_attrs));
            let Some(got) = mine.iter().find(|s| {
                let mut a = s.attributes.clone();
                a.sort_by(|x, y| x.key.cmp(&y.key));
                a == want_attrs
            }) else {
                r.fail(format!("{w}: no series with these attributes"));
                continue;
            };
            r.eq(format!("{w} name"), &got.name, &want.name);
            r.eq(
                format!("{w} description"),
                &got.description,
                &want.description,
            );
            r.eq(format!("{w} unit"), &got.unit, &want.unit);
            r.eq(format!("{w} kind"), &got.kind, &want.kind);
            r.eq(
                format!("{w} temporality"),
                &got.temporality,
                &want.temporality,
            );
            r.eq(
                format!("{w} isMonotonic"),
                &got.is_monotonic,
                &want.is_monotonic,
            );
            r.eq(format!("{w} scope.name"), &got.scope_name, &m.scope.name);
            r.eq(
                format!("{w} scope.version"),
                &got.scope_version,
                &m.scope.version,
            );
            check_resource(r, &w, &got.resource, m, engine);
            r.eq(format!("{w} data kind"), &got.data.kind(), &want.kind);
            r.eq(format!("{w} point count"), &got.data.point_count(), &1);
            match &got.data {
                MetricData::Sum {
                    points,
                    temporality,
                    is_monotonic,
                } => {
                    r.eq(
                        format!("{w} data.temporality"),
                        temporality,
                        &want.temporality,
                    );
                    r.eq(
                        format!("{w} data.isMonotonic"),
                        is_monotonic,
                        &want.is_monotonic,
                    );
                    if let Some(p) = points.last() {
                        check_attributes(
                            r,
                            &format!("{w} point attributes"),
                            &p.attributes,
                            &point_attrs,
                        );
                        r.eq(format!("{w} value"), &Some(p.value), &want_value);
                    }
                }
                MetricData::Gauge { points } => {
                    if let Some(p) = points.last() {
                        check_attributes(
                            r,
                            &format!("{w} point attributes"),
                            &p.attributes,
                            &point_attrs,
                        );
                        r.eq(format!("{w} value"), &Some(p.value), &want_value);
                    }
                }
                MetricData::Histogram {
                    points,
                    temporality,
                } => {
                    r.eq(
                        format!("{w} data.temporality"),
                        temporality,
                        &want.temporality,
                    );
                    let Some(h) = &ws.histogram else {
                        r.fail(format!("{w}: the manifest has no histogram expectation"));
                        continue;
                    };
                    if let Some(p) = points.last() {
                        check_attributes(
                            r,
                            &format!("{w} point attributes"),
                            &p.attributes,
                            &point_attrs,
                        );
                        r.eq(format!("{w} count"), &p.count, &h.count);
                        r.eq(format!("{w} sum"), &p.sum, &Some(h.sum));
                        r.eq(format!("{w} min"), &p.min, &Some(h.min));
                        r.eq(format!("{w} max"), &p.max, &Some(h.max));
                        r.eq(
                            format!("{w} bucketCounts"),
                            &p.bucket_counts,
                            &h.bucket_counts,
                        );
                        r.eq(
                            format!("{w} explicitBounds"),
                            &p.explicit_bounds,
                            &h.explicit_bounds,
                        );
                    }
                }
                other => r.fail(format!("{w}: unexpected data {other:?}")),
            }
        }
    }
}

fn describe(attrs: &[KeyValue]) -> String {
    attrs
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value.to_display_string()))
        .collect::<Vec<_>>()
        .join(",")
}

/// On a server that received only this manifest's data, over `transport`:
/// the ingest counters and the stored totals match what was sent.
pub async fn check_stats(server: &Sightline, m: &Manifest, transport: &str, r: &mut Report) {
    let st: StatsResponse = get_json(server, "/api/stats").await;
    let spans = m.span_count() as u64;
    let logs = m.logs.len() as u64;
    let points = m.series_count() as u64;
    for (signal, items, requests) in [
        ("traces", spans, m.exports.traces),
        ("logs", logs, m.exports.logs),
        ("metrics", points, m.exports.metrics),
    ] {
        let mut found = false;
        for c in st.ingest.iter().filter(|c| c.signal == signal) {
            let w = format!("stats ingest {signal}/{}", c.transport);
            if c.transport == transport {
                found = true;
                r.eq(format!("{w} accepted"), &c.accepted, &items);
                r.eq(format!("{w} requests"), &c.requests, &requests);
                r.eq(format!("{w} rejected"), &c.rejected, &0);
                r.eq(format!("{w} invalidRequests"), &c.invalid_requests, &0);
            } else {
                r.eq(format!("{w} accepted (another transport)"), &c.accepted, &0);
                r.eq(format!("{w} requests (another transport)"), &c.requests, &0);
            }
        }
        if !found {
            r.fail(format!(
                "stats has no ingest counter for {signal}/{transport}"
            ));
        }
    }
    r.eq("stats spans.items", &st.spans.items, &spans);
    r.eq("stats logs.items", &st.logs.items, &logs);
    r.eq("stats metricPoints.items", &st.metric_points.items, &points);
    r.eq("stats traces", &st.traces, &(m.traces.len() as u64));
    r.eq("stats metricSeries", &st.metric_series, &points);
}

/// Every check above, on a server of `engine` that received only this
/// manifest's data.
pub async fn check_stored(
    server: &Sightline,
    m: &Manifest,
    transport: &str,
    engine: Engine,
) -> usize {
    let mut r = Report::default();
    check_traces(server, m, engine, &mut r).await;
    check_logs(server, m, engine, &mut r).await;
    check_metrics(server, m, engine, &mut r).await;
    check_stats(server, m, transport, &mut r).await;
    let checks = r.checks();
    r.finish(&format!("{} over {} on {engine:?}", m.client, m.protocol));
    checks
}
