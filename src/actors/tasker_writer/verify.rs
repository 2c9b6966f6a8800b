//! Read-back checks: does the card, read fresh after a write, show the write?

use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

use super::WriteOp;
use crate::tasker::contract::{BlockOp, Blocks, Issue, LabelRef, Member, Priority, StateRef, UserRef};

/// A value named by id or by name (case-insensitive).
fn names(requested: &str, id: Uuid, name: &str) -> bool {
    let r = requested.trim();
    r.eq_ignore_ascii_case(name.trim()) || Uuid::parse_str(r).is_ok_and(|u| u == id)
}

fn has_label(labels: &[LabelRef], requested: &str) -> bool {
    labels.iter().any(|l| names(requested, l.id, &l.name))
}

fn has_assignee(assignees: &[UserRef], members: &[Member], requested: &str) -> bool {
    let by_email = members.iter().find(|m| m.email.eq_ignore_ascii_case(requested.trim())).map(|m| m.user_id);
    assignees.iter().any(|a| names(requested, a.user_id, &a.display_name) || by_email == Some(a.user_id))
}

fn state_is(state: &StateRef, requested: &str) -> bool {
    names(requested, state.id, &state.name)
}

pub fn names_assignee_by_email(op: &WriteOp) -> bool {
    let list: &[String] = match op {
        WriteOp::CreateIssue(b) => &b.assignees,
        WriteOp::ChangeAssignees { body, .. } => &body.add,
        _ => &[],
    };
    list.iter().any(|a| a.contains('@'))
        || matches!(op, WriteOp::ChangeAssignees { body, .. } if body.remove.iter().any(|a| a.contains('@')))
}

fn blocks_match(expected: &Blocks, actual: &Blocks) -> Result<(), String> {
    let pairs = [
        (
            "goal",
            expected.goal.as_ref().map(|v| Value::from(v.as_str())),
            actual.goal.as_ref().map(|v| Value::from(v.as_str())),
        ),
        (
            "plan",
            expected.plan.as_ref().map(|v| Value::from(v.as_str())),
            actual.plan.as_ref().map(|v| Value::from(v.as_str())),
        ),
        (
            "result",
            expected.result.as_ref().map(|v| Value::from(v.as_str())),
            actual.result.as_ref().map(|v| Value::from(v.as_str())),
        ),
        (
            "acceptance",
            expected.acceptance.as_ref().map(|v| serde_json::json!(v)),
            actual.acceptance.as_ref().map(|v| serde_json::json!(v)),
        ),
    ];
    for (name, want, got) in pairs {
        if let Some(want) = want
            && got.as_ref() != Some(&want)
        {
            return Err(format!("the {name} block is not what was written"));
        }
    }
    if let Some(entries) = &expected.log {
        let log = actual.log.as_deref().unwrap_or_default();
        if let Some(missing) = entries.iter().find(|e| !log.contains(e)) {
            return Err(format!("the log entry `{missing}` is missing"));
        }
    }
    Ok(())
}

fn date_field(changes: &serde_json::Map<String, Value>, field: &str, actual: Option<NaiveDate>) -> Result<(), String> {
    match changes.get(field) {
        None => Ok(()),
        Some(Value::Null) if actual.is_none() => Ok(()),
        Some(Value::String(s)) if s.parse::<NaiveDate>().ok() == actual => Ok(()),
        Some(_) => Err(format!("{field} is not what was written")),
    }
}

/// The blocks a batch of ops leaves behind (ops apply in order: a later tick changes an
/// item an earlier replace wrote), and the ticks on items the batch did not write.
fn expected_blocks(ops: &[BlockOp]) -> (Blocks, Vec<(String, bool)>) {
    let mut expected = Blocks::default();
    let mut checks = Vec::new();
    for op in ops {
        match op {
            BlockOp::Replace { block, text, items, .. } => match block.as_str() {
                "goal" => expected.goal = text.clone(),
                "plan" => expected.plan = text.clone(),
                "result" => expected.result = text.clone(),
                "acceptance" => {
                    expected.acceptance = items.clone();
                    checks.clear();
                }
                _ => {}
            },
            BlockOp::AppendLog { entry } => expected.log.get_or_insert_with(Vec::new).push(entry.clone()),
            BlockOp::CheckItem { item, checked } => match expected.acceptance.as_mut() {
                Some(items) => {
                    items.iter_mut().filter(|i| i.text.trim() == item.trim()).for_each(|i| i.checked = *checked)
                }
                None => checks.push((item.clone(), *checked)),
            },
        }
    }
    (expected, checks)
}

/// `Ok` when `issue` shows the effect of `op`; otherwise what is missing.
pub fn check_applied(op: &WriteOp, issue: &Issue, members: &[Member]) -> Result<(), String> {
    match op {
        WriteOp::CreateIssue(b) => {
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
            if let Some(blocks) = &b.blocks {
                blocks_match(blocks, &issue.blocks)?;
            }
            Ok(())
        }
        WriteOp::UpdateIssue { body, .. } => {
            let c = &body.changes;
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
                Some(Value::Null) if issue.parent.is_some() => return Err("the parent was not cleared".into()),
                Some(Value::String(p))
                    if !issue
                        .parent
                        .as_ref()
                        .is_some_and(|x| x.key.eq_ignore_ascii_case(p) || x.id.to_string() == *p) =>
                {
                    return Err("the parent is not what was written".into());
                }
                _ => {}
            }
            if let Some(blocks) = c.get("description_blocks").and_then(|d| d.get("blocks"))
                && let Ok(blocks) = serde_json::from_value::<Blocks>(blocks.clone())
            {
                blocks_match(&blocks, &issue.blocks)?;
            }
            Ok(())
        }
        WriteOp::MoveIssue { body, .. } => {
            if state_is(&issue.state, &body.state) {
                Ok(())
            } else {
                Err(format!("the card is still in `{}`, not `{}`", issue.state.name, body.state))
            }
        }
        WriteOp::ChangeLabels { body, .. } => {
            if let Some(l) = body.add.iter().find(|l| !has_label(&issue.labels, l)) {
                return Err(format!("the label `{l}` was not added"));
            }
            if let Some(l) = body.remove.iter().find(|l| has_label(&issue.labels, l)) {
                return Err(format!("the label `{l}` was not removed"));
            }
            Ok(())
        }
        WriteOp::ChangeAssignees { body, .. } => {
            if let Some(a) = body.add.iter().find(|a| !has_assignee(&issue.assignees, members, a)) {
                return Err(format!("the assignee `{a}` was not added"));
            }
            if let Some(a) = body.remove.iter().find(|a| has_assignee(&issue.assignees, members, a)) {
                return Err(format!("the assignee `{a}` was not removed"));
            }
            Ok(())
        }
        WriteOp::UpdateBlocks { body, .. } => {
            let (expected, checks) = expected_blocks(&body.ops);
            blocks_match(&expected, &issue.blocks)?;
            let items = issue.blocks.acceptance.as_deref().unwrap_or_default();
            for (item, checked) in checks {
                let found = items.iter().find(|i| i.text.trim() == item.trim());
                if found.map(|i| i.checked) != Some(checked) {
                    return Err(format!(
                        "the acceptance item `{item}` is not {}",
                        if checked { "ticked" } else { "unticked" }
                    ));
                }
            }
            Ok(())
        }
        WriteOp::AddComment { .. } | WriteOp::AddProjectMember(_) => Ok(()),
    }
}
