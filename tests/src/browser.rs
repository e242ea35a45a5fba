//! A real headless Chromium driven through chromedriver (WebDriver).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

/// The flags the browser runs with: headless, sandbox-less (root in CI), and
/// no background traffic to the (unreachable) internet.
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1366,900",
];

/// A chromedriver process and a browser session on it; both end on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The full path of the first of `names` found on PATH.
fn find_program(names: &[&str]) -> String {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&paths).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| {
            panic!(
                "none of {names:?} is on PATH: install chromium and chromium-driver (./x test does)"
            )
        })
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium session.
    pub async fn start() -> Self {
        let driver_bin = find_program(&["chromedriver"]);
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
        let port = free_port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "args": args, "binary": chromium }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot open a Chromium session through chromedriver: {e}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Closes the session and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A Chrome DevTools Protocol command sent through chromedriver's
/// `goog/cdp/execute` endpoint (permissions, profiling).
#[derive(Debug)]
struct CdpCommand {
    method: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Runs the DevTools command `method` with `params` in the session's browser
/// and returns its result.
pub async fn cdp(
    client: &Client,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, fantoccini::error::CmdError> {
    client
        .issue_cmd(CdpCommand {
            method: method.to_owned(),
            params,
        })
        .await
}

/// Runs `script` (a function body returning a value) until it returns
/// something truthy, for up to `secs` seconds; panics with `what` otherwise.
pub async fn wait_js(client: &Client, script: &str, secs: u64, what: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = serde_json::Value::Null;
    loop {
        if let Ok(v) = client.execute(script, vec![]).await {
            let truthy = match &v {
                serde_json::Value::Null => false,
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
                serde_json::Value::String(s) => !s.is_empty(),
                serde_json::Value::Array(a) => !a.is_empty(),
                serde_json::Value::Object(_) => true,
            };
            if truthy {
                return v;
            }
            last = v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {secs} s waiting for {what}; last value: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The texts of every element matching `css`, in document order.
pub async fn texts(client: &Client, css: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll({})).map(e => e.textContent.trim());",
        serde_json::Value::String(css.to_owned())
    );
    client
        .execute(&script, vec![])
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// The values of attribute `attr` of every element matching `css`.
pub async fn attrs(client: &Client, css: &str, attr: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll({})).map(e => e.getAttribute({}) || '');",
        serde_json::Value::String(css.to_owned()),
        serde_json::Value::String(attr.to_owned())
    );
    client
        .execute(&script, vec![])
        .await
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// The path and query of the current URL (`/traces?service=a`).
pub async fn path_and_query(client: &Client) -> String {
    let u = client.current_url().await.expect("current url");
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    }
}

/// Navigates to `url` and waits (up to 20 s) for an element matching `css`.
pub async fn open(client: &Client, url: &str, css: &str) {
    client.goto(url).await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear at {url}: {e}"));
}

/// Saves a screenshot as `target/test-artifacts/<name>.png` (best effort:
/// screenshots are for people reading a run, not part of any assertion).
pub async fn shot(client: &Client, name: &str) {
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(crate::artifacts_dir().join(format!("{name}.png")), png);
    }
}

/// Fills the login page's token field and submits it (the page must be
/// showing; where it leads is for the caller to wait for).
pub async fn submit_login(client: &Client, token: &str) {
    let field = client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(fantoccini::Locator::Id("token"))
        .await
        .expect("the login page's token field");
    field.send_keys(token).await.expect("typing the token");
    client
        .find(fantoccini::Locator::Id("login-submit"))
        .await
        .expect("the login button")
        .click()
        .await
        .expect("submitting the login");
}

/// A script returning how many elements match `css`.
pub fn count(css: &str) -> String {
    format!(
        "return document.querySelectorAll({}).length",
        serde_json::json!(css)
    )
}
