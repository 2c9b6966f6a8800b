//! Building and writing audit events.

use uuid::Uuid;

use super::{Ctx, ServiceError, Services};
use crate::model::{AuditRecord, Outcome};
use crate::storage::audit::AuditFilter;
use crate::storage::{self, Db, DbConn, StorageError};

/// What an audit event is about.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub owner_user_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    /// The token the event concerns when it is not the caller's (issue, revoke).
    pub token_id: Option<Uuid>,
    pub project_ref: Option<String>,
    pub card_ref: Option<String>,
    pub idempotency_key: Option<String>,
}

impl Subject {
    pub fn owner(owner: Uuid) -> Self {
        Self { owner_user_id: Some(owner), ..Self::default() }
    }

    pub fn agent(owner: Option<Uuid>, agent: Uuid) -> Self {
        Self { owner_user_id: owner, agent_id: Some(agent), ..Self::default() }
    }
}

pub fn record(ctx: &Ctx, action: &str, subject: Subject, outcome: Outcome, error_code: Option<&str>) -> AuditRecord {
    AuditRecord {
        id: Uuid::new_v4(),
        occurred_at: storage::now().and_utc(),
        request_id: ctx.request_id.clone(),
        gateway_request_id: Some(ctx.gateway_request_id.clone()),
        actor: ctx.actor,
        owner_user_id: subject.owner_user_id,
        agent_id: subject.agent_id,
        token_id: subject.token_id.or(ctx.token_id),
        action: action.to_string(),
        project_ref: subject.project_ref,
        card_ref: subject.card_ref,
        idempotency_key: subject.idempotency_key,
        outcome,
        error_code: error_code.map(str::to_string),
        duration_ms: ctx.elapsed_ms(),
    }
}

/// Writes the "allowed" event of a change, inside the change's transaction.
pub fn allowed(conn: &mut DbConn, ctx: &Ctx, action: &str, subject: Subject) -> Result<(), StorageError> {
    storage::audit::insert(conn, &record(ctx, action, subject, Outcome::Allowed, None))
}

/// Records a refused or failed change after the fact. Authorization refusals are
/// "denied"; everything else is "failed".
pub async fn refused(db: &Db, ctx: &Ctx, action: &str, subject: Subject, err: &ServiceError) {
    let outcome = if err.is_denial() { Outcome::Denied } else { Outcome::Failed };
    let event = record(ctx, action, subject, outcome, Some(err.code()));
    if let Err(e) = db.run(move |c| storage::audit::insert(c, &event)).await {
        tracing::error!(error = %e, action, "could not record an audit event");
    }
}

/// Runs a change and, if it fails, records the refusal. (Success is recorded by the
/// change itself, in its transaction.)
pub async fn audited<T>(
    db: &Db,
    ctx: &Ctx,
    action: &str,
    subject: Subject,
    change: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    let result = change.await;
    if let Err(e) = &result {
        refused(db, ctx, action, subject, e).await;
    }
    result
}

impl Services<'_> {
    /// Audit events, newest first.
    pub async fn audit_trail(&self, filter: AuditFilter) -> Result<Vec<AuditRecord>, ServiceError> {
        Ok(self.db.run(move |c| storage::audit::list(c, &filter)).await?)
    }
}
