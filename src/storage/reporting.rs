//! The reporting queries: agents with their status, work sessions, and call counts.
//! Each list is keyset-paged newest first (see `page`).

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not, sql};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use uuid::Uuid;

use super::page::Cursor;
use super::schema::{activity_hourly as ah, agent_grants, agents, owners, work_sessions as ws};
use super::{DbConn, StorageError, stored_uuid};
use crate::model::{SessionState, WorkSession};

/// An agent as the reporting API lists it (its status is decided in `service`).
#[derive(Debug, Clone)]
pub struct AgentRow {
    pub id: Uuid,
    pub name: String,
    pub owner_user_id: Uuid,
    pub owner_name: String,
    pub client_id: Option<Uuid>,
    pub revoked: bool,
    pub created_at: NaiveDateTime,
    pub last_seen_at: Option<NaiveDateTime>,
    pub last_activity_at: Option<NaiveDateTime>,
    pub last_tool: Option<String>,
    pub last_card: Option<String>,
}

/// The computed status an agent list can be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Connected,
    Idle,
    Stale,
    Offline,
    Revoked,
}

#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    pub owner: Option<Uuid>,
    pub client: Option<Uuid>,
    /// A project id or identifier the agent is granted.
    pub project: Option<String>,
    pub status: Option<StatusFilter>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// The thresholds the statuses use, from "now".
#[derive(Debug, Clone, Copy)]
pub struct StatusClock {
    /// Calls since this time: connected.
    pub connected_since: NaiveDateTime,
    /// No call since this time: offline.
    pub offline_before: NaiveDateTime,
}

type AgentTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
);

pub fn agents(conn: &mut DbConn, f: &AgentFilter, clock: StatusClock) -> Result<Vec<AgentRow>, StorageError> {
    let has_stale =
        exists(ws::table.filter(ws::agent_id.eq(agents::id)).filter(ws::state.eq(SessionState::Stale.as_str())));
    let mut q = agents::table
        .inner_join(owners::table)
        .select((
            agents::id,
            agents::name,
            agents::owner_user_id,
            owners::display_name,
            owners::client_id,
            agents::status,
            agents::created_at,
            agents::last_seen_at,
            agents::last_activity_at,
            agents::last_tool,
            agents::last_card,
        ))
        .into_boxed();
    if let Some(o) = f.owner {
        q = q.filter(agents::owner_user_id.eq(o.to_string()));
    }
    if let Some(c) = f.client {
        q = q.filter(owners::client_id.eq(c.to_string()));
    }
    if let Some(p) = &f.project {
        let granted = agent_grants::table.filter(agent_grants::agent_id.eq(agents::id)).filter(
            agent_grants::project_id.eq(p.clone()).or(agent_grants::project_identifier.eq(p.to_ascii_uppercase())),
        );
        q = q.filter(exists(granted));
    }
    let active = agents::status.eq("active");
    q = match f.status {
        None => q,
        Some(StatusFilter::Revoked) => q.filter(agents::status.eq("revoked")),
        Some(StatusFilter::Stale) => q.filter(active).filter(has_stale),
        Some(StatusFilter::Connected) => {
            q.filter(active).filter(not(has_stale)).filter(agents::last_seen_at.ge(clock.connected_since))
        }
        Some(StatusFilter::Idle) => q
            .filter(active)
            .filter(not(has_stale))
            .filter(agents::last_seen_at.lt(clock.connected_since))
            .filter(agents::last_seen_at.ge(clock.offline_before)),
        Some(StatusFilter::Offline) => q
            .filter(active)
            .filter(not(has_stale))
            .filter(agents::last_seen_at.is_null().or(agents::last_seen_at.lt(clock.offline_before))),
    };
    if let Some(c) = &f.after {
        q = q.filter(agents::created_at.le(c.at).and(agents::created_at.lt(c.at).or(agents::id.lt(c.id.clone()))));
    }
    let rows: Vec<AgentTuple> = q.order((agents::created_at.desc(), agents::id.desc())).limit(f.limit).load(conn)?;
    rows.into_iter()
        .map(|(id, name, owner, owner_name, client, status, created_at, seen, act, tool, card)| {
            Ok(AgentRow {
                id: stored_uuid(&id)?,
                name,
                owner_user_id: stored_uuid(&owner)?,
                owner_name,
                client_id: client.as_deref().map(stored_uuid).transpose()?,
                revoked: status == "revoked",
                created_at,
                last_seen_at: seen,
                last_activity_at: act,
                last_tool: tool,
                last_card: card,
            })
        })
        .collect()
}

/// The open sessions of these agents.
pub fn open_sessions_of(conn: &mut DbConn, agents: &[Uuid]) -> Result<Vec<WorkSession>, StorageError> {
    let ids: Vec<String> = agents.iter().map(Uuid::to_string).collect();
    let mut open = Vec::new();
    // Bounded batches keep the statement within every backend's parameter limit.
    for chunk in ids.chunks(500) {
        open.extend(super::work_sessions::open_of(conn, chunk)?);
    }
    Ok(open)
}

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub owner: Option<Uuid>,
    pub client: Option<Uuid>,
    pub agent: Option<Uuid>,
    pub state: Option<SessionState>,
    /// Started from (inclusive) until (exclusive).
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

pub fn sessions(conn: &mut DbConn, f: &SessionFilter) -> Result<Vec<WorkSession>, StorageError> {
    super::work_sessions::list(conn, f)
}

#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub owner: Option<Uuid>,
    pub client: Option<Uuid>,
    pub agent: Option<Uuid>,
    pub project: Option<String>,
    pub since: NaiveDateTime,
    pub until: NaiveDateTime,
}

/// Calls per (hour, tool, outcome) in the range.
pub fn hourly_counts(
    conn: &mut DbConn,
    f: &ActivityFilter,
) -> Result<Vec<(NaiveDateTime, String, String, i64)>, StorageError> {
    let mut q = ah::table
        .filter(ah::hour_start.ge(f.since))
        .filter(ah::hour_start.lt(f.until))
        .group_by((ah::hour_start, ah::tool, ah::outcome))
        .select((ah::hour_start, ah::tool, ah::outcome, sql::<BigInt>("CAST(SUM(calls) AS BIGINT)")))
        .order((ah::hour_start.asc(), ah::tool.asc(), ah::outcome.asc()))
        .into_boxed();
    if let Some(o) = f.owner {
        q = q.filter(ah::owner_user_id.eq(o.to_string()));
    }
    if let Some(c) = f.client {
        let of_client = owners::table.filter(owners::client_id.eq(c.to_string())).select(owners::user_id);
        q = q.filter(ah::owner_user_id.eq_any(of_client));
    }
    if let Some(a) = f.agent {
        q = q.filter(ah::agent_id.eq(a.to_string()));
    }
    if let Some(p) = &f.project {
        q = q.filter(ah::project_ref.eq(p.to_ascii_uppercase()));
    }
    Ok(q.load(conn)?)
}

/// Where the page that ends with this session continues.
pub fn session_cursor(s: &WorkSession) -> Cursor {
    Cursor { at: s.started_at.naive_utc(), id: s.id.to_string() }
}

/// Where the page that ends with this agent continues.
pub fn agent_cursor(a: &AgentRow) -> Cursor {
    Cursor { at: a.created_at, id: a.id.to_string() }
}
