//! WATCH, the shard's side: which clients watch which of its keys, and
//! which of them had a watched key touched since (Redis's CLIENT_DIRTY_CAS).
//!
//! A key is *touched* when a write changes it — Redis's handlers call
//! `signalModifiedKey` when they change something, so a write that changes
//! nothing (DEL of a missing key, SADD of a member already there, SET … NX
//! on an existing key) leaves watchers alone. shardis finds out without a
//! call in every handler: a write naming a watched key has that key's
//! entry copied first and compared after ([`Snapshot`]); the commands Redis
//! signals on even when the value stays the same (SET, INCRBY 0, HSET,
//! LSET… see [`signals_always`]) touch whenever they succeed. Transactions
//! compare the watched keys they write from scheduling to release.
//! FLUSHDB/FLUSHALL/SWAPDB touch as Redis's `touchAllWatchedKeysInDb` does.
//!
//! A key that was live when watched and has since expired also makes EXEC
//! fail (Redis's `isWatchedKeyExpired`), checked when EXEC runs. Redis's
//! rules for keys already expired (but not yet deleted) when watched are
//! kept: deleting such a key is no change.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use crate::shard::{Db, Entry, Shard, UnixMs};

struct Watcher {
    client: u64,
    /// Live when watched: its expiry since then fails EXEC.
    existed: bool,
    /// Present but already expired when watched (Redis's `wk->expired`).
    stale: bool,
}

/// The shard's watched keys.
#[derive(Default)]
pub struct Watches {
    keys: HashMap<(usize, Bytes), Vec<Watcher>, ahash::RandomState>,
    by_client: HashMap<u64, Vec<(usize, Bytes)>, ahash::RandomState>,
    dirty: HashSet<u64, ahash::RandomState>,
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys watched here (INFO's `watching_clients`-like counts).
    pub fn keys(&self) -> usize {
        self.keys.len()
    }

    /// Clients watching keys here.
    pub fn clients(&self) -> usize {
        self.by_client.len()
    }

    pub fn watching(&self, client: u64) -> usize {
        self.by_client.get(&client).map_or(0, Vec::len)
    }

    fn watch(&mut self, client: u64, db: usize, key: &Bytes, existed: bool, stale: bool) {
        let watchers = self.keys.entry((db, key.clone())).or_default();
        if watchers.iter().any(|w| w.client == client) {
            return;
        }
        watchers.push(Watcher { client, existed, stale });
        self.by_client.entry(client).or_default().push((db, key.clone()));
    }

    /// Forgets everything `client` watches here, and its dirty mark.
    pub fn unwatch(&mut self, client: u64) {
        self.dirty.remove(&client);
        let Some(keys) = self.by_client.remove(&client) else { return };
        for k in keys {
            if let Some(watchers) = self.keys.get_mut(&k) {
                watchers.retain(|w| w.client != client);
                if watchers.is_empty() {
                    self.keys.remove(&k);
                }
            }
        }
    }

    /// Redis's `touchWatchedKey`: every client watching `key` is dirty,
    /// except one that watched it already expired and finds it now gone.
    fn touch(&mut self, db: usize, key: &[u8], present: bool) {
        let Some(watchers) = self.keys.get_mut(&(db, Bytes::copy_from_slice(key))) else { return };
        for w in watchers {
            if w.stale && !present {
                w.stale = false;
                continue;
            }
            self.dirty.insert(w.client);
        }
    }

    /// Redis's `touchAllWatchedKeysInDb`: `emptied` loses its keys (FLUSHDB)
    /// or gets those of `replaced_with` (SWAPDB).
    fn touch_db(&mut self, db: usize, emptied: &Db, replaced_with: Option<&Db>, now: UnixMs) {
        for ((d, key), watchers) in self.keys.iter_mut() {
            if *d != db {
                continue;
            }
            let in_emptied = emptied.has_entry(key);
            let in_replacement = replaced_with.is_some_and(|r| r.has_entry(key));
            if !in_emptied && !in_replacement {
                continue;
            }
            let replacement_expired = in_replacement && replaced_with.is_some_and(|r| r.lookup(key, now).is_none());
            for w in watchers.iter_mut() {
                if w.stale {
                    if !in_replacement {
                        w.stale = false;
                        continue;
                    } else if replacement_expired {
                        continue;
                    }
                } else if !in_emptied && replacement_expired {
                    w.stale = true;
                    continue;
                }
                self.dirty.insert(w.client);
            }
        }
    }

    /// Whether `client`'s EXEC must fail on this shard.
    pub fn is_dirty(&self, client: u64, dbs: &[Db], now: UnixMs) -> bool {
        if self.dirty.contains(&client) {
            return true;
        }
        let Some(keys) = self.by_client.get(&client) else { return false };
        keys.iter().any(|(db, key)| {
            let existed = self.keys.get(&(*db, key.clone())).and_then(|ws| ws.iter().find(|w| w.client == client));
            existed.is_some_and(|w| w.existed) && dbs.get(*db).is_some_and(|d| d.lookup(key, now).is_none())
        })
    }
}

/// Watched keys as they were before a write: (db, key, entry).
pub type Snapshot = Vec<(usize, Bytes, Option<Entry>)>;

/// Copies the watched ones of `keys` (in `db`, or in any db) before a write.
pub fn snapshot<'a>(shard: &Shard, db: Option<usize>, keys: impl Iterator<Item = &'a Bytes>) -> Snapshot {
    let mut out = Vec::new();
    if shard.watches.is_empty() {
        return out;
    }
    for key in keys {
        let dbs = match db {
            Some(d) => d..d + 1,
            None => 0..shard.dbs.len(),
        };
        for d in dbs {
            if shard.watches.keys.contains_key(&(d, key.clone())) {
                let entry = shard.dbs.get(d).and_then(|t| t.entry(key));
                out.push((d, key.clone(), entry.map(|(value, at)| Entry::with_expiry(value.clone(), at))));
            }
        }
    }
    out
}

/// The watched ones of the keys `cmd` names in `args` (of `db`), copied
/// before it writes them.
pub fn snapshot_command(shard: &Shard, db: usize, cmd: &crate::cmd::Command, args: &[Bytes]) -> Snapshot {
    if shard.watches.is_empty() {
        return Vec::new();
    }
    snapshot(shard, Some(db), cmd.key_positions(args).filter_map(|p| args.get(p)))
}

/// After the write: touches each key of `before` that changed, or every
/// one if `always`.
pub fn touch_changed(shard: &mut Shard, before: Snapshot, always: bool) {
    for (db, key, entry) in before {
        let after = shard.dbs.get(db).and_then(|t| t.entry(&key));
        if always || after != entry.as_ref().map(|e| (&e.value, e.expire_at())) {
            touch(shard, db, &key);
        }
    }
}

/// Commands Redis counts as a change of their key whenever they succeed,
/// even if the value stays the same.
pub fn signals_always(name: &str) -> bool {
    matches!(
        name,
        "set"
            | "setex"
            | "psetex"
            | "getset"
            | "setrange"
            | "append"
            | "incr"
            | "decr"
            | "incrby"
            | "decrby"
            | "incrbyfloat"
            | "mset"
            | "hset"
            | "hmset"
            | "hincrby"
            | "hincrbyfloat"
            | "lset"
            | "ltrim"
            | "bitop"
            | "bitfield"
    )
}

/// WATCH on this shard: `client` watches `keys` of `db`.
pub fn watch(shard: &mut Shard, client: u64, db: usize, keys: &[Bytes], now: UnixMs) {
    for key in keys {
        let Some(table) = shard.dbs.get(db) else { return };
        let present = table.has_entry(key);
        let live = table.lookup(key, now).is_some();
        shard.watches.watch(client, db, key, live, present && !live);
    }
}

/// A write to `key` of `db` on this shard.
pub fn touch(shard: &mut Shard, db: usize, key: &[u8]) {
    if shard.watches.is_empty() {
        return;
    }
    let present = shard.dbs.get(db).is_some_and(|d| d.has_entry(key));
    shard.watches.touch(db, key, present);
}

/// FLUSHDB of `db` (before it is emptied).
pub fn touch_flushed(shard: &mut Shard, db: usize, now: UnixMs) {
    if shard.watches.is_empty() {
        return;
    }
    shard.watches.touch_db(db, &shard.dbs[db], None, now);
}

/// SWAPDB of `a` and `b` (before they swap).
pub fn touch_swapped(shard: &mut Shard, a: usize, b: usize, now: UnixMs) {
    if shard.watches.is_empty() {
        return;
    }
    shard.watches.touch_db(a, &shard.dbs[a], Some(&shard.dbs[b]), now);
    shard.watches.touch_db(b, &shard.dbs[b], Some(&shard.dbs[a]), now);
}
