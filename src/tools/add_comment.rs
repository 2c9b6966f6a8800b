//! `add_comment`: a plain-text comment on a card.

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::{CallKind, Target, Tool, text};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{self as c, ADD_COMMENT, CommentWritten};

pub struct AddComment;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The card's key (e.g. `WEB-12`) or id.
    pub issue: String,
    /// Plain text.
    pub body: String,
    /// A key you choose for this change.
    pub idempotency_key: String,
}

impl Tool for AddComment {
    const NAME: &'static str = "add_comment";
    const TITLE: &'static str = "Comment on a card";
    const SCOPE: Scope = Scope::IssueComment;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Add a plain-text comment to a card. Requires an idempotency_key.";
    const TARGET: Target = Target::Card("issue");
    type Input = Input;
    type Output = CommentWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<CommentWritten, ToolError> {
        let issue = call.card(&a.issue).await?;
        let body = c::AddComment { actor: call.actor(), body: a.body };
        call.write(write(issue.project_id, issue.id, body)).await
    }

    fn render(c: &CommentWritten) -> String {
        format!("Comment added to {}.\n\n{}", c.issue.key, text::issue(&c.issue))
    }
}

/// The write as the TaskerWriter runs it: comment, then find the comment on the card.
pub fn write(project: Uuid, issue: Uuid, body: c::AddComment) -> Job<CommentWritten> {
    Job::new(project, move |w| async move {
        let written = w.write(&ADD_COMMENT, &[&issue.to_string()], &body).await?;
        let fresh = w.card(written.issue.id).await?;
        if !fresh.recent_comments.iter().any(|x| x.id == written.comment.id) {
            return Err(WriteError::NotApplied("the comment is not on the card after the write".into()));
        }
        Ok(written)
    })
}
