//! [`Call`]: the one value a tool call is carried by, through the pipeline and into
//! the tool. Tools reach Tasker, the grants and the writer through its methods.

use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::model::Scope;

use super::access::Allowed;
use super::error::ToolError;
use crate::actors::tasker_writer::{self, Job};
use crate::actors::token_sessions::Principal;
use crate::app::AppState;
use crate::service::Ctx;
use crate::tasker::client::{CallContext, TaskerClient, TaskerError};
use crate::tasker::contract::{self as c, Actor, Endpoint, Issue};
use crate::tools::{Target, ToolDef};

/// What the call's audit event names, filled in as its arguments resolve.
#[derive(Debug, Default, Clone)]
pub struct AuditRefs {
    pub project: Option<String>,
    pub card: Option<String>,
}

pub struct Call<'a> {
    state: &'a AppState,
    tasker: &'a TaskerClient,
    pub principal: &'a Principal,
    pub ctx: &'a Ctx,
    pub tool: &'static ToolDef,
    /// The arguments, until the tool takes them.
    args: Value,
    pub refs: AuditRefs,
    /// The idempotency key the arguments carry, if it is valid (for the audit event).
    pub(super) audit_key: Option<String>,
    /// The write's idempotency key, once claimed.
    key: Option<String>,
    /// The audit event, once recorded (a write records it before it runs).
    pub(super) audit_id: Option<Uuid>,
    /// The card the arguments name, once read.
    card: Option<Issue>,
}

impl<'a> Call<'a> {
    pub fn new(
        state: &'a AppState,
        tasker: &'a TaskerClient,
        principal: &'a Principal,
        ctx: &'a Ctx,
        tool: &'static ToolDef,
        args: Value,
    ) -> Self {
        let refs = refs_from_args(tool, &args);
        let audit_key = super::check_key(args.get("idempotency_key")).ok();
        Self { state, tasker, principal, ctx, tool, args, refs, audit_key, key: None, audit_id: None, card: None }
    }

    pub fn args(&self) -> &Value {
        &self.args
    }

    pub(super) fn set_key(&mut self, key: String) {
        self.key = Some(key);
    }

    pub(super) fn key(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }

    /// The tool's own code, on the arguments (which it takes).
    pub(super) async fn execute(&mut self) -> Result<Value, ToolError> {
        let args = std::mem::take(&mut self.args);
        let tool = self.tool;
        tool.execute(self, args).await
    }

    /// The grants carrying this tool's scope.
    pub fn allowed(&self) -> Result<Allowed<'a>, ToolError> {
        Allowed::for_tool(self.principal, self.tool)
    }

    /// What Tasker is told about the call: the projects granted for this tool, and the
    /// request to trace.
    pub fn cx(&self) -> CallContext {
        let granted = self.allowed().map(|a| a.ids()).unwrap_or_default();
        CallContext { granted, request_id: self.ctx.request_id.clone(), trace: self.ctx.trace }
    }

    /// Who a write is made by, for Tasker's history.
    pub fn actor(&self) -> Actor {
        Actor {
            agent_id: self.principal.agent_id,
            agent_name: self.principal.agent_name.clone(),
            owner_user_id: self.principal.owner_user_id,
            request_id: self.ctx.request_id.clone(),
        }
    }

    /// The grant step: the project or card the tool's target argument names must be
    /// granted for this tool, before anything else happens (a replayed write included).
    pub(super) async fn authorize(&mut self) -> Result<(), ToolError> {
        let named = |arg: &str| self.args.get(arg).and_then(Value::as_str).map(str::to_owned);
        match self.tool.target {
            Target::None => Ok(()),
            Target::Project(arg) => match named(arg) {
                Some(project) => self.project(&project).map(|_| ()),
                None => Ok(()),
            },
            Target::Card(arg) => match named(arg) {
                Some(card) => self.card(&card).await.map(|_| ()),
                None => Ok(()),
            },
        }
    }

    /// May this agent read with `scope` in the project the call touched? A write scope
    /// does not grant reads: a write's answer and its refusals show card or project
    /// content only to an agent that may read it there.
    pub fn may_read(&self, scope: Scope) -> bool {
        let Some(project) = self.refs.project.as_deref() else { return false };
        self.principal
            .grants
            .iter()
            .any(|g| g.project_identifier.as_str().eq_ignore_ascii_case(project) && g.scopes.contains(&scope))
    }

    /// A granted project, by id or identifier.
    pub fn project(&mut self, reference: &str) -> Result<Uuid, ToolError> {
        let allowed = self.allowed()?;
        let g = allowed.project(reference)?;
        self.refs.project = Some(g.project_identifier.to_string());
        Ok(g.project_id)
    }

    /// A card, read with this tool's granted projects: Tasker refuses a card outside
    /// them. Read once per call.
    pub async fn card(&mut self, reference: &str) -> Result<Issue, ToolError> {
        let r = reference.trim();
        if let Some(issue) = self.card.as_ref().filter(|i| i.key == r || i.id.to_string() == r) {
            return Ok(issue.clone());
        }
        let allowed = self.allowed()?;
        allowed.card(r)?;
        self.refs.card = Some(r.to_string());
        let issue = match self.tasker.get_issue(&self.cx(), r).await {
            Ok(issue) => issue,
            // In a project this agent may not use: say which it may, not where the card is.
            Err(TaskerError::Rejected(e)) if e.code == c::ErrorCode::ProjectNotGranted => {
                return Err(allowed.not_granted(&format!("Card `{r}`")));
            }
            Err(e) => return Err(self.tasker_error(e)),
        };
        self.refs.card = Some(issue.key.clone());
        self.refs.project = issue.key.rsplit_once('-').map(|(p, _)| p.to_string());
        self.card = Some(issue.clone());
        Ok(issue)
    }

    /// A Tasker read.
    pub async fn read<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint<(), T>,
        params: &[&str],
        query: Option<String>,
    ) -> Result<T, ToolError> {
        self.tasker.read(endpoint, params, query, &self.cx()).await.map_err(|e| self.tasker_error(e))
    }

    /// The WorkSessions actor (reporting mode).
    pub fn work_sessions(&self) -> &actix::Addr<crate::actors::work_sessions::WorkSessions> {
        &self.state.work_sessions
    }

    /// A Tasker write, queued on the TaskerWriter with the call's idempotency key.
    pub async fn write<T: Send + 'static>(&self, job: Job<T>) -> Result<T, ToolError> {
        let key = self.key.clone().ok_or_else(|| ToolError::internal("a write ran without an idempotency key"))?;
        Ok(tasker_writer::submit(&self.state.writer, job, self.cx(), key).await?)
    }

    fn tasker_error(&self, e: TaskerError) -> ToolError {
        ToolError::tasker(e, self.tool.kind)
    }
}

/// What the arguments name before anything is resolved (a replayed or refused call is
/// audited with these). Bounded and printable: these are the caller's words.
fn refs_from_args(tool: &ToolDef, args: &Value) -> AuditRefs {
    let text = |k: &str| {
        args.get(k)
            .and_then(Value::as_str)
            .map(|s| s.trim().chars().filter(|c| !c.is_control()).take(64).collect::<String>())
    };
    match tool.target {
        Target::None => AuditRefs::default(),
        Target::Project(arg) => AuditRefs { project: text(arg), card: None },
        Target::Card(arg) => {
            let card = text(arg);
            let project = card.as_deref().and_then(c::parse_issue_key).map(|(ident, _)| ident);
            AuditRefs { project, card }
        }
    }
}
