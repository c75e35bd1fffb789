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

/// Makes every id handed out from now on greater than `id` (ids logged
/// before a restart must stay unique).
pub fn ensure_above(id: TxId) {
    NEXT_ID.fetch_max(id + 1, Ordering::Relaxed);
}

struct Scheduled {
    intents: Intents,
    /// Some step ran here (a refused transaction's cancel runs none).
    ran: bool,
    /// A local transaction (plain work that waited): ordered in real time
    /// like any plain command, so it leaves no mark in [`Ran`].
    local: bool,
    /// Nothing conflicting was held when it was scheduled: it runs at once,
    /// out of queue order (no earlier transaction can want its keys).
    granted: bool,
    /// Steps that arrived before its turn.
    parked: VecDeque<Step>,
    /// The watched keys it may write, as they were when it was scheduled.
    watched: crate::tx::watch::Snapshot,
    /// A writing cross-shard transaction logs its end here: the number of
    /// shards it runs on (see [`crate::persist::format`]).
    end: Option<u32>,
}

/// The highest ids of the transactions that ran here and have ended, per
/// key (hashed into a fixed table: a collision only costs a retry).
///
/// A transaction is scheduled on all its shards before it runs anywhere,
/// but its schedule message to one shard can arrive after a later
/// transaction ran there and left: nothing is locked any more, yet
/// running the earlier id now would order the two one way here and the
/// other way on a shard where the earlier one came first. The marks catch
/// that: an id below the mark of a key it conflicts on is refused, and
/// retried with a fresh (greater) id.
struct Ran {
    read: Box<[TxId]>,
    written: Box<[TxId]>,
    /// The highest whole-shard transaction that ran, and the highest of all.
    whole: TxId,
    any: TxId,
}

const RAN_SLOTS: usize = 4096;

impl Default for Ran {
    fn default() -> Ran {
        Ran { read: vec![0; RAN_SLOTS].into(), written: vec![0; RAN_SLOTS].into(), whole: 0, any: 0 }
    }
}

impl Ran {
    fn slot(key: &[u8]) -> usize {
        // Any fixed hash: the table only has to agree with itself.
        crc32fast::hash(key) as usize % RAN_SLOTS
    }

    fn record(&mut self, id: TxId, intents: &Intents) {
        self.any = self.any.max(id);
        if intents.is_whole() {
            self.whole = self.whole.max(id);
        }
        for (key, mode) in intents.keys() {
            let slot = Ran::slot(key);
            let marks = if *mode == Mode::Write { &mut self.written } else { &mut self.read };
            marks[slot] = marks[slot].max(id);
        }
    }

    /// Whether `id` conflicts with a later transaction that already ran.
    fn overtaken(&self, id: TxId, intents: &Intents) -> bool {
        if id >= self.any {
            return false;
        }
        if intents.is_whole() || id < self.whole {
            return true;
        }
        intents.keys().any(|(key, mode)| {
            let slot = Ran::slot(key);
            self.written[slot] > id || (*mode == Mode::Write && self.read[slot] > id)
        })
    }
}

/// The shard's scheduled transactions, by id, and the locks they hold.
#[derive(Default)]
pub struct Scheduler {
    locks: LockTable,
    ran: Ran,
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

    /// Whether a transaction holds `key` itself against writes. Active
    /// expiry asks this: it leaves a transaction's keys alone between its
    /// steps, but does not stop for whole-shard holders (DBSIZE, KEYS,
    /// FLUSHALL run in one step, which expiry cannot cut into anyway).
    pub fn holds_key(&self, key: &[u8]) -> bool {
        !self.queue.is_empty() && self.locks.key_conflicts(key, Mode::Write)
    }

    /// Schedules transaction `id` with its intents on this shard. Refused
    /// (false) when it conflicts with a later transaction: one holding a
    /// lock it wants while a later id is queued (queued in id order it
    /// could come after a transaction that ran ahead of its turn), or one
    /// that already ran here ([`Ran`]). The coordinator then retries with
    /// a new id.
    pub fn schedule(&mut self, id: TxId, intents: Intents) -> bool {
        let conflict = self.locks.conflicts_with(&intents);
        let behind = conflict && self.queue.last_key_value().is_some_and(|(&tail, _)| tail > id);
        if behind || self.ran.overtaken(id, &intents) {
            self.stats.refused += 1;
            return false;
        }
        self.enqueue(id, intents, conflict, false);
        true
    }

    fn enqueue(&mut self, id: TxId, intents: Intents, conflict: bool, local: bool) {
        self.locks.acquire(&intents);
        let parked = VecDeque::new();
        let watched = Vec::new();
        self.queue.insert(id, Scheduled { intents, granted: !conflict, parked, ran: false, local, watched, end: None });
        self.stats.scheduled += 1;
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

/// Schedules transaction `id` here ([`Scheduler::schedule`]), noting the
/// watched keys it may write as they are now; `end` is the shard count of
/// a writing transaction, which logs its end on each.
pub fn schedule(shard: &mut Shard, id: TxId, intents: Intents, end: Option<u32>) -> bool {
    let watched = crate::tx::watch::snapshot(shard, None, intents.written());
    if !shard.sched.schedule(id, intents) {
        return false;
    }
    if let Some(s) = shard.sched.queue.get_mut(&id) {
        s.watched = watched;
        s.end = end;
    }
    true
}

/// Runs a step of transaction `id` with what it logs tagged as that
/// transaction's (a local one's entries are plain).
fn run_step(shard: &mut Shard, id: TxId, local: bool, step: Step) {
    // Steps nest (a release inside a step runs the next transaction's
    // parked steps): the outer step's tag comes back after.
    let outer = std::mem::replace(&mut shard.persist.log.tx, if local { 0 } else { id });
    step(shard);
    shard.persist.log.tx = outer;
}

/// Runs `step` of transaction `id` now if its turn has come, else parks it
/// until it has.
pub fn step(shard: &mut Shard, id: TxId, step: Step) {
    if shard.sched.runnable(id) {
        let local = match shard.sched.queue.get_mut(&id) {
            Some(s) => {
                s.ran = true;
                s.local
            }
            None => true,
        };
        run_step(shard, id, local, step);
    } else if let Some(s) = shard.sched.queue.get_mut(&id) {
        s.parked.push_back(step);
    }
}

/// Ends transaction `id` here: gives back its locks, marks the watched keys
/// it changed touched if `touch`, logs its end unless it is `aborted` (a
/// refused schedule), and runs whatever its end lets run.
pub fn release(shard: &mut Shard, id: TxId, touch: bool, aborted: bool) {
    let Some(done) = shard.sched.queue.remove(&id) else { return };
    if let (Some(parts), false) = (done.end, aborted) {
        shard.persist.log.tx_end(id, parts);
    }
    shard.sched.locks.release(&done.intents);
    if done.ran && !done.local {
        shard.sched.ran.record(id, &done.intents);
    }
    if touch {
        crate::tx::watch::touch_changed(shard, done.watched, false);
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
    // The newest id: behind everything queued here, refused by nothing.
    let conflict = shard.sched.locks.conflicts_with(&intents);
    shard.sched.enqueue(id, intents, conflict, true);
    self::step(
        shard,
        id,
        Box::new(move |shard| {
            work(shard);
            release(shard, id, false, false);
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
        head.get_mut().ran = true;
        let (id, local) = (*head.key(), head.get().local);
        let steps = std::mem::take(&mut head.get_mut().parked);
        for step in steps {
            run_step(shard, id, local, step);
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
    fn an_earlier_id_arriving_after_a_later_one_ran_is_refused() {
        let mut s = Scheduler::default();
        assert!(s.schedule(6, writes(&["k"])));
        s.queue.get_mut(&6).unwrap().ran = true;
        let done = s.queue.remove(&6).unwrap();
        s.locks.release(&done.intents);
        s.ran.record(6, &done.intents);
        assert!(!s.schedule(5, writes(&["k"])), "6 ran on k first: 5 must come after it");
        assert!(s.schedule(5, writes(&["other"])));
        assert!(s.schedule(7, writes(&["k"])));
        assert!(!s.schedule(4, Intents::whole()));
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
