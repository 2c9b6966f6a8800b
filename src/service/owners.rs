//! The Launcher entitlement projection: owners (status, `codex_agents`, client,
//! reporting mode) and clients (their own `codex_agents`). Every changed field is kept
//! in a change history naming the caller and the admin who made it.

use uuid::Uuid;

use super::audit::{self, Subject};
use super::{Ctx, Entity, Refusal, ServiceError, Services, clean_text};
use crate::actors::token_sessions::InvalidateOwner;
use crate::model::{Client, Owner, OwnerAccess, OwnerStatus, ReportingMode};
use crate::storage::owners::{Change, ChangeRecord};
use crate::storage::{self, DbConn};

/// What Launcher (or an operator) says about an owner. `None` leaves a field as it is
/// (a new owner gets no client and the voluntary mode).
#[derive(Debug, Clone)]
pub struct OwnerProjection {
    pub user_id: Uuid,
    pub display_name: String,
    pub status: OwnerStatus,
    pub codex_agents: bool,
    /// `Some(None)` takes the owner out of its client.
    pub client_id: Option<Option<Uuid>>,
    pub reporting_mode: Option<ReportingMode>,
}

/// What Launcher says about a client.
#[derive(Debug, Clone)]
pub struct ClientProjection {
    pub id: Uuid,
    pub display_name: String,
    pub codex_agents: bool,
}

impl Services<'_> {
    /// Creates or updates an owner. Losing access drops the owner's cached tokens at
    /// once (liveness is also read on every request) and ends its agents' MCP sessions.
    pub async fn upsert_owner(&self, ctx: &Ctx, p: OwnerProjection) -> Result<Owner, ServiceError> {
        let change = async {
            let display_name = clean_text("display_name", &p.display_name, 1, 200)?;
            let p = OwnerProjection { display_name, ..p };
            let owner = self.retry_first_insert(ctx, move |conn, ctx| apply_owner(conn, &p, ctx)).await?;
            self.drop_cached_if_denied(owner.user_id).await?;
            Ok(owner)
        };
        audit::audited(self.db, ctx, "owner.upsert", Subject::owner(p.user_id), change).await
    }

    /// Creates or updates a client. Turning its `codex_agents` off refuses every agent
    /// of every owner in it on their next request.
    pub async fn upsert_client(&self, ctx: &Ctx, p: ClientProjection) -> Result<Client, ServiceError> {
        let change = async {
            let display_name = clean_text("display_name", &p.display_name, 1, 200)?;
            let p = ClientProjection { display_name, ..p };
            let client = self.retry_first_insert(ctx, move |conn, ctx| apply_client(conn, &p, ctx)).await?;
            if !client.codex_agents {
                let id = client.id;
                for owner in self.db.run(move |c| storage::owners::of_client(c, id)).await? {
                    self.drop_cached_if_denied(owner).await?;
                }
            }
            Ok(client)
        };
        audit::audited(self.db, ctx, "client.upsert", Subject::default(), change).await
    }

    /// Sets an owner's reporting mode (the owner lifecycle API); it applies to the
    /// owner's agents' next call.
    pub async fn set_reporting_mode(&self, ctx: &Ctx, owner: Uuid, mode: ReportingMode) -> Result<Owner, ServiceError> {
        let change = async {
            let ctx2 = ctx.clone();
            self.db
                .write(move |conn| {
                    let mut o = storage::owners::find(conn, owner)?.ok_or(ServiceError::NotFound(Entity::Owner))?;
                    let old = o.reporting_mode;
                    o.reporting_mode = mode;
                    o.updated_at = storage::now().and_utc();
                    if old != mode {
                        storage::owners::update(conn, &o)?;
                        let change = history(&ctx2, "reporting_mode", Some(old.to_string()), mode.to_string());
                        storage::owners::record_change(conn, owner, change)?;
                    }
                    audit::allowed(conn, &ctx2, "owner.reporting_mode", Subject::owner(owner))?;
                    Ok(o)
                })
                .await
        };
        audit::audited(self.db, ctx, "owner.reporting_mode", Subject::owner(owner), change).await
    }

    /// Two first projections of one owner or client may race to insert it; the loser
    /// finds the row on its second try and updates it.
    async fn retry_first_insert<T: Send + 'static>(
        &self,
        ctx: &Ctx,
        apply: impl Fn(&mut DbConn, &Ctx) -> Result<T, ServiceError> + Send + Clone + 'static,
    ) -> Result<T, ServiceError> {
        let mut attempt = 0;
        loop {
            let (apply, ctx) = (apply.clone(), ctx.clone());
            match self.db.write(move |conn| apply(conn, &ctx)).await {
                Err(ServiceError::Storage(e)) if e.is_unique_violation() && attempt == 0 => attempt += 1,
                other => return other,
            }
        }
    }

    async fn drop_cached_if_denied(&self, owner: Uuid) -> Result<(), ServiceError> {
        if self.owner_access(owner).await?.allowed {
            return Ok(());
        }
        // Its agents' MCP sessions end, as a token revoke ends the token's: a session
        // does not outlive the access it was opened with, even if access comes back.
        self.db.write(move |c| storage::mcp_sessions::close_for_owner(c, owner, storage::now())).await?;
        if let Some(sessions) = self.sessions {
            let _ = sessions.send(InvalidateOwner(owner)).await;
        }
        Ok(())
    }

    pub async fn owner(&self, user_id: Uuid) -> Result<Owner, ServiceError> {
        self.db.run(move |c| storage::owners::find(c, user_id)).await?.ok_or(ServiceError::NotFound(Entity::Owner))
    }

    pub async fn client(&self, id: Uuid) -> Result<Client, ServiceError> {
        self.db.run(move |c| storage::clients::find(c, id)).await?.ok_or(ServiceError::NotFound(Entity::Client))
    }

    /// May this owner use Codex agents? An owner never projected is refused as unknown;
    /// an owner in a client that has `codex_agents` off is refused too.
    pub async fn owner_access(&self, user_id: Uuid) -> Result<OwnerAccess, ServiceError> {
        let found = self.db.run(move |c| storage::owners::find_with_standing(c, user_id)).await?;
        let denial = crate::model::owner::access_denial(found.map(|(_, standing)| standing));
        Ok(OwnerAccess::new(user_id, denial))
    }

    pub async fn owner_changes(&self, user_id: Uuid, limit: i64) -> Result<Vec<ChangeRecord>, ServiceError> {
        Ok(self.db.run(move |c| storage::owners::list_changes(c, user_id, limit)).await?)
    }

    pub async fn client_changes(&self, id: Uuid, limit: i64) -> Result<Vec<ChangeRecord>, ServiceError> {
        Ok(self.db.run(move |c| storage::clients::list_changes(c, id, limit)).await?)
    }
}

/// Writes one owner projection: the owner row, a history row per changed field, the
/// audit event. Runs inside the caller's write transaction.
fn apply_owner(conn: &mut DbConn, p: &OwnerProjection, ctx: &Ctx) -> Result<Owner, ServiceError> {
    let now = storage::now().and_utc();
    let before = storage::owners::find(conn, p.user_id)?;
    let client_id = match p.client_id {
        Some(id) => id,
        None => before.as_ref().and_then(|b| b.client_id),
    };
    if let Some(id) = client_id
        && before.as_ref().and_then(|b| b.client_id) != Some(id)
        && storage::clients::find(conn, id)?.is_none()
    {
        let msg = format!("client {id} is unknown: project it (PUT /api/internal/v1/clients/{id}) before its owners");
        return Err(ServiceError::refused(Refusal::UnknownClient, msg));
    }
    let owner = Owner {
        user_id: p.user_id,
        display_name: p.display_name.clone(),
        status: p.status,
        codex_agents: p.codex_agents,
        client_id,
        reporting_mode: p
            .reporting_mode
            .or(before.as_ref().map(|b| b.reporting_mode))
            .unwrap_or(ReportingMode::Voluntary),
        created_at: before.as_ref().map_or(now, |b| b.created_at),
        updated_at: now,
    };
    let opt = |v: Option<Uuid>| v.map_or_else(|| "none".to_string(), |v| v.to_string());
    let fields = [
        ("display_name", before.as_ref().map(|b| b.display_name.clone()), owner.display_name.clone()),
        ("status", before.as_ref().map(|b| b.status.to_string()), owner.status.to_string()),
        ("codex_agents", before.as_ref().map(|b| b.codex_agents.to_string()), owner.codex_agents.to_string()),
        ("client_id", before.as_ref().map(|b| opt(b.client_id)), opt(owner.client_id)),
        ("reporting_mode", before.as_ref().map(|b| b.reporting_mode.to_string()), owner.reporting_mode.to_string()),
    ];
    let changed: Vec<_> = fields.into_iter().filter(|(_, old, new)| old.as_ref() != Some(new)).collect();
    match &before {
        None => storage::owners::insert(conn, &owner)?,
        Some(_) if !changed.is_empty() => storage::owners::update(conn, &owner)?,
        Some(_) => {}
    }
    for (field, old, new) in changed {
        // A new owner's defaults (no client, the voluntary mode) are not worth a line.
        let defaulted = match field {
            "client_id" => owner.client_id.is_none(),
            "reporting_mode" => p.reporting_mode.is_none(),
            _ => false,
        };
        if before.is_none() && defaulted {
            continue;
        }
        storage::owners::record_change(conn, owner.user_id, history(ctx, field, old, new))?;
    }
    audit::allowed(conn, ctx, "owner.upsert", Subject::owner(p.user_id))?;
    storage::owners::find(conn, p.user_id)?.ok_or(ServiceError::NotFound(Entity::Owner))
}

/// Writes one client projection, its history and audit event.
fn apply_client(conn: &mut DbConn, p: &ClientProjection, ctx: &Ctx) -> Result<Client, ServiceError> {
    let now = storage::now().and_utc();
    let before = storage::clients::find(conn, p.id)?;
    let client = Client {
        id: p.id,
        display_name: p.display_name.clone(),
        codex_agents: p.codex_agents,
        created_at: before.as_ref().map_or(now, |b| b.created_at),
        updated_at: now,
    };
    let fields = [
        ("display_name", before.as_ref().map(|b| b.display_name.clone()), client.display_name.clone()),
        ("codex_agents", before.as_ref().map(|b| b.codex_agents.to_string()), client.codex_agents.to_string()),
    ];
    let changed: Vec<_> = fields.into_iter().filter(|(_, old, new)| old.as_ref() != Some(new)).collect();
    match &before {
        None => storage::clients::insert(conn, &client)?,
        Some(_) if !changed.is_empty() => storage::clients::update(conn, &client)?,
        Some(_) => {}
    }
    for (field, old, new) in changed {
        storage::clients::record_change(conn, client.id, history(ctx, field, old, new))?;
    }
    audit::allowed(conn, ctx, "client.upsert", Subject::default())?;
    storage::clients::find(conn, p.id)?.ok_or(ServiceError::NotFound(Entity::Client))
}

fn history<'a>(ctx: &'a Ctx, field: &'a str, old_value: Option<String>, new_value: String) -> Change<'a> {
    Change {
        changed_at: storage::now(),
        request_id: &ctx.request_id,
        source: ctx.source(),
        changed_by: ctx.admin.as_deref(),
        field,
        old_value,
        new_value,
    }
}

/// The owner's access, checked inside a transaction before an agent or token is made.
pub(crate) fn require_access(conn: &mut DbConn, owner: Uuid) -> Result<(), ServiceError> {
    let standing = storage::owners::find_with_standing(conn, owner)?.map(|(_, s)| s);
    match crate::model::owner::access_denial(standing) {
        Some(d) => Err(ServiceError::AccessDenied(d)),
        None => Ok(()),
    }
}
