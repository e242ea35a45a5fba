//! Getting started: how to point an OpenTelemetry SDK at this server.

use yew::prelude::*;

/// The OTLP endpoints and the environment variables to set.
#[function_component(GettingStartedPage)]
pub fn getting_started_page() -> Html {
    let host = web_sys::window()
        .and_then(|w| w.location().hostname().ok())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let env = format!(
        "export OTEL_EXPORTER_OTLP_ENDPOINT=http://{host}:4318\nexport OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\nexport OTEL_SERVICE_NAME=my-service"
    );
    html! {
        <section class="page" id="page-start">
            <h1 class="page-title">{ "Getting started" }</h1>
            <p>{ "Sightline receives OTLP on its default ports: gRPC on 4317 and HTTP (protobuf or JSON) on 4318. Set these variables for any OpenTelemetry SDK:" }</p>
            <pre class="snippet mono">{ env }</pre>
        </section>
    }
}
