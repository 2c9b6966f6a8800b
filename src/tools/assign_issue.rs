//! `assign_issue`: assignees added to and removed from a card (project members only).

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::readback::{has_assignee, members_for};
use super::{CallKind, CardWritten, Target, Tool};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{CHANGE_ASSIGNEES, ChangeSet, IssueWritten};

pub struct AssignIssue;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub issue: String,
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
    pub idempotency_key: String,
}

impl Tool for AssignIssue {
    const NAME: &'static str = "assign_issue";
    const TITLE: &'static str = "Assign a card";
    const SCOPE: Scope = Scope::IssueAssign;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Add or remove a card's assignees (project members: id, email or name).";
    const TARGET: Target = Target::Card("issue");
    type Input = Input;
    type Output = CardWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<CardWritten, ToolError> {
        if a.add.is_empty() && a.remove.is_empty() {
            return Err(ToolError::invalid("Nothing to change: send `add` and/or `remove`."));
        }
        let issue = call.card(&a.issue).await?;
        let body = ChangeSet { actor: call.actor(), add: a.add, remove: a.remove };
        let written = call.write(write(issue.project_id, issue.id, body)).await?;
        Ok(CardWritten::of(&written.issue, call))
    }

    fn render(out: &CardWritten) -> String {
        out.render("Done")
    }
}

/// The write as the TaskerWriter runs it: change the assignees, then read the card back
/// (with the member list when someone is named by email).
pub fn write(project: Uuid, issue: Uuid, body: ChangeSet) -> Job<IssueWritten> {
    Job::on_card(project, issue, move |w| async move {
        let written = w.write(&CHANGE_ASSIGNEES, &[&issue.to_string()], &body).await?;
        let fresh = w.card(written.issue.id).await?;
        let members = members_for(&w, fresh.project_id, body.add.iter().chain(&body.remove)).await?;
        if let Some(a) = body.add.iter().find(|a| !has_assignee(&fresh.assignees, &members, a)) {
            return Err(WriteError::NotApplied(format!("the assignee `{a}` was not added")));
        }
        if let Some(a) = body.remove.iter().find(|a| has_assignee(&fresh.assignees, &members, a)) {
            return Err(WriteError::NotApplied(format!("the assignee `{a}` was not removed")));
        }
        Ok(written)
    })
}
