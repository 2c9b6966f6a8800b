//! The one call pipeline, for MCP `tools/call` and the REST endpoints alike:
//!
//! authenticated principal → rate bucket → scope → project grant (checked on the
//! actual arguments, including the project of a card) → idempotency (writes) →
//! Tasker (reads directly, writes through the TaskerWriter) → exactly one audit event.

pub mod access;
pub mod error;
mod run;

use actix::Addr;
use chrono::Duration;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::actors::rate_buckets::{CallKind, RateBuckets, Take, Taken};
use crate::actors::tasker_writer::TaskerWriter;
use crate::actors::token_sessions::Principal;
use crate::model::Outcome;
use crate::service::Ctx;
use crate::service::audit::{Subject, record};
use crate::storage::idempotency::{self, Claim};
use crate::storage::{self, Db};
use crate::tasker::client::TaskerClient;
use crate::tools::ToolDef;
use access::Allowed;
pub use error::ToolError;
use run::Run;

/// How long a completed write's result is kept for replay.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

/// What an audit event names: filled in as the call resolves its arguments.
#[derive(Debug, Default, Clone)]
pub struct Target {
    pub project_ref: Option<String>,
    pub card_ref: Option<String>,
}

impl Target {
    /// What the arguments name, before anything is resolved (a replayed or refused call
    /// is audited with these).
    fn from_args(args: &Value) -> Self {
        // Bounded and printable: these are the caller's words, stored as given.
        let text = |k: &str| {
            args.get(k)
                .and_then(Value::as_str)
                .map(|s| s.trim().chars().filter(|c| !c.is_control()).take(64).collect::<String>())
        };
        let card_ref = text("issue");
        let project_ref = text("project").or_else(|| {
            let key = card_ref.as_deref()?;
            crate::tasker::contract::parse_issue_key(key).map(|(ident, _)| ident)
        });
        Self { project_ref, card_ref }
    }
}

#[derive(Clone)]
pub struct Calls {
    pub db: Db,
    pub rate: Addr<RateBuckets>,
    pub writer: Addr<TaskerWriter>,
}

/// `[A-Za-z0-9._:-]{8,128}`, as a string: enough to be unique, plain enough for logs.
fn check_key(key: Option<&Value>) -> Result<String, ToolError> {
    let invalid = || {
        ToolError::failed(
            "idempotency_key_invalid",
            "The `idempotency_key` must be a string of 8-128 letters, digits, `.`, `_`, `:` or `-`.",
        )
    };
    let key = match key {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(invalid()),
    };
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Err(ToolError::failed(
            "idempotency_key_required",
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

impl Calls {
    /// Runs one tool call and records exactly one audit event for it.
    pub async fn call(
        &self,
        tasker: &TaskerClient,
        p: &Principal,
        ctx: &Ctx,
        tool: &ToolDef,
        args: &Value,
    ) -> Result<Value, ToolError> {
        let mut target = Target::from_args(args);
        let (result, pre_recorded) = self.run(tasker, p, ctx, tool, args, &mut target).await;
        // Only a valid key is copied into the audit trail.
        let key = check_key(args.get("idempotency_key")).ok();
        let (outcome, code) = match &result {
            Ok(_) => (Outcome::Allowed, None),
            Err(e) => (e.outcome, Some(e.code)),
        };
        let recorded = match pre_recorded {
            Some(id) => {
                let (project, card) = (target.project_ref.clone(), target.card_ref.clone());
                let ms = ctx.elapsed_ms();
                self.db
                    .run(move |c| storage::audit::finish(c, id, outcome, code, project.as_deref(), card.as_deref(), ms))
                    .await
            }
            None => {
                let event = self.event(p, ctx, tool, &target, key.as_deref(), outcome, code);
                self.db.run(move |c| storage::audit::insert(c, &event)).await
            }
        };
        if let Err(e) = recorded {
            // The call happened (a read, or a write already recorded as allowed): say
            // so loudly, and refuse to hand out a result that has no audit trail.
            return Err(ToolError::internal(format!("recording the audit event failed: {e}")));
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        p: &Principal,
        ctx: &Ctx,
        tool: &ToolDef,
        target: &Target,
        key: Option<&str>,
        outcome: Outcome,
        code: Option<&str>,
    ) -> crate::model::AuditRecord {
        let subject = Subject {
            owner_user_id: Some(p.owner_user_id),
            agent_id: Some(p.agent_id),
            token_id: Some(p.token_id),
            project_ref: target.project_ref.clone(),
            card_ref: target.card_ref.clone(),
            idempotency_key: key.map(str::to_string),
        };
        record(ctx, tool.name, subject, outcome, code)
    }

    /// The call, and the id of its audit event if it was recorded before the write.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        tasker: &TaskerClient,
        p: &Principal,
        ctx: &Ctx,
        tool: &ToolDef,
        args: &Value,
        target: &mut Target,
    ) -> (Result<Value, ToolError>, Option<Uuid>) {
        let per_minute = match tool.kind {
            CallKind::Read => p.read_per_minute,
            CallKind::Write => p.write_per_minute,
        };
        match self.rate.send(Take { agent_id: p.agent_id, kind: tool.kind, per_minute }).await {
            Ok(Taken::Allowed) => {}
            Ok(Taken::Limited { retry_after_secs }) => {
                let kind = if tool.kind == CallKind::Read { "reads" } else { "writes" };
                let e = ToolError::denied("rate_limited", format!("This agent's rate limit for {kind} is used up."))
                    .retry_after(retry_after_secs);
                return (Err(e), None);
            }
            Err(e) => return (Err(ToolError::internal(e)), None),
        }
        if let Err(e) = run::screen(tool.name, args) {
            return (Err(e), None);
        }
        let allowed = match Allowed::for_tool(p, tool) {
            Ok(a) => a,
            Err(e) => return (Err(e), None),
        };
        let mut run = Run { tasker, writer: &self.writer, principal: p, ctx, allowed, target, card: None };
        if tool.kind == CallKind::Read {
            let result = run.execute(args, None).await.map_err(|mut e| {
                if e.code == "tasker_unavailable" {
                    e.message = "Tasker did not answer. Retry shortly.".into();
                }
                e
            });
            return (result, None);
        }
        // The arguments' project or card is checked before the key is looked at, so a
        // replay never hands back a result the agent may no longer reach.
        if let Err(e) = run.authorize(args).await {
            return (Err(e), None);
        }

        let key = match check_key(args.get("idempotency_key")) {
            Ok(k) => k,
            Err(e) => return (Err(e), None),
        };
        let fp = fingerprint(tool.name, args);
        let agent = p.agent_id;
        let (k, f) = (key.clone(), fp.clone());
        let claim = self
            .db
            .write(move |c| {
                idempotency::claim(c, agent, &k, &f, storage::now(), Duration::hours(IDEMPOTENCY_TTL_HOURS))
            })
            .await;
        match claim {
            Ok(Claim::Started) => {}
            Ok(Claim::Replay(stored)) => {
                return (
                    serde_json::from_str(&stored).map_err(|e| ToolError::internal(format!("stored result: {e}"))),
                    None,
                );
            }
            Ok(Claim::Mismatch) => {
                let e = ToolError::failed(
                    "idempotency_key_reused",
                    "This idempotency_key was already used with different arguments. Use a new key for a different change.",
                );
                return (Err(e), None);
            }
            Ok(Claim::InProgress) => {
                let e = ToolError::failed("in_progress", "A call with this idempotency_key is still running.")
                    .retry_after(2);
                return (Err(e), None);
            }
            Err(e) => return (Err(ToolError::internal(e)), None),
        }

        // Record the event first: a write whose audit cannot be stored is not performed.
        let event = self.event(p, ctx, tool, run.target, Some(&key), Outcome::Allowed, None);
        let event_id = event.id;
        if let Err(e) = self.db.run(move |c| storage::audit::insert(c, &event)).await {
            self.release(agent, &key).await;
            return (Err(ToolError::internal(format!("recording the audit event failed: {e}"))), None);
        }
        let result = run.execute(args, Some(&key)).await;
        match &result {
            Ok(out) => {
                let stored = out.to_string();
                let k = key.clone();
                if let Err(e) =
                    self.db.write(move |c| idempotency::complete(c, agent, &k, &stored, storage::now())).await
                {
                    // The write happened; a retry with this key will reach Tasker, which
                    // replays it, so nothing is written twice.
                    tracing::warn!(error = %e, "could not store a write's result for replay");
                }
            }
            Err(_) => self.release(agent, &key).await,
        }
        (result, Some(event_id))
    }

    async fn release(&self, agent: Uuid, key: &str) {
        let key = key.to_string();
        if let Err(e) = self.db.write(move |c| idempotency::release(c, agent, &key)).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
    }
}
