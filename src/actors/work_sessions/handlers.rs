//! Messages WorkSessions answers.

use actix::prelude::*;
use uuid::Uuid;

use super::{WorkSessions, hour_of, write_pending};
use crate::model::{Outcome, SessionOutcome, SessionState, WorkSession};
use crate::storage::activity::{CountKey, LastActivity};
use crate::storage::work_sessions::{self as store, EventKind};
use crate::storage::{self, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such session of this agent (another agent's session looks the same).
    #[error("no such work session")]
    NotFound,
    /// The session has ended (finished or abandoned).
    #[error("the work session has ended ({0})")]
    Ended(SessionState),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for SessionError {
    fn from(e: diesel::result::Error) -> Self {
        SessionError::Storage(e.into())
    }
}

/// Start a session for an agent. Stored before it is answered.
#[derive(Message)]
#[rtype(result = "Result<WorkSession, SessionError>")]
pub struct Start {
    pub agent_id: Uuid,
    pub owner_user_id: Uuid,
    pub goal: String,
    /// The card's key, when the agent names one.
    pub card: Option<String>,
    pub request_id: String,
}

/// A report on an open session: the card it is on now (if it says), its status, and a
/// heartbeat.
#[derive(Message)]
#[rtype(result = "Result<WorkSession, SessionError>")]
pub struct Report {
    pub agent_id: Uuid,
    pub session_id: Uuid,
    pub card: Option<String>,
    pub status: String,
    pub request_id: String,
}

#[derive(Message)]
#[rtype(result = "Result<WorkSession, SessionError>")]
pub struct Finish {
    pub agent_id: Uuid,
    pub session_id: Uuid,
    pub outcome: SessionOutcome,
    pub summary: String,
    pub request_id: String,
}

/// An agent's tool call (any tool), told after it is answered. Kept in memory and
/// written in batches.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Activity {
    pub agent_id: Uuid,
    pub owner_user_id: Uuid,
    pub tool: &'static str,
    /// The project identifier the call named, if any.
    pub project: Option<String>,
    pub card: Option<String>,
    pub outcome: Outcome,
    pub at: chrono::NaiveDateTime,
}

/// Whether an agent has an open (active or stale) session, for required mode.
#[derive(Message)]
#[rtype(result = "Result<bool, StorageError>")]
pub struct HasOpen(pub Uuid);

/// Write pending activity now (before a report is read, and at shutdown).
#[derive(Message)]
#[rtype(result = "Result<(), StorageError>")]
pub struct FlushActivity;

/// The open sessions as this actor holds them.
#[derive(Message)]
#[rtype(result = "Vec<WorkSession>")]
pub struct OpenSessions;

/// Stop, to be restarted by the supervisor (which rebuilds the state).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Restart;

type Answer = ResponseActFuture<WorkSessions, Result<WorkSession, SessionError>>;

impl Handler<Start> for WorkSessions {
    type Result = Answer;

    fn handle(&mut self, m: Start, _: &mut Context<Self>) -> Self::Result {
        let now = storage::now();
        let session = WorkSession {
            id: Uuid::new_v4(),
            agent_id: m.agent_id,
            owner_user_id: m.owner_user_id,
            goal: m.goal,
            state: SessionState::Active,
            card: m.card,
            last_status: None,
            started_at: now.and_utc(),
            last_report_at: now.and_utc(),
            last_activity_at: now.and_utc(),
            stale_since: None,
            ended_at: None,
            outcome: None,
            summary: None,
        };
        let (db, s) = (self.db.clone(), session.clone());
        let stored = async move {
            db.write(move |c| {
                store::insert(c, &s)?;
                store::event(c, s.id, EventKind::Started, now, s.card.as_deref(), Some(&s.goal), Some(&m.request_id))
            })
            .await
        };
        Box::pin(stored.into_actor(self).map(move |r, act, _| {
            r?;
            act.remember(session.clone());
            Ok(session)
        }))
    }
}

impl Handler<Report> for WorkSessions {
    type Result = Answer;

    fn handle(&mut self, m: Report, _: &mut Context<Self>) -> Self::Result {
        let db = self.db.clone();
        let stored = async move {
            db.write(move |c| {
                let now = storage::now();
                let Some((s, resumed)) = store::report(c, m.agent_id, m.session_id, m.card.as_deref(), &m.status, now)?
                else {
                    return ended_or_missing(c, m.agent_id, m.session_id);
                };
                if resumed {
                    store::event(c, s.id, EventKind::Resumed, now, None, None, Some(&m.request_id))?;
                }
                store::event(
                    c,
                    s.id,
                    EventKind::Progress,
                    now,
                    s.card.as_deref(),
                    Some(&m.status),
                    Some(&m.request_id),
                )?;
                Ok(s)
            })
            .await
        };
        Box::pin(stored.into_actor(self).map(|r, act, _| {
            let s = r?;
            act.remember(s.clone());
            Ok(s)
        }))
    }
}

impl Handler<Finish> for WorkSessions {
    type Result = Answer;

    fn handle(&mut self, m: Finish, _: &mut Context<Self>) -> Self::Result {
        let db = self.db.clone();
        let stored = async move {
            db.write(move |c| {
                let now = storage::now();
                let Some(s) = store::finish(c, m.agent_id, m.session_id, m.outcome, &m.summary, now)? else {
                    return ended_or_missing(c, m.agent_id, m.session_id);
                };
                let text = format!("{}: {}", m.outcome, m.summary);
                store::event(c, s.id, EventKind::Finished, now, s.card.as_deref(), Some(&text), Some(&m.request_id))?;
                Ok(s)
            })
            .await
        };
        Box::pin(stored.into_actor(self).map(|r, act, _| {
            let s = r?;
            act.remember(s.clone());
            Ok(s)
        }))
    }
}

/// Why a report or finish found no open session: ended, or not this agent's at all.
fn ended_or_missing(c: &mut storage::DbConn, agent: Uuid, id: Uuid) -> Result<WorkSession, SessionError> {
    match store::find(c, id)? {
        Some(s) if s.agent_id == agent => Err(SessionError::Ended(s.state)),
        _ => Err(SessionError::NotFound),
    }
}

impl Handler<Activity> for WorkSessions {
    type Result = ();

    fn handle(&mut self, a: Activity, _: &mut Context<Self>) {
        let last = LastActivity { at: a.at, tool: a.tool.to_string(), card: a.card.clone() };
        match self.last.get(&a.agent_id) {
            Some(prev) if prev.at > a.at => {}
            _ => {
                self.last.insert(a.agent_id, last);
            }
        }
        let touched = self.touched.entry(a.agent_id).or_insert(a.at);
        *touched = (*touched).max(a.at);
        for s in self.open.values_mut().filter(|s| s.agent_id == a.agent_id) {
            s.last_activity_at = s.last_activity_at.max(a.at.and_utc());
            s.state = SessionState::Active;
            s.stale_since = None;
        }
        let key = CountKey {
            hour: hour_of(a.at),
            agent_id: a.agent_id,
            owner_user_id: a.owner_user_id,
            project: a.project.unwrap_or_default(),
            tool: a.tool.to_string(),
            outcome: a.outcome.as_str().to_string(),
        };
        *self.counts.entry(key).or_insert(0) += 1;
    }
}

impl Handler<HasOpen> for WorkSessions {
    type Result = ResponseFuture<Result<bool, StorageError>>;

    fn handle(&mut self, HasOpen(agent): HasOpen, _: &mut Context<Self>) -> Self::Result {
        if self.has_open(agent) {
            return Box::pin(async { Ok(true) });
        }
        // Another replica may have started one since the last refresh.
        let db = self.db.clone();
        Box::pin(async move { db.run(move |c| store::has_open(c, agent)).await })
    }
}

impl Handler<FlushActivity> for WorkSessions {
    type Result = ResponseActFuture<Self, Result<(), StorageError>>;

    fn handle(&mut self, _: FlushActivity, _: &mut Context<Self>) -> Self::Result {
        let pending = self.take_pending();
        let db = self.db.clone();
        Box::pin(
            async move {
                let r = if pending.is_empty() { Ok(Vec::new()) } else { write_pending(&db, &pending).await };
                (r, pending)
            }
            .into_actor(self)
            .map(|(r, pending), act, _| match r {
                Ok(_) => Ok(()),
                Err(e) => {
                    act.restore(pending);
                    Err(e)
                }
            }),
        )
    }
}

impl Handler<OpenSessions> for WorkSessions {
    type Result = MessageResult<OpenSessions>;

    fn handle(&mut self, _: OpenSessions, _: &mut Context<Self>) -> Self::Result {
        let mut open: Vec<WorkSession> = self.open.values().cloned().collect();
        open.sort_by_key(|s| (s.started_at, s.id));
        MessageResult(open)
    }
}

impl Handler<Restart> for WorkSessions {
    type Result = ();

    fn handle(&mut self, _: Restart, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
