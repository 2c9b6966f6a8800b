use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{owner_changes, owners};
use super::{DbConn, StorageError, stored_uuid};
use crate::model::{Owner, OwnerStatus, utc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = owners)]
struct OwnerRow {
    user_id: String,
    display_name: String,
    status: String,
    codex_agents: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<OwnerRow> for Owner {
    type Error = StorageError;
    fn try_from(r: OwnerRow) -> Result<Self, StorageError> {
        Ok(Owner {
            user_id: stored_uuid(&r.user_id)?,
            display_name: r.display_name,
            status: r.status.parse().map_err(StorageError::corrupt)?,
            codex_agents: r.codex_agents,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
    }
}

pub fn find(conn: &mut DbConn, user_id: Uuid) -> Result<Option<Owner>, StorageError> {
    owners::table
        .find(user_id.to_string())
        .select(OwnerRow::as_select())
        .first(conn)
        .optional()?
        .map(Owner::try_from)
        .transpose()
}

pub fn insert(conn: &mut DbConn, owner: &Owner) -> Result<(), StorageError> {
    diesel::insert_into(owners::table)
        .values(OwnerRow {
            user_id: owner.user_id.to_string(),
            display_name: owner.display_name.clone(),
            status: owner.status.as_str().to_string(),
            codex_agents: owner.codex_agents,
            created_at: owner.created_at.naive_utc(),
            updated_at: owner.updated_at.naive_utc(),
        })
        .execute(conn)?;
    Ok(())
}

pub fn update(
    conn: &mut DbConn,
    user_id: Uuid,
    display_name: &str,
    status: OwnerStatus,
    codex_agents: bool,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::update(owners::table.find(user_id.to_string()))
        .set((
            owners::display_name.eq(display_name),
            owners::status.eq(status.as_str()),
            owners::codex_agents.eq(codex_agents),
            owners::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A change of an owner's status, entitlement or name, kept as history.
pub struct OwnerChange<'a> {
    pub owner_user_id: Uuid,
    pub changed_at: NaiveDateTime,
    pub request_id: &'a str,
    pub source: &'a str,
    pub field: &'a str,
    pub old_value: Option<String>,
    pub new_value: String,
}

pub fn record_change(conn: &mut DbConn, c: OwnerChange<'_>) -> Result<(), StorageError> {
    diesel::insert_into(owner_changes::table)
        .values((
            owner_changes::id.eq(Uuid::new_v4().to_string()),
            owner_changes::owner_user_id.eq(c.owner_user_id.to_string()),
            owner_changes::changed_at.eq(c.changed_at),
            owner_changes::request_id.eq(c.request_id),
            owner_changes::source.eq(c.source),
            owner_changes::field.eq(c.field),
            owner_changes::old_value.eq(c.old_value),
            owner_changes::new_value.eq(c.new_value),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OwnerChangeRecord {
    pub changed_at: chrono::DateTime<chrono::Utc>,
    pub request_id: String,
    pub source: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
}

pub fn list_changes(conn: &mut DbConn, user_id: Uuid, limit: i64) -> Result<Vec<OwnerChangeRecord>, StorageError> {
    let rows: Vec<(NaiveDateTime, String, String, String, Option<String>, String)> = owner_changes::table
        .filter(owner_changes::owner_user_id.eq(user_id.to_string()))
        .order(owner_changes::changed_at.desc())
        .limit(limit)
        .select((
            owner_changes::changed_at,
            owner_changes::request_id,
            owner_changes::source,
            owner_changes::field,
            owner_changes::old_value,
            owner_changes::new_value,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(at, request_id, source, field, old_value, new_value)| OwnerChangeRecord {
            changed_at: utc(at),
            request_id,
            source,
            field,
            old_value,
            new_value,
        })
        .collect())
}

/// Serialises writes that depend on all of one owner's agents (name checks): on
/// PostgreSQL the owner's row is locked until the transaction ends; SQLite write
/// transactions are already serialised (`BEGIN IMMEDIATE`).
pub fn lock(conn: &mut DbConn, user_id: Uuid) -> Result<(), StorageError> {
    if let DbConn::Postgres(pg) = conn {
        owners::table.find(user_id.to_string()).select(owners::user_id).for_update().first::<String>(pg).optional()?;
    }
    Ok(())
}
