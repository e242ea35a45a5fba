//! Counters of accepted and rejected items per signal and transport.

use std::sync::atomic::{AtomicU64, Ordering};

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

/// All counters; cheap to update from any task.
#[derive(Default)]
pub struct IngestStats {
    cells: [[Cell; 3]; 3],
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
