//! What each tool does once the call is allowed: Tasker reads through the client,
//! Tasker writes through the TaskerWriter mailbox.

use actix::Addr;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Target;
use super::access::Allowed;
use super::error::ToolError;
use crate::actors::tasker_writer::{Submit, TaskerWriter, Write, WriteOp, Written};
use crate::actors::token_sessions::Principal;
use crate::service::Ctx;
use crate::tasker::client::{CallContext, TaskerClient, TaskerError};
use crate::tasker::contract::{self as c, Actor, Issue};
use crate::tools::args;
use crate::tools::outputs::{ProjectOut, ProjectsOut, scope_names};

/// Longest string any argument may hold (the longest real field, a block's text, is
/// 20,000 characters; Tasker enforces the exact limits).
const MAX_ARG_CHARS: usize = 50_000;

/// Screens every string in the arguments: no NUL (no database stores it) and no
/// unbounded text. Names the offending path.
pub fn screen(tool: &str, args: &Value) -> Result<(), ToolError> {
    fn walk(v: &Value, path: &mut Vec<String>, tool: &str) -> Result<(), ToolError> {
        let bad = |path: &[String], why: &str| {
            let at = if path.is_empty() { String::new() } else { format!(" at `{}`", path.join(".")) };
            ToolError::failed("invalid_arguments", format!("The arguments of `{tool}` are not valid{at}: {why}."))
        };
        match v {
            Value::String(s) if s.contains('\0') => Err(bad(path, "text must not contain NUL characters")),
            Value::String(s) if s.chars().count() > MAX_ARG_CHARS => {
                Err(bad(path, &format!("text is longer than {MAX_ARG_CHARS} characters")))
            }
            Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
                path.push(i.to_string());
                let r = walk(item, path, tool);
                path.pop();
                r
            }),
            Value::Object(map) => map.iter().try_for_each(|(k, item)| {
                path.push(k.clone());
                let r = walk(item, path, tool);
                path.pop();
                r
            }),
            _ => Ok(()),
        }
    }
    walk(args, &mut Vec::new(), tool)
}

pub fn parse<T: DeserializeOwned>(tool: &str, args: &Value) -> Result<T, ToolError> {
    serde_path_to_error::deserialize(args.clone()).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at `{path}`") };
        ToolError::failed(
            "invalid_arguments",
            format!("The arguments of `{tool}` are not valid{at}: {}. See the tool's input schema.", e.inner()),
        )
    })
}

/// Everything a tool run needs.
pub struct Run<'a> {
    pub tasker: &'a TaskerClient,
    pub writer: &'a Addr<TaskerWriter>,
    pub principal: &'a Principal,
    pub ctx: &'a Ctx,
    pub allowed: Allowed<'a>,
    pub target: &'a mut Target,
    /// The card the arguments name, once read (by `authorize` or `card`).
    pub card: Option<Issue>,
}

impl Run<'_> {
    fn cx(&self) -> CallContext {
        CallContext { granted: self.allowed.ids(), request_id: self.ctx.request_id.clone() }
    }

    fn actor(&self) -> Actor {
        Actor {
            agent_id: self.principal.agent_id,
            agent_name: self.principal.agent_name.clone(),
            owner_user_id: self.principal.owner_user_id,
            request_id: self.ctx.request_id.clone(),
        }
    }

    fn project(&mut self, reference: &str) -> Result<Uuid, ToolError> {
        let g = self.allowed.project(reference)?;
        self.target.project_ref = Some(g.project_identifier.to_string());
        Ok(g.project_id)
    }

    /// Checks the project or card the arguments name against the grants, before
    /// anything else happens (a replayed write included): a project by id or identifier,
    /// a card by key, a card by id through Tasker with only the granted projects.
    pub async fn authorize(&mut self, args: &Value) -> Result<(), ToolError> {
        if let Some(project) = args.get("project").and_then(Value::as_str) {
            self.project(project)?;
        }
        if let Some(issue) = args.get("issue").and_then(Value::as_str) {
            self.card(issue).await?;
        }
        Ok(())
    }

    /// The card, read with the tool's granted set: Tasker refuses a card outside it.
    async fn card(&mut self, reference: &str) -> Result<Issue, ToolError> {
        if let Some(issue) =
            self.card.as_ref().filter(|i| i.key == reference.trim() || i.id.to_string() == reference.trim())
        {
            return Ok(issue.clone());
        }
        self.allowed.card(reference)?;
        self.target.card_ref = Some(reference.trim().to_string());
        let issue = match self.tasker.get_issue(&self.cx(), reference).await {
            Ok(issue) => issue,
            // In a project this agent may not use: say which it may, not where the card is.
            Err(TaskerError::Rejected(e)) if e.code == c::ErrorCode::ProjectNotGranted => {
                return Err(self.allowed.not_granted(&format!("Card `{}`", reference.trim())));
            }
            Err(e) => return Err(e.into()),
        };
        self.target.card_ref = Some(issue.key.clone());
        self.target.project_ref = issue.key.rsplit_once('-').map(|(p, _)| p.to_string());
        self.card = Some(issue.clone());
        Ok(issue)
    }

    async fn write(&self, project: Uuid, op: WriteOp, key: &str) -> Result<Value, ToolError> {
        let write = Write { project, op, cx: self.cx(), idempotency_key: key.to_string() };
        let written = self.writer.send(Submit(write)).await.map_err(ToolError::internal)??;
        Ok(match written {
            Written::Issue(i) => json!(i),
            Written::Comment(c) => json!(c),
            Written::Member(m) => json!(m),
        })
    }

    pub async fn execute(&mut self, args: &Value, key: Option<&str>) -> Result<Value, ToolError> {
        let tool = self.allowed.tool.name;
        let key = key.unwrap_or_default();
        match tool {
            "list_projects" => {
                parse::<args::ListProjects>(tool, args)?;
                let listed = self.tasker.list_projects(&self.cx()).await?;
                let projects = listed
                    .projects
                    .into_iter()
                    .filter_map(|p| {
                        let g = self.principal.grants.iter().find(|g| g.project_id == p.id)?;
                        Some(ProjectOut {
                            id: p.id,
                            identifier: p.identifier,
                            name: p.name,
                            scopes: scope_names(g.scopes.iter().copied()),
                        })
                    })
                    .collect();
                Ok(json!(ProjectsOut { projects }))
            }
            "get_project_context" => {
                let a: args::ProjectArg = parse(tool, args)?;
                let id = self.project(&a.project)?;
                Ok(json!(self.tasker.project_context(&self.cx(), id).await?))
            }
            "search_issues" => {
                let a: args::SearchIssues = parse(tool, args)?;
                if a.limit.is_some_and(|l| !(1..=c::MAX_PAGE).contains(&l)) {
                    return Err(ToolError::failed(
                        "invalid_arguments",
                        format!("`limit` must be 1 to {}.", c::MAX_PAGE),
                    ));
                }
                for (field, value, max) in [
                    ("query", &a.query, 500),
                    ("state", &a.state, 200),
                    ("label", &a.label, 200),
                    ("assignee", &a.assignee, 200),
                    ("cursor", &a.cursor, 200),
                ] {
                    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                        return Err(ToolError::failed(
                            "invalid_arguments",
                            format!("`{field}` is longer than {max} characters."),
                        ));
                    }
                }
                let id = self.project(&a.project)?;
                let q = c::SearchQuery {
                    q: a.query,
                    state: a.state,
                    label: a.label,
                    assignee: a.assignee,
                    cursor: a.cursor,
                    limit: a.limit,
                };
                Ok(json!(self.tasker.search_issues(&self.cx(), id, &q).await?))
            }
            "get_issue" => {
                let a: args::IssueArg = parse(tool, args)?;
                Ok(json!(self.card(&a.issue).await?))
            }
            "create_issue" => {
                let a: args::CreateIssue = parse(tool, args)?;
                let project = self.project(&a.project)?;
                let body = c::CreateIssue {
                    actor: self.actor(),
                    title: a.title,
                    priority: a.priority,
                    state: a.state,
                    labels: a.labels,
                    assignees: a.assignees,
                    start_date: a.start_date,
                    target_date: a.target_date,
                    parent: a.parent,
                    blocks: a.blocks,
                };
                let out = self.write(project, WriteOp::CreateIssue(body), key).await?;
                self.target.card_ref = out["issue"]["key"].as_str().map(str::to_string);
                Ok(out)
            }
            "update_issue" => {
                let a: args::UpdateIssue = parse(tool, args)?;
                let mut changes = Map::new();
                if let Some(t) = a.title {
                    changes.insert("title".into(), json!(t));
                }
                if let Some(p) = a.priority {
                    changes.insert("priority".into(), json!(p));
                }
                if let Some(d) = a.start_date {
                    changes.insert("start_date".into(), json!(d));
                }
                if let Some(d) = a.target_date {
                    changes.insert("target_date".into(), json!(d));
                }
                if let Some(p) = a.parent {
                    changes.insert("parent".into(), json!(p));
                }
                if changes.is_empty() {
                    return Err(ToolError::failed(
                        "invalid_arguments",
                        "Nothing to change: send at least one of title, priority, start_date, target_date, parent.",
                    ));
                }
                let issue = self.card(&a.issue).await?;
                let op =
                    WriteOp::UpdateIssue { issue: issue.id, body: c::UpdateIssue { actor: self.actor(), changes } };
                self.write(issue.project_id, op, key).await
            }
            "move_issue" => {
                let a: args::MoveIssue = parse(tool, args)?;
                let issue = self.card(&a.issue).await?;
                let op =
                    WriteOp::MoveIssue { issue: issue.id, body: c::MoveIssue { actor: self.actor(), state: a.state } };
                self.write(issue.project_id, op, key).await
            }
            "add_comment" => {
                let a: args::AddComment = parse(tool, args)?;
                let issue = self.card(&a.issue).await?;
                let op =
                    WriteOp::AddComment { issue: issue.id, body: c::AddComment { actor: self.actor(), body: a.body } };
                self.write(issue.project_id, op, key).await
            }
            "set_issue_labels" | "assign_issue" => {
                let a: args::ChangeList = parse(tool, args)?;
                if a.add.is_empty() && a.remove.is_empty() {
                    return Err(ToolError::failed(
                        "invalid_arguments",
                        "Nothing to change: send `add` and/or `remove`.",
                    ));
                }
                let issue = self.card(&a.issue).await?;
                let body = c::ChangeSet { actor: self.actor(), add: a.add, remove: a.remove };
                let op = if tool == "set_issue_labels" {
                    WriteOp::ChangeLabels { issue: issue.id, body }
                } else {
                    WriteOp::ChangeAssignees { issue: issue.id, body }
                };
                self.write(issue.project_id, op, key).await
            }
            "update_structured_blocks" => {
                let a: args::UpdateBlocks = parse(tool, args)?;
                if a.ops.is_empty() {
                    return Err(ToolError::failed("invalid_arguments", "Nothing to change: `ops` is empty."));
                }
                let issue = self.card(&a.issue).await?;
                let op = WriteOp::UpdateBlocks {
                    issue: issue.id,
                    body: c::UpdateBlocks { actor: self.actor(), ops: a.ops },
                };
                self.write(issue.project_id, op, key).await
            }
            "add_project_member" => {
                let a: args::AddProjectMember = parse(tool, args)?;
                if a.role == Some(c::ProjectRole::Admin) {
                    return Err(ToolError::denied(
                        "role_not_allowed",
                        "Agents may add members as `member` or `guest`; making someone an admin is for people, in Tasker.",
                    ));
                }
                let project = self.project(&a.project)?;
                let body = c::AddProjectMember { actor: self.actor(), user: a.user, role: a.role };
                self.write(project, WriteOp::AddProjectMember(body), key).await
            }
            other => Err(ToolError::internal(format!("tool `{other}` has no implementation"))),
        }
    }
}
