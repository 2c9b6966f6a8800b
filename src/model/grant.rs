use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ScopeSet;

/// A project identifier as Tasker shows it (`WEB`): kept for display and for
/// resolving card keys such as `WEB-12`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct ProjectIdentifier(String);

impl ProjectIdentifier {
    pub const RULE: &'static str = "1 to 12 characters: an uppercase letter, then letters or digits";

    pub fn parse(raw: &str) -> Result<Self, String> {
        let upper = raw.trim().to_ascii_uppercase();
        let mut chars = upper.chars();
        let ok = upper.len() <= 12
            && chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok { Ok(Self(upper)) } else { Err(format!("`{raw}` is not a project identifier ({})", Self::RULE)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProjectIdentifier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Access to one project, with the scopes allowed in it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Grant {
    pub project_id: Uuid,
    pub project_identifier: ProjectIdentifier,
    pub scopes: ScopeSet,
}
