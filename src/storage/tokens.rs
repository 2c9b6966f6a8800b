use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{agent_tokens, agents, clients, owners};
use super::{DbConn, StorageError, stored_uuid};
use crate::model::{AgentStatus, ReportingMode, Standing, TokenInfo, utc};

#[derive(Queryable, Selectable)]
#[diesel(table_name = agent_tokens)]
struct TokenInfoRow {
    id: String,
    agent_id: String,
    label: String,
    created_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    last_used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

impl TryFrom<TokenInfoRow> for TokenInfo {
    type Error = StorageError;
    fn try_from(r: TokenInfoRow) -> Result<Self, StorageError> {
        Ok(TokenInfo {
            id: stored_uuid(&r.id)?,
            agent_id: stored_uuid(&r.agent_id)?,
            label: r.label,
            created_at: utc(r.created_at),
            expires_at: r.expires_at.map(utc),
            last_used_at: r.last_used_at.map(utc),
            revoked_at: r.revoked_at.map(utc),
        })
    }
}

pub fn insert(conn: &mut DbConn, t: &TokenInfo, secret_hash: &str) -> Result<(), StorageError> {
    diesel::insert_into(agent_tokens::table)
        .values((
            agent_tokens::id.eq(t.id.to_string()),
            agent_tokens::agent_id.eq(t.agent_id.to_string()),
            agent_tokens::label.eq(&t.label),
            agent_tokens::secret_hash.eq(secret_hash),
            agent_tokens::created_at.eq(t.created_at.naive_utc()),
            agent_tokens::expires_at.eq(t.expires_at.map(|e| e.naive_utc())),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: Uuid) -> Result<Option<TokenInfo>, StorageError> {
    agent_tokens::table
        .find(id.to_string())
        .select(TokenInfoRow::as_select())
        .first(conn)
        .optional()?
        .map(TokenInfo::try_from)
        .transpose()
}

pub fn list_for_agent(conn: &mut DbConn, agent_id: Uuid) -> Result<Vec<TokenInfo>, StorageError> {
    agent_tokens::table
        .filter(agent_tokens::agent_id.eq(agent_id.to_string()))
        .order((agent_tokens::created_at.asc(), agent_tokens::id.asc()))
        .select(TokenInfoRow::as_select())
        .load(conn)?
        .into_iter()
        .map(TokenInfo::try_from)
        .collect()
}

/// Revokes one token; returns false if it was already revoked.
pub fn revoke(conn: &mut DbConn, id: Uuid, now: NaiveDateTime) -> Result<bool, StorageError> {
    let n = diesel::update(agent_tokens::table.find(id.to_string()))
        .filter(agent_tokens::revoked_at.is_null())
        .set(agent_tokens::revoked_at.eq(now))
        .execute(conn)?;
    Ok(n == 1)
}

/// Revokes every live token of an agent; returns their ids.
pub fn revoke_all_for_agent(conn: &mut DbConn, agent_id: Uuid, now: NaiveDateTime) -> Result<Vec<Uuid>, StorageError> {
    let live: Vec<String> = agent_tokens::table
        .filter(agent_tokens::agent_id.eq(agent_id.to_string()))
        .filter(agent_tokens::revoked_at.is_null())
        .select(agent_tokens::id)
        .load(conn)?;
    diesel::update(agent_tokens::table)
        .filter(agent_tokens::agent_id.eq(agent_id.to_string()))
        .filter(agent_tokens::revoked_at.is_null())
        .set(agent_tokens::revoked_at.eq(now))
        .execute(conn)?;
    live.iter().map(|id| stored_uuid(id)).collect()
}

/// Everything authentication needs about a token, read in one query: the hash to verify
/// and the live state of the token, its agent and its owner.
#[derive(Debug, Clone)]
pub struct TokenAuthRecord {
    pub token_id: Uuid,
    pub secret_hash: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked: bool,
    pub agent_id: Uuid,
    pub agent_name: String,
    pub agent_status: AgentStatus,
    pub owner_user_id: Uuid,
    /// The owner's status and entitlements (its client's included), read now.
    pub standing: Standing,
    pub client_id: Option<Uuid>,
    pub reporting_mode: ReportingMode,
    /// The agent's own rate budgets, if it has them.
    pub read_per_minute: Option<u32>,
    pub write_per_minute: Option<u32>,
}

/// One row of the authentication join, in select order.
#[derive(Queryable)]
struct AuthRow {
    token_id: String,
    secret_hash: String,
    expires_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
    agent_id: String,
    agent_name: String,
    agent_status: String,
    read_per_minute: Option<i32>,
    write_per_minute: Option<i32>,
    owner_user_id: String,
    owner_status: String,
    codex_agents: bool,
    client_id: Option<String>,
    reporting_mode: String,
    client_codex_agents: Option<bool>,
}

/// The authentication state of these tokens, read now in one query: token, agent,
/// owner and the owner's client. Unknown ids are absent.
pub fn auth_records(conn: &mut DbConn, token_ids: &[Uuid]) -> Result<Vec<TokenAuthRecord>, StorageError> {
    let ids: Vec<String> = token_ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<AuthRow> = agent_tokens::table
        .inner_join(agents::table.inner_join(owners::table.left_join(clients::table)))
        .filter(agent_tokens::id.eq_any(ids))
        .select((
            agent_tokens::id,
            agent_tokens::secret_hash,
            agent_tokens::expires_at,
            agent_tokens::revoked_at,
            agents::id,
            agents::name,
            agents::status,
            agents::read_per_minute,
            agents::write_per_minute,
            owners::user_id,
            owners::status,
            owners::codex_agents,
            owners::client_id,
            owners::reporting_mode,
            clients::codex_agents.nullable(),
        ))
        .load(conn)?;
    rows.into_iter().map(AuthRow::record).collect()
}

impl AuthRow {
    fn record(self) -> Result<TokenAuthRecord, StorageError> {
        let r = self;
        Ok(TokenAuthRecord {
            token_id: stored_uuid(&r.token_id)?,
            secret_hash: r.secret_hash,
            expires_at: r.expires_at.map(utc),
            revoked: r.revoked_at.is_some(),
            agent_id: stored_uuid(&r.agent_id)?,
            agent_name: r.agent_name,
            agent_status: r.agent_status.parse().map_err(StorageError::corrupt)?,
            owner_user_id: stored_uuid(&r.owner_user_id)?,
            standing: Standing {
                status: r.owner_status.parse().map_err(StorageError::corrupt)?,
                codex_agents: r.codex_agents,
                // A client that names no row is treated as disabled (fail closed).
                client_codex_agents: r.client_id.as_ref().map(|_| r.client_codex_agents.unwrap_or(false)),
            },
            client_id: r.client_id.as_deref().map(stored_uuid).transpose()?,
            reporting_mode: r.reporting_mode.parse().map_err(StorageError::corrupt)?,
            read_per_minute: r.read_per_minute.map(|n| n.max(0) as u32),
            write_per_minute: r.write_per_minute.map(|n| n.max(0) as u32),
        })
    }
}

/// Records when tokens were last used; batched by the TokenSessions actor.
pub fn touch_last_used(conn: &mut DbConn, used: &[(Uuid, NaiveDateTime)]) -> Result<(), StorageError> {
    for (id, at) in used {
        diesel::update(agent_tokens::table.find(id.to_string()))
            .filter(agent_tokens::last_used_at.is_null().or(agent_tokens::last_used_at.lt(*at)))
            .set(agent_tokens::last_used_at.eq(*at))
            .execute(conn)?;
    }
    Ok(())
}
