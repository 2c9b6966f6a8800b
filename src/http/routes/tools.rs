//! REST product endpoints: one per tool, through the same call pipeline as MCP. Writes
//! take the idempotency key in the `Idempotency-Key` header. No route deletes, archives
//! or forwards a path to Tasker; a DELETE on any of these paths is a 405.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{AgentCaller, Body, Query};
use crate::tasker::client::TaskerClient;
use crate::tools;

/// Runs one tool for the caller and answers its structured result.
async fn run(
    state: &AppState,
    tasker: &TaskerClient,
    caller: &AgentCaller,
    tool: &str,
    args: Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let def = tools::find(tool).ok_or_else(|| ApiError::not_found("route_not_found", "no such tool"))?;
    let out = state.calls.call(tasker, &caller.principal, &caller.ctx, def, &Value::Object(args)).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A write's arguments: the body, the path's target and the `Idempotency-Key` header,
/// each given in exactly one place.
fn write_args(req: &HttpRequest, body: Value, target: (&str, String)) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(mut args) = body else {
        return Err(ApiError::bad_request("invalid_body", "the body must be a JSON object"));
    };
    for (field, place) in [(target.0, "the path"), ("idempotency_key", "the Idempotency-Key header")] {
        if args.contains_key(field) {
            return Err(ApiError::bad_request("invalid_body", format!("`{field}` comes from {place}, not the body")));
        }
    }
    args.insert(target.0.to_string(), json!(target.1));
    // A header that is not plain text is still a key: an invalid one, said as such.
    if let Some(key) = req.headers().get("idempotency-key") {
        args.insert("idempotency_key".into(), json!(String::from_utf8_lossy(key.as_bytes())));
    }
    Ok(args)
}

fn one(field: &str, value: String) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(field.to_string(), json!(value));
    m
}

type Ctx<'a> = (web::Data<AppState>, web::Data<TaskerClient>, AgentCaller);

pub async fn list_projects(
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    caller: AgentCaller,
) -> Result<HttpResponse, ApiError> {
    run(&state, &tasker, &caller, "list_projects", Map::new()).await
}

pub async fn project_context(
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    caller: AgentCaller,
    project: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    run(&state, &tasker, &caller, "get_project_context", one("project", project.into_inner())).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    query: Option<String>,
    state: Option<String>,
    label: Option<String>,
    assignee: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn search_issues(
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    caller: AgentCaller,
    project: web::Path<String>,
    Query(q): Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let mut args = one("project", project.into_inner());
    for (k, v) in
        [("query", q.query), ("state", q.state), ("label", q.label), ("assignee", q.assignee), ("cursor", q.cursor)]
    {
        if let Some(v) = v {
            args.insert(k.into(), json!(v));
        }
    }
    if let Some(limit) = q.limit {
        args.insert("limit".into(), json!(limit));
    }
    run(&state, &tasker, &caller, "search_issues", args).await
}

pub async fn get_issue(
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    caller: AgentCaller,
    issue: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    run(&state, &tasker, &caller, "get_issue", one("issue", issue.into_inner())).await
}

/// The write endpoints differ only in tool and target; one handler each keeps the
/// route table readable.
macro_rules! write_endpoint {
    ($fn:ident, $tool:literal, $target:literal) => {
        pub async fn $fn(
            req: HttpRequest,
            (state, tasker, caller): Ctx<'_>,
            target: web::Path<String>,
            Body(body): Body<Value>,
        ) -> Result<HttpResponse, ApiError> {
            let args = write_args(&req, body, ($target, target.into_inner()))?;
            run(&state, &tasker, &caller, $tool, args).await
        }
    };
}

write_endpoint!(create_issue, "create_issue", "project");
write_endpoint!(add_project_member, "add_project_member", "project");
write_endpoint!(update_issue, "update_issue", "issue");
write_endpoint!(move_issue, "move_issue", "issue");
write_endpoint!(add_comment, "add_comment", "issue");
write_endpoint!(set_labels, "set_issue_labels", "issue");
write_endpoint!(assign_issue, "assign_issue", "issue");
write_endpoint!(update_blocks, "update_structured_blocks", "issue");
