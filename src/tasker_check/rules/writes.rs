//! The write endpoints, well-formed, on the check card only, and the actor they show.

use actix_web::http::Method;
use serde_json::{Map, json};

use super::{Check, Problem, body, ensure};
use crate::tasker::contract::{
    ADD_COMMENT, AcceptanceItem, AddComment, BlockOp, Blocks, CHANGE_ASSIGNEES, CHANGE_LABELS, CREATE_ISSUE, ChangeSet,
    CommentWritten, CreateIssue, IssueWritten, MOVE_ISSUE, MoveIssue, Priority, StateGroup, UPDATE_BLOCKS,
    UPDATE_ISSUE, UpdateBlocks, UpdateIssue,
};
use crate::tasker_check::Card;

/// The check card's acceptance item, ticked by `issues.blocks`.
pub(super) const ACCEPTANCE_ITEM: &str = "Blocks round-trip";

/// The blocks the check card is created with.
fn initial_blocks() -> Blocks {
    Blocks {
        goal: Some("Check that this Tasker keeps structured blocks.".into()),
        plan: Some("1. Create the card\n2. Replace a block".into()),
        acceptance: Some(vec![AcceptanceItem { text: ACCEPTANCE_ITEM.into(), checked: false }]),
        log: None,
        result: None,
    }
}

pub(super) async fn create(cx: &mut Check) -> Result<(), Problem> {
    let title = cx.title("check card");
    let create = CreateIssue {
        actor: cx.actor(),
        title: title.clone(),
        priority: Some(Priority::Low),
        state: None,
        labels: vec![],
        assignees: vec![],
        start_date: None,
        target_date: None,
        parent: None,
        blocks: Some(initial_blocks()),
    };
    let path = CREATE_ISSUE.path(&[&cx.project.to_string()]);
    let a = cx.raw.call(Method::POST, path).key(cx.key()).json(body(&create)).send().await?;
    let issue = a.expect_ok::<IssueWritten>(201)?.issue;
    cx.card = Some(Card { id: issue.id, key: issue.key.clone() });
    let what = format!("creating {}", issue.key);
    ensure(issue.project_id == cx.project, || format!("{what}: it is in project {}", issue.project_id))?;
    ensure(issue.title == title, || format!("{what}: title `{}`, sent `{title}`", issue.title))?;
    ensure(issue.priority == Priority::Low, || format!("{what}: priority {}, sent low", issue.priority))?;
    ensure(issue.key.ends_with(&format!("-{}", issue.sequence_id)), || {
        format!("{what}: the key must be IDENTIFIER-{}", issue.sequence_id)
    })?;
    ensure(issue.blocks == initial_blocks(), || {
        format!("{what}: blocks {:?}, sent {:?}", issue.blocks, initial_blocks())
    })?;
    if let Some(default) = cx.context.as_ref().and_then(|c| c.states.iter().find(|s| s.is_default)) {
        ensure(issue.state.id == default.id, || {
            format!("{what}: state `{}`, expected the default `{}`", issue.state.name, default.name)
        })?;
    }
    Ok(())
}

pub(super) async fn update(cx: &mut Check) -> Result<(), Problem> {
    let card = cx.card()?;
    let title = cx.title("check card (updated)");
    let mut changes = Map::new();
    changes.insert("title".into(), json!(title));
    changes.insert("priority".into(), json!("high"));
    changes.insert("start_date".into(), json!("2030-01-01"));
    changes.insert("target_date".into(), json!("2030-01-31"));
    let update = UpdateIssue { actor: cx.actor(), changes };
    let what = format!("PATCH /issues/{}", card.key);
    let issue = cx
        .client
        .write(&UPDATE_ISSUE, &[&card.id.to_string()], &update, &cx.cx(), &cx.key())
        .await
        .map_err(|e| Problem::call(&what, e))?
        .issue;
    let got = (issue.title.as_str(), issue.priority, issue.start_date, issue.target_date);
    let dates = ("2030-01-01".parse().ok(), "2030-01-31".parse().ok());
    ensure(got == (title.as_str(), Priority::High, dates.0, dates.1), || {
        format!("{what}: answered {got:?}, expected the title, high priority and dates sent")
    })
}

pub(super) async fn move_issue(cx: &mut Check) -> Result<(), Problem> {
    let current = cx.fresh_card().await?.state.id;
    let context = cx.context()?;
    let mut others: Vec<_> = context.states.iter().filter(|s| s.id != current).collect();
    // A cancelled state when there is one, so the check card leaves the board's way.
    others.sort_by_key(|s| s.group != StateGroup::Cancelled);
    let Some(target) = others.first().map(|s| (*s).clone()) else {
        return Err(Problem::Skip("the project has only one state".into()));
    };
    let card = cx.card()?;
    let what = format!("moving {} to `{}`", card.key, target.name);
    let issue = cx
        .client
        .write(
            &MOVE_ISSUE,
            &[&card.id.to_string()],
            &MoveIssue { actor: cx.actor(), state: target.name.clone() },
            &cx.cx(),
            &cx.key(),
        )
        .await
        .map_err(|e| Problem::call(&what, e))?
        .issue;
    ensure(issue.state.id == target.id, || format!("{what}: the card is in `{}`", issue.state.name))
}

pub(super) async fn comment(cx: &mut Check) -> Result<(), Problem> {
    let card = cx.card()?;
    let text = cx.title("comment: checking comments.");
    let add = AddComment { actor: cx.actor(), body: text.clone() };
    let path = ADD_COMMENT.path(&[&card.id.to_string()]);
    let a = cx.raw.call(Method::POST, path).key(cx.key()).json(body(&add)).send().await?;
    let written = a.expect_ok::<CommentWritten>(201)?;
    cx.comment_actor = Some(written.comment.actor.clone());
    ensure(written.comment.body == text, || format!("{}: the comment reads `{}`", a.what, written.comment.body))?;
    let last = written.issue.recent_comments.last().map(|c| c.id);
    ensure(last == Some(written.comment.id), || format!("{}: the new comment is not last in recent_comments", a.what))
}

pub(super) async fn labels(cx: &mut Check) -> Result<(), Problem> {
    let Some(label) = cx.context()?.labels.first().cloned() else {
        return Err(Problem::Skip("the project has no labels".into()));
    };
    let card = cx.card()?;
    for adding in [true, false] {
        let names = vec![label.name.clone()];
        let (add, remove) = if adding { (names, vec![]) } else { (vec![], names) };
        let set = ChangeSet { actor: cx.actor(), add, remove };
        let what = format!("{} label `{}` on {}", if adding { "adding" } else { "removing" }, label.name, card.key);
        let issue = cx
            .client
            .write(&CHANGE_LABELS, &[&card.id.to_string()], &set, &cx.cx(), &cx.key())
            .await
            .map_err(|e| Problem::call(&what, e))?
            .issue;
        let has = issue.labels.iter().any(|l| l.id == label.id);
        ensure(has == adding, || format!("{what}: the card's labels are {:?}", issue.labels))?;
    }
    Ok(())
}

pub(super) async fn assignees(cx: &mut Check) -> Result<(), Problem> {
    let before = cx.fresh_card().await?;
    // Never assigns anyone: removing a member who is not assigned changes nothing.
    let remove: Vec<String> = cx
        .context()?
        .members
        .iter()
        .find(|m| !before.assignees.iter().any(|a| a.user_id == m.user_id))
        .map(|m| vec![m.email.clone()])
        .unwrap_or_default();
    let what = format!("removing {remove:?} (not assigned) from {}", before.key);
    let set = ChangeSet { actor: cx.actor(), add: vec![], remove };
    let issue = cx
        .client
        .write(&CHANGE_ASSIGNEES, &[&before.id.to_string()], &set, &cx.cx(), &cx.key())
        .await
        .map_err(|e| Problem::call(&what, e))?
        .issue;
    ensure(issue.assignees == before.assignees, || format!("{what}: the assignees became {:?}", issue.assignees))?;
    ensure(issue.updated_at == before.updated_at && issue.updated_by == before.updated_by, || {
        format!("{what}: a write that changes nothing must not touch updated_at/updated_by")
    })
}

pub(super) async fn blocks(cx: &mut Check) -> Result<(), Problem> {
    let card = cx.card()?;
    let entry = cx.title("log entry");
    let ops = vec![
        BlockOp::AppendLog { entry: entry.clone() },
        BlockOp::CheckItem { item: ACCEPTANCE_ITEM.into(), checked: true },
    ];
    let what = format!("POST /issues/{}/blocks (append_log, check_item)", card.key);
    let issue = cx
        .client
        .write(&UPDATE_BLOCKS, &[&card.id.to_string()], &UpdateBlocks { actor: cx.actor(), ops }, &cx.cx(), &cx.key())
        .await
        .map_err(|e| Problem::call(&what, e))?
        .issue;
    let logged = issue.blocks.log.as_ref().and_then(|l| l.last());
    ensure(logged == Some(&entry), || format!("{what}: the log's last entry is {logged:?}"))?;
    let ticked = issue.blocks.acceptance.iter().flatten().any(|i| i.text == ACCEPTANCE_ITEM && i.checked);
    ensure(ticked, || format!("{what}: `{ACCEPTANCE_ITEM}` is not ticked: {:?}", issue.blocks.acceptance))
}

pub(super) async fn history_actor(cx: &mut Check) -> Result<(), Problem> {
    let expected = cx.expected_actor();
    let card = cx.fresh_card().await?;
    let shown = [("created_by", Some(card.created_by)), ("updated_by", Some(card.updated_by))]
        .into_iter()
        .chain([("the comment's actor", cx.comment_actor.clone())]);
    for (field, value) in shown {
        if let Some(value) = value {
            ensure(value == expected, || format!("{} {field}: expected `{expected}`, got `{value}`", card.key))?;
        }
    }
    Ok(())
}
