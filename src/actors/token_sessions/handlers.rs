//! Messages TokenSessions answers.

use std::net::IpAddr;
use std::time::Instant;

use actix::fut::LocalBoxActorFuture;
use actix::prelude::*;
use chrono::Utc;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{AuthError, Principal, TokenSessions, Verified};
use crate::auth::AgentToken;
use crate::auth::hash::verify_secret;
use crate::model::owner::access_denial;
use crate::model::{AgentStatus, Grant};
use crate::storage::tokens::TokenAuthRecord;
use crate::storage::{self, Db, StorageError};

/// Authenticate an agent token presented by `client`, and look up the MCP session the
/// request names (in the same read).
#[derive(Message)]
#[rtype(result = "Result<Authenticated, AuthError>")]
pub struct Authenticate {
    pub token: AgentToken,
    pub client: Option<IpAddr>,
    pub session: Option<Uuid>,
}

/// An authenticated caller, and the protocol version of the session it named if that
/// session is open and bound to this token (`None` otherwise, or if it named none).
#[derive(Debug)]
pub struct Authenticated {
    pub principal: Principal,
    pub session: Option<String>,
}

/// Drop a token from the cache (it was revoked).
#[derive(Message)]
#[rtype(result = "()")]
pub struct InvalidateToken(pub Uuid);

/// Drop every token of an agent (the agent was revoked).
#[derive(Message)]
#[rtype(result = "()")]
pub struct InvalidateAgent(pub Uuid);

/// Drop every token of an owner (blocked, annulled, or lost `codex_agents`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct InvalidateOwner(pub Uuid);

/// Write pending last-used times now (at shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Flush;

/// Counters, for tests and diagnostics.
#[derive(Message)]
#[rtype(result = "StatsReply")]
pub struct Stats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatsReply {
    /// argon2 verifications run since start.
    pub verifications: u64,
    /// Tokens currently cached as verified.
    pub cached_tokens: usize,
}

/// Why a stored token may not be used now, if it may not. Decided on the state read for
/// this request, never on a cached copy.
fn liveness_error(r: &TokenAuthRecord, now: chrono::DateTime<Utc>) -> Option<AuthError> {
    // Most general cause first: a revoked agent's tokens are revoked too, and the
    // useful answer is that the agent is gone.
    if r.agent_status != AgentStatus::Active {
        return Some(AuthError::AgentRevoked);
    }
    if let Some(denial) = access_denial(Some(r.standing)) {
        return Some(AuthError::OwnerDenied(denial));
    }
    if r.revoked {
        return Some(AuthError::TokenRevoked);
    }
    if r.expires_at.is_some_and(|e| e <= now) {
        return Some(AuthError::TokenExpired);
    }
    None
}

pub(super) async fn write_usage(db: &Db, usage: super::PendingUsage) -> Result<(), StorageError> {
    db.write(move |conn| {
        storage::tokens::touch_last_used(conn, &usage.tokens)?;
        storage::agents::touch_last_seen(conn, &usage.agents)?;
        storage::mcp_sessions::touch(conn, &usage.sessions)
    })
    .await
}

impl TokenSessions {
    /// A session used by an authenticated request: its last use is written with the
    /// next batch (it keeps the session from expiring).
    fn note_session(&mut self, id: Option<Uuid>, version: &Option<String>) {
        if let (Some(id), Some(_)) = (id, version) {
            self.session_seen.insert(id, storage::now());
        }
    }

    fn principal(&mut self, r: TokenAuthRecord, grants: Vec<Grant>) -> Principal {
        let now = storage::now();
        self.last_used.insert(r.token_id, now);
        self.last_seen.insert(r.agent_id, now);
        Principal {
            token_id: r.token_id,
            agent_id: r.agent_id,
            agent_name: r.agent_name,
            owner_user_id: r.owner_user_id,
            client_id: r.client_id,
            reporting_mode: r.reporting_mode,
            grants,
            read_per_minute: r.read_per_minute,
            write_per_minute: r.write_per_minute,
        }
    }

    /// Seconds to wait, if this address or token id has used up its failures.
    fn blocked(&self, token_id: Uuid, client: Option<IpAddr>) -> Option<u64> {
        let now = Instant::now();
        client
            .and_then(|ip| self.by_address.blocked_for(&ip, now))
            .or_else(|| self.by_token.blocked_for(&token_id, now))
    }

    fn record_failure(&mut self, token_id: Uuid, client: Option<IpAddr>) {
        self.by_token.record(token_id, Instant::now());
        self.record_address_failure(client);
    }

    fn record_address_failure(&mut self, client: Option<IpAddr>) {
        if let Some(ip) = client {
            self.by_address.record(ip, Instant::now());
        }
    }

    fn is_verified(&self, token_id: Uuid, digest: &[u8; 32]) -> bool {
        self.verified.get(&token_id).is_some_and(|v| bool::from(v.digest.ct_eq(digest)))
    }

    /// Runs argon2 for this token and secret, or joins a run already under way. A
    /// successful run is cached the moment it completes, before any waiter resumes, so
    /// a request arriving in between finds it and runs nothing.
    fn verify(
        &mut self,
        token: &AgentToken,
        record: &TokenAuthRecord,
        ctx: &mut Context<Self>,
    ) -> LocalBoxActorFuture<Self, Result<bool, AuthError>> {
        let key = (token.id(), token.secret_digest());
        let (tx, rx) = oneshot::channel();
        if let Some(waiters) = self.in_flight.get_mut(&key) {
            waiters.push(tx);
        } else {
            self.in_flight.insert(key, vec![tx]);
            self.queued += 1;
            self.verifications += 1;
            let slots = self.verify_slots.clone();
            let secret = token.secret().to_string();
            let phc = record.secret_hash.clone();
            let entry = Verified {
                digest: key.1,
                agent_id: record.agent_id,
                owner_user_id: record.owner_user_id,
                expires_at: record.expires_at,
            };
            ctx.spawn(
                async move {
                    let _permit = slots.acquire_owned().await;
                    verify_secret(secret, phc).await.map_err(|e| e.to_string())
                }
                .into_actor(self)
                .map(move |result, act, _| {
                    act.queued = act.queued.saturating_sub(1);
                    if let Ok(true) = result {
                        act.by_token.clear(&key.0);
                        act.verified.insert(key.0, entry);
                    }
                    for waiter in act.in_flight.remove(&key).unwrap_or_default() {
                        let _ = waiter.send(result.clone());
                    }
                }),
            );
        }
        async move {
            match rx.await {
                Ok(Ok(ok)) => Ok(ok),
                Ok(Err(e)) => Err(AuthError::Internal(e)),
                Err(_) => Err(AuthError::Internal("verification was cancelled".into())),
            }
        }
        .into_actor(self)
        .boxed_local()
    }
}

impl Handler<Authenticate> for TokenSessions {
    type Result = ResponseActFuture<Self, Result<Authenticated, AuthError>>;

    fn handle(&mut self, msg: Authenticate, ctx: &mut Context<Self>) -> Self::Result {
        let Authenticate { token, client, session } = msg;
        let token_id = token.id();
        let digest = token.secret_digest();
        let known_good = self.is_verified(token_id, &digest);

        // Limits apply only where argon2 would run: a verified token is never held up
        // by someone else's failures from the same address.
        if !known_good && let Some(retry_after_secs) = self.blocked(token_id, client) {
            return Box::pin(actix::fut::ready(Err(AuthError::TooManyFailures { retry_after_secs })));
        }

        let session_id = session;
        let read = self.read_state(token_id, session, ctx);
        let read =
            async move { read.await.unwrap_or_else(|_| Err(StorageError::Interact("the read was dropped".into()))) };
        Box::pin(read.into_actor(self).then(move |read, act, ctx| {
            let (found, session) = match read {
                Err(e) => return actix::fut::ready(Err(e.into())).boxed_local(),
                Ok(r) => (r.token, r.session.filter(|(owner, _)| *owner == token_id).map(|(_, version)| version)),
            };
            let (record, grants) = match found {
                None => {
                    // Unknown ids count against the address only: they never reach argon2,
                    // and tracking each would let a flood of ids grow memory.
                    act.record_address_failure(client);
                    return actix::fut::ready(Err(AuthError::InvalidToken)).boxed_local();
                }
                Some(found) => found,
            };
            if let Some(refusal) = liveness_error(&record, Utc::now()) {
                let proven = known_good || act.refused.get(&token_id).is_some_and(|d| bool::from(d.ct_eq(&digest)));
                act.invalidate(|id, _| *id == token_id);
                if proven {
                    return actix::fut::ready(Err(refusal)).boxed_local();
                }
                let answer = match act.blocked(token_id, client) {
                    Some(retry_after_secs) => AuthError::TooManyFailures { retry_after_secs },
                    None => {
                        act.record_failure(token_id, client);
                        AuthError::InvalidToken
                    }
                };
                return actix::fut::ready(Err(answer)).boxed_local();
            }
            // Checked again: a verification may have completed while we read.
            if known_good || act.is_verified(token_id, &digest) {
                let principal = act.principal(record, grants);
                act.note_session(session_id, &session);
                return actix::fut::ready(Ok(Authenticated { principal, session })).boxed_local();
            }
            // Checked again and charged up front, right where argon2 would start: a
            // burst of concurrent requests cannot all pass the check before the first
            // failure is counted. A success gives the charge back.
            // Joining a run already under way for this very secret costs nothing.
            let joins = act.in_flight.contains_key(&(token_id, digest));
            if !joins && act.queued >= act.limits.queued_verifications {
                // Busy is not a failure: nothing is charged.
                return actix::fut::ready(Err(AuthError::Busy { retry_after_secs: 1 })).boxed_local();
            }
            if !joins {
                if let Some(retry_after_secs) = act.blocked(token_id, client) {
                    return actix::fut::ready(Err(AuthError::TooManyFailures { retry_after_secs })).boxed_local();
                }
                act.record_failure(token_id, client);
            }
            act.verify(&token, &record, ctx)
                .map(move |verified, act, _| match verified {
                    Ok(true) => {
                        if !joins && let Some(ip) = client {
                            act.by_address.refund(&ip);
                        }
                        act.note_session(session_id, &session);
                        Ok(Authenticated { principal: act.principal(record, grants), session })
                    }
                    Ok(false) => Err(AuthError::InvalidToken),
                    Err(e) => Err(e),
                })
                .boxed_local()
        }))
    }
}

impl Handler<InvalidateToken> for TokenSessions {
    type Result = ();
    fn handle(&mut self, msg: InvalidateToken, _: &mut Context<Self>) {
        self.invalidate(|id, _| *id == msg.0);
    }
}

impl Handler<InvalidateAgent> for TokenSessions {
    type Result = ();
    fn handle(&mut self, msg: InvalidateAgent, _: &mut Context<Self>) {
        self.invalidate(|_, v| v.agent_id == msg.0);
    }
}

impl Handler<InvalidateOwner> for TokenSessions {
    type Result = ();
    fn handle(&mut self, msg: InvalidateOwner, _: &mut Context<Self>) {
        self.invalidate(|_, v| v.owner_user_id == msg.0);
    }
}

impl Handler<Flush> for TokenSessions {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, _: Flush, _: &mut Context<Self>) -> Self::Result {
        let usage = self.take_pending_usage();
        let db = self.db.clone();
        Box::pin(async move {
            if let Err(e) = write_usage(&db, usage).await {
                tracing::warn!(error = %e, "could not record token last-used times");
            }
        })
    }
}

impl Handler<Stats> for TokenSessions {
    type Result = MessageResult<Stats>;
    fn handle(&mut self, _: Stats, _: &mut Context<Self>) -> Self::Result {
        let now = Utc::now();
        // Expired entries are dropped on sight; liveness is checked per request anyway.
        self.verified.retain(|_, v| v.expires_at.is_none_or(|e| e > now));
        MessageResult(StatsReply { verifications: self.verifications, cached_tokens: self.verified.len() })
    }
}
