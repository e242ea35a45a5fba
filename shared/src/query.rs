//! Query API requests: the parameters of every list endpoint, parsed from and
//! written to URL query strings by the same code, so the dashboard's links
//! and the server's parser cannot drift apart.
//!
//! Conventions (all endpoints):
//! - `from`/`to`: Unix nanoseconds or RFC 3339; `range=15m|1h|24h|7d` (any
//!   `humantime` duration) means "the last …" relative to the server's now.
//!   Absent bounds are open.
//! - durations: `250ms`, `1.5s`, `2m` or a bare number of nanoseconds.
//! - `attr=key:value` (or `key=value`), repeatable; all must match.
//! - `limit` 1–1000 (default 100) and an opaque `cursor` from `next_cursor`.

use std::fmt;
use std::time::Duration;

use crate::logs::Severity;
use crate::trace::{SpanKind, StatusCode};
use crate::{AnyValue, KeyValue, SpanId, TraceId};

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size a client may ask for.
pub const MAX_LIMIT: usize = 1000;

/// A query parameter that could not be read; the message names it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("parameter {param}: {message}")]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

impl ParamError {
    pub fn new(param: &str, message: impl Into<String>) -> Self {
        Self {
            param: param.to_owned(),
            message: message.into(),
        }
    }
}

/// Decoded `key=value` pairs of a query string, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a query string (without the leading `?`).
    pub fn parse(query: &str) -> Self {
        Self(
            form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last non-empty value of `key` (so a later value overrides).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// Every non-empty value of a repeatable `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }

    fn parsed<T>(
        &self,
        key: &str,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ParamError> {
        self.get(key)
            .map(|v| f(v).map_err(|m| ParamError::new(key, m)))
            .transpose()
    }

    fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }
}

/// Builds a query string; empty values are left out.
pub struct QueryWriter(form_urlencoded::Serializer<'static, String>);

impl Default for QueryWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl QueryWriter {
    pub fn new() -> Self {
        Self(form_urlencoded::Serializer::new(String::new()))
    }

    pub fn put(&mut self, key: &str, value: impl fmt::Display) -> &mut Self {
        let v = value.to_string();
        if !v.is_empty() {
            self.0.append_pair(key, &v);
        }
        self
    }

    pub fn put_opt(&mut self, key: &str, value: Option<impl fmt::Display>) -> &mut Self {
        if let Some(v) = value {
            self.put(key, v);
        }
        self
    }

    pub fn finish(mut self) -> String {
        self.0.finish()
    }
}

/// Parses a point in time: Unix nanoseconds or RFC 3339.
pub fn parse_time(v: &str) -> Result<u64, String> {
    if let Ok(n) = v.parse::<u64>() {
        return Ok(n);
    }
    humantime::parse_rfc3339_weak(v)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .ok_or_else(|| format!("{v:?} is neither Unix nanoseconds nor an RFC 3339 time"))
}

/// Parses a duration: `250ms`, `1.5s`, `2m`, or nanoseconds.
pub fn parse_duration(v: &str) -> Result<u64, String> {
    if let Ok(n) = v.parse::<u64>() {
        return Ok(n);
    }
    if let Some((num, unit)) = split_decimal(v) {
        let scale = match unit {
            "ns" => Some(1.0),
            "us" | "µs" => Some(1e3),
            "ms" => Some(1e6),
            "s" => Some(1e9),
            "m" => Some(60e9),
            "h" => Some(3600e9),
            "d" => Some(86400e9),
            _ => None,
        };
        if let Some(ns) = scale.map(|s| num * s)
            && ns.is_finite()
            && ns < u64::MAX as f64
        {
            return Ok(ns.round() as u64);
        }
    }
    humantime::parse_duration(v)
        .ok()
        .and_then(|d: Duration| u64::try_from(d.as_nanos()).ok())
        .ok_or_else(|| bad_duration(v))
}

fn bad_duration(v: &str) -> String {
    format!("{v:?} is not a duration (like 250ms, 1.5s, 2m, or nanoseconds)")
}

/// `"1.5s"` → `(1.5, "s")`.
fn split_decimal(v: &str) -> Option<(f64, &str)> {
    let at = v.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = v.split_at(at);
    Some((num.parse().ok()?, unit.trim()))
}

/// Writes nanoseconds as the shortest exact duration text (`1500ms`, `2s`).
pub fn format_duration(ns: u64) -> String {
    for (unit, scale) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if ns >= scale && ns.is_multiple_of(scale) {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{ns}ns")
}

/// The time window of a query as the user wrote it (kept as text so a
/// relative `range` stays relative in a shared link).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub from: Option<String>,
    pub to: Option<String>,
    pub range: Option<String>,
}

/// Absolute bounds, inclusive, in Unix nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub from: u64,
    pub to: u64,
}

impl Bounds {
    /// No bound at all.
    pub const ALL: Bounds = Bounds {
        from: 0,
        to: u64::MAX,
    };

    /// True if `t` lies inside.
    pub fn contains(&self, t: u64) -> bool {
        self.from <= t && t <= self.to
    }
}

impl TimeWindow {
    /// The last `range` (e.g. `"1h"`).
    pub fn last(range: &str) -> Self {
        Self {
            range: Some(range.to_owned()),
            ..Self::default()
        }
    }

    fn read(p: &Params) -> Self {
        Self {
            from: p.string("from"),
            to: p.string("to"),
            range: p.string("range"),
        }
    }

    fn write(&self, w: &mut QueryWriter) {
        w.put_opt("from", self.from.as_ref());
        w.put_opt("to", self.to.as_ref());
        w.put_opt("range", self.range.as_ref());
    }

    /// Checks every part parses (without needing the time of day).
    fn validate(&self) -> Result<(), ParamError> {
        self.resolve(0).map(|_| ())
    }

    /// Absolute bounds given the current time. `range` sets `from` to
    /// `to - range` (with `to` defaulting to now); explicit `from` wins.
    pub fn resolve(&self, now: u64) -> Result<Bounds, ParamError> {
        let to = match &self.to {
            Some(v) => Some(parse_time(v).map_err(|m| ParamError::new("to", m))?),
            None => None,
        };
        let range = match &self.range {
            Some(v) => Some(parse_duration(v).map_err(|m| ParamError::new("range", m))?),
            None => None,
        };
        let from = match &self.from {
            Some(v) => parse_time(v).map_err(|m| ParamError::new("from", m))?,
            None => match range {
                Some(r) => to.unwrap_or(now).saturating_sub(r),
                None => 0,
            },
        };
        let to = to.unwrap_or(if range.is_some() { now } else { u64::MAX });
        if from > to {
            return Err(ParamError::new("from", "is after `to`"));
        }
        Ok(Bounds { from, to })
    }
}

/// `status=` of trace and span searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Traces: no span has status error. Spans: status is not error.
    Ok,
    /// Traces: some span has status error. Spans: status is error.
    Error,
    /// Spans only: status unset.
    Unset,
}

impl StatusFilter {
    fn parse(v: &str) -> Result<Self, String> {
        match v.to_ascii_lowercase().as_str() {
            "ok" => Ok(Self::Ok),
            "error" => Ok(Self::Error),
            "unset" => Ok(Self::Unset),
            _ => Err(format!("{v:?} is not one of ok, error, unset")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Unset => "unset",
        }
    }

    /// Whether a span with `code` passes.
    pub fn matches(self, code: StatusCode) -> bool {
        match self {
            Self::Ok => code != StatusCode::Error,
            Self::Error => code == StatusCode::Error,
            Self::Unset => code == StatusCode::Unset,
        }
    }
}

/// One `attr=key:value` filter. Values compare as text (an int attribute
/// `42` matches `key:42`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrFilter {
    pub key: String,
    pub value: String,
}

impl AttrFilter {
    /// Splits at the first `:` or `=`.
    pub fn parse(v: &str) -> Result<Self, String> {
        let at = v
            .find([':', '='])
            .ok_or_else(|| format!("{v:?} is not key:value"))?;
        let (key, value) = (v[..at].trim(), v[at + 1..].trim());
        if key.is_empty() {
            return Err(format!("{v:?} has an empty key"));
        }
        Ok(Self {
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }
}

impl AttrFilter {
    /// True when `kv` has this filter's key and its value matches (see
    /// [`value_matches`]).
    pub fn matches(&self, kv: &KeyValue) -> bool {
        kv.key == self.key && value_matches(&kv.value, &self.value)
    }
}

/// How `attr=key:value` compares a stored value with the filter's text: the
/// value's display text (`42`, `true`, the string itself) equals it, or the
/// value is an array with an element whose display text equals it
/// (OpenTelemetry puts captured HTTP headers in arrays of strings).
pub fn value_matches(value: &AnyValue, text: &str) -> bool {
    fn display_is(v: &AnyValue, text: &str) -> bool {
        match v {
            AnyValue::String(s) => s == text,
            other => other.to_display_string() == text,
        }
    }
    match value {
        AnyValue::Array(items) => {
            items.iter().any(|i| display_is(i, text)) || display_is(value, text)
        }
        other => display_is(other, text),
    }
}

impl fmt::Display for AttrFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.key, self.value)
    }
}

fn read_attrs(p: &Params) -> Result<Vec<AttrFilter>, ParamError> {
    p.all("attr")
        .into_iter()
        .map(|v| AttrFilter::parse(v).map_err(|m| ParamError::new("attr", m)))
        .collect()
}

fn read_limit(p: &Params) -> Result<Option<usize>, ParamError> {
    p.parsed("limit", |v| match v.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!("{v:?} is not a number from 1 to {MAX_LIMIT}")),
    })
}

fn read_duration(p: &Params, key: &str) -> Result<Option<u64>, ParamError> {
    p.parsed(key, parse_duration)
}

fn read_trace_id(p: &Params, key: &str) -> Result<Option<TraceId>, ParamError> {
    p.parsed(key, |v| TraceId::from_hex(v).map_err(|e| e.to_string()))
}

fn read_span_id(p: &Params, key: &str) -> Result<Option<SpanId>, ParamError> {
    p.parsed(key, |v| SpanId::from_hex(v).map_err(|e| e.to_string()))
}

fn check_durations(min: Option<u64>, max: Option<u64>) -> Result<(), ParamError> {
    match (min, max) {
        (Some(a), Some(b)) if a > b => Err(ParamError::new(
            "min_duration",
            "is larger than max_duration",
        )),
        _ => Ok(()),
    }
}

/// `GET /api/traces`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceQuery {
    pub window: TimeWindow,
    /// Traces with a span of this service (the root's, with `root_only`).
    pub service: Option<String>,
    /// Traces with a span of this name (of `service` when both are given;
    /// the root's, with `root_only`).
    pub operation: Option<String>,
    pub status: Option<StatusFilter>,
    pub min_duration: Option<u64>,
    pub max_duration: Option<u64>,
    /// Matched against any span of the trace.
    pub attrs: Vec<AttrFilter>,
    /// Free text: a trace id (or its prefix), or a case-insensitive part of
    /// a span name or service name (the root's, with `root_only`).
    pub q: Option<String>,
    /// `service`, `operation` and the names of `q` match the root span
    /// only (default: any span of the trace). `attrs` always match any span.
    pub root_only: bool,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, any case).
fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{v:?} is not true or false")),
    }
}

impl TraceQuery {
    pub fn from_params(p: &Params) -> Result<Self, ParamError> {
        let status = p.parsed("status", StatusFilter::parse)?;
        if status == Some(StatusFilter::Unset) {
            return Err(ParamError::new("status", "traces take ok or error"));
        }
        let q = Self {
            window: TimeWindow::read(p),
            service: p.string("service"),
            operation: p.string("operation"),
            status,
            min_duration: read_duration(p, "min_duration")?,
            max_duration: read_duration(p, "max_duration")?,
            attrs: read_attrs(p)?,
            q: p.string("q"),
            root_only: p.parsed("root_only", parse_bool)?.unwrap_or(false),
            limit: read_limit(p)?,
            cursor: p.string("cursor"),
        };
        q.window.validate()?;
        check_durations(q.min_duration, q.max_duration)?;
        Ok(q)
    }

    pub fn to_query_string(&self) -> String {
        let mut w = QueryWriter::new();
        self.window.write(&mut w);
        w.put_opt("service", self.service.as_ref())
            .put_opt("operation", self.operation.as_ref())
            .put_opt("status", self.status.map(StatusFilter::as_str))
            .put_opt("min_duration", self.min_duration.map(format_duration))
            .put_opt("max_duration", self.max_duration.map(format_duration));
        for a in &self.attrs {
            w.put("attr", a);
        }
        w.put_opt("q", self.q.as_ref())
            .put_opt("root_only", self.root_only.then_some("true"))
            .put_opt("limit", self.limit)
            .put_opt("cursor", self.cursor.as_ref());
        w.finish()
    }
}

fn parse_kind(v: &str) -> Result<SpanKind, String> {
    SpanKind::ALL
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(v))
        .ok_or_else(|| {
            format!("{v:?} is not one of unspecified, internal, server, client, producer, consumer")
        })
}

/// `GET /api/spans`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanQuery {
    pub window: TimeWindow,
    pub service: Option<String>,
    /// Exact span name.
    pub name: Option<String>,
    pub kind: Option<SpanKind>,
    pub status: Option<StatusFilter>,
    pub min_duration: Option<u64>,
    pub max_duration: Option<u64>,
    pub attrs: Vec<AttrFilter>,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl SpanQuery {
    pub fn from_params(p: &Params) -> Result<Self, ParamError> {
        let q = Self {
            window: TimeWindow::read(p),
            service: p.string("service"),
            name: p.string("name"),
            kind: p.parsed("kind", parse_kind)?,
            status: p.parsed("status", StatusFilter::parse)?,
            min_duration: read_duration(p, "min_duration")?,
            max_duration: read_duration(p, "max_duration")?,
            attrs: read_attrs(p)?,
            trace_id: read_trace_id(p, "trace_id")?,
            span_id: read_span_id(p, "span_id")?,
            limit: read_limit(p)?,
            cursor: p.string("cursor"),
        };
        q.window.validate()?;
        check_durations(q.min_duration, q.max_duration)?;
        Ok(q)
    }

    pub fn to_query_string(&self) -> String {
        let mut w = QueryWriter::new();
        self.window.write(&mut w);
        w.put_opt("service", self.service.as_ref())
            .put_opt("name", self.name.as_ref())
            .put_opt("kind", self.kind.map(SpanKind::as_str))
            .put_opt("status", self.status.map(StatusFilter::as_str))
            .put_opt("min_duration", self.min_duration.map(format_duration))
            .put_opt("max_duration", self.max_duration.map(format_duration));
        for a in &self.attrs {
            w.put("attr", a);
        }
        w.put_opt("trace_id", self.trace_id)
            .put_opt("span_id", self.span_id)
            .put_opt("limit", self.limit)
            .put_opt("cursor", self.cursor.as_ref());
        w.finish()
    }
}

fn parse_severity(v: &str) -> Result<i32, String> {
    if let Ok(n) = v.parse::<i32>() {
        return if (1..=24).contains(&n) {
            Ok(n)
        } else {
            Err(format!("{n} is not a severity number from 1 to 24"))
        };
    }
    let band = match v.to_ascii_lowercase().as_str() {
        "trace" => Severity::Trace,
        "debug" => Severity::Debug,
        "info" => Severity::Info,
        "warn" | "warning" => Severity::Warn,
        "error" => Severity::Error,
        "fatal" => Severity::Fatal,
        _ => {
            return Err(format!(
                "{v:?} is not a severity (trace, debug, info, warn, error, fatal, or 1–24)"
            ));
        }
    };
    Ok(band.min_number())
}

/// `GET /api/logs`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogQuery {
    pub window: TimeWindow,
    pub service: Option<String>,
    /// Lowest OTLP severity number kept (names map to their band's lowest).
    pub severity_min: Option<i32>,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    /// Full text over the body: every word must occur (case-insensitive).
    pub q: Option<String>,
    pub attrs: Vec<AttrFilter>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl LogQuery {
    pub fn from_params(p: &Params) -> Result<Self, ParamError> {
        let q = Self {
            window: TimeWindow::read(p),
            service: p.string("service"),
            severity_min: p.parsed("severity_min", parse_severity)?,
            trace_id: read_trace_id(p, "trace_id")?,
            span_id: read_span_id(p, "span_id")?,
            q: p.string("q"),
            attrs: read_attrs(p)?,
            limit: read_limit(p)?,
            cursor: p.string("cursor"),
        };
        q.window.validate()?;
        Ok(q)
    }

    pub fn to_query_string(&self) -> String {
        let mut w = QueryWriter::new();
        self.window.write(&mut w);
        w.put_opt("service", self.service.as_ref())
            .put_opt("severity_min", self.severity_min)
            .put_opt("trace_id", self.trace_id)
            .put_opt("span_id", self.span_id)
            .put_opt("q", self.q.as_ref());
        for a in &self.attrs {
            w.put("attr", a);
        }
        w.put_opt("limit", self.limit)
            .put_opt("cursor", self.cursor.as_ref());
        w.finish()
    }
}

/// `GET /api/services` and `GET /api/service-map`: a window only.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowQuery {
    pub window: TimeWindow,
}

impl WindowQuery {
    pub fn from_params(p: &Params) -> Result<Self, ParamError> {
        let q = Self {
            window: TimeWindow::read(p),
        };
        q.window.validate()?;
        Ok(q)
    }

    pub fn to_query_string(&self) -> String {
        let mut w = QueryWriter::new();
        self.window.write(&mut w);
        w.finish()
    }
}

/// `GET /api/metrics`: the metric catalog.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricListQuery {
    /// Metrics with a series from this service.
    pub service: Option<String>,
    /// Case-insensitive substring of the metric name.
    pub q: Option<String>,
}

impl MetricListQuery {
    pub fn from_params(p: &Params) -> Result<Self, ParamError> {
        Ok(Self {
            service: p.string("service"),
            q: p.string("q"),
        })
    }

    pub fn to_query_string(&self) -> String {
        let mut w = QueryWriter::new();
        w.put_opt("service", self.service.as_ref())
            .put_opt("q", self.q.as_ref());
        w.finish()
    }
}

/// How points of a step (and of grouped series) are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    Avg,
    Min,
    Max,
    Sum,
    /// Per-second increase of a counter (resets handled); deltas summed.
    Rate,
    P50,
    P90,
    P95,
    P99,
}

impl Aggregation {
    pub const ALL: [Aggregation; 9] = [
        Aggregation::Avg,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::Sum,
        Aggregation::Rate,
        Aggregation::P50,
        Aggregation::P90,
        Aggregation::P95,
        Aggregation::P99,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::Sum => "sum",
            Self::Rate => "rate",
            Self::P50 => "p50",
            Self::P90 => "p90",
            Self::P95 => "p95",
            Self::P99 => "p99",
        }
    }

    /// The quantile of a percentile aggregation.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Self::P50 => Some(0.5),
            Self::P90 => Some(0.9),
            Self::P95 => Some(0.95),
            Self::P99 => Some(0.99),
            _ => None,
        }
    }

    fn parse(v: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(v))
            .ok_or_else(|| {
                format!("{v:?} is not one of avg, min, max, sum, rate, p50, p90, p95, p99")
            })
    }
}

/// `GET /api/metrics/{name}/query`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricQuery {
    pub window: TimeWindow,
    /// Step between output points; chosen from the window when absent.
    pub step: Option<u64>,
    /// Default: `rate` for monotonic sums, `p95` for histograms, else `avg`.
    pub agg: Option<Aggregation>,
    pub attrs: Vec<AttrFilter>,
    /// Attribute keys (resource or point) that split the output series;
    /// `service.name` works too. Empty: one series per stored series.
    pub group_by: Vec<String>,
}

impl MetricQuery {
    pub fn from_params(p: &Params) -> Result<Self, ParamError> {
        let step = read_duration(p, "step")?;
        if step == Some(0) {
            return Err(ParamError::new("step", "must be larger than zero"));
        }
        let q = Self {
            window: TimeWindow::read(p),
            step,
            agg: p.parsed("agg", Aggregation::parse)?,
            attrs: read_attrs(p)?,
            group_by: p
                .all("group_by")
                .into_iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        q.window.validate()?;
        Ok(q)
    }

    pub fn to_query_string(&self) -> String {
        let mut w = QueryWriter::new();
        self.window.write(&mut w);
        w.put_opt("step", self.step.map(format_duration))
            .put_opt("agg", self.agg.map(Aggregation::as_str));
        for a in &self.attrs {
            w.put("attr", a);
        }
        if !self.group_by.is_empty() {
            w.put("group_by", self.group_by.join(","));
        }
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_forms() {
        assert_eq!(
            parse_time("1700000000000000000"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z"),
            Ok(1_700_000_000_500_000_000)
        );
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("15m"), Ok(900_000_000_000));
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400_000_000_000));
        assert_eq!(parse_duration("1h 30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("42"), Ok(42));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
        for ns in [
            1,
            999,
            1_000,
            1_500_000,
            2_000_000_000,
            90_000_000_000,
            3_600_000_000_000,
        ] {
            assert_eq!(parse_duration(&format_duration(ns)), Ok(ns));
        }
    }

    #[test]
    fn windows() {
        let now = 10_000_000_000_000;
        let w = TimeWindow::last("1h");
        assert_eq!(
            w.resolve(now),
            Ok(Bounds {
                from: now - 3_600_000_000_000,
                to: now
            })
        );
        assert_eq!(TimeWindow::default().resolve(now), Ok(Bounds::ALL));
        let w = TimeWindow {
            from: Some("5".into()),
            to: Some("4".into()),
            range: None,
        };
        assert_eq!(w.resolve(now).unwrap_err().param, "from");
        let w = TimeWindow {
            range: Some("a while".into()),
            ..TimeWindow::default()
        };
        assert_eq!(w.resolve(now).unwrap_err().param, "range");
    }

    #[test]
    fn trace_query_round_trip() {
        let q = TraceQuery {
            window: TimeWindow::last("15m"),
            service: Some("check out".into()),
            operation: Some("GET /cart?x=1&y=2".into()),
            status: Some(StatusFilter::Error),
            min_duration: Some(250_000_000),
            max_duration: Some(2_000_000_000),
            attrs: vec![
                AttrFilter::parse("http.route:/a=b").unwrap(),
                AttrFilter::parse("user.id=7").unwrap(),
            ],
            q: Some("payment failed".into()),
            root_only: true,
            limit: Some(50),
            cursor: Some("abc".into()),
        };
        let s = q.to_query_string();
        assert!(s.contains("root_only=true"), "{s}");
        assert_eq!(TraceQuery::from_params(&Params::parse(&s)), Ok(q));
        // Off is the default and is left out.
        let any = TraceQuery::default();
        assert!(!any.to_query_string().contains("root_only"));
        for (qs, on) in [("root_only=1", true), ("root_only=FALSE", false)] {
            assert_eq!(
                TraceQuery::from_params(&Params::parse(qs))
                    .unwrap()
                    .root_only,
                on
            );
        }
    }

    #[test]
    fn span_and_log_queries_round_trip() {
        let s = SpanQuery {
            kind: Some(SpanKind::Server),
            span_id: Some(SpanId::from_hex("0102030405060708").unwrap()),
            status: Some(StatusFilter::Unset),
            ..SpanQuery::default()
        };
        assert_eq!(
            SpanQuery::from_params(&Params::parse(&s.to_query_string())),
            Ok(s)
        );
        let l = LogQuery {
            severity_min: Some(13),
            q: Some("timeout db".into()),
            trace_id: Some(TraceId::from_hex("0102030405060708090a0b0c0d0e0f10").unwrap()),
            ..LogQuery::default()
        };
        assert_eq!(
            LogQuery::from_params(&Params::parse(&l.to_query_string())),
            Ok(l)
        );
        let m = MetricQuery {
            step: Some(60_000_000_000),
            agg: Some(Aggregation::P95),
            group_by: vec!["service.name".into(), "http.route".into()],
            ..MetricQuery::default()
        };
        assert_eq!(
            MetricQuery::from_params(&Params::parse(&m.to_query_string())),
            Ok(m)
        );
    }

    #[test]
    fn errors_name_the_parameter() {
        let cases = [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("status=maybe", "status"),
            ("min_duration=fast", "min_duration"),
            ("min_duration=2s&max_duration=1s", "min_duration"),
            ("attr=novalue", "attr"),
            ("from=never", "from"),
            ("root_only=maybe", "root_only"),
        ];
        for (qs, param) in cases {
            let err = TraceQuery::from_params(&Params::parse(qs)).unwrap_err();
            assert_eq!(err.param, param, "{qs}");
        }
        let err = SpanQuery::from_params(&Params::parse("trace_id=xyz")).unwrap_err();
        assert_eq!(err.param, "trace_id");
        let err = SpanQuery::from_params(&Params::parse("kind=weird")).unwrap_err();
        assert_eq!(err.param, "kind");
        let err = LogQuery::from_params(&Params::parse("severity_min=loud")).unwrap_err();
        assert_eq!(err.param, "severity_min");
        assert_eq!(
            LogQuery::from_params(&Params::parse("severity_min=warn"))
                .unwrap()
                .severity_min,
            Some(13)
        );
        let err = MetricQuery::from_params(&Params::parse("agg=median")).unwrap_err();
        assert_eq!(err.param, "agg");
    }

    #[test]
    fn attr_filters_match_array_elements() {
        let f = AttrFilter::parse("http.request.header.x_req_id:req-1995").unwrap();
        let kv = |value| KeyValue {
            key: "http.request.header.x_req_id".into(),
            value,
        };
        let strings =
            |v: &[&str]| AnyValue::Array(v.iter().map(|s| AnyValue::String((*s).into())).collect());
        assert!(f.matches(&kv(strings(&["req-1995"]))));
        assert!(f.matches(&kv(strings(&["a", "req-1995"]))));
        assert!(f.matches(&kv(AnyValue::String("req-1995".into()))));
        assert!(!f.matches(&kv(strings(&["req-19950"]))));
        assert!(!f.matches(&kv(strings(&[]))));
        assert!(
            !AttrFilter::parse("other:req-1995")
                .unwrap()
                .matches(&kv(strings(&["req-1995"])))
        );
        let codes = AnyValue::Array(vec![AnyValue::Int(200), AnyValue::Bool(true)]);
        assert!(value_matches(&codes, "200"));
        assert!(value_matches(&codes, "true"));
        assert!(!value_matches(&codes, "20"));
        // The whole array's text still matches, as before.
        assert!(value_matches(&codes, &codes.to_display_string()));
    }

    #[test]
    fn empty_values_are_absent() {
        let q = TraceQuery::from_params(&Params::parse("service=&q=&limit=")).unwrap();
        assert_eq!(q, TraceQuery::default());
    }
}
