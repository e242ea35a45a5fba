//! Filter fields shared by the list views: attributes, durations, the
//! service suggestions, and the bar that tells the page when the user is
//! editing (auto-refresh pauses meanwhile).

use shared::query::{AttrFilter, WindowQuery, format_duration, parse_duration};
use yew::prelude::*;

use crate::api;
use crate::components::text_filter::TextFilter;

/// `key=value` filters as one line of text (space-separated).
pub fn attrs_text(attrs: &[AttrFilter]) -> String {
    attrs
        .iter()
        .map(|a| format!("{}={}", a.key, a.value))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses space-separated `key=value` (or `key:value`) filters; words that
/// are not filters are left out.
pub fn parse_attrs(text: &str) -> Vec<AttrFilter> {
    text.split_whitespace()
        .filter_map(|w| AttrFilter::parse(w).ok())
        .filter(|a| !a.value.is_empty())
        .collect()
}

/// Text of an optional value, empty when absent.
pub fn opt_text(v: &Option<String>) -> AttrValue {
    AttrValue::from(v.clone().unwrap_or_default())
}

/// An empty text is no filter.
pub fn non_empty(v: String) -> Option<String> {
    let v = v.trim().to_owned();
    (!v.is_empty()).then_some(v)
}

#[derive(Properties, PartialEq)]
pub struct DurationFilterProps {
    pub value: Option<u64>,
    pub on_change: Callback<Option<u64>>,
    pub id: AttrValue,
    pub placeholder: AttrValue,
}

/// A duration (`250ms`, `1.5s`); text that is not a duration is ignored.
#[function_component(DurationFilter)]
pub fn duration_filter(props: &DurationFilterProps) -> Html {
    let on_commit = {
        let on_change = props.on_change.clone();
        Callback::from(move |v: String| {
            let v = v.trim();
            if v.is_empty() {
                on_change.emit(None);
            } else if let Ok(ns) = parse_duration(v) {
                on_change.emit(Some(ns));
            }
        })
    };
    html! {
        <TextFilter id={props.id.clone()} classes="narrow" placeholder={props.placeholder.clone()}
            title="A duration: 250ms, 1.5s, 2m"
            value={props.value.map(format_duration).unwrap_or_default()} {on_commit} />
    }
}

/// The names of the services seen (for suggestions), fetched once.
#[hook]
pub fn use_service_names() -> Vec<String> {
    let names = use_state(Vec::new);
    {
        let names = names.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(r) = api::services(&WindowQuery::default()).await {
                    names.set(r.services.into_iter().map(|s| s.name).collect());
                }
            });
        });
    }
    (*names).clone()
}

#[derive(Properties, PartialEq)]
pub struct DatalistProps {
    pub id: AttrValue,
    pub options: Vec<String>,
}

#[function_component(Datalist)]
pub fn datalist(props: &DatalistProps) -> Html {
    html! {
        <datalist id={props.id.clone()}>
            { for props.options.iter().map(|o| html! { <option value={o.clone()} /> }) }
        </datalist>
    }
}

#[derive(Properties, PartialEq)]
pub struct FilterBarProps {
    /// Told `true` while a text field of the bar has the focus.
    pub on_editing: Callback<bool>,
    #[prop_or_default]
    pub children: Html,
}

fn is_text_field(t: Option<web_sys::EventTarget>) -> bool {
    use wasm_bindgen::JsCast;
    t.and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .is_some_and(|i| matches!(i.type_().as_str(), "text" | "search" | "datetime-local"))
}

/// The row of filters; reports focus in its text fields.
#[function_component(FilterBar)]
pub fn filter_bar(props: &FilterBarProps) -> Html {
    let onfocusin = {
        let cb = props.on_editing.clone();
        Callback::from(move |e: FocusEvent| {
            if is_text_field(e.target()) {
                cb.emit(true);
            }
        })
    };
    let onfocusout = {
        let cb = props.on_editing.clone();
        Callback::from(move |e: FocusEvent| {
            if !is_text_field(e.related_target()) {
                cb.emit(false);
            }
        })
    };
    html! {
        <div class="filters" {onfocusin} {onfocusout}>{ props.children.clone() }</div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_text_round_trip() {
        let a = parse_attrs("http.route=/a  user.id:7 junk empty=");
        assert_eq!(attrs_text(&a), "http.route=/a user.id=7");
        assert_eq!(parse_attrs(&attrs_text(&a)), a);
        assert!(parse_attrs("").is_empty());
    }
}
