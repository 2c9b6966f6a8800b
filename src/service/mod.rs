//! Domain operations on owners, agents, grants and tokens. Both the HTTP routes and
//! the operator CLI call these, so the rules (ownership, entitlement, least
//! privilege, audit) live in one place. Every change writes its audit event in the
//! same transaction as the change: a change whose audit cannot be recorded does not
//! happen.

pub mod agents;
pub mod audit;
pub mod console;
pub mod owners;
pub mod reporting;
pub mod tokens;

use std::time::Instant;

use actix::Addr;
use actix_web::http::StatusCode;
use uuid::Uuid;

use crate::actors::TokenSessions;
use crate::actors::work_sessions::WorkSessions;
use crate::auth::InternalRole;
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
    /// For internal callers: which token they presented.
    pub role: Option<InternalRole>,
    /// The admin a projection call names (`X-NodeDC-Admin`), for the change history.
    pub admin: Option<String>,
    /// The request's W3C trace context, continued by the Tasker calls it makes.
    pub trace: Option<crate::telemetry::trace::TraceParent>,
}

impl Ctx {
    pub fn new(request_id: impl Into<String>, actor: AuditActor) -> Self {
        Self {
            request_id: request_id.into(),
            actor,
            token_id: None,
            started: Instant::now(),
            role: None,
            admin: None,
            trace: crate::telemetry::trace::current(),
        }
    }

    /// Who made a change, as the change history records it: `launcher`, `tasker`
    /// (Tasker's backend with its own token), `operator`, `console`, or `launcher` for the shared
    /// internal token (its historical meaning).
    pub fn source(&self) -> &'static str {
        match (self.actor, self.role) {
            (AuditActor::Operator, _) => "operator",
            (AuditActor::Console, _) => "console",
            (_, Some(InternalRole::TaskerBackend)) => "tasker",
            _ => "launcher",
        }
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

/// What a lookup did not find. Another owner's agent is not found either: no hint
/// that it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Owner,
    Client,
    Agent,
    Token,
    WorkSession,
}

impl Entity {
    pub const ALL: &'static [Entity] =
        &[Entity::Owner, Entity::Client, Entity::Agent, Entity::Token, Entity::WorkSession];

    pub fn code(self) -> &'static str {
        match self {
            Entity::Owner => "owner_not_found",
            Entity::Client => "client_not_found",
            Entity::Agent => "agent_not_found",
            Entity::Token => "token_not_found",
            Entity::WorkSession => "work_session_not_found",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Entity::Owner => "owner",
            Entity::Client => "client",
            Entity::Agent => "agent",
            Entity::Token => "token",
            Entity::WorkSession => "work session",
        }
    }
}

/// Why a request was refused, as a stable code that knows its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    InvalidField,
    InvalidExpiry,
    InvalidScopes,
    TooManyGrants,
    DuplicateGrant,
    UnknownClient,
    AgentRevoked,
    AgentNameTaken,
}

impl Refusal {
    pub const ALL: &'static [Refusal] = &[
        Refusal::InvalidField,
        Refusal::InvalidExpiry,
        Refusal::InvalidScopes,
        Refusal::TooManyGrants,
        Refusal::DuplicateGrant,
        Refusal::UnknownClient,
        Refusal::AgentRevoked,
        Refusal::AgentNameTaken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::InvalidField => "invalid_field",
            Refusal::InvalidExpiry => "invalid_expiry",
            Refusal::InvalidScopes => "invalid_scopes",
            Refusal::TooManyGrants => "too_many_grants",
            Refusal::DuplicateGrant => "duplicate_grant",
            Refusal::UnknownClient => "unknown_client",
            Refusal::AgentRevoked => "agent_revoked",
            Refusal::AgentNameTaken => "agent_name_taken",
        }
    }

    /// 422 for a value that cannot be accepted, 409 for a state that forbids it.
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::InvalidField
            | Refusal::InvalidExpiry
            | Refusal::InvalidScopes
            | Refusal::TooManyGrants
            | Refusal::DuplicateGrant
            | Refusal::UnknownClient => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::AgentRevoked | Refusal::AgentNameTaken => StatusCode::CONFLICT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{} not found", .0.name())]
    NotFound(Entity),
    #[error("{}", .0.message())]
    AccessDenied(AccessDenial),
    #[error("{message}")]
    Refused { code: Refusal, message: String },
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
    pub fn refused(code: Refusal, message: impl Into<String>) -> Self {
        ServiceError::Refused { code, message: message.into() }
    }

    /// The stable machine code, also written to audit rows.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound(entity) => entity.code(),
            ServiceError::AccessDenied(d) => d.as_str(),
            ServiceError::Refused { code, .. } => code.as_str(),
            ServiceError::Storage(StorageError::Unavailable(_)) => "database_unavailable",
            ServiceError::Storage(_) | ServiceError::Hash(_) => "internal_error",
        }
    }

    /// Refused for who is asking (denied) rather than for what was asked (failed).
    pub fn is_denial(&self) -> bool {
        matches!(self, ServiceError::NotFound(_) | ServiceError::AccessDenied(_))
    }
}

/// The handles the operations need, borrowed from the application (or the CLI).
#[derive(Clone, Copy)]
pub struct Services<'a> {
    pub db: &'a Db,
    /// Absent in the operator CLI, which has no running actors; the running server
    /// still refuses revoked tokens on the next request because liveness is read from
    /// the database on every request.
    pub sessions: Option<&'a Addr<TokenSessions>>,
    /// Absent in the operator CLI (reports there read what is stored).
    pub work_sessions: Option<&'a Addr<WorkSessions>>,
}

/// Text fields: trimmed, bounded, no control characters.
/// Bidirectional formatting characters: they make a name read differently from what it
/// is (an agent called "evil\u{202E}txt.exe" shows as "evilexe.txt").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A one-line name (an agent's name, a token's label): as
/// [`clean_text`], and no control character at all (a newline in a name would forge a
/// line in Tasker's history or a log) and no bidirectional override.
pub(crate) fn clean_name(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, ServiceError> {
    let v = clean_text(field, raw, min, max)?;
    if let Some(c) = v.chars().find(|c| c.is_control() || is_bidi_control(*c)) {
        return Err(ServiceError::refused(
            Refusal::InvalidField,
            format!(
                "`{field}` must be one line without control or bidirectional formatting characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    Ok(v)
}

pub(crate) fn clean_text(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, ServiceError> {
    let v = raw.trim();
    let n = v.chars().count();
    if n < min || n > max {
        return Err(ServiceError::refused(
            Refusal::InvalidField,
            format!("`{field}` must be {min} to {max} characters (got {n})"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ServiceError::refused(
            Refusal::InvalidField,
            format!("`{field}` must not contain control characters"),
        ));
    }
    Ok(v.to_string())
}
