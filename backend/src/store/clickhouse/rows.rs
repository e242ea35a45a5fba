//! The rows Sightline inserts, column for column the exporter's, and how
//! the shared model becomes them. The exporter's schema keeps attribute
//! values as text: [`value_text`] writes them the way the Collector does
//! (`pcommon.Value.AsString`), so rows from both read alike.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clickhouse::Row;
use serde::Serialize;
use shared::logs::ResourceLogs;
use shared::metrics::{
    Exemplar, ExpHistogramPoint, HistogramPoint, MetricData, NumberPoint, ResourceMetrics,
    SummaryPoint, Temporality,
};
use shared::trace::{ResourceSpans, SpanKind, StatusCode};
use shared::{AnyValue, KeyValue, SpanId, TraceId};

/// A `Map(LowCardinality(String), String)` column.
pub type TextMap = Vec<(String, String)>;

/// An attribute value as the exporter writes it (`pcommon.Value.AsString`):
/// strings as they are, booleans and integers in their usual text, doubles
/// as JavaScript prints numbers (`0.25`, `1e+21`, `1e-7`), bytes in base64,
/// arrays and maps as Go's `encoding/json` writes their plain values
/// (sorted keys, `<`, `>`, `&` escaped, `1` for the double 1.0).
pub fn value_text(v: &AnyValue) -> String {
    match v {
        AnyValue::Empty => String::new(),
        AnyValue::String(s) => s.clone(),
        AnyValue::Bool(b) => b.to_string(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => number_text(*d).unwrap_or_else(|| {
            // Go's `FormatFloat(f, 'g', -1, 64)` after the encoder's refusal.
            let g = if d.is_nan() {
                "NaN"
            } else if *d > 0.0 {
                "+Inf"
            } else {
                "-Inf"
            };
            format!("json: unsupported value: {g}")
        }),
        AnyValue::Bytes(b) => BASE64.encode(b),
        AnyValue::Array(_) | AnyValue::KvList(_) => {
            // Go's encoder fails on a NaN or infinity anywhere inside, and
            // the exporter then writes nothing.
            let mut out = String::new();
            match write_json(v, &mut out) {
                Some(()) => out,
                None => String::new(),
            }
        }
    }
}

/// SQL true when attribute `key` of the map column `map` matches the
/// filter text `value` the way `shared::query::value_matches` does on the
/// embedded store: the stored text equals it, or the stored text is a JSON
/// array (how [`value_text`] writes arrays) with an element whose text
/// equals it. `JSONExtract(…, 'Array(String)')` gives strings unquoted and
/// numbers and booleans as text (`42`, `true`, `1` for `1.0`); text that is
/// not JSON gives no elements. `key` and `value` are query parameters
/// (`{ak0:String}`), never request text.
///
/// The array branch cannot use the value skip index (`mapValues`), so such
/// a filter skips granules by its key index only.
pub fn attr_match_sql(map: &str, key: &str, value: &str) -> String {
    format!(
        "(mapContains({map}, {key}) AND ({map}[{key}] = {value}
          OR (startsWith({map}[{key}], '[') AND has(JSONExtract({map}[{key}], 'Array(String)'), {value}))))"
    )
}

/// A finite double as ECMAScript's `Number.prototype.toString` (what Go's
/// JSON encoder and `pcommon` write): fixed notation from 1e-6 up to 1e21,
/// exponent notation (`1e+21`, `1.5e-7`) outside; `None` for NaN and
/// infinities.
fn number_text(d: f64) -> Option<String> {
    if !d.is_finite() {
        return None;
    }
    let abs = d.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = format!("{d:e}");
        return Some(match e.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => e,
        });
    }
    // Shortest digits that read back as `d`, in fixed notation.
    Some(d.to_string())
}

/// `v`'s plain value as Go's `json.Marshal` writes it; `None` where Go
/// fails (a NaN or infinite double).
fn write_json(v: &AnyValue, out: &mut String) -> Option<()> {
    match v {
        AnyValue::Empty => out.push_str("null"),
        AnyValue::String(s) => write_json_string(s, out),
        AnyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AnyValue::Int(i) => out.push_str(&i.to_string()),
        AnyValue::Double(d) => out.push_str(&number_text(*d)?),
        AnyValue::Bytes(b) => write_json_string(&BASE64.encode(b), out),
        AnyValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out)?;
            }
            out.push(']');
        }
        AnyValue::KvList(kvs) => {
            // A Go map: one value per key (the last), keys in byte order.
            let map: std::collections::BTreeMap<&str, &AnyValue> =
                kvs.iter().map(|kv| (kv.key.as_str(), &kv.value)).collect();
            out.push('{');
            for (i, (key, value)) in map.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(value, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

/// A JSON string as Go's encoder writes it by default (HTML-safe: `<`,
/// `>`, `&`, U+2028 and U+2029 as `\u` escapes).
fn write_json_string(s: &str, out: &mut String) {
    use std::fmt::Write as _;
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
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Attributes as a text map, in their order.
pub fn text_map(attrs: &[KeyValue]) -> TextMap {
    attrs
        .iter()
        .map(|kv| (kv.key.clone(), value_text(&kv.value)))
        .collect()
}

/// A text map back as attributes (every value a string).
pub fn attributes(map: TextMap) -> Vec<KeyValue> {
    map.into_iter()
        .map(|(key, v)| KeyValue {
            key,
            value: AnyValue::String(v),
        })
        .collect()
}

pub fn trace_hex(id: &TraceId) -> String {
    id.to_hex()
}

pub fn span_hex(id: &SpanId) -> String {
    id.to_hex()
}

fn nanos(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// `SpanKind` as the current exporter writes it.
pub fn kind_text(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified => "Unspecified",
        SpanKind::Internal => "Internal",
        SpanKind::Server => "Server",
        SpanKind::Client => "Client",
        SpanKind::Producer => "Producer",
        SpanKind::Consumer => "Consumer",
    }
}

/// Reads a span kind in any exporter version's spelling (`Server`,
/// `SPAN_KIND_SERVER`).
pub fn parse_kind(text: &str) -> SpanKind {
    let t = text.strip_prefix("SPAN_KIND_").unwrap_or(text);
    SpanKind::ALL
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(t))
        .unwrap_or_default()
}

/// Every spelling of `kind` a table may hold.
pub fn kind_spellings(kind: SpanKind) -> Vec<String> {
    vec![
        kind_text(kind).to_owned(),
        format!("SPAN_KIND_{}", kind.as_str().to_ascii_uppercase()),
    ]
}

pub fn status_text(code: StatusCode) -> &'static str {
    match code {
        StatusCode::Unset => "Unset",
        StatusCode::Ok => "Ok",
        StatusCode::Error => "Error",
    }
}

/// Reads a status code in any spelling (`Error`, `STATUS_CODE_ERROR`).
pub fn parse_status(text: &str) -> StatusCode {
    let t = text.strip_prefix("STATUS_CODE_").unwrap_or(text);
    if t.eq_ignore_ascii_case("error") {
        StatusCode::Error
    } else if t.eq_ignore_ascii_case("ok") {
        StatusCode::Ok
    } else {
        StatusCode::Unset
    }
}

/// The SQL condition "this row's status is an error", for every spelling.
pub const IS_ERROR: &str = "StatusCode IN ('Error', 'STATUS_CODE_ERROR')";

/// One row of `otel_traces`.
#[derive(Row, Serialize, Debug)]
pub struct SpanRow {
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(rename = "TraceId")]
    pub trace_id: String,
    #[serde(rename = "SpanId")]
    pub span_id: String,
    #[serde(rename = "ParentSpanId")]
    pub parent_span_id: String,
    #[serde(rename = "TraceState")]
    pub trace_state: String,
    #[serde(rename = "SpanName")]
    pub span_name: String,
    #[serde(rename = "SpanKind")]
    pub span_kind: &'static str,
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    #[serde(rename = "ResourceAttributes")]
    pub resource_attributes: TextMap,
    #[serde(rename = "ScopeName")]
    pub scope_name: String,
    #[serde(rename = "ScopeVersion")]
    pub scope_version: String,
    #[serde(rename = "SpanAttributes")]
    pub span_attributes: TextMap,
    #[serde(rename = "Duration")]
    pub duration: u64,
    #[serde(rename = "StatusCode")]
    pub status_code: &'static str,
    #[serde(rename = "StatusMessage")]
    pub status_message: String,
    #[serde(rename = "Events.Timestamp")]
    pub events_timestamp: Vec<i64>,
    #[serde(rename = "Events.Name")]
    pub events_name: Vec<String>,
    #[serde(rename = "Events.Attributes")]
    pub events_attributes: Vec<TextMap>,
    #[serde(rename = "Links.TraceId")]
    pub links_trace_id: Vec<String>,
    #[serde(rename = "Links.SpanId")]
    pub links_span_id: Vec<String>,
    #[serde(rename = "Links.TraceState")]
    pub links_trace_state: Vec<String>,
    #[serde(rename = "Links.Attributes")]
    pub links_attributes: Vec<TextMap>,
}

/// The rows of a span batch.
pub fn span_rows(batch: &[ResourceSpans]) -> Vec<SpanRow> {
    let mut out = Vec::new();
    for rs in batch {
        let service = rs.resource.service_name().to_owned();
        let resource = text_map(&rs.resource.attributes);
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                out.push(SpanRow {
                    timestamp: nanos(s.start_time.0),
                    trace_id: trace_hex(&s.trace_id),
                    span_id: span_hex(&s.span_id),
                    parent_span_id: s.parent_span_id.as_ref().map(span_hex).unwrap_or_default(),
                    trace_state: s.trace_state.clone(),
                    span_name: s.name.clone(),
                    span_kind: kind_text(s.kind),
                    service_name: service.clone(),
                    resource_attributes: resource.clone(),
                    scope_name: ss.scope.name.clone(),
                    scope_version: ss.scope.version.clone(),
                    span_attributes: text_map(&s.attributes),
                    duration: s.duration_nanos(),
                    status_code: status_text(s.status.code),
                    status_message: s.status.message.clone(),
                    events_timestamp: s.events.iter().map(|e| nanos(e.time.0)).collect(),
                    events_name: s.events.iter().map(|e| e.name.clone()).collect(),
                    events_attributes: s.events.iter().map(|e| text_map(&e.attributes)).collect(),
                    links_trace_id: s.links.iter().map(|l| trace_hex(&l.trace_id)).collect(),
                    links_span_id: s.links.iter().map(|l| span_hex(&l.span_id)).collect(),
                    links_trace_state: s.links.iter().map(|l| l.trace_state.clone()).collect(),
                    links_attributes: s.links.iter().map(|l| text_map(&l.attributes)).collect(),
                });
            }
        }
    }
    out
}

/// One row of `otel_logs`.
#[derive(Row, Serialize, Debug)]
pub struct LogRow {
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(rename = "TraceId")]
    pub trace_id: String,
    #[serde(rename = "SpanId")]
    pub span_id: String,
    #[serde(rename = "TraceFlags")]
    pub trace_flags: u8,
    #[serde(rename = "SeverityText")]
    pub severity_text: String,
    #[serde(rename = "SeverityNumber")]
    pub severity_number: u8,
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    #[serde(rename = "Body")]
    pub body: String,
    #[serde(rename = "ResourceSchemaUrl")]
    pub resource_schema_url: String,
    #[serde(rename = "ResourceAttributes")]
    pub resource_attributes: TextMap,
    #[serde(rename = "ScopeSchemaUrl")]
    pub scope_schema_url: String,
    #[serde(rename = "ScopeName")]
    pub scope_name: String,
    #[serde(rename = "ScopeVersion")]
    pub scope_version: String,
    #[serde(rename = "ScopeAttributes")]
    pub scope_attributes: TextMap,
    #[serde(rename = "LogAttributes")]
    pub log_attributes: TextMap,
    #[serde(rename = "EventName")]
    pub event_name: String,
}

/// The rows of a log batch. A record without a time is stored at its
/// observed time, as the exporter does.
pub fn log_rows(batch: &[ResourceLogs]) -> Vec<LogRow> {
    let mut out = Vec::new();
    for rl in batch {
        let service = rl.resource.service_name().to_owned();
        let resource = text_map(&rl.resource.attributes);
        for sl in &rl.scope_logs {
            let scope_attributes = text_map(&sl.scope.attributes);
            for r in &sl.log_records {
                out.push(LogRow {
                    timestamp: nanos(r.effective_time().0),
                    trace_id: r.trace_id.as_ref().map(trace_hex).unwrap_or_default(),
                    span_id: r.span_id.as_ref().map(span_hex).unwrap_or_default(),
                    trace_flags: (r.flags & 0xff) as u8,
                    severity_text: r.severity_text.clone(),
                    severity_number: u8::try_from(r.severity_number.clamp(0, 255))
                        .unwrap_or(u8::MAX),
                    service_name: service.clone(),
                    body: value_text(&r.body),
                    resource_schema_url: rl.resource.schema_url.clone(),
                    resource_attributes: resource.clone(),
                    scope_schema_url: sl.scope.schema_url.clone(),
                    scope_name: sl.scope.name.clone(),
                    scope_version: sl.scope.version.clone(),
                    scope_attributes: scope_attributes.clone(),
                    log_attributes: text_map(&r.attributes),
                    event_name: r.event_name.clone(),
                });
            }
        }
    }
    out
}

/// What every point of one metric shares.
#[derive(Debug, Clone)]
pub struct MetricHead {
    pub resource_attributes: TextMap,
    pub resource_schema_url: String,
    pub scope_name: String,
    pub scope_version: String,
    pub scope_attributes: TextMap,
    pub scope_dropped_attr_count: u32,
    pub scope_schema_url: String,
    pub service_name: String,
    pub metric_name: String,
    pub metric_description: String,
    pub metric_unit: String,
}

/// A metric point's exemplars as the `Exemplars` nested columns.
#[derive(Debug, Default)]
pub struct ExemplarColumns {
    pub filtered_attributes: Vec<TextMap>,
    pub time: Vec<i64>,
    pub value: Vec<f64>,
    pub span_id: Vec<String>,
    pub trace_id: Vec<String>,
}

impl ExemplarColumns {
    fn of(exemplars: &[Exemplar]) -> Self {
        Self {
            filtered_attributes: exemplars
                .iter()
                .map(|e| text_map(&e.filtered_attributes))
                .collect(),
            time: exemplars.iter().map(|e| nanos(e.time.0)).collect(),
            value: exemplars
                .iter()
                .map(|e| e.value.map_or(0.0, |v| v.as_f64()))
                .collect(),
            span_id: exemplars
                .iter()
                .map(|e| e.span_id.as_ref().map(span_hex).unwrap_or_default())
                .collect(),
            trace_id: exemplars
                .iter()
                .map(|e| e.trace_id.as_ref().map(trace_hex).unwrap_or_default())
                .collect(),
        }
    }
}

/// Declares a metric row type: the columns every metric table starts
/// with, then the table's own.
macro_rules! metric_row {
    ($(#[$doc:meta])* $name:ident { $($col:literal $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Row, Serialize, Debug)]
        pub struct $name {
            #[serde(rename = "ResourceAttributes")]
            pub resource_attributes: TextMap,
            #[serde(rename = "ResourceSchemaUrl")]
            pub resource_schema_url: String,
            #[serde(rename = "ScopeName")]
            pub scope_name: String,
            #[serde(rename = "ScopeVersion")]
            pub scope_version: String,
            #[serde(rename = "ScopeAttributes")]
            pub scope_attributes: TextMap,
            #[serde(rename = "ScopeDroppedAttrCount")]
            pub scope_dropped_attr_count: u32,
            #[serde(rename = "ScopeSchemaUrl")]
            pub scope_schema_url: String,
            #[serde(rename = "ServiceName")]
            pub service_name: String,
            #[serde(rename = "MetricName")]
            pub metric_name: String,
            #[serde(rename = "MetricDescription")]
            pub metric_description: String,
            #[serde(rename = "MetricUnit")]
            pub metric_unit: String,
            #[serde(rename = "Attributes")]
            pub attributes: TextMap,
            #[serde(rename = "StartTimeUnix")]
            pub start_time_unix: i64,
            #[serde(rename = "TimeUnix")]
            pub time_unix: i64,
            $(#[serde(rename = $col)] pub $field: $ty,)*
        }

        impl $name {
            /// A row with `head`'s columns and `rest` for the others.
            fn with_head(head: &MetricHead, attributes: TextMap, start: u64, time: u64, rest: impl FnOnce() -> ($($ty,)*)) -> Self {
                let ($($field,)*) = rest();
                Self {
                    resource_attributes: head.resource_attributes.clone(),
                    resource_schema_url: head.resource_schema_url.clone(),
                    scope_name: head.scope_name.clone(),
                    scope_version: head.scope_version.clone(),
                    scope_attributes: head.scope_attributes.clone(),
                    scope_dropped_attr_count: head.scope_dropped_attr_count,
                    scope_schema_url: head.scope_schema_url.clone(),
                    service_name: head.service_name.clone(),
                    metric_name: head.metric_name.clone(),
                    metric_description: head.metric_description.clone(),
                    metric_unit: head.metric_unit.clone(),
                    attributes,
                    start_time_unix: nanos(start),
                    time_unix: nanos(time),
                    $($field,)*
                }
            }
        }
    };
}

metric_row!(
    /// One row of `otel_metrics_gauge`.
    GaugeRow {
        "Value" value: f64,
        "Flags" flags: u32,
        "Exemplars.FilteredAttributes" ex_attributes: Vec<TextMap>,
        "Exemplars.TimeUnix" ex_time: Vec<i64>,
        "Exemplars.Value" ex_value: Vec<f64>,
        "Exemplars.SpanId" ex_span_id: Vec<String>,
        "Exemplars.TraceId" ex_trace_id: Vec<String>,
    }
);

metric_row!(
    /// One row of `otel_metrics_sum`.
    SumRow {
        "Value" value: f64,
        "Flags" flags: u32,
        "Exemplars.FilteredAttributes" ex_attributes: Vec<TextMap>,
        "Exemplars.TimeUnix" ex_time: Vec<i64>,
        "Exemplars.Value" ex_value: Vec<f64>,
        "Exemplars.SpanId" ex_span_id: Vec<String>,
        "Exemplars.TraceId" ex_trace_id: Vec<String>,
        "AggregationTemporality" temporality: i32,
        "IsMonotonic" is_monotonic: bool,
    }
);

metric_row!(
    /// One row of `otel_metrics_histogram`.
    HistogramRow {
        "Count" count: u64,
        "Sum" sum: f64,
        "BucketCounts" bucket_counts: Vec<u64>,
        "ExplicitBounds" explicit_bounds: Vec<f64>,
        "Exemplars.FilteredAttributes" ex_attributes: Vec<TextMap>,
        "Exemplars.TimeUnix" ex_time: Vec<i64>,
        "Exemplars.Value" ex_value: Vec<f64>,
        "Exemplars.SpanId" ex_span_id: Vec<String>,
        "Exemplars.TraceId" ex_trace_id: Vec<String>,
        "Flags" flags: u32,
        "Min" min: f64,
        "Max" max: f64,
        "AggregationTemporality" temporality: i32,
    }
);

metric_row!(
    /// One row of `otel_metrics_exp_histogram`.
    ExpHistogramRow {
        "Count" count: u64,
        "Sum" sum: f64,
        "Scale" scale: i32,
        "ZeroCount" zero_count: u64,
        "PositiveOffset" positive_offset: i32,
        "PositiveBucketCounts" positive_bucket_counts: Vec<u64>,
        "NegativeOffset" negative_offset: i32,
        "NegativeBucketCounts" negative_bucket_counts: Vec<u64>,
        "Exemplars.FilteredAttributes" ex_attributes: Vec<TextMap>,
        "Exemplars.TimeUnix" ex_time: Vec<i64>,
        "Exemplars.Value" ex_value: Vec<f64>,
        "Exemplars.SpanId" ex_span_id: Vec<String>,
        "Exemplars.TraceId" ex_trace_id: Vec<String>,
        "Flags" flags: u32,
        "Min" min: f64,
        "Max" max: f64,
        "AggregationTemporality" temporality: i32,
    }
);

metric_row!(
    /// One row of `otel_metrics_summary`.
    SummaryRow {
        "Count" count: u64,
        "Sum" sum: f64,
        "ValueAtQuantiles.Quantile" quantiles: Vec<f64>,
        "ValueAtQuantiles.Value" quantile_values: Vec<f64>,
        "Flags" flags: u32,
    }
);

/// The rows of a metric batch, by table.
#[derive(Default, Debug)]
pub struct MetricRows {
    pub gauge: Vec<GaugeRow>,
    pub sum: Vec<SumRow>,
    pub histogram: Vec<HistogramRow>,
    pub exp_histogram: Vec<ExpHistogramRow>,
    pub summary: Vec<SummaryRow>,
}

impl MetricRows {
    pub fn len(&self) -> usize {
        self.gauge.len()
            + self.sum.len()
            + self.histogram.len()
            + self.exp_histogram.len()
            + self.summary.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn temporality_number(t: Temporality) -> i32 {
    match t {
        Temporality::Unspecified => 0,
        Temporality::Delta => 1,
        Temporality::Cumulative => 2,
    }
}

pub fn temporality_of(n: i32) -> Temporality {
    match n {
        1 => Temporality::Delta,
        2 => Temporality::Cumulative,
        _ => Temporality::Unspecified,
    }
}

/// The rows of a metric batch.
pub fn metric_rows(batch: &[ResourceMetrics]) -> MetricRows {
    let mut out = MetricRows::default();
    for rm in batch {
        let resource = text_map(&rm.resource.attributes);
        let service = rm.resource.service_name().to_owned();
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                let head = MetricHead {
                    resource_attributes: resource.clone(),
                    resource_schema_url: rm.resource.schema_url.clone(),
                    scope_name: sm.scope.name.clone(),
                    scope_version: sm.scope.version.clone(),
                    scope_attributes: text_map(&sm.scope.attributes),
                    scope_dropped_attr_count: sm.scope.dropped_attributes_count,
                    scope_schema_url: sm.scope.schema_url.clone(),
                    service_name: service.clone(),
                    metric_name: m.name.clone(),
                    metric_description: m.description.clone(),
                    metric_unit: m.unit.clone(),
                };
                push_metric(&mut out, &head, &m.data);
            }
        }
    }
    out
}

fn push_metric(out: &mut MetricRows, head: &MetricHead, data: &MetricData) {
    match data {
        MetricData::Gauge { points } => {
            out.gauge.extend(points.iter().map(|p| gauge_row(head, p)));
        }
        MetricData::Sum {
            points,
            temporality,
            is_monotonic,
        } => out.sum.extend(points.iter().map(|p| {
            SumRow::with_head(
                head,
                text_map(&p.attributes),
                p.start_time.0,
                p.time.0,
                || {
                    let ex = ExemplarColumns::of(&p.exemplars);
                    (
                        p.value.as_f64(),
                        p.flags,
                        ex.filtered_attributes,
                        ex.time,
                        ex.value,
                        ex.span_id,
                        ex.trace_id,
                        temporality_number(*temporality),
                        *is_monotonic,
                    )
                },
            )
        })),
        MetricData::Histogram {
            points,
            temporality,
        } => out
            .histogram
            .extend(points.iter().map(|p| histogram_row(head, p, *temporality))),
        MetricData::ExponentialHistogram {
            points,
            temporality,
        } => out.exp_histogram.extend(
            points
                .iter()
                .map(|p| exp_histogram_row(head, p, *temporality)),
        ),
        MetricData::Summary { points } => {
            out.summary
                .extend(points.iter().map(|p| summary_row(head, p)));
        }
    }
}

fn gauge_row(head: &MetricHead, p: &NumberPoint) -> GaugeRow {
    GaugeRow::with_head(
        head,
        text_map(&p.attributes),
        p.start_time.0,
        p.time.0,
        || {
            let ex = ExemplarColumns::of(&p.exemplars);
            (
                p.value.as_f64(),
                p.flags,
                ex.filtered_attributes,
                ex.time,
                ex.value,
                ex.span_id,
                ex.trace_id,
            )
        },
    )
}

fn histogram_row(head: &MetricHead, p: &HistogramPoint, t: Temporality) -> HistogramRow {
    HistogramRow::with_head(
        head,
        text_map(&p.attributes),
        p.start_time.0,
        p.time.0,
        || {
            let ex = ExemplarColumns::of(&p.exemplars);
            (
                p.count,
                p.sum.unwrap_or(0.0),
                p.bucket_counts.clone(),
                p.explicit_bounds.clone(),
                ex.filtered_attributes,
                ex.time,
                ex.value,
                ex.span_id,
                ex.trace_id,
                p.flags,
                p.min.unwrap_or(0.0),
                p.max.unwrap_or(0.0),
                temporality_number(t),
            )
        },
    )
}

fn exp_histogram_row(head: &MetricHead, p: &ExpHistogramPoint, t: Temporality) -> ExpHistogramRow {
    ExpHistogramRow::with_head(
        head,
        text_map(&p.attributes),
        p.start_time.0,
        p.time.0,
        || {
            let ex = ExemplarColumns::of(&p.exemplars);
            (
                p.count,
                p.sum.unwrap_or(0.0),
                p.scale,
                p.zero_count,
                p.positive.offset,
                p.positive.bucket_counts.clone(),
                p.negative.offset,
                p.negative.bucket_counts.clone(),
                ex.filtered_attributes,
                ex.time,
                ex.value,
                ex.span_id,
                ex.trace_id,
                p.flags,
                p.min.unwrap_or(0.0),
                p.max.unwrap_or(0.0),
                temporality_number(t),
            )
        },
    )
}

fn summary_row(head: &MetricHead, p: &SummaryPoint) -> SummaryRow {
    SummaryRow::with_head(
        head,
        text_map(&p.attributes),
        p.start_time.0,
        p.time.0,
        || {
            (
                p.count,
                p.sum,
                p.quantile_values.iter().map(|q| q.quantile).collect(),
                p.quantile_values.iter().map(|q| q.value).collect(),
                p.flags,
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: doubles were written by Rust's rules (`[1.0]`,
    /// `1000000000000000000000`, `NaN`), JSON strings without Go's HTML
    /// escapes, so rows Sightline wrote and rows a Collector wrote for the
    /// same value differed (and `attr` filters matched only one of them).
    #[test]
    fn values_are_written_as_go_writes_them() {
        assert_eq!(value_text(&AnyValue::Double(100.0)), "100");
        assert_eq!(value_text(&AnyValue::Double(-0.0)), "-0");
        assert_eq!(value_text(&AnyValue::Double(1e20)), "100000000000000000000");
        assert_eq!(value_text(&AnyValue::Double(1e21)), "1e+21");
        assert_eq!(value_text(&AnyValue::Double(-2.5e300)), "-2.5e+300");
        assert_eq!(value_text(&AnyValue::Double(0.000001)), "0.000001");
        assert_eq!(value_text(&AnyValue::Double(1.5e-7)), "1.5e-7");
        assert_eq!(value_text(&AnyValue::Double(1e-10)), "1e-10");
        assert_eq!(
            value_text(&AnyValue::Double(f64::NAN)),
            "json: unsupported value: NaN"
        );
        assert_eq!(
            value_text(&AnyValue::Double(f64::NEG_INFINITY)),
            "json: unsupported value: -Inf"
        );
        assert_eq!(
            value_text(&AnyValue::Array(vec![
                AnyValue::Double(1.0),
                AnyValue::Double(2.5),
                AnyValue::Double(1e21),
                AnyValue::Empty,
                AnyValue::Bytes(vec![0xff]),
            ])),
            r#"[1,2.5,1e+21,null,"/w=="]"#
        );
        assert_eq!(
            value_text(&AnyValue::Array(vec![AnyValue::String(
                "<a href=\"x\">&\u{2028}\u{1}\n".into()
            )])),
            r#"["\u003ca href=\"x\"\u003e\u0026\u2028\u0001\n"]"#
        );
        assert_eq!(
            value_text(&AnyValue::KvList(vec![
                KeyValue::string("z", "1"),
                KeyValue {
                    key: "a".into(),
                    value: AnyValue::KvList(vec![KeyValue {
                        key: "n".into(),
                        value: AnyValue::Double(3.0),
                    }]),
                },
                KeyValue::string("z", "2"),
            ])),
            r#"{"a":{"n":3},"z":"2"}"#
        );
        // Go's encoder refuses the whole value; the exporter writes "".
        assert_eq!(
            value_text(&AnyValue::Array(vec![
                AnyValue::Int(1),
                AnyValue::Double(f64::INFINITY)
            ])),
            ""
        );
    }

    #[test]
    fn values_are_written_as_the_collector_writes_them() {
        assert_eq!(value_text(&AnyValue::Int(42)), "42");
        assert_eq!(value_text(&AnyValue::Bool(true)), "true");
        assert_eq!(value_text(&AnyValue::Double(1.5)), "1.5");
        assert_eq!(value_text(&AnyValue::Bytes(vec![1, 2])), "AQI=");
        assert_eq!(
            value_text(&AnyValue::Array(vec![
                AnyValue::String("a".into()),
                AnyValue::Int(1)
            ])),
            r#"["a",1]"#
        );
        assert_eq!(
            value_text(&AnyValue::KvList(vec![KeyValue::string("k", "v")])),
            r#"{"k":"v"}"#
        );
    }

    #[test]
    fn kinds_and_statuses_read_in_every_spelling() {
        assert_eq!(parse_kind("Server"), SpanKind::Server);
        assert_eq!(parse_kind("SPAN_KIND_CONSUMER"), SpanKind::Consumer);
        assert_eq!(parse_kind("nonsense"), SpanKind::Unspecified);
        assert_eq!(parse_status("STATUS_CODE_ERROR"), StatusCode::Error);
        assert_eq!(parse_status("Ok"), StatusCode::Ok);
        for k in SpanKind::ALL {
            assert_eq!(parse_kind(kind_text(k)), k);
            assert!(kind_spellings(k).iter().all(|s| parse_kind(s) == k));
        }
    }
}
