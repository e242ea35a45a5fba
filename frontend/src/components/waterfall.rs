//! The trace waterfall: one row per visible span from
//! `shared::layout::waterfall::layout`, indented by depth, with its bar
//! placed relative to the trace's start; error spans in red, the critical
//! path marked, search matches highlighted. Keyboard: ↑/↓ move the
//! selection, ← collapses (or goes to the parent), → expands (or goes to
//! the first child), Enter toggles the subtree.

use std::collections::HashSet;

use shared::SpanId;
use shared::layout::waterfall::{Row, RowKind, TraceTree, parent_row};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::format;
use crate::listener::EventListener;
use crate::palette::service_color;
use crate::shared_ref::Shared;

/// Height of one row in pixels (the stylesheet gives rows exactly this).
const ROW_H: f64 = 26.0;
/// Traces up to this many rows are drawn whole; larger ones only around the viewport.
const WINDOW_FROM: usize = 400;
/// Rows drawn above and below the viewport (each row costs ~15 DOM nodes,
/// and the first screen of a large trace waits for all of them).
const OVERSCAN: usize = 20;

/// The rows `[start, end)` to draw for a body whose top is `top` pixels
/// below the top of a viewport `height` pixels high (rounded to tens so
/// scrolling re-renders rarely).
pub fn visible_rows(n: usize, top: f64, height: f64) -> (usize, usize) {
    if n <= WINDOW_FROM {
        return (0, n);
    }
    let first = ((-top) / ROW_H).floor().max(0.0) as usize;
    let last = ((height - top) / ROW_H).ceil().max(0.0) as usize;
    let start = (first.saturating_sub(OVERSCAN) / 10 * 10).min(n);
    let end = ((last + OVERSCAN).div_ceil(10) * 10).min(n);
    (start, end.max(start))
}

/// The window's height in pixels.
fn viewport_height() -> f64 {
    web_sys::window()
        .and_then(|w| w.inner_height().ok())
        .and_then(|h| h.as_f64())
        .unwrap_or(1000.0)
}

#[derive(Properties, PartialEq)]
pub struct WaterfallProps {
    pub tree: Shared<TraceTree>,
    pub rows: Shared<Vec<Row>>,
    pub selected: Option<SpanId>,
    pub matches: Shared<HashSet<SpanId>>,
    /// The search hit jumped to last.
    pub current_match: Option<SpanId>,
    /// Select a span; `true` when a click (a new history entry), `false` for keys.
    pub on_select: Callback<(SpanId, bool)>,
    pub on_toggle: Callback<SpanId>,
}

#[function_component(Waterfall)]
pub fn waterfall(props: &WaterfallProps) -> Html {
    let tree = &props.tree;
    let rows = &props.rows;
    let total = tree.end().saturating_sub(tree.start());
    let body_ref = use_node_ref();
    let n = rows.len();
    // No rows until the body is placed: the measure below runs before the
    // first paint and draws exactly the rows in view (a large trace's first
    // screen waits for every row built).
    let range = use_state(|| (0, 0));

    // Large traces draw only the rows near the viewport.
    {
        let body_ref = body_ref.clone();
        let range = range.clone();
        use_effect_with(n, move |&n| {
            let current = std::rc::Rc::new(std::cell::Cell::new((usize::MAX, 0)));
            let measure = move || {
                let Some(body) = body_ref.cast::<web_sys::Element>() else {
                    return;
                };
                let top = body.get_bounding_client_rect().top();
                let r = visible_rows(n, top, viewport_height());
                if current.get() != r {
                    current.set(r);
                    range.set(r);
                }
            };
            measure();
            let listener = EventListener::on_window(&["scroll", "resize"], measure);
            move || drop(listener)
        });
    }

    // The first rows of a trace are on screen: the end of "open a trace".
    let drawn = range.1 > range.0;
    use_effect_with((tree.clone(), drawn), |&(_, drawn)| {
        if drawn {
            crate::timing::mark_rows_and_paint();
        }
    });

    // Keep the selected row (or the current search hit) in view.
    {
        let body_ref = body_ref.clone();
        let rows = rows.clone();
        let target = props.current_match.or(props.selected);
        use_effect_with(target, move |target| {
            let idx = target.and_then(|id| rows.iter().position(|r| r.span_id == Some(id)));
            if let (Some(i), Some(body), Some(w)) =
                (idx, body_ref.cast::<web_sys::Element>(), web_sys::window())
            {
                let top = body.get_bounding_client_rect().top() + i as f64 * ROW_H;
                let height = w
                    .inner_height()
                    .ok()
                    .and_then(|h| h.as_f64())
                    .unwrap_or(800.0);
                // Below the sticky bars at the top, above the bottom edge.
                if top < 110.0 || top > height - 2.0 * ROW_H {
                    let y = w.scroll_y().unwrap_or(0.0) + top - height / 3.0;
                    w.scroll_to_with_x_and_y(0.0, y.max(0.0));
                }
            }
        });
    }

    let onkeydown = {
        let rows = rows.clone();
        let selected = props.selected;
        let on_select = props.on_select.clone();
        let on_toggle = props.on_toggle.clone();
        Callback::from(move |e: KeyboardEvent| {
            let span_rows: Vec<usize> = (0..rows.len())
                .filter(|&i| rows[i].kind == RowKind::Span)
                .collect();
            let Some(&first) = span_rows.first() else {
                return;
            };
            let cur = selected.and_then(|s| rows.iter().position(|r| r.span_id == Some(s)));
            let pick = |i: usize| rows.get(i).and_then(|r| r.span_id);
            let target: Option<SpanId> = match e.key().as_str() {
                "ArrowDown" => match cur {
                    None => pick(first),
                    Some(c) => span_rows.iter().find(|&&i| i > c).and_then(|&i| pick(i)),
                },
                "ArrowUp" => match cur {
                    None => pick(first),
                    Some(c) => span_rows
                        .iter()
                        .rev()
                        .find(|&&i| i < c)
                        .and_then(|&i| pick(i)),
                },
                "ArrowLeft" => match cur.and_then(|c| rows.get(c).map(|r| (c, r))) {
                    Some((_, r)) if r.has_children && !r.collapsed => {
                        if let Some(id) = r.span_id {
                            on_toggle.emit(id);
                        }
                        None
                    }
                    Some((c, _)) => parent_row(&rows, c).and_then(pick),
                    None => None,
                },
                "ArrowRight" => match cur.and_then(|c| rows.get(c).map(|r| (c, r))) {
                    Some((_, r)) if r.collapsed => {
                        if let Some(id) = r.span_id {
                            on_toggle.emit(id);
                        }
                        None
                    }
                    Some((c, r)) if r.has_children => pick(c + 1),
                    _ => None,
                },
                "Enter" | " " => {
                    if let Some(r) = cur.and_then(|c| rows.get(c)).filter(|r| r.has_children)
                        && let Some(id) = r.span_id
                    {
                        on_toggle.emit(id);
                    }
                    None
                }
                _ => return,
            };
            e.prevent_default();
            if let Some(t) = target {
                on_select.emit((t, false));
            }
        })
    };

    // One listener for every row: a click selects, a click on a twisty toggles.
    let onclick = {
        let on_select = props.on_select.clone();
        let on_toggle = props.on_toggle.clone();
        Callback::from(move |e: MouseEvent| {
            let Some((id, on_twisty)) = clicked_row(&e) else {
                return;
            };
            if on_twisty {
                on_toggle.emit(id);
                return;
            }
            if let Some(wf) = e
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|body| body.closest(".waterfall").ok().flatten())
                .and_then(|wf| wf.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = wf.focus();
            }
            on_select.emit((id, true));
        })
    };

    let ticks = [0.0, 0.25, 0.5, 0.75, 1.0];
    let (start, end) = {
        let (s, e) = *range;
        let e = e.min(n);
        (s.min(e), e)
    };
    html! {
        <div class="waterfall" id="waterfall" tabindex="0" {onkeydown} aria-label="Spans (use the arrow keys)">
            <div class="wf-head">
                <div class="wf-name">{ "Service · span" }</div>
                <div class="wf-time">
                    { for ticks.iter().map(|f| html! {
                        <span class="tick" style={format!("left:{}%", f * 100.0)}>
                            { format::duration((total as f64 * f) as u64) }
                        </span>
                    }) }
                </div>
            </div>
            <div class="wf-body" ref={body_ref} {onclick}
                 style={format!("height:{}px;padding-top:{}px", n as f64 * ROW_H, start as f64 * ROW_H)}>
                { for rows[start..end].iter().map(|r| row(props, r)) }
            </div>
        </div>
    }
}

/// One row. Rows carry no listeners of their own (the body has one click
/// listener for all of them): a large trace's first screen is mostly the
/// cost of building its rows.
fn row(props: &WaterfallProps, r: &Row) -> Html {
    let (Some(i), Some(id)) = (r.index, r.span_id) else {
        let n = props.tree.orphans().len();
        return html! {
            <div class="wf-row orphan-marker" key="orphans">
                <div class="wf-name">{ format!("⚠ Spans whose parent is not in this trace ({n})") }</div>
                <div class="wf-time"></div>
            </div>
        };
    };
    let Some(span) = props.tree.span(i) else {
        return html! {};
    };
    let selected = props.selected == Some(id);
    let matched = props.matches.contains(&id);
    let current = props.current_match == Some(id);
    let left = r.offset * 100.0;
    let width = r.width * 100.0;
    let label = LabelPlace::for_bar(r.offset, r.width);
    let dur = format::duration(span.duration());
    let classes = classes!(
        "wf-row",
        r.is_error.then_some("error"),
        r.on_critical_path.then_some("critical"),
        selected.then_some("selected"),
        matched.then_some("match"),
        current.then_some("current-match"),
    );
    html! {
        <div class={classes} key={id.to_hex()} data-span-id={id.to_hex()} data-depth={r.depth.to_string()}
             role="treeitem" aria-selected={selected.to_string()} aria-level={(r.depth + 1).to_string()}
             style={format!("--svc:{}", service_color(&span.service))}>
            <div class="wf-name" style={format!("padding-left:{}px", 6 + r.depth * 14)}>
                if r.has_children {
                    <button type="button" class="twisty" title={if r.collapsed { "Expand" } else { "Collapse" }}>
                        { if r.collapsed { "▸" } else { "▾" } }
                    </button>
                } else {
                    <span class="twisty-space"></span>
                }
                <span class="svc-dot"></span>
                <span class="svc">{ span.service.clone() }</span>
                <span class="name">{ span.name.clone() }</span>
                if r.collapsed {
                    <span class="tag">{ format!("+{}", descendants(&props.tree, i)) }</span>
                }
            </div>
            <div class="wf-time">
                <div class="bar" title={format!("{} · {}", span.name, dur)}
                    style={format!("left:{left:.3}%;width:max(2px,{width:.3}%)")}></div>
                <span class={classes!("bar-label", label.class())}
                    style={match label {
                        LabelPlace::After => format!("left:{:.3}%", left + width),
                        LabelPlace::Before => format!("right:{:.3}%", 100.0 - left),
                        LabelPlace::Inside => format!("right:{:.3}%", (100.0 - left - width).max(0.0)),
                    }}>
                    { dur }
                </span>
            </div>
        </div>
    }
}

/// The row (its span id) and whether its twisty was hit, for a click in the body.
fn clicked_row(e: &MouseEvent) -> Option<(SpanId, bool)> {
    let target = e.target()?.dyn_into::<web_sys::Element>().ok()?;
    let row = target.closest(".wf-row[data-span-id]").ok()??;
    let id = SpanId::from_hex(&row.get_attribute("data-span-id")?).ok()?;
    let on_twisty = target.closest(".twisty").ok().flatten().is_some();
    Some((id, on_twisty))
}

/// Spans below `i` (shown on a collapsed row).
fn descendants(tree: &TraceTree, i: usize) -> usize {
    let mut n = 0;
    let mut stack = tree.children(i).to_vec();
    while let Some(c) = stack.pop() {
        n += 1;
        stack.extend_from_slice(tree.children(c));
    }
    n
}

/// Where a bar's duration label goes: after the bar while there is room on
/// the right, else before it, and inside a bar that spans nearly the whole
/// row (before it would run into the span names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LabelPlace {
    After,
    Before,
    Inside,
}

impl LabelPlace {
    fn for_bar(offset: f64, width: f64) -> Self {
        if offset + width <= 0.75 {
            LabelPlace::After
        } else if offset >= 0.2 {
            LabelPlace::Before
        } else {
            LabelPlace::Inside
        }
    }

    fn class(self) -> Option<&'static str> {
        match self {
            LabelPlace::After => None,
            LabelPlace::Before => Some("left"),
            LabelPlace::Inside => Some("inside"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::layout::waterfall::{SpanNode, build_tree};
    use shared::trace::SpanKind;

    #[test]
    fn only_rows_near_the_viewport_are_drawn_for_large_traces() {
        assert_eq!(visible_rows(100, -5000.0, 900.0), (0, 100));
        // Scrolled 10,000 px into 5,000 rows: row 384 is at the top.
        let (s, e) = visible_rows(5000, -10_000.0, 900.0);
        assert!(s <= 384 - OVERSCAN && s + 60 >= 384 - OVERSCAN, "{s}");
        assert!(
            (384 + 35 + OVERSCAN..=384 + 35 + OVERSCAN + 10).contains(&e),
            "{e}"
        );
        assert_eq!(s % 10, 0);
        assert_eq!(visible_rows(5000, 200.0, 900.0).0, 0);
        // The body starts 600 px down: 12 rows show, 20 more are drawn below.
        assert_eq!(visible_rows(5000, 600.0, 900.0), (0, 40));
        // Scrolled past the end.
        assert_eq!(visible_rows(5000, -1e9, 900.0), (5000, 5000));
    }

    #[test]
    fn descendants_count_the_whole_subtree() {
        let id = |n: u8| SpanId([0, 0, 0, 0, 0, 0, 0, n]);
        let node = |n: u8, p: Option<u8>| SpanNode {
            span_id: id(n),
            parent_span_id: p.map(id),
            start: u64::from(n),
            end: 100,
            name: String::new(),
            service: String::new(),
            is_error: false,
            kind: SpanKind::Internal,
        };
        let tree = build_tree(&[
            node(1, None),
            node(2, Some(1)),
            node(3, Some(2)),
            node(4, Some(1)),
        ]);
        assert_eq!(descendants(&tree, 0), 3);
        assert_eq!(descendants(&tree, 2), 0);
    }

    #[test]
    fn duration_labels_never_run_into_the_names() {
        assert_eq!(LabelPlace::for_bar(0.1, 0.3), LabelPlace::After);
        assert_eq!(LabelPlace::for_bar(0.5, 0.4), LabelPlace::Before);
        // The root of a trace: the whole row, no room on either side.
        assert_eq!(LabelPlace::for_bar(0.0, 1.0), LabelPlace::Inside);
        assert_eq!(LabelPlace::for_bar(0.1, 0.8), LabelPlace::Inside);
    }
}
