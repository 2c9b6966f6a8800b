//! Workspace members, and how an agent write's actor is displayed.

use diesel::prelude::*;
use uuid::Uuid;

use super::activity::Who;
use super::{stored, uuid};
use crate::reference_tasker::schema::tasker_users as u;
use crate::storage::{DbConn, StorageError};
use crate::tasker::contract::{Actor, ProjectRole};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
    pub workspace_role: ProjectRole,
}

type Row = (String, String, String, String);

fn user((id, display_name, email, role): Row) -> Result<User, StorageError> {
    Ok(User {
        id: uuid(&id)?,
        display_name,
        email,
        workspace_role: stored(&role, "workspace role", ProjectRole::parse)?,
    })
}

const COLUMNS: (u::id, u::display_name, u::email, u::workspace_role) =
    (u::id, u::display_name, u::email, u::workspace_role);

/// Every workspace member, by display name.
pub fn all(conn: &mut DbConn) -> Result<Vec<User>, StorageError> {
    u::table
        .select(COLUMNS)
        .order((u::display_name.asc(), u::email.asc()))
        .load::<Row>(conn)?
        .into_iter()
        .map(user)
        .collect()
}

pub fn find(conn: &mut DbConn, id: Uuid) -> Result<Option<User>, StorageError> {
    u::table.find(id.to_string()).select(COLUMNS).first::<Row>(conn).optional()?.map(user).transpose()
}

pub fn insert(
    conn: &mut DbConn,
    workspace_id: Uuid,
    user: &User,
    now: chrono::NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(u::table)
        .values((
            u::id.eq(user.id.to_string()),
            u::workspace_id.eq(workspace_id.to_string()),
            u::display_name.eq(&user.display_name),
            u::email.eq(&user.email),
            u::workspace_role.eq(user.workspace_role.as_str()),
            u::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// "agent NAME", on behalf of OWNER: the display name of the workspace member whose id
/// is the actor's owner, or the owner's id when Tasker has no such member.
pub fn actor_who(conn: &mut DbConn, actor: &Actor) -> Result<Who, StorageError> {
    let owner = match find(conn, actor.owner_user_id)? {
        Some(user) => user.display_name,
        None => actor.owner_user_id.to_string(),
    };
    Ok(Who { actor: format!("agent {}", actor.agent_name.trim()), on_behalf_of: Some(owner) })
}
