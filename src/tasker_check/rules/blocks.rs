//! Structured blocks: versions computed as documented, and a stale replace refused
//! with what the caller needs to merge (the gateway's read-modify-write loop).

use std::collections::BTreeMap;

use actix_web::http::Method;
use serde::Serialize;
use serde_json::{Map, json};
use sha2::{Digest, Sha256};

use super::{Check, Problem, body, ensure};
use crate::tasker::contract::{
    BlockName, BlockOp, Blocks, ErrorCode, Issue, UPDATE_BLOCKS, UPDATE_ISSUE, UpdateBlocks, UpdateIssue,
};

/// A block's version: the first 8 bytes, in hex, of SHA-256 over `NAME\n` and the
/// block's content as JSON.
fn version(name: BlockName, content: &impl Serialize) -> String {
    let json = serde_json::to_string(content).unwrap_or_default();
    let digest = Sha256::new().chain_update(name.as_str()).chain_update(b"\n").chain_update(json).finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The version of every present block.
fn documented_versions(blocks: &Blocks) -> BTreeMap<BlockName, String> {
    let mut out = BTreeMap::new();
    let text = [(BlockName::Goal, &blocks.goal), (BlockName::Plan, &blocks.plan), (BlockName::Result, &blocks.result)];
    for (name, content) in text {
        if let Some(content) = content {
            out.insert(name, version(name, content));
        }
    }
    if let Some(items) = &blocks.acceptance {
        out.insert(BlockName::Acceptance, version(BlockName::Acceptance, items));
    }
    if let Some(entries) = &blocks.log {
        out.insert(BlockName::Log, version(BlockName::Log, entries));
    }
    out
}

fn replace_text(block: BlockName, text: &str, base_version: Option<String>) -> BlockOp {
    BlockOp::Replace { block, text: Some(text.to_string()), items: None, base_version }
}

/// `block`'s version on `card`, which the check card must have.
fn version_on(card: &Issue, block: BlockName) -> Result<String, Problem> {
    card.block_versions.get(&block).cloned().ok_or_else(|| {
        Problem::fail(format!("{} has no {block} block version; block_versions: {:?}", card.key, card.block_versions))
    })
}

/// Replaces a text block with its current version, as an agent does.
async fn replace(cx: &Check, card: &Issue, block: BlockName, text: &str) -> Result<Issue, Problem> {
    let op = replace_text(block, text, Some(version_on(card, block)?));
    let what = format!("replacing the {block} block of {} with its current version", card.key);
    let written = cx
        .client
        .write(
            &UPDATE_BLOCKS,
            &[&card.id.to_string()],
            &UpdateBlocks { actor: cx.actor(), ops: vec![op] },
            &cx.cx(),
            &cx.key(),
        )
        .await
        .map_err(|e| Problem::call(&what, e))?;
    Ok(written.issue)
}

pub(super) async fn versions(cx: &mut Check) -> Result<(), Problem> {
    let card = cx.fresh_card().await?;
    let computed = documented_versions(&card.blocks);
    ensure(card.block_versions == computed, || {
        format!(
            "{}: block_versions {:?}, the documented versions of its blocks are {computed:?}",
            card.key, card.block_versions
        )
    })?;
    let text = cx.title("goal, replaced");
    let after = replace(cx, &card, BlockName::Goal, &text).await?;
    ensure(after.blocks.goal.as_deref() == Some(text.as_str()), || {
        format!("replacing the goal of {}: the goal is {:?}", card.key, after.blocks.goal)
    })?;
    let (old, new, expected) =
        (version_on(&card, BlockName::Goal)?, version_on(&after, BlockName::Goal)?, version(BlockName::Goal, &text));
    ensure(new == expected && new != old, || {
        format!("replacing the goal of {}: its version is {new}, expected {expected}", card.key)
    })
}

pub(super) async fn conflict(cx: &mut Check) -> Result<(), Problem> {
    let card = cx.fresh_card().await?;
    let stale = version_on(&card, BlockName::Plan)?;
    let text = cx.title("plan, replaced");
    let current = replace(cx, &card, BlockName::Plan, &text).await?;
    let current_version = version_on(&current, BlockName::Plan)?;
    let id = card.id.to_string();
    let mut changes = Map::new();
    changes.insert(
        "description_blocks".into(),
        json!({ "blocks": { "plan": "stale plan" }, "base_versions": { "plan": stale } }),
    );
    let probes = [
        (
            "a stale base_version",
            Method::POST,
            UPDATE_BLOCKS.path(&[&id]),
            body(&UpdateBlocks {
                actor: cx.actor(),
                ops: vec![replace_text(BlockName::Plan, "stale plan", Some(stale.clone()))],
            }),
        ),
        (
            "no base_version",
            Method::POST,
            UPDATE_BLOCKS.path(&[&id]),
            body(&UpdateBlocks { actor: cx.actor(), ops: vec![replace_text(BlockName::Plan, "stale plan", None)] }),
        ),
        (
            "description_blocks with a stale base version",
            Method::PATCH,
            UPDATE_ISSUE.path(&[&id]),
            body(&UpdateIssue { actor: cx.actor(), changes }),
        ),
    ];
    for (case, method, path, write) in probes {
        let a = cx.raw.call(method, path).key(cx.key()).json(write).send().await?;
        let e = a.expect_error(ErrorCode::Conflict).map_err(|p| p.with(case))?;
        let details = e.details.unwrap_or_default();
        let got = json!({
            "block": details.get("block"),
            "current_version": details.get("current_version"),
            "current": details.get("current"),
        });
        let expected = json!({ "block": "plan", "current_version": current_version, "current": text });
        ensure(got == expected, || format!("{} ({case}): details must be {expected}, got {got}", a.what))?;
    }
    cx.unchanged(&current, "after the refused replaces").await
}
