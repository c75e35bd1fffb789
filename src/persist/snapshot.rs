//! Snapshots: every shard's image at one transaction boundary, written
//! without fork and without stopping the shards.
//!
//! 1. **The cut.** One transaction locks every shard whole (so no
//!    cross-shard transaction is half in); its step on each shard starts the
//!    next log segment and flips every table into snapshot mode
//!    ([`crate::shard::Db::start_snapshot`]: copy-on-write by saving an entry
//!    before anything changes it). The locks go at once.
//! 2. **The writing.** Each shard's writer task walks its tables in slices,
//!    yielding between them, and appends the saved entries to
//!    `snapshot-<E>.snap.tmp`; then syncs it and renames it.
//! 3. **The switch.** Once every shard's file is complete, the MANIFEST is
//!    replaced to name epoch E, and the files of older epochs go.
//!
//! A crash before the switch leaves the old MANIFEST: recovery loads the old
//! snapshot and replays the old segment and the new one after it.

use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures::channel::oneshot;
use glommio::io::{BufferedFile, OpenOptions};
use tracing::{info, warn};

use super::codec::{Put, Reader};
use super::format::{self, Frames, Header, Kind, Next, MANIFEST_MAGIC, SNAP_MAGIC, VERSION};
use crate::server::dispatch::ShardRequest;
use crate::server::shared::unix_ms;
use crate::server::Core;
use crate::shard::Shard;
use crate::tx::coord::Tx;
use crate::tx::Intents;

/// Entries saved per slice before the writer yields.
const SLICE: usize = 512;

/// Why a snapshot is taken, for the log line and INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Save,
    Bgsave,
    Rewrite,
    Schedule,
    Shutdown,
    Reshard,
}

/// The shard's part of a snapshot being written (see [`Shard::persist`]).
pub struct Writer {
    pub epoch: u64,
    /// Writes counted at the cut: subtracted once the snapshot is complete.
    pub changes_at_cut: u64,
}

/// Takes a snapshot of every shard; Ok once the MANIFEST names it. Refused
/// while another one runs.
pub async fn take(core: &Rc<Core>, reason: Reason) -> Result<(), String> {
    let global = &core.shared.persist;
    if global.saving.swap(true, Ordering::AcqRel) {
        return Err("Background save already in progress".into());
    }
    global.rewriting.store(reason == Reason::Rewrite, Ordering::Relaxed);
    global.save_started.store(unix_ms() / 1000, Ordering::Relaxed);
    let started = Instant::now();
    let result = take_locked(core).await;
    let secs = started.elapsed().as_secs();
    global.last_save_secs.store(secs + 1, Ordering::Relaxed);
    match &result {
        Ok(epoch) => {
            core.shared.last_save.store(unix_ms() / 1000, Ordering::Relaxed);
            global.last_save_failed.store(false, Ordering::Relaxed);
            global.saves.fetch_add(1, Ordering::Relaxed);
            info!(?reason, epoch, ms = started.elapsed().as_millis() as u64, "DB saved on disk");
        }
        Err(e) => {
            global.last_save_failed.store(true, Ordering::Relaxed);
            warn!(?reason, "Background saving error: {}", e);
        }
    }
    global.rewriting.store(false, Ordering::Relaxed);
    global.saving.store(false, Ordering::Release);
    result.map(|_| ())
}

async fn take_locked(core: &Rc<Core>) -> Result<u64, String> {
    let shards = core.shared.shards;
    let epoch = core.shared.persist.next_epoch.fetch_add(1, Ordering::AcqRel);
    let now = unix_ms();
    let all: Vec<usize> = (0..shards).collect();

    // 1. The cut, at one transaction boundary on every shard.
    let tx = Tx::begin(core, all.iter().map(|&s| (s, Intents::whole())).collect()).await?;
    let cuts = all.iter().map(|&s| {
        tx.step(s, false, move |shard: &mut Shard| {
            shard.persist.log.rotate(epoch);
            // The log starts (CONFIG SET appendonly yes) at a cut: the new
            // segment holds exactly the writes after this snapshot.
            shard.persist.log.enabled = shard.config.refresh(&shard.shared).appendonly;
            for (i, db) in shard.dbs.iter_mut().enumerate() {
                db.start_snapshot(i, now);
            }
            let changes_at_cut = shard.persist.log.changes;
            shard.persist.snapshot = Some(Writer { epoch, changes_at_cut });
        })
    });
    let cut: Result<Vec<()>, _> = futures::future::join_all(cuts).await.into_iter().collect();
    tx.release(false).await;
    cut?;
    core.shared.persist.logging.store(core.shared.config().appendonly, Ordering::Release);

    // 2. Every shard writes its part.
    let parts = all.iter().map(|&s| on_shard(core, s, move |core| async move { write_part(&core, epoch).await }));
    let results = futures::future::join_all(parts).await;
    let failed = results.iter().find_map(|r| r.as_ref().err().cloned());

    // 3. The switch, or the clean-up of a failed attempt.
    let dir = core.shared.config().dir.clone();
    let outcome = match failed {
        None => {
            let dir = dir.clone();
            let switched = super::off_thread(move || {
                write_manifest(&dir, shards, epoch)?;
                let size = |s: usize| std::fs::metadata(super::snapshot_path(&super::shard_dir(&dir, s), epoch));
                Ok::<u64, std::io::Error>((0..shards).map(|s| size(s).map_or(0, |m| m.len())).sum())
            });
            switched.await.map_err(|e| format!("writing the MANIFEST: {}", e))
        }
        Some(e) => Err(e),
    };
    let ok = outcome.is_ok();
    if let Ok(bytes) = outcome {
        core.shared.persist.epoch.store(epoch, Ordering::Release);
        core.shared.persist.snapshot_bytes.store(bytes, Ordering::Relaxed);
    }
    let cleanups = all.iter().map(|&s| {
        on_shard(core, s, move |core| async move {
            finish_part(&core, epoch, ok).await;
            Ok(0)
        })
    });
    futures::future::join_all(cleanups).await;
    outcome.map(|_| epoch)
}

/// Runs `work` as a task on `shard`'s executor and waits for its result.
async fn on_shard<F, Fut>(core: &Rc<Core>, shard: usize, work: F) -> Result<u64, String>
where
    F: FnOnce(Rc<Core>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<u64, String>> + 'static,
{
    let (done, rx) = oneshot::channel();
    let run: crate::tx::sched::Step = Box::new(move |_shard| {
        let core = crate::server::Core::current();
        glommio::spawn_local(async move {
            // glommio runs a new task at once, inside this job, which holds
            // the shard: let the job finish first.
            crate::server::yield_once().await;
            let _ = done.send(work(core).await);
        })
        .detach();
    });
    core.send(shard, ShardRequest::Job { intents: None, run }).await.map_err(|_| "shard unavailable".to_string())?;
    rx.await.map_err(|_| "shard unavailable".to_string())?
}

/// Writes this shard's snapshot file for `epoch`; returns the keys saved.
async fn write_part(core: &Rc<Core>, epoch: u64) -> Result<u64, String> {
    let dir = super::shard_dir(&core.shared.config().dir, core.id);
    let d = dir.clone();
    super::off_thread(move || std::fs::create_dir_all(&d))
        .await
        .map_err(|e| format!("creating {}: {}", dir.display(), e))?;
    let path = super::snapshot_path(&dir, epoch);
    let tmp = path.with_extension("snap.tmp");
    let written = write_file(core, &tmp, epoch).await;
    if written.is_err() {
        end_snapshot(&mut core.shard.borrow_mut());
    }
    // Renamed (or removed after a failure), and the directory synced.
    super::off_thread(move || {
        let keys = written?;
        let renamed = std::fs::rename(&tmp, &path).map_err(|e| format!("renaming {}: {}", tmp.display(), e));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        super::sync_dir(&dir);
        renamed.map(|_| keys)
    })
    .await
    .inspect_err(|_| end_snapshot(&mut core.shard.borrow_mut()))
}

async fn write_file(core: &Rc<Core>, path: &Path, epoch: u64) -> Result<u64, String> {
    let io = |e: glommio::GlommioError<()>| format!("writing {}: {}", path.display(), e);
    let file = OpenOptions::new().write(true).create(true).truncate(true).buffered_open(path).await.map_err(io)?;
    let mut pos = 0u64;
    let mut buf = Vec::new();
    let h = Header { version: VERSION, shard: core.id as u32, shards: core.shared.shards as u32, epoch };
    format::put_header(&mut buf, SNAP_MAGIC, &h);
    let mut keys = 0u64;
    loop {
        let done = {
            let mut shard = core.shard.borrow_mut();
            let done = slice(&mut shard, &mut buf, &mut keys);
            if done {
                end_snapshot(&mut shard);
            }
            done
        };
        if done {
            format::frame(&mut buf, Kind::SnapshotEnd, |b| b.put_u64(keys));
        }
        if buf.len() >= 1 << 20 || done {
            pos += write_at(&file, std::mem::take(&mut buf), pos).await.map_err(io)?;
        }
        if done {
            break;
        }
        glommio::executor().yield_task_queue_now().await;
    }
    file.fdatasync().await.map_err(io)?;
    file.close().await.map_err(io)?;
    Ok(keys)
}

/// Writes all of `buf` at `pos`; the bytes written.
async fn write_at(file: &BufferedFile, buf: Vec<u8>, pos: u64) -> Result<u64, glommio::GlommioError<()>> {
    let mut done = 0;
    while done < buf.len() {
        let n = file.write_at(buf[done..].to_vec(), pos + done as u64).await?;
        if n == 0 {
            return Err(std::io::Error::from_raw_os_error(libc::ENOSPC).into());
        }
        done += n;
    }
    Ok(done as u64)
}

/// Saves one slice of the shard's tables into `out` as frames; true when
/// every table is saved.
fn slice(shard: &mut Shard, out: &mut Vec<u8>, keys: &mut u64) -> bool {
    // SWAPDB may move tables between positions: walk until none is left.
    let mut all_done = true;
    let mut budget = SLICE;
    for db in shard.dbs.iter_mut() {
        if budget > 0 && !db.snapshot_step(budget) {
            all_done = false;
            budget = 0;
        }
    }
    for db in shard.dbs.iter_mut() {
        db.take_saved(|n, count, entries| {
            *keys += count as u64;
            format::frame(out, Kind::Keys, |b| {
                b.put_u32(n);
                b.put_u32(count);
                b.extend_from_slice(entries);
            });
        });
    }
    all_done && budget > 0
}

fn end_snapshot(shard: &mut Shard) {
    for db in shard.dbs.iter_mut() {
        db.end_snapshot();
    }
}

/// After the switch (or a failure): forget the snapshot state, count the
/// writes since the cut, and delete what the new epoch replaces.
async fn finish_part(core: &Rc<Core>, epoch: u64, ok: bool) {
    {
        let mut shard = core.shard.borrow_mut();
        end_snapshot(&mut shard);
        let Some(w) = shard.persist.snapshot.take() else { return };
        debug_assert!(w.epoch == epoch);
        if !ok {
            return;
        }
        let p = &mut shard.persist;
        p.log.changes -= w.changes_at_cut.min(p.log.changes);
    }
    let dir = super::shard_dir(&core.shared.config().dir, core.id);
    super::off_thread(move || {
        for old in super::epochs(&dir, "snapshot", "snap").into_iter().filter(|&e| e < epoch) {
            let _ = std::fs::remove_file(super::snapshot_path(&dir, old));
        }
        for old in super::epochs(&dir, "log", "seg").into_iter().filter(|&e| e < epoch) {
            let _ = std::fs::remove_file(super::log_path(&dir, old));
        }
    })
    .await;
}

/// What the MANIFEST says: the shard count and the latest complete epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Manifest {
    pub shards: u32,
    pub epoch: u64,
}

pub fn write_manifest(dir: &Path, shards: usize, epoch: u64) -> std::io::Result<()> {
    let mut buf = Vec::new();
    format::frame(&mut buf, Kind::Manifest, |b| {
        b.put_bytes(MANIFEST_MAGIC);
        b.put_u32(VERSION);
        b.put_u32(shards as u32);
        b.put_u64(epoch);
    });
    let path = super::manifest_path(dir);
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&buf)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    super::sync_dir(dir);
    Ok(())
}

/// Reads the MANIFEST; Ok(None) if there is none (a new data directory).
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, String> {
    let path = super::manifest_path(dir);
    let buf = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {}: {}", path.display(), e)),
    };
    let bad = |why: &str| format!("{} is corrupt at offset 0: {}", path.display(), why);
    let Next::Frame { payload, .. } = Frames::new(&buf).next_frame() else { return Err(bad("bad frame")) };
    let mut r = Reader::new(payload);
    let parse = |r: &mut Reader| -> Result<Manifest, super::codec::DecodeError> {
        if Kind::of(r.u8()?) != Some(Kind::Manifest) || r.bytes()? != MANIFEST_MAGIC {
            return Err(super::codec::DecodeError::Invalid("not a MANIFEST"));
        }
        let version = r.u32()?;
        if version > VERSION {
            return Err(super::codec::DecodeError::Invalid("written by a newer version"));
        }
        Ok(Manifest { shards: r.u32()?, epoch: r.u64()? })
    };
    parse(&mut r).map(Some).map_err(|e| bad(&e.to_string()))
}

/// DEBUG RELOAD: a snapshot, then every shard emptied and loaded again from
/// the files, as a restart would. Clients get `-LOADING` meanwhile.
pub async fn reload(core: &Rc<Core>) -> Result<(), String> {
    let shards = core.shared.shards;
    let global = &core.shared.persist;
    global.loading.fetch_add(shards, Ordering::AcqRel);
    let result = async {
        take(core, Reason::Save).await?;
        // Whatever was logged after the cut must be in the files first.
        for s in 0..shards {
            on_shard(core, s, |core| async move {
                super::flush::drained(&core).await;
                Ok(0)
            })
            .await?;
        }
        let config = core.shared.config();
        let plan = std::sync::Arc::new(super::recover::plan(&config, shards)?);
        let loads = (0..shards).map(|s| {
            let plan = plan.clone();
            on_shard(core, s, move |core| async move {
                for db in core.shard.borrow_mut().dbs.iter_mut() {
                    crate::shard::lazyfree::free_db(db.clear());
                }
                super::recover::load(&core, plan).await
            })
        });
        let loaded: Result<Vec<u64>, String> = futures::future::join_all(loads).await.into_iter().collect();
        loaded.map(|_| ())
    }
    .await;
    global.loading.fetch_sub(shards, Ordering::AcqRel);
    result
}

/// Once a second on shard 0: a scheduled BGSAVE, the `save` points, and the
/// automatic log rewrite (`auto-aof-rewrite-percentage`/`-min-size`).
pub async fn cron(core: Rc<Core>) {
    let mut last_try = 0u64;
    loop {
        glommio::timer::sleep(std::time::Duration::from_secs(1)).await;
        let global = &core.shared.persist;
        if global.saving.load(Ordering::Acquire) || global.is_loading() {
            continue;
        }
        if global.scheduled.swap(false, Ordering::AcqRel) {
            let _ = take(&core, Reason::Schedule).await;
            continue;
        }
        let config = core.shared.config();
        if config.appendonly && !global.logging.load(Ordering::Acquire) {
            info!("appendonly turned on: writing a snapshot the log starts from");
            let _ = take(&core, Reason::Rewrite).await;
            continue;
        }
        // A shard gone: the server is stopping.
        let Some((changes, log_bytes)) = totals(&core).await else { return };
        let now = unix_ms() / 1000;
        let since = now.saturating_sub(core.shared.last_save.load(Ordering::Relaxed));
        // As Redis: after a failed snapshot, wait a while before the next try.
        let may_retry = !global.last_save_failed.load(Ordering::Relaxed) || now.saturating_sub(last_try) >= 5;
        let point = config.save.iter().any(|&(secs, min)| changes >= min && since >= secs);
        if point && may_retry {
            last_try = now;
            let _ = take(&core, Reason::Bgsave).await;
            continue;
        }
        let pct = config.auto_aof_rewrite_percentage;
        let base = global.snapshot_bytes.load(Ordering::Relaxed).max(1);
        if config.appendonly
            && pct > 0
            && log_bytes >= config.auto_aof_rewrite_min_size
            && log_bytes * 100 >= base * (100 + pct)
            && may_retry
        {
            last_try = now;
            info!(log_bytes, snapshot_bytes = base, "the log outgrew the last snapshot: rewriting");
            let _ = take(&core, Reason::Rewrite).await;
        }
    }
}

/// Writes since the last snapshot and log bytes, summed over the shards.
async fn totals(core: &Rc<Core>) -> Option<(u64, u64)> {
    let each = core.gather(|shard| (shard.persist.log.changes, shard.persist.log_size)).await?;
    Some(each.into_iter().fold((0, 0), |(c, b), (sc, sb)| (c + sc, b + sb)))
}
