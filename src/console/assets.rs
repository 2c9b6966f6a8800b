//! The console's stylesheet and script, compiled into the binary and served under
//! `/console/assets/{version}/{name}` with a year's cache: the version is a hash of
//! their content, so a new build changes every URL and no browser keeps an old file.

use std::sync::LazyLock;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::http::error::{ApiError, HttpCode};

const FILES: &[(&str, &str, &str)] = &[
    ("console.css", "text/css; charset=utf-8", include_str!("assets/console.css")),
    ("console.js", "text/javascript; charset=utf-8", include_str!("assets/console.js")),
];

/// The first 12 hex digits of the SHA-256 of every asset.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for (name, _, body) in FILES {
        h.update(name.as_bytes());
        h.update(body.as_bytes());
    }
    h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
});

/// The URL of an asset in this build.
pub fn url(name: &str) -> String {
    format!("/console/assets/{}/{name}", *VERSION)
}

pub async fn serve(path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (version, name) = path.into_inner();
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) if version == *VERSION => Ok(HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, *content_type))
            .insert_header((CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(*body)),
        _ => Err(ApiError::new(HttpCode::RouteNotFound, "no such asset in this build")),
    }
}
