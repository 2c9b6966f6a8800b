//! A card's structured blocks: `POST /issues/{id_or_key}/blocks`, and how block
//! changes are answered and recorded.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::issues::save;
use super::write::{CardWrite, card_write};
use crate::reference_tasker::TaskerState;
use crate::reference_tasker::blocks::{BlockError, Description};
use crate::reference_tasker::error::RefTaskerError;
use crate::reference_tasker::extract::{CardRef, Granted, Write};
use crate::reference_tasker::store::activity::Change;
use crate::reference_tasker::store::issues;
use crate::tasker::contract::{AcceptanceItem, BlockName, Blocks, ErrorCode, IssueWritten, UpdateBlocks};

/// A stale replace is a `conflict` carrying the block's current version and content;
/// anything else the blocks refuse is `validation_failed` on `field`.
pub fn block_error(e: BlockError, field: &str) -> RefTaskerError {
    match e {
        BlockError::Conflict { block, current_version, current } => RefTaskerError::new(
            ErrorCode::Conflict,
            format!(
                "the {block} block changed since it was read (current version {}); merge with the current content and retry with its version",
                current_version.as_deref().unwrap_or("none: the block is absent")
            ),
        )
        .with_details(json!({ "block": block, "current_version": current_version, "current": current })),
        BlockError::Invalid { message } => RefTaskerError::invalid(field, message),
    }
}

fn items_text(items: &[AcceptanceItem]) -> String {
    items.iter().map(|i| format!("[{}] {}", if i.checked { "x" } else { " " }, i.text)).collect::<Vec<_>>().join("\n")
}

/// One history row per block that changed: the text before and after; for the log,
/// only the entries added.
pub fn block_changes(before: &Blocks, after: &Blocks) -> Vec<Change> {
    let mut out = Vec::new();
    let mut text = |name: BlockName, old: Option<String>, new: Option<String>| {
        if old != new {
            out.push(Change::new(format!("blocks.{name}"), old, new));
        }
    };
    text(BlockName::Goal, before.goal.clone(), after.goal.clone());
    text(BlockName::Plan, before.plan.clone(), after.plan.clone());
    text(
        BlockName::Acceptance,
        before.acceptance.as_deref().map(items_text),
        after.acceptance.as_deref().map(items_text),
    );
    let old_log = before.log.clone().unwrap_or_default();
    let new_log = after.log.clone().unwrap_or_default();
    if old_log != new_log {
        if new_log.starts_with(&old_log) {
            text(BlockName::Log, None, Some(new_log[old_log.len()..].join("\n")));
        } else {
            text(BlockName::Log, Some(old_log.join("\n")), Some(new_log.join("\n")));
        }
    }
    text(BlockName::Result, before.result.clone(), after.result.clone());
    out
}

/// `POST /issues/{id_or_key}/blocks`: the ops applied in order, all or nothing.
pub async fn update(
    state: web::Data<TaskerState>,
    granted: Granted,
    path: web::Path<String>,
    write: Write<UpdateBlocks>,
) -> Result<HttpResponse, RefTaskerError> {
    card_write(
        &state.db,
        granted,
        CardRef::from_path(&path)?,
        write,
        |b| &b.actor,
        move |c, CardWrite { mut row, actor, body, idem }| {
            let mut description = Description::parse(&row.description_html);
            let before = description.blocks().clone();
            description.apply(&body.ops).map_err(|e| block_error(e, "ops"))?;
            let history = block_changes(&before, description.blocks());
            if !history.is_empty() {
                row.description_html = description.render();
            }
            save(c, &mut row, &actor, &history)?;
            let issue = issues::full(c, &row)?;
            idem.finish(c, StatusCode::OK, &IssueWritten { issue })
        },
    )
    .await
}
