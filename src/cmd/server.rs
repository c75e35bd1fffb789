//! Server commands: INFO, CONFIG, TIME, LASTSAVE, SHUTDOWN, DEBUG, MONITOR.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use bytes::Bytes;

use super::{acl, command, container, err, flag::*, parse_int, registry, Command, ConnCtx, Exec, Merge};
use crate::cmd::connection::{help_reply, REDIS_VERSION};
use crate::config::Config;
use crate::resp::Reply;
use crate::server::merge::{bulk_payload, first_error};
use crate::server::shared::{unix_us, Control, Shared};
use crate::shard::stats::{rate_mean, ErrorStats};
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
    // Server-wide counters, reset by shard 0 for all (Redis's resetServerStats).
    if ctx.shard.id == 0 {
        crate::shard::lazyfree::reset_stats();
        ctx.shard.shared.persist.saves.store(0, std::sync::atomic::Ordering::Relaxed);
    }
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

/// Where each shard counter sits in the list `info_shard` sends.
mod at {
    pub const COMMANDS: usize = 0;
    pub const CONNECTIONS: usize = 1;
    pub const HITS: usize = 2;
    pub const MISSES: usize = 3;
    pub const NET_INPUT: usize = 4;
    pub const NET_OUTPUT: usize = 5;
    pub const EXPIRED: usize = 6;
    pub const ERRORS: usize = 7;
    pub const UNTOUCHED: usize = 8;
    pub const TX_SCHEDULED: usize = 9;
    pub const TX_REFUSED: usize = 10;
    pub const TX_PARKED: usize = 11;
    pub const WATCHED: usize = 12;
    /// Sums of the last samples of ops/s, input and output bytes/s.
    pub const OPS_RATE: usize = 13;
    pub const INPUT_RATE: usize = 14;
    pub const OUTPUT_RATE: usize = 15;
    pub const READS: usize = 16;
    pub const WRITES: usize = 17;
    pub const BLOCKING_KEYS: usize = 18;
    /// Writes since the last snapshot; bytes in the current log segment.
    pub const CHANGES: usize = 19;
    pub const LOG_SIZE: usize = 20;
    /// The fixed fields; then (keys, expires, sampled TTL sum, sampled TTL
    /// count) per db, then (calls, usec, rejected, failed) per command.
    pub const FIXED: usize = 21;
    pub const PER_DB: usize = 4;
}

/// Each shard's counters: a bulk of the integers INFO sums over shards (a
/// count, then the integers, see [`at`]), then its error table.
fn info_shard(ctx: &mut ShardCtx, _: &[Bytes], reply: &mut Reply) {
    let s = &ctx.shard.stats;
    let [ops, input, output] = s.rate_sums();
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
        ops,
        input,
        output,
        s.reads_processed,
        s.writes_processed,
        ctx.shard.blocking.keys() as u64,
        ctx.shard.persist.log.changes,
        ctx.shard.persist.log_size,
    ];
    debug_assert_eq!(v.len(), at::FIXED);
    let now = ctx.now;
    for db in &ctx.shard.dbs {
        let (ttl_sum, ttl_n) = db.ttl_sample(now, TTL_SAMPLE);
        v.extend([db.len() as u64, db.expires() as u64, ttl_sum, ttl_n]);
    }
    for c in &s.commands {
        v.extend([c.calls, c.usec, c.rejected_calls, c.failed_calls]);
    }
    let mut bytes = Vec::with_capacity(8 * (v.len() + 1));
    bytes.extend((v.len() as u64).to_le_bytes());
    bytes.extend(v.iter().flat_map(|n| n.to_le_bytes()));
    encode_errors(s.errors.iter(), &mut bytes);
    reply.bulk(&bytes);
}

/// The error table after the integers: (count, length, prefix) each.
fn encode_errors<'a>(errors: impl Iterator<Item = (&'a [u8], u64)>, out: &mut Vec<u8>) {
    for (prefix, n) in errors {
        out.extend(n.to_le_bytes());
        out.extend((prefix.len() as u64).to_le_bytes());
        out.extend_from_slice(prefix);
    }
}

/// One shard's part: its integers, and its error table added into `errors`.
fn decode_part(raw: &[u8], errors: &mut BTreeMap<Vec<u8>, u64>) -> Vec<u64> {
    let mut rest = raw;
    let len = take_u64(&mut rest).unwrap_or(0) as usize;
    let nums: Vec<u64> = (0..len).map_while(|_| take_u64(&mut rest)).collect();
    while let (Some(n), Some(len)) = (take_u64(&mut rest), take_u64(&mut rest)) {
        let Some(prefix) = rest.get(..len as usize) else { break };
        *errors.entry(prefix.to_vec()).or_default() += n;
        rest = &rest[prefix.len()..];
    }
    nums
}

fn take_u64(rest: &mut &[u8]) -> Option<u64> {
    let (n, tail) = rest.split_first_chunk::<8>()?;
    *rest = tail;
    Some(u64::from_le_bytes(*n))
}

fn info(ctx: &mut ConnCtx, args: &[Bytes], parts: &[&[u8]], reply: &mut Reply) {
    if let Some(e) = first_error(parts) {
        return reply.buf.extend_from_slice(e);
    }
    let config = ctx.shared.config();
    let dbs = config.databases;
    let mut sum: Vec<u64> = vec![0; at::FIXED + at::PER_DB * dbs + 4 * registry().len()];
    let mut errors = BTreeMap::new();
    let mut log_sizes = Vec::new();
    for raw in parts.iter().filter_map(|p| bulk_payload(p)) {
        let nums = decode_part(raw, &mut errors);
        log_sizes.push(nums.get(at::LOG_SIZE).copied().unwrap_or(0));
        sum.iter_mut().zip(nums).for_each(|(s, n)| *s += n);
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
    let relaxed = std::sync::atomic::Ordering::Relaxed;
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
        // What Redis prints when not built by GCC.
        line(&mut out, "gcc_version", &"0.0.0");
        line(&mut out, "process_id", &std::process::id());
        line(&mut out, "process_supervised", &"no");
        line(&mut out, "run_id", &ctx.shared.run_id);
        line(&mut out, "tcp_port", &ctx.shared.tcp_port);
        line(&mut out, "server_time_usec", &unix_us());
        line(&mut out, "uptime_in_seconds", &uptime);
        line(&mut out, "uptime_in_days", &(uptime / 86400));
        line(&mut out, "hz", &config.hz);
        line(&mut out, "configured_hz", &config.hz);
        line(&mut out, "lru_clock", &lru_clock());
        line(&mut out, "executable", &std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default());
        line(
            &mut out,
            "config_file",
            &config.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        );
        line(&mut out, "shards", &ctx.shared.shards);
        line(&mut out, "io_threads_active", &0);
        line(&mut out, "listener0", &listener(&config.bind, ctx.shared.tcp_port));
    }
    if section("clients", &mut out) {
        line(&mut out, "connected_clients", &ctx.shared.connected_clients.load(relaxed));
        line(&mut out, "cluster_connections", &0);
        line(&mut out, "maxclients", &config.maxclients);
        line(&mut out, "blocked_clients", &crate::server::blocking::blocked_clients());
        line(&mut out, "tracking_clients", &0);
        line(&mut out, "clients_in_timeout_table", &0);
        line(&mut out, "total_blocking_keys", &sum[at::BLOCKING_KEYS]);
        // Only stream consumer groups (and modules) block on deleted keys.
        line(&mut out, "total_blocking_keys_on_nokey", &0);
    }
    if section("memory", &mut out) {
        let rss = rss_bytes();
        let used = crate::alloc::used().map_or(rss, |bytes| bytes.saturating_sub(sum[at::UNTOUCHED]));
        line(&mut out, "used_memory", &used);
        line(&mut out, "used_memory_human", &human_bytes(used));
        line(&mut out, "used_memory_rss", &rss);
        line(&mut out, "used_memory_rss_human", &human_bytes(rss));
        let total = total_system_memory();
        line(&mut out, "total_system_memory", &total);
        line(&mut out, "total_system_memory_human", &human_bytes(total));
        line(&mut out, "maxmemory", &0);
        line(&mut out, "maxmemory_human", &"0B");
        line(&mut out, "maxmemory_policy", &"noeviction");
        line(&mut out, "mem_fragmentation_ratio", &format!("{:.2}", rss as f32 / used.max(1) as f32));
        line(&mut out, "mem_fragmentation_bytes", &(rss as i64 - used as i64));
        // No replicas, AOF or cluster bus: nothing held for them.
        for k in [
            "mem_not_counted_for_evict",
            "mem_replication_backlog",
            "mem_total_replication_buffers",
            "mem_clients_slaves",
        ] {
            line(&mut out, k, &0);
        }
        line(&mut out, "mem_cluster_links", &0);
        line(&mut out, "mem_aof_buffer", &0);
        line(&mut out, "mem_allocator", &"mimalloc");
        line(&mut out, "active_defrag_running", &0);
        line(&mut out, "lazyfree_pending_objects", &crate::shard::lazyfree::pending());
        line(&mut out, "lazyfreed_objects", &crate::shard::lazyfree::freed());
    }
    if section("persistence", &mut out) {
        persistence_section(&mut out, ctx.shared, &config, &sum, &log_sizes);
    }
    if section("stats", &mut out) {
        let kbps = |sum: u64| format!("{:.2}", rate_mean(sum) as f32 / 1024.0);
        line(&mut out, "total_connections_received", &sum[at::CONNECTIONS]);
        line(&mut out, "total_commands_processed", &sum[at::COMMANDS]);
        line(&mut out, "instantaneous_ops_per_sec", &rate_mean(sum[at::OPS_RATE]));
        line(&mut out, "total_net_input_bytes", &sum[at::NET_INPUT]);
        line(&mut out, "total_net_output_bytes", &sum[at::NET_OUTPUT]);
        line(&mut out, "total_net_repl_input_bytes", &0);
        line(&mut out, "total_net_repl_output_bytes", &0);
        line(&mut out, "instantaneous_input_kbps", &kbps(sum[at::INPUT_RATE]));
        line(&mut out, "instantaneous_output_kbps", &kbps(sum[at::OUTPUT_RATE]));
        line(&mut out, "instantaneous_input_repl_kbps", &kbps(0));
        line(&mut out, "instantaneous_output_repl_kbps", &kbps(0));
        line(&mut out, "rejected_connections", &ctx.shared.rejected_connections.load(relaxed));
        // shardis's own: connections moved to the core owning their keys.
        line(&mut out, "migrated_connections", &ctx.shared.migrated_connections.load(relaxed));
        // No replication: no syncs.
        line(&mut out, "sync_full", &0);
        line(&mut out, "sync_partial_ok", &0);
        line(&mut out, "sync_partial_err", &0);
        line(&mut out, "expired_keys", &sum[at::EXPIRED]);
        // maxmemory 0: nothing is evicted, keys or clients.
        line(&mut out, "evicted_keys", &0);
        line(&mut out, "evicted_clients", &0);
        line(&mut out, "total_eviction_exceeded_time", &0);
        line(&mut out, "current_eviction_exceeded_time", &0);
        line(&mut out, "keyspace_hits", &sum[at::HITS]);
        line(&mut out, "keyspace_misses", &sum[at::MISSES]);
        let pubsub = &ctx.shared.pubsub;
        line(&mut out, "pubsub_channels", &pubsub.count(crate::pubsub::Kind::Channel));
        line(&mut out, "pubsub_patterns", &pubsub.count(crate::pubsub::Kind::Pattern));
        line(&mut out, "pubsubshard_channels", &pubsub.count(crate::pubsub::Kind::Shard));
        // Never forks, no MIGRATE, not a replica, no active defrag, no
        // client-side caching: these stay 0.
        for k in [
            "latest_fork_usec",
            "total_forks",
            "migrate_cached_sockets",
            "slave_expires_tracked_keys",
            "active_defrag_hits",
            "active_defrag_misses",
            "active_defrag_key_hits",
            "active_defrag_key_misses",
            "total_active_defrag_time",
            "current_active_defrag_time",
            "tracking_total_keys",
            "tracking_total_items",
            "tracking_total_prefixes",
            // Errors from a master or the AOF: neither exists.
            "unexpected_error_replies",
        ] {
            line(&mut out, k, &0);
        }
        line(&mut out, "total_error_replies", &sum[at::ERRORS]);
        // No RESTORE: no payloads to sanitize.
        line(&mut out, "dump_payload_sanitizations", &0);
        line(&mut out, "total_reads_processed", &sum[at::READS]);
        line(&mut out, "total_writes_processed", &sum[at::WRITES]);
        line(&mut out, "io_threaded_reads_processed", &0);
        line(&mut out, "io_threaded_writes_processed", &0);
        // shardis: cross-shard transactions (see src/tx), summed over shards.
        line(&mut out, "tx_scheduled", &sum[at::TX_SCHEDULED]);
        line(&mut out, "tx_schedule_retries", &sum[at::TX_REFUSED]);
        line(&mut out, "tx_waiting_batches", &sum[at::TX_PARKED]);
        line(&mut out, "watched_keys", &sum[at::WATCHED]);
    }
    if section("replication", &mut out) {
        line(&mut out, "role", &"master");
        line(&mut out, "connected_slaves", &0);
        line(&mut out, "master_failover_state", &"no-failover");
        line(&mut out, "master_repl_offset", &0);
        line(&mut out, "second_repl_offset", &-1);
        line(&mut out, "repl_backlog_active", &0);
        line(&mut out, "repl_backlog_first_byte_offset", &0);
        line(&mut out, "repl_backlog_histlen", &0);
    }
    if section("cpu", &mut out) {
        let (user, sys) = cpu_times();
        line(&mut out, "used_cpu_sys", &format!("{:.6}", sys));
        line(&mut out, "used_cpu_user", &format!("{:.6}", user));
        line(&mut out, "used_cpu_sys_children", &"0.000000");
        line(&mut out, "used_cpu_user_children", &"0.000000");
    }
    section("modules", &mut out);
    if section("commandstats", &mut out) {
        let base = at::FIXED + at::PER_DB * dbs;
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
    if section("errorstats", &mut out) {
        for (prefix, n) in error_lines(errors) {
            let _ = write!(out, "errorstat_{}:count={}\r\n", safe_info_string(&prefix), n);
        }
    }
    // Latency tracking is not kept: Redis prints the bare title then too.
    section("latencystats", &mut out);
    if section("cluster", &mut out) {
        line(&mut out, "cluster_enabled", &0);
    }
    if section("keyspace", &mut out) {
        for db in 0..dbs {
            let from = at::FIXED + at::PER_DB * db;
            let d = &sum[from..from + at::PER_DB];
            let avg_ttl = d[2].checked_div(d[3]).unwrap_or(0);
            if d[0] > 0 {
                let _ = write!(out, "db{}:keys={},expires={},avg_ttl={}\r\n", db, d[0], d[1], avg_ttl);
            }
        }
    }
    reply.verbatim("txt", out.as_bytes());
}

/// The shards' error tables as one, in byte order: past Redis's limit of
/// prefixes, or if any shard's table is disabled, only the disabled entry.
fn error_lines(errors: BTreeMap<Vec<u8>, u64>) -> Vec<(Vec<u8>, u64)> {
    if errors.len() > ErrorStats::LIMIT || errors.contains_key(ErrorStats::DISABLED) {
        return vec![(ErrorStats::DISABLED.to_vec(), 1)];
    }
    errors.into_iter().collect()
}

/// Redis's `getSafeInfoString`: `#`, `:`, CR and LF would break INFO's
/// lines, so they are written as `_`.
fn safe_info_string(s: &[u8]) -> String {
    let safe: Vec<u8> = s.iter().map(|&b| if matches!(b, b'#' | b':' | b'\r' | b'\n') { b'_' } else { b }).collect();
    String::from_utf8_lossy(&safe).into_owned()
}

/// Redis's `getLRUClock`: Unix seconds, modulo 2^24.
fn lru_clock() -> u64 {
    (crate::server::shared::unix_ms() / 1000) & ((1 << 24) - 1)
}

/// Redis's `listener0` line: the addresses bound and the port.
fn listener(bind: &[String], port: u16) -> String {
    let mut s = "name=tcp".to_string();
    for b in bind {
        let _ = write!(s, ",bind={}", b);
    }
    let _ = write!(s, ",port={}", port);
    s
}

fn total_system_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| v.split_whitespace().next());
    kb.and_then(|kb| kb.parse::<u64>().ok()).map_or(0, |kb| kb * 1024)
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

/// INFO's persistence section: Redis's fields (no fork, so every
/// copy-on-write size is 0), then shardis's per-shard log sizes.
fn persistence_section(out: &mut String, shared: &Shared, config: &Config, sum: &[u64], log_sizes: &[u64]) {
    let g = &shared.persist;
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    let line = |out: &mut String, k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(out, "{}:{}\r\n", k, v);
    };
    let now = crate::server::shared::unix_ms() / 1000;
    let saving = g.saving.load(relaxed);
    let rewriting = saving && g.rewriting.load(relaxed);
    let bgsaving = saving && !rewriting;
    let running_secs = |on: bool| if on { now.saturating_sub(g.save_started.load(relaxed)) as i64 } else { -1 };
    let saves = g.saves.load(relaxed);
    let last_secs = g.last_save_secs.load(relaxed) as i64 - 1;
    let status = |failed: bool| if failed { "err" } else { "ok" };
    line(out, "loading", &(g.is_loading() as u8));
    line(out, "async_loading", &0);
    for k in ["current_cow_peak", "current_cow_size", "current_cow_size_age"] {
        line(out, k, &0);
    }
    line(out, "current_fork_perc", &"0.00");
    line(out, "current_save_keys_processed", &0);
    line(out, "current_save_keys_total", &0);
    line(out, "rdb_changes_since_last_save", &sum[at::CHANGES]);
    line(out, "rdb_bgsave_in_progress", &(bgsaving as u8));
    line(out, "rdb_last_save_time", &shared.last_save.load(relaxed));
    line(out, "rdb_last_bgsave_status", &status(g.last_save_failed.load(relaxed)));
    line(out, "rdb_last_bgsave_time_sec", &last_secs);
    line(out, "rdb_current_bgsave_time_sec", &running_secs(bgsaving));
    line(out, "rdb_saves", &saves);
    line(out, "rdb_last_cow_size", &0);
    line(out, "rdb_last_load_keys_expired", &0);
    line(out, "rdb_last_load_keys_loaded", &g.loaded_keys.load(relaxed));
    line(out, "aof_enabled", &(config.appendonly as u8));
    line(out, "aof_rewrite_in_progress", &(rewriting as u8));
    line(out, "aof_rewrite_scheduled", &0);
    line(out, "aof_last_rewrite_time_sec", &last_secs);
    line(out, "aof_current_rewrite_time_sec", &running_secs(rewriting));
    line(out, "aof_last_bgrewrite_status", &status(g.last_save_failed.load(relaxed)));
    line(out, "aof_rewrites", &saves);
    line(out, "aof_rewrites_consecutive_failures", &0);
    line(out, "aof_last_write_status", &status(g.failing_logs.load(relaxed) > 0));
    line(out, "aof_last_cow_size", &0);
    // No modules: no module forks.
    line(out, "module_fork_in_progress", &0);
    line(out, "module_fork_last_cow_size", &0);
    if config.appendonly {
        line(out, "aof_current_size", &sum[at::LOG_SIZE]);
        // What the log was rewritten into: the latest snapshot.
        line(out, "aof_base_size", &g.snapshot_bytes.load(relaxed));
        line(out, "aof_pending_rewrite", &0);
        line(out, "aof_buffer_length", &0);
        line(out, "aof_pending_bio_fsync", &0);
        line(out, "aof_delayed_fsync", &0);
    }
    // shardis: logs whose torn tail was cut at the last start, the
    // snapshot epoch, and each shard's current log segment size.
    line(out, "aof_torn_tails", &g.torn_tails.load(relaxed));
    line(out, "snapshot_epoch", &g.epoch.load(relaxed));
    for (i, size) in log_sizes.iter().enumerate() {
        line(out, &format!("aof_shard{}_size", i), size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(nums: &[u64], errors: &[(&[u8], u64)]) -> Vec<u8> {
        let mut bytes = (nums.len() as u64).to_le_bytes().to_vec();
        bytes.extend(nums.iter().flat_map(|n| n.to_le_bytes()));
        encode_errors(errors.iter().copied(), &mut bytes);
        bytes
    }

    #[test]
    fn parts_sum_integers_and_merge_error_tables() {
        let mut errors = BTreeMap::new();
        let a = decode_part(&part(&[1, 2, 3], &[(b"ERR", 2), (b"WRONGTYPE", 1)]), &mut errors);
        let b = decode_part(&part(&[4, 5, 6], &[(b"ERR", 1), (b"EXECABORT", 1)]), &mut errors);
        assert_eq!((a, b), (vec![1, 2, 3], vec![4, 5, 6]));
        let lines = error_lines(errors);
        assert_eq!(lines, [(b"ERR".to_vec(), 3), (b"EXECABORT".to_vec(), 1), (b"WRONGTYPE".to_vec(), 1)]);
        // A truncated part gives what it holds.
        let mut errors = BTreeMap::new();
        let raw = part(&[7, 8], &[(b"ERR", 1)]);
        assert_eq!(decode_part(&raw[..raw.len() - 1], &mut errors), [7, 8]);
        assert!(errors.is_empty());
    }

    #[test]
    fn error_tables_past_the_limit_show_disabled() {
        let many: BTreeMap<Vec<u8>, u64> =
            (0..=ErrorStats::LIMIT).map(|i| (format!("E{}", i).into_bytes(), 1)).collect();
        assert_eq!(error_lines(many), [(ErrorStats::DISABLED.to_vec(), 1)]);
        let one_disabled = BTreeMap::from([(b"ERR".to_vec(), 4), (ErrorStats::DISABLED.to_vec(), 1)]);
        assert_eq!(error_lines(one_disabled), [(ErrorStats::DISABLED.to_vec(), 1)]);
    }

    #[test]
    fn unsafe_info_characters_become_underscores() {
        assert_eq!(safe_info_string(b"A:B#C"), "A_B_C");
        assert_eq!(safe_info_string(b"WRONGTYPE"), "WRONGTYPE");
    }

    #[test]
    fn listener_line() {
        let bind = ["*".to_string(), "-::*".to_string()];
        assert_eq!(listener(&bind, 6379), "name=tcp,bind=*,bind=-::*,port=6379");
        assert_eq!(listener(&[], 7000), "name=tcp,port=7000");
    }
}
