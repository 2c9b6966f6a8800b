//! The adapter's route table under [`BASE_PATH`]. Every path is one resource; another
//! method on it, or an unknown path, is `not_found` (deletes and archiving are refused
//! before routing, see `extract::check_api_call`).

pub mod blocks;
pub mod comments;
pub mod issues;
pub mod projects;
pub mod relations;
pub mod write;

use actix_web::web::{self, get, patch, post};
use actix_web::{HttpRequest, HttpResponse, Resource};

use super::error::RefTaskerError;
use crate::tasker::contract::{self as c, BASE_PATH};

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, RefTaskerError> {
    Err(RefTaskerError::not_found(format!("no route for {} {}", req.method(), req.path())))
}

fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(not_found))
}

/// The contract's endpoints (`contract::ENDPOINTS`), each on its handler.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE_PATH)
            .service(resource(c::LIST_PROJECTS.pattern).route(get().to(projects::list)))
            .service(resource(c::USER_PROJECTS.pattern).route(get().to(projects::of_user)))
            .service(resource(c::RESOLVE_PROJECT.pattern).route(get().to(projects::resolve)))
            .service(resource(c::PROJECT_CONTEXT.pattern).route(get().to(projects::context)))
            .service(
                resource(c::SEARCH_ISSUES.pattern).route(get().to(issues::search)).route(post().to(issues::create)),
            )
            .service(resource(c::ADD_PROJECT_MEMBER.pattern).route(post().to(projects::add_member)))
            .service(resource(c::GET_ISSUE.pattern).route(get().to(issues::get)).route(patch().to(issues::update)))
            .service(resource(c::MOVE_ISSUE.pattern).route(post().to(issues::move_issue)))
            .service(resource(c::ADD_COMMENT.pattern).route(post().to(comments::add)))
            .service(resource(c::CHANGE_LABELS.pattern).route(post().to(relations::labels)))
            .service(resource(c::CHANGE_ASSIGNEES.pattern).route(post().to(relations::assignees)))
            .service(resource(c::UPDATE_BLOCKS.pattern).route(post().to(blocks::update)))
            .default_service(web::to(not_found)),
    );
}
