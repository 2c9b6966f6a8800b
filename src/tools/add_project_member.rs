//! `add_project_member`: an existing workspace member added to a project, as member or
//! guest (never admin: that is for people, in Tasker).

use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use super::{CallKind, Target, Tool};
use crate::actors::tasker_writer::{Job, WriteError};
use crate::calls::{Call, ToolCode, ToolError};
use crate::model::Scope;
use crate::tasker::contract::{self as c, ADD_PROJECT_MEMBER, MemberWritten, ProjectRole};

pub struct AddProjectMember;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub project: String,
    /// User id or email.
    pub user: String,
    /// member (default) or guest.
    #[serde(default)]
    pub role: Option<ProjectRole>,
    pub idempotency_key: String,
}

impl Tool for AddProjectMember {
    const NAME: &'static str = "add_project_member";
    const TITLE: &'static str = "Add a project member";
    const SCOPE: Scope = Scope::ProjectMemberAddExisting;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Add a workspace member (user id or email) to a project as member or guest.";
    const TARGET: Target = Target::Project("project");
    type Input = Input;
    type Output = MemberWritten;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<MemberWritten, ToolError> {
        if a.role == Some(ProjectRole::Admin) {
            return Err(ToolError::new(
                ToolCode::RoleNotAllowed,
                "Agents may add members as `member` or `guest`; making someone an admin is for people, in Tasker.",
            ));
        }
        let project = call.project(&a.project)?;
        let body = c::AddProjectMember { actor: call.actor(), user: a.user, role: a.role };
        call.write(write(project, body)).await
    }

    fn render(m: &MemberWritten) -> String {
        format!(
            "{} <{}> {} the project as {}.",
            m.member.display_name,
            m.member.email,
            if m.added { "was added to" } else { "already was a member of" },
            m.member.role
        )
    }
}

/// The write as the TaskerWriter runs it: add, then find the member in the project.
pub fn write(project: Uuid, body: c::AddProjectMember) -> Job<MemberWritten> {
    Job::on_project(project, move |w| async move {
        let written = w.write(&ADD_PROJECT_MEMBER, &[&project.to_string()], &body).await?;
        let context = w.context(project).await?;
        if !context.members.iter().any(|x| x.user_id == written.member.user_id) {
            let why = format!("{} is not a project member after the write", written.member.email);
            return Err(WriteError::NotApplied(why));
        }
        Ok(written)
    })
}
