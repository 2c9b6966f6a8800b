//! MCP 2026-07-28 (stateless, per-request `_meta`) on the same `/mcp` endpoint as the
//! session versions, in process, against the reference Tasker, on both backends: what
//! `server/discover` says, calls without a session through the one pipeline (rate,
//! scope, grant, one audit event, revocation on the next request), and every fault
//! with its code and HTTP status.

use nodedc_agent_gateway::actors::rate_buckets::{Budget, RateLimits};
use nodedc_agent_gateway::storage::Backend;
use nodedc_agent_gateway::storage::audit::{AuditFilter, list};
use serde_json::{Value, json};

use crate::common::mcp::{MODERN, Mcp, Stateless, envelope};
use crate::common::{Fixture, TestApp};

const READER: &[&str] = &["project:read", "issue:read"];
const WRITER: &[&str] = &["project:read", "issue:read", "issue:create", "issue:comment"];

on_both_backends!(
    discover_says_what_the_server_is,
    requests_need_no_session_and_carry_result_type_and_cache_hints,
    calls_go_through_the_one_pipeline,
    a_revoked_token_is_refused_on_the_next_request,
    faults_have_the_codes_and_statuses_2026_names,
    resources_and_prompts_answer_not_found_in_both_eras,
);

async fn audit_count(app: &TestApp, f: &Fixture) -> usize {
    let filter = AuditFilter { agent_id: Some(f.agent), limit: 1000, ..Default::default() };
    app.db.run(move |c| list(c, &filter)).await.unwrap().iter().filter(|e| e.actor.as_str() == "agent").count()
}

async fn discover_says_what_the_server_is(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(READER).await;
    let mut s = Stateless::new(&app, &f.token);
    let r = s.request("server/discover", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.headers.get("mcp-session-id").is_none(), "no session is minted");
    let d = &r.body["result"];
    assert_eq!(d["resultType"], "complete");
    assert_eq!(d["supportedVersions"], json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]));
    // Only what is served: tools, and resources and prompts (empty, and read/get answer
    // "not found"); no logging (no log message is ever sent).
    assert_eq!(d["capabilities"], json!({"tools": {"listChanged": false}, "resources": {}, "prompts": {}}));
    assert_eq!(d["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "nodedc-agent-gateway");
    assert!(d["instructions"].as_str().unwrap().contains("list_projects"));
    assert_eq!((d["ttlMs"].clone(), d["cacheScope"].clone()), (json!(3_600_000), json!("public")));
    // clientInfo is optional in the envelope.
    let meta =
        json!({"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}});
    let r = s
        .raw(
            &[("MCP-Protocol-Version", MODERN), ("Mcp-Method", "server/discover")],
            json!({"jsonrpc": "2.0", "id": "d", "method": "server/discover", "params": {"_meta": meta}}),
        )
        .await;
    assert_eq!((r.status, r.body["id"].clone()), (200, json!("d")), "{}", r.text);
    app.stop().await;
}

async fn requests_need_no_session_and_carry_result_type_and_cache_hints(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(WRITER).await;
    let mut s = Stateless::new(&app, &f.token);
    let r = s.request("tools/list", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = &r.body["result"];
    assert_eq!((list["resultType"].clone(), list["ttlMs"].clone()), (json!("complete"), json!(60_000)));
    assert_eq!(list["cacheScope"], "private", "the list follows the token's scopes");
    let names: Vec<&str> = list["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["list_projects", "get_project_context", "search_issues", "get_issue", "create_issue", "add_comment"]
    );
    assert!(list["tools"][0]["outputSchema"].is_object(), "output schemas, as from 2025-06-18");
    for (method, key) in [
        ("resources/list", "resources"),
        ("resources/templates/list", "resourceTemplates"),
        ("prompts/list", "prompts"),
    ] {
        let r = s.request(method, json!({})).await;
        let res = &r.body["result"];
        assert_eq!(
            (r.status, res[key].clone(), res["resultType"].clone()),
            (200, json!([]), json!("complete")),
            "{method}"
        );
        assert_eq!((res["ttlMs"].clone(), res["cacheScope"].clone()), (json!(3_600_000), json!("public")), "{method}");
    }
    // A card round trip, each request on its own.
    let projects = s.ok("list_projects", json!({})).await;
    assert_eq!(projects["projects"][0]["identifier"], "WEB");
    let created = s
        .ok("create_issue", json!({"project": "WEB", "title": "Stateless card", "idempotency_key": "stateless-1"}))
        .await;
    let key = created["key"].as_str().unwrap_or_else(|| panic!("{created}")).to_string();
    let again = s
        .ok("create_issue", json!({"project": "WEB", "title": "Stateless card", "idempotency_key": "stateless-1"}))
        .await;
    assert_eq!(again["key"], key.as_str(), "the same key replays the first result");
    let issue = s.ok("get_issue", json!({"issue": key})).await;
    assert_eq!(issue["title"], "Stateless card");
    // A session header is ignored on a 2026-07-28 request (an unknown id is no 404).
    let mut h = s.headers("tools/list", None);
    h.push(("Mcp-Session-Id", "00000000-0000-4000-8000-000000000000".into()));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope(MODERN)}});
    let r = app.send_with("POST", "/mcp", &h, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.headers.get("mcp-session-id").is_none());
    // The session era is untouched beside it: results there carry no resultType.
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let r = m.request("tools/list", json!({})).await;
    assert!(r.body["result"].get("resultType").is_none() && r.body["result"].get("ttlMs").is_none(), "{}", r.text);
    let r = m.call("list_projects", json!({})).await;
    assert!(r.get("resultType").is_none(), "{r}");
    app.stop().await;
}

async fn calls_go_through_the_one_pipeline(backend: Backend) {
    let limits = RateLimits { read: Budget { per_minute: 1, burst: 3 }, ..RateLimits::default() };
    let app = TestApp::builder(backend).rate(limits).start().await;
    let f = app.web_agent(READER).await;
    let mut s = Stateless::new(&app, &f.token);
    let before = audit_count(&app, &f).await;
    // Scope: a tool outside the token's scopes is refused (and audited).
    let r = s.call("create_issue", json!({"project": "WEB", "title": "x", "idempotency_key": "scope-0001"})).await;
    assert_eq!(r["isError"], true);
    assert!(r["content"][0]["text"].as_str().unwrap().starts_with("Error (scope_missing)"), "{r}");
    // Grant: a project the agent is not granted.
    let r = s.call("get_project_context", json!({"project": "OPS"})).await;
    assert!(r["content"][0]["text"].as_str().unwrap().starts_with("Error (project_not_granted)"), "{r}");
    // Rate: discovery draws on the read budget like initialize, and so do reads.
    let r = s.request("server/discover", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.call("list_projects", json!({})).await;
    assert_ne!(r["isError"], true, "{r}");
    let r = s.call("list_projects", json!({})).await;
    assert!(r["content"][0]["text"].as_str().unwrap().starts_with("Error (rate_limited)"), "{r}");
    let r = s.request("server/discover", json!({})).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.text);
    assert!(r.headers.get("retry-after").is_some());
    // One audit event per tool call, whatever its outcome; discovery and lists are not calls.
    assert_eq!(audit_count(&app, &f).await - before, 4);
    let filter = AuditFilter { agent_id: Some(f.agent), limit: 100, ..Default::default() };
    let events = app.db.run(move |c| list(c, &filter)).await.unwrap();
    let outcomes: Vec<(&str, &str)> =
        events.iter().rev().map(|e| (e.action.as_str(), e.error_code.as_deref().unwrap_or("-"))).collect();
    assert_eq!(
        outcomes[outcomes.len() - 4..],
        [
            ("create_issue", "scope_missing"),
            ("get_project_context", "project_not_granted"),
            ("list_projects", "-"),
            ("list_projects", "rate_limited")
        ]
    );
    app.stop().await;
}

async fn a_revoked_token_is_refused_on_the_next_request(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(READER).await;
    let mut s = Stateless::new(&app, &f.token);
    s.ok("list_projects", json!({})).await;
    app.internal("POST", &format!("/owners/{}/agents/{}/tokens/{}/revoke", f.owner, f.agent, f.token_id), None).await;
    let r = s.request("tools/call", json!({"name": "list_projects", "arguments": {}})).await;
    assert_eq!((r.status, r.code()), (401, "token_revoked"), "{}", r.text);
    let r = s.request("server/discover", json!({})).await;
    assert_eq!((r.status, r.code()), (401, "token_revoked"), "{}", r.text);
    // No token at all: 401 before anything else is looked at.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": envelope(MODERN)}});
    let r = app.send_with("POST", "/mcp", &[("MCP-Protocol-Version", MODERN.into())], Some(body)).await;
    assert_eq!((r.status, r.code()), (401, "missing_token"));
    app.stop().await;
}

/// (HTTP status, JSON-RPC code, the error's id).
fn fault(r: &crate::common::Resp) -> (u16, Value, Value) {
    (r.status, r.body["error"]["code"].clone(), r.body["id"].clone())
}

async fn faults_have_the_codes_and_statuses_2026_names(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(READER).await;
    let mut s = Stateless::new(&app, &f.token);
    let std = |method: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![("MCP-Protocol-Version", MODERN), ("Mcp-Method", method)]
    };
    let req =
        |id: u64, method: &str, params: Value| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let with_meta = |meta: Value| json!({"_meta": meta});

    // The envelope: missing, or missing a required key, or holding a bad one: -32602, 400.
    for (id, params) in [
        (1, json!({})),
        (2, with_meta(json!({"io.modelcontextprotocol/clientCapabilities": {}}))),
        (3, with_meta(json!({"io.modelcontextprotocol/protocolVersion": MODERN}))),
        (
            4,
            with_meta(
                json!({"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": []}),
            ),
        ),
        (
            5,
            with_meta(
                json!({"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": {"name": 1}}),
            ),
        ),
        (
            6,
            with_meta(
                json!({"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/logLevel": "loud"}),
            ),
        ),
    ] {
        let r = s.raw(&std("server/discover"), req(id, "server/discover", params)).await;
        assert_eq!(fault(&r), (400, json!(-32602), json!(id)), "{}", r.text);
        assert!(r.body["error"]["data"]["envelope"].is_object(), "{}", r.text);
    }
    // An unsupported version: -32022, 400, with the supported versions and the one asked for.
    let v999 = with_meta(
        json!({"io.modelcontextprotocol/protocolVersion": "v999.0.0", "io.modelcontextprotocol/clientCapabilities": {}}),
    );
    let r = s
        .raw(
            &[("MCP-Protocol-Version", "v999.0.0"), ("Mcp-Method", "server/discover")],
            req(10, "server/discover", v999.clone()),
        )
        .await;
    assert_eq!(fault(&r), (400, json!(-32022), json!(10)), "{}", r.text);
    assert_eq!(r.body["error"]["data"]["requested"], "v999.0.0");
    assert_eq!(r.body["error"]["data"]["supported"], json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]));
    // Headers that disagree with the body, or are missing: -32020, 400.
    let ok = with_meta(envelope(MODERN));
    for (id, headers, method) in [
        (11, std("server/discover"), "server/discover"),
        (12, vec![("MCP-Protocol-Version", MODERN), ("Mcp-Method", "prompts/list")], "tools/list"),
        (13, vec![("MCP-Protocol-Version", MODERN), ("Mcp-Method", "TOOLS/LIST")], "tools/list"),
        (14, vec![("MCP-Protocol-Version", MODERN)], "tools/list"),
        (15, vec![("Mcp-Method", "tools/list")], "tools/list"),
    ] {
        let body = if id == 11 { req(id, method, v999.clone()) } else { req(id, method, ok.clone()) };
        let r = s.raw(&headers, body).await;
        assert_eq!(fault(&r), (400, json!(-32020), json!(id)), "{id}: {}", r.text);
    }
    let call = |name: &str| {
        let mut p = ok.clone();
        p["name"] = json!(name);
        p["arguments"] = json!({});
        p
    };
    for (id, name_header) in [(16, None), (17, Some("get_issue")), (18, Some("=?base64?bGlzdF9wcm9qZWN0cw?="))] {
        let mut h = std("tools/call");
        if let Some(n) = name_header {
            h.push(("Mcp-Name", n));
        }
        let r = s.raw(&h, req(id, "tools/call", call("list_projects"))).await;
        assert_eq!(fault(&r), (400, json!(-32020), json!(id)), "{id}: {}", r.text);
    }
    // Mcp-Name: surrounding whitespace is not part of the value; Base64 sentinels decode.
    for (id, n) in [(19, "  list_projects  "), (20, "=?base64?bGlzdF9wcm9qZWN0cw==?=")] {
        let mut h = std("tools/call");
        h.push(("Mcp-Name", n));
        let r = s.raw(&h, req(id, "tools/call", call("list_projects"))).await;
        assert_eq!((r.status, r.body["result"]["isError"].clone()), (200, json!(false)), "{id}: {}", r.text);
    }
    // Methods 2026-07-28 does not have (or this server does not offer): -32601, 404.
    for (id, method) in [
        (21, "initialize"),
        (22, "ping"),
        (23, "logging/setLevel"),
        (24, "resources/subscribe"),
        (25, "subscriptions/listen"),
        (26, "completion/complete"),
        (27, "unknown/method"),
    ] {
        let r = s.raw(&std(method), req(id, method, ok.clone())).await;
        assert_eq!(fault(&r), (404, json!(-32601), json!(id)), "{method}: {}", r.text);
    }
    // Bad tools/call params and an unknown tool are answered in band (200), -32602.
    let r = s.request("tools/call", json!({"name": "delete_issue", "arguments": {"issue": "WEB-1"}})).await;
    assert_eq!((r.status, r.body["error"]["code"].clone()), (200, json!(-32602)), "{}", r.text);
    let r = s.request("tools/call", json!({"name": "get_issue", "arguments": "WEB-1"})).await;
    assert_eq!((r.status, r.body["error"]["code"].clone()), (200, json!(-32602)), "{}", r.text);
    // A notification is accepted with nothing to answer; an id that is not a string or
    // a number, and a batch, are invalid requests.
    let r = s
        .raw(
            &std("notifications/cancelled"),
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": ok.clone()}),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (202, ""));
    let r = s
        .raw(&std("tools/list"), json!({"jsonrpc": "2.0", "id": [1], "method": "tools/list", "params": ok.clone()}))
        .await;
    assert_eq!((r.status, r.body["error"]["code"].clone()), (400, json!(-32600)), "{}", r.text);
    let r = s.raw(&std("tools/list"), json!([req(28, "tools/list", ok.clone())])).await;
    assert_eq!((r.status, r.body["error"]["code"].clone()), (400, json!(-32600)), "{}", r.text);
    // A legacy session asked with a version header it does not know: the same -32022 shape.
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    m.version = "1900-01-01".into();
    let r = m.request("tools/list", json!({})).await;
    assert_eq!((r.status, r.body["error"]["code"].clone()), (400, json!(-32022)), "{}", r.text);
    assert_eq!(r.body["error"]["data"]["requested"], "1900-01-01");
    // initialize naming 2026-07-28 without an envelope is the legacy handshake: it
    // answers the newest session version (2026-07-28 has no handshake).
    let m = Mcp::connect(&app, &f.token, MODERN).await;
    assert_eq!(m.version, "2025-11-25");
    app.stop().await;
}

async fn resources_and_prompts_answer_not_found_in_both_eras(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(READER).await;
    let mut s = Stateless::new(&app, &f.token);
    let r = s.request("resources/read", json!({"uri": "test://nothing"})).await;
    assert_eq!((r.status, r.body["error"]["code"].clone()), (200, json!(-32602)), "{}", r.text);
    assert_eq!(r.body["error"]["data"]["uri"], "test://nothing");
    let r = s.request("prompts/get", json!({"name": "nothing"})).await;
    assert_eq!((r.status, r.body["error"]["code"].clone()), (200, json!(-32602)), "{}", r.text);
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    let r = m.request("resources/read", json!({"uri": "test://nothing"})).await;
    assert_eq!((r.status, r.body["error"]["code"].clone()), (200, json!(-32002)), "{}", r.text);
    assert_eq!(r.body["error"]["data"]["uri"], "test://nothing");
    let r = m.request("resources/read", json!({})).await;
    assert_eq!(r.body["error"]["code"], -32602, "{}", r.text);
    let r = m.request("prompts/get", json!({"name": "nothing"})).await;
    assert_eq!(r.body["error"]["code"], -32602, "{}", r.text);
    app.stop().await;
}
