//! The console in the browser: the session cookie, the CSRF token and the extractors
//! every console route goes through.
//!
//! The cookie holds a random secret (the database holds its digest). It is HttpOnly,
//! SameSite=Strict, Path=/, and Secure with the `__Host-` prefix when the public URL is
//! https. Every POST carries a CSRF token derived from the secret (a one-way hash,
//! so a page shows it without revealing the secret) and compared in constant time:
//! the [`Post`] extractor refuses a POST without the right one before any handler runs.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::error::PageError;
use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::request_context::RequestId;
use crate::model::AuditActor;
use crate::service::Ctx;
use crate::service::console::digest;
use crate::storage::console::{SessionRow, Subject};

/// Sent by the pages' own refreshes: they do not count as use of the session.
pub const REFRESH_HEADER: &str = "x-console-refresh";

/// A signed-in console session.
pub struct Console {
    pub row: SessionRow,
    /// The token every form of this session carries.
    pub csrf: String,
    request_id: String,
}

impl Console {
    /// The owner this session is for; an admin session is refused.
    pub fn owner(&self) -> Result<Uuid, PageError> {
        match &self.row.subject {
            Subject::Owner(o) => Ok(*o),
            Subject::Admin(_) => Err(not_your_view("an admin's console session has no agents of its own")),
        }
    }

    /// The admin this session is for; an owner session is refused.
    pub fn admin(&self) -> Result<&str, PageError> {
        match &self.row.subject {
            Subject::Admin(a) => Ok(a),
            Subject::Owner(_) => Err(not_your_view("the admin view needs a console link made for an admin")),
        }
    }

    /// The audit context of a change made here: the console as actor, the admin by
    /// name for an admin session, the request id.
    pub fn ctx(&self) -> Ctx {
        let mut ctx = Ctx::new(self.request_id.clone(), AuditActor::Console);
        if let Subject::Admin(a) = &self.row.subject {
            ctx.admin = Some(a.clone());
        }
        ctx
    }
}

fn not_your_view(why: &str) -> PageError {
    ApiError::new(HttpCode::ConsoleViewNotAllowed, format!("This page is not part of your view: {why}.")).into()
}

/// The CSRF token of a secret (the session's, or the sign-in form's).
pub fn csrf_of(secret: &str) -> String {
    digest(&format!("nodedc-console-csrf:{secret}"))
}

fn csrf_matches(expected: &str, sent: Option<&str>) -> bool {
    sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())))
}

/// Whether cookies must be Secure: the public URL is https.
pub fn secure(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-nodedc_console" } else { "nodedc_console" }
}

/// The short-lived cookie that ties the sign-in form to the browser that opened the
/// link (so another site cannot post a link of its own into this browser).
pub fn signin_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-nodedc_console_signin" } else { "nodedc_console_signin" }
}

pub fn cookie(name: &'static str, value: String, secure: bool, max_age: Option<i64>) -> Cookie<'static> {
    let mut c = Cookie::build(name, value).path("/").http_only(true).same_site(SameSite::Strict).secure(secure);
    if let Some(secs) = max_age {
        c = c.max_age(actix_web::cookie::time::Duration::seconds(secs));
    }
    c.finish()
}

/// A cookie that removes `name`.
pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), secure, None);
    c.make_removal();
    c
}

fn state(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>().cloned().expect("AppState is registered on the app")
}

fn request_id(req: &HttpRequest) -> String {
    req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

async fn resolve(req: HttpRequest) -> Result<Console, PageError> {
    let state = state(&req);
    let name = session_cookie_name(secure(&state));
    let Some(secret) = req.cookie(name).map(|c| c.value().to_string()).filter(|v| !v.is_empty()) else {
        return Err(sign_in_required());
    };
    let in_use = !req.headers().contains_key(REFRESH_HEADER);
    let row = state.services().console_session(&secret, in_use).await?.ok_or_else(sign_in_required)?;
    Ok(Console { row, csrf: csrf_of(&secret), request_id: request_id(&req) })
}

fn sign_in_required() -> PageError {
    ApiError::new(
        HttpCode::ConsoleSignInRequired,
        "You are not signed in, or your console session has ended (signed out, or 8 hours without use).",
    )
    .into()
}

impl FromRequest for Console {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(resolve(req.clone()))
    }
}

/// A form's fields, in order (a name may repeat).
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

async fn body(req: &HttpRequest, payload: &mut Payload) -> Result<Fields, PageError> {
    let bytes = web::Bytes::from_request(req, payload).await.map_err(|e| {
        PageError::from(ApiError::new(HttpCode::InvalidBody, format!("the form could not be read: {e}")))
    })?;
    Ok(Fields::parse(&bytes))
}

/// A POST from a signed-in console page: the session, and the form, whose `csrf`
/// field has been checked.
pub struct Post {
    pub console: Console,
    pub form: Fields,
}

impl FromRequest for Post {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let form = body(&req, &mut payload).await?;
            let console = resolve(req).await?;
            if !csrf_matches(&console.csrf, form.get("csrf")) {
                return Err(csrf_refused());
            }
            Ok(Post { console, form })
        })
    }
}

pub fn csrf_refused() -> PageError {
    ApiError::new(
        HttpCode::CsrfTokenInvalid,
        "This form was refused: it did not carry this page's security token. Reload the page and try again.",
    )
    .into()
}

/// The sign-in form's POST: the form, checked against the sign-in cookie.
pub struct SignInPost {
    pub form: Fields,
}

impl FromRequest for SignInPost {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let form = body(&req, &mut payload).await?;
            let name = signin_cookie_name(secure(&state(&req)));
            let expected = req.cookie(name).map(|c| csrf_of(c.value()));
            match expected {
                Some(e) if csrf_matches(&e, form.get("csrf")) => Ok(SignInPost { form }),
                _ => Err(csrf_refused()),
            }
        })
    }
}

/// The request id, for an audit context outside a session (sign-in).
pub fn ctx_for(req: &HttpRequest) -> Ctx {
    Ctx::new(request_id(req), AuditActor::Console)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_strict_and_secure_on_https() {
        let c = cookie(session_cookie_name(true), "s".into(), true, None);
        assert_eq!(c.name(), "__Host-nodedc_console");
        assert_eq!(
            (c.secure(), c.http_only(), c.same_site(), c.path()),
            (Some(true), Some(true), Some(SameSite::Strict), Some("/"))
        );
        let plain = cookie(session_cookie_name(false), "s".into(), false, Some(300));
        assert_eq!((plain.name(), plain.secure()), ("nodedc_console", Some(false)));
    }

    #[test]
    fn the_csrf_token_reveals_nothing_and_must_match() {
        let t = csrf_of("secret");
        assert_eq!(t.len(), 64);
        assert!(!t.contains("secret"));
        assert!(csrf_matches(&t, Some(&t)));
        assert!(!csrf_matches(&t, Some(&csrf_of("other"))));
        assert!(!csrf_matches(&t, None));
    }
}
