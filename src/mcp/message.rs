//! Reading a POSTed MCP message before anything needs the gateway's state: bytes in,
//! a classified message or the protocol fault to answer; the `tools/call` parameters;
//! the answers that need nothing but the request. The route (`http/routes/mcp.rs`)
//! calls these; [`answer_offline`] composes them into "bytes in, answer out" without
//! I/O, for the fuzz target `tests/fuzz/fuzz_targets/mcp_jsonrpc.rs`.

use actix_web::http::StatusCode;
use rmcp::model::{CallToolRequestParams, EmptyObject, RequestId};
use serde_json::Value;

use super::envelope::{self, Headers, Route};
use super::{Era, Fault, LEGACY_VERSIONS, MODERN_VERSIONS};
use crate::calls::{self, ToolError};
use crate::tools;

/// A JSON-RPC 2.0 message (not a batch) and the era it belongs to.
#[derive(Debug)]
pub struct Incoming {
    pub msg: Value,
    /// `params`, `null` when absent.
    pub params: Value,
    pub route: Route,
}

/// Parses a body: JSON, not a batch, JSON-RPC 2.0.
pub fn parse(body: &[u8]) -> Result<Value, Fault> {
    let msg: Value = serde_json::from_slice(body).map_err(|e| Fault::Parse(format!("invalid JSON: {e}")))?;
    if msg.is_array() {
        return Err(Fault::InvalidRequest("JSON-RPC batches are not supported".into()));
    }
    if msg.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(Fault::InvalidRequest("not a JSON-RPC 2.0 message".into()));
    }
    Ok(msg)
}

/// The era of a parsed message, from the body (a `_meta` envelope) and the version
/// header; a fault carries the request's id when it was read.
pub fn classify(msg: Value, headers: &Headers) -> Result<Incoming, (Option<RequestId>, Fault)> {
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    let route = match msg.get("method").and_then(Value::as_str) {
        Some(method) => envelope::classify(method, msg.get("id").is_some(), &params, headers),
        None => Ok(Route::Legacy),
    };
    match route {
        Ok(route) => Ok(Incoming { msg, params, route }),
        Err(f) => Err((request_id(&msg), f)),
    }
}

/// Parses and classifies a body: [`parse`], then [`classify`].
pub fn read(body: &[u8], headers: &Headers) -> Result<Incoming, (Option<RequestId>, Fault)> {
    classify(parse(body).map_err(|f| (None, f))?, headers)
}

/// The request's id when it is a valid one (errors echo it).
pub fn request_id(msg: &Value) -> Option<RequestId> {
    msg.get("id").and_then(|i| serde_json::from_value::<RequestId>(i.clone()).ok())
}

/// `tools/call`'s parameters: a string `name`, an object (or absent) `arguments`.
pub fn tool_call(params: &Value) -> Result<CallToolRequestParams, Fault> {
    if !params.get("name").is_some_and(Value::is_string) {
        return Err(Fault::InvalidParams("tools/call needs params.name (a string)".into()));
    }
    if params.get("arguments").is_some_and(|a| !a.is_object() && !a.is_null()) {
        return Err(Fault::InvalidParams("tools/call params.arguments must be an object".into()));
    }
    serde_json::from_value::<CallToolRequestParams>(params.clone())
        .map_err(|_| Fault::InvalidParams("tools/call params are not valid".into()))
}

/// The methods only a legacy session has: `ping` and `logging/setLevel` (`None` for
/// any other method).
pub fn legacy_only(method: &str, params: &Value) -> Option<Result<Value, Fault>> {
    let empty = || serde_json::to_value(EmptyObject {}).unwrap_or(Value::Null);
    match method {
        "ping" => Some(Ok(empty())),
        // Part of every legacy version (2026-07-28 drops it). Accepted; no log
        // notifications are sent, as there is no server-to-client stream.
        "logging/setLevel" => Some(match params.get("level").and_then(Value::as_str) {
            Some(level) if envelope::LOG_LEVELS.contains(&level) => Ok(empty()),
            _ => Err(Fault::InvalidParams(
                "logging/setLevel needs params.level: debug, info, notice, warning, error, critical, alert or emergency"
                    .into(),
            )),
        }),
        _ => None,
    }
}

/// The shared methods that need nothing of the caller: the empty resource and prompt
/// lists, reading a resource or getting a prompt (not found), and methods the server
/// does not have. `None` for `tools/list` and `tools/call`.
pub fn static_answer(method: &str, params: &Value, version: &str) -> Option<Result<Value, Fault>> {
    fn value<T: serde::Serialize>(result: T) -> Option<Result<Value, Fault>> {
        Some(Ok(serde_json::to_value(result).unwrap_or(Value::Null)))
    }
    let era = Era::of(version);
    match method {
        "tools/list" | "tools/call" => None,
        "resources/list" => value(super::empty_resources(version)),
        "resources/templates/list" => value(super::empty_resource_templates(version)),
        "resources/read" => Some(Err(super::read_resource(params, era))),
        "prompts/list" => value(super::empty_prompts(version)),
        "prompts/get" => Some(Err(super::get_prompt(params))),
        other => Some(Err(Fault::MethodNotFound { method: other.into(), era })),
    }
}

/// What [`answer_offline`] answers.
#[derive(Debug)]
pub enum Offline {
    /// A JSON-RPC response or error, with its HTTP status.
    Reply { status: StatusCode, body: Value },
    /// `202 Accepted` without a body (a notification, or a response to the server).
    Accepted,
    /// The answer needs the gateway (a session, the rate budget, the caller's tools or
    /// the call pipeline). For `tools/call` of a known tool: its name and the verdict
    /// of the pipeline's argument step.
    Gateway { method: String, tool: Option<(&'static str, Result<Option<String>, ToolError>)> },
}

fn reply(id: Option<RequestId>, f: &Fault) -> Offline {
    Offline::Reply { status: f.status(), body: super::fault(id, f) }
}

fn answered(id: RequestId, answer: Result<Value, Fault>, era: Era) -> Offline {
    match answer {
        Ok(v) if era == Era::Modern => {
            Offline::Reply { status: StatusCode::OK, body: super::response(id, super::modern_result(v)) }
        }
        Ok(v) => Offline::Reply { status: StatusCode::OK, body: super::response(id, v) },
        Err(f) => reply(Some(id), &f),
    }
}

/// The shared methods, as far as they go without the gateway.
fn common(id: RequestId, method: &str, params: &Value, version: &str) -> Offline {
    if let Some(answer) = static_answer(method, params, version) {
        return answered(id, answer, Era::of(version));
    }
    if method != "tools/call" {
        return Offline::Gateway { method: method.into(), tool: None };
    }
    let call = match tool_call(params) {
        Ok(call) => call,
        Err(f) => return reply(Some(id), &f),
    };
    // An unknown tool is refused naming the caller's tools: the gateway's answer.
    let tool = tools::find(&call.name).map(|def| {
        let args = Value::Object(call.arguments.unwrap_or_default());
        (def.name, calls::arguments(def, &args))
    });
    Offline::Gateway { method: method.into(), tool }
}

/// Everything the MCP endpoint answers from a body and its headers alone, in the
/// route's order; `session` is the negotiated version of the legacy session the
/// request names (`None`: it names none). Never does I/O; mirrors
/// `http/routes/mcp.rs`, for fuzzing.
#[doc(hidden)]
pub fn answer_offline(body: &[u8], headers: &Headers, session: Option<&str>) -> Offline {
    let Incoming { msg, params, route } = match read(body, headers) {
        Ok(incoming) => incoming,
        Err((id, f)) => return reply(id, &f),
    };
    let method = msg.get("method").and_then(Value::as_str);
    match route {
        Route::Modern { version } => {
            let id = match msg.get("id") {
                None => None,
                Some(raw) => match serde_json::from_value::<RequestId>(raw.clone()) {
                    Ok(id) => Some(id),
                    Err(_) => return reply(None, &Fault::InvalidRequest("the id must be a string or a number".into())),
                },
            };
            if !MODERN_VERSIONS.contains(&version.as_str()) {
                return reply(id, &Fault::UnsupportedVersion { requested: version });
            }
            let method = method.unwrap_or_default();
            let Some(id) = id else { return Offline::Accepted };
            if let Err(f) = envelope::check_standard_headers(method, &params, headers, &version) {
                return reply(Some(id), &f);
            }
            if method == "server/discover" {
                return Offline::Gateway { method: method.into(), tool: None };
            }
            common(id, method, &params, &version)
        }
        Route::Legacy => {
            let Some(method) = method else {
                if msg.get("result").is_some() || msg.get("error").is_some() {
                    return Offline::Accepted;
                }
                return reply(request_id(&msg), &Fault::InvalidRequest("the message has no method (a string)".into()));
            };
            let Some(id) = msg.get("id").cloned() else { return Offline::Accepted };
            let Ok(id) = serde_json::from_value::<RequestId>(id) else {
                return reply(None, &Fault::InvalidRequest("the id must be a string or a number".into()));
            };
            if method == "initialize" {
                if params.get("protocolVersion").and_then(Value::as_str).is_none() {
                    return reply(Some(id), &Fault::InvalidParams("initialize needs params.protocolVersion".into()));
                }
                return Offline::Gateway { method: method.into(), tool: None };
            }
            let Some(version) = session else { return reply(Some(id), &Fault::SessionRequired) };
            if let Some(v) = headers.version
                && !LEGACY_VERSIONS.contains(&v)
            {
                return reply(Some(id), &Fault::UnsupportedVersion { requested: v.into() });
            }
            if let Some(answer) = legacy_only(method, &params) {
                return answered(id, answer, Era::Legacy);
            }
            common(id, method, &params, version)
        }
    }
}
