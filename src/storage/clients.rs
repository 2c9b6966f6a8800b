//! Clients (enterprise organisations) as projected from Launcher, and their history.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::owners::{Change, ChangeRecord, change_record};
use super::schema::{client_changes, clients};
use super::{DbConn, StorageError, stored_uuid};
use crate::model::{Client, utc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
struct ClientRow {
    id: String,
    display_name: String,
    codex_agents: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<ClientRow> for Client {
    type Error = StorageError;
    fn try_from(r: ClientRow) -> Result<Self, StorageError> {
        Ok(Client {
            id: stored_uuid(&r.id)?,
            display_name: r.display_name,
            codex_agents: r.codex_agents,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
    }
}

pub fn find(conn: &mut DbConn, id: Uuid) -> Result<Option<Client>, StorageError> {
    clients::table
        .find(id.to_string())
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(Client::try_from)
        .transpose()
}

pub fn list(conn: &mut DbConn) -> Result<Vec<Client>, StorageError> {
    clients::table
        .select(ClientRow::as_select())
        .order((clients::display_name.asc(), clients::id.asc()))
        .load(conn)?
        .into_iter()
        .map(Client::try_from)
        .collect()
}

pub fn insert(conn: &mut DbConn, c: &Client) -> Result<(), StorageError> {
    diesel::insert_into(clients::table)
        .values(ClientRow {
            id: c.id.to_string(),
            display_name: c.display_name.clone(),
            codex_agents: c.codex_agents,
            created_at: c.created_at.naive_utc(),
            updated_at: c.updated_at.naive_utc(),
        })
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConn, c: &Client) -> Result<(), StorageError> {
    diesel::update(clients::table.find(c.id.to_string()))
        .set((
            clients::display_name.eq(&c.display_name),
            clients::codex_agents.eq(c.codex_agents),
            clients::updated_at.eq(c.updated_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn record_change(conn: &mut DbConn, client: Uuid, c: Change<'_>) -> Result<(), StorageError> {
    diesel::insert_into(client_changes::table)
        .values((
            client_changes::id.eq(Uuid::new_v4().to_string()),
            client_changes::client_id.eq(client.to_string()),
            client_changes::changed_at.eq(c.changed_at),
            client_changes::request_id.eq(c.request_id),
            client_changes::source.eq(c.source),
            client_changes::changed_by.eq(c.changed_by),
            client_changes::field.eq(c.field),
            client_changes::old_value.eq(c.old_value),
            client_changes::new_value.eq(c.new_value),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn list_changes(conn: &mut DbConn, client: Uuid, limit: i64) -> Result<Vec<ChangeRecord>, StorageError> {
    let rows = client_changes::table
        .filter(client_changes::client_id.eq(client.to_string()))
        .order((client_changes::changed_at.desc(), client_changes::id.desc()))
        .limit(limit)
        .select((
            client_changes::changed_at,
            client_changes::request_id,
            client_changes::source,
            client_changes::changed_by,
            client_changes::field,
            client_changes::old_value,
            client_changes::new_value,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(change_record).collect())
}
