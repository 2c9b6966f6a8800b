//! Coalesced reads of authentication state. Every request reads its token's state
//! (and its MCP session, if it names one) from the database, never from a cache; but
//! requests arriving while a read is running share the next read: one query for all
//! of them, started after each arrived, so there is still no window in which a
//! revocation made elsewhere goes unseen.

use std::collections::HashMap;

use actix::prelude::*;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::TokenSessions;
use crate::model::Grant;
use crate::storage::tokens::TokenAuthRecord;
use crate::storage::{self, Db, StorageError};

/// What one request gets: its token's state with the agent's grants (`None`: no such
/// token), and the token its MCP session belongs to with the session's version
/// (`None`: it named none, or no open session has that id).
pub(super) struct Read {
    pub token: Option<(TokenAuthRecord, Vec<Grant>)>,
    pub session: Option<(Uuid, String)>,
}

type Waiter = (Uuid, Option<Uuid>, oneshot::Sender<Result<Read, StorageError>>);

/// The requests waiting for the next read, and whether one is running.
#[derive(Default)]
pub(super) struct Reads {
    next: Vec<Waiter>,
    running: bool,
}

/// Everything one batch read found.
struct Found {
    tokens: HashMap<Uuid, TokenAuthRecord>,
    grants: HashMap<Uuid, Vec<Grant>>,
    sessions: HashMap<Uuid, (Uuid, String)>,
}

impl TokenSessions {
    /// Joins the next read (starting it now if none is running) and waits for it.
    pub(super) fn read_state(
        &mut self,
        token_id: Uuid,
        session: Option<Uuid>,
        ctx: &mut Context<Self>,
    ) -> oneshot::Receiver<Result<Read, StorageError>> {
        let (tx, rx) = oneshot::channel();
        self.reads.next.push((token_id, session, tx));
        if !self.reads.running {
            self.start_read(ctx);
        }
        rx
    }

    fn start_read(&mut self, ctx: &mut Context<Self>) {
        let batch = std::mem::take(&mut self.reads.next);
        if batch.is_empty() {
            self.reads.running = false;
            return;
        }
        self.reads.running = true;
        let tokens: Vec<Uuid> = batch.iter().map(|(t, _, _)| *t).collect();
        let sessions: Vec<Uuid> = batch.iter().filter_map(|(_, s, _)| *s).collect();
        let idle_since = storage::now() - self.limits.session_idle;
        ctx.spawn(read(self.db.clone(), tokens, sessions, idle_since).into_actor(self).map(move |found, act, ctx| {
            for (token_id, session, tx) in batch {
                let answer = match &found {
                    Ok(f) => Ok(f.answer(token_id, session)),
                    Err(e) => Err(e.copy_for_waiter()),
                };
                let _ = tx.send(answer);
            }
            // Whoever arrived meanwhile is read now.
            act.start_read(ctx);
        }));
    }
}

impl Found {
    fn answer(&self, token_id: Uuid, session: Option<Uuid>) -> Read {
        let token = self.tokens.get(&token_id).map(|r| {
            let grants = self.grants.get(&r.agent_id).cloned().unwrap_or_default();
            (r.clone(), grants)
        });
        Read { token, session: session.and_then(|s| self.sessions.get(&s).cloned()) }
    }
}

async fn read(
    db: Db,
    mut tokens: Vec<Uuid>,
    mut sessions: Vec<Uuid>,
    idle_since: chrono::NaiveDateTime,
) -> Result<Found, StorageError> {
    tokens.sort_unstable();
    tokens.dedup();
    sessions.sort_unstable();
    sessions.dedup();
    db.run(move |conn| {
        let records = storage::tokens::auth_records(conn, &tokens)?;
        let mut agents: Vec<Uuid> = records.iter().map(|r| r.agent_id).collect();
        agents.sort_unstable();
        agents.dedup();
        let grants = storage::grants::list_for_agents(conn, &agents)?;
        let sessions = storage::mcp_sessions::find_open_many(conn, &sessions, idle_since)?;
        let tokens = records.into_iter().map(|r| (r.token_id, r)).collect();
        Ok(Found { tokens, grants, sessions })
    })
    .await
}
