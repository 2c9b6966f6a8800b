//! Tool inputs. Each is a JSON Schema (`additionalProperties: false`) for MCP clients
//! and the REST body of the same tool.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::double_option;
use crate::tasker::contract::{BlockOp, Blocks, Priority, ProjectRole};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProjects {}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectArg {
    /// The project's id or identifier (e.g. `WEB`), as `list_projects` shows it.
    pub project: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchIssues {
    /// The project's id or identifier (e.g. `WEB`).
    pub project: String,
    /// Text to find in titles and descriptions.
    #[serde(default)]
    pub query: Option<String>,
    /// Only cards in this state (name or id).
    #[serde(default)]
    pub state: Option<String>,
    /// Only cards with this label (name or id).
    #[serde(default)]
    pub label: Option<String>,
    /// Only cards assigned to this member (id, email or name).
    #[serde(default)]
    pub assignee: Option<String>,
    /// `next_cursor` from the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Cards per page, 1 to 100 (default 25).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueArg {
    /// The card's key (e.g. `WEB-12`) or id.
    pub issue: String,
}

/// Every write takes one: a key you choose for this change (e.g.
/// `create-login-page-1`). Repeating a call with the same key and arguments returns the
/// first result instead of writing twice; use a new key for a new change.
pub type IdempotencyKey = String;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIssue {
    /// The project's id or identifier (e.g. `WEB`).
    pub project: String,
    pub title: String,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// State name or id; the project's default state if omitted.
    #[serde(default)]
    pub state: Option<String>,
    /// Label names or ids.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Members to assign: id, email or name.
    #[serde(default)]
    pub assignees: Vec<String>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub target_date: Option<NaiveDate>,
    /// Parent card key or id, in the same project.
    #[serde(default)]
    pub parent: Option<String>,
    /// Structured blocks to start the card with (goal, plan, acceptance, log, result).
    #[serde(default)]
    pub blocks: Option<Blocks>,
    /// A key you choose for this change; repeating it with the same arguments returns
    /// the first result instead of writing twice.
    pub idempotency_key: IdempotencyKey,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIssue {
    /// The card's key (e.g. `WEB-12`) or id.
    pub issue: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// YYYY-MM-DD, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(with = "Option<NaiveDate>")]
    pub start_date: Option<Option<NaiveDate>>,
    /// YYYY-MM-DD, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(with = "Option<NaiveDate>")]
    pub target_date: Option<Option<NaiveDate>>,
    /// Parent card key or id, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(with = "Option<String>")]
    pub parent: Option<Option<String>>,
    /// A key you choose for this change; repeating it with the same arguments returns
    /// the first result instead of writing twice.
    pub idempotency_key: IdempotencyKey,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIssue {
    /// The card's key (e.g. `WEB-12`) or id.
    pub issue: String,
    /// The state to move to: its name (e.g. `In Progress`) or id.
    pub state: String,
    /// A key you choose for this change.
    pub idempotency_key: IdempotencyKey,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddComment {
    /// The card's key (e.g. `WEB-12`) or id.
    pub issue: String,
    /// Plain text.
    pub body: String,
    /// A key you choose for this change.
    pub idempotency_key: IdempotencyKey,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeList {
    /// The card's key (e.g. `WEB-12`) or id.
    pub issue: String,
    /// Names or ids to add.
    #[serde(default)]
    pub add: Vec<String>,
    /// Names or ids to remove.
    #[serde(default)]
    pub remove: Vec<String>,
    /// A key you choose for this change.
    pub idempotency_key: IdempotencyKey,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBlocks {
    /// The card's key (e.g. `WEB-12`) or id.
    pub issue: String,
    /// Changes applied in order, all or nothing.
    pub ops: Vec<BlockOp>,
    /// A key you choose for this change.
    pub idempotency_key: IdempotencyKey,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddProjectMember {
    /// The project's id or identifier (e.g. `WEB`).
    pub project: String,
    /// An existing workspace member: user id or email.
    pub user: String,
    /// `member` (the default) or `guest`; agents cannot make anyone an admin.
    #[serde(default)]
    pub role: Option<ProjectRole>,
    /// A key you choose for this change.
    pub idempotency_key: IdempotencyKey,
}
