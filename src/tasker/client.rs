//! The gateway's Tasker client: the adapter contract over HTTP (awc).
//!
//! Timeouts on every call, pooled keep-alive connections, TLS (rustls, webpki roots).
//! Retries with backoff happen only where repeating is harmless: reads, and writes that
//! carry an idempotency key (Tasker replays those instead of writing twice). An
//! `awc::Client` is bound to its thread, so each HTTP worker and each actor builds its
//! own `TaskerClient` from one shared [`TaskerConfig`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::{Method, StatusCode};
use awc::error::SendRequestError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use tracing::Instrument;

use super::contract::{self, *};
use crate::auth::InternalToken;
use crate::telemetry::metrics;
use crate::telemetry::trace::{self, TRACEPARENT_HEADER, TraceParent};

/// Where Tasker is and how to talk to it. Shared; clients are built per thread from it.
#[derive(Debug, Clone)]
pub struct TaskerConfig {
    /// Base URL, without the adapter path (e.g. `https://tasker.example.com`).
    pub base_url: String,
    pub token: InternalToken,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Extra attempts for a retryable failure (so `retries + 1` attempts in all).
    pub retries: u32,
    /// First backoff; doubled on each retry.
    pub backoff: Duration,
}

impl TaskerConfig {
    pub fn new(base_url: impl Into<String>, token: InternalToken) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            token,
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(3),
            retries: 2,
            backoff: Duration::from_millis(200),
        }
    }
}

/// Per-call context: who the agent may reach and the request to trace.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub granted: Vec<Uuid>,
    pub request_id: String,
    /// The trace the call continues (`traceparent`, with a new parent span id).
    pub trace: Option<TraceParent>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TaskerError {
    /// Tasker could not be reached, timed out, or answered that it is unavailable.
    #[error("Tasker is unavailable: {reason}")]
    Unavailable { reason: String, retry_after_secs: Option<u64> },
    /// Tasker refused the call with a contract error (validation, conflict, grant...).
    #[error("Tasker refused the call: {0}")]
    Rejected(AdapterError),
    /// Tasker answered something that does not follow the contract.
    #[error("Tasker answered outside the contract: {0}")]
    Protocol(String),
}

impl TaskerError {
    fn retryable(&self) -> bool {
        match self {
            TaskerError::Unavailable { .. } => true,
            TaskerError::Rejected(e) => e.code == ErrorCode::RateLimited,
            TaskerError::Protocol(_) => false,
        }
    }
}

/// Installs rustls' crypto provider once per process (awc's rustls needs one).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[derive(Clone)]
pub struct TaskerClient {
    config: Arc<TaskerConfig>,
    http: awc::Client,
}

impl TaskerClient {
    pub fn new(config: Arc<TaskerConfig>) -> Self {
        install_crypto_provider();
        let connector = awc::Connector::new().timeout(config.connect_timeout).limit(64);
        let http = awc::Client::builder().connector(connector).timeout(config.timeout).disable_redirects().finish();
        Self { config, http }
    }

    pub fn config(&self) -> &TaskerConfig {
        &self.config
    }

    /// One adapter call with the contract's headers, retried when that is safe.
    /// `pattern` is the endpoint's route template (for metrics and spans).
    #[allow(clippy::too_many_arguments)]
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        pattern: &'static str,
        path: &str,
        query: Option<String>,
        body: Option<&B>,
        cx: &CallContext,
        idempotency_key: Option<&str>,
    ) -> Result<T, TaskerError> {
        let retry_safe = method == Method::GET || idempotency_key.is_some();
        let mut attempt = 0;
        loop {
            let result = self.attempt(method.clone(), pattern, path, query.as_deref(), body, cx, idempotency_key).await;
            match result {
                Err(e) if retry_safe && e.retryable() && attempt < self.config.retries => {
                    // Tasker's Retry-After when it gives one (capped), else exponential.
                    let hinted = match &e {
                        TaskerError::Unavailable { retry_after_secs: Some(s), .. } => {
                            Some(Duration::from_secs((*s).min(10)))
                        }
                        _ => None,
                    };
                    let backoff = hinted.unwrap_or(self.config.backoff * 2u32.pow(attempt));
                    tracing::debug!(error = %e, attempt, path, "retrying Tasker call");
                    actix_web::rt::time::sleep(backoff).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One HTTP request, timed and counted by endpoint and status, in its own span,
    /// carrying the call's trace.
    #[allow(clippy::too_many_arguments)]
    async fn attempt<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        pattern: &'static str,
        path: &str,
        query: Option<&str>,
        body: Option<&B>,
        cx: &CallContext,
        idempotency_key: Option<&str>,
    ) -> Result<T, TaskerError> {
        let verb = verb_name(&method);
        let span = tracing::info_span!(
            target: "tasker",
            "tasker request",
            otel.name = %format!("{verb} {pattern}"),
            otel.kind = "client",
            http.request.method = verb,
            http.route = pattern,
            http.response.status_code = tracing::field::Empty,
        );
        let traceparent = trace::outgoing(&span, cx.trace);
        let started = Instant::now();
        let (status, result) =
            self.exchange(method, path, query, body, cx, idempotency_key, traceparent).instrument(span.clone()).await;
        if let Some(s) = status {
            span.record("http.response.status_code", s);
        }
        metrics::tasker_request(verb, pattern, status, started.elapsed());
        result
    }

    /// The request and its answer; the status, when one came.
    #[allow(clippy::too_many_arguments)]
    async fn exchange<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<&B>,
        cx: &CallContext,
        idempotency_key: Option<&str>,
        traceparent: Option<TraceParent>,
    ) -> (Option<u16>, Result<T, TaskerError>) {
        let mut url = format!("{}{}{}", self.config.base_url, contract::BASE_PATH, path);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(q);
        }
        let mut req = self
            .http
            .request(method, url)
            .insert_header(("Authorization", format!("Bearer {}", self.config.token.expose())))
            .insert_header((GRANTED_HEADER, granted_header_value(&cx.granted)))
            .insert_header((REQUEST_ID_HEADER, cx.request_id.clone()));
        if let Some(key) = idempotency_key {
            req = req.insert_header((IDEMPOTENCY_HEADER, key));
        }
        if let Some(t) = traceparent {
            req = req.insert_header((TRACEPARENT_HEADER, t.to_string()));
        }
        let sent = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        let mut res = match sent {
            Ok(res) => res,
            Err(e) => return (None, Err(unavailable(e))),
        };
        let status = res.status();
        let read = res.body().limit(16 * 1024 * 1024).await.map_err(|e| TaskerError::Unavailable {
            reason: format!("reading the answer failed: {e}"),
            retry_after_secs: None,
        });
        let answer = read.and_then(|bytes| answer(status, res.headers(), &bytes));
        (Some(status.as_u16()), answer)
    }
}

/// What an answer means under the contract.
fn answer<T: DeserializeOwned>(
    status: StatusCode,
    headers: &actix_web::http::header::HeaderMap,
    bytes: &[u8],
) -> Result<T, TaskerError> {
    if status.is_success() {
        return serde_json::from_slice(bytes)
            .map_err(|e| TaskerError::Protocol(format!("{status} answer does not match the contract: {e}")));
    }
    let retry_after =
        headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) if body.error.code == ErrorCode::Unavailable => {
            Err(TaskerError::Unavailable { reason: body.error.message, retry_after_secs: retry_after })
        }
        Ok(body) => Err(TaskerError::Rejected(body.error)),
        Err(_) if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            Err(TaskerError::Unavailable { reason: format!("Tasker answered {status}"), retry_after_secs: retry_after })
        }
        Err(_) => Err(TaskerError::Protocol(format!("{status} without a contract error body"))),
    }
}

impl TaskerClient {
    /// A read endpoint, its path filled with `params`.
    pub async fn read<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint<(), T>,
        params: &[&str],
        query: Option<String>,
        cx: &CallContext,
    ) -> Result<T, TaskerError> {
        self.call::<(), T>(Method::GET, endpoint.pattern, &endpoint.path(params), query, None, cx, None).await
    }

    /// A write endpoint, with the idempotency key Tasker deduplicates on.
    pub async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint<B, T>,
        params: &[&str],
        body: &B,
        cx: &CallContext,
        key: &str,
    ) -> Result<T, TaskerError> {
        let method = match endpoint.verb {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Patch => Method::PATCH,
        };
        self.call(method, endpoint.pattern, &endpoint.path(params), None, Some(body), cx, Some(key)).await
    }

    // -------------------------------------------- the reads the gateway itself makes

    pub async fn list_projects(&self, cx: &CallContext) -> Result<ProjectList, TaskerError> {
        self.read(&LIST_PROJECTS, &[], None, cx).await
    }

    /// The projects `user` is a member of (the granted set does not apply).
    pub async fn user_projects(&self, cx: &CallContext, user: Uuid) -> Result<ProjectList, TaskerError> {
        self.read(&USER_PROJECTS, &[&user.to_string()], None, cx).await
    }

    /// A project by id or identifier (case-insensitive).
    pub async fn resolve_project(&self, cx: &CallContext, reference: &str) -> Result<Project, TaskerError> {
        let q = serde_urlencoded::to_string([("ref", reference)]).unwrap_or_default();
        self.read(&RESOLVE_PROJECT, &[], Some(q), cx).await
    }

    pub async fn project_context(&self, cx: &CallContext, project: Uuid) -> Result<ProjectContext, TaskerError> {
        self.read(&PROJECT_CONTEXT, &[&project.to_string()], None, cx).await
    }

    pub async fn search_issues(
        &self,
        cx: &CallContext,
        project: Uuid,
        q: &SearchQuery,
    ) -> Result<IssuePage, TaskerError> {
        let query = serde_urlencoded::to_string(q).map_err(|e| TaskerError::Protocol(e.to_string()))?;
        self.read(&SEARCH_ISSUES, &[&project.to_string()], Some(query), cx).await
    }

    /// A card by id or key (`WEB-12`).
    pub async fn get_issue(&self, cx: &CallContext, reference: &str) -> Result<Issue, TaskerError> {
        self.read(&GET_ISSUE, &[reference], None, cx).await
    }
}

/// The contract's methods by name (a label: never an unbounded string).
fn verb_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

fn unavailable(e: SendRequestError) -> TaskerError {
    let reason = match &e {
        SendRequestError::Timeout => "the request timed out".to_string(),
        SendRequestError::Connect(c) => format!("cannot connect: {c}"),
        other => other.to_string(),
    };
    TaskerError::Unavailable { reason, retry_after_secs: None }
}
