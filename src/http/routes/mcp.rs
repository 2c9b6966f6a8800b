//! `/mcp`: the streamable HTTP transport (JSON responses; no SSE stream, so GET is 405).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use rmcp::model::{CallToolRequestParams, EmptyObject, ErrorCode, RequestId};
use serde_json::Value;
use uuid::Uuid;

use crate::actors::rate_buckets::CallKind;
use crate::actors::token_sessions::{CloseSession, OpenSession, ResolveSession};
use crate::calls;
use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::AgentCaller;
use crate::mcp::{self, SESSION_HEADER, SUPPORTED_VERSIONS, VERSION_HEADER};
use crate::tasker::client::TaskerClient;
use crate::tools;

/// "Session not found" (the status, 404, is what clients act on).
const SESSION_NOT_FOUND: ErrorCode = ErrorCode(-32001);

fn rpc(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

fn rpc_error(status: StatusCode, id: Option<RequestId>, code: ErrorCode, message: &str) -> HttpResponse {
    rpc(status, mcp::error(id, code, message, None))
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
        let chunk =
            chunk.map_err(|e| rpc_error(StatusCode::BAD_REQUEST, None, ErrorCode::PARSE_ERROR, &e.to_string()))?;
        if body.len() + chunk.len() > limit {
            let msg = format!("the request is larger than the limit of {limit} bytes");
            return Err(rpc_error(StatusCode::PAYLOAD_TOO_LARGE, None, ErrorCode::INVALID_REQUEST, &msg));
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
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return rpc_error(StatusCode::BAD_REQUEST, None, ErrorCode::PARSE_ERROR, &format!("invalid JSON: {e}"));
        }
    };
    if msg.is_array() {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            ErrorCode::INVALID_REQUEST,
            "JSON-RPC batches are not supported",
        );
    }
    if msg.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return rpc_error(StatusCode::BAD_REQUEST, None, ErrorCode::INVALID_REQUEST, "not a JSON-RPC 2.0 message");
    }
    let method = msg.get("method").and_then(Value::as_str);
    let id = msg.get("id").cloned();
    let token_id = caller.principal.token_id;

    // Requests other than initialize (and notifications) belong to a session.
    let session = match header_str(&req, SESSION_HEADER) {
        None => None,
        Some(raw) => {
            let found = match Uuid::parse_str(raw) {
                Ok(sid) => state.sessions.send(ResolveSession { session_id: sid, token_id }).await,
                Err(_) => Ok(Ok(None)),
            };
            match found {
                Ok(Ok(Some(version))) => Some(version),
                Ok(Ok(None)) => {
                    return rpc_error(
                        StatusCode::NOT_FOUND,
                        None,
                        SESSION_NOT_FOUND,
                        "session not found; initialize again",
                    );
                }
                Ok(Err(e)) => return ApiError::from(e).error_response(),
                Err(e) => return ApiError::from(e).error_response(),
            }
        }
    };

    let Some(method) = method else {
        // A response to a server request carries a result or an error; anything else
        // without a method is not a JSON-RPC message.
        if msg.get("result").is_some() || msg.get("error").is_some() {
            return HttpResponse::Accepted().finish();
        }
        let id = id.and_then(|i| serde_json::from_value::<RequestId>(i).ok());
        return rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            ErrorCode::INVALID_REQUEST,
            "the message has no method (a string)",
        );
    };
    let Some(id) = id else {
        // A notification: nothing to answer.
        return HttpResponse::Accepted().finish();
    };
    let Ok(id) = serde_json::from_value::<RequestId>(id) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            ErrorCode::INVALID_REQUEST,
            "the id must be a string or a number",
        );
    };
    let params = msg.get("params").cloned().unwrap_or(Value::Null);

    if method == "initialize" {
        let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
            return rpc_error(
                StatusCode::OK,
                Some(id),
                ErrorCode::INVALID_PARAMS,
                "initialize needs params.protocolVersion",
            );
        };
        // Opening a session draws on the agent's read budget like any read: the
        // pipeline's rate step, answered as an HTTP 429.
        if let Err(e) = calls::take(&state.rate, &caller.principal, CallKind::Read).await {
            return ApiError::from(e).error_response();
        }
        let version = mcp::negotiate(Some(requested));
        let opened = state.sessions.send(OpenSession { token_id, protocol_version: version.to_string() }).await;
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
        return rpc_error(
            StatusCode::BAD_REQUEST,
            Some(id),
            ErrorCode::INVALID_REQUEST,
            "missing Mcp-Session-Id header: call initialize first and send the session id it returns",
        );
    };
    // Only an invalid or unsupported version is refused (the spec's rule); answers keep
    // the session's negotiated version.
    if let Some(v) = header_str(&req, VERSION_HEADER)
        && !SUPPORTED_VERSIONS.contains(&v)
    {
        let msg = format!("MCP-Protocol-Version `{v}` is not supported; supported: {}", SUPPORTED_VERSIONS.join(", "));
        return rpc_error(StatusCode::BAD_REQUEST, Some(id), ErrorCode::INVALID_REQUEST, &msg);
    }

    match method {
        "ping" => rpc(StatusCode::OK, mcp::response(id, EmptyObject {})),
        "resources/list" => rpc(StatusCode::OK, mcp::response(id, mcp::empty_resources())),
        "resources/templates/list" => rpc(StatusCode::OK, mcp::response(id, mcp::empty_resource_templates())),
        "prompts/list" => rpc(StatusCode::OK, mcp::response(id, mcp::empty_prompts())),
        // Part of every version spoken here (a later spec drops it). Accepted; no log
        // notifications are sent, as there is no server-to-client stream.
        "logging/setLevel" => match params.get("level").and_then(Value::as_str) {
            Some("debug" | "info" | "notice" | "warning" | "error" | "critical" | "alert" | "emergency") => {
                rpc(StatusCode::OK, mcp::response(id, EmptyObject {}))
            }
            _ => {
                let msg = "logging/setLevel needs params.level: debug, info, notice, warning, error, critical, alert or emergency";
                rpc_error(StatusCode::OK, Some(id), ErrorCode::INVALID_PARAMS, msg)
            }
        },
        "tools/list" => rpc(StatusCode::OK, mcp::response(id, mcp::list_tools(&caller.principal, &version))),
        "tools/call" => {
            if !params.get("name").is_some_and(Value::is_string) {
                return rpc_error(
                    StatusCode::OK,
                    Some(id),
                    ErrorCode::INVALID_PARAMS,
                    "tools/call needs params.name (a string)",
                );
            }
            if params.get("arguments").is_some_and(|a| !a.is_object() && !a.is_null()) {
                let msg = "tools/call params.arguments must be an object";
                return rpc_error(StatusCode::OK, Some(id), ErrorCode::INVALID_PARAMS, msg);
            }
            let Ok(call) = serde_json::from_value::<CallToolRequestParams>(params) else {
                return rpc_error(
                    StatusCode::OK,
                    Some(id),
                    ErrorCode::INVALID_PARAMS,
                    "tools/call params are not valid",
                );
            };
            let Some(def) = tools::find(&call.name) else {
                let yours: Vec<&str> = mcp::allowed_tools(&caller.principal).map(|t| t.name).collect();
                let name: String = call.name.chars().filter(|c| !c.is_control()).take(64).collect();
                let msg = format!("Unknown tool `{name}`. This agent's tools: {}.", yours.join(", "));
                return rpc_error(StatusCode::OK, Some(id), ErrorCode::INVALID_PARAMS, &msg);
            };
            let args = Value::Object(call.arguments.unwrap_or_default());
            let outcome = calls::run(&state, &tasker, &caller.principal, &caller.ctx, def, args).await;
            rpc(StatusCode::OK, mcp::response(id, mcp::call_result(def, outcome, &version)))
        }
        other => {
            let msg = format!("Method not found: {other}");
            rpc_error(StatusCode::OK, Some(id), ErrorCode::METHOD_NOT_FOUND, &msg)
        }
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
        return rpc_error(StatusCode::BAD_REQUEST, None, ErrorCode::INVALID_REQUEST, "missing Mcp-Session-Id header");
    };
    match state.sessions.send(CloseSession { session_id: sid, token_id: caller.principal.token_id }).await {
        Ok(Ok(true)) => HttpResponse::NoContent().finish(),
        Ok(Ok(false)) => rpc_error(StatusCode::NOT_FOUND, None, SESSION_NOT_FOUND, "session not found"),
        Ok(Err(e)) => ApiError::from(e).error_response(),
        Err(e) => ApiError::from(e).error_response(),
    }
}
