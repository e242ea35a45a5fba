//! The critical path: the spans that decided when each part of a trace finished.
//!
//! The classic backwards walk (as in Jaeger's UI). Start at a root with the "current
//! point" `t` at its end. Among its children, take the one that finished last at or
//! before `t`; it is critical. Walk into it the same way (its own `t` starts at its end),
//! then continue in the parent with `t` set to that child's start. When no child finished
//! at or before `t`, the parent itself was the work from its start up to `t`. Children that
//! overlap a critical child's time are skipped: something else was holding the parent up.
//!
//! Bad data, handled before the walk:
//! - Clock skew: every span is clamped to its parent's (clamped) interval, so a child that
//!   ends after its parent counts until the parent's end, and one that starts before it
//!   counts from the parent's start. A child entirely outside its parent clamps to an empty
//!   interval and, with its subtree, is left out: nothing says when it really ran.
//! - 0-duration spans (after clamping) are never picked: they cannot delay anything.
//! - Ties (children ending at the same time): the one that started first is picked (it is
//!   the one the parent waited on longest), then the lower span id.
//!
//! Unlike Jaeger, a child ending exactly where the previous critical child starts counts
//! ("at or before"), so back-to-back sequential children are all on the path. The walk is
//! run from every root and from every head of the orphan group (a detached part of the
//! trace still has its own critical path). It is iterative, so very deep traces cannot
//! overflow the stack; each span on the path sorts its children once: O(n log n) overall.

use std::collections::HashSet;

use crate::SpanId;
use crate::layout::waterfall::TraceTree;

/// Ids of the spans on the critical path of `tree`, as described in the module docs.
pub fn critical_path(tree: &TraceTree) -> HashSet<SpanId> {
    tree.spans()
        .iter()
        .zip(mark(tree))
        .filter(|(_, on)| *on)
        .map(|(s, _)| s.span_id)
        .collect()
}

/// For each input index, whether the span is on the critical path.
pub(crate) fn mark(tree: &TraceTree) -> Vec<bool> {
    let window = clamped_windows(tree);
    let spans = tree.spans();
    let mut on = vec![false; spans.len()];

    struct Frame {
        /// Children that took time, latest end first.
        candidates: Vec<usize>,
        next: usize,
        /// The current point: the walk only looks at children that ended at or before it.
        t: u64,
    }
    let frame = |i: usize| {
        let mut candidates: Vec<usize> = tree
            .children(i)
            .iter()
            .copied()
            .filter(|&c| window[c].1 > window[c].0)
            .collect();
        candidates.sort_unstable_by(|&a, &b| {
            let (sa, ea) = window[a];
            let (sb, eb) = window[b];
            eb.cmp(&ea)
                .then(sa.cmp(&sb))
                .then(spans[a].span_id.cmp(&spans[b].span_id))
        });
        Frame {
            candidates,
            next: 0,
            t: window[i].1,
        }
    };

    for head in tree.heads() {
        on[head] = true;
        let mut stack = vec![frame(head)];
        while let Some(top) = stack.last_mut() {
            // Candidates are sorted by end, descending, and `t` only decreases, so one
            // skipped now can never qualify later.
            let mut picked = None;
            while let Some(&c) = top.candidates.get(top.next) {
                top.next += 1;
                if window[c].1 <= top.t {
                    picked = Some(c);
                    break;
                }
            }
            match picked {
                Some(c) => {
                    // The candidate has a positive duration, so `t` strictly decreases.
                    top.t = window[c].0;
                    on[c] = true;
                    stack.push(frame(c));
                }
                None => {
                    stack.pop();
                }
            }
        }
    }
    on
}

/// Each span's interval clamped into its parent's clamped interval (heads keep their own).
fn clamped_windows(tree: &TraceTree) -> Vec<(u64, u64)> {
    let spans = tree.spans();
    let mut window = vec![(0, 0); spans.len()];
    let mut stack = Vec::new();
    for head in tree.heads() {
        window[head] = (spans[head].start, spans[head].effective_end());
        stack.push(head);
        while let Some(p) = stack.pop() {
            let (ps, pe) = window[p];
            for &c in tree.children(p) {
                let s = &spans[c];
                window[c] = (s.start.clamp(ps, pe), s.effective_end().clamp(ps, pe));
                stack.push(c);
            }
        }
    }
    window
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::waterfall::{LayoutOptions, SpanNode, build_tree, layout};
    use crate::trace::SpanKind;

    fn id(n: u8) -> SpanId {
        SpanId([0, 0, 0, 0, 0, 0, 0, n])
    }

    fn node(n: u8, parent: Option<u8>, start: u64, end: u64) -> SpanNode {
        SpanNode {
            span_id: id(n),
            parent_span_id: parent.map(id),
            start,
            end,
            name: format!("op{n}"),
            service: "svc".into(),
            is_error: false,
            kind: SpanKind::Internal,
        }
    }

    fn path_of(spans: &[SpanNode]) -> Vec<u8> {
        let mut ids: Vec<u8> = critical_path(&build_tree(spans))
            .into_iter()
            .map(|s| s.0[7])
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Worked by hand in the comments: every rule of the module docs in one trace.
    #[test]
    fn hand_computed_example() {
        let spans = [
            node(1, None, 0, 100),
            // R: t=100 → E (ends 100, clamped) → t=95 → C (ends 90) → t=55 → B ends 60 > 55,
            // skipped → A (ends 30) → t=5 → nothing left.
            node(2, Some(1), 5, 30),
            node(3, Some(2), 6, 20),
            // Before A entirely (skew): clamps to [5,5], left out.
            node(4, Some(2), 1, 3),
            node(5, Some(1), 10, 60),
            node(6, Some(1), 55, 90),
            // In C: t=90 → C1 (ends 85) → t=60 → C2 ends 70 > 60, skipped.
            node(7, Some(6), 60, 85),
            node(8, Some(6), 56, 70),
            // 0 duration: never picked.
            node(9, Some(1), 92, 92),
            // Ends after R: clamped to [95,100].
            node(10, Some(1), 95, 130),
            // After E's clamped end: empty, left out.
            node(11, Some(10), 110, 120),
            // Second root, back-to-back children: both count.
            node(20, None, 200, 300),
            node(21, Some(20), 200, 250),
            node(22, Some(20), 250, 300),
            // Orphan group head with its own path.
            node(30, Some(99), 0, 10),
            node(31, Some(30), 2, 8),
        ];
        assert_eq!(path_of(&spans), [1, 2, 3, 6, 7, 10, 20, 21, 22, 30, 31]);
    }

    #[test]
    fn equal_ends_pick_the_earlier_start() {
        let spans = [
            node(1, None, 0, 10),
            node(3, Some(1), 2, 10),
            node(2, Some(1), 5, 10),
        ];
        assert_eq!(path_of(&spans), [1, 3]);
        // Same start and end: the lower id.
        let spans = [
            node(1, None, 0, 10),
            node(3, Some(1), 2, 10),
            node(2, Some(1), 2, 10),
        ];
        assert_eq!(path_of(&spans), [1, 2]);
    }

    #[test]
    fn child_covering_more_than_its_parent_is_clamped_not_dropped() {
        let spans = [
            node(1, None, 10, 20),
            node(2, Some(1), 0, 30),
            node(3, Some(2), 12, 14),
            node(4, Some(2), 25, 28),
        ];
        // 2 clamps to [10,20]; 4 clamps to [20,20] (empty); 3 stays.
        assert_eq!(path_of(&spans), [1, 2, 3]);
    }

    #[test]
    fn zero_duration_trace_has_only_its_root() {
        let spans = [node(1, None, 5, 5), node(2, Some(1), 5, 5)];
        assert_eq!(path_of(&spans), [1]);
    }

    #[test]
    fn cycles_and_duplicates_do_not_loop() {
        let spans = [
            node(1, Some(2), 0, 10),
            node(2, Some(1), 1, 9),
            node(3, Some(3), 0, 4),
            node(2, None, 0, 50),
        ];
        assert_eq!(path_of(&spans), [1, 2, 3]);
    }

    #[test]
    fn deep_chain_does_not_overflow_the_stack() {
        let n = 50_000u64;
        let spans: Vec<SpanNode> = (0..n)
            .map(|i| SpanNode {
                span_id: SpanId((i + 1).to_be_bytes()),
                parent_span_id: (i > 0).then(|| SpanId(i.to_be_bytes())),
                start: i,
                end: 2 * n - i,
                name: String::new(),
                service: String::new(),
                is_error: false,
                kind: SpanKind::Internal,
            })
            .collect();
        let tree = build_tree(&spans);
        assert_eq!(critical_path(&tree).len(), n as usize);
        let rows = layout(&tree, &LayoutOptions::default());
        assert_eq!(rows.len(), n as usize);
        assert_eq!(rows.last().map(|r| r.depth), Some(n as usize - 1));
        assert!(rows.iter().all(|r| r.on_critical_path));
    }

    #[test]
    fn rows_carry_the_critical_flag() {
        let spans = [
            node(1, None, 0, 10),
            node(2, Some(1), 0, 4),
            node(3, Some(1), 2, 10),
        ];
        let rows = layout(&build_tree(&spans), &LayoutOptions::default());
        let flags: Vec<bool> = rows.iter().map(|r| r.on_critical_path).collect();
        assert_eq!(flags, [true, false, true]);
    }
}
