//! Agent tokens: issued once, stored as an argon2id hash, revoked at will.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::agents::find_within;
use super::audit::{self, Subject};
use super::owners::require_access;
use super::{Ctx, Entity, Refusal, ServiceError, Services, Within, clean_name};
use crate::actors::token_sessions::InvalidateToken;
use crate::auth::AgentToken;
use crate::auth::hash::hash_secret;
use crate::model::{AgentStatus, TokenInfo};
use crate::storage;

/// A freshly issued token: the only moment its full value exists outside the caller.
pub struct IssuedToken {
    pub info: TokenInfo,
    pub token: AgentToken,
}

fn check_issuable(
    conn: &mut storage::DbConn,
    within: Within,
    agent_id: Uuid,
) -> Result<crate::model::Agent, ServiceError> {
    let agent = find_within(conn, within, agent_id)?;
    if agent.status != AgentStatus::Active {
        return Err(ServiceError::Refused {
            code: Refusal::AgentRevoked,
            message: format!("agent {agent_id} has been revoked; tokens cannot be issued for it"),
        });
    }
    require_access(conn, agent.owner_user_id)?;
    Ok(agent)
}

impl Services<'_> {
    pub async fn issue_token(
        &self,
        ctx: &Ctx,
        within: Within,
        agent_id: Uuid,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedToken, ServiceError> {
        let change = async {
            let label = clean_name("label", label, 1, 80)?;
            if let Some(e) = expires_at
                && e <= Utc::now()
            {
                return Err(ServiceError::refused(Refusal::InvalidExpiry, "`expires_at` must be in the future"));
            }
            // Check before spending ~18 ms of CPU on the hash; checked again when storing.
            self.db.run(move |c| check_issuable(c, within, agent_id)).await?;
            let token = AgentToken::generate();
            let hash = hash_secret(token.secret().to_string()).await?;
            let ctx2 = ctx.clone();
            let token_id = token.id();
            let info = self
                .db
                .write(move |conn| {
                    let agent = check_issuable(conn, within, agent_id)?;
                    let info = TokenInfo {
                        id: token_id,
                        agent_id,
                        label,
                        created_at: storage::now().and_utc(),
                        expires_at,
                        last_used_at: None,
                        revoked_at: None,
                    };
                    storage::tokens::insert(conn, &info, &hash)?;
                    let subject =
                        Subject { token_id: Some(token_id), ..Subject::agent(Some(agent.owner_user_id), agent_id) };
                    audit::allowed(conn, &ctx2, "token.issue", subject)?;
                    Ok::<_, ServiceError>(info)
                })
                .await?;
            Ok(IssuedToken { info, token })
        };
        audit::audited(self.db, ctx, "token.issue", subject(within, agent_id, None), change).await
    }

    pub async fn list_tokens(&self, within: Within, agent_id: Uuid) -> Result<Vec<TokenInfo>, ServiceError> {
        self.db
            .run(move |c| {
                find_within(c, within, agent_id)?;
                Ok(storage::tokens::list_for_agent(c, agent_id)?)
            })
            .await
    }

    /// Revokes a token of `agent_id` (or, with `agent_id` None, of whichever agent
    /// owns it: operator CLI). Revoking a revoked token answers the same.
    pub async fn revoke_token(
        &self,
        ctx: &Ctx,
        within: Within,
        agent_id: Option<Uuid>,
        token_id: Uuid,
    ) -> Result<TokenInfo, ServiceError> {
        let change = async {
            let ctx2 = ctx.clone();
            let info = self
                .db
                .write(move |conn| {
                    let info = storage::tokens::find(conn, token_id)?
                        .filter(|t| agent_id.is_none_or(|a| a == t.agent_id))
                        .ok_or(ServiceError::NotFound(Entity::Token))?;
                    // The owner check goes through the agent, so another owner's token
                    // is "not found" too.
                    let agent = find_within(conn, within, info.agent_id).map_err(|e| match e {
                        ServiceError::NotFound(_) => ServiceError::NotFound(Entity::Token),
                        other => other,
                    })?;
                    let now = storage::now();
                    storage::tokens::revoke(conn, token_id, now)?;
                    storage::mcp_sessions::close_for_token(conn, token_id, now)?;
                    let subject =
                        Subject { token_id: Some(token_id), ..Subject::agent(Some(agent.owner_user_id), agent.id) };
                    audit::allowed(conn, &ctx2, "token.revoke", subject)?;
                    storage::tokens::find(conn, token_id)?.ok_or(ServiceError::NotFound(Entity::Token))
                })
                .await?;
            if let Some(sessions) = self.sessions {
                let _ = sessions.send(InvalidateToken(token_id)).await;
            }
            Ok(info)
        };
        let mut s = subject(within, agent_id.unwrap_or_default(), Some(token_id));
        if agent_id.is_none() {
            s.agent_id = None;
        }
        audit::audited(self.db, ctx, "token.revoke", s, change).await
    }
}

fn subject(within: Within, agent_id: Uuid, token_id: Option<Uuid>) -> Subject {
    let owner = match within {
        Within::Owner(o) => Some(o),
        Within::AnyOwner => None,
    };
    Subject { token_id, ..Subject::agent(owner, agent_id) }
}
