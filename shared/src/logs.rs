//! Log records, mirroring OTLP.

use serde::{Deserialize, Serialize};

use crate::trace::{Resource, Scope};
use crate::{AnyValue, KeyValue, SpanId, TraceId, UnixNanos};

/// One log record, without its resource and scope.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRecord {
    /// When the event happened (0 when the source did not say).
    pub time: UnixNanos,
    /// When the collection pipeline saw it.
    pub observed_time: UnixNanos,
    #[serde(default)]
    pub severity_number: i32,
    #[serde(default)]
    pub severity_text: String,
    #[serde(default)]
    pub body: AnyValue,
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub dropped_attributes_count: u32,
    #[serde(default)]
    pub flags: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<TraceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<SpanId>,
    #[serde(default)]
    pub event_name: String,
}

impl LogRecord {
    /// The time to sort and filter by: the event time, else the observed time.
    pub fn effective_time(&self) -> UnixNanos {
        if self.time.0 != 0 {
            self.time
        } else {
            self.observed_time
        }
    }
}

/// Severity bands of the OTLP severity number (1–24).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unspecified,
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Severity {
    /// The band a severity number falls in.
    pub fn from_number(n: i32) -> Self {
        match n {
            1..=4 => Severity::Trace,
            5..=8 => Severity::Debug,
            9..=12 => Severity::Info,
            13..=16 => Severity::Warn,
            17..=20 => Severity::Error,
            21..=24 => Severity::Fatal,
            _ => Severity::Unspecified,
        }
    }

    /// The lowest severity number of the band, for `severity_min` filters.
    pub fn min_number(self) -> i32 {
        match self {
            Severity::Unspecified => 0,
            Severity::Trace => 1,
            Severity::Debug => 5,
            Severity::Info => 9,
            Severity::Warn => 13,
            Severity::Error => 17,
            Severity::Fatal => 21,
        }
    }
}

/// Log records of one instrumentation scope.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeLogs {
    pub scope: Scope,
    pub log_records: Vec<LogRecord>,
}

/// Log records of one resource, grouped by scope: the unit OTLP sends.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLogs {
    pub resource: Resource,
    pub scope_logs: Vec<ScopeLogs>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_json_round_trip() {
        let log = LogRecord {
            time: UnixNanos(5),
            observed_time: UnixNanos(6),
            severity_number: 17,
            severity_text: "ERROR".into(),
            body: AnyValue::KvList(vec![KeyValue::string("msg", "payment failed")]),
            attributes: vec![KeyValue {
                key: "retry".into(),
                value: AnyValue::Bool(true),
            }],
            dropped_attributes_count: 0,
            flags: 1,
            trace_id: Some(TraceId([4; 16])),
            span_id: Some(SpanId([5; 8])),
            event_name: "payment.failed".into(),
        };
        let json = serde_json::to_string(&log).unwrap();
        let back: LogRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, log);
    }

    #[test]
    fn severity_bands() {
        assert_eq!(Severity::from_number(9), Severity::Info);
        assert_eq!(Severity::from_number(24), Severity::Fatal);
        assert_eq!(Severity::from_number(0), Severity::Unspecified);
        assert!(Severity::Warn.min_number() < Severity::Error.min_number());
        assert_eq!(
            LogRecord {
                observed_time: UnixNanos(3),
                ..Default::default()
            }
            .effective_time(),
            UnixNanos(3)
        );
    }
}
