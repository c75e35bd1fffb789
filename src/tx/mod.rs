//! Cross-shard atomicity: transactions over keys of several shards, without
//! a global lock (the VLL scheme of Ren, Thomson and Abadi, VLDB 2012, as
//! DESIGN.md draws it), and MULTI/EXEC/WATCH on top of it.
//!
//! # What is a transaction
//! Anything that must look atomic and isolated but touches more than one
//! shard: a cross-shard command (RENAME, SMOVE, SUNIONSTORE… — a
//! coordinator in `server::cross`), a pipeline round holding a multi-key
//! command split over shards (MSET, DEL, MGET, EXISTS…) or a keyspace-wide
//! one (FLUSHALL, DBSIZE, KEYS…), and an EXEC. Work on one shard alone is
//! atomic already: a shard runs one thing at a time.
//!
//! # The protocol
//! Parties: the *coordinator* (an async task on the client's home core) and
//! the *shards* the transaction touches. Messages are mesh messages, one
//! per shard per phase; the home shard's are direct calls.
//!
//! 1. **Intents.** The coordinator works out, per shard, the keys the
//!    transaction may read or write ([`locks::Intents`]), or the whole shard
//!    when they cannot be known in advance.
//! 2. **Schedule** (one hop to every shard involved, in parallel). The
//!    coordinator takes a global id from one atomic counter
//!    ([`sched::next_id`]). Each shard takes the intent locks — counters,
//!    granted or not — and queues the transaction by id. A shard answers
//!    *refused* when the transaction conflicts with a held lock and a later
//!    id is already queued there; the coordinator then releases the shards
//!    that accepted and starts again with a fresh id. So on every shard,
//!    conflicting transactions are queued in id order.
//! 3. **Run.** Each step of the transaction is sent to its shard, which runs
//!    it when the transaction's turn has come: at once if its locks were
//!    granted at scheduling (nothing conflicting was held), else when every
//!    earlier transaction on that shard has ended (it heads the queue). A
//!    step that arrives early is parked with its transaction. EXEC and split
//!    commands need one step per shard; a coordinator like SUNIONSTORE takes
//!    several, reading on some shards and writing on others, and its locks
//!    hold between them.
//! 4. **Release** (with the last step, or alone): the shard drops the locks,
//!    marks written keys touched for WATCH, and runs the parked steps of the
//!    new head of its queue.
//!
//! Who waits for whom: a transaction waits on a shard only for transactions
//! with smaller ids queued there, so waits never form a cycle — no
//! deadlock, and the smallest id in the system always runs.
//!
//! Plain commands (the single-shard path) take no id and no lock. A shard
//! runs a batch at once when no transaction is queued there (one check),
//! and otherwise too unless one of the batch's keys is locked against it.
//! A batch that conflicts becomes a local transaction: a fresh id, its
//! locks, its place at the tail of the queue, run when its turn comes. The
//! same goes for an EXEC whose keys are all on one shard: uncontended it
//! runs in one hop with no id.
//!
//! What else respects the locks: blocked clients are not served from a
//! locked key until it is released (`shard::blocking`), and active expiry
//! skips locked keys.

pub mod coord;
pub mod exec;
pub mod locks;
pub mod sched;
pub mod watch;

pub use locks::{Intents, Mode};
pub use sched::TxId;
