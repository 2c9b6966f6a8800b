//! Route table. Each path is one resource, so a known path with another method (a
//! DELETE, say) is answered 405, never passed on. Nothing here forwards a path.

mod agent_session;
mod agents;
pub(crate) mod console_links;
mod health;
mod mcp;
pub(crate) mod metrics;
mod owners;
pub(crate) mod reporting;
mod tokens;
mod tools;

use actix_web::web::{self, get, patch, post, put, resource};

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

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(get().to(health::healthz)))
        .service(resource("/readyz").route(get().to(health::readyz)))
        .service(resource("/metrics").route(get().to(metrics::with_token)))
        .service(
            web::scope("/api/internal/v1/owners/{owner_user_id}")
                .service(resource("").route(put().to(owners::upsert)).route(get().to(owners::get)))
                .service(resource("/access").route(get().to(owners::access)))
                .service(resource("/changes").route(get().to(owners::changes)))
                .service(resource("/console-links").route(post().to(console_links::owner_link)))
                .service(resource("/audit").route(get().to(reporting::owner_audit)))
                .service(resource("/reporting-mode").route(put().to(owners::set_reporting_mode)))
                .service(resource("/reporting/agents").route(get().to(reporting::owner_agents)))
                .service(resource("/reporting/sessions").route(get().to(reporting::owner_sessions)))
                .service(resource("/reporting/sessions/{session_id}").route(get().to(reporting::owner_session)))
                .service(resource("/reporting/activity").route(get().to(reporting::owner_activity)))
                .service(resource("/reporting/audit").route(get().to(reporting::owner_audit)))
                .service(resource("/agents").route(post().to(agents::create)).route(get().to(agents::list)))
                .service(resource("/agents/{agent_id}").route(get().to(agents::get)).route(patch().to(agents::update)))
                .service(resource("/agents/{agent_id}/revoke").route(post().to(agents::revoke)))
                .service(resource("/agents/{agent_id}/setup").route(get().to(agents::setup)))
                .service(
                    resource("/agents/{agent_id}/grants")
                        .route(get().to(agents::grants))
                        .route(put().to(agents::replace_grants)),
                )
                .service(
                    resource("/agents/{agent_id}/tokens").route(post().to(tokens::issue)).route(get().to(tokens::list)),
                )
                .service(resource("/agents/{agent_id}/tokens/{token_id}/revoke").route(post().to(tokens::revoke))),
        )
        .service(
            web::scope("/api/internal/v1/clients/{client_id}")
                .service(resource("").route(put().to(owners::upsert_client)).route(get().to(owners::get_client)))
                .service(resource("/changes").route(get().to(owners::client_changes))),
        )
        .service(resource("/api/internal/v1/console-links").route(post().to(console_links::admin_link)))
        .service(
            web::scope("/api/internal/v1/reporting")
                .service(resource("/agents").route(get().to(reporting::admin_agents)))
                .service(resource("/sessions").route(get().to(reporting::admin_sessions)))
                .service(resource("/sessions/{session_id}").route(get().to(reporting::admin_session)))
                .service(resource("/activity").route(get().to(reporting::admin_activity)))
                .service(resource("/audit").route(get().to(reporting::admin_audit))),
        )
        .configure(crate::console::configure)
        .service(resource("/api/v1/agent-session").route(get().to(agent_session::whoami)))
        .service(resource("/api/v1/agent-session/setup").route(get().to(agent_session::setup)))
        .service(resource("/mcp").route(post().to(mcp::post)).route(web::delete().to(mcp::delete)))
        .service(
            // One line per tool: its path, and whether it reads or writes.
            web::scope("/api/v1")
                .service(resource("/projects").route(tools::read::<ListProjects>()))
                .service(resource("/projects/{project}/context").route(tools::read::<GetProjectContext>()))
                .service(
                    resource("/projects/{project}/issues").route(tools::read::<SearchIssues>()).route(tools::write::<
                        CreateIssue,
                    >(
                        post()
                    )),
                )
                .service(resource("/projects/{project}/members").route(tools::write::<AddProjectMember>(post())))
                .service(
                    resource("/issues/{issue}")
                        .route(tools::read::<GetIssue>())
                        .route(tools::write::<UpdateIssue>(patch())),
                )
                .service(resource("/issues/{issue}/move").route(tools::write::<MoveIssue>(post())))
                .service(resource("/issues/{issue}/comments").route(tools::write::<AddComment>(post())))
                .service(resource("/issues/{issue}/labels").route(tools::write::<SetIssueLabels>(post())))
                .service(resource("/issues/{issue}/assignees").route(tools::write::<AssignIssue>(post())))
                .service(resource("/issues/{issue}/blocks").route(tools::write::<UpdateStructuredBlocks>(post())))
                .service(resource("/work-sessions").route(tools::write::<StartWorkSession>(post())))
                .service(resource("/work-sessions/{session}/progress").route(tools::write::<ReportProgress>(post())))
                .service(resource("/work-sessions/{session}/finish").route(tools::write::<FinishWorkSession>(post()))),
        );
}
