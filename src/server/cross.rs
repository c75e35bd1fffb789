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
//! Every step between shards goes through [`Cross::on`]: this is the one
//! place that the cross-shard atomicity work (VLL intent locks and ordered
//! queues, see DESIGN.md) schedules. Until then a concurrent client can
//! observe a cross-shard command between two of its steps; each step itself
//! is atomic on its shard. When all of a command's keys are on one shard it
//! never comes here: the command table's single-shard handler runs it in
//! the normal batch path.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use futures::channel::oneshot;

use crate::cmd::{Exec, Resolved};
use crate::resp::{Proto, Reply};
use crate::server::dispatch::{ShardRequest, Target};
use crate::server::shared::unix_ms;
use crate::server::Core;
use crate::shard::{ShardCtx, UnixMs};
use crate::slot::shard_of_key;

/// What a coordinator returns: its reply frame(s), encoded.
pub type CrossFuture = Pin<Box<dyn Future<Output = Vec<u8>>>>;

/// A cross-shard command's coordinator (see the module docs).
pub type Coordinator = fn(Cross, Vec<Bytes>) -> CrossFuture;

/// The reply when a shard could not take a job (the server is stopping).
pub const UNAVAILABLE: &str = "ERR shard unavailable (server shutting down)";

/// A coordinator's handle on the shards, for the client it runs for.
pub struct Cross {
    core: Rc<Core>,
    pub db: usize,
    pub proto: Proto,
    pub client_id: u64,
    /// The command's clock: one reading for every step, as Redis reads the
    /// time once per command.
    pub now: UnixMs,
}

impl Cross {
    pub fn new(core: &Rc<Core>, t: Target, now: UnixMs) -> Cross {
        Cross { core: core.clone(), db: t.db as usize, proto: t.proto, client_id: t.client_id, now }
    }

    /// Counts a finished command, given its reply, in the home shard's
    /// command stats (an error reply counts as failed).
    pub fn record_call(&self, r: Resolved, usec: u64, reply: &[u8]) {
        let failed = reply.first() == Some(&b'-');
        self.core.shard.borrow_mut().stats.record_call(r.id, usec, failed);
    }

    pub fn shards(&self) -> usize {
        self.core.shared.shards
    }

    pub fn shard_of(&self, key: &[u8]) -> usize {
        shard_of_key(key, self.shards())
    }

    /// Runs `job` on `shard` with the client's db selected and returns what
    /// it returns; `Err` if the shard is gone (shutdown).
    pub async fn on<R, F>(&self, shard: usize, job: F) -> Result<R, &'static str>
    where
        R: Send + 'static,
        F: FnOnce(&mut ShardCtx) -> R + Send + 'static,
    {
        let (db, now, client_id) = (self.db, self.now, self.client_id);
        crate::shard::keyspace::set_clock(now);
        if shard == self.core.id {
            let mut shard = self.core.shard.borrow_mut();
            let result = job(&mut ShardCtx { shard: &mut shard, db, now, client_id });
            shard.after_command(now);
            return Ok(result);
        }
        let (tx, rx) = oneshot::channel();
        let run = Box::new(move |shard: &mut crate::shard::Shard| {
            crate::shard::keyspace::set_clock(now);
            let _ = tx.send(job(&mut ShardCtx { shard, db, now, client_id }));
        });
        self.core.mesh.send_to(shard, ShardRequest::Job(run)).await.map_err(|_| UNAVAILABLE)?;
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

/// Runs a cross-shard command for the connection and returns its reply.
pub async fn run(core: &Rc<Core>, r: Resolved, t: Target, args: Vec<Bytes>) -> Vec<u8> {
    let Exec::Cross(_, coordinator) = r.cmd.exec else {
        let mut buf = Vec::new();
        Reply::new(&mut buf, t.proto).error("ERR internal routing error");
        return buf;
    };
    let started = Instant::now();
    let cx = Cross::new(core, t, unix_ms());
    let out = coordinator(cx, args).await;
    let failed = out.first() == Some(&b'-');
    core.shard.borrow_mut().stats.record_call(r.id, started.elapsed().as_micros() as u64, failed);
    out
}
