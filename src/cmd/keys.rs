//! Generic key commands: DEL, UNLINK, EXISTS, and the whole-db ones
//! (DBSIZE, FLUSHDB, FLUSHALL) that run on every shard.

use bytes::Bytes;

use super::{command, err, flag::*, Command, Exec, Merge};
use crate::cmd::acl;
use crate::resp::Reply;
use crate::shard::ShardCtx;

const K: u32 = acl::KEYSPACE;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("del", "key..."),
    ("unlink", "key..."),
    ("exists", "key..."),
    ("flushdb", "[flush-type(ASYNC|SYNC)]"),
    ("flushall", "[flush-type(ASYNC|SYNC)]"),
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
        "O(N) where N is the number of keys that will be removed.",
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
        "O(1) for each key removed regardless of its size.",
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

fn del(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let now = ctx.now;
    let removed = args[1..].iter().filter(|k| ctx.db().remove(k, now).is_some()).count();
    reply.int(removed as i64);
}

/// Counts every argument that names a live key, duplicates included.
fn exists(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let now = ctx.now;
    let found = args[1..].iter().filter(|k| ctx.db().contains(k, now)).count();
    reply.int(found as i64);
}

fn dbsize(ctx: &mut ShardCtx, _args: &[Bytes], reply: &mut Reply) {
    reply.int(ctx.db().len() as i64);
}

/// `[ASYNC|SYNC]`: both free the memory before replying here, since a
/// shard frees its own table without blocking any other core.
fn flush_mode_ok(args: &[Bytes]) -> bool {
    match args.len() {
        1 => true,
        2 => args[1].eq_ignore_ascii_case(b"async") || args[1].eq_ignore_ascii_case(b"sync"),
        _ => false,
    }
}

fn flushdb(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    if !flush_mode_ok(args) {
        return reply.error(err::SYNTAX);
    }
    ctx.db().clear();
    reply.ok();
}

fn flushall(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    if !flush_mode_ok(args) {
        return reply.error(err::SYNTAX);
    }
    for db in &mut ctx.shard.dbs {
        db.clear();
    }
    reply.ok();
}
