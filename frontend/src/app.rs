//! The application frame and the URL schema: the `Route` enum is the list of
//! views, and every view is rebuilt from its URL.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::footer::Footer;
use crate::pages;

/// Every view of the dashboard, by path.
#[derive(Clone, Debug, PartialEq, Routable)]
pub enum Route {
    #[at("/")]
    Home,
    #[at("/traces")]
    Traces,
    #[at("/spans")]
    Spans,
    #[at("/logs")]
    Logs,
    #[at("/metrics")]
    Metrics,
    #[at("/services")]
    Services,
    #[at("/start")]
    GettingStarted,
    #[not_found]
    #[at("/404")]
    NotFound,
}

/// The tabs of the top bar, in order.
const TABS: [(Route, &str); 6] = [
    (Route::Traces, "Traces"),
    (Route::Spans, "Spans"),
    (Route::Logs, "Logs"),
    (Route::Metrics, "Metrics"),
    (Route::Services, "Services"),
    (Route::GettingStarted, "Getting started"),
];

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Redirect<Route> to={Route::Traces} /> },
        Route::Traces => html! { <pages::traces::TracesPage /> },
        Route::Spans => html! { <pages::spans::SpansPage /> },
        Route::Logs => html! { <pages::logs::LogsPage /> },
        Route::Metrics => html! { <pages::metrics::MetricsPage /> },
        Route::Services => html! { <pages::services::ServicesPage /> },
        Route::GettingStarted => html! { <pages::start::GettingStartedPage /> },
        Route::NotFound => html! {
            <div class="empty">
                <h2>{ "There is no such page" }</h2>
                <p><Link<Route> to={Route::Traces}>{ "Go to traces" }</Link<Route>></p>
            </div>
        },
    }
}

#[function_component(TabBar)]
fn tab_bar() -> Html {
    let current = use_route::<Route>();
    html! {
        <nav class="tabs" aria-label="Views">
            { for TABS.iter().map(|(route, label)| {
                let active = current.as_ref() == Some(route);
                html! {
                    <Link<Route> to={route.clone()} classes={classes!("tab", active.then_some("active"))}>
                        { *label }
                    </Link<Route>>
                }
            }) }
        </nav>
    }
}

/// The whole application: top bar, the routed view, the status footer.
#[function_component(App)]
pub fn app() -> Html {
    html! {
        <BrowserRouter>
            <div class="app" id="sightline-app">
                <header class="topbar">
                    <Link<Route> to={Route::Traces} classes="brand">
                        <svg viewBox="0 0 32 32" aria-hidden="true"><path d="M4 22 L11 13 L17 19 L28 7" stroke="currentColor" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>
                        { "Sightline" }
                    </Link<Route>>
                    <TabBar />
                    <div class="spacer"></div>
                </header>
                <main>
                    <Switch<Route> render={switch} />
                </main>
                <Footer />
            </div>
        </BrowserRouter>
    }
}
