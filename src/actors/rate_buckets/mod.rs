//! RateBuckets: per-agent token buckets, one for reads and one for writes.
//!
//! Each agent's bucket holds up to `burst` calls and refills at `per_minute`; a call
//! over budget is refused with the seconds until one call's worth has refilled. The
//! state is deliberately not persisted: after a restart of the process every bucket
//! starts full (an actor restart keeps them), which only ever errs towards letting an
//! agent work.

mod handlers;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use uuid::Uuid;

pub use handlers::{Take, Taken};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Read,
    Write,
}

/// One budget: sustained calls per minute, and how many may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Budget {
    pub per_minute: u32,
    pub burst: u32,
}

/// The budgets an agent gets unless it has its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub read: Budget,
    pub write: Budget,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { read: Budget { per_minute: 600, burst: 60 }, write: Budget { per_minute: 60, burst: 20 } }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
    budget: Budget,
}

impl Bucket {
    fn new(budget: Budget, now: Instant) -> Self {
        Self { tokens: f64::from(budget.burst), updated: now, budget }
    }

    fn refill(&mut self, now: Instant) {
        let rate = f64::from(self.budget.per_minute) / 60.0;
        let elapsed = now.duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(self.budget.burst));
        self.updated = now;
    }

    /// Takes one call, or says how long until one is available.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let rate = f64::from(self.budget.per_minute) / 60.0;
        if rate <= 0.0 {
            return Err(Duration::from_secs(60));
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
    }
}

pub struct RateBuckets {
    defaults: RateLimits,
    buckets: HashMap<(Uuid, CallKind), Bucket>,
}

impl RateBuckets {
    pub fn new(defaults: RateLimits) -> Self {
        Self { defaults, buckets: HashMap::new() }
    }

    pub fn start_supervised(defaults: RateLimits) -> Addr<Self> {
        Supervisor::start(move |_| RateBuckets::new(defaults))
    }
}

impl Actor for RateBuckets {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Full buckets carry no information: drop them so memory follows active agents.
        ctx.run_interval(Duration::from_secs(300), |act, _| {
            let now = Instant::now();
            act.buckets.retain(|_, b| {
                b.refill(now);
                b.tokens < f64::from(b.budget.burst)
            });
        });
    }
}

impl Supervised for RateBuckets {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_past_burst_and_refills() {
        let t0 = Instant::now();
        let mut b = Bucket::new(Budget { per_minute: 60, burst: 2 }, t0);
        assert!(b.take(t0).is_ok());
        assert!(b.take(t0).is_ok());
        let wait = b.take(t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900), "{wait:?}");
        assert!(b.take(t0 + Duration::from_secs(1)).is_ok(), "one call refilled after a second");
    }
}
