//! The UI token's gate in front of the dashboard and `/api/*`: a request
//! passes with a valid session cookie or `Authorization: Bearer <token>`;
//! otherwise a browser page is sent to the login page and everything else
//! gets 401.
//!
//! The gate wraps the whole UI router, so a route added to it later (such
//! as `/metrics`) is protected without further code. Only [`OPEN_PATHS`]
//! pass without a token.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::api::ErrorResponse;

use super::session;
use super::token::Token;

/// Paths open without a token: the load balancers' health check, and the
/// login page with what it posts to. The login page needs nothing else
/// (its style is inline and hashed in the CSP, its icon a `data:` URL).
pub const OPEN_PATHS: &[&str] = &["/api/health", "/login", "/logout"];

/// Who may use the UI listener.
#[derive(Clone)]
pub struct UiAuth {
    token: Option<Token>,
    /// Cookies are `Secure` (and `__Host-` named) when the UI is on TLS.
    secure: bool,
}

impl UiAuth {
    /// `token: None` leaves the dashboard and API open.
    pub fn new(token: Option<Token>, secure: bool) -> Self {
        UiAuth { token, secure }
    }

    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Whether a request with `headers` may pass.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .any(|v| token.matches_authorization(v.as_bytes()));
        bearer || session::from_headers(token, headers, self.secure, session::now_unix())
    }
}

/// Whether `path` is answered by the Prometheus-style or JSON APIs, whose
/// callers are programs: they get 401, never a redirect to a page.
fn is_api(path: &str, headers: &axum::http::HeaderMap) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || (path == "/metrics" && !crate::ui::wants_html(headers))
}

/// Middleware (`from_fn_with_state`) for the whole UI router.
pub async fn require(State(auth): State<UiAuth>, req: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&req.uri().path()) || auth.allows(req.headers()) {
        return next.run(req).await;
    }
    refuse(&req)
}

fn refuse(req: &Request) -> Response {
    let path = req.uri().path();
    if !is_api(path, req.headers()) && matches!(*req.method(), Method::GET | Method::HEAD) {
        let target = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        return see_other(&format!("/login?next={next}"));
    }
    let error = if req.headers().contains_key(header::AUTHORIZATION) {
        "wrong token: send Authorization: Bearer <the --ui-token>"
    } else {
        "this server needs a token: log in at /login, or send Authorization: Bearer <the --ui-token>"
    };
    let mut resp = (StatusCode::UNAUTHORIZED, Json(ErrorResponse::new(error))).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"sightline\""),
    );
    resp
}

/// A 303 to `location`, a local path the caller has checked.
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_static("/"))],
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app(auth: UiAuth) -> Router {
        Router::new()
            .route("/api/health", get(|| async { "ok" }))
            .route("/api/traces", get(|| async { "[]" }))
            .route("/metrics", get(|| async { "# metrics" }))
            .fallback(|| async { "app shell" })
            .layer(axum::middleware::from_fn_with_state(auth, require))
    }

    async fn call(app: &Router, method: Method, uri: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        app.clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn without_a_token_everything_is_open() {
        let app = app(UiAuth::new(None, false));
        for uri in ["/", "/api/traces", "/metrics"] {
            assert_eq!(call(&app, Method::GET, uri, &[]).await.status(), 200);
        }
    }

    #[tokio::test]
    async fn pages_redirect_to_login_and_apis_answer_401() {
        let token = Token::new("--ui-token", "tok").unwrap();
        let app = app(UiAuth::new(Some(token.clone()), false));
        let page = call(&app, Method::GET, "/traces/abc?span=1&x=a%20b", &[]).await;
        assert_eq!(page.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            page.headers()[header::LOCATION],
            "/login?next=%2Ftraces%2Fabc%3Fspan%3D1%26x%3Da%2520b"
        );
        for uri in ["/api/traces", "/metrics", "/api/nope"] {
            let r = call(&app, Method::GET, uri, &[]).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{uri}");
            assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        }
        let post = call(&app, Method::POST, "/traces", &[]).await;
        assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            call(&app, Method::GET, "/api/health", &[]).await.status(),
            200
        );
        let ok = [("authorization", "Bearer tok")];
        assert_eq!(
            call(&app, Method::GET, "/api/traces", &ok).await.status(),
            200
        );
        assert_eq!(call(&app, Method::GET, "/metrics", &ok).await.status(), 200);
        let wrong = [("authorization", "Bearer tok2")];
        assert_eq!(
            call(&app, Method::GET, "/api/traces", &wrong)
                .await
                .status(),
            401
        );
        let cookie = format!(
            "sightline_session={}",
            session::value(&token, session::now_unix() + 60)
        );
        let with_cookie = [("cookie", cookie.as_str())];
        assert_eq!(
            call(&app, Method::GET, "/api/traces", &with_cookie)
                .await
                .status(),
            200
        );
        assert_eq!(
            call(&app, Method::GET, "/", &with_cookie).await.status(),
            200
        );
        let expired = format!(
            "sightline_session={}",
            session::value(&token, session::now_unix() - 1)
        );
        assert_eq!(
            call(
                &app,
                Method::GET,
                "/api/traces",
                &[("cookie", expired.as_str())]
            )
            .await
            .status(),
            401
        );
    }
}
