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

use super::error::TaskerError;
use crate::tasker::contract::BASE_PATH;

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, TaskerError> {
    Err(TaskerError::not_found(format!("no route for {} {}", req.method(), req.path())))
}

fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(not_found))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE_PATH)
            .service(resource("/projects").route(get().to(projects::list)))
            .service(resource("/projects/resolve").route(get().to(projects::resolve)))
            .service(resource("/projects/{project_id}/context").route(get().to(projects::context)))
            .service(
                resource("/projects/{project_id}/issues")
                    .route(get().to(issues::search))
                    .route(post().to(issues::create)),
            )
            .service(resource("/projects/{project_id}/members").route(post().to(projects::add_member)))
            .service(resource("/issues/{issue}").route(get().to(issues::get)).route(patch().to(issues::update)))
            .service(resource("/issues/{issue}/move").route(post().to(issues::move_issue)))
            .service(resource("/issues/{issue}/comments").route(post().to(comments::add)))
            .service(resource("/issues/{issue}/labels").route(post().to(relations::labels)))
            .service(resource("/issues/{issue}/assignees").route(post().to(relations::assignees)))
            .service(resource("/issues/{issue}/blocks").route(post().to(blocks::update)))
            .default_service(web::to(not_found)),
    );
}
