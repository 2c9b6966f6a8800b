//! `serve`: open and migrate the database, start the actors, serve HTTP until a signal.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use actix_web::{HttpServer, web};

use super::{EXIT_FAILED, ensure_data_dir, open_database};
use crate::actors::TokenSessions;
use crate::actors::token_sessions::{AuthLimits, Flush};
use crate::auth::InternalToken;
use crate::auth::internal::MIN_LEN;
use crate::config::{InternalTokenSource, Mode, ServeSettings};
use crate::http::{self, AppState};
use crate::service::Services;
use crate::telemetry;

pub fn run(settings: ServeSettings) -> ExitCode {
    telemetry::init(&settings.base.log);
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    let result = actix_web::rt::System::new().block_on(serve(settings));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Local dev without a configured token: reuse the generated token file or create one
/// readable by this user only. Its path is logged, never its content.
fn generated_internal_token(path: &Path) -> Result<InternalToken, String> {
    if let Some(dir) = path.parent() {
        ensure_data_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    if path.exists() {
        let value = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value = value.trim().to_string();
        if value.chars().count() >= MIN_LEN {
            restrict_permissions(path)?;
            return Ok(InternalToken::new(value));
        }
        tracing::warn!(path = %path.display(), "generated internal token file is too short; replacing it");
        std::fs::remove_file(path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    }
    let token = InternalToken::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    writeln!(file, "{}", token.expose()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(token)
}

fn restrict_permissions(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    }
    Ok(())
}

async fn serve(settings: ServeSettings) -> Result<(), String> {
    let internal_token = match (&settings.internal_token, &settings.internal_token_source) {
        (Some(t), _) => t.clone(),
        (None, InternalTokenSource::Generated(path)) => {
            let token = generated_internal_token(path)?;
            tracing::info!(path = %path.display(), "local mode: internal token is in this file (mode 0600)");
            token
        }
        (None, _) => return Err("no internal token configured".into()),
    };

    let db = open_database(&settings.base, settings.db_pool_size).await?;
    let sessions = TokenSessions::start_supervised(db.clone(), AuthLimits::default());
    let state = web::Data::new(AppState {
        db: db.clone(),
        services: Services { db: db.clone(), sessions: Some(sessions.clone()) },
        sessions: sessions.clone(),
        internal_token,
        public_url: settings.public_url.clone(),
        trust_forwarded_for: settings.trust_forwarded_for,
    });

    let max_body = settings.max_body_bytes;
    let mut server = HttpServer::new(move || http::build(state.clone(), max_body))
        .bind(settings.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    for addr in server.addrs() {
        tracing::info!(
            address = %addr,
            mode = match settings.mode { Mode::Local => "local", Mode::Production => "production" },
            database = %settings.base.database_url,
            public_url = %settings.public_url,
            "listening"
        );
    }
    let result = server.run().await.map_err(|e| format!("server failed: {e}"));

    // Record pending last-used times, then close the pool while the runtime still runs.
    let _ = sessions.send(Flush).await;
    db.close();
    tracing::info!("stopped");
    result
}
