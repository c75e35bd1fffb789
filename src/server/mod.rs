//! The runtime: one glommio executor per shard pinned to its core, every
//! shard listening on the same port (SO_REUSEPORT), a full channel mesh
//! between shards, and the main thread watching signals and shutdown.

pub mod blocking;
pub mod client;
pub mod conn;
pub mod cross;
pub mod dispatch;
pub mod logging;
pub mod merge;
pub mod migrate;
pub mod monitor;
pub mod shared;
pub mod slowlog;
pub mod transport;

mod lockfile;

use std::cell::{Cell, RefCell};
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bytes::BytesMut;
use futures::channel::oneshot;

use glommio::channels::channel_mesh::{MeshBuilder, Senders};
use glommio::{LocalExecutorBuilder, Placement};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::shard::Shard;
use client::Client;
use dispatch::ShardRequest;
use shared::{Control, Shared};

/// What one executor owns, shared by the tasks running on it.
pub struct Core {
    pub id: usize,
    pub shared: Arc<Shared>,
    pub shard: RefCell<Shard>,
    pub mesh: Senders<ShardRequest>,
    /// Connections still open on this core (shutdown waits for them).
    connections: Cell<usize>,
    /// This core's client-socket ring.
    sockets: Rc<transport::SocketRing>,
    /// Shutting down: a connection moving here closes instead.
    stopping: Cell<bool>,
}

/// Returns Pending once (waking itself): every other task already ready
/// runs before the caller goes on.
pub(crate) async fn yield_once() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

thread_local! {
    /// The executor's own core, for tasks spawned from a shard job.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

impl Core {
    /// The core of the executor this runs on. Panics off a shard thread.
    pub fn current() -> Rc<Core> {
        CURRENT.with(|c| c.borrow().clone()).expect("called on a shard thread")
    }

    /// Delivers a message to `shard`: served right here when it is this
    /// core's own, else over the mesh. Err if that shard is gone (shutdown).
    pub async fn send(&self, shard: usize, req: ShardRequest) -> Result<(), crate::tx::coord::Unavailable> {
        if shard == self.id {
            dispatch::serve(&mut self.shard.borrow_mut(), req);
            return Ok(());
        }
        self.mesh.send_to(shard, req).await.map_err(|_| crate::tx::coord::Unavailable)
    }

    /// Asks every shard the same question (outside any transaction), all in
    /// flight at once; the answers in shard order, None if a shard is gone.
    pub async fn gather<T: Send + 'static>(
        &self,
        ask: impl Fn(&mut Shard) -> T + Send + Clone + 'static,
    ) -> Option<Vec<T>> {
        let mut answers = Vec::with_capacity(self.shared.shards);
        for s in 0..self.shared.shards {
            let (done, rx) = oneshot::channel();
            let ask = ask.clone();
            let run = Box::new(move |shard: &mut Shard| drop(done.send(ask(shard))));
            self.send(s, ShardRequest::Job { intents: None, run }).await.ok()?;
            answers.push(rx);
        }
        let mut out = Vec::with_capacity(answers.len());
        for rx in answers {
            out.push(rx.await.ok()?);
        }
        Some(out)
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long all shards may take to join the mesh and bind their listeners.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Mesh queue depth per pair of shards: a full queue makes senders wait,
/// never the receive loop.
const MESH_QUEUE: usize = 1024;

/// Runs the server until shutdown. Blocks the calling thread.
pub fn run(config: Config) -> Result<(), StartError> {
    let shards = match config.shards {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    };
    let candidates = listen_addrs(&config)?;
    std::fs::create_dir_all(&config.dir)
        .map_err(|e| StartError(format!("Can't create the data directory {}: {}", config.dir.display(), e)))?;
    let _lock = lockfile::Lock::take(&config.dir)?;
    let mut addrs = Vec::new();
    for (addr, optional) in candidates {
        match transport::probe_free(addr) {
            Ok(()) => addrs.push(addr),
            // `-addr`: skip it if this host has no such address (as Redis does).
            Err(e) if optional && e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                warn!("skipping optional bind address {}: {}", addr, e)
            }
            Err(e) => {
                return Err(StartError(format!(
                    "Could not listen on {}: {} (is another shardis or redis-server running on this port?)",
                    addr, e
                )))
            }
        }
    }
    if addrs.is_empty() {
        return Err(StartError("none of the bind addresses is available on this host".into()));
    }
    let io_memory = io_memory(&config, shards)?;
    let plan = crate::persist::recover::plan(&config, shards).map_err(StartError)?;
    let (control_tx, control_rx) = mpsc::channel();
    let shared = Arc::new(Shared::new(config.clone(), shards, control_tx));
    crate::persist::recover::note_plan(&shared, &plan);
    shared.persist.logging.store(config.appendonly, Ordering::Release);
    shared.persist.loading.store(shards + plan.resharding() as usize, Ordering::Release);
    let plan = Arc::new(plan);
    watch_signals(shared.clone());

    let mesh = MeshBuilder::full(shards, MESH_QUEUE);
    let beats: Arc<Vec<Heartbeat>> = Arc::new((0..shards).map(|_| Heartbeat::default()).collect());
    let watchdog = WakeWatchdog::start(beats.clone());
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let draining = Arc::new(AtomicUsize::new(shards));
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let mut stops = Vec::new();
    let mut handles = Vec::new();
    for i in 0..shards {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        stops.push(stop_tx);
        let (shared, mesh, addrs, draining, ready) =
            (shared.clone(), mesh.clone(), addrs.clone(), draining.clone(), ready_tx.clone());
        let plan = plan.clone();
        let beats = beats.clone();
        let builder = LocalExecutorBuilder::new(Placement::Fixed(i % cpus))
            .name(&format!("shard-{}", i))
            .io_memory(io_memory)
            .preempt_timer(Duration::from_millis(config.preempt_timer.max(1)))
            .spin_before_park(Duration::from_micros(config.spin_before_park));
        let handle = builder
            .spawn(move || async move {
                spawn_wake_ticker(beats, i);
                shard_main(shared, mesh, addrs, stop_rx, draining, ready, plan).await
            })
            .map_err(|e| StartError(start_failure(&e.to_string(), io_memory, shards)))?;
        handles.push(handle);
    }
    drop(ready_tx);
    for _ in 0..shards {
        // A shard normally reports within milliseconds. glommio 0.9 has been
        // seen (about one start in a few hundred, under load) to leave a new
        // executor asleep in the mesh handshake for good; exit with an error
        // a supervisor can act on rather than hang without listening.
        match ready_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let msg = start_failure(&e, io_memory, shards);
                for s in stops {
                    let _ = s.send(());
                }
                return Err(StartError(msg));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(StartError(format!(
                    "a shard did not start within {:?} (executor stuck in the mesh handshake); exiting",
                    STARTUP_TIMEOUT
                )))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(StartError("a shard failed to start".into())),
        }
    }
    info!(
        port = config.port,
        shards,
        bind = %addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" "),
        "Ready to accept connections tcp"
    );

    // The main thread only waits for the word to stop.
    let save = match control_rx.recv() {
        Ok(Control::Shutdown { save }) => save,
        Err(_) => None,
    };
    tracing::debug!(?save, "shutting down: closing clients and stopping shards");
    // As Redis: SHUTDOWN without SAVE/NOSAVE saves if save points are set.
    let save = save.unwrap_or(!shared.config().save.is_empty());
    shared.persist.save_on_shutdown.store(save, Ordering::Release);
    for stop in stops {
        let _ = stop.send(());
    }
    for h in handles {
        if let Err(e) = h.join() {
            error!("shard exited with an error: {}", e);
        }
    }
    drop(watchdog);
    info!("shardis is now ready to exit, bye bye...");
    Ok(())
}

/// Every `bind` address with the port; `*` means all IPv4 interfaces.
/// With each, whether it is optional (written `-addr`).
fn listen_addrs(config: &Config) -> Result<Vec<(SocketAddr, bool)>, StartError> {
    if config.port == 0 {
        return Err(StartError("port 0 is not supported: shardis serves TCP only".into()));
    }
    let mut out = Vec::new();
    for b in &config.bind {
        let host = b.trim_start_matches('-');
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let resolved = (host, config.port)
            .to_socket_addrs()
            .map_err(|e| StartError(format!("Invalid bind address '{}': {}", b, e)))?;
        out.extend(resolved.take(1).map(|a| (a, b.starts_with('-'))));
    }
    if out.is_empty() {
        return Err(StartError("no bind address".into()));
    }
    Ok(out)
}

/// glommio registers `io_memory` with three rings per shard; all of it must
/// fit under `ulimit -l`. Auto-sizing takes a share of the limit.
fn io_memory(config: &Config, shards: usize) -> Result<usize, StartError> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills the struct we own.
    unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) };
    let memlock = lim.rlim_cur;
    const MIN: u64 = 512 * 1024;
    if memlock < MIN {
        return Err(StartError(format!(
            "the locked-memory limit (ulimit -l) is {} KiB; shardis needs at least {} KiB: raise it \
             (ulimit -l, systemd LimitMEMLOCK=) or run with CAP_IPC_LOCK",
            memlock / 1024,
            MIN / 1024
        )));
    }
    if config.io_memory > 0 {
        return Ok(config.io_memory as usize);
    }
    // Half the limit for the registered buffers, the rest for rings and margin.
    let share = (memlock / 2 / (3 * shards as u64)).clamp(64 * 1024, 10 << 20);
    Ok((share & !4095) as usize)
}

fn start_failure(e: &str, io_memory: usize, shards: usize) -> String {
    if e.contains("MemLock") || e.contains("memlock") || e.contains("Cannot allocate memory") {
        format!(
            "{}: glommio could not lock memory for {} shards × 3 rings × io-memory {} KiB; raise ulimit -l \
             (systemd LimitMEMLOCK=) to at least {} KiB, or lower io-memory / shards",
            e,
            shards,
            io_memory / 1024,
            2 * 3 * shards * io_memory / 1024
        )
    } else {
        e.to_string()
    }
}

/// SIGTERM and SIGINT ask the main thread to shut down, once; a second one
/// while shutting down exits at once.
fn watch_signals(shared: Arc<Shared>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;
    let mut signals = match Signals::new([SIGTERM, SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            warn!("cannot install signal handlers: {}", e);
            return;
        }
    };
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut seen = false;
            for sig in signals.forever() {
                if seen {
                    warn!("second signal: exiting now");
                    std::process::exit(1);
                }
                seen = true;
                let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                tracing::debug!("Received {} scheduling shutdown...", name);
                shared.control(Control::Shutdown { save: None });
            }
        })
        .ok();
}

async fn shard_main(
    shared: Arc<Shared>,
    mesh: MeshBuilder<ShardRequest, glommio::channels::channel_mesh::Full>,
    addrs: Vec<SocketAddr>,
    stop: oneshot::Receiver<()>,
    draining: Arc<AtomicUsize>,
    ready: mpsc::Sender<Result<(), String>>,
    plan: Arc<crate::persist::recover::Plan>,
) {
    let (senders, mut receivers) = match mesh.join().await {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(format!("joining the shard mesh: {}", e)));
            return;
        }
    };
    // The shard id is the mesh peer id: routing (slot mod N) and the mesh agree.
    let id = senders.peer_id();
    let backlog = shared.config().tcp_backlog;
    let sockets = match transport::SocketRing::new() {
        Ok(ring) => ring,
        Err(e) => {
            let _ = ready.send(Err(format!("Could not set up the shard's socket ring: {}", e)));
            return;
        }
    };
    glommio::spawn_local(sockets.clone().drive()).detach();
    let mut listeners = Vec::new();
    for addr in &addrs {
        match transport::bind(&sockets, *addr, backlog) {
            Ok(l) => listeners.push(l),
            Err(e) => {
                let _ = ready.send(Err(format!("Could not listen on {}: {}", addr, e)));
                return;
            }
        }
    }
    let core = Rc::new(Core {
        id,
        shared: shared.clone(),
        shard: RefCell::new(Shard::new(id, shared.clone())),
        mesh: senders,
        connections: Cell::new(0),
        sockets,
        stopping: Cell::new(false),
    });
    for (peer, rx) in receivers.streams() {
        let core = core.clone();
        glommio::spawn_local(async move {
            while let Some(req) = rx.recv().await {
                MESH_SERVED.with(|n| n.set(n.get() + 1));
                dispatch::serve(&mut core.shard.borrow_mut(), req);
            }
            tracing::trace!(shard = core.id, peer, "mesh receiver closed");
        })
        .detach();
    }
    CURRENT.with(|c| *c.borrow_mut() = Some(core.clone()));
    let _ = ready.send(Ok(()));
    drop(ready);
    glommio::spawn_local(crate::persist::flush::run(core.clone())).detach();
    glommio::spawn_local(load(core.clone(), plan)).detach();
    if id == 0 {
        glommio::spawn_local(crate::persist::snapshot::cron(core.clone())).detach();
    }
    spawn_active_expiry(core.clone());

    let accepting: Vec<_> = listeners.into_iter().map(|l| glommio::spawn_local(accept_loop(core.clone(), l))).collect();
    let _ = stop.await;
    for task in accepting {
        task.cancel().await;
    }
    core.stopping.set(true);
    core.shard.borrow().clients.kill_all();
    while core.connections.get() > 0 {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
    // Keep serving other shards' batches until every shard drained its clients.
    draining.fetch_sub(1, Ordering::AcqRel);
    while draining.load(Ordering::Acquire) > 0 {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
    // Shard 0 takes the shutdown snapshot while every shard still serves
    // the mesh; then each writes and syncs what its log still holds.
    let global = &core.shared.persist;
    if core.id == 0 {
        if global.save_on_shutdown.load(Ordering::Acquire) && !global.is_loading() {
            info!("Saving the final snapshot before exiting.");
            if let Err(e) = crate::persist::snapshot::take(&core, crate::persist::snapshot::Reason::Shutdown).await {
                error!("Error trying to save the DB before exiting: {}", e);
            }
        }
        global.shutdown_saved.store(true, Ordering::Release);
    }
    while !global.shutdown_saved.load(Ordering::Acquire) {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
    crate::persist::flush::close(&core).await;
}

/// Loads the shard's data (clients get `-LOADING` meanwhile). After a
/// change of shard count, shard 0 then writes a snapshot in the new layout
/// before anyone may write, and removes the old shards' directories.
async fn load(core: Rc<Core>, plan: Arc<crate::persist::recover::Plan>) {
    use crate::persist::snapshot;
    let started = std::time::Instant::now();
    let keys = match crate::persist::recover::load(&core, plan.clone()).await {
        Ok(keys) => keys,
        Err(e) => {
            error!("Loading failed, refusing to start: {}", e);
            eprintln!("shardis: loading failed, refusing to start: {}", e);
            std::process::exit(1);
        }
    };
    let global = &core.shared.persist;
    global.loaded_keys.fetch_add(keys, Ordering::Relaxed);
    let left = global.loading.fetch_sub(1, Ordering::AcqRel) - 1;
    if plan.resharding() && core.id == 0 {
        while global.loading.load(Ordering::Acquire) > 1 {
            glommio::timer::sleep(Duration::from_millis(5)).await;
        }
        info!(from = plan.shards_before, to = plan.shards, "shard count changed: writing the data in the new layout");
        if let Err(e) = snapshot::take(&core, snapshot::Reason::Reshard).await {
            error!("Could not write the data in the new shard layout, refusing to start: {}", e);
            std::process::exit(1);
        }
        let dir = core.shared.config().dir.clone();
        for old in plan.shards..plan.shards_before {
            let _ = std::fs::remove_dir_all(crate::persist::shard_dir(&dir, old));
        }
        global.loading.fetch_sub(1, Ordering::AcqRel);
    } else if left == 0 {
        info!(
            keys = global.loaded_keys.load(Ordering::Relaxed),
            ms = started.elapsed().as_millis() as u64,
            "DB loaded from disk"
        );
    }
}

/// How often an active shard wakes up even with nothing to do (an idle
/// one: [`IDLE_TICK`]).
///
/// glommio 0.9 sleeps in `io_uring_enter` on its main ring and relies on a
/// poll of its latency ring (where timers and the eventfd of cross-executor
/// wake-ups complete) to be woken; on some kernels that poll is sometimes
/// never signalled (glommio issues #326, #494, #547). The executor then
/// sleeps with work pending: a mesh message, a timer, even a new connection,
/// and every client waiting on it hangs (seen here: one start in thirty hung
/// in the mesh handshake, and cross-shard MSET load stalled for good).
/// Each shard's ticker proves it is awake; a watchdog thread kicks a shard
/// whose ticker stopped with a signal, which interrupts the sleep.
///
/// The ticker is not only a guard for a rare hang: at a moderate rate (20 k
/// requests/s on 10 connections, the shard sleeping between most of them)
/// the shard sleeps through its socket ring's wake-up a few times a second,
/// and the next tick is what wakes it. With the tick at 100 ms, p99 went
/// from about 1 ms to 20-70 ms and the worst request waited ~95 ms, with
/// the socket ring as it is, with `DEFER_TASKRUN`, and with neither
/// `COOP_TASKRUN` nor `DEFER_TASKRUN` alike. A trace shows why: when
/// glommio 0.9's preemption check stops `run_task_queues` before its first
/// task queue, it reports that nothing ran, and the executor parks with
/// the woken tasks still queued (glommio pull request #53, in no release
/// yet). So an active shard ticks every 10 ms, which bounds such a stall
/// at 10 ms.
///
/// An idle shard ticks every [`IDLE_TICK`] instead: each tick is a wake,
/// and a glommio wake costs about 150 µs of CPU on a VM (its timers
/// re-armed, `membarrier`, context switches). At 10 ms always, an idle
/// server of 2 shards took 3.4% of a CPU against Redis's 0.2%.
const WAKE_TICK: Duration = Duration::from_millis(10);

/// The tick of a shard that had no [`activity`] since the last.
const IDLE_TICK: Duration = Duration::from_millis(100);

/// How often the watchdog checks the tickers; a shard whose ticker did not
/// move in that time is kicked (a shard busy that long is kicked for
/// nothing, which costs it one interrupted system call).
const WATCHDOG_EVERY: Duration = Duration::from_millis(300);

/// A shard's thread and its ticker's count, for the watchdog.
#[derive(Default)]
pub struct Heartbeat {
    /// Kernel thread id of the shard's executor; 0 until it runs.
    tid: AtomicI32,
    ticks: AtomicU64,
}

/// Runs the shard's active expiry cycle `hz` times a second (see
/// `shard::expiry`), yielding to clients between slices of work.
fn spawn_active_expiry(core: Rc<Core>) {
    glommio::spawn_local(async move {
        use crate::shard::expiry::{cycle_budget, pause, Cycle};
        let mut cycle = Cycle::default();
        let mut backlog = false;
        let mut last_collect = std::time::Instant::now();
        loop {
            let hz = core.shard.borrow_mut().config.refresh(&core.shared).hz;
            glommio::timer::sleep(pause(hz, backlog)).await;
            core.shard.borrow_mut().stats.sample_rates(std::time::Instant::now());
            if last_collect.elapsed() >= std::time::Duration::from_secs(1) {
                crate::alloc::collect();
                last_collect = std::time::Instant::now();
            }
            let deadline = std::time::Instant::now() + cycle_budget(hz);
            loop {
                if cycle.slice(&mut core.shard.borrow_mut(), shared::unix_ms(), deadline) {
                    cycle = Cycle::default();
                    backlog = false;
                    break;
                }
                // Out of time: the next cycle resumes from the same db.
                if std::time::Instant::now() >= deadline {
                    backlog = true;
                    break;
                }
                glommio::yield_if_needed().await;
            }
        }
    })
    .detach();
}

thread_local! {
    /// Messages this shard served for other shards: with the socket ring's
    /// completions, the activity the wake ticker goes by.
    static MESH_SERVED: Cell<u64> = const { Cell::new(0) };
}

/// Work that came to this shard from outside: socket completions and
/// other shards' messages (a shard with no clients of its own may serve
/// the others' keys).
fn activity() -> u64 {
    transport::completions() + MESH_SERVED.with(Cell::get)
}

/// Ticks in `beats[i]` for as long as the executor runs (it ends with
/// `shard_main`): every [`WAKE_TICK`] while the shard is active (its socket
/// ring completed something, or it served another shard, since the last
/// tick), every [`IDLE_TICK`] otherwise.
pub fn spawn_wake_ticker(beats: Arc<Vec<Heartbeat>>, i: usize) {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
    beats[i].tid.store(tid, Ordering::Release);
    glommio::spawn_local(async move {
        let mut seen = activity();
        loop {
            beats[i].ticks.fetch_add(1, Ordering::Relaxed);
            let now = activity();
            let tick = if now != seen { WAKE_TICK } else { IDLE_TICK };
            seen = now;
            glommio::timer::sleep(tick).await;
        }
    })
    .detach();
}

/// The signal that interrupts a stuck shard's `io_uring_enter`. Its handler
/// does nothing and is installed without `SA_RESTART`, so the wait returns
/// `EINTR`, which glommio treats as a wake-up.
const KICK_SIGNAL: i32 = libc::SIGURG;

extern "C" fn ignore_kick(_: i32) {}

pub struct WakeWatchdog {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WakeWatchdog {
    pub fn start(beats: Arc<Vec<Heartbeat>>) -> WakeWatchdog {
        // SAFETY: a handler that does nothing, installed before any shard runs.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = ignore_kick as extern "C" fn(i32) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0;
            libc::sigaction(KICK_SIGNAL, &action, std::ptr::null_mut());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wake-watchdog".into())
            .spawn(move || {
                let pid = std::process::id() as libc::pid_t;
                let mut last: Vec<u64> = beats.iter().map(|b| b.ticks.load(Ordering::Relaxed)).collect();
                while !stopping.load(Ordering::Acquire) {
                    std::thread::sleep(WATCHDOG_EVERY);
                    for (beat, last) in beats.iter().zip(last.iter_mut()) {
                        let ticks = beat.ticks.load(Ordering::Relaxed);
                        let tid = beat.tid.load(Ordering::Acquire);
                        if ticks == *last && tid != 0 {
                            tracing::trace!(tid, "kicking a shard whose timer did not fire");
                            // SAFETY: tgkill on a thread of this process; if it
                            // has exited meanwhile the call fails with ESRCH.
                            unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, KICK_SIGNAL) };
                        }
                        *last = ticks;
                    }
                }
            })
            .ok();
        WakeWatchdog { stop, thread }
    }
}

impl Drop for WakeWatchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(core: Rc<Core>, listener: transport::Listener) {
    loop {
        let keepalive = core.shard.borrow_mut().config.refresh(&core.shared).tcp_keepalive;
        let io = match listener.accept(keepalive).await {
            Ok(io) => io,
            Err(e) => {
                warn!("accept failed: {}", e);
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = &core.shared;
        let (maxclients, needs_auth) = {
            let mut shard = core.shard.borrow_mut();
            shard.stats.connections_received += 1;
            let c = shard.config.refresh(shared);
            (c.maxclients, c.requirepass.is_some())
        };
        if shared.connected_clients.fetch_add(1, Ordering::AcqRel) >= maxclients {
            shared.connected_clients.fetch_sub(1, Ordering::AcqRel);
            shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
            glommio::spawn_local(async move {
                let mut io = io;
                let _ = io.write_all(b"-ERR max number of clients reached\r\n").await;
            })
            .detach();
            continue;
        }
        let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
        let client = Rc::new(Client::new(id, io.peer, io.local, io.fd(), !needs_auth));
        serve_client(core.clone(), io, client, BytesMut::new());
    }
}

/// Serves a client on this core until it leaves, or until it moves to the
/// core that owns its keys (`migrate`). `query`: what it sent already.
fn serve_client(core: Rc<Core>, io: transport::Conn, client: Rc<Client>, query: BytesMut) {
    let id = client.id;
    core.shard.borrow_mut().clients.add(client.clone());
    core.connections.set(core.connections.get() + 1);
    glommio::spawn_local(async move {
        let moving = conn::Connection::new(core.clone(), io, client, query).serve().await;
        core.shard.borrow_mut().clients.remove(id);
        match moving {
            Some((shard, arrival)) => migrate::send(&core, shard, arrival).await,
            None => {
                core.shared.connected_clients.fetch_sub(1, Ordering::AcqRel);
            }
        }
        core.connections.set(core.connections.get() - 1);
    })
    .detach();
}
