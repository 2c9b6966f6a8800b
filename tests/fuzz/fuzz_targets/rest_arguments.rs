//! The REST endpoints' arguments, without I/O: a read's query string typed by the
//! tool's input schema (`http::routes::tools::query_args`, `typed`), a write's body
//! merged with its path target and `Idempotency-Key` (`body_args`), then the
//! pipeline's argument step (`calls::arguments`) and `ToolDef::check` of every tool
//! on the same JSON. Never panics; refusals are 400s with a stable code; what is
//! accepted holds exactly the given names, typed as the schema says.
//!
//! Input lines: a tool name (or index), the query string, the path target, the
//! Idempotency-Key (empty: none), then the JSON body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodedc_agent_gateway::calls;
use nodedc_agent_gateway::http::routes::tools::{body_args, query_args};
use nodedc_agent_gateway::tools::{self, Target, ToolDef};
use serde_json::{Map, Value, json};

fn path_of(def: &ToolDef, target: &str) -> Map<String, Value> {
    let mut path = Map::new();
    match def.target {
        Target::Project(arg) | Target::Card(arg) => {
            path.insert(arg.to_string(), json!(target));
        }
        Target::None => {}
    }
    path
}

fn screen(def: &ToolDef, args: &Value) {
    if let Err(e) = calls::arguments(def, args) {
        assert!(!e.text().is_empty());
        assert!(e.message.chars().count() < 2_000, "a refusal stays short: {}", e.message);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(5, '\n');
    let (tool, query, target, key, body) = (
        lines.next().unwrap_or(""),
        lines.next().unwrap_or(""),
        lines.next().unwrap_or(""),
        lines.next(),
        lines.next(),
    );
    let catalogue = tools::catalogue();
    let def = tools::find(tool.trim()).unwrap_or_else(|| &catalogue[tool.len() % catalogue.len()]);

    let path = path_of(def, target);
    match query_args(def, path.clone(), query) {
        Ok(args) => {
            // A tool without arguments has no `properties`.
            let none = Map::new();
            let props = def.input_schema.get("properties").and_then(Value::as_object).unwrap_or(&none);
            for (name, value) in &args {
                assert!(props.contains_key(name) || path.contains_key(name), "unknown `{name}` accepted");
                let integer = props.get(name).and_then(|p| p.get("type")).is_some_and(|t| {
                    t == "integer" || t.as_array().is_some_and(|ts| ts.iter().any(|t| t == "integer"))
                });
                if integer && !path.contains_key(name) {
                    assert!(value.is_i64() || value.is_u64(), "`{name}` typed as {value}");
                }
            }
            screen(def, &Value::Object(args));
        }
        Err(e) => assert_eq!((e.status.as_u16(), e.code), (400, "invalid_query"), "{}", e.message),
    }

    let key = key.filter(|k| !k.is_empty()).map(str::as_bytes);
    let Ok(body) = serde_json::from_str::<Value>(body.unwrap_or("")) else { return };
    match body_args(body.clone(), path.clone(), key) {
        Ok(args) => {
            for (name, value) in &path {
                assert_eq!(args.get(name), Some(value), "the path's `{name}` wins");
            }
            assert_eq!(args.contains_key("idempotency_key"), key.is_some());
            screen(def, &Value::Object(args));
        }
        Err(e) => assert_eq!((e.status.as_u16(), e.code), (400, "invalid_body"), "{}", e.message),
    }
    for def in catalogue {
        let _ = def.check(&body);
        screen(def, &body);
    }
});
