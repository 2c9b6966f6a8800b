//! The board: plain server-rendered, read-only pages for a person (no script, no
//! auth; meant for loopback). `GET /` lists projects, `GET /projects/{IDENT}` shows the
//! board by state, `GET /cards/{KEY}` a card with its blocks, human zone, comments and
//! full history. Every piece of stored text goes through [`Page::text`] or
//! [`Page::attr`], which escape it; markup is only ever a `&'static str`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use super::TaskerState;
use super::extract::CardRef;
use super::store::activity::{self, Entry};
use super::store::issues::{self, IssueRow};
use super::store::{comments, projects};
use super::text::{escape, html_to_text};
use crate::reference_tasker::blocks::Description;
use crate::storage::{DbConn, StorageError};
use crate::tasker::contract::{Blocks, Comment, Issue, IssueSummary, Label, Project, State};

pub fn configure(cfg: &mut web::ServiceConfig) {
    let page = |path: &str| web::resource(path).default_service(web::to(read_only));
    cfg.service(page("/").route(web::get().to(index)))
        .service(page("/projects/{identifier}").route(web::get().to(project)))
        .service(page("/cards/{key}").route(web::get().to(card)));
}

/// Any method but GET on a board page.
async fn read_only() -> HttpResponse {
    let mut p = Page::new("Read-only");
    p.raw("<h1>The board is read-only</h1><p>Changes are made in Tasker, or by agents through the adapter.</p>");
    p.finish(StatusCode::METHOD_NOT_ALLOWED)
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1c2024;background:#f7f7f8}\
header{background:#1c2024;color:#fff;padding:10px 20px}header a{color:#fff}main{padding:16px 20px}\
a{color:#3e63dd;text-decoration:none}a:hover{text-decoration:underline}\
.columns{display:flex;gap:12px;align-items:flex-start;overflow-x:auto}\
.column{background:#ececee;border-radius:8px;padding:8px;min-width:220px;flex:1}\
.column h2{font-size:14px;margin:4px 4px 8px}.muted{color:#60646c;font-size:13px}\
.card{background:#fff;border-radius:6px;padding:8px;margin-bottom:8px;box-shadow:0 1px 2px #0002}\
.label{display:inline-block;border-radius:9px;padding:0 7px;font-size:12px;margin-right:4px;background:#e0e1e6}\
section{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:14px}section h2{font-size:16px;margin-top:0}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #e0e1e6;vertical-align:top}\
.pre{white-space:pre-wrap}.old{color:#a3282f;text-decoration:line-through}.new{color:#18794e}\
ul.checklist{list-style:none;padding-left:4px}";

/// An HTML page under construction. Markup is `&'static str`; text is escaped.
pub struct Page {
    out: String,
}

impl Page {
    pub fn new(title: &str) -> Self {
        let mut p = Page { out: String::with_capacity(8 * 1024) };
        p.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
        p.text(title);
        p.raw("</title><style>");
        p.raw(STYLE);
        p.raw("</style></head><body><header><a href=\"/\">Tasker</a> <span class=\"muted\">reference board, read-only</span></header><main>");
        p
    }

    pub fn raw(&mut self, markup: &'static str) {
        self.out.push_str(markup);
    }

    pub fn text(&mut self, text: &str) {
        self.out.push_str(&escape(text));
    }

    /// A quoted attribute value.
    pub fn attr(&mut self, value: &str) {
        self.out.push('"');
        self.out.push_str(&escape(value));
        self.out.push('"');
    }

    /// `<TAG class="CLASS">text</TAG>`
    pub fn el(&mut self, open: &'static str, text: &str, close: &'static str) {
        self.raw(open);
        self.text(text);
        self.raw(close);
    }

    pub fn link(&mut self, href: &str, text: &str) {
        self.raw("<a href=");
        self.attr(href);
        self.raw(">");
        self.text(text);
        self.raw("</a>");
    }

    pub fn finish(mut self, status: StatusCode) -> HttpResponse {
        self.raw("</main></body></html>");
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header(("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'"))
            .body(self.out)
    }
}

pub fn not_found_page(message: &str) -> HttpResponse {
    let mut p = Page::new("Not found");
    p.el("<h1>", message, "</h1>");
    p.raw("<p><a href=\"/\">All projects</a></p>");
    p.finish(StatusCode::NOT_FOUND)
}

fn unavailable(e: StorageError) -> HttpResponse {
    tracing::warn!(target: "reference_tasker", error = %e, "board: storage failed");
    let mut p = Page::new("Unavailable");
    p.raw("<h1>The Tasker database is unavailable</h1><p>Retry shortly.</p>");
    p.finish(StatusCode::SERVICE_UNAVAILABLE)
}

async fn load<T: Send + 'static>(
    state: &TaskerState,
    f: impl FnOnce(&mut DbConn) -> Result<Option<T>, StorageError> + Send + 'static,
) -> Result<T, HttpResponse> {
    match state.db.run(f).await {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(not_found_page("No such page")),
        Err(e) => Err(unavailable(e)),
    }
}

async fn index(state: web::Data<TaskerState>) -> HttpResponse {
    let loaded = load(&state, |c| Ok(Some((projects::workspace_name(c)?, projects::all(c)?)))).await;
    let (workspace, list) = match loaded {
        Ok(v) => v,
        Err(res) => return res,
    };
    let workspace = workspace.unwrap_or_else(|| "Tasker".to_string());
    let mut p = Page::new(&workspace);
    p.el("<h1>", &workspace, "</h1>");
    if list.is_empty() {
        p.raw("<p class=\"muted\">No projects yet.</p>");
    }
    p.raw("<ul>");
    for project in &list {
        p.raw("<li>");
        p.link(&format!("/projects/{}", project.identifier), &project.identifier);
        p.text(&format!(" — {}", project.name));
        p.raw("</li>");
    }
    p.raw("</ul>");
    p.finish(StatusCode::OK)
}

type BoardData = (Project, Vec<State>, Vec<IssueSummary>);

async fn project(state: web::Data<TaskerState>, path: web::Path<String>) -> HttpResponse {
    let ident = path.into_inner();
    let loaded = load(&state, move |c| -> Result<Option<BoardData>, StorageError> {
        let Some(project) = projects::find_by_identifier(c, &ident)? else { return Ok(None) };
        let states = projects::states(c, project.id)?;
        let rows = issues::in_project(c, project.id)?;
        let cards = issues::summaries(c, &rows)?;
        Ok(Some((project, states, cards)))
    })
    .await;
    let (project, states, cards) = match loaded {
        Ok(v) => v,
        Err(res) => return res,
    };
    let mut p = Page::new(&format!("{} · {}", project.identifier, project.name));
    p.raw("<h1>");
    p.text(&format!("{} · {}", project.identifier, project.name));
    p.raw("</h1><div class=\"columns\">");
    for s in &states {
        let in_state: Vec<&IssueSummary> = cards.iter().filter(|c| c.state.id == s.id).collect();
        p.raw("<div class=\"column\"><h2>");
        p.text(&s.name);
        p.raw(" <span class=\"muted\">");
        p.text(&format!("{} · {}", s.group, in_state.len()));
        p.raw("</span></h2>");
        for card in in_state {
            p.raw("<div class=\"card\">");
            p.link(&format!("/cards/{}", card.key), &card.key);
            p.raw(" <span class=\"muted\">");
            p.text(card.priority.as_str());
            p.raw("</span><div>");
            p.text(&card.title);
            p.raw("</div><div>");
            for label in &card.labels {
                p.el("<span class=\"label\">", &label.name, "</span>");
            }
            p.raw("</div>");
            if !card.assignees.is_empty() {
                let names: Vec<&str> = card.assignees.iter().map(|a| a.display_name.as_str()).collect();
                p.el("<div class=\"muted\">", &names.join(", "), "</div>");
            }
            p.raw("</div>");
        }
        p.raw("</div>");
    }
    p.raw("</div>");
    p.finish(StatusCode::OK)
}

struct CardData {
    issue: Issue,
    labels: Vec<Label>,
    human: String,
    comments: Vec<Comment>,
    history: Vec<Entry>,
}

fn card_row(c: &mut DbConn, raw: &str) -> Result<Option<IssueRow>, StorageError> {
    match CardRef::parse(raw) {
        Some(CardRef::Id(id)) => issues::find(c, id),
        Some(CardRef::Key(ident, seq)) => match projects::find_by_identifier(c, &ident)? {
            Some(project) => issues::find_by_sequence(c, project.id, seq),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

async fn card(state: web::Data<TaskerState>, path: web::Path<String>) -> HttpResponse {
    let raw = path.into_inner();
    let loaded = load(&state, move |c| -> Result<Option<CardData>, StorageError> {
        let Some(row) = card_row(c, &raw)? else { return Ok(None) };
        let issue = issues::full(c, &row)?;
        Ok(Some(CardData {
            labels: projects::labels(c, issue.project_id)?,
            human: html_to_text(&Description::parse(&row.description_html).human_html()),
            comments: comments::all(c, &row.id)?,
            history: activity::list(c, &row.id)?,
            issue,
        }))
    })
    .await;
    match loaded {
        Ok(data) => card_page(&data),
        Err(res) => res,
    }
}

fn field(p: &mut Page, name: &'static str, value: &str) {
    p.raw("<tr><th>");
    p.raw(name);
    p.raw("</th><td>");
    p.text(value);
    p.raw("</td></tr>");
}

fn card_page(d: &CardData) -> HttpResponse {
    let i = &d.issue;
    let mut p = Page::new(&format!("{} {}", i.key, i.title));
    let ident = i.key.rsplit_once('-').map_or(i.key.as_str(), |(ident, _)| ident);
    p.raw("<p>");
    p.link(&format!("/projects/{ident}"), &format!("← {ident} board"));
    p.raw("</p><h1>");
    p.text(&format!("{} · {}", i.key, i.title));
    p.raw("</h1><section><h2>Fields</h2><table>");
    field(&mut p, "State", &format!("{} ({})", i.state.name, i.state.group));
    field(&mut p, "Priority", i.priority.as_str());
    let label_names: Vec<String> = i
        .labels
        .iter()
        .map(|l| {
            let color = d.labels.iter().find(|x| x.id == l.id).map(|x| x.color.as_str()).unwrap_or("");
            if color.is_empty() { l.name.clone() } else { format!("{} ({color})", l.name) }
        })
        .collect();
    field(&mut p, "Labels", &label_names.join(", "));
    let assignees: Vec<&str> = i.assignees.iter().map(|a| a.display_name.as_str()).collect();
    field(&mut p, "Assignees", &assignees.join(", "));
    field(&mut p, "Start date", &i.start_date.map(|d| d.to_string()).unwrap_or_default());
    field(&mut p, "Target date", &i.target_date.map(|d| d.to_string()).unwrap_or_default());
    p.raw("<tr><th>Parent</th><td>");
    if let Some(parent) = &i.parent {
        p.link(&format!("/cards/{}", parent.key), &parent.key);
    }
    p.raw("</td></tr>");
    field(&mut p, "Created", &format!("{} by {}", i.created_at.format("%Y-%m-%d %H:%M:%S UTC"), i.created_by));
    field(&mut p, "Updated", &format!("{} by {}", i.updated_at.format("%Y-%m-%d %H:%M:%S UTC"), i.updated_by));
    p.raw("</table></section>");

    blocks_section(&mut p, &i.blocks, i);

    p.raw("<section><h2>Description</h2>");
    if d.human.is_empty() {
        p.raw("<p class=\"muted\">(none)</p>");
    } else {
        p.el("<div class=\"pre\">", &d.human, "</div>");
    }
    p.raw("</section><section><h2>Comments</h2>");
    if d.comments.is_empty() {
        p.raw("<p class=\"muted\">(none)</p>");
    }
    for c in &d.comments {
        p.raw("<p><b>");
        p.text(&c.actor);
        p.raw("</b> <span class=\"muted\">");
        p.text(&c.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
        p.raw("</span></p>");
        p.el("<div class=\"pre\">", &c.body, "</div>");
    }
    p.raw("</section><section><h2>History</h2><table><tr><th>Time (UTC)</th><th>Actor</th><th>On behalf of</th><th>Field</th><th>Change</th></tr>");
    for e in &d.history {
        p.raw("<tr><td>");
        p.text(&e.at.format("%Y-%m-%d %H:%M:%S").to_string());
        p.raw("</td><td>");
        p.text(&e.who.actor);
        p.raw("</td><td>");
        p.text(e.who.on_behalf_of.as_deref().unwrap_or(""));
        p.raw("</td><td>");
        p.text(&e.change.field);
        p.raw("</td><td class=\"pre\">");
        match (&e.change.old, &e.change.new) {
            (Some(old), Some(new)) => {
                p.el("<span class=\"old\">", old, "</span>");
                p.raw(" → ");
                p.el("<span class=\"new\">", new, "</span>");
            }
            (None, Some(new)) => p.el("<span class=\"new\">+ ", new, "</span>"),
            (Some(old), None) => p.el("<span class=\"old\">− ", old, "</span>"),
            (None, None) => {}
        }
        p.raw("</td></tr>");
    }
    p.raw("</table></section>");
    p.finish(StatusCode::OK)
}

fn blocks_section(p: &mut Page, b: &Blocks, i: &Issue) {
    if *b == Blocks::default() {
        return;
    }
    p.raw("<section><h2>Structured blocks</h2>");
    let version = |name| i.block_versions.get(&name).cloned().unwrap_or_default();
    use crate::tasker::contract::BlockName;
    let heading = |p: &mut Page, title: &'static str, name: BlockName| {
        p.raw("<h3>");
        p.raw(title);
        p.raw(" <span class=\"muted\">");
        p.text(&version(name));
        p.raw("</span></h3>");
    };
    if let Some(goal) = &b.goal {
        heading(p, "Goal", BlockName::Goal);
        p.el("<div class=\"pre\">", goal, "</div>");
    }
    if let Some(plan) = &b.plan {
        heading(p, "Plan", BlockName::Plan);
        p.el("<div class=\"pre\">", plan, "</div>");
    }
    if let Some(items) = &b.acceptance {
        heading(p, "Acceptance", BlockName::Acceptance);
        p.raw("<ul class=\"checklist\">");
        for item in items {
            p.raw(if item.checked { "<li>☑ " } else { "<li>☐ " });
            p.text(&item.text);
            p.raw("</li>");
        }
        p.raw("</ul>");
    }
    if let Some(log) = &b.log {
        heading(p, "Log", BlockName::Log);
        p.raw("<ol>");
        for entry in log {
            p.el("<li class=\"pre\">", entry, "</li>");
        }
        p.raw("</ol>");
    }
    if let Some(result) = &b.result {
        heading(p, "Result", BlockName::Result);
        p.el("<div class=\"pre\">", result, "</div>");
    }
    p.raw("</section>");
}
