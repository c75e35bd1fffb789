//! Helpers for the black-box tests of connection, server and command-line
//! behaviour (`tests/{connection,server,cli,slots}.rs`): a raw RESP
//! connection that reads whole reply frames, a `redis-server` oracle started
//! with arbitrary flags, and a way to run the `shardis` binary with any
//! command line. Included by those files with
//! `#[path = "common/blackbox.rs"] mod blackbox;` next to `mod common;`.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::resp;

/// Bytes shown escaped in assertion messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Esc(pub Vec<u8>);

impl std::fmt::Debug for Esc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

pub fn esc(b: &[u8]) -> Esc {
    Esc(b.to_vec())
}

/// RESP-encodes `args`.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    resp(&bytes)
}

/// A raw client connection that reads one whole reply frame at a time.
pub struct Conn {
    pub stream: TcpStream,
    pending: Vec<u8>,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        Conn::open_host("127.0.0.1", port)
    }

    pub fn open_host(host: &str, port: u16) -> Conn {
        let stream = TcpStream::connect((host, port)).unwrap_or_else(|e| panic!("connect {}:{}: {}", host, port, e));
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn { stream, pending: Vec::new() }
    }

    /// The local `ip:port` of this connection, as CLIENT LIST shows it.
    pub fn local_addr(&self) -> String {
        self.stream.local_addr().unwrap().to_string()
    }

    pub fn send(&mut self, args: &[&str]) {
        self.send_raw(&encode(args));
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads the next complete reply frame (RESP2 or RESP3).
    pub fn frame(&mut self) -> Vec<u8> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(n) = shardis::server::merge::frame_len(&self.pending) {
                return self.pending.drain(..n).collect();
            }
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("connection closed; partial reply {:?}", esc(&self.pending)),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("reading a reply: {} (partial {:?})", e, esc(&self.pending)),
            }
        }
    }

    /// Sends a command and returns its reply frame.
    pub fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args);
        self.frame()
    }

    /// Sends a command and asserts its exact reply.
    pub fn expect(&mut self, args: &[&str], expected: &str) {
        let got = self.call(args);
        assert_eq!(esc(&got), esc(expected.as_bytes()), "reply to {:?}", args);
    }

    /// Sends a command and returns the text of its bulk / verbatim reply.
    pub fn text(&mut self, args: &[&str]) -> String {
        let frame = self.call(args);
        bulk_text(&frame).unwrap_or_else(|| panic!("{:?} answered {:?}, not a string", args, esc(&frame)))
    }

    /// Sends a command and returns its integer reply.
    pub fn int(&mut self, args: &[&str]) -> i64 {
        let frame = self.call(args);
        shardis::server::merge::int_payload(&frame)
            .unwrap_or_else(|| panic!("{:?} answered {:?}, not an integer", args, esc(&frame)))
    }

    /// Everything the server sends until it closes the connection; panics if
    /// it stays open for 10 s.
    pub fn until_closed(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.pending);
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!("connection still open after 10 s; got {:?}", esc(&out))
                }
                // A reset counts as closed.
                Err(_) => return out,
            }
        }
    }

    /// Asserts that nothing arrives within `wait` (a negative check: there is
    /// no reply to wait for).
    pub fn assert_silent(&mut self, wait: Duration) {
        assert!(self.pending.is_empty(), "unexpected bytes {:?}", esc(&self.pending));
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 1024];
        let r = self.stream.read(&mut buf);
        self.stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        match r {
            Ok(0) => panic!("connection closed"),
            Ok(n) => panic!("unexpected bytes {:?}", esc(&buf[..n])),
            Err(e) => assert!(matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{}", e),
        }
    }
}

/// The payload of a bulk (`$`) or verbatim (`=`, without its `txt:`) frame.
pub fn bulk_text(frame: &[u8]) -> Option<String> {
    let verbatim = frame.first() == Some(&b'=');
    let mut f = frame.to_vec();
    if verbatim {
        f[0] = b'$';
    }
    let payload = shardis::server::merge::bulk_payload(&f)?;
    let payload = if verbatim { payload.get(4..)? } else { payload };
    Some(String::from_utf8_lossy(payload).into_owned())
}

/// The elements of a flat array of bulk strings (`*n` then `$` frames).
pub fn bulk_array(frame: &[u8]) -> Vec<String> {
    let head_end = frame.windows(2).position(|w| w == b"\r\n").expect("a header line");
    assert!(matches!(frame[0], b'*' | b'~' | b'%'), "not an aggregate: {:?}", esc(frame));
    let mut at = head_end + 2;
    let mut out = Vec::new();
    while at < frame.len() {
        let n = shardis::server::merge::frame_len(&frame[at..]).expect("a complete element");
        out.push(bulk_text(&frame[at..at + n]).unwrap_or_else(|| panic!("not a bulk: {:?}", esc(&frame[at..at + n]))));
        at += n;
    }
    out
}

/// `field:value` from INFO text.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(&format!("{}:", field)).map(str::to_string))
}

/// A `redis-server` on a free port with persistence off plus `extra`, or None
/// (with a note) when it is not installed. Killed on drop.
#[allow(unused_imports)]
pub use crate::common::oracle::RedisServer as Oracle;

/// The ports to run a Redis-compatible session on: shardis, then the
/// oracle when redis-server is installed.
pub fn ports(server: &crate::common::Server, oracle: &Option<Oracle>) -> Vec<u16> {
    let mut v = vec![server.port];
    v.extend(oracle.as_ref().map(|o| o.port));
    v
}

/// Runs `steps` (command, exact expected reply) in order on one fresh
/// connection to each port.
pub fn session(ports: &[u16], steps: &[(&[&str], &str)]) {
    for &port in ports {
        let mut c = Conn::open(port);
        for (args, want) in steps {
            let got = c.call(args);
            assert_eq!(esc(&got), esc(want.as_bytes()), "port {}: reply to {:?}", port, args);
        }
    }
}

/// The shardis binary run with exactly `args`, stdout discarded, stderr kept.
pub struct Proc {
    pub child: Child,
}

impl Proc {
    pub fn spawn(args: &[&str]) -> Proc {
        Proc::spawn_with(Command::new(crate::common::binary()), args)
    }

    /// `cmd` is the program to run (the binary itself, or a wrapper such as
    /// `prlimit ... shardis`), `args` its arguments.
    pub fn spawn_with(mut cmd: Command, args: &[&str]) -> Proc {
        let child = cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        Proc { child }
    }

    /// Waits until `port` answers PING with PONG; panics (with stderr) if the
    /// process exits first or it takes more than 20 s.
    pub fn wait_ready(&mut self, host: &str, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("shardis exited during start ({}): {}", status, self.stderr());
            }
            if crate::common::answers_ping(host, port).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("shardis did not become ready on {}:{}", host, port);
    }

    /// Waits for the process to exit by itself (at most `timeout`), and
    /// returns its status and what it wrote to stderr.
    pub fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.stderr());
            }
            assert!(Instant::now() < deadline, "shardis still running after {:?}", timeout);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stderr(&mut self) -> String {
        let mut err = String::new();
        if let Some(e) = self.child.stderr.as_mut() {
            let _ = e.read_to_string(&mut err);
        }
        err
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of a child we own.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
