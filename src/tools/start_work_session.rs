//! `start_work_session`: an agent says what it is setting out to do (reporting mode).
//! An agent may have several open sessions (one per running Codex, say). What it
//! reports is shown as reported by the agent.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{CallKind, Target, Tool};
use crate::actors::work_sessions::{SessionError, Start};
use crate::calls::{Call, ToolCode, ToolError};
use crate::model::{Scope, SessionOutcome, SessionState, WorkSession};

pub struct StartWorkSession;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The task, in a sentence (1-500 characters).
    pub goal: String,
    #[serde(default)]
    pub card: Option<String>,
    pub idempotency_key: String,
}

/// A work session, as the agent reported it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SessionOut {
    /// Pass it to `report_progress` and `finish_work_session`.
    pub id: Uuid,
    pub state: SessionState,
    pub goal: String,
    /// The card it is on now (key).
    pub card: Option<String>,
    /// The latest status reported.
    pub last_status: Option<String>,
    pub started_at: DateTime<Utc>,
    pub outcome: Option<SessionOutcome>,
    pub summary: Option<String>,
}

impl From<WorkSession> for SessionOut {
    fn from(s: WorkSession) -> Self {
        SessionOut {
            id: s.id,
            state: s.state,
            goal: s.goal,
            card: s.card,
            last_status: s.last_status,
            started_at: s.started_at,
            outcome: s.outcome,
            summary: s.summary,
        }
    }
}

impl Tool for StartWorkSession {
    const NAME: &'static str = "start_work_session";
    const TITLE: &'static str = "Start a work session";
    const SCOPE: Scope = Scope::SessionReport;
    const KIND: CallKind = CallKind::Write;
    const DESCRIPTION: &'static str = "At the start of a task: report its goal and card; answers the session id.";
    const TARGET: Target = Target::Card("card");
    type Input = Input;
    type Output = SessionOut;

    async fn run(call: &mut Call<'_>, a: Input) -> Result<SessionOut, ToolError> {
        let goal = text("goal", &a.goal, 500)?;
        let card = match &a.card {
            Some(reference) => Some(call.card(reference).await?.key),
            None => None,
        };
        let start = Start {
            agent_id: call.principal.agent_id,
            owner_user_id: call.principal.owner_user_id,
            goal,
            card,
            request_id: call.ctx.request_id.clone(),
        };
        let session = call.work_sessions().send(start).await.map_err(ToolError::internal)?;
        Ok(session.map_err(session_error)?.into())
    }

    fn render(s: &SessionOut) -> String {
        format!(
            "Work session {} started{}: {}\nReport with report_progress (session {}) when the card or the step changes; finish with finish_work_session at the end.",
            s.id,
            s.card.as_deref().map(|c| format!(" on {c}")).unwrap_or_default(),
            s.goal,
            s.id
        )
    }
}

/// A reported text: trimmed, 1 to `max` characters, no control characters but line
/// breaks and tabs.
pub(super) fn text(field: &str, raw: &str, max: usize) -> Result<String, ToolError> {
    let t = raw.trim();
    let n = t.chars().count();
    if n == 0 || n > max {
        return Err(ToolError::invalid(format!("`{field}` must be 1 to {max} characters (got {n}).")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ToolError::invalid(format!("`{field}` must not contain control characters.")));
    }
    Ok(t.to_string())
}

/// A session id as the tools take it.
pub(super) fn session_id(raw: &str) -> Result<Uuid, ToolError> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        ToolError::invalid(format!(
            "`session` must be a work session id (a UUID) as start_work_session answered, not `{}`.",
            raw.trim()
        ))
    })
}

pub(super) fn session_error(e: SessionError) -> ToolError {
    match e {
        SessionError::NotFound => ToolError::new(
            ToolCode::NotFound,
            "This agent has no work session with that id. Start one with start_work_session.",
        ),
        SessionError::Ended(state) => ToolError::new(
            ToolCode::WorkSessionEnded,
            format!("The work session has ended ({state}). Start a new one with start_work_session."),
        ),
        SessionError::Storage(e) => ToolError::internal(e),
    }
}
