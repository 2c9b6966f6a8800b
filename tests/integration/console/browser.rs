//! The console in a real browser: headless Chromium driven through WebDriver
//! (chromedriver, Debian's `chromium` and `chromium-driver`, which `tests/run.sh`
//! installs when missing). SQLite only: the pages are the same on both backends, and
//! the plain HTTP tests in `console/mod.rs` cover both.
//!
//! It signs in through a link, creates an agent with a grant, issues a token (its
//! secret shown once and gone after a reload), uses the token for an MCP call and
//! watches the page turn connected by itself, revokes the agent and finds it in the
//! admin dashboard; an owner without the entitlement sees only the explanation. On
//! every page axe-core (`tests/clients/node_modules/axe-core`) must find no serious or
//! critical violation, and a full-page screenshot is taken (token secrets masked
//! before the picture is taken): into `target/ux/`, or into `docs/ux/` (the pictures
//! docs/UX_FLOW.md shows) with `UPDATE_UX_SCREENSHOTS=1`, so a test run leaves the
//! tree clean.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use nodedc_agent_gateway::reference_tasker::seed::demo;
use nodedc_agent_gateway::storage::Backend;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{admin_link, owner_link};
use crate::common::TestApp;
use crate::common::mcp::Mcp;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// chromedriver on a free port below 32768, ended when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "the browser test needs Debian's chromium and chromium-driver: run tests/run.sh (it installs them) \
             or apt-get install -y chromium chromium-driver"
        );
        let port = (20000..32000)
            .map(|p| p + (std::process::id() as u16 % 997))
            .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .expect("a free port");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", format!("--user-data-dir={}", profile.display()), "--window-size=1280,900",
                "--lang=en-US",
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

/// What the test does on each page: axe, then a full-page screenshot.
struct Shots {
    axe: String,
    dir: PathBuf,
    taken: Vec<String>,
}

impl Shots {
    fn new() -> Self {
        let axe = root().join("tests/clients/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&axe)
            .unwrap_or_else(|e| panic!("{} ({e}): run tests/run.sh, which installs tests/clients", axe.display()));
        let dir = match std::env::var_os("UPDATE_UX_SCREENSHOTS") {
            Some(_) => root().join("docs/ux"),
            None => root().join("target/ux"),
        };
        std::fs::create_dir_all(&dir).unwrap();
        Shots { axe, dir, taken: vec![] }
    }

    /// axe-core on the current page: no serious or critical violation.
    async fn axe(&self, c: &Client, name: &str) {
        c.execute(&format!("{}\n;return true;", self.axe), vec![]).await.expect("inject axe-core");
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done(JSON.stringify(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) })))))
              .catch(e => done(JSON.stringify([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }])));";
        let out = c.execute_async(script, vec![]).await.expect("run axe-core");
        let violations: Vec<Value> = serde_json::from_str(out.as_str().unwrap()).unwrap();
        let bad: Vec<&Value> =
            violations.iter().filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical"))).collect();
        assert!(bad.is_empty(), "{name}: axe-core found serious or critical violations:\n{:#}", json!(bad));
        for v in violations {
            eprintln!("{name}: axe (minor) {} {}: {}", v["impact"], v["id"], v["help"]);
        }
    }

    /// axe, then the whole page as `NAME.png`.
    async fn page(&mut self, c: &Client, name: &str) {
        self.axe(c, name).await;
        // The window's own frame is added to the page's height, so the whole page fits.
        let script =
            "return Math.ceil(document.documentElement.scrollHeight + window.outerHeight - window.innerHeight);";
        let height = c.execute(script, vec![]).await.unwrap();
        let height = height.as_u64().unwrap_or(900).clamp(900, 5000) as u32;
        c.set_window_size(1280, height).await.unwrap();
        let png = c.screenshot().await.expect("screenshot");
        c.set_window_size(1280, 900).await.unwrap();
        std::fs::write(self.dir.join(format!("{name}.png")), png).unwrap();
        self.taken.push(name.to_string());
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
}

/// Clicks something that navigates, and waits for the next page to have loaded.
async fn click_nav(c: &Client, css: &str) {
    let before = c.current_url().await.unwrap();
    click(c, css).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = c.execute("return document.readyState;", vec![]).await.ok();
        if c.current_url().await.unwrap() != before && ready.as_ref().and_then(Value::as_str) == Some("complete") {
            return;
        }
        assert!(Instant::now() < deadline, "clicking {css} on {before} did not lead anywhere");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.unwrap()
}

async fn source(c: &Client) -> String {
    c.source().await.unwrap()
}

/// Waits until the page's source contains `what` (the page refreshes itself).
async fn wait_for_text(c: &Client, what: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !source(c).await.contains(what) {
        assert!(Instant::now() < deadline, "`{what}` did not appear within {within:?}");
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Signs in by the link: opens it, presses Continue.
async fn sign_in(c: &Client, url: &str, shots: Option<&mut Shots>) {
    c.goto(url).await.unwrap();
    if let Some(s) = shots {
        s.page(c, "02-sign-in").await;
    }
    click_nav(c, "main form button[type=submit]").await;
}

/// Keeps a token out of the screenshots: the page shows a mask instead.
async fn mask_secrets(c: &Client) {
    c.execute(
        "document.querySelectorAll('#token-secret, #token-export').forEach(e => {
            e.textContent = e.textContent.replace(/ndcag_[A-Za-z0-9]+/, 'ndcag_••••••••••••••••(shown once)');
        }); return true;",
        vec![],
    )
    .await
    .unwrap();
}

#[actix_web::test]
async fn the_console_in_a_browser() {
    crate::common::run_in_runtime(async {
        let app = TestApp::builder(Backend::Sqlite).real_public_url().start().await;
        let base = format!("http://{}", app.addr);
        app.upsert_owner(demo::ALICE, "active", true).await;
        let r = app
            .internal(
                "PUT",
                &format!("/owners/{}", demo::ALICE),
                Some(json!({"display_name": "Alice", "status": "active", "entitlements": ["codex_agents", "tasker"]})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let driver = Driver::start();
        let profile = tempfile::tempdir().unwrap();
        let c = browser(&driver, profile.path()).await;
        let mut shots = Shots::new();

        // Signed out, then in through Tasker's link.
        c.goto(&format!("{base}/console/")).await.unwrap();
        assert!(source(&c).await.contains("Sign in to the console"));
        shots.page(&c, "01-signed-out").await;
        sign_in(&c, &owner_link(&app, demo::ALICE).await, Some(&mut shots)).await;
        assert_eq!(c.current_url().await.unwrap().path(), "/console/owner");
        assert!(source(&c).await.contains("No agents yet"));
        shots.page(&c, "03-owner-empty").await;

        // Keyboard: the first Tab reaches the skip link.
        c.find(Locator::Css("body"))
            .await
            .unwrap()
            .send_keys(&char::from(fantoccini::key::Key::Tab).to_string())
            .await
            .unwrap();
        assert_eq!(c.active_element().await.unwrap().text().await.unwrap(), "Skip to content");

        // Create an agent with a contributor's grant on WEB.
        click_nav(&c, "a.button[href='/console/owner/agents/new']").await;
        c.find(Locator::Id("name")).await.unwrap().send_keys("Web bot").await.unwrap();
        click(&c, &format!("input[name=project][value='{}']", demo::WEB)).await;
        click(&c, &format!("input[name='preset:{}'][value=contributor]", demo::WEB)).await;
        assert!(
            c.find(Locator::Css(&format!("input[name='scope:{}'][value='issue:create']", demo::WEB)))
                .await
                .unwrap()
                .is_selected()
                .await
                .unwrap(),
            "the preset ticks its scopes"
        );
        shots.page(&c, "04-new-agent").await;
        click_nav(&c, "form.card button[type=submit]").await;
        let agent_path = c.current_url().await.unwrap().path().to_string();
        let agent: Uuid = agent_path.rsplit('/').next().unwrap().parse().expect("on the agent's page");
        assert!(source(&c).await.contains("codex mcp add nodedc_web_bot"));
        shots.page(&c, "05-agent-setup").await;

        // Issue a token: the secret once.
        click_nav(&c, "#tokens form.filters button[type=submit]").await;
        let token = text(&c, "#token-secret").await;
        assert!(token.starts_with("ndcag_") && token.len() == 77, "{token}");
        assert!(text(&c, "#token-export").await.starts_with("export NODEDC_AGENT_TOKEN_WEB_BOT=ndcag_"));
        mask_secrets(&c).await;
        shots.page(&c, "06-token-shown-once").await;
        c.refresh().await.unwrap();
        let reloaded = source(&c).await;
        assert!(!reloaded.contains(&token) && !reloaded.contains("ndcag_"), "the secret is gone after a reload");
        assert!(reloaded.contains("no longer shown"));
        shots.page(&c, "07-token-after-reload").await;

        // Back on the agent's page, one MCP call with the token: the page turns
        // connected by itself.
        c.goto(&format!("{base}{agent_path}")).await.unwrap();
        assert!(source(&c).await.contains("No call from this agent yet"));
        let mut m = Mcp::connect(&app, &token, "2025-11-25").await;
        let ws = m
            .ok(
                "start_work_session",
                json!({"goal": "Fix the login redirect loop", "card": "WEB-1", "idempotency_key": "browser-ws-1"}),
            )
            .await;
        wait_for_text(&c, "first call arrived", Duration::from_secs(20)).await;
        assert!(source(&c).await.contains("chip-connected"));
        shots.page(&c, "08-agent-connected").await;
        c.goto(&format!("{base}/console/owner")).await.unwrap();
        assert!(source(&c).await.contains("WEB-1"), "the active card");
        shots.page(&c, "09-owner-dashboard").await;
        c.goto(&format!("{base}/console/owner/sessions/{}", ws["id"].as_str().unwrap())).await.unwrap();
        shots.page(&c, "10-work-session").await;
        c.goto(&format!("{base}{agent_path}/grants")).await.unwrap();
        shots.page(&c, "11-edit-grants").await;

        // Revoke, after the confirmation page.
        c.goto(&format!("{base}{agent_path}")).await.unwrap();
        click_nav(&c, "a.button.danger").await;
        shots.page(&c, "12-revoke-confirm").await;
        click_nav(&c, "main form button.danger").await;
        assert_eq!(c.current_url().await.unwrap().path(), agent_path);
        assert!(source(&c).await.contains("chip-revoked"));
        shots.page(&c, "13-agent-revoked").await;
        assert_eq!(app.whoami(&token).await.status, 401);
        click_nav(&c, "header form button").await;
        assert!(source(&c).await.contains("You have signed out"));

        // The admin finds it.
        sign_in(&c, &admin_link(&app, "Dana").await, None).await;
        assert_eq!(c.current_url().await.unwrap().path(), "/console/admin");
        let fleet = source(&c).await;
        assert!(fleet.contains("Web bot") && fleet.contains("chip-revoked"), "the revoked agent in the fleet");
        shots.page(&c, "14-admin-fleet").await;
        c.goto(&format!("{base}/console/admin/audit?agent={agent}")).await.unwrap();
        assert!(source(&c).await.contains("agent.revoke"));
        shots.page(&c, "15-admin-audit").await;
        c.goto(&format!("{base}/console/admin/owners")).await.unwrap();
        shots.page(&c, "16-admin-owners").await;
        c.goto(&format!("{base}/console/admin/owners/{}", demo::ALICE)).await.unwrap();
        shots.page(&c, "17-admin-owner").await;
        click_nav(&c, "header form button").await;

        // An owner without the entitlement: the explanation only.
        app.upsert_owner(demo::BOB, "active", false).await;
        sign_in(&c, &owner_link(&app, demo::BOB).await, None).await;
        let denied = source(&c).await;
        assert!(denied.contains("entitlement_missing") && !denied.contains("New agent"));
        shots.page(&c, "18-owner-not-entitled").await;

        eprintln!("screenshots in {}: {}", shots.dir.display(), shots.taken.join(", "));
        c.close().await.unwrap();
        drop(driver);
        app.stop().await;
    })
    .await
}
