//! The one JSON error shape, and the one place errors of every layer become HTTP.
//!
//! ```json
//! {"error": {"code": "agent_not_found", "message": "agent not found", "request_id": "…"}}
//! ```

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::request_context::current_request_id;
use crate::actors::token_sessions::AuthError;
use crate::auth::TokenFormatError;
use crate::calls::ToolError;
use crate::service::ServiceError;
use crate::storage::StorageError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after_secs: Option<u64>,
    /// 401s from bearer-token routes carry `WWW-Authenticate: Bearer`.
    pub bearer_challenge: bool,
    /// What a caller needs to recover (valid values, current content...).
    pub details: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_secs: None, bearer_challenge: false, details: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self { bearer_challenge: true, ..Self::new(StatusCode::UNAUTHORIZED, code, message) }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// An unexpected failure: logged in full, answered without internals.
    fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
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
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.bearer_challenge
            && let Ok(v) = HeaderValue::from_str(&format!("Bearer error=\"{}\"", challenge_error(self.code)))
        {
            res.insert_header((header::WWW_AUTHENTICATE, v));
        }
        res.json(Body {
            error: ErrorBody {
                code: self.code,
                message: &self.message,
                request_id: current_request_id(),
                retry_after_secs: self.retry_after_secs,
                details: self.details.as_ref(),
            },
        })
    }
}

/// RFC 6750 error names for the challenge header.
fn challenge_error(code: &str) -> &'static str {
    match code {
        "missing_token" => "invalid_request",
        _ => "invalid_token",
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database is unavailable; retry shortly",
                )
                .retry_after(2)
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let code = e.code();
        match e {
            ServiceError::NotFound { .. } => ApiError::not_found(code, e.to_string()),
            ServiceError::AccessDenied(d) => ApiError::new(StatusCode::FORBIDDEN, code, d.message()),
            ServiceError::Invalid { message, .. } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            ServiceError::Conflict { message, .. } => ApiError::new(StatusCode::CONFLICT, code, message),
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
                ApiError::unauthorized("invalid_token", "the token is not valid: it is unknown or its secret is wrong")
            }
            AuthError::TokenRevoked => ApiError::unauthorized("token_revoked", msg),
            AuthError::TokenExpired => ApiError::unauthorized("token_expired", msg),
            AuthError::AgentRevoked => ApiError::unauthorized("agent_revoked", msg),
            AuthError::OwnerDenied(d) => ApiError::new(StatusCode::FORBIDDEN, d.as_str(), d.message()),
            AuthError::TooManyFailures { retry_after_secs } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_auth_failures", msg)
                    .retry_after(retry_after_secs)
            }
            AuthError::Busy { retry_after_secs } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "auth_busy", msg).retry_after(retry_after_secs)
            }
            AuthError::Storage(s) => s.into(),
            AuthError::Internal(detail) => ApiError::internal(&detail),
        }
    }
}

impl From<ToolError> for ApiError {
    fn from(e: ToolError) -> Self {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut api = ApiError::new(status, e.code, e.message);
        api.retry_after_secs = e.retry_after_secs;
        api.details = e.details;
        api
    }
}

impl From<TokenFormatError> for ApiError {
    fn from(e: TokenFormatError) -> Self {
        ApiError::unauthorized("malformed_token", format!("malformed agent token: {e}"))
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(e: actix::MailboxError) -> Self {
        tracing::error!(error = %e, "actor mailbox unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_restarting",
            "an internal component is restarting; retry shortly",
        )
        .retry_after(1)
    }
}
