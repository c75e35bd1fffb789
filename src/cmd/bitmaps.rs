//! Bitmap commands over string values: SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD, BITFIELD_RO, as Redis's `bitops.c` does them.
//!
//! Bit 0 is the most significant bit of the first byte. Commands that write
//! grow the string with zero bytes and leave it `raw`, as Redis does; reads
//! past the end see zeros. The pure parts (offset and type parsing, ranges,
//! counting, searching, combining, bitfield arithmetic) are plain functions
//! over byte slices, shared by the handlers and BITOP's cross-shard path.

use bytes::Bytes;

use super::{command, err, flag::*, parse_int, Command, Exec};
use crate::cmd::acl;
use crate::cmd::strings::{lookup_read, lookup_string};
use crate::notify::class;
use crate::resp::Reply;
use crate::server::cross::{Cross, CrossFuture};
use crate::shard::{Entry, ShardCtx};
use crate::slot::shard_of_key;
use crate::types::{RString, Value};

const B: u32 = acl::BITMAP;

/// Argument specs for `COMMAND DOCS` (syntax in [`super::docs`]).
pub static ARGS: &[(&str, &str)] = &[
    ("setbit", "key offset:integer value:integer"),
    ("getbit", "key offset:integer"),
    ("bitcount", "key [range(start:integer end:integer [unit(BYTE|BIT)])]"),
    ("bitpos", "key bit:integer [range(start:integer [end-unit-block(end:integer [unit(BYTE|BIT)])])]"),
    ("bitop", "operation(AND|OR|XOR|NOT) destkey:key key..."),
    (
        "bitfield",
        "key [operation(GET get-block(encoding offset:integer)|write([OVERFLOW overflow-block(WRAP|SAT|FAIL)] \
         write-operation(SET set-block(encoding offset:integer value:integer)|\
         INCRBY incrby-block(encoding offset:integer increment:integer))))...]",
    ),
    ("bitfield_ro", "key [GET get-block(encoding offset:integer)...]"),
];

pub static COMMANDS: &[Command] = &[
    command(
        "setbit",
        4,
        WRITE | DENYOOM,
        B,
        (1, 1, 1),
        Exec::Keyed(setbit),
        "bitmap",
        "2.2.0",
        "O(1)",
        "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
    ),
    command(
        "getbit",
        3,
        READONLY | FAST,
        B,
        (1, 1, 1),
        Exec::Keyed(getbit),
        "bitmap",
        "2.2.0",
        "O(1)",
        "Returns a bit value by offset.",
    ),
    command(
        "bitcount",
        -2,
        READONLY,
        B,
        (1, 1, 1),
        Exec::Keyed(bitcount),
        "bitmap",
        "2.6.0",
        "O(N)",
        "Counts the number of set bits (population counting) in a string.",
    ),
    command(
        "bitpos",
        -3,
        READONLY,
        B,
        (1, 1, 1),
        Exec::Keyed(bitpos),
        "bitmap",
        "2.8.7",
        "O(N)",
        "Finds the first set (1) or clear (0) bit in a string.",
    ),
    command(
        "bitop",
        -4,
        WRITE | DENYOOM,
        B,
        (2, -1, 1),
        Exec::Cross(bitop, bitop_cross),
        "bitmap",
        "2.6.0",
        "O(N)",
        "Performs bitwise operations on multiple strings, and stores the result.",
    ),
    command(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        B,
        (1, 1, 1),
        Exec::Keyed(bitfield),
        "bitmap",
        "3.2.0",
        "O(1) for each subcommand specified",
        "Performs arbitrary bitfield integer operations on strings.",
    ),
    command(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        B,
        (1, 1, 1),
        Exec::Keyed(bitfield_ro),
        "bitmap",
        "6.0.0",
        "O(1) for each subcommand specified",
        "Performs arbitrary read-only bitfield integer operations on strings.",
    ),
];

const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
const BIT_ARG: &str = "ERR The bit argument must be 1 or 0.";
const BITOP_NOT: &str = "ERR BITOP NOT must be called with a single source key.";
const FIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";
const FIELD_RO: &str = "ERR BITFIELD_RO only supports the GET subcommand";

// ---------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------

/// The argument as C's string functions see it: up to its first NUL byte.
/// Redis compares keywords with `strcasecmp` and measures BITFIELD types
/// with `strlen`, so `"bit\0x"` is `BIT` to it.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.iter().position(|&b| b == 0).map_or(arg, |n| &arg[..n])
}

/// A keyword match, case-insensitive, as `strcasecmp` makes it.
fn is(arg: &[u8], word: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's `getBitOffsetFromArgument`: a bit offset, or for BITFIELD
/// (`width` given) also `#N`, meaning N fields of that width. The byte it
/// falls in must be below proto-max-bulk-len, which bounds every string a
/// client offset can make us allocate.
fn bit_offset(arg: &[u8], width: Option<u32>, max_bytes: u64) -> Result<u64, &'static str> {
    let (digits, times) = match (arg.split_first(), width) {
        (Some((b'#', rest)), Some(w)) => (rest, w),
        _ => (arg, 1),
    };
    // Redis multiplies without an overflow check; a product that wraps
    // negative is rejected below, as there.
    let n = parse_int(digits).ok_or(BIT_OFFSET)?.wrapping_mul(i64::from(times));
    if n < 0 || (n as u64 >> 3) >= max_bytes {
        return Err(BIT_OFFSET);
    }
    Ok(n as u64)
}

fn max_bulk_len(ctx: &ShardCtx) -> u64 {
    ctx.shard.config.get().proto_max_bulk_len
}

/// How BITCOUNT and BITPOS read their start/end: bytes unless `BIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Byte,
    Bit,
}

fn parse_unit(arg: &[u8]) -> Result<Unit, &'static str> {
    if is(arg, "bit") {
        Ok(Unit::Bit)
    } else if is(arg, "byte") {
        Ok(Unit::Byte)
    } else {
        Err(err::SYNTAX)
    }
}

fn parse_index(arg: &[u8]) -> Result<i64, &'static str> {
    parse_int(arg).ok_or(err::NOT_INT)
}

/// The inclusive range of bits that `start..=end` (in `unit`s, negative
/// counting from the end) covers in a string of `len` bytes, clamped to it
/// as Redis clamps; None when empty.
fn bit_range(start: i64, end: i64, unit: Unit, len: usize) -> Option<(u64, u64)> {
    let total = match unit {
        Unit::Byte => len as i64,
        Unit::Bit => len as i64 * 8,
    };
    let from_end = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (from_end(start), from_end(end).min(total - 1));
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(match unit {
        Unit::Byte => (start * 8, end * 8 + 7),
        Unit::Bit => (start, end),
    })
}

// ---------------------------------------------------------------------------
// Counting and searching
// ---------------------------------------------------------------------------

/// Set bits in `bytes`, a word at a time.
fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail: u64 = words.remainder().iter().map(|b| u64::from(b.count_ones())).sum();
    words.map(|w| u64::from(u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])).count_ones())).sum::<u64>() + tail
}

/// The bits of `from`'s byte that come before it.
fn before_bit(from: u64) -> u8 {
    !(0xFFu8 >> (from & 7))
}

/// The bits of `to`'s byte that come after it.
fn after_bit(to: u64) -> u8 {
    (0xFFu16 >> ((to & 7) + 1)) as u8
}

/// Set bits among bits `from..=to` (within `bytes`).
fn count_bits(bytes: &[u8], from: u64, to: u64) -> u64 {
    let (first, last) = ((from / 8) as usize, (to / 8) as usize);
    let (Some(&head), Some(&tail)) = (bytes.get(first), bytes.get(last)) else {
        return 0;
    };
    let edges = (head & before_bit(from)).count_ones() + (tail & after_bit(to)).count_ones();
    popcount(&bytes[first..=last]) - u64::from(edges)
}

/// The first bit equal to `bit` among bits `from..=to` (within `bytes`),
/// skipping whole words that cannot hold it.
fn find_bit(bytes: &[u8], bit: bool, from: u64, to: u64) -> Option<u64> {
    let (first, last) = ((from / 8) as usize, (to / 8) as usize);
    // Each byte turned so that the bits we look for are ones.
    let want = |i: usize| bytes.get(i).map_or(0, |&b| if bit { b } else { !b });
    let hit = |i: usize, m: u8| (m != 0).then(|| i as u64 * 8 + u64::from(m.leading_zeros()));
    let (head_mask, tail_mask) = (!before_bit(from), !after_bit(to));
    if first == last {
        return hit(first, want(first) & head_mask & tail_mask);
    }
    if let Some(p) = hit(first, want(first) & head_mask) {
        return Some(p);
    }
    let middle = bytes.get(first + 1..last).unwrap_or(&[]);
    let skip = if bit { 0 } else { u64::MAX };
    let mut i = 0;
    while let Some(w) = middle.get(i..i + 8) {
        if u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])) != skip {
            break;
        }
        i += 8;
    }
    for j in i..middle.len() {
        if let Some(p) = hit(first + 1 + j, want(first + 1 + j)) {
            return Some(p);
        }
    }
    hit(last, want(last) & tail_mask)
}

// ---------------------------------------------------------------------------
// SETBIT, GETBIT
// ---------------------------------------------------------------------------

/// The bytes of the string under `key`, at least `len` long (zero-filled,
/// created if absent), for in-place writes: Redis's
/// `lookupStringForBitCommand`. The caller bounds `len`. Also whether that
/// created or grew the string (Redis's `dirty`: the write is a change).
fn string_for_write<'a>(
    ctx: &'a mut ShardCtx,
    key: &[u8],
    len: usize,
) -> Result<(&'a mut Vec<u8>, bool), &'static str> {
    let created = lookup_string(ctx, key)?.is_none();
    if created {
        ctx.db().insert(key, Entry::new(Value::Str(RString::from_vec(Vec::new()))));
    }
    let buf = lookup_string(ctx, key)?.ok_or(err::WRONGTYPE)?.make_raw();
    let grown = buf.len() < len;
    if grown {
        buf.resize(len, 0);
    }
    Ok((buf, created || grown))
}

fn bit_mask(offset: u64) -> u8 {
    0x80 >> (offset & 7)
}

fn setbit(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let offset = match bit_offset(&args[2], None, max_bulk_len(ctx)) {
        Ok(o) => o,
        Err(e) => return reply.error(e),
    };
    let on = match parse_int(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return reply.error(BIT_VALUE),
    };
    let byte = (offset >> 3) as usize;
    match string_for_write(ctx, &args[1], byte + 1) {
        Err(e) => reply.error(e),
        Ok((buf, dirty)) => {
            let mask = bit_mask(offset);
            let was = buf[byte] & mask != 0;
            if on {
                buf[byte] |= mask;
            } else {
                buf[byte] &= !mask;
            }
            reply.int(was as i64);
            if dirty || was != on {
                ctx.notify(class::STRING, "setbit", &args[1]);
            }
        }
    }
}

fn getbit(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let offset = match bit_offset(&args[2], None, max_bulk_len(ctx)) {
        Ok(o) => o,
        Err(e) => return reply.error(e),
    };
    match lookup_read(ctx, &args[1]) {
        Err(e) => reply.error(e),
        Ok(None) => reply.int(0),
        Ok(Some(s)) => {
            let set = s.with_bytes(|b| b.get((offset >> 3) as usize).is_some_and(|&v| v & bit_mask(offset) != 0));
            reply.int(set as i64);
        }
    }
}

// ---------------------------------------------------------------------------
// BITCOUNT, BITPOS
// ---------------------------------------------------------------------------

/// As Redis 7.2: a missing key counts 0 and a wrong type fails before the
/// range arguments are looked at.
fn bitcount(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match lookup_read(ctx, &args[1]) {
        Err(e) => reply.error(e),
        Ok(None) => reply.int(0),
        Ok(Some(s)) => match s.with_bytes(|b| count_in_range(b, &args[2..])) {
            Ok(n) => reply.int(n as i64),
            Err(e) => reply.error(e),
        },
    }
}

/// BITCOUNT's `[start end [BYTE|BIT]]` over `bytes`, in Redis's order of
/// checks: both indexes, then "both negative and reversed" counts 0, then
/// the unit.
fn count_in_range(bytes: &[u8], range: &[Bytes]) -> Result<u64, &'static str> {
    let bits = match range {
        [] => bit_range(0, -1, Unit::Byte, bytes.len()),
        [start, end, unit @ ..] if unit.len() <= 1 => {
            let (start, end) = (parse_index(start)?, parse_index(end)?);
            if start < 0 && end < 0 && start > end {
                return Ok(0);
            }
            let unit = unit.first().map_or(Ok(Unit::Byte), |u| parse_unit(u))?;
            bit_range(start, end, unit, bytes.len())
        }
        _ => return Err(err::SYNTAX),
    };
    Ok(bits.map_or(0, |(from, to)| count_bits(bytes, from, to)))
}

/// As Redis 7.2: the bit argument is checked first, then a missing key
/// answers at once (-1 looking for a 1, 0 looking for a 0), then the range.
fn bitpos(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    let bit = match parse_int(&args[2]) {
        None => return reply.error(err::NOT_INT),
        Some(0) => false,
        Some(1) => true,
        Some(_) => return reply.error(BIT_ARG),
    };
    match lookup_read(ctx, &args[1]) {
        Err(e) => reply.error(e),
        Ok(None) => reply.int(if bit { -1 } else { 0 }),
        Ok(Some(s)) => match s.with_bytes(|b| position_in_range(b, bit, &args[3..])) {
            Ok(n) => reply.int(n),
            Err(e) => reply.error(e),
        },
    }
}

/// BITPOS's `[start [end [BYTE|BIT]]]` over `bytes`, parsed in Redis's
/// order (start, unit, end). Not finding a 0 means the first bit past the
/// string (as if zero-padded) unless an end was given: then -1, as for a 1.
fn position_in_range(bytes: &[u8], bit: bool, range: &[Bytes]) -> Result<i64, &'static str> {
    if range.len() > 3 {
        return Err(err::SYNTAX);
    }
    let start = range.first().map_or(Ok(0), |a| parse_index(a))?;
    let unit = range.get(2).map_or(Ok(Unit::Byte), |u| parse_unit(u))?;
    let end = range.get(1).map_or(Ok(-1), |a| parse_index(a))?;
    let end_given = range.len() >= 2;
    let Some((from, to)) = bit_range(start, end, unit, bytes.len()) else {
        return Ok(-1);
    };
    Ok(match find_bit(bytes, bit, from, to) {
        Some(p) => p as i64,
        None if !bit && !end_given => to as i64 + 1,
        None => -1,
    })
}

// ---------------------------------------------------------------------------
// BITOP
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// The operation, and Redis's check that NOT has exactly one source.
fn parse_bitop(args: &[Bytes]) -> Result<BitOp, &'static str> {
    let name = &args[1];
    let op = [("and", BitOp::And), ("or", BitOp::Or), ("xor", BitOp::Xor), ("not", BitOp::Not)]
        .into_iter()
        .find(|(n, _)| is(name, n))
        .map(|(_, op)| op)
        .ok_or(err::SYNTAX)?;
    if op == BitOp::Not && args.len() != 4 {
        return Err(BITOP_NOT);
    }
    Ok(op)
}

/// `op` over `sources`, each zero-padded to the longest (a missing key is
/// an empty source): the result is as long as the longest source.
pub fn combine<S: AsRef<[u8]>>(op: BitOp, sources: &[S]) -> Vec<u8> {
    let len = sources.iter().map(|s| s.as_ref().len()).max().unwrap_or(0);
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let mut out = first.as_ref().to_vec();
    out.resize(len, 0);
    if op == BitOp::Not {
        out.iter_mut().for_each(|b| *b = !*b);
        return out;
    }
    for src in rest {
        let src = src.as_ref();
        let (head, pad) = out.split_at_mut(src.len());
        match op {
            BitOp::And => {
                head.iter_mut().zip(src).for_each(|(o, s)| *o &= s);
                pad.fill(0);
            }
            BitOp::Or => head.iter_mut().zip(src).for_each(|(o, s)| *o |= s),
            BitOp::Xor => head.iter_mut().zip(src).for_each(|(o, s)| *o ^= s),
            BitOp::Not => {}
        }
    }
    out
}

/// The bytes of each of `keys` (empty if missing) on this shard; Redis
/// checks every source's type before computing.
fn read_sources<'k>(ctx: &mut ShardCtx, keys: impl Iterator<Item = &'k Bytes>) -> Result<Vec<Vec<u8>>, &'static str> {
    keys.map(|k| Ok(lookup_read(ctx, k)?.map(|s| s.to_vec()).unwrap_or_default())).collect()
}

/// Stores BITOP's result under `dest` (a new, TTL-less string) or, when
/// empty, deletes `dest`; returns the result's length.
fn store_result(ctx: &mut ShardCtx, dest: &[u8], result: Vec<u8>) -> i64 {
    let len = result.len() as i64;
    if result.is_empty() {
        if ctx.db().delete(dest) {
            ctx.notify(class::GENERIC, "del", dest);
        }
    } else {
        ctx.db().insert(dest, Entry::new(Value::Str(RString::from_vec(result))));
        ctx.notify(class::STRING, "set", dest);
    }
    len
}

/// BITOP with the destination and every source on this shard.
fn bitop(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    match bitop_here(ctx, args) {
        Ok(len) => reply.int(len),
        Err(e) => reply.error(e),
    }
}

fn bitop_here(ctx: &mut ShardCtx, args: &[Bytes]) -> Result<i64, &'static str> {
    let op = parse_bitop(args)?;
    let sources = read_sources(ctx, args[3..].iter())?;
    Ok(store_result(ctx, &args[2], combine(op, &sources)))
}

/// BITOP across shards: every shard holding sources reads its own (all at
/// once), the result is computed here, then stored on the destination's
/// shard. Nothing is written if any source has the wrong type.
fn bitop_cross(cx: Cross, args: Vec<Bytes>) -> CrossFuture {
    Box::pin(async move {
        match bitop_across(&cx, args).await {
            Ok(len) => {
                let mut buf = Vec::new();
                cx.reply(&mut buf).int(len);
                buf
            }
            Err(e) => cx.error(e),
        }
    })
}

async fn bitop_across(cx: &Cross, mut args: Vec<Bytes>) -> Result<i64, &'static str> {
    let op = parse_bitop(&args)?;
    let sources: Vec<Bytes> = args.split_off(3);
    let dest = args.swap_remove(2);
    let mut shards: Vec<usize> = sources.iter().map(|k| cx.shard_of(k)).collect();
    shards.sort_unstable();
    shards.dedup();
    let per_shard = cx
        .on_each(&shards, move |ctx| {
            let (me, n) = (ctx.shard.id, ctx.shard.shards());
            read_sources(ctx, sources.iter().filter(|k| shard_of_key(k, n) == me))
        })
        .await?;
    let mut all = Vec::new();
    for part in per_shard {
        all.extend(part?);
    }
    // AND, OR and XOR do not depend on the order of their sources.
    let result = combine(op, &all);
    cx.on(cx.shard_of(&dest), move |ctx| {
        let n = store_result(ctx, &dest, result);
        ctx.log_key(&dest);
        n
    })
    .await
}

// ---------------------------------------------------------------------------
// BITFIELD, BITFIELD_RO
// ---------------------------------------------------------------------------

/// A field type: `i1`..`i64` or `u1`..`u63` (an u64 could not be replied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

impl FieldType {
    /// Redis's `getBitfieldTypeFromArgument`.
    pub fn parse(arg: &[u8]) -> Result<FieldType, &'static str> {
        let (signed, digits) = match c_str(arg).split_first() {
            Some((b'i', d)) => (true, d),
            Some((b'u', d)) => (false, d),
            _ => return Err(FIELD_TYPE),
        };
        let max = if signed { 64 } else { 63 };
        match parse_int(digits) {
            Some(bits) if (1..=max).contains(&bits) => Ok(FieldType { signed, bits: bits as u32 }),
            _ => Err(FIELD_TYPE),
        }
    }

    fn mask(self) -> u64 {
        u64::MAX >> (64 - self.bits)
    }
}

/// What INCRBY and SET do when the result does not fit the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub op: FieldOp,
    pub ty: FieldType,
    pub offset: u64,
    pub overflow: Overflow,
}

impl Field {
    fn writes(&self) -> bool {
        self.op != FieldOp::Get
    }

    /// The last bit the field covers.
    fn last_bit(&self) -> u64 {
        self.offset + u64::from(self.ty.bits) - 1
    }
}

/// BITFIELD's operations (the arguments after the key), in Redis's order of
/// checks: each operation's keyword, type, offset, then value; OVERFLOW
/// applies to the operations after it.
pub fn parse_fields(args: &[Bytes], max_bytes: u64) -> Result<Vec<Field>, &'static str> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 0;
    while i < args.len() {
        let (name, rest) = (&args[i], &args[i + 1..]);
        let op_args = if is(name, "get") && rest.len() >= 2 {
            2
        } else if (is(name, "set") || is(name, "incrby")) && rest.len() >= 3 {
            3
        } else if is(name, "overflow") && !rest.is_empty() {
            overflow = [("wrap", Overflow::Wrap), ("sat", Overflow::Sat), ("fail", Overflow::Fail)]
                .into_iter()
                .find(|(n, _)| is(&rest[0], n))
                .map(|(_, o)| o)
                .ok_or(OVERFLOW_TYPE)?;
            i += 2;
            continue;
        } else {
            return Err(err::SYNTAX);
        };
        let ty = FieldType::parse(&rest[0])?;
        let offset = bit_offset(&rest[1], Some(ty.bits), max_bytes)?;
        let op = if op_args == 2 {
            FieldOp::Get
        } else {
            let v = parse_int(&rest[2]).ok_or(err::NOT_INT)?;
            if is(name, "set") {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        };
        fields.push(Field { op, ty, offset, overflow });
        i += 1 + op_args;
    }
    Ok(fields)
}

/// Whether BITFIELD's operations only read, as Redis's `bitfieldGetKeys`
/// decides it for the key's access flags: scanning stops at the first
/// SET or INCRBY, and anything malformed counts as a write.
pub fn bitfield_only_reads(args: &[Bytes]) -> bool {
    let mut i = 0;
    while i < args.len() {
        let rest = args.len() - i - 1;
        if is(&args[i], "get") && rest >= 2 {
            i += 3;
        } else if is(&args[i], "overflow") && rest >= 1 {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// The `bits` bits at bit `offset` as an unsigned number; bytes past the
/// end of `buf` read as zeros.
pub fn read_bits(buf: &[u8], offset: u64, bits: u32) -> u64 {
    let byte = (offset >> 3) as usize;
    // Nine bytes hold any 64-bit field whatever its first bit.
    let window = (0..9).fold(0u128, |w, i| (w << 8) | u128::from(buf.get(byte.saturating_add(i)).map_or(0, |&b| b)));
    let low = 72 - (offset & 7) as u32 - bits;
    (window >> low) as u64 & (u64::MAX >> (64 - bits))
}

/// Writes the low `bits` bits of `value` at bit `offset`; `buf` must cover
/// the field (the caller grew it).
pub fn write_bits(buf: &mut [u8], offset: u64, bits: u32, value: u64) {
    let (byte, shift) = ((offset >> 3) as usize, (offset & 7) as u32);
    let n = (shift + bits).div_ceil(8) as usize;
    let Some(dst) = buf.get_mut(byte..byte + n) else {
        return;
    };
    let window = dst.iter().fold(0u128, |w, &b| (w << 8) | u128::from(b));
    let low = n as u32 * 8 - shift - bits;
    let mask = u128::from(u64::MAX >> (64 - bits)) << low;
    let window = (window & !mask) | ((u128::from(value) << low) & mask);
    for (i, d) in dst.iter_mut().enumerate() {
        *d = (window >> (8 * (n - 1 - i))) as u8;
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// The field's value, as BITFIELD replies it.
pub fn read_field(buf: &[u8], offset: u64, ty: FieldType) -> i64 {
    let v = read_bits(buf, offset, ty.bits);
    if ty.signed {
        sign_extend(v, ty.bits)
    } else {
        v as i64
    }
}

/// What to store for `value + incr` in an unsigned field (Redis's
/// `checkUnsignedBitfieldOverflow`); None when it overflows under FAIL.
/// A SET checks its value with `incr` 0: a negative value is then a huge
/// unsigned one, an overflow upwards.
pub fn unsigned_result(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = u64::MAX >> (64 - bits);
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let sum = value.wrapping_add(incr as u64);
    let up = value > max || (incr > 0 && incr > max_incr);
    let down = !up && incr < 0 && incr < min_incr;
    if !up && !down {
        return Some(sum);
    }
    match overflow {
        Overflow::Wrap => Some(sum & max),
        Overflow::Sat => Some(if up { max } else { 0 }),
        Overflow::Fail => None,
    }
}

/// What to store for `value + incr` in a signed field (Redis's
/// `checkSignedBitfieldOverflow`, its unsigned arithmetic included); None
/// when it overflows under FAIL.
pub fn signed_result(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let narrow = bits != 64;
    let up = value > max || (narrow && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr);
    let down = !up && (value < min || (narrow && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr));
    let sum = value.wrapping_add(incr);
    if !up && !down {
        return Some(sum);
    }
    match overflow {
        Overflow::Wrap => Some(sign_extend(sum as u64 & (u64::MAX >> (64 - bits)), bits)),
        Overflow::Sat => Some(if up { max } else { min }),
        Overflow::Fail => None,
    }
}

/// Runs one operation on `buf` (grown to cover every written field) and
/// returns its reply: the value read, the new value (INCRBY), the old value
/// (SET), or None for an overflow under FAIL, which writes nothing.
pub fn apply_field(buf: &mut [u8], f: &Field) -> Option<i64> {
    let (ty, old) = (f.ty, read_field(buf, f.offset, f.ty));
    let (new, reply) = match (f.op, ty.signed) {
        (FieldOp::Get, _) => return Some(old),
        (FieldOp::Set(v), true) => (signed_result(v, 0, ty.bits, f.overflow)?, old),
        (FieldOp::IncrBy(n), true) => {
            let new = signed_result(old, n, ty.bits, f.overflow)?;
            (new, new)
        }
        (FieldOp::Set(v), false) => (unsigned_result(v as u64, 0, ty.bits, f.overflow)? as i64, old),
        (FieldOp::IncrBy(n), false) => {
            let new = unsigned_result(old as u64, n, ty.bits, f.overflow)? as i64;
            (new, new)
        }
    };
    write_bits(buf, f.offset, ty.bits, new as u64 & ty.mask());
    Some(reply)
}

fn reply_fields(reply: &mut Reply, results: impl ExactSizeIterator<Item = Option<i64>>) {
    reply.array(results.len());
    for r in results {
        match r {
            Some(v) => reply.int(v),
            None => reply.null(),
        }
    }
}

fn bitfield(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    bitfield_generic(ctx, args, reply, false);
}

fn bitfield_ro(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply) {
    bitfield_generic(ctx, args, reply, true);
}

/// Parses every operation first; then only reads (no key created) unless
/// an operation writes, in which case the string grows to the farthest
/// written bit before any runs, even if they all fail to overflow.
fn bitfield_generic(ctx: &mut ShardCtx, args: &[Bytes], reply: &mut Reply, read_only: bool) {
    let fields = match parse_fields(&args[2..], max_bulk_len(ctx)) {
        Ok(f) => f,
        Err(e) => return reply.error(e),
    };
    let Some(last_bit) = fields.iter().filter(|f| f.writes()).map(Field::last_bit).max() else {
        return match lookup_read(ctx, &args[1]) {
            Err(e) => reply.error(e),
            Ok(s) => {
                let read = |b: &[u8]| fields.iter().map(|f| Some(read_field(b, f.offset, f.ty))).collect::<Vec<_>>();
                let results = match s {
                    None => read(&[]),
                    Some(s) => s.with_bytes(read),
                };
                reply_fields(reply, results.into_iter());
            }
        };
    };
    if read_only {
        return reply.error(FIELD_RO);
    }
    let mut changed = false;
    match string_for_write(ctx, &args[1], (last_bit >> 3) as usize + 1) {
        Err(e) => reply.error(e),
        Ok((buf, dirty)) => {
            // A write that is done (no FAIL overflow) is a change when the
            // string was created or grown, or the field's value differs.
            let mut apply = |f: &Field| {
                let before = f.writes().then(|| read_field(buf, f.offset, f.ty));
                let result = apply_field(buf, f);
                changed |= result.is_some() && before.is_some_and(|b| dirty || b != read_field(buf, f.offset, f.ty));
                result
            };
            reply_fields(reply, fields.iter().map(&mut apply))
        }
    }
    if changed {
        ctx.notify(class::STRING, "setbit", &args[1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(signed: bool, bits: u32) -> FieldType {
        FieldType { signed, bits }
    }

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    /// Bit `i` of `bytes`, the slow and obvious way.
    fn bit(bytes: &[u8], i: u64) -> bool {
        bytes.get((i / 8) as usize).is_some_and(|v| v & (0x80 >> (i % 8)) != 0)
    }

    #[test]
    fn field_types() {
        assert_eq!(FieldType::parse(b"i64"), Ok(t(true, 64)));
        assert_eq!(FieldType::parse(b"u63"), Ok(t(false, 63)));
        assert_eq!(FieldType::parse(b"u1"), Ok(t(false, 1)));
        // strlen semantics: the type ends at a NUL.
        assert_eq!(FieldType::parse(b"i8\0junk"), Ok(t(true, 8)));
        for bad in [&b"u64"[..], b"i65", b"i0", b"u", b"I8", b"x8", b"", b"i08", b"i-1", b"\0i8"] {
            assert_eq!(FieldType::parse(bad), Err(FIELD_TYPE), "{:?}", bad);
        }
    }

    #[test]
    fn offsets() {
        let max = 512 * 1024 * 1024;
        assert_eq!(bit_offset(b"0", None, max), Ok(0));
        assert_eq!(bit_offset(b"4294967295", None, max), Ok(4294967295));
        assert_eq!(bit_offset(b"4294967296", None, max), Err(BIT_OFFSET));
        assert_eq!(bit_offset(b"-1", None, max), Err(BIT_OFFSET));
        assert_eq!(bit_offset(b"#2", None, max), Err(BIT_OFFSET));
        assert_eq!(bit_offset(b"#2", Some(8), max), Ok(16));
        assert_eq!(bit_offset(b"#-1", Some(8), max), Err(BIT_OFFSET));
        assert_eq!(bit_offset(b"15", Some(8), 2), Ok(15));
        assert_eq!(bit_offset(b"16", Some(8), 2), Err(BIT_OFFSET));
        // The product wraps as in Redis: 2^58 * 64 is 0.
        assert_eq!(bit_offset(b"#288230376151711744", Some(64), max), Ok(0));
    }

    #[test]
    fn ranges_clamp_as_redis() {
        assert_eq!(bit_range(0, -1, Unit::Byte, 3), Some((0, 23)));
        assert_eq!(bit_range(1, 1, Unit::Byte, 3), Some((8, 15)));
        assert_eq!(bit_range(-100, -50, Unit::Byte, 3), Some((0, 7)));
        assert_eq!(bit_range(5, 100, Unit::Bit, 1), Some((5, 7)));
        assert_eq!(bit_range(2, 1, Unit::Byte, 3), None);
        assert_eq!(bit_range(0, -1, Unit::Byte, 0), None);
        assert_eq!(bit_range(3, 10, Unit::Byte, 3), None);
        assert_eq!(bit_range(i64::MIN, i64::MAX, Unit::Bit, 2), Some((0, 15)));
    }

    #[test]
    fn count_and_find_match_a_bit_loop() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..400 {
            let len = (next() % 40) as usize + 1;
            // Runs of 0x00 and 0xFF exercise the word skipping.
            let bytes: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => 0,
                    1 => 0xFF,
                    _ => next() as u8,
                })
                .collect();
            let total = len as u64 * 8;
            let from = next() % total;
            let to = from + next() % (total - from);
            let want = (from..=to).filter(|&i| bit(&bytes, i)).count() as u64;
            assert_eq!(count_bits(&bytes, from, to), want, "round {}", round);
            for target in [false, true] {
                let want = (from..=to).find(|&i| bit(&bytes, i) == target);
                assert_eq!(find_bit(&bytes, target, from, to), want, "round {} {:?}", round, bytes);
            }
        }
    }

    #[test]
    fn bitcount_and_bitpos_ranges() {
        let foobar = b"foobar";
        assert_eq!(count_in_range(foobar, &[]), Ok(26));
        assert_eq!(count_in_range(foobar, &b(&["1", "1"])), Ok(6));
        assert_eq!(count_in_range(foobar, &b(&["5", "30", "bit"])), Ok(17));
        assert_eq!(count_in_range(foobar, &b(&["-1", "-5", "nonsense"])), Ok(0));
        assert_eq!(count_in_range(foobar, &b(&["1", "2", "nonsense"])), Err(err::SYNTAX));
        assert_eq!(count_in_range(foobar, &b(&["1"])), Err(err::SYNTAX));
        assert_eq!(count_in_range(foobar, &b(&["a", "1", "x"])), Err(err::NOT_INT));
        let v = [0xFF, 0xF0, 0x00];
        assert_eq!(position_in_range(&v, false, &[]), Ok(12));
        assert_eq!(position_in_range(&v, true, &b(&["2"])), Ok(-1));
        assert_eq!(position_in_range(&[0xFF], false, &[]), Ok(8));
        assert_eq!(position_in_range(&[0xFF], false, &b(&["0", "-1"])), Ok(-1));
        assert_eq!(position_in_range(&[0xFF], false, &b(&["0"])), Ok(8));
        assert_eq!(position_in_range(&[0x00, 0x01], true, &b(&["1", "14", "bit"])), Ok(-1));
        assert_eq!(position_in_range(&[0x00, 0x01], true, &b(&["1", "15", "BIT"])), Ok(15));
        assert_eq!(position_in_range(&[], false, &[]), Ok(-1));
        assert_eq!(position_in_range(&v, true, &b(&["x", "1", "y"])), Err(err::NOT_INT));
        assert_eq!(position_in_range(&v, true, &b(&["0", "x", "y"])), Err(err::SYNTAX));
        assert_eq!(position_in_range(&v, true, &b(&["0", "1", "2", "3"])), Err(err::SYNTAX));
    }

    #[test]
    fn combine_pads_with_zeros() {
        let (a, c) = (vec![0b1100_1010u8, 0xFF], vec![0b1010_0110u8]);
        assert_eq!(combine(BitOp::And, &[&a, &c]), [0b1000_0010, 0]);
        assert_eq!(combine(BitOp::Or, &[&a, &c]), [0b1110_1110, 0xFF]);
        assert_eq!(combine(BitOp::Xor, &[&a, &c]), [0b0110_1100, 0xFF]);
        assert_eq!(combine(BitOp::Not, &[&c]), [0b0101_1001]);
        assert_eq!(combine(BitOp::And, &[&a, &vec![]]), [0, 0]);
        assert_eq!(combine::<Vec<u8>>(BitOp::Or, &[vec![], vec![]]), Vec::<u8>::new());
        // Any grouping and order of AND/OR/XOR gives the same result, which
        // is what lets the cross-shard path gather sources shard by shard.
        let d = vec![0x0Fu8, 0x33, 0x55];
        for op in [BitOp::And, BitOp::Or, BitOp::Xor] {
            let all = combine(op, &[&a, &c, &d]);
            assert_eq!(combine(op, &[&d, &c, &a]), all);
            assert_eq!(combine(op, &[combine(op, &[&a, &d]), c.clone()]), all);
        }
        assert_eq!(parse_bitop(&b(&["bitop", "NOT", "d", "a", "b"])), Err(BITOP_NOT));
        assert_eq!(parse_bitop(&b(&["bitop", "nand", "d", "a"])), Err(err::SYNTAX));
        assert_eq!(parse_bitop(&b(&["bitop", "Xor", "d", "a"])), Ok(BitOp::Xor));
    }

    #[test]
    fn bits_read_and_write_across_bytes() {
        let mut buf = vec![0u8; 2];
        // Redis's own example: u5 23 at offset 7.
        write_bits(&mut buf, 7, 5, 23);
        assert_eq!(buf, [0b0000_0001, 0b0111_0000]);
        assert_eq!(read_bits(&buf, 7, 5), 23);
        let mut buf = vec![0u8; 9];
        write_bits(&mut buf, 3, 64, 0xDEAD_BEEF_0123_4567);
        assert_eq!(read_bits(&buf, 3, 64), 0xDEAD_BEEF_0123_4567);
        assert_eq!(buf[0] >> 5, 0);
        // Reads past the end are zeros.
        assert_eq!(read_bits(&[0xFF], 4, 8), 0xF0);
        assert_eq!(read_field(&[0xFF], 0, t(true, 8)), -1);
        assert_eq!(read_field(&[0x80], 0, t(true, 1)), -1);
        assert_eq!(read_field(&[0x80], 0, t(false, 1)), 1);
        assert_eq!(read_field(&[], 1 << 40, t(true, 64)), 0);
    }

    #[test]
    fn unsigned_overflow() {
        use Overflow::*;
        assert_eq!(unsigned_result(250, 5, 8, Wrap), Some(255));
        assert_eq!(unsigned_result(250, 10, 8, Wrap), Some(4));
        assert_eq!(unsigned_result(250, 10, 8, Sat), Some(255));
        assert_eq!(unsigned_result(250, 10, 8, Fail), None);
        assert_eq!(unsigned_result(3, -5, 8, Wrap), Some(254));
        assert_eq!(unsigned_result(3, -5, 8, Sat), Some(0));
        assert_eq!(unsigned_result(3, -5, 8, Fail), None);
        // SET of a negative value: an overflow upwards, so SAT gives the max.
        assert_eq!(unsigned_result(-1i64 as u64, 0, 8, Sat), Some(255));
        assert_eq!(unsigned_result(-1i64 as u64, 0, 8, Wrap), Some(255));
        assert_eq!(unsigned_result(256, 0, 8, Wrap), Some(0));
        assert_eq!(unsigned_result(0, i64::MAX, 63, Fail), Some(i64::MAX as u64));
        assert_eq!(unsigned_result(1, i64::MAX, 63, Wrap), Some(0));
        assert_eq!(unsigned_result(1, 1, 1, Sat), Some(1));
        assert_eq!(unsigned_result(1, 1, 1, Wrap), Some(0));
    }

    #[test]
    fn signed_overflow() {
        use Overflow::*;
        assert_eq!(signed_result(120, 7, 8, Fail), Some(127));
        assert_eq!(signed_result(120, 8, 8, Wrap), Some(-128));
        assert_eq!(signed_result(120, 8, 8, Sat), Some(127));
        assert_eq!(signed_result(120, 8, 8, Fail), None);
        assert_eq!(signed_result(-120, -9, 8, Wrap), Some(127));
        assert_eq!(signed_result(-120, -9, 8, Sat), Some(-128));
        assert_eq!(signed_result(200, 0, 8, Wrap), Some(-56));
        assert_eq!(signed_result(-200, 0, 8, Sat), Some(-128));
        assert_eq!(signed_result(0, -1, 1, Fail), Some(-1));
        assert_eq!(signed_result(-1, -1, 1, Wrap), Some(0));
        assert_eq!(signed_result(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(signed_result(i64::MAX, 1, 64, Sat), Some(i64::MAX));
        assert_eq!(signed_result(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(signed_result(i64::MIN, -1, 64, Fail), None);
        assert_eq!(signed_result(5, -10, 64, Fail), Some(-5));
        // Redis's unsigned arithmetic: a SET far below the range reads as
        // an overflow upwards.
        assert_eq!(signed_result(i64::MIN, 0, 8, Sat), Some(127));
    }

    #[test]
    fn fields_parse_and_apply() {
        let f = parse_fields(&b(&["get", "u4", "0", "overflow", "fail", "incrby", "i8", "#1", "5"]), 100).unwrap();
        assert_eq!(
            f,
            [
                Field { op: FieldOp::Get, ty: t(false, 4), offset: 0, overflow: Overflow::Wrap },
                Field { op: FieldOp::IncrBy(5), ty: t(true, 8), offset: 8, overflow: Overflow::Fail },
            ]
        );
        assert_eq!(parse_fields(&b(&["get", "u4"]), 100), Err(err::SYNTAX));
        assert_eq!(parse_fields(&b(&["overflow", "nope"]), 100), Err(OVERFLOW_TYPE));
        assert_eq!(parse_fields(&b(&["overflow"]), 100), Err(err::SYNTAX));
        assert_eq!(parse_fields(&b(&["set", "u64", "0", "1"]), 100), Err(FIELD_TYPE));
        assert_eq!(parse_fields(&b(&["set", "u8", "x", "1"]), 100), Err(BIT_OFFSET));
        assert_eq!(parse_fields(&b(&["set", "u8", "0", "x"]), 100), Err(err::NOT_INT));
        let mut buf = vec![0u8; 2];
        let set = Field { op: FieldOp::Set(-1), ty: t(true, 8), offset: 4, overflow: Overflow::Wrap };
        assert_eq!(apply_field(&mut buf, &set), Some(0));
        assert_eq!(buf, [0x0F, 0xF0]);
        let incr = Field { op: FieldOp::IncrBy(1), ty: t(false, 8), offset: 4, overflow: Overflow::Fail };
        assert_eq!(apply_field(&mut buf, &incr), None);
        assert_eq!(buf, [0x0F, 0xF0]);
        let incr = Field { overflow: Overflow::Wrap, ..incr };
        assert_eq!(apply_field(&mut buf, &incr), Some(0));
        assert_eq!(buf, [0, 0]);
    }
}
