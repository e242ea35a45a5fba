#!/usr/bin/env python3
"""Both storage engines side by side on one workload: the embedded SQLite
file and ClickHouse (the OpenTelemetry Collector's tables).

    ./x bench --engines                       # 100k spans + logs + metrics
    ./x bench --engines --spans 20000
    ./x bench --engines --clickhouse-url http://host:8123   # a real server

Per engine: ingest items/s per signal over OTLP/HTTP protobuf (the release
binary on loopback), bytes on disk per span / log / metric point as a user
sees them (SQLite: the file at rest after a clean stop, split per signal;
ClickHouse: `system.parts` bytes_on_disk of each signal's tables after
`OPTIMIZE … FINAL`), and p50/p99 of every query endpoint. Without
--clickhouse-url, ClickHouse is chdb-core 26.9 (the real engine, in-process)
behind the test front tests/clickhouse/front.py, which answers one request
at a time: ingest and query figures for it are those of one in-process
engine behind a Python HTTP server, not of a ClickHouse server. Writes
target/bench/engines.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, Server, free_port, send, table_bytes  # noqa: E402
from queries import pct, timed_get  # noqa: E402

SPAN_TABLES = ["otel_traces", "otel_traces_trace_id_ts"]
LOG_TABLES = ["otel_logs"]
METRIC_TABLES = ["otel_metrics_gauge", "otel_metrics_sum", "otel_metrics_histogram",
                 "otel_metrics_exp_histogram", "otel_metrics_summary"]


class ClickHouse:
    """A ClickHouse to benchmark: the test front over chdb, or a server."""

    def __init__(self, url: str | None, tmp: Path):
        self.proc = None
        if url:
            self.url = url.rstrip("/")
        else:
            port = free_port()
            self.proc = subprocess.Popen(
                [str(ROOT / ".venv/bin/python"), str(ROOT / "tests/clickhouse/front.py"), "--port", str(port),
                 "--path", str(tmp / "chdb")], stdout=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline()
            if "listening on" not in line:
                raise SystemExit(f"the ClickHouse front did not start: {line!r}")
            self.url = f"http://127.0.0.1:{port}"

    def sql(self, q: str, database: str = "default") -> str:
        req = urllib.request.Request(f"{self.url}/?database={database}", data=q.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=3600) as r:
            return r.read().decode()

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=60)


def clickhouse_bytes(ch: ClickHouse, db: str) -> dict:
    """Bytes on disk per signal once every table is merged to its final parts."""
    for t in SPAN_TABLES + LOG_TABLES + METRIC_TABLES:
        ch.sql(f"OPTIMIZE TABLE {t} FINAL", db)
    rows = ch.sql("SELECT table, sum(bytes_on_disk) FROM system.parts WHERE active AND database = currentDatabase() "
                  "GROUP BY table FORMAT TSV", db)
    sizes = {t: int(b) for t, b in (line.split("\t") for line in rows.splitlines() if line)}
    return {"spans": sum(sizes.get(t, 0) for t in SPAN_TABLES),
            "logs": sum(sizes.get(t, 0) for t in LOG_TABLES),
            "metrics": sum(sizes.get(t, 0) for t in METRIC_TABLES)}


def query_latencies(server: Server, manifest: dict, requests: int) -> dict:
    """p50/p99 of every query endpoint over the workload's window."""
    start_ns = int(manifest["args"]["start_ns"])
    end_ns = start_ns + int(manifest["args"]["window"]) * 1_000_000_000
    rnd = random.Random(7)
    all_time = f"from={start_ns}&to={end_ns}"

    def window(minutes: int) -> str:
        f = rnd.randrange(start_ns, max(start_ns + 1, end_ns - minutes * 60 * 1_000_000_000))
        return f"from={f}&to={f + minutes * 60 * 1_000_000_000}"

    _, page = timed_get(server, f"/api/traces?{all_time}&limit=100")
    trace_ids = [t["traceId"] for t in page["traces"]]
    services = sorted({s for t in page["traces"] for s in t["services"]})
    span_ids = []
    for tid in trace_ids[:20]:
        _, d = timed_get(server, f"/api/traces/{tid}")
        span_ids.extend(s["span"]["spanId"] for s in d["spans"][:3])
    _, metrics = timed_get(server, "/api/metrics")
    names = [m["name"] for m in metrics["metrics"]]
    if not trace_ids or not span_ids or not names:
        raise SystemExit("the store holds no traces or metrics in the workload's window")
    words = ["payment", "declined", "timeout", "cart", "order"]
    endpoints = {
        "trace by id": lambda: f"/api/traces/{rnd.choice(trace_ids)}",
        "trace outline": lambda: f"/api/traces/{rnd.choice(trace_ids)}/outline",
        "trace search (newest)": lambda: f"/api/traces?{all_time}",
        "trace search (service)": lambda: f"/api/traces?{all_time}&service={rnd.choice(services)}",
        "trace search (errors)": lambda: f"/api/traces?{all_time}&status=error",
        "trace search (min duration)": lambda: f"/api/traces?{all_time}&min_duration={rnd.choice([100, 250])}ms",
        "trace search (attr)": lambda: f"/api/traces?{all_time}&attr=http.route:/api/cart",
        "span search (service+kind)": lambda: f"/api/spans?{window(10)}&service={rnd.choice(services)}&kind=server",
        "span search (errors)": lambda: f"/api/spans?{all_time}&status=error",
        "span by id": lambda: f"/api/spans?span_id={rnd.choice(span_ids)}",
        "log search (newest)": lambda: f"/api/logs?{all_time}",
        "log full text": lambda: f"/api/logs?{all_time}&q={urllib.parse.quote(rnd.choice(words))}",
        "logs of a trace": lambda: f"/api/logs?trace_id={rnd.choice(trace_ids)}",
        "services": lambda: f"/api/services?{all_time}",
        "service map": lambda: f"/api/service-map?{all_time}",
        "metric catalog": lambda: "/api/metrics",
        "metric query (rate, by service)": lambda: f"/api/metrics/{urllib.parse.quote(rnd.choice(names))}/query?"
                                                   f"{all_time}&agg=rate&group_by=service.name",
        "raw series": lambda: f"/api/metrics/{urllib.parse.quote(rnd.choice(names))}/raw",
        "stats": lambda: "/api/stats",
    }
    out = {}
    for name, make in endpoints.items():
        for _ in range(3):
            timed_get(server, make())
        lat = [timed_get(server, make())[0] for _ in range(requests)]
        out[name] = {"p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2),
                     "mean_ms": round(statistics.mean(lat), 2)}
        print(f"    {name:<34} p50 {out[name]['p50_ms']:>9.2f} ms   p99 {out[name]['p99_ms']:>9.2f} ms", flush=True)
    return out


def ingest(tools: Path, workload: Path, server: Server, workers: int) -> dict:
    rates = {}
    for sig in ("traces", "logs", "metrics"):
        r = send(tools, workload, server, sig, "http", "protobuf", workers)
        rates[sig] = r["accepted_items_per_s"]
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "target/release/sightline"))
    ap.add_argument("--workload-tools", default=str(ROOT.parent / "shared/bench"))
    ap.add_argument("--spans", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--requests", type=int, default=50, help="requests per endpoint")
    ap.add_argument("--clickhouse-url", help="a ClickHouse server to use instead of the chdb test front")
    ap.add_argument("--out", default=str(ROOT / "target/bench"))
    args = ap.parse_args()

    tools, out = Path(args.workload_tools), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workload = out / f"workload-{args.spans}"
    if not (workload / "manifest.json").exists():
        print(f"generating a {args.spans}-span workload in {workload} ...", flush=True)
        subprocess.run([sys.executable, str(tools / "otlpgen.py"), "--out", str(workload), "--seed", "1",
                        "--spans", str(args.spans), "--json"], check=True, stdout=subprocess.DEVNULL)
    full = json.loads((workload / "manifest.json").read_text())
    m = full["summary"]
    binary = Path(args.binary)
    results = {"machine": {"cores": os.cpu_count()}, "workload": m, "engines": {}}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("\nSQLite (embedded)", flush=True)
        server = Server(binary, tmp / "data", "8GB")
        rates = ingest(tools, workload, server, args.workers)
        server.settle()
        lat = query_latencies(server, full, args.requests)
        server.stop()
        b = table_bytes(tmp / "data" / "sightline.db")
        results["engines"]["sqlite"] = {"items_per_s": rates, "bytes": {k: round(b[k]) for k in ("spans", "logs", "metrics")},
                                        "file_bytes": b["file"], "queries": lat}

        print("\nClickHouse" + (f" at {args.clickhouse_url}" if args.clickhouse_url else " (chdb-core 26.9 behind the test front)"),
              flush=True)
        ch = ClickHouse(args.clickhouse_url, tmp)
        db = f"sl_bench_{int(time.time())}"
        try:
            server = Server(binary, tmp / "unused", "8GB", ["--clickhouse-url", ch.url, "--clickhouse-database", db])
            rates = ingest(tools, workload, server, args.workers)
            lat = query_latencies(server, full, args.requests)
            server.stop()
            b = clickhouse_bytes(ch, db)
            results["engines"]["clickhouse"] = {"items_per_s": rates, "bytes": b, "queries": lat,
                                                "server": args.clickhouse_url or "chdb-core 26.9 test front"}
            if args.clickhouse_url:
                ch.sql(f"DROP DATABASE {db}")
        finally:
            ch.stop()

    e = results["engines"]
    print(f"\nworkload: {m['spans']} spans, {m['logs']} logs, {m['metric_points']} metric points; "
          f"OTLP/HTTP protobuf, {args.workers} senders, {os.cpu_count()} cores")
    print(f"{'':<34}{'SQLite':>14}{'ClickHouse':>14}")
    for sig, unit in (("traces", "spans/s"), ("logs", "logs/s"), ("metrics", "points/s")):
        print(f"{'ingest ' + unit:<34}{e['sqlite']['items_per_s'][sig]:>14.0f}{e['clickhouse']['items_per_s'][sig]:>14.0f}")
    for sig, n, unit in (("spans", m["spans"], "B/span"), ("logs", m["logs"], "B/log"),
                         ("metrics", m["metric_points"], "B/point")):
        print(f"{'disk ' + unit:<34}{e['sqlite']['bytes'][sig] / n:>14.2f}{e['clickhouse']['bytes'][sig] / n:>14.2f}")
    print(f"{'query p50 / p99 ms':<34}")
    for name in e["sqlite"]["queries"]:
        s, c = e["sqlite"]["queries"][name], e["clickhouse"]["queries"][name]
        print(f"  {name:<32}{s['p50_ms']:>6.1f} /{s['p99_ms']:>6.1f}{c['p50_ms']:>6.1f} /{c['p99_ms']:>6.1f}")
    (out / "engines.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out / 'engines.json'}")


if __name__ == "__main__":
    main()
