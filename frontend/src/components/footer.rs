//! The status line at the bottom: is the server up, which version, how big
//! the database is.

use yew::prelude::*;

use crate::api;

/// Fetches `/api/health` once and shows the answer or the failure.
#[function_component(Footer)]
pub fn footer() -> Html {
    let health = use_state(|| None);
    {
        let health = health.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                health.set(Some(api::health().await));
            });
        });
    }
    let status = match &*health {
        None => html! { <span><span class="dot"></span>{ "connecting…" }</span> },
        Some(Ok(h)) => html! {
            <>
                <span id="server-status"><span class="dot ok"></span>{ format!("server {} ", h.status) }</span>
                <span>{ format!("v{}", h.version) }</span>
                <span>{ format!("database {:.1} MB", h.db_size_bytes as f64 / 1e6) }</span>
            </>
        },
        Some(Err(e)) => {
            html! { <span id="server-status"><span class="dot bad"></span>{ e.to_string() }</span> }
        }
    };
    html! { <footer class="footer">{ status }</footer> }
}
