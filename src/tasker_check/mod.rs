//! `tasker-check`: the adapter contract's conformance kit. It runs the rules of
//! docs/TASKER_ADAPTER.md against any Tasker, over HTTP only, and reports pass, fail or
//! skip per rule, so a Tasker team can see exactly where their side departs from what
//! the gateway relies on (the gateway trusts Tasker as a second line of defence).
//!
//! It is meant to be safe against a production Tasker: it writes only cards it creates
//! itself, in the one project it is given, titled [`TITLE_PREFIX`]; the refusals it
//! probes (deletes, archiving, fields outside the allowlist, writes outside the grant)
//! all target those cards, and it never adds a project member (that endpoint is probed
//! with an unknown user only). It never imports the reference Tasker: what it knows of
//! the contract comes from `crate::tasker::contract`.

mod http;
mod report;
mod rules;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use uuid::{Uuid, uuid};

use crate::auth::InternalToken;
use crate::tasker::client::{CallContext, TaskerClient, TaskerConfig, TaskerError};
use crate::tasker::contract::{Actor, Issue, ProjectContext};

pub use report::{Outcome, Report, RuleResult};
pub use rules::{RULES, Rule};

/// Every card the check creates has a title starting with this, so people can tell
/// check cards apart from real work (and find them all with a search).
pub const TITLE_PREFIX: &str = "[tasker-check]";
/// The agent the check writes as. Tasker scopes idempotency keys to it.
pub const AGENT_ID: Uuid = uuid!("0c4ec000-0000-4000-8000-0000000000a1");
pub const AGENT_NAME: &str = "tasker-check";
/// The owner the check writes on behalf of. It names no Tasker user, so the contract
/// says Tasker shows the id itself: "agent tasker-check on behalf of 0c4ec000-…".
pub const OWNER_ID: Uuid = uuid!("0c4ec000-0000-4000-8000-00000000000b");

/// Seconds one call may take; the check reports a slow Tasker rather than waiting on it.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Which Tasker to check, and the one project the check may write in.
pub struct Target {
    /// Tasker's base URL, without the adapter path (as `TASKER_URL`).
    pub url: String,
    pub token: InternalToken,
    pub project: Uuid,
}

/// Why a rule did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The Tasker did something the contract does not allow: what was expected and
    /// what came back.
    Fail(String),
    /// The rule could not run here (what it needs is missing).
    Skip(String),
}

impl Problem {
    pub(crate) fn fail(reason: impl Into<String>) -> Self {
        Problem::Fail(reason.into())
    }

    /// The same problem, saying in which case it happened.
    pub(crate) fn with(self, case: &str) -> Self {
        match self {
            Problem::Fail(r) => Problem::Fail(format!("{case}: {r}")),
            Problem::Skip(r) => Problem::Skip(format!("{case}: {r}")),
        }
    }

    /// A well-formed call refused or answered outside the contract.
    pub(crate) fn call(what: &str, e: TaskerError) -> Self {
        Problem::Fail(format!("{what}: {e}"))
    }
}

/// `Err(Problem::Fail(reason))` unless `ok`.
pub(crate) fn ensure(ok: bool, reason: impl FnOnce() -> String) -> Result<(), Problem> {
    if ok { Ok(()) } else { Err(Problem::Fail(reason())) }
}

/// Runs every rule in order and returns the report. Rules that need something an
/// earlier rule could not set up (the project's context, the check card) are skipped.
pub async fn run(target: Target) -> Report {
    let mut cx = Check::new(&target);
    let mut results = Vec::with_capacity(RULES.len());
    for rule in RULES {
        let outcome = match (rule.run)(&mut cx).await {
            Ok(()) => Outcome::Pass,
            Err(Problem::Fail(reason)) => Outcome::Fail(one_line(&reason)),
            Err(Problem::Skip(reason)) => Outcome::Skip(one_line(&reason)),
        };
        results.push(RuleResult { id: rule.id, outcome });
    }
    Report { tasker: target.url, project: target.project, run: cx.run_id, results }
}

/// Reasons are printed one per line: no control characters, bounded length.
fn one_line(reason: &str) -> String {
    let flat: String = reason.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match flat.char_indices().nth(400) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// The check card: the one card most rules write to.
#[derive(Debug, Clone)]
pub(crate) struct Card {
    pub id: Uuid,
    pub key: String,
}

/// What the rules share: the clients, the run's identity, and what earlier rules
/// learned or created.
pub(crate) struct Check {
    /// For well-formed calls: typed answers, checked against the contract's shapes.
    pub client: TaskerClient,
    /// For what the client would never send (no token, no granted header, a DELETE…).
    pub raw: http::Raw,
    pub project: Uuid,
    /// A project id granted instead of [`Check::project`] where a call must be refused;
    /// random, so it names no project.
    pub elsewhere: Uuid,
    /// Short id of this run, in every card title, comment and idempotency key.
    pub run_id: String,
    pub context: Option<ProjectContext>,
    pub card: Option<Card>,
    /// The comment `issues.comment` wrote, for `history.actor`.
    pub comment_actor: Option<String>,
}

impl Check {
    fn new(target: &Target) -> Self {
        let mut config = TaskerConfig::new(target.url.clone(), target.token.clone());
        // Report what Tasker answers; a retry would hide a flaky answer.
        config.retries = 0;
        config.timeout = TIMEOUT;
        let client = TaskerClient::new(Arc::new(config));
        let raw = http::Raw::new(&client.config().base_url, target.token.clone(), target.project, TIMEOUT);
        let run_id = Uuid::new_v4().simple().to_string()[..8].to_string();
        Check {
            client,
            raw,
            project: target.project,
            elsewhere: Uuid::new_v4(),
            run_id,
            context: None,
            card: None,
            comment_actor: None,
        }
    }

    /// A fresh actor (a new request id, as every gateway request has).
    pub fn actor(&self) -> Actor {
        Actor {
            agent_id: AGENT_ID,
            agent_name: AGENT_NAME.to_string(),
            owner_user_id: OWNER_ID,
            request_id: format!("tasker-check-{}", Uuid::new_v4()),
        }
    }

    /// Granted exactly the project under check.
    pub fn cx(&self) -> CallContext {
        CallContext { granted: vec![self.project], request_id: format!("tasker-check-{}", Uuid::new_v4()), trace: None }
    }

    /// What every title and text this run writes starts with.
    pub fn run_prefix(&self) -> String {
        format!("{TITLE_PREFIX} {}", self.run_id)
    }

    /// A check card's title (or a comment): the run's prefix and what it is for.
    pub fn title(&self, what: &str) -> String {
        format!("{} {what}", self.run_prefix())
    }

    /// A new idempotency key.
    pub fn key(&self) -> String {
        format!("tasker-check-{}-{}", self.run_id, Uuid::new_v4().simple())
    }

    /// How the contract says Tasker shows the check's writes.
    pub fn expected_actor(&self) -> String {
        let owner = self
            .context
            .as_ref()
            .and_then(|c| c.members.iter().find(|m| m.user_id == OWNER_ID))
            .map_or_else(|| OWNER_ID.to_string(), |m| m.display_name.clone());
        format!("agent {AGENT_NAME} on behalf of {owner}")
    }

    pub fn context(&self) -> Result<&ProjectContext, Problem> {
        self.context
            .as_ref()
            .ok_or_else(|| Problem::Skip("needs the project's context, which projects.context could not read".into()))
    }

    pub fn card(&self) -> Result<Card, Problem> {
        self.card
            .clone()
            .ok_or_else(|| Problem::Skip("needs the check card, which issues.create could not create".into()))
    }

    /// The check card as Tasker has it now.
    pub async fn fresh_card(&self) -> Result<Issue, Problem> {
        let card = self.card()?;
        self.client
            .get_issue(&self.cx(), &card.id.to_string())
            .await
            .map_err(|e| Problem::call(&format!("reading {}", card.key), e))
    }

    /// Fails naming what changed when the check card is no longer `before` (after a
    /// call that must have changed nothing).
    pub async fn unchanged(&self, before: &Issue, after: &str) -> Result<(), Problem> {
        let now = self.fresh_card().await?;
        let (old, new) = (serde_json::to_value(before), serde_json::to_value(&now));
        let changed: BTreeSet<String> = match (old, new) {
            (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) => {
                old.keys().chain(new.keys()).filter(|k| old.get(*k) != new.get(*k)).cloned().collect()
            }
            _ => BTreeSet::from(["(the card)".to_string()]),
        };
        ensure(changed.is_empty(), || {
            let fields: Vec<&str> = changed.iter().map(String::as_str).collect();
            format!("{after}: the card must be unchanged, but its {} changed", fields.join(", "))
        })
    }
}
