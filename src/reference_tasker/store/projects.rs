//! Projects and what belongs to them: states, labels, members.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::{stored, uuid};
use crate::reference_tasker::schema::{
    tasker_labels as l, tasker_project_members as pm, tasker_projects as p, tasker_states as s, tasker_users as u,
};
use crate::storage::{DbConn, StorageError};
use crate::tasker::contract::{Label, Member, Project, ProjectRole, State, StateGroup};

type ProjectRow = (String, String, String);

fn project((id, identifier, name): ProjectRow) -> Result<Project, StorageError> {
    Ok(Project { id: uuid(&id)?, identifier, name })
}

const PROJECT: (p::id, p::identifier, p::name) = (p::id, p::identifier, p::name);

pub fn find(conn: &mut DbConn, id: Uuid) -> Result<Option<Project>, StorageError> {
    p::table.find(id.to_string()).select(PROJECT).first::<ProjectRow>(conn).optional()?.map(project).transpose()
}

/// By identifier, whatever its case (identifiers are stored upper-case).
pub fn find_by_identifier(conn: &mut DbConn, identifier: &str) -> Result<Option<Project>, StorageError> {
    p::table
        .filter(p::identifier.eq(identifier.trim().to_ascii_uppercase()))
        .select(PROJECT)
        .first::<ProjectRow>(conn)
        .optional()?
        .map(project)
        .transpose()
}

/// The projects among `ids` that exist, by identifier.
pub fn list(conn: &mut DbConn, ids: &[Uuid]) -> Result<Vec<Project>, StorageError> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    p::table
        .filter(p::id.eq_any(ids))
        .select(PROJECT)
        .order(p::identifier.asc())
        .load::<ProjectRow>(conn)?
        .into_iter()
        .map(project)
        .collect()
}

/// The projects `user` is a member of, by identifier.
pub fn of_user(conn: &mut DbConn, user: Uuid) -> Result<Vec<Project>, StorageError> {
    let member_of = pm::table.filter(pm::user_id.eq(user.to_string())).select(pm::project_id);
    p::table
        .filter(p::id.eq_any(member_of))
        .select(PROJECT)
        .order(p::identifier.asc())
        .load::<ProjectRow>(conn)?
        .into_iter()
        .map(project)
        .collect()
}

pub fn all(conn: &mut DbConn) -> Result<Vec<Project>, StorageError> {
    p::table.select(PROJECT).order(p::identifier.asc()).load::<ProjectRow>(conn)?.into_iter().map(project).collect()
}

pub fn any_exists(conn: &mut DbConn) -> Result<bool, StorageError> {
    Ok(p::table.select(p::id).first::<String>(conn).optional()?.is_some())
}

pub fn insert(
    conn: &mut DbConn,
    workspace_id: Uuid,
    project: &Project,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(p::table)
        .values((
            p::id.eq(project.id.to_string()),
            p::workspace_id.eq(workspace_id.to_string()),
            p::identifier.eq(project.identifier.to_ascii_uppercase()),
            p::name.eq(&project.name),
            p::next_sequence.eq(1_i64),
            p::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the project's next card number. The update locks the project row, so
/// concurrent creations on PostgreSQL queue here and never share a number.
pub fn take_sequence(conn: &mut DbConn, project_id: Uuid) -> Result<i64, StorageError> {
    let id = project_id.to_string();
    diesel::update(p::table.find(&id)).set(p::next_sequence.eq(p::next_sequence + 1)).execute(conn)?;
    let next: i64 = p::table.find(&id).select(p::next_sequence).first(conn)?;
    Ok(next - 1)
}

type StateRow = (String, String, String, bool);

/// The project's states, in board order.
pub fn states(conn: &mut DbConn, project_id: Uuid) -> Result<Vec<State>, StorageError> {
    s::table
        .filter(s::project_id.eq(project_id.to_string()))
        .select((s::id, s::name, s::state_group, s::is_default))
        .order((s::position.asc(), s::name.asc()))
        .load::<StateRow>(conn)?
        .into_iter()
        .map(|(id, name, group, is_default)| {
            Ok(State { id: uuid(&id)?, name, group: stored(&group, "state group", StateGroup::parse)?, is_default })
        })
        .collect()
}

pub fn insert_state(
    conn: &mut DbConn,
    project_id: Uuid,
    state: &State,
    position: i32,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(s::table)
        .values((
            s::id.eq(state.id.to_string()),
            s::project_id.eq(project_id.to_string()),
            s::name.eq(&state.name),
            s::state_group.eq(state.group.as_str()),
            s::position.eq(position),
            s::is_default.eq(state.is_default),
            s::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The project's labels, by name.
pub fn labels(conn: &mut DbConn, project_id: Uuid) -> Result<Vec<Label>, StorageError> {
    l::table
        .filter(l::project_id.eq(project_id.to_string()))
        .select((l::id, l::name, l::color))
        .order(l::name.asc())
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, color)| Ok(Label { id: uuid(&id)?, name, color }))
        .collect()
}

pub fn insert_label(
    conn: &mut DbConn,
    project_id: Uuid,
    label: &Label,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(l::table)
        .values((
            l::id.eq(label.id.to_string()),
            l::project_id.eq(project_id.to_string()),
            l::name.eq(&label.name),
            l::color.eq(&label.color),
            l::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The project's members, by display name.
pub fn members(conn: &mut DbConn, project_id: Uuid) -> Result<Vec<Member>, StorageError> {
    pm::table
        .inner_join(u::table)
        .filter(pm::project_id.eq(project_id.to_string()))
        .select((u::id, u::display_name, u::email, pm::role))
        .order((u::display_name.asc(), u::email.asc()))
        .load::<(String, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, display_name, email, role)| {
            Ok(Member {
                user_id: uuid(&id)?,
                display_name,
                email,
                role: stored(&role, "project role", ProjectRole::parse)?,
            })
        })
        .collect()
}

pub fn insert_member(
    conn: &mut DbConn,
    project_id: Uuid,
    user_id: Uuid,
    role: ProjectRole,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(pm::table)
        .values((
            pm::project_id.eq(project_id.to_string()),
            pm::user_id.eq(user_id.to_string()),
            pm::role.eq(role.as_str()),
            pm::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The workspace's name (the board's heading), if the workspace exists.
pub fn workspace_name(conn: &mut DbConn) -> Result<Option<String>, StorageError> {
    use crate::reference_tasker::schema::tasker_workspace as w;
    Ok(w::table.select(w::name).order(w::created_at.asc()).first(conn).optional()?)
}

pub fn insert_workspace(
    conn: &mut DbConn,
    id: Uuid,
    slug: &str,
    name: &str,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    use crate::reference_tasker::schema::tasker_workspace as w;
    diesel::insert_into(w::table)
        .values((w::id.eq(id.to_string()), w::slug.eq(slug), w::name.eq(name), w::created_at.eq(now)))
        .execute(conn)?;
    Ok(())
}
