//! The HTTP surface: actix-web routes that parse, call a service or send a message to an
//! actor, and map the reply. Errors of every layer become HTTP in `error.rs`.

pub mod error;
pub mod extract;
pub mod request_context;
pub mod routes;

use actix::Addr;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, from_fn};
use actix_web::{App, HttpResponse, web};

use std::sync::Arc;

use crate::actors::TokenSessions;
use crate::auth::InternalToken;
use crate::calls::Calls;
use crate::service::Services;
use crate::storage::Db;
use crate::tasker::client::{TaskerClient, TaskerConfig};
use error::ApiError;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub services: Services,
    pub sessions: Addr<TokenSessions>,
    pub internal_token: InternalToken,
    /// Base URL agents use to reach this gateway.
    pub public_url: String,
    /// Take the client address from `X-Forwarded-For`/`Forwarded` (behind a proxy).
    pub trust_forwarded_for: bool,
    /// The one call pipeline (MCP and REST).
    pub calls: Calls,
    /// Where Tasker is; each HTTP worker builds its own client from it.
    pub tasker: Arc<TaskerConfig>,
    /// Browser origins allowed on `/mcp` (DNS-rebinding protection).
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
}

/// The application: routes, body limits, error shapes, request context.
pub fn build(
    state: web::Data<AppState>,
    max_body_bytes: usize,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let tasker = web::Data::new(TaskerClient::new(state.tasker.clone()));
    App::new()
        .app_data(state)
        .app_data(tasker)
        .app_data(web::JsonConfig::default().limit(max_body_bytes).error_handler(extract::json_error))
        .app_data(web::PayloadConfig::default().limit(max_body_bytes))
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .configure(routes::configure)
        .default_service(web::to(not_found))
        .wrap(ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, method_not_allowed))
        .wrap(from_fn(request_context::request_context))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("route_not_found", "no such route"))
}

/// actix answers a known path with an unknown method with an empty 405; give it the
/// common error shape.
fn method_not_allowed<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let body: HttpResponse = actix_web::ResponseError::error_response(&ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on this route", req.method()),
    ));
    let res = ServiceResponse::new(req, body).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
