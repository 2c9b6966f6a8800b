//! `get_issue`: one card in full, by key or id.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{CallKind, Target, Tool, text};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::Issue;

pub struct GetIssue;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub issue: String,
}

impl Tool for GetIssue {
    const NAME: &'static str = "get_issue";
    const TITLE: &'static str = "Get a card";
    const SCOPE: Scope = Scope::IssueRead;
    const KIND: CallKind = CallKind::Read;
    const DESCRIPTION: &'static str =
        "One card in full: fields, description, structured blocks with their versions, recent comments.";
    const TARGET: Target = Target::Card("issue");
    type Input = Input;
    type Output = Issue;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<Issue, ToolError> {
        call.card(&a.issue).await
    }

    fn render(issue: &Issue) -> String {
        text::issue(issue)
    }
}
