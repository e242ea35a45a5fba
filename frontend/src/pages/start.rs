//! Getting started: the OTLP endpoints of this server and the variables an
//! OpenTelemetry SDK needs, each copyable. The ports are the receivers' own
//! (from `/api/health`); the host is the one this page was loaded from.

use yew::prelude::*;

use crate::components::copy_button::CopyButton;

#[function_component(GettingStartedPage)]
pub fn getting_started_page() -> Html {
    let ports = use_state(|| (4318u16, 4317u16, false));
    {
        let ports = ports.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(h) = crate::api::health().await {
                    ports.set((
                        h.otlp_http_port.unwrap_or(4318),
                        h.otlp_grpc_port.unwrap_or(4317),
                        true,
                    ));
                }
            });
        });
    }
    let (http_port, grpc_port, known) = *ports;
    let host = web_sys::window()
        .and_then(|w| w.location().hostname().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let http = format!("http://{host}:{http_port}");
    let grpc = format!("http://{host}:{grpc_port}");
    let env_http = format!(
        "export OTEL_EXPORTER_OTLP_ENDPOINT={http}\nexport OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\nexport OTEL_SERVICE_NAME=my-service"
    );
    let env_grpc = format!(
        "export OTEL_EXPORTER_OTLP_ENDPOINT={grpc}\nexport OTEL_EXPORTER_OTLP_PROTOCOL=grpc\nexport OTEL_SERVICE_NAME=my-service"
    );
    let collector = format!(
        "exporters:\n  otlphttp/sightline:\n    endpoint: {http}\nservice:\n  pipelines:\n    traces:  {{ exporters: [otlphttp/sightline] }}\n    logs:    {{ exporters: [otlphttp/sightline] }}\n    metrics: {{ exporters: [otlphttp/sightline] }}"
    );
    let snippet = |id: &'static str, title: &'static str, text: String| {
        html! {
            <div class="snippet-block">
                <div class="snippet-head"><h3>{ title }</h3><CopyButton text={text.clone()} id={format!("copy-{id}")} /></div>
                <pre class="snippet mono" id={id}>{ text }</pre>
            </div>
        }
    };
    html! {
        <section class="page narrow-page" id="page-start">
            <h1 class="page-title">{ "Getting started" }</h1>
            <p>{ "Point any OpenTelemetry SDK or Collector at this server. It receives traces, logs and metrics over OTLP:" }</p>
            <table class="list endpoints" id="endpoints">
                <thead><tr><th>{ "Protocol" }</th><th>{ "Endpoint" }</th><th></th></tr></thead>
                <tbody>
                    <tr><td>{ "OTLP/HTTP (protobuf or JSON)" }</td><td class="mono" id="endpoint-http">{ http.clone() }</td>
                        <td><CopyButton text={http.clone()} /></td></tr>
                    <tr><td>{ "OTLP/gRPC" }</td><td class="mono" id="endpoint-grpc">{ grpc.clone() }</td>
                        <td><CopyButton text={grpc.clone()} /></td></tr>
                </tbody>
            </table>
            <p class="muted small" id="endpoint-note">{
                if known {
                    "The host is the one this page came from; the ports are the ones this server listens on. From another machine, use a name or address of this server that it can reach."
                } else {
                    "Could not ask the server for its ports; these are the defaults (4318, 4317)."
                }
            }</p>
            { snippet("env-http", "Environment variables (OTLP/HTTP)", env_http) }
            { snippet("env-grpc", "Environment variables (OTLP/gRPC)", env_grpc) }
            { snippet("collector", "OpenTelemetry Collector exporter", collector) }
            <p class="muted small">{ "Set OTEL_SERVICE_NAME to name your service; it is how Sightline groups spans, logs and metrics." }</p>
        </section>
    }
}
