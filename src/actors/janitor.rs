//! Janitor: periodic clean-up of stored state that has expired (idempotency keys past
//! their replay window; console sign-in links past their minute and console sessions
//! ended or idle too long; MCP sessions closed or idle past `MCP_SESSION_IDLE_SECS`;
//! audit events older than `AUDIT_RETENTION_DAYS` when that is set). Losing a run loses
//! nothing: the next one catches up.

use std::time::Duration;

use actix::prelude::*;

use crate::storage::{self, Db, DbConn, StorageError};

/// How long stored state is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// An MCP session unused this long is over, and purged.
    pub mcp_session_idle: Duration,
    /// Audit events older than this many days are purged; `None` keeps them forever.
    pub audit_days: Option<u32>,
}

impl Default for Retention {
    fn default() -> Self {
        Self { mcp_session_idle: Duration::from_secs(24 * 3600), audit_days: None }
    }
}

/// Audit events deleted per statement, so a large purge never holds a long lock.
const AUDIT_PURGE_BATCH: i64 = 10_000;

pub struct Janitor {
    db: Db,
    every: Duration,
    retention: Retention,
}

impl Janitor {
    pub fn start_supervised(db: Db, every: Duration, retention: Retention) -> Addr<Self> {
        Supervisor::start(move |_| Janitor { db, every, retention })
    }
}

/// Runs one clean-up now (tests; the timer sends it too).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RunNow;

impl Actor for Janitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.every, |act, ctx| {
            ctx.spawn(run(act.db.clone(), act.retention).into_actor(act));
        });
    }
}

impl Supervised for Janitor {}

impl Handler<RunNow> for Janitor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: RunNow, _: &mut Context<Self>) -> Self::Result {
        Box::pin(run(self.db.clone(), self.retention))
    }
}

/// One pass: each kind of expired state in its own statement, each failure logged.
async fn run(db: Db, retention: Retention) {
    let now = storage::now();
    purge(&db, "expired idempotency keys", move |c| storage::idempotency::purge_expired(c, now)).await;
    let idle_since = now - crate::service::console::IDLE;
    purge(&db, "expired console links and sessions", move |c| storage::console::purge(c, now, idle_since)).await;
    let idle = chrono::Duration::from_std(retention.mcp_session_idle).unwrap_or(chrono::Duration::MAX);
    // A closed session is kept a day (its id may still arrive and be refused as ended).
    let closed_before = now - chrono::Duration::days(1);
    let idle_before = now.checked_sub_signed(idle).unwrap_or(chrono::DateTime::UNIX_EPOCH.naive_utc());
    purge(&db, "ended MCP sessions", move |c| storage::mcp_sessions::purge(c, closed_before, idle_before)).await;
    if let Some(days) = retention.audit_days {
        let before = now - chrono::Duration::days(i64::from(days));
        loop {
            let n = purge(&db, "audit events past retention", move |c| {
                storage::audit::purge_before(c, before, AUDIT_PURGE_BATCH)
            })
            .await;
            if n < AUDIT_PURGE_BATCH as usize {
                break;
            }
        }
    }
}

async fn purge(
    db: &Db,
    what: &'static str,
    f: impl FnOnce(&mut DbConn) -> Result<usize, StorageError> + Send + 'static,
) -> usize {
    match db.write(f).await {
        Ok(0) => 0,
        Ok(n) => {
            tracing::info!(purged = n, "{what} removed");
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not purge {what}");
            0
        }
    }
}
