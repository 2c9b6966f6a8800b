//! Text shared by several tools' renderings: a card, a card in a list, a list of names.

use std::fmt::Write;

use crate::tasker::contract::{BlockName, Issue, IssueSummary};

pub fn names<T>(items: &[T], f: impl Fn(&T) -> &str) -> String {
    if items.is_empty() { "none".into() } else { items.iter().map(f).collect::<Vec<_>>().join(", ") }
}

/// A card as one line of a list.
pub fn summary_line(i: &IssueSummary) -> String {
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

/// A card in full: fields, blocks with their versions, recent comments.
pub fn issue(i: &Issue) -> String {
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
    if !i.description_text.trim().is_empty() {
        let _ = writeln!(s, "\n## Description\n{}", i.description_text.trim());
    }
    let b = &i.blocks;
    let version = |name| i.block_versions.get(&name).map(|v| format!(" (version {v})")).unwrap_or_default();
    use BlockName::*;
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
