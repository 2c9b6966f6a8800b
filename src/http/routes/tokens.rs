//! Owner lifecycle API: an agent's tokens (internal token). Listings never show a
//! secret; the full token appears once, in the answer to `issue`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::codex::{self, CodexSetup};
use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::extract::{Body, TaskerCaller};
use crate::model::TokenInfo;
use crate::service::Within;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueToken {
    label: String,
    /// Either an absolute expiry or a number of days; neither means no expiry.
    expires_at: Option<DateTime<Utc>>,
    expires_in_days: Option<u16>,
}

pub async fn issue(
    TaskerCaller(ctx): TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    Body(b): Body<IssueToken>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent_id) = path.into_inner();
    let expires_at = match (b.expires_at, b.expires_in_days) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(HttpCode::InvalidBody, "send `expires_at` or `expires_in_days`, not both"));
        }
        (Some(at), None) => Some(at),
        (None, Some(days @ 1..=3650)) => Some(Utc::now() + Duration::days(i64::from(days))),
        (None, Some(days)) => {
            return Err(ApiError::new(
                HttpCode::InvalidBody,
                format!("expires_in_days {days} is out of range 1..=3650"),
            ));
        }
        (None, None) => None,
    };
    let within = Within::Owner(owner);
    let issued = state.services().issue_token(&ctx, within, agent_id, &b.label, expires_at).await?;
    let agent = state.services().agent(within, agent_id).await?;
    let setup = codex::setup(&agent.agent.name, agent.agent.id, &state.public_url);
    Ok(HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(IssuedTokenAnswer {
        token: issued.token.expose(),
        token_info: issued.info,
        codex: setup,
        notice: "This is the only time the token is shown. Store it in the environment variable named in `codex.bearer_token_env_var`.",
    }))
}

/// A new token: the only answer that holds its secret.
#[derive(Serialize, JsonSchema)]
pub struct IssuedTokenAnswer {
    /// The full bearer token, shown this once.
    token: String,
    token_info: TokenInfo,
    codex: CodexSetup,
    notice: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub struct TokenList {
    tokens: Vec<TokenInfo>,
}

pub async fn list(
    _: TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent) = path.into_inner();
    let tokens = state.services().list_tokens(Within::Owner(owner), agent).await?;
    Ok(HttpResponse::Ok().json(TokenList { tokens }))
}

pub async fn revoke(
    TaskerCaller(ctx): TaskerCaller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, agent, token) = path.into_inner();
    let info = state.services().revoke_token(&ctx, Within::Owner(owner), Some(agent), token).await?;
    Ok(HttpResponse::Ok().json(info))
}
