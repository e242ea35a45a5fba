//! The Spans view.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::empty_state::EmptyState;

/// Lists spans; until telemetry arrives it says how to send some.
#[function_component(SpansPage)]
pub fn spans_page() -> Html {
    html! {
        <section class="page" id="page-spans">
            <h1 class="page-title">{ "Spans" }</h1>
            <EmptyState title="No spans yet">
                <p>{ "Point an OpenTelemetry SDK or Collector at this server. " }
                   <Link<Route> to={Route::GettingStarted}>{ "How to connect" }</Link<Route>></p>
            </EmptyState>
        </section>
    }
}
