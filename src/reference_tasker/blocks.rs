//! Structured blocks in a card description: render, parse, version and edit them.
//!
//! A card's description is HTML as Plane stores it. Agents keep five named blocks in it
//! (goal, plan, acceptance, log, result); everything else is the **human zone**, which is
//! kept as it was parsed and never rewritten.
//!
//! # Format
//!
//! Plane's sanitizer strips HTML comments and unknown `data-*` attributes but keeps
//! `<h2 data-id>` headings, paragraphs, lists and TipTap task lists, so a block is a marker
//! heading followed by its content:
//!
//! ```html
//! <h2 data-id="nodedc-block-plan">Plan</h2><p>line one</p><p></p><p>line three</p>
//! <h2 data-id="nodedc-block-acceptance">Acceptance</h2>
//! <ul data-type="taskList"><li data-type="taskItem" data-checked="true"><p>Tests pass</p></li></ul>
//! <h2 data-id="nodedc-block-log">Log</h2><ul><li><p>entry</p></li></ul>
//! ```
//!
//! Text blocks (goal, plan, result) are one `<p>` per line; acceptance is a task list; the
//! log is a plain list. All block text is HTML-escaped by html5ever's serializer, so block
//! text can never become live markup.
//!
//! # Parsing rules
//!
//! The description is parsed with html5ever (through `scraper`), so any HTML a human or an
//! editor produced is accepted; parsing never fails.
//! - A block starts at an `<h1>`/`<h2>` whose `data-id` is `nodedc-block-NAME`, or, when the
//!   id is missing or unknown (a paste or the sanitizer dropped it), whose text is `Goal`,
//!   `Plan`, `Acceptance`, `Acceptance criteria`, `Log` or `Result` (case-insensitive,
//!   trimmed, optional trailing colon). The id wins over the text, so a renamed heading
//!   stays its block. Any other heading is human zone.
//! - A block's content is every following sibling up to the next `<h1>`/`<h2>` (block or
//!   not), the next wrapper holding a block, or the end of its parent. So text a human
//!   types below the last block, without a heading of its own, belongs to that block.
//! - Wrappers (`div`, `section`, `article`, `main`, `header`, `footer`, `aside`) holding a
//!   block heading are descended into; their tags stay in the human zone around the blocks.
//! - The same block heading twice: the first is the block, the later one (and its content)
//!   is human zone, so nothing a human wrote is ever lost by a rewrite.
//! - Content is flattened to text: one line per paragraph, heading, `<br>`-separated line
//!   or `<pre>` line; each list item is one acceptance item or log entry (its paragraphs
//!   joined by newlines). A task item is checked by `data-checked="true"`, by a checked
//!   checkbox, or by a leading `[x] ` (`[ ] ` for unchecked) when it has neither.
//! - Leading and trailing blank lines of a text block, and surrounding whitespace of items
//!   and entries, are dropped; a newline inside a paragraph's source is a space. What is
//!   stored is always what reads back from the rendering (so `blocks()` never differs
//!   from what the next parse of the stored HTML finds).
//! - `<script>`, `<noscript>` and `<plaintext>` are dropped (the sanitizer strips them and
//!   they cannot be written back faithfully), and HTML that html5ever would not write back
//!   the same (misnested markup) is parsed again from its writing, so that parsing the
//!   rendering gives the same blocks and the same human zone, and rendering is stable.
//!
//! # Rendering
//!
//! A block that has not changed since it was parsed is written back exactly as it was
//! parsed (a human's formatting inside it survives other blocks' edits); a changed block is
//! rendered canonically, keeping the human's heading text; a new block is appended after
//! everything else, in the order goal, plan, acceptance, log, result. A block's version is a
//! hash of its flattened content, so formatting does not change it but any text edit does.
//! The human zone is written as html5ever serializes what it parsed: the same content in
//! the same order, in normalized markup (quoted attributes, closed tags, minimal entities).

use std::collections::{BTreeMap, BTreeSet};

use scraper::{ElementRef, Html, Node};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::tasker::contract::{AcceptanceItem, BlockName, BlockOp, Blocks};

/// Longest goal, plan or result, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Most acceptance items.
pub const MAX_ITEMS: usize = 100;
/// Longest acceptance item, in characters.
pub const MAX_ITEM_CHARS: usize = 500;
/// Most log entries.
pub const MAX_LOG_ENTRIES: usize = 1_000;
/// Longest log entry, in characters.
pub const MAX_ENTRY_CHARS: usize = 2_000;

/// The `data-id` of a block's heading is this prefix and the block name.
const ID_PREFIX: &str = "nodedc-block-";
/// How deep wrappers are searched for blocks, and how deep content is flattened
/// structurally (deeper content is read as plain text), so no input can exhaust the stack.
const MAX_DEPTH: usize = 48;
/// Wrapper elements searched for blocks.
const WRAPPERS: &[&str] = &["div", "section", "article", "main", "header", "footer", "aside"];
/// Elements dropped on parsing: Plane's sanitizer never stores them, and html5ever cannot
/// write them back faithfully (a `<script>` holding `<!--` swallows what follows it,
/// `<plaintext>` everything after it, `<noscript>` is re-escaped on every round).
const DROPPED: &[&str] = &["script", "noscript", "plaintext"];
/// How many times [`parse_html`] parses its own writing again, at most.
const MAX_REPARSES: usize = 4;
const HTML_NS: &str = "http://www.w3.org/1999/xhtml";

// ------------------------------------------------------------------------- the description

/// A card description: the human zone and the structured blocks, in document order.
#[derive(Debug, Clone)]
pub struct Description {
    pieces: Vec<Piece>,
    blocks: Blocks,
    sections: BTreeMap<BlockName, Section>,
}

/// One stretch of the document, in order.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Human(String),
    Block(BlockName),
}

/// What is kept of a parsed block besides its content.
#[derive(Debug, Clone, Default)]
struct Section {
    /// The heading's text as the human left it (empty: the block's default title).
    title: String,
    /// The block's HTML as parsed, while its content is unchanged.
    original: Option<String>,
}

/// A block's content, whatever its kind.
#[derive(Debug, Clone, PartialEq)]
enum Content {
    Text(String),
    Items(Vec<AcceptanceItem>),
    Entries(Vec<String>),
}

impl Description {
    /// Parses description HTML as Plane stores it, including HTML a human has edited.
    /// Never fails: anything not recognised as a block is human zone.
    pub fn parse(html: &str) -> Description {
        let doc = parse_html(html);
        let mut splitter = Splitter::default();
        splitter.container(doc.root_element(), 0);
        splitter.finish()
    }

    /// An empty description (no human zone, no blocks).
    pub fn empty() -> Description {
        Description { pieces: Vec::new(), blocks: Blocks::default(), sections: BTreeMap::new() }
    }

    /// The HTML to store: the human zone as it was parsed (same content, same order)
    /// with the blocks rendered in place; blocks that did not exist before are added
    /// after everything else in canonical order (goal, plan, acceptance, log, result).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Human(html) => out.push_str(html),
                Piece::Block(name) => out.push_str(&self.render_block(*name)),
            }
        }
        for name in BlockName::ALL.iter().copied().filter(|name| !self.in_document(*name)) {
            out.push_str(&self.render_block(name));
        }
        out
    }

    pub fn blocks(&self) -> &Blocks {
        &self.blocks
    }

    /// The version of each present block: a short hex hash of the block's canonical
    /// content (so a human edit to the block changes it, and re-rendering does not).
    pub fn versions(&self) -> BTreeMap<BlockName, String> {
        BlockName::ALL.iter().filter_map(|name| Some((*name, version_of(&self.blocks, *name)?))).collect()
    }

    /// The human zone alone, as HTML (for display and for tests).
    pub fn human_html(&self) -> String {
        self.pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Human(html) => Some(html.as_str()),
                Piece::Block(_) => None,
            })
            .collect()
    }

    /// Applies ops in order, all or nothing (on error self is unchanged).
    pub fn apply(&mut self, ops: &[BlockOp]) -> Result<(), BlockError> {
        let mut next = self.clone();
        for op in ops {
            next.apply_one(op)?;
        }
        *self = next;
        Ok(())
    }

    /// Sets every block present in `blocks` (used when a card is created); no version check.
    pub fn set_blocks(&mut self, blocks: &Blocks) -> Result<(), BlockError> {
        let mut next = self.clone();
        for name in BlockName::ALL.iter().copied() {
            if let Some(content) = get_content(blocks, name) {
                validate(name, &content)?;
                next.store(name, canonical(name, &content));
            }
        }
        *self = next;
        Ok(())
    }

    fn in_document(&self, name: BlockName) -> bool {
        self.pieces.contains(&Piece::Block(name))
    }

    fn render_block(&self, name: BlockName) -> String {
        let Some(content) = get_content(&self.blocks, name) else { return String::new() };
        let section = self.sections.get(&name);
        if let Some(original) = section.and_then(|s| s.original.as_ref()) {
            return original.clone();
        }
        let title = section.map(|s| s.title.as_str()).filter(|t| !t.is_empty()).unwrap_or(default_title(name));
        format!(r#"<h2 data-id="{ID_PREFIX}{name}">{}</h2>{}"#, escape_text(title), render_content(&content))
    }

    /// Sets a block's (canonical) content; a block whose content changes is re-rendered.
    fn store(&mut self, name: BlockName, content: Content) {
        if get_content(&self.blocks, name).as_ref() == Some(&content) {
            return;
        }
        put_content(&mut self.blocks, name, content);
        if let Some(section) = self.sections.get_mut(&name) {
            section.original = None;
        }
    }

    fn apply_one(&mut self, op: &BlockOp) -> Result<(), BlockError> {
        match op {
            BlockOp::Replace { block, text, items, base_version } => {
                let content = replacement(*block, text.as_ref(), items.as_ref())?;
                validate(*block, &content)?;
                self.check_version(*block, base_version.as_deref())?;
                self.store(*block, canonical(*block, &content));
                Ok(())
            }
            BlockOp::AppendLog { entry } => self.append_log(entry),
            BlockOp::CheckItem { item, checked } => self.check_item(item, *checked),
        }
    }

    /// A replace needs the version last read when the block exists, and none when it does
    /// not (a version for a missing block means someone removed it meanwhile).
    fn check_version(&self, block: BlockName, base: Option<&str>) -> Result<(), BlockError> {
        let base = base.filter(|b| !b.trim().is_empty());
        let current_version = version_of(&self.blocks, block);
        if base.map(str::trim) == current_version.as_deref() {
            return Ok(());
        }
        let current = get_content(&self.blocks, block).map_or(Value::Null, |c| content_json(&c));
        Err(BlockError::Conflict { block, current_version, current })
    }

    fn append_log(&mut self, entry: &str) -> Result<(), BlockError> {
        check_entry(entry, "the log entry")?;
        let mut entries = self.blocks.log.clone().unwrap_or_default();
        if entries.len() >= MAX_LOG_ENTRIES {
            return Err(invalid(format!("the log already has {} entries, the limit", entries.len())));
        }
        match canonical(BlockName::Log, &Content::Entries(vec![entry.to_owned()])) {
            Content::Entries(added) if !added.is_empty() => entries.extend(added),
            _ => return Err(invalid("the log entry is empty")),
        }
        self.store(BlockName::Log, Content::Entries(entries));
        Ok(())
    }

    fn check_item(&mut self, item: &str, checked: bool) -> Result<(), BlockError> {
        let Some(mut items) = self.blocks.acceptance.clone() else {
            return Err(invalid(
                "there is no acceptance block to check items in; create it with a `replace` of `acceptance`",
            ));
        };
        let wanted = item.trim();
        let mut found = false;
        for it in items.iter_mut().filter(|it| it.text.trim() == wanted) {
            it.checked = checked;
            found = true;
        }
        if !found {
            return Err(invalid(no_such_item(wanted, &items)));
        }
        self.store(BlockName::Acceptance, Content::Items(items));
        Ok(())
    }
}

pub fn version_of(blocks: &Blocks, name: BlockName) -> Option<String> {
    let json = match get_content(blocks, name)? {
        Content::Text(text) => serde_json::to_string(&text),
        Content::Items(items) => serde_json::to_string(&items),
        Content::Entries(entries) => serde_json::to_string(&entries),
    }
    .unwrap_or_default();
    let digest = Sha256::new().chain_update(name.as_str()).chain_update(b"\n").chain_update(json).finalize();
    Some(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BlockError {
    /// The block changed since `base_version` was read (or base_version was missing for a
    /// block that exists). Carries what the caller needs to retry.
    #[error("block `{block}` changed since it was read")]
    Conflict { block: BlockName, current_version: Option<String>, current: serde_json::Value },
    /// The op is malformed: names what is wrong.
    #[error("{message}")]
    Invalid { message: String },
}

// ------------------------------------------------------------------------- validation

fn invalid(message: impl Into<String>) -> BlockError {
    BlockError::Invalid { message: message.into() }
}

/// The content a replace op carries, checked against the kind of its block.
fn replacement(
    block: BlockName,
    text: Option<&String>,
    items: Option<&Vec<AcceptanceItem>>,
) -> Result<Content, BlockError> {
    match (block, text, items) {
        (BlockName::Log, _, _) => Err(invalid("the log is append-only; use `append_log` to add an entry")),
        (BlockName::Acceptance, Some(_), _) => {
            Err(invalid("`text` is not for acceptance; send `items` (a list of {text, checked})"))
        }
        (BlockName::Acceptance, None, Some(items)) => Ok(Content::Items(items.clone())),
        (BlockName::Acceptance, None, None) => Err(invalid("`items` is required to replace `acceptance`")),
        (_, _, Some(_)) => Err(invalid(format!("`items` is for acceptance only; `{block}` takes `text`"))),
        (_, Some(text), None) => Ok(Content::Text(text.clone())),
        (_, None, None) => Err(invalid(format!("`text` is required to replace `{block}`"))),
    }
}

/// Checks the limits of a block's content.
fn validate(block: BlockName, content: &Content) -> Result<(), BlockError> {
    match content {
        Content::Text(text) => {
            let chars = text.chars().count();
            if chars > MAX_TEXT_CHARS {
                return Err(invalid(format!("`{block}` is {chars} characters; the limit is {MAX_TEXT_CHARS}")));
            }
        }
        Content::Items(items) => {
            if items.len() > MAX_ITEMS {
                return Err(invalid(format!("acceptance has {} items; the limit is {MAX_ITEMS}", items.len())));
            }
            for (n, item) in items.iter().enumerate() {
                check_item_text(n + 1, &item.text)?;
            }
        }
        Content::Entries(entries) => {
            if entries.len() > MAX_LOG_ENTRIES {
                return Err(invalid(format!("the log has {} entries; the limit is {MAX_LOG_ENTRIES}", entries.len())));
            }
            for (n, entry) in entries.iter().enumerate() {
                check_entry(entry, &format!("log entry {}", n + 1))?;
            }
        }
    }
    Ok(())
}

fn check_item_text(n: usize, text: &str) -> Result<(), BlockError> {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        Err(invalid(format!("acceptance item {n} has empty text")))
    } else if chars > MAX_ITEM_CHARS {
        Err(invalid(format!("acceptance item {n} is {chars} characters; the limit is {MAX_ITEM_CHARS}")))
    } else {
        Ok(())
    }
}

fn check_entry(entry: &str, what: &str) -> Result<(), BlockError> {
    let chars = entry.chars().count();
    if entry.trim().is_empty() {
        Err(invalid(format!("{what} is empty")))
    } else if chars > MAX_ENTRY_CHARS {
        Err(invalid(format!("{what} is {chars} characters; the limit is {MAX_ENTRY_CHARS}")))
    } else {
        Ok(())
    }
}

fn no_such_item(wanted: &str, items: &[AcceptanceItem]) -> String {
    if items.is_empty() {
        return format!("no acceptance item has the text `{wanted}`; the acceptance block has no items");
    }
    let texts: Vec<String> = items.iter().map(|it| format!("`{}`", it.text)).collect();
    format!("no acceptance item has the text `{wanted}`; items are: {}", texts.join(", "))
}

// ------------------------------------------------------------------------- content

fn get_content(blocks: &Blocks, name: BlockName) -> Option<Content> {
    match name {
        BlockName::Goal => blocks.goal.clone().map(Content::Text),
        BlockName::Plan => blocks.plan.clone().map(Content::Text),
        BlockName::Result => blocks.result.clone().map(Content::Text),
        BlockName::Acceptance => blocks.acceptance.clone().map(Content::Items),
        BlockName::Log => blocks.log.clone().map(Content::Entries),
    }
}

/// Stores content of the kind the block takes (any other kind is ignored).
fn put_content(blocks: &mut Blocks, name: BlockName, content: Content) {
    match (name, content) {
        (BlockName::Goal, Content::Text(text)) => blocks.goal = Some(text),
        (BlockName::Plan, Content::Text(text)) => blocks.plan = Some(text),
        (BlockName::Result, Content::Text(text)) => blocks.result = Some(text),
        (BlockName::Acceptance, Content::Items(items)) => blocks.acceptance = Some(items),
        (BlockName::Log, Content::Entries(entries)) => blocks.log = Some(entries),
        _ => {}
    }
}

fn content_json(content: &Content) -> Value {
    match content {
        Content::Text(text) => Value::String(text.clone()),
        Content::Items(items) => serde_json::to_value(items).unwrap_or(Value::Null),
        Content::Entries(entries) => Value::from(entries.clone()),
    }
}

/// The content exactly as it reads back from its rendering, so that what is stored is
/// what a later parse of the stored HTML finds.
fn canonical(name: BlockName, content: &Content) -> Content {
    let doc = parse_html(&render_content(content));
    let mut flattener = Flattener::default();
    flattener.children(doc.root_element(), 0);
    flattener.into_content(name)
}

fn default_title(name: BlockName) -> &'static str {
    match name {
        BlockName::Goal => "Goal",
        BlockName::Plan => "Plan",
        BlockName::Acceptance => "Acceptance",
        BlockName::Log => "Log",
        BlockName::Result => "Result",
    }
}

// ------------------------------------------------------------------------- parsing

/// A child node of an element, as far as parsing cares.
enum Child<'a> {
    Element(ElementRef<'a>),
    Text(&'a str),
    Comment(&'a str),
    Other,
}

fn children<'a>(el: ElementRef<'a>) -> impl Iterator<Item = Child<'a>> + 'a {
    el.children().map(|node| match node.value() {
        Node::Element(_) => ElementRef::wrap(node).map_or(Child::Other, Child::Element),
        Node::Text(text) => Child::Text(text),
        Node::Comment(comment) => Child::Comment(comment),
        _ => Child::Other,
    })
}

/// Parses HTML as the content of a `<body>`, into a tree that html5ever writes back as
/// HTML that parses to the same tree, so a description reads the same after it is stored.
/// HTML that is not already written that way (a human's, an editor's) is parsed again
/// from its writing until it is: misnested markup can parse to a tree its writing does
/// not reproduce (a heading inside a heading), which would move blocks between rounds.
fn parse_html(html: &str) -> Html {
    let mut doc = parse_once(html);
    let mut source = std::borrow::Cow::Borrowed(html);
    for _ in 0..MAX_REPARSES {
        let written = doc.root_element().inner_html();
        if written == source {
            break;
        }
        doc = parse_once(&written);
        source = written.into();
    }
    doc
}

/// Parses HTML as the content of a `<body>`, without the elements in [`DROPPED`].
fn parse_once(html: &str) -> Html {
    let mut doc = Html::parse_fragment(html);
    drop_unwritable(&mut doc);
    keep_leading_newlines(&mut doc);
    doc
}

fn drop_unwritable(doc: &mut Html) {
    let dropped: Vec<_> = doc
        .tree
        .nodes()
        .filter(|node| node.value().as_element().is_some_and(|el| DROPPED.contains(&el.name())))
        .map(|node| node.id())
        .collect();
    for id in dropped {
        if let Some(mut node) = doc.tree.get_mut(id) {
            node.detach();
        }
    }
}

/// The parser drops a newline right after `<pre>`, `<listing>` or `<textarea>` and
/// html5ever's serializer does not add one back, so a text starting with a newline there
/// would lose it on every round; doubling it makes the written HTML read back the same.
fn keep_leading_newlines(doc: &mut Html) {
    let texts: Vec<_> = doc
        .tree
        .nodes()
        .filter(|node| node.value().as_element().is_some_and(|el| matches!(el.name(), "pre" | "listing" | "textarea")))
        .filter_map(|node| node.first_child())
        .filter(|child| child.value().as_text().is_some_and(|text| text.starts_with('\n')))
        .map(|child| child.id())
        .collect();
    for id in texts {
        if let Some(mut node) = doc.tree.get_mut(id)
            && let Node::Text(text) = node.value()
        {
            text.text = format!("\n{}", &*text.text).as_str().into();
        }
    }
}

fn is_html(el: ElementRef<'_>, names: &[&str]) -> bool {
    let name = &el.value().name;
    &*name.ns == HTML_NS && names.contains(&&*name.local)
}

fn is_heading(el: ElementRef<'_>) -> bool {
    is_html(el, &["h1", "h2"])
}

fn is_wrapper(el: ElementRef<'_>) -> bool {
    is_html(el, WRAPPERS)
}

/// The block a heading marks, by its `data-id` first, else by its text.
fn block_of_heading(el: ElementRef<'_>) -> Option<BlockName> {
    let by_id = el.attr("data-id").and_then(|id| id.trim().strip_prefix(ID_PREFIX)).and_then(BlockName::parse);
    by_id.or_else(|| block_of_title(&heading_text(el)))
}

fn block_of_title(title: &str) -> Option<BlockName> {
    let title = title.trim_end_matches(':').trim_end().to_lowercase();
    match title.as_str() {
        "goal" => Some(BlockName::Goal),
        "plan" => Some(BlockName::Plan),
        "acceptance" | "acceptance criteria" => Some(BlockName::Acceptance),
        "log" => Some(BlockName::Log),
        "result" => Some(BlockName::Result),
        _ => None,
    }
}

/// A heading's text with its whitespace collapsed.
fn heading_text(el: ElementRef<'_>) -> String {
    el.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A block heading being read, with the nodes of its content so far.
struct Open<'a> {
    name: BlockName,
    heading: ElementRef<'a>,
    nodes: Vec<Child<'a>>,
}

/// Splits the document into human pieces and block sections.
#[derive(Default)]
struct Splitter<'a> {
    pieces: Vec<Piece>,
    blocks: Blocks,
    sections: BTreeMap<BlockName, Section>,
    open: Option<Open<'a>>,
}

impl<'a> Splitter<'a> {
    fn finish(mut self) -> Description {
        self.close();
        Description { pieces: self.pieces, blocks: self.blocks, sections: self.sections }
    }

    fn seen(&self) -> BTreeSet<BlockName> {
        self.sections.keys().copied().chain(self.open.as_ref().map(|open| open.name)).collect()
    }

    fn container(&mut self, el: ElementRef<'a>, depth: usize) {
        for child in children(el) {
            match child {
                Child::Element(child) if is_heading(child) => self.heading(child),
                Child::Element(child) if depth < MAX_DEPTH && self.holds_new_block(child, depth + 1) => {
                    self.wrapper(child, depth + 1)
                }
                other => self.node(other),
            }
        }
        self.close();
    }

    fn heading(&mut self, el: ElementRef<'a>) {
        self.close();
        match block_of_heading(el).filter(|name| !self.seen().contains(name)) {
            Some(name) => self.open = Some(Open { name, heading: el, nodes: Vec::new() }),
            None => self.human(&el.html()),
        }
    }

    fn wrapper(&mut self, el: ElementRef<'a>, depth: usize) {
        self.close();
        let (start, end) = wrapper_tags(el);
        self.human(&start);
        self.container(el, depth);
        self.human(&end);
    }

    fn node(&mut self, child: Child<'a>) {
        match &mut self.open {
            Some(open) => open.nodes.push(child),
            None => self.human(&child_html(&child)),
        }
    }

    /// Whether a wrapper holds a heading of a block not found yet (wrappers searched as
    /// `container` descends them).
    fn holds_new_block(&self, el: ElementRef<'a>, depth: usize) -> bool {
        is_wrapper(el) && self.holds_new_heading(el, depth, &self.seen())
    }

    fn holds_new_heading(&self, el: ElementRef<'a>, depth: usize, seen: &BTreeSet<BlockName>) -> bool {
        el.child_elements().any(|child| {
            if is_heading(child) {
                block_of_heading(child).is_some_and(|name| !seen.contains(&name))
            } else {
                depth < MAX_DEPTH && is_wrapper(child) && self.holds_new_heading(child, depth + 1, seen)
            }
        })
    }

    fn human(&mut self, html: &str) {
        if html.is_empty() {
            return;
        }
        match self.pieces.last_mut() {
            Some(Piece::Human(last)) => last.push_str(html),
            _ => self.pieces.push(Piece::Human(html.to_owned())),
        }
    }

    /// Ends the block being read, if any: flattens its content and keeps its HTML.
    fn close(&mut self) {
        let Some(open) = self.open.take() else { return };
        let mut flattener = Flattener::default();
        let mut original = open.heading.html();
        for child in &open.nodes {
            flattener.child(child, 0);
            original.push_str(&child_html(child));
        }
        put_content(&mut self.blocks, open.name, flattener.into_content(open.name));
        let section = Section { title: heading_text(open.heading), original: Some(original) };
        self.sections.insert(open.name, section);
        self.pieces.push(Piece::Block(open.name));
    }
}

// ------------------------------------------------------------------------- flattening

/// Elements each of whose contents is at least one line, even when empty.
fn is_line_element(name: &str) -> bool {
    matches!(name, "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "pre")
}

/// Elements that break lines around them but make no line of their own when empty.
fn is_block_element(name: &str) -> bool {
    matches!(
        name,
        "div"
            | "section"
            | "article"
            | "main"
            | "header"
            | "footer"
            | "aside"
            | "nav"
            | "blockquote"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "table"
            | "caption"
            | "thead"
            | "tbody"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "figure"
            | "figcaption"
            | "details"
            | "summary"
            | "hr"
            | "label"
    )
}

/// One list item (or one line outside lists): its lines and whether it is ticked.
#[derive(Debug, Default)]
struct Unit {
    lines: Vec<String>,
    checked: Option<bool>,
}

/// Reads a block's content nodes as lines grouped into units.
#[derive(Default)]
struct Flattener {
    units: Vec<Unit>,
    item: Option<Unit>,
    line: String,
    lines_emitted: usize,
    in_pre: usize,
    /// In a `<pre>` that has no text yet: its leading newlines are dropped, as html5ever
    /// writes a `<pre>` whose text starts with one in a way that reads back without it.
    pre_start: bool,
}

impl Flattener {
    fn children(&mut self, el: ElementRef<'_>, depth: usize) {
        for child in children(el) {
            self.child(&child, depth);
        }
    }

    fn child(&mut self, child: &Child<'_>, depth: usize) {
        match child {
            Child::Element(el) => self.element(*el, depth + 1),
            Child::Text(text) => self.text(text),
            Child::Comment(_) | Child::Other => {}
        }
    }

    fn element(&mut self, el: ElementRef<'_>, depth: usize) {
        let name = el.value().name();
        match name {
            "br" => self.end_line(true),
            "input" => self.checkbox(el),
            "script" | "style" | "template" => {}
            _ if depth > MAX_DEPTH => self.line.push_str(&el.text().collect::<String>()),
            "li" => self.list_item(el, depth),
            _ if is_line_element(name) => self.line_element(el, depth),
            _ if is_block_element(name) => {
                self.end_line(false);
                self.children(el, depth);
                self.end_line(false);
            }
            _ => self.children(el, depth),
        }
    }

    fn text(&mut self, text: &str) {
        if self.in_pre == 0 {
            self.line.push_str(text);
            return;
        }
        let text = if self.pre_start { text.trim_start_matches(['\n', '\r']) } else { text };
        self.pre_start &= text.is_empty();
        for (n, part) in text.split('\n').enumerate() {
            if n > 0 {
                self.end_line(true);
            }
            self.line.push_str(part);
        }
    }

    fn line_element(&mut self, el: ElementRef<'_>, depth: usize) {
        self.end_line(false);
        let before = self.lines_emitted;
        let pre = el.value().name() == "pre";
        self.in_pre += usize::from(pre);
        self.pre_start |= pre;
        self.children(el, depth);
        self.in_pre -= usize::from(pre);
        self.pre_start = false;
        self.end_line(self.lines_emitted == before);
    }

    fn list_item(&mut self, el: ElementRef<'_>, depth: usize) {
        self.end_line(false);
        self.finish_item();
        let checked = el.attr("data-checked").map(|v| v.trim().eq_ignore_ascii_case("true"));
        self.item = Some(Unit { lines: Vec::new(), checked });
        self.children(el, depth);
        self.end_line(false);
        self.finish_item();
    }

    fn checkbox(&mut self, el: ElementRef<'_>) {
        let is_checkbox = el.attr("type").is_some_and(|t| t.eq_ignore_ascii_case("checkbox"));
        if let Some(item) = self.item.as_mut().filter(|item| is_checkbox && item.checked.is_none()) {
            item.checked = Some(el.attr("checked").is_some());
        }
    }

    fn finish_item(&mut self) {
        if let Some(item) = self.item.take() {
            self.units.push(item);
        }
    }

    /// Ends the current line; a blank one only counts when `keep_blank`.
    fn end_line(&mut self, keep_blank: bool) {
        if !keep_blank && self.line.trim().is_empty() {
            self.line.clear();
            return;
        }
        let line = source_line(&std::mem::take(&mut self.line));
        self.lines_emitted += 1;
        match self.item.as_mut() {
            Some(item) => item.lines.push(line),
            None => self.units.push(Unit { lines: vec![line], checked: None }),
        }
    }

    fn into_content(mut self, name: BlockName) -> Content {
        self.end_line(false);
        self.finish_item();
        match name {
            BlockName::Goal | BlockName::Plan | BlockName::Result => Content::Text(text_of_units(self.units)),
            BlockName::Acceptance => Content::Items(self.units.into_iter().filter_map(item_of_unit).collect()),
            BlockName::Log => Content::Entries(self.units.into_iter().filter_map(entry_of_unit).collect()),
        }
    }
}

/// A paragraph's text: a newline in its source (pretty-printed HTML) is a space.
fn source_line(raw: &str) -> String {
    if !raw.contains(['\n', '\r']) {
        return raw.to_owned();
    }
    raw.split(['\n', '\r']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

fn text_of_units(units: Vec<Unit>) -> String {
    let lines: Vec<String> = units.into_iter().flat_map(|unit| unit.lines).collect();
    let first = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(lines.len());
    let last = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(first, |n| n + 1);
    lines[first..last.max(first)].join("\n")
}

fn entry_of_unit(unit: Unit) -> Option<String> {
    let text = unit.lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn item_of_unit(unit: Unit) -> Option<AcceptanceItem> {
    let checked = unit.checked;
    let text = entry_of_unit(unit)?;
    match checked {
        Some(checked) => Some(AcceptanceItem { text, checked }),
        None => Some(item_of_text(&text)),
    }
}

/// An item written as text: a leading `[x] ` ticks it, `[ ] ` leaves it unticked.
fn item_of_text(text: &str) -> AcceptanceItem {
    let marked = |marks: &[&str]| marks.iter().find_map(|m| text.strip_prefix(m)).map(str::trim_start);
    let item = |text: &str, checked| AcceptanceItem { text: text.to_owned(), checked };
    match (marked(&["[x]", "[X]"]), marked(&["[ ]"])) {
        (Some(rest), _) if !rest.is_empty() => item(rest, true),
        (_, Some(rest)) if !rest.is_empty() => item(rest, false),
        _ => item(text, false),
    }
}

// ------------------------------------------------------------------------- rendering

fn render_content(content: &Content) -> String {
    match content {
        Content::Text(text) => paragraphs(text),
        Content::Items(items) if items.is_empty() => String::new(),
        Content::Items(items) => {
            let lis: String = items
                .iter()
                .map(|it| {
                    let checked = if it.checked { "true" } else { "false" };
                    format!(r#"<li data-type="taskItem" data-checked="{checked}">{}</li>"#, paragraphs(&it.text))
                })
                .collect();
            format!(r#"<ul data-type="taskList">{lis}</ul>"#)
        }
        Content::Entries(entries) if entries.is_empty() => String::new(),
        Content::Entries(entries) => {
            let lis: String = entries.iter().map(|e| format!("<li>{}</li>", paragraphs(e))).collect();
            format!("<ul>{lis}</ul>")
        }
    }
}

/// One `<p>` per line, blank lines included.
fn paragraphs(text: &str) -> String {
    text.split('\n').map(|line| format!("<p>{}</p>", escape_text(line.trim_end_matches('\r')))).collect()
}

/// Text escaped by html5ever's serializer.
fn escape_text(text: &str) -> String {
    let mut frag = Html::new_fragment();
    frag.tree.root_mut().append(Node::Text(scraper::node::Text { text: text.into() }));
    frag.html()
}

fn child_html(child: &Child<'_>) -> String {
    match child {
        Child::Element(el) => el.html(),
        Child::Text(text) => escape_text(text),
        Child::Comment(comment) => format!("<!--{comment}-->"),
        Child::Other => String::new(),
    }
}

/// A wrapper's start and end tags, as html5ever serializes them.
fn wrapper_tags(el: ElementRef<'_>) -> (String, String) {
    let end = format!("</{}>", el.value().name());
    let outer = el.html();
    let inner = el.inner_html();
    let start = outer.strip_suffix(end.as_str()).and_then(|s| s.strip_suffix(inner.as_str())).unwrap_or_default();
    (start.to_owned(), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str, base: Option<String>) -> BlockOp {
        BlockOp::Replace { block: BlockName::Plan, text: Some(text.into()), items: None, base_version: base }
    }

    #[test]
    fn renders_and_reads_back_each_kind() {
        let mut d = Description::empty();
        let blocks = Blocks {
            goal: Some("Ship it".into()),
            plan: Some("one\n\nthree".into()),
            acceptance: Some(vec![AcceptanceItem { text: "Tests pass".into(), checked: true }]),
            log: Some(vec!["started".into()]),
            result: None,
        };
        d.set_blocks(&blocks).unwrap();
        let html = d.render();
        assert!(html.contains(r#"<h2 data-id="nodedc-block-plan">Plan</h2><p>one</p><p></p><p>three</p>"#), "{html}");
        assert!(html.contains(r#"<li data-type="taskItem" data-checked="true"><p>Tests pass</p></li>"#));
        assert_eq!(Description::parse(&html).blocks(), &blocks);
        assert_eq!(d.human_html(), "");
    }

    #[test]
    fn text_is_escaped_once() {
        assert_eq!(escape_text("a & <b> \"c\""), "a &amp; &lt;b&gt; \"c\"");
    }

    #[test]
    fn replace_needs_the_current_version() {
        let mut d = Description::empty();
        d.apply(&[plan("first", None)]).unwrap();
        let v = d.versions()[&BlockName::Plan].clone();
        assert_eq!(v.len(), 16);
        let err = d.apply(&[plan("second", None)]).unwrap_err();
        assert!(matches!(err, BlockError::Conflict { current: Value::String(ref s), .. } if s == "first"));
        d.apply(&[plan("second", Some(v.clone()))]).unwrap();
        assert_ne!(d.versions()[&BlockName::Plan], v);
    }

    #[test]
    fn checked_prefixes_are_read() {
        assert_eq!(item_of_text("[x] done"), AcceptanceItem { text: "done".into(), checked: true });
        assert_eq!(item_of_text("[ ] todo"), AcceptanceItem { text: "todo".into(), checked: false });
        assert_eq!(item_of_text("[x]"), AcceptanceItem { text: "[x]".into(), checked: false });
    }

    #[test]
    fn wrapper_tags_split_around_children() {
        let doc = Html::parse_fragment(r#"<div class="a &quot;b"><p>x</p></div>"#);
        let div = doc.root_element().child_elements().next().unwrap();
        assert_eq!(wrapper_tags(div), (r#"<div class="a &quot;b">"#.to_owned(), "</div>".to_owned()));
    }
}
