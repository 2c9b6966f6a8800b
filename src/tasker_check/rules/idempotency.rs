//! Idempotency keys: required on writes, a repeat replays, a reused key is refused.
//! The gateway's at-most-once guarantee rests on these (docs/ARCHITECTURE.md).

use actix_web::http::Method;
use serde_json::Value;

use super::{Check, Problem, body, ensure};
use crate::tasker::contract::{
    ADD_COMMENT, AddComment, CREATE_ISSUE, CommentWritten, CreateIssue, ErrorCode, IssueWritten, SearchQuery,
};

/// The answer header on a replayed write.
const REPLAYED_HEADER: &str = "idempotent-replayed";

pub(super) async fn key_required(cx: &mut Check) -> Result<(), Problem> {
    let before = cx.fresh_card().await?;
    let path = ADD_COMMENT.path(&[&before.id.to_string()]);
    let comment = body(&AddComment { actor: cx.actor(), body: cx.title("comment that must be refused") });
    let too_long = "k".repeat(256);
    for (case, key) in [("no Idempotency-Key", None), ("a 256-character Idempotency-Key", Some(too_long))] {
        let mut call = cx.raw.call(Method::POST, path.as_str()).json(comment.clone());
        if let Some(key) = key {
            call = call.key(key);
        }
        call.send().await?.expect_error(ErrorCode::BadRequest).map_err(|p| p.with(case))?;
    }
    cx.unchanged(&before, "after the refused comments").await
}

pub(super) async fn replay(cx: &mut Check) -> Result<(), Problem> {
    let title = cx.title("idempotency replay");
    let create = |cx: &Check| CreateIssue {
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
    let (key, path) = (cx.key(), CREATE_ISSUE.path(&[&cx.project.to_string()]));
    let first = cx.raw.call(Method::POST, path.as_str()).key(key.as_str()).json(body(&create(cx))).send().await?;
    first.expect_ok::<IssueWritten>(201)?;
    // The retry a gateway makes: same key and body, a new request id.
    let again = cx.raw.call(Method::POST, path.as_str()).key(key.as_str()).json(body(&create(cx))).send().await?;
    let what = format!("{} repeated with the same key", again.what);
    ensure(again.status == first.status, || {
        format!("{what}: expected {} again, got {}", first.status, again.summary())
    })?;
    let flag = again.header(REPLAYED_HEADER);
    ensure(flag == Some("true"), || format!("{what}: expected `Idempotent-Replayed: true`, got {flag:?}"))?;
    let (a, b) = (serde_json::from_slice::<Value>(&first.body).ok(), serde_json::from_slice::<Value>(&again.body).ok());
    ensure(a.is_some() && a == b, || format!("{what}: the replayed body differs from the first answer"))?;
    let q = SearchQuery { q: Some(title.clone()), ..SearchQuery::default() };
    let found = cx.client.search_issues(&cx.cx(), cx.project, &q).await.map_err(|e| Problem::call("searching", e))?;
    let keys: Vec<&str> = found.issues.iter().map(|i| i.key.as_str()).collect();
    ensure(keys.len() == 1, || format!("{what}: expected one card titled `{title}`, found [{}]", keys.join(", ")))
}

pub(super) async fn key_reused(cx: &mut Check) -> Result<(), Problem> {
    let card = cx.card()?;
    let (key, path) = (cx.key(), ADD_COMMENT.path(&[&card.id.to_string()]));
    let first = AddComment { actor: cx.actor(), body: cx.title("comment with a key") };
    let a = cx.raw.call(Method::POST, path.as_str()).key(key.as_str()).json(body(&first)).send().await?;
    a.expect_ok::<CommentWritten>(201)?;
    let before = cx.fresh_card().await?;
    let other = AddComment { actor: cx.actor(), body: cx.title("another comment with the same key") };
    let a = cx.raw.call(Method::POST, path.as_str()).key(key.as_str()).json(body(&other)).send().await?;
    a.expect_error(ErrorCode::IdempotencyKeyReused).map_err(|p| p.with("the same key with another body"))?;
    cx.unchanged(&before, "after the refused comment").await
}
