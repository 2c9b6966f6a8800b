//! `set_issue_labels`: labels added to and removed from a card.

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::readback::has_label;
use super::{CallKind, CardWritten, Target, Tool};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{CHANGE_LABELS, ChangeSet, IssueWritten};

pub struct SetIssueLabels;

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

impl Tool for SetIssueLabels {
    const NAME: &'static str = "set_issue_labels";
    const TITLE: &'static str = "Label a card";
    const SCOPE: Scope = Scope::IssueLabel;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Add or remove a card's labels (names or ids).";
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

/// The write as the TaskerWriter runs it: change the labels, then read the card back.
pub fn write(project: Uuid, issue: Uuid, body: ChangeSet) -> Job<IssueWritten> {
    Job::on_card(project, issue, move |w| async move {
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
