//! Command-line entry: parse, validate, dispatch. Exit codes: 0 done, 1 failed,
//! 2 invalid configuration or usage.

mod console_link;
mod demo;
mod operator;
mod reference;
pub mod serve;
mod tasker_check;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use crate::auth::InternalToken;
use crate::auth::internal::MIN_LEN;
use crate::config::args::{Cli, Command};
use crate::config::{self, BaseSettings};
use crate::storage::{Db, StorageError};

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => match config::validate_serve(&cli.global, &args) {
            Ok(settings) => serve::run(settings),
            Err(problems) => {
                eprint!("{problems}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::ReferenceTasker(args) => match config::validate_base(&cli.global) {
            Ok(base) => reference::run(base, args),
            Err(problems) => {
                eprint!("{problems}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::TaskerCheck(args) => tasker_check::run(args),
        command => match config::validate_operator(&cli.global) {
            Ok(settings) => operator::run(settings, command),
            Err(problems) => {
                eprint!("{problems}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
    }
}

/// Creates the data directory (owner-only) when the embedded database or generated
/// files need it.
pub fn ensure_data_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Local dev without a configured token: reuse the generated token file or create one
/// readable by this user only. Its path is logged, never its content.
pub(super) fn generated_token_file(path: &Path) -> Result<InternalToken, String> {
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
        tracing::warn!(path = %path.display(), "generated token file is too short; replacing it");
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

/// Where a database is, for people: the file path for SQLite, the URL with any
/// password masked for PostgreSQL.
pub fn describe_database(base: &BaseSettings) -> String {
    match base.database_url.sqlite_path() {
        Some(path) => format!("SQLite file {}", path.display()),
        None => format!("PostgreSQL {}", base.database_url),
    }
}

fn missing_database(base: &BaseSettings, problem: &str) -> String {
    format!(
        "the database {} {problem}; is this the right directory (or NODEDC_AGENT_GATEWAY_DATABASE_URL / --data-dir)? \
         Run `migrate`, `serve`, or this command with --init to create it",
        describe_database(base)
    )
}

/// For operator commands: refuses a database that does not exist yet (no SQLite file,
/// or a PostgreSQL database without the gateway's tables) unless `--init` was given,
/// so a command run in the wrong directory fails instead of acting on a new empty
/// database. Then opens it as [`open_database`] does.
pub async fn open_existing_database(base: &BaseSettings, pool_size: usize) -> Result<Db, String> {
    if !base.init {
        if let Some(path) = base.database_url.sqlite_path()
            && !path.is_file()
        {
            return Err(missing_database(base, "does not exist"));
        }
        let db = Db::connect(&base.database_url, 1)
            .await
            .map_err(|e| format!("cannot open database {}: {e}", describe_database(base)))?;
        let initialised = db.gateway_initialised().await;
        db.close();
        match initialised {
            Ok(true) => {}
            Ok(false) => return Err(missing_database(base, "has no gateway tables")),
            Err(e) => return Err(format!("cannot read database {}: {e}", describe_database(base))),
        }
    }
    open_database(base, pool_size).await
}

/// Opens the database and brings its schema up to date (refusing a newer schema).
pub async fn open_database(base: &BaseSettings, pool_size: usize) -> Result<Db, String> {
    if base.embedded_default {
        ensure_data_dir(&base.data_dir)
            .map_err(|e| format!("cannot create data directory {}: {e}", base.data_dir.display()))?;
    }
    // The reference Tasker may keep its own tables in the same database (local dev).
    let db = Db::connect(&base.database_url, pool_size)
        .await
        .map_err(|e| format!("cannot open database {}: {e}", base.database_url))?
        .knowing(&crate::reference_tasker::migrations::MIGRATIONS);
    match db.migrate().await {
        Ok(applied) => {
            for v in &applied {
                tracing::info!(version = %v, "applied migration");
            }
            Ok(db)
        }
        Err(e @ StorageError::SchemaTooNew(_)) => {
            db.close();
            Err(format!("refusing to use database {}: {e}", base.database_url))
        }
        Err(e) => {
            db.close();
            Err(format!("cannot migrate database {}: {e}", base.database_url))
        }
    }
}
