//! Comments on cards, numbered per card in the order written.

use chrono::NaiveDateTime;
use diesel::dsl::max;
use diesel::prelude::*;
use uuid::Uuid;

use super::{utc, uuid};
use crate::reference_tasker::schema::tasker_comments as c;
use crate::storage::{DbConn, StorageError};
use crate::tasker::contract::Comment;

type Row = (String, String, String, NaiveDateTime);

fn comment((id, body, actor, created_at): Row) -> Result<Comment, StorageError> {
    Ok(Comment { id: uuid(&id)?, body, actor, created_at: utc(created_at) })
}

/// Adds a comment (inside a transaction that holds the card's lock).
pub fn insert(
    conn: &mut DbConn,
    issue_id: &str,
    body: &str,
    actor: &str,
    now: NaiveDateTime,
) -> Result<Comment, StorageError> {
    let last: Option<i64> = c::table.filter(c::issue_id.eq(issue_id)).select(max(c::position)).first(conn)?;
    let id = Uuid::new_v4();
    diesel::insert_into(c::table)
        .values((
            c::id.eq(id.to_string()),
            c::issue_id.eq(issue_id),
            c::position.eq(last.unwrap_or(0) + 1),
            c::body.eq(body),
            c::actor.eq(actor),
            c::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Comment { id, body: body.to_string(), actor: actor.to_string(), created_at: utc(now) })
}

/// The latest `n` comments, newest last.
pub fn recent(conn: &mut DbConn, issue_id: &str, n: i64) -> Result<Vec<Comment>, StorageError> {
    let mut rows: Vec<Comment> = c::table
        .filter(c::issue_id.eq(issue_id))
        .select((c::id, c::body, c::actor, c::created_at))
        .order(c::position.desc())
        .limit(n)
        .load::<Row>(conn)?
        .into_iter()
        .map(comment)
        .collect::<Result<_, _>>()?;
    rows.reverse();
    Ok(rows)
}

/// Every comment, oldest first (the board).
pub fn all(conn: &mut DbConn, issue_id: &str) -> Result<Vec<Comment>, StorageError> {
    c::table
        .filter(c::issue_id.eq(issue_id))
        .select((c::id, c::body, c::actor, c::created_at))
        .order(c::position.asc())
        .load::<Row>(conn)?
        .into_iter()
        .map(comment)
        .collect()
}
