//! TokenSessions: authenticates agent tokens.
//!
//! It owns the cache of verified secrets (so argon2 runs once per token per process),
//! the failure limiters (so a flood of bad tokens cannot burn the CPU), and the
//! last-used times (written in batches, not once per request).
//!
//! What it never caches is authorization: every request reads the token, agent and
//! owner state (one indexed join, then the agent's grants, and the MCP session it
//! names), so a revocation or block made anywhere (another replica, the operator CLI)
//! refuses the very next request. Requests arriving while such a read runs share the
//! next one (`reads.rs`): one query for many, each started after its requests arrived.
//! In-process changes also drop cached entries at once through the `Invalidate*`
//! messages.
//!
//! Why a token is refused (revoked, expired, owner blocked...) is told only to a caller
//! that has proven the token's secret in this process; anyone else gets the generic
//! `invalid_token` and is charged against the failure limits, so a token id alone
//! (ids appear in listings) reveals nothing.

mod handlers;
mod limiter;
mod reads;
mod sessions;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, NaiveDateTime, Utc};
use tokio::sync::{Semaphore, oneshot};
use uuid::Uuid;

use crate::model::{AccessDenial, Grant, ReportingMode};
use crate::storage::{Db, StorageError};
pub use handlers::{
    Authenticate, Authenticated, Flush, InvalidateAgent, InvalidateOwner, InvalidateToken, Stats, StatsReply,
};
use limiter::FailureLimiter;
pub use sessions::{CloseSession, OpenSession};

/// Limits on failed verifications and on argon2 work.
#[derive(Debug, Clone)]
pub struct AuthLimits {
    /// Failed verifications of one token id allowed per window.
    pub failures_per_token: u32,
    /// Failed authentications from one client address allowed per window.
    pub failures_per_address: u32,
    pub failure_window: Duration,
    /// argon2 verifications running at once (each takes a core for ~18 ms).
    pub concurrent_verifications: usize,
    /// Verifications running or waiting for a slot; beyond it new ones are refused as
    /// busy (not counted as failures).
    pub queued_verifications: usize,
    /// How often last-used times are written.
    pub flush_interval: Duration,
    /// An MCP session unused this long is over (`MCP_SESSION_IDLE_SECS`).
    pub session_idle: Duration,
}

impl Default for AuthLimits {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self {
            failures_per_token: 5,
            failures_per_address: 10,
            failure_window: Duration::from_secs(60),
            concurrent_verifications: (cpus / 2).max(1),
            queued_verifications: 16,
            flush_interval: Duration::from_secs(15),
            session_idle: Duration::from_secs(24 * 3600),
        }
    }
}

/// The authenticated caller of an agent route.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Uuid,
    pub agent_id: Uuid,
    pub agent_name: String,
    pub owner_user_id: Uuid,
    /// The owner's client (organisation), if it belongs to one.
    pub client_id: Option<Uuid>,
    /// The owner's reporting mode, read for this request.
    pub reporting_mode: ReportingMode,
    pub grants: Vec<Grant>,
    /// The agent's own rate budgets (calls per minute), if it has them.
    pub read_per_minute: Option<u32>,
    pub write_per_minute: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not valid")]
    InvalidToken,
    #[error("the token has been revoked")]
    TokenRevoked,
    #[error("the token has expired")]
    TokenExpired,
    #[error("the agent has been revoked")]
    AgentRevoked,
    #[error("{}", .0.message())]
    OwnerDenied(AccessDenial),
    #[error("too many failed authentications; retry in {retry_after_secs} s")]
    TooManyFailures { retry_after_secs: u64 },
    #[error("token verification is busy; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("token verification failed: {0}")]
    Internal(String),
}

/// A token whose secret has been verified in this process.
struct Verified {
    digest: [u8; 32],
    agent_id: Uuid,
    owner_user_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
}

/// Ids with the time they were last used or seen.
type Usage = Vec<(Uuid, NaiveDateTime)>;

/// Last-used times not yet written: tokens, agents (last seen) and MCP sessions.
pub(crate) struct PendingUsage {
    tokens: Usage,
    agents: Usage,
    sessions: Usage,
}

impl PendingUsage {
    fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.agents.is_empty() && self.sessions.is_empty()
    }
}

type VerifyWaiters = Vec<oneshot::Sender<Result<bool, String>>>;

pub struct TokenSessions {
    db: Db,
    limits: AuthLimits,
    verified: HashMap<Uuid, Verified>,
    /// Secrets proven for tokens that were then invalidated: never used to authorize,
    /// only to tell a caller who proved the secret why its token is refused. Bounded.
    refused: HashMap<Uuid, [u8; 32]>,
    /// Verifications under way, keyed by token id and secret digest, with the callers
    /// waiting for the same answer (one argon2 run serves them all).
    in_flight: HashMap<(Uuid, [u8; 32]), VerifyWaiters>,
    by_token: FailureLimiter<Uuid>,
    by_address: FailureLimiter<IpAddr>,
    verify_slots: Arc<Semaphore>,
    queued: usize,
    last_used: HashMap<Uuid, NaiveDateTime>,
    last_seen: HashMap<Uuid, NaiveDateTime>,
    /// MCP sessions used since the last write of usage.
    session_seen: HashMap<Uuid, NaiveDateTime>,
    verifications: u64,
    /// Requests waiting for the next coalesced read of their token's state.
    reads: reads::Reads,
}

impl TokenSessions {
    pub fn new(db: Db, limits: AuthLimits) -> Self {
        Self {
            db,
            verify_slots: Arc::new(Semaphore::new(limits.concurrent_verifications)),
            by_token: FailureLimiter::new(limits.failures_per_token, limits.failure_window),
            by_address: FailureLimiter::new(limits.failures_per_address, limits.failure_window),
            limits,
            verified: HashMap::new(),
            refused: HashMap::new(),
            in_flight: HashMap::new(),
            queued: 0,
            last_used: HashMap::new(),
            last_seen: HashMap::new(),
            session_seen: HashMap::new(),
            verifications: 0,
            reads: Default::default(),
        }
    }

    /// Starts the actor under a supervisor: if it stops it is restarted with the
    /// verified-secret cache emptied (it refills from the database on demand). It holds
    /// nothing acknowledged that is not already stored; failure windows and pending
    /// last-used times carry over the restart.
    pub fn start_supervised(db: Db, limits: AuthLimits) -> Addr<Self> {
        Supervisor::start(move |_| TokenSessions::new(db, limits))
    }

    /// Drops cached tokens matching `dead`, remembering their proven secrets only to
    /// explain the refusal (see `refused`).
    fn invalidate(&mut self, dead: impl Fn(&Uuid, &Verified) -> bool) {
        if self.refused.len() > 10_000 {
            self.refused.clear();
        }
        let gone: Vec<Uuid> = self.verified.iter().filter(|(id, v)| dead(id, v)).map(|(id, _)| *id).collect();
        for id in &gone {
            if let Some(v) = self.verified.remove(id) {
                self.refused.insert(*id, v.digest);
            }
        }
    }

    /// Pending last-used times (tokens, agents, MCP sessions), emptied.
    fn take_pending_usage(&mut self) -> PendingUsage {
        PendingUsage {
            tokens: self.last_used.drain().collect(),
            agents: self.last_seen.drain().collect(),
            sessions: self.session_seen.drain().collect(),
        }
    }
}

impl Actor for TokenSessions {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.limits.flush_interval, |act, ctx| {
            let usage = act.take_pending_usage();
            if usage.is_empty() {
                return;
            }
            let db = act.db.clone();
            ctx.spawn(
                async move {
                    if let Err(e) = handlers::write_usage(&db, usage).await {
                        tracing::warn!(error = %e, "could not record token last-used times");
                    }
                }
                .into_actor(act),
            );
        });
    }
}

impl Supervised for TokenSessions {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("TokenSessions restarting; verified-token cache cleared");
        self.verified.clear();
        self.refused.clear();
        self.in_flight.clear();
        // The running read's future is dropped with the old context: its waiters, and
        // those queued for the next read, are answered as failed (they retry).
        self.reads = reads::Reads::default();
        self.queued = 0;
        self.verify_slots = Arc::new(Semaphore::new(self.limits.concurrent_verifications));
    }
}
