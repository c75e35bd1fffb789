//! The cursor and options every SCAN-family command takes (SCAN, HSCAN,
//! SSCAN, ZSCAN), parsed once, as Redis's `parseScanCursorOrReply` and
//! `scanGenericCommand` do, and the reply they share.

use bytes::Bytes;

use super::{err, parse_int};
use crate::glob::glob_match;
use crate::resp::Reply;
use crate::shard::ShardCtx;
use crate::types::Typed;

/// What is being scanned: it decides which options exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// SCAN: TYPE filters keys by type.
    Keyspace,
    /// HSCAN: NOVALUES leaves the values out.
    Hash,
    /// SSCAN, ZSCAN.
    Collection,
}

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// None for `*`, which matches everything.
    pub pattern: Option<Bytes>,
    pub count: usize,
    /// SCAN's TYPE: a name `TYPE` reports.
    pub kind: Option<&'static str>,
    /// HSCAN's NOVALUES.
    pub novalues: bool,
}

impl ScanOptions {
    pub fn matches(&self, name: &[u8]) -> bool {
        self.pattern.as_ref().is_none_or(|p| glob_match(p, name, false))
    }
}

/// The names `TYPE` reports, which SCAN's TYPE option accepts.
const TYPE_NAMES: &[&str] = &["string", "list", "set", "zset", "hash", "stream"];

/// A cursor as Redis's `parseScanCursorOrReply` reads it with `strtoul`:
/// an optional sign and decimal digits up to the end (or a NUL), no
/// leading space, within 64 bits; a minus wraps (`-1` is `2^64 - 1`) and
/// an empty string is 0.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, &'static str> {
    const INVALID: &str = "ERR invalid cursor";
    let arg = super::c_text(arg, usize::MAX);
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        // No number at all: strtoul stops at the start, valid only if empty.
        return if arg.is_empty() { Ok(0) } else { Err(INVALID) };
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(INVALID);
        }
        n = n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d - b'0'))).ok_or(INVALID)?;
    }
    Ok(if neg { n.wrapping_neg() } else { n })
}

/// The options after the cursor.
pub fn parse_options(opts: &[Bytes], target: Target) -> Result<ScanOptions, String> {
    let mut a = ScanOptions { count: 10, ..ScanOptions::default() };
    let mut i = 0;
    while i < opts.len() {
        let (opt, value) = (&opts[i], opts.get(i + 1));
        if target == Target::Hash && opt.eq_ignore_ascii_case(b"novalues") {
            a.novalues = true;
            i += 1;
            continue;
        }
        match value {
            Some(v) if opt.eq_ignore_ascii_case(b"count") => {
                let n = parse_int(v).ok_or_else(|| err::NOT_INT.to_string())?;
                if n < 1 {
                    return Err(err::SYNTAX.into());
                }
                a.count = n.min(i64::from(u32::MAX)) as usize;
            }
            Some(v) if opt.eq_ignore_ascii_case(b"match") => {
                a.pattern = (v.as_ref() != b"*").then(|| v.clone());
            }
            Some(v) if target == Target::Keyspace && opt.eq_ignore_ascii_case(b"type") => {
                let name = TYPE_NAMES.iter().find(|t| v.eq_ignore_ascii_case(t.as_bytes()));
                a.kind = Some(*name.ok_or_else(|| {
                    format!("ERR unknown type name '{}'", String::from_utf8_lossy(super::c_text(v, usize::MAX)))
                })?);
            }
            _ => return Err(err::SYNTAX.into()),
        }
        i += 2;
    }
    Ok(a)
}

/// HSCAN, SSCAN, ZSCAN: `key cursor [options]`, checked in Redis's order
/// (the cursor, then a missing key — an empty scan —, then WRONGTYPE, then
/// the options); then `walk` steps the collection from the cursor, pushing
/// the reply's items, and returns the next cursor.
pub fn scan_collection<T: Typed>(
    ctx: &mut ShardCtx,
    args: &[Bytes],
    target: Target,
    reply: &mut Reply,
    walk: impl FnOnce(&T, u64, &ScanOptions, &mut Vec<Vec<u8>>) -> u64,
) {
    let cursor = match parse_cursor(&args[2]) {
        Ok(c) => c,
        Err(e) => return reply.error(e),
    };
    let collection = match ctx.read::<T>(&args[1]) {
        Err(e) => return reply.error(e),
        Ok(None) => return write_reply::<&[u8]>(reply, 0, &[]),
        Ok(Some(c)) => c,
    };
    let opts = match parse_options(&args[3..], target) {
        Ok(o) => o,
        Err(e) => return reply.error(&e),
    };
    let mut items = Vec::new();
    let next = walk(collection, cursor, &opts, &mut items);
    write_reply(reply, next, &items);
}

/// `[cursor, [items…]]`, the reply of every SCAN-family command.
pub fn write_reply<I: AsRef<[u8]>>(reply: &mut Reply, cursor: u64, items: &[I]) {
    reply.array(2);
    reply.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    reply.array(items.len());
    for item in items {
        reply.bulk(item.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn options_per_target() {
        let a = parse_options(&opts(&["MATCH", "a*", "COUNT", "5"]), Target::Collection).unwrap();
        assert_eq!((a.pattern.as_deref(), a.count), (Some(&b"a*"[..]), 5));
        assert!(parse_options(&opts(&["NOVALUES"]), Target::Hash).unwrap().novalues);
        assert_eq!(parse_options(&opts(&["NOVALUES"]), Target::Collection).unwrap_err(), err::SYNTAX);
        assert_eq!(parse_options(&opts(&["TYPE", "hash"]), Target::Collection).unwrap_err(), err::SYNTAX);
        assert_eq!(parse_options(&opts(&["TYPE", "Hash"]), Target::Keyspace).unwrap().kind, Some("hash"));
        assert_eq!(parse_options(&opts(&["COUNT", "0"]), Target::Keyspace).unwrap_err(), err::SYNTAX);
        assert_eq!(parse_options(&opts(&["COUNT", "x"]), Target::Keyspace).unwrap_err(), err::NOT_INT);
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        // strtoul's reading, as Redis 7.0-7.2 use it.
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Ok(1));
        assert_eq!(parse_cursor(b"+3"), Ok(3));
        assert_eq!(parse_cursor(b"-0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"7\0x"), Ok(7));
        for bad in [&b"-"[..], b"+", b" 1", b"1 ", b"x", b"0x1", b"18446744073709551616", b"-18446744073709551616"] {
            assert_eq!(parse_cursor(bad), Err("ERR invalid cursor"), "{:?}", bad);
        }
    }
}
