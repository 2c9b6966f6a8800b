//! Sign-in links for the console: Tasker's backend asks for one for an owner (the
//! owner's view), Launcher for an admin by name (the admin view). A link works once,
//! within 60 seconds; the answer is the only place it appears (`no-store`).

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::{Body, LauncherCaller, TaskerCaller};
use crate::service::console::IssuedLink;
use crate::storage::console::Subject;

/// A sign-in link, shown this once.
#[derive(Serialize, JsonSchema)]
pub struct ConsoleLink {
    url: String,
    /// `owner` or `admin`: the console view it opens.
    kind: &'static str,
    expires_at: DateTime<Utc>,
}

fn answer(state: &AppState, link: IssuedLink, kind: &'static str) -> HttpResponse {
    let url = format!("{}/console/sign-in?link={}", state.public_url.trim_end_matches('/'), link.token);
    HttpResponse::Created().insert_header((CACHE_CONTROL, "no-store")).json(ConsoleLink {
        url,
        kind,
        expires_at: link.expires_at,
    })
}

/// `POST /api/internal/v1/owners/{owner}/console-links`: the owner must have been
/// projected (else 404 `owner_not_found`); a blocked or unentitled owner still gets a
/// link, and the console explains.
pub async fn owner_link(
    caller: TaskerCaller,
    state: web::Data<AppState>,
    owner: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let link = state.services().create_console_link(&caller.0, Subject::Owner(owner.into_inner())).await?;
    Ok(answer(&state, link, "owner"))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminLink {
    /// The admin the console session is for, as Launcher names them.
    admin: String,
}

/// `POST /api/internal/v1/console-links` with `{"admin": "NAME"}`.
pub async fn admin_link(
    caller: LauncherCaller,
    state: web::Data<AppState>,
    Body(body): Body<AdminLink>,
) -> Result<HttpResponse, ApiError> {
    let name = admin_name(&body.admin).ok_or_else(|| {
        ApiError::new(HttpCode::InvalidBody, "`admin` must name the admin in 1 to 200 printable characters")
    })?;
    let mut ctx = caller.0;
    ctx.admin = Some(name.clone());
    let link = state.services().create_console_link(&ctx, Subject::Admin(name)).await?;
    Ok(answer(&state, link, "admin"))
}

/// 1 to 200 printable characters, trimmed (the `X-NodeDC-Admin` rule).
pub fn admin_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty() && name.chars().count() <= 200 && !name.chars().any(char::is_control);
    ok.then(|| name.to_string())
}
