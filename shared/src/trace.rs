//! Spans and the resource/scope they were produced under, mirroring OTLP.

use serde::{Deserialize, Serialize};

use crate::{KeyValue, SpanId, TraceId, UnixNanos};

/// The entity that produced telemetry (a service instance, a host…).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub dropped_attributes_count: u32,
    #[serde(default)]
    pub schema_url: String,
}

impl Resource {
    /// The `service.name` attribute, or OTLP's documented default.
    pub fn service_name(&self) -> &str {
        crate::value::find(&self.attributes, "service.name")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown_service")
    }
}

/// The instrumentation library that produced telemetry.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub dropped_attributes_count: u32,
    #[serde(default)]
    pub schema_url: String,
}

/// OTLP span kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// All kinds, in OTLP enum order.
    pub const ALL: [SpanKind; 6] = [
        SpanKind::Unspecified,
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ];

    /// The OTLP enum number.
    pub fn as_otlp(self) -> i32 {
        self as i32
    }

    /// From the OTLP enum number; unknown numbers are kept as unspecified.
    pub fn from_otlp(n: i32) -> Self {
        usize::try_from(n)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
            .unwrap_or_default()
    }

    /// Lowercase name, as used in query parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// OTLP status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    /// The OTLP enum number.
    pub fn as_otlp(self) -> i32 {
        self as i32
    }

    /// From the OTLP enum number; unknown numbers are kept as unset.
    pub fn from_otlp(n: i32) -> Self {
        match n {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }
}

/// A span's final status.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub code: StatusCode,
    #[serde(default)]
    pub message: String,
}

/// A timestamped event inside a span (exceptions are events too).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub time: UnixNanos,
    pub name: String,
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub dropped_attributes_count: u32,
}

/// A reference from a span to another span, possibly in another trace.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    #[serde(default)]
    pub trace_state: String,
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub dropped_attributes_count: u32,
    #[serde(default)]
    pub flags: u32,
}

/// One span, without its resource and scope (those are shared by many).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<SpanId>,
    #[serde(default)]
    pub trace_state: String,
    #[serde(default)]
    pub flags: u32,
    pub name: String,
    #[serde(default)]
    pub kind: SpanKind,
    pub start_time: UnixNanos,
    pub end_time: UnixNanos,
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub dropped_attributes_count: u32,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub dropped_events_count: u32,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub dropped_links_count: u32,
    #[serde(default)]
    pub status: Status,
}

impl Span {
    /// Duration in nanoseconds; a span that ends before it starts counts as 0.
    pub fn duration_nanos(&self) -> u64 {
        self.end_time.0.saturating_sub(self.start_time.0)
    }
}

/// Spans of one instrumentation scope.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeSpans {
    pub scope: Scope,
    pub spans: Vec<Span>,
}

/// Spans of one resource, grouped by scope: the unit OTLP sends.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpans {
    pub resource: Resource,
    pub scope_spans: Vec<ScopeSpans>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AnyValue;

    fn sample_span() -> Span {
        Span {
            trace_id: TraceId([7; 16]),
            span_id: SpanId([1; 8]),
            parent_span_id: Some(SpanId([2; 8])),
            trace_state: "k=v".into(),
            flags: 1,
            name: "GET /cart".into(),
            kind: SpanKind::Server,
            start_time: UnixNanos(1_700_000_000_000_000_001),
            end_time: UnixNanos(1_700_000_000_250_000_001),
            attributes: vec![
                KeyValue::string("http.route", "/cart"),
                KeyValue {
                    key: "n".into(),
                    value: AnyValue::Int(-3),
                },
            ],
            dropped_attributes_count: 2,
            events: vec![Event {
                time: UnixNanos(1_700_000_000_100_000_000),
                name: "exception".into(),
                attributes: vec![KeyValue::string("exception.type", "ValueError")],
                dropped_attributes_count: 0,
            }],
            dropped_events_count: 1,
            links: vec![Link {
                trace_id: TraceId([9; 16]),
                span_id: SpanId([3; 8]),
                trace_state: String::new(),
                attributes: vec![],
                dropped_attributes_count: 0,
                flags: 0,
            }],
            dropped_links_count: 0,
            status: Status {
                code: StatusCode::Error,
                message: "boom".into(),
            },
        }
    }

    #[test]
    fn span_json_round_trip() {
        let span = sample_span();
        let json = serde_json::to_string(&span).unwrap();
        assert!(
            json.contains(r#""startTime":"1700000000000000001""#),
            "{json}"
        );
        assert!(json.contains(r#""kind":"server""#), "{json}");
        let back: Span = serde_json::from_str(&json).unwrap();
        assert_eq!(back, span);
        assert_eq!(back.duration_nanos(), 250_000_000);
    }

    #[test]
    fn kind_and_status_follow_otlp_numbers() {
        for k in SpanKind::ALL {
            assert_eq!(SpanKind::from_otlp(k.as_otlp()), k);
        }
        assert_eq!(SpanKind::from_otlp(99), SpanKind::Unspecified);
        assert_eq!(StatusCode::from_otlp(2), StatusCode::Error);
    }

    #[test]
    fn service_name_defaults_like_otlp() {
        assert_eq!(Resource::default().service_name(), "unknown_service");
        let r = Resource {
            attributes: vec![KeyValue::string("service.name", "cart")],
            ..Default::default()
        };
        assert_eq!(r.service_name(), "cart");
    }
}
