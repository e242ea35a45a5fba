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

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sightline</title>
<style>body{font-family:system-ui,sans-serif;background:#111418;color:#e6e6e6;max-width:46rem;margin:4rem auto;line-height:1.5}
code,pre{background:#1e232a;padding:.1rem .3rem;border-radius:4px}pre{padding:.8rem}</style></head>
<body><h1>Sightline is running, but its dashboard was not built into this binary</h1>
<p>The OTLP receivers and the query API under <code>/api/</code> work. To get the dashboard,
build the front end before the back end, from the source checkout:</p>
<pre>./x run</pre>
<p>or by hand: <code>trunk build --release</code>, then <code>cargo build --release -p sightline</code>.</p>
<p>Health: <a href="/api/health" style="color:#7cb7ff">/api/health</a></p></body></html>"#;

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
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
    if !SPA_BUILT {
        return (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response();
    }
    let path = uri.path();
    if let Some(asset) = find(path).filter(|a| a.path != "/index.html") {
        // trunk puts a content hash in every file name but index.html.
        return asset_response(asset, &headers, true);
    }
    // A missing file with an extension is a real 404, not an app route.
    let last = path.rsplit('/').next().unwrap_or("");
    if last.contains('.') && path != "/index.html" {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match find("/index.html") {
        Some(index) => asset_response(index, &headers, false),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
