//! Logging: tracing to stderr, human text or JSON lines.

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;

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

/// actix-http's HTTP/1 connection code logs at ERROR what a client sends wrong (a
/// malformed request line or header, a body cut short): a client must not be able to
/// write error lines, so those are dropped (the client got its 400).
fn client_caused(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::ERROR && meta.target().starts_with("actix_http::h1")
}

/// Installs the global subscriber (once; later calls are ignored, as in tests).
pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_new(filter_directives(&log.filter)).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match log.format {
        LogFormat::Json => fmt.json().flatten_event(true).with_current_span(false).boxed(),
        LogFormat::Text => fmt.with_target(true).with_ansi(ansi).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter_fn(|m| !client_caused(m))).with_filter(filter))
        .try_init();
}
