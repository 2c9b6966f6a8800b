use std::time::Instant;

use actix::prelude::*;
use uuid::Uuid;

use super::{Bucket, Budget, CallKind, RateBuckets};

/// Take one call from an agent's budget. `per_minute` is the agent's own rate, if it
/// has one (its burst keeps the default's ratio of burst to rate, at least 1).
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

/// An agent's own rate gets the burst the default rate has, in proportion.
fn scaled_burst(default: Budget, per_minute: u32) -> u32 {
    let scaled = u64::from(default.burst) * u64::from(per_minute) / u64::from(default.per_minute.max(1));
    scaled.clamp(1, 100_000) as u32
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
            Some(per_minute) => Budget { per_minute, burst: scaled_burst(default, per_minute) },
            None => default,
        };
        let bucket = self.buckets.entry((msg.agent_id, msg.kind)).or_insert_with(|| Bucket::new(budget, now));
        if bucket.budget != budget {
            // The agent's budget changed: a larger burst is available at once, a smaller
            // one caps what is left.
            bucket.refill(now);
            let grown = f64::from(budget.burst) - f64::from(bucket.budget.burst);
            bucket.tokens = (bucket.tokens + grown.max(0.0)).min(f64::from(budget.burst));
            bucket.budget = budget;
        }
        MessageResult(match bucket.take(now) {
            Ok(()) => Taken::Allowed,
            Err(wait) => Taken::Limited { retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64 },
        })
    }
}
