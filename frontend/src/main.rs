//! Entry point of the dashboard: replaces the static loading notice with the
//! Yew application.

mod api;
mod app;
mod browser;
mod chart_scale;
mod clipboard;
mod components;
mod format;
mod hooks;
mod listener;
mod pages;
mod paging;
mod palette;
mod refresh;
mod shared_ref;
mod theme;
mod timing;
mod url;

fn main() {
    theme::Theme::load().apply();
    if let Some(boot) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        boot.remove();
    }
    yew::Renderer::<app::App>::new().render();
}
