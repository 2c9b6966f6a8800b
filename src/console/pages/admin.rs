//! The admin view, read only: the fleet (counts, every owner's agents, calls per hour
//! by outcome), the audit trail searched and exported (CSV or NDJSON, the reporting
//! API's stream), and the owners with their entitlement, status, mode and change
//! history. Admins change nothing here: entitlements are Launcher's to project.

use std::collections::HashMap;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::{self, get, resource};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, Utc};
use maud::{Markup, html};
use uuid::Uuid;

use super::{audit_table, filled, path_id, short};
use crate::console::chart;
use crate::console::error::PageError;
use crate::console::layout::{self, chip, status_chips, when, when_opt};
use crate::console::respond;
use crate::console::session::{Console, Fields};
use crate::http::AppState;
use crate::http::routes::reporting::{Export, export_stream};
use crate::model::{Outcome, Owner, OwnerStatus, SessionState};
use crate::service::Entity;
use crate::service::reporting::{ActivityQuery, AgentReport, AgentStatus, Bucket, Reach};
use crate::storage::audit::AuditFilter;
use crate::storage::page::Cursor;
use crate::storage::reporting::AgentFilter;
use crate::storage::{self};

const HOME: &str = "/console/admin";
const AUDIT: &str = "/console/admin/audit";
const OWNERS: &str = "/console/admin/owners";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/admin").route(get().to(fleet)))
        .service(resource("/admin/audit").route(get().to(audit)))
        .service(resource("/admin/audit/export").route(get().to(export)))
        .service(resource("/admin/owners").route(get().to(owners)))
        .service(resource("/admin/owners/{owner}").route(get().to(owner_page)))
        .service(resource("/admin/sessions/{session}").route(get().to(session_page)));
}

fn page(title: &str, console: &Console, tab: &str, body: Markup) -> Result<HttpResponse, PageError> {
    let who = console.admin()?;
    Ok(respond(layout::page(title, console, who, tab, body)))
}

/// Every agent across owners, page by page (a console's fleet fits in memory).
async fn all_agents(state: &AppState, reach: Reach) -> Result<Vec<AgentReport>, PageError> {
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..40 {
        let f = AgentFilter { limit: 500, after, ..AgentFilter::default() };
        let page = state.services().report_agents(reach, f).await?;
        out.extend(page.items);
        match page.next_cursor.and_then(|c| Cursor::decode(&c)) {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    Ok(out)
}

fn rank(s: AgentStatus) -> u8 {
    match s {
        AgentStatus::Stale => 0,
        AgentStatus::Connected => 1,
        AgentStatus::Idle => 2,
        AgentStatus::Offline => 3,
        AgentStatus::Revoked => 4,
    }
}

// ------------------------------------------------------------------ fleet

async fn fleet(state: web::Data<AppState>, console: Console) -> Result<HttpResponse, PageError> {
    console.admin()?;
    let mut agents = all_agents(&state, Reach::All).await?;
    agents.sort_by_key(|a| rank(a.status));
    let activity = state
        .services()
        .report_activity(
            Reach::All,
            ActivityQuery {
                bucket: Bucket::Hour,
                since: None,
                until: None,
                agent: None,
                owner: None,
                client: None,
                project: None,
            },
        )
        .await?;
    let count = |s: AgentStatus| agents.iter().filter(|a| a.status == s).count();
    let live = agents.iter().filter(|a| a.status != AgentStatus::Revoked).count();
    // A revoked agent's session stays open until its timers end it: not work going on.
    let working = agents
        .iter()
        .filter(|a| a.status != AgentStatus::Revoked)
        .flat_map(|a| &a.work_sessions)
        .filter(|s| s.state == SessionState::Active)
        .count();
    let body = html! {
        div.page-head { div { h1 { "Fleet" } p.muted { "Every owner's agents, as the gateway sees them." } } }
        div #fleet-counts data-refresh {
            div.stats {
                div.stat { span.n { (live) } span.l { (plural(live, "agent", "agents")) " (not revoked)" } }
                div.stat { span.n { (count(AgentStatus::Connected)) } span.l { "connected (a call in 5 min)" } }
                div.stat { span.n { (count(AgentStatus::Stale)) } span.l { "stale (a silent work session)" } }
                div.stat { span.n { (working) } span.l { "active " (plural(working, "work session", "work sessions")) } }
            }
        }
        section.card aria-labelledby="chart-h" {
            h2 #chart-h { "Calls per hour" }
            div #fleet-chart data-refresh { (chart::calls_per_hour(&activity)) }
        }
        section.card aria-labelledby="agents-h" {
            h2 #agents-h { "Agents" }
            div #fleet-agents data-refresh { (fleet_table(&agents)) }
        }
    };
    page("Fleet", &console, HOME, body)
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

fn fleet_table(agents: &[AgentReport]) -> Markup {
    html! {
        @if agents.is_empty() { p.empty { "No agents yet. Owners create them from their console once Launcher gives them codex_agents." } } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Owner" } th scope="col" { "Agent" } th scope="col" { "Status" }
                    th scope="col" { "Active card" } th scope="col" { "Last activity" } th scope="col" { "Stale since" }
                } }
                tbody { @for a in agents { tr {
                    td { a href=(format!("{OWNERS}/{}", a.owner_user_id)) { (a.owner_name) } }
                    td { (a.name) br; a.meta href=(format!("{AUDIT}?agent={}", a.id)) title=(format!("Audit of agent {}", a.id)) { "audit" } }
                    td { (status_chips(a.status)) }
                    td { @match a.work_sessions.iter().find(|s| s.card.is_some()).filter(|_| a.status != AgentStatus::Revoked) {
                        Some(s) => { a href=(format!("{HOME}/sessions/{}", s.id)) { code { (s.card.as_deref().unwrap_or_default()) } } },
                        None => span.muted { "–" },
                    } }
                    td { @match &a.last_activity {
                        Some(l) => { code { (l.tool) } " " (when(l.at)) },
                        None => span.muted { "none" },
                    } }
                    td { (when_opt(a.stale_since, "–")) }
                } } }
            } }
        }
    }
}

async fn session_page(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    console.admin()?;
    let id = path_id(&path, Entity::WorkSession)?;
    let (s, events) = state.services().report_session(Reach::All, id).await?;
    let agent = state.services().agent(crate::service::Within::AnyOwner, s.session.agent_id).await?;
    let back = format!("{OWNERS}/{}", agent.agent.owner_user_id);
    let body = super::owner::session_body(&s, &events, &back, &agent.agent.name);
    page("Work session", &console, HOME, body)
}

// ------------------------------------------------------------------ audit

/// The audit search, from the query string (blank fields are no filter); `problems`
/// lists what could not be read, shown above the results.
fn audit_filter(q: &Fields, problems: &mut Vec<String>) -> AuditFilter {
    let mut uuid = |name: &str| {
        filled(q.get(name)).and_then(|v| match Uuid::parse_str(&v) {
            Ok(id) => Some(id),
            Err(_) => {
                problems.push(format!("`{name}` is not an id: ignored"));
                None
            }
        })
    };
    let (owner, agent) = (uuid("owner"), uuid("agent"));
    let time = |name: &str, problems: &mut Vec<String>| {
        filled(q.get(name)).and_then(|v| match NaiveDateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M") {
            Ok(t) => Some(t),
            Err(_) => {
                problems.push(format!("`{name}` is not a time: ignored"));
                None
            }
        })
    };
    let since = time("since", problems);
    let until = time("until", problems);
    AuditFilter {
        owner_user_id: owner,
        agent_id: agent,
        project: filled(q.get("project")).map(|p| p.to_ascii_uppercase()),
        action: filled(q.get("tool")),
        outcome: filled(q.get("outcome")).and_then(|o| o.parse::<Outcome>().ok()),
        error_code: filled(q.get("error_code")),
        since,
        until,
        after: filled(q.get("cursor")).and_then(|c| Cursor::decode(&c)),
        limit: 50,
        ..AuditFilter::default()
    }
}

/// The query string of the current filters, without the cursor.
fn filters_query(q: &Fields) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for name in ["owner", "agent", "project", "tool", "outcome", "error_code", "since", "until"] {
        if let Some(v) = filled(q.get(name)) {
            s.append_pair(name, &v);
        }
    }
    s.finish()
}

async fn owner_names(state: &AppState) -> Result<HashMap<Uuid, String>, PageError> {
    let owners = state.db.run(|c| storage::owners::list(c, None)).await.map_err(PageError::storage)?;
    Ok(owners.into_iter().map(|o| (o.user_id, o.display_name)).collect())
}

async fn audit(req: HttpRequest, state: web::Data<AppState>, console: Console) -> Result<HttpResponse, PageError> {
    console.admin()?;
    let q = Fields::parse(req.query_string().as_bytes());
    let mut problems = Vec::new();
    let f = audit_filter(&q, &mut problems);
    let rows = state.services().report_audit(Reach::All, f).await?;
    let names = owner_names(&state).await?;
    let filters = filters_query(&q);
    let v = |name: &str| q.get(name).unwrap_or_default().to_string();
    let sep = if filters.is_empty() { "" } else { "&" };
    let body = html! {
        div.page-head {
            div { h1 { "Audit" } p.muted { "Every tool call and every change, newest first. Times are UTC." } }
            div.actions {
                a.button.secondary href=(format!("{AUDIT}/export?format=csv{sep}{filters}")) { "Export CSV" }
                a.button.secondary href=(format!("{AUDIT}/export?format=ndjson{sep}{filters}")) { "Export NDJSON" }
            }
        }
        form.card.filters method="get" action=(AUDIT) aria-label="Audit filters" {
            div.field { label for="a-owner" { "Owner id" } input #a-owner type="text" name="owner" value=(v("owner")); }
            div.field { label for="a-agent" { "Agent id" } input #a-agent type="text" name="agent" value=(v("agent")); }
            div.field { label for="a-project" { "Project" } input #a-project type="text" name="project" value=(v("project")) placeholder="WEB"; }
            div.field { label for="a-tool" { "Tool or action" } input #a-tool type="text" name="tool" value=(v("tool")) placeholder="create_issue"; }
            div.field {
                label for="a-outcome" { "Outcome" }
                select #a-outcome name="outcome" {
                    option value="" { "Any" }
                    @for o in Outcome::ALL { option value=(o.as_str()) selected[q.get("outcome") == Some(o.as_str())] { (o.as_str()) } }
                }
            }
            div.field { label for="a-error" { "Error code" } input #a-error type="text" name="error_code" value=(v("error_code")); }
            div.field { label for="a-since" { "Since (UTC)" } input #a-since type="datetime-local" name="since" value=(v("since")); }
            div.field { label for="a-until" { "Until (UTC)" } input #a-until type="datetime-local" name="until" value=(v("until")); }
            button type="submit" { "Search" }
            a.button.secondary href=(AUDIT) { "Clear" }
        }
        @for p in &problems { p.chip.chip-warn role="status" { (p) } }
        section.card aria-label="Audit events" {
            (audit_table(&rows.items, |o| o.and_then(|o| names.get(&o).cloned())))
            @if let Some(c) = &rows.next_cursor {
                p.pager { a href=(format!("{AUDIT}?{filters}{sep}cursor={c}")) { "Older events →" } }
            }
        }
    };
    page("Audit", &console, AUDIT, body)
}

/// The search's whole selection as a file, streamed by the reporting API's exporter.
async fn export(req: HttpRequest, state: web::Data<AppState>, console: Console) -> Result<HttpResponse, PageError> {
    console.admin()?;
    let q = Fields::parse(req.query_string().as_bytes());
    let mut problems = Vec::new();
    let mut f = audit_filter(&q, &mut problems);
    f.after = None;
    let (format, content_type, ext) = match q.get("format") {
        Some("ndjson") => (Export::Ndjson, "application/x-ndjson", "ndjson"),
        _ => (Export::Csv, "text/csv; charset=utf-8", "csv"),
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((CONTENT_DISPOSITION, format!("attachment; filename=\"audit.{ext}\"")))
        .streaming(export_stream(state.db.clone(), f, format)))
}

// ------------------------------------------------------------------ owners

async fn owners(state: web::Data<AppState>, console: Console) -> Result<HttpResponse, PageError> {
    console.admin()?;
    let owners = state.db.run(|c| storage::owners::list(c, None)).await.map_err(PageError::storage)?;
    let mut rows = Vec::with_capacity(owners.len());
    for o in owners {
        let access = state.services().owner_access(o.user_id).await?;
        rows.push((o, access.reason));
    }
    let body = html! {
        div.page-head { div { h1 { "Owners" } p.muted { "As Launcher projects them: status, the codex_agents entitlement, reporting mode." } } }
        section.card aria-label="Owners" {
            @if rows.is_empty() { p.empty { "No owner has been projected from Launcher yet." } } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { "Owner" } th scope="col" { "Status" } th scope="col" { "codex_agents" }
                        th scope="col" { "Mode" } th scope="col" { "Access" } th scope="col" { "Updated" }
                    } }
                    tbody { @for (o, denial) in &rows { tr {
                        td { a href=(format!("{OWNERS}/{}", o.user_id)) { (o.display_name) } br; code.meta title=(o.user_id) { (short(o.user_id)) } }
                        td { (owner_status(o.status)) }
                        td { @if o.codex_agents { (chip("active", "on")) } @else { (chip("neutral", "off")) } }
                        td { (o.reporting_mode.as_str()) }
                        td { @match denial { None => (chip("active", "allowed")), Some(d) => (chip("denied", d.as_str())) } }
                        td { (when(o.updated_at)) }
                    } } }
                } }
            }
        }
    };
    page("Owners", &console, OWNERS, body)
}

fn owner_status(s: OwnerStatus) -> Markup {
    let kind = match s {
        OwnerStatus::Active => "active",
        OwnerStatus::Blocked => "warn",
        OwnerStatus::Annulled => "revoked",
    };
    chip(kind, s.as_str())
}

async fn owner_page(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    console.admin()?;
    let id = path_id(&path, Entity::Owner)?;
    let s = state.services();
    let owner: Owner = s.owner(id).await?;
    let access = s.owner_access(id).await?;
    let changes = s.owner_changes(id, 200).await?;
    let agents = all_agents(&state, Reach::Owner(id)).await?;
    let body = html! {
        p { a href=(OWNERS) { "← Owners" } }
        div.page-head { div {
            h1 { (owner.display_name) }
            p { code { (owner.user_id) } }
        } }
        section.card aria-labelledby="standing-h" {
            h2 #standing-h { "Standing" }
            dl.grid {
                div { dt.meta { "Status" } dd { (owner_status(owner.status)) } }
                div { dt.meta { "codex_agents" } dd { @if owner.codex_agents { (chip("active", "on")) } @else { (chip("neutral", "off")) } } }
                div { dt.meta { "Reporting mode" } dd { (owner.reporting_mode.as_str()) } }
                div { dt.meta { "Access" } dd { @match access.reason { None => (chip("active", "allowed")), Some(d) => { (chip("denied", d.as_str())) " " span.meta { (d.message()) } } } } }
                div { dt.meta { "Client" } dd { @match owner.client_id { Some(c) => code { (c) }, None => span.muted { "none" } } } }
            }
        }
        section.card aria-labelledby="agents-h" {
            h2 #agents-h { "Agents" }
            (fleet_table(&agents))
        }
        section.card aria-labelledby="history-h" {
            h2 #history-h { "Change history" }
            @if changes.is_empty() { p.empty { "No change recorded." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Field" } th scope="col" { "Change" } th scope="col" { "By" } th scope="col" { "Request" } } }
                    tbody { @for c in &changes { tr {
                        td { (when(c.changed_at)) }
                        td { code { (c.field) } }
                        td { (c.old_value.as_deref().unwrap_or("(new)")) " → " strong { (c.new_value) } }
                        td { (c.source) @if let Some(by) = &c.changed_by { " · " (by) } }
                        td { code.meta title=(c.request_id) { (c.request_id.chars().take(8).collect::<String>()) } }
                    } } }
                } }
            }
        }
        p.meta { "Shown " (when(Utc::now())) }
    };
    page(&owner.display_name, &console, OWNERS, body)
}
