//! Reporting for admins (across owners) and for Tasker's per-user pages (one owner):
//! agents with their status and open work sessions, work sessions, call counts and the
//! audit trail, each filtered and keyset-paged.
//!
//! Work sessions are what agents report. The gateway sees only the calls that pass
//! through it: work done outside it (local edits, commits, other tools) is not visible
//! here, and [`REPORTED_NOTE`] says so on every answer that shows sessions.

use std::collections::HashMap;

use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Entity, ServiceError, Services};
use crate::actors::token_sessions::Flush;
use crate::actors::work_sessions::FlushActivity;
use crate::model::{AuditRecord, SessionState, WorkSession};
use crate::storage::audit::{AuditFilter, cursor_of};
use crate::storage::page::Page;
use crate::storage::reporting::{
    ActivityFilter, AgentFilter, AgentRow, SessionFilter, StatusClock, StatusFilter, agent_cursor, session_cursor,
};
use crate::storage::work_sessions::SessionEvent;
use crate::storage::{self};

/// Said with every answer that shows work sessions.
pub const REPORTED_NOTE: &str = "Work sessions are reported by the agents themselves. The gateway sees only calls that pass through it: work done outside it (local edits, commits, other tools) is not visible here.";

/// A call in the last five minutes: connected.
pub const CONNECTED_WITHIN: Duration = Duration::minutes(5);
/// No call for a day: offline.
pub const OFFLINE_AFTER: Duration = Duration::hours(24);

/// Whose data a report may show: every owner's (admins) or one owner's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    All,
    Owner(Uuid),
}

impl Reach {
    fn owner(self, asked: Option<Uuid>) -> Option<Uuid> {
        match self {
            Reach::All => asked,
            Reach::Owner(o) => Some(o),
        }
    }
}

/// An agent's reporting status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "ReportedStatus")]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// An MCP or REST call in the last 5 minutes.
    Connected,
    /// Neither connected nor offline.
    Idle,
    /// It has a stale work session.
    Stale,
    /// No call for 24 hours.
    Offline,
    /// The agent is revoked.
    Revoked,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LastActivity {
    pub at: DateTime<Utc>,
    pub tool: String,
    pub card: Option<String>,
}

/// An open work session, as an agent listing shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OpenSession {
    pub id: Uuid,
    pub state: SessionState,
    pub goal: String,
    pub card: Option<String>,
    pub last_status: Option<String>,
    /// When it started.
    pub since: DateTime<Utc>,
    pub last_report_at: DateTime<Utc>,
    pub stale_since: Option<DateTime<Utc>>,
    pub reported_by: &'static str,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AgentReport {
    pub id: Uuid,
    pub name: String,
    pub owner_user_id: Uuid,
    pub owner_name: String,
    pub client_id: Option<Uuid>,
    pub status: AgentStatus,
    /// The last authenticated MCP or REST call.
    pub last_call_at: Option<DateTime<Utc>>,
    /// The last tool call.
    pub last_activity: Option<LastActivity>,
    pub work_sessions: Vec<OpenSession>,
    /// Since when its oldest stale session has been stale.
    pub stale_since: Option<DateTime<Utc>>,
}

/// A work session in a listing, labelled as the agent's report.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SessionReport {
    #[serde(flatten)]
    pub session: WorkSession,
    pub reported_by: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Hour,
    Day,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ActivityPoint {
    pub at: DateTime<Utc>,
    pub tool: String,
    pub outcome: String,
    pub calls: i64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ActivityReport {
    pub bucket: Bucket,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub series: Vec<ActivityPoint>,
    /// Calls per outcome over the range.
    pub totals: HashMap<String, i64>,
}

/// What the activity report is asked for; times are truncated to the bucket.
#[derive(Debug, Clone)]
pub struct ActivityQuery {
    pub bucket: Bucket,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub agent: Option<Uuid>,
    pub owner: Option<Uuid>,
    pub client: Option<Uuid>,
    pub project: Option<String>,
}

fn status_of(a: &AgentRow, open: &[OpenSession], clock: StatusClock) -> AgentStatus {
    if a.revoked {
        AgentStatus::Revoked
    } else if open.iter().any(|s| s.state == SessionState::Stale) {
        AgentStatus::Stale
    } else {
        match a.last_seen_at {
            Some(t) if t >= clock.connected_since => AgentStatus::Connected,
            Some(t) if t >= clock.offline_before => AgentStatus::Idle,
            _ => AgentStatus::Offline,
        }
    }
}

fn open_session(s: WorkSession) -> OpenSession {
    OpenSession {
        id: s.id,
        state: s.state,
        goal: s.goal,
        card: s.card,
        last_status: s.last_status,
        since: s.started_at,
        last_report_at: s.last_report_at,
        stale_since: s.stale_since,
        reported_by: "agent",
    }
}

impl Services<'_> {
    /// Writes what the actors hold in memory (last calls, tool activity), so a report
    /// read now shows the calls made until now.
    async fn settle_activity(&self) {
        if let Some(s) = self.sessions {
            let _ = s.send(Flush).await;
        }
        if let Some(w) = self.work_sessions
            && let Ok(Err(e)) = w.send(FlushActivity).await
        {
            tracing::warn!(error = %e, "reporting: pending activity not written; showing what is stored");
        }
    }

    /// Refuses an agent outside `reach` as not found.
    async fn check_agent(&self, reach: Reach, agent: Option<Uuid>) -> Result<(), ServiceError> {
        let (Reach::Owner(owner), Some(agent)) = (reach, agent) else {
            return Ok(());
        };
        let found = self.db.run(move |c| storage::agents::find_owned(c, owner, agent)).await?;
        found.map(|_| ()).ok_or(ServiceError::NotFound(Entity::Agent))
    }

    pub async fn report_agents(&self, reach: Reach, mut f: AgentFilter) -> Result<Page<AgentReport>, ServiceError> {
        f.owner = reach.owner(f.owner);
        self.settle_activity().await;
        let now = storage::now();
        let clock = StatusClock { connected_since: now - CONNECTED_WITHIN, offline_before: now - OFFLINE_AFTER };
        let limit = f.limit;
        f.limit += 1;
        let (rows, open) = self
            .db
            .run(move |c| {
                let rows = storage::reporting::agents(c, &f, clock)?;
                let ids: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
                let open = storage::reporting::open_sessions_of(c, &ids)?;
                Ok::<_, ServiceError>((rows, open))
            })
            .await?;
        let mut by_agent: HashMap<Uuid, Vec<OpenSession>> = HashMap::new();
        for s in open {
            by_agent.entry(s.agent_id).or_default().push(open_session(s));
        }
        let page = Page::of(rows, limit as usize, agent_cursor);
        let items = page
            .items
            .into_iter()
            .map(|a| {
                let sessions = by_agent.remove(&a.id).unwrap_or_default();
                let stale_since = sessions.iter().filter_map(|s| s.stale_since).min();
                AgentReport {
                    status: status_of(&a, &sessions, clock),
                    id: a.id,
                    name: a.name,
                    owner_user_id: a.owner_user_id,
                    owner_name: a.owner_name,
                    client_id: a.client_id,
                    last_call_at: a.last_seen_at.map(|t| t.and_utc()),
                    last_activity: match (a.last_activity_at, a.last_tool) {
                        (Some(at), Some(tool)) => Some(LastActivity { at: at.and_utc(), tool, card: a.last_card }),
                        _ => None,
                    },
                    work_sessions: sessions,
                    stale_since,
                }
            })
            .collect();
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn report_sessions(
        &self,
        reach: Reach,
        mut f: SessionFilter,
    ) -> Result<Page<SessionReport>, ServiceError> {
        self.check_agent(reach, f.agent).await?;
        f.owner = reach.owner(f.owner);
        let limit = f.limit;
        f.limit += 1;
        let rows = self.db.run(move |c| storage::reporting::sessions(c, &f)).await?;
        let page = Page::of(rows, limit as usize, session_cursor);
        let items = page.items.into_iter().map(|session| SessionReport { session, reported_by: "agent" }).collect();
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    /// One session with its events; outside `reach` it is not found.
    pub async fn report_session(
        &self,
        reach: Reach,
        id: Uuid,
    ) -> Result<(SessionReport, Vec<SessionEvent>), ServiceError> {
        let found = self
            .db
            .run(move |c| {
                let Some(s) = storage::work_sessions::find(c, id)? else {
                    return Ok::<_, ServiceError>(None);
                };
                Ok(Some((s, storage::work_sessions::events(c, id)?)))
            })
            .await?;
        match found {
            Some((s, events)) if reach == Reach::All || reach == Reach::Owner(s.owner_user_id) => {
                Ok((SessionReport { session: s, reported_by: "agent" }, events))
            }
            _ => Err(ServiceError::NotFound(Entity::WorkSession)),
        }
    }

    pub async fn report_activity(&self, reach: Reach, q: ActivityQuery) -> Result<ActivityReport, ServiceError> {
        self.check_agent(reach, q.agent).await?;
        self.settle_activity().await;
        let (step, default_span) = match q.bucket {
            Bucket::Hour => (Duration::hours(1), Duration::hours(24)),
            Bucket::Day => (Duration::days(1), Duration::days(30)),
        };
        let trunc = |t: NaiveDateTime| t.duration_trunc(step).unwrap_or(t);
        let until =
            q.until.map(|u| trunc(u + step - Duration::microseconds(1))).unwrap_or(trunc(storage::now()) + step);
        let since = trunc(q.since.unwrap_or(until - default_span));
        let f = ActivityFilter {
            owner: reach.owner(q.owner),
            client: q.client,
            agent: q.agent,
            project: q.project,
            since,
            until,
        };
        let hourly = self.db.run(move |c| storage::reporting::hourly_counts(c, &f)).await?;
        let mut series: Vec<ActivityPoint> = Vec::new();
        let mut totals: HashMap<String, i64> = HashMap::new();
        for (hour, tool, outcome, calls) in hourly {
            *totals.entry(outcome.clone()).or_insert(0) += calls;
            let at = trunc(hour).and_utc();
            match series.iter_mut().find(|p| p.at == at && p.tool == tool && p.outcome == outcome) {
                Some(p) => p.calls += calls,
                None => series.push(ActivityPoint { at, tool, outcome, calls }),
            }
        }
        Ok(ActivityReport { bucket: q.bucket, since: since.and_utc(), until: until.and_utc(), series, totals })
    }

    /// A page of the audit trail (newest first).
    pub async fn report_audit(&self, reach: Reach, mut f: AuditFilter) -> Result<Page<AuditRecord>, ServiceError> {
        self.check_agent(reach, f.agent_id).await?;
        f.owner_user_id = reach.owner(f.owner_user_id);
        let limit = f.limit;
        f.limit += 1;
        let rows = self.db.run(move |c| storage::audit::list(c, &f)).await?;
        Ok(Page::of(rows, limit as usize, cursor_of))
    }

    /// Checks an export's filter before streaming begins (a refusal after the first
    /// bytes could not change the status).
    pub async fn check_audit_export(&self, reach: Reach, f: &AuditFilter) -> Result<(), ServiceError> {
        self.check_agent(reach, f.agent_id).await
    }
}

/// The status filter's names, for query parsing.
pub fn parse_status(raw: &str) -> Option<StatusFilter> {
    Some(match raw {
        "connected" => StatusFilter::Connected,
        "idle" => StatusFilter::Idle,
        "stale" => StatusFilter::Stale,
        "offline" => StatusFilter::Offline,
        "revoked" => StatusFilter::Revoked,
        _ => return None,
    })
}
