//! A text filter that edits a URL value: keystrokes stay local and are
//! committed after a pause (or on Enter), so typing makes one request, not
//! one per key. A value changed from outside (Back, Forward, a link) is
//! taken over.

use gloo_timers::callback::Timeout;
use yew::prelude::*;

/// Milliseconds of quiet before a typed value is committed.
pub const DEBOUNCE_MS: u32 = 450;

#[derive(Properties, PartialEq)]
pub struct TextFilterProps {
    /// The committed value (from the URL).
    pub value: AttrValue,
    pub on_commit: Callback<String>,
    #[prop_or_default]
    pub placeholder: AttrValue,
    #[prop_or_default]
    pub id: Option<AttrValue>,
    #[prop_or_default]
    pub title: Option<AttrValue>,
    #[prop_or_default]
    pub classes: Classes,
    /// Id of a `<datalist>` of suggestions.
    #[prop_or_default]
    pub list: Option<AttrValue>,
}

#[function_component(TextFilter)]
pub fn text_filter(props: &TextFilterProps) -> Html {
    let draft = use_state(|| props.value.to_string());
    let committed = use_mut_ref(|| props.value.to_string());
    let timer = use_mut_ref(|| None::<Timeout>);
    {
        let draft = draft.clone();
        let committed = committed.clone();
        use_effect_with(props.value.clone(), move |v| {
            if *committed.borrow() != v.as_str() {
                *committed.borrow_mut() = v.to_string();
                draft.set(v.to_string());
            }
        });
    }
    let commit = {
        let committed = committed.clone();
        let on_commit = props.on_commit.clone();
        move |v: String| {
            if *committed.borrow() != v {
                *committed.borrow_mut() = v.clone();
                on_commit.emit(v);
            }
        }
    };
    let oninput = {
        let draft = draft.clone();
        let timer = timer.clone();
        let commit = commit.clone();
        Callback::from(move |e: InputEvent| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            draft.set(v.clone());
            let commit = commit.clone();
            *timer.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || commit(v)));
        })
    };
    let onkeydown = {
        let draft = draft.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                timer.borrow_mut().take();
                commit((*draft).clone());
            }
        })
    };
    html! {
        <input type="search" class={classes!("text-filter", props.classes.clone())} id={props.id.clone()}
            placeholder={props.placeholder.clone()} title={props.title.clone()} list={props.list.clone()}
            value={(*draft).clone()} {oninput} {onkeydown} autocomplete="off" spellcheck="false" />
    }
}
