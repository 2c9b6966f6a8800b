//! Structured blocks in card descriptions: rendering, parsing HTML a human edited
//! (fixtures in tests/fixtures/blocks/, each with the blocks it must parse to),
//! round trips, versions and conflicts, op validation, and garbage input.

use std::fs;
use std::path::PathBuf;

use nodedc_agent_gateway::reference_tasker::blocks::{BlockError, Description, version_of};
use nodedc_agent_gateway::tasker::contract::{AcceptanceItem, BlockName, BlockOp, Blocks};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const FIXTURES: &[&str] = &[
    "renamed_headings",
    "ids_stripped",
    "wrapped",
    "human_content",
    "edited_inside",
    "entities_unicode",
    "duplicate_heading",
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/blocks")
}

fn fixture_html(name: &str) -> String {
    fs::read_to_string(fixture_dir().join(format!("{name}.html"))).unwrap()
}

fn fixture_blocks(name: &str) -> Blocks {
    let raw = fs::read_to_string(fixture_dir().join(format!("{name}.blocks.json"))).unwrap();
    serde_json::from_str(&raw).unwrap()
}

/// Parses a fixture and checks it against its expected blocks.
fn parsed_fixture(name: &str) -> Description {
    let d = Description::parse(&fixture_html(name));
    assert_eq!(d.blocks(), &fixture_blocks(name), "blocks of fixture {name}");
    d
}

fn item(text: &str, checked: bool) -> AcceptanceItem {
    AcceptanceItem { text: text.into(), checked }
}

fn replace_text(block: BlockName, text: &str, base_version: Option<String>) -> BlockOp {
    BlockOp::Replace { block, text: Some(text.into()), items: None, base_version }
}

fn replace_items(items: Vec<AcceptanceItem>, base_version: Option<String>) -> BlockOp {
    BlockOp::Replace { block: BlockName::Acceptance, text: None, items: Some(items), base_version }
}

fn invalid_message(result: Result<(), BlockError>) -> String {
    match result {
        Err(BlockError::Invalid { message }) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// A block's content as the JSON a conflict carries.
fn block_json(blocks: &Blocks, name: BlockName) -> serde_json::Value {
    let all = serde_json::to_value(blocks).unwrap();
    all.get(name.as_str()).cloned().unwrap_or(serde_json::Value::Null)
}

/// parse(render(d)) has d's blocks and human zone, and rendering again changes nothing.
fn assert_round_trips(d: &Description) {
    let html = d.render();
    let again = Description::parse(&html);
    assert_eq!(again.blocks(), d.blocks(), "blocks after a round trip of {html}");
    assert_eq!(again.human_html(), d.human_html(), "human zone after a round trip of {html}");
    assert_eq!(again.versions(), d.versions());
    assert_eq!(again.render(), html, "rendering is stable");
}

fn full_blocks() -> Blocks {
    Blocks {
        goal: Some("Ship the export".into()),
        plan: Some("  indented step\n\nafter a blank line\nlast".into()),
        acceptance: Some(vec![item("Tests pass", true), item("Docs updated", false)]),
        log: Some(vec!["2024-05-01 10:00 started".into(), "two\nlines".into()]),
        result: Some("".into()),
    }
}

// ------------------------------------------------------------------------- fixtures

#[test]
fn renamed_headings_are_still_blocks() {
    let d = parsed_fixture("renamed_headings");
    let human = d.human_html();
    assert_eq!(
        human,
        r#"<p class="editor-paragraph-block">Customer-facing invoices show the wrong VAT rate for Germany.</p>"#
    );
    // A rewrite of a block keeps the heading text the human chose.
    let mut d = d;
    let v = d.versions()[&BlockName::Plan].clone();
    d.apply(&[replace_text(BlockName::Plan, "New plan", Some(v))]).unwrap();
    assert!(d.render().contains(r#"<h2 data-id="nodedc-block-plan">Implementation plan</h2><p>New plan</p>"#));
}

#[test]
fn stripped_ids_are_recognised_by_heading_text() {
    let d = parsed_fixture("ids_stripped");
    let human = d.human_html();
    assert!(human.starts_with(r#"<p class="editor-paragraph-block">Pasted from the old tracker.</p>"#), "{human}");
    assert!(human.contains("<h2 class=\"editor-heading-block\">Background</h2>\n<p class=\"editor-paragraph-block\">The nightly sync has failed twice this week.</p>"));
    assert!(human.contains("Open questions</h2>"), "an unknown id with an unknown text is human zone");
    assert!(human.contains("Who owns the sync job?"));
    assert!(!human.contains("Seven green nights"));
    // Rendering an edited block gives its heading the id back.
    let mut d = d;
    d.apply(&[BlockOp::AppendLog { entry: "second run green".into() }]).unwrap();
    let html = d.render();
    assert!(html.contains(r#"<h2 data-id="nodedc-block-log">LOG</h2><ul><li><p>retries added</p></li><li><p>second run green</p></li></ul>"#), "{html}");
    assert!(
        html.contains(r#"<h2 class="editor-heading-block">  plan </h2>"#),
        "untouched blocks are kept as they were"
    );
}

#[test]
fn wrapping_divs_are_descended_and_kept() {
    let d = parsed_fixture("wrapped");
    let human = d.human_html();
    let expected = concat!(
        r#"<div class="ProseMirror"><div class="issue-description" data-owner="web">"#,
        "\n",
        r#"<p class="editor-paragraph-block">Intro written by <strong>Dana</strong>.</p>"#,
        "\n</div>\n",
        r#"<p class="editor-paragraph-block">Written outside the inner wrapper.</p>"#,
        "\n<section><div>\n</div></section>\n</div>\n",
        r#"<p class="editor-paragraph-block">After every wrapper.</p>"#,
        "\n",
    );
    assert_eq!(human, expected);
    // A block added later goes after everything, outside the wrappers.
    let mut d = d;
    d.apply(&[replace_text(BlockName::Result, "Done", None)]).unwrap();
    let html = d.render();
    assert!(
        html.ends_with("After every wrapper.</p>\n<h2 data-id=\"nodedc-block-result\">Result</h2><p>Done</p>"),
        "{html}"
    );
}

#[test]
fn human_content_is_preserved_in_order() {
    let d = parsed_fixture("human_content");
    let human = d.human_html();
    let in_order = [
        "Reported by <strong>Alice</strong>",
        r#"href="https://example.com/support/4821?lang=en&amp;ref=mail""#,
        "<image-component ",
        r#"<img src="https://files.example.com/4821/console.png" alt="console output">"#,
        "Browser matrix</h2><table",
        r#"style="background-color: #fde2e2""#,
        "<strong>broken</strong>",
        "Snippet from the call</h2><pre><code class=\"language-typescript\">const total = items.reduce((a, b) =&gt; a + b.price, 0);\nif (total &lt; 0 &amp;&amp; !refund)",
        "<blockquote>",
        "Related</h2><ul",
        "<em>(same bug on iOS)</em>",
        "Last human line.</p>",
    ];
    let mut at = 0;
    for part in in_order {
        let found = human[at..].find(part).unwrap_or_else(|| panic!("`{part}` missing or out of order in {human}"));
        at += found + part.len();
    }
    assert!(!human.contains("Checkout works on Safari"));
    assert!(!human.contains("fix pushed"));
    // Every byte of the rendering that is not a block is the human zone, in place.
    let html = d.render();
    assert!(html.contains("</p><h2 class=\"editor-heading-block\">Browser matrix</h2>"));
    assert!(html.contains("</blockquote><h2 data-id=\"nodedc-block-log\">Log</h2>"));
}

#[test]
fn human_edits_inside_blocks_are_read() {
    let d = parsed_fixture("edited_inside");
    assert_eq!(d.human_html(), "", "everything after the first heading is in a block");
    // Formatting inside an untouched block survives a write to another block.
    let mut d = d;
    d.apply(&[BlockOp::AppendLog { entry: "index added".into() }]).unwrap();
    let html = d.render();
    assert!(html.contains("Make the export <strong>fast</strong> for big projects"));
    assert!(html.contains(r#"<input type="checkbox" checked="checked">"#));
    assert!(html.contains("<li><p>index added</p></li>"));
}

#[test]
fn entities_and_unicode_round_trip_without_double_escaping() {
    let d = parsed_fixture("entities_unicode");
    let human = d.human_html();
    assert!(human.contains("Заметки команды 🚀 — R&amp;D, see &lt;script&gt; tag report"), "{human}");
    assert!(human.contains("Ёжик &amp; 🦔 &lt;b&gt;not bold&lt;/b&gt;"));
    let mut d = d;
    let versions = d.versions();
    let plan = format!("{}\nЕщё 🦔 &amp; <b>", d.blocks().plan.as_deref().unwrap());
    let items = d.blocks().acceptance.clone().unwrap();
    d.apply(&[
        replace_text(BlockName::Plan, &plan, Some(versions[&BlockName::Plan].clone())),
        replace_items(items.clone(), Some(versions[&BlockName::Acceptance].clone())),
        BlockOp::CheckItem { item: "Ünïcödé ✓ &amp; stays literal".into(), checked: false },
    ])
    .unwrap();
    let html = d.render();
    assert!(
        html.contains("<p>Use \"quotes\" &amp; 'apostrophes'&nbsp;safely — 你好</p><p>Ещё 🦔 &amp;amp; &lt;b&gt;</p>"),
        "{html}"
    );
    assert!(html.contains("<p>Ünïcödé ✓ &amp;amp; stays literal</p>"));
    assert!(html.contains("<p>&lt;img src=x onerror=alert(1)&gt; shows as text</p>"));
    assert!(!html.contains("&amp;amp;amp;") && !html.contains("&amp;lt;"));
    assert_eq!(Description::parse(&html).blocks().plan.as_deref(), Some(plan.as_str()));
    assert_round_trips(&d);
}

#[test]
fn a_repeated_heading_is_human_zone_after_the_first() {
    let d = parsed_fixture("duplicate_heading");
    let human = d.human_html();
    assert!(human.starts_with(r#"<h2 class="editor-heading-block">Plan</h2><p class="editor-paragraph-block">A human's own plan notes, kept as they are.</p>"#), "{human}");
    assert!(human.contains(r#"<h2 data-id="nodedc-block-plan">Plan (copy)</h2><p class="editor-paragraph-block">A pasted copy of the block.</p>"#));
    let mut d = d;
    let v = d.versions()[&BlockName::Plan].clone();
    d.apply(&[replace_text(BlockName::Plan, "Revised", Some(v))]).unwrap();
    let html = d.render();
    assert!(
        html.contains(
            r#"<h2 data-id="nodedc-block-plan">Plan</h2><p>Revised</p><h2 class="editor-heading-block">Plan</h2>"#
        ),
        "{html}"
    );
    assert!(html.contains("A pasted copy of the block."));
}

// ------------------------------------------------------------------------- round trips

#[test]
fn every_fixture_round_trips_stably() {
    for name in FIXTURES {
        assert_round_trips(&parsed_fixture(name));
    }
}

#[test]
fn built_descriptions_round_trip_stably() {
    let mut d = Description::parse("<p>Human <em>intro</em></p>");
    d.set_blocks(&full_blocks()).unwrap();
    assert_eq!(d.blocks(), &full_blocks());
    assert_eq!(d.human_html(), "<p>Human <em>intro</em></p>");
    assert_round_trips(&d);
    let mut empty = Description::empty();
    assert_eq!(empty.render(), "");
    assert!(empty.versions().is_empty());
    empty.set_blocks(&Blocks { acceptance: Some(vec![]), log: Some(vec![]), ..Blocks::default() }).unwrap();
    assert_eq!(
        empty.render(),
        r#"<h2 data-id="nodedc-block-acceptance">Acceptance</h2><h2 data-id="nodedc-block-log">Log</h2>"#
    );
    assert_round_trips(&empty);
}

#[test]
fn new_blocks_are_appended_in_canonical_order() {
    let mut d = Description::parse(
        r#"<p>top</p><h2 data-id="nodedc-block-log">Log</h2><ul><li><p>a</p></li></ul><h2>Notes</h2><p>end</p>"#,
    );
    d.set_blocks(&Blocks { result: Some("R".into()), goal: Some("G".into()), ..Blocks::default() }).unwrap();
    assert_eq!(
        d.render(),
        concat!(
            r#"<p>top</p><h2 data-id="nodedc-block-log">Log</h2><ul><li><p>a</p></li></ul><h2>Notes</h2><p>end</p>"#,
            r#"<h2 data-id="nodedc-block-goal">Goal</h2><p>G</p><h2 data-id="nodedc-block-result">Result</h2><p>R</p>"#,
        )
    );
    assert_round_trips(&d);
}

#[test]
fn a_replace_changes_only_its_block() {
    for name in FIXTURES {
        let original = parsed_fixture(name);
        for block in BlockName::ALL.iter().copied().filter(|b| *b != BlockName::Log) {
            let mut d = original.clone();
            let base = d.versions().get(&block).cloned();
            let op = match block {
                BlockName::Acceptance => replace_items(vec![item("Replaced <criterion>", false)], base),
                _ => replace_text(block, "Replaced & <rewritten>", base),
            };
            d.apply(&[op]).unwrap();
            let reparsed = Description::parse(&d.render());
            for d in [&d, &reparsed] {
                assert_eq!(d.human_html(), original.human_html(), "{name}: human zone after replacing {block}");
                for other in BlockName::ALL.iter().copied().filter(|o| *o != block) {
                    assert_eq!(
                        block_json(d.blocks(), other),
                        block_json(original.blocks(), other),
                        "{name}: {other} after replacing {block}"
                    );
                    assert_eq!(d.versions().get(&other), original.versions().get(&other));
                }
            }
            assert_round_trips(&d);
        }
    }
}

#[test]
fn log_and_check_ops_change_only_their_block() {
    for name in FIXTURES {
        let original = parsed_fixture(name);
        let mut d = original.clone();
        let mut expected = original.blocks().clone();
        let mut ops = vec![BlockOp::AppendLog { entry: "[agent] note".into() }];
        expected.log.get_or_insert_with(Vec::new).push("[agent] note".into());
        if let Some(first) = expected.acceptance.as_mut().and_then(|items| items.first_mut()) {
            first.checked = !first.checked;
            ops.push(BlockOp::CheckItem { item: first.text.clone(), checked: first.checked });
        }
        d.apply(&ops).unwrap();
        assert_eq!(d.blocks(), &expected, "{name}");
        assert_eq!(d.human_html(), original.human_html(), "{name}");
        let reparsed = Description::parse(&d.render());
        assert_eq!(reparsed.blocks(), &expected, "{name}");
        assert_eq!(reparsed.human_html(), original.human_html(), "{name}");
        for other in [BlockName::Goal, BlockName::Plan, BlockName::Result] {
            assert_eq!(reparsed.versions().get(&other), original.versions().get(&other), "{name}: {other}");
        }
    }
}

// ------------------------------------------------------------------------- versions and conflicts

#[test]
fn versions_follow_text_not_formatting() {
    let plain = Description::parse(r#"<h2 data-id="nodedc-block-plan">Plan</h2><p>make it fast</p>"#);
    let bolded = Description::parse(r#"<h2>Plan</h2><p class="x">make it <strong>fast</strong></p>"#);
    let edited = Description::parse(r#"<h2 data-id="nodedc-block-plan">Plan</h2><p>make it faster</p>"#);
    let v = plain.versions()[&BlockName::Plan].clone();
    assert_eq!(v.len(), 16);
    assert!(v.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(bolded.versions()[&BlockName::Plan], v);
    assert_ne!(edited.versions()[&BlockName::Plan], v);
    assert_eq!(version_of(plain.blocks(), BlockName::Plan), Some(v));
    assert_eq!(version_of(plain.blocks(), BlockName::Goal), None);
    let goal = Blocks { goal: Some("x".into()), plan: Some("x".into()), ..Blocks::default() };
    assert_ne!(version_of(&goal, BlockName::Goal), version_of(&goal, BlockName::Plan));
}

#[test]
fn replace_after_a_human_edit_conflicts_with_the_current_plan() {
    let mut agent = Description::empty();
    agent.set_blocks(&full_blocks()).unwrap();
    let stored = agent.render();
    let read = Description::parse(&stored).versions();
    // A human edits the plan in Tasker's editor.
    let edited = stored.replace("<p>last</p>", "<p>last, <strong>but check with Ops</strong></p>");
    assert_ne!(edited, stored);
    let mut current = Description::parse(&edited);
    let before = current.render();
    let err = current.apply(&[replace_text(BlockName::Plan, "agent's plan", Some(read[&BlockName::Plan].clone()))]);
    let human_plan = "  indented step\n\nafter a blank line\nlast, but check with Ops";
    assert_eq!(
        err,
        Err(BlockError::Conflict {
            block: BlockName::Plan,
            current_version: Some(current.versions()[&BlockName::Plan].clone()),
            current: json!(human_plan),
        })
    );
    assert_eq!(current.render(), before, "nothing changed");
    // Retrying with the version the conflict carried succeeds.
    let Err(BlockError::Conflict { current_version, .. }) = err else { unreachable!() };
    current.apply(&[replace_text(BlockName::Plan, "merged plan", current_version)]).unwrap();
    assert_eq!(current.blocks().plan.as_deref(), Some("merged plan"));
    // The other blocks kept their versions, so replacing them with the old ones works.
    current.apply(&[replace_text(BlockName::Goal, "new goal", Some(read[&BlockName::Goal].clone()))]).unwrap();
}

#[test]
fn replace_of_an_existing_block_requires_a_base_version() {
    let mut d = Description::parse(
        r#"<h2>Acceptance</h2><ul data-type="taskList"><li data-type="taskItem" data-checked="true"><p>a</p></li></ul>"#,
    );
    let err = d.apply(&[replace_items(vec![item("b", false)], None)]).unwrap_err();
    assert_eq!(
        err,
        BlockError::Conflict {
            block: BlockName::Acceptance,
            current_version: d.versions().get(&BlockName::Acceptance).cloned(),
            current: json!([{ "text": "a", "checked": true }]),
        }
    );
    assert_eq!(err.to_string(), "block `acceptance` changed since it was read");
}

#[test]
fn a_base_version_for_a_missing_block_conflicts() {
    let mut d = Description::parse("<p>no blocks</p>");
    let err = d.apply(&[replace_text(BlockName::Goal, "g", Some("0123456789abcdef".into()))]).unwrap_err();
    assert_eq!(
        err,
        BlockError::Conflict { block: BlockName::Goal, current_version: None, current: serde_json::Value::Null }
    );
    d.apply(&[replace_text(BlockName::Goal, "g", None)]).unwrap();
    assert_eq!(d.blocks().goal.as_deref(), Some("g"));
}

#[test]
fn append_and_check_after_a_human_edit_apply_on_top() {
    let mut agent = Description::empty();
    agent.set_blocks(&full_blocks()).unwrap();
    let stored = agent.render();
    // A human ticks "Docs updated" and adds a log entry and a criterion.
    let edited = stored
        .replace(r#"data-checked="false"><p>Docs updated"#, r#"data-checked="true"><p>Docs updated"#)
        .replace("started</p></li>", "started</p></li><li><p>human: waiting on review</p></li>")
        .replace(
            "<p>Docs updated</p></li>",
            "<p>Docs updated</p></li><li data-type=\"taskItem\" data-checked=\"false\"><p>Reviewed by Ops</p></li>",
        );
    let mut d = Description::parse(&edited);
    d.apply(&[
        BlockOp::AppendLog { entry: "2024-05-02 12:00 agent: review requested".into() },
        BlockOp::CheckItem { item: "  Tests pass ".into(), checked: false },
    ])
    .unwrap();
    let blocks = Description::parse(&d.render()).blocks().clone();
    assert_eq!(
        blocks.acceptance,
        Some(vec![item("Tests pass", false), item("Docs updated", true), item("Reviewed by Ops", false)])
    );
    assert_eq!(
        blocks.log,
        Some(vec![
            "2024-05-01 10:00 started".into(),
            "human: waiting on review".into(),
            "two\nlines".into(),
            "2024-05-02 12:00 agent: review requested".into(),
        ])
    );
}

#[test]
fn append_log_creates_the_log_and_keeps_the_entry_as_given() {
    let mut d = Description::parse("<p>human</p>");
    d.apply(&[BlockOp::AppendLog { entry: "2024-05-01T10:00Z <b>bold</b> & done".into() }]).unwrap();
    assert_eq!(d.blocks().log, Some(vec!["2024-05-01T10:00Z <b>bold</b> & done".into()]));
    assert_eq!(
        d.render(),
        r#"<p>human</p><h2 data-id="nodedc-block-log">Log</h2><ul><li><p>2024-05-01T10:00Z &lt;b&gt;bold&lt;/b&gt; &amp; done</p></li></ul>"#
    );
}

// ------------------------------------------------------------------------- validation

#[test]
fn malformed_ops_are_invalid_and_say_why() {
    let mut d = Description::empty();
    d.set_blocks(&full_blocks()).unwrap();
    let v = d.versions();
    let cases: Vec<(BlockOp, &str)> = vec![
        (
            BlockOp::Replace { block: BlockName::Plan, text: None, items: None, base_version: None },
            "`text` is required to replace `plan`",
        ),
        (
            BlockOp::Replace {
                block: BlockName::Goal,
                text: Some("x".into()),
                items: Some(vec![]),
                base_version: Some(v[&BlockName::Goal].clone()),
            },
            "`items` is for acceptance only",
        ),
        (
            BlockOp::Replace { block: BlockName::Acceptance, text: None, items: None, base_version: None },
            "`items` is required to replace `acceptance`",
        ),
        (
            BlockOp::Replace { block: BlockName::Acceptance, text: Some("x".into()), items: None, base_version: None },
            "`text` is not for acceptance",
        ),
        (replace_text(BlockName::Log, "x", None), "the log is append-only"),
        (BlockOp::AppendLog { entry: " \n\t".into() }, "the log entry is empty"),
        (
            BlockOp::CheckItem { item: "Nope".into(), checked: true },
            "no acceptance item has the text `Nope`; items are: `Tests pass`, `Docs updated`",
        ),
        (replace_items(vec![item("  ", false)], None), "acceptance item 1 has empty text"),
    ];
    for (op, expected) in cases {
        let message = invalid_message(d.apply(std::slice::from_ref(&op)));
        assert!(message.contains(expected), "{op:?}: `{message}` should contain `{expected}`");
    }
    let mut bare = Description::empty();
    let message = invalid_message(bare.apply(&[BlockOp::CheckItem { item: "x".into(), checked: true }]));
    assert!(message.contains("no acceptance block"), "{message}");
}

#[test]
fn limits_are_enforced() {
    let mut d = Description::empty();
    let ok = "x".repeat(20_000);
    d.apply(&[replace_text(BlockName::Result, &ok, None)]).unwrap();
    let v = d.versions()[&BlockName::Result].clone();
    let message = invalid_message(d.apply(&[replace_text(BlockName::Result, &format!("{ok}y"), Some(v))]));
    assert!(message.contains("20001 characters; the limit is 20000"), "{message}");

    let items: Vec<_> = (0..101).map(|n| item(&format!("item {n}"), false)).collect();
    let message = invalid_message(d.apply(&[replace_items(items[..101].to_vec(), None)]));
    assert!(message.contains("101 items; the limit is 100"), "{message}");
    d.apply(&[replace_items(items[..100].to_vec(), None)]).unwrap();
    let v = d.versions()[&BlockName::Acceptance].clone();
    let message = invalid_message(d.apply(&[replace_items(vec![item(&"é".repeat(501), false)], Some(v))]));
    assert!(message.contains("acceptance item 1 is 501 characters; the limit is 500"), "{message}");

    let message = invalid_message(d.apply(&[BlockOp::AppendLog { entry: "z".repeat(2_001) }]));
    assert!(message.contains("2001 characters; the limit is 2000"), "{message}");
    let entries: Vec<String> = (0..1_000).map(|n| format!("entry {n}")).collect();
    d.set_blocks(&Blocks { log: Some(entries), ..Blocks::default() }).unwrap();
    let message = invalid_message(d.apply(&[BlockOp::AppendLog { entry: "one more".into() }]));
    assert!(message.contains("1000 entries"), "{message}");
    let too_many: Vec<String> = (0..1_001).map(|n| format!("entry {n}")).collect();
    let message = invalid_message(d.set_blocks(&Blocks { log: Some(too_many), ..Blocks::default() }));
    assert!(message.contains("the limit is 1000"), "{message}");
}

#[test]
fn ops_apply_all_or_nothing() {
    let mut d = Description::parse("<p>keep</p>");
    d.set_blocks(&full_blocks()).unwrap();
    let before = (d.render(), d.blocks().clone());
    let result = d.apply(&[
        BlockOp::AppendLog { entry: "applied first".into() },
        BlockOp::CheckItem { item: "Docs updated".into(), checked: true },
        BlockOp::CheckItem { item: "missing".into(), checked: true },
    ]);
    assert!(result.is_err());
    assert_eq!((d.render(), d.blocks().clone()), before);
    let result =
        d.set_blocks(&Blocks { goal: Some("fine".into()), plan: Some("p".repeat(20_001)), ..Blocks::default() });
    assert!(result.is_err());
    assert_eq!((d.render(), d.blocks().clone()), before);
}

#[test]
fn empty_replacements_keep_the_block() {
    let mut d = Description::empty();
    d.set_blocks(&full_blocks()).unwrap();
    let v = d.versions();
    d.apply(&[
        replace_text(BlockName::Plan, "", Some(v[&BlockName::Plan].clone())),
        replace_items(vec![], Some(v[&BlockName::Acceptance].clone())),
    ])
    .unwrap();
    assert_eq!(d.blocks().plan.as_deref(), Some(""));
    assert_eq!(d.blocks().acceptance, Some(vec![]));
    assert!(d.versions().contains_key(&BlockName::Plan));
    assert_round_trips(&d);
}

// ------------------------------------------------------------------------- safety

#[test]
fn block_text_never_becomes_markup() {
    let attack = "<img src=x onerror=alert(1)>";
    let mut d = Description::empty();
    d.set_blocks(&Blocks {
        goal: Some(attack.into()),
        plan: Some(format!("</p><script>alert(1)</script>\n{attack}")),
        acceptance: Some(vec![item(attack, false)]),
        log: Some(vec![format!("\"><svg onload=alert(1)>")]),
        result: Some("&lt;already escaped&gt;".into()),
    })
    .unwrap();
    d.apply(&[replace_text(
        BlockName::Result,
        "&lt;already escaped&gt; &amp;",
        d.versions().get(&BlockName::Result).cloned(),
    )])
    .unwrap();
    let html = d.render();
    assert!(html.contains("<p>&lt;img src=x onerror=alert(1)&gt;</p>"), "{html}");
    assert!(html.contains("<p>&amp;lt;already escaped&amp;gt; &amp;amp;</p>"), "{html}");
    let doc = scraper::Html::parse_fragment(&html);
    let live = scraper::Selector::parse("img, script, svg, [onerror], [onload]").unwrap();
    assert_eq!(doc.select(&live).count(), 0, "{html}");
    let back = Description::parse(&html);
    assert_eq!(back.blocks().goal.as_deref(), Some(attack));
    assert_eq!(back.blocks().result.as_deref(), Some("&lt;already escaped&gt; &amp;"));
    assert_round_trips(&d);
}

#[test]
fn garbage_never_panics() {
    const PIECES: &[&str] = &[
        "<h2>",
        "</h2>",
        "<h1 data-id=\"nodedc-block-plan\">",
        "<h2 data-id=\"nodedc-block-",
        "Plan",
        "Goal",
        "Log",
        "Acceptance criteria",
        "Result:",
        "<div>",
        "</div>",
        "<section>",
        "<p>",
        "</p>",
        "<br>",
        "<ul data-type=\"taskList\">",
        "<li data-type=\"taskItem\" data-checked=\"true\">",
        "<li data-checked=",
        "<li>",
        "</li>",
        "</ul>",
        "<ol>",
        "<pre>",
        "</pre>",
        "<table><tr><td>",
        "</td></tr></table>",
        "<input type=checkbox checked>",
        "[x] ",
        "[ ] ",
        "&amp;",
        "&lt;",
        "&",
        "<",
        ">",
        "\"",
        "'",
        "<!--",
        "-->",
        "<script>",
        "</script>",
        "<template>",
        "<svg><h2>Plan</h2></svg>",
        "\n",
        "\r\n",
        "\0",
        " ",
        "\t",
        "🚀",
        "Ж",
        "\u{a0}",
        "<a href='",
        "<b><i>",
        "</b>",
        "<![CDATA[",
        "<!DOCTYPE html>",
        "<html>",
        "<body>",
        "<h2 data-id=\"nodedc-block-acceptance\">",
        "<h2 data-id=\"nodedc-block-log\">",
        "<select><option>",
    ];
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for round in 0..400 {
        let len = rng.random_range(0..60);
        let mut html = String::new();
        for _ in 0..len {
            if rng.random_bool(0.15) {
                html.push(char::from_u32(rng.random_range(0..0x11_0000)).unwrap_or('\u{fffd}'));
            } else {
                html.push_str(PIECES[rng.random_range(0..PIECES.len())]);
            }
        }
        let mut d = Description::parse(&html);
        let html2 = d.render();
        let _ = (d.human_html(), d.versions(), d.blocks().clone());
        let again = Description::parse(&html2);
        assert_eq!(again.blocks(), d.blocks(), "round {round}: {html:?}");
        let _ = d.apply(&[
            BlockOp::AppendLog { entry: format!("round {round}") },
            BlockOp::CheckItem { item: "Plan".into(), checked: true },
        ]);
        let _ = d.apply(&[replace_text(BlockName::Plan, &html, d.versions().get(&BlockName::Plan).cloned())]);
        let _ = d.set_blocks(&Blocks { goal: Some(html.clone()), ..Blocks::default() });
        let rendered = d.render();
        assert_eq!(Description::parse(&rendered).blocks(), d.blocks(), "round {round}: {html:?}");
        assert_round_trips(&Description::parse(&html));
    }
}

#[test]
fn deep_nesting_does_not_exhaust_the_stack() {
    let depth = 2_000;
    let html = format!(
        "{}<h2>Plan</h2><p>deep</p>{}{}<h2>Goal</h2><p>{}x{}</p>",
        "<div>".repeat(depth),
        "</div>".repeat(depth),
        "<p>after</p>",
        "<span>".repeat(depth),
        "</span>".repeat(depth),
    );
    let mut d = Description::parse(&html);
    assert_eq!(d.blocks().goal.as_deref(), Some("x"));
    d.apply(&[BlockOp::AppendLog { entry: "ok".into() }]).unwrap();
    let again = Description::parse(&d.render());
    assert_eq!(again.blocks(), d.blocks());
}
