//! `GET /openapi.json`: the OpenAPI 3.1 document of `/api/v1` and `/api/internal/v1`,
//! generated from the code: the paths, methods and callers from the route table
//! ([`routes::api`], the list the routes are registered from), the bodies, query
//! parameters and answers from their Rust types (schemars, JSON Schema 2020-12: the
//! dialect of OpenAPI 3.1, and the generator the MCP tool schemas already use), a
//! tool route's arguments and result from the tool's own schemas. No authentication:
//! it holds no secret. Built once, on the first request.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header::CACHE_CONTROL;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::error::{HttpCode, error_schema};
use super::routes::{self, Caller, Endpoint, Verb};
use crate::calls::ToolCode;
use crate::model::AccessDenial;
use crate::service::{Entity, Refusal};
use crate::tools::ToolDef;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| document().to_string());

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(DOCUMENT.as_str())
}

/// Schemas land in `components.schemas`, referenced as `#/components/schemas/Name`.
fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings.with(|s| s.definitions_path = "/components/schemas".into()).into_generator()
}

/// The document.
pub fn document() -> Value {
    // What callers send is described as it is read, what they get as it is written.
    let mut reads = generator(SchemaSettings::draft2020_12().for_deserialize());
    let mut writes = generator(SchemaSettings::draft2020_12().for_serialize());
    let mut paths = Map::new();
    let mut query_types = Vec::new();
    for e in routes::api() {
        let op = operation(&e, &mut reads, &mut writes, &mut query_types);
        let item = paths.entry(e.path).or_insert_with(|| json!({}));
        item[e.verb.as_str()] = op;
    }
    error_schema(&mut writes);
    // A query type is described by its parameters, not as a component.
    for name in &query_types {
        reads.definitions_mut().remove(name);
    }
    let mut schemas = writes.take_definitions(true);
    for (name, schema) in reads.take_definitions(true) {
        // A type both read and written (an enum, an identifier) has one schema.
        debug_assert!(schemas.get(&name).is_none_or(|s| *s == schema), "two schemas named {name}");
        schemas.entry(name).or_insert(schema);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "NODE.DC Agent Gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The agent REST API (`/api/v1`, one route per MCP tool) and the internal API \
                (`/api/internal/v1`: entitlement projection, owner lifecycle, console links, reporting \
                and audit). Generated from the gateway's route table and types.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "tags": [
            { "name": "agent", "description": "The calling agent (agent token)." },
            { "name": "tools", "description": "One route per tool, through the same pipeline as MCP (agent token)." },
            { "name": "entitlements", "description": "Owners and clients projected from Launcher." },
            { "name": "owner lifecycle", "description": "An owner's agents, grants and tokens (Tasker's backend)." },
            { "name": "console", "description": "Sign-in links for the console." },
            { "name": "reporting", "description": "Agents, work sessions, activity and the audit trail." },
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": error_responses(),
            "securitySchemes": {
                "agentToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An agent's token (`ndc_at_…`), issued by the owner lifecycle API or the console.",
                },
                "internalToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An internal token: the shared one, Launcher's or Tasker's backend's. Each \
                        operation says which it accepts.",
                },
            },
        },
    })
}

fn operation(
    e: &Endpoint,
    reads: &mut SchemaGenerator,
    writes: &mut SchemaGenerator,
    query_types: &mut Vec<String>,
) -> Value {
    if let Some(def) = e.tool {
        return tool_operation(e, def());
    }
    let mut params: Vec<Value> = path_names(e.path)
        .map(|name| param(name, "path", true, json!({ "type": "string", "format": "uuid" })))
        .collect();
    if let Some(query) = e.query {
        params.extend(query_params(query(reads), reads, query_types));
    }
    if e.caller != Caller::Agent {
        params.push(json!({
            "name": "X-NodeDC-Admin",
            "in": "header",
            "required": false,
            "description": "The admin the call is made for, recorded in the change history (1 to 200 printable characters).",
            "schema": { "type": "string", "minLength": 1, "maxLength": 200 },
        }));
    }
    let mut op = json!({
        "operationId": operation_id(e),
        "summary": e.summary,
        "description": who(e.caller),
        "tags": [tag(e)],
        "security": [{ scheme(e.caller): [] }],
        "parameters": params,
    });
    if let Some(body) = e.body {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": body(reads) } } });
    }
    let mut content = Map::new();
    if let Some(answer) = e.answer {
        content.insert("application/json".into(), json!({ "schema": answer(writes) }));
    }
    if e.exports {
        let rows = |what: &str| json!({ "schema": { "type": "string", "description": what } });
        content.insert("text/csv".into(), rows("Every selected event, one CSV row each, with a header line."));
        content.insert("application/x-ndjson".into(), rows("Every selected event, one JSON object per line."));
    }
    let success = if e.status == 201 { "Created" } else { "OK" };
    op["responses"] = responses(e, json!({ "description": success, "content": content }));
    op
}

/// A tool's route: its arguments are the tool's input schema (path parameters from the
/// path, `idempotency_key` from the `Idempotency-Key` header, the rest from the query
/// string of a read or the body of a write); its answer, the tool's output.
fn tool_operation(e: &Endpoint, def: &ToolDef) -> Value {
    let props = def.input_schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let required: Vec<&str> = def
        .input_schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let in_path: Vec<&str> = path_names(e.path).collect();
    let schema_of = |name: &str| props.get(name).cloned().unwrap_or_else(|| json!({ "type": "string" }));
    let mut params: Vec<Value> = in_path.iter().map(|name| param(name, "path", true, schema_of(name))).collect();
    let mut op = json!({
        "operationId": def.name,
        "summary": def.title,
        "description": format!("The `{}` tool. {}", def.name, def.description),
        "tags": ["tools"],
        "security": [{ "agentToken": [] }],
    });
    if e.verb == Verb::Get {
        for (name, schema) in props.iter().filter(|(n, _)| !in_path.contains(&n.as_str())) {
            params.push(param(name, "query", required.contains(&name.as_str()), schema.clone()));
        }
    } else {
        if let Some(key) = props.get("idempotency_key") {
            params.push(param("Idempotency-Key", "header", required.contains(&"idempotency_key"), key.clone()));
        }
        let elsewhere = |n: &str| in_path.contains(&n) || n == "idempotency_key";
        let mut body = (*def.input_schema).clone();
        let body_props: Map<String, Value> = props.into_iter().filter(|(n, _)| !elsewhere(n)).collect();
        body.insert("properties".into(), Value::Object(body_props));
        let body_required: Vec<&str> = required.iter().copied().filter(|n| !elsewhere(n)).collect();
        if body_required.is_empty() {
            body.remove("required");
        } else {
            body.insert("required".into(), json!(body_required));
        }
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": body } } });
    }
    op["parameters"] = Value::Array(params);
    let answer = json!({
        "description": "The tool's structured result.",
        "content": { "application/json": { "schema": Value::Object((*def.output_schema).clone()) } },
    });
    op["responses"] = responses(e, answer);
    op
}

fn param(name: &str, place: &str, required: bool, mut schema: Value) -> Value {
    let description = schema.as_object_mut().and_then(|s| s.remove("description"));
    let mut p = json!({ "name": name, "in": place, "required": required, "schema": not_null(schema) });
    if let Some(d) = description {
        p["description"] = d;
    }
    p
}

/// A parameter is present or absent, never `null`: the schema without its null case.
fn not_null(schema: Value) -> Value {
    let Value::Object(mut s) = schema else { return schema };
    if let Some(Value::Array(types)) = s.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        s.insert("type".into(), if kept.len() == 1 { kept[0].clone() } else { Value::Array(kept) });
    }
    if let Some(Value::Array(any)) = s.get("anyOf") {
        let kept: Vec<Value> = any.iter().filter(|a| a.get("type") != Some(&json!("null"))).cloned().collect();
        if kept.len() == 1 && s.len() == 1 {
            return kept[0].clone();
        }
        s.insert("anyOf".into(), Value::Array(kept));
    }
    Value::Object(s)
}

/// The query type's properties as parameters (its name is noted in `query_types`).
fn query_params(schema: schemars::Schema, g: &SchemaGenerator, query_types: &mut Vec<String>) -> Vec<Value> {
    let mut schema = schema.to_value();
    if let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) {
        query_types.push(name.to_string());
        schema = g.definitions().get(name).cloned().unwrap_or_default();
    }
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    let props = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    props.into_iter().map(|(name, s)| param(&name, "query", required.contains(&name), s)).collect()
}

/// `{owner_user_id}`, `{issue}`…: the path's parameters, in order.
fn path_names(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
}

fn operation_id(e: &Endpoint) -> String {
    let mut id = e.verb.as_str().to_string();
    for part in e.path.trim_start_matches("/api/").split(|c: char| !c.is_ascii_alphanumeric()) {
        if !part.is_empty() {
            id.push('_');
            id.push_str(part);
        }
    }
    id
}

fn tag(e: &Endpoint) -> &'static str {
    let p = e.path;
    match e.caller {
        Caller::Agent => "agent",
        _ if p.contains("/reporting") || p.ends_with("/audit") => "reporting",
        _ if p.ends_with("/console-links") => "console",
        _ if p.contains("/agents") => "owner lifecycle",
        _ => "entitlements",
    }
}

fn scheme(c: Caller) -> &'static str {
    if c == Caller::Agent { "agentToken" } else { "internalToken" }
}

fn who(c: Caller) -> &'static str {
    match c {
        Caller::Agent => "Agent token.",
        Caller::Internal => "Any internal token (the shared one, Launcher's or Tasker's backend's).",
        Caller::Launcher => "Launcher's internal token or the shared one; Tasker's backend's is refused (403).",
        Caller::Tasker => "Tasker's backend's internal token or the shared one; Launcher's is refused (403).",
    }
}

/// The statuses an operation can answer with an error.
fn error_statuses(e: &Endpoint) -> Vec<u16> {
    let mut s = vec![400, 401, 403, 404, 429, 500, 503];
    let writes_body = e.body.is_some() || (e.tool.is_some() && e.verb != Verb::Get);
    if writes_body {
        s.extend([413, 415, 422]);
    }
    if e.verb != Verb::Get {
        s.push(409);
    }
    if e.tool.is_some() {
        s.extend([409, 422, 502]);
    }
    s.sort_unstable();
    s.dedup();
    s
}

fn responses(e: &Endpoint, success: Value) -> Value {
    let mut r = Map::new();
    r.insert(e.status.to_string(), success);
    for status in error_statuses(e) {
        r.insert(status.to_string(), json!({ "$ref": format!("#/components/responses/error_{status}") }));
    }
    Value::Object(r)
}

/// Every code the typed error enums give, with its status.
fn codes() -> Vec<(u16, &'static str)> {
    let mut all: Vec<(u16, &'static str)> = Vec::new();
    all.extend(HttpCode::ALL.iter().map(|c| (c.status().as_u16(), c.as_str())));
    all.extend(ToolCode::ALL.iter().map(|c| (c.status().as_u16(), c.as_str())));
    all.extend(Refusal::ALL.iter().map(|c| (c.status().as_u16(), c.as_str())));
    all.extend(Entity::ALL.iter().map(|c| (404, c.code())));
    all.extend(AccessDenial::ALL.iter().map(|c| (403, c.as_str())));
    all.sort_unstable();
    all.dedup();
    all
}

/// One shared response per error status: the error body, and the codes it can carry.
fn error_responses() -> Value {
    let all = codes();
    let mut statuses: Vec<u16> = all.iter().map(|(s, _)| *s).collect();
    statuses.dedup();
    let mut out = Map::new();
    for status in statuses {
        let list: Vec<String> = all.iter().filter(|(s, _)| *s == status).map(|(_, c)| format!("`{c}`")).collect();
        out.insert(
            format!("error_{status}"),
            json!({
                "description": format!("An error; `error.code` is one of {}.", list.join(", ")),
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            }),
        );
    }
    Value::Object(out)
}
