//! Performance marks of the trace view (`performance.mark`), so the time
//! from a trace's data arriving to its first rows on screen can be measured
//! in a real browser (`tests/examples/trace_view_bench.rs` reads them). They
//! cost a few microseconds and are invisible otherwise.

/// The trace's JSON body has arrived (before it is decoded).
pub const TRACE_RESPONSE: &str = "sightline:trace-response";
/// The trace is decoded.
pub const TRACE_DECODED: &str = "sightline:trace-decoded";
/// The waterfall's first rows are in the document.
pub const TRACE_ROWS: &str = "sightline:trace-rows";
/// ... and the browser has painted them (the next animation frame).
pub const TRACE_PAINTED: &str = "sightline:trace-painted";

fn performance() -> Option<web_sys::Performance> {
    web_sys::window().and_then(|w| w.performance())
}

/// Records `name` now, replacing an earlier mark of that name.
pub fn mark(name: &str) {
    if let Some(p) = performance() {
        p.clear_marks_with_mark_name(name);
        let _ = p.mark(name);
    }
}

/// Forgets every mark of the trace view (a new trace is being fetched).
pub fn clear_trace_marks() {
    if let Some(p) = performance() {
        for name in [TRACE_RESPONSE, TRACE_DECODED, TRACE_ROWS, TRACE_PAINTED] {
            p.clear_marks_with_mark_name(name);
        }
    }
}

/// Records [`TRACE_ROWS`] now and [`TRACE_PAINTED`] once the frame showing
/// them is painted: an animation frame runs just before the paint, and a
/// task queued from it runs just after.
pub fn mark_rows_and_paint() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    mark(TRACE_ROWS);
    let Some(w) = web_sys::window() else { return };
    let after_frame = Closure::once_into_js(move || {
        if let Some(w) = web_sys::window() {
            let after_paint = Closure::once_into_js(|| mark(TRACE_PAINTED));
            let _ = w.set_timeout_with_callback(after_paint.unchecked_ref());
        }
    });
    let _ = w.request_animation_frame(after_frame.unchecked_ref());
}
