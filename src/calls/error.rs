//! A failed tool call, worded so a model can recover.

use serde_json::{Value, json};

use crate::actors::tasker_writer::WriteError;
use crate::model::Outcome;
use crate::tasker::client::TaskerError;
use crate::tasker::contract::ErrorCode;

#[derive(Debug, Clone)]
pub struct ToolError {
    /// Stable machine code (also the audit row's error code).
    pub code: &'static str,
    /// What happened and how to recover, for a model to read.
    pub message: String,
    pub details: Option<Value>,
    pub retry_after_secs: Option<u64>,
    /// Denied (authorization, limits) or failed (everything else), for the audit row.
    pub outcome: Outcome,
}

impl ToolError {
    pub fn denied(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None, retry_after_secs: None, outcome: Outcome::Denied }
    }

    pub fn failed(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None, retry_after_secs: None, outcome: Outcome::Failed }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The HTTP status of this error on the REST endpoints.
    pub fn http_status(&self) -> u16 {
        match self.code {
            "invalid_arguments" | "idempotency_key_required" | "idempotency_key_invalid" => 400,
            "scope_missing" | "project_not_granted" | "role_not_allowed" => 403,
            "not_found" => 404,
            "conflict" | "idempotency_key_reused" | "in_progress" => 409,
            "validation_failed" | "field_not_allowed" => 422,
            "rate_limited" => 429,
            "write_not_applied" | "tasker_protocol" | "tasker_misconfigured" | "tasker_rejected" => 502,
            "tasker_unavailable" | "busy" => 503,
            _ => 500,
        }
    }

    /// The text of an `isError` tool result.
    pub fn text(&self) -> String {
        let mut s = format!("Error ({}): {}", self.code, self.message);
        if let Some(secs) = self.retry_after_secs {
            s.push_str(&format!(" Retry in {secs} second{}.", if secs == 1 { "" } else { "s" }));
        }
        s
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "tool call failed");
        Self::failed(
            "internal_error",
            "The gateway failed to handle the call. Retry later; if it persists, tell the owner.",
        )
    }
}

fn list(v: Option<&Value>) -> String {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

impl From<TaskerError> for ToolError {
    fn from(e: TaskerError) -> Self {
        match e {
            TaskerError::Unavailable { reason, retry_after_secs } => {
                tracing::warn!(%reason, "Tasker unavailable");
                ToolError::failed(
                    "tasker_unavailable",
                    "Tasker did not answer. A write may or may not have been applied: retry with the same idempotency_key, which never writes twice.",
                )
                .retry_after(retry_after_secs.unwrap_or(5))
            }
            TaskerError::Protocol(what) => {
                tracing::error!(%what, "Tasker answered outside the contract");
                ToolError::failed(
                    "tasker_protocol",
                    "Tasker answered in an unexpected way. Retry later; if it persists, tell the owner.",
                )
            }
            TaskerError::Rejected(a) => {
                let d = a.details.clone();
                match a.code {
                    ErrorCode::ValidationFailed => {
                        let field = d.as_ref().and_then(|d| d.get("field")).and_then(Value::as_str).unwrap_or("value");
                        let unknown = list(d.as_ref().and_then(|d| d.get("unknown")));
                        let valid = list(d.as_ref().and_then(|d| d.get("valid")));
                        let message = if valid.is_empty() {
                            a.message.clone()
                        } else {
                            format!("Unknown {field}: {unknown}. Valid values for {field}: {valid}.")
                        };
                        ToolError::failed("validation_failed", message)
                    }
                    ErrorCode::FieldNotAllowed => ToolError::failed("field_not_allowed", a.message.clone()),
                    ErrorCode::Conflict => {
                        let block = d.as_ref().and_then(|d| d.get("block")).and_then(Value::as_str).unwrap_or("the");
                        let version = d.as_ref().and_then(|d| d.get("current_version")).cloned().unwrap_or(Value::Null);
                        let current = d.as_ref().and_then(|d| d.get("current")).cloned().unwrap_or(Value::Null);
                        ToolError::failed(
                            "conflict",
                            format!(
                                "The `{block}` block is not at the base_version you sent (it changed since you read it, or no base_version was sent). Its current version is {version} and its current content is {current}. Merge your change into it and retry with base_version {version} and a new idempotency_key."
                            ),
                        )
                    }
                    ErrorCode::NotFound => ToolError::failed("not_found", a.message.clone()),
                    ErrorCode::BadRequest => ToolError::failed("invalid_arguments", a.message.clone()),
                    ErrorCode::Unauthorized => {
                        tracing::error!("Tasker refused the gateway's credentials: check TASKER_TOKEN");
                        ToolError::failed(
                            "tasker_misconfigured",
                            "The gateway cannot reach Tasker with its configured credentials; nothing was written. Tell the gateway's operator.",
                        )
                    }
                    ErrorCode::ProjectNotGranted => ToolError::denied("project_not_granted", a.message.clone()),
                    ErrorCode::RateLimited => ToolError::failed("tasker_unavailable", "Tasker is busy. Retry with the same idempotency_key.")
                        .retry_after(5),
                    ErrorCode::IdempotencyKeyReused => ToolError::failed(
                        "idempotency_key_reused",
                        "This idempotency_key was already used for a different change. Use a new key.",
                    ),
                    _ => ToolError::failed("tasker_rejected", a.message.clone()),
                }
                .with_details(json!({ "tasker": { "code": a.code, "details": d } }))
            }
        }
    }
}

impl From<WriteError> for ToolError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Busy { retry_after_secs } => {
                ToolError::failed("busy", "The gateway's write queue for this project is full; nothing was written. Retry with the same idempotency_key.")
                    .retry_after(retry_after_secs)
            }
            WriteError::Tasker(t) => t.into(),
            WriteError::NotApplied(what) => ToolError::failed(
                "write_not_applied",
                format!("Tasker accepted the write but the card does not show it: {what}. Re-read the card with get_issue before retrying."),
            ),
            WriteError::Dropped => ToolError::failed("busy", "The write was interrupted. It may or may not have been applied: retry with the same idempotency_key, which never writes twice.")
                .retry_after(1),
        }
    }
}
