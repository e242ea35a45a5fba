//! Metrics, mirroring OTLP: every data point kind with its exemplars.

use serde::{Deserialize, Serialize};

use crate::trace::{Resource, Scope};
use crate::{KeyValue, SpanId, TraceId, UnixNanos};

/// How a sum or histogram accumulates over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Temporality {
    #[default]
    Unspecified,
    Delta,
    Cumulative,
}

impl Temporality {
    /// From the OTLP enum number.
    pub fn from_otlp(n: i32) -> Self {
        match n {
            1 => Temporality::Delta,
            2 => Temporality::Cumulative,
            _ => Temporality::Unspecified,
        }
    }

    /// The OTLP enum number.
    pub fn as_otlp(self) -> i32 {
        self as i32
    }
}

/// The kind of a metric, as listed by the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Gauge,
    Sum,
    Histogram,
    ExponentialHistogram,
    Summary,
}

impl MetricKind {
    /// Stable number used in storage.
    pub fn code(self) -> u8 {
        match self {
            MetricKind::Gauge => 1,
            MetricKind::Sum => 2,
            MetricKind::Histogram => 3,
            MetricKind::ExponentialHistogram => 4,
            MetricKind::Summary => 5,
        }
    }

    /// Inverse of [`MetricKind::code`].
    pub fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => MetricKind::Gauge,
            2 => MetricKind::Sum,
            3 => MetricKind::Histogram,
            4 => MetricKind::ExponentialHistogram,
            5 => MetricKind::Summary,
            _ => return None,
        })
    }

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Sum => "sum",
            MetricKind::Histogram => "histogram",
            MetricKind::ExponentialHistogram => "exponential_histogram",
            MetricKind::Summary => "summary",
        }
    }
}

/// A number that is either an integer or a double, as OTLP sends it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NumberValue {
    #[serde(with = "crate::time::i64_string")]
    AsInt(i64),
    #[serde(with = "f64_json")]
    AsDouble(f64),
}

impl NumberValue {
    /// The value as a double (integers beyond 2^53 round).
    pub fn as_f64(self) -> f64 {
        match self {
            NumberValue::AsInt(i) => i as f64,
            NumberValue::AsDouble(d) => d,
        }
    }
}

impl Default for NumberValue {
    fn default() -> Self {
        NumberValue::AsDouble(0.0)
    }
}

/// A sample measurement linked to the trace that was running.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exemplar {
    #[serde(default)]
    pub filtered_attributes: Vec<KeyValue>,
    pub time: UnixNanos,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<NumberValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<SpanId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<TraceId>,
}

/// A gauge or sum data point.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberPoint {
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub start_time: UnixNanos,
    pub time: UnixNanos,
    pub value: NumberValue,
    #[serde(default)]
    pub exemplars: Vec<Exemplar>,
    #[serde(default)]
    pub flags: u32,
}

/// An explicit-bucket histogram data point.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistogramPoint {
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub start_time: UnixNanos,
    pub time: UnixNanos,
    #[serde(with = "crate::time::u64_string")]
    pub count: u64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_f64_json"
    )]
    pub sum: Option<f64>,
    #[serde(default, with = "u64_vec_strings")]
    pub bucket_counts: Vec<u64>,
    #[serde(default, with = "f64_vec_json")]
    pub explicit_bounds: Vec<f64>,
    #[serde(default)]
    pub exemplars: Vec<Exemplar>,
    #[serde(default)]
    pub flags: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_f64_json"
    )]
    pub min: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_f64_json"
    )]
    pub max: Option<f64>,
}

/// One side (positive or negative) of an exponential histogram.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpBuckets {
    #[serde(default)]
    pub offset: i32,
    #[serde(default, with = "u64_vec_strings")]
    pub bucket_counts: Vec<u64>,
}

/// An exponential (base-2) histogram data point.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpHistogramPoint {
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub start_time: UnixNanos,
    pub time: UnixNanos,
    #[serde(with = "crate::time::u64_string")]
    pub count: u64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_f64_json"
    )]
    pub sum: Option<f64>,
    #[serde(default)]
    pub scale: i32,
    #[serde(with = "crate::time::u64_string")]
    pub zero_count: u64,
    #[serde(default)]
    pub positive: ExpBuckets,
    #[serde(default)]
    pub negative: ExpBuckets,
    #[serde(default)]
    pub flags: u32,
    #[serde(default)]
    pub exemplars: Vec<Exemplar>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_f64_json"
    )]
    pub min: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_f64_json"
    )]
    pub max: Option<f64>,
    #[serde(default, with = "f64_json")]
    pub zero_threshold: f64,
}

/// A quantile of a summary point.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Quantile {
    #[serde(with = "f64_json")]
    pub quantile: f64,
    #[serde(with = "f64_json")]
    pub value: f64,
}

/// A summary data point (pre-computed quantiles).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryPoint {
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    #[serde(default)]
    pub start_time: UnixNanos,
    pub time: UnixNanos,
    #[serde(with = "crate::time::u64_string")]
    pub count: u64,
    #[serde(with = "f64_json")]
    pub sum: f64,
    #[serde(default)]
    pub quantile_values: Vec<Quantile>,
    #[serde(default)]
    pub flags: u32,
}

/// The data of a metric: its kind and its points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum MetricData {
    Gauge {
        points: Vec<NumberPoint>,
    },
    Sum {
        points: Vec<NumberPoint>,
        temporality: Temporality,
        is_monotonic: bool,
    },
    Histogram {
        points: Vec<HistogramPoint>,
        temporality: Temporality,
    },
    ExponentialHistogram {
        points: Vec<ExpHistogramPoint>,
        temporality: Temporality,
    },
    Summary {
        points: Vec<SummaryPoint>,
    },
}

impl MetricData {
    /// The kind of this data.
    pub fn kind(&self) -> MetricKind {
        match self {
            MetricData::Gauge { .. } => MetricKind::Gauge,
            MetricData::Sum { .. } => MetricKind::Sum,
            MetricData::Histogram { .. } => MetricKind::Histogram,
            MetricData::ExponentialHistogram { .. } => MetricKind::ExponentialHistogram,
            MetricData::Summary { .. } => MetricKind::Summary,
        }
    }

    /// Number of data points.
    pub fn point_count(&self) -> usize {
        match self {
            MetricData::Gauge { points } | MetricData::Sum { points, .. } => points.len(),
            MetricData::Histogram { points, .. } => points.len(),
            MetricData::ExponentialHistogram { points, .. } => points.len(),
            MetricData::Summary { points } => points.len(),
        }
    }
}

/// One metric of one scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub metadata: Vec<KeyValue>,
    pub data: MetricData,
}

/// Metrics of one instrumentation scope.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeMetrics {
    pub scope: Scope,
    pub metrics: Vec<Metric>,
}

/// Metrics of one resource, grouped by scope: the unit OTLP sends.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceMetrics {
    pub resource: Resource,
    pub scope_metrics: Vec<ScopeMetrics>,
}

/// Doubles as OTLP/JSON writes them: numbers, or `"NaN"`/`"Infinity"`/`"-Infinity"`.
pub(crate) mod f64_json {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("Infinity")
        } else {
            s.serialize_str("-Infinity")
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            Num(f64),
            Text(&'a str),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(n),
            Raw::Text("NaN") => Ok(f64::NAN),
            Raw::Text("Infinity") => Ok(f64::INFINITY),
            Raw::Text("-Infinity") => Ok(f64::NEG_INFINITY),
            Raw::Text(t) => t
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("{t:?} is not a double"))),
        }
    }
}

mod opt_f64_json {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::f64_json::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::f64_json")] f64);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

mod f64_vec_json {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct W(#[serde(with = "super::f64_json")] f64);

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&W(*x))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }
}

mod u64_vec_strings {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct W(#[serde(with = "crate::time::u64_string")] u64);

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&W(*x))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_json_round_trip_keeps_exact_counts() {
        let m = Metric {
            name: "http.server.request.duration".into(),
            description: "Duration of HTTP server requests.".into(),
            unit: "s".into(),
            metadata: vec![],
            data: MetricData::Histogram {
                temporality: Temporality::Cumulative,
                points: vec![HistogramPoint {
                    attributes: vec![KeyValue::string("http.route", "/cart")],
                    start_time: UnixNanos(1),
                    time: UnixNanos(2),
                    count: u64::MAX,
                    sum: Some(12.5),
                    bucket_counts: vec![1, 2, u64::MAX - 3],
                    explicit_bounds: vec![0.1, f64::INFINITY],
                    exemplars: vec![Exemplar {
                        filtered_attributes: vec![],
                        time: UnixNanos(2),
                        value: Some(NumberValue::AsDouble(0.3)),
                        span_id: Some(SpanId([1; 8])),
                        trace_id: Some(TraceId([2; 16])),
                    }],
                    flags: 0,
                    min: Some(0.01),
                    max: None,
                }],
            },
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""type":"histogram""#), "{json}");
        assert!(json.contains(r#""count":"18446744073709551615""#), "{json}");
        let back: Metric = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.data.kind(), MetricKind::Histogram);
        assert_eq!(back.data.point_count(), 1);
    }

    #[test]
    fn number_values_keep_their_kind() {
        let int = serde_json::to_string(&NumberValue::AsInt(-5)).unwrap();
        assert_eq!(int, r#"{"asInt":"-5"}"#);
        let nan: NumberValue = serde_json::from_str(r#"{"asDouble":"NaN"}"#).unwrap();
        assert!(matches!(nan, NumberValue::AsDouble(d) if d.is_nan()));
        for k in [
            MetricKind::Gauge,
            MetricKind::Sum,
            MetricKind::Histogram,
            MetricKind::ExponentialHistogram,
            MetricKind::Summary,
        ] {
            assert_eq!(MetricKind::from_code(k.code()), Some(k));
        }
    }
}
