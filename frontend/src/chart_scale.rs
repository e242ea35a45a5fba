//! Chart arithmetic the metric charts draw with: time ticks on round clock
//! times, a padded value range, and the nearest point for the hover read-out.
//! Pure and tested natively; `components::chart` only draws.

/// Steps a time axis may use, in milliseconds.
const TIME_STEPS_MS: [f64; 17] = [
    1_000.0,
    5_000.0,
    10_000.0,
    15_000.0,
    30_000.0,
    60_000.0,
    120_000.0,
    300_000.0,
    600_000.0,
    900_000.0,
    1_800_000.0,
    3_600_000.0,
    10_800_000.0,
    21_600_000.0,
    43_200_000.0,
    86_400_000.0,
    604_800_000.0,
];

/// The smallest step that gives at most `max_ticks` ticks over `span_ms`.
pub fn time_step(span_ms: f64, max_ticks: usize) -> f64 {
    let max_ticks = max_ticks.max(1) as f64;
    TIME_STEPS_MS
        .into_iter()
        .find(|s| span_ms / s <= max_ticks)
        .unwrap_or_else(|| (span_ms / max_ticks / 86_400_000.0).ceil() * 86_400_000.0)
}

/// Tick positions (ms since the epoch) on round multiples of the step, in
/// local time (`offset_minutes` east of UTC), inside `[from, to]`.
pub fn time_ticks(from_ms: f64, to_ms: f64, max_ticks: usize, offset_minutes: i32) -> Vec<f64> {
    if !(from_ms.is_finite() && to_ms.is_finite()) || to_ms <= from_ms {
        return Vec::new();
    }
    let step = time_step(to_ms - from_ms, max_ticks);
    let shift = f64::from(offset_minutes) * 60_000.0;
    let mut t = ((from_ms + shift) / step).ceil() * step - shift;
    let mut out = Vec::new();
    while t <= to_ms && out.len() <= max_ticks {
        out.push(t);
        t += step;
    }
    out
}

/// A "nice" step (1, 2 or 5 × 10ⁿ) giving at most `max_ticks` over `span`.
pub fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let raw = span / max_ticks.max(1) as f64;
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// The value range to draw: covers every finite value, starts at 0 when all
/// values are non-negative, rounds out to a nice step, and is never empty.
pub fn value_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if lo >= 0.0 {
        lo = 0.0;
    }
    if hi == lo {
        hi = lo + if lo == 0.0 { 1.0 } else { lo.abs() };
    }
    let step = nice_step(hi - lo, 5);
    ((lo / step).floor() * step, (hi / step).ceil() * step)
}

/// Index of the time in `times` (ascending) nearest to `t`.
pub fn nearest(times: &[f64], t: f64) -> Option<usize> {
    if times.is_empty() || !t.is_finite() {
        return None;
    }
    let i = times.partition_point(|&x| x < t);
    match (i.checked_sub(1), times.get(i)) {
        (Some(a), Some(&b)) => Some(if t - times[a] <= b - t { a } else { i }),
        (Some(a), None) => Some(a),
        (None, _) => Some(0),
    }
}

/// `y` of `x` on a linear map from `[d0, d1]` to `[r0, r1]`.
pub fn lerp(x: f64, (d0, d1): (f64, f64), (r0, r1): (f64, f64)) -> f64 {
    if d1 == d0 {
        return r0;
    }
    r0 + (x - d0) / (d1 - d0) * (r1 - r0)
}

/// The SVG polyline points of a sparkline of `values` in a `w`×`h` box
/// (0 at the bottom, the largest value at the top).
pub fn sparkline_points(values: &[u64], w: f64, h: f64) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = values.len();
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = if n <= 1 {
                0.0
            } else {
                i as f64 / (n - 1) as f64 * w
            };
            let y = h - v as f64 / max * h;
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ticks_fall_on_round_times() {
        // 1 hour from 10:07:30 UTC: 10-minute steps at :10, :20, …
        let from = 1_700_000_000_000.0 + 450_000.0; // 22:20:50 + 7m30s
        let to = from + 3_600_000.0;
        let ticks = time_ticks(from, to, 8, 0);
        assert!(!ticks.is_empty());
        for t in &ticks {
            assert_eq!(t % 600_000.0, 0.0, "{t}");
            assert!(*t >= from && *t <= to);
        }
        assert!(ticks.len() <= 8);
        // In a +05:30 zone, hour ticks are on local hours.
        let ticks = time_ticks(from, from + 6.0 * 3_600_000.0, 6, 330);
        for t in ticks {
            assert_eq!((t + 330.0 * 60_000.0) % 3_600_000.0, 0.0);
        }
        assert!(time_ticks(5.0, 5.0, 4, 0).is_empty());
    }

    #[test]
    fn steps() {
        assert_eq!(time_step(60_000.0, 6), 10_000.0);
        assert_eq!(time_step(86_400_000.0, 8), 10_800_000.0);
        assert_eq!(time_step(100.0 * 86_400_000.0, 5), 20.0 * 86_400_000.0);
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(nice_step(0.7, 5), 0.2);
        assert_eq!(nice_step(1234.0, 5), 500.0);
    }

    #[test]
    fn value_ranges() {
        assert_eq!(value_range([3.0, 7.5]), (0.0, 8.0));
        assert_eq!(value_range([-3.0, 7.0]), (-4.0, 8.0));
        assert_eq!(value_range([]), (0.0, 1.0));
        assert_eq!(value_range([f64::NAN]), (0.0, 1.0));
        assert_eq!(value_range([0.0, 0.0]), (0.0, 1.0));
        let (lo, hi) = value_range([-5.0, -5.0]);
        assert!(lo <= -5.0 && hi > -5.0);
    }

    #[test]
    fn nearest_point() {
        let t = [10.0, 20.0, 30.0];
        assert_eq!(nearest(&t, 0.0), Some(0));
        assert_eq!(nearest(&t, 14.0), Some(0));
        assert_eq!(nearest(&t, 16.0), Some(1));
        assert_eq!(nearest(&t, 99.0), Some(2));
        assert_eq!(nearest(&[], 1.0), None);
        assert_eq!(lerp(5.0, (0.0, 10.0), (100.0, 200.0)), 150.0);
    }

    #[test]
    fn sparklines() {
        assert_eq!(
            sparkline_points(&[0, 5, 10], 100.0, 20.0),
            "0.0,20.0 50.0,10.0 100.0,0.0"
        );
        assert_eq!(sparkline_points(&[0, 0], 10.0, 10.0), "0.0,10.0 10.0,10.0");
        assert_eq!(sparkline_points(&[], 10.0, 10.0), "");
    }
}
