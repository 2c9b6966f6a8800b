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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub change: Change,
}

pub fn record(
    conn: &mut DbConn,
    issue_id: &str,
    actor: &str,
    changes: &[Change],
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    for ch in changes {
        diesel::insert_into(a::table)
            .values((
                a::issue_id.eq(issue_id),
                a::actor.eq(actor),
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
    type Row = (String, String, Option<String>, Option<String>, NaiveDateTime);
    let rows: Vec<Row> = a::table
        .filter(a::issue_id.eq(issue_id))
        .select((a::actor, a::field, a::old_value, a::new_value, a::created_at))
        .order(a::id.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(actor, field, old, new, at)| Entry { at: utc(at), actor, change: Change { field, old, new } })
        .collect())
}
