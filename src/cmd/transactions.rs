//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! The MULTI state lives with the client: the connection queues commands
//! while it is open (`server::conn`), and EXEC hands the queue to
//! [`crate::tx::exec`]. WATCH registers the keys on the shards that own
//! them ([`crate::tx::watch`]); UNWATCH forgets them on every shard.

use bytes::Bytes;

use super::{command, flag::*, Command, ConnCtx, Exec, Merge};
use crate::cmd::acl;
use crate::resp::Reply;
use crate::shard::ShardCtx;
use crate::tx::exec::Multi;

const T: u32 = acl::TRANSACTION;

pub const NESTED_MULTI: &str = "ERR MULTI calls can not be nested";
pub const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[("watch", "key:key...")];

pub static COMMANDS: &[Command] = &[
    command(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        T,
        (0, 0, 0),
        Exec::Conn(multi),
        "transactions",
        "1.2.0",
        "O(1)",
        "Starts a transaction.",
    ),
    command(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        T,
        (0, 0, 0),
        Exec::Tx,
        "transactions",
        "1.2.0",
        "Depends on commands in the transaction",
        "Executes all commands in a transaction.",
    ),
    command(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        T,
        (0, 0, 0),
        Exec::Conn(discard),
        "transactions",
        "2.0.0",
        "O(N), when N is the number of queued commands",
        "Discards a transaction.",
    ),
    command(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        T,
        (1, -1, 1),
        Exec::MultiKey(watch, Merge::AllOk),
        "transactions",
        "2.2.0",
        "O(1) for every key.",
        "Monitors changes to keys to determine the execution of a transaction.",
    ),
    command(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        T,
        (0, 0, 0),
        Exec::AllShards(unwatch, Merge::AllOk),
        "transactions",
        "2.2.0",
        "O(1)",
        "Forgets about watched keys of a transaction.",
    ),
];

fn multi(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    let mut s = ctx.client.state.borrow_mut();
    if s.multi.is_some() {
        return reply.error(NESTED_MULTI);
    }
    s.multi = Some(Multi::default());
    reply.ok();
}

/// Drops the queue; the connection also unwatches (it reaches the shards).
fn discard(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    if ctx.client.state.borrow_mut().multi.take().is_none() {
        return reply.error(DISCARD_WITHOUT_MULTI);
    }
    reply.ok();
}

fn watch(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    crate::tx::watch::watch(ctx.shard, ctx.client_id, ctx.db, &args[1..], ctx.now);
    reply.ok();
}

fn unwatch(ctx: &mut ShardCtx, _: &[Bytes], reply: &mut Reply) {
    ctx.shard.watches.unwatch(ctx.client_id);
    reply.ok();
}
