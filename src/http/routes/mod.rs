//! Route table. Each path is one resource, so a known path with another method (a
//! DELETE, say) is answered 405, never passed on. Nothing here forwards a path.

mod agent_session;
mod agents;
mod health;
mod mcp;
mod owners;
mod tokens;
mod tools;

use actix_web::web::{self, get, patch, post, put, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(get().to(health::healthz)))
        .service(resource("/readyz").route(get().to(health::readyz)))
        .service(
            web::scope("/api/internal/v1/owners/{owner_user_id}")
                .service(resource("").route(put().to(owners::upsert)).route(get().to(owners::get)))
                .service(resource("/access").route(get().to(owners::access)))
                .service(resource("/changes").route(get().to(owners::changes)))
                .service(resource("/audit").route(get().to(owners::audit)))
                .service(resource("/agents").route(post().to(agents::create)).route(get().to(agents::list)))
                .service(resource("/agents/{agent_id}").route(get().to(agents::get)).route(patch().to(agents::update)))
                .service(resource("/agents/{agent_id}/revoke").route(post().to(agents::revoke)))
                .service(resource("/agents/{agent_id}/setup").route(get().to(agents::setup)))
                .service(
                    resource("/agents/{agent_id}/grants")
                        .route(get().to(agents::grants))
                        .route(put().to(agents::replace_grants)),
                )
                .service(
                    resource("/agents/{agent_id}/tokens").route(post().to(tokens::issue)).route(get().to(tokens::list)),
                )
                .service(resource("/agents/{agent_id}/tokens/{token_id}/revoke").route(post().to(tokens::revoke))),
        )
        .service(resource("/api/v1/agent-session").route(get().to(agent_session::whoami)))
        .service(resource("/api/v1/agent-session/setup").route(get().to(agent_session::setup)))
        .service(resource("/mcp").route(post().to(mcp::post)).route(web::delete().to(mcp::delete)))
        .service(
            web::scope("/api/v1")
                .service(resource("/projects").route(get().to(tools::list_projects)))
                .service(resource("/projects/{project}/context").route(get().to(tools::project_context)))
                .service(
                    resource("/projects/{project}/issues")
                        .route(get().to(tools::search_issues))
                        .route(post().to(tools::create_issue)),
                )
                .service(resource("/projects/{project}/members").route(post().to(tools::add_project_member)))
                .service(
                    resource("/issues/{issue}")
                        .route(get().to(tools::get_issue))
                        .route(patch().to(tools::update_issue)),
                )
                .service(resource("/issues/{issue}/move").route(post().to(tools::move_issue)))
                .service(resource("/issues/{issue}/comments").route(post().to(tools::add_comment)))
                .service(resource("/issues/{issue}/labels").route(post().to(tools::set_labels)))
                .service(resource("/issues/{issue}/assignees").route(post().to(tools::assign_issue)))
                .service(resource("/issues/{issue}/blocks").route(post().to(tools::update_blocks))),
        );
}
