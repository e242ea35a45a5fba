#!/usr/bin/env python3
"""Sightline's benchmark harness: ingest throughput per transport, peak RSS,
and storage per signal against the OTLP protobuf size of the same data.

Run it with `./x bench` (which builds the release binary and installs what
this needs). The workload comes from otlpgen.py, a realistic generator of a
microservice shop (deep traces, semantic-convention attributes, correlated
logs, histograms); pass --workload-tools to say where otlpgen.py and
otlpsend.py are. Prints a table and writes target/bench/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The release binary on loopback ports with a fresh data directory."""

    def __init__(self, binary: Path, data_dir: Path, max_db: str, extra: list[str] | None = None):
        self.ui, self.http, self.grpc = free_port(), free_port(), free_port()
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [str(binary), "--data-dir", str(data_dir), "--ui-addr", f"127.0.0.1:{self.ui}",
             "--otlp-http-addr", f"127.0.0.1:{self.http}", "--otlp-grpc-addr", f"127.0.0.1:{self.grpc}",
             "--max-db-size", max_db, *(extra or [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if " listening" in line:
                break
        else:
            raise SystemExit("sightline did not start")
        # Keep reading its log so a chatty server never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def api(self, path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}{path}", timeout=30) as r:
            return json.load(r)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def head_points(self) -> int:
        c = sqlite3.connect(f"file:{self.data_dir / 'sightline.db'}?mode=ro", uri=True)
        try:
            return c.execute("SELECT count(*) FROM metric_head").fetchone()[0]
        finally:
            c.close()

    def settle(self, timeout: float = 180.0):
        """Waits until compaction and sealing stop changing the store."""
        last, stable, deadline = None, 0, time.time() + timeout
        while time.time() < deadline:
            s = self.api("/api/stats")
            key = (s["spans"]["blocks"], s["logs"]["blocks"], s["queuedItems"], self.head_points())
            stable = stable + 1 if key == last else 0
            if stable >= 4:
                return
            last = key
            time.sleep(0.5)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def send(tools: Path, workload: Path, server: Server, signals: str, protocol: str, encoding: str, workers: int) -> dict:
    out = Path(tempfile.mktemp(suffix=".json"))
    endpoint = f"127.0.0.1:{server.grpc}" if protocol == "grpc" else f"http://127.0.0.1:{server.http}"
    cmd = [sys.executable, str(tools / "otlpsend.py"), "--workload", str(workload), "--endpoint", endpoint,
           "--protocol", protocol, "--signals", signals, "--workers", str(workers), "--json-out", str(out), "--quiet"]
    if protocol == "http":
        cmd += ["--encoding", encoding]
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


def thread_cpu_s(pid: int) -> dict:
    """CPU seconds (user + system) per thread name of a process."""
    out: dict = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def sustained(args, tools: Path, out: Path):
    """Spans only, a large workload, several sender counts: the rate the
    server keeps up once the compactor works beside the writer."""
    workload = out / f"workload-{args.sustained}"
    if not (workload / "manifest.json").exists():
        print(f"generating a {args.sustained}-span workload (no metrics) in {workload} ...", flush=True)
        subprocess.run([sys.executable, str(tools / "otlpgen.py"), "--out", str(workload), "--seed", "1",
                        "--spans", str(args.sustained), "--no-metrics"], check=True, stdout=subprocess.DEVNULL)
    spans = json.loads((workload / "manifest.json").read_text())["summary"]["spans"]
    print(f"\nsustained: {spans} spans in 500-span requests, OTLP/HTTP protobuf and gRPC; {os.cpu_count()} cores")
    print(f"{'transport':<20}{'senders':>8}{'spans/s':>10}{'wall s':>8}{'peak RSS MB':>13}   server CPU s per thread")
    rows = []
    for protocol, label in (("http", "OTLP/HTTP protobuf"), ("grpc", "OTLP/gRPC")):
        for workers in args.sustained_workers:
            with tempfile.TemporaryDirectory() as tmp:
                server = Server(Path(args.binary), Path(tmp) / "data", "8GB")
                before = thread_cpu_s(server.proc.pid)
                r = send(tools, workload, server, "traces", protocol, "protobuf", workers)
                after = thread_cpu_s(server.proc.pid)
                rss = server.peak_rss_mb()
                server.stop()
            cpu = {k: round(after.get(k, 0) - before.get(k, 0), 1) for k in after}
            cpu = {k: v for k, v in sorted(cpu.items()) if v > 0}
            rate = r["accepted_items_per_s"]
            rows.append({"transport": label, "senders": workers, "spans_per_s": rate,
                         "wall_s": round(spans / rate, 2) if rate else None, "peak_rss_mb": round(rss, 1),
                         "server_cpu_s": cpu})
            print(f"{label:<20}{workers:>8}{rate:>10.0f}{spans / max(rate, 1):>8.1f}{rss:>13.1f}   "
                  + " ".join(f"{k}={v}" for k, v in cpu.items()), flush=True)
    (out / "sustained.json").write_text(json.dumps(rows, indent=2))
    print(f"\nwrote {out / 'sustained.json'}")


def table_bytes(db: Path) -> dict:
    """Bytes on disk per table/index (dbstat), grouped by the signal they serve."""
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    sizes = dict(c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    block_share = {}
    for signal_no, name in ((1, "spans"), (2, "logs")):
        data = c.execute("SELECT coalesce(sum(bytes),0) FROM blocks WHERE signal=?", (signal_no,)).fetchone()[0]
        block_share[name] = data
    total_blocks = sum(block_share.values()) or 1
    span_index = ["traces", "sqlite_autoindex_traces_1", "traces_by_id", "traces_by_start", "trace_services",
                  "span_groups", "span_groups_by_service", "service_minutes", "service_minutes_by_minute"]
    log_index = ["log_groups", "log_groups_by_service"]
    metric_tables = ["metric_series", "metric_series_by_name", "metric_series_by_hash", "metric_head",
                     "metric_chunks", "metric_chunks_by_series"]
    shared_blocks = sizes.get("block_data", 0) + sizes.get("block_filters", 0) + sizes.get("blocks", 0) \
        + sizes.get("blocks_by_signal", 0) + sizes.get("blocks_by_time", 0)
    # Regular number series (gauges and sums) alone: their chunks per point.
    number = c.execute(
        "SELECT coalesce(sum(length(c.data)), 0), coalesce(sum(c.point_count), 0), count(*) FROM metric_chunks c "
        "JOIN metric_series s ON s.id = c.series_id WHERE s.kind IN (1, 2)").fetchone()
    out = {
        "number_chunk_bytes": number[0], "number_points": number[1], "number_chunks": number[2],
        "spans": sum(sizes.get(t, 0) for t in span_index) + shared_blocks * block_share["spans"] / total_blocks,
        "logs": sum(sizes.get(t, 0) for t in log_index) + shared_blocks * block_share["logs"] / total_blocks,
        "metrics": sum(sizes.get(t, 0) for t in metric_tables),
        "file": db.stat().st_size,
    }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "target/release/sightline"))
    ap.add_argument("--workload-tools", default=str(ROOT.parent / "shared/bench"),
                    help="directory holding otlpgen.py and otlpsend.py")
    ap.add_argument("--spans", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--out", default=str(ROOT / "target/bench"))
    ap.add_argument("--metric-queries", action="store_true",
                    help="run the metric query benchmark (metric_queries.py) instead")
    ap.add_argument("--metric-window", type=int, default=614_400,
                    help="seconds of metrics the query benchmark ingests (614400: 10.0M points)")
    ap.add_argument("--metric-requests", type=int, default=300, help="requests per timed metric query")
    ap.add_argument("--sustained", type=int, metavar="SPANS", default=0,
                    help="instead: ingest a SPANS-span workload (spans only) per transport and sender count")
    ap.add_argument("--sustained-workers", type=int, nargs="+", default=[4, 16], metavar="N")
    ap.add_argument("--reingest", action="store_true",
                    help="with --metric-queries: rebuild the kept metric store instead of reusing it")
    args = ap.parse_args()

    tools = Path(args.workload_tools)
    if not (tools / "otlpgen.py").exists():
        raise SystemExit(f"no otlpgen.py in {tools}: pass --workload-tools DIR")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.sustained:
        sustained(args, tools, out)
        return
    if args.metric_queries:
        import metric_queries
        metric_queries.run(args, tools, out, Path(args.binary))
        return
    workload = out / f"workload-{args.spans}"
    if not (workload / "manifest.json").exists():
        print(f"generating a {args.spans}-span workload in {workload} ...", flush=True)
        subprocess.run([sys.executable, str(tools / "otlpgen.py"), "--out", str(workload), "--seed", "1",
                        "--spans", str(args.spans), "--json"], check=True, stdout=subprocess.DEVNULL)
    manifest = json.loads((workload / "manifest.json").read_text())["summary"]
    binary = Path(args.binary)
    results = {"machine": {"cores": os.cpu_count(), "uname": " ".join(os.uname())}, "workload": manifest, "runs": []}

    rows = []
    for protocol, encoding, label in (("http", "protobuf", "OTLP/HTTP protobuf"), ("grpc", "protobuf", "OTLP/gRPC"),
                                      ("http", "json", "OTLP/HTTP JSON")):
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(binary, Path(tmp) / "data", "8GB")
            per_signal = {}
            for sig in ("traces", "logs", "metrics"):
                r = send(tools, workload, server, sig, protocol, encoding, args.workers)
                per_signal[sig] = r
            server.settle()
            rss = server.peak_rss_mb()
            server.stop()
            run = {"transport": label, "peak_rss_mb": round(rss, 1),
                   "items_per_s": {s: per_signal[s]["accepted_items_per_s"] for s in per_signal},
                   "non_2xx": {s: per_signal[s].get("non_2xx", {}) for s in per_signal}}
            if protocol == "http" and encoding == "protobuf":
                # Storage is measured once, after a clean shutdown (WAL checkpointed).
                b = table_bytes(Path(tmp) / "data" / "sightline.db")
                run["storage"] = {
                    "spans_bytes": round(b["spans"]), "logs_bytes": round(b["logs"]), "metrics_bytes": round(b["metrics"]),
                    "file_bytes": b["file"],
                    "bytes_per_span": round(b["spans"] / manifest["spans"], 2),
                    "bytes_per_log": round(b["logs"] / manifest["logs"], 2),
                    "bytes_per_point": round(b["metrics"] / manifest["metric_points"], 2),
                    "span_ratio_vs_otlp": round(manifest["trace_pb_bytes"] / b["spans"], 2),
                    "log_ratio_vs_otlp": round(manifest["log_pb_bytes"] / b["logs"], 2),
                    "metric_ratio_vs_otlp": round(manifest["metric_pb_bytes"] / max(b["metrics"], 1), 2),
                    # Chunk payload plus SQLite's per-row cost (~40 bytes a chunk).
                    "number_series_bytes_per_point": round((b["number_chunk_bytes"] + 40 * b["number_chunks"])
                                                           / max(b["number_points"], 1), 2),
                }
            results["runs"].append(run)
            rows.append(run)

    print(f"\nworkload: {manifest['spans']} spans, {manifest['logs']} logs, {manifest['metric_points']} metric points "
          f"({manifest['metric_series']} series); batches of 500; {args.workers} sender workers; {os.cpu_count()} cores")
    print(f"{'transport':<22}{'spans/s':>10}{'logs/s':>10}{'points/s':>10}{'peak RSS MB':>13}")
    for r in rows:
        i = r["items_per_s"]
        print(f"{r['transport']:<22}{i['traces']:>10.0f}{i['logs']:>10.0f}{i['metrics']:>10.0f}{r['peak_rss_mb']:>13.1f}")
    st = rows[0]["storage"]
    print(f"\nstorage after ingest + checkpoint (pages in use per signal; the file is {st['file_bytes']/1e6:.1f} MB"
          f" including free pages kept for reuse):")
    print(f"  spans   {st['bytes_per_span']:>7.2f} B/span   {st['span_ratio_vs_otlp']:>6.2f}x smaller than OTLP protobuf")
    print(f"  logs    {st['bytes_per_log']:>7.2f} B/log    {st['log_ratio_vs_otlp']:>6.2f}x smaller than OTLP protobuf")
    print(f"  metrics {st['bytes_per_point']:>7.2f} B/point  {st['metric_ratio_vs_otlp']:>6.2f}x smaller than OTLP protobuf"
          f" (series table and histograms included)")
    print(f"  regular 10 s gauge/sum series: {st['number_series_bytes_per_point']:.2f} B/point (chunks + row cost)")
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
