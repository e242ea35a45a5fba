//! A metric line chart drawn with plotters on a `<canvas>`: a local-time
//! axis on round clock times, values with their unit, one line per series
//! (gaps where a step has no data), an HTML legend, and a hover read-out of
//! every series at the nearest step. Ticks, ranges and the nearest point
//! come from `chart_scale` (tested natively).

use std::ops::Range;

use plotters::coord::ReverseCoordTranslate;
use plotters::coord::ranged1d::{
    KeyPointHint, NoDefaultFormatting, Ranged, ReversibleRanged, ValueFormatter,
};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use yew::prelude::*;

use crate::browser::tz_offset;
use crate::chart_scale::{lerp, nearest, time_ticks, value_range};
use crate::format;
use crate::listener::EventListener;
use crate::palette;
use crate::theme::{Theme, ThemeContext};

/// A time axis in milliseconds since the epoch, ticked on local clock times.
#[derive(Clone, Debug)]
pub struct TimeAxis {
    from: f64,
    to: f64,
    offset: i32,
}

impl Ranged for TimeAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        lerp(
            *v,
            (self.from, self.to),
            (f64::from(limit.0), f64::from(limit.1)),
        )
        .round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        time_ticks(
            self.from,
            self.to,
            hint.max_num_points().clamp(2, 10),
            self.offset,
        )
    }

    fn range(&self) -> Range<f64> {
        self.from..self.to
    }
}

impl ValueFormatter<f64> for TimeAxis {
    fn format(v: &f64) -> String {
        time_label(*v, 3_600_000.0, 0)
    }

    fn format_ext(&self, v: &f64) -> String {
        time_label(*v, self.to - self.from, self.offset)
    }
}

impl ReversibleRanged for TimeAxis {
    fn unmap(&self, input: i32, limit: (i32, i32)) -> Option<f64> {
        Some(lerp(
            f64::from(input),
            (f64::from(limit.0), f64::from(limit.1)),
            (self.from, self.to),
        ))
    }
}

type Coord = Cartesian2d<TimeAxis, RangedCoordf64>;

/// One line of the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSeries {
    pub label: String,
    /// A slot of `palette` (its shade follows the theme).
    pub color: usize,
    /// (ms since the epoch, value), time-ordered; `None` is a gap.
    pub points: Vec<(f64, Option<f64>)>,
}

#[derive(Properties, PartialEq)]
pub struct ChartProps {
    pub series: Vec<ChartSeries>,
    pub unit: AttrValue,
    pub from_ms: f64,
    pub to_ms: f64,
    #[prop_or(320)]
    pub height: u32,
    #[prop_or_default]
    pub id: Option<AttrValue>,
}

fn parse_hex(c: &str) -> RGBColor {
    let h = c.trim_start_matches('#');
    let b = |i: usize| u8::from_str_radix(h.get(i..i + 2).unwrap_or("80"), 16).unwrap_or(128);
    RGBColor(b(0), b(2), b(4))
}

/// Labels of the time axis: clock time, with the date when the range spans days.
fn time_label(ms: f64, span_ms: f64, offset: i32) -> String {
    let c = format::civil((ms.max(0.0) * 1e6) as u64, offset);
    if span_ms > 2.0 * 86_400_000.0 {
        format!("{:02}-{:02} {:02}:{:02}", c.month, c.day, c.hour, c.minute)
    } else if span_ms < 120_000.0 {
        format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
    } else {
        format!("{:02}:{:02}", c.hour, c.minute)
    }
}

fn draw(canvas: web_sys::HtmlCanvasElement, props: &ChartProps, theme: Theme) -> Option<Coord> {
    let backend = CanvasBackend::with_canvas_object(canvas)?;
    let root = backend.into_drawing_area();
    let (fg, grid, axis) = if theme == Theme::Dark {
        (
            RGBColor(0x8b, 0x95, 0xa3),
            RGBColor(0x24, 0x2a, 0x33),
            RGBColor(0x3a, 0x42, 0x4e),
        )
    } else {
        (
            RGBColor(0x5d, 0x67, 0x76),
            RGBColor(0xe6, 0xe9, 0xee),
            RGBColor(0xc0, 0xc6, 0xcf),
        )
    };
    root.fill(&TRANSPARENT).ok()?;
    let (lo, hi) = value_range(
        props
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1)),
    );
    let offset = tz_offset();
    let (from, to) = if props.to_ms > props.from_ms {
        (props.from_ms, props.to_ms)
    } else {
        (props.from_ms - 60_000.0, props.from_ms + 60_000.0)
    };
    let x = TimeAxis { from, to, offset };
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .margin_right(20)
        .x_label_area_size(28)
        .y_label_area_size(78)
        .build_cartesian_2d(x, lo..hi)
        .ok()?;
    let unit = props.unit.to_string();
    let span = to - from;
    let xf = move |v: &f64| time_label(*v, span, offset);
    let yf = |v: &f64| format::with_unit(*v, &unit);
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .label_style(("sans-serif", 12).into_font().color(&fg))
        .axis_style(axis)
        .bold_line_style(grid)
        .light_line_style(TRANSPARENT)
        .draw()
        .ok()?;
    for s in &props.series {
        let color = parse_hex(palette::hex(s.color, theme));
        let style = ShapeStyle::from(&color).stroke_width(2);
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        for &(t, v) in &s.points {
            match v.filter(|v| v.is_finite()) {
                Some(v) => run.push((t, v)),
                None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                None => {}
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        for r in runs {
            if r.len() == 1 {
                let _ = chart.draw_series(r.iter().map(|&p| Circle::new(p, 3, color.filled())));
            } else {
                let _ = chart.draw_series(LineSeries::new(r, style));
            }
        }
    }
    root.present().ok()?;
    Some(chart.as_coord_spec().clone())
}

/// What the hover read-out shows.
#[derive(Clone, PartialEq)]
struct Hover {
    x_px: f64,
    time: f64,
    values: Vec<(String, usize, Option<f64>)>,
}

#[function_component(Chart)]
pub fn chart(props: &ChartProps) -> Html {
    let canvas_ref = use_node_ref();
    let wrap_ref = use_node_ref();
    let coord = use_mut_ref(|| None::<Coord>);
    let hover = use_state(|| None::<Hover>);
    let width = use_state(|| 0u32);

    // Size the canvas to its box (and again when the window is resized).
    {
        let wrap_ref = wrap_ref.clone();
        let width = width.clone();
        use_effect_with((), move |_| {
            let measure = move || {
                if let Some(w) = wrap_ref.cast::<web_sys::HtmlElement>() {
                    width.set(w.client_width().max(300) as u32);
                }
            };
            measure();
            let listener = EventListener::on_window(&["resize"], measure);
            move || drop(listener)
        });
    }
    {
        let canvas_ref = canvas_ref.clone();
        let coord = coord.clone();
        let series = props.series.clone();
        let w = *width;
        let h = props.height;
        let p = ChartProps {
            series,
            unit: props.unit.clone(),
            from_ms: props.from_ms,
            to_ms: props.to_ms,
            height: props.height,
            id: None,
        };
        // The canvas is drawn outside CSS: a theme change redraws it.
        let theme = use_context::<ThemeContext>()
            .map(|t| *t)
            .unwrap_or_default();
        use_effect_with((p, w, theme), move |(p, w, theme)| {
            if let Some(c) = canvas_ref.cast::<web_sys::HtmlCanvasElement>()
                && *w > 0
            {
                c.set_width(*w);
                c.set_height(h);
                *coord.borrow_mut() = draw(c, p, *theme);
            }
        });
    }
    let onmousemove = {
        let coord = coord.clone();
        let hover = hover.clone();
        let canvas_ref = canvas_ref.clone();
        let series = props.series.clone();
        Callback::from(move |e: MouseEvent| {
            let Some(c) = canvas_ref.cast::<web_sys::HtmlCanvasElement>() else {
                return;
            };
            let rect = c.get_bounding_client_rect();
            let sx = if rect.width() > 0.0 {
                f64::from(c.width()) / rect.width()
            } else {
                1.0
            };
            let px = (f64::from(e.client_x()) - rect.left()) * sx;
            let py = (f64::from(e.client_y()) - rect.top()) * sx;
            let Some((t, _)) = coord
                .borrow()
                .as_ref()
                .and_then(|cs| cs.reverse_translate((px as i32, py as i32)))
            else {
                hover.set(None);
                return;
            };
            let values = series
                .iter()
                .map(|s| {
                    let times: Vec<f64> = s.points.iter().map(|p| p.0).collect();
                    let v = nearest(&times, t)
                        .and_then(|i| s.points.get(i))
                        .and_then(|p| p.1);
                    (s.label.clone(), s.color, v)
                })
                .collect();
            let all: Vec<f64> = series
                .first()
                .map(|s| s.points.iter().map(|p| p.0).collect())
                .unwrap_or_default();
            let snapped = nearest(&all, t)
                .and_then(|i| all.get(i).copied())
                .unwrap_or(t);
            let snapped_px = coord
                .borrow()
                .as_ref()
                .map(|cs| f64::from(cs.translate(&(snapped, 0.0)).0) / sx)
                .unwrap_or(px / sx);
            hover.set(Some(Hover {
                x_px: snapped_px,
                time: snapped,
                values,
            }));
        })
    };
    let onmouseleave = {
        let hover = hover.clone();
        Callback::from(move |_: MouseEvent| hover.set(None))
    };
    let readout = hover.as_ref().map(|h| {
        let left = h.x_px + 12.0;
        html! {
            <>
            <div class="chart-cursor" style={format!("left:{:.0}px", h.x_px)}></div>
            <div class="chart-readout" id="chart-readout" style={format!("left:{left:.0}px")}>
                <div class="mono muted">{ format::date_time((h.time * 1e6) as u64, tz_offset()) }</div>
                { for h.values.iter().map(|(label, color, v)| html! {
                    <div class="readout-row">
                        <span class="swatch" style={format!("background:{}", palette::css(*color))}></span>
                        <span class="readout-label">{ if label.is_empty() { "value".to_owned() } else { label.clone() } }</span>
                        <span class="mono">{ v.map_or_else(|| "–".to_owned(), |v| format::with_unit(v, &props.unit)) }</span>
                    </div>
                }) }
            </div>
            </>
        }
    });
    html! {
        <div class="chart" id={props.id.clone()}>
            <div class="chart-canvas" ref={wrap_ref} {onmousemove} {onmouseleave}>
                <canvas ref={canvas_ref} height={props.height.to_string()}></canvas>
                { readout.unwrap_or_default() }
            </div>
            <div class="legend-list">
                { for props.series.iter().map(|s| html! {
                    <span class="legend-item" title={s.label.clone()}>
                        <span class="swatch" style={format!("background:{}", palette::css(s.color))}></span>
                        { if s.label.is_empty() { "(all)".to_owned() } else { s.label.clone() } }
                    </span>
                }) }
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_labels_follow_the_span() {
        let t = 1_700_000_000_000.0; // 22:13:20 UTC
        assert_eq!(time_label(t, 60_000.0, 0), "22:13:20");
        assert_eq!(time_label(t, 3_600_000.0, 0), "22:13");
        assert_eq!(time_label(t, 7.0 * 86_400_000.0, 0), "11-14 22:13");
        let axis = TimeAxis {
            from: 0.0,
            to: 100.0,
            offset: 0,
        };
        assert_eq!(axis.map(&50.0, (0, 200)), 100);
        assert_eq!(axis.unmap(100, (0, 200)), Some(50.0));
        assert_eq!(parse_hex("#4fb3ff"), RGBColor(0x4f, 0xb3, 0xff));
    }
}
