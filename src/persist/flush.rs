//! The flusher: one task per shard that moves the log's pending frames into
//! the current segment file and syncs it as `appendfsync` says.
//!
//! - `always`: write, `fdatasync`, then release the replies that waited for
//!   those bytes — one sync for everything appended since the last one.
//! - `everysec`: write at once (so the OS has it), sync at most once a second.
//! - `no`: write, never sync (the OS decides).
//!
//! A failed write (disk full, read-only file system) keeps the bytes, marks
//! the log failed — writes are then refused with `-MISCONF`, as Redis does —
//! and retries every second until it succeeds.

use std::path::Path;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use glommio::io::{BufferedFile, OpenOptions};
use tracing::error;

use super::format::{self, Header, LOG_MAGIC, VERSION};
use super::log::Chunk;
use crate::config::FsyncPolicy;
use crate::server::Core;

/// How long a failed write waits before it is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// The segment being appended to.
struct Segment {
    epoch: u64,
    file: BufferedFile,
    pos: u64,
    synced: bool,
}

/// Runs for as long as the shard does.
pub async fn run(core: Rc<Core>) {
    let dir = super::shard_dir(&core.shared.config().dir, core.id);
    let mut seg: Option<Segment> = None;
    let mut last_sync = Instant::now();
    loop {
        let policy = wait_for_work(&core, seg.as_ref().is_some_and(|s| !s.synced), last_sync).await;
        let (chunks, upto) = core.shard.borrow_mut().persist.log.take_pending();
        let result = write_all(&core, &dir, &mut seg, chunks).await;
        let unwritten = match result {
            Ok(()) => Vec::new(),
            Err((e, rest)) => {
                fail(&core, &e);
                rest
            }
        };
        let wrote = unwritten.is_empty();
        let requested = core.shard.borrow().persist.log.sync_requested;
        let sync_now = requested
            || match policy {
                FsyncPolicy::Always => true,
                FsyncPolicy::Everysec => last_sync.elapsed() >= Duration::from_secs(1),
                FsyncPolicy::No => false,
            };
        if wrote && sync_now {
            if let Some(s) = seg.as_mut().filter(|s| !s.synced) {
                match s.file.fdatasync().await {
                    Ok(()) => s.synced = true,
                    Err(e) => fail(&core, &format!("fsync: {}", e)),
                }
            }
            last_sync = Instant::now();
        }
        let ok = wrote && seg.as_ref().is_none_or(|s| s.synced || policy != FsyncPolicy::Always);
        let ready = {
            let mut shard = core.shard.borrow_mut();
            let p = &mut shard.persist;
            p.log.put_back(unwritten);
            if requested && seg.as_ref().is_none_or(|s| s.synced) {
                p.log.sync_requested = false;
            }
            if ok {
                p.recovered(&core.shared.persist);
                p.log.durable_to(upto)
            } else {
                Vec::new()
            }
        };
        for w in ready {
            w();
        }
        if !ok {
            glommio::timer::sleep(RETRY).await;
        }
    }
}

/// Waits until the log has frames to write, or the segment needs a sync:
/// at once with `always` (a sync that failed is retried), when the second
/// is up with `everysec`. Returns the policy in force.
async fn wait_for_work(core: &Rc<Core>, unsynced: bool, last_sync: Instant) -> FsyncPolicy {
    loop {
        let policy = {
            let mut shard = core.shard.borrow_mut();
            let shard = &mut *shard;
            let config = shard.config.refresh(&shard.shared);
            let policy = config.appendfsync;
            // CONFIG SET appendonly no stops logging at once; turning it on
            // waits for a snapshot's cut (see `snapshot::cron`).
            if !config.appendonly && shard.persist.log.enabled {
                shard.persist.log.enabled = false;
                shard.shared.persist.logging.store(false, std::sync::atomic::Ordering::Release);
            }
            shard.persist.log.policy = policy;
            policy
        };
        if policy != FsyncPolicy::Always {
            // Nothing waits for a sync any more (CONFIG SET appendfsync).
            let waiting = core.shard.borrow_mut().persist.log.release_waiters();
            for w in waiting {
                w();
            }
        }
        let due = last_sync + Duration::from_secs(1);
        let requested = core.shard.borrow().persist.log.sync_requested;
        let sync_due = requested
            || (unsynced
                && (policy == FsyncPolicy::Always || (policy == FsyncPolicy::Everysec && Instant::now() >= due)));
        if sync_due || core.shard.borrow().persist.log.has_pending() {
            return policy;
        }
        // Sleep until an append wakes the parked waker, the second is up,
        // or a while has passed (the policy may have changed). With the log
        // off and nothing owed there is nothing to stop or sync (turning it
        // on goes through `snapshot::cron`, and appends wake this task), so
        // an idle shard need not wake ten times a second for it.
        let off = {
            let log = &core.shard.borrow().persist.log;
            !log.enabled && log.is_drained()
        };
        let idle = if unsynced && policy == FsyncPolicy::Everysec {
            due.saturating_duration_since(Instant::now())
        } else if off {
            Duration::from_secs(1)
        } else {
            Duration::from_millis(100)
        };
        let appended = futures::future::poll_fn(|cx| {
            let mut shard = core.shard.borrow_mut();
            if shard.persist.log.has_pending() || shard.persist.log.sync_requested {
                return Poll::Ready(());
            }
            shard.persist.log.park_flusher(cx.waker().clone());
            Poll::Pending
        });
        futures::pin_mut!(appended);
        let timer = glommio::timer::sleep(idle);
        futures::pin_mut!(timer);
        futures::future::select(appended, timer).await;
    }
}

/// Writes `chunks` in order, switching segments where the epoch changes.
/// On failure: the error and what is left unwritten.
async fn write_all(
    core: &Rc<Core>,
    dir: &Path,
    seg: &mut Option<Segment>,
    chunks: Vec<Chunk>,
) -> Result<(), (String, Vec<Chunk>)> {
    let mut chunks = chunks.into_iter();
    while let Some(chunk) = chunks.next() {
        let Chunk { epoch, buf } = chunk;
        if seg.as_ref().is_none_or(|s| s.epoch != epoch) {
            if let Err(e) = switch(core, dir, seg, epoch).await {
                let mut rest = vec![Chunk { epoch, buf }];
                rest.extend(chunks);
                return Err((e, rest));
            }
        }
        let s = seg.as_mut().expect("switched");
        let mut written = 0;
        while written < buf.len() {
            match s.file.write_at(buf[written..].to_vec(), s.pos).await {
                Ok(0) => {
                    let mut rest = vec![Chunk { epoch, buf: buf[written..].to_vec() }];
                    rest.extend(chunks);
                    return Err(("No space left on device".into(), rest));
                }
                Ok(n) => {
                    written += n;
                    s.pos += n as u64;
                    s.synced = false;
                }
                Err(e) => {
                    let mut rest = vec![Chunk { epoch, buf: buf[written..].to_vec() }];
                    rest.extend(chunks);
                    return Err((io_message(&e), rest));
                }
            }
        }
        core.shard.borrow_mut().persist.log_size = s.pos;
    }
    Ok(())
}

/// Closes the current segment (synced unless `appendfsync no`) and opens
/// segment `epoch` for appending, writing its header if it is new.
async fn switch(core: &Rc<Core>, dir: &Path, seg: &mut Option<Segment>, epoch: u64) -> Result<(), String> {
    if let Some(old) = seg.take() {
        if !old.synced {
            let _ = old.file.fdatasync().await;
        }
        let _ = old.file.close().await;
    }
    let d = dir.to_path_buf();
    super::off_thread(move || std::fs::create_dir_all(&d))
        .await
        .map_err(|e| format!("creating {}: {}", dir.display(), e))?;
    let path = super::log_path(dir, epoch);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .buffered_open(&path)
        .await
        .map_err(|e| format!("opening {}: {}", path.display(), io_message(&e)))?;
    let mut pos = file.file_size().await.map_err(|e| io_message(&e))?;
    if pos == 0 {
        let mut head = Vec::new();
        let h = Header { version: VERSION, shard: core.id as u32, shards: core.shared.shards as u32, epoch };
        format::put_header(&mut head, LOG_MAGIC, &h);
        let n = head.len();
        match file.write_at(head, 0).await {
            Ok(w) if w == n => pos = n as u64,
            Ok(_) => return Err("No space left on device".into()),
            Err(e) => return Err(io_message(&e)),
        }
        let _ = file.fdatasync().await;
        let d = dir.to_path_buf();
        super::off_thread(move || super::sync_dir(&d)).await;
    }
    *seg = Some(Segment { epoch, file, pos, synced: true });
    Ok(())
}

fn io_message(e: &glommio::GlommioError<()>) -> String {
    match e {
        glommio::GlommioError::IoError(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// Marks the log failed: new writes get `-MISCONF` until a write succeeds.
fn fail(core: &Rc<Core>, e: &str) {
    let mut shard = core.shard.borrow_mut();
    if shard.persist.write_error.is_none() {
        error!(shard = core.id, "Error writing to the log: {}; writes refused until it succeeds", e);
        shard.shared.persist.failing_logs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    *shard.shared.persist.last_write_error.lock().unwrap_or_else(|p| p.into_inner()) = e.to_string();
    shard.persist.write_error = Some(e.to_string());
}

/// Waits until everything the shard logged so far is written (synced with
/// `always`); gives up after a while if the disk refuses it.
pub async fn drained(core: &Rc<Core>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !core.shard.borrow().persist.log.is_drained() && Instant::now() < deadline {
        glommio::timer::sleep(Duration::from_millis(1)).await;
    }
}

/// At shutdown: writes and syncs everything logged, whatever the policy.
pub async fn close(core: &Rc<Core>) {
    core.shard.borrow_mut().persist.log.request_sync();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done = {
            let shard = core.shard.borrow();
            shard.persist.log.is_drained() && !shard.persist.log.sync_requested
        };
        if done || Instant::now() >= deadline {
            break;
        }
        glommio::timer::sleep(Duration::from_millis(1)).await;
    }
}
