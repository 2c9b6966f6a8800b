//! Per-request context: the request id (accepted from `X-Request-Id` or generated),
//! carried to handlers, error bodies, audit rows and one structured log line; and an id
//! the gateway generates for every request whatever the client sent, so an audit row
//! can always be told apart from another that reused the client's id.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use uuid::Uuid;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
    static GATEWAY_REQUEST_ID: String;
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

    let result = REQUEST_ID
        .scope(request_id.clone(), GATEWAY_REQUEST_ID.scope(gateway_request_id.clone(), next.call(req)))
        .await;
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
                "request"
            );
            Ok(res)
        }
        Err(e) => {
            tracing::info!(
                target: "http",
                method = %method,
                path = %path,
                status = e.as_response_error().status_code().as_u16(),
                duration_ms,
                request_id = %request_id,
                gateway_request_id = %gateway_request_id,
                "request"
            );
            Err(e)
        }
    }
}
