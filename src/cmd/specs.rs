//! What `COMMAND INFO` and `COMMAND DOCS` publish beyond the command table,
//! as Redis 7.2's `commands.def` declares it: the key specs that one range
//! over a command's `first/last/step` keys cannot describe (a destination
//! and its sources with different access flags, a `numkeys` argument,
//! notes), the command tips, and the commands' history and deprecations. Routing never reads these: it goes by the command
//! table's key positions.
//!
//! Commands not listed in [`KEY_SPECS`] publish one range spec over their
//! key positions, with the flags of their family's `KEY_FLAGS` entry.

use bytes::Bytes;

/// One key spec: where the search for its keys begins, how the keys are
/// found from there, and how the command uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub notes: Option<&'static str>,
    pub flags: &'static [&'static str],
    pub begin: Begin,
    pub find: Find,
}

/// `begin_search`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// At argument `index` (the command name is 0).
    Index(i32),
    /// Anywhere: the keys can only be found by parsing (SORT's STORE).
    Unknown,
}

/// `find_keys`, relative to where the search began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Find {
    /// Keys up to `lastkey` (negative: counted from the end), every
    /// `keystep`; `limit` > 1 stops at 1/limit of the remaining arguments.
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` counts the keys, which start at
    /// `firstkey`, every `keystep`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

impl KeySpec {
    /// Keys from argument `index` to `lastkey`, every `keystep`.
    pub const fn range(flags: &'static [&'static str], index: i32, lastkey: i32, keystep: i32) -> KeySpec {
        KeySpec { notes: None, flags, begin: Begin::Index(index), find: Find::Range { lastkey, keystep, limit: 0 } }
    }

    /// Keys counted by a `numkeys` argument, the search beginning at `index`.
    pub const fn keynum(
        flags: &'static [&'static str],
        index: i32,
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    ) -> KeySpec {
        KeySpec { notes: None, flags, begin: Begin::Index(index), find: Find::Keynum { keynumidx, firstkey, keystep } }
    }

    /// Keys only the command's own parsing can find.
    pub const fn unknown(flags: &'static [&'static str]) -> KeySpec {
        KeySpec { notes: None, flags, begin: Begin::Unknown, find: Find::Unknown }
    }

    pub const fn notes(self, notes: &'static str) -> KeySpec {
        KeySpec { notes: Some(notes), ..self }
    }

    /// Whether the keys' positions depend on the arguments: Redis then marks
    /// the command `movablekeys` (its `populateCommandMovableKeys`).
    pub fn is_movable(&self) -> bool {
        !matches!((self.begin, self.find), (Begin::Index(_), Find::Range { .. }))
    }

    /// Whether argument `pos` of `args` (name included) is one of this
    /// spec's keys, found as Redis's `getKeysUsingKeySpecs` finds them: a
    /// range or count reaching past the arguments finds none.
    pub fn covers(&self, pos: usize, args: &[Bytes]) -> bool {
        let Begin::Index(index) = self.begin else {
            return false;
        };
        let (argc, first) = (args.len() as i64, index as i64);
        let (first, last, step) = match self.find {
            Find::Range { lastkey, keystep, limit } => {
                let last = match (lastkey as i64, limit as i64) {
                    (l, _) if l >= 0 => first + l,
                    (l, limit) if limit > 0 => first + (argc - first) / limit + l,
                    (l, _) => argc + l,
                };
                (first, last, keystep as i64)
            }
            Find::Keynum { keynumidx, firstkey, keystep } => {
                let count = usize::try_from(first + keynumidx as i64)
                    .ok()
                    .and_then(|i| args.get(i))
                    .and_then(|n| super::parse_int(n))
                    .filter(|&n| (0..=argc).contains(&n));
                let Some(count) = count else {
                    return false;
                };
                let start = first + firstkey as i64;
                (start, start + count - 1, keystep as i64)
            }
            Find::Unknown => return false,
        };
        let Ok(pos) = i64::try_from(pos) else {
            return false;
        };
        let valid = step > 0 && first <= last && last < argc;
        valid && (first..=last).contains(&pos) && (pos - first) % step == 0
    }
}

const RO: &[&str] = &["RO"];
const RO_ACCESS: &[&str] = &["RO", "access"];
const OW_UPDATE: &[&str] = &["OW", "update"];
const RW_UPDATE: &[&str] = &["RW", "update"];
const POP: &[&str] = &["RW", "access", "delete"];
const PUSH: &[&str] = &["RW", "insert"];

/// The key specs of the commands whose keys are more than one range with
/// one set of flags, or whose flags their family does not list.
pub static KEY_SPECS: &[(&str, &[KeySpec])] = &[
    // Strings.
    (
        "set",
        &[KeySpec::range(&["RW", "access", "update", "variable_flags"], 1, 0, 1)
            .notes("RW and ACCESS due to the optional `GET` argument")],
    ),
    (
        "getex",
        &[KeySpec::range(&["RW", "access", "update"], 1, 0, 1).notes("RW and UPDATE because it changes the TTL")],
    ),
    // Bitmaps.
    ("bitop", &[KeySpec::range(OW_UPDATE, 2, 0, 1), KeySpec::range(RO_ACCESS, 3, -1, 1)]),
    (
        "bitfield",
        &[KeySpec::range(&["RW", "access", "update", "variable_flags"], 1, 0, 1)
            .notes("This command allows both access and modification of the key")],
    ),
    // Lists: the source popped from, the destination pushed to.
    ("lmove", &[KeySpec::range(POP, 1, 0, 1), KeySpec::range(PUSH, 2, 0, 1)]),
    ("rpoplpush", &[KeySpec::range(POP, 1, 0, 1), KeySpec::range(PUSH, 2, 0, 1)]),
    ("blmove", &[KeySpec::range(POP, 1, 0, 1), KeySpec::range(PUSH, 2, 0, 1)]),
    ("brpoplpush", &[KeySpec::range(POP, 1, 0, 1), KeySpec::range(PUSH, 2, 0, 1)]),
    ("lmpop", &[KeySpec::keynum(POP, 1, 0, 1, 1)]),
    ("blmpop", &[KeySpec::keynum(POP, 2, 0, 1, 1)]),
    // Sets: destinations, then the sources read.
    ("smove", &[KeySpec::range(POP, 1, 0, 1), KeySpec::range(PUSH, 2, 0, 1)]),
    ("sinterstore", &[KeySpec::range(RW_UPDATE, 1, 0, 1), KeySpec::range(RO_ACCESS, 2, -1, 1)]),
    ("sunionstore", &[KeySpec::range(OW_UPDATE, 1, 0, 1), KeySpec::range(RO_ACCESS, 2, -1, 1)]),
    ("sdiffstore", &[KeySpec::range(OW_UPDATE, 1, 0, 1), KeySpec::range(RO_ACCESS, 2, -1, 1)]),
    ("sintercard", &[KeySpec::keynum(RO_ACCESS, 1, 0, 1, 1)]),
    // Sorted sets.
    ("zrangestore", &[KeySpec::range(OW_UPDATE, 1, 0, 1), KeySpec::range(RO_ACCESS, 2, 0, 1)]),
    ("zunionstore", &[KeySpec::range(OW_UPDATE, 1, 0, 1), KeySpec::keynum(RO_ACCESS, 2, 0, 1, 1)]),
    ("zinterstore", &[KeySpec::range(OW_UPDATE, 1, 0, 1), KeySpec::keynum(RO_ACCESS, 2, 0, 1, 1)]),
    ("zdiffstore", &[KeySpec::range(OW_UPDATE, 1, 0, 1), KeySpec::keynum(RO_ACCESS, 2, 0, 1, 1)]),
    ("zunion", &[KeySpec::keynum(RO_ACCESS, 1, 0, 1, 1)]),
    ("zinter", &[KeySpec::keynum(RO_ACCESS, 1, 0, 1, 1)]),
    ("zdiff", &[KeySpec::keynum(RO_ACCESS, 1, 0, 1, 1)]),
    ("zintercard", &[KeySpec::keynum(RO_ACCESS, 1, 0, 1, 1)]),
    ("zmpop", &[KeySpec::keynum(POP, 1, 0, 1, 1)]),
    ("bzmpop", &[KeySpec::keynum(POP, 2, 0, 1, 1)]),
    // SORT: the key sorted, the keys its BY/GET patterns name, and STORE's.
    ("sort", &[KeySpec::range(RO_ACCESS, 1, 0, 1), SORT_PATTERNS, KeySpec::unknown(OW_UPDATE).notes(SORT_STORE)]),
    ("sort_ro", &[KeySpec::range(RO_ACCESS, 1, 0, 1), SORT_PATTERNS]),
    // Keyspace.
    ("del", &[KeySpec::range(&["RM", "delete"], 1, -1, 1)]),
    ("unlink", &[KeySpec::range(&["RM", "delete"], 1, -1, 1)]),
    // Only check for the key, never read its value.
    ("exists", &[KeySpec::range(RO, 1, -1, 1)]),
    ("touch", &[KeySpec::range(RO, 1, -1, 1)]),
    ("type", &[KeySpec::range(RO, 1, 0, 1)]),
    ("watch", &[KeySpec::range(RO, 1, -1, 1)]),
    ("object|encoding", &[KeySpec::range(RO, 2, 0, 1)]),
    ("object|freq", &[KeySpec::range(RO, 2, 0, 1)]),
    ("object|idletime", &[KeySpec::range(RO, 2, 0, 1)]),
    ("object|refcount", &[KeySpec::range(RO, 2, 0, 1)]),
    ("rename", &[KeySpec::range(POP, 1, 0, 1), KeySpec::range(OW_UPDATE, 2, 0, 1)]),
    ("renamenx", &[KeySpec::range(POP, 1, 0, 1), KeySpec::range(&["OW", "insert"], 2, 0, 1)]),
    ("copy", &[KeySpec::range(RO_ACCESS, 1, 0, 1), KeySpec::range(OW_UPDATE, 2, 0, 1)]),
    // Expiry: the TTL changes, the value is neither read nor written.
    ("expire", &[KeySpec::range(RW_UPDATE, 1, 0, 1)]),
    ("pexpire", &[KeySpec::range(RW_UPDATE, 1, 0, 1)]),
    ("expireat", &[KeySpec::range(RW_UPDATE, 1, 0, 1)]),
    ("pexpireat", &[KeySpec::range(RW_UPDATE, 1, 0, 1)]),
    ("persist", &[KeySpec::range(RW_UPDATE, 1, 0, 1)]),
];

const SORT_PATTERNS: KeySpec = KeySpec::unknown(RO_ACCESS).notes(
    "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the \
     key we sort",
);
const SORT_STORE: &str =
    "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument \
     array";

/// A command's key specs, if [`KEY_SPECS`] declares them.
pub fn key_specs(name: &str) -> Option<&'static [KeySpec]> {
    KEY_SPECS.iter().find(|(n, _)| *n == name).map(|(_, specs)| *specs)
}

const NONDETERMINISTIC: &[&str] = &["nondeterministic_output"];
const ANY_ORDER: &[&str] = &["nondeterministic_output_order"];
const ALL_NODES: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];
const ALL_SHARDS: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];
const MULTI_SHARD_SUM: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];

/// Command tips: how a cluster client should route a command and merge its
/// replies, and whether its output is deterministic.
pub static TIPS: &[(&str, &[&str])] = &[
    ("client|info", NONDETERMINISTIC),
    ("client|list", NONDETERMINISTIC),
    ("client|setinfo", ALL_NODES),
    ("client|setname", ALL_NODES),
    ("command", ANY_ORDER),
    ("command|docs", ANY_ORDER),
    ("command|info", ANY_ORDER),
    ("command|list", ANY_ORDER),
    ("config|resetstat", ALL_NODES),
    ("config|set", ALL_NODES),
    ("dbsize", &["request_policy:all_shards", "response_policy:agg_sum"]),
    ("del", MULTI_SHARD_SUM),
    ("exists", MULTI_SHARD_SUM),
    ("flushall", ALL_SHARDS),
    ("flushdb", ALL_SHARDS),
    ("hgetall", ANY_ORDER),
    ("hkeys", ANY_ORDER),
    ("hrandfield", NONDETERMINISTIC),
    ("hscan", NONDETERMINISTIC),
    ("hvals", ANY_ORDER),
    ("info", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
    ("keys", &["request_policy:all_shards", "nondeterministic_output_order"]),
    ("lastsave", NONDETERMINISTIC),
    ("mget", &["request_policy:multi_shard"]),
    ("mset", &["request_policy:multi_shard", "response_policy:all_succeeded"]),
    ("object|encoding", NONDETERMINISTIC),
    ("object|freq", NONDETERMINISTIC),
    ("object|idletime", NONDETERMINISTIC),
    ("object|refcount", NONDETERMINISTIC),
    ("ping", ALL_SHARDS),
    ("pttl", NONDETERMINISTIC),
    ("randomkey", &["request_policy:all_shards", "response_policy:special", "nondeterministic_output"]),
    ("scan", &["nondeterministic_output", "request_policy:special", "response_policy:special"]),
    ("sdiff", ANY_ORDER),
    ("sinter", ANY_ORDER),
    ("slowlog|get", &["request_policy:all_nodes", "nondeterministic_output"]),
    ("slowlog|len", &["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"]),
    ("slowlog|reset", ALL_NODES),
    ("smembers", ANY_ORDER),
    ("spop", NONDETERMINISTIC),
    ("srandmember", NONDETERMINISTIC),
    ("sscan", NONDETERMINISTIC),
    ("sunion", ANY_ORDER),
    ("time", NONDETERMINISTIC),
    ("touch", MULTI_SHARD_SUM),
    ("ttl", NONDETERMINISTIC),
    ("unlink", MULTI_SHARD_SUM),
    ("zrandmember", NONDETERMINISTIC),
    ("zscan", NONDETERMINISTIC),
];

/// A command's tips (none for most).
pub fn tips(name: &str) -> &'static [&'static str] {
    TIPS.iter().find(|(n, _)| *n == name).map_or(&[], |(_, tips)| *tips)
}

/// How a command changed, by version (`COMMAND DOCS`' `history`).
pub static HISTORY: &[(&str, &[(&str, &str)])] = &[
    ("auth", &[("6.0.0", "Added ACL style (username and password).")]),
    ("bitcount", &[("7.0.0", "Added the `BYTE|BIT` option.")]),
    ("bitpos", &[("7.0.0", "Added the `BYTE|BIT` option.")]),
    ("blpop", &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    ("brpop", &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    ("brpoplpush", &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    ("bzpopmax", &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    ("bzpopmin", &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")]),
    ("client|kill", &[("2.8.12", "Added new filter format."), ("2.8.12", "`ID` option."), ("3.2.0", "Added `master` type in for `TYPE` option."), ("5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility."), ("6.2.0", "`LADDR` option.")]),
    ("client|list", &[("2.8.12", "Added unique client `id` field."), ("5.0.0", "Added optional `TYPE` filter."), ("6.0.0", "Added `user` field."), ("6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter."), ("7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields."), ("7.0.3", "Added `ssub` field.")]),
    ("command|info", &[("7.0.0", "Allowed to be called with no argument to get info on all commands.")]),
    ("config|get", &[("7.0.0", "Added the ability to pass multiple pattern parameters in one call")]),
    ("config|set", &[("7.0.0", "Added the ability to set multiple parameters in one call.")]),
    ("exists", &[("3.0.3", "Accepts multiple `key` arguments.")]),
    ("expire", &[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    ("expireat", &[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    ("flushall", &[("4.0.0", "Added the `ASYNC` flushing mode modifier."), ("6.2.0", "Added the `SYNC` flushing mode modifier.")]),
    ("flushdb", &[("4.0.0", "Added the `ASYNC` flushing mode modifier."), ("6.2.0", "Added the `SYNC` flushing mode modifier.")]),
    ("hdel", &[("2.4.0", "Accepts multiple `field` arguments.")]),
    ("hello", &[("6.2.0", "`protover` made optional; when called without arguments the command reports the current connection's context.")]),
    ("hset", &[("4.0.0", "Accepts multiple `field` and `value` arguments.")]),
    ("info", &[("7.0.0", "Added support for taking multiple section arguments.")]),
    ("lpop", &[("6.2.0", "Added the `count` argument.")]),
    ("lpush", &[("2.4.0", "Accepts multiple `element` arguments.")]),
    ("lpushx", &[("4.0.0", "Accepts multiple `element` arguments.")]),
    ("pexpire", &[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    ("pexpireat", &[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    ("pttl", &[("2.8.0", "Added the -2 reply.")]),
    ("renamenx", &[("3.2.0", "The command no longer returns an error when source and destination names are the same.")]),
    ("rpop", &[("6.2.0", "Added the `count` argument.")]),
    ("rpush", &[("2.4.0", "Accepts multiple `element` arguments.")]),
    ("rpushx", &[("4.0.0", "Accepts multiple `element` arguments.")]),
    ("sadd", &[("2.4.0", "Accepts multiple `member` arguments.")]),
    ("scan", &[("6.0.0", "Added the `TYPE` subcommand.")]),
    ("set", &[("2.6.12", "Added the `EX`, `PX`, `NX` and `XX` options."), ("6.0.0", "Added the `KEEPTTL` option."), ("6.2.0", "Added the `GET`, `EXAT` and `PXAT` option."), ("7.0.0", "Allowed the `NX` and `GET` options to be used together.")]),
    ("shutdown", &[("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers.")]),
    ("spop", &[("3.2.0", "Added the `count` argument.")]),
    ("srandmember", &[("2.6.0", "Added the optional `count` argument.")]),
    ("srem", &[("2.4.0", "Accepts multiple `member` arguments.")]),
    ("ttl", &[("2.8.0", "Added the -2 reply.")]),
    ("zadd", &[("2.4.0", "Accepts multiple elements."), ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."), ("6.2.0", "Added the `GT` and `LT` options.")]),
    ("zrange", &[("6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options.")]),
    ("zrangebyscore", &[("2.0.0", "Added the `WITHSCORES` modifier.")]),
    ("zrank", &[("7.2.0", "Added the optional `WITHSCORE` argument.")]),
    ("zrem", &[("2.4.0", "Accepts multiple elements.")]),
    ("zrevrangebyscore", &[("2.1.6", "`min` and `max` can be exclusive.")]),
    ("zrevrank", &[("7.2.0", "Added the optional `WITHSCORE` argument.")]),
];

/// Deprecated commands: since when, and what replaces them.
pub static DEPRECATED: &[(&str, &str, &str)] = &[
    ("brpoplpush", "6.2.0", "`BLMOVE` with the `RIGHT` and `LEFT` arguments"),
    ("getset", "6.2.0", "`SET` with the `!GET` argument"),
    ("hmset", "4.0.0", "`HSET` with multiple field-value pairs"),
    ("psetex", "2.6.12", "`SET` with the `PX` argument"),
    ("quit", "7.2.0", "just closing the connection"),
    ("rpoplpush", "6.2.0", "`LMOVE` with the `RIGHT` and `LEFT` arguments"),
    ("setex", "2.6.12", "`SET` with the `EX` argument"),
    ("setnx", "2.6.12", "`SET` with the `NX` argument"),
    ("substr", "2.0.0", "`GETRANGE`"),
    ("zrangebylex", "6.2.0", "`ZRANGE` with the `BYLEX` argument"),
    ("zrangebyscore", "6.2.0", "`ZRANGE` with the `BYSCORE` argument"),
    ("zrevrange", "6.2.0", "`ZRANGE` with the `REV` argument"),
    ("zrevrangebylex", "6.2.0", "`ZRANGE` with the `REV` and `BYLEX` arguments"),
    ("zrevrangebyscore", "6.2.0", "`ZRANGE` with the `REV` and `BYSCORE` arguments"),
];

/// Commands Redis marks `syscmd` (for system administrators, not apps).
const SYSCMD: &[&str] = &["debug"];

/// A command's history (none for most).
pub fn history(name: &str) -> &'static [(&'static str, &'static str)] {
    HISTORY.iter().find(|(n, _)| *n == name).map_or(&[], |(_, h)| *h)
}

/// Since when a command is deprecated and what replaces it, if it is.
pub fn deprecated(name: &str) -> Option<(&'static str, &'static str)> {
    DEPRECATED.iter().find(|(n, ..)| *n == name).map(|(_, since, by)| (*since, *by))
}

/// `COMMAND DOCS`' `doc_flags`.
pub fn doc_flags(name: &str) -> &'static [&'static str] {
    if deprecated(name).is_some() {
        &["deprecated"]
    } else if SYSCMD.contains(&name) {
        &["syscmd"]
    } else {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::registry;

    fn args(line: &str) -> Vec<Bytes> {
        line.split(' ').map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    fn covered(spec: &KeySpec, line: &str) -> Vec<usize> {
        let a = args(line);
        (0..a.len()).filter(|&p| spec.covers(p, &a)).collect()
    }

    #[test]
    fn range_specs_cover_their_keys() {
        let dest = KeySpec::range(OW_UPDATE, 1, 0, 1);
        let sources = KeySpec::range(RO_ACCESS, 2, -1, 1);
        assert_eq!(covered(&dest, "sunionstore d a b c"), [1]);
        assert_eq!(covered(&sources, "sunionstore d a b c"), [2, 3, 4]);
        let pairs = KeySpec::range(OW_UPDATE, 1, -1, 2);
        assert_eq!(covered(&pairs, "mset a 1 b 2"), [1, 3]);
        assert_eq!(covered(&dest, "get"), Vec::<usize>::new());
        // limit 2: the first half of the rest.
        let half = KeySpec { find: Find::Range { lastkey: -1, keystep: 1, limit: 2 }, ..dest };
        assert_eq!(covered(&half, "x a b c d"), [1, 2]);
    }

    #[test]
    fn keynum_specs_count_their_keys() {
        let store = KeySpec::keynum(RO_ACCESS, 2, 0, 1, 1);
        assert_eq!(covered(&store, "zunionstore d 2 a b WEIGHTS 1 2"), [3, 4]);
        let blocking = KeySpec::keynum(POP, 2, 0, 1, 1);
        assert_eq!(covered(&blocking, "blmpop 0 3 a b c LEFT"), [3, 4, 5]);
        // A count past the arguments, or not a count, finds nothing.
        for bad in
            ["zunionstore d 3 a b", "zunionstore d x a b", "zunionstore d 0 a", "zunionstore d -1 a", "zunionstore d"]
        {
            assert_eq!(covered(&store, bad), Vec::<usize>::new(), "{bad}");
        }
    }

    #[test]
    fn only_index_and_range_specs_are_fixed() {
        assert!(!KeySpec::range(RO, 1, 0, 1).is_movable());
        assert!(KeySpec::keynum(RO, 1, 0, 1, 1).is_movable());
        assert!(KeySpec::unknown(RO).is_movable());
    }

    #[test]
    fn tables_name_real_commands_once() {
        let tables = [
            KEY_SPECS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            TIPS.iter().map(|(n, _)| *n).collect(),
            HISTORY.iter().map(|(n, _)| *n).collect(),
            DEPRECATED.iter().map(|(n, ..)| *n).collect(),
            SYSCMD.to_vec(),
        ];
        for table in tables {
            for (i, name) in table.iter().enumerate() {
                assert!(registry().all().iter().any(|c| c.name == *name), "no command {name}");
                assert!(!table[..i].contains(name), "{name} twice");
            }
        }
        // One declaration per command: not also in a family's KEY_FLAGS.
        for (name, _) in crate::cmd::family_key_flags().flatten() {
            assert!(key_specs(name).is_none(), "{name} has both KEY_FLAGS and KEY_SPECS");
        }
    }
}
