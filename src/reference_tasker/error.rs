//! The reference Tasker's one error type, answered as the contract's [`ErrorBody`] with
//! the status [`ErrorCode::status`] gives.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::storage::StorageError;
use crate::tasker::contract::{AdapterError, ErrorBody, ErrorCode};

/// Seconds a caller is asked to wait after `unavailable`.
const RETRY_AFTER_SECS: u64 = 2;

#[derive(Debug)]
pub enum RefTaskerError {
    /// An answer the contract defines.
    Api(AdapterError),
    /// The database failed: `unavailable`.
    Storage(StorageError),
}

impl RefTaskerError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RefTaskerError::Api(AdapterError { code, message: message.into(), details: None })
    }

    pub fn with_details(self, details: Value) -> Self {
        match self {
            RefTaskerError::Api(mut e) => {
                e.details = Some(details);
                RefTaskerError::Api(e)
            }
            other => other,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            RefTaskerError::Api(e) => e.code,
            RefTaskerError::Storage(_) => ErrorCode::Unavailable,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// The project is not among those the caller is granted.
    pub fn not_granted(project_id: Uuid) -> Self {
        Self::new(ErrorCode::ProjectNotGranted, format!("project {project_id} is not among the granted projects"))
            .with_details(json!({ "project_id": project_id }))
    }

    /// A value that is not acceptable for `field`: `{"field": …}`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message).with_details(json!({ "field": field }))
    }

    /// Values that name nothing: `{"field", "unknown", "valid"}`, `valid` listing every
    /// value that would have been accepted.
    pub fn unknown(field: &str, what: &str, unknown: Vec<String>, valid: Vec<String>) -> Self {
        let message = format!(
            "unknown {what}: {}; valid: {}",
            unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
            if valid.is_empty() { "(none)".to_string() } else { valid.join(", ") }
        );
        Self::new(ErrorCode::ValidationFailed, message)
            .with_details(json!({ "field": field, "unknown": unknown, "valid": valid }))
    }

    /// A uniqueness violation: a concurrent write of the same thing (retried once).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, RefTaskerError::Storage(e) if e.is_unique_violation())
    }

    fn adapter_error(&self) -> AdapterError {
        match self {
            RefTaskerError::Api(e) => e.clone(),
            RefTaskerError::Storage(e) => {
                tracing::warn!(target: "reference_tasker", error = %e, "storage failed");
                AdapterError {
                    code: ErrorCode::Unavailable,
                    message: "the Tasker database is unavailable; retry shortly".to_string(),
                    details: Some(json!({ "retry_after_secs": RETRY_AFTER_SECS })),
                }
            }
        }
    }
}

impl std::fmt::Display for RefTaskerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefTaskerError::Api(e) => e.fmt(f),
            RefTaskerError::Storage(e) => write!(f, "unavailable: {e}"),
        }
    }
}

impl From<AdapterError> for RefTaskerError {
    fn from(e: AdapterError) -> Self {
        RefTaskerError::Api(e)
    }
}

impl From<StorageError> for RefTaskerError {
    fn from(e: StorageError) -> Self {
        RefTaskerError::Storage(e)
    }
}

impl From<diesel::result::Error> for RefTaskerError {
    fn from(e: diesel::result::Error) -> Self {
        RefTaskerError::Storage(StorageError::Query(e))
    }
}

impl ResponseError for RefTaskerError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let error = self.adapter_error();
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        match error.code {
            ErrorCode::Unauthorized => {
                res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            ErrorCode::Unavailable | ErrorCode::RateLimited => {
                res.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
            }
            _ => {}
        }
        res.json(ErrorBody { error })
    }
}
