//! `update_structured_blocks`: the goal, plan, acceptance, log and result blocks in a
//! card's description, changed without touching the rest of it.

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::readback::blocks_match;
use super::{BlocksWritten, CallKind, Target, Tool};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{self as c, BlockName, BlockOp, Blocks, Issue, IssueWritten, UPDATE_BLOCKS};

pub struct UpdateStructuredBlocks;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub issue: String,
    /// Applied in order, all or nothing.
    pub ops: Vec<BlockOp>,
    pub idempotency_key: String,
}

impl Tool for UpdateStructuredBlocks {
    const NAME: &'static str = "update_structured_blocks";
    const TITLE: &'static str = "Edit card blocks";
    const SCOPE: Scope = Scope::IssueBlocks;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Edit a card's goal, plan, acceptance, log or result block, leaving the rest of the description alone. replace takes base_version from get_issue; a conflict returns the block to merge.";
    const TARGET: Target = Target::Card("issue");
    type Input = Input;
    type Output = BlocksWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<BlocksWritten, ToolError> {
        if a.ops.is_empty() {
            return Err(ToolError::invalid("Nothing to change: `ops` is empty."));
        }
        let issue = call.card(&a.issue).await?;
        let touched: Vec<BlockName> = a.ops.iter().map(block_of).collect();
        let body = c::UpdateBlocks { actor: call.actor(), ops: a.ops };
        let written = call.write(write(issue.project_id, issue.id, body)).await?;
        Ok(BlocksWritten::of(&written.issue, touched, call))
    }

    fn render(out: &BlocksWritten) -> String {
        out.render("Done")
    }
}

/// The block an op changes.
fn block_of(op: &BlockOp) -> BlockName {
    match op {
        BlockOp::Replace { block, .. } => *block,
        BlockOp::AppendLog { .. } => BlockName::Log,
        BlockOp::CheckItem { .. } => BlockName::Acceptance,
    }
}

/// The write as the TaskerWriter runs it: apply the ops, then read the card back.
pub fn write(project: Uuid, issue: Uuid, body: c::UpdateBlocks) -> Job<IssueWritten> {
    Job::on_card(project, issue, move |w| async move {
        let written = w.write(&UPDATE_BLOCKS, &[&issue.to_string()], &body).await?;
        let fresh = w.card(written.issue.id).await?;
        check(&body.ops, &fresh).map_err(WriteError::NotApplied)?;
        Ok(written)
    })
}

/// The blocks a batch of ops leaves behind (ops apply in order: a later tick changes an
/// item an earlier replace wrote), and the ticks on items the batch did not write.
fn expected(ops: &[BlockOp]) -> (Blocks, Vec<(String, bool)>) {
    let mut expected = Blocks::default();
    let mut checks = Vec::new();
    for op in ops {
        match op {
            BlockOp::Replace { block, text, items, .. } => match block {
                BlockName::Goal => expected.goal = text.clone(),
                BlockName::Plan => expected.plan = text.clone(),
                BlockName::Result => expected.result = text.clone(),
                BlockName::Acceptance => {
                    expected.acceptance = items.clone();
                    checks.clear();
                }
                BlockName::Log => {}
            },
            BlockOp::AppendLog { entry } => expected.log.get_or_insert_with(Vec::new).push(entry.clone()),
            BlockOp::CheckItem { item, checked } => match expected.acceptance.as_mut() {
                Some(items) => {
                    items.iter_mut().filter(|i| i.text.trim() == item.trim()).for_each(|i| i.checked = *checked)
                }
                None => checks.push((item.clone(), *checked)),
            },
        }
    }
    (expected, checks)
}

/// Does the card show the ops' final state?
fn check(ops: &[BlockOp], issue: &Issue) -> Result<(), String> {
    let (expected, checks) = expected(ops);
    blocks_match(&expected, &issue.blocks)?;
    let items = issue.blocks.acceptance.as_deref().unwrap_or_default();
    for (item, checked) in checks {
        let found = items.iter().find(|i| i.text.trim() == item.trim());
        if found.map(|i| i.checked) != Some(checked) {
            return Err(format!("the acceptance item `{item}` is not {}", if checked { "ticked" } else { "unticked" }));
        }
    }
    Ok(())
}
