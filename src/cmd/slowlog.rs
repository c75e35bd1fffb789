//! SLOWLOG GET/LEN/RESET/HELP over the server's slow log
//! (`server::slowlog`).

use bytes::Bytes;

use super::{command, container, flag::*, parse_int, Command, ConnCtx, Exec};
use crate::cmd::connection::help_reply;
use crate::resp::Reply;

const ADM: u32 = ADMIN | LOADING | STALE;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[("slowlog|get", "[count:integer]")];

pub static COMMANDS: &[Command] =
    &[container("slowlog", 0, "server", "2.2.12", "A container for slow log commands.", SLOWLOG)];

static SLOWLOG: &[Command] = &[
    command(
        "slowlog|get",
        -2,
        ADM,
        0,
        (0, 0, 0),
        Exec::Conn(get),
        "server",
        "2.2.12",
        "O(N) where N is the number of entries returned",
        "Returns the slow log's entries.",
    ),
    command(
        "slowlog|len",
        2,
        ADM,
        0,
        (0, 0, 0),
        Exec::Conn(len),
        "server",
        "2.2.12",
        "O(1)",
        "Returns the number of entries in the slow log.",
    ),
    command(
        "slowlog|reset",
        2,
        ADM,
        0,
        (0, 0, 0),
        Exec::Conn(reset),
        "server",
        "2.2.12",
        "O(N) where N is the number of entries in the slowlog",
        "Clears all entries from the slow log.",
    ),
    command(
        "slowlog|help",
        2,
        LOADING | STALE,
        0,
        (0, 0, 0),
        Exec::Conn(help),
        "server",
        "6.2.0",
        "O(1)",
        "Show helpful text about the different subcommands",
    ),
];

/// SLOWLOG GET [count]: the newest `count` entries (10; -1 for all).
fn get(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    if args.len() > 3 {
        let sub = String::from_utf8_lossy(&args[1]);
        return reply
            .error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try SLOWLOG HELP."));
    }
    let count = match args.get(2).map(|a| parse_int(a)) {
        None => Some(10),
        Some(Some(-1)) => None,
        Some(Some(n)) if n >= 0 => Some(n as usize),
        Some(_) => return reply.error("ERR count should be greater than or equal to -1"),
    };
    let entries = ctx.shared.slowlog.newest(count);
    reply.array(entries.len());
    for e in entries {
        reply.array(6);
        reply.int(e.id as i64);
        reply.int(e.time as i64);
        reply.int(e.usec as i64);
        reply.array(e.args.len());
        for a in &e.args {
            reply.bulk(a);
        }
        reply.bulk(e.peer.as_bytes());
        reply.bulk(&e.name);
    }
}

fn len(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    reply.int(ctx.shared.slowlog.len() as i64);
}

fn reset(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    ctx.shared.slowlog.reset();
    reply.ok();
}

fn help(_: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    help_reply(
        reply,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}
