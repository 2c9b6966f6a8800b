//! The reference Tasker's queries, written once for both backends. Every function
//! takes a connection, so callers compose them inside one transaction.

pub mod activity;
pub mod comments;
pub mod idempotency;
pub mod issues;
pub mod projects;
pub mod users;

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

use crate::storage::StorageError;

pub(crate) fn uuid(raw: &str) -> Result<Uuid, StorageError> {
    crate::storage::stored_uuid(raw)
}

pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Parses a stored enum value with `parse`, naming the column when it is not valid.
pub(crate) fn stored<T>(raw: &str, column: &str, parse: fn(&str) -> Option<T>) -> Result<T, StorageError> {
    parse(raw).ok_or_else(|| StorageError::corrupt(format!("`{raw}` is not a valid {column}")))
}
