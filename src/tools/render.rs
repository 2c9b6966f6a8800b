//! Text renderings of tool outputs: what a model reads first. They carry every id and
//! name needed for the next call.

use std::fmt::Write;

use serde_json::Value;

use super::outputs::ProjectsOut;
use crate::tasker::contract::{CommentWritten, Issue, IssuePage, IssueSummary, MemberWritten, ProjectContext};

fn names<T>(items: &[T], f: impl Fn(&T) -> &str) -> String {
    if items.is_empty() { "none".into() } else { items.iter().map(f).collect::<Vec<_>>().join(", ") }
}

fn summary_line(i: &IssueSummary) -> String {
    format!(
        "{} \"{}\" [{}; priority {}; labels: {}; assignees: {}]",
        i.key,
        i.title,
        i.state.name,
        i.priority,
        names(&i.labels, |l| &l.name),
        names(&i.assignees, |a| &a.display_name)
    )
}

fn issue_text(i: &Issue) -> String {
    let mut s = format!(
        "{} \"{}\" (id {})\nstate: {} ({}); priority: {}\nlabels: {}\nassignees: {}\n",
        i.key,
        i.title,
        i.id,
        i.state.name,
        i.state.group,
        i.priority,
        names(&i.labels, |l| &l.name),
        names(&i.assignees, |a| &a.display_name),
    );
    if let Some(d) = i.start_date {
        let _ = writeln!(s, "start: {d}");
    }
    if let Some(d) = i.target_date {
        let _ = writeln!(s, "target: {d}");
    }
    if let Some(p) = &i.parent {
        let _ = writeln!(s, "parent: {}", p.key);
    }
    let b = &i.blocks;
    let version = |name| i.block_versions.get(&name).map(|v| format!(" (version {v})")).unwrap_or_default();
    use crate::tasker::contract::BlockName::*;
    for (name, label, text) in [(Goal, "Goal", &b.goal), (Plan, "Plan", &b.plan), (Result, "Result", &b.result)] {
        if let Some(t) = text {
            let _ = writeln!(s, "\n## {label}{}\n{t}", version(name));
        }
    }
    if let Some(items) = &b.acceptance {
        let _ = writeln!(s, "\n## Acceptance{}", version(Acceptance));
        for item in items {
            let _ = writeln!(s, "- [{}] {}", if item.checked { "x" } else { " " }, item.text);
        }
    }
    if let Some(entries) = &b.log {
        let _ = writeln!(s, "\n## Log{}", version(Log));
        for e in entries {
            let _ = writeln!(s, "- {e}");
        }
    }
    if !i.recent_comments.is_empty() {
        let _ = writeln!(s, "\nRecent comments:");
        for c in &i.recent_comments {
            let _ = writeln!(s, "- {} ({}): {}", c.actor, c.created_at.format("%Y-%m-%d %H:%M"), c.body);
        }
    }
    s
}

/// The text block of a tool result.
pub fn render_text(tool: &str, out: &Value) -> String {
    let parsed = || -> Option<String> {
        Some(match tool {
            "list_projects" => {
                let p: ProjectsOut = serde_json::from_value(out.clone()).ok()?;
                if p.projects.is_empty() {
                    return Some("No projects are granted to this agent.".into());
                }
                p.projects
                    .iter()
                    .map(|p| format!("{} \"{}\" (id {}): {}", p.identifier, p.name, p.id, p.scopes.join(", ")))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            "get_project_context" => {
                let c: ProjectContext = serde_json::from_value(out.clone()).ok()?;
                format!(
                    "{} \"{}\"\nstates: {}\nlabels: {}\nmembers: {}",
                    c.project.identifier,
                    c.project.name,
                    names(&c.states, |s| &s.name)
                        + &c.states
                            .iter()
                            .find(|s| s.is_default)
                            .map(|d| format!(" (default: {})", d.name))
                            .unwrap_or_default(),
                    names(&c.labels, |l| &l.name),
                    c.members
                        .iter()
                        .map(|m| format!("{} <{}> ({})", m.display_name, m.email, m.role))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            "search_issues" => {
                let p: IssuePage = serde_json::from_value(out.clone()).ok()?;
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
            "get_issue" => issue_text(&serde_json::from_value(out.clone()).ok()?),
            "add_comment" => {
                let c: CommentWritten = serde_json::from_value(out.clone()).ok()?;
                format!("Comment added to {}.\n\n{}", c.issue.key, issue_text(&c.issue))
            }
            "add_project_member" => {
                let m: MemberWritten = serde_json::from_value(out.clone()).ok()?;
                format!(
                    "{} <{}> {} the project as {}.",
                    m.member.display_name,
                    m.member.email,
                    if m.added { "was added to" } else { "already was a member of" },
                    m.member.role
                )
            }
            _ => {
                let i: Issue = serde_json::from_value(out.get("issue")?.clone()).ok()?;
                format!("Done: {} is now:\n\n{}", i.key, issue_text(&i))
            }
        })
    };
    parsed().unwrap_or_else(|| out.to_string())
}
