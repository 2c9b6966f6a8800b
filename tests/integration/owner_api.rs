//! The owner lifecycle and entitlement API: every route, ownership isolation,
//! entitlement rules, bad input, request ids and audit.

use nodedc_agent_gateway::storage::Backend;
use nodedc_agent_gateway::storage::audit::{AuditFilter, list};
use serde_json::{Value, json};
use uuid::Uuid;

use nodedc_agent_gateway::reference_tasker::demo;

use crate::common::{INTERNAL_TOKEN, TestApp};

on_both_backends!(
    agent_lifecycle_through_every_route,
    another_owners_agent_is_not_found_on_every_route,
    entitlement_is_required_to_create_agents_and_tokens,
    new_agents_get_read_only_grants_unless_asked,
    bad_input_gets_precise_client_errors,
    internal_routes_require_the_internal_token,
    request_id_reaches_response_error_and_audit,
    every_change_is_audited,
    agent_names_are_unique_per_owner,
    names_are_one_line_without_bidi_overrides,
    concurrent_first_upserts_of_an_owner_all_succeed,
    readiness_reflects_the_schema,
    grants_are_checked_against_tasker,
    readiness_reports_tasker_separately,
);

async fn readiness_reflects_the_schema(backend: Backend) {
    let app = TestApp::start(backend).await;
    assert_eq!(app.send("GET", "/readyz", None, None).await.status, 200);
    app.db
        .run(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('29990101000000')")
                .execute(c)?;
            Ok::<_, nodedc_agent_gateway::storage::StorageError>(())
        })
        .await
        .unwrap();
    let r = app.send("GET", "/readyz", None, None).await;
    assert_eq!((r.status, r.code()), (503, "not_ready"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("newer than this binary"));
    assert_eq!(app.send("GET", "/healthz", None, None).await.status, 200, "the process is still up");
    app.stop().await;
}

async fn concurrent_first_upserts_of_an_owner_all_succeed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let owner = Uuid::new_v4();
    let results = futures_util::future::join_all((0..8).map(|_| app.upsert_owner(owner, "active", true))).await;
    assert!(results.iter().all(|r| r.status == 200), "{:?}", results.iter().map(|r| &r.text).collect::<Vec<_>>());
    let r = app.internal("GET", &format!("/owners/{owner}/changes"), None).await;
    let created = r.body["changes"].as_array().unwrap().iter().filter(|c| c["old_value"].is_null()).count();
    assert_eq!(created, 3, "one creation: display_name, status, codex_agents");
    app.stop().await;
}

async fn agent_lifecycle_through_every_route(backend: Backend) {
    let app = TestApp::start(backend).await;
    let owner = Uuid::new_v4();
    let r = app.upsert_owner(owner, "active", true).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["access"]["allowed"], true);
    let r = app.internal("GET", &format!("/owners/{owner}"), None).await;
    assert_eq!((r.status, r.body["codex_agents"].as_bool()), (200, Some(true)));
    let r = app.internal("GET", &format!("/owners/{owner}/access"), None).await;
    assert_eq!(r.body, json!({"owner_user_id": owner, "allowed": true, "reason": null, "message": null}));

    // Projects the owner has in the reference Tasker.
    let (project, other) = (demo::WEB, demo::OPS);
    app.tasker_member(owner, project).await;
    app.tasker_member(owner, other).await;
    let r = app
        .internal(
            "POST",
            &format!("/owners/{owner}/agents"),
            Some(json!({
                "name": "  Web bot  ",
                "description": "works on the web board",
                "grants": [{"project_id": project, "project_identifier": "web", "scopes": ["issue:read", "issue:move"]}]
            })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["name"], "Web bot");
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["grants"][0]["project_identifier"], "WEB");
    let agent = r.body["id"].as_str().unwrap().to_string();

    let r = app.internal("GET", &format!("/owners/{owner}/agents"), None).await;
    assert_eq!(r.body["agents"].as_array().unwrap().len(), 1);
    let r = app.internal("GET", &format!("/owners/{owner}/agents/{agent}"), None).await;
    assert_eq!((r.status, r.body["description"].as_str()), (200, Some("works on the web board")));

    let r = app.internal("PATCH", &format!("/owners/{owner}/agents/{agent}"), Some(json!({"name": "Web bot 2"}))).await;
    assert_eq!((r.status, r.body["name"].as_str()), (200, Some("Web bot 2")));
    assert_eq!(r.body["description"], "works on the web board", "untouched fields stay");

    let r = app
        .internal(
            "PUT",
            &format!("/owners/{owner}/agents/{agent}/grants"),
            Some(json!({"grants": [
                {"project_id": project, "project_identifier": "WEB", "scopes": ["issue:read", "issue:create", "issue:blocks"]},
                {"project_id": other, "project_identifier": "OPS"}
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.internal("GET", &format!("/owners/{owner}/agents/{agent}/grants"), None).await;
    let grants = r.body["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[0]["project_identifier"], "OPS");
    assert_eq!(grants[0]["scopes"], json!(["project:read", "issue:read"]));
    assert_eq!(grants[1]["scopes"], json!(["issue:read", "issue:create", "issue:blocks"]));

    let r = app
        .internal(
            "POST",
            &format!("/owners/{owner}/agents/{agent}/tokens"),
            Some(json!({"label": "laptop", "expires_in_days": 30})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
    let token = r.body["token"].as_str().unwrap().to_string();
    let token_id = r.body["token_info"]["id"].as_str().unwrap().to_string();
    assert!(r.body["token_info"]["expires_at"].is_string());
    let codex = &r.body["codex"];
    assert_eq!(codex["url"], "http://gateway.test/mcp");
    assert!(codex["config_toml"].as_str().unwrap().contains("bearer_token_env_var"));
    assert!(!codex.to_string().contains(&token), "the Codex configuration never holds the token");

    let r = app.internal("GET", &format!("/owners/{owner}/agents/{agent}/tokens"), None).await;
    assert_eq!(r.status, 200);
    let listed = &r.body["tokens"][0];
    assert_eq!(listed["id"], token_id.as_str());
    assert!(listed.get("secret_hash").is_none() && listed.get("token").is_none());
    assert!(!r.text.contains(&token[28..71]), "a listing never shows the secret");

    let r = app.whoami(&token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["scopes"], json!(["project:read", "issue:read", "issue:create", "issue:blocks"]));

    let r = app.internal("POST", &format!("/owners/{owner}/agents/{agent}/tokens/{token_id}/revoke"), None).await;
    assert_eq!(r.status, 200);
    let again = app.internal("POST", &format!("/owners/{owner}/agents/{agent}/tokens/{token_id}/revoke"), None).await;
    assert_eq!(again.status, 200, "revoking twice answers the same");
    assert_eq!(again.body["revoked_at"], r.body["revoked_at"]);

    let r = app.internal("POST", &format!("/owners/{owner}/agents/{agent}/revoke"), None).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("revoked")));
    let r = app.internal("PATCH", &format!("/owners/{owner}/agents/{agent}"), Some(json!({"description": "x"}))).await;
    assert_eq!((r.status, r.code()), (409, "agent_revoked"));
    let r = app.internal("GET", &format!("/owners/{owner}/audit"), None).await;
    assert!(r.body["events"].as_array().unwrap().len() >= 7);
    app.stop().await;
}

/// Every route that names an agent, with a body where it needs one.
fn agent_routes(owner: Uuid, agent: &str, token_id: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let base = format!("/owners/{owner}/agents/{agent}");
    vec![
        ("GET", base.clone(), None),
        ("PATCH", base.clone(), Some(json!({"name": "stolen"}))),
        ("POST", format!("{base}/revoke"), None),
        ("GET", format!("{base}/grants"), None),
        (
            "PUT",
            format!("{base}/grants"),
            Some(
                json!({"grants": [{"project_id": Uuid::new_v4(), "project_identifier": "EVIL", "scopes": ["issue:create"]}]}),
            ),
        ),
        ("POST", format!("{base}/tokens"), Some(json!({"label": "stolen"}))),
        ("GET", format!("{base}/tokens"), None),
        ("POST", format!("{base}/tokens/{token_id}/revoke"), None),
    ]
}

async fn another_owners_agent_is_not_found_on_every_route(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.agent_with_token().await;
    let b = app.agent_with_token().await;
    let before = app.internal("GET", &format!("/owners/{}/agents/{}", a.owner, a.agent), None).await.body;

    for (method, path, body) in agent_routes(b.owner, &a.agent.to_string(), &a.token_id.to_string()) {
        let r = app.internal(method, &path, body.clone()).await;
        // Exactly what a nonexistent agent gets: no hint that it exists.
        let missing = path.replace(&a.agent.to_string(), &Uuid::new_v4().to_string());
        let m = app.internal(method, &missing, body).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
        assert_eq!((r.code(), &r.body["error"]["message"]), (m.code(), &m.body["error"]["message"]), "{method} {path}");
    }
    // B's own token path with A's token id is not found either.
    let r = app
        .internal("POST", &format!("/owners/{}/agents/{}/tokens/{}/revoke", b.owner, b.agent, a.token_id), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "token_not_found"));
    // B's listing does not include A's agent.
    let r = app.internal("GET", &format!("/owners/{}/agents", b.owner), None).await;
    assert!(!r.text.contains(&a.agent.to_string()));

    // Nothing of A's changed, and A's token still works.
    let after = app.internal("GET", &format!("/owners/{}/agents/{}", a.owner, a.agent), None).await.body;
    assert_eq!(before, after);
    let tokens = app.internal("GET", &format!("/owners/{}/agents/{}/tokens", a.owner, a.agent), None).await;
    assert_eq!(tokens.body["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(app.whoami(&a.token).await.status, 200);

    // The attempts are audited as denied, under the owner who tried.
    let filter = AuditFilter { owner_user_id: Some(b.owner), limit: 100, ..Default::default() };
    let events = app.db.run(move |c| list(c, &filter)).await.unwrap();
    let denied = events.iter().filter(|e| e.outcome.as_str() == "denied").count();
    assert!(denied >= 5, "{denied} denied events");
    app.stop().await;
}

async fn entitlement_is_required_to_create_agents_and_tokens(backend: Backend) {
    let app = TestApp::start(backend).await;
    let create = |owner: Uuid| {
        let app = &app;
        async move { app.internal("POST", &format!("/owners/{owner}/agents"), Some(json!({"name": "bot"}))).await }
    };
    let unknown = Uuid::new_v4();
    let r = create(unknown).await;
    assert_eq!((r.status, r.code()), (403, "owner_unknown"));
    let r = app.internal("GET", &format!("/owners/{unknown}/access"), None).await;
    assert_eq!((r.body["allowed"].as_bool(), r.body["reason"].as_str()), (Some(false), Some("owner_unknown")));

    for (status, codex, code) in [
        ("active", false, "entitlement_missing"),
        ("blocked", true, "owner_blocked"),
        ("annulled", true, "owner_annulled"),
    ] {
        let owner = Uuid::new_v4();
        app.upsert_owner(owner, status, codex).await;
        let r = create(owner).await;
        assert_eq!((r.status, r.code()), (403, code), "{}", r.text);
        let r = app.internal("GET", &format!("/owners/{owner}/access"), None).await;
        assert_eq!(r.body["reason"], code);
        assert!(r.body["message"].as_str().unwrap().len() > 10);
    }

    // An agent whose owner later loses the entitlement cannot be given a token.
    let f = app.agent_with_token().await;
    app.upsert_owner(f.owner, "active", false).await;
    let r = app
        .internal("POST", &format!("/owners/{}/agents/{}/tokens", f.owner, f.agent), Some(json!({"label": "x"})))
        .await;
    assert_eq!((r.status, r.code()), (403, "entitlement_missing"));
    app.stop().await;
}

async fn new_agents_get_read_only_grants_unless_asked(backend: Backend) {
    let app = TestApp::start(backend).await;
    let owner = Uuid::new_v4();
    app.upsert_owner(owner, "active", true).await;
    app.tasker_member(owner, demo::WEB).await;
    let r = app
        .internal(
            "POST",
            &format!("/owners/{owner}/agents"),
            Some(json!({"name": "reader", "grants": [{"project_id": demo::WEB, "project_identifier": "WEB"}]})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["grants"][0]["scopes"], json!(["project:read", "issue:read"]));
    // An empty list is a mistake, not "nothing": say so.
    let r = app
        .internal(
            "POST",
            &format!("/owners/{owner}/agents"),
            Some(json!({"name": "x", "grants": [{"project_id": Uuid::new_v4(), "project_identifier": "WEB", "scopes": []}]})),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "invalid_scopes"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("issue:create"));
    app.stop().await;
}

async fn bad_input_gets_precise_client_errors(backend: Backend) {
    let app = TestApp::builder(backend).max_body(4096).start().await;
    let f = app.agent_with_token().await;
    let agents = format!("/api/internal/v1/owners/{}/agents", f.owner);
    let raw = |method: &'static str, path: String, ctype: &'static str, body: String| {
        let app = &app;
        async move {
            let m = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
            let mut res = app
                .client
                .request(m, app.url(&path))
                .insert_header(("Authorization", format!("Bearer {INTERNAL_TOKEN}")))
                .insert_header(("Content-Type", ctype))
                .send_body(body)
                .await
                .unwrap();
            let v: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap_or(Value::Null);
            (res.status().as_u16(), v["error"]["code"].as_str().unwrap_or("").to_string(), v)
        }
    };
    let json_ct = "application/json";
    let cases: Vec<(&str, String, &str, String, u16, &str, &str)> = vec![
        ("POST", agents.clone(), json_ct, "{\"name\": ".into(), 400, "invalid_body", "EOF"),
        ("POST", agents.clone(), json_ct, "[1,2]".into(), 400, "invalid_body", "invalid type"),
        ("POST", agents.clone(), json_ct, r#"{"name":"a","admin":true}"#.into(), 400, "invalid_body", "admin"),
        ("POST", agents.clone(), json_ct, r#"{"description":"no name"}"#.into(), 400, "invalid_body", "name"),
        (
            "POST",
            agents.clone(),
            json_ct,
            format!(r#"{{"name":"{}"}}"#, "x".repeat(5000)),
            413,
            "payload_too_large",
            "4096",
        ),
        (
            "POST",
            agents.clone(),
            "text/plain",
            r#"{"name":"a"}"#.into(),
            415,
            "unsupported_media_type",
            "application/json",
        ),
        ("POST", agents.clone(), json_ct, format!(r#"{{"name":"{}"}}"#, "x".repeat(81)), 422, "invalid_field", "name"),
        ("POST", agents.clone(), json_ct, r#"{"name":"a\u0007"}"#.into(), 422, "invalid_field", "control"),
        (
            "POST",
            agents.clone(),
            json_ct,
            format!(
                r#"{{"name":"a","grants":[{{"project_id":"{}","project_identifier":"WEB","scopes":["issue:delete"]}}]}}"#,
                Uuid::new_v4()
            ),
            400,
            "invalid_body",
            "issue:create",
        ),
        (
            "POST",
            agents.clone(),
            json_ct,
            r#"{"name":"a","grants":[{"project_id":"not-a-uuid","project_identifier":"WEB"}]}"#.into(),
            400,
            "invalid_body",
            "UUID",
        ),
        (
            "POST",
            agents.clone(),
            json_ct,
            format!(r#"{{"name":"a","grants":[{{"project_id":"{}","project_identifier":"W-1"}}]}}"#, Uuid::new_v4()),
            400,
            "invalid_body",
            "identifier",
        ),
        (
            "PUT",
            format!("/api/internal/v1/owners/{}", f.owner),
            json_ct,
            r#"{"display_name":"x","status":"deleted","entitlements":[]}"#.into(),
            400,
            "invalid_body",
            "active, blocked, annulled",
        ),
        (
            "PUT",
            format!("/api/internal/v1/owners/{}", f.owner),
            json_ct,
            r#"{"display_name":"x","status":"active","entitlements":["Codex Agents"]}"#.into(),
            400,
            "invalid_body",
            "Codex Agents",
        ),
        (
            "GET",
            "/api/internal/v1/owners/not-a-uuid/agents".into(),
            json_ct,
            String::new(),
            400,
            "invalid_path",
            "UUID",
        ),
        ("GET", format!("{agents}/123"), json_ct, String::new(), 400, "invalid_path", "UUID"),
        (
            "GET",
            format!("/api/internal/v1/owners/{}/audit?limit=0", f.owner),
            json_ct,
            String::new(),
            400,
            "invalid_query",
            "limit",
        ),
        (
            "GET",
            format!("/api/internal/v1/owners/{}/audit?limit=x", f.owner),
            json_ct,
            String::new(),
            400,
            "invalid_query",
            "limit",
        ),
        (
            "GET",
            format!("/api/internal/v1/owners/{}/audit?bogus=1", f.owner),
            json_ct,
            String::new(),
            400,
            "invalid_query",
            "bogus",
        ),
        ("DELETE", format!("{agents}/{}", f.agent), json_ct, String::new(), 405, "method_not_allowed", "DELETE"),
        ("DELETE", agents.clone(), json_ct, String::new(), 405, "method_not_allowed", "DELETE"),
        ("POST", format!("{agents}/{}/archive", f.agent), json_ct, String::new(), 404, "route_not_found", "route"),
        ("GET", "/api/v1/projects/anything/raw".into(), json_ct, String::new(), 404, "route_not_found", "route"),
        (
            "POST",
            format!("{agents}/{}/tokens", f.agent),
            json_ct,
            r#"{"label":"x","expires_in_days":0}"#.into(),
            400,
            "invalid_body",
            "expires_in_days",
        ),
        ("PATCH", format!("{agents}/{}", f.agent), json_ct, "{}".into(), 400, "invalid_body", "name"),
    ];
    for (method, path, ctype, body, status, code, mentions) in cases {
        let (got_status, got_code, v) = raw(method, path.clone(), ctype, body).await;
        assert_eq!((got_status, got_code.as_str()), (status, code), "{method} {path}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(mentions), "{method} {path}: message `{message}` should mention `{mentions}`");
        assert!(v["error"]["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    }
    // None of that changed anything.
    let r = app.internal("GET", &format!("/owners/{}/agents", f.owner), None).await;
    assert_eq!(r.body["agents"].as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn internal_routes_require_the_internal_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    let owner = Uuid::new_v4();
    let path = format!("/api/internal/v1/owners/{owner}/agents");
    let r = app.send("GET", &path, None, None).await;
    assert_eq!((r.status, r.code()), (401, "missing_token"));
    assert!(r.headers.contains_key("www-authenticate"));
    let wrong = format!("{}x", &INTERNAL_TOKEN[..INTERNAL_TOKEN.len() - 1]);
    let r = app.send("GET", &path, Some(&wrong), None).await;
    assert_eq!((r.status, r.code()), (401, "invalid_internal_token"));
    let r = app.send("POST", &path, Some("short"), Some(json!({"name": "x"}))).await;
    assert_eq!(r.status, 401);
    // Health needs no token.
    assert_eq!(app.send("GET", "/healthz", None, None).await.status, 200);
    let r = app.send("GET", "/readyz", None, None).await;
    assert_eq!((r.status, r.body["schema"].as_str()), (200, Some("current")));
    app.stop().await;
}

async fn request_id_reaches_response_error_and_audit(backend: Backend) {
    let app = TestApp::start(backend).await;
    let owner = Uuid::new_v4();
    let send = |rid: &'static str, path: String, body: Value| {
        let app = &app;
        async move {
            let mut res = app
                .client
                .post(app.url(&format!("/api/internal/v1{path}")))
                .insert_header(("Authorization", format!("Bearer {INTERNAL_TOKEN}")))
                .insert_header(("X-Request-Id", rid))
                .send_json(&body)
                .await
                .unwrap();
            let v: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
            (res.headers().get("x-request-id").map(|h| h.to_str().unwrap().to_string()), v)
        }
    };
    // Denied (owner unknown): the error body and the audit row carry the id.
    let (echo, v) = send("req-denied-1", format!("/owners/{owner}/agents"), json!({"name": "a"})).await;
    assert_eq!(echo.as_deref(), Some("req-denied-1"));
    assert_eq!(v["error"]["request_id"], "req-denied-1");
    app.upsert_owner(owner, "active", true).await;
    let (echo, _) = send("req-ok-1", format!("/owners/{owner}/agents"), json!({"name": "a"})).await;
    assert_eq!(echo.as_deref(), Some("req-ok-1"));
    for (rid, outcome) in [("req-denied-1", "denied"), ("req-ok-1", "allowed")] {
        let filter = AuditFilter { request_id: Some(rid.into()), limit: 10, ..Default::default() };
        let events = app.db.run(move |c| list(c, &filter)).await.unwrap();
        assert_eq!(events.len(), 1, "{rid}");
        assert_eq!((events[0].action.as_str(), events[0].outcome.as_str()), ("agent.create", outcome));
        // The gateway's own id rides beside the client's.
        let own = events[0].gateway_request_id.as_deref().expect("the gateway's request id");
        assert!(Uuid::parse_str(own).is_ok() && own != rid, "{own}");
    }
    // An id that is not plain text is replaced, not echoed into logs.
    let mut res = app
        .client
        .get(app.url("/healthz"))
        .insert_header(("X-Request-Id", "bad id\twith spaces"))
        .send()
        .await
        .unwrap();
    let _ = res.body().await;
    let rid = res.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert!(Uuid::parse_str(rid).is_ok(), "{rid}");
    app.stop().await;
}

async fn every_change_is_audited(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.agent_with_token().await; // owner.upsert, agent.create, token.issue
    let base = format!("/owners/{}/agents/{}", f.owner, f.agent);
    app.internal("PATCH", &base, Some(json!({"description": "d"}))).await;
    app.internal(
        "PUT",
        &format!("{base}/grants"),
        Some(json!({"grants": [{"project_id": f.project, "project_identifier": "WEB"}]})),
    )
    .await;
    app.internal("POST", &format!("{base}/tokens/{}/revoke", f.token_id), None).await;
    app.internal("POST", &format!("{base}/revoke"), None).await;
    let owner = f.owner;
    let filter = AuditFilter { owner_user_id: Some(owner), limit: 100, ..Default::default() };
    let events = app.db.run(move |c| list(c, &filter)).await.unwrap();
    let mut actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "agent.create",
            "agent.grants.replace",
            "agent.revoke",
            "agent.update",
            "owner.upsert",
            "token.issue",
            "token.revoke"
        ]
    );
    assert!(events.iter().all(|e| e.outcome.as_str() == "allowed" && e.actor.as_str() == "internal"));
    let revoke = events.iter().find(|e| e.action == "token.revoke").unwrap();
    assert_eq!(revoke.token_id, Some(f.token_id));
    assert_eq!(revoke.agent_id, Some(f.agent));
    app.stop().await;
}

async fn names_are_one_line_without_bidi_overrides(backend: Backend) {
    let app = TestApp::start(backend).await;
    let owner = Uuid::new_v4();
    app.upsert_owner(owner, "active", true).await;
    let agents = format!("/owners/{owner}/agents");
    for bad in
        ["bot\non behalf of bob", "bot\tx", "bot\rx", "evil\u{202E}txt.exe", "a\u{2066}b", "a\u{202A}b", "a\u{2069}b"]
    {
        let r = app.internal("POST", &agents, Some(json!({"name": bad}))).await;
        assert_eq!((r.status, r.code()), (422, "invalid_field"), "{bad:?}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("`name`"), "{}", r.body);
    }
    assert_eq!(app.internal("GET", &agents, None).await.body["agents"].as_array().map(Vec::len), Some(0));
    // Renames and token labels obey the same rule; ordinary Unicode names are fine.
    let ok = app.internal("POST", &agents, Some(json!({"name": "Ångström-бот 1"}))).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let id = ok.body["id"].as_str().unwrap();
    let r = app.internal("PATCH", &format!("{agents}/{id}"), Some(json!({"name": "x\ny"}))).await;
    assert_eq!((r.status, r.code()), (422, "invalid_field"));
    let r = app.internal("POST", &format!("{agents}/{id}/tokens"), Some(json!({"label": "lap\u{202E}top"}))).await;
    assert_eq!((r.status, r.code()), (422, "invalid_field"));
    app.stop().await;
}

async fn agent_names_are_unique_per_owner(backend: Backend) {
    let app = TestApp::start(backend).await;
    let owner = Uuid::new_v4();
    app.upsert_owner(owner, "active", true).await;
    let create = |name: &'static str| {
        let app = &app;
        async move { app.internal("POST", &format!("/owners/{owner}/agents"), Some(json!({"name": name}))).await }
    };
    let first = create("bot").await;
    assert_eq!(first.status, 201);
    let r = create("bot").await;
    assert_eq!((r.status, r.code()), (409, "agent_name_taken"));
    // Concurrent creates with one name: exactly one wins.
    let results = futures_util::future::join_all((0..6).map(|_| create("racer"))).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(results.iter().all(|r| r.status == 201 || r.code() == "agent_name_taken"));
    // Names that make the same Codex server name collide too.
    for twin in ["Bot", "BOT", "b-o-t"] {
        let r = app.internal("POST", &format!("/owners/{owner}/agents"), Some(json!({"name": twin}))).await;
        if twin == "b-o-t" {
            assert_eq!(r.status, 201, "`b_o_t` is another server name");
        } else {
            assert_eq!((r.status, r.code()), (409, "agent_name_taken"), "{twin}");
        }
    }
    // Concurrent creates whose names make one Codex server name: exactly one wins.
    let clashing = ["Clash", "clash", "CLASH", "clash!", "Clash ", "c lash"];
    let results = futures_util::future::join_all(clashing.iter().map(|n| create(n))).await;
    let created: Vec<&str> = clashing.iter().zip(&results).filter(|(_, r)| r.status == 201).map(|(n, _)| *n).collect();
    assert_eq!(created.iter().filter(|n| **n != "c lash").count(), 1, "{created:?}");
    // A revoked agent's name is free again.
    let id = first.body["id"].as_str().unwrap();
    app.internal("POST", &format!("/owners/{owner}/agents/{id}/revoke"), None).await;
    assert_eq!(create("bot").await.status, 201);
    app.stop().await;
}

/// A grant must name one of the owner's projects in Tasker by its id and identifier:
/// otherwise it is refused, naming the owner's projects, on create and on replace, and
/// nothing is stored.
async fn grants_are_checked_against_tasker(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.agent_with_token().await; // a member of WEB only
    let agents = format!("/owners/{}/agents", f.owner);
    let web = format!("WEB ({})", demo::WEB);
    let nowhere = Uuid::new_v4();
    let cases = [
        (json!({"project_id": nowhere, "project_identifier": "WEB"}), nowhere.to_string()),
        // OPS exists, but this owner is not a member of it.
        (json!({"project_id": demo::OPS, "project_identifier": "OPS"}), demo::OPS.to_string()),
        // The right project under another identifier.
        (json!({"project_id": demo::WEB, "project_identifier": "WBE"}), "is WEB in Tasker, not WBE".to_string()),
    ];
    for (grant, names) in cases {
        let r = app.internal("POST", &agents, Some(json!({"name": "new", "grants": [grant.clone()]}))).await;
        assert_eq!((r.status, r.code()), (422, "unknown_project"), "{}", r.text);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&names) && message.contains(&web), "{message}");
        let r = app.internal("PUT", &format!("{agents}/{}/grants", f.agent), Some(json!({"grants": [grant]}))).await;
        assert_eq!((r.status, r.code()), (422, "unknown_project"), "{}", r.text);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(&web));
    }
    let r = app.internal("GET", &agents, None).await;
    assert_eq!(r.body["agents"].as_array().unwrap().len(), 1, "no agent was created");
    let r = app.internal("GET", &format!("{agents}/{}/grants", f.agent), None).await;
    assert_eq!(r.body["grants"][0]["project_id"], json!(demo::WEB), "the grants are unchanged");
    // Any case of the right identifier is the same project.
    let r = app
        .internal(
            "POST",
            &agents,
            Some(json!({"name": "ok", "grants": [{"project_id": demo::WEB, "project_identifier": "web"}]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.stop().await;

    // Tasker not answering: refused as unavailable (503), not accepted unchecked.
    let app = TestApp::builder(backend).tasker_url("http://127.0.0.1:9".into()).start().await;
    let owner = Uuid::new_v4();
    app.upsert_owner(owner, "active", true).await;
    app.tasker_member(owner, demo::WEB).await;
    let r = app
        .internal(
            "POST",
            &format!("/owners/{owner}/agents"),
            Some(json!({"name": "x", "grants": [{"project_id": demo::WEB, "project_identifier": "WEB"}]})),
        )
        .await;
    assert_eq!((r.status, r.code()), (503, "tasker_unavailable"), "{}", r.text);
    assert!(!r.text.contains("127.0.0.1:9"), "Tasker's address stays in the log: {}", r.text);
    // Without grants, Tasker is not needed.
    let r = app.internal("POST", &format!("/owners/{owner}/agents"), Some(json!({"name": "x"}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.stop().await;
}

/// `/readyz` says whether Tasker answers, in its own field, and stays 200 while the
/// database is ready.
async fn readiness_reports_tasker_separately(backend: Backend) {
    let app = TestApp::start(backend).await;
    let r = app.send("GET", "/readyz", None, None).await;
    assert_eq!((r.status, r.body["tasker"].as_str()), (200, Some("reachable")), "{}", r.text);
    assert_eq!(r.body["schema"], "current");
    app.stop().await;
    let app = TestApp::builder(backend).tasker_url("http://127.0.0.1:9".into()).start().await;
    let r = app.send("GET", "/readyz", None, None).await;
    assert_eq!((r.status, r.body["tasker"].as_str()), (200, Some("unreachable")), "{}", r.text);
    assert_eq!(r.body["status"], "ready");
    app.stop().await;

    // Unauthenticated calls do not become calls to Tasker one for one: one probe
    // answers every call for a few seconds, concurrent ones included.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let server = actix_web::HttpServer::new(move || {
        let counted = counted.clone();
        actix_web::App::new().default_service(actix_web::web::to(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { actix_web::HttpResponse::Ok().json(json!({"projects": []})) }
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
    let app = TestApp::builder(backend).tasker_url(url).start().await;
    let answers = futures_util::future::join_all((0..10).map(|_| app.send("GET", "/readyz", None, None))).await;
    assert!(
        answers.iter().all(|r| r.body["tasker"] == "reachable"),
        "{:?}",
        answers.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1, "one probe for ten calls");
    app.stop().await;
    handle.stop(false).await;
}
