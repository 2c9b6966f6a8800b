//! The owner view: one owner's agents (status, active card, last activity), creating
//! one with grants chosen from the projects Tasker lists for the owner, editing
//! grants, revoking (after a confirmation page), tokens (a new secret shown once),
//! the pairing flow, work sessions and the audit timeline.
//!
//! Every route resolves what it touches through `Within::Owner` / `Reach::Owner` of
//! the session's owner, so another owner's agent, token or session is a 404 however
//! the URL or the form was edited; project ids in forms are accepted only when Tasker
//! lists them for this owner (or they are already granted).

use actix_web::http::header::{CONTENT_DISPOSITION, LOCATION};
use actix_web::web::{self, get, post, resource};
use actix_web::{HttpRequest, HttpResponse};
use maud::{Markup, html};
use serde_json::json;
use uuid::Uuid;

use super::{audit_table, filled, path_id, short};
use crate::actors::rate_buckets::CallKind;
use crate::actors::shown_once::{Hold, Take};
use crate::calls::ToolError;
use crate::console::error::PageError;
use crate::console::layout::{self, chip, csrf_field, status_chips, when, when_opt};
use crate::console::respond;
use crate::console::session::{Console, Fields, Post};
use crate::http::AppState;
use crate::model::{AgentStatus as Lifecycle, Grant, Outcome, Owner, ProjectIdentifier, Scope, ScopeSet};
use crate::service::agents::{AgentView, GrantRequest, NewAgent};
use crate::service::reporting::{AgentReport, Reach};
use crate::service::{Entity, Refusal, ServiceError, Within};
use crate::setup;
use crate::storage::audit::AuditFilter;
use crate::storage::page::Cursor;
use crate::storage::reporting::{AgentFilter, SessionFilter};
use crate::tasker::client::{CallContext, TaskerClient};

const HOME: &str = "/console/owner";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/owner").route(get().to(dashboard)))
        .service(resource("/owner/agents").route(post().to(create)))
        .service(resource("/owner/agents/new").route(get().to(new_agent)))
        .service(resource("/owner/agents/{agent}").route(get().to(agent_page)))
        .service(resource("/owner/agents/{agent}/grants").route(get().to(grants_page)).route(post().to(save_grants)))
        .service(resource("/owner/agents/{agent}/revoke").route(get().to(revoke_page)).route(post().to(revoke)))
        .service(resource("/owner/agents/{agent}/tokens").route(post().to(issue_token)))
        .service(resource("/owner/agents/{agent}/tokens/{token}").route(get().to(issued_token)))
        .service(resource("/owner/agents/{agent}/tokens/{token}/revoke").route(post().to(revoke_token)))
        .service(resource("/owner/agents/{agent}/agents.md").route(get().to(agents_md)))
        .service(resource("/owner/sessions/{session}").route(get().to(session_page)));
}

// ------------------------------------------------------------------ access

/// The signed-in owner, who must be allowed to use agents: otherwise the page is the
/// explanation and nothing else (the feature card's rule).
async fn gate(state: &AppState, console: &Console) -> Result<Owner, PageError> {
    let id = console.owner()?;
    let s = state.services();
    let owner = match s.owner(id).await {
        Ok(o) => o,
        Err(ServiceError::NotFound(_)) => {
            let d = crate::model::AccessDenial::OwnerUnknown;
            return Err(PageError::denied("Unknown owner".into(), d, &console.csrf));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(d) = s.owner_access(id).await?.reason {
        return Err(PageError::denied(owner.display_name, d, &console.csrf));
    }
    Ok(owner)
}

fn page(title: &str, console: &Console, owner: &Owner, body: Markup) -> HttpResponse {
    respond(layout::page(title, console, &owner.display_name, HOME, body))
}

fn see_other(to: String) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, to)).finish()
}

fn agent_url(id: Uuid) -> String {
    format!("{HOME}/agents/{id}")
}

/// The owner's agents with their reporting status (an owner has few).
async fn reports(state: &AppState, owner: Uuid) -> Result<Vec<AgentReport>, PageError> {
    let f = AgentFilter { limit: 500, ..AgentFilter::default() };
    Ok(state.services().report_agents(Reach::Owner(owner), f).await?.items)
}

// ------------------------------------------------------------------ dashboard

async fn dashboard(state: web::Data<AppState>, console: Console) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &console).await?;
    let agents = reports(&state, owner.user_id).await?;
    let body = html! {
        div.page-head {
            div { h1 { "Your agents" } p.muted { "Codex agents that work on your Tasker cards through the gateway." } }
            div.actions { a.button href=(format!("{HOME}/agents/new")) { "New agent" } }
        }
        section.card aria-labelledby="agents-title" {
            h2 #agents-title.visually-hidden { "Agents" }
            div #agents-live data-refresh { (agents_table(&agents)) }
        }
    };
    Ok(page("Your agents", &console, &owner, body))
}

/// The card of its open work session (none for a revoked agent: its session only waits
/// for the timers to end it).
fn active_card(a: &AgentReport) -> Markup {
    let live = a.status != crate::service::reporting::AgentStatus::Revoked;
    match a.work_sessions.iter().find_map(|s| s.card.as_deref()).filter(|_| live) {
        Some(card) => html! { code { (card) } },
        None => html! { span.muted { "–" } },
    }
}

fn last_activity(a: &AgentReport) -> Markup {
    match &a.last_activity {
        Some(l) => html! {
            code { (l.tool) } @if let Some(c) = &l.card { " on " (c) } br; span.meta { (when(l.at)) }
        },
        None => html! { span.muted { "No tool call yet" } },
    }
}

fn agents_table(agents: &[AgentReport]) -> Markup {
    html! {
        @if agents.is_empty() {
            p.empty { "No agents yet. Create one, then follow its setup steps to connect Codex." }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Agent" } th scope="col" { "Status" } th scope="col" { "Active card" }
                    th scope="col" { "Last activity" } th scope="col" { "Last call" }
                } }
                tbody { @for a in agents { tr {
                    td { a href=(agent_url(a.id)) { (a.name) } }
                    td { (status_chips(a.status)) }
                    td { (active_card(a)) }
                    td { (last_activity(a)) }
                    td { (when_opt(a.last_call_at, "never")) }
                } } }
            } }
        }
    }
}

// ------------------------------------------------------------------ projects and scopes

const READ_ONLY: &[Scope] = &[Scope::ProjectRead, Scope::IssueRead];
const CONTRIBUTOR: &[Scope] = &[
    Scope::ProjectRead,
    Scope::IssueRead,
    Scope::IssueCreate,
    Scope::IssueUpdate,
    Scope::IssueMove,
    Scope::IssueComment,
    Scope::IssueLabel,
    Scope::IssueAssign,
    Scope::IssueBlocks,
    Scope::SessionReport,
];

/// The presets: (form value, label, scopes). `custom` takes the ticked boxes.
fn presets() -> [(&'static str, &'static str, &'static [Scope]); 3] {
    [("read", "Read only", READ_ONLY), ("contributor", "Contributor", CONTRIBUTOR), ("full", "Full", Scope::ALL)]
}

fn preset_of(scopes: &ScopeSet) -> &'static str {
    presets()
        .into_iter()
        .find(|(_, _, s)| s.iter().copied().collect::<ScopeSet>() == *scopes)
        .map_or("custom", |(v, _, _)| v)
}

/// A project the owner may grant: listed by Tasker, or already granted.
struct Choice {
    id: Uuid,
    identifier: String,
    name: String,
    granted: Option<ScopeSet>,
}

/// The projects Tasker lists for the owner, plus those already granted; `None` when
/// Tasker did not answer.
async fn choices(
    tasker: &TaskerClient,
    console: &Console,
    owner: Uuid,
    granted: &[Grant],
) -> (Vec<Choice>, Option<ToolError>) {
    let cx = CallContext {
        granted: vec![],
        request_id: console.ctx().request_id,
        trace: crate::telemetry::trace::current(),
    };
    let (listed, problem) = match tasker.user_projects(&cx, owner).await {
        Ok(list) => (list.projects, None),
        Err(e) => (vec![], Some(ToolError::tasker(e, CallKind::Read))),
    };
    let mut out: Vec<Choice> = listed
        .into_iter()
        .map(|p| Choice {
            granted: granted.iter().find(|g| g.project_id == p.id).map(|g| g.scopes.clone()),
            id: p.id,
            identifier: p.identifier,
            name: p.name,
        })
        .collect();
    for g in granted {
        if !out.iter().any(|c| c.id == g.project_id) {
            out.push(Choice {
                id: g.project_id,
                identifier: g.project_identifier.to_string(),
                name: "(not listed by Tasker for you now)".into(),
                granted: Some(g.scopes.clone()),
            });
        }
    }
    (out, problem)
}

fn projects_fieldset(choices: &[Choice], problem: Option<&ToolError>) -> Markup {
    let preset_json = json!(
        presets()
            .iter()
            .map(|(v, _, s)| (v.to_string(), json!(s.iter().map(|s| s.as_str()).collect::<Vec<_>>())))
            .collect::<serde_json::Map<_, _>>()
    )
    .to_string();
    html! {
        fieldset {
            legend { "Projects" }
            p.hint { "Tick the projects this agent may work in. Each starts read only: choose a preset or exact scopes." }
            @if let Some(p) = problem {
                p.chip.chip-warn role="status" { "Tasker did not answer, so your projects cannot be listed right now (" (p.code.as_str()) "). Reload to try again." }
            }
            @if choices.is_empty() && problem.is_none() {
                p.empty { "Tasker lists no project you are a member of." }
            }
            @for c in choices {
                @let id = c.id.to_string();
                @let scopes = c.granted.clone().unwrap_or_else(|| READ_ONLY.iter().copied().collect());
                @let preset = preset_of(&scopes);
                div.project data-presets=(preset_json) {
                    label.check {
                        input type="checkbox" name="project" value=(id) checked[c.granted.is_some()];
                        span { strong { (c.identifier) } " " (c.name) }
                    }
                    fieldset.presets {
                        legend { "Access in " (c.identifier) }
                        @for (value, label, _) in presets() {
                            label.check { input type="radio" name=(format!("preset:{id}")) value=(value) data-preset=(value) checked[preset == value]; (label) }
                        }
                        label.check { input type="radio" name=(format!("preset:{id}")) value="custom" data-preset="custom" checked[preset == "custom"]; "Custom" }
                    }
                    details {
                        summary { "Exact scopes in " (c.identifier) " (used with Custom)" }
                        div.scopes {
                            @for s in Scope::ALL {
                                label.check {
                                    input type="checkbox" name=(format!("scope:{id}")) value=(s.as_str()) data-scope=(s.as_str()) checked[scopes.contains(s)];
                                    span { code { (s.as_str()) } br; span.hint { (s.description()) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn refused(code: Refusal, msg: impl Into<String>) -> PageError {
    ServiceError::refused(code, msg).into()
}

/// The grants a form asks for, each project checked against the choices (never the
/// form's word for it), each preset turned into scopes here.
fn chosen_grants(form: &Fields, choices: &[Choice]) -> Result<Vec<GrantRequest>, PageError> {
    let mut grants = Vec::new();
    for raw in form.all("project") {
        let Some(choice) = Uuid::parse_str(raw).ok().and_then(|id| choices.iter().find(|c| c.id == id)) else {
            return Err(refused(
                Refusal::InvalidField,
                format!("project `{raw}` is not one of your projects in Tasker"),
            ));
        };
        let id = choice.id.to_string();
        let preset = form.get(&format!("preset:{id}")).unwrap_or("read");
        let scopes: Vec<Scope> = match presets().into_iter().find(|(v, _, _)| *v == preset) {
            Some((_, _, s)) => s.to_vec(),
            None if preset == "custom" => form
                .all(&format!("scope:{id}"))
                .map(|s| s.parse::<Scope>().map_err(|e| refused(Refusal::InvalidScopes, e)))
                .collect::<Result<_, _>>()?,
            None => return Err(refused(Refusal::InvalidField, format!("`{preset}` is not a preset"))),
        };
        if scopes.is_empty() {
            return Err(refused(
                Refusal::InvalidScopes,
                format!("choose at least one scope in {}, or leave the project unticked", choice.identifier),
            ));
        }
        let identifier = ProjectIdentifier::parse(&choice.identifier).map_err(|e| refused(Refusal::InvalidField, e))?;
        grants.push(GrantRequest { project_id: choice.id, project_identifier: identifier, scopes: Some(scopes) });
    }
    Ok(grants)
}

// ------------------------------------------------------------------ create

async fn new_agent(
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    console: Console,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &console).await?;
    let (choices, problem) = choices(&tasker, &console, owner.user_id, &[]).await;
    let body = html! {
        p { a href=(HOME) { "← Your agents" } }
        h1 { "New agent" }
        form.card method="post" action=(format!("{HOME}/agents")) {
            (csrf_field(&console.csrf))
            div.field {
                label for="name" { "Name " span.hint { "(becomes the Codex server name, e.g. “Web bot” → nodedc_web_bot)" } }
                input #name type="text" name="name" required maxlength="80" autocomplete="off";
            }
            div.field {
                label for="description" { "Description " span.hint { "(optional)" } }
                textarea #description name="description" maxlength="2000" {}
            }
            (projects_fieldset(&choices, problem.as_ref()))
            button type="submit" { "Create agent" }
        }
    };
    Ok(page("New agent", &console, &owner, body))
}

async fn create(
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    post: Post,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &post.console).await?;
    let (choices, problem) = choices(&tasker, &post.console, owner.user_id, &[]).await;
    if let (Some(p), true) = (problem, post.form.all("project").next().is_some()) {
        return Err(p.into());
    }
    let grants = chosen_grants(&post.form, &choices)?;
    let new = NewAgent {
        name: post.form.get("name").unwrap_or_default().to_string(),
        description: post.form.get("description").unwrap_or_default().to_string(),
        grants,
    };
    let view = state.services().create_agent(&post.console.ctx(), owner.user_id, new).await?;
    Ok(see_other(agent_url(view.agent.id)))
}

// ------------------------------------------------------------------ one agent

async fn agent_view(state: &AppState, owner: Uuid, raw: &str) -> Result<AgentView, PageError> {
    let id = path_id(raw, Entity::Agent)?;
    Ok(state.services().agent(Within::Owner(owner), id).await?)
}

async fn agent_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &console).await?;
    let view = agent_view(&state, owner.user_id, &path).await?;
    let id = view.agent.id;
    let s = state.services();
    let report = reports(&state, owner.user_id).await?.into_iter().find(|a| a.id == id);
    let tokens = s.list_tokens(Within::Owner(owner.user_id), id).await?;
    let sessions = s
        .report_sessions(
            Reach::Owner(owner.user_id),
            SessionFilter { agent: Some(id), limit: 10, ..Default::default() },
        )
        .await?;
    let q = Fields::parse(req.query_string().as_bytes());
    let outcome = filled(q.get("outcome")).and_then(|o| o.parse::<Outcome>().ok());
    let action = filled(q.get("action"));
    let after = filled(q.get("cursor")).and_then(|c| Cursor::decode(&c));
    let audit_filter =
        AuditFilter { agent_id: Some(id), outcome, action: action.clone(), after, limit: 25, ..Default::default() };
    let audit = s.report_audit(Reach::Owner(owner.user_id), audit_filter).await?;
    let packet = setup::packet(id, &view.agent.name, &view.grants, &state.public_url);
    let active = view.agent.status == Lifecycle::Active;
    let body = html! {
        p { a href=(HOME) { "← Your agents" } }
        div.page-head {
            div {
                h1 { (view.agent.name) }
                p.muted { @if view.agent.description.is_empty() { "No description." } @else { (view.agent.description) } }
            }
            @if active {
                div.actions {
                    a.button.secondary href=(format!("{}/grants", agent_url(id))) { "Edit grants" }
                    a.button.danger href=(format!("{}/revoke", agent_url(id))) { "Revoke agent" }
                }
            }
        }
        section.card aria-labelledby="status-title" {
            h2 #status-title { "Status" }
            div #status-live data-refresh { (status_panel(&view, report.as_ref())) }
        }
        @if active { (setup_panel(&view, &packet, report.as_ref(), &tokens)) }
        (tokens_panel(&console, &view, &tokens))
        (grants_panel(&view.grants))
        section.card aria-labelledby="sessions-title" {
            h2 #sessions-title { "Work sessions" }
            p.hint { (crate::service::reporting::REPORTED_NOTE) }
            div #sessions-live data-refresh { (sessions_list(&sessions.items)) }
        }
        section.card aria-labelledby="audit-title" {
            h2 #audit-title { "Audit timeline" }
            (audit_filters(&agent_url(id), outcome, action.as_deref()))
            div #audit-live data-refresh {
                (audit_table(&audit.items, |_| Some(owner.display_name.clone())))
                @if let Some(c) = &audit.next_cursor {
                    p.pager { a href=(format!("{}?{}", agent_url(id), pager_query(outcome, action.as_deref(), c))) { "Older events →" } }
                }
            }
        }
    };
    Ok(page(&view.agent.name, &console, &owner, body))
}

fn pager_query(outcome: Option<Outcome>, action: Option<&str>, cursor: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if let Some(o) = outcome {
        q.append_pair("outcome", o.as_str());
    }
    if let Some(a) = action {
        q.append_pair("action", a);
    }
    q.append_pair("cursor", cursor);
    q.finish()
}

fn audit_filters(action_url: &str, outcome: Option<Outcome>, action: Option<&str>) -> Markup {
    html! {
        form.filters method="get" action=(action_url) {
            div.field {
                label for="f-outcome" { "Outcome" }
                select #f-outcome name="outcome" {
                    option value="" { "Any" }
                    @for o in Outcome::ALL { option value=(o.as_str()) selected[outcome == Some(*o)] { (o.as_str()) } }
                }
            }
            div.field {
                label for="f-action" { "Tool or action" }
                input #f-action type="search" name="action" value=(action.unwrap_or_default()) placeholder="e.g. create_issue";
            }
            button.secondary type="submit" { "Filter" }
        }
    }
}

fn status_panel(view: &AgentView, report: Option<&AgentReport>) -> Markup {
    html! {
        dl.grid {
            div { dt.meta { "Status" } dd { @match report { Some(r) => (status_chips(r.status)), None => (chip("revoked", view.agent.status.as_str())) } } }
            div { dt.meta { "Active card" } dd { @match report { Some(r) => (active_card(r)), None => "–" } } }
            div { dt.meta { "Last activity" } dd { @match report { Some(r) => (last_activity(r)), None => "–" } } }
            div { dt.meta { "Last call" } dd { (when_opt(report.and_then(|r| r.last_call_at), "never")) } }
            @if let Some(r) = report.filter(|r| r.stale_since.is_some()) {
                div { dt.meta { "Stale since" } dd { (when_opt(r.stale_since, "–")) } }
            }
        }
    }
}

/// A block of text with a copy button (the button appears with the script).
fn copyable(id: &str, label: &str, text: &str) -> Markup {
    html! {
        div.copyable {
            pre { code #(id) { (text) } }
            button.secondary.small type="button" data-copy=(id) hidden aria-label=(format!("Copy {label}")) { "Copy" }
        }
        p.copy-status #(format!("{id}-status")) role="status" {}
    }
}

fn setup_panel(
    view: &AgentView,
    packet: &setup::SetupPacket,
    report: Option<&AgentReport>,
    tokens: &[crate::model::TokenInfo],
) -> Markup {
    let id = view.agent.id;
    let has_token = tokens.iter().any(|t| t.revoked_at.is_none());
    let codex = &packet.codex;
    html! {
        section.card #setup aria-labelledby="setup-title" {
            h2 #setup-title { "Connect Codex" }
            ol.steps {
                li class=[has_token.then_some("done")] {
                    h3 { "Issue a token and export it" }
                    p { "Issue a token below (Tokens). Its secret is shown once, with this line ready to copy:" }
                    pre { code { "export " (codex.bearer_token_env_var) "=<the token>" } }
                }
                li {
                    h3 { "Add the gateway to Codex" }
                    p { "Run this once:" }
                    (copyable("codex-add", "the codex mcp add command", &codex.add_command))
                    details {
                        summary { "Or paste this into ~/.codex/config.toml" }
                        (copyable("codex-toml", "the Codex configuration", &codex.config_toml))
                    }
                }
                li {
                    h3 { "Save the AGENTS.md pack" }
                    p { "Save it as " code { "AGENTS.md" } " in the repositories this agent works in: it tells Codex how to use the tools." }
                    p { a.button.secondary href=(format!("{}/agents.md", agent_url(id))) download="AGENTS.md" { "Download AGENTS.md" } }
                    details { summary { "Preview" } pre { code { (packet.agents_md) } } }
                }
                li #first-call data-refresh class=[report.and_then(|r| r.last_call_at).map(|_| "done")] {
                    h3 { "Check the connection" }
                    @match report.and_then(|r| r.last_call_at) {
                        Some(t) => p role="status" { (chip("connected", "first call arrived")) " The agent's last call reached the gateway " (when(t)) "." },
                        None => p role="status" { (chip("idle", "waiting")) " No call from this agent yet. Start Codex and ask it to list your Tasker projects; this step updates by itself." },
                    }
                }
            }
        }
    }
}

fn tokens_panel(console: &Console, view: &AgentView, tokens: &[crate::model::TokenInfo]) -> Markup {
    let id = view.agent.id;
    let now = chrono::Utc::now();
    html! {
        section.card #tokens aria-labelledby="tokens-title" {
            h2 #tokens-title { "Tokens" }
            div #tokens-live data-refresh {
            @if tokens.is_empty() { p.empty { "No tokens yet." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Label" } th scope="col" { "State" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody { @for t in tokens { tr {
                        td { (t.label) br; code.meta title=(t.id) { (short(t.id)) } }
                        td { @if t.revoked_at.is_some() { (chip("revoked", "revoked")) } @else if t.is_usable(now) { (chip("active", "active")) } @else { (chip("warn", "expired")) } }
                        td { (when(t.created_at)) }
                        td { (when_opt(t.last_used_at, "never")) }
                        td { @if t.revoked_at.is_none() {
                            form.inline method="post" action=(format!("{}/tokens/{}/revoke", agent_url(id), t.id)) data-confirm=(format!("Revoke the token “{}”? Codex using it stops working at once.", t.label)) {
                                (csrf_field(&console.csrf))
                                button.secondary.small type="submit" aria-label=(format!("Revoke token {}", t.label)) { "Revoke" }
                            }
                        } }
                    } } }
                } }
            }
            }
            @if view.agent.status == Lifecycle::Active {
                form.filters method="post" action=(format!("{}/tokens", agent_url(id))) {
                    (csrf_field(&console.csrf))
                    div.field {
                        label for="token-label" { "Label " span.hint { "(where it will be used)" } }
                        input #token-label type="text" name="label" value="laptop" required maxlength="80";
                    }
                    button type="submit" { "Issue a token" }
                }
            }
        }
    }
}

fn grants_panel(grants: &[Grant]) -> Markup {
    html! {
        section.card aria-labelledby="grants-title" {
            h2 #grants-title { "Grants" }
            @if grants.is_empty() { p.empty { "No project granted: the agent can see nothing." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Project" } th scope="col" { "Access" } th scope="col" { "Scopes" } } }
                    tbody { @for g in grants { tr {
                        td { strong { (g.project_identifier) } }
                        td { (chip("info", preset_of(&g.scopes))) }
                        td { @for s in &g.scopes { code { (s.as_str()) } " " } }
                    } } }
                } }
            }
        }
    }
}

fn sessions_list(sessions: &[crate::service::reporting::SessionReport]) -> Markup {
    html! {
        @if sessions.is_empty() { p.empty { "No work session reported yet." } } @else {
            ul.timeline { @for s in sessions { li {
                (chip(s.session.state.as_str(), s.session.state.as_str()))
                a href=(format!("{HOME}/sessions/{}", s.session.id)) { (s.session.goal) }
                @if let Some(c) = &s.session.card { code { (c) } }
                span.meta { "started " (when(s.session.started_at)) }
            } } }
        }
    }
}

// ------------------------------------------------------------------ grants

async fn grants_page(
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &console).await?;
    let view = agent_view(&state, owner.user_id, &path).await?;
    let (choices, problem) = choices(&tasker, &console, owner.user_id, &view.grants).await;
    let body = html! {
        p { a href=(agent_url(view.agent.id)) { "← " (view.agent.name) } }
        h1 { "Grants of " (view.agent.name) }
        form.card method="post" action=(format!("{}/grants", agent_url(view.agent.id))) {
            (csrf_field(&console.csrf))
            (projects_fieldset(&choices, problem.as_ref()))
            p.hint { "Saving replaces every grant; it applies to the agent's next call." }
            button type="submit" { "Save grants" }
        }
    };
    Ok(page("Edit grants", &console, &owner, body))
}

async fn save_grants(
    state: web::Data<AppState>,
    tasker: web::Data<TaskerClient>,
    post: Post,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &post.console).await?;
    let view = agent_view(&state, owner.user_id, &path).await?;
    let (choices, problem) = choices(&tasker, &post.console, owner.user_id, &view.grants).await;
    // Tasker did not answer: a project it would have listed is not "not yours".
    let unlisted = post.form.all("project").any(|p| !choices.iter().any(|c| c.id.to_string() == p));
    if let (Some(p), true) = (problem, unlisted) {
        return Err(p.into());
    }
    let grants = chosen_grants(&post.form, &choices)?;
    state.services().replace_grants(&post.console.ctx(), Within::Owner(owner.user_id), view.agent.id, grants).await?;
    Ok(see_other(agent_url(view.agent.id)))
}

// ------------------------------------------------------------------ revoke

async fn revoke_page(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &console).await?;
    let view = agent_view(&state, owner.user_id, &path).await?;
    let id = view.agent.id;
    let body = html! {
        p { a href=(agent_url(id)) { "← " (view.agent.name) } }
        section.card.notice aria-labelledby="revoke-title" {
            h1 #revoke-title { "Revoke " (view.agent.name) "?" }
            p.lead { "Revoking ends the agent for good: every token it has stops working at once and its MCP sessions close. It cannot be undone; you can create a new agent later." }
            form method="post" action=(format!("{}/revoke", agent_url(id))) {
                (csrf_field(&console.csrf))
                div.actions {
                    button.danger type="submit" { "Revoke " (view.agent.name) }
                    a.button.secondary href=(agent_url(id)) { "Cancel" }
                }
            }
        }
    };
    Ok(page("Revoke agent", &console, &owner, body))
}

async fn revoke(state: web::Data<AppState>, post: Post, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &post.console).await?;
    let id = path_id(&path, Entity::Agent)?;
    state.services().revoke_agent(&post.console.ctx(), Within::Owner(owner.user_id), id).await?;
    Ok(see_other(agent_url(id)))
}

// ------------------------------------------------------------------ tokens

async fn issue_token(
    state: web::Data<AppState>,
    post: Post,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &post.console).await?;
    let id = path_id(&path, Entity::Agent)?;
    let label = post.form.get("label").unwrap_or("console");
    let issued =
        state.services().issue_token(&post.console.ctx(), Within::Owner(owner.user_id), id, label, None).await?;
    let token_id = issued.info.id;
    state.shown_once.send(Hold { session: post.console.row.id, token: issued.token }).await?;
    Ok(see_other(format!("{}/tokens/{token_id}", agent_url(id))))
}

/// The token just issued, once: the GET after the issuing POST takes it from
/// ShownOnce; a reload finds it gone.
async fn issued_token(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &console).await?;
    let (agent_raw, token_raw) = path.into_inner();
    let view = agent_view(&state, owner.user_id, &agent_raw).await?;
    let token_id = path_id(&token_raw, Entity::Token)?;
    let tokens = state.services().list_tokens(Within::Owner(owner.user_id), view.agent.id).await?;
    let info = tokens.into_iter().find(|t| t.id == token_id).ok_or(ServiceError::NotFound(Entity::Token))?;
    let token = state.shown_once.send(Take { session: console.row.id, token_id }).await?;
    let codex = crate::codex::setup(&view.agent.name, view.agent.id, &state.public_url);
    let body = html! {
        p { a href=(agent_url(view.agent.id)) { "← " (view.agent.name) } }
        h1 { "Token “" (info.label) "”" }
        @match token {
            Some(token) => {
                section.card.secret aria-labelledby="secret-title" {
                    h2 #secret-title { "Copy it now: it is shown only this once" }
                    p { "The gateway keeps only a hash. When you leave or reload this page the secret is gone; if you lose it, revoke this token and issue another." }
                    h3 { "1. Export it in the shell that runs Codex" }
                    (copyable("token-export", "the export line", &format!("export {}={}", codex.bearer_token_env_var, token.expose())))
                    h3 { "2. Add the gateway to Codex (once)" }
                    (copyable("token-add", "the codex mcp add command", &codex.add_command))
                    p.visually-hidden { "The token alone:" }
                    p.meta { "The token alone: " code #token-secret { (token.expose()) } }
                }
            }
            None => {
                section.card.notice aria-labelledby="gone-title" {
                    h2 #gone-title { "This token's secret is no longer shown" }
                    p { "A token's secret is shown once, right after it is issued. If you did not copy it, revoke this token and issue another." }
                }
            }
        }
        p { a.button href=(format!("{}#setup", agent_url(view.agent.id))) { "Back to the setup steps" } }
    };
    Ok(page("Token", &console, &owner, body))
}

async fn revoke_token(
    state: web::Data<AppState>,
    post: Post,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &post.console).await?;
    let (agent_raw, token_raw) = path.into_inner();
    let agent = path_id(&agent_raw, Entity::Agent)?;
    let token = path_id(&token_raw, Entity::Token)?;
    state.services().revoke_token(&post.console.ctx(), Within::Owner(owner.user_id), Some(agent), token).await?;
    Ok(see_other(format!("{}#tokens", agent_url(agent))))
}

async fn agents_md(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &console).await?;
    let view = agent_view(&state, owner.user_id, &path).await?;
    let packet = setup::packet(view.agent.id, &view.agent.name, &view.grants, &state.public_url);
    Ok(HttpResponse::Ok()
        .content_type("text/markdown; charset=utf-8")
        .insert_header((CONTENT_DISPOSITION, "attachment; filename=\"AGENTS.md\""))
        .body(packet.agents_md))
}

// ------------------------------------------------------------------ work sessions

async fn session_page(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let owner = gate(&state, &console).await?;
    let id = path_id(&path, Entity::WorkSession)?;
    let (s, events) = state.services().report_session(Reach::Owner(owner.user_id), id).await?;
    let agent = state.services().agent(Within::Owner(owner.user_id), s.session.agent_id).await?;
    let body = session_body(&s, &events, &agent_url(agent.agent.id), &agent.agent.name);
    Ok(page("Work session", &console, &owner, body))
}

/// A work session and its events (shared with the admin view).
pub fn session_body(
    s: &crate::service::reporting::SessionReport,
    events: &[crate::storage::work_sessions::SessionEvent],
    back: &str,
    agent_name: &str,
) -> Markup {
    let w = &s.session;
    html! {
        p { a href=(back) { "← " (agent_name) } }
        div.page-head { div {
            h1 { (w.goal) }
            p { (chip(w.state.as_str(), w.state.as_str())) " " @if let Some(c) = &w.card { "on " code { (c) } } " · started " (when(w.started_at)) }
        } }
        section.card aria-labelledby="events-title" {
            h2 #events-title { "Reported by the agent" }
            p.hint { (crate::service::reporting::REPORTED_NOTE) }
            ul.timeline { @for e in events { li {
                span.meta { (when(e.at)) }
                (chip("info", &e.kind))
                @if let Some(c) = &e.card { code { (c) } }
                @if let Some(t) = &e.text { span { (t) } }
            } } }
            @if let Some(sum) = &w.summary { h3 { "Summary" } p { (sum) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_recognised_and_read_only_is_the_default() {
        let read: ScopeSet = READ_ONLY.iter().copied().collect();
        assert_eq!(preset_of(&read), "read");
        assert_eq!(preset_of(&CONTRIBUTOR.iter().copied().collect()), "contributor");
        assert_eq!(preset_of(&Scope::ALL.iter().copied().collect()), "full");
        assert_eq!(preset_of(&[Scope::IssueRead].into_iter().collect()), "custom");
        assert_eq!(ScopeSet::from_iter(READ_ONLY.iter().copied()), crate::model::scope::default_scopes());
    }
}
