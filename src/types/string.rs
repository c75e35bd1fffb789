//! Redis strings: binary-safe bytes in the cheapest of four forms.
//!
//! - `Int`: the canonical decimal form of an `i64` (Redis's `int` encoding),
//!   so INCR does not re-parse and counters take no heap.
//! - `Inline`: up to [`INLINE`] bytes stored inside the entry itself: the
//!   common short value costs no allocation at all.
//! - `Embstr`: up to [`EMBSTR_MAX`] bytes in one exactly-sized allocation,
//!   never grown in place (Redis's `embstr`: object and bytes in one block).
//! - `Long`: more than [`EMBSTR_MAX`] bytes in one exactly-sized allocation.
//! - `Raw`: a growable buffer, what a string becomes once it is modified in
//!   place (APPEND, SETRANGE, SETBIT…) — as in Redis, where those commands
//!   turn an embstr into `raw`.
//!
//! `OBJECT ENCODING` reports `int`, `embstr` (Inline and Embstr) or `raw`
//! (Long and Raw).
//!
//! Every form fits in 40 bytes (the growable buffer sits behind a pointer),
//! and so does a [`crate::types::Value`]. The size is a trade: a value of up
//! to 38 bytes (most cached values, counters, flags, short JSON) lives in the
//! table slot, which saves its allocation (32-48 bytes with the allocator's
//! rounding) for 16 bytes more slot than a 24-byte form would take.

/// The most bytes kept inside the entry without an allocation.
pub const INLINE: usize = 38;

/// Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
pub const EMBSTR_MAX: usize = 44;

/// Integers Redis keeps in `int` encoding print back exactly as they were
/// written, so only canonical forms (no `+`, no leading zeros, no `-0`) qualify.
#[derive(Clone)]
pub enum RString {
    Int(i64),
    /// An integer in an object of its own: what COPY makes of an `Int`
    /// (Redis's `dupStringObject`). Reads like `Int`; only `OBJECT
    /// REFCOUNT` tells them apart, since Redis shares small `Int`s.
    OwnInt(i64),
    Inline {
        len: u8,
        buf: [u8; INLINE],
    },
    Embstr(Box<[u8]>),
    Long(Box<[u8]>),
    Raw(Box<Vec<u8>>),
}

const _: () = assert!(std::mem::size_of::<RString>() == 40);

impl RString {
    /// The value Redis's `tryObjectEncoding` would give these bytes: an
    /// integer if they are one (and short enough to be), else an embedded
    /// string when short, else raw.
    pub fn from_bytes(b: &[u8]) -> RString {
        if b.len() <= 20 {
            if let Some(n) = parse_i64(b) {
                return RString::Int(n);
            }
        }
        RString::from_text(b)
    }

    /// The bytes as a string, never as an integer (Redis keeps the results
    /// of APPEND/SETRANGE/GETSET-style paths as strings until re-encoded).
    pub fn from_text(b: &[u8]) -> RString {
        if b.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..b.len()].copy_from_slice(b);
            RString::Inline { len: b.len() as u8, buf }
        } else if b.len() <= EMBSTR_MAX {
            RString::Embstr(b.into())
        } else {
            RString::Long(b.into())
        }
    }

    /// Takes ownership of a growable buffer: the `raw` encoding.
    pub fn from_vec(v: Vec<u8>) -> RString {
        RString::Raw(Box::new(v))
    }

    /// Calls `f` with the bytes of the value, formatting an int on the stack.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            RString::Int(n) | RString::OwnInt(n) => {
                let mut buf = itoa::Buffer::new();
                f(buf.format(*n).as_bytes())
            }
            RString::Inline { len, buf } => f(&buf[..*len as usize]),
            RString::Embstr(b) | RString::Long(b) => f(b),
            RString::Raw(v) => f(v),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    pub fn len(&self) -> usize {
        match self {
            RString::Int(n) | RString::OwnInt(n) => {
                let mut buf = itoa::Buffer::new();
                buf.format(*n).len()
            }
            RString::Inline { len, .. } => *len as usize,
            RString::Embstr(b) | RString::Long(b) => b.len(),
            RString::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer, as `INCR` and friends read it.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            RString::Int(n) | RString::OwnInt(n) => Some(*n),
            _ => self.with_bytes(parse_i64),
        }
    }

    /// The bytes for in-place modification: the value becomes `raw`, as
    /// Redis's `dbUnshareStringValue` makes it.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, RString::Raw(_)) {
            *self = RString::Raw(Box::new(self.to_vec()));
        }
        match self {
            RString::Raw(v) => v,
            _ => unreachable!("converted above"),
        }
    }

    /// A copy in an object of its own (COPY).
    pub fn duplicate(&self) -> RString {
        match self {
            RString::Int(n) => RString::OwnInt(*n),
            other => other.clone(),
        }
    }

    /// What `OBJECT ENCODING` says.
    pub fn encoding(&self) -> &'static str {
        match self {
            RString::Int(_) | RString::OwnInt(_) => "int",
            RString::Inline { .. } | RString::Embstr(_) => "embstr",
            RString::Long(_) | RString::Raw(_) => "raw",
        }
    }
}

impl PartialEq for RString {
    /// Equal bytes, whatever the encoding.
    fn eq(&self, other: &RString) -> bool {
        self.with_bytes(|a| other.with_bytes(|b| a == b))
    }
}

impl Eq for RString {}

impl std::fmt::Debug for RString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.with_bytes(|b| write!(f, "{}({:?})", self.encoding(), b.escape_ascii().to_string()))
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
    fn encodings_follow_redis() {
        assert_eq!(RString::from_bytes(b"123").encoding(), "int");
        assert_eq!(RString::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(RString::from_bytes(&[b'a'; 22]).encoding(), "embstr");
        assert_eq!(RString::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(RString::from_bytes(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(RString::from_text(b"12").encoding(), "embstr");
        let mut s = RString::from_bytes(b"ab");
        s.make_raw().extend_from_slice(b"c");
        assert_eq!((s.encoding(), s.to_vec()), ("raw", b"abc".to_vec()));
    }

    #[test]
    fn every_form_reads_back_its_bytes() {
        for v in [&b""[..], b"-5", b"x", &[7u8; INLINE], &[8u8; INLINE + 1], &[9u8; EMBSTR_MAX], &[1u8; 100]] {
            let s = RString::from_bytes(v);
            assert_eq!(s.to_vec(), v);
            assert_eq!(s.len(), v.len());
            assert_eq!(s, RString::from_vec(v.to_vec()));
        }
        assert_eq!(RString::Int(100).len(), 3);
        assert_eq!(RString::from_text(b"77").as_i64(), Some(77));
    }

    #[test]
    fn short_strings_need_no_allocation() {
        assert!(matches!(RString::from_text(&[1u8; INLINE]), RString::Inline { .. }));
        assert!(matches!(RString::from_text(&[1u8; INLINE + 1]), RString::Embstr(_)));
    }
}
