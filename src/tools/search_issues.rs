//! `search_issues`: cards in a project by text, state, label or assignee, paged.

use std::fmt::Write;

use schemars::JsonSchema;
use serde::Deserialize;

use super::text::summary_line;
use super::{CallKind, Target, Tool};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{IssuePage, MAX_PAGE, SEARCH_ISSUES, SearchQuery};

pub struct SearchIssues;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub project: String,
    /// Text to find.
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

impl Tool for SearchIssues {
    const NAME: &'static str = "search_issues";
    const TITLE: &'static str = "Search cards";
    const SCOPE: Scope = Scope::IssueRead;
    const KIND: CallKind = CallKind::Read;
    const DESCRIPTION: &'static str = "Search a project's cards; pass next_cursor back as cursor for the next page.";
    const TARGET: Target = Target::Project("project");
    type Input = Input;
    type Output = IssuePage;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<IssuePage, ToolError> {
        if a.limit.is_some_and(|l| !(1..=MAX_PAGE).contains(&l)) {
            return Err(ToolError::invalid(format!("`limit` must be 1 to {MAX_PAGE}.")));
        }
        for (field, value, max) in [
            ("query", &a.query, 500),
            ("state", &a.state, 200),
            ("label", &a.label, 200),
            ("assignee", &a.assignee, 200),
            ("cursor", &a.cursor, 200),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                return Err(ToolError::invalid(format!("`{field}` is longer than {max} characters.")));
            }
        }
        let id = call.project(&a.project)?;
        let q = SearchQuery {
            q: a.query,
            state: a.state,
            label: a.label,
            assignee: a.assignee,
            cursor: a.cursor,
            limit: a.limit,
        };
        let query = serde_urlencoded::to_string(&q).map_err(ToolError::internal)?;
        call.read(&SEARCH_ISSUES, &[&id.to_string()], Some(query)).await
    }

    fn render(p: &IssuePage) -> String {
        let mut s = if p.issues.is_empty() {
            "No cards match.".to_string()
        } else {
            p.issues.iter().map(summary_line).collect::<Vec<_>>().join("\n")
        };
        if let Some(c) = &p.next_cursor {
            let _ = write!(s, "\nMore results: call again with cursor \"{c}\".");
        }
        s
    }
}
