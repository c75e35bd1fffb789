//! Server commands: INFO, CONFIG, TIME, LASTSAVE, SHUTDOWN, DEBUG, MONITOR.

use std::fmt::Write;
use std::time::Duration;

use bytes::Bytes;

use super::{acl, command, container, err, flag::*, parse_int, registry, Command, ConnCtx, Exec, Merge};
use crate::cmd::connection::{help_reply, REDIS_VERSION};
use crate::resp::Reply;
use crate::server::merge::{bulk_payload, first_error};
use crate::server::shared::{unix_us, Control};
use crate::shard::{Entry, ShardCtx};
use crate::types::{RString, Value};

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
/// Redis lists INFO and LASTSAVE under `@dangerous` explicitly.
const DANGEROUS_ACL: u32 = acl::DANGEROUS;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("info", "[section...]"),
    ("config|get", "parameter..."),
    ("config|set", "data(parameter value)..."),
    ("shutdown", "[save-selector(NOSAVE|SAVE)] [NOW] [FORCE] [ABORT]"),
    ("debug", "subcommand [arg...]"),
];

pub static COMMANDS: &[Command] = &[
    command(
        "info",
        -1,
        LOADING | STALE,
        DANGEROUS_ACL,
        (0, 0, 0),
        Exec::AllShards(info_shard, Merge::Custom(info)),
        "server",
        "1.0.0",
        "O(1)",
        "Returns information and statistics about the server.",
    ),
    container("config", 0, "server", "2.0.0", "A container for server configuration commands.", CONFIG),
    command(
        "time",
        1,
        LOADING | STALE | FAST,
        0,
        (0, 0, 0),
        Exec::Conn(time),
        "server",
        "2.6.0",
        "O(1)",
        "Returns the server time.",
    ),
    command(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        acl::ADMIN | DANGEROUS_ACL,
        (0, 0, 0),
        Exec::Conn(lastsave),
        "server",
        "1.0.0",
        "O(1)",
        "Returns the Unix timestamp of the last successful save to disk.",
    ),
    command(
        "shutdown",
        -1,
        ADM | NO_MULTI | ALLOW_BUSY,
        0,
        (0, 0, 0),
        Exec::Conn(shutdown),
        "server",
        "1.0.0",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
    ),
    command(
        "debug",
        -2,
        ADM,
        0,
        (0, 0, 0),
        Exec::AllShards(debug, Merge::Custom(same_everywhere)),
        "server",
        "1.0.0",
        "Depends on subcommand.",
        "A container for debugging commands.",
    ),
    command(
        "monitor",
        1,
        ADM,
        0,
        (0, 0, 0),
        Exec::Conn(monitor),
        "server",
        "1.0.0",
        "O(1)",
        "Listens for all requests received by the server in real-time.",
    ),
];

static CONFIG: &[Command] = &[
    command(
        "config|get",
        -3,
        ADM,
        0,
        (0, 0, 0),
        Exec::Conn(config_get),
        "server",
        "2.0.0",
        "O(N) when N is the number of configuration parameters provided",
        "Returns the effective values of configuration parameters.",
    ),
    command(
        "config|set",
        -4,
        ADM,
        0,
        (0, 0, 0),
        Exec::Conn(config_set),
        "server",
        "2.0.0",
        "O(N) when N is the number of configuration parameters provided",
        "Sets configuration parameters in-flight.",
    ),
    command(
        "config|resetstat",
        2,
        ADM,
        0,
        (0, 0, 0),
        Exec::AllShards(config_resetstat, Merge::Custom(same_everywhere)),
        "server",
        "2.0.0",
        "O(1)",
        "Resets the server's statistics.",
    ),
    command(
        "config|help",
        2,
        LOADING | STALE,
        0,
        (0, 0, 0),
        Exec::Conn(config_help),
        "server",
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
];

/// For commands every shard runs identically: the first shard's reply
/// (an error from any shard wins).
fn same_everywhere(_: &mut ConnCtx, _: &[Bytes], parts: &[&[u8]], reply: &mut Reply) {
    let part = first_error(parts).or(parts.first().copied()).unwrap_or(b"+OK\r\n");
    reply.buf.extend_from_slice(part);
}

fn time(_: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    let us = unix_us();
    reply.array(2);
    reply.bulk_int((us / 1_000_000) as i64);
    reply.bulk_int((us % 1_000_000) as i64);
}

fn lastsave(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    reply.int(ctx.shared.last_save.load(std::sync::atomic::Ordering::Relaxed) as i64);
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: on success the client
/// gets no reply, the server closes every connection and exits.
fn shutdown(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let (mut nosave, mut save, mut other_flag, mut abort) = (false, false, false, false);
    for a in &args[1..] {
        let a = a.to_ascii_lowercase();
        match &a[..] {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" | b"force" => other_flag = true,
            b"abort" => abort = true,
            _ => return reply.error(err::SYNTAX),
        }
    }
    // As Redis: ABORT takes no other flag, SAVE and NOSAVE exclude each other.
    if (abort && (nosave || save || other_flag)) || (nosave && save) {
        return reply.error(err::SYNTAX);
    }
    if abort {
        return reply.error("ERR No shutdown in progress.");
    }
    let save = match (save, nosave) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    ctx.shared.control(Control::Shutdown { save });
    ctx.after.close = true;
}

fn monitor(ctx: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    ctx.after.monitor = true;
    reply.ok();
}

fn debug(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let sub = args[1].to_ascii_lowercase();
    match (&sub[..], args.len()) {
        (b"populate", 3..=5) => populate(ctx, &args[2..], reply),
        (b"sleep", 3) => {
            let secs = std::str::from_utf8(&args[2]).ok().and_then(|s| s.parse::<f64>().ok());
            match secs.filter(|s| s.is_finite() && *s >= 0.0) {
                // Like Redis, the server (every shard) is unresponsive meanwhile.
                Some(s) => {
                    std::thread::sleep(Duration::from_secs_f64(s));
                    reply.ok()
                }
                None => reply.error("ERR value is not a valid float"),
            }
        }
        (b"help", 2) => help_reply(
            reply,
            "DEBUG",
            &[
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named key:<num>. If <prefix> is specified then",
                "    it is used instead of the 'key' prefix. These are not propagated to",
                "    replicas. Cluster slots are not respected so keys not belonging to the",
                "    current node can be created in the process.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        ),
        _ => reply.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

/// DEBUG POPULATE: each shard creates the keys `<prefix>:<n>` it owns, with
/// value `value:<n>` (zero-padded or cut to `size`), skipping existing keys.
fn populate(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let count = match parse_int(&args[0]) {
        Some(n) if n >= 0 => n as u64,
        Some(_) => return reply.error("ERR count can not be negative"),
        None => return reply.error(err::NOT_INT),
    };
    let prefix = args.get(1).map_or(&b"key"[..], |p| &p[..]);
    let size = match args.get(2).map(|a| parse_int(a)) {
        None => None,
        Some(Some(n)) if n >= 0 => Some(n as usize),
        Some(_) => return reply.error(err::NOT_INT),
    };
    let (me, shards) = (ctx.shard.id, ctx.shard.shards());
    let mut key = Vec::new();
    let mut value = Vec::new();
    for n in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        if crate::slot::shard_of_key(&key, shards) != me || ctx.contains(&key) {
            continue;
        }
        value.clear();
        value.extend_from_slice(b"value:");
        value.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        if let Some(size) = size {
            value.resize(size, 0);
        }
        ctx.db().insert(&key, Entry::new(Value::Str(RString::from_bytes(&value))));
    }
    reply.ok();
}

fn config_get(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    let pairs = ctx.shared.config().get(&patterns);
    reply.map(pairs.len());
    for (name, value) in pairs {
        reply.bulk(name.as_bytes());
        reply.bulk(value.as_bytes());
    }
}

fn config_set(ctx: &mut ConnCtx, args: &[Bytes], reply: &mut Reply) {
    if !args.len().is_multiple_of(2) {
        return reply.error(err::SYNTAX);
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..].chunks_exact(2).map(|p| (&p[0][..], &p[1][..])).collect();
    match ctx.shared.update_config(|c| c.set(&pairs).map(|()| c.clone())) {
        Ok(config) => {
            crate::server::logging::apply(&config);
            reply.ok();
        }
        Err(e) => reply.error(&format!("ERR {}", e)),
    }
}

fn config_resetstat(ctx: &mut ShardCtx, _: &[Bytes], reply: &mut Reply) {
    ctx.shard.stats.reset();
    reply.ok();
}

fn config_help(_: &mut ConnCtx, _: &[Bytes], reply: &mut Reply) {
    help_reply(
        reply,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
        ],
    )
}

/// Keys with a TTL each shard looks at for `avg_ttl` (Redis estimates it
/// from the keys its expiry cycle samples).
const TTL_SAMPLE: usize = 1000;

/// Each shard's counters, as a flat list of integers that INFO sums over
/// shards: the fixed fields, then (keys, expires, sampled TTL sum, sampled
/// TTL count) per db, then (calls, usec, rejected, failed) per command.
fn info_shard(ctx: &mut ShardCtx, _: &[Bytes], reply: &mut Reply) {
    let s = &ctx.shard.stats;
    let mut v: Vec<u64> = vec![
        s.commands_processed,
        s.connections_received,
        s.keyspace_hits,
        s.keyspace_misses,
        s.net_input_bytes,
        s.net_output_bytes,
        ctx.shard.dbs.iter().map(|d| d.expired).sum(),
        s.error_replies,
        ctx.shard.dbs.iter().map(|d| d.untouched_bytes() as u64).sum(),
        ctx.shard.sched.stats.scheduled,
        ctx.shard.sched.stats.refused,
        ctx.shard.sched.stats.parked_batches,
        ctx.shard.watches.keys() as u64,
    ];
    let now = ctx.now;
    for db in &ctx.shard.dbs {
        let (ttl_sum, ttl_n) = db.ttl_sample(now, TTL_SAMPLE);
        v.extend([db.len() as u64, db.expires() as u64, ttl_sum, ttl_n]);
    }
    for c in &s.commands {
        v.extend([c.calls, c.usec, c.rejected_calls, c.failed_calls]);
    }
    let bytes: Vec<u8> = v.iter().flat_map(|n| n.to_le_bytes()).collect();
    reply.bulk(&bytes);
}

const FIXED: usize = 13;
const PER_DB: usize = 4;

fn info(ctx: &mut ConnCtx, args: &[Bytes], parts: &[&[u8]], reply: &mut Reply) {
    if let Some(e) = first_error(parts) {
        return reply.buf.extend_from_slice(e);
    }
    let mut sum: Vec<u64> = Vec::new();
    for part in parts {
        let Some(raw) = bulk_payload(part) else {
            continue;
        };
        let nums = raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()));
        if sum.is_empty() {
            sum = nums.collect();
        } else {
            sum.iter_mut().zip(nums).for_each(|(s, n)| *s += n);
        }
    }
    let config = ctx.shared.config();
    let dbs = config.databases;
    if sum.len() < FIXED + PER_DB * dbs {
        sum.resize(FIXED + PER_DB * dbs + 4 * registry().len(), 0);
    }
    let sections = Sections::parse(&args[1..]);
    let mut out = String::new();
    let section = |name: &str, out: &mut String| -> bool {
        if !sections.wants(name) {
            return false;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let title = if name == "cpu" { "CPU".to_string() } else { capitalize(name) };
        let _ = write!(out, "# {}\r\n", title);
        true
    };
    let uptime = ctx.shared.started.elapsed().as_secs();
    let line = |out: &mut String, k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(out, "{}:{}\r\n", k, v);
    };
    if section("server", &mut out) {
        line(&mut out, "redis_version", &REDIS_VERSION);
        line(&mut out, "shardis_version", &env!("CARGO_PKG_VERSION"));
        line(&mut out, "redis_git_sha1", &"00000000");
        line(&mut out, "redis_git_dirty", &0);
        line(&mut out, "redis_build_id", &"0");
        line(&mut out, "redis_mode", &"standalone");
        line(&mut out, "os", &os_name());
        line(&mut out, "arch_bits", &64);
        line(&mut out, "monotonic_clock", &"POSIX clock_gettime");
        line(&mut out, "multiplexing_api", &"io_uring");
        line(&mut out, "atomicvar_api", &"c11-builtin");
        line(&mut out, "process_id", &std::process::id());
        line(&mut out, "process_supervised", &"no");
        line(&mut out, "run_id", &ctx.shared.run_id);
        line(&mut out, "tcp_port", &ctx.shared.tcp_port);
        line(&mut out, "server_time_usec", &unix_us());
        line(&mut out, "uptime_in_seconds", &uptime);
        line(&mut out, "uptime_in_days", &(uptime / 86400));
        line(&mut out, "hz", &config.hz);
        line(&mut out, "configured_hz", &config.hz);
        line(&mut out, "executable", &std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default());
        line(&mut out, "shards", &ctx.shared.shards);
        line(&mut out, "io_threads_active", &0);
    }
    if section("clients", &mut out) {
        line(&mut out, "connected_clients", &ctx.shared.connected_clients.load(std::sync::atomic::Ordering::Relaxed));
        line(&mut out, "cluster_connections", &0);
        line(&mut out, "maxclients", &config.maxclients);
        line(&mut out, "blocked_clients", &crate::server::blocking::blocked_clients());
        line(&mut out, "tracking_clients", &0);
        line(&mut out, "clients_in_timeout_table", &0);
    }
    if section("memory", &mut out) {
        let rss = rss_bytes();
        let used = crate::alloc::used().map_or(rss, |bytes| bytes.saturating_sub(sum[8]));
        line(&mut out, "used_memory", &used);
        line(&mut out, "used_memory_human", &human_bytes(used));
        line(&mut out, "used_memory_rss", &rss);
        line(&mut out, "used_memory_rss_human", &human_bytes(rss));
        line(&mut out, "maxmemory", &0);
        line(&mut out, "maxmemory_human", &"0B");
        line(&mut out, "maxmemory_policy", &"noeviction");
        line(&mut out, "mem_allocator", &"libc");
        line(&mut out, "lazyfree_pending_objects", &crate::shard::lazyfree::pending());
    }
    if section("persistence", &mut out) {
        line(&mut out, "loading", &0);
        line(&mut out, "async_loading", &0);
        line(&mut out, "rdb_changes_since_last_save", &0);
        line(&mut out, "rdb_bgsave_in_progress", &0);
        line(&mut out, "rdb_last_save_time", &ctx.shared.last_save.load(std::sync::atomic::Ordering::Relaxed));
        line(&mut out, "rdb_last_bgsave_status", &"ok");
        line(&mut out, "aof_enabled", &0);
        line(&mut out, "aof_rewrite_in_progress", &0);
        line(&mut out, "aof_last_write_status", &"ok");
    }
    if section("stats", &mut out) {
        line(&mut out, "total_connections_received", &sum[1]);
        line(&mut out, "total_commands_processed", &sum[0]);
        line(&mut out, "total_net_input_bytes", &sum[4]);
        line(&mut out, "total_net_output_bytes", &sum[5]);
        line(
            &mut out,
            "rejected_connections",
            &ctx.shared.rejected_connections.load(std::sync::atomic::Ordering::Relaxed),
        );
        line(&mut out, "expired_keys", &sum[6]);
        line(&mut out, "evicted_keys", &0);
        line(&mut out, "keyspace_hits", &sum[2]);
        line(&mut out, "keyspace_misses", &sum[3]);
        line(&mut out, "pubsub_channels", &0);
        line(&mut out, "pubsub_patterns", &0);
        line(&mut out, "pubsubshard_channels", &0);
        line(&mut out, "total_error_replies", &sum[7]);
        line(&mut out, "lazyfreed_objects", &crate::shard::lazyfree::freed());
        // shardis: cross-shard transactions (see src/tx), summed over shards.
        line(&mut out, "tx_scheduled", &sum[9]);
        line(&mut out, "tx_schedule_retries", &sum[10]);
        line(&mut out, "tx_waiting_batches", &sum[11]);
        line(&mut out, "watched_keys", &sum[12]);
    }
    if section("replication", &mut out) {
        line(&mut out, "role", &"master");
        line(&mut out, "connected_slaves", &0);
        line(&mut out, "master_repl_offset", &0);
    }
    if section("cpu", &mut out) {
        let (user, sys) = cpu_times();
        line(&mut out, "used_cpu_sys", &format!("{:.6}", sys));
        line(&mut out, "used_cpu_user", &format!("{:.6}", user));
        line(&mut out, "used_cpu_sys_children", &"0.000000");
        line(&mut out, "used_cpu_user_children", &"0.000000");
    }
    section("modules", &mut out);
    section("errorstats", &mut out);
    if section("cluster", &mut out) {
        line(&mut out, "cluster_enabled", &0);
    }
    if section("keyspace", &mut out) {
        for db in 0..dbs {
            let d = &sum[FIXED + PER_DB * db..FIXED + PER_DB * (db + 1)];
            let avg_ttl = d[2].checked_div(d[3]).unwrap_or(0);
            if d[0] > 0 {
                let _ = write!(out, "db{}:keys={},expires={},avg_ttl={}\r\n", db, d[0], d[1], avg_ttl);
            }
        }
    }
    if section("commandstats", &mut out) {
        let base = FIXED + PER_DB * dbs;
        for (id, cmd) in registry().all().iter().enumerate() {
            let c = &sum[base + 4 * id..base + 4 * id + 4];
            if c[0] == 0 && c[2] == 0 && c[3] == 0 {
                continue;
            }
            let per_call = if c[0] > 0 { c[1] as f64 / c[0] as f64 } else { 0.0 };
            let _ = write!(
                out,
                "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                cmd.name, c[0], c[1], per_call, c[2], c[3]
            );
        }
    }
    reply.verbatim("txt", out.as_bytes());
}

/// Which INFO sections were asked for (Redis's `genInfoSectionDict`).
struct Sections {
    names: Vec<String>,
    all: bool,
    default: bool,
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

impl Sections {
    fn parse(args: &[Bytes]) -> Sections {
        let mut s = Sections { names: Vec::new(), all: false, default: args.is_empty() };
        for a in args {
            let name = String::from_utf8_lossy(a).to_ascii_lowercase();
            match name.as_str() {
                "all" | "everything" => s.all = true,
                "default" => s.default = true,
                _ => s.names.push(name),
            }
        }
        s
    }

    fn wants(&self, name: &str) -> bool {
        self.all || (self.default && DEFAULT_SECTIONS.contains(&name)) || self.names.iter().any(|n| n == name)
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn os_name() -> String {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills the struct we own; its fields are NUL-terminated.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "Linux".into();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {} {}", field(&u.sysname), field(&u.release), field(&u.machine))
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{}B", n)
    } else {
        format!("{:.2}{}", v, UNITS[u])
    }
}

fn cpu_times() -> (f64, f64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_utime), t(ru.ru_stime))
}
