//! `finish_work_session`: how a work session ended (done, blocked or abandoned) and a
//! summary, as the agent reports it.

use schemars::JsonSchema;
use serde::Deserialize;

use super::start_work_session::{SessionOut, session_error, session_id, text};
use super::{CallKind, Target, Tool};
use crate::actors::work_sessions::Finish;
use crate::calls::{Call, ToolError};
use crate::model::{Scope, SessionOutcome};

pub struct FinishWorkSession;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Session id from start_work_session.
    pub session: String,
    pub outcome: SessionOutcome,
    /// What was done, or what blocks it (1-2000 characters).
    pub summary: String,
    pub idempotency_key: String,
}

impl Tool for FinishWorkSession {
    const NAME: &'static str = "finish_work_session";
    const TITLE: &'static str = "Finish a work session";
    const SCOPE: Scope = Scope::SessionReport;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "At the end of a task: finish your session as done, blocked or abandoned.";
    const TARGET: Target = Target::None;
    type Input = Input;
    type Output = SessionOut;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<SessionOut, ToolError> {
        let session_id = session_id(&a.session)?;
        let summary = text("summary", &a.summary, 2000)?;
        let finish = Finish {
            agent_id: call.principal.agent_id,
            session_id,
            outcome: a.outcome,
            summary,
            request_id: call.ctx.request_id.clone(),
        };
        let session = call.work_sessions().send(finish).await.map_err(ToolError::internal)?;
        Ok(session.map_err(session_error)?.into())
    }

    fn render(s: &SessionOut) -> String {
        format!(
            "Work session {} finished: {}. {}",
            s.id,
            s.outcome.map(|o| o.as_str()).unwrap_or("ended"),
            s.summary.as_deref().unwrap_or_default()
        )
    }
}
