//! `demo-setup`: from an empty database to a Codex agent working on the demo workspace
//! (the reference Tasker's fixed `demo` ids) in one command, replacing the three
//! operator commands of the README for a first try, e.g. `docker compose run --rm
//! gateway demo-setup` right after `up`.
//!
//! It is made to be run again: the demo owner and the agent are reused when they exist
//! (never changed: an operator's block or grant change stands), and only the token is
//! new each run, because a token is shown once and cannot be shown again. Earlier
//! tokens stay valid until revoked; the output says so. It goes through the same
//! services and audit as the operator commands.

use super::operator::{Failure, gateway_url, print_grants, print_issued};
use crate::config::args::DemoSetupArgs;
use crate::model::{AgentStatus, Owner, OwnerStatus, ProjectIdentifier, Scope};
use crate::reference_tasker::demo;
use crate::service::agents::{AgentView, GrantRequest, NewAgent};
use crate::service::owners::OwnerProjection;
use crate::service::{Ctx, Refusal, ServiceError, Services, Within};

/// The demo owner's display name (the reference Tasker's `demo::ALICE`).
const OWNER_NAME: &str = "Alice";
pub const AGENT_NAME: &str = "Demo agent";
const AGENT_DESCRIPTION: &str = "Created by demo-setup on the demo workspace's project WEB.";
/// The demo project's identifier (`demo::WEB`).
const PROJECT: &str = "WEB";
pub const TOKEN_LABEL: &str = "demo-setup";

/// A contributor's scopes: read, create, edit, move, comment, label, assign and keep the
/// structured blocks. Not `project:member:add_existing` (membership is an admin's
/// call) nor `session:report`.
const SCOPES: &[Scope] = &[
    Scope::ProjectRead,
    Scope::IssueRead,
    Scope::IssueCreate,
    Scope::IssueUpdate,
    Scope::IssueMove,
    Scope::IssueComment,
    Scope::IssueLabel,
    Scope::IssueAssign,
    Scope::IssueBlocks,
];

pub(super) async fn run(services: &Services<'_>, ctx: &Ctx, args: DemoSetupArgs) -> Result<(), Failure> {
    let url = gateway_url(args.public_url.as_deref(), args.bind.as_deref())?;
    ensure_owner(services, ctx).await?;
    let view = ensure_agent(services, ctx).await?;
    let issued = services.issue_token(ctx, Within::Owner(demo::ALICE), view.agent.id, TOKEN_LABEL, None).await?;
    println!();
    print_issued(&issued, &view.agent, &url);
    println!(
        "\nEvery demo-setup run issues a new token; earlier ones stay valid until revoked \
         (`token list --agent {id}`, `token revoke --token TOKEN_ID`).",
        id = view.agent.id
    );
    Ok(())
}

/// Alice, created entitled if missing. An existing owner is left as it is: one that
/// may not use agents (blocked, annulled, no entitlement) stops the setup.
async fn ensure_owner(services: &Services<'_>, ctx: &Ctx) -> Result<Owner, Failure> {
    match services.owner(demo::ALICE).await {
        Ok(owner) => {
            if let Some(denial) = services.owner_access(owner.user_id).await?.reason {
                return Err(Failure::Failed(format!(
                    "the demo owner {} ({}) may not use Codex agents ({denial}: {}); demo-setup does not \
                     change an existing owner: `owner upsert --user-id {} --name {}` restores access",
                    owner.display_name,
                    owner.user_id,
                    denial.message(),
                    owner.user_id,
                    OWNER_NAME
                )));
            }
            println!("demo owner {} ({}): exists", owner.display_name, owner.user_id);
            Ok(owner)
        }
        Err(ServiceError::NotFound(_)) => {
            let projection = OwnerProjection {
                user_id: demo::ALICE,
                display_name: OWNER_NAME.to_string(),
                status: OwnerStatus::Active,
                codex_agents: true,
                client_id: None,
                reporting_mode: None,
            };
            let owner = services.upsert_owner(ctx, projection).await?;
            println!(
                "demo owner {} ({}): created, with the codex_agents entitlement",
                owner.display_name, owner.user_id
            );
            Ok(owner)
        }
        Err(e) => Err(e.into()),
    }
}

/// Alice's active "Demo agent", created on project WEB if she has none.
async fn ensure_agent(services: &Services<'_>, ctx: &Ctx) -> Result<AgentView, Failure> {
    let (view, state) = match existing_agent(services).await? {
        Some(view) => (view, "exists"),
        None => (create_agent(services, ctx).await?, "created"),
    };
    println!("agent {} ({}): {state}", view.agent.name, view.agent.id);
    print_grants(&view.grants);
    Ok(view)
}

async fn create_agent(services: &Services<'_>, ctx: &Ctx) -> Result<AgentView, Failure> {
    let project_identifier = ProjectIdentifier::parse(PROJECT).map_err(Failure::Failed)?;
    let grant = GrantRequest { project_id: demo::WEB, project_identifier, scopes: Some(SCOPES.to_vec()) };
    let new =
        NewAgent { name: AGENT_NAME.to_string(), description: AGENT_DESCRIPTION.to_string(), grants: vec![grant] };
    match services.create_agent(ctx, demo::ALICE, new).await {
        Ok(view) => Ok(view),
        // A concurrent run created it first: use that one. Otherwise another agent's
        // name clashes with it, which the error explains.
        Err(e @ ServiceError::Refused { code: Refusal::AgentNameTaken, .. }) => {
            existing_agent(services).await?.ok_or_else(|| e.into())
        }
        Err(e) => Err(e.into()),
    }
}

async fn existing_agent(services: &Services<'_>) -> Result<Option<AgentView>, Failure> {
    let within = Within::Owner(demo::ALICE);
    let agents = services.list_agents(within).await?;
    match agents.into_iter().find(|a| a.status == AgentStatus::Active && a.name == AGENT_NAME) {
        Some(a) => Ok(Some(services.agent(within, a.id).await?)),
        None => Ok(None),
    }
}
