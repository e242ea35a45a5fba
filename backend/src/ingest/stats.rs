//! Counters of accepted and rejected items per signal and transport.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The three OTLP signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
}

/// How a request arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

#[derive(Default)]
struct Cell {
    accepted: AtomicU64,
    rejected: AtomicU64,
    requests: AtomicU64,
    invalid_requests: AtomicU64,
    unavailable: AtomicU64,
}

/// A snapshot of one signal × transport.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CellSnapshot {
    pub signal: &'static str,
    pub transport: &'static str,
    pub accepted: u64,
    pub rejected: u64,
    pub requests: u64,
    pub invalid_requests: u64,
    pub unavailable: u64,
}

/// How far back ingest rates look.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// All counters; cheap to update from any task.
#[derive(Default)]
pub struct IngestStats {
    cells: [[Cell; 3]; 3],
    /// Accepted totals per signal, sampled at most once a second, for rates.
    samples: Mutex<VecDeque<(Instant, [u64; 3])>>,
}

fn signal_index(s: Signal) -> (usize, &'static str) {
    match s {
        Signal::Traces => (0, "traces"),
        Signal::Logs => (1, "logs"),
        Signal::Metrics => (2, "metrics"),
    }
}

fn transport_index(t: Transport) -> (usize, &'static str) {
    match t {
        Transport::Grpc => (0, "grpc"),
        Transport::HttpProtobuf => (1, "http/protobuf"),
        Transport::HttpJson => (2, "http/json"),
    }
}

impl IngestStats {
    fn cell(&self, s: Signal, t: Transport) -> &Cell {
        &self.cells[signal_index(s).0][transport_index(t).0]
    }

    /// A request was handled: `accepted` items stored, `rejected` refused.
    pub fn add(&self, s: Signal, t: Transport, accepted: u64, rejected: u64) {
        let c = self.cell(s, t);
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.accepted.fetch_add(accepted, Ordering::Relaxed);
        c.rejected.fetch_add(rejected, Ordering::Relaxed);
        self.sample(Instant::now());
    }

    fn accepted_totals(&self) -> [u64; 3] {
        let mut totals = [0; 3];
        for (i, row) in self.cells.iter().enumerate() {
            totals[i] = row.iter().map(|c| c.accepted.load(Ordering::Relaxed)).sum();
        }
        totals
    }

    /// Records the totals if the newest sample is a second old (a busy
    /// lock means another task is sampling: skip).
    fn sample(&self, now: Instant) {
        let Ok(mut samples) = self.samples.try_lock() else {
            return;
        };
        if samples
            .back()
            .is_some_and(|(t, _)| now.duration_since(*t) < Duration::from_secs(1))
        {
            return;
        }
        samples.push_back((now, self.accepted_totals()));
        while samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW + Duration::from_secs(5))
        {
            samples.pop_front();
        }
    }

    /// Accepted items per second over about the last minute, per signal
    /// (traces, logs, metrics); zero when nothing came in.
    pub fn rates(&self) -> [f64; 3] {
        let now = Instant::now();
        let totals = self.accepted_totals();
        let Ok(samples) = self.samples.lock() else {
            return [0.0; 3];
        };
        let Some((t0, base)) = samples
            .iter()
            .find(|(t, _)| now.duration_since(*t) <= RATE_WINDOW)
        else {
            return [0.0; 3];
        };
        // At least a second, so one burst right after a quiet minute does
        // not read as an enormous rate.
        let secs = now.duration_since(*t0).as_secs_f64().max(1.0);
        let mut out = [0.0; 3];
        for i in 0..3 {
            out[i] = totals[i].saturating_sub(base[i]) as f64 / secs;
        }
        out
    }

    /// A request was malformed.
    pub fn request_rejected(&self, s: Signal, t: Transport) {
        let c = self.cell(s, t);
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.invalid_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was turned away because the server was busy.
    pub fn unavailable(&self, s: Signal, t: Transport) {
        let c = self.cell(s, t);
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.unavailable.fetch_add(1, Ordering::Relaxed);
    }

    /// Every cell, for `/api/stats`.
    pub fn snapshot(&self) -> Vec<CellSnapshot> {
        let mut out = Vec::new();
        for s in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            for t in [
                Transport::Grpc,
                Transport::HttpProtobuf,
                Transport::HttpJson,
            ] {
                let c = self.cell(s, t);
                out.push(CellSnapshot {
                    signal: signal_index(s).1,
                    transport: transport_index(t).1,
                    accepted: c.accepted.load(Ordering::Relaxed),
                    rejected: c.rejected.load(Ordering::Relaxed),
                    requests: c.requests.load(Ordering::Relaxed),
                    invalid_requests: c.invalid_requests.load(Ordering::Relaxed),
                    unavailable: c.unavailable.load(Ordering::Relaxed),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_accepted_items_per_second_over_the_window() {
        let s = IngestStats::default();
        assert_eq!(s.rates(), [0.0; 3]);
        let ten_ago = Instant::now()
            .checked_sub(Duration::from_secs(10))
            .expect("the clock is past ten seconds");
        s.sample(ten_ago);
        s.add(Signal::Traces, Transport::Grpc, 500, 3);
        s.add(Signal::Metrics, Transport::HttpJson, 100, 0);
        let [spans, logs, points] = s.rates();
        assert!((spans - 50.0).abs() < 1.0, "{spans}");
        assert_eq!(logs, 0.0);
        assert!((points - 10.0).abs() < 0.5, "{points}");
    }
}
