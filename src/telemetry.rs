//! Logging: tracing to stderr, human text or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Crates that log document contents token by token at debug level: kept at warn
/// unless the filter names them, so card descriptions never flood (or leak into) logs.
const QUIET: &[&str] = &["html5ever", "selectors", "scraper", "markup5ever"];

/// The configured filter, with the noisy parsers quieted unless it names them.
pub fn filter_directives(configured: &str) -> String {
    let mut directives = configured.to_string();
    for krate in QUIET.iter().filter(|k| !configured.contains(*k)) {
        directives.push_str(&format!(",{krate}=warn"));
    }
    directives
}

/// Installs the global subscriber (once; later calls are ignored, as in tests).
pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_new(filter_directives(&log.filter)).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => {
            builder.with_target(true).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init()
        }
    };
}
