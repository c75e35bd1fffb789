//! ZRANGE, ZRANGESTORE and the older ZREVRANGE, Z[REV]RANGEBYSCORE and
//! Z[REV]RANGEBYLEX: one parser ([`parse`], Redis's `zrangeGenericCommand`)
//! and one way to stream a range from the set ([`RangeQuery::iter`]).

use bytes::Bytes;

use super::{long_arg, store, Layout};
use crate::cmd::err;
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::ShardCtx;
use crate::types::zset::{AddFlags, LexRange, ScoreRange, ZIter};
use crate::types::{normalize_range, ZSet};

/// What the range is over: ZRANGE and ZRANGESTORE decide from their
/// BYSCORE/BYLEX arguments, the older commands are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Direction: ZRANGE takes REV, the older commands are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Auto,
    Forward,
    Reverse,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bounds {
    /// Indexes as given (negative from the end).
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// A parsed range request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RangeQuery {
    pub bounds: Bounds,
    pub reverse: bool,
    pub withscores: bool,
    /// LIMIT offset: a negative one selects nothing (Redis walks off the
    /// end skipping it).
    pub offset: i64,
    /// LIMIT count: negative means no limit; -1 is also "LIMIT not given".
    pub limit: i64,
}

/// `zrangeGenericCommand`'s parsing: `args[at]` is the source key, followed
/// by `min max` and the options. `store` is ZRANGESTORE (no WITHSCORES).
pub(crate) fn parse(args: &[Bytes], at: usize, store: bool, by: By, dir: Dir) -> Result<RangeQuery, &'static str> {
    let (mut by, mut dir) = (by, dir);
    let (mut withscores, mut offset, mut limit) = (false, 0, -1);
    let mut j = at + 3;
    while j < args.len() {
        let opt = args[j].to_ascii_lowercase();
        let left = args.len() - j - 1;
        match opt.as_slice() {
            b"withscores" if !store => withscores = true,
            b"limit" if left >= 2 => {
                offset = long_arg(&args[j + 1])?;
                limit = long_arg(&args[j + 2])?;
                j += 2;
            }
            b"rev" if dir == Dir::Auto => dir = Dir::Reverse,
            b"bylex" if by == By::Auto => by = By::Lex,
            b"byscore" if by == By::Auto => by = By::Score,
            _ => return Err(err::SYNTAX),
        }
        j += 1;
    }
    let reverse = dir == Dir::Reverse;
    let by = if by == By::Auto { By::Rank } else { by };
    if limit != -1 && by == By::Rank {
        return Err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if withscores && by == By::Lex {
        return Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    // Score and lex ranges are given as `max min` when reversed.
    let (min, max) =
        if reverse && by != By::Rank { (&args[at + 2], &args[at + 1]) } else { (&args[at + 1], &args[at + 2]) };
    let bounds = match by {
        By::Score => Bounds::Score(ScoreRange::parse(min, max)?),
        By::Lex => Bounds::Lex(LexRange::parse(min, max)?),
        _ => Bounds::Rank(long_arg(min)?, long_arg(max)?),
    };
    Ok(RangeQuery { bounds, reverse, withscores, offset, limit })
}

impl RangeQuery {
    /// The elements in range, streamed from the set in reply order.
    pub(crate) fn iter<'a>(&self, z: &'a ZSet) -> ZIter<'a> {
        let nothing = || z.range_by_rank(1, 0, false);
        let limit = usize::try_from(self.limit).ok();
        let Ok(offset) = usize::try_from(self.offset) else { return nothing() };
        match &self.bounds {
            Bounds::Rank(start, end) => match normalize_range(*start, *end, z.len()) {
                Some((s, e)) => z.range_by_rank(s, e, self.reverse),
                None => nothing(),
            },
            Bounds::Score(r) => z.range_by_score(r, self.reverse, offset, limit),
            Bounds::Lex(r) => z.range_by_lex(r, self.reverse, offset, limit),
        }
    }
}

fn read_range(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, by: By, dir: Dir) {
    let q = match parse(args, 1, false, by, dir) {
        Ok(q) => q,
        Err(e) => return reply.error(e),
    };
    match ctx.read::<ZSet>(&args[1]) {
        Err(e) => reply.error(e),
        Ok(None) => reply.empty_array(),
        Ok(Some(z)) => Layout::new(q.withscores, reply.proto).write_all(reply, q.iter(z)),
    }
}

pub(super) fn zrange(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    read_range(ctx, args, reply, By::Auto, Dir::Auto)
}

pub(super) fn zrevrange(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    read_range(ctx, args, reply, By::Rank, Dir::Reverse)
}

pub(super) fn zrangebyscore(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    read_range(ctx, args, reply, By::Score, Dir::Forward)
}

pub(super) fn zrevrangebyscore(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    read_range(ctx, args, reply, By::Score, Dir::Reverse)
}

pub(super) fn zrangebylex(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    read_range(ctx, args, reply, By::Lex, Dir::Forward)
}

pub(super) fn zrevrangebylex(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    read_range(ctx, args, reply, By::Lex, Dir::Reverse)
}

// ---------------------------------------------------------------------------
// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]

/// The range `q` of the set at `src` as a new sorted set: a listpack unless
/// it is too long or a member is (Redis 7.2 sizes it by the result length,
/// as `zsetTypeCreate` does). A missing source gives an empty set.
fn range_result(ctx: &mut ShardCtx, src: &[u8], q: &RangeQuery) -> Result<ZSet, &'static str> {
    let limits = super::limits(ctx);
    let Some(z) = ctx.read::<ZSet>(src)? else { return Ok(ZSet::new()) };
    let items = q.iter(z);
    let mut out = ZSet::create(items.len(), 0, limits);
    for (m, s) in items {
        out.add(m, s, AddFlags::default(), limits);
    }
    Ok(out)
}

fn store_parse(args: &[Bytes]) -> Result<RangeQuery, &'static str> {
    parse(args, 2, true, By::Auto, Dir::Auto)
}

pub(super) fn zrangestore(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let result = store_parse(args).and_then(|q| range_result(ctx, &args[2], &q));
    match result {
        Ok(z) => reply.int(store(ctx, &args[1], z, "zrangestore")),
        Err(e) => reply.error(e),
    }
}

/// ZRANGESTORE with `dst` and `src` on different shards: the range is
/// built on the source's shard and stored on the destination's.
pub(super) fn zrangestore_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let q = match store_parse(&args) {
            Ok(q) => q,
            Err(e) => return cx.error(e),
        };
        let (dst, src) = (args[1].clone(), args[2].clone());
        let built = cx.on(cx.shard_of(&src), move |ctx| range_result(ctx, &src, &q)).await;
        let z = match built {
            Ok(Ok(z)) => z,
            Ok(Err(e)) | Err(e) => return cx.error(e),
        };
        let owner = cx.shard_of(&dst);
        let stored = move |ctx: &mut ShardCtx| {
            let n = store(ctx, &dst, z, "zrangestore");
            ctx.log_key(&dst);
            n
        };
        match cx.on(owner, stored).await {
            Ok(n) => cx.int(n),
            Err(e) => cx.error(e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    fn p(v: &[&str]) -> Result<RangeQuery, &'static str> {
        parse(&b(v), 1, false, By::Auto, Dir::Auto)
    }

    #[test]
    fn options_and_conflicts() {
        assert_eq!(p(&["zrange", "k", "0", "-1", "rev", "rev"]), Err(err::SYNTAX));
        assert!(p(&["zrange", "k", "0", "-1", "limit", "0", "-1"]).is_ok());
        assert!(p(&["zrange", "k", "0", "-1", "limit", "0", "1"]).unwrap_err().contains("LIMIT is only supported"));
        assert!(p(&["zrange", "k", "a", "b", "bylex", "withscores"]).unwrap_err().contains("WITHSCORES not supported"));
        assert_eq!(p(&["zrange", "k", "0", "1", "byscore", "limit", "0"]), Err(err::SYNTAX));
        assert_eq!(p(&["zrange", "k", "0", "1", "byscore", "limit", "x", "1"]), Err(err::NOT_INT));
        assert_eq!(p(&["zrange", "k", "x", "1"]), Err(err::NOT_INT));
        let q = p(&["zrange", "k", "(5", "1", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"]).unwrap();
        let r = ScoreRange { min: 1.0, max: 5.0, min_ex: false, max_ex: true };
        assert_eq!(q, RangeQuery { bounds: Bounds::Score(r), reverse: true, withscores: true, offset: 1, limit: 2 });
        // ZRANGESTORE has no WITHSCORES; ZREVRANGE no REV.
        assert_eq!(
            parse(&b(&["zrangestore", "d", "k", "0", "1", "withscores"]), 2, true, By::Auto, Dir::Auto),
            Err(err::SYNTAX)
        );
        assert_eq!(parse(&b(&["zrevrange", "k", "0", "1", "rev"]), 1, false, By::Rank, Dir::Reverse), Err(err::SYNTAX));
    }
}
