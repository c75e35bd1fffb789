//! The command table: one declarative entry per command (name, arity, flags,
//! key positions, ACL categories, docs, and how it executes), which drives
//! arity checks, routing, `COMMAND`, and later persistence and ACLs.
//! One file per command family holds the handlers and that family's entries.

pub mod bitmaps;
pub mod blocking;
pub mod connection;
pub mod docs;
pub mod expire;
pub mod hashes;
pub mod introspect;
pub mod keys;
pub mod lists;
mod names;
pub mod persistence;
pub mod pubsub;
pub mod scan;
pub mod server;
pub mod sets;
pub mod slowlog;
pub mod sort;
pub mod specs;
pub mod strings;
pub mod transactions;
pub mod zsets;

use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::resp::Reply;
use crate::server::client::Client;
use crate::server::shared::Shared;
use crate::shard::ShardCtx;
use names::NameTable;

/// Command flags, as `COMMAND INFO` names them (Redis 7 order).
pub mod flag {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
    pub const NO_MULTI: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
    pub const MOVABLEKEYS: u32 = 1 << 17;
    /// Refused while the data loads asynchronously (replication); shown only.
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLEKEYS, "movablekeys"),
    ];
}

/// ACL categories. A command lists its data-type / topic categories; the
/// ones implied by its flags (`@write`, `@read`, `@fast`/`@slow`, `@admin`,
/// `@dangerous`, …) are added as Redis's `setImplicitACLCategories` does.
pub mod acl {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const READ: u32 = 1 << 1;
    pub const WRITE: u32 = 1 << 2;
    pub const SET: u32 = 1 << 3;
    pub const SORTEDSET: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const STRING: u32 = 1 << 7;
    pub const BITMAP: u32 = 1 << 8;
    pub const HYPERLOGLOG: u32 = 1 << 9;
    pub const GEO: u32 = 1 << 10;
    pub const STREAM: u32 = 1 << 11;
    pub const PUBSUB: u32 = 1 << 12;
    pub const ADMIN: u32 = 1 << 13;
    pub const FAST: u32 = 1 << 14;
    pub const SLOW: u32 = 1 << 15;
    pub const BLOCKING: u32 = 1 << 16;
    pub const DANGEROUS: u32 = 1 << 17;
    pub const CONNECTION: u32 = 1 << 18;
    pub const TRANSACTION: u32 = 1 << 19;
    pub const SCRIPTING: u32 = 1 << 20;

    pub const NAMES: &[&str] = &[
        "keyspace",
        "read",
        "write",
        "set",
        "sortedset",
        "list",
        "hash",
        "string",
        "bitmap",
        "hyperloglog",
        "geo",
        "stream",
        "pubsub",
        "admin",
        "fast",
        "slow",
        "blocking",
        "dangerous",
        "connection",
        "transaction",
        "scripting",
    ];
}

/// A handler that runs on the shard owning its keys, with exclusive access.
pub type Handler = fn(&mut ShardCtx, &[Bytes], &mut Reply);

/// A handler that runs in the connection, on the client's home core.
pub type ConnHandler = fn(&mut ConnCtx, &[Bytes], &mut Reply);

/// Combines the per-shard replies of a command that ran on several shards.
pub type MergeFn = fn(&mut ConnCtx, &[Bytes], &[&[u8]], &mut Reply);

#[derive(Clone, Copy)]
pub enum Exec {
    /// Runs on the shard that owns its (first) key; keyless ones on the home shard.
    Keyed(Handler),
    /// Keys may live on several shards: each shard runs the same command over
    /// its own keys (key groups of `step` arguments), and the replies merge.
    MultiKey(Handler, Merge),
    /// Runs on every shard, replies merge.
    AllShards(Handler, Merge),
    /// Needs the values of keys on several shards together (RENAME, BITOP…):
    /// the handler when all its keys are on one shard, else the coordinator
    /// (see [`crate::server::cross`]).
    Cross(Handler, crate::server::cross::Coordinator),
    /// Runs in the connection layer: connection state, server-wide settings.
    Conn(ConnHandler),
    /// A blocking command (BLPOP…): served at once or when its keys get
    /// data, see [`crate::shard::blocking`].
    Blocking(&'static crate::shard::blocking::BlockSpec),
    /// Server-wide work that takes time (SAVE, BGSAVE, DEBUG RELOAD): run
    /// by the connection, asynchronously, after the commands before it.
    Server(crate::server::cross::ServerJob),
    /// A container (`CLIENT`, `CONFIG`, …): dispatches on its subcommand.
    Container,
    /// EXEC: runs the client's queued transaction (see [`crate::tx::exec`]).
    Tx,
}

#[derive(Clone, Copy)]
pub enum Merge {
    /// Integer replies add up (DEL, EXISTS, DBSIZE).
    SumInt,
    /// Every shard said `+OK` (MSET, FLUSHALL).
    AllOk,
    /// Each shard answered an array with one element per key it owned; the
    /// elements go back in the client's key order (MGET).
    Interleave,
    /// Each shard answered an array; the result is all their elements (KEYS).
    Concat,
    Custom(MergeFn),
}

#[derive(Clone, Copy)]
pub struct Doc {
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: &'static str,
}

pub struct Command {
    /// Lowercase; subcommands use Redis's full name, `client|list`.
    pub name: &'static str,
    /// Exact argument count if positive, minimum if negative (name included).
    pub arity: i32,
    pub flags: u32,
    /// Explicit ACL categories; see [`Command::acl_categories`].
    pub acl: u32,
    /// Positions of the keys: first, last (negative counts from the end), step.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub exec: Exec,
    pub doc: Doc,
    pub subcommands: &'static [Command],
    /// For commands whose keys `first/last/step` cannot describe (a
    /// `numkeys` argument: LMPOP, ZUNIONSTORE, SINTERCARD…).
    pub movable_keys: Option<KeysFn>,
    /// For cross-shard commands that also read keys their arguments do not
    /// name (SORT's BY/GET patterns): true when these arguments do, so the
    /// coordinator runs even if the named keys share a shard.
    pub coordinated_when: Option<fn(&[Bytes]) -> bool>,
}

/// Finds a command's keys from its arguments, as Redis's getkeys procs do.
/// Lenient: a malformed `numkeys` yields no keys, and the handler, which
/// validates everything, reports the error.
pub type KeysFn = fn(&[Bytes]) -> Vec<usize>;

/// The keys counted by a `numkeys` argument at `at` (`LMPOP 2 k1 k2 LEFT`:
/// at = 1).
pub fn keys_after_numkeys(args: &[Bytes], at: usize) -> Vec<usize> {
    match args.get(at).and_then(|n| parse_int(n)) {
        Some(n) if n > 0 && (n as u64) < (args.len() - at) as u64 => (at + 1..at + 1 + n as usize).collect(),
        _ => Vec::new(),
    }
}

impl Command {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    pub fn acl_categories(&self) -> u32 {
        let mut c = self.acl;
        if self.has(flag::WRITE) {
            c |= acl::WRITE;
        }
        if self.has(flag::READONLY) && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if self.has(flag::ADMIN) {
            c |= acl::ADMIN | acl::DANGEROUS;
        }
        if self.has(flag::PUBSUB) {
            c |= acl::PUBSUB;
        }
        if self.has(flag::FAST) {
            c |= acl::FAST;
        }
        if self.has(flag::BLOCKING) {
            c |= acl::BLOCKING;
        }
        if c & acl::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }

    /// Argument indexes of the keys in `args` (name included).
    pub fn key_positions(&self, args: &[Bytes]) -> KeyPositions {
        if let Some(find) = self.movable_keys {
            return KeyPositions::Found(find(args).into_iter());
        }
        let argc = args.len();
        let (first, step) = (self.first_key, self.step.max(1) as usize);
        let last = if self.last_key < 0 { argc as i32 + self.last_key } else { self.last_key.min(argc as i32 - 1) };
        let (start, end) = if first > 0 && last >= first { (first as usize, last as usize + 1) } else { (0, 0) };
        KeyPositions::Range((start..end).step_by(step))
    }

    /// This entry with its coordinator forced when `reads_elsewhere` says so.
    pub const fn coordinated_when(self, reads_elsewhere: fn(&[Bytes]) -> bool) -> Command {
        Command { coordinated_when: Some(reads_elsewhere), ..self }
    }

    /// This entry with its keys found by `find` (see [`KeysFn`]).
    pub const fn keys_from(self, find: KeysFn) -> Command {
        Command { movable_keys: Some(find), flags: self.flags | flag::MOVABLEKEYS, ..self }
    }

    /// The command name for error messages: `get`, `client|setname`.
    pub fn full_name(&self) -> &'static str {
        self.name
    }
}

/// Argument indexes of a command's keys.
pub enum KeyPositions {
    Range(std::iter::StepBy<std::ops::Range<usize>>),
    Found(std::vec::IntoIter<usize>),
}

impl Iterator for KeyPositions {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            KeyPositions::Range(r) => r.next(),
            KeyPositions::Found(v) => v.next(),
        }
    }
}

/// Builds a table entry; families list theirs with it, one line each plus docs.
#[allow(clippy::too_many_arguments)]
pub const fn command(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: u32,
    keys: (i32, i32, i32),
    exec: Exec,
    group: &'static str,
    since: &'static str,
    complexity: &'static str,
    summary: &'static str,
) -> Command {
    Command {
        name,
        arity,
        flags,
        acl,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        exec,
        doc: Doc { summary, since, group, complexity },
        subcommands: &[],
        movable_keys: None,
        coordinated_when: None,
    }
}

/// Builds a container entry (`CLIENT`, `CONFIG`, …).
pub const fn container(
    name: &'static str,
    acl: u32,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    subcommands: &'static [Command],
) -> Command {
    Command {
        name,
        arity: -2,
        flags: 0,
        acl,
        first_key: 0,
        last_key: 0,
        step: 0,
        exec: Exec::Container,
        doc: Doc { summary, since, group, complexity: "Depends on subcommand." },
        subcommands,
        movable_keys: None,
        coordinated_when: None,
    }
}

/// What the connection layer hands to [`ConnHandler`]s and merges.
pub struct ConnCtx<'a> {
    pub client: &'a Rc<Client>,
    pub shared: &'a Arc<Shared>,
    pub shard_id: usize,
    /// Set by handlers; the connection acts on it once the batch is written.
    pub after: &'a mut After,
}

/// What a connection does after writing the current batch's replies.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub close: bool,
    pub monitor: bool,
}

/// A command's place in the registry: its entry and a dense id for stats.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub cmd: &'static Command,
    pub id: u16,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.cmd.name, self.id)
    }
}

struct Named {
    resolved: Resolved,
    subs: NameTable<Resolved>,
}

pub struct Registry {
    by_name: NameTable<Named>,
    /// Every entry, subcommands included, indexed by id.
    all: Vec<&'static Command>,
    /// Top-level entries in table order, for `COMMAND`.
    top: Vec<&'static Command>,
}

/// Every family's table, in the order `COMMAND` lists them.
fn families() -> [&'static [Command]; 17] {
    [
        strings::COMMANDS,
        lists::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
        sort::COMMANDS,
        blocking::COMMANDS,
        bitmaps::COMMANDS,
        keys::COMMANDS,
        expire::COMMANDS,
        connection::COMMANDS,
        transactions::COMMANDS,
        pubsub::COMMANDS,
        server::COMMANDS,
        slowlog::COMMANDS,
        persistence::COMMANDS,
        introspect::COMMANDS,
    ]
}

/// Every family's argument specs for `COMMAND DOCS`.
pub(crate) fn family_args() -> impl Iterator<Item = &'static [(&'static str, &'static str)]> {
    [
        strings::ARGS,
        lists::ARGS,
        hashes::ARGS,
        sets::ARGS,
        zsets::ARGS,
        sort::ARGS,
        blocking::ARGS,
        bitmaps::ARGS,
        keys::ARGS,
        expire::ARGS,
        connection::ARGS,
        transactions::ARGS,
        pubsub::ARGS,
        server::ARGS,
        slowlog::ARGS,
        persistence::ARGS,
        introspect::ARGS,
    ]
    .into_iter()
}

/// Key-spec flags (`RW`, `access`, `insert`…) of the families that list
/// them; `COMMAND INFO` infers the others' from the command flags, and
/// takes whole key specs from [`specs::KEY_SPECS`] where one range with one
/// set of flags cannot describe a command's keys.
pub(crate) fn family_key_flags() -> impl Iterator<Item = &'static [(&'static str, &'static [&'static str])]> {
    [
        strings::KEY_FLAGS,
        lists::KEY_FLAGS,
        hashes::KEY_FLAGS,
        sets::KEY_FLAGS,
        zsets::KEY_FLAGS,
        sort::KEY_FLAGS,
        blocking::KEY_FLAGS,
        pubsub::KEY_FLAGS,
    ]
    .into_iter()
}

pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let (mut all, mut top, mut named) = (Vec::new(), Vec::new(), Vec::new());
        for cmd in families().into_iter().flatten() {
            let resolved = Resolved { cmd, id: all.len() as u16 };
            all.push(cmd);
            top.push(cmd);
            let mut subs = Vec::new();
            for sub in cmd.subcommands {
                let short = sub.name.rsplit('|').next().unwrap_or(sub.name);
                subs.push((short, Resolved { cmd: sub, id: all.len() as u16 }));
                all.push(sub);
            }
            named.push((cmd.name, Named { resolved, subs: NameTable::new(subs) }));
        }
        Registry { by_name: NameTable::new(named), all, top }
    })
}

/// Why a request could not be matched to a runnable command; the texts are
/// Redis's own.
#[derive(Debug, Clone)]
pub enum LookupError {
    Unknown(Vec<u8>),
    UnknownSubcommand(Vec<u8>),
    Arity(Resolved),
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::Unknown(s) | LookupError::UnknownSubcommand(s) => f.write_str(&String::from_utf8_lossy(s)),
            LookupError::Arity(name) => {
                write!(f, "ERR wrong number of arguments for '{}' command", name.cmd.name)
            }
        }
    }
}

impl Registry {
    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    pub fn by_id(&self, id: u16) -> &'static Command {
        self.all[id as usize]
    }

    pub fn all(&self) -> &[&'static Command] {
        &self.all
    }

    pub fn top_level(&self) -> &[&'static Command] {
        &self.top
    }

    /// A top-level command by name, case-insensitively.
    pub fn find(&self, name: &[u8]) -> Option<&'static Command> {
        self.named(name).map(|n| n.resolved.cmd)
    }

    fn named(&self, name: &[u8]) -> Option<&Named> {
        self.by_name.get(name)
    }

    /// Resolves `args` (name first) to a runnable command, checking arity.
    pub fn lookup(&self, args: &[Bytes]) -> Result<Resolved, LookupError> {
        let name = &args[0];
        let Some(named) = self.named(name) else {
            return Err(LookupError::Unknown(unknown_command(args)));
        };
        let mut r = named.resolved;
        // `COMMAND` alone is a command too; a bare container is an arity error.
        let bare_ok = args.len() == 1 && !matches!(r.cmd.exec, Exec::Container);
        if !named.subs.is_empty() && !bare_ok {
            if args.len() < 2 {
                return Err(LookupError::Arity(r));
            }
            r = match named.subs.get(&args[1]) {
                Some(s) => *s,
                None => {
                    let mut msg = b"ERR unknown subcommand '".to_vec();
                    msg.extend_from_slice(c_text(&args[1], 128));
                    msg.extend_from_slice(format!("'. Try {} HELP.", r.cmd.name.to_ascii_uppercase()).as_bytes());
                    return Err(LookupError::UnknownSubcommand(msg));
                }
            };
        }
        let (arity, argc) = (r.cmd.arity, args.len() as i32);
        if (arity > 0 && argc != arity) || argc < -arity {
            return Err(LookupError::Arity(r));
        }
        Ok(r)
    }
}

/// What C's `%.Ns` prints of client bytes: up to a NUL, at most `max`.
fn c_text(b: &[u8], max: usize) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len()).min(max);
    &b[..end]
}

/// `unknown command 'foo', with args beginning with: 'a' 'b' ` — Redis stops
/// adding arguments once the list passes 128 characters.
fn unknown_command(args: &[Bytes]) -> Vec<u8> {
    let mut list = Vec::new();
    for a in &args[1..] {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend_from_slice(c_text(a, room));
        list.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(c_text(&args[0], 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&list);
    msg
}

impl LookupError {
    /// Writes the error reply, client bytes verbatim.
    pub fn write(&self, reply: &mut Reply) {
        match self {
            LookupError::Unknown(msg) | LookupError::UnknownSubcommand(msg) => reply.error_bytes(msg),
            LookupError::Arity(_) => reply.error(&self.to_string()),
        }
    }
}

/// Shared reply texts, Redis's exact wording.
pub mod err {
    pub const SYNTAX: &str = "ERR syntax error";
    pub const NOT_INT: &str = "ERR value is not an integer or out of range";
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const NOAUTH: &str = "NOAUTH Authentication required.";
    pub const DB_RANGE: &str = "ERR DB index is out of range";
    pub const NO_SUCH_KEY: &str = "ERR no such key";
    pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
}

/// Parses a whole argument as Redis's `string2ll` does.
pub fn parse_int(arg: &[u8]) -> Option<i64> {
    crate::types::string::parse_i64(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn lookup_is_case_insensitive_and_checks_arity() {
        let r = registry();
        assert_eq!(r.lookup(&args(&["GeT", "k"])).unwrap().cmd.name, "get");
        assert_eq!(
            r.lookup(&args(&["get"])).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            r.lookup(&args(&["client", "setname"])).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'client|setname' command"
        );
    }

    #[test]
    fn unknown_command_and_subcommand_texts() {
        let r = registry();
        assert_eq!(
            r.lookup(&args(&["foo", "a", "b"])).unwrap_err().to_string(),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            r.lookup(&args(&["foo"])).unwrap_err().to_string(),
            "ERR unknown command 'foo', with args beginning with: "
        );
        assert_eq!(
            r.lookup(&args(&["client", "bar"])).unwrap_err().to_string(),
            "ERR unknown subcommand 'bar'. Try CLIENT HELP."
        );
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let r = registry();
        let mset = r.find(b"mset").unwrap();
        assert_eq!(mset.key_positions(&args(&["mset", "a", "1", "b", "2"])).collect::<Vec<_>>(), [1, 3]);
        let del = r.find(b"del").unwrap();
        assert_eq!(del.key_positions(&args(&["del", "a", "b", "c"])).collect::<Vec<_>>(), [1, 2, 3]);
        let ping = r.find(b"ping").unwrap();
        assert_eq!(ping.key_positions(&args(&["ping", "x"])).count(), 0);
    }

    #[test]
    fn numkeys_finds_only_well_formed_key_lists() {
        let a = args(&["lmpop", "2", "a", "b", "LEFT"]);
        assert_eq!(keys_after_numkeys(&a, 1), [2, 3]);
        assert!(keys_after_numkeys(&args(&["lmpop", "3", "a", "b"]), 1).is_empty());
        assert!(keys_after_numkeys(&args(&["lmpop", "0", "a"]), 1).is_empty());
        assert!(keys_after_numkeys(&args(&["lmpop", "x", "a"]), 1).is_empty());
        assert!(keys_after_numkeys(&args(&["lmpop"]), 1).is_empty());
    }
}
