//! Console sign-in links and console sessions. Rows hold the SHA-256 digest (hex) of
//! the link token or the session secret, never the value: a leaked table signs no one
//! in. A row found by its digest is compared again in constant time.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::schema::{console_links as cl, console_sessions as cs};
use super::{DbConn, StorageError, stored_uuid};

/// Who a link or a session is for: an owner (the owner view) or an admin, by name
/// (the admin view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Owner(Uuid),
    Admin(String),
}

impl Subject {
    fn stored(&self) -> (&'static str, String) {
        match self {
            Subject::Owner(id) => ("owner", id.to_string()),
            Subject::Admin(name) => ("admin", name.clone()),
        }
    }

    fn from_stored(kind: &str, subject: String) -> Result<Self, StorageError> {
        match kind {
            "owner" => Ok(Subject::Owner(stored_uuid(&subject)?)),
            "admin" => Ok(Subject::Admin(subject)),
            other => Err(StorageError::corrupt(format!("console kind `{other}`"))),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub fn insert_link(
    conn: &mut DbConn,
    digest: &str,
    subject: &Subject,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), StorageError> {
    let (kind, who) = subject.stored();
    diesel::insert_into(cl::table)
        .values((
            cl::digest.eq(digest),
            cl::kind.eq(kind),
            cl::subject.eq(who),
            cl::created_at.eq(now),
            cl::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks the link used if it is unused and unexpired, in one conditional update (two
/// concurrent uses: one wins), and answers whom it was for.
pub fn use_link(conn: &mut DbConn, digest: &str, now: NaiveDateTime) -> Result<Option<Subject>, StorageError> {
    let n = diesel::update(cl::table.find(digest))
        .filter(cl::used_at.is_null())
        .filter(cl::expires_at.gt(now))
        .set(cl::used_at.eq(now))
        .execute(conn)?;
    if n != 1 {
        return Ok(None);
    }
    let (stored, kind, who): (String, String, String) =
        cl::table.find(digest).select((cl::digest, cl::kind, cl::subject)).first(conn)?;
    if !same(&stored, digest) {
        return Ok(None);
    }
    Subject::from_stored(&kind, who).map(Some)
}

/// A live console session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub subject: Subject,
    pub last_used_at: NaiveDateTime,
}

pub fn insert_session(
    conn: &mut DbConn,
    id: Uuid,
    digest: &str,
    subject: &Subject,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    let (kind, who) = subject.stored();
    diesel::insert_into(cs::table)
        .values((
            cs::id.eq(id.to_string()),
            cs::digest.eq(digest),
            cs::kind.eq(kind),
            cs::subject.eq(who),
            cs::created_at.eq(now),
            cs::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session with this digest, unless it was ended or last used before `idle_since`.
pub fn find_session(
    conn: &mut DbConn,
    digest: &str,
    idle_since: NaiveDateTime,
) -> Result<Option<SessionRow>, StorageError> {
    let row: Option<(String, String, String, String, NaiveDateTime)> = cs::table
        .filter(cs::digest.eq(digest))
        .filter(cs::ended_at.is_null())
        .filter(cs::last_used_at.gt(idle_since))
        .select((cs::id, cs::digest, cs::kind, cs::subject, cs::last_used_at))
        .first(conn)
        .optional()?;
    let Some((id, stored, kind, who, last_used_at)) = row else {
        return Ok(None);
    };
    if !same(&stored, digest) {
        return Ok(None);
    }
    Ok(Some(SessionRow { id: stored_uuid(&id)?, subject: Subject::from_stored(&kind, who)?, last_used_at }))
}

pub fn touch_session(conn: &mut DbConn, id: Uuid, now: NaiveDateTime) -> Result<(), StorageError> {
    diesel::update(cs::table.find(id.to_string())).set(cs::last_used_at.eq(now)).execute(conn)?;
    Ok(())
}

pub fn end_session(conn: &mut DbConn, id: Uuid, now: NaiveDateTime) -> Result<(), StorageError> {
    diesel::update(cs::table.find(id.to_string()))
        .filter(cs::ended_at.is_null())
        .set(cs::ended_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Deletes links past their expiry and sessions that can no longer be used (ended, or
/// idle since `idle_since`); returns how many rows went.
pub fn purge(conn: &mut DbConn, now: NaiveDateTime, idle_since: NaiveDateTime) -> Result<usize, StorageError> {
    let links = diesel::delete(cl::table.filter(cl::expires_at.le(now))).execute(conn)?;
    let sessions = diesel::delete(cs::table.filter(cs::ended_at.is_not_null().or(cs::last_used_at.le(idle_since))))
        .execute(conn)?;
    Ok(links + sessions)
}
