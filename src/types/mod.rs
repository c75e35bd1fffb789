//! Value data structures. One module per Redis type; this file is the sum
//! type every keyspace entry holds.

pub mod dict;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod set;
pub mod string;
pub mod zset;

pub use hash::{Hash, HashLimits};
pub use list::{List, ListLimits};
pub use set::{Set, SetLimits};
pub use string::RString;
pub use zset::{ZSet, ZsetLimits};

use crate::config::Config;

/// A value stored under a key. Collections are boxed so an entry stays a
/// few words wide whatever the type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(RString),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

// An entry slot per key: every byte here is a megabyte per million keys.
const _: () = assert!(std::mem::size_of::<Value>() == 40);

/// A type a key can hold, for typed lookups (`ShardCtx::read::<List>`):
/// the value of that type, or `None` when the key holds another type.
pub trait Typed: Sized {
    fn of(value: &mut Value) -> Option<&mut Self>;
    fn into_value(self) -> Value;
}

macro_rules! typed_collection {
    ($ty:ty, $variant:ident) => {
        impl Typed for $ty {
            fn of(value: &mut Value) -> Option<&mut Self> {
                match value {
                    Value::$variant(v) => Some(v),
                    _ => None,
                }
            }

            fn into_value(self) -> Value {
                Value::$variant(Box::new(self))
            }
        }
    };
}

typed_collection!(List, List);
typed_collection!(Hash, Hash);
typed_collection!(Set, Set);
typed_collection!(ZSet, ZSet);

impl Typed for RString {
    fn of(value: &mut Value) -> Option<&mut Self> {
        match value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn into_value(self) -> Value {
        Value::Str(self)
    }
}

/// The encoding thresholds of every collection type, read from the settings
/// (`list-max-listpack-size`, `hash-max-listpack-entries`, …) once per
/// command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub list: ListLimits,
    pub hash: HashLimits,
    pub set: SetLimits,
    pub zset: ZsetLimits,
}

impl Limits {
    pub fn from_config(c: &Config) -> Limits {
        Limits {
            list: ListLimits { max_listpack_size: c.list_max_listpack_size },
            hash: HashLimits {
                max_listpack_entries: c.hash_max_listpack_entries,
                max_listpack_value: c.hash_max_listpack_value,
            },
            set: SetLimits {
                max_intset_entries: c.set_max_intset_entries,
                max_listpack_entries: c.set_max_listpack_entries,
                max_listpack_value: c.set_max_listpack_value,
            },
            zset: ZsetLimits {
                max_listpack_entries: c.zset_max_listpack_entries,
                max_listpack_value: c.zset_max_listpack_value,
            },
        }
    }
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// What `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// A deep copy as COPY makes it.
    pub fn duplicate(&self) -> Value {
        match self {
            Value::Str(s) => Value::Str(s.duplicate()),
            other => other.clone(),
        }
    }

    /// Elements in a collection (1 for a string): Redis's lazyfree "effort",
    /// and the test for a collection emptied by a command (its key goes).
    pub fn elements(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(l) => l.len(),
            Value::Hash(h) => h.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
        }
    }

    pub fn is_empty_collection(&self) -> bool {
        !matches!(self, Value::Str(_)) && self.elements() == 0
    }

    /// What `OBJECT REFCOUNT` reports: Redis shares the objects of the
    /// integers 0..10000 (`OBJ_SHARED_INTEGERS`), which report INT_MAX.
    pub fn refcount(&self) -> i64 {
        match self {
            Value::Str(RString::Int(n)) if (0..10_000).contains(n) => i32::MAX as i64,
            _ => 1,
        }
    }
}

/// Normalizes Redis's inclusive `start`/`end` (negative from the tail) to a
/// window of `len`, or None when empty (LRANGE, LTRIM, ZRANGE by rank,
/// ZREMRANGEBYRANK).
pub fn normalize_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}
