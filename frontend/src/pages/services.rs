//! The Services view.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::empty_state::EmptyState;

/// Lists services; until telemetry arrives it says how to send some.
#[function_component(ServicesPage)]
pub fn services_page() -> Html {
    html! {
        <section class="page" id="page-services">
            <h1 class="page-title">{ "Services" }</h1>
            <EmptyState title="No services yet">
                <p>{ "Point an OpenTelemetry SDK or Collector at this server. " }
                   <Link<Route> to={Route::GettingStarted}>{ "How to connect" }</Link<Route>></p>
            </EmptyState>
        </section>
    }
}
