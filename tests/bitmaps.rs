//! Bitmap commands, black-box: SETBIT/GETBIT, BITCOUNT and BITPOS with
//! byte and bit ranges (negative, reversed, out of range), BITOP with every
//! operation and sources of different lengths (also spread over shards),
//! BITFIELD with every type width and overflow mode, BITFIELD_RO, every
//! error in the order Redis checks them, the command table entries, and a
//! randomized run compared with redis-server reply for reply.
//!
//! Expectations are literal and, when redis-server is installed, checked
//! against it byte for byte; the width sweep and the random run compare
//! the two servers directly. (No other value types exist yet, so WRONGTYPE
//! cannot be provoked.)

mod common;

use std::net::TcpStream;

use common::oracle::{connect, keys_on_shard, read_frames, send_lenient, Esc, Pair, Rng};

const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const BIT_OFFSET: &str = "-ERR bit offset is not an integer or out of range\r\n";
const BIT_VALUE: &str = "-ERR bit is not an integer or out of range\r\n";
const BIT_ARG: &str = "-ERR The bit argument must be 1 or 0.\r\n";
const BITOP_NOT: &str = "-ERR BITOP NOT must be called with a single source key.\r\n";
const FIELD_TYPE: &str =
    "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
const OVERFLOW_TYPE: &str = "-ERR Invalid OVERFLOW type specified\r\n";
const FIELD_RO: &str = "-ERR BITFIELD_RO only supports the GET subcommand\r\n";
const NIL: &str = "$-1\r\n";
const OK: &str = "+OK\r\n";

fn int(n: i64) -> String {
    format!(":{}\r\n", n)
}

fn ints(ns: &[i64]) -> String {
    ns.iter().fold(format!("*{}\r\n", ns.len()), |acc, n| acc + &int(*n))
}

fn bulk(b: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", b.len()).into_bytes();
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
    out
}

fn arity(cmd: &str) -> String {
    format!("-ERR wrong number of arguments for '{}' command\r\n", cmd)
}

/// A session of space-separated commands with owned expected replies.
fn session(p: &Pair, steps: &[(&str, String)]) {
    let steps: Vec<(&str, &str)> = steps.iter().map(|(c, r)| (*c, r.as_str())).collect();
    p.session(&steps);
}

/// A session of binary-safe commands (arguments given one by one).
fn session_raw(p: &Pair, steps: &[(&[&[u8]], Vec<u8>)]) {
    let steps: Vec<(Vec<u8>, Vec<u8>)> =
        steps.iter().map(|(args, reply)| (common::resp(args), reply.clone())).collect();
    p.session_raw(&steps);
}

fn s(reply: &str) -> String {
    reply.to_string()
}

/// One connection to each server: every command goes to both and must get
/// the same reply bytes. None (with a note) without redis-server.
struct Duo {
    ours: TcpStream,
    theirs: TcpStream,
}

impl Duo {
    fn open(p: &Pair) -> Option<Duo> {
        let Some(port) = p.redis_port() else {
            eprintln!("note: redis-server not installed; skipping the comparison");
            return None;
        };
        Some(Duo { ours: connect(p.shardis.port), theirs: connect(port) })
    }

    fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let (ours, theirs) = self.both(args);
        assert_eq!(Esc(ours.clone()), Esc(theirs), "shardis vs redis-server for {:?}", Esc(common::resp(args)));
        ours
    }

    fn call_str(&mut self, cmd: &str) -> Vec<u8> {
        let args: Vec<&[u8]> = cmd.split(' ').map(str::as_bytes).collect();
        self.call(&args)
    }

    /// Both replies, not compared (for replies that name the server).
    fn both(&mut self, args: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        let req = common::resp(args);
        send_lenient(&mut self.ours, &req);
        send_lenient(&mut self.theirs, &req);
        (read_frames(&mut self.ours, 1).remove(0), read_frames(&mut self.theirs, 1).remove(0))
    }
}

#[test]
fn setbit_and_getbit() {
    let p = Pair::start(&[]);
    session(
        &p,
        &[
            ("FLUSHALL", s(OK)),
            ("SETBIT k 7 1", int(0)),
            ("SETBIT k 7 1", int(1)),
            ("SETBIT k 7 0", int(1)),
            ("SETBIT k 0 1", int(0)),
            // Growing zero-fills.
            ("SETBIT k 17 1", int(0)),
            ("GETBIT k 0", int(1)),
            ("GETBIT k 1", int(0)),
            ("GETBIT k 17", int(1)),
            ("GETBIT k 24", int(0)),
            ("GETBIT k 4294967295", int(0)),
            ("GETBIT nokey 0", int(0)),
            ("EXISTS nokey", int(0)),
            // Clearing a bit of a missing key creates it, zero-filled.
            ("SETBIT new 9 0", int(0)),
            ("EXISTS new", int(1)),
            // An integer value is its decimal text: "12" is 0x31 0x32.
            ("SET n 12", s(OK)),
            ("GETBIT n 2", int(1)),
            ("GETBIT n 0", int(0)),
            ("GETBIT n 15", int(0)),
            ("SETBIT n 7 0", int(1)),
            ("GET n", s("$2\r\n02\r\n")),
            ("SETBIT n 15 1", int(0)),
            ("GET n", s("$2\r\n03\r\n")),
            // Errors: the offset first, then the bit, then the key.
            ("SETBIT k -1 1", s(BIT_OFFSET)),
            ("SETBIT k 4294967296 1", s(BIT_OFFSET)),
            ("SETBIT k 18446744073709551616 1", s(BIT_OFFSET)),
            ("SETBIT k x 1", s(BIT_OFFSET)),
            ("SETBIT k 1.5 1", s(BIT_OFFSET)),
            ("SETBIT k #1 1", s(BIT_OFFSET)),
            ("SETBIT k 01 1", s(BIT_OFFSET)),
            ("SETBIT k x 2", s(BIT_OFFSET)),
            ("SETBIT k 0 2", s(BIT_VALUE)),
            ("SETBIT k 0 -1", s(BIT_VALUE)),
            ("SETBIT k 0 x", s(BIT_VALUE)),
            ("SETBIT k 0 01", s(BIT_VALUE)),
            ("SETBIT nokey 4294967296 1", s(BIT_OFFSET)),
            ("SETBIT nokey 0 2", s(BIT_VALUE)),
            ("EXISTS nokey", int(0)),
            ("GETBIT k -1", s(BIT_OFFSET)),
            ("GETBIT k 4294967296", s(BIT_OFFSET)),
            ("GETBIT nokey x", s(BIT_OFFSET)),
            ("SETBIT k 1", arity("setbit")),
            ("SETBIT k 1 1 1", arity("setbit")),
            ("GETBIT k", arity("getbit")),
            ("GETBIT k 1 2", arity("getbit")),
        ],
    );
    session_raw(
        &p,
        &[
            (&[b"GET", b"k"], bulk(&[0x80, 0x00, 0x40])),
            (&[b"GET", b"new"], bulk(&[0, 0])),
            (&[b"SETBIT", b"k", b"", b"1"], BIT_OFFSET.into()),
            (&[b"SETBIT", b"k", b"1", b""], BIT_VALUE.into()),
            (&[b"SETBIT", b"k", b" 1", b"1"], BIT_OFFSET.into()),
            (&[b"SETBIT", b"k", b"1\0", b"1"], BIT_OFFSET.into()),
            // Binary-safe keys.
            (&[b"SETBIT", b"\0\xff", b"3", b"1"], int(0).into()),
            (&[b"GET", b"\0\xff"], bulk(&[0x10])),
        ],
    );
}

/// The offset limit follows proto-max-bulk-len: the byte an offset falls in
/// must be below it (so a client cannot make a string larger than that).
#[test]
fn offsets_are_bounded_by_proto_max_bulk_len() {
    let p = Pair::start(&["--proto-max-bulk-len", "1mb"]);
    session(
        &p,
        &[
            ("FLUSHALL", s(OK)),
            ("SETBIT k 8388608 1", s(BIT_OFFSET)),
            ("GETBIT k 8388608", s(BIT_OFFSET)),
            ("EXISTS k", int(0)),
            ("SETBIT k 8388607 1", int(0)),
            ("GETBIT k 8388607", int(1)),
            ("BITCOUNT k", int(1)),
            ("BITPOS k 1", int(8388607)),
            ("BITPOS k 1 -1", int(8388607)),
            ("BITPOS k 0 -1", int(8388600)),
            ("BITFIELD k GET i8 #1048576", s(BIT_OFFSET)),
            ("BITFIELD_RO k GET i8 8388608", s(BIT_OFFSET)),
            ("BITFIELD k GET u8 8388607", ints(&[128])),
            ("BITFIELD k GET u8 #1048575", ints(&[1])),
            // A field may start in the last byte and run past the limit.
            ("BITFIELD k SET i64 8388607 -1", ints(&[i64::MIN])),
            ("BITFIELD k GET u63 8388607", ints(&[i64::MAX])),
            ("BITCOUNT k", int(64)),
            ("BITCOUNT k -8 -1", int(63)),
            ("BITCOUNT k 8388607 8388607 BIT", int(1)),
        ],
    );
}

#[test]
fn bitcount() {
    let p = Pair::start(&[]);
    session(
        &p,
        &[
            ("FLUSHALL", s(OK)),
            ("SET k foobar", s(OK)),
            ("BITCOUNT k", int(26)),
            ("BITCOUNT k 0 0", int(4)),
            ("BITCOUNT k 1 1", int(6)),
            ("BITCOUNT k 0 -1", int(26)),
            ("BITCOUNT k -2 -1", int(7)),
            ("BITCOUNT k -100 100", int(26)),
            // Both clamp to 0: the first byte counts, as in Redis.
            ("BITCOUNT k -100 -50", int(4)),
            // Reversed negative indexes: 0 at once.
            ("BITCOUNT k -1 -5", int(0)),
            ("BITCOUNT k 5 2", int(0)),
            ("BITCOUNT k 6 10", int(0)),
            ("BITCOUNT k 5 -7", int(0)),
            ("BITCOUNT k 5 30 BIT", int(17)),
            ("BITCOUNT k 5 30 bit", int(17)),
            ("BITCOUNT k 0 5 BYTE", int(26)),
            ("BITCOUNT k 0 5 byte", int(26)),
            ("BITCOUNT k -1 -1 BIT", int(0)),
            ("BITCOUNT k -8 -1 BIT", int(4)),
            ("BITCOUNT k 1 6 BIT", int(4)),
            ("BITCOUNT k 47 1000 BIT", int(0)),
            ("BITCOUNT k -1000 2 BIT", int(2)),
            ("BITCOUNT k 9 8 BIT", int(0)),
            ("BITCOUNT k -5 -7 BIT", int(0)),
            ("BITCOUNT k 0 -1 BIT", int(26)),
            // Errors: both indexes, then reversed negatives, then the unit.
            ("BITCOUNT k 0 -1 foo", s(SYNTAX)),
            ("BITCOUNT k -1 -5 foo", int(0)),
            ("BITCOUNT k 0", s(SYNTAX)),
            ("BITCOUNT k 0 1 BIT x", s(SYNTAX)),
            ("BITCOUNT k a 1", s(NOT_INT)),
            ("BITCOUNT k 1 a", s(NOT_INT)),
            ("BITCOUNT k 1 a foo", s(NOT_INT)),
            ("BITCOUNT k 9223372036854775808 1", s(NOT_INT)),
            ("BITCOUNT k -9223372036854775808 9223372036854775807", int(26)),
            ("BITCOUNT k -9223372036854775808 9223372036854775807 BIT", int(26)),
            // A missing key counts 0 before the arguments are looked at
            // (Redis 7.2; Redis 8 checks the arguments first).
            ("BITCOUNT nokey", int(0)),
            ("BITCOUNT nokey 0", int(0)),
            ("BITCOUNT nokey a b c d", int(0)),
            // Integers count their decimal text.
            ("SET n 12345", s(OK)),
            ("BITCOUNT n", int(17)),
            ("BITCOUNT n 1 1", int(3)),
            ("BITCOUNT n 3 20 BIT", int(7)),
            ("BITCOUNT", arity("bitcount")),
        ],
    );
    session_raw(
        &p,
        &[
            (&[b"SET", b"e", b""], OK.into()),
            (&[b"BITCOUNT", b"e"], int(0).into()),
            (&[b"BITCOUNT", b"e", b"0", b"-1"], int(0).into()),
            (&[b"BITCOUNT", b"e", b"0", b"0", b"BIT"], int(0).into()),
            (&[b"BITCOUNT", b"k", b"0", b"-1", b"bit\0junk"], int(26).into()),
            (&[b"BITCOUNT", b"k", b"0", b"-1", b""], SYNTAX.into()),
        ],
    );
}

#[test]
fn bitpos() {
    let p = Pair::start(&[]);
    session_raw(
        &p,
        &[
            (&[b"FLUSHALL"], OK.into()),
            (&[b"SET", b"k", b"\xff\xf0\x00"], OK.into()),
            (&[b"SET", b"ones", b"\xff\xff\xff"], OK.into()),
            (&[b"SET", b"zeros", b"\x00\x00\x00"], OK.into()),
            (&[b"SET", b"b", b"\x00\xff\x00"], OK.into()),
            (&[b"SET", b"e", b""], OK.into()),
        ],
    );
    session(
        &p,
        &[
            ("BITPOS k 0", int(12)),
            ("BITPOS k 1", int(0)),
            ("BITPOS k 1 2", int(-1)),
            ("BITPOS k 0 2", int(16)),
            ("BITPOS k 1 1", int(8)),
            ("BITPOS k 0 1 1", int(12)),
            ("BITPOS k 1 -1", int(-1)),
            // Looking for a 0 in ones: without an end the string counts as
            // zero-padded on the right; with an end, -1.
            ("BITPOS ones 0", int(24)),
            ("BITPOS ones 0 1", int(24)),
            ("BITPOS ones 0 -1", int(24)),
            ("BITPOS ones 0 0 -1", int(-1)),
            ("BITPOS ones 0 0 2 BYTE", int(-1)),
            ("BITPOS ones 0 0 23 BIT", int(-1)),
            ("BITPOS ones 0 0 100", int(-1)),
            ("BITPOS ones 1", int(0)),
            // An empty range finds nothing, either bit.
            ("BITPOS ones 0 3", int(-1)),
            ("BITPOS ones 0 2 1", int(-1)),
            ("BITPOS zeros 1", int(-1)),
            ("BITPOS zeros 1 0 -1", int(-1)),
            ("BITPOS zeros 0", int(0)),
            ("BITPOS zeros 0 1", int(8)),
            ("BITPOS e 0", int(-1)),
            ("BITPOS e 1", int(-1)),
            ("BITPOS e 0 0", int(-1)),
            // Bit ranges.
            ("BITPOS b 1 0 -1 BIT", int(8)),
            ("BITPOS b 1 9 -1 BIT", int(9)),
            ("BITPOS b 0 8 15 BIT", int(-1)),
            ("BITPOS b 0 7 8 BIT", int(7)),
            ("BITPOS b 0 9 20 bit", int(16)),
            ("BITPOS b 1 17 23 BIT", int(-1)),
            ("BITPOS b 1 -16 -9 BIT", int(8)),
            ("BITPOS b 0 -1 -1 BIT", int(23)),
            ("BITPOS b 1 2 1 BIT", int(-1)),
            ("BITPOS b 1 12 12 BIT", int(12)),
            ("BITPOS b 0 12 12 BIT", int(-1)),
            ("BITPOS b 0 3 5 BIT", int(3)),
            ("BITPOS b 0 -100 -50", int(0)),
            ("BITPOS b 1 -100 -50", int(-1)),
            ("BITPOS b 1 -100 -50 BIT", int(-1)),
            ("BITPOS b 1 1 1 byte", int(8)),
            // A missing key: -1 looking for a 1, 0 for a 0, before the range
            // is looked at (Redis 7.2).
            ("BITPOS nokey 1", int(-1)),
            ("BITPOS nokey 0", int(0)),
            ("BITPOS nokey 0 5 10 BIT", int(0)),
            ("BITPOS nokey 1 x y z", int(-1)),
            ("BITPOS nokey 1 1 2 3 4 5", int(-1)),
            // Errors: the bit (even for a missing key), then start, unit, end.
            ("BITPOS k 2", s(BIT_ARG)),
            ("BITPOS k -1", s(BIT_ARG)),
            ("BITPOS k x", s(NOT_INT)),
            ("BITPOS nokey 2", s(BIT_ARG)),
            ("BITPOS nokey x", s(NOT_INT)),
            ("BITPOS k 1 x", s(NOT_INT)),
            ("BITPOS k 1 0 x", s(NOT_INT)),
            ("BITPOS k 1 0 1 foo", s(SYNTAX)),
            ("BITPOS k 1 x 1 foo", s(NOT_INT)),
            ("BITPOS k 1 0 x foo", s(SYNTAX)),
            ("BITPOS k 1 0 1 BIT x", s(SYNTAX)),
            ("BITPOS k", arity("bitpos")),
            // Integers search their decimal text: "12" is 0x31 0x32.
            ("SET n 12", s(OK)),
            ("BITPOS n 1", int(2)),
            ("BITPOS n 0", int(0)),
            ("BITPOS n 1 1", int(10)),
        ],
    );
}

/// Long strings go through the word-at-a-time paths.
#[test]
fn long_bitmaps() {
    let p = Pair::start(&[]);
    session(
        &p,
        &[
            ("FLUSHALL", s(OK)),
            ("SETBIT z 79999 1", int(0)),
            ("BITPOS z 1", int(79999)),
            ("BITPOS z 0", int(0)),
            ("BITPOS z 1 3 -2", int(-1)),
            ("BITPOS z 1 3 -1", int(79999)),
            ("BITPOS z 1 1000 79999 BIT", int(79999)),
            ("BITCOUNT z", int(1)),
            ("BITOP NOT o z", int(10000)),
            ("BITPOS o 0", int(79999)),
            ("BITPOS o 0 9999", int(79999)),
            ("BITPOS o 0 17 79998 BIT", int(-1)),
            ("BITPOS o 1", int(0)),
            ("BITPOS o 1 13 -1 BIT", int(13)),
            ("BITCOUNT o", int(79999)),
            ("BITCOUNT o 3 9998", int(79968)),
            ("BITCOUNT o 13 79990 BIT", int(79978)),
            ("SETBIT o 79999 1", int(0)),
            ("BITPOS o 0", int(80000)),
            ("BITPOS o 0 0 -1", int(-1)),
            ("BITOP AND a o z", int(10000)),
            ("BITCOUNT a", int(1)),
            ("BITOP XOR a o z", int(10000)),
            ("BITCOUNT a", int(79999)),
        ],
    );
}

/// The expected result of BITOP, computed the obvious way.
fn model_bitop(op: &str, sources: &[&[u8]]) -> Vec<u8> {
    let len = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| {
            let mut v = at(sources[0], i);
            for s in &sources[1..] {
                match op {
                    "AND" => v &= at(s, i),
                    "OR" => v |= at(s, i),
                    _ => v ^= at(s, i),
                }
            }
            if op == "NOT" {
                !v
            } else {
                v
            }
        })
        .collect()
}

/// BITOP with `dest` and the sources given by name; the values are set
/// first. `keys` names a, b, c, d (the destination) and the missing key.
fn bitop_cases(p: &Pair, keys: [&str; 5]) {
    let [ka, kb, kc, kd, missing] = keys.map(str::as_bytes);
    let (a, b, c): (&[u8], &[u8], &[u8]) = (b"foobar", b"\x0f\xf0abc\x00\xff", b"12345");
    let mut steps: Vec<(Vec<&[u8]>, Vec<u8>)> = vec![
        (vec![b"FLUSHALL"], OK.into()),
        (vec![b"SET", ka, a], OK.into()),
        (vec![b"SET", kb, b], OK.into()),
        (vec![b"SET", kc, c], OK.into()),
    ];
    for (op, srcs) in [
        ("AND", vec![(ka, a), (kb, b)]),
        ("OR", vec![(ka, a), (kb, b)]),
        ("XOR", vec![(ka, a), (kb, b)]),
        ("AND", vec![(kb, b), (kc, c), (ka, a)]),
        ("OR", vec![(kc, c), (ka, a), (kb, b)]),
        ("XOR", vec![(kc, c), (kb, b), (kc, c)]),
        ("NOT", vec![(kb, b)]),
        ("NOT", vec![(kc, c)]),
        ("AND", vec![(ka, a)]),
        ("XOR", vec![(ka, a), (ka, a)]),
        // A missing source is an empty string: AND with it is all zeros.
        ("AND", vec![(ka, a), (missing, b"")]),
        ("OR", vec![(missing, b""), (kc, c)]),
        ("NOT", vec![(missing, b"")]),
    ] {
        let want = model_bitop(op, &srcs.iter().map(|s| s.1).collect::<Vec<_>>());
        let mut cmd: Vec<&[u8]> = vec![b"BITOP", op.as_bytes(), kd];
        cmd.extend(srcs.iter().map(|s| s.0));
        steps.push((cmd, int(want.len() as i64).into()));
        let get = if want.is_empty() { NIL.as_bytes().to_vec() } else { bulk(&want) };
        steps.push((vec![b"GET", kd], get));
    }
    steps.extend([
        // An empty result deletes the destination and answers 0.
        (vec![b"SET", kd, b"x"], OK.into()),
        (vec![b"BITOP", b"OR", kd, missing], int(0).into()),
        (vec![b"EXISTS", kd], int(0).into()),
        (vec![b"SET", kd, b"x"], OK.into()),
        (vec![b"SET", b"empty", b""], OK.into()),
        (vec![b"BITOP", b"xor", kd, b"empty", missing], int(0).into()),
        (vec![b"EXISTS", kd], int(0).into()),
        (vec![b"BITOP", b"and", kd, missing, missing], int(0).into()),
        (vec![b"EXISTS", kd], int(0).into()),
        // The destination may be a source.
        (vec![b"BITOP", b"Or", ka, ka, kc], int(6).into()),
        (vec![b"GET", ka], bulk(&model_bitop("OR", &[a, c]))),
        // Errors: the operation, then NOT's single source; nothing written.
        (vec![b"BITOP", b"NOT", kd, ka, kb], BITOP_NOT.into()),
        (vec![b"BITOP", b"NAND", kd, ka], SYNTAX.into()),
        (vec![b"BITOP", b"NAND", kd, ka, kb], SYNTAX.into()),
        (vec![b"BITOP", b"", kd, ka], SYNTAX.into()),
        (vec![b"BITOP", b"and\0x", kd, ka], int(6).into()),
        (vec![b"EXISTS", kd], int(1).into()),
        (vec![b"BITOP", b"NOT", kd], arity("bitop").into()),
        (vec![b"BITOP", b"AND"], arity("bitop").into()),
    ]);
    let steps: Vec<(Vec<u8>, Vec<u8>)> = steps.into_iter().map(|(c, r)| (common::resp(&c), r)).collect();
    p.session_raw(&steps);
}

#[test]
fn bitop_on_one_shard() {
    let p = Pair::start(&[]);
    bitop_cases(&p, ["{t}a", "{t}b", "{t}c", "{t}d", "{t}missing"]);
}

/// The destination and the sources on different shards: the coordinator
/// gathers the sources and stores (or deletes) on the destination's shard.
#[test]
fn bitop_across_shards() {
    let p = Pair::start(&[]);
    let zero = keys_on_shard("x", 0, 2, 4);
    let one = keys_on_shard("y", 1, 2, 4);
    // a, c and the destination on shard 0, b and the missing key on 1.
    bitop_cases(&p, [&zero[0], &one[0], &zero[1], &zero[2], &one[1]]);
    // Every source on the other shard from the destination.
    bitop_cases(&p, [&one[0], &one[1], &one[2], &zero[0], &one[3]]);
    // A destination on shard 1 with sources on 0.
    bitop_cases(&p, [&zero[0], &zero[1], &zero[2], &one[0], &zero[3]]);
}

/// Every width, signed and unsigned, at aligned and unaligned offsets, at
/// and past its limits under each overflow mode, compared with Redis.
#[test]
fn bitfield_every_width_matches_redis() {
    let p = Pair::start(&[]);
    let Some(mut duo) = Duo::open(&p) else { return };
    duo.call_str("FLUSHALL");
    for (signed, bits) in (1..=64).map(|b| (true, b)).chain((1..=63).map(|b| (false, b))) {
        let ty = format!("{}{}", if signed { 'i' } else { 'u' }, bits);
        let (max, min): (i128, i128) =
            if signed { ((1 << (bits - 1)) - 1, -(1 << (bits - 1))) } else { ((1 << bits) - 1, 0) };
        let clamp = |v: i128| v.clamp(i64::MIN as i128, i64::MAX as i128).to_string();
        for offset in ["0", "5", "#3"] {
            let mut cmd = vec!["BITFIELD".to_string(), "w".to_string()];
            let mut op = |parts: &[&str]| cmd.extend(parts.iter().map(|p| p.to_string()));
            for mode in ["WRAP", "SAT", "FAIL"] {
                op(&["OVERFLOW", mode]);
                for v in [max, min, max + 1, min - 1, -1, 0, 1, i64::MAX as i128, i64::MIN as i128] {
                    op(&["SET", &ty, offset, &clamp(v)]);
                    op(&["GET", &ty, offset]);
                }
                for (start, incr) in [(max, 1), (max, 0), (min, -1), (0, max), (0, min), (max, min), (min, max)] {
                    op(&["SET", &ty, offset, &clamp(start)]);
                    op(&["INCRBY", &ty, offset, &clamp(incr)]);
                    op(&["INCRBY", &ty, offset, &clamp(incr * 2)]);
                    op(&["INCRBY", &ty, offset, &i64::MIN.to_string()]);
                    op(&["INCRBY", &ty, offset, &i64::MAX.to_string()]);
                }
            }
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            duo.call(&args);
            duo.call_str("GET w");
            duo.call_str("BITFIELD_RO w GET u63 0 GET i64 0 GET i64 1 GET u8 #1");
        }
    }
}

#[test]
fn bitfield() {
    let p = Pair::start(&[]);
    session(
        &p,
        &[
            ("FLUSHALL", s(OK)),
            // Only GETs: nothing is created.
            ("BITFIELD k", s("*0\r\n")),
            ("BITFIELD k GET u8 0 GET i64 100", ints(&[0, 0])),
            ("BITFIELD k OVERFLOW SAT", s("*0\r\n")),
            ("EXISTS k", int(0)),
            ("BITFIELD k SET u8 0 255 GET u8 0", ints(&[0, 255])),
            ("BITFIELD k INCRBY u8 0 10", ints(&[9])),
            ("BITFIELD k OVERFLOW SAT INCRBY u8 0 1000", ints(&[255])),
            ("BITFIELD k OVERFLOW SAT INCRBY u8 0 -1000", ints(&[0])),
            ("BITFIELD k SET u8 0 255 OVERFLOW FAIL INCRBY u8 0 1", s("*2\r\n:0\r\n$-1\r\n")),
            ("BITFIELD k OVERFLOW FAIL INCRBY u8 0 1 OVERFLOW WRAP INCRBY u8 0 1", s("*2\r\n$-1\r\n:0\r\n")),
            ("BITFIELD k overflow fail incrby u8 0 -1 get u8 0", s("*2\r\n$-1\r\n:0\r\n")),
            // Signed: wrap goes round to the other end.
            ("BITFIELD k SET i8 #1 -128 INCRBY i8 #1 -1", ints(&[0, 127])),
            ("BITFIELD k INCRBY i8 #1 1", ints(&[-128])),
            ("BITFIELD k OVERFLOW SAT SET i8 #1 200 GET i8 #1", ints(&[-128, 127])),
            ("BITFIELD k OVERFLOW WRAP SET i8 #1 200 GET i8 #1", ints(&[127, -56])),
            ("BITFIELD k OVERFLOW FAIL SET i8 #1 200 GET i8 #1", s("*2\r\n$-1\r\n:-56\r\n")),
            // SET of a negative value into an unsigned field overflows
            // upwards: SAT stores the maximum.
            ("BITFIELD k OVERFLOW SAT SET u8 0 -1 GET u8 0", ints(&[0, 255])),
            ("BITFIELD k OVERFLOW WRAP SET u8 0 -2 GET u8 0", ints(&[255, 254])),
            // One-bit fields.
            ("BITFIELD k SET u1 7 1 GET u1 7 SET i1 7 -1 GET i1 7 INCRBY i1 7 1", ints(&[0, 1, -1, -1, 0])),
            ("BITFIELD k OVERFLOW SAT INCRBY u1 7 5 INCRBY i1 7 5 INCRBY i1 7 -5", ints(&[1, 0, -1])),
            // 64-bit signed and 63-bit unsigned at their limits.
            ("BITFIELD w SET i64 3 9223372036854775807 INCRBY i64 3 1", ints(&[0, i64::MIN])),
            ("BITFIELD w OVERFLOW SAT INCRBY i64 3 -1 INCRBY i64 3 9223372036854775807", ints(&[i64::MIN, -1])),
            ("BITFIELD w OVERFLOW FAIL INCRBY i64 3 -9223372036854775808", s("*1\r\n$-1\r\n")),
            ("BITFIELD w2 SET u63 1 9223372036854775807 OVERFLOW SAT INCRBY u63 1 1", ints(&[0, i64::MAX])),
            ("BITFIELD w2 OVERFLOW WRAP INCRBY u63 1 1 GET u63 1", ints(&[0, 0])),
            // #N offsets count fields of the type's width.
            ("BITFIELD h SET u4 #3 15 GET u4 12 GET u8 #1", ints(&[0, 15, 15])),
            // A FAIL still creates the key (zero-filled to the field).
            ("BITFIELD f OVERFLOW FAIL SET u2 0 10", s("*1\r\n$-1\r\n")),
            ("EXISTS f", int(1)),
            // An integer value is its decimal text: "12" is 0x31 0x32.
            ("SET n 12", s(OK)),
            ("BITFIELD n GET u8 0 GET u16 0", ints(&[0x31, 0x3132])),
            ("BITFIELD n INCRBY u8 0 1", ints(&[0x32])),
            ("GET n", s("$2\r\n22\r\n")),
            // Errors, checked for every operation before any runs.
            ("BITFIELD k GET u64 0", s(FIELD_TYPE)),
            ("BITFIELD k GET i65 0", s(FIELD_TYPE)),
            ("BITFIELD k GET i0 0", s(FIELD_TYPE)),
            ("BITFIELD k GET u0 0", s(FIELD_TYPE)),
            ("BITFIELD k GET x8 0", s(FIELD_TYPE)),
            ("BITFIELD k GET U8 0", s(FIELD_TYPE)),
            ("BITFIELD k GET i08 0", s(FIELD_TYPE)),
            ("BITFIELD k GET i 0", s(FIELD_TYPE)),
            ("BITFIELD k GET i8 -1", s(BIT_OFFSET)),
            ("BITFIELD k GET i8 #-1", s(BIT_OFFSET)),
            ("BITFIELD k GET i8 ##1", s(BIT_OFFSET)),
            ("BITFIELD k GET i8 x", s(BIT_OFFSET)),
            ("BITFIELD k GET i8 4294967296", s(BIT_OFFSET)),
            ("BITFIELD k GET i8 #536870912", s(BIT_OFFSET)),
            ("BITFIELD k GET i8 #536870911", ints(&[0])),
            // Redis's unchecked multiply: 2^58 fields of 64 bits wrap to 0.
            ("BITFIELD nokey GET i64 #288230376151711744", ints(&[0])),
            ("BITFIELD k GET i64 #144115188075855873", s(BIT_OFFSET)),
            ("BITFIELD k SET i8 0 x", s(NOT_INT)),
            ("BITFIELD k INCRBY i8 0 1.5", s(NOT_INT)),
            ("BITFIELD k SET i8 0 9223372036854775808", s(NOT_INT)),
            ("BITFIELD k OVERFLOW foo", s(OVERFLOW_TYPE)),
            ("BITFIELD k OVERFLOW foo GET i8 x", s(OVERFLOW_TYPE)),
            ("BITFIELD k GET i8 x OVERFLOW foo", s(BIT_OFFSET)),
            ("BITFIELD k FOO", s(SYNTAX)),
            ("BITFIELD k GET i8", s(SYNTAX)),
            ("BITFIELD k SET i8 0", s(SYNTAX)),
            ("BITFIELD k INCRBY i8 0", s(SYNTAX)),
            ("BITFIELD k OVERFLOW", s(SYNTAX)),
            ("BITFIELD k GET i8 0 GET", s(SYNTAX)),
            ("BITFIELD k SET u8 0 1 GET u64 0", s(FIELD_TYPE)),
            ("BITFIELD nokey SET u8 0 1 GET u64 0", s(FIELD_TYPE)),
            ("EXISTS nokey", int(0)),
            ("BITFIELD", arity("bitfield")),
            // BITFIELD_RO: GETs only, after the whole command parsed.
            ("BITFIELD_RO k GET u8 0 GET i8 #1", ints(&[255, -56])),
            ("BITFIELD_RO k OVERFLOW SAT GET u8 0", ints(&[255])),
            ("BITFIELD_RO k", s("*0\r\n")),
            ("BITFIELD_RO nokey GET u8 0", ints(&[0])),
            ("BITFIELD_RO k SET u8 0 1", s(FIELD_RO)),
            ("BITFIELD_RO k GET u8 0 INCRBY u8 0 1", s(FIELD_RO)),
            ("BITFIELD_RO nokey SET u8 0 1", s(FIELD_RO)),
            ("EXISTS nokey", int(0)),
            ("BITFIELD_RO k SET u8 0 x", s(NOT_INT)),
            ("BITFIELD_RO k GET u64 0", s(FIELD_TYPE)),
            ("BITFIELD_RO k FOO", s(SYNTAX)),
            ("BITFIELD_RO", arity("bitfield_ro")),
        ],
    );
    session_raw(
        &p,
        &[
            (&[b"GET", b"h"], bulk(&[0x00, 0x0F])),
            (&[b"GET", b"f"], bulk(&[0])),
            // Keywords and types end at a NUL, as C strings do.
            (&[b"BITFIELD", b"k", b"get\0x", b"u8\0junk", b"0"], ints(&[255]).into()),
            (&[b"BITFIELD", b"k", b"GET", b"u8", b"0\0"], BIT_OFFSET.into()),
            (&[b"BITFIELD", b"k", b"GET", b"", b"0"], FIELD_TYPE.into()),
            (&[b"BITFIELD", b"k", b"GET", b"u8", b""], BIT_OFFSET.into()),
            (&[b"BITFIELD", b"k", b"GET", b"u8", b"#"], BIT_OFFSET.into()),
        ],
    );
}

/// FAIL's nil is RESP3's null.
#[test]
fn bitfield_fail_in_resp3() {
    let p = Pair::start(&[]);
    let Some(mut duo) = Duo::open(&p) else { return };
    duo.both(&[b"HELLO", b"3"]);
    duo.call_str("FLUSHALL");
    let reply = duo.call_str("BITFIELD k OVERFLOW FAIL INCRBY u8 0 1000 INCRBY u8 0 1");
    assert_eq!(Esc(reply), Esc::of(b"*2\r\n_\r\n:1\r\n"));
}

/// The command table entries are Redis's: COMMAND INFO (arity, flags, key
/// positions, ACL categories, key specs) and the keys' access flags.
#[test]
fn command_info_matches_redis() {
    let p = Pair::start(&[]);
    let Some(mut duo) = Duo::open(&p) else { return };
    for name in ["setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro"] {
        duo.call_str(&format!("COMMAND INFO {}", name));
    }
    for cmd in [
        "COMMAND GETKEYSANDFLAGS BITOP AND d a b",
        "COMMAND GETKEYSANDFLAGS BITFIELD k GET i8 0",
        "COMMAND GETKEYSANDFLAGS BITFIELD k GET i8 0 OVERFLOW SAT SET i8 0 1",
        "COMMAND GETKEYSANDFLAGS BITFIELD k",
        "COMMAND GETKEYSANDFLAGS BITFIELD k GET i8",
        "COMMAND GETKEYSANDFLAGS BITFIELD_RO k GET i8 0",
        "COMMAND GETKEYSANDFLAGS SETBIT k 1 1",
        "COMMAND GETKEYS BITOP NOT d a",
    ] {
        duo.call_str(cmd);
    }
}

/// COMMAND DOCS as Redis 7.2 publishes BITOP (7.0's tree, which
/// redis-server here has, names the operation a plain string): the keys
/// name their key specs, destination 0 and sources 1.
#[test]
fn bitop_docs() {
    let server = common::Server::start();
    // A map of name, type and `pairs` more fields (RESP2: a flat array).
    // Every argument but a group shows its name as `display_text`.
    let arg = |name: &str, kind: &str, pairs: usize, extra: &str| {
        let display = match kind {
            "oneof" => String::new(),
            _ => format!("$12\r\ndisplay_text\r\n${}\r\n{}\r\n", name.len(), name),
        };
        let pairs = pairs + !display.is_empty() as usize;
        let head = format!("*{}\r\n$4\r\nname\r\n${}\r\n{}\r\n", 2 * (2 + pairs), name.len(), name);
        format!("{}$4\r\ntype\r\n${}\r\n{}\r\n{}{}", head, kind.len(), kind, display, extra)
    };
    let token = |t: &str| arg(&t.to_lowercase(), "pure-token", 1, &format!("$5\r\ntoken\r\n${}\r\n{}\r\n", t.len(), t));
    let ops: String = ["AND", "OR", "XOR", "NOT"].iter().map(|t| token(t)).collect();
    let expected = format!(
        "*2\r\n$5\r\nbitop\r\n*10\r\n$7\r\nsummary\r\n$71\r\nPerforms bitwise operations on multiple strings, and \
         stores the result.\r\n$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n$10\r\ncomplexity\r\n\
         $4\r\nO(N)\r\n$9\r\narguments\r\n*3\r\n{}{}{}",
        arg("operation", "oneof", 1, &format!("$9\r\narguments\r\n*4\r\n{}", ops)),
        arg("destkey", "key", 1, "$14\r\nkey_spec_index\r\n:0\r\n"),
        arg("key", "key", 2, "$14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n"),
    );
    common::oracle::check(
        server.port,
        None,
        &common::resp(&[b"COMMAND", b"DOCS", b"bitop"]),
        expected.as_bytes(),
        false,
    );
}

// ---------------------------------------------------------------------------
// Randomized comparison
// ---------------------------------------------------------------------------

fn pick_index(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => (rng.below(4000) as i64 - 2000).to_string(),
        1 => rng.pick(&["-9223372036854775808", "9223372036854775807", "x"]).to_string(),
        _ => (rng.below(40) as i64 - 20).to_string(),
    }
}

fn pick_value(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => rng.pick(&["", "0", "12", "-7", "255", "9223372036854775807"]).as_bytes().to_vec(),
        _ => (0..rng.below(24)).map(|_| *rng.pick(&[0x00, 0xFF, 0x0F, 0x80, b'a', 0x55, 0x01])).collect(),
    }
}

fn pick_field_type(rng: &mut Rng) -> String {
    match rng.below(30) {
        0 => rng.pick(&["u64", "i65", "i0", "x8"]).to_string(),
        _ if rng.chance(50) => format!("i{}", rng.below(64) + 1),
        _ => format!("u{}", rng.below(63) + 1),
    }
}

fn pick_field_value(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => rng.pick(&["9223372036854775807", "-9223372036854775808", "-1", "0", "1"]).to_string(),
        1 => (rng.next_u64() as i64).to_string(),
        2 => (rng.next_u64() as i64 >> rng.below(64)).to_string(),
        _ => (rng.below(600) as i64 - 300).to_string(),
    }
}

fn random_bitfield(rng: &mut Rng, key: &str, read_only: bool) -> Vec<Vec<u8>> {
    let mut cmd: Vec<String> = vec![if read_only { "BITFIELD_RO" } else { "BITFIELD" }.into(), key.into()];
    for _ in 0..rng.below(4) {
        let offset = if rng.chance(30) { format!("#{}", rng.below(12)) } else { rng.below(120).to_string() };
        let ty = pick_field_type(rng);
        match rng.below(if read_only { 8 } else { 4 }) {
            0 => cmd.extend(["OVERFLOW".into(), rng.pick(&["WRAP", "SAT", "FAIL", "sat"]).to_string()]),
            1 => cmd.extend(["SET".into(), ty, offset, pick_field_value(rng)]),
            2 => cmd.extend(["INCRBY".into(), ty, offset, pick_field_value(rng)]),
            _ => cmd.extend(["GET".into(), ty, offset]),
        }
    }
    cmd.into_iter().map(String::into_bytes).collect()
}

fn random_command(rng: &mut Rng, keys: &[String]) -> Vec<Vec<u8>> {
    let key = rng.pick(keys).clone();
    let strs = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
    match rng.below(12) {
        0 | 1 => {
            let offset = if rng.chance(10) { rng.below(3000) } else { rng.below(120) };
            let bit = if rng.chance(5) { "2" } else { rng.pick(&["0", "1"]) };
            strs(&["SETBIT", &key, &offset.to_string(), bit])
        }
        2 => strs(&["GETBIT", &key, &rng.below(200).to_string()]),
        3 => {
            let mut cmd = strs(&["BITCOUNT", &key]);
            if rng.chance(80) {
                cmd.extend(strs(&[&pick_index(rng), &pick_index(rng)]));
                if rng.chance(50) {
                    cmd.push(rng.pick(&["BIT", "BYTE", "bit", "foo"]).as_bytes().to_vec());
                }
            }
            cmd
        }
        4 | 5 => {
            let bit = if rng.chance(5) { "2" } else { rng.pick(&["0", "1"]) };
            let mut cmd = strs(&["BITPOS", &key, bit]);
            for _ in 0..rng.below(3) {
                cmd.push(pick_index(rng).into_bytes());
            }
            if cmd.len() == 5 && rng.chance(60) {
                cmd.push(rng.pick(&["BIT", "BYTE", "byte", "foo"]).as_bytes().to_vec());
            }
            cmd
        }
        6 => {
            let op = rng.pick(&["AND", "OR", "XOR", "NOT", "and"]).to_string();
            let n = if op == "NOT" && rng.chance(90) { 1 } else { rng.below(3) + 1 };
            let mut cmd = strs(&["BITOP", &op, &key]);
            for _ in 0..n {
                cmd.push(rng.pick(keys).clone().into_bytes());
            }
            cmd
        }
        7 | 8 => random_bitfield(rng, &key, false),
        9 => random_bitfield(rng, &key, true),
        10 => {
            let mut cmd = strs(&["SET", &key]);
            cmd.push(pick_value(rng));
            cmd
        }
        _ => match rng.below(3) {
            0 => strs(&["DEL", &key]),
            _ => strs(&["GET", &key]),
        },
    }
}

/// A few hundred random bitmap commands over keys on both shards, every
/// reply compared; then every key's final value.
#[test]
fn random_commands_match_redis() {
    let p = Pair::start(&[]);
    let Some(mut duo) = Duo::open(&p) else { return };
    let mut keys = keys_on_shard("r:a", 0, 2, 3);
    keys.extend(keys_on_shard("r:b", 1, 2, 3));
    for seed in [1u64, 2, 3] {
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        duo.call_str("FLUSHALL");
        for _ in 0..300 {
            let cmd = random_command(&mut rng, &keys);
            let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
            duo.call(&args);
        }
        for k in &keys {
            duo.call(&[b"GET", k.as_bytes()]);
        }
    }
}
