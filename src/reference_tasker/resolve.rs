//! Turning what a caller names (a state, label, member or user by name, id or email)
//! into the thing, or a `validation_failed` that lists every valid value.

use uuid::Uuid;

use super::error::RefTaskerError;
use super::store::users::User;
use crate::tasker::contract::{Label, Member, State};

/// Finds the one item `raw` names. `None` when nothing or more than one item matches
/// (an ambiguous display name must be given as an id or email instead).
fn one<'a, T>(items: &'a [T], raw: &str, matches: impl Fn(&T, &str) -> bool) -> Option<&'a T> {
    let raw = raw.trim();
    let mut found = items.iter().filter(|item| matches(item, raw));
    match (found.next(), found.next()) {
        (Some(item), None) => Some(item),
        _ => None,
    }
}

/// Resolves every value, or fails listing all the unknown ones at once.
fn all<T: Clone>(
    items: &[T],
    raws: &[String],
    matches: impl Fn(&T, &str) -> bool,
    on_unknown: impl FnOnce(Vec<String>) -> RefTaskerError,
) -> Result<Vec<T>, RefTaskerError> {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for raw in raws {
        match one(items, raw, &matches) {
            Some(item) => found.push(item.clone()),
            None => unknown.push(raw.clone()),
        }
    }
    if unknown.is_empty() { Ok(found) } else { Err(on_unknown(unknown)) }
}

fn is_id(id: Uuid, raw: &str) -> bool {
    Uuid::parse_str(raw).is_ok_and(|u| u == id)
}

fn state_matches(s: &State, raw: &str) -> bool {
    is_id(s.id, raw) || s.name.to_lowercase() == raw.to_lowercase()
}

fn label_matches(l: &Label, raw: &str) -> bool {
    is_id(l.id, raw) || l.name.to_lowercase() == raw.to_lowercase()
}

fn member_matches(m: &Member, raw: &str) -> bool {
    is_id(m.user_id, raw)
        || m.email.to_lowercase() == raw.to_lowercase()
        || m.display_name.to_lowercase() == raw.to_lowercase()
}

pub fn state_names(states: &[State]) -> Vec<String> {
    states.iter().map(|s| s.name.clone()).collect()
}

pub fn label_names(labels: &[Label]) -> Vec<String> {
    labels.iter().map(|l| l.name.clone()).collect()
}

pub fn member_emails(members: &[Member]) -> Vec<String> {
    members.iter().map(|m| m.email.clone()).collect()
}

/// A state by name (any case) or id.
pub fn state(states: &[State], field: &str, raw: &str) -> Result<State, RefTaskerError> {
    one(states, raw, state_matches)
        .cloned()
        .ok_or_else(|| RefTaskerError::unknown(field, "state", vec![raw.to_string()], state_names(states)))
}

/// Labels by name (any case) or id.
pub fn labels(labels: &[Label], field: &str, raws: &[String]) -> Result<Vec<Label>, RefTaskerError> {
    all(labels, raws, label_matches, |unknown| RefTaskerError::unknown(field, "label", unknown, label_names(labels)))
}

/// Project members by user id, email or display name (any case).
pub fn members(members: &[Member], field: &str, raws: &[String]) -> Result<Vec<Member>, RefTaskerError> {
    all(members, raws, member_matches, |unknown| {
        RefTaskerError::unknown(field, "project member", unknown, member_emails(members))
    })
}

/// A workspace member by user id or email.
pub fn workspace_user(users: &[User], field: &str, raw: &str) -> Result<User, RefTaskerError> {
    one(users, raw, |u, raw| is_id(u.id, raw) || u.email.to_lowercase() == raw.to_lowercase()).cloned().ok_or_else(
        || {
            RefTaskerError::unknown(
                field,
                "workspace member",
                vec![raw.to_string()],
                users.iter().map(|u| u.email.clone()).collect(),
            )
        },
    )
}
