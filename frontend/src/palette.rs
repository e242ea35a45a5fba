//! Stable colours: each service keeps its colour across views and reloads.

/// Colours that read on both themes.
const COLORS: [&str; 10] = [
    "#4fb3ff", "#f5a524", "#7bd88f", "#c792ea", "#ff8a65", "#4dd0e1", "#f06292", "#aed581",
    "#ffd54f", "#9fa8da",
];

/// The colour of `service` (FNV-1a of its name).
pub fn service_color(service: &str) -> &'static str {
    let mut h: u32 = 0x811c_9dc5;
    for b in service.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    COLORS[h as usize % COLORS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stable() {
        assert_eq!(service_color("cart"), service_color("cart"));
        assert!(COLORS.contains(&service_color("")));
    }
}
