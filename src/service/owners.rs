//! The Launcher entitlement projection: owners, their status and `codex_agents`.

use uuid::Uuid;

use super::audit::{self, Subject};
use super::{Ctx, Entity, ServiceError, Services, clean_text};
use crate::actors::token_sessions::InvalidateOwner;
use crate::model::{Owner, OwnerAccess, OwnerStatus};
use crate::storage::owners::{OwnerChange, OwnerChangeRecord};
use crate::storage::{self};

/// What Launcher (or an operator) says about an owner.
#[derive(Debug, Clone)]
pub struct OwnerProjection {
    pub user_id: Uuid,
    pub display_name: String,
    pub status: OwnerStatus,
    pub codex_agents: bool,
}

impl Services<'_> {
    /// Creates or updates an owner. Each changed field is kept in the owner's change
    /// history; losing access drops the owner's cached tokens at once.
    pub async fn upsert_owner(&self, ctx: &Ctx, p: OwnerProjection) -> Result<Owner, ServiceError> {
        let subject = Subject::owner(p.user_id);
        let change = async {
            let display_name = clean_text("display_name", &p.display_name, 1, 200)?;
            let ctx2 = ctx.clone();
            let source = source_of(ctx);
            // Two first upserts of one owner may race to insert it; the loser finds the
            // row on its second try and updates it.
            let mut attempt = 0;
            let owner = loop {
                let (p, display_name, ctx2) = (p.clone(), display_name.clone(), ctx2.clone());
                let result = self.db.write(move |conn| apply_projection(conn, &p, &display_name, &ctx2, source)).await;
                match result {
                    Err(ServiceError::Storage(e)) if e.is_unique_violation() && attempt == 0 => attempt += 1,
                    other => break other?,
                }
            };
            if owner.denial().is_some()
                && let Some(sessions) = self.sessions
            {
                // Liveness is also read per request; this drops cached entries now.
                let _ = sessions.send(InvalidateOwner(owner.user_id)).await;
            }
            Ok(owner)
        };
        audit::audited(self.db, ctx, "owner.upsert", subject, change).await
    }

    pub async fn owner(&self, user_id: Uuid) -> Result<Owner, ServiceError> {
        self.db.run(move |c| storage::owners::find(c, user_id)).await?.ok_or(ServiceError::NotFound(Entity::Owner))
    }

    /// May this owner use Codex agents? An owner never projected is refused as unknown.
    pub async fn owner_access(&self, user_id: Uuid) -> Result<OwnerAccess, ServiceError> {
        let owner = self.db.run(move |c| storage::owners::find(c, user_id)).await?;
        let denial = match owner {
            Some(o) => o.denial(),
            None => Some(crate::model::AccessDenial::OwnerUnknown),
        };
        Ok(OwnerAccess::new(user_id, denial))
    }

    pub async fn owner_changes(&self, user_id: Uuid, limit: i64) -> Result<Vec<OwnerChangeRecord>, ServiceError> {
        Ok(self.db.run(move |c| storage::owners::list_changes(c, user_id, limit)).await?)
    }
}

/// Writes one projection: the owner row, a history row per changed field, the audit
/// event. Runs inside the caller's write transaction.
fn apply_projection(
    conn: &mut storage::DbConn,
    p: &OwnerProjection,
    display_name: &str,
    ctx: &Ctx,
    source: &str,
) -> Result<Owner, ServiceError> {
    let now = storage::now();
    let before = storage::owners::find(conn, p.user_id)?;
    let mut changes: Vec<(&str, Option<String>, String)> = Vec::new();
    match &before {
        None => {
            storage::owners::insert(
                conn,
                &Owner {
                    user_id: p.user_id,
                    display_name: display_name.to_string(),
                    status: p.status,
                    codex_agents: p.codex_agents,
                    created_at: now.and_utc(),
                    updated_at: now.and_utc(),
                },
            )?;
            changes.push(("display_name", None, display_name.to_string()));
            changes.push(("status", None, p.status.to_string()));
            changes.push(("codex_agents", None, p.codex_agents.to_string()));
        }
        Some(b) => {
            if b.display_name != display_name {
                changes.push(("display_name", Some(b.display_name.to_string()), display_name.to_string()));
            }
            if b.status != p.status {
                changes.push(("status", Some(b.status.to_string()), p.status.to_string()));
            }
            if b.codex_agents != p.codex_agents {
                changes.push(("codex_agents", Some(b.codex_agents.to_string()), p.codex_agents.to_string()));
            }
            if !changes.is_empty() {
                storage::owners::update(conn, p.user_id, display_name, p.status, p.codex_agents, now)?;
            }
        }
    }
    for (field, old_value, new_value) in changes {
        storage::owners::record_change(
            conn,
            OwnerChange {
                owner_user_id: p.user_id,
                changed_at: now,
                request_id: &ctx.request_id,
                source,
                field,
                old_value,
                new_value,
            },
        )?;
    }
    audit::allowed(conn, ctx, "owner.upsert", Subject::owner(p.user_id))?;
    storage::owners::find(conn, p.user_id)?.ok_or(ServiceError::NotFound(Entity::Owner))
}

fn source_of(ctx: &Ctx) -> &'static str {
    match ctx.actor {
        crate::model::AuditActor::Operator => "operator",
        _ => "launcher",
    }
}

/// The owner's access, checked inside a transaction before an agent or token is made.
pub(crate) fn require_access(conn: &mut storage::DbConn, owner: Uuid) -> Result<(), ServiceError> {
    let denial = match storage::owners::find(conn, owner)? {
        Some(o) => o.denial(),
        None => Some(crate::model::AccessDenial::OwnerUnknown),
    };
    match denial {
        Some(d) => Err(ServiceError::AccessDenied(d)),
        None => Ok(()),
    }
}
