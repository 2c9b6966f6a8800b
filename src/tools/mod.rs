//! The tool catalogue: what agents can do, the same for MCP and REST. There is no
//! delete or archive tool.
//!
//! A tool is one file: its input (the JSON Schema clients see, and the REST body),
//! its output, its scope, whether it reads or writes, its description, what it does
//! once the pipeline (`crate::calls`) allows it, and its text rendering. Adding a tool
//! means that file, one line in [`catalogue`], its REST route line (`api()` in
//! `http/routes/mod.rs`) and its entry in docs/MCP_TOOLS_CONTRACT.md. Nothing else
//! matches a tool's name.

mod parent;
mod readback;
mod text;
mod written;

pub mod add_comment;
pub mod add_project_member;
pub mod assign_issue;
pub mod create_issue;
pub mod finish_work_session;
pub mod get_issue;
pub mod get_project_context;
pub mod list_projects;
pub mod move_issue;
pub mod report_progress;
pub mod search_issues;
pub mod set_issue_labels;
pub mod start_work_session;
pub mod update_issue;
pub mod update_structured_blocks;

use std::sync::{Arc, LazyLock};

use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use crate::actors::rate_buckets::CallKind;
use crate::calls::{Call, ToolError};
use crate::model::Scope;

pub use written::{BlocksWritten, CardWritten};

pub type JsonObject = Map<String, Value>;

/// A field where `null` means "clear it": a date, or `null`.
pub(crate) fn nullable_date(_: &mut schemars::SchemaGenerator) -> Schema {
    schemars::json_schema!({ "anyOf": [{ "type": "string", "format": "date" }, { "type": "null" }] })
}

/// A field where `null` means "clear it": a string, or `null`.
pub(crate) fn nullable_string(_: &mut schemars::SchemaGenerator) -> Schema {
    schemars::json_schema!({ "anyOf": [{ "type": "string" }, { "type": "null" }] })
}

/// The argument naming what a call touches, checked against the grants before anything
/// else happens and copied into its audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing in particular (lists of what is granted).
    None,
    /// A project by id or identifier, in this argument.
    Project(&'static str),
    /// A card by key or id, in this argument.
    Card(&'static str),
}

/// One tool. Implemented by a unit struct in the tool's own file.
pub trait Tool: 'static {
    const NAME: &'static str;
    const TITLE: &'static str;
    const SCOPE: Scope;
    const KIND: CallKind;
    /// For the model: what it does and when to use it.
    const DESCRIPTION: &'static str;
    const TARGET: Target;
    /// Fields a model may try here that another tool changes: (field, that tool).
    const ELSEWHERE: &'static [(&'static str, &'static str)] = &[];
    type Input: DeserializeOwned + JsonSchema;
    type Output: Serialize + DeserializeOwned + JsonSchema;

    /// What the tool does once the pipeline has allowed the call (rate, scope, grant
    /// on the target and, for a write, the idempotency key).
    fn run(call: &mut Call<'_>, input: Self::Input) -> impl Future<Output = Result<Self::Output, ToolError>>;

    /// The text a model reads first; it carries every id and name the next call needs.
    fn render(output: &Self::Output) -> String;
}

type Execute = for<'a, 'b> fn(&'a mut Call<'b>, Value) -> LocalBoxFuture<'a, Result<Value, ToolError>>;

/// A tool as the catalogue holds it: what [`Tool`] declares, with its schemas
/// generated and its functions erased to JSON in and out.
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub scope: Scope,
    pub kind: CallKind,
    pub description: &'static str,
    pub target: Target,
    pub input_schema: Arc<JsonObject>,
    pub output_schema: Arc<JsonObject>,
    execute: Execute,
    check: fn(&Value) -> Result<(), ToolError>,
    render: fn(&Value) -> Option<String>,
}

impl ToolDef {
    pub fn of<T: Tool>() -> Self {
        Self {
            name: T::NAME,
            title: T::TITLE,
            scope: T::SCOPE,
            kind: T::KIND,
            description: T::DESCRIPTION,
            target: T::TARGET,
            input_schema: schema::<T::Input>(Direction::Input),
            output_schema: schema::<T::Output>(Direction::Output),
            execute: execute::<T>,
            check: check::<T>,
            render: render::<T>,
        }
    }

    /// Parses the arguments and runs the tool.
    pub fn execute<'a>(&self, call: &'a mut Call<'_>, args: Value) -> LocalBoxFuture<'a, Result<Value, ToolError>> {
        (self.execute)(call, args)
    }

    /// Are these arguments of the tool's input type? (The pipeline asks before the
    /// call costs anything more than a read.)
    pub fn check(&self, args: &Value) -> Result<(), ToolError> {
        (self.check)(args)
    }

    /// The text block of a result (its JSON when it is not this tool's output).
    pub fn render_text(&self, out: &Value) -> String {
        (self.render)(out).unwrap_or_else(|| out.to_string())
    }
}

fn execute<'a, T: Tool>(call: &'a mut Call<'_>, args: Value) -> LocalBoxFuture<'a, Result<Value, ToolError>> {
    async move {
        let input: T::Input = parse::<T>(args)?;
        let output = T::run(call, input).await?;
        let mut value = serde_json::to_value(output).map_err(ToolError::internal)?;
        // An absent field is what the lean output schemas promise for "none".
        drop_nulls(&mut value);
        Ok(value)
    }
    .boxed_local()
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, item| !item.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn render<T: Tool>(out: &Value) -> Option<String> {
    serde_json::from_value::<T::Output>(out.clone()).ok().map(|o| T::render(&o))
}

fn check<T: Tool>(args: &Value) -> Result<(), ToolError> {
    parse::<T>(args.clone()).map(|_: T::Input| ())
}

/// Arguments as the tool's input type, or `invalid_arguments` naming the field and
/// the way forward.
fn parse<T: Tool>(args: Value) -> Result<T::Input, ToolError> {
    let tool = T::NAME;
    if let Some((field, other)) = T::ELSEWHERE.iter().find(|(field, _)| args.get(field).is_some()) {
        return Err(ToolError::invalid(format!("`{tool}` does not change `{field}`: use {other}.")));
    }
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at `{path}`") };
        let hint = if path.ends_with("date") {
            "Dates are YYYY-MM-DD, e.g. 2026-12-31."
        } else {
            "See the tool's input schema."
        };
        ToolError::invalid(format!("The arguments of `{tool}` are not valid{at}: {}. {hint}", e.inner()))
    })
}

/// Which way a schema describes data: what the agent sends, or what it gets back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Input,
    Output,
}

/// Schemas every client understands and a model reads cheaply: every subschema inlined
/// (no `$ref`), then made lean (see [`lean`]).
fn schema<T: JsonSchema>(direction: Direction) -> Arc<JsonObject> {
    let generator = SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true).into_generator();
    let schema: Schema = generator.into_root_schema_for::<T>();
    let mut value = schema.to_value();
    lean(&mut value, direction);
    let mut obj = match value {
        Value::Object(o) => o,
        _ => JsonObject::new(),
    };
    obj.remove("$schema");
    obj.remove("title");
    Arc::new(obj)
}

/// Formats clients and model providers all accept; others are dropped.
const PORTABLE_FORMATS: &[&str] = &["date", "date-time", "uuid", "email"];

/// Makes a schema lean and portable, in place:
/// - a nullable `"type": [X, "null"]` becomes `X` (an optional field is simply absent;
///   where `null` means something, a field says so with an explicit `anyOf`);
/// - defaults that say nothing (`null`, `[]`, `false`) and formats outside
///   [`PORTABLE_FORMATS`] go;
/// - only the root's properties keep their descriptions in inputs (a type's own
///   description repeats what the tool's says), and outputs keep none (the text
///   rendering explains a result), nor more than an outline (see [`outline`]);
/// - `additionalProperties: false` goes (unknown fields are refused by name anyway).
fn lean(v: &mut Value, direction: Direction) {
    lean_node(v, direction, Position::Root);
    if direction == Direction::Output {
        outline(v);
    }
}

/// An output schema's outline: the root's properties with their types (an array's
/// items with theirs), nothing deeper. Clients validate a result's shape with it; the
/// text content and `get_issue` carry the detail, and the whole list stays small.
fn outline(v: &mut Value) {
    if let Value::Object(root) = v {
        root.remove("required");
    }
    let Some(Value::Object(props)) = v.get_mut("properties") else {
        return;
    };
    for p in props.values_mut() {
        *p = brief(p);
    }
}

fn brief(v: &Value) -> Value {
    let mut out = JsonObject::new();
    for key in ["type", "anyOf"] {
        if let Some(t) = v.get(key) {
            out.insert(key.into(), t.clone());
        }
    }
    if let Some(items) = v.get("items") {
        let mut item = JsonObject::new();
        if let Some(t) = items.get("type") {
            item.insert("type".into(), t.clone());
        }
        out.insert("items".into(), Value::Object(item));
    }
    Value::Object(out)
}

/// Where a subschema sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Root,
    /// A property of the root.
    Property,
    Nested,
}

fn lean_node(v: &mut Value, direction: Direction, at: Position) {
    let Value::Object(node) = v else {
        if let Value::Array(items) = v {
            items.iter_mut().for_each(|i| lean_node(i, direction, Position::Nested));
        }
        return;
    };
    if let Some(Value::Array(types)) = node.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if kept.len() == 1 {
            node.insert("type".into(), kept[0].clone());
        }
    }
    if let Some(Value::Array(values)) = node.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    let says_nothing = |d: &Value| d.is_null() || d == &Value::Bool(false) || d.as_array().is_some_and(Vec::is_empty);
    if node.get("default").is_some_and(says_nothing) {
        node.remove("default");
    }
    if node.get("format").and_then(Value::as_str).is_some_and(|f| !PORTABLE_FORMATS.contains(&f)) {
        node.remove("format");
    }
    if direction == Direction::Output || at == Position::Nested {
        node.remove("description");
    }
    // Unknown fields are refused with a precise error anyway.
    if node.get("additionalProperties") == Some(&Value::Bool(false)) {
        node.remove("additionalProperties");
    }
    for (key, child) in node.iter_mut() {
        // `properties` maps names to schemas; it is not a schema itself.
        if key == "properties" {
            let of = if at == Position::Root { Position::Property } else { Position::Nested };
            if let Value::Object(props) = child {
                props.values_mut().for_each(|p| lean_node(p, direction, of));
            }
        } else if matches!(key.as_str(), "items" | "anyOf" | "oneOf" | "allOf" | "additionalProperties") {
            lean_node(child, direction, Position::Nested);
        }
    }
}

static CATALOGUE: LazyLock<Vec<ToolDef>> = LazyLock::new(|| {
    vec![
        ToolDef::of::<list_projects::ListProjects>(),
        ToolDef::of::<get_project_context::GetProjectContext>(),
        ToolDef::of::<search_issues::SearchIssues>(),
        ToolDef::of::<get_issue::GetIssue>(),
        ToolDef::of::<create_issue::CreateIssue>(),
        ToolDef::of::<update_issue::UpdateIssue>(),
        ToolDef::of::<move_issue::MoveIssue>(),
        ToolDef::of::<add_comment::AddComment>(),
        ToolDef::of::<set_issue_labels::SetIssueLabels>(),
        ToolDef::of::<assign_issue::AssignIssue>(),
        ToolDef::of::<update_structured_blocks::UpdateStructuredBlocks>(),
        ToolDef::of::<add_project_member::AddProjectMember>(),
        ToolDef::of::<start_work_session::StartWorkSession>(),
        ToolDef::of::<report_progress::ReportProgress>(),
        ToolDef::of::<finish_work_session::FinishWorkSession>(),
    ]
});

/// Every tool, in the order `tools/list` shows them.
pub fn catalogue() -> &'static [ToolDef] {
    &CATALOGUE
}

pub fn find(name: &str) -> Option<&'static ToolDef> {
    CATALOGUE.iter().find(|t| t.name == name)
}

/// The catalogue entry of `T` (for routes bound to one tool).
pub fn def<T: Tool>() -> &'static ToolDef {
    find(T::NAME).expect("every Tool is in the catalogue")
}
