//! The Redis wire protocol: the request parser (`parse`) and the reply
//! writer (`reply`), both matching Redis 7.0 byte for byte.

pub mod parse;
pub mod reply;

pub use parse::{ParseLimits, Parser, ProtocolError};
pub use reply::{format_double, format_human_double, Deferred, Proto, Reply};
