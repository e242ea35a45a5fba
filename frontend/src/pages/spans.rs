//! The Spans view: span search with the trace filters plus kind, status and
//! ids; a row opens its trace with the span selected. `/spans/{id}` (and
//! TinyOlly's `?tab=spans&spanId=`) finds a span's trace and shows it.

use shared::api::SpanRecord;
use shared::query::{SpanQuery, StatusFilter, TimeWindow};
use shared::trace::{SpanKind, StatusCode};
use shared::{SpanId, TraceId};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::app::{AppLink, navigate};
use crate::browser::date_time;
use crate::components::copy_button::CopyButton;
use crate::components::filters::{
    Datalist, DurationFilter, FilterBar, attrs_text, non_empty, opt_text, parse_attrs,
    use_service_names,
};
use crate::components::status::{EmptyState, ErrorBox, Loading, UrlNotice};
use crate::components::text_filter::TextFilter;
use crate::components::time_range::TimeRange;
use crate::format;
use crate::hooks::use_list::{Fetch, ListHandle, Mode, use_list};
use crate::palette::service_color;
use crate::refresh::PauseReason;
use crate::url;

const PAGE: usize = 100;

fn fetch() -> Fetch<SpanQuery, SpanRecord> {
    |q, cursor| {
        Box::pin(async move {
            let q = SpanQuery {
                limit: Some(PAGE),
                cursor,
                ..q
            };
            api::spans(&q).await.map(|r| (r.spans, r.next_cursor))
        })
    }
}

fn span_key(r: &SpanRecord) -> String {
    format!("{}{}", r.span.trace_id, r.span.span_id)
}

#[function_component(SpansPage)]
pub fn spans_page() -> Html {
    let location = use_location();
    let nav = use_navigator();
    let qs = location
        .as_ref()
        .map(|l| l.query_str().trim_start_matches('?').to_owned())
        .unwrap_or_default();
    let view = use_memo(qs, |qs| url::spans_view(qs));
    let q = view.value.clone();
    let editing = use_state(|| false);
    let services = use_service_names();
    let paused = editing.then_some(PauseReason::Editing);
    let ListHandle { state, load_more } = use_list(q.clone(), fetch(), span_key, paused);

    let set = {
        let q = q.clone();
        let nav = nav.clone();
        std::rc::Rc::new(move |f: &dyn Fn(&mut SpanQuery)| {
            let mut next = q.clone();
            f(&mut next);
            if let Some(nav) = &nav {
                navigate(nav, &url::with_qs("/spans", &url::spans_qs(&next)), false);
            }
        })
    };
    let cb_window = {
        let set = set.clone();
        Callback::from(move |w: TimeWindow| set(&|q| q.window = w.clone()))
    };
    let text_cb = |f: fn(&mut SpanQuery, Option<String>)| {
        let set = set.clone();
        Callback::from(move |v: String| set(&|q| f(q, non_empty(v.clone()))))
    };
    let on_kind = {
        let set = set.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let k = SpanKind::ALL.into_iter().find(|k| k.as_str() == v);
            set(&|q| q.kind = k);
        })
    };
    let on_status = {
        let set = set.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let s = [StatusFilter::Error, StatusFilter::Ok, StatusFilter::Unset]
                .into_iter()
                .find(|s| s.as_str() == v);
            set(&|q| q.status = s);
        })
    };
    let on_min = {
        let set = set.clone();
        Callback::from(move |v: Option<u64>| set(&|q| q.min_duration = v))
    };
    let on_max = {
        let set = set.clone();
        Callback::from(move |v: Option<u64>| set(&|q| q.max_duration = v))
    };
    let on_attrs = {
        let set = set.clone();
        Callback::from(move |v: String| set(&|q| q.attrs = parse_attrs(&v)))
    };
    let on_trace = {
        let set = set.clone();
        Callback::from(move |v: String| {
            let t = TraceId::from_hex(v.trim()).ok();
            if t.is_some() || v.trim().is_empty() {
                set(&|q| q.trace_id = t);
            }
        })
    };
    let on_editing = {
        let editing = editing.clone();
        Callback::from(move |b: bool| editing.set(b))
    };

    let items = &state.page.items;
    let body = if !state.loaded && items.is_empty() {
        match &state.error {
            Some(e) => html! { <ErrorBox error={e.clone()} what="spans" /> },
            None => html! { <Loading /> },
        }
    } else if let (Some(e), true) = (&state.error, items.is_empty()) {
        html! { <ErrorBox error={e.clone()} what="spans" /> }
    } else if items.is_empty() {
        html! {
            <EmptyState id="spans-empty" what="spans"
                filtered={q != SpanQuery { window: q.window.clone(), ..SpanQuery::default() }}
                clear_href={url::with_qs("/spans", &url::spans_qs(&SpanQuery { window: q.window.clone(), ..SpanQuery::default() }))} />
        }
    } else {
        html! {
            <>
            <table class={classes!("list", "spans", (state.busy == Some(Mode::Replace)).then_some("stale"))} id="spans-table">
                <thead><tr>
                    <th class="col-time">{ "Start" }</th>
                    <th>{ "Service" }</th>
                    <th>{ "Span" }</th>
                    <th>{ "Kind" }</th>
                    <th class="col-dur">{ "Duration" }</th>
                    <th>{ "Status" }</th>
                    <th>{ "Trace" }</th>
                </tr></thead>
                <tbody>{ for items.iter().map(|r| span_row(r, nav.clone())) }</tbody>
            </table>
            <div class="list-foot">
                <span class="muted">{ format::counted(items.len(), "span", "spans") }</span>
                if state.page.next_cursor.is_some() {
                    <button class="btn" id="load-more" disabled={state.busy.is_some()} onclick={load_more.reform(|_| ())}>
                        { if state.busy == Some(Mode::More) { "Loading…" } else { "Load more" } }
                    </button>
                }
            </div>
            </>
        }
    };
    let kind = q.kind.map(SpanKind::as_str).unwrap_or_default();
    let status = q.status.map(StatusFilter::as_str).unwrap_or_default();
    html! {
        <section class="page" id="page-spans">
            <div class="page-head">
                <h1 class="page-title">{ "Spans" }</h1>
            </div>
            if let Some(e) = &view.error { <UrlNotice text={e.clone()} /> }
            <FilterBar {on_editing}>
                <TimeRange window={q.window.clone()} on_change={cb_window} />
                <TextFilter id="f-service" placeholder="Service" list="service-names" value={opt_text(&q.service)}
                    on_commit={text_cb(|q, v| q.service = v)} />
                <TextFilter id="f-name" placeholder="Span name (exact)" value={opt_text(&q.name)}
                    on_commit={text_cb(|q, v| q.name = v)} />
                <select id="f-kind" onchange={on_kind} title="Span kind">
                    <option value="" selected={kind.is_empty()}>{ "Any kind" }</option>
                    { for SpanKind::ALL.iter().map(|k| html! { <option value={k.as_str()} selected={kind == k.as_str()}>{ k.as_str() }</option> }) }
                </select>
                <select id="f-status" onchange={on_status} title="Status">
                    <option value="" selected={status.is_empty()}>{ "Any status" }</option>
                    <option value="error" selected={status == "error"}>{ "error" }</option>
                    <option value="ok" selected={status == "ok"}>{ "not error" }</option>
                    <option value="unset" selected={status == "unset"}>{ "unset" }</option>
                </select>
                <DurationFilter id="f-min" placeholder="Min duration" value={q.min_duration} on_change={on_min} />
                <DurationFilter id="f-max" placeholder="Max duration" value={q.max_duration} on_change={on_max} />
                <TextFilter id="f-attrs" classes="wide" placeholder="Attributes key=value …" value={attrs_text(&q.attrs)} on_commit={on_attrs} />
                <TextFilter id="f-trace" placeholder="Trace id" value={q.trace_id.map(|t| t.to_hex()).unwrap_or_default()} on_commit={on_trace} />
                <Datalist id="service-names" options={services} />
            </FilterBar>
            { body }
        </section>
    }
}

fn span_row(r: &SpanRecord, nav: Option<Navigator>) -> Html {
    let s = &r.span;
    let href = url::trace_href(s.trace_id, Some(s.span_id));
    let onclick = {
        let href = href.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(nav) = &nav {
                navigate(nav, &href, true);
            }
        })
    };
    let err = s.status.code == StatusCode::Error;
    html! {
        <tr key={span_key(r)} class={classes!("row", err.then_some("has-error"))} data-span-id={s.span_id.to_hex()} {onclick}>
            <td class="col-time mono">{ date_time(s.start_time.0) }</td>
            <td><span class="svc-dot" style={format!("background:{}", service_color(&r.service))}></span>{ r.service.clone() }</td>
            <td><AppLink href={href} classes="op">{ s.name.clone() }</AppLink></td>
            <td class="muted">{ s.kind.as_str() }</td>
            <td class="col-dur mono">{ format::duration(s.duration_nanos()) }</td>
            <td class={classes!(err.then_some("err"))}>{ if err { "error" } else if s.status.code == StatusCode::Ok { "ok" } else { "—" } }</td>
            <td class="mono" onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                <AppLink href={url::trace_href(s.trace_id, None)} classes="trace-link">{ format!("{}…", &s.trace_id.to_hex()[..8]) }</AppLink>
                <CopyButton text={s.trace_id.to_hex()} icon=true classes="icon" />
            </td>
        </tr>
    }
}

#[derive(Properties, PartialEq)]
pub struct SpanLookupProps {
    pub id: AttrValue,
}

/// Finds the trace of a span id and replaces the URL with the trace view.
#[function_component(SpanLookup)]
pub fn span_lookup(props: &SpanLookupProps) -> Html {
    let nav = use_navigator();
    let result = use_state(|| None::<Result<(), ApiError>>);
    let span = SpanId::from_hex(&props.id).ok();
    {
        let result = result.clone();
        use_effect_with(span, move |&span| {
            if let Some(span) = span {
                wasm_bindgen_futures::spawn_local(async move {
                    let q = SpanQuery {
                        window: url::all_time(),
                        span_id: Some(span),
                        limit: Some(1),
                        ..SpanQuery::default()
                    };
                    match api::spans(&q).await {
                        Ok(r) => match r.spans.first() {
                            Some(rec) => {
                                if let Some(nav) = &nav {
                                    navigate(
                                        nav,
                                        &url::trace_href(rec.span.trace_id, Some(span)),
                                        false,
                                    );
                                }
                                result.set(Some(Ok(())));
                            }
                            None => result.set(Some(Err(ApiError::Status {
                                status: 404,
                                message: format!("no stored span has id {span}"),
                            }))),
                        },
                        Err(e) => result.set(Some(Err(e))),
                    }
                });
            }
        });
    }
    html! {
        <section class="page" id="page-span-lookup">
            <div class="crumbs"><AppLink href="/spans">{ "← Spans" }</AppLink></div>
            { match (span, &*result) {
                (None, _) => html! { <div class="error-box" role="alert">{ format!("{:?} is not a span id (16 hexadecimal digits).", props.id.as_str()) }</div> },
                (_, Some(Err(e))) => html! { <ErrorBox error={e.clone()} what="the span" /> },
                _ => html! { <Loading /> },
            } }
        </section>
    }
}
