//! One shard's transaction queue: who holds intent locks here, in which
//! order scheduled transactions run, and the steps waiting for their turn.
//! The protocol is in the module docs of [`crate::tx`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use super::locks::{Intents, LockTable, Mode};
use crate::shard::Shard;

/// A global transaction id: allocated once per cross-shard transaction
/// (and per contended local one), strictly increasing server-wide.
pub type TxId = u64;

/// Work a transaction does on a shard, run when it may.
pub type Step = Box<dyn FnOnce(&mut Shard) + Send>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id, greater than every id handed out before (the counter is one
/// atomic: no lock, and not on the single-shard path).
pub fn next_id() -> TxId {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

struct Scheduled {
    intents: Intents,
    /// Nothing conflicting was held when it was scheduled: it runs at once,
    /// out of queue order (no earlier transaction can want its keys).
    granted: bool,
    /// Steps that arrived before its turn.
    parked: VecDeque<Step>,
}

/// The shard's scheduled transactions, by id, and the locks they hold.
#[derive(Default)]
pub struct Scheduler {
    locks: LockTable,
    queue: BTreeMap<TxId, Scheduled>,
    /// Set while parked steps are being run, so a release from inside one
    /// leaves the running to the loop already under way.
    draining: bool,
    /// Keys blocked clients wait on that got data while locked: served
    /// when the locks go.
    pub deferred_ready: Vec<Box<[u8]>>,
    pub stats: SchedStats,
}

/// Counters for `INFO` (shardis-specific fields).
#[derive(Debug, Default, Clone, Copy)]
pub struct SchedStats {
    /// Transactions scheduled here (cross-shard, or contended local ones).
    pub scheduled: u64,
    /// Scheduling attempts refused (out of order and conflicting): the
    /// coordinator retried with a new id.
    pub refused: u64,
    /// Plain batches that had to wait for a transaction's locks.
    pub parked_batches: u64,
}

impl Scheduler {
    /// No transaction holds anything here: the fast path's only check.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn locks(&self) -> &LockTable {
        &self.locks
    }

    /// Transactions queued here now.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Whether a plain command using `key` in `mode` must wait.
    pub fn blocks(&self, key: &[u8], mode: Mode) -> bool {
        !self.queue.is_empty() && self.locks.conflicts(key, mode)
    }

    /// Schedules transaction `id` with its intents on this shard. Refused
    /// (false) when it conflicts with a held lock and a later id is already
    /// queued: queued in id order it could come after a transaction that
    /// may have run ahead of its turn, so the coordinator retries with a new
    /// id instead.
    pub fn schedule(&mut self, id: TxId, intents: Intents) -> bool {
        let conflict = self.locks.conflicts_with(&intents);
        if conflict && self.queue.last_key_value().is_some_and(|(&tail, _)| tail > id) {
            self.stats.refused += 1;
            return false;
        }
        self.locks.acquire(&intents);
        self.queue.insert(id, Scheduled { intents, granted: !conflict, parked: VecDeque::new() });
        self.stats.scheduled += 1;
        true
    }

    /// Whether `id` may run here now: it was granted its locks at once, or
    /// every earlier transaction here has finished. One not scheduled here
    /// waits for nothing.
    fn runnable(&self, id: TxId) -> bool {
        match self.queue.get(&id) {
            Some(s) => s.granted || self.queue.first_key_value().is_some_and(|(&head, _)| head == id),
            None => true,
        }
    }
}

/// Runs `step` of transaction `id` now if its turn has come, else parks it
/// until it has.
pub fn step(shard: &mut Shard, id: TxId, step: Step) {
    if shard.sched.runnable(id) {
        step(shard);
    } else if let Some(s) = shard.sched.queue.get_mut(&id) {
        s.parked.push_back(step);
    }
}

/// Ends transaction `id` here: gives back its locks, marks the keys it
/// wrote touched for WATCH if `touch`, and runs whatever its end lets run.
pub fn release(shard: &mut Shard, id: TxId, touch: Option<usize>) {
    let Some(done) = shard.sched.queue.remove(&id) else { return };
    shard.sched.locks.release(&done.intents);
    if let Some(db) = touch {
        for key in done.intents.written() {
            crate::tx::watch::touch(shard, db, key);
        }
    }
    drain(shard);
}

/// Runs plain work (a batch, a blocking attempt) that found some of its
/// keys locked, as a local transaction: it takes a fresh id — after every
/// transaction queued here — so it runs once those before it are done, and
/// nothing scheduled later can overtake it.
pub fn run_after_locks(shard: &mut Shard, intents: Intents, work: Step) {
    let id = next_id();
    shard.sched.stats.parked_batches += 1;
    shard.sched.schedule(id, intents);
    self::step(
        shard,
        id,
        Box::new(move |shard| {
            work(shard);
            release(shard, id, None);
        }),
    );
}

/// Runs the parked steps of the head of the queue, again for each new head.
fn drain(shard: &mut Shard) {
    if shard.sched.draining {
        return;
    }
    shard.sched.draining = true;
    while let Some(mut head) = shard.sched.queue.first_entry() {
        if head.get().parked.is_empty() {
            break;
        }
        let steps = std::mem::take(&mut head.get_mut().parked);
        for step in steps {
            step(shard);
        }
    }
    shard.sched.draining = false;
    resume_blocked(shard);
}

/// Keys that got data for blocked clients while locked are served once
/// nothing holds them.
fn resume_blocked(shard: &mut Shard) {
    if shard.sched.deferred_ready.is_empty() {
        return;
    }
    let ready = std::mem::take(&mut shard.sched.deferred_ready);
    for key in ready {
        crate::shard::blocking::key_created(&key);
    }
    shard.after_command(crate::server::shared::unix_ms());
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn writes(keys: &[&str]) -> Intents {
        Intents::from_keys(keys.iter().map(|k| (Bytes::copy_from_slice(k.as_bytes()), Mode::Write)).collect())
    }

    #[test]
    fn conflicting_transactions_queue_in_id_order() {
        let mut s = Scheduler::default();
        assert!(s.schedule(10, writes(&["a"])));
        assert!(s.runnable(10));
        assert!(s.schedule(12, writes(&["a", "b"])));
        assert!(!s.runnable(12), "waits for 10, which holds a");
        // A later id without conflicts runs ahead of its turn.
        assert!(s.schedule(13, writes(&["c"])));
        assert!(s.runnable(13));
        // An earlier id that conflicts, arriving after a later one: refused.
        assert!(!s.schedule(11, writes(&["b"])));
        assert_eq!(s.stats.refused, 1);
        // An earlier id that conflicts with nothing is fine.
        assert!(s.schedule(9, writes(&["z"])));
        assert!(s.runnable(9));
        assert!(!s.runnable(12));
    }

    #[test]
    fn a_conflicting_transaction_at_the_tail_is_accepted() {
        let mut s = Scheduler::default();
        assert!(s.schedule(5, writes(&["a"])));
        assert!(s.schedule(6, writes(&["a"])));
        assert!(!s.runnable(6));
        assert!(s.blocks(b"a", Mode::Read));
        assert!(!s.blocks(b"q", Mode::Write));
    }
}
