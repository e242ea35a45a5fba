#!/usr/bin/env python3
"""Start-up time on a big existing database (`./x bench --startup`).

Copies a database of at least --min-size bytes (built once from an otlpgen
workload, cached under target/bench/store-startup) into a fresh data
directory and times, over several cold starts of the release binary:
  * exec → the start-up line (listeners bound, schema checked),
  * exec → the first `GET /api/health` answered,
  * exec → the first OTLP/HTTP span acknowledged (writer ready),
  * exec → the first `GET /api/traces` answered (readers ready).
The page cache is warm (the copy was just read); prints a table and writes
target/bench/startup.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import Server, free_port, send

ROOT = Path(__file__).resolve().parents[2]

SPAN = (b'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":'
        b'{"stringValue":"startup-probe"}}]},"scopeSpans":[{"spans":[{"traceId":'
        b'"5f0c0e1d2b3a49586776859403a2b1c0","spanId":"0a1b2c3d4e5f6071","name":"probe",'
        b'"kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}')


def ensure_store(args, tools: Path, out: Path, binary: Path) -> Path:
    """A database of at least --min-size bytes: the cached one, or a new one
    grown by sending otlpgen workloads with successive seeds."""
    store = out / "store-startup"
    db = store / "sightline.db"
    if db.exists() and db.stat().st_size >= args.min_size:
        return db
    shutil.rmtree(store, ignore_errors=True)
    if args.base:
        store.mkdir(parents=True)
        shutil.copy(args.base, db)
    seed = 101
    while not db.exists() or db.stat().st_size < args.min_size:
        wl = out / f"workload-startup-{seed}"
        if not (wl / "manifest.json").exists():
            print(f"generating workload seed {seed} ({args.spans_per_pass} spans)", file=sys.stderr)
            subprocess.run([sys.executable, str(tools / "otlpgen.py"), "--out", str(wl), "--seed", str(seed),
                            "--spans", str(args.spans_per_pass), "--window", "86400", "--logs-per-span", "1.0",
                            "--no-metrics"], check=True)
        server = Server(binary, store, "4GB")
        send(tools, wl, server, "traces,logs", "http", "protobuf", 2)
        server.settle(600)
        server.stop()
        shutil.rmtree(wl, ignore_errors=True)
        print(f"database now {db.stat().st_size / 1e6:.0f} MB", file=sys.stderr)
        seed += 1
    return db


def wait_for(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, data=data, headers=headers or {})
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 200:
                    r.read()
                    return
        except OSError:
            pass
        time.sleep(0.002)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def one_start(binary: Path, data_dir: Path) -> dict:
    ui, http, grpc = free_port(), free_port(), free_port()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(binary), "--data-dir", str(data_dir), "--ui-addr", f"127.0.0.1:{ui}",
         "--otlp-http-addr", f"127.0.0.1:{http}", "--otlp-grpc-addr", f"127.0.0.1:{grpc}",
         "--max-db-size", "4GB"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if " listening" in line:
                break
        listening = time.monotonic() - t0
        wait_for(f"http://127.0.0.1:{ui}/api/health")
        health = time.monotonic() - t0
        now = time.time_ns()
        wait_for(f"http://127.0.0.1:{http}/v1/traces", SPAN % (now, now + 1000),
                 {"Content-Type": "application/json"})
        ingest = time.monotonic() - t0
        wait_for(f"http://127.0.0.1:{ui}/api/traces?limit=20")
        query = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"listening": listening, "health": health, "first_ack": ingest, "first_query": query}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "target/release/sightline"))
    ap.add_argument("--workload-tools", default=str(ROOT.parent / "shared/bench"))
    ap.add_argument("--min-size", type=int, default=1_000_000_000, help="bytes (default 1 GB)")
    ap.add_argument("--spans-per-pass", type=int, default=4_000_000)
    ap.add_argument("--base", help="grow the database from a copy of this one (saves generating it all)")
    ap.add_argument("--db", help="time this existing database instead (any size)")
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "target/bench"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    binary = Path(args.binary)
    db = Path(args.db) if args.db else ensure_store(args, Path(args.workload_tools), out, binary)
    runs = []
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        shutil.copy(db, data / "sightline.db")
        for _ in range(args.starts):
            runs.append(one_start(binary, data))
    result = {"db_bytes": db.stat().st_size, "runs": runs}
    for key in ("listening", "health", "first_ack", "first_query"):
        xs = sorted(r[key] for r in runs)
        result[key] = {"median_ms": xs[len(xs) // 2] * 1000, "max_ms": xs[-1] * 1000}
    (out / "startup.json").write_text(json.dumps(result, indent=2))
    print(f"\nStart-up on a {result['db_bytes'] / 1e9:.2f} GB database ({args.starts} starts, warm page cache)")
    print(f"{'milestone':<34}{'median':>10}{'max':>10}")
    for key, label in (("listening", "listeners bound"), ("health", "first /api/health"),
                       ("first_ack", "first OTLP span acknowledged"), ("first_query", "first /api/traces")):
        print(f"{label:<34}{result[key]['median_ms']:>8.0f}ms{result[key]['max_ms']:>8.0f}ms")


if __name__ == "__main__":
    main()
