//! The Logs view.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::empty_state::EmptyState;

/// Lists logs; until telemetry arrives it says how to send some.
#[function_component(LogsPage)]
pub fn logs_page() -> Html {
    html! {
        <section class="page" id="page-logs">
            <h1 class="page-title">{ "Logs" }</h1>
            <EmptyState title="No logs yet">
                <p>{ "Point an OpenTelemetry SDK or Collector at this server. " }
                   <Link<Route> to={Route::GettingStarted}>{ "How to connect" }</Link<Route>></p>
            </EmptyState>
        </section>
    }
}
