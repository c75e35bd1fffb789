//! Keyspace notifications, black-box: every command family fires the
//! events Redis fires, in Redis's order, with Redis's names.
//!
//! The differential tests run one script of commands on shardis and on
//! redis-server, both with `notify-keyspace-events KEA` (then again with
//! `KEAnm`, adding `new` and `keymiss`), each watched by a RESP2 subscriber
//! to `__key*__:*`, and compare what the subscribers got frame by frame.
//! After each step the script publishes `mark <n>` (the subscribers listen
//! to it too), so a difference shows which step made it, and a final `done`
//! ends the stream. Keys of multi-key commands are picked on different
//! shards of shardis (`keys_on_shard`), so cross-shard coordinators are
//! covered. The oracle is Redis 7.0.15 and the target 7.2; for the events
//! tested here the two agree (Redis 7.2's call sites were read for each).
//! The other tests assert literal frames, on both servers.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use std::time::{Duration, Instant};

use blackbox::{esc, Conn};
use common::oracle::{keys_on_shard, Pair};

/// One step of a script.
enum Step {
    /// A command (space-separated arguments) on the main connection; or
    /// several, separated by ` ; `, sent at once so that they run in one
    /// go (no expiry cycle between them).
    Cmd(String),
    /// A blocking command on the second connection, which then waits
    /// until the server shows it blocked.
    Block(String),
    /// A command on the main connection that serves the blocked one: both
    /// replies are read before the step ends.
    Wake(String),
    /// A command whose keys span shards and that shardis splits over them
    /// (DEL, MSET…, SORT's lookups by pattern): each shard's events come in
    /// Redis's order, but the shards' interleave as they run, so the step's
    /// events are compared as a multiset.
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
                Step::Cmd(c) | Step::Split(c) => {
                    let cmds: Vec<&str> = c.split(" ; ").collect();
                    cmds.iter().for_each(|c| self.main.send(&args(c)));
                    cmds.iter().map(|_| show(&self.main.frame())).collect::<Vec<_>>().join(" | ")
                }
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

/// [`differential`] with every class of event but `new` and `keymiss`
/// (`KEA`), then with those too.
fn both_ways(script: &[Step]) {
    differential(&pair("KEA"), script);
    let events = differential(&pair("KEAnm"), script).concat();
    for extra in ["__keyevent@0__:new ", "__keyevent@0__:keymiss "] {
        assert!(events.iter().any(|e| e.starts_with(extra)), "no {extra:?} event");
    }
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
    both_ways(&script(&[
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
        "SET s6 v PXAT 1 ; GET s6",
        "SET s6 v EXAT 1 GET ; SET s6 w",
        "GET nosuch",
        "STRLEN s4",
    ]));
}

#[test]
fn generic_key_commands_fire_redis_events() {
    both_ways(&script(&[
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
    ]));
}

#[test]
fn lists_fire_redis_events() {
    both_ways(&script(&[
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
    ]));
}

#[test]
fn blocked_pops_fire_the_events_of_their_serve() {
    both_ways(&script(&[
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
        "LLEN nosuch",
    ]));
}

#[test]
fn hashes_fire_redis_events() {
    both_ways(&script(&[
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
    ]));
}

#[test]
fn sets_fire_redis_events() {
    both_ways(&script(&[
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
    ]));
}

#[test]
fn sorted_sets_fire_redis_events() {
    both_ways(&script(&[
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
    ]));
}

#[test]
fn bitmaps_and_sort_fire_redis_events() {
    both_ways(&script(&[
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
    ]));
}

#[test]
fn multi_exec_fires_each_commands_events_in_turn() {
    both_ways(&script(&[
        "MULTI",
        "SET {m}1 v",
        "LPUSH {m}2 a",
        "EXPIRE {m}1 100",
        "DEL {m}1 {m}2",
        "INCR {m}3",
        "GET {m}4",
        "EXEC",
        "MULTI",
        "SET $a 1",
        "RENAME $a $b",
        "SMOVE nosuch $b x",
        "EXEC",
    ]));
}

#[test]
fn keymiss_fires_for_every_reading_lookup() {
    differential(
        &pair("Em"),
        &script(&[
            "GET k",
            "MGET k {k}2 {k}3",
            "SET {k}2 v",
            "MGET k {k}2 {k}3",
            "STRLEN k",
            "GETRANGE k 0 1",
            "GETDEL k",
            "GETEX k PERSIST",
            "GETSET k v",
            "SET k v GET",
            "DEL k",
            "SET k v GET",
            "DEL k",
            "INCR k",
            "APPEND k x",
            "EXISTS k nosuch",
            "TYPE nosuch",
            "TTL nosuch",
            "PTTL nosuch",
            "EXPIRETIME nosuch",
            "PEXPIRETIME nosuch",
            "TOUCH k nosuch",
            "OBJECT ENCODING nosuch",
            "COPY nosuch k2",
            "RENAME nosuch k2",
            "LLEN nosuch",
            "LRANGE nosuch 0 1",
            "LINDEX nosuch 0",
            "LPOS nosuch a",
            "LPOP nosuch",
            "HGET nosuch f",
            "HMGET nosuch f g",
            "HLEN nosuch",
            "HSTRLEN nosuch f",
            "HEXISTS nosuch f",
            "HKEYS nosuch",
            "HVALS nosuch",
            "HGETALL nosuch",
            "HRANDFIELD nosuch",
            "HSCAN nosuch 0",
            "SISMEMBER nosuch a",
            "SMISMEMBER nosuch a",
            "SCARD nosuch",
            "SRANDMEMBER nosuch",
            "SMEMBERS nosuch",
            "SSCAN nosuch 0",
            "SINTER nosuch {nosuch}2",
            "SUNION nosuch {nosuch}2",
            "SDIFF nosuch {nosuch}2",
            "SINTERCARD 2 nosuch {nosuch}2",
            "SINTERSTORE d nosuch",
            "ZCARD nosuch",
            "ZSCORE nosuch a",
            "ZMSCORE nosuch a",
            "ZRANK nosuch a",
            "ZCOUNT nosuch 0 1",
            "ZLEXCOUNT nosuch - +",
            "ZRANGE nosuch 0 1",
            "ZRANGEBYSCORE nosuch 0 1",
            "ZREVRANGEBYLEX nosuch + -",
            "ZRANDMEMBER nosuch",
            "ZSCAN nosuch 0",
            "ZUNION 2 nosuch {nosuch}2",
            "ZINTERCARD 2 nosuch {nosuch}2",
            "ZUNIONSTORE d 2 nosuch {nosuch}2",
            "ZRANGESTORE d nosuch 0 1",
            "GETBIT nosuch 1",
            "BITCOUNT nosuch",
            "BITPOS nosuch 1",
            "BITFIELD nosuch GET u8 0",
            "BITFIELD_RO nosuch GET u8 0",
            "BITOP OR d nosuch {nosuch}2",
            "RPUSH l 2 1",
            "SORT nosuch",
            "SORT_RO nosuch",
            "SPLIT SORT l BY w_*",
            "SPLIT SORT l BY nosort GET g_* GET #",
            "LCS nosuch {nosuch}2",
        ]),
    );
}

// ---------------------------------------------------------------------------
// Expiry, `new`, keymiss, nothing at all, and the exact frames

/// A `pmessage` of the `__key*__:*` subscription, RESP2 (`*`) or RESP3 (`>`).
fn pmessage(head: char, channel: &str, payload: &str) -> String {
    let bulk = |s: &str| format!("${}\r\n{}\r\n", s.len(), s);
    format!("{}4\r\n{}{}{}{}", head, bulk("pmessage"), bulk("__key*__:*"), bulk(channel), bulk(payload))
}

/// A subscriber to every keyspace channel and to `done`; RESP3 if `resp3`.
fn subscriber(port: u16, resp3: bool) -> Conn {
    let mut sub = Conn::open(port);
    if resp3 {
        sub.call(&["HELLO", "3"]);
    }
    sub.send(&["PSUBSCRIBE", "__key*__:*"]);
    sub.frame();
    sub.send(&["SUBSCRIBE", "done"]);
    sub.frame();
    sub
}

/// The frames `sub` receives before the `done` message.
fn until_done(sub: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let f = String::from_utf8_lossy(&sub.frame()).into_owned();
        if f.contains("$4\r\ndone\r\n") {
            return out;
        }
        out.push(f);
    }
}

/// Sends `cmds` (` ; `-separated) in one write on a fresh connection,
/// reads their replies, then ends the stream with `PUBLISH done x`.
fn pipeline_then_done(port: u16, cmds: &str) {
    let mut c = Conn::open(port);
    let cmds: Vec<&str> = cmds.split(" ; ").collect();
    let mut bytes = Vec::new();
    for c in &cmds {
        bytes.extend(common::oracle::encode(&args(c)));
    }
    c.send_raw(&bytes);
    cmds.iter().for_each(|_| drop(c.frame()));
    c.call(&["PUBLISH", "done", "x"]);
}

/// On both servers (started with `flags`), what a RESP2 subscriber gets
/// while `cmds` run in one go: exactly `want` (keyevent channel, payload).
fn expect_events(flags: &str, cmds: &str, want: &[(&str, &str)]) {
    let p = pair(flags);
    let want: Vec<String> = want.iter().map(|(c, k)| pmessage('*', c, k)).collect();
    for (name, port) in p.ports() {
        let mut sub = subscriber(port, false);
        pipeline_then_done(port, cmds);
        assert_eq!(until_done(&mut sub), want, "{name}");
    }
}

// The pipelines below keep to one shard of shardis (`{x}` keys): commands
// of a pipeline that run on different shards run at once, so their events
// interleave (each shard's in order).

#[test]
fn lazy_expiry_fires_expired_before_the_commands_own_event() {
    let cmds = "SET {x}k v PXAT 1 ; GET {x}k ; SET {x}k v PXAT 1 ; SET {x}k w ; SET {x}l v PXAT 1 ; RPUSH {x}l a ; \
                SET {x}d v PXAT 1 ; DEL {x}d ; SET {x}e v PXAT 1 ; EXISTS {x}e ; SET {x}f v PXAT 1 ; RENAME {x}f {x}g";
    let set = |key| [("__keyevent@0__:set", key), ("__keyevent@0__:expire", key), ("__keyevent@0__:expired", key)];
    let mut want = Vec::new();
    want.extend(set("{x}k"));
    want.extend(set("{x}k"));
    want.push(("__keyevent@0__:set", "{x}k"));
    want.extend(set("{x}l"));
    want.push(("__keyevent@0__:rpush", "{x}l"));
    for key in ["{x}d", "{x}e", "{x}f"] {
        want.extend(set(key));
    }
    expect_events("Eg$lx", cmds, &want);
    // The STOREs delete an empty result's destination without a lookup: a
    // key past its time goes as a `del` (Redis's `dbDelete`).
    let stores = "SINTERSTORE {x}d {x}no ; ZUNIONSTORE {x}d 1 {x}no ; ZRANGESTORE {x}d {x}no 0 1 ; \
                  BITOP AND {x}d {x}no ; SORT {x}no STORE {x}d ; SDIFFSTORE {x}d {x}no";
    let mut cmds = String::new();
    let mut want = Vec::new();
    for store in stores.split(" ; ") {
        cmds.push_str(&format!("SET {{x}}d v PXAT 1 ; {store} ; "));
        want.extend([
            ("__keyevent@0__:set", "{x}d"),
            ("__keyevent@0__:expire", "{x}d"),
            ("__keyevent@0__:del", "{x}d"),
        ]);
    }
    expect_events("Eg$lxsz", cmds.trim_end_matches(" ; "), &want);
}

#[test]
fn active_expiry_fires_expired_for_keys_nobody_touches() {
    let p = pair("KEA");
    for (name, port) in p.ports() {
        let mut sub = subscriber(port, false);
        let mut c = Conn::open(port);
        c.expect(&["SET", "k", "v"], "+OK\r\n");
        c.expect(&["PEXPIRE", "k", "20"], ":1\r\n");
        let mut got = Vec::new();
        while got.len() < 6 {
            got.push(String::from_utf8_lossy(&sub.frame()).into_owned());
        }
        let want = [
            pmessage('*', "__keyspace@0__:k", "set"),
            pmessage('*', "__keyevent@0__:set", "k"),
            pmessage('*', "__keyspace@0__:k", "expire"),
            pmessage('*', "__keyevent@0__:expire", "k"),
            pmessage('*', "__keyspace@0__:k", "expired"),
            pmessage('*', "__keyevent@0__:expired", "k"),
        ];
        assert_eq!(got, want, "{name}");
        c.expect(&["DBSIZE"], ":0\r\n");
    }
}

#[test]
fn new_fires_when_a_key_is_created_not_overwritten() {
    expect_events(
        "En",
        "SET {x}a 1 ; SET {x}a 2 ; LPUSH {x}l x ; LPUSH {x}l y ; RENAME {x}a {x}b ; SET {x}c 1 ; RENAME {x}b {x}c ; \
         SET {x}t v PXAT 1 ; SET {x}t w ; SELECT 3 ; HSET {x}h f v ; HSET {x}h g v ; MOVE {x}h 0",
        &[
            ("__keyevent@0__:new", "{x}a"),
            ("__keyevent@0__:new", "{x}l"),
            ("__keyevent@0__:new", "{x}b"),
            ("__keyevent@0__:new", "{x}c"),
            // RENAME deletes the target first: its key is created anew.
            ("__keyevent@0__:new", "{x}c"),
            ("__keyevent@0__:new", "{x}t"),
            ("__keyevent@0__:new", "{x}t"),
            ("__keyevent@3__:new", "{x}h"),
            ("__keyevent@0__:new", "{x}h"),
        ],
    );
}

#[test]
fn keymiss_is_its_own_class() {
    expect_events(
        "Km",
        "GET {x}a ; SET {x}a 1 ; GET {x}a ; HGET {x}h f ; LPOP {x}l ; EXISTS {x}a {x}b",
        &[("__keyspace@0__:{x}a", "keymiss"), ("__keyspace@0__:{x}h", "keymiss"), ("__keyspace@0__:{x}b", "keymiss")],
    );
}

#[test]
fn nothing_is_published_when_notifications_are_off() {
    let p = Pair::start(&[]);
    for (name, port) in p.ports() {
        let mut sub = subscriber(port, false);
        pipeline_then_done(port, "SET k v PX 100000 ; LPUSH l a ; LPOP l ; GET nosuch ; SET e v PXAT 1 ; GET e");
        assert_eq!(until_done(&mut sub), Vec::<String>::new(), "{name}: off by default");
        // On, then off again at runtime.
        let mut c = Conn::open(port);
        c.expect(&["CONFIG", "SET", "notify-keyspace-events", "E$"], "+OK\r\n");
        pipeline_then_done(port, "SET k w");
        assert_eq!(until_done(&mut sub), [pmessage('*', "__keyevent@0__:set", "k")], "{name}: on");
        c.expect(&["CONFIG", "SET", "notify-keyspace-events", ""], "+OK\r\n");
        pipeline_then_done(port, "SET k x ; DEL k");
        assert_eq!(until_done(&mut sub), Vec::<String>::new(), "{name}: off again");
    }
}

#[test]
fn events_are_push_frames_in_resp3_and_arrays_in_resp2() {
    let p = pair("KE$g");
    for (name, port) in p.ports() {
        for (resp3, head) in [(false, '*'), (true, '>')] {
            let mut sub = subscriber(port, resp3);
            // A plain subscription to one event's channel: a `message`.
            sub.send(&["SUBSCRIBE", "__keyevent@0__:del"]);
            sub.frame();
            pipeline_then_done(port, "SET k v ; DEL k");
            let message = format!("{}3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:del\r\n$1\r\nk\r\n", head);
            let want = [
                pmessage(head, "__keyspace@0__:k", "set"),
                pmessage(head, "__keyevent@0__:set", "k"),
                pmessage(head, "__keyspace@0__:k", "del"),
                message,
                pmessage(head, "__keyevent@0__:del", "k"),
            ];
            assert_eq!(until_done(&mut sub), want, "{name}, resp3 {resp3}");
        }
    }
}
