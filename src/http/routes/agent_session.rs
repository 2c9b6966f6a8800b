//! What an agent's token says about itself (agent token).

use actix_web::HttpResponse;
use serde_json::json;

use crate::http::extract::AgentCaller;
use crate::model::ScopeSet;

/// The calling agent: identity, owner, granted projects and the scopes in each.
pub async fn whoami(caller: AgentCaller) -> HttpResponse {
    let p = &caller.principal;
    let all_scopes: ScopeSet = p.grants.iter().flat_map(|g| g.scopes.iter().copied()).collect();
    HttpResponse::Ok().json(json!({
        "agent": { "id": p.agent_id, "name": p.agent_name },
        "owner_user_id": p.owner_user_id,
        "token_id": p.token_id,
        "grants": p.grants,
        "scopes": all_scopes,
    }))
}

/// The calling agent's setup packet (Codex configuration and AGENTS.md; no secret).
pub async fn setup(caller: AgentCaller, state: actix_web::web::Data<crate::http::AppState>) -> HttpResponse {
    let p = &caller.principal;
    HttpResponse::Ok().json(crate::setup::packet(p.agent_id, &p.agent_name, &p.grants, &state.public_url))
}
