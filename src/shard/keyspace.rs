//! One logical database on one shard: the key → entry table, expiry, and
//! the walks over it (SCAN, RANDOMKEY, active expiry sampling).
//!
//! The table is an insertion-ordered hash map (`table::Table`): entries live
//! in one dense vector, the hash index points into it, and a removal moves
//! the last entry into the hole. That density gives, in O(1), what Redis gets
//! from its dict's bucket array:
//! - a uniformly random key (RANDOMKEY, eviction and expiry sampling);
//! - a SCAN cursor with Redis's guarantee. The walk goes from the last
//!   position down to 0. A new key is appended above every position the
//!   walk still has to visit (it need not be returned); a removal moves the
//!   *last* entry down into the hole, so an entry only ever moves from an
//!   already visited position (or one not yet reached, to a lower one also not
//!   yet reached) — never from below the cursor to above it. Every key present
//!   for the whole walk is therefore returned at least once.
//!
//! Expiry times are kept in `volatile`, a dense map of the keys that have
//! one, sampled by the active expiry cycle (Redis's `expires` dict, sampled
//! the same way).

use indexmap::IndexMap;

use super::table::Table;

use crate::types::Value;

/// Milliseconds since the Unix epoch: the unit of every stored expiry, so a
/// TTL survives a restart as an absolute time.
pub type UnixMs = u64;

pub use super::key::Key;

type Hasher = ahash::RandomState;

/// A key's value as the table holds it: Redis's `robj`, with its access
/// clock. Its expiry, if it has one, is in the db's `volatile` map (Redis's
/// `expires` dict), so the many keys without one do not carry 8 bytes for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub value: Value,
    /// Last access in seconds (Redis's LRU clock), for OBJECT IDLETIME.
    access: u32,
    /// Saved by the snapshot in progress when equal to the table's parity
    /// (see [`Db::start_snapshot`]).
    mark: bool,
    /// Whether `volatile` has an expiry for this key: keys without one
    /// never look there.
    volatile: bool,
}

// With the key, a table slot is 72 bytes.
const _: () = assert!(std::mem::size_of::<Object>() == 48);

impl Object {
    /// Seconds since the last access, as OBJECT IDLETIME reports it.
    pub fn idle_secs(&self, now: UnixMs) -> u64 {
        clock(now).saturating_sub(self.access) as u64
    }
}

/// A value with its expiry, out of the table: what is stored, removed,
/// copied, saved and loaded, and what WATCH compares before and after a
/// write (so a lookup that only moved the access clock changes nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    expire_at: Option<UnixMs>,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry { value, expire_at: None }
    }

    pub fn with_expiry(value: Value, expire_at: Option<UnixMs>) -> Entry {
        Entry { value, expire_at }
    }

    pub fn expire_at(&self) -> Option<UnixMs> {
        self.expire_at
    }

    /// Into the table: the object, accessed now (a stored or copied value
    /// is a new object to Redis's LRU too) and with the table's parity, and
    /// the expiry for `volatile`.
    fn into_object(self, parity: bool) -> (Object, Option<UnixMs>) {
        let access = CLOCK.with(|c| c.get());
        let object = Object { value: self.value, access, mark: parity, volatile: self.expire_at.is_some() };
        (object, self.expire_at)
    }

    fn of(object: Object, expire_at: Option<UnixMs>) -> Entry {
        Entry { value: object.value, expire_at }
    }
}

/// The access clock: seconds, wrapping in 136 years.
fn clock(now: UnixMs) -> u32 {
    (now / 1000) as u32
}

thread_local! {
    /// The shard's cached clock (Redis's `lruclock`), set once per batch, so
    /// a store needs no clock argument.
    static CLOCK: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// The same reading in ms: a store over a key whose time has come is
    /// that key's expiry (Redis's write lookup would have expired it first).
    static NOW: std::cell::Cell<UnixMs> = const { std::cell::Cell::new(0) };
}

/// Sets the shard thread's access clock; the batch and job runners call it.
pub fn set_clock(now: UnixMs) {
    CLOCK.with(|c| c.set(clock(now)));
    NOW.with(|c| c.set(now));
}

/// What happened to a key, reported by its db as a keyspace event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEvent {
    /// Deleted because its time had come (`expired`).
    Expired,
    /// Created (`new`: Redis's `dbAdd`), not overwritten.
    New,
}

/// Which [`KeyEvent`]s a db reports: those someone listens for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listening {
    pub expired: bool,
    pub new: bool,
}

impl Listening {
    pub fn any(self) -> bool {
        self.expired || self.new
    }

    fn wants(self, what: KeyEvent) -> bool {
        match what {
            KeyEvent::Expired => self.expired,
            KeyEvent::New => self.new,
        }
    }
}

/// Expiry times of the keys that have one, by key; dense, for sampling.
type Volatile = IndexMap<Key, UnixMs, Hasher>;

#[derive(Default)]
pub struct Db {
    entries: Table<Object>,
    /// The keys that have a TTL, with it.
    volatile: Volatile,
    /// Keys removed because their time had come (lazily or actively).
    pub expired: u64,
    /// The most entries the table has held: slots above it were never
    /// written, so the kernel has not backed them with memory.
    high_water: usize,
    /// Flipped at each snapshot's cut: an entry whose mark differs is not
    /// saved yet.
    parity: bool,
    /// The snapshot being taken of this table, if any.
    snap: Option<Box<DbSnap>>,
    /// The events the db reports ([`Db::listen`]): by default none, and
    /// then the paths that expire or create keys pay one test.
    listening: Listening,
    /// Keys expired or created since the shard last published them.
    events: Vec<(KeyEvent, Key)>,
}

/// A snapshot of one table in progress: copy-on-write without copying.
///
/// At the cut every entry is unsaved (the parity flips). The snapshot
/// writer walks the table from the top position down, saving unsaved
/// entries; any access that could change an unsaved entry — a lookup for a
/// command, an insert over it, a removal, an expiry — saves it first, as it
/// was at the cut. New entries are born saved. Walking downwards misses
/// nothing: a removal moves the *last* entry into the hole, so an entry
/// only moves from a visited position, or from one not yet reached to a
/// lower one also not yet reached (the SCAN argument in the module docs).
/// A table emptied meanwhile (FLUSHDB) is kept in `retired` until saved.
pub struct DbSnap {
    /// The table's db number at the cut (SWAPDB may move it since).
    pub db: u32,
    /// Positions at and above it have been visited.
    cursor: usize,
    /// Saved entries not yet taken by the writer, and how many.
    pub buf: Vec<u8>,
    pub count: u32,
    pub retired: Vec<Db>,
    /// The snapshot's clock: entries expired by then are left out.
    now: UnixMs,
}

impl DbSnap {
    fn save(&mut self, key: &[u8], object: &Object, expire_at: Option<UnixMs>) {
        if expire_at.is_none_or(|t| t > self.now) {
            crate::persist::codec::put_entry(&mut self.buf, key, &object.value, expire_at);
            self.count += 1;
        }
    }
}

/// The expiry of `object`, stored under `key`.
fn expiry_of(volatile: &Volatile, key: &[u8], object: &Object) -> Option<UnixMs> {
    if object.volatile {
        volatile.get(key).copied()
    } else {
        None
    }
}

impl Db {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets which [`KeyEvent`]s to gather: the shard asks for those that
    /// have a listener.
    pub fn listen(&mut self, to: Listening) {
        self.listening = to;
        if !to.any() {
            self.events = Vec::new();
        }
    }

    /// The events gathered since the last call, oldest first, if any.
    pub fn take_events(&mut self) -> Option<Vec<(KeyEvent, Key)>> {
        (!self.events.is_empty()).then(|| std::mem::take(&mut self.events))
    }

    /// Gives back the buffer [`Db::take_events`] returned, emptied, so its
    /// capacity serves again.
    pub fn return_events(&mut self, mut spent: Vec<(KeyEvent, Key)>) {
        if self.events.is_empty() {
            spent.clear();
            self.events = spent;
        }
    }

    fn event(&mut self, what: KeyEvent, key: &[u8]) {
        if self.listening.wants(what) {
            self.events.push((what, key.into()));
        }
    }

    /// Counts a key deleted because its time had come.
    fn expired_key(&mut self, key: &[u8]) {
        self.expired += 1;
        self.event(KeyEvent::Expired, key);
    }

    /// Keys with a TTL.
    pub fn expires(&self) -> usize {
        self.volatile.len()
    }

    /// Whether the entry at `idx` is past its time.
    fn expired_at(&self, idx: usize, now: UnixMs) -> bool {
        self.entries.at(idx).is_some_and(|(k, o)| expiry_of(&self.volatile, k, o).is_some_and(|t| t <= now))
    }

    /// Starts loading the slots of `keys` into the cache (see [`Table::warm`]).
    pub fn warm<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        self.entries.warm(keys)
    }

    /// The value under `key`, for a cache hint (the collections' `warm`):
    /// no expiry check and no access-time update, so it may be one past
    /// its time, which a hint does not mind.
    pub fn value_hint(&self, key: &[u8]) -> Option<&Value> {
        self.entries.get(key).map(|o| &o.value)
    }

    /// The live object under `key`, its access time updated; an expired
    /// one is deleted on the way, so no command ever sees a key past its time.
    pub fn get(&mut self, key: &[u8], now: UnixMs) -> Option<&mut Object> {
        self.get_with_expiry(key, now).map(|(object, _)| object)
    }

    /// Like [`Db::get`] without touching the access time (OBJECT, TYPE…).
    pub fn peek(&mut self, key: &[u8], now: UnixMs) -> Option<&mut Object> {
        self.peek_with_expiry(key, now).map(|(object, _)| object)
    }

    /// [`Db::get`] with the key's expiry, for the commands that read or
    /// set TTLs.
    pub fn get_with_expiry(&mut self, key: &[u8], now: UnixMs) -> Option<(&mut Object, Option<UnixMs>)> {
        let (object, expire_at) = self.peek_with_expiry(key, now)?;
        object.access = clock(now);
        Some((object, expire_at))
    }

    /// [`Db::peek`] with the key's expiry.
    pub fn peek_with_expiry(&mut self, key: &[u8], now: UnixMs) -> Option<(&mut Object, Option<UnixMs>)> {
        let idx = self.entries.position_of(key)?;
        self.keep(idx);
        let expire_at = expiry_of(&self.volatile, key, &self.entries[idx]);
        if expire_at.is_some_and(|t| t <= now) {
            self.expire_index(idx);
            return None;
        }
        Some((&mut self.entries[idx], expire_at))
    }

    /// The live object under `key`, read-only and untouched (no access
    /// time, no lazy deletion), so several keys can be borrowed at once:
    /// commands that combine keys (ZUNIONSTORE…) look each one up with
    /// [`Db::get`] first, then read them all together through this.
    pub fn lookup(&self, key: &[u8], now: UnixMs) -> Option<&Object> {
        let idx = self.entries.position_of(key)?;
        (!self.expired_at(idx, now)).then(|| &self.entries[idx])
    }

    /// The value and expiry under `key` as stored, expired or not (WATCH
    /// compares a watched key before and after a write; the log saves a
    /// key a cross-shard step wrote).
    pub fn entry(&self, key: &[u8]) -> Option<(&Value, Option<UnixMs>)> {
        let object = self.entries.get(key)?;
        Some((&object.value, expiry_of(&self.volatile, key, object)))
    }

    /// The live entry under `key` duplicated, TTL and all, as COPY makes
    /// it (a reading lookup: the access time is updated).
    pub fn duplicate(&mut self, key: &[u8], now: UnixMs) -> Option<Entry> {
        let (object, expire_at) = self.get_with_expiry(key, now)?;
        Some(Entry { value: object.value.duplicate(), expire_at })
    }

    /// Whether the table holds `key` at all, live or expired but not yet
    /// deleted (Redis's `dictFind` on the main dict).
    pub fn has_entry(&self, key: &[u8]) -> bool {
        self.entries.contains_key(key)
    }

    pub fn contains(&mut self, key: &[u8], now: UnixMs) -> bool {
        self.peek(key, now).is_some()
    }

    /// The live object under `key` (access time updated), or a new one made
    /// by `create` when the key is absent or had expired.
    pub fn get_or_insert_with(&mut self, key: &[u8], now: UnixMs, create: impl FnOnce() -> Value) -> &mut Object {
        let found = self.entries.position_of(key);
        if let Some(idx) = found {
            self.keep(idx);
        }
        let idx = match found {
            Some(idx) if !self.expired_at(idx, now) => idx,
            found => {
                if let Some(idx) = found {
                    self.expire_index(idx);
                }
                self.insert(key, Entry::new(create()));
                self.entries.len() - 1
            }
        };
        let object = &mut self.entries[idx];
        object.access = clock(now);
        object
    }

    /// Stores `entry` under `key`, replacing any previous value and expiry.
    pub fn insert(&mut self, key: &[u8], entry: Entry) {
        let (object, ttl) = entry.into_object(self.parity);
        // One hash and one probe, hit or miss: this is every write's path.
        let (idx, object) = match self.entries.try_insert(key, object) {
            Ok(_) => {
                super::blocking::key_created(key);
                self.event(KeyEvent::New, key);
                self.high_water = self.high_water.max(self.entries.len());
                if let Some(t) = ttl {
                    self.volatile.insert(key.into(), t);
                }
                return;
            }
            Err(occupied) => occupied,
        };
        self.keep(idx);
        let old = std::mem::replace(&mut self.entries[idx], object);
        let old_ttl = if old.volatile { self.volatile.get(key).copied() } else { None };
        super::lazyfree::free_value(old.value);
        if old_ttl.is_some_and(|t| t <= NOW.with(|c| c.get())) {
            // Past its time: expired, and the store creates the key anew.
            super::blocking::key_created(key);
            self.expired_key(key);
            self.event(KeyEvent::New, key);
        }
        self.set_volatile(key, old_ttl.is_some(), ttl);
    }

    /// Brings `volatile` in step with a key's new expiry; `had` says
    /// whether it holds one for the key now.
    fn set_volatile(&mut self, key: &[u8], had: bool, ttl: Option<UnixMs>) {
        match (had, ttl) {
            (true, None) => drop(self.volatile.swap_remove(key)),
            (true, Some(t)) => {
                if let Some(at) = self.volatile.get_mut(key) {
                    *at = t;
                }
            }
            (false, Some(t)) => drop(self.volatile.insert(key.into(), t)),
            (false, None) => {}
        }
    }

    /// Stores a loaded key (snapshot load, keys moved between shards): one
    /// hash and no copy of the key, where [`Db::insert`] serves commands.
    pub fn load(&mut self, key: Key, entry: Entry) {
        let (object, ttl) = entry.into_object(self.parity);
        let volatile = ttl.map(|t| (key.clone(), t));
        match self.entries.try_insert(key, object) {
            Ok(_) => self.high_water = self.high_water.max(self.entries.len()),
            Err((idx, object)) => {
                // A key twice in one load: the later copy wins, as replay would.
                let old = std::mem::replace(&mut self.entries[idx], object);
                if old.volatile {
                    if let Some((key, _)) = self.entries.at(idx) {
                        self.volatile.swap_remove(&key[..]);
                    }
                }
            }
        }
        if let Some((key, t)) = volatile {
            self.volatile.insert(key, t);
        }
    }

    /// Bytes of table capacity never written (see `high_water`): allocated,
    /// but not memory the process uses, so `INFO memory` leaves them out.
    pub fn untouched_bytes(&self) -> usize {
        const SLOT: usize = std::mem::size_of::<(Key, Object)>();
        self.entries.capacity().saturating_sub(self.high_water) * SLOT
    }

    /// Sets or clears the TTL of a live key; false if there is no such key.
    pub fn set_expiry(&mut self, key: &[u8], expire_at: Option<UnixMs>, now: UnixMs) -> bool {
        let Some(object) = self.peek(key, now) else {
            return false;
        };
        let had = std::mem::replace(&mut object.volatile, expire_at.is_some());
        self.set_volatile(key, had, expire_at);
        true
    }

    /// Takes the entry at `idx` out of the table, and its expiry out of
    /// `volatile`.
    fn take_index(&mut self, idx: usize) -> Option<(Key, Entry)> {
        self.keep(idx);
        let (key, object) = self.entries.swap_remove_at(idx)?;
        let ttl = if object.volatile { self.volatile.swap_remove(&key[..]) } else { None };
        Some((key, Entry::of(object, ttl)))
    }

    /// Removes a live key and returns its entry; None if it was absent (or
    /// had already expired, which counts as an expiry).
    pub fn remove(&mut self, key: &[u8], now: UnixMs) -> Option<Entry> {
        let idx = self.entries.position_of(key)?;
        let (_, entry) = self.take_index(idx)?;
        if entry.expire_at.is_some_and(|t| t <= now) {
            self.expired_key(key);
            return None;
        }
        Some(entry)
    }

    /// Redis's `dbDelete`: removes whatever entry `key` has, even one past
    /// its time (which is then no expiry); true if there was one. The STORE
    /// commands delete their destination so when their result is empty,
    /// without looking it up first.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        let Some(idx) = self.entries.position_of(key) else { return false };
        if let Some((_, entry)) = self.take_index(idx) {
            super::lazyfree::free_value(entry.value);
        }
        true
    }

    /// Empties the db, returning the old table so a caller can free a big
    /// one off the request path.
    pub fn clear(&mut self) -> Db {
        let mut old = std::mem::take(self);
        self.expired = old.expired;
        self.parity = old.parity;
        self.listening = old.listening;
        self.events = std::mem::take(&mut old.events);
        let Some(mut snap) = old.snap.take() else { return old };
        // A snapshot still needs the old table: it keeps it until saved.
        let mut retired = std::mem::take(&mut snap.retired);
        let now = snap.now;
        let db = snap.db;
        old.snap = Some(snap);
        retired.push(old);
        self.snap = Some(Box::new(DbSnap { db, cursor: 0, buf: Vec::new(), count: 0, retired, now }));
        Db::default()
    }

    /// Every entry, the table consumed (moving keys between shards).
    pub fn into_entries(self) -> impl Iterator<Item = (Key, Entry)> {
        let volatile = self.volatile;
        self.entries.into_iter().map(move |(key, object)| {
            let ttl = expiry_of(&volatile, &key, &object);
            (key, Entry::of(object, ttl))
        })
    }

    /// Live keys with their objects, for whole-table walks (KEYS).
    pub fn live(&self, now: UnixMs) -> impl Iterator<Item = (&[u8], &Object)> {
        self.entries
            .iter()
            .filter(move |(k, o)| expiry_of(&self.volatile, k, o).is_none_or(|t| t > now))
            .map(|(k, o)| (&k[..], o))
    }

    /// One step of a SCAN walk (see the module docs). `cursor` is 0 to start,
    /// else what the previous step returned; returns where the next step
    /// continues, 0 when the walk is done. Visits up to `count` positions
    /// downwards, calling `f` for each live entry, and deletes expired ones
    /// it meets (as Redis's scan callback does).
    pub fn scan(&mut self, cursor: u64, count: usize, now: UnixMs, mut f: impl FnMut(&[u8], &Object)) -> u64 {
        let len = self.entries.len() as u64;
        let mut pos = if cursor == 0 { len } else { cursor.min(len) };
        let mut expired = Vec::new();
        let mut visited = 0;
        while pos > 0 && visited < count {
            pos -= 1;
            visited += 1;
            let (k, o) = self.entries.at(pos as usize).expect("pos < len");
            if expiry_of(&self.volatile, k, o).is_some_and(|t| t <= now) {
                expired.push(k.clone());
            } else {
                f(k, o);
            }
        }
        // Removing moves entries from above `pos` into holes at or above it:
        // all already visited, so the walk below `pos` is unaffected.
        for k in expired {
            self.remove(&k, now);
        }
        pos
    }

    /// A uniformly random live key; expired keys met on the way are deleted.
    /// `rand` gives random u64s.
    pub fn random_key(&mut self, now: UnixMs, mut rand: impl FnMut() -> u64) -> Option<Key> {
        // Like Redis's dbRandomKey: give up on the expiry check after enough
        // tries when every key is volatile, rather than loop for long.
        for _ in 0..100 {
            if self.entries.is_empty() {
                return None;
            }
            let idx = (rand() % self.entries.len() as u64) as usize;
            if self.expired_at(idx, now) {
                self.expire_index(idx);
                continue;
            }
            return self.entries.at(idx).map(|(k, _)| k.clone());
        }
        None
    }

    /// One active-expiry sample: looks at up to `samples` random keys with a
    /// TTL and deletes the expired ones. Returns (sampled, expired).
    /// Keys `locked` says a transaction holds are left for later: a
    /// transaction sees its keys as they were when it was scheduled.
    pub fn expire_sample(
        &mut self,
        samples: usize,
        now: UnixMs,
        mut rand: impl FnMut() -> u64,
        locked: impl Fn(&[u8]) -> bool,
    ) -> (usize, usize) {
        let mut sampled = 0;
        let mut expired = 0;
        while sampled < samples && !self.volatile.is_empty() {
            sampled += 1;
            let idx = (rand() % self.volatile.len() as u64) as usize;
            let Some((key, &at)) = self.volatile.get_index(idx) else { break };
            if at > now || locked(key) {
                continue;
            }
            match self.entries.position_of(key) {
                Some(i) => {
                    if let Some((key, entry)) = self.take_index(i) {
                        super::lazyfree::free_value(entry.value);
                        self.expired_key(&key);
                    }
                    expired += 1;
                }
                // Never happens; heal rather than sample a ghost forever.
                None => drop(self.volatile.swap_remove_index(idx)),
            }
        }
        (sampled, expired)
    }

    /// Gives back table memory once the table is mostly empty (Redis
    /// resizes a dict below 10% fill): keeps room for twice the entries.
    /// Costs O(len), which is small exactly when this runs.
    pub fn shrink_if_sparse(&mut self) {
        const MIN: usize = 64;
        if self.entries.capacity() > MIN && self.entries.len() * 8 < self.entries.capacity() {
            self.entries.shrink_to((self.entries.len() * 2).max(MIN));
            self.high_water = self.entries.len();
        }
        if self.volatile.capacity() > MIN && self.volatile.len() * 8 < self.volatile.capacity() {
            self.volatile.shrink_to((self.volatile.len() * 2).max(MIN));
        }
    }

    /// Sum of the remaining TTLs of a sample, for INFO's avg_ttl: (sum, n).
    pub fn ttl_sample(&self, now: UnixMs, max: usize) -> (u64, u64) {
        let sample = self.volatile.values().take(max);
        sample.fold((0, 0), |(sum, n), &t| (sum + t.saturating_sub(now), n + 1))
    }

    /// Saves the entry at `idx` into the snapshot in progress if it is not
    /// saved yet: called before anything may change or remove it.
    #[inline]
    fn keep(&mut self, idx: usize) {
        if let (Some(snap), Some((k, o))) = (self.snap.as_deref_mut(), self.entries.at_mut(idx)) {
            if o.mark != self.parity {
                o.mark = self.parity;
                snap.save(k, o, expiry_of(&self.volatile, k, o));
            }
        }
    }

    /// The cut of a snapshot: every entry becomes unsaved. `db` is the
    /// table's number, `now` the snapshot's clock.
    pub fn start_snapshot(&mut self, db: usize, now: UnixMs) {
        self.parity = !self.parity;
        let cursor = self.entries.len();
        self.snap =
            Some(Box::new(DbSnap { db: db as u32, cursor, buf: Vec::new(), count: 0, retired: Vec::new(), now }));
    }

    /// Saves up to `budget` unsaved entries, retired tables first; true
    /// once everything of the cut is saved.
    pub fn snapshot_step(&mut self, mut budget: usize) -> bool {
        let Some(snap) = self.snap.as_deref_mut() else { return true };
        for old in &mut snap.retired {
            if !old.snapshot_step(budget) {
                return false;
            }
        }
        snap.cursor = snap.cursor.min(self.entries.len());
        while snap.cursor > 0 && budget > 0 {
            snap.cursor -= 1;
            let (k, o) = self.entries.at_mut(snap.cursor).expect("cursor < len");
            if o.mark != self.parity {
                o.mark = self.parity;
                snap.save(k, o, expiry_of(&self.volatile, k, o));
                budget -= 1;
            }
        }
        snap.cursor == 0
    }

    /// Takes the entries saved so far, with their db number and count, from
    /// this table and its retired ones.
    pub fn take_saved(&mut self, mut take: impl FnMut(u32, u32, &[u8])) {
        fn walk(db: &mut Db, take: &mut dyn FnMut(u32, u32, &[u8])) {
            if let Some(snap) = db.snap.as_deref_mut() {
                for old in &mut snap.retired {
                    walk(old, take);
                }
                if snap.count > 0 {
                    take(snap.db, snap.count, &snap.buf);
                    snap.buf.clear();
                    snap.count = 0;
                }
            }
        }
        walk(self, &mut take);
    }

    /// Ends the snapshot: retired tables are freed.
    pub fn end_snapshot(&mut self) {
        if let Some(snap) = self.snap.take() {
            for old in snap.retired {
                super::lazyfree::free_db(old);
            }
        }
    }

    fn expire_index(&mut self, idx: usize) {
        if let Some((k, entry)) = self.take_index(idx) {
            super::lazyfree::free_value(entry.value);
            self.expired_key(&k);
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

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn expired_keys_are_invisible_and_counted() {
        let mut db = Db::default();
        db.insert(b"a", Entry::with_expiry(val("1"), Some(100)));
        db.insert(b"b", Entry::new(val("2")));
        assert_eq!(db.expires(), 1);
        assert!(db.get(b"a", 99).is_some());
        assert!(db.get(b"a", 100).is_none());
        assert_eq!((db.len(), db.expires(), db.expired), (1, 0, 1));
    }

    #[test]
    fn the_db_reports_expired_and_new_keys_only_while_listened_to() {
        let mut db = Db::default();
        let events = |db: &mut Db| -> Vec<(KeyEvent, String)> {
            let taken = db.take_events().unwrap_or_default();
            taken.into_iter().map(|(e, k)| (e, String::from_utf8_lossy(&k).into_owned())).collect()
        };
        db.insert(b"quiet", Entry::new(val("v")));
        db.listen(Listening { expired: true, new: true });
        assert_eq!(events(&mut db), []);
        db.insert(b"a", Entry::new(val("1")));
        db.insert(b"a", Entry::new(val("2")));
        db.insert(b"b", Entry::with_expiry(val("1"), Some(100)));
        assert!(db.get(b"b", 100).is_none());
        db.insert(b"c", Entry::with_expiry(val("1"), Some(100)));
        assert!(db.remove(b"c", 100).is_none());
        db.insert(b"d", Entry::with_expiry(val("1"), Some(100)));
        db.get_or_insert_with(b"d", 100, || val("2"));
        use KeyEvent::{Expired, New};
        let want = [
            (New, "a"),
            (New, "b"),
            (Expired, "b"),
            (New, "c"),
            (Expired, "c"),
            (New, "d"),
            (Expired, "d"),
            (New, "d"),
        ];
        assert_eq!(events(&mut db), want.map(|(e, k)| (e, k.to_string())));
        // A store over a key past its time (the shard's clock says so).
        db.insert(b"e", Entry::with_expiry(val("1"), Some(100)));
        set_clock(100);
        db.insert(b"e", Entry::new(val("2")));
        set_clock(0);
        db.insert(b"f", Entry::with_expiry(val("1"), Some(100)));
        assert_eq!(db.expire_sample(20, 100, rng(5), |_| false).1, 1);
        let want = [(New, "e"), (Expired, "e"), (New, "e"), (New, "f"), (Expired, "f")];
        assert_eq!(events(&mut db), want.map(|(e, k)| (e, k.to_string())));
        assert_eq!(db.expired, 5);
        db.listen(Listening { expired: true, new: false });
        db.insert(b"g", Entry::with_expiry(val("1"), Some(100)));
        assert!(db.get(b"g", 100).is_none());
        assert_eq!(events(&mut db), [(Expired, "g".to_string())]);
        db.listen(Listening::default());
        db.insert(b"g", Entry::new(val("1")));
        assert_eq!(events(&mut db), []);
    }

    #[test]
    fn insert_and_set_expiry_keep_the_volatile_set() {
        let mut db = Db::default();
        db.insert(b"a", Entry::with_expiry(val("1"), Some(100)));
        db.insert(b"a", Entry::new(val("2")));
        assert_eq!(db.expires(), 0);
        assert!(db.set_expiry(b"a", Some(50), 0));
        assert_eq!(db.expires(), 1);
        assert!(db.set_expiry(b"a", Some(60), 0));
        assert_eq!(db.expires(), 1);
        assert!(db.set_expiry(b"a", None, 0));
        assert_eq!(db.expires(), 0);
        assert!(!db.set_expiry(b"zz", Some(1), 0));
        assert_eq!(db.remove(b"a", 0).unwrap().value, val("2"));
        assert!(db.remove(b"a", 0).is_none());
    }

    #[test]
    fn expiry_times_follow_their_keys_through_every_path() {
        let mut db = Db::default();
        let expiry = |db: &Db, key: &[u8]| db.entry(key).and_then(|(_, at)| at);
        db.load(Key::from(&b"a"[..]), Entry::with_expiry(val("1"), Some(100)));
        db.load(Key::from(&b"a"[..]), Entry::new(val("2")));
        db.load(Key::from(&b"b"[..]), Entry::new(val("1")));
        db.load(Key::from(&b"b"[..]), Entry::with_expiry(val("2"), Some(200)));
        assert_eq!((expiry(&db, b"a"), expiry(&db, b"b"), db.expires()), (None, Some(200), 1));
        assert_eq!(db.entry(b"b"), Some((&val("2"), Some(200))));
        let copy = db.duplicate(b"b", 0).unwrap();
        assert_eq!((&copy.value, copy.expire_at()), (&val("2"), Some(200)));
        db.insert(b"b", Entry::with_expiry(val("3"), Some(300)));
        assert_eq!((expiry(&db, b"b"), db.expires()), (Some(300), 1));
        // Moving `a` into `b`'s place on removal keeps each key's own time.
        db.insert(b"c", Entry::with_expiry(val("4"), Some(400)));
        assert_eq!(db.remove(b"a", 0).map(|e| e.expire_at()), Some(None));
        assert_eq!((expiry(&db, b"b"), expiry(&db, b"c")), (Some(300), Some(400)));
        let mut all: Vec<_> = db.into_entries().map(|(k, e)| (k.to_vec(), e.expire_at())).collect();
        all.sort();
        assert_eq!(all, [(b"b".to_vec(), Some(300)), (b"c".to_vec(), Some(400))]);
    }

    #[test]
    fn active_expiry_sampling_deletes_only_expired_keys() {
        let mut db = Db::default();
        for i in 0..1000 {
            let t = if i % 2 == 0 { 10 } else { 1_000 };
            db.insert(format!("k{i}").as_bytes(), Entry::with_expiry(val("v"), Some(t)));
        }
        let mut r = rng(7);
        let mut total = 0;
        for _ in 0..1000 {
            total += db.expire_sample(20, 500, &mut r, |_| false).1;
        }
        assert_eq!(total, 500);
        assert_eq!((db.len(), db.expires(), db.expired), (500, 500, 500));
    }

    #[test]
    fn scan_returns_every_key_present_throughout_despite_changes() {
        let mut db = Db::default();
        for i in 0..500 {
            db.insert(format!("s{i}").as_bytes(), Entry::new(val("v")));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let step = db.scan(cursor, 7, 0, |k, _| {
                seen.insert(k.to_vec());
            });
            // Churn between steps: add keys, delete others (never s0..s249).
            for j in 0..5 {
                db.insert(format!("new{round}-{j}").as_bytes(), Entry::new(val("v")));
            }
            db.remove(format!("s{}", 250 + round % 250).as_bytes(), 0);
            round += 1;
            cursor = step;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..250 {
            assert!(seen.contains(format!("s{i}").as_bytes()), "s{i} missed");
        }
    }

    /// The saved entries of a snapshot, decoded: key → (db, value, expiry).
    fn collect(db: &mut Db, saved: &mut std::collections::BTreeMap<Vec<u8>, (u32, Entry)>) {
        let limits = crate::types::Limits::from_config(&crate::config::Config::default());
        db.take_saved(|n, count, bytes| {
            let mut r = crate::persist::codec::Reader::new(bytes);
            for _ in 0..count {
                let (k, e) = crate::persist::codec::read_entry(&mut r, limits).unwrap();
                assert!(saved.insert(k.to_vec(), (n, e)).is_none(), "{:?} saved twice", String::from_utf8_lossy(&k));
            }
            assert!(r.is_empty());
        });
    }

    #[test]
    fn a_snapshot_holds_the_table_as_it_was_at_the_cut_whatever_changes_meanwhile() {
        let mut db = Db::default();
        let mut expected = std::collections::BTreeMap::new();
        for i in 0..3000 {
            let key = format!("k{i}");
            let ttl = (i % 7 == 0).then_some(1_000_000);
            db.insert(key.as_bytes(), Entry::with_expiry(val(&format!("v{i}")), ttl));
            expected.insert(key.into_bytes(), (4u32, Entry::with_expiry(val(&format!("v{i}")), ttl)));
        }
        // Keys already expired at the cut are not part of it.
        db.insert(b"gone", Entry::with_expiry(val("x"), Some(50)));
        db.start_snapshot(4, 100);
        let mut saved = std::collections::BTreeMap::new();
        let mut r = rng(11);
        let mut round = 0;
        loop {
            let done = db.snapshot_step(13);
            for _ in 0..6 {
                let key = format!("k{}", r() % 3000);
                match r() % 5 {
                    0 => db.insert(key.as_bytes(), Entry::new(val("overwritten"))),
                    1 => drop(db.remove(key.as_bytes(), 100)),
                    2 => db.insert(format!("new{}", r()).as_bytes(), Entry::new(val("new"))),
                    3 => {
                        if let Some(e) = db.get(key.as_bytes(), 100) {
                            e.value = val("changed in place");
                        }
                    }
                    _ => drop(db.set_expiry(key.as_bytes(), Some(5), 100)),
                }
            }
            // A FLUSHDB in the middle of the walk, then new keys.
            round += 1;
            if round == 40 {
                crate::shard::lazyfree::free_db(db.clear());
                db.insert(b"after-flush", Entry::new(val("new")));
            }
            collect(&mut db, &mut saved);
            if done {
                break;
            }
        }
        db.end_snapshot();
        assert_eq!(saved.len(), expected.len());
        for (k, (n, e)) in &expected {
            let (sn, se) = &saved[k];
            assert_eq!((sn, &se.value, se.expire_at()), (n, &e.value, e.expire_at()), "{}", String::from_utf8_lossy(k));
        }
        // The next snapshot sees the table as it is now, every entry once.
        let now_keys = db.live(100).count();
        db.start_snapshot(0, 100);
        let mut again = std::collections::BTreeMap::new();
        while !db.snapshot_step(100) {}
        collect(&mut db, &mut again);
        db.end_snapshot();
        assert_eq!(again.len(), now_keys);
    }

    #[test]
    fn random_key_skips_and_deletes_expired() {
        let mut db = Db::default();
        db.insert(b"old", Entry::with_expiry(val("v"), Some(5)));
        db.insert(b"live", Entry::new(val("v")));
        let mut r = rng(3);
        for _ in 0..10 {
            assert_eq!(db.random_key(10, &mut r).as_deref(), Some(&b"live"[..]));
        }
        assert_eq!(db.len(), 1);
        assert_eq!(Db::default().random_key(0, &mut r), None);
    }
}
