//! Redis strings: binary-safe bytes, kept as an integer when they are the
//! canonical decimal form of an `i64` (Redis's `int` encoding) so INCR does
//! not re-parse and small counters take no heap.

/// Integers Redis keeps in `int` encoding print back exactly as they were
/// written, so only canonical forms (no `+`, no leading zeros, no `-0`) qualify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RString {
    Int(i64),
    Raw(Vec<u8>),
}

impl RString {
    pub fn from_bytes(b: &[u8]) -> RString {
        match parse_i64(b) {
            Some(n) => RString::Int(n),
            None => RString::Raw(b.to_vec()),
        }
    }

    /// Writes the bytes of the value, formatting an int without allocating.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            RString::Raw(v) => f(v),
            RString::Int(n) => {
                let mut buf = itoa::Buffer::new();
                f(buf.format(*n).as_bytes())
            }
        }
    }

    pub fn len(&self) -> usize {
        self.with_bytes(|b| b.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer, as `INCR` and friends read it.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            RString::Int(n) => Some(*n),
            RString::Raw(v) => parse_i64(v),
        }
    }
}

/// Redis's `string2ll`: optional `-`, digits, no spaces, no `+`, no leading
/// zeros, fits in i64. Anything else is not an integer.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    crate::num::string2ll(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers_only() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b"9223372036854775808"[..], b"", b"-", b"-0", b"01", b"+1", b" 1", b"1 ", b"1a"] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn int_encoding_round_trips() {
        assert_eq!(RString::from_bytes(b"123"), RString::Int(123));
        assert_eq!(RString::from_bytes(b"0123"), RString::Raw(b"0123".to_vec()));
        assert_eq!(RString::Int(-5).with_bytes(|b| b.to_vec()), b"-5");
        assert_eq!(RString::Int(100).len(), 3);
    }
}
