//! MCP sessions: each bound to the token that opened it, open until closed, revoked
//! with its token, agent or owner, or idle longer than the configured time.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{agent_tokens, agents, mcp_sessions};
use super::{DbConn, StorageError, stored_uuid};

pub fn insert(
    conn: &mut DbConn,
    id: Uuid,
    token_id: Uuid,
    version: &str,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(mcp_sessions::table)
        .values((
            mcp_sessions::id.eq(id.to_string()),
            mcp_sessions::token_id.eq(token_id.to_string()),
            mcp_sessions::protocol_version.eq(version),
            mcp_sessions::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// An open session: (token id, protocol version). (Idle time is not considered: this
/// is for closing a session.)
pub fn find_open(conn: &mut DbConn, id: Uuid) -> Result<Option<(Uuid, String)>, StorageError> {
    Ok(find_open_many(conn, &[id], chrono::DateTime::UNIX_EPOCH.naive_utc())?.remove(&id))
}

/// Open sessions among these ids used since `idle_since`, in one query:
/// id → (token id, protocol version).
pub fn find_open_many(
    conn: &mut DbConn,
    ids: &[Uuid],
    idle_since: NaiveDateTime,
) -> Result<HashMap<Uuid, (Uuid, String)>, StorageError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<(String, String, String)> = mcp_sessions::table
        .filter(mcp_sessions::id.eq_any(wanted))
        .filter(mcp_sessions::closed_at.is_null())
        .filter(
            mcp_sessions::last_seen_at
                .ge(idle_since)
                .or(mcp_sessions::last_seen_at.is_null().and(mcp_sessions::created_at.ge(idle_since))),
        )
        .select((mcp_sessions::id, mcp_sessions::token_id, mcp_sessions::protocol_version))
        .load(conn)?;
    rows.into_iter().map(|(id, token, version)| Ok((stored_uuid(&id)?, (stored_uuid(&token)?, version)))).collect()
}

pub fn close(conn: &mut DbConn, id: Uuid, now: NaiveDateTime) -> Result<(), StorageError> {
    diesel::update(mcp_sessions::table.find(id.to_string()))
        .filter(mcp_sessions::closed_at.is_null())
        .set(mcp_sessions::closed_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Closes every session of one token (it was revoked).
pub fn close_for_token(conn: &mut DbConn, token_id: Uuid, now: NaiveDateTime) -> Result<(), StorageError> {
    diesel::update(mcp_sessions::table)
        .filter(mcp_sessions::token_id.eq(token_id.to_string()))
        .filter(mcp_sessions::closed_at.is_null())
        .set(mcp_sessions::closed_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Records when sessions were last used (batched by TokenSessions).
pub fn touch(conn: &mut DbConn, seen: &[(Uuid, NaiveDateTime)]) -> Result<(), StorageError> {
    for (id, at) in seen {
        diesel::update(mcp_sessions::table.find(id.to_string()))
            .filter(mcp_sessions::closed_at.is_null())
            .set(mcp_sessions::last_seen_at.eq(*at))
            .execute(conn)?;
    }
    Ok(())
}

/// Closes every session of an owner's agents (the owner was blocked, annulled or lost
/// `codex_agents`), as a token revoke closes that token's.
pub fn close_for_owner(conn: &mut DbConn, owner_id: Uuid, now: NaiveDateTime) -> Result<usize, StorageError> {
    let agents = agents::table.filter(agents::owner_user_id.eq(owner_id.to_string())).select(agents::id);
    let tokens = agent_tokens::table.filter(agent_tokens::agent_id.eq_any(agents)).select(agent_tokens::id);
    Ok(diesel::update(mcp_sessions::table)
        .filter(mcp_sessions::token_id.eq_any(tokens))
        .filter(mcp_sessions::closed_at.is_null())
        .set(mcp_sessions::closed_at.eq(now))
        .execute(conn)?)
}

/// Deletes sessions closed before `closed_before` or idle since before `idle_before`.
pub fn purge(
    conn: &mut DbConn,
    closed_before: NaiveDateTime,
    idle_before: NaiveDateTime,
) -> Result<usize, StorageError> {
    let idle = mcp_sessions::closed_at.is_null().and(
        mcp_sessions::last_seen_at
            .lt(idle_before)
            .or(mcp_sessions::last_seen_at.is_null().and(mcp_sessions::created_at.lt(idle_before))),
    );
    Ok(diesel::delete(mcp_sessions::table.filter(mcp_sessions::closed_at.lt(closed_before).or(idle))).execute(conn)?)
}

/// Closes every session of an agent's tokens (the agent was revoked).
pub fn close_for_agent(conn: &mut DbConn, agent_id: Uuid, now: NaiveDateTime) -> Result<(), StorageError> {
    let tokens = agent_tokens::table.filter(agent_tokens::agent_id.eq(agent_id.to_string())).select(agent_tokens::id);
    diesel::update(mcp_sessions::table)
        .filter(mcp_sessions::token_id.eq_any(tokens))
        .filter(mcp_sessions::closed_at.is_null())
        .set(mcp_sessions::closed_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Keeps a token's newest `keep` open sessions and closes the rest.
pub fn close_oldest_beyond(
    conn: &mut DbConn,
    token_id: Uuid,
    keep: i64,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    let newest: Vec<String> = mcp_sessions::table
        .filter(mcp_sessions::token_id.eq(token_id.to_string()))
        .filter(mcp_sessions::closed_at.is_null())
        .order((mcp_sessions::created_at.desc(), mcp_sessions::id.desc()))
        .limit(keep)
        .select(mcp_sessions::id)
        .load(conn)?;
    diesel::update(mcp_sessions::table)
        .filter(mcp_sessions::token_id.eq(token_id.to_string()))
        .filter(mcp_sessions::closed_at.is_null())
        .filter(mcp_sessions::id.ne_all(newest))
        .set(mcp_sessions::closed_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// How many sessions are open (for the metrics).
pub fn count_open(conn: &mut DbConn) -> Result<i64, StorageError> {
    Ok(mcp_sessions::table.filter(mcp_sessions::closed_at.is_null()).count().get_result(conn)?)
}
