//! The manifest an SDK client of `tests/clients/` writes (exactly what it
//! sent), and the checks of the query API's answers against it, field by
//! field. Values in the manifest have the API's own OTLP/JSON shapes, so
//! they deserialize into the shared model and compare with its types
//! (an `intValue` never equals a `doubleValue`).

use std::collections::BTreeSet;
use std::fmt::{Debug, Display};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use shared::api::{LogEntry, LogsResponse, RawSeriesResponse, StatsResponse, TraceDetail};
use shared::metrics::{MetricData, MetricKind, NumberValue, Temporality};
use shared::trace::{SpanKind, Status, StatusCode};
use shared::{AnyValue, KeyValue, SpanId, TraceId, UnixNanos};

use crate::Sightline;

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
fn check_resource(r: &mut Report, what: &str, got: &[KeyValue], m: &Manifest) {
    for kv in &m.resource {
        match got.iter().find(|g| g.key == kv.key) {
            Some(g) => r.eq(format!("{what} resource[{}]", kv.key), &g.value, &kv.value),
            None => r.fail(format!("{what}: resource attribute {} missing", kv.key)),
        }
    }
}

/// Reads every trace of the manifest back and compares it span by span.
pub async fn check_traces(server: &Sightline, m: &Manifest, r: &mut Report) {
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
            match usize::try_from(rec.resource)
                .ok()
                .and_then(|i| d.resources.get(i))
            {
                Some(res) => check_resource(r, &w, &res.attributes, m),
                None => r.fail(format!("{w}: resource index {} out of range", rec.resource)),
            }
            match usize::try_from(rec.scope)
                .ok()
                .and_then(|i| d.scopes.get(i))
            {
                Some(sc) => {
                    r.eq(format!("{w} scope.name"), &sc.name, &m.scope.name);
                    r.eq(format!("{w} scope.version"), &sc.version, &m.scope.version);
                }
                None => r.fail(format!("{w}: scope index {} out of range", rec.scope)),
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
                &want.dropped_attributes_count,
            );
            r.eq(
                format!("{w} droppedEventsCount"),
                &got.dropped_events_count,
                &want.dropped_events_count,
            );
            r.eq(
                format!("{w} droppedLinksCount"),
                &got.dropped_links_count,
                &want.dropped_links_count,
            );
            check_attributes(
                r,
                &format!("{w} attributes"),
                &got.attributes,
                &want.attributes,
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
                    &we.attributes,
                );
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
                    &wl.attributes,
                );
            }
        }
    }
}

fn check_log(r: &mut Report, w: &str, got: &LogEntry, want: &ManifestLog, m: &Manifest) {
    r.eq(format!("{w} service"), &got.service, &m.service);
    check_resource(r, w, &got.resource.attributes, m);
    r.eq(format!("{w} scope.name"), &got.scope.name, &m.scope.name);
    r.eq(
        format!("{w} scope.version"),
        &got.scope.version,
        &m.scope.version,
    );
    let g = &got.record;
    r.eq(
        format!("{w} observedTime"),
        &g.observed_time,
        &want.observed_time,
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
    r.eq(format!("{w} body"), &g.body, &want.body);
    check_attributes(
        r,
        &format!("{w} attributes"),
        &g.attributes,
        &want.attributes,
    );
    r.eq(format!("{w} eventName"), &g.event_name, &want.event_name);
    r.eq(format!("{w} flags"), &g.flags, &want.flags);
    r.eq(format!("{w} traceId"), &g.trace_id, &want.trace_id);
    r.eq(format!("{w} spanId"), &g.span_id, &want.span_id);
}

/// Reads the manifest's logs back: all of them, then by trace and by span.
pub async fn check_logs(server: &Sightline, m: &Manifest, r: &mut Report) {
    let all: LogsResponse = get_json(server, "/api/logs?limit=1000").await;
    let mine: Vec<&LogEntry> = all.logs.iter().filter(|e| e.service == m.service).collect();
    r.eq("log count", &mine.len(), &m.logs.len());
    let times: Vec<UnixNanos> = mine.iter().map(|e| e.record.effective_time()).collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    r.eq("logs newest first", &times, &newest_first);
    for want in &m.logs {
        let w = format!("log at {} ({:?})", want.time, want.severity_text);
        match mine.iter().find(|e| e.record.time == want.time) {
            Some(got) => check_log(r, &w, got, want, m),
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
            .map(|l| l.time)
            .collect();
        got_times.sort();
        want_times.sort();
        r.eq(format!("GET {path} record times"), &got_times, &want_times);
    }
}

/// Reads every metric of the manifest back: one series per attribute set,
/// each with exactly the one point the client's single collection made.
pub async fn check_metrics(server: &Sightline, m: &Manifest, r: &mut Report) {
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
            let mut want_attrs = ws.attributes.clone();
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
            check_resource(r, &w, &got.resource, m);
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
                            &ws.attributes,
                        );
                        r.eq(format!("{w} value"), &Some(p.value), &ws.value);
                    }
                }
                MetricData::Gauge { points } => {
                    if let Some(p) = points.last() {
                        check_attributes(
                            r,
                            &format!("{w} point attributes"),
                            &p.attributes,
                            &ws.attributes,
                        );
                        r.eq(format!("{w} value"), &Some(p.value), &ws.value);
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
                            &ws.attributes,
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

/// Every check above, on a server that received only this manifest's data.
pub async fn check_stored(server: &Sightline, m: &Manifest, transport: &str) -> usize {
    let mut r = Report::default();
    check_traces(server, m, &mut r).await;
    check_logs(server, m, &mut r).await;
    check_metrics(server, m, &mut r).await;
    check_stats(server, m, transport, &mut r).await;
    let checks = r.checks();
    r.finish(&format!("{} over {}", m.client, m.protocol));
    checks
}
