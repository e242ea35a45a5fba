//! Auto-refresh ticks. A view calls [`use_poll`] with its own reason to
//! pause (a filter being edited, a search applied, a log open) and whether a
//! fetch is under way; it gets a counter to add to its fetch effect's
//! dependencies. The counter goes up every interval while the setting is on,
//! the tab is visible, the view is not paused and nothing is in flight (so
//! polls never stack), at once when the tab comes back, and when the user
//! presses refresh. The view's state is published for the header
//! ([`PollStatusContext`]); the setting and the refresh button are shared
//! through [`RefreshContext`] and kept in local storage.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::listener::EventListener;
use crate::refresh::{OFF_KEY, PauseReason, PollReport, RefreshSetting, SECS_KEY};

/// The user's setting and the refresh button's presses.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RefreshControl {
    pub setting: RefreshSetting,
    /// Presses of the refresh button so far.
    pub manual: u32,
}

pub enum ControlAction {
    /// A new setting (stored at once).
    Set(RefreshSetting),
    /// The refresh button.
    RefreshNow,
}

impl Reducible for RefreshControl {
    type Action = ControlAction;

    fn reduce(self: Rc<Self>, action: ControlAction) -> Rc<Self> {
        let mut next = *self;
        match action {
            ControlAction::Set(s) => {
                save(s);
                next.setting = s;
            }
            ControlAction::RefreshNow => next.manual = next.manual.wrapping_add(1),
        }
        Rc::new(next)
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

fn save(s: RefreshSetting) {
    if let Some(st) = storage() {
        let (secs, off) = s.stored();
        let _ = st.set_item(SECS_KEY, &secs);
        let _ = match off {
            Some(v) => st.set_item(OFF_KEY, v),
            None => st.remove_item(OFF_KEY),
        };
    }
}

impl RefreshControl {
    /// The stored setting (on, every 5 s when nothing is stored).
    pub fn load() -> Self {
        let get = |k: &str| storage().and_then(|s| s.get_item(k).ok().flatten());
        RefreshControl {
            setting: RefreshSetting::parse(get(SECS_KEY).as_deref(), get(OFF_KEY).as_deref()),
            manual: 0,
        }
    }
}

/// The setting and the refresh button, shared by every view.
pub type RefreshContext = UseReducerHandle<RefreshControl>;

/// The report of the view on screen. Each [`use_poll`] has an owner number,
/// so a view leaving after the next one arrived cannot erase its report.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PollStatus {
    owner: u32,
    pub report: PollReport,
}

pub enum StatusAction {
    Publish(u32, PollReport),
    Withdraw(u32),
}

impl Reducible for PollStatus {
    type Action = StatusAction;

    fn reduce(self: Rc<Self>, action: StatusAction) -> Rc<Self> {
        match action {
            StatusAction::Publish(owner, report) => Rc::new(PollStatus { owner, report }),
            StatusAction::Withdraw(owner) if owner == self.owner => Rc::new(PollStatus::default()),
            StatusAction::Withdraw(_) => self,
        }
    }
}

/// What the header shows about the view on screen.
pub type PollStatusContext = UseReducerHandle<PollStatus>;

/// True when the page is in a background tab.
fn hidden_now() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// Whether the tab is hidden, updated on `visibilitychange`.
#[hook]
pub fn use_page_hidden() -> bool {
    let hidden = use_state(hidden_now);
    {
        let hidden = hidden.setter();
        use_effect_with((), move |_| {
            let listener =
                EventListener::on_document(&["visibilitychange"], move || hidden.set(hidden_now()));
            move || drop(listener)
        });
    }
    *hidden
}

thread_local! {
    static NEXT_OWNER: Cell<u32> = const { Cell::new(1) };
}

fn next_owner() -> u32 {
    NEXT_OWNER.with(|n| {
        let v = n.get();
        n.set(v.wrapping_add(1));
        v
    })
}

/// The refresh counter of a view (see the module doc). `paused` is the
/// view's own reason to wait; `busy` is true while its fetch runs.
#[hook]
pub fn use_poll(paused: Option<PauseReason>, busy: bool) -> u32 {
    let control = use_context::<RefreshContext>()
        .map(|c| *c)
        .unwrap_or_default();
    let status = use_context::<PollStatusContext>();
    let hidden = use_page_hidden();
    let owner = *use_state(next_owner);
    let ticks = use_state(|| 0u32);
    let count = use_mut_ref(|| 0u32);
    let updated = use_state(|| None::<f64>);

    // Data arrived when a fetch ends.
    {
        let updated = updated.setter();
        let was_busy = use_mut_ref(|| false);
        use_effect_with(busy, move |&busy| {
            if *was_busy.borrow() && !busy {
                updated.set(Some(js_sys::Date::now()));
            }
            *was_busy.borrow_mut() = busy;
        });
    }

    let setting = control.setting;
    let bump = {
        let ticks = ticks.setter();
        let count = count.clone();
        move || {
            let mut c = count.borrow_mut();
            *c = c.wrapping_add(1);
            ticks.set(*c);
        }
    };
    // The timer runs only while a tick would fetch; it is dropped (cleared)
    // on every change and on unmount.
    let running = setting.on && !hidden && paused.is_none() && !busy;
    {
        let bump = bump.clone();
        use_effect_with((setting.secs, running), move |&(secs, running)| {
            let timer = running.then(|| Interval::new(secs.max(1) * 1000, bump));
            move || drop(timer)
        });
    }
    // Back from the background: fetch at once rather than at the next tick.
    {
        let was_hidden = use_mut_ref(|| hidden);
        let live = setting.on && paused.is_none() && !busy;
        use_effect_with(hidden, move |&hidden| {
            if *was_hidden.borrow() && !hidden && live {
                bump();
            }
            *was_hidden.borrow_mut() = hidden;
        });
    }

    // Tell the header.
    let report = PollReport {
        polls: true,
        paused,
        busy,
        updated_ms: *updated,
    };
    {
        let status = status.clone();
        use_effect_with(report, move |r| {
            if let Some(s) = status {
                s.dispatch(StatusAction::Publish(owner, *r));
            }
        });
    }
    use_effect_with((), move |_| {
        move || {
            if let Some(s) = status {
                s.dispatch(StatusAction::Withdraw(owner));
            }
        }
    });

    ticks.wrapping_add(control.manual)
}
