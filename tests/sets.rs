//! Set commands, black-box: every command with exact replies against
//! redis-server (when installed), WRONGTYPE and argument errors in Redis's
//! order, emptied keys deleted, RESP3 shapes, the algebra on one shard and
//! across both shards, SSCAN over a 1000-member set, SPOP/SRANDMEMBER by
//! their properties, and (shardis only, as the oracle is 7.0 and we follow
//! 7.2) OBJECT ENCODING and member order against literal 7.2 expectations.
//!
//! Redis leaves the order of set replies unspecified (7.0 keeps small
//! non-integer sets in hashtables, 7.2 in listpacks), so replies of the
//! commands in [`UNORDERED`] are compared with their elements sorted.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::net::TcpStream;

use common::oracle::{connect, encode, keys_on_shard, read_frames, send_lenient, Esc, Pair};

const UNORDERED: &[&str] = &["SMEMBERS", "SINTER", "SUNION", "SDIFF", "SPOP", "SRANDMEMBER"];

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";

/// A flat aggregate of bulks (`*n`, RESP3 `~n`) with the given header byte.
fn agg(head: char, items: &[&str]) -> String {
    let mut s = format!("{head}{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{i}\r\n", i.len()));
    }
    s
}

fn arr(items: &[&str]) -> String {
    agg('*', items)
}

/// The elements of a flat aggregate reply of bulks.
fn elements(frame: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(frame).into_owned();
    let mut lines = text.split("\r\n");
    let head = lines.next().unwrap_or_default();
    assert!(head.starts_with('*') || head.starts_with('~'), "not an aggregate: {text:?}");
    let n: usize = head[1..].parse().unwrap();
    (0..n)
        .map(|_| {
            let len = lines.next().unwrap();
            assert!(len.starts_with('$'), "not a bulk: {text:?}");
            lines.next().unwrap().to_string()
        })
        .collect()
}

/// The reply with its elements sorted, if it is a flat aggregate of bulks.
fn sorted(frame: &[u8]) -> Vec<u8> {
    if !(frame.starts_with(b"*") || frame.starts_with(b"~")) || frame.starts_with(b"*-") {
        return frame.to_vec();
    }
    let mut items = elements(frame);
    items.sort();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    agg(frame[0] as char, &refs).into_bytes()
}

fn call(s: &mut TcpStream, args: &[&str]) -> Vec<u8> {
    send_lenient(s, &encode(args));
    read_frames(s, 1).remove(0)
}

/// Runs `steps` (space-separated command, exact reply) in order on one
/// connection to each of `ports` (RESP3 after `HELLO 3` if asked); replies
/// of [`UNORDERED`] commands are compared sorted.
fn run_on(ports: &[(&str, u16)], resp3: bool, steps: &[(&str, &str)]) {
    for (name, port) in ports {
        let mut s = connect(*port);
        if resp3 {
            call(&mut s, &["HELLO", "3"]);
        }
        for (cmd, want) in steps {
            let args: Vec<&str> = cmd.split(' ').collect();
            let got = call(&mut s, &args);
            let (got, want) = if UNORDERED.iter().any(|u| args[0].eq_ignore_ascii_case(u)) {
                (sorted(&got), sorted(want.as_bytes()))
            } else {
                (got, want.as_bytes().to_vec())
            };
            assert_eq!(Esc(got), Esc(want), "{name} answered {cmd:?}");
        }
    }
}

fn run(p: &Pair, steps: &[(&str, &str)]) {
    run_on(&p.ports(), false, steps);
}

/// [`run`] with steps built at run time.
fn run_owned(p: &Pair, steps: &[(String, String)]) {
    let refs: Vec<(&str, &str)> = steps.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
    run(p, &refs);
}

/// Only on shardis: for Redis 7.2 behaviour the 7.0 oracle does not share.
fn ours(p: &Pair, steps: &[(&str, &str)]) {
    run_on(&[("shardis", p.shardis.port)], false, steps);
}

#[test]
fn single_key_commands() {
    let p = Pair::start(&[]);
    run(
        &p,
        &[
            ("FLUSHALL", "+OK\r\n"),
            ("SADD s 3 1 2 2", ":3\r\n"),
            ("SADD s 1 4", ":1\r\n"),
            ("SCARD s", ":4\r\n"),
            ("SMEMBERS s", &arr(&["1", "2", "3", "4"])),
            ("SISMEMBER s 2", ":1\r\n"),
            ("SISMEMBER s 9", ":0\r\n"),
            ("SISMEMBER s 02", ":0\r\n"),
            ("SISMEMBER nokey x", ":0\r\n"),
            ("SMISMEMBER s 1 9 4", "*3\r\n:1\r\n:0\r\n:1\r\n"),
            ("SMISMEMBER nokey a b", "*2\r\n:0\r\n:0\r\n"),
            ("SCARD nokey", ":0\r\n"),
            ("SMEMBERS nokey", "*0\r\n"),
            ("SREM s 9", ":0\r\n"),
            ("SREM s 1 2 9 1", ":2\r\n"),
            ("SREM nokey a", ":0\r\n"),
            ("SMEMBERS s", &arr(&["3", "4"])),
            ("SADD w a b c", ":3\r\n"),
            ("SADD w a", ":0\r\n"),
            ("SMEMBERS w", &arr(&["a", "b", "c"])),
            ("SISMEMBER w b", ":1\r\n"),
            // Emptied sets are deleted.
            ("SREM w a b c d", ":3\r\n"),
            ("EXISTS w", ":0\r\n"),
            ("SADD w -5 x 9223372036854775807 007", ":4\r\n"),
            ("SMEMBERS w", &arr(&["-5", "x", "9223372036854775807", "007"])),
            ("SISMEMBER w 7", ":0\r\n"),
            ("SISMEMBER w 007", ":1\r\n"),
            ("SPOP w 10", &arr(&["-5", "x", "9223372036854775807", "007"])),
            ("EXISTS w", ":0\r\n"),
            ("SADD one x", ":1\r\n"),
            ("SPOP one", "$1\r\nx\r\n"),
            ("EXISTS one", ":0\r\n"),
            ("SPOP one", "$-1\r\n"),
            ("SPOP one 3", "*0\r\n"),
            ("SRANDMEMBER one", "$-1\r\n"),
            ("SRANDMEMBER one 3", "*0\r\n"),
            ("SRANDMEMBER one -3", "*0\r\n"),
            ("SADD one x y", ":2\r\n"),
            ("SPOP one 0", "*0\r\n"),
            ("SRANDMEMBER one 0", "*0\r\n"),
            ("SRANDMEMBER one 2", &arr(&["x", "y"])),
            ("SRANDMEMBER one 5", &arr(&["x", "y"])),
            ("SCARD one", ":2\r\n"),
            // Arity and argument errors.
            ("SADD s", "-ERR wrong number of arguments for 'sadd' command\r\n"),
            ("SMEMBERS s t", "-ERR wrong number of arguments for 'smembers' command\r\n"),
            ("SPOP one 1 2", SYNTAX),
            ("SRANDMEMBER one 1 2", SYNTAX),
            ("SPOP one -1", "-ERR value is out of range, must be positive\r\n"),
            ("SPOP nokey -1", "-ERR value is out of range, must be positive\r\n"),
            ("SPOP one x", "-ERR value is out of range, must be positive\r\n"),
            ("SPOP one 1.5", "-ERR value is out of range, must be positive\r\n"),
            ("SRANDMEMBER one x", NOT_INT),
            ("SRANDMEMBER nokey 9223372036854775808", NOT_INT),
            (
                "SRANDMEMBER one -9223372036854775808",
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
            ),
            ("SCARD one", ":2\r\n"),
        ],
    );
}

#[test]
fn wrong_types_and_error_order() {
    let p = Pair::start(&[]);
    run(
        &p,
        &[
            ("FLUSHALL", "+OK\r\n"),
            ("SET {t}str x", "+OK\r\n"),
            ("SADD {t}s a", ":1\r\n"),
            ("SADD {t}str a", WRONGTYPE),
            ("SREM {t}str a", WRONGTYPE),
            ("SISMEMBER {t}str a", WRONGTYPE),
            ("SMISMEMBER {t}str a", WRONGTYPE),
            ("SCARD {t}str", WRONGTYPE),
            ("SMEMBERS {t}str", WRONGTYPE),
            ("SPOP {t}str", WRONGTYPE),
            ("SPOP {t}str 2", WRONGTYPE),
            ("SPOP {t}str 0", WRONGTYPE),
            // The count is checked before the key.
            ("SPOP {t}str -2", "-ERR value is out of range, must be positive\r\n"),
            ("SRANDMEMBER {t}str", WRONGTYPE),
            ("SRANDMEMBER {t}str -2", WRONGTYPE),
            ("SRANDMEMBER {t}str x", NOT_INT),
            ("SSCAN {t}str 0", WRONGTYPE),
            // SSCAN: the cursor, then a missing key, then the type, then options.
            ("SSCAN {t}str x", "-ERR invalid cursor\r\n"),
            ("SSCAN {t}nokey x", "-ERR invalid cursor\r\n"),
            // strtoul's reading: -1 is 2^64-1.
            ("SSCAN {t}nokey -1", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("SADD {t}i 1", ":1\r\n"),
            ("SSCAN {t}i -1", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\n1\r\n"),
            ("SSCAN {t}nokey 0 COUNT 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("SSCAN {t}str 0 COUNT 0", WRONGTYPE),
            ("SSCAN {t}s 0 COUNT 0", SYNTAX),
            ("SSCAN {t}s 0 COUNT x", NOT_INT),
            ("SSCAN {t}s 0 NOVALUES", SYNTAX),
            // SMOVE: a missing source answers 0 before any type check.
            ("SMOVE {t}nokey {t}str a", ":0\r\n"),
            ("SMOVE {t}str {t}s a", WRONGTYPE),
            ("SMOVE {t}s {t}str a", WRONGTYPE),
            ("SMOVE {t}s {t}str nomember", WRONGTYPE),
            ("SMOVE {t}str {t}str a", WRONGTYPE),
            ("SISMEMBER {t}s a", ":1\r\n"),
            // The algebra checks every key's type, even after a missing one.
            ("SINTER {t}s {t}str", WRONGTYPE),
            ("SINTER {t}nokey {t}str", WRONGTYPE),
            ("SUNION {t}s {t}str", WRONGTYPE),
            ("SDIFF {t}nokey {t}str", WRONGTYPE),
            ("SDIFF {t}s {t}s {t}str", WRONGTYPE),
            ("SINTERSTORE {t}d {t}s {t}str", WRONGTYPE),
            ("SUNIONSTORE {t}d {t}s {t}str", WRONGTYPE),
            ("SDIFFSTORE {t}d {t}nokey {t}str", WRONGTYPE),
            ("EXISTS {t}d", ":0\r\n"),
            ("SINTERCARD 2 {t}s {t}str", WRONGTYPE),
            ("SINTERCARD 2 {t}nokey {t}str LIMIT 1", WRONGTYPE),
            // SINTERCARD's arguments are all checked before the keys.
            ("SINTERCARD 2 {t}s {t}str LIMIT -1", "-ERR LIMIT can't be negative\r\n"),
            ("SINTERCARD 2 {t}s {t}str LIMIT x", "-ERR LIMIT can't be negative\r\n"),
            ("SINTERCARD 2 {t}s {t}str LIMIT", SYNTAX),
            ("SINTERCARD 2 {t}s {t}str FOO 1", SYNTAX),
            ("SINTERCARD 0 {t}s", "-ERR numkeys should be greater than 0\r\n"),
            ("SINTERCARD -1 {t}s", "-ERR numkeys should be greater than 0\r\n"),
            ("SINTERCARD x {t}s", "-ERR numkeys should be greater than 0\r\n"),
            ("SINTERCARD 3 {t}s {t}str", "-ERR Number of keys can't be greater than number of args\r\n"),
            ("SINTERCARD 1", "-ERR wrong number of arguments for 'sintercard' command\r\n"),
            ("SINTERSTORE {t}d", "-ERR wrong number of arguments for 'sinterstore' command\r\n"),
            ("SMOVE {t}s {t}d", "-ERR wrong number of arguments for 'smove' command\r\n"),
            // A STORE replaces a destination of any type.
            ("SINTERSTORE {t}str {t}s", ":1\r\n"),
            ("TYPE {t}str", "+set\r\n"),
            ("SET {t}str x", "+OK\r\n"),
            ("SUNIONSTORE {t}str {t}nokey", ":0\r\n"),
            ("EXISTS {t}str", ":0\r\n"),
        ],
    );
}

/// The algebra and SMOVE over keys named `k` (a, b, c: sources; d: a
/// destination; e: missing at first; w: a string), on one shard or spread
/// over both.
fn algebra_steps(k: &HashMap<&str, String>) -> Vec<(String, String)> {
    let steps: &[(&str, String)] = &[
        ("FLUSHALL", "+OK\r\n".into()),
        ("SADD a 1 2 3 4", ":4\r\n".into()),
        ("SADD b 3 4 5 x", ":4\r\n".into()),
        ("SADD c 4 x y", ":3\r\n".into()),
        ("SET w str", "+OK\r\n".into()),
        ("SINTER a b", arr(&["3", "4"])),
        ("SINTER a b c", arr(&["4"])),
        ("SINTER b c", arr(&["4", "x"])),
        ("SINTER a e", "*0\r\n".into()),
        ("SINTER e a", "*0\r\n".into()),
        ("SINTER a a", arr(&["1", "2", "3", "4"])),
        ("SUNION a b", arr(&["1", "2", "3", "4", "5", "x"])),
        ("SUNION a e", arr(&["1", "2", "3", "4"])),
        ("SUNION e e", "*0\r\n".into()),
        ("SDIFF a b", arr(&["1", "2"])),
        ("SDIFF b a c", arr(&["5"])),
        ("SDIFF e a", "*0\r\n".into()),
        ("SDIFF a a", "*0\r\n".into()),
        ("SDIFF a e b", arr(&["1", "2"])),
        ("SDIFF a e", arr(&["1", "2", "3", "4"])),
        ("SINTERCARD 2 a b", ":2\r\n".into()),
        ("SINTERCARD 3 a b c", ":1\r\n".into()),
        ("SINTERCARD 2 a b LIMIT 1", ":1\r\n".into()),
        ("SINTERCARD 2 a b LIMIT 0", ":2\r\n".into()),
        ("SINTERCARD 2 a b LIMIT 10", ":2\r\n".into()),
        ("SINTERCARD 2 a e", ":0\r\n".into()),
        ("SINTERCARD 2 a w", WRONGTYPE.into()),
        ("SINTERSTORE d a b", ":2\r\n".into()),
        ("SMEMBERS d", arr(&["3", "4"])),
        ("SUNIONSTORE d a c", ":6\r\n".into()),
        ("SMEMBERS d", arr(&["1", "2", "3", "4", "x", "y"])),
        ("SDIFFSTORE d b a", ":2\r\n".into()),
        ("SMEMBERS d", arr(&["5", "x"])),
        // An empty result deletes the destination.
        ("SINTERSTORE d a e", ":0\r\n".into()),
        ("EXISTS d", ":0\r\n".into()),
        ("SADD d z", ":1\r\n".into()),
        ("SDIFFSTORE d a a", ":0\r\n".into()),
        ("EXISTS d", ":0\r\n".into()),
        ("SADD d z", ":1\r\n".into()),
        ("SUNIONSTORE d e e", ":0\r\n".into()),
        ("EXISTS d", ":0\r\n".into()),
        // A stored result replaces the old value and its TTL.
        ("SADD d z", ":1\r\n".into()),
        ("EXPIRE d 100", ":1\r\n".into()),
        ("SUNIONSTORE d c", ":3\r\n".into()),
        ("TTL d", ":-1\r\n".into()),
        ("SET d str", "+OK\r\n".into()),
        ("SDIFFSTORE d a b", ":2\r\n".into()),
        ("TYPE d", "+set\r\n".into()),
        ("SINTERSTORE d a w", WRONGTYPE.into()),
        ("SUNIONSTORE d w a", WRONGTYPE.into()),
        ("SINTER e w", WRONGTYPE.into()),
        ("SMEMBERS d", arr(&["1", "2"])),
        // The destination may be a source.
        ("SINTERSTORE a a b", ":2\r\n".into()),
        ("SMEMBERS a", arr(&["3", "4"])),
        ("SUNIONSTORE a a c", ":4\r\n".into()),
        ("SMEMBERS a", arr(&["3", "4", "x", "y"])),
        // SMOVE.
        ("SMOVE b c 5", ":1\r\n".into()),
        ("SISMEMBER c 5", ":1\r\n".into()),
        ("SMOVE b c 5", ":0\r\n".into()),
        ("SMOVE b c x", ":1\r\n".into()),
        ("SMEMBERS c", arr(&["4", "5", "x", "y"])),
        ("SMEMBERS b", arr(&["3", "4"])),
        ("SMOVE e c 1", ":0\r\n".into()),
        ("SMOVE e w 1", ":0\r\n".into()),
        ("SMOVE b w 3", WRONGTYPE.into()),
        ("SMOVE w b 3", WRONGTYPE.into()),
        ("SMOVE b e 3", ":1\r\n".into()),
        ("SMOVE b e 4", ":1\r\n".into()),
        ("EXISTS b", ":0\r\n".into()),
        ("SMEMBERS e", arr(&["3", "4"])),
        ("SMOVE e e 3", ":1\r\n".into()),
        ("SMOVE e e 9", ":0\r\n".into()),
        ("SMOVE w w 3", WRONGTYPE.into()),
        ("SMOVE b b 3", ":0\r\n".into()),
        ("SCARD e", ":2\r\n".into()),
        ("SMOVE e d word", ":0\r\n".into()),
        ("SADD e word", ":1\r\n".into()),
        ("SMOVE e nd word", ":1\r\n".into()),
        ("SMEMBERS nd", arr(&["word"])),
    ];
    let name = |w: &str| k.get(w).cloned().unwrap_or_else(|| w.to_string());
    steps
        .iter()
        .map(|(cmd, reply)| {
            let cmd: Vec<String> = cmd.split(' ').map(name).collect();
            (cmd.join(" "), reply.clone())
        })
        .collect()
}

const ROLES: &[&str] = &["a", "b", "c", "d", "e", "w", "nd"];

#[test]
fn algebra_and_smove_on_one_shard() {
    let p = Pair::start(&[]);
    let k: HashMap<&str, String> = ROLES.iter().map(|r| (*r, format!("{{t}}{r}"))).collect();
    run_owned(&p, &algebra_steps(&k));
}

#[test]
fn algebra_and_smove_across_shards() {
    let p = Pair::start(&[]);
    // a, c, e, nd on shard 0; b, d, w on shard 1: every multi-key command
    // here names keys on both shards.
    let zero = keys_on_shard("x", 0, 2, 4);
    let one = keys_on_shard("y", 1, 2, 3);
    let k: HashMap<&str, String> = [
        ("a", &zero[0]),
        ("c", &zero[1]),
        ("e", &zero[2]),
        ("nd", &one[0]),
        ("b", &one[1]),
        ("d", &one[2]),
        ("w", &zero[3]),
    ]
    .into_iter()
    .map(|(r, name)| (r, name.clone()))
    .collect();
    run_owned(&p, &algebra_steps(&k));
}

#[test]
fn resp3_shapes() {
    let p = Pair::start(&[]);
    run_on(
        &p.ports(),
        true,
        &[
            ("FLUSHALL", "+OK\r\n"),
            ("SADD {r}s 1 2", ":2\r\n"),
            ("SMEMBERS {r}s", &agg('~', &["1", "2"])),
            ("SMEMBERS {r}nokey", "~0\r\n"),
            ("SINTER {r}s {r}nokey", "~0\r\n"),
            ("SINTER {r}s {r}s", &agg('~', &["1", "2"])),
            ("SUNION {r}s {r}nokey", &agg('~', &["1", "2"])),
            ("SDIFF {r}s {r}nokey", &agg('~', &["1", "2"])),
            ("SDIFF {r}nokey {r}s", "~0\r\n"),
            ("SPOP {r}nokey", "_\r\n"),
            ("SPOP {r}nokey 2", "~0\r\n"),
            ("SPOP {r}s 0", "~0\r\n"),
            ("SRANDMEMBER {r}nokey", "_\r\n"),
            ("SRANDMEMBER {r}nokey 2", "*0\r\n"),
            ("SRANDMEMBER {r}s 0", "*0\r\n"),
            ("SRANDMEMBER {r}s 5", &agg('*', &["1", "2"])),
            ("SMISMEMBER {r}s 1 5", "*2\r\n:1\r\n:0\r\n"),
            ("SSCAN {r}s 0", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
            ("SINTERCARD 1 {r}s", ":2\r\n"),
            ("SISMEMBER {r}s 1", ":1\r\n"),
            ("SPOP {r}s 5", &agg('~', &["1", "2"])),
            ("EXISTS {r}s", ":0\r\n"),
        ],
    );
}

/// Sends every member in one SADD.
fn sadd_all(s: &mut TcpStream, key: &str, members: &[String]) -> Vec<u8> {
    let mut args = vec!["SADD", key];
    args.extend(members.iter().map(String::as_str));
    call(s, &args)
}

/// SSCAN with COUNT until the cursor returns to 0: (calls, members seen).
fn full_scan(s: &mut TcpStream, key: &str, extra: &[&str]) -> (usize, Vec<String>) {
    let (mut cursor, mut calls, mut seen) = ("0".to_string(), 0, Vec::new());
    loop {
        let mut args = vec!["SSCAN", key, cursor.as_str()];
        args.extend_from_slice(extra);
        let reply = call(s, &args);
        calls += 1;
        let text = String::from_utf8_lossy(&reply).into_owned();
        // *2 $n cursor *m ...
        let mut parts = text.splitn(5, "\r\n");
        assert_eq!(parts.next(), Some("*2"), "{text:?}");
        parts.next();
        let next = parts.next().unwrap().to_string();
        let rest = format!("{}\r\n{}", parts.next().unwrap(), parts.next().unwrap_or_default());
        seen.extend(elements(rest.as_bytes()));
        cursor = next;
        if cursor == "0" {
            return (calls, seen);
        }
        assert!(calls < 10_000, "SSCAN does not terminate");
    }
}

#[test]
fn a_thousand_members() {
    let p = Pair::start(&[]);
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let all: BTreeSet<String> = members.iter().cloned().collect();
    for (name, port) in p.ports() {
        let mut s = connect(port);
        call(&mut s, &["FLUSHALL"]);
        assert_eq!(sadd_all(&mut s, "big", &members), b":1000\r\n", "{name}");
        assert_eq!(call(&mut s, &["SCARD", "big"]), b":1000\r\n", "{name}");
        let got: BTreeSet<String> = elements(&call(&mut s, &["SMEMBERS", "big"])).into_iter().collect();
        assert_eq!(got, all, "{name}");
        let (calls, seen) = full_scan(&mut s, "big", &["COUNT", "50"]);
        assert!(calls > 1, "{name}: one SSCAN call returned everything");
        let distinct: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(distinct, all, "{name}: SSCAN missed members");
        if name == "shardis" {
            assert_eq!(seen.len(), 1000, "SSCAN returned a member twice");
        }
        let (_, matched) = full_scan(&mut s, "big", &["MATCH", "m1*", "COUNT", "100"]);
        let matched: BTreeSet<String> = matched.into_iter().collect();
        assert_eq!(matched, all.iter().filter(|m| m.starts_with("m1")).cloned().collect(), "{name}");
        // The algebra over big sets.
        let evens: Vec<String> = (0..1000).step_by(2).map(|i| format!("m{i}")).collect();
        sadd_all(&mut s, "{big}evens", &evens);
        call(&mut s, &["RENAME", "big", "{big}all"]);
        assert_eq!(call(&mut s, &["SINTERCARD", "2", "{big}all", "{big}evens"]), b":500\r\n", "{name}");
        assert_eq!(call(&mut s, &["SINTERCARD", "2", "{big}all", "{big}evens", "LIMIT", "7"]), b":7\r\n");
        assert_eq!(call(&mut s, &["SDIFFSTORE", "{big}odds", "{big}all", "{big}evens"]), b":500\r\n", "{name}");
        assert_eq!(call(&mut s, &["SUNIONSTORE", "{big}u", "{big}odds", "{big}evens"]), b":1000\r\n", "{name}");
        assert_eq!(call(&mut s, &["SINTERSTORE", "{big}i", "{big}odds", "{big}evens"]), b":0\r\n", "{name}");
        assert_eq!(call(&mut s, &["SMISMEMBER", "{big}odds", "m1", "m2"]), b"*2\r\n:1\r\n:0\r\n", "{name}");
    }
}

/// The members of `key`.
fn members_of(s: &mut TcpStream, key: &str) -> BTreeSet<String> {
    elements(&call(s, &["SMEMBERS", key])).into_iter().collect()
}

fn bulk(frame: &[u8]) -> String {
    let text = String::from_utf8_lossy(frame).into_owned();
    let mut lines = text.split("\r\n");
    assert!(lines.next().unwrap().starts_with('$'), "not a bulk: {text:?}");
    lines.next().unwrap().to_string()
}

/// SPOP and SRANDMEMBER on a set of each encoding, by their properties.
#[test]
fn random_members_by_property() {
    let p = Pair::start(&[]);
    let kinds: [Vec<String>; 3] = [
        (1..=20).map(|i| i.to_string()).collect(),
        (0..20).map(|i| format!("w{i}")).collect(),
        (0..300).map(|i| format!("h{i}")).collect(),
    ];
    for (name, port) in p.ports() {
        let mut s = connect(port);
        for members in &kinds {
            call(&mut s, &["DEL", "r"]);
            sadd_all(&mut s, "r", members);
            let all: BTreeSet<String> = members.iter().cloned().collect();
            let n = all.len();
            for _ in 0..20 {
                assert!(all.contains(&bulk(&call(&mut s, &["SRANDMEMBER", "r"]))), "{name}");
            }
            let five = elements(&call(&mut s, &["SRANDMEMBER", "r", "5"]));
            let distinct: BTreeSet<String> = five.iter().cloned().collect();
            assert_eq!((five.len(), distinct.len()), (5, 5), "{name}: {five:?}");
            assert!(distinct.is_subset(&all), "{name}");
            let most = elements(&call(&mut s, &["SRANDMEMBER", "r", &(n - 1).to_string()]));
            assert_eq!(most.iter().collect::<BTreeSet<_>>().len(), n - 1, "{name}");
            let repeats = elements(&call(&mut s, &["SRANDMEMBER", "r", "-1000"]));
            assert_eq!(repeats.len(), 1000, "{name}");
            assert!(repeats.iter().all(|m| all.contains(m)), "{name}");
            // 1000 picks from at most 300: some member repeats.
            assert!(repeats.iter().collect::<BTreeSet<_>>().len() < 1000, "{name}");
            assert_eq!(elements(&call(&mut s, &["SRANDMEMBER", "r", "100000"])).len(), n, "{name}");

            // SPOP: one, a few (Redis's case 2), most (case 3), the rest.
            let mut left = all.clone();
            let one = bulk(&call(&mut s, &["SPOP", "r"]));
            assert!(left.remove(&one), "{name}: popped {one} twice");
            let few = elements(&call(&mut s, &["SPOP", "r", "3"]));
            assert_eq!(few.len(), 3);
            for m in &few {
                assert!(left.remove(m), "{name}: popped {m} twice");
            }
            assert_eq!(members_of(&mut s, "r"), left, "{name}");
            let most = left.len() - 2;
            let popped = elements(&call(&mut s, &["SPOP", "r", &most.to_string()]));
            assert_eq!(popped.len(), most);
            for m in &popped {
                assert!(left.remove(m), "{name}: popped {m} twice");
            }
            assert_eq!(members_of(&mut s, "r"), left, "{name}");
            assert_eq!(call(&mut s, &["SCARD", "r"]), b":2\r\n");
            let rest: BTreeSet<String> = elements(&call(&mut s, &["SPOP", "r", "5"])).into_iter().collect();
            assert_eq!(rest, left, "{name}");
            assert_eq!(call(&mut s, &["EXISTS", "r"]), b":0\r\n", "{name}");
        }
    }
}

/// Redis 7.2's encodings (intset → listpack → hashtable) and the orders
/// they give, with the configured thresholds; shardis only.
#[test]
fn encodings_follow_redis_7_2() {
    let p = Pair::start(&[]);
    let enc = |e: &str| format!("${}\r\n{e}\r\n", e.len());
    let (intset, listpack, hashtable) = (enc("intset"), enc("listpack"), enc("hashtable"));
    let ints = |r: std::ops::Range<i32>| r.map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
    let words = |n: usize| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    let long = "x".repeat(65);
    let steps: Vec<(String, String)> = vec![
        ("FLUSHALL".into(), "+OK\r\n".into()),
        ("SADD e 3 1 2".into(), ":3\r\n".into()),
        ("OBJECT ENCODING e".into(), intset.clone()),
        ("SADD e a".into(), ":1\r\n".into()),
        ("OBJECT ENCODING e".into(), listpack.clone()),
        // A listpack keeps insertion order (after the intset's sorted members).
        ("SMEMBERS e".into(), arr(&["1", "2", "3", "a"])),
        ("SADD o c a b".into(), ":3\r\n".into()),
        ("SMEMBERS o".into(), arr(&["c", "a", "b"])),
        ("SADD e2 w".into(), ":1\r\n".into()),
        ("OBJECT ENCODING e2".into(), listpack.clone()),
        (format!("SADD i {}", ints(0..512)), ":512\r\n".into()),
        ("OBJECT ENCODING i".into(), intset.clone()),
        ("SADD i 512".into(), ":1\r\n".into()),
        ("OBJECT ENCODING i".into(), hashtable.clone()),
        // SADD sizes a new set for all its arguments.
        (format!("SADD i2 {}", ints(0..513)), ":513\r\n".into()),
        ("OBJECT ENCODING i2".into(), hashtable.clone()),
        (format!("SADD l {}", words(128)), ":128\r\n".into()),
        ("OBJECT ENCODING l".into(), listpack.clone()),
        ("SADD l one-more".into(), ":1\r\n".into()),
        ("OBJECT ENCODING l".into(), hashtable.clone()),
        (format!("SADD v {long}"), ":1\r\n".into()),
        ("OBJECT ENCODING v".into(), hashtable.clone()),
        // An intset of 200 that gets a string is too long for a listpack.
        (format!("SADD i3 {}", ints(0..200)), ":200\r\n".into()),
        ("SADD i3 s".into(), ":1\r\n".into()),
        ("OBJECT ENCODING i3".into(), hashtable.clone()),
        // STORE results: SINTERSTORE becomes an intset when all integers.
        ("SADD {s}x 1 2 3 a".into(), ":4\r\n".into()),
        ("SADD {s}y 1 2 3 b c d".into(), ":6\r\n".into()),
        ("SINTERSTORE {s}z {s}x {s}y".into(), ":3\r\n".into()),
        ("OBJECT ENCODING {s}z".into(), intset.clone()),
        ("SINTERSTORE {s}z {s}x {s}x".into(), ":4\r\n".into()),
        ("OBJECT ENCODING {s}z".into(), listpack.clone()),
        // SUNION adds into an intset: integers ascending, then strings in order.
        ("SADD {s}p 3 1".into(), ":2\r\n".into()),
        ("SADD {s}q z 2".into(), ":2\r\n".into()),
        ("SUNION {s}p {s}q".into(), arr(&["1", "3", "z", "2"])),
        ("SUNIONSTORE {s}u {s}p {s}p".into(), ":2\r\n".into()),
        ("OBJECT ENCODING {s}u".into(), intset.clone()),
        ("SDIFFSTORE {s}u {s}x {s}y".into(), ":1\r\n".into()),
        ("OBJECT ENCODING {s}u".into(), listpack.clone()),
        ("SDIFFSTORE {s}u {s}q {s}p {s}x".into(), ":1\r\n".into()),
        ("OBJECT ENCODING {s}u".into(), listpack.clone()),
        ("SREM {s}x a".into(), ":1\r\n".into()),
        ("SDIFFSTORE {s}u {s}x {s}p".into(), ":1\r\n".into()),
        ("OBJECT ENCODING {s}u".into(), intset.clone()),
        // Hashtable inputs, small result: a listpack.
        (format!("SADD {{s}}h1 {}", words(200)), ":200\r\n".into()),
        ("SADD {s}h2 w1 w2 w3 zz".into(), ":4\r\n".into()),
        ("SINTERSTORE {s}hi {s}h1 {s}h2".into(), ":3\r\n".into()),
        ("OBJECT ENCODING {s}hi".into(), listpack.clone()),
        ("SINTERSTORE {s}hi {s}h1 {s}h1".into(), ":200\r\n".into()),
        ("OBJECT ENCODING {s}hi".into(), hashtable.clone()),
        // SPOP of most of a hashtable rebuilds it as a listpack.
        ("SPOP {s}h1 190".into(), "".into()),
        ("OBJECT ENCODING {s}h1".into(), listpack.clone()),
        // SMOVE creates the destination as SADD of one member would.
        ("SMOVE {s}q {s}m1 2".into(), ":1\r\n".into()),
        ("OBJECT ENCODING {s}m1".into(), intset.clone()),
        ("SMOVE {s}q {s}m2 z".into(), ":1\r\n".into()),
        ("OBJECT ENCODING {s}m2".into(), listpack.clone()),
        // The thresholds are live settings.
        ("CONFIG SET set-max-intset-entries 4".into(), "+OK\r\n".into()),
        ("SADD ci 1 2 3 4".into(), ":4\r\n".into()),
        ("OBJECT ENCODING ci".into(), intset.clone()),
        ("SADD ci 5".into(), ":1\r\n".into()),
        ("OBJECT ENCODING ci".into(), hashtable.clone()),
        ("CONFIG SET set-max-listpack-entries 2".into(), "+OK\r\n".into()),
        ("SADD cl a b".into(), ":2\r\n".into()),
        ("OBJECT ENCODING cl".into(), listpack.clone()),
        ("SADD cl c".into(), ":1\r\n".into()),
        ("OBJECT ENCODING cl".into(), hashtable.clone()),
        ("CONFIG SET set-max-listpack-entries 128".into(), "+OK\r\n".into()),
        ("CONFIG SET set-max-listpack-value 3".into(), "+OK\r\n".into()),
        ("SADD cv abc".into(), ":1\r\n".into()),
        ("OBJECT ENCODING cv".into(), listpack.clone()),
        ("SADD cv abcd".into(), ":1\r\n".into()),
        ("OBJECT ENCODING cv".into(), hashtable.clone()),
        ("CONFIG SET set-max-listpack-value 64".into(), "+OK\r\n".into()),
        ("CONFIG SET set-max-intset-entries 512".into(), "+OK\r\n".into()),
    ];
    // SPOP's reply is random: checked by its length only.
    let mut s = connect(p.shardis.port);
    for (cmd, want) in &steps {
        let args: Vec<&str> = cmd.split(' ').collect();
        let got = call(&mut s, &args);
        if want.is_empty() {
            assert_eq!(elements(&got).len(), 190, "{cmd}");
        } else {
            assert_eq!(Esc(got), Esc(want.clone().into_bytes()), "{cmd}");
        }
    }
    ours(&p, &[("SCARD {s}h1", ":10\r\n")]);
}

/// COMMAND INFO agrees with redis-server on name, arity, flags, key
/// positions and ACL categories for every set command. (Tips and the second
/// key spec of the STORE commands and SMOVE are not published by shardis.)
#[test]
fn command_info_matches_redis() {
    let p = Pair::start(&[]);
    let ports = p.ports();
    if ports.len() < 2 {
        return;
    }
    let names = [
        "sadd",
        "scard",
        "sdiff",
        "sdiffstore",
        "sinter",
        "sintercard",
        "sinterstore",
        "sismember",
        "smembers",
        "smismember",
        "smove",
        "spop",
        "srandmember",
        "srem",
        "sscan",
        "sunion",
        "sunionstore",
    ];
    let fields = |port: u16, name: &str| {
        let frame = call(&mut connect(port), &["COMMAND", "INFO", name]);
        // *1, *10, then name, arity, flags, first, last, step, acl.
        let mut at = "*1\r\n*10\r\n".len();
        (0..7)
            .map(|_| {
                let n = common::oracle::frame_len(&frame[at..]).unwrap();
                at += n;
                Esc(frame[at - n..at].to_vec())
            })
            .collect::<Vec<_>>()
    };
    for name in names {
        assert_eq!(fields(ports[0].1, name), fields(ports[1].1, name), "COMMAND INFO {name}");
    }
    run(&p, &[("COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1", &arr(&["a", "b"]))]);
}
