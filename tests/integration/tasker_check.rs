//! `tasker-check`, the adapter contract's conformance kit, run as the real binary:
//! against the reference Tasker every rule passes and nothing but check cards changes;
//! against test doubles that each break one behaviour of the reference Tasker, exactly
//! the rules about that behaviour fail. Bad arguments exit 2 and the token is never
//! printed. The adapter document lists exactly the rules that exist.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::http::Method;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::INTERNAL_TOKEN;
use crate::common::process::{command, run};
use crate::common::tasker::TaskerApp;
use nodedc_agent_gateway::reference_tasker::demo;
use nodedc_agent_gateway::storage::Backend;
use nodedc_agent_gateway::tasker::contract::{GRANTED_HEADER, IDEMPOTENCY_HEADER, granted_header_value};
use nodedc_agent_gateway::tasker_check::{RULES, TITLE_PREFIX};

struct Checked {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Checked {
    fn report(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not a JSON report ({e}):\n{}\n{}", self.stdout, self.stderr))
    }

    /// The ids of the rules with this outcome.
    fn rules(&self, outcome: &str) -> BTreeSet<String> {
        let report = self.report();
        let rules = report["rules"].as_array().cloned().unwrap_or_default();
        rules.iter().filter(|r| r["outcome"] == outcome).filter_map(|r| r["id"].as_str().map(str::to_string)).collect()
    }
}

/// Runs `tasker-check` against `url` on `project`. The binary runs on a blocking
/// thread, so the Tasker in this process keeps serving.
async fn tasker_check(url: String, project: Uuid, extra: &[&str]) -> Checked {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("tasker-token");
    std::fs::write(&token, format!("{INTERNAL_TOKEN}\n")).unwrap();
    let mut cmd = command(dir.path());
    cmd.args(["tasker-check", "--url", &url, "--project", &project.to_string(), "--token-file"]).arg(&token);
    cmd.args(extra);
    let (code, stdout, stderr) = actix_web::rt::task::spawn_blocking(move || run(cmd)).await.unwrap();
    drop(dir);
    assert!(!stdout.contains(INTERNAL_TOKEN) && !stderr.contains(INTERNAL_TOKEN), "the token is never printed");
    Checked { code, stdout, stderr }
}

/// Everything the check must leave alone, as the adapter shows it: both projects'
/// contexts, the other project's cards, and the seeded cards.
async fn untouched(tasker: &TaskerApp) -> Vec<Value> {
    let mut seen = Vec::new();
    for project in [demo::WEB, demo::OPS] {
        seen.push(tasker.get_as(&[project], &format!("/projects/{project}/context")).await.body);
    }
    seen.push(tasker.get_as(&[demo::OPS], &format!("/projects/{}/issues?limit=100", demo::OPS)).await.body);
    for card in ["WEB-1", "WEB-2", "WEB-3"] {
        seen.push(tasker.get(&format!("/issues/{card}")).await.body);
    }
    seen
}

/// The (key, title) of every card in WEB.
async fn web_cards(tasker: &TaskerApp) -> BTreeSet<(String, String)> {
    let page = tasker.get(&format!("/projects/{}/issues?limit=100", demo::WEB)).await.body;
    let cards = page["issues"].as_array().cloned().unwrap_or_default();
    cards.iter().map(|c| (c["key"].as_str().unwrap().to_string(), c["title"].as_str().unwrap().to_string())).collect()
}

async fn every_rule_passes_against_the_reference_tasker(backend: Backend) {
    let tasker = TaskerApp::start(backend).await;
    let (before, cards_before) = (untouched(&tasker).await, web_cards(&tasker).await);
    let checked = tasker_check(format!("http://{}", tasker.running.addr), demo::WEB, &["--json"]).await;
    let report = checked.report();
    assert_eq!(checked.rules("fail"), BTreeSet::new(), "{report:#}");
    assert_eq!(checked.rules("skip"), BTreeSet::new(), "the demo project has everything the rules need: {report:#}");
    assert_eq!(checked.code, 0, "{report:#}");
    let ids: Vec<&str> = report["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, RULES.iter().map(|r| r.id).collect::<Vec<_>>(), "every rule ran, in order");
    assert_eq!(report["passed"], RULES.len());

    // Safe on a real Tasker: nothing changed but the cards it created, all check cards.
    assert_eq!(untouched(&tasker).await, before, "the check changed something it does not own");
    let prefix = report["card_title_prefix"].as_str().unwrap();
    assert!(prefix.starts_with(TITLE_PREFIX), "{prefix}");
    let made: Vec<_> = web_cards(&tasker).await.difference(&cards_before).cloned().collect();
    assert!(!made.is_empty() && made.iter().all(|(_, title)| title.starts_with(prefix)), "{made:?}");
    tasker.stop().await;
}

on_both_backends!(every_rule_passes_against_the_reference_tasker);

/// How a test double breaks the reference Tasker it forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    /// Forwards every call granted every project, whatever header it came with.
    IgnoreGranted,
    /// Answers any DELETE with 200 (without forwarding it).
    AcceptDelete,
    /// Forwards every call with a fresh idempotency key, so nothing replays.
    FreshIdempotencyKeys,
}

struct Double {
    upstream: String,
    how: Break,
    client: awc::Client,
}

/// Request and answer headers a proxy does not copy.
fn hop_by_hop(name: &str) -> bool {
    matches!(name, "host" | "connection" | "content-length" | "transfer-encoding" | "keep-alive")
}

async fn forward(req: HttpRequest, body: web::Bytes, double: web::Data<Double>) -> HttpResponse {
    if double.how == Break::AcceptDelete && req.method() == Method::DELETE {
        return HttpResponse::Ok().json(json!({}));
    }
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut out = double.client.request(req.method().clone(), format!("{}{path}", double.upstream));
    for (name, value) in req.headers() {
        let dropped = match double.how {
            Break::IgnoreGranted => name.as_str() == GRANTED_HEADER,
            Break::FreshIdempotencyKeys => name.as_str() == IDEMPOTENCY_HEADER,
            Break::AcceptDelete => false,
        };
        if !dropped && !hop_by_hop(name.as_str()) {
            out = out.append_header((name.clone(), value.clone()));
        }
    }
    match double.how {
        Break::IgnoreGranted => {
            out = out.insert_header((GRANTED_HEADER, granted_header_value(&[demo::WEB, demo::OPS])))
        }
        Break::FreshIdempotencyKeys if req.headers().contains_key(IDEMPOTENCY_HEADER) => {
            out = out.insert_header((IDEMPOTENCY_HEADER, Uuid::new_v4().to_string()));
        }
        _ => {}
    }
    // A handler must not panic: an upstream failure is a 502 the check reports.
    let Ok(mut res) = out.send_body(body).await else { return HttpResponse::BadGateway().finish() };
    let Ok(bytes) = res.body().limit(16 << 20).await else { return HttpResponse::BadGateway().finish() };
    let mut answer = HttpResponse::build(res.status());
    for (name, value) in res.headers().iter().filter(|(n, _)| !hop_by_hop(n.as_str())) {
        answer.append_header((name.clone(), value.clone()));
    }
    answer.body(bytes)
}

/// A double in front of `upstream`, broken as `how` says.
fn start_double(upstream: String, how: Break) -> (SocketAddr, ServerHandle) {
    let server = HttpServer::new(move || {
        let double = Double { upstream: upstream.clone(), how, client: awc::Client::default() };
        App::new()
            .app_data(web::Data::new(double))
            .app_data(web::PayloadConfig::new(2 << 20))
            .default_service(web::to(forward))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .expect("bind");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, handle)
}

/// Runs the check through a double broken as `how`; some rule must fail. One backend:
/// the doubles break HTTP behaviour, not storage.
async fn check_through(how: Break, extra: &[&str]) -> Checked {
    let tasker = TaskerApp::start(Backend::Sqlite).await;
    let (addr, double) = start_double(format!("http://{}", tasker.running.addr), how);
    let checked = tasker_check(format!("http://{addr}"), demo::WEB, extra).await;
    double.stop(false).await;
    tasker.stop().await;
    assert_eq!(checked.code, 1, "{}{}", checked.stdout, checked.stderr);
    checked
}

/// Exactly `failing` failed, every other rule passed.
fn assert_failures(checked: &Checked, failing: &[&str]) {
    let expected: BTreeSet<String> = failing.iter().map(|s| s.to_string()).collect();
    assert_eq!(checked.rules("fail"), expected, "{:#}", checked.report());
    assert_eq!(checked.rules("pass").len(), RULES.len() - failing.len(), "{:#}", checked.report());
}

#[actix_web::test]
async fn a_tasker_ignoring_the_granted_header_fails_exactly_the_granted_rules() {
    crate::common::run_in_runtime(async {
        let failing =
            ["granted.header_required", "granted.list_filtered", "granted.reads_refused", "granted.writes_refused"];
        let checked = check_through(Break::IgnoreGranted, &["--json"]).await;
        assert_failures(&checked, &failing);
    })
    .await
}

#[actix_web::test]
async fn a_tasker_accepting_a_delete_fails_exactly_delete_refused() {
    crate::common::run_in_runtime(async {
        // The text report this time: one line per rule, the failure's reason, a summary.
        let checked = check_through(Break::AcceptDelete, &[]).await;
        let out = &checked.stdout;
        assert_eq!(out.lines().count(), RULES.len() + 2, "{out}");
        let line = out.lines().find(|l| l.starts_with("FAIL")).unwrap_or_default();
        assert!(
            line.starts_with("FAIL  delete.refused") && line.contains("expected 405 delete_not_supported, got 200"),
            "{out}"
        );
        assert_eq!(out.lines().filter(|l| l.starts_with("PASS  ")).count(), RULES.len() - 1, "{out}");
        assert!(out.ends_with(&format!("{} passed, 1 failed, 0 skipped\n", RULES.len() - 1)), "{out}");
    })
    .await
}

#[actix_web::test]
async fn a_tasker_ignoring_idempotency_keys_fails_exactly_the_idempotency_rules() {
    crate::common::run_in_runtime(async {
        let failing = ["idempotency.key_required", "idempotency.replay", "idempotency.key_reused"];
        let checked = check_through(Break::FreshIdempotencyKeys, &["--json"]).await;
        assert_failures(&checked, &failing);
    })
    .await
}

#[test]
fn bad_arguments_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, INTERNAL_TOKEN).unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, " \n").unwrap();
    let web = demo::WEB.to_string();
    let (token, empty) = (token.to_str().unwrap(), empty.to_str().unwrap());
    let cases: [(&[&str], &str); 5] = [
        (&["--url", "ftp://tasker", "--token-file", token, "--project", &web], "--url `ftp://tasker`"),
        (
            &["--url", "http://127.0.0.1:9", "--token-file", "/nonexistent/token", "--project", &web],
            "cannot read --token-file",
        ),
        (&["--url", "http://127.0.0.1:9", "--token-file", empty, "--project", &web], "is empty"),
        (&["--url", "http://127.0.0.1:9", "--token-file", token, "--project", "WEB"], "--project `WEB`"),
        (&["--url", "http://127.0.0.1:9", "--token-file", token], "--project"),
    ];
    for (args, says) in cases {
        let mut cmd = command(dir.path());
        cmd.arg("tasker-check").args(args);
        let (code, stdout, stderr) = run(cmd);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stdout.is_empty() && !stderr.contains(INTERNAL_TOKEN), "{args:?}");
    }
}

#[test]
fn the_adapter_document_lists_every_rule() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/TASKER_ADAPTER.md")).unwrap();
    let section = doc.split("\n## ").find(|s| s.starts_with("Checking a Tasker")).expect("the tasker-check section");
    let listed: Vec<&str> =
        section.lines().filter_map(|l| l.strip_prefix("| `")?.split_once("` |").map(|(id, _)| id)).collect();
    assert_eq!(listed, RULES.iter().map(|r| r.id).collect::<Vec<_>>(), "the rule table, in order");
}
