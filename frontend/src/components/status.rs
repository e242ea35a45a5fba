//! Loading, error and empty states every view shows the same way.

use yew::prelude::*;

use crate::api::ApiError;

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
}

/// The API's error message, as it gave it.
#[function_component(ErrorBox)]
pub fn error_box(props: &ErrorBoxProps) -> Html {
    let hint = if props.error.is_not_found() && props.what.is_some() {
        Some("This server does not answer this yet, or the item does not exist.")
    } else {
        None
    };
    html! {
        <div class="error-box" role="alert">
            <strong>{ props.what.clone().map_or_else(|| "Request failed".to_owned(), |w| format!("Could not load {w}")) }</strong>
            <div class="error-message">{ props.error.to_string() }</div>
            if let Some(h) = hint { <div class="muted">{ h }</div> }
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
