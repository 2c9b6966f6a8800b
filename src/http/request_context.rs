//! Per-request context: the request id (accepted from `X-Request-Id` or generated),
//! carried to handlers, error bodies, audit rows and one structured log line; an id
//! the gateway generates for every request whatever the client sent, so an audit row
//! can always be told apart from another that reused the client's id; the W3C trace
//! context (`traceparent`, accepted or started here) that Tasker calls continue; and
//! a span for the request when spans are exported.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;
use uuid::Uuid;

use crate::telemetry::trace::{self, TRACEPARENT_HEADER, TraceParent};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
    static GATEWAY_REQUEST_ID: String;
    static NOTES: Rc<RefCell<LogNotes>>;
}

/// What the request log line says besides the HTTP facts, noted by the layers that
/// know it: bounded values only (names, codes, ids), never arguments or secrets.
#[derive(Debug, Default, Clone)]
pub struct LogNotes {
    /// The JSON-RPC method of an MCP request.
    pub mcp_method: Option<String>,
    pub tool: Option<&'static str>,
    /// The tool call's outcome (`allowed`, `denied`, `failed`).
    pub outcome: Option<&'static str>,
    /// The error code answered (a tool's, or the HTTP layer's).
    pub code: Option<&'static str>,
    /// The owner of the authenticated agent.
    pub owner: Option<Uuid>,
}

/// Notes something for the current request's log line (no-op outside a request).
pub fn note(f: impl FnOnce(&mut LogNotes)) {
    let _ = NOTES.try_with(|n| f(&mut n.borrow_mut()));
}

/// An MCP method as the log may show it: short and plain, else `(other)`.
pub fn loggable_method(method: &str) -> String {
    let plain = (1..=64).contains(&method.len())
        && method.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.' | b'$'));
    if plain { method.to_string() } else { "(other)".to_string() }
}

/// The id the gateway generated for the current request (inside a request).
pub fn current_gateway_request_id() -> Option<String> {
    GATEWAY_REQUEST_ID.try_with(Clone::clone).ok()
}

/// The current request's id (inside a request), for error bodies.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// The request id, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The authenticated agent, set by the agent extractor, for the log line.
#[derive(Debug, Clone, Copy)]
pub struct LoggedAgent(pub Uuid);

/// An incoming id is kept only if it is short and plain, so it is safe in logs.
fn accept_incoming(raw: &str) -> bool {
    (1..=128).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| accept_incoming(v))
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let gateway_request_id = Uuid::new_v4().to_string();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_string();
    let incoming = req.headers().get(TRACEPARENT_HEADER).and_then(|v| v.to_str().ok()).and_then(TraceParent::parse);
    let span = tracing::info_span!(
        target: "http",
        "request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        http.request.method = %method,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        request_id = %request_id,
    );
    // Exported: this request's span, a child of the caller's. Else the caller's trace
    // (or a new one), which Tasker calls continue.
    let trace = trace::outgoing(&span, incoming).unwrap_or_else(TraceParent::generate);
    let notes = Rc::new(RefCell::new(LogNotes::default()));

    let call = NOTES.scope(notes.clone(), trace::scope(trace, next.call(req)));
    let result = REQUEST_ID
        .scope(request_id.clone(), GATEWAY_REQUEST_ID.scope(gateway_request_id.clone(), call))
        .instrument(span.clone())
        .await;
    let notes = notes.take();
    // A number, to two decimals: log tooling can sort and sum it.
    let duration_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    match result {
        Ok(mut res) => {
            let route = res.request().match_pattern().unwrap_or_else(|| "(unmatched)".to_string());
            let agent_id = res.request().extensions().get::<LoggedAgent>().map(|a| a.0.to_string());
            let status = res.status().as_u16();
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
            }
            span.record("otel.name", format!("{method} {route}"));
            span.record("http.route", route.as_str());
            span.record("http.response.status_code", status);
            let owner = notes.owner.map(|o| o.to_string());
            tracing::info!(
                target: "http",
                method = %method,
                route = %route,
                path = %path,
                status,
                duration_ms,
                request_id = %request_id,
                gateway_request_id = %gateway_request_id,
                agent_id = agent_id.as_deref().unwrap_or("-"),
                owner = owner.as_deref().unwrap_or("-"),
                mcp_method = notes.mcp_method.as_deref().unwrap_or("-"),
                tool = notes.tool.unwrap_or("-"),
                outcome = notes.outcome.unwrap_or("-"),
                error_code = notes.code.unwrap_or("-"),
                trace_id = %trace.trace_id_hex(),
                "request"
            );
            Ok(res)
        }
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            span.record("otel.name", method.as_str());
            span.record("http.response.status_code", status);
            tracing::info!(
                target: "http",
                method = %method,
                path = %path,
                status,
                duration_ms,
                request_id = %request_id,
                gateway_request_id = %gateway_request_id,
                error_code = notes.code.unwrap_or("-"),
                trace_id = %trace.trace_id_hex(),
                "request"
            );
            Err(e)
        }
    }
}
