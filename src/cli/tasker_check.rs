//! `tasker-check`: checks the arguments (exit 2 when they are unusable), runs the
//! conformance kit ([`crate::tasker_check`]) on its own actix System (awc clients are
//! bound to their thread), prints the report, and exits 1 when a rule failed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use uuid::Uuid;

use super::{EXIT_CONFIG, EXIT_FAILED};
use crate::auth::InternalToken;
use crate::config::args::TaskerCheckArgs;
use crate::tasker_check::{self, Target};

/// Why the arguments cannot be used. Never holds the token.
#[derive(Debug, thiserror::Error)]
enum ArgError {
    #[error("--url `{0}` is not an http(s) base URL; expected e.g. https://tasker.example.com")]
    Url(String),
    #[error("cannot read --token-file {}: {source}", path.display())]
    TokenFile { path: PathBuf, source: std::io::Error },
    #[error("--token-file {} is empty; it must hold the NODE.DC internal token Tasker's adapter expects", .0.display())]
    EmptyToken(PathBuf),
    #[error("--project `{0}` is not a project id; expected a UUID")]
    Project(String),
}

fn target(args: &TaskerCheckArgs) -> Result<Target, ArgError> {
    let raw = args.url.trim();
    let url = match url::Url::parse(raw) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.query().is_none()
                && u.fragment().is_none() =>
        {
            raw.trim_end_matches('/').to_string()
        }
        _ => return Err(ArgError::Url(raw.to_string())),
    };
    let token = std::fs::read_to_string(&args.token_file)
        .map_err(|source| ArgError::TokenFile { path: args.token_file.clone(), source })?;
    let token = token.trim();
    if token.is_empty() {
        return Err(ArgError::EmptyToken(args.token_file.clone()));
    }
    let project = Uuid::parse_str(args.project.trim()).map_err(|_| ArgError::Project(args.project.clone()))?;
    Ok(Target { url, token: InternalToken::new(token.to_string()), project })
}

pub fn run(args: TaskerCheckArgs) -> ExitCode {
    let target = match target(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let report = actix_web::rt::System::new().block_on(tasker_check::run(target));
    let out = if args.json { format!("{:#}\n", report.to_json()) } else { report.to_text() };
    // A closed pipe (`| head`) is not a failed check.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if report.failed() > 0 { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS }
}
