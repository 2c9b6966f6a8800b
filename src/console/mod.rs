//! The console: server-rendered pages under `/console/` for owners (their agents,
//! tokens, grants and the pairing flow) and admins (the fleet, the audit trail, the
//! owners), so local dev has them with no Tasker, and Tasker and Launcher can link to
//! them or frame them.
//!
//! Sign-in is by single-use link (`service::console`), then a cookie session
//! (`session`). Every change goes through the same `Services` as the internal API,
//! with the console as the audit actor. Pages work without JavaScript; the one script
//! is an asset, and the Content-Security-Policy allows no inline script or style.

mod assets;
mod chart;
mod error;
mod layout;
mod pages;
pub mod session;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, LOCATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::{Next, from_fn};
use actix_web::web::{self, get, post, resource};
use actix_web::{HttpRequest, HttpResponse};
use maud::html;

pub use error::PageError;
use session::{Console, Post, SignInPost};

use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/console").route(get().to(|| async { see_other("/console/") })));
    cfg.service(
        web::scope("/console")
            .wrap(from_fn(security_headers))
            .service(resource("/").route(get().to(root)))
            .service(resource("/assets/{version}/{name}").route(get().to(assets::serve)))
            .service(resource("/sign-in").route(get().to(sign_in_page)).route(post().to(sign_in)))
            .service(resource("/sign-out").route(post().to(sign_out)))
            .service(resource("/signed-out").route(get().to(signed_out)))
            .configure(pages::owner::configure)
            .configure(pages::admin::configure)
            .default_service(web::to(not_found)),
    );
}

/// The page's policy: scripts, styles and requests from this origin only, no inline
/// code, forms posted here only, and framing by this origin and the allowed ones.
fn content_security_policy(allowed_origins: &[String]) -> String {
    let frame: Vec<&str> = allowed_origins
        .iter()
        .map(String::as_str)
        .filter(|o| {
            (o.starts_with("http://") || o.starts_with("https://"))
                && o.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:/[]".contains(&b))
        })
        .collect();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'self'{}{}",
        if frame.is_empty() { "" } else { " " },
        frame.join(" ")
    )
}

/// Every console answer, error pages included: the CSP, no sniffing, no referrer (a
/// sign-in link must not leave in a `Referer`), and no caching unless the answer says
/// otherwise (assets).
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let csp = req
        .app_data::<web::Data<AppState>>()
        .map(|s| content_security_policy(&s.allowed_origins))
        .unwrap_or_else(|| content_security_policy(&[]));
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(CONTENT_SECURITY_POLICY, v);
    }
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, to)).finish()
}

pub(crate) fn respond(markup: maud::Markup) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(markup.into_string())
}

/// `/console/`: the signed-in person's view, or how to sign in.
async fn root(console: Option<Console>) -> Result<HttpResponse, PageError> {
    match console {
        Some(c) if c.owner().is_ok() => Ok(see_other("/console/owner")),
        Some(_) => Ok(see_other("/console/admin")),
        None => Err(ApiError::new(HttpCode::ConsoleSignInRequired, "You are not signed in to the console.").into()),
    }
}

async fn not_found() -> Result<HttpResponse, PageError> {
    Err(ApiError::new(HttpCode::RouteNotFound, "There is no such page in the console.").into())
}

/// Opening a link shows a button that posts it: following the link alone (a link
/// preview, a scanner) uses nothing, and the POST comes from this origin, so the
/// SameSite=Strict cookie it sets is sent on the next page.
async fn sign_in_page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let link = session::Fields::parse(req.query_string().as_bytes()).get("link").unwrap_or_default().to_string();
    if link.is_empty() || link.len() > 128 {
        return Err(ApiError::new(HttpCode::ConsoleLinkInvalid, "This sign-in link is not complete.").into());
    }
    let secure = session::secure(&state);
    let pre = crate::service::console::new_secret();
    let body = layout::bare(
        "Sign in",
        html! {
            section.card aria-labelledby="sign-in-title" {
                h1 #sign-in-title { "Sign in to the agents console" }
                p.lead { "This link signs you in once. It works for one minute after it was made." }
                form method="post" action="/console/sign-in" {
                    (layout::csrf_field(&session::csrf_of(&pre)))
                    input type="hidden" name="link" value=(link);
                    button type="submit" { "Continue to the console" }
                }
            }
        },
    );
    Ok(HttpResponse::Ok()
        .cookie(session::cookie(session::signin_cookie_name(secure), pre, secure, Some(300)))
        .content_type("text/html; charset=utf-8")
        .body(body.into_string()))
}

async fn sign_in(req: HttpRequest, state: web::Data<AppState>, post: SignInPost) -> Result<HttpResponse, PageError> {
    let link = post.form.get("link").unwrap_or_default();
    let started = state.services().console_sign_in(&session::ctx_for(&req), link).await?;
    let Some(started) = started else {
        // A link that signs no one in is a failed authentication.
        crate::telemetry::metrics::auth_failure(HttpCode::ConsoleLinkInvalid.as_str());
        return Err(ApiError::new(
            HttpCode::ConsoleLinkInvalid,
            "This sign-in link has expired or was already used. Ask for a new one.",
        )
        .into());
    };
    let secure = session::secure(&state);
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, "/console/"))
        .cookie(session::cookie(session::session_cookie_name(secure), started.secret, secure, None))
        .cookie(session::removal(session::signin_cookie_name(secure), secure))
        .finish())
}

async fn sign_out(state: web::Data<AppState>, post: Post) -> Result<HttpResponse, PageError> {
    state.services().console_sign_out(&post.console.ctx(), &post.console.row).await?;
    let secure = session::secure(&state);
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, "/console/signed-out"))
        .cookie(session::removal(session::session_cookie_name(secure), secure))
        .finish())
}

async fn signed_out() -> HttpResponse {
    respond(layout::bare(
        "Signed out",
        html! {
            section.card {
                h1 { "You have signed out" }
                p { "Your console session has ended. Open the console again from Tasker or Launcher to sign back in." }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_policy_allows_only_plain_origins_to_frame() {
        let csp = super::content_security_policy(&[
            "https://tasker.example.com".into(),
            "http://127.0.0.1:8787".into(),
            "https://evil.example; script-src *".into(),
        ]);
        assert!(csp.ends_with("frame-ancestors 'self' https://tasker.example.com http://127.0.0.1:8787"), "{csp}");
        assert!(!csp.contains("unsafe-inline"));
    }
}
