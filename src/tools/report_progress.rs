//! `report_progress`: the card an agent is on now and what it is doing; also a
//! heartbeat that keeps its work session from turning stale.

use schemars::JsonSchema;
use serde::Deserialize;

use super::start_work_session::{SessionOut, session_error, session_id, text};
use super::{CallKind, Target, Tool};
use crate::actors::work_sessions::Report;
use crate::calls::{Call, ToolError};
use crate::model::Scope;

pub struct ReportProgress;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Session id from start_work_session.
    pub session: String,
    /// The card you are on now, if it changed.
    #[serde(default)]
    pub card: Option<String>,
    /// Your current step, in a sentence (1-500 characters).
    pub status: String,
    pub idempotency_key: String,
}

impl Tool for ReportProgress {
    const NAME: &'static str = "report_progress";
    const TITLE: &'static str = "Report progress";
    const SCOPE: Scope = Scope::SessionReport;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "Report your session's current card and step whenever either changes.";
    const TARGET: Target = Target::Card("card");
    type Input = Input;
    type Output = SessionOut;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<SessionOut, ToolError> {
        let session_id = session_id(&a.session)?;
        let status = text("status", &a.status, 500)?;
        let card = match &a.card {
            Some(reference) => Some(call.card(reference).await?.key),
            None => None,
        };
        let report = Report {
            agent_id: call.principal.agent_id,
            session_id,
            card,
            status,
            request_id: call.ctx.request_id.clone(),
        };
        let session = call.work_sessions().send(report).await.map_err(ToolError::internal)?;
        Ok(session.map_err(session_error)?.into())
    }

    fn render(s: &SessionOut) -> String {
        format!(
            "Progress recorded on work session {} ({}){}: {}",
            s.id,
            s.state,
            s.card.as_deref().map(|c| format!(", on {c}")).unwrap_or_default(),
            s.last_status.as_deref().unwrap_or_default()
        )
    }
}
