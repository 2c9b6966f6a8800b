//! What a write tool answers: the card as the write left it, in brief (its key, id and
//! state, and the versions of the blocks the write changed). `get_issue` is the one
//! tool that returns a card in full; a write's answer, and what is kept to replay it,
//! stays small whatever the card's size. A write scope does not grant reads: the state
//! is shown only to an agent with `issue:read` in the card's project.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calls::Call;
use crate::model::Scope;
use crate::tasker::contract::{BlockName, Issue};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CardWritten {
    pub id: Uuid,
    pub key: String,
    /// The card's state after the write; absent when this agent may not read cards in
    /// the card's project (no `issue:read` there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl CardWritten {
    /// The brief of `issue` as `call`'s agent may see it.
    pub fn of(issue: &Issue, call: &Call<'_>) -> Self {
        let state = call.may_read(Scope::IssueRead).then(|| issue.state.name.clone());
        CardWritten { id: issue.id, key: issue.key.clone(), state }
    }

    /// `Done: WEB-3 (id …) is in "In Progress".`
    pub fn render(&self, done: &str) -> String {
        match &self.state {
            Some(state) => {
                format!("{done}: {} (id {}) is in `{state}`. Read it in full with get_issue.", self.key, self.id)
            }
            None => format!("{done}: {} (id {}).", self.key, self.id),
        }
    }
}

/// A card write that changed structured blocks: the card in brief and the blocks' new
/// versions (each the `base_version` of a later replace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BlocksWritten {
    #[serde(flatten)]
    pub card: CardWritten,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub block_versions: BTreeMap<BlockName, String>,
}

impl BlocksWritten {
    /// The brief of `issue`, with the versions of the `touched` blocks it has.
    pub fn of(issue: &Issue, touched: impl IntoIterator<Item = BlockName>, call: &Call<'_>) -> Self {
        let block_versions =
            touched.into_iter().filter_map(|b| issue.block_versions.get(&b).map(|v| (b, v.clone()))).collect();
        BlocksWritten { card: CardWritten::of(issue, call), block_versions }
    }

    pub fn render(&self, done: &str) -> String {
        let versions: Vec<String> = self.block_versions.iter().map(|(b, v)| format!("{b} {v}")).collect();
        let versions =
            if versions.is_empty() { String::new() } else { format!(" Block versions now: {}.", versions.join(", ")) };
        format!("{}{versions}", self.card.render(done))
    }
}
