//! COMMAND and its subcommands: the command table, published the way Redis
//! publishes it, so clients (redis-cli hints, cluster clients) learn arity,
//! flags and key positions from the server.

use bytes::Bytes;

use super::specs::{self, Begin, Find, KeySpec};
use super::{acl, flag, registry, Command, ConnCtx, Doc, Exec};
use crate::cmd::connection::help_reply;
use crate::glob::glob_match;
use crate::resp::Reply;

const CMD_FLAGS: u32 = flag::LOADING | flag::STALE;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("command|info", "[command-name...]"),
    ("command|docs", "[command-name...]"),
    ("command|list", "[FILTERBY filterby(MODULE module-name|ACLCAT category|PATTERN pattern:pattern)]"),
    ("command|getkeys", "command arg..."),
    ("command|getkeysandflags", "command arg..."),
];

pub static COMMANDS: &[Command] = &[Command {
    name: "command",
    arity: -1,
    flags: CMD_FLAGS,
    acl: acl::CONNECTION,
    first_key: 0,
    last_key: 0,
    step: 0,
    exec: Exec::Conn(command_all),
    doc: Doc {
        summary: "Returns detailed information about all commands.",
        since: "2.8.13",
        group: "server",
        complexity: "O(N) where N is the total number of Redis commands",
    },
    subcommands: SUBCOMMANDS,
    movable_keys: None,
    coordinated_when: None,
}];

static SUBCOMMANDS: &[Command] = &[
    super::command(
        "command|count",
        2,
        CMD_FLAGS,
        acl::CONNECTION,
        (0, 0, 0),
        Exec::Conn(count),
        "server",
        "2.8.13",
        "O(1)",
        "Returns a count of commands.",
    ),
    super::command(
        "command|info",
        -2,
        CMD_FLAGS,
        acl::CONNECTION,
        (0, 0, 0),
        Exec::Conn(info),
        "server",
        "2.8.13",
        "O(N) where N is the number of commands to look up",
        "Returns information about one, multiple or all commands.",
    ),
    super::command(
        "command|docs",
        -2,
        CMD_FLAGS,
        acl::CONNECTION,
        (0, 0, 0),
        Exec::Conn(docs),
        "server",
        "7.0.0",
        "O(N) where N is the number of commands to look up",
        "Returns documentary information about one, multiple or all commands.",
    ),
    super::command(
        "command|list",
        -2,
        CMD_FLAGS,
        acl::CONNECTION,
        (0, 0, 0),
        Exec::Conn(list),
        "server",
        "7.0.0",
        "O(N) where N is the total number of Redis commands",
        "Returns a list of command names.",
    ),
    super::command(
        "command|getkeys",
        -4,
        CMD_FLAGS,
        acl::CONNECTION,
        (0, 0, 0),
        Exec::Conn(getkeys),
        "server",
        "2.8.13",
        "O(N) where N is the number of arguments to the command",
        "Extracts the key names from an arbitrary command.",
    ),
    super::command(
        "command|getkeysandflags",
        -4,
        CMD_FLAGS,
        acl::CONNECTION,
        (0, 0, 0),
        Exec::Conn(getkeysandflags),
        "server",
        "7.0.0",
        "O(N) where N is the number of arguments to the command",
        "Extracts the key names and access flags for an arbitrary command.",
    ),
    super::command(
        "command|help",
        2,
        CMD_FLAGS,
        acl::CONNECTION,
        (0, 0, 0),
        Exec::Conn(help),
        "server",
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
];

fn command_all(_: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    let top = registry().top_level();
    reply.array(top.len());
    for cmd in top {
        command_info(cmd, reply);
    }
}

fn count(_: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    reply.int(registry().top_level().len() as i64);
}

/// A command (or `container|sub`) by name, as `COMMAND INFO/DOCS` accept it.
fn find(name: &[u8]) -> Option<&'static Command> {
    let lower = name.to_ascii_lowercase();
    let mut parts = lower.splitn(2, |&b| b == b'|');
    let top = registry().find(parts.next()?)?;
    match parts.next() {
        None => Some(top),
        Some(sub) => top.subcommands.iter().find(|s| s.name.rsplit('|').next().map(str::as_bytes) == Some(sub)),
    }
}

fn info(_: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    if args.len() == 2 {
        return command_all_info(reply);
    }
    reply.array(args.len() - 2);
    for name in &args[2..] {
        match find(name) {
            Some(cmd) => command_info(cmd, reply),
            None => reply.null(),
        }
    }
}

fn command_all_info(reply: &mut Reply) {
    let top = registry().top_level();
    reply.array(top.len());
    for cmd in top {
        command_info(cmd, reply);
    }
}

/// The 10-element entry of `COMMAND INFO` (Redis 7 layout).
fn command_info(cmd: &Command, reply: &mut Reply) {
    reply.array(10);
    reply.bulk(cmd.name.as_bytes());
    reply.int(cmd.arity as i64);
    let flags = info_flags(cmd);
    reply.set(flags.len());
    for f in flags {
        reply.simple(f);
    }
    reply.int(cmd.first_key as i64);
    reply.int(cmd.last_key as i64);
    reply.int(cmd.step as i64);
    let cats = cmd.acl_categories();
    let names: Vec<&str> =
        acl::NAMES.iter().enumerate().filter(|(i, _)| cats & (1 << i) != 0).map(|(_, n)| *n).collect();
    reply.set(names.len());
    for n in names {
        reply.simple(&format!("@{}", n));
    }
    let tips = specs::tips(cmd.name);
    reply.set(tips.len());
    for tip in tips {
        reply.bulk(tip.as_bytes());
    }
    write_key_specs(cmd, reply);
    write_subcommands_len(cmd, reply);
    for sub in cmd.subcommands {
        command_info(sub, reply);
    }
}

/// Redis's `addReplyCommandSubCommands`: none is an empty set (RESP3 `~0`),
/// some an array.
fn write_subcommands_len(cmd: &Command, reply: &mut Reply) {
    if cmd.subcommands.is_empty() {
        reply.set(0);
    } else {
        reply.array(cmd.subcommands.len());
    }
}

/// Access flags of the keys of a command [`specs::KEY_SPECS`] does not
/// list: its family's `KEY_FLAGS`, else what its command flags imply.
fn key_flags(cmd: &Command) -> &'static [&'static str] {
    if let Some((_, flags)) = super::family_key_flags().flatten().find(|(name, _)| *name == cmd.name) {
        return flags;
    }
    if cmd.has(flag::READONLY) {
        &["RO", "access"]
    } else {
        &["RW", "access", "update"]
    }
}

/// A command's key specs: the ones [`specs::KEY_SPECS`] declares, else one
/// range over its key positions.
fn key_specs_of(cmd: &Command) -> Vec<KeySpec> {
    if let Some(specs) = specs::key_specs(cmd.name) {
        return specs.to_vec();
    }
    if cmd.first_key <= 0 {
        return Vec::new();
    }
    let lastkey = if cmd.last_key < 0 { cmd.last_key } else { cmd.last_key - cmd.first_key };
    vec![KeySpec::range(key_flags(cmd), cmd.first_key, lastkey, cmd.step)]
}

/// The flags `COMMAND INFO` shows: the command's own, plus `movablekeys`
/// when a key spec needs the arguments to find its keys, as Redis derives it.
fn info_flags(cmd: &Command) -> Vec<&'static str> {
    let movable = cmd.has(flag::MOVABLEKEYS) || key_specs_of(cmd).iter().any(KeySpec::is_movable);
    let shown = |f: u32| cmd.has(f) || (f == flag::MOVABLEKEYS && movable);
    flag::NAMES.iter().filter(|(f, _)| shown(*f)).map(|(_, n)| *n).collect()
}

/// The access flags of the key at argument `pos` of `target` (a command
/// and its arguments), as `COMMAND GETKEYSANDFLAGS` reports them.
fn key_flags_at(cmd: &Command, target: &[Bytes], pos: usize) -> &'static [&'static str] {
    match cmd.name {
        // Redis's `bitfieldGetKeys`: read-only when it only GETs.
        "bitfield" if super::bitmaps::bitfield_only_reads(&target[2..]) => &["RO", "access"],
        "bitfield" => &["RW", "access", "update"],
        // Redis's `setGetKeys`: the key is read only with GET.
        "set" if target.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) => &["RW", "access", "update"],
        "set" => &["OW", "update"],
        _ => {
            let specs = key_specs_of(cmd);
            match specs.iter().find(|s| s.covers(pos, target)) {
                Some(spec) => spec.flags,
                // A key only parsing finds (SORT's STORE destination): the
                // spec for such keys, as `sortGetKeys` reports it.
                None => specs.iter().rev().find(|s| s.begin == Begin::Unknown).map_or(&[], |s| s.flags),
            }
        }
    }
}

fn write_key_specs(cmd: &Command, reply: &mut Reply) {
    let specs = key_specs_of(cmd);
    reply.set(specs.len());
    for spec in specs {
        reply.map(3 + spec.notes.is_some() as usize);
        if let Some(notes) = spec.notes {
            reply.bulk(b"notes");
            reply.bulk(notes.as_bytes());
        }
        reply.bulk(b"flags");
        reply.set(spec.flags.len());
        for f in spec.flags {
            reply.simple(f);
        }
        reply.bulk(b"begin_search");
        write_begin_search(spec.begin, reply);
        reply.bulk(b"find_keys");
        write_find_keys(spec.find, reply);
    }
}

/// `{type, spec}` with the spec's fields, as `addReplyCommandKeySpecs` writes it.
fn write_search(kind: &str, fields: &[(&str, i32)], reply: &mut Reply) {
    reply.map(2);
    reply.bulk(b"type");
    reply.bulk(kind.as_bytes());
    reply.bulk(b"spec");
    reply.map(fields.len());
    for (name, value) in fields {
        reply.bulk(name.as_bytes());
        reply.int(*value as i64);
    }
}

fn write_begin_search(begin: Begin, reply: &mut Reply) {
    match begin {
        Begin::Index(index) => write_search("index", &[("index", index)], reply),
        Begin::Unknown => write_search("unknown", &[], reply),
    }
}

fn write_find_keys(find: Find, reply: &mut Reply) {
    match find {
        Find::Range { lastkey, keystep, limit } => {
            write_search("range", &[("lastkey", lastkey), ("keystep", keystep), ("limit", limit)], reply)
        }
        Find::Keynum { keynumidx, firstkey, keystep } => {
            write_search("keynum", &[("keynumidx", keynumidx), ("firstkey", firstkey), ("keystep", keystep)], reply)
        }
        Find::Unknown => write_search("unknown", &[], reply),
    }
}

fn docs(_: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let cmds: Vec<&'static Command> = if args.len() == 2 {
        registry().top_level().to_vec()
    } else {
        args[2..].iter().filter_map(|n| find(n)).collect()
    };
    reply.map(cmds.len());
    for cmd in cmds {
        reply.bulk(cmd.name.as_bytes());
        command_doc(cmd, reply);
    }
}

fn command_doc(cmd: &Command, reply: &mut Reply) {
    let has_subs = !cmd.subcommands.is_empty();
    let arguments = super::docs::arguments(cmd.name);
    let (doc_flags, deprecated, history) =
        (specs::doc_flags(cmd.name), specs::deprecated(cmd.name), specs::history(cmd.name));
    let fields = 4
        + !doc_flags.is_empty() as usize
        + 2 * deprecated.is_some() as usize
        + !history.is_empty() as usize
        + arguments.is_some() as usize
        + has_subs as usize;
    reply.map(fields);
    for (k, v) in [
        ("summary", cmd.doc.summary),
        ("since", cmd.doc.since),
        ("group", cmd.doc.group),
        ("complexity", cmd.doc.complexity),
    ] {
        reply.bulk(k.as_bytes());
        reply.bulk(v.as_bytes());
    }
    if !doc_flags.is_empty() {
        reply.bulk(b"doc_flags");
        reply.set(doc_flags.len());
        for f in doc_flags {
            reply.simple(f);
        }
    }
    if let Some((since, replaced_by)) = deprecated {
        reply.bulk(b"deprecated_since");
        reply.bulk(since.as_bytes());
        reply.bulk(b"replaced_by");
        reply.bulk(replaced_by.as_bytes());
    }
    if !history.is_empty() {
        reply.bulk(b"history");
        reply.array(history.len());
        for (version, change) in history {
            reply.array(2);
            reply.bulk(version.as_bytes());
            reply.bulk(change.as_bytes());
        }
    }
    if let Some(args) = arguments {
        reply.bulk(b"arguments");
        super::docs::write(&args, reply, key_specs_of(cmd).len());
    }
    if has_subs {
        reply.bulk(b"subcommands");
        reply.map(cmd.subcommands.len());
        for sub in cmd.subcommands {
            reply.bulk(sub.name.as_bytes());
            command_doc(sub, reply);
        }
    }
}

fn list(_: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let top = registry().top_level();
    let filter: Box<dyn Fn(&Command) -> bool> = match args.len() {
        2 => Box::new(|_| true),
        5 if args[2].eq_ignore_ascii_case(b"filterby") => {
            let (kind, value) = (args[3].to_ascii_lowercase(), args[4].clone());
            match &kind[..] {
                b"module" => Box::new(|_| false),
                b"aclcat" => {
                    let v = value.to_ascii_lowercase();
                    match acl::NAMES.iter().position(|n| n.as_bytes() == &v[..]) {
                        Some(i) => Box::new(move |c: &Command| c.acl_categories() & (1 << i) != 0),
                        None => Box::new(|_| false),
                    }
                }
                b"pattern" => Box::new(move |c: &Command| glob_match(&value, c.name.as_bytes(), true)),
                _ => return reply.error(super::err::SYNTAX),
            }
        }
        _ => return reply.error(super::err::SYNTAX),
    };
    let names: Vec<&str> = top
        .iter()
        .flat_map(|c| std::iter::once(*c).chain(c.subcommands.iter()))
        .filter(|c| filter(c))
        .map(|c| c.name)
        .collect();
    reply.array(names.len());
    for n in names {
        reply.bulk(n.as_bytes());
    }
}

/// The target command's keys, or Redis's error for why there are none.
fn keys_of(args: &[Bytes]) -> Result<(&'static Command, Vec<usize>), &'static str> {
    let target = &args[2..];
    let resolved = match registry().lookup(target) {
        Ok(r) => r,
        Err(super::LookupError::Arity(_)) => return Err("ERR Invalid number of arguments specified for command"),
        Err(_) => return Err("ERR Invalid command specified"),
    };
    let positions: Vec<usize> = resolved.cmd.key_positions(target).collect();
    // Shard channels sit where keys do but are not keys (`not_key`).
    if positions.is_empty() || key_flags(resolved.cmd).contains(&"not_key") {
        return Err("ERR The command has no key arguments");
    }
    Ok((resolved.cmd, positions))
}

fn getkeys(_: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    match keys_of(args) {
        Err(e) => reply.error(e),
        Ok((_, positions)) => {
            reply.array(positions.len());
            for p in positions {
                reply.bulk(&args[2 + p]);
            }
        }
    }
}

fn getkeysandflags(_: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    match keys_of(args) {
        Err(e) => reply.error(e),
        Ok((cmd, positions)) => {
            reply.array(positions.len());
            for p in positions {
                let flags = key_flags_at(cmd, &args[2..], p);
                reply.array(2);
                reply.bulk(&args[2 + p]);
                reply.set(flags.len());
                for f in flags {
                    reply.simple(f);
                }
            }
        }
    }
}

fn help(_: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    help_reply(
        reply,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}
