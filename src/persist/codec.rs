//! The binary form of keyspace values, shared by snapshots and log records.
//!
//! Layout (fixed-width integers little-endian; lengths and counts as
//! *varints*: LEB128, 7 bits a byte, low bits first, so a short string's
//! length takes one byte):
//! - byte string: a varint length, then the bytes;
//! - value: one tag byte, then
//!   - string: its bytes;
//!   - list: a varint count, then the elements head to tail;
//!   - hash: a varint count, then field, value for each pair;
//!   - set: a varint count, then the members;
//!   - sorted set: a varint count, then member, score (`f64` bits) in rank
//!     order;
//! - entry: key bytes, an expiry flag (0: none, 1: a `u64` absolute Unix ms
//!   follows), the value.
//!
//! Only contents are written, never encodings: decoding rebuilds each value
//! through its type's own API with the limits in force at load time, so
//! `OBJECT ENCODING` comes back as Redis 7.2's RDB load gives it (a string
//! re-encoded as `tryObjectEncoding` would, a hash table that shrank back
//! to a few small fields becomes a listpack, a list is a listpack iff it
//! fits one node, …). One difference: Redis saves a listpack set as it is,
//! so one left with only integers (after SREM of its strings) stays a
//! listpack there, and comes back an intset here. Encoding is
//! deterministic: the same value always gives the same bytes.
//!
//! Decoding never trusts its input: every read is bounds-checked, an element
//! count is checked against the bytes left before anything is sized by it,
//! and what Redis never stores (empty collections, duplicate members, NaN
//! scores) is rejected, so a corrupt file is an error, never a panic or a
//! huge allocation.

use crate::shard::{Entry, UnixMs};
use crate::types::list::List;
use crate::types::zset::{AddFlags, ZAdd};
use crate::types::{Hash, Limits, RString, Set, Value, ZSet};

const TAG_STRING: u8 = 0;
const TAG_LIST: u8 = 1;
const TAG_HASH: u8 = 2;
const TAG_SET: u8 = 3;
const TAG_ZSET: u8 = 4;

const NO_EXPIRY: u8 = 0;
const HAS_EXPIRY: u8 = 1;

/// The least a byte string takes: a one-byte length.
const MIN_STRING: usize = 1;

/// Members decoded per batch handed to `set_many`/`add_many`: big enough to
/// amortize the call, small enough that the batch's slice vector stays
/// small. Even, so hash pairs never straddle two batches.
const BATCH: usize = 1024;

/// Appends to a `Vec<u8>`: little-endian fixed-width integers and
/// length-prefixed byte strings.
pub trait Put {
    fn put_u8(&mut self, v: u8);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    /// The exact bits (`-0`, infinities and NaN payloads survive).
    fn put_f64(&mut self, v: f64);
    /// An unsigned integer in 1 to 10 bytes (LEB128).
    fn put_varint(&mut self, v: u64);
    /// The varint length, then the bytes.
    fn put_bytes(&mut self, b: &[u8]);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }

    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }

    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }

    fn put_f64(&mut self, v: f64) {
        self.put_u64(v.to_bits());
    }

    fn put_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.push(v as u8);
    }

    fn put_bytes(&mut self, b: &[u8]) {
        self.put_varint(b.len() as u64);
        self.extend_from_slice(b);
    }
}

/// Why bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ends before what it announces.
    Truncated,
    /// A tag byte that is not one this module writes.
    BadTag(u8),
    /// Well-formed bytes describing something that cannot be stored.
    Invalid(&'static str),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("truncated data"),
            DecodeError::BadTag(t) => write!(f, "unknown tag byte {t}"),
            DecodeError::Invalid(why) => write!(f, "invalid data: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Reads what [`Put`] wrote. Every read is bounds-checked: no input makes
/// it panic, and byte strings are borrowed from the input, never copied.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes, as they are.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// A varint ([`Put::put_varint`]); more than 64 bits is invalid.
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                break;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Invalid("varint longer than 64 bits"))
    }

    /// A length-prefixed byte string, borrowed from the input.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        // A length beyond the address space is beyond the input too.
        let len = usize::try_from(self.varint()?).map_err(|_| DecodeError::Truncated)?;
        self.take(len)
    }
}

/// Appends a value: its tag, then its contents.
pub fn put_value(out: &mut Vec<u8>, value: &Value) {
    debug_assert!(!value.is_empty_collection(), "Redis never stores an empty collection");
    match value {
        Value::Str(s) => {
            out.reserve(1 + MIN_STRING + s.len());
            out.put_u8(TAG_STRING);
            s.with_bytes(|b| out.put_bytes(b));
        }
        Value::List(l) => {
            put_head(out, TAG_LIST, l.len(), MIN_STRING);
            for e in l.iter() {
                out.put_bytes(e);
            }
        }
        Value::Hash(h) => {
            put_head(out, TAG_HASH, h.len(), 2 * MIN_STRING);
            for (field, value) in h.iter() {
                out.put_bytes(field);
                out.put_bytes(value);
            }
        }
        Value::Set(s) => {
            put_head(out, TAG_SET, s.len(), MIN_STRING);
            for m in s.iter() {
                out.put_bytes(&m);
            }
        }
        Value::ZSet(z) => {
            put_head(out, TAG_ZSET, z.len(), MIN_STRING + 8);
            for (member, score) in z.iter() {
                out.put_bytes(member);
                out.put_f64(score);
            }
        }
    }
}

/// Tag and count of a collection, with room reserved for at least its
/// elements' fixed-size parts.
fn put_head(out: &mut Vec<u8>, tag: u8, count: usize, min_element: usize) {
    out.reserve(1 + 10 + count.saturating_mul(min_element));
    out.put_u8(tag);
    out.put_varint(count as u64);
}

/// Reads a value written by [`put_value`], building it with `limits` (the
/// encoding thresholds in force now).
pub fn read_value(r: &mut Reader, limits: Limits) -> Result<Value, DecodeError> {
    match r.u8()? {
        TAG_STRING => Ok(Value::Str(RString::from_bytes(r.bytes()?))),
        TAG_LIST => read_list(r, limits).map(|l| Value::List(Box::new(l))),
        TAG_HASH => read_hash(r, limits).map(|h| Value::Hash(Box::new(h))),
        TAG_SET => read_set(r, limits).map(|s| Value::Set(Box::new(s))),
        TAG_ZSET => read_zset(r, limits).map(|z| Value::ZSet(Box::new(z))),
        tag => Err(DecodeError::BadTag(tag)),
    }
}

/// Appends a whole key: its name, its expiry, its value.
pub fn put_entry(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_at: Option<UnixMs>) {
    out.put_bytes(key);
    match expire_at {
        None => out.put_u8(NO_EXPIRY),
        Some(at) => {
            out.put_u8(HAS_EXPIRY);
            out.put_u64(at);
        }
    }
    put_value(out, value);
}

/// Reads a key written by [`put_entry`].
pub fn read_entry(r: &mut Reader, limits: Limits) -> Result<(Box<[u8]>, Entry), DecodeError> {
    let key = r.bytes()?;
    let expire_at = match r.u8()? {
        NO_EXPIRY => None,
        HAS_EXPIRY => Some(r.u64()?),
        tag => return Err(DecodeError::BadTag(tag)),
    };
    let value = read_value(r, limits)?;
    Ok((key.into(), Entry::with_expiry(value, expire_at)))
}

/// A collection's element count. Each element takes at least `min_element`
/// bytes, so a count the rest of the input cannot hold is known to be
/// truncated before anything is sized by it.
fn read_count(r: &mut Reader, min_element: usize) -> Result<usize, DecodeError> {
    let n = r.varint()?;
    if n == 0 {
        return Err(DecodeError::Invalid("empty collection"));
    }
    if n > (r.remaining() / min_element) as u64 {
        return Err(DecodeError::Truncated);
    }
    Ok(n as usize)
}

/// Reads `n` byte strings in batches of at most [`BATCH`], handing each
/// batch to `f`.
fn read_batches<'a>(
    r: &mut Reader<'a>,
    n: usize,
    mut f: impl FnMut(&[&'a [u8]]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut batch = Vec::with_capacity(n.min(BATCH));
    let mut left = n;
    while left > 0 {
        batch.clear();
        for _ in 0..left.min(BATCH) {
            batch.push(r.bytes()?);
        }
        left -= batch.len();
        f(&batch)?;
    }
    Ok(())
}

fn read_list(r: &mut Reader, limits: Limits) -> Result<List, DecodeError> {
    let n = read_count(r, MIN_STRING)?;
    // `from_elements` takes an iterator; the first read error ends it and
    // is kept here.
    let mut failed = Ok(());
    let elements = (0..n).map_while(|_| r.bytes().map_err(|e| failed = Err(e)).ok());
    let list = List::from_elements(elements, limits.list);
    failed.map(|()| list)
}

fn read_hash(r: &mut Reader, limits: Limits) -> Result<Hash, DecodeError> {
    let n = read_count(r, 2 * MIN_STRING)?;
    let mut hash = Hash::new();
    read_batches(r, 2 * n, |pairs| {
        if hash.set_many(pairs, limits.hash) == pairs.len() / 2 {
            Ok(())
        } else {
            Err(DecodeError::Invalid("duplicate hash field"))
        }
    })?;
    Ok(hash)
}

fn read_set(r: &mut Reader, limits: Limits) -> Result<Set, DecodeError> {
    let n = read_count(r, MIN_STRING)?;
    let mut set: Option<Set> = None;
    read_batches(r, n, |members| {
        // As SADD would create it for this many members (intset, listpack
        // or table), then grown by the same rules.
        let set = set.get_or_insert_with(|| Set::create(members[0], n, limits.set));
        if set.add_many(members, limits.set) == members.len() {
            Ok(())
        } else {
            Err(DecodeError::Invalid("duplicate set member"))
        }
    })?;
    set.ok_or(DecodeError::Invalid("empty collection"))
}

fn read_zset(r: &mut Reader, limits: Limits) -> Result<ZSet, DecodeError> {
    let n = read_count(r, MIN_STRING + 8)?;
    // Redis loads into a skip list and converts to a listpack only if
    // everything fits. Choosing up front from the longest member, rather
    // than converting midway, matters: a listpack stores -0 as 0, so scores
    // passed through one would lose a sign the skip list keeps.
    let mut zset = ZSet::create(n, longest_member(r.clone(), n)?, limits.zset);
    for _ in 0..n {
        let member = r.bytes()?;
        let score = r.f64()?;
        if score.is_nan() {
            return Err(DecodeError::Invalid("NaN score"));
        }
        match zset.add(member, score, AddFlags::default(), limits.zset) {
            ZAdd::Added(_) => {}
            _ => return Err(DecodeError::Invalid("duplicate sorted set member")),
        }
    }
    Ok(zset)
}

/// The length of the longest of the next `n` sorted set members, read
/// ahead without consuming.
fn longest_member(mut ahead: Reader, n: usize) -> Result<usize, DecodeError> {
    let mut longest = 0;
    for _ in 0..n {
        longest = longest.max(ahead.bytes()?.len());
        ahead.f64()?;
    }
    Ok(longest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::types::list::End;
    use crate::types::listpack::{redis_entry_size, REDIS_LP_OVERHEAD};
    use proptest::prelude::*;

    /// Redis's default thresholds, as a server started without settings has them.
    fn limits() -> Limits {
        Limits::from_config(&Config::default())
    }

    fn encode(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        put_value(&mut out, v);
        out
    }

    /// Decodes a whole buffer, insisting every byte is used.
    fn decode(buf: &[u8]) -> Result<Value, DecodeError> {
        let mut r = Reader::new(buf);
        let v = read_value(&mut r, limits())?;
        assert!(r.is_empty(), "{} bytes left over", r.remaining());
        Ok(v)
    }

    fn bytes_of(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn numbered(prefix: &str, n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("{prefix}{i}").into_bytes()).collect()
    }

    fn list(elements: &[Vec<u8>]) -> Value {
        let mut l = List::new();
        l.push(End::Tail, elements, limits().list);
        Value::List(Box::new(l))
    }

    fn hash(pairs: &[(Vec<u8>, Vec<u8>)]) -> Value {
        let args: Vec<&[u8]> = pairs.iter().flat_map(|(f, v)| [&f[..], &v[..]]).collect();
        let mut h = Hash::new();
        h.set_many(&args, limits().hash);
        Value::Hash(Box::new(h))
    }

    fn set(members: &[Vec<u8>]) -> Value {
        let mut s = Set::create(&members[0], members.len(), limits().set);
        s.add_many(members, limits().set);
        Value::Set(Box::new(s))
    }

    fn zset(pairs: &[(Vec<u8>, f64)]) -> Value {
        let mut z = ZSet::create(pairs.len(), pairs[0].0.len(), limits().zset);
        for (m, s) in pairs {
            z.add(m, *s, AddFlags::default(), limits().zset);
        }
        Value::ZSet(Box::new(z))
    }

    /// Round trips `v`, which must have `encoding`: the value, its encoding
    /// and its bytes come back the same.
    fn assert_round_trip(v: &Value, encoding: &str) -> Value {
        assert_eq!(v.encoding(), encoding, "test value not built as intended");
        let buf = encode(v);
        let back = decode(&buf).expect("decodes");
        assert_eq!(&back, v);
        assert_eq!(back.type_name(), v.type_name());
        assert_eq!(back.encoding(), encoding);
        assert_eq!(encode(&back), buf, "re-encoding differs");
        back
    }

    /// Every proper prefix fails (never panics, never decodes as something
    /// shorter). Long inputs get a spread of prefixes and the last few.
    fn assert_prefixes_fail(buf: &[u8]) {
        let step = (buf.len() / 300).max(1);
        let cuts = (0..buf.len()).step_by(step).chain(buf.len().saturating_sub(20)..buf.len());
        for cut in cuts {
            let mut r = Reader::new(&buf[..cut]);
            assert!(read_entry(&mut r, limits()).is_err(), "prefix of {cut} of {} bytes decoded", buf.len());
        }
    }

    #[test]
    fn strings_come_back_encoded_as_redis_loads_them() {
        for (s, enc) in [
            (&b""[..], "embstr"),
            (b"\x00\xff\r\nbinary\x00", "embstr"),
            (b"12345", "int"),
            (b"-9223372036854775808", "int"),
            (b"9223372036854775808", "embstr"), // overflows
            (b"007", "embstr"),                 // not canonical
            (&[b'e'; 44], "embstr"),
            (&[b'r'; 45], "raw"),
        ] {
            assert_round_trip(&Value::Str(RString::from_bytes(s)), enc);
        }
        let mb: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 256) as u8).collect();
        assert_round_trip(&Value::Str(RString::from_vec(mb)), "raw");
        // APPEND leaves short strings raw; Redis's load re-encodes them
        // (`tryObjectEncoding`), as does ours.
        let appended = Value::Str(RString::from_vec(b"ab".to_vec()));
        assert_eq!(decode(&encode(&appended)).unwrap().encoding(), "embstr");
        let number = Value::Str(RString::from_vec(b"42".to_vec()));
        assert_eq!(decode(&encode(&number)).unwrap().encoding(), "int");
    }

    #[test]
    fn lists_round_trip_in_both_encodings() {
        let mut small = numbered("e", 8);
        small.extend([b"".to_vec(), b"-17".to_vec(), b"\x00\x01\xfe".to_vec()]);
        assert_round_trip(&list(&small), "listpack");
        let big = numbered("element-", 10_000);
        let back = assert_round_trip(&list(&big), "quicklist");
        let Value::List(l) = back else { panic!() };
        assert!(l.iter().eq(big.iter().map(|v| &v[..])), "order kept");
        let ints: Vec<Vec<u8>> = (0..3000i64).map(|i| (i * 1_000_003 - 7).to_string().into_bytes()).collect();
        assert_round_trip(&list(&ints), "quicklist");
        assert_round_trip(&list(&[vec![b'x'; 100_000]]), "quicklist");
    }

    #[test]
    fn a_list_is_a_listpack_again_only_if_it_really_fits_one_node() {
        // Pushed one at a time, 1200 five-letter strings outgrow a listpack
        // (7 + 1200 * 7 > 8192) though their raw lengths would fit one push's
        // check: still a quicklist after loading, as in Redis.
        let mut l = List::new();
        for i in 0..1200 {
            l.push(End::Tail, &[format!("v{i:04}")], limits().list);
        }
        assert_round_trip(&Value::List(Box::new(l)), "quicklist");
        // A quicklist popped down to one node within the limit (but above
        // half, so it stayed a quicklist) loads as a listpack, as Redis's
        // `listTypeTryConversion` after loading makes it.
        let mut l = List::new();
        for _ in 0..80 {
            l.push(End::Tail, &[[b'x'; 100]], limits().list);
        }
        assert_eq!(l.encoding(), "quicklist");
        l.pop_many(End::Tail, 5, limits().list);
        assert_eq!(l.encoding(), "quicklist");
        let back = decode(&encode(&Value::List(Box::new(l)))).unwrap();
        assert_eq!(back.encoding(), "listpack");
        assert_eq!(back.elements(), 75);
    }

    #[test]
    fn hashes_round_trip_in_both_encodings() {
        let pairs = |n: usize, vlen: usize| -> Vec<(Vec<u8>, Vec<u8>)> {
            (0..n).map(|i| (format!("f{i}").into_bytes(), format!("{i:0vlen$}").into_bytes())).collect()
        };
        assert_round_trip(&hash(&pairs(10, 3)), "listpack");
        assert_round_trip(&hash(&pairs(512, 3)), "listpack");
        assert_round_trip(&hash(&pairs(513, 3)), "hashtable");
        assert_round_trip(&hash(&pairs(10_000, 10)), "hashtable");
        assert_round_trip(&hash(&pairs(3, 65)), "hashtable"); // a long value
        assert_round_trip(&hash(&[(Vec::new(), Vec::new()), (b"\x00".to_vec(), b"-1".to_vec())]), "listpack");
    }

    #[test]
    fn sets_round_trip_in_every_encoding() {
        let ints = |n: i64| -> Vec<Vec<u8>> { (0..n).map(|i| ((i - n / 2) * 7919).to_string().into_bytes()).collect() };
        assert_round_trip(&set(&ints(10)), "intset");
        assert_round_trip(&set(&ints(512)), "intset");
        assert_round_trip(&set(&ints(513)), "hashtable");
        let extremes = bytes_of(&["-9223372036854775808", "9223372036854775807", "0", "-1"]);
        let back = assert_round_trip(&set(&extremes), "intset");
        assert!(extremes.iter().all(|m| matches!(&back, Value::Set(s) if s.contains(m))));
        assert_round_trip(&set(&bytes_of(&["a", "b", "", "\x00\u{7f}"])), "listpack");
        // An intset that got a string became a listpack.
        let mut mixed = ints(20);
        mixed.push(b"x".to_vec());
        assert_round_trip(&set(&mixed), "listpack");
        assert_round_trip(&set(&numbered("m", 128)), "listpack");
        assert_round_trip(&set(&numbered("m", 129)), "hashtable");
        assert_round_trip(&set(&numbered("member-", 10_000)), "hashtable");
        assert_round_trip(&set(&[vec![b'l'; 65]]), "hashtable");
    }

    #[test]
    fn sorted_sets_round_trip_in_both_encodings_with_exact_scores() {
        let special = vec![
            (b"inf".to_vec(), f64::INFINITY),
            (b"-inf".to_vec(), f64::NEG_INFINITY),
            (b"neg-zero".to_vec(), -0.0),
            (b"zero".to_vec(), 0.0),
            (b"tiny".to_vec(), f64::MIN_POSITIVE / 4.0),
            (b"pi".to_vec(), std::f64::consts::PI),
            (b"".to_vec(), -1.5),
        ];
        let same_bits = |a: &Value, b: &Value| {
            let (Value::ZSet(a), Value::ZSet(b)) = (a, b) else { panic!() };
            a.iter().zip(b.iter()).all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
        };
        let small = zset(&special);
        assert!(same_bits(&assert_round_trip(&small, "listpack"), &small));
        let many: Vec<(Vec<u8>, f64)> =
            (0..10_000).map(|i| (format!("m{i}").into_bytes(), (i % 97) as f64 - 40.5)).collect();
        let mut with_special = many.clone();
        with_special.extend(special.iter().map(|(m, s)| ([b"s-", &m[..]].concat(), *s)));
        let big = zset(&with_special);
        let back = assert_round_trip(&big, "skiplist");
        assert!(same_bits(&back, &big));
        let Value::ZSet(z) = back else { panic!() };
        // A skip list keeps the sign of zero (a listpack stores -0 as 0).
        assert_eq!(z.score(b"s-neg-zero").map(f64::to_bits), Some((-0.0f64).to_bits()));
        // Also when what makes it a skip list is a long member ranked after
        // the -0 score.
        let mut late_long = special.clone();
        late_long.push((vec![b'l'; 65], 1.0));
        let mut z = ZSet::create(100, 100, limits().zset);
        for (m, s) in &late_long {
            z.add(m, *s, AddFlags::default(), limits().zset);
        }
        let v = Value::ZSet(Box::new(z));
        assert!(same_bits(&assert_round_trip(&v, "skiplist"), &v));
        assert_round_trip(&zset(&many[..128]), "listpack");
        assert_round_trip(&zset(&many[..129]), "skiplist");
        assert_round_trip(&zset(&[(vec![b'l'; 65], 1.0)]), "skiplist");
    }

    #[test]
    fn entries_keep_key_expiry_and_value() {
        let values = [
            Value::Str(RString::from_bytes(b"v")),
            list(&numbered("x", 3)),
            hash(&[(b"f".to_vec(), b"v".to_vec())]),
            set(&bytes_of(&["1", "2"])),
            zset(&[(b"m".to_vec(), 2.5)]),
        ];
        for value in values {
            for (key, expiry) in [(&b"k"[..], None), (b"", Some(0)), (b"\x00key\xff", Some(1_700_000_000_123))] {
                let entry = Entry::with_expiry(value.clone(), expiry);
                let mut buf = Vec::new();
                put_entry(&mut buf, key, &value, expiry);
                // Two in a row: each read stops at its own end.
                put_entry(&mut buf, b"next", &value, expiry);
                let mut r = Reader::new(&buf);
                let (k, e) = read_entry(&mut r, limits()).unwrap();
                assert_eq!((&k[..], &e), (key, &entry));
                assert_eq!(e.expire_at(), expiry);
                let (k, _) = read_entry(&mut r, limits()).unwrap();
                assert_eq!(&k[..], b"next");
                assert!(r.is_empty());
            }
        }
    }

    /// A sample of encoded entries of every type and encoding.
    fn sample_entries() -> &'static [Vec<u8>] {
        static SAMPLES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        SAMPLES.get_or_init(build_samples)
    }

    fn build_samples() -> Vec<Vec<u8>> {
        let ints: Vec<Vec<u8>> = (0..30).map(|i: i64| (i * i - 500).to_string().into_bytes()).collect();
        let values = vec![
            Value::Str(RString::from_bytes(b"")),
            Value::Str(RString::from_bytes(b"123")),
            Value::Str(RString::from_bytes(&[7; 300])),
            list(&numbered("l", 20)),
            list(&numbered("long-list-", 2000)),
            hash(&[(b"f".to_vec(), b"v".to_vec()), (b"g".to_vec(), b"".to_vec())]),
            hash(&(0..200).map(|i| (format!("f{i}").into_bytes(), vec![b'v'; i % 70])).collect::<Vec<_>>()),
            set(&ints),
            set(&numbered("s", 30)),
            set(&numbered("s", 300)),
            zset(&[(b"a".to_vec(), 1.0), (b"b".to_vec(), f64::NEG_INFINITY)]),
            zset(&(0..300).map(|i| (format!("z{i}").into_bytes(), i as f64 / 3.0)).collect::<Vec<_>>()),
        ];
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let mut buf = Vec::new();
                put_entry(&mut buf, format!("key{i}").as_bytes(), &v, Some(i as u64));
                buf
            })
            .collect()
    }

    #[test]
    fn every_prefix_is_an_error() {
        for buf in sample_entries() {
            assert!(read_entry(&mut Reader::new(buf), limits()).is_ok());
            assert_prefixes_fail(buf);
        }
    }

    #[test]
    fn impossible_contents_are_rejected() {
        let count_of = |tag: u8, count: u64, rest: &[u8]| -> Vec<u8> {
            let mut b = vec![tag];
            b.put_varint(count);
            b.extend_from_slice(rest);
            b
        };
        let invalid = |b: &[u8]| match decode(b) {
            Err(DecodeError::Invalid(why)) => why,
            other => panic!("{other:?}"),
        };
        for tag in [TAG_LIST, TAG_HASH, TAG_SET, TAG_ZSET] {
            assert_eq!(invalid(&count_of(tag, 0, b"")), "empty collection");
            // A count the input cannot hold is refused before allocating.
            assert_eq!(decode(&count_of(tag, u64::MAX, &[0; 64])), Err(DecodeError::Truncated));
            assert_eq!(decode(&count_of(tag, 1 << 40, &[0; 64])), Err(DecodeError::Truncated));
        }
        let strings = |items: &[&str]| -> Vec<u8> {
            let mut b = Vec::new();
            for i in items {
                b.put_bytes(i.as_bytes());
            }
            b
        };
        assert_eq!(invalid(&count_of(TAG_SET, 2, &strings(&["a", "a"]))), "duplicate set member");
        let ints = strings(&["1", "2", "1"]);
        assert_eq!(invalid(&count_of(TAG_SET, 3, &ints)), "duplicate set member");
        let fields = strings(&["f", "x", "f", "y"]);
        assert_eq!(invalid(&count_of(TAG_HASH, 2, &fields)), "duplicate hash field");
        let mut scored = Vec::new();
        scored.put_bytes(b"m");
        scored.put_f64(f64::NAN);
        assert_eq!(invalid(&count_of(TAG_ZSET, 1, &scored)), "NaN score");
        let mut dup = Vec::new();
        for _ in 0..2 {
            dup.put_bytes(b"m");
            dup.put_f64(1.0);
        }
        assert_eq!(invalid(&count_of(TAG_ZSET, 2, &dup)), "duplicate sorted set member");
        assert_eq!(decode(&[9]), Err(DecodeError::BadTag(9)));
        let mut entry = Vec::new();
        entry.put_bytes(b"k");
        entry.put_u8(2);
        assert_eq!(read_entry(&mut Reader::new(&entry), limits()), Err(DecodeError::BadTag(2)));
        // A long length beyond the input.
        let mut long = vec![TAG_STRING];
        long.put_varint(u64::MAX);
        assert_eq!(decode(&long), Err(DecodeError::Truncated));
        // A varint of more than 64 bits.
        let mut huge = vec![TAG_STRING];
        huge.extend_from_slice(&[0xff; 10]);
        huge.push(1);
        assert_eq!(decode(&huge), Err(DecodeError::Invalid("varint longer than 64 bits")));
    }

    #[test]
    fn varints_round_trip_and_stay_short() {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as u64, (1 << 35) + 5, u64::MAX - 1, u64::MAX] {
            let mut buf = Vec::new();
            buf.put_varint(v);
            let len = buf.len();
            assert_eq!(len, (64 - v.leading_zeros() as usize).div_ceil(7).max(1), "{v}");
            buf.put_u8(7);
            let mut r = Reader::new(&buf);
            assert_eq!(r.varint(), Ok(v));
            assert_eq!(r.pos(), len);
            assert_eq!((r.u8(), r.u8()), (Ok(7), Err(DecodeError::Truncated)));
        }
    }

    #[test]
    fn fixed_width_fields_are_little_endian() {
        let mut buf = Vec::new();
        buf.put_u32(0x0102_0304);
        buf.put_u64(0x0102_0304_0506_0708);
        buf.put_f64(-0.0);
        buf.put_bytes(b"xy");
        assert_eq!(buf[..4], [4, 3, 2, 1]);
        assert_eq!(buf[4..12], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(buf[12..20], (-0.0f64).to_bits().to_le_bytes());
        assert_eq!(buf[20..], [2, b'x', b'y']);
        let mut r = Reader::new(&buf);
        assert_eq!(r.u32(), Ok(0x0102_0304));
        assert_eq!(r.u64(), Ok(0x0102_0304_0506_0708));
        assert_eq!(r.f64().map(f64::to_bits), Ok((-0.0f64).to_bits()));
        assert_eq!(r.remaining(), 3);
        assert_eq!(r.bytes(), Ok(&b"xy"[..]));
        assert!(r.is_empty());
        assert_eq!(r.take(1), Err(DecodeError::Truncated));
        assert_eq!(DecodeError::Invalid("x").to_string(), "invalid data: x");
    }

    /// Elements as commands bring them: small and large integers, short
    /// and long (over the listpack value limit) strings, binary bytes.
    fn element() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (-200i64..200).prop_map(|i| i.to_string().into_bytes()),
            any::<i64>().prop_map(|i| i.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..12),
            proptest::collection::vec(any::<u8>(), 60..70),
        ]
    }

    fn score() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-50i32..50).prop_map(f64::from),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            any::<f64>().prop_filter("not NaN", |s| !s.is_nan()),
        ]
    }

    fn distinct(v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut seen = std::collections::HashSet::new();
        v.into_iter().filter(|e| seen.insert(e.clone())).collect()
    }

    /// Random values of every type, built through the types' APIs, with
    /// sizes on both sides of the encoding thresholds.
    fn value() -> impl Strategy<Value = Value> {
        let elements = || proptest::collection::vec(element(), 1..400);
        prop_oneof![
            element().prop_map(|e| Value::Str(RString::from_bytes(&e))),
            elements().prop_map(|e: Vec<Vec<u8>>| list(&e)),
            elements().prop_map(|e| set(&distinct(e))),
            (elements(), proptest::collection::vec(element(), 400))
                .prop_map(|(fields, vals)| { hash(&distinct(fields).into_iter().zip(vals).collect::<Vec<_>>()) }),
            (elements(), proptest::collection::vec(score(), 400))
                .prop_map(|(members, scores)| { zset(&distinct(members).into_iter().zip(scores).collect::<Vec<_>>()) }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_values_round_trip(v in value()) {
            let buf = encode(&v);
            let back = decode(&buf).expect("decodes");
            prop_assert_eq!(&back, &v);
            prop_assert_eq!(encode(&back), buf);
            let expected = match &v {
                // A list loads as one listpack iff its elements really fit
                // one 8 KB node (a push decides on raw lengths).
                Value::List(l) => {
                    let size = REDIS_LP_OVERHEAD + l.iter().map(redis_entry_size).sum::<usize>();
                    if size <= 8192 { "listpack" } else { "quicklist" }
                }
                other => other.encoding(),
            };
            prop_assert_eq!(back.encoding(), expected);
        }

        #[test]
        fn corrupted_entries_never_panic(
            which in 0usize..12,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut buf = sample_entries()[which].clone();
            for (at, byte) in edits {
                let i = at.index(buf.len());
                buf[i] = byte;
            }
            let _ = read_entry(&mut Reader::new(&buf), limits());
            let _ = read_entry(&mut Reader::new(&buf[..cut.index(buf.len())]), limits());
        }

        #[test]
        fn garbage_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = read_entry(&mut Reader::new(&buf), limits());
            let _ = read_value(&mut Reader::new(&buf), limits());
        }
    }
}
