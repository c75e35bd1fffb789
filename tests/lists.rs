//! List commands, black-box: every command's replies and errors in Redis's
//! argument-checking order, WRONGTYPE for each, emptied keys deleted,
//! negative indexes, RESP3 nulls, LMOVE/RPOPLPUSH/LMPOP with keys on one
//! shard and on two, lists of a thousand elements (many quicklist nodes)
//! checked against a model, and OBJECT ENCODING against Redis 7.2's
//! conversions (shardis only: the 7.0 oracle reports quicklist for all).
//!
//! Expectations are literal and, when redis-server is installed, checked
//! against it byte for byte.

mod common;

use common::oracle::{connect, encode, keys_on_shard, read_n, send_lenient, Esc, Pair};

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_POSITIVE: &str = "-ERR value is out of range, must be positive\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NIL: &str = "$-1\r\n";
const NIL_ARRAY: &str = "*-1\r\n";
const EMPTY: &str = "*0\r\n";
const OK: &str = "+OK\r\n";

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// An array of bulks.
fn arr<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for s in items {
        out.push_str(&bulk(s.as_ref()));
    }
    out
}

/// An array of integers.
fn ints(items: &[i64]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for n in items {
        out.push_str(&format!(":{}\r\n", n));
    }
    out
}

/// LMPOP's `[key, [elements]]`.
fn keyed(key: &str, items: &[&str]) -> String {
    format!("*2\r\n{}{}", bulk(key), arr(items))
}

fn int(n: i64) -> String {
    format!(":{}\r\n", n)
}

/// Steps built at run time: (command as space-separated words, reply).
fn session(p: &Pair, steps: &[(String, String)]) {
    let steps: Vec<(&str, &str)> = steps.iter().map(|(c, r)| (c.as_str(), r.as_str())).collect();
    p.session(&steps);
}

/// `steps` on shardis alone (behaviour the 7.0 oracle does not share).
fn shardis_session(p: &Pair, steps: &[(&str, &str)]) {
    let mut s = connect(p.shardis.port);
    for (cmd, want) in steps {
        let req = encode(&cmd.split(' ').collect::<Vec<_>>());
        send_lenient(&mut s, &req);
        assert_eq!(Esc(read_n(&mut s, want.len())), Esc(want.as_bytes().to_vec()), "shardis answered {:?}", cmd);
    }
}

#[test]
fn push_and_length() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", OK),
        ("LPUSH l a b c", ":3\r\n"),
        ("RPUSH l x y", ":5\r\n"),
        ("LRANGE l 0 -1", &arr(&["c", "b", "a", "x", "y"])),
        ("LLEN l", ":5\r\n"),
        ("LLEN nokey", ":0\r\n"),
        ("LPUSHX l h", ":6\r\n"),
        ("RPUSHX l t1 t2", ":8\r\n"),
        ("LRANGE l 0 -1", &arr(&["h", "c", "b", "a", "x", "y", "t1", "t2"])),
        // The X forms never create the key.
        ("LPUSHX nokey a", ":0\r\n"),
        ("RPUSHX nokey a b", ":0\r\n"),
        ("EXISTS nokey", ":0\r\n"),
        ("TYPE l", "+list\r\n"),
        ("LPUSH l", "-ERR wrong number of arguments for 'lpush' command\r\n"),
        ("RPUSHX l", "-ERR wrong number of arguments for 'rpushx' command\r\n"),
        // Integers and empty strings are elements like any other.
        ("RPUSH n 1 -2 9223372036854775807 007", ":4\r\n"),
        ("LRANGE n 0 -1", &arr(&["1", "-2", "9223372036854775807", "007"])),
    ]);
    p.session_raw(&[
        (encode(&["RPUSH", "e", "", "a b"]), b":2\r\n".to_vec()),
        (encode(&["LRANGE", "e", "0", "-1"]), b"*2\r\n$0\r\n\r\n$3\r\na b\r\n".to_vec()),
    ]);
}

#[test]
fn pop_replies_and_count() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", OK),
        ("RPUSH l 1 2 3 4 5 6", ":6\r\n"),
        ("LPOP l", &bulk("1")),
        ("RPOP l", &bulk("6")),
        ("LPOP l 2", &arr(&["2", "3"])),
        // RPOP with a count replies in pop order, the last element first.
        ("RPOP l 1", &arr(&["5"])),
        ("LPOP l 0", EMPTY),
        ("RPOP l 0", EMPTY),
        ("LLEN l", ":1\r\n"),
        // More than there are: all of them, and the key is gone.
        ("RPOP l 10", &arr(&["4"])),
        ("EXISTS l", ":0\r\n"),
        // A missing key: nil, or a nil array with a count (even 0).
        ("LPOP l", NIL),
        ("RPOP l", NIL),
        ("LPOP l 1", NIL_ARRAY),
        ("RPOP l 0", NIL_ARRAY),
        // The count is checked before the key.
        ("LPOP l -1", NOT_POSITIVE),
        ("RPOP l x", NOT_POSITIVE),
        ("LPOP l 9223372036854775808", NOT_POSITIVE),
        ("LPOP l 1 2", "-ERR wrong number of arguments for 'lpop' command\r\n"),
        ("RPOP l 1 2", "-ERR wrong number of arguments for 'rpop' command\r\n"),
        ("RPUSH one x", ":1\r\n"),
        ("LPOP one", &bulk("x")),
        ("EXISTS one", ":0\r\n"),
        ("RPUSH one x y", ":2\r\n"),
        ("LPOP one 9223372036854775807", &arr(&["x", "y"])),
        ("EXISTS one", ":0\r\n"),
    ]);
}

#[test]
fn resp3_nulls() {
    let p = Pair::start(&[]);
    p.session_resp3(&[
        ("DEL l", ":0\r\n"),
        ("LPOP l", "_\r\n"),
        ("RPOP l 2", "_\r\n"),
        ("LPOP l 0", "_\r\n"),
        ("LINDEX l 0", "_\r\n"),
        ("LPOS l a", "_\r\n"),
        ("LPOS l a COUNT 0", EMPTY),
        ("LMOVE l d LEFT RIGHT", "_\r\n"),
        ("RPOPLPUSH l d", "_\r\n"),
        ("LMPOP 1 l LEFT", "_\r\n"),
        ("RPUSH l a", ":1\r\n"),
        ("LINDEX l 3", "_\r\n"),
        ("LPOS l b", "_\r\n"),
        ("LMPOP 1 l RIGHT COUNT 3", "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n"),
    ]);
}

#[test]
fn range_and_index() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", OK),
        ("RPUSH l a b c d e", ":5\r\n"),
        ("LRANGE l 0 -1", &arr(&["a", "b", "c", "d", "e"])),
        ("LRANGE l 1 2", &arr(&["b", "c"])),
        ("LRANGE l -2 -1", &arr(&["d", "e"])),
        ("LRANGE l -100 1", &arr(&["a", "b"])),
        ("LRANGE l 3 100", &arr(&["d", "e"])),
        ("LRANGE l 3 1", EMPTY),
        ("LRANGE l 5 10", EMPTY),
        ("LRANGE l -1 -2", EMPTY),
        ("LRANGE l -9223372036854775808 9223372036854775807", &arr(&["a", "b", "c", "d", "e"])),
        ("LRANGE l 9223372036854775807 -9223372036854775808", EMPTY),
        ("LRANGE nokey 0 -1", EMPTY),
        // The indexes are checked before the key.
        ("LRANGE nokey x 1", NOT_INT),
        ("LRANGE l 0 1.5", NOT_INT),
        ("LINDEX l 0", &bulk("a")),
        ("LINDEX l 4", &bulk("e")),
        ("LINDEX l -1", &bulk("e")),
        ("LINDEX l -5", &bulk("a")),
        ("LINDEX l 5", NIL),
        ("LINDEX l -6", NIL),
        ("LINDEX l -9223372036854775808", NIL),
        ("LINDEX l x", NOT_INT),
        // LINDEX looks at the key first.
        ("LINDEX nokey x", NIL),
        ("LINDEX nokey 0", NIL),
    ]);
}

#[test]
fn lset_and_linsert() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", OK),
        ("RPUSH l a b c", ":3\r\n"),
        ("LSET l 0 A", OK),
        ("LSET l -1 C", OK),
        ("LSET l 1 12345", OK),
        ("LRANGE l 0 -1", &arr(&["A", "12345", "C"])),
        ("LSET l 3 x", "-ERR index out of range\r\n"),
        ("LSET l -4 x", "-ERR index out of range\r\n"),
        ("LSET l x y", NOT_INT),
        // LSET looks at the key first.
        ("LSET nokey x y", "-ERR no such key\r\n"),
        ("LSET nokey 0 y", "-ERR no such key\r\n"),
        ("EXISTS nokey", ":0\r\n"),
        ("LINSERT l BEFORE A first", ":4\r\n"),
        ("LINSERT l after C last", ":5\r\n"),
        ("LINSERT l AFTER 12345 mid", ":6\r\n"),
        ("LRANGE l 0 -1", &arr(&["first", "A", "12345", "mid", "C", "last"])),
        // Only the first pivot from the head.
        ("RPUSH d p p", ":2\r\n"),
        ("LINSERT d AFTER p x", ":3\r\n"),
        ("LRANGE d 0 -1", &arr(&["p", "x", "p"])),
        ("LINSERT l BEFORE nothere x", ":-1\r\n"),
        ("LINSERT nokey BEFORE a x", ":0\r\n"),
        ("EXISTS nokey", ":0\r\n"),
        // BEFORE/AFTER is checked before the key.
        ("LINSERT nokey MIDDLE a x", SYNTAX),
        ("LINSERT l MIDDLE a x", SYNTAX),
    ]);
}

#[test]
fn lrem_and_ltrim() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", OK),
        ("RPUSH l a b a c a d a", ":7\r\n"),
        ("LREM l 1 a", ":1\r\n"),
        ("LRANGE l 0 -1", &arr(&["b", "a", "c", "a", "d", "a"])),
        ("LREM l -2 a", ":2\r\n"),
        ("LRANGE l 0 -1", &arr(&["b", "a", "c", "d"])),
        ("LREM l 0 a", ":1\r\n"),
        ("LREM l 0 zz", ":0\r\n"),
        ("LRANGE l 0 -1", &arr(&["b", "c", "d"])),
        ("LREM l x a", NOT_INT),
        ("LREM nokey x a", NOT_INT),
        ("LREM nokey 1 a", ":0\r\n"),
        ("RPUSH m x x x", ":3\r\n"),
        ("LREM m -9223372036854775808 x", ":3\r\n"),
        ("EXISTS m", ":0\r\n"),
        ("RPUSH m x y x", ":3\r\n"),
        ("LREM m 0 x", ":2\r\n"),
        ("LREM m 5 y", ":1\r\n"),
        ("EXISTS m", ":0\r\n"),
        ("RPUSH t 0 1 2 3 4 5 6 7 8 9", ":10\r\n"),
        ("LTRIM t 1 -2", OK),
        ("LRANGE t 0 -1", &arr(&["1", "2", "3", "4", "5", "6", "7", "8"])),
        ("LTRIM t -3 100", OK),
        ("LRANGE t 0 -1", &arr(&["6", "7", "8"])),
        ("LTRIM t -100 1", OK),
        ("LRANGE t 0 -1", &arr(&["6", "7"])),
        ("LTRIM t x 1", NOT_INT),
        ("LTRIM t 0 x", NOT_INT),
        ("LTRIM nokey x 1", NOT_INT),
        ("LTRIM nokey 0 1", OK),
        ("EXISTS nokey", ":0\r\n"),
        // An empty range deletes the key.
        ("LTRIM t 1 0", OK),
        ("EXISTS t", ":0\r\n"),
        ("RPUSH t a b", ":2\r\n"),
        ("LTRIM t 5 10", OK),
        ("EXISTS t", ":0\r\n"),
        ("RPUSH t a b", ":2\r\n"),
        ("LTRIM t -9223372036854775808 9223372036854775807", OK),
        ("LLEN t", ":2\r\n"),
    ]);
}

#[test]
fn lpos_options_and_errors() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", OK),
        ("RPUSH l a b c a b c a", ":7\r\n"),
        ("LPOS l a", ":0\r\n"),
        ("LPOS l c", ":2\r\n"),
        ("LPOS l zz", NIL),
        ("LPOS l a RANK 2", ":3\r\n"),
        ("LPOS l a RANK 4", NIL),
        ("LPOS l a RANK -1", ":6\r\n"),
        ("LPOS l a RANK -3", ":0\r\n"),
        ("LPOS l a RANK 9223372036854775807", NIL),
        ("LPOS l a RANK -9223372036854775807", NIL),
        ("LPOS l a COUNT 0", &ints(&[0, 3, 6])),
        ("LPOS l a COUNT 2", &ints(&[0, 3])),
        ("LPOS l a COUNT 1", &ints(&[0])),
        ("LPOS l zz COUNT 1", EMPTY),
        ("LPOS l a RANK -1 COUNT 0", &ints(&[6, 3, 0])),
        ("LPOS l a RANK 2 COUNT 0", &ints(&[3, 6])),
        ("LPOS l a RANK -2 COUNT 1", &ints(&[3])),
        ("LPOS l a COUNT 0 MAXLEN 4", &ints(&[0, 3])),
        ("LPOS l a COUNT 0 MAXLEN 3", &ints(&[0])),
        ("LPOS l a RANK -1 COUNT 0 MAXLEN 2", &ints(&[6])),
        ("LPOS l b MAXLEN 1", NIL),
        ("LPOS l b MAXLEN 0", ":1\r\n"),
        ("LPOS l a rank 2 count 5 maxlen 100", &ints(&[3, 6])),
        // Options may repeat; the last one counts.
        ("LPOS l a RANK 5 RANK 1", ":0\r\n"),
        // Missing key: nil, or an empty array with COUNT.
        ("LPOS nokey a", NIL),
        ("LPOS nokey a COUNT 3", EMPTY),
        // The options are checked before the key.
        (
            "LPOS nokey a RANK 0",
            "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
           or use negative to start from the end of the list\r\n",
        ),
        ("LPOS l a RANK x", NOT_INT),
        ("LPOS l a RANK 9223372036854775808", NOT_INT),
        ("LPOS l a COUNT -1", "-ERR COUNT can't be negative\r\n"),
        ("LPOS l a COUNT x", "-ERR COUNT can't be negative\r\n"),
        ("LPOS l a MAXLEN -1", "-ERR MAXLEN can't be negative\r\n"),
        ("LPOS l a MAXLEN x", "-ERR MAXLEN can't be negative\r\n"),
        ("LPOS l a RANK", SYNTAX),
        ("LPOS nokey a FOO 1", SYNTAX),
        ("LPOS l a COUNT 1 MAXLEN", SYNTAX),
    ]);
    // Redis 7.2 takes RANK within ±LONG_MAX so it can be negated (7.0
    // negated LONG_MIN into itself and searched from the tail).
    shardis_session(
        &p,
        &[(
            "LPOS l a RANK -9223372036854775808",
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
        )],
    );
}

#[test]
fn wrong_type_for_every_command() {
    let p = Pair::start(&[]);
    let s = keys_on_shard("str", 0, 2, 1).remove(0);
    let l = keys_on_shard("list", 1, 2, 1).remove(0);
    let sl = keys_on_shard("list", 0, 2, 1).remove(0);
    let mut steps = vec![
        ("FLUSHALL".to_string(), OK.to_string()),
        (format!("SET {s} v"), OK.to_string()),
        (format!("RPUSH {l} a b"), int(2)),
        (format!("RPUSH {sl} a b"), int(2)),
    ];
    for cmd in [
        "LPUSH $S a",
        "RPUSH $S a",
        "LPUSHX $S a",
        "RPUSHX $S a",
        "LPOP $S",
        "RPOP $S",
        "LPOP $S 0",
        "RPOP $S 2",
        "LLEN $S",
        "LRANGE $S 0 -1",
        "LINDEX $S 0",
        "LINDEX $S x",
        "LSET $S 0 x",
        "LSET $S x x",
        "LINSERT $S BEFORE a b",
        "LREM $S 0 a",
        "LTRIM $S 0 1",
        "LPOS $S a",
        "LPOS $S a COUNT 0",
        "LMOVE $S $S LEFT RIGHT",
        "RPOPLPUSH $S $S",
        "LMPOP 1 $S LEFT",
        // The source is looked at first, then the destination: on the same
        // shard and on two.
        "LMOVE $S $L LEFT RIGHT",
        "RPOPLPUSH $S $SL",
        "LMOVE $L $S LEFT RIGHT",
        "LMOVE $SL $S RIGHT LEFT",
        "RPOPLPUSH $L $S",
        "RPOPLPUSH $SL $S",
        // LMPOP: a string before the first list.
        "LMPOP 2 $S $L LEFT",
        "LMPOP 3 nokey $S $SL RIGHT COUNT 2",
    ] {
        let cmd = cmd.replace("$SL", &sl).replace("$S", &s).replace("$L", &l);
        steps.push((cmd, WRONGTYPE.to_string()));
    }
    // Nothing was popped from the lists, and the string is intact.
    steps.push((format!("LRANGE {l} 0 -1"), arr(&["a", "b"])));
    steps.push((format!("LRANGE {sl} 0 -1"), arr(&["a", "b"])));
    steps.push((format!("GET {s}"), bulk("v")));
    // A list before a string: LMPOP pops it and never sees the string.
    steps.push((format!("LMPOP 2 {l} {s} LEFT"), keyed(&l, &["a"])));
    session(&p, &steps);
}

/// LMOVE/RPOPLPUSH between `src` and `dst` (distinct keys), with `other`
/// a third key: every direction, the destination created, the source
/// deleted once emptied, a missing source, and the argument errors.
fn move_cases(p: &Pair, src: &str, dst: &str, other: &str) {
    let steps: Vec<(String, String)> = vec![
        ("FLUSHALL".into(), OK.into()),
        (format!("RPUSH {src} 1 2 3 4"), int(4)),
        (format!("LMOVE {src} {dst} LEFT RIGHT"), bulk("1")),
        (format!("LMOVE {src} {dst} RIGHT LEFT"), bulk("4")),
        (format!("LMOVE {src} {dst} left left"), bulk("2")),
        (format!("LRANGE {dst} 0 -1"), arr(&["2", "4", "1"])),
        (format!("LMOVE {dst} {src} RIGHT RIGHT"), bulk("1")),
        (format!("LRANGE {src} 0 -1"), arr(&["3", "1"])),
        (format!("RPOPLPUSH {src} {dst}"), bulk("1")),
        (format!("RPOPLPUSH {src} {dst}"), bulk("3")),
        (format!("EXISTS {src}"), int(0)),
        (format!("LRANGE {dst} 0 -1"), arr(&["3", "1", "2", "4"])),
        // A missing source: nil, and the destination is not created.
        (format!("RPOPLPUSH {src} {other}"), NIL.into()),
        (format!("LMOVE {src} {other} LEFT LEFT"), NIL.into()),
        (format!("EXISTS {other}"), int(0)),
        // The ends are checked before the keys.
        (format!("LMOVE {dst} {other} UP LEFT"), SYNTAX.into()),
        (format!("LMOVE {dst} {other} LEFT DOWN"), SYNTAX.into()),
        (format!("LMOVE {src} {other} UP LEFT"), SYNTAX.into()),
        // The destination is created with the element.
        (format!("LMOVE {dst} {other} LEFT RIGHT"), bulk("3")),
        (format!("LRANGE {other} 0 -1"), arr(&["3"])),
        // A string destination: WRONGTYPE, and nothing popped.
        (format!("SET {other} v"), OK.into()),
        (format!("LMOVE {dst} {other} LEFT RIGHT"), WRONGTYPE.into()),
        (format!("RPOPLPUSH {dst} {other}"), WRONGTYPE.into()),
        (format!("LRANGE {dst} 0 -1"), arr(&["1", "2", "4"])),
        // But a missing source is nil before the destination is looked at.
        (format!("RPOPLPUSH {src} {other}"), NIL.into()),
        (format!("GET {other}"), bulk("v")),
    ];
    session(p, &steps);
}

#[test]
fn lmove_on_one_shard() {
    let p = Pair::start(&[]);
    move_cases(&p, "{t}src", "{t}dst", "{t}other");
}

#[test]
fn lmove_across_shards() {
    let p = Pair::start(&[]);
    let zero = keys_on_shard("mv", 0, 2, 2);
    let one = keys_on_shard("mv", 1, 2, 2);
    move_cases(&p, &zero[0], &one[0], &zero[1]);
    move_cases(&p, &one[0], &zero[0], &one[1]);
    move_cases(&p, &zero[0], &one[0], &one[1]);
}

#[test]
fn lmove_onto_itself_rotates() {
    let p = Pair::start(&[]);
    p.session(&[
        ("FLUSHALL", OK),
        ("RPUSH l a b c", ":3\r\n"),
        ("LMOVE l l LEFT RIGHT", &bulk("a")),
        ("LRANGE l 0 -1", &arr(&["b", "c", "a"])),
        ("LMOVE l l RIGHT LEFT", &bulk("a")),
        ("LRANGE l 0 -1", &arr(&["a", "b", "c"])),
        ("RPOPLPUSH l l", &bulk("c")),
        ("LRANGE l 0 -1", &arr(&["c", "a", "b"])),
        ("LMOVE l l LEFT LEFT", &bulk("c")),
        ("LMOVE l l RIGHT RIGHT", &bulk("b")),
        ("LRANGE l 0 -1", &arr(&["c", "a", "b"])),
        ("RPUSH one x", ":1\r\n"),
        ("RPOPLPUSH one one", &bulk("x")),
        ("LRANGE one 0 -1", &arr(&["x"])),
        ("RPOPLPUSH nokey nokey", NIL),
        ("EXISTS nokey", ":0\r\n"),
    ]);
}

/// LMPOP over `k` (four keys): the first key holding a list is popped.
fn lmpop_cases(p: &Pair, k: [&str; 4]) {
    let [a, b, c, d] = k;
    let steps: Vec<(String, String)> = vec![
        ("FLUSHALL".into(), OK.into()),
        (format!("LMPOP 4 {a} {b} {c} {d} LEFT"), NIL_ARRAY.into()),
        (format!("RPUSH {c} c1 c2 c3"), int(3)),
        (format!("RPUSH {d} d1 d2"), int(2)),
        (format!("LMPOP 4 {a} {b} {c} {d} LEFT"), keyed(c, &["c1"])),
        (format!("LMPOP 4 {a} {b} {d} {c} RIGHT"), keyed(d, &["d2"])),
        (format!("LMPOP 4 {a} {b} {c} {d} right COUNT 10"), keyed(c, &["c3", "c2"])),
        (format!("EXISTS {c}"), int(0)),
        (format!("LMPOP 4 {a} {b} {c} {d} LEFT count 2"), keyed(d, &["d1"])),
        (format!("EXISTS {d}"), int(0)),
        (format!("LMPOP 4 {a} {b} {c} {d} LEFT"), NIL_ARRAY.into()),
        // A key named twice.
        (format!("RPUSH {a} a1 a2"), int(2)),
        (format!("LMPOP 3 {b} {a} {a} LEFT COUNT 1"), keyed(a, &["a1"])),
        // A string before the first list: WRONGTYPE, nothing popped.
        (format!("SET {b} v"), OK.into()),
        (format!("LMPOP 2 {b} {a} LEFT"), WRONGTYPE.into()),
        (format!("LMPOP 3 {c} {b} {a} RIGHT COUNT 3"), WRONGTYPE.into()),
        (format!("LMPOP 2 {a} {b} LEFT"), keyed(a, &["a2"])),
        (format!("EXISTS {a}"), int(0)),
        // The arguments are checked, in Redis's order, before any key.
        (format!("LMPOP 0 {b} LEFT"), "-ERR numkeys should be greater than 0\r\n".into()),
        (format!("LMPOP -1 {b} LEFT"), "-ERR numkeys should be greater than 0\r\n".into()),
        (format!("LMPOP x {b} LEFT"), "-ERR numkeys should be greater than 0\r\n".into()),
        (format!("LMPOP 2 {b} LEFT"), SYNTAX.into()),
        (format!("LMPOP 9223372036854775807 {b} LEFT"), SYNTAX.into()),
        (format!("LMPOP 1 {b} UP"), SYNTAX.into()),
        (format!("LMPOP 2 {a} {b} LEFT COUNT 0"), "-ERR count should be greater than 0\r\n".into()),
        (format!("LMPOP 2 {a} {b} LEFT COUNT -1"), "-ERR count should be greater than 0\r\n".into()),
        (format!("LMPOP 2 {a} {b} LEFT COUNT x"), "-ERR count should be greater than 0\r\n".into()),
        (format!("LMPOP 2 {a} {b} LEFT COUNT 1 COUNT 1"), SYNTAX.into()),
        (format!("LMPOP 2 {a} {b} LEFT COUNT"), SYNTAX.into()),
        (format!("LMPOP 2 {a} {b} LEFT FOO"), SYNTAX.into()),
        (format!("LMPOP 1 {a}"), "-ERR wrong number of arguments for 'lmpop' command\r\n".into()),
    ];
    session(p, &steps);
}

#[test]
fn lmpop_on_one_shard() {
    let p = Pair::start(&[]);
    lmpop_cases(&p, ["{m}a", "{m}b", "{m}c", "{m}d"]);
}

#[test]
fn lmpop_across_shards() {
    let p = Pair::start(&[]);
    let zero = keys_on_shard("mp", 0, 2, 4);
    let one = keys_on_shard("mp", 1, 2, 4);
    lmpop_cases(&p, [&zero[0], &one[0], &zero[1], &one[1]]);
    lmpop_cases(&p, [&one[0], &zero[0], &zero[1], &one[1]]);
    lmpop_cases(&p, [&zero[0], &zero[1], &one[0], &zero[2]]);
}

/// A thousand elements and more: quicklists of many nodes on both servers
/// (and in shardis with the default 8 KB nodes). Every command is checked
/// against a model, replies literal.
#[test]
fn large_lists_match_a_model() {
    let p = Pair::start(&[]);
    let mut model: Vec<String> = (0..1000).map(|i| format!("element-{i}")).collect();
    let mut steps: Vec<(String, String)> = vec![("FLUSHALL".into(), OK.into())];
    for chunk in model.chunks(250) {
        steps.push((format!("RPUSH big {}", chunk.join(" ")), int(0)));
    }
    for (i, s) in steps.iter_mut().skip(1).enumerate() {
        s.1 = int(250 * (i as i64 + 1));
    }
    let range = |m: &Vec<String>, a: usize, b: usize| arr(&m[a..=b]);
    steps.push(("LLEN big".into(), int(1000)));
    steps.push(("LRANGE big 0 -1".into(), arr(&model)));
    steps.push(("LRANGE big 490 510".into(), range(&model, 490, 510)));
    steps.push(("LRANGE big -300 -280".into(), range(&model, 700, 720)));
    for i in [0i64, 1, 127, 128, 499, 500, 998, 999, -1, -500, -1000] {
        let idx = if i < 0 { 1000 + i } else { i } as usize;
        steps.push((format!("LINDEX big {i}"), bulk(&model[idx])));
    }
    steps.push(("LINDEX big 1000".into(), NIL.into()));
    // LINSERT and LSET in the middle of full nodes.
    steps.push(("LINSERT big BEFORE element-500 new-a".into(), int(1001)));
    model.insert(500, "new-a".into());
    steps.push(("LINSERT big AFTER element-900 new-b".into(), int(1002)));
    model.insert(902, "new-b".into());
    steps.push(("LSET big 300 set-300".into(), OK.into()));
    model[300] = "set-300".into();
    steps.push(("LSET big -2 set-last".into(), OK.into()));
    let n = model.len();
    model[n - 2] = "set-last".into();
    steps.push(("LRANGE big 495 505".into(), range(&model, 495, 505)));
    steps.push(("LRANGE big 0 -1".into(), arr(&model)));
    // LREM across nodes: every tenth element duplicated then removed.
    steps.push(("RPUSH dup 0".into(), int(1)));
    let mut dup: Vec<String> = vec!["0".into()];
    for i in 1..1200 {
        let v = if i % 10 == 0 { "x".to_string() } else { i.to_string() };
        steps.push((format!("RPUSH dup {v}"), int(i + 1)));
        dup.push(v);
    }
    steps.push(("LREM dup 5 x".into(), int(5)));
    remove(&mut dup, "x", 5);
    steps.push(("LREM dup -7 x".into(), int(7)));
    remove_from_tail(&mut dup, "x", 7);
    steps.push(("LRANGE dup 0 -1".into(), arr(&dup)));
    steps.push(("LPOS dup x RANK -1".into(), int(dup.iter().rposition(|v| v == "x").unwrap() as i64)));
    steps.push(("LREM dup 0 x".into(), int(dup.iter().filter(|v| *v == "x").count() as i64)));
    dup.retain(|v| v != "x");
    steps.push(("LLEN dup".into(), int(dup.len() as i64)));
    steps.push(("LRANGE dup 0 -1".into(), arr(&dup)));
    // LTRIM away most of the nodes from both ends.
    steps.push(("LTRIM big 100 -101".into(), OK.into()));
    model = model[100..model.len() - 100].to_vec();
    steps.push(("LRANGE big 0 -1".into(), arr(&model)));
    steps.push(("LPOP big 150".into(), arr(&model[..150])));
    model.drain(..150);
    steps
        .push(("RPOP big 3".into(), arr(&[&model[model.len() - 1], &model[model.len() - 2], &model[model.len() - 3]])));
    model.truncate(model.len() - 3);
    steps.push(("LRANGE big 0 -1".into(), arr(&model)));
    steps.push(("LMPOP 1 big RIGHT COUNT 2000".into(), {
        let rev: Vec<&str> = model.iter().rev().map(String::as_str).collect();
        keyed("big", &rev)
    }));
    steps.push(("EXISTS big".into(), int(0)));
    session(&p, &steps);
}

fn remove(v: &mut Vec<String>, what: &str, mut n: usize) {
    v.retain(|e| {
        if n > 0 && e == what {
            n -= 1;
            return false;
        }
        true
    });
}

fn remove_from_tail(v: &mut Vec<String>, what: &str, n: usize) {
    v.reverse();
    remove(v, what, n);
    v.reverse();
}

/// OBJECT ENCODING follows Redis 7.2 (listpack for small lists, quicklist
/// once a push would pass `list-max-listpack-size`, back to listpack when
/// a removal leaves one node within half of it); literal expectations, on
/// shardis only (redis 7.0 reports quicklist for every list).
#[test]
fn encodings_follow_redis_7_2() {
    let p = Pair::start(&[]);
    let big = "x".repeat(9000);
    let mut s = connect(p.shardis.port);
    let mut call = |args: &[&str], want: &str| {
        send_lenient(&mut s, &encode(args));
        assert_eq!(Esc(read_n(&mut s, want.len())), Esc(want.as_bytes().to_vec()), "{:?}", args);
    };
    let enc = |e: &str| bulk(e);
    call(&["FLUSHALL"], OK);
    call(&["RPUSH", "l", "a", "b", "c"], ":3\r\n");
    call(&["OBJECT", "ENCODING", "l"], &enc("listpack"));
    // A big element does not fit an 8 KB node.
    call(&["RPUSH", "l", &big], ":4\r\n");
    call(&["OBJECT", "ENCODING", "l"], &enc("quicklist"));
    call(&["RPOP", "l"], &bulk(&big));
    call(&["OBJECT", "ENCODING", "l"], &enc("listpack"));
    call(&["LSET", "l", "0", &big], OK);
    call(&["OBJECT", "ENCODING", "l"], &enc("quicklist"));
    call(&["LSET", "l", "0", "a"], OK);
    call(&["OBJECT", "ENCODING", "l"], &enc("listpack"));
    call(&["LINSERT", "l", "AFTER", "a", &big], ":4\r\n");
    call(&["OBJECT", "ENCODING", "l"], &enc("quicklist"));
    // The insert split the node: a, big, b c. Removing big leaves two
    // nodes (Redis does not merge on delete): still a quicklist, until a
    // pop leaves one.
    call(&["LREM", "l", "0", &big], ":1\r\n");
    call(&["OBJECT", "ENCODING", "l"], &enc("quicklist"));
    call(&["LPOP", "l"], &bulk("a"));
    call(&["OBJECT", "ENCODING", "l"], &enc("listpack"));
    // Many small elements: 1000 one-byte strings fit one 8 KB listpack.
    let xs: Vec<&str> = std::iter::repeat_n("x", 1000).collect();
    let mut cmd = vec!["RPUSH", "m"];
    cmd.extend(&xs);
    call(&cmd, ":1000\r\n");
    call(&["OBJECT", "ENCODING", "m"], &enc("listpack"));
    // 3000 more would not (Redis counts the raw bytes a push adds).
    let mut cmd = vec!["RPUSH", "m"];
    cmd.extend(std::iter::repeat_n("yyy", 3000));
    call(&cmd, ":4000\r\n");
    call(&["OBJECT", "ENCODING", "m"], &enc("quicklist"));
    // Trimmed to one small node: a listpack again.
    call(&["LTRIM", "m", "0", "99"], OK);
    call(&["OBJECT", "ENCODING", "m"], &enc("listpack"));
    // A count limit: 128 elements per node.
    call(&["CONFIG", "SET", "list-max-listpack-size", "128"], OK);
    let nums: Vec<String> = (0..128).map(|i| i.to_string()).collect();
    let mut cmd = vec!["RPUSH", "c"];
    cmd.extend(nums.iter().map(String::as_str));
    call(&cmd, ":128\r\n");
    call(&["OBJECT", "ENCODING", "c"], &enc("listpack"));
    call(&["RPUSH", "c", "129th"], ":129\r\n");
    call(&["OBJECT", "ENCODING", "c"], &enc("quicklist"));
    // Back to listpack only at half the limit.
    call(
        &["RPOP", "c", "65"],
        &arr(&(0..65).map(|i| if i == 0 { "129th".to_string() } else { (128 - i).to_string() }).collect::<Vec<_>>()),
    );
    call(&["OBJECT", "ENCODING", "c"], &enc("listpack"));
    call(&["CONFIG", "SET", "list-max-listpack-size", "4"], OK);
    call(&["RPUSH", "q", "1", "2", "3", "4"], ":4\r\n");
    call(&["OBJECT", "ENCODING", "q"], &enc("listpack"));
    call(&["RPUSH", "q", "5"], ":5\r\n");
    call(&["OBJECT", "ENCODING", "q"], &enc("quicklist"));
    call(&["RPOP", "q"], &bulk("5"));
    call(&["RPOP", "q"], &bulk("4"));
    call(&["OBJECT", "ENCODING", "q"], &enc("quicklist"));
    call(&["LPOP", "q"], &bulk("1"));
    call(&["OBJECT", "ENCODING", "q"], &enc("listpack"));
    // LMOVE: the destination grows, the source shrinks.
    call(&["RPUSH", "{s}a", "1", "2", "3", "4", "5"], ":5\r\n");
    call(&["RPUSH", "{s}b", "1", "2", "3", "4"], ":4\r\n");
    call(&["OBJECT", "ENCODING", "{s}a"], &enc("quicklist"));
    call(&["LMOVE", "{s}a", "{s}b", "LEFT", "RIGHT"], &bulk("1"));
    call(&["OBJECT", "ENCODING", "{s}b"], &enc("quicklist"));
    call(&["LMOVE", "{s}a", "{s}b", "LEFT", "RIGHT"], &bulk("2"));
    call(&["LMOVE", "{s}a", "{s}b", "LEFT", "RIGHT"], &bulk("3"));
    // Nodes [4] and [5] are left: two nodes, until one goes.
    call(&["OBJECT", "ENCODING", "{s}a"], &enc("quicklist"));
    call(&["LMOVE", "{s}a", "{s}b", "LEFT", "RIGHT"], &bulk("4"));
    call(&["OBJECT", "ENCODING", "{s}a"], &enc("listpack"));
    // The same across shards.
    let (x, y) = (keys_on_shard("enc", 0, 2, 1).remove(0), keys_on_shard("enc", 1, 2, 1).remove(0));
    call(&["RPUSH", &x, "1", "2", "3", "4", "5"], ":5\r\n");
    call(&["RPUSH", &y, "1", "2", "3", "4"], ":4\r\n");
    call(&["OBJECT", "ENCODING", &y], &enc("listpack"));
    call(&["LMOVE", &x, &y, "LEFT", "RIGHT"], &bulk("1"));
    call(&["OBJECT", "ENCODING", &y], &enc("quicklist"));
    call(&["OBJECT", "ENCODING", &x], &enc("quicklist"));
    // [2 3 4] [5] → [2 3 4]: one node, but over half the limit.
    call(&["LMOVE", &x, &y, "RIGHT", "RIGHT"], &bulk("5"));
    call(&["OBJECT", "ENCODING", &x], &enc("quicklist"));
    call(&["LMOVE", &x, &y, "LEFT", "RIGHT"], &bulk("2"));
    call(&["OBJECT", "ENCODING", &x], &enc("listpack"));
    call(&["CONFIG", "SET", "list-max-listpack-size", "-2"], OK);
}
