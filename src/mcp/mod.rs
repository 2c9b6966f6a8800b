//! The MCP protocol (streamable HTTP, JSON responses) on rmcp's protocol types. The
//! transport is an actix-web route (`http/routes/mcp.rs`); sessions belong to the
//! TokenSessions actor; tool calls go through the shared call pipeline (`calls`).

use rmcp::model::{
    CallToolResult, ContentBlock, ErrorCode, ErrorData, Implementation, InitializeResult, JsonRpcError,
    JsonRpcResponse, JsonRpcVersion2_0, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, PromptsCapability, ProtocolVersion, RequestId, ResourcesCapability, ServerCapabilities, Tool,
    ToolAnnotations, ToolsCapability,
};
use serde_json::{Value, json};

use crate::actors::rate_buckets::CallKind;
use crate::actors::token_sessions::Principal;
use crate::calls::ToolError;
use crate::tools::{self, ToolDef};

/// Versions this server speaks, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
pub const SESSION_HEADER: &str = "mcp-session-id";
pub const VERSION_HEADER: &str = "mcp-protocol-version";

/// The version to answer an `initialize` with: the client's if supported, else our
/// newest (the client then decides whether it can continue).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested.and_then(|r| SUPPORTED_VERSIONS.iter().copied().find(|v| *v == r)).unwrap_or(SUPPORTED_VERSIONS[0])
}

fn at_least(version: &str, min: &str) -> bool {
    version >= min
}

/// Codex shows a model only the first ~250 characters: the rules come first.
pub const INSTRUCTIONS: &str = "Rules: 1. Every write takes an idempotency_key: a new key for each change, the same key \
when you retry it (a retry returns the first result). 2. Nothing can be deleted or archived here. \
3. Every error says how to recover: do what it says. \
Start with list_projects, then get_project_context for the exact state, label and member names. \
Cards are named by key (WEB-12) or id; search_issues finds them. Keep your working notes in the card's structured \
blocks (goal, plan, acceptance, log, result) with update_structured_blocks: pass the base_version get_issue shows \
when replacing; append_log and check_item never conflict. Report your work on a card with start_work_session, \
report_progress and finish_work_session (required when your owner's reporting mode says so).";

fn protocol_version(version: &str) -> ProtocolVersion {
    match version {
        "2025-11-25" => ProtocolVersion::V_2025_11_25,
        "2025-06-18" => ProtocolVersion::V_2025_06_18,
        _ => ProtocolVersion::V_2025_03_26,
    }
}

pub fn initialize_result(version: &'static str) -> InitializeResult {
    let mut tools = ToolsCapability::default();
    tools.list_changed = Some(false);
    let mut capabilities = ServerCapabilities::default();
    capabilities.tools = Some(tools);
    // The gateway offers tools only; resources and prompts are declared with empty
    // lists so generic clients that list them get an answer, and log-level requests are
    // accepted (no log notifications are sent: there is no server-to-client stream).
    capabilities.resources = Some(ResourcesCapability::default());
    capabilities.prompts = Some(PromptsCapability::default());
    capabilities.logging = Some(Default::default());
    let info =
        Implementation::new("nodedc-agent-gateway", env!("CARGO_PKG_VERSION")).with_title("NODE.DC Agent Gateway");
    InitializeResult::new(capabilities)
        .with_protocol_version(protocol_version(version))
        .with_server_info(info)
        .with_instructions(INSTRUCTIONS)
}

/// A tool as `tools/list` shows it to a client speaking `version`.
pub fn tool(def: &ToolDef, version: &str) -> Tool {
    let annotations = match def.kind {
        CallKind::Read => ToolAnnotations::new().read_only(true).open_world(false),
        // Not read-only is the default; saying so would only lengthen the list.
        CallKind::Write => ToolAnnotations::new().destructive(false).idempotent(true).open_world(false),
    };
    let mut t = Tool::new(def.name, def.description, def.input_schema.clone()).annotate(annotations);
    // Titles and output schemas arrived in 2025-06-18.
    if at_least(version, "2025-06-18") {
        t = t.with_title(def.title).with_raw_output_schema(def.output_schema.clone());
    }
    t
}

/// The tools this principal's scopes allow, in catalogue order.
pub fn allowed_tools<'a>(p: &'a Principal) -> impl Iterator<Item = &'static ToolDef> + 'a {
    tools::catalogue().iter().filter(move |t| p.grants.iter().any(|g| g.scopes.contains(&t.scope)))
}

pub fn list_tools(p: &Principal, version: &str) -> ListToolsResult {
    let mut result = ListToolsResult::with_all_items(allowed_tools(p).map(|t| tool(t, version)).collect());
    result.result_type = None;
    result
}

/// A tool result: structured content with a text rendering, or an error a model can
/// act on (`isError`).
pub fn call_result(def: &ToolDef, outcome: Result<Value, ToolError>, version: &str) -> CallToolResult {
    let mut result = match outcome {
        Ok(value) => {
            let text = def.render_text(&value);
            if at_least(version, "2025-06-18") {
                let mut r = CallToolResult::structured(value);
                r.content = vec![ContentBlock::text(text)];
                r
            } else {
                // Older clients have no structuredContent: give the data as JSON too.
                CallToolResult::success(vec![ContentBlock::text(format!("{text}\n\n{value}"))])
            }
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.text())]),
    };
    result.result_type = None;
    result
}

pub fn response<T: serde::Serialize>(id: RequestId, result: T) -> Value {
    serde_json::to_value(JsonRpcResponse { jsonrpc: JsonRpcVersion2_0, id, result }).unwrap_or(Value::Null)
}

pub fn error(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>, data: Option<Value>) -> Value {
    let e = JsonRpcError::new(id, ErrorData::new(code, message.into(), data));
    serde_json::to_value(e).unwrap_or_else(|_| json!({"jsonrpc": "2.0", "error": {"code": code.0, "message": "error"}}))
}

/// `resources/list`: there are none (tools only).
pub fn empty_resources() -> ListResourcesResult {
    let mut r = ListResourcesResult::with_all_items(Vec::new());
    r.result_type = None;
    r
}

/// `resources/templates/list`: there are none.
pub fn empty_resource_templates() -> ListResourceTemplatesResult {
    let mut r = ListResourceTemplatesResult::with_all_items(Vec::new());
    r.result_type = None;
    r
}

/// `prompts/list`: there are none.
pub fn empty_prompts() -> ListPromptsResult {
    let mut r = ListPromptsResult::with_all_items(Vec::new());
    r.result_type = None;
    r
}
