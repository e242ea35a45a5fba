//! The Traces view: trace search (time range, service, operation, errors
//! only, durations, attributes, free text; on any span of a trace, or on
//! its root span only), newest first, paged by cursor, refreshed in place.
//! A row opens the trace.

use shared::api::TraceSummary;
use shared::query::{StatusFilter, TimeWindow, TraceQuery};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::app::{AppLink, navigate};
use crate::browser::date_time;
use crate::components::filters::{
    Datalist, DurationFilter, FilterBar, attrs_text, non_empty, opt_text, parse_attrs,
    use_service_names,
};
use crate::components::status::{EmptyState, ErrorBox, Loading, UrlNotice};
use crate::components::text_filter::TextFilter;
use crate::components::time_range::TimeRange;
use crate::format;
use crate::hooks::use_list::{Fetch, ListHandle, Mode, use_list};
use crate::refresh::PauseReason;
use crate::url;

const PAGE: usize = 50;

fn fetch() -> Fetch<TraceQuery, TraceSummary> {
    |q, cursor| {
        Box::pin(async move {
            let q = TraceQuery {
                limit: Some(PAGE),
                cursor,
                ..q
            };
            api::traces(&q).await.map(|r| (r.traces, r.next_cursor))
        })
    }
}

#[function_component(TracesPage)]
pub fn traces_page() -> Html {
    let location = use_location();
    let nav = use_navigator();
    let qs = location
        .as_ref()
        .map(|l| l.query_str().trim_start_matches('?').to_owned())
        .unwrap_or_default();
    let view = use_memo(qs, |qs| url::traces_view(qs));
    let q = view.value.clone();
    let editing = use_state(|| false);
    let services = use_service_names();
    let paused = if *editing {
        Some(PauseReason::Editing)
    } else if q.q.is_some() {
        Some(PauseReason::Search)
    } else {
        None
    };
    let ListHandle { state, load_more } = use_list(
        q.clone(),
        fetch(),
        |t: &TraceSummary| t.trace_id.to_hex(),
        paused,
    );

    // Every filter edit replaces the URL; the list follows the URL.
    let set = {
        let q = q.clone();
        let nav = nav.clone();
        move |f: &dyn Fn(&mut TraceQuery)| {
            let mut next = q.clone();
            f(&mut next);
            if let Some(nav) = &nav {
                navigate(nav, &url::with_qs("/traces", &url::traces_qs(&next)), false);
            }
        }
    };
    let set = std::rc::Rc::new(set);
    let cb_window = {
        let set = set.clone();
        Callback::from(move |w: TimeWindow| set(&|q| q.window = w.clone()))
    };
    let text_cb = |f: fn(&mut TraceQuery, Option<String>)| {
        let set = set.clone();
        Callback::from(move |v: String| set(&|q| f(q, non_empty(v.clone()))))
    };
    let on_errors = {
        let set = set.clone();
        Callback::from(move |e: Event| {
            let on = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .checked();
            set(&|q| q.status = on.then_some(StatusFilter::Error));
        })
    };
    let on_root_only = {
        let set = set.clone();
        Callback::from(move |e: Event| {
            let on = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .checked();
            set(&|q| q.root_only = on);
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
    let on_editing = {
        let editing = editing.clone();
        Callback::from(move |b: bool| editing.set(b))
    };
    let clear = {
        let nav = nav.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(nav) = &nav {
                navigate(nav, "/traces", false);
            }
        })
    };

    let items = &state.page.items;
    let max_dur = items.iter().map(|t| t.duration.0).max().unwrap_or(1).max(1);
    let body = if !state.loaded && items.is_empty() {
        match &state.error {
            Some(e) => html! { <ErrorBox error={e.clone()} what="traces" /> },
            None => html! { <Loading /> },
        }
    } else if let (Some(e), true) = (&state.error, items.is_empty()) {
        html! { <ErrorBox error={e.clone()} what="traces" /> }
    } else if items.is_empty() {
        html! {
            <EmptyState id="traces-empty" what="traces"
                filtered={q != TraceQuery { window: q.window.clone(), ..TraceQuery::default() }}
                clear_href={url::with_qs("/traces", &url::traces_qs(&TraceQuery { window: q.window.clone(), ..TraceQuery::default() }))} />
        }
    } else {
        html! {
            <>
            if let Some(e) = &state.error { <ErrorBox error={e.clone()} what="the newest traces" /> }
            <table class={classes!("list", "traces", (state.busy == Some(Mode::Replace)).then_some("stale"))} id="traces-table">
                <thead><tr>
                    <th class="col-time">{ "Start" }</th>
                    <th>{ "Root" }</th>
                    <th class="col-dur">{ "Duration" }</th>
                    <th class="num">{ "Spans" }</th>
                    <th class="num">{ "Errors" }</th>
                    <th>{ "Services" }</th>
                    <th class="num">{ "Logs" }</th>
                </tr></thead>
                <tbody>
                    { for items.iter().map(|t| trace_row(t, max_dur, nav.clone())) }
                </tbody>
            </table>
            <div class="list-foot">
                <span class="muted">{ format::counted(items.len(), "trace", "traces") }</span>
                if state.page.next_cursor.is_some() {
                    <button class="btn" id="load-more" disabled={state.busy.is_some()}
                        onclick={load_more.reform(|_| ())}>
                        { if state.busy == Some(Mode::More) { "Loading…" } else { "Load more" } }
                    </button>
                }
            </div>
            </>
        }
    };

    html! {
        <section class="page" id="page-traces">
            <div class="page-head">
                <h1 class="page-title">{ "Traces" }</h1>
                if state.busy == Some(Mode::Refresh) { <span class="pill muted">{ "refreshing" }</span> }
            </div>
            if let Some(e) = &view.error { <UrlNotice text={e.clone()} /> }
            <FilterBar {on_editing}>
                <TimeRange window={q.window.clone()} on_change={cb_window} />
                <TextFilter id="f-service" placeholder="Service" list="service-names" value={opt_text(&q.service)}
                    on_commit={text_cb(|q, v| q.service = v)} />
                <TextFilter id="f-operation" placeholder="Operation" value={opt_text(&q.operation)}
                    on_commit={text_cb(|q, v| q.operation = v)} />
                <DurationFilter id="f-min" placeholder="Min duration" value={q.min_duration} on_change={on_min} />
                <DurationFilter id="f-max" placeholder="Max duration" value={q.max_duration} on_change={on_max} />
                <TextFilter id="f-attrs" classes="wide" placeholder="Attributes key=value …" value={attrs_text(&q.attrs)}
                    on_commit={on_attrs} />
                <TextFilter id="f-q" classes="wide" placeholder="Search: trace id, span or service name" value={opt_text(&q.q)}
                    on_commit={text_cb(|q, v| q.q = v)} />
                <label class="check"><input type="checkbox" id="f-errors" checked={q.status == Some(StatusFilter::Error)}
                    onchange={on_errors} />{ "Errors only" }</label>
                <label class="check" title="Match service, operation and search text against the root span only (else any span of the trace)">
                    <input type="checkbox" id="f-root-only" checked={q.root_only} onchange={on_root_only} />{ "Root span only" }</label>
                <button class="btn small ghost" onclick={clear}>{ "Clear" }</button>
                <Datalist id="service-names" options={services} />
            </FilterBar>
            { body }
        </section>
    }
}

fn trace_row(t: &TraceSummary, max_dur: u64, nav: Option<Navigator>) -> Html {
    let href = url::trace_href(t.trace_id, None);
    let onclick = {
        let href = href.clone();
        Callback::from(move |e: MouseEvent| {
            if e.ctrl_key() || e.meta_key() {
                return;
            }
            if let Some(nav) = &nav {
                navigate(nav, &href, true);
            }
        })
    };
    let pct = t.duration.0 as f64 / max_dur as f64 * 100.0;
    html! {
        <tr key={t.trace_id.to_hex()} class={classes!("row", (t.error_count > 0).then_some("has-error"))}
            data-trace-id={t.trace_id.to_hex()} {onclick}>
            <td class="col-time mono">{ date_time(t.start_time.0) }</td>
            <td class="root">
                <span class="svc">{ t.root_service.clone() }</span>
                <AppLink href={href} classes="op">{ t.root_name.clone() }</AppLink>
                if !t.root_is_real { <span class="tag" title="No span without a parent arrived; the earliest span is shown">{ "no root" }</span> }
            </td>
            <td class="col-dur">
                <div class="dur-cell">
                    <span class="mono">{ format::duration(t.duration.0) }</span>
                    <span class="dur-bar"><span style={format!("width:{pct:.1}%")}></span></span>
                </div>
            </td>
            <td class="num">{ t.span_count }</td>
            <td class={classes!("num", (t.error_count > 0).then_some("err"))}>{ t.error_count }</td>
            <td class="chips">{ for t.services.iter().take(6).map(|s| html! { <span class="chip">{ s.clone() }</span> }) }
                if t.services.len() > 6 { <span class="muted">{ format!("+{}", t.services.len() - 6) }</span> }
            </td>
            <td class="num">{ t.log_count }</td>
        </tr>
    }
}
