use std::time::Instant;

use actix::prelude::*;
use uuid::Uuid;

use super::{Bucket, Budget, CallKind, RateBuckets};

/// Take one call from an agent's budget. `budget` overrides the default for this agent.
#[derive(Message)]
#[rtype(result = "Taken")]
pub struct Take {
    pub agent_id: Uuid,
    pub kind: CallKind,
    pub budget: Option<Budget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Allowed,
    /// Over budget: retry after this many seconds (at least 1).
    Limited { retry_after_secs: u64 },
}

impl Handler<Take> for RateBuckets {
    type Result = MessageResult<Take>;

    fn handle(&mut self, msg: Take, _: &mut Context<Self>) -> Self::Result {
        let now = Instant::now();
        let budget = msg.budget.unwrap_or(match msg.kind {
            CallKind::Read => self.defaults.read,
            CallKind::Write => self.defaults.write,
        });
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
