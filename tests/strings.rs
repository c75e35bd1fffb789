//! String commands, black-box: GET/SET with every option and invalid
//! combination, expiry times and their errors, KEEPTTL (checked by waiting
//! for the expiry, as there is no TTL command yet), INCR on every kind of
//! non-integer and at the i64 limits, MGET with missing keys; SETNX, SETEX,
//! PSETEX, GETSET, GETDEL, GETEX, DECR/INCRBY/DECRBY, APPEND, STRLEN,
//! GETRANGE/SUBSTR and SETRANGE with every error (INCRBYFLOAT, MSETNX, LCS
//! and the command table are in `strings_more.rs`).
//!
//! Expectations are literal and, when redis-server is installed, checked
//! against it byte for byte.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::oracle::{connect, encode, keys_on_shard, read_n, send_lenient, with_a_list, Esc, Pair};

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

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn arity(cmd: &str) -> String {
    format!("-ERR wrong number of arguments for '{}' command\r\n", cmd)
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{}\r\n", v.len(), v)
}

#[test]
fn setnx_setex_psetex() {
    let p = Pair::start(&[]);
    let setex_invalid = "-ERR invalid expire time in 'setex' command\r\n";
    let psetex_invalid = "-ERR invalid expire time in 'psetex' command\r\n";
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        ("SETNX k v", ":1\r\n"),
        ("SETNX k w", ":0\r\n"),
        ("GET k", "$1\r\nv\r\n"),
        ("SETEX k 100 w", "+OK\r\n"),
        ("GET k", "$1\r\nw\r\n"),
        ("SETNX k x", ":0\r\n"),
        ("PSETEX k 100000 x", "+OK\r\n"),
        ("GET k", "$1\r\nx\r\n"),
        ("SETEX n 100 12", "+OK\r\n"),
        ("INCR n", ":13\r\n"),
        // Zero, negative, non-integer and overflowing times: nothing set.
        ("SETEX e 0 v", setex_invalid),
        ("SETEX e -1 v", setex_invalid),
        ("SETEX e 9223372036854775807 v", setex_invalid),
        ("SETEX e 9223372036854776 v", setex_invalid),
        ("SETEX e 1.5 v", NOT_INT),
        ("SETEX e abc v", NOT_INT),
        ("SETEX e 9223372036854775808 v", NOT_INT),
        ("PSETEX e 0 v", psetex_invalid),
        ("PSETEX e -100 v", psetex_invalid),
        ("PSETEX e 9223372036854775807 v", psetex_invalid),
        ("PSETEX e x v", NOT_INT),
        ("EXISTS e", ":0\r\n"),
        // Options are not SET's: the value is the last argument.
        ("SETNX", &arity("setnx")),
        ("SETNX k", &arity("setnx")),
        ("SETNX k v NX", &arity("setnx")),
        ("SETEX k 10", &arity("setex")),
        ("SETEX k 10 v EX", &arity("setex")),
        ("PSETEX k 10", &arity("psetex")),
    ]);
    with_a_list(
        &p,
        "list",
        &[
            (&["SETNX", "list", "v"], ":0\r\n"),
            (&["SETEX", "list", "10", "v"], "+OK\r\n"),
            (&["GET", "list"], "$1\r\nv\r\n"),
        ],
    );
}

#[test]
fn getset_and_getdel() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        ("GETSET k v", "$-1\r\n"),
        ("GETSET k 12", "$1\r\nv\r\n"),
        ("INCR k", ":13\r\n"),
        ("GETSET k w", "$2\r\n13\r\n"),
        ("GETDEL k", "$1\r\nw\r\n"),
        ("GETDEL k", "$-1\r\n"),
        ("EXISTS k", ":0\r\n"),
        ("GETSET", &arity("getset")),
        ("GETSET k", &arity("getset")),
        ("GETSET k v w", &arity("getset")),
        ("GETDEL", &arity("getdel")),
        ("GETDEL a b", &arity("getdel")),
    ]);
    with_a_list(
        &p,
        "list",
        &[(&["GETSET", "list", "v"], WRONGTYPE), (&["GETDEL", "list"], WRONGTYPE), (&["EXISTS", "list"], ":1\r\n")],
    );
}

#[test]
fn getex_options_and_errors() {
    let p = Pair::start(&[]);
    let invalid = "-ERR invalid expire time in 'getex' command\r\n";
    let now_s = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let later = format!("GETEX k EXAT {}", now_s + 3600);
    let later_ms = format!("GETEX k PXAT {}", (now_s + 3600) * 1000);
    let past = format!("GETEX k EXAT {}", now_s - 10);
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        ("GETEX k", "$-1\r\n"),
        ("SET k v", "+OK\r\n"),
        ("GETEX k", "$1\r\nv\r\n"),
        ("GETEX k EX 100", "$1\r\nv\r\n"),
        ("GETEX k px 100000", "$1\r\nv\r\n"),
        (&later, "$1\r\nv\r\n"),
        (&later_ms, "$1\r\nv\r\n"),
        ("GETEX k PERSIST", "$1\r\nv\r\n"),
        ("GETEX k PERSIST PERSIST", "$1\r\nv\r\n"),
        ("GETEX k EX 100 EX 200", "$1\r\nv\r\n"),
        // SET's options, or two of the others: syntax errors.
        ("GETEX k NX", SYNTAX),
        ("GETEX k XX", SYNTAX),
        ("GETEX k GET", SYNTAX),
        ("GETEX k KEEPTTL", SYNTAX),
        ("GETEX k EX", SYNTAX),
        ("GETEX k EX 10 PX 10", SYNTAX),
        ("GETEX k EXAT 10 PXAT 10", SYNTAX),
        ("GETEX k PERSIST EX 10", SYNTAX),
        ("GETEX k EX 10 PERSIST", SYNTAX),
        ("GETEX k foo", SYNTAX),
        ("GETEX missing EX 10 PX 10", SYNTAX),
        // Bad times: checked once the key is found.
        ("GETEX k EX 0", invalid),
        ("GETEX k PX -1", invalid),
        ("GETEX k EXAT 0", invalid),
        ("GETEX k EX 9223372036854775807", invalid),
        ("GETEX k PX 9223372036854775807", invalid),
        ("GETEX k EX abc", NOT_INT),
        ("GETEX missing EX 0", "$-1\r\n"),
        ("GETEX missing EX abc", "$-1\r\n"),
        // A time in the past: the value, and the key is gone.
        (&past, "$1\r\nv\r\n"),
        ("EXISTS k", ":0\r\n"),
        ("SET k w", "+OK\r\n"),
        ("GETEX k PXAT 1", "$1\r\nw\r\n"),
        ("GET k", "$-1\r\n"),
        ("GETEX", &arity("getex")),
    ]);
    with_a_list(
        &p,
        "list",
        &[
            (&["GETEX", "list"], WRONGTYPE),
            (&["GETEX", "list", "EX", "0"], WRONGTYPE),
            (&["GETEX", "list", "NX"], SYNTAX),
        ],
    );
}

/// TTLs that GETEX, SETEX, PSETEX and GETSET set or clear, waited out.
fn getex_ttl_scenario(name: &str, port: u16) {
    let mut s = connect(port);
    let step = |s: &mut std::net::TcpStream, args: &[&str], want: &str| {
        send_lenient(s, &encode(args));
        let got = read_n(s, want.len());
        assert_eq!(Esc(got), Esc::of(want.as_bytes()), "{}: {:?}", name, args);
    };
    step(&mut s, &["FLUSHALL"], "+OK\r\n");
    step(&mut s, &["SET", "gone", "v"], "+OK\r\n");
    step(&mut s, &["GETEX", "gone", "PX", "300"], "$1\r\nv\r\n");
    step(&mut s, &["PSETEX", "ps", "300", "v"], "+OK\r\n");
    step(&mut s, &["SETEX", "kept", "1", "v"], "+OK\r\n");
    step(&mut s, &["GETEX", "kept", "PERSIST"], "$1\r\nv\r\n");
    step(&mut s, &["PSETEX", "gs", "300", "v"], "+OK\r\n");
    step(&mut s, &["GETSET", "gs", "w"], "$1\r\nv\r\n");
    step(&mut s, &["PSETEX", "plain", "300", "v"], "+OK\r\n");
    step(&mut s, &["GETEX", "plain"], "$1\r\nv\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        send_lenient(&mut s, &encode(&["EXISTS", "gone", "ps", "plain"]));
        let got = read_n(&mut s, 4);
        if got == b":0\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "{}: {:?} still there", name, Esc(got));
        std::thread::sleep(Duration::from_millis(20));
    }
    // SETEX's second has passed too by the time the others are gone twice over.
    std::thread::sleep(Duration::from_millis(800));
    step(&mut s, &["MGET", "kept", "gs"], "*2\r\n$1\r\nv\r\n$1\r\nw\r\n");
}

#[test]
fn getex_setex_and_getset_ttls() {
    let p = Pair::start(&[]);
    let ports = p.ports();
    std::thread::scope(|scope| {
        for (name, port) in ports {
            scope.spawn(move || getex_ttl_scenario(name, port));
        }
    });
}

#[test]
fn decr_incrby_decrby() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        ("DECR n", ":-1\r\n"),
        ("DECR n", ":-2\r\n"),
        ("INCRBY n 10", ":8\r\n"),
        ("INCRBY n -20", ":-12\r\n"),
        ("DECRBY n -12", ":0\r\n"),
        ("DECRBY n 5", ":-5\r\n"),
        ("INCRBY m -9223372036854775808", ":-9223372036854775808\r\n"),
        ("DECR m", OVERFLOW),
        ("DECRBY m 1", OVERFLOW),
        ("INCRBY m -1", OVERFLOW),
        ("GET m", "$20\r\n-9223372036854775808\r\n"),
        ("INCRBY m 9223372036854775807", ":-1\r\n"),
        ("INCRBY m 9223372036854775807", ":9223372036854775806\r\n"),
        ("INCRBY m 2", OVERFLOW),
        ("DECRBY m -2", OVERFLOW),
        // -LLONG_MIN does not exist.
        ("DECRBY x -9223372036854775808", "-ERR decrement would overflow\r\n"),
        ("EXISTS x", ":0\r\n"),
        ("DECRBY x 9223372036854775807", ":-9223372036854775807\r\n"),
        // Increments that are not integers, checked before the value.
        ("INCRBY n 1.5", NOT_INT),
        ("INCRBY n abc", NOT_INT),
        ("INCRBY n 9223372036854775808", NOT_INT),
        ("DECRBY n 01", NOT_INT),
        ("DECRBY n +1", NOT_INT),
        ("SET s abc", "+OK\r\n"),
        ("DECR s", NOT_INT),
        ("INCRBY s 1", NOT_INT),
        ("DECRBY s 1", NOT_INT),
        ("DECRBY s x", NOT_INT),
        ("SET s 1.0", "+OK\r\n"),
        ("DECR s", NOT_INT),
        ("GET s", "$3\r\n1.0\r\n"),
        ("DECR", &arity("decr")),
        ("INCRBY n", &arity("incrby")),
        ("DECRBY n 1 2", &arity("decrby")),
    ]);
    with_a_list(
        &p,
        "list",
        &[
            (&["DECR", "list"], WRONGTYPE),
            (&["INCRBY", "list", "1"], WRONGTYPE),
            (&["INCRBY", "list", "x"], NOT_INT),
            (&["DECRBY", "list", "-9223372036854775808"], "-ERR decrement would overflow\r\n"),
        ],
    );
}

#[test]
fn append_and_strlen() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        ("STRLEN k", ":0\r\n"),
        ("APPEND k Hello", ":5\r\n"),
        ("APPEND k World", ":10\r\n"),
        ("GET k", "$10\r\nHelloWorld\r\n"),
        ("STRLEN k", ":10\r\n"),
        ("APPEND n 12", ":2\r\n"),
        ("INCR n", ":13\r\n"),
        ("APPEND n 4", ":3\r\n"),
        ("INCR n", ":135\r\n"),
        ("STRLEN n", ":3\r\n"),
        ("SET n -9223372036854775808", "+OK\r\n"),
        ("STRLEN n", ":20\r\n"),
        ("APPEND", &arity("append")),
        ("APPEND k", &arity("append")),
        ("STRLEN", &arity("strlen")),
        ("STRLEN a b", &arity("strlen")),
    ]);
    p.session_raw(&steps(&[
        // An empty append creates the key.
        (&["APPEND", "e", ""], ":0\r\n"),
        (&["EXISTS", "e"], ":1\r\n"),
        (&["STRLEN", "e"], ":0\r\n"),
        (&["APPEND", "e", "\0\r\n"], ":3\r\n"),
        (&["APPEND", "e", ""], ":3\r\n"),
        (&["GET", "e"], "$3\r\n\0\r\n\r\n"),
    ]));
    with_a_list(&p, "list", &[(&["APPEND", "list", "x"], WRONGTYPE), (&["STRLEN", "list"], WRONGTYPE)]);
}

#[test]
fn getrange_and_substr() {
    let p = Pair::start(&[]);
    let mut list: Vec<(String, String)> = vec![
        ("FLUSHALL".into(), "+OK\r\n".into()),
        ("SET k This_is_a_string".into(), "+OK\r\n".into()),
        ("SET n -12345".into(), "+OK\r\n".into()),
    ];
    let text = "This_is_a_string";
    // (start, end, expected) on the 16-byte string, Redis 7.2's rules.
    let cases: &[(&str, &str, &str)] = &[
        ("0", "3", "This"),
        ("-3", "-1", "ing"),
        ("0", "-1", text),
        ("10", "100", "string"),
        ("5", "3", ""),
        ("-1", "-5", ""),
        ("-5", "-5", "t"),
        ("-100", "-100", "T"),
        ("-100", "2", "Thi"),
        ("0", "-100", "T"),
        ("16", "20", ""),
        ("15", "15", "g"),
        ("-16", "0", "T"),
        ("-9223372036854775808", "9223372036854775807", text),
        ("9223372036854775807", "-9223372036854775808", ""),
        ("-9223372036854775808", "-9223372036854775807", "T"),
    ];
    for cmd in ["GETRANGE", "SUBSTR"] {
        for (start, end, want) in cases {
            list.push((format!("{cmd} k {start} {end}"), bulk(want)));
        }
        list.push((format!("{cmd} n 1 2"), bulk("12")));
        list.push((format!("{cmd} n -2 -1"), bulk("45")));
        list.push((format!("{cmd} missing 0 -1"), bulk("")));
        list.push((format!("{cmd} k a 1"), NOT_INT.into()));
        list.push((format!("{cmd} k 1 a"), NOT_INT.into()));
        list.push((format!("{cmd} missing 1.5 1"), NOT_INT.into()));
        list.push((format!("{cmd} k 1"), arity(&cmd.to_lowercase())));
    }
    let list: Vec<(&str, &str)> = list.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
    p.session(&list);
    // An empty string: nothing, whatever the range.
    p.session_raw(&steps(&[
        (&["SET", "e", ""], "+OK\r\n"),
        (&["GETRANGE", "e", "0", "-1"], "$0\r\n\r\n"),
        (&["GETRANGE", "e", "-1", "0"], "$0\r\n\r\n"),
        (&["SUBSTR", "e", "0", "0"], "$0\r\n\r\n"),
    ]));
    with_a_list(
        &p,
        "list",
        &[(&["GETRANGE", "list", "0", "-1"], WRONGTYPE), (&["GETRANGE", "list", "x", "0"], NOT_INT)],
    );
}

#[test]
fn setrange() {
    let p = Pair::start(&[]);
    p.session_raw(&steps(&[
        (&["FLUSHALL"], "+OK\r\n"),
        (&["SET", "k", "Hello World"], "+OK\r\n"),
        (&["SETRANGE", "k", "6", "Redis"], ":11\r\n"),
        (&["GET", "k"], "$11\r\nHello Redis\r\n"),
        (&["SETRANGE", "k", "6", "Redis!!"], ":13\r\n"),
        (&["GET", "k"], "$13\r\nHello Redis!!\r\n"),
        // Padding with zero bytes, on a new key and past the end.
        (&["SETRANGE", "new", "3", "ab"], ":5\r\n"),
        (&["GET", "new"], "$5\r\n\0\0\0ab\r\n"),
        (&["SETRANGE", "new", "7", "c"], ":8\r\n"),
        (&["GET", "new"], "$8\r\n\0\0\0ab\0\0c\r\n"),
        (&["SETRANGE", "new", "0", "x"], ":8\r\n"),
        // On an integer: its digits.
        (&["SET", "n", "1234"], "+OK\r\n"),
        (&["SETRANGE", "n", "1", "9"], ":4\r\n"),
        (&["INCR", "n"], ":1935\r\n"),
        (&["SETRANGE", "n", "4", "x"], ":5\r\n"),
        (&["GET", "n"], "$5\r\n1935x\r\n"),
        // Empty values write nothing: the length, and no key created,
        // whatever the offset.
        (&["SETRANGE", "none", "5", ""], ":0\r\n"),
        (&["SETRANGE", "none", "9223372036854775807", ""], ":0\r\n"),
        (&["EXISTS", "none"], ":0\r\n"),
        (&["SETRANGE", "k", "100", ""], ":13\r\n"),
        (&["SETRANGE", "k", "9223372036854775807", ""], ":13\r\n"),
        // Errors.
        (&["SETRANGE", "k", "-1", "x"], "-ERR offset is out of range\r\n"),
        (&["SETRANGE", "none", "-1", ""], "-ERR offset is out of range\r\n"),
        (&["SETRANGE", "k", "x", "x"], NOT_INT),
        (&["SETRANGE", "k", "1.5", "x"], NOT_INT),
        (&["SETRANGE", "k", "9223372036854775808", "x"], NOT_INT),
        (&["SETRANGE", "k", "536870912", "x"], TOO_BIG),
        (&["SETRANGE", "none", "536870911", "xy"], TOO_BIG),
        (&["SETRANGE", "none", "9223372036854775807", "x"], TOO_BIG),
        (&["EXISTS", "none"], ":0\r\n"),
        (&["GET", "k"], "$13\r\nHello Redis!!\r\n"),
        (&["SETRANGE", "k", "1"], &arity("setrange")),
    ]));
    with_a_list(
        &p,
        "list",
        &[
            (&["SETRANGE", "list", "0", "x"], WRONGTYPE),
            (&["SETRANGE", "list", "0", ""], WRONGTYPE),
            (&["SETRANGE", "list", "-1", "x"], "-ERR offset is out of range\r\n"),
        ],
    );
}

const TOO_BIG: &str = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";

/// The limit is `proto-max-bulk-len`, changed at run time too.
#[test]
fn string_size_limit_follows_proto_max_bulk_len() {
    let p = Pair::start(&["--proto-max-bulk-len", "1mb"]);
    let mb = 1024 * 1024;
    let chunk = "x".repeat(1000);
    let near = (mb - 10).to_string();
    let over = (mb - 2).to_string();
    let big = (3 * mb).to_string();
    p.session_raw(&steps(&[
        (&["FLUSHALL"], "+OK\r\n"),
        (&["SETRANGE", "k", &near, "0123456789"], &format!(":{}\r\n", mb)),
        (&["SETRANGE", "k", &over, "abc"], TOO_BIG),
        (&["APPEND", "k", "a"], TOO_BIG),
        (&["APPEND", "k", ""], &format!(":{}\r\n", mb)),
        (&["SETRANGE", "k2", &mb.to_string(), "a"], TOO_BIG),
        (&["SET", "s", &chunk], "+OK\r\n"),
        (&["SETRANGE", "s", &(mb - 1000).to_string(), &chunk], &format!(":{}\r\n", mb)),
        (&["CONFIG", "SET", "proto-max-bulk-len", "2mb"], "+OK\r\n"),
        (&["APPEND", "k", "a"], &format!(":{}\r\n", mb + 1)),
        (&["SETRANGE", "k2", &big, "a"], TOO_BIG),
        (&["EXISTS", "k2"], ":0\r\n"),
    ]));
}
