//! Stable colours: each service keeps its colour across views and reloads,
//! in a shade that reads on the theme in use. HTML and SVG use the CSS
//! variables `--c0`…`--c9`, which the stylesheet sets per theme; the chart's
//! canvas takes the hex value for the theme.

use crate::theme::Theme;

/// Bright shades for the dark theme.
const DARK: [&str; 10] = [
    "#4fb3ff", "#f5a524", "#7bd88f", "#c792ea", "#ff8a65", "#4dd0e1", "#f06292", "#aed581",
    "#ffd54f", "#9fa8da",
];

/// The same hues, darker, for the light theme's white panels.
const LIGHT: [&str; 10] = [
    "#1a7fd1", "#c77700", "#2e9e4a", "#8e4fc4", "#d9552b", "#0f97a8", "#cc3d72", "#6b9e2b",
    "#a68500", "#5c6bc0",
];

const VARS: [&str; 10] = [
    "var(--c0)",
    "var(--c1)",
    "var(--c2)",
    "var(--c3)",
    "var(--c4)",
    "var(--c5)",
    "var(--c6)",
    "var(--c7)",
    "var(--c8)",
    "var(--c9)",
];

/// Number of colours.
pub const COLORS: usize = DARK.len();

/// The colour slot of `service` (FNV-1a of its name).
pub fn service_slot(service: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in service.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h as usize % COLORS
}

/// The CSS colour of slot `i` (a variable set per theme).
pub fn css(i: usize) -> &'static str {
    VARS[i % COLORS]
}

/// The CSS colour of `service`.
pub fn service_color(service: &str) -> &'static str {
    css(service_slot(service))
}

/// The hex colour of slot `i` in `theme` (for drawing on a canvas).
pub fn hex(i: usize, theme: Theme) -> &'static str {
    match theme {
        Theme::Dark => DARK[i % COLORS],
        Theme::Light => LIGHT[i % COLORS],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stable() {
        assert_eq!(service_color("cart"), service_color("cart"));
        assert!(VARS.contains(&service_color("")));
        assert_eq!(hex(COLORS + 2, Theme::Light), LIGHT[2]);
    }

    /// The stylesheet's variables are these colours, per theme.
    #[test]
    fn the_stylesheet_sets_the_same_colours() {
        let css = include_str!("../style.css");
        let block = |selector: &str| {
            let start = css.find(selector).expect(selector);
            let end = start + css[start..].find('}').expect("block end");
            css[start..end].to_owned()
        };
        let dark = block(":root, [data-theme=\"dark\"]");
        let light = block("[data-theme=\"light\"]");
        for i in 0..COLORS {
            assert!(
                dark.contains(&format!("--c{i}: {};", DARK[i])),
                "--c{i} dark"
            );
            assert!(
                light.contains(&format!("--c{i}: {};", LIGHT[i])),
                "--c{i} light"
            );
        }
    }
}
