//! Health endpoints, so a container or a script can wait for the reference Tasker the
//! way it waits for the gateway (same paths, same answers). No token: they reveal
//! nothing but "up" and "ready", and a healthcheck has no credential.
//!
//! - `GET /healthz`: the process is up and serving (`{"status":"ok"}`).
//! - `GET /readyz`: the database answers and holds the reference Tasker's tables as this
//!   binary expects (its migration set fully applied); otherwise `503 unavailable`.
//!   docker/compose.yaml's healthcheck uses this one, because there "healthy" is what
//!   the gateway waits for before it starts.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::error::RefTaskerError;
use super::{TaskerState, migrations};
use crate::tasker::contract::ErrorCode;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // A resource answers another method with 405.
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<TaskerState>) -> Result<HttpResponse, RefTaskerError> {
    // A storage error becomes `unavailable` (503), logged without reaching the caller.
    let pending = state.db.run(|c| migrations::MIGRATIONS.pending(c)).await?;
    if !pending.is_empty() {
        return Err(RefTaskerError::new(
            ErrorCode::Unavailable,
            format!("the reference Tasker's tables are behind: pending migrations {}", pending.join(", ")),
        ));
    }
    Ok(HttpResponse::Ok().json(json!({
        "status": "ready",
        "database": state.db.backend().to_string(),
        "schema": "current",
    })))
}
