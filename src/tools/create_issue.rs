//! `create_issue`: a new card in a granted project, read back to check it is as asked.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::readback::{blocks_match, has_assignee, has_label, members_for, state_is};
use super::{CallKind, Target, Tool, text};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{self as c, Blocks, CREATE_ISSUE, Issue, IssueWritten, Member, Priority};

pub struct CreateIssue;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The project's id or identifier (e.g. `WEB`).
    pub project: String,
    pub title: String,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// State name or id; the project's default state if omitted.
    #[serde(default)]
    pub state: Option<String>,
    /// Label names or ids.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Members to assign: id, email or name.
    #[serde(default)]
    pub assignees: Vec<String>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub target_date: Option<NaiveDate>,
    /// Parent card key or id, in the same project.
    #[serde(default)]
    pub parent: Option<String>,
    /// Structured blocks to start the card with (goal, plan, acceptance, log, result).
    #[serde(default)]
    pub blocks: Option<Blocks>,
    /// A key you choose for this change; repeating it with the same arguments returns
    /// the first result instead of writing twice.
    pub idempotency_key: String,
}

impl Tool for CreateIssue {
    const NAME: &'static str = "create_issue";
    const TITLE: &'static str = "Create a card";
    const SCOPE: Scope = Scope::IssueCreate;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Create a card in a project. Optionally set priority, state, labels, assignees, dates, a parent and structured blocks (goal, plan, acceptance, log, result). Requires an idempotency_key.";
    const TARGET: Target = Target::Project("project");
    type Input = Input;
    type Output = IssueWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<IssueWritten, ToolError> {
        let project = call.project(&a.project)?;
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
        let out = call.write(write(project, body)).await?;
        call.refs.card = Some(out.issue.key.clone());
        Ok(out)
    }

    fn render(out: &IssueWritten) -> String {
        text::written(&out.issue)
    }
}

/// The write as the TaskerWriter runs it: create, then read the card back.
pub fn write(project: Uuid, body: c::CreateIssue) -> Job<IssueWritten> {
    Job::new(project, move |w| async move {
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
