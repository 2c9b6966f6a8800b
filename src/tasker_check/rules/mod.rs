//! The rules, in the order they run: one async function each, under a stable id that
//! reports, docs and tests name. Early rules set up what later ones need (the project's
//! context, the check card); a rule whose setup is missing is skipped, not failed.

mod blocks;
mod granted;
mod idempotency;
mod reads;
mod refusals;
mod writes;

use std::collections::BTreeSet;

use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde_json::Value;

use super::{Check, Problem, ensure};
use crate::tasker::contract::AdapterError;

/// One rule of the contract.
pub struct Rule {
    /// Stable id, e.g. `granted.reads_refused`.
    pub id: &'static str,
    /// What it checks, in one line.
    pub what: &'static str,
    pub(crate) run: for<'a> fn(&'a mut Check) -> LocalBoxFuture<'a, Result<(), Problem>>,
}

macro_rules! rules {
    ($($id:literal => $run:path: $what:literal;)+) => {
        /// Every rule, in the order it runs.
        pub const RULES: &[Rule] = &[$(Rule { id: $id, what: $what, run: |cx| Box::pin($run(cx)) }),+];
    };
}

rules! {
    "auth.required" => reads::auth_required:
        "No token or a wrong one is 401 unauthorized with WWW-Authenticate, on known and unknown paths; the given token is accepted.";
    "headers.request_id" => reads::request_id:
        "X-Request-Id is echoed on answers (errors included), and generated when absent.";
    "projects.list" => reads::projects_list: "GET /projects lists the granted project.";
    "projects.resolve" => reads::projects_resolve:
        "GET /projects/resolve finds the project by id and by lower-case identifier.";
    "projects.context" => reads::projects_context:
        "GET /projects/{id}/context answers the project, its states (exactly one default), labels and members.";
    "projects.of_user" => reads::projects_of_user:
        "GET /users/{user_id}/projects lists a member's projects (the project included) and none for an unknown user.";
    "issues.create" => writes::create:
        "POST /projects/{id}/issues creates the check card (201) with its title, priority, default state and blocks.";
    "issues.get" => reads::issues_get: "GET /issues/{issue} answers the same card by id and by lower-case key.";
    "issues.search" => reads::issues_search: "GET /projects/{id}/issues?q= finds the check card.";
    "issues.update" => writes::update:
        "PATCH /issues/{issue} changes title, priority and dates, answering the card after the write.";
    "issues.move" => writes::move_issue: "POST /issues/{issue}/move moves the card to another state.";
    "issues.comment" => writes::comment:
        "POST /issues/{issue}/comments adds a comment (201), newest last in recent_comments.";
    "issues.labels" => writes::labels: "POST /issues/{issue}/labels adds, then removes, a label.";
    "issues.assignees" => writes::assignees:
        "POST /issues/{issue}/assignees removing someone not assigned is a no-op: nothing changes, updated_at included.";
    "issues.blocks" => writes::blocks: "POST /issues/{issue}/blocks appends to the log and ticks an acceptance item.";
    "members.unknown_user_refused" => refusals::unknown_member:
        "POST /projects/{id}/members with an unknown user is 422 validation_failed naming the valid users (nobody is added).";
    "routes.unknown_not_found" => reads::unknown_route:
        "An unknown path, or another method on a known path, is 404 not_found.";
    "history.actor" => writes::history_actor:
        "created_by, updated_by and the comment's actor are \"agent NAME on behalf of OWNER\".";
    "validation.names_valid_values" => refusals::names_valid_values:
        "An unknown state, label or assignee is 422 validation_failed with field, unknown and every valid value; nothing written.";
    "update.allowlist" => refusals::allowlist:
        "PATCH with fields outside the allowlist is 422 field_not_allowed listing them and the allowed ones; nothing written.";
    "bodies.strict" => refusals::strict_bodies:
        "An unknown field in a write body, or in its actor, is 400 bad_request; nothing written.";
    "granted.header_required" => granted::header_required:
        "A call without X-NodeDC-Granted-Projects, or with an entry that is not a UUID, is 400 bad_request.";
    "granted.list_filtered" => granted::list_filtered:
        "GET /projects lists only granted projects (none for an empty header).";
    "granted.reads_refused" => granted::reads_refused:
        "Reads of a project or card outside the grant are 403 project_not_granted naming the project.";
    "granted.writes_refused" => granted::writes_refused:
        "Every write to a project or card outside the grant is 403 project_not_granted; nothing written.";
    "delete.refused" => refusals::delete:
        "Any DELETE is 405 delete_not_supported (before the archive check); the card stays.";
    "archive.refused" => refusals::archive:
        "Any path with an archive or unarchive segment is 403 archive_not_supported; the card is unchanged.";
    "idempotency.key_required" => idempotency::key_required:
        "A write without Idempotency-Key, or with one over 255 characters, is 400 bad_request; nothing written.";
    "idempotency.replay" => idempotency::replay:
        "The same key and body (new request id) replays the same status and body with Idempotent-Replayed: true; one card.";
    "idempotency.key_reused" => idempotency::key_reused:
        "The same key with another body is 409 idempotency_key_reused; nothing written.";
    "blocks.versions" => blocks::versions:
        "block_versions are the documented SHA-256 versions of the present blocks; a replace with the current version succeeds.";
    "blocks.conflict" => blocks::conflict:
        "A replace with a stale or missing base version (blocks or PATCH description_blocks) is 409 conflict with the current version and content.";
}

/// A request body from a contract type (these always serialize).
fn body<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// An email no workspace has (`.invalid` is reserved), so adding or assigning it can
/// only be refused.
fn nobody(cx: &Check) -> String {
    format!("tasker-check-{}@nobody.invalid", cx.run_id)
}

/// The strings of a JSON array, as a set.
fn string_set(value: Option<&Value>) -> Option<BTreeSet<String>> {
    value?.as_array()?.iter().map(|v| v.as_str().map(str::to_string)).collect()
}

fn listed(set: &BTreeSet<String>) -> String {
    set.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// A `validation_failed` that names the field, the unknown value and the valid ones
/// (`valid`: exactly these, in any order; `None`: at least one).
fn names_valid(
    what: &str,
    e: &AdapterError,
    field: &str,
    unknown: &str,
    valid: Option<BTreeSet<String>>,
) -> Result<(), Problem> {
    let details = e.details.as_ref();
    let got_field = details.and_then(|d| d.get("field")).and_then(Value::as_str);
    ensure(got_field == Some(field), || format!("{what}: details.field must be `{field}`, got {got_field:?}"))?;
    let got_unknown = string_set(details.and_then(|d| d.get("unknown")));
    ensure(got_unknown.as_ref().is_some_and(|u| u.contains(unknown)), || {
        format!("{what}: details.unknown must list `{unknown}`, got {got_unknown:?}")
    })?;
    let got_valid = string_set(details.and_then(|d| d.get("valid")));
    match (valid, got_valid) {
        (_, None) => Err(Problem::fail(format!("{what}: details.valid must list the valid values"))),
        (Some(expected), Some(got)) => ensure(expected == got, || {
            format!("{what}: details.valid must be exactly [{}], got [{}]", listed(&expected), listed(&got))
        }),
        (None, Some(got)) => ensure(!got.is_empty() && !got.contains(unknown), || {
            format!("{what}: details.valid must list the valid values, got [{}]", listed(&got))
        }),
    }
}
