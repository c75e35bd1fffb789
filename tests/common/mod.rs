//! Test harness: the real `shardis` binary on a free port, talked to over TCP.
#![allow(dead_code)]

pub mod oracle;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Ok once a server on `host:port` answers PING (`+PONG`, or `-NOAUTH` when
/// it has a password). Connecting alone proves nothing: connecting to an
/// unbound port of the ephemeral range can succeed by TCP simultaneous open,
/// the socket connected to itself, which then holds the port so the server
/// being waited for fails to bind it.
pub fn answers_ping(host: &str, port: u16) -> Result<(), String> {
    let mut s = TcpStream::connect((host, port)).map_err(|e| e.to_string())?;
    if s.local_addr().ok() == s.peer_addr().ok() {
        return Err("connected to itself".to_string());
    }
    s.set_read_timeout(Some(Duration::from_secs(1))).map_err(|e| e.to_string())?;
    s.write_all(b"PING\r\n").map_err(|e| e.to_string())?;
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).map_err(|e| e.to_string())?;
    match &buf {
        b"+PONG\r\n" | b"-NOAUTH" => Ok(()),
        other => Err(format!("PING answered {:?}", other.escape_ascii().to_string())),
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shardis"))
}

impl Server {
    /// Two shards (so routing crosses cores even on one CPU), defaults otherwise.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        // The free port may be taken before the server binds it (by another
        // test, or as the local port of some connection): try another one.
        for _ in 0..4 {
            let dir = tempfile::tempdir().unwrap();
            match Server::try_spawn_in(dir, free_port(), extra) {
                Ok(server) => return server,
                Err(e) if e.contains("Address already in use") => eprintln!("retrying on another port: {}", e),
                // A known, rare glommio start-up hang: the server gives up after
                // 10 s and exits; start it again (see the server's STARTUP_TIMEOUT).
                Err(e) if e.contains("did not start within") => eprintln!("retrying a stuck start: {}", e),
                Err(e) => panic!("{}", e),
            }
        }
        let dir = tempfile::tempdir().unwrap();
        Server::spawn_in(dir, free_port(), extra)
    }

    pub fn spawn_in(dir: tempfile::TempDir, port: u16, extra: &[&str]) -> Server {
        Server::try_spawn_in(dir, port, extra).unwrap_or_else(|e| panic!("{}", e))
    }

    /// Starts the server; Err if it exited during start (with its stderr).
    /// Panics if it does not become ready.
    pub fn try_spawn_in(dir: tempfile::TempDir, port: u16, extra: &[&str]) -> Result<Server, String> {
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--dir".into(),
            dir.path().display().to_string(),
            "--shards".into(),
            "2".into(),
            "--loglevel".into(),
            "warning".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(binary()).args(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let mut server = Server { child, port, dir };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(e) = self.child.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("shardis exited during start ({}): {}", status, err));
            }
            match answers_ping("127.0.0.1", self.port) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("shardis did not become ready on port {}: {}", self.port, last);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw TCP client for exact-byte assertions.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        Raw { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads exactly `expected.len()` bytes and compares them.
    pub fn expect(&mut self, expected: &[u8]) {
        let mut buf = vec![0u8; expected.len()];
        self.stream
            .read_exact(&mut buf)
            .unwrap_or_else(|e| panic!("reading {:?}: {}", String::from_utf8_lossy(expected), e));
        assert_eq!(String::from_utf8_lossy(&buf), String::from_utf8_lossy(expected));
    }

    /// Sends `req` and checks the reply bytes.
    pub fn roundtrip(&mut self, req: &[u8], expected: &[u8]) {
        self.send(req);
        self.expect(expected);
    }

    /// True once the server closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(self.stream.read(&mut buf), Ok(0) | Err(_))
    }
}

/// RESP-encodes a command.
pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Runs `args` as a command and returns the reply.
pub fn cmd<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<T> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}

/// The error text (code + message) of a failing command.
pub fn err(con: &mut redis::Connection, args: &[&str]) -> String {
    match cmd::<redis::Value>(con, args) {
        Ok(v) => panic!("expected an error from {:?}, got {:?}", args, v),
        Err(e) => {
            let code = e.code().unwrap_or("");
            let detail = e.detail().unwrap_or("");
            format!("{} {}", code, detail).trim().to_string()
        }
    }
}
