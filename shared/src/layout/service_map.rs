//! The per-trace service map: which service called which in one trace, and where to draw it.
//!
//! [`service_map`] turns parent/child links between spans of different services into
//! counted edges. [`layout_map`] places the services in layers, callers left of callees
//! (a small Sugiyama-style layout):
//! 1. Cycles (A calls B calls A) are broken by a depth-first search from the sources, in
//!    node order; each edge closing a cycle is reversed for layering and drawn as a back
//!    edge (right to left).
//! 2. Each node's layer is its longest path from a source, so every forward edge goes at
//!    least one layer to the right.
//! 3. Within each layer, nodes are ordered by the barycenter heuristic: a few sweeps that
//!    sort each layer by the mean position of its neighbours in the layer before (down)
//!    or after (up), ties kept in their current order. Long edges get no dummy nodes —
//!    per-trace maps have a handful of services, for which this is enough.
//!
//! Everything is ordered by node index, and nodes are sorted by name, so the same trace
//! always gives the same picture.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::IdBuildHasher;
use crate::layout::waterfall::TraceTree;
use crate::trace::SpanKind;

/// The name shown for the inferred caller from outside the trace.
pub const EXTERNAL_CLIENT: &str = "external client";

/// Horizontal distance between layers, in the layout's abstract units.
pub const LAYER_GAP: f64 = 220.0;

/// Vertical distance between nodes of one layer, in the layout's abstract units.
pub const ROW_GAP: f64 = 90.0;

/// A service of the trace, or the inferred external client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceNode {
    pub name: String,
    /// True for the inferred caller outside the trace; its name is [`EXTERNAL_CLIENT`],
    /// and a real service with the same name is still a separate node.
    pub external: bool,
    /// Spans of this service in the trace (0 for the external client).
    pub spans: usize,
    /// Of those, spans with an error status.
    pub errors: usize,
}

/// Calls from one service to another, as indices into [`ServiceMap::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceEdge {
    pub from: usize,
    pub to: usize,
    /// Child spans in `to` whose parent span is in `from`.
    pub calls: usize,
    /// Of those, child spans with an error status.
    pub errors: usize,
}

/// Services of one trace and the calls between them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceMap {
    /// The external client first (when there is one), then services by name.
    pub nodes: Vec<ServiceNode>,
    /// Sorted by `(from, to)`; never from a service to itself.
    pub edges: Vec<ServiceEdge>,
}

/// A node key that sorts the external client before every service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key<'a> {
    External,
    Service(&'a str),
}

/// The service map of `tree`.
///
/// An edge runs from the parent span's service to the child span's service when they
/// differ. The external client calls a span when its parent id is missing from the trace,
/// or when it is a SERVER or CONSUMER span without a parent (someone outside sent the
/// request). Duplicate spans are ignored; spans cut out of a parent cycle keep their
/// edge, since the parent they name is in the trace.
pub fn service_map<'t>(tree: &'t TraceTree) -> ServiceMap {
    let spans = tree.spans();
    // Services are numbered as they are met (one hash per span) and edges
    // counted by number; names are sorted once, at the end.
    let mut numbers: HashMap<Key<'t>, usize, IdBuildHasher> = HashMap::default();
    let mut services: Vec<(Key<'t>, usize, usize)> = Vec::new();
    let mut number = |k: Key<'t>| -> usize {
        *numbers.entry(k).or_insert_with(|| {
            services.push((k, 0, 0));
            services.len() - 1
        })
    };
    let mut span_service = vec![usize::MAX; spans.len()];
    for (i, span) in spans.iter().enumerate() {
        if !tree.is_duplicate(i) {
            span_service[i] = number(Key::Service(&span.service));
        }
    }
    let mut edges: HashMap<(usize, usize), (usize, usize), IdBuildHasher> = HashMap::default();
    for (i, span) in spans.iter().enumerate() {
        if tree.is_duplicate(i) {
            continue;
        }
        let me = span_service[i];
        let caller = match span.parent_id() {
            Some(pid) => Some(match tree.index_of(pid) {
                Some(p) => span_service[p],
                None => number(Key::External),
            }),
            None => matches!(span.kind, SpanKind::Server | SpanKind::Consumer)
                .then(|| number(Key::External)),
        };
        if let Some(from) = caller.filter(|&from| from != me) {
            let e = edges.entry((from, me)).or_default();
            e.0 += 1;
            e.1 += usize::from(span.is_error);
        }
    }
    for (i, span) in spans.iter().enumerate() {
        if let Some(s) = services.get_mut(span_service[i]) {
            s.1 += 1;
            s.2 += usize::from(span.is_error);
        }
    }

    // Node order: the external client, then services by name.
    let mut order: Vec<usize> = (0..services.len()).collect();
    order.sort_by_key(|&n| services[n].0);
    let mut position = vec![0; services.len()];
    for (pos, &n) in order.iter().enumerate() {
        position[n] = pos;
    }
    let nodes = order
        .iter()
        .map(|&n| match services[n] {
            (Key::External, spans, errors) => ServiceNode {
                name: EXTERNAL_CLIENT.into(),
                external: true,
                spans,
                errors,
            },
            (Key::Service(name), spans, errors) => ServiceNode {
                name: name.into(),
                external: false,
                spans,
                errors,
            },
        })
        .collect();
    let mut edges: Vec<ServiceEdge> = edges
        .into_iter()
        .map(|((from, to), (calls, errors))| ServiceEdge {
            from: position[from],
            to: position[to],
            calls,
            errors,
        })
        .collect();
    edges.sort_unstable_by_key(|e| (e.from, e.to));
    ServiceMap { nodes, edges }
}

/// Where one node goes; `x`/`y` is its centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodePosition {
    pub layer: usize,
    /// Position within the layer, top to bottom.
    pub order: usize,
    pub x: f64,
    pub y: f64,
}

/// Where one edge goes: from the centre of its source node to the centre of its target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdgePath {
    /// Index into [`ServiceMap::edges`].
    pub edge: usize,
    pub from: (f64, f64),
    pub to: (f64, f64),
    /// True when the edge closes a cycle: it is drawn right to left.
    pub back: bool,
}

/// Positions for a [`ServiceMap`], in abstract units (the drawing code scales them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapLayout {
    /// One per node, in the order of [`ServiceMap::nodes`].
    pub nodes: Vec<NodePosition>,
    /// One per drawable edge, in the order of [`ServiceMap::edges`]; edges naming a node
    /// that does not exist, or from a node to itself, are left out.
    pub edges: Vec<EdgePath>,
    /// Largest node-centre `x` (0 for a single layer); the drawing adds room for node boxes.
    pub width: f64,
    /// Largest node-centre `y` (0 when no layer has more than one node).
    pub height: f64,
}

/// Number of barycenter sweeps (each one down and one up).
const SWEEPS: usize = 2;

/// A layered layout of `map`, as described in the module docs. Deterministic.
pub fn layout_map(map: &ServiceMap) -> MapLayout {
    let n = map.nodes.len();
    let drawable: Vec<(usize, &ServiceEdge)> = map
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.from < n && e.to < n && e.from != e.to)
        .collect();

    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (_, e) in &drawable {
        out[e.from].push(e.to);
    }
    for targets in &mut out {
        targets.sort_unstable();
        targets.dedup();
    }
    let back = back_edges(&out);

    // The acyclic graph used for layering: back edges reversed.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (u, targets) in out.iter().enumerate() {
        for &v in targets {
            let (a, b) = if back.contains(&(u, v)) {
                (v, u)
            } else {
                (u, v)
            };
            succs[a].push(b);
            preds[b].push(a);
        }
    }
    let layer = longest_path_layers(&preds, &succs);

    let n_layers = layer.iter().max().map_or(0, |&l| l + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); n_layers];
    for (v, &l) in layer.iter().enumerate() {
        layers[l].push(v);
    }
    // Each node's position within its layer; starts in node order.
    let mut pos = vec![0usize; n];
    for members in &layers {
        for (i, &v) in members.iter().enumerate() {
            pos[v] = i;
        }
    }
    for _ in 0..SWEEPS {
        for members in layers.iter_mut().skip(1) {
            sort_by_barycenter(members, &preds, &mut pos);
        }
        for members in layers.iter_mut().rev().skip(1) {
            sort_by_barycenter(members, &succs, &mut pos);
        }
    }

    let tallest = layers.iter().map(Vec::len).max().unwrap_or(0);
    let mut nodes = vec![
        NodePosition {
            layer: 0,
            order: 0,
            x: 0.0,
            y: 0.0
        };
        n
    ];
    for (l, members) in layers.iter().enumerate() {
        // Shorter layers are centred against the tallest one.
        let shift = (tallest - members.len()) as f64 / 2.0;
        for (order, &v) in members.iter().enumerate() {
            nodes[v] = NodePosition {
                layer: l,
                order,
                x: l as f64 * LAYER_GAP,
                y: (order as f64 + shift) * ROW_GAP,
            };
        }
    }
    let edges = drawable
        .iter()
        .map(|&(i, e)| EdgePath {
            edge: i,
            from: (nodes[e.from].x, nodes[e.from].y),
            to: (nodes[e.to].x, nodes[e.to].y),
            back: back.contains(&(e.from, e.to)),
        })
        .collect();
    MapLayout {
        nodes,
        edges,
        width: n_layers.saturating_sub(1) as f64 * LAYER_GAP,
        height: tallest.saturating_sub(1) as f64 * ROW_GAP,
    }
}

/// Edges that close a cycle, found by a depth-first search started from the sources (then
/// from any node not reached yet), in node order. Reversing them leaves no cycle.
fn back_edges(out: &[Vec<usize>]) -> HashSet<(usize, usize)> {
    const NEW: u8 = 0;
    const ON_STACK: u8 = 1;
    const DONE: u8 = 2;
    let n = out.len();
    let mut has_pred = vec![false; n];
    for targets in out {
        for &v in targets {
            has_pred[v] = true;
        }
    }
    let starts = (0..n)
        .filter(|&v| !has_pred[v])
        .chain((0..n).filter(|&v| has_pred[v]));

    let mut state = vec![NEW; n];
    let mut back = HashSet::new();
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for s in starts {
        if state[s] != NEW {
            continue;
        }
        state[s] = ON_STACK;
        stack.push((s, 0));
        while let Some((u, next)) = stack.last_mut() {
            let u = *u;
            match out[u].get(*next) {
                Some(&v) => {
                    *next += 1;
                    match state[v] {
                        NEW => {
                            state[v] = ON_STACK;
                            stack.push((v, 0));
                        }
                        ON_STACK => {
                            back.insert((u, v));
                        }
                        _ => {}
                    }
                }
                None => {
                    state[u] = DONE;
                    stack.pop();
                }
            }
        }
    }
    back
}

/// Each node's layer: the longest path to it from a source (Kahn's order, smallest index
/// first). Nodes left on a cycle — impossible once back edges are reversed — stay at 0.
fn longest_path_layers(preds: &[Vec<usize>], succs: &[Vec<usize>]) -> Vec<usize> {
    let n = preds.len();
    let mut waiting: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut ready: BTreeSet<usize> = (0..n).filter(|&v| waiting[v] == 0).collect();
    let mut layer = vec![0; n];
    while let Some(u) = ready.pop_first() {
        for &v in &succs[u] {
            layer[v] = layer[v].max(layer[u] + 1);
            waiting[v] -= 1;
            if waiting[v] == 0 {
                ready.insert(v);
            }
        }
    }
    layer
}

/// Reorders one layer by the mean position of each node's `neighbours`; a node without
/// any keeps its own position as its key. The sort is stable, so ties keep their order.
fn sort_by_barycenter(members: &mut [usize], neighbours: &[Vec<usize>], pos: &mut [usize]) {
    let key = |v: usize| -> f64 {
        let list = &neighbours[v];
        if list.is_empty() {
            pos[v] as f64
        } else {
            list.iter().map(|&u| pos[u] as f64).sum::<f64>() / list.len() as f64
        }
    };
    let mut keyed: Vec<(f64, usize)> = members.iter().map(|&v| (key(v), v)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (i, (slot, (_, v))) in members.iter_mut().zip(keyed).enumerate() {
        *slot = v;
        pos[v] = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SpanId;
    use crate::layout::waterfall::{SpanNode, build_tree};

    fn id(n: u8) -> SpanId {
        SpanId([0, 0, 0, 0, 0, 0, 0, n])
    }

    fn span(n: u8, parent: Option<u8>, service: &str, kind: SpanKind, err: bool) -> SpanNode {
        SpanNode {
            span_id: id(n),
            parent_span_id: parent.map(id),
            start: u64::from(n),
            end: u64::from(n) + 10,
            name: format!("op{n}"),
            service: service.into(),
            is_error: err,
            kind,
        }
    }

    fn sample() -> Vec<SpanNode> {
        use SpanKind::*;
        vec![
            span(1, None, "frontend", Server, false),
            span(2, Some(1), "frontend", Client, false),
            span(3, Some(2), "cart", Server, false),
            span(4, Some(3), "cart", Client, true),
            span(5, Some(4), "db", Server, true),
            span(6, Some(1), "frontend", Client, false),
            span(7, Some(6), "cart", Server, false),
            span(8, Some(77), "worker", Consumer, false),
            span(9, None, "batch", Internal, false),
            // A duplicate id: ignored.
            span(3, Some(9), "ghost", Server, true),
        ]
    }

    fn service(name: &str, spans: usize, errors: usize) -> ServiceNode {
        ServiceNode {
            name: name.into(),
            external: false,
            spans,
            errors,
        }
    }

    fn edge(from: usize, to: usize, calls: usize, errors: usize) -> ServiceEdge {
        ServiceEdge {
            from,
            to,
            calls,
            errors,
        }
    }

    #[test]
    fn edges_counts_and_external_client() {
        let map = service_map(&build_tree(&sample()));
        let external = ServiceNode {
            name: EXTERNAL_CLIENT.into(),
            external: true,
            spans: 0,
            errors: 0,
        };
        assert_eq!(
            map.nodes,
            [
                external,
                service("batch", 1, 0),
                service("cart", 3, 1),
                service("db", 1, 1),
                service("frontend", 3, 0),
                service("worker", 1, 0),
            ]
        );
        assert_eq!(
            map.edges,
            [
                edge(0, 4, 1, 0),
                edge(0, 5, 1, 0),
                edge(2, 3, 1, 1),
                edge(4, 2, 2, 0)
            ]
        );
    }

    #[test]
    fn no_external_client_for_an_internal_root() {
        let spans = [
            span(1, None, "cron", SpanKind::Internal, false),
            span(2, Some(1), "api", SpanKind::Server, false),
        ];
        let map = service_map(&build_tree(&spans));
        assert_eq!(map.nodes, [service("api", 1, 0), service("cron", 1, 0)]);
        assert_eq!(map.edges, [edge(1, 0, 1, 0)]);
    }

    #[test]
    fn a_real_service_named_like_the_external_client_stays_separate() {
        let spans = [span(1, None, EXTERNAL_CLIENT, SpanKind::Server, false)];
        let map = service_map(&build_tree(&spans));
        assert_eq!(map.nodes.len(), 2);
        assert!(map.nodes[0].external && !map.nodes[1].external);
        assert_eq!(map.edges, [edge(0, 1, 1, 0)]);
    }

    #[test]
    fn layered_layout_of_the_sample() {
        let map = service_map(&build_tree(&sample()));
        let lay = layout_map(&map);
        let at = |i: usize| (lay.nodes[i].layer, lay.nodes[i].x, lay.nodes[i].y);
        // external, batch | frontend, worker | cart | db
        assert_eq!(at(0), (0, 0.0, 0.0));
        assert_eq!(at(1), (0, 0.0, 90.0));
        assert_eq!(at(4), (1, 220.0, 0.0));
        assert_eq!(at(5), (1, 220.0, 90.0));
        assert_eq!(at(2), (2, 440.0, 45.0));
        assert_eq!(at(3), (3, 660.0, 45.0));
        assert_eq!((lay.width, lay.height), (660.0, 90.0));
        assert_eq!(lay.edges.len(), 4);
        assert_eq!(
            lay.edges[3],
            EdgePath {
                edge: 3,
                from: (220.0, 0.0),
                to: (440.0, 45.0),
                back: false
            }
        );
        assert_layout_is_sound(&map, &lay);
    }

    #[test]
    fn cycles_are_broken_into_back_edges() {
        let nodes = ["a", "b", "c", "d"].map(|n| service(n, 1, 0)).to_vec();
        // a → b ⇄ c → d → a
        let edges = vec![
            edge(0, 1, 1, 0),
            edge(1, 2, 1, 0),
            edge(2, 1, 1, 0),
            edge(2, 3, 1, 0),
            edge(3, 0, 1, 0),
        ];
        let map = ServiceMap { nodes, edges };
        let lay = layout_map(&map);
        let layers: Vec<usize> = lay.nodes.iter().map(|p| p.layer).collect();
        assert_eq!(layers, [0, 1, 2, 3]);
        let back: Vec<usize> = lay
            .edges
            .iter()
            .filter(|e| e.back)
            .map(|e| e.edge)
            .collect();
        assert_eq!(back, [2, 4]);
        assert_layout_is_sound(&map, &lay);
    }

    #[test]
    fn barycenter_removes_a_crossing() {
        let nodes = ["p", "q", "u", "v"].map(|n| service(n, 1, 0)).to_vec();
        // p → v and q → u: in index order the two edges would cross.
        let map = ServiceMap {
            nodes,
            edges: vec![edge(0, 3, 1, 0), edge(1, 2, 1, 0)],
        };
        let lay = layout_map(&map);
        assert_eq!((lay.nodes[0].y, lay.nodes[1].y), (0.0, 90.0));
        assert_eq!((lay.nodes[3].y, lay.nodes[2].y), (0.0, 90.0));
        assert_layout_is_sound(&map, &lay);
    }

    #[test]
    fn layout_is_deterministic_across_input_orders() {
        // Without the duplicate, whose winner depends on input order.
        let spans: Vec<SpanNode> = sample()
            .into_iter()
            .filter(|s| s.service != "ghost")
            .collect();
        let mut reversed = spans.clone();
        reversed.reverse();
        let map = service_map(&build_tree(&spans));
        assert_eq!(map, service_map(&build_tree(&reversed)));
        let lay = layout_map(&map);
        assert_eq!(lay, layout_map(&service_map(&build_tree(&reversed))));
        assert_eq!(lay, layout_map(&map));
    }

    #[test]
    fn bad_edges_and_empty_maps_do_not_panic() {
        assert_eq!(layout_map(&ServiceMap::default()), MapLayout::default());
        let map = ServiceMap {
            nodes: vec![service("a", 1, 0)],
            edges: vec![edge(0, 7, 1, 0), edge(0, 0, 1, 0)],
        };
        let lay = layout_map(&map);
        assert!(lay.edges.is_empty());
        assert_eq!((lay.nodes[0].x, lay.nodes[0].y), (0.0, 0.0));
    }

    /// No two nodes share a position; forward edges go strictly left to right, back
    /// edges strictly right to left.
    fn assert_layout_is_sound(map: &ServiceMap, lay: &MapLayout) {
        assert_eq!(lay.nodes.len(), map.nodes.len());
        let mut seen = HashSet::new();
        for p in &lay.nodes {
            assert!(
                seen.insert((p.x.to_bits(), p.y.to_bits())),
                "two nodes at {p:?}"
            );
        }
        for e in &lay.edges {
            if e.back {
                assert!(e.from.0 > e.to.0, "{e:?}");
            } else {
                assert!(e.from.0 < e.to.0, "{e:?}");
            }
        }
    }
}
