//! The Metrics view: a searchable metric picker, and for the chosen metric
//! a line chart with aggregation, attribute filters and group-by.
//! Histograms default to their p50/p95/p99 lines.

use shared::api::{MetricInfo, MetricQueryResponse};
use shared::metrics::MetricKind;
use shared::query::{Aggregation, MetricListQuery, MetricQuery, TimeWindow};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::app::{AppLink, navigate};
use crate::browser::now_ns;
use crate::components::chart::{Chart, ChartSeries};
use crate::components::filters::{FilterBar, attrs_text, parse_attrs};
use crate::components::status::{ErrorBox, Loading, UrlNotice};
use crate::components::text_filter::TextFilter;
use crate::components::time_range::TimeRange;
use crate::hooks::use_poll::use_poll;
use crate::palette;
use crate::refresh::PauseReason;
use crate::shared_ref::Shared;
use crate::url::{self, MetricsView};

const PERCENTILES: [Aggregation; 3] = [Aggregation::P50, Aggregation::P95, Aggregation::P99];

/// Whether a metric of `kind` is drawn as percentile lines by default.
fn is_distribution(kind: MetricKind) -> bool {
    matches!(
        kind,
        MetricKind::Histogram | MetricKind::ExponentialHistogram | MetricKind::Summary
    )
}

/// The unit of the drawn values: a rate is per second of the metric's unit.
pub fn chart_unit(unit: &str, agg: Aggregation) -> String {
    if agg != Aggregation::Rate {
        return unit.to_owned();
    }
    match unit.trim_start_matches('{').trim_end_matches('}') {
        "" | "1" => "/s".to_owned(),
        u => format!("{u}/s"),
    }
}

/// The chart's series from the answers (one per aggregation when several).
pub fn to_series(answers: &[MetricQueryResponse]) -> Vec<ChartSeries> {
    let many = answers.len() > 1;
    let mut out = Vec::new();
    for a in answers {
        for s in &a.series {
            let labels = s
                .labels
                .iter()
                .map(|l| format!("{}={}", l.key, l.value))
                .collect::<Vec<_>>()
                .join(", ");
            let label = match (many, labels.is_empty()) {
                (true, true) => a.agg.as_str().to_owned(),
                (true, false) => format!("{} · {labels}", a.agg.as_str()),
                (false, _) => labels,
            };
            out.push(ChartSeries {
                label,
                color: out.len() % palette::COLORS,
                points: s
                    .points
                    .iter()
                    .map(|p| (p.time.0 as f64 / 1e6, p.value))
                    .collect(),
            });
        }
    }
    out
}

#[function_component(MetricsPage)]
pub fn metrics_page() -> Html {
    let location = use_location();
    let nav = use_navigator();
    let qs = location
        .as_ref()
        .map(|l| l.query_str().trim_start_matches('?').to_owned())
        .unwrap_or_default();
    let view = use_memo(qs, |qs| url::metrics_view(qs));
    let v = view.value.clone();
    let editing = use_state(|| false);
    let picker_q = use_state(String::new);

    // The catalog (by service when the view names one).
    let catalog = use_state(|| None::<Result<Shared<Vec<MetricInfo>>, ApiError>>);
    {
        let catalog = catalog.clone();
        use_effect_with(v.service.clone(), move |service| {
            let q = MetricListQuery {
                service: service.clone(),
                q: None,
            };
            wasm_bindgen_futures::spawn_local(async move {
                catalog.set(Some(api::metrics(&q).await.map(|r| Shared::new(r.metrics))));
            });
        });
    }
    let info = catalog
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .and_then(|c| {
            v.metric
                .as_ref()
                .and_then(|m| c.iter().find(|i| &i.name == m))
                .cloned()
        });

    // The chart's data: one query, or three percentiles for distributions.
    let data = use_state(|| None::<Result<Shared<Vec<MetricQueryResponse>>, ApiError>>);
    let busy = use_state(|| false);
    let paused = if v.metric.is_none() {
        Some(PauseReason::NothingChosen)
    } else if *editing {
        Some(PauseReason::Editing)
    } else {
        None
    };
    let tick = use_poll(paused, *busy);
    {
        let data = data.clone();
        let busy = busy.clone();
        let kind = info.as_ref().map(|i| i.kind);
        let last = use_mut_ref(|| None::<(Option<String>, MetricQuery)>);
        use_effect_with(
            (v.metric.clone(), v.query.clone(), kind, tick),
            move |(metric, q, kind, _)| {
                let key = (metric.clone(), q.clone());
                if last.borrow().as_ref() != Some(&key) {
                    data.set(None);
                    *last.borrow_mut() = Some(key);
                }
                if let Some(name) = metric.clone() {
                    let aggs: Vec<Option<Aggregation>> = match (q.agg, kind) {
                        (None, Some(k)) if is_distribution(*k) => {
                            PERCENTILES.iter().map(|a| Some(*a)).collect()
                        }
                        (a, _) => vec![a],
                    };
                    let q = q.clone();
                    busy.set(true);
                    wasm_bindgen_futures::spawn_local(async move {
                        let mut answers = Vec::new();
                        let mut err = None;
                        for agg in aggs {
                            let q = MetricQuery { agg, ..q.clone() };
                            match api::metric_query(&name, &q).await {
                                Ok(a) => answers.push(a),
                                Err(e) => {
                                    err = Some(e);
                                    break;
                                }
                            }
                        }
                        data.set(Some(match err {
                            Some(e) => Err(e),
                            None => Ok(Shared::new(answers)),
                        }));
                        busy.set(false);
                    });
                }
            },
        );
    }

    let go = {
        let v = v.clone();
        let nav = nav.clone();
        std::rc::Rc::new(move |f: &dyn Fn(&mut MetricsView), push: bool| {
            let mut next = v.clone();
            f(&mut next);
            if let Some(nav) = &nav {
                navigate(
                    nav,
                    &url::with_qs("/metrics", &url::metrics_qs(&next)),
                    push,
                );
            }
        })
    };
    let on_window = {
        let go = go.clone();
        Callback::from(move |w: TimeWindow| go(&|v| v.query.window = w.clone(), false))
    };
    let on_agg = {
        let go = go.clone();
        Callback::from(move |e: Event| {
            let s = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let a = Aggregation::ALL.into_iter().find(|a| a.as_str() == s);
            go(&|v| v.query.agg = a, false);
        })
    };
    let on_group = {
        let go = go.clone();
        Callback::from(move |s: String| {
            let keys: Vec<String> = s
                .split([',', ' '])
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect();
            go(&|v| v.query.group_by = keys.clone(), false);
        })
    };
    let on_attrs = {
        let go = go.clone();
        Callback::from(move |s: String| go(&|v| v.query.attrs = parse_attrs(&s), false))
    };
    let on_editing = {
        let editing = editing.clone();
        Callback::from(move |b: bool| editing.set(b))
    };
    let on_picker = {
        let picker_q = picker_q.clone();
        Callback::from(move |s: String| picker_q.set(s))
    };

    let picker = match &*catalog {
        None => html! { <Loading /> },
        Some(Err(e)) => html! { <ErrorBox error={e.clone()} what="the metric catalog" /> },
        Some(Ok(list)) => {
            let needle = picker_q.to_lowercase();
            let shown: Vec<&MetricInfo> = list
                .iter()
                .filter(|m| needle.is_empty() || m.name.to_lowercase().contains(&needle))
                .collect();
            html! {
                <>
                if list.is_empty() {
                    <div class="muted small" id="metrics-empty">
                        { "No metrics stored yet. " }<AppLink href="/start">{ "Point an OpenTelemetry SDK at this server" }</AppLink>
                        { "; metrics show here after their first export (usually within a minute)." }
                    </div>
                }
                <ul class="metric-list" id="metric-list">
                    { for shown.iter().map(|m| {
                        let active = v.metric.as_deref() == Some(m.name.as_str());
                        let href = url::with_qs("/metrics", &url::metrics_qs(&MetricsView {
                            metric: Some(m.name.clone()),
                            service: v.service.clone(),
                            query: MetricQuery { window: v.query.window.clone(), ..MetricQuery::default() },
                        }));
                        html! {
                            <li class={classes!(active.then_some("active"))} key={m.name.clone()}>
                                <AppLink href={href} classes="metric-item" title={m.description.clone()}>
                                    <span class="metric-name mono">{ m.name.clone() }</span>
                                    <span class="metric-meta muted">{ format!("{} · {} series{}", m.kind.as_str(), m.series_count,
                                        if m.unit.is_empty() { String::new() } else { format!(" · {}", m.unit) }) }</span>
                                </AppLink>
                            </li>
                        }
                    }) }
                </ul>
                </>
            }
        }
    };

    let default_agg = info.as_ref().map(|i| {
        if is_distribution(i.kind) {
            "p50 / p95 / p99".to_owned()
        } else if i.is_monotonic {
            "rate".to_owned()
        } else {
            "avg".to_owned()
        }
    });
    let chart = match (&v.metric, &*data) {
        (None, _) => {
            html! { <div class="empty"><h2>{ "Pick a metric" }</h2><p>{ "Choose one from the list to chart it." }</p></div> }
        }
        (Some(_), None) => html! { <Loading /> },
        (Some(_), Some(Err(e))) => html! { <ErrorBox error={e.clone()} what="the metric" /> },
        (Some(name), Some(Ok(answers))) => {
            let series = to_series(answers);
            let unit = answers
                .first()
                .map(|a| chart_unit(&a.unit, a.agg))
                .unwrap_or_default();
            let (from, to) = answers
                .first()
                .map(|a| (a.from.0 as f64 / 1e6, a.to.0 as f64 / 1e6))
                .unwrap_or((0.0, 0.0));
            let (from, to) = if to > from && to < 4e12 {
                (from, to)
            } else {
                let pts = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
                let lo = pts.clone().fold(f64::INFINITY, f64::min);
                let hi = pts.fold(f64::NEG_INFINITY, f64::max);
                if lo.is_finite() {
                    (lo, hi)
                } else {
                    (now_ns() as f64 / 1e6 - 3.6e6, now_ns() as f64 / 1e6)
                }
            };
            let desc = answers
                .first()
                .map(|a| a.description.clone())
                .unwrap_or_default();
            let step = answers
                .first()
                .map(|a| crate::format::duration(a.step.0))
                .unwrap_or_default();
            let aggs = answers
                .iter()
                .map(|a| a.agg.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            html! {
                <div class="card">
                    <div class="chart-head">
                        <h2 class="section-title mono" id="metric-title">{ name.clone() }</h2>
                        <span class="muted small">{ format!("{aggs} · step {step}{}", if unit.is_empty() { String::new() } else { format!(" · unit {unit}") }) }</span>
                    </div>
                    if !desc.is_empty() { <p class="muted small">{ desc }</p> }
                    if series.iter().all(|s| s.points.iter().all(|p| p.1.is_none())) {
                        <div class="muted" id="chart-empty">{ "No points in this window." }</div>
                    }
                    <Chart id="metric-chart" series={series} unit={unit} from_ms={from} to_ms={to} />
                </div>
            }
        }
    };
    let agg = v.query.agg.map(Aggregation::as_str).unwrap_or_default();
    html! {
        <section class="page" id="page-metrics">
            <div class="page-head">
                <h1 class="page-title">{ "Metrics" }</h1>
                if let Some(s) = &v.service { <span class="pill">{ format!("service: {s}") }
                    <AppLink href={url::with_qs("/metrics", &url::metrics_qs(&MetricsView { service: None, ..v.clone() }))} classes="pill-x">{ "✕" }</AppLink></span> }
            </div>
            if let Some(e) = &view.error { <UrlNotice text={e.clone()} /> }
            <div class="metrics-layout">
                <aside class="metric-picker card">
                    <TextFilter id="metric-search" placeholder="Search metrics" value={(*picker_q).clone()} on_commit={on_picker} />
                    { picker }
                </aside>
                <div class="metric-main">
                    <FilterBar {on_editing}>
                        <TimeRange window={v.query.window.clone()} on_change={on_window} />
                        <select id="f-agg" onchange={on_agg} title="Aggregation">
                            <option value="" selected={agg.is_empty()}>{ format!("Default ({})", default_agg.unwrap_or_else(|| "by kind".into())) }</option>
                            { for Aggregation::ALL.iter().map(|a| html! { <option value={a.as_str()} selected={agg == a.as_str()}>{ a.as_str() }</option> }) }
                        </select>
                        <TextFilter id="f-group" placeholder="Group by" title="Attribute keys that split the series, comma-separated (service.name works too)" value={v.query.group_by.join(",")} on_commit={on_group} />
                        <TextFilter id="f-attrs" classes="wide" placeholder="Attributes key=value …" value={attrs_text(&v.query.attrs)} on_commit={on_attrs} />
                    </FilterBar>
                    { chart }
                </div>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::UnixNanos;
    use shared::api::{MetricSeriesResult, MetricValue, Resolution, SeriesLabel};
    use shared::metrics::MetricKind;

    fn answer(agg: Aggregation) -> MetricQueryResponse {
        MetricQueryResponse {
            name: "m".into(),
            kind: MetricKind::Histogram,
            unit: "s".into(),
            description: String::new(),
            agg,
            from: UnixNanos(0),
            to: UnixNanos(120_000_000_000),
            step: UnixNanos(60_000_000_000),
            resolution: Resolution::Raw,
            series: vec![MetricSeriesResult {
                labels: vec![SeriesLabel {
                    key: "route".into(),
                    value: "/a".into(),
                }],
                points: vec![
                    MetricValue {
                        time: UnixNanos(0),
                        value: Some(1.0),
                    },
                    MetricValue {
                        time: UnixNanos(60_000_000_000),
                        value: None,
                    },
                ],
            }],
        }
    }

    #[test]
    fn series_are_labelled_by_aggregation_when_several() {
        let one = to_series(&[answer(Aggregation::Avg)]);
        assert_eq!(one[0].label, "route=/a");
        assert_eq!(one[0].points, vec![(0.0, Some(1.0)), (60_000.0, None)]);
        let three = to_series(&[
            answer(Aggregation::P50),
            answer(Aggregation::P95),
            answer(Aggregation::P99),
        ]);
        let labels: Vec<&str> = three.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["p50 · route=/a", "p95 · route=/a", "p99 · route=/a"]
        );
        assert_ne!(three[0].color, three[1].color);
        assert!(is_distribution(MetricKind::Histogram));
        assert_eq!(chart_unit("{requests}", Aggregation::Rate), "requests/s");
        assert_eq!(chart_unit("1", Aggregation::Rate), "/s");
        assert_eq!(chart_unit("By", Aggregation::Sum), "By");
        assert!(!is_distribution(MetricKind::Gauge));
    }
}
