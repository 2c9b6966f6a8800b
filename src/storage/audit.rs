use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::page::Cursor;
use super::schema::audit_events;
use super::{DbConn, StorageError, stored_uuid};
use crate::model::{AuditRecord, Outcome, utc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
struct AuditRow {
    id: String,
    occurred_at: NaiveDateTime,
    request_id: String,
    gateway_request_id: Option<String>,
    actor_kind: String,
    owner_user_id: Option<String>,
    agent_id: Option<String>,
    token_id: Option<String>,
    action: String,
    project_ref: Option<String>,
    card_ref: Option<String>,
    idempotency_key: Option<String>,
    outcome: String,
    error_code: Option<String>,
    duration_ms: i64,
}

fn opt_uuid(v: Option<String>) -> Result<Option<Uuid>, StorageError> {
    v.as_deref().map(stored_uuid).transpose()
}

pub fn insert(conn: &mut DbConn, e: &AuditRecord) -> Result<(), StorageError> {
    diesel::insert_into(audit_events::table)
        .values(AuditRow {
            id: e.id.to_string(),
            occurred_at: e.occurred_at.naive_utc(),
            request_id: e.request_id.clone(),
            gateway_request_id: e.gateway_request_id.clone(),
            actor_kind: e.actor.as_str().to_string(),
            owner_user_id: e.owner_user_id.map(|v| v.to_string()),
            agent_id: e.agent_id.map(|v| v.to_string()),
            token_id: e.token_id.map(|v| v.to_string()),
            action: e.action.clone(),
            project_ref: e.project_ref.clone(),
            card_ref: e.card_ref.clone(),
            idempotency_key: e.idempotency_key.clone(),
            outcome: e.outcome.as_str().to_string(),
            error_code: e.error_code.clone(),
            duration_ms: e.duration_ms,
        })
        .execute(conn)?;
    Ok(())
}

/// Filters for reading the audit trail, newest first; `after` continues a page.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub owner_user_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub request_id: Option<String>,
    /// Owners of this client only.
    pub client_id: Option<Uuid>,
    /// A project identifier (as the events name it).
    pub project: Option<String>,
    /// The action: a tool name, or a lifecycle action such as `agent.create`.
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub error_code: Option<String>,
    /// From (inclusive) and until (exclusive).
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConn, f: &AuditFilter) -> Result<Vec<AuditRecord>, StorageError> {
    use super::schema::owners;
    let mut q = audit_events::table.select(AuditRow::as_select()).into_boxed();
    if let Some(o) = f.owner_user_id {
        q = q.filter(audit_events::owner_user_id.eq(o.to_string()));
    }
    if let Some(a) = f.agent_id {
        q = q.filter(audit_events::agent_id.eq(a.to_string()));
    }
    if let Some(r) = &f.request_id {
        q = q.filter(audit_events::request_id.eq(r.clone()));
    }
    if let Some(c) = f.client_id {
        let owners = owners::table.filter(owners::client_id.eq(c.to_string())).select(owners::user_id.nullable());
        q = q.filter(audit_events::owner_user_id.eq_any(owners));
    }
    if let Some(p) = &f.project {
        q = q.filter(audit_events::project_ref.eq(p.clone()));
    }
    if let Some(a) = &f.action {
        q = q.filter(audit_events::action.eq(a.clone()));
    }
    if let Some(o) = f.outcome {
        q = q.filter(audit_events::outcome.eq(o.as_str()));
    }
    if let Some(e) = &f.error_code {
        q = q.filter(audit_events::error_code.eq(e.clone()));
    }
    if let Some(t) = f.since {
        q = q.filter(audit_events::occurred_at.ge(t));
    }
    if let Some(t) = f.until {
        q = q.filter(audit_events::occurred_at.lt(t));
    }
    if let Some(c) = &f.after {
        // Written so that the time condition alone bounds the index scan.
        q = q.filter(
            audit_events::occurred_at
                .le(c.at)
                .and(audit_events::occurred_at.lt(c.at).or(audit_events::id.lt(c.id.clone()))),
        );
    }
    q.order((audit_events::occurred_at.desc(), audit_events::id.desc()))
        .limit(f.limit)
        .load(conn)?
        .into_iter()
        .map(|r| {
            Ok(AuditRecord {
                id: stored_uuid(&r.id)?,
                occurred_at: utc(r.occurred_at),
                request_id: r.request_id,
                gateway_request_id: r.gateway_request_id,
                actor: r.actor_kind.parse().map_err(StorageError::corrupt)?,
                owner_user_id: opt_uuid(r.owner_user_id)?,
                agent_id: opt_uuid(r.agent_id)?,
                token_id: opt_uuid(r.token_id)?,
                action: r.action,
                project_ref: r.project_ref,
                card_ref: r.card_ref,
                idempotency_key: r.idempotency_key,
                outcome: r.outcome.parse().map_err(StorageError::corrupt)?,
                error_code: r.error_code,
                duration_ms: r.duration_ms,
            })
        })
        .collect()
}

/// Completes an event written before its call ran (a write records its event first, so
/// a write whose event cannot be stored is never performed).
pub fn finish(
    conn: &mut DbConn,
    id: Uuid,
    outcome: crate::model::Outcome,
    error_code: Option<&str>,
    project_ref: Option<&str>,
    card_ref: Option<&str>,
    duration_ms: i64,
) -> Result<(), StorageError> {
    diesel::update(audit_events::table.find(id.to_string()))
        .set((
            audit_events::outcome.eq(outcome.as_str()),
            audit_events::error_code.eq(error_code),
            audit_events::project_ref.eq(project_ref),
            audit_events::card_ref.eq(card_ref),
            audit_events::duration_ms.eq(duration_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// Where the page that ends with `e` continues.
pub fn cursor_of(e: &AuditRecord) -> Cursor {
    Cursor { at: e.occurred_at.naive_utc(), id: e.id.to_string() }
}

/// Deletes up to `batch` events that occurred before `before` (audit retention); the
/// number deleted.
pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime, batch: i64) -> Result<usize, StorageError> {
    let oldest = audit_events::table
        .filter(audit_events::occurred_at.lt(before))
        .select(audit_events::id)
        .order(audit_events::occurred_at.asc())
        .limit(batch);
    let ids: Vec<String> = oldest.load(conn)?;
    Ok(diesel::delete(audit_events::table.filter(audit_events::id.eq_any(ids))).execute(conn)?)
}
