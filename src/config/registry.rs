//! The settings registry: one entry per setting, in `redis.conf` order of
//! appearance for `--help` and [`Config::render_conf`].
//!
//! Adding a setting = adding a field to [`Config`] and one entry to
//! [`SETTINGS`]: name, one-line doc, default (as written after the name in a
//! config file; it is parsed by `Config::default()`), flags, and a kind built
//! with one of the accessor macros (`bool_field!`, `int_field!`,
//! `memory_field!`, `enum_field!`) or explicit functions for strings and
//! multi-argument settings.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::values::{conf_arg, format_memory, memtoull, strtoll_full};
use super::{Config, ConfigEnum, FsyncPolicy, LogLevel, OutputBufferLimit};

/// Setting flags (Redis's `MODIFIABLE_CONFIG`, `IMMUTABLE_CONFIG`,
/// `SENSITIVE_CONFIG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(u8);

impl Flags {
    /// Can be changed at runtime with CONFIG SET.
    pub const MUTABLE: Flags = Flags(1);
    /// Only from the config file or the command line.
    pub const IMMUTABLE: Flags = Flags(0);
    /// The value is a secret: redact it from logs, SLOWLOG, MONITOR.
    pub const SENSITIVE: Flags = Flags(2);

    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

/// Scratch state of one configuration load (config file plus command line,
/// or one `apply_text`): Redis 7.0 lets the first `save` line of a load
/// replace the defaults and the following ones accumulate.
#[derive(Debug, Default)]
pub struct Load {
    pub(super) reading_file: bool,
    pub(super) save_loaded: bool,
}

impl Load {
    pub(super) fn file() -> Load {
        Load { reading_file: true, save_loaded: false }
    }

    pub(super) fn runtime() -> Load {
        Load::default()
    }
}

/// Sets a multi-argument setting from its arguments.
pub type MultiSetter = fn(&mut Config, &[Vec<u8>], &mut Load) -> Result<(), String>;

/// How a setting's value is parsed, stored and formatted.
pub enum Kind {
    /// `yes` / `no`.
    Bool { get: fn(&Config) -> bool, set: fn(&mut Config, bool) },
    /// A strict integer (`string2ll`) in `min..=max`.
    Int { min: i64, max: i64, get: fn(&Config) -> i64, set: fn(&mut Config, i64) },
    /// A byte count with optional units (`memtoull`) in `min..=max`.
    Memory { min: u64, max: u64, get: fn(&Config) -> u64, set: fn(&mut Config, u64) },
    /// One of `names` (case-insensitive); `get`/`set` use indexes into it.
    Enum {
        names: &'static [&'static str],
        value_name: &'static str,
        get: fn(&Config) -> usize,
        set: fn(&mut Config, usize),
    },
    /// A single string argument.
    Str { get: fn(&Config) -> Vec<u8>, set: fn(&mut Config, &[u8]) -> Result<(), String> },
    /// Several arguments (Redis's `MULTI_ARG_CONFIG`): `render` gives the
    /// argument text of each config-file line.
    Multi { value_name: &'static str, set: MultiSetter, get: fn(&Config) -> String, render: fn(&Config) -> Vec<String> },
}

/// One setting of the registry.
pub struct Setting {
    /// Lower-case name, used in config files, `--name` flags, CONFIG GET/SET.
    pub name: &'static str,
    /// One line, for `--help` and the generated config file.
    pub doc: &'static str,
    /// The default value as written after the name in a config file.
    pub default: &'static str,
    pub flags: Flags,
    pub kind: Kind,
}

impl Setting {
    pub fn is_mutable(&self) -> bool {
        self.flags.contains(Flags::MUTABLE)
    }

    pub fn is_sensitive(&self) -> bool {
        self.flags.contains(Flags::SENSITIVE)
    }

    pub fn is_multi_arg(&self) -> bool {
        matches!(self.kind, Kind::Multi { .. })
    }

    /// The placeholder shown by `--help`.
    pub fn value_name(&self) -> &'static str {
        match &self.kind {
            Kind::Bool { .. } => "yes|no",
            Kind::Int { .. } => "N",
            Kind::Memory { .. } => "BYTES",
            Kind::Enum { value_name, .. } | Kind::Multi { value_name, .. } => value_name,
            Kind::Str { .. } => "STRING",
        }
    }

    /// Sets the value from a single argument (a whole CONFIG SET value for
    /// single-argument settings). Errors are Redis's reason texts.
    fn set_one(&self, cfg: &mut Config, arg: &[u8]) -> Result<(), String> {
        match &self.kind {
            Kind::Bool { set, .. } => {
                if arg.eq_ignore_ascii_case(b"yes") {
                    set(cfg, true);
                } else if arg.eq_ignore_ascii_case(b"no") {
                    set(cfg, false);
                } else {
                    return Err("argument must be 'yes' or 'no'".into());
                }
            }
            Kind::Int { min, max, set, .. } => {
                let v = super::values::string2ll(arg).ok_or("argument couldn't be parsed into an integer")?;
                if v < *min || v > *max {
                    return Err(format!("argument must be between {min} and {max} inclusive"));
                }
                set(cfg, v);
            }
            Kind::Memory { min, max, set, .. } => {
                let v = memtoull(arg).ok_or("argument must be a memory value")?;
                if v < *min || v > *max {
                    return Err(format!("argument must be between {min} and {max} inclusive"));
                }
                set(cfg, v);
            }
            Kind::Enum { names, set, .. } => match names.iter().position(|n| n.as_bytes().eq_ignore_ascii_case(arg)) {
                Some(i) => set(cfg, i),
                None => return Err(format!("argument(s) must be one of the following: {}", names.join(", "))),
            },
            Kind::Str { set, .. } => set(cfg, arg)?,
            Kind::Multi { set, .. } => set(cfg, &[arg.to_vec()], &mut Load::runtime())?,
        }
        Ok(())
    }

    /// Applies the arguments that follow the name on a config-file line (or
    /// a `--name` flag), as Redis's `loadServerConfigFromString` does: a
    /// single-argument setting needs exactly one; a multi-argument setting
    /// given one non-empty argument splits it (`save "3600 1 300 100"`).
    pub(super) fn apply_conf_args(&self, cfg: &mut Config, args: &[Vec<u8>], load: &mut Load) -> Result<(), String> {
        match &self.kind {
            Kind::Multi { set, .. } => {
                if args.len() == 1 && !args[0].is_empty() {
                    let split = crate::splitargs::split_args(&args[0])
                        .map_err(|_| "Unbalanced quotes in configuration line".to_string())?;
                    set(cfg, &split, load)
                } else {
                    set(cfg, args, load)
                }
            }
            _ if args.len() != 1 => Err("wrong number of arguments".into()),
            _ => self.set_one(cfg, &args[0]),
        }
    }

    /// Applies a CONFIG SET value: multi-argument settings split it on single
    /// spaces (Redis's `sdssplitlen(value, " ")`, so `""` is no arguments).
    pub(super) fn apply_config_set(&self, cfg: &mut Config, value: &[u8]) -> Result<(), String> {
        match &self.kind {
            Kind::Multi { set, .. } => {
                let args: Vec<Vec<u8>> = if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
                };
                set(cfg, &args, &mut Load::runtime())
            }
            _ => self.set_one(cfg, value),
        }
    }

    /// The CONFIG GET representation.
    pub fn get(&self, cfg: &Config) -> String {
        match &self.kind {
            Kind::Bool { get, .. } => if get(cfg) { "yes" } else { "no" }.into(),
            Kind::Int { get, .. } => get(cfg).to_string(),
            Kind::Memory { get, .. } => get(cfg).to_string(),
            Kind::Enum { names, get, .. } => names[get(cfg)].into(),
            Kind::Str { get, .. } => String::from_utf8_lossy(&get(cfg)).into_owned(),
            Kind::Multi { get, .. } => get(cfg),
        }
    }

    /// The config-file lines for the current value (without the doc).
    pub fn render(&self, cfg: &Config) -> Vec<String> {
        let args = match &self.kind {
            Kind::Bool { .. } | Kind::Int { .. } | Kind::Enum { .. } => vec![self.get(cfg)],
            Kind::Memory { get, .. } => vec![format_memory(get(cfg))],
            // Strings are always quoted, as CONFIG REWRITE does.
            Kind::Str { get, .. } => vec![super::values::repr(&get(cfg))],
            Kind::Multi { render, .. } => render(cfg),
        };
        args.into_iter().map(|a| format!("{} {}", self.name, a)).collect()
    }
}

/// Looks a setting up by name or alias, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static Setting> {
    let name =
        ALIASES.iter().find(|(alias, _)| alias.as_bytes().eq_ignore_ascii_case(name)).map_or(name, |a| a.1.as_bytes());
    SETTINGS.iter().find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Old names Redis still accepts (and CONFIG GET lists), with the setting
/// each stands for.
pub static ALIASES: &[(&str, &str)] = &[
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
];

/// The names a setting answers to: its own, then its aliases.
pub fn names_of(s: &'static Setting) -> impl Iterator<Item = &'static str> {
    std::iter::once(s.name).chain(ALIASES.iter().filter(move |a| a.1 == s.name).map(|a| a.0))
}

macro_rules! bool_field {
    ($field:ident) => {
        Kind::Bool { get: |c| c.$field, set: |c, v| c.$field = v }
    };
}

/// The range must fit the field's type: the setter casts.
macro_rules! int_field {
    ($field:ident, $min:expr, $max:expr) => {
        Kind::Int { min: $min, max: $max, get: |c| c.$field as i64, set: |c, v| c.$field = v as _ }
    };
}

macro_rules! memory_field {
    ($field:ident, $min:expr, $max:expr) => {
        Kind::Memory { min: $min, max: $max, get: |c| c.$field as u64, set: |c, v| c.$field = v as _ }
    };
}

macro_rules! enum_field {
    ($field:ident: $ty:ty) => {
        Kind::Enum {
            names: <$ty as ConfigEnum>::NAMES,
            value_name: <$ty as ConfigEnum>::VALUE_NAME,
            get: |c| c.$field.index(),
            set: |c, i| c.$field = <$ty as ConfigEnum>::from_index(i),
        }
    };
}

const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: u64 = i64::MAX as u64;
const MB: u64 = 1024 * 1024;

/// The registry.
pub static SETTINGS: &[Setting] = &[
    // --- Network ---------------------------------------------------------
    Setting {
        name: "bind",
        doc: "Interfaces to listen on, one or more addresses (\"*\" = all IPv4, \"::*\" = all IPv6, a leading \"-\" = optional).",
        default: "127.0.0.1",
        // Listeners are bound once per shard at start; rebinding live is not
        // supported, so CONFIG SET refuses rather than answer OK and do nothing.
        flags: Flags::IMMUTABLE,
        kind: Kind::Multi { value_name: "ADDR", set: set_bind, get: get_bind, render: render_bind },
    },
    Setting {
        name: "port",
        doc: "TCP port to accept connections on (0 is not supported: shardis serves TCP only).",
        default: "6379",
        flags: Flags::IMMUTABLE,
        kind: int_field!(port, 0, 65535),
    },
    Setting {
        name: "tcp-backlog",
        doc: "listen() backlog (also bounded by /proc/sys/net/core/somaxconn).",
        default: "511",
        flags: Flags::IMMUTABLE,
        kind: int_field!(tcp_backlog, 0, INT_MAX),
    },
    Setting {
        name: "timeout",
        doc: "Close a client after it has been idle this many seconds (0 = never).",
        default: "0",
        flags: Flags::MUTABLE,
        kind: int_field!(timeout, 0, INT_MAX),
    },
    Setting {
        name: "tcp-keepalive",
        doc: "Send TCP keepalives to clients every this many seconds (0 = off).",
        default: "300",
        flags: Flags::MUTABLE,
        kind: int_field!(tcp_keepalive, 0, INT_MAX),
    },
    // --- General ---------------------------------------------------------
    Setting {
        name: "shards",
        doc: "Number of shards, one thread pinned per core (0 = one per available core).",
        default: "0",
        flags: Flags::IMMUTABLE,
        kind: int_field!(shards, 0, 4096),
    },
    Setting {
        name: "databases",
        doc: "Number of logical databases (SELECT 0 .. databases-1).",
        default: "16",
        flags: Flags::IMMUTABLE,
        kind: int_field!(databases, 1, INT_MAX),
    },
    Setting {
        name: "loglevel",
        doc: "Log verbosity: debug, verbose, notice or warning.",
        default: "notice",
        flags: Flags::MUTABLE,
        kind: enum_field!(loglevel: LogLevel),
    },
    Setting {
        name: "logfile",
        doc: "Log file name (\"\" = standard output).",
        default: "\"\"",
        flags: Flags::IMMUTABLE,
        kind: Kind::Str { get: |c| c.logfile.as_bytes().to_vec(), set: |c, v| {
            c.logfile = utf8(v)?;
            Ok(())
        } },
    },
    Setting {
        name: "dir",
        doc: "Working directory: the append-only files and snapshots are written here.",
        default: "./",
        flags: Flags::IMMUTABLE,
        kind: Kind::Str { get: |c| c.dir.as_os_str().as_bytes().to_vec(), set: set_dir },
    },
    // --- Security --------------------------------------------------------
    Setting {
        name: "requirepass",
        doc: "Password clients must AUTH with (\"\" = no password).",
        default: "\"\"",
        flags: Flags::MUTABLE.union(Flags::SENSITIVE),
        kind: Kind::Str {
            get: |c| c.requirepass.as_deref().unwrap_or("").as_bytes().to_vec(),
            set: |c, v| {
                c.requirepass = if v.is_empty() { None } else { Some(utf8(v)?) };
                Ok(())
            },
        },
    },
    // --- Clients and limits ----------------------------------------------
    Setting {
        name: "maxclients",
        doc: "Maximum number of connected clients.",
        default: "10000",
        flags: Flags::MUTABLE,
        kind: int_field!(maxclients, 1, UINT_MAX),
    },
    // --- Slow log ---------------------------------------------------------
    Setting {
        name: "slowlog-log-slower-than",
        doc: "Log commands that run at least this many microseconds in SLOWLOG (negative = off, 0 = every command).",
        default: "10000",
        flags: Flags::MUTABLE,
        kind: int_field!(slowlog_log_slower_than, -1, i64::MAX),
    },
    Setting {
        name: "slowlog-max-len",
        doc: "Most entries SLOWLOG keeps.",
        default: "128",
        flags: Flags::MUTABLE,
        kind: int_field!(slowlog_max_len, 0, i64::MAX),
    },
    Setting {
        name: "proto-max-bulk-len",
        doc: "Maximum size of a single bulk string in a request.",
        default: "512mb",
        flags: Flags::MUTABLE,
        kind: memory_field!(proto_max_bulk_len, MB, LONG_MAX),
    },
    Setting {
        name: "client-query-buffer-limit",
        doc: "Maximum size of a client's query buffer.",
        default: "1gb",
        flags: Flags::MUTABLE,
        kind: memory_field!(client_query_buffer_limit, MB, LONG_MAX),
    },
    Setting {
        name: "client-output-buffer-limit",
        doc: "Output buffer limits per client class: <normal|replica|pubsub> <hard> <soft> <soft-seconds>, repeatable (0 = no limit).",
        default: "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60",
        flags: Flags::MUTABLE,
        kind: Kind::Multi {
            value_name: "CLASS HARD SOFT SECONDS",
            set: set_output_buffer_limit,
            get: get_output_buffer_limit,
            render: render_output_buffer_limit,
        },
    },
    // --- Persistence -----------------------------------------------------
    Setting {
        name: "save",
        doc: "Snapshot after <seconds> if at least <changes> writes happened, several pairs allowed (save \"\" = never).",
        default: "3600 1 300 100 60 10000",
        flags: Flags::MUTABLE,
        kind: Kind::Multi { value_name: "SECONDS CHANGES", set: set_save, get: get_save, render: render_save },
    },
    Setting {
        name: "appendonly",
        doc: "Log every write to the append-only file (shardis default: yes).",
        default: "yes",
        flags: Flags::MUTABLE,
        kind: bool_field!(appendonly),
    },
    Setting {
        name: "appendfsync",
        doc: "When to fsync the append-only file: always, everysec or no (leave it to the OS).",
        default: "everysec",
        flags: Flags::MUTABLE,
        kind: enum_field!(appendfsync: FsyncPolicy),
    },
    Setting {
        name: "auto-aof-rewrite-percentage",
        doc: "Rewrite the append-only file when it grew by this percentage since the last rewrite (0 = never).",
        default: "100",
        flags: Flags::MUTABLE,
        kind: int_field!(auto_aof_rewrite_percentage, 0, INT_MAX),
    },
    Setting {
        name: "auto-aof-rewrite-min-size",
        doc: "Do not rewrite the append-only file automatically below this size.",
        default: "64mb",
        flags: Flags::MUTABLE,
        kind: memory_field!(auto_aof_rewrite_min_size, 0, LONG_MAX),
    },
    Setting {
        name: "aof-load-truncated",
        doc: "Start even if a log's last record is torn (cut there, with a warning); no = refuse to start.",
        default: "yes",
        flags: Flags::MUTABLE,
        kind: bool_field!(aof_load_truncated),
    },
    Setting {
        name: "stop-writes-on-bgsave-error",
        doc: "Refuse writes (-MISCONF) while the last snapshot failed.",
        default: "yes",
        flags: Flags::MUTABLE,
        kind: bool_field!(stop_writes_on_bgsave_error),
    },
    // --- Collection encodings -------------------------------------------
    Setting {
        name: "list-max-listpack-size",
        doc: "Entries per list node: positive = at most that many elements, -1..-5 = at most 4/8/16/32/64 KB.",
        default: "-2",
        flags: Flags::MUTABLE,
        kind: int_field!(list_max_listpack_size, INT_MIN, INT_MAX),
    },
    Setting {
        name: "list-compress-depth",
        doc: "Quicklist nodes kept uncompressed at each end (accepted for redis.conf compatibility; shardis does not compress list nodes yet).",
        default: "0",
        flags: Flags::MUTABLE,
        kind: int_field!(list_compress_depth, 0, INT_MAX),
    },
    Setting {
        name: "hash-max-listpack-entries",
        doc: "A hash with more fields than this leaves the compact listpack encoding.",
        default: "512",
        flags: Flags::MUTABLE,
        kind: int_field!(hash_max_listpack_entries, 0, LONG_MAX as i64),
    },
    Setting {
        name: "hash-max-listpack-value",
        doc: "A hash with a field or value longer than this leaves the listpack encoding.",
        default: "64",
        flags: Flags::MUTABLE,
        kind: memory_field!(hash_max_listpack_value, 0, LONG_MAX),
    },
    Setting {
        name: "set-max-intset-entries",
        doc: "A set of integers with more members than this leaves the intset encoding.",
        default: "512",
        flags: Flags::MUTABLE,
        kind: int_field!(set_max_intset_entries, 0, LONG_MAX as i64),
    },
    Setting {
        name: "set-max-listpack-entries",
        doc: "A set with more members than this leaves the listpack encoding.",
        default: "128",
        flags: Flags::MUTABLE,
        kind: int_field!(set_max_listpack_entries, 0, LONG_MAX as i64),
    },
    Setting {
        name: "set-max-listpack-value",
        doc: "A set with a member longer than this leaves the listpack encoding.",
        default: "64",
        flags: Flags::MUTABLE,
        kind: memory_field!(set_max_listpack_value, 0, LONG_MAX),
    },
    Setting {
        name: "zset-max-listpack-entries",
        doc: "A sorted set with more members than this leaves the listpack encoding.",
        default: "128",
        flags: Flags::MUTABLE,
        kind: int_field!(zset_max_listpack_entries, 0, LONG_MAX as i64),
    },
    Setting {
        name: "zset-max-listpack-value",
        doc: "A sorted set with a member longer than this leaves the listpack encoding.",
        default: "64",
        flags: Flags::MUTABLE,
        kind: memory_field!(zset_max_listpack_value, 0, LONG_MAX),
    },
    // --- Advanced --------------------------------------------------------
    Setting {
        name: "hz",
        doc: "Frequency of background tasks (expiry, timeouts) per second; values are capped to 1..500.",
        default: "10",
        flags: Flags::MUTABLE,
        // Redis accepts 0..INT_MAX and silently caps to 1..=500.
        kind: Kind::Int { min: 0, max: INT_MAX, get: |c| c.hz.into(), set: |c, v| c.hz = v.clamp(1, 500) as u32 },
    },
    Setting {
        name: "notify-keyspace-events",
        doc: "Keyspace events published over pub/sub: K (keyspace) and/or E (keyevent) with classes g$lshzxetdmn, A = g$lshzxetd (\"\" = off).",
        default: "\"\"",
        flags: Flags::MUTABLE,
        kind: Kind::Str {
            get: |c| crate::notify::format(c.notify_keyspace_events).into_bytes(),
            set: |c, v| {
                let flags = crate::notify::parse(v)
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                c.notify_keyspace_events = flags;
                Ok(())
            },
        },
    },
    // --- shardis runtime -------------------------------------------------
    Setting {
        name: "io-memory",
        doc: "DMA memory reserved per shard for I/O buffers (0 = sized to the memlock limit).",
        default: "0",
        flags: Flags::IMMUTABLE,
        kind: memory_field!(io_memory, 0, LONG_MAX),
    },
    Setting {
        name: "spin-before-park",
        doc: "Microseconds an idle shard spins before sleeping (0 = sleep at once).",
        default: "0",
        flags: Flags::IMMUTABLE,
        kind: int_field!(spin_before_park, 0, 1_000_000),
    },
    Setting {
        name: "migrate-connections",
        doc: "Move a connection to the shard owning its keys once its commands keep going there.",
        default: "yes",
        flags: Flags::MUTABLE,
        kind: bool_field!(migrate_connections),
    },
    Setting {
        name: "preempt-timer",
        doc: "Milliseconds a shard runs a task queue before yielding to the others.",
        default: "1",
        flags: Flags::IMMUTABLE,
        kind: int_field!(preempt_timer, 1, 100),
    },
];

fn utf8(v: &[u8]) -> Result<String, String> {
    String::from_utf8(v.to_vec()).map_err(|_| "argument must be a valid UTF-8 string".to_string())
}

fn set_dir(c: &mut Config, v: &[u8]) -> Result<(), String> {
    if v.is_empty() {
        // What chdir("") reports in Redis.
        return Err("No such file or directory".into());
    }
    c.dir = PathBuf::from(OsStr::from_bytes(v));
    Ok(())
}

/// Redis's `CONFIG_BINDADDR_MAX`.
const BINDADDR_MAX: usize = 16;

fn set_bind(c: &mut Config, args: &[Vec<u8>], _: &mut Load) -> Result<(), String> {
    if args.len() > BINDADDR_MAX {
        return Err("Too many bind addresses specified.".into());
    }
    // A single empty argument means no TCP listener at all.
    let args = if args.len() == 1 && args[0].is_empty() { &[][..] } else { args };
    // Redis only notices an empty address when binding it.
    if args.iter().any(|a| a.is_empty()) {
        return Err("Failed to bind to specified addresses.".into());
    }
    c.bind = args.iter().map(|a| utf8(a)).collect::<Result<_, _>>()?;
    Ok(())
}

fn get_bind(c: &Config) -> String {
    c.bind.join(" ")
}

fn render_bind(c: &Config) -> Vec<String> {
    if c.bind.is_empty() {
        return vec!["\"\"".into()];
    }
    vec![c.bind.iter().map(|a| conf_arg(a.as_bytes())).collect::<Vec<_>>().join(" ")]
}

fn set_save(c: &mut Config, args: &[Vec<u8>], load: &mut Load) -> Result<(), String> {
    const INVALID: &str = "Invalid save parameters";
    // A single "" means no save points.
    let args = if args.len() == 1 && args[0].is_empty() {
        c.save.clear();
        &[][..]
    } else {
        args
    };
    if !args.len().is_multiple_of(2) {
        return Err(INVALID.into());
    }
    let mut points = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks(2) {
        let seconds = strtoll_full(&pair[0]).filter(|&v| v >= 1).ok_or(INVALID)?;
        let changes = strtoll_full(&pair[1]).filter(|&v| v >= 0).ok_or(INVALID)?;
        points.push((seconds as u64, changes as u64));
    }
    // In a config file the first `save` line replaces the defaults and the
    // following ones add to it; CONFIG SET always replaces.
    if !load.reading_file || !load.save_loaded {
        load.save_loaded = true;
        c.save.clear();
    }
    c.save.extend(points);
    Ok(())
}

fn get_save(c: &Config) -> String {
    let parts: Vec<String> = c.save.iter().map(|(s, n)| format!("{s} {n}")).collect();
    parts.join(" ")
}

fn render_save(c: &Config) -> Vec<String> {
    if c.save.is_empty() {
        return vec!["\"\"".into()];
    }
    c.save.iter().map(|(s, n)| format!("{s} {n}")).collect()
}

/// Class names in CONFIG GET order (Redis's `getClientTypeName`).
const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

fn set_output_buffer_limit(c: &mut Config, args: &[Vec<u8>], _: &mut Load) -> Result<(), String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    // Validate everything first: all or nothing.
    let mut next = c.client_output_buffer_limit;
    for group in args.chunks(4) {
        let class = &group[0];
        let idx = if class.eq_ignore_ascii_case(b"normal") {
            0
        } else if class.eq_ignore_ascii_case(b"slave") || class.eq_ignore_ascii_case(b"replica") {
            1
        } else if class.eq_ignore_ascii_case(b"pubsub") {
            2
        } else {
            // Includes "master", which Redis knows but rejects here.
            return Err("Invalid client class specified in buffer limit configuration.".into());
        };
        let hard = memtoull(&group[1]);
        let soft = memtoull(&group[2]);
        // Redis truncates soft_seconds to an int: only accept what fits.
        let secs = strtoll_full(&group[3]).filter(|&v| (0..=i64::from(i32::MAX)).contains(&v));
        match (hard, soft, secs) {
            (Some(hard), Some(soft), Some(secs)) => {
                next[idx] = OutputBufferLimit { hard, soft, soft_seconds: secs as u64 };
            }
            _ => return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()),
        }
    }
    c.client_output_buffer_limit = next;
    Ok(())
}

fn get_output_buffer_limit(c: &Config) -> String {
    let parts: Vec<String> = OBUF_CLASSES
        .iter()
        .zip(&c.client_output_buffer_limit)
        .map(|(name, l)| format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds))
        .collect();
    parts.join(" ")
}

fn render_output_buffer_limit(c: &Config) -> Vec<String> {
    // CONFIG REWRITE writes "replica" rather than "slave".
    ["normal", "replica", "pubsub"]
        .iter()
        .zip(&c.client_output_buffer_limit)
        .map(|(name, l)| format!("{name} {} {} {}", format_memory(l.hard), format_memory(l.soft), l.soft_seconds))
        .collect()
}
