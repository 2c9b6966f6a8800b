//! The granted-projects header, Tasker's second line of defence: required on every
//! call, and nothing outside it readable or writable. The probes grant a random id
//! instead of the project under check, so a Tasker that ignores the header could only
//! touch that project's check card.

use actix_web::http::Method;
use serde_json::{Value, json};

use super::{Check, Problem, body, ensure, nobody};
use crate::tasker::contract::{
    ADD_COMMENT, ADD_PROJECT_MEMBER, AddComment, AddProjectMember, BlockOp, CHANGE_ASSIGNEES, CHANGE_LABELS,
    CREATE_ISSUE, ChangeSet, CreateIssue, ErrorCode, GET_ISSUE, LIST_PROJECTS, MOVE_ISSUE, MoveIssue, PROJECT_CONTEXT,
    ProjectList, RESOLVE_PROJECT, SEARCH_ISSUES, SearchQuery, UPDATE_BLOCKS, UPDATE_ISSUE, UpdateBlocks, UpdateIssue,
};

pub(super) async fn header_required(cx: &mut Check) -> Result<(), Problem> {
    let context = PROJECT_CONTEXT.path(&[&cx.project.to_string()]);
    let bad = format!("{},not-a-project-id", cx.project);
    for (case, granted) in [("no granted header", None), ("a granted entry that is not a UUID", Some(bad))] {
        let a = cx.raw.call(Method::GET, context.as_str()).granted(granted.clone()).send().await?;
        a.expect_error(ErrorCode::BadRequest).map_err(|p| p.with(case))?;
        let Ok(before) = cx.fresh_card().await else { continue };
        let comment = AddComment { actor: cx.actor(), body: cx.title("comment that must be refused") };
        let path = ADD_COMMENT.path(&[&before.id.to_string()]);
        let a = cx.raw.call(Method::POST, path).granted(granted).key(cx.key()).json(body(&comment)).send().await?;
        a.expect_error(ErrorCode::BadRequest).map_err(|p| p.with(case))?;
        cx.unchanged(&before, &format!("after the refused comment ({case})")).await?;
    }
    Ok(())
}

pub(super) async fn list_filtered(cx: &mut Check) -> Result<(), Problem> {
    for (case, granted) in [("granted another project", cx.elsewhere.to_string()), ("granted nothing", String::new())] {
        let a = cx.raw.call(Method::GET, LIST_PROJECTS.path(&[])).granted(Some(granted)).send().await?;
        let list = a.expect_ok::<ProjectList>(200).map_err(|p| p.with(case))?;
        let listed: Vec<String> = list.projects.iter().map(|p| p.identifier.clone()).collect();
        ensure(listed.is_empty(), || format!("{} {case}: must list nothing, listed [{}]", a.what, listed.join(", ")))?;
    }
    Ok(())
}

/// The answer is `project_not_granted` naming the project under check.
async fn refused(cx: &Check, method: Method, path: String, write: Option<Value>) -> Result<(), Problem> {
    let mut call = cx.raw.call(method, path).granted(Some(cx.elsewhere.to_string()));
    if let Some(write) = write {
        call = call.key(cx.key()).json(write);
    }
    let a = call.send().await?;
    let e = a.expect_error(ErrorCode::ProjectNotGranted)?;
    let named = e.details.as_ref().and_then(|d| d.get("project_id")).and_then(Value::as_str);
    let project = cx.project.to_string();
    ensure(named == Some(project.as_str()), || {
        format!("{}: details.project_id must be {project}, got {named:?}", a.what)
    })
}

pub(super) async fn reads_refused(cx: &mut Check) -> Result<(), Problem> {
    let project = cx.project.to_string();
    let query = |q: &[(&str, &str)]| serde_urlencoded::to_string(q).unwrap_or_default();
    let mut paths = vec![
        PROJECT_CONTEXT.path(&[&project]),
        format!("{}?{}", SEARCH_ISSUES.path(&[&project]), query(&[("q", &cx.run_prefix())])),
        format!("{}?{}", RESOLVE_PROJECT.path(&[]), query(&[("ref", &project)])),
    ];
    if let Some(context) = &cx.context {
        paths.push(format!("{}?{}", RESOLVE_PROJECT.path(&[]), query(&[("ref", &context.project.identifier)])));
    }
    for path in paths {
        refused(cx, Method::GET, path, None).await?;
    }
    // A card by id and by key (the key's project is checked first).
    let card = cx.card()?;
    for path in [GET_ISSUE.path(&[&card.id.to_string()]), GET_ISSUE.path(&[&card.key])] {
        refused(cx, Method::GET, path, None).await?;
    }
    Ok(())
}

pub(super) async fn writes_refused(cx: &mut Check) -> Result<(), Problem> {
    let project = cx.project.to_string();
    let title = cx.title("card that must not exist (granted)");
    let create = CreateIssue {
        actor: cx.actor(),
        title: title.clone(),
        priority: None,
        state: None,
        labels: vec![],
        assignees: vec![],
        start_date: None,
        target_date: None,
        parent: None,
        blocks: None,
    };
    refused(cx, Method::POST, CREATE_ISSUE.path(&[&project]), Some(body(&create))).await?;
    let member = AddProjectMember { actor: cx.actor(), user: nobody(cx), role: None };
    refused(cx, Method::POST, ADD_PROJECT_MEMBER.path(&[&project]), Some(body(&member))).await?;

    let before = cx.fresh_card().await?;
    let (id, key) = (before.id.to_string(), before.key.clone());
    let empty = || ChangeSet { actor: cx.actor(), add: vec![], remove: vec![] };
    let rename = serde_json::Map::from_iter([("title".to_string(), json!(title))]);
    let card_writes = [
        (Method::PATCH, UPDATE_ISSUE.path(&[&id]), body(&UpdateIssue { actor: cx.actor(), changes: rename })),
        (
            Method::POST,
            MOVE_ISSUE.path(&[&key]),
            body(&MoveIssue { actor: cx.actor(), state: before.state.name.clone() }),
        ),
        (Method::POST, ADD_COMMENT.path(&[&id]), body(&AddComment { actor: cx.actor(), body: title.clone() })),
        (Method::POST, CHANGE_LABELS.path(&[&id]), body(&empty())),
        (Method::POST, CHANGE_ASSIGNEES.path(&[&id]), body(&empty())),
        (
            Method::POST,
            UPDATE_BLOCKS.path(&[&key]),
            body(&UpdateBlocks { actor: cx.actor(), ops: vec![BlockOp::AppendLog { entry: title.clone() }] }),
        ),
    ];
    for (method, path, write) in card_writes {
        refused(cx, method, path, Some(write)).await?;
    }
    cx.unchanged(&before, "after the refused writes").await?;
    let q = SearchQuery { q: Some(title.clone()), ..SearchQuery::default() };
    let found = cx.client.search_issues(&cx.cx(), cx.project, &q).await.map_err(|e| Problem::call("searching", e))?;
    match found.issues.first() {
        Some(made) => Err(Problem::fail(format!("the refused create made a card anyway: {}", made.key))),
        None => Ok(()),
    }
}
