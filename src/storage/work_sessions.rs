//! Work sessions and their events. Every transition is one conditional update (the
//! state it starts from is in its WHERE clause) plus its event row, so two replicas, or
//! a report racing a timer, cannot both apply a transition.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{work_session_events as ev, work_sessions as ws};
use super::{DbConn, StorageError, stored_uuid};
use crate::model::{SessionOutcome, SessionState, WorkSession, utc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ws)]
struct Row {
    id: String,
    agent_id: String,
    owner_user_id: String,
    goal: String,
    state: String,
    card: Option<String>,
    last_status: Option<String>,
    started_at: NaiveDateTime,
    last_report_at: NaiveDateTime,
    last_activity_at: NaiveDateTime,
    stale_since: Option<NaiveDateTime>,
    ended_at: Option<NaiveDateTime>,
    outcome: Option<String>,
    summary: Option<String>,
}

impl TryFrom<Row> for WorkSession {
    type Error = StorageError;
    fn try_from(r: Row) -> Result<Self, StorageError> {
        Ok(WorkSession {
            id: stored_uuid(&r.id)?,
            agent_id: stored_uuid(&r.agent_id)?,
            owner_user_id: stored_uuid(&r.owner_user_id)?,
            goal: r.goal,
            state: r.state.parse().map_err(StorageError::corrupt)?,
            card: r.card,
            last_status: r.last_status,
            started_at: utc(r.started_at),
            last_report_at: utc(r.last_report_at),
            last_activity_at: utc(r.last_activity_at),
            stale_since: r.stale_since.map(utc),
            ended_at: r.ended_at.map(utc),
            outcome: r.outcome.map(|o| o.parse()).transpose().map_err(StorageError::corrupt)?,
            summary: r.summary,
        })
    }
}

/// What happened to a session, in its event history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Started,
    Progress,
    Stale,
    Resumed,
    Finished,
    Abandoned,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::Progress => "progress",
            EventKind::Stale => "stale",
            EventKind::Resumed => "resumed",
            EventKind::Finished => "finished",
            EventKind::Abandoned => "abandoned",
        }
    }
}

/// One event of a session's history, as shown.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct SessionEvent {
    pub at: chrono::DateTime<chrono::Utc>,
    pub kind: String,
    pub card: Option<String>,
    pub text: Option<String>,
    pub request_id: Option<String>,
}

pub fn event(
    conn: &mut DbConn,
    session: Uuid,
    kind: EventKind,
    at: NaiveDateTime,
    card: Option<&str>,
    text: Option<&str>,
    request_id: Option<&str>,
) -> Result<(), StorageError> {
    diesel::insert_into(ev::table)
        .values((
            // Time-ordered ids keep events of the same instant in the order they happened.
            ev::id.eq(Uuid::now_v7().to_string()),
            ev::session_id.eq(session.to_string()),
            ev::at.eq(at),
            ev::kind.eq(kind.as_str()),
            ev::card.eq(card),
            ev::text.eq(text),
            ev::request_id.eq(request_id),
        ))
        .execute(conn)?;
    Ok(())
}

type EventRow = (NaiveDateTime, String, Option<String>, Option<String>, Option<String>);

pub fn events(conn: &mut DbConn, session: Uuid) -> Result<Vec<SessionEvent>, StorageError> {
    let rows: Vec<EventRow> = ev::table
        .filter(ev::session_id.eq(session.to_string()))
        .order((ev::at.asc(), ev::id.asc()))
        .select((ev::at, ev::kind, ev::card, ev::text, ev::request_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(at, kind, card, text, request_id)| SessionEvent { at: utc(at), kind, card, text, request_id })
        .collect())
}

pub fn insert(conn: &mut DbConn, s: &WorkSession) -> Result<(), StorageError> {
    let t = |d: chrono::DateTime<chrono::Utc>| d.naive_utc();
    diesel::insert_into(ws::table)
        .values(Row {
            id: s.id.to_string(),
            agent_id: s.agent_id.to_string(),
            owner_user_id: s.owner_user_id.to_string(),
            goal: s.goal.clone(),
            state: s.state.as_str().to_string(),
            card: s.card.clone(),
            last_status: s.last_status.clone(),
            started_at: t(s.started_at),
            last_report_at: t(s.last_report_at),
            last_activity_at: t(s.last_activity_at),
            stale_since: s.stale_since.map(t),
            ended_at: s.ended_at.map(t),
            outcome: s.outcome.map(|o| o.as_str().to_string()),
            summary: s.summary.clone(),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: Uuid) -> Result<Option<WorkSession>, StorageError> {
    ws::table.find(id.to_string()).select(Row::as_select()).first(conn).optional()?.map(TryInto::try_into).transpose()
}

/// Every open (active or stale) session, to rebuild the live state.
pub fn open(conn: &mut DbConn) -> Result<Vec<WorkSession>, StorageError> {
    ws::table
        .filter(ws::state.eq_any([SessionState::Active.as_str(), SessionState::Stale.as_str()]))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// The open sessions of these agents (ids as stored).
pub fn open_of(conn: &mut DbConn, agents: &[String]) -> Result<Vec<WorkSession>, StorageError> {
    ws::table
        .filter(ws::agent_id.eq_any(agents))
        .filter(ws::state.eq_any(open_states()))
        .order((ws::started_at.asc(), ws::id.asc()))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// Sessions, newest first, filtered and paged.
pub fn list(conn: &mut DbConn, f: &super::reporting::SessionFilter) -> Result<Vec<WorkSession>, StorageError> {
    use super::schema::owners;
    let mut q = ws::table.select(Row::as_select()).into_boxed();
    if let Some(o) = f.owner {
        q = q.filter(ws::owner_user_id.eq(o.to_string()));
    }
    if let Some(c) = f.client {
        let of_client = owners::table.filter(owners::client_id.eq(c.to_string())).select(owners::user_id);
        q = q.filter(ws::owner_user_id.eq_any(of_client));
    }
    if let Some(a) = f.agent {
        q = q.filter(ws::agent_id.eq(a.to_string()));
    }
    if let Some(s) = f.state {
        q = q.filter(ws::state.eq(s.as_str()));
    }
    if let Some(t) = f.since {
        q = q.filter(ws::started_at.ge(t));
    }
    if let Some(t) = f.until {
        q = q.filter(ws::started_at.lt(t));
    }
    if let Some(c) = &f.after {
        q = q.filter(ws::started_at.le(c.at).and(ws::started_at.lt(c.at).or(ws::id.lt(c.id.clone()))));
    }
    q.order((ws::started_at.desc(), ws::id.desc()))
        .limit(f.limit)
        .load(conn)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// Whether the agent has an open session.
pub fn has_open(conn: &mut DbConn, agent: Uuid) -> Result<bool, StorageError> {
    let n: i64 = ws::table
        .filter(ws::agent_id.eq(agent.to_string()))
        .filter(ws::state.eq_any([SessionState::Active.as_str(), SessionState::Stale.as_str()]))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn open_states() -> [&'static str; 2] {
    [SessionState::Active.as_str(), SessionState::Stale.as_str()]
}

/// A report on an open session of `agent`: the card (when given), the status, and a
/// heartbeat; a stale session becomes active again. `None`: no such open session of
/// this agent.
pub fn report(
    conn: &mut DbConn,
    agent: Uuid,
    id: Uuid,
    card: Option<&str>,
    status: &str,
    now: NaiveDateTime,
) -> Result<Option<(WorkSession, bool)>, StorageError> {
    let Some(before) = find(conn, id)?.filter(|s| s.agent_id == agent && s.state.is_open()) else {
        return Ok(None);
    };
    let n = diesel::update(ws::table.find(id.to_string()))
        .filter(ws::state.eq_any(open_states()))
        .set((
            ws::card.eq(card.map(str::to_string).or(before.card.clone())),
            ws::last_status.eq(status),
            ws::last_report_at.eq(now),
            ws::last_activity_at.eq(now),
            ws::state.eq(SessionState::Active.as_str()),
            ws::stale_since.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    let resumed = before.state == SessionState::Stale;
    Ok(find(conn, id)?.map(|s| (s, resumed)))
}

/// Ends an open session of `agent` as the agent says. `None`: no such open session.
pub fn finish(
    conn: &mut DbConn,
    agent: Uuid,
    id: Uuid,
    outcome: SessionOutcome,
    summary: &str,
    now: NaiveDateTime,
) -> Result<Option<WorkSession>, StorageError> {
    let n = diesel::update(ws::table.find(id.to_string()))
        .filter(ws::agent_id.eq(agent.to_string()))
        .filter(ws::state.eq_any(open_states()))
        .set((
            ws::state.eq(SessionState::Finished.as_str()),
            ws::outcome.eq(outcome.as_str()),
            ws::summary.eq(summary),
            ws::ended_at.eq(now),
            ws::last_report_at.eq(now),
            ws::last_activity_at.eq(now),
            ws::stale_since.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    find(conn, id)
}

/// Active sessions silent since `cutoff` become stale; returns their ids.
pub fn mark_stale(conn: &mut DbConn, cutoff: NaiveDateTime, now: NaiveDateTime) -> Result<Vec<Uuid>, StorageError> {
    let ids: Vec<String> = ws::table
        .filter(ws::state.eq(SessionState::Active.as_str()))
        .filter(ws::last_activity_at.lt(cutoff))
        .filter(ws::last_report_at.lt(cutoff))
        .select(ws::id)
        .load(conn)?;
    let mut done = Vec::with_capacity(ids.len());
    for id in ids {
        let n = diesel::update(ws::table.find(&id))
            .filter(ws::state.eq(SessionState::Active.as_str()))
            .filter(ws::last_activity_at.lt(cutoff))
            .set((ws::state.eq(SessionState::Stale.as_str()), ws::stale_since.eq(now)))
            .execute(conn)?;
        if n == 1 {
            let id = stored_uuid(&id)?;
            event(conn, id, EventKind::Stale, now, None, None, None)?;
            done.push(id);
        }
    }
    Ok(done)
}

/// Open sessions silent since `cutoff` are abandoned; returns their ids.
pub fn mark_abandoned(conn: &mut DbConn, cutoff: NaiveDateTime, now: NaiveDateTime) -> Result<Vec<Uuid>, StorageError> {
    let ids: Vec<String> = ws::table
        .filter(ws::state.eq_any(open_states()))
        .filter(ws::last_activity_at.lt(cutoff))
        .filter(ws::last_report_at.lt(cutoff))
        .select(ws::id)
        .load(conn)?;
    let mut done = Vec::with_capacity(ids.len());
    for id in ids {
        let n = diesel::update(ws::table.find(&id))
            .filter(ws::state.eq_any(open_states()))
            .filter(ws::last_activity_at.lt(cutoff))
            .set((
                ws::state.eq(SessionState::Abandoned.as_str()),
                ws::outcome.eq(SessionOutcome::Abandoned.as_str()),
                ws::ended_at.eq(now),
            ))
            .execute(conn)?;
        if n == 1 {
            let id = stored_uuid(&id)?;
            let why = "no report and no tool call for the abandon threshold";
            event(conn, id, EventKind::Abandoned, now, None, Some(why), None)?;
            done.push(id);
        }
    }
    Ok(done)
}

/// An agent's tool call counts as activity on each of its open sessions; a stale one
/// becomes active again. Returns the sessions that resumed.
pub fn touch(conn: &mut DbConn, agent: Uuid, at: NaiveDateTime) -> Result<Vec<Uuid>, StorageError> {
    let stale: Vec<String> = ws::table
        .filter(ws::agent_id.eq(agent.to_string()))
        .filter(ws::state.eq(SessionState::Stale.as_str()))
        .select(ws::id)
        .load(conn)?;
    diesel::update(ws::table)
        .filter(ws::agent_id.eq(agent.to_string()))
        .filter(ws::state.eq_any(open_states()))
        .filter(ws::last_activity_at.lt(at))
        .set((
            ws::last_activity_at.eq(at),
            ws::state.eq(SessionState::Active.as_str()),
            ws::stale_since.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    let mut resumed = Vec::with_capacity(stale.len());
    for id in stale {
        let id = stored_uuid(&id)?;
        event(conn, id, EventKind::Resumed, at, None, None, None)?;
        resumed.push(id);
    }
    Ok(resumed)
}

/// Open sessions by state, every open state listed (for the metrics).
pub fn count_open_by_state(conn: &mut DbConn) -> Result<Vec<(&'static str, i64)>, StorageError> {
    let rows: Vec<(String, i64)> = ws::table
        .filter(ws::state.eq_any(open_states()))
        .group_by(ws::state)
        .select((ws::state, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(open_states().into_iter().map(|s| (s, rows.iter().find(|(r, _)| r == s).map_or(0, |(_, n)| *n))).collect())
}
