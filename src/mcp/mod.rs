//! The MCP protocol (streamable HTTP, JSON responses) on rmcp's protocol types, in
//! both eras the endpoint serves side by side (the spec's terms):
//!
//! - **legacy**: `2025-11-25`, `2025-06-18`, `2025-03-26`, negotiated by `initialize`,
//!   with an `Mcp-Session-Id` session (sessions belong to the TokenSessions actor);
//! - **modern**: `2026-07-28`, stateless: no handshake and no session, every request
//!   carries its version and the client's capabilities in `params._meta` and the
//!   `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers ([`envelope`]);
//!   `server/discover` says what the server is; results carry `resultType`, lists and
//!   discovery carry caching hints.
//!
//! The transport is an actix-web route (`http/routes/mcp.rs`); tool calls of both
//! eras go through the shared call pipeline (`calls`). Protocol faults are [`Fault`]s.

pub mod envelope;
pub mod fault;
pub mod message;

use rmcp::model::{
    CacheScope, CallToolResult, ContentBlock, DiscoverResult, ErrorCode, ErrorData, Implementation, InitializeResult,
    JsonRpcError, JsonRpcResponse, JsonRpcVersion2_0, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PromptsCapability, ProtocolVersion, RequestId, ResourcesCapability,
    ResultType, ServerCapabilities, Tool, ToolAnnotations, ToolsCapability,
};
use serde_json::{Value, json};

use crate::actors::rate_buckets::CallKind;
use crate::actors::token_sessions::Principal;
use crate::calls::ToolError;
use crate::tools::{self, ToolDef};
pub use fault::Fault;

/// The first modern (stateless, per-request `_meta`) protocol revision.
pub const FIRST_MODERN_VERSION: &str = "2026-07-28";
/// Versions served statelessly, newest first.
pub const MODERN_VERSIONS: &[&str] = &["2026-07-28"];
/// Versions `initialize` negotiates (a session each), newest first.
pub const LEGACY_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
/// Every version this server speaks, newest first: `server/discover`'s
/// `supportedVersions` and `UnsupportedProtocolVersion`'s `data.supported`.
pub const SUPPORTED_VERSIONS: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];
pub const SESSION_HEADER: &str = "mcp-session-id";
pub const VERSION_HEADER: &str = "mcp-protocol-version";
pub const METHOD_HEADER: &str = "mcp-method";
pub const NAME_HEADER: &str = "mcp-name";

/// How long a client may keep a `tools/list` answer (SEP-2549 `ttlMs`). The list
/// depends on the token's scopes, so it is `private`. Grants can change within the
/// minute; a stale list only shows a tool that is then refused (every call is checked).
pub const TOOLS_TTL_MS: u64 = 60_000;
/// How long a client may keep `server/discover` and the (empty, identical for every
/// caller: `public`) resource, template and prompt lists.
pub const STATIC_TTL_MS: u64 = 3_600_000;

/// The protocol era a request is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// `initialize` and a session: 2025-11-25 and earlier.
    Legacy,
    /// Stateless, per-request `_meta`: 2026-07-28.
    Modern,
}

impl Era {
    pub fn of(version: &str) -> Era {
        if envelope::is_modern(version) { Era::Modern } else { Era::Legacy }
    }
}

/// The version to answer an `initialize` with: the client's if it is a legacy version
/// served here, else our newest legacy one (the client then decides whether it can
/// continue). `initialize` never negotiates a modern version: that era has none.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested.and_then(|r| LEGACY_VERSIONS.iter().copied().find(|v| *v == r)).unwrap_or(LEGACY_VERSIONS[0])
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
        "2026-07-28" => ProtocolVersion::V_2026_07_28,
        "2025-11-25" => ProtocolVersion::V_2025_11_25,
        "2025-06-18" => ProtocolVersion::V_2025_06_18,
        _ => ProtocolVersion::V_2025_03_26,
    }
}

fn server_info() -> Implementation {
    Implementation::new("nodedc-agent-gateway", env!("CARGO_PKG_VERSION")).with_title("NODE.DC Agent Gateway")
}

/// What the server offers. Tools (the list never changes while a client holds it:
/// `listChanged: false`); resources and prompts, of which there are none: their lists
/// answer empty, and reading a resource or getting a prompt answers "not found" as the
/// spec says. In a legacy session also `logging`, so that `logging/setLevel` is
/// accepted; no log notifications are ever sent (there is no server-to-client
/// stream), so the modern era, where logging is per request and deprecated, does not
/// declare it.
pub fn capabilities(era: Era) -> ServerCapabilities {
    let mut tools = ToolsCapability::default();
    tools.list_changed = Some(false);
    let mut capabilities = ServerCapabilities::default();
    capabilities.tools = Some(tools);
    capabilities.resources = Some(ResourcesCapability::default());
    capabilities.prompts = Some(PromptsCapability::default());
    if era == Era::Legacy {
        capabilities.logging = Some(Default::default());
    }
    capabilities
}

pub fn initialize_result(version: &'static str) -> InitializeResult {
    InitializeResult::new(capabilities(Era::Legacy))
        .with_protocol_version(protocol_version(version))
        .with_server_info(server_info())
        .with_instructions(INSTRUCTIONS)
}

/// `server/discover` (2026-07-28): every version served (the modern one first), the
/// capabilities, the instructions, and the server's name and version in `_meta`. The
/// same for every caller: `public`, fresh for an hour.
pub fn discover_result() -> DiscoverResult {
    let versions = SUPPORTED_VERSIONS.iter().map(|v| protocol_version(v)).collect();
    let mut result = DiscoverResult::new(versions, capabilities(Era::Modern))
        .with_server_info(server_info())
        .with_ttl_ms(STATIC_TTL_MS)
        .with_cache_scope(CacheScope::Public);
    result.instructions = Some(INSTRUCTIONS.to_string());
    result
}

/// A modern result: `resultType` (`"complete"`: the gateway never asks the client for
/// input) and the server's identity in `_meta`, as every 2026-07-28 result carries.
pub fn modern_result<T: serde::Serialize>(result: T) -> Value {
    let mut v = serde_json::to_value(result).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.entry("resultType").or_insert_with(|| json!("complete"));
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(envelope::SERVER_INFO_KEY.into(), json!(server_info()));
        }
    }
    v
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
    let result = ListToolsResult::with_all_items(allowed_tools(p).map(|t| tool(t, version)).collect());
    cacheable(result, version, TOOLS_TTL_MS, CacheScope::Private)
}

/// Sets what a list result carries in each era: `resultType` and caching hints on
/// 2026-07-28, neither before (legacy answers keep their historical shape).
macro_rules! cacheable_list {
    ($($t:ty),+) => {$(
        impl Cacheable for $t {
            fn hints(mut self, era: Era, ttl_ms: u64, scope: CacheScope) -> Self {
                match era {
                    Era::Modern => {
                        self.result_type = Some(ResultType::COMPLETE);
                        self.ttl_ms = Some(ttl_ms);
                        self.cache_scope = Some(scope);
                    }
                    Era::Legacy => {
                        self.result_type = None;
                        self.ttl_ms = None;
                        self.cache_scope = None;
                    }
                }
                self
            }
        }
    )+};
}

trait Cacheable {
    fn hints(self, era: Era, ttl_ms: u64, scope: CacheScope) -> Self;
}

cacheable_list!(ListToolsResult, ListResourcesResult, ListResourceTemplatesResult, ListPromptsResult);

fn cacheable<T: Cacheable>(result: T, version: &str, ttl_ms: u64, scope: CacheScope) -> T {
    result.hints(Era::of(version), ttl_ms, scope)
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
    result.result_type = match Era::of(version) {
        Era::Modern => Some(ResultType::COMPLETE),
        Era::Legacy => None,
    };
    result
}

pub fn response<T: serde::Serialize>(id: RequestId, result: T) -> Value {
    serde_json::to_value(JsonRpcResponse { jsonrpc: JsonRpcVersion2_0, id, result }).unwrap_or(Value::Null)
}

/// A fault as a JSON-RPC error response (with the request's id when it was read).
pub fn fault(id: Option<RequestId>, f: &Fault) -> Value {
    error(id, f.code(), f.message(), f.data())
}

pub fn error(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>, data: Option<Value>) -> Value {
    let e = JsonRpcError::new(id, ErrorData::new(code, message.into(), data));
    serde_json::to_value(e).unwrap_or_else(|_| json!({"jsonrpc": "2.0", "error": {"code": code.0, "message": "error"}}))
}

/// `resources/list`: there are none (tools only).
pub fn empty_resources(version: &str) -> ListResourcesResult {
    cacheable(ListResourcesResult::with_all_items(Vec::new()), version, STATIC_TTL_MS, CacheScope::Public)
}

/// `resources/templates/list`: there are none.
pub fn empty_resource_templates(version: &str) -> ListResourceTemplatesResult {
    cacheable(ListResourceTemplatesResult::with_all_items(Vec::new()), version, STATIC_TTL_MS, CacheScope::Public)
}

/// `prompts/list`: there are none.
pub fn empty_prompts(version: &str) -> ListPromptsResult {
    cacheable(ListPromptsResult::with_all_items(Vec::new()), version, STATIC_TTL_MS, CacheScope::Public)
}

/// `resources/read`: no URI is a resource here. A `uri` that is not a string is a
/// malformed request; any other is "not found" (the code depends on the era).
pub fn read_resource(params: &Value, era: Era) -> Fault {
    match params.get("uri").and_then(Value::as_str) {
        Some(uri) => Fault::ResourceNotFound { uri: uri.into(), era },
        None => Fault::InvalidParams("resources/read needs params.uri (a string)".into()),
    }
}

/// `prompts/get`: there are no prompts, so every name is unknown (`-32602`, as the
/// spec asks for an invalid prompt name).
pub fn get_prompt(params: &Value) -> Fault {
    match params.get("name").and_then(Value::as_str) {
        Some(name) => Fault::InvalidParams(format!("Unknown prompt: {name} (this server has no prompts)")),
        None => Fault::InvalidParams("prompts/get needs params.name (a string)".into()),
    }
}
