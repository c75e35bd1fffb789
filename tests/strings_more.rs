//! String commands, black-box, continued: INCRBYFLOAT (literal cases and
//! random values compared with redis-server), MSETNX and LCS with keys on
//! one shard and on two, LCS's reply shapes in RESP2 and RESP3 and its
//! memory bound, and the string family's command table against Redis's.
//!
//! Expectations are literal and, when redis-server is installed, checked
//! against it byte for byte.

mod common;

use common::oracle::{
    connect, encode, frame_len, keys_on_shard, read_frames, send_lenient, with_a_list, Esc, Pair, Rng,
};

const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const NAN_OR_INF: &str = "-ERR increment would produce NaN or Infinity\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_STRINGS: &str = "-ERR The specified keys must contain string values\r\n";

fn arity(cmd: &str) -> String {
    format!("-ERR wrong number of arguments for '{}' command\r\n", cmd)
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{}\r\n", v.len(), v)
}

/// Steps of (arguments, exact reply).
fn steps(list: &[(&[&str], &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    list.iter().map(|(args, reply)| (encode(args), reply.as_bytes().to_vec())).collect()
}

#[test]
fn incrbyfloat_cases() {
    let p = Pair::start(&[]);
    p.session_raw(&steps(&[
        (&["FLUSHALL"], "+OK\r\n"),
        // The examples of the Redis docs.
        (&["SET", "k", "10.50"], "+OK\r\n"),
        (&["INCRBYFLOAT", "k", "0.1"], "$4\r\n10.6\r\n"),
        (&["INCRBYFLOAT", "k", "-5"], "$3\r\n5.6\r\n"),
        (&["SET", "k", "5.0e3"], "+OK\r\n"),
        (&["INCRBYFLOAT", "k", "2.0e2"], "$4\r\n5200\r\n"),
        // Where an f64 would show its rounding.
        (&["INCRBYFLOAT", "f", "0.1"], "$3\r\n0.1\r\n"),
        (&["INCRBYFLOAT", "f", "0.2"], "$3\r\n0.3\r\n"),
        (&["SET", "i", "9223372036854775807"], "+OK\r\n"),
        (&["INCRBYFLOAT", "i", "1"], "$19\r\n9223372036854775808\r\n"),
        (&["INCRBYFLOAT", "i", "-0.5"], "$21\r\n9223372036854775807.5\r\n"),
        (&["INCRBYFLOAT", "d", "1.23456789012345678"], "$19\r\n1.23456789012345678\r\n"),
        (&["INCRBYFLOAT", "z", "-0.0"], "$1\r\n0\r\n"),
        (&["INCRBYFLOAT", "z", "1e-20"], "$1\r\n0\r\n"),
        (&["INCRBYFLOAT", "e", "1e20"], "$21\r\n100000000000000000000\r\n"),
        (&["INCRBYFLOAT", "e", "-1E+20"], "$1\r\n0\r\n"),
        (&["INCRBYFLOAT", "e", "+.5"], "$3\r\n0.5\r\n"),
        (&["INCRBYFLOAT", "e", "5."], "$3\r\n5.5\r\n"),
        (&["INCRBYFLOAT", "h", "0x10"], "$2\r\n16\r\n"),
        (&["INCRBYFLOAT", "h", "0x1p-2"], "$5\r\n16.25\r\n"),
        // The result is a string: INCR reads it only if it is an integer.
        (&["INCR", "h"], NOT_INT),
        (&["INCRBYFLOAT", "h", "0.75"], "$2\r\n17\r\n"),
        (&["INCR", "h"], ":18\r\n"),
        // Increments and values that are not floats.
        (&["INCRBYFLOAT", "k", "abc"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", ""], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", " 1"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "1 "], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "1e"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "1.2.3"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "0x"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "1,5"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "1\0"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "nan"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "-NaN"], NOT_FLOAT),
        // Out of the long double range: refused as strtold's range errors.
        (&["INCRBYFLOAT", "k", "1e5000"], NOT_FLOAT),
        (&["INCRBYFLOAT", "k", "1e-5000"], NOT_FLOAT),
        // Infinities parse, but the sum may not be infinite.
        (&["INCRBYFLOAT", "k", "inf"], NAN_OR_INF),
        (&["INCRBYFLOAT", "k", "-Infinity"], NAN_OR_INF),
        (&["SET", "big", "1.1e4932"], "+OK\r\n"),
        (&["INCRBYFLOAT", "big", "1.1e4932"], NAN_OR_INF),
        (&["SET", "inf", "inf"], "+OK\r\n"),
        (&["INCRBYFLOAT", "inf", "1"], NAN_OR_INF),
        (&["SET", "s", "abc"], "+OK\r\n"),
        (&["INCRBYFLOAT", "s", "1"], NOT_FLOAT),
        (&["SET", "s", " 1"], "+OK\r\n"),
        (&["INCRBYFLOAT", "s", "1"], NOT_FLOAT),
        (&["SET", "s", "1.5 "], "+OK\r\n"),
        (&["INCRBYFLOAT", "s", "x"], NOT_FLOAT),
        (&["MGET", "k", "s", "big", "inf"], "*4\r\n$4\r\n5200\r\n$4\r\n1.5 \r\n$8\r\n1.1e4932\r\n$3\r\ninf\r\n"),
        (&["EXISTS", "nokey"], ":0\r\n"),
        (&["INCRBYFLOAT", "nokey", "inf"], NAN_OR_INF),
        (&["EXISTS", "nokey"], ":0\r\n"),
        (&["INCRBYFLOAT", "k"], &arity("incrbyfloat")),
        (&["INCRBYFLOAT", "k", "1", "2"], &arity("incrbyfloat")),
    ]));
    with_a_list(
        &p,
        "list",
        &[(&["INCRBYFLOAT", "list", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")],
    );
}

/// A random number as a client might send it: plain decimals mostly, some
/// with exponents (small and near the long double limits), integers,
/// hexadecimal floats.
fn random_number(rng: &mut Rng) -> String {
    let digits = |rng: &mut Rng, n: usize| (0..n).map(|_| char::from(b'0' + rng.below(10) as u8)).collect::<String>();
    let sign = *rng.pick(&["", "", "", "-", "+"]);
    let body = match rng.below(10) {
        0..=3 => {
            let (int, frac) = (rng.below(12), rng.below(20));
            format!("{}.{}", digits(rng, int.max(1)), digits(rng, frac))
        }
        4 => {
            let (int, frac) = (rng.below(1000), 1 + rng.below(3));
            format!("{}.{}", int, digits(rng, frac))
        }
        5 => {
            let exp = *rng.pick(&[0, 1, 5, 15, 17, 19, 20, 25, 300, 4000, 4930]) as i64;
            let exp = if rng.chance(50) { -exp } else { exp };
            let (int, frac) = (rng.below(10), rng.below(18));
            format!("{}.{}e{}", int, digits(rng, frac), exp)
        }
        6 => (rng.next_u64() as i64 >> rng.below(64)).to_string(),
        7 => format!("0x{:x}.{:x}p{}", rng.below(1 << 20), rng.below(256), rng.below(80) as i64 - 40),
        _ => {
            let (zeros, n) = (rng.below(25), 1 + rng.below(6));
            format!("0.{}{}", "0".repeat(zeros), digits(rng, n))
        }
    };
    format!("{sign}{body}")
}

/// SET then INCRBYFLOAT with random values on both servers: the same
/// replies, digit for digit.
#[test]
fn incrbyfloat_random_values_match_redis() {
    let p = Pair::start(&[]);
    if p.redis.is_none() {
        eprintln!("note: no redis-server to compare with");
        return;
    }
    let mut rng = Rng::new(0x1c4b_f10a7);
    let mut cases = Vec::new();
    let mut req = Vec::new();
    for _ in 0..5000 {
        let (value, incr) = (random_number(&mut rng), random_number(&mut rng));
        req.extend(encode(&["SET", "k", &value]));
        req.extend(encode(&["INCRBYFLOAT", "k", &incr]));
        // And again, on the printed result.
        req.extend(encode(&["INCRBYFLOAT", "k", &incr]));
        cases.push((value, incr));
    }
    let replies: Vec<Vec<Vec<u8>>> = p
        .ports()
        .into_iter()
        .map(|(_, port)| {
            let mut s = connect(port);
            send_lenient(&mut s, &req);
            read_frames(&mut s, cases.len() * 3)
        })
        .collect();
    let mut differ = Vec::new();
    for (i, (value, incr)) in cases.iter().enumerate() {
        let ours = &replies[0][3 * i + 1..3 * i + 3];
        let theirs = &replies[1][3 * i + 1..3 * i + 3];
        if ours != theirs {
            differ.push(format!(
                "{value} + {incr}: shardis {:?}, redis {:?}",
                Esc(ours.concat()),
                Esc(theirs.concat())
            ));
        }
    }
    assert!(differ.is_empty(), "{} of {} differ:\n{}", differ.len(), cases.len(), differ.join("\n"));
    // Not all refused: most are sums.
    let sums = replies[0].iter().filter(|r| r.starts_with(b"$")).count();
    assert!(sums > cases.len(), "only {} sums", sums);
}

#[test]
fn msetnx_on_one_shard_and_across_shards() {
    let p = Pair::start(&[]);
    let a = keys_on_shard("nx:a", 0, 2, 4);
    let b = keys_on_shard("nx:b", 1, 2, 4);
    let (a0, a1, a2, a3) = (&a[0], &a[1], &a[2], &a[3]);
    let (b0, b1, b2, b3) = (&b[0], &b[1], &b[2], &b[3]);
    p.session(&[
        ("FLUSHALL", "+OK\r\n"),
        // One shard.
        (&format!("MSETNX {a0} 1 {a1} 2"), ":1\r\n"),
        (&format!("MGET {a0} {a1}"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
        (&format!("MSETNX {a2} x {a0} y"), ":0\r\n"),
        (&format!("MGET {a0} {a2}"), "*2\r\n$1\r\n1\r\n$-1\r\n"),
        // Two shards: all set, or none when any key exists on either.
        (&format!("MSETNX {a2} 3 {b0} 4 {b1} 5"), ":1\r\n"),
        (&format!("MGET {a2} {b0} {b1}"), "*3\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"),
        (&format!("MSETNX {b2} x {a2} y"), ":0\r\n"),
        (&format!("MSETNX {a3} x {b1} y"), ":0\r\n"),
        (&format!("MSETNX {a3} x {b2} y {b0} z"), ":0\r\n"),
        (&format!("EXISTS {a3} {b2}"), ":0\r\n"),
        (&format!("MGET {a2} {b0} {b1}"), "*3\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"),
        // A key named twice: the last value wins.
        (&format!("MSETNX {a3} x {b2} y {a3} z"), ":1\r\n"),
        (&format!("MGET {a3} {b2}"), "*2\r\n$1\r\nz\r\n$1\r\ny\r\n"),
        (&format!("MSETNX {b3} 1 {b3} 2"), ":1\r\n"),
        (&format!("GET {b3}"), "$1\r\n2\r\n"),
        // Values become integers where they are ones.
        (&format!("INCR {a2}"), ":4\r\n"),
        // Unpaired: an arity error on one shard and across shards.
        ("MSETNX", &arity("msetnx")),
        ("MSETNX k", &arity("msetnx")),
        (&format!("MSETNX {a0} 1 {a1}"), &arity("msetnx")),
        (&format!("MSETNX {a0} 1 {b0}"), &arity("msetnx")),
        (&format!("MSETNX new 1 {a0} 1 {b0}"), &arity("msetnx")),
        ("EXISTS new", ":0\r\n"),
    ]);
}

/// `[[a0, a1], [b0, b1](, len)]` of an IDX reply.
fn range(a: (u32, u32), b: (u32, u32), len: Option<u32>) -> String {
    let head = format!("*{}\r\n*2\r\n:{}\r\n:{}\r\n*2\r\n:{}\r\n:{}\r\n", 2 + len.is_some() as u8, a.0, a.1, b.0, b.1);
    head + &len.map(|l| format!(":{l}\r\n")).unwrap_or_default()
}

/// IDX's reply: `header` (`*4` or `%2`), the ranges, the length.
fn idx(header: &str, ranges: &[String], len: u32) -> String {
    format!("{header}\r\n$7\r\nmatches\r\n*{}\r\n{}$3\r\nlen\r\n:{len}\r\n", ranges.len(), ranges.concat())
}

/// LCS cases on `k1` = "ohmytext" and `k2` = "mynewtext" (the Redis docs'
/// example), with `map` the IDX reply header of the protocol.
fn lcs_cases(k1: &str, k2: &str, map: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let both = [range((4, 7), (5, 8), None), range((2, 3), (0, 1), None)];
    let both_len = [range((4, 7), (5, 8), Some(4)), range((2, 3), (0, 1), Some(2))];
    let long_only = [range((4, 7), (5, 8), Some(4))];
    let list: Vec<(Vec<&str>, String)> = vec![
        (vec!["MSET", k1, "ohmytext", k2, "mynewtext"], "+OK\r\n".into()),
        (vec!["LCS", k1, k2], bulk("mytext")),
        (vec!["LCS", k2, k1], bulk("mytext")),
        (vec!["LCS", k1, k2, "LEN"], ":6\r\n".into()),
        (vec!["LCS", k1, k2, "len", "LEN"], ":6\r\n".into()),
        (vec!["LCS", k1, k2, "IDX"], idx(map, &both, 6)),
        (vec!["LCS", k1, k2, "idx", "MINMATCHLEN", "4"], idx(map, &both[..1], 6)),
        (vec!["LCS", k1, k2, "IDX", "WITHMATCHLEN"], idx(map, &both_len, 6)),
        (vec!["LCS", k1, k2, "WITHMATCHLEN", "IDX", "MINMATCHLEN", "3"], idx(map, &long_only, 6)),
        (vec!["LCS", k1, k2, "IDX", "MINMATCHLEN", "5"], idx(map, &[], 6)),
        (vec!["LCS", k1, k2, "IDX", "MINMATCHLEN", "-1"], idx(map, &both, 6)),
        (vec!["LCS", k1, k2, "IDX", "MINMATCHLEN", "0", "MINMATCHLEN", "3"], idx(map, &both[..1], 6)),
        // MINMATCHLEN and WITHMATCHLEN mean nothing without IDX.
        (vec!["LCS", k1, k2, "MINMATCHLEN", "5", "WITHMATCHLEN"], bulk("mytext")),
        (vec!["LCS", k1, k2, "LEN", "MINMATCHLEN", "5"], ":6\r\n".into()),
        (vec!["LCS", k1, "nokey"], bulk("")),
        (vec!["LCS", "nokey", k2, "LEN"], ":0\r\n".into()),
        (vec!["LCS", "nokey", k2, "IDX"], idx(map, &[], 0)),
        // Errors, in Redis's order.
        (
            vec!["LCS", k1, k2, "LEN", "IDX"],
            "-ERR If you want both the length and indexes, please just use IDX.\r\n".into(),
        ),
        (vec!["LCS", k1, k2, "MINMATCHLEN"], SYNTAX.into()),
        (vec!["LCS", k1, k2, "MINMATCHLEN", "x", "LEN", "IDX"], NOT_INT.into()),
        (vec!["LCS", k1, k2, "MINMATCHLEN", "1.5"], NOT_INT.into()),
        (vec!["LCS", k1, k2, "LEN", "IDX", "foo"], SYNTAX.into()),
        (vec!["LCS", k1, k2, "foo"], SYNTAX.into()),
        (vec!["LCS", k1], arity("lcs")),
        // Binary values, and a subsequence that is not one run.
        (vec!["MSET", k1, "a\0b\r\nc", k2, "\0\nc"], "+OK\r\n".into()),
        (vec!["LCS", k1, k2], bulk("\0\nc")),
        (vec!["MSET", k1, "abcdefgh", k2, "xaxcxexgx"], "+OK\r\n".into()),
        (vec!["LCS", k1, k2], bulk("aceg")),
        (
            vec!["LCS", k1, k2, "IDX", "WITHMATCHLEN"],
            idx(
                map,
                &[
                    range((6, 6), (7, 7), Some(1)),
                    range((4, 4), (5, 5), Some(1)),
                    range((2, 2), (3, 3), Some(1)),
                    range((0, 0), (1, 1), Some(1)),
                ],
                4,
            ),
        ),
    ];
    list.iter().map(|(args, reply)| (encode(args), reply.as_bytes().to_vec())).collect()
}

#[test]
fn lcs_on_one_shard_and_across_shards() {
    let p = Pair::start(&[]);
    let a = keys_on_shard("lcs:a", 0, 2, 2);
    let b = keys_on_shard("lcs:b", 1, 2, 1);
    for (k1, k2) in [(&a[0], &a[1]), (&a[0], &b[0]), (&b[0], &a[1])] {
        p.session_raw(&lcs_cases(k1, k2, "*4"));
        p.session_resp3_raw(&lcs_cases(k1, k2, "%2"));
    }
    p.session_raw(&steps(&[(&["SET", "same", "abc"], "+OK\r\n"), (&["LCS", "same", "same", "LEN"], ":3\r\n")]));
    // A key of another type: LCS's own error, before the options.
    with_a_list(
        &p,
        "list",
        &[
            (&["SET", "s", "abc"], "+OK\r\n"),
            (&["LCS", "list", "s"], NOT_STRINGS),
            (&["LCS", "s", "list", "LEN", "IDX", "foo"], NOT_STRINGS),
            (&["LCS", "nokey", "list"], NOT_STRINGS),
        ],
    );
}

/// The DP table takes 4 * (|a|+1) * (|b|+1) bytes: refused past
/// proto-max-bulk-len, after the options are checked.
#[test]
fn lcs_table_is_bounded_by_proto_max_bulk_len() {
    let p = Pair::start(&["--proto-max-bulk-len", "1mb"]);
    let a = keys_on_shard("lcs:a", 0, 2, 2);
    let b = keys_on_shard("lcs:b", 1, 2, 1);
    let too_big = "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n";
    let (small, large) = ("ab".repeat(200), "ba".repeat(300));
    for (k1, k2) in [(&a[0], &a[1]), (&a[0], &b[0])] {
        p.session_raw(&steps(&[
            (&["SET", k1, &small], "+OK\r\n"),
            (&["SET", k2, &small], "+OK\r\n"),
            (&["LCS", k1, k2, "LEN"], ":400\r\n"),
            (&["SET", k2, &large], "+OK\r\n"),
            // 401 * 601 * 4 bytes < 1 MiB.
            (&["LCS", k1, k2, "LEN"], ":400\r\n"),
            (&["SET", k1, &large], "+OK\r\n"),
            // 601 * 601 * 4 bytes > 1 MiB.
            (&["LCS", k1, k2, "LEN"], too_big),
            (&["LCS", k1, k2, "LEN", "IDX"], "-ERR If you want both the length and indexes, please just use IDX.\r\n"),
            (&["CONFIG", "SET", "proto-max-bulk-len", "2mb"], "+OK\r\n"),
            (&["LCS", k1, k2, "LEN"], ":600\r\n"),
            (&["CONFIG", "SET", "proto-max-bulk-len", "1mb"], "+OK\r\n"),
        ]));
    }
}

/// The frames of a `COMMAND INFO x` reply's single entry.
fn info_fields(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut at = "*1\r\n*10\r\n".len();
    let mut out = Vec::new();
    while at < reply.len() {
        let n = frame_len(&reply[at..]).expect("a complete frame");
        out.push(reply[at..at + n].to_vec());
        at += n;
    }
    out
}

fn call(port: u16, args: &[&str]) -> Vec<u8> {
    let mut s = connect(port);
    send_lenient(&mut s, &encode(args));
    read_frames(&mut s, 1).remove(0)
}

const FAMILY: &[&str] = &[
    "get",
    "set",
    "setnx",
    "setex",
    "psetex",
    "getset",
    "getdel",
    "getex",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "incrbyfloat",
    "mget",
    "mset",
    "msetnx",
    "append",
    "strlen",
    "getrange",
    "substr",
    "setrange",
    "lcs",
];

/// COMMAND INFO as redis-server has it: name, arity, flags, key positions,
/// ACL categories and key specs (tips, and the key specs' notes of SET and
/// GETEX, are not published); key flags through GETKEYSANDFLAGS.
#[test]
fn command_table_matches_redis() {
    let p = Pair::start(&[]);
    let Some(redis) = p.redis_port() else {
        eprintln!("note: no redis-server to compare with");
        return;
    };
    let ours = p.shardis.port;
    for name in FAMILY {
        let (mine, theirs) = (
            info_fields(&call(ours, &["COMMAND", "INFO", name])),
            info_fields(&call(redis, &["COMMAND", "INFO", name])),
        );
        assert_eq!(mine.len(), 10, "{name}");
        for i in [0, 1, 2, 3, 4, 5, 6, 9] {
            assert_eq!(Esc(mine[i].clone()), Esc(theirs[i].clone()), "COMMAND INFO {name}, field {i}");
        }
        if !["set", "getex"].contains(name) {
            assert_eq!(Esc(mine[8].clone()), Esc(theirs[8].clone()), "COMMAND INFO {name}, key specs");
        }
        let keys: &[&str] = match *name {
            "mset" | "msetnx" => &["a", "1", "b", "2"],
            "lcs" => &["a", "b"],
            "setex" | "psetex" | "getrange" | "substr" | "setrange" => &["a", "1", "2"],
            "set" | "setnx" | "getset" | "incrby" | "decrby" | "incrbyfloat" | "append" => &["a", "1"],
            _ => &["a"],
        };
        if *name == "set" {
            // Redis works SET's key flags out from its arguments (OW unless
            // GET); shardis publishes the key spec's.
            continue;
        }
        let query: Vec<&str> = ["COMMAND", "GETKEYSANDFLAGS", name].iter().chain(keys).copied().collect();
        assert_eq!(Esc(call(ours, &query)), Esc(call(redis, &query)), "{:?}", query);
    }
}

/// COMMAND DOCS argument trees, Redis 7.2's.
#[test]
fn command_docs_arguments() {
    let p = Pair::start(&[]);
    let docs = |name: &str| String::from_utf8(call(p.shardis.port, &["COMMAND", "DOCS", name])).unwrap();
    let lcs = docs("lcs");
    for part in [
        "$4\r\nname\r\n$4\r\nkey1\r\n$4\r\ntype\r\n$3\r\nkey\r\n$12\r\ndisplay_text\r\n$4\r\nkey1\r\n$14\r\nkey_spec_index\r\n:0\r\n",
        "$4\r\nname\r\n$4\r\nkey2\r\n$4\r\ntype\r\n$3\r\nkey\r\n$12\r\ndisplay_text\r\n$4\r\nkey2\r\n$14\r\nkey_spec_index\r\n:0\r\n",
        "$4\r\nname\r\n$13\r\nmin-match-len\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$12\r\ndisplay_text\r\n$13\r\nmin-match-len\r\n$5\r\ntoken\r\n$11\r\nMINMATCHLEN\r\n",
        "$4\r\nname\r\n$12\r\nwithmatchlen\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$12\r\ndisplay_text\r\n$12\r\nwithmatchlen\r\n$5\r\ntoken\r\n$12\r\nWITHMATCHLEN\r\n",
        "$5\r\nsince\r\n$5\r\n7.0.0\r\n",
    ] {
        assert!(lcs.contains(part), "{lcs:?} lacks {part:?}");
    }
    let getex = docs("getex");
    for part in ["$10\r\nexpiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n", "$7\r\npersist\r\n", "$7\r\nPERSIST\r\n"] {
        assert!(getex.contains(part), "{getex:?} lacks {part:?}");
    }
    let msetnx = docs("msetnx");
    assert!(msetnx.contains("$4\r\nname\r\n$4\r\ndata\r\n$4\r\ntype\r\n$5\r\nblock\r\n"), "{msetnx:?}");
    let incrbyfloat = docs("incrbyfloat");
    assert!(
        incrbyfloat.contains("$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$6\r\ndouble\r\n$12\r\ndisplay_text\r\n"),
        "{incrbyfloat:?}"
    );
}
