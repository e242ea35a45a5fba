//! The login page (`GET /login`), its form (`POST /login`) and
//! `POST /logout`: server-rendered HTML without any script, so it works
//! under the strict CSP and before the dashboard has loaded.

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::session;
use super::ui_auth::{UiAuth, see_other};
use crate::ui::PAGE_CSS;

/// Longest `next` path kept; longer ones go to `/`.
const MAX_NEXT: usize = 4096;

/// The routes of this module.
pub fn routes(auth: UiAuth) -> Router {
    Router::new()
        .route("/login", get(page).post(submit))
        .route("/logout", post(logout))
        .with_state(auth)
}

/// `next` when it is a path on this server, so the login cannot be used to
/// send someone elsewhere (open redirect): it must start with one `/`
/// (`//host` and `/\host` are other hosts to browsers), hold only visible
/// ASCII without `\` (the request URI it came from is percent-encoded), and
/// not lead back to the login itself.
pub fn local_next(next: &str) -> Option<&str> {
    let bytes = next.as_bytes();
    let local = bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && next.len() <= MAX_NEXT
        && bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'\\');
    let path = next.split(['?', '#']).next().unwrap_or("");
    let loops = matches!(path, "/login" | "/logout");
    (local && !loops).then_some(next)
}

/// Escapes text for an HTML attribute value or element content.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page, with the "wrong token" notice after a failed attempt.
/// `reload`: the page reloads itself at once (see [`page`]).
fn render(next: &str, failed: bool, reload: bool) -> String {
    let notice = if failed {
        r#"<p class="error" id="login-error" role="alert">Wrong token. Try again.</p>"#
    } else {
        ""
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Sightline</title><link rel="icon" href="data:,">{refresh}
<style>{PAGE_CSS}</style></head>
<body><main class="login"><h1>Sightline</h1>
<p>This dashboard needs its access token (the server's <code>--ui-token</code>).</p>
{notice}
<form id="login-form" method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button id="login-submit" type="submit">Sign in</button>
</form></main></body></html>"#,
        next = html_escape(next),
        refresh = if reload {
            r#"<meta http-equiv="refresh" content="0">"#
        } else {
            ""
        },
    )
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// Form posts from other sites are refused: `Sec-Fetch-Site` is sent by
/// every current browser; programs that do not send it pass.
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !matches!(v, "same-origin" | "none"))
}

#[derive(Deserialize)]
struct PageQuery {
    next: Option<String>,
}

async fn page(
    State(auth): State<UiAuth>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let next = q.next.as_deref().and_then(local_next).unwrap_or("/");
    // Nothing to log in to, or already logged in: go on.
    if auth.token().is_none() || auth.allows(&headers) {
        return see_other(next);
    }
    // A link followed from another site (chat, a ticket) arrives without
    // the SameSite=Strict cookie even when the browser holds one. The
    // page then reloads itself: that navigation comes from this site, so
    // the cookie comes along and the check above lets it through. The
    // reload is same-origin, so it happens once.
    let from_elsewhere = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    html(StatusCode::OK, render(next, false, from_elsewhere))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

async fn submit(
    State(auth): State<UiAuth>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if cross_site(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site login refused").into_response();
    }
    let next = local_next(&form.next).unwrap_or("/");
    let Some(token) = auth.token() else {
        return see_other(next);
    };
    if !token.matches(form.token.as_bytes()) {
        tracing::warn!("dashboard login with a wrong token");
        return html(StatusCode::UNAUTHORIZED, render(next, true, false));
    }
    let mut resp = see_other(next);
    let cookie = session::set_cookie(token, auth.secure(), session::now_unix());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn logout(State(auth): State<UiAuth>, headers: HeaderMap) -> Response {
    if cross_site(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site logout refused").into_response();
    }
    let mut resp = see_other("/login");
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(auth.secure())) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        for ok in [
            "/",
            "/traces",
            "/traces/abc?span=1&find=x",
            "/logs?q=a%20b#top",
            "/%2F%2Fevil.example",
        ] {
            assert_eq!(local_next(ok), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "traces",
            "//evil.example",
            "//evil.example/path",
            "/\\evil.example",
            "/traces\\..\\x",
            "https://evil.example/",
            "javascript:alert(1)",
            " /traces",
            "/tra ces",
            "/tra\tces",
            "/tra\nces",
            "/grüße",
            "/login",
            "/login?next=/x",
            "/logout",
        ] {
            assert_eq!(local_next(bad), None, "{bad:?}");
        }
        assert_eq!(local_next(&format!("/{}", "a".repeat(MAX_NEXT))), None);
    }

    #[test]
    fn the_page_escapes_next_and_has_no_script() {
        let page = render("/x?a=\"><script>alert(1)</script>", true, false);
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&quot;&gt;&lt;script&gt;"), "{page}");
        assert!(page.contains("Wrong token"));
        assert!(!render("/", false, false).contains("Wrong token"));
        assert!(!render("/", false, false).contains("http-equiv"));
        assert!(render("/", false, true).contains(r#"<meta http-equiv="refresh" content="0">"#));
        assert!(page.contains(r#"type="password""#));
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            html_escape(r#"<a href='x'>&"</a>"#),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn cross_site_posts_are_recognised() {
        let mut h = HeaderMap::new();
        assert!(!cross_site(&h), "programs send no Sec-Fetch-Site");
        for (v, refused) in [
            ("same-origin", false),
            ("none", false),
            ("same-site", true),
            ("cross-site", true),
        ] {
            h.insert("sec-fetch-site", HeaderValue::from_static(v));
            assert_eq!(cross_site(&h), refused, "{v}");
        }
    }
}
