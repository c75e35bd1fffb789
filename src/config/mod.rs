//! Server configuration: one registry of settings ([`registry::SETTINGS`])
//! drives the typed [`Config`], `redis.conf` parsing, command-line flags,
//! CONFIG GET / CONFIG SET and the generated example config file.
//!
//! Behaviour follows Redis 7.0 (`config.c`): value syntax, error texts,
//! `save` accumulation, multi-argument settings, CONFIG SET atomicity.
//! Differences, all deliberate:
//!
//! * `port` and `dir` cannot be changed with CONFIG SET (Redis rebinds /
//!   chdirs); `appendonly` defaults to `yes`; `bind` defaults to `127.0.0.1`.
//! * `include`, `rename-command`, `user`, `loadmodule` and module settings are
//!   not supported ("Bad directive or wrong number of arguments").
//! * Overflowing memory values are rejected (range error) instead of
//!   wrapping; `client-output-buffer-limit` soft seconds must fit an `int`
//!   instead of being truncated to one.
//! * Strings (`requirepass`, `logfile`, `bind`) must be UTF-8.
//! * `--name=value` is accepted on the command line besides `--name value`.

mod cli;
pub mod registry;
mod values;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use registry::{lookup, Flags, Kind, Setting, SETTINGS};
pub use values::{format_memory, memtoull};

use crate::glob::glob_match;
use crate::splitargs::split_args;
use registry::Load;

/// The typed server configuration. `Config::default()` holds every
/// registry default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `bind`: addresses to listen on, as given (`*`, `-::*`, ...).
    pub bind: Vec<String>,
    /// `port` (immutable).
    pub port: u16,
    /// `shards`: 0 = one per available core (immutable).
    pub shards: usize,
    /// `dir`: data directory, created by the server if missing (immutable).
    pub dir: PathBuf,
    /// `databases` >= 1 (immutable).
    pub databases: usize,
    pub maxclients: usize,
    /// `slowlog-log-slower-than`: microseconds; negative = off, 0 = all.
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    /// `requirepass`: `None` when empty.
    pub requirepass: Option<String>,
    pub loglevel: LogLevel,
    /// `logfile`: empty = standard output (immutable).
    pub logfile: String,
    /// `timeout`: idle seconds before closing a client, 0 = never.
    pub timeout: u64,
    pub tcp_keepalive: u64,
    /// `tcp-backlog` (immutable).
    pub tcp_backlog: u32,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    /// `client-output-buffer-limit`, indexed by [`ClientClass`].
    pub client_output_buffer_limit: [OutputBufferLimit; 3],
    pub appendonly: bool,
    pub appendfsync: FsyncPolicy,
    /// `save`: (seconds, changes) snapshot points; empty = never.
    pub save: Vec<(u64, u64)>,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    /// Start with a log whose last frame is torn, cutting it (else refuse).
    pub aof_load_truncated: bool,
    /// Refuse writes while the last snapshot failed.
    pub stop_writes_on_bgsave_error: bool,
    /// Collection encoding thresholds (Redis's `*-max-listpack-*`), see
    /// [`crate::types::Limits`].
    pub list_max_listpack_size: i32,
    pub list_compress_depth: u32,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// `hz`, always within 1..=500 (out-of-range values are capped).
    pub hz: u32,
    /// `notify-keyspace-events`: the event classes published, see
    /// [`crate::notify::class`].
    pub notify_keyspace_events: u32,
    /// `io-memory`: DMA memory per shard, 0 = auto (immutable).
    pub io_memory: u64,
    /// `spin-before-park`: microseconds (immutable).
    pub spin_before_park: u64,
    /// Move a connection to the shard its commands keep going to (`server::migrate`).
    pub migrate_connections: bool,
    /// `preempt-timer`: milliseconds, 1..=100 (immutable).
    pub preempt_timer: u64,
    /// Not a setting: the absolute path of the config file the server was
    /// started with (for CONFIG REWRITE and INFO), set by [`Config::from_args`].
    pub config_file: Option<PathBuf>,
}

/// Index into [`Config::client_output_buffer_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputBufferLimit {
    /// Bytes; 0 = no limit.
    pub hard: u64,
    /// Bytes; 0 = no limit.
    pub soft: u64,
    pub soft_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    Everysec,
    No,
}

/// An enum setting: its names in Redis's order (error messages list them in
/// that order).
pub trait ConfigEnum: Copy + PartialEq + 'static {
    const NAMES: &'static [&'static str];
    const VALUES: &'static [Self];
    /// The names joined with `|`, for `--help`.
    const VALUE_NAME: &'static str;

    fn index(self) -> usize {
        Self::VALUES.iter().position(|&v| v == self).expect("every variant is listed")
    }

    fn from_index(i: usize) -> Self {
        Self::VALUES[i]
    }

    fn name(self) -> &'static str {
        Self::NAMES[self.index()]
    }
}

impl ConfigEnum for LogLevel {
    const NAMES: &'static [&'static str] = &["debug", "verbose", "notice", "warning"];
    const VALUES: &'static [Self] = &[LogLevel::Debug, LogLevel::Verbose, LogLevel::Notice, LogLevel::Warning];
    const VALUE_NAME: &'static str = "debug|verbose|notice|warning";
}

impl ConfigEnum for FsyncPolicy {
    const NAMES: &'static [&'static str] = &["everysec", "always", "no"];
    const VALUES: &'static [Self] = &[FsyncPolicy::Everysec, FsyncPolicy::Always, FsyncPolicy::No];
    const VALUE_NAME: &'static str = "everysec|always|no";
}

/// A configuration error. `Display` gives the text to print before exiting.
#[derive(Debug)]
pub enum ConfigError {
    /// Command-line syntax, unknown flag, `--help`, `--version`: the caller
    /// should `e.exit()` (prints and uses the right exit code).
    Clap(clap::Error),
    /// A bad line in a config file (or in `apply_text`'s text).
    File { path: String, line_no: usize, line: String, reason: String },
    /// A bad command-line value; the message names the flag.
    Invalid(String),
    /// The config file could not be read.
    Io(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Clap(e) => write!(f, "{e}"),
            ConfigError::File { path, line_no, line, reason } => write!(
                f,
                "*** FATAL CONFIG FILE ERROR (shardis) ***\n\
                 Reading the configuration file {path}, at line {line_no}\n\
                 >>> '{line}'\n\
                 {reason}"
            ),
            ConfigError::Invalid(msg) | ConfigError::Io(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    fn default() -> Config {
        let mut cfg = Config::zeroed();
        let mut load = Load::runtime();
        for s in SETTINGS {
            let args = split_args(s.default.as_bytes()).expect("registry default is a valid config line");
            if let Err(e) = s.apply_conf_args(&mut cfg, &args, &mut load) {
                panic!("invalid registry default for {}: {e}", s.name);
            }
        }
        cfg
    }
}

impl Config {
    /// Every field empty/zero; only a base for applying the defaults.
    fn zeroed() -> Config {
        Config {
            bind: Vec::new(),
            port: 0,
            shards: 0,
            dir: PathBuf::new(),
            databases: 0,
            maxclients: 0,
            slowlog_log_slower_than: 0,
            slowlog_max_len: 0,
            requirepass: None,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            timeout: 0,
            tcp_keepalive: 0,
            tcp_backlog: 0,
            proto_max_bulk_len: 0,
            client_query_buffer_limit: 0,
            client_output_buffer_limit: [OutputBufferLimit::default(); 3],
            appendonly: false,
            appendfsync: FsyncPolicy::Everysec,
            save: Vec::new(),
            auto_aof_rewrite_percentage: 0,
            auto_aof_rewrite_min_size: 0,
            aof_load_truncated: true,
            stop_writes_on_bgsave_error: true,
            list_max_listpack_size: 0,
            list_compress_depth: 0,
            hash_max_listpack_entries: 0,
            hash_max_listpack_value: 0,
            set_max_intset_entries: 0,
            set_max_listpack_entries: 0,
            set_max_listpack_value: 0,
            zset_max_listpack_entries: 0,
            zset_max_listpack_value: 0,
            hz: 0,
            notify_keyspace_events: 0,
            io_memory: 0,
            spin_before_park: 0,
            migrate_connections: false,
            preempt_timer: 0,
            config_file: None,
        }
    }

    /// The limits of one client class.
    pub fn output_buffer_limit(&self, class: ClientClass) -> OutputBufferLimit {
        self.client_output_buffer_limit[class as usize]
    }

    /// Builds the configuration from the command line (without `argv[0]`):
    /// defaults, then the config file, then the flags, e.g.
    /// `shardis`, `shardis FILE.conf`, `shardis --config FILE`,
    /// `shardis FILE.conf --port 6380 --save "" --bind 127.0.0.1 ::1`.
    ///
    /// As in redis-server, the first argument is the config file unless it
    /// starts with `-`; every `--<setting>` takes the following arguments up
    /// to the next `--...` (so values may start with a single `-`), and the
    /// file and the flags are one load: several `save` lines accumulate.
    /// `--help` / `--version` come back as [`ConfigError::Clap`].
    pub fn from_args<I: IntoIterator<Item = std::ffi::OsString>>(args: I) -> Result<Config, ConfigError> {
        cli::from_args(args)
    }

    /// Applies a `redis.conf`-syntax file on top of the current values.
    pub fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        self.load_file(path, &mut Load::file())
    }

    /// Applies `redis.conf`-syntax text; `source` names it in errors.
    pub fn apply_text(&mut self, text: &str, source: &str) -> Result<(), ConfigError> {
        self.load_bytes(text.as_bytes(), source, &mut Load::file())
    }

    fn load_file(&mut self, path: &Path, load: &mut Load) -> Result<(), ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| {
            ConfigError::Io(format!("Fatal error, can't open config file '{}': {}", path.display(), io_reason(&e)))
        })?;
        self.load_bytes(&bytes, &path.display().to_string(), load)
    }

    /// Redis's `loadServerConfigFromString`.
    fn load_bytes(&mut self, text: &[u8], source: &str, load: &mut Load) -> Result<(), ConfigError> {
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = trim(raw);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let fail = |reason: &str| ConfigError::File {
                path: source.to_string(),
                line_no: i + 1,
                line: String::from_utf8_lossy(line).into_owned(),
                reason: reason.to_string(),
            };
            let args = split_args(line).map_err(|_| fail("Unbalanced quotes in configuration line"))?;
            let Some((name, rest)) = args.split_first() else {
                continue;
            };
            let setting = lookup(name).ok_or_else(|| fail("Bad directive or wrong number of arguments"))?;
            setting.apply_conf_args(self, rest, load).map_err(|e| fail(&e))?;
        }
        Ok(())
    }

    /// CONFIG GET: every `(name, value)` whose name matches one of the
    /// patterns (case-insensitive globs; a pattern without `*`, `?` or `[` is
    /// an exact, case-insensitive name). No duplicates; registry order within
    /// each pattern. Values are formatted as Redis does (plain byte counts,
    /// `yes`/`no`, lower-case enums, space-separated lists).
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for pattern in patterns {
            let is_glob = pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?'));
            // As Redis 7.0, a pattern matching a setting and its alias lists both.
            for s in SETTINGS {
                for name in registry::names_of(s) {
                    let hit = if is_glob {
                        glob_match(pattern, name.as_bytes(), true)
                    } else {
                        name.as_bytes().eq_ignore_ascii_case(pattern)
                    };
                    if hit && !out.iter().any(|(n, _)| *n == name) {
                        out.push((name, s.get(self)));
                    }
                }
            }
        }
        out
    }

    /// CONFIG SET `name value [name value ...]`, all or nothing.
    ///
    /// The error is Redis 7.0's message **without** the leading `ERR ` (reply
    /// with `-ERR {msg}`), e.g.
    /// `Unknown option or number of arguments for CONFIG SET - 'foo'` or
    /// `CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer`.
    /// As in Redis, names are checked first (unknown, immutable, duplicate:
    /// the first problem wins), then values in order.
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        let mut settings: Vec<&'static Setting> = Vec::with_capacity(pairs.len());
        for (name, _) in pairs {
            let shown = String::from_utf8_lossy(name);
            let Some(s) = lookup(name) else {
                return Err(format!("Unknown option or number of arguments for CONFIG SET - '{shown}'"));
            };
            if !s.is_mutable() {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{shown}') - can't set immutable config"
                ));
            }
            if settings.iter().any(|seen| std::ptr::eq(*seen, s)) {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{shown}') - duplicate parameter"
                ));
            }
            settings.push(s);
        }
        let mut next = self.clone();
        for (s, (_, value)) in settings.iter().zip(pairs) {
            s.apply_config_set(&mut next, value)
                .map_err(|e| format!("CONFIG SET failed (possibly related to argument '{}') - {e}", s.name))?;
        }
        *self = next;
        Ok(())
    }

    /// Every setting with its current value in `redis.conf` syntax, each
    /// preceded by its doc: the example config file, and the base for CONFIG
    /// REWRITE. `apply_text` on the result reproduces this configuration.
    pub fn render_conf(&self) -> String {
        let mut out = String::from(
            "# shardis configuration file (redis.conf syntax).\n\
             #\n\
             # Start with: shardis /path/to/shardis.conf [--<setting> <value>...]\n\
             # Command-line flags override this file; settings marked \"runtime\" can\n\
             # also be changed with CONFIG SET.\n\
             #\n\
             # Memory units: 1k = 1000 bytes, 1kb = 1024 bytes, 1m = 1000000 bytes,\n\
             # 1mb = 1048576 bytes, 1g, 1gb; units are case-insensitive.\n",
        );
        for s in SETTINGS {
            let when = if s.is_mutable() { "runtime" } else { "startup only" };
            out.push_str(&format!("\n# {}\n# Default: {}; {when}.\n", s.doc, s.default));
            for line in s.render(self) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

/// `sdstrim(line, " \t\r\n")`.
fn trim(mut s: &[u8]) -> &[u8] {
    let junk = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while s.first().is_some_and(junk) {
        s = &s[1..];
    }
    while s.last().is_some_and(junk) {
        s = &s[..s.len() - 1];
    }
    s
}

/// `strerror`-like text for an I/O error (without Rust's "(os error N)").
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
