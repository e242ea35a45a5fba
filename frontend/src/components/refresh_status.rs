//! The auto-refresh indicator of the top bar: live or paused and why, when
//! the view's data last arrived, a refresh button and the on/off switch.

use yew::prelude::*;

use crate::browser::tz_offset;
use crate::format;
use crate::hooks::use_poll::{ControlAction, PollStatusContext, RefreshContext, use_page_hidden};
use crate::refresh::{PollState, RefreshSetting, poll_state, state_label};

#[function_component(RefreshStatus)]
pub fn refresh_status() -> Html {
    let (Some(control), Some(status)) = (
        use_context::<RefreshContext>(),
        use_context::<PollStatusContext>(),
    ) else {
        return html! {};
    };
    let hidden = use_page_hidden();
    let setting = control.setting;
    let report = status.report;
    let state = poll_state(setting, hidden, &report);
    let title = match state {
        PollState::Idle => "This view has nothing to refresh.".to_owned(),
        PollState::Live => format!(
            "Re-reads the newest data every {} s; pauses while you edit a filter, search, or read a detail.",
            setting.secs
        ),
        PollState::Paused(r) => r.sentence().to_owned(),
    };
    let reason = match state {
        PollState::Paused(r) => Some(r.short()),
        _ => None,
    };
    let updated = report
        .updated_ms
        .map(|ms| format::clock((ms * 1e6) as u64, tz_offset()));
    let refresh_now = {
        let control = control.clone();
        Callback::from(move |_: MouseEvent| control.dispatch(ControlAction::RefreshNow))
    };
    let toggle = {
        let control = control.clone();
        Callback::from(move |e: Event| {
            let on = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .checked();
            control.dispatch(ControlAction::Set(RefreshSetting { on, ..setting }));
        })
    };
    html! {
        <div class="refresh" id="refresh-status" data-state={state.as_str()} data-reason={reason}>
            <span class="refresh-text" {title}>
                <span class={classes!("dot", state.as_str())}></span>
                <span id="refresh-state">{ state_label(state) }</span>
                if let Some(u) = updated {
                    <span class="muted updated" id="refresh-updated" title="When this view's data last arrived">{ format!("· {u}") }</span>
                }
            </span>
            <button type="button" class="btn icon" id="refresh-now" title="Refresh now"
                disabled={!report.polls || report.busy} onclick={refresh_now}>{ "↻" }</button>
            <label class="switch" title="Auto-refresh on or off (interval: About & settings)">
                <input type="checkbox" id="refresh-toggle" checked={setting.on} onchange={toggle} />
                { "Auto" }
            </label>
        </div>
    }
}
