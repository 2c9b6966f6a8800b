//! Scope and grant checks against a call's actual arguments.

use uuid::Uuid;

use super::error::{ToolCode, ToolError};
use crate::actors::token_sessions::Principal;
use crate::model::{Grant, Scope};
use crate::tasker::contract::parse_issue_key;
use crate::tools::ToolDef;

/// The projects an agent may touch with one tool's scope.
pub struct Allowed<'a> {
    pub tool: &'a ToolDef,
    pub grants: Vec<&'a Grant>,
}

impl<'a> Allowed<'a> {
    /// The grants carrying the tool's scope; none is "scope missing".
    pub fn for_tool(p: &'a Principal, tool: &'a ToolDef) -> Result<Self, ToolError> {
        let grants: Vec<&Grant> = p.grants.iter().filter(|g| g.scopes.contains(&tool.scope)).collect();
        if grants.is_empty() {
            let mut has: Vec<Scope> = p.grants.iter().flat_map(|g| g.scopes.iter().copied()).collect();
            has.sort();
            has.dedup();
            let has = if has.is_empty() {
                "none".to_string()
            } else {
                has.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            };
            return Err(ToolError::new(
                ToolCode::ScopeMissing,
                format!(
                    "`{}` needs the `{}` scope, which this agent does not have in any project (it has: {has}). Ask the agent's owner to grant `{}` in Tasker.",
                    tool.name, tool.scope, tool.scope
                ),
            ));
        }
        Ok(Self { tool, grants })
    }

    pub fn ids(&self) -> Vec<Uuid> {
        self.grants.iter().map(|g| g.project_id).collect()
    }

    fn identifiers(&self) -> String {
        self.grants.iter().map(|g| g.project_identifier.as_str()).collect::<Vec<_>>().join(", ")
    }

    pub fn not_granted(&self, what: &str) -> ToolError {
        ToolError::new(
            ToolCode::ProjectNotGranted,
            format!(
                "{what} is not in a project this agent may use for `{}`. Projects it may use for this: {}.",
                self.tool.name,
                self.identifiers()
            ),
        )
    }

    /// A project named by id or identifier (case-insensitive).
    pub fn project(&self, reference: &str) -> Result<&'a Grant, ToolError> {
        let r = reference.trim();
        let by_id = Uuid::parse_str(r).ok();
        self.grants
            .iter()
            .copied()
            .find(|g| Some(g.project_id) == by_id || g.project_identifier.as_str().eq_ignore_ascii_case(r))
            .ok_or_else(|| self.not_granted(&format!("Project `{r}`")))
    }

    /// For a card named by key (`WEB-12`), the grant of its project; `Ok(None)` for a
    /// card named by id (Tasker tells its project, and refuses it if not granted).
    pub fn card(&self, reference: &str) -> Result<Option<&'a Grant>, ToolError> {
        let r = reference.trim();
        if Uuid::parse_str(r).is_ok() {
            return Ok(None);
        }
        let Some((ident, _)) = parse_issue_key(r) else {
            return Err(ToolError::invalid(format!("`{r}` is not a card key (like WEB-12) or a card id (a UUID).")));
        };
        self.grants
            .iter()
            .copied()
            .find(|g| g.project_identifier.as_str() == ident)
            .map(Some)
            .ok_or_else(|| self.not_granted(&format!("Card `{r}`")))
    }
}
