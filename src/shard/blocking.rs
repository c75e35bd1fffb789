//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, BLMPOP…), the shard's
//! side: which clients wait on which of its keys, in the order they
//! blocked, and serving them when a key they wait on gets data.
//!
//! The protocol (the connection's side is `server::blocking`):
//! - A blocking command first *tries*: on each shard owning some of its keys,
//!   in key order, one synchronous step checks those keys and either serves
//!   the client at once or *registers* a [`Waiter`] in the key's queue. Check
//!   and registration are one step on the owning shard, so no push can slip
//!   between them.
//! - A waiter may sit on several shards (BLPOP a b, a and b apart). Whoever
//!   serves it first *claims* it ([`Waiter::claim`], an atomic flag): a shard
//!   with data for it, the connection when the timeout fires or the client
//!   leaves, or CLIENT UNBLOCK. Only the claimer touches data or sends the
//!   outcome, so a client is served once and no element is taken for a
//!   client that has already given up.
//! - A key waiters want is *ready* when it is created: the lists and sorted
//!   sets a blocked client waits for are absent (a present one would have
//!   served it, a wrong type would have failed it), so every push that can
//!   serve one creates the key (`Db::insert` / `Db::get_or_insert_with` call
//!   [`key_created`]). After each command the shard serves its ready keys'
//!   queues front to back, as long as the key has data (Redis's
//!   `handleClientsBlockedOnKeys`), so clients are served in the order they
//!   blocked.
//! - When the outcome is known, the connection removes the waiter from every
//!   shard it registered on ([`Blocking::unregister`]); queues also drop
//!   claimed waiters they meet.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;

use super::{Shard, ShardCtx};
use crate::resp::{Proto, Reply};
use crate::server::cross::Cross;

/// How a blocking command is served: one per command, in its table entry.
pub struct BlockSpec {
    /// Validates the arguments as the command does before it looks at any
    /// key; gives the positions of the keys to wait on and the timeout in
    /// milliseconds (0 = forever).
    pub parse: fn(&[Bytes]) -> Result<WaitFor, String>,
    /// Whether `key` can serve the command now.
    pub ready: fn(&mut ShardCtx, &[Bytes], &[u8]) -> Check,
    /// Serves the command from `key`, which is `ready`: pops and replies as
    /// the non-blocking command would. What it returns goes to the client.
    pub serve: fn(&mut ShardCtx, &[Bytes], &[u8], &mut Reply) -> Served,

    /// BLMOVE: the move when the destination is on another shard than the
    /// source, run by the connection as a transaction over both.
    pub across: Option<MoveAcross>,
    /// What the command answers when it may not wait (inside MULTI) and
    /// there is nothing: the non-blocking command's empty reply.
    pub nothing: fn(&mut Reply),
    /// The non-blocking command a serve from `key` amounts to, for the log
    /// (BLPOP served from k is `LPOP k`): replayed, it pops the same.
    pub logged: fn(&[Bytes], &[u8]) -> Vec<Bytes>,
}

/// The positions of the keys a command waits on, and its timeout in
/// milliseconds (0 = forever).
pub type WaitFor = (Vec<usize>, u64);

/// A move between shards: the reply, or None when the source turned out
/// empty (someone took the element first: the client waits on).
pub type MoveAcross = fn(Cross, Vec<Bytes>) -> LocalBoxFuture<'static, Option<Vec<u8>>>;

/// What a key offers a blocked command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Data of the right type: serve now.
    Ready,
    /// Absent (or nothing to serve): wait.
    Empty,
    /// Another type: the first attempt fails with WRONGTYPE; a waiter
    /// keeps waiting (Redis serves only keys of the type it waits for).
    WrongType,
}

/// What serving produced.
pub enum Served {
    /// The reply is complete.
    Replied,
    /// BLMOVE with its destination on another shard: nothing taken; the
    /// connection moves the element as a transaction ([`BlockSpec::across`]).
    Elsewhere,
}

/// How a blocked command ended, as the connection learns it.
pub enum Outcome {
    /// Served on a shard: the encoded reply.
    Reply(Vec<u8>),
    /// Ready, but the move crosses shards: the connection does it.
    Elsewhere,
    /// CLIENT UNBLOCK: as a timeout, or with the UNBLOCKED error.
    Unblocked { error: bool },
}

/// One blocked command, shared by every shard it waits on.
pub struct Waiter {
    pub id: u64,
    pub client_id: u64,
    pub db: usize,
    pub proto: Proto,
    pub args: Vec<Bytes>,
    pub spec: &'static BlockSpec,
    claimed: AtomicBool,
    outcome: Mutex<Option<oneshot::Sender<Outcome>>>,
}

impl Waiter {
    pub fn new(
        client_id: u64,
        db: usize,
        proto: Proto,
        args: Vec<Bytes>,
        spec: &'static BlockSpec,
    ) -> (Arc<Waiter>, oneshot::Receiver<Outcome>) {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let w = Waiter {
            id,
            client_id,
            db,
            proto,
            args,
            spec,
            claimed: AtomicBool::new(false),
            outcome: Mutex::new(Some(tx)),
        };
        (Arc::new(w), rx)
    }

    /// True for the one caller that gets to decide the outcome.
    pub fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    pub fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// Sends the outcome; only the claimer calls it.
    pub fn deliver(&self, outcome: Outcome) {
        let tx = self.outcome.lock().ok().and_then(|mut tx| tx.take());
        if let Some(tx) = tx {
            let _ = tx.send(outcome);
        }
    }
}

/// The result of one try-and-register step on a shard.
pub enum Attempt {
    /// Served here; the outcome was delivered.
    Served,
    /// Claimed by someone else meanwhile (served on another shard, timed out).
    Gone,
    /// Registered on the keys; waiting.
    Registered,
}

thread_local! {
    /// Whether this shard has any waiter: key creation checks only this.
    static WAITING: Cell<bool> = const { Cell::new(false) };
    /// Keys created since the last serve, which some waiter may want.
    static READY: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

/// Called by the keyspace when a key is created.
pub fn key_created(key: &[u8]) {
    if WAITING.with(Cell::get) {
        READY.with(|r| r.borrow_mut().push(key.into()));
    }
}

/// Whether some created key may serve a waiter (checked after each command).
pub fn has_ready() -> bool {
    WAITING.with(Cell::get) && READY.with(|r| !r.borrow().is_empty())
}

/// The waiters on one key, first blocked first.
type Queue = VecDeque<Arc<Waiter>>;

/// The shard's waiters, per (db, key), in the order they blocked.
#[derive(Default)]
pub struct Blocking {
    queues: HashMap<(usize, Box<[u8]>), Queue, ahash::RandomState>,
}

impl Blocking {
    /// Blocked clients waiting on this shard (a client waiting on two keys
    /// here counts once per key; INFO dedups across shards by client).
    pub fn waiters(&self) -> impl Iterator<Item = &Arc<Waiter>> {
        self.queues.values().flatten()
    }

    /// Keys with waiters.
    pub fn keys(&self) -> usize {
        self.queues.len()
    }

    fn register(&mut self, db: usize, key: &[u8], w: &Arc<Waiter>) {
        self.queues.entry((db, key.into())).or_default().push_back(w.clone());
        WAITING.with(|c| c.set(true));
    }

    /// Removes waiter `id` from the queues of `keys`.
    pub fn unregister(&mut self, db: usize, keys: &[Bytes], id: u64) {
        for key in keys {
            let k = (db, Box::<[u8]>::from(&key[..]));
            if let Some(q) = self.queues.get_mut(&k) {
                q.retain(|w| w.id != id);
                if q.is_empty() {
                    self.queues.remove(&k);
                }
            }
        }
        self.update_waiting();
    }

    fn update_waiting(&self) {
        let any = !self.queues.is_empty();
        WAITING.with(|c| c.set(any));
        if !any {
            READY.with(|r| r.borrow_mut().clear());
        }
    }

    /// Every key with waiters becomes ready (SWAPDB: the keys under a db
    /// index changed wholesale).
    pub fn all_ready(&self) {
        READY.with(|r| r.borrow_mut().extend(self.queues.keys().map(|(_, k)| k.clone())));
    }
}

/// The try-and-register step for the keys of `w` that this shard owns
/// (`keys`, in the command's order): serves from the first ready one, else
/// registers on all of them.
pub fn attempt(ctx: &mut ShardCtx, w: &Arc<Waiter>, keys: &[Bytes]) -> Attempt {
    if w.is_claimed() {
        return Attempt::Gone;
    }
    for key in keys {
        match (w.spec.ready)(ctx, &w.args, key) {
            Check::Empty => continue,
            _ if !w.claim() => return Attempt::Gone,
            Check::Ready => serve(ctx, w, key),
            Check::WrongType => {
                let mut buf = Vec::new();
                Reply::new(&mut buf, w.proto).error(crate::cmd::err::WRONGTYPE);
                w.deliver(Outcome::Reply(buf));
            }
        }
        return Attempt::Served;
    }
    for key in keys {
        ctx.shard.blocking.register(w.db, key, w);
    }
    Attempt::Registered
}

fn serve(ctx: &mut ShardCtx, w: &Arc<Waiter>, key: &[u8]) {
    // The pop (and BLMOVE's push) are writes like any other: a client
    // WATCHing the source or the destination sees them, as Redis's
    // `signalModifiedKey` in the served command tells it.
    let cmd = crate::cmd::registry().find(&w.args[0]);
    let watched = cmd.map(|c| crate::tx::watch::snapshot_command(ctx.shard, ctx.db, c, &w.args)).unwrap_or_default();
    let mut buf = Vec::new();
    let outcome = match (w.spec.serve)(ctx, &w.args, key, &mut Reply::new(&mut buf, w.proto)) {
        Served::Replied => Outcome::Reply(buf),
        Served::Elsewhere => Outcome::Elsewhere,
    };
    if !watched.is_empty() {
        crate::tx::watch::touch_changed(ctx.shard, watched, false);
    }
    if let Outcome::Reply(reply) = &outcome {
        if reply.first() != Some(&b'-') {
            let (now, db) = (ctx.now, ctx.db);
            ctx.shard.persist.log.command(now, db, &(w.spec.logged)(&w.args, key));
        }
    }
    // With `appendfsync always` the client hears of the pop once it is logged.
    let w = w.clone();
    ctx.shard.persist.log.when_durable(move || w.deliver(outcome));
}

/// A blocking command that may not block (inside MULTI, like Redis's
/// CLIENT_DENY_BLOCKING): served from its first key with data, else the
/// timeout's null reply at once. All its keys are on this shard.
pub fn serve_now(ctx: &mut ShardCtx, spec: &BlockSpec, args: &[Bytes], reply: &mut Reply) {
    let positions = match (spec.parse)(args) {
        Ok((positions, _)) => positions,
        Err(e) => return reply.error(&e),
    };
    for p in positions {
        match try_key(ctx, spec, args, &args[p], reply) {
            None => continue,
            Some(Served::Replied) => return,
            // The destination is on another shard: routing never does this.
            Some(Served::Elsewhere) => return reply.error("ERR internal routing error"),
        }
    }
    (spec.nothing)(reply);
}

/// Serves a blocking command from `key` if it can, without waiting: None
/// if the key has nothing for it; a wrong type is the WRONGTYPE reply.
pub fn try_key(ctx: &mut ShardCtx, spec: &BlockSpec, args: &[Bytes], key: &[u8], reply: &mut Reply) -> Option<Served> {
    match (spec.ready)(ctx, args, key) {
        Check::Empty => None,
        Check::WrongType => {
            reply.error(crate::cmd::err::WRONGTYPE);
            Some(Served::Replied)
        }
        Check::Ready => Some((spec.serve)(ctx, args, key, reply)),
    }
}

/// Serves the waiters of every ready key, front to back while the key can
/// serve them; keys created meanwhile (BLMOVE's destination) are served in
/// turn. Runs after each command.
pub fn serve_ready(shard: &mut Shard, now: u64) {
    // Keys in the order they became ready, as Redis's `ready_keys` list.
    loop {
        let ready = READY.with(|r| std::mem::take(&mut *r.borrow_mut()));
        if ready.is_empty() {
            break;
        }
        for key in ready {
            // A transaction holds it: served when it lets go (tx::sched).
            if shard.sched.blocks(&key, crate::tx::Mode::Write) {
                shard.sched.deferred_ready.push(key);
                continue;
            }
            let dbs: Vec<usize> =
                (0..shard.dbs.len()).filter(|&d| shard.blocking.queues.contains_key(&(d, key.clone()))).collect();
            for db in dbs {
                serve_key(shard, db, &key, now);
            }
        }
    }
    shard.blocking.update_waiting();
}

fn serve_key(shard: &mut Shard, db: usize, key: &[u8], now: u64) {
    let qkey = (db, Box::<[u8]>::from(key));
    loop {
        let Some(w) = shard.blocking.queues.get(&qkey).and_then(|q| q.front().cloned()) else {
            break;
        };
        let mut ctx = ShardCtx { shard: &mut *shard, db, now, client_id: w.client_id };
        if !w.is_claimed() {
            if (w.spec.ready)(&mut ctx, &w.args, key) != Check::Ready {
                break;
            }
            if w.claim() {
                serve(&mut ctx, &w, key);
            }
        }
        if let Some(q) = shard.blocking.queues.get_mut(&qkey) {
            q.pop_front();
            if q.is_empty() {
                shard.blocking.queues.remove(&qkey);
            }
        }
    }
}
