//! The setup packet: everything needed to connect Codex to this gateway as one agent,
//! and an AGENTS.md instruction pack for it. It names the environment variable that
//! holds the token and never contains a token, so every part can be written to files.

use std::fmt::Write;

use serde::Serialize;
use uuid::Uuid;

use crate::codex::{self, CodexSetup};
use crate::model::Grant;
use crate::tools;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ToolAccess {
    pub name: &'static str,
    pub scope: &'static str,
    /// Identifiers of the projects where the agent may use it.
    pub projects: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SetupPacket {
    pub agent_id: Uuid,
    pub agent_name: String,
    pub mcp_url: String,
    pub codex: CodexSetup,
    pub tools: Vec<ToolAccess>,
    /// Markdown to save as AGENTS.md in the repositories the agent works in.
    pub agents_md: String,
}

pub fn packet(agent_id: Uuid, agent_name: &str, grants: &[Grant], public_url: &str) -> SetupPacket {
    let codex = codex::setup(agent_name, agent_id, public_url);
    let tools: Vec<ToolAccess> = tools::catalogue()
        .iter()
        .filter_map(|t| {
            let projects: Vec<String> = grants
                .iter()
                .filter(|g| g.scopes.contains(&t.scope))
                .map(|g| g.project_identifier.to_string())
                .collect();
            (!projects.is_empty()).then(|| ToolAccess { name: t.name, scope: t.scope.as_str(), projects })
        })
        .collect();
    let agents_md = agents_md(agent_name, grants, &tools, &codex);
    SetupPacket { agent_id, agent_name: agent_name.to_string(), mcp_url: codex.url.clone(), codex, tools, agents_md }
}

fn agents_md(agent_name: &str, grants: &[Grant], tools: &[ToolAccess], codex: &CodexSetup) -> String {
    let server = &codex.server_name;
    let mut s = String::new();
    let _ = writeln!(s, "# Tasker cards through the NODE.DC agent gateway\n");
    let _ = writeln!(
        s,
        "This repository's work is tracked on Tasker cards. You act as the agent **{agent_name}**, through the MCP server `{server}` only. \
Its token is read from the `{}` environment variable; never print it, paste it or write it to a file.\n",
        codex.bearer_token_env_var
    );
    let _ = writeln!(s, "## Projects you may use\n");
    if grants.is_empty() {
        let _ = writeln!(s, "None yet: ask your owner to grant a project.\n");
    }
    for g in grants {
        let scopes: Vec<&str> = g.scopes.iter().map(|s| s.as_str()).collect();
        let _ = writeln!(s, "- **{}** (`{}`): {}", g.project_identifier, g.project_id, scopes.join(", "));
    }
    let _ = writeln!(s, "\n## Tools\n");
    for t in tools {
        let description = tools::find(t.name).map(|d| d.description).unwrap_or_default();
        let _ = writeln!(s, "- `{}` ({}; in {}): {}", t.name, t.scope, t.projects.join(", "), description);
    }
    let _ = writeln!(
        s,
        "\nStart with `list_projects`, then `get_project_context` for the exact state, label and member names. \
Name cards by key (`WEB-12`).\n"
    );
    let _ = writeln!(
        s,
        "## Idempotency keys\n\n\
Every write takes an `idempotency_key` you choose: `<action>-<card or project>-<what>-<n>`, for example \
`create-WEB-login-page-1` or `move-WEB-12-review-1`. After a timeout, or an error that says to retry, repeat the call with the \
**same** key and arguments: you get the first result, never a duplicate. Use a **new** key for a new change; the same key with \
different arguments is refused.\n"
    );
    let _ = writeln!(
        s,
        "## Structured blocks\n\n\
Keep your working notes in the card's blocks, not in comments: **goal** (what and why), **plan** (the steps), **acceptance** \
(a checklist), **log** (append-only progress notes) and **result** (what was delivered). Use `update_structured_blocks`:\n\n\
- read the card with `get_issue` first; to `replace` a block pass the `base_version` it showed. If a person changed the block \
since, you get a conflict with the current content: merge your change into it and retry with the new version;\n\
- `append_log` adds a progress entry and `check_item` ticks an acceptance item; neither can conflict;\n\
- everything else in the description belongs to people and is never changed by these tools.\n"
    );
    if tools.iter().any(|t| t.scope == crate::model::Scope::SessionReport.as_str()) {
        let _ = writeln!(
            s,
            "## Work sessions\n\n\
Report what you work on, so your owner sees it:\n\n\
- at the **beginning** of a task, call `start_work_session` with its goal and the card you start on, and keep the session id \
it answers;\n\
- when the **card or the step changes**, call `report_progress` with that id, the card and one sentence on what you do now;\n\
- at the **end**, call `finish_work_session` with the outcome (`done`, `blocked` or `abandoned`) and a short summary.\n\n\
Your owner may require an open work session before any change: a write refused with `work_session_required` means \
`start_work_session` first. A session with no report and no tool call for a while turns stale, then abandoned. What you \
report is shown as reported by you; the gateway sees only what passes through it.\n"
        );
    }
    let _ = writeln!(
        s,
        "## Limits\n\n\
Nothing can be deleted or archived through the gateway, and there is no other way in: do not call Tasker or Plane directly. \
Calls are rate-limited; an error result says how long to wait and how to recover."
    );
    s
}
