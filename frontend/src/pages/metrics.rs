//! The Metrics view.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::empty_state::EmptyState;

/// Lists metrics; until telemetry arrives it says how to send some.
#[function_component(MetricsPage)]
pub fn metrics_page() -> Html {
    html! {
        <section class="page" id="page-metrics">
            <h1 class="page-title">{ "Metrics" }</h1>
            <EmptyState title="No metrics yet">
                <p>{ "Point an OpenTelemetry SDK or Collector at this server. " }
                   <Link<Route> to={Route::GettingStarted}>{ "How to connect" }</Link<Route>></p>
            </EmptyState>
        </section>
    }
}
