use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{clients, owner_changes, owners};
use super::{DbConn, StorageError, stored_uuid};
use crate::model::{Owner, ReportingMode, Standing, utc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = owners)]
struct OwnerRow {
    user_id: String,
    display_name: String,
    status: String,
    codex_agents: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    client_id: Option<String>,
    reporting_mode: String,
}

impl TryFrom<OwnerRow> for Owner {
    type Error = StorageError;
    fn try_from(r: OwnerRow) -> Result<Self, StorageError> {
        Ok(Owner {
            user_id: stored_uuid(&r.user_id)?,
            display_name: r.display_name,
            status: r.status.parse().map_err(StorageError::corrupt)?,
            codex_agents: r.codex_agents,
            client_id: r.client_id.as_deref().map(stored_uuid).transpose()?,
            reporting_mode: r.reporting_mode.parse().map_err(StorageError::corrupt)?,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
    }
}

impl From<&Owner> for OwnerRow {
    fn from(o: &Owner) -> Self {
        OwnerRow {
            user_id: o.user_id.to_string(),
            display_name: o.display_name.clone(),
            status: o.status.as_str().to_string(),
            codex_agents: o.codex_agents,
            created_at: o.created_at.naive_utc(),
            updated_at: o.updated_at.naive_utc(),
            client_id: o.client_id.map(|c| c.to_string()),
            reporting_mode: o.reporting_mode.as_str().to_string(),
        }
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

/// The owner and its standing (with its client's entitlement), in one query.
pub fn find_with_standing(conn: &mut DbConn, user_id: Uuid) -> Result<Option<(Owner, Standing)>, StorageError> {
    let row: Option<(OwnerRow, Option<bool>)> = owners::table
        .left_join(clients::table)
        .filter(owners::user_id.eq(user_id.to_string()))
        .select((OwnerRow::as_select(), clients::codex_agents.nullable()))
        .first(conn)
        .optional()?;
    let Some((row, client_codex)) = row else {
        return Ok(None);
    };
    let owner = Owner::try_from(row)?;
    // An owner whose client row is missing is treated as having a disabled client.
    let client_codex = owner.client_id.map(|_| client_codex.unwrap_or(false));
    let standing = owner.standing(client_codex);
    Ok(Some((owner, standing)))
}

pub fn insert(conn: &mut DbConn, owner: &Owner) -> Result<(), StorageError> {
    diesel::insert_into(owners::table).values(OwnerRow::from(owner)).execute(conn)?;
    Ok(())
}

/// Writes every projected field of `owner` (not its creation time).
pub fn update(conn: &mut DbConn, owner: &Owner) -> Result<(), StorageError> {
    diesel::update(owners::table.find(owner.user_id.to_string()))
        .set((
            owners::display_name.eq(&owner.display_name),
            owners::status.eq(owner.status.as_str()),
            owners::codex_agents.eq(owner.codex_agents),
            owners::client_id.eq(owner.client_id.map(|c| c.to_string())),
            owners::reporting_mode.eq(owner.reporting_mode.as_str()),
            owners::updated_at.eq(owner.updated_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The owners of one client.
pub fn of_client(conn: &mut DbConn, client_id: Uuid) -> Result<Vec<Uuid>, StorageError> {
    owners::table
        .filter(owners::client_id.eq(client_id.to_string()))
        .select(owners::user_id)
        .load::<String>(conn)?
        .iter()
        .map(|id| stored_uuid(id))
        .collect()
}

/// Every owner, for listings (admin console), optionally of one client.
pub fn list(conn: &mut DbConn, client_id: Option<Uuid>) -> Result<Vec<Owner>, StorageError> {
    let mut q = owners::table.select(OwnerRow::as_select()).order(owners::display_name.asc()).into_boxed();
    if let Some(c) = client_id {
        q = q.filter(owners::client_id.eq(c.to_string()));
    }
    q.load(conn)?.into_iter().map(Owner::try_from).collect()
}

/// Sets an owner's reporting mode; false if there is no such owner.
pub fn set_reporting_mode(
    conn: &mut DbConn,
    user_id: Uuid,
    mode: ReportingMode,
    now: NaiveDateTime,
) -> Result<bool, StorageError> {
    let n = diesel::update(owners::table.find(user_id.to_string()))
        .set((owners::reporting_mode.eq(mode.as_str()), owners::updated_at.eq(now)))
        .execute(conn)?;
    Ok(n == 1)
}

/// A change of a projected field, kept as history: when, through which request, by
/// whom (`source`: which caller; `changed_by`: the admin it names) and what.
pub struct Change<'a> {
    pub changed_at: NaiveDateTime,
    pub request_id: &'a str,
    pub source: &'a str,
    pub changed_by: Option<&'a str>,
    pub field: &'a str,
    pub old_value: Option<String>,
    pub new_value: String,
}

pub fn record_change(conn: &mut DbConn, owner: Uuid, c: Change<'_>) -> Result<(), StorageError> {
    diesel::insert_into(owner_changes::table)
        .values((
            owner_changes::id.eq(Uuid::new_v4().to_string()),
            owner_changes::owner_user_id.eq(owner.to_string()),
            owner_changes::changed_by.eq(c.changed_by),
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

/// One entry of a change history.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ChangeRecord {
    pub changed_at: chrono::DateTime<chrono::Utc>,
    pub request_id: String,
    pub source: String,
    pub changed_by: Option<String>,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
}

type ChangeRow = (NaiveDateTime, String, String, Option<String>, String, Option<String>, String);

pub(super) fn change_record(
    (at, request_id, source, changed_by, field, old_value, new_value): ChangeRow,
) -> ChangeRecord {
    ChangeRecord { changed_at: utc(at), request_id, source, changed_by, field, old_value, new_value }
}

pub fn list_changes(conn: &mut DbConn, user_id: Uuid, limit: i64) -> Result<Vec<ChangeRecord>, StorageError> {
    let rows: Vec<ChangeRow> = owner_changes::table
        .filter(owner_changes::owner_user_id.eq(user_id.to_string()))
        .order((owner_changes::changed_at.desc(), owner_changes::id.desc()))
        .limit(limit)
        .select((
            owner_changes::changed_at,
            owner_changes::request_id,
            owner_changes::source,
            owner_changes::changed_by,
            owner_changes::field,
            owner_changes::old_value,
            owner_changes::new_value,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(change_record).collect())
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
