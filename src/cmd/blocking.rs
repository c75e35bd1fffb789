//! The blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX and BZMPOP. Each is its non-blocking command (LPOP, LMOVE,
//! ZPOPMIN, …) served now if one of its keys has data, else when one gets
//! some, in the order clients blocked; the machinery is in
//! `shard::blocking` (the shard's queues) and `server::blocking` (the
//! connection's wait). This file says, per command, how to parse it, when
//! a key can serve it, and how to serve it.

use bytes::Bytes;

use super::lists;
use super::zsets::{parse_mpop, serve_pop, PopShape};
use super::{acl, command, flag::*, keys_after_numkeys, Command, Exec};
use crate::persist::log::argv;
use crate::resp::Reply;
use crate::server::cross::Cross;
use crate::shard::blocking::{BlockSpec, Check, Served, WaitFor};
use crate::shard::ShardCtx;
use crate::slot::shard_of_key;
use crate::types::list::End;
use crate::types::{List, ZSet};
use futures::future::LocalBoxFuture;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("blpop", "key... timeout:double"),
    ("brpop", "key... timeout:double"),
    ("blmove", "source:key destination:key wherefrom(LEFT|RIGHT) whereto(LEFT|RIGHT) timeout:double"),
    ("brpoplpush", "source:key destination:key timeout:double"),
    ("blmpop", "timeout:double numkeys:integer key... where(LEFT|RIGHT) [COUNT count:integer]"),
    ("bzpopmin", "key... timeout:double"),
    ("bzpopmax", "key... timeout:double"),
    ("bzmpop", "timeout:double numkeys:integer key... where(MIN|MAX) [COUNT count:integer]"),
];

/// Key-spec flags for `COMMAND INFO`, Redis 7.2's (commands with several key
/// specs, or a `numkeys` argument, have theirs in `specs::KEY_SPECS`).
pub static KEY_FLAGS: &[(&str, &[&str])] = &[
    ("blpop", &["RW", "access", "delete"]),
    ("brpop", &["RW", "access", "delete"]),
    ("bzpopmin", &["RW", "access", "delete"]),
    ("bzpopmax", &["RW", "access", "delete"]),
];

const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";

/// A blocking timeout in seconds, as Redis's `getTimeoutFromObjectOrReply`
/// reads it: a long double, times 1000, rounded up to whole milliseconds
/// (0 = forever). C's conversion of a value past `long long` (inf, 1e30)
/// gives LLONG_MIN, so Redis calls those negative; so do we.
pub fn parse_timeout(arg: &[u8]) -> Result<u64, &'static str> {
    if crate::num::longdouble::LongDouble::parse(arg).is_none() {
        return Err(TIMEOUT_NOT_FLOAT);
    }
    let (secs, _, _) = crate::types::zset::strtod(arg);
    let ms = (secs * 1000.0).ceil();
    // 2^63 ms: past `long long`, or NaN.
    let representable = (0.0..9.223_372_036_854_776e18).contains(&ms);
    if !representable {
        return Err(TIMEOUT_NEGATIVE);
    }
    Ok(ms as u64)
}

/// BLPOP/BRPOP: `key [key ...] timeout`.
fn parse_keys_then_timeout(args: &[Bytes]) -> Result<WaitFor, String> {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    Ok(((1..args.len() - 1).collect(), timeout))
}

/// What a key offers a list pop.
fn list_check(ctx: &mut ShardCtx, key: &[u8]) -> Check {
    match ctx.write::<List>(key) {
        Ok(Some(l)) if !l.is_empty() => Check::Ready,
        Ok(_) => Check::Empty,
        Err(_) => Check::WrongType,
    }
}

fn list_ready(ctx: &mut ShardCtx, _: &[Bytes], key: &[u8]) -> Check {
    list_check(ctx, key)
}

fn serve_blpop(ctx: &mut ShardCtx, _: &[Bytes], key: &[u8], reply: &mut Reply) -> Served {
    list_pop(ctx, key, End::Head, lists::PopShape::KeyOne, reply);
    Served::Replied
}

fn serve_brpop(ctx: &mut ShardCtx, _: &[Bytes], key: &[u8], reply: &mut Reply) -> Served {
    list_pop(ctx, key, End::Tail, lists::PopShape::KeyOne, reply);
    Served::Replied
}

/// BLMPOP: `timeout numkeys key... LEFT|RIGHT [COUNT n]`, the timeout first.
fn parse_blmpop(args: &[Bytes]) -> Result<WaitFor, String> {
    let timeout = parse_timeout(&args[1])?;
    let m = lists::parse_mpop(args, 2)?;
    Ok(((3..3 + m.keys.len()).collect(), timeout))
}

fn serve_blmpop(ctx: &mut ShardCtx, args: &[Bytes], key: &[u8], reply: &mut Reply) -> Served {
    match lists::parse_mpop(args, 2) {
        Ok(m) => list_pop(ctx, key, m.end, lists::PopShape::KeyMany(m.count), reply),
        Err(e) => reply.error(e),
    }
    Served::Replied
}

/// Serves a list pop through the family's own serving function.
fn list_pop(ctx: &mut ShardCtx, key: &[u8], end: End, shape: lists::PopShape, reply: &mut Reply) {
    match lists::pop_reply(ctx, key, end, shape, reply) {
        Ok(true) => {}
        Ok(false) => reply.null_array(),
        Err(e) => reply.error(e),
    }
}

/// BLMOVE's ends (`args[3]`, `args[4]`, checked before the timeout);
/// BRPOPLPUSH's are fixed.
fn move_ends(args: &[Bytes]) -> Result<(End, End), &'static str> {
    if args.len() == 4 {
        return Ok((End::Tail, End::Head));
    }
    Ok((lists::end_arg(&args[3])?, lists::end_arg(&args[4])?))
}

fn parse_move(args: &[Bytes]) -> Result<WaitFor, String> {
    move_ends(args)?;
    Ok((vec![1], parse_timeout(&args[args.len() - 1])?))
}

/// On the source's shard: the whole move when the destination is here
/// too; else nothing yet — the connection makes the move a transaction
/// over both shards ([`move_across`]).
fn serve_move(ctx: &mut ShardCtx, args: &[Bytes], src: &[u8], reply: &mut Reply) -> Served {
    let (from, to) = match move_ends(args) {
        Ok(ends) => ends,
        Err(e) => {
            reply.error(e);
            return Served::Replied;
        }
    };
    let dst = &args[2];
    if shard_of_key(dst, ctx.shard.shards()) != ctx.shard.id {
        return Served::Elsewhere;
    }
    match lists::move_reply(ctx, src, dst, from, to, reply) {
        Ok(true) => {}
        Ok(false) => reply.null(),
        Err(e) => reply.error(e),
    }
    Served::Replied
}

/// The empty replies inside MULTI: a null array for the pops, a null for
/// the moves (as LMOVE answers).
fn null_array(reply: &mut Reply) {
    reply.null_array()
}

fn null(reply: &mut Reply) {
    reply.null()
}

/// BLMOVE between shards, atomic: LMOVE's coordinator. None if the source
/// is empty again by now (the client goes on waiting).
fn move_across(cx: Cross, args: Vec<Bytes>) -> LocalBoxFuture<'static, Option<Vec<u8>>> {
    Box::pin(async move {
        let (from, to) = match move_ends(&args) {
            Ok(ends) => ends,
            Err(e) => return Some(cx.error(e)),
        };
        match lists::move_across(&cx, args[1].clone(), args[2].clone(), from, to).await {
            Ok(Some(moved)) => Some(cx.encode(|r| r.bulk(&moved))),
            Ok(None) => None,
            Err(e) => Some(cx.error(e)),
        }
    })
}

static BLMPOP: BlockSpec = BlockSpec {
    parse: parse_blmpop,
    ready: list_ready,
    serve: serve_blmpop,
    across: None,
    nothing: null_array,
    logged: |args, key| logged_mpop(b"LMPOP", args, key),
};

static BLMOVE: BlockSpec = BlockSpec {
    parse: parse_move,
    ready: list_ready,
    serve: serve_move,
    across: Some(move_across),
    nothing: null,
    logged: logged_move,
};

static BLPOP: BlockSpec = BlockSpec {
    parse: parse_keys_then_timeout,
    ready: list_ready,
    serve: serve_blpop,
    across: None,
    nothing: null_array,
    logged: |_, key| argv(&[b"LPOP", key]),
};

static BRPOP: BlockSpec = BlockSpec {
    parse: parse_keys_then_timeout,
    ready: list_ready,
    serve: serve_brpop,
    across: None,
    nothing: null_array,
    logged: |_, key| argv(&[b"RPOP", key]),
};

/// BLMPOP/BZMPOP served from `key`: `LMPOP 1 key <end> [COUNT n]` (the
/// timeout, numkeys and the other keys dropped).
fn logged_mpop(name: &'static [u8], args: &[Bytes], key: &[u8]) -> Vec<Bytes> {
    let numkeys = std::str::from_utf8(&args[2]).ok().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    let mut out = argv(&[name, b"1", key]);
    out.extend(args.iter().skip(3 + numkeys).cloned());
    out
}

/// BLMOVE/BRPOPLPUSH served on one shard: LMOVE/RPOPLPUSH without the timeout.
fn logged_move(args: &[Bytes], _: &[u8]) -> Vec<Bytes> {
    let name: &'static [u8] = if args.len() == 4 { b"RPOPLPUSH" } else { b"LMOVE" };
    let mut out = argv(&[name]);
    out.extend(args[1..args.len() - 1].iter().cloned());
    out
}

// --- Sorted sets -----------------------------------------------------------------

fn zset_ready(ctx: &mut ShardCtx, _: &[Bytes], key: &[u8]) -> Check {
    match ctx.write::<ZSet>(key) {
        Ok(Some(z)) if !z.is_empty() => Check::Ready,
        Ok(_) => Check::Empty,
        Err(_) => Check::WrongType,
    }
}

/// Serves a sorted-set pop through the family's own serving function.
fn zset_pop(ctx: &mut ShardCtx, key: &[u8], max: bool, count: usize, shape: PopShape, reply: &mut Reply) -> Served {
    match serve_pop(ctx, key, max, count, shape, reply) {
        Ok(true) => {}
        Ok(false) => reply.null_array(),
        Err(e) => reply.error(e),
    }
    Served::Replied
}

fn serve_bzpopmin(ctx: &mut ShardCtx, _: &[Bytes], key: &[u8], reply: &mut Reply) -> Served {
    zset_pop(ctx, key, false, 1, PopShape::KeyFlat, reply)
}

fn serve_bzpopmax(ctx: &mut ShardCtx, _: &[Bytes], key: &[u8], reply: &mut Reply) -> Served {
    zset_pop(ctx, key, true, 1, PopShape::KeyFlat, reply)
}

/// BZMPOP: `timeout numkeys key... MIN|MAX [COUNT n]`, the timeout first.
fn parse_bzmpop(args: &[Bytes]) -> Result<WaitFor, String> {
    let timeout = parse_timeout(&args[1])?;
    let m = parse_mpop(args, 2)?;
    Ok((m.keys.collect(), timeout))
}

fn serve_bzmpop(ctx: &mut ShardCtx, args: &[Bytes], key: &[u8], reply: &mut Reply) -> Served {
    match parse_mpop(args, 2) {
        Ok(m) => zset_pop(ctx, key, m.max, m.count, PopShape::KeyNested, reply),
        Err(e) => {
            reply.error(e);
            Served::Replied
        }
    }
}

static BZPOPMIN: BlockSpec = BlockSpec {
    parse: parse_keys_then_timeout,
    ready: zset_ready,
    serve: serve_bzpopmin,
    across: None,
    nothing: null_array,
    logged: |_, key| argv(&[b"ZPOPMIN", key]),
};

static BZPOPMAX: BlockSpec = BlockSpec {
    parse: parse_keys_then_timeout,
    ready: zset_ready,
    serve: serve_bzpopmax,
    across: None,
    nothing: null_array,
    logged: |_, key| argv(&[b"ZPOPMAX", key]),
};

static BZMPOP: BlockSpec = BlockSpec {
    parse: parse_bzmpop,
    ready: zset_ready,
    serve: serve_bzmpop,
    across: None,
    nothing: null_array,
    logged: |args, key| logged_mpop(b"ZMPOP", args, key),
};

/// BLMPOP and BZMPOP's keys: a numkeys argument after the timeout.
fn keys_after_timeout(args: &[Bytes]) -> Vec<usize> {
    keys_after_numkeys(args, 2)
}

/// Redis 7.2's flags (7.0 also had `noscript`).
const BLOCK_WRITE: u32 = WRITE | BLOCKING;

pub static COMMANDS: &[Command] = &[
    command(
        "blpop",
        -3,
        BLOCK_WRITE,
        acl::LIST,
        (1, -2, 1),
        Exec::Blocking(&BLPOP),
        "list",
        "2.0.0",
        "O(N) where N is the number of provided keys.",
        "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
    ),
    command(
        "brpop",
        -3,
        BLOCK_WRITE,
        acl::LIST,
        (1, -2, 1),
        Exec::Blocking(&BRPOP),
        "list",
        "2.0.0",
        "O(N) where N is the number of provided keys.",
        "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
    ),
    command(
        "blmove",
        6,
        BLOCK_WRITE | DENYOOM,
        acl::LIST,
        (1, 2, 1),
        Exec::Blocking(&BLMOVE),
        "list",
        "6.2.0",
        "O(1)",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
    ),
    command(
        "brpoplpush",
        4,
        BLOCK_WRITE | DENYOOM,
        acl::LIST,
        (1, 2, 1),
        Exec::Blocking(&BLMOVE),
        "list",
        "2.2.0",
        "O(1)",
        "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
    ),
    command(
        "blmpop",
        -5,
        BLOCK_WRITE,
        acl::LIST,
        (0, 0, 0),
        Exec::Blocking(&BLMPOP),
        "list",
        "7.0.0",
        "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
    )
    .keys_from(keys_after_timeout),
    command(
        "bzpopmin",
        -3,
        BLOCK_WRITE | FAST,
        acl::SORTEDSET,
        (1, -2, 1),
        Exec::Blocking(&BZPOPMIN),
        "sorted_set",
        "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
    ),
    command(
        "bzpopmax",
        -3,
        BLOCK_WRITE | FAST,
        acl::SORTEDSET,
        (1, -2, 1),
        Exec::Blocking(&BZPOPMAX),
        "sorted_set",
        "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.",
    ),
    command(
        "bzmpop",
        -5,
        BLOCK_WRITE,
        acl::SORTEDSET,
        (0, 0, 0),
        Exec::Blocking(&BZMPOP),
        "sorted_set",
        "7.0.0",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
    )
    .keys_from(keys_after_timeout),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis_reads_them() {
        assert_eq!(parse_timeout(b"0"), Ok(0));
        assert_eq!(parse_timeout(b"1.5"), Ok(1500));
        assert_eq!(parse_timeout(b"0x1p-20"), Ok(1));
        assert_eq!(parse_timeout(b"1e-30"), Ok(1));
        assert_eq!(parse_timeout(b"-0.0001"), Ok(0));
        assert_eq!(parse_timeout(b"-1"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(parse_timeout(b"inf"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(parse_timeout(b"1e30"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(parse_timeout(b"9.3e15"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(parse_timeout(b"nan"), Err(TIMEOUT_NOT_FLOAT));
        assert_eq!(parse_timeout(b" 1"), Err(TIMEOUT_NOT_FLOAT));
        assert_eq!(parse_timeout(b"1x"), Err(TIMEOUT_NOT_FLOAT));
        assert_eq!(parse_timeout(b""), Err(TIMEOUT_NOT_FLOAT));
    }
}
