//! `get_project_context`: a project's states, labels and members, by their exact names.

use schemars::JsonSchema;
use serde::Deserialize;

use super::text::names;
use super::{CallKind, Target, Tool};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{PROJECT_CONTEXT, ProjectContext};

pub struct GetProjectContext;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub project: String,
}

impl Tool for GetProjectContext {
    const NAME: &'static str = "get_project_context";
    const TITLE: &'static str = "Get project context";
    const SCOPE: Scope = Scope::ProjectRead;
    const KIND: CallKind = CallKind::Read;
    const DESCRIPTION: &'static str =
        "A project's states (with group), labels and members: use these exact names in other calls.";
    const TARGET: Target = Target::Project("project");
    type Input = Input;
    type Output = ProjectContext;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<ProjectContext, ToolError> {
        let id = call.project(&a.project)?;
        call.read(&PROJECT_CONTEXT, &[&id.to_string()], None).await
    }

    fn render(c: &ProjectContext) -> String {
        let default = c.states.iter().find(|s| s.is_default).map(|d| format!(" (default: {})", d.name));
        format!(
            "{} \"{}\"\nstates: {}{}\nlabels: {}\nmembers: {}",
            c.project.identifier,
            c.project.name,
            names(&c.states, |s| &s.name),
            default.unwrap_or_default(),
            names(&c.labels, |l| &l.name),
            c.members
                .iter()
                .map(|m| format!("{} <{}> ({})", m.display_name, m.email, m.role))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
