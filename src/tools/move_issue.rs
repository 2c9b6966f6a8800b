//! `move_issue`: a card to another state, by name or id.

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::readback::state_is;
use super::{CallKind, CardWritten, Target, Tool};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{self as c, IssueWritten, MOVE_ISSUE};

pub struct MoveIssue;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub issue: String,
    /// State name (e.g. In Progress) or id.
    pub state: String,
    pub idempotency_key: String,
}

impl Tool for MoveIssue {
    const NAME: &'static str = "move_issue";
    const TITLE: &'static str = "Move a card";
    const SCOPE: Scope = Scope::IssueMove;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Move a card to another state (name or id).";
    const TARGET: Target = Target::Card("issue");
    type Input = Input;
    type Output = CardWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<CardWritten, ToolError> {
        let issue = call.card(&a.issue).await?;
        let body = c::MoveIssue { actor: call.actor(), state: a.state };
        let written = call.write(write(issue.project_id, issue.id, body)).await?;
        Ok(CardWritten::of(&written.issue, call))
    }

    fn render(out: &CardWritten) -> String {
        out.render("Done")
    }
}

/// The write as the TaskerWriter runs it: move, then read the card back.
pub fn write(project: Uuid, issue: Uuid, body: c::MoveIssue) -> Job<IssueWritten> {
    Job::on_card(project, issue, move |w| async move {
        let written = w.write(&MOVE_ISSUE, &[&issue.to_string()], &body).await?;
        let fresh = w.card(written.issue.id).await?;
        if !state_is(&fresh.state, &body.state) {
            let why = format!("the card is still in `{}`, not `{}`", fresh.state.name, body.state);
            return Err(WriteError::NotApplied(why));
        }
        Ok(written)
    })
}
