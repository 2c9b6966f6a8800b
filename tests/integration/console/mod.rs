//! The console over plain HTTP, on SQLite and PostgreSQL: sign-in links (single use,
//! one minute, the right internal token), owner isolation by pages, URLs and form
//! fields (404), CSRF on every POST, the feature card's rule, a whole owner flow with
//! the token shown once, the admin view and its export, and the pages' headers.
//! `browser` drives the same console in headless Chromium.

mod browser;
mod process;

use std::collections::HashMap;
use std::time::Duration;

use diesel::RunQueryDsl;
use nodedc_agent_gateway::auth::{InternalToken, InternalTokens};
use nodedc_agent_gateway::reference_tasker::seed::demo;
use nodedc_agent_gateway::storage::Backend;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::mcp::Mcp;
use crate::common::{INTERNAL_TOKEN, TestApp};
use crate::observability::{scrape, value};

on_both_backends!(
    sign_in_links_work_once_within_their_minute,
    a_second_owner_can_neither_see_nor_change_the_first_owners_agents,
    every_post_needs_the_csrf_token,
    an_owner_without_the_entitlement_sees_only_the_explanation,
    an_owner_creates_an_agent_and_sees_its_token_once,
    the_admin_view_shows_the_fleet_and_exports_the_audit,
    the_grants_form_shows_a_grant_tasker_refuses,
);

/// A browser's view of the console: a cookie jar, no redirects followed.
pub struct Browser<'a> {
    app: Option<&'a TestApp>,
    base: String,
    client: awc::Client,
    cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        let doc = scraper::Html::parse_document(&self.html);
        let sel = scraper::Selector::parse("input[name=csrf]").unwrap();
        doc.select(&sel).next().and_then(|e| e.value().attr("value")).expect("a form with a csrf field").to_string()
    }

    /// The text of the element with this id.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let doc = scraper::Html::parse_document(&self.html);
        let sel = scraper::Selector::parse(&format!("#{id}")).unwrap();
        doc.select(&sel).next().map(|e| e.text().collect())
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let mut b = Self::at(&app.url(""));
        b.app = Some(app);
        b
    }

    /// A browser for a gateway at `base` (a process, not a test app).
    pub fn at(base: &str) -> Self {
        let client = awc::Client::builder().disable_redirects().timeout(Duration::from_secs(30)).finish();
        Browser { app: None, base: base.to_string(), client, cookies: HashMap::new() }
    }

    fn app(&self) -> &'a TestApp {
        self.app.expect("a browser on a test app")
    }

    /// The cookies it holds (name → value).
    pub fn cookies(&self) -> &HashMap<String, String> {
        &self.cookies
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let m = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(m, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.insert_header(("Cookie", jar.join("; ")));
        }
        let res = match form {
            Some(f) => req.send_form(&f.to_vec()).await,
            None => req.send().await,
        };
        let mut res = res.expect("request");
        for v in res.headers().get_all("set-cookie") {
            let raw = v.to_str().unwrap();
            let (pair, _) = raw.split_once(';').unwrap_or((raw, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let body = res.body().limit(8 * 1024 * 1024).await.expect("body");
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            html: String::from_utf8_lossy(&body).into(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(form)).await
    }

    /// Opens a sign-in link (its path and query) and presses Continue.
    pub async fn open_link(&mut self, url: &str) -> Page {
        let path = path_of(url);
        let page = self.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.html);
        let link = link_of(url);
        let csrf = page.csrf();
        self.post("/console/sign-in", &[("csrf", &csrf), ("link", &link)]).await
    }

    /// Signs in as this owner, with a link from Tasker's backend.
    pub async fn sign_in_owner(&mut self, owner: Uuid) -> Page {
        let url = owner_link(self.app(), owner).await;
        let done = self.open_link(&url).await;
        assert_eq!((done.status, done.location()), (303, "/console/"), "{}", done.html);
        done
    }

    pub async fn sign_in_admin(&mut self, name: &str) {
        let url = admin_link(self.app(), name).await;
        let done = self.open_link(&url).await;
        assert_eq!((done.status, done.location()), (303, "/console/"), "{}", done.html);
    }

    /// A page's CSRF token (any signed-in page carries it in the sign-out form).
    pub async fn csrf(&mut self, path: &str) -> String {
        let p = self.get(path).await;
        p.csrf()
    }
}

pub fn path_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or_default())
}

pub fn link_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    u.query_pairs().find(|(k, _)| k == "link").map(|(_, v)| v.to_string()).unwrap()
}

pub async fn owner_link(app: &TestApp, owner: Uuid) -> String {
    let r = app.internal("POST", &format!("/owners/{owner}/console-links"), None).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
    r.body["url"].as_str().unwrap().to_string()
}

pub async fn admin_link(app: &TestApp, name: &str) -> String {
    let r = app.internal("POST", "/console-links", Some(json!({ "admin": name }))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["url"].as_str().unwrap().to_string()
}

async fn agent_status(app: &TestApp, owner: Uuid, agent: Uuid) -> Value {
    let r = app.internal("GET", &format!("/owners/{owner}/agents/{agent}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body.clone()
}

async fn tokens_of(app: &TestApp, owner: Uuid, agent: Uuid) -> Vec<Value> {
    let r = app.internal("GET", &format!("/owners/{owner}/agents/{agent}/tokens"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = if r.body.is_array() { r.body.clone() } else { r.body["tokens"].clone() };
    list.as_array().cloned().unwrap_or_default()
}

async fn sign_in_links_work_once_within_their_minute(backend: Backend) {
    let app = TestApp::start(backend).await;
    let owner = Uuid::new_v4();
    app.upsert_owner(owner, "active", true).await;

    // Once.
    let url = owner_link(&app, owner).await;
    assert!(url.starts_with("http://gateway.test/console/sign-in?link="), "{url}");
    let mut b = Browser::new(&app);
    let first = b.open_link(&url).await;
    assert_eq!(first.status, 303, "{}", first.html);
    let set = first.headers.get_all("set-cookie").map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    let session = set.iter().find(|c| c.starts_with("nodedc_console=")).expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Secure"), "an http public URL: no Secure flag: {session}");
    assert_eq!(b.get("/console/owner").await.status, 200);
    let before = scrape(&app).await;
    let again = Browser::new(&app).open_link(&url).await;
    assert_eq!(again.status, 401, "{}", again.html);
    assert!(again.html.contains("console_link_invalid"));
    let (failures, reason) = ("nodedc_gateway_auth_failures_total", [("reason", "console_link_invalid")]);
    let counted = value(&scrape(&app).await, failures, &reason) - value(&before, failures, &reason);
    assert!(counted >= 1.0, "a used link is a counted authentication failure");

    // Within its minute.
    let late = owner_link(&app, owner).await;
    app.db
        .run(|c| {
            use nodedc_agent_gateway::storage::DbConn;
            let sql = "UPDATE console_links SET expires_at = created_at WHERE used_at IS NULL";
            match c {
                DbConn::Postgres(pg) => diesel::sql_query(sql).execute(pg),
                DbConn::Sqlite(s) => diesel::sql_query(sql).execute(s),
            }
            .map_err(nodedc_agent_gateway::storage::StorageError::from)
        })
        .await
        .unwrap();
    let expired = Browser::new(&app).open_link(&late).await;
    assert_eq!(expired.status, 401);
    assert!(expired.html.contains("console_link_invalid"));

    // A made-up link, and a link posted without the sign-in cookie's token.
    let mut stranger = Browser::new(&app);
    assert_eq!(stranger.get("/console/sign-in?link=0123").await.status, 200, "showing the button uses nothing");
    let forged = stranger.post("/console/sign-in", &[("link", "0123"), ("csrf", "x")]).await;
    assert_eq!(forged.status, 403);
    let fresh = owner_link(&app, owner).await;
    let mut no_cookie = Browser::new(&app);
    let r = no_cookie.post("/console/sign-in", &[("link", &link_of(&fresh)), ("csrf", "")]).await;
    assert_eq!(r.status, 403, "no sign-in cookie, no sign-in");
    assert_eq!(Browser::new(&app).open_link(&fresh).await.status, 303, "the refused post did not use the link");

    // Who may ask for links.
    let unknown = app.internal("POST", &format!("/owners/{}/console-links", Uuid::new_v4()), None).await;
    assert_eq!((unknown.status, unknown.code()), (404, "owner_not_found"));
    let bad = app.internal("POST", "/console-links", Some(json!({ "admin": "" }))).await;
    assert_eq!(bad.status, 400);
    let none = app.send("POST", &format!("/api/internal/v1/owners/{owner}/console-links"), None, None).await;
    assert_eq!(none.status, 401);

    // Signed out is signed out.
    let csrf = b.csrf("/console/owner").await;
    let out = b.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/console/signed-out"));
    assert_eq!(b.get("/console/owner").await.status, 401);

    // Audited, with the console as the actor of the sign-in.
    let audit = app.internal("GET", &format!("/owners/{owner}/audit?limit=50"), None).await;
    let actions: Vec<(String, String)> = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().into(), e["actor"].as_str().unwrap().into()))
        .collect();
    assert!(actions.contains(&("console.sign_in".into(), "console".into())), "{actions:?}");
    assert!(actions.contains(&("console.link".into(), "internal".into())), "{actions:?}");
    assert!(actions.contains(&("console.sign_out".into(), "console".into())), "{actions:?}");
    app.stop().await;
}

/// Separate internal tokens: only Tasker's backend (or the shared token) makes owner
/// links, only Launcher (or the shared token) admin links.
#[actix_web::test]
async fn links_keep_to_their_internal_tokens() {
    crate::common::run_in_runtime(async {
        let launcher = "launcher-token-0123456789-abcdefghijklmnopqrstu";
        let tasker = "tasker-backend-token-0123456789-abcdefghijklmnop";
        let tokens = InternalTokens {
            shared: Some(InternalToken::new(INTERNAL_TOKEN.into())),
            launcher: Some(InternalToken::new(launcher.into())),
            tasker_backend: Some(InternalToken::new(tasker.into())),
        };
        let app = TestApp::builder(Backend::Sqlite).internal_tokens(tokens).start().await;
        let owner = Uuid::new_v4();
        app.upsert_owner(owner, "active", true).await;
        let path = format!("/api/internal/v1/owners/{owner}/console-links");
        assert_eq!(app.send("POST", &path, Some(tasker), None).await.status, 201);
        assert_eq!(app.send("POST", &path, Some(launcher), None).await.status, 403);
        let admin = Some(json!({ "admin": "Dana" }));
        assert_eq!(app.send("POST", "/api/internal/v1/console-links", Some(launcher), admin.clone()).await.status, 201);
        assert_eq!(app.send("POST", "/api/internal/v1/console-links", Some(tasker), admin).await.status, 403);
        app.stop().await;
    })
    .await
}

const REPORTER: &[&str] = &["project:read", "issue:read", "issue:create", "session:report"];

async fn a_second_owner_can_neither_see_nor_change_the_first_owners_agents(backend: Backend) {
    let app = TestApp::start(backend).await;
    // Alice's agent, with a token and a work session.
    let a = app.agent_of(demo::ALICE, REPORTER).await;
    let mut m = Mcp::connect(&app, &a.token, "2025-11-25").await;
    let ws = m
        .ok("start_work_session", json!({"goal": "Alice's work", "card": "WEB-1", "idempotency_key": "iso-ws-1"}))
        .await;
    let ws = ws["id"].as_str().unwrap().to_string();
    let alice_agent = agent_status(&app, demo::ALICE, a.agent).await;
    let alice_name = alice_agent["name"].as_str().unwrap().to_string();

    // Bob, entitled, with an agent of his own.
    let b = app.agent_of(demo::BOB, REPORTER).await;
    let mut bob = Browser::new(&app);
    bob.sign_in_owner(demo::BOB).await;
    let home = bob.get("/console/owner").await;
    assert_eq!(home.status, 200);
    assert!(!home.html.contains(&alice_name), "Bob's list shows only his agents");
    assert!(!home.html.contains(&a.agent.to_string()));
    let csrf = home.csrf();

    let agent = format!("/console/owner/agents/{}", a.agent);
    for path in [
        agent.clone(),
        format!("{agent}/grants"),
        format!("{agent}/revoke"),
        format!("{agent}/agents.md"),
        format!("{agent}/tokens/{}", a.token_id),
        format!("/console/owner/agents/{}/tokens/{}", b.agent, a.token_id),
        format!("/console/owner/sessions/{ws}"),
        "/console/owner/agents/not-a-uuid".to_string(),
    ] {
        let p = bob.get(&path).await;
        assert_eq!(p.status, 404, "{path}: {}", p.html);
        assert!(!p.html.contains(&alice_name), "{path}");
    }
    let web = demo::WEB.to_string();
    let preset_web = format!("preset:{web}");
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{agent}/revoke"), vec![]),
        (format!("{agent}/tokens"), vec![("label", "stolen")]),
        (format!("{agent}/tokens/{}/revoke", a.token_id), vec![]),
        (format!("/console/owner/agents/{}/tokens/{}/revoke", b.agent, a.token_id), vec![]),
        (format!("{agent}/grants"), vec![("project", &web), (&preset_web, "full")]),
    ];
    for (path, fields) in posts {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let p = bob.post(&path, &form).await;
        assert_eq!(p.status, 404, "{path}: {}", p.html);
    }
    // A project Bob is not a member of, slipped into his own agent's grants.
    let ops = demo::OPS.to_string();
    let preset = format!("preset:{ops}");
    let p = bob
        .post(
            &format!("/console/owner/agents/{}/grants", b.agent),
            &[("csrf", &csrf), ("project", &ops), (&preset, "full")],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.html);
    assert!(p.html.contains("invalid_field"));

    // Nothing of Alice's changed.
    assert_eq!(agent_status(&app, demo::ALICE, a.agent).await["status"], "active");
    let tokens = tokens_of(&app, demo::ALICE, a.agent).await;
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0]["revoked_at"].is_null());
    assert_eq!(app.whoami(&a.token).await.status, 200);
    app.stop().await;
}

async fn every_post_needs_the_csrf_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.agent_of(demo::ALICE, REPORTER).await;
    let mut b = Browser::new(&app);
    b.sign_in_owner(demo::ALICE).await;
    let agent = format!("/console/owner/agents/{}", f.agent);
    let web = demo::WEB.to_string();
    let routes: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/console/owner/agents".into(), vec![("name", "Sneaky"), ("project", &web)]),
        (format!("{agent}/grants"), vec![("project", &web)]),
        (format!("{agent}/revoke"), vec![]),
        (format!("{agent}/tokens"), vec![("label", "x")]),
        (format!("{agent}/tokens/{}/revoke", f.token_id), vec![]),
        ("/console/sign-out".into(), vec![]),
    ];
    for (path, fields) in routes {
        for csrf in [None, Some("0000"), Some("")] {
            let mut form = fields.clone();
            if let Some(c) = csrf {
                form.push(("csrf", c));
            }
            let p = b.post(&path, &form).await;
            assert_eq!(p.status, 403, "{path} with {csrf:?}: {}", p.html);
            assert!(p.html.contains("csrf_token_invalid"), "{path}");
        }
    }
    // Another session's token is no good either.
    let mut other = Browser::new(&app);
    other.sign_in_owner(demo::ALICE).await;
    let theirs = other.csrf("/console/owner").await;
    assert_eq!(b.post(&format!("{agent}/revoke"), &[("csrf", &theirs)]).await.status, 403);

    assert_eq!(agent_status(&app, demo::ALICE, f.agent).await["status"], "active");
    assert_eq!(tokens_of(&app, demo::ALICE, f.agent).await.len(), 1);
    let list = app.internal("GET", &format!("/owners/{}/agents", demo::ALICE), None).await;
    assert!(!list.text.contains("Sneaky"));
    assert_eq!(b.get("/console/owner").await.status, 200, "still signed in");
    app.stop().await;
}

async fn an_owner_without_the_entitlement_sees_only_the_explanation(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.agent_of(demo::ALICE, REPORTER).await;
    for (status, codex, reason) in [
        ("active", false, "entitlement_missing"),
        ("blocked", true, "owner_blocked"),
        ("annulled", true, "owner_annulled"),
    ] {
        app.upsert_owner(demo::ALICE, status, codex).await;
        let mut b = Browser::new(&app);
        b.sign_in_owner(demo::ALICE).await;
        for path in [
            "/console/owner".to_string(),
            "/console/owner/agents/new".to_string(),
            format!("/console/owner/agents/{}", f.agent),
        ] {
            let p = b.get(&path).await;
            assert_eq!(p.status, 403, "{path}");
            assert!(p.html.contains(reason), "{path}: {}", p.html);
            assert!(
                !p.html.contains("New agent") && !p.html.contains("/console/owner/agents/"),
                "nothing else offered: {path}"
            );
        }
        let csrf = b.csrf("/console/owner").await;
        let p = b.post("/console/owner/agents", &[("csrf", &csrf), ("name", "Nope")]).await;
        assert_eq!(p.status, 403);
        let p = b.post(&format!("/console/owner/agents/{}/tokens", f.agent), &[("csrf", &csrf), ("label", "x")]).await;
        assert_eq!(p.status, 403);
    }
    app.upsert_owner(demo::ALICE, "active", true).await;
    assert_eq!(tokens_of(&app, demo::ALICE, f.agent).await.len(), 1, "no token issued while denied");
    let list = app.internal("GET", &format!("/owners/{}/agents", demo::ALICE), None).await;
    assert!(!list.text.contains("Nope"));
    app.stop().await;
}

/// The owner flow by form posts: create with a contributor's grant on WEB, issue a
/// token (its secret on the one page after the redirect, not on a reload), use it,
/// edit grants, revoke token and agent; the audit names the console.
async fn an_owner_creates_an_agent_and_sees_its_token_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.upsert_owner(demo::ALICE, "active", true).await;
    let mut b = Browser::new(&app);
    b.sign_in_owner(demo::ALICE).await;
    let home = b.get("/console/owner").await;
    let csp = home.headers.get("content-security-policy").unwrap().to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'self' http://gateway.test"), "{csp}");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(home.headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(home.headers.get("referrer-policy").unwrap(), "no-referrer");
    assert!(home.html.contains("No agents yet"));

    let form = b.get("/console/owner/agents/new").await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("WEB") && form.html.contains("OPS"), "Alice's projects from Tasker");
    let web = demo::WEB.to_string();
    let preset = format!("preset:{web}");
    let created = b
        .post(
            "/console/owner/agents",
            &[
                ("csrf", &form.csrf()),
                ("name", "Web bot"),
                ("description", ""),
                ("project", &web),
                (&preset, "contributor"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    let agent_path = created.location().to_string();
    let agent: Uuid = agent_path.rsplit('/').next().unwrap().parse().unwrap();
    let view = agent_status(&app, demo::ALICE, agent).await;
    let scopes: Vec<&str> =
        view["grants"][0]["scopes"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(
        scopes.contains(&"issue:create")
            && scopes.contains(&"session:report")
            && !scopes.contains(&"project:member:add_existing"),
        "{scopes:?}"
    );

    let page = b.get(&agent_path).await;
    assert!(page.html.contains("codex mcp add nodedc_web_bot"), "the setup steps");
    assert!(page.html.contains("No call from this agent yet"));
    let issued = b.post(&format!("{agent_path}/tokens"), &[("csrf", &page.csrf()), ("label", "laptop")]).await;
    assert_eq!(issued.status, 303, "{}", issued.html);
    assert!(issued.html.is_empty() && !issued.location().contains("ndcag_"), "the redirect carries no secret");
    let once = b.get(issued.location()).await;
    assert_eq!(once.headers.get("cache-control").unwrap(), "no-store");
    let token = once.text_of("token-secret").expect("the secret, once");
    assert!(token.starts_with("ndcag_"), "{token}");
    assert!(once.text_of("token-export").unwrap().starts_with("export NODEDC_AGENT_TOKEN_WEB_BOT=ndcag_"));
    let reload = b.get(issued.location()).await;
    assert_eq!(reload.status, 200);
    assert!(!reload.html.contains(&token) && !reload.html.contains("ndcag_"), "gone on reload");
    assert!(reload.html.contains("no longer shown"));
    let md = b.get(&format!("{agent_path}/agents.md")).await;
    assert!(md.html.contains("nodedc_web_bot") && !md.html.contains("ndcag_"));

    // The token works, and the page follows.
    let mut m = Mcp::connect(&app, &token, "2025-11-25").await;
    m.ok("list_projects", json!({})).await;
    let after = b.get(&agent_path).await;
    assert!(after.html.contains("first call arrived"), "the setup check sees the call");
    assert!(after.html.contains("chip-connected"));

    // Grants edited down to read only.
    let edit = b.get(&format!("{agent_path}/grants")).await;
    let saved =
        b.post(&format!("{agent_path}/grants"), &[("csrf", &edit.csrf()), ("project", &web), (&preset, "read")]).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let view = agent_status(&app, demo::ALICE, agent).await;
    assert_eq!(view["grants"][0]["scopes"], json!(["project:read", "issue:read"]));

    // Revoke the token, then the agent.
    let token_id = tokens_of(&app, demo::ALICE, agent).await[0]["id"].as_str().unwrap().to_string();
    let csrf = b.csrf(&agent_path).await;
    assert_eq!(b.post(&format!("{agent_path}/tokens/{token_id}/revoke"), &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(app.whoami(&token).await.status, 401);
    let confirm = b.get(&format!("{agent_path}/revoke")).await;
    assert!(confirm.html.contains("cannot be undone"));
    assert_eq!(b.post(&format!("{agent_path}/revoke"), &[("csrf", &confirm.csrf())]).await.status, 303);
    assert_eq!(agent_status(&app, demo::ALICE, agent).await["status"], "revoked");
    assert!(b.get("/console/owner").await.html.contains("chip-revoked"));

    let audit = app.internal("GET", &format!("/owners/{}/audit?agent={agent}&limit=50", demo::ALICE), None).await;
    let by_console: Vec<&str> = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "console")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["agent.create", "token.issue", "agent.grants.replace", "token.revoke", "agent.revoke"] {
        assert!(by_console.contains(&action), "{action} by the console: {by_console:?}");
    }
    app.stop().await;
}

async fn the_admin_view_shows_the_fleet_and_exports_the_audit(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.agent_of(demo::ALICE, REPORTER).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-11-25").await;
    m.ok("start_work_session", json!({"goal": "Fleet check", "card": "WEB-2", "idempotency_key": "adm-ws-1"})).await;
    let name = agent_status(&app, demo::ALICE, f.agent).await["name"].as_str().unwrap().to_string();

    let mut admin = Browser::new(&app);
    admin.sign_in_admin("Dana").await;
    assert_eq!(admin.get("/console/").await.location(), "/console/admin");
    let fleet = admin.get("/console/admin").await;
    assert_eq!(fleet.status, 200, "{}", fleet.html);
    assert!(fleet.html.contains(&name) && fleet.html.contains("WEB-2") && fleet.html.contains("chip-connected"));
    assert!(fleet.html.contains("<svg") && fleet.html.contains("Calls per hour by outcome"));
    let audit = admin.get(&format!("/console/admin/audit?agent={}&outcome=allowed", f.agent)).await;
    assert!(audit.html.contains("start_work_session"), "{}", audit.html);
    let csv = admin.get(&format!("/console/admin/audit/export?format=csv&agent={}", f.agent)).await;
    assert_eq!(csv.headers.get("content-type").unwrap(), "text/csv; charset=utf-8");
    assert!(csv.html.starts_with("id,occurred_at,"));
    assert!(csv.html.contains("start_work_session"));
    let nd = admin.get(&format!("/console/admin/audit/export?format=ndjson&agent={}", f.agent)).await;
    assert!(nd.html.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()));
    let owners = admin.get("/console/admin/owners").await;
    assert!(owners.html.contains(&demo::ALICE.to_string()[..8]));
    let owner = admin.get(&format!("/console/admin/owners/{}", demo::ALICE)).await;
    assert!(owner.html.contains("codex_agents") && owner.html.contains("Change history"));

    // Each view is its own.
    assert_eq!(admin.get("/console/owner").await.status, 403);
    let mut alice = Browser::new(&app);
    alice.sign_in_owner(demo::ALICE).await;
    for path in ["/console/admin", "/console/admin/audit", "/console/admin/audit/export", "/console/admin/owners"] {
        let p = alice.get(path).await;
        assert_eq!(p.status, 403, "{path}");
        assert!(p.html.contains("console_view_not_allowed"));
    }
    let signed_out = Browser::new(&app).get("/console/admin").await;
    assert_eq!(signed_out.status, 401);
    assert!(signed_out.headers.get("www-authenticate").is_none());
    app.stop().await;
}

/// A grant Tasker no longer lists for the owner (stored before, e.g. the owner has left
/// the project) is shown on the grants form; saving it is refused with the gateway's
/// error, naming the owner's projects, and nothing changes.
async fn the_grants_form_shows_a_grant_tasker_refuses(backend: Backend) {
    use nodedc_agent_gateway::model::{Grant, ProjectIdentifier, Scope};
    let app = TestApp::start(backend).await;
    let f = app.agent_of(demo::ALICE, REPORTER).await;
    let gone = Uuid::new_v4();
    let stale = vec![Grant {
        project_id: gone,
        project_identifier: ProjectIdentifier::parse("OLD").unwrap(),
        scopes: [Scope::ProjectRead, Scope::IssueRead].into_iter().collect(),
    }];
    let agent = f.agent;
    app.db
        .write(move |c| {
            nodedc_agent_gateway::storage::grants::replace(c, agent, &stale, nodedc_agent_gateway::storage::now())
        })
        .await
        .unwrap();
    let mut b = Browser::new(&app);
    b.sign_in_owner(demo::ALICE).await;
    let path = format!("/console/owner/agents/{agent}/grants");
    let edit = b.get(&path).await;
    assert!(edit.html.contains("not listed by Tasker for you now"), "{}", edit.html);
    let (gone_s, preset) = (gone.to_string(), format!("preset:{gone}"));
    let saved = b.post(&path, &[("csrf", &edit.csrf()), ("project", &gone_s), (&preset, "read")]).await;
    assert_eq!(saved.status, 422, "{}", saved.html);
    assert!(saved.html.contains("unknown_project"), "{}", saved.html);
    assert!(saved.html.contains(&format!("WEB ({})", demo::WEB)), "the owner's projects are named: {}", saved.html);
    let view = agent_status(&app, demo::ALICE, agent).await;
    assert_eq!(view["grants"][0]["project_id"], json!(gone), "unchanged: {view}");
    app.stop().await;
}
