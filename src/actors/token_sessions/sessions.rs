//! MCP sessions, owned by TokenSessions because each is bound to the token that opened
//! it: another token presenting the id finds nothing, and a revoked token's sessions
//! end with it. Sessions live in the database, read on every request, so a session
//! closed by one replica is closed for all, and one survives a restart.

use actix::prelude::*;
use uuid::Uuid;

use super::TokenSessions;
use crate::storage::{self, StorageError};

/// Open sessions one token may hold; opening another closes the oldest.
pub const MAX_SESSIONS_PER_TOKEN: i64 = 50;

/// Open a session for `token_id`; answers its id.
#[derive(Message)]
#[rtype(result = "Result<Uuid, StorageError>")]
pub struct OpenSession {
    pub token_id: Uuid,
    pub protocol_version: String,
}

/// End a session (HTTP DELETE); `false` if there was no such session for this token.
#[derive(Message)]
#[rtype(result = "Result<bool, StorageError>")]
pub struct CloseSession {
    pub session_id: Uuid,
    pub token_id: Uuid,
}

impl Handler<OpenSession> for TokenSessions {
    type Result = ResponseFuture<Result<Uuid, StorageError>>;

    fn handle(&mut self, msg: OpenSession, _: &mut Context<Self>) -> Self::Result {
        let db = self.db.clone();
        Box::pin(async move {
            let id = Uuid::new_v4();
            db.write(move |c| {
                let now = storage::now();
                storage::mcp_sessions::insert(c, id, msg.token_id, &msg.protocol_version, now)?;
                storage::mcp_sessions::close_oldest_beyond(c, msg.token_id, MAX_SESSIONS_PER_TOKEN, now)?;
                Ok(id)
            })
            .await
        })
    }
}

impl Handler<CloseSession> for TokenSessions {
    type Result = ResponseFuture<Result<bool, StorageError>>;

    fn handle(&mut self, msg: CloseSession, _: &mut Context<Self>) -> Self::Result {
        let db = self.db.clone();
        Box::pin(async move {
            db.write(move |c| {
                match storage::mcp_sessions::find_open(c, msg.session_id)? {
                    Some((owner, _)) if owner == msg.token_id => {}
                    _ => return Ok(false),
                }
                storage::mcp_sessions::close(c, msg.session_id, storage::now())?;
                Ok(true)
            })
            .await
        })
    }
}
