//! Tool outputs that are not contract types as they are.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Scope;

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

pub fn scope_names(scopes: impl IntoIterator<Item = Scope>) -> Vec<String> {
    scopes.into_iter().map(|s| s.as_str().to_string()).collect()
}
