//! WorkSessions: the live state of reporting mode.
//!
//! It holds every open work session (agent, owner, goal, active card, last status,
//! last report, last tool activity) and every agent's latest tool call. A session's
//! own transitions (start, report, finish) are written through diesel before they are
//! answered; what every other tool call tells it (time, tool, card, outcome) stays in
//! memory and is written in batches, so tracking adds no database write to a call's
//! path. A timer moves silent sessions to `stale`, then `abandoned`, with conditional
//! updates, so replicas sharing the database never both apply a transition.
//!
//! The database is the truth: the actor loads the open sessions when it starts (also
//! after its supervisor restarts it) and refreshes them on each tick, so sessions
//! started or finished by another replica appear here too.
//!
//! Everything here is what agents report. Work done outside the gateway (local edits,
//! commits, other tools) is not visible to it, and nothing here enforces anything on
//! an agent's machine.

mod handlers;

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DurationRound, NaiveDateTime};
use uuid::Uuid;

use crate::model::{SessionState, WorkSession};
use crate::storage::activity::{CountKey, LastActivity};
use crate::storage::{self, Db, StorageError};
pub use handlers::{Activity, Finish, FlushActivity, HasOpen, OpenSessions, Report, Restart, SessionError, Start};

/// When a silent session turns stale, then abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportTimers {
    /// Neither a report nor a tool call for this long: `stale`.
    pub stale_after: Duration,
    /// Neither for this long: `abandoned`.
    pub abandon_after: Duration,
}

impl Default for ReportTimers {
    fn default() -> Self {
        Self { stale_after: Duration::from_secs(900), abandon_after: Duration::from_secs(86_400) }
    }
}

impl ReportTimers {
    /// How often the timer looks: often enough that a session turns stale within a
    /// tenth of the threshold, at most every 30 s.
    fn tick(&self) -> Duration {
        (self.stale_after / 10).clamp(Duration::from_millis(200), Duration::from_secs(30))
    }
}

pub struct WorkSessions {
    db: Db,
    timers: ReportTimers,
    /// Open sessions, by id.
    open: HashMap<Uuid, WorkSession>,
    /// Agents' latest tool calls not yet written.
    last: HashMap<Uuid, LastActivity>,
    /// Agents that called a tool since the last flush (their sessions' activity).
    touched: HashMap<Uuid, NaiveDateTime>,
    /// Calls counted since the last flush.
    counts: HashMap<CountKey, i64>,
    /// A flush is running (the next tick waits for it).
    flushing: bool,
}

impl WorkSessions {
    pub fn new(db: Db, timers: ReportTimers) -> Self {
        Self {
            db,
            timers,
            open: HashMap::new(),
            last: HashMap::new(),
            touched: HashMap::new(),
            counts: HashMap::new(),
            flushing: false,
        }
    }

    /// Started under a supervisor: after a restart it reloads the open sessions from
    /// the database; activity not yet written is kept across the restart.
    pub fn start_supervised(db: Db, timers: ReportTimers) -> Addr<Self> {
        Supervisor::start(move |_| WorkSessions::new(db, timers))
    }

    fn has_open(&self, agent: Uuid) -> bool {
        self.open.values().any(|s| s.agent_id == agent)
    }

    fn remember(&mut self, s: WorkSession) {
        if s.state.is_open() {
            self.open.insert(s.id, s);
        } else {
            self.open.remove(&s.id);
        }
    }

    /// Replaces the open sessions with the database's, keeping activity seen here since.
    fn reload(&mut self, fresh: Vec<WorkSession>) {
        let mut open: HashMap<Uuid, WorkSession> = fresh.into_iter().map(|s| (s.id, s)).collect();
        for s in open.values_mut() {
            if let Some(at) = self.touched.get(&s.agent_id).map(|t| t.and_utc())
                && at > s.last_activity_at
            {
                s.last_activity_at = at;
                s.state = SessionState::Active;
                s.stale_since = None;
            }
        }
        self.open = open;
    }

    /// Everything pending, emptied, for one batched write.
    fn take_pending(&mut self) -> Pending {
        Pending {
            last: self.last.drain().collect(),
            touched: self.touched.drain().collect(),
            counts: self.counts.drain().collect(),
        }
    }

    /// Puts back what a failed write did not store (newer entries win).
    fn restore(&mut self, p: Pending) {
        for (agent, a) in p.last {
            self.last.entry(agent).or_insert(a);
        }
        for (agent, at) in p.touched {
            let e = self.touched.entry(agent).or_insert(at);
            *e = (*e).max(at);
        }
        for (k, n) in p.counts {
            *self.counts.entry(k).or_insert(0) += n;
        }
    }
}

/// What the actor has to write.
#[derive(Default)]
pub(crate) struct Pending {
    last: Vec<(Uuid, LastActivity)>,
    touched: Vec<(Uuid, NaiveDateTime)>,
    counts: Vec<(CountKey, i64)>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.last.is_empty() && self.touched.is_empty() && self.counts.is_empty()
    }
}

/// Writes pending activity; returns the sessions it made active again.
async fn write_pending(db: &Db, p: &Pending) -> Result<Vec<Uuid>, StorageError> {
    let (last, touched, counts) = (p.last.clone(), p.touched.clone(), p.counts.clone());
    db.write(move |c| {
        storage::activity::record_last(c, &last)?;
        storage::activity::add_counts(c, &counts)?;
        let mut resumed = Vec::new();
        for (agent, at) in &touched {
            resumed.extend(storage::work_sessions::touch(c, *agent, *at)?);
        }
        Ok(resumed)
    })
    .await
}

/// One timer run: write pending activity, apply the stale and abandon thresholds,
/// reload the open sessions.
async fn tick(db: Db, timers: ReportTimers, pending: Pending) -> (Result<Vec<WorkSession>, StorageError>, Pending) {
    if !pending.is_empty()
        && let Err(e) = write_pending(&db, &pending).await
    {
        return (Err(e), pending);
    }
    let now = storage::now();
    let stale_cutoff = now - chrono::Duration::from_std(timers.stale_after).unwrap_or(chrono::Duration::MAX);
    let abandon_cutoff = now - chrono::Duration::from_std(timers.abandon_after).unwrap_or(chrono::Duration::MAX);
    let moved = db
        .write(move |c| {
            let abandoned = storage::work_sessions::mark_abandoned(c, abandon_cutoff, now)?;
            let stale = storage::work_sessions::mark_stale(c, stale_cutoff, now)?;
            Ok::<_, StorageError>((stale, abandoned))
        })
        .await;
    match moved {
        Ok((stale, abandoned)) if !stale.is_empty() || !abandoned.is_empty() => {
            tracing::info!(stale = stale.len(), abandoned = abandoned.len(), "work sessions went silent");
        }
        Ok(_) => {}
        Err(e) => return (Err(e), Pending::default()),
    }
    (db.run(storage::work_sessions::open).await, Pending::default())
}

/// The hour a call is counted in.
fn hour_of(at: NaiveDateTime) -> NaiveDateTime {
    at.duration_trunc(chrono::Duration::hours(1)).unwrap_or(at)
}

impl Actor for WorkSessions {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // No message is handled before the open sessions are loaded.
        let db = self.db.clone();
        ctx.wait(async move { db.run(storage::work_sessions::open).await }.into_actor(self).map(|loaded, act, _| {
            match loaded {
                Ok(open) => act.reload(open),
                Err(e) => tracing::warn!(error = %e, "work sessions not loaded; retrying on the next tick"),
            }
        }));
        ctx.run_interval(self.timers.tick(), |act, ctx| {
            if act.flushing {
                return;
            }
            act.flushing = true;
            let pending = act.take_pending();
            ctx.spawn(tick(act.db.clone(), act.timers, pending).into_actor(act).map(|(result, unwritten), act, _| {
                act.flushing = false;
                act.restore(unwritten);
                match result {
                    Ok(open) => act.reload(open),
                    Err(e) => tracing::warn!(error = %e, "work sessions: the timer's write failed; retrying"),
                }
            }));
        });
    }
}

impl Supervised for WorkSessions {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("WorkSessions restarting; reloading open sessions from the database");
        self.open.clear();
        self.flushing = false;
    }
}
