"""Sends known traces, logs and metrics to an OTLP endpoint through the
OpenTelemetry Python SDK and its real OTLP exporters, then writes a JSON
manifest of exactly what was sent (see tests/clients/README.md).

    send.py --protocol grpc|http/protobuf --endpoint http://127.0.0.1:4317 \
            --service py-grpc [--compression none|gzip] [--out manifest.json]

An https:// endpoint uses TLS, trusting OTEL_EXPORTER_OTLP_CERTIFICATE when set;
OTEL_EXPORTER_OTLP_HEADERS (e.g. Authorization=Bearer%20<token>) is sent with
every export. Both are read by the exporters themselves.

Every provider is shut down (which flushes it) before the manifest is
written, and every export is checked: the program exits non-zero if any
export failed, so a caller never compares against data that was not sent.
"""

import argparse
import base64
import json
import math
import random
import sys
import time

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.version import __version__ as SDK_VERSION
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

SCOPE_NAME = "sightline.sdk-client"
SCOPE_VERSION = "0.1.0"
MS = 1_000_000


# ---- the manifest's value shapes (OTLP/JSON, as sightline's API answers) ----


def otlp_value(v):
    """A Python value in OTLP/JSON's AnyValue shape, by the SDK encoder's rules."""
    if v is None:
        return {}
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, bytes):
        return {"bytesValue": base64.b64encode(v).decode("ascii")}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [otlp_value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": otlp_attributes(v)}}
    raise TypeError(f"no OTLP shape for {type(v)}")


def otlp_attributes(attrs):
    return [{"key": k, "value": otlp_value(v)} for k, v in (attrs or {}).items()]


def hex_trace_id(n):
    return format(n, "032x")


def hex_span_id(n):
    return format(n, "016x")


def number_value(v):
    return {"asInt": str(v)} if isinstance(v, int) else {"asDouble": v}


# ---- exporters that remember whether every export succeeded ----------------


class Exports:
    """Counts exports and their failures per signal."""

    def __init__(self):
        self.ok = {"traces": 0, "logs": 0, "metrics": 0}
        self.failed = []

    def note(self, signal, success, n):
        if success:
            self.ok[signal] += 1
        else:
            self.failed.append(f"{signal}: an export of {n} items failed")


class CheckedSpanExporter(SpanExporter):
    def __init__(self, inner, exports):
        self.inner, self.exports = inner, exports

    def export(self, spans):
        result = self.inner.export(spans)
        self.exports.note("traces", result == SpanExportResult.SUCCESS, len(spans))
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


class CheckedLogExporter(LogRecordExporter):
    def __init__(self, inner, exports):
        self.inner, self.exports = inner, exports

    def export(self, batch):
        result = self.inner.export(batch)
        self.exports.note("logs", result == LogRecordExportResult.SUCCESS, len(batch))
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


class CheckedMetricExporter(MetricExporter):
    def __init__(self, inner, exports):
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner, self.exports = inner, exports

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        n = sum(
            len(m.data.data_points)
            for rm in metrics_data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        )
        self.exports.note("metrics", result == MetricExportResult.SUCCESS, n)
        return result

    def force_flush(self, timeout_millis=10_000):
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis=30_000, **kwargs):
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def make_exporters(protocol, endpoint, compression):
    """The three OTLP exporters of the chosen protocol."""
    if protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        comp = Compression.Gzip if compression == "gzip" else Compression.NoCompression
        # Plain text for http://, TLS for https:// (trusting OTEL_EXPORTER_OTLP_CERTIFICATE);
        # headers such as a bearer token come from OTEL_EXPORTER_OTLP_HEADERS.
        insecure = endpoint.startswith("http://")
        kw = {"endpoint": endpoint, "insecure": insecure, "compression": comp, "timeout": 10}
        return OTLPSpanExporter(**kw), OTLPLogExporter(**kw), OTLPMetricExporter(**kw)
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        comp = Compression.Gzip if compression == "gzip" else Compression.NoCompression
        base = endpoint.rstrip("/")
        kw = {"compression": comp, "timeout": 10}
        return (
            OTLPSpanExporter(endpoint=f"{base}/v1/traces", **kw),
            OTLPLogExporter(endpoint=f"{base}/v1/logs", **kw),
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics", **kw),
        )
    raise SystemExit(f"unknown protocol {protocol!r}")


# ---- what is sent -----------------------------------------------------------


def send_traces(provider, base):
    """Two traces; returns their manifest entries and the span contexts logs refer to."""
    tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)
    manifest_spans = {}

    def record(span, parent_id, kind, name, start, end, attributes, events, links, status):
        ctx = span.get_span_context()
        manifest_spans.setdefault(hex_trace_id(ctx.trace_id), []).append(
            {
                "traceId": hex_trace_id(ctx.trace_id),
                "spanId": hex_span_id(ctx.span_id),
                "parentSpanId": parent_id,
                "traceState": ctx.trace_state.to_header(),
                "name": name,
                "kind": kind,
                "startTime": str(start),
                "endTime": str(end),
                "attributes": otlp_attributes(attributes),
                "events": [
                    {"name": n, "time": str(t), "attributes": otlp_attributes(a)} for n, t, a in events
                ],
                "links": links,
                "status": status,
                "droppedAttributesCount": span.dropped_attributes,
                "droppedEventsCount": span.dropped_events,
                "droppedLinksCount": span.dropped_links,
            }
        )

    # Trace B: a consumer span continuing a remote parent that carries a trace state.
    remote = SpanContext(
        trace_id=random.getrandbits(128) | 1,
        span_id=random.getrandbits(64) | 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("sightline", "t61rcWkgMzE"), ("other", "1")]),
    )
    b_attrs = {"messaging.system": "kafka", "messaging.batch.message_count": 2}
    consume = tracer.start_span(
        "consume orders",
        context=trace.set_span_in_context(NonRecordingSpan(remote)),
        kind=SpanKind.CONSUMER,
        attributes=b_attrs,
        start_time=base,
    )
    consume.end(end_time=base + 4 * MS)
    record(consume, hex_span_id(remote.span_id), "consumer", "consume orders", base, base + 4 * MS,
           b_attrs, [], [], {"code": "unset", "message": ""})
    consume_ctx = consume.get_span_context()

    # Trace A: server root → client child → internal grandchild with an error; a producer child.
    root_attrs = {
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "sightline.ratio": 0.25,
        "sightline.cached": True,
        "sightline.tags": ["a", "b", "c"],
        "sightline.ints": [1, 2, 3],
        "sightline.doubles": [1.5, -2.25],
        "sightline.bools": [True, False],
        "sightline.unicode": "grüße ✓",
        "sightline.empty": "",
    }
    root_events = [("request.received", base + 1 * MS, {"bytes": 512, "path": "/checkout"})]
    root = tracer.start_span("GET /checkout", kind=SpanKind.SERVER, attributes=root_attrs, start_time=base)
    for n, t, a in root_events:
        root.add_event(n, a, timestamp=t)
    root.set_status(Status(StatusCode.OK))
    root_ctx = trace.set_span_in_context(root)
    root_id = hex_span_id(root.get_span_context().span_id)

    link_attrs = {"link.reason": "batched", "link.index": 0}
    child_attrs = {"db.system.name": "postgresql", "db.response.returned_rows": 3}
    child = tracer.start_span(
        "SELECT cart",
        context=root_ctx,
        kind=SpanKind.CLIENT,
        attributes=child_attrs,
        links=[Link(consume_ctx, link_attrs)],
        start_time=base + 5 * MS,
    )
    child_id = hex_span_id(child.get_span_context().span_id)
    grand_attrs = {"payment.amount": 12.5, "payment.currency": "EUR"}
    grand_events = [
        ("exception", base + 30 * MS, {"exception.type": "CardDeclined", "exception.message": "card declined"}),
        ("retry", base + 35 * MS, {"attempt": 2, "final": True}),
    ]
    grand = tracer.start_span(
        "charge card",
        context=trace.set_span_in_context(child),
        kind=SpanKind.INTERNAL,
        attributes=grand_attrs,
        start_time=base + 21 * MS,
    )
    for n, t, a in grand_events:
        grand.add_event(n, a, timestamp=t)
    grand.set_status(Status(StatusCode.ERROR, "card declined"))
    grand.end(end_time=base + 40 * MS)
    child.end(end_time=base + 45 * MS)

    producer_attrs = {"messaging.destination.name": "orders"}
    producer = tracer.start_span(
        "publish order",
        context=root_ctx,
        kind=SpanKind.PRODUCER,
        attributes=producer_attrs,
        start_time=base + 46 * MS,
    )
    producer.end(end_time=base + 48 * MS)
    root.end(end_time=base + 50 * MS)

    record(root, None, "server", "GET /checkout", base, base + 50 * MS, root_attrs, root_events, [],
           {"code": "ok", "message": ""})
    record(child, root_id, "client", "SELECT cart", base + 5 * MS, base + 45 * MS, child_attrs, [],
           [{
               "traceId": hex_trace_id(consume_ctx.trace_id),
               "spanId": hex_span_id(consume_ctx.span_id),
               # This exporter does not send a link's trace state (the span's own it does).
               "traceState": "",
               "attributes": otlp_attributes(link_attrs),
           }],
           {"code": "unset", "message": ""})
    record(grand, child_id, "internal", "charge card", base + 21 * MS, base + 40 * MS, grand_attrs,
           grand_events, [], {"code": "error", "message": "card declined"})
    record(producer, root_id, "producer", "publish order", base + 46 * MS, base + 48 * MS,
           producer_attrs, [], [], {"code": "unset", "message": ""})

    traces = [{"traceId": tid, "spans": spans} for tid, spans in manifest_spans.items()]
    return traces, root, grand


def send_logs(provider, base, root, grand):
    logger = provider.get_logger(SCOPE_NAME, SCOPE_VERSION)
    records = [
        dict(time=base + 2 * MS, severity=SeverityNumber.INFO, text="INFO", body="order accepted",
             attributes={"order.id": "o-1", "order.items": 3}, span=root, event_name=None),
        dict(time=base + 3 * MS, severity=SeverityNumber.WARN, text="WARN", body="stock low: grüße ✓",
             attributes={"sku": ["a-1", "b-2"], "stock.ratio": 0.1, "stock.blob": b"\x00\x01\xfe\xff",
                         "stock.where": {"aisle": 4, "shelf": "top"}},
             span=None, event_name=None),
        dict(time=base + 31 * MS, severity=SeverityNumber.ERROR, text="ERROR",
             body={"code": 402, "reason": "card declined", "retry": True},
             attributes={"retryable": False, "amount": 12.5}, span=grand, event_name="payment.failed"),
        dict(time=base + 32 * MS, severity=SeverityNumber.DEBUG2, text="DEBUG2", body=b"\x00\x01\x02\xff",
             attributes={}, span=None, event_name=None),
        dict(time=base + 33 * MS, severity=SeverityNumber.FATAL, text="FATAL", body=["x", 1, 2.5, False],
             attributes={"n": -7}, span=grand, event_name=None),
    ]
    manifest = []
    for r in records:
        ctx = trace.set_span_in_context(r["span"]) if r["span"] is not None else Context()
        observed = r["time"] + 1000
        logger.emit(
            timestamp=r["time"],
            observed_timestamp=observed,
            context=ctx,
            severity_number=r["severity"],
            severity_text=r["text"],
            body=r["body"],
            attributes=r["attributes"],
            event_name=r["event_name"],
        )
        sc = r["span"].get_span_context() if r["span"] is not None else None
        entry = {
            "time": str(r["time"]),
            "observedTime": str(observed),
            "severityNumber": int(r["severity"].value),
            "severityText": r["text"],
            "body": otlp_value(r["body"]),
            "attributes": otlp_attributes(r["attributes"]),
            "eventName": r["event_name"] or "",
        }
        if sc is not None:
            entry["traceId"] = hex_trace_id(sc.trace_id)
            entry["spanId"] = hex_span_id(sc.span_id)
            entry["flags"] = int(sc.trace_flags)
        else:
            entry["flags"] = 0
        manifest.append(entry)
    return manifest


def histogram_expectation(values, bounds):
    """count, sum, min, max and bucket counts by OTLP's rule: bucket i holds (bounds[i-1], bounds[i]]."""
    counts = [0] * (len(bounds) + 1)
    for v in values:
        i = 0
        while i < len(bounds) and v > bounds[i]:
            i += 1
        counts[i] += 1
    return {
        "count": str(len(values)),
        "sum": float(sum(values)),
        "min": float(min(values)),
        "max": float(max(values)),
        "bucketCounts": [str(c) for c in counts],
        "explicitBounds": [float(b) for b in bounds],
    }


def send_metrics(provider):
    meter = provider.get_meter(SCOPE_NAME, SCOPE_VERSION)
    metrics = []

    counter = meter.create_counter("sightline.test.requests", unit="{request}", description="requests handled")
    c_ops = [(1, {"http.route": "/checkout", "http.response.status_code": 200}),
             (2, {"http.route": "/checkout", "http.response.status_code": 200}),
             (5, {"http.route": "/cart", "http.response.status_code": 500})]
    for v, a in c_ops:
        counter.add(v, a)
    metrics.append(number_metric("sightline.test.requests", "{request}", "requests handled", "sum", True,
                                 c_ops, lambda vs: sum(vs)))

    updown = meter.create_up_down_counter("sightline.test.queue.depth", unit="{item}", description="items queued")
    u_ops = [(10, {"queue": "orders"}), (-3, {"queue": "orders"}), (4, {"queue": "refunds", "sharded": True})]
    for v, a in u_ops:
        updown.add(v, a)
    metrics.append(number_metric("sightline.test.queue.depth", "{item}", "items queued", "sum", False,
                                 u_ops, lambda vs: sum(vs)))

    gauge = meter.create_gauge("sightline.test.temperature", unit="Cel", description="room temperature")
    g_ops = [(21.5, {"room": "a"}), (23.25, {"room": "a"}), (19.75, {"room": "b", "floor": 2})]
    for v, a in g_ops:
        gauge.set(v, a)
    metrics.append(number_metric("sightline.test.temperature", "Cel", "room temperature", "gauge", False,
                                 g_ops, lambda vs: vs[-1]))

    bounds = [5.0, 10.0, 25.0, 50.0, 100.0]
    hist = meter.create_histogram("sightline.test.latency", unit="ms", description="request latency",
                                  explicit_bucket_boundaries_advisory=bounds)
    h_series = [({"http.route": "/checkout"}, [3, 7, 7, 12, 30, 99, 250]),
                ({"http.route": "/cart"}, [0.5, 5, 5.5, 100])]
    for attrs, values in h_series:
        for v in values:
            hist.record(v, attrs)
    metrics.append({
        "name": "sightline.test.latency", "unit": "ms", "description": "request latency",
        "kind": "histogram", "temporality": "cumulative", "isMonotonic": False,
        "series": [{"attributes": otlp_attributes(a), "histogram": histogram_expectation(vs, bounds)}
                   for a, vs in h_series],
    })
    return metrics


def number_metric(name, unit, description, kind, monotonic, ops, fold):
    """A sum or gauge's manifest: one series per attribute set, its expected value folded from the ops."""
    series = {}
    for v, a in ops:
        key = json.dumps(a, sort_keys=True)
        series.setdefault(key, (a, []))[1].append(v)
    return {
        "name": name, "unit": unit, "description": description, "kind": kind,
        "temporality": "cumulative" if kind == "sum" else "unspecified", "isMonotonic": monotonic,
        "series": [{"attributes": otlp_attributes(a), "value": number_value(fold(vs))}
                   for a, vs in series.values()],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protocol", choices=["grpc", "http/protobuf"], required=True)
    p.add_argument("--endpoint", required=True, help="http://host:port (the OTLP receiver's base URL)")
    p.add_argument("--service", required=True, help="service.name of this run")
    p.add_argument("--compression", choices=["none", "gzip"], default="none")
    p.add_argument("--out", help="write the manifest here instead of stdout")
    args = p.parse_args()

    run_id = f"{random.getrandbits(64):016x}"
    resource_attrs = {
        "service.name": args.service,
        "service.version": "1.2.3",
        "deployment.environment.name": "test",
        "sightline.test.run": run_id,
        "host.cpu.count": 2,
    }
    resource = Resource.create(resource_attrs)
    span_exp, log_exp, metric_exp = make_exporters(args.protocol, args.endpoint, args.compression)
    exports = Exports()

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(CheckedSpanExporter(span_exp, exports)))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(CheckedLogExporter(log_exp, exports)))
    # No periodic export: the one collection is the force_flush below, so each series has exactly one point.
    reader = PeriodicExportingMetricReader(CheckedMetricExporter(metric_exp, exports), export_interval_millis=math.inf)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])

    # Recent, millisecond-aligned times: the exact values are in the manifest.
    base = (time.time_ns() // MS - 60_000) * MS
    traces, root, grand = send_traces(tracer_provider, base)
    logs = send_logs(logger_provider, base, root, grand)
    metrics = send_metrics(meter_provider)

    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.force_flush()
    meter_provider.shutdown()

    if exports.failed or min(exports.ok.values()) == 0:
        print(f"error: exports failed or missing: ok={exports.ok} failed={exports.failed}", file=sys.stderr)
        return 1

    manifest = {
        "client": f"opentelemetry-python {SDK_VERSION}",
        "protocol": args.protocol,
        "compression": args.compression,
        "service": args.service,
        "resource": otlp_attributes(resource_attrs),
        "scope": {"name": SCOPE_NAME, "version": SCOPE_VERSION},
        "exports": exports.ok,
        "traces": traces,
        "logs": logs,
        "metrics": metrics,
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
