use diesel::prelude::*;
use uuid::Uuid;

use super::schema::agent_grants;
use super::{DbConn, StorageError, stored_uuid};
use crate::model::scope::{from_stored, to_stored};
use crate::model::{Grant, ProjectIdentifier};

pub fn list_for_agent(conn: &mut DbConn, agent_id: Uuid) -> Result<Vec<Grant>, StorageError> {
    let rows: Vec<(String, String, String)> = agent_grants::table
        .filter(agent_grants::agent_id.eq(agent_id.to_string()))
        .order(agent_grants::project_identifier.asc())
        .select((agent_grants::project_id, agent_grants::project_identifier, agent_grants::scopes))
        .load(conn)?;
    rows.into_iter()
        .map(|(project_id, ident, scopes)| {
            Ok(Grant {
                project_id: stored_uuid(&project_id)?,
                project_identifier: ProjectIdentifier::parse(&ident).map_err(StorageError::corrupt)?,
                scopes: from_stored(&scopes).map_err(StorageError::corrupt)?,
            })
        })
        .collect()
}

/// Replaces an agent's grants with `grants` (call inside a write transaction).
pub fn replace(
    conn: &mut DbConn,
    agent_id: Uuid,
    grants: &[Grant],
    now: chrono::NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::delete(agent_grants::table.filter(agent_grants::agent_id.eq(agent_id.to_string()))).execute(conn)?;
    for g in grants {
        diesel::insert_into(agent_grants::table)
            .values((
                agent_grants::agent_id.eq(agent_id.to_string()),
                agent_grants::project_id.eq(g.project_id.to_string()),
                agent_grants::project_identifier.eq(g.project_identifier.as_str()),
                agent_grants::scopes.eq(to_stored(&g.scopes)),
                agent_grants::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
