//! shardis: a Redis-compatible, thread-per-core in-memory data store.
//!
//! See `DESIGN.md` (shared) for the shape of the system: every core runs one
//! glommio executor that owns one shard of the keyspace; connections route
//! each command to the shard that owns its key.

pub mod alloc;
pub mod cmd;
pub mod config;
pub mod glob;
pub mod notify;
pub mod num;
pub mod persist;
pub mod pubsub;
pub mod rand;
pub mod resp;
pub mod server;
pub mod shard;
pub mod slot;
pub mod splitargs;
pub mod tx;
pub mod types;
