//! Projects: the granted list, resolving an id or identifier, a project's context, and
//! adding a workspace member to a project.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::write::{Idempotency, Outcome, actor_display, transact};
use crate::reference_tasker::TaskerState;
use crate::reference_tasker::error::RefTaskerError;
use crate::reference_tasker::extract::{Granted, Query, Write, project_id};
use crate::reference_tasker::resolve;
use crate::reference_tasker::store::{projects, users};
use crate::tasker::contract::{AddProjectMember, Member, MemberWritten, ProjectContext, ProjectList, ProjectRole};

/// `GET /projects`: the granted projects that exist, by identifier.
pub async fn list(state: web::Data<TaskerState>, granted: Granted) -> Result<HttpResponse, RefTaskerError> {
    let ids: Vec<Uuid> = granted.0.iter().copied().collect();
    let projects = state.db.run(move |c| projects::list(c, &ids).map_err(RefTaskerError::from)).await?;
    Ok(HttpResponse::Ok().json(ProjectList { projects }))
}

/// `GET /users/{user_id}/projects`: the projects the user is a member of (an unknown
/// user has none). The granted header must still be sent; it does not filter this.
pub async fn of_user(
    state: web::Data<TaskerState>,
    _: Granted,
    path: web::Path<String>,
) -> Result<HttpResponse, RefTaskerError> {
    let user = Uuid::parse_str(path.trim())
        .map_err(|_| RefTaskerError::bad_request(format!("`{}` is not a user id (a UUID)", path.trim())))?;
    let projects = state.db.run(move |c| projects::of_user(c, user).map_err(RefTaskerError::from)).await?;
    Ok(HttpResponse::Ok().json(ProjectList { projects }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveQuery {
    #[serde(rename = "ref")]
    reference: String,
}

/// `GET /projects/resolve?ref=ID_OR_IDENTIFIER`
pub async fn resolve(
    state: web::Data<TaskerState>,
    granted: Granted,
    Query(q): Query<ResolveQuery>,
) -> Result<HttpResponse, RefTaskerError> {
    let reference = q.reference.trim().to_string();
    if reference.is_empty() {
        return Err(RefTaskerError::bad_request("`ref` must name a project id or identifier"));
    }
    // An id outside the grant is refused before looking, like every project id.
    let by_id = Uuid::parse_str(&reference).ok();
    if let Some(id) = by_id {
        granted.check(id)?;
    }
    let project = state
        .db
        .run(move |c| match by_id {
            Some(id) => projects::find(c, id).map_err(RefTaskerError::from),
            None => projects::find_by_identifier(c, &reference).map_err(RefTaskerError::from),
        })
        .await?
        .ok_or_else(|| RefTaskerError::not_found(format!("no project `{}`", q.reference.trim())))?;
    granted.check(project.id)?;
    Ok(HttpResponse::Ok().json(project))
}

/// `GET /projects/{project_id}/context`: states, labels and members.
pub async fn context(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
) -> Result<HttpResponse, RefTaskerError> {
    let id = project_id(&path)?;
    granted.check(id)?;
    let context = state
        .db
        .run(move |c| {
            let project =
                projects::find(c, id)?.ok_or_else(|| RefTaskerError::not_found(format!("no project {id}")))?;
            Ok::<_, RefTaskerError>(ProjectContext {
                project,
                states: projects::states(c, id)?,
                labels: projects::labels(c, id)?,
                members: projects::members(c, id)?,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(context))
}

/// `POST /projects/{project_id}/members`: 201 when added, 200 when the user already
/// was a member (`added: false`, the membership unchanged).
pub async fn add_member(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<AddProjectMember>,
) -> Result<HttpResponse, RefTaskerError> {
    let id = project_id(&path)?;
    granted.check(id)?;
    let idem = Idempotency::of(&write, &write.body.actor);
    let body = write.body;
    transact(&state.db, move |c| {
        projects::find(c, id)?.ok_or_else(|| RefTaskerError::not_found(format!("no project {id}")))?;
        if let Some(previous) = idem.previous(c)? {
            return Ok(Outcome::Replayed(previous));
        }
        actor_display(c, &body.actor)?;
        let workspace = users::all(c)?;
        let user = resolve::workspace_user(&workspace, "user", &body.user)?;
        let existing = projects::members(c, id)?.into_iter().find(|m| m.user_id == user.id);
        let (member, added) = match existing {
            Some(member) => (member, false),
            None => {
                let role = body.role.unwrap_or(ProjectRole::Member);
                projects::insert_member(c, id, user.id, role, crate::storage::now())?;
                (Member { user_id: user.id, display_name: user.display_name, email: user.email, role }, true)
            }
        };
        let status = if added { StatusCode::CREATED } else { StatusCode::OK };
        Ok(Outcome::Done(idem.finish(c, status, &MemberWritten { member, added })?))
    })
    .await
}
