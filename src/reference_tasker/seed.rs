//! The demo workspace: three people, two projects with Plane's usual states and a few
//! labels, and three cards in WEB written by people (one with structured blocks). Ids
//! are fixed, so tests, docs and a person's bookmarks can name them.

use chrono::NaiveDateTime;
use uuid::Uuid;

use super::migrations;
use super::store::activity::{self, Change, Who};
use super::store::issues::{self, IssueRow};
use super::store::users::{self, User};
use super::store::{comments, projects};
use crate::reference_tasker::blocks::Description;
use crate::storage::{Db, DbConn, StorageError};
use crate::tasker::contract::{AcceptanceItem, Blocks, Label, Priority, Project, ProjectRole, State, StateGroup};

/// The demo's fixed ids.
pub mod demo {
    use sha2::{Digest, Sha256};
    use uuid::Uuid;

    pub const WORKSPACE: Uuid = uuid::uuid!("7a5c0000-0000-4000-8000-000000000001");
    pub const ALICE: Uuid = uuid::uuid!("7a5c0001-0000-4000-8000-0000000a11ce");
    pub const BOB: Uuid = uuid::uuid!("7a5c0001-0000-4000-8000-000000000b0b");
    pub const CAROL: Uuid = uuid::uuid!("7a5c0001-0000-4000-8000-00000000ca01");
    /// Project WEB "Website": Alice (admin) and Bob (member).
    pub const WEB: Uuid = uuid::uuid!("7a5c0002-0000-4000-8000-000000000111");
    /// Project OPS "Operations": Alice (admin).
    pub const OPS: Uuid = uuid::uuid!("7a5c0002-0000-4000-8000-000000000222");
    /// WEB-1 "Fix the login redirect loop" (human description, a comment).
    pub const WEB_1: Uuid = uuid::uuid!("7a5c0003-0000-4000-8000-000000000001");
    /// WEB-2 "Write the onboarding guide" (structured blocks and a human zone).
    pub const WEB_2: Uuid = uuid::uuid!("7a5c0003-0000-4000-8000-000000000002");
    /// WEB-3 "Dark mode for the dashboard".
    pub const WEB_3: Uuid = uuid::uuid!("7a5c0003-0000-4000-8000-000000000003");

    /// The states of every demo project, in board order: (name, group, is default).
    pub const STATES: &[(&str, &str, bool)] = &[
        ("Backlog", "backlog", false),
        ("Todo", "unstarted", true),
        ("In Progress", "started", false),
        ("Done", "completed", false),
        ("Cancelled", "cancelled", false),
    ];
    /// The labels of every demo project: (name, colour).
    pub const LABELS: &[(&str, &str)] =
        &[("bug", "#e5484d"), ("feature", "#3e63dd"), ("docs", "#12a594"), ("chore", "#8b8d98")];

    fn derived(kind: &str, project: Uuid, name: &str) -> Uuid {
        let digest = Sha256::digest(format!("nodedc-reference-tasker/{kind}/{project}/{name}").as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// The id of a demo project's state (`"Todo"`…).
    pub fn state_id(project: Uuid, name: &str) -> Uuid {
        derived("state", project, name)
    }

    /// The id of a demo project's label (`"bug"`…).
    pub fn label_id(project: Uuid, name: &str) -> Uuid {
        derived("label", project, name)
    }
}

struct Card {
    id: Uuid,
    title: &'static str,
    priority: Priority,
    state: &'static str,
    labels: &'static [&'static str],
    assignees: &'static [Uuid],
    human_html: &'static str,
    blocks: Option<Blocks>,
}

fn cards() -> Vec<Card> {
    vec![
        Card {
            id: demo::WEB_1,
            title: "Fix the login redirect loop",
            priority: Priority::High,
            state: "In Progress",
            labels: &["bug"],
            assignees: &[demo::ALICE],
            human_html: "<p>After signing in through SSO, some people land on <code>/login</code> again instead of \
                         their dashboard.</p><p>It seems to happen when the session cookie is set on \
                         <code>www.</code> but the redirect goes to the bare domain.</p>",
            blocks: None,
        },
        Card {
            id: demo::WEB_2,
            title: "Write the onboarding guide",
            priority: Priority::Medium,
            state: "Todo",
            labels: &["docs"],
            assignees: &[demo::BOB],
            human_html: "<p>New team members keep asking the same questions in chat. A short guide would save \
                         everyone time.</p>",
            blocks: Some(Blocks {
                goal: Some("A new team member can set up the website locally and ship a change on day one.".into()),
                plan: Some(
                    "1. Collect the questions asked in chat.\n2. Write the setup steps.\n3. Have Carol try it.".into(),
                ),
                acceptance: Some(vec![
                    AcceptanceItem { text: "Setup steps tested on a clean machine".into(), checked: false },
                    AcceptanceItem { text: "Linked from the README".into(), checked: false },
                ]),
                log: Some(vec!["Outline drafted.".into()]),
                result: None,
            }),
        },
        Card {
            id: demo::WEB_3,
            title: "Dark mode for the dashboard",
            priority: Priority::Low,
            state: "Backlog",
            labels: &["feature"],
            assignees: &[],
            human_html: "<p>Several customers asked for a dark theme. Follow the system setting by default.</p>",
            blocks: None,
        },
    ]
}

/// Creates the demo workspace if no project exists yet (and the reference Tasker's
/// tables, if missing); true when it did.
pub async fn seed_demo(db: &Db) -> Result<bool, StorageError> {
    db.migrate_set(&migrations::MIGRATIONS).await?;
    let seeded: Result<bool, StorageError> = db
        .write(|c| {
            if projects::any_exists(c)? {
                return Ok(false);
            }
            seed(c, crate::storage::now())?;
            Ok(true)
        })
        .await;
    match seeded {
        // Another process seeded it at the same moment (two first commands at once).
        Err(e) if e.is_unique_violation() => Ok(false),
        other => other,
    }
}

fn seed(c: &mut DbConn, now: NaiveDateTime) -> Result<(), StorageError> {
    projects::insert_workspace(c, demo::WORKSPACE, "demo", "Demo workspace", now)?;
    let people = [
        (demo::ALICE, "Alice", "alice@example.com", ProjectRole::Admin),
        (demo::BOB, "Bob", "bob@example.com", ProjectRole::Member),
        (demo::CAROL, "Carol", "carol@example.com", ProjectRole::Member),
    ];
    for (id, name, email, role) in people {
        let user = User { id, display_name: name.into(), email: email.into(), workspace_role: role };
        users::insert(c, demo::WORKSPACE, &user, now)?;
    }
    let projects_ = [(demo::WEB, "WEB", "Website"), (demo::OPS, "OPS", "Operations")];
    for (id, identifier, name) in projects_ {
        let project = Project { id, identifier: identifier.into(), name: name.into() };
        projects::insert(c, demo::WORKSPACE, &project, now)?;
        for (position, (name, group, is_default)) in demo::STATES.iter().enumerate() {
            let group = StateGroup::parse(group).ok_or_else(|| StorageError::corrupt(group))?;
            let state = State { id: demo::state_id(id, name), name: (*name).into(), group, is_default: *is_default };
            projects::insert_state(c, id, &state, position as i32, now)?;
        }
        for (name, color) in demo::LABELS {
            let label = Label { id: demo::label_id(id, name), name: (*name).into(), color: (*color).into() };
            projects::insert_label(c, id, &label, now)?;
        }
    }
    projects::insert_member(c, demo::WEB, demo::ALICE, ProjectRole::Admin, now)?;
    projects::insert_member(c, demo::WEB, demo::BOB, ProjectRole::Member, now)?;
    projects::insert_member(c, demo::OPS, demo::ALICE, ProjectRole::Admin, now)?;

    for card in cards() {
        let sequence = projects::take_sequence(c, demo::WEB)?;
        let mut description = Description::parse(card.human_html);
        if let Some(blocks) = &card.blocks {
            description.set_blocks(blocks).map_err(|e| StorageError::corrupt(format!("demo blocks: {e:?}")))?;
        }
        let row = IssueRow {
            id: card.id.to_string(),
            project_id: demo::WEB.to_string(),
            sequence_id: sequence,
            title: card.title.into(),
            priority: card.priority.as_str().into(),
            state_id: demo::state_id(demo::WEB, card.state).to_string(),
            start_date: None,
            target_date: None,
            parent_id: None,
            description_html: description.render(),
            created_by: "Alice".into(),
            updated_by: "Alice".into(),
            created_at: now,
            updated_at: now,
        };
        issues::insert(c, &row)?;
        for label in card.labels {
            issues::add_label(c, &row.id, demo::label_id(demo::WEB, label), now)?;
        }
        for user in card.assignees {
            issues::add_assignee(c, &row.id, *user, now)?;
        }
        let created = Change::new("created", None, Some(format!("WEB-{sequence}: {}", card.title)));
        activity::record(c, &row.id, &Who::person("Alice"), &[created], now)?;
    }
    let remark = "I can reproduce it in Safari only; Firefox and Chrome are fine.";
    comments::insert(c, &demo::WEB_1.to_string(), remark, "Bob", now)?;
    activity::record(
        c,
        &demo::WEB_1.to_string(),
        &Who::person("Bob"),
        &[Change::new("comment", None, Some(remark.into()))],
        now,
    )?;
    Ok(())
}
