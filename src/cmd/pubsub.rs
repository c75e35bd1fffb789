//! Pub/Sub commands: SUBSCRIBE and friends change the connection's own
//! subscriptions and the server-wide directory (see [`crate::pubsub`]);
//! PUBLISH and SPUBLISH deliver from the publisher's home shard straight to
//! every subscriber; PUBSUB reads the directory.

use bytes::Bytes;

use super::{command, container, flag::*, Command, ConnCtx, Exec};
use crate::pubsub::{self, Kind};
use crate::resp::Reply;
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
    ("ssubscribe", "shardchannel..."),
    ("sunsubscribe", "[shardchannel...]"),
    ("spublish", "shardchannel message"),
    ("pubsub|shardchannels", "[pattern:pattern]"),
    ("pubsub|shardnumsub", "[shardchannel...]"),
];

/// Key-spec flags for `COMMAND INFO`: shard channels sit where keys do (so
/// cluster clients route them by slot) but are not keys.
pub static KEY_FLAGS: &[(&str, &[&str])] =
    &[("ssubscribe", &["not_key"]), ("sunsubscribe", &["not_key"]), ("spublish", &["not_key"])];

/// The commands whose replies are pub/sub confirmations, which Redis
/// writes as pushes: CLIENT REPLY OFF and SKIP do not silence them.
pub fn confirms_as_push(name: &str) -> bool {
    matches!(name, "subscribe" | "psubscribe" | "ssubscribe" | "unsubscribe" | "punsubscribe" | "sunsubscribe")
}

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
        Exec::Keyed(publish),
        "pubsub",
        "2.0.0",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
        "Posts a message to a channel.",
    ),
    command(
        "ssubscribe",
        -2,
        SUB,
        0,
        (1, -1, 1),
        Exec::Conn(ssubscribe),
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of shard channels to subscribe to.",
        "Listens for messages published to shard channels.",
    ),
    command(
        "sunsubscribe",
        -1,
        SUB,
        0,
        (1, -1, 1),
        Exec::Conn(sunsubscribe),
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of shard channels to unsubscribe.",
        "Stops listening to messages posted to shard channels.",
    ),
    command(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        0,
        (1, 1, 1),
        Exec::Keyed(spublish),
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        "Post a message to a shard channel",
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
        Exec::Conn(channels),
        "pubsub",
        "2.8.0",
        "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
        "Returns the active channels.",
    ),
    command(
        "pubsub|help",
        2,
        LOADING | STALE,
        0,
        (0, 0, 0),
        Exec::Conn(help),
        "pubsub",
        "6.2.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
    command(
        "pubsub|numpat",
        2,
        INTROSPECT,
        0,
        (0, 0, 0),
        Exec::Conn(numpat),
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
        Exec::Conn(numsub),
        "pubsub",
        "2.8.0",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        "Returns a count of subscribers to channels.",
    ),
    command(
        "pubsub|shardchannels",
        -2,
        INTROSPECT,
        0,
        (0, 0, 0),
        Exec::Conn(shardchannels),
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
        "Returns the active shard channels.",
    ),
    command(
        "pubsub|shardnumsub",
        -2,
        INTROSPECT,
        0,
        (0, 0, 0),
        Exec::Conn(shardnumsub),
        "pubsub",
        "7.0.0",
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        "Returns the count of subscribers of shard channels.",
    ),
];

/// Changes the connection's subscriptions and the server's directory.
fn change(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply, kind: Kind, on: bool) {
    let mut subs = ctx.client.pubsub.borrow_mut();
    let (dir, names) = (&ctx.shared.pubsub, &args[1..]);
    match on {
        true => pubsub::subscribe(&mut subs, dir, ctx.client.id, kind, names, reply),
        false => pubsub::unsubscribe(&mut subs, dir, ctx.client.id, kind, names, reply),
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

fn ssubscribe(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    change(ctx, args, reply, Kind::Shard, true)
}

fn sunsubscribe(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    change(ctx, args, reply, Kind::Shard, false)
}

/// Runs on the publisher's home shard (the router does not send pub/sub
/// commands to their channel's shard: a channel is not a key).
fn publish(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    deliver(ctx, Kind::Channel, args, reply)
}

fn spublish(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    deliver(ctx, Kind::Shard, args, reply)
}

fn deliver(ctx: &mut ShardCtx, kind: Kind, args: &[Bytes], reply: &mut Reply) {
    let limit = ctx.shard.config.get().output_buffer_limit(crate::config::ClientClass::Pubsub);
    reply.int(ctx.shard.shared.pubsub.publish(kind, &args[1], &args[2], limit, ctx.now) as i64);
}

/// Drops every subscription of the connection, without replies: RESET and
/// a closing connection.
pub fn forget(shared: &crate::server::shared::Shared, client: &crate::server::client::Client) {
    let mut subs = client.pubsub.borrow_mut();
    if subs.active() {
        pubsub::unsubscribe_all(&mut subs, &shared.pubsub, client.id);
    }
}

/// Redis's `addReplySubcommandSyntaxError`.
fn syntax_error(args: &[Bytes], reply: &mut Reply) {
    let sub = String::from_utf8_lossy(&args[1]);
    let sub: String = sub.chars().take(128).collect();
    reply.error(&format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.", sub))
}

/// PUBSUB CHANNELS / SHARDCHANNELS [pattern]
fn list(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply, kind: Kind) {
    if args.len() > 3 {
        return syntax_error(args, reply);
    }
    let names = ctx.shared.pubsub.names(kind, args.get(2).map(|p| &p[..]));
    reply.array(names.len());
    for n in &names {
        reply.bulk(n);
    }
}

/// PUBSUB NUMSUB / SHARDNUMSUB [channel ...]: a flat array in RESP3 too
/// (Redis's reply is not a map).
fn count(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply, kind: Kind) {
    reply.array((args.len() - 2) * 2);
    for n in &args[2..] {
        reply.bulk(n);
        reply.int(ctx.shared.pubsub.subscribers(kind, n) as i64);
    }
}

fn channels(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    list(ctx, args, reply, Kind::Channel)
}

fn shardchannels(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    list(ctx, args, reply, Kind::Shard)
}

fn numsub(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    count(ctx, args, reply, Kind::Channel)
}

fn shardnumsub(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    count(ctx, args, reply, Kind::Shard)
}

/// PUBSUB NUMPAT: distinct patterns, whoever subscribes to them.
fn numpat(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    reply.int(ctx.shared.pubsub.count(Kind::Pattern) as i64)
}

fn help(_: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    super::connection::help_reply(
        reply,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
}
