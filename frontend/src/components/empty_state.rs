//! The placeholder a view shows when it has nothing to show yet.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct EmptyStateProps {
    pub title: AttrValue,
    #[prop_or_default]
    pub children: Html,
}

/// A dashed box with a title and a hint of what to do.
#[function_component(EmptyState)]
pub fn empty_state(props: &EmptyStateProps) -> Html {
    html! {
        <div class="empty">
            <h2>{ props.title.clone() }</h2>
            { props.children.clone() }
        </div>
    }
}
