//! `serve`: open and migrate the database, start the actors, serve HTTP until a signal.

use std::process::ExitCode;

use actix_web::HttpServer;

use super::{EXIT_FAILED, generated_token_file, open_database};
use std::sync::Arc;

use crate::actors::tasker_writer::WriterLimits;
use crate::actors::token_sessions::{AuthLimits, Flush};
use crate::actors::work_sessions::FlushActivity;
use crate::app::{self, AppOptions};
use crate::auth::{InternalToken, InternalTokens};
use crate::config::TaskerSetting;
use crate::config::{self, InternalTokenSource, Mode, ServeSettings};
use crate::http;
use crate::reference_tasker::{self, RunningTasker};
use crate::storage::Db;
use crate::tasker::client::{self as tasker_client, TaskerConfig};
use crate::telemetry;

pub fn run(settings: ServeSettings) -> ExitCode {
    let telemetry = telemetry::init_with_spans(&settings.base.log);
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    let result = actix_web::rt::System::new().block_on(serve(settings));
    // The spans still buffered are exported now, outside the runtime.
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// `GET /metrics` without a token on its own address (METRICS_BIND), one worker.
fn metrics_server(
    state: actix_web::web::Data<app::AppState>,
    addr: std::net::SocketAddr,
) -> Result<actix_web::dev::ServerHandle, String> {
    let server = HttpServer::new(move || http::build_metrics(state.clone()))
        .workers(1)
        .disable_signals()
        .bind(addr)
        .map_err(|e| format!("cannot listen on {addr} (METRICS_BIND): {e}"))?;
    let bound = server.addrs().first().copied();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    tracing::info!(metrics_address = %bound.map(|a| a.to_string()).unwrap_or_default(), "serving GET /metrics without a token");
    Ok(handle)
}

/// The Tasker to use: the configured one, or the reference Tasker started here on a
/// loopback port (seeded with a demo workspace in local mode) and reached through the
/// same HTTP client path.
async fn tasker(settings: &ServeSettings, db: &Db) -> Result<(Arc<TaskerConfig>, Option<RunningTasker>), String> {
    let (mut config, running) = match &settings.tasker {
        TaskerSetting::Remote { url, token } => {
            tracing::info!(tasker = %url, "using Tasker");
            (TaskerConfig::new(url.clone(), token.clone()), None)
        }
        TaskerSetting::Embedded => {
            if settings.mode == Mode::Local
                && reference_tasker::seed::seed_demo(db)
                    .await
                    .map_err(|e| format!("seeding the reference Tasker: {e}"))?
            {
                tracing::info!("seeded the reference Tasker with a demo workspace");
            }
            // A fresh token per process: only this process talks to it.
            let token = InternalToken::generate();
            let running = reference_tasker::start(db.clone(), token.expose(), settings.reference_tasker_bind)
                .await
                .map_err(|e| format!("cannot start the reference Tasker on {}: {e}", settings.reference_tasker_bind))?;
            tracing::info!(board = %format!("http://{}/", running.addr), "reference Tasker running in process");
            (TaskerConfig::new(format!("http://{}", running.addr), token), Some(running))
        }
    };
    config.timeout = settings.tasker_timeout;
    Ok((Arc::new(config), running))
}

async fn serve(settings: ServeSettings) -> Result<(), String> {
    let shared = match (&settings.internal_token, &settings.internal_token_source) {
        (Some(t), _) => Some(t.clone()),
        (None, InternalTokenSource::Generated(path)) => {
            let token = generated_token_file(path)?;
            tracing::info!(path = %path.display(), "local mode: internal token is in this file (mode 0600)");
            Some(token)
        }
        // Launcher and Tasker's backend each have their own token (validated).
        (None, _) => None,
    };
    let internal_tokens = InternalTokens {
        shared,
        launcher: settings.launcher_token.clone(),
        tasker_backend: settings.tasker_backend_token.clone(),
    };

    tasker_client::install_crypto_provider();
    let db = open_database(&settings.base, settings.db_pool_size).await?;
    let (tasker, embedded) = match tasker(&settings, &db).await {
        Ok(t) => t,
        Err(e) => {
            db.close();
            return Err(e);
        }
    };
    // Bind first: the public URL and the allowed origins derive from the real address
    // when none is configured (port 0 included).
    let listener = match std::net::TcpListener::bind(settings.bind) {
        Ok(l) => l,
        Err(e) => {
            db.close();
            return Err(format!("cannot listen on {}: {e}", settings.bind));
        }
    };
    let bound = listener.local_addr().map_err(|e| format!("cannot read the bound address: {e}"))?;
    let public_url = config::public_url_for(settings.public_url.as_deref(), bound);
    let allowed_origins = config::allowed_origins(&public_url, bound, &settings.extra_origins);
    let options = AppOptions {
        internal_tokens,
        public_url: public_url.clone(),
        allowed_origins,
        trust_forwarded_for: settings.trust_forwarded_for,
        max_body_bytes: settings.max_body_bytes,
        auth: AuthLimits::default(),
        rate: settings.rate_limits,
        writer: WriterLimits::default(),
        reporting: settings.reporting,
        janitor_every: std::time::Duration::from_secs(600),
        retention: settings.retention,
    };
    let state = app::build(db.clone(), tasker, options);
    let sessions = state.sessions.clone();
    let work_sessions = state.work_sessions.clone();
    let metrics = match settings.metrics_bind.map(|addr| metrics_server(state.clone(), addr)).transpose() {
        Ok(m) => m,
        Err(e) => {
            db.close();
            return Err(e);
        }
    };

    let mut server = HttpServer::new(move || http::build(state.clone()))
        .listen(listener)
        .map_err(|e| format!("cannot listen on {bound}: {e}"))?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    tracing::info!(
        address = %bound,
        mode = match settings.mode { Mode::Local => "local", Mode::Production => "production" },
        database = %settings.base.database_url,
        public_url = %public_url,
        "listening"
    );
    let result = server.run().await.map_err(|e| format!("server failed: {e}"));
    if let Some(m) = metrics {
        m.stop(true).await;
    }

    // Record pending last-used times and activity counts, then close the pool while
    // the runtime still runs.
    let _ = sessions.send(Flush).await;
    if let Ok(Err(e)) = work_sessions.send(FlushActivity).await {
        tracing::warn!(error = %e, "could not record pending activity at shutdown");
    }
    if let Some(reference) = embedded {
        reference.handle.stop(true).await;
    }
    db.close();
    tracing::info!("stopped");
    result
}
