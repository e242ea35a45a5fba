//! OTLP wire messages (prost types, from protobuf or JSON) → the shared model.
//!
//! Malformed identifiers fail the whole request ([`DecodeError`]); items that
//! are well-formed but cannot be stored (an all-zero trace id, a data point
//! without a value) are dropped here and counted, so the caller can answer
//! with an OTLP partial success.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as pc;
use opentelemetry_proto::tonic::logs::v1 as pl;
use opentelemetry_proto::tonic::metrics::v1 as pm;
use opentelemetry_proto::tonic::resource::v1 as pr;
use shared::logs::{LogRecord, ResourceLogs, ScopeLogs};
use shared::metrics::{
    Exemplar, ExpBuckets, ExpHistogramPoint, HistogramPoint, Metric, MetricData, NumberPoint,
    NumberValue, Quantile, ResourceMetrics, ScopeMetrics, SummaryPoint, Temporality,
};
use shared::trace::{
    Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanKind, Status, StatusCode,
};
use shared::{AnyValue, IdError, KeyValue, SpanId, TraceId, UnixNanos};

/// Why a request was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// An id field had the wrong size.
    #[error("{location}: {source}")]
    BadId {
        location: String,
        #[source]
        source: IdError,
    },
    /// A value kind that OTLP allows only in profiles.
    #[error("{location}: string_value_strindex is only valid in profiles")]
    ProfilesOnly { location: String },
    /// Nesting of array/kvlist values deeper than we accept.
    #[error("{location}: attribute values nested deeper than {MAX_DEPTH} levels")]
    TooDeep { location: String },
}

/// Attribute values may nest (arrays of kvlists of …); past this depth the
/// request is refused rather than risking the stack.
pub const MAX_DEPTH: usize = 32;

/// A decoded request: what can be stored, and what was dropped and why.
#[derive(Debug, Default)]
pub struct Decoded<T> {
    pub batch: Vec<T>,
    /// Items dropped while decoding.
    pub rejected: u64,
    /// Why the first dropped item was dropped.
    pub reason: Option<String>,
}

impl<T> Decoded<T> {
    fn reject(&mut self, n: u64, why: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        self.rejected += n;
        if self.reason.is_none() {
            self.reason = Some(why());
        }
    }
}

fn value(v: pc::AnyValue, depth: usize, loc: &dyn Fn() -> String) -> Result<AnyValue, DecodeError> {
    use pc::any_value::Value as V;
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep { location: loc() });
    }
    Ok(match v.value {
        None => AnyValue::Empty,
        Some(V::StringValue(s)) => AnyValue::String(s),
        Some(V::BoolValue(b)) => AnyValue::Bool(b),
        Some(V::IntValue(i)) => AnyValue::Int(i),
        Some(V::DoubleValue(d)) => AnyValue::Double(d),
        Some(V::BytesValue(b)) => AnyValue::Bytes(b),
        Some(V::ArrayValue(a)) => AnyValue::Array(
            a.values
                .into_iter()
                .map(|v| value(v, depth + 1, loc))
                .collect::<Result<_, _>>()?,
        ),
        Some(V::KvlistValue(kv)) => AnyValue::KvList(attributes_at(kv.values, depth + 1, loc)?),
        Some(V::StringValueStrindex(_)) => {
            return Err(DecodeError::ProfilesOnly { location: loc() });
        }
    })
}

fn attributes_at(
    kvs: Vec<pc::KeyValue>,
    depth: usize,
    loc: &dyn Fn() -> String,
) -> Result<Vec<KeyValue>, DecodeError> {
    kvs.into_iter()
        .map(|kv| {
            Ok(KeyValue {
                key: kv.key,
                value: match kv.value {
                    Some(v) => value(v, depth, loc)?,
                    None => AnyValue::Empty,
                },
            })
        })
        .collect()
}

fn attributes(
    kvs: Vec<pc::KeyValue>,
    loc: &dyn Fn() -> String,
) -> Result<Vec<KeyValue>, DecodeError> {
    attributes_at(kvs, 0, loc)
}

fn resource(
    r: Option<pr::Resource>,
    schema_url: String,
    loc: &dyn Fn() -> String,
) -> Result<Resource, DecodeError> {
    let r = r.unwrap_or_default();
    Ok(Resource {
        attributes: attributes(r.attributes, loc)?,
        dropped_attributes_count: r.dropped_attributes_count,
        schema_url,
    })
}

fn scope(
    s: Option<pc::InstrumentationScope>,
    schema_url: String,
    loc: &dyn Fn() -> String,
) -> Result<Scope, DecodeError> {
    let s = s.unwrap_or_default();
    Ok(Scope {
        name: s.name,
        version: s.version,
        attributes: attributes(s.attributes, loc)?,
        dropped_attributes_count: s.dropped_attributes_count,
        schema_url,
    })
}

/// An id that must be present and of the right size.
fn trace_id(bytes: &[u8], loc: &dyn Fn() -> String) -> Result<TraceId, DecodeError> {
    TraceId::from_bytes(bytes).map_err(|source| DecodeError::BadId {
        location: loc(),
        source,
    })
}

fn span_id(bytes: &[u8], loc: &dyn Fn() -> String) -> Result<SpanId, DecodeError> {
    SpanId::from_bytes(bytes).map_err(|source| DecodeError::BadId {
        location: loc(),
        source,
    })
}

/// An optional id: empty means absent; otherwise it must be of the right size.
fn opt_trace_id(bytes: &[u8], loc: &dyn Fn() -> String) -> Result<Option<TraceId>, DecodeError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let id = trace_id(bytes, loc)?;
    Ok((!id.is_zero()).then_some(id))
}

fn opt_span_id(bytes: &[u8], loc: &dyn Fn() -> String) -> Result<Option<SpanId>, DecodeError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let id = span_id(bytes, loc)?;
    Ok((!id.is_zero()).then_some(id))
}

/// Decodes a trace export request.
pub fn traces(req: ExportTraceServiceRequest) -> Result<Decoded<ResourceSpans>, DecodeError> {
    let mut out = Decoded::default();
    for (ri, rs) in req.resource_spans.into_iter().enumerate() {
        let rloc = move || format!("resourceSpans[{ri}]");
        let res = resource(rs.resource, rs.schema_url, &rloc)?;
        let mut scopes = Vec::with_capacity(rs.scope_spans.len());
        for (si, ss) in rs.scope_spans.into_iter().enumerate() {
            let sloc = move || format!("resourceSpans[{ri}].scopeSpans[{si}]");
            let sc = scope(ss.scope, ss.schema_url, &sloc)?;
            let mut spans = Vec::with_capacity(ss.spans.len());
            for (pi, s) in ss.spans.into_iter().enumerate() {
                let loc = move || format!("resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}]");
                let tid = trace_id(&s.trace_id, &|| format!("{}.traceId", loc()))?;
                let sid = span_id(&s.span_id, &|| format!("{}.spanId", loc()))?;
                let parent = opt_span_id(&s.parent_span_id, &|| format!("{}.parentSpanId", loc()))?;
                let events = s
                    .events
                    .into_iter()
                    .map(|e| {
                        Ok(Event {
                            time: UnixNanos(e.time_unix_nano),
                            name: e.name,
                            attributes: attributes(e.attributes, &loc)?,
                            dropped_attributes_count: e.dropped_attributes_count,
                        })
                    })
                    .collect::<Result<Vec<_>, DecodeError>>()?;
                let links = s
                    .links
                    .into_iter()
                    .enumerate()
                    .map(|(li, l)| {
                        Ok(Link {
                            trace_id: trace_id(&l.trace_id, &|| {
                                format!("{}.links[{li}].traceId", loc())
                            })?,
                            span_id: span_id(&l.span_id, &|| {
                                format!("{}.links[{li}].spanId", loc())
                            })?,
                            trace_state: l.trace_state,
                            attributes: attributes(l.attributes, &loc)?,
                            dropped_attributes_count: l.dropped_attributes_count,
                            flags: l.flags,
                        })
                    })
                    .collect::<Result<Vec<_>, DecodeError>>()?;
                let attrs = attributes(s.attributes, &loc)?;
                if tid.is_zero() || sid.is_zero() {
                    out.reject(1, || {
                        format!("{}: an all-zero trace or span id is invalid", loc())
                    });
                    continue;
                }
                let status = s.status.unwrap_or_default();
                spans.push(Span {
                    trace_id: tid,
                    span_id: sid,
                    parent_span_id: parent,
                    trace_state: s.trace_state,
                    flags: s.flags,
                    name: s.name,
                    kind: SpanKind::from_otlp(s.kind),
                    start_time: UnixNanos(s.start_time_unix_nano),
                    end_time: UnixNanos(s.end_time_unix_nano),
                    attributes: attrs,
                    dropped_attributes_count: s.dropped_attributes_count,
                    events,
                    dropped_events_count: s.dropped_events_count,
                    links,
                    dropped_links_count: s.dropped_links_count,
                    status: Status {
                        code: StatusCode::from_otlp(status.code),
                        message: status.message,
                    },
                });
            }
            scopes.push(ScopeSpans { scope: sc, spans });
        }
        out.batch.push(ResourceSpans {
            resource: res,
            scope_spans: scopes,
        });
    }
    Ok(out)
}

/// Decodes a logs export request.
pub fn logs(req: ExportLogsServiceRequest) -> Result<Decoded<ResourceLogs>, DecodeError> {
    let mut out = Decoded::default();
    for (ri, rl) in req.resource_logs.into_iter().enumerate() {
        let rloc = move || format!("resourceLogs[{ri}]");
        let res = resource(rl.resource, rl.schema_url, &rloc)?;
        let mut scopes = Vec::with_capacity(rl.scope_logs.len());
        for (si, sl) in rl.scope_logs.into_iter().enumerate() {
            let sloc = move || format!("resourceLogs[{ri}].scopeLogs[{si}]");
            let sc = scope(sl.scope, sl.schema_url, &sloc)?;
            let mut records = Vec::with_capacity(sl.log_records.len());
            for (li, l) in sl.log_records.into_iter().enumerate() {
                let loc = move || format!("resourceLogs[{ri}].scopeLogs[{si}].logRecords[{li}]");
                records.push(log_record(l, &loc)?);
            }
            scopes.push(ScopeLogs {
                scope: sc,
                log_records: records,
            });
        }
        out.batch.push(ResourceLogs {
            resource: res,
            scope_logs: scopes,
        });
    }
    Ok(out)
}

fn log_record(l: pl::LogRecord, loc: &dyn Fn() -> String) -> Result<LogRecord, DecodeError> {
    Ok(LogRecord {
        time: UnixNanos(l.time_unix_nano),
        observed_time: UnixNanos(l.observed_time_unix_nano),
        severity_number: l.severity_number,
        severity_text: l.severity_text,
        body: match l.body {
            Some(b) => value(b, 0, loc)?,
            None => AnyValue::Empty,
        },
        attributes: attributes(l.attributes, loc)?,
        dropped_attributes_count: l.dropped_attributes_count,
        flags: l.flags,
        trace_id: opt_trace_id(&l.trace_id, &|| format!("{}.traceId", loc()))?,
        span_id: opt_span_id(&l.span_id, &|| format!("{}.spanId", loc()))?,
        event_name: l.event_name,
    })
}

/// Decodes a metrics export request.
pub fn metrics(req: ExportMetricsServiceRequest) -> Result<Decoded<ResourceMetrics>, DecodeError> {
    let mut out = Decoded::default();
    for (ri, rm) in req.resource_metrics.into_iter().enumerate() {
        let rloc = move || format!("resourceMetrics[{ri}]");
        let res = resource(rm.resource, rm.schema_url, &rloc)?;
        let mut scopes = Vec::with_capacity(rm.scope_metrics.len());
        for (si, sm) in rm.scope_metrics.into_iter().enumerate() {
            let sloc = move || format!("resourceMetrics[{ri}].scopeMetrics[{si}]");
            let sc = scope(sm.scope, sm.schema_url, &sloc)?;
            let mut metrics = Vec::with_capacity(sm.metrics.len());
            for (mi, m) in sm.metrics.into_iter().enumerate() {
                let loc = move || format!("resourceMetrics[{ri}].scopeMetrics[{si}].metrics[{mi}]");
                if let Some(metric) = metric(m, &loc, &mut out)? {
                    metrics.push(metric);
                }
            }
            scopes.push(ScopeMetrics { scope: sc, metrics });
        }
        out.batch.push(ResourceMetrics {
            resource: res,
            scope_metrics: scopes,
        });
    }
    Ok(out)
}

fn exemplars(
    ex: Vec<pm::Exemplar>,
    loc: &dyn Fn() -> String,
) -> Result<Vec<Exemplar>, DecodeError> {
    ex.into_iter()
        .map(|e| {
            Ok(Exemplar {
                filtered_attributes: attributes(e.filtered_attributes, loc)?,
                time: UnixNanos(e.time_unix_nano),
                value: e.value.map(|v| match v {
                    pm::exemplar::Value::AsDouble(d) => NumberValue::AsDouble(d),
                    pm::exemplar::Value::AsInt(i) => NumberValue::AsInt(i),
                }),
                span_id: opt_span_id(&e.span_id, &|| format!("{}.exemplars.spanId", loc()))?,
                trace_id: opt_trace_id(&e.trace_id, &|| format!("{}.exemplars.traceId", loc()))?,
            })
        })
        .collect()
}

fn number_points<T>(
    dps: Vec<pm::NumberDataPoint>,
    loc: &dyn Fn() -> String,
    out: &mut Decoded<T>,
) -> Result<Vec<NumberPoint>, DecodeError> {
    let mut points = Vec::with_capacity(dps.len());
    for p in dps {
        let Some(v) = p.value else {
            out.reject(1, || format!("{}: a data point has no value", loc()));
            continue;
        };
        points.push(NumberPoint {
            attributes: attributes(p.attributes, loc)?,
            start_time: UnixNanos(p.start_time_unix_nano),
            time: UnixNanos(p.time_unix_nano),
            value: match v {
                pm::number_data_point::Value::AsDouble(d) => NumberValue::AsDouble(d),
                pm::number_data_point::Value::AsInt(i) => NumberValue::AsInt(i),
            },
            exemplars: exemplars(p.exemplars, loc)?,
            flags: p.flags,
        });
    }
    Ok(points)
}

fn metric<T>(
    m: pm::Metric,
    loc: &dyn Fn() -> String,
    out: &mut Decoded<T>,
) -> Result<Option<Metric>, DecodeError> {
    use pm::metric::Data as D;
    let data = match m.data {
        // A metric without data has no points to store or to reject.
        None => return Ok(None),
        Some(D::Gauge(g)) => MetricData::Gauge {
            points: number_points(g.data_points, loc, out)?,
        },
        Some(D::Sum(s)) => MetricData::Sum {
            points: number_points(s.data_points, loc, out)?,
            temporality: Temporality::from_otlp(s.aggregation_temporality),
            is_monotonic: s.is_monotonic,
        },
        Some(D::Histogram(h)) => MetricData::Histogram {
            temporality: Temporality::from_otlp(h.aggregation_temporality),
            points: h
                .data_points
                .into_iter()
                .map(|p| {
                    Ok(HistogramPoint {
                        attributes: attributes(p.attributes, loc)?,
                        start_time: UnixNanos(p.start_time_unix_nano),
                        time: UnixNanos(p.time_unix_nano),
                        count: p.count,
                        sum: p.sum,
                        bucket_counts: p.bucket_counts,
                        explicit_bounds: p.explicit_bounds,
                        exemplars: exemplars(p.exemplars, loc)?,
                        flags: p.flags,
                        min: p.min,
                        max: p.max,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
        },
        Some(D::ExponentialHistogram(h)) => MetricData::ExponentialHistogram {
            temporality: Temporality::from_otlp(h.aggregation_temporality),
            points: h
                .data_points
                .into_iter()
                .map(|p| {
                    let buckets = |b: Option<pm::exponential_histogram_data_point::Buckets>| {
                        let b = b.unwrap_or_default();
                        ExpBuckets {
                            offset: b.offset,
                            bucket_counts: b.bucket_counts,
                        }
                    };
                    Ok(ExpHistogramPoint {
                        attributes: attributes(p.attributes, loc)?,
                        start_time: UnixNanos(p.start_time_unix_nano),
                        time: UnixNanos(p.time_unix_nano),
                        count: p.count,
                        sum: p.sum,
                        scale: p.scale,
                        zero_count: p.zero_count,
                        positive: buckets(p.positive),
                        negative: buckets(p.negative),
                        flags: p.flags,
                        exemplars: exemplars(p.exemplars, loc)?,
                        min: p.min,
                        max: p.max,
                        zero_threshold: p.zero_threshold,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
        },
        Some(D::Summary(s)) => MetricData::Summary {
            points: s
                .data_points
                .into_iter()
                .map(|p| {
                    Ok(SummaryPoint {
                        attributes: attributes(p.attributes, loc)?,
                        start_time: UnixNanos(p.start_time_unix_nano),
                        time: UnixNanos(p.time_unix_nano),
                        count: p.count,
                        sum: p.sum,
                        quantile_values: p
                            .quantile_values
                            .into_iter()
                            .map(|q| Quantile {
                                quantile: q.quantile,
                                value: q.value,
                            })
                            .collect(),
                        flags: p.flags,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
        },
    };
    Ok(Some(Metric {
        name: m.name,
        description: m.description,
        unit: m.unit,
        metadata: attributes(m.metadata, loc)?,
        data,
    }))
}
