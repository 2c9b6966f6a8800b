//! The tool catalogue: what agents can do, the same for MCP and REST. Each tool names
//! the one scope it requires, whether it reads or writes, its input and output JSON
//! Schemas and a description written for a model. There is no delete or archive tool.

pub mod args;
pub mod outputs;
mod render;

use std::sync::{Arc, LazyLock};

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value};

use crate::actors::rate_buckets::CallKind;
use crate::model::Scope;
pub use render::render_text;

pub type JsonObject = Map<String, Value>;

pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub scope: Scope,
    pub kind: CallKind,
    pub description: &'static str,
    pub input_schema: Arc<JsonObject>,
    pub output_schema: Arc<JsonObject>,
}

/// Schemas with every subschema inlined (no `$ref`), which every client understands.
fn schema<T: JsonSchema>() -> Arc<JsonObject> {
    let generator = SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true).into_generator();
    let schema: Schema = generator.into_root_schema_for::<T>();
    let mut obj = match schema.to_value() {
        Value::Object(o) => o,
        _ => JsonObject::new(),
    };
    obj.remove("$schema");
    obj.remove("title");
    Arc::new(obj)
}

macro_rules! tool {
    ($name:literal, $title:literal, $scope:ident, $kind:ident, $input:ty, $output:ty, $desc:expr) => {
        ToolDef {
            name: $name,
            title: $title,
            scope: Scope::$scope,
            kind: CallKind::$kind,
            description: $desc,
            input_schema: schema::<$input>(),
            output_schema: schema::<$output>(),
        }
    };
}

static CATALOGUE: LazyLock<Vec<ToolDef>> = LazyLock::new(|| {
    use crate::tasker::contract::{CommentWritten, Issue, IssuePage, IssueWritten, MemberWritten, ProjectContext};
    use args::*;
    use outputs::*;
    vec![
        tool!(
            "list_projects",
            "List projects",
            ProjectRead,
            Read,
            ListProjects,
            ProjectsOut,
            "List the Tasker projects this agent may work in, with their identifiers (e.g. WEB) and the scopes it has in each. Start here."
        ),
        tool!(
            "get_project_context",
            "Get project context",
            ProjectRead,
            Read,
            ProjectArg,
            ProjectContext,
            "Get a project's states (with their group: backlog, unstarted, started, completed, cancelled), labels and members. Use the exact names shown here for states, labels and assignees."
        ),
        tool!(
            "search_issues",
            "Search cards",
            IssueRead,
            Read,
            SearchIssues,
            IssuePage,
            "Search cards in a project by text, state, label or assignee. Results are paged: pass `next_cursor` back as `cursor` for more."
        ),
        tool!(
            "get_issue",
            "Get a card",
            IssueRead,
            Read,
            IssueArg,
            Issue,
            "Get one card by key (e.g. WEB-12) or id: fields, structured blocks with their versions, the description and recent comments."
        ),
        tool!(
            "create_issue",
            "Create a card",
            IssueCreate,
            Write,
            CreateIssue,
            IssueWritten,
            "Create a card in a project. Optionally set priority, state, labels, assignees, dates, a parent and structured blocks (goal, plan, acceptance, log, result). Requires an idempotency_key."
        ),
        tool!(
            "update_issue",
            "Update a card",
            IssueUpdate,
            Write,
            UpdateIssue,
            IssueWritten,
            "Change a card's title, priority, start or target date, or parent. Only the fields you send change. To change the description use update_structured_blocks. Requires an idempotency_key."
        ),
        tool!(
            "move_issue",
            "Move a card",
            IssueMove,
            Write,
            MoveIssue,
            IssueWritten,
            "Move a card to another state, by state name (e.g. `In Progress`) or id. Requires an idempotency_key."
        ),
        tool!(
            "add_comment",
            "Comment on a card",
            IssueComment,
            Write,
            AddComment,
            CommentWritten,
            "Add a plain-text comment to a card. Requires an idempotency_key."
        ),
        tool!(
            "set_issue_labels",
            "Change a card's labels",
            IssueLabel,
            Write,
            ChangeList,
            IssueWritten,
            "Add and/or remove labels on a card, by name or id. Adding a label it has or removing one it lacks changes nothing. Requires an idempotency_key."
        ),
        tool!(
            "assign_issue",
            "Change a card's assignees",
            IssueAssign,
            Write,
            ChangeList,
            IssueWritten,
            "Add and/or remove assignees on a card, by member id, email or name (project members only). Requires an idempotency_key."
        ),
        tool!(
            "update_structured_blocks",
            "Update structured blocks",
            IssueBlocks,
            Write,
            UpdateBlocks,
            IssueWritten,
            "Update the structured blocks in a card's description without touching the rest of it. Ops: `replace` a goal/plan/result (`text`) or the acceptance checklist (`items`) passing the `base_version` from get_issue (a conflict returns the current content to merge and retry); `append_log` adds a log entry; `check_item` ticks or unticks an acceptance item by its text. Requires an idempotency_key."
        ),
        tool!(
            "add_project_member",
            "Add a member to a project",
            ProjectMemberAddExisting,
            Write,
            AddProjectMember,
            MemberWritten,
            "Add an existing workspace member (by user id or email) to a project, as member unless a role is given. It cannot invite new people. Requires an idempotency_key."
        ),
    ]
});

pub fn catalogue() -> &'static [ToolDef] {
    &CATALOGUE
}

pub fn find(name: &str) -> Option<&'static ToolDef> {
    CATALOGUE.iter().find(|t| t.name == name)
}
