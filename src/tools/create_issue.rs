//! `create_issue`: a new card in a granted project, read back to check it is as asked.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::readback::{blocks_match, has_assignee, has_label, members_for, state_is};
use super::{BlocksWritten, CallKind, Target, Tool};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{self as c, BlockName, Blocks, CREATE_ISSUE, Issue, IssueWritten, Member, Priority};

pub struct CreateIssue;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub project: String,
    pub title: String,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// State name or id.
    #[serde(default)]
    pub state: Option<String>,
    /// Label names or ids.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Member ids, emails or names.
    #[serde(default)]
    pub assignees: Vec<String>,
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    #[serde(default)]
    pub target_date: Option<NaiveDate>,
    /// Parent card key or id, in the same project.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub blocks: Option<Blocks>,
    pub idempotency_key: String,
}

impl Tool for CreateIssue {
    const NAME: &'static str = "create_issue";
    const TITLE: &'static str = "Create a card";
    const SCOPE: Scope = Scope::IssueCreate;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Create a card in a project, optionally with its structured blocks.";
    const TARGET: Target = Target::Project("project");
    type Input = Input;
    type Output = BlocksWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<BlocksWritten, ToolError> {
        let project = call.project(&a.project)?;
        if let Some(parent) = &a.parent {
            super::parent::same_project(call.refs.project.as_deref(), parent)?;
        }
        let body = c::CreateIssue {
            actor: call.actor(),
            title: a.title,
            priority: a.priority,
            state: a.state,
            labels: a.labels,
            assignees: a.assignees,
            start_date: a.start_date,
            target_date: a.target_date,
            parent: a.parent,
            blocks: a.blocks,
        };
        let touched = body.blocks.as_ref().map(present_blocks).unwrap_or_default();
        let out = call.write(write(project, body)).await?;
        call.refs.card = Some(out.issue.key.clone());
        Ok(BlocksWritten::of(&out.issue, touched, call))
    }

    fn render(out: &BlocksWritten) -> String {
        out.render("Done")
    }
}

/// The blocks a new card starts with.
fn present_blocks(b: &Blocks) -> Vec<BlockName> {
    let present = [
        (BlockName::Goal, b.goal.is_some()),
        (BlockName::Plan, b.plan.is_some()),
        (BlockName::Acceptance, b.acceptance.is_some()),
        (BlockName::Log, b.log.is_some()),
        (BlockName::Result, b.result.is_some()),
    ];
    present.into_iter().filter(|(_, here)| *here).map(|(b, _)| b).collect()
}

/// The write as the TaskerWriter runs it: create, then read the card back.
pub fn write(project: Uuid, body: c::CreateIssue) -> Job<IssueWritten> {
    Job::new_card(project, move |w| async move {
        let written = w.write(&CREATE_ISSUE, &[&project.to_string()], &body).await?;
        let fresh = w.card(written.issue.id).await?;
        let members = members_for(&w, fresh.project_id, body.assignees.iter()).await?;
        check(&body, &fresh, &members).map_err(WriteError::NotApplied)?;
        Ok(written)
    })
}

/// Does the card show what was asked?
fn check(b: &c::CreateIssue, issue: &Issue, members: &[Member]) -> Result<(), String> {
    if issue.title.trim() != b.title.trim() {
        return Err("the title is not what was written".into());
    }
    if b.priority.is_some_and(|p| p != issue.priority) {
        return Err("the priority is not what was written".into());
    }
    if let Some(s) = &b.state
        && !state_is(&issue.state, s)
    {
        return Err(format!("the card is in `{}`, not `{s}`", issue.state.name));
    }
    if let Some(l) = b.labels.iter().find(|l| !has_label(&issue.labels, l)) {
        return Err(format!("the label `{l}` is missing"));
    }
    if let Some(a) = b.assignees.iter().find(|a| !has_assignee(&issue.assignees, members, a)) {
        return Err(format!("the assignee `{a}` is missing"));
    }
    if b.start_date.is_some() && b.start_date != issue.start_date {
        return Err("the start date is not what was written".into());
    }
    if b.target_date.is_some() && b.target_date != issue.target_date {
        return Err("the target date is not what was written".into());
    }
    match &b.blocks {
        Some(blocks) => blocks_match(blocks, &issue.blocks),
        None => Ok(()),
    }
}
