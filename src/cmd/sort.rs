//! SORT and SORT_RO over lists, sets and sorted sets, as Redis's sort.c:
//! numeric or ALPHA, ASC/DESC, LIMIT, weights from other keys (`BY
//! weight_*`, `BY obj_*->field`), values from other keys (`GET`), STORE.
//!
//! BY and GET name keys derived from the elements, which may live on any
//! shard. Without such patterns (or on one shard) SORT is an ordinary
//! command on its key's shard. With them it runs as a cross-shard command:
//! the elements come from the key's shard, each round of lookups goes to
//! the shards owning the derived keys (one job per shard), and STORE writes
//! on the destination's shard. Both paths run the same steps below; only
//! how a batch of lookups is answered differs.

use std::collections::HashMap;

use bytes::Bytes;

use super::{acl, command, err, flag::*, parse_int, Command, Exec};
use crate::notify::class;
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::ShardCtx;
use crate::slot::shard_of_key;
use crate::types::list::End;
use crate::types::{List, Value};

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    (
        "sort",
        "key [BY by-pattern:pattern#1] [limit(LIMIT offset:integer count:integer)] [GET get-pattern:pattern#1...] \
         [order(ASC|DESC)] [sorting(ALPHA)] [STORE destination:key#2]",
    ),
    (
        "sort_ro",
        "key [BY by-pattern:pattern#1] [limit(LIMIT offset:integer count:integer)] [GET get-pattern:pattern#1...] \
         [order(ASC|DESC)] [sorting(ALPHA)]",
    ),
];

/// Key-spec flags for `COMMAND INFO`: none here, SORT's three key specs
/// (the key, its BY/GET patterns' keys, STORE's) are in `specs::KEY_SPECS`.
pub static KEY_FLAGS: &[(&str, &[&str])] = &[];

const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the \
     number of returned elements. When the elements are not sorted, complexity is O(N).";

pub static COMMANDS: &[Command] = &[
    command(
        "sort",
        -2,
        WRITE | DENYOOM,
        acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS,
        (1, 1, 1),
        Exec::Cross(sort, sort_cross),
        "generic",
        "1.0.0",
        COMPLEXITY,
        "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
    )
    .keys_from(sort_keys)
    .coordinated_when(reads_other_keys),
    command(
        "sort_ro",
        -2,
        READONLY,
        acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS,
        (1, 1, 1),
        Exec::Cross(sort_ro, sort_ro_cross),
        "generic",
        "7.0.0",
        COMPLEXITY,
        "Returns the sorted elements of a list, a set, or a sorted set.",
    )
    .coordinated_when(reads_other_keys),
];

/// Redis's `sortGetKeys`: the key, and the destination of the last STORE.
fn sort_keys(args: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// Whether a well-formed SORT reads keys named by its patterns.
fn reads_other_keys(args: &[Bytes]) -> bool {
    Options::parse(args, false).or_else(|_| Options::parse(args, true)).is_ok_and(|o| o.reads_other_keys())
}

/// SORT's options, parsed as Redis parses them (the first problem wins).
#[derive(Debug, Clone, Default)]
struct Options {
    by: Option<Bytes>,
    /// BY a pattern without `*`: keep the native order.
    dontsort: bool,
    limit_start: i64,
    limit_count: i64,
    gets: Vec<Bytes>,
    desc: bool,
    alpha: bool,
    store: Option<Bytes>,
}

impl Options {
    fn parse(args: &[Bytes], readonly: bool) -> Result<Options, &'static str> {
        let mut o = Options { limit_count: -1, ..Options::default() };
        let mut j = 2;
        while j < args.len() {
            let (a, left) = (&args[j], args.len() - j - 1);
            let is = |name: &[u8]| a.eq_ignore_ascii_case(name);
            if is(b"asc") {
                o.desc = false;
            } else if is(b"desc") {
                o.desc = true;
            } else if is(b"alpha") {
                o.alpha = true;
            } else if is(b"limit") && left >= 2 {
                o.limit_start = parse_int(&args[j + 1]).ok_or(err::NOT_INT)?;
                o.limit_count = parse_int(&args[j + 2]).ok_or(err::NOT_INT)?;
                j += 2;
            } else if !readonly && is(b"store") && left >= 1 {
                o.store = Some(args[j + 1].clone());
                j += 1;
            } else if is(b"by") && left >= 1 {
                o.dontsort = !args[j + 1].contains(&b'*');
                o.by = Some(args[j + 1].clone());
                j += 1;
            } else if is(b"get") && left >= 1 {
                o.gets.push(args[j + 1].clone());
                j += 1;
            } else {
                return Err(err::SYNTAX);
            }
            j += 1;
        }
        Ok(o)
    }

    fn reads_other_keys(&self) -> bool {
        let by = !self.dontsort && self.by.is_some();
        by || self.gets.iter().any(|g| g.as_ref() != b"#" && g.contains(&b'*'))
    }
}

/// Where a pattern leads for one element (Redis's `lookupKeyByPattern`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    /// `#`: the element itself.
    Itself,
    /// No `*`: nothing.
    Nothing,
    /// A string key, or a field of a hash key (`*->field`).
    Key { key: Vec<u8>, field: Option<Vec<u8>> },
}

fn resolve(pattern: &[u8], elem: &[u8]) -> Target {
    if pattern == b"#" {
        return Target::Itself;
    }
    let Some(star) = pattern.iter().position(|&b| b == b'*') else {
        return Target::Nothing;
    };
    // `->` after the star, with something after it, makes a hash field.
    let arrow = pattern[star + 1..].windows(2).position(|w| w == b"->").map(|p| star + 1 + p);
    let (key_end, field) = match arrow {
        Some(a) if a + 2 < pattern.len() => (a, Some(pattern[a + 2..].to_vec())),
        _ => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(key_end + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    Target::Key { key, field }
}

/// The value a (key, field) target names, on the shard owning the key:
/// a string, or a hash field; anything else is nothing.
fn fetch(ctx: &mut ShardCtx, key: &[u8], field: Option<&[u8]>) -> Option<Vec<u8>> {
    let Some(entry) = ctx.get(key) else {
        ctx.keymiss(key);
        return None;
    };
    match (&entry.value, field) {
        (Value::Str(s), None) => Some(s.to_vec()),
        (Value::Hash(h), Some(f)) => h.get(f).map(<[u8]>::to_vec),
        _ => None,
    }
}

/// The elements to sort and the window to output, after Redis's LIMIT
/// clamping and its shortcuts for lists and sorted sets kept in native
/// order.
struct Loaded {
    elems: Vec<Vec<u8>>,
    start: usize,
    /// One past the last output element.
    end: usize,
    dontsort: bool,
    alpha: bool,
    by: Option<Bytes>,
}

/// Step 1, on the key's shard: the elements.
fn load(ctx: &mut ShardCtx, key: &[u8], o: &Options) -> Result<Loaded, &'static str> {
    // A miss some listener heard of is counted already.
    let heard = ctx.missed(key);
    let (db, now) = (ctx.db, ctx.now);
    let shard = &mut *ctx.shard;
    let mut entry = if heard { None } else { shard.dbs[db].get(key, now) };
    if !heard {
        shard.stats.count_lookup(entry.is_some());
    }
    if let Some(Value::ZSet(z)) = entry.as_mut().map(|e| &mut e.value) {
        z.convert_for_sort();
    }
    let value = entry.map(|e| &e.value);
    let (mut dontsort, mut alpha, mut by) = (o.dontsort, o.alpha, o.by.clone());
    // A set has no order of its own: when storing, Redis sorts it anyway.
    if dontsort && matches!(value, Some(Value::Set(_))) && o.store.is_some() {
        (dontsort, alpha, by) = (false, true, None);
    }
    let len = match value {
        None => 0,
        Some(Value::List(l)) => l.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::ZSet(z)) => z.len(),
        Some(_) => return Err(err::WRONGTYPE),
    } as i64;
    // Redis's clamping, in its own words.
    let mut start = o.limit_start.max(0).min(len);
    let count = o.limit_count.max(-1).min(len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    let window = |start: i64, end: i64| if end >= start { (start as usize, (end + 1) as usize) } else { (0, 0) };
    let native = dontsort && matches!(value, Some(Value::List(_) | Value::ZSet(_)));
    let elems: Vec<Vec<u8>> = match value {
        None => Vec::new(),
        // Kept in native order: only the window, from the chosen end.
        Some(Value::List(l)) if native => {
            let (s, e) = window(start, end);
            let from = if o.desc { len - 1 - s as i64 } else { s as i64 };
            l.iter_from(from, o.desc).take(e - s).map(<[u8]>::to_vec).collect()
        }
        Some(Value::ZSet(z)) if native => {
            let (s, e) = window(start, end);
            if e > s {
                z.range_by_rank(s, e - 1, o.desc).map(|(m, _)| m.to_vec()).collect()
            } else {
                Vec::new()
            }
        }
        Some(Value::List(l)) => l.iter().map(<[u8]>::to_vec).collect(),
        Some(Value::Set(s)) => s.iter().map(|m| m.to_vec()).collect(),
        Some(Value::ZSet(z)) => z.iter().map(|(m, _)| m.to_vec()).collect(),
        Some(_) => unreachable!("type checked above"),
    };
    let (start, end) = if native { (0, elems.len()) } else { window(start, end) };
    Ok(Loaded { elems, start, end, dontsort, alpha, by })
}

/// The (key, field) targets a batch of pattern lookups needs.
fn targets(patterns: &[&[u8]], elems: &[Vec<u8>]) -> Vec<Target> {
    elems.iter().flat_map(|e| patterns.iter().map(move |p| resolve(p, e))).collect()
}

/// Answers lookups of a batch of targets; `Itself` needs the element.
type Answers = HashMap<Target, Option<Vec<u8>>>;

fn answer_here(ctx: &mut ShardCtx, targets: &[Target]) -> Answers {
    let mut out = Answers::new();
    for t in targets {
        if let Target::Key { key, field } = t {
            if !out.contains_key(t) {
                let v = fetch(ctx, key, field.as_deref());
                out.insert(t.clone(), v);
            }
        }
    }
    out
}

fn lookup<'a>(answers: &'a Answers, target: &Target, elem: &'a [u8]) -> Option<&'a [u8]> {
    match target {
        Target::Itself => Some(elem),
        Target::Nothing => None,
        t => answers.get(t).and_then(|v| v.as_deref()),
    }
}

/// Step 2: sorts the elements by themselves or by their BY weights.
fn sort_loaded(l: &mut Loaded, desc: bool, answers: &Answers) -> Result<(), &'static str> {
    if l.dontsort {
        return Ok(());
    }
    let by = l.by.clone();
    let weight = |e: &[u8]| -> Option<Vec<u8>> {
        match &by {
            Some(p) => lookup(answers, &resolve(p, e), e).map(<[u8]>::to_vec),
            None => Some(e.to_vec()),
        }
    };
    let mut keyed: Vec<(Key, Vec<u8>)> = Vec::with_capacity(l.elems.len());
    for e in std::mem::take(&mut l.elems) {
        let w = weight(&e);
        let key = if l.alpha {
            // Without BY, elements compare directly; a missing weight sorts first.
            Key::Alpha(if by.is_some() { w } else { None })
        } else {
            // A missing weight is 0, as Redis leaves the score unset.
            Key::Score(match w {
                None => 0.0,
                Some(w) => parse_weight(&w).ok_or("ERR One or more scores can't be converted into double")?,
            })
        };
        keyed.push((key, e));
    }
    let by_pattern = by.is_some();
    keyed.sort_by(|(ka, ea), (kb, eb)| {
        let ord = match (ka, kb) {
            (Key::Score(a), Key::Score(b)) => {
                a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal).then_with(|| ea.cmp(eb))
            }
            (Key::Alpha(a), Key::Alpha(b)) if by_pattern => a.cmp(b),
            _ => ea.cmp(eb),
        };
        if desc {
            ord.reverse()
        } else {
            ord
        }
    });
    l.elems = keyed.into_iter().map(|(_, e)| e).collect();
    Ok(())
}

enum Key {
    Score(f64),
    /// None sorts before any value (`Option`'s order), as Redis's NULL does.
    Alpha(Option<Vec<u8>>),
}

/// A weight as SORT reads it: C's `strtod` over the whole value, no NaN,
/// no overflow.
fn parse_weight(w: &[u8]) -> Option<f64> {
    let (v, used, erange) = crate::types::zset::strtod(w);
    (used == w.len() && !erange && !v.is_nan()).then_some(v)
}

/// Step 3: the output, one item per element, or one per GET pattern.
fn output_items(l: &Loaded, gets: &[Bytes], answers: &Answers) -> Vec<Option<Vec<u8>>> {
    let window = &l.elems[l.start.min(l.elems.len())..l.end.min(l.elems.len())];
    if gets.is_empty() {
        return window.iter().map(|e| Some(e.clone())).collect();
    }
    let mut out = Vec::with_capacity(window.len() * gets.len());
    for e in window {
        for g in gets {
            out.push(lookup(answers, &resolve(g, e), e).map(<[u8]>::to_vec));
        }
    }
    out
}

fn write_items(items: &[Option<Vec<u8>>], reply: &mut Reply) {
    reply.array(items.len());
    for item in items {
        match item {
            Some(v) => reply.bulk(v),
            None => reply.null(),
        }
    }
}

/// STORE: the items as a list (a missing GET value stored empty), or the
/// destination deleted when there are none. Replies the count.
fn store(ctx: &mut ShardCtx, dst: &[u8], items: &[Option<Vec<u8>>], reply: &mut Reply) {
    if items.is_empty() {
        if ctx.db().delete(dst) {
            ctx.notify(class::GENERIC, "del", dst);
        }
    } else {
        let limits = ctx.limits().list;
        let mut list = List::new();
        let values: Vec<&[u8]> = items.iter().map(|i| i.as_deref().unwrap_or_default()).collect();
        list.push(End::Tail, &values, limits);
        ctx.db().insert(dst, crate::shard::Entry::new(Value::List(Box::new(list))));
        ctx.notify(class::LIST, "sortstore", dst);
    }
    reply.int(items.len() as i64);
}

/// The BY weights a sort needs (none when it keeps the native order).
fn by_targets(l: &Loaded) -> Vec<Target> {
    match (&l.by, l.dontsort) {
        (Some(p), false) => targets(&[p], &l.elems),
        _ => Vec::new(),
    }
}

fn get_targets(l: &Loaded, gets: &[Bytes]) -> Vec<Target> {
    let window = &l.elems[l.start.min(l.elems.len())..l.end.min(l.elems.len())];
    let patterns: Vec<&[u8]> = gets.iter().map(|g| &g[..]).collect();
    targets(&patterns, window)
}

// --- The single-shard path ------------------------------------------------------

fn sort_generic(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, readonly: bool) {
    let o = match Options::parse(args, readonly) {
        Ok(o) => o,
        Err(e) => return reply.error(e),
    };
    let mut l = match load(ctx, &args[1], &o) {
        Ok(l) => l,
        Err(e) => return reply.error(e),
    };
    let answers = answer_here(ctx, &by_targets(&l));
    if let Err(e) = sort_loaded(&mut l, o.desc, &answers) {
        return reply.error(e);
    }
    let answers = answer_here(ctx, &get_targets(&l, &o.gets));
    let items = output_items(&l, &o.gets, &answers);
    match &o.store {
        Some(dst) => store(ctx, dst, &items, reply),
        None => write_items(&items, reply),
    }
}

fn sort(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    sort_generic(ctx, args, reply, false)
}

fn sort_ro(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    sort_generic(ctx, args, reply, true)
}

// --- The cross-shard path -------------------------------------------------------

/// Answers `targets` with one job per shard owning some of their keys.
async fn answer_across(cx: &Cross, targets: Vec<Target>) -> Result<Answers, &'static str> {
    let shards = cx.shards();
    let mut by_shard: Vec<Vec<Target>> = vec![Vec::new(); shards];
    for t in targets {
        if let Target::Key { key, .. } = &t {
            by_shard[shard_of_key(key, shards)].push(t);
        }
    }
    let mut answers = Answers::new();
    for (shard, batch) in by_shard.into_iter().enumerate().filter(|(_, b)| !b.is_empty()) {
        answers.extend(cx.on(shard, move |ctx| answer_here(ctx, &batch)).await?);
    }
    Ok(answers)
}

fn sort_cross_generic(cx: Cross, args: Vec<Bytes>, readonly: bool) -> CrossFuture {
    Box::pin(async move {
        let o = match Options::parse(&args, readonly) {
            Ok(o) => o,
            Err(e) => return cx.error(e),
        };
        let (key, opts) = (args[1].clone(), o.clone());
        let loaded = cx.on(cx.shard_of(&key), move |ctx| load(ctx, &key, &opts)).await;
        let mut l = match loaded {
            Ok(Ok(l)) => l,
            Ok(Err(e)) | Err(e) => return cx.error(e),
        };
        let answers = match answer_across(&cx, by_targets(&l)).await {
            Ok(a) => a,
            Err(e) => return cx.error(e),
        };
        if let Err(e) = sort_loaded(&mut l, o.desc, &answers) {
            return cx.error(e);
        }
        let answers = match answer_across(&cx, get_targets(&l, &o.gets)).await {
            Ok(a) => a,
            Err(e) => return cx.error(e),
        };
        let items = output_items(&l, &o.gets, &answers);
        let Some(dst) = o.store else {
            return cx.encode(|r| write_items(&items, r));
        };
        let proto = cx.proto;
        let stored = cx.on(cx.shard_of(&dst), move |ctx| {
            let mut buf = Vec::new();
            store(ctx, &dst, &items, &mut Reply::new(&mut buf, proto));
            ctx.log_key(&dst);
            buf
        });
        stored.await.unwrap_or_else(|e| cx.error(e))
    })
}

fn sort_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    sort_cross_generic(cx, args, false)
}

fn sort_ro_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    sort_cross_generic(cx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn patterns_resolve_as_redis_substitutes_them() {
        assert_eq!(resolve(b"#", b"x"), Target::Itself);
        assert_eq!(resolve(b"fixed", b"x"), Target::Nothing);
        assert_eq!(resolve(b"w_*", b"3"), Target::Key { key: b"w_3".to_vec(), field: None });
        assert_eq!(resolve(b"o_*->f", b"3"), Target::Key { key: b"o_3".to_vec(), field: Some(b"f".to_vec()) });
        // `->` with nothing after it is part of the key name.
        assert_eq!(resolve(b"o_*->", b"3"), Target::Key { key: b"o_3->".to_vec(), field: None });
        assert_eq!(resolve(b"a*b*", b"X"), Target::Key { key: b"aXb*".to_vec(), field: None });
    }

    #[test]
    fn options_parse_in_redis_order() {
        let o = Options::parse(&b(&["sort", "k", "by", "w_*", "limit", "0", "5", "get", "#", "desc", "alpha"]), false)
            .unwrap();
        assert!(o.desc && o.alpha && !o.dontsort && o.gets.len() == 1 && o.limit_count == 5);
        assert!(Options::parse(&b(&["sort", "k", "by", "nosort"]), false).unwrap().dontsort);
        assert_eq!(Options::parse(&b(&["sort", "k", "limit", "0"]), false).unwrap_err(), err::SYNTAX);
        assert_eq!(Options::parse(&b(&["sort", "k", "limit", "x", "1"]), false).unwrap_err(), err::NOT_INT);
        assert_eq!(Options::parse(&b(&["sort_ro", "k", "store", "d"]), true).unwrap_err(), err::SYNTAX);
        assert_eq!(sort_keys(&b(&["sort", "k", "get", "store", "store", "d", "store", "e"])), [1, 7]);
        assert!(reads_other_keys(&b(&["sort", "k", "get", "x_*"])));
        assert!(!reads_other_keys(&b(&["sort", "k", "get", "#", "by", "nosort"])));
    }
}
