//! Fixed-window failure counting, owned by the TokenSessions actor (no locks).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

pub struct FailureLimiter<K> {
    max: u32,
    window: Duration,
    windows: HashMap<K, (Instant, u32)>,
}

impl<K: Eq + Hash + Copy> FailureLimiter<K> {
    pub fn new(max: u32, window: Duration) -> Self {
        Self { max, window, windows: HashMap::new() }
    }

    /// Seconds until `key` may try again, if it has used up its failures.
    pub fn blocked_for(&self, key: &K, now: Instant) -> Option<u64> {
        let (start, count) = self.windows.get(key)?;
        let elapsed = now.duration_since(*start);
        if *count >= self.max && elapsed < self.window { Some((self.window - elapsed).as_secs().max(1)) } else { None }
    }

    pub fn record(&mut self, key: K, now: Instant) {
        // Keep memory bounded under a flood of distinct keys: drop expired windows.
        if self.windows.len() > 10_000 {
            let window = self.window;
            self.windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = self.windows.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    /// Gives back one charged failure (the attempt it was charged for succeeded).
    pub fn refund(&mut self, key: &K) {
        if let Some((_, count)) = self.windows.get_mut(key) {
            *count = count.saturating_sub(1);
        }
    }

    pub fn clear(&mut self, key: &K) {
        self.windows.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_and_reopens_after_window() {
        let mut l = FailureLimiter::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        l.record(1, t0);
        assert_eq!(l.blocked_for(&1, t0), None);
        l.record(1, t0);
        assert_eq!(l.blocked_for(&1, t0), Some(10));
        assert_eq!(l.blocked_for(&2, t0), None);
        assert_eq!(l.blocked_for(&1, t0 + Duration::from_secs(10)), None);
    }
}
