//! Copying text: the asynchronous Clipboard API where the page is a secure
//! context, else (plain `http://` from another host, or when the API refuses)
//! a selected off-screen textarea and `document.execCommand('copy')`.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// How a copy went, for the confirmation (and the tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Copied {
    Clipboard,
    Fallback,
    Failed,
}

impl Copied {
    pub fn as_str(self) -> &'static str {
        match self {
            Copied::Clipboard => "clipboard",
            Copied::Fallback => "fallback",
            Copied::Failed => "failed",
        }
    }
}

/// Copies `text`, then calls `done` with the way it went.
pub fn copy(text: String, done: impl FnOnce(Copied) + 'static) {
    let Some(window) = web_sys::window() else {
        done(Copied::Failed);
        return;
    };
    let clipboard = js_sys::Reflect::get(&window.navigator(), &"clipboard".into())
        .ok()
        .filter(|c| !c.is_undefined() && !c.is_null());
    let write = clipboard.as_ref().and_then(|c| {
        js_sys::Reflect::get(c, &"writeText".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()
    });
    match (window.is_secure_context(), clipboard, write) {
        (true, Some(clipboard), Some(write)) => {
            let promise = write
                .call1(&clipboard, &text.clone().into())
                .ok()
                .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
            match promise {
                Some(p) => wasm_bindgen_futures::spawn_local(async move {
                    match JsFuture::from(p).await {
                        Ok(_) => done(Copied::Clipboard),
                        Err(_) => done(fallback(&text)),
                    }
                }),
                None => done(fallback(&text)),
            }
        }
        _ => done(fallback(&text)),
    }
}

/// The textarea + `execCommand('copy')` path.
fn fallback(text: &str) -> Copied {
    let run = || -> Option<bool> {
        let document = web_sys::window()?.document()?;
        let area: web_sys::HtmlTextAreaElement =
            document.create_element("textarea").ok()?.dyn_into().ok()?;
        area.set_value(text);
        area.set_read_only(true);
        let _ = area.set_attribute("style", "position:fixed;top:-1000px;left:-1000px;opacity:0");
        let _ = area.set_attribute("aria-hidden", "true");
        let body = document.body()?;
        body.append_child(&area).ok()?;
        area.select();
        let ok = document
            .dyn_ref::<web_sys::HtmlDocument>()
            .and_then(|d| d.exec_command("copy").ok())
            .unwrap_or(false);
        area.remove();
        Some(ok)
    };
    if run() == Some(true) {
        Copied::Fallback
    } else {
        Copied::Failed
    }
}
