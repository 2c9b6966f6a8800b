//! The HTTP surface: actix-web routes that parse, call a service or send a message to an
//! actor, and map the reply. Errors of every layer become HTTP in `error.rs`.

pub mod error;
pub mod extract;
pub mod openapi;
pub mod refusals;
pub mod request_context;
pub mod routes;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, from_fn};
use actix_web::{App, HttpResponse, web};

pub use crate::app::AppState;
use crate::tasker::client::TaskerClient;
use error::{ApiError, HttpCode};

/// The application: routes, body limits, error shapes, request context.
pub fn build(
    state: web::Data<AppState>,
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
    let max_body_bytes = state.max_body_bytes;
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

/// The separate metrics listener (`METRICS_BIND`): `GET /metrics` without a token,
/// nothing else.
pub fn build_metrics(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .service(web::resource("/metrics").route(web::get().to(routes::metrics::open)))
        .default_service(web::to(not_found))
        .wrap(from_fn(request_context::request_context))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(HttpCode::RouteNotFound, "no such route"))
}

/// actix answers a known path with an unknown method with an empty 405; give it the
/// common error shape.
fn method_not_allowed<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let body: HttpResponse = actix_web::ResponseError::error_response(&ApiError::new(
        HttpCode::MethodNotAllowed,
        format!("{} is not allowed on this route", req.method()),
    ));
    let res = ServiceResponse::new(req, body).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
