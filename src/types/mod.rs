//! Value data structures. One module per Redis type; this file is the sum
//! type every keyspace entry holds.

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
}
