//! The MCP endpoint and the REST tool endpoints, in process, against the reference
//! Tasker, on both backends.

use std::time::Duration;

use futures_util::future::join_all;
use nodedc_agent_gateway::actors::rate_buckets::{Budget, RateLimits};
use nodedc_agent_gateway::reference_tasker::seed::demo;
use nodedc_agent_gateway::storage::Backend;
use nodedc_agent_gateway::storage::audit::{AuditFilter, list};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::mcp::Mcp;
use crate::common::{Fixture, TestApp};

const ALL_BUT_MEMBERS: &[&str] = &[
    "project:read",
    "issue:read",
    "issue:create",
    "issue:update",
    "issue:move",
    "issue:comment",
    "issue:label",
    "issue:assign",
    "issue:blocks",
];

fn error_text(result: &Value) -> String {
    assert_eq!(result["isError"], true, "expected an error result: {result}");
    result["content"][0]["text"].as_str().unwrap().to_string()
}

async fn audit_count(app: &TestApp, f: &Fixture) -> usize {
    let filter = AuditFilter { agent_id: Some(f.agent), limit: 1000, ..Default::default() };
    app.db.run(move |c| list(c, &filter)).await.unwrap().iter().filter(|e| e.actor.as_str() == "agent").count()
}

on_both_backends!(
    a_write_scope_does_not_grant_reads,
    sessions_end_when_idle_or_when_the_owner_is_blocked,
    ended_sessions_and_old_audit_events_are_purged,
    refusals_before_the_pipeline_are_audited,
    initialize_negotiates_every_supported_version,
    protocol_faults_are_json_rpc_errors,
    sessions_are_bound_to_their_token,
    tools_list_follows_scopes_and_calls_outside_them_are_denied,
    a_card_workflow_through_mcp,
    cards_outside_the_grant_are_denied_by_id_key_and_search,
    idempotency_replays_refuses_and_serialises,
    rate_limits_refuse_with_a_hint_and_refill,
    a_revoked_token_is_refused_mid_session,
    every_call_leaves_exactly_one_audit_event,
    rest_endpoints_share_the_pipeline,
    the_setup_packet_holds_no_secret,
    a_replay_is_checked_against_the_current_grants,
    a_scope_in_one_project_does_not_reach_another,
    a_write_whose_audit_cannot_be_recorded_is_not_performed,
    sessions_survive_a_new_actor,
    hostile_inputs_get_precise_errors,
    members_are_added_but_never_as_admin,
    a_tasker_outage_is_clear_to_agents,
    a_write_on_a_card_with_a_large_log_answers_and_keeps_a_few_kb,
    errors_show_the_way_forward,
    bad_arguments_cost_a_read_not_a_write,
);

async fn initialize_negotiates_every_supported_version(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    for (asked, got) in [
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("2024-01-01", "2025-11-25"),
    ] {
        let mut m = Mcp::connect(&app, &f.token, asked).await;
        assert_eq!(m.version, got, "asked {asked}");
        let r = m.request("ping", json!({})).await;
        assert_eq!(r.body["result"], json!({}), "{}", r.text);
        let tools = m.request("tools/list", json!({})).await.body;
        let create =
            tools["result"]["tools"].as_array().unwrap().iter().find(|t| t["name"] == "create_issue").unwrap().clone();
        assert!(create["inputSchema"]["required"].as_array().unwrap().contains(&json!("idempotency_key")));
        assert_eq!(create["annotations"]["destructiveHint"], false);
        assert_eq!(create["annotations"]["idempotentHint"], true);
        assert_eq!(create.get("outputSchema").is_some(), got != "2025-03-26", "outputSchema from 2025-06-18");
    }
    let m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    let r = m.post(json!({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}), false).await;
    let result = &r.body["result"];
    assert_eq!(result["serverInfo"]["name"], "nodedc-agent-gateway");
    // Codex shows the model the first ~250 characters: the rules are there.
    let head: String = result["instructions"].as_str().unwrap().chars().take(250).collect();
    for rule in ["idempotency_key", "same key when you retry", "deleted", "how to recover"] {
        assert!(head.contains(rule), "{rule:?} is not in the first 250 characters: {head}");
    }
    assert!(result["capabilities"]["tools"].is_object());
    app.stop().await;
}

async fn protocol_faults_are_json_rpc_errors(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    // No token: 401 with a Bearer challenge.
    let r = app.send_with("POST", "/mcp", &[], Some(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))).await;
    assert_eq!(r.status, 401);
    assert!(r.headers.get("www-authenticate").unwrap().to_str().unwrap().starts_with("Bearer"));
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    // Empty resource and prompt lists; log levels validated.
    assert_eq!(m.request("resources/list", json!({})).await.body["result"]["resources"], json!([]));
    assert_eq!(m.request("prompts/list", json!({})).await.body["result"]["prompts"], json!([]));
    assert_eq!(m.request("logging/setLevel", json!({"level": "info"})).await.body["result"], json!({}));
    assert_eq!(m.request("logging/setLevel", json!({"level": "loud"})).await.body["error"]["code"], -32602);
    // In a session, a method of another era (server/discover is 2026-07-28's, and this
    // request carries no 2026 envelope) is not found.
    let r = m.request("server/discover", json!({})).await;
    assert_eq!(r.body["error"]["code"], -32601, "{}", r.text);
    // An unknown tool.
    let r = m.request("tools/call", json!({"name": "delete_issue", "arguments": {"issue": "WEB-1"}})).await;
    assert_eq!(r.body["error"]["code"], -32602, "{}", r.text);
    // Parse error and invalid request.
    let h = vec![("Authorization", format!("Bearer {}", f.token))];
    let mut res = app
        .client
        .post(app.url("/mcp"))
        .insert_header(("Authorization", format!("Bearer {}", f.token)))
        .insert_header(("Content-Type", "application/json"))
        .send_body("{not json")
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!((res.status().as_u16(), v["error"]["code"].clone()), (400, json!(-32700)));
    let r = app.send_with("POST", "/mcp", &h, Some(json!({"id": 1, "method": "ping"}))).await;
    assert_eq!(r.body["error"]["code"], -32600);
    // A supported protocol version header is accepted on any session (answers keep the
    // session's version); an unsupported one is a 400.
    let no_header = m.post(json!({"jsonrpc": "2.0", "id": 5, "method": "ping"}), false).await;
    assert_eq!(no_header.status, 200, "no header: the session's version applies");
    m.version = "2025-03-26".into();
    assert_eq!(m.request("ping", json!({})).await.status, 200);
    m.version = "1999-01-01".into();
    let bad = m.request("ping", json!({})).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("not supported"));
    assert_eq!(bad.body["error"]["code"], -32022, "UnsupportedProtocolVersion: {}", bad.text);
    assert_eq!(bad.body["error"]["data"]["supported"], json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]));
    // GET is not offered (no SSE stream); nothing is forwarded anywhere.
    let r = app.send_with("GET", "/mcp", &h, None).await;
    assert_eq!((r.status, r.code()), (405, "method_not_allowed"));
    // A browser origin that is not ours (DNS rebinding).
    let r = app
        .send_with(
            "POST",
            "/mcp",
            &[h[0].clone(), ("Origin", "http://evil.example".into())],
            Some(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "origin_not_allowed"));
    let r = app
        .send_with(
            "POST",
            "/mcp",
            &[h[0].clone(), ("Origin", "http://gateway.test".into())],
            Some(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})),
        )
        .await;
    assert_eq!(r.status, 400, "our own origin passes (then the missing session is the problem)");
    app.stop().await;
}

async fn sessions_are_bound_to_their_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.web_agent(ALL_BUT_MEMBERS).await;
    let b = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &a.token, "2025-06-18").await;
    assert_eq!(m.request("ping", json!({})).await.status, 200);
    // Another token presenting A's session id.
    let mut thief =
        Mcp { app: &app, token: b.token.clone(), session: m.session.clone(), version: m.version.clone(), next_id: 1 };
    assert_eq!(thief.request("ping", json!({})).await.status, 404);
    // No session id at all, and a made-up one.
    let mut none = Mcp {
        session: None,
        ..Mcp { app: &app, token: a.token.clone(), session: None, version: m.version.clone(), next_id: 1 }
    };
    assert_eq!(none.request("tools/list", json!({})).await.status, 400);
    let mut fake = Mcp {
        app: &app,
        token: a.token.clone(),
        session: Some(Uuid::new_v4().to_string()),
        version: m.version.clone(),
        next_id: 1,
    };
    assert_eq!(fake.request("ping", json!({})).await.status, 404);
    // DELETE ends the session.
    let h = vec![("Authorization", format!("Bearer {}", a.token)), ("Mcp-Session-Id", m.session.clone().unwrap())];
    assert_eq!(app.send_with("DELETE", "/mcp", &h, None).await.status, 204);
    assert_eq!(m.request("ping", json!({})).await.status, 404);
    app.stop().await;
}

async fn tools_list_follows_scopes_and_calls_outside_them_are_denied(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reader = app.web_agent(&["project:read", "issue:read"]).await;
    let mut m = Mcp::connect(&app, &reader.token, "2025-11-25").await;
    let names = m.tool_names().await;
    assert_eq!(names, ["list_projects", "get_project_context", "search_issues", "get_issue"]);
    let r =
        m.call("create_issue", json!({"project": "WEB", "title": "nope", "idempotency_key": "create-nope-1"})).await;
    let text = error_text(&r);
    assert!(text.contains("scope_missing") && text.contains("issue:create"), "{text}");
    let filter = AuditFilter { agent_id: Some(reader.agent), limit: 10, ..Default::default() };
    let events = app.db.run(move |c| list(c, &filter)).await.unwrap();
    assert!(events.iter().any(|e| e.action == "create_issue"
        && e.outcome.as_str() == "denied"
        && e.error_code.as_deref() == Some("scope_missing")));
    let all = app.web_agent(ALL_BUT_MEMBERS).await;
    let names = Mcp::connect(&app, &all.token, "2025-11-25").await.tool_names().await;
    assert!(!names.contains(&"add_project_member".to_string()));
    assert_eq!(names.len(), 11);
    assert!(names.iter().all(|n| !n.contains("delete") && !n.contains("archive")));
    app.stop().await;
}

async fn a_card_workflow_through_mcp(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    let projects = m.ok("list_projects", json!({})).await;
    assert_eq!(projects["projects"][0]["identifier"], "WEB");
    let ctx = m.ok("get_project_context", json!({"project": "web"})).await;
    assert!(ctx["states"].as_array().unwrap().iter().any(|s| s["name"] == "In Progress"));
    let created = m
        .ok("create_issue", json!({"project": "WEB", "title": "Agent card", "labels": ["feature"], "idempotency_key": "create-agent-card-1",
            "blocks": {"goal": "Show the flow"}}))
        .await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(created["block_versions"]["goal"].is_string(), "the blocks it wrote, with their versions: {created}");
    let read = m.ok("get_issue", json!({"issue": key})).await;
    assert_eq!(read["blocks"]["goal"], "Show the flow");
    assert_eq!(read["labels"][0]["name"], "feature");
    let blocks = m
        .ok(
            "update_structured_blocks",
            json!({"issue": key, "idempotency_key": "blocks-agent-card-1", "ops": [
            {"op": "replace", "block": "plan", "text": "1. do it"},
            {"op": "append_log", "entry": "planned"}]}),
        )
        .await;
    let read = m.ok("get_issue", json!({"issue": key})).await;
    assert_eq!(read["blocks"]["plan"], "1. do it");
    assert_eq!(blocks["block_versions"]["plan"], read["block_versions"]["plan"], "the answer names the new versions");
    assert_eq!(blocks["block_versions"]["log"], read["block_versions"]["log"]);
    let moved =
        m.ok("move_issue", json!({"issue": key, "state": "In Progress", "idempotency_key": "move-agent-card-1"})).await;
    assert_eq!((moved["key"].as_str(), moved["state"].as_str()), (Some(key.as_str()), Some("In Progress")));
    let r = m.call("move_issue", json!({"issue": key, "state": "Doing", "idempotency_key": "move-agent-card-2"})).await;
    let text = error_text(&r);
    assert!(
        text.contains("Backlog") && text.contains("In Progress") && text.contains("Doing"),
        "the valid states are named: {text}"
    );
    let r = m.call("update_issue", json!({"issue": key, "idempotency_key": "upd-agent-card-1"})).await;
    assert!(error_text(&r).contains("Nothing to change"));
    let updated = m.ok("update_issue", json!({"issue": key, "priority": "high", "target_date": "2026-12-24", "idempotency_key": "upd-agent-card-2"})).await;
    assert_eq!(updated["key"], key);
    assert_eq!(m.ok("get_issue", json!({"issue": key})).await["priority"], "high");
    let c =
        m.ok("add_comment", json!({"issue": key, "body": "On it", "idempotency_key": "comment-agent-card-1"})).await;
    let read = m.ok("get_issue", json!({"issue": key})).await;
    let comment = read["recent_comments"].as_array().unwrap().iter().find(|x| x["id"] == c["comment_id"]).cloned();
    assert_eq!(comment.map(|x| x["body"].clone()), Some(json!("On it")));
    let l = m
        .ok(
            "set_issue_labels",
            json!({"issue": key, "add": ["bug"], "remove": ["feature"], "idempotency_key": "labels-agent-card-1"}),
        )
        .await;
    assert_eq!(l["key"], key);
    let read = m.ok("get_issue", json!({"issue": key})).await;
    assert_eq!(
        read["labels"].as_array().unwrap().iter().map(|x| x["name"].clone()).collect::<Vec<_>>(),
        [json!("bug")]
    );
    let a = m
        .ok(
            "assign_issue",
            json!({"issue": key, "add": ["alice@example.com"], "idempotency_key": "assign-agent-card-1"}),
        )
        .await;
    assert_eq!(a["key"], key);
    let read = m.ok("get_issue", json!({"issue": key})).await;
    assert_eq!(read["assignees"][0]["display_name"], "Alice");
    let found = m.ok("search_issues", json!({"project": "WEB", "query": "Agent card"})).await;
    assert_eq!(found["issues"][0]["key"], key);
    // The text rendering names what the next call needs.
    let r = m.call("get_issue", json!({"issue": key})).await;
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.contains(&key) && text.contains("In Progress") && text.contains("version"), "{text}");
    app.stop().await;
}

async fn cards_outside_the_grant_are_denied_by_id_key_and_search(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    // A card in OPS, which the agent is not granted (made by another agent that is).
    let ops_writer = {
        let owner = demo::ALICE;
        let r = app
            .internal("POST", &format!("/owners/{owner}/agents"), Some(json!({"name": "ops bot", "grants": [{"project_id": demo::OPS, "project_identifier": "OPS", "scopes": ["issue:create", "issue:read"]}]})))
            .await;
        let id = r.body["id"].as_str().unwrap().to_string();
        app.internal("POST", &format!("/owners/{owner}/agents/{id}/tokens"), Some(json!({"label": "x"}))).await.body["token"].as_str().unwrap().to_string()
    };
    let mut ops = Mcp::connect(&app, &ops_writer, "2025-11-25").await;
    let card = ops
        .ok("create_issue", json!({"project": "OPS", "title": "Secret ops card", "idempotency_key": "create-ops-1"}))
        .await;
    let (id, key) = (card["id"].as_str().unwrap().to_string(), card["key"].as_str().unwrap().to_string());
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    for (tool, args) in [
        ("get_issue", json!({"issue": key})),
        ("get_issue", json!({"issue": id})),
        ("search_issues", json!({"project": "OPS", "query": "Secret"})),
        ("get_project_context", json!({"project": "OPS"})),
        ("move_issue", json!({"issue": id, "state": "Done", "idempotency_key": "move-ops-1"})),
        ("add_comment", json!({"issue": key, "body": "x", "idempotency_key": "comment-ops-1"})),
        ("create_issue", json!({"project": demo::OPS, "title": "x", "idempotency_key": "create-ops-2"})),
    ] {
        let r = m.call(tool, args.clone()).await;
        let text = error_text(&r);
        assert!(text.contains("project_not_granted"), "{tool} {args}: {text}");
        assert!(!text.contains("Secret ops card"));
    }
    let found = m.ok("search_issues", json!({"project": "WEB", "query": "Secret"})).await;
    assert!(found["issues"].as_array().unwrap().is_empty());
    let filter = AuditFilter { agent_id: Some(f.agent), limit: 100, ..Default::default() };
    let events = app.db.run(move |c| list(c, &filter)).await.unwrap();
    let denied = events
        .iter()
        .filter(|e| e.outcome.as_str() == "denied" && e.error_code.as_deref() == Some("project_not_granted"))
        .count();
    assert_eq!(denied, 7, "every denial is audited");
    app.stop().await;
}

async fn idempotency_replays_refuses_and_serialises(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let args = json!({"project": "WEB", "title": "Once only", "idempotency_key": "create-once-only-1"});
    let first = m.call("create_issue", args.clone()).await;
    let second = m.call("create_issue", args.clone()).await;
    assert_eq!(first, second, "the same key and arguments replay the stored result");
    let r = m
        .call(
            "create_issue",
            json!({"project": "WEB", "title": "Something else", "idempotency_key": "create-once-only-1"}),
        )
        .await;
    assert!(error_text(&r).contains("idempotency_key_reused"));
    let r = m.call("create_issue", json!({"project": "WEB", "title": "no key"})).await;
    assert!(error_text(&r).contains("idempotency_key"));
    // Two concurrent calls with one key make one card.
    let concurrent = json!({"project": "WEB", "title": "Raced", "idempotency_key": "create-raced-1"});
    let mut a = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let mut b = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let (ra, rb) = tokio::join!(a.call("create_issue", concurrent.clone()), b.call("create_issue", concurrent.clone()));
    for r in [&ra, &rb] {
        assert!(r["isError"] != true || r["content"][0]["text"].as_str().unwrap().contains("in_progress"), "{r}");
    }
    let page = m.ok("search_issues", json!({"project": "WEB", "query": "Raced"})).await;
    assert_eq!(page["issues"].as_array().unwrap().len(), 1);
    let page = m.ok("search_issues", json!({"project": "WEB", "query": "Once only"})).await;
    assert_eq!(page["issues"].as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn rate_limits_refuse_with_a_hint_and_refill(backend: Backend) {
    let rate = RateLimits { read: Budget { per_minute: 60, burst: 2 }, write: Budget { per_minute: 60, burst: 1 } };
    let app = TestApp::builder(backend).rate(rate).start().await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    // initialize is a read too: one left in the burst of two.
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    m.ok("list_projects", json!({})).await;
    let r = m.call("list_projects", json!({})).await;
    let text = error_text(&r);
    assert!(text.contains("rate_limited") && text.contains("Retry in 1 second."), "{text}");
    // Writes have their own budget.
    m.ok("add_comment", json!({"issue": "WEB-1", "body": "a", "idempotency_key": "comment-rate-1"})).await;
    let r = m.call("add_comment", json!({"issue": "WEB-1", "body": "b", "idempotency_key": "comment-rate-2"})).await;
    assert!(error_text(&r).contains("rate_limited"));
    // The budget refills (one call per second here).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    m.ok("list_projects", json!({})).await;
    // REST answers 429 with Retry-After.
    let r = app.send("GET", "/api/v1/projects", Some(&f.token), None).await;
    let r2 = app.send("GET", "/api/v1/projects", Some(&f.token), None).await;
    let limited = [r, r2].into_iter().find(|r| r.status == 429).expect("a 429");
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.headers.get("retry-after").is_some());
    // An owner can give one agent its own budget, which applies at once.
    let r = app
        .internal("PATCH", &format!("/owners/{}/agents/{}", f.owner, f.agent), Some(json!({"read_per_minute": 6000})))
        .await;
    assert_eq!(r.body["read_per_minute"], 6000, "{}", r.text);
    for _ in 0..5 {
        assert_eq!(app.send("GET", "/api/v1/projects", Some(&f.token), None).await.status, 200);
    }
    let r = app
        .internal("PATCH", &format!("/owners/{}/agents/{}", f.owner, f.agent), Some(json!({"read_per_minute": 1})))
        .await;
    assert_eq!(r.status, 200);
    let codes: Vec<u16> = join_all((0..3).map(|_| app.send("GET", "/api/v1/projects", Some(&f.token), None)))
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(codes.contains(&429), "a budget of 1 per minute limits: {codes:?}");
    app.stop().await;
}

async fn a_revoked_token_is_refused_mid_session(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    m.ok("list_projects", json!({})).await;
    app.internal("POST", &format!("/owners/{}/agents/{}/tokens/{}/revoke", f.owner, f.agent, f.token_id), None).await;
    let r = m.request("tools/call", json!({"name": "list_projects", "arguments": {}})).await;
    assert_eq!((r.status, r.code()), (401, "token_revoked"));
    app.stop().await;
}

async fn every_call_leaves_exactly_one_audit_event(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let before = audit_count(&app, &f).await;
    let calls: Vec<(&str, Value)> = vec![
        ("list_projects", json!({})),
        ("get_issue", json!({"issue": "WEB-1"})),
        ("get_issue", json!({"issue": "WEB-999"})),
        ("add_comment", json!({"issue": "WEB-1", "body": "hi", "idempotency_key": "audit-comment-1"})),
        ("add_comment", json!({"issue": "WEB-1", "body": "hi", "idempotency_key": "audit-comment-1"})),
        ("move_issue", json!({"issue": "WEB-1", "state": "Nope", "idempotency_key": "audit-move-1"})),
        (
            "add_project_member",
            json!({"project": "WEB", "user": "carol@example.com", "idempotency_key": "audit-member-1"}),
        ),
        ("create_issue", json!({"project": "WEB"})),
    ];
    let n = calls.len();
    for (tool, args) in calls {
        m.call(tool, args).await;
    }
    assert_eq!(audit_count(&app, &f).await - before, n);
    let filter = AuditFilter { agent_id: Some(f.agent), limit: 100, ..Default::default() };
    let events = app.db.run(move |c| list(c, &filter)).await.unwrap();
    let comment = events.iter().filter(|e| e.action == "add_comment").collect::<Vec<_>>();
    assert_eq!(comment.len(), 2);
    assert!(comment.iter().all(|e| e.card_ref.as_deref() == Some("WEB-1")
        && e.idempotency_key.as_deref() == Some("audit-comment-1")
        && e.project_ref.as_deref() == Some("WEB")));
    let failed = events.iter().find(|e| e.action == "move_issue").unwrap();
    assert_eq!((failed.outcome.as_str(), failed.error_code.as_deref()), ("failed", Some("validation_failed")));
    app.stop().await;
}

async fn rest_endpoints_share_the_pipeline(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let t = Some(f.token.as_str());
    let r = app.send("GET", "/api/v1/projects", t, None).await;
    assert_eq!(r.body["projects"][0]["identifier"], "WEB", "{}", r.text);
    let key_header =
        |k: &str| vec![("Authorization", format!("Bearer {}", f.token)), ("Idempotency-Key", k.to_string())];
    let r = app
        .send_with(
            "POST",
            "/api/v1/projects/WEB/issues",
            &key_header("rest-create-1"),
            Some(json!({"title": "From REST"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = r.body["key"].as_str().unwrap().to_string();
    let again = app
        .send_with(
            "POST",
            "/api/v1/projects/WEB/issues",
            &key_header("rest-create-1"),
            Some(json!({"title": "From REST"})),
        )
        .await;
    assert_eq!(again.body, r.body);
    let r = app
        .send_with(
            "POST",
            "/api/v1/projects/WEB/issues",
            &[("Authorization", format!("Bearer {}", f.token))],
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "idempotency_key_required"));
    let r = app
        .send_with(
            "POST",
            &format!("/api/v1/issues/{key}/move"),
            &key_header("rest-move-1"),
            Some(json!({"state": "Done"})),
        )
        .await;
    assert_eq!(r.body["state"], "Done", "{}", r.text);
    let r = app.send("GET", &format!("/api/v1/issues/{key}"), t, None).await;
    assert_eq!(r.body["key"], key.as_str());
    let r = app.send("GET", "/api/v1/projects/WEB/issues?query=From%20REST&limit=5", t, None).await;
    assert_eq!(r.body["issues"][0]["key"], key.as_str(), "{}", r.text);
    let r = app.send("GET", "/api/v1/projects/WEB/issues?bogus=1", t, None).await;
    assert_eq!((r.status, r.code()), (400, "invalid_query"));
    let r = app
        .send_with(
            "POST",
            &format!("/api/v1/issues/{key}/move"),
            &key_header("rest-move-2"),
            Some(json!({"state": "Doing"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("In Progress"));
    let r = app.send("GET", "/api/v1/projects/OPS/issues", t, None).await;
    assert_eq!((r.status, r.code()), (403, "project_not_granted"));
    // Nothing deletes or archives (no raw path is forwarded either: boundary.rs).
    for (method, path) in
        [("DELETE", format!("/api/v1/issues/{key}")), ("DELETE", "/api/v1/projects/WEB/issues".into())]
    {
        let r = app.send(method, &path, t, None).await;
        assert_eq!((r.status, r.code()), (405, "method_not_allowed"), "{method} {path}");
    }
    let r = app.send("POST", &format!("/api/v1/issues/{key}/archive"), t, Some(json!({}))).await;
    assert_eq!((r.status, r.code()), (404, "route_not_found"));
    app.stop().await;
}

async fn the_setup_packet_holds_no_secret(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(&["project:read", "issue:read", "issue:create"]).await;
    let secret = &f.token[28..71];
    let own = app.send("GET", "/api/v1/agent-session/setup", Some(&f.token), None).await;
    let owner = app.internal("GET", &format!("/owners/{}/agents/{}/setup", f.owner, f.agent), None).await;
    assert_eq!(own.body, owner.body);
    let p = &own.body;
    assert!(p["codex"]["config_toml"].as_str().unwrap().contains("bearer_token_env_var"));
    assert!(p["codex"]["add_command"].as_str().unwrap().starts_with("codex mcp add "));
    let md = p["agents_md"].as_str().unwrap();
    assert!(
        md.contains("idempotency_key")
            && md.contains("WEB")
            && md.contains("create_issue")
            && !md.contains("assign_issue")
    );
    for text in [&own.text, &owner.text] {
        assert!(!text.contains(secret) && !text.contains(&f.token));
    }
    let other = app.web_agent(&["issue:read"]).await;
    let r = app.internal("GET", &format!("/owners/{}/agents/{}/setup", Uuid::new_v4(), other.agent), None).await;
    assert_eq!(r.status, 404);
    let _ = join_all(Vec::<std::future::Ready<()>>::new()).await;
    app.stop().await;
}

async fn a_replay_is_checked_against_the_current_grants(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let args = json!({"issue": "WEB-1", "body": "before", "idempotency_key": "replay-grant-1"});
    m.ok("add_comment", args.clone()).await;
    // The owner moves the agent to OPS only; the same call must not replay WEB's result.
    let grants = json!({"grants": [{"project_id": demo::OPS, "project_identifier": "OPS", "scopes": ["issue:read", "issue:comment"]}]});
    let r = app.internal("PUT", &format!("/owners/{}/agents/{}/grants", f.owner, f.agent), Some(grants)).await;
    assert_eq!(r.status, 200);
    let r = m.call("add_comment", args).await;
    assert!(error_text(&r).contains("project_not_granted"), "{r}");
    app.stop().await;
}

async fn a_scope_in_one_project_does_not_reach_another(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(&["project:read", "issue:read"]).await;
    let grants = json!({"grants": [
        {"project_id": demo::WEB, "project_identifier": "WEB", "scopes": ["project:read", "issue:read"]},
        {"project_id": demo::OPS, "project_identifier": "OPS", "scopes": ["issue:read", "issue:create"]}]});
    app.internal("PUT", &format!("/owners/{}/agents/{}/grants", f.owner, f.agent), Some(grants)).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    assert!(m.tool_names().await.contains(&"create_issue".to_string()));
    let r = m.call("create_issue", json!({"project": "WEB", "title": "x", "idempotency_key": "scope-web-1"})).await;
    let text = error_text(&r);
    assert!(text.contains("project_not_granted") && text.contains("OPS"), "{text}");
    m.ok("create_issue", json!({"project": "OPS", "title": "fine", "idempotency_key": "scope-ops-1"})).await;
    app.stop().await;
}

async fn rename_audit_table(app: &TestApp, from: &'static str, to: &'static str) {
    app.db
        .run(move |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("ALTER TABLE {from} RENAME TO {to}")).execute(c)?;
            Ok::<_, nodedc_agent_gateway::storage::StorageError>(())
        })
        .await
        .unwrap();
}

async fn a_write_whose_audit_cannot_be_recorded_is_not_performed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    // The audit table becomes unwritable (its name no longer exists).
    rename_audit_table(&app, "audit_events", "audit_events_away").await;
    let r =
        m.call("create_issue", json!({"project": "WEB", "title": "Unaudited", "idempotency_key": "unaudited-1"})).await;
    assert!(error_text(&r).contains("internal_error"), "{r}");
    rename_audit_table(&app, "audit_events_away", "audit_events").await;
    let page = m.ok("search_issues", json!({"project": "WEB", "query": "Unaudited"})).await;
    assert!(page["issues"].as_array().unwrap().is_empty(), "the write was not performed");
    // And the key was released: the same call works now.
    m.ok("create_issue", json!({"project": "WEB", "title": "Unaudited", "idempotency_key": "unaudited-1"})).await;
    app.stop().await;
}

async fn a_write_scope_does_not_grant_reads(backend: Backend) {
    let app = TestApp::start(backend).await;
    let reader = app.web_agent(ALL_BUT_MEMBERS).await;
    let blind = app.web_agent(&["issue:update", "issue:move", "issue:blocks"]).await;
    let mut r = Mcp::connect(&app, &reader.token, "2025-06-18").await;
    let mut w = Mcp::connect(&app, &blind.token, "2025-06-18").await;
    let blocks = json!({"plan": "The secret plan"});
    let card = r
        .ok(
            "create_issue",
            json!({"project": "WEB", "title": "Blind", "blocks": blocks, "idempotency_key": "blind-key-1"}),
        )
        .await;
    let (key, v1) = (card["key"].as_str().unwrap().to_string(), card["block_versions"]["plan"].clone());
    let replace = |text: &str, k: &str| json!({"issue": key, "ops": [{"op": "replace", "block": "plan", "text": text, "base_version": v1}], "idempotency_key": k});
    r.ok("update_structured_blocks", replace("The secret plan, revised", "blind-key-2")).await;

    // A conflict shows the current content only to a reader.
    let seen = error_text(&r.call("update_structured_blocks", replace("mine", "blind-key-3")).await);
    assert!(seen.contains("The secret plan, revised"), "{seen}");
    let res = w.call("update_structured_blocks", replace("mine", "blind-key-4")).await;
    let hidden = error_text(&res);
    assert!(hidden.starts_with("Error (conflict)") && hidden.contains("issue:read"), "{hidden}");
    assert!(!res.to_string().contains("secret plan"), "{res}");

    // A refused move lists the states only to an agent with project:read.
    let seen = error_text(
        &r.call("move_issue", json!({"issue": key, "state": "Nowhere", "idempotency_key": "blind-key-5"})).await,
    );
    assert!(seen.contains("Todo"), "{seen}");
    let res = w.call("move_issue", json!({"issue": key, "state": "Nowhere", "idempotency_key": "blind-key-6"})).await;
    let hidden = error_text(&res);
    assert!(hidden.contains("validation_failed") && hidden.contains("project:read"), "{hidden}");
    assert!(!res.to_string().contains("Todo") && !res.to_string().contains("Backlog"), "{res}");

    // A write's answer carries the card's state only for a reader.
    let out =
        w.ok("update_issue", json!({"issue": key, "title": "Blind, renamed", "idempotency_key": "blind-key-7"})).await;
    assert_eq!(out["key"], key.as_str());
    assert!(out.get("state").is_none(), "{out}");
    let out =
        r.ok("update_issue", json!({"issue": key, "title": "Blind, again", "idempotency_key": "blind-key-8"})).await;
    assert!(out["state"].is_string(), "{out}");
    app.stop().await;
}

async fn refusals_before_the_pipeline_are_audited(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    let trail = || async {
        let filter = AuditFilter { agent_id: Some(f.agent), limit: 100, ..Default::default() };
        let mut rows = app.db.run(move |c| list(c, &filter)).await.unwrap();
        rows.reverse();
        rows.into_iter()
            .filter(|e| e.action != "mcp.initialize")
            .map(|e| (e.action, e.outcome.as_str().to_string(), e.error_code.unwrap_or_default(), e.token_id))
            .collect::<Vec<_>>()
    };
    let before = trail().await.len();
    m.request("tools/call", json!({"name": "delete_issue", "arguments": {}})).await;
    m.request("tools/call", json!({"name": "get_issue", "arguments": [1]})).await;
    assert_eq!(m.post(json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]), true).await.status, 400);
    let bearer = vec![("Authorization", format!("Bearer {}", f.token))];
    let mut keyed = bearer.clone();
    keyed.push(("Idempotency-Key", "refused-body-1".into()));
    let r = app.send_with("POST", "/api/v1/projects/WEB/issues", &keyed, Some(json!(["not", "an", "object"]))).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app.send_with("DELETE", "/api/v1/issues/WEB-1", &bearer, None).await;
    assert_eq!(r.status, 405, "{}", r.text);
    // Without a token nothing names an agent: nothing to audit against.
    assert_eq!(app.send("DELETE", "/api/v1/issues/WEB-1", None, None).await.status, 405);

    let rows = trail().await;
    let refused: Vec<(&str, &str, &str)> =
        rows[before..].iter().map(|(a, o, c, _)| (a.as_str(), o.as_str(), c.as_str())).collect();
    assert_eq!(
        refused,
        [
            ("POST /mcp", "failed", "invalid_params"),
            ("POST /mcp", "failed", "invalid_params"),
            ("POST /mcp", "failed", "invalid_request"),
            ("POST /api/v1/projects/{project}/issues", "failed", "invalid_body"),
            ("DELETE /api/v1/issues/{issue}", "denied", "method_not_allowed"),
        ]
    );
    assert!(rows[before..].iter().all(|r| r.3 == Some(f.token_id)));
    app.stop().await;
}

async fn sessions_end_when_idle_or_when_the_owner_is_blocked(backend: Backend) {
    use nodedc_agent_gateway::actors::janitor::Retention;
    let idle = Retention { mcp_session_idle: Duration::from_secs(2), audit_days: None };
    let app = TestApp::builder(backend).retention(idle).start().await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    assert_eq!(m.request("tools/list", json!({})).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = m.request("tools/list", json!({})).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_i64()),
        (404, Some(-32001)),
        "an idle session is over: {}",
        r.text
    );
    app.stop().await;

    // Blocking the owner ends its agents' sessions, as a token revoke does: they stay
    // ended when the owner is unblocked.
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    assert_eq!(m.request("tools/list", json!({})).await.status, 200);
    app.upsert_owner(demo::ALICE, "blocked", true).await;
    app.upsert_owner(demo::ALICE, "active", true).await;
    let r = m.request("tools/list", json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let mut again = Mcp::connect(&app, &f.token, "2025-06-18").await;
    assert_eq!(again.request("tools/list", json!({})).await.status, 200, "a new session works");
    app.stop().await;
}

async fn ended_sessions_and_old_audit_events_are_purged(backend: Backend) {
    use nodedc_agent_gateway::storage::{self, audit, mcp_sessions};
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let (token, now) = (f.token_id, storage::now());
    let hours = move |h: i64| now - chrono::Duration::hours(h);
    let (fresh, idle, closed_long_ago) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    app.db
        .write(move |c| {
            mcp_sessions::insert(c, fresh, token, "2025-06-18", hours(1))?;
            mcp_sessions::insert(c, idle, token, "2025-06-18", hours(30))?;
            mcp_sessions::insert(c, closed_long_ago, token, "2025-06-18", hours(3))?;
            mcp_sessions::close(c, closed_long_ago, hours(49))?;
            assert_eq!(mcp_sessions::purge(c, hours(24), hours(24))?, 2);
            let left = mcp_sessions::find_open_many(
                c,
                &[fresh, idle, closed_long_ago],
                chrono::DateTime::UNIX_EPOCH.naive_utc(),
            )?;
            assert_eq!(left.keys().copied().collect::<Vec<_>>(), [fresh]);
            Ok::<_, storage::StorageError>(())
        })
        .await
        .unwrap();
    // Audit retention: events older than the cut-off go, in batches; newer ones stay.
    Mcp::connect(&app, &f.token, "2025-06-18").await.ok("list_projects", json!({})).await;
    let before = audit_count(&app, &f).await;
    assert!(before > 0, "a recent event to keep");
    let ctx = nodedc_agent_gateway::service::Ctx::new("old-1", nodedc_agent_gateway::model::AuditActor::Agent);
    for i in 0..3 {
        let mut e = nodedc_agent_gateway::service::audit::record(
            &ctx,
            "get_issue",
            nodedc_agent_gateway::service::audit::Subject::agent(Some(demo::ALICE), f.agent),
            nodedc_agent_gateway::model::Outcome::Allowed,
            None,
        );
        e.occurred_at = (now - chrono::Duration::days(40 + i)).and_utc();
        app.db.run(move |c| audit::insert(c, &e)).await.unwrap();
    }
    assert_eq!(audit_count(&app, &f).await, before + 3);
    let cut = now - chrono::Duration::days(30);
    assert_eq!(app.db.write(move |c| audit::purge_before(c, cut, 2)).await.unwrap(), 2);
    assert_eq!(app.db.write(move |c| audit::purge_before(c, cut, 2)).await.unwrap(), 1);
    assert_eq!(audit_count(&app, &f).await, before, "only the old events went");
    app.stop().await;
}

async fn sessions_survive_a_new_actor(backend: Backend) {
    use nodedc_agent_gateway::actors::TokenSessions;
    use nodedc_agent_gateway::actors::token_sessions::{AuthLimits, Authenticate};
    use nodedc_agent_gateway::auth::AgentToken;
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let g = app.web_agent(ALL_BUT_MEMBERS).await;
    let m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    let sid: Uuid = m.session.clone().unwrap().parse().unwrap();
    // A fresh actor (as after a restart) knows the session from the database.
    let fresh = TokenSessions::start_supervised(app.db.clone(), AuthLimits::default());
    let ask = |token: &str| Authenticate { token: AgentToken::parse(token).unwrap(), client: None, session: Some(sid) };
    let found = fresh.send(ask(&f.token)).await.unwrap().unwrap();
    assert_eq!(found.session.as_deref(), Some("2025-06-18"));
    let other = fresh.send(ask(&g.token)).await.unwrap().unwrap();
    assert_eq!(other.session, None, "bound to its token");
    app.stop().await;
}

async fn hostile_inputs_get_precise_errors(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let t = Some(f.token.as_str());
    let keyed = |k: &str| vec![("Authorization", format!("Bearer {}", f.token)), ("Idempotency-Key", k.to_string())];
    // NUL (PostgreSQL stores none), out-of-range numbers, unbounded text, bad cursors:
    // all 400 invalid_arguments, never a 5xx.
    let r = app
        .send_with("POST", "/api/v1/projects/WEB/issues", &keyed("hostile-nul-1"), Some(json!({"title": "t\u{0}x"})))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_arguments"), "{}", r.text);
    for path in [
        "/api/v1/projects/WEB/issues?query=a%00".to_string(),
        "/api/v1/issues/WEB-1%00".to_string(),
        "/api/v1/projects/WEB/issues?limit=1000".to_string(),
        "/api/v1/projects/WEB/issues?limit=0".to_string(),
        "/api/v1/projects/WEB/issues?cursor=zzz".to_string(),
        format!("/api/v1/projects/WEB/issues?query={}", "q".repeat(600)),
    ] {
        let r = app.send("GET", &path, t, None).await;
        assert_eq!((r.status, r.code()), (400, "invalid_arguments"), "{path}: {}", r.text);
    }
    // Keys that are present but unusable are invalid, not missing.
    let r = app.send_with("POST", "/api/v1/issues/WEB-1/comments", &keyed("ключ"), Some(json!({"body": "x"}))).await;
    assert_eq!(r.code(), "idempotency_key_invalid", "{}", r.text);
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let r = m.call("add_comment", json!({"issue": "WEB-1", "body": "x", "idempotency_key": 12345678})).await;
    assert!(error_text(&r).contains("idempotency_key_invalid"));
    // Malformed JSON-RPC messages are refused, not swallowed.
    for body in [json!({"jsonrpc": "2.0", "id": 1, "method": 5}), json!({"jsonrpc": "2.0", "id": 1})] {
        let r = m.post(body.clone(), true).await;
        assert_eq!((r.status, r.body["error"]["code"].clone()), (400, json!(-32600)), "{body}");
    }
    let r = m.request("tools/call", json!({"name": "list_projects", "arguments": [1]})).await;
    assert_eq!(r.body["error"]["code"], -32602);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("arguments must be an object"));
    // A card in a project the agent may not use, by id: no hint of where it is.
    let owner = demo::ALICE;
    let r = app
        .internal("POST", &format!("/owners/{owner}/agents"), Some(json!({"name": "ops writer", "grants": [{"project_id": demo::OPS, "project_identifier": "OPS", "scopes": ["issue:create"]}]})))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let token = app
        .internal("POST", &format!("/owners/{owner}/agents/{id}/tokens"), Some(json!({"label": "x"})))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ops = Mcp::connect(&app, &token, "2025-11-25").await;
    let card = ops
        .ok("create_issue", json!({"project": "OPS", "title": "elsewhere", "idempotency_key": "hostile-ops-1"}))
        .await;
    let card_id = card["id"].as_str().unwrap();
    let text = error_text(&m.call("get_issue", json!({"issue": card_id})).await);
    assert!(text.contains("project_not_granted") && text.contains("WEB"), "{text}");
    assert!(!text.contains(&demo::OPS.to_string()), "the card's project is not revealed: {text}");
    app.stop().await;
}

async fn members_are_added_but_never_as_admin(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(&["project:read", "project:member:add_existing"]).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let r = m.call("add_project_member", json!({"project": "WEB", "user": "carol@example.com", "role": "admin", "idempotency_key": "member-admin-1"})).await;
    assert!(error_text(&r).contains("role_not_allowed"));
    let added = m
        .ok(
            "add_project_member",
            json!({"project": "WEB", "user": "carol@example.com", "idempotency_key": "member-carol-1"}),
        )
        .await;
    assert_eq!((added["added"].as_bool(), added["member"]["role"].as_str()), (Some(true), Some("member")));
    let again = m
        .ok(
            "add_project_member",
            json!({"project": "WEB", "user": "carol@example.com", "idempotency_key": "member-carol-2"}),
        )
        .await;
    assert_eq!(again["added"], false, "already a member: nothing changes");
    let r = m
        .call(
            "add_project_member",
            json!({"project": "WEB", "user": "mallory@example.com", "idempotency_key": "member-mallory-1"}),
        )
        .await;
    let text = error_text(&r);
    assert!(
        text.contains("validation_failed") && text.contains("carol@example.com"),
        "the workspace members are listed: {text}"
    );
    app.stop().await;
}

async fn a_tasker_outage_is_clear_to_agents(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    app.tasker.handle.stop(true).await;
    let r = m.call("add_comment", json!({"issue": "WEB-1", "body": "x", "idempotency_key": "outage-comment-1"})).await;
    let text = error_text(&r);
    assert!(text.contains("tasker_unavailable") && text.contains("same idempotency_key"), "{text}");
    let r = m.call("list_projects", json!({})).await;
    assert!(error_text(&r).contains("tasker_unavailable"));
    let r = app.send("GET", "/api/v1/issues/WEB-1", Some(&f.token), None).await;
    assert_eq!((r.status, r.code()), (503, "tasker_unavailable"));
    assert!(r.headers.get("retry-after").is_some());
    // The gateway checks a card key's project itself: with Tasker down, a key in a
    // project the agent may not use is still refused as such (not as an outage).
    let r = m.call("get_issue", json!({"issue": "OPS-1"})).await;
    assert!(error_text(&r).contains("project_not_granted"));
    app.stop().await;
}

/// A card whose log is about 1 MB: a one-line comment answers, and keeps for replay,
/// a few KB (what changed), not the card; the replay answers the same.
async fn a_write_on_a_card_with_a_large_log_answers_and_keeps_a_few_kb(backend: Backend) {
    use diesel::prelude::*;
    use nodedc_agent_gateway::auth::InternalToken;
    use nodedc_agent_gateway::storage::schema::idempotency_keys as ik;
    use nodedc_agent_gateway::tasker::client::{CallContext, TaskerClient, TaskerConfig};
    use nodedc_agent_gateway::tasker::contract::{Actor, BlockOp, UPDATE_BLOCKS, UpdateBlocks};

    let app = TestApp::start(backend).await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    let tasker = TaskerClient::new(std::sync::Arc::new(TaskerConfig::new(
        format!("http://{}", app.tasker.addr),
        InternalToken::new(crate::common::TASKER_TOKEN.into()),
    )));
    let cx = CallContext { granted: vec![demo::WEB], request_id: "seed".into(), trace: None };
    let actor =
        Actor { agent_id: f.agent, agent_name: "seed".into(), owner_user_id: f.owner, request_id: "seed".into() };
    // 1,000 entries of 1,000 characters, in requests under Tasker's body limit.
    for batch in 0..10 {
        let ops = (0..100).map(|i| BlockOp::AppendLog { entry: format!("{batch}.{i} {}", "x".repeat(990)) }).collect();
        let body = UpdateBlocks { actor: actor.clone(), ops };
        let card = demo::WEB_1.to_string();
        tasker.write(&UPDATE_BLOCKS, &[&card], &body, &cx, &format!("seed-{batch}")).await.expect("seed the log");
    }
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let full = m.request("tools/call", json!({"name": "get_issue", "arguments": {"issue": "WEB-1"}})).await;
    assert!(full.text.len() > 1_000_000, "the card is large: {} bytes", full.text.len());

    let args = json!({"issue": "WEB-1", "body": "k", "idempotency_key": "big-log-1"});
    let first = m.request("tools/call", json!({"name": "add_comment", "arguments": args})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.text.len() < 4_096, "the answer is {} bytes: {}", first.text.len(), first.text);
    assert_eq!(first.body["result"]["structuredContent"]["key"], "WEB-1");
    let agent = f.agent.to_string();
    let stored: Option<String> = app
        .db
        .run(move |c| {
            ik::table
                .filter(ik::agent_id.eq(agent))
                .filter(ik::idempotency_key.eq("big-log-1"))
                .select(ik::response)
                .first(c)
                .map_err(nodedc_agent_gateway::storage::StorageError::from)
        })
        .await
        .unwrap();
    let stored = stored.expect("a completed key keeps its response");
    assert!(stored.len() < 4_096, "the stored response is {} bytes", stored.len());
    let again = m.request("tools/call", json!({"name": "add_comment", "arguments": args})).await;
    assert_eq!(again.body["result"], first.body["result"], "a replay answers the same");
    app.stop().await;
}

/// An error a model cannot act on is a wasted turn: each names the next step.
async fn errors_show_the_way_forward(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(&["project:read", "issue:read", "issue:create", "issue:update"]).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let key = |k: &str| format!("forward-{k}");
    for (tool, args, wanted) in [
        ("get_issue", json!({"issue": "WEB-999"}), "search_issues"),
        (
            "update_issue",
            json!({"issue": "WEB-1", "target_date": "31/12/2026", "idempotency_key": key("date")}),
            "YYYY-MM-DD",
        ),
        (
            "create_issue",
            json!({"project": "WEB", "title": "t", "start_date": "tomorrow", "idempotency_key": key("date2")}),
            "YYYY-MM-DD",
        ),
        ("update_issue", json!({"issue": "WEB-1", "state": "Done", "idempotency_key": key("state")}), "use move_issue"),
        (
            "update_issue",
            json!({"issue": "WEB-1", "labels": ["bug"], "idempotency_key": key("labels")}),
            "use set_issue_labels",
        ),
        (
            "update_issue",
            json!({"issue": "WEB-1", "parent": "OPS-1", "idempotency_key": key("parent")}),
            "a parent must be a card of the same project",
        ),
        (
            "create_issue",
            json!({"project": "WEB", "title": "t", "parent": "ops-1", "idempotency_key": key("parent2")}),
            "is a card of project OPS",
        ),
    ] {
        let text = error_text(&m.call(tool, args.clone()).await);
        assert!(text.contains(wanted), "{tool} {args}: {text}");
    }
    // A tool that does not exist: the answer names this agent's tools, and only those.
    let r = m.request("tools/call", json!({"name": "delete_issue", "arguments": {"issue": "WEB-1"}})).await;
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(r.body["error"]["code"], -32602, "{}", r.text);
    assert!(
        message.contains("delete_issue") && message.contains("get_issue, ") && message.contains("update_issue"),
        "{message}"
    );
    assert!(!message.contains("add_project_member") && !message.contains("move_issue"), "{message}");
    app.stop().await;
}

/// A write refused for its arguments draws on the read budget: a model fixing its
/// arguments does not use up the writes it is about to make.
async fn bad_arguments_cost_a_read_not_a_write(backend: Backend) {
    let rate = RateLimits { read: Budget { per_minute: 1, burst: 4 }, write: Budget { per_minute: 1, burst: 1 } };
    let app = TestApp::builder(backend).rate(rate).start().await;
    let f = app.web_agent(ALL_BUT_MEMBERS).await;
    // initialize takes one read; two bad writes take two more.
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    for body in [json!(42), json!(null)] {
        let r = m.call("add_comment", json!({"issue": "WEB-1", "body": body, "idempotency_key": "cost-1234"})).await;
        assert!(error_text(&r).contains("invalid_arguments"), "{r}");
    }
    // The one write in the budget is still there.
    m.ok("add_comment", json!({"issue": "WEB-1", "body": "right", "idempotency_key": "cost-1234"})).await;
    // One read left, then the reads are used up: a bad write is refused as a read.
    let r = m.call("add_comment", json!({"issue": "WEB-1", "idempotency_key": "cost-5678"})).await;
    assert!(error_text(&r).contains("invalid_arguments"), "{r}");
    let r = m.call("add_comment", json!({"issue": "WEB-1", "idempotency_key": "cost-5678"})).await;
    let text = error_text(&r);
    assert!(text.contains("rate_limited") && text.contains("reads"), "{text}");
    app.stop().await;
}
