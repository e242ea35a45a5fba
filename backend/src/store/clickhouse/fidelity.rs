//! Exactly what the Collector's ClickHouse schema keeps of what Sightline
//! is given, for the storage suite (README "What differs on ClickHouse"
//! lists the same). Every difference is one line here.

use shared::logs::LogRecord;
use shared::metrics::{NumberPoint, NumberValue};
use shared::trace::{Event, Link, Resource, Span};
use shared::{AnyValue, KeyValue};

use super::rows::value_text;
use crate::store::suite_fidelity::Fidelity;

/// The `clickhouseexporter` tables' view of telemetry.
pub struct CollectorSchema;

/// Attribute values are stored as text.
fn texts(attrs: Vec<KeyValue>) -> Vec<KeyValue> {
    attrs
        .into_iter()
        .map(|kv| KeyValue {
            value: AnyValue::String(value_text(&kv.value)),
            key: kv.key,
        })
        .collect()
}

impl Fidelity for CollectorSchema {
    fn span(&self, s: Span) -> Span {
        Span {
            attributes: texts(s.attributes),
            // No columns for flags and dropped counts.
            flags: 0,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
            events: s
                .events
                .into_iter()
                .map(|e| Event {
                    attributes: texts(e.attributes),
                    dropped_attributes_count: 0,
                    ..e
                })
                .collect(),
            links: s
                .links
                .into_iter()
                .map(|l| Link {
                    attributes: texts(l.attributes),
                    dropped_attributes_count: 0,
                    flags: 0,
                    ..l
                })
                .collect(),
            ..s
        }
    }

    fn resource(&self, r: Resource) -> Resource {
        // `otel_traces` has no resource schema URL or dropped count.
        Resource {
            attributes: texts(r.attributes),
            dropped_attributes_count: 0,
            schema_url: String::new(),
        }
    }

    fn log(&self, r: LogRecord) -> LogRecord {
        // One timestamp column: a record's time (its observed time when it
        // has none) stands for both.
        let time = r.effective_time();
        LogRecord {
            time,
            observed_time: time,
            body: match value_text(&r.body) {
                t if t.is_empty() => AnyValue::Empty,
                t => AnyValue::String(t),
            },
            attributes: texts(r.attributes),
            dropped_attributes_count: 0,
            flags: r.flags & 0xff,
            severity_number: r.severity_number.clamp(0, 255),
            ..r
        }
    }

    fn number_point(&self, p: NumberPoint) -> NumberPoint {
        // `Value Float64`: integers come back as doubles.
        NumberPoint {
            attributes: texts(p.attributes),
            value: NumberValue::AsDouble(p.value.as_f64()),
            exemplars: p
                .exemplars
                .into_iter()
                .map(|e| shared::metrics::Exemplar {
                    filtered_attributes: texts(e.filtered_attributes),
                    value: Some(NumberValue::AsDouble(e.value.map_or(0.0, |v| v.as_f64()))),
                    ..e
                })
                .collect(),
            ..p
        }
    }
}
