//! The one call pipeline, for MCP `tools/call` and the REST endpoints alike. It reads
//! top to bottom in [`run`]: the caller is already authenticated (TokenSessions), then
//!
//! 1. **arguments**: no NUL, no unbounded text, a valid idempotency key for a write,
//!    the tool's input type (checked here, refused after the scope step);
//! 2. **rate**: the agent's read or write budget (RateBuckets); a call refused for
//!    its arguments costs a read;
//! 3. **scope**: the tool's scope in at least one project; then a refusal of step 1;
//! 4. **grant**, on the actual arguments (the project, or the card's project);
//! 5. **reporting mode**: an owner in `required` mode needs an open work session
//!    before its agents write (the session tools themselves excepted);
//! 6. **idempotency** (writes): claim the key, or replay its stored result; then the
//!    audit event is stored before the write runs;
//! 7. **execute**: the tool's own code (Tasker reads directly, writes through the
//!    TaskerWriter);
//! 8. **audit**: exactly one event per call, written by [`Pipeline::audit`]; then the
//!    WorkSessions actor is told of the call (in memory: no database write).
//!
//! One value, [`Call`], carries the call through every step.

mod access;
mod call;
mod error;

use actix::Addr;
use chrono::Duration;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::actors::rate_buckets::{CallKind, RateBuckets, Take, Taken};
use crate::actors::token_sessions::Principal;
use crate::actors::work_sessions::{Activity, HasOpen};
use crate::app::AppState;
use crate::http::request_context::note;
use crate::model::{Outcome, ReportingMode, Scope};
use crate::service::Ctx;
use crate::service::audit::{Subject, record};
use crate::storage::idempotency::{self, Claim};
use crate::storage::{self, StorageError};
use crate::tasker::client::TaskerClient;
use crate::telemetry::metrics;
use crate::tools::ToolDef;
pub use access::Allowed;
pub use call::{AuditRefs, Call};
pub use error::{ToolCode, ToolError};

/// How long a completed write's result is kept for replay.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

/// Runs one tool call and records exactly one audit event for it.
pub async fn run(
    state: &AppState,
    tasker: &TaskerClient,
    principal: &Principal,
    ctx: &Ctx,
    tool: &'static ToolDef,
    args: Value,
) -> Result<Value, ToolError> {
    let started = std::time::Instant::now();
    let mut call = Call::new(state, tasker, principal, ctx, tool, args);
    let pipeline = Pipeline(state);
    let result = pipeline.steps(&mut call).await;
    let (outcome, code) = match &result {
        Ok(_) => (Outcome::Allowed, None),
        Err(e) => (e.outcome(), Some(e.code)),
    };
    let audited = pipeline.audit(&mut call, outcome, code).await;
    observe(tool.name, outcome, code, started.elapsed());
    if let Err(e) = audited {
        // The call happened (a read, or a write already recorded as allowed): say so
        // loudly, and refuse to hand out a result that has no audit trail.
        return Err(ToolError::internal(format!("recording the audit event failed: {e}")));
    }
    state.work_sessions.do_send(Activity {
        agent_id: principal.agent_id,
        owner_user_id: principal.owner_user_id,
        tool: tool.name,
        project: call.refs.project.clone(),
        card: call.refs.card.clone(),
        outcome,
        at: storage::now(),
    });
    result
}

/// The call in the metrics and the request's log line, as audited.
fn observe(tool: &'static str, outcome: Outcome, code: Option<ToolCode>, took: std::time::Duration) {
    let code = code.map(ToolCode::as_str);
    metrics::tool_call(tool, outcome.as_str(), code, took);
    note(|n| {
        n.tool = Some(tool);
        n.outcome = Some(outcome.as_str());
        n.code = code;
    });
}

struct Pipeline<'s>(&'s AppState);

impl Pipeline<'_> {
    async fn steps(&self, call: &mut Call<'_>) -> Result<Value, ToolError> {
        // A call refused for its arguments costs a read, not a write.
        let checked = arguments(call.tool, call.args());
        let kind = if checked.is_ok() { call.tool.kind } else { CallKind::Read };
        take(&self.0.rate, call.principal, kind).await?;
        // A tool outside the token's scopes says so, whatever its arguments.
        Allowed::for_tool(call.principal, call.tool)?;
        let key = checked?;
        call.authorize().await?;
        self.reporting_mode(call).await?;
        if let Some(key) = key {
            if let Some(replay) = self.claim(call, key).await? {
                return Ok(replay);
            }
            // A write whose audit event cannot be stored is not performed.
            if let Err(e) = self.audit(call, Outcome::Allowed, None).await {
                self.release(call).await;
                return Err(ToolError::internal(format!("recording the audit event failed: {e}")));
            }
        }
        let mut result = call.execute().await;
        if call.tool.kind == CallKind::Write {
            // A write scope does not grant reads (the answers themselves are built so).
            let reads = (call.may_read(Scope::IssueRead), call.may_read(Scope::ProjectRead));
            result = result.map_err(|e| e.for_reader(reads.0, reads.1));
            self.settle(call, &result).await;
        }
        result
    }

    /// In `required` mode a write needs an open work session (the session tools, which
    /// open and close them, excepted). Reads always pass.
    async fn reporting_mode(&self, call: &Call<'_>) -> Result<(), ToolError> {
        let exempt = call.tool.kind == CallKind::Read || call.tool.scope == Scope::SessionReport;
        if exempt || call.principal.reporting_mode != ReportingMode::Required {
            return Ok(());
        }
        let open = self.0.work_sessions.send(HasOpen(call.principal.agent_id)).await.map_err(ToolError::internal)?;
        if open.map_err(ToolError::internal)? {
            return Ok(());
        }
        Err(ToolError::new(
            ToolCode::WorkSessionRequired,
            "This agent's owner requires a work session for every change: call start_work_session first (with your goal and the card), then retry this call.",
        ))
    }

    /// Claims the call's key: `Some(result)` replays a completed call with the same
    /// arguments; `None` means this call now owns the key and must settle it.
    async fn claim(&self, call: &mut Call<'_>, key: String) -> Result<Option<Value>, ToolError> {
        let (agent, fp) = (call.principal.agent_id, fingerprint(call.tool.name, call.args()));
        let k = key.clone();
        let claim = self
            .0
            .db
            .write(move |c| {
                idempotency::claim(c, agent, &k, &fp, storage::now(), Duration::hours(IDEMPOTENCY_TTL_HOURS))
            })
            .await
            .map_err(ToolError::internal)?;
        call.set_key(key);
        match claim {
            Claim::Started => Ok(None),
            Claim::Replay(stored) => {
                serde_json::from_str(&stored).map(Some).map_err(|e| ToolError::internal(format!("stored result: {e}")))
            }
            Claim::Mismatch => Err(ToolError::new(
                ToolCode::IdempotencyKeyReused,
                "This idempotency_key was already used with different arguments. Use a new key for a different change.",
            )),
            Claim::InProgress => {
                Err(ToolError::new(ToolCode::InProgress, "A call with this idempotency_key is still running.")
                    .retry_after(2))
            }
        }
    }

    /// After the write: its result is kept for replay, or the key is given up so a
    /// retry can run.
    async fn settle(&self, call: &Call<'_>, result: &Result<Value, ToolError>) {
        let Ok(out) = result else {
            return self.release(call).await;
        };
        let (agent, key, stored) = (call.principal.agent_id, call.key().to_string(), out.to_string());
        if let Err(e) = self.0.db.write(move |c| idempotency::complete(c, agent, &key, &stored, storage::now())).await {
            // The write happened; a retry with this key will reach Tasker, which
            // replays it, so nothing is written twice.
            tracing::warn!(error = %e, "could not store a write's result for replay");
        }
    }

    async fn release(&self, call: &Call<'_>) {
        let (agent, key) = (call.principal.agent_id, call.key().to_string());
        if let Err(e) = self.0.db.write(move |c| idempotency::release(c, agent, &key)).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
    }

    /// Writes the call's one audit event: inserts it, or completes the event a write
    /// recorded before it ran.
    async fn audit(&self, call: &mut Call<'_>, outcome: Outcome, code: Option<ToolCode>) -> Result<(), StorageError> {
        let refs = call.refs.clone();
        if let Some(id) = call.audit_id {
            let ms = call.ctx.elapsed_ms();
            let code = code.map(ToolCode::as_str);
            return self
                .0
                .db
                .run(move |c| {
                    storage::audit::finish(c, id, outcome, code, refs.project.as_deref(), refs.card.as_deref(), ms)
                })
                .await;
        }
        let subject = Subject {
            owner_user_id: Some(call.principal.owner_user_id),
            agent_id: Some(call.principal.agent_id),
            token_id: Some(call.principal.token_id),
            project_ref: refs.project,
            card_ref: refs.card,
            // Only a valid key is copied into the audit trail.
            idempotency_key: call.audit_key.clone(),
        };
        let event = record(call.ctx, call.tool.name, subject, outcome, code.map(ToolCode::as_str));
        let id = event.id;
        self.0.db.run(move |c| storage::audit::insert(c, &event)).await?;
        call.audit_id = Some(id);
        Ok(())
    }
}

/// Takes one call from the agent's read or write budget (also what opening an MCP
/// session costs).
pub async fn take(rate: &Addr<RateBuckets>, p: &Principal, kind: CallKind) -> Result<(), ToolError> {
    let per_minute = match kind {
        CallKind::Read => p.read_per_minute,
        CallKind::Write => p.write_per_minute,
    };
    match rate.send(Take { agent_id: p.agent_id, kind, per_minute }).await {
        Ok(Taken::Allowed) => Ok(()),
        Ok(Taken::Limited { retry_after_secs }) => {
            metrics::rate_limited(if kind == CallKind::Read { "read" } else { "write" });
            let kind = if kind == CallKind::Read { "reads" } else { "writes" };
            Err(ToolError::new(ToolCode::RateLimited, format!("This agent's rate limit for {kind} is used up."))
                .retry_after(retry_after_secs))
        }
        Err(e) => Err(ToolError::internal(e)),
    }
}

/// The arguments step: screened, with a valid idempotency key when the tool writes,
/// and of the tool's input type. Gives the write's key. (Public for the fuzz targets:
/// it is pure.)
pub fn arguments(tool: &ToolDef, args: &Value) -> Result<Option<String>, ToolError> {
    screen(tool.name, args)?;
    let key = match tool.kind {
        CallKind::Write => Some(check_key(args.get("idempotency_key"))?),
        CallKind::Read => None,
    };
    tool.check(args)?;
    Ok(key)
}

/// Longest string any argument may hold (the longest real field, a block's text, is
/// 20,000 characters; Tasker enforces the exact limits).
const MAX_ARG_CHARS: usize = 50_000;

/// Screens every string in the arguments: no NUL (no database stores it) and no
/// unbounded text. Names the offending path.
fn screen(tool: &str, args: &Value) -> Result<(), ToolError> {
    fn walk(v: &Value, path: &mut Vec<String>, tool: &str) -> Result<(), ToolError> {
        let bad = |path: &[String], why: &str| {
            let at = if path.is_empty() { String::new() } else { format!(" at `{}`", path.join(".")) };
            ToolError::invalid(format!("The arguments of `{tool}` are not valid{at}: {why}."))
        };
        match v {
            Value::String(s) if s.contains('\0') => Err(bad(path, "text must not contain NUL characters")),
            Value::String(s) if s.chars().count() > MAX_ARG_CHARS => {
                Err(bad(path, &format!("text is longer than {MAX_ARG_CHARS} characters")))
            }
            Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
                path.push(i.to_string());
                let r = walk(item, path, tool);
                path.pop();
                r
            }),
            Value::Object(map) => map.iter().try_for_each(|(k, item)| {
                path.push(k.clone());
                let r = walk(item, path, tool);
                path.pop();
                r
            }),
            _ => Ok(()),
        }
    }
    walk(args, &mut Vec::new(), tool)
}

/// `[A-Za-z0-9._:-]{8,128}`, as a string: enough to be unique, plain enough for logs.
fn check_key(key: Option<&Value>) -> Result<String, ToolError> {
    let invalid = || {
        ToolError::new(
            ToolCode::IdempotencyKeyInvalid,
            "The `idempotency_key` must be a string of 8-128 letters, digits, `.`, `_`, `:` or `-`.",
        )
    };
    let key = match key {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(invalid()),
    };
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Err(ToolError::new(
            ToolCode::IdempotencyKeyRequired,
            "Every write needs an idempotency key (the `idempotency_key` argument; on the REST API the `Idempotency-Key` header): a string you choose for this change, 8-128 letters, digits, `.`, `_`, `:` or `-`, e.g. `create-login-page-1`. Repeating the call with the same key returns the first result.",
        ));
    };
    let ok = (8..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok { Ok(key.to_string()) } else { Err(invalid()) }
}

/// The request's identity for idempotency: tool and arguments, without the key.
/// (serde_json objects are sorted maps, so equal arguments print equally.)
fn fingerprint(tool: &str, args: &Value) -> String {
    let mut args = args.clone();
    if let Some(o) = args.as_object_mut() {
        o.remove("idempotency_key");
    }
    let digest = Sha256::digest(format!("{tool}\n{args}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
