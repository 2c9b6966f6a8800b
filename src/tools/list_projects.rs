//! `list_projects`: the projects this agent may work in, and what it may do in each.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CallKind, Target, Tool};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::LIST_PROJECTS;

pub struct ListProjects;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {}

/// A project the agent may work in.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProjectOut {
    pub id: Uuid,
    pub identifier: String,
    pub name: String,
    /// What the agent may do in it.
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProjectsOut {
    pub projects: Vec<ProjectOut>,
}

impl Tool for ListProjects {
    const NAME: &'static str = "list_projects";
    const TITLE: &'static str = "List projects";
    const SCOPE: Scope = Scope::ProjectRead;
    const KIND: CallKind = CallKind::Read;
    const DESCRIPTION: &'static str = "The projects this agent may work in, with its scopes in each. Start here.";
    const TARGET: Target = Target::None;
    type Input = Input;
    type Output = ProjectsOut;

    async fn run(call: &mut Call<'_>, _: Input) -> Result<ProjectsOut, ToolError> {
        let listed = call.read(&LIST_PROJECTS, &[], None).await?;
        let grants = &call.principal.grants;
        let projects = listed
            .projects
            .into_iter()
            .filter_map(|p| {
                let g = grants.iter().find(|g| g.project_id == p.id)?;
                let scopes = g.scopes.iter().map(|s| s.as_str().to_string()).collect();
                Some(ProjectOut { id: p.id, identifier: p.identifier, name: p.name, scopes })
            })
            .collect();
        Ok(ProjectsOut { projects })
    }

    fn render(out: &ProjectsOut) -> String {
        if out.projects.is_empty() {
            return "No projects are granted to this agent.".into();
        }
        out.projects
            .iter()
            .map(|p| format!("{} \"{}\" (id {}): {}", p.identifier, p.name, p.id, p.scopes.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
