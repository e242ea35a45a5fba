//! The application frame and the path half of the URL schema: the `Route`
//! enum is the list of views (their query strings are in `url`), and every
//! view is rebuilt from its URL. Links are real `href`s, so opening one in a
//! new tab or pasting it elsewhere shows the same view.

use yew::prelude::*;
use yew_router::prelude::*;
use yew_router::query::Raw;

use crate::api;
use crate::components::footer::Footer;
use crate::components::refresh_status::RefreshStatus;
use crate::hooks::use_poll::{PollStatus, PollStatusContext, RefreshContext, RefreshControl};
use crate::pages;
use crate::theme::{Theme, ThemeContext, ThemeToggle};

/// Every view of the dashboard, by path.
#[derive(Clone, Debug, PartialEq, Routable)]
pub enum Route {
    /// Redirects: TinyOlly-style `?tab=` links to their view, else traces.
    #[at("/")]
    Home,
    #[at("/traces")]
    Traces,
    #[at("/traces/:id")]
    Trace { id: String },
    #[at("/spans")]
    Spans,
    /// Finds the span's trace and shows it with the span selected.
    #[at("/spans/:id")]
    Span { id: String },
    #[at("/logs")]
    Logs,
    #[at("/metrics")]
    Metrics,
    #[at("/services")]
    Services,
    #[at("/start")]
    GettingStarted,
    /// Version, storage, ingest counters, backup, theme and auto-refresh.
    #[at("/about")]
    About,
    #[not_found]
    #[at("/404")]
    NotFound,
}

impl Route {
    /// The tab a route belongs to.
    fn tab(&self) -> Option<Route> {
        Some(match self {
            Route::Home | Route::Traces | Route::Trace { .. } => Route::Traces,
            Route::Spans | Route::Span { .. } => Route::Spans,
            Route::NotFound => return None,
            r => r.clone(),
        })
    }
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

/// Goes to `href` (`/path?query`): a new history entry when `push`, else
/// replacing the current one (filter edits).
pub fn navigate(nav: &Navigator, href: &str, push: bool) {
    let (path, qs) = href.split_once('?').unwrap_or((href, ""));
    let route = Route::recognize(path).unwrap_or(Route::NotFound);
    let _ = if push {
        nav.push_with_query(&route, Raw(qs))
    } else {
        nav.replace_with_query(&route, Raw(qs))
    };
}

#[derive(Properties, PartialEq)]
pub struct AppLinkProps {
    /// `/path?query` within the dashboard.
    pub href: AttrValue,
    #[prop_or_default]
    pub classes: Classes,
    #[prop_or_default]
    pub title: Option<AttrValue>,
    #[prop_or_default]
    pub id: Option<AttrValue>,
    #[prop_or_default]
    pub children: Html,
}

/// A link inside the app: a plain click navigates without reloading (a new
/// history entry); modified clicks (new tab, new window) are the browser's.
#[function_component(AppLink)]
pub fn app_link(props: &AppLinkProps) -> Html {
    let nav = use_navigator();
    let href = props.href.clone();
    let onclick = Callback::from(move |e: MouseEvent| {
        if e.button() != 0 || e.ctrl_key() || e.meta_key() || e.shift_key() || e.alt_key() {
            return;
        }
        if let Some(nav) = &nav {
            e.prevent_default();
            e.stop_propagation();
            navigate(nav, &href, true);
        }
    });
    html! {
        <a href={props.href.clone()} class={props.classes.clone()} title={props.title.clone()}
           id={props.id.clone()} {onclick}>
            { props.children.clone() }
        </a>
    }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <pages::home::HomeRedirect /> },
        Route::Traces => html! { <pages::traces::TracesPage /> },
        Route::Trace { id } => html! { <pages::trace::TracePage {id} /> },
        Route::Spans => html! { <pages::spans::SpansPage /> },
        Route::Span { id } => html! { <pages::spans::SpanLookup {id} /> },
        Route::Logs => html! { <pages::logs::LogsPage /> },
        Route::Metrics => html! { <pages::metrics::MetricsPage /> },
        Route::Services => html! { <pages::services::ServicesPage /> },
        Route::GettingStarted => html! { <pages::start::GettingStartedPage /> },
        Route::About => html! { <pages::about::AboutPage /> },
        Route::NotFound => html! {
            <div class="empty">
                <h2>{ "There is no such page" }</h2>
                <p><AppLink href="/traces">{ "Go to traces" }</AppLink></p>
            </div>
        },
    }
}

#[function_component(TabBar)]
fn tab_bar() -> Html {
    let current = use_route::<Route>().and_then(|r| r.tab());
    html! {
        <nav class="tabs" aria-label="Views">
            { for TABS.iter().map(|(route, label)| {
                let active = current.as_ref() == Some(route);
                html! {
                    <AppLink href={route.to_path()} classes={classes!("tab", active.then_some("active"))}>
                        { *label }
                    </AppLink>
                }
            }) }
        </nav>
    }
}

/// The link to the About & settings view (a gear).
#[function_component(SettingsLink)]
fn settings_link() -> Html {
    let active = use_route::<Route>() == Some(Route::About);
    html! {
        <AppLink href="/about" id="about-link" title="About & settings"
            classes={classes!("btn", "icon", "settings-link", active.then_some("active"))}>
            <svg class="icon-svg" viewBox="0 0 16 16" width="15" height="15" aria-hidden="true">
                <circle cx="8" cy="8" r="2.3" fill="none" stroke="currentColor" stroke-width="1.5" />
                <path d="M8 1.5v2M8 12.5v2M1.5 8h2M12.5 8h2M3.4 3.4l1.4 1.4M11.2 11.2l1.4 1.4M3.4 12.6l1.4-1.4M11.2 4.8l1.4-1.4"
                    stroke="currentColor" stroke-width="1.5" stroke-linecap="round" />
            </svg>
            <span class="visually-hidden">{ "About & settings" }</span>
        </AppLink>
    }
}

/// Sign out, shown only when the dashboard sits behind a login: a plain
/// form post to `/logout`, which ends the session and shows the login page.
#[function_component(SignOut)]
fn sign_out() -> Html {
    let required = use_state(|| false);
    {
        let required = required.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(h) = api::health().await {
                    required.set(h.login_required);
                }
            });
        });
    }
    if !*required {
        return Html::default();
    }
    html! {
        <form method="post" action="/logout" class="sign-out">
            <button type="submit" id="sign-out" class="btn" title="End this session">{ "Sign out" }</button>
        </form>
    }
}

/// The whole application: top bar, the routed view, the status footer.
#[function_component(App)]
pub fn app() -> Html {
    let refresh = use_reducer(RefreshControl::load);
    let poll_status = use_reducer(PollStatus::default);
    let theme = use_state(Theme::load);
    html! {
        <BrowserRouter>
            <ContextProvider<ThemeContext> context={theme}>
            <ContextProvider<RefreshContext> context={refresh}>
            <ContextProvider<PollStatusContext> context={poll_status}>
                <div class="app" id="sightline-app">
                    <header class="topbar">
                        <AppLink href="/traces" classes="brand">
                            <svg viewBox="0 0 32 32" aria-hidden="true"><path d="M4 22 L11 13 L17 19 L28 7" stroke="currentColor" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>
                            { "Sightline" }
                        </AppLink>
                        <TabBar />
                        <div class="spacer"></div>
                        <RefreshStatus />
                        <ThemeToggle id="theme-toggle" />
                        <SettingsLink />
                        <SignOut />
                    </header>
                    <main>
                        <Switch<Route> render={switch} />
                    </main>
                    <Footer />
                </div>
            </ContextProvider<PollStatusContext>>
            </ContextProvider<RefreshContext>>
            </ContextProvider<ThemeContext>>
        </BrowserRouter>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes() {
        let t = "0102030405060708090a0b0c0d0e0f10";
        assert_eq!(Route::recognize("/"), Some(Route::Home));
        assert_eq!(Route::recognize("/traces"), Some(Route::Traces));
        assert_eq!(
            Route::recognize(&format!("/traces/{t}")),
            Some(Route::Trace { id: t.into() })
        );
        assert_eq!(
            Route::recognize("/spans/a1a2a3a4a5a6a7a8"),
            Some(Route::Span {
                id: "a1a2a3a4a5a6a7a8".into()
            })
        );
        assert_eq!(Route::recognize("/nope"), Some(Route::NotFound));
        assert_eq!(Route::recognize("/about"), Some(Route::About));
        assert_eq!(
            Route::Trace { id: t.into() }.to_path(),
            format!("/traces/{t}")
        );
        assert_eq!(Route::Trace { id: t.into() }.tab(), Some(Route::Traces));
    }
}
