//! OTLP/JSON request bodies → the same prost messages the protobuf path
//! yields, so one mapping ([`super::decode`]) serves both encodings.
//!
//! Follows the OTLP/JSON rules as exporters write them: trace and span ids
//! as hex (either case), 64-bit integers as strings or numbers, enums as
//! integers (names are accepted too), lowerCamelCase field names (the proto
//! snake_case names are accepted as aliases), `null` or absent fields as
//! defaults, unknown fields ignored.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as pc;
use opentelemetry_proto::tonic::logs::v1 as pl;
use opentelemetry_proto::tonic::metrics::v1 as pm;
use opentelemetry_proto::tonic::resource::v1 as pr;
use opentelemetry_proto::tonic::trace::v1 as pt;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// Parses a JSON request body into the given OTLP request message.
pub fn parse<R: DeserializeOwned>(body: &[u8]) -> Result<R, serde_json::Error> {
    serde_json::from_slice(body)
}

/// `null` → default, anything else → the value.
fn nd<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---- scalars -------------------------------------------------------------

struct U64(u64);
impl<'de> Deserialize<'de> for U64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned 64-bit integer (number or decimal string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::custom(format!("{v} is negative")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
                if v.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&v) {
                    Ok(v as u64)
                } else {
                    Err(E::custom(format!("{v} is not an unsigned integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                v.parse()
                    .map_err(|_| E::custom(format!("{v:?} is not an unsigned integer")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
                Ok(0)
            }
        }
        d.deserialize_any(V).map(U64)
    }
}

fn u64_field<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    U64::deserialize(d).map(|v| v.0)
}

fn u32_field<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = U64::deserialize(d)?.0;
    u32::try_from(v).map_err(|_| de::Error::custom(format!("{v} does not fit in 32 bits")))
}

struct I64(i64);
impl<'de> Deserialize<'de> for I64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = i64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signed 64-bit integer (number or decimal string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} overflows a signed 64-bit integer")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
                Ok(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
                if v.fract() == 0.0 && (i64::MIN as f64..=i64::MAX as f64).contains(&v) {
                    Ok(v as i64)
                } else {
                    Err(E::custom(format!("{v} is not an integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
                v.parse()
                    .map_err(|_| E::custom(format!("{v:?} is not an integer")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<i64, E> {
                Ok(0)
            }
        }
        d.deserialize_any(V).map(I64)
    }
}

fn i32_field<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = I64::deserialize(d)?.0;
    i32::try_from(v).map_err(|_| de::Error::custom(format!("{v} does not fit in 32 bits")))
}

struct F64(f64);
impl<'de> Deserialize<'de> for F64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = f64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
                match v {
                    "NaN" => Ok(f64::NAN),
                    "Infinity" => Ok(f64::INFINITY),
                    "-Infinity" => Ok(f64::NEG_INFINITY),
                    other => other
                        .parse()
                        .map_err(|_| E::custom(format!("{other:?} is not a number"))),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
                Ok(0.0)
            }
        }
        d.deserialize_any(V).map(F64)
    }
}

fn f64_field<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    F64::deserialize(d).map(|v| v.0)
}

fn opt_f64_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<F64>::deserialize(d)?.map(|v| v.0))
}

fn u64_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    Ok(Option::<Vec<U64>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.0)
        .collect())
}

fn f64_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Ok(Option::<Vec<F64>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.0)
        .collect())
}

/// Hex ids: OTLP/JSON writes them as hex, not base64. The length is checked
/// later with the protobuf path's rules; here only the digits are.
fn hex_id<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    if text.len() % 2 != 0 {
        return Err(de::Error::custom(format!(
            "id {text:?} has an odd number of hex digits"
        )));
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(de::Error::custom(format!("id {text:?} is not hexadecimal"))),
            }
        })
        .collect()
}

/// An enum given as its number or its proto name.
fn enum_field<'de, D: Deserializer<'de>>(
    d: D,
    names: &'static [&'static str],
) -> Result<i32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(i64),
        Name(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(0),
        Some(Raw::Num(n)) => {
            i32::try_from(n).map_err(|_| de::Error::custom(format!("enum value {n} out of range")))
        }
        Some(Raw::Name(name)) => names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| de::Error::custom(format!("unknown enum value {name:?}"))),
    }
}

fn span_kind<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_field(
        d,
        &[
            "SPAN_KIND_UNSPECIFIED",
            "SPAN_KIND_INTERNAL",
            "SPAN_KIND_SERVER",
            "SPAN_KIND_CLIENT",
            "SPAN_KIND_PRODUCER",
            "SPAN_KIND_CONSUMER",
        ],
    )
}

fn status_code<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_field(
        d,
        &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"],
    )
}

fn temporality<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_field(
        d,
        &[
            "AGGREGATION_TEMPORALITY_UNSPECIFIED",
            "AGGREGATION_TEMPORALITY_DELTA",
            "AGGREGATION_TEMPORALITY_CUMULATIVE",
        ],
    )
}

fn severity<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_field(
        d,
        &[
            "SEVERITY_NUMBER_UNSPECIFIED",
            "SEVERITY_NUMBER_TRACE",
            "SEVERITY_NUMBER_TRACE2",
            "SEVERITY_NUMBER_TRACE3",
            "SEVERITY_NUMBER_TRACE4",
            "SEVERITY_NUMBER_DEBUG",
            "SEVERITY_NUMBER_DEBUG2",
            "SEVERITY_NUMBER_DEBUG3",
            "SEVERITY_NUMBER_DEBUG4",
            "SEVERITY_NUMBER_INFO",
            "SEVERITY_NUMBER_INFO2",
            "SEVERITY_NUMBER_INFO3",
            "SEVERITY_NUMBER_INFO4",
            "SEVERITY_NUMBER_WARN",
            "SEVERITY_NUMBER_WARN2",
            "SEVERITY_NUMBER_WARN3",
            "SEVERITY_NUMBER_WARN4",
            "SEVERITY_NUMBER_ERROR",
            "SEVERITY_NUMBER_ERROR2",
            "SEVERITY_NUMBER_ERROR3",
            "SEVERITY_NUMBER_ERROR4",
            "SEVERITY_NUMBER_FATAL",
            "SEVERITY_NUMBER_FATAL2",
            "SEVERITY_NUMBER_FATAL3",
            "SEVERITY_NUMBER_FATAL4",
        ],
    )
}

// ---- common ----------------------------------------------------------------

/// AnyValue: an object with at most one `…Value` member.
struct JAnyValue(pc::AnyValue);

impl<'de> Deserialize<'de> for JAnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default, alias = "string_value")]
            #[serde(rename = "stringValue")]
            string_value: Option<String>,
            #[serde(default, rename = "boolValue", alias = "bool_value")]
            bool_value: Option<bool>,
            #[serde(default, rename = "intValue", alias = "int_value")]
            int_value: Option<I64>,
            #[serde(default, rename = "doubleValue", alias = "double_value")]
            double_value: Option<F64>,
            #[serde(default, rename = "bytesValue", alias = "bytes_value")]
            bytes_value: Option<String>,
            #[serde(default, rename = "arrayValue", alias = "array_value")]
            array_value: Option<JArray>,
            #[serde(default, rename = "kvlistValue", alias = "kvlist_value")]
            kvlist_value: Option<JKvList>,
        }
        use pc::any_value::Value as V;
        let raw = Option::<Raw>::deserialize(d)?;
        let value = match raw {
            None => None,
            Some(r) => {
                if let Some(s) = r.string_value {
                    Some(V::StringValue(s))
                } else if let Some(b) = r.bool_value {
                    Some(V::BoolValue(b))
                } else if let Some(i) = r.int_value {
                    Some(V::IntValue(i.0))
                } else if let Some(f) = r.double_value {
                    Some(V::DoubleValue(f.0))
                } else if let Some(b) = r.bytes_value {
                    Some(V::BytesValue(BASE64.decode(b.as_bytes()).map_err(|e| {
                        de::Error::custom(format!("bytesValue is not base64: {e}"))
                    })?))
                } else if let Some(a) = r.array_value {
                    Some(V::ArrayValue(pc::ArrayValue {
                        values: a.values.into_iter().map(|v| v.0).collect(),
                    }))
                } else {
                    r.kvlist_value.map(|kv| {
                        V::KvlistValue(pc::KeyValueList {
                            values: kv.values.into_iter().map(|v| v.0).collect(),
                        })
                    })
                }
            }
        };
        Ok(JAnyValue(pc::AnyValue { value }))
    }
}

#[derive(Deserialize)]
struct JArray {
    #[serde(default, deserialize_with = "nd")]
    values: Vec<JAnyValue>,
}

#[derive(Deserialize)]
struct JKvList {
    #[serde(default, deserialize_with = "nd")]
    values: Vec<JKeyValue>,
}

impl Default for JAnyValue {
    fn default() -> Self {
        JAnyValue(pc::AnyValue { value: None })
    }
}

struct JKeyValue(pc::KeyValue);

impl<'de> Deserialize<'de> for JKeyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default, deserialize_with = "nd")]
            key: String,
            #[serde(default)]
            value: Option<JAnyValue>,
        }
        let r = Raw::deserialize(d)?;
        Ok(JKeyValue(pc::KeyValue {
            key: r.key,
            value: r.value.map(|v| v.0),
            ..Default::default()
        }))
    }
}

fn attrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<pc::KeyValue>, D::Error> {
    Ok(Option::<Vec<JKeyValue>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|kv| kv.0)
        .collect())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JResource {
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "dropped_attributes_count",
        deserialize_with = "u32_field"
    )]
    dropped_attributes_count: u32,
}

impl From<JResource> for pr::Resource {
    fn from(r: JResource) -> Self {
        pr::Resource {
            attributes: r.attributes,
            dropped_attributes_count: r.dropped_attributes_count,
            ..Default::default()
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JScope {
    #[serde(default, deserialize_with = "nd")]
    name: String,
    #[serde(default, deserialize_with = "nd")]
    version: String,
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "dropped_attributes_count",
        deserialize_with = "u32_field"
    )]
    dropped_attributes_count: u32,
}

impl From<JScope> for pc::InstrumentationScope {
    fn from(s: JScope) -> Self {
        pc::InstrumentationScope {
            name: s.name,
            version: s.version,
            attributes: s.attributes,
            dropped_attributes_count: s.dropped_attributes_count,
        }
    }
}

// ---- traces ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JTraceRequest {
    #[serde(default, alias = "resource_spans", deserialize_with = "nd")]
    resource_spans: Vec<JResourceSpans>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JResourceSpans {
    #[serde(default)]
    resource: Option<JResource>,
    #[serde(default, alias = "scope_spans", deserialize_with = "nd")]
    scope_spans: Vec<JScopeSpans>,
    #[serde(default, alias = "schema_url", deserialize_with = "nd")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JScopeSpans {
    #[serde(default)]
    scope: Option<JScope>,
    #[serde(default, deserialize_with = "nd")]
    spans: Vec<JSpan>,
    #[serde(default, alias = "schema_url", deserialize_with = "nd")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JSpan {
    #[serde(default, alias = "trace_id", deserialize_with = "hex_id")]
    trace_id: Vec<u8>,
    #[serde(default, alias = "span_id", deserialize_with = "hex_id")]
    span_id: Vec<u8>,
    #[serde(default, alias = "trace_state", deserialize_with = "nd")]
    trace_state: String,
    #[serde(default, alias = "parent_span_id", deserialize_with = "hex_id")]
    parent_span_id: Vec<u8>,
    #[serde(default, deserialize_with = "u32_field")]
    flags: u32,
    #[serde(default, deserialize_with = "nd")]
    name: String,
    #[serde(default, deserialize_with = "span_kind")]
    kind: i32,
    #[serde(
        default,
        alias = "start_time_unix_nano",
        deserialize_with = "u64_field"
    )]
    start_time_unix_nano: u64,
    #[serde(default, alias = "end_time_unix_nano", deserialize_with = "u64_field")]
    end_time_unix_nano: u64,
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "dropped_attributes_count",
        deserialize_with = "u32_field"
    )]
    dropped_attributes_count: u32,
    #[serde(default, deserialize_with = "nd")]
    events: Vec<JEvent>,
    #[serde(
        default,
        alias = "dropped_events_count",
        deserialize_with = "u32_field"
    )]
    dropped_events_count: u32,
    #[serde(default, deserialize_with = "nd")]
    links: Vec<JLink>,
    #[serde(default, alias = "dropped_links_count", deserialize_with = "u32_field")]
    dropped_links_count: u32,
    #[serde(default)]
    status: Option<JStatus>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JEvent {
    #[serde(default, alias = "time_unix_nano", deserialize_with = "u64_field")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "nd")]
    name: String,
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "dropped_attributes_count",
        deserialize_with = "u32_field"
    )]
    dropped_attributes_count: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JLink {
    #[serde(default, alias = "trace_id", deserialize_with = "hex_id")]
    trace_id: Vec<u8>,
    #[serde(default, alias = "span_id", deserialize_with = "hex_id")]
    span_id: Vec<u8>,
    #[serde(default, alias = "trace_state", deserialize_with = "nd")]
    trace_state: String,
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "dropped_attributes_count",
        deserialize_with = "u32_field"
    )]
    dropped_attributes_count: u32,
    #[serde(default, deserialize_with = "u32_field")]
    flags: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JStatus {
    #[serde(default, deserialize_with = "nd")]
    message: String,
    #[serde(default, deserialize_with = "status_code")]
    code: i32,
}

impl From<JSpan> for pt::Span {
    fn from(s: JSpan) -> Self {
        pt::Span {
            trace_id: s.trace_id,
            span_id: s.span_id,
            trace_state: s.trace_state,
            parent_span_id: s.parent_span_id,
            flags: s.flags,
            name: s.name,
            kind: s.kind,
            start_time_unix_nano: s.start_time_unix_nano,
            end_time_unix_nano: s.end_time_unix_nano,
            attributes: s.attributes,
            dropped_attributes_count: s.dropped_attributes_count,
            events: s
                .events
                .into_iter()
                .map(|e| pt::span::Event {
                    time_unix_nano: e.time_unix_nano,
                    name: e.name,
                    attributes: e.attributes,
                    dropped_attributes_count: e.dropped_attributes_count,
                })
                .collect(),
            dropped_events_count: s.dropped_events_count,
            links: s
                .links
                .into_iter()
                .map(|l| pt::span::Link {
                    trace_id: l.trace_id,
                    span_id: l.span_id,
                    trace_state: l.trace_state,
                    attributes: l.attributes,
                    dropped_attributes_count: l.dropped_attributes_count,
                    flags: l.flags,
                })
                .collect(),
            dropped_links_count: s.dropped_links_count,
            status: s.status.map(|st| pt::Status {
                message: st.message,
                code: st.code,
            }),
        }
    }
}

/// Parses an OTLP/JSON trace export body.
pub fn trace_request(body: &[u8]) -> Result<ExportTraceServiceRequest, serde_json::Error> {
    let req: JTraceRequest = parse(body)?;
    Ok(ExportTraceServiceRequest {
        resource_spans: req
            .resource_spans
            .into_iter()
            .map(|rs| pt::ResourceSpans {
                resource: rs.resource.map(Into::into),
                scope_spans: rs
                    .scope_spans
                    .into_iter()
                    .map(|ss| pt::ScopeSpans {
                        scope: ss.scope.map(Into::into),
                        spans: ss.spans.into_iter().map(Into::into).collect(),
                        schema_url: ss.schema_url,
                    })
                    .collect(),
                schema_url: rs.schema_url,
            })
            .collect(),
    })
}

// ---- logs --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JLogsRequest {
    #[serde(default, alias = "resource_logs", deserialize_with = "nd")]
    resource_logs: Vec<JResourceLogs>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JResourceLogs {
    #[serde(default)]
    resource: Option<JResource>,
    #[serde(default, alias = "scope_logs", deserialize_with = "nd")]
    scope_logs: Vec<JScopeLogs>,
    #[serde(default, alias = "schema_url", deserialize_with = "nd")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JScopeLogs {
    #[serde(default)]
    scope: Option<JScope>,
    #[serde(default, alias = "log_records", deserialize_with = "nd")]
    log_records: Vec<JLogRecord>,
    #[serde(default, alias = "schema_url", deserialize_with = "nd")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JLogRecord {
    #[serde(default, alias = "time_unix_nano", deserialize_with = "u64_field")]
    time_unix_nano: u64,
    #[serde(
        default,
        alias = "observed_time_unix_nano",
        deserialize_with = "u64_field"
    )]
    observed_time_unix_nano: u64,
    #[serde(default, alias = "severity_number", deserialize_with = "severity")]
    severity_number: i32,
    #[serde(default, alias = "severity_text", deserialize_with = "nd")]
    severity_text: String,
    #[serde(default)]
    body: Option<JAnyValue>,
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "dropped_attributes_count",
        deserialize_with = "u32_field"
    )]
    dropped_attributes_count: u32,
    #[serde(default, deserialize_with = "u32_field")]
    flags: u32,
    #[serde(default, alias = "trace_id", deserialize_with = "hex_id")]
    trace_id: Vec<u8>,
    #[serde(default, alias = "span_id", deserialize_with = "hex_id")]
    span_id: Vec<u8>,
    #[serde(default, alias = "event_name", deserialize_with = "nd")]
    event_name: String,
}

/// Parses an OTLP/JSON logs export body.
pub fn logs_request(body: &[u8]) -> Result<ExportLogsServiceRequest, serde_json::Error> {
    let req: JLogsRequest = parse(body)?;
    Ok(ExportLogsServiceRequest {
        resource_logs: req
            .resource_logs
            .into_iter()
            .map(|rl| pl::ResourceLogs {
                resource: rl.resource.map(Into::into),
                scope_logs: rl
                    .scope_logs
                    .into_iter()
                    .map(|sl| pl::ScopeLogs {
                        scope: sl.scope.map(Into::into),
                        log_records: sl
                            .log_records
                            .into_iter()
                            .map(|l| pl::LogRecord {
                                time_unix_nano: l.time_unix_nano,
                                observed_time_unix_nano: l.observed_time_unix_nano,
                                severity_number: l.severity_number,
                                severity_text: l.severity_text,
                                body: l.body.map(|b| b.0),
                                attributes: l.attributes,
                                dropped_attributes_count: l.dropped_attributes_count,
                                flags: l.flags,
                                trace_id: l.trace_id,
                                span_id: l.span_id,
                                event_name: l.event_name,
                            })
                            .collect(),
                        schema_url: sl.schema_url,
                    })
                    .collect(),
                schema_url: rl.schema_url,
            })
            .collect(),
    })
}

// ---- metrics -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JMetricsRequest {
    #[serde(default, alias = "resource_metrics", deserialize_with = "nd")]
    resource_metrics: Vec<JResourceMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JResourceMetrics {
    #[serde(default)]
    resource: Option<JResource>,
    #[serde(default, alias = "scope_metrics", deserialize_with = "nd")]
    scope_metrics: Vec<JScopeMetrics>,
    #[serde(default, alias = "schema_url", deserialize_with = "nd")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JScopeMetrics {
    #[serde(default)]
    scope: Option<JScope>,
    #[serde(default, deserialize_with = "nd")]
    metrics: Vec<JMetric>,
    #[serde(default, alias = "schema_url", deserialize_with = "nd")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JMetric {
    #[serde(default, deserialize_with = "nd")]
    name: String,
    #[serde(default, deserialize_with = "nd")]
    description: String,
    #[serde(default, deserialize_with = "nd")]
    unit: String,
    #[serde(default, deserialize_with = "attrs")]
    metadata: Vec<pc::KeyValue>,
    #[serde(default)]
    gauge: Option<JNumberSeries>,
    #[serde(default)]
    sum: Option<JNumberSeries>,
    #[serde(default)]
    histogram: Option<JHistogram>,
    #[serde(default, alias = "exponential_histogram")]
    exponential_histogram: Option<JExpHistogram>,
    #[serde(default)]
    summary: Option<JSummary>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JNumberSeries {
    #[serde(default, alias = "data_points", deserialize_with = "nd")]
    data_points: Vec<JNumberPoint>,
    #[serde(
        default,
        alias = "aggregation_temporality",
        deserialize_with = "temporality"
    )]
    aggregation_temporality: i32,
    #[serde(default, alias = "is_monotonic", deserialize_with = "nd")]
    is_monotonic: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JExemplar {
    #[serde(default, alias = "filtered_attributes", deserialize_with = "attrs")]
    filtered_attributes: Vec<pc::KeyValue>,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "u64_field")]
    time_unix_nano: u64,
    #[serde(default, alias = "as_double", deserialize_with = "opt_f64_field")]
    as_double: Option<f64>,
    #[serde(default, alias = "as_int")]
    as_int: Option<I64>,
    #[serde(default, alias = "span_id", deserialize_with = "hex_id")]
    span_id: Vec<u8>,
    #[serde(default, alias = "trace_id", deserialize_with = "hex_id")]
    trace_id: Vec<u8>,
}

impl From<JExemplar> for pm::Exemplar {
    fn from(e: JExemplar) -> Self {
        pm::Exemplar {
            filtered_attributes: e.filtered_attributes,
            time_unix_nano: e.time_unix_nano,
            span_id: e.span_id,
            trace_id: e.trace_id,
            value: match (e.as_int, e.as_double) {
                (Some(i), _) => Some(pm::exemplar::Value::AsInt(i.0)),
                (None, Some(d)) => Some(pm::exemplar::Value::AsDouble(d)),
                (None, None) => None,
            },
        }
    }
}

fn exemplars(v: Vec<JExemplar>) -> Vec<pm::Exemplar> {
    v.into_iter().map(Into::into).collect()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JNumberPoint {
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "start_time_unix_nano",
        deserialize_with = "u64_field"
    )]
    start_time_unix_nano: u64,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "u64_field")]
    time_unix_nano: u64,
    #[serde(default, alias = "as_double", deserialize_with = "opt_f64_field")]
    as_double: Option<f64>,
    #[serde(default, alias = "as_int")]
    as_int: Option<I64>,
    #[serde(default, deserialize_with = "nd")]
    exemplars: Vec<JExemplar>,
    #[serde(default, deserialize_with = "u32_field")]
    flags: u32,
}

impl From<JNumberPoint> for pm::NumberDataPoint {
    fn from(p: JNumberPoint) -> Self {
        pm::NumberDataPoint {
            attributes: p.attributes,
            start_time_unix_nano: p.start_time_unix_nano,
            time_unix_nano: p.time_unix_nano,
            exemplars: exemplars(p.exemplars),
            flags: p.flags,
            value: match (p.as_int, p.as_double) {
                (Some(i), _) => Some(pm::number_data_point::Value::AsInt(i.0)),
                (None, Some(d)) => Some(pm::number_data_point::Value::AsDouble(d)),
                (None, None) => None,
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JHistogram {
    #[serde(default, alias = "data_points", deserialize_with = "nd")]
    data_points: Vec<JHistogramPoint>,
    #[serde(
        default,
        alias = "aggregation_temporality",
        deserialize_with = "temporality"
    )]
    aggregation_temporality: i32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JHistogramPoint {
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "start_time_unix_nano",
        deserialize_with = "u64_field"
    )]
    start_time_unix_nano: u64,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "u64_field")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "u64_field")]
    count: u64,
    #[serde(default, deserialize_with = "opt_f64_field")]
    sum: Option<f64>,
    #[serde(default, alias = "bucket_counts", deserialize_with = "u64_list")]
    bucket_counts: Vec<u64>,
    #[serde(default, alias = "explicit_bounds", deserialize_with = "f64_list")]
    explicit_bounds: Vec<f64>,
    #[serde(default, deserialize_with = "nd")]
    exemplars: Vec<JExemplar>,
    #[serde(default, deserialize_with = "u32_field")]
    flags: u32,
    #[serde(default, deserialize_with = "opt_f64_field")]
    min: Option<f64>,
    #[serde(default, deserialize_with = "opt_f64_field")]
    max: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JExpHistogram {
    #[serde(default, alias = "data_points", deserialize_with = "nd")]
    data_points: Vec<JExpHistogramPoint>,
    #[serde(
        default,
        alias = "aggregation_temporality",
        deserialize_with = "temporality"
    )]
    aggregation_temporality: i32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JBuckets {
    #[serde(default, deserialize_with = "i32_field")]
    offset: i32,
    #[serde(default, alias = "bucket_counts", deserialize_with = "u64_list")]
    bucket_counts: Vec<u64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JExpHistogramPoint {
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "start_time_unix_nano",
        deserialize_with = "u64_field"
    )]
    start_time_unix_nano: u64,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "u64_field")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "u64_field")]
    count: u64,
    #[serde(default, deserialize_with = "opt_f64_field")]
    sum: Option<f64>,
    #[serde(default, deserialize_with = "i32_field")]
    scale: i32,
    #[serde(default, alias = "zero_count", deserialize_with = "u64_field")]
    zero_count: u64,
    #[serde(default)]
    positive: Option<JBuckets>,
    #[serde(default)]
    negative: Option<JBuckets>,
    #[serde(default, deserialize_with = "u32_field")]
    flags: u32,
    #[serde(default, deserialize_with = "nd")]
    exemplars: Vec<JExemplar>,
    #[serde(default, deserialize_with = "opt_f64_field")]
    min: Option<f64>,
    #[serde(default, deserialize_with = "opt_f64_field")]
    max: Option<f64>,
    #[serde(default, alias = "zero_threshold", deserialize_with = "f64_field")]
    zero_threshold: f64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JSummary {
    #[serde(default, alias = "data_points", deserialize_with = "nd")]
    data_points: Vec<JSummaryPoint>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JQuantile {
    #[serde(default, deserialize_with = "f64_field")]
    quantile: f64,
    #[serde(default, deserialize_with = "f64_field")]
    value: f64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JSummaryPoint {
    #[serde(default, deserialize_with = "attrs")]
    attributes: Vec<pc::KeyValue>,
    #[serde(
        default,
        alias = "start_time_unix_nano",
        deserialize_with = "u64_field"
    )]
    start_time_unix_nano: u64,
    #[serde(default, alias = "time_unix_nano", deserialize_with = "u64_field")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "u64_field")]
    count: u64,
    #[serde(default, deserialize_with = "f64_field")]
    sum: f64,
    #[serde(default, alias = "quantile_values", deserialize_with = "nd")]
    quantile_values: Vec<JQuantile>,
    #[serde(default, deserialize_with = "u32_field")]
    flags: u32,
}

impl From<JMetric> for pm::Metric {
    fn from(m: JMetric) -> Self {
        use pm::metric::Data as D;
        let data = if let Some(g) = m.gauge {
            Some(D::Gauge(pm::Gauge {
                data_points: g.data_points.into_iter().map(Into::into).collect(),
            }))
        } else if let Some(s) = m.sum {
            Some(D::Sum(pm::Sum {
                data_points: s.data_points.into_iter().map(Into::into).collect(),
                aggregation_temporality: s.aggregation_temporality,
                is_monotonic: s.is_monotonic,
            }))
        } else if let Some(h) = m.histogram {
            Some(D::Histogram(pm::Histogram {
                aggregation_temporality: h.aggregation_temporality,
                data_points: h
                    .data_points
                    .into_iter()
                    .map(|p| pm::HistogramDataPoint {
                        attributes: p.attributes,
                        start_time_unix_nano: p.start_time_unix_nano,
                        time_unix_nano: p.time_unix_nano,
                        count: p.count,
                        sum: p.sum,
                        bucket_counts: p.bucket_counts,
                        explicit_bounds: p.explicit_bounds,
                        exemplars: exemplars(p.exemplars),
                        flags: p.flags,
                        min: p.min,
                        max: p.max,
                    })
                    .collect(),
            }))
        } else if let Some(h) = m.exponential_histogram {
            Some(D::ExponentialHistogram(pm::ExponentialHistogram {
                aggregation_temporality: h.aggregation_temporality,
                data_points: h
                    .data_points
                    .into_iter()
                    .map(|p| {
                        let buckets = |b: Option<JBuckets>| {
                            b.map(|b| pm::exponential_histogram_data_point::Buckets {
                                offset: b.offset,
                                bucket_counts: b.bucket_counts,
                            })
                        };
                        pm::ExponentialHistogramDataPoint {
                            attributes: p.attributes,
                            start_time_unix_nano: p.start_time_unix_nano,
                            time_unix_nano: p.time_unix_nano,
                            count: p.count,
                            sum: p.sum,
                            scale: p.scale,
                            zero_count: p.zero_count,
                            positive: buckets(p.positive),
                            negative: buckets(p.negative),
                            flags: p.flags,
                            exemplars: exemplars(p.exemplars),
                            min: p.min,
                            max: p.max,
                            zero_threshold: p.zero_threshold,
                        }
                    })
                    .collect(),
            }))
        } else {
            m.summary.map(|s| {
                D::Summary(pm::Summary {
                    data_points: s
                        .data_points
                        .into_iter()
                        .map(|p| pm::SummaryDataPoint {
                            attributes: p.attributes,
                            start_time_unix_nano: p.start_time_unix_nano,
                            time_unix_nano: p.time_unix_nano,
                            count: p.count,
                            sum: p.sum,
                            quantile_values: p
                                .quantile_values
                                .into_iter()
                                .map(|q| pm::summary_data_point::ValueAtQuantile {
                                    quantile: q.quantile,
                                    value: q.value,
                                })
                                .collect(),
                            flags: p.flags,
                        })
                        .collect(),
                })
            })
        };
        pm::Metric {
            name: m.name,
            description: m.description,
            unit: m.unit,
            metadata: m.metadata,
            data,
        }
    }
}

/// Parses an OTLP/JSON metrics export body.
pub fn metrics_request(body: &[u8]) -> Result<ExportMetricsServiceRequest, serde_json::Error> {
    let req: JMetricsRequest = parse(body)?;
    Ok(ExportMetricsServiceRequest {
        resource_metrics: req
            .resource_metrics
            .into_iter()
            .map(|rm| pm::ResourceMetrics {
                resource: rm.resource.map(Into::into),
                scope_metrics: rm
                    .scope_metrics
                    .into_iter()
                    .map(|sm| pm::ScopeMetrics {
                        scope: sm.scope.map(Into::into),
                        metrics: sm.metrics.into_iter().map(Into::into).collect(),
                        schema_url: sm.schema_url,
                    })
                    .collect(),
                schema_url: rm.schema_url,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_trace_parses_with_any_case_ids_and_string_ints() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
          "scopeSpans":[{"scope":{"name":"my.library","version":"1.0.0","attributes":[{"key":"my.scope.attribute","value":{"stringValue":"some scope attribute"}}]},
          "spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"eee19b7ec3c1b173",
            "name":"I'm a server span","startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,"kind":2,
            "attributes":[{"key":"my.span.attr","value":{"intValue":"9007199254740993"}},{"key":"d","value":{"doubleValue":"NaN"}}],
            "status":{"code":"STATUS_CODE_ERROR","message":"x"},"unknownField":true}]}]}]}"#;
        let req = trace_request(body).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id.len(), 16);
        assert_eq!(span.trace_id[0], 0x5b);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
        assert_eq!(span.kind, 2);
        assert_eq!(span.status.as_ref().unwrap().code, 2);
        assert_eq!(
            span.attributes[0].value.as_ref().unwrap().value,
            Some(pc::any_value::Value::IntValue(9_007_199_254_740_993))
        );
    }

    #[test]
    fn bad_hex_is_an_error_with_a_message() {
        let err =
            trace_request(br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#)
                .unwrap_err();
        assert!(err.to_string().contains("not hexadecimal"), "{err}");
        let err =
            trace_request(br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc"}]}]}]}"#)
                .unwrap_err();
        assert!(err.to_string().contains("odd number"), "{err}");
    }

    #[test]
    fn empty_and_null_fields_are_defaults() {
        let req = trace_request(br#"{}"#).unwrap();
        assert!(req.resource_spans.is_empty());
        let req = logs_request(br#"{"resourceLogs":[{"resource":null,"scopeLogs":[{"logRecords":[{"body":null,"traceId":"","severityNumber":9}]}]}]}"#).unwrap();
        let rec = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert!(rec.trace_id.is_empty());
        assert_eq!(rec.severity_number, 9);
    }

    #[test]
    fn metrics_of_every_kind_parse() {
        let body = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
          {"name":"g","gauge":{"dataPoints":[{"asInt":"5","timeUnixNano":"1"}]}},
          {"name":"s","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"asDouble":1.5}]}},
          {"name":"h","histogram":{"aggregationTemporality":1,"dataPoints":[{"count":"3","sum":2.5,"bucketCounts":["1",2],"explicitBounds":[1.0],"min":0.1,"max":2}]}},
          {"name":"e","exponentialHistogram":{"dataPoints":[{"count":2,"scale":-1,"zeroCount":"1","positive":{"offset":-2,"bucketCounts":["1"]}}]}},
          {"name":"q","summary":{"dataPoints":[{"count":"4","sum":10,"quantileValues":[{"quantile":0.5,"value":2}]}]}}]}]}]}"#;
        let req = metrics_request(body).unwrap();
        let ms = &req.resource_metrics[0].scope_metrics[0].metrics;
        assert_eq!(ms.len(), 5);
        assert!(ms.iter().all(|m| m.data.is_some()));
        match &ms[2].data {
            Some(pm::metric::Data::Histogram(h)) => {
                assert_eq!(h.data_points[0].bucket_counts, vec![1, 2]);
                assert_eq!(h.data_points[0].max, Some(2.0));
            }
            other => panic!("not a histogram: {other:?}"),
        }
    }
}
