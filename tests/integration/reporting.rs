//! Reporting mode: work sessions through the three tools, the WorkSessions actor's
//! timers and restarts, the required mode, the reporting API (admin and per owner) with
//! its paging and exports, clients' `codex_agents` switch and the separate internal
//! tokens.

use std::collections::HashSet;
use std::time::Duration;

use nodedc_agent_gateway::actors::work_sessions::{OpenSessions, ReportTimers, Restart, WorkSessions};
use nodedc_agent_gateway::auth::{InternalToken, InternalTokens};
use nodedc_agent_gateway::model::SessionState;
use nodedc_agent_gateway::storage::Backend;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::mcp::Mcp;
use crate::common::{INTERNAL_TOKEN, Resp, TestApp};

on_both_backends!(
    a_session_is_started_reported_and_finished,
    silent_sessions_turn_stale_and_survive_restarts,
    required_mode_refuses_writes_without_a_session,
    per_owner_reporting_is_isolated,
    audit_pages_hold_every_row_once_while_rows_arrive,
    exports_hold_exactly_the_filtered_rows,
    a_client_switch_refuses_every_agent_of_its_owners,
    separate_internal_tokens_keep_to_their_routes,
    activity_counts_calls_per_bucket,
);

const REPORTER: &[&str] = &["project:read", "issue:read", "issue:create", "session:report"];

async fn admin(app: &TestApp, path: &str) -> Resp {
    let r = app.internal("GET", &format!("/reporting/{path}"), None).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r
}

/// The agent's entry in the admin listing.
async fn agent_entry(app: &TestApp, agent: Uuid) -> Value {
    let r = admin(app, "agents?limit=500").await;
    r.body["agents"].as_array().unwrap().iter().find(|a| a["id"] == agent.to_string()).cloned().expect("listed")
}

/// Polls until `check` holds for the agent's entry (the timer runs in the background).
async fn wait_for(app: &TestApp, agent: Uuid, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..80 {
        let a = agent_entry(app, agent).await;
        if check(&a) {
            return a;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} never happened: {}", agent_entry(app, agent).await);
}

async fn a_session_is_started_reported_and_finished(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(REPORTER).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let s = m
        .ok(
            "start_work_session",
            json!({"goal": "Fix the login loop", "card": "WEB-1", "idempotency_key": "ws-start-1"}),
        )
        .await;
    assert_eq!((s["state"].as_str(), s["card"].as_str()), (Some("active"), Some("WEB-1")));
    let id = s["id"].as_str().unwrap().to_string();

    let a = agent_entry(&app, f.agent).await;
    assert_eq!(a["status"], "connected", "{a}");
    assert_eq!(a["work_sessions"][0]["goal"], "Fix the login loop");
    assert_eq!(a["work_sessions"][0]["reported_by"], "agent");
    assert_eq!(a["last_activity"]["tool"], "start_work_session");

    let p = m
        .ok(
            "report_progress",
            json!({"session": id, "card": "WEB-2", "status": "Writing the redirect test", "idempotency_key": "ws-prog-1"}),
        )
        .await;
    assert_eq!((p["card"].as_str(), p["last_status"].as_str()), (Some("WEB-2"), Some("Writing the redirect test")));
    let a = agent_entry(&app, f.agent).await;
    let open = &a["work_sessions"][0];
    assert_eq!((open["card"].as_str(), open["state"].as_str()), (Some("WEB-2"), Some("active")));
    assert_eq!(open["last_status"], "Writing the redirect test");

    let done = m
        .ok(
            "finish_work_session",
            json!({"session": id, "outcome": "done", "summary": "Cookie domain fixed", "idempotency_key": "ws-fin-1"}),
        )
        .await;
    assert_eq!((done["state"].as_str(), done["outcome"].as_str()), (Some("finished"), Some("done")));
    let r = admin(&app, &format!("sessions?agent={}", f.agent)).await;
    let listed = &r.body["sessions"][0];
    assert_eq!((listed["state"].as_str(), listed["summary"].as_str()), (Some("finished"), Some("Cookie domain fixed")));
    assert!(r.body["note"].as_str().unwrap().contains("not visible"), "labelled as reported");
    let r = admin(&app, &format!("sessions/{id}")).await;
    let kinds: Vec<&str> = r.body["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["started", "progress", "finished"]);
    assert_eq!(r.body["events"][1]["card"], "WEB-2");
    assert!(agent_entry(&app, f.agent).await["work_sessions"].as_array().unwrap().is_empty());

    // The rules: another agent's session is not found; an ended one says so; a card
    // outside the grant is refused like any card.
    let other = app.web_agent(REPORTER).await;
    let mut o = Mcp::connect(&app, &other.token, "2025-11-25").await;
    let r = o.call("report_progress", json!({"session": id, "status": "x", "idempotency_key": "ws-other-1"})).await;
    assert!(r["content"][0]["text"].as_str().unwrap().starts_with("Error (not_found)"), "{r}");
    let r = m.call("report_progress", json!({"session": id, "status": "x", "idempotency_key": "ws-prog-2"})).await;
    assert!(r["content"][0]["text"].as_str().unwrap().starts_with("Error (work_session_ended)"), "{r}");
    let r = m.call("start_work_session", json!({"goal": "g", "card": "OPS-1", "idempotency_key": "ws-ops-1"})).await;
    assert!(r["content"][0]["text"].as_str().unwrap().starts_with("Error (project_not_granted)"), "{r}");
    let r = m.call("start_work_session", json!({"goal": "", "idempotency_key": "ws-empty-1"})).await;
    assert!(r["content"][0]["text"].as_str().unwrap().starts_with("Error (invalid_arguments)"), "{r}");
    // REST has the same tools.
    let h = [("Authorization", format!("Bearer {}", f.token)), ("Idempotency-Key", "ws-rest-1".to_string())];
    let r = app.send_with("POST", "/api/v1/work-sessions", &h, Some(json!({"goal": "Over REST"}))).await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("active")), "{}", r.text);
    app.stop().await;
}

async fn silent_sessions_turn_stale_and_survive_restarts(backend: Backend) {
    let app = TestApp::builder(backend).report_timers(Duration::from_secs(2), Duration::from_secs(3600)).start().await;
    let f = app.web_agent(REPORTER).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    let s = m.ok("start_work_session", json!({"goal": "Long task", "idempotency_key": "stale-start-1"})).await;
    let id = s["id"].as_str().unwrap().to_string();

    let a = wait_for(&app, f.agent, "stale", |a| a["status"] == "stale").await;
    assert_eq!(a["work_sessions"][0]["state"], "stale");
    assert!(a["stale_since"].is_string(), "{a}");
    // Any tool call brings it back.
    m.ok("get_issue", json!({"issue": "WEB-1"})).await;
    let a = wait_for(&app, f.agent, "active again after a tool call", |a| a["status"] == "connected").await;
    assert_eq!(a["work_sessions"][0]["state"], "active");
    // So does a report, after going stale again.
    wait_for(&app, f.agent, "stale again", |a| a["status"] == "stale").await;
    m.ok("report_progress", json!({"session": id, "status": "Still on it", "idempotency_key": "stale-prog-1"})).await;
    assert_eq!(agent_entry(&app, f.agent).await["work_sessions"][0]["state"], "active");
    let kinds: Vec<String> = admin(&app, &format!("sessions/{id}")).await.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["started", "stale", "resumed", "stale", "resumed", "progress"]);

    let open_in = |w: &actix::Addr<WorkSessions>| {
        let w = w.clone();
        async move { w.send(OpenSessions).await.unwrap() }
    };
    // The supervisor restarts the actor: it rebuilds the open sessions from the database.
    app.state.work_sessions.send(Restart).await.unwrap();
    let mut rebuilt = Vec::new();
    for _ in 0..50 {
        rebuilt = open_in(&app.state.work_sessions).await;
        if !rebuilt.is_empty() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        rebuilt.iter().map(|s| (s.id.to_string(), s.state)).collect::<Vec<_>>(),
        [(id.clone(), SessionState::Active)]
    );
    // A new process (a fresh actor on the same database) has it too, with its state.
    let fresh = WorkSessions::start_supervised(app.db.clone(), ReportTimers::default());
    let loaded = open_in(&fresh).await;
    assert_eq!(loaded.len(), 1);
    assert_eq!((loaded[0].id.to_string(), loaded[0].last_status.as_deref()), (id, Some("Still on it")));
    app.stop().await;
}

async fn required_mode_refuses_writes_without_a_session(backend: Backend) {
    let app = TestApp::start(backend).await;
    let strict = app.agent_of(Uuid::new_v4(), REPORTER).await;
    let relaxed = app.agent_of(Uuid::new_v4(), REPORTER).await;
    let r = app
        .internal("PUT", &format!("/owners/{}/reporting-mode", strict.owner), Some(json!({"mode": "required"})))
        .await;
    assert_eq!((r.status, r.body["reporting_mode"].as_str()), (200, Some("required")), "{}", r.text);

    let create = |key: &str| json!({"project": "WEB", "title": "Required mode", "idempotency_key": key});
    let mut m = Mcp::connect(&app, &strict.token, "2025-11-25").await;
    let r = m.call("create_issue", create("req-create-1")).await;
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Error (work_session_required)") && text.contains("start_work_session"), "{text}");
    let h = [("Authorization", format!("Bearer {}", strict.token)), ("Idempotency-Key", "req-rest-1".to_string())];
    let r = app.send_with("POST", "/api/v1/projects/WEB/issues", &h, Some(json!({"title": "x"}))).await;
    assert_eq!((r.status, r.code()), (403, "work_session_required"));
    m.ok("get_issue", json!({"issue": "WEB-1"})).await;
    // A voluntary owner's agent is unaffected.
    let mut v = Mcp::connect(&app, &relaxed.token, "2025-11-25").await;
    v.ok("create_issue", create("req-relaxed-1")).await;

    let s = m.ok("start_work_session", json!({"goal": "Create it", "idempotency_key": "req-start-1"})).await;
    m.ok("create_issue", create("req-create-2")).await;
    let fin = json!({"session": s["id"], "outcome": "done", "summary": "Created", "idempotency_key": "req-fin-1"});
    m.ok("finish_work_session", fin).await;
    let r = m.call("create_issue", create("req-create-3")).await;
    assert!(r["content"][0]["text"].as_str().unwrap().starts_with("Error (work_session_required)"));
    // The mode is part of the projection too, and a switch applies to the next call.
    let r = app
        .internal(
            "PUT",
            &format!("/owners/{}", strict.owner),
            Some(json!({"display_name": "Owner", "status": "active", "entitlements": ["codex_agents"], "reporting_mode": "voluntary"})),
        )
        .await;
    assert_eq!((r.status, r.body["owner"]["reporting_mode"].as_str()), (200, Some("voluntary")), "{}", r.text);
    m.ok("create_issue", create("req-create-4")).await;
    let r = app.internal("GET", &format!("/owners/{}/changes", strict.owner), None).await;
    let modes: Vec<&str> = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == "reporting_mode")
        .map(|c| c["new_value"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["voluntary", "required"], "newest first");
    app.stop().await;
}

async fn per_owner_reporting_is_isolated(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.agent_of(Uuid::new_v4(), REPORTER).await;
    let b = app.agent_of(Uuid::new_v4(), REPORTER).await;
    let mut mb = Mcp::connect(&app, &b.token, "2025-11-25").await;
    let sb = mb.ok("start_work_session", json!({"goal": "B's work", "idempotency_key": "iso-b-start-1"})).await;
    let mut ma = Mcp::connect(&app, &a.token, "2025-11-25").await;
    ma.ok("start_work_session", json!({"goal": "A's work", "idempotency_key": "iso-a-start-1"})).await;

    let own = |path: String| {
        let app = &app;
        async move { app.internal("GET", &format!("/owners/{}/reporting/{path}", a.owner), None).await }
    };
    let r = own("agents".into()).await;
    let ids: Vec<&str> = r.body["agents"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a.agent.to_string()]);
    let r = own("sessions".into()).await;
    assert!(r.body["sessions"].as_array().unwrap().iter().all(|s| s["agent_id"] == a.agent.to_string()));
    for path in [
        format!("sessions?agent={}", b.agent),
        format!("audit?agent={}", b.agent),
        format!("activity?agent={}", b.agent),
        format!("sessions/{}", sb["id"].as_str().unwrap()),
    ] {
        let r = own(path.clone()).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    let r = own(format!("audit?owner={}", b.owner)).await;
    assert_eq!((r.status, r.code()), (400, "invalid_query"), "no cross-owner filter on a per-owner route");
    let r = own("audit".into()).await;
    assert!(r.body["events"].as_array().unwrap().iter().all(|e| e["owner_user_id"] == a.owner.to_string()));
    // The owner's audit route pages the same way.
    let r = app.internal("GET", &format!("/owners/{}/audit?limit=1", a.owner), None).await;
    assert_eq!(r.body["events"].as_array().unwrap().len(), 1);
    assert!(r.body["next_cursor"].is_string(), "{}", r.text);
    app.stop().await;
}

/// Every id of a paged listing.
async fn all_pages(app: &TestApp, path: &str, key: &str, during: impl AsyncFn()) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let r = app.internal("GET", &url, None).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text);
        ids.extend(r.body[key].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()));
        during().await;
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

async fn audit_pages_hold_every_row_once_while_rows_arrive(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(REPORTER).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    for _ in 0..25 {
        m.ok("get_issue", json!({"issue": "WEB-1"})).await;
    }
    let before: Vec<String> = app.internal("GET", "/reporting/audit?limit=500", None).await.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(before.len() >= 25);
    // New rows keep arriving between pages.
    let token = f.token.clone();
    let more = async || {
        let r = app.send("GET", "/api/v1/issues/WEB-2", Some(&token), None).await;
        assert_eq!(r.status, 200);
    };
    let paged = all_pages(&app, "/reporting/audit?limit=4", "events", more).await;
    let unique: HashSet<&String> = paged.iter().collect();
    assert_eq!(unique.len(), paged.len(), "no row twice");
    for id in &before {
        assert!(unique.contains(id), "{id} was skipped");
    }
    app.stop().await;
}

async fn exports_hold_exactly_the_filtered_rows(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(REPORTER).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    for i in 0..6 {
        m.ok("get_issue", json!({"issue": "WEB-1"})).await;
        m.ok("search_issues", json!({"project": "WEB", "query": format!("q{i}")})).await;
    }
    m.call("get_issue", json!({"issue": "OPS-1"})).await;
    let filter = format!("agent={}&tool=get_issue", f.agent);
    let paged = all_pages(&app, &format!("/reporting/audit?{filter}&limit=5"), "events", async || {}).await;
    assert_eq!(paged.len(), 7, "six allowed reads and one denied");
    let export = |accept: &'static str| {
        let app = &app;
        let path = format!("/api/internal/v1/reporting/audit?{filter}");
        async move {
            let h = [("Authorization", format!("Bearer {INTERNAL_TOKEN}")), ("Accept", accept.to_string())];
            let r = app.send_with("GET", &path, &h, None).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert!(r.headers.get("content-type").unwrap().to_str().unwrap().starts_with(accept));
            r.text
        }
    };
    let csv = export("text/csv").await;
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,occurred_at,"));
    let csv_ids: Vec<String> = lines.map(|l| l.split(',').next().unwrap().to_string()).collect();
    assert_eq!(csv_ids, paged);
    let nd = export("application/x-ndjson").await;
    let nd_ids: Vec<String> =
        nd.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(nd_ids, paged);
    let denied: Vec<Value> =
        nd.lines().map(|l| serde_json::from_str(l).unwrap()).filter(|e: &Value| e["outcome"] == "denied").collect();
    assert_eq!(denied.len(), 1);
    // Outcome and error-code filters.
    let r = app.internal("GET", &format!("/reporting/audit?{filter}&outcome=denied"), None).await;
    assert_eq!(r.body["events"].as_array().unwrap().len(), 1);
    let r = app.internal("GET", &format!("/reporting/audit?{filter}&error_code=project_not_granted"), None).await;
    assert_eq!(r.body["events"].as_array().unwrap().len(), 1);
    let r = app.internal("GET", "/reporting/audit?cursor=nonsense", None).await;
    assert_eq!((r.status, r.code()), (400, "invalid_query"));
    app.stop().await;
}

async fn a_client_switch_refuses_every_agent_of_its_owners(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = Uuid::new_v4();
    let put_client = |on: bool| {
        let app = &app;
        let ents = if on { json!(["codex_agents"]) } else { json!([]) };
        async move {
            let h =
                [("Authorization", format!("Bearer {INTERNAL_TOKEN}")), ("X-NodeDC-Admin", "Root Admin".to_string())];
            let body = json!({"display_name": "Acme", "entitlements": ents});
            app.send_with("PUT", &format!("/api/internal/v1/clients/{client}"), &h, Some(body)).await
        }
    };
    assert_eq!(put_client(true).await.status, 200);
    let (a, b) = (app.agent_of(Uuid::new_v4(), REPORTER).await, app.agent_of(Uuid::new_v4(), REPORTER).await);
    let outside = app.agent_of(Uuid::new_v4(), REPORTER).await;
    for f in [&a, &b] {
        let body =
            json!({"display_name": "Owner", "status": "active", "entitlements": ["codex_agents"], "client_id": client});
        let r = app.internal("PUT", &format!("/owners/{}", f.owner), Some(body)).await;
        assert_eq!((r.status, r.body["owner"]["client_id"].as_str()), (200, Some(client.to_string().as_str())));
    }
    for f in [&a, &b, &outside] {
        assert_eq!(app.whoami(&f.token).await.status, 200);
    }
    let r = put_client(false).await;
    assert_eq!((r.status, r.body["client"]["codex_agents"].as_bool()), (200, Some(false)));
    for f in [&a, &b] {
        let r = app.whoami(&f.token).await;
        assert_eq!((r.status, r.code()), (403, "client_entitlement_missing"));
        let r = app.internal("GET", &format!("/owners/{}/access", f.owner), None).await;
        assert_eq!(r.body["reason"], "client_entitlement_missing");
    }
    assert_eq!(app.whoami(&outside.token).await.status, 200, "owners outside the client are unaffected");
    assert_eq!(put_client(true).await.status, 200);
    for f in [&a, &b] {
        assert_eq!(app.whoami(&f.token).await.status, 200, "restored");
    }
    let r = app.internal("GET", &format!("/clients/{client}/changes"), None).await;
    let switches: Vec<(&str, &str)> = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["field"] == "codex_agents")
        .map(|c| (c["new_value"].as_str().unwrap(), c["changed_by"].as_str().unwrap()))
        .collect();
    assert_eq!(switches, [("true", "Root Admin"), ("false", "Root Admin"), ("true", "Root Admin")]);
    // Reporting filters by client; an owner cannot join a client that was never projected.
    let r = admin(&app, &format!("agents?client={client}")).await;
    assert_eq!(r.body["agents"].as_array().unwrap().len(), 2);
    let body = json!({"display_name": "O", "status": "active", "entitlements": [], "client_id": Uuid::new_v4()});
    let r = app.internal("PUT", &format!("/owners/{}", outside.owner), Some(body)).await;
    assert_eq!((r.status, r.code()), (422, "unknown_client"));
    app.stop().await;
}

async fn separate_internal_tokens_keep_to_their_routes(backend: Backend) {
    const LAUNCHER: &str = "launcher-token-0123456789-abcdefghijklmnopq";
    const TASKER: &str = "tasker-backend-token-0123456789-abcdefghijkl";
    let tokens = InternalTokens {
        shared: Some(InternalToken::new(INTERNAL_TOKEN.into())),
        launcher: Some(InternalToken::new(LAUNCHER.into())),
        tasker_backend: Some(InternalToken::new(TASKER.into())),
    };
    let app = TestApp::builder(backend).internal_tokens(tokens).start().await;
    let owner = Uuid::new_v4();
    let call = |token: &'static str, method: &'static str, path: String, body: Option<Value>| {
        let app = &app;
        async move { app.send(method, &format!("/api/internal/v1{path}"), Some(token), body).await }
    };
    let projection = json!({"display_name": "Owner", "status": "active", "entitlements": ["codex_agents"]});
    let r = call(TASKER, "PUT", format!("/owners/{owner}"), Some(projection.clone())).await;
    assert_eq!((r.status, r.code()), (403, "internal_token_not_allowed"));
    assert_eq!(call(LAUNCHER, "PUT", format!("/owners/{owner}"), Some(projection)).await.status, 200);
    app.tasker_member(owner, nodedc_agent_gateway::reference_tasker::demo::WEB).await;
    let agent = json!({"name": "bot", "grants": [{"project_id": nodedc_agent_gateway::reference_tasker::demo::WEB, "project_identifier": "WEB"}]});
    let r = call(LAUNCHER, "POST", format!("/owners/{owner}/agents"), Some(agent.clone())).await;
    assert_eq!((r.status, r.code()), (403, "internal_token_not_allowed"));
    assert_eq!(call(TASKER, "POST", format!("/owners/{owner}/agents"), Some(agent)).await.status, 201);
    for (token, path, status) in [
        (LAUNCHER, "/reporting/agents".to_string(), 200),
        (TASKER, "/reporting/agents".to_string(), 403),
        (TASKER, format!("/owners/{owner}/reporting/agents"), 200),
        (LAUNCHER, format!("/owners/{owner}/reporting/agents"), 403),
        (LAUNCHER, format!("/owners/{owner}"), 200),
        (TASKER, format!("/owners/{owner}/access"), 200),
        (INTERNAL_TOKEN, "/reporting/agents".to_string(), 200),
        (INTERNAL_TOKEN, format!("/owners/{owner}/reporting/agents"), 200),
    ] {
        assert_eq!(call(token, "GET", path.clone(), None).await.status, status, "{path}");
    }
    // The history tells the callers apart.
    let r = call(TASKER, "PUT", format!("/owners/{owner}/reporting-mode"), Some(json!({"mode": "required"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call(LAUNCHER, "GET", format!("/owners/{owner}/changes"), None).await;
    let sources: HashSet<(&str, &str)> = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap(), c["source"].as_str().unwrap()))
        .collect();
    assert!(
        sources.contains(&("reporting_mode", "tasker")) && sources.contains(&("codex_agents", "launcher")),
        "{sources:?}"
    );
    app.stop().await;
}

async fn activity_counts_calls_per_bucket(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(REPORTER).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    for _ in 0..3 {
        m.ok("get_issue", json!({"issue": "WEB-1"})).await;
    }
    m.call("get_issue", json!({"issue": "OPS-1"})).await;
    m.ok("list_projects", json!({})).await;
    let count = |body: &Value, tool: &str, outcome: &str| -> i64 {
        body["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["tool"] == tool && p["outcome"] == outcome)
            .map(|p| p["calls"].as_i64().unwrap())
            .sum()
    };
    for bucket in ["hour", "day"] {
        let r = admin(&app, &format!("activity?bucket={bucket}&agent={}", f.agent)).await;
        assert_eq!(r.body["bucket"], bucket);
        assert_eq!(count(&r.body, "get_issue", "allowed"), 3, "{}", r.text);
        assert_eq!(count(&r.body, "get_issue", "denied"), 1);
        assert_eq!(count(&r.body, "list_projects", "allowed"), 1);
        assert_eq!(r.body["totals"]["allowed"], 4);
    }
    let r = admin(&app, "activity?project=WEB").await;
    assert_eq!(count(&r.body, "get_issue", "allowed"), 3);
    let r = app.internal("GET", "/reporting/activity?bucket=week", None).await;
    assert_eq!((r.status, r.code()), (400, "invalid_query"));
    let until = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = app.internal("GET", &format!("/reporting/activity?since={until}&until={until}"), None).await;
    assert_eq!((r.status, r.code()), (400, "invalid_query"));
    app.stop().await;
}
