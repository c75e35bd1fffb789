//! Persistence commands: SAVE, BGSAVE, BGREWRITEAOF (and DEBUG RELOAD, routed
//! here from DEBUG).
//!
//! A snapshot never forks and never stops the shards ([`crate::persist::snapshot`]),
//! so SAVE differs from BGSAVE only in answering once the snapshot is
//! complete; and since the log is compacted by taking a snapshot (the
//! segments before it go), BGREWRITEAOF is a snapshot too.

use std::rc::Rc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{acl, command, err, flag::*, Command, Exec};
use crate::persist::snapshot::{self, Reason};
use crate::resp::Reply;
use crate::server::cross::CrossFuture;
use crate::server::dispatch::Target;
use crate::server::Core;

const ADMIN_ACL: u32 = acl::ADMIN | acl::DANGEROUS;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[("bgsave", "[SCHEDULE]")];

pub static COMMANDS: &[Command] = &[
    command(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        ADMIN_ACL,
        (0, 0, 0),
        Exec::Server(save),
        "server",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
        "Synchronously saves the database(s) to disk.",
    ),
    command(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        ADMIN_ACL,
        (0, 0, 0),
        Exec::Server(bgsave),
        "server",
        "1.0.0",
        "O(1)",
        "Asynchronously saves the database(s) to disk.",
    ),
    command(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        ADMIN_ACL,
        (0, 0, 0),
        Exec::Server(bgrewriteaof),
        "server",
        "1.0.0",
        "O(1)",
        "Asynchronously rewrites the append-only file to disk.",
    ),
];

/// DEBUG RELOAD's entry: DEBUG's facts, run as server-wide work (the
/// connection routes `DEBUG RELOAD` here; DEBUG's other subcommands run on
/// the shards).
pub static DEBUG_RELOAD: Command = command(
    "debug",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE,
    0,
    (0, 0, 0),
    Exec::Server(debug_reload),
    "server",
    "1.0.0",
    "Depends on subcommand.",
    "A container for debugging commands.",
);

const IN_PROGRESS: &str = "ERR Background save already in progress";

fn encode(t: Target, write: impl FnOnce(&mut Reply)) -> Vec<u8> {
    let mut buf = Vec::new();
    write(&mut Reply::new(&mut buf, t.proto));
    buf
}

/// Starts a snapshot in the background, not waiting for it.
fn start(core: &Rc<Core>, reason: Reason) {
    let core = core.clone();
    glommio::spawn_local(async move {
        let _ = snapshot::take(&core, reason).await;
    })
    .detach();
}

fn save(core: Rc<Core>, t: Target, _: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        if core.shared.persist.saving.load(Ordering::Acquire) {
            return encode(t, |r| r.error(IN_PROGRESS));
        }
        match snapshot::take(&core, Reason::Save).await {
            Ok(()) => encode(t, |r| r.ok()),
            Err(e) => encode(t, |r| r.error(&format!("ERR {}", e))),
        }
    })
}

fn bgsave(core: Rc<Core>, t: Target, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let schedule = match args.len() {
            1 => false,
            2 if args[1].eq_ignore_ascii_case(b"schedule") => true,
            _ => return encode(t, |r| r.error(err::SYNTAX)),
        };
        let g = &core.shared.persist;
        if !g.saving.load(Ordering::Acquire) {
            start(&core, Reason::Bgsave);
            return encode(t, |r| r.simple("Background saving started"));
        }
        // As Redis: a BGSAVE under way refuses another; a rewrite under way
        // lets one be scheduled after it.
        if schedule && g.rewriting.load(Ordering::Acquire) {
            g.scheduled.store(true, Ordering::Release);
            return encode(t, |r| r.simple("Background saving scheduled"));
        }
        if g.rewriting.load(Ordering::Acquire) {
            return encode(t, |r| {
                r.error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
            });
        }
        encode(t, |r| r.error(IN_PROGRESS))
    })
}

fn bgrewriteaof(core: Rc<Core>, t: Target, _: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        let g = &core.shared.persist;
        if !g.saving.load(Ordering::Acquire) {
            start(&core, Reason::Rewrite);
            return encode(t, |r| r.simple("Background append only file rewriting started"));
        }
        if g.rewriting.load(Ordering::Acquire) {
            return encode(t, |r| r.error("ERR Background append only file rewriting already in progress"));
        }
        g.scheduled.store(true, Ordering::Release);
        encode(t, |r| r.simple("Background append only file rewriting scheduled"))
    })
}

/// DEBUG RELOAD: save, empty every shard, and load the files again.
pub fn debug_reload(core: Rc<Core>, t: Target, _: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        match snapshot::reload(&core).await {
            Ok(()) => encode(t, |r| r.ok()),
            Err(e) => encode(t, |r| r.error(&format!("ERR Error trying to load the data: {}", e))),
        }
    })
}
