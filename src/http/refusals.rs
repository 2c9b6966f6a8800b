//! Refusals before the pipeline, audited. The call pipeline writes one audit event per
//! tool call; a request an authenticated agent makes that never reaches it (an unknown
//! tool, arguments that are not an object, a malformed REST body, a batch, a DELETE, a
//! session that does not exist) leaves one too, so an admin sees every attempt. A failed
//! authentication whose token id exists is audited against that token.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::extract::AgentCaller;
use crate::actors::token_sessions::AuthError;
use crate::model::{AuditActor, Outcome};
use crate::service::Ctx;
use crate::service::audit::{Subject, record};
use crate::storage;

/// A refusal's stable code, set on the response by whoever refused (`ApiError`, an MCP
/// fault) when the pipeline has not audited it.
#[derive(Debug, Clone, Copy)]
pub struct Refused(pub &'static str);

/// The authenticated agent of this request (set by the agent extractor).
#[derive(Debug, Clone, Copy)]
pub struct AuthedAgent {
    pub agent_id: Uuid,
    pub owner_user_id: Uuid,
    pub token_id: Uuid,
}

/// Wraps the agent endpoints (`/mcp`, `/api/v1`).
pub async fn audit_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let marked = res.response().extensions().get::<Refused>().map(|r| r.0);
    let code = match marked {
        Some(code) => code,
        // actix's own 405 (no route for the method: DELETE, say) carries no marker.
        None if res.status() == StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        None => return Ok(res),
    };
    let req = res.request().clone();
    let agent = req.extensions().get::<AuthedAgent>().copied();
    let agent = match agent {
        Some(a) => Some(a),
        // Refused before authentication ran (a 405): authenticate now, for the trail.
        // (Any other refusal without an agent was authentication's own, audited there.)
        None if code == "method_not_allowed" && req.headers().contains_key(actix_web::http::header::AUTHORIZATION) => {
            AgentCaller::extract(&req).await.ok().map(|c| AuthedAgent {
                agent_id: c.principal.agent_id,
                owner_user_id: c.principal.owner_user_id,
                token_id: c.principal.token_id,
            })
        }
        None => None,
    };
    if let Some(agent) = agent {
        let action = format!("{} {}", req.method(), req.match_pattern().unwrap_or_else(|| "(unmatched)".into()));
        let outcome = match res.status() {
            StatusCode::FORBIDDEN | StatusCode::METHOD_NOT_ALLOWED | StatusCode::TOO_MANY_REQUESTS => Outcome::Denied,
            _ => Outcome::Failed,
        };
        audit(&req, agent, &action, outcome, code).await;
    }
    Ok(res)
}

/// One audit event for a request refused outside the pipeline. Failure to store it is
/// logged: the request was refused either way.
pub async fn audit(req: &actix_web::HttpRequest, agent: AuthedAgent, action: &str, outcome: Outcome, code: &str) {
    let Some(state) = req.app_data::<actix_web::web::Data<AppState>>() else { return };
    let request_id = req.extensions().get::<super::request_context::RequestId>().map(|r| r.0.clone());
    let mut ctx = Ctx::new(request_id.unwrap_or_default(), AuditActor::Agent);
    ctx.token_id = Some(agent.token_id);
    let subject = Subject::agent(Some(agent.owner_user_id), agent.agent_id);
    let event = record(&ctx, action, subject, outcome, Some(code));
    if let Err(e) = state.db.run(move |c| storage::audit::insert(c, &event)).await {
        tracing::warn!(error = %e, "could not audit a refused request");
    }
}

/// A refused authentication, as the caller's error. A refusal of the token itself (not
/// a busy verifier, the failure limit or an unavailable database) is audited when its
/// token id exists.
pub async fn failed_auth(req: &actix_web::HttpRequest, token_id: Uuid, e: AuthError) -> ApiError {
    let audited = !matches!(
        e,
        AuthError::TooManyFailures { .. } | AuthError::Busy { .. } | AuthError::Storage(_) | AuthError::Internal(_)
    );
    let api = ApiError::from(e);
    if audited {
        audit_failed_auth(req, token_id, api.code).await;
    }
    api
}

/// A failed authentication of a token id that exists, audited against that token
/// (action `authenticate`, outcome `denied`, the refusal's code). Unknown ids are not:
/// they name nothing, and the failure limiter bounds how often this runs per token.
async fn audit_failed_auth(req: &actix_web::HttpRequest, token_id: Uuid, code: &'static str) {
    let Some(state) = req.app_data::<actix_web::web::Data<AppState>>() else { return };
    let found = state.db.run(move |c| storage::tokens::auth_records(c, &[token_id])).await;
    let Some(r) = found.ok().and_then(|mut v| v.pop()) else { return };
    let agent = AuthedAgent { agent_id: r.agent_id, owner_user_id: r.owner_user_id, token_id };
    audit(req, agent, "authenticate", Outcome::Denied, code).await;
}
