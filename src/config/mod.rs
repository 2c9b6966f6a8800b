//! Settings, validated at start. Every problem is collected and reported together
//! (exit code 2); no secret value is ever echoed.

pub mod args;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::auth::InternalToken;
use crate::auth::internal::MIN_LEN as INTERNAL_TOKEN_MIN_LEN;
use crate::storage::DatabaseUrl;
use args::{GlobalArgs, ServeArgs};

pub const ENV_PREFIX: &str = "NODEDC_AGENT_GATEWAY_";
pub const DEFAULT_DATA_DIR: &str = ".agent-gateway";
pub const DEFAULT_LOCAL_BIND: &str = "127.0.0.1:8787";
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
pub const DEFAULT_DB_POOL_SIZE: usize = 8;
pub const DEFAULT_REFERENCE_TASKER_BIND: &str = "127.0.0.1:8788";
pub const SQLITE_FILE: &str = "gateway.db";
pub const INTERNAL_TOKEN_FILE: &str = "internal-token";

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Environment variable suffix, e.g. `BIND` (shown with the prefix and as a flag).
    pub setting: &'static str,
    pub problem: String,
    pub expected: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = self.setting.to_ascii_lowercase().replace('_', "-");
        write!(f, "{ENV_PREFIX}{} (--{flag}): {}; expected {}", self.setting, self.problem, self.expected)
    }
}

/// All problems found, printed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "invalid configuration ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn add(&mut self, setting: &'static str, problem: impl Into<String>, expected: impl Into<String>) {
        self.0.push(ConfigProblem { setting, problem: problem.into(), expected: expected.into() });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

/// Settings every command needs: where the data is, how to log.
#[derive(Debug, Clone)]
pub struct BaseSettings {
    pub database_url: DatabaseUrl,
    /// True when no database URL was set and the embedded SQLite file is used.
    pub embedded_default: bool,
    pub data_dir: PathBuf,
    pub log: LogSettings,
    /// `--init`: operator commands may create the database.
    pub init: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Local,
    Production,
}

#[derive(Debug, Clone)]
pub enum InternalTokenSource {
    Given,
    File(PathBuf),
    /// Local dev: no token was set, so one is generated into this file (or read back
    /// from it on later starts).
    Generated(PathBuf),
}

/// Which Tasker the gateway talks to.
#[derive(Debug, Clone)]
pub enum TaskerSetting {
    /// The reference Tasker, started inside the gateway on a loopback port.
    Embedded,
    Remote {
        url: String,
        token: InternalToken,
    },
}

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub base: BaseSettings,
    pub mode: Mode,
    pub bind: SocketAddr,
    /// Where `GET /metrics` is also served, without a token (METRICS_BIND).
    pub metrics_bind: Option<SocketAddr>,
    /// Configured base URL; `None`: `http://` + the bound address.
    pub public_url: Option<String>,
    /// `None` only in local mode before the generated token is loaded (see
    /// [`InternalTokenSource::Generated`]).
    pub internal_token: Option<InternalToken>,
    pub internal_token_source: InternalTokenSource,
    pub max_body_bytes: usize,
    pub db_pool_size: usize,
    pub workers: Option<usize>,
    pub trust_forwarded_for: bool,
    pub rate_limits: crate::actors::rate_buckets::RateLimits,
    /// Browser origins allowed on /mcp besides the gateway's own (ALLOWED_ORIGINS).
    pub extra_origins: Vec<String>,
    /// Where the embedded reference Tasker listens.
    pub reference_tasker_bind: SocketAddr,
    pub tasker: TaskerSetting,
    pub tasker_timeout: std::time::Duration,
    /// Launcher's and Tasker's backend's own internal tokens, when they are separate.
    pub launcher_token: Option<InternalToken>,
    pub tasker_backend_token: Option<InternalToken>,
    /// When work sessions turn stale, then abandoned, without a report or a tool call.
    pub reporting: crate::actors::work_sessions::ReportTimers,
    /// How long MCP sessions (idle) and audit events are kept.
    pub retention: crate::actors::janitor::Retention,
    /// Accepted but worth saying once logging is up (never contains a secret).
    pub warnings: Vec<String>,
}

pub fn validate_base(g: &GlobalArgs) -> Result<BaseSettings, ConfigErrors> {
    let mut p = Problems::default();
    let base = base(g, &mut p);
    if p.0.is_empty() { Ok(base) } else { Err(ConfigErrors(p.0)) }
}

fn base(g: &GlobalArgs, p: &mut Problems) -> BaseSettings {
    let data_dir = g.data_dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let given = value_or_file(p, ("DATABASE_URL", &g.database_url), ("DATABASE_URL_FILE", &g.database_url_file));
    let (database_url, embedded_default) = match given {
        None => (DatabaseUrl::sqlite_file(&data_dir.join(SQLITE_FILE)), true),
        Some((raw, from)) => match DatabaseUrl::parse(&raw) {
            Ok(u) => (u, false),
            Err(why) => {
                // The URL may hold a password: describe it, never echo it.
                let problem = match &g.database_url_file {
                    Some(path) if from == "DATABASE_URL_FILE" => format!("the URL in {} {why}", path.display()),
                    _ => format!("the value {why}"),
                };
                p.add(from, problem, "postgres://USER[:PASSWORD]@HOST[:PORT]/DB or sqlite://PATH");
                (DatabaseUrl::sqlite_file(&data_dir.join(SQLITE_FILE)), true)
            }
        },
    };
    let format = match g.log_format.as_deref().map(str::trim) {
        None | Some("") | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            p.add("LOG_FORMAT", format!("`{other}` is not a log format"), "`text` or `json`");
            LogFormat::Text
        }
    };
    let filter = log_filter(g.log_level.as_deref());
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&filter) {
        p.add(
            "LOG_LEVEL",
            format!("`{filter}` is not a log filter ({e})"),
            "a level (error, warn, info, debug, trace) or directives like `info,nodedc_agent_gateway=debug`",
        );
    }
    BaseSettings { database_url, embedded_default, data_dir, log: LogSettings { format, filter }, init: g.init }
}

/// The log filter as given (default `info`), each directive trimmed. tracing-subscriber
/// slices a directive by the character positions of its trimmed form, so a directive
/// with leading spaces and a multi-byte character would panic in `EnvFilter::try_new`
/// (found by the `config_validation` fuzz target).
fn log_filter(raw: Option<&str>) -> String {
    let directives: Vec<&str> = raw.unwrap_or_default().split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    if directives.is_empty() { "info".to_string() } else { directives.join(",") }
}

/// A setting given as a value or as a file holding it (for container secrets), never
/// both: the trimmed value and the setting it came from. A problem names the setting
/// and the file's path, never what the file holds.
fn value_or_file(
    p: &mut Problems,
    (setting, value): (&'static str, &Option<String>),
    (file_setting, file): (&'static str, &Option<PathBuf>),
) -> Option<(String, &'static str)> {
    let given = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    match (given, file) {
        (Some(_), Some(_)) => {
            p.add(setting, format!("is set together with {ENV_PREFIX}{file_setting}"), "exactly one of the two");
            None
        }
        (Some(v), None) => Some((v.to_string(), setting)),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Some((v.trim().to_string(), file_setting)),
            Ok(_) => {
                p.add(file_setting, format!("{} is empty", path.display()), "a file holding the value");
                None
            }
            Err(e) => {
                p.add(
                    file_setting,
                    format!("{} cannot be read ({e})", path.display()),
                    "a readable file holding the value",
                );
                None
            }
        },
        (None, None) => None,
    }
}

/// What the operator commands need besides the base: the Tasker that new grants are
/// checked against (the same settings as `serve`'s; unset: the reference Tasker).
#[derive(Debug, Clone)]
pub struct OperatorSettings {
    pub base: BaseSettings,
    pub tasker: TaskerSetting,
}

pub fn validate_operator(g: &GlobalArgs) -> Result<OperatorSettings, ConfigErrors> {
    let mut p = Problems::default();
    let base = base(g, &mut p);
    let tasker = tasker(&mut p, g, Mode::Local);
    if p.0.is_empty() { Ok(OperatorSettings { base, tasker }) } else { Err(ConfigErrors(p.0)) }
}

/// The gateway's base URL as `serve` gives it to agents with the same settings:
/// PUBLIC_URL, else `http://` + BIND (default 127.0.0.1:8787). Used by every command
/// that prints a URL (`token issue`, `demo-setup`, `console-link`). A wildcard BIND
/// gives a URL no agent can use; the caller says so.
pub fn agent_url(public_url: Option<&str>, bind: Option<&str>) -> Result<(String, SocketAddr), ConfigProblem> {
    let raw_bind = bind.map(str::trim).filter(|b| !b.is_empty()).unwrap_or(DEFAULT_LOCAL_BIND);
    let bound: SocketAddr = raw_bind.parse().map_err(|_| ConfigProblem {
        setting: "BIND",
        problem: format!("`{raw_bind}` is not an address"),
        expected: "IP:PORT, e.g. 127.0.0.1:8787".into(),
    })?;
    let configured = match public_url.map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(raw) => Some(self::public_url(raw).ok_or_else(|| ConfigProblem {
            setting: "PUBLIC_URL",
            problem: format!("`{raw}` is not an http(s) base URL"),
            expected: "e.g. https://agents.example.com".into(),
        })?),
    };
    Ok((public_url_for(configured.as_deref(), bound), bound))
}

fn positive(p: &mut Problems, setting: &'static str, raw: Option<&str>, default: usize, max: usize) -> usize {
    match raw.map(str::trim) {
        None | Some("") => default,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                p.add(setting, format!("`{v}` is not a number from 1 to {max}"), format!("an integer from 1 to {max}"));
                default
            }
        },
    }
}

pub fn validate_serve(g: &GlobalArgs, s: &ServeArgs) -> Result<ServeSettings, ConfigErrors> {
    let mut p = Problems::default();
    let base = base(g, &mut p);

    let mode = match s.mode.as_deref().map(str::trim) {
        None | Some("") | Some("local") => Mode::Local,
        Some("production") => Mode::Production,
        Some(other) => {
            p.add("MODE", format!("`{other}` is not a mode"), "`local` or `production`");
            Mode::Local
        }
    };

    let bind_raw = s.bind.as_deref().map(str::trim).filter(|b| !b.is_empty());
    let bind = match bind_raw {
        None if mode == Mode::Production => {
            p.add("BIND", "is not set (required in production mode)", "IP:PORT, e.g. 0.0.0.0:8080");
            DEFAULT_LOCAL_BIND.parse().expect("constant address")
        }
        None => DEFAULT_LOCAL_BIND.parse().expect("constant address"),
        Some(raw) => match raw.parse::<SocketAddr>() {
            Ok(a) => {
                if mode == Mode::Local && !a.ip().is_loopback() {
                    p.add(
                        "BIND",
                        format!("`{raw}` is not a loopback address, and local mode serves only this machine"),
                        "a loopback address such as 127.0.0.1:8787, or MODE=production with a strong internal token",
                    );
                }
                a
            }
            Err(_) => {
                p.add("BIND", format!("`{raw}` is not an address"), "IP:PORT, e.g. 127.0.0.1:8787");
                DEFAULT_LOCAL_BIND.parse().expect("constant address")
            }
        },
    };

    let metrics_bind = match s.metrics_bind.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(raw) => match raw.parse::<SocketAddr>() {
            Ok(a) if mode == Mode::Local && !a.ip().is_loopback() => {
                p.add(
                    "METRICS_BIND",
                    format!("`{raw}` is not a loopback address, and local mode serves only this machine"),
                    "a loopback address such as 127.0.0.1:9090, or MODE=production",
                );
                None
            }
            Ok(a) if a == bind && a.port() != 0 => {
                p.add("METRICS_BIND", format!("`{raw}` is the same address as BIND"), "another IP:PORT");
                None
            }
            Ok(a) => Some(a),
            Err(_) => {
                p.add("METRICS_BIND", format!("`{raw}` is not an address"), "IP:PORT, e.g. 127.0.0.1:9090");
                None
            }
        },
    };

    // Unset: derived from the address actually bound (see `public_url_for`).
    let public_url = match s.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(raw) => {
            let url = public_url(raw);
            if url.is_none() {
                p.add("PUBLIC_URL", format!("`{raw}` is not an http(s) base URL"), "e.g. https://agents.example.com");
            }
            url
        }
    };

    let mut warnings = Vec::new();
    let launcher_token =
        secret(&mut p, &mut warnings, mode, ("LAUNCHER_TOKEN", &s.launcher_token), &s.launcher_token_file);
    let tasker_backend_token = secret(
        &mut p,
        &mut warnings,
        mode,
        ("TASKER_BACKEND_TOKEN", &s.tasker_backend_token),
        &s.tasker_backend_token_file,
    );
    // With both callers given their own token, the shared one is optional.
    let separate = launcher_token.is_some() && tasker_backend_token.is_some();
    let (internal_token, internal_token_source) =
        internal_token(&mut p, &mut warnings, s, mode, separate, &base.data_dir);
    let tokens = [
        ("INTERNAL_TOKEN", &internal_token),
        ("LAUNCHER_TOKEN", &launcher_token),
        ("TASKER_BACKEND_TOKEN", &tasker_backend_token),
    ];
    for (i, (a, ta)) in tokens.iter().enumerate() {
        for (b, tb) in &tokens[i + 1..] {
            if let (Some(ta), Some(tb)) = (ta, tb)
                && ta.matches(tb.expose())
            {
                p.add(b, format!("is the same as {ENV_PREFIX}{a}"), "a different token for each caller");
            }
        }
    }
    let reporting = report_timers(&mut p, s);
    let retention = retention(&mut p, s);

    let max_body_bytes =
        positive(&mut p, "MAX_BODY_BYTES", s.max_body_bytes.as_deref(), DEFAULT_MAX_BODY_BYTES, 16 * 1024 * 1024);
    let db_pool_size = positive(&mut p, "DB_POOL_SIZE", s.db_pool_size.as_deref(), DEFAULT_DB_POOL_SIZE, 256);
    let workers =
        s.workers.as_deref().filter(|w| !w.trim().is_empty()).map(|w| positive(&mut p, "WORKERS", Some(w), 1, 512));

    let trust_forwarded_for = match s.trust_forwarded_for.as_deref().map(str::trim) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            p.add("TRUST_FORWARDED_FOR", format!("`{other}` is not a boolean"), "`true` or `false`");
            false
        }
    };
    let rate_limits = {
        use crate::actors::rate_buckets::{Budget, RateLimits};
        let d = RateLimits::default();
        let budget =
            |p: &mut Problems, rate: (&'static str, Option<&str>), burst: (&'static str, Option<&str>), def: Budget| {
                Budget {
                    per_minute: positive(p, rate.0, rate.1, def.per_minute as usize, 1_000_000) as u32,
                    burst: positive(p, burst.0, burst.1, def.burst as usize, 100_000) as u32,
                }
            };
        RateLimits {
            read: budget(
                &mut p,
                ("RATE_READ_PER_MINUTE", s.rate_read_per_minute.as_deref()),
                ("RATE_READ_BURST", s.rate_read_burst.as_deref()),
                d.read,
            ),
            write: budget(
                &mut p,
                ("RATE_WRITE_PER_MINUTE", s.rate_write_per_minute.as_deref()),
                ("RATE_WRITE_BURST", s.rate_write_burst.as_deref()),
                d.write,
            ),
        }
    };
    let mut extra_origins = Vec::new();
    for raw in s.allowed_origins.as_deref().unwrap_or("").split(',').map(str::trim).filter(|o| !o.is_empty()) {
        match url::Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none() => {
                extra_origins.push(u.origin().ascii_serialization())
            }
            _ => p.add(
                "ALLOWED_ORIGINS",
                format!("`{raw}` is not an origin"),
                "scheme://host[:port], e.g. https://tasker.example.com",
            ),
        }
    }
    let reference_tasker_bind = match s.reference_tasker_bind.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => DEFAULT_REFERENCE_TASKER_BIND.parse().expect("constant address"),
        Some(raw) => match raw.parse::<SocketAddr>() {
            Ok(a) if a.ip().is_loopback() => a,
            _ => {
                p.add(
                    "REFERENCE_TASKER_BIND",
                    format!("`{raw}` is not a loopback address"),
                    "a loopback IP:PORT such as 127.0.0.1:8788 (port 0: any free port)",
                );
                DEFAULT_REFERENCE_TASKER_BIND.parse().expect("constant address")
            }
        },
    };
    let tasker = tasker(&mut p, g, mode);
    let tasker_timeout = std::time::Duration::from_secs(positive(
        &mut p,
        "TASKER_TIMEOUT_SECS",
        s.tasker_timeout_secs.as_deref(),
        15,
        300,
    ) as u64);

    if p.0.is_empty() {
        Ok(ServeSettings {
            base,
            mode,
            bind,
            metrics_bind,
            public_url,
            internal_token,
            internal_token_source,
            max_body_bytes,
            db_pool_size,
            workers,
            trust_forwarded_for,
            rate_limits,
            extra_origins,
            reference_tasker_bind,
            tasker,
            tasker_timeout,
            launcher_token,
            tasker_backend_token,
            reporting,
            retention,
            warnings,
        })
    } else {
        Err(ConfigErrors(p.0))
    }
}

/// A configured public URL, if it is an http(s) base URL with a host and no query;
/// without its trailing `/`.
pub fn public_url(raw: &str) -> Option<String> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.query().is_none() => {
            Some(raw.trim_end_matches('/').to_string())
        }
        _ => None,
    }
}

/// The base URL agents use: the configured one, or the address actually bound.
pub fn public_url_for(configured: Option<&str>, bound: SocketAddr) -> String {
    configured.map(str::to_string).unwrap_or_else(|| format!("http://{bound}"))
}

/// Browser origins allowed on /mcp: the public URL's, every spelling of a loopback
/// address bound, and the configured extras.
pub fn allowed_origins(public_url: &str, bound: SocketAddr, extra: &[String]) -> Vec<String> {
    let mut origins = vec![url::Url::parse(public_url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()];
    if bound.ip().is_loopback() {
        let port = bound.port();
        origins.extend([
            format!("http://localhost:{port}"),
            format!("http://127.0.0.1:{port}"),
            format!("http://[::1]:{port}"),
        ]);
    }
    origins.extend(extra.iter().cloned());
    origins.sort();
    origins.dedup();
    origins
}

fn tasker(p: &mut Problems, g: &GlobalArgs, mode: Mode) -> TaskerSetting {
    let url = g.tasker_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let token = value_or_file(p, ("TASKER_TOKEN", &g.tasker_token), ("TASKER_TOKEN_FILE", &g.tasker_token_file));
    let token = token.as_ref().map(|(t, from)| (t.as_str(), *from));
    let Some(raw) = url else {
        if mode == Mode::Production {
            p.add(
                "TASKER_URL",
                "is not set (required in production mode; the embedded reference Tasker is for local use)",
                "Tasker's base URL, e.g. https://tasker.example.com",
            );
        }
        if let Some((_, from)) = token {
            p.add(from, "is set but TASKER_URL is not", "both, or neither (embedded reference Tasker)");
        }
        return TaskerSetting::Embedded;
    };
    let url = match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.query().is_none() => {
            Some(raw.trim_end_matches('/').to_string())
        }
        _ => {
            p.add("TASKER_URL", format!("`{raw}` is not an http(s) base URL"), "e.g. https://tasker.example.com");
            None
        }
    };
    let token = match token {
        None => {
            if g.tasker_token_file.is_none() {
                p.add(
                    "TASKER_TOKEN",
                    "is not set but TASKER_URL is",
                    format!(
                        "the NODE.DC internal token Tasker expects ({INTERNAL_TOKEN_MIN_LEN}+ characters), or TASKER_TOKEN_FILE"
                    ),
                );
            }
            None
        }
        Some((t, from)) if t.chars().count() < INTERNAL_TOKEN_MIN_LEN => {
            p.add(
                from,
                format!("is too weak ({} characters)", t.chars().count()),
                format!("at least {INTERNAL_TOKEN_MIN_LEN} characters"),
            );
            None
        }
        Some((t, _)) => Some(InternalToken::new(t.to_string())),
    };
    match (url, token) {
        (Some(url), Some(token)) => TaskerSetting::Remote { url, token },
        _ => TaskerSetting::Embedded,
    }
}

fn retention(p: &mut Problems, s: &ServeArgs) -> crate::actors::janitor::Retention {
    let d = crate::actors::janitor::Retention::default();
    let default_idle = d.mcp_session_idle.as_secs() as usize;
    let idle =
        positive(p, "MCP_SESSION_IDLE_SECS", s.mcp_session_idle_secs.as_deref(), default_idle, 10 * 365 * 86_400);
    let audit_days = s
        .audit_retention_days
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| positive(p, "AUDIT_RETENTION_DAYS", Some(v), 1, 36_500) as u32);
    crate::actors::janitor::Retention { mcp_session_idle: std::time::Duration::from_secs(idle as u64), audit_days }
}

fn report_timers(p: &mut Problems, s: &ServeArgs) -> crate::actors::work_sessions::ReportTimers {
    use crate::actors::work_sessions::ReportTimers;
    let d = ReportTimers::default();
    let secs = |p: &mut Problems, setting, raw: Option<&str>, default: std::time::Duration| {
        std::time::Duration::from_secs(positive(p, setting, raw, default.as_secs() as usize, 10 * 365 * 86_400) as u64)
    };
    let stale_after = secs(p, "REPORT_STALE_AFTER_SECS", s.report_stale_after_secs.as_deref(), d.stale_after);
    let abandon_after = secs(p, "REPORT_ABANDON_AFTER_SECS", s.report_abandon_after_secs.as_deref(), d.abandon_after);
    if abandon_after <= stale_after {
        p.add(
            "REPORT_ABANDON_AFTER_SECS",
            format!("{} is not after REPORT_STALE_AFTER_SECS ({})", abandon_after.as_secs(), stale_after.as_secs()),
            "more seconds than REPORT_STALE_AFTER_SECS",
        );
    }
    ReportTimers { stale_after, abandon_after }
}

/// An optional secret given as a value or as a file (never both), at least
/// `INTERNAL_TOKEN_MIN_LEN` characters in production. Only its length is ever reported.
fn secret(
    p: &mut Problems,
    warnings: &mut Vec<String>,
    mode: Mode,
    (setting, value): (&'static str, &Option<String>),
    file: &Option<PathBuf>,
) -> Option<InternalToken> {
    let file_setting = match setting {
        "LAUNCHER_TOKEN" => "LAUNCHER_TOKEN_FILE",
        "TASKER_BACKEND_TOKEN" => "TASKER_BACKEND_TOKEN_FILE",
        _ => "TOKEN_FILE",
    };
    let (value, _) = value_or_file(p, (setting, value), (file_setting, file))?;
    let chars = value.chars().count();
    if chars < INTERNAL_TOKEN_MIN_LEN {
        let problem = format!("is too weak ({chars} characters)");
        if mode == Mode::Production {
            p.add(setting, problem, format!("at least {INTERNAL_TOKEN_MIN_LEN} characters"));
            return None;
        }
        warnings.push(format!("{ENV_PREFIX}{setting} {problem}; accepted in local mode only, refused in production"));
    }
    Some(InternalToken::new(value))
}

fn internal_token(
    p: &mut Problems,
    warnings: &mut Vec<String>,
    s: &ServeArgs,
    mode: Mode,
    separate_tokens: bool,
    data_dir: &Path,
) -> (Option<InternalToken>, InternalTokenSource) {
    let given = s.internal_token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let (value, source) = match (given, &s.internal_token_file) {
        (Some(_), Some(_)) => {
            p.add("INTERNAL_TOKEN", "is set together with INTERNAL_TOKEN_FILE", "exactly one of the two");
            return (None, InternalTokenSource::Given);
        }
        (Some(v), None) => (v.to_string(), InternalTokenSource::Given),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(v) => (v.trim().to_string(), InternalTokenSource::File(path.clone())),
            Err(e) => {
                p.add(
                    "INTERNAL_TOKEN_FILE",
                    format!("{} cannot be read ({e})", path.display()),
                    "a readable file holding the token",
                );
                return (None, InternalTokenSource::File(path.clone()));
            }
        },
        (None, None) if mode == Mode::Local => {
            return (None, InternalTokenSource::Generated(data_dir.join(INTERNAL_TOKEN_FILE)));
        }
        (None, None) if separate_tokens => return (None, InternalTokenSource::Given),
        (None, None) => {
            p.add(
                "INTERNAL_TOKEN",
                "is not set (required in production mode)",
                format!(
                    "a random secret of at least {INTERNAL_TOKEN_MIN_LEN} characters (or INTERNAL_TOKEN_FILE, or both LAUNCHER_TOKEN and TASKER_BACKEND_TOKEN)"
                ),
            );
            return (None, InternalTokenSource::Given);
        }
    };
    let chars = value.chars().count();
    if chars < INTERNAL_TOKEN_MIN_LEN {
        let setting = match source {
            InternalTokenSource::File(_) => "INTERNAL_TOKEN_FILE",
            _ => "INTERNAL_TOKEN",
        };
        // Only the length is reported: the value itself is a secret.
        let problem = format!("is too weak ({chars} characters)");
        if mode == Mode::Production {
            p.add(setting, problem, format!("at least {INTERNAL_TOKEN_MIN_LEN} characters"));
        } else {
            warnings
                .push(format!("{ENV_PREFIX}{setting} {problem}; accepted in local mode only, refused in production"));
        }
    }
    (Some(InternalToken::new(value)), source)
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn a_log_filter_with_spaced_multibyte_directives_is_checked_not_a_panic() {
        // Once a panic inside tracing-subscriber (the fuzz target's crash input, reduced).
        for raw in ["info, é=debug", "warn,  \u{94}\u{94}x=info", " ,\u{fffd}=trace, "] {
            let filter = log_filter(Some(raw));
            let _ = tracing_subscriber::EnvFilter::try_new(&filter);
        }
        assert_eq!(log_filter(Some(" info , nodedc_agent_gateway=debug ")), "info,nodedc_agent_gateway=debug");
        assert_eq!(log_filter(Some(" , ")), "info");
        assert_eq!(log_filter(None), "info");
    }
}
