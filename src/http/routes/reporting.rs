//! The reporting API: `/api/internal/v1/reporting/…` across owners (Launcher's token
//! or the shared one) and `/api/internal/v1/owners/{ownerUserId}/reporting/…` for one
//! owner (Tasker's backend's token or the shared one). Every list is filtered and
//! cursor-paged; the audit trail also streams as CSV or NDJSON.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::{LauncherCaller, Query, TaskerCaller};
use crate::model::{AuditRecord, Outcome, SessionState};
use crate::service::reporting::{
    ActivityQuery, AgentReport, Bucket, REPORTED_NOTE, Reach, SessionReport, parse_status,
};
use crate::storage::audit::{AuditFilter, cursor_of};
use crate::storage::page::Cursor;
use crate::storage::reporting::{AgentFilter, SessionFilter};
use crate::storage::work_sessions::SessionEvent;
use crate::storage::{self, Db};

/// Rows per page unless `limit` says otherwise, and the most a page holds.
const DEFAULT_LIMIT: u16 = 100;
const MAX_LIMIT: u16 = 500;

/// A page of agents; `next_cursor` is `null` on the last page.
#[derive(Serialize, JsonSchema)]
pub struct AgentsPage {
    agents: Vec<AgentReport>,
    next_cursor: Option<String>,
    /// Sessions are what the agents report.
    note: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub struct SessionsPage {
    sessions: Vec<SessionReport>,
    next_cursor: Option<String>,
    note: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub struct SessionDetail {
    session: SessionReport,
    events: Vec<SessionEvent>,
    note: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub struct AuditPage {
    events: Vec<AuditRecord>,
    next_cursor: Option<String>,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(HttpCode::InvalidQuery, msg)
}

fn limit(l: Option<u16>) -> Result<i64, ApiError> {
    match l.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(i64::from(n)),
        n => Err(invalid(format!("`limit` {n} is out of range 1..={MAX_LIMIT}"))),
    }
}

fn cursor(raw: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    raw.map(|c| {
        Cursor::decode(c).ok_or_else(|| invalid("`cursor` is not valid: pass back a `next_cursor` as received"))
    })
    .transpose()
}

fn time(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(|t| t.naive_utc())
}

/// The per-owner routes report on their owner only: the cross-owner filters are refused.
fn per_owner(reach: Reach, owner: Option<Uuid>, client: Option<Uuid>) -> Result<(), ApiError> {
    if matches!(reach, Reach::Owner(_)) && (owner.is_some() || client.is_some()) {
        return Err(invalid("`owner` and `client` filter the admin reporting only; this route reports on its owner"));
    }
    Ok(())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentsQuery {
    owner: Option<Uuid>,
    client: Option<Uuid>,
    status: Option<String>,
    project: Option<String>,
    cursor: Option<String>,
    limit: Option<u16>,
}

async fn agents(state: &AppState, reach: Reach, q: AgentsQuery) -> Result<HttpResponse, ApiError> {
    per_owner(reach, q.owner, q.client)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(parse_status(s).ok_or_else(|| {
            invalid(format!("`status` `{s}` is not one of: connected, idle, stale, offline, revoked"))
        })?),
    };
    let f = AgentFilter {
        owner: q.owner,
        client: q.client,
        project: q.project.map(|p| p.trim().to_string()).filter(|p| !p.is_empty()),
        status,
        after: cursor(q.cursor.as_deref())?,
        limit: limit(q.limit)?,
    };
    let page = state.services().report_agents(reach, f).await?;
    Ok(HttpResponse::Ok().json(AgentsPage { agents: page.items, next_cursor: page.next_cursor, note: REPORTED_NOTE }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionsQuery {
    owner: Option<Uuid>,
    client: Option<Uuid>,
    agent: Option<Uuid>,
    state: Option<SessionState>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<u16>,
}

async fn sessions(state: &AppState, reach: Reach, q: SessionsQuery) -> Result<HttpResponse, ApiError> {
    per_owner(reach, q.owner, q.client)?;
    let f = SessionFilter {
        owner: q.owner,
        client: q.client,
        agent: q.agent,
        state: q.state,
        since: time(q.since),
        until: time(q.until),
        after: cursor(q.cursor.as_deref())?,
        limit: limit(q.limit)?,
    };
    let page = state.services().report_sessions(reach, f).await?;
    Ok(HttpResponse::Ok().json(SessionsPage {
        sessions: page.items,
        next_cursor: page.next_cursor,
        note: REPORTED_NOTE,
    }))
}

async fn session(state: &AppState, reach: Reach, id: Uuid) -> Result<HttpResponse, ApiError> {
    let (session, events) = state.services().report_session(reach, id).await?;
    Ok(HttpResponse::Ok().json(SessionDetail { session, events, note: REPORTED_NOTE }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityParams {
    bucket: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    agent: Option<Uuid>,
    owner: Option<Uuid>,
    client: Option<Uuid>,
    project: Option<String>,
}

async fn activity(state: &AppState, reach: Reach, q: ActivityParams) -> Result<HttpResponse, ApiError> {
    per_owner(reach, q.owner, q.client)?;
    let bucket = match q.bucket.as_deref() {
        None | Some("hour") => Bucket::Hour,
        Some("day") => Bucket::Day,
        Some(b) => return Err(invalid(format!("`bucket` `{b}` is not `hour` or `day`"))),
    };
    if let (Some(s), Some(u)) = (q.since, q.until)
        && s >= u
    {
        return Err(invalid("`since` must be before `until`"));
    }
    let max = match bucket {
        Bucket::Hour => chrono::Duration::days(31),
        Bucket::Day => chrono::Duration::days(731),
    };
    if let (Some(s), Some(u)) = (q.since, q.until)
        && u - s > max
    {
        return Err(invalid(format!(
            "the range is too long for `{}` buckets (at most {} days)",
            match bucket {
                Bucket::Hour => "hour",
                Bucket::Day => "day",
            },
            max.num_days()
        )));
    }
    let query = ActivityQuery {
        bucket,
        since: time(q.since),
        until: time(q.until),
        agent: q.agent,
        owner: q.owner,
        client: q.client,
        project: q.project.map(|p| p.trim().to_string()).filter(|p| !p.is_empty()),
    };
    Ok(HttpResponse::Ok().json(state.services().report_activity(reach, query).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    owner: Option<Uuid>,
    client: Option<Uuid>,
    agent: Option<Uuid>,
    /// Accepted under its former name on the owner's audit route.
    agent_id: Option<Uuid>,
    project: Option<String>,
    tool: Option<String>,
    outcome: Option<Outcome>,
    error_code: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<u16>,
}

impl AuditQuery {
    fn filter(self, reach: Reach) -> Result<AuditFilter, ApiError> {
        per_owner(reach, self.owner, self.client)?;
        if self.agent.is_some() && self.agent_id.is_some() {
            return Err(invalid("give `agent` or `agent_id`, not both"));
        }
        let text = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(AuditFilter {
            owner_user_id: self.owner,
            agent_id: self.agent.or(self.agent_id),
            request_id: None,
            client_id: self.client,
            project: text(self.project).map(|p| p.to_ascii_uppercase()),
            action: text(self.tool),
            outcome: self.outcome,
            error_code: text(self.error_code),
            since: time(self.since),
            until: time(self.until),
            after: cursor(self.cursor.as_deref())?,
            limit: limit(self.limit)?,
        })
    }
}

/// An export format the caller asked for with `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Export {
    Csv,
    Ndjson,
}

fn export_asked(req: &HttpRequest) -> Option<Export> {
    let accept = req.headers().get(header::ACCEPT)?.to_str().ok()?.to_ascii_lowercase();
    if accept.contains("text/csv") {
        Some(Export::Csv)
    } else if accept.contains("application/x-ndjson") {
        Some(Export::Ndjson)
    } else {
        None
    }
}

async fn audit(req: &HttpRequest, state: &AppState, reach: Reach, q: AuditQuery) -> Result<HttpResponse, ApiError> {
    let mut f = q.filter(reach)?;
    let Some(format) = export_asked(req) else {
        let page = state.services().report_audit(reach, f).await?;
        return Ok(HttpResponse::Ok().json(AuditPage { events: page.items, next_cursor: page.next_cursor }));
    };
    state.services().check_audit_export(reach, &f).await?;
    f.owner_user_id = match reach {
        Reach::All => f.owner_user_id,
        Reach::Owner(o) => Some(o),
    };
    let content_type = match format {
        Export::Csv => "text/csv; charset=utf-8",
        Export::Ndjson => "application/x-ndjson",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"audit.{}\"",
                match format {
                    Export::Csv => "csv",
                    Export::Ndjson => "ndjson",
                }
            ),
        ))
        .streaming(export_stream(state.db.clone(), f, format)))
}

/// Rows read per query while exporting: memory stays bounded whatever the selection.
const EXPORT_PAGE: i64 = 1000;

const CSV_COLUMNS: &str = "id,occurred_at,request_id,actor,owner_user_id,agent_id,token_id,action,project_ref,card_ref,idempotency_key,outcome,error_code,duration_ms,gateway_request_id\n";

/// The whole selection, page by page.
pub(crate) fn export_stream(
    db: Db,
    mut f: AuditFilter,
    format: Export,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    f.limit = EXPORT_PAGE;
    let header = (format == Export::Csv).then(|| Bytes::from_static(CSV_COLUMNS.as_bytes()));
    let pages = stream::unfold(Some(f), move |next| {
        let db = db.clone();
        async move {
            let f = next?;
            let page_filter = f.clone();
            match db.run(move |c| storage::audit::list(c, &page_filter)).await {
                Ok(rows) => {
                    let more = rows.len() as i64 == EXPORT_PAGE;
                    let next = more.then(|| AuditFilter { after: rows.last().map(cursor_of), ..f });
                    let mut out = String::new();
                    for r in &rows {
                        match format {
                            Export::Csv => out.push_str(&csv_line(r)),
                            Export::Ndjson => {
                                out.push_str(&serde_json::to_string(r).unwrap_or_default());
                                out.push('\n');
                            }
                        }
                    }
                    Some((Ok(Bytes::from(out)), next))
                }
                Err(e) => {
                    // The status is already sent: end the body early, say why in the log.
                    tracing::error!(error = %e, "audit export stopped");
                    Some((Err(actix_web::error::ErrorServiceUnavailable("export interrupted")), None))
                }
            }
        }
    });
    futures_util::StreamExt::chain(stream::iter(header.map(Ok)), pages)
}

/// One CSV field: quoted when it holds a separator, a quote or a line break; a value
/// a spreadsheet would read as a formula gets a leading `'`.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

fn csv_line(r: &AuditRecord) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(csv_field).unwrap_or_default();
    let id = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        r.id,
        r.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        csv_field(&r.request_id),
        r.actor,
        id(r.owner_user_id),
        id(r.agent_id),
        id(r.token_id),
        csv_field(&r.action),
        opt(&r.project_ref),
        opt(&r.card_ref),
        opt(&r.idempotency_key),
        r.outcome,
        opt(&r.error_code),
        r.duration_ms,
        opt(&r.gateway_request_id)
    )
}

// ---------------------------------------------------------------- admin (all owners)

pub async fn admin_agents(
    _: LauncherCaller,
    state: web::Data<AppState>,
    Query(q): Query<AgentsQuery>,
) -> Result<HttpResponse, ApiError> {
    agents(&state, Reach::All, q).await
}

pub async fn admin_sessions(
    _: LauncherCaller,
    state: web::Data<AppState>,
    Query(q): Query<SessionsQuery>,
) -> Result<HttpResponse, ApiError> {
    sessions(&state, Reach::All, q).await
}

pub async fn admin_session(
    _: LauncherCaller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    session(&state, Reach::All, id.into_inner()).await
}

pub async fn admin_activity(
    _: LauncherCaller,
    state: web::Data<AppState>,
    Query(q): Query<ActivityParams>,
) -> Result<HttpResponse, ApiError> {
    activity(&state, Reach::All, q).await
}

pub async fn admin_audit(
    req: HttpRequest,
    _: LauncherCaller,
    state: web::Data<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    audit(&req, &state, Reach::All, q).await
}

// ---------------------------------------------------------------- one owner

pub async fn owner_agents(
    _: TaskerCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Query(q): Query<AgentsQuery>,
) -> Result<HttpResponse, ApiError> {
    agents(&state, Reach::Owner(owner.into_inner()), q).await
}

pub async fn owner_sessions(
    _: TaskerCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Query(q): Query<SessionsQuery>,
) -> Result<HttpResponse, ApiError> {
    sessions(&state, Reach::Owner(owner.into_inner()), q).await
}

pub async fn owner_session(
    _: TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, id) = path.into_inner();
    session(&state, Reach::Owner(owner), id).await
}

pub async fn owner_activity(
    _: TaskerCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Query(q): Query<ActivityParams>,
) -> Result<HttpResponse, ApiError> {
    activity(&state, Reach::Owner(owner.into_inner()), q).await
}

/// `…/reporting/audit`, and the owner's audit route `…/audit` (the same paging).
pub async fn owner_audit(
    req: HttpRequest,
    _: TaskerCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
    Query(q): Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    audit(&req, &state, Reach::Owner(owner.into_inner()), q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }
}
