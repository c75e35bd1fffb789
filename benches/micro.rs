//! Micro-benchmarks of the crate's hot paths (issue 7), each calling the
//! real code of `shardis`:
//!
//! - `parse`: `resp::Parser::next` over a 16-command SET/GET/INCR pipeline
//!   and over one `SET k <1 MB>` (throughput in bytes). Arguments are slices
//!   of the read buffer, never copies, so the 1 MB bulk costs its header
//!   lines and one split: its "throughput" only shows that the parser does
//!   not touch the data;
//! - `route`: the command table lookup (`GET`, `get`, `ZRANGEBYSCORE`) and
//!   a 16-byte key's slot;
//! - `reply`: `resp::Reply` writing +OK, an integer, a double, a 64-byte
//!   bulk and an array of 100 such bulks, in RESP2 and RESP3;
//! - `strings`, `zset`, `list`: GET/SET/INCR on a 1 M-key shard, ZADD and
//!   ZRANGEBYSCORE … LIMIT 0 10 on a 1 M-member sorted set, LPUSH+LPOP on a
//!   1 M-element list, all through `server::dispatch::execute`, the function
//!   a shard runs every batch with (batches of 1 and of 16 commands, keys and
//!   members drawn at random from those loaded; throughput in commands);
//! - `mesh`: one round trip between two glommio executors on their own
//!   threads joined by a `channel_mesh`, as the server wires its shards: a
//!   `ShardRequest` goes to the other core, which serves it with
//!   `dispatch::serve` and answers on a oneshot (throughput in round trips);
//!   a bare job and a one-GET batch, with the executors parking when idle
//!   (the server's default) and spinning 10 ms before parking.
//!
//! Run everything (about 2 minutes on 2 cores):
//!
//! ```text
//! cargo bench --bench micro
//! cargo bench --bench micro -- strings/      # one group
//! cargo bench --bench micro -- --test        # each once, as a CI check
//! ```
//!
//! Data sets are built before a group's first measurement and never timed.
//! With `--test` they hold 10 000 elements instead of 1 M, so the check
//! stays quick.

use std::hint::black_box;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput};
use futures::channel::oneshot;
use glommio::channels::channel_mesh::{MeshBuilder, Senders};
use glommio::{LocalExecutorBuilder, Placement};

use shardis::cmd::registry;
use shardis::config::Config;
use shardis::resp::{ParseLimits, Parser, Proto, Reply};
use shardis::server::dispatch::{self, BatchOutput, ShardBatch, ShardCmd, ShardRequest};
use shardis::server::shared::Shared;
use shardis::server::{spawn_wake_ticker, Heartbeat, WakeWatchdog};
use shardis::shard::Shard;

/// Keys, members and list elements in each data set.
fn population() -> usize {
    if std::env::args().any(|a| a == "--test") {
        10_000
    } else {
        1_000_000
    }
}

/// Commands per pre-built pool: enough distinct random keys that the
/// measured loop does not just revisit a few cached entries.
const POOL: usize = 1 << 16;

#[path = "support/resp.rs"]
mod resp;
#[path = "support/rng.rs"]
mod rng;
use resp::encode;
use rng::Rng;

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:012}").into_bytes() // 16 bytes, as benches/memory.py
}

fn counter(i: usize) -> Vec<u8> {
    format!("ctr:{i:012}").into_bytes()
}

fn member(i: usize) -> Vec<u8> {
    format!("mem:{i:012}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    format!("{}{i:012}", "v".repeat(20)).into_bytes() // 32 bytes
}

fn args(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

// ---------------------------------------------------------------- parsing

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let mut pipeline = Vec::new();
    for i in 0..16 {
        let k = key(i * 7919);
        match i % 3 {
            0 => encode(&[b"SET", &k, &value(i)], &mut pipeline),
            1 => encode(&[b"GET", &k], &mut pipeline),
            _ => encode(&[b"INCR", &counter(i)], &mut pipeline),
        }
    }
    parse_bench(&mut g, "pipeline_16_set_get_incr", &pipeline, 16, BatchSize::SmallInput);
    let mut big = Vec::new();
    encode(&[b"SET", b"k", &vec![b'x'; 1 << 20]], &mut big);
    parse_bench(&mut g, "set_1mb_bulk", &big, 1, BatchSize::LargeInput);
    g.finish();
}

/// Parses all of `input` (`commands` of them) from a fresh buffer per
/// iteration, as a connection does after a read: each command is split off
/// the buffer and its arguments dropped once "executed". Copying the input
/// into the buffer is setup, not measured.
fn parse_bench(g: &mut BenchmarkGroup<WallTime>, name: &str, input: &[u8], commands: usize, size: BatchSize) {
    let limits = ParseLimits::default();
    let mut parser = Parser::new();
    let mut argv = Vec::with_capacity(8);
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function(name, |b| {
        b.iter_batched_ref(
            || BytesMut::from(input),
            |buf| {
                let mut parsed = 0;
                while let Some(argc) = parser.next(buf, &mut argv, &limits).expect("valid RESP") {
                    parsed += argc;
                    argv.clear();
                }
                black_box(parsed)
            },
            size,
        )
    });
    // The measured loop must have parsed every command, and only those.
    let mut buf = BytesMut::from(input);
    let mut n = 0;
    while parser.next(&mut buf, &mut argv, &limits).expect("valid RESP").is_some() {
        n += 1;
        argv.clear();
    }
    assert_eq!((n, buf.len()), (commands, 0));
}

// ---------------------------------------------------------------- routing

/// What a connection does with every command before it runs: find it in
/// the command table (name in the client's case) and hash its key to a
/// slot (with more than one shard).
fn route(c: &mut Criterion) {
    let mut g = c.benchmark_group("route");
    let table = registry();
    let commands: [&[&[u8]]; 3] = [&[b"GET", b"k"], &[b"get", b"k"], &[b"ZRANGEBYSCORE", b"k", b"0", b"1"]];
    for command in commands {
        let argv = args(command);
        assert!(table.lookup(&argv).is_ok(), "a hit with a valid arity is what is measured");
        g.bench_function(format!("lookup/{}", String::from_utf8_lossy(command[0])), |b| {
            b.iter(|| black_box(table.lookup(black_box(&argv)).is_ok()))
        });
    }
    let k = key(123_456);
    g.bench_function(format!("key_slot/{}b", k.len()), |b| {
        b.iter(|| black_box(shardis::slot::key_slot(black_box(&k))))
    });
    g.finish();
}

// ---------------------------------------------------------------- replies

fn reply(c: &mut Criterion) {
    let mut g = c.benchmark_group("reply");
    let bulk = value(42).repeat(2); // 64 bytes
    let mut buf = Vec::with_capacity(16 << 10);
    for (proto, name) in [(Proto::Resp2, "resp2"), (Proto::Resp3, "resp3")] {
        let mut bench = |what: &str, write: &dyn Fn(&mut Reply)| {
            g.bench_function(format!("{what}/{name}"), |b| {
                b.iter(|| {
                    buf.clear();
                    write(&mut Reply::new(&mut buf, proto));
                    black_box(buf.len())
                })
            });
        };
        bench("ok", &|r| r.ok());
        bench("int", &|r| r.int(black_box(1_234_567_890)));
        bench("double", &|r| r.double(black_box(1234.5678)));
        bench("bulk_64", &|r| r.bulk(black_box(&bulk)));
        bench("array_100_bulks", &|r| {
            r.array(100);
            for _ in 0..100 {
                r.bulk(black_box(&bulk));
            }
        });
    }
    g.finish();
}

// ---------------------------------------------------------------- handlers

/// A shard as a server core has it, with nothing else around: one core's
/// keyspace and settings (persistence off, `Config::default()`).
struct Fixture {
    shard: Shard,
    out: BatchOutput,
    _control: mpsc::Receiver<shardis::server::shared::Control>,
}

impl Fixture {
    fn new() -> Fixture {
        let (tx, control) = mpsc::channel();
        let shared = Arc::new(Shared::new(Config::default(), 1, tx));
        Fixture { shard: Shard::new(0, shared), out: BatchOutput::default(), _control: control }
    }

    /// Loads `count` elements through the command path, 1000 per batch.
    fn load(&mut self, count: usize, command: impl Fn(usize) -> Vec<Bytes>) {
        for start in (0..count).step_by(1000) {
            self.run(&batch((start..count.min(start + 1000)).map(&command)));
        }
    }

    /// Runs one batch and checks that no reply is an error: a benchmark of
    /// the error path would be worthless.
    fn run(&mut self, batch: &ShardBatch) {
        self.execute(batch);
        let replies = (0..self.out.ends.len() as u32).map(|i| self.out.reply(i));
        for r in replies {
            assert!(!r.starts_with(b"-"), "error reply: {}", String::from_utf8_lossy(r));
        }
    }

    fn execute(&mut self, batch: &ShardBatch) {
        self.out.clear();
        dispatch::execute(&mut self.shard, batch, &mut self.out);
    }

    /// Measures batches of `per_batch` commands made by `command` from a
    /// random number below `range`, cycling through a pre-built pool.
    fn bench(
        &mut self,
        g: &mut BenchmarkGroup<WallTime>,
        name: &str,
        per_batch: usize,
        range: usize,
        command: impl Fn(&mut Rng, usize) -> Vec<Vec<Bytes>>,
    ) {
        let mut rng = Rng(name.len() as u64 * 7 + per_batch as u64);
        let batches: Vec<ShardBatch> =
            (0..POOL / per_batch).map(|_| batch((0..per_batch).flat_map(|_| command(&mut rng, range)))).collect();
        let commands = batches[0].cmds.len();
        self.run(&batches[0]);
        g.throughput(Throughput::Elements(commands as u64));
        let mut next = batches.iter().cycle();
        g.bench_function(format!("{name}/batch_{commands}"), |b| b.iter(|| self.execute(next.next().expect("cycle"))));
    }
}

/// A batch as a connection routes it to a shard: db 0, RESP2, counted.
fn batch(commands: impl IntoIterator<Item = Vec<Bytes>>) -> ShardBatch {
    let mut b = ShardBatch::default();
    for argv in commands {
        let id = registry().lookup(&argv).expect("a known command with a valid arity").id;
        let start = b.args.len() as u32;
        let argc = argv.len() as u32;
        b.args.extend(argv);
        b.cmds.push(ShardCmd { id, start, argc, db: 0, proto: Proto::Resp2, counted: true, client_id: 1 });
    }
    b
}

fn strings(c: &mut Criterion) {
    let mut g = c.benchmark_group("strings");
    let n = population();
    let mut fx = Fixture::new();
    fx.load(n, |i| args(&[b"SET", &key(i), &value(i)]));
    fx.load(n, |i| args(&[b"SET", &counter(i), b"0"]));
    for per in [1, 16] {
        fx.bench(&mut g, "get", per, n, |r, n| vec![args(&[b"GET", &key(r.below(n as u64) as usize)])]);
        fx.bench(&mut g, "set", per, n, |r, n| {
            vec![args(&[b"SET", &key(r.below(n as u64) as usize), &value(r.below(n as u64) as usize)])]
        });
        fx.bench(&mut g, "incr", per, n, |r, n| vec![args(&[b"INCR", &counter(r.below(n as u64) as usize)])]);
    }
    g.finish();
}

fn zset(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset");
    let n = population();
    let mut fx = Fixture::new();
    fx.load(n, |i| args(&[b"ZADD", b"z", i.to_string().as_bytes(), &member(i)]));
    // An existing member gets a new score: the set stays at n members.
    let zadd = |r: &mut Rng, n: usize| {
        vec![args(&[
            b"ZADD",
            b"z",
            (r.below(n as u64) as usize).to_string().as_bytes(),
            &member(r.below(n as u64) as usize),
        ])]
    };
    let range = |r: &mut Rng, n: usize| {
        vec![args(&[
            b"ZRANGEBYSCORE",
            b"z",
            (r.below(n as u64) as usize).to_string().as_bytes(),
            b"+inf",
            b"LIMIT",
            b"0",
            b"10",
        ])]
    };
    for per in [1, 16] {
        fx.bench(&mut g, "zadd_update", per, n, zadd);
        fx.bench(&mut g, "zrangebyscore_limit_10", per, n, range);
    }
    g.finish();
}

fn list(c: &mut Criterion) {
    let mut g = c.benchmark_group("list");
    let n = population();
    let mut fx = Fixture::new();
    fx.load(n, |i| args(&[b"RPUSH", b"l", &value(i)]));
    // A push then a pop: the list stays at n elements.
    let pair = |r: &mut Rng, n: usize| {
        vec![args(&[b"LPUSH", b"l", &value(r.below(n as u64) as usize)]), args(&[b"LPOP", b"l"])]
    };
    for per in [1, 8] {
        fx.bench(&mut g, "lpush_lpop", per, n, pair);
    }
    // redis-benchmark's LRANGE_100: the first 100 of a long list of
    // 3-byte elements, where replying is the work.
    fx.load(n, |_| args(&[b"RPUSH", b"xxx_list", b"xxx"]));
    fx.bench(&mut g, "lrange_100", 16, n, |_, _| vec![args(&[b"LRANGE", b"xxx_list", b"0", b"99"])]);
    g.finish();
}

// ---------------------------------------------------------------- mesh

/// Two executors joined by a mesh as `server::run` builds them (with its
/// wake ticker and watchdog, which glommio's lost wake-ups need): the home
/// core sends requests to the remote core, whose receive loop serves them
/// with `dispatch::serve` on its own `Shard`.
struct Mesh {
    /// How many round trips of which kind to run next; answered on `took`.
    ask: mpsc::Sender<(Trip, u64)>,
    took: mpsc::Receiver<Duration>,
    threads: Vec<glommio::ExecutorJoinHandle<()>>,
    _watchdog: WakeWatchdog,
}

#[derive(Clone, Copy)]
enum Trip {
    /// A batch of one GET: a cross-shard command's hop as a client sees it.
    Batch,
    /// A job that only answers: the hop alone.
    Job,
}

/// Registered I/O memory per executor: the server's auto-size for 2 shards
/// under the 8 MiB memlock limit of the machines this runs on is ~680 KiB.
const IO_MEMORY: usize = 256 << 10;

impl Mesh {
    /// `spin`: the executors' spin-before-park (the server's default is 0:
    /// an idle core sleeps, and a message has to wake it).
    fn start(spin: Duration) -> Mesh {
        let mesh = MeshBuilder::<ShardRequest, _>::full(2, 1024);
        let (tx, control) = mpsc::channel();
        let shared = Arc::new(Shared::new(Config::default(), 2, tx));
        let beats: Arc<Vec<Heartbeat>> = Arc::new((0..2).map(|_| Heartbeat::default()).collect());
        let watchdog = WakeWatchdog::start(beats.clone());
        let (ask, asked) = mpsc::channel();
        let (tell, took) = mpsc::channel();
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let builder = |i: usize| {
            LocalExecutorBuilder::new(Placement::Fixed(i % cpus))
                .name(&format!("bench-shard-{i}"))
                .io_memory(IO_MEMORY)
                .preempt_timer(Duration::from_millis(1))
                .spin_before_park(spin)
        };
        let (remote_mesh, remote_beats) = (mesh.clone(), beats.clone());
        let remote = builder(1)
            .spawn(move || async move {
                let _control = control;
                spawn_wake_ticker(remote_beats, 1);
                let (_senders, mut receivers) = remote_mesh.join().await.expect("join the mesh");
                let mut shard = Shard::new(1, shared);
                let mut out = BatchOutput::default();
                dispatch::execute(&mut shard, &batch([args(&[b"SET", b"k", &value(1)])]), &mut out);
                // The server's receive loop, for the one peer there is.
                let (_, rx) = receivers.streams().pop().expect("a stream from the home core");
                while let Some(req) = rx.recv().await {
                    dispatch::serve(&mut shard, req);
                }
            })
            .expect("start the remote executor");
        let home = builder(0)
            .spawn(move || async move {
                spawn_wake_ticker(beats, 0);
                let (senders, _receivers) = mesh.join().await.expect("join the mesh");
                // Peer ids follow the order of joining: the other one is the remote core.
                let remote = 1 - senders.peer_id();
                loop {
                    let (trip, n) = match asked.try_recv() {
                        Ok(ask) => ask,
                        Err(mpsc::TryRecvError::Empty) => {
                            glommio::timer::sleep(Duration::from_millis(1)).await;
                            continue;
                        }
                        Err(mpsc::TryRecvError::Disconnected) => return,
                    };
                    let start = Instant::now();
                    for _ in 0..n {
                        round_trip(&senders, remote, trip).await;
                    }
                    let _ = tell.send(start.elapsed());
                }
            })
            .expect("start the home executor");
        Mesh { ask, took, threads: vec![home, remote], _watchdog: watchdog }
    }

    fn run(&self, trip: Trip, n: u64) -> Duration {
        self.ask.send((trip, n)).expect("home executor alive");
        self.took.recv().expect("home executor alive")
    }

    /// Closing `ask` ends the home loop; its senders dropping ends the
    /// remote receive loop.
    fn stop(self) {
        drop(self.ask);
        for t in self.threads {
            t.join().expect("executor thread");
        }
    }
}

async fn round_trip(senders: &Senders<ShardRequest>, remote: usize, trip: Trip) {
    match trip {
        Trip::Batch => {
            let (done, rx) = oneshot::channel();
            let batch = batch([args(&[b"GET", b"k"])]);
            senders.send_to(remote, ShardRequest::Batch { batch, done }).await.expect("remote core alive");
            black_box(rx.await.expect("the batch's replies"));
        }
        Trip::Job => {
            let (done, rx) = oneshot::channel();
            let run = Box::new(move |_: &mut Shard| {
                let _ = done.send(());
            });
            senders.send_to(remote, ShardRequest::Job { intents: None, run }).await.expect("remote core alive");
            rx.await.expect("an answer");
        }
    }
}

fn mesh(c: &mut Criterion) {
    let mut g = c.benchmark_group("mesh");
    g.throughput(Throughput::Elements(1));
    for (name, spin) in [("parked", Duration::ZERO), ("spinning", Duration::from_millis(10))] {
        let mesh = Mesh::start(spin);
        g.bench_function(format!("job_round_trip/{name}"), |b| b.iter_custom(|n| mesh.run(Trip::Job, n)));
        g.bench_function(format!("get_batch_round_trip/{name}"), |b| b.iter_custom(|n| mesh.run(Trip::Batch, n)));
        mesh.stop();
    }
    g.finish();
}

/// Short runs: the whole file in about 2 minutes on a 2-core machine.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, route, reply, strings, zset, list, mesh
}
criterion_main!(benches);
