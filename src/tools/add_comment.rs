//! `add_comment`: a plain-text comment on a card.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CallKind, CardWritten, Target, Tool};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{self as c, ADD_COMMENT, CommentWritten};

pub struct AddComment;

/// The card, in brief, and the comment's id.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CommentAdded {
    #[serde(flatten)]
    pub card: CardWritten,
    pub comment_id: Uuid,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub issue: String,
    pub body: String,
    pub idempotency_key: String,
}

impl Tool for AddComment {
    const NAME: &'static str = "add_comment";
    const TITLE: &'static str = "Comment on a card";
    const SCOPE: Scope = Scope::IssueComment;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Add a plain-text comment to a card.";
    const TARGET: Target = Target::Card("issue");
    type Input = Input;
    type Output = CommentAdded;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<CommentAdded, ToolError> {
        let issue = call.card(&a.issue).await?;
        let body = c::AddComment { actor: call.actor(), body: a.body };
        let written = call.write(write(issue.project_id, issue.id, body)).await?;
        Ok(CommentAdded { card: CardWritten::of(&written.issue, call), comment_id: written.comment.id })
    }

    fn render(c: &CommentAdded) -> String {
        c.card.render(&format!("Comment {} added", c.comment_id))
    }
}

/// The write as the TaskerWriter runs it: comment, then find the comment on the card.
pub fn write(project: Uuid, issue: Uuid, body: c::AddComment) -> Job<CommentWritten> {
    Job::on_card(project, issue, move |w| async move {
        let written = w.write(&ADD_COMMENT, &[&issue.to_string()], &body).await?;
        let fresh = w.card(written.issue.id).await?;
        if !fresh.recent_comments.iter().any(|x| x.id == written.comment.id) {
            return Err(WriteError::NotApplied("the comment is not on the card after the write".into()));
        }
        Ok(written)
    })
}
