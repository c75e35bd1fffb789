//! String commands: GET, SET, INCR, MGET, MSET (the rest of the family comes
//! with the strings issue).

use bytes::Bytes;

use super::{command, err, flag::*, parse_int, Command, Exec, Merge};
use crate::cmd::acl;
use crate::resp::Reply;
use crate::shard::{Entry, ShardCtx, UnixMs};
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
    ("incr", "key"),
    ("mget", "key..."),
    ("mset", "key_value(key value)..."),
];

/// Key-spec flags for `COMMAND INFO`, Redis 7.2's.
pub static KEY_FLAGS: &[(&str, &[&str])] = &[
    ("get", &["RO", "access"]),
    ("set", &["RW", "access", "update", "variable_flags"]),
    ("incr", &["RW", "access", "update"]),
    ("mget", &["RO", "access"]),
    ("mset", &["OW", "update"]),
];

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
];

/// The string under `key`: `Ok(None)` if absent, `Err` if another type.
pub fn lookup_string<'a>(ctx: &'a mut ShardCtx, key: &[u8]) -> Result<Option<&'a mut RString>, &'static str> {
    let now = ctx.now;
    match ctx.db().get(key, now) {
        None => Ok(None),
        Some(Entry { value: Value::Str(s), .. }) => Ok(Some(s)),
        #[allow(unreachable_patterns)]
        Some(_) => Err(err::WRONGTYPE),
    }
}

fn get(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let hit = match lookup_string(ctx, &args[1]) {
        Err(e) => return reply.error(e),
        Ok(None) => {
            reply.null();
            false
        }
        Ok(Some(s)) => {
            s.with_bytes(|b| reply.bulk(b));
            true
        }
    };
    ctx.shard.stats.count_lookup(hit);
}

/// SET's options, parsed as Redis's `parseExtendedStringArgumentsOrReply`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SetOptions {
    pub nx: bool,
    pub xx: bool,
    pub get: bool,
    pub keepttl: bool,
    /// Absolute expiry in Unix ms.
    pub expire_at: Option<UnixMs>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl SetOptions {
    pub fn parse(cmd: &str, opts: &[Bytes], now: UnixMs) -> Result<SetOptions, String> {
        let mut o = SetOptions::default();
        let mut unit: Option<(Unit, &Bytes)> = None;
        let mut i = 0;
        while i < opts.len() {
            let opt = &opts[i];
            let next = opts.get(i + 1);
            let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
            let free_for = |u: Unit, keepttl: bool| !keepttl && unit.is_none_or(|(cur, _)| cur == u);
            if is("nx") && !o.xx {
                o.nx = true;
            } else if is("xx") && !o.nx {
                o.xx = true;
            } else if is("get") {
                o.get = true;
            } else if is("keepttl") && unit.is_none() {
                o.keepttl = true;
            } else if let (Some(u), Some(v)) = (
                [("ex", Unit::Ex), ("px", Unit::Px), ("exat", Unit::ExAt), ("pxat", Unit::PxAt)]
                    .into_iter()
                    .find(|(n, _)| is(n))
                    .map(|(_, u)| u)
                    .filter(|&u| free_for(u, o.keepttl)),
                next,
            ) {
                unit = Some((u, v));
                i += 1;
            } else {
                return Err(err::SYNTAX.into());
            }
            i += 1;
        }
        if let Some((u, v)) = unit {
            o.expire_at = Some(expire_time(cmd, u, v, now)?);
        }
        Ok(o)
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

fn set(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let opts = match SetOptions::parse("set", &args[3..], ctx.now) {
        Ok(o) => o,
        Err(e) => return reply.error(&e),
    };
    let (key, now) = (&args[1][..], ctx.now);
    let old = ctx.db().get(key, now);
    let found = old.is_some();
    let old_ttl = old.as_ref().and_then(|e| e.expire_at);
    if opts.get {
        match old {
            None => reply.null(),
            Some(Entry { value: Value::Str(s), .. }) => s.with_bytes(|b| reply.bulk(b)),
            #[allow(unreachable_patterns)]
            Some(_) => return reply.error(err::WRONGTYPE),
        }
    }
    if (opts.nx && found) || (opts.xx && !found) {
        if !opts.get {
            reply.null();
        }
        return;
    }
    let expire_at = if opts.keepttl { old_ttl } else { opts.expire_at };
    let db = ctx.db();
    if matches!(expire_at, Some(t) if t <= now) {
        // Already in the past: the key is gone, as if it expired at once.
        db.remove(key, now);
    } else {
        db.insert(key, Entry { value: Value::Str(RString::from_bytes(&args[2])), expire_at });
    }
    if !opts.get {
        reply.ok();
    }
}

/// INCR/DECR/INCRBY/DECRBY: adds `delta`, keeping the key's TTL.
pub fn incr_by(ctx: &mut ShardCtx, key: &[u8], delta: i64, reply: &mut Reply) {
    match lookup_string(ctx, key) {
        Err(e) => reply.error(e),
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
            ctx.db().insert(key, Entry::new(Value::Str(RString::Int(delta))));
            reply.int(delta);
        }
    }
}

fn incr(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    incr_by(ctx, &args[1], 1, reply);
}

fn mget(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    reply.array(args.len() - 1);
    for key in &args[1..] {
        match lookup_string(ctx, key) {
            Ok(Some(s)) => s.with_bytes(|b| reply.bulk(b)),
            // MGET answers nil for a key of another type, never an error.
            _ => reply.null(),
        }
    }
}

fn mset(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    for pair in args[1..].chunks_exact(2) {
        ctx.db().insert(&pair[0], Entry::new(Value::Str(RString::from_bytes(&pair[1]))));
    }
    reply.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn set_options() {
        let now = 1_000;
        assert_eq!(
            SetOptions::parse("set", &b(&["nx", "ex", "10"]), now).unwrap(),
            SetOptions { nx: true, expire_at: Some(11_000), ..Default::default() }
        );
        assert_eq!(SetOptions::parse("set", &b(&["PXAT", "5"]), now).unwrap().expire_at, Some(5));
        assert_eq!(SetOptions::parse("set", &b(&["ex", "1", "ex", "2"]), now).unwrap().expire_at, Some(3_000));
        for bad in [
            &["nx", "xx"][..],
            &["ex", "1", "px", "1"],
            &["keepttl", "ex", "1"],
            &["ex"],
            &["foo"],
            &["ex", "1", "keepttl"],
        ] {
            assert_eq!(SetOptions::parse("set", &b(bad), now).unwrap_err(), "ERR syntax error", "{:?}", bad);
        }
        assert_eq!(
            SetOptions::parse("set", &b(&["ex", "0"]), now).unwrap_err(),
            "ERR invalid expire time in 'set' command"
        );
        assert_eq!(
            SetOptions::parse("set", &b(&["ex", "x"]), now).unwrap_err(),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            SetOptions::parse("set", &b(&["ex", "9223372036854775807"]), now).unwrap_err(),
            "ERR invalid expire time in 'set' command"
        );
    }
}
