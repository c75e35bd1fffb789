//! Transactions, black-box: MULTI/EXEC/DISCARD/WATCH/UNWATCH with exact
//! replies, as redis-server 7.0.15 gives them. Which errors abort the whole
//! transaction at queue time (unknown command, wrong arity, a command not
//! allowed in MULTI) and which only fail their own command inside EXEC's
//! array (wrong type, bad options, bad numbers); multi-key commands whose
//! keys live on both shards; SELECT inside MULTI; blocking commands that do
//! not block inside EXEC; which writes touch a WATCHed key (from this
//! connection or another, on either shard, by FLUSHALL/FLUSHDB/SWAPDB, by
//! expiry) and which do not; and that other clients never see half a
//! transaction. Ports the cases of Redis's tests/unit/multi.tcl that need
//! neither DEBUG nor replication.
//!
//! Every case runs on shardis (2 shards) and, when installed, on
//! redis-server, each expected to answer exactly these bytes.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::oracle::{connect, encode, keys_on_shard, read_frames, read_n, send_lenient, Esc, Pair};

const OK: &str = "+OK\r\n";
const QUEUED: &str = "+QUEUED\r\n";
const PONG: &str = "+PONG\r\n";
const NIL: &str = "$-1\r\n";
const NIL_ARRAY: &str = "*-1\r\n";
const RESP3_NULL: &str = "_\r\n";
const EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
/// EXEC's reply to a transaction of one PING.
const EXEC_PONG: &str = "*1\r\n+PONG\r\n";

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn array(items: &[&str]) -> String {
    format!("*{}\r\n{}", items.len(), items.concat())
}

fn bulks(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(|s| bulk(s)).collect();
    format!("*{}\r\n{}", items.len(), items.concat())
}

fn arity(cmd: &str) -> String {
    format!("-ERR wrong number of arguments for '{}' command\r\n", cmd)
}

/// A key on shard 0 and a key on shard 1 of shardis's two, named from
/// `prefix`.
fn both_shards(prefix: &str) -> (String, String) {
    (keys_on_shard(prefix, 0, 2, 1).remove(0), keys_on_shard(prefix, 1, 2, 1).remove(0))
}

/// Commands (space-separated arguments) with their exact replies, and
/// pauses, run in order on one connection to each server.
#[derive(Default)]
struct Steps(Vec<Step>);

enum Step {
    Cmd(String, String),
    Sleep(Duration),
}

impl Steps {
    fn new() -> Steps {
        Steps::default()
    }

    fn cmd(mut self, command: &str, reply: &str) -> Steps {
        self.0.push(Step::Cmd(command.to_string(), reply.to_string()));
        self
    }

    fn sleep(mut self, ms: u64) -> Steps {
        self.0.push(Step::Sleep(Duration::from_millis(ms)));
        self
    }

    /// MULTI, each command of `body` answered +QUEUED, then EXEC answered
    /// with the array of each command's own reply, in order.
    fn tx(mut self, body: &[(&str, &str)]) -> Steps {
        self = self.cmd("MULTI", OK);
        for (command, _) in body {
            self = self.cmd(command, QUEUED);
        }
        let replies: Vec<&str> = body.iter().map(|(_, reply)| *reply).collect();
        self.cmd("EXEC", &array(&replies))
    }

    fn run(&self, p: &Pair) {
        self.run_on(p, false);
    }

    /// On connections switched to RESP3 first (HELLO 3, whose reply, the
    /// server's details, is skipped).
    fn run_resp3(&self, p: &Pair) {
        self.run_on(p, true);
    }

    fn run_on(&self, p: &Pair, resp3: bool) {
        for (name, port) in p.ports() {
            let mut s = connect(port);
            if resp3 {
                send_lenient(&mut s, &encode(&["HELLO", "3"]));
                read_frames(&mut s, 1);
            }
            for step in &self.0 {
                match step {
                    Step::Cmd(command, want) => expect(&mut s, name, command, want),
                    Step::Sleep(pause) => std::thread::sleep(*pause),
                }
            }
            // Nothing more came, and the connection is still open.
            expect(&mut s, name, "PING", PONG);
        }
    }
}

/// Runs `steps` (which connection, command, exact reply) on `n` fresh
/// connections to each server in turn, to see what one client's commands do
/// to another's transaction.
fn clients(p: &Pair, n: usize, steps: &[(usize, &str, &str)]) {
    for (name, port) in p.ports() {
        let mut conns: Vec<_> = (0..n).map(|_| connect(port)).collect();
        for (i, command, want) in steps {
            expect(&mut conns[*i], &format!("{}, connection {}", name, i), command, want);
        }
    }
}

/// Sends `command` (space-separated arguments) and asserts its exact reply.
fn expect(s: &mut TcpStream, who: &str, command: &str, want: &str) {
    send_lenient(s, &encode(&command.split(' ').collect::<Vec<_>>()));
    let got = read_n(s, want.len());
    assert_eq!(Esc(got), Esc::of(want.as_bytes()), "{} answered {:?}", who, command);
}

// ---------------------------------------------------------------- MULTI/EXEC

#[test]
fn exec_answers_every_queued_command_in_order_across_shards() {
    let p = Pair::start(&[]);
    let (s, l) = both_shards("str");
    let (h, z) = both_shards("coll");
    let (set, missing) = both_shards("other");
    Steps::new()
        .tx(&[
            (&format!("SET {s} 1"), OK),
            (&format!("INCR {s}"), ":2\r\n"),
            (&format!("GET {s}"), &bulk("2")),
            (&format!("RPUSH {l} a b c"), ":3\r\n"),
            (&format!("LRANGE {l} 0 -1"), &bulks(&["a", "b", "c"])),
            (&format!("HSET {h} f v"), ":1\r\n"),
            (&format!("HGETALL {h}"), &bulks(&["f", "v"])),
            (&format!("SADD {set} x"), ":1\r\n"),
            (&format!("SMEMBERS {set}"), &bulks(&["x"])),
            (&format!("ZADD {z} 1 a 2.5 b"), ":2\r\n"),
            (&format!("ZRANGE {z} 0 -1 WITHSCORES"), &bulks(&["a", "1", "b", "2.5"])),
            (&format!("GET {missing}"), NIL),
            (&format!("LMPOP 2 {missing} {l} LEFT COUNT 2"), &array(&[&bulk(&l), &bulks(&["a", "b"])])),
            (&format!("ZPOPMIN {missing}"), "*0\r\n"),
            ("PING", PONG),
            ("ECHO hi", &bulk("hi")),
        ])
        .cmd(&format!("GET {s}"), &bulk("2"))
        .cmd(&format!("LRANGE {l} 0 -1"), &bulks(&["c"]))
        .run(&p);
}

#[test]
fn exec_replies_follow_resp3_inside_the_array() {
    let p = Pair::start(&[]);
    let (h, z) = both_shards("coll");
    let (set, missing) = both_shards("other");
    Steps::new()
        .tx(&[
            (&format!("HSET {h} f v"), ":1\r\n"),
            (&format!("HGETALL {h}"), &format!("%1\r\n{}{}", bulk("f"), bulk("v"))),
            (&format!("SADD {set} x"), ":1\r\n"),
            (&format!("SMEMBERS {set}"), &format!("~1\r\n{}", bulk("x"))),
            (&format!("ZADD {z} 1 a 2.5 b"), ":2\r\n"),
            (&format!("ZSCORE {z} b"), ",2.5\r\n"),
            (
                &format!("ZRANGE {z} 0 -1 WITHSCORES"),
                &array(&[&array(&[&bulk("a"), ",1\r\n"]), &array(&[&bulk("b"), ",2.5\r\n"])]),
            ),
            (&format!("GET {missing}"), RESP3_NULL),
            (&format!("LPOP {missing}"), RESP3_NULL),
            (&format!("HGETALL {missing}"), "%0\r\n"),
        ])
        .run_resp3(&p);
}

#[test]
fn an_error_inside_exec_fails_only_that_command_and_the_rest_runs() {
    let p = Pair::start(&[]);
    let (s, other) = both_shards("k");
    Steps::new()
        .cmd(&format!("SET {s} abc"), OK)
        .tx(&[
            (&format!("INCR {s}"), NOT_INT),
            (&format!("LPUSH {s} q"), WRONGTYPE),
            (&format!("SET {other} 1"), OK),
            (&format!("HGET {s} f"), WRONGTYPE),
            (&format!("INCR {other}"), ":2\r\n"),
            (&format!("APPEND {s} d"), ":4\r\n"),
            (&format!("GET {s}"), &bulk("abcd")),
        ])
        .cmd(&format!("GET {s}"), &bulk("abcd"))
        .cmd(&format!("GET {other}"), &bulk("2"))
        .run(&p);
}

/// Arguments that are wrong only by their content (options, numbers) pass
/// queueing: Redis checks only the command name and arity then. They fail
/// inside EXEC, alone.
#[test]
fn bad_options_and_numbers_are_errors_at_exec_time_not_queue_time() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    Steps::new()
        .tx(&[
            (&format!("SET {a} 1 XX NX"), SYNTAX),
            (&format!("SET {a} 1 EX 0"), "-ERR invalid expire time in 'set' command\r\n"),
            (&format!("SET {b} 1 EX 100 PX 100"), SYNTAX),
            (&format!("EXPIRE {a} abc"), NOT_INT),
            (&format!("INCRBY {b} x"), NOT_INT),
            (&format!("LRANGE {b} a 1"), NOT_INT),
            (&format!("ZADD {b} x m"), "-ERR value is not a valid float\r\n"),
            (&format!("SET {a} 1"), OK),
            ("SELECT 99", "-ERR DB index is out of range\r\n"),
            // A key without its value passes MSET's arity (-3) at queueing.
            (&format!("MSET {a} 1 {b}"), "-ERR wrong number of arguments for 'mset' command\r\n"),
            (&format!("MSET {a} 1 {a} 2 {b}"), "-ERR wrong number of arguments for 'mset' command\r\n"),
            (&format!("EXISTS {a} {b}"), ":1\r\n"),
        ])
        .run(&p);
}

#[test]
fn queued_commands_read_the_data_as_it_is_at_exec_not_at_queueing() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    let set_a = format!("SET {a} 1");
    let set_b = format!("SET {b} 2");
    let mget = format!("MGET {a} {b}");
    clients(
        &p,
        2,
        &[
            (0, "MULTI", OK),
            (0, &mget, QUEUED),
            (1, &set_a, OK),
            (1, &set_b, OK),
            (0, "EXEC", &array(&[&bulks(&["1", "2"])])),
        ],
    );
}

#[test]
fn an_empty_transaction_answers_an_empty_array() {
    let p = Pair::start(&[]);
    Steps::new().cmd("MULTI", OK).cmd("EXEC", "*0\r\n").run(&p);
    Steps::new().cmd("MULTI", OK).cmd("EXEC", "*0\r\n").run_resp3(&p);
}

#[test]
fn exec_and_discard_without_multi_are_errors() {
    let p = Pair::start(&[]);
    Steps::new()
        .cmd("EXEC", "-ERR EXEC without MULTI\r\n")
        .cmd("DISCARD", "-ERR DISCARD without MULTI\r\n")
        .cmd("exec", "-ERR EXEC without MULTI\r\n")
        .cmd("DISCARD x", &arity("discard"))
        // EXEC's arity error is always worded as an abort, MULTI or not.
        .cmd("EXEC x", "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n")
        .cmd("MULTI x", &arity("multi"))
        .cmd("UNWATCH x", &arity("unwatch"))
        .cmd("WATCH", &arity("watch"))
        .cmd("PING", PONG)
        .run(&p);
}

/// multi.tcl "Nested MULTI are not allowed": the error does not spoil the
/// transaction.
#[test]
fn nested_multi_is_an_error_and_the_transaction_stays_open() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    Steps::new()
        .cmd("MULTI", OK)
        .cmd(&format!("SET {a} 1"), QUEUED)
        .cmd("MULTI", "-ERR MULTI calls can not be nested\r\n")
        .cmd(&format!("SET {b} 2"), QUEUED)
        .cmd("EXEC", &array(&[OK, OK]))
        .cmd(&format!("MGET {a} {b}"), &bulks(&["1", "2"]))
        .run(&p);
}

/// multi.tcl "WATCH inside MULTI is not allowed": an error, not queued, and
/// the transaction still runs; but WATCH with no key is an arity error,
/// which spoils it.
#[test]
fn watch_inside_multi_is_an_error_and_the_transaction_continues() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    Steps::new()
        .cmd("MULTI", OK)
        .cmd(&format!("WATCH {a}"), "-ERR WATCH inside MULTI is not allowed\r\n")
        .cmd(&format!("SET {a} 1"), QUEUED)
        .cmd("EXEC", &array(&[OK]))
        // Not watched: writing it does not abort a later transaction.
        .cmd(&format!("SET {a} 2"), OK)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", EXEC_PONG)
        .cmd("MULTI", OK)
        .cmd(&format!("SET {b} 1"), QUEUED)
        .cmd("WATCH", &arity("watch"))
        .cmd("EXEC", EXECABORT)
        .cmd(&format!("EXISTS {b}"), ":0\r\n")
        .run(&p);
}

/// multi.tcl "DISCARD".
#[test]
fn discard_drops_the_queued_commands_and_leaves_multi() {
    let p = Pair::start(&[]);
    let (l, s) = both_shards("k");
    Steps::new()
        .cmd(&format!("RPUSH {l} a b c"), ":3\r\n")
        .cmd("MULTI", OK)
        .cmd(&format!("DEL {l}"), QUEUED)
        .cmd(&format!("SET {s} 1"), QUEUED)
        .cmd("DISCARD", OK)
        .cmd(&format!("LRANGE {l} 0 -1"), &bulks(&["a", "b", "c"]))
        .cmd(&format!("EXISTS {s}"), ":0\r\n")
        .cmd("EXEC", "-ERR EXEC without MULTI\r\n")
        .cmd("DISCARD", "-ERR DISCARD without MULTI\r\n")
        .run(&p);
}

/// multi.tcl "EXEC fails if there are errors while queueing commands #1"
/// and "If EXEC aborts, the client MULTI state is cleared": later commands
/// are still answered QUEUED, EXEC discards them all, and the connection is
/// out of MULTI.
#[test]
fn an_unknown_command_while_queueing_aborts_exec_and_applies_nothing() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("foo");
    Steps::new()
        .cmd("MULTI", OK)
        .cmd(&format!("SET {a} bar1"), QUEUED)
        .cmd(
            "non-existing-command x y",
            "-ERR unknown command 'non-existing-command', with args beginning with: 'x' 'y' \r\n",
        )
        .cmd(&format!("SET {b} bar2"), QUEUED)
        .cmd("EXEC", EXECABORT)
        .cmd(&format!("EXISTS {a} {b}"), ":0\r\n")
        .cmd("PING", PONG)
        .cmd("EXEC", "-ERR EXEC without MULTI\r\n")
        .run(&p);
}

#[test]
fn a_wrong_arity_while_queueing_aborts_exec_and_applies_nothing() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    Steps::new()
        .cmd("MULTI", OK)
        .cmd(&format!("SET {a} 1"), QUEUED)
        .cmd(&format!("GET {a} extra"), &arity("get"))
        .cmd(&format!("SET {b}"), &arity("set"))
        .cmd(&format!("INCR {b}"), QUEUED)
        .cmd("EXEC", EXECABORT)
        .cmd(&format!("EXISTS {a} {b}"), ":0\r\n")
        .run(&p);
    // An unknown subcommand is found at queue time too.
    Steps::new()
        .cmd("MULTI", OK)
        .cmd(&format!("SET {a} 1"), QUEUED)
        .cmd("OBJECT nosuch x", "-ERR unknown subcommand 'nosuch'. Try OBJECT HELP.\r\n")
        .cmd("EXEC", EXECABORT)
        .cmd(&format!("EXISTS {a}"), ":0\r\n")
        .run(&p);
}

/// DISCARD after a queueing error is fine and leaves MULTI.
#[test]
fn discard_after_a_queueing_error_leaves_multi() {
    let p = Pair::start(&[]);
    Steps::new()
        .cmd("MULTI", OK)
        .cmd("nosuch", "-ERR unknown command 'nosuch', with args beginning with: \r\n")
        .cmd("DISCARD", OK)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", EXEC_PONG)
        .run(&p);
}

/// EXEC and MULTI with arguments inside MULTI are arity errors that spoil
/// the transaction; EXEC's own aborts at once with the reason.
#[test]
fn exec_or_multi_with_arguments_inside_multi_abort_the_transaction() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    Steps::new()
        .cmd("MULTI", OK)
        .cmd(&format!("SET {a} 1"), QUEUED)
        .cmd(
            "EXEC now",
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
        )
        .cmd("EXEC", "-ERR EXEC without MULTI\r\n")
        .cmd("MULTI", OK)
        .cmd(&format!("SET {b} 1"), QUEUED)
        .cmd("MULTI again", &arity("multi"))
        .cmd("EXEC", EXECABORT)
        .cmd("MULTI", OK)
        .cmd(&format!("SET {b} 1"), QUEUED)
        .cmd("DISCARD x", &arity("discard"))
        .cmd("UNWATCH x", &arity("unwatch"))
        .cmd("EXEC", EXECABORT)
        .cmd(&format!("EXISTS {a} {b}"), ":0\r\n")
        .run(&p);
}

/// multi.tcl "MULTI with SHUTDOWN": Redis 7.0 flags SAVE, SHUTDOWN, SYNC
/// and PSYNC `no-multi`; of those shardis has SHUTDOWN.
#[test]
fn shutdown_is_not_allowed_inside_multi_and_aborts_the_transaction() {
    let p = Pair::start(&[]);
    Steps::new()
        .cmd("MULTI", OK)
        .cmd("SET foo bar", QUEUED)
        .cmd("SHUTDOWN", "-ERR Command not allowed inside a transaction\r\n")
        .cmd("SHUTDOWN NOSAVE", "-ERR Command not allowed inside a transaction\r\n")
        .cmd("EXEC", EXECABORT)
        .cmd("GET foo", NIL)
        .run(&p);
}

/// multi.tcl "MULTI where commands alter argc/argv".
#[test]
fn spop_inside_multi_pops_and_deletes_the_emptied_set() {
    let p = Pair::start(&[]);
    Steps::new()
        .cmd("SADD myset a", ":1\r\n")
        .tx(&[("SPOP myset", &bulk("a")), ("EXISTS myset", ":0\r\n")])
        .cmd("EXISTS myset", ":0\r\n")
        .run(&p);
}

// ------------------------------------------------------- multi-key, shards

#[test]
fn multi_key_commands_spanning_both_shards_run_inside_exec() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("str");
    let (s0, s1) = both_shards("set");
    let (l0, l1) = both_shards("list");
    let (z0, z1) = both_shards("zset");
    let (dst0, dst1) = both_shards("dst");
    Steps::new()
        .tx(&[
            (&format!("MSET {a} 1 {b} 2"), OK),
            (&format!("MGET {a} {b} {dst0}"), &array(&[&bulk("1"), &bulk("2"), NIL])),
            (&format!("EXISTS {a} {b} {a} {dst1}"), ":3\r\n"),
            (&format!("RENAME {a} {dst1}"), OK),
            (&format!("MGET {a} {dst1}"), &array(&[NIL, &bulk("1")])),
            (&format!("MSETNX {a} x {b} y"), ":0\r\n"),
            (&format!("DEL {b} {dst1} {a}"), ":2\r\n"),
            (&format!("SADD {s0} a b c"), ":3\r\n"),
            (&format!("SADD {s1} b c d"), ":3\r\n"),
            (&format!("SMOVE {s0} {s1} a"), ":1\r\n"),
            (&format!("SINTERSTORE {dst0} {s0} {s1}"), ":2\r\n"),
            (&format!("SCARD {dst0}"), ":2\r\n"),
            (&format!("RPUSH {l0} a b"), ":2\r\n"),
            (&format!("LMOVE {l0} {l1} RIGHT LEFT"), &bulk("b")),
            (&format!("RPOPLPUSH {l0} {l1}"), &bulk("a")),
            (&format!("LRANGE {l1} 0 -1"), &bulks(&["a", "b"])),
            (&format!("EXISTS {l0}"), ":0\r\n"),
            (&format!("ZADD {z0} 1 a 2 b"), ":2\r\n"),
            (&format!("ZADD {z1} 10 b 20 c"), ":2\r\n"),
            (&format!("ZUNIONSTORE {dst1} 2 {z0} {z1}"), ":3\r\n"),
            (&format!("ZRANGE {dst1} 0 -1 WITHSCORES"), &bulks(&["a", "1", "b", "12", "c", "20"])),
            (&format!("COPY {dst1} {z0} REPLACE"), ":1\r\n"),
            (&format!("ZCARD {z0}"), ":3\r\n"),
            ("DBSIZE", ":7\r\n"),
            ("FLUSHDB", OK),
            ("DBSIZE", ":0\r\n"),
            (&format!("SET {a} after"), OK),
            ("DBSIZE", ":1\r\n"),
        ])
        .cmd(&format!("GET {a}"), &bulk("after"))
        .cmd("DBSIZE", ":1\r\n")
        .run(&p);
}

#[test]
fn a_transaction_whose_keys_are_all_on_one_shard() {
    let p = Pair::start(&[]);
    let k = keys_on_shard("same", 1, 2, 4);
    let (a, b, c, d) = (&k[0], &k[1], &k[2], &k[3]);
    Steps::new()
        .cmd(&format!("SET {d} keep"), OK)
        .tx(&[
            (&format!("MSET {a} 1 {b} 2"), OK),
            (&format!("INCRBY {a} 10"), ":11\r\n"),
            (&format!("RENAME {b} {c}"), OK),
            (&format!("MGET {a} {b} {c}"), &array(&[&bulk("11"), NIL, &bulk("2")])),
            (&format!("LPUSH {b} x"), ":1\r\n"),
            (&format!("LPUSH {c} x"), WRONGTYPE),
            (&format!("DEL {a} {c}"), ":2\r\n"),
            ("DBSIZE", ":2\r\n"),
        ])
        .cmd(&format!("MGET {a} {c} {d}"), &array(&[NIL, NIL, &bulk("keep")]))
        .run(&p);
}

/// multi.tcl "MULTI / EXEC basics".
#[test]
fn lrange_and_ping_inside_multi() {
    let p = Pair::start(&[]);
    Steps::new()
        .cmd("DEL mylist", ":0\r\n")
        .cmd("RPUSH mylist a", ":1\r\n")
        .cmd("RPUSH mylist b", ":2\r\n")
        .cmd("RPUSH mylist c", ":3\r\n")
        .tx(&[("LRANGE mylist 0 -1", &bulks(&["a", "b", "c"])), ("PING", PONG)])
        .run(&p);
}

// ------------------------------------------------------------------ SELECT

#[test]
fn select_inside_multi_switches_the_db_for_the_rest_and_after_exec() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    Steps::new()
        .cmd(&format!("SET {a} db0"), OK)
        .tx(&[
            ("SELECT 3", OK),
            (&format!("SET {a} db3"), OK),
            (&format!("SET {b} db3"), OK),
            ("SELECT 99", "-ERR DB index is out of range\r\n"),
            ("SELECT x", NOT_INT),
            (&format!("GET {a}"), &bulk("db3")),
            ("DBSIZE", ":2\r\n"),
            (&format!("MOVE {b} 5"), ":1\r\n"),
            ("SELECT 5", OK),
            (&format!("GET {b}"), &bulk("db3")),
        ])
        // Still in db 5 after EXEC.
        .cmd(&format!("MGET {a} {b}"), &array(&[NIL, &bulk("db3")]))
        .cmd("SELECT 3", OK)
        .cmd(&format!("MGET {a} {b}"), &array(&[&bulk("db3"), NIL]))
        .cmd("SELECT 0", OK)
        .cmd(&format!("MGET {a} {b}"), &array(&[&bulk("db0"), NIL]))
        .run(&p);
}

/// A SELECT queued in a discarded or aborted transaction leaves the db
/// alone.
#[test]
fn a_discarded_or_aborted_select_leaves_the_db_alone() {
    let p = Pair::start(&[]);
    Steps::new()
        .cmd("SET k db0", OK)
        .cmd("MULTI", OK)
        .cmd("SELECT 2", QUEUED)
        .cmd("DISCARD", OK)
        .cmd("GET k", &bulk("db0"))
        .cmd("MULTI", OK)
        .cmd("SELECT 2", QUEUED)
        .cmd("nosuch", "-ERR unknown command 'nosuch', with args beginning with: \r\n")
        .cmd("EXEC", EXECABORT)
        .cmd("GET k", &bulk("db0"))
        .run(&p);
}

#[test]
fn swapdb_and_flushall_inside_multi() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    Steps::new()
        .cmd(&format!("SET {a} zero"), OK)
        .tx(&[
            ("SWAPDB 0 1", OK),
            (&format!("GET {a}"), NIL),
            ("SELECT 1", OK),
            (&format!("GET {a}"), &bulk("zero")),
            (&format!("SET {b} one"), OK),
            ("SWAPDB 1 0", OK),
            (&format!("MGET {a} {b}"), &array(&[NIL, NIL])),
            ("SELECT 0", OK),
            (&format!("MGET {a} {b}"), &array(&[&bulk("zero"), &bulk("one")])),
            ("FLUSHALL", OK),
            ("DBSIZE", ":0\r\n"),
        ])
        .run(&p);
}

/// A whole transaction written at once: every reply comes back in order,
/// and a spoiled transaction does not spoil the next one.
#[test]
fn a_pipelined_transaction_gets_every_reply_in_order() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    let commands: Vec<Vec<&str>> = vec![
        vec!["MULTI"],
        vec!["SET", &a, "1"],
        vec!["INCR", &b],
        vec!["MGET", &a, &b],
        vec!["EXEC"],
        vec!["MULTI"],
        vec!["DEL", &a],
        vec!["nosuch"],
        vec!["EXEC"],
        vec!["WATCH", &b],
        vec!["INCR", &b],
        vec!["MULTI"],
        vec!["DEL", &b],
        vec!["EXEC"],
        vec!["MULTI"],
        vec!["MGET", &a, &b],
        vec!["EXEC"],
    ];
    let want = [
        OK,
        QUEUED,
        QUEUED,
        QUEUED,
        &array(&[OK, ":1\r\n", &bulks(&["1", "1"])]),
        OK,
        QUEUED,
        "-ERR unknown command 'nosuch', with args beginning with: \r\n",
        EXECABORT,
        OK,
        ":2\r\n",
        OK,
        QUEUED,
        NIL_ARRAY,
        OK,
        QUEUED,
        &array(&[&bulks(&["1", "2"])]),
    ];
    let req: Vec<u8> = commands.iter().flat_map(|c| encode(c)).collect();
    for (name, port) in p.ports() {
        let mut s = connect(port);
        send_lenient(&mut s, &req);
        let got: Vec<Esc> = read_frames(&mut s, want.len()).into_iter().map(Esc).collect();
        let want: Vec<Esc> = want.iter().map(|w| Esc::of(w.as_bytes())).collect();
        assert_eq!(got, want, "{}", name);
    }
}

// ---------------------------------------------------------------- blocking

/// multi.tcl "Blocking commands ignores the timeout" (without the stream
/// commands): inside EXEC a blocking command on empty keys answers its
/// timeout reply at once, whatever its timeout.
#[test]
fn blocking_commands_inside_multi_answer_their_null_at_once() {
    let p = Pair::start(&[]);
    let (e0, e1) = both_shards("empty");
    let (z0, _) = both_shards("zset");
    Steps::new()
        .tx(&[
            (&format!("BLPOP {e0} {e1} 0"), NIL_ARRAY),
            (&format!("BRPOP {e0} 0"), NIL_ARRAY),
            (&format!("BRPOPLPUSH {e0} {e1} 0"), NIL),
            (&format!("BLMOVE {e0} {e1} LEFT LEFT 0"), NIL),
            (&format!("BZPOPMIN {z0} {e1} 0"), NIL_ARRAY),
            (&format!("BZPOPMAX {z0} 0"), NIL_ARRAY),
            (&format!("BLMPOP 0 2 {e0} {e1} LEFT"), NIL_ARRAY),
            (&format!("BZMPOP 0 1 {z0} MIN COUNT 3"), NIL_ARRAY),
            (&format!("BLPOP {e0} 100"), NIL_ARRAY),
            // Argument errors are still errors.
            (&format!("BLPOP {e0} -1"), "-ERR timeout is negative\r\n"),
            (&format!("BLPOP {e0} x"), "-ERR timeout is not a float or out of range\r\n"),
        ])
        .cmd(&format!("EXISTS {e0} {e1} {z0}"), ":0\r\n")
        .run(&p);
    Steps::new()
        .tx(&[
            (&format!("BLPOP {e0} 0"), RESP3_NULL),
            (&format!("BLMOVE {e0} {e1} LEFT LEFT 0"), RESP3_NULL),
            (&format!("BZPOPMIN {z0} 0"), RESP3_NULL),
            (&format!("BLMPOP 0 1 {e1} RIGHT"), RESP3_NULL),
            (&format!("BZMPOP 0 1 {z0} MAX"), RESP3_NULL),
        ])
        .run_resp3(&p);
}

#[test]
fn blocking_commands_inside_multi_serve_data_queued_before_them() {
    let p = Pair::start(&[]);
    let (l0, l1) = both_shards("list");
    let (z0, z1) = both_shards("zset");
    Steps::new()
        .tx(&[
            (&format!("RPUSH {l1} a b c"), ":3\r\n"),
            (&format!("BLPOP {l0} {l1} 0"), &bulks(&[&l1, "a"])),
            (&format!("BRPOP {l1} 0"), &bulks(&[&l1, "c"])),
            (&format!("BLMOVE {l1} {l0} LEFT RIGHT 0"), &bulk("b")),
            (&format!("BRPOPLPUSH {l0} {l1} 0"), &bulk("b")),
            (&format!("BLMPOP 0 2 {l0} {l1} LEFT COUNT 5"), &array(&[&bulk(&l1), &bulks(&["b"])])),
            (&format!("ZADD {z1} 1 a 2 b 3 c"), ":3\r\n"),
            (&format!("BZPOPMIN {z0} {z1} 0"), &bulks(&[&z1, "a", "1"])),
            (&format!("BZPOPMAX {z1} 0"), &bulks(&[&z1, "c", "3"])),
            (&format!("BZMPOP 0 2 {z0} {z1} MIN"), &array(&[&bulk(&z1), &array(&[&bulks(&["b", "2"])])])),
            (&format!("EXISTS {l0} {l1} {z0} {z1}"), ":0\r\n"),
        ])
        .run(&p);
}

/// A client blocked on a key is served after the whole EXEC that pushed to
/// it, so the transaction sees its own pushes, and a key the transaction
/// pushes to and deletes serves nobody.
#[test]
fn a_client_blocked_on_a_key_is_served_after_the_exec_that_pushes_to_it() {
    let p = Pair::start(&[]);
    let (l, other) = both_shards("list");
    for (name, port) in p.ports() {
        let mut waiter = connect(port);
        let mut c = connect(port);
        send_lenient(&mut waiter, &encode(&["BLPOP", &l, "0"]));
        wait_blocked(&mut c, 1);
        let tx = [
            vec!["MULTI"],
            vec!["RPUSH", &l, "a"],
            vec!["DEL", &l],
            vec!["RPUSH", &other, "x"],
            vec!["EXEC"],
            vec!["MULTI"],
            vec!["RPUSH", &l, "a"],
            vec!["RPUSH", &l, "b"],
            vec!["LLEN", &l],
            vec!["EXEC"],
        ];
        for args in &tx {
            send_lenient(&mut c, &encode(args));
        }
        let got: Vec<Esc> = read_frames(&mut c, tx.len()).into_iter().map(Esc).collect();
        let want: Vec<Esc> = [
            OK,
            QUEUED,
            QUEUED,
            QUEUED,
            "*3\r\n:1\r\n:1\r\n:1\r\n",
            OK,
            QUEUED,
            QUEUED,
            QUEUED,
            "*3\r\n:1\r\n:2\r\n:2\r\n",
        ]
        .iter()
        .map(|s| Esc::of(s.as_bytes()))
        .collect();
        assert_eq!(got, want, "{}", name);
        assert_eq!(Esc(read_frames(&mut waiter, 1).remove(0)), Esc(bulks(&[&l, "a"]).into_bytes()), "{}", name);
        send_lenient(&mut c, &encode(&["LRANGE", &l, "0", "-1"]));
        assert_eq!(Esc(read_frames(&mut c, 1).remove(0)), Esc(bulks(&["b"]).into_bytes()), "{}", name);
    }
}

/// Waits until INFO clients on `c` reports `n` blocked clients.
fn wait_blocked(c: &mut TcpStream, n: usize) {
    let want = format!("blocked_clients:{}\r\n", n);
    for _ in 0..1000 {
        send_lenient(c, &encode(&["INFO", "clients"]));
        let info = read_frames(c, 1).remove(0);
        if String::from_utf8_lossy(&info).contains(&want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("never saw {} blocked clients", n);
}

// ------------------------------------------------------------------- WATCH

/// multi.tcl "EXEC works on WATCHed key not modified", "After successful
/// EXEC key is no longer watched", "UNWATCH when there is nothing watched
/// works as expected".
#[test]
fn exec_runs_when_no_watched_key_was_touched() {
    let p = Pair::start(&[]);
    let (x, y) = both_shards("x");
    let (z, k) = both_shards("z");
    Steps::new()
        .cmd("UNWATCH", OK)
        .cmd(&format!("WATCH {x} {y} {z}"), OK)
        .cmd(&format!("WATCH {k}"), OK)
        .cmd(&format!("WATCH {x} {x}"), OK)
        .cmd(&format!("GET {x}"), NIL)
        .tx(&[("PING", PONG)])
        .cmd(&format!("SET {x} 30"), OK)
        .cmd(&format!("WATCH {x}"), OK)
        .tx(&[("PING", PONG)])
        .cmd(&format!("SET {x} 40"), OK)
        .tx(&[("PING", PONG)])
        .run(&p);
}

/// multi.tcl "EXEC fail on WATCHed key modified (1 key of 1 watched)",
/// "(1 key of 5 watched)" and "After failed EXEC key is no longer watched".
#[test]
fn a_watched_key_written_by_the_same_client_aborts_exec() {
    let p = Pair::start(&[]);
    let (x, a) = both_shards("x");
    let (b, k) = both_shards("b");
    let steps = Steps::new()
        .cmd(&format!("SET {x} 30"), OK)
        .cmd(&format!("WATCH {x}"), OK)
        .cmd(&format!("SET {x} 40"), OK)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd(&format!("SET {a} 1"), QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        .cmd(&format!("EXISTS {a}"), ":0\r\n")
        // Not watched any more.
        .cmd(&format!("SET {x} 50"), OK)
        .tx(&[("PING", PONG)])
        .cmd(&format!("WATCH {a} {b} {x} {k}"), OK)
        .cmd(&format!("SET {x} 40"), OK)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", NIL_ARRAY);
    steps.run(&p);
    // RESP3's null for an aborted EXEC.
    Steps::new()
        .cmd(&format!("WATCH {x}"), OK)
        .cmd(&format!("DEL {x}"), ":1\r\n")
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", RESP3_NULL)
        .run_resp3(&p);
}

/// The transaction's own writes to a watched key do not abort it: keys are
/// unwatched when EXEC starts.
#[test]
fn the_transactions_own_write_to_a_watched_key_does_not_abort_it() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    Steps::new()
        .cmd(&format!("WATCH {a} {b}"), OK)
        .tx(&[(&format!("SET {a} 1"), OK), (&format!("INCR {b}"), ":1\r\n"), (&format!("DEL {a}"), ":1\r\n")])
        .run(&p);
}

/// Writes from another connection, to a key on shard 0 or shard 1, with
/// each kind of value.
#[test]
fn a_watched_key_written_by_another_client_aborts_exec_on_either_shard() {
    let p = Pair::start(&[]);
    // (setup, its reply, the other client's write, its reply); `{k}` is the
    // watched key, `{other}` a key on the other shard.
    let writes: &[(&str, &str, &str, &str)] = &[
        ("SET {k} v", OK, "SET {k} w", OK),
        ("SET {k} v", OK, "DEL {k}", ":1\r\n"),
        ("SET {k} v", OK, "EXPIRE {k} 100", ":1\r\n"),
        ("SET {k} 1", OK, "INCR {k}", ":2\r\n"),
        ("SET {k} v", OK, "APPEND {k} x", ":2\r\n"),
        ("SET {k} v", OK, "GETDEL {k}", "$1\r\nv\r\n"),
        ("PING", PONG, "LPUSH {k} x", ":1\r\n"),
        ("RPUSH {k} a", ":1\r\n", "LPOP {k}", "$1\r\na\r\n"),
        ("PING", PONG, "SADD {k} x", ":1\r\n"),
        ("PING", PONG, "ZADD {k} 1 x", ":1\r\n"),
        ("PING", PONG, "HSET {k} f v", ":1\r\n"),
        ("SET {k} v", OK, "RENAME {k} {other}", OK),
        ("SET {other} v", OK, "RENAME {other} {k}", OK),
        ("SET {other} v", OK, "COPY {other} {k}", ":1\r\n"),
        ("SET {k} v", OK, "MOVE {k} 1", ":1\r\n"),
        ("PING", PONG, "MSET {other} 1 {k} 2", OK),
        ("SET {k} v", OK, "UNLINK {other} {k}", ":1\r\n"),
    ];
    for shard in 0..2 {
        let k = &keys_on_shard("k", shard, 2, 1)[0];
        let other = &keys_on_shard("k", 1 - shard, 2, 1)[0];
        let fill = |s: &str| s.replace("{k}", k).replace("{other}", other);
        for (setup, setup_reply, write, write_reply) in writes {
            clients(
                &p,
                2,
                &[
                    (0, "FLUSHALL", OK),
                    (0, &fill(setup), setup_reply),
                    (0, &format!("WATCH {k}"), OK),
                    (1, &fill(write), write_reply),
                    (0, "MULTI", OK),
                    (0, "PING", QUEUED),
                    (0, "EXEC", NIL_ARRAY),
                ],
            );
        }
    }
}

/// Redis touches a watched key only when a command changes it (or could
/// have: SET, HSET and the like touch even with the same value); a write
/// command that changes nothing, fails, or only reads leaves the WATCH
/// alone. `{k}` is the watched key (shard 0), `{o}` a key on shard 1.
#[test]
fn only_writes_that_change_the_key_touch_it() {
    let p = Pair::start(&[]);
    let (k, o) = both_shards("k");
    // (setup, its reply, write, its reply, whether EXEC then aborts)
    let cases: &[(&str, &str, &str, &str, bool)] = &[
        ("SET {k} v", OK, "GET {k}", "$1\r\nv\r\n", false),
        ("SET {k} v", OK, "SET {k} v", OK, true),
        ("SET {k} v", OK, "SET {k} w NX", NIL, false),
        ("PING", PONG, "SET {k} w XX", NIL, false),
        ("PING", PONG, "DEL {k}", ":0\r\n", false),
        ("SET {k} v", OK, "PERSIST {k}", ":0\r\n", false),
        ("SET {k} v", OK, "EXPIRE {k} 100 XX", ":0\r\n", false),
        ("SET {k} v", OK, "PEXPIREAT {k} 1", ":1\r\n", true),
        ("SET {k} v", OK, "INCR {k}", NOT_INT, false),
        ("SET {k} v", OK, "LPUSH {k} x", WRONGTYPE, false),
        ("SET {k} 1", OK, "INCRBY {k} 0", ":1\r\n", true),
        ("SET {k} 1", OK, "INCRBYFLOAT {k} 0", "$1\r\n1\r\n", true),
        ("SET {k} v", OK, "SETRANGE {k} 0 v", ":1\r\n", true),
        ("SET {k} v", OK, "GETSET {k} v", "$1\r\nv\r\n", true),
        ("SET {k} v", OK, "GETEX {k}", "$1\r\nv\r\n", false),
        ("SET {k} v", OK, "GETEX {k} PERSIST", "$1\r\nv\r\n", false),
        ("SET {k} v", OK, "GETEX {k} EX 100", "$1\r\nv\r\n", true),
        ("SET {k} v", OK, "SETBIT {k} 0 0", ":0\r\n", false),
        ("SET {k} v", OK, "SETBIT {k} 0 1", ":0\r\n", true),
        ("SET {k} v", OK, "TOUCH {k}", ":1\r\n", false),
        ("SET {k} v", OK, "OBJECT ENCODING {k}", "$6\r\nembstr\r\n", false),
        ("SET {k} v", OK, "COPY {k} {o}", ":1\r\n", false),
        ("SET {k} v", OK, "MSETNX {o} 1 {k} 1", ":0\r\n", false),
        ("SADD {k} a", ":1\r\n", "SADD {k} a", ":0\r\n", false),
        ("SADD {k} a", ":1\r\n", "SREM {k} b", ":0\r\n", false),
        ("SADD {k} a", ":1\r\n", "SPOP {k} 0", "*0\r\n", false),
        ("SADD {k} a", ":1\r\n", "SMOVE {k} {o} b", ":0\r\n", false),
        ("SADD {k} a", ":1\r\n", "SMOVE {o} {k} a", ":0\r\n", false),
        ("HSET {k} f v", ":1\r\n", "HSET {k} f v", ":0\r\n", true),
        ("HSET {k} f v", ":1\r\n", "HSETNX {k} f v", ":0\r\n", false),
        ("HSET {k} f v", ":1\r\n", "HDEL {k} g", ":0\r\n", false),
        ("ZADD {k} 1 a", ":1\r\n", "ZADD {k} 1 a", ":0\r\n", false),
        ("ZADD {k} 1 a", ":1\r\n", "ZADD {k} 2 a", ":0\r\n", true),
        ("ZADD {k} 1 a", ":1\r\n", "ZADD {k} XX 1 b", ":0\r\n", false),
        ("ZADD {k} 1 a", ":1\r\n", "ZINCRBY {k} 0 a", "$1\r\n1\r\n", false),
        ("PING", PONG, "LPOP {k}", NIL, false),
        ("RPUSH {k} a", ":1\r\n", "LREM {k} 0 b", ":0\r\n", false),
        ("RPUSH {k} a", ":1\r\n", "LSET {k} 0 a", OK, true),
        ("RPUSH {k} a", ":1\r\n", "LTRIM {k} 0 -1", OK, true),
        // multi.tcl "EXEC fail on WATCHed key modified by SORT with STORE
        // even if the result is empty".
        ("RPUSH {k} a", ":1\r\n", "SORT {o} STORE {k}", ":0\r\n", true),
        ("PING", PONG, "SORT {o} STORE {k}", ":0\r\n", false),
        ("SADD {k} a", ":1\r\n", "SINTERSTORE {k} {o}", ":0\r\n", true),
        ("PING", PONG, "SINTERSTORE {k} {o}", ":0\r\n", false),
        ("SET {k} v", OK, "ZUNIONSTORE {k} 1 {o}", ":0\r\n", true),
    ];
    let fill = |s: &str| s.replace("{k}", &k).replace("{o}", &o);
    for (setup, setup_reply, write, write_reply, aborts) in cases {
        Steps::new()
            .cmd("FLUSHALL", OK)
            .cmd(&fill(setup), setup_reply)
            .cmd(&format!("WATCH {k}"), OK)
            .cmd(&fill(write), write_reply)
            .cmd("MULTI", OK)
            .cmd("PING", QUEUED)
            .cmd("EXEC", if *aborts { NIL_ARRAY } else { EXEC_PONG })
            .run(&p);
    }
}

/// A write that changes nothing leaves the WATCH alone even once the
/// key's access clock (seconds) has moved on since the WATCH.
#[test]
fn a_write_that_changes_nothing_a_second_later_does_not_abort() {
    let p = Pair::start(&[]);
    let (k, _) = both_shards("k");
    Steps::new()
        .cmd(&format!("SADD {k} a"), ":1\r\n")
        .cmd(&format!("WATCH {k}"), OK)
        .sleep(1100)
        .cmd(&format!("SADD {k} a"), ":0\r\n")
        .cmd(&format!("HSETNX {k} f v"), WRONGTYPE)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", EXEC_PONG)
        .run(&p);
}

/// A write to another key — on the watched key's shard, on the other
/// shard, or the same name in another db — leaves the WATCH alone.
#[test]
fn writing_a_key_that_is_not_watched_does_not_abort() {
    let p = Pair::start(&[]);
    let same = keys_on_shard("k", 0, 2, 2);
    let (watched, neighbour) = (&same[0], &same[1]);
    let far = &keys_on_shard("k", 1, 2, 1)[0];
    let watch = format!("WATCH {watched}");
    let set_neighbour = format!("SET {neighbour} 1");
    let set_far = format!("SET {far} 1");
    let set_watched = format!("SET {watched} 1");
    let del_both = format!("DEL {neighbour} {far}");
    clients(
        &p,
        2,
        &[
            (0, &watch, OK),
            (1, &set_neighbour, OK),
            (1, &set_far, OK),
            (1, &del_both, ":2\r\n"),
            (1, "SELECT 1", OK),
            (1, &set_watched, OK),
            (1, "FLUSHDB", OK),
            (0, "MULTI", OK),
            (0, "PING", QUEUED),
            (0, "EXEC", EXEC_PONG),
        ],
    );
}

/// Keys watched on both shards: a write to either aborts.
#[test]
fn watching_keys_on_both_shards_aborts_on_a_write_to_either() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    let watch = format!("WATCH {a} {b}");
    let get = format!("MGET {a} {b}");
    for touched in [&a, &b] {
        let write = format!("SET {touched} 1");
        clients(
            &p,
            2,
            &[
                (0, "FLUSHALL", OK),
                (0, &watch, OK),
                (1, &write, OK),
                (0, "MULTI", OK),
                (0, &get, QUEUED),
                (0, "EXEC", NIL_ARRAY),
            ],
        );
    }
}

/// Another client's transaction touches the key when it runs, at its EXEC,
/// not when its commands are queued.
#[test]
fn another_clients_transaction_touches_the_key_at_its_exec() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    let watch = format!("WATCH {a}");
    let set_a = format!("SET {a} theirs");
    let set_b = format!("SET {b} theirs");
    let get_a = format!("GET {a}");
    clients(
        &p,
        2,
        &[
            (0, &watch, OK),
            (1, "MULTI", OK),
            (1, &set_b, QUEUED),
            (1, &set_a, QUEUED),
            (0, "MULTI", OK),
            (0, &get_a, QUEUED),
            (0, "EXEC", &array(&[NIL])),
            (0, &watch, OK),
            (1, "EXEC", &array(&[OK, OK])),
            (0, "MULTI", OK),
            (0, &get_a, QUEUED),
            (0, "EXEC", NIL_ARRAY),
        ],
    );
}

/// A queueing error wins over a touched watched key: EXECABORT, not a null.
#[test]
fn a_queueing_error_is_reported_even_when_a_watched_key_was_touched() {
    let p = Pair::start(&[]);
    Steps::new()
        .cmd("WATCH x", OK)
        .cmd("SET x 1", OK)
        .cmd("MULTI", OK)
        .cmd("SET y 1", QUEUED)
        .cmd("nosuch", "-ERR unknown command 'nosuch', with args beginning with: \r\n")
        .cmd("EXEC", EXECABORT)
        .cmd("EXISTS y", ":0\r\n")
        .run(&p);
}

/// multi.tcl "FLUSHALL is able to touch the watched keys", "FLUSHALL does
/// not touch non affected keys", the same for FLUSHDB, and "Flushall while
/// watching several keys by one client".
#[test]
fn flushall_and_flushdb_touch_a_watched_key_only_if_it_existed() {
    let p = Pair::start(&[]);
    let (x, y) = both_shards("x");
    for flush in ["FLUSHALL", "FLUSHDB", "FLUSHALL ASYNC", "FLUSHDB SYNC"] {
        Steps::new()
            .cmd(&format!("SET {x} 30"), OK)
            .cmd(&format!("WATCH {x}"), OK)
            .cmd(flush, OK)
            .cmd("MULTI", OK)
            .cmd("PING", QUEUED)
            .cmd("EXEC", NIL_ARRAY)
            .cmd(&format!("SET {y} 30"), OK)
            .cmd(&format!("WATCH {x}"), OK)
            .cmd(flush, OK)
            .tx(&[("PING", PONG)])
            .run(&p);
    }
    // FLUSHALL from another db, FLUSHDB of another db.
    Steps::new()
        .cmd(&format!("SET {y} 1"), OK)
        .cmd(&format!("WATCH {y}"), OK)
        .cmd("SELECT 1", OK)
        .cmd("FLUSHDB", OK)
        .cmd("SELECT 0", OK)
        .tx(&[("PING", PONG)])
        .cmd(&format!("WATCH {y}"), OK)
        .cmd("SELECT 1", OK)
        .cmd("FLUSHALL", OK)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        .run(&p);
    Steps::new()
        .cmd("FLUSHALL", OK)
        .cmd(&format!("MSET {x} a {y} b"), OK)
        .cmd(&format!("WATCH {y} {x}"), OK)
        .cmd("FLUSHALL", OK)
        .cmd("PING", PONG)
        .run(&p);
}

/// multi.tcl "SWAPDB is able to touch the watched keys that exist" and
/// "that do not exist": a key present in either db is touched.
#[test]
fn swapdb_touches_a_watched_key_present_in_either_db() {
    let p = Pair::start(&[]);
    let (x, y) = both_shards("x");
    Steps::new()
        .cmd("FLUSHALL", OK)
        .cmd(&format!("SET {x} 30"), OK)
        .cmd(&format!("WATCH {x}"), OK)
        .cmd("SWAPDB 0 1", OK)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        .cmd("FLUSHALL", OK)
        .cmd("SELECT 1", OK)
        .cmd(&format!("SET {y} 30"), OK)
        .cmd("SELECT 0", OK)
        .cmd(&format!("WATCH {y}"), OK)
        .cmd("SWAPDB 0 1", OK)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        // Missing in both dbs, or the swap of two other dbs: untouched.
        .cmd("FLUSHALL", OK)
        .cmd(&format!("WATCH {x}"), OK)
        .cmd("SWAPDB 0 1", OK)
        .tx(&[("PING", PONG)])
        .cmd(&format!("SET {x} 1"), OK)
        .cmd(&format!("WATCH {x}"), OK)
        .cmd("SWAPDB 2 3", OK)
        .tx(&[("PING", PONG)])
        .run(&p);
}

/// multi.tcl "WATCH is able to remember the DB a key belongs to".
#[test]
fn watch_remembers_the_db_of_the_key() {
    let p = Pair::start(&[]);
    let (x, _) = both_shards("x");
    Steps::new()
        .cmd("SELECT 5", OK)
        .cmd(&format!("SET {x} 30"), OK)
        .cmd(&format!("WATCH {x}"), OK)
        .cmd("SELECT 1", OK)
        .cmd(&format!("SET {x} 10"), OK)
        .cmd("SELECT 5", OK)
        .tx(&[("PING", PONG)])
        // Watched in db 5, written in db 5 from db 1 via MOVE.
        .cmd(&format!("WATCH {x}"), OK)
        .cmd("SELECT 1", OK)
        .cmd(&format!("DEL {x}"), ":1\r\n")
        .cmd("SELECT 5", OK)
        .cmd(&format!("MOVE {x} 1"), ":1\r\n")
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        // Watched from db 5, the transaction runs in db 2: still aborted.
        .cmd(&format!("WATCH {x}"), OK)
        .cmd(&format!("SET {x} 1"), OK)
        .cmd("SELECT 2", OK)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        .run(&p);
}

/// A watched key that expires before EXEC aborts it, whether or not the
/// server has deleted it yet (EXEC checks watched keys' expiry itself);
/// multi.tcl "WATCH will consider touched expired keys".
#[test]
fn a_watched_key_that_expires_before_exec_aborts_it() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("k");
    // Long enough to still be there at WATCH on a loaded machine.
    Steps::new()
        .cmd(&format!("SET {a} v PX 300"), OK)
        .cmd(&format!("SET {b} v"), OK)
        .cmd(&format!("PEXPIRE {b} 300"), ":1\r\n")
        .cmd(&format!("WATCH {a}"), OK)
        .sleep(400)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        .cmd(&format!("SET {a} v PX 300"), OK)
        .cmd(&format!("SET {b} v PX 300"), OK)
        .cmd(&format!("WATCH {b}"), OK)
        .sleep(400)
        .cmd("MULTI", OK)
        .cmd("PING", QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        .run(&p);
}

/// multi.tcl "WATCH stale keys should not fail EXEC", "Delete WATCHed stale
/// keys should not fail EXEC" and "FLUSHDB while watching stale keys should
/// not fail EXEC", without DEBUG SET-ACTIVE-EXPIRE: a key already expired
/// when watched counts as missing, whether or not the server deleted it
/// (actively, lazily or by FLUSHDB) before EXEC; only a new value aborts.
#[test]
fn a_key_already_expired_when_watched_counts_as_missing() {
    let p = Pair::start(&[]);
    let (x, y) = both_shards("x");
    for key in [&x, &y] {
        let set = format!("SET {key} foo PX 1");
        let watch = format!("WATCH {key}");
        Steps::new()
            .cmd(&set, OK)
            .sleep(10)
            .cmd(&watch, OK)
            .tx(&[("PING", PONG)])
            .cmd(&set, OK)
            .sleep(10)
            .cmd(&watch, OK)
            .cmd(&format!("EXISTS {key}"), ":0\r\n")
            .tx(&[("PING", PONG)])
            .cmd(&set, OK)
            .sleep(10)
            .cmd(&watch, OK)
            .cmd("FLUSHDB", OK)
            .tx(&[("PING", PONG)])
            .cmd(&set, OK)
            .sleep(10)
            .cmd(&watch, OK)
            .cmd(&format!("SET {key} bar"), OK)
            .cmd("MULTI", OK)
            .cmd("PING", QUEUED)
            .cmd("EXEC", NIL_ARRAY)
            .run(&p);
    }
}

/// multi.tcl "SWAPDB does not touch watched stale keys" and "SWAPDB does
/// not touch non-existing key replaced with stale key", without DEBUG: an
/// expired key swapped for nothing, or nothing for an expired key, is no
/// change.
#[test]
fn swapdb_does_not_touch_a_watched_key_that_is_expired_on_both_sides() {
    let p = Pair::start(&[]);
    let (x, _) = both_shards("x");
    Steps::new()
        .cmd("FLUSHALL", OK)
        .cmd("SELECT 1", OK)
        .cmd(&format!("SET {x} foo PX 1"), OK)
        .sleep(10)
        .cmd(&format!("WATCH {x}"), OK)
        .cmd("SWAPDB 0 1", OK)
        .tx(&[("PING", PONG)])
        .cmd("FLUSHALL", OK)
        .cmd("SELECT 0", OK)
        .cmd(&format!("SET {x} foo PX 1"), OK)
        .sleep(10)
        .cmd("SELECT 1", OK)
        .cmd(&format!("WATCH {x}"), OK)
        .cmd("SWAPDB 0 1", OK)
        .tx(&[("PING", PONG)])
        .run(&p);
}

/// multi.tcl "It is possible to UNWATCH"; UNWATCH inside MULTI is queued
/// like any command, so it runs too late to save a touched transaction.
#[test]
fn unwatch_forgets_every_watched_key_but_not_from_inside_multi() {
    let p = Pair::start(&[]);
    let (x, y) = both_shards("x");
    Steps::new()
        .cmd(&format!("SET {x} 30"), OK)
        .cmd(&format!("WATCH {x} {y}"), OK)
        .cmd(&format!("SET {x} 40"), OK)
        .cmd(&format!("SET {y} 40"), OK)
        .cmd("UNWATCH", OK)
        .tx(&[("PING", PONG)])
        .cmd(&format!("WATCH {x}"), OK)
        .cmd(&format!("SET {x} 50"), OK)
        .cmd("MULTI", OK)
        .cmd("UNWATCH", QUEUED)
        .cmd("EXEC", NIL_ARRAY)
        .tx(&[("UNWATCH", OK), ("PING", PONG)])
        .run(&p);
}

/// multi.tcl "DISCARD should clear the WATCH dirty flag on the client" and
/// "DISCARD should UNWATCH all the keys".
#[test]
fn discard_unwatches_every_key() {
    let p = Pair::start(&[]);
    let (x, _) = both_shards("x");
    Steps::new()
        .cmd(&format!("WATCH {x}"), OK)
        .cmd(&format!("SET {x} 10"), OK)
        .cmd("MULTI", OK)
        .cmd("DISCARD", OK)
        .tx(&[(&format!("INCR {x}"), ":11\r\n")])
        .cmd(&format!("WATCH {x}"), OK)
        .cmd("MULTI", OK)
        .cmd("DISCARD", OK)
        .cmd(&format!("SET {x} 10"), OK)
        .tx(&[(&format!("INCR {x}"), ":11\r\n")])
        .run(&p);
}

/// RESET inside MULTI runs at once: the transaction is dropped, keys are
/// unwatched, and the connection is back in db 0 with RESP2.
#[test]
fn reset_inside_multi_drops_the_transaction_and_the_watches() {
    let p = Pair::start(&[]);
    let (x, y) = both_shards("x");
    Steps::new()
        .cmd("SELECT 5", OK)
        .cmd(&format!("SET {x} 1"), OK)
        .cmd(&format!("WATCH {x}"), OK)
        .cmd(&format!("SET {x} 2"), OK)
        .cmd("MULTI", OK)
        .cmd(&format!("SET {y} 1"), QUEUED)
        .cmd("RESET", "+RESET\r\n")
        .cmd("EXEC", "-ERR EXEC without MULTI\r\n")
        .cmd(&format!("GET {x}"), NIL)
        .cmd("SELECT 5", OK)
        .cmd(&format!("MGET {x} {y}"), &array(&[&bulk("2"), NIL]))
        // The touched WATCH went with RESET.
        .tx(&[("PING", PONG)])
        .run_resp3(&p);
}

/// QUIT inside MULTI runs at once: +OK, the connection closes, and nothing
/// queued is applied.
#[test]
fn quit_inside_multi_closes_without_running_the_transaction() {
    let p = Pair::start(&[]);
    let (x, _) = both_shards("x");
    let req = [encode(&["MULTI"]), encode(&["SET", &x, "1"]), encode(&["QUIT"])].concat();
    for (name, port) in p.ports() {
        let mut s = connect(port);
        send_lenient(&mut s, &req);
        let got = common::oracle::read_until_closed(&mut s);
        assert_eq!(Esc(got), Esc::of(b"+OK\r\n+QUEUED\r\n+OK\r\n"), "{}", name);
    }
    Steps::new().cmd(&format!("EXISTS {x}"), ":0\r\n").run(&p);
}

/// SUBSCRIBE is queued like any command and runs inside EXEC, leaving the
/// connection subscribed.
#[test]
#[ignore = "shardis has no pub/sub yet"]
fn subscribe_inside_multi_runs_at_exec() {
    let p = Pair::start(&[]);
    Steps::new()
        .cmd("MULTI", OK)
        .cmd("SUBSCRIBE ch", QUEUED)
        .cmd("SET x 3", QUEUED)
        .cmd("EXEC", &array(&[&format!("*3\r\n{}{}:1\r\n", bulk("subscribe"), bulk("ch")), OK]))
        .cmd("GET x", "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
        .cmd("UNSUBSCRIBE", &format!("*3\r\n{}{}:0\r\n", bulk("unsubscribe"), bulk("ch")))
        .cmd("GET x", &bulk("3"))
        .run(&p);
}

// ------------------------------------------------------------- concurrency

/// Runs `rounds` transactions `MULTI; INCR a; INCR b; EXEC` (keys on both
/// shards) on one connection while `read` checks, on another, that it never
/// sees one INCR without the other.
fn readers_never_see_half_a_transaction(read: fn(&mut TcpStream, &str, &str) -> (i64, i64)) {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("counter");
    const ROUNDS: usize = 300;
    for (name, port) in p.ports() {
        let writer = {
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut s = connect(port);
                for _ in 0..ROUNDS {
                    let tx = [encode(&["MULTI"]), encode(&["INCR", &a]), encode(&["INCR", &b]), encode(&["EXEC"])];
                    send_lenient(&mut s, &tx.concat());
                    read_frames(&mut s, 4);
                }
            })
        };
        let mut s = connect(port);
        let mut last = 0;
        // Until the last transaction is seen, or the writer has stopped
        // (then its join shows why).
        while last < ROUNDS as i64 && !writer.is_finished() {
            let (x, y) = read(&mut s, &a, &b);
            assert_eq!(x, y, "{}: a reader saw half a transaction", name);
            assert!(x >= last, "{}: counters went back", name);
            last = x;
        }
        writer.join().unwrap();
        assert_eq!(read(&mut s, &a, &b), (ROUNDS as i64, ROUNDS as i64), "{}", name);
    }
}

/// The two integers of a RESP2 reply `*2` of bulks (a null as 0).
fn two_ints(frame: &[u8]) -> (i64, i64) {
    let text = String::from_utf8_lossy(frame).into_owned();
    let mut lines = text.split("\r\n").skip(1);
    let mut next = || match lines.next() {
        Some("$-1") | None => 0,
        Some(_) => lines.next().and_then(|v| v.parse().ok()).expect("an integer"),
    };
    let x = next();
    (x, next())
}

#[test]
fn a_transaction_reading_both_shards_never_sees_half_another_transaction() {
    readers_never_see_half_a_transaction(|s, a, b| {
        let tx = [encode(&["MULTI"]), encode(&["GET", a]), encode(&["GET", b]), encode(&["EXEC"])];
        send_lenient(s, &tx.concat());
        two_ints(&read_frames(s, 4)[3])
    });
}

#[test]
fn mget_across_shards_never_sees_half_a_transaction() {
    readers_never_see_half_a_transaction(|s, a, b| {
        send_lenient(s, &encode(&["MGET", a, b]));
        two_ints(&read_frames(s, 1)[0])
    });
}

/// The optimistic-locking loop WATCH is for, by two clients at once over
/// keys on both shards: every increment lands exactly once.
#[test]
fn concurrent_check_and_set_with_watch_loses_no_update() {
    let p = Pair::start(&[]);
    let (a, b) = both_shards("cas");
    const PER_CLIENT: i64 = 100;
    for (name, port) in p.ports() {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (a, b) = (a.clone(), b.clone());
                std::thread::spawn(move || {
                    let mut s = connect(port);
                    let mut aborted = 0;
                    let mut done = 0;
                    while done < PER_CLIENT {
                        send_lenient(&mut s, &[encode(&["WATCH", &a, &b]), encode(&["MGET", &a, &b])].concat());
                        let (x, y) = two_ints(&read_frames(&mut s, 2)[1]);
                        let tx = [
                            encode(&["MULTI"]),
                            encode(&["SET", &a, &(x + 1).to_string()]),
                            encode(&["SET", &b, &(y + 1).to_string()]),
                            encode(&["EXEC"]),
                        ];
                        send_lenient(&mut s, &tx.concat());
                        let exec = read_frames(&mut s, 4).remove(3);
                        if exec == NIL_ARRAY.as_bytes() {
                            aborted += 1;
                        } else {
                            assert_eq!(Esc(exec), Esc::of(b"*2\r\n+OK\r\n+OK\r\n"));
                            done += 1;
                        }
                    }
                    aborted
                })
            })
            .collect();
        let aborted: i64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let mut s = connect(port);
        send_lenient(&mut s, &encode(&["MGET", &a, &b]));
        let want = 2 * PER_CLIENT;
        assert_eq!(two_ints(&read_frames(&mut s, 1)[0]), (want, want), "{} ({} aborted EXECs)", name, aborted);
    }
}

/// The pop of a served blocked client, and BRPOPLPUSH's push, are writes a
/// WATCH sees (Redis's list test "PUSH resulting from BRPOPLPUSH affect
/// WATCH"): whether the client waited or found data at once, and whether
/// the destination is on the source's shard or the other one.
#[test]
fn a_blocked_clients_pop_and_push_abort_a_watch_on_either_key() {
    let p = Pair::start(&[]);
    let same = keys_on_shard("bl", 0, 2, 2);
    let (src, near) = (&same[0], &same[1]);
    let far = &keys_on_shard("bl", 1, 2, 1)[0];
    for (name, port) in p.ports() {
        let mut blocked = connect(port);
        let mut watcher = connect(port);
        let mut c = connect(port);
        // Served once a push comes: the destination, then the source watched.
        // (Each round's DEL clears the previous round's destination.)
        for (dst, watched, deleted) in [(near, near, ":0\r\n"), (far, far, ":1\r\n"), (near, src, ":1\r\n")] {
            let who = format!("{name}, BRPOPLPUSH {src} {dst} with {watched} watched");
            expect(&mut c, &who, &format!("DEL {src} {near} {far}"), deleted);
            send_lenient(&mut blocked, &encode(&["BRPOPLPUSH", src, dst, "0"]));
            wait_blocked(&mut c, 1);
            expect(&mut watcher, &who, &format!("WATCH {watched}"), OK);
            expect(&mut watcher, &who, "MULTI", OK);
            expect(&mut watcher, &who, "PING", QUEUED);
            expect(&mut c, &who, &format!("LPUSH {src} element"), ":1\r\n");
            assert_eq!(Esc(read_frames(&mut blocked, 1).remove(0)), Esc::of(bulk("element").as_bytes()), "{who}");
            expect(&mut watcher, &who, "EXEC", NIL_ARRAY);
        }
        // Data already there: served at once, and the watcher still sees it.
        let who = format!("{name}, BLPOP {src} with data");
        expect(&mut c, &who, &format!("RPUSH {src} a b"), ":2\r\n");
        expect(&mut watcher, &who, &format!("WATCH {src}"), OK);
        expect(&mut blocked, &who, &format!("BLPOP {src} 0"), &bulks(&[src, "a"]));
        expect(&mut watcher, &who, "MULTI", OK);
        expect(&mut watcher, &who, "PING", QUEUED);
        expect(&mut watcher, &who, "EXEC", NIL_ARRAY);
    }
}
