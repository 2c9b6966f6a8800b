//! The Launcher entitlement projection: owners and clients (Launcher's token or the
//! shared one), reading them (any internal token), and an owner's reporting mode
//! (Tasker's backend's token or the shared one).

use actix_web::{HttpResponse, web};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::{Body, InternalCaller, LauncherCaller, Query, TaskerCaller};
use crate::model::{Client, Owner, OwnerAccess, OwnerStatus, ReportingMode, double_option};
use crate::service::owners::{ClientProjection, OwnerProjection};
use crate::storage::owners::ChangeRecord;

pub const CODEX_AGENTS: &str = "codex_agents";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertOwner {
    display_name: String,
    status: OwnerStatus,
    /// Launcher module entitlements; `codex_agents` is the one this gateway needs.
    entitlements: Vec<String>,
    /// The client (organisation) the owner belongs to; `null` for none; absent: as it was.
    #[serde(default, deserialize_with = "double_option")]
    client_id: Option<Option<Uuid>>,
    /// Absent: as it was (`voluntary` for a new owner).
    #[serde(default)]
    reporting_mode: Option<ReportingMode>,
}

/// `codex_agents` among well-formed module names.
fn has_codex_agents(entitlements: &[String]) -> Result<bool, ApiError> {
    if let Some(bad) = entitlements.iter().find(|e| !is_entitlement_name(e)) {
        return Err(ApiError::new(
            HttpCode::InvalidBody,
            format!("entitlement `{}` is not a module name (lowercase letters, digits, `_`)", bad.escape_debug()),
        ));
    }
    Ok(entitlements.iter().any(|e| e == CODEX_AGENTS))
}

pub async fn upsert(
    LauncherCaller(ctx): LauncherCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Body(body): Body<UpsertOwner>,
) -> Result<HttpResponse, ApiError> {
    let projection = OwnerProjection {
        user_id: owner.into_inner(),
        display_name: body.display_name,
        status: body.status,
        codex_agents: has_codex_agents(&body.entitlements)?,
        client_id: body.client_id,
        reporting_mode: body.reporting_mode,
    };
    let owner = state.services().upsert_owner(&ctx, projection).await?;
    let access = state.services().owner_access(owner.user_id).await?;
    Ok(HttpResponse::Ok().json(OwnerAnswer { owner, access }))
}

/// The owner as projected, and whether its agents may work.
#[derive(Serialize, JsonSchema)]
pub struct OwnerAnswer {
    owner: Owner,
    access: OwnerAccess,
}

/// A change history, newest first.
#[derive(Serialize, JsonSchema)]
pub struct Changes {
    changes: Vec<ChangeRecord>,
}

#[derive(Serialize, JsonSchema)]
pub struct ClientAnswer {
    client: Client,
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

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    limit: Option<u16>,
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
    Ok(HttpResponse::Ok().json(Changes { changes }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeBody {
    mode: ReportingMode,
}

/// `PUT …/reporting-mode`: `voluntary` or `required`, from the agents' next call.
pub async fn set_reporting_mode(
    TaskerCaller(ctx): TaskerCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Body(body): Body<ModeBody>,
) -> Result<HttpResponse, ApiError> {
    let owner = state.services().set_reporting_mode(&ctx, owner.into_inner(), body.mode).await?;
    Ok(HttpResponse::Ok().json(owner))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertClient {
    display_name: String,
    /// Launcher module entitlements of the client; `codex_agents` enables its owners.
    entitlements: Vec<String>,
}

/// `PUT /api/internal/v1/clients/{clientId}`: the client's projection.
pub async fn upsert_client(
    LauncherCaller(ctx): LauncherCaller,
    state: web::Data<AppState>,
    client: web::Path<Uuid>,
    Body(body): Body<UpsertClient>,
) -> Result<HttpResponse, ApiError> {
    let p = ClientProjection {
        id: client.into_inner(),
        display_name: body.display_name,
        codex_agents: has_codex_agents(&body.entitlements)?,
    };
    let client = state.services().upsert_client(&ctx, p).await?;
    Ok(HttpResponse::Ok().json(ClientAnswer { client }))
}

pub async fn get_client(
    _: LauncherCaller,
    state: web::Data<AppState>,
    client: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.services().client(client.into_inner()).await?))
}

pub async fn client_changes(
    _: LauncherCaller,
    state: web::Data<AppState>,
    client: web::Path<Uuid>,
    Query(q): Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = client.into_inner();
    state.services().client(id).await?;
    let changes = state.services().client_changes(id, limit(q.limit)?).await?;
    Ok(HttpResponse::Ok().json(Changes { changes }))
}
