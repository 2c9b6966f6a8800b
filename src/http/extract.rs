//! Request extractors: who is calling, and JSON/path/query error handling that answers
//! in the common error shape.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError};
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::AppState;
use super::error::{ApiError, HttpCode};
use super::refusals;
use super::request_context::{LoggedAgent, RequestId, note};
use crate::actors::token_sessions::{AuthError, Authenticate, Principal};
use crate::auth::{AgentToken, InternalRole};
use crate::model::AuditActor;
use crate::service::Ctx;
use uuid::Uuid;

fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Err(ApiError::new(HttpCode::MissingToken, "send `Authorization: Bearer <token>`"));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::new(HttpCode::MalformedAuthorization, "the Authorization header is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::new(HttpCode::MalformedAuthorization, "expected `Authorization: Bearer <token>`")),
    }
}

fn state(req: &HttpRequest) -> &AppState {
    req.app_data::<web::Data<AppState>>().expect("AppState is registered on the app")
}

fn request_id(req: &HttpRequest) -> String {
    req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

/// The name of the admin a projection call is made for, recorded in the change history.
pub const ADMIN_HEADER: &str = "x-nodedc-admin";

/// Checks an internal token and builds the audit context: the role it carries, and the
/// admin the call names. `allowed` lists the roles this route accepts besides the
/// shared token.
fn internal(req: &HttpRequest, allowed: &[InternalRole]) -> Result<Ctx, ApiError> {
    let presented = bearer(req).inspect_err(count_failure)?;
    let Some(role) = state(req).internal_tokens.role_of(presented) else {
        return Err(ApiError::new(HttpCode::InvalidInternalToken, "the internal token is not valid"))
            .inspect_err(count_failure);
    };
    if role != InternalRole::Shared && !allowed.contains(&role) {
        let whose = match role {
            InternalRole::Launcher => {
                "Launcher's token may call the entitlement projection and the admin reporting only"
            }
            _ => "Tasker's backend's token may call the owner lifecycle and the per-owner reporting only",
        };
        return Err(ApiError::new(HttpCode::InternalTokenNotAllowed, whose)).inspect_err(count_failure);
    }
    let mut ctx = Ctx::new(request_id(req), AuditActor::Internal);
    ctx.role = Some(role);
    ctx.admin = admin_named(req)?;
    Ok(ctx)
}

/// `X-NodeDC-Admin`: 1 to 200 printable characters, or absent.
fn admin_named(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.headers().get(ADMIN_HEADER) else {
        return Ok(None);
    };
    let name = raw.to_str().map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        let msg = "`X-NodeDC-Admin` must name the admin in 1 to 200 printable characters";
        return Err(ApiError::new(HttpCode::InvalidHeader, msg));
    }
    Ok(Some(name.to_string()))
}

macro_rules! internal_caller {
    ($(#[$m:meta])* $name:ident, [$($role:ident),*]) => {
        $(#[$m])*
        pub struct $name(pub Ctx);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = std::future::Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                std::future::ready(internal(req, &[$(InternalRole::$role),*]).map($name))
            }
        }
    };
}

internal_caller!(
    /// Any internal caller (the shared token, Launcher's or Tasker's backend's).
    InternalCaller,
    [Launcher, TaskerBackend]
);
internal_caller!(
    /// Launcher: the entitlement projection and the admin reporting.
    LauncherCaller,
    [Launcher]
);
internal_caller!(
    /// Tasker's backend: the owner lifecycle and the per-owner reporting.
    TaskerCaller,
    [TaskerBackend]
);

/// A caller holding a valid agent token.
pub struct AgentCaller {
    pub principal: Principal,
    pub ctx: Ctx,
    /// The protocol version of the MCP session the request names in `Mcp-Session-Id`,
    /// when that session is open and bound to this token (read with the token).
    pub session: Option<String>,
}

impl AgentCaller {
    /// Authenticates outside the extractor machinery (for handlers that check other
    /// things first).
    pub async fn extract(req: &HttpRequest) -> Result<Self, ApiError> {
        <Self as FromRequest>::from_request(req, &mut Payload::None).await
    }
}

impl FromRequest for AgentCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Format and checksum are checked here: a malformed token never reaches the
        // actor or the database.
        let parsed = bearer(req).and_then(|raw| AgentToken::parse(raw).map_err(ApiError::from));
        let state = state(req);
        let sessions = state.sessions.clone();
        let client = if state.trust_forwarded_for { forwarded_client(req) } else { req.peer_addr().map(|a| a.ip()) };
        let session = req
            .headers()
            .get(crate::mcp::SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v.trim()).ok());
        let req = req.clone();
        Box::pin(async move {
            let found = async {
                let token = parsed?;
                let token_id = token.id();
                match sessions.send(Authenticate { token, client, session }).await? {
                    Ok(found) => Ok(found),
                    Err(e) => {
                        let counted = !matches!(
                            e,
                            AuthError::TooManyFailures { .. }
                                | AuthError::Busy { .. }
                                | AuthError::Storage(_)
                                | AuthError::Internal(_)
                        );
                        let api = ApiError::from(e);
                        if counted {
                            refusals::audit_failed_auth(&req, token_id, api.code).await;
                        }
                        Err(api)
                    }
                }
            };
            let found = found.await.inspect_err(count_failure)?;
            let principal = found.principal;
            req.extensions_mut().insert(LoggedAgent(principal.agent_id));
            req.extensions_mut().insert(refusals::AuthedAgent {
                agent_id: principal.agent_id,
                owner_user_id: principal.owner_user_id,
                token_id: principal.token_id,
            });
            note(|n| n.owner = Some(principal.owner_user_id));
            let mut ctx = Ctx::new(request_id(&req), AuditActor::Agent);
            ctx.token_id = Some(principal.token_id);
            Ok(AgentCaller { principal, ctx, session: found.session })
        })
    }
}

/// A refused credential, in the metrics: a 401 or 403 (the token, or its owner, is
/// refused) or 429 (too many failures), by its code. An unavailable database is not an
/// authentication failure.
fn count_failure(e: &ApiError) {
    use actix_web::http::StatusCode;
    if matches!(e.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS) {
        crate::telemetry::metrics::auth_failure(e.code);
    }
}

/// Behind a trusted proxy: the last `X-Forwarded-For` entry, the one the proxy itself
/// appended (earlier entries are whatever the client claimed). No usable header: the
/// peer address.
fn forwarded_client(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| client_ip(last.trim()))
        .or_else(|| req.peer_addr().map(|a| a.ip()))
}

/// `203.0.113.7`, `203.0.113.7:5123` or `[2001:db8::1]:5123` as an address.
fn client_ip(raw: &str) -> Option<std::net::IpAddr> {
    raw.parse().ok().or_else(|| raw.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

pub fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            ApiError::new(HttpCode::PayloadTooLarge, format!("the body is {length} bytes; the limit is {limit}"))
        }
        JsonPayloadError::Overflow { limit } => {
            ApiError::new(HttpCode::PayloadTooLarge, format!("the body is larger than the limit of {limit} bytes"))
        }
        JsonPayloadError::ContentType => {
            ApiError::new(HttpCode::UnsupportedMediaType, "send the body as `Content-Type: application/json`")
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::new(HttpCode::InvalidBody, format!("the JSON body is not acceptable: {e}"))
        }
        other => ApiError::new(HttpCode::InvalidBody, format!("the body could not be read: {other}")),
    };
    api.into()
}

pub fn path_error(err: PathError, _: &HttpRequest) -> actix_web::Error {
    let detail = match &err {
        PathError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    ApiError::new(HttpCode::InvalidPath, format!("a path segment is not valid: {detail} (ids are UUIDs)")).into()
}

/// Why a value did not deserialize, naming where: `grants[0].project_id: UUID parsing
/// failed…` rather than a bare serde message.
fn describe<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    if path == "." || path.is_empty() { e.inner().to_string() } else { format!("`{path}`: {}", e.inner()) }
}

/// A JSON body: syntax, media type and size are checked by actix's JSON extractor
/// (answered by [`json_error`]); the shape is then checked here, naming the field.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            serde_path_to_error::deserialize(value).map(Body).map_err(|e| {
                ApiError::new(HttpCode::InvalidBody, format!("the JSON body is not acceptable: {}", describe(e))).into()
            })
        })
    }
}

/// A query string, checked naming the parameter.
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = form_urlencoded::parse(req.query_string().as_bytes());
        let de = serde_urlencoded::Deserializer::new(parsed);
        std::future::ready(serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            ApiError::new(HttpCode::InvalidQuery, format!("the query string is not valid: {}", describe(e)))
        }))
    }
}
