//! The Traces view.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::empty_state::EmptyState;

/// Lists traces; until telemetry arrives it says how to send some.
#[function_component(TracesPage)]
pub fn traces_page() -> Html {
    html! {
        <section class="page" id="page-traces">
            <h1 class="page-title">{ "Traces" }</h1>
            <EmptyState title="No traces yet">
                <p>{ "Point an OpenTelemetry SDK or Collector at this server. " }
                   <Link<Route> to={Route::GettingStarted}>{ "How to connect" }</Link<Route>></p>
            </EmptyState>
        </section>
    }
}
