//! Work sessions: what an agent reports it is working on. Everything here is as the
//! agent reported it; the gateway sees only the calls that pass through it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::string_enum;

string_enum!(
    /// `active`: reporting or calling tools; `stale`: neither for the stale threshold;
    /// `finished`: the agent finished it; `abandoned`: silent past the abandon
    /// threshold.
    SessionState { Active => "active", Stale => "stale", Finished => "finished", Abandoned => "abandoned" }
);

impl SessionState {
    /// Still open: it can be reported on and finished.
    pub fn is_open(self) -> bool {
        matches!(self, SessionState::Active | SessionState::Stale)
    }
}

string_enum!(
    /// How the agent says a session ended.
    SessionOutcome { Done => "done", Blocked => "blocked", Abandoned => "abandoned" }
);

/// A work session as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct WorkSession {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub owner_user_id: Uuid,
    pub goal: String,
    pub state: SessionState,
    /// The card it is on now (key), as last reported.
    pub card: Option<String>,
    /// The latest status the agent reported.
    pub last_status: Option<String>,
    pub started_at: DateTime<Utc>,
    pub last_report_at: DateTime<Utc>,
    /// The agent's last tool call (any tool) or report.
    pub last_activity_at: DateTime<Utc>,
    pub stale_since: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<SessionOutcome>,
    pub summary: Option<String>,
}
