//! The Launcher entitlement projection (internal token).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::{Body, InternalCaller, Query};
use crate::model::OwnerStatus;
use crate::service::owners::OwnerProjection;
use crate::storage::audit::AuditFilter;

pub const CODEX_AGENTS: &str = "codex_agents";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsertOwner {
    display_name: String,
    status: OwnerStatus,
    /// Launcher module entitlements; `codex_agents` is the one this gateway needs.
    entitlements: Vec<String>,
}

pub async fn upsert(
    InternalCaller(ctx): InternalCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Body(body): Body<UpsertOwner>,
) -> Result<HttpResponse, ApiError> {
    if let Some(bad) = body.entitlements.iter().find(|e| !is_entitlement_name(e)) {
        return Err(ApiError::new(
            HttpCode::InvalidBody,
            format!("entitlement `{}` is not a module name (lowercase letters, digits, `_`)", bad.escape_debug()),
        ));
    }
    let projection = OwnerProjection {
        user_id: owner.into_inner(),
        display_name: body.display_name,
        status: body.status,
        codex_agents: body.entitlements.iter().any(|e| e == CODEX_AGENTS),
    };
    let owner = state.services().upsert_owner(&ctx, projection).await?;
    let access = state.services().owner_access(owner.user_id).await?;
    Ok(HttpResponse::Ok().json(json!({ "owner": owner, "access": access })))
}

fn is_entitlement_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub async fn get(
    _: InternalCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let owner = state.services().owner(owner.into_inner()).await?;
    Ok(HttpResponse::Ok().json(owner))
}

pub async fn access(
    _: InternalCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.services().owner_access(owner.into_inner()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    limit: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<u16>,
    agent_id: Option<Uuid>,
}

fn limit(limit: Option<u16>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(100),
        Some(n @ 1..=500) => Ok(i64::from(n)),
        Some(n) => Err(ApiError::new(HttpCode::InvalidQuery, format!("limit {n} is out of range 1..=500"))),
    }
}

pub async fn changes(
    _: InternalCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Query(q): Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    let changes = state.services().owner_changes(owner.into_inner(), limit(q.limit)?).await?;
    Ok(HttpResponse::Ok().json(json!({ "changes": changes })))
}

/// The owner's audit trail, newest first, optionally for one agent.
pub async fn audit(
    _: InternalCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Query(q): Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = AuditFilter {
        owner_user_id: Some(owner.into_inner()),
        agent_id: q.agent_id,
        request_id: None,
        limit: limit(q.limit)?,
    };
    let events = state.services().audit_trail(filter).await?;
    Ok(HttpResponse::Ok().json(json!({ "events": events })))
}
