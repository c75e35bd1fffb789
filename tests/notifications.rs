//! Keyspace notifications, black-box: every command family fires the
//! events Redis fires, in Redis's order, with Redis's names.
//!
//! The differential tests run one script of commands on shardis and on
//! redis-server, both with `notify-keyspace-events KEA`, each watched by a
//! RESP2 subscriber to `__key*__:*`, and compare what the subscribers got
//! frame by frame. After each step the script publishes `mark <n>` (the
//! subscribers listen to it too), so a difference shows which step made it,
//! and a final `done` ends the stream. Keys of multi-key commands are picked
//! on different shards of shardis (`keys_on_shard`), so cross-shard
//! coordinators are covered. The oracle is Redis 7.0.15 and the target 7.2:
//! where they differ, shardis-only tests assert 7.2's literal events.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use std::time::{Duration, Instant};

use blackbox::{esc, Conn};
use common::oracle::{keys_on_shard, Pair};

/// One step of a script.
enum Step {
    /// A command (space-separated arguments) on the main connection.
    Cmd(String),
    /// A blocking command on the second connection, which then waits
    /// until the server shows it blocked.
    Block(String),
    /// A command on the main connection that serves the blocked one: both
    /// replies are read before the step ends.
    Wake(String),
    /// A command whose keys span shards and that shardis splits over them
    /// (DEL, MSET…): each shard's events come in Redis's order, but the
    /// shards' interleave as they run, so the step's events are compared
    /// as a multiset.
    Split(String),
}

impl Step {
    fn text(&self) -> &str {
        match self {
            Step::Cmd(c) | Step::Block(c) | Step::Wake(c) | Step::Split(c) => c,
        }
    }
}

fn cmd(s: &str) -> Step {
    Step::Cmd(s.to_string())
}

/// A server as the script sees it: where commands go and who listens.
struct Side {
    name: &'static str,
    main: Conn,
    blocked: Conn,
    sub: Conn,
}

impl Side {
    /// Connects, subscribed to every keyspace channel plus `mark` and `done`.
    fn open(name: &'static str, port: u16) -> Side {
        let mut sub = Conn::open(port);
        sub.send(&["PSUBSCRIBE", "__key*__:*"]);
        sub.frame();
        sub.send(&["SUBSCRIBE", "mark", "done"]);
        sub.frame();
        sub.frame();
        Side { name, main: Conn::open(port), blocked: Conn::open(port), sub }
    }

    /// Runs `script`; returns the replies, one string per step.
    fn run(&mut self, script: &[Step]) -> Vec<String> {
        let mut replies = Vec::new();
        for (n, step) in script.iter().enumerate() {
            let reply = match step {
                Step::Cmd(c) | Step::Split(c) => show(&self.main.call(&args(c))),
                Step::Block(c) => {
                    self.blocked.send(&args(c));
                    self.wait_blocked(1);
                    "(blocked)".to_string()
                }
                Step::Wake(c) => {
                    let r = show(&self.main.call(&args(c)));
                    format!("{} / {}", r, show(&self.blocked.frame()))
                }
            };
            replies.push(reply);
            self.main.call(&["PUBLISH", "mark", &n.to_string()]);
        }
        self.main.call(&["PUBLISH", "done", "x"]);
        replies
    }

    fn wait_blocked(&mut self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let want = format!("blocked_clients:{}", n);
        while !self.main.text(&["INFO", "clients"]).contains(&want) {
            assert!(Instant::now() < deadline, "{}: the client did not block", self.name);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// What the subscriber received up to `done`, as `channel payload`
    /// lines (`mark n` for the step marks).
    fn events(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let f = self.sub.frame();
            let parts = blackbox::bulk_array(&f);
            match parts.first().map(String::as_str) {
                Some("pmessage") => out.push(format!("{} {}", parts[2], parts[3])),
                Some("message") if parts[1] == "done" => return out,
                Some("message") => out.push(format!("{} {}", parts[1], parts[2])),
                _ => panic!("{}: unexpected frame {:?}", self.name, esc(&f)),
            }
        }
    }
}

fn args(c: &str) -> Vec<&str> {
    c.split(' ').collect()
}

fn show(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame).replace("\r\n", " ").trim_end().to_string()
}

/// Starts both servers with `flags` as notify-keyspace-events.
fn pair(flags: &str) -> Pair {
    Pair::start(&["--notify-keyspace-events", flags])
}

/// Runs `script` on both servers and asserts the same replies and the same
/// events, frame by frame; returns shardis's events, one list per step.
fn differential(p: &Pair, script: &[Step]) -> Vec<Vec<String>> {
    let mut shardis = Side::open("shardis", p.shardis.port);
    let (replies, ours) = (shardis.run(script), by_step(script, shardis.events()));
    let Some(port) = p.redis_port() else {
        return ours;
    };
    let mut redis = Side::open("redis-server", port);
    let theirs = (redis.run(script), by_step(script, redis.events()));
    for (n, (a, b)) in replies.iter().zip(&theirs.0).enumerate() {
        assert_eq!(a, b, "step {} `{}`: shardis replied {:?}, redis-server {:?}", n, script[n].text(), a, b);
    }
    for (n, (a, b)) in ours.iter().zip(&theirs.1).enumerate() {
        assert_eq!(a, b, "step {} `{}`: the events differ (left shardis, right redis-server)", n, script[n].text());
    }
    ours
}

/// Events cut at the step marks; a split step's sorted.
fn by_step(script: &[Step], events: Vec<String>) -> Vec<Vec<String>> {
    let mut steps = vec![Vec::new()];
    for e in events {
        match e.strip_prefix("mark ") {
            Some(n) => {
                assert_eq!(n, (steps.len() - 1).to_string(), "marks out of order");
                steps.push(Vec::new());
            }
            None => steps.last_mut().unwrap().push(e),
        }
    }
    assert_eq!(steps.pop(), Some(vec![]), "events after the last step");
    for (events, step) in steps.iter_mut().zip(script) {
        if matches!(step, Step::Split(_)) {
            events.sort();
        }
    }
    steps
}

/// Two keys named `{prefix}…` that live on different shards of shardis.
fn apart(prefix: &str) -> (String, String) {
    (keys_on_shard(prefix, 0, 2, 1).remove(0), keys_on_shard(prefix, 1, 2, 1).remove(0))
}

/// A script from lines with `$a`/`$b` standing for two keys on different
/// shards (a pair per prefix letter: `$a`, `$b` from "a"; `$c`, `$d` from "c").
fn script(lines: &[&str]) -> Vec<Step> {
    let (a, b) = apart("a");
    let (c, d) = apart("c");
    let fill = |l: &str| l.replace("$a", &a).replace("$b", &b).replace("$c", &c).replace("$d", &d);
    lines
        .iter()
        .map(|l| match l.split_once(' ') {
            Some(("BLOCK", rest)) => Step::Block(fill(rest)),
            Some(("WAKE", rest)) => Step::Wake(fill(rest)),
            Some(("SPLIT", rest)) => Step::Split(fill(rest)),
            _ => cmd(&fill(l)),
        })
        .collect()
}

#[test]
fn strings_fire_redis_events() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "SET s1 v",
            "SET s1 w",
            "SET s1 v NX",
            "SET s1 v XX EX 100",
            "SET s1 v KEEPTTL",
            "SET s1 v PX 100000 GET",
            "SETNX s2 v",
            "SETNX s2 v",
            "SETEX s3 100 v",
            "PSETEX s3 100000 v",
            "GETSET s3 x",
            "GETEX s3 EX 100",
            "GETEX s3 PERSIST",
            "GETEX s3 PERSIST",
            "GETEX s3",
            "GETEX s3 PXAT 1",
            "GETEX nosuch EX 10",
            "GETDEL s2",
            "GETDEL s2",
            "SPLIT MSET $a 1 $b 2",
            "SPLIT MSETNX $c 1 $d 2",
            "MSETNX $c 1 $d 2",
            "INCR n",
            "INCRBY n 5",
            "DECR n",
            "DECRBY n 2",
            "INCRBYFLOAT n 1.5",
            "INCR s1",
            "APPEND s4 abc",
            "APPEND s4 def",
            "SETRANGE s4 1 X",
            "SETRANGE s4 1 ",
            "SETRANGE s5 0 ",
            "SETRANGE s5 2 ab",
            "SET s6 v PXAT 1",
            "GET s6",
            "SET s6 v EXAT 1 GET",
            "GET nosuch",
            "STRLEN s4",
        ]),
    );
}

#[test]
fn generic_key_commands_fire_redis_events() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "SET k1 v",
            "SET k2 v",
            "SPLIT DEL k1 k2 k3",
            "SET k1 v",
            "UNLINK k1 nosuch",
            "SET $a v",
            "RENAME $a $b",
            "RENAME $b $b",
            "SET $a w",
            "RENAME $a $b",
            "SET $a x",
            "RENAMENX $a $b",
            "RENAMENX $b $c",
            "SET k1 v",
            "RENAME k1 k2",
            "SET k1 v",
            "RENAMENX k1 k2",
            "RENAME k1 k2",
            "MOVE k2 1",
            "MOVE k2 1",
            "COPY $c $d",
            "COPY $c $d",
            "COPY $c $d REPLACE",
            "COPY $d k3 DB 2",
            "COPY nosuch k3",
            "EXPIRE $d 100",
            "PEXPIRE $d 100000",
            "EXPIREAT $d 99999999999",
            "PEXPIREAT $d 99999999999999",
            "EXPIRE $d 100 NX",
            "PERSIST $d",
            "PERSIST $d",
            "EXPIRE $d -1",
            "SET k1 v",
            "PEXPIRE k1 0",
            "SET k1 v",
            "EXPIREAT k1 1",
            "SET k1 v",
            "PEXPIREAT k1 1",
            "EXPIRE nosuch 10",
            "TTL nosuch",
            "TYPE nosuch",
            "EXISTS nosuch",
        ]),
    );
}
