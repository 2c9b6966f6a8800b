//! `GET /metrics`: Prometheus text. On the main port behind an internal token; on
//! `METRICS_BIND` (a separate listener, for a scraper on a private network) without.

use actix_web::{HttpResponse, web};

use crate::actors::tasker_writer::WriterStats;
use crate::http::AppState;
use crate::http::extract::InternalCaller;
use crate::storage::{self, StorageError};
use crate::telemetry::metrics::{self, Sampled};

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Behind the internal token (any internal caller).
pub async fn with_token(_: InternalCaller, state: web::Data<AppState>) -> HttpResponse {
    scrape(&state).await
}

/// On the metrics listener.
pub async fn open(state: web::Data<AppState>) -> HttpResponse {
    scrape(&state).await
}

async fn scrape(state: &AppState) -> HttpResponse {
    let body = metrics::render(&sample(state).await);
    HttpResponse::Ok().content_type(CONTENT_TYPE).insert_header(("cache-control", "no-store")).body(body)
}

/// The gauges, read now; one that cannot be read is left out (and logged).
async fn sample(state: &AppState) -> Sampled {
    let writer_queue_depth = state.writer.send(WriterStats).await.ok().map(|s| s.pending);
    let counts = state
        .db
        .run(|c| {
            let mcp = storage::mcp_sessions::count_open(c)?;
            let work = storage::work_sessions::count_open_by_state(c)?;
            Ok::<_, StorageError>((mcp, work))
        })
        .await;
    let (mcp_sessions_open, work_sessions) = match counts {
        Ok((mcp, work)) => (Some(mcp), work),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not count sessions");
            (None, Vec::new())
        }
    };
    Sampled { writer_queue_depth, mcp_sessions_open, work_sessions, db_pool: state.db.pool_status().to_vec() }
}
