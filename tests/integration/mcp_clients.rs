//! Real MCP clients against the real binary. Each test starts its own gateway (fresh
//! temp dir, SQLite, embedded reference Tasker with the demo workspace), creates the
//! owner Alice, an agent "Web bot" on project WEB and a token with the operator
//! commands, then runs one client from `tests/clients/` and checks its exit code and its
//! JSON summary line:
//!
//! - the Python MCP SDK (`python_client.py`, in `tests/clients/.venv`), once with a
//!   session (`legacy` mode) and once pinned to the stateless 2026-07-28 protocol;
//! - the TypeScript MCP SDK (`ts_client.mjs`, on the machine's Node 20);
//! - the Codex CLI's app-server (`codex_client.mjs`), configured from the setup packet;
//! - the MCP Inspector's CLI with `--protocol-era modern` (`inspector_client.mjs`, on
//!   Node 22 from npm);
//! - the official MCP conformance suite (`conformance.mjs`, on Node 22 from npm), on
//!   both protocol eras.
//!
//! The Python, TypeScript and Codex clients also report a work session (start on WEB-1,
//! progress on WEB-2, finish `done`); the test then reads that session back from the
//! admin reporting API.
//!
//! `./tests/run.sh` installs the clients (npm ci, a Python venv); without them these
//! tests fail and say so. `tests/clients/README.md` has the details.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::process::{Gateway, command, run};
use serde_json::{Value, json};

const ALICE: &str = "7a5c0001-0000-4000-8000-0000000a11ce";
const WEB: &str = "7a5c0002-0000-4000-8000-000000000111:WEB";
const SCOPES: &[&str] = &[
    "project:read",
    "issue:read",
    "issue:create",
    "issue:update",
    "issue:move",
    "issue:comment",
    "issue:label",
    "issue:assign",
    "issue:blocks",
    "session:report",
];
/// What `tools/list` shows the agent: every tool of those scopes.
const TOOLS: usize = 14;
const TOKEN_LINE: &str = "export NODEDC_AGENT_TOKEN_WEB_BOT=";

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("clients")
}

#[track_caller]
fn not_installed(what: &str, detail: &str) -> ! {
    panic!(
        "MCP test clients not installed: {what} ({detail}). Run ./tests/run.sh: it installs them \
         (npm ci --prefix tests/clients, and a Python venv at tests/clients/.venv) before cargo test."
    )
}

/// `NAME==VERSION` lines of requirements.txt.
fn python_pins() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(clients_dir().join("requirements.txt")).expect("tests/clients/requirements.txt");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The venv's interpreter, with the pinned `mcp` importable.
fn python() -> PathBuf {
    let py = clients_dir().join(".venv").join("bin").join("python");
    if !py.exists() {
        not_installed("the Python MCP client", &format!("{} is missing", py.display()));
    }
    let (_, mcp_pin) = python_pins().into_iter().find(|(n, _)| n == "mcp").expect("requirements.txt pins mcp");
    let out = Command::new(&py)
        .args(["-c", "import mcp, importlib.metadata as m; print(m.version('mcp'))"])
        .output()
        .unwrap_or_else(|e| not_installed("the Python MCP client", &format!("{} does not run: {e}", py.display())));
    let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        not_installed(
            "the Python MCP client",
            &format!("`import mcp` fails: {}", String::from_utf8_lossy(&out.stderr)),
        );
    }
    if found != mcp_pin {
        not_installed("the Python MCP client", &format!("mcp {found} is installed, requirements.txt pins {mcp_pin}"));
    }
    py
}

/// Checks that every npm dependency is installed at its pinned version.
fn node_modules() -> PathBuf {
    let dir = clients_dir();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).expect("tests/clients/package.json"))
            .expect("package.json");
    let modules = dir.join("node_modules");
    for (name, pin) in manifest["dependencies"].as_object().expect("dependencies") {
        let pkg = modules.join(name).join("package.json");
        let Ok(text) = std::fs::read_to_string(&pkg) else {
            not_installed("the npm clients", &format!("{} is missing", pkg.display()))
        };
        let found: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if found["version"].as_str() != pin.as_str() {
            not_installed(
                "the npm clients",
                &format!("{name} {} is installed, package.json pins {pin}", found["version"]),
            );
        }
    }
    modules
}

/// The machine's Node (20 or newer), which runs the TypeScript and Codex clients.
fn node() -> &'static str {
    let out = Command::new("node")
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("Node.js (20 or newer) must be on PATH for the MCP client tests: {e}"));
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let major: u32 = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(major >= 20, "the MCP client tests need Node.js 20 or newer on PATH, found {version:?}");
    "node"
}

/// A gateway set up as an operator would: owner Alice, agent "Web bot" on WEB with the
/// issue scopes and session:report (not project:member:add_existing), and a token.
struct Setup {
    gw: Gateway,
    url: String,
    token: String,
    /// The gateway's data directory (its generated internal token is there).
    data: PathBuf,
    _dir: tempfile::TempDir,
}

fn operator(dir: &Path, db: &str, args: &[&str]) -> String {
    let mut cmd = command(dir);
    cmd.args(args).arg("--database-url").arg(db);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{args:?} failed:\n{out}{err}");
    out
}

fn setup(bind: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("gw.db").display());
    operator(dir.path(), &db, &["owner", "upsert", "--user-id", ALICE, "--name", "Alice", "--init"]);
    let mut args = vec!["agent", "create", "--owner", ALICE, "--name", "Web bot", "--project", WEB];
    for s in SCOPES {
        args.extend(["--scope", s]);
    }
    let out = operator(dir.path(), &db, &args);
    let agent = out.split_whitespace().nth(1).expect("agent id").to_string();
    assert!(out.starts_with("agent ") && out.contains("issue:blocks session:report"), "{out}");

    let data = dir.path().join("data");
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--bind", bind, "--reference-tasker-bind", "127.0.0.1:0", "--database-url", &db])
        .arg("--data-dir")
        .arg(&data)
        .args(["--log-format", "json"]);
    let gw = Gateway::start(cmd);

    // The token, issued now that the address is known, with the Codex config for it.
    let public = format!("http://{}", gw.addr);
    let out = operator(dir.path(), &db, &["token", "issue", "--agent", &agent, "--public-url", &public]);
    let token = out
        .lines()
        .find_map(|l| l.trim().strip_prefix(TOKEN_LINE))
        .unwrap_or_else(|| panic!("no `{TOKEN_LINE}` line in:\n{out}"))
        .to_string();
    assert!(token.starts_with("ndcag_"), "{out}");
    assert!(out.contains("[mcp_servers.nodedc_web_bot]") && out.contains(&format!("url = \"{public}/mcp\"")), "{out}");
    Setup { url: gw.url("/mcp"), gw, token, data, _dir: dir }
}

/// What a client printed, its exit code and its summary (the last stdout line, JSON).
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    summary: Value,
}

impl Outcome {
    fn describe(&self) -> String {
        format!("exit code {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs a client in its own process group; on timeout the whole group is killed.
fn run_client(program: &Path, args: &[&str], timeout: Duration) -> Outcome {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for client") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg("-KILL").arg(format!("-{}", child.id())).status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let summary = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    let outcome = Outcome { code: status.and_then(|s| s.code()), stdout, stderr, summary };
    assert!(status.is_some(), "{} timed out after {timeout:?} and was killed\n{}", args[0], outcome.describe());
    outcome
}

/// The work session the client reported (its id in the summary's `work_session`), as
/// the admin reporting API shows it: finished `done` on WEB-2, after a start on WEB-1
/// and a progress report on WEB-2.
fn assert_session_reported(s: &Setup, outcome: &Outcome) {
    let Some(id) = outcome.summary["work_session"].as_str() else {
        panic!("no work_session in the summary\n{}", outcome.describe());
    };
    let internal = std::fs::read_to_string(s.data.join("internal-token")).expect("the generated internal token");
    let url = s.gw.url(&format!("/api/internal/v1/reporting/sessions/{id}"));
    let (status, body) = actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let req = client.get(url).insert_header(("Authorization", format!("Bearer {}", internal.trim())));
        let mut res = req.send().await.expect("reporting request");
        let body = res.body().limit(1 << 20).await.expect("reporting answer");
        (res.status().as_u16(), serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null))
    });
    assert_eq!(status, 200, "{body}");
    let session = &body["session"];
    assert_eq!(session["id"], id, "{body}");
    assert_eq!(
        (&session["state"], &session["outcome"], &session["card"], &session["reported_by"]),
        (&Value::from("finished"), &Value::from("done"), &Value::from("WEB-2"), &Value::from("agent")),
        "{body}"
    );
    let events: Vec<(&str, &str)> = body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| (e["kind"].as_str().unwrap_or(""), e["card"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(events, [("started", "WEB-1"), ("progress", "WEB-2"), ("finished", "WEB-2")], "{body}");
}

/// The client passed: exit 0 and `"ok": true`; the gateway logged no token and stops
/// cleanly.
fn assert_passed(mut s: Setup, outcome: &Outcome) {
    eprintln!("{}", outcome.summary);
    assert_eq!(outcome.code, Some(0), "{}", outcome.describe());
    assert_eq!(outcome.summary["ok"], Value::Bool(true), "{}", outcome.describe());
    let log = s.gw.output();
    assert!(!log.contains(&s.token), "the gateway's log contains the token");
    assert!(s.gw.terminate().success(), "the gateway did not stop cleanly:\n{log}");
}

#[test]
fn python_mcp_sdk_calls_every_tool() {
    let py = python();
    let s = setup("127.0.0.1:0");
    let script = clients_dir().join("python_client.py");
    // `legacy`: the initialize handshake and a session (the SDK's default `auto` mode
    // would now settle on 2026-07-28, which the next test covers).
    let outcome = run_client(&py, &[script.to_str().unwrap(), &s.url, &s.token, "legacy"], Duration::from_secs(180));
    let sum = &outcome.summary;
    assert_eq!(sum["sdk"], "mcp", "{}", outcome.describe());
    assert_eq!(sum["protocol_version"], "2025-11-25", "{}", outcome.describe());
    assert_eq!(sum["tools"], TOOLS, "{}", outcome.describe());
    assert!(sum["calls"].as_u64().unwrap_or(0) >= TOOLS as u64, "{}", outcome.describe());
    assert!(sum["issue"].as_str().is_some_and(|k| k.starts_with("WEB-")), "{}", outcome.describe());
    assert_session_reported(&s, &outcome);
    assert_passed(s, &outcome);
}

#[test]
fn python_mcp_sdk_pinned_to_2026_07_28_calls_every_tool() {
    let py = python();
    let s = setup("127.0.0.1:0");
    let script = clients_dir().join("python_client.py");
    // `Client(mode="2026-07-28")`: no handshake, no probe, no session; every request
    // carries its `_meta` envelope and the standard headers.
    let outcome =
        run_client(&py, &[script.to_str().unwrap(), &s.url, &s.token, "2026-07-28"], Duration::from_secs(180));
    let sum = &outcome.summary;
    assert_eq!(
        (&sum["mode"], &sum["protocol_version"]),
        (&json!("2026-07-28"), &json!("2026-07-28")),
        "{}",
        outcome.describe()
    );
    assert_eq!(
        sum["discover"]["supported_versions"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]),
        "{}",
        outcome.describe()
    );
    assert_eq!(sum["discover"]["capabilities"], json!(["prompts", "resources", "tools"]), "{}", outcome.describe());
    assert_eq!(sum["tools"], TOOLS, "{}", outcome.describe());
    assert!(sum["calls"].as_u64().unwrap_or(0) >= TOOLS as u64, "{}", outcome.describe());
    assert!(sum["issue"].as_str().is_some_and(|k| k.starts_with("WEB-")), "{}", outcome.describe());
    assert_session_reported(&s, &outcome);
    assert_passed(s, &outcome);
}

#[test]
fn inspector_cli_connects_with_the_modern_era_and_calls_tools() {
    node_modules();
    let node = node();
    let s = setup("127.0.0.1:0");
    let outcome = run_client(Path::new(node), &["inspector_client.mjs", &s.url, &s.token], Duration::from_secs(300));
    let sum = &outcome.summary;
    assert_eq!(sum["protocol_version"], "2026-07-28", "{}", outcome.describe());
    assert_eq!(sum["server"], "nodedc-agent-gateway", "{}", outcome.describe());
    assert_eq!(sum["tools"], TOOLS, "{}", outcome.describe());
    assert_eq!(sum["projects"], json!(["WEB"]), "{}", outcome.describe());
    // The Inspector's tool-schema portability lint (`--strict`) finds nothing.
    assert_eq!(sum["schema_findings"], json!([]), "{}", outcome.describe());
    assert_eq!(sum["lint_stderr"], "", "{}", outcome.describe());
    assert_passed(s, &outcome);
}

#[test]
fn typescript_mcp_sdk_calls_every_tool() {
    node_modules();
    let node = node();
    let s = setup("127.0.0.1:0");
    let outcome = run_client(Path::new(node), &["ts_client.mjs", &s.url, &s.token], Duration::from_secs(180));
    let sum = &outcome.summary;
    assert_eq!(sum["sdk"], "@modelcontextprotocol/sdk", "{}", outcome.describe());
    assert_eq!(sum["protocol_version"], "2025-11-25", "{}", outcome.describe());
    for version in ["2025-06-18", "2025-03-26"] {
        assert_eq!(sum["older_versions"][version], "ok", "{version}: {}", outcome.describe());
    }
    assert_eq!(sum["tools"], TOOLS, "{}", outcome.describe());
    assert!(sum["calls"].as_u64().unwrap_or(0) >= TOOLS as u64, "{}", outcome.describe());
    assert_session_reported(&s, &outcome);
    assert_passed(s, &outcome);
}

#[test]
fn codex_app_server_uses_the_setup_packet_and_calls_tools() {
    node_modules();
    let node = node();
    let s = setup("127.0.0.1:0");
    let outcome = run_client(Path::new(node), &["codex_client.mjs", &s.url, &s.token], Duration::from_secs(300));
    let sum = &outcome.summary;
    assert_eq!(sum["tools"], TOOLS, "{}", outcome.describe());
    assert!(sum["issue"].as_str().is_some_and(|k| k.starts_with("WEB-")), "{}", outcome.describe());
    assert_session_reported(&s, &outcome);
    for tool in ["delete_issue", "archive_issue"] {
        let refusal = sum["refusals"][tool].as_str().unwrap_or("");
        assert!(refusal.contains("Unknown tool"), "{tool}: {}", outcome.describe());
    }
    assert!(!outcome.stdout.contains(&s.token) && !outcome.stderr.contains(&s.token), "token printed");
    assert_passed(s, &outcome);
}

#[test]
fn official_conformance_suite_passes() {
    node_modules();
    let node = node();
    // Port 0 is fine: the gateway derives its public URL and origins from the bound port.
    let s = setup("127.0.0.1:0");
    let outcome = run_client(Path::new(node), &["conformance.mjs", &s.url, &s.token], Duration::from_secs(900));
    let results = &outcome.summary["results"];
    // Every fixture-free scenario of each era (conformance.mjs classifies every one the
    // suite lists, and fails on any it does not know).
    for (era, scenarios) in [
        (
            "session",
            &[
                "server-initialize",
                "server-session-lifecycle",
                "logging-set-level",
                "ping",
                "tools-list",
                "server-sse-multiple-streams",
                "resources-list",
                "prompts-list",
                "dns-rebinding-protection",
            ][..],
        ),
        (
            "stateless",
            &[
                "server-stateless",
                "tools-list",
                "server-sse-multiple-streams",
                "resources-list",
                "sep-2164-resource-not-found",
                "prompts-list",
                "dns-rebinding-protection",
                "caching",
                "http-header-validation",
                "input-required-result-unsupported-methods",
                "sep-2640-skills-directory",
                "sep-2640-skills-enumeration",
                "sep-2640-skills-manifest",
            ][..],
        ),
    ] {
        for scenario in scenarios {
            let r = results[era][*scenario].as_str().unwrap_or("");
            assert!(r.starts_with("passed"), "{era} {scenario}: {r}\n{}", outcome.describe());
        }
        assert_eq!(results[era].as_object().map(|o| o.len()), Some(scenarios.len()), "{}", outcome.describe());
    }
    assert!(outcome.summary["suite_version"].as_str().is_some_and(|v| v.starts_with("0.2.")), "{}", outcome.describe());
    assert_passed(s, &outcome);
}
