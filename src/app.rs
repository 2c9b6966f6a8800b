//! The application: [`AppState`], every handle the HTTP layer and the pipeline reach,
//! each held once, built by [`build`] for `serve` and for the test app alike.

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use actix_web::web;

use crate::actors::TokenSessions;
use crate::actors::janitor::Janitor;
use crate::actors::janitor::Retention;
use crate::actors::rate_buckets::{RateBuckets, RateLimits};
use crate::actors::shown_once::ShownOnce;
use crate::actors::tasker_writer::{TaskerWriter, WriterLimits};
use crate::actors::token_sessions::AuthLimits;
use crate::actors::work_sessions::{ReportTimers, WorkSessions};
use crate::auth::InternalTokens;
use crate::service::Services;
use crate::storage::Db;
use crate::tasker::client::TaskerConfig;

/// Everything a request can reach.
pub struct AppState {
    pub db: Db,
    pub sessions: Addr<TokenSessions>,
    pub rate: Addr<RateBuckets>,
    pub writer: Addr<TaskerWriter>,
    pub work_sessions: Addr<WorkSessions>,
    /// Console: a newly issued token, held for its one display.
    pub shown_once: Addr<ShownOnce>,
    /// Where Tasker is; each HTTP worker builds its own client from it.
    pub tasker: Arc<TaskerConfig>,
    pub internal_tokens: InternalTokens,
    /// Base URL agents use to reach this gateway.
    pub public_url: String,
    /// Browser origins allowed on `/mcp` (DNS-rebinding protection), and allowed to
    /// frame the console.
    pub allowed_origins: Vec<String>,
    /// Take the client address from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
    pub max_body_bytes: usize,
    /// `/readyz`'s last look at Tasker (see `http::routes::health`).
    pub tasker_seen: crate::http::routes::health::TaskerSeen,
}

impl AppState {
    /// The domain operations, with the live actors to tell about changes.
    pub fn services(&self) -> Services<'_> {
        Services {
            db: &self.db,
            sessions: Some(&self.sessions),
            work_sessions: Some(&self.work_sessions),
            tasker: Some(&self.tasker),
        }
    }
}

/// What the application is built with, besides its database and Tasker.
pub struct AppOptions {
    pub internal_tokens: InternalTokens,
    pub public_url: String,
    pub allowed_origins: Vec<String>,
    pub trust_forwarded_for: bool,
    pub max_body_bytes: usize,
    pub auth: AuthLimits,
    pub rate: RateLimits,
    pub writer: WriterLimits,
    pub reporting: ReportTimers,
    /// How often expired state is purged.
    pub janitor_every: Duration,
    /// How long MCP sessions and audit events are kept.
    pub retention: Retention,
}

/// Starts the supervised actors and gathers the state. Call inside the actix system
/// that will serve it.
pub fn build(db: Db, tasker: Arc<TaskerConfig>, o: AppOptions) -> web::Data<AppState> {
    // The metrics recorder, before anything is counted (once per process).
    crate::telemetry::metrics::handle();
    // One setting decides when a session is over (authentication) and purged (Janitor).
    let auth = AuthLimits { session_idle: o.retention.mcp_session_idle, ..o.auth };
    let sessions = TokenSessions::start_supervised(db.clone(), auth);
    Janitor::start_supervised(db.clone(), o.janitor_every, o.retention);
    web::Data::new(AppState {
        rate: RateBuckets::start_supervised(o.rate),
        writer: TaskerWriter::start_supervised(tasker.clone(), o.writer),
        work_sessions: WorkSessions::start_supervised(db.clone(), o.reporting),
        shown_once: ShownOnce::start_supervised(),
        sessions,
        db,
        tasker,
        internal_tokens: o.internal_tokens,
        public_url: o.public_url,
        allowed_origins: o.allowed_origins,
        trust_forwarded_for: o.trust_forwarded_for,
        max_body_bytes: o.max_body_bytes,
        tasker_seen: Default::default(),
    })
}
