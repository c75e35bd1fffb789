//! Helpers for the persistence tests (`tests/persistence.rs`): a server —
//! shardis or redis-server, the oracle — started on a data directory, killed
//! with SIGKILL or shut down, and started again on the same directory; a
//! small binary-safe RESP client that reports a dropped connection as an
//! error instead of panicking (writers race a kill -9); a canonical dump of
//! a whole dataset to compare before and after a restart; and access to the
//! files on disk (the newest append-only log of a shard, its records).
//!
//! Included with `#[path = "common/restart.rs"] mod restart;` next to
//! `mod common;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::{answers_ping, binary, free_port, oracle::redis_server_binary, resp};

// ---------------------------------------------------------------------------
// Servers

/// Which server a scenario runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Shardis,
    /// redis-server 7.0 with its append-only file (a base file plus
    /// incremental files listed in `appendonlydir/appendonly.aof.manifest`).
    Redis,
}

/// The persistence settings a server is started with; both servers take the
/// same flags for them.
#[derive(Clone, Debug)]
pub struct Opts {
    pub appendonly: bool,
    /// `always`, `everysec` or `no`.
    pub fsync: &'static str,
    /// `--save`: "" (never) or "<secs> <changes> …".
    pub save: String,
    /// shardis's `--shards`; redis-server has one keyspace (see `Node::shards`).
    pub shards: usize,
    /// `--aof-load-truncated`, when set.
    pub load_truncated: Option<bool>,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts { appendonly: true, fsync: "always", save: String::new(), shards: 2, load_truncated: None }
    }
}

impl Opts {
    pub fn fsync(mut self, policy: &'static str) -> Opts {
        self.fsync = policy;
        self
    }

    pub fn shards(mut self, n: usize) -> Opts {
        self.shards = n;
        self
    }

    pub fn load_truncated(mut self, yes: bool) -> Opts {
        self.load_truncated = Some(yes);
        self
    }
}

/// A server that exited during start: its status and output.
#[derive(Debug)]
pub struct StartFailure {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// One run of a server on a data directory. Killed (SIGKILL) on drop.
pub struct Node {
    pub target: Target,
    pub port: u16,
    pub opts: Opts,
    dir: PathBuf,
    child: Child,
    /// stdout and stderr of this run, in files outside the data directory
    /// (which the tests list, fill up and corrupt).
    logs: tempfile::TempDir,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Shardis => "shardis",
            Target::Redis => "redis-server",
        }
    }

    /// Starts the server on `dir` and waits until it answers PING with PONG
    /// (after loading the data); panics with its output if it exits instead.
    pub fn start(self, dir: &Path, opts: &Opts) -> Node {
        self.try_start(dir, opts).unwrap_or_else(|f| {
            panic!("{} exited during start ({}):\nstderr: {}\nstdout: {}", self.name(), f.status, f.stderr, f.stdout)
        })
    }

    /// Starts the server on `dir`: Ok once it answers PONG, Err if it exits
    /// first (it refused to start). Retries on another port when the port
    /// was taken before the server bound it.
    pub fn try_start(self, dir: &Path, opts: &Opts) -> Result<Node, StartFailure> {
        let mut last = None;
        for _ in 0..4 {
            let mut node = self.spawn(dir, opts);
            match node.wait_ready(Duration::from_secs(60)) {
                Ok(()) => return Ok(node),
                Err(f) if is_port_clash(&f) => {
                    eprintln!("{}: port {} taken, retrying on another", self.name(), node.port);
                    last = Some(f);
                }
                Err(f) => return Err(f),
            }
        }
        Err(last.expect("four attempts"))
    }

    /// Starts the server on `dir` and returns at once, before it listens
    /// (to watch what it answers while it loads).
    pub fn spawn(self, dir: &Path, opts: &Opts) -> Node {
        let port = free_port();
        let logs = tempfile::tempdir().unwrap();
        let (program, args) = self.command_line(dir, port, opts);
        let out = fs::File::create(logs.path().join("stdout")).unwrap();
        let err = fs::File::create(logs.path().join("stderr")).unwrap();
        let child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {}", self.name(), e));
        Node { target: self, port, opts: opts.clone(), dir: dir.to_path_buf(), child, logs }
    }

    fn command_line(self, dir: &Path, port: u16, opts: &Opts) -> (PathBuf, Vec<String>) {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--dir".into(),
            dir.display().to_string(),
            "--appendonly".into(),
            yes_no(opts.appendonly),
            "--appendfsync".into(),
            opts.fsync.into(),
            "--save".into(),
            opts.save.clone(),
            "--loglevel".into(),
            "warning".into(),
        ];
        if let Some(yes) = opts.load_truncated {
            args.extend(["--aof-load-truncated".into(), yes_no(yes)]);
        }
        match self {
            Target::Shardis => {
                args.extend(["--shards".into(), opts.shards.to_string()]);
                (binary(), args)
            }
            Target::Redis => {
                args.extend(["--bind".into(), "127.0.0.1".into(), "--enable-debug-command".into(), "yes".into()]);
                (redis_server_binary().expect("redis-server is not installed"), args)
            }
        }
    }
}

fn is_port_clash(f: &StartFailure) -> bool {
    let out = format!("{}{}", f.stdout, f.stderr);
    out.contains("Address already in use") || out.contains("did not start within")
}

impl Node {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many shards the keyspace is split into (redis-server: one).
    pub fn shards(&self) -> usize {
        match self.target {
            Target::Shardis => self.opts.shards,
            Target::Redis => 1,
        }
    }

    /// The shard owning `key`.
    pub fn shard_of(&self, key: &str) -> usize {
        shardis::slot::shard_of_key(key.as_bytes(), self.shards())
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port).unwrap_or_else(|e| panic!("connecting to {}: {}", self.target.name(), e))
    }

    /// Waits until the server answers PONG; Err with its output if it exits.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), StartFailure> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(StartFailure { status, stdout: self.stdout(), stderr: self.stderr() });
            }
            if answers_ping("127.0.0.1", self.port).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "{} did not answer PONG on port {} within {:?}:\n{}",
            self.target.name(),
            self.port,
            timeout,
            self.output()
        );
    }

    /// SIGKILL, and waits until the process is gone (its lock on the
    /// directory with it).
    pub fn kill9(&mut self) {
        // SAFETY: kill(2) on the pid of a child we own and have not reaped.
        if self.child.try_wait().unwrap().is_none() {
            unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }

    /// Kills the server (if still running) and starts it again on the same
    /// directory with the same settings.
    pub fn restart(self) -> Node {
        let opts = self.opts.clone();
        self.restart_with(&opts)
    }

    pub fn restart_with(mut self, opts: &Opts) -> Node {
        self.kill9();
        self.target.start(&self.dir, opts)
    }

    /// `SHUTDOWN [how]`: the connection closes without a reply and the
    /// process exits with status 0.
    pub fn shutdown(&mut self, how: Option<&str>) {
        let mut c = self.client();
        let mut args = vec!["SHUTDOWN"];
        args.extend(how);
        c.send(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>()).unwrap();
        match c.read() {
            Err(_) => {}
            Ok(reply) => panic!("{} answered {:?} to {:?}", self.target.name(), reply, args),
        }
        let status = self.wait_exit(Duration::from_secs(30)).expect("the server still runs 30 s after SHUTDOWN");
        assert!(status.success(), "{} exited with {} after {:?}:\n{}", self.target.name(), status, args, self.output());
    }

    /// The exit status, once the process exits by itself within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    pub fn stdout(&self) -> String {
        strip_ansi(&fs::read_to_string(self.logs.path().join("stdout")).unwrap_or_default())
    }

    pub fn stderr(&self) -> String {
        strip_ansi(&fs::read_to_string(self.logs.path().join("stderr")).unwrap_or_default())
    }

    /// Everything this run wrote (shardis logs through `tracing` to stdout,
    /// prints fatal start errors to stderr; redis-server logs to stdout).
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }

    /// The newest append-only log of `shard`: shardis's
    /// `shard-<i>/log-<epoch>.seg` with the highest epoch, redis-server's
    /// last incremental file in its manifest.
    pub fn newest_log(&self, shard: usize) -> PathBuf {
        newest_log(self.target, &self.dir, shard)
    }

    /// INFO `section` as text.
    pub fn info(&self, section: &str) -> String {
        self.client().info(section)
    }

    /// Polls INFO persistence until `field` has `value` (say, a background
    /// rewrite finished).
    pub fn wait_info(&self, field: &str, value: &str, timeout: Duration) {
        let mut c = self.client();
        let deadline = Instant::now() + timeout;
        loop {
            let info = c.info("persistence");
            if info_value(&info, field).as_deref() == Some(value) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never showed {}:{} within {:?}:\n{}",
                self.target.name(),
                field,
                value,
                timeout,
                info
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until no background save or rewrite runs (redis-server refuses
    /// BGSAVE while a rewrite runs, and the reverse).
    pub fn wait_background_idle(&self) {
        self.wait_info("rdb_bgsave_in_progress", "0", Duration::from_secs(30));
        self.wait_info("aof_rewrite_in_progress", "0", Duration::from_secs(30));
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `field:value` of INFO text (values have no trailing `\r`).
pub fn info_value(info: &str, field: &str) -> Option<String> {
    crate::blackbox::info_field(info, field).map(|v| v.trim_end().to_string())
}

/// Removes ANSI colour sequences (tracing colours its output).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ params final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// A RESP client

/// A RESP2 reply.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    /// The error line without its leading `-`.
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Status(s) => write!(f, "+{}", s),
            Reply::Error(s) => write!(f, "-{}", s),
            Reply::Int(n) => write!(f, ":{}", n),
            Reply::Bulk(None) | Reply::Array(None) => write!(f, "(nil)"),
            Reply::Bulk(Some(b)) if b.len() > 200 => {
                write!(f, "\"{}\"... ({} bytes)", b[..200].escape_ascii(), b.len())
            }
            Reply::Bulk(Some(b)) => write!(f, "\"{}\"", b.escape_ascii()),
            Reply::Array(Some(items)) if items.len() > 20 => {
                write!(f, "{:?}... ({} elements)", &items[..20], items.len())
            }
            Reply::Array(Some(items)) => write!(f, "{:?}", items),
        }
    }
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status("OK".into())
    }

    pub fn bulk(b: &[u8]) -> Reply {
        Reply::Bulk(Some(b.to_vec()))
    }

    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("expected an integer, got {:?}", other),
        }
    }

    pub fn bytes(&self) -> Option<Vec<u8>> {
        match self {
            Reply::Bulk(b) => b.clone(),
            other => panic!("expected a bulk string, got {:?}", other),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.bytes().expect("a string, not nil")).unwrap()
    }

    pub fn items(self) -> Vec<Reply> {
        match self {
            Reply::Array(Some(items)) => items,
            other => panic!("expected an array, got {:?}", other),
        }
    }

    /// The elements of an array of bulk strings.
    pub fn strings(self) -> Vec<Vec<u8>> {
        self.items().iter().map(|r| r.bytes().expect("no nil elements")).collect()
    }

    pub fn is_error_starting(&self, prefix: &str) -> bool {
        matches!(self, Reply::Error(e) if e.starts_with(prefix))
    }
}

/// One connection. `send`/`read`/`call` return io errors (the server went
/// away); `cmd` and the typed helpers panic on them.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        // Connecting to a port nobody listens on can connect the socket to
        // itself (see `answers_ping`).
        if stream.local_addr()? == stream.peer_addr()? {
            return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "connected to itself"));
        }
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Client { writer: stream.try_clone()?, reader: BufReader::with_capacity(64 * 1024, stream) })
    }

    pub fn send(&mut self, args: &[&[u8]]) -> io::Result<()> {
        self.writer.write_all(&resp(args))
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    pub fn read(&mut self) -> io::Result<Reply> {
        read_reply(&mut self.reader)
    }

    pub fn call(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        self.send(args)?;
        self.read()
    }

    /// A command given as string arguments.
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.call(&bytes).unwrap_or_else(|e| panic!("{:?}: {}", args, e))
    }

    /// A command with binary arguments.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Reply {
        self.call(args).unwrap_or_else(|e| panic!("{:?}: {}", args.iter().map(|a| a.escape_ascii().to_string()), e))
    }

    /// Runs `args` and asserts the exact reply.
    pub fn expect(&mut self, args: &[&str], want: Reply) {
        let got = self.cmd(args);
        assert_eq!(got, want, "reply to {:?}", args);
    }

    pub fn ok(&mut self, args: &[&str]) {
        self.expect(args, Reply::ok());
    }

    pub fn int(&mut self, args: &[&str]) -> i64 {
        let reply = self.cmd(args);
        match reply {
            Reply::Int(n) => n,
            other => panic!("{:?} answered {:?}, not an integer", args, other),
        }
    }

    pub fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.cmd(&["GET", key]).bytes()
    }

    pub fn info(&mut self, section: &str) -> String {
        self.cmd(&["INFO", section]).text()
    }

    /// Sends all `cmds` at once and reads their replies, in rounds of at
    /// most 200 so neither side's buffers fill up.
    pub fn pipeline(&mut self, cmds: &[Vec<Vec<u8>>]) -> Vec<Reply> {
        let mut replies = Vec::with_capacity(cmds.len());
        for round in cmds.chunks(200) {
            let mut out = Vec::new();
            for c in round {
                let args: Vec<&[u8]> = c.iter().map(|a| a.as_slice()).collect();
                out.extend(resp(&args));
            }
            self.writer.write_all(&out).unwrap();
            for _ in round {
                replies.push(self.read().unwrap());
            }
        }
        replies
    }

    /// Runs `cmds` pipelined and asserts that none fails.
    pub fn pipeline_ok(&mut self, cmds: &[Vec<Vec<u8>>]) {
        for (c, r) in cmds.iter().zip(self.pipeline(cmds)) {
            assert!(!matches!(r, Reply::Error(_)), "{:?} answered {:?}", c[0].escape_ascii().to_string(), r);
        }
    }
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
    }
    if !line.ends_with(b"\r\n") {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed within a reply"));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn read_reply(r: &mut impl BufRead) -> io::Result<Reply> {
    let line = read_line(r)?;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("bad reply line {:?}", line));
    let (kind, rest) = line.split_at(1.min(line.len()));
    let len = || rest.parse::<i64>().map_err(|_| bad());
    Ok(match kind {
        "+" => Reply::Status(rest.to_string()),
        "-" => Reply::Error(rest.to_string()),
        ":" => Reply::Int(len()?),
        "$" if len()? < 0 => Reply::Bulk(None),
        "$" => {
            let mut buf = vec![0u8; len()? as usize + 2];
            r.read_exact(&mut buf)?;
            buf.truncate(buf.len() - 2);
            Reply::Bulk(Some(buf))
        }
        "*" if len()? < 0 => Reply::Array(None),
        "*" => Reply::Array(Some((0..len()?).map(|_| read_reply(r)).collect::<io::Result<_>>()?)),
        _ => return Err(bad()),
    })
}

/// A command as owned byte arguments, for `Client::pipeline`.
pub fn args<S: AsRef<[u8]>>(parts: &[S]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_ref().to_vec()).collect()
}

// ---------------------------------------------------------------------------
// A canonical dump of the dataset

/// Every key of the given dbs: `(db, key)` → what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump(pub BTreeMap<(u32, Vec<u8>), Item>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// TYPE.
    pub kind: String,
    /// The value in a canonical order: a string's bytes; a list's elements;
    /// a hash's field/value pairs sorted by field; a set's members sorted; a
    /// sorted set's members and scores in rank order.
    pub value: Vec<Vec<u8>>,
    /// PTTL: -1 without an expiry.
    pub pttl: i64,
}

/// Reads every key of `dbs` (then goes back to db 0).
pub fn dump(c: &mut Client, dbs: &[u32]) -> Dump {
    let mut all = BTreeMap::new();
    for &db in dbs {
        c.ok(&["SELECT", &db.to_string()]);
        let mut keys = c.cmd(&["KEYS", "*"]).strings();
        keys.sort();
        for key in keys {
            let kind = match c.cmd_bytes(&[b"TYPE", &key]) {
                Reply::Status(t) => t,
                other => panic!("TYPE answered {:?}", other),
            };
            let value = read_value(c, &kind, &key);
            let pttl = c.cmd_bytes(&[b"PTTL", &key]).int();
            all.insert((db, key), Item { kind, value, pttl });
        }
    }
    c.ok(&["SELECT", "0"]);
    Dump(all)
}

fn read_value(c: &mut Client, kind: &str, key: &[u8]) -> Vec<Vec<u8>> {
    match kind {
        "string" => vec![c.cmd_bytes(&[b"GET", key]).bytes().expect("a string key has a value")],
        "list" => c.cmd_bytes(&[b"LRANGE", key, b"0", b"-1"]).strings(),
        "hash" => {
            let flat = c.cmd_bytes(&[b"HGETALL", key]).strings();
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
            pairs.sort();
            pairs.into_iter().flat_map(|(f, v)| [f, v]).collect()
        }
        "set" => {
            let mut members = c.cmd_bytes(&[b"SMEMBERS", key]).strings();
            members.sort();
            members
        }
        "zset" => c.cmd_bytes(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]).strings(),
        other => panic!("unexpected TYPE {} of {}", other, key.escape_ascii()),
    }
}

impl Dump {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Asserts that `after` holds exactly the keys and values of `before`, with
/// the same expiries: a key without a TTL still has none, and a key with one
/// keeps an absolute deadline (0 < PTTL after ≤ PTTL before).
pub fn assert_same(before: &Dump, after: &Dump, what: &str) {
    let show = |(db, key): &(u32, Vec<u8>)| format!("db {} key \"{}\"", db, key.escape_ascii());
    let lost: Vec<String> = before.0.keys().filter(|k| !after.0.contains_key(*k)).map(show).collect();
    let extra: Vec<String> = after.0.keys().filter(|k| !before.0.contains_key(*k)).map(show).collect();
    assert!(lost.is_empty() && extra.is_empty(), "{}: keys lost {:?}, keys that appeared {:?}", what, lost, extra);
    for (k, b) in &before.0 {
        let a = &after.0[k];
        assert_eq!(a.kind, b.kind, "{}: TYPE of {}", what, show(k));
        if a.value != b.value {
            let first =
                a.value.iter().zip(&b.value).position(|(x, y)| x != y).unwrap_or(a.value.len().min(b.value.len()));
            panic!(
                "{}: value of {} ({}) differs: {} elements before, {} after, first difference at element {}: {:?} vs {:?}",
                what,
                show(k),
                b.kind,
                b.value.len(),
                a.value.len(),
                first,
                b.value.get(first).map(|e| e.escape_ascii().to_string()),
                a.value.get(first).map(|e| e.escape_ascii().to_string()),
            );
        }
        if b.pttl < 0 {
            assert_eq!(a.pttl, b.pttl, "{}: PTTL of {} (no expiry before)", what, show(k));
        } else {
            assert!(
                0 < a.pttl && a.pttl <= b.pttl,
                "{}: PTTL of {} was {} before, {} after",
                what,
                show(k),
                b.pttl,
                a.pttl
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Files on disk

/// See `Node::newest_log`.
pub fn newest_log(target: Target, dir: &Path, shard: usize) -> PathBuf {
    match target {
        Target::Shardis => {
            let shard_dir = dir.join(format!("shard-{}", shard));
            let entries = fs::read_dir(&shard_dir).unwrap_or_else(|e| panic!("listing {}: {}", shard_dir.display(), e));
            entries
                .filter_map(|e| {
                    let name = e.ok()?.file_name().into_string().ok()?;
                    let epoch: u64 = name.strip_prefix("log-")?.strip_suffix(".seg")?.parse().ok()?;
                    Some((epoch, shard_dir.join(name)))
                })
                .max()
                .unwrap_or_else(|| panic!("no log-<epoch>.seg in {}", shard_dir.display()))
                .1
        }
        Target::Redis => {
            assert_eq!(shard, 0, "redis-server has one keyspace");
            let aof_dir = dir.join("appendonlydir");
            let manifest = fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).unwrap();
            // Lines: `file <name> seq <n> type <b|h|i>`; the incremental files in order.
            let newest = manifest
                .lines()
                .filter(|l| l.ends_with("type i"))
                .filter_map(|l| l.split(' ').nth(1))
                .next_back()
                .expect("an incremental file in the manifest");
            aof_dir.join(newest)
        }
    }
}

/// The newest snapshot of a shardis shard (`shard-<i>/snapshot-<epoch>.snap`).
pub fn newest_snapshot(dir: &Path, shard: usize) -> PathBuf {
    let shard_dir = dir.join(format!("shard-{}", shard));
    fs::read_dir(&shard_dir)
        .unwrap_or_else(|e| panic!("listing {}: {}", shard_dir.display(), e))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let epoch: u64 = name.strip_prefix("snapshot-")?.strip_suffix(".snap")?.parse().ok()?;
            Some((epoch, shard_dir.join(name)))
        })
        .max()
        .unwrap_or_else(|| panic!("no snapshot-<epoch>.snap in {}", shard_dir.display()))
        .1
}

pub fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Cuts the last `n` bytes off a file.
pub fn truncate_by(path: &Path, n: u64) {
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = f.metadata().unwrap().len();
    assert!(len > n, "{} has only {} bytes", path.display(), len);
    f.set_len(len - n).unwrap();
}

pub fn append(path: &Path, bytes: &[u8]) {
    fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

/// The payload ranges of the records of a shardis log: each framed
/// `[u32 LE payload length][u32 LE crc32 of payload][payload]`. The chain of
/// records is looked for from each of the first 256 offsets (the log may
/// begin with a header) and must have valid checksums and end exactly at the
/// end of the file.
pub fn log_records(bytes: &[u8]) -> Vec<Range<usize>> {
    (0..bytes.len().min(257)).find_map(|start| record_chain(bytes, start)).unwrap_or_else(|| {
        panic!("no chain of length+crc32 framed records ends at the end of the {}-byte log", bytes.len())
    })
}

fn record_chain(bytes: &[u8], start: usize) -> Option<Vec<Range<usize>>> {
    let mut at = start;
    let mut records = Vec::new();
    while at < bytes.len() {
        let head = bytes.get(at..at + 8)?;
        let len = u32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap());
        let payload = at + 8..at.checked_add(8 + len)?;
        if crc32fast::hash(bytes.get(payload.clone())?) != crc {
            return None;
        }
        at = payload.end;
        records.push(payload);
    }
    (!records.is_empty()).then_some(records)
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Copies a directory tree (a data directory, to restart several copies of
/// one state in different ways).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).unwrap();
        }
    }
}
