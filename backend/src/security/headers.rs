//! Security headers on every answer of the UI listener: a Content Security
//! Policy fit for the WebAssembly dashboard, and the headers that stop
//! MIME sniffing, framing and referrer leaks.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The CSP source of an inline `<script>` or `<style>` whose text is
/// `text`, as browsers hash it (UTF-8 bytes, line breaks as the HTML
/// parser normalises them).
pub fn sha256_source(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(normalised.as_bytes()))
    )
}

/// The policy. `script_hashes` are the sources (`'sha256-…'`) of the inline
/// scripts the dashboard's `index.html` needs (trunk's module loader);
/// `style_hashes` those of the inline `<style>` blocks of the pages the
/// server renders itself.
///
/// Why each part: `'wasm-unsafe-eval'` lets the page compile its
/// WebAssembly and nothing else (no `eval`). Styles: the dashboard sets
/// `style` attributes (waterfall bar positions, service colours), which
/// need `'unsafe-inline'` in `style-src`; `style-src-elem` then keeps
/// `<style>` elements and stylesheets to our own files and the hashed
/// blocks, in browsers that know it. `img-src data:` is for the inline
/// favicon of the login page; `form-action 'self'` for the login form;
/// `frame-ancestors 'none'` forbids framing (clickjacking).
pub fn content_security_policy(script_hashes: &[String], style_hashes: &[String]) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for h in script_hashes {
        script_src.push(' ');
        script_src.push_str(h);
    }
    let mut style_elem = String::from("'self'");
    for h in style_hashes {
        style_elem.push(' ');
        style_elem.push_str(h);
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self' 'unsafe-inline'; \
         style-src-elem {style_elem}; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The headers added to every UI answer.
#[derive(Clone)]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    /// The headers with `csp` as the policy. A policy that is not a valid
    /// header value (it is built from base64 hashes, so it always is) is
    /// replaced by the strictest one rather than dropped.
    pub fn new(csp: &str) -> Self {
        let csp = HeaderValue::from_str(csp)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        SecurityHeaders {
            headers: vec![
                (header::CONTENT_SECURITY_POLICY, csp),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
                (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            ],
        }
    }
}

/// Middleware (`map_response_with_state`): adds each header the handler did
/// not set itself.
pub async fn add(State(h): State<SecurityHeaders>, mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    for (name, value) in &h.headers {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_what_browsers_compute() {
        // printf 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            sha256_source("alert(1)"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
        assert_eq!(sha256_source("a\r\nb"), sha256_source("a\nb"));
    }

    #[test]
    fn the_policy_allows_the_app_and_nothing_inline_but_the_hashed() {
        let csp = content_security_policy(&["'sha256-AAA='".into()], &["'sha256-BBB='".into()]);
        for part in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-AAA='",
            "style-src-elem 'self' 'sha256-BBB='",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{part} missing from {csp}");
        }
        let script = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!script.contains("unsafe-inline") && !script.contains("'unsafe-eval'"));
        assert!(HeaderValue::from_str(&csp).is_ok());
        let none = content_security_policy(&[], &[]);
        assert!(
            none.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{none}"
        );
    }

    #[test]
    fn handler_headers_win() {
        let h = SecurityHeaders::new("default-src 'self'");
        let mut resp = Response::new(axum::body::Body::empty());
        resp.headers_mut()
            .insert(header::REFERRER_POLICY, HeaderValue::from_static("origin"));
        let resp = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(add(State(h), resp));
        assert_eq!(resp.headers()[header::REFERRER_POLICY], "origin");
        assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(resp.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            resp.headers()[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'"
        );
    }
}
