//! The token, the answer headers, routing, and the read endpoints.

use actix_web::http::Method;

use super::{Check, Problem, body, ensure};
use crate::tasker::contract::{
    ErrorCode, GET_ISSUE, LIST_PROJECTS, PROJECT_CONTEXT, REQUEST_ID_HEADER, SearchQuery, USER_PROJECTS, UpdateIssue,
};

/// A path under the base path that no contract endpoint has.
pub(super) const UNKNOWN_PATH: &str = "/tasker-check-no-such-route";

pub(super) async fn auth_required(cx: &mut Check) -> Result<(), Problem> {
    let list = LIST_PROJECTS.path(&[]);
    let refused = [
        ("without a token", None, list.as_str()),
        ("with a wrong token", Some("tasker-check-not-the-token"), list.as_str()),
        ("without a token", None, UNKNOWN_PATH),
    ];
    for (how, token, path) in refused {
        let a = cx.raw.call(Method::GET, path).bearer(token).send().await?;
        a.expect_error(ErrorCode::Unauthorized).map_err(|p| p.with(how))?;
        let challenge = a.header("www-authenticate").unwrap_or_default().trim().to_ascii_lowercase();
        ensure(challenge.starts_with("bearer"), || {
            format!("{} {how}: the 401 must carry `WWW-Authenticate: Bearer`", a.what)
        })?;
    }
    let a = cx.raw.call(Method::GET, list).send().await?;
    ensure(a.status != 401, || format!("{}: the token given was refused ({})", a.what, a.summary()))
}

pub(super) async fn request_id(cx: &mut Check) -> Result<(), Problem> {
    let sent = format!("tasker-check-{}-request", cx.run_id);
    let path = LIST_PROJECTS.path(&[]);
    // An answer and an error (no granted header) both echo it.
    for granted in [Some(cx.project.to_string()), None] {
        let a = cx.raw.call(Method::GET, &path).granted(granted).request_id(Some(sent.clone())).send().await?;
        let echoed = a.header(REQUEST_ID_HEADER);
        ensure(echoed == Some(sent.as_str()), || {
            format!("{} ({}): X-Request-Id must echo `{sent}`, got {echoed:?}", a.what, a.summary())
        })?;
    }
    let a = cx.raw.call(Method::GET, &path).request_id(None).send().await?;
    ensure(a.header(REQUEST_ID_HEADER).is_some_and(|v| !v.trim().is_empty()), || {
        format!("{} without X-Request-Id: the answer must carry a generated one", a.what)
    })
}

pub(super) async fn projects_list(cx: &mut Check) -> Result<(), Problem> {
    let list = cx.client.list_projects(&cx.cx()).await.map_err(|e| Problem::call("GET /projects", e))?;
    let ids: Vec<String> = list.projects.iter().map(|p| p.id.to_string()).collect();
    ensure(list.projects.iter().any(|p| p.id == cx.project), || {
        format!("GET /projects granted {}: it is not listed (listed: [{}])", cx.project, ids.join(", "))
    })
}

pub(super) async fn projects_resolve(cx: &mut Check) -> Result<(), Problem> {
    let by_id = cx
        .client
        .resolve_project(&cx.cx(), &cx.project.to_string())
        .await
        .map_err(|e| Problem::call("GET /projects/resolve?ref=ID", e))?;
    ensure(by_id.id == cx.project, || format!("resolving {} answered project {}", cx.project, by_id.id))?;
    let ident = by_id.identifier.to_lowercase();
    let by_ident = cx
        .client
        .resolve_project(&cx.cx(), &ident)
        .await
        .map_err(|e| Problem::call(&format!("GET /projects/resolve?ref={ident}"), e))?;
    ensure(by_ident == by_id, || format!("resolving `{ident}` answered {by_ident:?}, by id {by_id:?}"))
}

pub(super) async fn projects_context(cx: &mut Check) -> Result<(), Problem> {
    let what = format!("GET {}", PROJECT_CONTEXT.path(&[&cx.project.to_string()]));
    let context = cx.client.project_context(&cx.cx(), cx.project).await.map_err(|e| Problem::call(&what, e))?;
    let (project, states) = (context.project.id, context.states.len());
    let defaults = context.states.iter().filter(|s| s.is_default).count();
    // Later rules use it even if it is odd: they report their own failures.
    cx.context = Some(context);
    ensure(project == cx.project, || format!("{what}: answered project {project}"))?;
    ensure(states > 0, || format!("{what}: the project has no states"))?;
    ensure(defaults == 1, || format!("{what}: exactly one state must be the default, {defaults} are"))
}

/// A member of the project sees it among their projects; an unknown user has none.
pub(super) async fn projects_of_user(cx: &mut Check) -> Result<(), Problem> {
    let Some(member) = cx.context()?.members.first().map(|m| m.user_id) else {
        return Err(Problem::Skip("the project has no member to look up".into()));
    };
    let what = format!("GET {}", USER_PROJECTS.path(&[&member.to_string()]));
    let list = cx.client.user_projects(&cx.cx(), member).await.map_err(|e| Problem::call(&what, e))?;
    ensure(list.projects.iter().any(|p| p.id == cx.project), || {
        format!("{what}: member {member}'s projects must include {}", cx.project)
    })?;
    let nobody = uuid::Uuid::new_v4();
    let what = format!("GET {}", USER_PROJECTS.path(&[&nobody.to_string()]));
    let none = cx.client.user_projects(&cx.cx(), nobody).await.map_err(|e| Problem::call(&what, e))?;
    ensure(none.projects.is_empty(), || format!("{what}: an unknown user must have no projects"))
}

pub(super) async fn issues_get(cx: &mut Check) -> Result<(), Problem> {
    let card = cx.card()?;
    let by_id = cx
        .client
        .get_issue(&cx.cx(), &card.id.to_string())
        .await
        .map_err(|e| Problem::call(&format!("GET /issues/{}", card.id), e))?;
    ensure(by_id.id == card.id && by_id.key == card.key, || {
        format!("GET /issues/{}: answered {} ({})", card.id, by_id.key, by_id.id)
    })?;
    let key = card.key.to_lowercase();
    let by_key =
        cx.client.get_issue(&cx.cx(), &key).await.map_err(|e| Problem::call(&format!("GET /issues/{key}"), e))?;
    ensure(by_key == by_id, || format!("GET /issues/{key}: not the card GET /issues/{} answered", card.id))
}

pub(super) async fn issues_search(cx: &mut Check) -> Result<(), Problem> {
    let card = cx.card()?;
    let q = SearchQuery { q: Some(cx.run_prefix()), ..SearchQuery::default() };
    let page = cx
        .client
        .search_issues(&cx.cx(), cx.project, &q)
        .await
        .map_err(|e| Problem::call("GET /projects/{id}/issues", e))?;
    let found = page.issues.iter().find(|i| i.id == card.id);
    let Some(found) = found else {
        return Err(Problem::fail(format!("searching `{}` did not find {}", cx.run_prefix(), card.key)));
    };
    ensure(found.key == card.key && found.project_id == cx.project, || {
        format!(
            "searching found {} in project {}, expected {} in {}",
            found.key, found.project_id, card.key, cx.project
        )
    })
}

pub(super) async fn unknown_route(cx: &mut Check) -> Result<(), Problem> {
    let a = cx.raw.call(Method::GET, UNKNOWN_PATH).send().await?;
    a.expect_error(ErrorCode::NotFound)?;
    // Another method on a card's path: refused, so it cannot change the check card.
    let card = cx.card()?;
    let update = UpdateIssue { actor: cx.actor(), changes: serde_json::Map::new() };
    let path = GET_ISSUE.path(&[&card.key]);
    let a = cx.raw.call(Method::PUT, path).key(cx.key()).json(body(&update)).send().await?;
    a.expect_error(ErrorCode::NotFound).map(drop)
}
