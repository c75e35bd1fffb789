//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT and the
//! CLIENT family. They change the connection's own state, so most run in the
//! connection layer; CLIENT LIST/KILL ask every shard for its clients.

use bytes::Bytes;

use super::{command, container, err, flag::*, parse_int, Command, ConnCtx, Exec, Merge};
use crate::cmd::acl;
use crate::resp::{Proto, Reply};
use crate::server::client::{Client, ReplyMode};
use crate::shard::ShardCtx;

/// The Redis version shardis reports (HELLO, INFO): clients gate features on it.
pub const REDIS_VERSION: &str = "7.2.0";

const C: u32 = acl::CONNECTION;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("ping", "[message]"),
    ("echo", "message"),
    ("hello", "[arguments(protover:integer [AUTH username password] [SETNAME clientname])]"),
    ("auth", "[username] password"),
    ("select", "index:integer"),
    ("client|setname", "connection-name"),
    ("client|kill", "filter(old-format:string|new-format([client-type(TYPE NORMAL|TYPE MASTER|TYPE SLAVE|TYPE REPLICA|TYPE PUBSUB)] [USER username] [ADDR ip:port] [LADDR ip:port] [ID client-id:integer] [MAXAGE maxage:integer] [SKIPME yes/no])...)"),
    ("client|list", "[client-type(TYPE NORMAL|TYPE MASTER|TYPE REPLICA|TYPE PUBSUB)] [ID client-id:integer...]"),
    ("client|setinfo", "attr(LIB-NAME libname|LIB-VER libver)"),
    ("client|no-evict", "enabled(ON|OFF)"),
    ("client|unblock", "client-id:integer [unblock-type(TIMEOUT|ERROR)]"),
    ("client|no-touch", "enabled(ON|OFF)"),
    ("client|reply", "action(ON|OFF|SKIP)"),
];

pub static COMMANDS: &[Command] = &[
    command(
        "ping",
        -1,
        FAST,
        C,
        (0, 0, 0),
        Exec::Conn(ping),
        "connection",
        "1.0.0",
        "O(1)",
        "Returns the server's liveliness response.",
    ),
    command(
        "echo",
        2,
        LOADING | STALE | FAST,
        C,
        (0, 0, 0),
        Exec::Conn(echo),
        "connection",
        "1.0.0",
        "O(1)",
        "Returns the given string.",
    ),
    command(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        C,
        (0, 0, 0),
        Exec::Conn(quit),
        "connection",
        "1.0.0",
        "O(1)",
        "Closes the connection.",
    ),
    command(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        C,
        (0, 0, 0),
        Exec::Conn(reset),
        "connection",
        "6.2.0",
        "O(1)",
        "Resets the connection.",
    ),
    command(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        C,
        (0, 0, 0),
        Exec::Conn(hello),
        "connection",
        "6.0.0",
        "O(1)",
        "Handshakes with the Redis server.",
    ),
    command(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        C,
        (0, 0, 0),
        Exec::Conn(auth),
        "connection",
        "1.0.0",
        "O(N) where N is the number of passwords defined for the user",
        "Authenticates the connection.",
    ),
    command(
        "select",
        2,
        LOADING | STALE | FAST,
        C,
        (0, 0, 0),
        Exec::Conn(select),
        "connection",
        "1.0.0",
        "O(1)",
        "Changes the selected database.",
    ),
    container("client", 0, "connection", "2.4.0", "A container for client connection commands.", CLIENT),
];

const CA: u32 = C;
const ADMIN_C: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

static CLIENT: &[Command] = &[
    command(
        "client|id",
        2,
        NOSCRIPT | LOADING | STALE,
        CA,
        (0, 0, 0),
        Exec::Conn(client_id),
        "connection",
        "5.0.0",
        "O(1)",
        "Returns the unique client ID of the connection.",
    ),
    command(
        "client|info",
        2,
        NOSCRIPT | LOADING | STALE,
        CA,
        (0, 0, 0),
        Exec::Conn(client_info),
        "connection",
        "6.2.0",
        "O(1)",
        "Returns information about the connection.",
    ),
    command(
        "client|list",
        -2,
        ADMIN_C,
        CA,
        (0, 0, 0),
        Exec::AllShards(client_list, Merge::Custom(merge_client_list)),
        "connection",
        "2.4.0",
        "O(N) where N is the number of client connections",
        "Lists open connections.",
    ),
    command(
        "client|kill",
        -3,
        ADMIN_C,
        CA,
        (0, 0, 0),
        Exec::AllShards(client_kill, Merge::Custom(merge_client_kill)),
        "connection",
        "2.4.0",
        "O(N) where N is the number of client connections",
        "Terminates open connections.",
    ),
    command(
        "client|setname",
        3,
        NOSCRIPT | LOADING | STALE,
        CA,
        (0, 0, 0),
        Exec::Conn(client_setname),
        "connection",
        "2.6.9",
        "O(1)",
        "Sets the connection name.",
    ),
    command(
        "client|getname",
        2,
        NOSCRIPT | LOADING | STALE,
        CA,
        (0, 0, 0),
        Exec::Conn(client_getname),
        "connection",
        "2.6.9",
        "O(1)",
        "Returns the name of the connection.",
    ),
    command(
        "client|setinfo",
        4,
        NOSCRIPT | LOADING | STALE,
        CA,
        (0, 0, 0),
        Exec::Conn(client_setinfo),
        "connection",
        "7.2.0",
        "O(1)",
        "Sets information specific to the client or connection.",
    ),
    command(
        "client|no-evict",
        3,
        ADMIN_C,
        CA,
        (0, 0, 0),
        Exec::Conn(client_no_evict),
        "connection",
        "7.0.0",
        "O(1)",
        "Sets the client eviction mode of the connection.",
    ),
    command(
        "client|unblock",
        -3,
        ADMIN_C,
        CA,
        (0, 0, 0),
        Exec::AllShards(client_unblock, Merge::SumInt),
        "connection",
        "5.0.0",
        "O(log N) where N is the number of client connections",
        "Unblocks a client blocked by a blocking command from a different connection.",
    ),
    command(
        "client|no-touch",
        3,
        NOSCRIPT | LOADING | STALE,
        CA,
        (0, 0, 0),
        Exec::Conn(client_no_touch),
        "connection",
        "7.2.0",
        "O(1)",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
    ),
    command(
        "client|reply",
        3,
        NOSCRIPT | LOADING | STALE,
        CA,
        (0, 0, 0),
        Exec::Conn(client_reply),
        "connection",
        "3.2.0",
        "O(1)",
        "Instructs the server whether to reply to commands.",
    ),
    command(
        "client|help",
        2,
        LOADING | STALE,
        CA,
        (0, 0, 0),
        Exec::Conn(client_help),
        "connection",
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
];

fn ping(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    // A subscribed RESP2 connection reads every frame as a message: PING
    // answers as one there, `pong` and the argument (or "").
    if reply.proto == Proto::Resp2 && ctx.client.pubsub.borrow().active() && args.len() <= 2 {
        reply.array(2);
        reply.bulk(b"pong");
        return reply.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
    }
    match args.len() {
        1 => reply.simple("PONG"),
        2 => reply.bulk(&args[1]),
        _ => reply.error("ERR wrong number of arguments for 'ping' command"),
    }
}

fn echo(_: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    reply.bulk(&args[1]);
}

fn quit(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    ctx.after.close = true;
    reply.ok();
}

/// Back to a fresh connection's state, as Redis's `clearClientConnectionState`
/// (7.0 keeps CLIENT NO-EVICT; NO-TOUCH, new in 7.2, is cleared as 7.2 does).
fn reset(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    let needs_auth = ctx.shared.config().requirepass.is_some();
    if ctx.client.state.borrow().monitor {
        ctx.shared.monitors.remove(ctx.client.id);
    }
    // Or the connection subscribes again after this batch.
    ctx.after.monitor = false;
    super::pubsub::forget(ctx.shared, ctx.client);
    let mut s = ctx.client.state.borrow_mut();
    s.db = 0;
    s.proto = Proto::Resp2;
    s.name = None;
    s.reply_mode = ReplyMode::default();
    s.monitor = false;
    s.no_touch = false;
    s.multi = None;
    s.authenticated = !needs_auth;
    reply.proto = Proto::Resp2;
    reply.simple("RESET");
}

/// Checks a password for `user` against `requirepass` (the only user is
/// `default`; with no requirepass it accepts any password, like `nopass`).
fn check_password(ctx: &ConnCtx, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &ctx.shared.config().requirepass {
        None => true,
        Some(p) => p.as_bytes() == pass,
    }
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let (user, pass): (&[u8], &[u8]) = match args.len() {
        2 => {
            if ctx.shared.config().requirepass.is_none() {
                return reply.error(
                    "ERR AUTH <password> called without any password configured for the default user. \
                     Are you sure your configuration is correct?",
                );
            }
            (b"default", &args[1])
        }
        3 => (&args[1], &args[2]),
        _ => return reply.error(err::SYNTAX),
    };
    if check_password(ctx, user, pass) {
        ctx.client.state.borrow_mut().authenticated = true;
        reply.ok();
    } else {
        reply.error(WRONGPASS);
    }
}

fn hello(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let mut proto = None;
    let mut next = 1;
    if let Some(v) = args.get(1) {
        let Some(v) = parse_int(v) else {
            return reply.error("ERR Protocol version is not an integer or out of range");
        };
        if !(2..=3).contains(&v) {
            return reply.error("NOPROTO unsupported protocol version");
        }
        proto = Some(if v == 3 { Proto::Resp3 } else { Proto::Resp2 });
        next = 2;
    }
    let (mut credentials, mut name) = (None, None);
    let mut j = next;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
            credentials = Some((&args[j + 1], &args[j + 2]));
            j += 3;
        } else if args[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
            name = Some(&args[j + 1]);
            j += 2;
        } else {
            return reply.error(&format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(&args[j])));
        }
    }
    if let Some((user, pass)) = credentials {
        if !check_password(ctx, user, pass) {
            return reply.error(WRONGPASS);
        }
        ctx.client.state.borrow_mut().authenticated = true;
    }
    if !ctx.client.state.borrow().authenticated {
        return reply.error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> \
             <pass> option can be used to authenticate the client and select the RESP protocol version at the same \
             time",
        );
    }
    if let Some(name) = name {
        if let Err(e) = set_name(ctx.client, name) {
            return reply.error(e);
        }
    }
    let mut s = ctx.client.state.borrow_mut();
    if let Some(p) = proto {
        s.proto = p;
        reply.proto = p;
    }
    reply.map(7);
    reply.bulk(b"server");
    reply.bulk(b"redis");
    reply.bulk(b"version");
    reply.bulk(REDIS_VERSION.as_bytes());
    reply.bulk(b"proto");
    reply.int(if s.proto == Proto::Resp3 { 3 } else { 2 });
    reply.bulk(b"id");
    reply.int(ctx.client.id as i64);
    reply.bulk(b"mode");
    reply.bulk(b"standalone");
    reply.bulk(b"role");
    reply.bulk(b"master");
    reply.bulk(b"modules");
    reply.array(0);
}

fn select(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let Some(db) = parse_int(&args[1]).filter(|n| i32::try_from(*n).is_ok()) else {
        return reply.error(err::NOT_INT);
    };
    if db < 0 || db as usize >= ctx.shared.config().databases {
        return reply.error(err::DB_RANGE);
    }
    ctx.client.state.borrow_mut().db = db as usize;
    reply.ok();
}

fn client_id(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    reply.int(ctx.client.id as i64);
}

fn client_info(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    let mut line = String::new();
    ctx.client.info_line(&mut line);
    reply.verbatim("txt", line.as_bytes());
}

/// Redis accepts only printable ASCII without spaces in client names and
/// library info; an empty name clears it.
fn valid_name(b: &[u8]) -> bool {
    b.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn set_name(client: &Client, name: &Bytes) -> Result<(), &'static str> {
    if !valid_name(name) {
        return Err("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    client.state.borrow_mut().name = (!name.is_empty()).then(|| name.clone());
    Ok(())
}

fn client_setname(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    match set_name(ctx.client, &args[2]) {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}

fn client_getname(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    match &ctx.client.state.borrow().name {
        Some(n) => reply.bulk(n),
        None => reply.null(),
    }
}

fn client_setinfo(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let (attr, value) = (&args[2], &args[3]);
    let is_name = attr.eq_ignore_ascii_case(b"lib-name");
    if !is_name && !attr.eq_ignore_ascii_case(b"lib-ver") {
        return reply.error(&format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(attr)));
    }
    if !valid_name(value) {
        return reply.error(&format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        ));
    }
    let value = (!value.is_empty()).then(|| value.clone());
    let mut s = ctx.client.state.borrow_mut();
    if is_name {
        s.lib_name = value;
    } else {
        s.lib_ver = value;
    }
    reply.ok();
}

fn on_off(arg: &[u8]) -> Option<bool> {
    if arg.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if arg.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        None
    }
}

fn client_no_evict(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    match on_off(&args[2]) {
        Some(v) => {
            ctx.client.state.borrow_mut().no_evict = v;
            reply.ok();
        }
        None => reply.error(err::SYNTAX),
    }
}

fn client_no_touch(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    match on_off(&args[2]) {
        Some(v) => {
            ctx.client.state.borrow_mut().no_touch = v;
            reply.ok();
        }
        None => reply.error(err::SYNTAX),
    }
}

/// `ON` answers `+OK`; `OFF` and `SKIP` answer nothing (the connection
/// suppresses replies according to [`ReplyMode`]).
fn client_reply(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let mode = &args[2];
    let mut s = ctx.client.state.borrow_mut();
    if mode.eq_ignore_ascii_case(b"on") {
        s.reply_mode = ReplyMode::default();
        reply.ok();
    } else if mode.eq_ignore_ascii_case(b"off") {
        s.reply_mode.off = true;
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if !s.reply_mode.off {
            s.reply_mode.skip_next = true;
        }
    } else {
        reply.error(err::SYNTAX);
    }
}

fn client_help(_: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    help_reply(
        reply,
        "CLIENT",
        &[
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "    * ID <client-id> [<client-id> ...]",
            "      Return clients of specified IDs only.",
            "GETNAME",
            "    Return the name of the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
        ],
    );
}

/// The `<CMD> <subcommand> arg arg ... arg. Subcommands are:` help block.
pub fn help_reply(reply: &mut Reply, cmd: &str, lines: &[&str]) {
    reply.array(lines.len() + 3);
    reply.simple(&format!("{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd));
    for l in lines {
        reply.simple(l);
    }
    reply.simple("HELP");
    reply.simple("    Prints this help.");
}

/// Which clients a CLIENT LIST / CLIENT KILL names.
#[derive(Default)]
struct ClientFilter {
    ids: Option<Vec<u64>>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    /// `TYPE`: every shardis client is `normal` until pub/sub and replicas exist.
    normal_type: Option<bool>,
    user: Option<Bytes>,
    skipme: bool,
    max_age: Option<u64>,
}

impl ClientFilter {
    fn matches(&self, c: &Client, caller: u64) -> bool {
        // A client killed earlier (in the same pipeline) is gone for Redis.
        if c.is_killed() || (self.skipme && c.id == caller) {
            return false;
        }
        if let Some(ids) = &self.ids {
            if !ids.contains(&c.id) {
                return false;
            }
        }
        if let Some(a) = &self.addr {
            if c.addr.to_string().as_bytes() != &a[..] {
                return false;
            }
        }
        if let Some(a) = &self.laddr {
            if c.laddr.to_string().as_bytes() != &a[..] {
                return false;
            }
        }
        if self.normal_type == Some(false) {
            return false;
        }
        if let Some(u) = &self.user {
            if &u[..] != b"default" {
                return false;
            }
        }
        if let Some(age) = self.max_age {
            if c.created.elapsed().as_secs() < age {
                return false;
            }
        }
        true
    }
}

/// `normal`, `master`, `replica`/`slave`, `pubsub`: Some(is-normal), or None.
fn client_type(t: &[u8]) -> Option<bool> {
    let t = t.to_ascii_lowercase();
    match &t[..] {
        b"normal" => Some(true),
        b"master" | b"replica" | b"slave" | b"pubsub" => Some(false),
        _ => None,
    }
}

fn unknown_type(t: &[u8]) -> String {
    format!("ERR Unknown client type '{}'", String::from_utf8_lossy(t))
}

fn client_list(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let mut filter = ClientFilter::default();
    match args.len() {
        2 => {}
        4 if args[2].eq_ignore_ascii_case(b"type") => match client_type(&args[3]) {
            Some(t) => filter.normal_type = Some(t),
            None => return reply.error(&unknown_type(&args[3])),
        },
        n if n >= 4 && args[2].eq_ignore_ascii_case(b"id") => {
            let mut ids = Vec::new();
            for a in &args[3..] {
                match parse_int(a).filter(|&i| i > 0) {
                    Some(i) => ids.push(i as u64),
                    None => return reply.error("ERR Invalid client ID"),
                }
            }
            filter.ids = Some(ids);
        }
        _ => return reply.error(err::SYNTAX),
    }
    let mut out = String::new();
    for c in ctx.shard.clients.iter().filter(|c| filter.matches(c, ctx.client_id)) {
        c.info_line(&mut out);
    }
    reply.bulk(out.as_bytes());
}

/// Every shard's lines, ordered by client id like Redis's client list.
fn merge_client_list(_: &mut ConnCtx, _: &[Bytes], parts: &[&[u8]], reply: &mut Reply) {
    let mut lines: Vec<(u64, &[u8])> = Vec::new();
    for part in parts {
        match crate::server::merge::bulk_payload(part) {
            Some(text) => {
                for line in text.split_inclusive(|&b| b == b'\n') {
                    let id = line
                        .strip_prefix(b"id=")
                        .and_then(|rest| rest.split(|&b| b == b' ').next())
                        .and_then(parse_int)
                        .unwrap_or(0);
                    lines.push((id as u64, line));
                }
            }
            None => return reply.buf.extend_from_slice(part),
        }
    }
    lines.sort_by_key(|(id, _)| *id);
    let text: Vec<u8> = lines.into_iter().flat_map(|(_, l)| l.iter().copied()).collect();
    reply.verbatim("txt", &text);
}

fn client_kill(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let mut filter = ClientFilter { skipme: true, ..Default::default() };
    if args.len() == 3 {
        // Old form: CLIENT KILL addr:port, never skips the caller.
        filter.addr = Some(args[2].clone());
        filter.skipme = false;
    } else {
        if !args.len().is_multiple_of(2) {
            return reply.error(err::SYNTAX);
        }
        for pair in args[2..].chunks_exact(2) {
            let (opt, v) = (&pair[0], &pair[1]);
            let is = |n: &[u8]| opt.eq_ignore_ascii_case(n);
            if is(b"id") {
                match parse_int(v).filter(|&i| i > 0) {
                    Some(i) => filter.ids = Some(vec![i as u64]),
                    None => return reply.error("ERR client-id should be greater than 0"),
                }
            } else if is(b"type") {
                match client_type(v) {
                    Some(t) => filter.normal_type = Some(t),
                    None => return reply.error(&unknown_type(v)),
                }
            } else if is(b"addr") {
                filter.addr = Some(v.clone());
            } else if is(b"laddr") {
                filter.laddr = Some(v.clone());
            } else if is(b"user") {
                // `default` is the only user.
                if &v[..] != b"default" {
                    return reply.error(&format!("ERR No such user '{}'", String::from_utf8_lossy(v)));
                }
                filter.user = Some(v.clone());
            } else if is(b"skipme") {
                filter.skipme = match v.to_ascii_lowercase().as_slice() {
                    b"yes" => true,
                    b"no" => false,
                    _ => return reply.error(err::SYNTAX),
                };
            } else if is(b"maxage") {
                match parse_int(v) {
                    Some(age) => filter.max_age = Some(age.max(0) as u64),
                    None => return reply.error(err::NOT_INT),
                }
            } else {
                return reply.error(err::SYNTAX);
            }
        }
    }
    let mut killed = 0;
    for c in ctx.shard.clients.iter().filter(|c| filter.matches(c, ctx.client_id)) {
        c.kill();
        killed += 1;
    }
    reply.int(killed);
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`, on every shard: the one holding the
/// client ends its wait if it is blocked (1), the others answer 0.
fn client_unblock(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    if args.len() > 4 {
        return reply.error(err::SYNTAX);
    }
    let error = match args.get(3) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"timeout") => false,
        Some(a) if a.eq_ignore_ascii_case(b"error") => true,
        Some(_) => return reply.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
    };
    let Some(id) = parse_int(&args[2]) else {
        return reply.error(err::NOT_INT);
    };
    let target = ctx.shard.clients.iter().find(|c| c.id as i64 == id);
    let waiter = target.and_then(|c| c.blocked.borrow().clone());
    let done = waiter.is_some_and(|w| crate::server::blocking::unblock(&w, error));
    reply.int(done as i64);
}

/// The old `CLIENT KILL addr` form answers OK or an error; the filter form
/// answers the number of clients killed.
fn merge_client_kill(_: &mut ConnCtx, args: &[Bytes], parts: &[&[u8]], reply: &mut Reply) {
    let mut total = 0;
    for part in parts {
        match crate::server::merge::int_payload(part) {
            Some(n) => total += n,
            None => return reply.buf.extend_from_slice(part),
        }
    }
    if args.len() == 3 {
        if total > 0 {
            reply.ok();
        } else {
            reply.error("ERR No such client");
        }
    } else {
        reply.int(total);
    }
}
