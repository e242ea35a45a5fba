"""Metric query benchmark (`./x bench --metric-queries`): ingests a week of
otlpgen metrics (163 series every 10 s over 614,400 s = 10.0 million points)
through OTLP/HTTP protobuf into the release binary, waits until sealing and
rollups have settled, then times `GET /api/metrics/{name}/query` for a
counter, a gauge and a histogram over the last 1 h, 24 h and 7 d of the data
(default step and aggregation), many requests each, one at a time over a
kept-alive connection. Prints a table and writes
target/bench/metric_queries.json.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import Server, send

# (metric, what it is) — the workload's biggest metric of each kind.
METRICS = [
    ("process.cpu.time", "counter, 24 series, rate"),
    ("process.memory.usage", "gauge, 12 series, avg"),
    ("http.server.request.duration", "histogram, 51 series, p95"),
]
RANGES = ["1h", "24h", "7d"]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def time_queries(port: int, path: str, n: int) -> tuple[list[float], dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, body = [], {}
    for i in range(n + 5):
        t = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        raw = resp.read()
        took = (time.perf_counter() - t) * 1000
        if resp.status != 200:
            raise SystemExit(f"{path}: HTTP {resp.status}: {raw[:300]!r}")
        if i >= 5:  # the first few warm the page cache and the reader pool
            times.append(took)
        body = json.loads(raw)
    conn.close()
    return times, body


def run(args, tools: Path, out: Path, binary: Path) -> None:
    window = args.metric_window
    workload = out / f"workload-metrics-{window}s"
    if not (workload / "manifest.json").exists():
        print(f"generating {window} s of metrics in {workload} (a few minutes) ...", flush=True)
        subprocess.run([sys.executable, str(tools / "otlpgen.py"), "--out", str(workload), "--seed", "1",
                        "--spans", "20000", "--window", str(window), "--no-logs"],
                       check=True, stdout=subprocess.DEVNULL)
    manifest = json.loads((workload / "manifest.json").read_text())["summary"]
    results = {"machine": {"cores": os.cpu_count(), "uname": " ".join(os.uname())},
               "points": manifest["metric_points"], "series": manifest["metric_series"], "queries": []}
    # The ingested store is kept (target/bench/store-metrics-<window>s) and
    # reused by later runs unless --reingest is given: ingesting takes ~10
    # minutes, the queries seconds. Its ingest figures are kept beside it.
    store = out / f"store-metrics-{window}s"
    ingest_file = store / "ingest.json"
    if getattr(args, "reingest", False) or not ingest_file.exists():
        shutil.rmtree(store, ignore_errors=True)
        server = Server(binary, store / "data", "8GB")
        print(f"sending {manifest['metric_points']:,} points ({manifest['metric_series']} series) ...", flush=True)
        started = time.time()
        sent = send(tools, workload, server, "metrics", "http", "protobuf", args.workers)
        ingest_s = time.time() - started
        server.settle(timeout=1800)
        settled_s = time.time() - started
        stats = server.api("/api/stats")
        ingest = {"seconds": round(ingest_s, 1), "settled_seconds": round(settled_s, 1),
                  "points_per_s": sent["accepted_items_per_s"], "non_2xx": sent.get("non_2xx", {}),
                  "rss_mb": round(server.peak_rss_mb(), 1),
                  "chunk_bytes": stats["metricPoints"]["storedBytes"],
                  "rollup_bytes": stats.get("metricRollupBytes"),
                  "stored_points": stats["metricPoints"]["items"],
                  "db_bytes": stats["dbSizeBytes"], "head_points": server.head_points()}
        server.stop()
        ingest_file.write_text(json.dumps(ingest, indent=2))
    else:
        print(f"reusing the store in {store} (--reingest to rebuild it)", flush=True)
    results["ingest"] = json.loads(ingest_file.read_text())
    server = Server(binary, store / "data", "8GB")
    stats = server.api("/api/stats")
    to = int(stats["metricPoints"]["newest"])
    for name, what in METRICS:
        for rng in RANGES:
            path = f"/api/metrics/{name}/query?range={rng}&to={to}"
            times, body = time_queries(server.ui, path, args.metric_requests)
            row = {"metric": name, "what": what, "range": rng, "requests": len(times),
                   "p50_ms": round(pct(times, 0.5), 2), "p99_ms": round(pct(times, 0.99), 2),
                   "max_ms": round(max(times), 2), "step": int(body["step"]) // 1_000_000_000,
                   "resolution": body["resolution"], "agg": body["agg"], "series": len(body["series"]),
                   "points": len(body["series"][0]["points"]) if body["series"] else 0}
            results["queries"].append(row)
            print(f"  {name:<30} {rng:>4}  p50 {row['p50_ms']:>6.2f} ms  p99 {row['p99_ms']:>6.2f} ms"
                  f"  ({row['resolution']}, step {row['step']} s, {row['series']} series)", flush=True)
    server.stop()
    ing = results["ingest"]
    print(f"\ningest: {results['points']:,} points in {ing['seconds']} s ({ing['points_per_s']:,.0f} points/s), "
          f"settled after {ing['settled_seconds']} s; chunks {ing['chunk_bytes'] / 1e6:.1f} MB, "
          f"rollups {(ing['rollup_bytes'] or 0) / 1e6:.1f} MB, database {ing['db_bytes'] / 1e6:.1f} MB, "
          f"peak RSS {ing['rss_mb']} MB")
    (out / "metric_queries.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {out / 'metric_queries.json'}")
