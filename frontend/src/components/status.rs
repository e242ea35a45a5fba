//! Loading, error and empty states every view shows the same way.

use yew::prelude::*;

use crate::api::ApiError;
use crate::app::AppLink;

/// A quiet "loading" line.
#[function_component(Loading)]
pub fn loading() -> Html {
    html! { <div class="loading" role="status"><span class="spinner"></span>{ "Loading…" }</div> }
}

#[derive(Properties, PartialEq)]
pub struct ErrorBoxProps {
    pub error: ApiError,
    #[prop_or_default]
    pub what: Option<AttrValue>,
    /// What to do, in the page's words (else the error's general advice).
    #[prop_or_default]
    pub hint: Option<Html>,
}

/// The API's error message, as it gave it, and what to do about it.
#[function_component(ErrorBox)]
pub fn error_box(props: &ErrorBoxProps) -> Html {
    let hint = props
        .hint
        .clone()
        .or_else(|| props.error.advice().map(|a| html! { { a } }));
    html! {
        <div class="error-box" role="alert">
            <strong>{ props.what.clone().map_or_else(|| "Request failed".to_owned(), |w| format!("Could not load {w}")) }</strong>
            <div class="error-message">{ props.error.to_string() }</div>
            if let Some(h) = hint { <div class="error-hint">{ h }</div> }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct NoticeProps {
    pub text: AttrValue,
}

/// A warning about the URL (a parameter that had to be ignored).
#[function_component(UrlNotice)]
pub fn url_notice(props: &NoticeProps) -> Html {
    html! { <div class="notice" role="status">{ props.text.clone() }</div> }
}

#[derive(Properties, PartialEq)]
pub struct EmptyStateProps {
    pub id: AttrValue,
    /// What the list holds: "traces", "spans", "logs"…
    pub what: AttrValue,
    /// Filters beyond the time range are set.
    pub filtered: bool,
    /// The view without its filters (same time range).
    pub clear_href: AttrValue,
}

/// An empty list, and what to do: loosen the filters, widen the time range,
/// or (nothing sent yet?) send telemetry.
#[function_component(EmptyState)]
pub fn empty_state(props: &EmptyStateProps) -> Html {
    let what = &props.what;
    html! {
        <div class="empty" id={props.id.clone()}>
            if props.filtered {
                <h2>{ format!("No {what} match these filters") }</h2>
                <p>
                    <AppLink href={props.clear_href.clone()} classes="btn small">{ "Clear the filters" }</AppLink>
                    { " or widen the time range." }
                </p>
            } else {
                <h2>{ format!("No {what} in this time range") }</h2>
                <p>
                    { "Widen the time range. Nothing sent yet? " }
                    <AppLink href="/start">{ "Point an OpenTelemetry SDK at this server" }</AppLink>
                    { " and it shows here within seconds." }
                </p>
            }
        </div>
    }
}
