// The OpenTelemetry JS SDK's OTLP/HTTP trace exporter as a web page runs it:
// bundled for the browser by esbuild (tests/tests/browser_otlp_cors.rs), it
// sends from the page's origin to a receiver on another origin, so the
// browser's CORS rules apply to every request it makes.
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";

// Exports one span named `name` to `url`; resolves with the exporter's
// result ({ code: 0 } on success, 1 and the error otherwise).
window.sightlineExport = (url, name) =>
  new Promise((resolve) => {
    const exporter = new OTLPTraceExporter({ url });
    const processor = {
      onStart() {},
      onEnd(span) {
        exporter.export([span], (result) =>
          resolve({ code: result.code, error: result.error ? String(result.error) : null }),
        );
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "browser-app" }),
      spanProcessors: [processor],
    });
    const span = provider.getTracer("browser-test").startSpan(name);
    span.setAttribute("page.origin", window.location.origin);
    span.end();
  });
