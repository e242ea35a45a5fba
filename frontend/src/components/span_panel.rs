//! The selected span: what it is, its ids (copyable), attributes, events
//! (exception stack traces preformatted), links (to the linked trace and
//! span), resource and scope.

use shared::api::SpanRecord;
use shared::trace::{Resource, Scope, StatusCode};
use shared::value::find;
use shared::{SpanId, TraceId};
use yew::prelude::*;

use crate::app::AppLink;
use crate::browser::{absolute, date_time};
use crate::components::attributes::Attributes;
use crate::components::copy_button::{CopyButton, CopyId};
use crate::format;
use crate::palette::service_color;
use crate::url;

#[derive(Properties, PartialEq)]
pub struct SpanPanelProps {
    pub record: SpanRecord,
    pub resource: Resource,
    pub scope: Scope,
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
    let s = &props.record.span;
    let trace: TraceId = s.trace_id;
    let link = absolute(&url::trace_href(trace, Some(s.span_id)));
    let error = s.status.code == StatusCode::Error;
    let status = match s.status.code {
        StatusCode::Unset => "unset",
        StatusCode::Ok => "ok",
        StatusCode::Error => "error",
    };
    let parent = s.parent_span_id.filter(|p| !p.is_zero());
    let close = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <aside class="panel span-panel" id="span-panel" aria-label="Span details">
            <div class="panel-head">
                <div>
                    <div class="panel-title" id="span-title">{ s.name.clone() }</div>
                    <div class="muted small">
                        <span class="svc-dot" style={format!("background:{}", service_color(&props.record.service))}></span>
                        { props.record.service.clone() }{ " · " }{ s.kind.as_str() }
                    </div>
                </div>
                <button type="button" class="btn small ghost" onclick={close} title="Close (Esc)">{ "✕" }</button>
            </div>
            <dl class="facts">
                <dt>{ "Duration" }</dt><dd class="mono" id="span-duration">{ format::duration(s.duration_nanos()) }</dd>
                <dt>{ "Start" }</dt>
                <dd class="mono">{ format!("+{} · {}", format::duration(s.start_time.0.saturating_sub(props.trace_start)), date_time(s.start_time.0)) }</dd>
                <dt>{ "Status" }</dt>
                <dd class={classes!(error.then_some("err"))} id="span-status">
                    { status }
                    if !s.status.message.is_empty() { { format!(": {}", s.status.message) } }
                </dd>
                <dt>{ "Span id" }</dt><dd><CopyId id_text={s.span_id.to_hex()} /></dd>
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
                <summary>{ format!("Resource ({})", props.resource.attributes.len()) }</summary>
                <Attributes attrs={props.resource.attributes.clone()} />
            </details>
            <details>
                <summary>{ "Scope" }</summary>
                <div class="mono small">{ format!("{} {}", props.scope.name, props.scope.version) }</div>
                <Attributes attrs={props.scope.attributes.clone()} empty="no attributes" />
            </details>
        </aside>
    }
}
