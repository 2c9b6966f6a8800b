//! `/mcp`: the streamable HTTP transport (JSON responses; no SSE stream, so GET is 405),
//! serving both protocol eras on one endpoint (`crate::mcp`): a legacy session opened
//! by `initialize`, and stateless 2026-07-28 requests that carry their version in
//! `_meta` and headers. Either way the caller is authenticated on every request, and
//! tool calls run through the one call pipeline (`calls::run`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use rmcp::model::RequestId;
use serde_json::Value;
use uuid::Uuid;

use crate::actors::rate_buckets::CallKind;
use crate::actors::token_sessions::{CloseSession, OpenSession};
use crate::calls;
use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::AgentCaller;
use crate::http::refusals::Refused;
use crate::http::request_context::{loggable_method, note};
use crate::mcp::envelope::{self, Headers, Route};
use crate::mcp::message::{self, Incoming};
use crate::mcp::{
    self, Fault, LEGACY_VERSIONS, METHOD_HEADER, MODERN_VERSIONS, NAME_HEADER, SESSION_HEADER, VERSION_HEADER,
};
use crate::tasker::client::TaskerClient;
use crate::tools;

fn rpc(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

/// A fault, answered with its own status.
fn reply(id: Option<RequestId>, f: Fault) -> HttpResponse {
    let name = f.name();
    note(|n| n.code = Some(name));
    let mut res = rpc(f.status(), mcp::fault(id, &f));
    // Every fault is a refusal before the pipeline: audited by `refusals`.
    res.extensions_mut().insert(Refused(name));
    res
}

/// DNS-rebinding protection: a browser's `Origin` must be one we serve. Clients that
/// are not browsers send none.
fn origin_allowed(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let origin = origin.trim_end_matches('/');
    state.allowed_origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
}

fn forbidden_origin() -> HttpResponse {
    ApiError::new(HttpCode::OriginNotAllowed, "this Origin may not call the MCP endpoint").error_response()
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, HttpResponse> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| reply(None, Fault::Parse(e.to_string())))?;
        if body.len() + chunk.len() > limit {
            return Err(reply(None, Fault::TooLarge(format!("the request is larger than the limit of {limit} bytes"))));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    payload: web::Payload,
) -> HttpResponse {
    if !origin_allowed(&req, &state) {
        return forbidden_origin();
    }
    let caller = match AgentCaller::extract(&req).await {
        Ok(c) => c,
        Err(e) => return e.error_response(),
    };
    let body = match read_body(payload, state.max_body_bytes).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let msg = match message::parse(&body) {
        Ok(msg) => msg,
        Err(f) => return reply(None, f),
    };
    if let Some(m) = msg.get("method").and_then(Value::as_str) {
        note(|n| n.mcp_method = Some(loggable_method(m)));
    }
    let headers = Headers {
        version: header_str(&req, VERSION_HEADER),
        method: header_str(&req, METHOD_HEADER),
        name: header_str(&req, NAME_HEADER),
    };
    // Its era, read from the body (a `_meta` envelope) and the version header.
    let Incoming { msg, params, route } = match message::classify(msg, &headers) {
        Ok(incoming) => incoming,
        Err((id, f)) => return reply(id, f),
    };
    match route {
        Route::Modern { version } => modern(&state, &tasker, &caller, &msg, params, &headers, version).await,
        Route::Legacy => legacy(&req, &state, &tasker, &caller, &msg, params).await,
    }
}

/// A request or notification of a legacy session (2025-11-25 and earlier): opened by
/// `initialize`, then bound to `Mcp-Session-Id`.
async fn legacy(
    req: &HttpRequest,
    state: &AppState,
    tasker: &TaskerClient,
    caller: &AgentCaller,
    msg: &Value,
    params: Value,
) -> HttpResponse {
    let method = msg.get("method").and_then(Value::as_str);
    let id = msg.get("id").cloned();
    // Requests other than initialize (and notifications) belong to a session, read
    // with the token (`AgentCaller::session`).
    let session = match header_str(req, SESSION_HEADER) {
        None => None,
        Some(_) => match &caller.session {
            Some(version) => Some(version.clone()),
            None => return reply(None, Fault::SessionNotFound),
        },
    };

    let Some(method) = method else {
        // A response to a server request carries a result or an error; anything else
        // without a method is not a JSON-RPC message.
        if msg.get("result").is_some() || msg.get("error").is_some() {
            return HttpResponse::Accepted().finish();
        }
        return reply(message::request_id(msg), Fault::InvalidRequest("the message has no method (a string)".into()));
    };
    let Some(id) = id else {
        // A notification: nothing to answer.
        return HttpResponse::Accepted().finish();
    };
    let Ok(id) = serde_json::from_value::<RequestId>(id) else {
        return reply(None, Fault::InvalidRequest("the id must be a string or a number".into()));
    };

    if method == "initialize" {
        let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
            return reply(Some(id), Fault::InvalidParams("initialize needs params.protocolVersion".into()));
        };
        // Opening a session draws on the agent's read budget like any read: the
        // pipeline's rate step, answered as an HTTP 429.
        if let Err(e) = calls::take(&state.rate, &caller.principal, CallKind::Read).await {
            return ApiError::from(e).error_response();
        }
        let version = mcp::negotiate(Some(requested));
        let opened = state
            .sessions
            .send(OpenSession { token_id: caller.principal.token_id, protocol_version: version.to_string() })
            .await;
        let session_id = match opened {
            Ok(Ok(sid)) => sid,
            Ok(Err(e)) => return ApiError::from(e).error_response(),
            Err(e) => return ApiError::from(e).error_response(),
        };
        let mut res = rpc(StatusCode::OK, mcp::response(id, mcp::initialize_result(version)));
        if let Ok(v) = HeaderValue::from_str(&session_id.to_string()) {
            res.headers_mut().insert(header::HeaderName::from_static(SESSION_HEADER), v);
        }
        return res;
    }

    let Some(version) = session else {
        return reply(Some(id), Fault::SessionRequired);
    };
    // Only an unsupported version is refused (the spec's rule), with the versions that
    // are; answers keep the session's negotiated version.
    if let Some(v) = header_str(req, VERSION_HEADER)
        && !LEGACY_VERSIONS.contains(&v)
    {
        return reply(Some(id), Fault::UnsupportedVersion { requested: v.into() });
    }

    if let Some(answer) = message::legacy_only(method, &params) {
        return match answer {
            Ok(v) => rpc(StatusCode::OK, mcp::response(id, v)),
            Err(f) => reply(Some(id), f),
        };
    }
    match common(state, tasker, caller, method, &params, &version).await {
        Ok(Answer::Tools(r)) => rpc(StatusCode::OK, mcp::response(id, r)),
        Ok(Answer::Value(v)) => rpc(StatusCode::OK, mcp::response(id, v)),
        Err(f) => reply(Some(id), f),
    }
}

/// What a method both eras share answers with.
enum Answer {
    Tools(rmcp::model::CallToolResult),
    Value(Value),
}

fn value<T: serde::Serialize>(result: T) -> Result<Answer, Fault> {
    Ok(Answer::Value(serde_json::to_value(result).unwrap_or(Value::Null)))
}

/// The methods both eras share, for a client speaking `version`.
async fn common(
    state: &AppState,
    tasker: &TaskerClient,
    caller: &AgentCaller,
    method: &str,
    params: &Value,
    version: &str,
) -> Result<Answer, Fault> {
    if let Some(answer) = message::static_answer(method, params, version) {
        return answer.map(Answer::Value);
    }
    match method {
        "tools/list" => value(mcp::list_tools(&caller.principal, version)),
        _ => call_tool(state, tasker, caller, params, version).await.map(Answer::Tools),
    }
}

/// `tools/call`: its parameters checked, then the call pipeline.
async fn call_tool(
    state: &AppState,
    tasker: &TaskerClient,
    caller: &AgentCaller,
    params: &Value,
    version: &str,
) -> Result<rmcp::model::CallToolResult, Fault> {
    let call = message::tool_call(params)?;
    let Some(def) = tools::find(&call.name) else {
        let yours: Vec<&str> = mcp::allowed_tools(&caller.principal).map(|t| t.name).collect();
        let name: String = call.name.chars().filter(|c| !c.is_control()).take(64).collect();
        return Err(Fault::InvalidParams(format!("Unknown tool `{name}`. This agent's tools: {}.", yours.join(", "))));
    };
    let args = Value::Object(call.arguments.unwrap_or_default());
    let outcome = calls::run(state, tasker, &caller.principal, &caller.ctx, def, args).await;
    Ok(mcp::call_result(def, outcome, version))
}

/// A 2026-07-28 request or notification: no session (an `Mcp-Session-Id` header is
/// ignored), its version and the client's capabilities in its own `_meta` (checked by
/// `envelope::classify`), the standard headers mirroring the body.
async fn modern(
    state: &AppState,
    tasker: &TaskerClient,
    caller: &AgentCaller,
    msg: &Value,
    params: Value,
    headers: &Headers<'_>,
    version: String,
) -> HttpResponse {
    let id = match msg.get("id") {
        None => None,
        Some(raw) => match serde_json::from_value::<RequestId>(raw.clone()) {
            Ok(id) => Some(id),
            Err(_) => return reply(None, Fault::InvalidRequest("the id must be a string or a number".into())),
        },
    };
    if !MODERN_VERSIONS.contains(&version.as_str()) {
        return reply(id, Fault::UnsupportedVersion { requested: version });
    }
    let method = msg.get("method").and_then(Value::as_str).unwrap_or_default();
    let Some(id) = id else {
        // A notification (2026-07-28 defines none from client to server): accepted,
        // nothing to answer.
        return HttpResponse::Accepted().finish();
    };
    if let Err(f) = envelope::check_standard_headers(method, &params, headers, &version) {
        return reply(Some(id), f);
    }
    let answer = match method {
        "server/discover" => {
            // Discovery replaces initialize and draws on the read budget as it does.
            if let Err(e) = calls::take(&state.rate, &caller.principal, CallKind::Read).await {
                return ApiError::from(e).error_response();
            }
            return rpc(StatusCode::OK, mcp::response(id, mcp::modern_result(mcp::discover_result())));
        }
        other => common(state, tasker, caller, other, &params, &version).await,
    };
    match answer {
        Ok(Answer::Tools(r)) => rpc(StatusCode::OK, mcp::response(id, mcp::modern_result(r))),
        Ok(Answer::Value(v)) => rpc(StatusCode::OK, mcp::response(id, mcp::modern_result(v))),
        Err(f) => reply(Some(id), f),
    }
}

/// Ends a session (the client is done with it).
pub async fn delete(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !origin_allowed(&req, &state) {
        return forbidden_origin();
    }
    let caller = match AgentCaller::extract(&req).await {
        Ok(c) => c,
        Err(e) => return e.error_response(),
    };
    let Some(sid) = header_str(&req, SESSION_HEADER).and_then(|s| Uuid::parse_str(s).ok()) else {
        return reply(None, Fault::InvalidRequest("missing Mcp-Session-Id header".into()));
    };
    match state.sessions.send(CloseSession { session_id: sid, token_id: caller.principal.token_id }).await {
        Ok(Ok(true)) => HttpResponse::NoContent().finish(),
        Ok(Ok(false)) => reply(None, Fault::SessionNotFound),
        Ok(Err(e)) => ApiError::from(e).error_response(),
        Err(e) => ApiError::from(e).error_response(),
    }
}
