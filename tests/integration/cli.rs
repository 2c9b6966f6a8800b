//! The real binary: start-up on the embedded default, configuration errors, database
//! errors, the operator commands, and a search for a token's secret in everything the
//! service wrote or answered.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::process::{Gateway, command, run};
use serde_json::{Value, json};
use uuid::Uuid;

const INTERNAL: &str = "cli-test-internal-token-0123456789abcdefghijkl";
/// The demo project WEB of the embedded reference Tasker.
const WEB: &str = "7a5c0002-0000-4000-8000-000000000111";
/// The demo user Alice, a member of WEB.
const ALICE: &str = "7a5c0001-0000-4000-8000-0000000a11ce";

async fn get(url: &str, bearer: Option<&str>) -> (u16, Value) {
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let mut req = client.get(url);
    if let Some(b) = bearer {
        req = req.insert_header(("Authorization", format!("Bearer {b}")));
    }
    let mut res = req.send().await.expect("request");
    let body = res.body().limit(1 << 22).await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn serve_with_no_configuration_starts_on_sqlite() {
    let cwd = tempfile::tempdir().unwrap();
    // Nothing set at all: no flags, no NODEDC_* variables. Binds 127.0.0.1:8787.
    let mut cmd = command(cwd.path());
    cmd.arg("serve");
    let mut gw = Gateway::start(cmd);
    assert_eq!(gw.addr, "127.0.0.1:8787");
    let (status, body) = get(&gw.url("/readyz"), None).await;
    assert_eq!((status, body["database"].as_str(), body["schema"].as_str()), (200, Some("sqlite"), Some("current")));

    let data = cwd.path().join(".agent-gateway");
    assert!(data.join("gateway.db").is_file());
    let token_file = data.join("internal-token");
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_string();
    assert!(token.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
    let out = gw.output();
    assert!(out.contains("internal-token"), "the token file's path is printed");
    assert!(!out.contains(&token), "the token itself is not");
    // The generated token works on the internal API.
    let (status, _) = get(&gw.url(&format!("/api/internal/v1/owners/{}/access", Uuid::new_v4())), Some(&token)).await;
    assert_eq!(status, 200);
    assert!(gw.terminate().success());

    // A second start reuses the same token and database.
    let mut cmd = command(cwd.path());
    cmd.arg("serve");
    let mut gw = Gateway::start(cmd);
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), token);
    assert_eq!(get(&gw.url("/readyz"), None).await.0, 200);
    gw.terminate();
}

#[test]
fn bad_configuration_exits_2_listing_every_problem() {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = command(cwd.path());
    cmd.arg("serve")
        .env("NODEDC_AGENT_GATEWAY_MODE", "production")
        .env("NODEDC_AGENT_GATEWAY_BIND", "everywhere")
        .env("NODEDC_AGENT_GATEWAY_DATABASE_URL", "mysql://gw:hunter2-db-password@db/gw")
        .env("NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN", "short-secret-xyz")
        .env("NODEDC_AGENT_GATEWAY_LOG_FORMAT", "xml")
        .env("NODEDC_AGENT_GATEWAY_MAX_BODY_BYTES", "-5")
        .env("NODEDC_AGENT_GATEWAY_PUBLIC_URL", "ftp://x");
    let (code, stdout, stderr) = run(cmd);
    assert_eq!(code, 2, "{stdout}{stderr}");
    // Six bad values, and production without a Tasker: exactly these seven, one line each.
    let settings =
        ["BIND", "DATABASE_URL", "INTERNAL_TOKEN", "LOG_FORMAT", "MAX_BODY_BYTES", "PUBLIC_URL", "TASKER_URL"];
    for setting in settings {
        assert!(stderr.contains(&format!("NODEDC_AGENT_GATEWAY_{setting} (--")), "{setting} missing:\n{stderr}");
    }
    assert!(stderr.contains("(7 problems)"), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("  - ")).count(), 7, "{stderr}");
    assert!(stderr.contains("expected"), "each problem says what is expected");
    assert!(!stderr.contains("hunter2") && !stderr.contains("short-secret-xyz"), "no secret echoed:\n{stderr}");
    assert!(!cwd.path().join(".agent-gateway").exists(), "nothing written for a bad configuration");

    // Production with nothing set: the missing token and bind are problems too.
    let mut cmd = command(cwd.path());
    cmd.args(["serve", "--mode", "production"]);
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, 2);
    assert!(stderr.contains("NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN") && stderr.contains("NODEDC_AGENT_GATEWAY_BIND"));

    // A blank token is no token.
    let mut cmd = command(cwd.path());
    cmd.args(["serve", "--mode", "production", "--bind", "0.0.0.0:8080", "--tasker-url", "https://tasker.example"])
        .env("NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN", " ".repeat(40))
        .env("NODEDC_AGENT_GATEWAY_TASKER_TOKEN", " ".repeat(40));
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, 2);
    assert!(stderr.contains("INTERNAL_TOKEN (--internal-token): is not set"), "{stderr}");
    assert!(stderr.contains("TASKER_TOKEN (--tasker-token): is not set"), "{stderr}");

    // Local mode refuses to listen beyond loopback.
    let mut cmd = command(cwd.path());
    cmd.args(["serve", "--bind", "0.0.0.0:8080"]);
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, 2);
    assert!(stderr.contains("loopback"), "{stderr}");
}

#[test]
fn unreachable_postgres_is_a_clear_error_and_no_sqlite_file() {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = command(cwd.path());
    cmd.arg("serve").env("NODEDC_AGENT_GATEWAY_DATABASE_URL", "postgres://gw:pw-not-shown@127.0.0.1:1/gw");
    let started = Instant::now();
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot open database postgres://"), "{stderr}");
    assert!(!stderr.contains("pw-not-shown"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));
    let leftovers: Vec<_> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n != ".agent-gateway")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let data = cwd.path().join(".agent-gateway");
    assert!(!data.join("gateway.db").exists());
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("gw.db").display())
}

#[test]
fn serve_refuses_a_database_newer_than_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let mut cmd = command(dir.path());
    cmd.args(["migrate", "--database-url", &url]);
    assert_eq!(run(cmd).0, 0);
    {
        use diesel::{Connection, RunQueryDsl, SqliteConnection};
        let mut c = SqliteConnection::establish(dir.path().join("gw.db").to_str().unwrap()).unwrap();
        diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('29990101000000')")
            .execute(&mut c)
            .unwrap();
    }
    for sub in ["serve", "migrate"] {
        let mut cmd = command(dir.path());
        cmd.args([sub, "--database-url", &url]);
        let (code, _, stderr) = run(cmd);
        assert_eq!(code, 1, "{sub}: {stderr}");
        assert!(stderr.contains("newer than this binary") && stderr.contains("29990101000000"), "{stderr}");
    }
}

fn operator(dir: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = command(dir);
    cmd.args(args).arg("--database-url").arg(url);
    run(cmd)
}

#[actix_web::test]
async fn operator_commands_manage_owners_agents_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    // Alice of the embedded reference Tasker's demo workspace, a member of WEB.
    let owner = ALICE.to_string();

    let (code, out, err) =
        operator(dir.path(), &url, &["owner", "upsert", "--user-id", &owner, "--name", "Alice", "--init"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("codex_agents true"));
    assert!(err.contains(&format!("database: SQLite file {}", dir.path().join("gw.db").display())), "{err}");

    // A project Tasker does not have for her is refused, naming hers.
    let made_up = format!("{}:WEB", Uuid::new_v4());
    let (code, out, err) =
        operator(dir.path(), &url, &["agent", "create", "--owner", &owner, "--name", "Web Bot", "--project", &made_up]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("unknown_project") && err.contains(&format!("WEB ({WEB})")), "{err}");
    let (_, out, _) = operator(dir.path(), &url, &["agent", "list"]);
    assert!(out.contains("no agents"), "nothing was created: {out}");

    let (code, _, err) =
        operator(dir.path(), &url, &["agent", "create", "--owner", &owner, "--name", "bad", "--scope", "issue:delete"]);
    assert_eq!(code, 2);
    assert!(err.contains("issue:create"), "the valid scopes are listed: {err}");

    let proj = format!("{WEB}:WEB");
    let (code, out, err) = operator(
        dir.path(),
        &url,
        &[
            "agent",
            "create",
            "--owner",
            &owner,
            "--name",
            "Web Bot",
            "--project",
            &proj,
            "--scope",
            "issue:read",
            "--scope",
            "issue:create",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let agent = out.split_whitespace().nth(1).unwrap().to_string();
    assert!(out.contains("issue:read issue:create"), "{out}");

    let (code, out, _) = operator(dir.path(), &url, &["agent", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains(&agent) && out.contains("Web Bot"));

    let (code, out, err) = operator(dir.path(), &url, &["token", "issue", "--agent", &agent, "--label", "laptop"]);
    assert_eq!(code, 0, "{err}");
    let token = out.split_whitespace().find(|w| w.contains("=ndcag_")).unwrap().split_once('=').unwrap().1.to_string();
    assert!(out.contains("[mcp_servers.nodedc_web_bot]"), "{out}");
    assert!(out.contains("bearer_token_env_var = \"NODEDC_AGENT_TOKEN_WEB_BOT\""));
    assert!(out.contains("codex mcp add nodedc_web_bot --url http://127.0.0.1:8787/mcp"));
    let token_id = out.split_whitespace().nth(1).unwrap().to_string();

    let (_, out, _) = operator(dir.path(), &url, &["token", "list", "--agent", &agent]);
    assert!(out.contains(&token_id) && out.contains("active") && !out.contains(&token[28..71]));

    // The token works against a running gateway on the same database...
    let mut cmd = command(dir.path());
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--reference-tasker-bind",
        "127.0.0.1:0",
        "--internal-token",
        INTERNAL,
        "--database-url",
        &url,
    ]);
    let mut gw = Gateway::start(cmd);
    let (status, body) = get(&gw.url("/api/v1/agent-session"), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grants"][0]["project_identifier"], "WEB");

    // ...and a revoke from the CLI, while it runs, refuses the very next request.
    let (code, _, err) = operator(dir.path(), &url, &["token", "revoke", "--token", &token_id]);
    assert_eq!(code, 0, "{err}");
    let (status, body) = get(&gw.url("/api/v1/agent-session"), Some(&token)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_revoked")));

    // Blocking the owner from the CLI refuses the agent's other tokens at once too.
    let (_, out, _) = operator(dir.path(), &url, &["token", "issue", "--agent", &agent]);
    let token2 = out.split_whitespace().find(|w| w.contains("=ndcag_")).unwrap().split_once('=').unwrap().1.to_string();
    assert_eq!(get(&gw.url("/api/v1/agent-session"), Some(&token2)).await.0, 200);
    operator(dir.path(), &url, &["owner", "upsert", "--user-id", &owner, "--name", "Alice", "--status", "blocked"]);
    let (status, body) = get(&gw.url("/api/v1/agent-session"), Some(&token2)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("owner_blocked")));
    let (_, out, _) = operator(dir.path(), &url, &["owner", "show", "--user-id", &owner]);
    assert!(out.contains("owner_blocked"), "{out}");
    gw.terminate();

    let (code, _, err) = operator(dir.path(), &url, &["token", "issue", "--agent", "not-a-uuid"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a UUID"));
}

/// Every file under `dir`, recursively, as bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Everything stored in a PostgreSQL database, as text.
fn dump_postgres(url: &str) -> String {
    use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let mut c = PgConnection::establish(url).unwrap();
    let tables: Vec<Row> =
        diesel::sql_query("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'").load(&mut c).unwrap();
    let mut all = String::new();
    for table in tables {
        let rows: Vec<Row> =
            diesel::sql_query(format!("SELECT row_to_json(x)::text AS t FROM \"{}\" x", table.t)).load(&mut c).unwrap();
        for r in rows {
            all.push_str(&r.t);
            all.push('\n');
        }
    }
    all
}

async fn secret_reaches_no_log_row_listing_or_file(backend: nodedc_agent_gateway::storage::Backend) {
    use nodedc_agent_gateway::storage::Backend;
    let test_db = crate::common::TestDb::new(backend);
    let data = tempfile::tempdir().unwrap();
    let mut cmd = command(data.path());
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--reference-tasker-bind",
        "127.0.0.1:0",
        "--internal-token",
        INTERNAL,
    ])
    .arg("--data-dir")
    .arg(data.path().join("data"))
    .args(["--database-url", &test_db.raw_url, "--log-format", "json", "--log-level", "debug"]);
    let mut gw = Gateway::start(cmd);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let mut answers = String::new();
    let mut session = String::new();
    let mut call = async |method: &str, path: &str, bearer: &str, body: Option<Value>| -> (u16, Value) {
        let m = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = client.request(m, gw.url(path)).insert_header(("Authorization", format!("Bearer {bearer}")));
        if path == "/mcp" && !session.is_empty() {
            req = req.insert_header(("Mcp-Session-Id", session.clone()));
        }
        if path.starts_with("/api/v1/issues") || path.starts_with("/api/v1/projects/") {
            req = req.insert_header(("Idempotency-Key", format!("secret-test-{}", answers.len())));
        }
        let mut res = match body {
            Some(b) => req.send_json(&b).await.unwrap(),
            None => req.send().await.unwrap(),
        };
        if let Some(s) = res.headers().get("mcp-session-id") {
            session = s.to_str().unwrap().to_string();
        }
        let text = String::from_utf8_lossy(&res.body().limit(1 << 22).await.unwrap()).to_string();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        answers.push_str(&text);
        answers.push('\n');
        (res.status().as_u16(), v)
    };

    // Alice: a member of the seeded WEB, so the grant is accepted.
    let owner = ALICE;
    let base = format!("/api/internal/v1/owners/{owner}");
    call(
        "PUT",
        &base,
        INTERNAL,
        Some(json!({"display_name": "O", "status": "active", "entitlements": ["codex_agents"]})),
    )
    .await;
    let agent = call(
        "POST",
        &format!("{base}/agents"),
        INTERNAL,
        Some(json!({"name": "leaky", "grants": [{"project_id": WEB, "project_identifier": "WEB",
            "scopes": ["project:read", "issue:read", "issue:comment"]}]})),
    )
    .await;
    let agent = agent.1["id"].as_str().unwrap().to_string();
    let a = format!("{base}/agents/{agent}");
    // The one answer that carries the token is set aside; everything else is searched.
    let issued = {
        let mut res = client
            .post(gw.url(&format!("{a}/tokens")))
            .insert_header(("Authorization", format!("Bearer {INTERNAL}")))
            .send_json(&json!({"label": "secret-test"}))
            .await
            .unwrap();
        serde_json::from_slice::<Value>(&res.body().await.unwrap()).unwrap()
    };
    let token = issued["token"].as_str().unwrap().to_string();
    let token_id = issued["token_info"]["id"].as_str().unwrap().to_string();
    let secret = token[28..71].to_string();
    assert_eq!(secret.len(), 43);
    let mut typo = token.clone().into_bytes();
    typo[40] = if typo[40] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();

    let grants = json!({"grants": [{"project_id": WEB, "project_identifier": "WEB",
        "scopes": ["project:read", "issue:read", "issue:comment"]}]});
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let mcp_comment = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "add_comment", "arguments": {"issue": "WEB-1", "body": "hello", "idempotency_key": "secret-test-mcp-1"}}});
    let (t, typo_t) = (token.as_str(), typo.as_str());
    // Every call is checked for its status, so each reaches the code paths that carry
    // data (a refused write would leak nothing and prove nothing).
    for (method, path, bearer, body, expected) in [
        ("GET", "/healthz".to_string(), t, None, 200),
        ("GET", "/readyz".to_string(), t, None, 200),
        ("GET", base.clone(), INTERNAL, None, 200),
        ("GET", format!("{base}/access"), INTERNAL, None, 200),
        ("GET", format!("{base}/changes"), INTERNAL, None, 200),
        ("GET", format!("{base}/agents"), INTERNAL, None, 200),
        ("GET", a.clone(), INTERNAL, None, 200),
        ("PATCH", a.clone(), INTERNAL, Some(json!({"description": "d"})), 200),
        ("GET", format!("{a}/grants"), INTERNAL, None, 200),
        ("PUT", format!("{a}/grants"), INTERNAL, Some(grants), 200),
        ("GET", format!("{a}/tokens"), INTERNAL, None, 200),
        ("GET", "/api/v1/agent-session".to_string(), t, None, 200),
        ("GET", "/api/v1/agent-session".to_string(), t, None, 200),
        ("GET", "/api/v1/agent-session".to_string(), typo_t, None, 401),
        ("GET", "/api/v1/agent-session/setup".to_string(), t, None, 200),
        ("GET", format!("{a}/setup"), INTERNAL, None, 200),
        ("POST", "/mcp".to_string(), t, Some(initialize), 200),
        ("POST", "/mcp".to_string(), t, Some(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})), 200),
        ("POST", "/mcp".to_string(), t, Some(mcp_comment), 200),
        ("POST", "/mcp".to_string(), typo_t, Some(json!({"jsonrpc": "2.0", "id": 4, "method": "ping"})), 401),
        ("GET", "/api/v1/projects".to_string(), t, None, 200),
        ("GET", "/api/v1/issues/WEB-1".to_string(), t, None, 200),
        ("POST", "/api/v1/issues/WEB-1/comments".to_string(), t, Some(json!({"body": "from REST"})), 200),
        ("DELETE", "/api/v1/issues/WEB-1".to_string(), t, None, 405),
        ("GET", "/api/internal/v1/owners/x/agents".to_string(), t, None, 401),
        ("DELETE", a.clone(), t, None, 405),
        ("GET", "/no/such/route".to_string(), t, None, 404),
        ("POST", format!("{a}/tokens/{token_id}/revoke"), INTERNAL, None, 200),
        ("GET", "/api/v1/agent-session".to_string(), t, None, 401),
        ("POST", format!("{a}/revoke"), INTERNAL, None, 200),
        ("GET", format!("{base}/audit"), INTERNAL, None, 200),
        ("GET", format!("{a}/tokens"), INTERNAL, None, 200),
    ] {
        let is_tool_call = body.as_ref().is_some_and(|b| b["method"] == "tools/call");
        let (status, answer) = call(method, &path, bearer, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        if is_tool_call {
            let added = &answer["result"]["structuredContent"];
            assert!(added["comment_id"].is_string() && added["key"] == "WEB-1", "the MCP write succeeded: {answer}");
        }
        if method == "POST" && path.ends_with("/comments") {
            assert!(answer["comment_id"].is_string(), "the REST write succeeded: {answer}");
        }
    }
    assert!(gw.terminate().success());

    // CLI listings read the same database.
    let mut cmd = command(data.path());
    cmd.args(["token", "list", "--agent", &agent, "--database-url", &test_db.raw_url]);
    let (code, listing, _) = run(cmd);
    assert_eq!(code, 0);

    let logs = gw.output();
    // One structured line per request: method, route, status, duration, request id,
    // and the agent when known.
    let line: Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["route"] == "/api/v1/agent-session" && l["status"] == 200)
        .expect("a request line for the agent session");
    assert_eq!(line["method"], "GET");
    assert!(line["duration_ms"].is_number(), "{line}");
    assert!(Uuid::parse_str(line["request_id"].as_str().unwrap()).is_ok());
    assert_eq!(line["agent_id"], agent.as_str());
    assert!(answers.matches("comment_id").count() >= 2, "the MCP and REST writes ran: {answers}");
    for (what, text) in [("logs", &logs), ("API answers", &answers), ("CLI listing", &listing)] {
        assert!(!text.contains(&secret), "the token secret appears in the {what}");
        assert!(!text.contains(INTERNAL), "the internal token appears in the {what}");
    }
    let mut searched = 0;
    for dir in [data.path(), test_db.dir.path()] {
        for (path, bytes) in files(dir) {
            searched += 1;
            assert!(!contains(&bytes, &secret), "the token secret is in {path}");
        }
    }
    if backend == Backend::Postgres {
        let dump = dump_postgres(&test_db.raw_url);
        assert!(dump.contains("token.issue"), "the dump holds the audit rows");
        assert!(dump.contains("$argon2id$"), "the token is stored as an argon2id hash");
        assert!(!dump.contains(&secret), "the token secret is in the database");
    } else {
        assert!(searched >= 1, "the SQLite files were searched");
    }
}

on_both_backends!(secret_reaches_no_log_row_listing_or_file, operator_commands_refuse_a_missing_database_without_init);

#[actix_web::test]
async fn a_gateway_uses_the_tasker_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let tasker_db = format!("sqlite://{}", dir.path().join("tasker.db").display());
    let gateway_db = sqlite_url(dir.path());
    let tasker_token = "separate-tasker-token-0123456789abcdefghijk";
    // The reference Tasker alone, on its own database.
    let mut cmd = command(dir.path());
    cmd.args([
        "reference-tasker",
        "--bind",
        "127.0.0.1:0",
        "--token",
        tasker_token,
        "--database-url",
        &tasker_db,
        "--log-format",
        "json",
    ]);
    let mut tasker = Gateway::start(cmd);
    let (status, page) = get(&format!("http://{}/", tasker.addr), None).await;
    assert_eq!(status, 200);
    let _ = page;
    // A gateway configured with its URL and token, on another database.
    let owner = ALICE;
    operator(dir.path(), &gateway_db, &["owner", "upsert", "--user-id", owner, "--name", "Alice", "--init"]);
    let project = format!("{WEB}:WEB");
    // The grant is checked against that Tasker (its token read from a file).
    let token_file = dir.path().join("tasker-token");
    std::fs::write(&token_file, format!("{tasker_token}\n")).unwrap();
    let tasker_url = format!("http://{}", tasker.addr);
    let (_, out, err) = operator(
        dir.path(),
        &gateway_db,
        &["agent", "create", "--owner", owner, "--name", "remote", "--project", &project, "--tasker-url", &tasker_url]
            .into_iter()
            .chain(["--tasker-token-file", token_file.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    let agent = out.split_whitespace().nth(1).unwrap_or_else(|| panic!("{err}")).to_string();
    let (_, out, _) = operator(dir.path(), &gateway_db, &["token", "issue", "--agent", &agent]);
    let token = out.split_whitespace().find(|w| w.contains("=ndcag_")).unwrap().split_once('=').unwrap().1.to_string();
    let mut cmd = command(dir.path());
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--internal-token",
        INTERNAL,
        "--database-url",
        &gateway_db,
        "--log-format",
        "json",
    ])
    .args(["--tasker-url", &format!("http://{}", tasker.addr), "--tasker-token", tasker_token]);
    let mut gw = Gateway::start(cmd);
    let (status, body) = get(&gw.url("/api/v1/projects"), Some(&token)).await;
    assert_eq!((status, body["projects"][0]["identifier"].as_str()), (200, Some("WEB")), "{body}");
    assert!(!gw.output().contains("reference Tasker running in process"), "no embedded Tasker when a URL is given");
    // A wrong token for Tasker is an upstream refusal, not a silent success.
    gw.terminate();
    let mut cmd = command(dir.path());
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--internal-token",
        INTERNAL,
        "--database-url",
        &gateway_db,
        "--log-format",
        "json",
    ])
    .args([
        "--tasker-url",
        &format!("http://{}", tasker.addr),
        "--tasker-token",
        "a-wrong-token-for-tasker-0123456789abcdef",
    ]);
    let mut gw = Gateway::start(cmd);
    let (status, body) = get(&gw.url("/api/v1/projects"), Some(&token)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("tasker_misconfigured")), "{body}");
    gw.terminate();
    tasker.terminate();
}

/// An operator command where there is no database yet (the wrong directory, a new
/// PostgreSQL database) fails naming the database and creates nothing; `--init`
/// creates it.
async fn operator_commands_refuse_a_missing_database_without_init(backend: nodedc_agent_gateway::storage::Backend) {
    use nodedc_agent_gateway::storage::Backend;
    let cwd = tempfile::tempdir().unwrap();
    let owner = Uuid::new_v4().to_string();
    let show = ["owner", "show", "--user-id", owner.as_str()];
    let test_db = crate::common::TestDb::new(backend);
    let with_db = |args: &[&str]| {
        let mut cmd = command(cwd.path());
        cmd.args(args);
        if backend == Backend::Postgres {
            cmd.args(["--database-url", &test_db.raw_url]);
        }
        run(cmd)
    };
    for args in
        [&show[..], &["agent", "list"], &["token", "list", "--agent", &owner], &["console-link", "--owner", &owner]]
    {
        let (code, out, err) = with_db(args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        let named = match backend {
            Backend::Sqlite => {
                format!("the database SQLite file {} does not exist", Path::new(".agent-gateway/gateway.db").display())
            }
            Backend::Postgres => "has no gateway tables".to_string(),
        };
        assert!(err.contains(&named) && err.contains("--init"), "{args:?}: {err}");
        assert!(!cwd.path().join(".agent-gateway").exists(), "{args:?} created the data directory");
    }
    if backend == Backend::Postgres {
        assert!(!dump_postgres(&test_db.raw_url).contains("agents"), "no table was created");
    }
    let upsert = ["owner", "upsert", "--user-id", owner.as_str(), "--name", "Ann"];
    let (code, _, err) = with_db(&upsert);
    assert_eq!(code, 1, "{err}");
    let (code, out, err) = with_db(&[&upsert[..], &["--init"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = with_db(&show);
    assert_eq!(code, 0, "the database exists now: {err}");
    assert!(out.contains("Ann"), "{out}");
    if backend == Backend::Sqlite {
        assert!(cwd.path().join(".agent-gateway/gateway.db").is_file());
    }
}

/// `token issue`, `demo-setup` and `console-link` print the URL `serve` would use with
/// the same settings: PUBLIC_URL, else http:// + BIND.
#[test]
fn printed_urls_follow_public_url_and_bind() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let with = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = command(dir.path());
        cmd.args(args).args(["--database-url", &url]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd)
    };
    let bind = [("NODEDC_AGENT_GATEWAY_BIND", "127.0.0.1:18787")];
    let (code, out, err) = with(&bind, &["demo-setup"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("--url http://127.0.0.1:18787/mcp"), "{out}");
    let agent = out.lines().find_map(|l| l.strip_prefix("agent Demo agent (")).unwrap().trim_end_matches("): created");
    let (code, out, err) = with(&bind, &["token", "issue", "--agent", agent]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("url = \"http://127.0.0.1:18787/mcp\""), "{out}");
    assert!(out.contains("codex mcp add nodedc_demo_agent --url http://127.0.0.1:18787/mcp"), "{out}");
    let (_, out, _) = with(&bind, &["console-link", "--owner", ALICE]);
    assert!(out.starts_with("http://127.0.0.1:18787/console/sign-in?link="), "{out}");
    // PUBLIC_URL wins over BIND; a bad BIND is a usage error before anything is written.
    let public = [("NODEDC_AGENT_GATEWAY_PUBLIC_URL", "https://agents.example.com/"), bind[0]];
    let (_, out, _) = with(&public, &["token", "issue", "--agent", agent]);
    assert!(out.contains("--url https://agents.example.com/mcp"), "{out}");
    let (code, _, err) = with(&[("NODEDC_AGENT_GATEWAY_BIND", "nowhere")], &["token", "issue", "--agent", agent]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("NODEDC_AGENT_GATEWAY_BIND (--bind): `nowhere` is not an address"), "{err}");
    let (_, out, _) = with(&[], &["token", "list", "--agent", agent]);
    assert_eq!(out.lines().count(), 3, "demo-setup's token and two issued: {out}");
}

/// DATABASE_URL_FILE and TASKER_TOKEN_FILE: read like INTERNAL_TOKEN_FILE, never both a
/// value and a file, and a problem names the setting and the path, not the contents.
#[test]
fn database_url_and_tasker_token_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("db-url");
    std::fs::write(&url_file, format!("{}\n", sqlite_url(dir.path()))).unwrap();
    let mut cmd = command(dir.path());
    cmd.arg("migrate").env("NODEDC_AGENT_GATEWAY_DATABASE_URL_FILE", &url_file);
    let (code, _, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("gw.db").is_file(), "the URL in the file was used");

    let mut cmd = command(dir.path());
    cmd.args(["agent", "list"])
        .env("NODEDC_AGENT_GATEWAY_DATABASE_URL_FILE", &url_file)
        .env("NODEDC_AGENT_GATEWAY_DATABASE_URL", "postgres://gw:db-secret-pw@db/gw");
    let (code, _, err) = run(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("NODEDC_AGENT_GATEWAY_DATABASE_URL (--database-url): is set together with NODEDC_AGENT_GATEWAY_DATABASE_URL_FILE"),
        "{err}"
    );
    assert!(!err.contains("db-secret-pw"), "{err}");

    let secret_url = dir.path().join("secret-url");
    std::fs::write(&secret_url, "mysql://gw:file-secret-pw@db/gw").unwrap();
    let missing = dir.path().join("no-such-token");
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--tasker-url", "http://127.0.0.1:9"])
        .env("NODEDC_AGENT_GATEWAY_DATABASE_URL_FILE", &secret_url)
        .env("NODEDC_AGENT_GATEWAY_TASKER_TOKEN_FILE", &missing);
    let (code, _, err) = run(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "NODEDC_AGENT_GATEWAY_DATABASE_URL_FILE (--database-url-file): the URL in {}",
            secret_url.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "NODEDC_AGENT_GATEWAY_TASKER_TOKEN_FILE (--tasker-token-file): {} cannot be read",
            missing.display()
        )),
        "{err}"
    );
    assert!(!err.contains("file-secret-pw"), "{err}");

    let token_file = dir.path().join("tasker-token");
    std::fs::write(&token_file, "tasker-token-from-a-file-0123456789abcdef").unwrap();
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--tasker-url", "http://127.0.0.1:9", "--tasker-token", "x".repeat(40).as_str()])
        .env("NODEDC_AGENT_GATEWAY_TASKER_TOKEN_FILE", &token_file);
    let (code, _, err) = run(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("TASKER_TOKEN (--tasker-token): is set together with NODEDC_AGENT_GATEWAY_TASKER_TOKEN_FILE"),
        "{err}"
    );
    assert!(!err.contains("tasker-token-from-a-file"), "{err}");
}
