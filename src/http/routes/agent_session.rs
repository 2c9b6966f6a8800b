//! What an agent's token says about itself (agent token).

use actix_web::HttpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::http::extract::AgentCaller;
use crate::model::{Grant, ScopeSet};

#[derive(Serialize, JsonSchema)]
pub struct WhoAmI {
    agent: AgentName,
    owner_user_id: Uuid,
    token_id: Uuid,
    grants: Vec<Grant>,
    /// Every scope granted in some project.
    scopes: ScopeSet,
}

#[derive(Serialize, JsonSchema)]
pub struct AgentName {
    id: Uuid,
    name: String,
}

/// The calling agent: identity, owner, granted projects and the scopes in each.
pub async fn whoami(caller: AgentCaller) -> HttpResponse {
    let p = caller.principal;
    let scopes: ScopeSet = p.grants.iter().flat_map(|g| g.scopes.iter().copied()).collect();
    HttpResponse::Ok().json(WhoAmI {
        agent: AgentName { id: p.agent_id, name: p.agent_name },
        owner_user_id: p.owner_user_id,
        token_id: p.token_id,
        grants: p.grants,
        scopes,
    })
}

/// The calling agent's setup packet (Codex configuration and AGENTS.md; no secret).
pub async fn setup(caller: AgentCaller, state: actix_web::web::Data<crate::http::AppState>) -> HttpResponse {
    let p = &caller.principal;
    HttpResponse::Ok().json(crate::setup::packet(p.agent_id, &p.agent_name, &p.grants, &state.public_url))
}
