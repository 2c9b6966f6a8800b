//! Prometheus metrics: counters and histograms recorded where things happen (through
//! the `metrics` facade, one process-wide recorder), and gauges read from the live
//! state when `/metrics` is scraped (so each is exact for the app that answers).
//!
//! Labels are bounded sets only: tool names, outcomes, error codes, route templates,
//! statuses. Never a token, an id or free text.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const TOOL_CALLS: &str = "nodedc_gateway_tool_calls_total";
pub const TOOL_CALL_DURATION: &str = "nodedc_gateway_tool_call_duration_seconds";
pub const TASKER_REQUESTS: &str = "nodedc_gateway_tasker_requests_total";
pub const TASKER_REQUEST_DURATION: &str = "nodedc_gateway_tasker_request_duration_seconds";
pub const AUTH_FAILURES: &str = "nodedc_gateway_auth_failures_total";
pub const RATE_LIMITED: &str = "nodedc_gateway_rate_limited_total";
pub const WRITER_QUEUE_DEPTH: &str = "nodedc_gateway_writer_queue_depth";
pub const MCP_SESSIONS_OPEN: &str = "nodedc_gateway_mcp_sessions_open";
pub const WORK_SESSIONS: &str = "nodedc_gateway_work_sessions";
pub const DB_POOL_CONNECTIONS: &str = "nodedc_gateway_db_pool_connections";

/// Seconds: from a fast cached read to Tasker's whole-request timeout.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once: a test process builds many apps) and
/// gives the handle that renders it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only the sampled gauges");
        }
        describe();
        handle
    })
}

fn describe() {
    describe_counter!(
        TOOL_CALLS,
        "Tool calls, by tool, outcome (allowed, denied, failed) and error code (none on success)."
    );
    describe_histogram!(TOOL_CALL_DURATION, metrics::Unit::Seconds, "Tool call duration, by tool.");
    describe_counter!(
        TASKER_REQUESTS,
        "HTTP requests to Tasker, by endpoint (method and route template) and status (error: no answer)."
    );
    describe_histogram!(
        TASKER_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Tasker request duration, by endpoint and status."
    );
    describe_counter!(
        AUTH_FAILURES,
        "Refused authentications (agent and internal tokens), by reason (the error code)."
    );
    describe_counter!(RATE_LIMITED, "Calls refused by an agent's rate limit, by kind (read, write).");
}

/// One tool call, as audited.
pub fn tool_call(tool: &'static str, outcome: &'static str, code: Option<&'static str>, took: Duration) {
    counter!(TOOL_CALLS, "tool" => tool, "outcome" => outcome, "code" => code.unwrap_or("none")).increment(1);
    histogram!(TOOL_CALL_DURATION, "tool" => tool).record(took.as_secs_f64());
}

/// One HTTP request to Tasker (each attempt of a retried call counts). `status` is
/// `None` when no answer came.
pub fn tasker_request(method: &'static str, pattern: &'static str, status: Option<u16>, took: Duration) {
    let endpoint = format!("{method} {pattern}");
    let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
    counter!(TASKER_REQUESTS, "endpoint" => endpoint.clone(), "status" => status.clone()).increment(1);
    histogram!(TASKER_REQUEST_DURATION, "endpoint" => endpoint, "status" => status).record(took.as_secs_f64());
}

pub fn auth_failure(reason: &'static str) {
    counter!(AUTH_FAILURES, "reason" => reason).increment(1);
}

pub fn rate_limited(kind: &'static str) {
    counter!(RATE_LIMITED, "kind" => kind).increment(1);
}

/// The gauges sampled at scrape time from one app's state.
#[derive(Debug, Default, Clone)]
pub struct Sampled {
    pub writer_queue_depth: Option<usize>,
    pub mcp_sessions_open: Option<i64>,
    /// (state, sessions)
    pub work_sessions: Vec<(&'static str, i64)>,
    /// (state, connections): max, size, available, waiting.
    pub db_pool: Vec<(&'static str, i64)>,
}

/// The scrape: the recorded metrics, then the sampled gauges (a gauge that could not
/// be read is left out rather than shown as zero).
pub fn render(sampled: &Sampled) -> String {
    let h = handle();
    h.run_upkeep();
    let mut out = h.render();
    let mut gauge = |name: &str, help: &str, values: &[(Option<(&str, &str)>, i64)]| {
        if values.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (label, v) in values {
            match label {
                Some((k, l)) => writeln!(out, "{name}{{{k}=\"{l}\"}} {v}"),
                None => writeln!(out, "{name} {v}"),
            }
            .ok();
        }
        out.push('\n');
    };
    let one = |v: Option<i64>| v.map(|v| vec![(None, v)]).unwrap_or_default();
    gauge(
        WRITER_QUEUE_DEPTH,
        "Writes queued or running in the TaskerWriter.",
        &one(sampled.writer_queue_depth.map(|v| v as i64)),
    );
    gauge(MCP_SESSIONS_OPEN, "Open MCP sessions (2025-era sessions not yet ended).", &one(sampled.mcp_sessions_open));
    let labelled = |k: &'static str, rows: &[(&'static str, i64)]| -> Vec<(Option<(&str, &str)>, i64)> {
        rows.iter().map(|(l, v)| (Some((k, *l)), *v)).collect()
    };
    gauge(WORK_SESSIONS, "Open work sessions, by state (active, stale).", &labelled("state", &sampled.work_sessions));
    gauge(
        DB_POOL_CONNECTIONS,
        "Database pool: max (configured size), size (open), available (idle), waiting (callers queued).",
        &labelled("state", &sampled.db_pool),
    );
    out
}
