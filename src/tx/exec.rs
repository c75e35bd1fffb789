//! MULTI/EXEC: a client's queued commands run as one transaction.
//!
//! EXEC plans the queue first: connection commands (SELECT, PING, CLIENT…)
//! answer on the spot, in order, so a SELECT changes the db of the commands
//! after it; every other command goes to the batch of the shard owning its
//! keys, or — split over shards — to a batch on each, merged later. A
//! command that needs several hops (a cross-shard RENAME, SUNIONSTORE, a
//! blocking command over keys of several shards) ends a *segment*: the
//! batches before it run, then it, then the next segment.
//!
//! Then EXEC runs the plan under one transaction ([`crate::tx`]) holding
//! every key the queue names, and the keys the client WATCHes (read). The
//! common case is one segment: one message per shard to schedule, one to run
//! its batch and release. When everything is on one shard, it is one
//! message and no transaction id at all unless that shard is busy with a
//! conflicting transaction. WATCH is checked on each watched shard before
//! anything runs, once the transaction's turn has come there.

use std::rc::Rc;

use bytes::Bytes;
use futures::channel::oneshot;

use super::coord::{Tx, UNAVAILABLE};
use super::{Intents, Mode};
use crate::cmd::{ConnCtx, Exec, Merge, Resolved};
use crate::resp::{Proto, Reply};
use crate::server::cross::Cross;
use crate::server::dispatch::{self, BatchOutput, ShardBatch, ShardCmd, ShardRequest, Target};
use crate::server::merge;
use crate::server::shared::unix_ms;
use crate::server::Core;
use crate::shard::blocking::{self as shard_blocking, Served};
use crate::shard::stats::error_of;
use crate::shard::Shard;
use crate::slot::shard_of_key;

/// The commands a client queued between MULTI and EXEC.
pub type Queued = Vec<(Resolved, Vec<Bytes>)>;

/// A client inside MULTI.
#[derive(Default)]
pub struct Multi {
    pub cmds: Queued,
    /// A command was refused while queueing: EXEC aborts (EXECABORT).
    pub failed: bool,
}

pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// Where one queued command's reply comes from.
enum Part {
    /// Answered while planning (a connection command).
    Inline(Vec<u8>),
    /// Reply `idx` of `shard`'s batch in segment `seg`.
    Shard { seg: usize, shard: usize, idx: u32 },
    /// Parts on several shards of segment `seg`, merged.
    Split {
        id: u16,
        seg: usize,
        merge: Merge,
        proto: Proto,
        parts: Vec<(usize, u32)>,
        owners: Vec<u16>,
        args: Vec<Bytes>,
    },
    /// A command that runs by itself, in several hops, between two segments.
    Hops { r: Resolved, t: Target, args: Vec<Bytes> },
}

/// Segment `i`'s batches, one per shard; commands of several hops sit between.
struct Plan {
    segments: Vec<Vec<ShardBatch>>,
    parts: Vec<Part>,
    /// Per shard, what the queue touches there: gathered raw, sorted once
    /// at the end ([`Plan::intents`]).
    keys: Vec<Vec<(Bytes, Mode)>>,
    whole: Vec<bool>,
}

impl Plan {
    fn new(shards: usize) -> Plan {
        Plan {
            segments: vec![(0..shards).map(|_| ShardBatch::default()).collect()],
            parts: Vec::new(),
            keys: vec![Vec::new(); shards],
            whole: vec![false; shards],
        }
    }

    fn seg(&self) -> usize {
        self.segments.len() - 1
    }

    fn push(&mut self, shard: usize, r: Resolved, t: Target, args: &[Bytes]) -> u32 {
        let seg = self.seg();
        let batch = &mut self.segments[seg][shard];
        let start = batch.args.len() as u32;
        batch.args.extend(args.iter().cloned());
        batch.cmds.push(ShardCmd {
            id: r.id,
            start,
            argc: args.len() as u32,
            db: t.db,
            proto: t.proto,
            counted: true,
            client_id: t.client_id,
        });
        batch.cmds.len() as u32 - 1
    }

    /// The last command pushed to `shard` is a part of a split command,
    /// which counts once as a whole.
    fn uncount_last(&mut self, shard: usize) {
        if let Some(c) = self.segments.last_mut().and_then(|s| s[shard].cmds.last_mut()) {
            c.counted = false;
        }
    }

    fn lock(&mut self, shard: usize, r: Resolved, args: &[Bytes]) {
        self.whole[shard] |= dispatch::command_intents(r.cmd, args, &mut self.keys[shard]);
    }

    fn hops(&mut self, r: Resolved, t: Target, args: Vec<Bytes>) {
        let shards = self.keys.len();
        for (shard, i) in crate::server::cross::intents(r.cmd, &args, shards) {
            let (keys, whole) = i.into_parts();
            self.keys[shard].extend(keys);
            self.whole[shard] |= whole;
        }
        self.segments.push((0..shards).map(|_| ShardBatch::default()).collect());
        self.parts.push(Part::Hops { r, t, args });
    }

    /// The shards with something to do (or watched keys to check): a
    /// command that names no key (PUBLISH) still runs somewhere.
    fn shards(&self) -> Vec<usize> {
        let busy = |s: usize| self.segments.iter().any(|seg| !seg[s].cmds.is_empty());
        (0..self.keys.len()).filter(|&s| self.whole[s] || !self.keys[s].is_empty() || busy(s)).collect()
    }

    /// What the transaction locks on `shard`.
    fn intents(&mut self, shard: usize) -> Intents {
        let mut i = Intents::from_keys(std::mem::take(&mut self.keys[shard]));
        if self.whole[shard] {
            i.set_whole();
        }
        i
    }

    fn has_hops(&self) -> bool {
        self.segments.len() > 1
    }
}

/// Runs EXEC: the reply (an array of the replies, or null if a WATCHed key
/// was touched).
pub async fn run(core: &Rc<Core>, ctx: &mut ConnCtx<'_>, exec: Resolved, t: Target, queued: Queued) -> Vec<u8> {
    let started = std::time::Instant::now();
    let watched = std::mem::take(&mut ctx.client.state.borrow_mut().watched);
    let shards = core.shared.shards;
    let mut plan = Plan::new(shards);
    for (r, args) in queued {
        plan_command(&mut plan, ctx, core, r, args);
    }
    // Watched keys are read: no one may touch them between the check and the run.
    for (_, key) in &watched {
        let shard = shard_of_key(key, shards);
        plan.keys[shard].push((key.clone(), Mode::Read));
    }
    let watched_shards = watched_shards(&watched, shards);
    let involved = plan.shards();
    let out = if involved.len() == 1 && !plan.has_hops() {
        run_local(core, ctx, plan, involved[0], t, &watched_shards).await
    } else {
        run_tx(core, ctx, plan, involved, t, &watched_shards).await
    };
    unwatch(core, t.client_id, &watched_shards).await;
    core.shard.borrow_mut().stats.record_call(exec.id, started.elapsed().as_micros() as u64, error_of(&out));
    out
}

/// Adds one queued command to the plan.
fn plan_command(plan: &mut Plan, ctx: &mut ConnCtx<'_>, core: &Rc<Core>, r: Resolved, args: Vec<Bytes>) {
    let (db, proto) = {
        let s = ctx.client.state.borrow();
        (s.db as u16, s.proto)
    };
    let t = Target { db, proto, client_id: ctx.client.id };
    let shards = core.shared.shards;
    let home = core.id;
    let cmd = r.cmd;
    let owners: Vec<(usize, usize)> = cmd.key_positions(&args).map(|p| (p, shard_of_key(&args[p], shards))).collect();
    let one_shard = owners.first().map(|o| o.1).filter(|&s| owners.iter().all(|o| o.1 == s));
    match cmd.exec {
        Exec::Conn(handler) => {
            let started = std::time::Instant::now();
            let mut buf = Vec::new();
            handler(ctx, &args, &mut Reply::new(&mut buf, proto));
            let usec = started.elapsed().as_micros() as u64;
            core.shard.borrow_mut().stats.record_call(r.id, usec, error_of(&buf));
            plan.parts.push(Part::Inline(buf));
        }
        Exec::Keyed(_) => {
            let shard = dispatch::keyed_shard(cmd, &args, shards, home);
            plan.lock(shard, r, &args);
            let idx = plan.push(shard, r, t, &args);
            plan.parts.push(Part::Shard { seg: plan.seg(), shard, idx });
        }
        // MSET with a key left without its value: an arity error at EXEC,
        // as Redis's msetCommand finds it.
        Exec::MultiKey(..)
            if cmd.step > 1 && !(args.len() - cmd.first_key as usize).is_multiple_of(cmd.step as usize) =>
        {
            let msg = crate::cmd::LookupError::Arity(r).to_string();
            let mut buf = Vec::new();
            Reply::new(&mut buf, proto).error(&msg);
            core.shard.borrow_mut().stats.record_call(r.id, 0, error_of(&buf));
            plan.parts.push(Part::Inline(buf));
        }
        Exec::MultiKey(_, merge) => match one_shard {
            Some(shard) => {
                plan.lock(shard, r, &args);
                let idx = plan.push(shard, r, t, &args);
                plan.parts.push(Part::Shard { seg: plan.seg(), shard, idx });
            }
            None => {
                core.shard.borrow_mut().stats.record_call(r.id, 0, None);
                split(plan, r, t, merge, args, &owners)
            }
        },
        Exec::AllShards(_, merge) => {
            // Counted once, here, as the pipeline counts it; a merged error later.
            core.shard.borrow_mut().stats.record_call(r.id, 0, None);
            let mut parts = Vec::new();
            for shard in 0..shards {
                plan.lock(shard, r, &args);
                parts.push((shard, plan.push(shard, r, t, &args)));
                plan.uncount_last(shard);
            }
            let seg = plan.seg();
            plan.parts.push(Part::Split { id: r.id, seg, merge, proto, parts, owners: Vec::new(), args });
        }
        Exec::Cross(..) | Exec::Blocking(_) => {
            let elsewhere = shards > 1 && cmd.coordinated_when.is_some_and(|reads| reads(&args));
            let single = match one_shard {
                _ if elsewhere => None,
                Some(shard) => Some(shard),
                None if owners.is_empty() && (cmd.movable_keys.is_some() || shards == 1) => Some(home),
                None => None,
            };
            match single {
                Some(shard) => {
                    plan.lock(shard, r, &args);
                    let idx = plan.push(shard, r, t, &args);
                    plan.parts.push(Part::Shard { seg: plan.seg(), shard, idx });
                }
                None => plan.hops(r, t, args),
            }
        }
        Exec::Server(_) => plan.hops(r, t, args),
        Exec::Container | Exec::Tx => {
            let mut buf = Vec::new();
            Reply::new(&mut buf, proto).error("ERR internal routing error");
            plan.parts.push(Part::Inline(buf));
        }
    }
}

/// A multi-key command over keys of several shards: one part per shard.
fn split(plan: &mut Plan, r: Resolved, t: Target, merge: Merge, args: Vec<Bytes>, owners: &[(usize, usize)]) {
    let step = r.cmd.step.max(1) as usize;
    let mut part_of_shard: Vec<Option<u16>> = vec![None; plan.keys.len()];
    let mut parts: Vec<(usize, u32)> = Vec::new();
    let mut order = Vec::with_capacity(owners.len());
    let mut per_shard: Vec<Vec<Bytes>> = vec![Vec::new(); plan.keys.len()];
    for &(pos, shard) in owners {
        if part_of_shard[shard].is_none() {
            part_of_shard[shard] = Some(parts.len() as u16);
            parts.push((shard, 0));
            per_shard[shard].push(args[0].clone());
        }
        per_shard[shard].extend(args[pos..(pos + step).min(args.len())].iter().cloned());
        order.push(part_of_shard[shard].unwrap_or(0));
    }
    for part in parts.iter_mut() {
        let shard_args = std::mem::take(&mut per_shard[part.0]);
        plan.lock(part.0, r, &shard_args);
        part.1 = plan.push(part.0, r, t, &shard_args);
        plan.uncount_last(part.0);
    }
    let seg = plan.seg();
    plan.parts.push(Part::Split { id: r.id, seg, merge, proto: t.proto, parts, owners: order, args });
}

fn watched_shards(watched: &[(usize, Bytes)], shards: usize) -> Vec<usize> {
    let mut out: Vec<usize> = watched.iter().map(|(_, k)| shard_of_key(k, shards)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether `client`'s watched keys on this shard were touched.
fn watch_dirty(shard: &Shard, client: u64) -> bool {
    let now = unix_ms();
    shard.watches.is_dirty(client, &shard.dbs, now)
}

/// Everything on one shard: one message, checked and run in one go; a
/// local transaction only if a conflicting one holds locks there.
async fn run_local(
    core: &Rc<Core>,
    ctx: &mut ConnCtx<'_>,
    mut plan: Plan,
    shard: usize,
    t: Target,
    watched: &[usize],
) -> Vec<u8> {
    let mut batch = std::mem::take(&mut plan.segments[0][shard]);
    batch.atomic = true;
    let intents = plan.intents(shard);
    let check = !watched.is_empty();
    let client = t.client_id;
    let (tx, rx) = oneshot::channel();
    let run = Box::new(move |s: &mut Shard| {
        if check && watch_dirty(s, client) {
            let _ = tx.send(None);
            return;
        }
        let mut out = BatchOutput::default();
        let mark = s.persist.log.mark();
        dispatch::execute(s, &batch, &mut out);
        // With `appendfsync always` the answer waits for the log.
        s.persist.log.when_durable_since(mark, move || {
            let _ = tx.send(Some(out));
        });
    });
    if core.send(shard, ShardRequest::Job { intents: Some(intents), run }).await.is_err() {
        return error(t.proto, UNAVAILABLE);
    }
    match rx.await {
        Ok(Some(out)) => {
            let mut outputs: Vec<Vec<BatchOutput>> =
                vec![(0..core.shared.shards).map(|_| Default::default()).collect()];
            outputs[0][shard] = out;
            assemble(core, ctx, &plan.parts, &outputs, Vec::new(), t.proto)
        }
        Ok(None) => aborted(t.proto),
        Err(_) => error(t.proto, UNAVAILABLE),
    }
}

/// The general case: a transaction over several shards.
async fn run_tx(
    core: &Rc<Core>,
    ctx: &mut ConnCtx<'_>,
    mut plan: Plan,
    involved: Vec<usize>,
    t: Target,
    watched: &[usize],
) -> Vec<u8> {
    let intents = involved.iter().map(|&s| (s, plan.intents(s))).collect();
    let tx = match Tx::begin(core, intents).await {
        Ok(tx) => Rc::new(tx),
        Err(e) => return error(t.proto, e),
    };
    if !watched.is_empty() {
        let client = t.client_id;
        let checks = watched.iter().map(|&s| tx.step(s, false, move |shard| watch_dirty(shard, client)));
        let dirty = futures::future::join_all(checks).await;
        if dirty.iter().any(|d| !matches!(d, Ok(false))) {
            tx.release(false).await;
            return aborted(t.proto);
        }
    }
    let single = !plan.has_hops();
    let mut outputs: Vec<Vec<BatchOutput>> = Vec::new();
    let mut hop_replies = Vec::new();
    let segments = std::mem::take(&mut plan.segments);
    let mut hops = plan.parts.iter().filter_map(|p| match p {
        Part::Hops { r, t, args, .. } => Some((*r, *t, args.clone())),
        _ => None,
    });
    for (i, segment) in segments.into_iter().enumerate() {
        if i > 0 {
            if let Some((r, ht, args)) = hops.next() {
                hop_replies.push(run_hops(core, &tx, r, ht, args).await);
            }
        }
        outputs.push(run_segment(&tx, segment, single).await);
    }
    // The watched keys the queue changed, hops included, are touched.
    tx.release(true).await;
    assemble(core, ctx, &plan.parts, &outputs, hop_replies, t.proto)
}

/// Runs one segment's batches, one step per shard, all at once.
async fn run_segment(tx: &Tx, segment: Vec<ShardBatch>, release: bool) -> Vec<BatchOutput> {
    let sizes: Vec<usize> = segment.iter().map(|b| b.cmds.len()).collect();
    let steps = segment.into_iter().enumerate().filter(|(_, b)| !b.cmds.is_empty()).map(|(shard, batch)| async move {
        let out = tx
            .step(shard, release, move |s| {
                let mut out = BatchOutput::default();
                dispatch::execute(s, &batch, &mut out);
                out
            })
            .await;
        (shard, out)
    });
    let done = futures::future::join_all(steps).await;
    let mut outputs: Vec<BatchOutput> = sizes.iter().map(|_| BatchOutput::default()).collect();
    for (shard, out) in done {
        outputs[shard] = out.unwrap_or_else(|_| BatchOutput::unavailable(sizes[shard]));
    }
    outputs
}

/// A command of several hops inside the transaction: a cross-shard
/// command's coordinator, or a blocking command tried key by key.
async fn run_hops(core: &Rc<Core>, tx: &Rc<Tx>, r: Resolved, t: Target, args: Vec<Bytes>) -> Vec<u8> {
    let started = std::time::Instant::now();
    let cx = || Cross::new(core, t, unix_ms()).within(tx.clone());
    let out = match r.cmd.exec {
        Exec::Cross(_, coordinator) => coordinator(cx(), args.clone()).await,
        Exec::Blocking(spec) => serve_across(cx(), spec, args.clone()).await,
        Exec::Server(job) => job(core.clone(), t, args.clone()).await,
        _ => cx().error("ERR internal routing error"),
    };
    core.shard.borrow_mut().stats.record_call(r.id, started.elapsed().as_micros() as u64, error_of(&out));
    out
}

/// A blocking command inside MULTI over keys of several shards: served from
/// its first key with data, shard by shard in key order, else null.
async fn serve_across(cx: Cross, spec: &'static shard_blocking::BlockSpec, args: Vec<Bytes>) -> Vec<u8> {
    let positions = match (spec.parse)(&args) {
        Ok((positions, _)) => positions,
        Err(e) => return cx.error(&e),
    };
    let shared = std::sync::Arc::new(args.clone());
    let proto = cx.proto;
    for p in positions {
        let a = shared.clone();
        let tried = cx
            .on(cx.shard_of(&args[p]), move |ctx| {
                let mut buf = Vec::new();
                let served = shard_blocking::try_key(ctx, spec, &a, &a[p], &mut Reply::new(&mut buf, proto));
                (served, buf)
            })
            .await;
        match tried {
            Err(e) => return cx.error(e),
            Ok((None, _)) => continue,
            Ok((Some(Served::Replied), buf)) => return buf,
            // BLMOVE to another shard: the move, within this transaction.
            Ok((Some(Served::Elsewhere), _)) => {
                let null = cx.encode(spec.nothing);
                return match spec.across {
                    Some(across) => across(cx, args).await.unwrap_or(null),
                    None => null,
                };
            }
        }
    }
    cx.encode(spec.nothing)
}

/// Forgets the client's watched keys on each of `shards` (EXEC always
/// unwatches; so does a client leaving).
pub async fn unwatch(core: &Rc<Core>, client: u64, shards: &[usize]) {
    for &shard in shards {
        let run = Box::new(move |s: &mut Shard| s.watches.unwatch(client));
        let _ = core.send(shard, ShardRequest::Job { intents: None, run }).await;
    }
}

/// EXEC's array: each queued command's reply in order.
fn assemble(
    core: &Core,
    ctx: &mut ConnCtx<'_>,
    parts: &[Part],
    outputs: &[Vec<BatchOutput>],
    hop_replies: Vec<Vec<u8>>,
    proto: Proto,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut hop_replies = hop_replies.into_iter();
    // The queued commands are logged one by one, as Redis does; EXEC is not.
    outputs.iter().for_each(|seg| dispatch::log_slow(core, ctx, seg));
    Reply::new(&mut out, proto).array(parts.len());
    for part in parts {
        match part {
            Part::Inline(buf) => out.extend_from_slice(buf),
            Part::Shard { seg, shard, idx } => out.extend_from_slice(outputs[*seg][*shard].reply(*idx)),
            Part::Split { id, seg, merge: kind, proto, parts, owners, args } => {
                let replies: Vec<&[u8]> = parts.iter().map(|&(s, i)| outputs[*seg][s].reply(i)).collect();
                let before = out.len();
                merge::merge(*kind, ctx, args, &replies, owners, &mut Reply::new(&mut out, *proto));
                let usec = BatchOutput::usec_of(&outputs[*seg], parts.iter().copied());
                dispatch::record_split(core, ctx, *id, usec, &out[before..], args);
            }
            Part::Hops { .. } => out.extend_from_slice(&hop_replies.next().unwrap_or_default()),
        }
    }
    out
}

fn aborted(proto: Proto) -> Vec<u8> {
    let mut out = Vec::new();
    Reply::new(&mut out, proto).null_array();
    out
}

fn error(proto: Proto, msg: &str) -> Vec<u8> {
    let mut out = Vec::new();
    Reply::new(&mut out, proto).error(msg);
    out
}
