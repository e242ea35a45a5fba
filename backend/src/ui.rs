//! Serves the dashboard embedded at build time: exact asset paths, gzip when
//! the browser takes it, and `index.html` for every other path so deep links
//! into the single-page app load it.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// One embedded file of the built dashboard.
pub struct Asset {
    /// URL path, starting with `/`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// The same bytes gzip-compressed at build time, when that is smaller.
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The style of the pages the server renders itself ("not built", login):
/// dark, like the dashboard. Inline in those pages; its hash is in the CSP.
macro_rules! page_css {
    () => {
        "body{font-family:system-ui,sans-serif;background:#111418;color:#e6e6e6;max-width:46rem;margin:4rem auto;padding:0 1rem;line-height:1.5}\
code,pre{background:#1e232a;padding:.1rem .3rem;border-radius:4px}pre{padding:.8rem}a{color:#7cb7ff}\
.login{max-width:22rem;margin:0 auto}label{display:block;margin:.8rem 0 .3rem}\
input{box-sizing:border-box;width:100%;padding:.5rem;background:#1e232a;color:#e6e6e6;border:1px solid #3a424d;border-radius:4px;font:inherit}\
button{margin-top:1rem;padding:.5rem 1.2rem;background:#2f6fdb;color:#fff;border:0;border-radius:4px;font:inherit;cursor:pointer}\
.error{color:#ff7b72}"
    };
}

/// See [`page_css!`].
pub const PAGE_CSS: &str = page_css!();

const NOT_BUILT: &str = concat!(
    r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sightline</title>
<style>"#,
    page_css!(),
    r#"</style></head>
<body><h1>Sightline is running, but its dashboard was not built into this binary</h1>
<p>The OTLP receivers and the query API under <code>/api/</code> work. To get the dashboard,
build the front end before the back end, from the source checkout:</p>
<pre>./x run</pre>
<p>or by hand: <code>trunk build --release</code>, then <code>cargo build --release -p sightline</code>.</p>
<p>Health: <a href="/api/health">/api/health</a></p></body></html>"#
);

/// Whether a request is a browser navigation (it accepts HTML). `/metrics`
/// is both the Prometheus endpoint and the dashboard's metrics page: a
/// scraper gets the former, a browser the latter.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

fn find(assets: &'static [Asset], path: &str) -> Option<&'static Asset> {
    assets.iter().find(|a| a.path == path)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.trim().split(';');
            parts.next().is_some_and(|name| name.trim() == "gzip")
                && !parts.any(|p| p.trim().replace(' ', "") == "q=0")
        })
}

fn asset_response(asset: &'static Asset, headers: &HeaderMap, immutable: bool) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, asset.content_type)
        .header(header::VARY, "accept-encoding")
        .header(
            header::CACHE_CONTROL,
            if immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            },
        );
    let body = match asset.gzip {
        Some(gz) if accepts_gzip(headers) => {
            builder = builder.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gz
        }
        _ => asset.body,
    };
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The fallback handler: an asset, the app shell, or the "not built" page.
pub async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    serve_from(ASSETS, SPA_BUILT, &uri, &headers)
}

/// Answers `uri` from an asset table (the embedded one, or a test's).
fn serve_from(assets: &'static [Asset], built: bool, uri: &Uri, headers: &HeaderMap) -> Response {
    if !built {
        return (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response();
    }
    let path = uri.path();
    if let Some(asset) = find(assets, path).filter(|a| a.path != "/index.html") {
        // trunk puts a content hash in every file name but index.html.
        return asset_response(asset, headers, true);
    }
    // A missing file with an extension is a real 404, not an app route.
    let last = path.rsplit('/').next().unwrap_or("");
    if last.contains('.') && path != "/index.html" {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match find(assets, "/index.html") {
        Some(index) => asset_response(index, headers, false),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_text(resp: Response) -> String {
        let bytes = block_on(axum::body::to_bytes(resp.into_body(), 1 << 20)).unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    static FAKE: &[Asset] = &[
        Asset {
            path: "/index.html",
            content_type: "text/html; charset=utf-8",
            body: b"<title>app</title>",
            gzip: None,
        },
        Asset {
            path: "/app-1234.wasm",
            content_type: "application/wasm",
            body: b"\0asm",
            gzip: Some(b"gz"),
        },
    ];

    #[test]
    fn without_a_built_dashboard_the_root_says_how_to_build_it() {
        let resp = serve_from(&[], false, &Uri::from_static("/"), &HeaderMap::new());
        assert_eq!(resp.status(), StatusCode::OK);
        let text = body_text(resp);
        assert!(text.contains("was not built into this binary"), "{text}");
        assert!(text.contains("./x run"), "{text}");
    }

    #[test]
    fn app_routes_get_the_shell_and_assets_are_immutable() {
        let deep = serve_from(
            FAKE,
            true,
            &Uri::from_static("/traces/abc?x=1"),
            &HeaderMap::new(),
        );
        assert_eq!(deep.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(body_text(deep), "<title>app</title>");
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let wasm = serve_from(FAKE, true, &Uri::from_static("/app-1234.wasm"), &h);
        assert_eq!(wasm.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(wasm.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(
            wasm.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let missing = serve_from(FAKE, true, &Uri::from_static("/nope.js"), &HeaderMap::new());
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip, deflate"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&h));
    }
}
