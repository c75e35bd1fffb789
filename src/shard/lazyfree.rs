//! Freeing big values off the request path, as Redis's lazyfree does:
//! deleting a collection of millions of members takes as long as it took to
//! build, and a shard must not stall its other clients for it. A value
//! bigger than [`THRESHOLD`] elements (or a whole db table) is handed to one
//! background thread that drops it; small ones are freed in place, where
//! that is cheaper than the hand-off.
//!
//! The counting allocator (`crate::alloc`) sums every thread's counter, so
//! memory freed on the background thread still shows in `used_memory`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

use super::Db;
use crate::types::Value;

/// Redis's `LAZYFREE_THRESHOLD`: more elements than this are freed in the
/// background.
pub const THRESHOLD: usize = 64;

type Garbage = Box<dyn Send>;

/// Objects handed over and not yet freed (`lazyfree_pending_objects`).
static PENDING: AtomicU64 = AtomicU64::new(0);
/// Objects freed in the background so far (`lazyfreed_objects`).
static FREED: AtomicU64 = AtomicU64::new(0);

fn queue() -> Option<Sender<Garbage>> {
    static QUEUE: OnceLock<Option<Mutex<Sender<Garbage>>>> = OnceLock::new();
    let q = QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        let spawned = std::thread::Builder::new().name("shardis-lazyfree".into()).spawn(move || {
            for garbage in rx {
                drop(garbage);
                PENDING.fetch_sub(1, Ordering::Relaxed);
                FREED.fetch_add(1, Ordering::Relaxed);
            }
        });
        spawned.ok().map(|_| Mutex::new(tx))
    });
    // Each shard clones the sender once and keeps it in a thread-local.
    q.as_ref().and_then(|m| m.lock().ok().map(|tx| tx.clone()))
}

thread_local! {
    static SENDER: Option<Sender<Garbage>> = queue();
}

/// Hands `garbage` to the background thread; frees it here if there is none.
fn send(garbage: Garbage) {
    PENDING.fetch_add(1, Ordering::Relaxed);
    let refused = SENDER.with(|tx| match tx {
        Some(tx) => tx.send(garbage).err().map(|e| e.0),
        None => Some(garbage),
    });
    if let Some(garbage) = refused {
        drop(garbage);
        PENDING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Frees a value a command removed or replaced: in the background if big.
pub fn free_value(value: Value) {
    if value.elements() > THRESHOLD {
        send(Box::new(value));
    }
}

/// Frees a whole table (FLUSHDB, FLUSHALL) in the background.
pub fn free_db(db: Db) {
    if !db.is_empty() {
        send(Box::new(db));
    }
}

pub fn pending() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

/// CONFIG RESETSTAT: `lazyfreed_objects` starts again from 0.
pub fn reset_stats() {
    FREED.store(0, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Set, SetLimits, Typed};

    #[test]
    fn big_values_are_freed_in_the_background() {
        let before = freed();
        let mut set = Set::new_intset();
        for i in 0..1000 {
            set.add(i.to_string().as_bytes(), SetLimits::default());
        }
        free_value(set.into_value());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while freed() == before && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(freed() > before);
    }
}
