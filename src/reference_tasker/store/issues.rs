//! Cards: rows, their labels and assignees, search, and assembling the contract's
//! [`Issue`] and [`IssueSummary`].

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use uuid::Uuid;

use super::{comments, projects, stored, utc, uuid};
use crate::reference_tasker::blocks::Description;
use crate::reference_tasker::schema::{
    tasker_issue_assignees as ia, tasker_issue_labels as il, tasker_issues as i, tasker_labels as l,
    tasker_projects as p, tasker_states as s, tasker_users as u,
};
use crate::reference_tasker::text::{html_to_text, search_text};
use crate::storage::{DbConn, StorageError};
use crate::tasker::contract::{Issue, IssueRef, IssueSummary, LabelRef, Priority, StateGroup, StateRef, UserRef};

/// How many comments a card carries (the latest ones).
pub const RECENT_COMMENTS: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = i)]
pub struct IssueRow {
    pub id: String,
    pub project_id: String,
    pub sequence_id: i64,
    pub title: String,
    pub priority: String,
    pub state_id: String,
    pub start_date: Option<NaiveDate>,
    pub target_date: Option<NaiveDate>,
    pub parent_id: Option<String>,
    pub description_html: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl IssueRow {
    pub fn uuid(&self) -> Result<Uuid, StorageError> {
        uuid(&self.id)
    }

    pub fn project_uuid(&self) -> Result<Uuid, StorageError> {
        uuid(&self.project_id)
    }
}

pub fn find(conn: &mut DbConn, id: Uuid) -> Result<Option<IssueRow>, StorageError> {
    Ok(i::table.find(id.to_string()).select(IssueRow::as_select()).first(conn).optional()?)
}

pub fn find_by_sequence(conn: &mut DbConn, project_id: Uuid, sequence: i64) -> Result<Option<IssueRow>, StorageError> {
    Ok(i::table
        .filter(i::project_id.eq(project_id.to_string()))
        .filter(i::sequence_id.eq(sequence))
        .select(IssueRow::as_select())
        .first(conn)
        .optional()?)
}

/// Takes the card's row lock (a no-op update) so a read-modify-write of it inside this
/// transaction cannot interleave with another on PostgreSQL; SQLite's `BEGIN
/// IMMEDIATE` already serialises writers.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), StorageError> {
    diesel::update(i::table.find(id)).set(i::updated_at.eq(i::updated_at)).execute(conn)?;
    Ok(())
}

pub fn insert(conn: &mut DbConn, row: &IssueRow) -> Result<(), StorageError> {
    diesel::insert_into(i::table)
        .values((
            i::id.eq(&row.id),
            i::project_id.eq(&row.project_id),
            i::sequence_id.eq(row.sequence_id),
            i::title.eq(&row.title),
            i::priority.eq(&row.priority),
            i::state_id.eq(&row.state_id),
            i::start_date.eq(row.start_date),
            i::target_date.eq(row.target_date),
            i::parent_id.eq(&row.parent_id),
            i::description_html.eq(&row.description_html),
            i::search_text.eq(search_text(&row.title, &row.description_html)),
            i::created_by.eq(&row.created_by),
            i::updated_by.eq(&row.updated_by),
            i::created_at.eq(row.created_at),
            i::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes every mutable column of `row`.
pub fn save(conn: &mut DbConn, row: &IssueRow) -> Result<(), StorageError> {
    diesel::update(i::table.find(&row.id))
        .set((
            i::title.eq(&row.title),
            i::priority.eq(&row.priority),
            i::state_id.eq(&row.state_id),
            i::start_date.eq(row.start_date),
            i::target_date.eq(row.target_date),
            i::parent_id.eq(&row.parent_id),
            i::description_html.eq(&row.description_html),
            i::search_text.eq(search_text(&row.title, &row.description_html)),
            i::updated_by.eq(&row.updated_by),
            i::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The card's ancestors' ids, nearest first (stops at a cycle, which writes prevent).
pub fn ancestors(conn: &mut DbConn, id: &str) -> Result<Vec<String>, StorageError> {
    let mut out: Vec<String> = Vec::new();
    let mut current = id.to_string();
    while let Some(parent) =
        i::table.find(&current).select(i::parent_id).first::<Option<String>>(conn).optional()?.flatten()
    {
        if parent == id || out.contains(&parent) {
            break;
        }
        out.push(parent.clone());
        current = parent;
    }
    Ok(out)
}

pub fn label_ids(conn: &mut DbConn, issue_id: &str) -> Result<Vec<String>, StorageError> {
    Ok(il::table.filter(il::issue_id.eq(issue_id)).select(il::label_id).load(conn)?)
}

pub fn add_label(conn: &mut DbConn, issue_id: &str, label_id: Uuid, now: NaiveDateTime) -> Result<(), StorageError> {
    diesel::insert_into(il::table)
        .values((il::issue_id.eq(issue_id), il::label_id.eq(label_id.to_string()), il::created_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn remove_label(conn: &mut DbConn, issue_id: &str, label_id: Uuid) -> Result<(), StorageError> {
    diesel::delete(il::table.find((issue_id, label_id.to_string()))).execute(conn)?;
    Ok(())
}

pub fn assignee_ids(conn: &mut DbConn, issue_id: &str) -> Result<Vec<String>, StorageError> {
    Ok(ia::table.filter(ia::issue_id.eq(issue_id)).select(ia::user_id).load(conn)?)
}

pub fn add_assignee(conn: &mut DbConn, issue_id: &str, user_id: Uuid, now: NaiveDateTime) -> Result<(), StorageError> {
    diesel::insert_into(ia::table)
        .values((ia::issue_id.eq(issue_id), ia::user_id.eq(user_id.to_string()), ia::created_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn remove_assignee(conn: &mut DbConn, issue_id: &str, user_id: Uuid) -> Result<(), StorageError> {
    diesel::delete(ia::table.find((issue_id, user_id.to_string()))).execute(conn)?;
    Ok(())
}

/// What a search keeps. Ids are already resolved; `text` is lower-case.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub text: Option<String>,
    pub state_id: Option<Uuid>,
    pub label_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// Only cards numbered below this (the cursor).
    pub before_sequence: Option<i64>,
    pub limit: i64,
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The project's cards matching `f`, newest (highest number) first.
pub fn search(conn: &mut DbConn, project_id: Uuid, f: &Filter) -> Result<Vec<IssueRow>, StorageError> {
    let mut q = i::table.filter(i::project_id.eq(project_id.to_string())).select(IssueRow::as_select()).into_boxed();
    if let Some(text) = &f.text {
        q = q.filter(i::search_text.like(like_pattern(text)).escape('\\'));
    }
    if let Some(state) = f.state_id {
        q = q.filter(i::state_id.eq(state.to_string()));
    }
    if let Some(label) = f.label_id {
        q = q.filter(i::id.eq_any(il::table.filter(il::label_id.eq(label.to_string())).select(il::issue_id)));
    }
    if let Some(user) = f.assignee_id {
        q = q.filter(i::id.eq_any(ia::table.filter(ia::user_id.eq(user.to_string())).select(ia::issue_id)));
    }
    if let Some(before) = f.before_sequence {
        q = q.filter(i::sequence_id.lt(before));
    }
    Ok(q.order(i::sequence_id.desc()).limit(f.limit).load(conn)?)
}

/// Every card of the project, by number (the board).
pub fn in_project(conn: &mut DbConn, project_id: Uuid) -> Result<Vec<IssueRow>, StorageError> {
    Ok(i::table
        .filter(i::project_id.eq(project_id.to_string()))
        .select(IssueRow::as_select())
        .order(i::sequence_id.asc())
        .load(conn)?)
}

fn state_refs(conn: &mut DbConn, ids: Vec<String>) -> Result<HashMap<String, StateRef>, StorageError> {
    s::table
        .filter(s::id.eq_any(ids))
        .select((s::id, s::name, s::state_group))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, group)| {
            let r = StateRef { id: uuid(&id)?, name, group: stored(&group, "state group", StateGroup::parse)? };
            Ok((id, r))
        })
        .collect()
}

fn label_refs(conn: &mut DbConn, issue_ids: Vec<String>) -> Result<HashMap<String, Vec<LabelRef>>, StorageError> {
    let rows: Vec<(String, String, String)> = il::table
        .inner_join(l::table)
        .filter(il::issue_id.eq_any(issue_ids))
        .select((il::issue_id, l::id, l::name))
        .order(l::name.asc())
        .load(conn)?;
    let mut out: HashMap<String, Vec<LabelRef>> = HashMap::new();
    for (issue, id, name) in rows {
        out.entry(issue).or_default().push(LabelRef { id: uuid(&id)?, name });
    }
    Ok(out)
}

fn assignee_refs(conn: &mut DbConn, issue_ids: Vec<String>) -> Result<HashMap<String, Vec<UserRef>>, StorageError> {
    let rows: Vec<(String, String, String)> = ia::table
        .inner_join(u::table)
        .filter(ia::issue_id.eq_any(issue_ids))
        .select((ia::issue_id, u::id, u::display_name))
        .order((u::display_name.asc(), u::id.asc()))
        .load(conn)?;
    let mut out: HashMap<String, Vec<UserRef>> = HashMap::new();
    for (issue, id, display_name) in rows {
        out.entry(issue).or_default().push(UserRef { user_id: uuid(&id)?, display_name });
    }
    Ok(out)
}

fn identifiers(conn: &mut DbConn, project_ids: Vec<String>) -> Result<HashMap<String, String>, StorageError> {
    Ok(p::table.filter(p::id.eq_any(project_ids)).select((p::id, p::identifier)).load(conn)?.into_iter().collect())
}

fn priority(raw: &str) -> Result<Priority, StorageError> {
    stored(raw, "priority", Priority::parse)
}

/// Search results: the cards with their state, labels and assignees.
pub fn summaries(conn: &mut DbConn, rows: &[IssueRow]) -> Result<Vec<IssueSummary>, StorageError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let states = state_refs(conn, rows.iter().map(|r| r.state_id.clone()).collect())?;
    let mut labels = label_refs(conn, ids.clone())?;
    let mut assignees = assignee_refs(conn, ids)?;
    let idents = identifiers(conn, rows.iter().map(|r| r.project_id.clone()).collect())?;
    rows.iter()
        .map(|r| {
            let ident = idents.get(&r.project_id).ok_or_else(|| StorageError::corrupt("card without project"))?;
            Ok(IssueSummary {
                id: r.uuid()?,
                key: format!("{ident}-{}", r.sequence_id),
                project_id: r.project_uuid()?,
                title: r.title.clone(),
                priority: priority(&r.priority)?,
                state: states.get(&r.state_id).cloned().ok_or_else(|| StorageError::corrupt("card without state"))?,
                labels: labels.remove(&r.id).unwrap_or_default(),
                assignees: assignees.remove(&r.id).unwrap_or_default(),
                updated_at: utc(r.updated_at),
            })
        })
        .collect()
}

/// The card in full, as reads and every write answer it.
pub fn full(conn: &mut DbConn, row: &IssueRow) -> Result<Issue, StorageError> {
    let summary = summaries(conn, std::slice::from_ref(row))?.pop().ok_or_else(|| StorageError::corrupt("no card"))?;
    let parent = match &row.parent_id {
        Some(pid) => {
            let parent = find(conn, uuid(pid)?)?.ok_or_else(|| StorageError::corrupt("card with a missing parent"))?;
            let ident = projects::find(conn, parent.project_uuid()?)?
                .ok_or_else(|| StorageError::corrupt("card without project"))?
                .identifier;
            Some(IssueRef { id: parent.uuid()?, key: format!("{ident}-{}", parent.sequence_id) })
        }
        None => None,
    };
    let description = Description::parse(&row.description_html);
    Ok(Issue {
        id: summary.id,
        key: summary.key,
        project_id: summary.project_id,
        sequence_id: row.sequence_id,
        title: summary.title,
        priority: summary.priority,
        state: summary.state,
        labels: summary.labels,
        assignees: summary.assignees,
        start_date: row.start_date,
        target_date: row.target_date,
        parent,
        created_by: row.created_by.clone(),
        updated_by: row.updated_by.clone(),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        blocks: description.blocks().clone(),
        block_versions: description.versions(),
        description_html: row.description_html.clone(),
        description_text: html_to_text(&description.human_html()),
        recent_comments: comments::recent(conn, &row.id, RECENT_COMMENTS)?,
    })
}
