//! Route table. Each path is one resource, so a known path with another method (a
//! DELETE, say) is answered 405, never passed on. Nothing here forwards a path.

mod agent_session;
mod agents;
mod health;
mod owners;
mod tokens;

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
        .service(resource("/api/v1/agent-session").route(get().to(agent_session::whoami)));
}
