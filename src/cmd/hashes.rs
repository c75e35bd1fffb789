//! Hash commands: HSET/HMSET/HSETNX, HGET/HMGET, HDEL, HLEN, HSTRLEN,
//! HEXISTS, HKEYS/HVALS/HGETALL, HINCRBY/HINCRBYFLOAT, HRANDFIELD and HSCAN,
//! reply for reply as Redis's t_hash.c (7.0/7.2; HSCAN's NOVALUES as 7.4).
//! The data structure and its encodings are [`crate::types::hash::Hash`].

use bytes::Bytes;

use super::scan::{self, Target};
use super::{command, err, flag::*, parse_int, Command, Exec};
use crate::cmd::acl;
use crate::notify::class;
use crate::num::longdouble::LongDouble;
use crate::resp::{Proto, Reply};
use crate::shard::ShardCtx;
use crate::types::hash::Hash;

const H: u32 = acl::HASH;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("hdel", "key field..."),
    ("hexists", "key field"),
    ("hget", "key field"),
    ("hgetall", "key"),
    ("hincrby", "key field increment:integer"),
    ("hincrbyfloat", "key field increment:double"),
    ("hkeys", "key"),
    ("hlen", "key"),
    ("hmget", "key field..."),
    ("hmset", "key data(field value)..."),
    ("hrandfield", "key [options(count:integer [WITHVALUES])]"),
    // NOVALUES is Redis 7.4's.
    ("hscan", "key cursor:integer [MATCH pattern:pattern] [COUNT count:integer] [NOVALUES]"),
    ("hset", "key data(field value)..."),
    ("hsetnx", "key field value"),
    ("hstrlen", "key field"),
    ("hvals", "key"),
];

/// Key-spec flags for `COMMAND INFO`, Redis 7.2's.
pub static KEY_FLAGS: &[(&str, &[&str])] = &[
    ("hdel", &["RW", "delete"]),
    ("hexists", &["RO"]),
    ("hget", &["RO", "access"]),
    ("hgetall", &["RO", "access"]),
    ("hincrby", &["RW", "access", "update"]),
    ("hincrbyfloat", &["RW", "access", "update"]),
    ("hkeys", &["RO", "access"]),
    ("hlen", &["RO"]),
    ("hmget", &["RO", "access"]),
    ("hmset", &["RW", "update"]),
    ("hrandfield", &["RO", "access"]),
    ("hscan", &["RO", "access"]),
    ("hset", &["RW", "update"]),
    ("hsetnx", &["RW", "insert"]),
    ("hstrlen", &["RO"]),
    ("hvals", &["RO", "access"]),
];

/// A hash command entry: one key at argument 1, group "hash".
const fn hash_command(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: super::Handler,
    since: &'static str,
    complexity: &'static str,
    summary: &'static str,
) -> Command {
    command(name, arity, flags, H, (1, 1, 1), Exec::Keyed(handler), "hash", since, complexity, summary)
}

const SIZE_OF_HASH: &str = "O(N) where N is the size of the hash.";

pub static COMMANDS: &[Command] = &[
    hash_command(
        "hdel",
        -3,
        WRITE | FAST,
        hdel,
        "2.0.0",
        "O(N) where N is the number of fields to be removed.",
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
    ),
    hash_command(
        "hexists",
        3,
        READONLY | FAST,
        hexists,
        "2.0.0",
        "O(1)",
        "Determines whether a field exists in a hash.",
    ),
    hash_command("hget", 3, READONLY | FAST, hget, "2.0.0", "O(1)", "Returns the value of a field in a hash."),
    hash_command("hgetall", 2, READONLY, hgetall, "2.0.0", SIZE_OF_HASH, "Returns all fields and values in a hash."),
    hash_command(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        hincrby,
        "2.0.0",
        "O(1)",
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't \
         exist.",
    ),
    hash_command(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        hincrbyfloat,
        "2.6.0",
        "O(1)",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't \
         exist.",
    ),
    hash_command("hkeys", 2, READONLY, hkeys, "2.0.0", SIZE_OF_HASH, "Returns all fields in a hash."),
    hash_command("hlen", 2, READONLY | FAST, hlen, "2.0.0", "O(1)", "Returns the number of fields in a hash."),
    hash_command(
        "hmget",
        -3,
        READONLY | FAST,
        hmget,
        "2.0.0",
        "O(N) where N is the number of fields being requested.",
        "Returns the values of all fields in a hash.",
    ),
    hash_command(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        hmset,
        "2.0.0",
        "O(N) where N is the number of fields being set.",
        "Sets the values of multiple fields.",
    ),
    hash_command(
        "hrandfield",
        -2,
        READONLY,
        hrandfield,
        "6.2.0",
        "O(N) where N is the number of fields returned",
        "Returns one or more random fields from a hash.",
    ),
    hash_command(
        "hscan",
        -3,
        READONLY,
        hscan,
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to \
         return back to 0. N is the number of elements inside the collection.",
        "Iterates over fields and values of a hash.",
    ),
    hash_command(
        "hset",
        -4,
        WRITE | DENYOOM | FAST,
        hset,
        "2.0.0",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with \
         multiple field/value pairs.",
        "Creates or modifies the value of a field in a hash.",
    ),
    hash_command(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        hsetnx,
        "2.0.0",
        "O(1)",
        "Sets the value of a field in a hash only when the field doesn't exist.",
    ),
    hash_command(
        "hstrlen",
        3,
        READONLY | FAST,
        hstrlen,
        "3.2.0",
        "O(1)",
        "Returns the length of the value of a field.",
    ),
    hash_command("hvals", 2, READONLY, hvals, "2.0.0", SIZE_OF_HASH, "Returns all values in a hash."),
];

const NOT_INT_VALUE: &str = "ERR hash value is not an integer";
const NOT_FLOAT_VALUE: &str = "ERR hash value is not a float";
const NOT_FLOAT: &str = "ERR value is not a valid float";
const NAN_OR_INF_INCR: &str = "ERR value is NaN or Infinity";
const NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";

// ---------------------------------------------------------------------------
// Setting fields

/// HSET and HMSET: sets every field/value pair, creating the hash; returns
/// how many fields are new. An unpaired field is an arity error, checked
/// before the key's type.
fn set_pairs(ctx: &mut ShardCtx, args: &[Bytes], name: &str) -> Result<usize, String> {
    if !args.len().is_multiple_of(2) {
        return Err(format!("ERR wrong number of arguments for '{name}' command"));
    }
    let limits = ctx.limits().hash;
    let h = ctx.write_or_create::<Hash>(&args[1], Hash::new)?;
    let added = h.set_many(&args[2..], limits);
    ctx.notify(class::HASH, "hset", &args[1]);
    Ok(added)
}

fn hset(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match set_pairs(ctx, args, "hset") {
        Ok(added) => reply.int(added as i64),
        Err(e) => reply.error(&e),
    }
}

/// HMSET: HSET answering `+OK` (deprecated since 4.0).
fn hmset(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match set_pairs(ctx, args, "hmset") {
        Ok(_) => reply.ok(),
        Err(e) => reply.error(&e),
    }
}

fn hsetnx(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let limits = ctx.limits().hash;
    match ctx.write_or_create::<Hash>(&args[1], Hash::new) {
        Ok(h) => {
            let set = h.set_nx(&args[2], &args[3], limits);
            reply.int(set as i64);
            if set {
                ctx.notify(class::HASH, "hset", &args[1]);
            }
        }
        Err(e) => reply.error(e),
    }
}

/// HINCRBY: the increment is checked first, then the key's type, then the
/// stored value; a missing field counts as 0.
fn hincrby(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let Some(incr) = parse_int(&args[3]) else {
        return reply.error(err::NOT_INT);
    };
    let (field, limits) = (&args[2], ctx.limits().hash);
    let h = match ctx.write_or_create::<Hash>(&args[1], Hash::new) {
        Ok(h) => h,
        Err(e) => return reply.error(e),
    };
    let current = match h.get(field) {
        None => 0,
        Some(v) => match parse_int(v) {
            Some(n) => n,
            None => return reply.error(NOT_INT_VALUE),
        },
    };
    let Some(next) = current.checked_add(incr) else {
        return reply.error(err::OVERFLOW);
    };
    h.set(field, itoa::Buffer::new().format(next).as_bytes(), limits);
    reply.int(next);
    ctx.notify(class::HASH, "hincrby", &args[1]);
}

/// HINCRBYFLOAT in Redis's `long double`, printed and stored as
/// INCRBYFLOAT does (see [`LongDouble`]). Redis refuses an infinite
/// increment before looking at the key.
fn hincrbyfloat(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let Some(incr) = LongDouble::parse(&args[3]) else {
        return reply.error(NOT_FLOAT);
    };
    if !incr.is_finite() {
        return reply.error(NAN_OR_INF_INCR);
    }
    let (field, limits) = (&args[2], ctx.limits().hash);
    let h = match ctx.write_or_create::<Hash>(&args[1], Hash::new) {
        Ok(h) => h,
        Err(e) => return reply.error(e),
    };
    let current = match h.get(field) {
        None => LongDouble::ZERO,
        Some(v) => match LongDouble::parse(v) {
            Some(x) => x,
            None => return reply.error(NOT_FLOAT_VALUE),
        },
    };
    let sum = current + incr;
    if !sum.is_finite() {
        return reply.error(NAN_OR_INF);
    }
    let mut text = Vec::new();
    sum.format_human(&mut text);
    h.set(field, &text, limits);
    reply.bulk(&text);
    ctx.notify(class::HASH, "hincrbyfloat", &args[1]);
}

// ---------------------------------------------------------------------------
// Reading fields

fn hget(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ctx.read::<Hash>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(h) => match h.and_then(|h| h.get(&args[2])) {
            Some(v) => reply.bulk(v),
            None => reply.null(),
        },
    }
}

/// HMGET: a missing key is an empty hash, so every field is nil.
fn hmget(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let h = match ctx.read::<Hash>(&args[1]) {
        Ok(h) => h,
        Err(e) => return reply.error(e),
    };
    reply.array(args.len() - 2);
    for field in &args[2..] {
        match h.as_ref().and_then(|h| h.get(field)) {
            Some(v) => reply.bulk(v),
            None => reply.null(),
        }
    }
}

/// HLEN, HSTRLEN and HEXISTS: a number from the hash, 0 for a missing key.
fn count_of(ctx: &mut ShardCtx, key: &[u8], reply: &mut Reply, f: impl FnOnce(&Hash) -> usize) {
    match ctx.read::<Hash>(key) {
        Err(e) => reply.error(e),
        Ok(h) => reply.int(h.map_or(0, |h| f(h)) as i64),
    }
}

fn hlen(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    count_of(ctx, &args[1], reply, Hash::len);
}

fn hstrlen(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    count_of(ctx, &args[1], reply, |h| h.strlen(&args[2]));
}

fn hexists(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    count_of(ctx, &args[1], reply, |h| h.contains(&args[2]) as usize);
}

/// Which parts of each pair HKEYS, HVALS and HGETALL reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

/// Redis's `genericHgetallCommand`: HGETALL answers a map (RESP3), the
/// others a flat array; a missing key is an empty one.
fn getall(ctx: &mut ShardCtx, key: &[u8], parts: Parts, reply: &mut Reply) {
    let h = match ctx.read::<Hash>(key) {
        Ok(h) => h,
        Err(e) => return reply.error(e),
    };
    let len = h.as_ref().map_or(0, |h| h.len());
    match parts {
        Parts::Both => reply.map(len),
        Parts::Fields | Parts::Values => reply.array(len),
    }
    for (field, value) in h.into_iter().flat_map(|h| h.iter()) {
        if parts != Parts::Values {
            reply.bulk(field);
        }
        if parts != Parts::Fields {
            reply.bulk(value);
        }
    }
}

fn hkeys(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    getall(ctx, &args[1], Parts::Fields, reply);
}

fn hvals(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    getall(ctx, &args[1], Parts::Values, reply);
}

fn hgetall(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    getall(ctx, &args[1], Parts::Both, reply);
}

// ---------------------------------------------------------------------------
// Deleting fields

/// HDEL: deletes the key with its last field.
fn hdel(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let h = match ctx.write::<Hash>(&args[1]) {
        Err(e) => return reply.error(e),
        Ok(None) => return reply.int(0),
        Ok(Some(h)) => h,
    };
    let deleted = args[2..].iter().filter(|field| h.remove(field)).count();
    if deleted > 0 {
        ctx.notify(class::HASH, "hdel", &args[1]);
        ctx.del_if_empty(&args[1]);
    }
    reply.int(deleted as i64);
}

// ---------------------------------------------------------------------------
// HRANDFIELD key [count [WITHVALUES]]

/// The count and WITHVALUES, checked before the key as Redis does: the
/// count within `±LONG_MAX`, and half that with WITHVALUES (the RESP2
/// reply holds twice as many elements).
fn parse_randfield(args: &[Bytes]) -> Result<(i64, bool), String> {
    let count = parse_int(&args[2]).ok_or(err::NOT_INT)?;
    if count == i64::MIN {
        return Err(format!("ERR value is out of range, value must between {} and {}", -i64::MAX, i64::MAX));
    }
    let withvalues = match &args[3..] {
        [] => false,
        [w] if w.eq_ignore_ascii_case(b"withvalues") => true,
        _ => return Err(err::SYNTAX.into()),
    };
    if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return Err("ERR value is out of range".into());
    }
    Ok((count, withvalues))
}

fn hrandfield(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    if args.len() >= 3 {
        return match parse_randfield(args) {
            Ok((count, withvalues)) => random_fields(ctx, &args[1], count, withvalues, reply),
            Err(e) => reply.error(&e),
        };
    }
    match ctx.read::<Hash>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(h) => match h.and_then(|h| h.random_pair(&mut crate::rand::next_u64)) {
            Some((field, _)) => reply.bulk(field),
            None => reply.null(),
        },
    }
}

/// Redis's `hrandfieldWithCountCommand`: a negative count allows repeats
/// and always gives that many; a positive one gives distinct fields, at
/// most the whole hash. With values, RESP2 flattens the pairs and RESP3
/// nests each one in a 2-element array.
fn random_fields(ctx: &mut ShardCtx, key: &[u8], count: i64, withvalues: bool, reply: &mut Reply) {
    let h = match ctx.read::<Hash>(key) {
        Err(e) => return reply.error(e),
        Ok(None) => return reply.empty_array(),
        Ok(Some(h)) => h,
    };
    let (n, repeats) = (count.unsigned_abs() as usize, count < 0);
    let n = if repeats { n } else { n.min(h.len()) };
    let (flat, nested) = (withvalues && reply.proto == Proto::Resp2, withvalues && reply.proto == Proto::Resp3);
    reply.array(if flat { 2 * n } else { n });
    let mut rng = crate::rand::next_u64;
    for (field, value) in h.random_pairs(n, repeats, &mut rng) {
        if nested {
            reply.array(2);
        }
        reply.bulk(field);
        if withvalues {
            reply.bulk(value);
        }
    }
}

// ---------------------------------------------------------------------------
// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]

/// The cursor is checked first, then the key (missing: an empty scan),
/// then its type, then the options. MATCH filters on fields.
fn hscan(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    scan::scan_collection::<Hash>(ctx, args, Target::Hash, reply, |h, cursor, opts, items| {
        h.scan(cursor, opts.count, |field, value| {
            if opts.matches(field) {
                items.push(field.to_vec());
                if !opts.novalues {
                    items.push(value.to_vec());
                }
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn randfield_arguments() {
        let p = |v: &[&str]| parse_randfield(&b(v));
        assert_eq!(p(&["hrandfield", "k", "-5"]), Ok((-5, false)));
        assert_eq!(p(&["hrandfield", "k", "3", "WithValues"]), Ok((3, true)));
        assert_eq!(p(&["hrandfield", "k", "3", "x"]), Err(err::SYNTAX.into()));
        assert_eq!(p(&["hrandfield", "k", "3", "withvalues", "x"]), Err(err::SYNTAX.into()));
        assert_eq!(p(&["hrandfield", "k", "x", "withvalues"]), Err(err::NOT_INT.into()));
        assert_eq!(
            p(&["hrandfield", "k", "-9223372036854775808"]),
            Err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807".into())
        );
        assert_eq!(p(&["hrandfield", "k", "-9223372036854775807"]), Ok((-i64::MAX, false)));
        assert_eq!(
            p(&["hrandfield", "k", "4611686018427387904", "withvalues"]),
            Err("ERR value is out of range".into())
        );
        assert_eq!(p(&["hrandfield", "k", "4611686018427387903", "withvalues"]), Ok((i64::MAX / 2, true)));
    }

    #[test]
    fn args_cover_every_command() {
        for c in COMMANDS {
            assert!(ARGS.iter().any(|(n, _)| *n == c.name), "{} has no ARGS", c.name);
            assert!(KEY_FLAGS.iter().any(|(n, _)| *n == c.name), "{} has no KEY_FLAGS", c.name);
            assert!(!super::super::docs::parse(ARGS.iter().find(|(n, _)| *n == c.name).unwrap().1).is_empty());
        }
    }
}
