//! Persistence: every shard logs its writes to its own segment file and
//! writes its own snapshots; together they survive restarts and crashes.
//!
//! - [`format`]: the files and their framing (documented there).
//! - [`codec`]: how keys and values are encoded inside frames.
//! - [`log`] / [`flush`]: appending writes in memory, and the task that
//!   writes and syncs them (`appendfsync`).
//! - [`snapshot`]: point-in-time images taken without fork and without
//!   stopping the shard, and the MANIFEST that names the latest one.
//! - [`recover`]: loading at start-up.

pub mod codec;
pub mod flush;
pub mod format;
pub mod log;
pub mod mapped;
pub mod recover;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tracing::info;

/// A shard's persistence state (owned by its [`crate::shard::Shard`]).
pub struct Persist {
    pub log: log::ShardLog,
    /// Bytes in the current log segment (`aof_current_size` is the sum).
    pub log_size: u64,
    /// The last log write failed: writes are refused with MISCONF.
    pub write_error: Option<String>,
    /// The shard's part of the snapshot being written, if any.
    pub snapshot: Option<snapshot::Writer>,
}

impl Persist {
    pub fn new(config: &crate::config::Config, epoch: u64) -> Persist {
        Persist {
            log: log::ShardLog::new(config.appendonly, config.appendfsync, epoch),
            log_size: 0,
            write_error: None,
            snapshot: None,
        }
    }

    /// A log write succeeded: clears a failure.
    pub fn recovered(&mut self, global: &Global) {
        if self.write_error.take().is_some() {
            global.failing_logs.fetch_sub(1, Ordering::Relaxed);
            info!("Log writes succeed again; accepting writes");
        }
    }
}

/// Server-wide persistence state, shared by every shard (INFO persistence,
/// LASTSAVE, MISCONF, LOADING).
#[derive(Default)]
pub struct Global {
    /// Writes are being logged (`appendonly` as it took effect).
    pub logging: AtomicBool,
    /// Shards still loading their data: commands get `-LOADING` meanwhile.
    pub loading: AtomicUsize,
    /// Shards whose log cannot be written: writes get `-MISCONF`.
    pub failing_logs: AtomicUsize,
    /// A snapshot is being written (only one at a time).
    pub saving: AtomicBool,
    /// It was asked for as an AOF rewrite (BGREWRITEAOF, auto rewrite).
    pub rewriting: AtomicBool,
    /// A BGSAVE asked for while one ran (`BGSAVE SCHEDULE`).
    pub scheduled: AtomicBool,
    /// The last snapshot failed (`rdb_last_bgsave_status:err`): with
    /// `stop-writes-on-bgsave-error`, writes get `-MISCONF` until one succeeds.
    pub last_save_failed: AtomicBool,
    /// Unix seconds of the start of the snapshot in progress; how long the
    /// last one took, plus one (0: none yet). The time of the last
    /// successful one is [`crate::server::shared::Shared::last_save`].
    pub save_started: AtomicU64,
    pub last_save_secs: AtomicU64,
    pub saves: AtomicU64,
    /// The epoch of the latest complete snapshot (the MANIFEST's).
    pub epoch: AtomicU64,
    /// The first epoch no file uses: the next snapshot's.
    pub next_epoch: AtomicU64,
    /// The segment appends go to after loading.
    pub append_epoch: AtomicU64,
    /// Bytes of the latest snapshot, all shards: the log is rewritten when it
    /// outgrows it (`auto-aof-rewrite-percentage`).
    pub snapshot_bytes: AtomicU64,
    /// How the server should stop: with a snapshot first, or not.
    pub save_on_shutdown: AtomicBool,
    /// Shard 0 finished the shutdown snapshot (or had none to take).
    pub shutdown_saved: AtomicBool,
    /// The last log write error, for `-MISCONF`.
    pub last_write_error: std::sync::Mutex<String>,
    /// Logs whose torn tail was cut at the last start.
    pub torn_tails: AtomicU64,
    /// Keys loaded at start.
    pub loaded_keys: AtomicU64,
}

impl Global {
    pub fn is_loading(&self) -> bool {
        self.loading.load(Ordering::Acquire) > 0
    }

    /// Why writes are refused now, if they are (Redis's `-MISCONF`).
    pub fn write_refusal(&self, stop_writes_on_bgsave_error: bool) -> Option<String> {
        if self.failing_logs.load(Ordering::Relaxed) > 0 {
            let why = self.last_write_error.lock().unwrap_or_else(|p| p.into_inner());
            return Some(format!("MISCONF Errors writing to the AOF file: {}", why));
        }
        if stop_writes_on_bgsave_error && self.last_save_failed.load(Ordering::Relaxed) {
            return Some(MISCONF_SNAPSHOT.to_string());
        }
        None
    }

    /// A quick test for the request path: nothing refuses writes.
    pub fn writes_ok(&self) -> bool {
        self.failing_logs.load(Ordering::Relaxed) == 0 && !self.last_save_failed.load(Ordering::Relaxed)
    }
}
pub const MISCONF_SNAPSHOT: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";

/// Where shard `i`'s files live.
pub fn shard_dir(base: &Path, shard: usize) -> PathBuf {
    base.join(format!("shard-{}", shard))
}

pub fn log_path(shard_dir: &Path, epoch: u64) -> PathBuf {
    shard_dir.join(format!("log-{}.seg", epoch))
}

pub fn snapshot_path(shard_dir: &Path, epoch: u64) -> PathBuf {
    shard_dir.join(format!("snapshot-{}.snap", epoch))
}

pub fn manifest_path(base: &Path) -> PathBuf {
    base.join("MANIFEST")
}

/// Runs blocking file-system work (rename, unlink, directory fsync, the
/// MANIFEST) on glommio's blocking thread pool: unlinking a big snapshot or
/// syncing a directory takes milliseconds, which on a shard's thread would
/// stall every client of the shard.
pub async fn off_thread<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> R {
    glommio::executor().spawn_blocking(work).await
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The epochs of a shard directory's files named `<prefix>-<epoch>.<ext>`,
/// ascending.
pub fn epochs(dir: &Path, prefix: &str, ext: &str) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix(prefix)?.strip_prefix('-')?.strip_suffix(ext)?.strip_suffix('.')?.parse().ok()
        })
        .collect();
    out.sort_unstable();
    out
}
