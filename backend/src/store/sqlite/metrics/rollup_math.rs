//! The arithmetic of metric rollups, shared by the rollup builder and the
//! query: what one stored point contributes ([`Sample`], computed by
//! [`Differ`] from the point and the one before it), how contributions add
//! up into a bucket ([`Rollup`]), and how a bucket answers an
//! [`Aggregation`].
//!
//! Everything here is exact under merging: a bucket built from points, or
//! merged from smaller buckets built from the same points, holds the same
//! counts, sums, extremes and increases. That is what lets a query read
//! 1-minute or 1-hour rollups instead of raw points and get the raw answer
//! (percentiles of gauge values excepted: those come from a sketch, ±0.55 %).
//!
//! Increases are assigned to the bucket of the later point: a counter's
//! increase from a point in one bucket to the next point in another bucket
//! belongs to the second bucket. A bucket therefore depends on the point
//! before it, which the builder reads along (and recomputes the following
//! bucket when a late point changes that predecessor).

use std::sync::Arc;

use shared::metrics::{
    ExpHistogramPoint, HistogramPoint, MetricKind, NumberPoint, SummaryPoint, Temporality,
};
use shared::query::Aggregation;

use super::exp_buckets::{ExpBuckets, SKETCH_SCALE, clamp_opt};
use super::point_codec::HistView;
use super::point_codec::StoredPoint;

/// OTLP's "no recorded value" flag: the point marks a gap, not a value.
const FLAG_NO_RECORDED_VALUE: u32 = 1;

/// What the first point of a cumulative series (sum, histogram,
/// exponential histogram, summary) contributes: the one rule both storage
/// engines follow, so they switch together (the ClickHouse engine renders
/// [`FIRST_CUMULATIVE_POINT`] into its SQL, `clickhouse::metrics::sql`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstPointRule {
    /// Every first point is only a baseline: it counts nothing, the next
    /// point's increase is taken against it.
    ///
    /// **A known defect**, kept while both engines agree on it: a point
    /// whose start time is set has counted its whole value since that
    /// start, so a series that begins inside a query window loses its
    /// first interval.
    AlwaysBaseline,
    /// A first point with a start time (before its time) counts its whole
    /// value; only a point without one is a baseline.
    CountSinceStart,
}

/// The rule in force. Changing it changes both engines.
pub const FIRST_CUMULATIVE_POINT: FirstPointRule = FirstPointRule::AlwaysBaseline;

impl FirstPointRule {
    /// Whether the first point of a cumulative series, started at
    /// `start_time` (0: unknown) and taken at `time`, counts its whole
    /// value rather than being a baseline.
    pub fn counts_whole(self, start_time: u64, time: u64) -> bool {
        match self {
            FirstPointRule::AlwaysBaseline => false,
            FirstPointRule::CountSinceStart => start_time > 0 && start_time < time,
        }
    }
}

/// How a series' points add up, from its kind and temporality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Semantics {
    pub kind: MetricKind,
    /// Each point covers only its own interval (delta temporality).
    pub delta: bool,
    /// A monotonic sum (a counter).
    pub monotonic: bool,
}

impl Semantics {
    /// The semantics of a stored series. Histograms without a temporality
    /// are taken as cumulative, as most SDKs send them.
    pub fn of(kind: MetricKind, temporality: Temporality, monotonic: bool) -> Self {
        let delta = temporality == Temporality::Delta && kind != MetricKind::Gauge;
        Self {
            kind,
            delta,
            monotonic: monotonic && kind == MetricKind::Sum,
        }
    }

    /// The aggregation a query gets when it names none: `rate` for
    /// counters, `p95` for histograms, `avg` for everything else.
    pub fn default_aggregation(self) -> Aggregation {
        match self.kind {
            MetricKind::Sum if self.monotonic => Aggregation::Rate,
            MetricKind::Histogram | MetricKind::ExponentialHistogram => Aggregation::P95,
            _ => Aggregation::Avg,
        }
    }

    /// Whether percentiles of this series' readings mean something. Not for
    /// counters: their readings are running totals, so their rollups keep
    /// no value sketch and queries refuse percentiles of them.
    pub fn has_reading_percentiles(self) -> bool {
        !(self.kind == MetricKind::Sum && self.monotonic && !self.delta)
    }

    /// Whether `sum` of this series means "how much it grew" (counters and
    /// delta sums) rather than the sum of its readings (gauges, up-down
    /// counters).
    fn sum_is_increase(self) -> bool {
        self.kind == MetricKind::Sum && (self.delta || self.monotonic)
    }
}

/// What one point contributes to the bucket it falls into.
#[derive(Clone, Debug, PartialEq)]
pub enum Sample {
    /// A gauge or sum reading and its increase over the previous reading
    /// (delta sums: the value itself; counters: resets handled).
    Number { value: f64, increase: f64 },
    /// Observations of an explicit-bucket histogram made in this point's
    /// interval (cumulative points: the difference to the previous point).
    Histogram(HistRollup),
    /// The same for an exponential histogram.
    Exp(ExpRollup),
    /// A summary's count/sum increase and its latest quantiles.
    Summary(SummaryRollup),
}

/// The previous point of a series, as far as increases need it.
#[derive(Clone, Debug)]
enum Prev {
    Number(f64),
    Histogram(HistRollup),
    Exp(ExpRollup),
    Summary { count: u64, sum: f64 },
}

/// Turns a series' points, fed in time order, into [`Sample`]s.
pub struct Differ {
    sem: Semantics,
    prev: Option<Prev>,
    /// The bounds of the last histogram point, shared by the samples that
    /// repeat them.
    bounds: Arc<[f64]>,
}

impl Differ {
    pub fn new(sem: Semantics) -> Self {
        Self {
            sem,
            prev: None,
            bounds: Arc::from(Vec::new()),
        }
    }

    /// The point's contribution, or `None` for points left out of every
    /// aggregation: non-finite gauge/sum values, points flagged "no
    /// recorded value", and points of another kind than the series'.
    pub fn feed(&mut self, p: &StoredPoint) -> Option<(u64, Sample)> {
        match (self.sem.kind, p) {
            (MetricKind::Gauge | MetricKind::Sum, StoredPoint::Number(n)) => self.number(n),
            (MetricKind::Histogram, StoredPoint::Histogram(h)) => self.histogram(h.clone()),
            (MetricKind::ExponentialHistogram, StoredPoint::ExpHistogram(h)) => self.exp(h),
            (MetricKind::Summary, StoredPoint::Summary(s)) => self.summary(s),
            _ => None,
        }
    }

    /// [`Differ::feed`] for a point the caller no longer needs: its
    /// buckets are moved, not copied (what queries over many histogram
    /// points do).
    pub fn feed_owned(&mut self, p: StoredPoint) -> Option<(u64, Sample)> {
        match (self.sem.kind, p) {
            (MetricKind::Histogram, StoredPoint::Histogram(h)) => self.histogram(h),
            (_, p) => self.feed(&p),
        }
    }

    fn number(&mut self, n: &NumberPoint) -> Option<(u64, Sample)> {
        let value = n.value.as_f64();
        if n.flags & FLAG_NO_RECORDED_VALUE != 0 || !value.is_finite() {
            return None;
        }
        let prev = match self.prev {
            Some(Prev::Number(v)) => Some(v),
            _ => None,
        };
        let increase = if self.sem.kind == MetricKind::Sum && self.sem.delta {
            value
        } else {
            match prev {
                None if self.sem.kind == MetricKind::Sum
                    && FIRST_CUMULATIVE_POINT.counts_whole(n.start_time.0, n.time.0) =>
                {
                    value
                }
                None => 0.0,
                // A counter that went down was restarted: it counted `value` since.
                Some(p) if self.sem.monotonic && value < p => value,
                Some(p) => value - p,
            }
        };
        self.prev = Some(Prev::Number(value));
        Some((n.time.0, Sample::Number { value, increase }))
    }

    fn histogram(&mut self, h: HistogramPoint) -> Option<(u64, Sample)> {
        if h.flags & FLAG_NO_RECORDED_VALUE != 0 {
            return None;
        }
        let time = h.time.0;
        let whole = FIRST_CUMULATIVE_POINT.counts_whole(h.start_time.0, time);
        let point = HistRollup::from_owned(h, &mut self.bounds);
        if self.sem.delta {
            return Some((time, Sample::Histogram(point)));
        }
        let sample = match self.prev.take() {
            // The previous point's buckets become the difference.
            Some(Prev::Histogram(prev)) => prev
                .into_difference(&point)
                .unwrap_or_else(|| point.clone()),
            // The first point of a cumulative series: see `FirstPointRule`.
            _ if whole => point.clone(),
            _ => point.zeroed(),
        };
        self.prev = Some(Prev::Histogram(point));
        Some((time, Sample::Histogram(sample)))
    }

    /// [`Differ::feed`] for a histogram point read in place: the sample is
    /// written into `out` (its buffers reused) and its time returned, with
    /// exactly the arithmetic of [`Differ::feed`].
    pub fn feed_hist_view(&mut self, v: &HistView<'_>, out: &mut HistRollup) -> Option<u64> {
        if v.flags & FLAG_NO_RECORDED_VALUE != 0 {
            return None;
        }
        let valid = v.bounds.iter().all(|b| b.is_finite())
            && v.bounds.windows(2).all(|w| w[0] < w[1])
            && v.counts.len() == v.bounds.len() + 1;
        if !valid || self.sem.kind != MetricKind::Histogram {
            // Rare: the general path normalises such points.
            let point = HistogramPoint {
                time: shared::UnixNanos(v.time),
                start_time: shared::UnixNanos(v.start),
                count: v.count,
                sum: v.sum,
                min: v.min,
                max: v.max,
                bucket_counts: v.counts.to_vec(),
                explicit_bounds: v.bounds.to_vec(),
                ..Default::default()
            };
            return match self.histogram(point) {
                Some((t, Sample::Histogram(h))) => {
                    *out = h;
                    Some(t)
                }
                _ => None,
            };
        }
        let sum = v.sum.map(finite_or_zero).unwrap_or(0.0);
        let fill = |out: &mut HistRollup, count: u64, sum: f64| {
            out.count = count;
            out.sum = sum;
            out.min = finite(v.min);
            out.max = finite(v.max);
            if !Arc::ptr_eq(&out.bounds, v.bounds) {
                out.bounds = v.bounds.clone();
            }
        };
        if self.sem.delta {
            fill(out, v.count, sum);
            out.counts.clear();
            out.counts.extend_from_slice(v.counts);
            return Some(v.time);
        }
        match &mut self.prev {
            Some(Prev::Histogram(p)) => {
                let continues = (Arc::ptr_eq(&p.bounds, v.bounds) || *p.bounds == **v.bounds)
                    && v.count >= p.count
                    && p.counts.len() == v.counts.len()
                    && p.counts.iter().zip(v.counts).all(|(a, b)| b >= a);
                out.counts.clear();
                if continues {
                    fill(out, v.count - p.count, sum - p.sum);
                    out.counts
                        .extend(v.counts.iter().zip(&p.counts).map(|(b, a)| b - a));
                } else {
                    fill(out, v.count, sum);
                    out.counts.extend_from_slice(v.counts);
                }
                p.count = v.count;
                p.sum = sum;
                p.min = finite(v.min);
                p.max = finite(v.max);
                p.bounds = v.bounds.clone();
                p.counts.clear();
                p.counts.extend_from_slice(v.counts);
            }
            _ => {
                out.counts.clear();
                if FIRST_CUMULATIVE_POINT.counts_whole(v.start, v.time) {
                    fill(out, v.count, sum);
                    out.counts.extend_from_slice(v.counts);
                } else {
                    fill(out, 0, 0.0);
                    out.counts.resize(v.counts.len(), 0);
                }
                self.prev = Some(Prev::Histogram(HistRollup {
                    count: v.count,
                    sum,
                    min: finite(v.min),
                    max: finite(v.max),
                    bounds: v.bounds.clone(),
                    counts: v.counts.to_vec(),
                }));
            }
        }
        Some(v.time)
    }

    fn exp(&mut self, h: &ExpHistogramPoint) -> Option<(u64, Sample)> {
        if h.flags & FLAG_NO_RECORDED_VALUE != 0 {
            return None;
        }
        let point = ExpRollup::from_point(h);
        let sample = if self.sem.delta {
            point.clone()
        } else {
            match &self.prev {
                Some(Prev::Exp(prev)) => point.minus(prev).unwrap_or_else(|| point.clone()),
                _ if FIRST_CUMULATIVE_POINT.counts_whole(h.start_time.0, h.time.0) => point.clone(),
                _ => point.zeroed(),
            }
        };
        self.prev = Some(Prev::Exp(point));
        Some((h.time.0, Sample::Exp(sample)))
    }

    fn summary(&mut self, s: &SummaryPoint) -> Option<(u64, Sample)> {
        if s.flags & FLAG_NO_RECORDED_VALUE != 0 {
            return None;
        }
        let sum = finite_or_zero(s.sum);
        let (count_inc, sum_inc) = match self.prev {
            Some(Prev::Summary {
                count,
                sum: prev_sum,
            }) if s.count >= count => (s.count - count, sum - prev_sum),
            Some(Prev::Summary { .. }) => (s.count, sum),
            _ if FIRST_CUMULATIVE_POINT.counts_whole(s.start_time.0, s.time.0) => (s.count, sum),
            _ => (0, 0.0),
        };
        self.prev = Some(Prev::Summary {
            count: s.count,
            sum,
        });
        let mut quantiles: Vec<(f64, f64)> = s
            .quantile_values
            .iter()
            .filter(|q| q.quantile.is_finite() && q.value.is_finite())
            .map(|q| (q.quantile, q.value))
            .collect();
        quantiles.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some((
            s.time.0,
            Sample::Summary(SummaryRollup {
                count: count_inc,
                sum: sum_inc,
                last_time: s.time.0,
                quantiles,
            }),
        ))
    }
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Gauge and sum readings of a bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct NumberRollup {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub first_time: u64,
    pub first: f64,
    pub last_time: u64,
    pub last: f64,
    /// Sum of the points' increases (see [`Sample::Number`]).
    pub increase: f64,
    /// The readings' distribution, for percentiles (absent when not wanted).
    pub sketch: Option<ExpBuckets>,
}

impl NumberRollup {
    /// A bucket of one reading.
    pub fn point(time: u64, value: f64, increase: f64, sketch: bool) -> Self {
        Self {
            count: 1,
            sum: value,
            min: value,
            max: value,
            first_time: time,
            first: value,
            last_time: time,
            last: value,
            increase,
            sketch: sketch.then(|| {
                let mut s = ExpBuckets::empty(SKETCH_SCALE);
                s.record(value);
                s
            }),
        }
    }

    /// Adds a reading that comes after every reading already in.
    pub fn add(&mut self, time: u64, value: f64, increase: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if time < self.first_time {
            self.first_time = time;
            self.first = value;
        }
        if time >= self.last_time {
            self.last_time = time;
            self.last = value;
        }
        self.increase += increase;
        if let Some(s) = &mut self.sketch {
            s.record(value);
        }
    }

    /// Adds a bucket of later (or other series') readings.
    pub fn merge(&mut self, o: &NumberRollup) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        if o.first_time < self.first_time {
            self.first_time = o.first_time;
            self.first = o.first;
        }
        if o.last_time >= self.last_time {
            self.last_time = o.last_time;
            self.last = o.last;
        }
        self.increase += o.increase;
        match (&mut self.sketch, &o.sketch) {
            (Some(a), Some(b)) => a.merge(b),
            // A part without a sketch makes the whole one incomplete.
            (Some(_), None) => self.sketch = None,
            _ => {}
        }
    }

    /// The `q` percentile of the readings, from the sketch: ranks
    /// interpolated as for raw values, the lowest and highest rank exact.
    fn sketch_percentile(&self, q: f64) -> Option<f64> {
        let s = self.sketch.as_ref()?;
        let n = s.total();
        if n == 0 {
            return None;
        }
        let at = |k: u64| -> Option<f64> {
            if k == 0 {
                Some(self.min)
            } else if k + 1 >= n {
                Some(self.max)
            } else {
                s.value_at_rank(k)
                    .map(|v| clamp_opt(v, Some(self.min), Some(self.max)))
            }
        };
        let r = q * (n - 1) as f64;
        let (lo, hi) = (r.floor() as u64, r.ceil() as u64);
        let (a, b) = (at(lo)?, at(hi)?);
        Some(a + (b - a) * (r - lo as f64))
    }
}

/// The `q` percentile of raw values: linear interpolation between the two
/// nearest ranks (rank `q·(n-1)`), as Prometheus' `quantile_over_time`.
pub fn exact_percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let r = q * (values.len() - 1) as f64;
    let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
    let (a, b) = (*values.get(lo)?, *values.get(hi)?);
    Some(a + (b - a) * (r - lo as f64))
}

/// Observations of an explicit-bucket histogram.
#[derive(Clone, Debug, PartialEq)]
pub struct HistRollup {
    pub count: u64,
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Ascending finite upper bounds; `counts` has one more entry (+Inf).
    pub bounds: Arc<[f64]>,
    pub counts: Vec<u64>,
}

impl HistRollup {
    /// A point's buckets, normalised so `counts.len() == bounds.len() + 1`:
    /// unsorted or non-finite bounds, or counts that do not match them, keep
    /// only the total. `shared` holds the previous point's bounds and is
    /// reused (or replaced) so equal bounds are one allocation.
    pub fn from_point(h: &HistogramPoint, shared: &mut Arc<[f64]>) -> Self {
        Self::from_owned(h.clone(), shared)
    }

    /// [`HistRollup::from_point`], moving the point's counts.
    pub fn from_owned(h: HistogramPoint, shared: &mut Arc<[f64]>) -> Self {
        let valid = h.explicit_bounds.iter().all(|b| b.is_finite())
            && h.explicit_bounds.windows(2).all(|w| w[0] < w[1])
            && h.bucket_counts.len() == h.explicit_bounds.len() + 1;
        let (bounds, counts) = if valid {
            if **shared != *h.explicit_bounds {
                *shared = Arc::from(h.explicit_bounds);
            }
            (shared.clone(), h.bucket_counts)
        } else {
            let total = if h.bucket_counts.is_empty() {
                h.count
            } else {
                h.bucket_counts
                    .iter()
                    .fold(0u64, |a, c| a.saturating_add(*c))
            };
            (Arc::from(Vec::new()), vec![total])
        };
        Self {
            count: h.count,
            sum: h.sum.map(finite_or_zero).unwrap_or(0.0),
            min: finite(h.min),
            max: finite(h.max),
            bounds,
            counts,
        }
    }

    /// The same buckets with nothing observed (a cumulative baseline).
    fn zeroed(&self) -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: self.min,
            max: self.max,
            bounds: self.bounds.clone(),
            counts: vec![0; self.counts.len()],
        }
    }

    /// What was observed between `self` and `later` (two cumulative
    /// points), reusing `self`'s buckets; `None` after a restart or a
    /// change of bounds.
    fn into_difference(mut self, later: &HistRollup) -> Option<HistRollup> {
        if !(Arc::ptr_eq(&self.bounds, &later.bounds) || self.bounds == later.bounds)
            || later.count < self.count
            || self.counts.len() != later.counts.len()
            || self.counts.iter().zip(&later.counts).any(|(a, b)| b < a)
        {
            return None;
        }
        for (a, b) in self.counts.iter_mut().zip(&later.counts) {
            *a = b - *a;
        }
        self.count = later.count - self.count;
        self.sum = later.sum - self.sum;
        self.min = later.min;
        self.max = later.max;
        Some(self)
    }

    /// Adds `o`'s observations. Equal bounds add bucket by bucket; other
    /// bounds are mapped onto these, each source bucket into the bucket
    /// holding its upper bound (exact when the bounds nest, approximate
    /// otherwise).
    pub fn merge(&mut self, o: &HistRollup) {
        self.count = self.count.saturating_add(o.count);
        self.sum += o.sum;
        self.min = min_opt(self.min, o.min);
        self.max = max_opt(self.max, o.max);
        if Arc::ptr_eq(&self.bounds, &o.bounds) || self.bounds == o.bounds {
            for (a, b) in self.counts.iter_mut().zip(&o.counts) {
                *a = a.saturating_add(*b);
            }
            return;
        }
        let last = self.counts.len().saturating_sub(1);
        for (j, c) in o.counts.iter().enumerate() {
            let upper = o.bounds.get(j).copied().unwrap_or(f64::INFINITY);
            let at = self.bounds.partition_point(|b| *b < upper).min(last);
            if let Some(slot) = self.counts.get_mut(at) {
                *slot = slot.saturating_add(*c);
            }
        }
    }

    /// The `q` quantile, as Prometheus' `histogram_quantile`: linear
    /// interpolation inside the bucket holding rank `q·total`. The lowest
    /// bucket starts at the known minimum (else at 0, or is its bound when
    /// that is ≤ 0), the +Inf bucket ends at the known maximum (else
    /// answers the highest finite bound); the result is clamped to
    /// [min, max].
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.counts.iter().fold(0u64, |a, c| a.saturating_add(*c));
        if total == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * total as f64;
        let nb = self.bounds.len();
        let mut before = 0u64;
        for (j, &c) in self.counts.iter().enumerate() {
            if c == 0 || ((before + c) as f64) < rank {
                before += c;
                continue;
            }
            let upper = match self.bounds.get(j) {
                Some(b) => *b,
                None => match (self.max, j.checked_sub(1).and_then(|i| self.bounds.get(i))) {
                    (Some(m), _) => m,
                    (None, Some(b)) => return Some(clamp_opt(*b, self.min, self.max)),
                    (None, None) => return None,
                },
            };
            let lower = if j == 0 {
                match self.min {
                    Some(m) => m.min(upper),
                    None if nb > 0 && upper > 0.0 => 0.0,
                    None if nb > 0 => return Some(upper),
                    None => return None,
                }
            } else {
                self.bounds.get(j - 1).copied().unwrap_or(upper)
            };
            let into = ((rank - before as f64) / c as f64).clamp(0.0, 1.0);
            return Some(clamp_opt(
                lower + (upper - lower) * into,
                self.min,
                self.max,
            ));
        }
        None
    }
}

/// Observations of an exponential histogram, in mergeable buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpRollup {
    pub count: u64,
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub buckets: ExpBuckets,
}

impl ExpRollup {
    pub fn from_point(h: &ExpHistogramPoint) -> Self {
        Self {
            count: h.count,
            sum: h.sum.map(finite_or_zero).unwrap_or(0.0),
            min: finite(h.min),
            max: finite(h.max),
            buckets: ExpBuckets::from_otlp(
                h.scale,
                h.zero_count,
                (h.positive.offset, &h.positive.bucket_counts),
                (h.negative.offset, &h.negative.bucket_counts),
            ),
        }
    }

    fn zeroed(&self) -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: self.min,
            max: self.max,
            buckets: ExpBuckets::empty(self.buckets.scale),
        }
    }

    fn minus(&self, earlier: &ExpRollup) -> Option<ExpRollup> {
        if self.count < earlier.count {
            return None;
        }
        Some(ExpRollup {
            count: self.count - earlier.count,
            sum: self.sum - earlier.sum,
            min: self.min,
            max: self.max,
            buckets: self.buckets.minus(&earlier.buckets)?,
        })
    }

    pub fn merge(&mut self, o: &ExpRollup) {
        self.count = self.count.saturating_add(o.count);
        self.sum += o.sum;
        self.min = min_opt(self.min, o.min);
        self.max = max_opt(self.max, o.max);
        self.buckets.merge(&o.buckets);
    }
}

/// A summary's increase in count and sum, and its latest quantiles.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRollup {
    pub count: u64,
    pub sum: f64,
    pub last_time: u64,
    /// (quantile, value), ascending by quantile.
    pub quantiles: Vec<(f64, f64)>,
}

impl SummaryRollup {
    pub fn merge(&mut self, o: &SummaryRollup) {
        self.count = self.count.saturating_add(o.count);
        self.sum += o.sum;
        if o.last_time >= self.last_time {
            self.last_time = o.last_time;
            self.quantiles.clone_from(&o.quantiles);
        }
    }

    /// The latest value of quantile `q`, interpolated linearly between the
    /// two stored quantiles around it; `None` outside the stored range.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let i = self.quantiles.partition_point(|(x, _)| *x < q);
        let (qh, vh) = *self.quantiles.get(i)?;
        if qh == q {
            return Some(vh);
        }
        let (ql, vl) = *self.quantiles.get(i.checked_sub(1)?)?;
        Some(vl + (vh - vl) * (q - ql) / (qh - ql))
    }
}

/// A bucket of any kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Rollup {
    Number(NumberRollup),
    Histogram(HistRollup),
    Exp(ExpRollup),
    Summary(SummaryRollup),
}

impl Rollup {
    /// A bucket holding one sample; `sketch` asks for a value sketch of
    /// gauge/sum readings.
    pub fn from_sample(time: u64, s: Sample, sketch: bool) -> Rollup {
        match s {
            Sample::Number { value, increase } => {
                Rollup::Number(NumberRollup::point(time, value, increase, sketch))
            }
            Sample::Histogram(h) => Rollup::Histogram(h),
            Sample::Exp(h) => Rollup::Exp(h),
            Sample::Summary(s) => Rollup::Summary(s),
        }
    }

    /// Adds a sample that comes after everything already in.
    pub fn add(&mut self, time: u64, s: Sample) {
        match (self, s) {
            (Rollup::Number(r), Sample::Number { value, increase }) => r.add(time, value, increase),
            (Rollup::Histogram(r), Sample::Histogram(h)) => r.merge(&h),
            (Rollup::Exp(r), Sample::Exp(h)) => r.merge(&h),
            (Rollup::Summary(r), Sample::Summary(s)) => r.merge(&s),
            _ => {}
        }
    }

    /// Adds another bucket of the same kind (other kinds are ignored).
    pub fn merge(&mut self, o: &Rollup) {
        match (self, o) {
            (Rollup::Number(a), Rollup::Number(b)) => a.merge(b),
            (Rollup::Histogram(a), Rollup::Histogram(b)) => a.merge(b),
            (Rollup::Exp(a), Rollup::Exp(b)) => a.merge(b),
            (Rollup::Summary(a), Rollup::Summary(b)) => a.merge(b),
            _ => {}
        }
    }

    /// Adds `s` to `slot`, starting the bucket when empty.
    pub fn add_to(slot: &mut Option<Rollup>, time: u64, s: Sample, sketch: bool) {
        match slot {
            Some(r) => r.add(time, s),
            None => *slot = Some(Rollup::from_sample(time, s, sketch)),
        }
    }

    /// [`Rollup::merge_into`] for a bucket the caller no longer needs.
    pub fn merge_owned(slot: &mut Option<Rollup>, o: Rollup) {
        match slot {
            Some(r) => r.merge(&o),
            None => *slot = Some(o),
        }
    }

    /// Merges `o` into `slot`, starting the bucket when empty.
    pub fn merge_into(slot: &mut Option<Rollup>, o: &Rollup) {
        match slot {
            Some(r) => r.merge(o),
            None => *slot = Some(o.clone()),
        }
    }

    /// The bucket's answer to `agg` over a step of `step_secs` seconds.
    /// `raw` holds the readings themselves when the query is at raw
    /// resolution (exact percentiles); otherwise percentiles of readings
    /// come from the sketch. `None` where there is nothing to answer
    /// (no observations for an average or percentile).
    pub fn evaluate(
        &self,
        raw: Option<&mut [f64]>,
        agg: Aggregation,
        sem: Semantics,
        step_secs: f64,
    ) -> Option<f64> {
        let v = match self {
            Rollup::Number(r) => {
                if r.count == 0 {
                    return None;
                }
                match agg {
                    Aggregation::Avg => Some(r.sum / r.count as f64),
                    Aggregation::Min => Some(r.min),
                    Aggregation::Max => Some(r.max),
                    Aggregation::Sum if sem.sum_is_increase() => Some(r.increase),
                    Aggregation::Sum => Some(r.sum),
                    Aggregation::Rate => Some(r.increase / step_secs),
                    p => {
                        let q = p.quantile()?;
                        match raw {
                            Some(values) if !values.is_empty() => exact_percentile(values, q),
                            _ => r.sketch_percentile(q),
                        }
                    }
                }
            }
            Rollup::Histogram(r) => match agg {
                Aggregation::Avg => (r.count > 0).then(|| r.sum / r.count as f64),
                Aggregation::Min => r.min,
                Aggregation::Max => r.max,
                Aggregation::Sum => Some(r.sum),
                Aggregation::Rate => Some(r.count as f64 / step_secs),
                p => r.quantile(p.quantile()?),
            },
            Rollup::Exp(r) => match agg {
                Aggregation::Avg => (r.count > 0).then(|| r.sum / r.count as f64),
                Aggregation::Min => r.min,
                Aggregation::Max => r.max,
                Aggregation::Sum => Some(r.sum),
                Aggregation::Rate => Some(r.count as f64 / step_secs),
                p => r.buckets.quantile(p.quantile()?, r.min, r.max),
            },
            Rollup::Summary(r) => match agg {
                Aggregation::Avg => (r.count > 0).then(|| r.sum / r.count as f64),
                Aggregation::Min => r.quantile(0.0),
                Aggregation::Max => r.quantile(1.0),
                Aggregation::Sum => Some(r.sum),
                Aggregation::Rate => Some(r.count as f64 / step_secs),
                p => r.quantile(p.quantile()?),
            },
        };
        v.filter(|x| x.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use shared::UnixNanos;
    use shared::metrics::NumberValue;

    const S: u64 = 1_000_000_000;

    fn num(t: u64, v: f64) -> StoredPoint {
        StoredPoint::Number(NumberPoint {
            time: UnixNanos(t),
            value: NumberValue::AsDouble(v),
            ..Default::default()
        })
    }

    fn counter() -> Semantics {
        Semantics::of(MetricKind::Sum, Temporality::Cumulative, true)
    }

    fn samples(sem: Semantics, points: &[StoredPoint]) -> Vec<(u64, Sample)> {
        let mut d = Differ::new(sem);
        points.iter().filter_map(|p| d.feed(p)).collect()
    }

    fn increases(sem: Semantics, points: &[StoredPoint]) -> Vec<f64> {
        samples(sem, points)
            .into_iter()
            .map(|(_, s)| match s {
                Sample::Number { increase, .. } => increase,
                other => panic!("not a number sample: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_counter_that_drops_was_reset_and_counts_from_zero() {
        let pts = [num(0, 10.0), num(S, 15.0), num(2 * S, 3.0), num(3 * S, 7.0)];
        // Baseline, +5, reset (3 counted since), +4.
        assert_eq!(increases(counter(), &pts), [0.0, 5.0, 3.0, 4.0]);
    }

    #[test]
    fn delta_sums_add_their_values_and_gauges_their_changes() {
        let delta = Semantics::of(MetricKind::Sum, Temporality::Delta, true);
        let pts = [num(0, 4.0), num(S, 2.0), num(2 * S, 5.0)];
        assert_eq!(increases(delta, &pts), [4.0, 2.0, 5.0]);
        let gauge = Semantics::of(MetricKind::Gauge, Temporality::Unspecified, false);
        assert_eq!(increases(gauge, &pts), [0.0, -2.0, 3.0]);
        let updown = Semantics::of(MetricKind::Sum, Temporality::Cumulative, false);
        assert_eq!(increases(updown, &pts), [0.0, -2.0, 3.0]);
    }

    #[test]
    fn nan_readings_and_gaps_are_left_out_and_do_not_break_the_chain() {
        let mut gap = num(2 * S, 99.0);
        if let StoredPoint::Number(n) = &mut gap {
            n.flags = FLAG_NO_RECORDED_VALUE;
        }
        let pts = [
            num(0, 1.0),
            num(S, f64::NAN),
            gap,
            num(3 * S, f64::INFINITY),
            num(4 * S, 4.0),
        ];
        let got = samples(counter(), &pts);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            (
                4 * S,
                Sample::Number {
                    value: 4.0,
                    increase: 3.0
                }
            )
        );
    }

    fn hist(t: u64, counts: &[u64], bounds: &[f64]) -> StoredPoint {
        StoredPoint::Histogram(HistogramPoint {
            time: UnixNanos(t),
            count: counts.iter().sum(),
            sum: Some(counts.iter().sum::<u64>() as f64),
            bucket_counts: counts.to_vec(),
            explicit_bounds: bounds.to_vec(),
            ..Default::default()
        })
    }

    #[test]
    fn cumulative_histograms_become_per_interval_buckets_with_resets() {
        let sem = Semantics::of(MetricKind::Histogram, Temporality::Cumulative, false);
        let b = [1.0, 2.0];
        let pts = [
            hist(0, &[1, 1, 0], &b),
            hist(S, &[3, 2, 1], &b),
            // Restart: fewer observations than before.
            hist(2 * S, &[0, 1, 0], &b),
        ];
        let got: Vec<Vec<u64>> = samples(sem, &pts)
            .into_iter()
            .map(|(_, s)| match s {
                Sample::Histogram(h) => h.counts,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, [vec![0, 0, 0], vec![2, 1, 1], vec![0, 1, 0]]);
    }

    #[test]
    fn histogram_quantiles_interpolate_like_prometheus() {
        let mut shared = Arc::from(Vec::new());
        let StoredPoint::Histogram(p) = hist(0, &[10, 10, 0], &[1.0, 2.0]) else {
            unreachable!()
        };
        let h = HistRollup::from_point(&p, &mut shared);
        // Rank 10 of 20 ends the first bucket (0, 1].
        assert_eq!(h.quantile(0.5), Some(1.0));
        // Rank 15: halfway through (1, 2].
        assert_eq!(h.quantile(0.75), Some(1.5));
        let mut with_extremes = h.clone();
        with_extremes.min = Some(0.5);
        assert_eq!(with_extremes.quantile(0.25), Some(0.75));
        // Everything in +Inf without a known max: the highest finite bound.
        let StoredPoint::Histogram(p) = hist(0, &[0, 0, 4], &[1.0, 2.0]) else {
            unreachable!()
        };
        assert_eq!(
            HistRollup::from_point(&p, &mut shared).quantile(0.9),
            Some(2.0)
        );
        let empty = HistRollup::from_point(
            &HistogramPoint {
                bucket_counts: vec![0, 0],
                explicit_bounds: vec![1.0],
                ..Default::default()
            },
            &mut shared,
        );
        assert_eq!(empty.quantile(0.5), None);
    }

    #[test]
    fn histograms_with_other_bounds_merge_into_the_enclosing_buckets() {
        let mut shared = Arc::from(Vec::new());
        let StoredPoint::Histogram(a) = hist(0, &[1, 1, 1], &[1.0, 4.0]) else {
            unreachable!()
        };
        let StoredPoint::Histogram(b) = hist(0, &[2, 2, 2, 2], &[1.0, 2.0, 4.0]) else {
            unreachable!()
        };
        let mut m = HistRollup::from_point(&a, &mut shared);
        m.merge(&HistRollup::from_point(&b, &mut shared));
        assert_eq!(m.counts, [3, 5, 3]);
        assert_eq!(m.count, 11);
    }

    #[test]
    fn gauge_percentiles_exact_from_raw_and_close_from_the_sketch() {
        let mut values: Vec<f64> = (1..=100).map(f64::from).collect();
        let mut r = NumberRollup::point(0, values[0], 0.0, true);
        for (i, v) in values.iter().enumerate().skip(1) {
            r.add(i as u64, *v, 0.0);
        }
        let rollup = Rollup::Number(r);
        let sem = Semantics::of(MetricKind::Gauge, Temporality::Unspecified, false);
        let exact = rollup
            .evaluate(Some(&mut values), Aggregation::P90, sem, 1.0)
            .unwrap();
        assert!((exact - 90.1).abs() < 1e-9, "{exact}");
        let approx = rollup.evaluate(None, Aggregation::P90, sem, 1.0).unwrap();
        assert!(((approx - exact) / exact).abs() < 0.0055, "{approx}");
        // The extreme ranks are the exact min and max.
        assert_eq!(rollup.evaluate(None, Aggregation::Min, sem, 1.0), Some(1.0));
        let mut one = NumberRollup::point(0, 7.3, 0.0, true);
        one.add(1, 7.3, 0.0);
        assert_eq!(
            Rollup::Number(one).evaluate(None, Aggregation::P99, sem, 1.0),
            Some(7.3)
        );
    }

    #[test]
    fn summaries_interpolate_between_their_quantiles() {
        let s = SummaryRollup {
            count: 10,
            sum: 5.0,
            last_time: 0,
            quantiles: vec![(0.5, 1.0), (0.9, 3.0), (0.99, 30.0)],
        };
        assert_eq!(s.quantile(0.5), Some(1.0));
        // 3 + (30 - 3) · (0.95 - 0.9) / (0.99 - 0.9)
        assert!((s.quantile(0.95).unwrap() - 18.0).abs() < 1e-9);
        assert_eq!(s.quantile(0.1), None);
    }

    /// Aggregates `points` per step from samples directly, and again from
    /// 1-unit buckets merged per step: both must agree.
    fn by_step(
        sem: Semantics,
        points: &[StoredPoint],
        bucket: u64,
        step: u64,
    ) -> (Vec<Option<Rollup>>, Vec<Option<Rollup>>) {
        let n = (6400 / step + 1) as usize;
        let mut direct: Vec<Option<Rollup>> = vec![None; n];
        let mut buckets: std::collections::BTreeMap<u64, Rollup> = Default::default();
        for (t, s) in samples(sem, points) {
            let k = (t / step) as usize;
            Rollup::add_to(&mut direct[k], t, s.clone(), false);
            let b = t / bucket * bucket;
            match buckets.get_mut(&b) {
                Some(r) => r.add(t, s),
                None => {
                    buckets.insert(b, Rollup::from_sample(t, s, false));
                }
            }
        }
        let mut rolled: Vec<Option<Rollup>> = vec![None; n];
        for (b, r) in &buckets {
            Rollup::merge_into(&mut rolled[(b / step) as usize], r);
        }
        (direct, rolled)
    }

    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            _ => false,
        }
    }

    proptest! {
        /// Histogram samples from points read in place equal those of the
        /// general path, cumulative (with restarts and bound changes) or delta.
        #[test]
        fn in_place_histogram_samples_equal_the_general_ones(
            raw in proptest::collection::vec((0u64..5, 0u64..5, 0u64..5, 0u8..8), 1..60),
            delta in any::<bool>(),
        ) {
            let sem = Semantics::of(
                MetricKind::Histogram,
                if delta { Temporality::Delta } else { Temporality::Cumulative },
                false,
            );
            let mut acc = [0u64; 3];
            let points: Vec<StoredPoint> = raw
                .iter()
                .enumerate()
                .map(|(i, (a, b, c, k))| {
                    if *k == 0 {
                        acc = [0, 0, 0];
                    }
                    acc = [acc[0] + a, acc[1] + b, acc[2] + c];
                    let bounds = if *k == 1 { vec![1.0, 3.0] } else { vec![1.0, 2.0] };
                    let mut p = hist(i as u64, &acc, &bounds);
                    if let StoredPoint::Histogram(h) = &mut p {
                        h.flags = u32::from(*k == 2);
                    }
                    p
                })
                .collect();
            let general = samples(sem, &points);
            let mut d = Differ::new(sem);
            let mut out = HistRollup {
                count: 0, sum: 0.0, min: None, max: None,
                bounds: Arc::from(Vec::new()), counts: Vec::new(),
            };
            let mut in_place = Vec::new();
            for p in &points {
                let StoredPoint::Histogram(h) = p else { unreachable!() };
                let bounds: Arc<[f64]> = Arc::from(h.explicit_bounds.clone());
                let v = HistView {
                    time: h.time.0, start: h.start_time.0, flags: h.flags, count: h.count, sum: h.sum,
                    min: h.min, max: h.max, bounds: &bounds, counts: &h.bucket_counts,
                };
                if let Some(t) = d.feed_hist_view(&v, &mut out) {
                    in_place.push((t, Sample::Histogram(out.clone())));
                }
            }
            prop_assert_eq!(general, in_place);
        }

        /// Rolling points up into buckets and aggregating the buckets gives
        /// what aggregating the raw points gives, for every aggregation a
        /// rollup answers exactly, whatever the order the points came in
        /// (they are time-sorted first, as the store does).
        #[test]
        fn rollups_aggregate_like_raw_points(
            raw in proptest::collection::vec((0u64..6400, -1000i32..1000, 0u8..4), 1..200),
            kind in 0u8..4,
            bucket_exp in 0u32..3,
            step_mul in 1u64..5,
        ) {
            let sem = match kind {
                0 => Semantics::of(MetricKind::Gauge, Temporality::Unspecified, false),
                1 => Semantics::of(MetricKind::Sum, Temporality::Delta, true),
                2 => Semantics::of(MetricKind::Sum, Temporality::Cumulative, false),
                _ => counter(),
            };
            let mut pts: Vec<StoredPoint> = raw
                .iter()
                .map(|(t, v, frac)| num(*t, f64::from(*v) + f64::from(*frac) * 0.25))
                .collect();
            pts.sort_by_key(StoredPoint::time);
            let bucket = 10u64.pow(bucket_exp);
            let step = bucket * step_mul * 10;
            let (direct, rolled) = by_step(sem, &pts, bucket, step);
            for (d, r) in direct.iter().zip(&rolled) {
                prop_assert_eq!(d.is_some(), r.is_some());
                let (Some(d), Some(r)) = (d, r) else { continue };
                for agg in [Aggregation::Avg, Aggregation::Min, Aggregation::Max,
                            Aggregation::Sum, Aggregation::Rate] {
                    let a = d.evaluate(None, agg, sem, 10.0);
                    let b = r.evaluate(None, agg, sem, 10.0);
                    prop_assert!(close(a, b), "{:?}: {:?} vs {:?}", agg, a, b);
                }
                let (Rollup::Number(d), Rollup::Number(r)) = (d, r) else { unreachable!() };
                prop_assert_eq!(d.count, r.count);
                prop_assert_eq!((d.first_time, d.first), (r.first_time, r.first));
                prop_assert_eq!((d.last_time, d.last), (r.last_time, r.last));
            }
        }

        /// The same for histograms: bucket counts, count and sum are exact.
        #[test]
        fn histogram_rollups_merge_exactly(
            raw in proptest::collection::vec((0u64..6400, 0u64..5, 0u64..5, 0u64..5), 1..100),
            delta in any::<bool>(),
        ) {
            let sem = Semantics::of(
                MetricKind::Histogram,
                if delta { Temporality::Delta } else { Temporality::Cumulative },
                false,
            );
            let mut acc = [0u64; 3];
            let mut pts: Vec<StoredPoint> = Vec::new();
            let mut times: Vec<u64> = raw.iter().map(|r| r.0).collect();
            times.sort_unstable();
            for (t, (_, a, b, c)) in times.iter().zip(&raw) {
                let counts = if delta {
                    [*a, *b, *c]
                } else {
                    acc = [acc[0] + a, acc[1] + b, acc[2] + c];
                    acc
                };
                pts.push(hist(*t, &counts, &[1.0, 2.0]));
            }
            let (direct, rolled) = by_step(sem, &pts, 10, 400);
            for (d, r) in direct.iter().zip(&rolled) {
                prop_assert_eq!(d, r);
            }
        }
    }
}
