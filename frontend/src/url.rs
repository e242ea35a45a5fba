//! The query-string half of the URL schema (the `Route` enum in `app` is the
//! path half): each view's state is parsed from and written to its query
//! string here, so a pasted link rebuilds the same view. List filters are the
//! API's own query types from `shared::query`, written by the same code the
//! server parses them with; this module adds the view-only keys (selected
//! span, search within a trace, chosen metric) and TinyOlly-style `?tab=`
//! links. Pure and tested natively.

use std::collections::BTreeSet;

use shared::query::{
    LogQuery, MetricQuery, Params, SpanQuery, TimeWindow, TraceQuery, WindowQuery,
};
use shared::{SpanId, TraceId};

/// The window a list shows when its URL names none.
pub const DEFAULT_RANGE: &str = "1h";

/// The relative windows offered as presets, with their labels.
pub const RANGE_PRESETS: [(&str, &str); 7] = [
    ("5m", "Last 5 minutes"),
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// "All time": from the epoch, to no bound, in the API's own terms.
pub fn all_time() -> TimeWindow {
    TimeWindow {
        from: Some("0".into()),
        ..TimeWindow::default()
    }
}

/// True for the all-time window.
pub fn is_all_time(w: &TimeWindow) -> bool {
    *w == all_time()
}

/// A window read from a URL: none means the default range.
fn read_window(w: TimeWindow) -> TimeWindow {
    if w == TimeWindow::default() {
        TimeWindow::last(DEFAULT_RANGE)
    } else {
        w
    }
}

/// A window written to a URL: the default range is left out.
fn write_window(w: &TimeWindow) -> TimeWindow {
    if *w == TimeWindow::last(DEFAULT_RANGE) {
        TimeWindow::default()
    } else {
        w.clone()
    }
}

/// A view's state read from a URL, with the reason when the URL had to be
/// partly ignored (the view then shows its defaults and says why).
#[derive(Clone, Debug, PartialEq)]
pub struct FromUrl<T> {
    pub value: T,
    pub error: Option<String>,
}

fn from_url<T: Default>(
    qs: &str,
    parse: impl Fn(&Params) -> Result<T, shared::query::ParamError>,
) -> FromUrl<T> {
    match parse(&Params::parse(qs)) {
        Ok(value) => FromUrl { value, error: None },
        Err(e) => FromUrl {
            value: T::default(),
            error: Some(format!("this link's {e}; showing the defaults")),
        },
    }
}

/// The traces list: its filters (no paging: the cursor is not part of a view).
pub fn traces_view(qs: &str) -> FromUrl<TraceQuery> {
    let mut v = from_url(qs, TraceQuery::from_params);
    v.value.window = read_window(std::mem::take(&mut v.value.window));
    v.value.cursor = None;
    v.value.limit = None;
    v
}

pub fn traces_qs(q: &TraceQuery) -> String {
    TraceQuery {
        window: write_window(&q.window),
        cursor: None,
        limit: None,
        ..q.clone()
    }
    .to_query_string()
}

/// The spans list.
pub fn spans_view(qs: &str) -> FromUrl<SpanQuery> {
    let mut v = from_url(qs, SpanQuery::from_params);
    v.value.window = read_window(std::mem::take(&mut v.value.window));
    v.value.cursor = None;
    v.value.limit = None;
    v
}

pub fn spans_qs(q: &SpanQuery) -> String {
    SpanQuery {
        window: write_window(&q.window),
        cursor: None,
        limit: None,
        ..q.clone()
    }
    .to_query_string()
}

/// The logs list.
pub fn logs_view(qs: &str) -> FromUrl<LogQuery> {
    let mut v = from_url(qs, LogQuery::from_params);
    v.value.window = read_window(std::mem::take(&mut v.value.window));
    v.value.cursor = None;
    v.value.limit = None;
    v
}

pub fn logs_qs(q: &LogQuery) -> String {
    LogQuery {
        window: write_window(&q.window),
        cursor: None,
        limit: None,
        ..q.clone()
    }
    .to_query_string()
}

/// The services view (catalog and map share one window).
pub fn services_view(qs: &str) -> FromUrl<WindowQuery> {
    let mut v = from_url(qs, WindowQuery::from_params);
    v.value.window = read_window(std::mem::take(&mut v.value.window));
    v
}

pub fn services_qs(q: &WindowQuery) -> String {
    WindowQuery {
        window: write_window(&q.window),
    }
    .to_query_string()
}

/// The metrics view: the chosen metric and the query drawn for it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsView {
    pub metric: Option<String>,
    /// Limits the picker to metrics of this service.
    pub service: Option<String>,
    pub query: MetricQuery,
}

pub fn metrics_view(qs: &str) -> FromUrl<MetricsView> {
    let p = Params::parse(qs);
    let mut v = from_url(qs, MetricQuery::from_params);
    v.value.window = read_window(std::mem::take(&mut v.value.window));
    FromUrl {
        value: MetricsView {
            metric: p.get("metric").map(str::to_owned),
            service: p.get("service").map(str::to_owned),
            query: v.value,
        },
        error: v.error,
    }
}

pub fn metrics_qs(v: &MetricsView) -> String {
    let mut w = shared::query::QueryWriter::new();
    w.put_opt("metric", v.metric.as_ref())
        .put_opt("service", v.service.as_ref());
    let head = w.finish();
    let tail = MetricQuery {
        window: write_window(&v.query.window),
        ..v.query.clone()
    }
    .to_query_string();
    join_qs(&head, &tail)
}

/// The trace view's state beyond its path: the selected span, the search
/// within the trace, whether noisy spans are shown, and the collapsed
/// subtrees (`collapsed=` once per span, sorted, so one view has one URL).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceView {
    pub span: Option<SpanId>,
    pub find: String,
    pub show_noise: bool,
    pub collapsed: BTreeSet<SpanId>,
}

pub fn trace_view(qs: &str) -> TraceView {
    let p = Params::parse(qs);
    TraceView {
        span: p.get("span").and_then(|s| SpanId::from_hex(s).ok()),
        find: p.get("find").unwrap_or_default().to_owned(),
        show_noise: p.get("noise") == Some("show"),
        // A malformed id is dropped, the rest of the list still applies.
        collapsed: p
            .all("collapsed")
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|s| SpanId::from_hex(s.trim()).ok())
            .collect(),
    }
}

pub fn trace_qs(v: &TraceView) -> String {
    let mut w = shared::query::QueryWriter::new();
    w.put_opt("span", v.span)
        .put_opt("find", Some(v.find.trim()))
        .put_opt("noise", v.show_noise.then_some("show"));
    for id in &v.collapsed {
        w.put("collapsed", id);
    }
    w.finish()
}

/// `a&b`, leaving out empty halves.
pub fn join_qs(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}&{b}"),
    }
}

/// `path?qs`, or `path` when `qs` is empty.
pub fn with_qs(path: &str, qs: &str) -> String {
    if qs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{qs}")
    }
}

/// Path of the trace view of `trace`, with `span` selected.
pub fn trace_href(trace: TraceId, span: Option<SpanId>) -> String {
    let qs = trace_qs(&TraceView {
        span,
        ..TraceView::default()
    });
    with_qs(&format!("/traces/{trace}"), &qs)
}

/// The link of the logs view of one trace (all time: the trace decides).
pub fn logs_of_trace_href(trace: TraceId) -> String {
    let q = LogQuery {
        window: all_time(),
        trace_id: Some(trace),
        ..LogQuery::default()
    };
    with_qs("/logs", &logs_qs(&q))
}

/// The server's login page, coming back to `here` (this page's path and
/// query) once logged in.
pub fn login_href(here: &str) -> String {
    format!("/login?next={}", percent_encode(here))
}

/// `s` with every byte but `A–Z a–z 0–9 - _ . ~` as `%XX`
/// (JavaScript's `encodeURIComponent`, spaces as `%20`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a TinyOlly-style link (`/?tab=traces&traceId=…`) belongs in this
/// dashboard's own routes; `None` when the query names no tab or trace.
///
/// Accepted: `tab` = traces, spans, logs, metrics, services (also `map`,
/// `service-map`, `catalog`), about (also `settings`, `status`); `traceId`/`trace_id`, `spanId`/`span_id`,
/// `search`/`q`, `service`, `metric`.
pub fn legacy_link(qs: &str) -> Option<String> {
    let p = Params::parse(qs);
    let any = |keys: &[&str]| keys.iter().find_map(|k| p.get(k)).map(str::to_owned);
    let trace = any(&["traceId", "trace_id", "traceid"]).and_then(|t| TraceId::from_hex(&t).ok());
    let span = any(&["spanId", "span_id", "spanid"]).and_then(|s| SpanId::from_hex(&s).ok());
    let search = any(&["search", "q"]);
    let service = any(&["service"]);
    let tab = p.get("tab").map(str::to_ascii_lowercase);
    let tab = match tab.as_deref() {
        Some(t) => t.to_owned(),
        None if trace.is_some() => "traces".to_owned(),
        None if span.is_some() => "spans".to_owned(),
        None => return None,
    };
    let target = match tab.as_str() {
        "traces" | "trace" => match trace {
            Some(t) => trace_href(t, span),
            None => with_qs(
                "/traces",
                &traces_qs(&TraceQuery {
                    window: TimeWindow::last(DEFAULT_RANGE),
                    service,
                    q: search,
                    ..TraceQuery::default()
                }),
            ),
        },
        "spans" | "span" => match (span, trace) {
            (Some(s), Some(t)) => trace_href(t, Some(s)),
            (Some(s), None) => format!("/spans/{s}"),
            _ => with_qs(
                "/spans",
                &spans_qs(&SpanQuery {
                    window: TimeWindow::last(DEFAULT_RANGE),
                    service,
                    ..SpanQuery::default()
                }),
            ),
        },
        "logs" | "log" => {
            let q = LogQuery {
                // A trace's logs are shown whenever they happened.
                window: if trace.is_some() {
                    all_time()
                } else {
                    TimeWindow::last(DEFAULT_RANGE)
                },
                service,
                q: search,
                trace_id: trace,
                span_id: span,
                ..LogQuery::default()
            };
            with_qs("/logs", &logs_qs(&q))
        }
        "metrics" | "metric" => with_qs(
            "/metrics",
            &metrics_qs(&MetricsView {
                metric: any(&["metric", "name"]),
                service,
                query: MetricQuery {
                    window: TimeWindow::last(DEFAULT_RANGE),
                    ..MetricQuery::default()
                },
            }),
        ),
        "services" | "service" | "map" | "service-map" | "servicemap" | "catalog" => {
            "/services".to_owned()
        }
        "about" | "settings" | "status" => "/about".to_owned(),
        _ => "/traces".to_owned(),
    };
    Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::query::{AttrFilter, StatusFilter};

    const T: &str = "0102030405060708090a0b0c0d0e0f10";
    const S: &str = "a1a2a3a4a5a6a7a8";

    #[test]
    fn traces_round_trip_and_default_window() {
        let v = traces_view("");
        assert_eq!(v.error, None);
        assert_eq!(v.value.window, TimeWindow::last("1h"));
        assert_eq!(traces_qs(&v.value), "");

        let q = TraceQuery {
            window: TimeWindow::last("15m"),
            service: Some("check out".into()),
            operation: Some("GET /a?b=c&d".into()),
            status: Some(StatusFilter::Error),
            min_duration: Some(5_000_000),
            max_duration: None,
            attrs: vec![AttrFilter::parse("http.route=/x").unwrap()],
            q: Some("boom".into()),
            root_only: true,
            limit: None,
            cursor: None,
        };
        let qs = traces_qs(&q);
        assert_eq!(traces_view(&qs).value, q);
        assert!(qs.contains("range=15m"), "{qs}");
        assert!(qs.contains("root_only=true"), "{qs}");
    }

    #[test]
    fn all_time_is_written_explicitly() {
        let q = TraceQuery {
            window: all_time(),
            ..TraceQuery::default()
        };
        let qs = traces_qs(&q);
        assert_eq!(qs, "from=0");
        assert!(is_all_time(&traces_view(&qs).value.window));
    }

    #[test]
    fn paging_is_not_part_of_a_view() {
        let v = traces_view("cursor=abc&limit=5&service=a");
        assert_eq!(v.value.cursor, None);
        assert_eq!(v.value.limit, None);
        assert_eq!(traces_qs(&v.value), "service=a");
    }

    #[test]
    fn bad_parameters_fall_back_and_say_so() {
        let v = traces_view("min_duration=fast&service=a");
        assert_eq!(v.value, traces_view("").value);
        let e = v.error.unwrap();
        assert!(e.contains("min_duration"), "{e}");
        let v = logs_view("severity_min=loud");
        assert!(v.error.unwrap().contains("severity_min"));
    }

    #[test]
    fn logs_spans_services_round_trip() {
        let l = LogQuery {
            window: TimeWindow {
                from: Some("2023-11-14T22:13:20Z".into()),
                to: Some("2023-11-14T23:13:20Z".into()),
                range: None,
            },
            service: Some("cart".into()),
            severity_min: Some(13),
            trace_id: Some(TraceId::from_hex(T).unwrap()),
            q: Some("payment failed".into()),
            ..LogQuery::default()
        };
        assert_eq!(logs_view(&logs_qs(&l)).value, l);
        let s = SpanQuery {
            window: TimeWindow::last("24h"),
            name: Some("SELECT".into()),
            span_id: Some(SpanId::from_hex(S).unwrap()),
            ..SpanQuery::default()
        };
        assert_eq!(spans_view(&spans_qs(&s)).value, s);
        let w = WindowQuery {
            window: TimeWindow::last("6h"),
        };
        assert_eq!(services_view(&services_qs(&w)).value, w);
    }

    #[test]
    fn metrics_view_round_trip() {
        let v = MetricsView {
            metric: Some("http.server.duration".into()),
            service: Some("cart".into()),
            query: MetricQuery {
                window: TimeWindow::last("6h"),
                agg: Some(shared::query::Aggregation::P95),
                group_by: vec!["http.route".into()],
                attrs: vec![AttrFilter::parse("http.method=GET").unwrap()],
                step: None,
            },
        };
        let qs = metrics_qs(&v);
        assert_eq!(metrics_view(&qs).value, v);
        assert!(
            qs.starts_with("metric=http.server.duration&service=cart"),
            "{qs}"
        );
    }

    #[test]
    fn trace_view_round_trip() {
        let b = SpanId::from_hex("b1b2b3b4b5b6b7b8").unwrap();
        let v = TraceView {
            span: Some(SpanId::from_hex(S).unwrap()),
            find: "db query".into(),
            show_noise: true,
            collapsed: [b, SpanId::from_hex(S).unwrap()].into_iter().collect(),
        };
        let qs = trace_qs(&v);
        assert_eq!(trace_view(&qs), v);
        assert!(
            qs.ends_with(&format!("collapsed={S}&collapsed={}", b.to_hex())),
            "one parameter per span, sorted: {qs}"
        );
        assert_eq!(trace_qs(&TraceView::default()), "");
        // A malformed span id is ignored, not an error page.
        assert_eq!(trace_view("span=zz").span, None);
        assert_eq!(
            trace_view(&format!("collapsed=zz,{S},")).collapsed,
            [SpanId::from_hex(S).unwrap()].into_iter().collect()
        );
        assert_eq!(
            trace_href(TraceId::from_hex(T).unwrap(), SpanId::from_hex(S).ok()),
            format!("/traces/{T}?span={S}")
        );
    }

    #[test]
    fn login_links_come_back_to_the_page() {
        assert_eq!(login_href("/traces"), "/login?next=%2Ftraces");
        assert_eq!(
            login_href("/logs?q=payment+failed&range=15m"),
            "/login?next=%2Flogs%3Fq%3Dpayment%2Bfailed%26range%3D15m"
        );
        assert_eq!(percent_encode("a b/é~"), "a%20b%2F%C3%A9~");
        // What the page decodes is exactly where it was.
        let here = "/traces/0102?span=a1&find=db query";
        let next = login_href(here);
        let encoded = next.strip_prefix("/login?next=").unwrap();
        let back: String = shared::query::Params::parse(&format!("n={encoded}"))
            .get("n")
            .unwrap()
            .to_owned();
        assert_eq!(back, here);
    }

    #[test]
    fn tinyolly_links() {
        assert_eq!(legacy_link(""), None);
        assert_eq!(legacy_link("foo=bar"), None);
        assert_eq!(legacy_link("tab=traces").as_deref(), Some("/traces"));
        assert_eq!(
            legacy_link(&format!("tab=traces&traceId={T}")),
            Some(format!("/traces/{T}"))
        );
        assert_eq!(
            legacy_link(&format!("traceId={}", T.to_uppercase())),
            Some(format!("/traces/{T}"))
        );
        assert_eq!(
            legacy_link(&format!("tab=spans&spanId={S}")),
            Some(format!("/spans/{S}"))
        );
        assert_eq!(
            legacy_link(&format!("tab=spans&spanId={S}&traceId={T}")),
            Some(format!("/traces/{T}?span={S}"))
        );
        assert_eq!(legacy_link("tab=spans").as_deref(), Some("/spans"));
        assert_eq!(
            legacy_link("tab=logs&search=payment%20failed").as_deref(),
            Some("/logs?q=payment+failed")
        );
        assert_eq!(
            logs_view("q=payment+failed").value.q.as_deref(),
            Some("payment failed")
        );
        assert_eq!(
            legacy_link(&format!("tab=logs&traceId={T}")),
            Some(format!("/logs?from=0&trace_id={T}"))
        );
        assert_eq!(legacy_link("tab=metrics").as_deref(), Some("/metrics"));
        assert_eq!(legacy_link("tab=services").as_deref(), Some("/services"));
        assert_eq!(legacy_link("tab=map").as_deref(), Some("/services"));
        assert_eq!(legacy_link("tab=about").as_deref(), Some("/about"));
        assert_eq!(legacy_link("tab=whatever").as_deref(), Some("/traces"));
        // A bad id does not make a broken link.
        assert_eq!(
            legacy_link("tab=traces&traceId=nothex").as_deref(),
            Some("/traces")
        );
    }
}
