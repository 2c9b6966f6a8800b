//! `demo-setup` on the real binary, in a fresh directory on an empty database (SQLite
//! and PostgreSQL): the first run creates the demo owner, the agent and a token; later
//! runs reuse them and only add a token, and two first runs at once make one agent;
//! every token printed authenticates on a served gateway and reaches the demo project.

use std::path::Path;
use std::time::Duration;

use nodedc_agent_gateway::storage::Backend;
use serde_json::Value;

use crate::common::TestDb;
use crate::common::process::{Gateway, command, run};

const ALICE: &str = "7a5c0001-0000-4000-8000-0000000a11ce";
const WEB: &str = "7a5c0002-0000-4000-8000-000000000111";
const INTERNAL: &str = "demo-setup-test-internal-token-0123456789abc";
const SCOPES: &str =
    "project:read issue:read issue:create issue:update issue:move issue:comment issue:label issue:assign issue:blocks";

on_both_backends!(demo_setup_is_one_shot_and_safe_to_repeat, concurrent_first_runs_make_one_agent);

fn cli(dir: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = command(dir);
    cmd.args(args).args(["--database-url", url]);
    run(cmd)
}

/// stdout of a successful `demo-setup ARGS`, with the token it printed.
#[track_caller]
fn demo_setup(dir: &Path, url: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["demo-setup"];
    all.extend_from_slice(args);
    let (code, out, err) = cli(dir, url, &all);
    assert_eq!(code, 0, "demo-setup failed:\n{out}{err}");
    let token = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("export NODEDC_AGENT_TOKEN_DEMO_AGENT="))
        .unwrap_or_else(|| panic!("no export line:\n{out}"))
        .to_string();
    assert!(token.starts_with("ndcag_"), "{token}");
    assert!(!err.contains(&token), "the token reached the log:\n{err}");
    (out, token)
}

/// The id printed on `agent Demo agent (ID): ...`.
fn agent_id(out: &str) -> String {
    let line = out.lines().find(|l| l.starts_with("agent Demo agent (")).unwrap_or_else(|| panic!("{out}"));
    line["agent Demo agent (".len()..].split(')').next().unwrap_or_default().to_string()
}

async fn get(url: &str, bearer: &str) -> (u16, Value) {
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let mut res = client.get(url).insert_header(("Authorization", format!("Bearer {bearer}"))).send().await.unwrap();
    let body = res.body().limit(1 << 22).await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn demo_setup_is_one_shot_and_safe_to_repeat(backend: Backend) {
    let db = TestDb::new(backend);
    let url = db.raw_url.clone();
    let dir = tempfile::tempdir().unwrap();

    // First run, on an empty database: everything is created; the URL is serve's default.
    let (out, first) = demo_setup(dir.path(), &url, &[]);
    assert!(out.contains(&format!("demo owner Alice ({ALICE}): created")), "{out}");
    assert!(out.contains("): created\n"), "{out}");
    assert!(out.contains(&format!("  project WEB ({WEB}): {SCOPES}\n")), "{out}");
    assert!(out.contains("[mcp_servers.nodedc_demo_agent]\nurl = \"http://127.0.0.1:8787/mcp\"\n"), "{out}");
    assert!(out.contains("bearer_token_env_var = \"NODEDC_AGENT_TOKEN_DEMO_AGENT\""), "{out}");
    assert!(out.contains(
        "codex mcp add nodedc_demo_agent --url http://127.0.0.1:8787/mcp --bearer-token-env-var NODEDC_AGENT_TOKEN_DEMO_AGENT"
    ));
    assert!(out.contains("issues a new token"), "says that a run makes a new token: {out}");
    let agent = agent_id(&out);

    // Second run: the same owner and agent, a new token; the URL from PUBLIC_URL.
    let mut cmd = command(dir.path());
    cmd.args(["demo-setup", "--database-url", &url])
        .env("NODEDC_AGENT_GATEWAY_PUBLIC_URL", "https://agents.example.com/");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("demo owner Alice ({ALICE}): exists")), "{out}");
    assert!(out.contains(&format!("agent Demo agent ({agent}): exists")), "{out}");
    assert!(out.contains("url = \"https://agents.example.com/mcp\""), "{out}");
    let (_, second) = demo_setup(dir.path(), &url, &["--bind", "127.0.0.1:9999"]);
    assert_ne!(first, second);

    let (_, list, _) = cli(dir.path(), &url, &["agent", "list", "--owner", ALICE]);
    assert_eq!(list.lines().filter(|l| l.contains("Demo agent")).count(), 1, "{list}");
    let (_, tokens, _) = cli(dir.path(), &url, &["token", "list", "--agent", &agent]);
    assert_eq!(tokens.lines().filter(|l| l.contains("demo-setup") && l.contains("active")).count(), 3, "{tokens}");

    // A blocked owner is not unblocked behind the operator's back.
    let blocked = ["owner", "upsert", "--user-id", ALICE, "--name", "Alice", "--status", "blocked"];
    assert_eq!(cli(dir.path(), &url, &blocked).0, 0);
    let (code, out, err) = cli(dir.path(), &url, &["demo-setup"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("owner_blocked") && !out.contains("export "), "{out}{err}");
    assert_eq!(cli(dir.path(), &url, &["owner", "upsert", "--user-id", ALICE, "--name", "Alice"]).0, 0);

    // The tokens work on a gateway serving that database, on the demo project WEB of
    // its embedded reference Tasker.
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--reference-tasker-bind", "127.0.0.1:0"]).args([
        "--internal-token",
        INTERNAL,
        "--database-url",
        &url,
    ]);
    let mut gw = Gateway::start(cmd);
    for token in [&first, &second] {
        let (status, body) = get(&gw.url("/api/v1/agent-session"), token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["grants"][0]["project_identifier"], "WEB", "{body}");
    }
    let (status, body) = get(&gw.url("/api/v1/projects"), &second).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("\"WEB\""), "{body}");
    gw.terminate();
}

/// Two first runs at once (two `docker compose run`s on a new stack): both succeed,
/// with one owner and one agent between them.
async fn concurrent_first_runs_make_one_agent(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let spawn = || {
        let mut cmd = command(dir.path());
        cmd.args(["demo-setup", "--database-url", &db.raw_url]);
        std::thread::spawn(move || run(cmd))
    };
    let (a, b) = (spawn(), spawn());
    let mut agents = Vec::new();
    for (code, out, err) in [a.join().unwrap(), b.join().unwrap()] {
        assert_eq!(code, 0, "a concurrent run failed:\n{out}{err}");
        agents.push(agent_id(&out));
    }
    assert_eq!(agents[0], agents[1]);
    let (_, list, _) = cli(dir.path(), &db.raw_url, &["agent", "list"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    let (_, tokens, _) = cli(dir.path(), &db.raw_url, &["token", "list", "--agent", &agents[0]]);
    assert_eq!(tokens.lines().filter(|l| l.contains("active")).count(), 2, "{tokens}");
}
