//! The trace waterfall: spans → a parent/child tree → the visible rows, in display order.
//!
//! Two steps, so the page can keep the tree and redo only the cheap one when the user
//! collapses a span or toggles a filter: [`build_tree`] resolves parents once (sorting,
//! orphans, cycles, duplicates), [`layout`] walks it into [`Row`]s with positions as
//! fractions of the trace's time range.
//!
//! Display order is depth-first: roots by start time, then — after one
//! [`RowKind::OrphanMarker`] row — the orphan group (spans whose parent is missing, and
//! spans cut out of a parent cycle), each followed by its subtree. Siblings are ordered by
//! start time, then span id, so equal start times still give one stable order.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::api::TraceOutline;
use crate::layout::critical_path;
use crate::trace::{Span, SpanKind, StatusCode};
use crate::{IdBuildHasher, SpanId};

/// One span as the trace view needs it; the page builds these from API data.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanNode {
    pub span_id: SpanId,
    /// `None` (or the all-zero id, which OTLP uses for "absent") makes the span a root.
    pub parent_span_id: Option<SpanId>,
    /// Unix nanoseconds.
    pub start: u64,
    /// Unix nanoseconds. An end before the start is bad data and is drawn as 0 duration.
    pub end: u64,
    pub name: String,
    pub service: String,
    pub is_error: bool,
    pub kind: SpanKind,
}

impl SpanNode {
    /// The view of `span`, which was produced by `service` (its resource's `service.name`).
    pub fn from_span(span: &Span, service: impl Into<String>) -> Self {
        SpanNode {
            span_id: span.span_id,
            parent_span_id: span.parent_span_id,
            start: span.start_time.0,
            end: span.end_time.0,
            name: span.name.clone(),
            service: service.into(),
            is_error: span.status.code == StatusCode::Error,
            kind: span.kind,
        }
    }

    /// Every span of `outline`, in its order.
    pub fn all_from_outline(outline: &TraceOutline) -> Vec<Self> {
        outline
            .spans
            .iter()
            .map(|s| {
                let start = outline.start.0.saturating_add(s.start);
                SpanNode {
                    span_id: s.span_id,
                    parent_span_id: s.parent_span_id,
                    start,
                    end: start.saturating_add(s.duration),
                    name: outline.name(s).to_owned(),
                    service: outline.service(s).to_owned(),
                    is_error: s.error,
                    kind: s.kind,
                }
            })
            .collect()
    }

    /// The end, but never before the start: bad data still gives a well-formed interval.
    pub fn effective_end(&self) -> u64 {
        self.end.max(self.start)
    }

    /// Duration in nanoseconds (0 when the end is before the start).
    pub fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// The parent id, treating OTLP's all-zero "absent" id as no parent.
    pub(crate) fn parent_id(&self) -> Option<SpanId> {
        self.parent_span_id.filter(|p| !p.is_zero())
    }
}

/// What [`build_tree`] had to repair, so the page can say so instead of hiding it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeIssues {
    /// Spans dropped because an earlier span had the same id (the first one is kept).
    pub duplicate_spans: usize,
    /// Spans whose parent id is not in the trace (placed in the orphan group).
    pub missing_parents: usize,
    /// Parent cycles cut open (each one's cut span is placed in the orphan group).
    pub broken_cycles: usize,
}

/// One trace's spans with parents resolved. Indices are positions in the input slice.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceTree {
    spans: Vec<SpanNode>,
    by_id: HashMap<SpanId, usize, IdBuildHasher>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
    orphans: Vec<usize>,
    duplicate: Vec<bool>,
    issues: TreeIssues,
    start: u64,
    end: u64,
}

/// Builds the tree of `spans` (copied, so the tree can live in page state on its own).
pub fn build_tree(spans: &[SpanNode]) -> TraceTree {
    TraceTree::new(spans.to_vec())
}

impl TraceTree {
    /// Builds the tree, taking ownership of the spans; see [`build_tree`].
    pub fn new(spans: Vec<SpanNode>) -> Self {
        let n = spans.len();
        let mut issues = TreeIssues::default();

        let mut by_id = HashMap::with_capacity_and_hasher(n, IdBuildHasher::default());
        let mut duplicate = vec![false; n];
        for (i, span) in spans.iter().enumerate() {
            match by_id.entry(span.span_id) {
                Entry::Vacant(e) => {
                    e.insert(i);
                }
                Entry::Occupied(_) => {
                    duplicate[i] = true;
                    issues.duplicate_spans += 1;
                }
            }
        }

        let mut parent = vec![None; n];
        let mut missing = vec![false; n];
        for (i, span) in spans.iter().enumerate() {
            if duplicate[i] {
                continue;
            }
            if let Some(pid) = span.parent_id() {
                match by_id.get(&pid) {
                    Some(&p) => parent[i] = Some(p),
                    None => {
                        missing[i] = true;
                        issues.missing_parents += 1;
                    }
                }
            }
        }

        let cut = break_cycles(&spans, &mut parent, &duplicate);
        issues.broken_cycles = cut.len();
        let mut is_cut = vec![false; n];
        for &i in &cut {
            is_cut[i] = true;
        }

        let mut children = vec![Vec::new(); n];
        let mut roots = Vec::new();
        let mut orphans = Vec::new();
        for i in (0..n).filter(|&i| !duplicate[i]) {
            match parent[i] {
                Some(p) => children[p].push(i),
                None if missing[i] || is_cut[i] => orphans.push(i),
                None => roots.push(i),
            }
        }
        let key = |&i: &usize| (spans[i].start, spans[i].span_id);
        roots.sort_unstable_by_key(key);
        orphans.sort_unstable_by_key(key);
        for list in &mut children {
            list.sort_unstable_by_key(key);
        }

        let kept = || spans.iter().zip(&duplicate).filter(|(_, d)| !**d);
        let start = kept().map(|(s, _)| s.start).min().unwrap_or(0);
        let end = kept().map(|(s, _)| s.effective_end()).max().unwrap_or(0);

        TraceTree {
            spans,
            by_id,
            parent,
            children,
            roots,
            orphans,
            duplicate,
            issues,
            start,
            end,
        }
    }

    /// All input spans, duplicates included, so row indices match the input.
    pub fn spans(&self) -> &[SpanNode] {
        &self.spans
    }

    /// The span at `index`, if it exists.
    pub fn span(&self, index: usize) -> Option<&SpanNode> {
        self.spans.get(index)
    }

    /// The index of the (first) span with this id.
    pub fn index_of(&self, span_id: SpanId) -> Option<usize> {
        self.by_id.get(&span_id).copied()
    }

    /// Spans without a parent id, by start time.
    pub fn roots(&self) -> &[usize] {
        &self.roots
    }

    /// The heads of the orphan group, by start time: spans whose parent is missing and
    /// spans whose parent link was cut to break a cycle.
    pub fn orphans(&self) -> &[usize] {
        &self.orphans
    }

    /// Children of `index` by start time (empty for an unknown index).
    pub fn children(&self, index: usize) -> &[usize] {
        self.children.get(index).map_or(&[], Vec::as_slice)
    }

    /// The parent of `index` in the tree (`None` for roots, orphans and cut cycle spans).
    pub fn parent(&self, index: usize) -> Option<usize> {
        self.parent.get(index).copied().flatten()
    }

    /// Ancestors of `index`, nearest first: what the page expands to reveal a search hit.
    pub fn ancestors(&self, index: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = self.parent(index);
        // The parent graph is acyclic after `break_cycles`; the bound is only a guard.
        while let Some(p) = cur.filter(|_| out.len() < self.spans.len()) {
            out.push(p);
            cur = self.parent(p);
        }
        out
    }

    /// True when the span at `index` was dropped as a duplicate id.
    pub fn is_duplicate(&self, index: usize) -> bool {
        self.duplicate.get(index).copied().unwrap_or(false)
    }

    /// What had to be repaired while building the tree.
    pub fn issues(&self) -> TreeIssues {
        self.issues
    }

    /// Earliest start over all kept spans (0 for an empty trace).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Latest end over all kept spans (0 for an empty trace).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Top-level spans in display order: roots, then the orphan group.
    pub(crate) fn heads(&self) -> impl Iterator<Item = usize> + '_ {
        self.roots.iter().chain(&self.orphans).copied()
    }

    /// Every kept span in display order (nothing collapsed, nothing hidden).
    pub fn display_order(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.spans.len());
        let mut stack: Vec<usize> = self.heads().collect();
        stack.reverse();
        while let Some(i) = stack.pop() {
            out.push(i);
            stack.extend(self.children(i).iter().rev());
        }
        out
    }
}

/// Cuts every parent cycle open and returns the cut spans.
///
/// Each cycle is cut at its earliest span (by start, then id), so the result does not
/// depend on input order; the rest of the cycle, and anything hanging off it, stays
/// below the cut span. A self-parent is a cycle of one.
fn break_cycles(spans: &[SpanNode], parent: &mut [Option<usize>], skip: &[bool]) -> Vec<usize> {
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; spans.len()];
    let mut cut = Vec::new();
    let mut path = Vec::new();
    for first in 0..spans.len() {
        if skip[first] || state[first] != NEW {
            continue;
        }
        path.clear();
        let mut cur = Some(first);
        while let Some(i) = cur {
            match state[i] {
                NEW => {
                    state[i] = ON_PATH;
                    path.push(i);
                    cur = parent[i];
                }
                ON_PATH => {
                    let from = path.iter().rposition(|&j| j == i).unwrap_or(0);
                    let head = path[from..]
                        .iter()
                        .copied()
                        .min_by_key(|&j| (spans[j].start, spans[j].span_id));
                    if let Some(head) = head {
                        parent[head] = None;
                        cut.push(head);
                    }
                    break;
                }
                _ => break,
            }
        }
        for &j in &path {
            state[j] = DONE;
        }
    }
    cut
}

/// What [`layout`] shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayoutOptions {
    /// Spans whose descendants are hidden.
    pub collapsed: HashSet<SpanId>,
    /// Hide leaf spans that [`is_noise`] calls noise.
    pub hide_noise: bool,
}

/// What a row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Span,
    /// The heading before the orphan group; it has no span.
    OrphanMarker,
}

/// One visible line of the waterfall.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub kind: RowKind,
    /// Index into the input spans (`None` for the orphan marker).
    pub index: Option<usize>,
    /// The span's id (`None` for the orphan marker).
    pub span_id: Option<SpanId>,
    /// Number of ancestors; orphan-group heads are at depth 0, like roots.
    pub depth: usize,
    /// Start, as a fraction (0..=1) of the trace's time range.
    pub offset: f64,
    /// Duration, as a fraction of the trace's time range; `offset + width <= 1`.
    ///
    /// A 0-duration span has width 0: the drawing code gives bars a minimum pixel
    /// width so such spans stay visible and clickable.
    pub width: f64,
    /// Whether the span has children that would be shown when it is expanded.
    pub has_children: bool,
    /// Whether the span's children are hidden because it is collapsed.
    pub collapsed: bool,
    pub is_error: bool,
    pub on_critical_path: bool,
}

/// The visible rows of `tree`, in display order.
///
/// Positions are fractions of the whole trace's range (earliest start to latest end over
/// all spans), not of the parent, so a skewed child outside its parent still draws inside
/// the chart. A trace whose range is 0 puts every bar at offset 0 with width 0.
pub fn layout(tree: &TraceTree, opts: &LayoutOptions) -> Vec<Row> {
    let critical = critical_path::mark(tree);
    let scale = Scale::new(tree.start, tree.end);
    let spans = &tree.spans;
    let shown = |i: usize, parent: Option<usize>| {
        !(opts.hide_noise
            && tree.children(i).is_empty()
            && is_noise(&spans[i], parent.map(|p| &spans[p])))
    };

    let mut rows = Vec::with_capacity(spans.len() + 1);
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for (group, heads) in [&tree.roots, &tree.orphans].into_iter().enumerate() {
        if heads.is_empty() {
            continue;
        }
        if group == 1 {
            rows.push(Row {
                kind: RowKind::OrphanMarker,
                index: None,
                span_id: None,
                depth: 0,
                offset: 0.0,
                width: 0.0,
                has_children: false,
                collapsed: false,
                is_error: false,
                on_critical_path: false,
            });
        }
        stack.extend(heads.iter().rev().map(|&i| (i, 0)));
        while let Some((i, depth)) = stack.pop() {
            let span = &spans[i];
            let kids = tree.children(i);
            let has_children = kids.iter().any(|&c| shown(c, Some(i)));
            let collapsed = has_children && opts.collapsed.contains(&span.span_id);
            let (offset, width) = scale.bar(span.start, span.effective_end());
            rows.push(Row {
                kind: RowKind::Span,
                index: Some(i),
                span_id: Some(span.span_id),
                depth,
                offset,
                width,
                has_children,
                collapsed,
                is_error: span.is_error,
                on_critical_path: critical[i],
            });
            if has_children && !collapsed {
                let next = kids.iter().rev().filter(|&&c| shown(c, Some(i)));
                stack.extend(next.map(|&c| (c, depth + 1)));
            }
        }
    }
    rows
}

/// Maps nanosecond timestamps to fractions of the trace's range.
struct Scale {
    start: u64,
    range: u64,
}

impl Scale {
    fn new(start: u64, end: u64) -> Self {
        Scale {
            start,
            range: end.saturating_sub(start),
        }
    }

    /// `(offset, width)` of the interval `[start, end]`, both within 0..=1.
    fn bar(&self, start: u64, end: u64) -> (f64, f64) {
        if self.range == 0 {
            return (0.0, 0.0);
        }
        let range = self.range as f64;
        let from = start.saturating_sub(self.start).min(self.range);
        let to = end.saturating_sub(self.start).min(self.range).max(from);
        let offset = from as f64 / range;
        let width = ((to - from) as f64 / range).min(1.0 - offset).max(0.0);
        (offset, width)
    }
}

/// True for spans that are plumbing rather than work, hidden by [`LayoutOptions::hide_noise`].
///
/// The rule: an INTERNAL (or unspecified-kind) span without an error, directly below a
/// SERVER span, named `http send` or `http receive` or ending in ` http send` /
/// ` http receive` (any case) — the per-message spans ASGI servers' instrumentation emits
/// around each request (`GET /cart http send`). An error is never noise, and
/// [`layout`] only hides such spans when they have no children, so hiding never takes
/// real work out of view.
pub fn is_noise(span: &SpanNode, parent: Option<&SpanNode>) -> bool {
    let under_server = parent.is_some_and(|p| p.kind == SpanKind::Server);
    let plumbing_kind = matches!(span.kind, SpanKind::Internal | SpanKind::Unspecified);
    let name = span.name.trim();
    under_server
        && plumbing_kind
        && !span.is_error
        && (is_word_suffix(name, "http send") || is_word_suffix(name, "http receive"))
}

/// `name` is `suffix`, or ends with a space and `suffix`, ignoring ASCII case.
fn is_word_suffix(name: &str, suffix: &str) -> bool {
    let (name, suffix) = (name.as_bytes(), suffix.as_bytes());
    let Some(split) = name.len().checked_sub(suffix.len()) else {
        return false;
    };
    let (head, tail) = name.split_at(split);
    tail.eq_ignore_ascii_case(suffix) && (head.is_empty() || head.ends_with(b" "))
}

/// The row showing `span_id`, if it is visible.
pub fn row_of(rows: &[Row], span_id: SpanId) -> Option<usize> {
    rows.iter().position(|r| r.span_id == Some(span_id))
}

/// The row of the parent of the span at `row` (for the "go to parent" key), if visible.
///
/// That is the nearest earlier row with a smaller depth; `None` for depth-0 rows and for
/// rows out of range.
pub fn parent_row(rows: &[Row], row: usize) -> Option<usize> {
    let depth = rows.get(row)?.depth;
    let found = rows.get(..row)?.iter().rposition(|r| r.depth < depth)?;
    (rows.get(found)?.kind == RowKind::Span).then_some(found)
}

/// Ids of spans whose name, service or hex span id contains `query` (ignoring case), in
/// display order. Collapsed and hidden spans are searched too; an empty query finds nothing.
pub fn search(tree: &TraceTree, query: &str) -> Vec<SpanId> {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return Vec::new();
    }
    tree.display_order()
        .into_iter()
        .map(|i| &tree.spans[i])
        .filter(|s| {
            s.name.to_lowercase().contains(&query)
                || s.service.to_lowercase().contains(&query)
                || s.span_id.to_hex().contains(&query)
        })
        .map(|s| s.span_id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Status;
    use crate::{TraceId, UnixNanos};

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

    fn named(mut s: SpanNode, name: &str, kind: SpanKind) -> SpanNode {
        s.name = name.into();
        s.kind = kind;
        s
    }

    /// Row ids in order, with `None` for the orphan marker.
    fn ids(rows: &[Row]) -> Vec<Option<u8>> {
        rows.iter().map(|r| r.span_id.map(|s| s.0[7])).collect()
    }

    fn rows_of(spans: &[SpanNode]) -> Vec<Row> {
        layout(&build_tree(spans), &LayoutOptions::default())
    }

    #[test]
    fn children_are_ordered_by_start_then_id() {
        let spans = [
            node(1, None, 0, 100),
            node(4, Some(1), 20, 30),
            node(3, Some(1), 10, 90),
            node(2, Some(1), 20, 25),
        ];
        let rows = rows_of(&spans);
        assert_eq!(ids(&rows), [Some(1), Some(3), Some(2), Some(4)]);
        assert_eq!(
            rows.iter().map(|r| r.depth).collect::<Vec<_>>(),
            [0, 1, 1, 1]
        );
        assert_eq!(rows[1].index, Some(2));
        assert!(rows[0].has_children);
        assert!(!rows[1].has_children);
    }

    #[test]
    fn skewed_child_outside_its_parent_draws_inside_the_chart() {
        let spans = [node(1, None, 100, 200), node(2, Some(1), 50, 260)];
        let tree = build_tree(&spans);
        assert_eq!((tree.start(), tree.end()), (50, 260));
        let rows = layout(&tree, &LayoutOptions::default());
        assert_eq!(ids(&rows), [Some(1), Some(2)]);
        assert_eq!(rows[0].offset, 50.0 / 210.0);
        assert_eq!(rows[0].width, 100.0 / 210.0);
        assert_eq!(rows[1].depth, 1);
        assert_eq!((rows[1].offset, rows[1].width), (0.0, 1.0));
    }

    #[test]
    fn missing_parents_go_under_the_orphan_marker() {
        let spans = [
            node(5, Some(98), 40, 50),
            node(1, None, 0, 100),
            node(2, Some(1), 10, 20),
            node(3, Some(99), 30, 60),
            node(4, Some(3), 35, 45),
        ];
        let tree = build_tree(&spans);
        assert_eq!(tree.issues().missing_parents, 2);
        assert_eq!(tree.orphans(), [3, 0]);
        let rows = layout(&tree, &LayoutOptions::default());
        assert_eq!(
            ids(&rows),
            [Some(1), Some(2), None, Some(3), Some(4), Some(5)]
        );
        assert_eq!(rows[2].kind, RowKind::OrphanMarker);
        assert_eq!(rows[2].index, None);
        assert_eq!(
            rows.iter().map(|r| r.depth).collect::<Vec<_>>(),
            [0, 1, 0, 0, 1, 0]
        );
    }

    #[test]
    fn no_orphan_marker_without_orphans() {
        let rows = rows_of(&[node(1, None, 0, 10), node(2, None, 5, 10)]);
        assert!(rows.iter().all(|r| r.kind == RowKind::Span));
        assert_eq!(ids(&rows), [Some(1), Some(2)]);
    }

    #[test]
    fn zero_parent_id_means_root() {
        let mut s = node(1, None, 0, 10);
        s.parent_span_id = Some(SpanId([0; 8]));
        let tree = build_tree(&[s]);
        assert_eq!(tree.roots(), [0]);
        assert_eq!(tree.issues(), TreeIssues::default());
    }

    #[test]
    fn zero_duration_spans_get_width_zero() {
        let spans = [
            node(1, None, 0, 100),
            node(2, Some(1), 40, 40),
            // End before start: bad data, drawn as 0 duration.
            node(3, Some(1), 60, 10),
        ];
        let rows = rows_of(&spans);
        assert_eq!((rows[1].offset, rows[1].width), (0.4, 0.0));
        assert_eq!((rows[2].offset, rows[2].width), (0.6, 0.0));
    }

    #[test]
    fn trace_with_zero_range_does_not_divide_by_zero() {
        let rows = rows_of(&[node(1, None, 7, 7), node(2, Some(1), 7, 7)]);
        for r in &rows {
            assert_eq!((r.offset, r.width), (0.0, 0.0));
        }
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn empty_trace_has_no_rows() {
        let tree = build_tree(&[]);
        assert_eq!((tree.start(), tree.end()), (0, 0));
        assert!(layout(&tree, &LayoutOptions::default()).is_empty());
        assert!(search(&tree, "x").is_empty());
    }

    #[test]
    fn cycles_are_cut_at_their_earliest_span_and_kept_with_orphans() {
        let spans = [
            node(9, None, 0, 100),
            // 1 → 2 → 1, with 3 hanging below 2.
            node(2, Some(1), 20, 30),
            node(1, Some(2), 10, 40),
            node(3, Some(2), 25, 28),
            // Self-parent.
            node(4, Some(4), 5, 6),
        ];
        let tree = build_tree(&spans);
        assert_eq!(tree.issues().broken_cycles, 2);
        assert_eq!(tree.roots(), [0]);
        assert_eq!(tree.orphans(), [4, 2]);
        let rows = layout(&tree, &LayoutOptions::default());
        assert_eq!(
            ids(&rows),
            [Some(9), None, Some(4), Some(1), Some(2), Some(3)]
        );
        assert_eq!(
            rows.iter().map(|r| r.depth).collect::<Vec<_>>(),
            [0, 0, 0, 0, 1, 2]
        );
        assert_eq!(tree.ancestors(3), [1, 2]);
        assert!(tree.ancestors(4).is_empty());
    }

    #[test]
    fn cycle_cut_does_not_depend_on_input_order() {
        let a = [node(1, Some(2), 10, 40), node(2, Some(1), 20, 30)];
        let b = [a[1].clone(), a[0].clone()];
        assert_eq!(ids(&rows_of(&a)), [None, Some(1), Some(2)]);
        assert_eq!(ids(&rows_of(&b)), [None, Some(1), Some(2)]);
    }

    #[test]
    fn duplicate_ids_keep_the_first_and_are_counted() {
        let mut second = node(2, Some(1), 50, 60);
        second.name = "second".into();
        let spans = [
            node(1, None, 0, 100),
            node(2, Some(1), 10, 20),
            second,
            node(3, Some(2), 12, 18),
            node(2, None, 0, 500),
        ];
        let tree = build_tree(&spans);
        assert_eq!(tree.issues().duplicate_spans, 2);
        assert!(tree.is_duplicate(2) && tree.is_duplicate(4));
        assert_eq!(tree.index_of(id(2)), Some(1));
        // The dropped duplicate's end (500) does not stretch the chart.
        assert_eq!(tree.end(), 100);
        let rows = layout(&tree, &LayoutOptions::default());
        assert_eq!(ids(&rows), [Some(1), Some(2), Some(3)]);
        assert_eq!(rows[1].index, Some(1));
        assert_eq!(search(&tree, "second"), Vec::<SpanId>::new());
    }

    #[test]
    fn collapse_hides_descendants_and_expand_shows_them() {
        let spans = [
            node(1, None, 0, 100),
            node(2, Some(1), 10, 50),
            node(3, Some(2), 20, 30),
            node(4, Some(3), 21, 22),
            node(5, Some(1), 60, 90),
        ];
        let tree = build_tree(&spans);
        let mut opts = LayoutOptions::default();
        assert_eq!(
            ids(&layout(&tree, &opts)),
            [Some(1), Some(2), Some(3), Some(4), Some(5)]
        );

        opts.collapsed.insert(id(2));
        let rows = layout(&tree, &opts);
        assert_eq!(ids(&rows), [Some(1), Some(2), Some(5)]);
        assert!(rows[1].collapsed && rows[1].has_children);
        assert!(!rows[0].collapsed);

        // Collapsing a leaf changes nothing and does not mark it collapsed.
        opts.collapsed = HashSet::from([id(5)]);
        let rows = layout(&tree, &opts);
        assert_eq!(rows.len(), 5);
        assert!(!rows[4].collapsed);

        opts.collapsed = HashSet::from([id(1), id(3)]);
        assert_eq!(ids(&layout(&tree, &opts)), [Some(1)]);
        opts.collapsed.remove(&id(1));
        assert_eq!(
            ids(&layout(&tree, &opts)),
            [Some(1), Some(2), Some(3), Some(5)]
        );
    }

    #[test]
    fn noise_rule() {
        let server = named(node(1, None, 0, 10), "GET /cart", SpanKind::Server);
        let internal = named(node(1, None, 0, 10), "handler", SpanKind::Internal);
        let span = |name: &str| named(node(2, Some(1), 1, 2), name, SpanKind::Internal);
        for name in [
            "http send",
            "HTTP Receive",
            "GET /cart http send",
            "GET /cart http receive ",
        ] {
            assert!(is_noise(&span(name), Some(&server)), "{name}");
        }
        for name in ["http sender", "GET /cart xhttp send", "send", "GET /cart"] {
            assert!(!is_noise(&span(name), Some(&server)), "{name}");
        }
        assert!(!is_noise(&span("http send"), Some(&internal)));
        assert!(!is_noise(&span("http send"), None));
        let mut failed = span("http send");
        failed.is_error = true;
        assert!(!is_noise(&failed, Some(&server)));
        let client = named(node(2, Some(1), 1, 2), "http send", SpanKind::Client);
        assert!(!is_noise(&client, Some(&server)));
    }

    #[test]
    fn hide_noise_hides_only_noisy_leaves() {
        let spans = [
            named(node(1, None, 0, 100), "GET /cart", SpanKind::Server),
            named(
                node(2, Some(1), 1, 2),
                "GET /cart http receive",
                SpanKind::Internal,
            ),
            named(node(3, Some(1), 10, 80), "load cart", SpanKind::Internal),
            named(
                node(4, Some(1), 90, 91),
                "GET /cart http send",
                SpanKind::Internal,
            ),
            // A noisy name with children is kept.
            named(node(5, Some(1), 92, 95), "http send", SpanKind::Internal),
            node(6, Some(5), 93, 94),
            named(node(7, None, 0, 5), "GET /health", SpanKind::Server),
            named(node(8, Some(7), 1, 2), "http send", SpanKind::Internal),
        ];
        let tree = build_tree(&spans);
        let all = layout(&tree, &LayoutOptions::default());
        assert_eq!(all.len(), 8);
        let opts = LayoutOptions {
            hide_noise: true,
            ..Default::default()
        };
        let rows = layout(&tree, &opts);
        assert_eq!(ids(&rows), [Some(1), Some(3), Some(5), Some(6), Some(7)]);
        // Its only child is hidden, so 7 shows no expander.
        assert!(!rows[4].has_children);
        assert!(rows[0].has_children);
    }

    #[test]
    fn search_is_case_insensitive_and_in_display_order() {
        let mut spans = vec![
            named(node(1, None, 0, 100), "GET /Cart", SpanKind::Server),
            named(node(2, Some(1), 50, 60), "render", SpanKind::Internal),
            named(node(3, Some(1), 10, 20), "cart lookup", SpanKind::Client),
            named(node(10, Some(3), 11, 12), "query", SpanKind::Client),
            named(node(4, Some(77), 0, 1), "orphan CART", SpanKind::Internal),
        ];
        spans[1].service = "CartService".into();
        let tree = build_tree(&spans);
        assert_eq!(search(&tree, " cArT "), [id(1), id(3), id(2), id(4)]);
        // By hex span id: only id 10 ends in "0a".
        assert_eq!(search(&tree, "0A"), [id(10)]);
        assert_eq!(search(&tree, "000000000000000A"), [id(10)]);
        assert!(search(&tree, "  ").is_empty());
        assert!(search(&tree, "nothing").is_empty());
    }

    #[test]
    fn search_finds_spans_inside_collapsed_subtrees() {
        let spans = [node(1, None, 0, 10), node(2, Some(1), 1, 2)];
        let tree = build_tree(&spans);
        let opts = LayoutOptions {
            collapsed: HashSet::from([id(1)]),
            ..Default::default()
        };
        let rows = layout(&tree, &opts);
        let hit = search(&tree, "op2");
        assert_eq!(hit, [id(2)]);
        assert_eq!(row_of(&rows, id(2)), None);
        assert_eq!(tree.ancestors(1), [0]);
    }

    #[test]
    fn row_lookup_for_keyboard_navigation() {
        let spans = [
            node(1, None, 0, 100),
            node(2, Some(1), 10, 50),
            node(3, Some(2), 20, 30),
            node(4, Some(1), 60, 90),
            node(5, Some(99), 0, 1),
            node(6, Some(5), 0, 1),
        ];
        let rows = rows_of(&spans);
        assert_eq!(
            ids(&rows),
            [Some(1), Some(2), Some(3), Some(4), None, Some(5), Some(6)]
        );
        assert_eq!(row_of(&rows, id(4)), Some(3));
        assert_eq!(row_of(&rows, id(42)), None);
        assert_eq!(parent_row(&rows, 2), Some(1));
        assert_eq!(parent_row(&rows, 3), Some(0));
        assert_eq!(parent_row(&rows, 0), None);
        assert_eq!(parent_row(&rows, 5), None);
        assert_eq!(parent_row(&rows, 6), Some(5));
        assert_eq!(parent_row(&rows, 99), None);
    }

    #[test]
    fn unknown_indices_do_not_panic() {
        let tree = build_tree(&[node(1, None, 0, 1)]);
        assert!(tree.children(5).is_empty());
        assert_eq!(tree.parent(5), None);
        assert_eq!(tree.span(5), None);
        assert!(tree.ancestors(5).is_empty());
        assert!(!tree.is_duplicate(5));
    }

    #[test]
    fn span_node_from_model_span() {
        let span = Span {
            trace_id: TraceId([1; 16]),
            span_id: id(3),
            parent_span_id: Some(id(2)),
            name: "GET /".into(),
            kind: SpanKind::Server,
            start_time: UnixNanos(1_000),
            end_time: UnixNanos(4_000),
            status: Status {
                code: StatusCode::Error,
                message: "boom".into(),
            },
            ..Default::default()
        };
        let n = SpanNode::from_span(&span, "frontend");
        assert_eq!(
            n,
            SpanNode {
                span_id: id(3),
                parent_span_id: Some(id(2)),
                start: 1_000,
                end: 4_000,
                name: "GET /".into(),
                service: "frontend".into(),
                is_error: true,
                kind: SpanKind::Server,
            }
        );
        assert_eq!(n.duration(), 3_000);
    }

    #[test]
    fn span_nodes_from_an_outline_match_those_from_the_spans() {
        use crate::api::{SpanRecord, TraceDetail, TraceOutline, TraceSummary};
        let span = |n: u8, parent: Option<u8>, start: u64, end: u64, error: bool| SpanRecord {
            resource: 0,
            scope: 0,
            service: if n.is_multiple_of(2) { "a" } else { "b" }.into(),
            span: Span {
                trace_id: TraceId([1; 16]),
                span_id: id(n),
                parent_span_id: parent.map(id),
                name: format!("op{}", n % 3),
                kind: SpanKind::Client,
                start_time: UnixNanos(start),
                end_time: UnixNanos(end),
                status: Status {
                    code: if error {
                        StatusCode::Error
                    } else {
                        StatusCode::Ok
                    },
                    message: String::new(),
                },
                ..Default::default()
            },
        };
        let spans = vec![
            span(1, None, 5_000, 9_000, false),
            span(2, Some(1), 6_000, 7_000, true),
            span(3, Some(9), 7_000, 8_500, false),
        ];
        let summary = TraceSummary {
            trace_id: TraceId([1; 16]),
            start_time: UnixNanos(5_000),
            end_time: UnixNanos(9_000),
            duration: UnixNanos(4_000),
            root_service: "b".into(),
            root_name: "op1".into(),
            root_is_real: true,
            span_count: 3,
            error_count: 1,
            services: vec![],
            log_count: 0,
        };
        let detail = TraceDetail {
            summary,
            resources: vec![],
            scopes: vec![],
            spans,
        };
        let from_spans: Vec<SpanNode> = detail
            .spans
            .iter()
            .map(|r| SpanNode::from_span(&r.span, r.service.clone()))
            .collect();
        let outline = TraceOutline::from_detail(&detail);
        assert_eq!(SpanNode::all_from_outline(&outline), from_spans);
    }
}
