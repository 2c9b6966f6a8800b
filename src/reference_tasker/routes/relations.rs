//! A card's labels and assignees: `POST /issues/{id_or_key}/labels` and
//! `/assignees`. Adding what is there or removing what is not is a no-op.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::issues::save;
use super::write::{CardWrite, card_write};
use crate::reference_tasker::TaskerState;
use crate::reference_tasker::error::RefTaskerError;
use crate::reference_tasker::extract::{CardRef, Granted, Write};
use crate::reference_tasker::resolve;
use crate::reference_tasker::store::activity::Change;
use crate::reference_tasker::store::issues::{self, IssueRow};
use crate::reference_tasker::store::{projects, uuid};
use crate::storage::DbConn;
use crate::tasker::contract::{ChangeSet, IssueWritten};

#[derive(Clone, Copy)]
enum Relation {
    Labels,
    Assignees,
}

impl Relation {
    fn field(self) -> &'static str {
        match self {
            Relation::Labels => "labels",
            Relation::Assignees => "assignees",
        }
    }

    /// Every named value resolved to (id, display), or one error listing the unknown.
    fn resolve(self, c: &mut DbConn, project: Uuid, raws: &[String]) -> Result<Vec<(Uuid, String)>, RefTaskerError> {
        Ok(match self {
            Relation::Labels => resolve::labels(&projects::labels(c, project)?, "labels", raws)?
                .into_iter()
                .map(|l| (l.id, l.name))
                .collect(),
            Relation::Assignees => resolve::members(&projects::members(c, project)?, "assignees", raws)?
                .into_iter()
                .map(|m| (m.user_id, m.display_name))
                .collect(),
        })
    }

    fn current(self, c: &mut DbConn, issue: &str) -> Result<Vec<Uuid>, RefTaskerError> {
        let ids = match self {
            Relation::Labels => issues::label_ids(c, issue)?,
            Relation::Assignees => issues::assignee_ids(c, issue)?,
        };
        Ok(ids.iter().map(|id| uuid(id)).collect::<Result<_, _>>()?)
    }

    fn add(self, c: &mut DbConn, issue: &str, id: Uuid) -> Result<(), RefTaskerError> {
        let now = crate::storage::now();
        match self {
            Relation::Labels => issues::add_label(c, issue, id, now)?,
            Relation::Assignees => issues::add_assignee(c, issue, id, now)?,
        }
        Ok(())
    }

    fn remove(self, c: &mut DbConn, issue: &str, id: Uuid) -> Result<(), RefTaskerError> {
        match self {
            Relation::Labels => issues::remove_label(c, issue, id)?,
            Relation::Assignees => issues::remove_assignee(c, issue, id)?,
        }
        Ok(())
    }

    /// Applies the change set; the history of what actually changed.
    fn apply(self, c: &mut DbConn, row: &IssueRow, set: &ChangeSet) -> Result<Vec<Change>, RefTaskerError> {
        let project = row.project_uuid()?;
        let mut all = set.add.clone();
        all.extend(set.remove.iter().cloned());
        // Resolved together, so one error lists every unknown value.
        let mut add = self.resolve(c, project, &all)?;
        let remove = add.split_off(set.add.len());
        if let Some((_, name)) = add.iter().find(|(id, _)| remove.iter().any(|(r, _)| r == id)) {
            return Err(RefTaskerError::invalid(self.field(), format!("`{name}` is both added and removed")));
        }
        let mut current = self.current(c, &row.id)?;
        let mut history = Vec::new();
        for (id, name) in remove {
            if let Some(pos) = current.iter().position(|c| *c == id) {
                self.remove(c, &row.id, id)?;
                current.remove(pos);
                history.push(Change::new(self.field(), Some(name), None));
            }
        }
        for (id, name) in add {
            if !current.contains(&id) {
                self.add(c, &row.id, id)?;
                current.push(id);
                history.push(Change::new(self.field(), None, Some(name)));
            }
        }
        Ok(history)
    }
}

async fn change(
    relation: Relation,
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<ChangeSet>,
) -> Result<HttpResponse, RefTaskerError> {
    card_write(
        &state.db,
        granted,
        CardRef::from_path(&path)?,
        write,
        |b| &b.actor,
        move |c, CardWrite { mut row, actor, body, idem }| {
            let history = relation.apply(c, &row, body)?;
            save(c, &mut row, &actor, &history)?;
            let issue = issues::full(c, &row)?;
            idem.finish(c, StatusCode::OK, &IssueWritten { issue })
        },
    )
    .await
}

pub async fn labels(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<ChangeSet>,
) -> Result<HttpResponse, RefTaskerError> {
    change(Relation::Labels, state, granted, path, write).await
}

pub async fn assignees(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<ChangeSet>,
) -> Result<HttpResponse, RefTaskerError> {
    change(Relation::Assignees, state, granted, path, write).await
}
