#!/usr/bin/env python3
"""Soak and overload runs against the release binary (`./x bench --soak`,
`./x bench --overload`). Not part of the test suite: each is bounded in
time (soak: --duration, 10 minutes by default) and prints a report.

soak      Ingests traces and logs at a steady --rate (about 70 % of the
          measured maximum) into a server capped at --max-db-size, while a
          query loop runs the dashboard's usual requests. Samples RSS,
          database size and queue depth every 5 s and reports whether RSS
          stays flat, whether the database stays within ±5 % of its cap,
          and every error (non-retryable OTLP answers, failed queries).

overload  Sends as fast as --workers senders can over HTTP/protobuf and
          gRPC at once into a server with a small --max-queued-items, so
          the write queue overflows. Reports how many requests got the
          retryable 503 / UNAVAILABLE (with Retry-After), peak RSS, and
          checks that every acknowledged span and log record is stored
          (the workload's ids are unique, so stored = acknowledged).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench import Server

ROOT = Path(__file__).resolve().parents[2]

QUERIES = [
    "/api/traces?limit=50",
    "/api/traces?service=checkout&limit=50",
    "/api/traces?status=error&limit=50",
    "/api/logs?limit=100",
    "/api/logs?q=timeout&limit=100",
    "/api/services",
    "/api/stats",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def workload(args, tools: Path, out: Path, spans: int, name: str) -> Path:
    wl = out / name
    if not (wl / "manifest.json").exists():
        print(f"generating {wl.name}", file=sys.stderr)
        subprocess.run([sys.executable, str(tools / "otlpgen.py"), "--out", str(wl), "--seed", "7",
                        "--spans", str(spans), "--window", "86400", "--logs-per-span", "1.0",
                        "--no-metrics"], check=True)
    return wl


def sender(tools: Path, wl: Path, endpoint: str, protocol: str, rate: float, workers: int,
           duration: float, passes: int, out: Path, signals: str = "traces,logs") -> subprocess.Popen:
    cmd = [sys.executable, str(tools / "otlpsend.py"), "--workload", str(wl), "--endpoint", endpoint,
           "--protocol", protocol, "--signals", signals, "--workers", str(workers),
           "--duration", str(duration), "--passes", str(passes), "--json-out", str(out), "--quiet"]
    if rate:
        cmd += ["--rate", str(rate)]
    return subprocess.Popen(cmd)


class QueryLoop(threading.Thread):
    """Runs the dashboard's usual requests one after another until stopped."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.stop = port, threading.Event()
        self.done, self.errors, self.latencies = 0, [], []

    def run(self):
        i = 0
        while not self.stop.is_set():
            path = QUERIES[i % len(QUERIES)]
            i += 1
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as r:
                    r.read()
                self.latencies.append(time.perf_counter() - t)
                self.done += 1
            except (urllib.error.URLError, OSError) as e:
                self.errors.append(f"{path}: {e}")
            time.sleep(0.2)


def sample(server: Server) -> dict:
    s = server.api("/api/stats")
    return {"t": time.time(), "rss_mb": rss_mb(server.proc.pid), "db_bytes": s["dbSizeBytes"],
            "queued": s["queuedItems"], "spans": s["spans"]["items"], "logs": s["logs"]["items"],
            "evicted": s["evictedItems"]}


def soak(args, tools: Path, out: Path, binary: Path) -> dict:
    wl = Path(args.workload) if args.workload else workload(args, tools, out, args.spans, f"workload-soak-{args.spans}")
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        server = Server(binary, Path(tmp) / "data", args.max_db_size)
        send_out = Path(tmp) / "send.json"
        proc = sender(tools, wl, f"http://127.0.0.1:{server.http}", "http", args.rate, args.workers,
                      args.duration, 50, send_out)
        queries = QueryLoop(server.ui)
        queries.start()
        samples, t0 = [], time.time()
        while proc.poll() is None:
            samples.append(sample(server))
            s = samples[-1]
            print(f"  [{s['t'] - t0:5.0f}s] rss {s['rss_mb']:6.1f} MB  db {s['db_bytes'] / 1e6:7.1f} MB  "
                  f"queued {s['queued']:6d}  spans {s['spans']:>10,}  evicted {s['evicted']:>10,}",
                  file=sys.stderr, flush=True)
            time.sleep(5)
        queries.stop.set()
        queries.join(timeout=60)
        samples.append(sample(server))
        peak = server.peak_rss_mb()
        server.stop()
        sent = json.loads(send_out.read_text())
    cap = parse_size(args.max_db_size)
    # RSS "flat": the last minute's mean against the mean of minute 2 (the
    # first minute is warm-up: caches and pools filling).
    def mean_rss(lo, hi):
        xs = [s["rss_mb"] for s in samples if lo <= s["t"] - t0 < hi]
        return sum(xs) / len(xs) if xs else float("nan")
    wall = samples[-1]["t"] - t0
    full = [s for s in samples if s["db_bytes"] >= 0.9 * cap]
    lat = sorted(queries.latencies) or [float("nan")]
    return {
        "duration_s": round(wall),
        "rate_req_per_s": args.rate,
        "accepted_items_per_s": sent.get("accepted_items_per_s"),
        "sender_status_counts": sent.get("status_counts"),
        "sender_errors": sent.get("errors"),
        "items_dropped": sent.get("items_dropped"),
        "rss_mb_minute2": round(mean_rss(60, 120), 1),
        "rss_mb_last_minute": round(mean_rss(wall - 60, wall + 1), 1),
        "rss_mb_max_sample": round(max(s["rss_mb"] for s in samples), 1),
        "rss_mb_peak": round(peak, 1),
        "db_cap_bytes": cap,
        "db_max_bytes": max(s["db_bytes"] for s in samples),
        "db_max_vs_cap": round(max(s["db_bytes"] for s in samples) / cap, 3),
        "db_min_once_full_vs_cap": round(min(s["db_bytes"] for s in full) / cap, 3) if full else None,
        "evicted_items": samples[-1]["evicted"],
        "queries": queries.done,
        "query_errors": queries.errors[:20],
        "query_p50_ms": round(lat[len(lat) // 2] * 1000, 1),
        "query_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
        "samples": samples,
    }


def overload(args, tools: Path, out: Path, binary: Path) -> dict:
    wl = workload(args, tools, out, args.overload_spans, f"workload-overload-{args.overload_spans}")
    manifest = json.loads((wl / "manifest.json").read_text())
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        server = Server(binary, Path(tmp) / "data", "4GB", ["--max-queued-items", str(args.max_queued_items)])
        outs = [Path(tmp) / "http.json", Path(tmp) / "grpc.json"]
        # Logs over HTTP and spans over gRPC at once, each file once: what
        # was acknowledged is exactly what must be stored.
        procs = [
            sender(tools, wl, f"http://127.0.0.1:{server.http}", "http", 0, args.workers, 1800, 1, outs[0],
                   "logs"),
            sender(tools, wl, f"127.0.0.1:{server.grpc}", "grpc", 0, args.workers, 1800, 1, outs[1],
                   "traces"),
        ]
        rss, t0 = [], time.time()
        while any(p.poll() is None for p in procs):
            rss.append(rss_mb(server.proc.pid))
            time.sleep(0.5)
        server.settle(300)
        stats = server.api("/api/stats")
        peak = server.peak_rss_mb()
        server.stop()
        sent = [json.loads(o.read_text()) for o in outs]
    status = {}
    for s in sent:
        for k, v in s["status_counts"].items():
            status[k] = status.get(k, 0) + v
    unavailable = sum(c["unavailable"] for c in stats["ingest"])
    offered = manifest.get("summary", {})
    acked = {"logs": sent[0]["items_accepted"].get("logs", 0), "traces": sent[1]["items_accepted"].get("traces", 0)}
    return {
        "wall_s": round(time.time() - t0),
        "workers_per_sender": args.workers,
        "max_queued_items": args.max_queued_items,
        "status_counts": status,
        "unavailable_answers": unavailable,
        "dropped_by_senders": [s.get("items_dropped") for s in sent],
        "rss_mb_max_sample": round(max(rss), 1) if rss else None,
        "rss_mb_peak": round(peak, 1),
        "acknowledged_spans": acked["traces"],
        "stored_spans": stats["spans"]["items"],
        "acknowledged_logs": acked["logs"],
        "stored_logs": stats["logs"]["items"],
        "nothing_acknowledged_lost": acked["traces"] == stats["spans"]["items"]
        and acked["logs"] == stats["logs"]["items"],
        "workload_summary": {k: offered.get(k) for k in ("spans", "logs")},
    }


def parse_size(text: str) -> int:
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
    t = text.strip().upper()
    for u, m in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if t.endswith(u):
            return int(float(t[: -len(u)]) * m)
    return int(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["soak", "overload"])
    ap.add_argument("--binary", default=str(ROOT / "target/release/sightline"))
    ap.add_argument("--workload-tools", default=str(ROOT.parent / "shared/bench"))
    ap.add_argument("--out", default=str(ROOT / "target/bench"))
    ap.add_argument("--duration", type=float, default=600, help="soak seconds (default 600)")
    ap.add_argument("--rate", type=float, default=80,
                    help="soak requests/s of 500 items (default 80 = 40k items/s, ~70%% of the measured maximum)")
    ap.add_argument("--spans", type=int, default=2_000_000, help="soak workload size (replayed as needed)")
    ap.add_argument("--workload", help="soak: replay this otlpgen workload instead of generating one")
    ap.add_argument("--max-db-size", default="200MB")
    ap.add_argument("--workers", type=int, default=4, help="sender workers (overload: per sender; 12 recommended)")
    ap.add_argument("--overload-spans", type=int, default=300_000)
    ap.add_argument("--max-queued-items", type=int, default=3_000,
                    help="overload: the server's queue bound, small so 2 cores of senders overflow it")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tools, binary = Path(args.workload_tools), Path(args.binary)
    if args.mode == "soak":
        r = soak(args, tools, out, binary)
    else:
        r = overload(args, tools, out, binary)
    (out / f"{args.mode}.json").write_text(json.dumps(r, indent=2))
    print(json.dumps({k: v for k, v in r.items() if k != "samples"}, indent=2))


if __name__ == "__main__":
    main()
