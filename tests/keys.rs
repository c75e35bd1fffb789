//! Generic key commands, black-box: TYPE, TOUCH, RENAME/RENAMENX and COPY
//! (on one shard and across shards), MOVE, SWAPDB, KEYS with Redis globs,
//! SCAN's cursor over every shard (and its guarantee under churn),
//! RANDOMKEY, OBJECT.
//!
//! Expectations are literal and, when redis-server is installed, checked
//! against it byte for byte, except where Redis's answer depends on its
//! table layout (SCAN cursors, RANDOMKEY, KEYS order).

mod common;

use std::collections::HashSet;

use common::oracle::{connect, encode, frame_len, keys_on_shard, read_frames, send_lenient, Pair};

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NO_SUCH_KEY: &str = "-ERR no such key\r\n";
const SAME: &str = "-ERR source and destination objects are the same\r\n";
const DB_RANGE: &str = "-ERR DB index is out of range\r\n";
const WRONG_ARGS: fn(&str) -> String = |c| format!("-ERR wrong number of arguments for '{}' command\r\n", c);

/// Two keys of the same shard and one of the other (of 2 shards).
fn spread() -> (String, String, String) {
    let a = keys_on_shard("k", 0, 2, 2);
    let b = keys_on_shard("k", 1, 2, 1);
    (a[0].clone(), a[1].clone(), b[0].clone())
}

#[test]
fn type_and_touch() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        ("TYPE nokey", "+none\r\n"),
        ("SET s 1", "+OK\r\n"),
        ("TYPE s", "+string\r\n"),
        ("SET s2 hello", "+OK\r\n"),
        ("TOUCH s s2 nokey s", ":3\r\n"),
        ("TOUCH nokey", ":0\r\n"),
        ("TOUCH", &WRONG_ARGS("touch")),
        ("TYPE", &WRONG_ARGS("type")),
    ]);
}

#[test]
fn rename_on_one_shard_and_across() {
    let p = Pair::start(&[]);
    let (a, a2, b) = spread();
    for (src, dst) in [(&a, &a2), (&a, &b), (&b, &a)] {
        let s = |c: &str| c.replace("SRC", src).replace("DST", dst);
        let steps: Vec<(String, String)> = [
            ("FLUSHALL", "+OK\r\n"),
            ("RENAME SRC DST", NO_SUCH_KEY),
            ("RENAMENX SRC DST", NO_SUCH_KEY),
            ("SET SRC v1", "+OK\r\n"),
            ("PEXPIRE SRC 100000", ":1\r\n"),
            ("RENAME SRC DST", "+OK\r\n"),
            ("EXISTS SRC", ":0\r\n"),
            ("GET DST", "$2\r\nv1\r\n"),
            // The TTL moves with the value.
            ("TTL DST", ":100\r\n"),
            ("SET SRC v2", "+OK\r\n"),
            ("RENAMENX SRC DST", ":0\r\n"),
            ("GET SRC", "$2\r\nv2\r\n"),
            // RENAME replaces the destination, and its TTL.
            ("RENAME SRC DST", "+OK\r\n"),
            ("GET DST", "$2\r\nv2\r\n"),
            ("TTL DST", ":-1\r\n"),
            ("RENAMENX DST SRC", ":1\r\n"),
            ("GET SRC", "$2\r\nv2\r\n"),
            ("EXISTS DST", ":0\r\n"),
            // A key renamed to itself.
            ("RENAME SRC SRC", "+OK\r\n"),
            ("RENAMENX SRC SRC", ":0\r\n"),
            ("RENAME nokey nokey", NO_SUCH_KEY),
            ("GET SRC", "$2\r\nv2\r\n"),
        ]
        .iter()
        .map(|(c, r)| (s(c), r.to_string()))
        .collect();
        let steps: Vec<(&str, &str)> = steps.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
        p.session(&steps);
    }
    p.session(&[("RENAME a", &WRONG_ARGS("rename")), ("RENAMENX a b c", &WRONG_ARGS("renamenx"))]);
}

#[test]
fn copy_options_and_shards() {
    let p = Pair::start(&[]);
    let (a, a2, b) = spread();
    for (src, dst) in [(&a, &a2), (&a, &b)] {
        let s = |c: &str| c.replace("SRC", src).replace("DST", dst);
        let steps: Vec<(String, String)> = [
            ("FLUSHALL", "+OK\r\n"),
            ("COPY SRC DST", ":0\r\n"),
            ("SET SRC 42", "+OK\r\n"),
            ("PEXPIRE SRC 50000", ":1\r\n"),
            ("COPY SRC DST", ":1\r\n"),
            ("GET DST", "$2\r\n42\r\n"),
            ("TTL DST", ":50\r\n"),
            ("OBJECT ENCODING DST", "$3\r\nint\r\n"),
            ("SET SRC other", "+OK\r\n"),
            ("COPY SRC DST", ":0\r\n"),
            ("COPY SRC DST REPLACE", ":1\r\n"),
            ("GET DST", "$5\r\nother\r\n"),
            ("TTL DST", ":-1\r\n"),
            ("COPY SRC SRC", SAME),
            ("COPY SRC SRC DB 0", SAME),
            ("COPY SRC SRC DB 1", ":1\r\n"),
            ("COPY SRC DST DB 1", ":1\r\n"),
            ("COPY SRC DST DB 1", ":0\r\n"),
            ("COPY SRC DST db 1 replace", ":1\r\n"),
            ("SELECT 1", "+OK\r\n"),
            ("GET SRC", "$5\r\nother\r\n"),
            ("GET DST", "$5\r\nother\r\n"),
            ("SELECT 0", "+OK\r\n"),
            ("COPY SRC DST DB 16", DB_RANGE),
            ("COPY SRC DST DB -1", DB_RANGE),
            ("COPY SRC DST DB x", NOT_INT),
            ("COPY SRC DST DB", SYNTAX),
            ("COPY SRC DST FOO", SYNTAX),
            ("COPY SRC DST REPLACE REPLACE", ":1\r\n"),
        ]
        .iter()
        .map(|(c, r)| (s(c), r.to_string()))
        .collect();
        let steps: Vec<(&str, &str)> = steps.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
        p.session(&steps);
    }
}

#[test]
fn move_and_swapdb() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        ("SET m v", "+OK\r\n"),
        ("PEXPIRE m 90000", ":1\r\n"),
        ("MOVE m 0", SAME),
        ("MOVE m 16", DB_RANGE),
        ("MOVE m x", NOT_INT),
        ("MOVE nokey 1", ":0\r\n"),
        ("MOVE m 1", ":1\r\n"),
        ("EXISTS m", ":0\r\n"),
        ("SELECT 1", "+OK\r\n"),
        ("GET m", "$1\r\nv\r\n"),
        ("TTL m", ":90\r\n"),
        ("SET m2 x", "+OK\r\n"),
        ("SELECT 0", "+OK\r\n"),
        ("SET m2 y", "+OK\r\n"),
        // The destination exists: nothing moves.
        ("MOVE m2 1", ":0\r\n"),
        ("GET m2", "$1\r\ny\r\n"),
        ("SWAPDB 0 1", "+OK\r\n"),
        ("GET m", "$1\r\nv\r\n"),
        ("GET m2", "$1\r\nx\r\n"),
        ("DBSIZE", ":2\r\n"),
        ("SWAPDB 0 0", "+OK\r\n"),
        ("SWAPDB 0 16", DB_RANGE),
        ("SWAPDB x 0", "-ERR invalid first DB index\r\n"),
        ("SWAPDB 0 y", "-ERR invalid second DB index\r\n"),
        ("SWAPDB 0 -1", DB_RANGE),
        ("SWAPDB 1 0", "+OK\r\n"),
        ("GET m2", "$1\r\ny\r\n"),
    ]);
}

/// Sends `cmd` and returns the reply frame.
fn call(s: &mut std::net::TcpStream, cmd: &[&str]) -> Vec<u8> {
    send_lenient(s, &encode(cmd));
    read_frames(s, 1).remove(0)
}

/// The bulk strings of a flat array reply, sorted.
fn sorted_bulks(frame: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(frame).to_string();
    let mut lines = text.split("\r\n").skip(1);
    let mut out = Vec::new();
    while let Some(l) = lines.next() {
        if l.starts_with('$') {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn keys_matches_redis_globs_on_every_shard() {
    let p = Pair::start(&[]);
    let names = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h\\llo", "h*llo", "a", "ab", "abc", "x[y", "X"];
    let patterns =
        ["*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h\\*llo", "a*", "?", "??", "x\\[y", "*[", "x"];
    for (_, port) in p.ports() {
        let mut s = connect(port);
        call(&mut s, &["FLUSHALL"]);
        for n in names {
            call(&mut s, &["SET", n, "v"]);
        }
        call(&mut s, &["SET", "gone", "v", "PX", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        for pat in patterns {
            let mut want: Vec<String> = names
                .iter()
                .filter(|n| shardis::glob::glob_match(pat.as_bytes(), n.as_bytes(), false))
                .map(|n| n.to_string())
                .collect();
            want.sort();
            assert_eq!(sorted_bulks(&call(&mut s, &["KEYS", pat])), want, "port {} KEYS {}", port, pat);
        }
    }
}

/// Runs a whole SCAN with `opts`, calling `between` after every step.
fn full_scan(
    s: &mut std::net::TcpStream,
    opts: &[&str],
    mut between: impl FnMut(&mut std::net::TcpStream),
) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    loop {
        let mut cmd = vec!["SCAN", cursor.as_str()];
        cmd.extend_from_slice(opts);
        let frame = call(s, &cmd);
        assert!(frame.starts_with(b"*2\r\n"), "{:?}", String::from_utf8_lossy(&frame));
        let cursor_len = frame_len(&frame[4..]).unwrap();
        let next = sorted_bulks(&[b"*1\r\n", &frame[4..4 + cursor_len]].concat()).remove(0);
        all.extend(sorted_bulks(&frame[4 + cursor_len..]));
        between(s);
        if next == "0" {
            return all;
        }
        cursor = next;
    }
}

#[test]
fn scan_walks_every_shard_with_match_count_and_type() {
    let p = Pair::start(&[]);
    let mut s = connect(p.shardis.port);
    call(&mut s, &["FLUSHALL"]);
    call(&mut s, &["DEBUG", "POPULATE", "1000", "key"]);
    call(&mut s, &["SET", "other", "v"]);
    let all: HashSet<String> = full_scan(&mut s, &["COUNT", "37"], |_| {}).into_iter().collect();
    assert_eq!(all.len(), 1001);
    let matched = full_scan(&mut s, &["MATCH", "key:1?"], |_| {});
    let mut matched: Vec<String> = matched.into_iter().collect();
    matched.sort();
    assert_eq!(matched, (10..20).map(|i| format!("key:{}", i)).collect::<Vec<_>>());
    assert_eq!(full_scan(&mut s, &["TYPE", "string", "COUNT", "1000"], |_| {}).len(), 1001);
    assert!(full_scan(&mut s, &["TYPE", "list"], |_| {}).is_empty());
    // Errors as Redis 7.2 words them.
    assert_eq!(call(&mut s, &["SCAN", "x"]), b"-ERR invalid cursor\r\n");
    assert_eq!(call(&mut s, &["SCAN", "0", "COUNT", "0"]), SYNTAX.as_bytes());
    assert_eq!(call(&mut s, &["SCAN", "0", "COUNT", "x"]), NOT_INT.as_bytes());
    assert_eq!(call(&mut s, &["SCAN", "0", "MATCH"]), SYNTAX.as_bytes());
    assert_eq!(call(&mut s, &["SCAN", "0", "FOO", "bar"]), SYNTAX.as_bytes());
    assert_eq!(call(&mut s, &["SCAN", "0", "TYPE", "foo"]), b"-ERR unknown type name 'foo'\r\n");
}

#[test]
fn scan_returns_every_key_present_throughout_while_the_table_grows_and_shrinks() {
    let p = Pair::start(&[]);
    let mut s = connect(p.shardis.port);
    call(&mut s, &["FLUSHALL"]);
    call(&mut s, &["DEBUG", "POPULATE", "2000", "stay"]);
    call(&mut s, &["DEBUG", "POPULATE", "2000", "churn"]);
    let mut round = 0;
    let seen = full_scan(&mut s, &["COUNT", "50"], |s| {
        // Grow (new keys) and delete others between steps.
        for j in 0..40 {
            call(s, &["SET", &format!("new:{}:{}", round, j), "v"]);
        }
        for j in 0..20 {
            call(s, &["DEL", &format!("churn:{}", round * 20 + j)]);
        }
        round += 1;
    });
    let seen: HashSet<String> = seen.into_iter().collect();
    for i in 0..2000 {
        assert!(seen.contains(&format!("stay:{}", i)), "stay:{} was never returned", i);
    }
}

#[test]
fn randomkey_covers_every_shard() {
    let p = Pair::start(&[]);
    let mut s = connect(p.shardis.port);
    call(&mut s, &["FLUSHALL"]);
    assert_eq!(call(&mut s, &["RANDOMKEY"]), b"$-1\r\n");
    let (a, _, b) = spread();
    call(&mut s, &["SET", &a, "1"]);
    call(&mut s, &["SET", &b, "1"]);
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(call(&mut s, &["RANDOMKEY"]));
    }
    let want: HashSet<Vec<u8>> = [&a, &b].iter().map(|k| format!("${}\r\n{}\r\n", k.len(), k).into_bytes()).collect();
    assert_eq!(seen, want);
    // Expired keys are never returned.
    call(&mut s, &["FLUSHALL"]);
    call(&mut s, &["SET", "old", "v", "PX", "1"]);
    call(&mut s, &["SET", "live", "v"]);
    std::thread::sleep(std::time::Duration::from_millis(10));
    for _ in 0..20 {
        assert_eq!(call(&mut s, &["RANDOMKEY"]), b"$4\r\nlive\r\n");
    }
}

#[test]
fn object_subcommands() {
    let p = Pair::start(&[]);
    let long = "x".repeat(45);
    let embstr = "y".repeat(44);
    p.session_raw(
        &[
            (vec!["FLUSHALL"], "+OK\r\n"),
            (vec!["SET", "i", "12345"], "+OK\r\n"),
            (vec!["SET", "small", "100"], "+OK\r\n"),
            (vec!["SET", "neg", "-1"], "+OK\r\n"),
            (vec!["SET", "e", embstr.as_str()], "+OK\r\n"),
            (vec!["SET", "r", long.as_str()], "+OK\r\n"),
            (vec!["SET", "z", "0123"], "+OK\r\n"),
            (vec!["OBJECT", "ENCODING", "i"], "$3\r\nint\r\n"),
            (vec!["OBJECT", "ENCODING", "e"], "$6\r\nembstr\r\n"),
            (vec!["OBJECT", "ENCODING", "r"], "$3\r\nraw\r\n"),
            (vec!["OBJECT", "ENCODING", "z"], "$6\r\nembstr\r\n"),
            (vec!["OBJECT", "ENCODING", "nokey"], "$-1\r\n"),
            (vec!["INCR", "i"], ":12346\r\n"),
            (vec!["OBJECT", "ENCODING", "i"], "$3\r\nint\r\n"),
            (vec!["OBJECT", "REFCOUNT", "small"], ":2147483647\r\n"),
            (vec!["OBJECT", "REFCOUNT", "i"], ":1\r\n"),
            (vec!["OBJECT", "REFCOUNT", "neg"], ":1\r\n"),
            (vec!["OBJECT", "REFCOUNT", "r"], ":1\r\n"),
            (vec!["OBJECT", "REFCOUNT", "nokey"], "$-1\r\n"),
            (vec!["OBJECT", "IDLETIME", "r"], ":0\r\n"),
            (vec!["OBJECT", "IDLETIME", "nokey"], "$-1\r\n"),
            (
                vec!["OBJECT", "FREQ", "r"],
                "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
                 switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n",
            ),
            (vec!["OBJECT", "FREQ", "nokey"], "$-1\r\n"),
            (vec!["OBJECT", "ENCODING"], "-ERR wrong number of arguments for 'object|encoding' command\r\n"),
            (vec!["OBJECT", "FOO", "k"], "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"),
            (vec!["OBJECT"], "-ERR wrong number of arguments for 'object' command\r\n"),
        ]
        .iter()
        .map(|(c, r)| (encode(c), r.as_bytes().to_vec()))
        .collect::<Vec<_>>(),
    );
    let mut s = connect(p.shardis.port);
    let help = call(&mut s, &["OBJECT", "HELP"]);
    assert!(
        help.starts_with(b"*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>")
    );
}

#[test]
fn idletime_counts_seconds_since_the_last_access() {
    let p = Pair::start(&[]);
    let mut s = connect(p.shardis.port);
    call(&mut s, &["SET", "idle", "v"]);
    call(&mut s, &["SET", "busy", "v"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    call(&mut s, &["GET", "busy"]);
    // OBJECT and TYPE do not count as an access.
    call(&mut s, &["TYPE", "idle"]);
    let idle = call(&mut s, &["OBJECT", "IDLETIME", "idle"]);
    assert!(idle == b":2\r\n" || idle == b":3\r\n", "{:?}", String::from_utf8_lossy(&idle));
    assert_eq!(call(&mut s, &["OBJECT", "IDLETIME", "busy"]), b":0\r\n");
}
