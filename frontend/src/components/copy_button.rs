//! Click-to-copy: a button that copies its text and confirms briefly
//! ("Copied"), through the clipboard API or the textarea fallback.

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use crate::clipboard::{self, Copied};

#[derive(Properties, PartialEq)]
pub struct CopyButtonProps {
    /// What is copied.
    pub text: AttrValue,
    /// The button's label ("Copy" when none is given).
    #[prop_or_default]
    pub label: Option<AttrValue>,
    /// Show a copy icon instead of a label.
    #[prop_or_default]
    pub icon: bool,
    #[prop_or_default]
    pub title: Option<AttrValue>,
    #[prop_or_default]
    pub id: Option<AttrValue>,
    #[prop_or_default]
    pub classes: Classes,
}

/// A button that copies `text`. While confirming it reads "Copied" and
/// carries `data-copied-via` = `clipboard` | `fallback` | `failed`.
#[function_component(CopyButton)]
pub fn copy_button(props: &CopyButtonProps) -> Html {
    let state = use_state(|| None::<Copied>);
    let timer = use_mut_ref(|| None::<Timeout>);
    let onclick = {
        let state = state.clone();
        let text = props.text.to_string();
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            e.prevent_default();
            let state = state.clone();
            let timer = timer.clone();
            clipboard::copy(text.clone(), move |how| {
                state.set(Some(how));
                let reset = state.setter();
                *timer.borrow_mut() = Some(Timeout::new(1600, move || reset.set(None)));
            });
        })
    };
    let (text, class) = match *state {
        Some(Copied::Failed) => (html! { "Copy failed" }, "copy failed"),
        Some(_) => (html! { "Copied ✓" }, "copy copied"),
        None if props.icon => (copy_icon(), "copy"),
        None => (
            html! { { props.label.clone().unwrap_or_else(|| "Copy".into()) } },
            "copy",
        ),
    };
    let title = props
        .title
        .clone()
        .unwrap_or_else(|| AttrValue::from(format!("Copy {}", props.text)));
    html! {
        <button type="button" class={classes!("btn", "small", class, props.classes.clone())}
            id={props.id.clone()} {title} {onclick}
            data-copy={props.text.clone()}
            data-copied-via={state.map(|c| c.as_str())}>
            { text }
        </button>
    }
}

/// Two overlapping sheets.
fn copy_icon() -> Html {
    html! {
        <svg class="icon-svg" viewBox="0 0 16 16" width="13" height="13" aria-hidden="true">
            <rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.5" />
            <path d="M3 11V3.5A1.5 1.5 0 0 1 4.5 2H11" fill="none" stroke="currentColor" stroke-width="1.5" />
        </svg>
    }
}

#[derive(Properties, PartialEq)]
pub struct CopyIdProps {
    pub id_text: AttrValue,
    /// Show only the first characters (the full id is copied and in the title).
    #[prop_or_default]
    pub short: bool,
}

/// An id in monospace followed by its copy button.
#[function_component(CopyId)]
pub fn copy_id(props: &CopyIdProps) -> Html {
    let shown = if props.short && props.id_text.len() > 12 {
        format!("{}…", &props.id_text[..12])
    } else {
        props.id_text.to_string()
    };
    html! {
        <span class="copy-id">
            <code class="mono" title={props.id_text.clone()}>{ shown }</code>
            <CopyButton text={props.id_text.clone()} icon=true classes="icon" />
        </span>
    }
}
