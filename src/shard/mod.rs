//! What one core owns: its slice of every database, its clients and its
//! counters. Command handlers get exclusive access through [`ShardCtx`].

pub mod expiry;
pub mod keyspace;
pub mod stats;

use std::sync::Arc;

pub use keyspace::{Db, Entry, UnixMs};
pub use stats::Stats;

use crate::server::client::Clients;
use crate::server::shared::{LocalConfig, Shared};

pub struct Shard {
    pub id: usize,
    pub shared: Arc<Shared>,
    pub config: LocalConfig,
    pub dbs: Vec<Db>,
    pub stats: Stats,
    pub clients: Clients,
}

impl Shard {
    pub fn new(id: usize, shared: Arc<Shared>) -> Shard {
        let config = LocalConfig::new(&shared);
        let databases = config.get().databases;
        Shard {
            id,
            shared,
            config,
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: Stats::new(crate::cmd::registry().len()),
            clients: Clients::default(),
        }
    }

    pub fn shards(&self) -> usize {
        self.shared.shards
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

    /// The live entry under `key` in the client's db, marked accessed.
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let now = self.now;
        self.db().get(key, now)
    }

    /// The live entry under `key`, its access time left alone.
    pub fn peek(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let now = self.now;
        self.db().peek(key, now)
    }

    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.peek(key).is_some()
    }

    /// Removes a live key and returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let now = self.now;
        self.db().remove(key, now)
    }
}
