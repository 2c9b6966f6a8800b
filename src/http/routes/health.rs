use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::storage::migrations::SchemaStatus;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers and its schema is the one this binary expects.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let not_ready = |reason: String| ApiError::new(HttpCode::NotReady, reason);
    match state.db.schema_status().await {
        Ok(SchemaStatus::Current) => Ok(HttpResponse::Ok().json(json!({
            "status": "ready",
            "database": state.db.backend().to_string(),
            "schema": "current",
        }))),
        Ok(SchemaStatus::Pending(v)) => {
            Err(not_ready(format!("database schema is behind: pending migrations {}", v.join(", "))))
        }
        Ok(SchemaStatus::Newer(v)) => {
            Err(not_ready(format!("database schema is newer than this binary: {}", v.join(", "))))
        }
        Err(e) => {
            // Details (hosts, ports) are for the log, not for unauthenticated callers.
            tracing::warn!(error = %e, "readiness check: database unreachable");
            Err(not_ready("database unreachable".to_string()))
        }
    }
}
