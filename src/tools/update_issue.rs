//! `update_issue`: a card's title, priority, dates or parent; only what is sent changes.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::readback::date_field;
use super::{CallKind, CardWritten, Target, Tool};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::{Scope, double_option};
use crate::tasker::contract::{self as c, Issue, IssueWritten, Priority, UPDATE_ISSUE};

pub struct UpdateIssue;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub issue: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// YYYY-MM-DD; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(schema_with = "super::nullable_date")]
    pub start_date: Option<Option<NaiveDate>>,
    /// YYYY-MM-DD; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(schema_with = "super::nullable_date")]
    pub target_date: Option<Option<NaiveDate>>,
    /// Parent card key or id; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(schema_with = "super::nullable_string")]
    pub parent: Option<Option<String>>,
    pub idempotency_key: String,
}

impl Tool for UpdateIssue {
    const NAME: &'static str = "update_issue";
    const TITLE: &'static str = "Update a card";
    const SCOPE: Scope = Scope::IssueUpdate;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str =
        "Change a card's title, priority, dates or parent (state: move_issue; description: update_structured_blocks).";
    const TARGET: Target = Target::Card("issue");
    const ELSEWHERE: &'static [(&'static str, &'static str)] = &[
        ("state", "move_issue (it checks the project's workflow)"),
        ("labels", "set_issue_labels"),
        ("assignees", "assign_issue"),
        ("description", "update_structured_blocks"),
        ("blocks", "update_structured_blocks"),
    ];
    type Input = Input;
    type Output = CardWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<CardWritten, ToolError> {
        let mut changes = Map::new();
        if let Some(t) = a.title {
            changes.insert("title".into(), json!(t));
        }
        if let Some(p) = a.priority {
            changes.insert("priority".into(), json!(p));
        }
        if let Some(d) = a.start_date {
            changes.insert("start_date".into(), json!(d));
        }
        if let Some(d) = a.target_date {
            changes.insert("target_date".into(), json!(d));
        }
        if let Some(p) = a.parent {
            if let Some(parent) = &p {
                super::parent::same_project(call.refs.project.as_deref(), parent)?;
            }
            changes.insert("parent".into(), json!(p));
        }
        if changes.is_empty() {
            return Err(ToolError::invalid(
                "Nothing to change: send at least one of title, priority, start_date, target_date, parent.",
            ));
        }
        let issue = call.card(&a.issue).await?;
        let body = c::UpdateIssue { actor: call.actor(), changes };
        let written = call.write(write(issue.project_id, issue.id, body)).await?;
        Ok(CardWritten::of(&written.issue, call))
    }

    fn render(out: &CardWritten) -> String {
        out.render("Done")
    }
}

/// The write as the TaskerWriter runs it: update, then read the card back.
pub fn write(project: Uuid, issue: Uuid, body: c::UpdateIssue) -> Job<IssueWritten> {
    Job::on_card(project, issue, move |w| async move {
        let written = w.write(&UPDATE_ISSUE, &[&issue.to_string()], &body).await?;
        let fresh = w.card(written.issue.id).await?;
        check(&body.changes, &fresh).map_err(WriteError::NotApplied)?;
        Ok(written)
    })
}

/// Does the card show each change?
fn check(c: &Map<String, Value>, issue: &Issue) -> Result<(), String> {
    if let Some(Value::String(t)) = c.get("title")
        && t.trim() != issue.title.trim()
    {
        return Err("the title is not what was written".into());
    }
    if let Some(Value::String(p)) = c.get("priority")
        && Priority::parse(p) != Some(issue.priority)
    {
        return Err("the priority is not what was written".into());
    }
    date_field(c, "start_date", issue.start_date)?;
    date_field(c, "target_date", issue.target_date)?;
    match c.get("parent") {
        Some(Value::Null) if issue.parent.is_some() => Err("the parent was not cleared".into()),
        Some(Value::String(p))
            if !issue.parent.as_ref().is_some_and(|x| x.key.eq_ignore_ascii_case(p) || x.id.to_string() == *p) =>
        {
            Err("the parent is not what was written".into())
        }
        _ => Ok(()),
    }
}
