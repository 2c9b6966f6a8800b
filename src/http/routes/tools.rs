//! REST product endpoints: one per tool, through the same call pipeline as MCP. The
//! route table (`super::api`) binds a path to a tool with [`read`] or [`write`]; the
//! handlers are generic, so no tool needs code here.
//!
//! - A read's arguments are its path parameters and its query string, typed by the
//!   tool's input schema (`?limit=10` is the integer 10).
//! - A write's arguments are its JSON body, its path's target and its
//!   `Idempotency-Key` header, each given in exactly one place.
//!
//! No route deletes, archives or forwards a path to Tasker; a DELETE on any of these
//! paths is a 405.

use actix_web::{HttpRequest, HttpResponse, Route, web};
use serde_json::{Map, Value, json};

use crate::calls;
use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::{AgentCaller, Body};
use crate::tasker::client::TaskerClient;
use crate::tools::{self, Tool, ToolDef};

/// `GET` (the route given): runs the tool `T` on the path parameters and query string.
pub fn read<T: Tool>(route: Route) -> Route {
    route.to(read_handler::<T>)
}

/// `POST` (or `PATCH`, as given): runs the tool `T` on the body, the path's target and
/// the `Idempotency-Key` header.
pub fn write<T: Tool>(route: Route) -> Route {
    route.to(write_handler::<T>)
}

async fn read_handler<T: Tool>(
    req: HttpRequest,
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    caller: AgentCaller,
) -> Result<HttpResponse, ApiError> {
    let def = tools::def::<T>();
    let args = query_args(def, path_args(&req), req.query_string())?;
    run(&state, &tasker, &caller, def, args).await
}

async fn write_handler<T: Tool>(
    req: HttpRequest,
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    caller: AgentCaller,
    Body(body): Body<Value>,
) -> Result<HttpResponse, ApiError> {
    let key = req.headers().get("idempotency-key").map(|k| k.as_bytes());
    let args = body_args(body, path_args(&req), key)?;
    run(&state, &tasker, &caller, tools::def::<T>(), args).await
}

/// A read's arguments: the path's, then each query parameter typed by the tool's
/// input schema, each named once. (Pure, for the fuzz target `rest_arguments`.)
pub fn query_args(def: &ToolDef, mut args: Map<String, Value>, query: &str) -> Result<Map<String, Value>, ApiError> {
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = typed(def, &name, &value)?;
        if args.insert(name.to_string(), value).is_some() {
            let msg = format!("the query string is not valid: `{name}` is given more than once or also in the path");
            return Err(ApiError::new(HttpCode::InvalidQuery, msg));
        }
    }
    Ok(args)
}

/// A write's arguments: the body (an object), the path's target and the
/// `Idempotency-Key` header, each given in exactly one place. (Pure, for the fuzz
/// target `rest_arguments`.)
pub fn body_args(
    body: Value,
    path: Map<String, Value>,
    idempotency_key: Option<&[u8]>,
) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(mut args) = body else {
        return Err(ApiError::new(HttpCode::InvalidBody, "the body must be a JSON object"));
    };
    let places =
        path.keys().map(|k| (k.as_str(), "the path")).chain([("idempotency_key", "the Idempotency-Key header")]);
    for (field, place) in places {
        if args.contains_key(field) {
            return Err(ApiError::new(HttpCode::InvalidBody, format!("`{field}` comes from {place}, not the body")));
        }
    }
    args.extend(path);
    // A header that is not plain text is still a key: an invalid one, said as such.
    if let Some(key) = idempotency_key {
        args.insert("idempotency_key".into(), json!(String::from_utf8_lossy(key)));
    }
    Ok(args)
}

/// Runs one tool for the caller and answers its structured result.
async fn run(
    state: &AppState,
    tasker: &TaskerClient,
    caller: &AgentCaller,
    def: &'static ToolDef,
    args: Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let out = calls::run(state, tasker, &caller.principal, &caller.ctx, def, Value::Object(args)).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The path's parameters (`{project}`, `{issue}`), named as the tool's arguments.
fn path_args(req: &HttpRequest) -> Map<String, Value> {
    req.match_info().iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
}

/// A query parameter as the type the tool's input schema gives it: an unknown
/// parameter, or a number that is not one, is refused naming the parameter.
pub fn typed(def: &ToolDef, name: &str, raw: &str) -> Result<Value, ApiError> {
    let invalid = |why: String| ApiError::new(HttpCode::InvalidQuery, format!("the query string is not valid: {why}"));
    let Some(schema) = def.input_schema.get("properties").and_then(|p| p.get(name)) else {
        return Err(invalid(format!("unknown parameter `{name}`")));
    };
    if !schema_allows(schema, "integer") {
        return Ok(json!(raw));
    }
    let number = match schema.get("format").and_then(Value::as_str) {
        Some("uint32") => raw.parse::<u32>().map(Value::from).ok(),
        Some("int32") => raw.parse::<i32>().map(Value::from).ok(),
        Some(f) if f.starts_with("uint") => raw.parse::<u64>().map(Value::from).ok(),
        _ => raw.parse::<i64>().map(Value::from).ok(),
    };
    number.ok_or_else(|| invalid(format!("`{name}`: `{raw}` is not a valid {}", describe_number(schema))))
}

fn describe_number(schema: &Value) -> &'static str {
    match schema.get("format").and_then(Value::as_str) {
        Some(f) if f.starts_with("uint") => "non-negative integer",
        _ => "integer",
    }
}

fn schema_allows(schema: &Value, ty: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
        _ => false,
    }
}
