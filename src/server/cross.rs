//! Commands whose keys live on several shards and must be brought together:
//! RENAME, COPY, MSETNX, BITOP, LCS, SMOVE, the set/zset algebra, …
//!
//! A cross-shard command is a *coordinator*: an async function run by the
//! client's connection once every earlier command of its pipeline has run
//! (the connection routes it as a barrier). It moves through the shards in
//! steps, each a synchronous job on the shard that owns the keys it touches
//! ([`Cross::on`]): on the home shard inline, on another one as one mesh
//! message whose result comes back on a oneshot.
//!
//! Every cross-shard command runs as one transaction ([`crate::tx`]): its
//! keys are locked on their shards before its first step, every
//! [`Cross::on`] is a step of that transaction, and the locks go with its
//! last one, so no client sees it half done. When all of a command's keys
//! are on one shard it never comes here: the command table's single-shard
//! handler runs it in the normal batch path.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use futures::channel::oneshot;

use crate::cmd::{flag, Exec, Resolved};
use crate::resp::{Proto, Reply};
use crate::server::dispatch::{self, ShardRequest, Target};
use crate::server::shared::unix_ms;
use crate::server::Core;
use crate::shard::stats::error_of;
use crate::shard::{Shard, ShardCtx, UnixMs};
use crate::slot::shard_of_key;
use crate::tx::coord::Tx;
use crate::tx::sched::Step;
use crate::tx::{Intents, Mode};

/// What a coordinator returns: its reply frame(s), encoded.
pub type CrossFuture = Pin<Box<dyn Future<Output = Vec<u8>>>>;

/// A cross-shard command's coordinator (see the module docs).
pub type Coordinator = fn(Cross, Vec<Bytes>) -> CrossFuture;

/// Server-wide asynchronous work ([`Exec::Server`]): the core it runs on,
/// the client's target, the arguments; its reply.
pub type ServerJob = fn(Rc<Core>, Target, Vec<Bytes>) -> CrossFuture;

pub use crate::tx::coord::UNAVAILABLE;

/// A coordinator's handle on the shards, for the client it runs for.
pub struct Cross {
    core: Rc<Core>,
    /// The transaction its steps belong to: every cross-shard command runs
    /// as one ([`crate::tx`]), so no one sees it half done.
    tx: Option<Rc<Tx>>,
    pub db: usize,
    pub proto: Proto,
    pub client_id: u64,
    /// The command's clock: one reading for every step, as Redis reads the
    /// time once per command.
    pub now: UnixMs,
}

impl Cross {
    pub fn new(core: &Rc<Core>, t: Target, now: UnixMs) -> Cross {
        Cross { core: core.clone(), tx: None, db: t.db as usize, proto: t.proto, client_id: t.client_id, now }
    }

    /// A handle for the same client and db, with a new clock and no
    /// transaction.
    pub fn fresh(&self) -> Cross {
        Cross { core: self.core.clone(), tx: None, now: unix_ms(), ..*self }
    }

    /// Runs `body` as one transaction over what `cmd` with `args` touches
    /// ([`intents`]); the keys it writes count as touched for WATCH when
    /// `wrote` says the outcome changed something.
    pub async fn atomically<T, Fut>(
        self,
        cmd: &crate::cmd::Command,
        args: &[Bytes],
        body: impl FnOnce(Cross) -> Fut,
        wrote: impl FnOnce(&T) -> bool,
    ) -> Result<T, &'static str>
    where
        Fut: Future<Output = T>,
    {
        let tx = Rc::new(Tx::begin(&self.core, intents(cmd, args, self.shards())).await?);
        let out = body(self.within(tx.clone())).await;
        tx.release(wrote(&out)).await;
        Ok(out)
    }

    /// The same handle with its steps run as steps of `tx`.
    pub fn within(self, tx: Rc<Tx>) -> Cross {
        Cross { tx: Some(tx), ..self }
    }

    /// Counts a finished command, given its reply, in the home shard's
    /// command stats (an error reply counts as failed).
    pub fn record_call(&self, r: Resolved, usec: u64, reply: &[u8]) {
        self.core.shard.borrow_mut().stats.record_call(r.id, usec, error_of(reply));
    }

    pub fn shards(&self) -> usize {
        self.core.shared.shards
    }

    pub fn shard_of(&self, key: &[u8]) -> usize {
        shard_of_key(key, self.shards())
    }

    /// Runs `job` on `shard` with the client's db selected and returns what
    /// it returns; `Err` if the shard is gone (shutdown). Within a
    /// transaction it is one of its steps; outside, it runs as it comes.
    pub async fn on<R, F>(&self, shard: usize, job: F) -> Result<R, &'static str>
    where
        R: Send + 'static,
        F: FnOnce(&mut ShardCtx) -> R + Send + 'static,
    {
        let job = self.job(job);
        match &self.tx {
            Some(tx) => tx.step(shard, false, job).await,
            None => self.plain(shard, None, job).await,
        }
    }

    /// [`Cross::on`] outside a transaction for work on `keys` of `shard`
    /// (written): it waits for any transaction holding them.
    pub async fn on_keys<R, F>(&self, shard: usize, keys: &[Bytes], job: F) -> Result<R, &'static str>
    where
        R: Send + 'static,
        F: FnOnce(&mut ShardCtx) -> R + Send + 'static,
    {
        let intents = Intents::from_keys(keys.iter().map(|k| (k.clone(), Mode::Write)).collect());
        self.plain(shard, Some(intents), self.job(job)).await
    }

    /// `job` as a shard closure: the client's db, the command's clock, and
    /// blocked clients served after it.
    fn job<R, F>(&self, job: F) -> impl FnOnce(&mut Shard) -> R + Send + 'static
    where
        F: FnOnce(&mut ShardCtx) -> R + Send + 'static,
    {
        let (db, now, client_id) = (self.db, self.now, self.client_id);
        move |shard: &mut Shard| {
            crate::shard::keyspace::set_clock(now);
            shard.listen();
            let result = job(&mut ShardCtx { shard, db, now, client_id });
            shard.after_command(now);
            result
        }
    }

    async fn plain<R, F>(&self, shard: usize, intents: Option<Intents>, job: F) -> Result<R, &'static str>
    where
        R: Send + 'static,
        F: FnOnce(&mut Shard) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let run: Step = Box::new(move |shard| drop(tx.send(job(shard))));
        self.core.send(shard, ShardRequest::Job { intents, run }).await?;
        rx.await.map_err(|_| UNAVAILABLE)
    }

    /// Runs `job` on each shard of `shards` (a shard once however often it
    /// is named), all in flight at once, results in the order given.
    pub async fn on_each<R, F>(&self, shards: &[usize], job: F) -> Result<Vec<R>, &'static str>
    where
        R: Send + 'static,
        F: Fn(&mut ShardCtx) -> R + Send + Sync + Clone + 'static,
    {
        let steps = shards.iter().map(|&s| self.on(s, job.clone()));
        futures::future::join_all(steps).await.into_iter().collect()
    }

    /// Runs `job` once on each shard owning some of `keys`, with those keys
    /// and their positions in `keys`; the job answers for some of them by
    /// position. The answers come back in `keys`' order (None where a key
    /// got none); the first error of any shard fails the whole.
    pub async fn per_key<R, F>(&self, keys: Vec<Bytes>, job: F) -> Result<Vec<Option<R>>, &'static str>
    where
        R: Send + 'static,
        F: Fn(&mut ShardCtx, Vec<(usize, &Bytes)>) -> Result<Vec<(usize, R)>, &'static str>
            + Send
            + Sync
            + Clone
            + 'static,
    {
        let mut shards: Vec<usize> = keys.iter().map(|k| self.shard_of(k)).collect();
        shards.sort_unstable();
        shards.dedup();
        let n = keys.len();
        let keys = std::sync::Arc::new(keys);
        let parts = self
            .on_each(&shards, move |ctx| {
                let (me, shards) = (ctx.shard.id, ctx.shard.shards());
                let mine = keys.iter().enumerate().filter(|(_, k)| shard_of_key(k, shards) == me).collect();
                job(ctx, mine)
            })
            .await?;
        let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
        for part in parts {
            for (i, r) in part? {
                out[i] = Some(r);
            }
        }
        Ok(out)
    }

    /// An encoder for this client's protocol, writing into `buf`.
    pub fn reply<'a>(&self, buf: &'a mut Vec<u8>) -> Reply<'a> {
        Reply::new(buf, self.proto)
    }

    /// The collection encoding thresholds currently configured.
    pub fn limits(&self) -> crate::types::Limits {
        let mut shard = self.core.shard.borrow_mut();
        let shard = &mut *shard;
        crate::types::Limits::from_config(shard.config.refresh(&shard.shared))
    }

    /// The number of databases.
    pub fn databases(&self) -> usize {
        self.core.shard.borrow().dbs.len()
    }

    /// A reply holding just `msg` as an error.
    pub fn error(&self, msg: &str) -> Vec<u8> {
        self.encode(|r| r.error(msg))
    }

    pub fn int(&self, n: i64) -> Vec<u8> {
        self.encode(|r| r.int(n))
    }

    pub fn ok(&self) -> Vec<u8> {
        self.encode(|r| r.ok())
    }

    /// One reply written by `write`.
    pub fn encode(&self, write: impl FnOnce(&mut Reply)) -> Vec<u8> {
        let mut buf = Vec::new();
        write(&mut self.reply(&mut buf));
        buf
    }
}

/// Runs a cross-shard command for the connection, as one transaction, and
/// returns its reply.
pub async fn run(core: &Rc<Core>, r: Resolved, t: Target, args: Vec<Bytes>) -> Vec<u8> {
    if let Exec::Server(job) = r.cmd.exec {
        let started = Instant::now();
        let out = job(core.clone(), t, args).await;
        core.shard.borrow_mut().stats.record_call(r.id, started.elapsed().as_micros() as u64, error_of(&out));
        return out;
    }
    let Exec::Cross(_, coordinator) = r.cmd.exec else {
        let mut buf = Vec::new();
        Reply::new(&mut buf, t.proto).error("ERR internal routing error");
        return buf;
    };
    let started = Instant::now();
    let cx = Cross::new(core, t, unix_ms());
    let error = cx.error(UNAVAILABLE);
    let succeeded = |out: &Vec<u8>| out.first() != Some(&b'-');
    // SCAN and RANDOMKEY name no key and promise no single point in time
    // (a SCAN cursor spans many calls): locking every shard whole for
    // them would stall all traffic for nothing.
    let walk =
        !r.cmd.has(flag::WRITE) && r.cmd.coordinated_when.is_none() && r.cmd.key_positions(&args).next().is_none();
    let out = if walk {
        coordinator(cx, args).await
    } else {
        cx.atomically(r.cmd, &args.clone(), |cx| coordinator(cx, args), succeeded).await.unwrap_or(error)
    };
    core.shard.borrow_mut().stats.record_call(r.id, started.elapsed().as_micros() as u64, error_of(&out));
    out
}

/// What a cross-shard command locks, per shard: its keys, and every shard
/// whole when it reads keys it does not name (SORT … BY, keyless walks).
pub fn intents(cmd: &crate::cmd::Command, args: &[Bytes], shards: usize) -> Vec<(usize, Intents)> {
    let mut keys = Vec::new();
    let whole = dispatch::command_intents(cmd, args, &mut keys);
    let mut per_shard: Vec<Vec<(Bytes, Mode)>> = (0..shards).map(|_| Vec::new()).collect();
    for (key, mode) in keys {
        per_shard[shard_of_key(&key, shards)].push((key, mode));
    }
    per_shard
        .into_iter()
        .enumerate()
        .filter(|(_, keys)| whole || !keys.is_empty())
        .map(|(shard, keys)| {
            let mut i = Intents::from_keys(keys);
            if whole {
                i.set_whole();
            }
            (shard, i)
        })
        .collect()
}
