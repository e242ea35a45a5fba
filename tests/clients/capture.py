"""Captures the OTLP/HTTP requests a real exporter sends, for golden files.

    capture.py --out-dir tests/data/otlp/node-http-json -- \
        node tests/clients/node/send.mjs --endpoint {endpoint} --service node-golden --out {out_dir}/manifest.json

Starts an HTTP server on 127.0.0.1 (ephemeral port), runs the command with
`{endpoint}` and `{out_dir}` replaced, and writes each request body,
decompressed, to OUT_DIR/<signal>.<json|pb> (<signal>-<n>.… from the second
request of a signal on). Every request is answered 200 with an empty export
response in the request's content type. Uses only the standard library.
"""

import argparse
import gzip
import http.server
import os
import subprocess
import sys
import threading


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", required=True)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("give the command to run after --")
    os.makedirs(args.out_dir, exist_ok=True)
    seen = {}
    lock = threading.Lock()
    problems = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            signal = self.path.rstrip("/").rsplit("/", 1)[-1]
            body = self.read_body()
            if self.headers.get("content-encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            ctype = self.headers.get("content-type", "").split(";")[0].strip().lower()
            ext = "json" if ctype == "application/json" else "pb"
            if self.path not in ("/v1/traces", "/v1/logs", "/v1/metrics"):
                problems.append(f"unexpected path {self.path}")
            with lock:
                n = seen.get(signal, 0) + 1
                seen[signal] = n
            name = f"{signal}.{ext}" if n == 1 else f"{signal}-{n}.{ext}"
            with open(os.path.join(args.out_dir, name), "wb") as f:
                f.write(body)
            reply = b"{}" if ext == "json" else b""
            self.send_response(200)
            self.send_header("content-type", ctype or "application/x-protobuf")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def read_body(self):
            if self.headers.get("transfer-encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("content-length", "0")))
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()

        def log_message(self, fmt, *a):
            sys.stderr.write("capture: " + (fmt % a) + "\n")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    cmd = [c.replace("{endpoint}", endpoint).replace("{out_dir}", args.out_dir) for c in command]
    code = subprocess.call(cmd)
    server.shutdown()
    for msg in problems:
        print(f"error: {msg}", file=sys.stderr)
    print(f"captured: {seen}", file=sys.stderr)
    return code or (1 if problems else 0)


if __name__ == "__main__":
    sys.exit(main())
