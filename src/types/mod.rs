//! Value data structures. One module per Redis type; this file is the sum
//! type every keyspace entry holds.

pub mod dict;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod set;
pub mod string;
pub mod zset;

pub use string::RString;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(RString),
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// What `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
        }
    }

    /// A deep copy as COPY makes it.
    pub fn duplicate(&self) -> Value {
        match self {
            Value::Str(s) => Value::Str(s.duplicate()),
        }
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
