//! A failed tool call, worded so a model can recover. Every code is a [`ToolCode`]
//! variant, which knows its stable string, its HTTP status and its audit outcome.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::actors::rate_buckets::CallKind;
use crate::actors::tasker_writer::WriteError;
use crate::model::Outcome;
use crate::tasker::client::TaskerError;
use crate::tasker::contract::ErrorCode;

macro_rules! tool_codes {
    ($($variant:ident => $text:literal, $status:ident, $outcome:ident;)+) => {
        /// The stable codes of tool errors (also the audit rows' error codes).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ToolCode { $($variant),+ }

        impl ToolCode {
            pub const ALL: &'static [ToolCode] = &[$(ToolCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(ToolCode::$variant => $text),+ }
            }

            /// The HTTP status on the REST endpoints.
            pub fn status(self) -> StatusCode {
                match self { $(ToolCode::$variant => StatusCode::$status),+ }
            }

            /// Denied (authorization, limits) or failed (everything else).
            pub fn outcome(self) -> Outcome {
                match self { $(ToolCode::$variant => Outcome::$outcome),+ }
            }
        }
    };
}

tool_codes! {
    InvalidArguments => "invalid_arguments", BAD_REQUEST, Failed;
    IdempotencyKeyRequired => "idempotency_key_required", BAD_REQUEST, Failed;
    IdempotencyKeyInvalid => "idempotency_key_invalid", BAD_REQUEST, Failed;
    ScopeMissing => "scope_missing", FORBIDDEN, Denied;
    ProjectNotGranted => "project_not_granted", FORBIDDEN, Denied;
    RoleNotAllowed => "role_not_allowed", FORBIDDEN, Denied;
    WorkSessionRequired => "work_session_required", FORBIDDEN, Denied;
    NotFound => "not_found", NOT_FOUND, Failed;
    Conflict => "conflict", CONFLICT, Failed;
    IdempotencyKeyReused => "idempotency_key_reused", CONFLICT, Failed;
    InProgress => "in_progress", CONFLICT, Failed;
    WorkSessionEnded => "work_session_ended", CONFLICT, Failed;
    ValidationFailed => "validation_failed", UNPROCESSABLE_ENTITY, Failed;
    FieldNotAllowed => "field_not_allowed", UNPROCESSABLE_ENTITY, Failed;
    RateLimited => "rate_limited", TOO_MANY_REQUESTS, Denied;
    InternalError => "internal_error", INTERNAL_SERVER_ERROR, Failed;
    WriteNotApplied => "write_not_applied", BAD_GATEWAY, Failed;
    TaskerProtocol => "tasker_protocol", BAD_GATEWAY, Failed;
    TaskerMisconfigured => "tasker_misconfigured", BAD_GATEWAY, Failed;
    TaskerRejected => "tasker_rejected", BAD_GATEWAY, Failed;
    TaskerUnavailable => "tasker_unavailable", SERVICE_UNAVAILABLE, Failed;
    Busy => "busy", SERVICE_UNAVAILABLE, Failed;
}

impl std::fmt::Display for ToolCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct ToolError {
    pub code: ToolCode,
    /// What happened and how to recover, for a model to read.
    pub message: String,
    pub details: Option<Value>,
    pub retry_after_secs: Option<u64>,
}

impl ToolError {
    pub fn new(code: ToolCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None, retry_after_secs: None }
    }

    /// Arguments that do not fit the tool (the most common refusal).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ToolCode::InvalidArguments, message)
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn outcome(&self) -> Outcome {
        self.code.outcome()
    }

    /// The text of an `isError` tool result (how MCP shows a tool error).
    pub fn text(&self) -> String {
        let mut s = format!("Error ({}): {}", self.code, self.message);
        if let Some(secs) = self.retry_after_secs {
            s.push_str(&format!(" Retry in {secs} second{}.", if secs == 1 { "" } else { "s" }));
        }
        s
    }

    /// An unexpected failure: logged in full, told without internals.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "tool call failed");
        Self::new(
            ToolCode::InternalError,
            "The gateway failed to handle the call. Retry later; if it persists, tell the owner.",
        )
    }

    /// This refusal as an agent sees it that may not read the card (`issue_read`) or
    /// the project (`project_read`) the write touched: a conflict's current content
    /// needs the first, the valid values of a field (states, labels, members) the
    /// second. A write scope does not grant reads.
    pub fn for_reader(mut self, issue_read: bool, project_read: bool) -> Self {
        let tasker =
            self.details.as_mut().and_then(|d| d.pointer_mut("/tasker/details")).and_then(Value::as_object_mut);
        let Some(tasker) = tasker else { return self };
        let detail = |k: &str| tasker.get(k).cloned().unwrap_or(Value::Null);
        match self.code {
            ToolCode::Conflict if !issue_read => {
                let (block, version) = (detail("block"), detail("current_version"));
                let block = block.as_str().unwrap_or("the");
                self.message = format!(
                    "The `{block}` block is not at the base_version you sent. Its current version is {version}; its content is not shown because this agent may not read cards in this project (no issue:read). Ask the owner for issue:read to merge changes."
                );
                tasker.remove("current");
            }
            ToolCode::ValidationFailed if !project_read && tasker.contains_key("valid") => {
                let field = detail("field");
                let field = field.as_str().unwrap_or("value");
                self.message = format!(
                    "Unknown {field}: {}. The valid values are not listed because this agent may not read this project (no project:read); ask the owner.",
                    list(tasker.get("unknown"))
                );
                tasker.remove("valid");
            }
            _ => {}
        }
        self
    }

    /// A Tasker failure, worded for the kind of tool that met it: after a write tool's
    /// failure the change may or may not have been applied; a read only needs a retry.
    pub fn tasker(e: TaskerError, kind: CallKind) -> Self {
        match e {
            TaskerError::Unavailable { reason, retry_after_secs } => {
                tracing::warn!(%reason, "Tasker unavailable");
                let message = match kind {
                    CallKind::Read => "Tasker did not answer. Retry shortly.",
                    CallKind::Write => {
                        "Tasker did not answer. A write may or may not have been applied: retry with the same idempotency_key, which never writes twice."
                    }
                };
                Self::new(ToolCode::TaskerUnavailable, message).retry_after(retry_after_secs.unwrap_or(5))
            }
            TaskerError::Protocol(what) => {
                tracing::error!(%what, "Tasker answered outside the contract");
                Self::new(
                    ToolCode::TaskerProtocol,
                    "Tasker answered in an unexpected way. Retry later; if it persists, tell the owner.",
                )
            }
            TaskerError::Rejected(a) => rejected(a),
        }
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

/// Text ending with a full stop, so a hint can follow it.
fn sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with(['.', '!', '?']) { t.to_string() } else { format!("{t}.") }
}

/// A contract error from Tasker, as the agent's code and recovery text; Tasker's own
/// code and details ride along under `details.tasker`.
fn rejected(a: crate::tasker::contract::AdapterError) -> ToolError {
    let d = a.details.clone();
    let detail = |k: &str| d.as_ref().and_then(|d| d.get(k));
    let e = match a.code {
        ErrorCode::ValidationFailed => {
            let field = detail("field").and_then(Value::as_str).unwrap_or("value");
            let (unknown, valid) = (list(detail("unknown")), list(detail("valid")));
            let message = if valid.is_empty() {
                a.message.clone()
            } else {
                format!("Unknown {field}: {unknown}. Valid values for {field}: {valid}.")
            };
            ToolError::new(ToolCode::ValidationFailed, message)
        }
        ErrorCode::FieldNotAllowed => ToolError::new(ToolCode::FieldNotAllowed, a.message.clone()),
        ErrorCode::Conflict => {
            let block = detail("block").and_then(Value::as_str).unwrap_or("the");
            let version = detail("current_version").cloned().unwrap_or(Value::Null);
            let current = detail("current").cloned().unwrap_or(Value::Null);
            ToolError::new(
                ToolCode::Conflict,
                format!(
                    "The `{block}` block is not at the base_version you sent (it changed since you read it, or no base_version was sent). Its current version is {version} and its current content is {current}. Merge your change into it and retry with base_version {version} and a new idempotency_key."
                ),
            )
        }
        ErrorCode::NotFound => ToolError::new(
            ToolCode::NotFound,
            format!(
                "{} Find the card with search_issues (by words in its title, its state or a label) and use the key it gives.",
                sentence(&a.message)
            ),
        ),
        ErrorCode::BadRequest => ToolError::invalid(a.message.clone()),
        ErrorCode::Unauthorized => {
            tracing::error!("Tasker refused the gateway's credentials: check TASKER_TOKEN");
            ToolError::new(
                ToolCode::TaskerMisconfigured,
                "The gateway cannot reach Tasker with its configured credentials; nothing was written. Tell the gateway's operator.",
            )
        }
        ErrorCode::ProjectNotGranted => ToolError::new(ToolCode::ProjectNotGranted, a.message.clone()),
        ErrorCode::RateLimited => {
            ToolError::new(ToolCode::TaskerUnavailable, "Tasker is busy. Retry with the same idempotency_key.")
                .retry_after(5)
        }
        ErrorCode::IdempotencyKeyReused => ToolError::new(
            ToolCode::IdempotencyKeyReused,
            "This idempotency_key was already used for a different change. Use a new key.",
        ),
        ErrorCode::DeleteNotSupported | ErrorCode::ArchiveNotSupported | ErrorCode::Unavailable => {
            ToolError::new(ToolCode::TaskerRejected, a.message.clone())
        }
    };
    e.with_details(json!({ "tasker": { "code": a.code, "details": d } }))
}

impl From<WriteError> for ToolError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Busy { retry_after_secs } => ToolError::new(
                ToolCode::Busy,
                "The gateway's write queue for this project is full; nothing was written. Retry with the same idempotency_key.",
            )
            .retry_after(retry_after_secs),
            WriteError::Tasker(t) => ToolError::tasker(t, CallKind::Write),
            WriteError::NotApplied(what) => ToolError::new(
                ToolCode::WriteNotApplied,
                format!(
                    "Tasker accepted the write but the card does not show it: {what}. Re-read the card with get_issue before retrying."
                ),
            ),
            WriteError::Dropped => ToolError::new(
                ToolCode::Busy,
                "The write was interrupted. It may or may not have been applied: retry with the same idempotency_key, which never writes twice.",
            )
            .retry_after(1),
            WriteError::Unreachable(what) => ToolError::internal(format!("the TaskerWriter is unreachable: {what}")),
        }
    }
}
