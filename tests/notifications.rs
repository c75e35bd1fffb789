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
    /// Publishes the step marks: the main connection may be inside MULTI.
    marker: Conn,
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
        Side { name, main: Conn::open(port), blocked: Conn::open(port), marker: Conn::open(port), sub }
    }

    /// Runs `script`; returns the replies, one string per step.
    fn run(&mut self, script: &[Step]) -> Vec<String> {
        let mut replies = Vec::new();
        for (n, step) in script.iter().enumerate() {
            let reply = match step {
                Step::Cmd(c) | Step::Split(c) => show(&self.main.call(&args(c))),
                Step::Block(c) => {
                    self.blocked.send(&args(c));
                    self.wait_blocked(n);
                    "(blocked)".to_string()
                }
                Step::Wake(c) => {
                    let r = show(&self.main.call(&args(c)));
                    format!("{} / {}", r, show(&self.blocked.frame()))
                }
            };
            // SPOP draws at random: only its events are compared.
            replies.push(if step.text().starts_with("SPOP") { "(random)".to_string() } else { reply });
            self.marker.call(&["PUBLISH", "mark", &n.to_string()]);
        }
        self.marker.call(&["PUBLISH", "done", "x"]);
        replies
    }

    /// Waits until the blocking command of step `n` shows as blocked.
    fn wait_blocked(&mut self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.marker.text(&["INFO", "clients"]).contains("blocked_clients:1\r\n") {
            assert!(Instant::now() < deadline, "{}: step {} did not block", self.name, n);
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

#[test]
fn lists_fire_redis_events() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "LPUSH l1 a b c",
            "RPUSH l1 d",
            "LPUSHX l1 x",
            "RPUSHX nosuch x",
            "LINSERT l1 BEFORE a y",
            "LINSERT l1 AFTER nothere y",
            "LINSERT nosuch AFTER a y",
            "LSET l1 0 z",
            "LREM l1 0 nothere",
            "LREM l1 1 z",
            "LTRIM l1 0 -1",
            "LTRIM l1 1 2",
            "LPOP l1",
            "RPOP l1 0",
            "RPOP l1 5",
            "LPOP l1",
            "RPUSH l2 a b c d",
            "LTRIM l2 5 10",
            "RPUSH l2 a b c d",
            "LREM l2 0 a",
            "LREM l2 0 b",
            "LREM l2 0 c",
            "LREM l2 0 d",
            "RPUSH l2 a b",
            "LMOVE l2 l3 LEFT RIGHT",
            "LMOVE l2 l3 RIGHT LEFT",
            "LMOVE l3 l3 LEFT RIGHT",
            "RPOPLPUSH l3 l4",
            "RPUSH $a 1 2",
            "LMOVE $a $b LEFT LEFT",
            "LMOVE $a $b RIGHT RIGHT",
            "LMOVE $a $b RIGHT RIGHT",
            "RPOPLPUSH $b $a",
            "LMPOP 2 nosuch l4 LEFT COUNT 10",
            "RPUSH $c 1 2 3",
            "LMPOP 2 $d $c RIGHT COUNT 2",
            "LMPOP 2 $d $c RIGHT COUNT 2",
            "LMPOP 2 $d $c RIGHT COUNT 2",
            "LRANGE nosuch 0 -1",
        ]),
    );
}

#[test]
fn blocked_pops_fire_the_events_of_their_serve() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "BLOCK BLPOP bl1 0",
            "WAKE RPUSH bl1 a",
            "BLOCK BRPOP bl1 bl2 0",
            "WAKE LPUSH bl2 a",
            "BLOCK BLMOVE bl2 bl3 LEFT RIGHT 0",
            "WAKE RPUSH bl2 c",
            "BLOCK BLMOVE $a $b RIGHT LEFT 0",
            "WAKE RPUSH $a x",
            "BLOCK BRPOPLPUSH $c $d 0",
            "WAKE RPUSH $c x",
            "BLOCK BLMPOP 0 2 bl4 $a LEFT COUNT 5",
            "WAKE RPUSH bl4 a b",
            "BLOCK BZPOPMIN bz1 0",
            "WAKE ZADD bz1 1 a",
            "BLOCK BZPOPMAX bz1 0",
            "WAKE ZADD bz1 3 c",
            "BLOCK BZMPOP 0 1 bz2 MIN COUNT 3",
            "WAKE ZADD bz2 1 a",
            "RPUSH $a x y",
            "BLPOP $a 0",
            "BLMOVE $a $b LEFT LEFT 0",
        ]),
    );
}

#[test]
fn hashes_fire_redis_events() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "HSET h1 f1 v1 f2 v2",
            "HSET h1 f1 v1",
            "HMSET h1 f3 v3",
            "HSETNX h1 f1 x",
            "HSETNX h1 f4 x",
            "HSETNX h2 f x",
            "HINCRBY h1 n 5",
            "HINCRBY h1 f1 1",
            "HINCRBYFLOAT h1 x 1.5",
            "HDEL h1 nothere",
            "HDEL h1 f1 f2 nothere",
            "HDEL h2 f",
            "HDEL nosuch f",
            "HGET nosuch f",
            "HGETALL nosuch",
        ]),
    );
}

#[test]
fn sets_fire_redis_events() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "SADD s1 a b c",
            "SADD s1 a",
            "SADD s1 a d",
            "SREM s1 nothere",
            "SREM s1 a b",
            "SREM s1 c d",
            "SADD s1 1 2 3 4 5",
            "SPOP s1 0",
            "SPOP s1 2",
            "SPOP s1 10",
            "SADD s2 a",
            "SPOP s2",
            "SPOP s2",
            "SADD s3 a b",
            "SMOVE s3 s4 a",
            "SMOVE s3 s4 nothere",
            "SADD s4 b",
            "SMOVE s3 s4 b",
            "SMOVE s4 s4 a",
            "SADD $a x y",
            "SMOVE $a $b x",
            "SMOVE $a $b y",
            "SMOVE $b $a x",
            "SADD $c 1 2 3",
            "SADD $d 2 3 4",
            "SINTERSTORE $a $c $d",
            "SUNIONSTORE $b $c $d",
            "SDIFFSTORE $a $c $d",
            "SDIFFSTORE $a $c $c",
            "SDIFFSTORE $a $c $c",
            "SINTERSTORE $b $c nosuch",
            "SINTERSTORE s5 $c $d",
            "SUNIONSTORE s5 nosuch",
            "SMEMBERS nosuch",
        ]),
    );
}

#[test]
fn sorted_sets_fire_redis_events() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "ZADD z1 1 a 2 b 3 c",
            "ZADD z1 1 a",
            "ZADD z1 5 a",
            "ZADD z1 NX 5 a",
            "ZADD z1 XX 6 a 7 nothere",
            "ZADD z1 CH GT 1 a",
            "ZADD z1 INCR 1 a",
            "ZINCRBY z1 0 a",
            "ZINCRBY z1 2 d",
            "ZADD nosuch XX 1 a",
            "ZREM z1 nothere",
            "ZREM z1 a",
            "ZREMRANGEBYSCORE z1 100 200",
            "ZREMRANGEBYSCORE z1 0 2",
            "ZREMRANGEBYRANK z1 5 10",
            "ZREMRANGEBYRANK z1 0 0",
            "ZADD z1 0 a 0 b 0 c",
            "ZREMRANGEBYLEX z1 [a [b",
            "ZREMRANGEBYLEX z1 - +",
            "ZADD z2 1 a 2 b 3 c 4 d",
            "ZPOPMIN z2",
            "ZPOPMAX z2 2",
            "ZPOPMIN z2 0",
            "ZPOPMAX z2 5",
            "ZPOPMIN z2",
            "ZADD z3 1 a 2 b",
            "ZMPOP 2 nosuch z3 MAX COUNT 1",
            "ZMPOP 1 z3 MIN COUNT 9",
            "ZADD $c 1 a 2 b 3 c",
            "ZADD $d 2 b 3 c 4 d",
            "ZUNIONSTORE $a 2 $c $d",
            "ZINTERSTORE $b 2 $c $d",
            "ZDIFFSTORE $a 2 $c $d",
            "ZDIFFSTORE $a 2 $c $c",
            "ZDIFFSTORE $a 2 $c $c",
            "ZINTERSTORE $b 2 $c nosuch",
            "ZRANGESTORE $a $c 0 1",
            "ZRANGESTORE $a $c 5 10",
            "ZRANGESTORE $a $c 5 10",
            "ZRANGESTORE z4 $c 0 -1",
            "ZUNIONSTORE z4 1 nosuch",
            "ZSCORE nosuch a",
        ]),
    );
}

#[test]
fn bitmaps_and_sort_fire_redis_events() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "SETBIT b1 7 1",
            "SETBIT b1 7 1",
            "SETBIT b1 7 0",
            "SETBIT b1 100 0",
            "SETBIT b1 3 0",
            "BITFIELD b2 GET u8 0",
            "BITFIELD b2 SET u8 0 255",
            "BITFIELD b2 SET u8 0 255",
            "BITFIELD b2 INCRBY u8 0 1",
            "BITFIELD b2 OVERFLOW FAIL INCRBY u8 0 300",
            "BITFIELD b2 OVERFLOW FAIL INCRBY u8 100 300",
            "BITFIELD b2 SET u8 200 0",
            "BITFIELD_RO b2 GET u8 0",
            "SET $c ab",
            "SET $d cd",
            "BITOP OR $a $c $d",
            "BITOP AND $b $c nosuch",
            "BITOP AND $b nosuch",
            "BITOP AND $b nosuch",
            "BITOP NOT b3 $c",
            "BITCOUNT nosuch",
            "RPUSH sl 3 1 2",
            "SORT sl STORE $a",
            "SORT sl STORE sl2",
            "SORT nosuch STORE sl2",
            "SORT nosuch STORE sl2",
            "SADD ss b a c",
            "SORT ss ALPHA STORE $b",
        ]),
    );
}

#[test]
fn multi_exec_fires_each_commands_events_in_turn() {
    let p = pair("KEA");
    differential(
        &p,
        &script(&[
            "MULTI",
            "SET {m}1 v",
            "LPUSH {m}2 a",
            "EXPIRE {m}1 100",
            "DEL {m}1 {m}2",
            "INCR {m}3",
            "EXEC",
            "MULTI",
            "SET $a 1",
            "RENAME $a $b",
            "SMOVE nosuch $b x",
            "EXEC",
        ]),
    );
}
