//! Configuration validation (`config::validate_serve`) on any set of settings, given
//! as command-line flags parsed by the real `Cli`: never panics; every problem names
//! a real setting and says what is expected; no secret value (the internal, Tasker,
//! Launcher and Tasker-backend tokens, a database URL's password) ever appears in the
//! problems or the warnings.
//!
//! Input: `SETTING=value` lines (`BIND=127.0.0.1:8787`). Secret values are prefixed
//! with a marker the check looks for; in `DATABASE_URL`, `{PW}` after `://` stands for
//! the password (also marked). `*_FILE` settings are left out (they read files).
#![no_main]

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use nodedc_agent_gateway::config::args::{Cli, Command};
use nodedc_agent_gateway::config::{ENV_PREFIX, validate_serve};

const MARKER: &str = "Zq7sEcReTmArK";
const SECRETS: &[&str] = &["INTERNAL_TOKEN", "TASKER_TOKEN", "LAUNCHER_TOKEN", "TASKER_BACKEND_TOKEN"];
/// Every setting of `serve` and the global ones, by environment suffix (args.rs).
const SETTINGS: &[&str] = &[
    "DATABASE_URL",
    "DATA_DIR",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "MODE",
    "BIND",
    "PUBLIC_URL",
    "INTERNAL_TOKEN",
    "INTERNAL_TOKEN_FILE",
    "MAX_BODY_BYTES",
    "DB_POOL_SIZE",
    "TRUST_FORWARDED_FOR",
    "WORKERS",
    "TASKER_URL",
    "TASKER_TOKEN",
    "REFERENCE_TASKER_BIND",
    "RATE_READ_PER_MINUTE",
    "RATE_READ_BURST",
    "RATE_WRITE_PER_MINUTE",
    "RATE_WRITE_BURST",
    "ALLOWED_ORIGINS",
    "TASKER_TIMEOUT_SECS",
    "LAUNCHER_TOKEN",
    "LAUNCHER_TOKEN_FILE",
    "TASKER_BACKEND_TOKEN",
    "TASKER_BACKEND_TOKEN_FILE",
    "REPORT_STALE_AFTER_SECS",
    "REPORT_ABANDON_AFTER_SECS",
    "DATABASE_URL_FILE",
    "TASKER_TOKEN_FILE",
    "METRICS_BIND",
    "MCP_SESSION_IDLE_SECS",
    "AUDIT_RETENTION_DAYS",
];

fn database_url(raw: &str) -> String {
    match raw.find("://") {
        Some(at) => format!("{}{}", &raw[..at + 3], raw[at + 3..].replacen("{PW}", &format!("{MARKER}pw"), 1)),
        None => raw.to_string(),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut argv = vec!["nodedc-agent-gateway".to_string(), "serve".to_string()];
    let mut marked_elsewhere = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim().to_ascii_uppercase();
        if !SETTINGS.contains(&key.as_str()) || key.ends_with("_FILE") {
            continue;
        }
        let value = if SECRETS.contains(&key.as_str()) {
            format!("{MARKER}{value}")
        } else if key == "DATABASE_URL" {
            marked_elsewhere |= value.contains(MARKER);
            database_url(value)
        } else {
            marked_elsewhere |= value.contains(MARKER);
            value.to_string()
        };
        argv.push(format!("--{}={value}", key.to_ascii_lowercase().replace('_', "-")));
    }
    let Ok(cli) = Cli::try_parse_from(&argv) else { return };
    let Command::Serve(serve) = cli.command else { panic!("serve parses as serve") };
    let (problems, warnings) = match validate_serve(&cli.global, &serve) {
        Ok(settings) => (String::new(), settings.warnings.join("\n")),
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error has problems");
            for p in &errors.0 {
                assert!(SETTINGS.contains(&p.setting), "`{}` is not a setting", p.setting);
                assert!(!p.problem.is_empty() && !p.expected.is_empty(), "{p}");
                assert!(p.to_string().starts_with(&format!("{ENV_PREFIX}{}", p.setting)), "{p}");
            }
            (errors.to_string(), String::new())
        }
    };
    if !marked_elsewhere {
        assert!(!problems.contains(MARKER), "a secret value is echoed:\n{problems}");
        assert!(!warnings.contains(MARKER), "a secret value is echoed:\n{warnings}");
    }
});
