//! The sorted-set commands, reply for reply as Redis's `t_zset.c`.
//!
//! The data structure is [`crate::types::zset`]; this family parses
//! arguments in Redis's order (so the same error wins when several apply),
//! looks keys up, and writes replies. Sub-topics live in their own files:
//! the ZRANGE family ([`range`]: one parser for ZRANGE, ZRANGESTORE and the
//! older Z[REV]RANGE[BYSCORE|BYLEX]), the set algebra ([`algebra`]: ZUNION,
//! ZINTER, ZDIFF, their STORE forms and ZINTERCARD, also across shards) and
//! popping ([`pop`]: ZPOPMIN/ZPOPMAX/ZMPOP, with the serving functions the
//! blocking commands reuse, and ZRANDMEMBER).
//!
//! Replies with scores follow Redis 7: RESP2 flattens member, score pairs
//! into one array; RESP3 nests `[member, score]` pairs (see [`Layout`]).

mod algebra;
mod pop;
mod range;

use bytes::Bytes;

use super::scan::{scan_collection, Target};
use super::{command, err, flag::*, keys_after_numkeys, parse_int, Command, Exec};
use crate::cmd::acl;
use crate::notify::class;
use crate::resp::reply::format_double;
use crate::resp::{Proto, Reply};
use crate::shard::{Entry, ShardCtx};
use crate::types::zset::{parse_score, AddFlags, LexRange, ScoreRange, Touch, ZAdd, ERR_NAN};
use crate::types::{normalize_range, Value, ZSet, ZsetLimits};

/// For the blocking BZPOPMIN, BZPOPMAX and BZMPOP (see [`pop`]).
#[allow(unused_imports)]
pub(crate) use pop::{parse_mpop, serve_pop, MpopArgs, PopShape};

const Z: u32 = acl::SORTEDSET;
const GROUP: &str = "sorted_set";

const NOT_FLOAT: &str = "ERR value is not a valid float";

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("zadd", "key [condition(NX|XX)] [comparison(GT|LT)] [CH] [INCR] data(score:double member)..."),
    ("zincrby", "key increment:integer member"),
    ("zrem", "key member..."),
    ("zcard", "key"),
    ("zcount", "key min:double max:double"),
    ("zlexcount", "key min max"),
    ("zscore", "key member"),
    ("zmscore", "key member..."),
    ("zrank", "key member [WITHSCORE]"),
    ("zrevrank", "key member [WITHSCORE]"),
    ("zrange", "key start stop [sortby(BYSCORE|BYLEX)] [REV] [LIMIT limit(offset:integer count:integer)] [WITHSCORES]"),
    (
        "zrangestore",
        "dst:key src:key min max [sortby(BYSCORE|BYLEX)] [REV] [LIMIT limit(offset:integer count:integer)]",
    ),
    ("zrevrange", "key start:integer stop:integer [WITHSCORES]"),
    ("zrangebyscore", "key min:double max:double [WITHSCORES] [LIMIT limit(offset:integer count:integer)]"),
    ("zrevrangebyscore", "key max:double min:double [WITHSCORES] [LIMIT limit(offset:integer count:integer)]"),
    ("zrangebylex", "key min max [LIMIT limit(offset:integer count:integer)]"),
    ("zrevrangebylex", "key max min [LIMIT limit(offset:integer count:integer)]"),
    ("zremrangebyrank", "key start:integer stop:integer"),
    ("zremrangebyscore", "key min:double max:double"),
    ("zremrangebylex", "key min max"),
    ("zpopmin", "key [count:integer]"),
    ("zpopmax", "key [count:integer]"),
    ("zmpop", "numkeys:integer key... where(MIN|MAX) [COUNT count:integer]"),
    ("zrandmember", "key [options(count:integer [WITHSCORES])]"),
    ("zunion", "numkeys:integer key... [WEIGHTS weight:integer...] [AGGREGATE aggregate(SUM|MIN|MAX)] [WITHSCORES]"),
    ("zinter", "numkeys:integer key... [WEIGHTS weight:integer...] [AGGREGATE aggregate(SUM|MIN|MAX)] [WITHSCORES]"),
    ("zdiff", "numkeys:integer key... [WITHSCORES]"),
    (
        "zunionstore",
        "destination:key numkeys:integer key... [WEIGHTS weight:integer...] [AGGREGATE aggregate(SUM|MIN|MAX)]",
    ),
    (
        "zinterstore",
        "destination:key numkeys:integer key... [WEIGHTS weight:integer...] [AGGREGATE aggregate(SUM|MIN|MAX)]",
    ),
    ("zdiffstore", "destination:key numkeys:integer key..."),
    ("zintercard", "numkeys:integer key... [LIMIT limit:integer]"),
    ("zscan", "key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]"),
];

/// Key-spec flags for `COMMAND INFO`, Redis 7.2's (commands with several key
/// specs, or a `numkeys` argument, have theirs in `specs::KEY_SPECS`).
pub static KEY_FLAGS: &[(&str, &[&str])] = &[
    ("zadd", &["RW", "update"]),
    ("zincrby", &["RW", "access", "update"]),
    ("zrem", &["RW", "delete"]),
    ("zcard", &["RO"]),
    ("zremrangebyrank", &["RW", "delete"]),
    ("zremrangebyscore", &["RW", "delete"]),
    ("zremrangebylex", &["RW", "delete"]),
    ("zpopmin", &["RW", "access", "delete"]),
    ("zpopmax", &["RW", "access", "delete"]),
];

/// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE: the destination, then `numkeys` keys.
fn store_keys(args: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    keys.extend(keys_after_numkeys(args, 2));
    keys
}

/// ZUNION, ZINTER, ZDIFF, ZINTERCARD, ZMPOP: `numkeys` keys.
fn numkeys_at_1(args: &[Bytes]) -> Vec<usize> {
    keys_after_numkeys(args, 1)
}

const RANGE_COMPLEXITY: &str =
    "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.";
const BY_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
                             elements being returned. If M is constant (e.g. always asking for the first 10 elements \
                             with LIMIT), you can consider it O(log(N)).";
const REMRANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number \
                                   of elements removed by the operation.";
const UNION_COMPLEXITY: &str = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M \
                                being the number of elements in the resulting sorted set.";
const INTER_COMPLEXITY: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being \
                                the number of input sorted sets and M being the number of elements in the resulting \
                                sorted set.";
const DIFF_COMPLEXITY: &str = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the \
                               sets, N is the size of the first set, and K is the size of the result set.";
const POP_COMPLEXITY: &str =
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.";
const LOG_N: &str = "O(log(N)) with N being the number of elements in the sorted set.";

#[allow(clippy::too_many_arguments)]
const fn z(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    exec: Exec,
    since: &'static str,
    complexity: &'static str,
    summary: &'static str,
) -> Command {
    command(name, arity, flags, Z, keys, exec, GROUP, since, complexity, summary)
}

const ONE: (i32, i32, i32) = (1, 1, 1);
const NONE: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Command] = &[
    z(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        ONE,
        Exec::Keyed(zadd),
        "1.2.0",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
    ),
    z(
        "zcard",
        2,
        READONLY | FAST,
        ONE,
        Exec::Keyed(zcard),
        "1.2.0",
        "O(1)",
        "Returns the number of members in a sorted set.",
    ),
    z(
        "zcount",
        4,
        READONLY | FAST,
        ONE,
        Exec::Keyed(zcount),
        "2.0.0",
        LOG_N,
        "Returns the count of members in a sorted set that have scores within a range.",
    ),
    z(
        "zdiff",
        -3,
        READONLY,
        NONE,
        Exec::Cross(algebra::zdiff, algebra::zdiff_cross),
        "6.2.0",
        DIFF_COMPLEXITY,
        "Returns the difference between multiple sorted sets.",
    )
    .keys_from(numkeys_at_1),
    z(
        "zdiffstore",
        -4,
        WRITE | DENYOOM,
        ONE,
        Exec::Cross(algebra::zdiffstore, algebra::zdiffstore_cross),
        "6.2.0",
        DIFF_COMPLEXITY,
        "Stores the difference of multiple sorted sets in a key.",
    )
    .keys_from(store_keys),
    z(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        ONE,
        Exec::Keyed(zincrby),
        "1.2.0",
        "O(log(N)) where N is the number of elements in the sorted set.",
        "Increments the score of a member in a sorted set.",
    ),
    z(
        "zinter",
        -3,
        READONLY,
        NONE,
        Exec::Cross(algebra::zinter, algebra::zinter_cross),
        "6.2.0",
        INTER_COMPLEXITY,
        "Returns the intersect of multiple sorted sets.",
    )
    .keys_from(numkeys_at_1),
    z(
        "zintercard",
        -3,
        READONLY,
        NONE,
        Exec::Cross(algebra::zintercard, algebra::zintercard_cross),
        "7.0.0",
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
        "Returns the number of members of the intersect of multiple sorted sets.",
    )
    .keys_from(numkeys_at_1),
    z(
        "zinterstore",
        -4,
        WRITE | DENYOOM,
        ONE,
        Exec::Cross(algebra::zinterstore, algebra::zinterstore_cross),
        "2.0.0",
        INTER_COMPLEXITY,
        "Stores the intersect of multiple sorted sets in a key.",
    )
    .keys_from(store_keys),
    z(
        "zlexcount",
        4,
        READONLY | FAST,
        ONE,
        Exec::Keyed(zlexcount),
        "2.8.9",
        LOG_N,
        "Returns the number of members in a sorted set within a lexicographical range.",
    ),
    z(
        "zmpop",
        -4,
        WRITE,
        NONE,
        Exec::Cross(pop::zmpop, pop::zmpop_cross),
        "7.0.0",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, \
         and M being the number of elements popped.",
        "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the \
         sorted set if the last member was popped.",
    )
    .keys_from(numkeys_at_1),
    z(
        "zmscore",
        -3,
        READONLY | FAST,
        ONE,
        Exec::Keyed(zmscore),
        "6.2.0",
        "O(N) where N is the number of members being requested.",
        "Returns the score of one or more members in a sorted set.",
    ),
    z(
        "zpopmax",
        -2,
        WRITE | FAST,
        ONE,
        Exec::Keyed(pop::zpopmax),
        "5.0.0",
        POP_COMPLEXITY,
        "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last \
         member was popped.",
    ),
    z(
        "zpopmin",
        -2,
        WRITE | FAST,
        ONE,
        Exec::Keyed(pop::zpopmin),
        "5.0.0",
        POP_COMPLEXITY,
        "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last \
         member was popped.",
    ),
    z(
        "zrandmember",
        -2,
        READONLY,
        ONE,
        Exec::Keyed(pop::zrandmember),
        "6.2.0",
        "O(N) where N is the number of members returned",
        "Returns one or more random members from a sorted set.",
    ),
    z(
        "zrange",
        -4,
        READONLY,
        ONE,
        Exec::Keyed(range::zrange),
        "1.2.0",
        RANGE_COMPLEXITY,
        "Returns members in a sorted set within a range of indexes.",
    ),
    z(
        "zrangebylex",
        -4,
        READONLY,
        ONE,
        Exec::Keyed(range::zrangebylex),
        "2.8.9",
        BY_COMPLEXITY,
        "Returns members in a sorted set within a lexicographical range.",
    ),
    z(
        "zrangebyscore",
        -4,
        READONLY,
        ONE,
        Exec::Keyed(range::zrangebyscore),
        "1.0.5",
        BY_COMPLEXITY,
        "Returns members in a sorted set within a range of scores.",
    ),
    z(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        (1, 2, 1),
        Exec::Cross(range::zrangestore, range::zrangestore_cross),
        "6.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into \
         the destination key.",
        "Stores a range of members from sorted set in a key.",
    ),
    z(
        "zrank",
        -3,
        READONLY | FAST,
        ONE,
        Exec::Keyed(zrank),
        "2.0.0",
        "O(log(N))",
        "Returns the index of a member in a sorted set ordered by ascending scores.",
    ),
    z(
        "zrem",
        -3,
        WRITE | FAST,
        ONE,
        Exec::Keyed(zrem),
        "1.2.0",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
        "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
    ),
    z(
        "zremrangebylex",
        4,
        WRITE,
        ONE,
        Exec::Keyed(zremrangebylex),
        "2.8.9",
        REMRANGE_COMPLEXITY,
        "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were \
         removed.",
    ),
    z(
        "zremrangebyrank",
        4,
        WRITE,
        ONE,
        Exec::Keyed(zremrangebyrank),
        "2.0.0",
        REMRANGE_COMPLEXITY,
        "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
    ),
    z(
        "zremrangebyscore",
        4,
        WRITE,
        ONE,
        Exec::Keyed(zremrangebyscore),
        "1.2.0",
        REMRANGE_COMPLEXITY,
        "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
    ),
    z(
        "zrevrange",
        -4,
        READONLY,
        ONE,
        Exec::Keyed(range::zrevrange),
        "1.2.0",
        RANGE_COMPLEXITY,
        "Returns members in a sorted set within a range of indexes in reverse order.",
    ),
    z(
        "zrevrangebylex",
        -4,
        READONLY,
        ONE,
        Exec::Keyed(range::zrevrangebylex),
        "2.8.9",
        BY_COMPLEXITY,
        "Returns members in a sorted set within a lexicographical range in reverse order.",
    ),
    z(
        "zrevrangebyscore",
        -4,
        READONLY,
        ONE,
        Exec::Keyed(range::zrevrangebyscore),
        "2.2.0",
        BY_COMPLEXITY,
        "Returns members in a sorted set within a range of scores in reverse order.",
    ),
    z(
        "zrevrank",
        -3,
        READONLY | FAST,
        ONE,
        Exec::Keyed(zrevrank),
        "2.0.0",
        "O(log(N))",
        "Returns the index of a member in a sorted set ordered by descending scores.",
    ),
    z(
        "zscan",
        -3,
        READONLY,
        ONE,
        Exec::Keyed(zscan),
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return \
         back to 0. N is the number of elements inside the collection.",
        "Iterates over members and scores of a sorted set.",
    ),
    z(
        "zscore",
        3,
        READONLY | FAST,
        ONE,
        Exec::Keyed(zscore),
        "1.2.0",
        "O(1)",
        "Returns the score of a member in a sorted set.",
    ),
    z(
        "zunion",
        -3,
        READONLY,
        NONE,
        Exec::Cross(algebra::zunion, algebra::zunion_cross),
        "6.2.0",
        UNION_COMPLEXITY,
        "Returns the union of multiple sorted sets.",
    )
    .keys_from(numkeys_at_1),
    z(
        "zunionstore",
        -4,
        WRITE | DENYOOM,
        ONE,
        Exec::Cross(algebra::zunionstore, algebra::zunionstore_cross),
        "2.0.0",
        "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of \
         elements in the resulting sorted set.",
        "Stores the union of multiple sorted sets in a key.",
    )
    .keys_from(store_keys),
];

// ---------------------------------------------------------------------------
// Shared helpers

/// How a run of (member, score) elements is written: members only, or with
/// scores flattened (RESP2) or as `[member, score]` pairs (RESP3), as
/// Redis 7's zrange result handler and ZRANDMEMBER/ZUNION… write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Members,
    Flat,
    Pairs,
}

impl Layout {
    pub(crate) fn new(withscores: bool, proto: Proto) -> Layout {
        match (withscores, proto) {
            (false, _) => Layout::Members,
            (true, Proto::Resp2) => Layout::Flat,
            (true, Proto::Resp3) => Layout::Pairs,
        }
    }

    /// The array header for `n` elements.
    pub(crate) fn header(self, reply: &mut Reply, n: usize) {
        reply.array(if self == Layout::Flat { n.saturating_mul(2) } else { n });
    }

    pub(crate) fn element(self, reply: &mut Reply, member: &[u8], score: f64) {
        if self == Layout::Pairs {
            reply.array(2);
        }
        reply.bulk(member);
        if self != Layout::Members {
            reply.double(score);
        }
    }

    pub(crate) fn write_all<'a>(self, reply: &mut Reply, items: impl ExactSizeIterator<Item = (&'a [u8], f64)>) {
        self.header(reply, items.len());
        for (m, s) in items {
            self.element(reply, m, s);
        }
    }
}

/// Stores `result` under `dest` as the STORE commands do (Redis's `setKey`:
/// any old value and TTL go), or deletes `dest` when the result is empty.
/// Returns the stored length, the commands' reply. `event` is the
/// command's keyspace event for a stored result.
fn store(ctx: &mut ShardCtx, dest: &[u8], result: ZSet, event: &str) -> i64 {
    let len = result.len() as i64;
    if result.is_empty() {
        if ctx.db().delete(dest) {
            ctx.notify(class::GENERIC, "del", dest);
        }
    } else {
        ctx.db().insert(dest, Entry::new(Value::ZSet(Box::new(result))));
        ctx.notify(class::ZSET, event, dest);
    }
    len
}

/// A `long` argument (`getLongFromObjectOrReply`).
fn long_arg(arg: &[u8]) -> Result<i64, &'static str> {
    parse_int(arg).ok_or(err::NOT_INT)
}

fn limits(ctx: &mut ShardCtx) -> ZsetLimits {
    ctx.limits().zset
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY

/// What ZADD was asked to do, parsed in `zaddGenericCommand`'s order.
struct ZaddArgs {
    flags: AddFlags,
    ch: bool,
    /// Index of the first score.
    first: usize,
}

/// ZADD's options, up to the first score; its arguments' shape checked.
fn parse_zadd(args: &[Bytes], incr: bool) -> Result<ZaddArgs, &'static str> {
    let mut flags = AddFlags { incr, ..AddFlags::default() };
    let mut ch = false;
    let mut first = 2;
    while let Some(opt) = args.get(first) {
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        match () {
            _ if is("nx") => flags.nx = true,
            _ if is("xx") => flags.xx = true,
            _ if is("ch") => ch = true,
            _ if is("incr") => flags.incr = true,
            _ if is("gt") => flags.gt = true,
            _ if is("lt") => flags.lt = true,
            _ => break,
        }
        first += 1;
    }
    let rest = args.len() - first;
    if rest == 0 || !rest.is_multiple_of(2) {
        return Err(err::SYNTAX);
    }
    if flags.nx && flags.xx {
        return Err("ERR XX and NX options at the same time are not compatible");
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if flags.incr && rest > 2 {
        return Err("ERR INCR option supports a single increment-element pair");
    }
    Ok(ZaddArgs { flags, ch, first })
}

/// The scores of ZADD's (score, member) `pairs`, every one checked before
/// anything is added, as in Redis; in `inline` for up to 8 pairs, so a ZADD
/// allocates nothing of its own, else in `heap`.
fn parse_scores<'b>(
    pairs: &[Bytes],
    inline: &'b mut [f64; 8],
    heap: &'b mut Vec<f64>,
) -> Result<&'b [f64], &'static str> {
    let n = pairs.len() / 2;
    let scores = match n <= inline.len() {
        true => &mut inline[..n],
        false => {
            heap.resize(n, 0.0);
            &mut heap[..]
        }
    };
    for (score, arg) in scores.iter_mut().zip(pairs.iter().step_by(2)) {
        *score = parse_score(arg).ok_or(NOT_FLOAT)?;
    }
    Ok(scores)
}

/// What the command `name` will do to which members of the sorted set at
/// `args[1]`, for the batch's lookup pass ([`ZSet::warm`]). Lenient: a
/// malformed command yields what it can, and its handler reports the error.
pub fn touches<'a>(name: &str, args: &'a [Bytes], mut touch: impl FnMut(&'a [u8], Touch)) {
    let members = |from: usize| args.iter().skip(from).map(|m| &m[..]);
    match name {
        "zadd" => {
            let Ok(a) = parse_zadd(args, false) else { return };
            for pair in args[a.first..].chunks_exact(2) {
                match (a.flags.incr, parse_score(&pair[0])) {
                    (false, Some(score)) => touch(&pair[1], Touch::Place(score)),
                    _ => touch(&pair[1], Touch::Position),
                }
            }
        }
        "zincrby" => members(3).take(1).for_each(|m| touch(m, Touch::Position)),
        "zrank" | "zrevrank" => members(2).take(1).for_each(|m| touch(m, Touch::Position)),
        "zrem" => members(2).for_each(|m| touch(m, Touch::Position)),
        "zscore" | "zmscore" => members(2).for_each(|m| touch(m, Touch::Find)),
        _ => {}
    }
}

/// ZADD's reply: a count, or with INCR the new score (nil when nothing was
/// done).
enum Added {
    Count(i64),
    Score(Option<f64>),
}

fn zadd_run(ctx: &mut ShardCtx, args: &[Bytes], incr: bool) -> Result<Added, &'static str> {
    let a = parse_zadd(args, incr)?;
    let (mut inline, mut heap) = ([0.0; 8], Vec::new());
    let scores = parse_scores(&args[a.first..], &mut inline, &mut heap)?;
    let key = &args[1];
    let (limits, n) = (limits(ctx), scores.len());
    let exists = ctx.write::<ZSet>(key)?.is_some();
    let (mut added, mut updated, mut last) = (0, 0, None);
    if exists || !a.flags.xx {
        let first_len = args[a.first + 1].len();
        let z = ctx.write_or_create(key, || ZSet::create(n, first_len, limits))?;
        if exists {
            z.maybe_convert(n, limits);
        }
        for (j, &score) in scores.iter().enumerate() {
            match z.add(&args[a.first + 1 + 2 * j], score, a.flags, limits) {
                ZAdd::Added(s) => (added, last) = (added + 1, Some(s)),
                ZAdd::Updated { new, .. } => (updated, last) = (updated + 1, Some(new)),
                ZAdd::Unchanged(s) => last = Some(s),
                ZAdd::Skipped => {}
                ZAdd::NaN => {
                    ctx.remove_if_empty(key);
                    return Err(ERR_NAN);
                }
            }
        }
    }
    if added + updated > 0 {
        ctx.notify(class::ZSET, if a.flags.incr { "zincr" } else { "zadd" }, key);
    }
    Ok(if a.flags.incr { Added::Score(last) } else { Added::Count(if a.ch { added + updated } else { added }) })
}

fn zadd_generic(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, incr: bool) {
    match zadd_run(ctx, args, incr) {
        Ok(Added::Count(n)) => reply.int(n),
        Ok(Added::Score(Some(s))) => reply.double(s),
        Ok(Added::Score(None)) => reply.null(),
        Err(e) => reply.error(e),
    }
}

fn zadd(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    zadd_generic(ctx, args, reply, false)
}

/// `ZINCRBY key increment member` is ZADD INCR: its arguments even go
/// through ZADD's option parser, as in Redis (`ZINCRBY k nx m` is a syntax
/// error).
fn zincrby(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    zadd_generic(ctx, args, reply, true)
}

// ---------------------------------------------------------------------------
// ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK

fn zrem(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let key = &args[1];
    let deleted = match ctx.write::<ZSet>(key) {
        Err(e) => return reply.error(e),
        Ok(None) => 0,
        Ok(Some(z)) => {
            let mut deleted = 0;
            for m in &args[2..] {
                deleted += z.remove(m) as i64;
                if z.is_empty() {
                    break;
                }
            }
            deleted
        }
    };
    if deleted > 0 {
        ctx.notify(class::ZSET, "zrem", key);
        ctx.del_if_empty(key);
    }
    reply.int(deleted);
}

fn zcard(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ctx.read::<ZSet>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(z) => reply.int(z.map_or(0, |z| z.len() as i64)),
    }
}

fn zscore(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ctx.read::<ZSet>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(z) => match z.and_then(|z| z.score(&args[2])) {
            Some(s) => reply.double(s),
            None => reply.null(),
        },
    }
}

fn zmscore(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let z = match ctx.read::<ZSet>(&args[1]) {
        Err(e) => return reply.error(e),
        Ok(z) => z,
    };
    reply.array(args.len() - 2);
    for m in &args[2..] {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => reply.double(s),
            None => reply.null(),
        }
    }
}

fn zrank(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    rank_generic(ctx, args, reply, false)
}

fn zrevrank(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    rank_generic(ctx, args, reply, true)
}

/// ZRANK/ZREVRANK `key member [WITHSCORE]` (WITHSCORE is Redis 7.2's).
fn rank_generic(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, reverse: bool) {
    if args.len() > 4 {
        let name = if reverse { "zrevrank" } else { "zrank" };
        return reply.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let withscore = match args.get(3) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"withscore") => true,
        Some(_) => return reply.error(err::SYNTAX),
    };
    let found = match ctx.read::<ZSet>(&args[1]) {
        Err(e) => return reply.error(e),
        Ok(z) => z.and_then(|z| z.rank(&args[2], reverse)),
    };
    match (found, withscore) {
        (Some((rank, _)), false) => reply.int(rank as i64),
        (Some((rank, score)), true) => {
            reply.array(2);
            reply.int(rank as i64);
            reply.double(score);
        }
        (None, false) => reply.null(),
        (None, true) => reply.null_array(),
    }
}

// ---------------------------------------------------------------------------
// ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*

fn zcount(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let range = match ScoreRange::parse(&args[2], &args[3]) {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    match ctx.read::<ZSet>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(z) => reply.int(z.map_or(0, |z| z.count_by_score(&range) as i64)),
    }
}

fn zlexcount(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let range = match LexRange::parse(&args[2], &args[3]) {
        Ok(r) => r,
        Err(e) => return reply.error(e),
    };
    match ctx.read::<ZSet>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(z) => reply.int(z.map_or(0, |z| z.count_by_lex(&range) as i64)),
    }
}

/// `zremrangeGenericCommand`: the range is parsed before the key is looked
/// up; `remove` deletes it from the set and says how many went. `event`
/// is the command's name, its keyspace event.
fn remove_range(
    ctx: &mut ShardCtx,
    key: &[u8],
    event: &str,
    reply: &mut Reply,
    remove: impl FnOnce(&mut ZSet) -> usize,
) {
    let removed = match ctx.write::<ZSet>(key) {
        Err(e) => return reply.error(e),
        Ok(None) => 0,
        Ok(Some(z)) => remove(z),
    };
    if removed > 0 {
        ctx.notify(class::ZSET, event, key);
        ctx.del_if_empty(key);
    }
    reply.int(removed as i64);
}

fn zremrangebyrank(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let (start, end) = match (long_arg(&args[2]), long_arg(&args[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return reply.error(e),
    };
    remove_range(ctx, &args[1], "zremrangebyrank", reply, |z| match normalize_range(start, end, z.len()) {
        Some((s, e)) => z.remove_range_by_rank(s, e),
        None => 0,
    })
}

fn zremrangebyscore(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ScoreRange::parse(&args[2], &args[3]) {
        Ok(r) => remove_range(ctx, &args[1], "zremrangebyscore", reply, |z| z.remove_range_by_score(&r)),
        Err(e) => reply.error(e),
    }
}

fn zremrangebylex(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match LexRange::parse(&args[2], &args[3]) {
        Ok(r) => remove_range(ctx, &args[1], "zremrangebylex", reply, |z| z.remove_range_by_lex(&r)),
        Err(e) => reply.error(e),
    }
}

// ---------------------------------------------------------------------------
// ZSCAN

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`: members and their
/// scores (as `%.17g`, in bulk strings in both protocols).
fn zscan(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    scan_collection::<ZSet>(ctx, args, Target::Collection, reply, |z, cursor, opts, items| {
        z.scan(cursor, opts.count, |m, s| {
            if opts.matches(m) {
                items.push(m.to_vec());
                let mut text = Vec::new();
                format_double(s, &mut text);
                items.push(text);
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
    fn zadd_parsing_order() {
        let e = |v: &[&str]| parse_zadd(&b(v), false).err();
        assert_eq!(e(&["zadd", "k", "1", "a", "2"]), Some(err::SYNTAX));
        assert_eq!(
            e(&["zadd", "k", "nx", "xx", "x", "a"]),
            Some("ERR XX and NX options at the same time are not compatible")
        );
        assert_eq!(
            e(&["zadd", "k", "gt", "lt", "1", "a"]),
            Some("ERR GT, LT, and/or NX options at the same time are not compatible")
        );
        assert_eq!(
            e(&["zadd", "k", "incr", "1", "a", "2", "b"]),
            Some("ERR INCR option supports a single increment-element pair")
        );
        let args = b(&["zadd", "k", "CH", "xx", "gt", "1", "a", "2", "b"]);
        let a = parse_zadd(&args, false).unwrap();
        assert!(a.ch && a.flags.xx && a.flags.gt && !a.flags.incr);
        let (mut inline, mut heap) = ([0.0; 8], Vec::new());
        assert_eq!(a.first, 5);
        assert_eq!(parse_scores(&args[a.first..], &mut inline, &mut heap), Ok(&[1.0, 2.0][..]));
        assert!(heap.is_empty());
        let bad = b(&["1", "a", "nan", "b"]);
        assert_eq!(parse_scores(&bad, &mut inline, &mut heap), Err(NOT_FLOAT));
        let many: Vec<String> = (0..20).map(|i| if i % 2 == 0 { format!("{i}") } else { "m".into() }).collect();
        let many = b(&many.iter().map(String::as_str).collect::<Vec<_>>());
        let want: Vec<f64> = (0..10).map(|i| (2 * i) as f64).collect();
        assert_eq!(parse_scores(&many, &mut inline, &mut heap), Ok(&want[..]));
        // ZINCRBY's increment goes through the same option loop.
        assert_eq!(parse_zadd(&b(&["zincrby", "k", "nx", "m"]), true).err(), Some(err::SYNTAX));
    }

    #[test]
    fn touches_name_the_members_and_what_is_done_to_them() {
        let t = |v: &[&str]| {
            let args = b(v);
            let mut out = Vec::new();
            touches(v[0], &args, |m, t| out.push((String::from_utf8(m.to_vec()).unwrap(), t)));
            out
        };
        let s = |m: &str, t: Touch| (m.to_string(), t);
        assert_eq!(t(&["zadd", "k", "1", "a", "2.5", "b"]), [s("a", Touch::Place(1.0)), s("b", Touch::Place(2.5))]);
        assert_eq!(t(&["zadd", "k", "NX", "ch", "1", "a"]), [s("a", Touch::Place(1.0))]);
        assert_eq!(t(&["zadd", "k", "incr", "1", "a"]), [s("a", Touch::Position)]);
        assert_eq!(t(&["zadd", "k", "x", "a"]), [s("a", Touch::Position)]);
        assert_eq!(t(&["zadd", "k", "1", "a", "2"]), []);
        assert_eq!(t(&["zincrby", "k", "1", "a"]), [s("a", Touch::Position)]);
        assert_eq!(t(&["zrem", "k", "a", "b"]), [s("a", Touch::Position), s("b", Touch::Position)]);
        assert_eq!(t(&["zrevrank", "k", "a", "withscore"]), [s("a", Touch::Position)]);
        assert_eq!(t(&["zmscore", "k", "a", "b"]), [s("a", Touch::Find), s("b", Touch::Find)]);
        assert_eq!(t(&["zrange", "k", "0", "-1"]), []);
    }

    #[test]
    fn layouts() {
        let mut buf = Vec::new();
        let mut r = Reply::new(&mut buf, Proto::Resp3);
        let items: Vec<(&[u8], f64)> = vec![(b"a", 1.0), (b"b", 2.5)];
        Layout::new(true, Proto::Resp3).write_all(&mut r, items.clone().into_iter());
        assert_eq!(buf, b"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
        let mut buf = Vec::new();
        let mut r = Reply::new(&mut buf, Proto::Resp2);
        Layout::new(true, Proto::Resp2).write_all(&mut r, items.into_iter());
        assert_eq!(buf, b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n");
    }
}
