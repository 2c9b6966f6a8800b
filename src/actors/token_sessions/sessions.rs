//! MCP sessions, owned by TokenSessions because each is bound to the token that opened
//! it: another token presenting the id finds nothing, and a revoked token's sessions
//! end with it. Sessions are stored, so one survives a restart of the actor or process.

use actix::prelude::*;
use uuid::Uuid;

use super::TokenSessions;
use crate::storage::{self, StorageError};

/// Open a session for `token_id`; answers its id.
#[derive(Message)]
#[rtype(result = "Result<Uuid, StorageError>")]
pub struct OpenSession {
    pub token_id: Uuid,
    pub protocol_version: String,
}

/// The negotiated protocol version of an open session bound to `token_id`; `None` if
/// there is no such session (or it belongs to another token).
#[derive(Message)]
#[rtype(result = "Result<Option<String>, StorageError>")]
pub struct ResolveSession {
    pub session_id: Uuid,
    pub token_id: Uuid,
}

/// End a session (HTTP DELETE); `false` if there was no such session for this token.
#[derive(Message)]
#[rtype(result = "Result<bool, StorageError>")]
pub struct CloseSession {
    pub session_id: Uuid,
    pub token_id: Uuid,
}

impl Handler<OpenSession> for TokenSessions {
    type Result = ResponseActFuture<Self, Result<Uuid, StorageError>>;

    fn handle(&mut self, msg: OpenSession, _: &mut Context<Self>) -> Self::Result {
        let id = Uuid::new_v4();
        let (token, version) = (msg.token_id, msg.protocol_version);
        let db = self.db.clone();
        let stored = version.clone();
        Box::pin(
            async move { db.write(move |c| storage::mcp_sessions::insert(c, id, token, &stored, storage::now())).await }
                .into_actor(self)
                .map(move |result, act, _| {
                    result?;
                    act.sessions.insert(id, (token, version));
                    Ok(id)
                }),
        )
    }
}

impl Handler<ResolveSession> for TokenSessions {
    type Result = ResponseActFuture<Self, Result<Option<String>, StorageError>>;

    fn handle(&mut self, msg: ResolveSession, _: &mut Context<Self>) -> Self::Result {
        if let Some((token, version)) = self.sessions.get(&msg.session_id) {
            let found = (*token == msg.token_id).then(|| version.clone());
            return Box::pin(actix::fut::ready(Ok(found)));
        }
        // Not cached (e.g. after a restart): the database knows.
        let db = self.db.clone();
        let id = msg.session_id;
        Box::pin(async move { db.run(move |c| storage::mcp_sessions::find_open(c, id)).await }.into_actor(self).map(
            move |found, act, _| {
                let Some((token, version)) = found? else { return Ok(None) };
                act.sessions.insert(id, (token, version.clone()));
                Ok((token == msg.token_id).then_some(version))
            },
        ))
    }
}

impl Handler<CloseSession> for TokenSessions {
    type Result = ResponseActFuture<Self, Result<bool, StorageError>>;

    fn handle(&mut self, msg: CloseSession, _: &mut Context<Self>) -> Self::Result {
        let db = self.db.clone();
        let (id, token) = (msg.session_id, msg.token_id);
        Box::pin(
            async move {
                db.write(move |c| {
                    match storage::mcp_sessions::find_open(c, id)? {
                        Some((owner, _)) if owner == token => {}
                        _ => return Ok(false),
                    }
                    storage::mcp_sessions::close(c, id, storage::now())?;
                    Ok(true)
                })
                .await
            }
            .into_actor(self)
            .map(move |closed, act, _| {
                if matches!(closed, Ok(true)) {
                    act.sessions.remove(&id);
                }
                closed
            }),
        )
    }
}
