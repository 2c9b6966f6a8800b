//! The one JSON error shape, and the one place errors of every layer become HTTP.
//!
//! ```json
//! {"error": {"code": "agent_not_found", "message": "agent not found", "request_id": "…"}}
//! ```
//!
//! Every code comes from a typed enum that knows its status: [`HttpCode`] for what
//! the HTTP layer itself refuses, `ToolCode` for tool calls, the service layer's
//! `Refusal` and `Entity`, and the owner [`AccessDenial`]s.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::request_context::current_request_id;
use crate::actors::token_sessions::AuthError;
use crate::auth::TokenFormatError;
use crate::calls::ToolError;
use crate::model::AccessDenial;
use crate::service::ServiceError;
use crate::storage::StorageError;

macro_rules! http_codes {
    ($($variant:ident => $text:literal, $status:ident;)+) => {
        /// The codes the HTTP layer answers with itself.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum HttpCode { $($variant),+ }

        impl HttpCode {
            pub const ALL: &'static [HttpCode] = &[$(HttpCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(HttpCode::$variant => $text),+ }
            }

            pub fn status(self) -> StatusCode {
                match self { $(HttpCode::$variant => StatusCode::$status),+ }
            }
        }
    };
}

http_codes! {
    MissingToken => "missing_token", UNAUTHORIZED;
    MalformedAuthorization => "malformed_authorization", UNAUTHORIZED;
    MalformedToken => "malformed_token", UNAUTHORIZED;
    InvalidToken => "invalid_token", UNAUTHORIZED;
    TokenRevoked => "token_revoked", UNAUTHORIZED;
    TokenExpired => "token_expired", UNAUTHORIZED;
    AgentRevoked => "agent_revoked", UNAUTHORIZED;
    InvalidInternalToken => "invalid_internal_token", UNAUTHORIZED;
    ConsoleSignInRequired => "console_sign_in_required", UNAUTHORIZED;
    ConsoleLinkInvalid => "console_link_invalid", UNAUTHORIZED;
    InvalidBody => "invalid_body", BAD_REQUEST;
    InvalidPath => "invalid_path", BAD_REQUEST;
    InvalidQuery => "invalid_query", BAD_REQUEST;
    InvalidHeader => "invalid_header", BAD_REQUEST;
    InternalTokenNotAllowed => "internal_token_not_allowed", FORBIDDEN;
    OriginNotAllowed => "origin_not_allowed", FORBIDDEN;
    CsrfTokenInvalid => "csrf_token_invalid", FORBIDDEN;
    ConsoleViewNotAllowed => "console_view_not_allowed", FORBIDDEN;
    RouteNotFound => "route_not_found", NOT_FOUND;
    MethodNotAllowed => "method_not_allowed", METHOD_NOT_ALLOWED;
    PayloadTooLarge => "payload_too_large", PAYLOAD_TOO_LARGE;
    UnsupportedMediaType => "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    TooManyAuthFailures => "too_many_auth_failures", TOO_MANY_REQUESTS;
    InternalError => "internal_error", INTERNAL_SERVER_ERROR;
    AuthBusy => "auth_busy", SERVICE_UNAVAILABLE;
    NotReady => "not_ready", SERVICE_UNAVAILABLE;
    DatabaseUnavailable => "database_unavailable", SERVICE_UNAVAILABLE;
    ServiceRestarting => "service_restarting", SERVICE_UNAVAILABLE;
}

impl HttpCode {
    /// RFC 6750: a 401 on a bearer-token route names the problem in
    /// `WWW-Authenticate: Bearer error="…"`. The console signs in with a cookie: no
    /// bearer challenge there.
    fn challenge(self) -> Option<&'static str> {
        match self {
            HttpCode::MissingToken => Some("invalid_request"),
            HttpCode::ConsoleSignInRequired | HttpCode::ConsoleLinkInvalid => None,
            _ if self.status() == StatusCode::UNAUTHORIZED => Some("invalid_token"),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after_secs: Option<u64>,
    /// `WWW-Authenticate: Bearer error="…"` on 401s.
    pub challenge: Option<&'static str>,
    /// What a caller needs to recover (valid values, current content...).
    pub details: Option<serde_json::Value>,
    /// Already in the audit trail (a tool error from the call pipeline); any other
    /// refusal of an authenticated agent is audited by `http::refusals`.
    pub audited: bool,
}

/// The body of every error answer.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error")]
struct Body<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "ErrorDetail")]
struct ErrorBody<'a> {
    /// Stable and typed: what a client matches on.
    code: &'a str,
    /// For a person, or a model: what went wrong and the way forward.
    message: &'a str,
    /// Locates the request in the gateway's logs and audit trail.
    request_id: String,
    /// Also in `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
    /// What a caller needs to recover (valid values, current content...).
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

/// The schema of the error body, for `/openapi.json`.
pub(crate) fn error_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    g.subschema_for::<Body<'static>>()
}

impl ApiError {
    pub fn new(code: HttpCode, message: impl Into<String>) -> Self {
        Self::coded(code.status(), code.as_str(), message).challenging(code.challenge())
    }

    /// A code of another layer's typed enum, with the status that enum gives it.
    fn coded(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
            challenge: None,
            details: None,
            audited: false,
        }
    }

    fn challenging(mut self, challenge: Option<&'static str>) -> Self {
        self.challenge = challenge;
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// An unexpected failure: logged in full, answered without internals.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "request failed");
        Self::new(
            HttpCode::InternalError,
            "the gateway failed to handle the request; the request id locates it in the logs",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let code = self.code;
        super::request_context::note(|n| {
            n.code.get_or_insert(code);
        });
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(challenge) = self.challenge
            && let Ok(v) = HeaderValue::from_str(&format!("Bearer error=\"{challenge}\""))
        {
            res.insert_header((header::WWW_AUTHENTICATE, v));
        }
        let mut res = res.json(Body {
            error: ErrorBody {
                code: self.code,
                message: &self.message,
                request_id: current_request_id(),
                retry_after_secs: self.retry_after_secs,
                details: self.details.as_ref(),
            },
        });
        if !self.audited {
            res.extensions_mut().insert(super::refusals::Refused(self.code));
        }
        res
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(HttpCode::DatabaseUnavailable, "the database is unavailable; retry shortly")
                    .retry_after(2)
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<AccessDenial> for ApiError {
    fn from(d: AccessDenial) -> Self {
        ApiError::coded(StatusCode::FORBIDDEN, d.as_str(), d.message())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let message = e.to_string();
        match e {
            ServiceError::NotFound(entity) => ApiError::coded(StatusCode::NOT_FOUND, entity.code(), message),
            ServiceError::AccessDenied(d) => d.into(),
            ServiceError::Refused { code, message } => ApiError::coded(code.status(), code.as_str(), message),
            ServiceError::Storage(s) => s.into(),
            ServiceError::Hash(h) => ApiError::internal(&h),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let msg = e.to_string();
        match e {
            AuthError::InvalidToken => {
                ApiError::new(HttpCode::InvalidToken, "the token is not valid: it is unknown or its secret is wrong")
            }
            AuthError::TokenRevoked => ApiError::new(HttpCode::TokenRevoked, msg),
            AuthError::TokenExpired => ApiError::new(HttpCode::TokenExpired, msg),
            AuthError::AgentRevoked => ApiError::new(HttpCode::AgentRevoked, msg),
            AuthError::OwnerDenied(d) => d.into(),
            AuthError::TooManyFailures { retry_after_secs } => {
                ApiError::new(HttpCode::TooManyAuthFailures, msg).retry_after(retry_after_secs)
            }
            AuthError::Busy { retry_after_secs } => {
                ApiError::new(HttpCode::AuthBusy, msg).retry_after(retry_after_secs)
            }
            AuthError::Storage(s) => s.into(),
            AuthError::Internal(detail) => ApiError::internal(&detail),
        }
    }
}

impl From<ToolError> for ApiError {
    fn from(e: ToolError) -> Self {
        let mut api = ApiError::coded(e.code.status(), e.code.as_str(), e.message);
        api.retry_after_secs = e.retry_after_secs;
        api.details = e.details;
        api.audited = true;
        api
    }
}

impl From<TokenFormatError> for ApiError {
    fn from(e: TokenFormatError) -> Self {
        ApiError::new(HttpCode::MalformedToken, format!("malformed agent token: {e}"))
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(e: actix::MailboxError) -> Self {
        tracing::error!(error = %e, "actor mailbox unavailable");
        ApiError::new(HttpCode::ServiceRestarting, "an internal component is restarting; retry shortly").retry_after(1)
    }
}
