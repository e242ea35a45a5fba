"""Sends traces and logs through the OpenTelemetry Python SDK and its real
OTLP/HTTP exporters without pause, and records every item whose export the
server acknowledged, while the server is being killed and restarted under
it (the crash test of tests/tests/crash_recovery.rs).

    crash_sender.py --endpoint http://127.0.0.1:4318 --acked acked.txt \
                    --stop stop.flag

One line per acknowledged item goes to --acked, written and flushed right
after the export returned SUCCESS: `trace <trace id hex>` or
`log <trace id hex>`. Exports that fail (the server is down) are counted,
not recorded: the exporter's own retries run first, so a failure means the
server never acknowledged the batch. Stops when the --stop file appears.
"""

import argparse
import os
import sys
import time

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)


class Ledger:
    """The file of acknowledged items, and counts for the summary line."""

    def __init__(self, path):
        self.file = open(path, "a", buffering=1)
        self.acked = 0
        self.failed = 0

    def record(self, kind, trace_ids):
        for trace_id in trace_ids:
            self.file.write(f"{kind} {trace_id:032x}\n")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.acked += len(trace_ids)


class RecordingSpanExporter(SpanExporter):
    def __init__(self, inner, ledger):
        self.inner = inner
        self.ledger = ledger

    def export(self, spans):
        result = self.inner.export(spans)
        if result == SpanExportResult.SUCCESS:
            self.ledger.record("trace", [s.context.trace_id for s in spans])
        else:
            self.ledger.failed += len(spans)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


class RecordingLogExporter(LogRecordExporter):
    def __init__(self, inner, ledger):
        self.inner = inner
        self.ledger = ledger

    def export(self, batch):
        result = self.inner.export(batch)
        if result == LogRecordExportResult.SUCCESS:
            self.ledger.record(
                "log", [r.log_record.trace_id for r in batch]
            )
        else:
            self.ledger.failed += len(batch)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--acked", required=True)
    ap.add_argument("--stop", required=True)
    args = ap.parse_args()

    ledger = Ledger(args.acked)
    resource = Resource.create({"service.name": "crash-client"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(
            RecordingSpanExporter(
                OTLPSpanExporter(endpoint=f"{args.endpoint}/v1/traces", timeout=15),
                ledger,
            )
        )
    )
    tracer = tracer_provider.get_tracer("crash-client")
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(
            RecordingLogExporter(
                OTLPLogExporter(endpoint=f"{args.endpoint}/v1/logs", timeout=15),
                ledger,
            )
        )
    )
    logger = logger_provider.get_logger("crash-client")

    n = 0
    while not os.path.exists(args.stop):
        n += 1
        with tracer.start_as_current_span(f"work {n}") as span:
            span.set_attribute("crash.seq", n)
            logger.emit(
                body=f"log of work {n}",
                severity_number=SeverityNumber.INFO,
                severity_text="INFO",
            )
    tracer_provider.shutdown()
    logger_provider.shutdown()
    print(f"sent {n} traces; acknowledged {ledger.acked} items, failed {ledger.failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
