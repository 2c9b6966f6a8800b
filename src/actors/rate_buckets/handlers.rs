use std::time::Instant;

use actix::prelude::*;
use uuid::Uuid;

use super::{Bucket, Budget, CallKind, RateBuckets};

/// Take one call from an agent's budget. `per_minute` is the agent's own rate, if it
/// has one (its burst is the default burst, or the rate itself if that is lower).
#[derive(Message)]
#[rtype(result = "Taken")]
pub struct Take {
    pub agent_id: Uuid,
    pub kind: CallKind,
    pub per_minute: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Allowed,
    /// Over budget: retry after this many seconds (at least 1).
    Limited {
        retry_after_secs: u64,
    },
}

impl Handler<Take> for RateBuckets {
    type Result = MessageResult<Take>;

    fn handle(&mut self, msg: Take, _: &mut Context<Self>) -> Self::Result {
        let now = Instant::now();
        let default = match msg.kind {
            CallKind::Read => self.defaults.read,
            CallKind::Write => self.defaults.write,
        };
        let budget = match msg.per_minute {
            Some(per_minute) => Budget { per_minute, burst: default.burst.min(per_minute).max(1) },
            None => default,
        };
        let bucket = self.buckets.entry((msg.agent_id, msg.kind)).or_insert_with(|| Bucket::new(budget, now));
        if bucket.budget != budget {
            // The agent's budget changed: keep what it has left, within the new burst.
            bucket.refill(now);
            bucket.budget = budget;
            bucket.tokens = bucket.tokens.min(f64::from(budget.burst));
        }
        MessageResult(match bucket.take(now) {
            Ok(()) => Taken::Allowed,
            Err(wait) => Taken::Limited { retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64 },
        })
    }
}
