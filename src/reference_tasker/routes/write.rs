//! How every write runs: in one transaction, the target is found and checked against
//! the grant, the idempotency record is consulted (replay, or refuse a reused key), the
//! change and its history are written, and the response is stored for replay, so a
//! crash can never leave a write without its record.

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use serde::Serialize;
use uuid::Uuid;

use crate::reference_tasker::error::RefTaskerError;
use crate::reference_tasker::extract::{CardRef, Granted, Write};
use crate::reference_tasker::store::activity::Who;
use crate::reference_tasker::store::idempotency::{self, Record};
use crate::reference_tasker::store::issues::{self, IssueRow};
use crate::reference_tasker::store::{projects, users};
use crate::storage::{Db, DbConn, StorageError};
use crate::tasker::contract::{Actor, ErrorCode};

/// Longest agent name shown in history.
const MAX_AGENT_NAME: usize = 200;

/// A response as stored for replay.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: u16,
    pub body: String,
}

impl Stored {
    fn response(self, replayed: bool) -> HttpResponse {
        let mut res = HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK));
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
        if replayed {
            res.insert_header(("idempotent-replayed", "true"));
        }
        res.body(self.body)
    }
}

/// The idempotency key of one write.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub agent_id: Uuid,
    pub key: String,
    pub fingerprint: String,
}

impl Idempotency {
    pub fn of<T>(write: &Write<T>, actor: &Actor) -> Self {
        Idempotency { agent_id: actor.agent_id, key: write.key.clone(), fingerprint: write.fingerprint.clone() }
    }

    /// `Some` with the stored response when this exact request was answered before;
    /// `idempotency_key_reused` when the key was used for another request.
    pub fn previous(&self, conn: &mut DbConn) -> Result<Option<Stored>, RefTaskerError> {
        match idempotency::find(conn, self.agent_id, &self.key)? {
            None => Ok(None),
            Some(r) if r.fingerprint == self.fingerprint => Ok(Some(Stored { status: r.status, body: r.body })),
            Some(_) => Err(RefTaskerError::new(
                ErrorCode::IdempotencyKeyReused,
                format!("the idempotency key `{}` was already used for a different request", self.key),
            )),
        }
    }

    /// Records the response (in the write's transaction) and returns it.
    pub fn finish<T: Serialize>(
        &self,
        conn: &mut DbConn,
        status: StatusCode,
        body: &T,
    ) -> Result<Stored, RefTaskerError> {
        let body = serde_json::to_string(body).map_err(|e| StorageError::corrupt(e.to_string()))?;
        let record = Record { fingerprint: self.fingerprint.clone(), status: status.as_u16(), body };
        idempotency::insert(conn, self.agent_id, &self.key, &record, crate::storage::now())?;
        Ok(Stored { status: record.status, body: record.body })
    }
}

/// What a write closure returns: a fresh answer or a replayed one.
pub enum Outcome {
    Done(Stored),
    Replayed(Stored),
}

/// Runs `write` in one write transaction. If a concurrent call with the same key
/// committed first (the record's insert is a uniqueness violation and everything is
/// rolled back), the write runs once more and so finds and replays that record.
pub async fn transact<F>(db: &Db, write: F) -> Result<HttpResponse, RefTaskerError>
where
    F: Fn(&mut DbConn) -> Result<Outcome, RefTaskerError> + Send + Sync + 'static,
{
    let write = Arc::new(write);
    let mut attempt = 0;
    loop {
        let w = write.clone();
        match db.write(move |c| w(c)).await {
            Ok(Outcome::Done(s)) => return Ok(s.response(false)),
            Ok(Outcome::Replayed(s)) => return Ok(s.response(true)),
            Err(e) if e.is_unique_violation() && attempt == 0 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// A write to one card, ready to apply: the card found within the grant and locked, the
/// idempotency record checked (not a replay), and the actor's display name.
pub struct CardWrite<'a, B> {
    pub row: IssueRow,
    pub actor: Who,
    pub body: &'a B,
    pub idem: &'a Idempotency,
}

/// Runs a write to `card`, the frame every card write shares: in one
/// transaction the card is found and locked, a repeated request is replayed, and `apply`
/// makes the change and stores the answer (`Idempotency::finish`).
pub async fn card_write<B, F>(
    db: &Db,
    granted: Granted,
    card: CardRef,
    write: Write<B>,
    actor: fn(&B) -> &Actor,
    apply: F,
) -> Result<HttpResponse, RefTaskerError>
where
    B: Send + Sync + 'static,
    F: Fn(&mut DbConn, CardWrite<'_, B>) -> Result<Stored, RefTaskerError> + Send + Sync + 'static,
{
    let idem = Idempotency::of(&write, actor(&write.body));
    let body = write.body;
    transact(db, move |c| {
        let row = lock_card(c, &card, &granted)?;
        if let Some(previous) = idem.previous(c)? {
            return Ok(Outcome::Replayed(previous));
        }
        let name = actor_display(c, actor(&body))?;
        apply(c, CardWrite { row, actor: name, body: &body, idem: &idem }).map(Outcome::Done)
    })
    .await
}

/// The actor as history shows it; the agent name must not be blank.
pub fn actor_display(conn: &mut DbConn, actor: &Actor) -> Result<Who, RefTaskerError> {
    let name = actor.agent_name.trim();
    if name.is_empty() || name.chars().count() > MAX_AGENT_NAME || name.chars().any(char::is_control) {
        return Err(RefTaskerError::invalid(
            "actor.agent_name",
            format!("the agent name must be 1 to {MAX_AGENT_NAME} characters without control characters"),
        ));
    }
    Ok(users::actor_who(conn, actor)?)
}

/// Finds a card by id or key: `not_found` when it does not exist, `project_not_granted`
/// when its project is not granted (a key's project is checked before its number).
pub fn find_card(conn: &mut DbConn, card: &CardRef, granted: &Granted) -> Result<IssueRow, RefTaskerError> {
    let row = match card {
        CardRef::Id(id) => {
            issues::find(conn, *id)?.ok_or_else(|| RefTaskerError::not_found(format!("no card {id}")))?
        }
        CardRef::Key(ident, seq) => {
            let project = projects::find_by_identifier(conn, ident)?
                .ok_or_else(|| RefTaskerError::not_found(format!("no project with identifier {ident}")))?;
            granted.check(project.id)?;
            issues::find_by_sequence(conn, project.id, *seq)?
                .ok_or_else(|| RefTaskerError::not_found(format!("no card {ident}-{seq}")))?
        }
    };
    granted.check(row.project_uuid()?)?;
    Ok(row)
}

/// [`find_card`], then the card's lock, then the card as it is under the lock.
pub fn lock_card(conn: &mut DbConn, card: &CardRef, granted: &Granted) -> Result<IssueRow, RefTaskerError> {
    let row = find_card(conn, card, granted)?;
    issues::lock(conn, &row.id)?;
    issues::find(conn, row.uuid()?)?.ok_or_else(|| RefTaskerError::not_found(format!("no card {}", row.id)))
}
