//! Benchmark: what the gateway costs over the Tasker work it guards.
//!
//!     cargo run --release --example bench                       # both on SQLite
//!     cargo run --release --example bench -- --postgres postgres://postgres@127.0.0.1:5432/postgres
//!     cargo run --release --example bench -- --clients 32 --secs 10 --sessions 10000 --only ping,get_mcp
//!
//! One run starts, in this process: a bare actix-web JSON-RPC echo route (the
//! framework's ceiling on this machine), the reference Tasker alone on its own
//! database, and the gateway in front of it on another (SQLite files in a temporary
//! directory, or fresh databases on the PostgreSQL server given, dropped at the end),
//! each with 2 HTTP workers. It then generates the load itself: N keep-alive clients
//! (default 32, one connection each) call one route as fast as they can for D seconds
//! (after a one-second warm-up), and every row prints requests per second, p50 and p99,
//! and its ratio to the row it is measured against:
//!
//! - `echo`: the bare echo route;
//! - `ping`: `ping` through `/mcp` (authentication and session only), against `echo`;
//! - `get_direct`: `GET /issues/WEB-1` on the reference Tasker;
//! - `get_mcp`, `get_rest`: `get_issue` through the gateway, against `get_direct`;
//! - `create_direct`: `POST /projects/WEB/issues` on the reference Tasker, a new
//!   idempotency key each time;
//! - `create_mcp`: `create_issue` through the gateway (a new key each time, all 32
//!   clients on one project), against `create_direct`.
//!
//! Then it opens `--sessions` MCP sessions (default 10,000) and prints the process's
//! resident memory before and after, and what one idle session costs. Every answer is
//! checked (status, and no JSON-RPC or tool error); failures are counted and shown.
//! Figures are ratios within one run on purpose: the machine is shared and noisy.
//! The bad-token flood benchmark is `examples/auth_flood.rs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::Parser;
use diesel::{Connection, PgConnection, RunQueryDsl};
use futures_util::future::join_all;
use nodedc_agent_gateway::actors::rate_buckets::{Budget, RateLimits};
use nodedc_agent_gateway::actors::tasker_writer::WriterLimits;
use nodedc_agent_gateway::app::{self, AppOptions};
use nodedc_agent_gateway::auth::{InternalToken, InternalTokens};
use nodedc_agent_gateway::http;
use nodedc_agent_gateway::model::{OwnerStatus, ProjectIdentifier, Scope};
use nodedc_agent_gateway::reference_tasker::{self, seed::demo};
use nodedc_agent_gateway::service::agents::{GrantRequest, NewAgent};
use nodedc_agent_gateway::service::owners::OwnerProjection;
use nodedc_agent_gateway::service::{Ctx, Within};
use nodedc_agent_gateway::storage::{DatabaseUrl, Db};
use nodedc_agent_gateway::tasker::client::{TaskerConfig, install_crypto_provider};
use nodedc_agent_gateway::tasker::contract::{BASE_PATH, GRANTED_HEADER, IDEMPOTENCY_HEADER};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Parser, Clone)]
#[command(about = "What the gateway costs over the Tasker work it guards")]
struct Args {
    /// A PostgreSQL server URL (a role that may CREATE DATABASE): run the gateway and
    /// the reference Tasker on fresh databases there instead of SQLite files.
    #[arg(long)]
    postgres: Option<String>,
    /// Concurrent keep-alive clients per row.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Measured seconds per row (after a one-second warm-up).
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Idle MCP sessions to open for the memory figure (0: skip).
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Only these rows (comma-separated): echo, ping, get_direct, get_mcp, get_rest,
    /// create_direct, create_mcp.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Threads generating the load.
    #[arg(long, default_value_t = 2)]
    load_threads: usize,
}

const TASKER_TOKEN: &str = "bench-reference-tasker-token-0123456789abcdef";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Row {
    Echo,
    Ping,
    GetDirect,
    GetMcp,
    GetRest,
    CreateDirect,
    CreateMcp,
}

impl Row {
    const ALL: [Row; 7] =
        [Row::Echo, Row::Ping, Row::GetDirect, Row::GetMcp, Row::GetRest, Row::CreateDirect, Row::CreateMcp];

    fn name(self) -> &'static str {
        match self {
            Row::Echo => "echo",
            Row::Ping => "ping",
            Row::GetDirect => "get_direct",
            Row::GetMcp => "get_mcp",
            Row::GetRest => "get_rest",
            Row::CreateDirect => "create_direct",
            Row::CreateMcp => "create_mcp",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Row::Echo => "JSON-RPC echo (actix-web ceiling)",
            Row::Ping => "ping through /mcp",
            Row::GetDirect => "get_issue direct on Tasker",
            Row::GetMcp => "get_issue through the gateway (MCP)",
            Row::GetRest => "get_issue through the gateway (REST)",
            Row::CreateDirect => "create_issue direct on Tasker",
            Row::CreateMcp => "create_issue through the gateway (MCP)",
        }
    }

    /// The row this one is compared with, and the target ratio.
    fn against(self) -> Option<(Row, f64)> {
        match self {
            Row::Ping => Some((Row::Echo, 0.15)),
            Row::GetMcp | Row::GetRest => Some((Row::GetDirect, 0.6)),
            Row::CreateMcp => Some((Row::CreateDirect, 0.6)),
            _ => None,
        }
    }

    fn is_mcp(self) -> bool {
        matches!(self, Row::Ping | Row::GetMcp | Row::CreateMcp)
    }
}

/// Where everything listens, and what to present.
#[derive(Clone)]
struct Targets {
    echo: SocketAddr,
    tasker: SocketAddr,
    gateway: SocketAddr,
    token: String,
}

// ------------------------------------------------------------------ the servers

fn start_echo() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new().route(
                    "/rpc",
                    web::post().to(|body: web::Json<Value>| async move {
                        HttpResponse::Ok().json(json!({"jsonrpc": "2.0", "id": body["id"], "result": {}}))
                    }),
                )
            })
            .workers(2)
            .disable_signals()
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// Two fresh databases on the PostgreSQL server, or two SQLite files.
struct Databases {
    gateway: DatabaseUrl,
    tasker: DatabaseUrl,
    _dir: tempfile::TempDir,
    pg: Option<(String, Vec<String>)>,
}

impl Databases {
    fn new(postgres: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match postgres {
            None => Databases {
                gateway: DatabaseUrl::sqlite_file(&dir.path().join("gateway.db")),
                tasker: DatabaseUrl::sqlite_file(&dir.path().join("tasker.db")),
                _dir: dir,
                pg: None,
            },
            Some(admin) => {
                let mut conn = PgConnection::establish(admin).expect("connect to PostgreSQL");
                let tag = Uuid::new_v4().simple().to_string();
                let names = vec![format!("bench_gw_{}", &tag[..12]), format!("bench_tasker_{}", &tag[..12])];
                for n in &names {
                    diesel::sql_query(format!("CREATE DATABASE {n}")).execute(&mut conn).expect("create database");
                }
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
                let url = |n: &str| DatabaseUrl::parse(&format!("{base}/{n}")).unwrap();
                Databases {
                    gateway: url(&names[0]),
                    tasker: url(&names[1]),
                    _dir: dir,
                    pg: Some((admin.to_string(), names)),
                }
            }
        }
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        if let Some((admin, names)) = &self.pg
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            for n in names {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)")).execute(&mut conn);
            }
        }
    }
}

/// The reference Tasker alone, and the gateway in front of it, as `serve` runs them
/// (2 HTTP workers each, the default pool size), with an agent holding every scope
/// on WEB and budgets no benchmark reaches.
fn start_gateway(dbs: &Databases) -> Targets {
    let (tx, rx) = std::sync::mpsc::channel();
    let (gw_url, tasker_url) = (dbs.gateway.clone(), dbs.tasker.clone());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            install_crypto_provider();
            let tasker_db = Db::connect(&tasker_url, 8).await.expect("tasker database");
            tasker_db.migrate_set(&reference_tasker::migrations::MIGRATIONS).await.unwrap();
            reference_tasker::seed::seed_demo(&tasker_db).await.unwrap();
            let tasker =
                reference_tasker::start(tasker_db.clone(), TASKER_TOKEN, "127.0.0.1:0".parse().unwrap()).await.unwrap();
            let db = Db::connect(&gw_url, 8).await.expect("gateway database");
            db.migrate().await.unwrap();
            let config =
                Arc::new(TaskerConfig::new(format!("http://{}", tasker.addr), InternalToken::new(TASKER_TOKEN.into())));
            let unlimited = Budget { per_minute: u32::MAX / 2, burst: u32::MAX / 2 };
            let options = AppOptions {
                internal_tokens: InternalTokens::shared(InternalToken::generate()),
                public_url: "http://bench".into(),
                allowed_origins: vec![],
                trust_forwarded_for: false,
                max_body_bytes: 65536,
                auth: Default::default(),
                rate: RateLimits { read: unlimited, write: unlimited },
                writer: WriterLimits::default(),
                reporting: Default::default(),
                janitor_every: Duration::from_secs(600),
                retention: Default::default(),
            };
            let state = app::build(db.clone(), config, options);
            let token = agent_token(&state).await;
            let server = HttpServer::new(move || http::build(state.clone()))
                .workers(2)
                .disable_signals()
                .bind("127.0.0.1:0")
                .unwrap();
            let gateway = server.addrs()[0];
            tx.send((tasker.addr, gateway, token)).unwrap();
            server.run().await.unwrap();
        });
    });
    let (tasker, gateway, token) = rx.recv().unwrap();
    Targets { echo: start_echo(), tasker, gateway, token }
}

async fn agent_token(state: &app::AppState) -> String {
    let services = state.services();
    let ctx = Ctx::operator();
    let projection = OwnerProjection {
        user_id: demo::ALICE,
        display_name: "Alice".into(),
        status: OwnerStatus::Active,
        codex_agents: true,
        client_id: None,
        reporting_mode: None,
    };
    services.upsert_owner(&ctx, projection).await.unwrap();
    let grants = vec![GrantRequest {
        project_id: demo::WEB,
        project_identifier: ProjectIdentifier::parse("WEB").unwrap(),
        scopes: Some(Scope::ALL.to_vec()),
    }];
    let new = NewAgent { name: "bench bot".into(), description: String::new(), grants };
    let agent = services.create_agent(&ctx, demo::ALICE, new).await.unwrap();
    let issued = services.issue_token(&ctx, Within::AnyOwner, agent.agent.id, "bench", None).await.unwrap();
    issued.token.expose()
}

// ------------------------------------------------------------------ the load

/// One client's connection and, for MCP rows, its session.
struct Client {
    http: awc::Client,
    session: Option<String>,
    id: String,
    sent: u64,
}

impl Client {
    async fn new(t: &Targets, row: Row, id: String) -> Result<Self, String> {
        let http =
            awc::Client::builder().timeout(Duration::from_secs(30)).connector(awc::Connector::new().limit(1)).finish();
        let mut c = Client { http, session: None, id, sent: 0 };
        if row.is_mcp() {
            c.session = Some(open_session(&c.http, t).await?);
        }
        Ok(c)
    }

    /// One request of the row; `Err` carries what was wrong with the answer.
    async fn call(&mut self, t: &Targets, row: Row) -> Result<(), String> {
        self.sent += 1;
        let key = format!("bench-{}-{}-{}", row.name(), self.id, self.sent);
        let gw = |path: &str| format!("http://{}{path}", t.gateway);
        let tasker = |path: &str| format!("http://{}{BASE_PATH}{path}", t.tasker);
        let c = &self.http;
        let (req, body) = match row {
            Row::Echo => (c.post(format!("http://{}/rpc", t.echo)), Some(rpc(self.sent, "ping", json!({})))),
            Row::Ping => (self.mcp(t), Some(rpc(self.sent, "ping", json!({})))),
            Row::GetMcp => (self.mcp(t), Some(tool(self.sent, "get_issue", json!({"issue": "WEB-1"})))),
            Row::CreateMcp => {
                let args = json!({"project": "WEB", "title": format!("Bench {key}"), "idempotency_key": key});
                (self.mcp(t), Some(tool(self.sent, "create_issue", args)))
            }
            Row::GetRest => (c.get(gw("/api/v1/issues/WEB-1")).bearer_auth(&t.token), None),
            Row::GetDirect => (direct(c.get(tasker("/issues/WEB-1"))), None),
            Row::CreateDirect => {
                let body = json!({
                    "actor": {"agent_id": Uuid::nil(), "agent_name": "bench", "owner_user_id": demo::ALICE, "request_id": key},
                    "title": format!("Bench {key}"),
                });
                let req = direct(c.post(tasker(&format!("/projects/{}/issues", demo::WEB))))
                    .insert_header((IDEMPOTENCY_HEADER, key.as_str()));
                (req, Some(body))
            }
        };
        let mut res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        }
        .map_err(|e| format!("send: {e}"))?;
        let bytes = res.body().limit(64 << 20).await.map_err(|e| format!("body: {e}"))?;
        let status = res.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(300)])));
        }
        if row.is_mcp() || row == Row::Echo {
            let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
            if v.get("error").is_some() || v["result"]["isError"] == true {
                return Err(format!("error answer: {}", &v.to_string()[..v.to_string().len().min(300)]));
            }
        }
        Ok(())
    }

    fn mcp(&self, t: &Targets) -> awc::ClientRequest {
        self.http
            .post(format!("http://{}/mcp", t.gateway))
            .bearer_auth(&t.token)
            .insert_header(("Accept", "application/json, text/event-stream"))
            .insert_header(("Mcp-Session-Id", self.session.clone().unwrap_or_default()))
            .insert_header(("MCP-Protocol-Version", "2025-11-25"))
    }
}

fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn tool(id: u64, name: &str, args: Value) -> Value {
    rpc(id, "tools/call", json!({"name": name, "arguments": args}))
}

fn direct(req: awc::ClientRequest) -> awc::ClientRequest {
    req.bearer_auth(TASKER_TOKEN).insert_header((GRANTED_HEADER, demo::WEB.to_string()))
}

/// `initialize` and `notifications/initialized`: a session id.
async fn open_session(http: &awc::Client, t: &Targets) -> Result<String, String> {
    let init = rpc(
        0,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}),
    );
    let url = format!("http://{}/mcp", t.gateway);
    let mut res = http
        .post(&url)
        .bearer_auth(&t.token)
        .insert_header(("Accept", "application/json, text/event-stream"))
        .send_json(&init)
        .await
        .map_err(|e| format!("initialize: {e}"))?;
    let _ = res.body().await;
    let session = res
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("initialize answered {} without a session", res.status()))?;
    let mut done = http
        .post(&url)
        .bearer_auth(&t.token)
        .insert_header(("Accept", "application/json, text/event-stream"))
        .insert_header(("Mcp-Session-Id", session.clone()))
        .insert_header(("MCP-Protocol-Version", "2025-11-25"))
        .send_json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await
        .map_err(|e| format!("initialized: {e}"))?;
    let _ = done.body().await;
    Ok(session)
}

/// What one row measured.
struct Measured {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    secs: f64,
}

impl Measured {
    fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.secs
    }

    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

/// `clients` clients spread over `load_threads` threads, each its own runtime.
fn run_row(t: &Targets, row: Row, args: &Args) -> Measured {
    let warm = Duration::from_secs(1);
    let measure = Duration::from_secs(args.secs);
    let threads = args.load_threads.max(1);
    let start = Instant::now() + Duration::from_millis(300);
    let handles: Vec<_> = (0..threads)
        .map(|th| {
            let t = t.clone();
            let n = args.clients / threads + usize::from(th < args.clients % threads);
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let tasks = (0..n).map(|i| {
                        let t = t.clone();
                        async move { one_client(&t, row, format!("{th}.{i}"), start, warm, measure).await }
                    });
                    join_all(tasks).await
                })
            })
        })
        .collect();
    let mut m = Measured { latencies: vec![], errors: 0, first_error: None, secs: measure.as_secs_f64() };
    for h in handles {
        for (lat, errors, first) in h.join().unwrap() {
            m.latencies.extend(lat);
            m.errors += errors;
            m.first_error = m.first_error.or(first);
        }
    }
    m.latencies.sort();
    m
}

async fn one_client(
    t: &Targets,
    row: Row,
    id: String,
    start: Instant,
    warm: Duration,
    measure: Duration,
) -> (Vec<Duration>, usize, Option<String>) {
    let mut c = match Client::new(t, row, id).await {
        Ok(c) => c,
        Err(e) => return (vec![], 1, Some(e)),
    };
    actix_web::rt::time::sleep_until(tokio::time::Instant::from_std(start)).await;
    let (from, until) = (start + warm, start + warm + measure);
    let (mut lat, mut errors, mut first) = (Vec::new(), 0, None);
    loop {
        let sent = Instant::now();
        if sent >= until {
            break;
        }
        let r = c.call(t, row).await;
        let done = Instant::now();
        if sent < from || done > until {
            continue;
        }
        match r {
            Ok(()) => lat.push(done - sent),
            Err(e) => {
                errors += 1;
                first = first.or(Some(e));
            }
        }
    }
    (lat, errors, first)
}

// ------------------------------------------------------------------ memory

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Opens `n` sessions (initialize and initialized, `clients` at a time) and leaves
/// them idle; the ids are dropped, so what stays is the gateway's.
fn idle_sessions(t: &Targets, n: usize, clients: usize) -> Result<(), String> {
    let t = t.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let per = n.div_ceil(clients.max(1));
            let tasks = (0..clients.max(1)).map(|i| {
                let t = t.clone();
                async move {
                    let http = awc::Client::builder().connector(awc::Connector::new().limit(1)).finish();
                    for _ in 0..per.min(n.saturating_sub(i * per)) {
                        open_session(&http, &t).await?;
                    }
                    Ok::<_, String>(())
                }
            });
            join_all(tasks).await.into_iter().collect::<Result<Vec<_>, _>>().map(|_| ())
        })
    })
    .join()
    .unwrap()
}

// ------------------------------------------------------------------ main

fn main() {
    let args = Args::parse();
    let rows: Vec<Row> =
        Row::ALL.into_iter().filter(|r| args.only.is_empty() || args.only.iter().any(|o| o == r.name())).collect();
    let backend = if args.postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    let dbs = Databases::new(args.postgres.as_deref());
    let t = start_gateway(&dbs);
    println!(
        "gateway and reference Tasker on {backend}; {} keep-alive clients on {} load threads, {} s per row after a 1 s warm-up; {} CPUs",
        args.clients,
        args.load_threads,
        args.secs,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!();
    println!(
        "{:<40} {:>10} {:>9} {:>9} {:>8}  {:<26}",
        "row", "req/s", "p50 ms", "p99 ms", "p99/p50", "ratio (target)"
    );
    let mut results: Vec<(Row, Measured)> = Vec::new();
    for row in rows {
        let m = run_row(&t, row, &args);
        let ratio = row.against().and_then(|(base, target)| {
            results.iter().find(|(r, _)| *r == base).map(|(_, b)| {
                let x = m.rps() / b.rps();
                format!("{x:.2}x {} ({}{target})", base.name(), if x >= target { ">=" } else { "< " })
            })
        });
        println!(
            "{:<40} {:>10.0} {:>9.2} {:>9.2} {:>8.1}  {}",
            row.label(),
            m.rps(),
            m.pct(0.50),
            m.pct(0.99),
            m.pct(0.99) / m.pct(0.50),
            ratio.unwrap_or_default()
        );
        if m.errors > 0 {
            println!("    {} failed calls; the first: {}", m.errors, m.first_error.as_deref().unwrap_or(""));
        }
        results.push((row, m));
    }
    if args.sessions > 0 {
        std::thread::sleep(Duration::from_secs(1));
        let before = rss_kib();
        let opened = Instant::now();
        match idle_sessions(&t, args.sessions, args.clients) {
            Ok(()) => {
                std::thread::sleep(Duration::from_secs(1));
                let after = rss_kib();
                let per = (after.saturating_sub(before) as f64 * 1024.0) / args.sessions as f64;
                println!();
                println!(
                    "{} idle MCP sessions opened in {:.1} s: resident memory {before} KiB before, {after} KiB after, {:.0} bytes ({:.2} KiB) per session (target < 10 KiB)",
                    args.sessions,
                    opened.elapsed().as_secs_f64(),
                    per,
                    per / 1024.0
                );
            }
            Err(e) => println!("opening sessions failed: {e}"),
        }
    }
    drop(dbs);
}
