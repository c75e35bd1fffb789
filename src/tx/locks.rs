//! Intent locks on one shard (VLL's per-key lock counters).
//!
//! A transaction declares up front what it will touch on a shard — keys,
//! each read or written, or the whole shard for commands whose keys are not
//! known in advance (FLUSHALL, KEYS, SORT … BY) — and takes all of it at
//! once when it is scheduled. A lock is two counters, never a list of
//! owners: who goes first is decided by the shard's queue order, not here.
//!
//! Locks are taken on key names regardless of the db: a transaction that
//! MOVEs or COPYs a key to another db touches the same name there, and a
//! false conflict between equal names in two dbs only costs a wait.

use std::collections::HashMap;

use bytes::Bytes;

/// How a transaction uses a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Read,
    Write,
}

/// What a transaction will touch on one shard.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Intents {
    /// Sorted by key, each key once, with the strongest mode asked for.
    keys: Vec<(Bytes, Mode)>,
    /// The whole shard: excludes every other transaction and every plain
    /// command on this shard.
    whole: bool,
}

impl Intents {
    pub fn whole() -> Intents {
        Intents { keys: Vec::new(), whole: true }
    }

    /// Intents from `(key, mode)` pairs in any order, repeats allowed.
    pub fn from_keys(mut keys: Vec<(Bytes, Mode)>) -> Intents {
        // Write sorts after Read: after the sort the last of a run is the strongest.
        keys.sort_unstable();
        keys.reverse();
        keys.dedup_by(|later, kept| later.0 == kept.0);
        keys.reverse();
        Intents { keys, whole: false }
    }

    pub fn set_whole(&mut self) {
        self.whole = true;
    }

    pub fn is_whole(&self) -> bool {
        self.whole
    }

    pub fn is_empty(&self) -> bool {
        !self.whole && self.keys.is_empty()
    }

    /// The keys with their modes, and whether it is the whole shard.
    pub fn into_parts(self) -> (Vec<(Bytes, Mode)>, bool) {
        (self.keys, self.whole)
    }

    /// Every key with its mode.
    pub fn keys(&self) -> impl Iterator<Item = &(Bytes, Mode)> {
        self.keys.iter()
    }

    /// The keys written.
    pub fn written(&self) -> impl Iterator<Item = &Bytes> {
        self.keys.iter().filter(|(_, m)| *m == Mode::Write).map(|(k, _)| k)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Lock {
    readers: u32,
    writers: u32,
}

impl Lock {
    fn conflicts(&self, mode: Mode) -> bool {
        match mode {
            Mode::Read => self.writers > 0,
            Mode::Write => self.readers + self.writers > 0,
        }
    }
}

/// The locks held on one shard.
#[derive(Debug, Default)]
pub struct LockTable {
    keys: HashMap<Bytes, Lock, ahash::RandomState>,
    /// Holders of whole-shard intents.
    whole: u32,
}

impl LockTable {
    pub fn is_empty(&self) -> bool {
        self.whole == 0 && self.keys.is_empty()
    }

    /// Whether using `key` in `mode` now would break a lock holder's isolation.
    pub fn conflicts(&self, key: &[u8], mode: Mode) -> bool {
        self.whole > 0 || self.keys.get(key).is_some_and(|l| l.conflicts(mode))
    }

    /// Whether a lock on `key` itself conflicts with `mode` (whole-shard
    /// holders left out).
    pub fn key_conflicts(&self, key: &[u8], mode: Mode) -> bool {
        self.keys.get(key).is_some_and(|l| l.conflicts(mode))
    }

    /// Whether taking `intents` now would conflict with a holder.
    pub fn conflicts_with(&self, intents: &Intents) -> bool {
        if self.is_empty() {
            return false;
        }
        if intents.whole {
            return true;
        }
        intents.keys.iter().any(|(k, m)| self.conflicts(k, *m))
    }

    /// Takes `intents`; true if nothing held conflicted (the transaction may
    /// run at once, ahead of its turn).
    pub fn acquire(&mut self, intents: &Intents) -> bool {
        let granted = !self.conflicts_with(intents);
        if intents.whole {
            self.whole += 1;
        }
        for (k, m) in &intents.keys {
            let lock = self.keys.entry(k.clone()).or_default();
            match m {
                Mode::Read => lock.readers += 1,
                Mode::Write => lock.writers += 1,
            }
        }
        granted
    }

    /// Gives back what [`LockTable::acquire`] took for `intents`.
    pub fn release(&mut self, intents: &Intents) {
        if intents.whole {
            self.whole = self.whole.saturating_sub(1);
        }
        for (k, m) in &intents.keys {
            if let Some(lock) = self.keys.get_mut(k) {
                match m {
                    Mode::Read => lock.readers = lock.readers.saturating_sub(1),
                    Mode::Write => lock.writers = lock.writers.saturating_sub(1),
                }
                if lock.readers == 0 && lock.writers == 0 {
                    self.keys.remove(k);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intents(keys: &[(&str, Mode)]) -> Intents {
        Intents::from_keys(keys.iter().map(|(k, m)| (Bytes::copy_from_slice(k.as_bytes()), *m)).collect())
    }

    #[test]
    fn repeated_keys_keep_the_strongest_mode() {
        let i = intents(&[("b", Mode::Read), ("a", Mode::Read), ("b", Mode::Write), ("a", Mode::Read)]);
        assert_eq!(i, intents(&[("a", Mode::Read), ("b", Mode::Write)]));
        assert_eq!(i.written().collect::<Vec<_>>(), vec![&Bytes::from_static(b"b")]);
    }

    #[test]
    fn readers_share_writers_exclude() {
        let mut t = LockTable::default();
        assert!(t.acquire(&intents(&[("a", Mode::Read)])));
        assert!(t.acquire(&intents(&[("a", Mode::Read), ("b", Mode::Write)])));
        assert!(!t.acquire(&intents(&[("a", Mode::Write)])));
        assert!(t.conflicts(b"b", Mode::Read));
        assert!(!t.conflicts(b"c", Mode::Write));
        t.release(&intents(&[("a", Mode::Write)]));
        t.release(&intents(&[("a", Mode::Read), ("b", Mode::Write)]));
        assert!(!t.conflicts(b"b", Mode::Read));
        assert!(t.conflicts(b"a", Mode::Write));
        t.release(&intents(&[("a", Mode::Read)]));
        assert!(t.is_empty());
    }

    #[test]
    fn the_whole_shard_excludes_everything() {
        let mut t = LockTable::default();
        assert!(t.acquire(&Intents::whole()));
        assert!(t.conflicts(b"x", Mode::Read));
        assert!(!t.acquire(&intents(&[("x", Mode::Read)])));
        t.release(&Intents::whole());
        assert!(!t.conflicts(b"y", Mode::Read));
        assert!(!t.acquire(&Intents::whole()));
    }
}
