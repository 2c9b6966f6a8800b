//! Logging (tracing to stderr, human text or JSON lines), spans exported over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, Prometheus metrics ([`metrics`]) and the W3C
//! trace context ([`trace`]).

pub mod metrics;
pub mod trace;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, LogSettings};

/// Crates that log document contents token by token at debug level: kept at warn
/// unless the filter names them, so card descriptions never flood (or leak into) logs.
const QUIET: &[&str] = &["html5ever", "selectors", "scraper", "markup5ever"];

/// The variable that turns span export on (the OpenTelemetry SDK's own name; the
/// exporter also reads the other standard `OTEL_EXPORTER_OTLP_*` variables).
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

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

/// What [`init`] started: the span exporter, flushed and stopped by [`Telemetry::shutdown`].
#[derive(Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered, then stops the exporter. Call outside the
    /// async runtime (the exporter's HTTP client blocks).
    pub fn shutdown(self) {
        if let Some(p) = self.provider
            && let Err(e) = p.shutdown()
        {
            tracing::warn!(error = %e, "exporting the last spans failed");
        }
    }
}

/// Installs the global subscriber for log lines only (the commands other than `serve`;
/// once: later calls are ignored, as in tests).
pub fn init(log: &LogSettings) {
    init_with(log, false);
}

/// `serve`: log lines, and spans to the OTLP exporter when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is set. Call before the async runtime starts; [`Telemetry::shutdown`] after it ends.
pub fn init_with_spans(log: &LogSettings) -> Telemetry {
    init_with(log, true)
}

fn init_with(log: &LogSettings, spans: bool) -> Telemetry {
    let filter = || EnvFilter::try_new(filter_directives(&log.filter)).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match log.format {
        LogFormat::Json => fmt.json().flatten_event(true).with_current_span(false).with_span_list(false).boxed(),
        LogFormat::Text => {
            fmt.with_target(true).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).boxed()
        }
    };
    // Spans are for the exporter: the log lines stay as they are without one.
    let fmt = fmt.with_filter(filter()).with_filter(filter_fn(|m| m.is_event() && !client_caused(m)));
    let (otel, provider, problem) = match if spans { otlp_provider() } else { Ok(None) } {
        Ok(Some(provider)) => {
            let tracer = provider.tracer("nodedc-agent-gateway");
            let layer = tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(filter())
                .with_filter(filter_fn(|m| m.is_span()));
            (Some(layer), Some(provider), None)
        }
        Ok(None) => (None, None, None),
        Err(e) => (None, None, Some(e)),
    };
    let installed = tracing_subscriber::registry().with(fmt).with(otel).try_init().is_ok();
    if let Some(e) = problem {
        tracing::warn!(error = %e, "{OTLP_ENDPOINT_ENV} is set but the OTLP exporter could not be built; spans are not exported");
    }
    match provider {
        Some(p) if installed => {
            tracing::info!(endpoint = %std::env::var(OTLP_ENDPOINT_ENV).unwrap_or_default(), "exporting spans over OTLP");
            Telemetry { provider: Some(p) }
        }
        _ => Telemetry::default(),
    }
}

/// A batch-exporting tracer provider (OTLP over HTTP/protobuf) when the endpoint is set.
fn otlp_provider() -> Result<Option<SdkTracerProvider>, String> {
    if std::env::var(OTLP_ENDPOINT_ENV).map(|v| v.trim().is_empty()).unwrap_or(true) {
        return Ok(None);
    }
    crate::tasker::client::install_crypto_provider();
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build().map_err(|e| e.to_string())?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name("nodedc-agent-gateway");
    }
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build();
    Ok(Some(provider))
}
