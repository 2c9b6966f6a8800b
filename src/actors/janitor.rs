//! Janitor: periodic clean-up of stored state that has expired (idempotency keys past
//! their replay window; console sign-in links past their minute and console sessions
//! ended or idle too long). Losing a run loses nothing: the next one catches up.

use std::time::Duration;

use actix::prelude::*;

use crate::storage::{self, Db};

pub struct Janitor {
    db: Db,
    every: Duration,
}

impl Janitor {
    pub fn start_supervised(db: Db, every: Duration) -> Addr<Self> {
        Supervisor::start(move |_| Janitor { db, every })
    }
}

impl Actor for Janitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.every, |act, ctx| {
            let db = act.db.clone();
            ctx.spawn(
                async move {
                    match db.write(|c| storage::idempotency::purge_expired(c, storage::now())).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(purged = n, "expired idempotency keys removed"),
                        Err(e) => tracing::warn!(error = %e, "could not purge expired idempotency keys"),
                    }
                    let now = storage::now();
                    let idle_since = now - crate::service::console::IDLE;
                    match db.write(move |c| storage::console::purge(c, now, idle_since)).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(purged = n, "expired console links and sessions removed"),
                        Err(e) => tracing::warn!(error = %e, "could not purge expired console links and sessions"),
                    }
                }
                .into_actor(act),
            );
        });
    }
}

impl Supervised for Janitor {}
