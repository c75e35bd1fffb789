//! Reply writer for RESP2 and RESP3, byte for byte as Redis 7.0's
//! `addReply*` functions (networking.c) write them.

use std::fmt::{self, Write as _};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

/// Appends reply frames to a byte buffer in one client's protocol. Nothing
/// allocates except `buf` growing.
pub struct Reply<'a> {
    pub buf: &'a mut Vec<u8>,
    pub proto: Proto,
}

/// The place of an aggregate header whose length is written later
/// (Redis's `addReplyDeferredLen`). Deferred headers must be ended innermost
/// first, as nesting implies: ending one inserts bytes at its place, which
/// moves everything written after it.
#[derive(Debug)]
#[must_use = "a deferred header must be ended, or the reply is malformed"]
pub struct Deferred(usize);

impl<'a> Reply<'a> {
    pub fn new(buf: &'a mut Vec<u8>, proto: Proto) -> Self {
        Reply { buf, proto }
    }

    fn resp3(&self) -> bool {
        self.proto == Proto::Resp3
    }

    /// `prefix`, the number, CRLF: every length header and integer reply.
    /// Most numbers have one or two digits: those are written as one small
    /// array, without the digit loop (Redis keeps shared headers for short
    /// lengths for the same reason).
    #[inline]
    fn header(&mut self, prefix: u8, n: i64) {
        match n {
            0..=9 => self.buf.extend_from_slice(&[prefix, b'0' + n as u8, b'\r', b'\n']),
            10..=99 => {
                self.buf.extend_from_slice(&[prefix, b'0' + (n / 10) as u8, b'0' + (n % 10) as u8, b'\r', b'\n'])
            }
            _ => self.long_header(prefix, n),
        }
    }

    /// [`Reply::header`] of any number: formatted on the stack, then
    /// appended in one copy.
    fn long_header(&mut self, prefix: u8, n: i64) {
        let (frame, len) = header_frame(prefix, n);
        self.buf.extend_from_slice(&frame[..len]);
    }

    /// A length as a header number. Lengths of real data fit in i64; saturate
    /// rather than wrap if a caller ever passes something absurd.
    #[inline]
    fn len_header(&mut self, prefix: u8, n: usize) {
        self.header(prefix, i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Text of a one-line reply: CR and LF become spaces so that the reply
    /// stays one protocol line whatever the message holds.
    fn line(&mut self, s: &str) {
        self.line_bytes(s.as_bytes());
    }

    fn line_bytes(&mut self, s: &[u8]) {
        self.buf.extend(s.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+s` (status reply).
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.line(s);
    }

    /// `-msg`, where `msg` starts with the error code ("ERR syntax error",
    /// "WRONGTYPE ..."). A leading '-' in `msg` is not doubled.
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        self.line(msg.strip_prefix('-').unwrap_or(msg));
    }

    /// An error whose text carries client bytes verbatim (Redis echoes
    /// unknown command names as sent, not as UTF-8).
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.buf.push(b'-');
        self.line_bytes(msg);
    }

    /// `:n`
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// `$len` CRLF bytes CRLF.
    pub fn bulk(&mut self, b: &[u8]) {
        self.buf.reserve(b.len() + 24);
        self.len_header(b'$', b.len());
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A missing value: RESP2 `$-1`, RESP3 `_`.
    pub fn null(&mut self) {
        let frame: &[u8] = if self.resp3() { b"_\r\n" } else { b"$-1\r\n" };
        self.buf.extend_from_slice(frame);
    }

    /// A missing aggregate: RESP2 `*-1`, RESP3 `_`.
    pub fn null_array(&mut self) {
        let frame: &[u8] = if self.resp3() { b"_\r\n" } else { b"*-1\r\n" };
        self.buf.extend_from_slice(frame);
    }

    /// `*n`
    pub fn array(&mut self, n: usize) {
        self.len_header(b'*', n);
    }

    /// `*0`
    pub fn empty_array(&mut self) {
        self.buf.extend_from_slice(b"*0\r\n");
    }

    /// RESP2 `*2n` (flattened key, value, ...), RESP3 `%n`.
    pub fn map(&mut self, pairs: usize) {
        if self.resp3() {
            self.len_header(b'%', pairs);
        } else {
            self.len_header(b'*', pairs.saturating_mul(2));
        }
    }

    /// RESP2 `*n`, RESP3 `~n`.
    pub fn set(&mut self, n: usize) {
        let prefix = if self.resp3() { b'~' } else { b'*' };
        self.len_header(prefix, n);
    }

    /// RESP2 `*n` (pub/sub messages are plain arrays there), RESP3 `>n`.
    pub fn push(&mut self, n: usize) {
        let prefix = if self.resp3() { b'>' } else { b'*' };
        self.len_header(prefix, n);
    }

    /// addReplyDouble: "%.17g"; RESP2 as a bulk string, RESP3 as `,`.
    /// Infinities are "inf" / "-inf" in both.
    pub fn double(&mut self, d: f64) {
        let (text, len) = double_text(d);
        let text = text.get(..len).unwrap_or_default();
        if self.resp3() {
            self.buf.push(b',');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// RESP2 `:1` / `:0`, RESP3 `#t` / `#f`.
    pub fn bool(&mut self, b: bool) {
        let frame: &[u8] = match (self.resp3(), b) {
            (true, true) => b"#t\r\n",
            (true, false) => b"#f\r\n",
            (false, true) => b":1\r\n",
            (false, false) => b":0\r\n",
        };
        self.buf.extend_from_slice(frame);
    }

    /// addReplyVerbatim: RESP2 a bulk of `text`; RESP3 `=len` CRLF
    /// `fmt:text` CRLF, where `fmt` is the first 3 bytes of `format`, padded
    /// with spaces ("txt", "mkd").
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        if !self.resp3() {
            self.bulk(text);
            return;
        }
        self.len_header(b'=', text.len().saturating_add(4));
        let mut ext = format.bytes();
        for _ in 0..3 {
            self.buf.push(ext.next().unwrap_or(b' '));
        }
        self.buf.push(b':');
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer as a bulk string ("42"), as addReplyBulkLongLong.
    pub fn bulk_int(&mut self, n: i64) {
        let mut digits = [0u8; 20];
        let len = i64_digits(n, &mut digits);
        self.bulk(digits.get(digits.len() - len..).unwrap_or_default());
    }

    /// Starts an aggregate whose length is known only after its elements
    /// were written; end it with one of the `end_deferred_*` methods.
    pub fn begin_deferred(&mut self) -> Deferred {
        Deferred(self.buf.len())
    }

    /// Ends a deferred header as an array of `n` elements: `*n`.
    pub fn end_deferred_array(&mut self, d: Deferred, n: usize) {
        self.insert_header(d, b'*', n);
    }

    /// Ends a deferred header as a map of `pairs` pairs: RESP2 `*2n`, RESP3 `%n`.
    pub fn end_deferred_map(&mut self, d: Deferred, pairs: usize) {
        if self.resp3() {
            self.insert_header(d, b'%', pairs);
        } else {
            self.insert_header(d, b'*', pairs.saturating_mul(2));
        }
    }

    /// Ends a deferred header as a set of `n` elements: RESP2 `*n`, RESP3 `~n`.
    pub fn end_deferred_set(&mut self, d: Deferred, n: usize) {
        let prefix = if self.resp3() { b'~' } else { b'*' };
        self.insert_header(d, prefix, n);
    }

    /// Inserts `prefix n CRLF` at the deferred place, moving the elements
    /// written since then (one memmove, no allocation beyond growing `buf`).
    fn insert_header(&mut self, d: Deferred, prefix: u8, n: usize) {
        let (frame, len) = header_frame(prefix, i64::try_from(n).unwrap_or(i64::MAX));
        let header = &frame[..len];

        let old_len = self.buf.len();
        debug_assert!(d.0 <= old_len, "deferred header ended after buf was truncated");
        let at = d.0.min(old_len);
        self.buf.resize(old_len + header.len(), 0);
        self.buf.copy_within(at..old_len, at + header.len());
        self.buf[at..at + header.len()].copy_from_slice(header);
    }
}

/// Writes the decimal digits of `n` right-aligned into `out`; returns how
/// many bytes (sign included) were used. 20 bytes hold i64::MIN.
fn i64_digits(n: i64, out: &mut [u8; 20]) -> usize {
    // Two digits per division, from a table of "00".."99" (as Redis's
    // ll2string): half the divisions of a digit-at-a-time loop.
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                                2021222324252627282930313233343536373839\
                                4041424344454647484950515253545556575859\
                                6061626364656667686970717273747576777879\
                                8081828384858687888990919293949596979899";
    let mut v = n.unsigned_abs();
    let mut i = out.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        out[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        out[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        out[i] = b'0' + v as u8;
    }
    if n < 0 {
        i -= 1;
        out[i] = b'-';
    }
    out.len() - i
}

/// `prefix`, the digits of `n`, CRLF, on the stack; returns how many bytes
/// of the frame are used (at most 23: i64::MIN has 20).
fn header_frame(prefix: u8, n: i64) -> ([u8; 23], usize) {
    let mut frame = [0u8; 23];
    let mut digits = [0u8; 20];
    let len = i64_digits(n, &mut digits);
    frame[0] = prefix;
    frame[1..1 + len].copy_from_slice(&digits[20 - len..]);
    frame[1 + len..3 + len].copy_from_slice(b"\r\n");
    (frame, 3 + len)
}

/// A fixed-size stack buffer that `write!` can format into, so that float
/// formatting needs no allocation. Output that does not fit is an error
/// (never a panic); sizes below are chosen so it always fits.
struct StackBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    fn new() -> Self {
        StackBuf { bytes: [0; N], len: 0 }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `fmt::Write` straight into a byte vector.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Longest "%.17g" output: "-1.2345678901234567e-308" is 24 bytes.
const DOUBLE_MAX: usize = 32;

/// Redis's double formatting for replies (addReplyDouble in 7.0): C's
/// "%.17g", and "inf" / "-inf" for infinities. 1 → "1", 1.5 → "1.5",
/// 0.1 → "0.10000000000000001", 1e17 → "1e+17". NaN prints as glibc does,
/// "nan" or "-nan" by its sign bit.
pub fn format_double(d: f64, out: &mut Vec<u8>) {
    let (text, len) = double_text(d);
    out.extend_from_slice(text.get(..len).unwrap_or_default());
}

/// "%.17g" into a stack buffer: (bytes, length).
fn double_text(d: f64) -> ([u8; DOUBLE_MAX], usize) {
    let mut out = StackBuf::<DOUBLE_MAX>::new();
    if !d.is_finite() {
        let text = match (d.is_nan(), d.is_sign_negative()) {
            (true, false) => "nan",
            (true, true) => "-nan",
            (false, false) => "inf",
            (false, true) => "-inf",
        };
        let _ = out.write_str(text);
        return (out.bytes, out.len);
    }

    // Rust's `{:.16e}` rounds correctly to 17 significant digits, the same
    // digits glibc's "%.17g" picks; only the layout differs.
    let mut sci = StackBuf::<DOUBLE_MAX>::new();
    let _ = write!(sci, "{:.16e}", d);
    let sci = sci.as_bytes();
    let (negative, sci) = match sci.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, sci),
    };
    let Some(e_at) = sci.iter().position(|&b| b == b'e') else {
        return (out.bytes, out.len);
    };
    let exp = parse_exp(sci.get(e_at + 1..).unwrap_or_default());
    // The 17 significant digits, without the '.'.
    let mut digits = [b'0'; 17];
    for (slot, &b) in digits.iter_mut().zip(sci[..e_at].iter().filter(|b| b.is_ascii_digit())) {
        *slot = b;
    }

    if negative {
        let _ = out.write_str("-");
    }
    // %g: scientific when the exponent is < -4 or >= the precision.
    if !(-4..17).contains(&exp) {
        push_bytes(&mut out, &digits[..1]);
        let frac = trim_zeros(&digits[1..]);
        if !frac.is_empty() {
            push_bytes(&mut out, b".");
            push_bytes(&mut out, frac);
        }
        // C prints at least two exponent digits, with a sign.
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{}{:02}", sign, exp.unsigned_abs());
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        push_bytes(&mut out, &digits[..int_len]);
        let frac = trim_zeros(&digits[int_len..]);
        if !frac.is_empty() {
            push_bytes(&mut out, b".");
            push_bytes(&mut out, frac);
        }
    } else {
        // -4 <= exp < 0: "0.000ddd".
        push_bytes(&mut out, b"0.");
        for _ in 0..(-exp - 1) {
            push_bytes(&mut out, b"0");
        }
        push_bytes(&mut out, trim_zeros(&digits));
    }
    (out.bytes, out.len)
}

fn push_bytes<const N: usize>(out: &mut StackBuf<N>, bytes: &[u8]) {
    // Only ASCII digits and punctuation come here.
    if let Ok(s) = std::str::from_utf8(bytes) {
        let _ = out.write_str(s);
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let keep = digits.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1);
    &digits[..keep]
}

/// The exponent Rust prints after 'e' ("-7", "12"); it is always small.
fn parse_exp(s: &[u8]) -> i32 {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut v: i32 = 0;
    for &c in digits.iter().filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i32::from(c - b'0'));
    }
    if negative {
        -v
    } else {
        v
    }
}

/// f64 carries DBL_DIG = 15 reliable significant decimal digits.
const HUMAN_DIGITS: i32 = 15;

/// The "human" formatting of INCRBYFLOAT / HINCRBYFLOAT results (Redis's
/// `ld2string(LD_STR_HUMAN)`: "%.17Lf" of a long double, trailing zeros and
/// a bare '.' stripped, "-0" → "0", "inf" / "-inf").
///
/// Redis computes in 80-bit long doubles, whose noise sits far below the 17
/// decimals it prints, so 0.1 + 0.2 shows as "0.3". An f64 is noisy in its
/// 16th-17th significant digit (0.1 + 0.2 = 0.30000000000000004), so we round
/// to 15 significant digits (DBL_DIG, which every f64 honours), but never to
/// more than Redis's 17 decimals and never into the integer part: plain
/// fixed notation, no exponent, as Redis prints. Values that are exact in
/// both (10.5 + 0.1 → "10.6", 5.0e3 → "5000", 1e20 → "100000000000000000000")
/// print as Redis prints them.
pub fn format_human_double(d: f64, out: &mut Vec<u8>) {
    if !d.is_finite() {
        // Redis only gets here with infinities (INCRBYFLOAT refuses NaN).
        let (text, len) = double_text(d);
        out.extend_from_slice(text.get(..len).unwrap_or_default());
        return;
    }
    // The decimal exponent of d once rounded to 15 significant digits.
    let mut sci = StackBuf::<DOUBLE_MAX>::new();
    let _ = write!(sci, "{:.*e}", (HUMAN_DIGITS - 1) as usize, d);
    let sci = sci.as_bytes();
    let exp = sci.iter().position(|&b| b == b'e').map_or(0, |i| parse_exp(sci.get(i + 1..).unwrap_or_default()));
    let decimals = (HUMAN_DIGITS - 1).saturating_sub(exp).clamp(0, 17) as usize;

    let start = out.len();
    let _ = write!(VecWriter(out), "{:.*}", decimals, d);
    if out[start..].contains(&b'.') {
        while out.last() == Some(&b'0') {
            out.pop();
        }
        if out.last() == Some(&b'.') {
            out.pop();
        }
    }
    if &out[start..] == b"-0" {
        out.truncate(start);
        out.push(b'0');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The bytes `f` writes in each protocol: (RESP2, RESP3).
    fn both(f: impl Fn(&mut Reply)) -> (String, String) {
        let run = |proto| {
            let mut buf = Vec::new();
            f(&mut Reply::new(&mut buf, proto));
            String::from_utf8(buf).expect("test replies are UTF-8")
        };
        (run(Proto::Resp2), run(Proto::Resp3))
    }

    fn same(s: &str) -> (String, String) {
        (s.to_string(), s.to_string())
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn simple_frames() {
        assert_eq!(both(|r| r.ok()), same("+OK\r\n"));
        assert_eq!(both(|r| r.simple("PONG")), same("+PONG\r\n"));
        assert_eq!(both(|r| r.simple("a\r\nb")), same("+a  b\r\n"));
        assert_eq!(both(|r| r.error("ERR syntax error")), same("-ERR syntax error\r\n"));
        assert_eq!(both(|r| r.error("WRONGTYPE x\ny")), same("-WRONGTYPE x y\r\n"));
        assert_eq!(both(|r| r.error("-ERR x")), same("-ERR x\r\n"));
        assert_eq!(both(|r| r.int(0)), same(":0\r\n"));
        assert_eq!(both(|r| r.int(-42)), same(":-42\r\n"));
        assert_eq!(both(|r| r.int(i64::MIN)), same(":-9223372036854775808\r\n"));
        assert_eq!(both(|r| r.int(i64::MAX)), same(":9223372036854775807\r\n"));
        assert_eq!(both(|r| r.bulk(b"")), same("$0\r\n\r\n"));
        assert_eq!(both(|r| r.bulk(b"a\r\nb")), same("$4\r\na\r\nb\r\n"));
        assert_eq!(both(|r| r.bulk_int(42)), same("$2\r\n42\r\n"));
        assert_eq!(both(|r| r.bulk_int(0)), same("$1\r\n0\r\n"));
        assert_eq!(both(|r| r.bulk_int(i64::MIN)), same("$20\r\n-9223372036854775808\r\n"));
    }

    #[test]
    fn protocol_dependent_frames() {
        assert_eq!(both(|r| r.null()), pair("$-1\r\n", "_\r\n"));
        assert_eq!(both(|r| r.null_array()), pair("*-1\r\n", "_\r\n"));
        assert_eq!(both(|r| r.array(3)), same("*3\r\n"));
        assert_eq!(both(|r| r.empty_array()), same("*0\r\n"));
        assert_eq!(both(|r| r.map(2)), pair("*4\r\n", "%2\r\n"));
        assert_eq!(both(|r| r.map(0)), pair("*0\r\n", "%0\r\n"));
        assert_eq!(both(|r| r.set(5)), pair("*5\r\n", "~5\r\n"));
        assert_eq!(both(|r| r.push(3)), pair("*3\r\n", ">3\r\n"));
        assert_eq!(both(|r| r.bool(true)), pair(":1\r\n", "#t\r\n"));
        assert_eq!(both(|r| r.bool(false)), pair(":0\r\n", "#f\r\n"));
        assert_eq!(both(|r| r.verbatim("txt", b"hello")), pair("$5\r\nhello\r\n", "=9\r\ntxt:hello\r\n"));
        assert_eq!(both(|r| r.verbatim("md", b"")), pair("$0\r\n\r\n", "=4\r\nmd :\r\n"));
        assert_eq!(both(|r| r.verbatim("markdown", b"x")), pair("$1\r\nx\r\n", "=5\r\nmar:x\r\n"));
    }

    #[test]
    fn integers_as_std_formats_them() {
        let mut values = vec![i64::MIN, i64::MIN + 1, i64::MAX];
        let mut p = 1i64;
        for _ in 0..19 {
            values.extend([p - 1, p, p + 1, -p, 7 * p / 3]);
            p = p.saturating_mul(10);
        }
        for n in values {
            let mut digits = [0u8; 20];
            let len = i64_digits(n, &mut digits);
            assert_eq!(&digits[20 - len..], n.to_string().as_bytes());
        }
    }

    #[test]
    fn length_headers_at_the_digit_boundaries() {
        for n in [0usize, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65536] {
            let payload = vec![b'x'; n];
            let want = format!("${n}\r\n{}\r\n", "x".repeat(n));
            assert_eq!(both(|r| r.bulk(&payload)), same(&want), "bulk of {n}");
            assert_eq!(both(|r| r.array(n)), same(&format!("*{n}\r\n")), "array of {n}");
        }
        for n in [i64::MIN, -100, -99, -10, -9, -1, 0, 9, 10, 99, 100, i64::MAX] {
            assert_eq!(both(|r| r.int(n)), same(&format!(":{n}\r\n")), "integer {n}");
        }
    }

    #[test]
    fn doubles() {
        assert_eq!(both(|r| r.double(1.0)), pair("$1\r\n1\r\n", ",1\r\n"));
        assert_eq!(both(|r| r.double(1.5)), pair("$3\r\n1.5\r\n", ",1.5\r\n"));
        assert_eq!(both(|r| r.double(0.1)), pair("$19\r\n0.10000000000000001\r\n", ",0.10000000000000001\r\n"));
        assert_eq!(both(|r| r.double(f64::INFINITY)), pair("$3\r\ninf\r\n", ",inf\r\n"));
        assert_eq!(both(|r| r.double(f64::NEG_INFINITY)), pair("$4\r\n-inf\r\n", ",-inf\r\n"));
        assert_eq!(both(|r| r.double(f64::NAN)), pair("$3\r\nnan\r\n", ",nan\r\n"));
        assert_eq!(both(|r| r.double(-0.0)), pair("$2\r\n-0\r\n", ",-0\r\n"));
        assert_eq!(both(|r| r.double(1e17)), pair("$5\r\n1e+17\r\n", ",1e+17\r\n"));
    }

    fn fmt_double(d: f64) -> String {
        let mut out = Vec::new();
        format_double(d, &mut out);
        String::from_utf8(out).expect("ASCII")
    }

    fn fmt_human(d: f64) -> String {
        let mut out = Vec::new();
        format_human_double(d, &mut out);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn format_double_is_percent_17g() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.10000000000000001"),
            (1.0 / 3.0, "0.33333333333333331"),
            (100.0, "100"),
            (12345678901234567.0, "12345678901234568"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1.5e300, "1.5000000000000001e+300"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "-nan"),
        ];
        for &(d, want) in cases {
            assert_eq!(fmt_double(d), want, "{d:e}");
        }
    }

    /// glibc's own "%.17g", the reference Redis uses.
    fn libc_17g(d: f64) -> String {
        let mut buf = [0u8; 64];
        // SAFETY: the buffer is large enough for any "%.17g" output and
        // snprintf never writes past the size it is given.
        let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), d) };
        String::from_utf8_lossy(&buf[..n as usize]).into_owned()
    }

    #[test]
    fn format_double_matches_libc_on_edge_values() {
        let mut values = vec![0.5, 0.25, 0.125, 1234567890123456.0 + 0.25, 9.999999999999999e-5];
        for e in -320..=308 {
            let p = 10f64.powi(e);
            values.extend([p, p.next_down(), p.next_up(), -p * 9.5]);
        }
        for d in values {
            assert_eq!(fmt_double(d), libc_17g(d), "{d:e}");
        }
    }

    #[test]
    fn human_double() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (-1e-20, "0"),
            (1e-17, "0.00000000000000001"),
            (4e-18, "0"),
            (10.5, "10.5"),
            (10.5 + 0.1, "10.6"),
            (0.1 + 0.2, "0.3"),
            (0.1 + 0.7, "0.8"),
            (3.0e3 + 1.1, "3001.1"),
            (5.0e3, "5000"),
            (-1.1, "-1.1"),
            (1.0 / 3.0, "0.333333333333333"),
            (1e20, "100000000000000000000"),
            (1234567890123456789.0, "1234567890123456768"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(d, want) in cases {
            assert_eq!(fmt_human(d), want, "{d:e}");
        }
        assert_eq!(fmt_human(f64::MAX).len(), 309);
    }

    #[test]
    fn deferred_lengths() {
        let (r2, r3) = both(|r| {
            let outer = r.begin_deferred();
            r.bulk(b"k");
            let inner = r.begin_deferred();
            r.int(1);
            r.int(2);
            r.end_deferred_set(inner, 2);
            r.end_deferred_map(outer, 1);
        });
        assert_eq!(r2, "*2\r\n$1\r\nk\r\n*2\r\n:1\r\n:2\r\n");
        assert_eq!(r3, "%1\r\n$1\r\nk\r\n~2\r\n:1\r\n:2\r\n");

        let (r2, r3) = both(|r| {
            r.ok();
            let d = r.begin_deferred();
            for i in 0..12 {
                r.int(i);
            }
            r.end_deferred_array(d, 12);
            r.ok();
        });
        let mut want = "+OK\r\n*12\r\n".to_string();
        for i in 0..12 {
            want.push_str(&format!(":{i}\r\n"));
        }
        want.push_str("+OK\r\n");
        assert_eq!((r2, r3), (want.clone(), want));

        assert_eq!(
            both(|r| {
                let d = r.begin_deferred();
                r.end_deferred_array(d, 0);
            }),
            same("*0\r\n")
        );
    }

    #[test]
    fn reply_appends() {
        let mut buf = b"xyz".to_vec();
        let mut r = Reply::new(&mut buf, Proto::Resp3);
        r.null();
        assert_eq!(buf, b"xyz_\r\n");
    }

    proptest! {
        #[test]
        fn format_double_matches_libc(bits in any::<u64>()) {
            let d = f64::from_bits(bits);
            if !d.is_nan() {
                prop_assert_eq!(fmt_double(d), libc_17g(d));
            }
        }

        #[test]
        fn format_double_matches_libc_for_short_decimals(n in any::<i32>(), e in -30i32..30) {
            let d = f64::from(n) * 10f64.powi(e);
            prop_assert_eq!(fmt_double(d), libc_17g(d));
        }

        /// The human form reads back as a value within f64 noise of the
        /// input, in plain notation, and is stable when reformatted.
        #[test]
        fn human_double_round_trips(bits in any::<u64>()) {
            let d = f64::from_bits(bits);
            prop_assume!(d.is_finite());
            let s = fmt_human(d);
            prop_assert!(!s.contains('e'));
            let back: f64 = s.parse().expect("a number");
            let tolerance = (d.abs() * 1e-14).max(5e-18);
            prop_assert!((back - d).abs() <= tolerance, "{} -> {}", d, s);
            prop_assert_eq!(fmt_human(back), s);
        }
    }
}
