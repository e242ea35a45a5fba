//! DOM event listeners owned by Rust values: added on creation, removed when
//! dropped, so a hook's cleanup (dropping it) never leaves one behind.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// `f` listening to `events` on `target` until dropped.
pub struct EventListener {
    target: web_sys::EventTarget,
    events: &'static [&'static str],
    closure: Closure<dyn FnMut()>,
}

impl EventListener {
    pub fn new(
        target: &web_sys::EventTarget,
        events: &'static [&'static str],
        f: impl FnMut() + 'static,
    ) -> Self {
        let closure = Closure::<dyn FnMut()>::new(f);
        for ev in events {
            let _ = target.add_event_listener_with_callback(ev, closure.as_ref().unchecked_ref());
        }
        EventListener {
            target: target.clone(),
            events,
            closure,
        }
    }

    /// A listener on the window, if there is one.
    pub fn on_window(events: &'static [&'static str], f: impl FnMut() + 'static) -> Option<Self> {
        web_sys::window().map(|w| Self::new(&w, events, f))
    }

    /// A listener on the document, if there is one.
    pub fn on_document(events: &'static [&'static str], f: impl FnMut() + 'static) -> Option<Self> {
        web_sys::window()
            .and_then(|w| w.document())
            .map(|d| Self::new(&d, events, f))
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        for ev in self.events {
            let _ = self
                .target
                .remove_event_listener_with_callback(ev, self.closure.as_ref().unchecked_ref());
        }
    }
}
