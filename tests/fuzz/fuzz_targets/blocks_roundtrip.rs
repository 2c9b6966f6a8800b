//! The structured-blocks format of card descriptions (`reference_tasker::blocks`).
//!
//! - Any text, parsed as a description, never panics; its rendering parses to the
//!   same blocks and the same human zone, and renders to itself (stable).
//! - Blocks built from the input (`arbitrary`), set on an empty description: the
//!   rendering parses back to exactly the blocks stored, renders to itself, and
//!   setting the stored blocks again changes nothing (canonical form is a fixpoint).
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use nodedc_agent_gateway::reference_tasker::blocks::Description;
use nodedc_agent_gateway::tasker::contract::{AcceptanceItem, Blocks};

#[derive(Arbitrary, Debug)]
struct Built {
    goal: Option<String>,
    plan: Option<String>,
    acceptance: Option<Vec<(String, bool)>>,
    log: Option<Vec<String>>,
    result: Option<String>,
}

fn text_round_trip(html: &str) {
    let parsed = Description::parse(html);
    let rendered = parsed.render();
    let again = Description::parse(&rendered);
    assert_eq!(again.blocks(), parsed.blocks(), "blocks survive a round trip of\n{html:?}\nrendered\n{rendered:?}");
    assert_eq!(again.human_html(), parsed.human_html(), "the human zone survives, from\n{html:?}");
    assert_eq!(again.render(), rendered, "rendering is stable, from\n{html:?}");
}

fn built_round_trip(built: Built) {
    let blocks = Blocks {
        goal: built.goal,
        plan: built.plan,
        acceptance: built
            .acceptance
            .map(|items| items.into_iter().map(|(text, checked)| AcceptanceItem { text, checked }).collect()),
        log: built.log,
        result: built.result,
    };
    let mut d = Description::empty();
    if d.set_blocks(&blocks).is_err() {
        return;
    }
    let html = d.render();
    let back = Description::parse(&html);
    assert_eq!(back.blocks(), d.blocks(), "parse(render(x)) == x for {blocks:?}\n{html:?}");
    assert_eq!(back.render(), html, "rendering is stable for {blocks:?}");
    let mut again = Description::empty();
    again.set_blocks(d.blocks()).expect("stored blocks are valid");
    assert_eq!(again.blocks(), d.blocks(), "canonical blocks are a fixpoint");
}

fuzz_target!(|data: &[u8]| {
    text_round_trip(&String::from_utf8_lossy(data));
    if let Ok(built) = Built::arbitrary(&mut Unstructured::new(data)) {
        built_round_trip(built);
    }
});
