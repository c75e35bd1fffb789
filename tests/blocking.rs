//! Blocking commands, black-box: BLPOP/BRPOP (and, as they land, BLMOVE,
//! BLMPOP, BZPOPMIN…) served at once when data is there, woken by a push
//! from any connection on any shard, in the order clients blocked, ended by
//! their timeout, CLIENT UNBLOCK, or the client leaving — without taking an
//! element for a client that is gone.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use std::time::{Duration, Instant};

use blackbox::{info_field, Conn};
use common::oracle::{keys_on_shard, Pair};
use common::Server;

/// Waits until the server reports `n` blocked clients.
fn wait_blocked(probe: &mut Conn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = probe.text(&["INFO", "clients"]);
        if info_field(&info, "blocked_clients").as_deref() == Some(&n.to_string()) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {} blocked clients:\n{}", n, info);
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn pair(key: &str, value: &str) -> String {
    format!("*2\r\n${}\r\n{}\r\n${}\r\n{}\r\n", key.len(), key, value.len(), value)
}

#[test]
fn data_already_there_is_served_at_once_as_redis_does() {
    let p = Pair::start(&[]);
    p.session(&[
        ("RPUSH l a b c", ":3\r\n"),
        ("BLPOP l 0", &pair("l", "a")),
        ("BRPOP l 0", &pair("l", "c")),
        ("BLPOP missing l 0", &pair("l", "b")),
        ("EXISTS l", ":0\r\n"),
        ("BLPOP missing 0.01", "*-1\r\n"),
        ("BRPOP missing 0.01", "*-1\r\n"),
        ("SET s x", "+OK\r\n"),
        ("BLPOP missing s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("RPUSH l2 x", ":1\r\n"),
        ("BLPOP l2 s 0", &pair("l2", "x")),
        ("BLPOP l x", "-ERR timeout is not a float or out of range\r\n"),
        ("BLPOP l -1", "-ERR timeout is negative\r\n"),
        ("BLPOP l inf", "-ERR timeout is negative\r\n"),
        ("BLPOP l nan", "-ERR timeout is not a float or out of range\r\n"),
        ("BLPOP l", "-ERR wrong number of arguments for 'blpop' command\r\n"),
        ("BRPOP l", "-ERR wrong number of arguments for 'brpop' command\r\n"),
    ]);
}

#[test]
fn a_timeout_answers_null_after_the_time() {
    let s = Server::start();
    let mut c = Conn::open(s.port);
    let started = Instant::now();
    c.expect(&["BLPOP", "nothing", "0.2"], "*-1\r\n");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(190) && took < Duration::from_secs(3), "{:?}", took);
    c.call(&["HELLO", "3"]);
    c.expect(&["BRPOP", "nothing", "0.05"], "_\r\n");
}

#[test]
fn a_push_from_another_connection_wakes_the_client_on_either_shard() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    for shard in 0..2 {
        let key = &keys_on_shard("wake", shard, 2, 1)[0];
        // Several connections: they land on both cores.
        for i in 0..4 {
            let mut waiter = Conn::open(s.port);
            waiter.send(&["BLPOP", key, "0"]);
            wait_blocked(&mut probe, 1);
            let value = format!("v{}", i);
            assert_eq!(probe.int(&["RPUSH", key, &value]), 1, "RPUSH answers the length before serving");
            assert_eq!(String::from_utf8(waiter.frame()).unwrap(), pair(key, &value));
            probe.expect(&["EXISTS", key], ":0\r\n");
            wait_blocked(&mut probe, 0);
        }
    }
}

#[test]
fn clients_are_served_in_the_order_they_blocked() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    let mut waiters: Vec<Conn> = Vec::new();
    for i in 0..5 {
        let mut w = Conn::open(s.port);
        w.send(&["BRPOP", "queue", "0"]);
        wait_blocked(&mut probe, i + 1);
        waiters.push(w);
    }
    // One push serves all five, front to back, after RPUSH itself ran.
    assert_eq!(probe.int(&["LPUSH", "queue", "a", "b", "c", "d", "e"]), 5);
    for (w, want) in waiters.iter_mut().zip(["a", "b", "c", "d", "e"]) {
        assert_eq!(String::from_utf8(w.frame()).unwrap(), pair("queue", want));
    }
    probe.expect(&["EXISTS", "queue"], ":0\r\n");
}

#[test]
fn keys_on_different_shards_serve_whichever_gets_data_first_and_only_once() {
    let s = Server::start();
    let (k0, k1) = (&keys_on_shard("multi", 0, 2, 1)[0], &keys_on_shard("multi", 1, 2, 1)[0]);
    let mut probe = Conn::open(s.port);
    for (first, second) in [(k0, k1), (k1, k0)] {
        let mut w = Conn::open(s.port);
        w.send(&["BLPOP", first, second, "0"]);
        wait_blocked(&mut probe, 1);
        probe.int(&["RPUSH", second, "x"]);
        assert_eq!(String::from_utf8(w.frame()).unwrap(), pair(second, "x"));
        wait_blocked(&mut probe, 0);
        // The registration on the other shard is gone: a push there stays.
        probe.int(&["RPUSH", first, "y"]);
        probe.expect(&["LLEN", first], ":1\r\n");
        w.assert_silent(Duration::from_millis(100));
        probe.expect(&["DEL", first], ":1\r\n");
    }
    // Data on the second key is served at once, in key order otherwise.
    probe.int(&["RPUSH", k1, "z"]);
    let mut w = Conn::open(s.port);
    w.expect(&["BLPOP", k0, k1, "0"], &pair(k1, "z"));
}

#[test]
fn client_unblock_ends_the_wait_as_a_timeout_or_an_error() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    let mut w = Conn::open(s.port);
    let id = w.int(&["CLIENT", "ID"]).to_string();
    probe.expect(&["CLIENT", "UNBLOCK", &id], ":0\r\n");
    w.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut probe, 1);
    let list = probe.text(&["CLIENT", "LIST", "ID", &id]);
    assert!(list.contains("flags=b "), "{}", list);
    probe.expect(&["CLIENT", "UNBLOCK", &id, "maybe"], "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
    probe.expect(&["CLIENT", "UNBLOCK", &id], ":1\r\n");
    assert_eq!(w.frame(), b"*-1\r\n");
    wait_blocked(&mut probe, 0);
    probe.expect(&["CLIENT", "UNBLOCK", &id], ":0\r\n");

    w.send(&["BRPOP", "k", "0"]);
    wait_blocked(&mut probe, 1);
    probe.expect(&["CLIENT", "UNBLOCK", &id, "ERROR"], ":1\r\n");
    assert_eq!(w.frame(), b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    // The client goes on as usual.
    w.expect(&["PING"], "+PONG\r\n");
}

#[test]
fn a_client_that_leaves_while_blocked_takes_nothing() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    for shard in 0..2 {
        let key = &keys_on_shard("gone", shard, 2, 1)[0];
        let mut w = Conn::open(s.port);
        w.send(&["BLPOP", key, "0"]);
        wait_blocked(&mut probe, 1);
        drop(w);
        wait_blocked(&mut probe, 0);
        probe.int(&["RPUSH", key, "kept"]);
        probe.expect(&["LLEN", key], ":1\r\n");
    }
}

#[test]
fn commands_pipelined_behind_a_blocked_one_run_after_it() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    let mut w = Conn::open(s.port);
    let mut bytes = blackbox::encode(&["BLPOP", "later", "0"]);
    bytes.extend(blackbox::encode(&["LLEN", "later"]));
    bytes.extend(blackbox::encode(&["PING"]));
    w.send_raw(&bytes);
    wait_blocked(&mut probe, 1);
    probe.int(&["RPUSH", "later", "a", "b"]);
    assert_eq!(String::from_utf8(w.frame()).unwrap(), pair("later", "a"));
    assert_eq!(w.frame(), b":1\r\n");
    assert_eq!(w.frame(), b"+PONG\r\n");
}

/// Redis writes a client's replies before it sleeps: the commands
/// pipelined before a blocking one are answered while it waits, whichever
/// shards their keys are on.
#[test]
fn commands_pipelined_before_a_blocked_one_are_answered_while_it_waits() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    let mut w = Conn::open(s.port);
    let mut bytes = blackbox::encode(&["PING"]);
    for key in ["a", "b", "c", "d"] {
        bytes.extend(blackbox::encode(&["SET", key, "1"]));
    }
    bytes.extend(blackbox::encode(&["GET", "c"]));
    bytes.extend(blackbox::encode(&["BLPOP", "nolist", "0"]));
    w.send_raw(&bytes);
    assert_eq!(w.frame(), b"+PONG\r\n");
    for _ in 0..4 {
        assert_eq!(w.frame(), b"+OK\r\n");
    }
    assert_eq!(w.frame(), b"$1\r\n1\r\n");
    wait_blocked(&mut probe, 1);
    probe.int(&["RPUSH", "nolist", "x"]);
    assert_eq!(String::from_utf8(w.frame()).unwrap(), pair("nolist", "x"));
    w.expect(&["PING"], "+PONG\r\n");
}

/// Redis's "Unblock fairness is kept while pipelining": a push pipelined
/// before a BLPOP serves the client blocked first, is answered at once,
/// and the pipelining client then waits its turn.
#[test]
fn a_push_pipelined_before_a_blpop_is_answered_and_serves_the_first_waiter() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    let mut first = Conn::open(s.port);
    let mut second = Conn::open(s.port);
    first.send(&["BLPOP", "mylist", "0"]);
    wait_blocked(&mut probe, 1);
    let mut bytes = blackbox::encode(&["LPUSH", "mylist", "1"]);
    bytes.extend(blackbox::encode(&["BLPOP", "mylist", "0"]));
    second.send_raw(&bytes);
    assert_eq!(second.frame(), b":1\r\n");
    assert_eq!(String::from_utf8(first.frame()).unwrap(), pair("mylist", "1"));
    wait_blocked(&mut probe, 1);
    probe.int(&["LPUSH", "mylist", "2"]);
    assert_eq!(String::from_utf8(second.frame()).unwrap(), pair("mylist", "2"));
}

#[test]
fn a_key_of_another_type_keeps_the_client_waiting() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    let mut w = Conn::open(s.port);
    w.send(&["BLPOP", "shape", "0"]);
    wait_blocked(&mut probe, 1);
    probe.expect(&["SET", "shape", "string"], "+OK\r\n");
    w.assert_silent(Duration::from_millis(100));
    probe.expect(&["DEL", "shape"], ":1\r\n");
    probe.int(&["RPUSH", "shape", "x"]);
    assert_eq!(String::from_utf8(w.frame()).unwrap(), pair("shape", "x"));
}

#[test]
fn swapdb_wakes_clients_whose_key_appears_in_their_db() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    for shard in 0..2 {
        let key = &keys_on_shard("swap", shard, 2, 1)[0];
        let mut w = Conn::open(s.port);
        w.expect(&["SELECT", "1"], "+OK\r\n");
        w.send(&["BLPOP", key, "0"]);
        wait_blocked(&mut probe, 1);
        probe.int(&["RPUSH", key, "from0"]);
        probe.expect(&["SWAPDB", "0", "1"], "+OK\r\n");
        assert_eq!(String::from_utf8(w.frame()).unwrap(), pair(key, "from0"));
        probe.expect(&["SWAPDB", "0", "1"], "+OK\r\n");
    }
}

#[test]
fn the_other_blocking_commands_serve_at_once_as_redis_does() {
    let p = Pair::start(&[]);
    p.session(&[
        ("RPUSH src a b c", ":3\r\n"),
        ("BLMOVE src dst LEFT RIGHT 0", "$1\r\na\r\n"),
        ("BRPOPLPUSH src dst 0", "$1\r\nc\r\n"),
        ("LRANGE dst 0 -1", "*2\r\n$1\r\nc\r\n$1\r\na\r\n"),
        ("BLMOVE nothing dst LEFT RIGHT 0.01", "*-1\r\n"),
        ("BRPOPLPUSH nothing dst 0.01", "*-1\r\n"),
        ("BLMOVE src dst UP RIGHT 0", "-ERR syntax error\r\n"),
        ("BLMOVE src dst LEFT RIGHT x", "-ERR timeout is not a float or out of range\r\n"),
        ("SET str x", "+OK\r\n"),
        ("BLMOVE src str LEFT LEFT 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("LLEN src", ":1\r\n"),
        ("BLMOVE str dst LEFT LEFT 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("RPUSH l2 1 2 3", ":3\r\n"),
        ("BLMPOP 0 2 nothing l2 RIGHT COUNT 2", "*2\r\n$2\r\nl2\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"),
        ("BLMPOP 0.01 1 nothing LEFT", "*-1\r\n"),
        ("BLMPOP 0 0 l2 LEFT", "-ERR numkeys should be greater than 0\r\n"),
        ("BLMPOP x 1 l2 LEFT", "-ERR timeout is not a float or out of range\r\n"),
        ("BLMPOP 0 1 l2 LEFT COUNT 0", "-ERR count should be greater than 0\r\n"),
        ("BLMPOP 0 2 l2", "-ERR wrong number of arguments for 'blmpop' command\r\n"),
        ("BLMPOP 0 2 l2 LEFT", "-ERR syntax error\r\n"),
        ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
        ("BZPOPMIN z 0", "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"),
        ("BZPOPMAX nothing z 0", "*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n"),
        ("BZPOPMIN nothing 0.01", "*-1\r\n"),
        ("BZMPOP 0 1 z MAX COUNT 5", "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        ("EXISTS z", ":0\r\n"),
        ("BZMPOP 0.01 1 z MIN", "*-1\r\n"),
        ("BZPOPMIN str 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("BZMPOP 0 1 z BOTH", "-ERR syntax error\r\n"),
    ]);
}

#[test]
fn blmove_waits_and_moves_within_a_shard_and_across_shards() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    let src = &keys_on_shard("msrc", 0, 2, 1)[0];
    for shard in 0..2 {
        let dst = &keys_on_shard("mdst", shard, 2, 1)[0];
        let mut w = Conn::open(s.port);
        w.send(&["BLMOVE", src, dst, "RIGHT", "LEFT", "0"]);
        wait_blocked(&mut probe, 1);
        probe.int(&["RPUSH", src, "x", "y"]);
        assert_eq!(w.frame(), b"$1\r\ny\r\n");
        probe.expect(&["LRANGE", dst, "0", "-1"], "*1\r\n$1\r\ny\r\n");
        probe.expect(&["LRANGE", src, "0", "-1"], "*1\r\n$1\r\nx\r\n");
        probe.expect(&["DEL", src, dst], ":2\r\n");

        // A destination of another type: the client gets WRONGTYPE and the
        // element stays in the source.
        probe.expect(&["SET", dst, "string"], "+OK\r\n");
        w.send(&["BRPOPLPUSH", src, dst, "0"]);
        wait_blocked(&mut probe, 1);
        probe.int(&["RPUSH", src, "z"]);
        assert_eq!(w.frame(), b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
        probe.expect(&["LRANGE", src, "0", "-1"], "*1\r\n$1\r\nz\r\n");
        probe.expect(&["DEL", src, dst], ":2\r\n");
    }
}

#[test]
fn sorted_set_and_multi_pops_wake_on_a_push() {
    let s = Server::start();
    let mut probe = Conn::open(s.port);
    let (k0, k1) = (&keys_on_shard("zw", 0, 2, 1)[0], &keys_on_shard("zw", 1, 2, 1)[0]);
    let mut w = Conn::open(s.port);
    w.send(&["BZPOPMAX", k0, k1, "0"]);
    wait_blocked(&mut probe, 1);
    probe.int(&["ZADD", k1, "1", "a", "2", "b"]);
    assert_eq!(
        String::from_utf8(w.frame()).unwrap(),
        format!("*3\r\n${}\r\n{}\r\n$1\r\nb\r\n$1\r\n2\r\n", k1.len(), k1)
    );

    w.send(&["BZMPOP", "0", "2", k0, k1, "MIN", "COUNT", "10"]);
    // k1 still holds `a`: served at once.
    assert_eq!(
        String::from_utf8(w.frame()).unwrap(),
        format!("*2\r\n${}\r\n{}\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n", k1.len(), k1)
    );
    w.send(&["BLMPOP", "0", "2", k0, k1, "LEFT", "COUNT", "2"]);
    wait_blocked(&mut probe, 1);
    probe.int(&["RPUSH", k0, "p", "q", "r"]);
    assert_eq!(
        String::from_utf8(w.frame()).unwrap(),
        format!("*2\r\n${}\r\n{}\r\n*2\r\n$1\r\np\r\n$1\r\nq\r\n", k0.len(), k0)
    );
    probe.expect(&["LLEN", k0], ":1\r\n");
}

#[test]
fn blocking_commands_are_counted_in_commandstats() {
    let s = Server::start();
    let mut c = Conn::open(s.port);
    c.expect(&["RPUSH", "l", "a"], ":1\r\n");
    c.call(&["BLPOP", "l", "0"]);
    c.call(&["BLPOP", "l", "0.01"]);
    c.call(&["BLPOP", "l", "x"]);
    let stats = c.text(&["INFO", "commandstats"]);
    let line = stats.lines().find(|l| l.starts_with("cmdstat_blpop:")).unwrap_or_else(|| panic!("{}", stats));
    assert!(line.starts_with("cmdstat_blpop:calls=3,"), "{}", line);
    assert!(line.ends_with("rejected_calls=0,failed_calls=1"), "{}", line);
}
