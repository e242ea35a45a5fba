//! The status line at the bottom: is the server up, which version, how big
//! the database is. Re-checked every 30 s and on the refresh button, so a
//! server that went away says so here too.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::api;
use crate::hooks::use_poll::RefreshContext;

/// Seconds between health checks.
const EVERY_SECS: u32 = 30;

/// Fetches `/api/health` and shows the answer or the failure.
#[function_component(Footer)]
pub fn footer() -> Html {
    let health = use_state(|| None);
    let beat = use_state(|| 0u32);
    let manual = use_context::<RefreshContext>().map_or(0, |c| c.manual);
    {
        let beat = beat.setter();
        use_effect_with((), move |_| {
            let mut n = 0u32;
            let timer = Interval::new(EVERY_SECS * 1000, move || {
                n = n.wrapping_add(1);
                beat.set(n);
            });
            move || drop(timer)
        });
    }
    {
        let health = health.clone();
        use_effect_with((*beat, manual), move |_| {
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
            html! { <span id="server-status" class="err"><span class="dot bad"></span>{ e.to_string() }</span> }
        }
    };
    html! { <footer class="footer">{ status }</footer> }
}
