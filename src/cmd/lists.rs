//! List commands: LPUSH/RPUSH(X), LPOP/RPOP, LLEN, LRANGE, LINDEX, LSET,
//! LINSERT, LREM, LTRIM, LPOS, LMOVE/RPOPLPUSH and LMPOP, reply for reply as
//! Redis 7.2's t_list.c (argument checks in its order, its error texts).
//! The list itself, with its encodings and conversions, is
//! [`crate::types::list`].
//!
//! LMOVE/RPOPLPUSH between keys on two shards and LMPOP over keys on several
//! shards are cross-shard commands: their coordinators check what Redis
//! checks, in its order, with one job per step on the owning shard.
//!
//! For the blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP),
//! which serve a client exactly as the non-blocking command would once a
//! key has something to pop, the serving logic is exposed:
//!
//! - [`pop_reply`]: one key, any reply shape ([`PopShape`]: LPOP's element,
//!   LPOP COUNT's array, BLPOP's `[key, element]`, LMPOP's `[key, [elements]]`);
//! - [`mpop_reply`]: the first non-empty of several keys on this shard;
//!   [`mpop_across`] the same over keys on several shards;
//! - [`move_reply`]: LMOVE on one shard; [`move_across`] between two shards;
//! - [`parse_mpop`]: LMPOP's `numkeys key... LEFT|RIGHT [COUNT n]` tail,
//!   which BLMPOP has after its timeout.
//!
//! They all return `Ok(true)` once they have written the reply, `Ok(false)`
//! when there is nothing to serve (no such key; nothing written: LPOP then
//! replies nil, BLPOP blocks), and `Err(text)` for an error the caller
//! writes (WRONGTYPE), nothing having changed.

use bytes::Bytes;
use futures::future::join_all;

use super::{command, err, flag::*, keys_after_numkeys, parse_int, Command, Exec};
use crate::cmd::acl;
use crate::notify::class;
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::ShardCtx;
use crate::types::list::{End, List, Moved, Where};

const L: u32 = acl::LIST;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("lpush", "key element..."),
    ("rpush", "key element..."),
    ("lpushx", "key element..."),
    ("rpushx", "key element..."),
    ("lpop", "key [count:integer]"),
    ("rpop", "key [count:integer]"),
    ("llen", "key"),
    ("lrange", "key start:integer stop:integer"),
    ("lindex", "key index:integer"),
    ("lset", "key index:integer element"),
    ("linsert", "key where(BEFORE|AFTER) pivot element"),
    ("lrem", "key count:integer element"),
    ("ltrim", "key start:integer stop:integer"),
    ("lpos", "key element [RANK rank:integer] [COUNT num-matches:integer] [MAXLEN len:integer]"),
    ("lmove", "source:key destination:key wherefrom(LEFT|RIGHT) whereto(LEFT|RIGHT)"),
    ("rpoplpush", "source:key destination:key"),
    ("lmpop", "numkeys:integer key... where(LEFT|RIGHT) [COUNT count:integer]"),
];

/// Key-spec flags for `COMMAND INFO`, Redis 7.2's (commands with several key
/// specs, or a `numkeys` argument, have theirs in `specs::KEY_SPECS`).
pub static KEY_FLAGS: &[(&str, &[&str])] = &[
    ("lpush", &["RW", "insert"]),
    ("rpush", &["RW", "insert"]),
    ("lpushx", &["RW", "insert"]),
    ("rpushx", &["RW", "insert"]),
    ("lpop", &["RW", "access", "delete"]),
    ("rpop", &["RW", "access", "delete"]),
    ("llen", &["RO"]),
    ("lrange", &["RO", "access"]),
    ("lindex", &["RO", "access"]),
    ("lset", &["RW", "update"]),
    ("linsert", &["RW", "insert"]),
    ("lrem", &["RW", "delete"]),
    ("ltrim", &["RW", "delete"]),
    ("lpos", &["RO", "access"]),
];

const PUSH_COMPLEXITY: &str =
    "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";

pub static COMMANDS: &[Command] = &[
    command(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        L,
        (1, 1, 1),
        Exec::Keyed(lpush),
        "list",
        "1.0.0",
        PUSH_COMPLEXITY,
        "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
    ),
    command(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        L,
        (1, 1, 1),
        Exec::Keyed(rpush),
        "list",
        "1.0.0",
        PUSH_COMPLEXITY,
        "Appends one or more elements to a list. Creates the key if it doesn't exist.",
    ),
    command(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        L,
        (1, 1, 1),
        Exec::Keyed(lpushx),
        "list",
        "2.2.0",
        PUSH_COMPLEXITY,
        "Prepends one or more elements to a list only when the list exists.",
    ),
    command(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        L,
        (1, 1, 1),
        Exec::Keyed(rpushx),
        "list",
        "2.2.0",
        PUSH_COMPLEXITY,
        "Appends an element to a list only when the list exists.",
    ),
    command(
        "lpop",
        -2,
        WRITE | FAST,
        L,
        (1, 1, 1),
        Exec::Keyed(lpop),
        "list",
        "1.0.0",
        "O(N) where N is the number of elements returned",
        "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
    ),
    command(
        "rpop",
        -2,
        WRITE | FAST,
        L,
        (1, 1, 1),
        Exec::Keyed(rpop),
        "list",
        "1.0.0",
        "O(N) where N is the number of elements returned",
        "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
    ),
    command(
        "llen",
        2,
        READONLY | FAST,
        L,
        (1, 1, 1),
        Exec::Keyed(llen),
        "list",
        "1.0.0",
        "O(1)",
        "Returns the length of a list.",
    ),
    command(
        "lrange",
        4,
        READONLY,
        L,
        (1, 1, 1),
        Exec::Keyed(lrange),
        "list",
        "1.0.0",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) \
         for large lists; and N is the number of elements in the specified range.",
        "Returns a range of elements from a list.",
    ),
    command(
        "lindex",
        3,
        READONLY,
        L,
        (1, 1, 1),
        Exec::Keyed(lindex),
        "list",
        "1.0.0",
        "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for \
         the first or the last element of the list O(1).",
        "Returns an element from a list by its index.",
    ),
    command(
        "lset",
        4,
        WRITE | DENYOOM,
        L,
        (1, 1, 1),
        Exec::Keyed(lset),
        "list",
        "1.0.0",
        "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
        "Sets the value of an element in a list by its index.",
    ),
    command(
        "linsert",
        5,
        WRITE | DENYOOM,
        L,
        (1, 1, 1),
        Exec::Keyed(linsert),
        "list",
        "2.2.0",
        "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that \
         inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on \
         the right end (tail) is O(N).",
        "Inserts an element before or after another element in a list.",
    ),
    command(
        "lrem",
        4,
        WRITE,
        L,
        (1, 1, 1),
        Exec::Keyed(lrem),
        "list",
        "1.0.0",
        "O(N+M) where N is the length of the list and M is the number of elements removed.",
        "Removes elements from a list. Deletes the list if the last element was removed.",
    ),
    command(
        "ltrim",
        4,
        WRITE,
        L,
        (1, 1, 1),
        Exec::Keyed(ltrim),
        "list",
        "1.0.0",
        "O(N) where N is the number of elements to be removed by the operation.",
        "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
    ),
    command(
        "lpos",
        -3,
        READONLY,
        L,
        (1, 1, 1),
        Exec::Keyed(lpos),
        "list",
        "6.0.6",
        "O(N) where N is the number of elements in the list, for the average case. When searching for elements near \
         the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant \
         time.",
        "Returns the index of matching elements in a list.",
    ),
    command(
        "lmove",
        5,
        WRITE | DENYOOM,
        L,
        (1, 2, 1),
        Exec::Cross(lmove, lmove_cross),
        "list",
        "6.2.0",
        "O(1)",
        "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last \
         element was moved.",
    ),
    command(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        L,
        (1, 2, 1),
        Exec::Cross(rpoplpush, rpoplpush_cross),
        "list",
        "1.2.0",
        "O(1)",
        "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the \
         last element was popped.",
    ),
    command(
        "lmpop",
        -4,
        WRITE,
        L,
        (0, 0, 0),
        Exec::Cross(lmpop, lmpop_cross),
        "list",
        "7.0.0",
        "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
    )
    .keys_from(lmpop_keys),
];

// --- Argument parsing --------------------------------------------------------

const INDEX_RANGE: &str = "ERR index out of range";
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use \
                         negative to start from the end of the list";
/// Redis 7.2 takes RANK within ±LONG_MAX, so that it can be negated.
const RANK_RANGE: &str = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
const MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
const NUMKEYS: &str = "ERR numkeys should be greater than 0";
const MPOP_COUNT: &str = "ERR count should be greater than 0";

/// An integer argument (`getLongFromObjectOrReply`).
fn int_arg(arg: &[u8]) -> Result<i64, &'static str> {
    parse_int(arg).ok_or(err::NOT_INT)
}

/// An integer of at least `min`, else `msg` (`getRangeLongFromObjectOrReply`
/// with a message: also for what is not an integer at all).
fn int_at_least(arg: &[u8], min: i64, msg: &'static str) -> Result<i64, &'static str> {
    parse_int(arg).filter(|&n| n >= min).ok_or(msg)
}

/// `LEFT` or `RIGHT` (`getListPositionFromObjectOrReply`).
pub(crate) fn end_arg(arg: &[u8]) -> Result<End, &'static str> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(End::Head)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(End::Tail)
    } else {
        Err(err::SYNTAX)
    }
}

/// A usize count from a non-negative i64 (a no-op on 64-bit targets).
fn count_of(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

// --- Push ----------------------------------------------------------------------

/// LPUSH/RPUSH (create the key) and LPUSHX/RPUSHX (`existing_only`).
fn push(ctx: &mut ShardCtx, args: &[Bytes], end: End, existing_only: bool, reply: &mut Reply) {
    let limits = ctx.limits().list;
    let key = &args[1];
    let list = if existing_only {
        match ctx.write::<List>(key) {
            Ok(Some(list)) => list,
            Ok(None) => return reply.int(0),
            Err(e) => return reply.error(e),
        }
    } else {
        match ctx.write_or_create(key, List::new) {
            Ok(list) => list,
            Err(e) => return reply.error(e),
        }
    };
    list.push(end, &args[2..], limits);
    reply.int(list.len() as i64);
    ctx.notify(class::LIST, push_event(end), key);
}

/// The events of a push and of a pop at `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// After elements were popped from `key` at `end` (Redis's
/// `listElementsRemoved`): the pop's event, then the key's deletion if that
/// emptied it, with its `del`.
fn popped(ctx: &mut ShardCtx, key: &[u8], end: End) {
    ctx.notify(class::LIST, pop_event(end), key);
    ctx.del_if_empty(key);
}

fn lpush(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    push(ctx, args, End::Head, false, reply);
}

fn rpush(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    push(ctx, args, End::Tail, false, reply);
}

fn lpushx(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    push(ctx, args, End::Head, true, reply);
}

fn rpushx(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    push(ctx, args, End::Tail, true, reply);
}

// --- Pop -----------------------------------------------------------------------

/// How a pop replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopShape {
    /// LPOP/RPOP without a count: the element.
    One,
    /// LPOP/RPOP with a count: an array of up to that many (0: empty).
    Many(usize),
    /// BLPOP/BRPOP: `[key, element]`.
    KeyOne,
    /// LMPOP/BLMPOP: `[key, [up to count elements]]`.
    KeyMany(usize),
}

/// Pops from the list at `key` at `end` and replies in `shape` (see the
/// module docs for the result); deletes the key once emptied.
pub(crate) fn pop_reply(
    ctx: &mut ShardCtx,
    key: &[u8],
    end: End,
    shape: PopShape,
    reply: &mut Reply,
) -> Result<bool, &'static str> {
    let limits = ctx.limits().list;
    let Some(list) = ctx.write::<List>(key)? else { return Ok(false) };
    if list.is_empty() {
        return Ok(false);
    }
    match shape {
        PopShape::One | PopShape::KeyOne => {
            let Some(v) = list.pop(end, limits) else { return Ok(false) };
            if shape == PopShape::KeyOne {
                reply.array(2);
                reply.bulk(key);
            }
            reply.bulk(&v);
        }
        PopShape::Many(count) | PopShape::KeyMany(count) => {
            let taken = list.pop_many(end, count, limits);
            if matches!(shape, PopShape::KeyMany(_)) {
                reply.array(2);
                reply.bulk(key);
            }
            reply.array(taken.len());
            for v in &taken {
                reply.bulk(v);
            }
            // A count of 0 takes nothing, and says nothing.
            if taken.is_empty() {
                return Ok(true);
            }
        }
    }
    popped(ctx, key, end);
    Ok(true)
}

/// LPOP/RPOP `key [count]`: the count is checked before the key.
fn pop(ctx: &mut ShardCtx, args: &[Bytes], end: End, reply: &mut Reply) {
    if args.len() > 3 {
        let name = if end == End::Head { "lpop" } else { "rpop" };
        return reply.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let count = match args.get(2).map(|a| int_at_least(a, 0, NOT_POSITIVE)) {
        None => None,
        Some(Ok(n)) => Some(count_of(n)),
        Some(Err(e)) => return reply.error(e),
    };
    match pop_reply(ctx, &args[1], end, count.map_or(PopShape::One, PopShape::Many), reply) {
        Ok(true) => {}
        Ok(false) if count.is_some() => reply.null_array(),
        Ok(false) => reply.null(),
        Err(e) => reply.error(e),
    }
}

fn lpop(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    pop(ctx, args, End::Head, reply);
}

fn rpop(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    pop(ctx, args, End::Tail, reply);
}

// --- LMPOP -----------------------------------------------------------------------

/// LMPOP's (and BLMPOP's) arguments after the command name (and timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MpopArgs {
    pub keys: Vec<Bytes>,
    pub end: End,
    pub count: usize,
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` starting at `args[at]`, in
/// Redis's order: numkeys, the keys' room, the end, the options.
pub(crate) fn parse_mpop(args: &[Bytes], at: usize) -> Result<MpopArgs, &'static str> {
    let numkeys = int_at_least(args.get(at).ok_or(err::SYNTAX)?, 1, NUMKEYS)?;
    // The end's index is at + 1 + numkeys, which must be an argument.
    let room = args.len().saturating_sub(at + 1);
    let numkeys = count_of(numkeys);
    if numkeys >= room {
        return Err(err::SYNTAX);
    }
    let end_at = at + 1 + numkeys;
    let end = end_arg(&args[end_at])?;
    let mut count = None;
    let mut j = end_at + 1;
    while j < args.len() {
        if count.is_none() && args[j].eq_ignore_ascii_case(b"count") && j + 1 < args.len() {
            j += 1;
            count = Some(count_of(int_at_least(&args[j], 1, MPOP_COUNT)?));
        } else {
            return Err(err::SYNTAX);
        }
        j += 1;
    }
    Ok(MpopArgs { keys: args[at + 1..end_at].to_vec(), end, count: count.unwrap_or(1) })
}

/// LMPOP's keys, for routing and `COMMAND GETKEYS`.
fn lmpop_keys(args: &[Bytes]) -> Vec<usize> {
    keys_after_numkeys(args, 1)
}

/// Pops up to `count` from the first of `keys` (all on this shard) that
/// holds a list, replying `[key, [elements]]`; WRONGTYPE if a key before it
/// holds something else.
pub(crate) fn mpop_reply(
    ctx: &mut ShardCtx,
    keys: &[Bytes],
    end: End,
    count: usize,
    reply: &mut Reply,
) -> Result<bool, &'static str> {
    for key in keys {
        if pop_reply(ctx, key, end, PopShape::KeyMany(count), reply)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lmpop(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let a = match parse_mpop(args, 1) {
        Ok(a) => a,
        Err(e) => return reply.error(e),
    };
    match mpop_reply(ctx, &a.keys, a.end, a.count, reply) {
        Ok(true) => {}
        Ok(false) => reply.null_array(),
        Err(e) => reply.error(e),
    }
}

fn lmpop_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let a = match parse_mpop(&args, 1) {
            Ok(a) => a,
            Err(e) => return cx.error(e),
        };
        match mpop_across(&cx, &a.keys, a.end, a.count).await {
            Ok(Some(out)) => out,
            Ok(None) => cx.encode(|r| r.null_array()),
            Err(e) => cx.error(e),
        }
    })
}

/// What a key holds, as LMPOP sees it.
enum Holds {
    Nothing,
    List,
    Other,
}

fn holds(ctx: &mut ShardCtx, key: &[u8]) -> Holds {
    match ctx.write::<List>(key) {
        Ok(Some(list)) if !list.is_empty() => Holds::List,
        Ok(_) => Holds::Nothing,
        Err(_) => Holds::Other,
    }
}

/// [`mpop_reply`] over keys on several shards: every shard reports, at
/// once, the first of its keys that holds something; the first of those in
/// the client's order is popped (or is the WRONGTYPE). If another client
/// emptied it in between, the search starts again. Returns the encoded
/// reply, or None when no key holds a list.
pub(crate) async fn mpop_across(
    cx: &Cross,
    keys: &[Bytes],
    end: End,
    count: usize,
) -> Result<Option<Vec<u8>>, &'static str> {
    let mut shards: Vec<usize> = keys.iter().map(|k| cx.shard_of(k)).collect();
    let owner = shards.clone();
    shards.sort_unstable();
    shards.dedup();
    loop {
        let probes = shards.iter().map(|&shard| {
            let mine: Vec<(usize, Bytes)> =
                keys.iter().enumerate().filter(|(i, _)| owner[*i] == shard).map(|(i, k)| (i, k.clone())).collect();
            cx.on(shard, move |ctx| {
                mine.iter().find_map(|(i, k)| match holds(ctx, k) {
                    Holds::Nothing => None,
                    Holds::List => Some((*i, true)),
                    Holds::Other => Some((*i, false)),
                })
            })
        });
        let mut first: Option<(usize, bool)> = None;
        for found in join_all(probes).await {
            if let Some(f) = found? {
                first = Some(first.map_or(f, |g| if f.0 < g.0 { f } else { g }));
            }
        }
        let Some((i, is_list)) = first else { return Ok(None) };
        if !is_list {
            return Err(err::WRONGTYPE);
        }
        let (key, proto) = (keys[i].clone(), cx.proto);
        let (served, out) = cx
            .on(owner[i], move |ctx| {
                let mut out = Vec::new();
                let served = pop_reply(ctx, &key, end, PopShape::KeyMany(count), &mut Reply::new(&mut out, proto));
                if served == Ok(true) {
                    ctx.log_command(&[pop_name(end), &key, count.to_string().as_bytes()]);
                }
                (served, out)
            })
            .await?;
        if served? {
            return Ok(Some(out));
        }
    }
}

// --- LMOVE, RPOPLPUSH ---------------------------------------------------------------

/// Moves one element from `src` at `from` to `dst` at `to` on this shard
/// and replies with it (`lmoveGenericCommand`): the source is checked
/// first, then the destination's type, before anything is popped.
pub(crate) fn move_reply(
    ctx: &mut ShardCtx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    reply: &mut Reply,
) -> Result<bool, &'static str> {
    let limits = ctx.limits().list;
    if !matches!(ctx.write::<List>(src)?, Some(l) if !l.is_empty()) {
        return Ok(false);
    }
    let value = if src == dst {
        ctx.write::<List>(src)?.and_then(|l| l.rotate(from, to, limits))
    } else {
        ctx.write::<List>(dst)?;
        let Some(moved) = ctx.write::<List>(src)?.and_then(|l| l.pop_to_move(from, limits)) else {
            return Ok(false);
        };
        ctx.write_or_create(dst, List::new)?.push_moved(to, &moved, limits);
        Some(moved.value)
    };
    let Some(value) = value else { return Ok(false) };
    // As Redis: the push's events, then the pop's.
    ctx.notify(class::LIST, push_event(to), dst);
    popped(ctx, src, from);
    reply.bulk(&value);
    Ok(true)
}

/// [`move_reply`] between two shards: the source's and the destination's
/// checks run at once, then the pop, then the push. Returns the moved
/// element, or None when the source has none.
pub(crate) async fn move_across(
    cx: &Cross,
    src: Bytes,
    dst: Bytes,
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, &'static str> {
    let (src_shard, dst_shard) = (cx.shard_of(&src), cx.shard_of(&dst));
    let (s, d) = (src.clone(), dst.clone());
    let (source, dest) = futures::join!(
        cx.on(src_shard, move |ctx| ctx.write::<List>(&s).map(|l| l.is_some_and(|l| !l.is_empty()))),
        cx.on(dst_shard, move |ctx| ctx.write::<List>(&d).map(|_| ())),
    );
    if !source?? {
        return Ok(None);
    }
    dest??;
    let (from_src, popped_src) = (src.clone(), src.clone());
    let popped = cx
        .on(src_shard, move |ctx| {
            let limits = ctx.limits().list;
            let moved = ctx.write::<List>(&from_src).map(|l| l.and_then(|l| l.pop_to_move(from, limits)));
            let emptied = ctx.remove_if_empty(&from_src);
            if matches!(moved, Ok(Some(_))) {
                ctx.log_command(&[pop_name(from), &from_src]);
            }
            moved.map(|m| m.map(|m| (m, emptied)))
        })
        .await??;
    let Some((moved, emptied)) = popped else { return Ok(None) };
    let value = moved.value.clone();
    let pushed = cx
        .on(dst_shard, move |ctx| {
            let limits = ctx.limits().list;
            let pushed = ctx.write_or_create(&dst, List::new).map(|l| l.push_moved(to, &moved, limits));
            match pushed {
                Ok(()) => {
                    ctx.log_command(&[push_name(to), &dst, &moved.value]);
                    // The source's events too, from here: Redis fires the
                    // push's before the pop's.
                    ctx.notify(class::LIST, push_event(to), &dst);
                    ctx.notify(class::LIST, pop_event(from), &popped_src);
                    if emptied {
                        ctx.notify(class::GENERIC, "del", &popped_src);
                    }
                    Ok(())
                }
                Err(e) => Err((e, moved)),
            }
        })
        .await?;
    if let Err((e, moved)) = pushed {
        // The destination changed type since it was checked: the element
        // goes back where it came from rather than being lost.
        cx.on(src_shard, move |ctx| restore(ctx, &src, from, moved)).await?;
        return Err(e);
    }
    Ok(Some(value))
}

/// The pop and push commands of an end, for the log.
fn pop_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

fn push_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPUSH",
        End::Tail => b"RPUSH",
    }
}

/// Puts a popped element back at the end it came from.
fn restore(ctx: &mut ShardCtx, key: &[u8], end: End, moved: Moved) {
    let limits = ctx.limits().list;
    if let Ok(list) = ctx.write_or_create(key, List::new) {
        list.push(end, &[&moved.value], limits);
        ctx.log_command(&[push_name(end), key, &moved.value]);
    }
}

fn move_command(ctx: &mut ShardCtx, src: &[u8], dst: &[u8], from: End, to: End, reply: &mut Reply) {
    match move_reply(ctx, src, dst, from, to, reply) {
        Ok(true) => {}
        Ok(false) => reply.null(),
        Err(e) => reply.error(e),
    }
}

/// LMOVE's two ends, the source's checked first.
fn lmove_ends(args: &[Bytes]) -> Result<(End, End), &'static str> {
    Ok((end_arg(&args[3])?, end_arg(&args[4])?))
}

fn lmove(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match lmove_ends(args) {
        Ok((from, to)) => move_command(ctx, &args[1], &args[2], from, to, reply),
        Err(e) => reply.error(e),
    }
}

fn rpoplpush(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    move_command(ctx, &args[1], &args[2], End::Tail, End::Head, reply);
}

async fn move_command_across(cx: Cross, args: Vec<Bytes>, from: End, to: End) -> Vec<u8> {
    match move_across(&cx, args[1].clone(), args[2].clone(), from, to).await {
        Ok(Some(value)) => cx.encode(|r| r.bulk(&value)),
        Ok(None) => cx.encode(|r| r.null()),
        Err(e) => cx.error(e),
    }
}

fn lmove_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        match lmove_ends(&args) {
            Ok((from, to)) => move_command_across(cx, args, from, to).await,
            Err(e) => cx.error(e),
        }
    })
}

fn rpoplpush_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(move_command_across(cx, args, End::Tail, End::Head))
}

// --- Reading ---------------------------------------------------------------------

fn llen(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ctx.read::<List>(&args[1]) {
        Ok(list) => reply.int(list.map_or(0, |l| l.len()) as i64),
        Err(e) => reply.error(e),
    }
}

/// LRANGE: the indexes are checked before the key.
fn lrange(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let (start, stop) = match (int_arg(&args[2]), int_arg(&args[3])) {
        (Ok(start), Ok(stop)) => (start, stop),
        (Err(e), _) | (_, Err(e)) => return reply.error(e),
    };
    match ctx.read::<List>(&args[1]) {
        Ok(Some(list)) => {
            let range = list.range(start, stop, false);
            reply.array(range.len());
            for v in range {
                reply.bulk(v);
            }
        }
        Ok(None) => reply.empty_array(),
        Err(e) => reply.error(e),
    }
}

/// LINDEX: the key is checked before the index.
fn lindex(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let list = match ctx.read::<List>(&args[1]) {
        Ok(Some(list)) => list,
        Ok(None) => return reply.null(),
        Err(e) => return reply.error(e),
    };
    match int_arg(&args[2]).map(|i| list.get(i)) {
        Ok(Some(v)) => reply.bulk(v),
        Ok(None) => reply.null(),
        Err(e) => reply.error(e),
    }
}

/// LPOS's options.
struct LposOptions {
    /// Which match to start from: from the head if positive, the tail if
    /// negative; never 0.
    rank: i64,
    /// COUNT: how many matches to list (0: all); None: reply with one.
    count: Option<usize>,
    /// How many elements to look at (0: all).
    maxlen: usize,
}

fn lpos_options(args: &[Bytes]) -> Result<LposOptions, &'static str> {
    let mut o = LposOptions { rank: 1, count: None, maxlen: 0 };
    let mut j = 0;
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = &args[j];
        if opt.eq_ignore_ascii_case(b"rank") && more {
            j += 1;
            o.rank = int_arg(&args[j])?;
            if o.rank == i64::MIN {
                return Err(RANK_RANGE);
            }
            if o.rank == 0 {
                return Err(RANK_ZERO);
            }
        } else if opt.eq_ignore_ascii_case(b"count") && more {
            j += 1;
            o.count = Some(count_of(int_at_least(&args[j], 0, COUNT_NEGATIVE)?));
        } else if opt.eq_ignore_ascii_case(b"maxlen") && more {
            j += 1;
            o.maxlen = count_of(int_at_least(&args[j], 0, MAXLEN_NEGATIVE)?);
        } else {
            return Err(err::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// The indexes (LINDEX's) of the matches of `element` that LPOS reports.
fn lpos_matches(list: &List, element: &[u8], o: &LposOptions) -> Vec<i64> {
    let (reverse, len) = (o.rank < 0, list.len());
    let walk = if reverse { list.iter_from(-1, true) } else { list.iter() };
    let scanned = if o.maxlen == 0 { len } else { o.maxlen };
    let wanted = match o.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n,
    };
    walk.take(scanned)
        .enumerate()
        .filter(|(_, v)| *v == element)
        .skip(o.rank.unsigned_abs().saturating_sub(1) as usize)
        .take(wanted)
        .map(|(i, _)| if reverse { len - 1 - i } else { i } as i64)
        .collect()
}

/// LPOS: the options are checked before the key.
fn lpos(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let o = match lpos_options(&args[3..]) {
        Ok(o) => o,
        Err(e) => return reply.error(e),
    };
    let matches = match ctx.read::<List>(&args[1]) {
        Ok(Some(list)) => lpos_matches(list, &args[2], &o),
        Ok(None) => Vec::new(),
        Err(e) => return reply.error(e),
    };
    if o.count.is_some() {
        reply.array(matches.len());
        for m in matches {
            reply.int(m);
        }
    } else {
        match matches.first() {
            Some(&m) => reply.int(m),
            None => reply.null(),
        }
    }
}

// --- Editing ---------------------------------------------------------------------

/// LSET: the key is checked before the index.
fn lset(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let limits = ctx.limits().list;
    let list = match ctx.write::<List>(&args[1]) {
        Ok(Some(list)) => list,
        Ok(None) => return reply.error(err::NO_SUCH_KEY),
        Err(e) => return reply.error(e),
    };
    match int_arg(&args[2]).map(|i| list.set(i, &args[3], limits)) {
        Ok(true) => {
            reply.ok();
            ctx.notify(class::LIST, "lset", &args[1]);
        }
        Ok(false) => reply.error(INDEX_RANGE),
        Err(e) => reply.error(e),
    }
}

/// LINSERT: BEFORE/AFTER is checked before the key.
fn linsert(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let place = if args[2].eq_ignore_ascii_case(b"after") {
        Where::After
    } else if args[2].eq_ignore_ascii_case(b"before") {
        Where::Before
    } else {
        return reply.error(err::SYNTAX);
    };
    let limits = ctx.limits().list;
    match ctx.write::<List>(&args[1]) {
        Ok(Some(list)) => match list.insert(place, &args[3], &args[4], limits) {
            Some(len) => {
                reply.int(len as i64);
                ctx.notify(class::LIST, "linsert", &args[1]);
            }
            None => reply.int(-1),
        },
        Ok(None) => reply.int(0),
        Err(e) => reply.error(e),
    }
}

/// LREM: the count is checked before the key.
fn lrem(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let count = match int_arg(&args[2]) {
        Ok(n) => n,
        Err(e) => return reply.error(e),
    };
    let limits = ctx.limits().list;
    let removed = match ctx.write::<List>(&args[1]) {
        Ok(Some(list)) => list.remove(count, &args[3], limits),
        Ok(None) => return reply.int(0),
        Err(e) => return reply.error(e),
    };
    if removed > 0 {
        ctx.notify(class::LIST, "lrem", &args[1]);
    }
    ctx.del_if_empty(&args[1]);
    reply.int(removed as i64);
}

/// LTRIM: the indexes are checked before the key.
fn ltrim(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let (start, stop) = match (int_arg(&args[2]), int_arg(&args[3])) {
        (Ok(start), Ok(stop)) => (start, stop),
        (Err(e), _) | (_, Err(e)) => return reply.error(e),
    };
    let limits = ctx.limits().list;
    match ctx.write::<List>(&args[1]) {
        Ok(Some(list)) => list.trim(start, stop, limits),
        Ok(None) => return reply.ok(),
        Err(e) => return reply.error(e),
    }
    ctx.notify(class::LIST, "ltrim", &args[1]);
    ctx.del_if_empty(&args[1]);
    reply.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn mpop_tail_parses_as_redis() {
        let a = parse_mpop(&args(&["lmpop", "2", "a", "b", "right", "COUNT", "3"]), 1).unwrap();
        assert_eq!(a, MpopArgs { keys: args(&["a", "b"]), end: End::Tail, count: 3 });
        let a = parse_mpop(&args(&["blmpop", "0", "1", "a", "LEFT"]), 2).unwrap();
        assert_eq!((a.keys.len(), a.end, a.count), (1, End::Head, 1));
        let e = |v: &[&str]| parse_mpop(&args(v), 1).unwrap_err();
        assert_eq!(e(&["lmpop", "0", "a", "left"]), NUMKEYS);
        assert_eq!(e(&["lmpop", "x", "a", "left"]), NUMKEYS);
        assert_eq!(e(&["lmpop", "2", "a", "left"]), err::SYNTAX);
        assert_eq!(e(&["lmpop", "9223372036854775807", "a", "left"]), err::SYNTAX);
        assert_eq!(e(&["lmpop", "1", "a", "up"]), err::SYNTAX);
        assert_eq!(e(&["lmpop", "1", "a", "left", "count", "0"]), MPOP_COUNT);
        assert_eq!(e(&["lmpop", "1", "a", "left", "count", "1", "count", "1"]), err::SYNTAX);
        assert_eq!(e(&["lmpop", "1", "a", "left", "count"]), err::SYNTAX);
    }

    #[test]
    fn lpos_walks_from_either_end() {
        let mut l = List::new();
        l.push(End::Tail, &["a", "b", "a", "c", "a"], Default::default());
        let o = |rank, count, maxlen| LposOptions { rank, count, maxlen };
        assert_eq!(lpos_matches(&l, b"a", &o(1, None, 0)), [0]);
        assert_eq!(lpos_matches(&l, b"a", &o(2, Some(0), 0)), [2, 4]);
        assert_eq!(lpos_matches(&l, b"a", &o(-1, Some(2), 0)), [4, 2]);
        assert_eq!(lpos_matches(&l, b"a", &o(-1, Some(0), 2)), [4]);
        assert_eq!(lpos_matches(&l, b"a", &o(i64::MAX, Some(0), 0)), Vec::<i64>::new());
    }
}
