//! Cards: read one, search a project, create, update the allowed fields, move.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::blocks::{block_changes, block_error};
use super::write::{CardWrite, Idempotency, Outcome, actor_display, card_write, find_card, transact};
use crate::reference_tasker::TaskerState;
use crate::reference_tasker::blocks::Description;
use crate::reference_tasker::error::RefTaskerError;
use crate::reference_tasker::extract::{CardRef, Granted, Query, Write, project_id};
use crate::reference_tasker::resolve;
use crate::reference_tasker::store::activity::{self, Change, Who};
use crate::reference_tasker::store::issues::{self, Filter, IssueRow};
use crate::reference_tasker::store::projects;
use crate::storage::DbConn;
use crate::tasker::contract::{
    BlockName, BlockOp, Blocks, CreateIssue, ErrorCode, IssuePage, IssueWritten, MAX_PAGE, MoveIssue, Priority,
    SearchQuery, UPDATABLE_FIELDS, UpdateIssue,
};

/// Page size when `limit` is absent.
pub const DEFAULT_PAGE: u32 = 25;
/// Longest title, in characters.
pub const MAX_TITLE: usize = 255;

/// `GET /issues/{id_or_key}`
pub async fn get(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
) -> Result<HttpResponse, RefTaskerError> {
    let card = CardRef::from_path(&path)?;
    let issue = state
        .db
        .run(move |c| {
            let row = find_card(c, &card, &granted)?;
            Ok::<_, RefTaskerError>(issues::full(c, &row)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(issue))
}

/// The cursor: the number of the last card of the page, so the next page starts below
/// it whatever is created meanwhile. Opaque to callers (hex of `seq:N`).
pub fn encode_cursor(sequence: i64) -> String {
    format!("seq:{sequence}").bytes().map(|b| format!("{b:02x}")).collect()
}

pub fn decode_cursor(raw: &str) -> Option<i64> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..raw.len()).step_by(2).map(|i| raw.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    let text = String::from_utf8(bytes?).ok()?;
    text.strip_prefix("seq:")?.parse().ok().filter(|n: &i64| *n > 0)
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `GET /projects/{project_id}/issues`: newest first, `limit` per page.
pub async fn search(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    Query(q): Query<SearchQuery>,
) -> Result<HttpResponse, RefTaskerError> {
    let id = project_id(&path)?;
    granted.check(id)?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(RefTaskerError::bad_request(format!("`limit` must be 1 to {MAX_PAGE}")));
    }
    let before = match q.cursor.as_deref() {
        Some(raw) => Some(decode_cursor(raw).ok_or_else(|| {
            RefTaskerError::bad_request("`cursor` is not valid; pass back a `next_cursor` exactly as received")
        })?),
        None => None,
    };
    let page = state
        .db
        .run(move |c| {
            projects::find(c, id)?.ok_or_else(|| RefTaskerError::not_found(format!("no project {id}")))?;
            let mut filter = Filter {
                text: non_empty(&q.q).map(str::to_lowercase),
                before_sequence: before,
                limit: i64::from(limit) + 1,
                ..Filter::default()
            };
            if let Some(raw) = non_empty(&q.state) {
                filter.state_id = Some(resolve::state(&projects::states(c, id)?, "state", raw)?.id);
            }
            if let Some(raw) = non_empty(&q.label) {
                let labels = projects::labels(c, id)?;
                filter.label_id = Some(resolve::labels(&labels, "label", &[raw.to_string()])?[0].id);
            }
            if let Some(raw) = non_empty(&q.assignee) {
                let members = projects::members(c, id)?;
                filter.assignee_id = Some(resolve::members(&members, "assignee", &[raw.to_string()])?[0].user_id);
            }
            let mut rows = issues::search(c, id, &filter)?;
            let next_cursor = if rows.len() > limit as usize {
                rows.truncate(limit as usize);
                rows.last().map(|r| encode_cursor(r.sequence_id))
            } else {
                None
            };
            Ok::<_, RefTaskerError>(IssuePage { issues: issues::summaries(c, &rows)?, next_cursor })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A title: not blank, at most [`MAX_TITLE`] characters; kept trimmed.
fn check_title(raw: &str) -> Result<String, RefTaskerError> {
    let title = raw.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(RefTaskerError::invalid(
            "title",
            format!("the title must be 1 to {MAX_TITLE} characters, not blank"),
        ));
    }
    Ok(title.to_string())
}

fn check_dates(start: Option<NaiveDate>, target: Option<NaiveDate>) -> Result<(), RefTaskerError> {
    match (start, target) {
        (Some(s), Some(t)) if s > t => {
            Err(RefTaskerError::invalid("target_date", format!("the target date {t} is before the start date {s}")))
        }
        _ => Ok(()),
    }
}

/// A parent: a card (id or key) of the same project, and not the card itself or one
/// of its descendants.
fn resolve_parent(
    c: &mut DbConn,
    project_id: Uuid,
    raw: &str,
    child: Option<&str>,
) -> Result<IssueRow, RefTaskerError> {
    let not_found = || RefTaskerError::invalid("parent", format!("`{raw}` is not a card of this project"));
    let parent = match CardRef::parse(raw).ok_or_else(not_found)? {
        CardRef::Id(id) => issues::find(c, id)?,
        CardRef::Key(ident, seq) => match projects::find_by_identifier(c, &ident)? {
            Some(p) => issues::find_by_sequence(c, p.id, seq)?,
            None => None,
        },
    }
    .filter(|p| p.project_id == project_id.to_string())
    .ok_or_else(not_found)?;
    if let Some(child) = child
        && (parent.id == child || issues::ancestors(c, &parent.id)?.iter().any(|a| a == child))
    {
        return Err(RefTaskerError::invalid(
            "parent",
            format!("`{raw}` cannot be the parent: that would make a cycle"),
        ));
    }
    Ok(parent)
}

fn key_of(c: &mut DbConn, row: &IssueRow) -> Result<String, RefTaskerError> {
    let project = projects::find(c, row.project_uuid()?)?.ok_or_else(|| RefTaskerError::not_found("no project"))?;
    Ok(format!("{}-{}", project.identifier, row.sequence_id))
}

/// `POST /projects/{project_id}/issues`: 201 with the new card.
pub async fn create(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<CreateIssue>,
) -> Result<HttpResponse, RefTaskerError> {
    let id = project_id(&path)?;
    granted.check(id)?;
    let idem = Idempotency::of(&write, &write.body.actor);
    let body = write.body;
    transact(&state.db, move |c| {
        let project = projects::find(c, id)?.ok_or_else(|| RefTaskerError::not_found(format!("no project {id}")))?;
        if let Some(previous) = idem.previous(c)? {
            return Ok(Outcome::Replayed(previous));
        }
        let actor = actor_display(c, &body.actor)?;
        let title = check_title(&body.title)?;
        let states = projects::states(c, id)?;
        let state = match non_empty(&body.state) {
            Some(raw) => resolve::state(&states, "state", raw)?,
            None => states
                .iter()
                .find(|s| s.is_default)
                .or(states.first())
                .cloned()
                .ok_or_else(|| RefTaskerError::invalid("state", "the project has no states"))?,
        };
        let labels = resolve::labels(&projects::labels(c, id)?, "labels", &body.labels)?;
        let mut assignees = resolve::members(&projects::members(c, id)?, "assignees", &body.assignees)?;
        assignees.sort_by_key(|m| m.user_id);
        assignees.dedup_by_key(|m| m.user_id);
        check_dates(body.start_date, body.target_date)?;
        let parent = match non_empty(&body.parent) {
            Some(raw) => Some(resolve_parent(c, id, raw, None)?),
            None => None,
        };
        let mut description = Description::empty();
        if let Some(blocks) = &body.blocks {
            description.set_blocks(blocks).map_err(|e| block_error(e, "blocks"))?;
        }
        let sequence = projects::take_sequence(c, id)?;
        let now = crate::storage::now();
        let row = IssueRow {
            id: Uuid::new_v4().to_string(),
            project_id: id.to_string(),
            sequence_id: sequence,
            title: title.clone(),
            priority: body.priority.unwrap_or(Priority::None).as_str().to_string(),
            state_id: state.id.to_string(),
            start_date: body.start_date,
            target_date: body.target_date,
            parent_id: parent.map(|p| p.id),
            description_html: description.render(),
            created_by: actor.display(),
            updated_by: actor.display(),
            created_at: now,
            updated_at: now,
        };
        issues::insert(c, &row)?;
        let mut seen = std::collections::BTreeSet::new();
        for label in labels.iter().filter(|l| seen.insert(l.id)) {
            issues::add_label(c, &row.id, label.id, now)?;
        }
        for member in &assignees {
            issues::add_assignee(c, &row.id, member.user_id, now)?;
        }
        let key = format!("{}-{sequence}", project.identifier);
        activity::record(c, &row.id, &actor, &[Change::new("created", None, Some(format!("{key}: {title}")))], now)?;
        let issue = issues::full(c, &row)?;
        Ok(Outcome::Done(idem.finish(c, StatusCode::CREATED, &IssueWritten { issue })?))
    })
    .await
}

/// `changes.description_blocks`: whole blocks to replace, each checked against the
/// version last read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DescriptionBlocks {
    blocks: Blocks,
    #[serde(default)]
    base_versions: std::collections::BTreeMap<BlockName, String>,
}

/// The Replace ops a `description_blocks` change stands for.
fn replace_ops(value: &Value) -> Result<Vec<BlockOp>, RefTaskerError> {
    let change: DescriptionBlocks = serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        RefTaskerError::invalid(
            "description_blocks",
            format!(
                "description_blocks must be {{\"blocks\": {{…}}, \"base_versions\": {{…}}}}: `{}`: {}",
                e.path(),
                e.inner()
            ),
        )
    })?;
    if change.blocks.log.is_some() {
        return Err(RefTaskerError::invalid(
            "description_blocks",
            "the log cannot be replaced; append to it with POST /issues/{id}/blocks (append_log)",
        ));
    }
    let b = change.blocks;
    let text = |block, text: Option<String>| text.map(|t| (block, Some(t), None));
    let replaced: Vec<(BlockName, Option<String>, Option<Vec<_>>)> = [
        text(BlockName::Goal, b.goal),
        text(BlockName::Plan, b.plan),
        b.acceptance.map(|items| (BlockName::Acceptance, None, Some(items))),
        text(BlockName::Result, b.result),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(extra) = change.base_versions.keys().find(|name| !replaced.iter().any(|(b, _, _)| b == *name)) {
        return Err(RefTaskerError::invalid(
            "description_blocks",
            format!("base_versions names the {extra} block, which blocks does not replace"),
        ));
    }
    Ok(replaced
        .into_iter()
        .map(|(block, text, items)| BlockOp::Replace {
            block,
            text,
            items,
            base_version: change.base_versions.get(&block).cloned(),
        })
        .collect())
}

fn string_or_null(field: &str, value: &Value) -> Result<Option<String>, RefTaskerError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(RefTaskerError::invalid(field, format!("`{field}` must be a string or null, not {other}"))),
    }
}

fn date(field: &str, value: &Value) -> Result<Option<NaiveDate>, RefTaskerError> {
    string_or_null(field, value)?
        .map(|s| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| RefTaskerError::invalid(field, format!("`{field}` must be a date as YYYY-MM-DD or null")))
        })
        .transpose()
}

fn date_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// Refuses any key of `changes` outside [`UPDATABLE_FIELDS`], naming them all.
fn check_allowed(changes: &Map<String, Value>) -> Result<(), RefTaskerError> {
    let unknown: Vec<&String> = changes.keys().filter(|k| !UPDATABLE_FIELDS.contains(&k.as_str())).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(RefTaskerError::new(
        ErrorCode::FieldNotAllowed,
        format!(
            "these fields cannot be changed through update: {}; allowed: {}",
            unknown.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
            UPDATABLE_FIELDS.join(", ")
        ),
    )
    .with_details(json!({ "fields": unknown, "allowed": UPDATABLE_FIELDS })))
}

/// Applies validated `changes` to `row`, returning the history of what changed.
fn apply_changes(
    c: &mut DbConn,
    row: &mut IssueRow,
    changes: &Map<String, Value>,
) -> Result<Vec<Change>, RefTaskerError> {
    let mut history = Vec::new();
    if let Some(v) = changes.get("title") {
        let raw = v.as_str().ok_or_else(|| RefTaskerError::invalid("title", "`title` must be a string"))?;
        let title = check_title(raw)?;
        if title != row.title {
            history.push(Change::new("title", Some(row.title.clone()), Some(title.clone())));
            row.title = title;
        }
    }
    if let Some(v) = changes.get("priority") {
        let raw = v.as_str().unwrap_or_default();
        let priority = Priority::parse(raw).ok_or_else(|| {
            RefTaskerError::unknown(
                "priority",
                "priority",
                vec![v.as_str().map_or_else(|| v.to_string(), str::to_string)],
                Priority::ALL.iter().map(|p| p.as_str().to_string()).collect(),
            )
        })?;
        if priority.as_str() != row.priority {
            history.push(Change::new("priority", Some(row.priority.clone()), Some(priority.as_str().to_string())));
            row.priority = priority.as_str().to_string();
        }
    }
    for (field, is_start) in [("start_date", true), ("target_date", false)] {
        if let Some(v) = changes.get(field) {
            let new = date(field, v)?;
            let current = if is_start { &mut row.start_date } else { &mut row.target_date };
            if new != *current {
                history.push(Change::new(field, date_text(*current), date_text(new)));
                *current = new;
            }
        }
    }
    check_dates(row.start_date, row.target_date)?;
    if let Some(v) = changes.get("parent") {
        let project = row.project_uuid()?;
        let new = match string_or_null("parent", v)?.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(raw) => Some(resolve_parent(c, project, raw, Some(&row.id))?),
            None => None,
        };
        let new_id = new.as_ref().map(|p| p.id.clone());
        if new_id != row.parent_id {
            let old = match &row.parent_id {
                Some(pid) => issues::find(c, crate::reference_tasker::store::uuid(pid)?)?,
                None => None,
            };
            let old_key = old.map(|o| key_of(c, &o)).transpose()?;
            let new_key = new.map(|n| key_of(c, &n)).transpose()?;
            history.push(Change::new("parent", old_key, new_key));
            row.parent_id = new_id;
        }
    }
    if let Some(v) = changes.get("description_blocks") {
        let ops = replace_ops(v)?;
        let mut description = Description::parse(&row.description_html);
        let before = description.blocks().clone();
        description.apply(&ops).map_err(|e| block_error(e, "description_blocks"))?;
        let changed = block_changes(&before, description.blocks());
        if !changed.is_empty() {
            history.extend(changed);
            row.description_html = description.render();
        }
    }
    Ok(history)
}

/// `PATCH /issues/{id_or_key}`: only [`UPDATABLE_FIELDS`]; `null` clears a date or
/// the parent.
pub async fn update(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<UpdateIssue>,
) -> Result<HttpResponse, RefTaskerError> {
    // The path is checked before the field allowlist (the documented order).
    let card = CardRef::from_path(&path)?;
    check_allowed(&write.body.changes)?;
    card_write(
        &state.db,
        granted,
        card,
        write,
        |b| &b.actor,
        move |c, CardWrite { mut row, actor, body, idem }| {
            let history = apply_changes(c, &mut row, &body.changes)?;
            save(c, &mut row, &actor, &history)?;
            let issue = issues::full(c, &row)?;
            idem.finish(c, StatusCode::OK, &IssueWritten { issue })
        },
    )
    .await
}

/// Saves a changed card and its history; nothing when nothing changed.
pub fn save(c: &mut DbConn, row: &mut IssueRow, actor: &Who, history: &[Change]) -> Result<(), RefTaskerError> {
    if history.is_empty() {
        return Ok(());
    }
    let now = crate::storage::now();
    row.updated_by = actor.display();
    row.updated_at = now;
    issues::save(c, row)?;
    activity::record(c, &row.id, actor, history, now)?;
    Ok(())
}

/// `POST /issues/{id_or_key}/move`
pub async fn move_issue(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<MoveIssue>,
) -> Result<HttpResponse, RefTaskerError> {
    card_write(
        &state.db,
        granted,
        CardRef::from_path(&path)?,
        write,
        |b| &b.actor,
        move |c, CardWrite { mut row, actor, body, idem }| {
            let states = projects::states(c, row.project_uuid()?)?;
            let target = resolve::state(&states, "state", &body.state)?;
            let mut history = Vec::new();
            if target.id.to_string() != row.state_id {
                let old = states.iter().find(|s| s.id.to_string() == row.state_id).map(|s| s.name.clone());
                history.push(Change::new("state", old, Some(target.name.clone())));
                row.state_id = target.id.to_string();
            }
            save(c, &mut row, &actor, &history)?;
            let issue = issues::full(c, &row)?;
            idem.finish(c, StatusCode::OK, &IssueWritten { issue })
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor(""), None);
        assert_eq!(decode_cursor(&encode_cursor(0)), None);
        assert_eq!(decode_cursor("7365713a2d31"), None); // seq:-1
    }
}
