//! The Logs view: time range, minimum severity, service, full-text search,
//! trace id and attributes; newest first, paged, refreshed in place (not
//! while a row is open or a filter is being edited).

use std::collections::HashSet;
use std::rc::Rc;

use shared::TraceId;
use shared::api::LogEntry;
use shared::logs::Severity;
use shared::query::{LogQuery, TimeWindow};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::app::{AppLink, navigate};
use crate::components::filters::{
    Datalist, FilterBar, attrs_text, non_empty, opt_text, parse_attrs, use_service_names,
};
use crate::components::log_table::{LogTable, log_key};
use crate::components::status::{EmptyState, ErrorBox, Loading, UrlNotice};
use crate::components::text_filter::TextFilter;
use crate::components::time_range::TimeRange;
use crate::format;
use crate::hooks::use_list::{Fetch, ListHandle, Mode, use_list};
use crate::refresh::PauseReason;
use crate::url;

const PAGE: usize = 100;

const LEVELS: [(Severity, &str); 6] = [
    (Severity::Trace, "trace"),
    (Severity::Debug, "debug"),
    (Severity::Info, "info"),
    (Severity::Warn, "warn"),
    (Severity::Error, "error"),
    (Severity::Fatal, "fatal"),
];

fn fetch() -> Fetch<LogQuery, LogEntry> {
    |q, cursor| {
        Box::pin(async move {
            let q = LogQuery {
                limit: Some(PAGE),
                cursor,
                ..q
            };
            api::logs(&q).await.map(|r| (r.logs, r.next_cursor))
        })
    }
}

#[function_component(LogsPage)]
pub fn logs_page() -> Html {
    let location = use_location();
    let nav = use_navigator();
    let qs = location
        .as_ref()
        .map(|l| l.query_str().trim_start_matches('?').to_owned())
        .unwrap_or_default();
    let view = use_memo(qs, |qs| url::logs_view(qs));
    let q = view.value.clone();
    let editing = use_state(|| false);
    let expanded = use_state(|| Rc::new(HashSet::<String>::new()));
    let services = use_service_names();
    let paused = if *editing {
        Some(PauseReason::Editing)
    } else if !expanded.is_empty() {
        Some(PauseReason::DetailOpen)
    } else if q.q.is_some() {
        Some(PauseReason::Search)
    } else {
        None
    };
    let ListHandle { state, load_more } = use_list(q.clone(), fetch(), log_key, paused);

    let set = {
        let q = q.clone();
        let nav = nav.clone();
        Rc::new(move |f: &dyn Fn(&mut LogQuery)| {
            let mut next = q.clone();
            f(&mut next);
            if let Some(nav) = &nav {
                navigate(nav, &url::with_qs("/logs", &url::logs_qs(&next)), false);
            }
        })
    };
    let cb_window = {
        let set = set.clone();
        Callback::from(move |w: TimeWindow| set(&|q| q.window = w.clone()))
    };
    let text_cb = |f: fn(&mut LogQuery, Option<String>)| {
        let set = set.clone();
        Callback::from(move |v: String| set(&|q| f(q, non_empty(v.clone()))))
    };
    let on_sev = {
        let set = set.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let n = v.parse::<i32>().ok();
            set(&|q| q.severity_min = n);
        })
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
    let on_toggle = {
        let expanded = expanded.clone();
        Callback::from(move |k: String| {
            let mut e = (**expanded).clone();
            if !e.remove(&k) {
                e.insert(k);
            }
            expanded.set(Rc::new(e));
        })
    };
    let on_editing = {
        let editing = editing.clone();
        Callback::from(move |b: bool| editing.set(b))
    };
    let collapse_all = {
        let expanded = expanded.clone();
        Callback::from(move |_: MouseEvent| expanded.set(Rc::new(HashSet::new())))
    };

    let entries = use_memo(state.page.items.clone(), |i| Rc::new(i.clone()));
    let items = &state.page.items;
    let body = if !state.loaded && items.is_empty() {
        match &state.error {
            Some(e) => html! { <ErrorBox error={e.clone()} what="logs" /> },
            None => html! { <Loading /> },
        }
    } else if let (Some(e), true) = (&state.error, items.is_empty()) {
        html! { <ErrorBox error={e.clone()} what="logs" /> }
    } else if items.is_empty() {
        html! {
            <EmptyState id="logs-empty" what="logs"
                filtered={q != LogQuery { window: q.window.clone(), ..LogQuery::default() }}
                clear_href={url::with_qs("/logs", &url::logs_qs(&LogQuery { window: q.window.clone(), ..LogQuery::default() }))} />
        }
    } else {
        html! {
            <>
            <div class={classes!((state.busy == Some(Mode::Replace)).then_some("stale"))}>
                <LogTable entries={(*entries).clone()} expanded={(*expanded).clone()} on_toggle={on_toggle} id="logs-table" />
            </div>
            <div class="list-foot">
                <span class="muted">{ format::counted(items.len(), "log", "logs") }</span>
                if state.page.next_cursor.is_some() {
                    <button class="btn" id="load-more" disabled={state.busy.is_some()} onclick={load_more.reform(|_| ())}>
                        { if state.busy == Some(Mode::More) { "Loading…" } else { "Load more" } }
                    </button>
                }
            </div>
            </>
        }
    };
    let sev = q.severity_min.map(|n| n.to_string()).unwrap_or_default();
    html! {
        <section class="page" id="page-logs">
            <div class="page-head">
                <h1 class="page-title">{ "Logs" }</h1>
                if !expanded.is_empty() {
                    <button class="btn small ghost" onclick={collapse_all}>{ "Close all" }</button>
                }
            </div>
            if let Some(e) = &view.error { <UrlNotice text={e.clone()} /> }
            <FilterBar {on_editing}>
                <TimeRange window={q.window.clone()} on_change={cb_window} />
                <select id="f-severity" onchange={on_sev} title="Minimum severity">
                    <option value="" selected={sev.is_empty()}>{ "Any severity" }</option>
                    { for LEVELS.iter().map(|(s, label)| {
                        let v = s.min_number().to_string();
                        html! { <option value={v.clone()} selected={sev == v}>{ format!("≥ {label}") }</option> }
                    }) }
                </select>
                <TextFilter id="f-service" placeholder="Service" list="service-names" value={opt_text(&q.service)}
                    on_commit={text_cb(|q, v| q.service = v)} />
                <TextFilter id="f-q" classes="wide" placeholder="Search message words" value={opt_text(&q.q)}
                    on_commit={text_cb(|q, v| q.q = v)} />
                <TextFilter id="f-trace" placeholder="Trace id" value={q.trace_id.map(|t| t.to_hex()).unwrap_or_default()} on_commit={on_trace} />
                <TextFilter id="f-attrs" placeholder="Attributes key=value …" value={attrs_text(&q.attrs)} on_commit={on_attrs} />
                <Datalist id="service-names" options={services} />
            </FilterBar>
            if let Some(t) = q.trace_id {
                <div class="notice">{ "Logs of trace " }<AppLink href={url::trace_href(t, None)} classes="mono">{ t.to_hex() }</AppLink></div>
            }
            { body }
        </section>
    }
}
