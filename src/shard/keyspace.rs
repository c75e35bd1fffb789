//! One logical database on one shard: the key → entry table with lazy expiry.

use std::collections::HashMap;

use crate::types::Value;

/// Milliseconds since the Unix epoch: the unit of every stored expiry, so a
/// TTL survives a restart as an absolute time.
pub type UnixMs = u64;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub expire_at: Option<UnixMs>,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry { value, expire_at: None }
    }

    fn is_expired(&self, now: UnixMs) -> bool {
        matches!(self.expire_at, Some(t) if t <= now)
    }
}

#[derive(Default)]
pub struct Db {
    entries: HashMap<Box<[u8]>, Entry, ahash::RandomState>,
    /// Keys with an expiry set, for `INFO keyspace`.
    expires: usize,
    /// Keys removed because their time had come (lazily, so far).
    pub expired: u64,
}

impl Db {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn expires(&self) -> usize {
        self.expires
    }

    /// The live entry under `key`; an expired one is deleted on the way, so
    /// no command ever sees a key past its time.
    pub fn get(&mut self, key: &[u8], now: UnixMs) -> Option<&mut Entry> {
        if self.entries.get(key)?.is_expired(now) {
            self.expire(key);
            return None;
        }
        self.entries.get_mut(key)
    }

    pub fn contains(&mut self, key: &[u8], now: UnixMs) -> bool {
        self.get(key, now).is_some()
    }

    /// Stores `entry` under `key`, replacing any previous value and expiry.
    pub fn insert(&mut self, key: &[u8], entry: Entry) {
        let has_ttl = entry.expire_at.is_some();
        match self.entries.get_mut(key) {
            Some(old) => {
                self.expires -= old.expire_at.is_some() as usize;
                *old = entry;
            }
            None => {
                self.entries.insert(key.into(), entry);
            }
        }
        self.expires += has_ttl as usize;
    }

    /// Removes a live key; false if it was absent (or had already expired).
    pub fn remove(&mut self, key: &[u8], now: UnixMs) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.expires -= entry.expire_at.is_some() as usize;
        if entry.is_expired(now) {
            self.expired += 1;
            return None;
        }
        Some(entry)
    }

    pub fn clear(&mut self) {
        self.entries = HashMap::default();
        self.expires = 0;
    }

    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.entries.keys().map(|k| &k[..])
    }

    fn expire(&mut self, key: &[u8]) {
        if let Some(e) = self.entries.remove(key) {
            self.expires -= e.expire_at.is_some() as usize;
            self.expired += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::RString;

    fn val(s: &str) -> Value {
        Value::Str(RString::from_bytes(s.as_bytes()))
    }

    #[test]
    fn expired_keys_are_invisible_and_counted() {
        let mut db = Db::default();
        db.insert(b"a", Entry { value: val("1"), expire_at: Some(100) });
        db.insert(b"b", Entry::new(val("2")));
        assert_eq!(db.expires(), 1);
        assert!(db.get(b"a", 99).is_some());
        assert!(db.get(b"a", 100).is_none());
        assert_eq!((db.len(), db.expires(), db.expired), (1, 0, 1));
    }

    #[test]
    fn insert_replaces_ttl() {
        let mut db = Db::default();
        db.insert(b"a", Entry { value: val("1"), expire_at: Some(100) });
        db.insert(b"a", Entry::new(val("2")));
        assert_eq!(db.expires(), 0);
        assert_eq!(db.remove(b"a", 0).unwrap().value, val("2"));
        assert!(db.remove(b"a", 0).is_none());
    }
}
