//! Capabilities an agent may be granted, one per kind of tool call.

use std::collections::BTreeSet;

use super::string_enum;

string_enum!(
    /// A capability. Each MCP tool requires exactly one.
    Scope {
        ProjectRead => "project:read",
        IssueRead => "issue:read",
        IssueCreate => "issue:create",
        IssueUpdate => "issue:update",
        IssueMove => "issue:move",
        IssueComment => "issue:comment",
        IssueLabel => "issue:label",
        IssueAssign => "issue:assign",
        IssueBlocks => "issue:blocks",
        ProjectMemberAddExisting => "project:member:add_existing",
        SessionReport => "session:report",
    }
);

impl Scope {
    pub fn is_write(self) -> bool {
        !matches!(self, Scope::ProjectRead | Scope::IssueRead)
    }

    pub fn description(self) -> &'static str {
        match self {
            Scope::ProjectRead => "see the project, its states, labels and members",
            Scope::IssueRead => "search and read cards, their blocks and comments",
            Scope::IssueCreate => "create cards",
            Scope::IssueUpdate => "change a card's title, priority, dates or parent",
            Scope::IssueMove => "move a card to another state",
            Scope::IssueComment => "comment on cards",
            Scope::IssueLabel => "add and remove labels on cards",
            Scope::IssueAssign => "add and remove assignees on cards",
            Scope::IssueBlocks => "update a card's structured blocks (goal, plan, acceptance, log, result)",
            Scope::ProjectMemberAddExisting => "add an existing workspace member to the project",
            Scope::SessionReport => "report work sessions on cards",
        }
    }
}

/// A set of scopes, stored as space-separated names.
pub type ScopeSet = BTreeSet<Scope>;

/// What a grant gets when no scopes are asked for: read only (least privilege).
pub fn default_scopes() -> ScopeSet {
    [Scope::ProjectRead, Scope::IssueRead].into_iter().collect()
}

pub fn to_stored(scopes: &ScopeSet) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

pub fn from_stored(raw: &str) -> Result<ScopeSet, String> {
    raw.split_whitespace().map(str::parse).collect()
}
