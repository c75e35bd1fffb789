//! ZUNION, ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE and
//! ZINTERCARD, as Redis's `zunionInterDiffGenericCommand`.
//!
//! Plain sets are valid inputs (each member scores 1) and a missing key is
//! an empty input. The computation ([`compute`], [`intercard`]) is a pure
//! function over borrowed inputs ([`Source`]): with every key on one shard
//! the handler borrows them straight from the keyspace; across shards each
//! shard sends copies of its inputs to the coordinator, which computes the
//! same way and stores the result on the destination's shard.
//!
//! Errors come in Redis's order: `numkeys`, then the key types (WRONGTYPE),
//! then the options.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::{ControlFlow, Range};

use bytes::Bytes;

use super::{limits, store, Layout};
use crate::cmd::{err, parse_int};
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::{Db, ShardCtx, UnixMs};
use crate::types::zset::{parse_score, AddFlags};
use crate::types::{Set, Value, ZSet, ZsetLimits};

type Error = Cow<'static, str>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Union,
    Inter,
    Diff,
    /// ZINTERCARD: the intersection's size only.
    InterCard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// The options after the keys.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT; 0 is none.
    limit: usize,
}

/// The command: its name (for errors), operation, and whether it stores
/// (the destination is `args[1]`, `numkeys` then at 2, else at 1).
#[derive(Debug, Clone, Copy)]
struct Command {
    name: &'static str,
    op: Op,
    store: bool,
}

impl Command {
    fn numkeys_at(self) -> usize {
        if self.store {
            2
        } else {
            1
        }
    }

    /// Argument positions of the source keys.
    fn keys(self, args: &[Bytes]) -> Result<Range<usize>, Error> {
        let at = self.numkeys_at();
        let n = parse_int(&args[at]).ok_or(err::NOT_INT)?;
        if n < 1 {
            return Err(format!("ERR at least 1 input key is needed for '{}' command", self.name).into());
        }
        if n as u64 > (args.len() - at - 1) as u64 {
            return Err(err::SYNTAX.into());
        }
        Ok(at + 1..at + 1 + n as usize)
    }

    /// The options in `opts`, for `nkeys` keys.
    fn options(self, opts: &[Bytes], nkeys: usize) -> Result<Options, Error> {
        let mut o = Options { weights: vec![1.0; nkeys], aggregate: Aggregate::Sum, withscores: false, limit: 0 };
        let algebra = matches!(self.op, Op::Union | Op::Inter);
        let mut j = 0;
        while j < opts.len() {
            let (opt, left) = (&opts[j], opts.len() - j);
            if algebra && left > nkeys && opt.eq_ignore_ascii_case(b"weights") {
                for (w, arg) in o.weights.iter_mut().zip(&opts[j + 1..]) {
                    *w = parse_score(arg).ok_or("ERR weight value is not a float")?;
                }
                j += 1 + nkeys;
            } else if algebra && left >= 2 && opt.eq_ignore_ascii_case(b"aggregate") {
                o.aggregate = match opts[j + 1].to_ascii_lowercase().as_slice() {
                    b"sum" => Aggregate::Sum,
                    b"min" => Aggregate::Min,
                    b"max" => Aggregate::Max,
                    _ => return Err(err::SYNTAX.into()),
                };
                j += 2;
            } else if !self.store && self.op != Op::InterCard && opt.eq_ignore_ascii_case(b"withscores") {
                o.withscores = true;
                j += 1;
            } else if self.op == Op::InterCard && left >= 2 && opt.eq_ignore_ascii_case(b"limit") {
                let limit = parse_int(&opts[j + 1]).filter(|&l| l >= 0).ok_or("ERR LIMIT can't be negative")?;
                o.limit = limit as usize;
                j += 2;
            } else {
                return Err(err::SYNTAX.into());
            }
        }
        Ok(o)
    }
}

// ---------------------------------------------------------------------------
// Inputs

/// One input: a sorted set, a set (members score 1), or nothing.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl<'a> Source<'a> {
    fn of(value: Option<&'a Value>) -> Result<Source<'a>, &'static str> {
        match value {
            None => Ok(Source::Missing),
            Some(Value::ZSet(z)) => Ok(Source::Z(z)),
            Some(Value::Set(s)) => Ok(Source::S(s)),
            Some(_) => Err(err::WRONGTYPE),
        }
    }

    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Z(z) => z.len(),
            Source::S(s) => s.len(),
        }
    }

    /// Calls `f` with each (member, score) until it breaks.
    fn each(&self, mut f: impl FnMut(&[u8], f64) -> ControlFlow<()>) {
        let _ = match self {
            Source::Missing => ControlFlow::Continue(()),
            Source::Z(z) => z.iter().try_for_each(|(m, s)| f(m, s)),
            Source::S(s) => s.iter().try_for_each(|m| f(&m, 1.0)),
        };
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Z(z) => z.score(member),
            Source::S(s) => s.contains(member).then_some(1.0),
        }
    }
}

/// A copy of an input, sent from its shard to a cross-shard coordinator.
enum Owned {
    Missing,
    Z(ZSet),
    S(Set),
}

impl Owned {
    fn source(&self) -> Source<'_> {
        match self {
            Owned::Missing => Source::Missing,
            Owned::Z(z) => Source::Z(z),
            Owned::S(s) => Source::S(s),
        }
    }
}

/// Looks `keys` up in order as Redis does for the inputs (each a keyspace
/// hit or miss), stopping with WRONGTYPE at the first that is neither a
/// sorted set nor a set.
fn check_types<'k>(ctx: &mut ShardCtx, keys: impl Iterator<Item = &'k Bytes>) -> Result<(), &'static str> {
    for key in keys {
        let found = ctx.get(key).map(|e| matches!(e.value, Value::ZSet(_) | Value::Set(_)));
        ctx.shard.stats.count_lookup(found.is_some());
        if found.is_none() {
            ctx.keymiss(key);
        }
        if found == Some(false) {
            return Err(err::WRONGTYPE);
        }
    }
    Ok(())
}

/// The inputs under `keys` in `db`, already type-checked by [`check_types`].
fn sources<'a>(db: &'a Db, keys: &[Bytes], now: UnixMs) -> Vec<Source<'a>> {
    keys.iter().map(|k| Source::of(db.lookup(k, now).map(|e| &e.value)).unwrap_or(Source::Missing)).collect()
}

// ---------------------------------------------------------------------------
// The computation

/// The inputs' indexes from the smallest to the largest (a stable sort, as
/// glibc's qsort is for this size): Redis aggregates in this order.
fn by_cardinality(sources: &[Source]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| sources[i].len());
    order
}

/// `zunionInterAggregate`: a sum that is NaN (inf + -inf) counts as 0; MIN
/// and MAX keep the current value against a NaN.
fn aggregate(target: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => *target = if v < *target { v } else { *target },
        Aggregate::Max => *target = if v > *target { v } else { *target },
    }
}

/// `weight * score`, a NaN (inf * 0) counting as 0, as Redis starts each
/// element's score.
fn weighted(score: f64, weight: f64) -> f64 {
    let v = weight * score;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

type Element = (Vec<u8>, f64);

/// The result of `op` (Union, Inter or Diff) over `sources`, in sorted-set
/// order (score, then member bytes).
fn compute(op: Op, o: &Options, sources: &[Source]) -> Vec<Element> {
    let mut out = match op {
        Op::Union => union(o, sources),
        Op::Inter | Op::InterCard => {
            let mut out = Vec::new();
            intersect(o, sources, |m, s| {
                out.push((m.to_vec(), s));
                ControlFlow::Continue(())
            });
            out
        }
        Op::Diff => diff(sources),
    };
    out.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
    out
}

fn union(o: &Options, sources: &[Source]) -> Vec<Element> {
    let order = by_cardinality(sources);
    let largest = order.last().map_or(0, |&i| sources[i].len());
    let mut acc: HashMap<Vec<u8>, f64, ahash::RandomState> =
        HashMap::with_capacity_and_hasher(largest, Default::default());
    for &i in &order {
        sources[i].each(|m, s| {
            let v = weighted(s, o.weights[i]);
            match acc.get_mut(m) {
                Some(t) => aggregate(t, v, o.aggregate),
                None => {
                    acc.insert(m.to_vec(), v);
                }
            }
            ControlFlow::Continue(())
        });
    }
    acc.into_iter().collect()
}

/// Calls `found` with each member of every input and its aggregated score,
/// until it breaks. The smallest input is walked and the others probed; as
/// in Redis, only the first score is NaN-checked before aggregating.
fn intersect(o: &Options, sources: &[Source], mut found: impl FnMut(&[u8], f64) -> ControlFlow<()>) {
    let order = by_cardinality(sources);
    let (first, rest) = order.split_first().expect("at least one key");
    sources[*first].each(|m, s| {
        let mut score = weighted(s, o.weights[*first]);
        for &j in rest {
            match sources[j].score(m) {
                Some(v) => aggregate(&mut score, v * o.weights[j], o.aggregate),
                None => return ControlFlow::Continue(()),
            }
        }
        found(m, score)
    });
}

/// The first input's elements (with their own scores) that no other input
/// holds.
fn diff(sources: &[Source]) -> Vec<Element> {
    let (first, rest) = sources.split_first().expect("at least one key");
    let mut out = Vec::new();
    first.each(|m, s| {
        if rest.iter().all(|r| r.score(m).is_none()) {
            out.push((m.to_vec(), s));
        }
        ControlFlow::Continue(())
    });
    out
}

/// ZINTERCARD: the intersection's size, counting stops at `limit` (0: none).
fn intercard(o: &Options, sources: &[Source]) -> usize {
    let mut n = 0;
    intersect(o, sources, |_, _| {
        n += 1;
        if n == o.limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    n
}

/// The result as a sorted set for the STORE commands: a listpack if it fits
/// one (`zsetConvertToListpackIfNeeded`), else a skip list.
fn to_zset(result: Vec<Element>, limits: ZsetLimits) -> ZSet {
    let longest = result.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut z = ZSet::create(result.len(), longest, limits);
    for (m, s) in &result {
        z.add(m, *s, AddFlags::default(), limits);
    }
    z.convert_to_listpack_if_needed(limits);
    z
}

/// What a command answers once computed.
enum Outcome {
    /// The STORE commands' result, to store.
    Store(Vec<Element>),
    Elements(Vec<Element>, bool),
    Count(usize),
}

fn evaluate(c: Command, o: &Options, sources: &[Source]) -> Outcome {
    match (c.op, c.store) {
        (Op::InterCard, _) => Outcome::Count(intercard(o, sources)),
        (op, true) => Outcome::Store(compute(op, o, sources)),
        (op, false) => Outcome::Elements(compute(op, o, sources), o.withscores),
    }
}

fn write_elements(reply: &mut Reply, items: &[Element], withscores: bool) {
    Layout::new(withscores, reply.proto).write_all(reply, items.iter().map(|(m, s)| (m.as_slice(), *s)));
}

// ---------------------------------------------------------------------------
// All keys on one shard

fn run_here(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, c: Command) {
    if let Err(e) = try_here(ctx, args, reply, c) {
        reply.error(&e);
    }
}

fn try_here(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, c: Command) -> Result<(), Error> {
    let keys = c.keys(args)?;
    check_types(ctx, args[keys.clone()].iter())?;
    let o = c.options(&args[keys.end..], keys.len())?;
    let now = ctx.now;
    let outcome = evaluate(c, &o, &sources(&ctx.shard.dbs[ctx.db], &args[keys], now));
    match outcome {
        Outcome::Store(result) => {
            let z = to_zset(result, limits(ctx));
            reply.int(store(ctx, &args[1], z, c.name));
        }
        Outcome::Elements(items, withscores) => write_elements(reply, &items, withscores),
        Outcome::Count(n) => reply.int(n as i64),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Keys on several shards

/// Each shard type-checks its keys among `keys` and, when `copy`, returns
/// copies of them with their positions.
async fn gather(cx: &Cross, keys: Vec<Bytes>, copy: bool) -> Result<Vec<Owned>, &'static str> {
    let copies = cx
        .per_key(keys, move |ctx, mine| {
            check_types(ctx, mine.iter().map(|(_, k)| *k))?;
            let copies = mine.into_iter().filter(|_| copy).map(|(i, k)| {
                let owned = match ctx.peek(k).map(|e| &e.value) {
                    Some(Value::ZSet(z)) => Owned::Z((**z).clone()),
                    Some(Value::Set(s)) => Owned::S((**s).clone()),
                    _ => Owned::Missing,
                };
                (i, owned)
            });
            Ok(copies.collect())
        })
        .await?;
    Ok(copies.into_iter().map(|o| o.unwrap_or(Owned::Missing)).collect())
}

async fn run_across(cx: &Cross, args: Vec<Bytes>, c: Command) -> Result<Vec<u8>, Error> {
    let keys = c.keys(&args)?;
    // Options are checked after the key types, but parsed first so that
    // nothing is copied for a command that will fail.
    let options = c.options(&args[keys.end..], keys.len());
    let inputs = gather(cx, args[keys].to_vec(), options.is_ok()).await?;
    let o = options?;
    let sources: Vec<Source> = inputs.iter().map(Owned::source).collect();
    match evaluate(c, &o, &sources) {
        Outcome::Store(result) => {
            let dest = args[1].clone();
            let stored = cx.on(cx.shard_of(&dest), move |ctx| {
                let z = to_zset(result, limits(ctx));
                let n = store(ctx, &dest, z, c.name);
                ctx.log_key(&dest);
                n
            });
            Ok(cx.int(stored.await?))
        }
        Outcome::Elements(items, withscores) => Ok(cx.encode(|r| write_elements(r, &items, withscores))),
        Outcome::Count(n) => Ok(cx.int(n as i64)),
    }
}

fn run_cross(cx: Cross, args: Vec<Bytes>, c: Command) -> CrossFuture {
    Box::pin(async move {
        match run_across(&cx, args, c).await {
            Ok(reply) => reply,
            Err(e) => cx.error(&e),
        }
    })
}

macro_rules! algebra_commands {
    ($($here:ident, $cross:ident, $name:literal, $op:expr, $store:literal;)*) => {$(
        pub(super) fn $here(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
            run_here(ctx, args, reply, Command { name: $name, op: $op, store: $store })
        }

        pub(super) fn $cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
            run_cross(cx, args, Command { name: $name, op: $op, store: $store })
        }
    )*};
}

algebra_commands! {
    zunion, zunion_cross, "zunion", Op::Union, false;
    zinter, zinter_cross, "zinter", Op::Inter, false;
    zdiff, zdiff_cross, "zdiff", Op::Diff, false;
    zunionstore, zunionstore_cross, "zunionstore", Op::Union, true;
    zinterstore, zinterstore_cross, "zinterstore", Op::Inter, true;
    zdiffstore, zdiffstore_cross, "zdiffstore", Op::Diff, true;
    zintercard, zintercard_cross, "zintercard", Op::InterCard, false;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SetLimits;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    fn zset(items: &[(&str, f64)]) -> ZSet {
        let mut z = ZSet::new();
        for (m, s) in items {
            z.add(m.as_bytes(), *s, AddFlags::default(), ZsetLimits::default());
        }
        z
    }

    fn opts(weights: &[f64], aggregate: Aggregate) -> Options {
        Options { weights: weights.to_vec(), aggregate, withscores: false, limit: 0 }
    }

    fn names(v: &[Element]) -> Vec<(String, f64)> {
        v.iter().map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), *s)).collect()
    }

    const UNION: Command = Command { name: "zunionstore", op: Op::Union, store: true };

    #[test]
    fn parsing_errors() {
        let keys = |v: &[&str]| UNION.keys(&b(v));
        assert_eq!(keys(&["zunionstore", "d", "x", "a"]), Err(err::NOT_INT.into()));
        assert_eq!(
            keys(&["zunionstore", "d", "0", "a"]),
            Err("ERR at least 1 input key is needed for 'zunionstore' command".into())
        );
        assert_eq!(keys(&["zunionstore", "d", "3", "a", "b"]), Err(err::SYNTAX.into()));
        assert_eq!(keys(&["zunionstore", "d", "2", "a", "b", "WEIGHTS"]), Ok(3..5));
        let o = |c: Command, v: &[&str]| c.options(&b(v), 2);
        assert_eq!(o(UNION, &["weights", "1"]), Err(err::SYNTAX.into()));
        assert_eq!(o(UNION, &["weights", "1", "x"]), Err("ERR weight value is not a float".into()));
        assert_eq!(o(UNION, &["withscores"]), Err(err::SYNTAX.into()));
        assert_eq!(o(UNION, &["aggregate", "avg"]), Err(err::SYNTAX.into()));
        let diff = Command { name: "zdiff", op: Op::Diff, store: false };
        assert_eq!(o(diff, &["weights", "1", "1"]), Err(err::SYNTAX.into()));
        assert!(o(diff, &["withscores"]).unwrap().withscores);
        let card = Command { name: "zintercard", op: Op::InterCard, store: false };
        assert_eq!(o(card, &["limit", "-1"]), Err("ERR LIMIT can't be negative".into()));
        assert_eq!(o(card, &["limit", "3"]).unwrap().limit, 3);
        let all = o(UNION, &["WEIGHTS", "2", "-1.5", "AGGREGATE", "max"]).unwrap();
        assert_eq!((all.weights, all.aggregate), (vec![2.0, -1.5], Aggregate::Max));
    }

    #[test]
    fn union_inter_diff_with_sets_and_weights() {
        let a = zset(&[("x", 1.0), ("y", 2.0), ("z", f64::INFINITY)]);
        let mut s = Set::new_listpack();
        for m in ["y", "z", "w"] {
            s.add(m.as_bytes(), SetLimits::default());
        }
        let src = [Source::Z(&a), Source::S(&s), Source::Missing];
        let u = compute(Op::Union, &opts(&[1.0, 10.0, 1.0], Aggregate::Sum), &src);
        assert_eq!(names(&u), [("x".into(), 1.0), ("w".into(), 10.0), ("y".into(), 12.0), ("z".into(), f64::INFINITY)]);
        let i = compute(Op::Inter, &opts(&[1.0, 1.0], Aggregate::Min), &src[..2]);
        assert_eq!(names(&i), [("y".into(), 1.0), ("z".into(), 1.0)]);
        assert!(compute(Op::Inter, &opts(&[1.0; 3], Aggregate::Sum), &src).is_empty());
        let d = compute(Op::Diff, &opts(&[1.0; 2], Aggregate::Sum), &src[..2]);
        assert_eq!(names(&d), [("x".into(), 1.0)]);
        // inf * 0 is NaN: 0 to start with; a NaN sum is 0 too.
        let u = compute(Op::Union, &opts(&[0.0, 1.0], Aggregate::Sum), &src[..2]);
        assert_eq!(names(&u), [("x".into(), 0.0), ("w".into(), 1.0), ("y".into(), 1.0), ("z".into(), 1.0)]);
        let neg = zset(&[("z", f64::NEG_INFINITY)]);
        let i = compute(Op::Inter, &opts(&[1.0, 1.0], Aggregate::Sum), &[Source::Z(&a), Source::Z(&neg)]);
        assert_eq!(names(&i), [("z".into(), 0.0)]);
        let card = Options { limit: 1, ..opts(&[1.0, 1.0], Aggregate::Sum) };
        assert_eq!(intercard(&card, &src[..2]), 1);
        assert_eq!(intercard(&opts(&[1.0, 1.0], Aggregate::Sum), &src[..2]), 2);
    }

    #[test]
    fn stored_results_take_the_smallest_encoding() {
        let limits = ZsetLimits::default();
        let small: Vec<Element> = (0..128).map(|i| (format!("m{i}").into_bytes(), i as f64)).collect();
        assert_eq!(to_zset(small.clone(), limits).encoding(), "listpack");
        let mut big = small;
        big.push((b"another".to_vec(), 0.5));
        assert_eq!(to_zset(big, limits).encoding(), "skiplist");
        assert_eq!(to_zset(vec![(vec![b'x'; 65], 1.0)], limits).encoding(), "skiplist");
    }
}
