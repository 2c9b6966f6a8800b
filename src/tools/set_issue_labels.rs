//! `set_issue_labels`: labels added to and removed from a card.

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::readback::has_label;
use super::{CallKind, Target, Tool, text};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{CHANGE_LABELS, ChangeSet, IssueWritten};

pub struct SetIssueLabels;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The card's key (e.g. `WEB-12`) or id.
    pub issue: String,
    /// Names or ids to add.
    #[serde(default)]
    pub add: Vec<String>,
    /// Names or ids to remove.
    #[serde(default)]
    pub remove: Vec<String>,
    /// A key you choose for this change.
    pub idempotency_key: String,
}

impl Tool for SetIssueLabels {
    const NAME: &'static str = "set_issue_labels";
    const TITLE: &'static str = "Change a card's labels";
    const SCOPE: Scope = Scope::IssueLabel;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Add and/or remove labels on a card, by name or id. Adding a label it has or removing one it lacks changes nothing. Requires an idempotency_key.";
    const TARGET: Target = Target::Card("issue");
    type Input = Input;
    type Output = IssueWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<IssueWritten, ToolError> {
        if a.add.is_empty() && a.remove.is_empty() {
            return Err(ToolError::invalid("Nothing to change: send `add` and/or `remove`."));
        }
        let issue = call.card(&a.issue).await?;
        let body = ChangeSet { actor: call.actor(), add: a.add, remove: a.remove };
        call.write(write(issue.project_id, issue.id, body)).await
    }

    fn render(out: &IssueWritten) -> String {
        text::written(&out.issue)
    }
}

/// The write as the TaskerWriter runs it: change the labels, then read the card back.
pub fn write(project: Uuid, issue: Uuid, body: ChangeSet) -> Job<IssueWritten> {
    Job::new(project, move |w| async move {
        let written = w.write(&CHANGE_LABELS, &[&issue.to_string()], &body).await?;
        let fresh = w.card(written.issue.id).await?;
        if let Some(l) = body.add.iter().find(|l| !has_label(&fresh.labels, l)) {
            return Err(WriteError::NotApplied(format!("the label `{l}` was not added")));
        }
        if let Some(l) = body.remove.iter().find(|l| has_label(&fresh.labels, l)) {
            return Err(WriteError::NotApplied(format!("the label `{l}` was not removed")));
        }
        Ok(written)
    })
}
