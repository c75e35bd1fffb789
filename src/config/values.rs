//! Value parsing and formatting exactly as Redis 7.0 does it (`util.c`,
//! `sds.c`, `config.c`): `string2ll`, `strtoll`, `memtoull`,
//! `rewriteConfigFormatMemory` and `sdscatrepr`.

pub use crate::num::string2ll;

/// C `strtoll(s, &end, 10)` followed by Redis's `*end == '\0'` check:
/// leading white space and a `+`/`-` sign are accepted, the empty string is 0,
/// and out-of-range values saturate (`ERANGE` is not checked by Redis).
pub fn strtoll_full(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: i128 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = (v * 10 + i128::from(s[i] - b'0')).min(i128::from(u64::MAX));
        i += 1;
    }
    if i == start {
        // No digits: strtoll leaves `end` at the start of the string.
        return s.is_empty().then_some(0);
    }
    if i != s.len() {
        return None;
    }
    let v = if negative { -v } else { v };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// Redis's `memtoull`: a byte count with an optional case-insensitive unit,
/// `b`, `k` (1000), `kb` (1024), `m`, `mb`, `g`, `gb`. `None` on a syntax
/// error. As in Redis (glibc `strtoull`), an empty number is 0 (`""`, `"kb"`).
/// Redis silently wraps on overflow; here the value saturates at `u64::MAX`,
/// which then fails every range check.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits_end = s.iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let val = digits.iter().fold(0u64, |acc, d| acc.saturating_mul(10).saturating_add(u64::from(d - b'0')));
    Some(val.saturating_mul(mul))
}

/// Redis's `rewriteConfigFormatMemory`: `1gb`, `512mb`, `64kb` when the value
/// is an exact multiple, plain bytes otherwise.
pub fn format_memory(bytes: u64) -> String {
    const GB: u64 = 1024 * 1024 * 1024;
    const MB: u64 = 1024 * 1024;
    const KB: u64 = 1024;
    if bytes != 0 && bytes.is_multiple_of(GB) {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes.is_multiple_of(MB) {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes.is_multiple_of(KB) {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// Redis's `sdscatrepr`: a double-quoted string that `split_args` reads back
/// as exactly `s`.
pub fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// One argument for a config line: bare when `split_args` reads it back
/// unchanged, [`repr`]-quoted otherwise (empty, spaces, quotes, binary).
pub fn conf_arg(s: &[u8]) -> String {
    let bare = !s.is_empty() && s.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\'');
    if bare {
        String::from_utf8_lossy(s).into_owned()
    } else {
        repr(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::splitargs::split_args;

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"123"), Some(123));
        assert_eq!(string2ll(b"-5"), Some(-5));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"05",
            b"+5",
            b" 5",
            b"5 ",
            b"1.5",
            b"abc",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999999",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn strtoll_is_lenient() {
        assert_eq!(strtoll_full(b""), Some(0));
        assert_eq!(strtoll_full(b"42"), Some(42));
        assert_eq!(strtoll_full(b"+42"), Some(42));
        assert_eq!(strtoll_full(b"-0"), Some(0));
        assert_eq!(strtoll_full(b"  7"), Some(7));
        assert_eq!(strtoll_full(b"007"), Some(7));
        assert_eq!(strtoll_full(b"99999999999999999999"), Some(i64::MAX));
        assert_eq!(strtoll_full(b"-99999999999999999999"), Some(i64::MIN));
        assert_eq!(strtoll_full(b" "), None);
        assert_eq!(strtoll_full(b"+"), None);
        assert_eq!(strtoll_full(b"7 "), None);
        assert_eq!(strtoll_full(b"7x"), None);
    }

    #[test]
    fn memory_units() {
        assert_eq!(memtoull(b"0"), Some(0));
        assert_eq!(memtoull(b"100"), Some(100));
        assert_eq!(memtoull(b"100b"), Some(100));
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"1K"), Some(1000));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"1kB"), Some(1024));
        assert_eq!(memtoull(b"2m"), Some(2_000_000));
        assert_eq!(memtoull(b"2mb"), Some(2 * 1024 * 1024));
        assert_eq!(memtoull(b"2Mb"), Some(2 * 1024 * 1024));
        assert_eq!(memtoull(b"3g"), Some(3_000_000_000));
        assert_eq!(memtoull(b"3gb"), Some(3 * 1024 * 1024 * 1024));
        assert_eq!(memtoull(b"3GB"), Some(3 * 1024 * 1024 * 1024));
        // As glibc strtoull: no digits means 0.
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"kb"), Some(0));
        assert_eq!(memtoull(b"99999999999999999999"), Some(u64::MAX));
        assert_eq!(memtoull(b"99999999999gb"), Some(u64::MAX));
        for bad in [&b"-1"[..], b"1t", b"1tb", b"1 kb", b" 1", b"+1", b"1.5mb", b"1kbb", b"abc"] {
            assert_eq!(memtoull(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn memory_formatting() {
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(format_memory(1024), "1kb");
        assert_eq!(format_memory(64 * 1024 * 1024), "64mb");
        assert_eq!(format_memory(1024 * 1024 * 1024), "1gb");
        assert_eq!(format_memory(1536), "1536");
        assert_eq!(format_memory(3 * 512 * 1024), "1536kb");
    }

    #[test]
    fn repr_round_trips_through_split_args() {
        for s in [
            &b""[..],
            b"plain",
            b"with space",
            b"quote\"s",
            b"it's",
            b"back\\slash",
            b"\n\r\t\x07\x08",
            b"\x00\x01\xff\x80",
            b"#hash",
        ] {
            for line in [repr(s), conf_arg(s)] {
                assert_eq!(split_args(line.as_bytes()).unwrap(), vec![s.to_vec()], "{line}");
            }
        }
        assert_eq!(conf_arg(b"127.0.0.1"), "127.0.0.1");
        assert_eq!(conf_arg(b"-::*"), "-::*");
        assert_eq!(conf_arg(b""), "\"\"");
        assert_eq!(repr(b"a\"b\x01"), "\"a\\\"b\\x01\"");
    }
}
