//! A stored trace written back as OTLP/JSON (an `ExportTraceServiceRequest`)
//! exactly as the spec encodes it — hex ids, decimal-string nanoseconds,
//! integer enums — so the file can be kept, shared, and sent again to any
//! OTLP/HTTP endpoint (`POST /v1/traces`).

use serde_json::{Value, json};

use crate::api::TraceDetail;
use crate::trace::{Event, Link, Resource, Scope, Span};

fn resource(r: &Resource) -> Value {
    json!({
        "attributes": r.attributes,
        "droppedAttributesCount": r.dropped_attributes_count,
    })
}

fn scope(s: &Scope) -> Value {
    json!({
        "name": s.name,
        "version": s.version,
        "attributes": s.attributes,
        "droppedAttributesCount": s.dropped_attributes_count,
    })
}

fn event(e: &Event) -> Value {
    json!({
        "timeUnixNano": e.time.0.to_string(),
        "name": e.name,
        "attributes": e.attributes,
        "droppedAttributesCount": e.dropped_attributes_count,
    })
}

fn link(l: &Link) -> Value {
    json!({
        "traceId": l.trace_id.to_string(),
        "spanId": l.span_id.to_string(),
        "traceState": l.trace_state,
        "attributes": l.attributes,
        "droppedAttributesCount": l.dropped_attributes_count,
        "flags": l.flags,
    })
}

fn span(s: &Span) -> Value {
    json!({
        "traceId": s.trace_id.to_string(),
        "spanId": s.span_id.to_string(),
        "traceState": s.trace_state,
        "parentSpanId": s.parent_span_id.map(|p| p.to_string()).unwrap_or_default(),
        "flags": s.flags,
        "name": s.name,
        "kind": s.kind.as_otlp(),
        "startTimeUnixNano": s.start_time.0.to_string(),
        "endTimeUnixNano": s.end_time.0.to_string(),
        "attributes": s.attributes,
        "droppedAttributesCount": s.dropped_attributes_count,
        "events": s.events.iter().map(event).collect::<Vec<_>>(),
        "droppedEventsCount": s.dropped_events_count,
        "links": s.links.iter().map(link).collect::<Vec<_>>(),
        "droppedLinksCount": s.dropped_links_count,
        "status": {"code": s.status.code.as_otlp(), "message": s.status.message},
    })
}

/// A scope's index in the trace detail and its spans as OTLP/JSON.
type ScopeGroup = (u32, Vec<Value>);

/// The trace as one OTLP/JSON request, spans grouped by resource then
/// scope in the order they first appear.
pub fn trace_to_otlp_json(t: &TraceDetail) -> Value {
    let mut groups: Vec<(u32, Vec<ScopeGroup>)> = Vec::new();
    for rec in &t.spans {
        let gi = match groups.iter().position(|g| g.0 == rec.resource) {
            Some(i) => i,
            None => {
                groups.push((rec.resource, Vec::new()));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[gi].1;
        let si = match scopes.iter().position(|s| s.0 == rec.scope) {
            Some(i) => i,
            None => {
                scopes.push((rec.scope, Vec::new()));
                scopes.len() - 1
            }
        };
        scopes[si].1.push(span(&rec.span));
    }
    let resource_spans: Vec<Value> = groups
        .into_iter()
        .map(|(ri, scopes)| {
            let r = t.resources.get(ri as usize).cloned().unwrap_or_default();
            json!({
                "resource": resource(&r),
                "schemaUrl": r.schema_url,
                "scopeSpans": scopes.into_iter().map(|(si, spans)| {
                    let s = t.scopes.get(si as usize).cloned().unwrap_or_default();
                    json!({"scope": scope(&s), "schemaUrl": s.schema_url, "spans": spans})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "resourceSpans": resource_spans })
}
