#!/usr/bin/env python3
"""Query latency benchmark: a store of millions of spans and logs (generated
by otlpgen.py, ingested through the real OTLP/HTTP write path into the
release binary), then every query endpoint asked many times with varied
parameters; prints p50/p99 per endpoint and writes
target/bench/query-results.json.

    ./x bench --queries                       # 10M spans + 10M logs
    ./x bench --queries --spans 1000000       # smaller

The ingested data directory is kept (target/bench/store-<spans>) and reused
by later runs unless --reingest is given: ingesting 10M spans and 10M logs
takes minutes, the queries seconds.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, Server, send  # noqa: E402

MS = 1_000_000


def timed_get(server: Server, path: str):
    url = f"http://127.0.0.1:{server.ui}{path}"
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    took = (time.perf_counter() - t) * 1000
    if status != 200:
        raise SystemExit(f"{path}: HTTP {status}: {body[:300]!r}")
    return took, json.loads(body)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "target/release/sightline"))
    ap.add_argument("--workload-tools", default=str(ROOT.parent / "shared/bench"))
    ap.add_argument("--spans", type=int, default=10_000_000)
    ap.add_argument("--logs-per-span", type=float, default=1.0)
    ap.add_argument("--window", type=int, default=86_400, help="seconds of data (default one day)")
    ap.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reingest", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "target/bench"))
    args = ap.parse_args()

    tools, out = Path(args.workload_tools), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workload = out / f"workload-q{args.spans}"
    if not (workload / "manifest.json").exists():
        print(f"generating {args.spans} spans over {args.window} s ...", file=sys.stderr)
        subprocess.run([sys.executable, str(tools / "otlpgen.py"), "--out", str(workload), "--seed", "1",
                        "--spans", str(args.spans), "--window", str(args.window),
                        "--logs-per-span", str(args.logs_per_span), "--no-metrics"], check=True)
    manifest = json.loads((workload / "manifest.json").read_text())
    start_ns = int(manifest["args"]["start_ns"])
    end_ns = start_ns + int(manifest["args"]["window"]) * 1_000_000_000
    store = out / f"store-q{args.spans}"
    ingest = None
    if args.reingest or not (store / "sightline.db").exists():
        shutil.rmtree(store, ignore_errors=True)
        store.mkdir(parents=True)
        server = Server(Path(args.binary), store, "8GB")
        t = time.time()
        sent = send(tools, workload, server, "traces,logs", "http", "protobuf", args.workers)
        server.settle(timeout=1800)
        ingest = {"seconds": round(time.time() - t, 1), "sender": sent.get("totals", sent)}
        server.stop()
    server = Server(Path(args.binary), store, "8GB")
    started = time.time()
    stats = server.api("/api/stats")
    print(f"store: {stats['spans']['items']} spans, {stats['logs']['items']} logs, "
          f"{stats['traces']} traces, {stats['dbSizeBytes'] / 1e6:.0f} MB", file=sys.stderr)

    rnd = random.Random(7)
    day = f"from={start_ns}&to={end_ns}"

    def window(minutes: int) -> str:
        f = rnd.randrange(start_ns, max(start_ns + 1, end_ns - minutes * 60 * 1_000_000_000))
        return f"from={f}&to={f + minutes * 60 * 1_000_000_000}"

    # Ids to ask for: spread over the day.
    trace_ids, span_ids, services, words = [], [], set(), ["payment", "declined", "timeout", "cart", "order"]
    for _ in range(20):
        _, page = timed_get(server, f"/api/traces?{window(5)}&limit=50")
        for t in page["traces"]:
            trace_ids.append(t["traceId"])
            services.update(t["services"])
    for tid in trace_ids[:40]:
        _, d = timed_get(server, f"/api/traces/{tid}")
        span_ids.extend(s["span"]["spanId"] for s in d["spans"][:3])
    _, some_logs = timed_get(server, f"/api/logs?{window(10)}&limit=200")
    for entry in some_logs["logs"]:
        body = entry["record"]["body"].get("stringValue", "")
        words.extend(w for w in body.split() if w.isalpha() and len(w) > 3)
    services = sorted(services)
    words = sorted(set(words))
    if not trace_ids or not span_ids:
        raise SystemExit("the store holds no traces in the workload's window")

    endpoints = {
        "trace by id": lambda: f"/api/traces/{rnd.choice(trace_ids)}",
        "trace search (24 h, newest)": lambda: f"/api/traces?{day}",
        "trace search (service, 1 h)": lambda: f"/api/traces?{window(60)}&service={rnd.choice(services)}",
        "trace search (errors, 24 h)": lambda: f"/api/traces?{day}&status=error",
        "trace search (min duration, 24 h)": lambda: f"/api/traces?{day}&min_duration={rnd.choice([100, 250, 500])}ms",
        "trace search (attr, 1 h)": lambda: f"/api/traces?{window(60)}&attr=http.route:/api/cart",
        "span search (service+kind, 1 h)": lambda: f"/api/spans?{window(60)}&service={rnd.choice(services)}&kind=server",
        "span search (errors, 24 h)": lambda: f"/api/spans?{day}&status=error",
        "span by id": lambda: f"/api/spans?span_id={rnd.choice(span_ids)}",
        "log search (newest, 24 h)": lambda: f"/api/logs?{day}",
        "log full text (24 h)": lambda: f"/api/logs?{day}&q={urllib.parse.quote(rnd.choice(words))}",
        "log full text (1 h)": lambda: f"/api/logs?{window(60)}&q={urllib.parse.quote(rnd.choice(words))}",
        "logs of a trace": lambda: f"/api/logs?trace_id={rnd.choice(trace_ids)}",
        "services (24 h)": lambda: f"/api/services?{day}",
        "service map (1 h)": lambda: f"/api/service-map?{window(60)}",
    }
    floors = {"trace by id": 10, "trace search": 100, "span search": 100, "span by id": 100, "log full text": 200}
    # A server that just started finishes its start-up upkeep (compaction,
    # string collection) and fills the page cache first: the timings are of
    # the steady state, every endpoint warmed alike.
    server.settle(timeout=600)
    for make in endpoints.values():
        for _ in range(5):
            timed_get(server, make())
    results = {}
    for name, make in endpoints.items():
        n = args.requests if "map" not in name else max(20, args.requests // 10)
        timed_get(server, make())  # warm the page cache for this shape
        lat = [timed_get(server, make())[0] for _ in range(n)]
        floor = next((v for k, v in floors.items() if name.startswith(k)), None)
        results[name] = {"requests": n, "p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2),
                         "mean_ms": round(statistics.mean(lat), 2), "floor_p99_ms": floor}
        print(f"  {name:<36} p50 {results[name]['p50_ms']:>8.2f} ms   p99 {results[name]['p99_ms']:>8.2f} ms", file=sys.stderr)
    rss = server.peak_rss_mb()
    server.stop()
    report = {"spans": stats["spans"]["items"], "logs": stats["logs"]["items"], "traces": stats["traces"],
              "db_mb": round(stats["dbSizeBytes"] / 1e6), "ingest": ingest, "peak_rss_mb": round(rss),
              "query_seconds": round(time.time() - started), "endpoints": results}
    (out / "query-results.json").write_text(json.dumps(report, indent=2))
    print(f"\n{'endpoint':<38}{'p50 ms':>10}{'p99 ms':>10}{'floor':>8}")
    for name, r in results.items():
        floor = f"{r['floor_p99_ms']}" if r["floor_p99_ms"] else "-"
        flag = "" if not r["floor_p99_ms"] or r["p99_ms"] <= r["floor_p99_ms"] else "  ABOVE FLOOR"
        print(f"{name:<38}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{floor:>8}{flag}")
    print(f"\n{report['spans']} spans, {report['logs']} logs, {report['traces']} traces, {report['db_mb']} MB, "
          f"server peak RSS {report['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
