//! Read-back checks the write tools share: does the card, read fresh after a write,
//! show it? A value may be named by id or by name (case-insensitive), an assignee also
//! by email.

use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

use crate::actors::tasker_writer::{WriteError, Writing};
use crate::tasker::contract::{Blocks, LabelRef, Member, StateRef, UserRef};

fn names(requested: &str, id: Uuid, name: &str) -> bool {
    let r = requested.trim();
    r.eq_ignore_ascii_case(name.trim()) || Uuid::parse_str(r).is_ok_and(|u| u == id)
}

pub fn has_label(labels: &[LabelRef], requested: &str) -> bool {
    labels.iter().any(|l| names(requested, l.id, &l.name))
}

pub fn has_assignee(assignees: &[UserRef], members: &[Member], requested: &str) -> bool {
    let by_email = members.iter().find(|m| m.email.eq_ignore_ascii_case(requested.trim())).map(|m| m.user_id);
    assignees.iter().any(|a| names(requested, a.user_id, &a.display_name) || by_email == Some(a.user_id))
}

pub fn state_is(state: &StateRef, requested: &str) -> bool {
    names(requested, state.id, &state.name)
}

/// The project's members, when some assignee is named by email (only the member list
/// connects an email to a user); otherwise none are needed.
pub async fn members_for<'a>(
    w: &Writing,
    project: Uuid,
    mut named: impl Iterator<Item = &'a String>,
) -> Result<Vec<Member>, WriteError> {
    if named.any(|a| a.contains('@')) { Ok(w.context(project).await?.members) } else { Ok(Vec::new()) }
}

/// Each block `expected` holds is in `actual` as written; each log entry is there.
pub fn blocks_match(expected: &Blocks, actual: &Blocks) -> Result<(), String> {
    let text = |v: &Option<String>| v.as_ref().map(|v| Value::from(v.as_str()));
    let pairs = [
        ("goal", text(&expected.goal), text(&actual.goal)),
        ("plan", text(&expected.plan), text(&actual.plan)),
        ("result", text(&expected.result), text(&actual.result)),
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

/// A date field of an update: absent (left alone), `null` (cleared) or a date.
pub fn date_field(
    changes: &serde_json::Map<String, Value>,
    field: &str,
    actual: Option<NaiveDate>,
) -> Result<(), String> {
    match changes.get(field) {
        None => Ok(()),
        Some(Value::Null) if actual.is_none() => Ok(()),
        Some(Value::String(s)) if s.parse::<NaiveDate>().ok() == actual => Ok(()),
        Some(_) => Err(format!("{field} is not what was written")),
    }
}
