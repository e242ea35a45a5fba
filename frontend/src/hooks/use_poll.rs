//! Auto-refresh: a tick counter that advances every interval while the page
//! is visible and the caller does not pause it (a request in flight, a
//! search being typed, a detail open). The interval is the user's choice,
//! shared by every view through [`RefreshContext`] and kept in local storage.

use gloo_timers::callback::Interval;
use yew::prelude::*;

/// The intervals offered, in seconds (0 = off).
pub const CHOICES: [u32; 6] = [0, 2, 5, 10, 30, 60];

const STORAGE_KEY: &str = "sightline.refresh";

/// The user's auto-refresh interval in seconds (0 = off).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refresh(pub u32);

impl Refresh {
    /// The stored choice, or 5 s.
    pub fn load() -> Self {
        let stored = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|v| CHOICES.contains(v));
        Refresh(stored.unwrap_or(5))
    }

    pub fn save(self) {
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = s.set_item(STORAGE_KEY, &self.0.to_string());
        }
    }
}

/// The shared setting and its setter.
pub type RefreshContext = UseStateHandle<Refresh>;

/// True when the page is in a background tab.
fn hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// A counter that goes up once per auto-refresh interval; pages add it to
/// their fetch effect's dependencies. It never ticks while `paused`, while
/// the tab is hidden or when auto-refresh is off. The timer is dropped
/// (cleared) on every change and on unmount.
#[hook]
pub fn use_poll(paused: bool) -> u32 {
    let refresh = use_context::<RefreshContext>().map_or(Refresh(5), |c| *c);
    let tick = use_state(|| 0u32);
    let count = use_mut_ref(|| 0u32);
    {
        let tick = tick.setter();
        use_effect_with((refresh.0, paused), move |&(secs, paused)| {
            let timer = (secs > 0 && !paused).then(|| {
                Interval::new(secs * 1000, move || {
                    if !hidden() {
                        let mut c = count.borrow_mut();
                        *c = c.wrapping_add(1);
                        tick.set(*c);
                    }
                })
            });
            move || drop(timer)
        });
    }
    *tick
}
