//! Redis's `long double` in software: the x87 80-bit extended format that
//! `long double` is on x86-64 Linux, for INCRBYFLOAT (and HINCRBYFLOAT).
//!
//! Redis parses the stored value and the increment with glibc's `strtold`,
//! adds them, and prints the sum with `"%.17Lf"`. An f64 cannot give the
//! same digits: it keeps 53 mantissa bits where Redis keeps 64 (so
//! `0.1 + 0.2` is `0.30000000000000004`, where Redis prints `0.3`), it holds
//! integers exactly only up to 2^53, and it overflows at 1.8e308 where
//! Redis goes on to 1.19e4932. So every step is done here exactly as the
//! hardware and glibc do it: parsing and addition correctly rounded to a
//! 64-bit mantissa (round half to even, gradual underflow below 2^-16382),
//! printing exact to 17 decimals (half to even). The exact values behind
//! them are small big integers ([`Big`]); only extreme inputs (1e4000,
//! 1e-4900) make them long.

use std::cmp::Ordering;

/// The exponent of the lowest mantissa bit of the smallest numbers: below
/// 2^-16382 the mantissa loses bits (denormals) down to 2^-16445.
const MIN_EXP: i64 = -16445;

/// The exponent of the lowest mantissa bit of the largest finite numbers:
/// (2^64 - 1) * 2^16320 is just under 2^16384.
const MAX_EXP: i64 = 16320;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` refuses strings this long.
const MAX_CHARS: usize = 5 * 1024;

/// Bits kept below the 64 of the mantissa while rounding, so that a sticky
/// bit is always below the rounding position.
const GUARD: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    /// `(-1)^neg * mant * 2^exp`, `mant` with its top bit set except for
    /// denormals (`exp == MIN_EXP`) and zero (`mant == 0`).
    Finite {
        neg: bool,
        mant: u64,
        exp: i32,
    },
    Inf {
        neg: bool,
    },
    Nan,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble::Finite { neg: false, mant: 0, exp: 0 };

    /// Exact, as C converts a `long` to `long double`.
    pub fn from_i64(n: i64) -> LongDouble {
        let mant = n.unsigned_abs();
        let shift = mant.leading_zeros() % 64;
        LongDouble::Finite { neg: n < 0, mant: mant << shift, exp: -(shift as i32) }
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// Redis's `string2ld`: the whole string must be a `strtold` number,
    /// without leading space, not NaN, and neither overflowing nor
    /// underflowing to zero; infinities are accepted.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS || s[0].is_ascii_whitespace() || s[0] == b'\x0b' {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Inf { neg });
        }
        let exact = match body {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(hex)?,
            _ => parse_decimal(body)?,
        };
        let Some(exact) = exact else {
            // Zero written as zero ("0", "0e9", "0x0p1"): no range error.
            return Some(LongDouble::Finite { neg, mant: 0, exp: 0 });
        };
        match exact.round(neg) {
            // Out of range: strtold's ERANGE, which Redis refuses.
            LongDouble::Inf { .. } | LongDouble::Finite { mant: 0, .. } => None,
            v => Some(v),
        }
    }

    /// Redis's `ld2string(LD_STR_HUMAN)`: `"%.17Lf"`, then the trailing
    /// zeros and a bare '.' dropped, and "-0" written "0".
    pub fn format_human(&self, out: &mut Vec<u8>) {
        let (neg, mant, exp) = match *self {
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp as i64),
            LongDouble::Inf { neg } => return out.extend_from_slice(if neg { b"-inf" } else { b"inf" }),
            LongDouble::Nan => return out.extend_from_slice(b"nan"),
        };
        let start = out.len();
        if neg {
            out.push(b'-');
        }
        // The value in units of 1e-17, rounded half to even as glibc does.
        let scaled = mant as u128 * 100_000_000_000_000_000u128;
        let units = if exp >= 0 {
            Big::from_u128(scaled).shl(exp as u64)
        } else {
            Big::from_u128(shift_right_even(scaled, exp.unsigned_abs()))
        };
        let mut digits = units.to_decimal();
        if digits.len() < 18 {
            let mut padded = vec![b'0'; 18 - digits.len()];
            padded.append(&mut digits);
            digits = padded;
        }
        let (int_part, frac) = digits.split_at(digits.len() - 17);
        out.extend_from_slice(int_part);
        let frac_len = frac.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        if frac_len > 0 {
            out.push(b'.');
            out.extend_from_slice(&frac[..frac_len]);
        }
        if &out[start..] == b"-0" {
            out.truncate(start);
            out.push(b'0');
        }
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// The correctly rounded sum, as the x87 unit adds.
    fn add(self, other: LongDouble) -> LongDouble {
        use LongDouble::*;
        match (self, other) {
            (Nan, _) | (_, Nan) => Nan,
            (Inf { neg: a }, Inf { neg: b }) if a != b => Nan,
            (Inf { neg }, _) | (_, Inf { neg }) => Inf { neg },
            (Finite { neg: na, mant: 0, .. }, Finite { neg: nb, mant: 0, .. }) => {
                // -0 + -0 is -0; any other sum of zeros is +0.
                Finite { neg: na && nb, mant: 0, exp: 0 }
            }
            (Finite { mant: 0, .. }, x) | (x, Finite { mant: 0, .. }) => x,
            (Finite { neg: na, mant: ma, exp: ea }, Finite { neg: nb, mant: mb, exp: eb }) => {
                let ((nbig, mbig, ebig), (nsmall, msmall, esmall)) =
                    if ea >= eb { ((na, ma, ea), (nb, mb, eb)) } else { ((nb, mb, eb), (na, ma, ea)) };
                add_aligned(nbig, mbig, ebig as i64, nsmall, msmall, esmall as i64)
            }
        }
    }
}

/// `v / 2^shift`, rounded half to even.
fn shift_right_even(v: u128, shift: u64) -> u128 {
    if shift >= 128 {
        // Callers' values are below 2^121, under half of 2^shift.
        return 0;
    }
    let (q, r) = (v >> shift, v & ((1u128 << shift) - 1));
    let half = 1u128 << (shift - 1);
    q + u128::from(r > half || (r == half && q & 1 == 1))
}

/// `(-1)^na ma 2^ea + (-1)^nb mb 2^eb` with `ea >= eb`, both nonzero and
/// normalized. The larger goes 62 bits up in a u128; the smaller, shifted
/// to the same scale, keeps its dropped bits as a sticky bit. With that
/// much room a sticky bit only happens when the smaller is 2^63 times
/// below, so it is far below the rounding position of the result.
fn add_aligned(na: bool, ma: u64, ea: i64, nb: bool, mb: u64, eb: i64) -> LongDouble {
    const UP: u32 = 62;
    let big = (ma as u128) << UP;
    let d = ea - eb;
    let small_full = (mb as u128) << UP;
    let (small, sticky) = if d >= 127 { (0, true) } else { (small_full >> d, small_full & ((1u128 << d) - 1) != 0) };
    let e = ea - UP as i64;
    if na == nb {
        return Exact { mant: big + small, exp: e, sticky }.round(na);
    }
    if big >= small {
        // big - (small + f) with 0 < f < 1 is (big - small - 1) + (1 - f).
        let mant = big - small - u128::from(sticky);
        if mant == 0 && !sticky {
            return LongDouble::ZERO;
        }
        Exact { mant, exp: e, sticky }.round(na)
    } else {
        // Only when d == 0, so nothing was dropped.
        Exact { mant: small - big, exp: e, sticky: false }.round(nb)
    }
}

/// A positive value `(mant + f) * 2^exp`, where `0 < f < 1` if `sticky`
/// else `f == 0`, about to be rounded to a long double.
struct Exact {
    mant: u128,
    exp: i64,
    sticky: bool,
}

impl Exact {
    /// Round half to even to 64 bits (fewer for denormals).
    fn round(self, neg: bool) -> LongDouble {
        let Exact { mant, exp, sticky } = self;
        if mant == 0 {
            return LongDouble::Finite { neg, mant: 0, exp: 0 };
        }
        let bits = 128 - mant.leading_zeros() as i64;
        let mut drop = bits - 64;
        if exp + drop < MIN_EXP {
            drop = MIN_EXP - exp;
        }
        let (mut q, mut e) = if drop <= 0 {
            // Exact: callers give at least 64 + GUARD bits whenever sticky.
            (mant << (-drop).min(127), exp + drop)
        } else {
            let d = drop as u64;
            let q = if d >= 128 { 0 } else { mant >> d };
            let rest_half = match d {
                d if d > 128 => Ordering::Less,
                128 => mant.cmp(&(1u128 << 127)),
                d => (mant & ((1u128 << d) - 1)).cmp(&(1u128 << (d - 1))),
            };
            let up = match rest_half {
                Ordering::Greater => true,
                Ordering::Equal => sticky || q & 1 == 1,
                Ordering::Less => false,
            };
            (q + u128::from(up), exp + drop)
        };
        if q >> 64 != 0 {
            q >>= 1;
            e += 1;
        }
        if q == 0 {
            return LongDouble::Finite { neg, mant: 0, exp: 0 };
        }
        if e > MAX_EXP {
            return LongDouble::Inf { neg };
        }
        LongDouble::Finite { neg, mant: q as u64, exp: e as i32 }
    }
}

/// Exponent digits, saturating: far past any exponent that matters.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0i64, |v, &d| (v * 10 + i64::from(d - b'0')).min(1 << 40));
    Some(if neg { -v } else { v })
}

/// Splits `digits[.digits]` at the point; None unless it has a digit and
/// nothing else.
fn split_mantissa(s: &[u8], is_digit: fn(&u8) -> bool) -> Option<(&[u8], &[u8])> {
    let (int, frac) = match s.iter().position(|&c| c == b'.') {
        Some(p) => (&s[..p], &s[p + 1..]),
        None => (s, &s[..0]),
    };
    let ok = (!int.is_empty() || !frac.is_empty()) && int.iter().all(is_digit) && frac.iter().all(is_digit);
    ok.then_some((int, frac))
}

/// A decimal `strtold` accepts whole: `[digits][.digits][e[sign]digits]`.
/// `Some(None)` for zero.
fn parse_decimal(s: &[u8]) -> Option<Option<Exact>> {
    let (mantissa, exp) = match s.iter().position(|&c| c == b'e' || c == b'E') {
        Some(p) => (&s[..p], parse_exponent(&s[p + 1..])?),
        None => (s, 0),
    };
    let (int, frac) = split_mantissa(mantissa, u8::is_ascii_digit)?;
    // value = digits * 10^exp10
    let all = int.iter().chain(frac).copied();
    let digits: Vec<u8> = all.skip_while(|&d| d == b'0').collect();
    let zeros = digits.iter().rev().take_while(|&&d| d == b'0').count();
    let digits = &digits[..digits.len() - zeros];
    if digits.is_empty() {
        return Some(None);
    }
    let exp10 = exp - frac.len() as i64 + zeros as i64;
    // 10^(magnitude-1) <= value < 10^magnitude: settle the far out of range
    // at once (the largest long double is 1.19e4932, half the smallest
    // denormal 1.8e-4951), so the exact arithmetic stays bounded.
    let magnitude = exp10 + digits.len() as i64;
    if magnitude > 4934 {
        return Some(Some(Exact { mant: 1, exp: MAX_EXP + 64, sticky: false }));
    }
    if magnitude < -4953 {
        return Some(Some(Exact { mant: 1, exp: MIN_EXP - 2, sticky: false }));
    }
    let mut num = Big::zero();
    for chunk in digits.chunks(9) {
        let v = chunk.iter().fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
        num.mul_add_small(10u32.pow(chunk.len() as u32), v);
    }
    let mut den = Big::from_u128(1);
    if exp10 >= 0 {
        num.mul_pow10(exp10 as u64);
    } else {
        den.mul_pow10(exp10.unsigned_abs());
    }
    Some(Some(ratio(&num, &den, 0)))
}

/// A hexadecimal `strtold` accepts whole (after `0x`):
/// `[hexdigits][.hexdigits][p[sign]digits]`. `Some(None)` for zero.
fn parse_hex(s: &[u8]) -> Option<Option<Exact>> {
    let (mantissa, exp) = match s.iter().position(|&c| c == b'p' || c == b'P') {
        Some(p) => (&s[..p], parse_exponent(&s[p + 1..])?),
        None => (s, 0),
    };
    let (int, frac) = split_mantissa(mantissa, u8::is_ascii_hexdigit)?;
    let nibble = |c: u8| (c as char).to_digit(16).unwrap_or(0);
    let mut num = Big::zero();
    for &c in int.iter().chain(frac) {
        num.mul_add_small(16, nibble(c));
    }
    if num.is_zero() {
        return Some(None);
    }
    let exp2 = exp - 4 * frac.len() as i64;
    let magnitude = exp2 + num.bits() as i64;
    if magnitude > 16400 {
        return Some(Some(Exact { mant: 1, exp: MAX_EXP + 64, sticky: false }));
    }
    if magnitude < -16500 {
        return Some(Some(Exact { mant: 1, exp: MIN_EXP - 2, sticky: false }));
    }
    Some(Some(ratio(&num, &Big::from_u128(1), exp2)))
}

/// `num / den * 2^exp2` as an [`Exact`] with 67 or 68 bits: enough above
/// the 64 kept that the remainder only ever acts as a sticky bit.
fn ratio(num: &Big, den: &Big, exp2: i64) -> Exact {
    const QUOTIENT_BITS: u64 = 64 + GUARD as u64;
    let scale = QUOTIENT_BITS as i64 + den.bits() as i64 - num.bits() as i64;
    let (mut a, b) =
        if scale >= 0 { (num.shl(scale as u64), den.clone()) } else { (num.clone(), den.shl(scale.unsigned_abs())) };
    // 2^66 <= a / b < 2^68: restoring division, one quotient bit a step.
    let mut divisor = b.shl(68);
    let mut q = 0u128;
    for bit in (0..68).rev() {
        divisor.shr1();
        if a >= divisor {
            a.sub_assign(&divisor);
            q |= 1 << bit;
        }
    }
    Exact { mant: q, exp: exp2 - scale, sticky: !a.is_zero() }
}

/// Just enough of an unsigned big integer: little-endian 32-bit limbs, no
/// zero limb on top.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        self.0.last().map_or(0, |&top| self.0.len() as u64 * 32 - top.leading_zeros() as u64)
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// self = self * mul + add
    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = add as u64;
        for limb in &mut self.0 {
            let v = *limb as u64 * mul as u64 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn mul_pow10(&mut self, mut n: u64) {
        while n > 0 {
            let step = n.min(9);
            self.mul_add_small(10u32.pow(step as u32), 0);
            n -= step;
        }
    }

    fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        let mut carry = 0u32;
        for &limb in &self.0 {
            out.push(if bits == 0 { limb } else { (limb << bits) | carry });
            carry = if bits == 0 { 0 } else { limb >> (32 - bits) };
        }
        out.push(carry);
        let mut big = Big(out);
        big.trim();
        big
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for limb in self.0.iter_mut().rev() {
            let next = *limb << 31;
            *limb = (*limb >> 1) | carry;
            carry = next;
        }
        self.trim();
    }

    /// self -= other; other <= self.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let v = *limb as i64 - other.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            borrow = i64::from(v < 0);
            *limb = v.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }

    /// self /= d, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.0.iter_mut().rev() {
            let v = (rem << 32) | *limb as u64;
            *limb = (v / d as u64) as u32;
            rem = v % d as u64;
        }
        self.trim();
        rem as u32
    }

    fn to_decimal(&self) -> Vec<u8> {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut out = Vec::with_capacity(chunks.len() * 9 + 1);
        match chunks.split_last() {
            None => out.push(b'0'),
            Some((top, rest)) => {
                out.extend_from_slice(top.to_string().as_bytes());
                for c in rest.iter().rev() {
                    out.extend_from_slice(format!("{:09}", c).as_bytes());
                }
            }
        }
        out
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human(v: LongDouble) -> String {
        let mut out = Vec::new();
        v.format_human(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn p(s: &str) -> LongDouble {
        LongDouble::parse(s.as_bytes()).unwrap_or_else(|| panic!("{s} should parse"))
    }

    fn sum(a: &str, b: &str) -> String {
        human(p(a) + p(b))
    }

    #[test]
    fn parses_what_strtold_parses_whole() {
        for ok in
            ["1", "-1", "+1", "1.", ".5", "-.5", "1e5", "1E+05", "1e-5", "0x10", "0X1p-2", "0x.8", "inf", "-Infinity"]
        {
            assert!(LongDouble::parse(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in [
            "",
            " 1",
            "1 ",
            "\t1",
            "abc",
            ".",
            "+",
            "-",
            "1e",
            "1e+",
            "1.2.3",
            "0x",
            "0xg",
            "0x1p",
            "nan",
            "NaN",
            "-nan",
            "nan(1)",
            "infin",
            "1\0",
            "1e99999",
            "1e-99999",
            "0x1p99999",
            "1,5",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        let long_one = |len: usize| [&b"1."[..], &vec![b'0'; len - 2]].concat();
        assert_eq!(LongDouble::parse(&long_one(MAX_CHARS)), None);
        assert_eq!(human(LongDouble::parse(&long_one(MAX_CHARS - 1)).unwrap()), "1");
        // Zero written as zero is no range error, whatever its exponent.
        assert_eq!(human(p("0e99999")), "0");
        assert_eq!(human(p("-0.000")), "0");
    }

    #[test]
    fn range_limits_are_the_x87_ones() {
        // Largest finite: (2^64 - 1) * 2^16320 ≈ 1.18973149535723176502e4932.
        assert!(p("1.18973149535723176e4932").is_finite());
        assert_eq!(LongDouble::parse(b"1.18973149535723177e4932"), None);
        // Smallest denormal 2^-16445 ≈ 3.6451995318824746e-4951; half of it
        // rounds to zero (even), a bit more rounds up to it.
        assert_eq!(p("3.6451995318824746e-4951"), LongDouble::Finite { neg: false, mant: 1, exp: MIN_EXP as i32 });
        assert_eq!(LongDouble::parse(b"1.8225997659412373e-4951"), None);
        assert_eq!(p("1.8225997659412374e-4951"), LongDouble::Finite { neg: false, mant: 1, exp: MIN_EXP as i32 });
    }

    #[test]
    fn sums_print_as_redis_prints_them() {
        // Values checked against redis-server 7.0 (glibc, x86-64).
        assert_eq!(sum("10.5", "0.1"), "10.6");
        assert_eq!(sum("0.1", "0.2"), "0.3");
        assert_eq!(sum("5.0e3", "0"), "5000");
        assert_eq!(sum("1", "-1"), "0");
        assert_eq!(sum("-0", "-0"), "0");
        assert_eq!(sum("3.0e3", "200"), "3200");
        assert_eq!(sum("1e20", "0"), "100000000000000000000");
        assert_eq!(sum("9223372036854775807", "0"), "9223372036854775807");
        assert_eq!(sum("1.23456789012345678", "0"), "1.23456789012345678");
        assert_eq!(sum("0.000000000000000001", "0"), "0");
        assert_eq!(sum("-0.000000000000000001", "0"), "0");
        // 5e-18 is a hair below its decimal: down; 6e-18 up.
        assert_eq!(sum("0.000000000000000005", "0"), "0");
        assert_eq!(sum("0.000000000000000006", "0"), "0.00000000000000001");
        // Exact ties at the 17th decimal go to even.
        assert_eq!(sum("0.000003814697265625", "0"), "0.00000381469726562");
        assert_eq!(sum("0x1p-18", "0"), "0.00000381469726562");
        assert_eq!(sum("0x3p-18", "0"), "0.00001144409179688");
        assert_eq!(human(LongDouble::from_i64(i64::MIN)), "-9223372036854775808");
        assert_eq!(human(LongDouble::from_i64(0)), "0");
    }

    #[test]
    fn special_sums() {
        assert_eq!(p("inf") + p("-inf"), LongDouble::Nan);
        assert_eq!(p("inf") + p("1"), LongDouble::Inf { neg: false });
        assert!(!(p("1.1e4932") + p("1.1e4932")).is_finite());
        assert_eq!(sum("1e4000", "-1e4000"), "0");
        // A tiny addend only nudges the rounding.
        assert_eq!(sum("1", "1e-300"), "1");
        assert_eq!(sum("1", "-1e-300"), "1");
    }

    #[test]
    fn big_integers() {
        let mut n = Big::from_u128(1);
        n.mul_pow10(30);
        assert_eq!(n.to_decimal(), b"1000000000000000000000000000000");
        assert_eq!(n.shl(3).to_decimal(), b"8000000000000000000000000000000");
        let mut m = n.clone();
        m.sub_assign(&Big::from_u128(1));
        assert_eq!(m.to_decimal(), b"999999999999999999999999999999");
        assert!(m < n);
        m.shr1();
        assert_eq!(m.to_decimal(), b"499999999999999999999999999999");
        assert_eq!(Big::zero().to_decimal(), b"0");
    }
}
