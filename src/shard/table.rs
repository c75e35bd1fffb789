//! The keyspace's hash table: entries in one dense vector, and a hash index
//! of 4-byte positions into it.
//!
//! The shape is an insertion-ordered map's (what `indexmap` gives), and so
//! are its guarantees: positions are dense, and removing moves the *last*
//! entry into the hole (the SCAN and snapshot walks rely on that, see
//! `keyspace`). What it leaves out is what a million small keys pay for:
//! - no cached hash per entry (8 bytes): keys are short, so rehashing one
//!   when the index grows or an entry moves costs a few nanoseconds;
//! - positions of 4 bytes, not 8, in an index that has about two buckets
//!   per key.
//!
//! Together about 16 bytes per key. A table holds at most `u32::MAX`
//! entries; at 72 bytes a slot that is 288 GiB in one shard's db.

use hashbrown::HashTable;

use super::key::Key;
use crate::types::dict::prefetch;

/// Most keys one [`Table::warm`] takes.
pub const WARM_KEYS: usize = 32;

pub struct Table<V> {
    slots: Vec<(Key, V)>,
    /// Positions in `slots`, hashed by their key's bytes.
    index: HashTable<u32>,
    hasher: ahash::RandomState,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table { slots: Vec::new(), index: HashTable::new(), hasher: ahash::RandomState::new() }
    }
}

/// The position a new entry takes, checked against the 4-byte index.
fn position(len: usize) -> u32 {
    u32::try_from(len).expect("a table holds at most u32::MAX entries")
}

impl<V> Table<V> {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Entries the dense vector has room for.
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Where `key` is, if present.
    pub fn position_of(&self, key: &[u8]) -> Option<usize> {
        let slots = &self.slots;
        self.index.find(self.hash(key), |&i| slots[i as usize].0.as_bytes() == key).map(|&i| i as usize)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.position_of(key).map(|i| &self.slots[i].1)
    }

    /// Starts bringing the slots of `keys` into the cache, without waiting
    /// for them. A lookup is three dependent cache misses (control bytes,
    /// index, slot): running the commands of a batch one by one waits for
    /// every one of them. Here each step goes over all the keys before the
    /// next starts, so the keys' misses overlap: first the index buckets
    /// (the control bytes are read, the positions only prefetched), then
    /// the slots those positions name, prefetched, not compared. A hint that
    /// changes nothing; keys past the first [`WARM_KEYS`] are left alone.
    pub fn warm<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        let mut hashes = [0u64; WARM_KEYS];
        let mut n = 0;
        for (hash, key) in hashes.iter_mut().zip(keys) {
            *hash = self.hash(key);
            self.index.find(*hash, |position| {
                prefetch(position);
                false
            });
            n += 1;
        }
        let slots = &self.slots;
        for &hash in &hashes[..n] {
            self.index.find(hash, |&i| {
                if let Some(slot) = slots.get(i as usize) {
                    prefetch(slot);
                }
                false
            });
        }
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.position_of(key).is_some()
    }

    /// The entry at `pos` (below `len`) with its key.
    pub fn at(&self, pos: usize) -> Option<(&Key, &V)> {
        self.slots.get(pos).map(|(k, v)| (k, v))
    }

    pub fn at_mut(&mut self, pos: usize) -> Option<(&Key, &mut V)> {
        self.slots.get_mut(pos).map(|(k, v)| (&*k, v))
    }

    /// Adds `key` → `value` at the end, unless `key` is present: then
    /// gives `value` back with the key's position. One hash and one probe
    /// either way (this is every write's path).
    pub fn try_insert<K: AsRef<[u8]> + Into<Key>>(&mut self, key: K, value: V) -> Result<usize, (usize, V)> {
        let hash = self.hash(key.as_ref());
        if self.index.len() == self.index.capacity() {
            self.grow_index();
        }
        let (slots, hasher) = (&self.slots, &self.hasher);
        let entry = self.index.entry(
            hash,
            |&i| slots[i as usize].0.as_bytes() == key.as_ref(),
            |&i| hasher.hash_one(slots[i as usize].0.as_bytes()),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(o) => Err((*o.get() as usize, value)),
            hashbrown::hash_table::Entry::Vacant(v) => {
                let pos = self.slots.len();
                v.insert(position(pos));
                self.slots.push((key.into(), value));
                Ok(pos)
            }
        }
    }

    /// Replaces a full index with one twice the size, built by walking the
    /// slots in order. hashbrown's own growth walks its buckets, which
    /// name the slots in random order: a cache miss per key to rehash it,
    /// 7% of a keyspace-filling benchmark's time. In slot order the reads
    /// stream and only the writes into the new index (a few bytes per
    /// key, mostly in cache) land at random.
    #[cold]
    fn grow_index(&mut self) {
        let (slots, hasher) = (&self.slots, &self.hasher);
        let rehash = |&i: &u32| hasher.hash_one(slots[i as usize].0.as_bytes());
        let mut index = HashTable::with_capacity((slots.len() * 2).max(16));
        for (i, (key, _)) in slots.iter().enumerate() {
            index.insert_unique(hasher.hash_one(key.as_bytes()), position(i), rehash);
        }
        self.index = index;
    }

    /// Removes the entry at `pos`, moving the last entry into its place.
    pub fn swap_remove_at(&mut self, pos: usize) -> Option<(Key, V)> {
        let last = self.slots.len().checked_sub(1)?;
        if pos > last {
            return None;
        }
        let hash = self.hash(self.slots[pos].0.as_bytes());
        if let Ok(found) = self.index.find_entry(hash, |&i| i as usize == pos) {
            found.remove();
        }
        if pos != last {
            let hash = self.hash(self.slots[last].0.as_bytes());
            if let Some(moved) = self.index.find_mut(hash, |&i| i as usize == last) {
                *moved = position(pos);
            }
        }
        Some(self.slots.swap_remove(pos))
    }

    /// Gives memory back down to room for `min` entries (or `len`).
    pub fn shrink_to(&mut self, min: usize) {
        self.slots.shrink_to(min);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.shrink_to(min, |&i| hasher.hash_one(slots[i as usize].0.as_bytes()));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        self.slots.iter().map(|(k, v)| (k, v))
    }
}

impl<V> std::ops::Index<usize> for Table<V> {
    type Output = V;

    fn index(&self, pos: usize) -> &V {
        &self.slots[pos].1
    }
}

impl<V> std::ops::IndexMut<usize> for Table<V> {
    fn index_mut(&mut self, pos: usize) -> &mut V {
        &mut self.slots[pos].1
    }
}

impl<V> IntoIterator for Table<V> {
    type Item = (Key, V);
    type IntoIter = std::vec::IntoIter<(Key, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.slots.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn warm_is_only_a_hint() {
        let mut t: Table<u32> = Table::default();
        t.warm([&b"absent"[..]].into_iter());
        for i in 0..1000u32 {
            t.try_insert(i.to_string().as_bytes(), i).unwrap();
        }
        let keys: Vec<String> = (0..100).map(|i| (i * 13).to_string()).chain(["absent".into()]).collect();
        t.warm(keys.iter().map(|k| k.as_bytes()));
        assert_eq!(t.len(), 1000);
        assert_eq!((t.get(b"500"), t.get(b"absent")), (Some(&500), None));
    }

    #[test]
    fn insert_find_and_give_back_on_a_duplicate() {
        let mut t = Table::default();
        assert_eq!(t.try_insert(&b"a"[..], 1), Ok(0));
        assert_eq!(t.try_insert(&b"b"[..], 2), Ok(1));
        assert_eq!(t.try_insert(Key::from(&b"a"[..]), 3), Err((0, 3)));
        assert_eq!((t.get(b"a"), t.get(b"b"), t.get(b"c")), (Some(&1), Some(&2), None));
        assert_eq!(t.position_of(b"b"), Some(1));
        assert_eq!(t.at(1).map(|(k, v)| (k.as_bytes(), *v)), Some((&b"b"[..], 2)));
    }

    #[test]
    fn removal_moves_the_last_entry_into_the_hole() {
        let mut t = Table::default();
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            t.try_insert(k.as_bytes(), i).unwrap();
        }
        let (k, v) = t.swap_remove_at(1).unwrap();
        assert_eq!((k.as_bytes(), v), (&b"b"[..], 1));
        assert_eq!(t.position_of(b"d"), Some(1));
        assert_eq!(t.position_of(b"b"), None);
        assert_eq!(t.swap_remove_at(2).map(|(k, _)| k), Some(Key::from(&b"c"[..])));
        assert_eq!(t.swap_remove_at(2), None);
        let keys: Vec<&[u8]> = t.iter().map(|(k, _)| k.as_bytes()).collect();
        assert_eq!(keys, [&b"a"[..], &b"d"[..]]);
    }

    proptest! {
        /// Any sequence of inserts, removals and shrinks leaves the table
        /// agreeing with a plain map, every key at the position it reports.
        #[test]
        fn agrees_with_a_map(ops in proptest::collection::vec((0u8..3, 0u16..300), 1..2000)) {
            let mut t = Table::default();
            let mut model = std::collections::HashMap::new();
            for (op, k) in ops {
                let key = format!("key:{k}").into_bytes();
                match op {
                    0 => {
                        let fresh = !model.contains_key(&key);
                        prop_assert_eq!(t.try_insert(key.as_slice(), k).is_ok(), fresh);
                        model.entry(key).or_insert(k);
                    }
                    1 => {
                        let removed = t.position_of(&key).and_then(|p| t.swap_remove_at(p)).map(|(_, v)| v);
                        prop_assert_eq!(removed, model.remove(&key));
                    }
                    _ => t.shrink_to(0),
                }
            }
            prop_assert_eq!(t.len(), model.len());
            for (key, v) in &model {
                let pos = t.position_of(key).unwrap();
                prop_assert_eq!(t.at(pos).map(|(k, v)| (k.as_bytes(), *v)), Some((key.as_slice(), *v)));
            }
        }
    }
}
