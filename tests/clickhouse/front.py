#!/usr/bin/env python3
"""ClickHouse's HTTP interface in front of chdb, ClickHouse as an in-process
library, so tests talk to the real engine over the real protocol without a
ClickHouse server. Test equipment, never production: see README.md.

    python front.py --port P [--host 127.0.0.1] [--path DIR] [--user U --password W]

Prints `listening on HOST:PORT` once it accepts connections (`--port 0` picks
a free port). Without `--path` the data lives in a temporary directory that is
removed at exit.
"""

import argparse
import base64
import hmac
import json
import re
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb.session import Session

# URL parameters of the HTTP interface itself; the others are query settings.
HTTP_PARAMS = {"query", "database", "default_format", "user", "password", "query_id"}
# Parameters that only mean something to a server process or its network
# side; accepted and ignored (README.md says why each one).
IGNORED_PARAMS = {
    "wait_end_of_query", "buffer_size", "session_id", "session_timeout", "session_check",
    "quota_key", "role", "stacktrace", "client_protocol_version",
    "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "enable_http_compression", "http_zlib_compression_level",
}
SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# `INSERT INTO ... FORMAT Name` followed by data. Quoted strings are skipped
# whole, so a `FORMAT` inside a literal is not taken for the clause.
INSERT_WITH_DATA = re.compile(
    rb"(\s*INSERT\s+INTO\s(?:[^']|'(?:[^'\\]|\\.)*')*?)\sFORMAT\s+(\w+)", re.I | re.S
)
TRAILING_FORMAT = re.compile(r"\sFORMAT\s+(\w+)(\s+SETTINGS\s.*)?\s*;?\s*\Z", re.I | re.S)

# ClickHouse's exceptionCodeToHTTPStatus, by error name (chdb reports names).
STATUS_BY_ERROR = {
    401: {"REQUIRED_PASSWORD"},
    403: {"UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE",
          "ACCESS_DENIED"},
    400: {"BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
          "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
          "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
          "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
          "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
          "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
          "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
          "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"},
    404: {"UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
          "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING",
          "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT",
          "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"},
    413: {"QUERY_IS_TOO_LARGE"},
    501: {"NOT_IMPLEMENTED"},
    503: {"SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"},
    411: {"HTTP_LENGTH_REQUIRED"},
    408: {"TIMEOUT_EXCEEDED"},
    415: {"UNSUPPORTED_MEDIA_TYPE"},
}

BINARY_FORMATS = ("RowBinary", "Native", "Parquet", "Arrow", "ORC", "Avro", "Protobuf",
                  "MsgPack", "CapnProto", "BSONEachRow", "Npy")


def content_type(fmt):
    """The Content-Type ClickHouse answers with for an output format."""
    if fmt.startswith(BINARY_FORMATS):
        return "application/octet-stream"
    if fmt.startswith(("TabSeparated", "TSV")):
        return "text/tab-separated-values; charset=UTF-8"
    if fmt.startswith("CSV"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "WithNames" in fmt else "absent")
    if fmt.endswith(("EachRow", "Lines")) or fmt == "NDJSON":
        return "application/x-ndjson; charset=UTF-8"
    if fmt.startswith("JSON"):
        return "application/json; charset=UTF-8"
    return "text/plain; charset=UTF-8"


class ClickHouseError(Exception):
    """An error answered the way ClickHouse does: code, name and message."""

    def __init__(self, code, name, message):
        super().__init__(message)
        self.code, self.name, self.message = code, name, message

    @classmethod
    def from_engine(cls, exc):
        """Parses chdb's `... Code: N. DB::Exception: MESSAGE. (NAME)` text.
        The last `Code:` is the innermost exception (chdb wraps some twice)."""
        text = str(exc)
        codes = list(re.finditer(r"Code: (\d+)\. (?:DB::\w*Exception: )?", text))
        if not codes:
            return cls(1001, "STD_EXCEPTION", text)
        rest = text[codes[-1].end():]
        names = re.findall(r"\(([A-Z][A-Z0-9_]+)\)", rest)
        tail = r"(\s*\(version [^()]*(\([^()]*\))?\)|\s*\.?\s*\([A-Z][A-Z0-9_]+\))+\.?\s*\Z"
        message = re.sub(tail, "", rest)
        return cls(int(codes[-1].group(1)), names[-1] if names else "UNKNOWN_EXCEPTION", message)

    def status(self):
        return next((s for s, names in STATUS_BY_ERROR.items() if self.name in names), 500)

    def body(self, version):
        message = self.message if self.message.endswith(".") else self.message + "."
        return f"Code: {self.code}. DB::Exception: {message} ({self.name}) (version {version})\n"


def quote_literal(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name):
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class Engine:
    """The one chdb engine of this process. Every request gets its own
    connection, so `USE` and `SET` (the request's database and settings)
    never leak into the next request, just as each HTTP request is its own
    session in ClickHouse. One lock runs the requests one at a time; it is
    never held while a client is still sending."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.closed = False
        # Holds the engine open between requests.
        self.keeper = Session(path)
        self.version = self.keeper.query("SELECT version()", "TabSeparated").bytes().decode().strip()

    def close(self):
        """Waits for the running request; later ones are refused."""
        with self.lock:
            self.closed = True
            self.keeper.close()

    def run(self, sql, database, settings, params, fmt):
        """Runs one request's SQL (bytes: the statement, then any INSERT data).
        Returns (body, summary)."""
        with self.lock:
            if self.closed:
                raise ClickHouseError(210, "NETWORK_ERROR", "The ClickHouse test front is stopping")
            session = Session(self.path)
            try:
                return self._run(session, sql, database, settings, params, fmt)
            except RuntimeError as e:
                raise ClickHouseError.from_engine(e) from None
            finally:
                session.close()

    def _run(self, session, sql, database, settings, params, fmt):
        session.query(f"USE {quote_identifier(database)}")
        for name, value in settings.items():
            session.query(f"SET {name} = {quote_literal(value)}")
        insert = INSERT_WITH_DATA.match(sql)
        if insert:
            return self._insert(session, sql, insert)
        try:
            text = sql.decode()
        except UnicodeDecodeError:
            raise ClickHouseError(36, "BAD_ARGUMENTS", "Query is not valid UTF-8") from None
        result = session.query(text, fmt, params=params)
        return result.bytes(), {
            "read_rows": result.storage_rows_read(),
            "read_bytes": result.storage_bytes_read(),
            "written_rows": result.rows_written(),
            "written_bytes": result.bytes_written(),
            "total_rows_to_read": result.storage_rows_read(),
            "result_rows": result.rows_read(),
            "result_bytes": result.bytes_read(),
            "elapsed_ns": int(result.elapsed() * 1e9),
        }

    @staticmethod
    def _insert(session, sql, match):
        """Streams the data after `FORMAT Name` into chdb's inserter. As in
        ClickHouse, the data starts after the spaces and the first newline
        that follow the format name."""
        start = match.end()
        while start < len(sql) and sql[start] in b" \t\f":
            start += 1
        start += sql.startswith(b"\r", start)
        start += sql.startswith(b"\n", start)
        inserter = session.send_insert(match.group(1).decode(), match.group(2).decode())
        try:
            data = memoryview(sql)[start:]
            for offset in range(0, len(data), 1 << 20):
                inserter.append(data[offset:offset + (1 << 20)])
            done = inserter.finish()
        finally:
            inserter.cancel()  # a no-op once finished
        return b"", {"written_rows": done.rows_written, "written_bytes": done.bytes_written,
                     "elapsed_ns": int(done.elapsed * 1e9)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, for the Rust client's pooled connections
    disable_nagle_algorithm = True
    server_version = "sightline-clickhouse-front"

    def log_message(self, *args):
        """No access log: errors alone go to stderr."""

    def do_GET(self):
        self.answer(readonly_request=True)

    def do_POST(self):
        self.answer(readonly_request=False)

    def answer(self, readonly_request):
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        try:
            # Read the whole body first: the connection stays usable for the
            # next request whatever the answer is.
            body = self.read_body()
            if url.path == "/ping" or (url.path == "/" and readonly_request and "query" not in params):
                return self.reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            if url.path != "/":
                return self.reply(404, f"There is no handle {url.path}\n\nUse / or /ping.\n".encode(),
                                  {"Content-Type": "text/plain; charset=UTF-8"})
            if self.headers.get_content_type() == "multipart/form-data":
                params.update(self.form_fields(body))
                body = b""
            self.authenticate(params)
            self.refuse_compression(params)
            self.answer_query(params, body, readonly_request, query_id)
        except ClickHouseError as e:
            self.fail(e, query_id)
        except Exception as e:  # a bug here, or a body that could not be read whole
            self.close_connection = True
            self.fail(ClickHouseError(1001, "STD_EXCEPTION", f"{type(e).__name__}: {e}"), query_id)

    def fail(self, error, query_id):
        sys.stderr.write(f"front: {error.code} {error.name}: {error.message}\n")
        self.reply(error.status(), error.body(self.server.engine.version).encode(), {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": str(error.code),
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": "UTC",
        })

    def answer_query(self, params, body, readonly_request, query_id):
        query = params.get("query", "")
        # ClickHouse's rule: the `query` parameter, a newline, then the body.
        sql = (query.encode() + b"\n" if query else b"") + body
        if not sql.strip():
            raise ClickHouseError(62, "SYNTAX_ERROR", "Empty query")
        database = self.headers.get("X-ClickHouse-Database") or params.get("database") or "default"
        settings = {}
        for name, value in params.items():
            if name in HTTP_PARAMS or name in IGNORED_PARAMS or name.startswith("param_"):
                continue
            if not SETTING_NAME.match(name):
                raise ClickHouseError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
            settings[name] = value
        # A GET can only read, as in ClickHouse; `readonly` goes last so that
        # it does not forbid the request's other settings.
        readonly = settings.pop("readonly", "0")
        if readonly_request and readonly in ("0", ""):
            readonly = "2"
        if readonly not in ("0", ""):
            settings["readonly"] = readonly
        query_params = {k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")}
        fmt = params.get("default_format") or "TabSeparated"
        result, summary = self.server.engine.run(sql, database, settings, query_params, fmt)
        if not INSERT_WITH_DATA.match(sql):
            trailing = TRAILING_FORMAT.search(sql.decode(errors="replace"))
            fmt = trailing.group(1) if trailing else fmt
        keys = ("read_rows", "read_bytes", "written_rows", "written_bytes",
                "total_rows_to_read", "result_rows", "result_bytes", "elapsed_ns")
        self.reply(200, result, {
            "Content-Type": content_type(fmt),
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Timezone": "UTC",
            "X-ClickHouse-Summary": json.dumps({k: str(summary.get(k, 0)) for k in keys},
                                               separators=(",", ":")),
        })

    def authenticate(self, params):
        """Checks the credentials ClickHouse would take: X-ClickHouse-User/Key
        headers, else HTTP Basic auth, else the user/password parameters."""
        expected = self.server.credentials
        if expected is None:
            return
        user = self.headers.get("X-ClickHouse-User")
        password = self.headers.get("X-ClickHouse-Key")
        if user is None and password is None:
            auth = self.headers.get("Authorization", "")
            if auth[:6].lower() == "basic ":
                try:
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    user = password = None
            else:
                user, password = params.get("user"), params.get("password")
        user, password = user or "default", password or ""
        if not (hmac.compare_digest(user.encode(), expected[0].encode())
                and hmac.compare_digest(password.encode(), expected[1].encode())):
            raise ClickHouseError(516, "AUTHENTICATION_FAILED", f"{user}: Authentication failed: "
                                  "password is incorrect, or there is no user with such name")

    def refuse_compression(self, params):
        """ClickHouse's own LZ4 block compression (compress=1, decompress=1)
        and compressed request bodies are not implemented here: a client must
        be configured without compression."""
        for name in ("compress", "decompress"):
            if params.get(name, "0") not in ("0", ""):
                raise ClickHouseError(48, "NOT_IMPLEMENTED", f"The ClickHouse test front does not "
                                      f"support {name}=1 (native LZ4 compression); configure the "
                                      "client without compression")
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ClickHouseError(48, "NOT_IMPLEMENTED", "The ClickHouse test front does not "
                                  f"support Content-Encoding: {encoding}; send the body uncompressed")

    def read_body(self):
        """The request body, by Content-Length or chunked (the Rust client's
        inserts are chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline(1 << 16).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1 << 16) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(1 << 16)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def form_fields(self, body):
        """The fields of a multipart/form-data body: the Rust client sends the
        SQL as `query` and server-side parameters as `param_<name>` this way."""
        boundary = self.headers.get_param("boundary")
        if not boundary:
            raise ClickHouseError(36, "BAD_ARGUMENTS", "multipart/form-data without a boundary")
        fields = {}
        for part in body.split(b"--" + boundary.encode())[1:]:
            if part.startswith(b"--"):
                break
            head, _, value = part.partition(b"\r\n\r\n")
            name = re.search(rb'\bname="([^"]*)"', head)
            if not name or b"filename=" in head:
                raise ClickHouseError(48, "NOT_IMPLEMENTED", "The ClickHouse test front takes only "
                                      "named text fields in multipart/form-data (no external tables)")
            fields[name.group(1).decode()] = value.removesuffix(b"\r\n").decode()
        return fields

    def reply(self, status, body, headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def stop(*_):
    """SIGTERM and SIGINT end serve_forever (SIGINT explicitly: a shell
    starts background jobs with it ignored)."""
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--path", help="data directory (default: a temporary one, removed at exit)")
    parser.add_argument("--user", help="require this user (and --password) on every query")
    parser.add_argument("--password", help="the password of --user")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate chain (needs --tls-key)")
    parser.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    args = parser.parse_args()

    tmp = None if args.path else tempfile.mkdtemp(prefix="clickhouse-front-")
    server = None
    engine = Engine(args.path or tmp)
    try:
        server = ThreadingHTTPServer((args.host, args.port), Handler)
        if args.tls_cert:
            # HTTPS like a ClickHouse server's `https_port`.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.tls_cert, args.tls_key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        server.engine = engine
        server.credentials = None
        if args.user is not None or args.password is not None:
            server.credentials = (args.user or "default", args.password or "")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        host, port = server.server_address[:2]
        print(f"listening on {host}:{port}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.server_close()
        engine.close()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
