//! Pub/Sub commands: SUBSCRIBE and friends change the connection's own
//! subscriptions (kept on its home shard, see [`crate::pubsub`]); PUBLISH
//! runs on every shard, each delivering to its own subscribers; PUBSUB's
//! introspection asks every shard and combines the answers.

use std::rc::Rc;

use bytes::Bytes;

use super::{command, container, flag::*, Command, ConnCtx, Exec, Merge};
use crate::pubsub::{self, Kind, Registry};
use crate::resp::Reply;
use crate::server::cross::CrossFuture;
use crate::server::dispatch::Target;
use crate::server::Core;
use crate::shard::ShardCtx;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("subscribe", "channel..."),
    ("unsubscribe", "[channel...]"),
    ("psubscribe", "pattern:pattern..."),
    ("punsubscribe", "[pattern:pattern...]"),
    ("publish", "channel message"),
    ("pubsub|channels", "[pattern:pattern]"),
    ("pubsub|numsub", "[channel...]"),
];

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const INTROSPECT: u32 = PUBSUB | LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    command(
        "subscribe",
        -2,
        SUB,
        0,
        (0, 0, 0),
        Exec::Conn(subscribe),
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of channels to subscribe to.",
        "Listens for messages published to channels.",
    ),
    command(
        "unsubscribe",
        -1,
        SUB,
        0,
        (0, 0, 0),
        Exec::Conn(unsubscribe),
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of channels to unsubscribe.",
        "Stops listening to messages posted to channels.",
    ),
    command(
        "psubscribe",
        -2,
        SUB,
        0,
        (0, 0, 0),
        Exec::Conn(psubscribe),
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of patterns to subscribe to.",
        "Listens for messages published to channels that match one or more patterns.",
    ),
    command(
        "punsubscribe",
        -1,
        SUB,
        0,
        (0, 0, 0),
        Exec::Conn(punsubscribe),
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of patterns to unsubscribe.",
        "Stops listening to messages published to channels that match one or more patterns.",
    ),
    command(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        0,
        (0, 0, 0),
        Exec::AllShards(publish, Merge::SumInt),
        "pubsub",
        "2.0.0",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
        "Posts a message to a channel.",
    ),
    container("pubsub", 0, "pubsub", "2.8.0", "A container for Pub/Sub commands.", PUBSUB_SUBCOMMANDS),
];

static PUBSUB_SUBCOMMANDS: &[Command] = &[
    command(
        "pubsub|channels",
        -2,
        INTROSPECT,
        0,
        (0, 0, 0),
        Exec::Server(channels),
        "pubsub",
        "2.8.0",
        "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
        "Returns the active channels.",
    ),
    command(
        "pubsub|numpat",
        2,
        INTROSPECT,
        0,
        (0, 0, 0),
        Exec::Server(numpat),
        "pubsub",
        "2.8.0",
        "O(1)",
        "Returns a count of unique pattern subscriptions.",
    ),
    command(
        "pubsub|numsub",
        -2,
        INTROSPECT,
        0,
        (0, 0, 0),
        Exec::Server(numsub),
        "pubsub",
        "2.8.0",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        "Returns a count of subscribers to channels.",
    ),
];

/// Runs a (un)subscription change on the connection's home shard registry.
fn change(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply, kind: Kind, on: bool) {
    let core = Core::current();
    let mut shard = core.shard.borrow_mut();
    let mut subs = ctx.client.pubsub.borrow_mut();
    let names = &args[1..];
    match on {
        true => pubsub::subscribe(&mut subs, &mut shard.pubsub, ctx.client.id, kind, names, reply),
        false => pubsub::unsubscribe(&mut subs, &mut shard.pubsub, ctx.client.id, kind, names, reply),
    }
}

fn subscribe(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    change(ctx, args, reply, Kind::Channel, true)
}

fn unsubscribe(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    change(ctx, args, reply, Kind::Channel, false)
}

fn psubscribe(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    change(ctx, args, reply, Kind::Pattern, true)
}

fn punsubscribe(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    change(ctx, args, reply, Kind::Pattern, false)
}

/// Each shard delivers to its own subscribers; the counts add up.
fn publish(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let limit = ctx.shard.config.get().output_buffer_limit(crate::config::ClientClass::Pubsub);
    reply.int(ctx.shard.pubsub.publish(Kind::Channel, &args[1], &args[2], limit, ctx.now) as i64);
}

/// Drops every subscription of the connection, without replies: RESET and
/// a closing connection.
pub fn forget(core: &Core, client: &crate::server::client::Client) {
    let mut subs = client.pubsub.borrow_mut();
    if subs.active() {
        pubsub::unsubscribe_all(&mut subs, &mut core.shard.borrow_mut().pubsub, client.id);
    }
}

/// Asks every shard's registry the same question; None if a shard is gone.
async fn gather<T: Send + 'static>(
    core: &Core,
    ask: impl Fn(&Registry) -> T + Send + Clone + 'static,
) -> Option<Vec<T>> {
    core.gather(move |shard| ask(&shard.pubsub)).await
}

fn encode(t: Target, write: impl FnOnce(&mut Reply)) -> Vec<u8> {
    let mut buf = Vec::new();
    write(&mut Reply::new(&mut buf, t.proto));
    buf
}

/// Redis's `addReplySubcommandSyntaxError`.
fn syntax_error(t: Target, args: &[Bytes]) -> Vec<u8> {
    let sub = String::from_utf8_lossy(&args[1]);
    let sub: String = sub.chars().take(128).collect();
    let msg = format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.", sub);
    encode(t, |r| r.error(&msg))
}

fn unavailable(t: Target) -> Vec<u8> {
    encode(t, |r| r.error(crate::server::cross::UNAVAILABLE))
}

/// The union of every shard's names: a channel subscribed on two shards is
/// one channel.
async fn union(core: &Core, kind: Kind, pattern: Option<Bytes>) -> Option<Vec<Bytes>> {
    let lists = gather(core, move |reg| reg.names(kind, pattern.as_deref())).await?;
    let mut seen = indexmap::IndexSet::<Bytes, ahash::RandomState>::default();
    seen.extend(lists.into_iter().flatten());
    Some(seen.into_iter().collect())
}

/// PUBSUB CHANNELS [pattern]
fn channels(core: Rc<Core>, t: Target, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        if args.len() > 3 {
            return syntax_error(t, &args);
        }
        let Some(names) = union(&core, Kind::Channel, args.get(2).cloned()).await else { return unavailable(t) };
        encode(t, |r| {
            r.array(names.len());
            for n in &names {
                r.bulk(n);
            }
        })
    })
}

/// PUBSUB NUMPAT: distinct patterns, whoever subscribes to them.
fn numpat(core: Rc<Core>, t: Target, _: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let Some(patterns) = union(&core, Kind::Pattern, None).await else { return unavailable(t) };
        encode(t, |r| r.int(patterns.len() as i64))
    })
}

/// PUBSUB NUMSUB [channel ...]: each channel's subscribers on every shard.
fn numsub(core: Rc<Core>, t: Target, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let names: Vec<Bytes> = args[2..].to_vec();
        let asked = names.clone();
        let counts =
            gather(&core, move |reg| asked.iter().map(|n| reg.subscribers(Kind::Channel, n)).collect::<Vec<_>>());
        let Some(counts) = counts.await else { return unavailable(t) };
        encode(t, |r| {
            // A flat array in RESP3 too (Redis's reply is not a map).
            r.array(names.len() * 2);
            for (i, n) in names.iter().enumerate() {
                r.bulk(n);
                r.int(counts.iter().map(|c| c[i]).sum::<usize>() as i64);
            }
        })
    })
}
