//! SINTER (and SMEMBERS), SUNION, SDIFF, SINTERSTORE, SUNIONSTORE,
//! SDIFFSTORE and SINTERCARD, as Redis's `sinterGenericCommand` and
//! `sunionDiffGenericCommand`.
//!
//! A missing key is an empty set. The computation ([`evaluate`]) is a pure
//! function over borrowed inputs: with every key on one shard the handler
//! borrows them straight from the keyspace; across shards each shard sends
//! copies of its inputs to the coordinator, which computes the same way and
//! stores the result on the destination's shard.
//!
//! Results are built as Redis builds them, so that replies come in the
//! same order and stored sets get the same encoding: SUNION and SDIFF add
//! into a set that starts as an intset (an all-integer result replies in
//! ascending order); SINTER walks the smallest input; SINTERSTORE starts
//! from the smallest input's kind and becomes an intset when it can.

use std::ops::{ControlFlow, Range};

use bytes::Bytes;

use super::{limits, store, write_members};
use crate::cmd::{err, parse_int};
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::{Db, ShardCtx, UnixMs};
use crate::types::{Set, SetLimits, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
    /// SINTERCARD: the intersection's size only.
    InterCard,
}

/// An algebra command: its operation and whether it stores (the
/// destination is then `args[1]`).
#[derive(Debug, Clone, Copy)]
struct Command {
    op: Op,
    store: bool,
}

/// What the arguments say: where the source keys are, and SINTERCARD's
/// LIMIT (0: none).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    keys: Range<usize>,
    limit: usize,
}

impl Command {
    /// The keyspace event of a storing command.
    fn event(self) -> &'static str {
        match self.op {
            Op::Union => "sunionstore",
            Op::Diff => "sdiffstore",
            Op::Inter | Op::InterCard => "sinterstore",
        }
    }

    /// Parses in Redis's order; only SINTERCARD has anything to check
    /// (`sinterCardCommand`: numkeys, then their count, then LIMIT — all
    /// before the keys are looked up).
    fn parse(self, args: &[Bytes]) -> Result<Parsed, &'static str> {
        if self.op != Op::InterCard {
            let first = if self.store { 2 } else { 1 };
            return Ok(Parsed { keys: first..args.len(), limit: 0 });
        }
        let numkeys = parse_int(&args[1]).filter(|&n| n >= 1).ok_or("ERR numkeys should be greater than 0")?;
        if numkeys as u64 > (args.len() - 2) as u64 {
            return Err("ERR Number of keys can't be greater than number of args");
        }
        let keys = 2..2 + numkeys as usize;
        let mut limit = 0;
        let mut j = keys.end;
        while j < args.len() {
            if args[j].eq_ignore_ascii_case(b"limit") && j + 1 < args.len() {
                limit = parse_int(&args[j + 1]).filter(|&l| l >= 0).ok_or("ERR LIMIT can't be negative")? as usize;
                j += 2;
            } else {
                return Err(err::SYNTAX);
            }
        }
        Ok(Parsed { keys, limit })
    }
}

// ---------------------------------------------------------------------------
// The computation

/// What a command computes.
enum Outcome {
    /// SINTER's members, in the order it walked them.
    Members(Vec<Vec<u8>>),
    /// SUNION/SDIFF's result (replied in its iteration order) or any STORE
    /// command's result (to store).
    Set(Set),
    Count(usize),
}

/// The result of command `c` over `sources` (the inputs under `keys`, in
/// order; `None` for a missing key).
fn evaluate(c: Command, keys: &[Bytes], sources: &[Option<&Set>], limit: usize, limits: SetLimits) -> Outcome {
    match (c.op, c.store) {
        (Op::InterCard, _) => Outcome::Count(intercard(sources, limit)),
        (Op::Inter, true) => Outcome::Set(inter_set(sources, limits)),
        (Op::Inter, false) => {
            let mut out = Vec::new();
            intersect(sources, |m| {
                out.push(m.to_vec());
                ControlFlow::Continue(())
            });
            Outcome::Members(out)
        }
        (Op::Union, _) => Outcome::Set(union(sources, limits)),
        (Op::Diff, _) => {
            // A later key naming the first (existing) set leaves nothing.
            let same = sources[0].is_some() && keys[1..].contains(&keys[0]);
            Outcome::Set(if same { Set::new_intset() } else { diff(sources, limits) })
        }
    }
}

/// The smallest input (the first of equal sizes, as Redis's sort leaves
/// them), or `None` if any input is missing: the intersection is empty.
fn smallest<'a>(sources: &[Option<&'a Set>]) -> Option<&'a Set> {
    let sets: Option<Vec<&Set>> = sources.iter().copied().collect();
    sets?.into_iter().min_by_key(|s| s.len())
}

/// Calls `found` with each member of every input, walking the smallest
/// input in its order, until it breaks.
fn intersect(sources: &[Option<&Set>], mut found: impl FnMut(&[u8]) -> ControlFlow<()>) {
    let Some(first) = smallest(sources) else {
        return;
    };
    let others: Vec<&Set> = sources.iter().flatten().copied().filter(|s| !std::ptr::eq(*s, first)).collect();
    for m in first.iter() {
        if others.iter().all(|s| s.contains(&m)) && found(&m).is_break() {
            return;
        }
    }
}

/// SINTERCARD: the intersection's size, counting stops at `limit` (0: none).
fn intercard(sources: &[Option<&Set>], limit: usize) -> usize {
    let mut n = 0;
    intersect(sources, |_| {
        n += 1;
        if n == limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    n
}

/// SINTERSTORE's result: an intset if the smallest input is one, else a
/// listpack (a table once too big); then an intset if every member is an
/// integer and they fit.
fn inter_set(sources: &[Option<&Set>], limits: SetLimits) -> Set {
    let mut out = match smallest(sources) {
        Some(s) if s.encoding() == "intset" => Set::new_intset(),
        _ => Set::new_listpack(),
    };
    intersect(sources, |m| {
        out.add(m, limits);
        ControlFlow::Continue(())
    });
    out.maybe_convert_to_intset(limits);
    out.shrink_to_fit();
    out
}

/// Every member of every input, added in order to a set that starts as an
/// intset (SPOP with a count of everything answers this way too).
pub(super) fn union(sources: &[Option<&Set>], limits: SetLimits) -> Set {
    let mut out = Set::new_intset();
    for set in sources.iter().flatten() {
        for m in set.iter() {
            out.add(&m, limits);
        }
    }
    out
}

/// The first input's members that no other input holds, with Redis's
/// choice of algorithm (which decides the result's encoding): walk the
/// first set probing the others, or, when that looks like more work, copy
/// the first set and remove every other set's members from the copy.
fn diff(sources: &[Option<&Set>], limits: SetLimits) -> Set {
    let mut out = Set::new_intset();
    let Some(first) = sources[0] else {
        return out;
    };
    let others: Vec<&Set> = sources[1..].iter().flatten().copied().collect();
    let probe_work = first.len().saturating_mul(1 + others.len()) / 2;
    let copy_work = others.iter().fold(first.len(), |sum, s| sum.saturating_add(s.len()));
    if probe_work <= copy_work {
        for m in first.iter() {
            if !others.iter().any(|s| s.contains(&m)) {
                out.add(&m, limits);
            }
        }
    } else {
        for m in first.iter() {
            out.add(&m, limits);
        }
        for set in others {
            for m in set.iter() {
                out.remove(&m);
            }
            if out.is_empty() {
                break;
            }
        }
    }
    out
}

/// Writes a non-storing command's reply: SINTER, SUNION and SDIFF answer a
/// set (RESP3 `~`), SINTERCARD a number.
fn write_outcome(reply: &mut Reply, outcome: &Outcome) {
    match outcome {
        Outcome::Members(members) => {
            reply.set(members.len());
            for m in members {
                reply.bulk(m);
            }
        }
        Outcome::Set(set) => write_members(reply, set),
        Outcome::Count(n) => reply.int(*n as i64),
    }
}

// ---------------------------------------------------------------------------
// All keys on one shard

/// Looks `keys` up in order as Redis does (each a keyspace hit or miss),
/// stopping with WRONGTYPE at the first that is not a set.
fn check_types<'k>(ctx: &mut ShardCtx, keys: impl Iterator<Item = &'k Bytes>) -> Result<(), &'static str> {
    for key in keys {
        ctx.read::<Set>(key)?;
    }
    Ok(())
}

/// The sets under `keys` in `db`, already type-checked by [`check_types`].
fn sources<'a>(db: &'a Db, keys: &[Bytes], now: UnixMs) -> Vec<Option<&'a Set>> {
    keys.iter()
        .map(|k| match db.lookup(k, now).map(|e| &e.value) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect()
}

fn run_here(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, c: Command) {
    let parsed = match c.parse(args) {
        Ok(p) => p,
        Err(e) => return reply.error(e),
    };
    let keys = &args[parsed.keys];
    if let Err(e) = check_types(ctx, keys.iter()) {
        return reply.error(e);
    }
    let (limits, now) = (limits(ctx), ctx.now);
    let outcome = evaluate(c, keys, &sources(&ctx.shard.dbs[ctx.db], keys, now), parsed.limit, limits);
    match outcome {
        Outcome::Set(result) if c.store => reply.int(store(ctx, &args[1], result, c.event())),
        outcome => write_outcome(reply, &outcome),
    }
}

// ---------------------------------------------------------------------------
// Keys on several shards

/// Each shard owning some of `keys` type-checks them and sends copies of
/// the sets back.
async fn gather(cx: &Cross, keys: Vec<Bytes>) -> Result<Vec<Option<Set>>, &'static str> {
    cx.per_key(keys, |ctx, mine| {
        check_types(ctx, mine.iter().map(|(_, k)| *k))?;
        let copies = mine.into_iter().filter_map(|(i, k)| match ctx.peek(k).map(|e| &e.value) {
            Some(Value::Set(s)) => Some((i, (**s).clone())),
            _ => None,
        });
        Ok(copies.collect())
    })
    .await
}

async fn run_across(cx: &Cross, args: Vec<Bytes>, c: Command) -> Result<Vec<u8>, &'static str> {
    let parsed = c.parse(&args)?;
    let keys = &args[parsed.keys];
    let inputs = gather(cx, keys.to_vec()).await?;
    let limits = cx.limits().set;
    let sources: Vec<Option<&Set>> = inputs.iter().map(Option::as_ref).collect();
    match evaluate(c, keys, &sources, parsed.limit, limits) {
        Outcome::Set(result) if c.store => {
            let dest = args[1].clone();
            let stored = cx
                .on(cx.shard_of(&dest), move |ctx| {
                    let n = store(ctx, &dest, result, c.event());
                    ctx.log_key(&dest);
                    n
                })
                .await?;
            Ok(cx.int(stored))
        }
        outcome => Ok(cx.encode(|r| write_outcome(r, &outcome))),
    }
}

fn run_cross(cx: Cross, args: Vec<Bytes>, c: Command) -> CrossFuture {
    Box::pin(async move {
        match run_across(&cx, args, c).await {
            Ok(reply) => reply,
            Err(e) => cx.error(e),
        }
    })
}

macro_rules! algebra_commands {
    ($($here:ident, $cross:ident, $op:expr, $store:literal;)*) => {$(
        pub(super) fn $here(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
            run_here(ctx, args, reply, Command { op: $op, store: $store })
        }

        pub(super) fn $cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
            run_cross(cx, args, Command { op: $op, store: $store })
        }
    )*};
}

algebra_commands! {
    sinter, sinter_cross, Op::Inter, false;
    sunion, sunion_cross, Op::Union, false;
    sdiff, sdiff_cross, Op::Diff, false;
    sinterstore, sinterstore_cross, Op::Inter, true;
    sunionstore, sunionstore_cross, Op::Union, true;
    sdiffstore, sdiffstore_cross, Op::Diff, true;
    sintercard, sintercard_cross, Op::InterCard, false;
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: SetLimits = SetLimits { max_intset_entries: 512, max_listpack_entries: 128, max_listpack_value: 64 };

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    fn set(members: &[&str]) -> Set {
        let mut s = Set::create(members[0].as_bytes(), members.len(), L);
        s.add_many(members, L);
        s
    }

    fn members(s: &Set) -> Vec<String> {
        s.iter().map(|m| String::from_utf8_lossy(&m).into_owned()).collect()
    }

    const CARD: Command = Command { op: Op::InterCard, store: false };

    #[test]
    fn sintercard_parsing_order() {
        let p = |v: &[&str]| CARD.parse(&b(v));
        assert_eq!(p(&["sintercard", "0", "a"]), Err("ERR numkeys should be greater than 0"));
        assert_eq!(p(&["sintercard", "x", "a"]), Err("ERR numkeys should be greater than 0"));
        assert_eq!(p(&["sintercard", "3", "a", "b"]), Err("ERR Number of keys can't be greater than number of args"));
        assert_eq!(p(&["sintercard", "1", "a", "LIMIT"]), Err(err::SYNTAX));
        assert_eq!(p(&["sintercard", "1", "a", "LIMIT", "-1"]), Err("ERR LIMIT can't be negative"));
        assert_eq!(p(&["sintercard", "1", "a", "LIMIT", "x"]), Err("ERR LIMIT can't be negative"));
        assert_eq!(p(&["sintercard", "1", "a", "limit", "1", "LIMIT", "4"]), Ok(Parsed { keys: 2..3, limit: 4 }));
        // The key count is checked against every argument after numkeys.
        assert_eq!(p(&["sintercard", "2", "a", "LIMIT"]), Ok(Parsed { keys: 2..4, limit: 0 }));
        let store = Command { op: Op::Union, store: true };
        assert_eq!(store.parse(&b(&["sunionstore", "d", "a", "b"])), Ok(Parsed { keys: 2..4, limit: 0 }));
    }

    #[test]
    fn algebra_and_result_encodings() {
        let (ints, mixed, words) = (set(&["3", "1", "2"]), set(&["2", "a", "3"]), set(&["a", "b"]));
        let keys = b(&["i", "m", "w"]);
        let all = [Some(&ints), Some(&mixed), Some(&words)];
        // Union into an intset: integers first, ascending; then listpack order.
        let Outcome::Set(u) = evaluate(Command { op: Op::Union, store: false }, &keys, &all, 0, L) else { panic!() };
        assert_eq!(
            (members(&u), u.encoding()),
            (vec!["1", "2", "3", "a", "b"].into_iter().map(String::from).collect(), "listpack")
        );
        let Outcome::Set(u) = evaluate(Command { op: Op::Union, store: true }, &keys, &all[..1], 0, L) else {
            panic!()
        };
        assert_eq!(u.encoding(), "intset");
        // Intersection walks the smallest set; the stored one becomes an intset.
        let inter = Command { op: Op::Inter, store: true };
        let Outcome::Set(i) = evaluate(inter, &keys, &all[..2], 0, L) else { panic!() };
        assert_eq!((members(&i), i.encoding()), (vec!["2".to_string(), "3".to_string()], "intset"));
        let Outcome::Set(i) = evaluate(inter, &keys, &all[1..], 0, L) else { panic!() };
        assert_eq!((members(&i), i.encoding()), (vec!["a".to_string()], "listpack"));
        assert!(matches!(evaluate(inter, &keys, &[Some(&ints), None], 0, L), Outcome::Set(s) if s.is_empty()));
        assert_eq!(intercard(&all[..2], 0), 2);
        assert_eq!(intercard(&all[..2], 1), 1);
        // Difference: a missing key is empty; the first key repeated empties it.
        let diff = Command { op: Op::Diff, store: false };
        let Outcome::Set(d) = evaluate(diff, &keys, &[Some(&mixed), None, Some(&words)], 0, L) else { panic!() };
        assert_eq!((members(&d), d.encoding()), (vec!["2".to_string(), "3".to_string()], "intset"));
        let same = b(&["m", "x", "m"]);
        let Outcome::Set(d) = evaluate(diff, &same, &[Some(&mixed), None, Some(&mixed)], 0, L) else { panic!() };
        assert!(d.is_empty());
        assert!(diff_of(&[None, Some(&words)]).is_empty());
    }

    fn diff_of(sources: &[Option<&Set>]) -> Set {
        diff(sources, L)
    }

    #[test]
    fn diff_copies_and_removes_when_the_first_set_is_large() {
        // {1, 2, a} minus five one-member sets: 3*6/2 = 9 > 3+5 = 8, so Redis
        // copies the first set (becoming a listpack for "a") and removes.
        let first = set(&["1", "2", "a"]);
        let others: Vec<Set> = ["a", "x", "y", "z", "w"].iter().map(|m| set(&[m])).collect();
        let mut sources = vec![Some(&first)];
        sources.extend(others.iter().map(Some));
        let d = diff_of(&sources);
        assert_eq!((members(&d), d.encoding()), (vec!["1".to_string(), "2".to_string()], "listpack"));
        // With four others, probing wins and the result stays an intset.
        let d = diff_of(&sources[..5]);
        assert_eq!((members(&d), d.encoding()), (vec!["1".to_string(), "2".to_string()], "intset"));
    }
}
