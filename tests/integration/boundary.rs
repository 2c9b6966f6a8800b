//! Nothing passes through to Tasker: the gateway forwards no raw path. The probe's
//! paths are generated from the adapter contract's own endpoints, Plane's API
//! prefixes and path-traversal spellings, sent with every method and a valid agent
//! token, against a gateway whose Tasker is a recorder. The recorder must see nothing
//! (and sees the one legitimate call made at the end, so the probe can fail).

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use nodedc_agent_gateway::storage::Backend;
use nodedc_agent_gateway::tasker::contract::{BASE_PATH, ENDPOINTS};

use crate::common::TestApp;

on_both_backends!(no_raw_path_reaches_tasker);

/// A stand-in Tasker that records every request it gets.
async fn recorder() -> (String, Arc<Mutex<Vec<String>>>, actix_web::dev::ServerHandle) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = HttpServer::new(move || {
        let log = log.clone();
        App::new().default_service(web::to(move |req: HttpRequest| {
            log.lock().unwrap().push(format!("{} {}", req.method(), req.uri()));
            // The owner's projects, which the gateway itself asks for to check a grant.
            let owners_projects = req.path().contains("/users/") && req.path().ends_with("/projects");
            async move {
                if owners_projects {
                    let web = serde_json::json!({"id": nodedc_agent_gateway::reference_tasker::demo::WEB, "identifier": "WEB", "name": "Website"});
                    return HttpResponse::Ok().json(serde_json::json!({"projects": [web]}));
                }
                HttpResponse::NotFound().json(serde_json::json!({"error": {"code": "not_found", "message": "x"}}))
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (url, seen, handle)
}

/// A contract path with its parameters filled in.
fn filled(pattern: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        rest = &rest[start + rest[start..].find('}').unwrap() + 1..];
        out.push_str(value);
    }
    out + rest
}

fn probe_paths() -> Vec<String> {
    let values = ["WEB", "WEB-1", "7a5c0002-0000-4000-8000-000000000111"];
    let mut contract: Vec<String> = Vec::new();
    for (_, pattern) in ENDPOINTS {
        for v in values {
            contract.push(filled(pattern, v));
        }
    }
    contract.sort();
    contract.dedup();
    // Where a forwarding proxy would take them: the adapter's own base path, Plane's
    // API prefixes (workspace slug `demo`), and prefixes a proxy might strip.
    let prefixes = [
        BASE_PATH.to_string(),
        "/api/v1/workspaces/demo".into(),
        "/api/workspaces/demo".into(),
        "/api/v1/internal".into(),
        "/api/internal".into(),
        "/api/internal/v1".into(),
        "/api/v1/agent".into(),
        "/tasker".into(),
        "/proxy".into(),
    ];
    let mut paths: Vec<String> = Vec::new();
    for prefix in &prefixes {
        for c in &contract {
            paths.push(format!("{prefix}{c}"));
        }
    }
    // Plane's own API shapes.
    for p in [
        "/api/v1/workspaces/demo/projects/",
        "/api/v1/workspaces/demo/projects/WEB/issues/",
        "/api/v1/workspaces/demo/projects/WEB/issues/WEB-1/",
        "/api/v1/workspaces/demo/projects/WEB/archived-issues/",
        "/api/v1/workspaces/demo/projects/WEB/issues/WEB-1/archive/",
        "/api/workspaces/demo/projects/WEB/issues/WEB-1/",
        "/api/users/me/",
        "/api/instances/",
        "/auth/sign-in/",
    ] {
        paths.push(p.to_string());
    }
    // Traversal spellings from the gateway's own routes to the adapter's.
    let target = format!("{BASE_PATH}/projects");
    let up = target.trim_start_matches('/');
    for from in ["/api/v1", "/api/v1/issues/WEB-1", "/api/v1/projects/WEB", "/mcp", "/api/internal/v1/owners"] {
        let depth = from.matches('/').count();
        paths.push(format!("{from}/{}{up}", "../".repeat(depth)));
        paths.push(format!("{from}/{}{up}", "%2e%2e/".repeat(depth)));
        paths.push(format!("{from}/{}{up}", "..%2f".repeat(depth)));
        paths.push(format!("{from}/{}{up}", "%2e%2e%2f".repeat(depth)));
        paths.push(format!("{from}/{}{up}", "..\\".repeat(depth)));
        paths.push(format!("{from}//{up}"));
        paths.push(format!("{from}/./{up}"));
    }
    paths.push(format!("/api/v1/issues/WEB-1%2f..%2f..%2f..{target}"));
    paths.push(format!("/api/v1/issues/..%2f..%2f..{target}"));
    paths.push(format!("/{}", target.replace('/', "%2f").trim_start_matches("%2f")));
    paths.push(format!("/%2e{target}"));
    paths.push(format!("{target}%00"));
    paths.sort();
    paths.dedup();
    paths
}

async fn no_raw_path_reaches_tasker(backend: Backend) {
    let (url, seen, recorder) = recorder().await;
    let app = TestApp::builder(backend).tasker_url(url).start().await;
    let f = app.web_agent(&["project:read", "issue:read", "issue:create", "issue:update", "issue:comment"]).await;
    // Creating the agent asked Tasker for the owner's projects (the grant check), and
    // nothing else.
    let asked = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(asked, [format!("GET {BASE_PATH}/users/{}/projects", f.owner)]);
    let headers = [("Authorization", format!("Bearer {}", f.token)), ("Idempotency-Key", "probe-key-0001".into())];
    let paths = probe_paths();
    assert!(paths.len() > 150, "the probe covers the contract: {} paths", paths.len());
    for path in &paths {
        for method in ["GET", "POST", "PATCH", "PUT", "DELETE"] {
            let body = (method != "GET" && method != "DELETE").then(|| serde_json::json!({}));
            let r = app.send_with(method, path, &headers, body).await;
            assert!(
                [400, 404, 405].contains(&r.status),
                "{method} {path} answered {} {}; expected a refusal",
                r.status,
                r.text
            );
            assert!(
                r.code() != "" && r.body["error"]["request_id"].is_string(),
                "the gateway's own answer: {}",
                r.text
            );
            assert_eq!(seen.lock().unwrap().as_slice(), &[] as &[String], "{method} {path} reached Tasker");
        }
    }
    // The recorder does see a real tool call: the probe above could have failed.
    let r = app.send("GET", "/api/v1/issues/WEB-1", Some(&f.token), None).await;
    assert_eq!(r.status, 404, "the recorder answers not_found: {}", r.text);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, [format!("GET {BASE_PATH}/issues/WEB-1")]);
    app.stop().await;
    recorder.stop(false).await;
}
