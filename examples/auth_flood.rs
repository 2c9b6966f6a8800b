//! Benchmark: do 1,000 wrong-secret tokens in a burst slow down valid requests?
//!
//!     cargo run --release --example auth_flood                  # limits on (the default)
//!     cargo run --release --example auth_flood -- --spread      # each bad token from its own address
//!     cargo run --release --example auth_flood -- --unlimited   # failure limits off
//!
//! `--spread` runs the gateway as if behind a trusted proxy and gives every bad token
//! its own `X-Forwarded-For` address (a header on loopback requests; nothing is sent to
//! those addresses), so the per-address limit never triggers and the per-token-id limit
//! and the argon2 semaphore carry the load.
//!
//! Starts the gateway in process (SQLite in a temp dir, 2 HTTP workers), issues a valid
//! token and 50 others, then measures valid requests to `GET /api/v1/agent-session`:
//! first alone, then while 1,000 well-formed tokens with real token ids and wrong
//! secrets hit the same endpoint (64 at a time). Prints latency percentiles,
//! throughput, the slowdown ratio and how many argon2 verifications the burst caused.

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use actix_web::HttpServer;
use futures_util::future::join_all;
use nodedc_agent_gateway::actors::TokenSessions;
use nodedc_agent_gateway::actors::rate_buckets::RateLimits;
use nodedc_agent_gateway::actors::tasker_writer::WriterLimits;
use nodedc_agent_gateway::actors::token_sessions::{AuthLimits, Stats};
use nodedc_agent_gateway::app::{self, AppOptions};
use nodedc_agent_gateway::auth::{AgentToken, InternalToken, InternalTokens};
use nodedc_agent_gateway::http;
use nodedc_agent_gateway::model::{OwnerStatus, ProjectIdentifier};
use nodedc_agent_gateway::service::agents::{GrantRequest, NewAgent, build_grants};
use nodedc_agent_gateway::service::owners::OwnerProjection;
use nodedc_agent_gateway::service::{Ctx, Within};
use nodedc_agent_gateway::storage::{DatabaseUrl, Db, grants, now};
use nodedc_agent_gateway::tasker::client::TaskerConfig;
use uuid::Uuid;

const VALID_CLIENTS: usize = 4;
const VALID_PER_CLIENT: usize = 500;
const BURST: usize = 1000;
const BURST_CONCURRENCY: usize = 64;

struct Setup {
    addr: std::net::SocketAddr,
    valid: String,
    others: Vec<String>,
    sessions: actix::Addr<TokenSessions>,
}

fn start_server(limits: AuthLimits, behind_proxy: bool, tx: mpsc::Sender<Setup>) {
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let dir = tempfile::tempdir().unwrap();
            let db = Db::connect(&DatabaseUrl::sqlite_file(&dir.path().join("bench.db")), 8).await.unwrap();
            db.migrate().await.unwrap();
            // The benchmark calls no tool: Tasker is never contacted.
            let tasker = Arc::new(TaskerConfig::new("http://127.0.0.1:9", InternalToken::generate()));
            let options = AppOptions {
                internal_tokens: InternalTokens::shared(InternalToken::generate()),
                public_url: "http://bench".into(),
                allowed_origins: vec![],
                trust_forwarded_for: behind_proxy,
                max_body_bytes: 65536,
                auth: limits,
                rate: RateLimits::default(),
                writer: WriterLimits::default(),
                reporting: Default::default(),
                janitor_every: std::time::Duration::from_secs(600),
                retention: Default::default(),
            };
            let state = app::build(db.clone(), tasker, options);
            let sessions = state.sessions.clone();
            let services = state.services();
            let ctx = Ctx::operator();
            let owner = Uuid::new_v4();
            services
                .upsert_owner(
                    &ctx,
                    OwnerProjection {
                        user_id: owner,
                        display_name: "bench".into(),
                        status: OwnerStatus::Active,
                        codex_agents: true,
                        client_id: None,
                        reporting_mode: None,
                    },
                )
                .await
                .unwrap();
            let mut tokens = Vec::new();
            for i in 0..51 {
                let agent = services
                    .create_agent(
                        &ctx,
                        owner,
                        NewAgent { name: format!("bot {i}"), description: String::new(), grants: vec![] },
                    )
                    .await
                    .unwrap();
                // One grant each, as before, written to storage directly: no Tasker
                // runs here to confirm it (creating agents is not what is measured).
                let grants = build_grants(vec![GrantRequest {
                    project_id: Uuid::new_v4(),
                    project_identifier: ProjectIdentifier::parse("WEB").unwrap(),
                    scopes: None,
                }])
                .unwrap();
                let id = agent.agent.id;
                db.write(move |c| grants::replace(c, id, &grants, now())).await.unwrap();
                let issued = services.issue_token(&ctx, Within::AnyOwner, agent.agent.id, "bench", None).await.unwrap();
                tokens.push(issued.token.expose());
            }
            let server = HttpServer::new(move || http::build(state.clone()))
                .workers(2)
                .disable_signals()
                .bind("127.0.0.1:0")
                .unwrap();
            let addr = server.addrs()[0];
            let valid = tokens.remove(0);
            tx.send(Setup { addr, valid, others: tokens, sessions }).unwrap();
            server.run().await.unwrap();
            drop(dir);
        });
    });
}

/// Same token id, a different secret, a valid checksum: only argon2 can reject it.
fn wrong_secret(token: &str) -> String {
    let id = AgentToken::parse(token).unwrap().id();
    // Prefix and id of this token, the secret of a fresh one, and the checksum
    // recomputed as the token format does (CRC32, base62, 6 characters).
    let other = AgentToken::generate().expose();
    let body = format!("{}{}", &token[..28], &other[28..71]);
    let forged = format!("{body}{}", checksum(&body));
    assert_eq!(AgentToken::parse(&forged).unwrap().id(), id);
    forged
}

fn checksum(body: &str) -> String {
    format!("{:0>6}", base62_u32(crc32fast::hash(body.as_bytes())))
}

fn base62_u32(mut n: u32) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(A[(n % 62) as usize]);
        n /= 62;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

async fn timed_valid_requests(client: &awc::Client, url: &str, token: &str) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let per_client = (0..VALID_CLIENTS).map(|_| async {
        let mut latencies = Vec::with_capacity(VALID_PER_CLIENT);
        for _ in 0..VALID_PER_CLIENT {
            let t = Instant::now();
            let mut res = client.get(url).bearer_auth(token).send().await.unwrap();
            let _ = res.body().await;
            assert_eq!(res.status().as_u16(), 200);
            latencies.push(t.elapsed());
        }
        latencies
    });
    let mut all: Vec<Duration> = join_all(per_client).await.into_iter().flatten().collect();
    let wall = started.elapsed();
    all.sort();
    (all, wall)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(label: &str, lat: &[Duration], wall: Duration) -> (f64, f64, f64) {
    let rps = lat.len() as f64 / wall.as_secs_f64();
    println!(
        "{label:<28} n={:<5} p50={:>7.2} ms  p95={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms  {:>8.0} req/s",
        lat.len(),
        pct(lat, 0.50),
        pct(lat, 0.95),
        pct(lat, 0.99),
        pct(lat, 1.0),
        rps
    );
    (pct(lat, 0.50), rps, pct(lat, 0.99))
}

fn main() {
    let unlimited = std::env::args().any(|a| a == "--unlimited");
    let spread = std::env::args().any(|a| a == "--spread");
    let limits = if unlimited {
        AuthLimits {
            failures_per_token: u32::MAX,
            failures_per_address: u32::MAX,
            queued_verifications: usize::MAX,
            ..AuthLimits::default()
        }
    } else {
        AuthLimits::default()
    };
    let (tx, rx) = mpsc::channel();
    start_server(limits.clone(), spread, tx);
    let setup = rx.recv_timeout(Duration::from_secs(120)).expect("server start");
    let url = format!("http://{}/api/v1/agent-session", setup.addr);

    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(120))
            .connector(awc::Connector::new().limit(256))
            .finish();
        println!(
            "auth_flood: {} CPUs, limits: {} failures/token id, {} failures/address per {:?}, {} concurrent argon2",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            limits.failures_per_token,
            limits.failures_per_address,
            limits.failure_window,
            limits.concurrent_verifications
        );
        // Warm up: verify the valid token once (argon2) and the connection pool.
        timed_valid_requests(&client, &url, &setup.valid).await;

        let (lat, wall) = timed_valid_requests(&client, &url, &setup.valid).await;
        let (base_p50, base_rps, base_p99) = report("valid alone", &lat, wall);

        let before = setup.sessions.send(Stats).await.unwrap().verifications;
        let bad: Vec<String> = (0..BURST).map(|i| wrong_secret(&setup.others[i % setup.others.len()])).collect();
        let burst_client = client.clone();
        let burst_url = url.clone();
        let burst = async move {
            let started = Instant::now();
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            for (c, chunk) in bad.chunks(BURST_CONCURRENCY).enumerate() {
                let answers = join_all(chunk.iter().enumerate().map(|(i, t)| {
                    let c2 = burst_client.clone();
                    let u = burst_url.clone();
                    // Documentation range 198.18.0.0/15 (benchmarking): a distinct address
                    // per bad token, as a header only.
                    let n = c * BURST_CONCURRENCY + i;
                    let from = format!("198.18.{}.{}", n / 250, n % 250 + 1);
                    async move {
                        let mut req = c2.get(u).bearer_auth(t);
                        if spread {
                            req = req.insert_header(("X-Forwarded-For", from));
                        }
                        let mut r = req.send().await.unwrap();
                        let _ = r.body().await;
                        r.status().as_u16()
                    }
                }))
                .await;
                for s in answers {
                    *statuses.entry(s).or_default() += 1;
                }
            }
            (statuses, started.elapsed())
        };
        let ((lat, wall), (statuses, burst_wall)) =
            tokio::join!(timed_valid_requests(&client, &url, &setup.valid), burst);
        let (attack_p50, attack_rps, attack_p99) = report("valid during 1,000 bad", &lat, wall);
        let after = setup.sessions.send(Stats).await.unwrap().verifications;
        println!(
            "burst: {BURST} wrong-secret tokens over {} token ids answered {:?} in {:.2} s; argon2 runs caused: {}",
            setup.others.len(),
            statuses,
            burst_wall.as_secs_f64(),
            after - before
        );
        let slowdown = (attack_p50 / base_p50).max(base_rps / attack_rps);
        println!(
            "slowdown: p50 x{:.2}, throughput x{:.2} -> worst x{slowdown:.2} ({} the 2x budget); p99 x{:.2}",
            attack_p50 / base_p50,
            base_rps / attack_rps,
            if slowdown <= 2.0 { "within" } else { "OVER" },
            attack_p99 / base_p99
        );
        std::process::exit(0);
    });
}
