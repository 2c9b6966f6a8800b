//! Protocol faults: every JSON-RPC error the MCP endpoint answers itself, with its code
//! and HTTP status. Nothing chooses a code or a status by matching text; each variant
//! knows both, and where they differ between the eras (a method the server does not
//! have, a resource that does not exist) the variant carries the era.
//!
//! Tool errors are not faults: they are results with `isError: true`
//! (`calls::ToolError`).

use actix_web::http::StatusCode;
use rmcp::model::ErrorCode;
use serde_json::{Value, json};

use super::{Era, SUPPORTED_VERSIONS};

/// "Session not found": a legacy session id the gateway does not know, or another
/// token's (clients act on the 404).
pub const SESSION_NOT_FOUND: ErrorCode = ErrorCode(-32001);

/// A JSON-RPC error the MCP endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The body is not JSON (`-32700`, 400).
    Parse(String),
    /// Not a JSON-RPC 2.0 request or notification, a batch, a bad `id` (`-32600`, 400).
    InvalidRequest(String),
    /// The body is over `MAX_BODY_BYTES` (`-32600`, 413).
    TooLarge(String),
    /// A legacy request other than `initialize` without `Mcp-Session-Id` (`-32600`, 400).
    SessionRequired,
    /// A legacy session id that is unknown, ended or another token's (`-32001`, 404).
    SessionNotFound,
    /// A method the server does not offer (`-32601`): 200 in a legacy session, 404 on
    /// the 2026-07-28 transport (which says so, to tell it from a missing endpoint).
    MethodNotFound { method: String, era: Era },
    /// Parameters a method cannot use (`-32602`, answered in band: 200).
    InvalidParams(String),
    /// A 2026-07-28 request whose `_meta` lacks a required field or holds a bad one
    /// (`-32602`, 400); `data.envelope` names the key.
    InvalidEnvelope { message: String, envelope: Value },
    /// An `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name` header that is missing or
    /// disagrees with the body (`-32020` HeaderMismatch, 400).
    HeaderMismatch { message: String, header: String, body: String },
    /// A protocol version the server does not serve (`-32022`, 400); `data` lists the
    /// supported versions and echoes the requested one.
    UnsupportedVersion { requested: String },
    /// `resources/read` of a URI that is not a resource: `-32002` in a legacy session,
    /// `-32602` on 2026-07-28 (SEP-2164); answered in band (200), `data.uri` names it.
    ResourceNotFound { uri: String, era: Era },
}

impl Fault {
    /// A stable name for the audit trail (`error_code` of the refusal's event).
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Parse(_) => "parse_error",
            Fault::InvalidRequest(_) => "invalid_request",
            Fault::TooLarge(_) => "too_large",
            Fault::SessionRequired => "session_required",
            Fault::SessionNotFound => "session_not_found",
            Fault::MethodNotFound { .. } => "method_not_found",
            Fault::InvalidParams(_) => "invalid_params",
            Fault::InvalidEnvelope { .. } => "invalid_envelope",
            Fault::HeaderMismatch { .. } => "header_mismatch",
            Fault::UnsupportedVersion { .. } => "unsupported_protocol_version",
            Fault::ResourceNotFound { .. } => "resource_not_found",
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Fault::Parse(_) => ErrorCode::PARSE_ERROR,
            Fault::InvalidRequest(_) | Fault::TooLarge(_) | Fault::SessionRequired => ErrorCode::INVALID_REQUEST,
            Fault::SessionNotFound => SESSION_NOT_FOUND,
            Fault::MethodNotFound { .. } => ErrorCode::METHOD_NOT_FOUND,
            Fault::InvalidParams(_) | Fault::InvalidEnvelope { .. } => ErrorCode::INVALID_PARAMS,
            Fault::HeaderMismatch { .. } => ErrorCode::HEADER_MISMATCH,
            Fault::UnsupportedVersion { .. } => ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
            Fault::ResourceNotFound { era: Era::Legacy, .. } => ErrorCode::RESOURCE_NOT_FOUND,
            Fault::ResourceNotFound { era: Era::Modern, .. } => ErrorCode::INVALID_PARAMS,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Fault::Parse(_)
            | Fault::InvalidRequest(_)
            | Fault::SessionRequired
            | Fault::InvalidEnvelope { .. }
            | Fault::HeaderMismatch { .. }
            | Fault::UnsupportedVersion { .. } => StatusCode::BAD_REQUEST,
            Fault::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Fault::SessionNotFound => StatusCode::NOT_FOUND,
            Fault::MethodNotFound { era: Era::Modern, .. } => StatusCode::NOT_FOUND,
            Fault::MethodNotFound { era: Era::Legacy, .. }
            | Fault::InvalidParams(_)
            | Fault::ResourceNotFound { .. } => StatusCode::OK,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Fault::Parse(m) | Fault::InvalidRequest(m) | Fault::TooLarge(m) | Fault::InvalidParams(m) => m.clone(),
            Fault::InvalidEnvelope { message, .. } | Fault::HeaderMismatch { message, .. } => message.clone(),
            Fault::SessionRequired => {
                "missing Mcp-Session-Id header: call initialize first and send the session id it returns (or use \
                 protocol version 2026-07-28, which needs no session)"
                    .into()
            }
            Fault::SessionNotFound => "session not found; initialize again".into(),
            Fault::MethodNotFound { method, .. } => format!("Method not found: {method}"),
            Fault::UnsupportedVersion { requested } => format!(
                "Unsupported protocol version: `{requested}` is not supported; supported: {}",
                SUPPORTED_VERSIONS.join(", ")
            ),
            Fault::ResourceNotFound { uri, .. } => format!("Resource not found: {uri} (this server has no resources)"),
        }
    }

    pub fn data(&self) -> Option<Value> {
        match self {
            Fault::InvalidEnvelope { envelope, .. } => Some(json!({ "envelope": envelope })),
            Fault::HeaderMismatch { header, body, .. } => {
                Some(json!({ "mismatch": { "header": header, "body": body } }))
            }
            Fault::UnsupportedVersion { requested } => {
                Some(json!({ "supported": SUPPORTED_VERSIONS, "requested": requested }))
            }
            Fault::ResourceNotFound { uri, .. } => Some(json!({ "uri": uri })),
            _ => None,
        }
    }

    /// One of each variant, for the error snapshot (`tests/integration/schemas.rs`).
    pub fn examples() -> Vec<(&'static str, Fault)> {
        vec![
            ("parse", Fault::Parse("invalid JSON: …".into())),
            ("invalid_request", Fault::InvalidRequest("JSON-RPC batches are not supported".into())),
            ("too_large", Fault::TooLarge("the request is larger than the limit of N bytes".into())),
            ("session_required", Fault::SessionRequired),
            ("session_not_found", Fault::SessionNotFound),
            ("method_not_found_legacy", Fault::MethodNotFound { method: "ping".into(), era: Era::Legacy }),
            ("method_not_found_modern", Fault::MethodNotFound { method: "ping".into(), era: Era::Modern }),
            ("invalid_params", Fault::InvalidParams("tools/call needs params.name (a string)".into())),
            (
                "invalid_envelope",
                Fault::InvalidEnvelope {
                    message: "Invalid params: _meta is missing io.modelcontextprotocol/clientCapabilities".into(),
                    envelope: json!({"key": "io.modelcontextprotocol/clientCapabilities", "problem": "missing"}),
                },
            ),
            (
                "header_mismatch",
                Fault::HeaderMismatch {
                    message: "Header mismatch: Mcp-Method `prompts/list` does not match the body's `tools/list`".into(),
                    header: "prompts/list".into(),
                    body: "tools/list".into(),
                },
            ),
            ("unsupported_version", Fault::UnsupportedVersion { requested: "1900-01-01".into() }),
            ("resource_not_found_legacy", Fault::ResourceNotFound { uri: "file:///x".into(), era: Era::Legacy }),
            ("resource_not_found_modern", Fault::ResourceNotFound { uri: "file:///x".into(), era: Era::Modern }),
        ]
    }
}
