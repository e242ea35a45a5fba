//! Times the trace-view layout on large synthetic traces (a benchmark, not a test).
//!
//! `cargo run --release -p sightline-shared --example layout_bench`
//!
//! Traces of 10,000 and 100,000 spans mix long chains (deep), wide fan-outs, random
//! attachment, errors, orphans, 0-duration spans and children outside their parents, in
//! shuffled order. Each phase is timed over several runs; the table shows median and max.

use std::hint::black_box;
use std::time::{Duration, Instant};

use shared::SpanId;
use shared::layout::{
    LayoutOptions, SpanNode, build_tree, critical_path, layout, layout_map, service_map,
};
use shared::trace::SpanKind;

/// splitmix64: a fixed seed gives the same traces on every machine, with no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next().checked_rem(n).unwrap_or(0)
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

const SERVICES: [&str; 12] = [
    "frontend",
    "cart",
    "checkout",
    "payment",
    "shipping",
    "email",
    "currency",
    "ads",
    "recommendation",
    "catalog",
    "quote",
    "fraud",
];
const NAMES: [&str; 6] = [
    "GET /api/cart",
    "SELECT products",
    "render",
    "POST /charge",
    "GET /api/cart http send",
    "GET /api/cart http receive",
];
const BLOCK: usize = 1000;

fn synthetic_trace(n: usize, seed: u64) -> Vec<SpanNode> {
    let mut rng = Rng(seed);
    let t0: u64 = 1_700_000_000_000_000_000;
    let mut spans: Vec<SpanNode> = Vec::with_capacity(n);
    for i in 0..n {
        let span_id = SpanId((i as u64 + 1).to_be_bytes());
        let block = i / BLOCK;
        // Blocks alternate between shapes: deep chains, wide fan-outs and random trees.
        let parent = if i == 0 {
            None
        } else if i % BLOCK == 0 {
            Some(rng.below(i as u64) as usize)
        } else {
            Some(match block % 4 {
                0 => i - 1,
                1 | 2 => block * BLOCK + rng.below(8).min((i % BLOCK) as u64 - 1) as usize,
                _ => rng.below(i as u64) as usize,
            })
        };
        let (parent_span_id, start, end) = match parent.and_then(|p| spans.get(p)) {
            None => (None, t0, t0 + 10_000_000_000),
            Some(p) => {
                let dur = p.end.saturating_sub(p.start);
                let mut start = p.start + rng.below(dur / 4 + 1);
                let mut len = (dur / 100) * (50 + rng.below(45)) + rng.below(2_000_000);
                if rng.chance(10) {
                    // Clock skew: shifted up to 50 ms either way.
                    start = start
                        .wrapping_add(rng.below(100_000_000))
                        .wrapping_sub(50_000_000);
                }
                if rng.chance(10) {
                    len = 0;
                }
                (Some(p.span_id), start, start + len)
            }
        };
        let parent_span_id = if rng.chance(5) {
            // An orphan: the parent is not in the trace.
            Some(SpanId((u64::MAX - i as u64).to_be_bytes()))
        } else {
            parent_span_id
        };
        let kind = match rng.below(4) {
            0 => SpanKind::Server,
            1 => SpanKind::Client,
            _ => SpanKind::Internal,
        };
        spans.push(SpanNode {
            span_id,
            parent_span_id,
            start,
            end,
            name: NAMES[rng.below(NAMES.len() as u64) as usize].to_owned(),
            service: SERVICES[rng.below(SERVICES.len() as u64) as usize].to_owned(),
            is_error: rng.chance(20),
            kind,
        });
    }
    // API data comes in no particular order.
    for i in (1..spans.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        spans.swap(i, j);
    }
    spans
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `(median, max)` in milliseconds.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort_unstable();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let max = times.last().copied().unwrap_or_default();
    (ms(median), ms(max))
}

fn main() {
    println!(
        "{:>8}  {:<44} {:>10} {:>10}",
        "spans", "phase", "median ms", "max ms"
    );
    for (n, runs) in [(10_000, 15), (100_000, 7)] {
        let spans = synthetic_trace(n, 42);
        let opts = LayoutOptions::default();
        let mut phases: [(&str, Vec<Duration>); 5] = [
            ("build_tree", Vec::new()),
            ("layout", Vec::new()),
            ("critical_path", Vec::new()),
            ("total (build_tree + layout + critical_path)", Vec::new()),
            ("service_map + layout_map (not in total)", Vec::new()),
        ];
        let mut shape = (0, 0, 0);
        for _ in 0..runs {
            let t = Instant::now();
            let tree = build_tree(black_box(&spans));
            let t_build = t.elapsed();
            let t = Instant::now();
            let rows = layout(&tree, &opts);
            let t_layout = t.elapsed();
            let t = Instant::now();
            let path = critical_path(&tree);
            let t_path = t.elapsed();
            let t = Instant::now();
            let map = layout_map(&service_map(&tree));
            let t_map = t.elapsed();
            let depth = rows.iter().map(|r| r.depth).max().unwrap_or(0);
            shape = (tree.issues().missing_parents, depth, path.len());
            black_box((rows, map));
            for (times, d) in phases.iter_mut().zip([
                t_build,
                t_layout,
                t_path,
                t_build + t_layout + t_path,
                t_map,
            ]) {
                times.1.push(d);
            }
        }
        for (name, times) in phases {
            let (median, max) = summary(times);
            println!("{n:>8}  {name:<44} {median:>10.2} {max:>10.2}");
        }
        let (orphans, depth, critical) = shape;
        println!(
            "{n:>8}  ({runs} runs; {orphans} orphans, max depth {depth}, {critical} spans on the critical path)"
        );
    }
}
