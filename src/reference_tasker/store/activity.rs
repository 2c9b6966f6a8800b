//! A card's history: one row per changed field, for every change.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::utc;
use crate::reference_tasker::schema::tasker_activity as a;
use crate::storage::{DbConn, StorageError};

/// One changed field. `field` is `created`, `title`, `priority`, `state`,
/// `start_date`, `target_date`, `parent`, `labels`, `assignees`, `comment` or
/// `blocks.<name>`; a value that did not exist before (or no longer does) is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Change {
    pub fn new(field: impl Into<String>, old: Option<String>, new: Option<String>) -> Self {
        Change { field: field.into(), old, new }
    }
}

/// Who made a change, in separate fields so that no agent name can pass for another
/// owner: `actor` is a person's display name ("Alice") or "agent NAME", and
/// `on_behalf_of` the display name of the agent's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub actor: String,
    pub on_behalf_of: Option<String>,
}

impl Who {
    pub fn person(name: &str) -> Self {
        Who { actor: name.to_string(), on_behalf_of: None }
    }

    /// The one-string form the contract's `created_by`, `updated_by` and comment
    /// `actor` carry: "agent NAME on behalf of OWNER".
    pub fn display(&self) -> String {
        match &self.on_behalf_of {
            Some(owner) => format!("{} on behalf of {owner}", self.actor),
            None => self.actor.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub who: Who,
    pub change: Change,
}

pub fn record(
    conn: &mut DbConn,
    issue_id: &str,
    who: &Who,
    changes: &[Change],
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    for ch in changes {
        diesel::insert_into(a::table)
            .values((
                a::issue_id.eq(issue_id),
                a::actor.eq(&who.actor),
                a::on_behalf_of.eq(&who.on_behalf_of),
                a::field.eq(&ch.field),
                a::old_value.eq(&ch.old),
                a::new_value.eq(&ch.new),
                a::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The card's whole history, oldest first.
pub fn list(conn: &mut DbConn, issue_id: &str) -> Result<Vec<Entry>, StorageError> {
    type Row = (String, Option<String>, String, Option<String>, Option<String>, NaiveDateTime);
    let rows: Vec<Row> = a::table
        .filter(a::issue_id.eq(issue_id))
        .select((a::actor, a::on_behalf_of, a::field, a::old_value, a::new_value, a::created_at))
        .order(a::id.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(actor, on_behalf_of, field, old, new, at)| Entry {
            at: utc(at),
            who: Who { actor, on_behalf_of },
            change: Change { field, old, new },
        })
        .collect())
}
