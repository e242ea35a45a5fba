//! Small reads of the browser's state: the clock and the time zone.

/// Now, in Unix nanoseconds.
pub fn now_ns() -> u64 {
    (js_sys::Date::now() * 1e6) as u64
}

/// The local time zone's offset east of UTC, in minutes (at this moment).
pub fn tz_offset() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// `2026-11-22 03:04:05.678` in local time.
pub fn date_time(ns: u64) -> String {
    crate::format::date_time(ns, tz_offset())
}

/// The full URL of `path` on this server (for "Copy link").
pub fn absolute(path: &str) -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    format!("{origin}{path}")
}
