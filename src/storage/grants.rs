use std::collections::HashMap;

use diesel::prelude::*;
use uuid::Uuid;

use super::schema::agent_grants;
use super::{DbConn, StorageError, stored_uuid};
use crate::model::scope::{from_stored, to_stored};
use crate::model::{Grant, ProjectIdentifier};

pub fn list_for_agent(conn: &mut DbConn, agent_id: Uuid) -> Result<Vec<Grant>, StorageError> {
    Ok(list_for_agents(conn, &[agent_id])?.remove(&agent_id).unwrap_or_default())
}

/// The grants of these agents in one query, by agent (an agent without grants is
/// absent), each list ordered by project identifier.
pub fn list_for_agents(conn: &mut DbConn, agent_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Grant>>, StorageError> {
    let ids: Vec<String> = agent_ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<(String, String, String, String)> = agent_grants::table
        .filter(agent_grants::agent_id.eq_any(ids))
        .order((agent_grants::agent_id.asc(), agent_grants::project_identifier.asc()))
        .select((
            agent_grants::agent_id,
            agent_grants::project_id,
            agent_grants::project_identifier,
            agent_grants::scopes,
        ))
        .load(conn)?;
    let mut out: HashMap<Uuid, Vec<Grant>> = HashMap::new();
    for (agent, project_id, ident, scopes) in rows {
        out.entry(stored_uuid(&agent)?).or_default().push(Grant {
            project_id: stored_uuid(&project_id)?,
            project_identifier: ProjectIdentifier::parse(&ident).map_err(StorageError::corrupt)?,
            scopes: from_stored(&scopes).map_err(StorageError::corrupt)?,
        });
    }
    Ok(out)
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
