//! String commands, black-box: GET/SET with every option and invalid
//! combination, expiry times and their errors, KEEPTTL (checked by waiting
//! for the expiry, as there is no TTL command yet), INCR on every kind of
//! non-integer and at the i64 limits, MGET with missing keys.
//!
//! Expectations are literal and, when redis-server is installed, checked
//! against it byte for byte.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::oracle::{connect, encode, keys_on_shard, read_n, send_lenient, Esc, Pair};

/// Steps of (arguments, exact reply), for arguments that need spaces or
/// emptiness.
fn steps(list: &[(&[&str], &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    list.iter().map(|(args, reply)| (encode(args), reply.as_bytes().to_vec())).collect()
}

const SYNTAX: &str = "-ERR syntax error\r\n";
const INVALID_EXPIRE: &str = "-ERR invalid expire time in 'set' command\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const OVERFLOW: &str = "-ERR increment or decrement would overflow\r\n";

#[test]
fn set_conditions_and_get() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        ("GET k", "$-1\r\n"),
        ("SET k v NX", "+OK\r\n"),
        ("SET k v2 NX", "$-1\r\n"),
        ("GET k", "$1\r\nv\r\n"),
        ("SET k v3 XX", "+OK\r\n"),
        ("GET k", "$2\r\nv3\r\n"),
        // XX on a missing key: nil, and nothing created.
        ("SET nk v XX", "$-1\r\n"),
        ("GET nk", "$-1\r\n"),
        ("SET nk v XX GET", "$-1\r\n"),
        ("EXISTS nk", ":0\r\n"),
        // GET on a missing key: nil, and the key is set.
        ("SET g1 v GET", "$-1\r\n"),
        ("GET g1", "$1\r\nv\r\n"),
        ("SET g1 w GET", "$1\r\nv\r\n"),
        ("GET g1", "$1\r\nw\r\n"),
        // NX+GET: the old value, and nothing set when the key exists.
        ("SET g1 x NX GET", "$1\r\nw\r\n"),
        ("GET g1", "$1\r\nw\r\n"),
        ("SET g2 v NX GET", "$-1\r\n"),
        ("GET g2", "$1\r\nv\r\n"),
        ("SET g1 y XX GET", "$1\r\nw\r\n"),
        ("GET g1", "$1\r\ny\r\n"),
        ("SET g1 z GET NX", "$1\r\ny\r\n"),
        ("SET g1 z EX 100 NX GET", "$1\r\ny\r\n"),
        // Options are case-insensitive and may repeat.
        ("set g1 z nx", "$-1\r\n"),
        ("SET g1 z xX", "+OK\r\n"),
        ("SET g1 a NX NX", "$-1\r\n"),
        ("SET g1 b XX XX", "+OK\r\n"),
        ("SET g1 c GET GET", "$1\r\nb\r\n"),
        ("SET g1 d KEEPTTL KEEPTTL", "+OK\r\n"),
        ("SET g1 e EX 100 EX 200", "+OK\r\n"),
        ("SET g1 f PX 100000 px 200000", "+OK\r\n"),
        ("GET g1", "$1\r\nf\r\n"),
        // Invalid combinations.
        ("SET s v NX XX", SYNTAX),
        ("SET s v XX NX", SYNTAX),
        ("SET s v NX NX XX", SYNTAX),
        ("SET s v EX 10 PX 100", SYNTAX),
        ("SET s v EX 10 EXAT 10", SYNTAX),
        ("SET s v EXAT 1 PXAT 1", SYNTAX),
        ("SET s v PX 10 EX 10", SYNTAX),
        ("SET s v EX 10 KEEPTTL", SYNTAX),
        ("SET s v KEEPTTL EX 10", SYNTAX),
        ("SET s v KEEPTTL PXAT 10", SYNTAX),
        ("SET s v EX", SYNTAX),
        ("SET s v NX EX", SYNTAX),
        ("SET s v foo", SYNTAX),
        ("SET s v NX foo", SYNTAX),
        ("SET s v 10", SYNTAX),
        ("EXISTS s", ":0\r\n"),
        // Arity.
        ("SET s", "-ERR wrong number of arguments for 'set' command\r\n"),
        ("GET", "-ERR wrong number of arguments for 'get' command\r\n"),
        ("GET a b", "-ERR wrong number of arguments for 'get' command\r\n"),
    ]);
    // Binary-safe keys and values, empty ones included.
    let big = "x".repeat(100_000);
    let mut big_reply = format!("${}\r\n", big.len());
    big_reply.push_str(&big);
    big_reply.push_str("\r\n");
    p.session_raw(&steps(&[
        (&["SET", "", ""], "+OK\r\n"),
        (&["GET", ""], "$0\r\n\r\n"),
        (&["SET", "b\r\n\0\u{ff}", "v\r\n\0"], "+OK\r\n"),
        (&["GET", "b\r\n\0\u{ff}"], "$4\r\nv\r\n\0\r\n"),
        (&["SET", "big", &big], "+OK\r\n"),
        (&["GET", "big"], &big_reply),
    ]));
}

#[test]
fn set_expire_times() {
    let p = Pair::start(&[]);
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let later_s = (now_ms / 1000 + 3600).to_string();
    let later_ms = (now_ms + 3_600_000).to_string();
    p.session_raw(&steps(&[
        (&["FLUSHALL"], "+OK\r\n"),
        // Zero, negative, non-integer and overflowing times.
        (&["SET", "e", "v", "EX", "0"], INVALID_EXPIRE),
        (&["SET", "e", "v", "EX", "-1"], INVALID_EXPIRE),
        (&["SET", "e", "v", "PX", "0"], INVALID_EXPIRE),
        (&["SET", "e", "v", "PX", "-5"], INVALID_EXPIRE),
        (&["SET", "e", "v", "EXAT", "0"], INVALID_EXPIRE),
        (&["SET", "e", "v", "PXAT", "-1"], INVALID_EXPIRE),
        (&["SET", "e", "v", "EX", "1.5"], NOT_INT),
        (&["SET", "e", "v", "EX", "abc"], NOT_INT),
        (&["SET", "e", "v", "EX", ""], NOT_INT),
        (&["SET", "e", "v", "EX", " 1"], NOT_INT),
        (&["SET", "e", "v", "EX", "+1"], NOT_INT),
        (&["SET", "e", "v", "EX", "01"], NOT_INT),
        (&["SET", "e", "v", "PX", "9223372036854775808"], NOT_INT),
        (&["SET", "e", "v", "EX", "9223372036854775807"], INVALID_EXPIRE),
        (&["SET", "e", "v", "EX", "9223372036854776"], INVALID_EXPIRE),
        // Fits in ms, but not once now is added.
        (&["SET", "e", "v", "EX", "9223372036854774"], INVALID_EXPIRE),
        (&["SET", "e", "v", "PX", "9223372036854775000"], INVALID_EXPIRE),
        (&["SET", "e", "v", "PX", "9223372036854775807"], INVALID_EXPIRE),
        (&["SET", "e", "v", "EXAT", "9223372036854775807"], INVALID_EXPIRE),
        (&["SET", "e", "v", "EXAT", "9223372036854776"], INVALID_EXPIRE),
        (&["SET", "e", "v", "EXAT", "99999999999999999"], INVALID_EXPIRE),
        // The syntax is checked before the time.
        (&["SET", "e", "v", "EX", "0", "NX", "XX"], SYNTAX),
        (&["EXISTS", "e"], ":0\r\n"),
        // The largest absolute times are fine.
        (&["SET", "e1", "v", "EXAT", "9223372036854775"], "+OK\r\n"),
        (&["SET", "e2", "v", "PXAT", "9223372036854775807"], "+OK\r\n"),
        (&["MGET", "e1", "e2"], "*2\r\n$1\r\nv\r\n$1\r\nv\r\n"),
        // Times in the future keep the key; the options mix with the others.
        (&["SET", "f1", "v", "EXAT", &later_s], "+OK\r\n"),
        (&["SET", "f2", "v", "PXAT", &later_ms, "NX"], "+OK\r\n"),
        (&["SET", "f3", "v", "ex", "3600", "GET"], "$-1\r\n"),
        (&["SET", "f3", "w", "px", "3600000", "XX", "GET"], "$1\r\nv\r\n"),
        (&["MGET", "f1", "f2", "f3"], "*3\r\n$1\r\nv\r\n$1\r\nv\r\n$1\r\nw\r\n"),
        // An absolute time in the past: the key is deleted at once, GET
        // still answers the old value.
        (&["SET", "f1", "x", "PXAT", "1"], "+OK\r\n"),
        (&["GET", "f1"], "$-1\r\n"),
        (&["SET", "f2", "x", "EXAT", "1", "GET"], "$1\r\nv\r\n"),
        (&["EXISTS", "f1", "f2", "f3"], ":1\r\n"),
        (&["SET", "f4", "x", "EXAT", "1", "XX"], "$-1\r\n"),
        (&["SET", "f4", "x", "EXAT", "1", "NX"], "+OK\r\n"),
        (&["EXISTS", "f4"], ":0\r\n"),
    ]));
}

/// Short TTLs, waited out: KEEPTTL keeps the TTL, a plain SET, SET GET and
/// MSET drop it, INCR and a failed SET NX keep it.
fn ttl_scenario(name: &str, port: u16) {
    let mut s = connect(port);
    let step = |s: &mut std::net::TcpStream, args: &[&str], want: &str| {
        send_lenient(s, &encode(args));
        let got = read_n(s, want.len());
        assert_eq!(Esc(got), Esc::of(want.as_bytes()), "{}: {:?}", name, args);
    };
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let soon = (now_ms + 400).to_string();
    let started = Instant::now();
    step(&mut s, &["FLUSHALL"], "+OK\r\n");
    step(&mut s, &["SET", "kt", "v", "PX", "400"], "+OK\r\n");
    step(&mut s, &["SET", "kt", "v2", "KEEPTTL"], "+OK\r\n");
    step(&mut s, &["SET", "xt", "v", "PX", "400"], "+OK\r\n");
    step(&mut s, &["SET", "xt", "v2", "XX", "KEEPTTL", "GET"], "$1\r\nv\r\n");
    step(&mut s, &["SET", "it", "5", "PX", "400"], "+OK\r\n");
    step(&mut s, &["INCR", "it"], ":6\r\n");
    step(&mut s, &["SET", "nx", "v", "PXAT", &soon], "+OK\r\n");
    step(&mut s, &["SET", "nx", "v2", "NX", "EX", "100"], "$-1\r\n");
    step(&mut s, &["SET", "nt", "v", "PX", "400"], "+OK\r\n");
    step(&mut s, &["SET", "nt", "v2"], "+OK\r\n");
    step(&mut s, &["SET", "gt", "v", "PX", "400"], "+OK\r\n");
    step(&mut s, &["SET", "gt", "w", "GET"], "$1\r\nv\r\n");
    step(&mut s, &["SET", "ms", "v", "PX", "400"], "+OK\r\n");
    step(&mut s, &["MSET", "ms", "v2", "other", "1"], "+OK\r\n");
    step(&mut s, &["MGET", "kt", "xt", "it", "nx"], "*4\r\n$2\r\nv2\r\n$2\r\nv2\r\n$1\r\n6\r\n$1\r\nv\r\n");
    // Wait for the first one to go.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        send_lenient(&mut s, b"EXISTS kt\r\n");
        let got = read_n(&mut s, 4);
        if got == b":0\r\n" {
            break;
        }
        assert_eq!(Esc(got), Esc::of(b":1\r\n"), "{}", name);
        assert!(Instant::now() < deadline, "{}: kt never expired", name);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(started.elapsed() >= Duration::from_millis(300), "{}: expired too early: {:?}", name, started.elapsed());
    // Expired by now, they were set before kt (nx: a deadline before).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        send_lenient(&mut s, &encode(&["EXISTS", "kt", "xt", "it", "nx"]));
        let got = read_n(&mut s, 4);
        if got == b":0\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "{}: {:?} still there", name, Esc(got));
        std::thread::sleep(Duration::from_millis(20));
    }
    step(
        &mut s,
        &["MGET", "kt", "xt", "it", "nx", "nt", "gt", "ms"],
        "*7\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$2\r\nv2\r\n$1\r\nw\r\n$2\r\nv2\r\n",
    );
    step(&mut s, &["DBSIZE"], ":4\r\n");
}

#[test]
fn keepttl_and_what_clears_a_ttl() {
    let p = Pair::start(&[]);
    let ports = p.ports();
    // Both at once: the waiting is the slow part.
    std::thread::scope(|scope| {
        for (name, port) in ports {
            scope.spawn(move || ttl_scenario(name, port));
        }
    });
}

#[test]
fn incr() {
    let p = Pair::start(&[]);
    let mut list: Vec<(&[&str], &str)> = vec![
        (&["FLUSHALL"], "+OK\r\n"),
        (&["INCR", "n"], ":1\r\n"),
        (&["INCR", "n"], ":2\r\n"),
        (&["GET", "n"], "$1\r\n2\r\n"),
        (&["SET", "n", "-1"], "+OK\r\n"),
        (&["INCR", "n"], ":0\r\n"),
        (&["GET", "n"], "$1\r\n0\r\n"),
        (&["SET", "n", "41"], "+OK\r\n"),
        (&["INCR", "n"], ":42\r\n"),
        // At the limits.
        (&["SET", "n", "9223372036854775806"], "+OK\r\n"),
        (&["INCR", "n"], ":9223372036854775807\r\n"),
        (&["INCR", "n"], OVERFLOW),
        (&["GET", "n"], "$19\r\n9223372036854775807\r\n"),
        (&["SET", "n", "-9223372036854775808"], "+OK\r\n"),
        (&["INCR", "n"], ":-9223372036854775807\r\n"),
        // Arity.
        (&["INCR"], "-ERR wrong number of arguments for 'incr' command\r\n"),
        (&["INCR", "a", "b"], "-ERR wrong number of arguments for 'incr' command\r\n"),
    ];
    // Not integers: the value stays as it was.
    let bad = [
        "-0",
        "007",
        "00",
        "1.5",
        "1e3",
        "+1",
        " 1",
        "1 ",
        "",
        "1x",
        "0x10",
        "abc",
        "9223372036854775808",
        "-9223372036854775809",
        "12345678901234567890",
        "000000000000000000001",
        "-",
    ];
    let replies: Vec<String> = bad.iter().map(|v| format!("${}\r\n{}\r\n", v.len(), v)).collect();
    let sets: Vec<[&str; 3]> = bad.iter().map(|v| ["SET", "bad", v]).collect();
    for (set, reply) in sets.iter().zip(&replies) {
        list.push((set, "+OK\r\n"));
        list.push((&["INCR", "bad"], NOT_INT));
        list.push((&["GET", "bad"], reply));
    }
    p.session_raw(&steps(&list));
}

#[test]
fn mget_and_mset() {
    let p = Pair::start(&[]);
    let a = keys_on_shard("s:a", 0, 2, 2);
    let b = keys_on_shard("s:b", 1, 2, 2);
    let (a0, a1, b0, b1) = (a[0].as_str(), a[1].as_str(), b[0].as_str(), b[1].as_str());
    let mget = format!("MGET {a0} missing {b0} {a1} {b1} {b0} nope");
    let mset = format!("MSET {a0} 1 {b0} 2");
    let mset_more = format!("MSET {a1} x {b1} y {a1} z");
    let mget_after = format!("MGET {b1} {a1} {a0}");
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        (&mget, "*7\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"),
        (&mset, "+OK\r\n"),
        (&mget, "*7\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n$-1\r\n$-1\r\n$1\r\n2\r\n$-1\r\n"),
        (&mset_more, "+OK\r\n"),
        (&mget_after, "*3\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\n1\r\n"),
        ("MGET", "-ERR wrong number of arguments for 'mget' command\r\n"),
        ("MSET", "-ERR wrong number of arguments for 'mset' command\r\n"),
        ("MSET a", "-ERR wrong number of arguments for 'mset' command\r\n"),
        ("MSET a b c", "-ERR wrong number of arguments for 'mset' command\r\n"),
        ("EXISTS a c", ":0\r\n"),
    ]);
}
