//! Loading at start-up.
//!
//! The main thread first *plans* ([`plan`]): it reads the MANIFEST, finds
//! every shard's snapshot and log segments, and checks every log frame by
//! frame — cutting a torn tail (with a warning naming the file and offset),
//! refusing to start on damage in the middle — and notes which cross-shard
//! transactions ended on all their shards. Then every shard *loads* its
//! files in parallel ([`load`]), yielding between slices so its clients get
//! `-LOADING` meanwhile: the snapshot's keys, then the log's entries
//! replayed through the command table at the clock they first ran with,
//! skipping the entries of transactions that did not end everywhere.
//!
//! When the shard count changed, each old shard's files are loaded into a
//! scratch keyspace and every key is sent to the shard its slot now maps to.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::channel::oneshot;
use tracing::{info, warn};

use super::codec::{read_entry, Reader};
use super::format::{self, Frames, Kind, Next, ENTRY_COMMAND, ENTRY_IMAGE, LOG_MAGIC, SNAP_MAGIC};
use super::mapped::Mapped;
use crate::cmd::{registry, Exec};
use crate::config::Config;
use crate::resp::{Proto, Reply};
use crate::server::dispatch::ShardRequest;
use crate::server::shared::unix_ms;
use crate::server::Core;
use crate::shard::{Entry, Shard, ShardCtx};
use crate::slot::shard_of_key;
use crate::tx::TxId;

/// One old shard's files.
#[derive(Debug, Clone)]
pub struct Source {
    pub shard: usize,
    pub snapshot: Option<PathBuf>,
    pub logs: Vec<PathBuf>,
}

/// What to load, decided before the shards start.
#[derive(Debug, Default)]
pub struct Plan {
    /// The shard count the files were written with (0: no files).
    pub shards_before: usize,
    pub shards: usize,
    /// The MANIFEST's epoch: the segment new writes append to.
    pub epoch: u64,
    /// The first epoch no file uses.
    pub next_epoch: u64,
    /// The newest segment (same shard count): new writes go after it.
    pub append_epoch: u64,
    pub sources: Vec<Source>,
    /// Cross-shard transactions that ended on every shard they ran on.
    pub complete: HashSet<TxId>,
    pub max_tx: TxId,
    pub torn_tails: u64,
}

impl Plan {
    pub fn resharding(&self) -> bool {
        self.shards_before != 0 && self.shards_before != self.shards
    }

    /// The sources shard `i` loads.
    pub fn sources_of(&self, i: usize) -> impl Iterator<Item = &Source> {
        self.sources.iter().filter(move |s| s.shard % self.shards == i)
    }
}

/// Reads the MANIFEST and checks every log (see the module docs).
pub fn plan(config: &Config, shards: usize) -> Result<Plan, String> {
    let dir = &config.dir;
    let manifest = super::snapshot::read_manifest(dir)?;
    let mut plan = Plan { shards, ..Plan::default() };
    let found = shard_dirs(dir);
    plan.shards_before = match manifest {
        Some(m) => m.shards as usize,
        None => found.iter().map(|&(i, _)| i + 1).max().unwrap_or(0),
    };
    plan.epoch = manifest.map_or(0, |m| m.epoch);
    plan.next_epoch = plan.epoch + 1;
    plan.append_epoch = plan.epoch;
    let mut ends: HashMap<TxId, (u32, u32)> = HashMap::new();
    for (i, sdir) in found {
        if i >= plan.shards_before {
            return Err(format!(
                "{} belongs to shard {} but the MANIFEST says the data has {} shards",
                sdir.display(),
                i,
                plan.shards_before
            ));
        }
        let snaps = super::epochs(&sdir, "snapshot", "snap");
        let logs = super::epochs(&sdir, "log", "seg");
        plan.next_epoch = plan.next_epoch.max(snaps.iter().chain(&logs).max().map_or(0, |e| e + 1));
        let snapshot = match plan.epoch {
            0 => None,
            e if snaps.contains(&e) => {
                let path = super::snapshot_path(&sdir, e);
                check_snapshot(&path)?;
                Some(path)
            }
            e => {
                return Err(format!("the MANIFEST names epoch {} but {} has no snapshot-{}.snap", e, sdir.display(), e))
            }
        };
        let mut source = Source { shard: i, snapshot, logs: Vec::new() };
        let from = plan.epoch;
        for e in logs.into_iter().filter(|&e| e >= from) {
            plan.append_epoch = plan.append_epoch.max(e);
            let path = super::log_path(&sdir, e);
            check_log(&path, config.aof_load_truncated, &mut plan, &mut ends)?;
            source.logs.push(path);
        }
        plan.sources.push(source);
    }
    plan.complete = ends.into_iter().filter(|(_, (parts, seen))| seen >= parts).map(|(id, _)| id).collect();
    Ok(plan)
}

/// The `shard-<i>` directories under `dir`.
fn shard_dirs(dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut out: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let i = name.strip_prefix("shard-")?.parse().ok()?;
            Some((i, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Checks a log frame by frame: a torn tail is cut (or refused), damage in
/// the middle refused; notes transaction ends.
fn check_log(
    path: &Path,
    load_truncated: bool,
    plan: &mut Plan,
    ends: &mut HashMap<TxId, (u32, u32)>,
) -> Result<(), String> {
    let map = map(path)?;
    let buf = map.bytes();
    let mut frames = Frames::new(buf);
    let mut first = true;
    loop {
        match frames.next_frame() {
            Next::End => return Ok(()),
            Next::Frame { offset, payload } => {
                if first {
                    format::read_header(payload, LOG_MAGIC)
                        .map_err(|e| format!("{} is corrupt at offset {}: {}", path.display(), offset, e))?;
                    first = false;
                    continue;
                }
                note_frame(payload, plan, ends)
                    .map_err(|e| format!("{} is corrupt at offset {}: {}", path.display(), offset, e))?;
            }
            Next::Damaged { offset, torn: true } if load_truncated => {
                warn!(
                    "{}: the last record is torn at offset {} ({} bytes cut); everything before it is loaded",
                    path.display(),
                    offset,
                    buf.len() - offset
                );
                let f = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| e.to_string())?;
                f.set_len(offset as u64)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| format!("truncating {}: {}", path.display(), e))?;
                plan.torn_tails += 1;
                return Ok(());
            }
            Next::Damaged { offset, torn } => {
                let what = if torn { "a torn last record (aof-load-truncated is no)" } else { "a corrupt record" };
                return Err(format!(
                    "{} has {} at offset {}: refusing to start. Run `shardis --repair-log {}` to cut the log there (losing what follows), or restore the file",
                    path.display(),
                    what,
                    offset,
                    path.display()
                ));
            }
        }
    }
}

fn note_frame(payload: &[u8], plan: &mut Plan, ends: &mut HashMap<TxId, (u32, u32)>) -> Result<(), String> {
    let mut r = Reader::new(payload);
    let kind = r.u8().map_err(|e| e.to_string())?;
    match Kind::of(kind) {
        Some(Kind::Entries) => {
            let tx = r.u64().map_err(|e| e.to_string())?;
            plan.max_tx = plan.max_tx.max(tx);
        }
        Some(Kind::TxEnd) => {
            let tx = r.u64().map_err(|e| e.to_string())?;
            let parts = r.u32().map_err(|e| e.to_string())?;
            plan.max_tx = plan.max_tx.max(tx);
            let e = ends.entry(tx).or_insert((parts, 0));
            e.1 += 1;
        }
        _ => return Err(format!("unexpected record kind {} in a log", kind)),
    }
    Ok(())
}

/// Checks a snapshot's frames (lengths, checksums, the end frame) before
/// anything loads, so a damaged one stops the start with its file and offset.
fn check_snapshot(path: &Path) -> Result<(), String> {
    let map = map(path)?;
    let buf = map.bytes();
    let corrupt = |offset: usize, why: &str| {
        format!(
            "{} is corrupt at offset {}: {}; refusing to start (restore it from a backup)",
            path.display(),
            offset,
            why
        )
    };
    let mut frames = Frames::new(buf);
    let mut last = None;
    loop {
        match frames.next_frame() {
            Next::Frame { offset, payload } => last = Some((offset, payload[0])),
            Next::End => break,
            Next::Damaged { offset, .. } => return Err(corrupt(offset, "bad record (length or checksum)")),
        }
    }
    match last {
        Some((_, kind)) if Kind::of(kind) == Some(Kind::SnapshotEnd) => Ok(()),
        _ => Err(corrupt(buf.len(), "the file ends before its end record")),
    }
}

/// `shardis --repair-log FILE`: cuts the log at its first bad frame.
pub fn repair(path: &Path) -> Result<String, String> {
    let map = map(path)?;
    let buf = map.bytes();
    let mut frames = Frames::new(buf);
    loop {
        match frames.next_frame() {
            Next::End => return Ok(format!("{}: no damage found ({} bytes)", path.display(), buf.len())),
            Next::Frame { .. } => {}
            Next::Damaged { offset, .. } => {
                let f = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| e.to_string())?;
                f.set_len(offset as u64).and_then(|_| f.sync_all()).map_err(|e| e.to_string())?;
                return Ok(format!(
                    "{}: cut at offset {}: {} bytes removed, {} kept",
                    path.display(),
                    offset,
                    buf.len() - offset,
                    offset
                ));
            }
        }
    }
}

/// Frames replayed between yields.
const SLICE: usize = 256;

/// Loads shard `core.id`'s part of `plan` (see the module docs).
pub async fn load(core: &Rc<Core>, plan: Arc<Plan>) -> Result<u64, String> {
    let started = Instant::now();
    for source in plan.sources_of(core.id) {
        if plan.resharding() {
            let mut scratch = Shard::new(core.id, core.shared.clone());
            load_source(core, &mut Target::Scratch(&mut scratch), source, &plan).await?;
            route(core, scratch).await?;
        } else {
            load_source(core, &mut Target::Own, source, &plan).await?;
        }
    }
    let mut shard = core.shard.borrow_mut();
    // Keys routed here by other shards may still arrive: this counts ours.
    let keys: u64 = shard.dbs.iter().map(|d| d.len() as u64).sum();
    shard.stats = crate::shard::Stats::new(registry().len());
    for db in shard.dbs.iter_mut() {
        db.expired = 0;
    }
    info!(shard = core.id, keys, ms = started.elapsed().as_millis() as u64, "shard loaded");
    Ok(keys)
}

/// Where loaded keys go: the shard itself, or a scratch keyspace whose keys
/// are routed afterwards.
enum Target<'a> {
    Own,
    Scratch(&'a mut Shard),
}

impl Target<'_> {
    fn with<R>(&mut self, core: &Rc<Core>, f: impl FnOnce(&mut Shard) -> R) -> R {
        match self {
            Target::Own => f(&mut core.shard.borrow_mut()),
            Target::Scratch(s) => f(s),
        }
    }
}

async fn load_source(core: &Rc<Core>, target: &mut Target<'_>, source: &Source, plan: &Plan) -> Result<(), String> {
    if let Some(path) = &source.snapshot {
        load_snapshot(core, target, path).await?;
    }
    for path in &source.logs {
        replay_log(core, target, path, plan).await?;
    }
    Ok(())
}

async fn load_snapshot(core: &Rc<Core>, target: &mut Target<'_>, path: &Path) -> Result<u64, String> {
    let map = map_off_thread(path).await?;
    let buf = map.bytes();
    let corrupt = |offset: usize, why: &str| format!("{} is corrupt at offset {}: {}", path.display(), offset, why);
    let now = unix_ms();
    let limits = crate::types::Limits::from_config(&core.shared.config());
    let mut frames = Frames::new(buf);
    let mut keys = 0u64;
    let mut first = true;
    let mut n = 0;
    loop {
        let (offset, payload) = match frames.next_frame() {
            Next::Frame { offset, payload } => (offset, payload),
            Next::End => return Err(corrupt(buf.len(), "the file ends before its end record")),
            Next::Damaged { offset, .. } => return Err(corrupt(offset, "bad record (length or checksum)")),
        };
        if first {
            format::read_header(payload, SNAP_MAGIC).map_err(|e| corrupt(offset, &e))?;
            first = false;
            continue;
        }
        let mut r = Reader::new(payload);
        let kind = r.u8().map_err(|e| corrupt(offset, &e.to_string()))?;
        match Kind::of(kind) {
            Some(Kind::SnapshotEnd) => {
                let total = r.u64().map_err(|e| corrupt(offset, &e.to_string()))?;
                if total != keys {
                    return Err(corrupt(offset, &format!("{} keys read, the end record says {}", keys, total)));
                }
                return Ok(keys);
            }
            Some(Kind::Keys) => {
                let loaded = target
                    .with(core, |shard| load_keys(shard, &mut r, limits, now))
                    .map_err(|e| corrupt(offset, &e))?;
                keys += loaded;
            }
            _ => return Err(corrupt(offset, &format!("unexpected record kind {}", kind))),
        }
        n += 1;
        if n % 16 == 0 {
            glommio::yield_if_needed().await;
        }
    }
}

fn load_keys(shard: &mut Shard, r: &mut Reader, limits: crate::types::Limits, now: u64) -> Result<u64, String> {
    let db = r.u32().map_err(|e| e.to_string())? as usize;
    let count = r.u32().map_err(|e| e.to_string())?;
    let databases = shard.dbs.len();
    if db >= databases {
        return Err(format!("db {} is out of range: this server has {} databases (raise `databases`)", db, databases));
    }
    for _ in 0..count {
        let (key, entry) = read_entry(r, limits).map_err(|e| e.to_string())?;
        if entry.expire_at().is_some_and(|t| t <= now) {
            continue;
        }
        shard.dbs[db].load(key.into(), entry);
    }
    Ok(count as u64)
}

/// A whole file, mapped into memory (see [`Mapped`]).
fn map(path: &Path) -> Result<Mapped, String> {
    Mapped::open(path).map_err(|e| format!("reading {}: {}", path.display(), e))
}

/// [`map`] on a blocking thread, so the shard keeps answering (`-LOADING`)
/// meanwhile.
async fn map_off_thread(path: &Path) -> Result<Mapped, String> {
    let p = path.to_path_buf();
    super::off_thread(move || Mapped::open(&p)).await.map_err(|e| format!("reading {}: {}", path.display(), e))
}

async fn replay_log(core: &Rc<Core>, target: &mut Target<'_>, path: &Path, plan: &Plan) -> Result<(), String> {
    let map = map_off_thread(path).await?;
    let buf = map.bytes();
    let limits = crate::types::Limits::from_config(&core.shared.config());
    let mut frames = Frames::new(buf);
    let mut scratch = Vec::new();
    let mut n = 0;
    // The header was checked by the plan.
    let _ = frames.next_frame();
    loop {
        let (offset, payload) = match frames.next_frame() {
            Next::Frame { offset, payload } => (offset, payload),
            // The plan cut torn tails; anything else changed since.
            Next::End | Next::Damaged { .. } => return Ok(()),
        };
        let fail = |e: String| format!("{} is corrupt at offset {}: {}", path.display(), offset, e);
        let mut r = Reader::new(payload);
        if Kind::of(r.u8().map_err(|e| fail(e.to_string()))?) != Some(Kind::Entries) {
            continue;
        }
        let tx = r.u64().map_err(|e| fail(e.to_string()))?;
        if tx != 0 && !plan.complete.contains(&tx) {
            continue;
        }
        target.with(core, |shard| replay_entries(shard, &mut r, limits, &mut scratch)).map_err(fail)?;
        n += 1;
        if n % SLICE == 0 {
            glommio::yield_if_needed().await;
        }
    }
}

fn replay_entries(
    shard: &mut Shard,
    r: &mut Reader,
    limits: crate::types::Limits,
    scratch: &mut Vec<u8>,
) -> Result<(), String> {
    let mut args: Vec<Bytes> = Vec::new();
    while !r.is_empty() {
        let tag = r.u8().map_err(|e| e.to_string())?;
        let now = r.u64().map_err(|e| e.to_string())?;
        let db = r.u32().map_err(|e| e.to_string())? as usize;
        if db >= shard.dbs.len() {
            return Err(format!("db {} is out of range: this server has {} databases", db, shard.dbs.len()));
        }
        crate::shard::keyspace::set_clock(now);
        match tag {
            ENTRY_COMMAND => {
                let argc = r.u32().map_err(|e| e.to_string())?;
                args.clear();
                for _ in 0..argc {
                    args.push(Bytes::copy_from_slice(r.bytes().map_err(|e| e.to_string())?));
                }
                replay_command(shard, db, now, &args, scratch)?;
            }
            ENTRY_IMAGE => {
                let present = r.u8().map_err(|e| e.to_string())?;
                if present == 1 {
                    let (key, entry) = read_entry(r, limits).map_err(|e| e.to_string())?;
                    shard.dbs[db].insert(&key, entry);
                } else {
                    let key = r.bytes().map_err(|e| e.to_string())?;
                    shard.dbs[db].remove(key, now);
                }
            }
            other => return Err(format!("unknown entry tag {}", other)),
        }
    }
    Ok(())
}

/// Runs a logged command again, as the shard first ran it.
fn replay_command(shard: &mut Shard, db: usize, now: u64, args: &[Bytes], scratch: &mut Vec<u8>) -> Result<(), String> {
    let r = registry().lookup(args).map_err(|_| format!("cannot replay {:?}", String::from_utf8_lossy(&args[0])))?;
    scratch.clear();
    let mut reply = Reply::new(scratch, Proto::Resp2);
    let mut ctx = ShardCtx { shard, db, now, client_id: 0 };
    match r.cmd.exec {
        Exec::Keyed(h) | Exec::MultiKey(h, _) | Exec::AllShards(h, _) | Exec::Cross(h, _) => {
            h(&mut ctx, args, &mut reply)
        }
        Exec::Blocking(spec) => crate::shard::blocking::serve_now(&mut ctx, spec, args, &mut reply),
        _ => return Err(format!("{} is not a logged command", r.cmd.name)),
    }
    ctx.shard.persist.log.rewrite = None;
    Ok(())
}

/// A key on its way to its new shard: db, key, entry.
type Moved = (usize, crate::shard::keyspace::Key, Entry);

/// Keys moved to another shard per message.
const ROUTE_BATCH: usize = 1024;

/// Sends every key of `scratch` to the shard its slot maps to now; returns
/// the keys kept here.
async fn route(core: &Rc<Core>, mut scratch: Shard) -> Result<u64, String> {
    // The scratch keyspace never logs (its writes are already on disk).
    scratch.persist.log.enabled = false;
    let shards = core.shared.shards;
    let now = unix_ms();
    let mut kept = 0u64;
    let mut outgoing: Vec<Vec<Moved>> = (0..shards).map(|_| Vec::new()).collect();
    let mut acks = Vec::new();
    for db in 0..scratch.dbs.len() {
        let table = scratch.dbs[db].clear();
        for (key, entry) in table.into_entries() {
            if entry.expire_at().is_some_and(|t| t <= now) {
                continue;
            }
            let owner = shard_of_key(&key, shards);
            if owner == core.id {
                core.shard.borrow_mut().dbs[db].load(key, entry);
                kept += 1;
                continue;
            }
            outgoing[owner].push((db, key, entry));
            if outgoing[owner].len() >= ROUTE_BATCH {
                acks.push(send_keys(core, owner, std::mem::take(&mut outgoing[owner])).await?);
            }
        }
        glommio::yield_if_needed().await;
    }
    for (owner, keys) in outgoing.into_iter().enumerate() {
        if !keys.is_empty() {
            acks.push(send_keys(core, owner, keys).await?);
        }
    }
    for ack in acks {
        ack.await.map_err(|_| "a shard stopped while loading".to_string())?;
    }
    Ok(kept)
}

async fn send_keys(core: &Rc<Core>, owner: usize, keys: Vec<Moved>) -> Result<oneshot::Receiver<()>, String> {
    let (done, rx) = oneshot::channel();
    let run: crate::tx::sched::Step = Box::new(move |shard| {
        for (db, key, entry) in keys {
            shard.dbs[db].load(key, entry);
        }
        let _ = done.send(());
    });
    core.send(owner, ShardRequest::Job { intents: None, run })
        .await
        .map_err(|_| "a shard stopped while loading".to_string())?;
    Ok(rx)
}

/// Records what loading found, for INFO and for the transaction ids.
pub fn note_plan(shared: &crate::server::shared::Shared, plan: &Plan) {
    let g = &shared.persist;
    g.torn_tails.store(plan.torn_tails, Ordering::Relaxed);
    g.epoch.store(plan.epoch, Ordering::Relaxed);
    g.next_epoch.store(plan.next_epoch, Ordering::Relaxed);
    g.append_epoch.store(if plan.resharding() { plan.next_epoch } else { plan.append_epoch }, Ordering::Relaxed);
    crate::tx::sched::ensure_above(plan.max_tx);
}
