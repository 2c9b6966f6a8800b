//! The Tasker internal adapter contract: paths, headers and wire types, shared by the
//! gateway's client and the reference Tasker so the two cannot drift apart.
//!
//! Every call carries `Authorization: Bearer <NODE.DC internal token>`, the projects the
//! agent is granted (`X-NodeDC-Granted-Projects`) and the gateway's request id. Every
//! write also carries an `Idempotency-Key` header and an [`Actor`] in its body.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every adapter path starts here.
pub const BASE_PATH: &str = "/api/internal/nodedc/agent";
/// Comma-separated UUIDs of the projects the calling agent is granted.
pub const GRANTED_HEADER: &str = "x-nodedc-granted-projects";
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Required on every write. The same agent, key and request (method, path and body,
/// leaving out `actor.request_id`, which differs between retries) replays the stored
/// answer — same status, same body, with `Idempotent-Replayed: true` — instead of
/// writing again (the actor's `agent_name`, like `request_id`, is not part of the
/// request's identity); the same key with another request is `idempotency_key_reused`. Only
/// successful writes are recorded: a refused write changed nothing, so its key may be
/// used again with a corrected request. Success is 201 for a created card, comment or
/// newly added member, 200 otherwise.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Largest page of search results.
pub const MAX_PAGE: u32 = 100;

/// Who a write is made by, recorded in the card's history as
/// "agent NAME on behalf of OWNER".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub agent_id: Uuid,
    pub agent_name: String,
    pub owner_user_id: Uuid,
    pub request_id: String,
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// Plane's state groups.
    StateGroup {
        Backlog => "backlog",
        Unstarted => "unstarted",
        Started => "started",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

wire_enum!(Priority { Urgent => "urgent", High => "high", Medium => "medium", Low => "low", None => "none" });

wire_enum!(ProjectRole { Admin => "admin", Member => "member", Guest => "guest" });

wire_enum!(
    /// The structured blocks a card's description may hold.
    BlockName { Goal => "goal", Plan => "plan", Acceptance => "acceptance", Log => "log", Result => "result" }
);

// ------------------------------------------------------------------------- projects

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Project {
    pub id: Uuid,
    /// Short upper-case identifier, the prefix of card keys (`WEB` in `WEB-12`).
    pub identifier: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProjectList {
    pub projects: Vec<Project>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct State {
    pub id: Uuid,
    pub name: String,
    pub group: StateGroup,
    /// The state new cards get when none is given.
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Label {
    pub id: Uuid,
    pub name: String,
    pub color: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: ProjectRole,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProjectContext {
    pub project: Project,
    pub states: Vec<State>,
    pub labels: Vec<Label>,
    pub members: Vec<Member>,
}

// ------------------------------------------------------------------------- cards

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StateRef {
    pub id: Uuid,
    pub name: String,
    pub group: StateGroup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LabelRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserRef {
    pub user_id: Uuid,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IssueRef {
    pub id: Uuid,
    pub key: String,
}

/// One acceptance criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceItem {
    pub text: String,
    #[serde(default)]
    pub checked: bool,
}

/// The structured blocks of a card. A block that is absent is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Blocks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Vec<AcceptanceItem>>,
    /// Append-only entries, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Comment {
    pub id: Uuid,
    pub body: String,
    /// Display form of who wrote it ("Alice", or "agent Web bot on behalf of Alice").
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// A card as search returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IssueSummary {
    pub id: Uuid,
    pub key: String,
    pub project_id: Uuid,
    pub title: String,
    pub priority: Priority,
    pub state: StateRef,
    pub labels: Vec<LabelRef>,
    pub assignees: Vec<UserRef>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct IssuePage {
    pub issues: Vec<IssueSummary>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A card in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Issue {
    pub id: Uuid,
    pub key: String,
    pub project_id: Uuid,
    pub sequence_id: i64,
    pub title: String,
    pub priority: Priority,
    pub state: StateRef,
    pub labels: Vec<LabelRef>,
    pub assignees: Vec<UserRef>,
    pub start_date: Option<NaiveDate>,
    pub target_date: Option<NaiveDate>,
    pub parent: Option<IssueRef>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub blocks: Blocks,
    /// The version of each present block, to send back as `base_version` on replace.
    pub block_versions: BTreeMap<BlockName, String>,
    /// The whole description, blocks and human zone, as Tasker stores it.
    pub description_html: String,
    /// The human zone (the description without its structured blocks) as plain text,
    /// one line per paragraph or list item. Empty when there is none.
    #[serde(default)]
    pub description_text: String,
    /// The latest comments, newest last.
    pub recent_comments: Vec<Comment>,
}

/// Search parameters (query string of `GET /projects/{id}/issues`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Text to find in titles and descriptions (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// State name or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Label name or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Assignee user id, email or display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// 1 to [`MAX_PAGE`]; default 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

// ------------------------------------------------------------------------- writes

/// `POST /projects/{project_id}/issues`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIssue {
    pub actor: Actor,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// State name or id; the project's default state when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Label names or ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Member user ids, emails or display names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_date: Option<NaiveDate>,
    /// Parent card id or key, in the same project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Blocks>,
}

/// The fields `update` may change, and no others. A field set to `null` is cleared
/// (dates, parent); an absent field is left alone.
pub const UPDATABLE_FIELDS: &[&str] =
    &["title", "priority", "start_date", "target_date", "parent", "description_blocks"];

/// `PATCH /issues/{issue_id}`. `changes` is checked against [`UPDATABLE_FIELDS`] by name
/// before it is read, so an unknown field is refused as `field_not_allowed`, never
/// ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIssue {
    pub actor: Actor,
    pub changes: serde_json::Map<String, serde_json::Value>,
}

/// `POST /issues/{issue_id}/move`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIssue {
    pub actor: Actor,
    /// State name or id.
    pub state: String,
}

/// `POST /issues/{issue_id}/comments`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddComment {
    pub actor: Actor,
    /// Plain text.
    pub body: String,
}

/// `POST /issues/{issue_id}/labels` and `POST /issues/{issue_id}/assignees`: names,
/// ids (or, for assignees, emails) to add and to remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeSet {
    pub actor: Actor,
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// One change to a card's structured blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum BlockOp {
    /// Replace a whole block. `base_version` is the version last read; it is required
    /// when the block exists, and a mismatch (someone changed it meanwhile) is a
    /// `conflict` carrying the current content. Text blocks (goal, plan, result) take
    /// `text`; acceptance takes `items`. The log cannot be replaced, only appended to.
    Replace {
        block: BlockName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        items: Option<Vec<AcceptanceItem>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base_version: Option<String>,
    },
    /// Append an entry to the log, on top of the latest content (never a conflict).
    AppendLog { entry: String },
    /// Tick or untick the acceptance item with this exact text, on top of the latest
    /// content (never a conflict).
    CheckItem { item: String, checked: bool },
}

/// `POST /issues/{issue_id}/blocks`: applied in order, all or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBlocks {
    pub actor: Actor,
    pub ops: Vec<BlockOp>,
}

/// `POST /projects/{project_id}/members`: add an existing workspace member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddProjectMember {
    pub actor: Actor,
    /// Workspace member user id or email.
    pub user: String,
    /// Default: member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ProjectRole>,
}

/// The answer to every card write: the card as it is after the write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IssueWritten {
    pub issue: Issue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommentWritten {
    pub comment: Comment,
    pub issue: Issue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MemberWritten {
    pub member: Member,
    /// False when the user already was a project member (nothing changed).
    pub added: bool,
}

// ------------------------------------------------------------------------- endpoints

/// The HTTP methods the contract uses (there is no DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Patch,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
        }
    }
}

/// One adapter endpoint: its method and its path pattern under [`BASE_PATH`]
/// (`{name}` marks a path parameter), with what it takes (`Req`, `()` for reads) and
/// answers (`Resp`) as types. The client calls these; the reference Tasker routes them;
/// the tests derive their probes from [`ENDPOINTS`].
pub struct Endpoint<Req, Resp> {
    pub verb: Verb,
    pub pattern: &'static str,
    types: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp> Endpoint<Req, Resp> {
    const fn new(verb: Verb, pattern: &'static str) -> Self {
        Self { verb, pattern, types: PhantomData }
    }

    /// The path with each `{…}` replaced, in order, by `params` (percent-encoded).
    pub fn path(&self, params: &[&str]) -> String {
        let mut out = String::with_capacity(self.pattern.len() + 40);
        let mut rest = self.pattern;
        let mut params = params.iter();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
            let value = params.next().copied().unwrap_or_default();
            out.extend(url::form_urlencoded::byte_serialize(value.trim().as_bytes()));
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    pub const fn route(&self) -> (Verb, &'static str) {
        (self.verb, self.pattern)
    }
}

pub const LIST_PROJECTS: Endpoint<(), ProjectList> = Endpoint::new(Verb::Get, "/projects");
/// The projects a person (an agent's owner) is a member of, for managing their agents'
/// grants. Not filtered by the granted set: it lists the owner's own projects.
pub const USER_PROJECTS: Endpoint<(), ProjectList> = Endpoint::new(Verb::Get, "/users/{user_id}/projects");
/// Query `ref`: a project id or identifier.
pub const RESOLVE_PROJECT: Endpoint<(), Project> = Endpoint::new(Verb::Get, "/projects/resolve");
pub const PROJECT_CONTEXT: Endpoint<(), ProjectContext> = Endpoint::new(Verb::Get, "/projects/{project_id}/context");
/// Query: [`SearchQuery`].
pub const SEARCH_ISSUES: Endpoint<(), IssuePage> = Endpoint::new(Verb::Get, "/projects/{project_id}/issues");
pub const CREATE_ISSUE: Endpoint<CreateIssue, IssueWritten> =
    Endpoint::new(Verb::Post, "/projects/{project_id}/issues");
pub const ADD_PROJECT_MEMBER: Endpoint<AddProjectMember, MemberWritten> =
    Endpoint::new(Verb::Post, "/projects/{project_id}/members");
/// `{issue}`: a card id or key.
pub const GET_ISSUE: Endpoint<(), Issue> = Endpoint::new(Verb::Get, "/issues/{issue}");
pub const UPDATE_ISSUE: Endpoint<UpdateIssue, IssueWritten> = Endpoint::new(Verb::Patch, "/issues/{issue}");
pub const MOVE_ISSUE: Endpoint<MoveIssue, IssueWritten> = Endpoint::new(Verb::Post, "/issues/{issue}/move");
pub const ADD_COMMENT: Endpoint<AddComment, CommentWritten> = Endpoint::new(Verb::Post, "/issues/{issue}/comments");
pub const CHANGE_LABELS: Endpoint<ChangeSet, IssueWritten> = Endpoint::new(Verb::Post, "/issues/{issue}/labels");
pub const CHANGE_ASSIGNEES: Endpoint<ChangeSet, IssueWritten> = Endpoint::new(Verb::Post, "/issues/{issue}/assignees");
pub const UPDATE_BLOCKS: Endpoint<UpdateBlocks, IssueWritten> = Endpoint::new(Verb::Post, "/issues/{issue}/blocks");

/// Every endpoint of the contract, as (method, pattern).
pub const ENDPOINTS: &[(Verb, &str)] = &[
    LIST_PROJECTS.route(),
    USER_PROJECTS.route(),
    RESOLVE_PROJECT.route(),
    PROJECT_CONTEXT.route(),
    SEARCH_ISSUES.route(),
    CREATE_ISSUE.route(),
    ADD_PROJECT_MEMBER.route(),
    GET_ISSUE.route(),
    UPDATE_ISSUE.route(),
    MOVE_ISSUE.route(),
    ADD_COMMENT.route(),
    CHANGE_LABELS.route(),
    CHANGE_ASSIGNEES.route(),
    UPDATE_BLOCKS.route(),
];

// ------------------------------------------------------------------------- errors

wire_enum!(
    /// Stable error codes the adapter answers with.
    ErrorCode {
        Unauthorized => "unauthorized",
        NotFound => "not_found",
        ProjectNotGranted => "project_not_granted",
        ValidationFailed => "validation_failed",
        FieldNotAllowed => "field_not_allowed",
        Conflict => "conflict",
        IdempotencyKeyReused => "idempotency_key_reused",
        DeleteNotSupported => "delete_not_supported",
        ArchiveNotSupported => "archive_not_supported",
        BadRequest => "bad_request",
        RateLimited => "rate_limited",
        Unavailable => "unavailable",
    }
);

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Unauthorized => 401,
            ErrorCode::NotFound => 404,
            ErrorCode::ProjectNotGranted => 403,
            ErrorCode::ValidationFailed | ErrorCode::FieldNotAllowed => 422,
            ErrorCode::Conflict | ErrorCode::IdempotencyKeyReused => 409,
            ErrorCode::DeleteNotSupported => 405,
            ErrorCode::ArchiveNotSupported => 403,
            ErrorCode::BadRequest => 400,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
        }
    }
}

/// `{"error": {...}}`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub error: AdapterError,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AdapterError {
    pub code: ErrorCode,
    pub message: String,
    /// What a caller needs to recover. For `validation_failed`: `field`, `unknown`
    /// (the values not found) and `valid` (every valid value). For `field_not_allowed`:
    /// `fields` and `allowed`. For `conflict` on a block: `block`, `current_version`
    /// and `current` (the block's content). For `rate_limited`/`unavailable`:
    /// `retry_after_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Comma-separated project ids for [`GRANTED_HEADER`].
pub fn granted_header_value(projects: &[Uuid]) -> String {
    projects.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")
}

/// Parses [`GRANTED_HEADER`]; `None` if any entry is not a UUID.
pub fn parse_granted_header(raw: &str) -> Option<Vec<Uuid>> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Uuid::parse_str(s).ok()).collect()
}

/// A card key such as `WEB-12`: (identifier, sequence).
pub fn parse_issue_key(raw: &str) -> Option<(String, i64)> {
    let (ident, seq) = raw.trim().rsplit_once('-')?;
    let seq: i64 = seq.parse().ok().filter(|n| *n > 0)?;
    let ok = !ident.is_empty() && ident.len() <= 12 && ident.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| (ident.to_ascii_uppercase(), seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_headers_parse() {
        assert_eq!(parse_issue_key("web-12"), Some(("WEB".into(), 12)));
        assert_eq!(parse_issue_key("WEB-0"), None);
        assert_eq!(parse_issue_key("WEB"), None);
        let ids = vec![Uuid::new_v4(), Uuid::new_v4()];
        assert_eq!(parse_granted_header(&granted_header_value(&ids)), Some(ids));
        assert_eq!(parse_granted_header("x"), None);
        assert_eq!(parse_granted_header(""), Some(vec![]));
    }

    #[test]
    fn endpoint_paths_fill_and_encode_their_parameters() {
        let id = Uuid::nil();
        assert_eq!(PROJECT_CONTEXT.path(&[&id.to_string()]), format!("/projects/{id}/context"));
        assert_eq!(GET_ISSUE.path(&[" WEB-1 "]), "/issues/WEB-1");
        assert_eq!(GET_ISSUE.path(&["a/b c"]), "/issues/a%2Fb+c");
        assert_eq!(LIST_PROJECTS.path(&[]), "/projects");
    }

    #[test]
    fn block_ops_are_tagged() {
        let op: BlockOp = serde_json::from_str(r#"{"op":"append_log","entry":"done"}"#).unwrap();
        assert_eq!(op, BlockOp::AppendLog { entry: "done".into() });
        assert!(serde_json::from_str::<BlockOp>(r#"{"op":"delete","block":"plan"}"#).is_err());
    }
}
