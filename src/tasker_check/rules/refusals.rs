//! What Tasker must refuse: unknown names (listing the valid ones), fields outside the
//! update allowlist, unknown body fields, deletes and archiving. Each probe targets the
//! check card (or names nobody), so even a Tasker that wrongly accepts it changes
//! nothing but a check card; each then checks that nothing was written.

use std::collections::BTreeSet;

use actix_web::http::Method;
use serde_json::{Map, json};

use super::reads::UNKNOWN_PATH;
use super::{Check, Problem, body, ensure, listed, names_valid, nobody, string_set};
use crate::tasker::contract::{
    ADD_COMMENT, ADD_PROJECT_MEMBER, AddComment, AddProjectMember, CHANGE_ASSIGNEES, CHANGE_LABELS, ChangeSet,
    ErrorCode, GET_ISSUE, MOVE_ISSUE, MoveIssue, SEARCH_ISSUES, UPDATABLE_FIELDS, UPDATE_ISSUE, UpdateIssue,
};

pub(super) async fn unknown_member(cx: &mut Check) -> Result<(), Problem> {
    let user = nobody(cx);
    let add = AddProjectMember { actor: cx.actor(), user: user.clone(), role: None };
    let path = ADD_PROJECT_MEMBER.path(&[&cx.project.to_string()]);
    let a = cx.raw.call(Method::POST, path).key(cx.key()).json(body(&add)).send().await?;
    let e = a.expect_error(ErrorCode::ValidationFailed)?;
    names_valid(&a.what, &e, "user", &user, None)
}

pub(super) async fn names_valid_values(cx: &mut Check) -> Result<(), Problem> {
    let before = cx.fresh_card().await?;
    let context = cx.context()?.clone();
    let id = before.id.to_string();
    let state = format!("tasker-check no such state {}", cx.run_id);
    let label = format!("tasker-check-no-such-label-{}", cx.run_id);
    let person = nobody(cx);
    let states: BTreeSet<String> = context.states.iter().map(|s| s.name.clone()).collect();
    let labels: BTreeSet<String> = context.labels.iter().map(|l| l.name.clone()).collect();
    let emails: BTreeSet<String> = context.members.iter().map(|m| m.email.clone()).collect();
    let probes = [
        (
            MOVE_ISSUE.path(&[&id]),
            body(&MoveIssue { actor: cx.actor(), state: state.clone() }),
            "state",
            &state,
            states.clone(),
        ),
        (
            CHANGE_LABELS.path(&[&id]),
            body(&ChangeSet { actor: cx.actor(), add: vec![label.clone()], remove: vec![] }),
            "labels",
            &label,
            labels,
        ),
        (
            CHANGE_ASSIGNEES.path(&[&id]),
            body(&ChangeSet { actor: cx.actor(), add: vec![person.clone()], remove: vec![] }),
            "assignees",
            &person,
            emails,
        ),
    ];
    for (path, write, field, unknown, valid) in probes {
        let a = cx.raw.call(Method::POST, path).key(cx.key()).json(write).send().await?;
        let e = a.expect_error(ErrorCode::ValidationFailed)?;
        names_valid(&a.what, &e, field, unknown, Some(valid))?;
    }
    let query = serde_urlencoded::to_string([("state", state.as_str())]).unwrap_or_default();
    let search = format!("{}?{query}", SEARCH_ISSUES.path(&[&cx.project.to_string()]));
    let a = cx.raw.call(Method::GET, search).send().await?;
    let e = a.expect_error(ErrorCode::ValidationFailed)?;
    names_valid(&a.what, &e, "state", &state, Some(states))?;
    cx.unchanged(&before, "after the refused writes").await
}

pub(super) async fn allowlist(cx: &mut Check) -> Result<(), Problem> {
    let before = cx.fresh_card().await?;
    let state = cx.context().ok().and_then(|c| c.states.first()).map_or("Done".to_string(), |s| s.name.clone());
    let outside = ["state", "description_html", "archived_at"];
    let mut changes = Map::new();
    changes.insert("title".into(), json!(cx.title("must not be renamed")));
    changes.insert("state".into(), json!(state));
    changes.insert("description_html".into(), json!("<p>tasker-check</p>"));
    changes.insert("archived_at".into(), json!("2030-01-01T00:00:00Z"));
    let update = UpdateIssue { actor: cx.actor(), changes };
    let path = UPDATE_ISSUE.path(&[&before.id.to_string()]);
    let a = cx.raw.call(Method::PATCH, path).key(cx.key()).json(body(&update)).send().await?;
    let e = a.expect_error(ErrorCode::FieldNotAllowed)?;
    let details = e.details.as_ref();
    let fields = string_set(details.and_then(|d| d.get("fields"))).unwrap_or_default();
    let expected: BTreeSet<String> = outside.iter().map(|f| f.to_string()).collect();
    ensure(fields == expected, || {
        format!("{}: details.fields must be exactly [{}], got [{}]", a.what, listed(&expected), listed(&fields))
    })?;
    let allowed = string_set(details.and_then(|d| d.get("allowed"))).unwrap_or_default();
    let expected: BTreeSet<String> = UPDATABLE_FIELDS.iter().map(|f| f.to_string()).collect();
    ensure(allowed == expected, || {
        format!("{}: details.allowed must be exactly [{}], got [{}]", a.what, listed(&expected), listed(&allowed))
    })?;
    cx.unchanged(&before, "after the refused update").await
}

pub(super) async fn strict_bodies(cx: &mut Check) -> Result<(), Problem> {
    let before = cx.fresh_card().await?;
    let path = ADD_COMMENT.path(&[&before.id.to_string()]);
    let comment = body(&AddComment { actor: cx.actor(), body: cx.title("comment that must be refused") });
    let mut outer = comment.clone();
    outer["tasker_check_unknown"] = json!(true);
    let mut inner = comment;
    inner["actor"]["role"] = json!("admin");
    for (case, write) in [("an unknown field", outer), ("an unknown field in actor", inner)] {
        let a = cx.raw.call(Method::POST, path.as_str()).key(cx.key()).json(write).send().await?;
        a.expect_error(ErrorCode::BadRequest).map_err(|p| p.with(case))?;
    }
    cx.unchanged(&before, "after the refused comments").await
}

pub(super) async fn delete(cx: &mut Check) -> Result<(), Problem> {
    let a = cx.raw.call(Method::DELETE, UNKNOWN_PATH).send().await?;
    a.expect_error(ErrorCode::DeleteNotSupported)?;
    // Only ever the check card: if Tasker wrongly deletes, it deletes that.
    let before = cx.fresh_card().await?;
    let key = before.key.as_str();
    let paths = [GET_ISSUE.path(&[key]), ADD_COMMENT.path(&[key]), format!("{}/archive", GET_ISSUE.path(&[key]))];
    for path in paths {
        let a = cx.raw.call(Method::DELETE, path).key(cx.key()).send().await?;
        a.expect_error(ErrorCode::DeleteNotSupported)?;
    }
    cx.unchanged(&before, "after the refused deletes").await
}

pub(super) async fn archive(cx: &mut Check) -> Result<(), Problem> {
    let before = cx.fresh_card().await?;
    let card = GET_ISSUE.path(&[&before.key]);
    let archived = format!("/projects/{}/archived-issues", cx.project);
    let probes = [
        (Method::POST, format!("{card}/archive")),
        (Method::POST, format!("{card}/unarchive")),
        (Method::PATCH, format!("{card}/Archived")),
        (Method::GET, archived),
    ];
    let write = json!({ "actor": body(&cx.actor()) });
    for (method, path) in probes {
        let is_read = method == Method::GET;
        let mut call = cx.raw.call(method, path);
        if !is_read {
            call = call.key(cx.key()).json(write.clone());
        }
        call.send().await?.expect_error(ErrorCode::ArchiveNotSupported)?;
    }
    cx.unchanged(&before, "after the refused archiving").await
}
