use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::agents;
use super::{DbConn, StorageError, stored_uuid};
use crate::model::{Agent, AgentStatus, utc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = agents)]
struct AgentRow {
    id: String,
    owner_user_id: String,
    name: String,
    description: String,
    status: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    last_seen_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
    read_per_minute: Option<i32>,
    write_per_minute: Option<i32>,
}

impl TryFrom<AgentRow> for Agent {
    type Error = StorageError;
    fn try_from(r: AgentRow) -> Result<Self, StorageError> {
        Ok(Agent {
            id: stored_uuid(&r.id)?,
            owner_user_id: stored_uuid(&r.owner_user_id)?,
            name: r.name,
            description: r.description,
            status: r.status.parse().map_err(StorageError::corrupt)?,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
            last_seen_at: r.last_seen_at.map(utc),
            revoked_at: r.revoked_at.map(utc),
            read_per_minute: r.read_per_minute.map(|n| n.max(0) as u32),
            write_per_minute: r.write_per_minute.map(|n| n.max(0) as u32),
        })
    }
}

pub fn insert(conn: &mut DbConn, a: &Agent) -> Result<(), StorageError> {
    diesel::insert_into(agents::table)
        .values(AgentRow {
            id: a.id.to_string(),
            owner_user_id: a.owner_user_id.to_string(),
            name: a.name.clone(),
            description: a.description.clone(),
            status: a.status.as_str().to_string(),
            created_at: a.created_at.naive_utc(),
            updated_at: a.updated_at.naive_utc(),
            last_seen_at: a.last_seen_at.map(|t| t.naive_utc()),
            revoked_at: a.revoked_at.map(|t| t.naive_utc()),
            read_per_minute: a.read_per_minute.map(per_minute),
            write_per_minute: a.write_per_minute.map(per_minute),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: Uuid) -> Result<Option<Agent>, StorageError> {
    agents::table
        .find(id.to_string())
        .select(AgentRow::as_select())
        .first(conn)
        .optional()?
        .map(Agent::try_from)
        .transpose()
}

/// The agent, only if it belongs to `owner`: the ownership check every owner route makes.
pub fn find_owned(conn: &mut DbConn, owner: Uuid, id: Uuid) -> Result<Option<Agent>, StorageError> {
    Ok(find(conn, id)?.filter(|a| a.owner_user_id == owner))
}

pub fn list(conn: &mut DbConn, owner: Option<Uuid>) -> Result<Vec<Agent>, StorageError> {
    let mut q = agents::table.select(AgentRow::as_select()).into_boxed();
    if let Some(owner) = owner {
        q = q.filter(agents::owner_user_id.eq(owner.to_string()));
    }
    q.order((agents::created_at.asc(), agents::id.asc())).load(conn)?.into_iter().map(Agent::try_from).collect()
}

/// Whether another active agent of the owner has this name, or a name that makes the
/// same Codex server name (`Web bot`, `web-bot` and `WEB BOT` all make `nodedc_web_bot`).
pub fn name_taken(conn: &mut DbConn, owner: Uuid, name: &str, except: Option<Uuid>) -> Result<bool, StorageError> {
    let mut q = agents::table
        .filter(agents::owner_user_id.eq(owner.to_string()))
        .filter(agents::status.eq(AgentStatus::Active.as_str()))
        .select(agents::name)
        .into_boxed();
    if let Some(except) = except {
        q = q.filter(agents::id.ne(except.to_string()));
    }
    let slug = crate::codex::slug(name);
    Ok(q.load::<String>(conn)?
        .iter()
        .any(|other| other == name || (slug.is_some() && crate::codex::slug(other) == slug)))
}

fn per_minute(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The editable part of an agent.
pub struct Profile<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub read_per_minute: Option<u32>,
    pub write_per_minute: Option<u32>,
}

pub fn update_profile(conn: &mut DbConn, id: Uuid, p: Profile<'_>, now: NaiveDateTime) -> Result<(), StorageError> {
    diesel::update(agents::table.find(id.to_string()))
        .set((
            agents::name.eq(p.name),
            agents::description.eq(p.description),
            agents::read_per_minute.eq(p.read_per_minute.map(per_minute)),
            agents::write_per_minute.eq(p.write_per_minute.map(per_minute)),
            agents::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn revoke(conn: &mut DbConn, id: Uuid, now: NaiveDateTime) -> Result<(), StorageError> {
    diesel::update(agents::table.find(id.to_string()))
        .set((agents::status.eq(AgentStatus::Revoked.as_str()), agents::revoked_at.eq(now), agents::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Records when agents were last seen; batched by the TokenSessions actor.
pub fn touch_last_seen(conn: &mut DbConn, seen: &[(Uuid, NaiveDateTime)]) -> Result<(), StorageError> {
    for (id, at) in seen {
        diesel::update(agents::table.find(id.to_string()))
            .filter(agents::last_seen_at.is_null().or(agents::last_seen_at.lt(*at)))
            .set(agents::last_seen_at.eq(*at))
            .execute(conn)?;
    }
    Ok(())
}
