//! Agents and their project grants.

use std::collections::BTreeSet;

use serde::Serialize;
use uuid::Uuid;

use super::audit::{self, Subject};
use super::owners::require_access;
use super::{Ctx, Entity, Refusal, ServiceError, Services, Within, clean_name, clean_text};
use crate::actors::token_sessions::InvalidateAgent;
use crate::model::scope::default_scopes;
use crate::model::{Agent, AgentStatus, Grant, ProjectIdentifier, Scope, ScopeSet};
use crate::storage::{self, DbConn};
use crate::tasker::client::{CallContext, TaskerClient, TaskerError};
use crate::tasker::contract::Project;

/// Bounded so the granted set fits the header that carries it to Tasker.
pub const MAX_GRANTS: usize = 100;

/// A requested grant. Without scopes it is read-only (least privilege).
#[derive(Debug, Clone)]
pub struct GrantRequest {
    pub project_id: Uuid,
    pub project_identifier: ProjectIdentifier,
    pub scopes: Option<Vec<Scope>>,
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub name: String,
    pub description: String,
    pub grants: Vec<GrantRequest>,
}

/// What to change; `None` leaves a field alone. For the rate budgets, `Some(None)`
/// returns the agent to the gateway's default.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub read_per_minute: Option<Option<u32>>,
    pub write_per_minute: Option<Option<u32>>,
}

pub const MAX_PER_MINUTE: u32 = 100_000;

fn check_budget(field: &'static str, v: Option<Option<u32>>) -> Result<(), ServiceError> {
    match v {
        Some(Some(n)) if !(1..=MAX_PER_MINUTE).contains(&n) => Err(ServiceError::refused(
            Refusal::InvalidField,
            format!("`{field}` must be 1 to {MAX_PER_MINUTE} calls per minute, or null for the default"),
        )),
        _ => Ok(()),
    }
}

/// An agent with its grants.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AgentView {
    #[serde(flatten)]
    pub agent: Agent,
    pub grants: Vec<Grant>,
}

pub fn build_grants(requests: Vec<GrantRequest>) -> Result<Vec<Grant>, ServiceError> {
    if requests.len() > MAX_GRANTS {
        return Err(ServiceError::refused(
            Refusal::TooManyGrants,
            format!("at most {MAX_GRANTS} projects may be granted"),
        ));
    }
    let mut seen_ids = BTreeSet::new();
    let mut seen_idents = BTreeSet::new();
    let mut grants = Vec::with_capacity(requests.len());
    for r in requests {
        if !seen_ids.insert(r.project_id) {
            return Err(ServiceError::refused(
                Refusal::DuplicateGrant,
                format!("project {} is granted twice", r.project_id),
            ));
        }
        if !seen_idents.insert(r.project_identifier.clone()) {
            return Err(ServiceError::refused(
                Refusal::DuplicateGrant,
                format!("project identifier {} is granted twice", r.project_identifier),
            ));
        }
        let scopes: ScopeSet = match r.scopes {
            None => default_scopes(),
            Some(list) if list.is_empty() => {
                return Err(ServiceError::refused(
                    Refusal::InvalidScopes,
                    format!(
                        "the grant for {} has an empty scope list; omit `scopes` for read-only access or name scopes from: {}",
                        r.project_identifier,
                        Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            Some(list) => list.into_iter().collect(),
        };
        grants.push(Grant { project_id: r.project_id, project_identifier: r.project_identifier, scopes });
    }
    grants.sort_by(|a, b| a.project_identifier.cmp(&b.project_identifier));
    Ok(grants)
}

/// Finds an agent the caller may touch: another owner's agent is "not found".
pub(crate) fn find_within(conn: &mut DbConn, within: Within, id: Uuid) -> Result<Agent, ServiceError> {
    let agent = match within {
        Within::Owner(owner) => storage::agents::find_owned(conn, owner, id)?,
        Within::AnyOwner => storage::agents::find(conn, id)?,
    };
    agent.ok_or(ServiceError::NotFound(Entity::Agent))
}

fn require_active(agent: &Agent) -> Result<(), ServiceError> {
    if agent.status == AgentStatus::Active {
        Ok(())
    } else {
        Err(ServiceError::Refused {
            code: Refusal::AgentRevoked,
            message: format!("agent {} has been revoked", agent.id),
        })
    }
}

fn name_conflict(name: &str) -> ServiceError {
    ServiceError::Refused {
        code: Refusal::AgentNameTaken,
        message: format!(
            "the owner already has an active agent named `{name}`, or one whose Codex server name would be the same"
        ),
    }
}

fn owner_of(within: Within) -> Option<Uuid> {
    match within {
        Within::Owner(o) => Some(o),
        Within::AnyOwner => None,
    }
}

impl Services<'_> {
    pub async fn create_agent(&self, ctx: &Ctx, owner: Uuid, new: NewAgent) -> Result<AgentView, ServiceError> {
        let change = async {
            let name = clean_name("name", &new.name, 1, 80)?;
            let description = clean_text("description", &new.description, 0, 2000)?;
            let grants = build_grants(new.grants)?;
            if !grants.is_empty() {
                // Who may not have agents hears that, not what Tasker thinks of a grant.
                self.db.run(move |c| require_access(c, owner)).await?;
                self.check_projects(ctx, owner, &grants).await?;
            }
            let ctx2 = ctx.clone();
            let result = self
                .db
                .write(move |conn| {
                    require_access(conn, owner)?;
                    storage::owners::lock(conn, owner)?;
                    if storage::agents::name_taken(conn, owner, &name, None)? {
                        return Err(name_conflict(&name));
                    }
                    let now = storage::now().and_utc();
                    let agent = Agent {
                        id: Uuid::new_v4(),
                        owner_user_id: owner,
                        name: name.clone(),
                        description,
                        status: AgentStatus::Active,
                        created_at: now,
                        updated_at: now,
                        last_seen_at: None,
                        revoked_at: None,
                        read_per_minute: None,
                        write_per_minute: None,
                    };
                    storage::agents::insert(conn, &agent)?;
                    storage::grants::replace(conn, agent.id, &grants, now.naive_utc())?;
                    audit::allowed(conn, &ctx2, "agent.create", Subject::agent(Some(owner), agent.id))?;
                    Ok(AgentView { agent, grants })
                })
                .await;
            match result {
                Err(ServiceError::Storage(e)) if e.is_unique_violation() => Err(name_conflict(new.name.trim())),
                other => other,
            }
        };
        audit::audited(self.db, ctx, "agent.create", Subject::owner(owner), change).await
    }

    pub async fn list_agents(&self, within: Within) -> Result<Vec<Agent>, ServiceError> {
        Ok(self.db.run(move |c| storage::agents::list(c, owner_of(within))).await?)
    }

    pub async fn agent(&self, within: Within, id: Uuid) -> Result<AgentView, ServiceError> {
        self.db
            .run(move |c| {
                let agent = find_within(c, within, id)?;
                let grants = storage::grants::list_for_agent(c, id)?;
                Ok(AgentView { agent, grants })
            })
            .await
    }

    pub async fn update_agent(
        &self,
        ctx: &Ctx,
        within: Within,
        id: Uuid,
        patch: AgentPatch,
    ) -> Result<AgentView, ServiceError> {
        let change = async {
            let name = patch.name.as_deref().map(|n| clean_name("name", n, 1, 80)).transpose()?;
            let description =
                patch.description.as_deref().map(|d| clean_text("description", d, 0, 2000)).transpose()?;
            check_budget("read_per_minute", patch.read_per_minute)?;
            check_budget("write_per_minute", patch.write_per_minute)?;
            let (read, write) = (patch.read_per_minute, patch.write_per_minute);
            let ctx2 = ctx.clone();
            let result = self
                .db
                .write(move |conn| {
                    let agent = find_within(conn, within, id)?;
                    require_active(&agent)?;
                    let name = name.unwrap_or(agent.name.clone());
                    let description = description.unwrap_or(agent.description.clone());
                    let profile = storage::agents::Profile {
                        name: &name,
                        description: &description,
                        read_per_minute: read.unwrap_or(agent.read_per_minute),
                        write_per_minute: write.unwrap_or(agent.write_per_minute),
                    };
                    storage::owners::lock(conn, agent.owner_user_id)?;
                    if name != agent.name && storage::agents::name_taken(conn, agent.owner_user_id, &name, Some(id))? {
                        return Err(name_conflict(&name));
                    }
                    storage::agents::update_profile(conn, id, profile, storage::now())?;
                    audit::allowed(conn, &ctx2, "agent.update", Subject::agent(Some(agent.owner_user_id), id))?;
                    let agent = find_within(conn, within, id)?;
                    let grants = storage::grants::list_for_agent(conn, id)?;
                    Ok(AgentView { agent, grants })
                })
                .await;
            match result {
                Err(ServiceError::Storage(e)) if e.is_unique_violation() => {
                    Err(name_conflict(patch.name.as_deref().unwrap_or_default().trim()))
                }
                other => other,
            }
        };
        audit::audited(self.db, ctx, "agent.update", Subject::agent(owner_of(within), id), change).await
    }

    /// Revokes an agent and every token it has. Revoking a revoked agent is a no-op
    /// that answers the same.
    pub async fn revoke_agent(&self, ctx: &Ctx, within: Within, id: Uuid) -> Result<Agent, ServiceError> {
        let change = async {
            let ctx2 = ctx.clone();
            let agent = self
                .db
                .write(move |conn| {
                    let agent = find_within(conn, within, id)?;
                    if agent.status == AgentStatus::Active {
                        let now = storage::now();
                        storage::agents::revoke(conn, id, now)?;
                        storage::tokens::revoke_all_for_agent(conn, id, now)?;
                        storage::mcp_sessions::close_for_agent(conn, id, now)?;
                    }
                    audit::allowed(conn, &ctx2, "agent.revoke", Subject::agent(Some(agent.owner_user_id), id))?;
                    find_within(conn, within, id)
                })
                .await?;
            if let Some(sessions) = self.sessions {
                let _ = sessions.send(InvalidateAgent(id)).await;
            }
            Ok(agent)
        };
        audit::audited(self.db, ctx, "agent.revoke", Subject::agent(owner_of(within), id), change).await
    }

    pub async fn grants(&self, within: Within, id: Uuid) -> Result<Vec<Grant>, ServiceError> {
        self.db
            .run(move |c| {
                find_within(c, within, id)?;
                Ok(storage::grants::list_for_agent(c, id)?)
            })
            .await
    }

    /// Replaces all of an agent's grants. Takes effect on the agent's next request.
    pub async fn replace_grants(
        &self,
        ctx: &Ctx,
        within: Within,
        id: Uuid,
        requests: Vec<GrantRequest>,
    ) -> Result<Vec<Grant>, ServiceError> {
        let change = async {
            let grants = build_grants(requests)?;
            // Another owner's agent is not found before Tasker is asked anything.
            let agent = self.db.run(move |c| find_within(c, within, id)).await?;
            require_active(&agent)?;
            self.check_projects(ctx, agent.owner_user_id, &grants).await?;
            let ctx2 = ctx.clone();
            self.db
                .write(move |conn| {
                    let agent = find_within(conn, within, id)?;
                    require_active(&agent)?;
                    storage::grants::replace(conn, id, &grants, storage::now())?;
                    audit::allowed(conn, &ctx2, "agent.grants.replace", Subject::agent(Some(agent.owner_user_id), id))?;
                    Ok(grants)
                })
                .await
        };
        audit::audited(self.db, ctx, "agent.grants.replace", Subject::agent(owner_of(within), id), change).await
    }
}

impl Services<'_> {
    /// Every granted project must be one of the owner's projects in Tasker, under the
    /// identifier given: a typo or a stale id is refused now, naming the owner's
    /// projects, rather than failing on the agent's first call. Tasker not answering
    /// refuses the change too (503): an unchecked grant is not accepted silently.
    async fn check_projects(&self, ctx: &Ctx, owner: Uuid, grants: &[Grant]) -> Result<(), ServiceError> {
        if grants.is_empty() {
            return Ok(());
        }
        let Some(config) = self.tasker else {
            return Err(ServiceError::refused(
                Refusal::TaskerUnavailable,
                "no Tasker is configured to confirm the granted projects",
            ));
        };
        let client = TaskerClient::new(config.clone());
        let cx = CallContext { granted: vec![], request_id: ctx.request_id.clone(), trace: ctx.trace };
        let projects = client.user_projects(&cx, owner).await.map_err(|e| {
            // The detail (hosts, Tasker's answer) is for the log.
            tracing::warn!(error = %e, %owner, "Tasker did not list the owner's projects");
            let why = match e {
                TaskerError::Unavailable { .. } => "Tasker did not answer",
                TaskerError::Rejected(_) | TaskerError::Protocol(_) => "Tasker refused the gateway's call",
            };
            ServiceError::refused(
                Refusal::TaskerUnavailable,
                format!("{why}, so the granted projects cannot be confirmed; nothing was changed, try again later"),
            )
        })?;
        check_against(grants, &projects.projects)
    }
}

/// Each grant names a listed project by its id and its identifier.
fn check_against(grants: &[Grant], listed: &[Project]) -> Result<(), ServiceError> {
    for g in grants {
        let problem = match listed.iter().find(|p| p.id == g.project_id) {
            None => format!(
                "project {} ({}) is not one of the owner's projects in Tasker",
                g.project_id, g.project_identifier
            ),
            Some(p) if !p.identifier.eq_ignore_ascii_case(g.project_identifier.as_str()) => {
                format!("project {} is {} in Tasker, not {}", g.project_id, p.identifier, g.project_identifier)
            }
            Some(_) => continue,
        };
        let known = if listed.is_empty() {
            "Tasker lists no project for this owner".to_string()
        } else {
            let names: Vec<String> = listed.iter().map(|p| format!("{} ({})", p.identifier, p.id)).collect();
            format!("the owner's projects: {}", names.join(", "))
        };
        return Err(ServiceError::refused(Refusal::UnknownProject, format!("{problem}; {known}")));
    }
    Ok(())
}
