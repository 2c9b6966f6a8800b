//! Snapshots of the public shapes (`tests/integration/snapshots/`), so that a change
//! to a tool's schema or to an error's shape shows up in review: the `tools/list`
//! answer for an agent with every scope on each protocol version (at most 12,000
//! bytes, and portable: see `assert_portable`), and the JSON of
//! every error code, as REST and MCP answer it.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test --test integration
//! schemas`, then review the diff of the `.snap` files.

use actix_web::ResponseError;
use nodedc_agent_gateway::calls::{ToolCode, ToolError};
use nodedc_agent_gateway::http::error::{ApiError, HttpCode};
use nodedc_agent_gateway::mcp;
use nodedc_agent_gateway::model::{AccessDenial, Scope};
use nodedc_agent_gateway::service::{Entity, Refusal, ServiceError};
use nodedc_agent_gateway::storage::Backend;
use nodedc_agent_gateway::tools;
use serde_json::{Map, Value, json};

use crate::common::TestApp;
use crate::common::mcp::{Mcp, Stateless};

#[actix_web::test]
async fn tools_list_for_every_scope_on_every_version() {
    crate::common::run_in_runtime(async {
        let app = TestApp::start(Backend::Sqlite).await;
        let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        let f = app.web_agent(&scopes).await;
        for version in mcp::LEGACY_VERSIONS {
            let mut m = Mcp::connect(&app, &f.token, version).await;
            let r = m.request("tools/list", json!({})).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let tools = &r.body["result"]["tools"];
            assert_eq!(tools.as_array().map(Vec::len), Some(tools::catalogue().len()), "every tool is listed");
            // The whole answer, envelope included: what an agent pays in context.
            assert!(r.text.len() <= 12_000, "tools/list on {version} is {} bytes", r.text.len());
            for tool in tools.as_array().unwrap() {
                for key in ["inputSchema", "outputSchema"] {
                    if let Some(schema) = tool.get(key) {
                        let at = format!("{}.{key}", tool["name"].as_str().unwrap());
                        assert_portable(schema, &at);
                    }
                }
            }
            insta::assert_json_snapshot!(format!("tools_list_{version}"), r.body["result"]);
        }
        // 2026-07-28: no session; the list with resultType and caching hints, and
        // server/discover (the server's version is redacted: it changes on release).
        let mut s = Stateless::new(&app, &f.token);
        for version in mcp::MODERN_VERSIONS {
            s.version = version.to_string();
            let r = s.request("tools/list", json!({})).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let tools = &r.body["result"]["tools"];
            assert_eq!(tools.as_array().map(Vec::len), Some(tools::catalogue().len()), "every tool is listed");
            insta::assert_json_snapshot!(format!("tools_list_{version}"), r.body["result"], {
                "._meta[\"io.modelcontextprotocol/serverInfo\"].version" => "[version]"
            });
            let r = s.request("server/discover", json!({})).await;
            assert_eq!(r.status, 200, "{}", r.text);
            insta::assert_json_snapshot!(format!("server_discover_{version}"), r.body["result"], {
                "._meta[\"io.modelcontextprotocol/serverInfo\"].version" => "[version]"
            });
        }
        app.stop().await;
    })
    .await
}

/// What the MCP Inspector's `--strict` portability check and single-type schema
/// dialects (Gemini, OpenAI strict mode) ask of a schema: no `type` arrays, no boolean
/// schemas, no remote references, and every subschema says what it accepts.
fn assert_portable(schema: &Value, at: &str) {
    let Some(obj) = schema.as_object() else {
        panic!("{at}: a boolean or non-object schema: {schema}");
    };
    if let Some(t) = obj.get("type") {
        assert!(t.is_string(), "{at}: a type array: {t}");
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        assert!(r.starts_with('#'), "{at}: a remote reference: {r}");
    }
    let constrained = ["type", "enum", "const", "$ref", "anyOf", "oneOf", "allOf"].iter().any(|k| obj.contains_key(*k));
    assert!(constrained, "{at}: an untyped schema: {schema}");
    for key in ["properties", "$defs", "definitions"] {
        for (name, sub) in obj.get(key).and_then(Value::as_object).into_iter().flatten() {
            assert_portable(sub, &format!("{at}.{name}"));
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = obj.get(key) {
            assert_portable(sub, &format!("{at}.{key}"));
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for (i, sub) in obj.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            assert_portable(sub, &format!("{at}.{key}[{i}]"));
        }
    }
}

/// The body and headers an error answers with (the request id is empty outside a
/// request).
async fn rest_shape(e: ApiError) -> Value {
    let res = e.error_response();
    let mut headers = Map::new();
    for name in ["cache-control", "retry-after", "www-authenticate"] {
        if let Some(v) = res.headers().get(name) {
            headers.insert(name.into(), json!(v.to_str().unwrap()));
        }
    }
    let status = res.status().as_u16();
    let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
    json!({ "status": status, "headers": headers, "body": serde_json::from_slice::<Value>(&body).unwrap() })
}

#[actix_web::test]
async fn every_error_code_has_a_stable_shape() {
    let def = tools::find("get_issue").unwrap();
    let mut tool_errors = Map::new();
    for &code in ToolCode::ALL {
        let e = ToolError::new(code, "What happened, and how to recover.");
        let mcp_result: Vec<Value> = mcp::LEGACY_VERSIONS
            .iter()
            .map(|v| serde_json::to_value(mcp::call_result(def, Err(e.clone()), v)).unwrap())
            .collect();
        assert!(mcp_result.windows(2).all(|w| w[0] == w[1]), "tool errors look the same on every session version");
        // 2026-07-28 adds resultType and nothing else.
        let mut modern = serde_json::to_value(mcp::call_result(def, Err(e.clone()), mcp::MODERN_VERSIONS[0])).unwrap();
        assert_eq!(modern.as_object_mut().unwrap().remove("resultType"), Some(json!("complete")));
        assert_eq!(modern, mcp_result[0]);
        let shape = json!({
            "outcome": code.outcome().as_str(),
            "rest": rest_shape(e.clone().into()).await,
            "rest_with_retry_and_details": rest_shape(e.retry_after(3).with_details(json!({"field": "x"})).into()).await,
            "mcp": mcp_result[0],
        });
        tool_errors.insert(code.as_str().into(), shape);
    }
    insta::assert_json_snapshot!("tool_error_codes", tool_errors);

    let mut http_errors = Map::new();
    for &code in HttpCode::ALL {
        http_errors.insert(code.as_str().into(), rest_shape(ApiError::new(code, "What happened.")).await);
    }
    let mut service: Vec<ServiceError> = Entity::ALL.iter().map(|e| ServiceError::NotFound(*e)).collect();
    service.extend(AccessDenial::ALL.iter().map(|d| ServiceError::AccessDenied(*d)));
    service.extend(Refusal::ALL.iter().map(|r| ServiceError::refused(*r, "What was refused.")));
    for e in service {
        http_errors.insert(e.code().into(), rest_shape(e.into()).await);
    }
    insta::assert_json_snapshot!("http_error_codes", http_errors);

    // The MCP endpoint's own protocol faults: code, HTTP status, data.
    let mut faults = Map::new();
    for (name, f) in mcp::Fault::examples() {
        let id = Some(rmcp::model::RequestId::Number(7));
        faults.insert(name.into(), json!({ "status": f.status().as_u16(), "body": mcp::fault(id, &f) }));
    }
    insta::assert_json_snapshot!("mcp_protocol_faults", faults);
}
