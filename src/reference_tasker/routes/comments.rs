//! `POST /issues/{id_or_key}/comments`

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::write::{CardWrite, card_write};
use crate::reference_tasker::TaskerState;
use crate::reference_tasker::error::RefTaskerError;
use crate::reference_tasker::extract::{CardRef, Granted, Write};
use crate::reference_tasker::store::activity::Change;
use crate::reference_tasker::store::{comments, issues};
use crate::tasker::contract::{AddComment, CommentWritten};

/// Longest comment, in characters.
pub const MAX_COMMENT: usize = 10_000;

/// 201 with the comment and the card after it.
pub async fn add(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<AddComment>,
) -> Result<HttpResponse, RefTaskerError> {
    card_write(
        &state.db,
        granted,
        CardRef::from_path(&path)?,
        write,
        |b| &b.actor,
        move |c, CardWrite { mut row, actor, body, idem }| {
            if body.body.trim().is_empty() || body.body.chars().count() > MAX_COMMENT {
                return Err(RefTaskerError::invalid(
                    "body",
                    format!("a comment must be 1 to {MAX_COMMENT} characters, not blank"),
                ));
            }
            let comment = comments::insert(c, &row.id, &body.body, &actor.display(), crate::storage::now())?;
            super::issues::save(c, &mut row, &actor, &[Change::new("comment", None, Some(body.body.clone()))])?;
            let issue = issues::full(c, &row)?;
            idem.finish(c, StatusCode::CREATED, &CommentWritten { comment, issue })
        },
    )
    .await
}
