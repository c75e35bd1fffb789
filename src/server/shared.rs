//! The little state every core can see: the settings registry, counters that
//! are global by nature (clients connected, client ids), and the control
//! channel to the main thread. Nothing on the request path takes a lock here.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::server::monitor::Monitors;

/// Requests to the main thread, which owns process-wide lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop serving: from SIGTERM/SIGINT or `SHUTDOWN`.
    Shutdown { save: Option<bool> },
}

pub struct Shared {
    pub shards: usize,
    config: Mutex<Arc<Config>>,
    config_version: AtomicU64,
    pub started: Instant,
    pub run_id: String,
    pub next_client_id: AtomicU64,
    pub connected_clients: AtomicUsize,
    pub rejected_connections: AtomicU64,
    /// Connections moved to the core owning their keys (`server::migrate`).
    pub migrated_connections: AtomicU64,
    pub monitors: Monitors,
    pub slowlog: crate::server::slowlog::SlowLog,
    /// Every pub/sub subscription of the server.
    pub pubsub: crate::pubsub::Directory,
    /// Unix seconds of the last successful save (`LASTSAVE`).
    pub last_save: AtomicU64,
    pub persist: crate::persist::Global,
    control: Mutex<mpsc::Sender<Control>>,
    pub tcp_port: u16,
}

impl Shared {
    pub fn new(config: Config, shards: usize, control: mpsc::Sender<Control>) -> Shared {
        let port = config.port;
        Shared {
            shards,
            config: Mutex::new(Arc::new(config)),
            config_version: AtomicU64::new(1),
            started: Instant::now(),
            run_id: run_id(),
            next_client_id: AtomicU64::new(1),
            connected_clients: AtomicUsize::new(0),
            rejected_connections: AtomicU64::new(0),
            migrated_connections: AtomicU64::new(0),
            monitors: Monitors::default(),
            slowlog: Default::default(),
            pubsub: Default::default(),
            last_save: AtomicU64::new(unix_ms() / 1000),
            persist: Default::default(),
            control: Mutex::new(control),
            tcp_port: port,
        }
    }

    pub fn config(&self) -> Arc<Config> {
        self.config.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn config_version(&self) -> u64 {
        self.config_version.load(Ordering::Acquire)
    }

    /// Applies a change to the settings; every core picks the new snapshot up
    /// at its next batch (see [`LocalConfig`]).
    pub fn update_config<R>(&self, f: impl FnOnce(&mut Config) -> R) -> R {
        let mut guard = self.config.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = Config::clone(&guard);
        let r = f(&mut next);
        *guard = Arc::new(next);
        self.config_version.fetch_add(1, Ordering::AcqRel);
        r
    }

    pub fn control(&self, c: Control) {
        let _ = self.control.lock().unwrap_or_else(|p| p.into_inner()).send(c);
    }
}

/// A core's view of the settings: refreshed only when the version moved, so
/// the hot path reads one shared atomic and no lock.
pub struct LocalConfig {
    version: u64,
    current: Arc<Config>,
}

impl LocalConfig {
    pub fn new(shared: &Shared) -> LocalConfig {
        LocalConfig { version: shared.config_version(), current: shared.config() }
    }

    pub fn refresh(&mut self, shared: &Shared) -> &Config {
        let v = shared.config_version();
        if v != self.version {
            self.version = v;
            self.current = shared.config();
        }
        &self.current
    }

    pub fn get(&self) -> &Config {
        &self.current
    }
}

pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn unix_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// 40 hex characters, like Redis's run_id, from the clock and pid.
fn run_id() -> String {
    let mut out = String::with_capacity(40);
    let mut x = unix_us() ^ ((std::process::id() as u64) << 32);
    for _ in 0..40 {
        // xorshift: good enough to tell two runs apart.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(char::from_digit((x & 15) as u32, 16).unwrap_or('0'));
    }
    out
}
