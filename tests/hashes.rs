//! Hash commands, black-box: every command's replies and errors, in the
//! order Redis checks them, on keys of both shards; WRONGTYPE everywhere;
//! HDEL deleting the emptied key; RESP3 shapes (HGETALL's map,
//! HRANDFIELD's pairs); HINCRBY/HINCRBYFLOAT edge cases; a 1000-field hash
//! walked by HSCAN; HRANDFIELD by its properties; and (shardis only) the
//! listpack → hashtable conversions of Redis 7.2 and HSCAN's NOVALUES
//! (Redis 7.4; the oracle is 7.0).
//!
//! Expectations are literal and, when redis-server is installed, checked
//! against it byte for byte.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::oracle::{connect, encode, keys_on_shard, read_frames, send_lenient, Esc, Pair};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const OVERFLOW: &str = "-ERR increment or decrement would overflow\r\n";
const NOT_INT_VALUE: &str = "-ERR hash value is not an integer\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const NOT_FLOAT_VALUE: &str = "-ERR hash value is not a float\r\n";
const NAN_OR_INF: &str = "-ERR increment would produce NaN or Infinity\r\n";
const INCR_NAN_OR_INF: &str = "-ERR value is NaN or Infinity\r\n";
const EMPTY_SCAN: &str = "*2\r\n$1\r\n0\r\n*0\r\n";

fn arity(cmd: &str) -> String {
    format!("-ERR wrong number of arguments for '{}' command\r\n", cmd)
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{}\r\n", v.len(), v)
}

/// An array of bulks.
fn bulks(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&bulk(i));
    }
    out
}

/// Steps of (arguments, exact reply), for arguments with spaces or bytes.
fn steps(list: &[(&[&str], &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    list.iter().map(|(args, reply)| (encode(args), reply.as_bytes().to_vec())).collect()
}

/// One key on each shard.
fn two_keys() -> [String; 2] {
    [keys_on_shard("h", 0, 2, 1).remove(0), keys_on_shard("h", 1, 2, 1).remove(0)]
}

/// Runs `script` (commands with `K` for the key, and exact replies) for a
/// key on each shard.
fn on_each_shard(p: &Pair, script: &[(&str, &str)]) {
    for key in two_keys() {
        let steps: Vec<(Vec<u8>, Vec<u8>)> = script
            .iter()
            .map(|(c, r)| {
                let args: Vec<&str> = c.split(' ').map(|w| if w == "K" { key.as_str() } else { w }).collect();
                (encode(&args), r.as_bytes().to_vec())
            })
            .collect();
        p.session_raw(&steps);
    }
}

#[test]
fn set_get_and_friends() {
    let p = Pair::start(&[]);
    let all3 = bulks(&["f1", "v1", "f2", "v2", "n", "10"]);
    on_each_shard(
        &p,
        &[
            ("DEL K", ":0\r\n"),
            // Missing key: nil, zeros, empty arrays.
            ("HGET K f", "$-1\r\n"),
            ("HMGET K a b", "*2\r\n$-1\r\n$-1\r\n"),
            ("HLEN K", ":0\r\n"),
            ("HSTRLEN K f", ":0\r\n"),
            ("HEXISTS K f", ":0\r\n"),
            ("HKEYS K", "*0\r\n"),
            ("HVALS K", "*0\r\n"),
            ("HGETALL K", "*0\r\n"),
            ("HDEL K f", ":0\r\n"),
            ("EXISTS K", ":0\r\n"),
            // HSET counts new fields; a repeated field in one call counts once.
            ("HSET K f1 v1", ":1\r\n"),
            ("HSET K f1 w f2 v2 f2 v2", ":1\r\n"),
            ("HGET K f1", "$1\r\nw\r\n"),
            ("HMSET K f1 v1 n 10", "+OK\r\n"),
            ("TYPE K", "+hash\r\n"),
            ("HLEN K", ":3\r\n"),
            ("HGETALL K", &all3),
            ("HKEYS K", &bulks(&["f1", "f2", "n"])),
            ("HVALS K", &bulks(&["v1", "v2", "10"])),
            ("HMGET K n nope f1", "*3\r\n$2\r\n10\r\n$-1\r\n$2\r\nv1\r\n"),
            ("HSTRLEN K n", ":2\r\n"),
            ("HSTRLEN K nope", ":0\r\n"),
            ("HEXISTS K f2", ":1\r\n"),
            ("HEXISTS K F2", ":0\r\n"),
            // HSETNX sets only a missing field, creating the key if needed.
            ("HSETNX K f1 x", ":0\r\n"),
            ("HSETNX K f3 x", ":1\r\n"),
            ("HGET K f3", "$1\r\nx\r\n"),
            ("DEL K", ":1\r\n"),
            ("HSETNX K a b", ":1\r\n"),
            ("HGETALL K", &bulks(&["a", "b"])),
            // Integers are kept as given.
            ("HSET K i -00 j 0 k -0", ":3\r\n"),
            ("HMGET K i j k", &bulks(&["-00", "0", "-0"])),
            ("HSTRLEN K j", ":1\r\n"),
            // Unpaired fields: an arity error, after the command table's.
            ("HSET K f", &arity("hset")),
            ("HSET K f v g", &arity("hset")),
            ("HMSET K f v g", &arity("hmset")),
            ("HMSET K f", &arity("hmset")),
            ("HSETNX K f", &arity("hsetnx")),
            ("HGET K", &arity("hget")),
            ("HGET K a b", &arity("hget")),
            ("HMGET K", &arity("hmget")),
            ("HDEL K", &arity("hdel")),
            ("HLEN K x", &arity("hlen")),
            ("HSTRLEN K", &arity("hstrlen")),
            ("HEXISTS K", &arity("hexists")),
            ("HKEYS", &arity("hkeys")),
            ("HVALS K x", &arity("hvals")),
            ("HGETALL K x", &arity("hgetall")),
            ("HINCRBY K f", &arity("hincrby")),
            ("HINCRBYFLOAT K f 1 2", &arity("hincrbyfloat")),
            ("HRANDFIELD", &arity("hrandfield")),
            ("HSCAN K", &arity("hscan")),
            ("HLEN K", ":4\r\n"),
        ],
    );
    // Binary-safe fields and values, and empty ones.
    p.session_raw(&steps(&[
        (&["DEL", "bin"], ":0\r\n"),
        (&["HSET", "bin", "", "", "a b\r\n", "\0x"], ":2\r\n"),
        (&["HGET", "bin", ""], "$0\r\n\r\n"),
        (&["HGET", "bin", "a b\r\n"], "$2\r\n\0x\r\n"),
        (&["HSTRLEN", "bin", "a b\r\n"], ":2\r\n"),
        (&["HEXISTS", "bin", ""], ":1\r\n"),
        (&["HGETALL", "bin"], "*4\r\n$0\r\n\r\n$0\r\n\r\n$5\r\na b\r\n\r\n$2\r\n\0x\r\n"),
    ]));
}

#[test]
fn hdel_of_the_last_field_deletes_the_key() {
    let p = Pair::start(&[]);
    on_each_shard(
        &p,
        &[
            ("DEL K", ":0\r\n"),
            ("HSET K a 1 b 2 c 3", ":3\r\n"),
            ("HDEL K a a nope", ":1\r\n"),
            ("HLEN K", ":2\r\n"),
            // Deleting every field (and some twice) deletes the key.
            ("HDEL K b c b x", ":2\r\n"),
            ("EXISTS K", ":0\r\n"),
            ("TYPE K", "+none\r\n"),
            ("HLEN K", ":0\r\n"),
            ("HDEL K b", ":0\r\n"),
            // And it can be made again.
            ("HSET K z 0", ":1\r\n"),
            ("HDEL K z", ":1\r\n"),
            ("EXISTS K", ":0\r\n"),
        ],
    );
}

#[test]
fn wrongtype_on_every_command() {
    let p = Pair::start(&[]);
    on_each_shard(
        &p,
        &[
            ("DEL K", ":0\r\n"),
            ("SET K s", "+OK\r\n"),
            ("HSET K f v", WRONGTYPE),
            ("HMSET K f v", WRONGTYPE),
            ("HSETNX K f v", WRONGTYPE),
            ("HGET K f", WRONGTYPE),
            ("HMGET K f g", WRONGTYPE),
            ("HDEL K f", WRONGTYPE),
            ("HLEN K", WRONGTYPE),
            ("HSTRLEN K f", WRONGTYPE),
            ("HEXISTS K f", WRONGTYPE),
            ("HKEYS K", WRONGTYPE),
            ("HVALS K", WRONGTYPE),
            ("HGETALL K", WRONGTYPE),
            ("HINCRBY K f 1", WRONGTYPE),
            ("HINCRBYFLOAT K f 1", WRONGTYPE),
            ("HRANDFIELD K", WRONGTYPE),
            ("HRANDFIELD K 2", WRONGTYPE),
            ("HRANDFIELD K -2 WITHVALUES", WRONGTYPE),
            ("HSCAN K 0", WRONGTYPE),
            // Errors Redis finds before the type.
            ("HSET K f", &arity("hset")),
            ("HSET K f v g", &arity("hset")),
            ("HINCRBY K f x", NOT_INT),
            ("HINCRBYFLOAT K f x", NOT_FLOAT),
            ("HINCRBYFLOAT K f inf", INCR_NAN_OR_INF),
            ("HRANDFIELD K x", NOT_INT),
            ("HRANDFIELD K 1 x", SYNTAX),
            ("HSCAN K x", "-ERR invalid cursor\r\n"),
            // And after it: HSCAN's options.
            ("HSCAN K 0 COUNT 0", WRONGTYPE),
            ("GET K", "$1\r\ns\r\n"),
            // A hash is the wrong type for string commands.
            ("DEL K", ":1\r\n"),
            ("HSET K f v", ":1\r\n"),
            ("GET K", WRONGTYPE),
            ("INCR K", WRONGTYPE),
            ("APPEND K x", WRONGTYPE),
            ("SET K s", "+OK\r\n"),
            ("GET K", "$1\r\ns\r\n"),
        ],
    );
}

#[test]
fn hincrby_cases() {
    let p = Pair::start(&[]);
    on_each_shard(
        &p,
        &[
            ("DEL K", ":0\r\n"),
            ("HINCRBY K n 5", ":5\r\n"),
            ("HINCRBY K n -7", ":-2\r\n"),
            ("HINCRBY K n 0", ":-2\r\n"),
            ("HGET K n", "$2\r\n-2\r\n"),
            ("HSET K big 9223372036854775806 small -9223372036854775807", ":2\r\n"),
            ("HINCRBY K big 1", ":9223372036854775807\r\n"),
            ("HINCRBY K big 1", OVERFLOW),
            ("HINCRBY K big -9223372036854775808", ":-1\r\n"),
            ("HINCRBY K small -1", ":-9223372036854775808\r\n"),
            ("HINCRBY K small -1", OVERFLOW),
            ("HINCRBY K small 9223372036854775807", ":-1\r\n"),
            ("HINCRBY K new -9223372036854775808", ":-9223372036854775808\r\n"),
            // Not integers, as string2ll sees them.
            ("HSET K s abc z 007 p +1 e 1e3 sp 1.0", ":5\r\n"),
            ("HINCRBY K s 1", NOT_INT_VALUE),
            ("HINCRBY K z 1", NOT_INT_VALUE),
            ("HINCRBY K p 1", NOT_INT_VALUE),
            ("HINCRBY K e 1", NOT_INT_VALUE),
            ("HINCRBY K sp 1", NOT_INT_VALUE),
            ("HGET K z", "$3\r\n007\r\n"),
            // The increment is checked first.
            ("HINCRBY K s x", NOT_INT),
            ("HINCRBY K s 1.5", NOT_INT),
            ("HINCRBY K s 9223372036854775808", NOT_INT),
            ("HINCRBY nokey f x", NOT_INT),
            ("EXISTS nokey", ":0\r\n"),
        ],
    );
}

#[test]
fn hincrbyfloat_cases() {
    let p = Pair::start(&[]);
    on_each_shard(
        &p,
        &[
            ("DEL K", ":0\r\n"),
            ("HINCRBYFLOAT K f 10.5", "$4\r\n10.5\r\n"),
            ("HINCRBYFLOAT K f 0.1", "$4\r\n10.6\r\n"),
            ("HINCRBYFLOAT K f -5", "$3\r\n5.6\r\n"),
            // 5.6 is not exact in 64 bits: its error shows at 17 decimals.
            ("HINCRBYFLOAT K f 2.0e2", "$21\r\n205.60000000000000001\r\n"),
            ("HGET K f", "$21\r\n205.60000000000000001\r\n"),
            // long double: 0.1 + 0.2 prints 0.3.
            ("HINCRBYFLOAT K g 0.1", "$3\r\n0.1\r\n"),
            ("HINCRBYFLOAT K g 0.2", "$3\r\n0.3\r\n"),
            ("HSET K i 9223372036854775807", ":1\r\n"),
            ("HINCRBYFLOAT K i 1", "$19\r\n9223372036854775808\r\n"),
            ("HINCRBYFLOAT K i -0.5", "$21\r\n9223372036854775807.5\r\n"),
            ("HINCRBYFLOAT K d 1.23456789012345678", "$19\r\n1.23456789012345678\r\n"),
            ("HINCRBYFLOAT K z -0.0", "$1\r\n0\r\n"),
            ("HINCRBYFLOAT K z 1e-20", "$1\r\n0\r\n"),
            ("HINCRBYFLOAT K e 1e20", "$21\r\n100000000000000000000\r\n"),
            ("HINCRBYFLOAT K e -1E+20", "$1\r\n0\r\n"),
            ("HINCRBYFLOAT K e +.5", "$3\r\n0.5\r\n"),
            ("HINCRBYFLOAT K x 0x10", "$2\r\n16\r\n"),
            ("HINCRBYFLOAT K x 0x1p-2", "$5\r\n16.25\r\n"),
            // Stored values read as floats: integers, exponents, hex.
            ("HSET K s 5.0e3 t 0x8 u -7 v 1.5", ":4\r\n"),
            ("HINCRBYFLOAT K s 1", "$4\r\n5001\r\n"),
            ("HINCRBYFLOAT K t 1", "$1\r\n9\r\n"),
            ("HINCRBYFLOAT K u 0.5", "$4\r\n-6.5\r\n"),
            ("HINCRBYFLOAT K v 1e3", "$6\r\n1001.5\r\n"),
            // Bad increments, checked before the key.
            ("HINCRBYFLOAT K f abc", NOT_FLOAT),
            ("HINCRBYFLOAT K f 1e", NOT_FLOAT),
            ("HINCRBYFLOAT K f nan", NOT_FLOAT),
            ("HINCRBYFLOAT K f 1e5000", NOT_FLOAT),
            ("HINCRBYFLOAT K f 1e-5000", NOT_FLOAT),
            ("HINCRBYFLOAT K f inf", INCR_NAN_OR_INF),
            ("HINCRBYFLOAT K f -Infinity", INCR_NAN_OR_INF),
            ("HINCRBYFLOAT nokey f inf", INCR_NAN_OR_INF),
            ("EXISTS nokey", ":0\r\n"),
            // Bad stored values.
            ("HSET K bad abc nan nan sp1 1.0x", ":3\r\n"),
            ("HINCRBYFLOAT K bad 1", NOT_FLOAT_VALUE),
            ("HINCRBYFLOAT K nan 1", NOT_FLOAT_VALUE),
            ("HINCRBYFLOAT K sp1 1", NOT_FLOAT_VALUE),
        ],
    );
    p.session_raw(&steps(&[
        (&["DEL", "hf"], ":0\r\n"),
        (&["HSET", "hf", "sp", " 1", "tail", "1 ", "nul", "1\0", "empty", "", "inf", "inf"], ":5\r\n"),
        (&["HINCRBYFLOAT", "hf", "sp", "1"], NOT_FLOAT_VALUE),
        (&["HINCRBYFLOAT", "hf", "tail", "1"], NOT_FLOAT_VALUE),
        (&["HINCRBYFLOAT", "hf", "nul", "1"], NOT_FLOAT_VALUE),
        (&["HINCRBYFLOAT", "hf", "empty", "1"], NOT_FLOAT_VALUE),
        (&["HINCRBYFLOAT", "hf", "inf", "1"], NAN_OR_INF),
        (&["HINCRBYFLOAT", "hf", "f", " 1"], NOT_FLOAT),
        (&["HINCRBYFLOAT", "hf", "f", ""], NOT_FLOAT),
        (&["HINCRBYFLOAT", "hf", "f", "1\0"], NOT_FLOAT),
        // Overflow to infinity.
        (&["HSET", "hf", "big", "1.1e4932"], ":1\r\n"),
        (&["HINCRBYFLOAT", "hf", "big", "1.1e4932"], NAN_OR_INF),
        (&["HGET", "hf", "big"], "$8\r\n1.1e4932\r\n"),
    ]));
}

#[test]
fn hrandfield_and_hscan_errors_and_fixed_replies() {
    let p = Pair::start(&[]);
    on_each_shard(
        &p,
        &[
            ("DEL K", ":0\r\n"),
            ("HRANDFIELD K", "$-1\r\n"),
            ("HRANDFIELD K 5", "*0\r\n"),
            ("HRANDFIELD K -5 WITHVALUES", "*0\r\n"),
            ("HSCAN K 0", EMPTY_SCAN),
            ("HSCAN K 7 COUNT 0", EMPTY_SCAN),
            ("HSCAN K x", "-ERR invalid cursor\r\n"),
            ("HSET K a 1 b 2 c 3", ":3\r\n"),
            // A count of at least the size: the whole hash, in order.
            ("HRANDFIELD K 3", &bulks(&["a", "b", "c"])),
            ("HRANDFIELD K 100 WITHVALUES", &bulks(&["a", "1", "b", "2", "c", "3"])),
            ("HRANDFIELD K 0", "*0\r\n"),
            ("HRANDFIELD K 0 WITHVALUES", "*0\r\n"),
            ("HRANDFIELD K 1 withvalues x", SYNTAX),
            ("HRANDFIELD K 1 2", SYNTAX),
            ("HRANDFIELD K 1.5", NOT_INT),
            ("HRANDFIELD K 9223372036854775808", NOT_INT),
            (
                "HRANDFIELD K -9223372036854775808",
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
            ),
            ("HRANDFIELD K 4611686018427387904 WITHVALUES", "-ERR value is out of range\r\n"),
            ("HRANDFIELD K -4611686018427387904 WITHVALUES", "-ERR value is out of range\r\n"),
            ("HRANDFIELD K 4611686018427387903 WITHVALUES", &bulks(&["a", "1", "b", "2", "c", "3"])),
            // A small hash is scanned whole, whatever the cursor and COUNT.
            ("HSCAN K 0", "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
            (
                "HSCAN K 123 COUNT 1",
                "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            ("HSCAN K 0 MATCH [ab] count 5", "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"),
            ("HSCAN K 0 MATCH 1", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("HSCAN K 0 MATCH * MATCH c", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
            (
                "HSCAN K 18446744073709551615",
                "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
            ),
            ("HSCAN K 18446744073709551616", "-ERR invalid cursor\r\n"),
            // strtoul's reading: a sign is allowed, and a minus wraps.
            ("HSCAN K -1 MATCH c", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
            ("HSCAN K +3 MATCH c", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
            ("HSCAN K -18446744073709551616", "-ERR invalid cursor\r\n"),
            ("HSCAN K -", "-ERR invalid cursor\r\n"),
            ("HSCAN K 1x", "-ERR invalid cursor\r\n"),
            ("HSCAN K 0 COUNT 0", SYNTAX),
            ("HSCAN K 0 COUNT x", NOT_INT),
            ("HSCAN K 0 COUNT", SYNTAX),
            ("HSCAN K 0 MATCH", SYNTAX),
            ("HSCAN K 0 TYPE hash", SYNTAX),
            ("HSCAN K 0 bogus 1", SYNTAX),
        ],
    );
    // An empty cursor is 0 to strtoul; a NUL ends it.
    p.session_raw(&steps(&[
        (&["DEL", "hs"], ":0\r\n"),
        (&["HSET", "hs", "a", "1"], ":1\r\n"),
        (&["HSCAN", "hs", ""], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["HSCAN", "hs", "5\0x"], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["HSCAN", "hs", " 5"], "-ERR invalid cursor\r\n"),
    ]));
    // A one-field hash makes repeats deterministic.
    on_each_shard(
        &p,
        &[
            ("DEL K", ":1\r\n"),
            ("HSET K f v", ":1\r\n"),
            ("HRANDFIELD K", "$1\r\nf\r\n"),
            ("HRANDFIELD K -3", &bulks(&["f", "f", "f"])),
            ("HRANDFIELD K -2 WITHVALUES", &bulks(&["f", "v", "f", "v"])),
            ("HRANDFIELD K 1 WITHVALUES", &bulks(&["f", "v"])),
        ],
    );
}

#[test]
fn resp3_shapes() {
    let p = Pair::start(&[]);
    let [a, b] = two_keys();
    for key in [a.as_str(), b.as_str()] {
        p.session_resp3_raw(&steps(&[
            (&["DEL", key], ":0\r\n"),
            (&["HGETALL", key], "%0\r\n"),
            (&["HKEYS", key], "*0\r\n"),
            (&["HGET", key, "f"], "_\r\n"),
            (&["HRANDFIELD", key], "_\r\n"),
            (&["HRANDFIELD", key, "2"], "*0\r\n"),
            (&["HSET", key, "f", "v", "g", "w"], ":2\r\n"),
            (&["HGETALL", key], "%2\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\nw\r\n"),
            (&["HKEYS", key], "*2\r\n$1\r\nf\r\n$1\r\ng\r\n"),
            (&["HVALS", key], "*2\r\n$1\r\nv\r\n$1\r\nw\r\n"),
            (&["HMGET", key, "f", "x"], "*2\r\n$1\r\nv\r\n_\r\n"),
            (&["HRANDFIELD", key, "5"], "*2\r\n$1\r\nf\r\n$1\r\ng\r\n"),
            (&["HRANDFIELD", key, "5", "WITHVALUES"], "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n"),
            (&["HINCRBYFLOAT", key, "n", "1.5"], "$3\r\n1.5\r\n"),
            (&["HSCAN", key, "0", "MATCH", "n"], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nn\r\n$3\r\n1.5\r\n"),
            (&["HDEL", key, "f", "g"], ":2\r\n"),
            (
                &["HRANDFIELD", key, "-2", "WITHVALUES"],
                "*2\r\n*2\r\n$1\r\nn\r\n$3\r\n1.5\r\n*2\r\n$1\r\nn\r\n$3\r\n1.5\r\n",
            ),
        ]));
    }
}

/// The bulks of a flat array reply frame.
fn parse_bulks(frame: &[u8]) -> Vec<Vec<u8>> {
    let text = frame;
    let mut out = Vec::new();
    let mut pos = text.iter().position(|&c| c == b'\n').unwrap() + 1;
    while pos < text.len() {
        assert_eq!(text[pos], b'$', "{:?}", Esc(frame.to_vec()));
        let eol = pos + text[pos..].iter().position(|&c| c == b'\n').unwrap();
        let len: usize = std::str::from_utf8(&text[pos + 1..eol - 1]).unwrap().parse().unwrap();
        out.push(text[eol + 1..eol + 1 + len].to_vec());
        pos = eol + 1 + len + 2;
    }
    out
}

fn call(s: &mut std::net::TcpStream, args: &[&str]) -> Vec<u8> {
    send_lenient(s, &encode(args));
    read_frames(s, 1).remove(0)
}

/// An HSCAN reply: its cursor and items.
fn scan_reply(frame: &[u8]) -> (u64, Vec<Vec<u8>>) {
    // `*2\r\n$n\r\ncursor\r\n*m\r\n…`
    let text = frame;
    let mut lines = text.split(|&c| c == b'\n');
    lines.next();
    lines.next();
    let cursor: u64 = std::str::from_utf8(lines.next().unwrap()).unwrap().trim_end().parse().unwrap();
    let start = text.windows(2).enumerate().filter(|(_, w)| w == b"\r\n").nth(2).unwrap().0 + 2;
    (cursor, parse_bulks(&text[start..]))
}

fn fill(s: &mut std::net::TcpStream, key: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut args = vec!["HSET".to_string(), key.to_string()];
        for i in chunk {
            args.push(format!("field:{i}"));
            args.push(format!("value:{i}"));
        }
        let args: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
        assert_eq!(call(s, &args), format!(":{}\r\n", chunk.len()).into_bytes());
    }
}

#[test]
fn a_thousand_fields() {
    let p = Pair::start(&[]);
    for key in two_keys() {
        for (name, port) in p.ports() {
            let mut s = connect(port);
            call(&mut s, &["DEL", &key]);
            fill(&mut s, &key, 1000);
            assert_eq!(call(&mut s, &["HLEN", &key]), b":1000\r\n", "{name}");
            let all = call(&mut s, &["HGETALL", &key]);
            let pairs = parse_bulks(&all);
            assert_eq!(pairs.len(), 2000, "{name}");
            let map: BTreeMap<Vec<u8>, Vec<u8>> = pairs.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
            assert_eq!(map.len(), 1000, "{name}");
            for (f, v) in &map {
                assert_eq!(&f[6..], &v[6..], "{name}");
            }
            assert_eq!(parse_bulks(&call(&mut s, &["HKEYS", &key])).len(), 1000);
            assert_eq!(parse_bulks(&call(&mut s, &["HVALS", &key])).len(), 1000);
            // HSCAN with COUNT: every field, with its value; shardis's
            // table is not rehashing, so each exactly once (Redis may be
            // mid-rehash and repeat some).
            for count in ["1", "10", "77"] {
                let mut seen: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
                let mut cursor = 0u64;
                let mut calls = 0;
                loop {
                    let (next, items) =
                        scan_reply(&call(&mut s, &["HSCAN", &key, &cursor.to_string(), "COUNT", count]));
                    for pair in items.chunks(2) {
                        assert_eq!(map.get(&pair[0]), Some(&pair[1]), "{name}");
                        *seen.entry(pair[0].clone()).or_default() += 1;
                    }
                    calls += 1;
                    cursor = next;
                    if cursor == 0 {
                        break;
                    }
                    assert!(calls < 10_000, "{name}");
                }
                assert_eq!(seen.len(), 1000, "{name} COUNT {count}");
                if name == "shardis" {
                    assert!(seen.values().all(|&n| n == 1), "COUNT {count}");
                    assert!(calls > 1);
                }
            }
            // MATCH filters fields.
            let mut matched = BTreeSet::new();
            let mut cursor = 0u64;
            loop {
                let (next, items) = scan_reply(&call(
                    &mut s,
                    &["HSCAN", &key, &cursor.to_string(), "MATCH", "field:9?", "COUNT", "50"],
                ));
                for pair in items.chunks(2) {
                    matched.insert(pair[0].clone());
                }
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
            let want: BTreeSet<Vec<u8>> = (90..100).map(|i| format!("field:{i}").into_bytes()).collect();
            assert_eq!(matched, want, "{name}");
            assert_eq!(call(&mut s, &["DEL", &key]), b":1\r\n");
        }
    }
}

#[test]
fn hrandfield_properties() {
    let p = Pair::start(&[]);
    for (n, key) in [(20usize, two_keys()[0].clone()), (300, two_keys()[1].clone())] {
        for (name, port) in p.ports() {
            let mut s = connect(port);
            call(&mut s, &["DEL", &key]);
            fill(&mut s, &key, n);
            let is_field = |f: &[u8]| {
                f.starts_with(b"field:") && std::str::from_utf8(&f[6..]).unwrap().parse::<usize>().unwrap() < n
            };
            // No count: one field.
            for _ in 0..20 {
                let f = call(&mut s, &["HRANDFIELD", &key]);
                let f = parse_bulks(&[b"*1\r\n".as_slice(), &f].concat()).remove(0);
                assert!(is_field(&f), "{name}");
            }
            for count in [1, 2, n / 4, n / 2, n - 1, n, n + 10] {
                // Distinct fields, min(count, n) of them.
                let fields = parse_bulks(&call(&mut s, &["HRANDFIELD", &key, &count.to_string()]));
                assert_eq!(fields.len(), count.min(n), "{name} {count}");
                assert!(fields.iter().all(|f| is_field(f)), "{name}");
                let distinct: BTreeSet<_> = fields.iter().collect();
                assert_eq!(distinct.len(), fields.len(), "{name} {count}");
                // With values: the right value for each field.
                let pairs = parse_bulks(&call(&mut s, &["HRANDFIELD", &key, &count.to_string(), "WITHVALUES"]));
                assert_eq!(pairs.len(), 2 * count.min(n), "{name} {count}");
                for pair in pairs.chunks(2) {
                    assert!(is_field(&pair[0]) && pair[0][6..] == pair[1][6..], "{name}");
                }
                let distinct: BTreeSet<_> = pairs.chunks(2).map(|c| c[0].clone()).collect();
                assert_eq!(distinct.len(), count.min(n), "{name} {count}");
            }
            // Negative: exactly that many, repeats allowed, and with many
            // picks nearly every field shows up.
            let picks = parse_bulks(&call(&mut s, &["HRANDFIELD", &key, &format!("-{}", 10 * n)]));
            assert_eq!(picks.len(), 10 * n, "{name}");
            assert!(picks.iter().all(|f| is_field(f)), "{name}");
            let distinct: BTreeSet<_> = picks.iter().collect();
            assert!(distinct.len() > n * 9 / 10, "{name}: {} of {n}", distinct.len());
            let pairs = parse_bulks(&call(&mut s, &["HRANDFIELD", &key, "-7", "WITHVALUES"]));
            assert_eq!(pairs.len(), 14, "{name}");
            for pair in pairs.chunks(2) {
                assert!(is_field(&pair[0]) && pair[0][6..] == pair[1][6..], "{name}");
            }
            // Not always the same answer.
            let answers: BTreeSet<Vec<u8>> = (0..20).map(|_| call(&mut s, &["HRANDFIELD", &key, "3"])).collect();
            assert!(answers.len() > 1, "{name}");
        }
    }
}

/// Shardis only: the oracle is Redis 7.0, without NOVALUES.
#[test]
fn hscan_novalues() {
    let server = common::Server::start();
    let mut s = connect(server.port);
    for key in two_keys() {
        call(&mut s, &["HSET", &key, "a", "1", "b", "2"]);
        assert_eq!(
            call(&mut s, &["HSCAN", &key, "0", "NOVALUES"]),
            b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n".to_vec()
        );
        assert_eq!(
            call(&mut s, &["HSCAN", &key, "0", "novalues", "MATCH", "b", "NOVALUES"]),
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nb\r\n".to_vec()
        );
        fill(&mut s, &key, 500);
        let mut seen = BTreeSet::new();
        let mut cursor = 0u64;
        loop {
            let (next, items) = scan_reply(&call(&mut s, &["HSCAN", &key, &cursor.to_string(), "NOVALUES"]));
            for f in items {
                assert!(f.starts_with(b"field:") || f == b"a" || f == b"b", "{:?}", Esc(f));
                assert!(seen.insert(f));
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 502);
    }
}

/// Shardis only: encodings as Redis 7.2 reports them (literal
/// expectations; the 7.0 oracle agrees for hashes, but 7.2 is the
/// reference).
#[test]
fn encodings_follow_redis_72() {
    let server = common::Server::start();
    let mut s = connect(server.port);
    let enc = |s: &mut std::net::TcpStream, key: &str| call(s, &["OBJECT", "ENCODING", key]);
    const LISTPACK: &[u8] = b"$8\r\nlistpack\r\n";
    const HASHTABLE: &[u8] = b"$9\r\nhashtable\r\n";
    for key in two_keys() {
        // Past 512 fields (Redis's default `hash-max-listpack-entries`).
        call(&mut s, &["DEL", &key]);
        fill(&mut s, &key, 512);
        assert_eq!(enc(&mut s, &key), LISTPACK);
        call(&mut s, &["HSET", &key, "field:5", "x"]);
        assert_eq!(enc(&mut s, &key), LISTPACK);
        call(&mut s, &["HSET", &key, "one-more", "x"]);
        assert_eq!(enc(&mut s, &key), HASHTABLE);
        // Never back, even when small again.
        for i in 0..512 {
            call(&mut s, &["HDEL", &key, &format!("field:{i}")]);
        }
        assert_eq!(call(&mut s, &["HLEN", &key]), b":1\r\n");
        assert_eq!(enc(&mut s, &key), HASHTABLE);
        // A 64-byte value fits, a 65-byte one (value or field) does not.
        let (v64, v65) = ("v".repeat(64), "v".repeat(65));
        for (field, value) in [("f", v65.as_str()), (v65.as_str(), "x")] {
            call(&mut s, &["DEL", &key]);
            call(&mut s, &["HSET", &key, "f", &v64, &v64, "x"]);
            assert_eq!(enc(&mut s, &key), LISTPACK);
            call(&mut s, &["HSET", &key, field, value]);
            assert_eq!(enc(&mut s, &key), HASHTABLE);
        }
        // HSETNX of an existing field does not convert; HINCRBYFLOAT and
        // HSETNX with long parts do.
        call(&mut s, &["DEL", &key]);
        call(&mut s, &["HSET", &key, "f", "1"]);
        call(&mut s, &["HSETNX", &key, "f", &v65]);
        assert_eq!(enc(&mut s, &key), LISTPACK);
        call(&mut s, &["HSETNX", &key, "g", &v65]);
        assert_eq!(enc(&mut s, &key), HASHTABLE);
        call(&mut s, &["DEL", &key]);
        call(&mut s, &["HINCRBYFLOAT", &key, &v65, "1"]);
        assert_eq!(enc(&mut s, &key), HASHTABLE);
        // One HSET of more pairs than the limit converts at once, even
        // with duplicates.
        call(&mut s, &["DEL", &key]);
        let mut args = vec!["HSET", key.as_str()];
        for _ in 0..513 {
            args.extend(["same", "v"]);
        }
        assert_eq!(call(&mut s, &args), b":1\r\n");
        assert_eq!(enc(&mut s, &key), HASHTABLE);
    }
    // The thresholds follow CONFIG SET.
    assert_eq!(call(&mut s, &["CONFIG", "SET", "hash-max-listpack-entries", "4"]), b"+OK\r\n");
    assert_eq!(call(&mut s, &["CONFIG", "SET", "hash-max-listpack-value", "8"]), b"+OK\r\n");
    for key in two_keys() {
        call(&mut s, &["DEL", &key]);
        call(&mut s, &["HSET", &key, "a", "1", "b", "2", "c", "3", "d", "12345678"]);
        assert_eq!(enc(&mut s, &key), LISTPACK);
        call(&mut s, &["HSET", &key, "e", "5"]);
        assert_eq!(enc(&mut s, &key), HASHTABLE);
        call(&mut s, &["DEL", &key]);
        call(&mut s, &["HSET", &key, "a", "123456789"]);
        assert_eq!(enc(&mut s, &key), HASHTABLE);
        // The alias of Redis 6 names the same setting.
        call(&mut s, &["DEL", &key]);
    }
    assert_eq!(call(&mut s, &["CONFIG", "SET", "hash-max-ziplist-entries", "1"]), b"+OK\r\n");
    for key in two_keys() {
        call(&mut s, &["HSET", &key, "a", "1"]);
        assert_eq!(enc(&mut s, &key), LISTPACK);
        call(&mut s, &["HSET", &key, "b", "1"]);
        assert_eq!(enc(&mut s, &key), HASHTABLE);
    }
}
