//! Generic key commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME(NX),
//! COPY, MOVE, KEYS, SCAN, RANDOMKEY, OBJECT, and the whole-db ones (DBSIZE,
//! FLUSHDB, FLUSHALL, SWAPDB) that run on every shard.
//!
//! RENAME, RENAMENX and COPY bring a value from one key to another: on one
//! shard a plain handler, across shards a coordinator that takes (or
//! copies) the entry on the source's shard and stores it on the
//! destination's. SCAN and RANDOMKEY walk every shard from the connection.

use bytes::Bytes;

use super::scan::{self, ScanOptions, Target};
use super::{command, container, err, flag::*, parse_int, Command, Exec, Merge};
use crate::cmd::acl;
use crate::glob::glob_match;
use crate::notify::class;
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::{lazyfree, Db, Entry, Object, ShardCtx};

const K: u32 = acl::KEYSPACE;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("del", "key..."),
    ("unlink", "key..."),
    ("exists", "key..."),
    ("touch", "key..."),
    ("type", "key"),
    ("rename", "key newkey:key"),
    ("renamenx", "key newkey:key"),
    ("copy", "source:key destination:key [DB destination-db:integer] [REPLACE]"),
    ("move", "key db:integer"),
    ("keys", "pattern:pattern"),
    ("scan", "cursor:integer [MATCH pattern:pattern] [COUNT count:integer] [TYPE type]"),
    ("swapdb", "index1:integer index2:integer"),
    ("flushdb", "[flush-type(ASYNC|SYNC)]"),
    ("flushall", "[flush-type(ASYNC|SYNC)]"),
    ("object|encoding", "key"),
    ("object|freq", "key"),
    ("object|idletime", "key"),
    ("object|refcount", "key"),
];

pub static COMMANDS: &[Command] = &[
    command(
        "del",
        -2,
        WRITE,
        K,
        (1, -1, 1),
        Exec::MultiKey(del, Merge::SumInt),
        "generic",
        "1.0.0",
        "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than \
         a string, the individual complexity for this key is O(M) where M is the number of elements in the list, \
         set, sorted set or hash. Removing a single key that holds a string value is O(1).",
        "Deletes one or more keys.",
    ),
    command(
        "unlink",
        -2,
        WRITE | FAST,
        K,
        (1, -1, 1),
        Exec::MultiKey(del, Merge::SumInt),
        "generic",
        "4.0.0",
        "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread \
         in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
        "Asynchronously deletes one or more keys.",
    ),
    command(
        "exists",
        -2,
        READONLY | FAST,
        K,
        (1, -1, 1),
        Exec::MultiKey(exists, Merge::SumInt),
        "generic",
        "1.0.0",
        "O(N) where N is the number of keys to check.",
        "Determines whether one or more keys exist.",
    ),
    command(
        "touch",
        -2,
        READONLY | FAST,
        K,
        (1, -1, 1),
        Exec::MultiKey(touch, Merge::SumInt),
        "generic",
        "3.2.1",
        "O(N) where N is the number of keys that will be touched.",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
    ),
    command(
        "type",
        2,
        READONLY | FAST,
        K,
        (1, 1, 1),
        Exec::Keyed(type_of),
        "generic",
        "1.0.0",
        "O(1)",
        "Determines the type of value stored at a key.",
    ),
    command(
        "rename",
        3,
        WRITE,
        K,
        (1, 2, 1),
        Exec::Cross(rename, rename_cross),
        "generic",
        "1.0.0",
        "O(1)",
        "Renames a key and overwrites the destination.",
    ),
    command(
        "renamenx",
        3,
        WRITE | FAST,
        K,
        (1, 2, 1),
        Exec::Cross(renamenx, renamenx_cross),
        "generic",
        "1.0.0",
        "O(1)",
        "Renames a key only when the target key name doesn't exist.",
    ),
    command(
        "copy",
        -3,
        WRITE | DENYOOM,
        K,
        (1, 2, 1),
        Exec::Cross(copy, copy_cross),
        "generic",
        "6.2.0",
        "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
        "Copies the value of a key to a new key.",
    ),
    command(
        "move",
        3,
        WRITE | FAST,
        K,
        (1, 1, 1),
        Exec::Keyed(move_key),
        "generic",
        "1.0.0",
        "O(1)",
        "Moves a key to another database.",
    ),
    command(
        "keys",
        2,
        READONLY,
        K | acl::DANGEROUS,
        (0, 0, 0),
        Exec::AllShards(keys, Merge::Concat),
        "generic",
        "1.0.0",
        "O(N) with N being the number of keys in the database, under the assumption that the key names in the \
         database and the given pattern have limited length.",
        "Returns all key names that match a pattern.",
    ),
    command(
        "scan",
        -2,
        READONLY,
        K,
        (0, 0, 0),
        Exec::Cross(scan, scan_cross),
        "generic",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to \
         return back to 0. N is the number of elements inside the collection.",
        "Iterates over the key names in the database.",
    ),
    command(
        "randomkey",
        1,
        READONLY,
        K,
        (0, 0, 0),
        Exec::Cross(randomkey, randomkey_cross),
        "generic",
        "1.0.0",
        "O(1)",
        "Returns a random key name from the database.",
    ),
    container("object", 0, "generic", "2.2.3", "A container for object introspection commands.", OBJECT),
    command(
        "dbsize",
        1,
        READONLY | FAST,
        K,
        (0, 0, 0),
        Exec::AllShards(dbsize, Merge::SumInt),
        "server",
        "1.0.0",
        "O(1)",
        "Returns the number of keys in the database.",
    ),
    command(
        "swapdb",
        3,
        WRITE | FAST,
        K | acl::DANGEROUS,
        (0, 0, 0),
        Exec::AllShards(swapdb, Merge::AllOk),
        "server",
        "4.0.0",
        "O(N) where N is the count of clients watching or blocking on keys from both databases.",
        "Swaps two Redis databases.",
    ),
    command(
        "flushdb",
        -1,
        WRITE,
        K | acl::DANGEROUS,
        (0, 0, 0),
        Exec::AllShards(flushdb, Merge::AllOk),
        "server",
        "1.0.0",
        "O(N) where N is the number of keys in the selected database",
        "Removes all keys from the current database.",
    ),
    command(
        "flushall",
        -1,
        WRITE,
        K | acl::DANGEROUS,
        (0, 0, 0),
        Exec::AllShards(flushall, Merge::AllOk),
        "server",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
        "Removes all keys from all databases.",
    ),
];

static OBJECT: &[Command] = &[
    command(
        "object|encoding",
        3,
        READONLY,
        K,
        (2, 2, 1),
        Exec::Keyed(object_encoding),
        "generic",
        "2.2.3",
        "O(1)",
        "Returns the internal encoding of a Redis object.",
    ),
    command(
        "object|freq",
        3,
        READONLY,
        K,
        (2, 2, 1),
        Exec::Keyed(object_freq),
        "generic",
        "4.0.0",
        "O(1)",
        "Returns the logarithmic access frequency counter of a Redis object.",
    ),
    command(
        "object|help",
        2,
        LOADING | STALE,
        K,
        (0, 0, 0),
        Exec::Conn(object_help),
        "generic",
        "6.2.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
    command(
        "object|idletime",
        3,
        READONLY,
        K,
        (2, 2, 1),
        Exec::Keyed(object_idletime),
        "generic",
        "2.2.3",
        "O(1)",
        "Returns the time since the last access to a Redis object.",
    ),
    command(
        "object|refcount",
        3,
        READONLY,
        K,
        (2, 2, 1),
        Exec::Keyed(object_refcount),
        "generic",
        "2.2.3",
        "O(1)",
        "Returns the reference count of a value of a key.",
    ),
];

/// DEL and UNLINK: both free big values in the background (see
/// `shard::lazyfree`), so neither stalls the shard.
fn del(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let mut removed = 0;
    for key in &args[1..] {
        if let Some(entry) = ctx.remove(key) {
            lazyfree::free_value(entry.value);
            ctx.notify(class::GENERIC, "del", key);
            removed += 1;
        }
    }
    reply.int(removed);
}

/// Counts every argument that names a live key, duplicates included.
fn exists(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let found = args[1..].iter().filter(|k| present(ctx, k, |ctx, k| ctx.contains(k))).count();
    reply.int(found as i64);
}

/// A reading lookup by `look` (Redis's `lookupKeyRead`): `keymiss` when
/// `key` is absent.
fn present(ctx: &mut ShardCtx, key: &[u8], look: fn(&mut ShardCtx, &[u8]) -> bool) -> bool {
    let found = look(ctx, key);
    if !found {
        ctx.keymiss(key);
    }
    found
}

fn dbsize(ctx: &mut ShardCtx, _args: &[Bytes], reply: &mut Reply) {
    reply.int(ctx.db().len() as i64);
}

/// `[ASYNC|SYNC]`: SYNC frees the tables before replying; otherwise they
/// are freed in the background (`shard::lazyfree`). None if malformed.
fn flush_mode(args: &[Bytes]) -> Option<bool> {
    match args.len() {
        1 => Some(false),
        2 if args[1].eq_ignore_ascii_case(b"async") => Some(false),
        2 if args[1].eq_ignore_ascii_case(b"sync") => Some(true),
        _ => None,
    }
}

fn free_table(db: Db, sync: bool) {
    if sync {
        drop(db);
    } else {
        lazyfree::free_db(db);
    }
}

fn flushdb(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let Some(sync) = flush_mode(args) else {
        return reply.error(err::SYNTAX);
    };
    crate::tx::watch::touch_flushed(ctx.shard, ctx.db, ctx.now);
    free_table(ctx.db().clear(), sync);
    reply.ok();
}

fn flushall(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let Some(sync) = flush_mode(args) else {
        return reply.error(err::SYNTAX);
    };
    for db in 0..ctx.shard.dbs.len() {
        crate::tx::watch::touch_flushed(ctx.shard, db, ctx.now);
        free_table(ctx.shard.dbs[db].clear(), sync);
    }
    reply.ok();
}

/// Counts the live keys named, and marks them accessed.
fn touch(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let found = args[1..].iter().filter(|k| present(ctx, k, |ctx, k| ctx.get(k).is_some())).count();
    reply.int(found as i64);
}

fn type_of(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match ctx.peek(&args[1]) {
        Some(e) => reply.simple(e.value.type_name()),
        None => {
            ctx.keymiss(&args[1]);
            reply.simple("none")
        }
    }
}

// --- RENAME, RENAMENX --------------------------------------------------------

/// RENAME and RENAMENX on one shard: Redis's `renameGenericCommand`.
fn rename_local(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, nx: bool) {
    let (src, dst, now) = (&args[1], &args[2], ctx.now);
    let db = ctx.db();
    if !db.contains(src, now) {
        return reply.error(err::NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { reply.int(0) } else { reply.ok() };
    }
    if !make_room(db, dst, nx, now) {
        return reply.int(0);
    }
    if let Some(entry) = db.remove(src, now) {
        db.insert(dst, entry);
    }
    renamed(ctx, src, dst);
    if nx {
        reply.int(1)
    } else {
        reply.ok()
    }
}

/// Clears `dst` for the key RENAME or COPY puts there: false if it exists
/// and `keep` says to leave it (RENAMENX, COPY without REPLACE); else an
/// existing one is deleted, so the key is created anew (`new`), as in Redis.
fn make_room(db: &mut Db, dst: &[u8], keep: bool, now: u64) -> bool {
    if !db.contains(dst, now) {
        return true;
    }
    if keep {
        return false;
    }
    if let Some(old) = db.remove(dst, now) {
        lazyfree::free_value(old.value);
    }
    true
}

/// A rename's events, once the key is in place at `dst`.
fn renamed(ctx: &mut ShardCtx, src: &[u8], dst: &[u8]) {
    ctx.notify(class::GENERIC, "rename_from", src);
    ctx.notify(class::GENERIC, "rename_to", dst);
}

fn rename(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    rename_local(ctx, args, reply, false);
}

fn renamenx(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    rename_local(ctx, args, reply, true);
}

fn rename_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(rename_across(cx, args, false))
}

fn renamenx_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(rename_across(cx, args, true))
}

/// RENAME across shards: check the source, (NX) check the destination, take
/// the entry from the source's shard, store it on the destination's.
async fn rename_across(cx: Cross, args: Vec<Bytes>, nx: bool) -> Vec<u8> {
    let (src, dst) = (args[1].clone(), args[2].clone());
    let (src_shard, dst_shard) = (cx.shard_of(&src), cx.shard_of(&dst));
    if nx {
        let s = src.clone();
        match cx.on(src_shard, move |ctx| ctx.contains(&s)).await {
            Ok(true) => {}
            Ok(false) => return cx.error(err::NO_SUCH_KEY),
            Err(e) => return cx.error(e),
        }
        let d = dst.clone();
        match cx.on(dst_shard, move |ctx| ctx.contains(&d)).await {
            Ok(false) => {}
            Ok(true) => return cx.int(0),
            Err(e) => return cx.error(e),
        }
    }
    let s = src.clone();
    let entry = match cx
        .on(src_shard, move |ctx| {
            let entry = ctx.remove(&s);
            ctx.log_key(&s);
            entry
        })
        .await
    {
        Ok(Some(entry)) => entry,
        Ok(None) => return cx.error(err::NO_SUCH_KEY),
        Err(e) => return cx.error(e),
    };
    if let Err(e) = cx
        .on(dst_shard, move |ctx| {
            let now = ctx.now;
            make_room(ctx.db(), &dst, false, now);
            ctx.db().insert(&dst, entry);
            // Both events from here, after the key's creation, as in Redis.
            renamed(ctx, &src, &dst);
            ctx.log_key(&dst);
        })
        .await
    {
        return cx.error(e);
    }
    if nx {
        cx.int(1)
    } else {
        cx.ok()
    }
}

// --- COPY, MOVE ----------------------------------------------------------------

/// COPY's options: the destination db and REPLACE.
struct CopyOptions {
    db: usize,
    replace: bool,
}

fn copy_options(args: &[Bytes], db: usize, databases: usize) -> Result<CopyOptions, &'static str> {
    let mut o = CopyOptions { db, replace: false };
    let mut i = 3;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"replace") {
            o.replace = true;
        } else if args[i].eq_ignore_ascii_case(b"db") && i + 1 < args.len() {
            o.db = db_index(&args[i + 1], databases)?;
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if o.db == db && args[1] == args[2] {
        return Err(err::SAME_OBJECT);
    }
    Ok(o)
}

/// A db number argument: an int (Redis's `getIntFromObjectOrReply`) in range.
fn db_index(arg: &[u8], databases: usize) -> Result<usize, &'static str> {
    let n = parse_int(arg).filter(|n| i32::try_from(*n).is_ok()).ok_or(err::NOT_INT)?;
    usize::try_from(n).ok().filter(|&n| n < databases).ok_or(err::DB_RANGE)
}

/// Stores a copy in `db` unless the destination exists and REPLACE was
/// not given; one that does is deleted first, so the copy is `new`.
fn copy_into(ctx: &mut ShardCtx, db: usize, key: &[u8], entry: Entry, replace: bool) -> bool {
    let now = ctx.now;
    let target = &mut ctx.shard.dbs[db];
    if !make_room(target, key, !replace, now) {
        return false;
    }
    target.insert(key, entry);
    ctx.shard.notify(db, now, class::GENERIC, "copy_to", key);
    true
}

/// COPY's source, duplicated (a reading lookup).
fn copy_source(ctx: &mut ShardCtx, key: &[u8]) -> Option<Entry> {
    let now = ctx.now;
    let entry = ctx.db().duplicate(key, now);
    if entry.is_none() {
        ctx.keymiss(key);
    }
    entry
}

fn copy(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let databases = ctx.shard.dbs.len();
    let o = match copy_options(args, ctx.db, databases) {
        Ok(o) => o,
        Err(e) => return reply.error(e),
    };
    let Some(entry) = copy_source(ctx, &args[1]) else {
        return reply.int(0);
    };
    let copied = copy_into(ctx, o.db, &args[2], entry, o.replace);
    reply.int(copied as i64);
}

fn copy_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let databases = cx.databases();
        let o = match copy_options(&args, cx.db, databases) {
            Ok(o) => o,
            Err(e) => return cx.error(e),
        };
        let (src, dst) = (args[1].clone(), args[2].clone());
        let entry = match cx.on(cx.shard_of(&src), move |ctx| copy_source(ctx, &src)).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return cx.int(0),
            Err(e) => return cx.error(e),
        };
        let (db, replace) = (o.db, o.replace);
        let dst_shard = cx.shard_of(&dst);
        let copy = move |ctx: &mut ShardCtx| {
            let copied = copy_into(ctx, db, &dst, entry, replace);
            if copied {
                ctx.log_key_in(db, &dst);
            }
            copied
        };
        match cx.on(dst_shard, copy).await {
            Ok(copied) => cx.int(copied as i64),
            Err(e) => cx.error(e),
        }
    })
}

/// MOVE stays on one shard: a key's shard does not depend on its db.
fn move_key(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let to = match db_index(&args[2], ctx.shard.dbs.len()) {
        Ok(to) => to,
        Err(e) => return reply.error(e),
    };
    if to == ctx.db {
        return reply.error(err::SAME_OBJECT);
    }
    let (key, now) = (&args[1], ctx.now);
    if !ctx.db().contains(key, now) || ctx.shard.dbs[to].contains(key, now) {
        return reply.int(0);
    }
    if let Some(entry) = ctx.db().remove(key, now) {
        ctx.shard.dbs[to].insert(key, entry);
    }
    // The key's `new` in the target db comes first, as in Redis.
    ctx.shard.flush_events(to, now);
    ctx.notify(class::GENERIC, "move_from", key);
    ctx.shard.notify(to, now, class::GENERIC, "move_to", key);
    reply.int(1);
}

// --- KEYS, SCAN, RANDOMKEY -------------------------------------------------------

fn keys(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let (pattern, now) = (&args[1], ctx.now);
    let all = pattern.as_ref() == b"*";
    let d = reply.begin_deferred();
    let mut n = 0;
    for (key, _) in ctx.db().live(now) {
        if all || glob_match(pattern, key, false) {
            reply.bulk(key);
            n += 1;
        }
    }
    reply.end_deferred_array(d, n);
}

/// SCAN's arguments. The cursor packs the shard being walked and the
/// position inside its table: `position * shards + shard` (see
/// `shard::keyspace` for the walk and its guarantee).
struct ScanArgs {
    cursor: u64,
    opts: ScanOptions,
}

fn scan_args(args: &[Bytes]) -> Result<ScanArgs, String> {
    let cursor = scan::parse_cursor(&args[1])?;
    Ok(ScanArgs { cursor, opts: scan::parse_options(&args[2..], Target::Keyspace)? })
}

/// One SCAN step on one shard's table; returns the shard-local next
/// position (0: this shard is done) and the keys found.
fn scan_shard(ctx: &mut ShardCtx, position: u64, a: &ScanOptions) -> (u64, Vec<Bytes>) {
    let now = ctx.now;
    let mut found = Vec::new();
    let next = ctx.db().scan(position, a.count, now, |key, entry| {
        let kind_ok = a.kind.is_none_or(|k| entry.value.type_name() == k);
        if kind_ok && a.matches(key) {
            found.push(Bytes::copy_from_slice(key));
        }
    });
    (next, found)
}

/// The next global cursor after a step on `shard` that ended at `next`.
fn next_cursor(shard: u64, next: u64, shards: u64) -> u64 {
    match (next, shard + 1 < shards) {
        (0, true) => shard + 1,
        (0, false) => 0,
        (pos, _) => pos * shards + shard,
    }
}

/// SCAN on a single-shard server (the command table's one-shard path).
fn scan(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let a = match scan_args(args) {
        Ok(a) => a,
        Err(e) => return reply.error(&e),
    };
    let (next, keys) = scan_shard(ctx, a.cursor, &a.opts);
    scan::write_reply(reply, next, &keys);
}

fn scan_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let a = match scan_args(&args) {
            Ok(a) => a,
            Err(e) => return cx.error(&e),
        };
        let shards = cx.shards() as u64;
        let (shard, position) = (a.cursor % shards, a.cursor / shards);
        match cx.on(shard as usize, move |ctx| scan_shard(ctx, position, &a.opts)).await {
            Ok((next, keys)) => {
                let mut buf = Vec::new();
                scan::write_reply(&mut cx.reply(&mut buf), next_cursor(shard, next, shards), &keys);
                buf
            }
            Err(e) => cx.error(e),
        }
    })
}

fn randomkey(ctx: &mut ShardCtx, _: &[Bytes], reply: &mut Reply) {
    let now = ctx.now;
    match ctx.db().random_key(now, crate::rand::next_u64) {
        Some(k) => reply.bulk(&k),
        None => reply.null(),
    }
}

/// Picks a shard with probability proportional to its key count, then a
/// random key there: uniform over the whole db.
fn randomkey_cross(cx: Cross, _: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let shards: Vec<usize> = (0..cx.shards()).collect();
        let sizes = match cx.on_each(&shards, |ctx| ctx.db().len() as u64).await {
            Ok(s) => s,
            Err(e) => return cx.error(e),
        };
        let total: u64 = sizes.iter().sum();
        let mut buf = Vec::new();
        let mut reply = cx.reply(&mut buf);
        if total == 0 {
            reply.null();
            return buf;
        }
        let shard = weighted_pick(&sizes, crate::rand::below(total));
        // The tables may have changed since they were counted: fall back
        // to the other shards rather than answer nil while keys exist.
        for s in (0..shards.len()).map(|i| (shard + i) % shards.len()) {
            match cx
                .on(s, |ctx| {
                    let now = ctx.now;
                    ctx.db().random_key(now, crate::rand::next_u64)
                })
                .await
            {
                Ok(Some(key)) => {
                    reply.bulk(&key);
                    return buf;
                }
                Ok(None) => {}
                Err(e) => return cx.error(e),
            }
        }
        reply.null();
        buf
    })
}

/// The index whose cumulative weight range holds `pick` (< the total).
fn weighted_pick(weights: &[u64], mut pick: u64) -> usize {
    for (i, &w) in weights.iter().enumerate() {
        if pick < w {
            return i;
        }
        pick -= w;
    }
    0
}

// --- SWAPDB, OBJECT ----------------------------------------------------------------

fn swapdb(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let databases = ctx.shard.dbs.len();
    let index = |arg: &[u8], which: &str| -> Result<usize, String> {
        let n =
            parse_int(arg).filter(|n| i32::try_from(*n).is_ok()).ok_or(format!("ERR invalid {} DB index", which))?;
        usize::try_from(n).ok().filter(|&n| n < databases).ok_or_else(|| err::DB_RANGE.to_string())
    };
    let (a, b) = match (index(&args[1], "first"), index(&args[2], "second")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return reply.error(&e),
    };
    crate::tx::watch::touch_swapped(ctx.shard, a, b, ctx.now);
    ctx.shard.dbs.swap(a, b);
    // Clients blocked in either db may find their keys there now.
    ctx.shard.blocking.all_ready();
    reply.ok();
}

/// OBJECT subcommands read a key without touching its access time.
fn object_lookup<'a>(ctx: &'a mut ShardCtx, args: &[Bytes]) -> Option<&'a mut Object> {
    let now = ctx.now;
    ctx.db().peek(&args[2], now)
}

fn object_encoding(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match object_lookup(ctx, args) {
        Some(e) => reply.bulk(e.value.encoding().as_bytes()),
        None => reply.null(),
    }
}

fn object_refcount(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match object_lookup(ctx, args) {
        Some(e) => reply.int(e.value.refcount()),
        None => reply.null(),
    }
}

fn object_idletime(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let now = ctx.now;
    match object_lookup(ctx, args) {
        Some(e) => reply.int(e.idle_secs(now) as i64),
        None => reply.null(),
    }
}

/// Access frequency is tracked only under an LFU eviction policy, which
/// shardis does not have yet: Redis's reply for any other policy.
fn object_freq(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match object_lookup(ctx, args) {
        Some(_) => reply.error(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
             switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ),
        None => reply.null(),
    }
}

fn object_help(_: &mut super::ConnCtx, _: &[Bytes], reply: &mut Reply) {
    super::connection::help_reply(
        reply,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursors_walk_every_shard_then_end() {
        assert_eq!(next_cursor(0, 0, 3), 1);
        assert_eq!(next_cursor(1, 0, 3), 2);
        assert_eq!(next_cursor(2, 0, 3), 0);
        assert_eq!(next_cursor(1, 40, 3), 121);
        assert_eq!((121 % 3, 121 / 3), (1, 40));
    }

    #[test]
    fn weighted_pick_follows_the_weights() {
        assert_eq!(weighted_pick(&[0, 3, 2], 0), 1);
        assert_eq!(weighted_pick(&[0, 3, 2], 2), 1);
        assert_eq!(weighted_pick(&[0, 3, 2], 3), 2);
        assert_eq!(weighted_pick(&[0, 3, 2], 4), 2);
    }

    #[test]
    fn db_index_errors() {
        assert_eq!(db_index(b"3", 16), Ok(3));
        assert_eq!(db_index(b"16", 16), Err(err::DB_RANGE));
        assert_eq!(db_index(b"-1", 16), Err(err::DB_RANGE));
        assert_eq!(db_index(b"x", 16), Err(err::NOT_INT));
        assert_eq!(db_index(b"4294967296", 16), Err(err::NOT_INT));
    }
}
