//! The set commands, reply for reply as Redis's `t_set.c`.
//!
//! The data structure is [`crate::types::set`] (intset, listpack and
//! hashtable with Redis 7.2's conversions); this family parses arguments
//! in Redis's order, looks keys up, and writes replies. The set algebra
//! (SINTER, SUNION, SDIFF, their STORE forms and SINTERCARD, also across
//! shards) lives in [`algebra`]; SMOVE is here, with its cross-shard
//! coordinator built from the same steps as the single-shard handler.
//!
//! RESP3: SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count answer a set
//! (`~`); SRANDMEMBER with a count and SMISMEMBER answer arrays, as Redis.

mod algebra;

use bytes::Bytes;

use super::scan::{scan_collection, Target};
use super::{command, err, flag::*, keys_after_numkeys, parse_int, Command, Exec};
use crate::cmd::acl;
use crate::notify::class;
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::{Entry, ShardCtx};
use crate::types::{Set, SetLimits, Value};

const S: u32 = acl::SET;
const GROUP: &str = "set";

const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("sadd", "key member..."),
    ("scard", "key"),
    ("sdiff", "key..."),
    ("sdiffstore", "destination:key key..."),
    ("sinter", "key..."),
    ("sintercard", "numkeys:integer key... [LIMIT limit:integer]"),
    ("sinterstore", "destination:key key..."),
    ("sismember", "key member"),
    ("smembers", "key"),
    ("smismember", "key member..."),
    ("smove", "source:key destination:key member"),
    ("spop", "key [count:integer]"),
    ("srandmember", "key [count:integer]"),
    ("srem", "key member..."),
    ("sscan", "key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]"),
    ("sunion", "key..."),
    ("sunionstore", "destination:key key..."),
];

/// Key-spec flags for `COMMAND INFO`, Redis 7.2's (commands with several key
/// specs, or a `numkeys` argument, have theirs in `specs::KEY_SPECS`).
pub static KEY_FLAGS: &[(&str, &[&str])] = &[
    ("sadd", &["RW", "insert"]),
    ("scard", &["RO"]),
    ("sismember", &["RO"]),
    ("spop", &["RW", "access", "delete"]),
    ("srem", &["RW", "delete"]),
];

/// SINTERCARD: `numkeys` keys.
fn numkeys_at_1(args: &[Bytes]) -> Vec<usize> {
    keys_after_numkeys(args, 1)
}

#[allow(clippy::too_many_arguments)]
const fn s(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    exec: Exec,
    since: &'static str,
    complexity: &'static str,
    summary: &'static str,
) -> Command {
    command(name, arity, flags, S, keys, exec, GROUP, since, complexity, summary)
}

const ONE: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);
const NONE: (i32, i32, i32) = (0, 0, 0);

const UNION_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";
const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";

pub static COMMANDS: &[Command] = &[
    s(
        "sadd",
        -3,
        WRITE | DENYOOM | FAST,
        ONE,
        Exec::Keyed(sadd),
        "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "Adds one or more members to a set. Creates the key if it doesn't exist.",
    ),
    s("scard", 2, READONLY | FAST, ONE, Exec::Keyed(scard), "1.0.0", "O(1)", "Returns the number of members in a set."),
    s(
        "sdiff",
        -2,
        READONLY,
        ALL,
        Exec::Cross(algebra::sdiff, algebra::sdiff_cross),
        "1.0.0",
        UNION_COMPLEXITY,
        "Returns the difference of multiple sets.",
    ),
    s(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        ALL,
        Exec::Cross(algebra::sdiffstore, algebra::sdiffstore_cross),
        "1.0.0",
        UNION_COMPLEXITY,
        "Stores the difference of multiple sets in a key.",
    ),
    s(
        "sinter",
        -2,
        READONLY,
        ALL,
        Exec::Cross(algebra::sinter, algebra::sinter_cross),
        "1.0.0",
        INTER_COMPLEXITY,
        "Returns the intersect of multiple sets.",
    ),
    s(
        "sintercard",
        -3,
        READONLY,
        NONE,
        Exec::Cross(algebra::sintercard, algebra::sintercard_cross),
        "7.0.0",
        INTER_COMPLEXITY,
        "Returns the number of members of the intersect of multiple sets.",
    )
    .keys_from(numkeys_at_1),
    s(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        ALL,
        Exec::Cross(algebra::sinterstore, algebra::sinterstore_cross),
        "1.0.0",
        INTER_COMPLEXITY,
        "Stores the intersect of multiple sets in a key.",
    ),
    s(
        "sismember",
        3,
        READONLY | FAST,
        ONE,
        Exec::Keyed(sismember),
        "1.0.0",
        "O(1)",
        "Determines whether a member belongs to a set.",
    ),
    s(
        "smembers",
        2,
        READONLY,
        ONE,
        Exec::Keyed(algebra::sinter),
        "1.0.0",
        "O(N) where N is the set cardinality.",
        "Returns all members of a set.",
    ),
    s(
        "smismember",
        -3,
        READONLY | FAST,
        ONE,
        Exec::Keyed(smismember),
        "6.2.0",
        "O(N) where N is the number of elements being checked for membership",
        "Determines whether multiple members belong to a set.",
    ),
    s(
        "smove",
        4,
        WRITE | FAST,
        (1, 2, 1),
        Exec::Cross(smove, smove_cross),
        "1.0.0",
        "O(1)",
        "Moves a member from one set to another.",
    ),
    s(
        "spop",
        -2,
        WRITE | FAST,
        ONE,
        Exec::Keyed(spop),
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        "Returns one or more random members from a set after removing them. Deletes the set if the last member was \
         popped.",
    ),
    s(
        "srandmember",
        -2,
        READONLY,
        ONE,
        Exec::Keyed(srandmember),
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        "Get one or multiple random members from a set",
    ),
    s(
        "srem",
        -3,
        WRITE | FAST,
        ONE,
        Exec::Keyed(srem),
        "1.0.0",
        "O(N) where N is the number of members to be removed.",
        "Removes one or more members from a set. Deletes the set if the last member was removed.",
    ),
    s(
        "sscan",
        -3,
        READONLY,
        ONE,
        Exec::Keyed(sscan),
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to \
         return back to 0. N is the number of elements inside the collection.",
        "Iterates over members of a set.",
    ),
    s(
        "sunion",
        -2,
        READONLY,
        ALL,
        Exec::Cross(algebra::sunion, algebra::sunion_cross),
        "1.0.0",
        UNION_COMPLEXITY,
        "Returns the union of multiple sets.",
    ),
    s(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        ALL,
        Exec::Cross(algebra::sunionstore, algebra::sunionstore_cross),
        "1.0.0",
        UNION_COMPLEXITY,
        "Stores the union of multiple sets in a key.",
    ),
];

fn limits(ctx: &mut ShardCtx) -> SetLimits {
    ctx.limits().set
}

/// Stores `result` under `dest` as the STORE commands do (Redis's `setKey`:
/// any old value and TTL go), or deletes `dest` when the result is empty.
/// Returns the stored size, the commands' reply. `event` is the command's
/// keyspace event for a stored result.
fn store(ctx: &mut ShardCtx, dest: &[u8], result: Set, event: &str) -> i64 {
    let len = result.len() as i64;
    if result.is_empty() {
        if ctx.db().delete(dest) {
            ctx.notify(class::GENERIC, "del", dest);
        }
    } else {
        ctx.db().insert(dest, Entry::new(Value::Set(Box::new(result))));
        ctx.notify(class::SET, event, dest);
    }
    len
}

/// Every member of `set` as a RESP3 set (a RESP2 array), in its iteration
/// order.
fn write_members(reply: &mut Reply, set: &Set) {
    reply.set(set.len());
    for m in set.iter() {
        reply.bulk(&m);
    }
}

// ---------------------------------------------------------------------------
// SADD, SREM, SISMEMBER, SMISMEMBER, SCARD

fn sadd(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let (key, members) = (&args[1], &args[2..]);
    let limits = limits(ctx);
    // `setTypeCreate` sizes a new set for the whole argument list.
    let added = match ctx.write_or_create::<Set>(key, || Set::create(&members[0], members.len(), limits)) {
        Ok(set) => set.add_many(members, limits),
        Err(e) => return reply.error(e),
    };
    if added > 0 {
        ctx.notify(class::SET, "sadd", key);
    }
    reply.int(added as i64);
}

fn srem(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let key = &args[1];
    let removed = match ctx.write::<Set>(key) {
        Err(e) => return reply.error(e),
        Ok(None) => 0,
        Ok(Some(set)) => args[2..].iter().filter(|m| set.remove(m)).count(),
    };
    if removed > 0 {
        ctx.notify(class::SET, "srem", key);
        ctx.del_if_empty(key);
    }
    reply.int(removed as i64);
}

fn sismember(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ctx.read::<Set>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(set) => reply.int(set.is_some_and(|s| s.contains(&args[2])) as i64),
    }
}

/// A missing key is an empty set: all zeros.
fn smismember(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ctx.read::<Set>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(set) => {
            let set = set.map(|s| &*s);
            reply.array(args.len() - 2);
            for m in &args[2..] {
                reply.int(set.is_some_and(|s| s.contains(m)) as i64);
            }
        }
    }
}

fn scard(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ctx.read::<Set>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(set) => reply.int(set.map_or(0, |s| s.len()) as i64),
    }
}

// ---------------------------------------------------------------------------
// SPOP, SRANDMEMBER

fn spop(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match args.len() {
        2 => spop_one(ctx, &args[1], reply),
        3 => spop_count(ctx, args, reply),
        _ => reply.error(err::SYNTAX),
    }
}

fn spop_one(ctx: &mut ShardCtx, key: &[u8], reply: &mut Reply) {
    let popped = match ctx.write::<Set>(key) {
        Err(e) => return reply.error(e),
        Ok(set) => set.and_then(|s| s.pop(&mut crate::rand::next_u64)),
    };
    match popped {
        Some(m) => {
            reply.bulk(&m);
            // A replay must remove the same member, not draw again.
            ctx.log_instead(&[b"SREM", key, &m]);
            ctx.notify(class::SET, "spop", key);
            ctx.del_if_empty(key);
        }
        None => reply.null(),
    }
}

/// `spopWithCountCommand`: the count is checked before the key. Popping
/// everything answers the whole set as SUNION of it would (Redis replies
/// through `sunionDiffGenericCommand`) and deletes the key.
fn spop_count(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    // `getPositiveLongFromObjectOrReply` gives one message for both a
    // non-integer and a negative count.
    let count = match parse_int(&args[2]) {
        Some(n) if n >= 0 => n as u64,
        _ => return reply.error(NOT_POSITIVE),
    };
    let key = &args[1];
    let limits = limits(ctx);
    let set = match ctx.write::<Set>(key) {
        Err(e) => return reply.error(e),
        Ok(None) => return reply.set(0),
        Ok(Some(set)) => set,
    };
    if count == 0 {
        return reply.set(0);
    }
    if count >= set.len() as u64 {
        write_members(reply, &algebra::union(&[Some(&*set)], limits));
        ctx.remove(key);
        ctx.notify(class::SET, "spop", key);
        ctx.notify(class::GENERIC, "del", key);
        return;
    }
    let popped = set.pop_many(count as usize, limits, &mut crate::rand::next_u64);
    ctx.notify(class::SET, "spop", key);
    reply.set(popped.len());
    for m in &popped {
        reply.bulk(m);
    }
    let mut srem: Vec<&[u8]> = vec![b"SREM", key];
    srem.extend(popped.iter().map(|m| &m[..]));
    ctx.log_instead(&srem);
}

fn srandmember(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match args.len() {
        2 => match ctx.read::<Set>(&args[1]) {
            Err(e) => reply.error(e),
            Ok(set) => match set.and_then(|s| s.random_member(&mut crate::rand::next_u64)) {
                Some(m) => reply.bulk(&m),
                None => reply.null(),
            },
        },
        3 => srandmember_count(ctx, args, reply),
        _ => reply.error(err::SYNTAX),
    }
}

/// `srandmemberWithCountCommand`: a negative count may repeat members and
/// always gives that many; a positive one gives distinct members, at most
/// the whole set (in its iteration order). Always an array, even in RESP3.
fn srandmember_count(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let count = match parse_int(&args[2]) {
        None => return reply.error(err::NOT_INT),
        Some(i64::MIN) => {
            return reply.error(&format!(
                "ERR value is out of range, value must between {} and {}",
                -i64::MAX,
                i64::MAX
            ))
        }
        Some(n) => n,
    };
    let set = match ctx.read::<Set>(&args[1]) {
        Err(e) => return reply.error(e),
        Ok(None) => return reply.empty_array(),
        Ok(Some(set)) => &*set,
    };
    let (n, repeats) = (count.unsigned_abs() as usize, count < 0);
    if n == 0 {
        return reply.empty_array();
    }
    reply.array(if repeats { n } else { n.min(set.len()) });
    let mut rng = crate::rand::next_u64;
    for m in set.random_members(n, repeats, &mut rng) {
        reply.bulk(&m);
    }
}

// ---------------------------------------------------------------------------
// SMOVE: three steps, on one shard or as a coordinator across two.

/// Step 1 (destination's shard): is the destination absent or a set? Not
/// an error yet: a missing source answers 0 first.
fn smove_check_destination(ctx: &mut ShardCtx, dst: &[u8]) -> Result<(), &'static str> {
    ctx.write::<Set>(dst).map(|_| ())
}

/// Step 2 (source's shard): takes `member` out of `src`, deleting it if
/// emptied; false if there was nothing to move. Errors in Redis's order:
/// a missing source answers 0 before any WRONGTYPE.
fn smove_take(
    ctx: &mut ShardCtx,
    src: &[u8],
    member: &[u8],
    dst: Result<(), &'static str>,
) -> Result<bool, &'static str> {
    let Some(set) = ctx.write::<Set>(src)? else {
        return Ok(false);
    };
    dst?;
    let removed = set.remove(member);
    if removed {
        ctx.notify(class::SET, "srem", src);
        ctx.del_if_empty(src);
    }
    Ok(removed)
}

/// Step 3 (destination's shard): adds `member`, creating the set as SADD
/// of one member would.
fn smove_give(ctx: &mut ShardCtx, dst: &[u8], member: &[u8]) -> Result<(), &'static str> {
    let limits = limits(ctx);
    if ctx.write_or_create::<Set>(dst, || Set::create(member, 1, limits))?.add(member, limits) {
        ctx.notify(class::SET, "sadd", dst);
    }
    Ok(())
}

/// [`smove_give`] in a cross-shard step, which logs what it did.
fn give_logged(ctx: &mut ShardCtx, key: &[u8], member: &[u8]) -> Result<(), &'static str> {
    smove_give(ctx, key, member)?;
    ctx.log_command(&[b"SADD", key, member]);
    Ok(())
}

fn smove(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let dst_ok = smove_check_destination(ctx, dst);
    let moved = if src == dst {
        // Moving within one set changes nothing: is it a member?
        match ctx.write::<Set>(src) {
            Ok(None) => Ok(false),
            Ok(Some(set)) => Ok(set.contains(member)),
            Err(e) => Err(e),
        }
    } else {
        smove_take(ctx, src, member, dst_ok).and_then(|moved| {
            if moved {
                smove_give(ctx, dst, member)?;
            }
            Ok(moved)
        })
    };
    match moved {
        Ok(m) => reply.int(m as i64),
        Err(e) => reply.error(e),
    }
}

/// SMOVE across shards (the keys differ, so the same-key case cannot
/// arise). Should the destination have changed type between steps 1 and
/// 3 (another client, as cross-shard steps are not isolated yet), the
/// member goes back to the source rather than being lost.
fn smove_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let (src, dst, member) = (args[1].clone(), args[2].clone(), args[3].clone());
        let run = async {
            let d = dst.clone();
            let dst_ok = cx.on(cx.shard_of(&dst), move |ctx| smove_check_destination(ctx, &d)).await?;
            let (s, m) = (src.clone(), member.clone());
            let take = move |ctx: &mut ShardCtx| {
                let taken = smove_take(ctx, &s, &m, dst_ok);
                if taken == Ok(true) {
                    ctx.log_command(&[b"SREM", &s, &m]);
                }
                taken
            };
            if !cx.on(cx.shard_of(&src), take).await?? {
                return Ok(0);
            }
            let (d, m) = (dst.clone(), member.clone());
            if let Err(e) = cx.on(cx.shard_of(&dst), move |ctx| give_logged(ctx, &d, &m)).await? {
                let (s, m) = (src.clone(), member.clone());
                cx.on(cx.shard_of(&src), move |ctx| give_logged(ctx, &s, &m)).await??;
                return Err(e);
            }
            Ok::<i64, &'static str>(1)
        };
        match run.await {
            Ok(n) => cx.int(n),
            Err(e) => cx.error(e),
        }
    })
}

// ---------------------------------------------------------------------------
// SSCAN

/// Errors in Redis's order: the cursor, then a missing key (an empty
/// scan), then WRONGTYPE, then the options.
fn sscan(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    scan_collection::<Set>(ctx, args, Target::Collection, reply, |set, cursor, opts, items| {
        set.scan(cursor, opts.count, |m| {
            if opts.matches(m) {
                items.push(m.to_vec());
            }
        })
    })
}
