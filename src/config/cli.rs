//! Command line: redis-server's argument grammar, with a clap command built
//! from the registry for `--help`, `--version` and unknown-flag errors.
//!
//! redis-server groups arguments itself: the first argument is the config
//! file unless it starts with `-`, `--name` starts a directive, and every
//! other argument is a value of the current directive (even `-1` or `-::*`).
//! The groups are then handed to clap in a normalised form, one
//! `--name=<values>` token per directive with the values quoted and joined
//! with spaces exactly as redis-server builds its option lines, so clap
//! never has to guess whether a value that starts with `-` is a flag. The
//! values themselves are applied from the groups, like config-file lines.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, Command};

use super::registry::{lookup, Load, SETTINGS};
use super::values::{conf_arg, repr};
use super::{Config, ConfigError};
use crate::splitargs::split_args;

/// Id of the positional config file argument.
const FILE_ARG: &str = "CONFIG_FILE";
/// Id (and long flag) of `--config FILE`.
const CONFIG_FLAG: &str = "config";

/// The clap command generated from the registry (also useful to render help
/// or man pages).
pub(super) fn command() -> Command {
    let mut cmd = Command::new("shardis")
        .version(env!("CARGO_PKG_VERSION"))
        .disable_version_flag(true)
        .about("A Redis-compatible, thread-per-core in-memory data store")
        .override_usage(
            "shardis [/path/to/shardis.conf] [--<setting> <value>...]...\n       \
             shardis --config /path/to/shardis.conf [--<setting> <value>...]...",
        )
        .after_help(
            "Every setting of the config file is also a flag; flags override the file.\n\
             Several values are joined with spaces, as redis-server does.\n\n\
             Examples:\n  \
             shardis\n  \
             shardis /etc/shardis/shardis.conf\n  \
             shardis --port 7777\n  \
             shardis /etc/shardis/shardis.conf --port 6380 --save \"\" --bind 127.0.0.1 ::1\n  \
             shardis --save \"3600 1\" --loglevel verbose\n\n\
             Repairing a damaged log (cuts it at its first bad record, losing what follows):\n  \
             shardis --repair-log <dir>/shard-<i>/log-<epoch>.seg",
        )
        .arg(
            Arg::new("version")
                .short('v')
                .long("version")
                .visible_short_alias('V')
                .action(ArgAction::Version)
                .help("Print version"),
        )
        .arg(Arg::new(FILE_ARG).value_parser(ValueParser::os_string()).help("Config file in redis.conf syntax"))
        .arg(
            Arg::new(CONFIG_FLAG)
                .long(CONFIG_FLAG)
                .value_name("FILE")
                .value_parser(ValueParser::os_string())
                .conflicts_with(FILE_ARG)
                .help("Config file in redis.conf syntax (instead of the first argument)"),
        );
    for s in SETTINGS {
        cmd = cmd.arg(
            Arg::new(s.name)
                .long(s.name)
                .help(format!("{} [default: {}]", s.doc, s.default))
                .value_name(s.value_name())
                .num_args(1..)
                .action(ArgAction::Append)
                .allow_negative_numbers(true)
                .value_parser(ValueParser::os_string())
                .help_heading("Settings"),
        );
    }
    cmd
}

/// One `--name values...` directive of the command line.
struct Directive {
    name: String,
    values: Vec<Vec<u8>>,
}

pub(super) fn from_args<I: IntoIterator<Item = OsString>>(args: I) -> Result<Config, ConfigError> {
    let args: Vec<Vec<u8>> = args.into_iter().map(OsString::into_vec).collect();
    let mut normalized: Vec<OsString> = vec!["shardis".into()];
    let mut rest = &args[..];
    if let Some((first, tail)) = args.split_first() {
        if !first.starts_with(b"-") {
            normalized.push(OsString::from_vec(first.clone()));
            rest = tail;
        }
    }
    let directives = group(rest, &mut normalized);

    let matches = command().try_get_matches_from(normalized).map_err(ConfigError::Clap)?;
    let file = matches.get_one::<OsString>(FILE_ARG).or_else(|| matches.get_one::<OsString>(CONFIG_FLAG));

    let mut cfg = Config::default();
    // The file and the flags are one load, as in redis-server.
    let mut load = Load::file();
    if let Some(path) = file {
        let path = Path::new(path);
        cfg.load_file(path, &mut load)?;
        cfg.config_file = Some(absolute(path));
    }
    for d in directives.iter().filter(|d| d.name != CONFIG_FLAG) {
        // clap rejected unknown names already.
        let setting = lookup(d.name.as_bytes()).expect("clap validated the flag name");
        setting.apply_conf_args(&mut cfg, &d.values, &mut load).map_err(|reason| {
            let shown: Vec<String> = d.values.iter().map(|v| conf_arg(v)).collect();
            ConfigError::Invalid(format!("Invalid command line option '--{} {}': {reason}", d.name, shown.join(" ")))
        })?;
    }
    Ok(cfg)
}

/// Groups `args` into directives the way redis-server does, and appends
/// their normalised form (plus any argument that is not part of a directive,
/// such as `-h`) to `normalized` for clap.
fn group(args: &[Vec<u8>], normalized: &mut Vec<OsString>) -> Vec<Directive> {
    enum Item {
        Directive(Directive),
        Stray(Vec<u8>),
    }
    let mut items: Vec<Item> = Vec::new();
    // Whether the last item is a directive that still takes values.
    let mut open = false;
    for arg in args {
        let last = match items.last_mut() {
            Some(Item::Directive(d)) if open => Some(d),
            _ => None,
        };
        // As in redis-server (7.0.1+), a directive always gets at least one
        // value, even one starting with `--`; except `--save`, which is
        // `--save ""` when directly followed by another `--name`.
        match last {
            Some(d) if d.values.is_empty() && d.name != "save" => d.values.push(arg.clone()),
            _ if arg.len() > 2 && arg.starts_with(b"--") => {
                let d = directive(&arg[2..]);
                open = !matches!(d.name.as_str(), "help" | "version");
                items.push(Item::Directive(d));
            }
            Some(d) if arg.as_slice() != b"--" => d.values.push(arg.clone()),
            _ => {
                // `-h`, `-v`, `--`, or a value before any directive: clap decides.
                items.push(Item::Stray(arg.clone()));
                open = false;
            }
        }
    }
    let mut directives = Vec::new();
    for item in items {
        match item {
            Item::Directive(mut d) => {
                // redis-server treats a bare `--save` as `--save ""`.
                if d.name == "save" && d.values.is_empty() {
                    d.values.push(Vec::new());
                }
                normalized.extend(normalized_flag(&d));
                directives.push(d);
            }
            Item::Stray(arg) => normalized.push(OsString::from_vec(arg)),
        }
    }
    directives
}

/// Parses the `name`, `name=value` or `"name value..."` after `--`.
fn directive(body: &[u8]) -> Directive {
    if let Some(eq) = body.iter().position(|&b| b == b'=') {
        return Directive { name: lower(&body[..eq]), values: vec![body[eq + 1..].to_vec()] };
    }
    // redis-server also accepts a name and its values in one argument.
    if body.iter().any(u8::is_ascii_whitespace) {
        if let Ok(mut parts) = split_args(body) {
            if !parts.is_empty() {
                let name = lower(&parts.remove(0));
                return Directive { name, values: parts };
            }
        }
    }
    Directive { name: lower(body), values: Vec::new() }
}

fn lower(name: &[u8]) -> String {
    String::from_utf8_lossy(name).to_ascii_lowercase()
}

/// The clap tokens for one directive.
fn normalized_flag(d: &Directive) -> Vec<OsString> {
    let flag = format!("--{}", d.name);
    let Some((first, more)) = d.values.split_first() else {
        return vec![flag.into()];
    };
    if d.name == CONFIG_FLAG {
        // A path, not a config line: pass it through unquoted; clap rejects
        // any extra value.
        let mut out = vec![OsString::from_vec([flag.as_bytes(), b"=", first].concat())];
        out.extend(more.iter().map(|v| OsString::from_vec(v.clone())));
        return out;
    }
    let joined: Vec<String> = d.values.iter().map(|v| repr(v)).collect();
    vec![format!("{flag}={}", joined.join(" ")).into()]
}

/// Redis's `getAbsolutePath`, without resolving symlinks.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
