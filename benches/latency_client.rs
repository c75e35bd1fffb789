//! Paced load client for `benches/latency.py`: GET and SET at a fixed total
//! rate over a few connections, latency measured from each request's
//! *scheduled* send time, so a server stall is charged to every request that
//! should have gone out during it (no coordinated omission).
//!
//! Each connection has its own thread and schedule (`rate / connections`
//! requests/s, the connections' schedules interleaved). It sleeps until the
//! next request is due, sends every request that is due by then in one
//! write, and reads their replies before sleeping again: normally one
//! request per write; after a stall the overdue ones go out at once, as
//! they would from independent clients. Latency = reply read − scheduled
//! time; how late the sends themselves were ("send lag": this client's own
//! pacing error, part of the latency) is reported too.
//!
//! Requests alternate GET and SET on random keys out of `--keyspace`
//! (16-byte keys, 32-byte values, as `benches/memory.py`); `--preload` first
//! SETs every key, pipelined, so that GETs hit (with `--warmup 0 --seconds 0`
//! it does only that).
//!
//! Output: one line of `name=value` pairs (latencies in µs), read by
//! latency.py. Histograms are log-bucketed by hand as HDR histograms are:
//! 64 linear sub-buckets per power of two (values within 1.6%).
//!
//! ```text
//! cargo bench --bench latency_client -- --port 6379 --rate 20000 --connections 10 \
//!     --warmup 2 --seconds 10 --keyspace 100000 --preload
//! ```

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[path = "support/resp.rs"]
mod resp;
#[path = "support/rng.rs"]
mod rng;
use resp::encode;
use rng::Rng;

struct Opts {
    host: String,
    /// None: no server named, nothing to do (`cargo bench` running every
    /// bench target, or `cargo test --benches`).
    port: Option<u16>,
    connections: usize,
    rate: f64,
    warmup: f64,
    seconds: f64,
    keyspace: u64,
    preload: bool,
}

fn opts() -> Opts {
    let mut o = Opts {
        host: "127.0.0.1".into(),
        port: None,
        connections: 10,
        rate: 20_000.0,
        warmup: 2.0,
        seconds: 10.0,
        keyspace: 100_000,
        preload: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| die(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--host" => o.host = value(),
            "--port" => o.port = Some(number(&value())),
            "--connections" => o.connections = number(&value()),
            "--rate" => o.rate = number(&value()),
            "--warmup" => o.warmup = number(&value()),
            "--seconds" => o.seconds = number(&value()),
            "--keyspace" => o.keyspace = number(&value()),
            "--preload" => o.preload = true,
            // `cargo bench` passes --bench to a harness-less bench target.
            "--bench" => {}
            _ => die(&format!("unknown argument {flag}")),
        }
    }
    if o.connections == 0 || o.rate <= 0.0 || o.keyspace == 0 {
        die("--connections, --rate and --keyspace must be positive");
    }
    o
}

fn number<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| die(&format!("not a number: {s}")))
}

fn die(msg: &str) -> ! {
    eprintln!("latency_client: {msg}");
    std::process::exit(2)
}

// ---------------------------------------------------------------- histogram

/// Sub-buckets per power of two: 2^SUB_BITS.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

/// Counts of nanosecond values: values below 2·SUB exactly, above that in
/// SUB linear buckets per power of two.
struct Histogram {
    counts: Vec<u64>,
    max: u64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram { counts: vec![0; bucket(u64::MAX) + 1], max: 0 }
    }

    fn record(&mut self, ns: u64) {
        self.counts[bucket(ns)] += 1;
        self.max = self.max.max(ns);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max = self.max.max(other.max);
    }

    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The value at quantile `q`: the highest value of its bucket (never
    /// below the truth), capped at the exact maximum.
    fn quantile(&self, q: f64) -> u64 {
        let rank = ((q * self.count() as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_high(i).min(self.max);
            }
        }
        self.max
    }
}

fn bucket(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS; // >= 1
    (shift as u64 * SUB + (v >> shift)) as usize
}

fn bucket_high(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let shift = i / SUB - 1;
    let top = i - shift * SUB;
    ((top + 1) << shift) - 1
}

// ---------------------------------------------------------------- replies

/// Length of the complete reply at the front of `buf`, and whether it is an
/// error; None if incomplete. Only what GET and SET answer: simple strings,
/// errors, integers and bulks.
fn reply_len(buf: &[u8]) -> Option<(usize, bool)> {
    let line = buf.windows(2).position(|w| w == b"\r\n")? + 2;
    match buf[0] {
        b'$' => {
            let n: i64 = std::str::from_utf8(&buf[1..line - 2]).ok()?.parse().ok()?;
            let total = if n < 0 { line } else { line + n as usize + 2 };
            (buf.len() >= total).then_some((total, false))
        }
        b'+' | b':' => Some((line, false)),
        b'-' => Some((line, true)),
        other => die(&format!("unexpected reply type {:?}", other as char)),
    }
}

fn key(i: u64) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

fn value(i: u64) -> Vec<u8> {
    format!("{}{i:012}", "v".repeat(20)).into_bytes()
}

// ---------------------------------------------------------------- connections

struct Conn {
    sock: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(o: &Opts, port: u16) -> Conn {
        let sock = TcpStream::connect((o.host.as_str(), port))
            .unwrap_or_else(|e| die(&format!("connect {}:{port}: {e}", o.host)));
        sock.set_nodelay(true).ok();
        // A server that stops answering ends the run instead of hanging it.
        sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
        Conn { sock, buf: Vec::with_capacity(64 << 10) }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.sock.write_all(bytes).unwrap_or_else(|e| die(&format!("write: {e}")));
    }

    /// Blocks until the next complete reply; true if it was an error.
    fn reply(&mut self) -> bool {
        loop {
            if let Some((len, error)) = reply_len(&self.buf) {
                self.buf.drain(..len);
                return error;
            }
            let mut chunk = [0u8; 16 << 10];
            match self.sock.read(&mut chunk) {
                Ok(0) => die("server closed the connection"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => die(&format!("read: {e}")),
            }
        }
    }
}

fn preload(o: &Opts, port: u16) {
    let mut c = Conn::open(o, port);
    let mut out = Vec::new();
    for start in (0..o.keyspace).step_by(1000) {
        out.clear();
        let end = o.keyspace.min(start + 1000);
        for i in start..end {
            encode(&[b"SET", &key(i), &value(i)], &mut out);
        }
        c.send(&out);
        for _ in start..end {
            if c.reply() {
                die("error reply while preloading");
            }
        }
    }
}

struct Results {
    latency: Histogram,
    lag: Histogram,
    errors: u64,
}

/// One connection's paced run; only requests scheduled after the warm-up
/// are recorded.
fn drive(o: &Opts, index: usize, mut conn: Conn, start: Instant) -> Results {
    let interval = Duration::from_secs_f64(o.connections as f64 / o.rate);
    let first = start + interval.mul_f64(index as f64 / o.connections as f64);
    let measured_from = start + Duration::from_secs_f64(o.warmup);
    let end = measured_from + Duration::from_secs_f64(o.seconds);
    let mut rng = Rng(index as u64 + 1);
    let mut r = Results { latency: Histogram::new(), lag: Histogram::new(), errors: 0 };
    let mut due = VecDeque::new();
    let mut out = Vec::new();
    let mut k: u32 = 0;
    loop {
        let next = first + interval * k;
        if next >= end {
            return r;
        }
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        let now = Instant::now();
        out.clear();
        while first + interval * k <= now && first + interval * k < end {
            let n = rng.below(o.keyspace);
            match k % 2 {
                0 => encode(&[b"GET", &key(n)], &mut out),
                _ => encode(&[b"SET", &key(n), &value(n)], &mut out),
            }
            due.push_back(first + interval * k);
            k += 1;
        }
        conn.send(&out);
        for &d in &due {
            if d >= measured_from {
                r.lag.record((now - d).as_nanos() as u64);
            }
        }
        while let Some(d) = due.pop_front() {
            let error = conn.reply();
            if d >= measured_from {
                r.latency.record((Instant::now() - d).as_nanos() as u64);
                r.errors += error as u64;
            }
        }
    }
}

fn main() {
    let o = opts();
    let Some(port) = o.port else {
        println!("latency_client: a load client for benches/latency.py; give it --port to run (see its docs)");
        return;
    };
    // Sleeps end within 1 µs of the deadline instead of the default 50 µs
    // timer slack, which would otherwise show up as latency of every server.
    // SAFETY: prctl with PR_SET_TIMERSLACK takes a plain integer.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong) };
    if o.preload {
        preload(&o, port);
    }
    let conns: Vec<Conn> = (0..o.connections).map(|_| Conn::open(&o, port)).collect();
    let start = Instant::now() + Duration::from_millis(20);
    let results: Vec<Results> = std::thread::scope(|s| {
        let o = &o;
        let handles: Vec<_> =
            conns.into_iter().enumerate().map(|(i, c)| s.spawn(move || drive(o, i, c, start))).collect();
        handles.into_iter().map(|h| h.join().expect("connection thread")).collect()
    });
    let mut all = Results { latency: Histogram::new(), lag: Histogram::new(), errors: 0 };
    for r in &results {
        all.latency.merge(&r.latency);
        all.lag.merge(&r.lag);
        all.errors += r.errors;
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    let n = all.latency.count();
    println!(
        "requests={n} rate={:.0} errors={} p50_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} \
         lag_p99_us={:.1} lag_max_us={:.1}",
        if o.seconds > 0.0 { n as f64 / o.seconds } else { 0.0 },
        all.errors,
        us(all.latency.quantile(0.50)),
        us(all.latency.quantile(0.99)),
        us(all.latency.quantile(0.999)),
        us(all.latency.max),
        us(all.lag.quantile(0.99)),
        us(all.lag.max),
    );
}
