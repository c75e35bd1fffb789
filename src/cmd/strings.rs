//! String commands: GET, SET and its variants (SETNX, SETEX, PSETEX,
//! GETSET, GETDEL, GETEX), MGET/MSET/MSETNX, the counters (INCR, DECR,
//! INCRBY, DECRBY, INCRBYFLOAT), APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE
//! and LCS, reply for reply as Redis 7.2's t_string.c.
//!
//! MSETNX and LCS may name keys on several shards: they run as cross-shard
//! commands whose coordinator gathers what it needs from each shard and
//! then calls the same pure functions as the single-shard handler.

use std::ops::RangeInclusive;

use bytes::Bytes;
use futures::future::join_all;

use super::{command, err, flag::*, parse_int, Command, Exec, Merge};
use crate::cmd::acl;
use crate::notify::class;
use crate::num::longdouble::LongDouble;
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::{Entry, Object, ShardCtx, UnixMs};
use crate::types::{RString, Value};

const S: u32 = acl::STRING;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("get", "key"),
    (
        "set",
        "key value [condition(NX|XX)] [GET] [expiration(EX seconds:integer|PX milliseconds:integer|\
         EXAT unix-time-seconds:unix-time|PXAT unix-time-milliseconds:unix-time|KEEPTTL)]",
    ),
    ("setnx", "key value"),
    ("setex", "key seconds:integer value"),
    ("psetex", "key milliseconds:integer value"),
    ("getset", "key value"),
    ("getdel", "key"),
    (
        "getex",
        "key [expiration(EX seconds:integer|PX milliseconds:integer|EXAT unix-time-seconds:unix-time|\
         PXAT unix-time-milliseconds:unix-time|PERSIST)]",
    ),
    ("incr", "key"),
    ("decr", "key"),
    ("incrby", "key increment:integer"),
    ("decrby", "key decrement:integer"),
    ("incrbyfloat", "key increment:double"),
    ("mget", "key..."),
    ("mset", "key_value(key value)..."),
    ("msetnx", "data(key value)..."),
    ("append", "key value"),
    ("strlen", "key"),
    ("getrange", "key start:integer end:integer"),
    ("substr", "key start:integer end:integer"),
    ("setrange", "key offset:integer value"),
    ("lcs", "key1:key key2:key [LEN] [IDX] [MINMATCHLEN min-match-len:integer] [WITHMATCHLEN]"),
];

/// Key-spec flags for `COMMAND INFO`, Redis 7.2's (commands with several key
/// specs, or a `numkeys` argument, have theirs in `specs::KEY_SPECS`).
pub static KEY_FLAGS: &[(&str, &[&str])] = &[
    ("get", &["RO", "access"]),
    ("setnx", &["OW", "insert"]),
    ("setex", &["OW", "update"]),
    ("psetex", &["OW", "update"]),
    ("getset", &["RW", "access", "update"]),
    ("getdel", &["RW", "access", "delete"]),
    ("incr", &["RW", "access", "update"]),
    ("decr", &["RW", "access", "update"]),
    ("incrby", &["RW", "access", "update"]),
    ("decrby", &["RW", "access", "update"]),
    ("incrbyfloat", &["RW", "access", "update"]),
    ("mget", &["RO", "access"]),
    ("mset", &["OW", "update"]),
    ("msetnx", &["OW", "insert"]),
    ("append", &["RW", "insert"]),
    ("strlen", &["RO"]),
    ("getrange", &["RO", "access"]),
    ("substr", &["RO", "access"]),
    ("setrange", &["RW", "update"]),
    ("lcs", &["RO", "access"]),
];

const RANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is ultimately \
     determined by the returned length, but because creating a substring from an existing string is very cheap, it \
     can be considered O(1) for small strings.";

pub static COMMANDS: &[Command] = &[
    command(
        "get",
        2,
        READONLY | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(get),
        "string",
        "1.0.0",
        "O(1)",
        "Returns the string value of a key.",
    ),
    command(
        "set",
        -3,
        WRITE | DENYOOM,
        S,
        (1, 1, 1),
        Exec::Keyed(set),
        "string",
        "1.0.0",
        "O(1)",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
    ),
    command(
        "setnx",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(setnx),
        "string",
        "1.0.0",
        "O(1)",
        "Set the string value of a key only when the key doesn't exist.",
    ),
    command(
        "setex",
        4,
        WRITE | DENYOOM,
        S,
        (1, 1, 1),
        Exec::Keyed(setex),
        "string",
        "2.0.0",
        "O(1)",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
    ),
    command(
        "psetex",
        4,
        WRITE | DENYOOM,
        S,
        (1, 1, 1),
        Exec::Keyed(psetex),
        "string",
        "2.6.0",
        "O(1)",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
    ),
    command(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(getset),
        "string",
        "1.0.0",
        "O(1)",
        "Returns the previous string value of a key after setting it to a new value.",
    ),
    command(
        "getdel",
        2,
        WRITE | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(getdel),
        "string",
        "6.2.0",
        "O(1)",
        "Returns the string value of a key after deleting the key.",
    ),
    command(
        "getex",
        -2,
        WRITE | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(getex),
        "string",
        "6.2.0",
        "O(1)",
        "Returns the string value of a key after setting its expiration time.",
    ),
    command(
        "incr",
        2,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(incr),
        "string",
        "1.0.0",
        "O(1)",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    ),
    command(
        "decr",
        2,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(decr),
        "string",
        "1.0.0",
        "O(1)",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    ),
    command(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(incrby),
        "string",
        "1.0.0",
        "O(1)",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    ),
    command(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(decrby),
        "string",
        "1.0.0",
        "O(1)",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
    ),
    command(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(incrbyfloat),
        "string",
        "2.6.0",
        "O(1)",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    ),
    command(
        "mget",
        -2,
        READONLY | FAST,
        S,
        (1, -1, 1),
        Exec::MultiKey(mget, Merge::Interleave),
        "string",
        "1.0.0",
        "O(N) where N is the number of keys to retrieve.",
        "Atomically returns the string values of one or more keys.",
    ),
    command(
        "mset",
        -3,
        WRITE | DENYOOM,
        S,
        (1, -1, 2),
        Exec::MultiKey(mset, Merge::AllOk),
        "string",
        "1.0.1",
        "O(N) where N is the number of keys to set.",
        "Atomically creates or modifies the string values of one or more keys.",
    ),
    command(
        "msetnx",
        -3,
        WRITE | DENYOOM,
        S,
        (1, -1, 2),
        Exec::Cross(msetnx, msetnx_cross),
        "string",
        "1.0.1",
        "O(N) where N is the number of keys to set.",
        "Atomically modifies the string values of one or more keys only when all keys don't exist.",
    ),
    command(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(append),
        "string",
        "2.0.0",
        "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present \
         value is of any size, since the dynamic string library used by Redis will double the free space available \
         on every reallocation.",
        "Appends a string to the value of a key. Creates the key if it doesn't exist.",
    ),
    command(
        "strlen",
        2,
        READONLY | FAST,
        S,
        (1, 1, 1),
        Exec::Keyed(strlen),
        "string",
        "2.2.0",
        "O(1)",
        "Returns the length of a string value.",
    ),
    command(
        "getrange",
        4,
        READONLY,
        S,
        (1, 1, 1),
        Exec::Keyed(getrange),
        "string",
        "2.4.0",
        RANGE_COMPLEXITY,
        "Returns a substring of the string stored at a key.",
    ),
    command(
        "substr",
        4,
        READONLY,
        S,
        (1, 1, 1),
        Exec::Keyed(getrange),
        "string",
        "1.0.0",
        RANGE_COMPLEXITY,
        "Returns a substring from a string value.",
    ),
    command(
        "setrange",
        4,
        WRITE | DENYOOM,
        S,
        (1, 1, 1),
        Exec::Keyed(setrange),
        "string",
        "2.2.0",
        "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so \
         the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value \
         argument.",
        "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
    ),
    command(
        "lcs",
        -3,
        READONLY,
        S,
        (1, 2, 1),
        Exec::Cross(lcs, lcs_cross),
        "string",
        "7.0.0",
        "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        "Finds the longest common substring.",
    ),
];

const NOT_FLOAT: &str = "ERR value is not a valid float";
const NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
/// Where Redis would abort on a failed allocation, we refuse the command.
const NO_MEMORY: &str = "ERR out of memory growing the string";

// ---------------------------------------------------------------------------
// Lookups

/// The string in `entry`, `Err` if it holds another type.
fn string_of(entry: Option<&mut Object>) -> Result<Option<&mut RString>, &'static str> {
    match entry {
        None => Ok(None),
        Some(Object { value: Value::Str(s), .. }) => Ok(Some(s)),
        #[allow(unreachable_patterns)]
        Some(_) => Err(err::WRONGTYPE),
    }
}

/// The string under `key`: `Ok(None)` if absent, `Err` if another type.
/// A write lookup (Redis's `lookupKeyWrite`): not counted as a hit or miss.
pub fn lookup_string<'a>(ctx: &'a mut ShardCtx, key: &[u8]) -> Result<Option<&'a mut RString>, &'static str> {
    let now = ctx.now;
    string_of(ctx.db().get(key, now))
}

/// [`lookup_string`] for reading commands, counted in `keyspace_hits` /
/// `keyspace_misses` as Redis's `lookupKeyRead` counts (a key of another
/// type is a hit).
pub(crate) fn lookup_read<'a>(ctx: &'a mut ShardCtx, key: &[u8]) -> Result<Option<&'a mut RString>, &'static str> {
    if ctx.missed(key) {
        return Ok(None);
    }
    let (db, now) = (ctx.db, ctx.now);
    let shard = &mut *ctx.shard;
    let entry = shard.dbs[db].get(key, now);
    shard.stats.count_lookup(entry.is_some());
    string_of(entry)
}

/// A copy of the string under `key`, for commands that need two values.
pub fn read_string_value(ctx: &mut ShardCtx, key: &[u8]) -> Result<Option<Vec<u8>>, &'static str> {
    lookup_read(ctx, key).map(|s| s.map(|s| s.to_vec()))
}

/// `proto-max-bulk-len`, the largest string a command may build.
fn max_bulk_len(ctx: &mut ShardCtx) -> u64 {
    let shard = &mut *ctx.shard;
    shard.config.refresh(&shard.shared).proto_max_bulk_len
}

/// Redis's `checkStringLength`: a string of `len + extra` bytes is allowed.
fn check_string_length(len: u64, extra: usize, limit: u64) -> Result<(), &'static str> {
    match len.checked_add(extra as u64) {
        Some(total) if total <= limit => Ok(()),
        _ => Err(TOO_BIG),
    }
}

/// Bytes up to the first NUL: what Redis's C string comparisons of option
/// names look at.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |end| &b[..end])
}

fn str_entry(s: RString) -> Entry {
    Entry::new(Value::Str(s))
}

// ---------------------------------------------------------------------------
// GET and SET variants

/// Redis's `getGenericCommand`: replies the value, nil, or WRONGTYPE.
/// `None` after WRONGTYPE, else whether the key was there.
fn get_generic(ctx: &mut ShardCtx, key: &[u8], reply: &mut Reply) -> Option<bool> {
    match lookup_read(ctx, key) {
        Err(e) => {
            reply.error(e);
            None
        }
        Ok(None) => {
            reply.null();
            Some(false)
        }
        Ok(Some(s)) => {
            s.with_bytes(|b| reply.bulk(b));
            Some(true)
        }
    }
}

fn get(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    get_generic(ctx, &args[1], reply);
}

fn getset(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    if get_generic(ctx, &args[1], reply).is_some() {
        // A plain set: any TTL goes.
        ctx.db().insert(&args[1], str_entry(RString::from_bytes(&args[2])));
        ctx.notify(class::STRING, "set", &args[1]);
    }
}

fn getdel(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    if get_generic(ctx, &args[1], reply) == Some(true) {
        ctx.remove(&args[1]);
        ctx.notify(class::GENERIC, "del", &args[1]);
    }
}

/// EX/PX/EXAT/PXAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Which options [`SetOptions::parse`] accepts: Redis parses SET's and
/// GETEX's with one function and a per-command set of allowed flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extended {
    /// NX, XX, GET, KEEPTTL and the expiry units.
    Set,
    /// PERSIST and the expiry units.
    Get,
}

/// The extended arguments of SET and GETEX, parsed as Redis's
/// `parseExtendedStringArgumentsOrReply`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SetOptions {
    pub nx: bool,
    pub xx: bool,
    pub get: bool,
    pub keepttl: bool,
    pub persist: bool,
    /// The expiry and its argument, unchecked: GETEX answers nil for a
    /// missing key before it looks at the time.
    pub expire: Option<(Unit, Bytes)>,
}

impl SetOptions {
    /// Only the syntax: the error is always Redis's syntax error.
    pub fn parse(kind: Extended, opts: &[Bytes]) -> Result<SetOptions, &'static str> {
        let set = kind == Extended::Set;
        let mut o = SetOptions::default();
        let mut i = 0;
        while i < opts.len() {
            let name = c_str(&opts[i]);
            let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            let unit = [("ex", Unit::Ex), ("px", Unit::Px), ("exat", Unit::ExAt), ("pxat", Unit::PxAt)]
                .into_iter()
                .find(|(n, _)| is(n))
                .map(|(_, u)| u);
            // One unit only (repeating it is fine), and not with KEEPTTL/PERSIST.
            let unit_allowed = |u: Unit| !o.keepttl && !o.persist && o.expire.as_ref().is_none_or(|(cur, _)| *cur == u);
            if set && is("nx") && !o.xx {
                o.nx = true;
            } else if set && is("xx") && !o.nx {
                o.xx = true;
            } else if set && is("get") {
                o.get = true;
            } else if set && is("keepttl") && o.expire.is_none() {
                o.keepttl = true;
            } else if !set && is("persist") && o.expire.is_none() {
                o.persist = true;
            } else if let (Some(u), Some(arg)) = (unit.filter(|&u| unit_allowed(u)), opts.get(i + 1)) {
                o.expire = Some((u, arg.clone()));
                i += 1;
            } else {
                return Err(err::SYNTAX);
            }
            i += 1;
        }
        Ok(o)
    }

    /// The absolute expiry in Unix ms, or the error for a bad time.
    pub fn expire_at(&self, cmd: &str, now: UnixMs) -> Result<Option<UnixMs>, String> {
        self.expire.as_ref().map(|(unit, arg)| expire_time(cmd, *unit, arg, now)).transpose()
    }
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute time in ms, or the
/// error for a non-integer, non-positive or overflowing time.
fn expire_time(cmd: &str, unit: Unit, arg: &[u8], now: UnixMs) -> Result<UnixMs, String> {
    let n = parse_int(arg).ok_or_else(|| err::NOT_INT.to_string())?;
    let invalid = || format!("ERR invalid expire time in '{}' command", cmd);
    if n <= 0 {
        return Err(invalid());
    }
    let ms = match unit {
        Unit::Ex | Unit::ExAt => n.checked_mul(1000).ok_or_else(invalid)?,
        Unit::Px | Unit::PxAt => n,
    };
    let ms = match unit {
        Unit::Ex | Unit::Px => ms.checked_add(now as i64).ok_or_else(invalid)?,
        Unit::ExAt | Unit::PxAt => ms,
    };
    Ok(ms as UnixMs)
}

/// What a SET-style command answers when it sets, or not (NX/XX).
#[derive(Clone, Copy)]
enum Ack {
    /// `+OK`, or nil.
    OkOrNil,
    /// SETNX's 1, or 0.
    OneOrZero,
}

impl Ack {
    fn write(self, done: bool, reply: &mut Reply) {
        match (self, done) {
            (Ack::OkOrNil, true) => reply.ok(),
            (Ack::OkOrNil, false) => reply.null(),
            (Ack::OneOrZero, done) => reply.int(done as i64),
        }
    }
}

/// Redis's `setGenericCommand`, for SET, SETNX, SETEX and PSETEX.
fn set_generic(ctx: &mut ShardCtx, cmd: &str, args: (&[u8], &[u8]), opts: &SetOptions, ack: Ack, reply: &mut Reply) {
    let (key, value) = args;
    let now = ctx.now;
    let expire_at = match opts.expire_at(cmd, now) {
        Ok(t) => t,
        Err(e) => return reply.error(&e),
    };
    if opts.get && get_generic(ctx, key, reply).is_none() {
        return;
    }
    // A plain SET needs nothing of the old entry: the insert's own probe
    // replaces it (and expires it, if its time had come).
    let expire_at = match opts.nx || opts.xx || opts.keepttl {
        false => expire_at,
        true => {
            let old = ctx.db().get_with_expiry(key, now);
            let found = old.is_some();
            let old_ttl = old.and_then(|(_, at)| at);
            if (opts.nx && found) || (opts.xx && !found) {
                if !opts.get {
                    ack.write(false, reply);
                }
                return;
            }
            if opts.keepttl {
                old_ttl
            } else {
                expire_at
            }
        }
    };
    ctx.db().insert(key, Entry::with_expiry(Value::Str(RString::from_bytes(value)), expire_at));
    ctx.notify(class::STRING, "set", key);
    if opts.expire.is_some() {
        ctx.notify(class::GENERIC, "expire", key);
    }
    // A time already past leaves the key to expire at its next lookup or
    // expiry cycle, as in Redis (the `expired` event comes then).
    if !opts.get {
        ack.write(true, reply);
    }
}

fn set(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match SetOptions::parse(Extended::Set, &args[3..]) {
        Ok(opts) => set_generic(ctx, "set", (&args[1], &args[2]), &opts, Ack::OkOrNil, reply),
        Err(e) => reply.error(e),
    }
}

fn setnx(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let opts = SetOptions { nx: true, ..SetOptions::default() };
    set_generic(ctx, "setnx", (&args[1], &args[2]), &opts, Ack::OneOrZero, reply);
}

/// SETEX/PSETEX: `key time value`.
fn set_with_expire(ctx: &mut ShardCtx, args: &[Bytes], cmd: &str, unit: Unit, reply: &mut Reply) {
    let opts = SetOptions { expire: Some((unit, args[2].clone())), ..SetOptions::default() };
    set_generic(ctx, cmd, (&args[1], &args[3]), &opts, Ack::OkOrNil, reply);
}

fn setex(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    set_with_expire(ctx, args, "setex", Unit::Ex, reply);
}

fn psetex(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    set_with_expire(ctx, args, "psetex", Unit::Px, reply);
}

/// Replaces `key`'s expiry, through remove and insert so the db's count
/// of keys with a TTL stays right.
/// GETEX: the syntax first, then the key (nil, WRONGTYPE), then the time;
/// the value is answered before the expiry changes.
fn getex(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let opts = match SetOptions::parse(Extended::Get, &args[2..]) {
        Ok(o) => o,
        Err(e) => return reply.error(e),
    };
    let (key, now) = (&args[1][..], ctx.now);
    let value = match lookup_read(ctx, key) {
        Err(e) => return reply.error(e),
        Ok(None) => return reply.null(),
        Ok(Some(s)) => s,
    };
    let expire_at = match opts.expire_at("getex", now) {
        Ok(t) => t,
        Err(e) => return reply.error(&e),
    };
    value.with_bytes(|b| reply.bulk(b));
    match expire_at {
        // EXAT/PXAT in the past: deleted, as if it expired now.
        Some(t) if t <= now => {
            ctx.remove(key);
            ctx.notify(class::GENERIC, "del", key);
        }
        Some(t) => {
            ctx.db().set_expiry(key, Some(t), now);
            ctx.notify(class::GENERIC, "expire", key);
        }
        // PERSIST on a key with a TTL; one without is left alone, unheard.
        None if opts.persist && ctx.db().peek_with_expiry(key, now).is_some_and(|(_, at)| at.is_some()) => {
            ctx.db().set_expiry(key, None, now);
            ctx.notify(class::GENERIC, "persist", key);
        }
        None => {}
    }
}

// ---------------------------------------------------------------------------
// Several keys

fn mget(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    reply.array(args.len() - 1);
    for key in &args[1..] {
        match lookup_read(ctx, key) {
            Ok(Some(s)) => s.with_bytes(|b| reply.bulk(b)),
            // MGET answers nil for a key of another type, never an error.
            _ => reply.null(),
        }
    }
}

/// Sets each key/value pair of `pairs` (keys at even positions), dropping
/// any TTL, as MSET does.
fn set_pairs(ctx: &mut ShardCtx, pairs: &[Bytes]) {
    for pair in pairs.chunks_exact(2) {
        ctx.db().insert(&pair[0], str_entry(RString::from_bytes(&pair[1])));
        ctx.notify(class::STRING, "set", &pair[0]);
    }
}

/// Whether any key of `pairs` (keys at even positions) exists.
fn any_exists(ctx: &mut ShardCtx, pairs: &[Bytes]) -> bool {
    let now = ctx.now;
    pairs.iter().step_by(2).any(|key| ctx.db().contains(key, now))
}

fn mset(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    set_pairs(ctx, &args[1..]);
    reply.ok();
}

/// MSETNX checks the pairing itself, after the arity check.
fn paired(args: &[Bytes]) -> Result<(), &'static str> {
    match args.len().is_multiple_of(2) {
        true => Err("ERR wrong number of arguments for 'msetnx' command"),
        false => Ok(()),
    }
}

fn msetnx(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    if let Err(e) = paired(args) {
        return reply.error(e);
    }
    if any_exists(ctx, &args[1..]) {
        return reply.int(0);
    }
    set_pairs(ctx, &args[1..]);
    reply.int(1);
}

/// MSETNX over several shards: asks each shard whether any of its keys
/// exists, then, if none did, sets each shard's pairs.
fn msetnx_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        if let Err(e) = paired(&args) {
            return cx.error(e);
        }
        let mut by_shard: Vec<(usize, Vec<Bytes>)> = Vec::new();
        for pair in args[1..].chunks_exact(2) {
            let shard = cx.shard_of(&pair[0]);
            match by_shard.iter_mut().find(|(s, _)| *s == shard) {
                Some((_, pairs)) => pairs.extend_from_slice(pair),
                None => by_shard.push((shard, pair.to_vec())),
            }
        }
        let checks = by_shard.iter().map(|(shard, pairs)| {
            let pairs = pairs.clone();
            cx.on(*shard, move |ctx| any_exists(ctx, &pairs))
        });
        let found: Result<Vec<bool>, _> = join_all(checks).await.into_iter().collect();
        let done = match found {
            Err(e) => return cx.error(e),
            Ok(found) if found.contains(&true) => false,
            Ok(_) => {
                let sets = by_shard.into_iter().map(|(shard, pairs)| {
                    cx.on(shard, move |ctx| {
                        set_pairs(ctx, &pairs);
                        for pair in pairs.chunks_exact(2) {
                            ctx.log_key(&pair[0]);
                        }
                    })
                });
                if let Err(e) = join_all(sets).await.into_iter().collect::<Result<Vec<()>, _>>() {
                    return cx.error(e);
                }
                true
            }
        };
        let mut buf = Vec::new();
        cx.reply(&mut buf).int(done as i64);
        buf
    })
}

// ---------------------------------------------------------------------------
// Counters

/// INCR/DECR/INCRBY/DECRBY: adds `delta`, keeping the key's TTL; the
/// result stays an integer (Redis's `int` encoding).
pub fn incr_by(ctx: &mut ShardCtx, key: &[u8], delta: i64, reply: &mut Reply) {
    match lookup_string(ctx, key) {
        Err(e) => return reply.error(e),
        Ok(Some(s)) => {
            let Some(n) = s.as_i64() else {
                return reply.error(err::NOT_INT);
            };
            let Some(next) = n.checked_add(delta) else {
                return reply.error(err::OVERFLOW);
            };
            *s = RString::Int(next);
            reply.int(next);
        }
        Ok(None) => {
            ctx.db().insert(key, str_entry(RString::Int(delta)));
            reply.int(delta);
        }
    }
    ctx.notify(class::STRING, "incrby", key);
}

fn incr(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    incr_by(ctx, &args[1], 1, reply);
}

fn decr(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    incr_by(ctx, &args[1], -1, reply);
}

fn incrby(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match parse_int(&args[2]) {
        Some(delta) => incr_by(ctx, &args[1], delta, reply),
        None => reply.error(err::NOT_INT),
    }
}

fn decrby(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match parse_int(&args[2]).map(i64::checked_neg) {
        Some(Some(delta)) => incr_by(ctx, &args[1], delta, reply),
        Some(None) => reply.error("ERR decrement would overflow"),
        None => reply.error(err::NOT_INT),
    }
}

/// A string value as INCRBYFLOAT reads it (Redis's `getLongDoubleFromObject`).
fn long_double_of(s: &RString) -> Option<LongDouble> {
    match s {
        RString::Int(n) => Some(LongDouble::from_i64(*n)),
        _ => s.with_bytes(LongDouble::parse),
    }
}

/// INCRBYFLOAT in Redis's `long double` (see [`LongDouble`]); the result
/// is stored as the text it printed, keeping the TTL.
fn incrbyfloat(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let key = &args[1];
    let current = match lookup_string(ctx, key) {
        Ok(current) => current,
        Err(e) => return reply.error(e),
    };
    let value = current.as_deref().map_or(Some(LongDouble::ZERO), long_double_of);
    let (Some(value), Some(incr)) = (value, LongDouble::parse(&args[2])) else {
        return reply.error(NOT_FLOAT);
    };
    let sum = value + incr;
    if !sum.is_finite() {
        return reply.error(NAN_OR_INF);
    }
    let mut text = Vec::new();
    sum.format_human(&mut text);
    reply.bulk(&text);
    let new = RString::from_text(&text);
    match current {
        Some(s) => *s = new,
        None => ctx.db().insert(key, str_entry(new)),
    }
    ctx.notify(class::STRING, "incrbyfloat", key);
}

// ---------------------------------------------------------------------------
// Parts of a string

fn append(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let (key, tail) = (&args[1], &args[2]);
    let limit = max_bulk_len(ctx);
    match lookup_string(ctx, key) {
        Err(e) => return reply.error(e),
        Ok(Some(s)) => {
            if let Err(e) = check_string_length(s.len() as u64, tail.len(), limit) {
                return reply.error(e);
            }
            // Modified in place: the value becomes raw, as in Redis.
            let buf = s.make_raw();
            buf.extend_from_slice(tail);
            reply.int(buf.len() as i64);
        }
        Ok(None) => {
            ctx.db().insert(key, str_entry(RString::from_bytes(tail)));
            reply.int(tail.len() as i64);
        }
    }
    ctx.notify(class::STRING, "append", key);
}

fn strlen(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match lookup_read(ctx, &args[1]) {
        Err(e) => reply.error(e),
        Ok(None) => reply.int(0),
        Ok(Some(s)) => reply.int(s.len() as i64),
    }
}

/// GETRANGE's `start`/`end` over `len` bytes (Redis 7.2): inclusive,
/// negative ones count from the end and are clamped at 0, `end` is clamped
/// to the last byte; both negative with `start > end`, `start > end`, or
/// an empty string give nothing.
pub fn string_range(len: usize, start: i64, end: i64) -> Option<RangeInclusive<usize>> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let from_end = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (start, end) = (from_end(start), from_end(end).min(len - 1));
    (len > 0 && start <= end).then_some(start as usize..=end as usize)
}

/// GETRANGE and SUBSTR.
fn getrange(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let (Some(start), Some(end)) = (parse_int(&args[2]), parse_int(&args[3])) else {
        return reply.error(err::NOT_INT);
    };
    match lookup_read(ctx, &args[1]) {
        Err(e) => reply.error(e),
        Ok(None) => reply.bulk(b""),
        Ok(Some(s)) => s.with_bytes(|b| match string_range(b.len(), start, end) {
            Some(range) => reply.bulk(&b[range]),
            None => reply.bulk(b""),
        }),
    }
}

/// Writes `patch` at `offset`, padding with zero bytes.
fn write_at(buf: &mut Vec<u8>, offset: usize, patch: &[u8]) -> Result<(), &'static str> {
    let end = offset.checked_add(patch.len()).ok_or(TOO_BIG)?;
    if buf.len() < end {
        buf.try_reserve(end - buf.len()).map_err(|_| NO_MEMORY)?;
        buf.resize(end, 0);
    }
    buf[offset..end].copy_from_slice(patch);
    Ok(())
}

fn setrange(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let Some(offset) = parse_int(&args[2]) else {
        return reply.error(err::NOT_INT);
    };
    let Ok(offset) = usize::try_from(offset) else {
        return reply.error("ERR offset is out of range");
    };
    let (key, patch) = (&args[1], &args[3]);
    let limit = max_bulk_len(ctx);
    let found = match lookup_string(ctx, key) {
        Err(e) => return reply.error(e),
        // Nothing to write: the length as it is, and no key created.
        Ok(s) if patch.is_empty() => return reply.int(s.map_or(0, |s| s.len() as i64)),
        Ok(s) => s,
    };
    // Checked before anything is allocated.
    if let Err(e) = check_string_length(offset as u64, patch.len(), limit) {
        return reply.error(e);
    }
    let written = match found {
        Some(s) => write_at(s.make_raw(), offset, patch).map(|()| s.len()),
        None => {
            let mut buf = Vec::new();
            write_at(&mut buf, offset, patch).map(|()| {
                let len = buf.len();
                ctx.db().insert(key, str_entry(RString::from_vec(buf)));
                len
            })
        }
    };
    match written {
        Ok(len) => {
            ctx.notify(class::STRING, "setrange", key);
            reply.int(len as i64)
        }
        Err(e) => reply.error(e),
    }
}

// ---------------------------------------------------------------------------
// LCS

const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";

/// LCS's options after the two keys.
#[derive(Debug, Default, PartialEq, Eq)]
struct LcsOptions {
    len: bool,
    idx: bool,
    min_match_len: u64,
    with_match_len: bool,
}

impl LcsOptions {
    fn parse(opts: &[Bytes]) -> Result<LcsOptions, &'static str> {
        let mut o = LcsOptions::default();
        let mut i = 0;
        while i < opts.len() {
            let name = c_str(&opts[i]);
            let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            if is("idx") {
                o.idx = true;
            } else if is("len") {
                o.len = true;
            } else if is("withmatchlen") {
                o.with_match_len = true;
            } else if let (true, Some(arg)) = (is("minmatchlen"), opts.get(i + 1)) {
                // A negative minimum is no minimum.
                o.min_match_len = parse_int(arg).ok_or(err::NOT_INT)?.max(0) as u64;
                i += 1;
            } else {
                return Err(err::SYNTAX);
            }
            i += 1;
        }
        if o.len && o.idx {
            return Err("ERR If you want both the length and indexes, please just use IDX.");
        }
        Ok(o)
    }
}

/// One common run: its inclusive ranges in each string and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LcsMatch {
    a: (u32, u32),
    b: (u32, u32),
    len: u32,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct LcsResult {
    len: u32,
    /// The subsequence itself (unless only LEN was asked).
    text: Vec<u8>,
    /// The runs, last first (only with IDX).
    matches: Vec<LcsMatch>,
}

/// Redis's dynamic-programming table: cell (i, j) holds the LCS length of
/// `a[..i]` and `b[..j]`. It takes 4 * (|a|+1) * (|b|+1) bytes, which Redis
/// bounds by `proto-max-bulk-len`.
fn lcs_table(a: &[u8], b: &[u8], limit: u64) -> Result<Vec<u32>, &'static str> {
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err("ERR String too long for LCS");
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let failed = "ERR Insufficient memory, failed allocating transient memory for LCS";
    let bytes = cells.checked_mul(4).ok_or(failed)?;
    if bytes > limit {
        return Err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let cells = usize::try_from(cells).map_err(|_| failed)?;
    let mut table = Vec::new();
    table.try_reserve_exact(cells).map_err(|_| failed)?;
    table.resize(cells, 0u32);
    let width = b.len() + 1;
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    Ok(table)
}

/// The LCS of `a` and `b` with what `opts` asks for, walking the table
/// back from the end as Redis does (so ties pick the same subsequence and
/// the runs come last first).
fn lcs_compute(a: &[u8], b: &[u8], opts: &LcsOptions, limit: u64) -> Result<LcsResult, &'static str> {
    let table = lcs_table(a, b, limit)?;
    let width = b.len() + 1;
    let cell = |i: usize, j: usize| table[i * width + j];
    let total = cell(a.len(), b.len());
    let mut out = LcsResult { len: total, ..LcsResult::default() };
    if opts.len && !opts.idx {
        return Ok(out);
    }
    out.text = vec![0; total as usize];
    let mut at = total as usize;
    // The run being followed backwards; `None` between runs.
    let mut run: Option<LcsMatch> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            at -= 1;
            out.text[at] = a[i - 1];
            let (ai, bj) = ((i - 1) as u32, (j - 1) as u32);
            match &mut run {
                None => run = Some(LcsMatch { a: (ai, ai), b: (bj, bj), len: 1 }),
                Some(r) if r.a.0 == ai + 1 && r.b.0 == bj + 1 => {
                    r.a.0 = ai;
                    r.b.0 = bj;
                    r.len += 1;
                }
                Some(_) => emit = true,
            }
            // A run touching the start of either string is complete.
            emit |= run.is_some_and(|r| r.a.0 == 0 || r.b.0 == 0);
            i -= 1;
            j -= 1;
        } else {
            if cell(i - 1, j) > cell(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let Some(r) = run.take() {
                if opts.idx && u64::from(r.len) >= opts.min_match_len {
                    out.matches.push(r);
                }
            }
        }
    }
    Ok(out)
}

/// LCS once both values are at hand (missing keys are empty strings):
/// the options, the table bound, the computation and the reply.
fn lcs_reply(a: &[u8], b: &[u8], opts: &[Bytes], limit: u64, reply: &mut Reply) {
    let result = LcsOptions::parse(opts).and_then(|o| lcs_compute(a, b, &o, limit).map(|r| (o, r)));
    let (opts, result) = match result {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    if opts.idx {
        reply.map(2);
        reply.bulk(b"matches");
        reply.array(result.matches.len());
        for m in &result.matches {
            reply.array(2 + opts.with_match_len as usize);
            for (start, end) in [m.a, m.b] {
                reply.array(2);
                reply.int(start.into());
                reply.int(end.into());
            }
            if opts.with_match_len {
                reply.int(m.len.into());
            }
        }
        reply.bulk(b"len");
        reply.int(result.len.into());
    } else if opts.len {
        reply.int(result.len.into());
    } else {
        reply.bulk(&result.text);
    }
}

/// Both values, or LCS's error if either key holds another type.
fn lcs_values(
    a: Result<Option<Vec<u8>>, &'static str>,
    b: Result<Option<Vec<u8>>, &'static str>,
) -> Result<(Vec<u8>, Vec<u8>), &'static str> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a.unwrap_or_default(), b.unwrap_or_default())),
        _ => Err(LCS_NOT_STRINGS),
    }
}

fn lcs(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let limit = max_bulk_len(ctx);
    let a = read_string_value(ctx, &args[1]);
    let b = read_string_value(ctx, &args[2]);
    match lcs_values(a, b) {
        Ok((a, b)) => lcs_reply(&a, &b, &args[3..], limit, reply),
        Err(e) => reply.error(e),
    }
}

/// LCS with its keys on two shards: fetches both values, then as [`lcs`].
fn lcs_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let fetch = |key: Bytes| cx.on(cx.shard_of(&key), move |ctx| (read_string_value(ctx, &key), max_bulk_len(ctx)));
        let (a, b) = futures::join!(fetch(args[1].clone()), fetch(args[2].clone()));
        let ((a, limit), (b, _)) = match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return cx.error(e),
        };
        let mut buf = Vec::new();
        match lcs_values(a, b) {
            Ok((a, b)) => lcs_reply(&a, &b, &args[3..], limit, &mut cx.reply(&mut buf)),
            Err(e) => cx.reply(&mut buf).error(e),
        }
        buf
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Arc};

    use super::*;
    use crate::config::Config;
    use crate::resp::Proto;
    use crate::server::shared::Shared;
    use crate::shard::Shard;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn set_options() {
        let now = 1_000;
        let parse = |v: &[&str]| SetOptions::parse(Extended::Set, &b(v));
        let o = parse(&["nx", "ex", "10"]).unwrap();
        assert!(o.nx && !o.xx && !o.get);
        assert_eq!(o.expire_at("set", now), Ok(Some(11_000)));
        assert_eq!(parse(&["PXAT", "5"]).unwrap().expire_at("set", now), Ok(Some(5)));
        assert_eq!(parse(&["ex", "1", "ex", "2"]).unwrap().expire_at("set", now), Ok(Some(3_000)));
        assert_eq!(parse(&["EX\0junk", "1"]).unwrap().expire_at("set", now), Ok(Some(2_000)));
        for bad in [
            &["nx", "xx"][..],
            &["ex", "1", "px", "1"],
            &["keepttl", "ex", "1"],
            &["ex"],
            &["foo"],
            &["ex", "1", "keepttl"],
            &["persist"],
        ] {
            assert_eq!(parse(bad).unwrap_err(), "ERR syntax error", "{:?}", bad);
        }
        let time = |v: &[&str]| parse(v).unwrap().expire_at("set", now).unwrap_err();
        assert_eq!(time(&["ex", "0"]), "ERR invalid expire time in 'set' command");
        assert_eq!(time(&["ex", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(time(&["ex", "9223372036854775807"]), "ERR invalid expire time in 'set' command");
    }

    #[test]
    fn getex_options() {
        let parse = |v: &[&str]| SetOptions::parse(Extended::Get, &b(v));
        assert!(parse(&["persist", "PERSIST"]).unwrap().persist);
        assert_eq!(parse(&["px", "5", "px", "6"]).unwrap().expire_at("getex", 10), Ok(Some(16)));
        assert_eq!(parse(&[]).unwrap(), SetOptions::default());
        for bad in [
            &["nx"][..],
            &["xx"],
            &["get"],
            &["keepttl"],
            &["persist", "ex", "1"],
            &["ex", "1", "persist"],
            &["exat", "1", "pxat", "1"],
            &["pxat"],
        ] {
            assert_eq!(parse(bad).unwrap_err(), "ERR syntax error", "{:?}", bad);
        }
        assert_eq!(
            parse(&["exat", "-1"]).unwrap().expire_at("getex", 10).unwrap_err(),
            "ERR invalid expire time in 'getex' command"
        );
    }

    #[test]
    fn ranges_as_redis_7_2() {
        let r = |len, s, e| string_range(len, s, e);
        assert_eq!(r(5, 0, -1), Some(0..=4));
        assert_eq!(r(5, 1, 3), Some(1..=3));
        assert_eq!(r(5, -3, -1), Some(2..=4));
        assert_eq!(r(5, 0, 100), Some(0..=4));
        assert_eq!(r(5, -100, 1), Some(0..=1));
        assert_eq!(r(5, -100, -100), Some(0..=0));
        assert_eq!(r(5, -1, -2), None);
        assert_eq!(r(5, 3, 2), None);
        assert_eq!(r(5, 5, 10), None);
        assert_eq!(r(0, 0, -1), None);
        assert_eq!(r(0, 0, 0), None);
        assert_eq!(r(5, i64::MIN, i64::MAX), Some(0..=4));
        assert_eq!(r(5, i64::MAX, i64::MIN), None);
    }

    #[test]
    fn string_length_limit() {
        assert_eq!(check_string_length(10, 5, 15), Ok(()));
        assert_eq!(check_string_length(10, 6, 15), Err(TOO_BIG));
        assert_eq!(check_string_length(u64::MAX, 1, u64::MAX), Err(TOO_BIG));
    }

    fn lcs_of(a: &str, bs: &str, opts: &[&str]) -> Result<LcsResult, &'static str> {
        LcsOptions::parse(&b(opts)).and_then(|o| lcs_compute(a.as_bytes(), bs.as_bytes(), &o, 1 << 20))
    }

    #[test]
    fn lcs_matches_redis_docs() {
        let r = lcs_of("ohmytext", "mynewtext", &[]).unwrap();
        assert_eq!((r.len, &r.text[..]), (6, &b"mytext"[..]));
        let r = lcs_of("ohmytext", "mynewtext", &["IDX"]).unwrap();
        assert_eq!(r.matches, [LcsMatch { a: (4, 7), b: (5, 8), len: 4 }, LcsMatch { a: (2, 3), b: (0, 1), len: 2 }]);
        let r = lcs_of("ohmytext", "mynewtext", &["idx", "minmatchlen", "4"]).unwrap();
        assert_eq!(r.matches, [LcsMatch { a: (4, 7), b: (5, 8), len: 4 }]);
        let r = lcs_of("ohmytext", "mynewtext", &["LEN"]).unwrap();
        assert_eq!((r.len, r.text.len()), (6, 0));
        assert_eq!(lcs_of("", "abc", &["IDX"]).unwrap(), LcsResult::default());
    }

    #[test]
    fn lcs_option_errors() {
        assert_eq!(
            lcs_of("a", "a", &["LEN", "IDX"]).unwrap_err(),
            "ERR If you want both the length and indexes, please just use IDX."
        );
        assert_eq!(lcs_of("a", "a", &["MINMATCHLEN"]).unwrap_err(), "ERR syntax error");
        assert_eq!(lcs_of("a", "a", &["MINMATCHLEN", "x"]).unwrap_err(), err::NOT_INT);
        assert_eq!(lcs_of("a", "a", &["MINMATCHLEN", "-5"]).unwrap().len, 1);
        assert_eq!(lcs_of("a", "a", &["foo"]).unwrap_err(), "ERR syntax error");
        // (600+1)^2 cells of 4 bytes: over a 1 MiB limit.
        let big = "x".repeat(600);
        assert_eq!(
            lcs_of(&big, &big, &[]).unwrap_err(),
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
        );
    }

    /// A shard of its own, to run handlers on directly.
    fn shard() -> Shard {
        Shard::new(0, Arc::new(Shared::new(Config::default(), 1, mpsc::channel().0)))
    }

    /// Runs `args` on `shard` at time `now`; the RESP2 reply.
    fn run(shard: &mut Shard, now: UnixMs, args: &[&str]) -> String {
        let args = b(args);
        let cmd = crate::cmd::registry().lookup(&args).unwrap().cmd;
        let (Exec::Keyed(handler) | Exec::Cross(handler, _)) = cmd.exec else { panic!("{} is not keyed", cmd.name) };
        let mut buf = Vec::new();
        handler(&mut ShardCtx { shard, db: 0, now, client_id: 1 }, &args, &mut Reply::new(&mut buf, Proto::Resp2));
        String::from_utf8(buf).unwrap()
    }

    fn encoding(shard: &mut Shard, key: &str) -> &'static str {
        shard.dbs[0].get(key.as_bytes(), 0).map_or("none", |e| e.value.encoding())
    }

    #[test]
    fn encodings_follow_redis() {
        let mut sh = shard();
        run(&mut sh, 0, &["INCRBY", "n", "5"]);
        run(&mut sh, 0, &["DECRBY", "n", "500"]);
        assert_eq!(encoding(&mut sh, "n"), "int");
        run(&mut sh, 0, &["APPEND", "n", "1"]);
        assert_eq!(encoding(&mut sh, "n"), "raw");
        run(&mut sh, 0, &["APPEND", "new", "12"]);
        assert_eq!(encoding(&mut sh, "new"), "int");
        run(&mut sh, 0, &["SET", "s", "abc"]);
        run(&mut sh, 0, &["SETRANGE", "s", "1", "x"]);
        assert_eq!(encoding(&mut sh, "s"), "raw");
        run(&mut sh, 0, &["SETRANGE", "r", "1", "x"]);
        assert_eq!(encoding(&mut sh, "r"), "raw");
        run(&mut sh, 0, &["INCRBYFLOAT", "f", "1"]);
        assert_eq!(encoding(&mut sh, "f"), "embstr");
        run(&mut sh, 0, &["GETSET", "g", "7"]);
        assert_eq!(encoding(&mut sh, "g"), "int");
    }

    #[test]
    fn ttl_changes_keep_the_expires_count() {
        let mut sh = shard();
        assert_eq!(run(&mut sh, 0, &["SETEX", "k", "10", "v"]), "+OK\r\n");
        assert_eq!(sh.dbs[0].expires(), 1);
        assert_eq!(run(&mut sh, 0, &["GETEX", "k", "PERSIST"]), "$1\r\nv\r\n");
        assert_eq!((sh.dbs[0].expires(), sh.dbs[0].len()), (0, 1));
        assert_eq!(run(&mut sh, 0, &["GETEX", "k", "PX", "5"]), "$1\r\nv\r\n");
        assert_eq!(sh.dbs[0].entry(b"k").and_then(|(_, at)| at), Some(5));
        assert_eq!(run(&mut sh, 4, &["INCRBYFLOAT", "k", "1"]), "-ERR value is not a valid float\r\n");
        assert_eq!(run(&mut sh, 5, &["GET", "k"]), "$-1\r\n");
        assert_eq!((sh.dbs[0].expires(), sh.dbs[0].len()), (0, 0));
        run(&mut sh, 0, &["PSETEX", "k", "100", "1.5"]);
        assert_eq!(run(&mut sh, 0, &["INCRBYFLOAT", "k", "1"]), "$3\r\n2.5\r\n");
        assert_eq!(sh.dbs[0].entry(b"k").and_then(|(_, at)| at), Some(100));
        assert_eq!(run(&mut sh, 0, &["GETSET", "k", "x"]), "$3\r\n2.5\r\n");
        assert_eq!(sh.dbs[0].expires(), 0);
    }

    #[test]
    fn setrange_and_append_respect_the_limit() {
        let mut sh = shard();
        let limit = sh.config.get().proto_max_bulk_len;
        let at = (limit - 1).to_string();
        assert_eq!(run(&mut sh, 0, &["SETRANGE", "k", &at, "ab"]), format!("-{}\r\n", TOO_BIG));
        assert_eq!(run(&mut sh, 0, &["SETRANGE", "k", "9223372036854775807", "ab"]), format!("-{}\r\n", TOO_BIG));
        assert_eq!(run(&mut sh, 0, &["SETRANGE", "k", &at, ""]), ":0\r\n");
        assert_eq!(sh.dbs[0].len(), 0);
        assert_eq!(run(&mut sh, 0, &["SETRANGE", "k", "-1", "a"]), "-ERR offset is out of range\r\n");
        assert_eq!(run(&mut sh, 0, &["SETRANGE", "k", "3", "a"]), ":4\r\n");
        assert_eq!(run(&mut sh, 0, &["GET", "k"]), "$4\r\n\0\0\0a\r\n");
    }
}
