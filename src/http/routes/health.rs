use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::http::AppState;
use crate::http::error::{ApiError, HttpCode};
use crate::http::request_context::current_request_id;
use crate::storage::migrations::SchemaStatus;
use crate::tasker::client::{CallContext, TaskerClient, TaskerConfig, TaskerError};

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers and its schema is the one this binary expects (else 503).
/// Tasker's reachability is reported beside it, as `tasker`, without failing the
/// check: the owner API and the console work without Tasker, and taking the gateway
/// out of rotation would not bring Tasker back (agents' tool calls then answer
/// `tasker_unavailable` themselves).
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let not_ready = |reason: String| ApiError::new(HttpCode::NotReady, reason);
    match state.db.schema_status().await {
        Ok(SchemaStatus::Current) => Ok(HttpResponse::Ok().json(json!({
            "status": "ready",
            "database": state.db.backend().to_string(),
            "schema": "current",
            "tasker": state.tasker_seen.reachability(&state.tasker).await,
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

/// Tasker's reachability as last probed, at most once per [`PROBE_EVERY`] whatever the
/// rate of `/readyz` calls (they need no token, so they must not become calls to
/// Tasker one for one). Calls arriving during a probe wait for its answer.
#[derive(Default)]
pub struct TaskerSeen(tokio::sync::Mutex<Option<(Instant, &'static str)>>);

impl TaskerSeen {
    pub async fn reachability(&self, config: &TaskerConfig) -> &'static str {
        let mut seen = self.0.lock().await;
        if let Some((at, answer)) = *seen
            && at.elapsed() < PROBE_EVERY
        {
            return answer;
        }
        let answer = probe(config).await;
        *seen = Some((Instant::now(), answer));
        answer
    }
}

const PROBE_EVERY: Duration = Duration::from_secs(5);

/// `reachable` when Tasker answers a cheap read within two seconds, `unreachable` when
/// it does not answer, `refusing` when it answers but refuses the gateway's call (a
/// wrong token, an answer outside the contract). Details go to the log only.
async fn probe(config: &TaskerConfig) -> &'static str {
    let mut probe = config.clone();
    probe.retries = 0;
    probe.timeout = probe.timeout.min(PROBE_TIMEOUT);
    probe.connect_timeout = probe.connect_timeout.min(PROBE_TIMEOUT);
    let client = TaskerClient::new(std::sync::Arc::new(probe));
    let cx = CallContext { granted: vec![], request_id: current_request_id(), trace: None };
    match client.list_projects(&cx).await {
        Ok(_) => "reachable",
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: Tasker");
            match e {
                TaskerError::Unavailable { .. } => "unreachable",
                TaskerError::Rejected(_) | TaskerError::Protocol(_) => "refusing",
            }
        }
    }
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
