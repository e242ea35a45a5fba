#!/usr/bin/env python3
"""The whole benchmark set in one run (`./x bench --all`), ending with one
table against the project's targets:

  ingest per transport, peak RSS, storage per signal    bench.py
  metric query latency at 10 million points             bench.py --metric-queries
  query latencies (--query-spans, default 1 million)    queries.py
  start-up on a 1 GB database                           startup.py
  trace-view layout at 10k / 100k spans (native)        shared/examples/layout_bench.rs
  opening 10k / 100k-span traces in headless Chromium   tests/examples/trace_view_bench.rs
  dashboard wasm size (raw and gzip)                    dist/

Each step keeps its own detailed output (and JSON in target/bench/); the
table at the end is what BENCHMARKS.md records, with the machine it ran on.
Workloads and stores are cached in target/bench, so a second run skips
generation. --skip NAME (repeatable) leaves a step out.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STEPS = ["ingest", "metric-queries", "queries", "startup", "layout", "trace-view", "wasm"]


def run(cmd: list[str], capture: bool = False, env: dict | None = None) -> str:
    print(f"\n$ {' '.join(cmd)}", flush=True)
    if capture:
        out = subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env=env).stdout
        print(out, flush=True)
        return out
    subprocess.run(cmd, check=True, cwd=ROOT)
    return ""


def load(out: Path, name: str):
    p = out / name
    return json.loads(p.read_text()) if p.exists() else None


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    return f"{os.cpu_count()} cores ({cpu}), {mem}, {platform.system()} {platform.release()}"


def wasm_sizes() -> dict | None:
    files = sorted((ROOT / "dist").glob("*.wasm"))
    if not files:
        return None
    raw = files[0].read_bytes()
    return {"file": files[0].name, "bytes": len(raw), "gzip_bytes": len(gzip.compress(raw, 9))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload-tools", default=str(ROOT.parent / "shared/bench"))
    ap.add_argument("--query-spans", type=int, default=1_000_000)
    ap.add_argument("--skip", action="append", default=[], choices=STEPS)
    ap.add_argument("--out", default=str(ROOT / "target/bench"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    py, tools = sys.executable, ["--workload-tools", args.workload_tools]
    layout_out = ""
    if "ingest" not in args.skip:
        run([py, str(HERE / "bench.py"), *tools])
    if "metric-queries" not in args.skip:
        run([py, str(HERE / "bench.py"), "--metric-queries", *tools])
    if "queries" not in args.skip:
        run([py, str(HERE / "queries.py"), "--spans", str(args.query_spans), *tools])
    if "startup" not in args.skip:
        run([py, str(HERE / "startup.py"), *tools])
    if "layout" not in args.skip:
        layout_out = run(["cargo", "run", "--quiet", "--release", "-p", "sightline-shared", "--example",
                          "layout_bench"], capture=True)
    trace_view_out = ""
    if "trace-view" not in args.skip:
        env = dict(os.environ, SIGHTLINE_BIN=str(ROOT / "target/release/sightline"))
        trace_view_out = run(["cargo", "run", "--quiet", "--release", "-p", "sightline-tests", "--example",
                              "trace_view_bench"], capture=True, env=env)

    rows: list[tuple[str, str, str]] = []
    ingest = load(out, "results.json")
    if ingest and "ingest" not in args.skip:
        for r in ingest["runs"]:
            i = r["items_per_s"]
            rows.append((f"ingest {r['transport']}",
                         f"{i['traces']:,.0f} spans/s, {i['logs']:,.0f} logs/s, {i['metrics']:,.0f} points/s",
                         "≥ 100k spans/s"))
        rows.append(("peak RSS during ingest", f"{max(r['peak_rss_mb'] for r in ingest['runs']):.0f} MB", "≤ 300 MB"))
        st = ingest["runs"][0]["storage"]
        rows.append(("storage, spans", f"{st['bytes_per_span']} B/span = {st['span_ratio_vs_otlp']}× smaller than OTLP",
                     "≥ 10×"))
        rows.append(("storage, logs", f"{st['bytes_per_log']} B/log = {st['log_ratio_vs_otlp']}× smaller", "≥ 10×"))
        rows.append(("storage, regular metric series", f"{st['number_series_bytes_per_point']} B/point", "≤ 2 B"))
    mq = load(out, "metric_queries.json")
    if mq and "metric-queries" not in args.skip:
        day = [q for q in mq["queries"] if q["range"] == "24h"]
        worst = max(day, key=lambda q: q["p99_ms"])
        rows.append((f"metric query 24 h at {mq.get('points', 0):,} points",
                     f"p99 {worst['p99_ms']} ms (worst of {len(day)}: {worst['metric']})", "p99 ≤ 50 ms"))
    q = load(out, "query-results.json")
    if q and "queries" not in args.skip:
        for name, e in q["endpoints"].items():
            floor = f"p99 ≤ {e['floor_p99_ms']} ms" if e.get("floor_p99_ms") else ""
            rows.append((f"{name} ({q['spans']:,} spans)", f"p50 {e['p50_ms']} / p99 {e['p99_ms']} ms", floor))
    s = load(out, "startup.json")
    if s and "startup" not in args.skip:
        rows.append((f"start-up, {s['db_bytes'] / 1e9:.2f} GB database",
                     f"{s['first_query']['median_ms']:.0f} ms to first query answered "
                     f"(first ack {s['first_ack']['median_ms']:.0f} ms)", "< 1 s"))
    if layout_out:
        for line in layout_out.splitlines():
            parts = line.split()
            # "   10000  layout   0.94   1.66"; not the "(15 runs; …)" summary lines.
            if parts and parts[0].replace(",", "").isdigit() and len(parts) >= 3 \
                    and not parts[1].startswith("("):
                rows.append((f"layout {' '.join(parts[1:-2])} ({parts[0]} spans)", f"median {parts[-2]} ms", ""))
    # "   10000  in app   data → painted   101.3   137.6   292.7"
    for line in trace_view_out.splitlines():
        m = re.match(r"\s*(\d+)\s+(in app|link)\s+data → painted\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            spans, way, _, median, worst = m.groups()
            rows.append((f"trace view {int(spans):,} spans, data → painted ({way})",
                         f"median {median} ms (worst {worst})", "≤ 300 ms at 10k" if spans == "10000" else ""))
    w = wasm_sizes() if "wasm" not in args.skip else None
    if w:
        rows.append(("dashboard wasm", f"{w['bytes'] / 1e3:.0f} KB, {w['gzip_bytes'] / 1e3:.0f} KB gzip",
                     "≤ 600 KB gzip"))

    print(f"\n## Benchmark report — {machine()}\n")
    width = max(len(r[0]) for r in rows) if rows else 10
    vwidth = max(len(r[1]) for r in rows) if rows else 10
    print(f"| {'what':<{width}} | {'measured':<{vwidth}} | target |")
    print(f"|{'-' * (width + 2)}|{'-' * (vwidth + 2)}|--------|")
    for name, value, target in rows:
        print(f"| {name:<{width}} | {value:<{vwidth}} | {target} |")
    (out / "report.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
