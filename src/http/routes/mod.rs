//! Route table. Each path is one resource, so a known path with another method (a
//! DELETE, say) is answered 405, never passed on. Nothing here forwards a path.
//!
//! The product API (`/api/v1`, `/api/internal/v1`) is one list, [`api`]: each line is
//! a method, a path, its handler and what `/openapi.json` says about it. [`configure`]
//! registers those routes from that list and `crate::http::openapi` describes the same
//! list, so the document cannot miss a route nor describe one that is not served.

mod agent_session;
mod agents;
pub(crate) mod console_links;
pub(crate) mod health;
mod mcp;
pub(crate) mod metrics;
mod owners;
pub(crate) mod reporting;
mod tokens;
#[doc(hidden)]
pub mod tools;

use actix_web::Route;
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::web::{self, get, post, resource};
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::http::refusals;

use crate::tools::add_comment::AddComment;
use crate::tools::add_project_member::AddProjectMember;
use crate::tools::assign_issue::AssignIssue;
use crate::tools::create_issue::CreateIssue;
use crate::tools::finish_work_session::FinishWorkSession;
use crate::tools::get_issue::GetIssue;
use crate::tools::get_project_context::GetProjectContext;
use crate::tools::list_projects::ListProjects;
use crate::tools::move_issue::MoveIssue;
use crate::tools::report_progress::ReportProgress;
use crate::tools::search_issues::SearchIssues;
use crate::tools::set_issue_labels::SetIssueLabels;
use crate::tools::start_work_session::StartWorkSession;
use crate::tools::update_issue::UpdateIssue;
use crate::tools::update_structured_blocks::UpdateStructuredBlocks;
use crate::tools::{Tool, ToolDef};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(get().to(health::healthz)))
        .service(resource("/readyz").route(get().to(health::readyz)))
        .service(resource("/openapi.json").route(get().to(crate::http::openapi::serve)))
        .service(resource("/metrics").route(get().to(metrics::with_token)));
    register(cfg, &api());
    cfg.configure(crate::console::configure).service(
        resource("/mcp")
            .route(post().to(mcp::post))
            .route(web::delete().to(mcp::delete))
            .wrap(from_fn(refusals::audit_refusals)),
    );
}

/// One resource per path, in the order the paths first appear, with a route per line.
fn register(cfg: &mut web::ServiceConfig, table: &[Endpoint]) {
    let mut paths: Vec<&'static str> = Vec::new();
    for e in table {
        if !paths.contains(&e.path) {
            paths.push(e.path);
        }
    }
    for path in paths {
        let mut r = resource(path);
        for e in table.iter().filter(|e| e.path == path) {
            r = r.route((e.attach)(web::route().method(e.verb.method())));
        }
        if path.starts_with("/api/v1/") {
            // An agent's refusals outside the pipeline (a 405, a malformed body) are audited.
            cfg.service(r.wrap(from_fn(refusals::audit_refusals)));
        } else {
            cfg.service(r);
        }
    }
}

/// A method of the product API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
}

impl Verb {
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Patch => Method::PATCH,
        }
    }

    /// As OpenAPI names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Put => "put",
            Verb::Patch => "patch",
        }
    }
}

/// Whose bearer token a route takes (the extractor its handler declares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// An agent's token.
    Agent,
    /// Any internal token.
    Internal,
    /// Launcher's token or the shared one.
    Launcher,
    /// Tasker's backend's token or the shared one.
    Tasker,
}

/// A schema in the document's generator (a `$ref` for a named type).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// One line of the product API.
pub struct Endpoint {
    pub verb: Verb,
    pub path: &'static str,
    attach: fn(Route) -> Route,
    pub caller: Caller,
    pub summary: &'static str,
    /// The JSON body it reads.
    pub body: Option<SchemaFn>,
    /// Its query parameters, as an object's properties.
    pub query: Option<SchemaFn>,
    /// The success status and the JSON it answers.
    pub status: u16,
    pub answer: Option<SchemaFn>,
    /// Also answers CSV or NDJSON when `Accept` asks for it (the audit export).
    pub exports: bool,
    /// A tool's route: the tool describes its arguments and result.
    pub tool: Option<fn() -> &'static ToolDef>,
}

impl Endpoint {
    fn new(verb: Verb, path: &'static str, caller: Caller, summary: &'static str, attach: fn(Route) -> Route) -> Self {
        Self {
            verb,
            path,
            attach,
            caller,
            summary,
            body: None,
            query: None,
            status: 200,
            answer: None,
            exports: false,
            tool: None,
        }
    }

    fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(schema::<T>);
        self
    }

    fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema::<T>);
        self
    }

    fn answer<T: JsonSchema>(mut self) -> Self {
        self.answer = Some(schema::<T>);
        self
    }

    fn created(mut self) -> Self {
        self.status = 201;
        self
    }

    fn exports(mut self) -> Self {
        self.exports = true;
        self
    }

    /// A tool's REST route: `GET` reads (path and query), anything else writes (body,
    /// path and `Idempotency-Key`).
    fn tool<T: Tool>(verb: Verb, path: &'static str) -> Self {
        let attach: fn(Route) -> Route = if verb == Verb::Get { tools::read::<T> } else { tools::write::<T> };
        let mut e = Self::new(verb, path, Caller::Agent, T::TITLE, attach);
        e.tool = Some(crate::tools::def::<T>);
        e
    }
}

/// The product API: every route under `/api/v1` and `/api/internal/v1`.
pub fn api() -> Vec<Endpoint> {
    use Caller::{Agent, Internal, Launcher, Tasker};
    use Verb::{Get, Patch, Post, Put};
    type E = Endpoint;
    const OWNER: &str = "/api/internal/v1/owners/{owner_user_id}";
    macro_rules! owner {
        ($tail:literal) => {
            concat!("/api/internal/v1/owners/{owner_user_id}", $tail)
        };
    }
    vec![
        // Entitlement projection (Launcher) and the owner's reporting mode (Tasker).
        E::new(Put, OWNER, Launcher, "Project an owner from Launcher", |r| r.to(owners::upsert))
            .body::<owners::UpsertOwner>()
            .answer::<owners::OwnerAnswer>(),
        E::new(Get, OWNER, Internal, "An owner's projection", |r| r.to(owners::get)).answer::<crate::model::Owner>(),
        E::new(Get, owner!("/access"), Internal, "Whether the owner's agents may work", |r| r.to(owners::access))
            .answer::<crate::model::OwnerAccess>(),
        E::new(Get, owner!("/changes"), Internal, "The owner's projection history", |r| r.to(owners::changes))
            .query::<owners::ChangesQuery>()
            .answer::<owners::Changes>(),
        E::new(Post, owner!("/console-links"), Tasker, "A console sign-in link for the owner", |r| {
            r.to(console_links::owner_link)
        })
        .created()
        .answer::<console_links::ConsoleLink>(),
        E::new(Get, owner!("/audit"), Tasker, "The owner's audit trail", |r| r.to(reporting::owner_audit))
            .query::<reporting::AuditQuery>()
            .answer::<reporting::AuditPage>()
            .exports(),
        E::new(Put, owner!("/reporting-mode"), Tasker, "Set the owner's reporting mode", |r| {
            r.to(owners::set_reporting_mode)
        })
        .body::<owners::ModeBody>()
        .answer::<crate::model::Owner>(),
        E::new(Get, owner!("/reporting/agents"), Tasker, "The owner's agents and their status", |r| {
            r.to(reporting::owner_agents)
        })
        .query::<reporting::AgentsQuery>()
        .answer::<reporting::AgentsPage>(),
        E::new(Get, owner!("/reporting/sessions"), Tasker, "The owner's work sessions", |r| {
            r.to(reporting::owner_sessions)
        })
        .query::<reporting::SessionsQuery>()
        .answer::<reporting::SessionsPage>(),
        E::new(Get, owner!("/reporting/sessions/{session_id}"), Tasker, "One work session with its events", |r| {
            r.to(reporting::owner_session)
        })
        .answer::<reporting::SessionDetail>(),
        E::new(Get, owner!("/reporting/activity"), Tasker, "The owner's calls over time", |r| {
            r.to(reporting::owner_activity)
        })
        .query::<reporting::ActivityParams>()
        .answer::<crate::service::reporting::ActivityReport>(),
        E::new(Get, owner!("/reporting/audit"), Tasker, "The owner's audit trail", |r| r.to(reporting::owner_audit))
            .query::<reporting::AuditQuery>()
            .answer::<reporting::AuditPage>()
            .exports(),
        // Owner lifecycle: agents, grants and tokens (Tasker's backend).
        E::new(Post, owner!("/agents"), Tasker, "Create an agent", |r| r.to(agents::create))
            .body::<agents::CreateAgent>()
            .created()
            .answer::<crate::service::agents::AgentView>(),
        E::new(Get, owner!("/agents"), Tasker, "The owner's agents", |r| r.to(agents::list))
            .answer::<agents::AgentList>(),
        E::new(Get, owner!("/agents/{agent_id}"), Tasker, "An agent with its grants", |r| r.to(agents::get))
            .answer::<crate::service::agents::AgentView>(),
        E::new(Patch, owner!("/agents/{agent_id}"), Tasker, "Rename an agent or change its limits", |r| {
            r.to(agents::update)
        })
        .body::<agents::UpdateAgent>()
        .answer::<crate::service::agents::AgentView>(),
        E::new(Post, owner!("/agents/{agent_id}/revoke"), Tasker, "Revoke an agent and its tokens", |r| {
            r.to(agents::revoke)
        })
        .answer::<crate::model::Agent>(),
        E::new(Get, owner!("/agents/{agent_id}/setup"), Tasker, "The agent's setup packet (no secret)", |r| {
            r.to(agents::setup)
        })
        .answer::<crate::setup::SetupPacket>(),
        E::new(Get, owner!("/agents/{agent_id}/grants"), Tasker, "The agent's grants", |r| r.to(agents::grants))
            .answer::<agents::GrantList>(),
        E::new(Put, owner!("/agents/{agent_id}/grants"), Tasker, "Replace the agent's grants", |r| {
            r.to(agents::replace_grants)
        })
        .body::<agents::ReplaceGrants>()
        .answer::<agents::GrantList>(),
        E::new(Post, owner!("/agents/{agent_id}/tokens"), Tasker, "Issue a token (shown once)", |r| {
            r.to(tokens::issue)
        })
        .body::<tokens::IssueToken>()
        .created()
        .answer::<tokens::IssuedTokenAnswer>(),
        E::new(Get, owner!("/agents/{agent_id}/tokens"), Tasker, "The agent's tokens (no secret)", |r| {
            r.to(tokens::list)
        })
        .answer::<tokens::TokenList>(),
        E::new(Post, owner!("/agents/{agent_id}/tokens/{token_id}/revoke"), Tasker, "Revoke a token", |r| {
            r.to(tokens::revoke)
        })
        .answer::<crate::model::TokenInfo>(),
        // Clients (organisations), from Launcher.
        E::new(Put, "/api/internal/v1/clients/{client_id}", Launcher, "Project a client from Launcher", |r| {
            r.to(owners::upsert_client)
        })
        .body::<owners::UpsertClient>()
        .answer::<owners::ClientAnswer>(),
        E::new(Get, "/api/internal/v1/clients/{client_id}", Launcher, "A client's projection", |r| {
            r.to(owners::get_client)
        })
        .answer::<crate::model::Client>(),
        E::new(Get, "/api/internal/v1/clients/{client_id}/changes", Launcher, "The client's projection history", |r| {
            r.to(owners::client_changes)
        })
        .query::<owners::ChangesQuery>()
        .answer::<owners::Changes>(),
        // Launcher's admin: console links and reporting across owners.
        E::new(Post, "/api/internal/v1/console-links", Launcher, "A console sign-in link for an admin", |r| {
            r.to(console_links::admin_link)
        })
        .body::<console_links::AdminLink>()
        .created()
        .answer::<console_links::ConsoleLink>(),
        E::new(Get, "/api/internal/v1/reporting/agents", Launcher, "Agents across owners and their status", |r| {
            r.to(reporting::admin_agents)
        })
        .query::<reporting::AgentsQuery>()
        .answer::<reporting::AgentsPage>(),
        E::new(Get, "/api/internal/v1/reporting/sessions", Launcher, "Work sessions across owners", |r| {
            r.to(reporting::admin_sessions)
        })
        .query::<reporting::SessionsQuery>()
        .answer::<reporting::SessionsPage>(),
        E::new(
            Get,
            "/api/internal/v1/reporting/sessions/{session_id}",
            Launcher,
            "One work session with its events",
            |r| r.to(reporting::admin_session),
        )
        .answer::<reporting::SessionDetail>(),
        E::new(Get, "/api/internal/v1/reporting/activity", Launcher, "Calls over time across owners", |r| {
            r.to(reporting::admin_activity)
        })
        .query::<reporting::ActivityParams>()
        .answer::<crate::service::reporting::ActivityReport>(),
        E::new(Get, "/api/internal/v1/reporting/audit", Launcher, "The audit trail across owners", |r| {
            r.to(reporting::admin_audit)
        })
        .query::<reporting::AuditQuery>()
        .answer::<reporting::AuditPage>()
        .exports(),
        // The agent's own view.
        E::new(Get, "/api/v1/agent-session", Agent, "What the agent's token says about itself", |r| {
            r.to(agent_session::whoami)
        })
        .answer::<agent_session::WhoAmI>(),
        E::new(Get, "/api/v1/agent-session/setup", Agent, "The agent's setup packet (no secret)", |r| {
            r.to(agent_session::setup)
        })
        .answer::<crate::setup::SetupPacket>(),
        // One line per tool: its path, and whether it reads (GET) or writes.
        E::tool::<ListProjects>(Get, "/api/v1/projects"),
        E::tool::<GetProjectContext>(Get, "/api/v1/projects/{project}/context"),
        E::tool::<SearchIssues>(Get, "/api/v1/projects/{project}/issues"),
        E::tool::<CreateIssue>(Post, "/api/v1/projects/{project}/issues"),
        E::tool::<AddProjectMember>(Post, "/api/v1/projects/{project}/members"),
        E::tool::<GetIssue>(Get, "/api/v1/issues/{issue}"),
        E::tool::<UpdateIssue>(Patch, "/api/v1/issues/{issue}"),
        E::tool::<MoveIssue>(Post, "/api/v1/issues/{issue}/move"),
        E::tool::<AddComment>(Post, "/api/v1/issues/{issue}/comments"),
        E::tool::<SetIssueLabels>(Post, "/api/v1/issues/{issue}/labels"),
        E::tool::<AssignIssue>(Post, "/api/v1/issues/{issue}/assignees"),
        E::tool::<UpdateStructuredBlocks>(Post, "/api/v1/issues/{issue}/blocks"),
        E::tool::<StartWorkSession>(Post, "/api/v1/work-sessions"),
        E::tool::<ReportProgress>(Post, "/api/v1/work-sessions/{session}/progress"),
        E::tool::<FinishWorkSession>(Post, "/api/v1/work-sessions/{session}/finish"),
    ]
}
