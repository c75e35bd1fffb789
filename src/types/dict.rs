//! The chained hash table behind the big forms of hashes, sets and sorted
//! sets, with Redis's reverse-binary scan cursor and O(1) uniform random
//! picks (the reasons it is not a `HashMap`).

use std::sync::OnceLock;

/// "No entry" in bucket heads and chains.
pub const NIL: u32 = u32::MAX;

/// The smallest table, as Redis's `DICT_HT_INITIAL_SIZE`.
const MIN_BUCKETS: usize = 4;

/// Process-wide random hash keys (as Redis's siphash seed), so stored
/// hashes stay valid if a value moves between threads.
fn state() -> &'static ahash::RandomState {
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new)
}

pub fn hash_bytes(key: &[u8]) -> u32 {
    state().hash_one(key) as u32
}

/// Asks the CPU to start loading `*t` into the cache: a hint that never
/// faults and changes nothing (see `shard::table::Table::prefetch`).
#[inline(always)]
pub fn prefetch<T>(t: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, and the pointer is a live reference.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((t as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = t;
}

/// A uniform integer in `0..n` (`n > 0`) from a 64-bit random source.
pub fn rand_below<R: FnMut() -> u64>(rng: &mut R, n: usize) -> usize {
    ((rng() as u128 * n as u128) >> 64) as usize
}

/// Indices of `count` picks out of `0..n`: independent uniform picks when
/// `repeats`, else `min(count, n)` distinct ones (all of `0..n` in order
/// when `count >= n`, in random order otherwise).
pub fn sample<R: FnMut() -> u64>(n: usize, count: usize, repeats: bool, rng: &mut R) -> Sample<'_, R> {
    if n == 0 || count == 0 {
        return Sample::All(0..0);
    }
    if repeats {
        return Sample::Repeat { n, left: count, rng };
    }
    if count >= n {
        return Sample::All(0..n);
    }
    let picks = if count * 3 > n {
        // Partial Fisher-Yates over all indices.
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..count {
            let j = i + rand_below(rng, n - i);
            idx.swap(i, j);
        }
        idx.truncate(count);
        idx
    } else {
        // Few picks out of many: rejection sampling.
        let mut seen = std::collections::HashSet::with_capacity_and_hasher(count, ahash::RandomState::new());
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let i = rand_below(rng, n);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    };
    Sample::Distinct(picks.into_iter())
}

/// Iterator of sampled indices; see [`sample`].
pub enum Sample<'r, R> {
    All(std::ops::Range<usize>),
    Distinct(std::vec::IntoIter<usize>),
    Repeat { n: usize, left: usize, rng: &'r mut R },
}

impl<R: FnMut() -> u64> Iterator for Sample<'_, R> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Sample::All(r) => r.next(),
            Sample::Distinct(it) => it.next(),
            Sample::Repeat { n, left, rng } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                Some(rand_below(*rng, *n))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Sample::All(r) => r.len(),
            Sample::Distinct(it) => it.len(),
            Sample::Repeat { left, .. } => *left,
        };
        (n, Some(n))
    }
}

impl<R: FnMut() -> u64> ExactSizeIterator for Sample<'_, R> {}

/// Storage whose slots `0..` can be chained into buckets: each slot has
/// a key, its hash, and the next slot of its bucket.
pub trait Chain {
    fn key(&self, i: u32) -> &[u8];
    fn hash(&self, i: u32) -> u32;
    fn next(&self, i: u32) -> u32;
    fn set_next(&mut self, i: u32, n: u32);
    /// Starts loading slot `i` into the cache (see [`prefetch`]).
    fn prefetch_slot(&self, i: u32);
}

/// Most keys one [`Buckets::warm`] takes.
pub const WARM_KEYS: usize = 32;

/// Most slots of one chain [`Buckets::warm`] visits: at Redis's load
/// factor of at most 1, chains are short.
const WARM_CHAIN: usize = 4;

/// Bucket heads; a bucket holds the slots whose `hash & mask` is its index.
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    heads: Box<[u32]>,
}

fn reverse_increment(v: u64, mask: u64) -> u64 {
    // Redis's dictScan cursor step: set the unmasked bits, then add one
    // to the bit-reversed value, so the masked bits count from the top.
    (((v | !mask).reverse_bits()).wrapping_add(1)).reverse_bits()
}

impl Buckets {
    /// Enough buckets for `n` entries (a power of two, at least 4).
    pub fn for_len(n: usize) -> Buckets {
        let size = n.max(MIN_BUCKETS).next_power_of_two();
        Buckets { heads: vec![NIL; size].into_boxed_slice() }
    }

    pub fn size(&self) -> usize {
        self.heads.len()
    }

    fn slot(&self, hash: u32) -> usize {
        hash as usize & (self.heads.len() - 1)
    }

    /// The first slot of `hash`'s bucket, if any.
    pub fn head(&self, hash: u32) -> Option<u32> {
        match self.heads.is_empty() {
            true => None,
            false => Some(self.heads[self.slot(hash)]).filter(|&i| i != NIL),
        }
    }

    /// Starts loading what finding each of `keys` will read: its bucket's
    /// head, the slots of its chain up to the one whose hash matches, and
    /// that slot's key bytes. Each is a cache miss that depends on the one
    /// before, so each step goes over all the keys before the next starts
    /// (the chains walked in lockstep), and the keys' misses overlap. A hint
    /// that changes nothing; keys past the first [`WARM_KEYS`] are left
    /// alone, and so are chains longer than [`WARM_CHAIN`].
    pub fn warm<'k, C: Chain + ?Sized>(&self, c: &C, keys: impl Iterator<Item = &'k [u8]>) {
        if self.heads.is_empty() {
            return;
        }
        let mut hashes = [0u32; WARM_KEYS];
        let mut n = 0;
        for (h, key) in hashes.iter_mut().zip(keys) {
            *h = hash_bytes(key);
            prefetch(&self.heads[self.slot(*h)]);
            n += 1;
        }
        let hashes = &hashes[..n];
        let mut at = [NIL; WARM_KEYS];
        for (i, &h) in at.iter_mut().zip(hashes) {
            *i = self.head(h).unwrap_or(NIL);
            if *i != NIL {
                c.prefetch_slot(*i);
            }
        }
        for _ in 0..WARM_CHAIN {
            let mut walking = false;
            for (i, &h) in at.iter_mut().zip(hashes).filter(|(i, _)| **i != NIL) {
                if c.hash(*i) == h {
                    if let Some(first) = c.key(*i).first() {
                        prefetch(first);
                    }
                    *i = NIL;
                } else {
                    *i = c.next(*i);
                    if *i != NIL {
                        c.prefetch_slot(*i);
                        walking = true;
                    }
                }
            }
            if !walking {
                return;
            }
        }
    }

    /// The slot holding `key`, or `NIL`.
    pub fn find<C: Chain + ?Sized>(&self, c: &C, hash: u32, key: &[u8]) -> u32 {
        let mut i = self.head(hash).unwrap_or(NIL);
        while i != NIL {
            if c.hash(i) == hash && c.key(i) == key {
                return i;
            }
            i = c.next(i);
        }
        NIL
    }

    /// Links slot `i` (its hash already stored) at the head of its bucket.
    pub fn link<C: Chain + ?Sized>(&mut self, c: &mut C, i: u32) {
        let b = self.slot(c.hash(i));
        c.set_next(i, self.heads[b]);
        self.heads[b] = i;
    }

    /// Unlinks slot `i` from its bucket.
    pub fn unlink<C: Chain + ?Sized>(&mut self, c: &mut C, i: u32) {
        let b = self.slot(c.hash(i));
        let next = c.next(i);
        if self.heads[b] == i {
            self.heads[b] = next;
            return;
        }
        let mut p = self.heads[b];
        while p != NIL {
            let n = c.next(p);
            if n == i {
                c.set_next(p, next);
                return;
            }
            p = n;
        }
        unreachable!("slot not in its bucket");
    }

    /// The entry of slot `from` now lives in slot `to` (with its chain
    /// link): repoint whatever pointed at `from`.
    pub fn relocate<C: Chain + ?Sized>(&mut self, c: &mut C, from: u32, to: u32) {
        let b = self.slot(c.hash(to));
        if self.heads[b] == from {
            self.heads[b] = to;
            return;
        }
        let mut p = self.heads[b];
        while p != NIL {
            let n = c.next(p);
            if n == from {
                c.set_next(p, to);
                return;
            }
            p = n;
        }
        unreachable!("moved slot not in its bucket");
    }

    /// Rehashes the live slots `ids` into `size` buckets.
    pub fn rebuild<C: Chain + ?Sized>(&mut self, c: &mut C, size: usize, ids: impl Iterator<Item = u32>) {
        *self = Buckets::for_len(size);
        for i in ids {
            self.link(c, i);
        }
    }

    /// The bucket count to move to after the table reached `len`
    /// entries, if any: double when full (load factor 1, as Redis),
    /// shrink to fit when under 1/10 full (`HASHTABLE_MIN_FILL`).
    pub fn resize_for(&self, len: usize) -> Option<usize> {
        let size = self.heads.len();
        if len > size {
            Some(size * 2)
        } else if size > MIN_BUCKETS && len * 10 < size {
            Some(len.max(MIN_BUCKETS).next_power_of_two())
        } else {
            None
        }
    }

    /// One `SCAN`-style call: visits buckets from `cursor` with Redis's
    /// reverse-binary cursor until `count` slots were reported, `10 *
    /// count` buckets were visited, or the cursor wrapped to 0.
    pub fn scan<C: Chain + ?Sized>(&self, c: &C, mut cursor: u64, count: usize, mut f: impl FnMut(u32)) -> u64 {
        if self.heads.is_empty() {
            return 0;
        }
        let mask = (self.heads.len() - 1) as u64;
        let count = count.max(1);
        let mut budget = count * 10;
        let mut seen = 0;
        loop {
            let mut i = self.heads[(cursor & mask) as usize];
            while i != NIL {
                f(i);
                seen += 1;
                i = c.next(i);
            }
            cursor = reverse_increment(cursor, mask);
            if cursor == 0 || budget == 0 || seen >= count {
                return cursor;
            }
            budget -= 1;
        }
    }
}

/// An element of a [`Table`].
pub trait Entry {
    fn key(&self) -> &[u8];
    fn hash(&self) -> u32;
    fn next(&self) -> u32;
    fn set_next(&mut self, n: u32);
}

impl<E: Entry> Chain for [E] {
    fn key(&self, i: u32) -> &[u8] {
        self[i as usize].key()
    }
    fn hash(&self, i: u32) -> u32 {
        self[i as usize].hash()
    }
    fn next(&self, i: u32) -> u32 {
        self[i as usize].next()
    }
    fn set_next(&mut self, i: u32, n: u32) {
        self[i as usize].set_next(n)
    }
    fn prefetch_slot(&self, i: u32) {
        if let Some(e) = self.get(i as usize) {
            prefetch(e);
        }
    }
}

/// A hash table of entries stored densely in a `Vec` (removal swaps the
/// last entry in), chained through buckets.
#[derive(Debug, Clone)]
pub struct Table<E> {
    entries: Vec<E>,
    buckets: Buckets,
}

impl<E: Entry> Table<E> {
    pub fn with_capacity(n: usize) -> Table<E> {
        Table { entries: Vec::with_capacity(n), buckets: Buckets::for_len(n) }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, key: &[u8]) -> u32 {
        self.buckets.find(&self.entries[..], hash_bytes(key), key)
    }

    /// Starts loading what looking up `keys` will read ([`Buckets::warm`]).
    pub fn warm<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        self.buckets.warm(&self.entries[..], keys);
    }

    pub fn get(&self, key: &[u8]) -> Option<&E> {
        match self.find(key) {
            NIL => None,
            i => Some(&self.entries[i as usize]),
        }
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut E> {
        match self.find(key) {
            NIL => None,
            i => Some(&mut self.entries[i as usize]),
        }
    }

    /// Adds `e`, whose key must not be present.
    pub fn insert_new(&mut self, e: E) {
        debug_assert!(self.get(e.key()).is_none());
        assert!(self.entries.len() < NIL as usize, "table full");
        self.entries.push(e);
        let i = (self.entries.len() - 1) as u32;
        if let Some(size) = self.buckets.resize_for(self.entries.len()) {
            let n = self.entries.len() as u32;
            self.buckets.rebuild(&mut self.entries[..], size, 0..n);
        } else {
            self.buckets.link(&mut self.entries[..], i);
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<E> {
        match self.find(key) {
            NIL => None,
            i => Some(self.remove_at(i as usize)),
        }
    }

    /// Removes the entry at index `i`; the last entry takes its index.
    pub fn remove_at(&mut self, i: usize) -> E {
        self.buckets.unlink(&mut self.entries[..], i as u32);
        let last = self.entries.len() - 1;
        let e = self.entries.swap_remove(i);
        if i != last {
            self.buckets.relocate(&mut self.entries[..], last as u32, i as u32);
        }
        if let Some(size) = self.buckets.resize_for(self.entries.len()) {
            let n = self.entries.len() as u32;
            self.buckets.rebuild(&mut self.entries[..], size, 0..n);
            if self.entries.capacity() > 2 * self.entries.len() + 8 {
                self.entries.shrink_to(self.entries.len() * 3 / 2);
            }
        }
        e
    }

    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    pub fn entry(&self, i: usize) -> &E {
        &self.entries[i]
    }

    /// See [`Buckets::scan`].
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&E)) -> u64 {
        self.buckets.scan(&self.entries[..], cursor, count, |i| f(&self.entries[i as usize]))
    }

    #[cfg(test)]
    pub fn bucket_count(&self) -> usize {
        self.buckets.size()
    }
}
