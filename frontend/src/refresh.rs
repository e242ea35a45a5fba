//! Auto-refresh as the header shows it: the user's setting (on or off, every
//! few seconds), what the current view reports (whether it polls, why it is
//! paused, when its data was last fetched), and the state and words that
//! follow from them. Pure and tested natively; `hooks::use_poll` drives the
//! timer and `components::refresh_status` draws the result.

/// The intervals offered, in seconds.
pub const INTERVALS: [u32; 5] = [2, 5, 10, 30, 60];

/// The interval when none was chosen.
pub const DEFAULT_SECS: u32 = 5;

/// Local-storage keys: the interval in seconds, and `"off"` when switched off.
pub const SECS_KEY: &str = "sightline.refresh";
pub const OFF_KEY: &str = "sightline.refresh.off";

/// The user's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshSetting {
    pub on: bool,
    pub secs: u32,
}

impl Default for RefreshSetting {
    fn default() -> Self {
        RefreshSetting {
            on: true,
            secs: DEFAULT_SECS,
        }
    }
}

impl RefreshSetting {
    /// From the stored values. Earlier versions stored `"0"` as the
    /// interval for "off"; an interval not offered falls back to the default.
    pub fn parse(secs: Option<&str>, off: Option<&str>) -> Self {
        let n = secs.and_then(|s| s.trim().parse::<u32>().ok());
        RefreshSetting {
            on: n != Some(0) && off.map(str::trim) != Some("off"),
            secs: n.filter(|n| INTERVALS.contains(n)).unwrap_or(DEFAULT_SECS),
        }
    }

    /// The values to store under [`SECS_KEY`] and [`OFF_KEY`] (`None`: remove).
    pub fn stored(self) -> (String, Option<&'static str>) {
        (self.secs.to_string(), (!self.on).then_some("off"))
    }
}

/// Why the current view does not refresh now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PauseReason {
    /// The user switched auto-refresh off.
    Off,
    /// The tab is in the background.
    Hidden,
    /// A filter field has the focus.
    Editing,
    /// A free-text search is applied: its hits stay put while they are read.
    Search,
    /// A log row is expanded.
    DetailOpen,
    /// A trace is open (the trace view never polls; refresh reloads it).
    TraceOpen,
    /// The view shows nothing that changes yet (no metric chosen).
    NothingChosen,
}

impl PauseReason {
    /// A word or two for the header.
    pub fn short(self) -> &'static str {
        match self {
            PauseReason::Off => "off",
            PauseReason::Hidden => "tab hidden",
            PauseReason::Editing => "editing",
            PauseReason::Search => "search",
            PauseReason::DetailOpen => "log open",
            PauseReason::TraceOpen => "trace open",
            PauseReason::NothingChosen => "nothing chosen",
        }
    }

    /// The whole reason, for the tooltip.
    pub fn sentence(self) -> &'static str {
        match self {
            PauseReason::Off => "Auto-refresh is off. ↻ fetches the newest data.",
            PauseReason::Hidden => "Paused while the tab is in the background.",
            PauseReason::Editing => "Paused while you edit a filter.",
            PauseReason::Search => {
                "Paused while a text search is applied, so its results stay put. ↻ fetches the newest."
            }
            PauseReason::DetailOpen => "Paused while a log is open. ↻ fetches the newest.",
            PauseReason::TraceOpen => {
                "A trace does not refresh by itself. ↻ reloads it (spans that arrived since)."
            }
            PauseReason::NothingChosen => "Nothing to refresh until a metric is chosen.",
        }
    }
}

/// What the current view tells the header.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PollReport {
    /// The view has data to refresh (lists, charts, a trace); false elsewhere.
    pub polls: bool,
    /// The view's own reason not to poll now.
    pub paused: Option<PauseReason>,
    /// A fetch is under way (the refresh button waits; polls never stack).
    pub busy: bool,
    /// When the view's data last arrived, in milliseconds since the epoch.
    pub updated_ms: Option<f64>,
}

/// What the header shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollState {
    /// The view has nothing to refresh.
    Idle,
    Live,
    Paused(PauseReason),
}

impl PollState {
    /// `data-state` of the indicator.
    pub fn as_str(self) -> &'static str {
        match self {
            PollState::Idle => "idle",
            PollState::Live => "live",
            PollState::Paused(_) => "paused",
        }
    }
}

/// The state, by precedence: a view without data is idle; the user's "off"
/// beats a hidden tab, which beats the view's own reason.
pub fn poll_state(setting: RefreshSetting, hidden: bool, report: &PollReport) -> PollState {
    if !report.polls {
        return PollState::Idle;
    }
    if report.paused == Some(PauseReason::TraceOpen) {
        return PollState::Paused(PauseReason::TraceOpen);
    }
    if !setting.on {
        return PollState::Paused(PauseReason::Off);
    }
    if hidden {
        return PollState::Paused(PauseReason::Hidden);
    }
    match report.paused {
        Some(r) => PollState::Paused(r),
        None => PollState::Live,
    }
}

/// The indicator's words: `Live`, `Paused: editing`, …
pub fn state_label(state: PollState) -> String {
    match state {
        PollState::Idle => "Nothing to refresh".to_owned(),
        PollState::Live => "Live".to_owned(),
        PollState::Paused(PauseReason::Off) => "Auto-refresh off".to_owned(),
        PollState::Paused(r) => format!("Paused: {}", r.short()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_settings_round_trip_and_old_off_is_kept() {
        assert_eq!(RefreshSetting::parse(None, None), RefreshSetting::default());
        let s = RefreshSetting {
            on: false,
            secs: 30,
        };
        let (secs, off) = s.stored();
        assert_eq!(RefreshSetting::parse(Some(&secs), off), s);
        let s = RefreshSetting { on: true, secs: 2 };
        let (secs, off) = s.stored();
        assert_eq!(off, None);
        assert_eq!(RefreshSetting::parse(Some(&secs), off), s);
        // "0" was "off" before the switch existed.
        assert_eq!(
            RefreshSetting::parse(Some("0"), None),
            RefreshSetting {
                on: false,
                secs: DEFAULT_SECS
            }
        );
        assert_eq!(RefreshSetting::parse(Some("7"), None).secs, DEFAULT_SECS);
        assert_eq!(
            RefreshSetting::parse(Some("junk"), Some("no")),
            RefreshSetting::default()
        );
    }

    #[test]
    fn the_state_follows_the_setting_the_tab_and_the_view() {
        let on = RefreshSetting::default();
        let off = RefreshSetting { on: false, ..on };
        let list = PollReport {
            polls: true,
            ..PollReport::default()
        };
        let editing = PollReport {
            paused: Some(PauseReason::Editing),
            ..list
        };
        assert_eq!(poll_state(on, false, &list), PollState::Live);
        assert_eq!(
            poll_state(on, false, &PollReport::default()),
            PollState::Idle
        );
        assert_eq!(
            poll_state(on, false, &editing),
            PollState::Paused(PauseReason::Editing)
        );
        assert_eq!(
            poll_state(on, true, &editing),
            PollState::Paused(PauseReason::Hidden)
        );
        assert_eq!(
            poll_state(off, true, &editing),
            PollState::Paused(PauseReason::Off)
        );
        // A trace says so whatever the setting: it never polls.
        let trace = PollReport {
            paused: Some(PauseReason::TraceOpen),
            ..list
        };
        assert_eq!(
            poll_state(off, true, &trace),
            PollState::Paused(PauseReason::TraceOpen)
        );
        // Busy is not a pause: the state stays live while a poll runs.
        let busy = PollReport { busy: true, ..list };
        assert_eq!(poll_state(on, false, &busy), PollState::Live);
    }

    #[test]
    fn labels_say_live_or_paused_and_why() {
        assert_eq!(state_label(PollState::Live), "Live");
        assert_eq!(
            state_label(PollState::Paused(PauseReason::Search)),
            "Paused: search"
        );
        assert_eq!(
            state_label(PollState::Paused(PauseReason::Off)),
            "Auto-refresh off"
        );
        for r in [
            PauseReason::Off,
            PauseReason::Hidden,
            PauseReason::Editing,
            PauseReason::Search,
            PauseReason::DetailOpen,
            PauseReason::TraceOpen,
            PauseReason::NothingChosen,
        ] {
            assert!(!r.short().is_empty() && r.sentence().ends_with('.'));
        }
    }
}
