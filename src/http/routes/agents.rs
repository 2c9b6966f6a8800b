//! Owner lifecycle API: an owner's agents and their grants (internal token). Every
//! route is scoped to the owner in the path; another owner's agent is a 404.

use actix_web::{HttpResponse, web};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::{Body, TaskerCaller};
use crate::model::{Agent, Grant, ProjectIdentifier, Scope, double_option};
use crate::service::Within;
use crate::service::agents::{AgentPatch, GrantRequest, NewAgent};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    project_id: Uuid,
    project_identifier: ProjectIdentifier,
    /// Omitted: read-only (`project:read`, `issue:read`).
    scopes: Option<Vec<Scope>>,
}

impl From<GrantBody> for GrantRequest {
    fn from(g: GrantBody) -> Self {
        GrantRequest { project_id: g.project_id, project_identifier: g.project_identifier, scopes: g.scopes }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    grants: Vec<GrantBody>,
}

pub async fn create(
    TaskerCaller(ctx): TaskerCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Body(b): Body<CreateAgent>,
) -> Result<HttpResponse, ApiError> {
    let new =
        NewAgent { name: b.name, description: b.description, grants: b.grants.into_iter().map(Into::into).collect() };
    let view = state.services().create_agent(&ctx, owner.into_inner(), new).await?;
    Ok(HttpResponse::Created().json(view))
}

pub async fn list(
    _: TaskerCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let agents = state.services().list_agents(Within::Owner(owner.into_inner())).await?;
    Ok(HttpResponse::Ok().json(AgentList { agents }))
}

pub async fn get(
    _: TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.services().agent(Within::Owner(owner), agent).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    name: Option<String>,
    description: Option<String>,
    /// Calls per minute; `null` returns to the gateway default.
    #[serde(default, deserialize_with = "double_option")]
    read_per_minute: Option<Option<u32>>,
    #[serde(default, deserialize_with = "double_option")]
    write_per_minute: Option<Option<u32>>,
}

pub async fn update(
    TaskerCaller(ctx): TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    Body(b): Body<UpdateAgent>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent) = path.into_inner();
    if b.name.is_none() && b.description.is_none() && b.read_per_minute.is_none() && b.write_per_minute.is_none() {
        return Err(ApiError::new(
            HttpCode::InvalidBody,
            "send at least one of `name`, `description`, `read_per_minute`, `write_per_minute`",
        ));
    }
    let patch = AgentPatch {
        name: b.name,
        description: b.description,
        read_per_minute: b.read_per_minute,
        write_per_minute: b.write_per_minute,
    };
    Ok(HttpResponse::Ok().json(state.services().update_agent(&ctx, Within::Owner(owner), agent, patch).await?))
}

pub async fn revoke(
    TaskerCaller(ctx): TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.services().revoke_agent(&ctx, Within::Owner(owner), agent).await?))
}

pub async fn grants(
    _: TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent) = path.into_inner();
    let grants = state.services().grants(Within::Owner(owner), agent).await?;
    Ok(HttpResponse::Ok().json(GrantList { grants }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceGrants {
    grants: Vec<GrantBody>,
}

pub async fn replace_grants(
    TaskerCaller(ctx): TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    Body(body): Body<ReplaceGrants>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent) = path.into_inner();
    let requests = body.grants.into_iter().map(Into::into).collect();
    let grants = state.services().replace_grants(&ctx, Within::Owner(owner), agent, requests).await?;
    Ok(HttpResponse::Ok().json(GrantList { grants }))
}

#[derive(Serialize, JsonSchema)]
pub struct AgentList {
    agents: Vec<Agent>,
}

#[derive(Serialize, JsonSchema)]
pub struct GrantList {
    grants: Vec<Grant>,
}

/// The agent's setup packet, for Tasker's setup panel (no secret).
pub async fn setup(
    _: TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent) = path.into_inner();
    let view = state.services().agent(Within::Owner(owner), agent).await?;
    Ok(HttpResponse::Ok().json(crate::setup::packet(view.agent.id, &view.agent.name, &view.grants, &state.public_url)))
}
