//! Command-line entry: parse, validate, dispatch. Exit codes: 0 done, 1 failed,
//! 2 invalid configuration or usage.

mod operator;
pub mod serve;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

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
        Command::ReferenceTasker(_) => {
            eprintln!("error: the reference Tasker is not wired in yet");
            ExitCode::from(EXIT_FAILED)
        }
        command => match config::validate_base(&cli.global) {
            Ok(base) => operator::run(base, command),
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

/// Opens the database and brings its schema up to date (refusing a newer schema).
pub async fn open_database(base: &BaseSettings, pool_size: usize) -> Result<Db, String> {
    if base.embedded_default {
        ensure_data_dir(&base.data_dir)
            .map_err(|e| format!("cannot create data directory {}: {e}", base.data_dir.display()))?;
    }
    let db = Db::connect(&base.database_url, pool_size)
        .await
        .map_err(|e| format!("cannot open database {}: {e}", base.database_url))?;
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
