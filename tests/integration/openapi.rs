//! `/openapi.json`: served without a token, valid OpenAPI 3.1 (checked by
//! `openapi-spec-validator` from tests/clients/requirements.txt, in
//! tests/clients/.venv), and exactly the route table: every route the app registers
//! under `/api/v1` and `/api/internal/v1` is described and nothing else is. The live
//! app is probed too, so the table is what is served: each documented method answers
//! (401 without a token, not 404 or 405), each other method on a documented path is a
//! 405, each internal operation takes exactly the internal tokens it names, and an
//! internal read has query parameters exactly when it reads its query string.
//!
//! The document is snapshotted (`snapshots/integration__openapi__openapi.snap`); after
//! an intended change: `INSTA_UPDATE=always cargo test --test integration openapi`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use nodedc_agent_gateway::auth::{InternalToken, InternalTokens};
use nodedc_agent_gateway::http::routes::{self, Caller};
use nodedc_agent_gateway::storage::Backend;
use serde_json::{Value, json};

use crate::common::{INTERNAL_TOKEN, TestApp};

const PREFIXES: [&str; 2] = ["/api/v1/", "/api/internal/v1/"];
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const LAUNCHER: &str = "openapi-launcher-token-0123456789-abcdefghij";
const TASKER: &str = "openapi-tasker-token-0123456789-abcdefghijkl";

async fn served(app: &TestApp) -> Value {
    let r = app.send("GET", "/openapi.json", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(ct.starts_with("application/json"), "content type {ct}");
    assert!(r.body.is_object(), "{}", r.text);
    for secret in [INTERNAL_TOKEN, LAUNCHER, TASKER] {
        assert!(!r.text.contains(secret), "the document holds an internal token");
    }
    r.body
}

/// (METHOD, path) of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            ops.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    ops
}

/// (METHOD, path) of every route the app registers under the two prefixes.
fn registered() -> BTreeSet<(String, String)> {
    routes::api()
        .iter()
        .filter(|e| PREFIXES.iter().any(|p| e.path.starts_with(p)))
        .map(|e| (e.verb.method().to_string(), e.path.to_string()))
        .collect()
}

/// A concrete path: every `{parameter}` an id.
fn concrete(path: &str) -> String {
    let id = "0190c0de-0000-7000-8000-000000000001";
    path.split('/').map(|s| if s.starts_with('{') { id } else { s }).collect::<Vec<_>>().join("/")
}

#[actix_web::test]
async fn the_document_is_the_route_table() {
    crate::common::run_in_runtime(async {
        let tokens = InternalTokens {
            shared: Some(InternalToken::new(INTERNAL_TOKEN.into())),
            launcher: Some(InternalToken::new(LAUNCHER.into())),
            tasker_backend: Some(InternalToken::new(TASKER.into())),
        };
        let app = TestApp::builder(Backend::Sqlite).internal_tokens(tokens).start().await;
        let doc = served(&app).await;
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

        let (documented, registered) = (documented(&doc), registered());
        assert!(registered.len() > 40, "the table holds the whole API: {registered:?}");
        let missing: Vec<_> = registered.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&registered).collect();
        assert!(missing.is_empty(), "registered but not documented: {missing:?}");
        assert!(extra.is_empty(), "documented but not registered: {extra:?}");

        // The live app serves exactly the documented methods on each documented path.
        for (path, item) in doc["paths"].as_object().unwrap() {
            assert!(PREFIXES.iter().any(|p| path.starts_with(p)), "{path} is outside the two APIs");
            for method in METHODS {
                let r = app.send(method, &concrete(path), None, None).await;
                if item.get(method.to_ascii_lowercase()).is_some() {
                    assert_eq!((r.status, r.code()), (401, "missing_token"), "{method} {path}: {}", r.text);
                } else {
                    assert_eq!(r.status, 405, "{method} {path} is not documented: {}", r.text);
                }
            }
        }

        // Each operation's security scheme and callers are the ones its handler takes.
        for e in routes::api() {
            let op = &doc["paths"][e.path][e.verb.as_str()];
            let scheme = if e.caller == Caller::Agent { "agentToken" } else { "internalToken" };
            assert_eq!(op["security"], json!([{ scheme: [] }]), "{} {}", e.verb.as_str(), e.path);
            let refused: &[&str] = match e.caller {
                Caller::Agent => &[INTERNAL_TOKEN],
                Caller::Internal => &[],
                Caller::Launcher => &[TASKER],
                Caller::Tasker => &[LAUNCHER],
            };
            let method = e.verb.method().to_string();
            for token in refused {
                let r = app.send(&method, &concrete(e.path), Some(token), None).await;
                assert!(matches!(r.status, 401 | 403), "{method} {} takes a token it should not: {}", e.path, r.text);
            }
            if e.caller != Caller::Agent {
                let accepted = match e.caller {
                    Caller::Launcher => vec![INTERNAL_TOKEN, LAUNCHER],
                    Caller::Tasker => vec![INTERNAL_TOKEN, TASKER],
                    _ => vec![INTERNAL_TOKEN, LAUNCHER, TASKER],
                };
                for token in accepted {
                    let r = app.send(&method, &concrete(e.path), Some(token), None).await;
                    assert!(!matches!(r.status, 401 | 403), "{method} {} refuses a token it names: {}", e.path, r.text);
                }
            }
        }
        // An internal read documents query parameters exactly when it reads the query
        // string (an unknown parameter is then refused by name).
        for e in routes::api().iter().filter(|e| e.caller != Caller::Agent && e.verb.as_str() == "get") {
            let op = &doc["paths"][e.path]["get"];
            let params = op["parameters"].as_array().unwrap();
            let in_query = params.iter().any(|p| p["in"] == "query");
            let r = app.send("GET", &format!("{}?zz_unknown=1", concrete(e.path)), Some(INTERNAL_TOKEN), None).await;
            assert_eq!(r.code() == "invalid_query", in_query, "GET {}: {}", e.path, r.text);
        }
        app.stop().await;
    })
    .await;
}

fn python() -> PathBuf {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/.venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: ./tests/run.sh installs tests/clients/requirements.txt (openapi-spec-validator) there",
        py.display()
    );
    py
}

/// `openapi-spec-validator`'s verdict on a document: `None` when valid, else why not.
fn spec_errors(doc: &Value) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    let script = "import json, sys\n\
        from openapi_spec_validator import validate\n\
        from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
        validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n";
    let out = Command::new(python()).arg("-c").arg(script).arg(&file).output().expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("ModuleNotFoundError"), "openapi-spec-validator is not installed: {stderr}");
    (!out.status.success()).then_some(stderr)
}

#[actix_web::test]
async fn the_document_is_valid_openapi_3_1() {
    crate::common::run_in_runtime(async {
        let app = TestApp::start(Backend::Sqlite).await;
        let doc = served(&app).await;
        app.stop().await;
        if let Some(why) = spec_errors(&doc) {
            panic!("/openapi.json is not valid OpenAPI 3.1:\n{why}");
        }
        // The validator does reject: a dangling reference, an undeclared path parameter.
        let mut dangling = doc.clone();
        dangling["components"]["schemas"].as_object_mut().unwrap().remove("Error");
        assert!(spec_errors(&dangling).is_some(), "a dangling $ref passes the validator");
        let mut undeclared = doc.clone();
        let (path, _) = doc["paths"].as_object().unwrap().iter().find(|(p, _)| p.contains('{')).unwrap();
        for op in undeclared["paths"][path.as_str()].as_object_mut().unwrap().values_mut() {
            op["parameters"] = json!([]);
        }
        assert!(spec_errors(&undeclared).is_some(), "an undeclared path parameter passes the validator");

        insta::assert_json_snapshot!("openapi", doc, { ".info.version" => "[version]" });
    })
    .await;
}
