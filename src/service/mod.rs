//! Domain operations on owners, agents, grants and tokens. Both the HTTP routes and
//! the operator CLI call these, so the rules (ownership, entitlement, least
//! privilege, audit) live in one place. Every change writes its audit event in the
//! same transaction as the change: a change whose audit cannot be recorded does not
//! happen.

pub mod agents;
pub mod audit;
pub mod owners;
pub mod tokens;

use std::time::Instant;

use actix::Addr;
use uuid::Uuid;

use crate::actors::TokenSessions;
use crate::auth::hash::HashError;
use crate::model::{AccessDenial, AuditActor};
use crate::storage::{Db, StorageError};

/// Who is acting, for audit and ownership checks.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub actor: AuditActor,
    pub token_id: Option<Uuid>,
    pub started: Instant,
}

impl Ctx {
    pub fn new(request_id: impl Into<String>, actor: AuditActor) -> Self {
        Self { request_id: request_id.into(), actor, token_id: None, started: Instant::now() }
    }

    pub fn operator() -> Self {
        Self::new(format!("cli-{}", Uuid::new_v4()), AuditActor::Operator)
    }

    pub fn elapsed_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

/// Whose agents an operation may touch: one owner's (internal API) or any (operator CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    Owner(Uuid),
    AnyOwner,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Also what another owner's agent looks like: no hint that it exists.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{}", .0.message())]
    AccessDenied(AccessDenial),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        ServiceError::Storage(e.into())
    }
}

impl ServiceError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid { code, message: message.into() }
    }

    /// The stable machine code, also written to audit rows.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound { what: "agent" } => "agent_not_found",
            ServiceError::NotFound { what: "token" } => "token_not_found",
            ServiceError::NotFound { what: "owner" } => "owner_not_found",
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::AccessDenied(d) => d.as_str(),
            ServiceError::Invalid { code, .. } | ServiceError::Conflict { code, .. } => code,
            ServiceError::Storage(StorageError::Unavailable(_)) => "database_unavailable",
            ServiceError::Storage(_) | ServiceError::Hash(_) => "internal_error",
        }
    }
}

/// Shared handles the operations need.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    /// Absent in the operator CLI, which has no running actors; the running server
    /// still refuses revoked tokens on the next request because liveness is read from
    /// the database on every request.
    pub sessions: Option<Addr<TokenSessions>>,
}

/// Text fields: trimmed, bounded, no control characters.
pub(crate) fn clean_text(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, ServiceError> {
    let v = raw.trim();
    let n = v.chars().count();
    if n < min || n > max {
        return Err(ServiceError::invalid(
            "invalid_field",
            format!("`{field}` must be {min} to {max} characters (got {n})"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ServiceError::invalid("invalid_field", format!("`{field}` must not contain control characters")));
    }
    Ok(v.to_string())
}
