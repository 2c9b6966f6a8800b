//! W3C Trace Context (`traceparent`): accepted on every request, passed on to Tasker so
//! one trace follows a tool call from the agent through Tasker. An invalid header is
//! ignored (a new trace starts), never an error: tracing must not refuse work.

use std::fmt;

use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags};
use rand::Rng;

pub const TRACEPARENT_HEADER: &str = "traceparent";

tokio::task_local! {
    static CURRENT: TraceParent;
}

/// The current request's trace context (inside a request): what calls made on its
/// behalf continue.
pub fn current() -> Option<TraceParent> {
    CURRENT.try_with(|t| *t).ok()
}

/// Runs `f` with `trace` as the current request's trace context.
pub async fn scope<F: std::future::Future>(trace: TraceParent, f: F) -> F::Output {
    CURRENT.scope(trace, f).await
}

/// The trace context for a call made on behalf of the request: the span's own context
/// when spans are exported (`span` is the call's span, its parent set from `parent`),
/// else `parent`'s trace with a new parent span id.
pub fn outgoing(span: &tracing::Span, parent: Option<TraceParent>) -> Option<TraceParent> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if let Some(p) = parent {
        let _ = span.set_parent(p.otel_context());
    }
    TraceParent::from_span_context(span.context().span().span_context()).or_else(|| parent.map(|p| p.child()))
}

/// One `traceparent`: `00-<trace id>-<parent span id>-<flags>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: u128,
    pub span_id: u64,
    pub flags: u8,
}

impl TraceParent {
    /// Parses a header value. Version `00` is exactly 55 characters; a later version
    /// may append fields after a `-` (read as `00`); `ff`, upper-case hex and all-zero
    /// ids are invalid.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let b = raw.as_bytes();
        if b.len() < 55 || !raw.is_ascii() {
            return None;
        }
        let version = hex(&raw[0..2])? as u8;
        if version == 0xff || (version == 0 && b.len() != 55) || (b.len() > 55 && b[55] != b'-') {
            return None;
        }
        if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return None;
        }
        let trace_id = hex(&raw[3..35])?;
        let span_id = hex(&raw[36..52])? as u64;
        let flags = hex(&raw[53..55])? as u8;
        (trace_id != 0 && span_id != 0).then_some(Self { trace_id, span_id, flags })
    }

    /// A new trace (nothing came in): random ids, not sampled.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        Self { trace_id: rng.random::<u128>().max(1), span_id: rng.random::<u64>().max(1), flags: 0 }
    }

    /// The same trace with a new parent span id: what a call made on its behalf sends.
    pub fn child(&self) -> Self {
        Self { span_id: rand::rng().random::<u64>().max(1), ..*self }
    }

    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// From an OpenTelemetry span context, when it is valid.
    pub fn from_span_context(sc: &SpanContext) -> Option<Self> {
        sc.is_valid().then(|| Self {
            trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
            flags: sc.trace_flags().to_u8(),
        })
    }

    /// As a remote parent for an OpenTelemetry span.
    pub fn otel_context(&self) -> opentelemetry::Context {
        let sc = SpanContext::new(
            self.trace_id.into(),
            self.span_id.into(),
            TraceFlags::new(self.flags),
            true,
            Default::default(),
        );
        opentelemetry::Context::new().with_remote_span_context(sc)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{:032x}-{:016x}-{:02x}", self.trace_id, self.span_id, self.flags)
    }
}

/// Lower-case hex only (the W3C format), at most 32 digits.
fn hex(s: &str) -> Option<u128> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_prints_the_w3c_example() {
        let t = TraceParent::parse(GOOD).unwrap();
        assert_eq!(t.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.span_id, 0x00f067aa0ba902b7);
        assert_eq!(t.flags, 1);
        assert_eq!(t.to_string(), GOOD);
        let c = t.child();
        assert_eq!((c.trace_id, c.flags), (t.trace_id, t.flags));
        assert_ne!(c.span_id, t.span_id);
    }

    #[test]
    fn refuses_what_the_spec_refuses() {
        for bad in [
            "",
            "garbage",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
        // A later version may carry more fields.
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more";
        assert!(TraceParent::parse(later).is_some());
    }
}
