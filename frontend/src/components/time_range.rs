//! The time-window picker every list shares: relative presets, all time, or
//! a custom from/to in local time.

use shared::query::TimeWindow;
use yew::prelude::*;

use crate::browser::{now_ns, tz_offset};
use crate::format;
use crate::url::{RANGE_PRESETS, all_time, is_all_time};

#[derive(Properties, PartialEq)]
pub struct TimeRangeProps {
    pub window: TimeWindow,
    pub on_change: Callback<TimeWindow>,
}

/// A preset select; "Custom…" reveals from/to inputs applied together.
#[function_component(TimeRange)]
pub fn time_range(props: &TimeRangeProps) -> Html {
    let w = &props.window;
    let custom = w.from.is_some() && !is_all_time(w) || w.to.is_some();
    let show_custom = use_state(|| custom);
    {
        let show_custom = show_custom.clone();
        use_effect_with(custom, move |&c| {
            if c {
                show_custom.set(true);
            }
        });
    }
    let selected = if is_all_time(w) {
        "all".to_owned()
    } else if *show_custom {
        "custom".to_owned()
    } else {
        w.range.clone().unwrap_or_default()
    };
    let on_select = {
        let on_change = props.on_change.clone();
        let show_custom = show_custom.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            match v.as_str() {
                "custom" => show_custom.set(true),
                "all" => {
                    show_custom.set(false);
                    on_change.emit(all_time());
                }
                r => {
                    show_custom.set(false);
                    on_change.emit(TimeWindow::last(r));
                }
            }
        })
    };
    let off = tz_offset();
    let bounds = w.resolve(now_ns()).ok();
    let from_value = bounds
        .filter(|b| b.from > 0)
        .map(|b| format::datetime_local(b.from, off))
        .unwrap_or_default();
    let to_value = bounds
        .filter(|b| b.to != u64::MAX)
        .map(|b| format::datetime_local(b.to, off))
        .unwrap_or_else(|| format::datetime_local(now_ns(), off));
    let from_ref = use_node_ref();
    let to_ref = use_node_ref();
    let apply = {
        let on_change = props.on_change.clone();
        let (from_ref, to_ref) = (from_ref.clone(), to_ref.clone());
        Callback::from(move |_: MouseEvent| {
            let read = |r: &NodeRef| {
                r.cast::<web_sys::HtmlInputElement>()
                    .and_then(|i| format::parse_datetime_local(&i.value(), off))
            };
            let from = read(&from_ref);
            let to = read(&to_ref);
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                return;
            }
            on_change.emit(TimeWindow {
                from: Some(from.map_or_else(|| "0".to_owned(), format::rfc3339)),
                to: to.map(format::rfc3339),
                range: None,
            });
        })
    };
    let preset_known = RANGE_PRESETS.iter().any(|(r, _)| *r == selected);
    html! {
        <div class="time-range">
            <select class="range-select" id="range" onchange={on_select} title="Time range">
                { for RANGE_PRESETS.iter().map(|(r, label)| html! {
                    <option value={*r} selected={selected == *r}>{ *label }</option>
                }) }
                if !preset_known && !matches!(selected.as_str(), "all" | "custom") {
                    <option value={selected.clone()} selected=true>{ format!("Last {selected}") }</option>
                }
                <option value="all" selected={selected == "all"}>{ "All time" }</option>
                <option value="custom" selected={selected == "custom"}>{ "Custom…" }</option>
            </select>
            if *show_custom {
                <input type="datetime-local" class="dt" id="range-from" ref={from_ref} value={from_value} title="From (local time)" />
                <span class="muted">{ "→" }</span>
                <input type="datetime-local" class="dt" id="range-to" ref={to_ref} value={to_value} title="To (local time)" />
                <button type="button" class="btn small" id="range-apply" onclick={apply}>{ "Apply" }</button>
            }
        </div>
    }
}
