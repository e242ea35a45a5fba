//! Log records as rows: time, severity (coloured), service, body; a row
//! expands to attributes, resource and scope, with the trace and span ids
//! linking to the trace view and copyable.

use std::collections::HashSet;
use std::rc::Rc;

use shared::api::LogEntry;
use shared::logs::Severity;
use yew::prelude::*;

use crate::app::AppLink;
use crate::browser::date_time;
use crate::components::attributes::Attributes;
use crate::components::copy_button::CopyId;
use crate::url;

/// A key for a log row (logs have no id).
pub fn log_key(e: &LogEntry) -> String {
    let r = &e.record;
    let body = crate::format::value_text(&r.body);
    let head: String = body.chars().take(48).collect();
    format!(
        "{}-{}-{}-{}-{}",
        r.time.0,
        r.observed_time.0,
        r.span_id.map(|s| s.to_hex()).unwrap_or_default(),
        e.service,
        head
    )
}

/// The CSS class and label of a severity number.
pub fn severity(n: i32, text: &str) -> (&'static str, String) {
    let band = Severity::from_number(n);
    let class = match band {
        Severity::Unspecified => "sev-unspecified",
        Severity::Trace => "sev-trace",
        Severity::Debug => "sev-debug",
        Severity::Info => "sev-info",
        Severity::Warn => "sev-warn",
        Severity::Error => "sev-error",
        Severity::Fatal => "sev-fatal",
    };
    let label = if !text.is_empty() {
        text.to_uppercase()
    } else {
        match band {
            Severity::Unspecified => "—".into(),
            b => format!("{b:?}").to_uppercase(),
        }
    };
    (class, label)
}

#[derive(Properties, PartialEq)]
pub struct LogTableProps {
    pub entries: Rc<Vec<LogEntry>>,
    /// Keys of expanded rows; rows expand only when `on_toggle` is given.
    #[prop_or_default]
    pub expanded: Rc<HashSet<String>>,
    #[prop_or_default]
    pub on_toggle: Option<Callback<String>>,
    /// A click on a row (instead of expanding it).
    #[prop_or_default]
    pub on_row: Option<Callback<usize>>,
    #[prop_or_default]
    pub id: Option<AttrValue>,
    /// Hide the trace column (inside a trace).
    #[prop_or_default]
    pub in_trace: bool,
}

#[function_component(LogTable)]
pub fn log_table(props: &LogTableProps) -> Html {
    html! {
        <table class="list logs" id={props.id.clone()}>
            <thead><tr>
                <th class="col-time">{ "Time" }</th>
                <th class="col-sev">{ "Severity" }</th>
                <th class="col-svc">{ "Service" }</th>
                <th>{ "Message" }</th>
                if !props.in_trace { <th class="col-trace">{ "Trace" }</th> }
            </tr></thead>
            <tbody>
                { for props.entries.iter().enumerate().map(|(i, e)| row(props, i, e)) }
            </tbody>
        </table>
    }
}

fn row(props: &LogTableProps, i: usize, e: &LogEntry) -> Html {
    let r = &e.record;
    let key = log_key(e);
    let open = props.expanded.contains(&key);
    let (sev_class, sev_label) = severity(r.severity_number, &r.severity_text);
    let onclick = match (&props.on_row, &props.on_toggle) {
        (Some(cb), _) => Some(cb.reform(move |_: MouseEvent| i)),
        (None, Some(cb)) => {
            let key = key.clone();
            Some(cb.reform(move |_: MouseEvent| key.clone()))
        }
        _ => None,
    };
    let body = crate::format::value_text(&r.body);
    let cols = if props.in_trace { 4 } else { 5 };
    html! {
        <key={key.clone()}>
        <tr class={classes!("row", "log-row", sev_class, open.then_some("open"))} {onclick}
            data-trace-id={r.trace_id.map(|t| t.to_hex())} data-span-id={r.span_id.map(|s| s.to_hex())}>
            <td class="col-time mono">{ date_time(r.effective_time().0) }</td>
            <td class="col-sev"><span class={classes!("sev", sev_class)}>{ sev_label }</span></td>
            <td class="col-svc">{ e.service.clone() }</td>
            <td class="body mono">{ body.clone() }</td>
            if !props.in_trace {
                <td class="col-trace" onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                    if let Some(t) = r.trace_id {
                        <AppLink href={url::trace_href(t, r.span_id)} classes="mono trace-link" title="Open the trace">
                            { format!("{}…", &t.to_hex()[..8]) }
                        </AppLink>
                    }
                </td>
            }
        </tr>
        if open {
            <tr key={format!("{key}-detail")} class="log-detail">
                <td colspan={cols.to_string()}>
                    <div class="log-detail-grid">
                        <div>
                            <pre class="pre log-body">{ body }</pre>
                            <dl class="facts">
                                if let Some(t) = r.trace_id {
                                    <dt>{ "Trace id" }</dt>
                                    <dd>
                                        <AppLink href={url::trace_href(t, None)} classes="mono">{ t.to_hex() }</AppLink>
                                        <CopyId id_text={t.to_hex()} short=true />
                                    </dd>
                                }
                                if let Some(s) = r.span_id {
                                    <dt>{ "Span id" }</dt>
                                    <dd>
                                        if let Some(t) = r.trace_id {
                                            <AppLink href={url::trace_href(t, Some(s))} classes="mono">{ s.to_hex() }</AppLink>
                                        }
                                        <CopyId id_text={s.to_hex()} short=true />
                                    </dd>
                                }
                                if !r.event_name.is_empty() { <dt>{ "Event" }</dt><dd>{ r.event_name.clone() }</dd> }
                                <dt>{ "Scope" }</dt><dd class="mono">{ format!("{} {}", e.scope.name, e.scope.version) }</dd>
                            </dl>
                        </div>
                        <div>
                            <h4>{ "Attributes" }</h4>
                            <Attributes attrs={r.attributes.clone()} />
                            <h4>{ "Resource" }</h4>
                            <Attributes attrs={e.resource.attributes.clone()} />
                        </div>
                    </div>
                </td>
            </tr>
        }
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_labels() {
        assert_eq!(severity(17, "").0, "sev-error");
        assert_eq!(severity(17, "").1, "ERROR");
        assert_eq!(severity(9, "information").1, "INFORMATION");
        assert_eq!(severity(0, "").0, "sev-unspecified");
        assert_eq!(severity(21, "").1, "FATAL");
    }
}
