//! Idempotency keys for agent writes: the first call with a key claims it, later calls
//! with the same key and request replay the stored response.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::idempotency_keys as ik;
use super::{DbConn, StorageError};

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the key now and must `complete` or `release` it.
    Started,
    /// The same request completed before: here is its stored response.
    Replay(String),
    /// The same key is being processed by another call right now.
    InProgress,
    /// The key was used before with a different request.
    Mismatch,
}

/// How long an in-flight claim holds before a retry may take it over (a call that
/// crashed mid-way never completes; the key travels to Tasker, which deduplicates).
pub const IN_FLIGHT_LEASE: Duration = Duration::seconds(120);

pub fn claim(
    conn: &mut DbConn,
    agent_id: Uuid,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
    ttl: Duration,
) -> Result<Claim, StorageError> {
    let agent = agent_id.to_string();
    let existing: Option<(String, String, Option<String>, NaiveDateTime, NaiveDateTime)> = ik::table
        .find((&agent, key))
        .select((ik::fingerprint, ik::state, ik::response, ik::updated_at, ik::expires_at))
        .first(conn)
        .optional()?;
    if let Some((fp, state, response, updated_at, expires_at)) = existing {
        let expired = expires_at <= now;
        let stale_in_flight = state == "in_flight" && updated_at + IN_FLIGHT_LEASE <= now;
        if !expired {
            if fp != fingerprint {
                return Ok(Claim::Mismatch);
            }
            match (state.as_str(), response) {
                ("completed", Some(r)) => return Ok(Claim::Replay(r)),
                ("in_flight", _) if !stale_in_flight => return Ok(Claim::InProgress),
                _ => {}
            }
        }
        diesel::update(ik::table.find((&agent, key)))
            .set((
                ik::fingerprint.eq(fingerprint),
                ik::state.eq("in_flight"),
                ik::response.eq(None::<String>),
                ik::updated_at.eq(now),
                ik::expires_at.eq(now + ttl),
            ))
            .execute(conn)?;
        return Ok(Claim::Started);
    }
    // A savepoint, so a concurrent insert's unique violation leaves the outer
    // transaction usable on PostgreSQL.
    let inserted = conn.transaction(|c| {
        diesel::insert_into(ik::table)
            .values((
                ik::agent_id.eq(&agent),
                ik::idempotency_key.eq(key),
                ik::fingerprint.eq(fingerprint),
                ik::state.eq("in_flight"),
                ik::created_at.eq(now),
                ik::updated_at.eq(now),
                ik::expires_at.eq(now + ttl),
            ))
            .execute(c)
    });
    match inserted.map_err(StorageError::from) {
        Ok(_) => Ok(Claim::Started),
        Err(e) if e.is_unique_violation() => Ok(Claim::InProgress),
        Err(e) => Err(e),
    }
}

/// Stores the response of a claimed key.
pub fn complete(
    conn: &mut DbConn,
    agent_id: Uuid,
    key: &str,
    response: &str,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::update(ik::table.find((agent_id.to_string(), key)))
        .set((ik::state.eq("completed"), ik::response.eq(response), ik::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Gives a claimed key up after a failure, so a retry can run.
pub fn release(conn: &mut DbConn, agent_id: Uuid, key: &str) -> Result<(), StorageError> {
    diesel::delete(ik::table.find((agent_id.to_string(), key))).filter(ik::state.eq("in_flight")).execute(conn)?;
    Ok(())
}

/// Deletes expired keys; returns how many.
pub fn purge_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(ik::table.filter(ik::expires_at.le(now))).execute(conn)?)
}
