//! Who may use the listeners and how they are reached: bearer tokens for
//! OTLP and for the dashboard + API, the dashboard's login and session
//! cookie, refusing to expose a listener beyond loopback without its token,
//! TLS, and the security headers of UI answers.
//!
//! This module answers 401 and 303 itself (the API's status codes stay in
//! `api`); the OTLP receivers call [`token::Token`] from `ingest`, which
//! alone knows their wire formats.

pub mod exposure;
pub mod headers;
pub mod login;
pub mod session;
pub mod tls;
pub mod token;
pub mod ui_auth;

use axum::Router;

use self::headers::{SecurityHeaders, content_security_policy, sha256_source};
use self::ui_auth::UiAuth;

/// The headers of UI answers, with a CSP that admits the dashboard's
/// inline loader script (hashed at build time) and the inline style of the
/// server's own pages.
pub fn ui_headers() -> SecurityHeaders {
    let scripts: Vec<String> = crate::ui::INLINE_SCRIPT_HASHES
        .iter()
        .map(|h| format!("'{h}'"))
        .collect();
    let styles = [sha256_source(crate::ui::PAGE_CSS)];
    SecurityHeaders::new(&content_security_policy(&scripts, &styles))
}

/// Wraps the UI router: the login routes are added, the token gate covers
/// every route (those of `routes` and any added to it later, such as its
/// fallback) but [`ui_auth::OPEN_PATHS`], and every answer gets the
/// security headers.
pub fn protect_ui(routes: Router, auth: UiAuth) -> Router {
    routes
        .merge(login::routes(auth.clone()))
        .layer(axum::middleware::from_fn_with_state(auth, ui_auth::require))
        .layer(axum::middleware::map_response_with_state(
            ui_headers(),
            headers::add,
        ))
}
