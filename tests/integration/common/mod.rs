//! Test harness: a fresh database per test on either backend, the gateway app on a
//! real loopback port, and helpers to drive the internal and agent APIs.

pub mod mcp;
pub mod process;
pub mod tasker;

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{HttpServer, web};
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use std::sync::Arc;

use nodedc_agent_gateway::actors::janitor::Retention;
use nodedc_agent_gateway::actors::rate_buckets::RateLimits;
use nodedc_agent_gateway::actors::tasker_writer::WriterLimits;
use nodedc_agent_gateway::actors::token_sessions::{AuthLimits, Stats, StatsReply};
use nodedc_agent_gateway::actors::work_sessions::ReportTimers;
use nodedc_agent_gateway::app::{self, AppOptions, AppState};
use nodedc_agent_gateway::auth::{InternalToken, InternalTokens};
use nodedc_agent_gateway::http;
use nodedc_agent_gateway::reference_tasker::{self, RunningTasker};
use nodedc_agent_gateway::storage::{Backend, DatabaseUrl, Db};
use nodedc_agent_gateway::tasker::client::TaskerConfig;

pub const INTERNAL_TOKEN: &str = "test-internal-token-0123456789-abcdefghijklmnop";

/// PostgreSQL server the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("NODEDC_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database, removed when dropped.
pub struct TestDb {
    pub url: DatabaseUrl,
    pub raw_url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("gateway.db");
                let raw_url = format!("sqlite://{}", path.display());
                Self { url: DatabaseUrl::parse(&raw_url).unwrap(), raw_url, dir, pg_name: None }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("gw_test_{}", Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin)
                    .unwrap_or_else(|e| panic!("PostgreSQL must be running for the tests ({admin}): {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).expect("create database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                let raw_url = format!("{base}/{name}");
                Self { url: DatabaseUrl::parse(&raw_url).unwrap(), raw_url, dir, pg_name: Some(name) }
            }
        }
    }
}

impl TestDb {
    /// A pool on this database, migrated, recognising the reference Tasker's tables.
    pub async fn connect(&self) -> Db {
        let db = Db::connect(&self.url, 4).await.expect("connect").knowing(&reference_tasker::migrations::MIGRATIONS);
        db.migrate().await.expect("migrate");
        db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = PgConnection::establish(&postgres_admin_url())
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
        }
    }
}

/// The gateway app, in process, on a loopback port, in front of the reference Tasker
/// (demo workspace seeded), on a fresh database. Built by [`TestApp::builder`] with the
/// same `app::build` as `serve`.
pub struct TestApp {
    pub state: web::Data<AppState>,
    /// The app's database (the same pool as `state.db`).
    pub db: Db,
    pub addr: SocketAddr,
    pub client: awc::Client,
    _test_db: TestDb,
    server: actix_web::dev::ServerHandle,
    pub tasker: RunningTasker,
}

pub const TASKER_TOKEN: &str = "test-reference-tasker-token-0123456789abcdef";

/// How a test app differs from the defaults.
pub struct TestAppBuilder {
    backend: Backend,
    auth: AuthLimits,
    rate: RateLimits,
    writer: WriterLimits,
    reporting: ReportTimers,
    retention: Retention,
    internal_tokens: Option<InternalTokens>,
    max_body: usize,
    trust_forwarded_for: bool,
    tasker_url: Option<String>,
    real_public_url: bool,
}

impl TestAppBuilder {
    /// The public URL is the app's own address (`http://127.0.0.1:PORT`), as `serve`
    /// makes it without PUBLIC_URL: for a browser, which must reach the links it gets.
    pub fn real_public_url(mut self) -> Self {
        self.real_public_url = true;
        self
    }

    /// The gateway talks to this Tasker instead of the reference Tasker (which is still
    /// started, for the seeded data).
    pub fn tasker_url(mut self, url: String) -> Self {
        self.tasker_url = Some(url);
        self
    }

    pub fn auth(mut self, auth: AuthLimits) -> Self {
        self.auth = auth;
        self
    }

    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    pub fn rate(mut self, rate: RateLimits) -> Self {
        self.rate = rate;
        self
    }

    /// Work-session thresholds (tests use seconds, not the defaults' minutes).
    pub fn report_timers(mut self, stale_after: Duration, abandon_after: Duration) -> Self {
        self.reporting = ReportTimers { stale_after, abandon_after };
        self
    }

    /// Internal tokens other than the one shared `INTERNAL_TOKEN`.
    pub fn internal_tokens(mut self, tokens: InternalTokens) -> Self {
        self.internal_tokens = Some(tokens);
        self
    }

    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// As if behind a proxy: client addresses come from `X-Forwarded-For`.
    pub fn behind_proxy(mut self) -> Self {
        self.trust_forwarded_for = true;
        self
    }

    pub async fn start(self) -> TestApp {
        let test_db = TestDb::new(self.backend);
        let db = test_db.connect().await;
        reference_tasker::seed::seed_demo(&db).await.expect("seed");
        let tasker =
            reference_tasker::start(db.clone(), TASKER_TOKEN, "127.0.0.1:0".parse().unwrap()).await.expect("tasker");
        let token = InternalToken::new(TASKER_TOKEN.to_string());
        let url = self.tasker_url.unwrap_or_else(|| format!("http://{}", tasker.addr));
        let tasker_config = Arc::new(TaskerConfig::new(url, token));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let public_url =
            if self.real_public_url { format!("http://{addr}") } else { "http://gateway.test".to_string() };
        let options = AppOptions {
            internal_tokens: self
                .internal_tokens
                .unwrap_or_else(|| InternalTokens::shared(InternalToken::new(INTERNAL_TOKEN.to_string()))),
            allowed_origins: vec![public_url.clone()],
            public_url,
            trust_forwarded_for: self.trust_forwarded_for,
            max_body_bytes: self.max_body,
            auth: self.auth,
            rate: self.rate,
            writer: self.writer,
            reporting: self.reporting,
            janitor_every: Duration::from_secs(600),
            retention: self.retention,
        };
        let state = app::build(db.clone(), tasker_config, options);
        let app_state = state.clone();
        let server = HttpServer::new(move || http::build(app_state.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen");
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        TestApp { state, db, addr, client, _test_db: test_db, server: handle, tasker }
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// The stable error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// The gateway with default settings.
    pub async fn start(backend: Backend) -> Self {
        Self::builder(backend).start().await
    }

    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            auth: AuthLimits::default(),
            rate: RateLimits::default(),
            writer: WriterLimits::default(),
            reporting: ReportTimers::default(),
            retention: Retention::default(),
            internal_tokens: None,
            max_body: 64 * 1024,
            trust_forwarded_for: false,
            tasker_url: None,
            real_public_url: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn send(&self, method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> Resp {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, self.url(path));
        if let Some(b) = bearer {
            req = req.insert_header(("Authorization", format!("Bearer {b}")));
        }
        let res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        };
        let mut res = res.expect("request");
        let bytes = res.body().limit(4 * 1024 * 1024).await.expect("body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// A call on the internal API with the internal token.
    pub async fn internal(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.send(method, &format!("/api/internal/v1{path}"), Some(INTERNAL_TOKEN), body).await
    }

    pub async fn upsert_owner(&self, owner: Uuid, status: &str, codex: bool) -> Resp {
        let ents: Vec<&str> = if codex { vec!["codex_agents", "tasker"] } else { vec!["tasker"] };
        self.internal(
            "PUT",
            &format!("/owners/{owner}"),
            Some(json!({ "display_name": "Owner", "status": status, "entitlements": ents })),
        )
        .await
    }

    /// A fresh entitled owner (a member of the demo project `WEB` in the reference
    /// Tasker) with one agent granted `WEB` with read and create, and a token.
    pub async fn agent_with_token(&self) -> Fixture {
        self.agent_on(Uuid::new_v4(), reference_tasker::seed::demo::WEB, &["issue:read", "issue:create"]).await
    }

    /// Makes `user` a member of `project` in the reference Tasker (adding the person to
    /// the demo workspace if new), so the gateway accepts grants of it for `user`'s
    /// agents.
    pub async fn tasker_member(&self, user: Uuid, project: Uuid) {
        use nodedc_agent_gateway::reference_tasker::store::{projects, users};
        use nodedc_agent_gateway::storage::StorageError;
        use nodedc_agent_gateway::tasker::contract::ProjectRole;
        self.db
            .write(move |c| {
                let now = nodedc_agent_gateway::storage::now();
                if users::find(c, user)?.is_none() {
                    let person = users::User {
                        id: user,
                        display_name: format!("Person {}", &user.simple().to_string()[..6]),
                        email: format!("{}@example.com", user.simple()),
                        workspace_role: ProjectRole::Member,
                    };
                    users::insert(c, reference_tasker::seed::demo::WORKSPACE, &person, now)?;
                }
                if !projects::of_user(c, user)?.iter().any(|p| p.id == project) {
                    projects::insert_member(c, project, user, ProjectRole::Member, now)?;
                }
                Ok::<_, StorageError>(())
            })
            .await
            .expect("tasker member");
    }

    /// The demo user Alice, entitled, with an agent granted the demo project WEB with
    /// `scopes`, and a token.
    pub async fn web_agent(&self, scopes: &[&str]) -> Fixture {
        self.agent_on(reference_tasker::seed::demo::ALICE, reference_tasker::seed::demo::WEB, scopes).await
    }

    /// `owner` (projected, entitled) with an agent granted the demo project WEB with
    /// `scopes`, and a token.
    pub async fn agent_of(&self, owner: Uuid, scopes: &[&str]) -> Fixture {
        self.agent_on(owner, reference_tasker::seed::demo::WEB, scopes).await
    }

    async fn agent_on(&self, owner: Uuid, project: Uuid, scopes: &[&str]) -> Fixture {
        assert_eq!(self.upsert_owner(owner, "active", true).await.status, 200);
        self.tasker_member(owner, project).await;
        let r = self
            .internal(
                "POST",
                &format!("/owners/{owner}/agents"),
                Some(json!({
                    "name": format!("bot-{}", &Uuid::new_v4().simple().to_string()[..6]),
                    "grants": [{ "project_id": project, "project_identifier": "WEB", "scopes": scopes }]
                })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let agent: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
        let t = self
            .internal("POST", &format!("/owners/{owner}/agents/{agent}/tokens"), Some(json!({"label": "test"})))
            .await;
        assert_eq!(t.status, 201, "{}", t.text);
        Fixture {
            owner,
            agent,
            project,
            token: t.body["token"].as_str().unwrap().to_string(),
            token_id: t.body["token_info"]["id"].as_str().unwrap().parse().unwrap(),
        }
    }

    /// A request with extra headers.
    pub async fn send_with(&self, method: &str, path: &str, headers: &[(&str, String)], body: Option<Value>) -> Resp {
        let m = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(m, self.url(path));
        for (k, v) in headers {
            req = req.insert_header((*k, v.clone()));
        }
        let res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        };
        let mut res = res.expect("request");
        let bytes = res.body().limit(4 * 1024 * 1024).await.expect("body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn whoami(&self, token: &str) -> Resp {
        self.send("GET", "/api/v1/agent-session", Some(token), None).await
    }

    pub async fn whoami_owned(&self, token: String) -> Resp {
        self.whoami(&token).await
    }

    pub async fn stats(&self) -> StatsReply {
        self.state.sessions.send(Stats).await.unwrap()
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
        self.tasker.handle.stop(false).await;
        self.db.close();
    }
}

impl Drop for TestApp {
    /// A failed test drops the app mid-way: close the pool now, inside the runtime, so
    /// no pooled connection is dropped after the runtime is gone.
    fn drop(&mut self) {
        self.db.close();
    }
}

pub struct Fixture {
    pub owner: Uuid,
    pub agent: Uuid,
    pub project: Uuid,
    pub token: String,
    pub token_id: Uuid,
}

/// Runs a test body so that, if it panics, everything it holds (the pool above all) is
/// dropped while the runtime is still alive, and the panic is then re-raised.
pub async fn run_in_runtime(body: impl std::future::Future<Output = ()>) {
    use futures_util::FutureExt;
    if let Err(panic) = std::panic::AssertUnwindSafe(body).catch_unwind().await {
        std::panic::resume_unwind(panic);
    }
}

/// Declares each listed `async fn NAME(backend: Backend)` as a test on SQLite and on
/// PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    $crate::common::run_in_runtime(super::$name(nodedc_agent_gateway::storage::Backend::Sqlite)).await
                }
            )+
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    $crate::common::run_in_runtime(super::$name(nodedc_agent_gateway::storage::Backend::Postgres)).await
                }
            )+
        }
    };
}
