//! `/`: TinyOlly-style links (`?tab=…&traceId=…`) go to their view; anything
//! else goes to the traces list. The URL is replaced, so Back skips this.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::navigate;
use crate::url;

#[function_component(HomeRedirect)]
pub fn home_redirect() -> Html {
    let location = use_location();
    let nav = use_navigator();
    let qs = location
        .as_ref()
        .map(|l| l.query_str().trim_start_matches('?').to_owned())
        .unwrap_or_default();
    use_effect_with(qs, move |qs| {
        let target = url::legacy_link(qs).unwrap_or_else(|| "/traces".to_owned());
        if let Some(nav) = &nav {
            navigate(nav, &target, false);
        }
    });
    html! {}
}
