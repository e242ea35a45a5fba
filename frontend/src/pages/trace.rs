//! The trace view: header (ids, counts, copy link, OTLP/JSON download), the
//! per-trace service map, the waterfall with search, noise toggle and
//! keyboard navigation, the selected span's panel, and the trace's logs.
//! Selection, search, the noise toggle and collapsed subtrees live in the URL.
//!
//! The view draws from the trace's outline (`/api/traces/{id}/outline`:
//! tree, times, names, errors), an eighth of the whole trace's size, so a
//! 10,000-span trace shows within a few hundred milliseconds; the selected
//! span's attributes, events and links are fetched when it is selected.
//!
//! The path may hold a short id (8 or more leading hex digits, as lists
//! show ids): the server resolves it, and the URL is replaced with the whole
//! id once the outline arrives; when several traces start with those digits
//! the page lists them.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use shared::api::{LogEntry, TraceOutline};
use shared::layout::service_map::{layout_map, service_map};
use shared::layout::waterfall::{LayoutOptions, SpanNode, TraceTree, is_noise, layout, search};
use shared::query::{LogQuery, SpanQuery};
use shared::{SpanId, TraceId, TraceIdRef};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::app::{AppLink, navigate};
use crate::browser::{absolute, date_time};
use crate::components::copy_button::{CopyButton, CopyId};
use crate::components::log_table::LogTable;
use crate::components::service_map::ServiceMapView;
use crate::components::span_panel::{SpanDetails, SpanPanel};
use crate::components::status::{ErrorBox, Loading};
use crate::components::text_filter::TextFilter;
use crate::components::waterfall::Waterfall;
use crate::format;
use crate::hooks::use_poll::use_poll;
use crate::refresh::PauseReason;
use crate::shared_ref::Shared;
use crate::url::{self, TraceView};

#[derive(Properties, PartialEq)]
pub struct TraceProps {
    pub id: AttrValue,
}

/// A span of a trace.
type SpanKey = (TraceId, SpanId);

/// The fetched details of the spans selected so far.
#[derive(Default, PartialEq)]
struct DetailCache(HashMap<SpanKey, Option<Result<Rc<SpanDetails>, ApiError>>>);

enum DetailAction {
    /// A fetch began (`None` until it ends).
    Began(SpanKey),
    Done(SpanKey, Result<Rc<SpanDetails>, ApiError>),
}

impl Reducible for DetailCache {
    type Action = DetailAction;

    fn reduce(self: Rc<Self>, action: DetailAction) -> Rc<Self> {
        let mut map = self.0.clone();
        match action {
            DetailAction::Began(id) => map.insert(id, None),
            DetailAction::Done(id, r) => map.insert(id, Some(r)),
        };
        Rc::new(DetailCache(map))
    }
}

/// `GET /api/spans?trace_id&span_id`: one span with its resource and scope.
async fn fetch_details(trace: TraceId, span: SpanId) -> Result<Rc<SpanDetails>, ApiError> {
    let q = SpanQuery {
        trace_id: Some(trace),
        span_id: Some(span),
        limit: Some(1),
        ..SpanQuery::default()
    };
    let r = api::spans(&q).await?;
    SpanDetails::from_response(r)
        .map(Rc::new)
        .ok_or_else(|| ApiError::Status {
            status: 404,
            message: format!("span {span} is no longer stored"),
        })
}

/// How many leaf spans the noise rule hides.
fn noise_count(tree: &TraceTree) -> usize {
    tree.spans()
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            !tree.is_duplicate(*i)
                && tree.children(*i).is_empty()
                && is_noise(s, tree.parent(*i).and_then(|p| tree.span(p)))
        })
        .count()
}

#[function_component(TracePage)]
pub fn trace_page(props: &TraceProps) -> Html {
    match TraceIdRef::parse(&props.id) {
        Ok(id) => html! { <TraceLoaded {id} /> },
        Err(e) => html! {
            <section class="page" id="page-trace">
                <div class="error-box" role="alert">
                    <strong>{ "Not a trace id" }</strong>
                    <div>{ format!("{:?}: {e}.", props.id.as_str()) }</div>
                </div>
            </section>
        },
    }
}

#[derive(Properties, PartialEq)]
struct LoadedProps {
    /// The whole id, or a prefix the server resolves.
    id: TraceIdRef,
}

/// The traces a short id may mean, each a link keeping the view's state.
fn candidate_list(candidates: &[TraceId], view: &TraceView) -> Html {
    html! {
        <ul class="candidates" id="trace-candidates">
            { for candidates.iter().map(|c| {
                let href = url::with_qs(&format!("/traces/{c}"), &url::trace_qs(view));
                html! { <li class="mono"><AppLink {href}>{ c.to_hex() }</AppLink></li> }
            }) }
        </ul>
    }
}

#[function_component(TraceLoaded)]
fn trace_loaded(props: &LoadedProps) -> Html {
    let id = props.id.clone();
    let location = use_location();
    let nav = use_navigator();
    let qs = location
        .as_ref()
        .map(|l| l.query_str().trim_start_matches('?').to_owned())
        .unwrap_or_default();
    let view = (*use_memo(qs, |qs| url::trace_view(qs))).clone();

    let outline = use_state(|| None::<Result<Shared<TraceOutline>, ApiError>>);
    let logs = use_state(|| None::<Result<Rc<Vec<LogEntry>>, ApiError>>);
    // A trace never polls; the refresh button reloads it in place.
    let busy = use_state(|| false);
    let tick = use_poll(Some(PauseReason::TraceOpen), *busy);
    // The whole id: the path's, or the one the server resolved a prefix to.
    let trace_id: Option<TraceId> = match &id {
        TraceIdRef::Full(t) => Some(*t),
        TraceIdRef::Prefix(_) => outline
            .as_ref()
            .and_then(|o| o.as_ref().ok())
            .map(|o| o.summary.trace_id),
    };
    {
        let outline = outline.clone();
        let logs = logs.clone();
        let busy = busy.clone();
        let nav = nav.clone();
        let qs = location
            .as_ref()
            .map(|l| l.query_str().trim_start_matches('?').to_owned())
            .unwrap_or_default();
        let shown = use_mut_ref(|| None::<TraceIdRef>);
        // The trace and tick the outline state holds, so the URL replaced
        // after a prefix resolved does not fetch the trace again.
        let fetched = use_mut_ref(|| None::<(TraceId, u32)>);
        use_effect_with((id.clone(), tick), move |(id, tick)| {
            let tick = *tick;
            if let TraceIdRef::Full(t) = id
                && *fetched.borrow() == Some((*t, tick))
            {
                return;
            }
            if shown.borrow().as_ref() != Some(id) {
                outline.set(None);
                logs.set(None);
                *shown.borrow_mut() = Some(id.clone());
            }
            busy.set(true);
            let id = id.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let got = api::trace_outline(&id).await.map(Shared::new);
                let full = got.as_ref().ok().map(|o| o.summary.trace_id);
                *fetched.borrow_mut() = full.map(|t| (t, tick));
                outline.set(Some(got));
                let Some(full) = full else {
                    busy.set(false);
                    return;
                };
                if matches!(id, TraceIdRef::Prefix(_)) {
                    *shown.borrow_mut() = Some(TraceIdRef::Full(full));
                    if let Some(nav) = &nav {
                        navigate(nav, &url::with_qs(&format!("/traces/{full}"), &qs), false);
                    }
                }
                let q = LogQuery {
                    window: url::all_time(),
                    trace_id: Some(full),
                    limit: Some(200),
                    ..LogQuery::default()
                };
                logs.set(Some(api::logs(&q).await.map(|r| Rc::new(r.logs))));
                busy.set(false);
            });
        });
    }

    let tree = use_memo(
        outline.as_ref().and_then(|o| o.as_ref().ok()).cloned(),
        |o| {
            let nodes = o.as_deref().map(SpanNode::all_from_outline);
            Shared::new(TraceTree::new(nodes.unwrap_or_default()))
        },
    );
    let tree: Shared<TraceTree> = (*tree).clone();
    let rows = {
        let key = (tree.clone(), view.collapsed.clone(), view.show_noise);
        (*use_memo(key, |(tree, collapsed, show_noise)| {
            Shared::new(layout(
                tree,
                &LayoutOptions {
                    collapsed: collapsed.iter().copied().collect(),
                    hide_noise: !show_noise,
                },
            ))
        }))
        .clone()
    };
    let (hits, matches) = (*use_memo((tree.clone(), view.find.clone()), |(t, f)| {
        let hits = search(t, f);
        let set: HashSet<SpanId> = hits.iter().copied().collect();
        (Shared::new(hits), Shared::new(set))
    }))
    .clone();
    let map = use_memo(tree.clone(), |t| {
        let m = service_map(t);
        let l = layout_map(&m);
        (m, l)
    });
    let hidden_noise = use_memo(tree.clone(), |t| noise_count(t));
    let current_match = use_state(|| None::<SpanId>);

    // The selected span's details.
    let details = use_reducer(DetailCache::default);
    {
        let details = details.clone();
        // Fetched once per span; a failed fetch is tried again when the span
        // is selected again or on the refresh button.
        use_effect_with((trace_id, view.span, tick), move |&(trace, span, _)| {
            let Some(trace) = trace else {
                return;
            };
            let wanted =
                |s: &SpanId| matches!(details.0.get(&(trace, *s)), None | Some(Some(Err(_))));
            if let Some(span) = span.filter(wanted) {
                details.dispatch(DetailAction::Began((trace, span)));
                let details = details.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let r = fetch_details(trace, span).await;
                    details.dispatch(DetailAction::Done((trace, span), r));
                });
            }
        });
    }

    let go = {
        let nav = nav.clone();
        let view = view.clone();
        Rc::new(move |f: &dyn Fn(&mut TraceView), push: bool| {
            let mut next = view.clone();
            f(&mut next);
            if let (Some(nav), Some(trace_id)) = (&nav, trace_id) {
                let path = format!("/traces/{trace_id}");
                navigate(nav, &url::with_qs(&path, &url::trace_qs(&next)), push);
            }
        })
    };
    // Selecting a span expands its collapsed ancestors (one URL change).
    let select = {
        let tree = tree.clone();
        Rc::new(move |v: &mut TraceView, id: SpanId| {
            v.span = Some(id);
            if let Some(i) = tree.index_of(id) {
                for a in tree.ancestors(i) {
                    if let Some(s) = tree.span(a) {
                        v.collapsed.remove(&s.span_id);
                    }
                }
            }
        })
    };
    let on_select = {
        let go = go.clone();
        let select = select.clone();
        Callback::from(move |(id, push): (SpanId, bool)| go(&|v| select(v, id), push))
    };
    // Collapsing is a view edit, like a filter: it replaces the history entry.
    let on_toggle = {
        let go = go.clone();
        Callback::from(move |id: SpanId| {
            go(
                &|v| {
                    if !v.collapsed.remove(&id) {
                        v.collapsed.insert(id);
                    }
                },
                false,
            )
        })
    };
    let on_find = {
        let go = go.clone();
        let current_match = current_match.clone();
        Callback::from(move |v: String| {
            current_match.set(None);
            go(&|t| t.find = v.trim().to_owned(), false);
        })
    };
    let jump = {
        let hits = hits.clone();
        let current_match = current_match.clone();
        let go = go.clone();
        let select = select.clone();
        Callback::from(move |step: isize| {
            if hits.is_empty() {
                return;
            }
            let n = hits.len() as isize;
            let pos = current_match
                .and_then(|c| hits.iter().position(|h| *h == c))
                .map_or(if step > 0 { 0 } else { n - 1 }, |p| {
                    (p as isize + step).rem_euclid(n)
                });
            let id = hits[pos as usize];
            current_match.set(Some(id));
            go(&|v| select(v, id), false);
        })
    };
    let toggle_noise = {
        let go = go.clone();
        Callback::from(move |_: Event| go(&|v| v.show_noise = !v.show_noise, false))
    };
    let close_panel = {
        let go = go.clone();
        Callback::from(move |()| go(&|v| v.span = None, true))
    };
    let expand_all = {
        let go = go.clone();
        Callback::from(move |_: MouseEvent| go(&|v| v.collapsed.clear(), false))
    };

    let d = match &*outline {
        None => {
            return html! { <section class="page" id="page-trace"><Loading /></section> };
        }
        Some(Err(ApiError::Ambiguous {
            message,
            candidates,
        })) => {
            return html! {
                <section class="page" id="page-trace">
                    <div class="crumbs"><AppLink href="/traces">{ "← Traces" }</AppLink></div>
                    <div class="error-box" role="alert" id="trace-ambiguous">
                        <strong>{ format!("Which trace is {id}?") }</strong>
                        <div class="error-message">{ message.clone() }</div>
                        { candidate_list(candidates, &view) }
                    </div>
                </section>
            };
        }
        Some(Err(e)) => {
            let (what, hint) = if e.is_not_found() {
                (
                    "this trace: it is not stored",
                    Some(html! { <>
                        { "Check the id. A trace still being sent shows once its first span is stored (↻ at the top right tries again); old traces are evicted to keep the database under its cap (" }
                        <AppLink href="/about">{ "see what is kept" }</AppLink>{ "). " }
                        <AppLink href="/traces">{ "Search the traces" }</AppLink>
                    </> }),
                )
            } else {
                ("the trace", None)
            };
            return html! {
                <section class="page" id="page-trace">
                    <div class="crumbs"><AppLink href="/traces">{ "← Traces" }</AppLink></div>
                    <ErrorBox error={e.clone()} what={what} {hint} />
                </section>
            };
        }
        Some(Ok(d)) => d.clone(),
    };
    let sum = &d.summary;
    let trace_id = sum.trace_id;
    let selected = view
        .span
        .and_then(|s| tree.index_of(s))
        .and_then(|i| tree.span(i));
    let link = absolute(&url::trace_href(trace_id, None));
    let issues = tree.issues();
    let n_hits = hits.len();
    let hit_pos = current_match.and_then(|c| hits.iter().position(|h| *h == c));

    let find_keys = {
        let jump = jump.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                jump.emit(if e.shift_key() { -1 } else { 1 });
            }
        })
    };
    let on_log = {
        let nav = nav.clone();
        Callback::from(move |_: usize| {
            if let Some(nav) = &nav {
                navigate(nav, &url::logs_of_trace_href(trace_id), true);
            }
        })
    };

    html! {
        <section class="page" id="page-trace">
            <div class="crumbs"><AppLink href="/traces">{ "← Traces" }</AppLink></div>
            <header class="trace-head">
                <div class="trace-title">
                    <h1 class="page-title" id="trace-root">
                        <span class="svc">{ sum.root_service.clone() }</span>{ " " }{ sum.root_name.clone() }
                    </h1>
                    <div class="trace-id"><span class="muted">{ "Trace " }</span><CopyId id_text={trace_id.to_hex()} /></div>
                </div>
                <dl class="stats" id="trace-stats">
                    <div><dt>{ "Start" }</dt><dd class="mono">{ date_time(sum.start_time.0) }</dd></div>
                    <div><dt>{ "Duration" }</dt><dd class="mono" id="trace-duration">{ format::duration(sum.duration.0) }</dd></div>
                    <div><dt>{ "Spans" }</dt><dd id="trace-spans">{ sum.span_count }</dd></div>
                    <div><dt>{ "Services" }</dt><dd id="trace-services">{ sum.services.len() }</dd></div>
                    <div><dt>{ "Errors" }</dt><dd id="trace-errors" class={classes!((sum.error_count > 0).then_some("err"))}>{ sum.error_count }</dd></div>
                    <div><dt>{ "Logs" }</dt><dd>{ sum.log_count }</dd></div>
                </dl>
                <div class="head-actions">
                    <CopyButton text={link} label="Copy link" id="copy-trace-link" title="Copy a link to this trace" />
                    <a class="btn small" id="download-otlp" href={api::trace_otlp_href(trace_id)}
                       download={format!("trace-{trace_id}.json")}>{ "Download OTLP/JSON" }</a>
                    <AppLink href={url::logs_of_trace_href(trace_id)} classes="btn small" id="open-logs">{ "Logs of this trace" }</AppLink>
                </div>
            </header>
            if issues.missing_parents + issues.duplicate_spans + issues.broken_cycles > 0 {
                <div class="notice" id="tree-issues">
                    { format!("Incomplete or inconsistent data: {} span(s) with a missing parent, {} duplicate span(s), {} parent cycle(s) cut.",
                        issues.missing_parents, issues.duplicate_spans, issues.broken_cycles) }
                </div>
            }
            <details class="card" open=true>
                <summary>{ "Service map" }</summary>
                <ServiceMapView id="trace-map" map={map.0.clone()} layout={map.1.clone()} />
            </details>
            <div class={classes!("trace-body", selected.is_some().then_some("with-panel"))}>
                <div class="trace-main">
                    <div class="wf-tools">
                        <TextFilter id="find" classes="wide" placeholder="Find in trace: span, service or span id" value={view.find.clone()} on_commit={on_find} />
                        <span onkeydown={find_keys} class="find-nav">
                            <button class="btn small" id="find-prev" disabled={n_hits == 0} onclick={jump.reform(|_: MouseEvent| -1)}>{ "↑" }</button>
                            <button class="btn small" id="find-next" disabled={n_hits == 0} onclick={jump.reform(|_: MouseEvent| 1)}>{ "↓" }</button>
                        </span>
                        <span class="muted small" id="find-count">
                            { if view.find.is_empty() { String::new() }
                              else if let Some(p) = hit_pos { format!("{} of {n_hits}", p + 1) }
                              else { format!("{n_hits} match{}", if n_hits == 1 { "" } else { "es" }) } }
                        </span>
                        <div class="spacer"></div>
                        <label class="check" title="Per-message 'http send'/'http receive' spans under server spans">
                            <input type="checkbox" id="hide-noise" checked={!view.show_noise} onchange={toggle_noise} />
                            { format!("Hide noisy spans ({})", *hidden_noise) }
                        </label>
                        if !view.collapsed.is_empty() { <button class="btn small ghost" id="expand-all" onclick={expand_all}>{ "Expand all" }</button> }
                        <span class="legend"><span class="crit-swatch"></span>{ "critical path" }</span>
                    </div>
                    <Waterfall tree={tree.clone()} rows={rows.clone()} selected={view.span} matches={matches}
                        current_match={*current_match} on_select={on_select.clone()} on_toggle={on_toggle} />
                    <section class="card trace-logs" id="trace-logs">
                        <h2 class="section-title">{ "Logs of this trace" }</h2>
                        { match &*logs {
                            None => html! { <Loading /> },
                            Some(Err(e)) => html! { <ErrorBox error={e.clone()} what="the trace's logs" /> },
                            Some(Ok(l)) if l.is_empty() => html! { <div class="muted small" id="trace-logs-empty">{ "No logs carry this trace id." }</div> },
                            Some(Ok(l)) => html! { <LogTable entries={l.clone()} in_trace=true on_row={on_log} id="trace-log-table" /> },
                        } }
                    </section>
                </div>
                if let Some(node) = selected {
                    <SpanPanel {trace_id} node={node.clone()}
                        details={details.0.get(&(trace_id, node.span_id)).cloned().flatten()}
                        trace_start={sum.start_time.0}
                        parent_known={node.parent_span_id.and_then(|p| tree.index_of(p)).is_some()}
                        on_select={on_select.reform(|id| (id, true))} on_close={close_panel} />
                }
            </div>
        </section>
    }
}
