//! `reference-tasker`: the reference Tasker alone, on its own listener, for developing
//! against the adapter contract or pointing a gateway at it with TASKER_URL.

use std::net::SocketAddr;
use std::process::ExitCode;

use super::{EXIT_CONFIG, EXIT_FAILED, generated_token_file, open_database};
use crate::auth::InternalToken;
use crate::auth::internal::MIN_LEN;
use crate::config::BaseSettings;
use crate::config::args::ReferenceTaskerArgs;
use crate::reference_tasker;
use crate::telemetry;

pub const TOKEN_FILE: &str = "reference-tasker-token";

/// Ctrl-C or SIGTERM (a container's stop signal).
async fn stopped() {
    #[cfg(unix)]
    {
        use actix_web::rt::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = actix_web::rt::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = actix_web::rt::signal::ctrl_c().await;
}

pub fn run(base: BaseSettings, args: ReferenceTaskerArgs) -> ExitCode {
    telemetry::init(&base.log);
    let Ok(bind) = args.bind.trim().parse::<SocketAddr>() else {
        eprintln!("error: --bind `{}` is not an address; expected IP:PORT, e.g. 127.0.0.1:8788", args.bind);
        return ExitCode::from(EXIT_CONFIG);
    };
    let given = args.token.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
    if let Some(t) = &given
        && t.chars().count() < MIN_LEN
    {
        eprintln!("error: the reference Tasker token is too weak; expected at least {MIN_LEN} characters");
        return ExitCode::from(EXIT_CONFIG);
    }
    let result = actix_web::rt::System::new().block_on(async move {
        let token = match given {
            Some(t) => InternalToken::new(t),
            None => {
                let path = base.data_dir.join(TOKEN_FILE);
                let token = generated_token_file(&path)?;
                tracing::info!(path = %path.display(), "the token callers must present is in this file (mode 0600)");
                token
            }
        };
        let db = open_database(&base, 4).await?;
        if !args.no_seed && reference_tasker::seed::seed_demo(&db).await.map_err(|e| format!("seeding: {e}"))? {
            tracing::info!("seeded a demo workspace");
        }
        let running =
            reference_tasker::start(db.clone(), token.expose(), bind).await.map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        if !running.addr.ip().is_loopback() {
            tracing::warn!(address = %running.addr, "the board page has no authentication: expose it only on a trusted network");
        }
        tracing::info!(address = %running.addr, board = %format!("http://{}/", running.addr), "listening");
        stopped().await;
        running.handle.stop(true).await;
        db.close();
        Ok::<_, String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
