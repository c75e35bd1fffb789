//! ZPOPMIN, ZPOPMAX, ZMPOP and ZRANDMEMBER.
//!
//! [`serve_pop`] is Redis's `genericZpopCommand` for one key, with every
//! reply shape the popping commands use, and [`parse_mpop`] parses ZMPOP's
//! `numkeys key... MIN|MAX [COUNT n]`: the blocking BZPOPMIN, BZPOPMAX and
//! BZMPOP serve a client through them, so they answer exactly as the
//! non-blocking commands do.

use std::ops::Range;

use bytes::Bytes;

use super::Layout;
use crate::cmd::{err, parse_int};
use crate::notify::class;
use crate::resp::{Proto, Reply};
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::ShardCtx;
use crate::slot::shard_of_key;
use crate::types::{Value, ZSet};

/// The reply shapes of Redis's `genericZpopCommand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopShape {
    /// ZPOPMIN/ZPOPMAX (and in RESP2 with a count): `[member, score, …]`.
    Flat,
    /// ZPOPMIN/ZPOPMAX with a count in RESP3: `[[member, score], …]`.
    Nested,
    /// BZPOPMIN/BZPOPMAX: `[key, member, score]`.
    KeyFlat,
    /// ZMPOP/BZMPOP: `[key, [[member, score], …]]`.
    KeyNested,
}

/// Pops up to `count` elements of the sorted set at `key` (lowest scores
/// first, or highest when `max`), writes them in `shape` and deletes the
/// key once empty. `Ok(false)`, nothing written, when the key does not
/// exist (the caller moves on to its next key, or blocks); WRONGTYPE as
/// `Err`, nothing written. A `count` of 0 replies an empty array (ZPOPMIN
/// key 0), popping nothing.
pub(crate) fn serve_pop(
    ctx: &mut ShardCtx,
    key: &[u8],
    max: bool,
    count: usize,
    shape: PopShape,
    reply: &mut Reply,
) -> Result<bool, &'static str> {
    let Some(z) = ctx.write::<ZSet>(key)? else { return Ok(false) };
    if count == 0 {
        reply.empty_array();
        return Ok(true);
    }
    let popped = z.pop(max, count);
    ctx.notify(class::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    ctx.del_if_empty(key);
    let n = popped.len();
    match shape {
        PopShape::Flat => reply.array(n * 2),
        PopShape::Nested => reply.array(n),
        PopShape::KeyFlat => {
            reply.array(n * 2 + 1);
            reply.bulk(key);
        }
        PopShape::KeyNested => {
            reply.array(2);
            reply.bulk(key);
            reply.array(n);
        }
    }
    let nested = matches!(shape, PopShape::Nested | PopShape::KeyNested);
    for (m, s) in popped {
        if nested {
            reply.array(2);
        }
        reply.bulk(&m);
        reply.double(s);
    }
    Ok(true)
}

/// ZPOPMIN/ZPOPMAX `key [count]`.
fn zpop(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, max: bool) {
    if args.len() > 3 {
        return reply.error(err::SYNTAX);
    }
    let count = match args.get(2).map(|c| parse_int(c).filter(|&n| n >= 0)) {
        None => None,
        Some(Some(n)) => Some(n as usize),
        Some(None) => return reply.error("ERR value is out of range, must be positive"),
    };
    // RESP3 nests the pairs only when a count was given.
    let shape = if count.is_some() && reply.proto == Proto::Resp3 { PopShape::Nested } else { PopShape::Flat };
    match serve_pop(ctx, &args[1], max, count.unwrap_or(1), shape, reply) {
        Ok(true) => {}
        Ok(false) => reply.empty_array(),
        Err(e) => reply.error(e),
    }
}

pub(super) fn zpopmin(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    zpop(ctx, args, reply, false)
}

pub(super) fn zpopmax(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    zpop(ctx, args, reply, true)
}

// ---------------------------------------------------------------------------
// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]

/// ZMPOP's (and BZMPOP's) arguments after the command (and timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MpopArgs {
    /// Argument positions of the keys.
    pub keys: Range<usize>,
    pub max: bool,
    pub count: usize,
}

/// Parses `numkeys key... MIN|MAX [COUNT count]` with `numkeys` at
/// `args[at]` (1 for ZMPOP, 2 for BZMPOP), in `zmpopGenericCommand`'s order
/// and with its errors.
pub(crate) fn parse_mpop(args: &[Bytes], at: usize) -> Result<MpopArgs, &'static str> {
    let numkeys = parse_int(&args[at]).filter(|&n| n >= 1).ok_or("ERR numkeys should be greater than 0")?;
    let where_at = usize::try_from(numkeys).ok().and_then(|n| (at + 1).checked_add(n)).filter(|&w| w < args.len());
    let where_at = where_at.ok_or(err::SYNTAX)?;
    let max = match args[where_at].to_ascii_lowercase().as_slice() {
        b"min" => false,
        b"max" => true,
        _ => return Err(err::SYNTAX),
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && args[j].eq_ignore_ascii_case(b"count") && j + 1 < args.len() {
            let n = parse_int(&args[j + 1]).filter(|&n| n >= 1).ok_or("ERR count should be greater than 0")?;
            count = Some(n as usize);
            j += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    Ok(MpopArgs { keys: at + 1..where_at, max, count: count.unwrap_or(1) })
}

/// ZMPOP with every key on this shard: the first key that exists is popped
/// (WRONGTYPE if it is not a sorted set); none: a null array.
pub(super) fn zmpop(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let m = match parse_mpop(args, 1) {
        Ok(m) => m,
        Err(e) => return reply.error(e),
    };
    for key in &args[m.keys] {
        match serve_pop(ctx, key, m.max, m.count, PopShape::KeyNested, reply) {
            Ok(false) => continue,
            Ok(true) => return,
            Err(e) => return reply.error(e),
        }
    }
    reply.null_array();
}

/// What a key holds, for finding ZMPOP's first existing key across shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Nothing,
    ZSet,
    Other,
}

/// ZMPOP over keys on several shards: every shard says which of its keys
/// exist, then the first existing one (in the client's order) is popped on
/// its shard.
pub(super) fn zmpop_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let m = match parse_mpop(&args, 1) {
            Ok(m) => m,
            Err(e) => return cx.error(e),
        };
        let keys: Vec<Bytes> = args[m.keys.clone()].to_vec();
        let mut shards: Vec<usize> = keys.iter().map(|k| cx.shard_of(k)).collect();
        shards.sort_unstable();
        shards.dedup();
        let probe = keys.clone();
        let found = cx
            .on_each(&shards, move |ctx| {
                let (me, n) = (ctx.shard.id, ctx.shard.shards());
                let mine = probe.iter().enumerate().filter(|(_, k)| shard_of_key(k, n) == me);
                mine.map(|(i, k)| (i, held(ctx, k))).collect::<Vec<_>>()
            })
            .await;
        let mut held_by_key = vec![Held::Nothing; keys.len()];
        match found {
            Ok(parts) => parts.into_iter().flatten().for_each(|(i, h)| held_by_key[i] = h),
            Err(e) => return cx.error(e),
        }
        let Some(first) = held_by_key.iter().position(|&h| h != Held::Nothing) else {
            return cx.encode(|r| r.null_array());
        };
        if held_by_key[first] == Held::Other {
            return cx.error(err::WRONGTYPE);
        }
        let key = keys[first].clone();
        let (max, count, proto) = (m.max, m.count, cx.proto);
        let popped = cx
            .on(cx.shard_of(&key), move |ctx| {
                let mut buf = Vec::new();
                let mut reply = Reply::new(&mut buf, proto);
                match serve_pop(ctx, &key, max, count, PopShape::KeyNested, &mut reply) {
                    Ok(true) => {
                        let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
                        ctx.log_command(&[name, &key, count.to_string().as_bytes()]);
                    }
                    Ok(false) => reply.null_array(),
                    Err(e) => reply.error(e),
                }
                buf
            })
            .await;
        popped.unwrap_or_else(|e| cx.error(e))
    })
}

fn held(ctx: &mut ShardCtx, key: &[u8]) -> Held {
    match ctx.get(key).map(|e| &e.value) {
        None => Held::Nothing,
        Some(Value::ZSet(_)) => Held::ZSet,
        Some(_) => Held::Other,
    }
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER key [count [WITHSCORES]]

/// Redis's bounds on the count: `-LONG_MAX..=LONG_MAX`, and half that with
/// WITHSCORES (the reply has twice as many elements).
fn parse_randmember(args: &[Bytes]) -> Result<(i64, bool), String> {
    let count = parse_int(&args[2]).ok_or(err::NOT_INT)?;
    if count == i64::MIN {
        return Err(format!("ERR value is out of range, value must between {} and {}", -i64::MAX, i64::MAX));
    }
    let withscores = match args.get(3) {
        None if args.len() == 3 => false,
        Some(w) if args.len() == 4 && w.eq_ignore_ascii_case(b"withscores") => true,
        _ => return Err(err::SYNTAX.into()),
    };
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return Err("ERR value is out of range".into());
    }
    Ok((count, withscores))
}

pub(super) fn zrandmember(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    if args.len() >= 3 {
        return match parse_randmember(args) {
            Ok((count, withscores)) => random_with_count(ctx, &args[1], count, withscores, reply),
            Err(e) => reply.error(&e),
        };
    }
    match ctx.read::<ZSet>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(z) => match z.and_then(|z| z.random_member(&mut crate::rand::next_u64)) {
            Some((m, _)) => reply.bulk(m),
            None => reply.null(),
        },
    }
}

/// `zrandmemberWithCountCommand`: a negative count allows repeats and
/// always gives that many; a positive one gives distinct members, at most
/// the whole set.
fn random_with_count(ctx: &mut ShardCtx, key: &[u8], count: i64, withscores: bool, reply: &mut Reply) {
    let z = match ctx.read::<ZSet>(key) {
        Err(e) => return reply.error(e),
        Ok(None) => return reply.empty_array(),
        Ok(Some(z)) => z,
    };
    let (n, repeats) = (count.unsigned_abs() as usize, count < 0);
    if n == 0 {
        return reply.empty_array();
    }
    let layout = Layout::new(withscores, reply.proto);
    if !repeats && n >= z.len() {
        // The whole set, in the order Redis's zset iterator walks it:
        // from the highest score down.
        return layout.write_all(reply, z.range_by_rank(0, z.len() - 1, true));
    }
    layout.header(reply, if repeats { n } else { n.min(z.len()) });
    let mut rng = crate::rand::next_u64;
    for (m, s) in z.random_members(n, repeats, &mut rng) {
        layout.element(reply, m, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn mpop_arguments() {
        let p = |v: &[&str]| parse_mpop(&b(v), 1);
        assert_eq!(p(&["zmpop", "2", "a", "b", "MAX"]), Ok(MpopArgs { keys: 2..4, max: true, count: 1 }));
        assert_eq!(p(&["zmpop", "1", "a", "min", "COUNT", "7"]), Ok(MpopArgs { keys: 2..3, max: false, count: 7 }));
        assert_eq!(p(&["zmpop", "0", "a", "min"]), Err("ERR numkeys should be greater than 0"));
        assert_eq!(p(&["zmpop", "x", "a", "min"]), Err("ERR numkeys should be greater than 0"));
        assert_eq!(p(&["zmpop", "9223372036854775807", "a", "min"]), Err(err::SYNTAX));
        assert_eq!(p(&["zmpop", "2", "a", "min"]), Err(err::SYNTAX));
        assert_eq!(p(&["zmpop", "1", "a", "mid"]), Err(err::SYNTAX));
        assert_eq!(p(&["zmpop", "1", "a", "min", "count", "0"]), Err("ERR count should be greater than 0"));
        assert_eq!(p(&["zmpop", "1", "a", "min", "count", "1", "count", "1"]), Err(err::SYNTAX));
        assert_eq!(p(&["zmpop", "1", "a", "min", "count"]), Err(err::SYNTAX));
        // BZMPOP: the timeout comes first.
        assert_eq!(
            parse_mpop(&b(&["bzmpop", "0", "1", "a", "max"]), 2),
            Ok(MpopArgs { keys: 3..4, max: true, count: 1 })
        );
    }

    #[test]
    fn randmember_counts() {
        let p = |v: &[&str]| parse_randmember(&b(v));
        assert_eq!(p(&["zrandmember", "k", "-5"]), Ok((-5, false)));
        assert_eq!(p(&["zrandmember", "k", "3", "WithScores"]), Ok((3, true)));
        assert_eq!(p(&["zrandmember", "k", "3", "x"]), Err(err::SYNTAX.into()));
        assert_eq!(p(&["zrandmember", "k", "x"]), Err(err::NOT_INT.into()));
        assert_eq!(
            p(&["zrandmember", "k", "-9223372036854775807", "withscores"]),
            Err("ERR value is out of range".into())
        );
        assert!(p(&["zrandmember", "k", "-9223372036854775808"]).unwrap_err().contains("must between"));
    }
}
