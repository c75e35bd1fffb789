//! Persistence: snapshots, log segments, recovery.

pub mod codec;
