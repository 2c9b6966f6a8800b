//! The tool catalogue: what agents can do, the same for MCP and REST. There is no
//! delete or archive tool.
//!
//! A tool is one file: its input (the JSON Schema clients see, and the REST body),
//! its output, its scope, whether it reads or writes, its description, what it does
//! once the pipeline (`crate::calls`) allows it, and its text rendering. Adding a tool
//! means that file, one line in [`catalogue`], its REST route line
//! (`http/routes/mod.rs`) and its entry in docs/MCP_TOOLS_CONTRACT.md. Nothing else
//! matches a tool's name.

mod readback;
mod text;

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

pub type JsonObject = Map<String, Value>;

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
            input_schema: schema::<T::Input>(),
            output_schema: schema::<T::Output>(),
            execute: execute::<T>,
            render: render::<T>,
        }
    }

    /// Parses the arguments and runs the tool.
    pub fn execute<'a>(&self, call: &'a mut Call<'_>, args: Value) -> LocalBoxFuture<'a, Result<Value, ToolError>> {
        (self.execute)(call, args)
    }

    /// The text block of a result (its JSON when it is not this tool's output).
    pub fn render_text(&self, out: &Value) -> String {
        (self.render)(out).unwrap_or_else(|| out.to_string())
    }
}

fn execute<'a, T: Tool>(call: &'a mut Call<'_>, args: Value) -> LocalBoxFuture<'a, Result<Value, ToolError>> {
    async move {
        let input: T::Input = parse(T::NAME, args)?;
        let output = T::run(call, input).await?;
        serde_json::to_value(output).map_err(ToolError::internal)
    }
    .boxed_local()
}

fn render<T: Tool>(out: &Value) -> Option<String> {
    serde_json::from_value::<T::Output>(out.clone()).ok().map(|o| T::render(&o))
}

/// Arguments as the tool's input type, or `invalid_arguments` naming the field.
fn parse<T: DeserializeOwned>(tool: &str, args: Value) -> Result<T, ToolError> {
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at `{path}`") };
        ToolError::invalid(format!(
            "The arguments of `{tool}` are not valid{at}: {}. See the tool's input schema.",
            e.inner()
        ))
    })
}

/// Schemas with every subschema inlined (no `$ref`), which every client understands.
fn schema<T: JsonSchema>() -> Arc<JsonObject> {
    let generator = SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true).into_generator();
    let schema: Schema = generator.into_root_schema_for::<T>();
    let mut obj = match schema.to_value() {
        Value::Object(o) => o,
        _ => JsonObject::new(),
    };
    obj.remove("$schema");
    obj.remove("title");
    Arc::new(obj)
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
