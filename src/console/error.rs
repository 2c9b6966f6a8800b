//! Errors on console pages: the same typed codes and statuses as the API (a page for
//! another owner's agent is `agent_not_found`, 404), answered as a readable HTML page
//! that names the code and the request id. The owner whose access is denied gets the
//! feature card's explanation instead, and nothing else.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use super::layout;
use crate::http::error::ApiError;
use crate::http::request_context::current_request_id;
use crate::model::AccessDenial;
use crate::storage::StorageError;

#[derive(Debug)]
pub enum PageError {
    Api(ApiError),
    /// The owner may not use Codex agents: the page explains why, and offers nothing.
    Denied {
        owner_name: String,
        denial: AccessDenial,
        csrf: String,
    },
}

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError::Api(e.into())
    }
}

impl PageError {
    pub fn denied(owner_name: String, denial: AccessDenial, csrf: &str) -> Self {
        PageError::Denied { owner_name, denial, csrf: csrf.to_string() }
    }

    pub fn storage(e: StorageError) -> Self {
        PageError::Api(e.into())
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Api(e) => e.fmt(f),
            PageError::Denied { denial, .. } => write!(f, "{denial}"),
        }
    }
}

/// What a signed-out visitor can do about it.
fn sign_in_help() -> maud::Markup {
    html! {
        p { "Open the console from Tasker (your agents) or Launcher (the admin view): they make a sign-in link that works once, for one minute." }
        p { "In local development: " code { "nodedc-agent-gateway console-link --owner OWNER_ID" } " or " code { "console-link --admin NAME" } " prints one." }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Api(e) => e.status,
            PageError::Denied { .. } => StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            PageError::Denied { owner_name, denial, csrf } => layout::denied(owner_name, *denial, csrf),
            PageError::Api(e) => {
                let signed_out = e.code == "console_sign_in_required" || e.code == "console_link_invalid";
                let title = if signed_out { "Sign in to the console" } else { "Something went wrong" };
                layout::bare(
                    title,
                    html! {
                        section.card.notice aria-labelledby="error-title" {
                            h1 #error-title { (title) }
                            p.lead { (e.message) }
                            @if signed_out { (sign_in_help()) }
                            p.meta { "Code " code { (e.code) } " · status " (e.status.as_u16()) " · request " code { (current_request_id()) } }
                            @if !signed_out { p { a href="/console/" { "Back to the console" } } }
                        }
                    },
                )
            }
        };
        HttpResponse::build(self.status_code())
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(body.into_string())
    }
}
