//! A real `redis-server` as an oracle, and byte-level helpers to compare
//! shardis's replies with it: send the same bytes to both, expect the same
//! bytes back, and the same closing of the connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// A `redis-server` child process on a free port, killed on drop.
pub struct RedisServer {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// The `redis-server` binary, if installed (PATH or /usr/bin).
pub fn redis_server_binary() -> Option<PathBuf> {
    find_binary("redis-server")
}

pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

impl RedisServer {
    /// Starts `redis-server` without persistence plus `extra` flags, or
    /// returns None (with a note) when it is not installed.
    pub fn start(extra: &[&str]) -> Option<RedisServer> {
        let Some(bin) = redis_server_binary() else {
            eprintln!("note: redis-server not installed; comparing with literal expectations only");
            return None;
        };
        // A port taken before redis-server binds it makes it exit: retry.
        for attempt in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
                "--dir".into(),
                dir.path().display().to_string(),
                "--loglevel".into(),
                "warning".into(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let child = Command::new(&bin).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
            let mut server = RedisServer { child, port, dir };
            match server.wait_ready() {
                Ok(()) => return Some(server),
                Err(status) if attempt < 4 => eprintln!("redis-server exited during start ({}); retrying", status),
                Err(status) => panic!("redis-server exited during start: {}", status),
            }
        }
        unreachable!("the last attempt panics")
    }

    /// Err with the exit status if it exited during start.
    fn wait_ready(&mut self) -> Result<(), std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(status);
            }
            if super::answers_ping("127.0.0.1", self.port).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not become ready on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection for exact-byte exchanges.
pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Writes `bytes`, ignoring a failure: the server may close the connection
/// (protocol error, query buffer limit) before it read everything.
pub fn send_lenient(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

/// Reads exactly `n` bytes, or what came before the connection ended or
/// 10 s passed without a byte.
pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match s.read(&mut out[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A timeout or a reset: the caller's comparison shows what came.
            Err(e) => {
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                    eprintln!("read timed out after {} of {} bytes", got, n);
                }
                break;
            }
        }
    }
    out.truncate(got);
    out
}

/// Reads until the server closes the connection (EOF or reset); panics if it
/// stays open for 10 s. Returns what was read before.
pub fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("connection still open after 10 s; read so far: {:?}", String::from_utf8_lossy(&out))
            }
            Err(_) => return out,
        }
    }
}

/// The length of the one complete RESP2/RESP3 frame at the start of `buf`.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    shardis::server::merge::frame_len(buf)
}

/// Splits a reply stream into frames; a trailing incomplete frame, if any,
/// is returned whole as the last element.
pub fn split_frames(mut buf: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while !buf.is_empty() {
        let n = frame_len(buf).unwrap_or(buf.len());
        frames.push(buf[..n].to_vec());
        buf = &buf[n..];
    }
    frames
}

/// Reads exactly `n` reply frames, parsing as it goes; panics on a timeout,
/// on EOF, or if more bytes than the `n` frames arrived.
pub fn read_frames(s: &mut TcpStream, n: usize) -> Vec<Vec<u8>> {
    let mut frames = Vec::with_capacity(n);
    let mut pending: Vec<u8> = Vec::new();
    let mut at = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while frames.len() < n {
        if let Some(len) = frame_len(&pending[at..]) {
            frames.push(pending[at..at + len].to_vec());
            at += len;
            continue;
        }
        pending.drain(..at);
        at = 0;
        match s.read(&mut buf) {
            Ok(0) => panic!("connection closed after {} of {} replies", frames.len(), n),
            Ok(k) => pending.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("reading reply {} of {}: {}", frames.len() + 1, n, e),
        }
    }
    assert_eq!(
        at,
        pending.len(),
        "unexpected bytes after {} replies: {:?}",
        n,
        String::from_utf8_lossy(&pending[at..])
    );
    frames
}

/// A request whose reply ends every exchange that leaves the connection
/// open, to show that nothing more came and that it is still open.
pub const PING: (&[u8], &[u8]) = (b"PING\r\n", b"+PONG\r\n");

/// Sends `req` on a fresh connection and reads `expected_len` reply bytes;
/// then, if `closed`, everything until the server closes the connection,
/// else the reply to `probe.0`, expected to be `probe.1`.
pub fn exchange(port: u16, req: &[u8], expected_len: usize, closed: bool, probe: (&[u8], &[u8])) -> Vec<u8> {
    let mut s = connect(port);
    send_lenient(&mut s, req);
    let mut reply = read_n(&mut s, expected_len);
    if closed {
        reply.extend(read_until_closed(&mut s));
    } else {
        send_lenient(&mut s, probe.0);
        reply.extend(read_n(&mut s, probe.1.len()));
    }
    reply
}

/// Asserts that `req`, sent on a fresh connection, gets exactly `expected`
/// back from shardis (and from redis-server when there is one), and that the
/// connection is closed afterwards iff `closed`.
pub fn check(shardis: u16, redis: Option<u16>, req: &[u8], expected: &[u8], closed: bool) {
    check_with(shardis, redis, req, expected, closed, PING);
}

/// `check` with another probe than PING (say, when PING needs AUTH).
pub fn check_with(shardis: u16, redis: Option<u16>, req: &[u8], expected: &[u8], closed: bool, probe: (&[u8], &[u8])) {
    let mut want = expected.to_vec();
    if !closed {
        want.extend_from_slice(probe.1);
    }
    let want = Esc(want);
    if let Some(port) = redis {
        let got = Esc(exchange(port, req, expected.len(), closed, probe));
        assert_eq!(got, want, "redis-server disagrees with the expectation for {:?}", Esc::of(req));
    }
    let got = Esc(exchange(shardis, req, expected.len(), closed, probe));
    assert_eq!(got, want, "shardis, for {:?}", Esc::of(req));
}

/// Bytes compared exactly, shown escaped (`\r\n`, `\xff`) in assertion
/// messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Esc(pub Vec<u8>);

impl Esc {
    pub fn of(b: &[u8]) -> Esc {
        Esc(b.to_vec())
    }
}

impl std::fmt::Debug for Esc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MAX: usize = 2000;
        write!(f, "\"{}\"", self.0[..self.0.len().min(MAX)].escape_ascii())?;
        if self.0.len() > MAX {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// Sends the same bytes to both servers on fresh connections, half-closes,
/// and returns everything each answered until it closed.
pub fn both_until_closed(shardis: u16, redis: u16, req: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let run = |port: u16| {
        let mut s = connect(port);
        send_lenient(&mut s, req);
        let _ = s.shutdown(Shutdown::Write);
        read_until_closed(&mut s)
    };
    (run(shardis), run(redis))
}

/// A tiny deterministic PRNG (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// RESP-encodes a command given as strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    super::resp(&bytes)
}

/// RESP-encodes several commands back to back, each given as one string of
/// space-separated arguments.
pub fn encode_all(cmds: &[&str]) -> Vec<u8> {
    cmds.iter().flat_map(|c| encode(&c.split(' ').collect::<Vec<_>>())).collect()
}

/// Keys that hash to `shard` of `shards`, named `{prefix}{n}`.
pub fn keys_on_shard(prefix: &str, shard: usize, shards: usize, count: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("{}{}", prefix, i))
        .filter(|k| shardis::slot::shard_of_key(k.as_bytes(), shards) == shard)
        .take(count)
        .collect()
}

/// Runs `list` (arguments, exact reply) after `LPUSH key x`, to check
/// errors on a key of another type: on redis-server, and on shardis once it
/// has lists.
pub fn with_a_list(p: &Pair, key: &str, list: &[(&[&str], &str)]) {
    let mut all = vec![(encode(&["DEL", key]), b":0\r\n".to_vec()), (encode(&["LPUSH", key, "x"]), b":1\r\n".to_vec())];
    all.extend(list.iter().map(|(args, reply)| (encode(args), reply.as_bytes().to_vec())));
    for (name, port) in p.ports() {
        let mut s = connect(port);
        send_lenient(&mut s, &encode(&["COMMAND", "INFO", "lpush"]));
        if read_n(&mut s, 9) == b"*1\r\n$-1\r\n" {
            eprintln!("note: {name} has no LPUSH; wrong-type cases skipped there");
            continue;
        }
        // A fresh connection: the rest of that reply is not read.
        let mut s = connect(port);
        for (req, want) in &all {
            send_lenient(&mut s, req);
            assert_eq!(Esc(read_n(&mut s, want.len())), Esc(want.clone()), "{} answered {:?}", name, Esc(req.clone()));
        }
    }
}

/// A shardis under test and, when installed, a redis-server started with
/// the same extra flags, to send the same bytes to.
pub struct Pair {
    pub shardis: super::Server,
    pub redis: Option<RedisServer>,
    /// Ends exchanges that leave the connection open; PING by default.
    pub probe: (&'static [u8], &'static [u8]),
}

impl Pair {
    pub fn start(extra: &[&str]) -> Pair {
        Pair { shardis: super::Server::start_with(extra), redis: RedisServer::start(extra), probe: PING }
    }

    pub fn redis_port(&self) -> Option<u16> {
        self.redis.as_ref().map(|r| r.port)
    }

    /// The ports to run a case on: shardis first, then redis-server.
    pub fn ports(&self) -> Vec<(&'static str, u16)> {
        let mut v = vec![("shardis", self.shardis.port)];
        v.extend(self.redis_port().map(|p| ("redis-server", p)));
        v
    }

    /// `req` on a fresh connection gets exactly `expected`; the connection
    /// stays open.
    pub fn check(&self, req: &[u8], expected: &[u8]) {
        check_with(self.shardis.port, self.redis_port(), req, expected, false, self.probe);
    }

    /// `req` on a fresh connection gets exactly `expected`, then the server
    /// closes the connection.
    pub fn check_closed(&self, req: &[u8], expected: &[u8]) {
        check_with(self.shardis.port, self.redis_port(), req, expected, true, self.probe);
    }

    /// Runs `steps` (a command as space-separated arguments, RESP-encoded,
    /// and its exact expected reply) in order on one connection per server.
    pub fn session(&self, steps: &[(&str, &str)]) {
        let steps: Vec<(Vec<u8>, Vec<u8>)> =
            steps.iter().map(|(c, r)| (encode(&c.split(' ').collect::<Vec<_>>()), r.as_bytes().to_vec())).collect();
        self.session_raw(&steps);
    }

    /// Like `session`, on connections switched to RESP3 first (HELLO 3,
    /// whose reply, the server's details, is skipped).
    pub fn session_resp3(&self, steps: &[(&str, &str)]) {
        let steps: Vec<(Vec<u8>, Vec<u8>)> =
            steps.iter().map(|(c, r)| (encode(&c.split(' ').collect::<Vec<_>>()), r.as_bytes().to_vec())).collect();
        self.session_resp3_raw(&steps);
    }

    /// Like `session_resp3`, with raw request bytes.
    pub fn session_resp3_raw(&self, steps: &[(Vec<u8>, Vec<u8>)]) {
        self.session_on(steps, true);
    }

    /// Like `session`, with raw request bytes.
    pub fn session_raw(&self, steps: &[(Vec<u8>, Vec<u8>)]) {
        self.session_on(steps, false);
    }

    fn session_on(&self, steps: &[(Vec<u8>, Vec<u8>)], resp3: bool) {
        for (name, port) in self.ports() {
            let mut s = connect(port);
            if resp3 {
                send_lenient(&mut s, &encode(&["HELLO", "3"]));
                read_frames(&mut s, 1);
            }
            for (req, want) in steps {
                send_lenient(&mut s, req);
                let got = read_n(&mut s, want.len());
                assert_eq!(Esc(got), Esc(want.clone()), "{} answered {:?}", name, Esc(req.clone()));
            }
            send_lenient(&mut s, self.probe.0);
            let got = read_n(&mut s, self.probe.1.len());
            assert_eq!(Esc(got), Esc::of(self.probe.1), "{}: extra bytes after the session", name);
        }
    }
}
