//! Numbers as Redis reads them from the wire and from config files.

pub mod longdouble;

/// `LONG_STR_SIZE` in Redis: strings this long or longer are never integers.
const LONG_STR_SIZE: usize = 21;

/// Redis's `string2ll`: a strict decimal `i64` with no sign other than a
/// leading `-`, no leading zeros (except `"0"` itself), no spaces.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}
