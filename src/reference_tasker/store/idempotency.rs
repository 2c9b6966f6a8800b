//! Idempotency records: (agent, key) → the request's fingerprint and the response to
//! replay. Written in the same transaction as the write they answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use crate::reference_tasker::schema::tasker_idempotency as k;
use crate::storage::{DbConn, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
}

pub fn find(conn: &mut DbConn, agent_id: Uuid, key: &str) -> Result<Option<Record>, StorageError> {
    let row: Option<(String, i32, String)> = k::table
        .find((agent_id.to_string(), key))
        .select((k::fingerprint, k::response_status, k::response_body))
        .first(conn)
        .optional()?;
    row.map(|(fingerprint, status, body)| {
        let status = u16::try_from(status).map_err(|_| StorageError::corrupt(format!("status {status}")))?;
        Ok(Record { fingerprint, status, body })
    })
    .transpose()
}

/// Stores the record; a concurrent writer of the same key makes this a uniqueness
/// violation, which rolls the whole write back.
pub fn insert(
    conn: &mut DbConn,
    agent_id: Uuid,
    key: &str,
    record: &Record,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(k::table)
        .values((
            k::agent_id.eq(agent_id.to_string()),
            k::idempotency_key.eq(key),
            k::fingerprint.eq(&record.fingerprint),
            k::response_status.eq(i32::from(record.status)),
            k::response_body.eq(&record.body),
            k::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
