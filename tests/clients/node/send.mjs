// Sends known traces, logs and metrics to an OTLP/HTTP endpoint through the
// OpenTelemetry JS SDK and its real OTLP/HTTP JSON exporters, then writes a
// JSON manifest of exactly what was sent (see tests/clients/README.md).
//
//   node send.mjs --endpoint http://127.0.0.1:4318 --service node-json [--out manifest.json]
//
// Every provider is shut down (which flushes it) before the manifest is
// written, and every export is checked: the program exits non-zero if any
// export failed, so a caller never compares against data that was not sent.

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  ValueType,
  createTraceState,
  trace,
} from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const SCOPE_NAME = 'sightline.sdk-client';
const SCOPE_VERSION = '0.1.0';
const MS = 1_000_000n;

// ---- the manifest's value shapes (OTLP/JSON, as sightline's API answers) ----

/** A JS value in OTLP/JSON's AnyValue shape, by the JS transformer's rules. */
function otlpValue(v) {
  if (v === null || v === undefined) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  }
  if (typeof v === 'boolean') return { boolValue: v };
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(otlpValue) } };
  if (typeof v === 'object') return { kvlistValue: { values: otlpAttributes(v) } };
  throw new Error(`no OTLP shape for ${typeof v}`);
}

function otlpAttributes(attrs) {
  return Object.entries(attrs ?? {}).map(([key, value]) => ({ key, value: otlpValue(value) }));
}

/** Nanoseconds (BigInt) → the SDK's [seconds, nanoseconds] time. */
function hr(ns) {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

function numberValue(v, isInt) {
  return isInt ? { asInt: String(v) } : { asDouble: v };
}

// ---- exporters that remember whether every export succeeded ----------------

const exports = { ok: { traces: 0, logs: 0, metrics: 0 }, failed: [] };

function checked(inner, signal) {
  const wrapper = {
    export(items, done) {
      inner.export(items, (result) => {
        if (result.code === 0) {
          exports.ok[signal] += 1;
        } else {
          exports.failed.push(`${signal}: ${result.error ?? 'export failed'}`);
        }
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush(),
  };
  if (inner.selectAggregationTemporality) {
    wrapper.selectAggregationTemporality = (t) => inner.selectAggregationTemporality(t);
  }
  if (inner.selectAggregation) {
    wrapper.selectAggregation = (t) => inner.selectAggregation(t);
  }
  return wrapper;
}

// ---- what is sent -----------------------------------------------------------

function sendTraces(provider, base) {
  const tracer = provider.getTracer(SCOPE_NAME, SCOPE_VERSION);
  const byTrace = new Map();
  const record = (span, parentId, kind, name, start, end, attributes, events, links, status) => {
    const ctx = span.spanContext();
    if (!byTrace.has(ctx.traceId)) byTrace.set(ctx.traceId, []);
    byTrace.get(ctx.traceId).push({
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      parentSpanId: parentId,
      traceState: ctx.traceState ? ctx.traceState.serialize() : '',
      name,
      kind,
      startTime: String(start),
      endTime: String(end),
      attributes: otlpAttributes(attributes),
      events: events.map(([n, t, a]) => ({ name: n, time: String(t), attributes: otlpAttributes(a) })),
      links,
      status,
      droppedAttributesCount: span.droppedAttributesCount,
      droppedEventsCount: span.droppedEventsCount,
      droppedLinksCount: span.droppedLinksCount,
    });
  };

  // Trace B: a consumer span continuing a remote parent that carries a trace state.
  const remote = {
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('sightline=t61rcWkgMzE,other=1'),
  };
  const bAttrs = { 'messaging.system': 'kafka', 'messaging.batch.message_count': 2 };
  const consume = tracer.startSpan(
    'consume orders',
    { kind: SpanKind.CONSUMER, attributes: bAttrs, startTime: hr(base) },
    trace.setSpanContext(ROOT_CONTEXT, remote),
  );
  consume.end(hr(base + 4n * MS));
  record(consume, remote.spanId, 'consumer', 'consume orders', base, base + 4n * MS, bAttrs, [], [],
    { code: 'unset', message: '' });
  const consumeCtx = consume.spanContext();

  // Trace A: server root → client child → internal grandchild with an error; a producer child.
  const rootAttrs = {
    'http.request.method': 'GET',
    'http.response.status_code': 200,
    'sightline.ratio': 0.25,
    'sightline.cached': true,
    'sightline.tags': ['a', 'b', 'c'],
    'sightline.ints': [1, 2, 3],
    'sightline.doubles': [1.5, -2.25],
    'sightline.bools': [true, false],
    'sightline.unicode': 'grüße ✓',
    'sightline.empty': '',
  };
  const rootEvents = [['request.received', base + 1n * MS, { bytes: 512, path: '/checkout' }]];
  const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, attributes: rootAttrs, startTime: hr(base) });
  for (const [n, t, a] of rootEvents) root.addEvent(n, a, hr(t));
  root.setStatus({ code: SpanStatusCode.OK });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const rootId = root.spanContext().spanId;

  const linkAttrs = { 'link.reason': 'batched', 'link.index': 0 };
  const childAttrs = { 'db.system.name': 'postgresql', 'db.response.returned_rows': 3 };
  const child = tracer.startSpan('SELECT cart', {
    kind: SpanKind.CLIENT,
    attributes: childAttrs,
    links: [{ context: consumeCtx, attributes: linkAttrs }],
    startTime: hr(base + 5n * MS),
  }, rootCtx);
  const childId = child.spanContext().spanId;
  const grandAttrs = { 'payment.amount': 12.5, 'payment.currency': 'EUR' };
  const grandEvents = [
    ['exception', base + 30n * MS, { 'exception.type': 'CardDeclined', 'exception.message': 'card declined' }],
    ['retry', base + 35n * MS, { attempt: 2, final: true }],
  ];
  const grand = tracer.startSpan('charge card', {
    kind: SpanKind.INTERNAL,
    attributes: grandAttrs,
    startTime: hr(base + 21n * MS),
  }, trace.setSpan(ROOT_CONTEXT, child));
  for (const [n, t, a] of grandEvents) grand.addEvent(n, a, hr(t));
  grand.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  grand.end(hr(base + 40n * MS));
  child.end(hr(base + 45n * MS));

  const producerAttrs = { 'messaging.destination.name': 'orders' };
  const producer = tracer.startSpan('publish order', {
    kind: SpanKind.PRODUCER,
    attributes: producerAttrs,
    startTime: hr(base + 46n * MS),
  }, rootCtx);
  producer.end(hr(base + 48n * MS));
  root.end(hr(base + 50n * MS));

  const unset = { code: 'unset', message: '' };
  record(root, null, 'server', 'GET /checkout', base, base + 50n * MS, rootAttrs, rootEvents, [],
    { code: 'ok', message: '' });
  record(child, rootId, 'client', 'SELECT cart', base + 5n * MS, base + 45n * MS, childAttrs, [], [{
    traceId: consumeCtx.traceId,
    spanId: consumeCtx.spanId,
    traceState: consumeCtx.traceState ? consumeCtx.traceState.serialize() : '',
    attributes: otlpAttributes(linkAttrs),
  }], unset);
  record(grand, childId, 'internal', 'charge card', base + 21n * MS, base + 40n * MS, grandAttrs, grandEvents, [],
    { code: 'error', message: 'card declined' });
  record(producer, rootId, 'producer', 'publish order', base + 46n * MS, base + 48n * MS, producerAttrs, [], [], unset);

  const traces = [...byTrace].map(([traceId, spans]) => ({ traceId, spans }));
  return { traces, root, grand };
}

function sendLogs(provider, base, root, grand) {
  const logger = provider.getLogger(SCOPE_NAME, SCOPE_VERSION);
  const records = [
    { time: base + 2n * MS, severity: SeverityNumber.INFO, text: 'INFO', body: 'order accepted',
      attributes: { 'order.id': 'o-1', 'order.items': 3 }, span: root },
    { time: base + 3n * MS, severity: SeverityNumber.WARN, text: 'WARN', body: 'stock low: grüße ✓',
      attributes: { sku: ['a-1', 'b-2'], 'stock.ratio': 0.1, 'stock.blob': new Uint8Array([0, 1, 0xfe, 0xff]),
        'stock.where': { aisle: 4, shelf: 'top' } } },
    { time: base + 31n * MS, severity: SeverityNumber.ERROR, text: 'ERROR',
      body: { code: 402, reason: 'card declined', retry: true },
      attributes: { retryable: false, amount: 12.5 }, span: grand, eventName: 'payment.failed' },
    { time: base + 32n * MS, severity: SeverityNumber.DEBUG2, text: 'DEBUG2', body: new Uint8Array([0, 1, 2, 0xff]),
      attributes: {} },
    { time: base + 33n * MS, severity: SeverityNumber.FATAL, text: 'FATAL', body: ['x', 1, 2.5, false],
      attributes: { n: -7 }, span: grand },
  ];
  return records.map((r) => {
    const observed = r.time + 1000n;
    logger.emit({
      timestamp: hr(r.time),
      observedTimestamp: hr(observed),
      context: r.span ? trace.setSpan(ROOT_CONTEXT, r.span) : ROOT_CONTEXT,
      severityNumber: r.severity,
      severityText: r.text,
      body: r.body,
      attributes: r.attributes,
      eventName: r.eventName,
    });
    const sc = r.span ? r.span.spanContext() : null;
    const entry = {
      time: String(r.time),
      observedTime: String(observed),
      severityNumber: r.severity,
      severityText: r.text,
      body: otlpValue(r.body),
      attributes: otlpAttributes(r.attributes),
      eventName: r.eventName ?? '',
      flags: sc ? sc.traceFlags : 0,
    };
    if (sc) {
      entry.traceId = sc.traceId;
      entry.spanId = sc.spanId;
    }
    return entry;
  });
}

/** count, sum, min, max and bucket counts by OTLP's rule: bucket i holds (bounds[i-1], bounds[i]]. */
function histogramExpectation(values, bounds) {
  const counts = new Array(bounds.length + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < bounds.length && v > bounds[i]) i += 1;
    counts[i] += 1;
  }
  return {
    count: String(values.length),
    sum: values.reduce((a, b) => a + b, 0),
    min: Math.min(...values),
    max: Math.max(...values),
    bucketCounts: counts.map(String),
    explicitBounds: bounds,
  };
}

/** A sum or gauge's manifest: one series per attribute set, its expected value folded from the ops. */
function numberMetric(name, unit, description, kind, isMonotonic, isInt, ops, fold) {
  const series = new Map();
  for (const [v, a] of ops) {
    const key = JSON.stringify(Object.entries(a).sort());
    if (!series.has(key)) series.set(key, [a, []]);
    series.get(key)[1].push(v);
  }
  return {
    name, unit, description, kind,
    temporality: kind === 'sum' ? 'cumulative' : 'unspecified',
    isMonotonic,
    series: [...series.values()].map(([a, vs]) => ({ attributes: otlpAttributes(a), value: numberValue(fold(vs), isInt) })),
  };
}

function sendMetrics(provider) {
  const meter = provider.getMeter(SCOPE_NAME, SCOPE_VERSION);
  const metrics = [];
  const sum = (vs) => vs.reduce((a, b) => a + b, 0);

  const counter = meter.createCounter('sightline.test.requests',
    { unit: '{request}', description: 'requests handled', valueType: ValueType.INT });
  const cOps = [[1, { 'http.route': '/checkout', 'http.response.status_code': 200 }],
    [2, { 'http.route': '/checkout', 'http.response.status_code': 200 }],
    [5, { 'http.route': '/cart', 'http.response.status_code': 500 }]];
  for (const [v, a] of cOps) counter.add(v, a);
  metrics.push(numberMetric('sightline.test.requests', '{request}', 'requests handled', 'sum', true, true, cOps, sum));

  const updown = meter.createUpDownCounter('sightline.test.queue.depth',
    { unit: '{item}', description: 'items queued', valueType: ValueType.INT });
  const uOps = [[10, { queue: 'orders' }], [-3, { queue: 'orders' }], [4, { queue: 'refunds', sharded: true }]];
  for (const [v, a] of uOps) updown.add(v, a);
  metrics.push(numberMetric('sightline.test.queue.depth', '{item}', 'items queued', 'sum', false, true, uOps, sum));

  const gauge = meter.createGauge('sightline.test.temperature',
    { unit: 'Cel', description: 'room temperature', valueType: ValueType.DOUBLE });
  const gOps = [[21.5, { room: 'a' }], [23.25, { room: 'a' }], [19.75, { room: 'b', floor: 2 }]];
  for (const [v, a] of gOps) gauge.record(v, a);
  metrics.push(numberMetric('sightline.test.temperature', 'Cel', 'room temperature', 'gauge', false, false, gOps,
    (vs) => vs[vs.length - 1]));

  const bounds = [5, 10, 25, 50, 100];
  const hist = meter.createHistogram('sightline.test.latency',
    { unit: 'ms', description: 'request latency', advice: { explicitBucketBoundaries: bounds } });
  const hSeries = [[{ 'http.route': '/checkout' }, [3, 7, 7, 12, 30, 99, 250]],
    [{ 'http.route': '/cart' }, [0.5, 5, 5.5, 100]]];
  for (const [a, vs] of hSeries) for (const v of vs) hist.record(v, a);
  metrics.push({
    name: 'sightline.test.latency', unit: 'ms', description: 'request latency',
    kind: 'histogram', temporality: 'cumulative', isMonotonic: false,
    series: hSeries.map(([a, vs]) => ({ attributes: otlpAttributes(a), histogram: histogramExpectation(vs, bounds) })),
  });
  return metrics;
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      endpoint: { type: 'string' },
      service: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (!args.endpoint || !args.service) {
    console.error('usage: node send.mjs --endpoint http://host:port --service NAME [--out manifest.json]');
    return 2;
  }
  const base = args.endpoint.replace(/\/+$/, '');
  const resourceAttrs = {
    'service.name': args.service,
    'service.version': '1.2.3',
    'deployment.environment.name': 'test',
    'sightline.test.run': randomBytes(8).toString('hex'),
    'host.cpu.count': 2,
  };
  const resource = resourceFromAttributes(resourceAttrs);
  const timeoutMillis = 10_000;

  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(checked(new OTLPTraceExporter({ url: `${base}/v1/traces`, timeoutMillis }), 'traces'))],
  });
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({
      exporter: checked(new OTLPLogExporter({ url: `${base}/v1/logs`, timeoutMillis }), 'logs'),
    })],
  });
  // The interval is never reached: the one collection happens at shutdown,
  // so each series has exactly one point.
  const meterProvider = new MeterProvider({
    resource,
    readers: [new PeriodicExportingMetricReader({
      exporter: checked(new OTLPMetricExporter({ url: `${base}/v1/metrics`, timeoutMillis }), 'metrics'),
      exportIntervalMillis: 3_600_000,
      exportTimeoutMillis: timeoutMillis,
    })],
  });

  // Recent, millisecond-aligned times: the exact values are in the manifest.
  const baseNs = (BigInt(Date.now()) - 60_000n) * MS;
  const { traces, root, grand } = sendTraces(tracerProvider, baseNs);
  const logs = sendLogs(loggerProvider, baseNs, root, grand);
  const metrics = sendMetrics(meterProvider);

  await tracerProvider.shutdown();
  await loggerProvider.shutdown();
  await meterProvider.shutdown();

  if (exports.failed.length > 0 || Object.values(exports.ok).some((n) => n === 0)) {
    console.error(`error: exports failed or missing: ${JSON.stringify(exports)}`);
    return 1;
  }
  const sdkVersion = JSON.parse(
    readFileSync(new URL('./node_modules/@opentelemetry/sdk-trace-base/package.json', import.meta.url)),
  ).version;
  const manifest = {
    client: `opentelemetry-js ${sdkVersion}`,
    protocol: 'http/json',
    compression: 'none',
    service: args.service,
    resource: otlpAttributes(resourceAttrs),
    scope: { name: SCOPE_NAME, version: SCOPE_VERSION },
    exports: exports.ok,
    traces,
    logs,
    metrics,
  };
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  if (args.out) {
    writeFileSync(args.out, text);
  } else {
    process.stdout.write(text);
  }
  return 0;
}

process.exitCode = await main();
