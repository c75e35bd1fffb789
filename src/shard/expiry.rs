//! Active expiry: deletes keys whose time has come even when no client
//! touches them, adaptively, like Redis's `activeExpireCycle`.
//!
//! `hz` times a second each shard runs a cycle with a budget of 25% of the
//! period. A cycle samples [`KEYS_PER_LOOP`] keys with a TTL per db and
//! deletes the expired ones; while more than [`ACCEPTABLE_STALE`]% of a
//! sample was expired it samples that db again. The work is cut into
//! slices of a bounded number of samples so the shard's task yields to
//! client requests between slices (see `server::shard_main`).

use std::time::{Duration, Instant};

use super::{Shard, UnixMs};

/// Keys sampled per loop, per db (Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
pub const KEYS_PER_LOOP: usize = 20;

/// Stop sampling a db once at most this share of a sample had expired.
pub const ACCEPTABLE_STALE: usize = 10;

/// Sampling loops per slice before the shard is offered to other tasks.
pub const LOOPS_PER_SLICE: usize = 64;

/// The time a cycle may use, out of a period of `1/hz` seconds.
pub fn cycle_budget(hz: u32) -> Duration {
    Duration::from_micros(1_000_000 / hz.max(1) as u64 * 25 / 100)
}

/// The pause before the next cycle: a period, or a quarter of one when the
/// last cycle ran out of time with expired keys left (Redis adds "fast"
/// cycles then), so a backlog drains at up to half a core.
pub fn pause(hz: u32, backlog: bool) -> Duration {
    let period = Duration::from_micros(1_000_000 / hz.max(1) as u64);
    if backlog {
        period / 4
    } else {
        period
    }
}

/// Where a cycle is: the next db to sample.
#[derive(Default)]
pub struct Cycle {
    db: usize,
}

impl Cycle {
    /// Runs one slice of the cycle. Returns true when the cycle is done
    /// (every db's sample came back mostly fresh), false if there is more
    /// to do and the caller should yield, then call again before `deadline`.
    pub fn slice(&mut self, shard: &mut Shard, now: UnixMs, deadline: Instant) -> bool {
        let mut loops = 0;
        shard.listen();
        while self.db < shard.dbs.len() {
            let db = &mut shard.dbs[self.db];
            let sched = &shard.sched;
            let locked = |key: &[u8]| sched.holds_key(key);
            let (sampled, expired) = db.expire_sample(KEYS_PER_LOOP, now, crate::rand::next_u64, locked);
            loops += 1;
            let stale = sampled > 0 && expired * 100 > sampled * ACCEPTABLE_STALE;
            if expired > 0 {
                shard.flush_events(self.db, now);
            }
            if !stale {
                shard.dbs[self.db].shrink_if_sparse();
                self.db += 1;
            }
            if loops >= LOOPS_PER_SLICE || (loops % 16 == 0 && Instant::now() >= deadline) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_a_quarter_of_the_period() {
        assert_eq!(cycle_budget(10), Duration::from_millis(25));
        assert_eq!(cycle_budget(100), Duration::from_micros(2_500));
        assert_eq!(cycle_budget(0), Duration::from_millis(250));
    }
}
