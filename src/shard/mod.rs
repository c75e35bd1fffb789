//! What one core owns: its slice of every database, its clients and its
//! counters. Command handlers get exclusive access through [`ShardCtx`].

pub mod blocking;
pub mod expiry;
pub mod key;
pub mod keyspace;
pub mod lazyfree;
pub mod stats;
pub mod table;

use std::sync::Arc;

pub use keyspace::{Db, Entry, KeyEvent, Listening, Object, UnixMs};
pub use stats::Stats;

use crate::cmd::err;
use crate::notify::class;
use crate::server::client::Clients;
use crate::server::shared::{LocalConfig, Shared};
use crate::types::{Limits, Typed};

pub struct Shard {
    pub id: usize,
    pub shared: Arc<Shared>,
    pub config: LocalConfig,
    pub dbs: Vec<Db>,
    pub stats: Stats,
    pub clients: Clients,
    /// Clients blocked on this shard's keys.
    pub blocking: blocking::Blocking,
    /// Cross-shard transactions scheduled here and the locks they hold.
    pub sched: crate::tx::sched::Scheduler,
    /// Keys clients WATCH here.
    pub watches: crate::tx::watch::Watches,
    /// The shard's log and snapshot state.
    pub persist: crate::persist::Persist,
    /// The `expired`/`new` keyspace events the dbs gather ([`Shard::listen`]).
    listening: Listening,
}

impl Shard {
    pub fn new(id: usize, shared: Arc<Shared>) -> Shard {
        let config = LocalConfig::new(&shared);
        let databases = config.get().databases;
        let epoch = shared.persist.append_epoch.load(std::sync::atomic::Ordering::Relaxed);
        let persist = crate::persist::Persist::new(config.get(), epoch);
        Shard {
            id,
            shared,
            config,
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: Stats::new(crate::cmd::registry().len()),
            clients: Clients::default(),
            blocking: blocking::Blocking::default(),
            sched: Default::default(),
            watches: Default::default(),
            persist,
            listening: Listening::default(),
        }
    }

    pub fn shards(&self) -> usize {
        self.shared.shards
    }

    /// Publishes keyspace event `event` of `class` on `key` of `db`
    /// (`notify-keyspace-events`); nearly free when off or unheard. The
    /// `expired`/`new` events the db gathered go first: they happened
    /// during the lookups that led to this change.
    pub fn notify(&mut self, db: usize, now: UnixMs, class: u32, event: &str, key: &[u8]) {
        self.flush_events(db, now);
        crate::notify::notify(self.config.get(), &self.shared, now, class, event, key, db)
    }

    /// Whether an event of `class` would reach anyone (see [`crate::notify::wanted`]).
    pub fn wants(&self, class: u32) -> bool {
        crate::notify::wanted(self.config.get(), &self.shared, class)
    }

    /// Has the dbs gather `expired`/`new` events while someone would hear
    /// them, and not otherwise; called before commands and expiry cycles run.
    pub fn listen(&mut self) {
        let config = self.config.refresh(&self.shared);
        let wanted = |class| crate::notify::wanted(config, &self.shared, class);
        let to = Listening { expired: wanted(class::EXPIRED), new: wanted(class::NEW) };
        if to != self.listening {
            self.listening = to;
            self.dbs.iter_mut().for_each(|db| db.listen(to));
        }
    }

    /// Publishes the `expired`/`new` events db `db` has gathered.
    pub fn flush_events(&mut self, db: usize, now: UnixMs) {
        let Some(events) = self.dbs[db].take_events() else { return };
        for (what, key) in &events {
            let (class, name) = match what {
                KeyEvent::Expired => (class::EXPIRED, "expired"),
                KeyEvent::New => (class::NEW, "new"),
            };
            crate::notify::notify(self.config.get(), &self.shared, now, class, name, key, db);
        }
        self.dbs[db].return_events(events);
    }

    /// [`Shard::flush_events`] for every db: what commands left unpublished
    /// (a lookup that expired a key and changed nothing).
    pub fn flush_all_events(&mut self, now: UnixMs) {
        if self.listening.any() {
            (0..self.dbs.len()).for_each(|db| self.flush_events(db, now));
        }
    }

    /// Publishes what the last command left of its keyspace events, then
    /// serves blocked clients whose keys it created; called after every
    /// command and cross-shard step.
    pub fn after_command(&mut self, now: UnixMs) {
        self.flush_all_events(now);
        if blocking::has_ready() {
            blocking::serve_ready(self, now);
            self.flush_all_events(now);
        }
    }
}

/// The context a command handler runs in: the owning shard, the client's
/// selected db, and the command's clock (one reading per batch, like Redis's
/// cached `mstime` per command).
pub struct ShardCtx<'a> {
    pub shard: &'a mut Shard,
    pub db: usize,
    pub now: UnixMs,
    /// The client the command came from (CLIENT KILL SKIPME needs it).
    pub client_id: u64,
}

impl ShardCtx<'_> {
    pub fn db(&mut self) -> &mut Db {
        &mut self.shard.dbs[self.db]
    }

    /// Publishes keyspace event `event` of `class` on `key` of the client's
    /// db, as Redis's `notifyKeyspaceEvent`.
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        self.shard.notify(self.db, self.now, class, event, key)
    }

    /// Publishes `keymiss` on `key`: a reading lookup found nothing
    /// (Redis's `lookupKeyRead`; OBJECT and SCAN's TYPE filter do not count).
    pub fn keymiss(&mut self, key: &[u8]) {
        self.notify(class::KEY_MISS, "keymiss", key)
    }

    /// For a reading lookup that counts in the stats: true if `key` is
    /// absent and `keymiss` has a listener, which heard of it (the miss is
    /// counted). Without a listener it is false at the cost of a flag
    /// test, and the lookup goes on as usual.
    pub fn missed(&mut self, key: &[u8]) -> bool {
        if !self.shard.wants(class::KEY_MISS) || self.contains(key) {
            return false;
        }
        self.shard.stats.count_lookup(false);
        self.keymiss(key);
        true
    }

    /// The live entry under `key` in the client's db, marked accessed.
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Object> {
        let now = self.now;
        self.db().get(key, now)
    }

    /// The live entry under `key`, its access time left alone.
    pub fn peek(&mut self, key: &[u8]) -> Option<&mut Object> {
        let now = self.now;
        self.db().peek(key, now)
    }

    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.peek(key).is_some()
    }

    /// The value of type `T` under `key` for a reading command: `Ok(None)`
    /// if absent, WRONGTYPE if another type. Counted in `keyspace_hits` /
    /// `keyspace_misses` as Redis's `lookupKeyRead` counts them.
    pub fn read<T: Typed>(&mut self, key: &[u8]) -> Result<Option<&mut T>, &'static str> {
        if self.missed(key) {
            return Ok(None);
        }
        let (db, now) = (self.db, self.now);
        let shard = &mut *self.shard;
        let entry = shard.dbs[db].get(key, now);
        shard.stats.count_lookup(entry.is_some());
        typed(entry)
    }

    /// [`ShardCtx::read`] for writing commands (`lookupKeyWrite`: not counted).
    pub fn write<T: Typed>(&mut self, key: &[u8]) -> Result<Option<&mut T>, &'static str> {
        typed(self.get(key))
    }

    /// The value of type `T` under `key`, created empty by `create` if the
    /// key is absent; WRONGTYPE if it holds another type.
    pub fn write_or_create<T: Typed>(
        &mut self,
        key: &[u8],
        create: impl FnOnce() -> T,
    ) -> Result<&mut T, &'static str> {
        let now = self.now;
        let entry = self.db().get_or_insert_with(key, now, || create().into_value());
        T::of(&mut entry.value).ok_or(err::WRONGTYPE)
    }

    /// Deletes `key` if it holds a collection a command has just emptied:
    /// Redis never leaves an empty list, hash, set or sorted set behind.
    /// True if it did.
    pub fn remove_if_empty(&mut self, key: &[u8]) -> bool {
        if self.peek(key).is_some_and(|e| e.value.is_empty_collection()) {
            self.remove(key);
            return true;
        }
        false
    }

    /// [`ShardCtx::remove_if_empty`] with Redis's `del` event when it
    /// deletes: what every command that takes elements out of a key does.
    pub fn del_if_empty(&mut self, key: &[u8]) -> bool {
        let removed = self.remove_if_empty(key);
        if removed {
            self.notify(class::GENERIC, "del", key);
        }
        removed
    }

    /// The collection encoding thresholds currently configured.
    pub fn limits(&mut self) -> Limits {
        let shard = &mut *self.shard;
        Limits::from_config(shard.config.refresh(&shard.shared))
    }

    /// Logs `key` of the client's db as it is now, whole (or its absence):
    /// what a cross-shard step that wrote it leaves for the log. Commands
    /// run in a batch are logged by the batch runner instead.
    pub fn log_key(&mut self, key: &[u8]) {
        self.log_key_in(self.db, key);
    }

    /// [`ShardCtx::log_key`] for a key of another db (COPY … DB).
    pub fn log_key_in(&mut self, db: usize, key: &[u8]) {
        let (now, shard) = (self.now, &mut *self.shard);
        let live = shard.dbs[db].entry(key).filter(|(_, at)| at.is_none_or(|t| t > now));
        shard.persist.log.image(now, db, key, live);
    }

    /// Logs a command that does what a cross-shard step just did here (a
    /// pop, a push): cheaper than the whole key, and replayed the same.
    pub fn log_command(&mut self, args: &[&[u8]]) {
        let (now, db) = (self.now, self.db);
        self.shard.persist.log.command(now, db, &crate::persist::log::argv(args));
    }

    /// Has the batch runner log `args` in place of the running command
    /// (a command whose outcome a replay could not repeat, as SPOP's draw).
    pub fn log_instead(&mut self, args: &[&[u8]]) {
        self.shard.persist.log.rewrite = Some(crate::persist::log::argv(args));
    }

    /// Removes a live key and returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let now = self.now;
        self.db().remove(key, now)
    }
}

fn typed<T: Typed>(entry: Option<&mut Object>) -> Result<Option<&mut T>, &'static str> {
    match entry {
        None => Ok(None),
        Some(e) => T::of(&mut e.value).map(Some).ok_or(err::WRONGTYPE),
    }
}
