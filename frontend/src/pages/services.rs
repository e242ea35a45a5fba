//! The Services view: the RED catalog (request rate, error rate, latency
//! percentiles, a sparkline of requests) with shortcuts to the other views
//! filtered to each service, and the global service map.

use shared::api::{ServiceMapResponse, ServiceStats, ServicesResponse};
use shared::layout::service_map::{ServiceEdge, ServiceMap, ServiceNode, layout_map};
use shared::query::{LogQuery, SpanQuery, TimeWindow, TraceQuery, WindowQuery};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::app::{AppLink, navigate};
use crate::browser::now_ns;
use crate::chart_scale::sparkline_points;
use crate::components::service_map::ServiceMapView;
use crate::components::status::{EmptyState, ErrorBox, Loading, UrlNotice};
use crate::components::time_range::TimeRange;
use crate::format;
use crate::hooks::use_poll::use_poll;
use crate::palette::service_color;
use crate::shared_ref::Shared;
use crate::url::{self, MetricsView};

/// The map of the response in the layout's terms (external nodes first, then by name).
pub fn to_service_map(r: &ServiceMapResponse) -> ServiceMap {
    let mut nodes: Vec<&shared::api::ServiceMapNode> = r.nodes.iter().collect();
    nodes.sort_by(|a, b| b.external.cmp(&a.external).then(a.name.cmp(&b.name)));
    let index = |name: &str, external: bool| {
        nodes
            .iter()
            .position(|n| n.name == name && n.external == external)
            .or_else(|| nodes.iter().position(|n| n.name == name))
    };
    let mut edges: Vec<ServiceEdge> = r
        .edges
        .iter()
        .filter_map(|e| {
            let caller_external = nodes.iter().any(|n| n.name == e.caller && n.external);
            Some(ServiceEdge {
                from: index(&e.caller, caller_external)?,
                to: index(&e.callee, false)?,
                calls: e.call_count as usize,
                errors: e.error_count as usize,
            })
        })
        .collect();
    edges.sort_by_key(|e| (e.from, e.to));
    ServiceMap {
        nodes: nodes
            .iter()
            .map(|n| ServiceNode {
                name: n.name.clone(),
                external: n.external,
                spans: n.span_count as usize,
                errors: n.error_count as usize,
            })
            .collect(),
        edges,
    }
}

/// The p95 of each edge of `map`, in its edge order.
fn edge_notes(r: &ServiceMapResponse, map: &ServiceMap) -> Vec<String> {
    map.edges
        .iter()
        .map(|e| {
            let (Some(from), Some(to)) = (map.nodes.get(e.from), map.nodes.get(e.to)) else {
                return String::new();
            };
            r.edges
                .iter()
                .find(|x| x.caller == from.name && x.callee == to.name)
                .map(|x| format!("p95 {}", format::duration(x.p95.0)))
                .unwrap_or_default()
        })
        .collect()
}

#[function_component(ServicesPage)]
pub fn services_page() -> Html {
    let location = use_location();
    let nav = use_navigator();
    let qs = location
        .as_ref()
        .map(|l| l.query_str().trim_start_matches('?').to_owned())
        .unwrap_or_default();
    let view = use_memo(qs, |qs| url::services_view(qs));
    let q = view.value.clone();
    let catalog = use_state(|| None::<Result<Shared<ServicesResponse>, ApiError>>);
    let graph = use_state(|| None::<Result<Shared<ServiceMapResponse>, ApiError>>);
    let busy = use_state(|| false);
    let tick = use_poll(None, *busy);
    {
        let (catalog, graph, busy) = (catalog.clone(), graph.clone(), busy.clone());
        let last = use_mut_ref(|| None::<WindowQuery>);
        use_effect_with((q.clone(), tick), move |(q, _)| {
            if last.borrow().as_ref() != Some(q) {
                catalog.set(None);
                graph.set(None);
                *last.borrow_mut() = Some(q.clone());
            }
            busy.set(true);
            let q = q.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let c = api::services(&q).await;
                catalog.set(Some(c.map(Shared::new)));
                let g = api::service_map(&q).await;
                graph.set(Some(g.map(Shared::new)));
                busy.set(false);
            });
        });
    }
    let on_window = {
        let nav = nav.clone();
        Callback::from(move |w: TimeWindow| {
            if let Some(nav) = &nav {
                navigate(
                    nav,
                    &url::with_qs("/services", &url::services_qs(&WindowQuery { window: w })),
                    false,
                );
            }
        })
    };
    let on_node = {
        let nav = nav.clone();
        let w = q.window.clone();
        Callback::from(move |name: String| {
            if let Some(nav) = &nav {
                let tq = TraceQuery {
                    window: w.clone(),
                    service: Some(name),
                    ..TraceQuery::default()
                };
                navigate(nav, &url::with_qs("/traces", &url::traces_qs(&tq)), true);
            }
        })
    };

    let table = match &*catalog {
        None => html! { <Loading /> },
        Some(Err(e)) => html! { <ErrorBox error={e.clone()} what="the service catalog" /> },
        Some(Ok(r)) if r.services.is_empty() => html! {
            <EmptyState id="services-empty" what="services" filtered={false} clear_href="/services" />
        },
        Some(Ok(r)) => html! {
            <table class="list services" id="services-table">
                <thead><tr>
                    <th>{ "Service" }</th>
                    <th class="num">{ "Rate" }</th>
                    <th class="num">{ "Errors" }</th>
                    <th class="num">{ "p50" }</th>
                    <th class="num">{ "p95" }</th>
                    <th class="num">{ "p99" }</th>
                    <th>{ "Requests" }</th>
                    <th class="num">{ "Spans" }</th>
                    <th class="num">{ "Logs" }</th>
                    <th>{ "Last seen" }</th>
                    <th>{ "Open" }</th>
                </tr></thead>
                <tbody>{ for r.services.iter().map(|s| service_row(s, &q.window)) }</tbody>
            </table>
        },
    };
    let map = match &*graph {
        None => html! { <Loading /> },
        Some(Err(e)) => html! { <ErrorBox error={e.clone()} what="the service map" /> },
        Some(Ok(r)) if r.nodes.is_empty() => {
            html! { <div class="muted small" id="map-empty">{ "No calls between services in this window." }</div> }
        }
        Some(Ok(r)) => {
            let m = to_service_map(r);
            let l = layout_map(&m);
            let notes = edge_notes(r, &m);
            html! {
                <>
                if !r.complete {
                    <div class="notice">{ format!("The window holds more spans than one map reads: this map covers the newest {}.", format::count(r.spans_examined)) }</div>
                }
                <ServiceMapView id="global-map" map={m} layout={l} edge_notes={notes} on_node={on_node} />
                </>
            }
        }
    };
    html! {
        <section class="page" id="page-services">
            <div class="page-head">
                <h1 class="page-title">{ "Services" }</h1>
                <TimeRange window={q.window.clone()} on_change={on_window} />
            </div>
            if let Some(e) = &view.error { <UrlNotice text={e.clone()} /> }
            { table }
            <section class="card">
                <h2 class="section-title">{ "Service map" }</h2>
                { map }
            </section>
        </section>
    }
}

fn service_row(s: &ServiceStats, window: &TimeWindow) -> Html {
    let name = Some(s.name.clone());
    let traces = url::with_qs(
        "/traces",
        &url::traces_qs(&TraceQuery {
            window: window.clone(),
            service: name.clone(),
            ..TraceQuery::default()
        }),
    );
    let spans = url::with_qs(
        "/spans",
        &url::spans_qs(&SpanQuery {
            window: window.clone(),
            service: name.clone(),
            ..SpanQuery::default()
        }),
    );
    let logs = url::with_qs(
        "/logs",
        &url::logs_qs(&LogQuery {
            window: window.clone(),
            service: name.clone(),
            ..LogQuery::default()
        }),
    );
    let metrics = url::with_qs(
        "/metrics",
        &url::metrics_qs(&MetricsView {
            service: name.clone(),
            query: shared::query::MetricQuery {
                window: window.clone(),
                ..Default::default()
            },
            ..MetricsView::default()
        }),
    );
    let pct =
        |v: Option<shared::UnixNanos>| v.map_or_else(|| "–".to_owned(), |d| format::duration(d.0));
    let points = sparkline_points(&s.requests_over_time, 120.0, 24.0);
    html! {
        <tr key={s.name.clone()} class="row" data-service={s.name.clone()}>
            <td class="svc-name"><span class="svc-dot" style={format!("background:{}", service_color(&s.name))}></span><strong>{ s.name.clone() }</strong></td>
            <td class="num mono">{ format::rate(s.request_rate) }</td>
            <td class={classes!("num", "mono", (s.error_rate > 0.0).then_some("err"))}>{ format::percent(s.error_rate) }</td>
            <td class="num mono">{ pct(s.p50) }</td>
            <td class="num mono">{ pct(s.p95) }</td>
            <td class="num mono">{ pct(s.p99) }</td>
            <td>
                <svg class="sparkline" viewBox="0 0 120 24" width="120" height="24" preserveAspectRatio="none">
                    <polyline points={points} style={format!("stroke:{}", service_color(&s.name))} />
                </svg>
            </td>
            <td class="num">{ format::count(s.span_count) }</td>
            <td class="num">{ format::count(s.log_count) }</td>
            <td class="muted last-seen">{ s.last_seen.map(|t| format::ago(t.0, now_ns())).unwrap_or_default() }</td>
            <td class="actions">
                <AppLink href={traces} classes="btn small">{ "Traces" }</AppLink>
                <AppLink href={spans} classes="btn small">{ "Spans" }</AppLink>
                <AppLink href={logs} classes="btn small">{ "Logs" }</AppLink>
                <AppLink href={metrics} classes="btn small">{ "Metrics" }</AppLink>
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::UnixNanos;
    use shared::api::{ServiceMapEdge, ServiceMapNode};

    #[test]
    fn response_becomes_a_layout_map() {
        let node = |n: &str, ext: bool| ServiceMapNode {
            name: n.into(),
            external: ext,
            span_count: 3,
            error_count: 0,
        };
        let r = ServiceMapResponse {
            nodes: vec![
                node("db", false),
                node("api", false),
                node("external client", true),
            ],
            edges: vec![
                ServiceMapEdge {
                    caller: "api".into(),
                    callee: "db".into(),
                    call_count: 4,
                    error_count: 1,
                    p95: UnixNanos(2_000_000),
                },
                ServiceMapEdge {
                    caller: "external client".into(),
                    callee: "api".into(),
                    call_count: 2,
                    error_count: 0,
                    p95: UnixNanos(0),
                },
            ],
            spans_examined: 10,
            complete: true,
        };
        let m = to_service_map(&r);
        let names: Vec<&str> = m.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["external client", "api", "db"]);
        assert_eq!(m.edges.len(), 2);
        assert_eq!(
            (m.edges[0].from, m.edges[0].to, m.edges[0].calls),
            (0, 1, 2)
        );
        assert_eq!(
            (m.edges[1].from, m.edges[1].to, m.edges[1].errors),
            (1, 2, 1)
        );
        assert_eq!(edge_notes(&r, &m)[1], "p95 2.00ms");
        let l = layout_map(&m);
        assert_eq!(l.edges.len(), 2);
    }
}
