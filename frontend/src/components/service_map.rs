//! A service map drawn as SVG from `shared::layout::service_map`'s layered
//! layout: boxes for services (dashed for the inferred external client),
//! arrows with call counts, error edges in red, back edges (cycles) curved
//! below.

use shared::layout::service_map::{MapLayout, ServiceMap};
use yew::prelude::*;

use crate::format;
use crate::palette::service_color;

const NODE_W: f64 = 160.0;
const NODE_H: f64 = 46.0;
const PAD: f64 = 24.0;
/// A map wider than its box shrinks to fit down to this scale (labels stay
/// readable), then scrolls sideways.
const MIN_SCALE: f64 = 0.7;
/// The layout's units → pixels: wider between layers, for edge labels.
const SX: f64 = 1.6;
const SY: f64 = 0.8;

#[derive(Properties, PartialEq)]
pub struct ServiceMapProps {
    pub map: ServiceMap,
    pub layout: MapLayout,
    /// Extra text per edge (same order as `map.edges`), e.g. a latency.
    #[prop_or_default]
    pub edge_notes: Vec<String>,
    /// Called with a service's name when its box is clicked.
    #[prop_or_default]
    pub on_node: Option<Callback<String>>,
    #[prop_or_default]
    pub id: Option<AttrValue>,
}

fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_owned()
    } else {
        let s: String = name.chars().take(max - 1).collect();
        format!("{s}…")
    }
}

#[function_component(ServiceMapView)]
pub fn service_map_view(props: &ServiceMapProps) -> Html {
    let lay = &props.layout;
    let map = &props.map;
    if map.nodes.is_empty() {
        return html! { <div class="muted small">{ "No services." }</div> };
    }
    let ox = PAD + NODE_W / 2.0;
    let oy = PAD + NODE_H / 2.0;
    let has_back = lay.edges.iter().any(|e| e.back);
    let width = lay.width * SX + NODE_W + 2.0 * PAD;
    let height = lay.height * SY + NODE_H + 2.0 * PAD + if has_back { 40.0 } else { 0.0 };

    let edges = lay.edges.iter().filter_map(|path| {
        let e = map.edges.get(path.edge)?;
        let (fx, fy) = (path.from.0 * SX + ox, path.from.1 * SY + oy);
        let (tx, ty) = (path.to.0 * SX + ox, path.to.1 * SY + oy);
        let (d, lx, ly) = if path.back {
            let (sx, sy) = (fx, fy + NODE_H / 2.0);
            let (ex, ey) = (tx, ty + NODE_H / 2.0);
            let dip = sy.max(ey) + 34.0;
            (
                format!("M{sx:.1},{sy:.1} C{sx:.1},{dip:.1} {ex:.1},{dip:.1} {ex:.1},{ey:.1}"),
                (sx + ex) / 2.0,
                dip - 4.0,
            )
        } else {
            let (sx, ex) = (fx + NODE_W / 2.0, tx - NODE_W / 2.0 - 3.0);
            let mx = (sx + ex) / 2.0;
            // The label sits at the middle of the curve, where edges that
            // leave one node have spread apart by half their targets' gap.
            let t: f64 = 0.5;
            let u = 1.0 - t;
            let bx = u * u * u * sx + 3.0 * u * u * t * mx + 3.0 * u * t * t * mx + t * t * t * ex;
            let by = u * u * u * fy + 3.0 * u * u * t * fy + 3.0 * u * t * t * ty + t * t * t * ty;
            (
                format!("M{sx:.1},{fy:.1} C{mx:.1},{fy:.1} {mx:.1},{ty:.1} {ex:.1},{ty:.1}"),
                bx,
                by - 6.0,
            )
        };
        let from = map.nodes.get(e.from).map(|n| n.name.clone()).unwrap_or_default();
        let to = map.nodes.get(e.to).map(|n| n.name.clone()).unwrap_or_default();
        let mut label = if e.calls == 1 { "1 call".to_owned() } else { format!("{} calls", e.calls) };
        if e.errors > 0 {
            label.push_str(&format!(" · {} err", e.errors));
        }
        if let Some(note) = props.edge_notes.get(path.edge).filter(|n| !n.is_empty()) {
            label.push_str(&format!(" · {note}"));
        }
        let err = e.errors > 0;
        Some(html! {
            <g class={classes!("edge", err.then_some("err"), path.back.then_some("back"))}
               data-from={from.clone()} data-to={to.clone()} data-calls={e.calls.to_string()} data-errors={e.errors.to_string()}>
                <title>{ format!("{from} → {to}: {label}") }</title>
                <path d={d} marker-end={if err { "url(#arrow-err)" } else { "url(#arrow)" }} />
                <text x={format!("{lx:.1}")} y={format!("{ly:.1}")} text-anchor="middle" class="edge-label">{ label }</text>
            </g>
        })
    });

    let nodes = map.nodes.iter().zip(&lay.nodes).map(|(n, p)| {
        let (x, y) = (p.x * SX + ox - NODE_W / 2.0, p.y * SY + oy - NODE_H / 2.0);
        let color = if n.external { "var(--muted)" } else { service_color(&n.name) };
        let sub = if n.external {
            "outside the data".to_owned()
        } else if n.errors > 0 {
            format!("{} · {} err", format::counted(n.spans, "span", "spans"), n.errors)
        } else {
            format::counted(n.spans, "span", "spans")
        };
        let onclick = props.on_node.clone().filter(|_| !n.external).map(|cb| {
            let name = n.name.clone();
            Callback::from(move |_: MouseEvent| cb.emit(name.clone()))
        });
        let clickable = onclick.is_some();
        html! {
            <g class={classes!("node", n.external.then_some("external"), (n.errors > 0).then_some("err"), clickable.then_some("clickable"))}
               data-service={n.name.clone()} data-external={n.external.to_string()} {onclick}
               transform={format!("translate({x:.1},{y:.1})")}>
                <title>{ format!("{}: {sub}", n.name) }</title>
                <rect class="box" width={NODE_W.to_string()} height={NODE_H.to_string()} rx="8" />
                <rect width="5" height={NODE_H.to_string()} rx="2" style={format!("fill:{color}")} class="stripe" />
                <text x="14" y="19" class="node-name">{ short(&n.name, 20) }</text>
                <text x="14" y="36" class="node-sub">{ sub }</text>
            </g>
        }
    });

    html! {
        <div class="map-wrap">
            <svg class="service-map" id={props.id.clone()} role="img" aria-label="Service map"
                 viewBox={format!("0 0 {width:.0} {height:.0}")}
                 width={format!("{width:.0}")} height={format!("{height:.0}")}
                 style={format!("min-width:{:.0}px", width * MIN_SCALE)}>
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="arrow" />
                    </marker>
                    <marker id="arrow-err" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="arrow err" />
                    </marker>
                </defs>
                { for edges }
                { for nodes }
            </svg>
        </div>
    }
}
