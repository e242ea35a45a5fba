//! The selected span: what it is, its ids (copyable), attributes, events
//! (exception stack traces preformatted), links (to the linked trace and
//! span), resource and scope. The head comes from the trace's outline and
//! shows at once; the rest is fetched per span (`SpanDetails`).

use std::rc::Rc;

use shared::api::{SpanRecord, SpansResponse};
use shared::layout::waterfall::SpanNode;
use shared::trace::{Resource, Scope, StatusCode};
use shared::value::find;
use shared::{SpanId, TraceId};
use yew::prelude::*;

use crate::api::ApiError;
use crate::app::AppLink;
use crate::browser::{absolute, date_time};
use crate::components::attributes::Attributes;
use crate::components::copy_button::{CopyButton, CopyId};
use crate::components::status::{ErrorBox, Loading};
use crate::format;
use crate::palette::service_color;
use crate::url;

/// Everything stored about one span.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanDetails {
    pub record: SpanRecord,
    pub resource: Resource,
    pub scope: Scope,
}

impl SpanDetails {
    /// The first span of a `/api/spans` answer, with its resource and scope.
    pub fn from_response(r: SpansResponse) -> Option<Self> {
        let record = r.spans.into_iter().next()?;
        Some(SpanDetails {
            resource: r
                .resources
                .get(record.resource as usize)
                .cloned()
                .unwrap_or_default(),
            scope: r
                .scopes
                .get(record.scope as usize)
                .cloned()
                .unwrap_or_default(),
            record,
        })
    }
}

#[derive(Properties, PartialEq)]
pub struct SpanPanelProps {
    pub trace_id: TraceId,
    /// The span as the outline has it (the panel's head).
    pub node: SpanNode,
    /// The rest, once fetched.
    pub details: Option<Result<Rc<SpanDetails>, ApiError>>,
    /// The trace's start, for offsets.
    pub trace_start: u64,
    /// Whether the parent span is in the trace (else its id is shown as missing).
    pub parent_known: bool,
    /// Selects a span of the same trace (the parent link).
    pub on_select: Callback<SpanId>,
    pub on_close: Callback<()>,
}

#[function_component(SpanPanel)]
pub fn span_panel(props: &SpanPanelProps) -> Html {
    let n = &props.node;
    let trace = props.trace_id;
    let details = match &props.details {
        Some(Ok(d)) => Some(d.clone()),
        _ => None,
    };
    let state = match &props.details {
        None => "loading",
        Some(Ok(_)) => "loaded",
        Some(Err(_)) => "failed",
    };
    let link = absolute(&url::trace_href(trace, Some(n.span_id)));
    let code = details.as_ref().map(|d| d.record.span.status.code);
    let error = n.is_error;
    let status = match code {
        Some(StatusCode::Unset) => "unset",
        Some(StatusCode::Ok) => "ok",
        Some(StatusCode::Error) => "error",
        None if error => "error",
        None => "…",
    };
    let message = details
        .as_ref()
        .map(|d| d.record.span.status.message.clone())
        .unwrap_or_default();
    let parent = n.parent_span_id.filter(|p| !p.is_zero());
    let close = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <aside class="panel span-panel" id="span-panel" aria-label="Span details" data-details={state}>
            <div class="panel-head">
                <div>
                    <div class="panel-title" id="span-title">{ n.name.clone() }</div>
                    <div class="muted small">
                        <span class="svc-dot" style={format!("background:{}", service_color(&n.service))}></span>
                        { n.service.clone() }{ " · " }{ n.kind.as_str() }
                    </div>
                </div>
                <button type="button" class="btn small ghost" onclick={close} title="Close (Esc)">{ "✕" }</button>
            </div>
            <dl class="facts">
                <dt>{ "Duration" }</dt><dd class="mono" id="span-duration">{ format::duration(n.duration()) }</dd>
                <dt>{ "Start" }</dt>
                <dd class="mono">{ format!("+{} · {}", format::duration(n.start.saturating_sub(props.trace_start)), date_time(n.start)) }</dd>
                <dt>{ "Status" }</dt>
                <dd class={classes!(error.then_some("err"))} id="span-status">
                    { status }
                    if !message.is_empty() { { format!(": {message}") } }
                </dd>
                <dt>{ "Span id" }</dt><dd><CopyId id_text={n.span_id.to_hex()} /></dd>
                <dt>{ "Trace id" }</dt><dd><CopyId id_text={trace.to_hex()} /></dd>
                if let Some(p) = parent {
                    <dt>{ "Parent" }</dt>
                    <dd id="span-parent">
                        if props.parent_known {
                            <a href={url::trace_href(trace, Some(p))} class="mono" onclick={
                                let cb = props.on_select.clone();
                                Callback::from(move |e: MouseEvent| { e.prevent_default(); cb.emit(p); })
                            }>{ p.to_hex() }</a>
                        } else {
                            <code class="mono">{ p.to_hex() }</code>
                            <span class="muted small">{ " (not in this trace)" }</span>
                        }
                        <CopyButton text={p.to_hex()} icon=true classes="icon" />
                    </dd>
                }
            </dl>
            <div class="panel-actions">
                <CopyButton text={link} label="Copy link" id="copy-span-link" title="Copy a link to this span" />
            </div>
            { match (&props.details, details) {
                (_, Some(d)) => body(props, &d),
                (Some(Err(e)), _) => html! { <ErrorBox error={e.clone()} what="the span's attributes" /> },
                _ => html! { <Loading /> },
            } }
        </aside>
    }
}

/// Attributes, events, links, resource and scope.
fn body(props: &SpanPanelProps, d: &SpanDetails) -> Html {
    let s = &d.record.span;
    html! {
        <>
            <details open=true>
                <summary>{ format!("Attributes ({})", s.attributes.len()) }</summary>
                <Attributes attrs={s.attributes.clone()} />
            </details>
            if !s.events.is_empty() {
                <details open=true class="events">
                    <summary>{ format!("Events ({})", s.events.len()) }</summary>
                    { for s.events.iter().map(|ev| {
                        let is_exc = ev.name == "exception";
                        let text = |k: &str| find(&ev.attributes, k).map(crate::format::value_text);
                        let stack = text("exception.stacktrace");
                        let rest: Vec<_> = ev.attributes.iter()
                            .filter(|kv| !(is_exc && matches!(kv.key.as_str(), "exception.stacktrace" | "exception.type" | "exception.message")))
                            .cloned().collect();
                        html! {
                            <div class={classes!("event", is_exc.then_some("exception"))}>
                                <div class="event-head">
                                    <span class="mono muted">{ format!("+{}", format::duration(ev.time.0.saturating_sub(props.trace_start))) }</span>
                                    <strong>{ ev.name.clone() }</strong>
                                </div>
                                if is_exc {
                                    <div class="exc-title">
                                        { text("exception.type").unwrap_or_default() }
                                        if let Some(m) = text("exception.message") { { format!(": {m}") } }
                                    </div>
                                }
                                if let Some(st) = stack { <pre class="pre stacktrace">{ st }</pre> }
                                if !rest.is_empty() { <Attributes attrs={rest} /> }
                            </div>
                        }
                    }) }
                </details>
            }
            if !s.links.is_empty() {
                <details open=true>
                    <summary>{ format!("Links ({})", s.links.len()) }</summary>
                    { for s.links.iter().map(|l| html! {
                        <div class="link-item">
                            <AppLink href={url::trace_href(l.trace_id, Some(l.span_id))} classes="mono span-link">
                                { format!("{} / {}", l.trace_id, l.span_id) }
                            </AppLink>
                            <CopyButton text={l.trace_id.to_hex()} icon=true classes="icon" title="Copy the linked trace id" />
                            if !l.attributes.is_empty() { <Attributes attrs={l.attributes.clone()} /> }
                        </div>
                    }) }
                </details>
            }
            <details>
                <summary>{ format!("Resource ({})", d.resource.attributes.len()) }</summary>
                <Attributes attrs={d.resource.attributes.clone()} />
            </details>
            <details>
                <summary>{ "Scope" }</summary>
                <div class="mono small">{ format!("{} {}", d.scope.name, d.scope.version) }</div>
                <Attributes attrs={d.scope.attributes.clone()} empty="no attributes" />
            </details>
        </>
    }
}
