//! The reference Tasker: a small, faithful Tasker implementing the internal adapter
//! contract ([`crate::tasker::contract`], documented in docs/TASKER_ADAPTER.md) over its
//! own `tasker_` tables, with a read-only HTML board for people. It runs on its own
//! listener with its own app and error type; the gateway reaches it only over HTTP, and
//! only the CLI (`serve` without `TASKER_URL`, `reference-tasker`) starts it. From the
//! gateway it imports the contract types, the storage pool and the `traceparent`
//! parser, nothing else.
//!
//! - `routes/`: the adapter API under [`BASE_PATH`](crate::tasker::contract::BASE_PATH)
//!   (internal token, granted projects, idempotent writes with history);
//! - `board.rs`: `GET /`, `/projects/{IDENT}`, `/cards/{KEY}` (no auth: for a person on
//!   loopback; it never writes);
//! - `health.rs`: `GET /healthz` and `/readyz` (no auth), for healthchecks;
//! - `blocks.rs`: the structured-blocks format it keeps in card descriptions;
//! - `seed.rs`: the demo workspace;
//! - `store/`, `schema.rs`, `migrations.rs`: queries, tables and their own migration
//!   set, for PostgreSQL and SQLite alike.

pub mod blocks;
pub mod board;
pub mod error;
pub mod extract;
pub mod health;
pub mod migrations;
pub mod resolve;
pub mod routes;
pub mod schema;
pub mod seed;
pub mod store;
pub mod text;

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::storage::Db;
pub use seed::{demo, seed_demo};

/// What every handler can reach.
pub struct TaskerState {
    pub db: Db,
    /// The NODE.DC internal token the gateway presents as `Authorization: Bearer`.
    pub token: Credential,
    /// The latest requests, as logged.
    pub requests: RequestLog,
}

/// One request as the reference Tasker's log line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub request_id: String,
    /// The W3C `traceparent` it carried, if well-formed.
    pub traceparent: Option<String>,
}

/// The reference Tasker's request log, in memory: the last [`RequestLog::KEPT`]
/// requests, so a test can see what the gateway sent (the trace context above all).
#[derive(Debug, Clone, Default)]
pub struct RequestLog(std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<LoggedRequest>>>);

impl RequestLog {
    pub const KEPT: usize = 512;

    pub fn push(&self, r: LoggedRequest) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() == Self::KEPT {
            log.pop_front();
        }
        log.push_back(r);
    }

    /// Oldest first.
    pub fn recent(&self) -> Vec<LoggedRequest> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

/// The expected bearer token, kept as a digest and compared in constant time (neither
/// its content nor its length leaks through timing).
pub struct Credential([u8; 32]);

impl Credential {
    pub fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    pub fn matches(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        d.ct_eq(&self.0).into()
    }
}

/// The application: the adapter API, the board, the health endpoints, and the guard
/// that checks the token and refuses deletes and archiving on every adapter path.
pub fn build(
    state: web::Data<TaskerState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::default().limit(extract::MAX_BODY_BYTES))
        .configure(routes::configure)
        .configure(board::configure)
        .configure(health::configure)
        .default_service(web::to(fallback))
        .wrap(from_fn(extract::guard))
}

async fn fallback(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    if extract::is_api_path(req.path()) {
        return Err(error::RefTaskerError::not_found(format!("no route for {} {}", req.method(), req.path())).into());
    }
    Ok(board::not_found_page(&format!("Nothing at {}", req.path())))
}

/// A reference Tasker serving in the background.
pub struct RunningTasker {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    /// What it has been asked (the same lines as its log).
    pub requests: RequestLog,
}

/// Creates the reference Tasker's tables (kept out of the gateway's own migrations, so
/// a database used with a real Tasker never has them), then binds `bind` (port 0 picks
/// a free port) and serves on the current actix system. It does not seed: call
/// [`seed_demo`] for the demo workspace. Signals are left to the caller; stop it with
/// `handle.stop(true)`.
pub async fn start(db: Db, token: &str, bind: SocketAddr) -> std::io::Result<RunningTasker> {
    db.migrate_set(&migrations::MIGRATIONS).await.map_err(std::io::Error::other)?;
    let requests = RequestLog::default();
    let state = web::Data::new(TaskerState { db, token: Credential::new(token), requests: requests.clone() });
    let server = HttpServer::new(move || build(state.clone()))
        .workers(2)
        .disable_signals()
        .shutdown_timeout(5)
        .client_request_timeout(Duration::from_secs(10))
        .bind(bind)?;
    let addr = server.addrs().first().copied().ok_or_else(|| std::io::Error::other("bound no address"))?;
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    tracing::info!(target: "reference_tasker", %addr, "reference Tasker listening");
    Ok(RunningTasker { addr, handle, requests })
}
