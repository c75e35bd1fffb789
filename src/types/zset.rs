//! Redis sorted sets (Redis 7.2 `t_zset.c`).
//!
//! Small form, encoding `listpack`: member, score pairs sorted by (score,
//! member), while there are at most `zset-max-listpack-entries` members none
//! longer than `zset-max-listpack-value`. Scores are stored as 8 raw bytes.
//!
//! Big form, encoding `skiplist`: Redis's skip list with spans (rank
//! queries in O(log n)) in an index arena, plus a member → node hash index
//! threaded through the same nodes (the member bytes are stored once). Node
//! 0 is the header; freed nodes are recycled and the arena is compacted when
//! mostly free. No `unsafe`.
//!
//! Order is by score, then member bytes (memcmp). Scores are never NaN.
//! Conversions follow `zsetTypeCreate`, `zsetTypeMaybeConvert`, `zsetAdd`
//! and `zsetConvertToListpackIfNeeded` (the latter is for the `*STORE`
//! commands; a sorted set never converts back on its own).
//!
//! Ranges: every query resolves to a window of ranks (0-based positions in
//! ascending order) found in O(log n) for the skip list, then streams from
//! there; offsets are applied by rank, never by walking. Lex ranges are only
//! meaningful when all scores are equal (as in Redis).

use super::dict::{self as table, Buckets, Chain, NIL};
use super::listpack::Listpack;

pub const ERR_NOT_FLOAT: &str = "ERR min or max is not a float";
pub const ERR_NOT_STRING_RANGE: &str = "ERR min or max not valid string range item";
pub const ERR_NAN: &str = "ERR resulting score is not a number (NaN)";

/// Thresholds (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZsetLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for ZsetLimits {
    fn default() -> Self {
        ZsetLimits { max_listpack_entries: 128, max_listpack_value: 64 }
    }
}

// ---------------------------------------------------------------------------
// Parsing

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ci(s: &[u8], p: &[u8]) -> bool {
    s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p)
}

/// `x * 2^e` without intermediate overflow or underflow.
fn scale2(mut x: f64, mut e: i64) -> f64 {
    while e > 0 {
        let k = e.min(1000);
        x *= 2f64.powi(k as i32);
        e -= k;
    }
    while e < 0 {
        let k = (-e).min(1000);
        x /= 2f64.powi(k as i32);
        e += k;
    }
    x
}

/// Hex float body after `0x`: (value, bytes used, ERANGE), or None without
/// a hex digit.
fn strtod_hex(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut i = 0;
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut any = false;
    let mut sticky = false;
    let mut seen_dot = false;
    while i < s.len() {
        let c = s[i];
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'.' if !seen_dot => {
                seen_dot = true;
                i += 1;
                continue;
            }
            _ => break,
        };
        any = true;
        if mant >> 60 == 0 {
            mant = mant << 4 | d as u64;
            if seen_dot {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_dot {
                exp += 4;
            }
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if i < s.len() && (s[i] | 0x20) == b'p' {
        let mut k = i + 1;
        let mut neg = false;
        if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
            neg = s[k] == b'-';
            k += 1;
        }
        if k < s.len() && s[k].is_ascii_digit() {
            let mut e: i64 = 0;
            while k < s.len() && s[k].is_ascii_digit() {
                e = (e * 10 + (s[k] - b'0') as i64).min(1 << 40);
                k += 1;
            }
            exp += if neg { -e } else { e };
            i = k;
        }
    }
    if sticky {
        mant |= 1; // below the 53 bits kept, so only breaks ties
    }
    let v = scale2(mant as f64, exp);
    let erange = v.is_infinite() || (v == 0.0 && mant != 0) || (v != 0.0 && v.abs() < f64::MIN_POSITIVE);
    Some((v, i, erange))
}

/// C's `strtod` over bytes: leading whitespace, a sign, then decimal (with
/// exponent), hex (`0x1.8p3`), `inf`/`infinity` or `nan` (any case).
/// Returns (value, bytes consumed, ERANGE); consumed is 0 if nothing parsed.
pub fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let n = s.len();
    let mut i = 0;
    while i < n && is_c_space(s[i]) {
        i += 1;
    }
    let mut sign = 1.0;
    if i < n && (s[i] == b'+' || s[i] == b'-') {
        if s[i] == b'-' {
            sign = -1.0;
        }
        i += 1;
    }
    let rest = &s[i..];
    if starts_with_ci(rest, b"inf") {
        let len = if starts_with_ci(rest, b"infinity") { 8 } else { 3 };
        return (sign * f64::INFINITY, i + len, false);
    }
    if starts_with_ci(rest, b"nan") {
        let mut len = 3;
        if rest.get(3) == Some(&b'(') {
            let mut j = 4;
            while j < rest.len() && (rest[j].is_ascii_alphanumeric() || rest[j] == b'_') {
                j += 1;
            }
            if rest.get(j) == Some(&b')') {
                len = j + 1;
            }
        }
        return (f64::NAN, i + len, false);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        return match strtod_hex(&rest[2..]) {
            Some((v, len, erange)) => (sign * v, i + 2 + len, erange),
            None => (sign * 0.0, i + 1, false),
        };
    }
    let start = i;
    let mut j = i;
    let mut digits = 0;
    let mut nonzero = false;
    while j < n && s[j].is_ascii_digit() {
        nonzero |= s[j] != b'0';
        j += 1;
        digits += 1;
    }
    if j < n && s[j] == b'.' {
        j += 1;
        while j < n && s[j].is_ascii_digit() {
            nonzero |= s[j] != b'0';
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    if j < n && (s[j] | 0x20) == b'e' {
        let mut k = j + 1;
        if k < n && (s[k] == b'+' || s[k] == b'-') {
            k += 1;
        }
        if k < n && s[k].is_ascii_digit() {
            while k < n && s[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[start..j]).expect("ascii");
    let v: f64 = text.parse().unwrap_or(0.0);
    let erange = v.is_infinite() || (v == 0.0 && nonzero) || (v != 0.0 && v.abs() < f64::MIN_POSITIVE);
    (sign * v, j, erange)
}

/// A score as ZADD/ZINCRBY read it (`string2d`): the whole string must be a
/// float, no leading space, no NaN, no overflow to ±inf (`inf` itself is
/// fine) and no underflow to 0.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let (v, used, erange) = strtod(s);
    if used != s.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// A score interval, as `ZRANGEBYSCORE min max` parses it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    /// `(min`: exclusive.
    pub min_ex: bool,
    pub max_ex: bool,
}

impl ScoreRange {
    /// Everything: `-inf +inf`.
    pub const ALL: ScoreRange = ScoreRange { min: f64::NEG_INFINITY, max: f64::INFINITY, min_ex: false, max_ex: false };

    /// `zslParseRange`: `1.5`, `(1.5`, `-inf`, `+inf`, `inf` and anything C's
    /// strtod takes (so `""` is 0 and leading spaces pass, as in Redis).
    pub fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, &'static str> {
        fn bound(b: &[u8]) -> Option<(f64, bool)> {
            let (ex, body) = match b.first() {
                Some(b'(') => (true, &b[1..]),
                _ => (false, b),
            };
            let (v, used, _) = strtod(body);
            // Redis checks `eptr[0] != '\0'` on a C string.
            if (used < body.len() && body[used] != 0) || v.is_nan() {
                return None;
            }
            Some((v, ex))
        }
        match (bound(min), bound(max)) {
            (Some((min, min_ex)), Some((max, max_ex))) => Ok(ScoreRange { min, max, min_ex, max_ex }),
            _ => Err(ERR_NOT_FLOAT),
        }
    }

    /// No score can be inside (`zslIsInRange`'s first test).
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }

    pub fn gte_min(&self, v: f64) -> bool {
        if self.min_ex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    pub fn lte_max(&self, v: f64) -> bool {
        if self.max_ex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    pub fn contains(&self, v: f64) -> bool {
        self.gte_min(v) && self.lte_max(v)
    }
}

/// One end of a lex range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`
    NegInf,
    /// `+`
    PosInf,
    /// `[member`
    Inclusive(Vec<u8>),
    /// `(member`
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// `zslParseLexRangeItem`.
    pub fn parse(b: &[u8]) -> Result<LexBound, &'static str> {
        // Redis reads a C string: a NUL right after `+`/`-` ends it.
        let alone = b.len() == 1 || b.get(1) == Some(&0);
        match b.first() {
            Some(b'+') if alone => Ok(LexBound::PosInf),
            Some(b'-') if alone => Ok(LexBound::NegInf),
            Some(b'(') => Ok(LexBound::Exclusive(b[1..].to_vec())),
            Some(b'[') => Ok(LexBound::Inclusive(b[1..].to_vec())),
            _ => Err(ERR_NOT_STRING_RANGE),
        }
    }

    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }

    /// `sdscmplex` of a member against this bound.
    fn cmp_value(&self, v: &[u8]) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match self {
            LexBound::NegInf => Greater,
            LexBound::PosInf => Less,
            LexBound::Inclusive(s) | LexBound::Exclusive(s) => v.cmp(s),
        }
    }
}

/// A lex interval, as `ZRANGEBYLEX min max` parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    pub fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, &'static str> {
        Ok(LexRange { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
    }

    /// No member can be inside (`zslIsInLexRange`'s first test).
    pub fn is_empty(&self) -> bool {
        use std::cmp::Ordering::*;
        let c = match (&self.min, &self.max) {
            (LexBound::NegInf, LexBound::NegInf) | (LexBound::PosInf, LexBound::PosInf) => Equal,
            (LexBound::NegInf, _) | (_, LexBound::PosInf) => Less,
            (LexBound::PosInf, _) | (_, LexBound::NegInf) => Greater,
            (a, b) => {
                let (LexBound::Inclusive(x) | LexBound::Exclusive(x)) = a else { unreachable!() };
                let (LexBound::Inclusive(y) | LexBound::Exclusive(y)) = b else { unreachable!() };
                x.cmp(y)
            }
        };
        c == Greater || (c == Equal && (self.min.exclusive() || self.max.exclusive()))
    }

    pub fn gte_min(&self, v: &[u8]) -> bool {
        let c = self.min.cmp_value(v);
        if self.min.exclusive() {
            c.is_gt()
        } else {
            c.is_ge()
        }
    }

    pub fn lte_max(&self, v: &[u8]) -> bool {
        let c = self.max.cmp_value(v);
        if self.max.exclusive() {
            c.is_lt()
        } else {
            c.is_le()
        }
    }

    pub fn contains(&self, v: &[u8]) -> bool {
        self.gte_min(v) && self.lte_max(v)
    }
}

// ---------------------------------------------------------------------------
// ZADD

/// ZADD's options (`ZADD_IN_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    /// The score is an increment (ZADD INCR, ZINCRBY).
    pub incr: bool,
}

/// What an add did (`ZADD_OUT_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZAdd {
    /// New member with this score.
    Added(f64),
    /// Existing member whose score changed.
    Updated { old: f64, new: f64 },
    /// Existing member, same score after the operation (ZADD INCR still
    /// replies with it; CH does not count it).
    Unchanged(f64),
    /// Nothing done: NX on an existing member, XX on a missing one, or GT/LT
    /// refused (ZADD INCR replies nil).
    Skipped,
    /// The score (or the increment's result) is NaN: [`ERR_NAN`].
    NaN,
}

// ---------------------------------------------------------------------------
// Listpack form helpers: entries alternate member, score (8 LE bytes).

fn lp_score(lp: &Listpack, score_pos: usize) -> f64 {
    f64::from_le_bytes(lp.get(score_pos).try_into().expect("8-byte score"))
}

/// (member position, index, score) of `member`.
fn lp_find(lp: &Listpack, member: &[u8]) -> Option<(usize, usize, f64)> {
    let mut p = lp.first();
    let mut i = 0;
    while let Some(mp) = p {
        let sp = lp.skip(mp);
        if lp.get(mp) == member {
            return Some((mp, i, lp_score(lp, sp)));
        }
        p = lp.next(sp);
        i += 1;
    }
    None
}

/// A score as the listpack keeps it: Redis stores an integral score as an
/// integer (`double2ll`), so -0 comes back as 0.
fn lp_score_bytes(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    score.to_le_bytes()
}

fn lp_insert(lp: &mut Listpack, member: &[u8], score: f64) {
    let mut p = lp.first();
    while let Some(mp) = p {
        let sp = lp.skip(mp);
        let s = lp_score(lp, sp);
        if s > score || (s == score && lp.get(mp) > member) {
            lp.insert(mp, member);
            let sp = lp.skip(mp);
            lp.insert(sp, &lp_score_bytes(score));
            return;
        }
        p = lp.next(sp);
    }
    lp.push_back(member);
    lp.push_back(&lp_score_bytes(score));
}

/// Ranks `[lo, hi]` of the first run of pairs from the first one passing
/// `gte_min` while `lte_max` holds (`zzlFirstInRange` + walking forward).
fn lp_bounds(
    lp: &Listpack,
    gte_min: impl Fn(&[u8], f64) -> bool,
    lte_max: impl Fn(&[u8], f64) -> bool,
) -> Option<(usize, usize)> {
    let mut it = lp.iter();
    let mut i = 0;
    let mut lo = None;
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        let s = f64::from_le_bytes(s.try_into().expect("8-byte score"));
        match lo {
            None => {
                if gte_min(m, s) {
                    if !lte_max(m, s) {
                        return None;
                    }
                    lo = Some(i);
                }
            }
            Some(l) => {
                if !lte_max(m, s) {
                    return Some((l, i - 1));
                }
            }
        }
        i += 1;
    }
    lo.map(|l| (l, i - 1))
}

// ---------------------------------------------------------------------------
// Skip list

const MAX_LEVEL: usize = 32;
const HEAD: u32 = 0;

#[derive(Debug, Clone, Copy)]
struct Level {
    fwd: u32,
    span: u32,
}

const NO_LEVEL: Level = Level { fwd: NIL, span: 0 };

/// Levels a node holds inline. A new node is taller than this with
/// probability 1/16; its further levels live in `SkipList::tall`.
const INLINE_LEVELS: usize = 2;

/// One cache line per node: a step of a search reads the score and the
/// level it follows from the same line, where a boxed level array would
/// cost a second cache miss per step (Redis's `zskiplistNode` keeps its
/// levels inline for the same reason).
#[derive(Debug, Clone)]
#[repr(C, align(64))]
struct Node {
    score: f64,
    levels: [Level; INLINE_LEVELS],
    member: Box<[u8]>,
    /// Previous node at level 0, NIL for the first.
    back: u32,
    hash: u32,
    /// Next node in the same hash bucket.
    chain: u32,
    /// Where levels `INLINE_LEVELS..height` start in `SkipList::tall`,
    /// NIL for a node no taller than `INLINE_LEVELS`.
    tall: u32,
    height: u8,
}

impl Chain for [Node] {
    fn key(&self, i: u32) -> &[u8] {
        &self[i as usize].member
    }
    fn hash(&self, i: u32) -> u32 {
        self[i as usize].hash
    }
    fn next(&self, i: u32) -> u32 {
        self[i as usize].chain
    }
    fn set_next(&mut self, i: u32, n: u32) {
        self[i as usize].chain = n;
    }
    fn prefetch_slot(&self, i: u32) {
        if let Some(n) = self.get(i as usize) {
            table::prefetch(n);
        }
    }
}

/// A level for a new node: 1 + one more with probability 1/4 each, capped
/// at 32 (`zslRandomLevel`).
fn random_level() -> usize {
    let r = crate::rand::next_u64();
    (1 + r.trailing_zeros() as usize / 2).min(MAX_LEVEL)
}

/// What a command will do with a member, for [`ZSet::warm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Touch {
    /// Look it up (ZSCORE).
    Find,
    /// Find its place in the order (ZRANK, ZREM, ZINCRBY).
    Position,
    /// Put it at this score (ZADD): its old place and its new one.
    Place(f64),
}

/// Most places one [`ZSet::warm`] walks at a time: a pipeline of 16
/// ZADDs, each moving a member.
pub const WARM_PLACES: usize = 32;

#[derive(Debug, Clone)]
struct SkipList {
    /// Node 0 is the header, with `MAX_LEVEL` levels.
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// Levels above `INLINE_LEVELS` of the nodes that have them, each
    /// node's run of `height - INLINE_LEVELS` in a row: one flat array, so
    /// reaching a level costs one cache miss, not two through a box.
    tall: Vec<Level>,
    /// Freed runs in `tall`, by run length.
    free_tall: Vec<Vec<u32>>,
    tail: u32,
    level: usize,
    len: usize,
    buckets: Buckets,
}

impl SkipList {
    fn new(capacity: usize) -> SkipList {
        let mut sl = SkipList {
            nodes: Vec::with_capacity(capacity + 1),
            free: Vec::new(),
            tall: Vec::new(),
            free_tall: Vec::new(),
            tail: NIL,
            level: 1,
            len: 0,
            buckets: Buckets::for_len(capacity),
        };
        let head = sl.node_of(Box::default(), 0.0, MAX_LEVEL);
        sl.nodes.push(head);
        sl
    }

    /// A node of `height` levels, all NIL, not yet linked anywhere.
    fn node_of(&mut self, member: Box<[u8]>, score: f64, height: usize) -> Node {
        let tall = if height > INLINE_LEVELS {
            let run = height - INLINE_LEVELS;
            match self.free_tall.get_mut(run).and_then(Vec::pop) {
                Some(t) => t,
                None => {
                    let t = self.tall.len();
                    assert!(t + run < NIL as usize, "sorted set full");
                    self.tall.resize(t + run, NO_LEVEL);
                    t as u32
                }
            }
        } else {
            NIL
        };
        Node {
            score,
            levels: [NO_LEVEL; INLINE_LEVELS],
            hash: table::hash_bytes(&member),
            member,
            back: NIL,
            chain: NIL,
            tall,
            height: height as u8,
        }
    }

    #[inline]
    fn lv(&self, x: u32, i: usize) -> Level {
        let n = &self.nodes[x as usize];
        if i < INLINE_LEVELS {
            n.levels[i]
        } else {
            self.tall[n.tall as usize + i - INLINE_LEVELS]
        }
    }

    #[inline]
    fn lv_mut(&mut self, x: u32, i: usize) -> &mut Level {
        let n = &mut self.nodes[x as usize];
        if i < INLINE_LEVELS {
            &mut n.levels[i]
        } else {
            &mut self.tall[n.tall as usize + i - INLINE_LEVELS]
        }
    }

    #[inline]
    fn node(&self, x: u32) -> &Node {
        &self.nodes[x as usize]
    }

    fn height(&self, x: u32) -> usize {
        self.nodes[x as usize].height as usize
    }

    /// Node `a` sorts before (score, member).
    #[inline]
    fn before(&self, a: u32, score: f64, member: &[u8]) -> bool {
        let n = self.node(a);
        n.score < score || (n.score == score && *n.member < *member)
    }

    fn find(&self, member: &[u8]) -> u32 {
        self.buckets.find(&self.nodes[..], table::hash_bytes(member), member)
    }

    /// Predecessors of (score, member) at every level.
    fn predecessors(&self, score: f64, member: &[u8]) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.lv(x, i).fwd;
                if f != NIL && self.before(f, score, member) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        update
    }

    /// Walks the search paths of several (score, member) places at once,
    /// one step of each in turn, prefetching the node each will read next,
    /// so their cache misses overlap instead of following one another. A
    /// hint: changes nothing, and the commands that follow find the paths
    /// in the cache.
    fn warm_paths(&self, places: &[(f64, &[u8])]) {
        #[derive(Clone, Copy)]
        struct Walk<'a> {
            score: f64,
            member: &'a [u8],
            x: u32,
            level: usize,
            next: u32,
        }
        let fetch = |n: u32| {
            if n != NIL {
                table::prefetch(self.node(n));
            }
        };
        let top = self.level - 1;
        let mut walks = [Walk { score: 0.0, member: &[], x: HEAD, level: top, next: NIL }; WARM_PLACES];
        let walks = &mut walks[..places.len().min(WARM_PLACES)];
        for (w, &(score, member)) in walks.iter_mut().zip(places) {
            *w = Walk { score, member, x: HEAD, level: top, next: self.lv(HEAD, top).fwd };
            fetch(w.next);
        }
        let mut live = walks.len();
        while live > 0 {
            for w in walks.iter_mut().filter(|w| w.level != usize::MAX) {
                if w.next != NIL && self.before(w.next, w.score, w.member) {
                    w.x = w.next;
                } else if w.level == 0 {
                    w.level = usize::MAX;
                    live -= 1;
                    continue;
                } else {
                    w.level -= 1;
                }
                w.next = self.lv(w.x, w.level).fwd;
                fetch(w.next);
            }
        }
    }

    /// [`ZSet::warm`] for the skip list: the members' index entries first,
    /// then every path a touch will walk.
    fn warm(&self, touches: &[(&[u8], Touch)]) {
        self.buckets.warm(&self.nodes[..], touches.iter().map(|t| t.0));
        let mut places = [(0.0, &[][..]); WARM_PLACES];
        let mut n = 0;
        for &(member, touch) in touches {
            let x = self.find(member);
            let old = (x != NIL).then(|| self.node(x).score);
            let mut place = |score: f64| {
                if n < WARM_PLACES {
                    places[n] = (score, member);
                    n += 1;
                }
            };
            match (touch, old) {
                (Touch::Position, Some(old)) => place(old),
                (Touch::Place(new), Some(old)) if new != old => {
                    place(old);
                    place(new);
                }
                (Touch::Place(new), None) => place(new),
                _ => {}
            }
        }
        self.warm_paths(&places[..n]);
    }

    fn alloc(&mut self, member: Box<[u8]>, score: f64) -> u32 {
        let node = self.node_of(member, score, random_level());
        match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                assert!(self.nodes.len() < NIL as usize, "sorted set full");
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Links node `id` (member and score set) into the levels (`zslInsert`).
    fn link(&mut self, id: u32) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let (score, member) = (self.node(id).score, &self.node(id).member);
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.lv(x, i);
                if l.fwd != NIL && self.before(l.fwd, score, member) {
                    rank[i] = rank[i].wrapping_add(l.span);
                    x = l.fwd;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let h = self.height(id);
        if h > self.level {
            for i in self.level..h {
                rank[i] = 0;
                update[i] = HEAD;
                self.lv_mut(HEAD, i).span = self.len as u32;
            }
            self.level = h;
        }
        for i in 0..h {
            let u = self.lv(update[i], i);
            let d = rank[0].wrapping_sub(rank[i]);
            *self.lv_mut(id, i) = Level { fwd: u.fwd, span: u.span.wrapping_sub(d) };
            *self.lv_mut(update[i], i) = Level { fwd: id, span: d.wrapping_add(1) };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(h) {
            let l = self.lv_mut(u, i);
            l.span = l.span.wrapping_add(1);
        }
        self.nodes[id as usize].back = if update[0] == HEAD { NIL } else { update[0] };
        match self.lv(id, 0).fwd {
            NIL => self.tail = id,
            f => self.nodes[f as usize].back = id,
        }
        self.len += 1;
    }

    /// Unlinks node `x` from the levels given its predecessors (`zslDeleteNode`).
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let xl = if i < self.height(x) { self.lv(x, i) } else { NO_LEVEL };
            let ul = self.lv_mut(u, i);
            if ul.fwd == x {
                ul.span = ul.span.wrapping_add(xl.span).wrapping_sub(1);
                ul.fwd = xl.fwd;
            } else {
                ul.span = ul.span.wrapping_sub(1);
            }
        }
        let back = self.node(x).back;
        match self.lv(x, 0).fwd {
            NIL => self.tail = back,
            f => self.nodes[f as usize].back = back,
        }
        while self.level > 1 && self.lv(HEAD, self.level - 1).fwd == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    fn live_ids(&self) -> Vec<u32> {
        let mut ids = Vec::with_capacity(self.len);
        let mut x = self.lv(HEAD, 0).fwd;
        while x != NIL {
            ids.push(x);
            x = self.lv(x, 0).fwd;
        }
        ids
    }

    fn rehash(&mut self, size: usize) {
        let ids = self.live_ids();
        self.buckets.rebuild(&mut self.nodes[..], size, ids.into_iter());
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        let id = self.alloc(member.into(), score);
        self.link(id);
        match self.buckets.resize_for(self.len) {
            Some(size) => self.rehash(size),
            None => self.buckets.link(&mut self.nodes[..], id),
        }
    }

    /// Drops node `x`, already unlinked from the levels, from the index.
    fn release(&mut self, x: u32) -> Box<[u8]> {
        self.buckets.unlink(&mut self.nodes[..], x);
        let n = &mut self.nodes[x as usize];
        let member = std::mem::take(&mut n.member);
        if n.tall != NIL {
            let (t, run) = (n.tall as usize, n.height as usize - INLINE_LEVELS);
            self.tall[t..t + run].fill(NO_LEVEL);
            if self.free_tall.len() <= run {
                self.free_tall.resize_with(run + 1, Vec::new);
            }
            self.free_tall[run].push(n.tall);
            n.tall = NIL;
        }
        self.free.push(x);
        member
    }

    /// After removals: shrink the index, compact the arena when mostly free.
    fn after_removals(&mut self) {
        if self.free.len() > 32 && self.free.len() * 2 > self.nodes.len() {
            self.compact();
        } else if let Some(size) = self.buckets.resize_for(self.len) {
            self.rehash(size);
        }
    }

    /// Renumbers live nodes densely in order.
    fn compact(&mut self) {
        let ids = self.live_ids();
        let mut map = vec![NIL; self.nodes.len()];
        map[0] = 0;
        for (k, &id) in ids.iter().enumerate() {
            map[id as usize] = k as u32 + 1;
        }
        let mut old: Vec<Option<Node>> = std::mem::take(&mut self.nodes).into_iter().map(Some).collect();
        let mut nodes = Vec::with_capacity(ids.len() + 1);
        nodes.push(old[0].take().expect("header"));
        for &id in &ids {
            nodes.push(old[id as usize].take().expect("live node"));
        }
        let remap = |x: u32| if x == NIL { NIL } else { map[x as usize] };
        let mut tall = Vec::new();
        for n in nodes.iter_mut() {
            n.back = remap(n.back);
            for l in n.levels.iter_mut() {
                l.fwd = remap(l.fwd);
            }
            if n.tall != NIL {
                let (t, run) = (n.tall as usize, n.height as usize - INLINE_LEVELS);
                n.tall = tall.len() as u32;
                tall.extend(self.tall[t..t + run].iter().map(|l| Level { fwd: remap(l.fwd), span: l.span }));
            }
        }
        self.tall = tall;
        self.free_tall.clear();
        self.tail = remap(self.tail);
        self.nodes = nodes;
        self.free.clear();
        let size = self.len.max(1).next_power_of_two();
        self.rehash(size);
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let x = self.find(member);
        if x == NIL {
            return None;
        }
        let score = self.node(x).score;
        let update = self.predecessors(score, member);
        self.unlink(x, &update);
        self.release(x);
        self.after_removals();
        Some(score)
    }

    /// `zslUpdateScore`: in place when the order allows, else relinked.
    fn update_score(&mut self, x: u32, score: f64) {
        let n = self.node(x);
        let back_ok = n.back == NIL || self.node(n.back).score < score;
        let f = n.levels[0].fwd;
        let fwd_ok = f == NIL || self.node(f).score > score;
        if back_ok && fwd_ok {
            self.nodes[x as usize].score = score;
            return;
        }
        let update = self.predecessors(n.score, &n.member);
        self.unlink(x, &update);
        self.nodes[x as usize].score = score;
        self.link(x);
    }

    /// 1-based rank of node `x` (`zslGetRank`).
    fn rank_of(&self, x: u32) -> usize {
        let (score, member) = (self.node(x).score, &self.node(x).member);
        let mut rank: usize = 0;
        let mut y = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(y, i);
                if l.fwd != NIL && (l.fwd == x || self.before(l.fwd, score, member)) {
                    rank += l.span as usize;
                    y = l.fwd;
                } else {
                    break;
                }
            }
            if y == x {
                return rank;
            }
        }
        unreachable!("node not in list")
    }

    /// The node at 1-based `rank` (`zslGetElementByRank`).
    fn by_rank(&self, rank: usize) -> u32 {
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.fwd != NIL && traversed + l.span as usize <= rank {
                    traversed += l.span as usize;
                    x = l.fwd;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return x;
            }
        }
        NIL
    }

    /// How many leading nodes satisfy `pred` (which must hold for a prefix).
    fn count_prefix(&self, pred: impl Fn(&Node) -> bool) -> usize {
        let mut rank = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.fwd != NIL && pred(self.node(l.fwd)) {
                    rank += l.span as usize;
                    x = l.fwd;
                } else {
                    break;
                }
            }
        }
        rank
    }

    /// Removes 0-based ranks `lo..=hi` (`zslDeleteRangeByRank`), handing
    /// each removed (member, score) to `out` in ascending order.
    fn remove_ranks(&mut self, lo: usize, hi: usize, mut out: impl FnMut(Box<[u8]>, f64)) -> usize {
        let (start, end) = (lo + 1, hi + 1);
        let mut update = [HEAD; MAX_LEVEL];
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.fwd != NIL && traversed + (l.span as usize) < start {
                    traversed += l.span as usize;
                    x = l.fwd;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        traversed += 1;
        x = self.lv(x, 0).fwd;
        let mut removed = 0;
        while x != NIL && traversed <= end {
            let next = self.lv(x, 0).fwd;
            self.unlink(x, &update);
            let score = self.node(x).score;
            let member = self.release(x);
            out(member, score);
            removed += 1;
            traversed += 1;
            x = next;
        }
        self.after_removals();
        removed
    }

    #[cfg(test)]
    fn check(&self) {
        // Spans add up to ranks; back links and tail agree; index finds all.
        let ids = self.live_ids();
        assert_eq!(ids.len(), self.len);
        for (r, &id) in ids.iter().enumerate() {
            assert_eq!(self.rank_of(id), r + 1);
            assert_eq!(self.by_rank(r + 1), id);
            assert_eq!(self.find(&self.node(id).member), id);
            let back = if r == 0 { NIL } else { ids[r - 1] };
            assert_eq!(self.node(id).back, back);
        }
        assert_eq!(self.tail, ids.last().copied().unwrap_or(NIL));
        assert_eq!(self.nodes.len() - 1 - self.free.len(), self.len);
        // Every run of tall levels is a live node's or free, none twice.
        let runs = |x: u32| self.height(x).saturating_sub(INLINE_LEVELS);
        let live: usize = ids.iter().map(|&x| runs(x)).sum::<usize>() + runs(HEAD);
        let free: usize = self.free_tall.iter().enumerate().map(|(run, f)| run * f.len()).sum();
        assert_eq!(live + free, self.tall.len());
    }
}

// ---------------------------------------------------------------------------
// The sorted set

#[derive(Debug, Clone)]
enum Repr {
    Listpack(Listpack),
    SkipList(SkipList),
}

/// A Redis sorted set.
#[derive(Debug, Clone)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl PartialEq for ZSet {
    /// Same members with the same scores, whatever the encodings.
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.0 == b.0 && a.1 == b.1)
    }
}

impl ZSet {
    /// An empty listpack sorted set.
    pub fn new() -> ZSet {
        ZSet { repr: Repr::Listpack(Listpack::new()) }
    }

    /// `zsetTypeCreate`: the empty set a write starts a new key with. ZADD
    /// passes the number of score/member pairs and the length of the first
    /// member; ZRANGESTORE the result length and 0.
    pub fn create(size_hint: usize, value_len_hint: usize, limits: ZsetLimits) -> ZSet {
        if size_hint <= limits.max_listpack_entries && value_len_hint <= limits.max_listpack_value {
            ZSet::new()
        } else {
            ZSet { repr: Repr::SkipList(SkipList::new(size_hint)) }
        }
    }

    /// What `OBJECT ENCODING` reports.
    /// Starts loading into the cache what commands touching these members
    /// will read (see [`Touch`]): a hint for a batch of commands on one big
    /// sorted set, whose skip-list walks are chains of cache misses. Does
    /// nothing for a listpack, which is small.
    pub fn warm(&self, touches: &[(&[u8], Touch)]) {
        if let Repr::SkipList(sl) = &self.repr {
            sl.warm(touches);
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::SkipList(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len() / 2,
            Repr::SkipList(sl) => sl.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn convert_to_skiplist(&mut self, capacity: usize) {
        if let Repr::Listpack(lp) = &self.repr {
            let mut sl = SkipList::new(capacity.max(lp.len() / 2));
            let mut it = lp.iter();
            while let (Some(m), Some(s)) = (it.next(), it.next()) {
                sl.insert(m, f64::from_le_bytes(s.try_into().expect("8-byte score")));
            }
            self.repr = Repr::SkipList(sl);
        }
    }

    /// SORT's `zsetConvert(…, OBJ_ENCODING_SKIPLIST)`: Redis sorts a sorted
    /// set from its skip list and leaves it converted (even SORT_RO).
    pub fn convert_for_sort(&mut self) {
        self.convert_to_skiplist(0);
    }

    /// `zsetTypeMaybeConvert`: before adding `size_hint` members (ZADD's
    /// pair count), go straight to a skip list if they cannot all fit.
    pub fn maybe_convert(&mut self, size_hint: usize, limits: ZsetLimits) {
        if matches!(self.repr, Repr::Listpack(_)) && size_hint > limits.max_listpack_entries {
            self.convert_to_skiplist(size_hint);
        }
    }

    /// `zsetConvertToListpackIfNeeded`, for the `*STORE` commands: back to a
    /// listpack if the result fits one.
    pub fn convert_to_listpack_if_needed(&mut self, limits: ZsetLimits) {
        let Repr::SkipList(sl) = &self.repr else { return };
        if sl.len > limits.max_listpack_entries {
            return;
        }
        let (mut maxlen, mut total) = (0, 0);
        for (m, _) in self.iter() {
            maxlen = maxlen.max(m.len());
            total += m.len();
        }
        if maxlen <= limits.max_listpack_value && total <= super::listpack::MAX_SAFE_SIZE {
            let mut lp = Listpack::new();
            for (m, s) in self.iter() {
                lp.push_back(m);
                lp.push_back(&lp_score_bytes(s));
            }
            self.repr = Repr::Listpack(lp);
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(lp) => lp_find(lp, member).map(|(_, _, s)| s),
            Repr::SkipList(sl) => match sl.find(member) {
                NIL => None,
                x => Some(sl.node(x).score),
            },
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// `zsetAdd` with ZADD's flags: adds `member` or updates its score (see
    /// [`ZAdd`]). Converts to a skip list before adding a member that would
    /// make the listpack too long or is too long itself.
    pub fn add(&mut self, member: &[u8], score: f64, flags: AddFlags, limits: ZsetLimits) -> ZAdd {
        if score.is_nan() {
            return ZAdd::NaN;
        }
        let current = match &self.repr {
            Repr::Listpack(lp) => lp_find(lp, member).map(|(_, _, s)| s),
            Repr::SkipList(sl) => match sl.find(member) {
                NIL => None,
                x => Some(sl.node(x).score),
            },
        };
        match current {
            Some(cur) => {
                if flags.nx {
                    return ZAdd::Skipped;
                }
                let mut new = score;
                if flags.incr {
                    new += cur;
                    if new.is_nan() {
                        return ZAdd::NaN;
                    }
                }
                if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                    return ZAdd::Skipped;
                }
                if new == cur {
                    return ZAdd::Unchanged(new);
                }
                match &mut self.repr {
                    Repr::Listpack(lp) => {
                        let (p, _, _) = lp_find(lp, member).expect("present");
                        lp.delete_run(p, 2);
                        lp_insert(lp, member, new);
                    }
                    Repr::SkipList(sl) => {
                        let x = sl.find(member);
                        sl.update_score(x, new);
                    }
                }
                ZAdd::Updated { old: cur, new }
            }
            None if flags.xx => ZAdd::Skipped,
            None => {
                if let Repr::Listpack(lp) = &mut self.repr {
                    if lp.len() / 2 < limits.max_listpack_entries
                        && member.len() <= limits.max_listpack_value
                        && lp.safe_to_add(member.len())
                    {
                        lp_insert(lp, member, score);
                        return ZAdd::Added(score);
                    }
                    let n = lp.len() / 2 + 1;
                    self.convert_to_skiplist(n);
                }
                let Repr::SkipList(sl) = &mut self.repr else { unreachable!() };
                sl.insert(member, score);
                ZAdd::Added(score)
            }
        }
    }

    /// `ZINCRBY`: the new score, or [`ERR_NAN`].
    pub fn incr_by(&mut self, member: &[u8], delta: f64, limits: ZsetLimits) -> Result<f64, &'static str> {
        match self.add(member, delta, AddFlags { incr: true, ..AddFlags::default() }, limits) {
            ZAdd::Added(s) | ZAdd::Unchanged(s) | ZAdd::Updated { new: s, .. } => Ok(s),
            ZAdd::NaN => Err(ERR_NAN),
            ZAdd::Skipped => unreachable!("no flags"),
        }
    }

    /// Removes `member`; returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => match lp_find(lp, member) {
                Some((p, _, _)) => {
                    lp.delete_run(p, 2);
                    true
                }
                None => false,
            },
            Repr::SkipList(sl) => sl.remove(member).is_some(),
        }
    }

    /// `ZRANK`/`ZREVRANK`: 0-based rank and score of `member`.
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<(usize, f64)> {
        let (r, s) = match &self.repr {
            Repr::Listpack(lp) => lp_find(lp, member).map(|(_, i, s)| (i, s))?,
            Repr::SkipList(sl) => match sl.find(member) {
                NIL => return None,
                x => (sl.rank_of(x) - 1, sl.node(x).score),
            },
        };
        Some(if reverse { (self.len() - 1 - r, s) } else { (r, s) })
    }

    /// Streams `count` elements starting at ascending rank `first`, moving
    /// down in rank when `reverse`. The caller keeps the window in range.
    fn window(&self, first: usize, count: usize, reverse: bool) -> ZIter<'_> {
        if count == 0 {
            return ZIter { cur: Cursor::Done, left: 0, reverse };
        }
        let cur = match &self.repr {
            Repr::Listpack(lp) => Cursor::Listpack(lp, lp.seek(2 * first as i64).expect("rank in range")),
            Repr::SkipList(sl) => Cursor::SkipList(sl, sl.by_rank(first + 1)),
        };
        ZIter { cur, left: count, reverse }
    }

    /// All elements, ascending.
    pub fn iter(&self) -> ZIter<'_> {
        self.window(0, self.len(), false)
    }

    /// `ZRANGE start end [REV]` with indexes already normalized (see
    /// [`crate::types::normalize_range`]): positions `start..=end` of the ascending
    /// order, or of the descending order when `reverse`. `end` is clamped.
    pub fn range_by_rank(&self, start: usize, end: usize, reverse: bool) -> ZIter<'_> {
        let len = self.len();
        if start > end || start >= len {
            return self.window(0, 0, reverse);
        }
        let end = end.min(len - 1);
        let count = end - start + 1;
        let first = if reverse { len - 1 - start } else { start };
        self.window(first, count, reverse)
    }

    /// Ascending ranks `[lo, hi]` of the elements in `range`.
    fn score_bounds(&self, range: &ScoreRange) -> Option<(usize, usize)> {
        if range.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Listpack(lp) => lp_bounds(lp, |_, s| range.gte_min(s), |_, s| range.lte_max(s)),
            Repr::SkipList(sl) => {
                let lo = sl.count_prefix(|n| !range.gte_min(n.score));
                let hi = sl.count_prefix(|n| range.lte_max(n.score));
                (lo < hi).then(|| (lo, hi - 1))
            }
        }
    }

    /// Ascending ranks `[lo, hi]` of the elements in a lex range.
    fn lex_bounds(&self, range: &LexRange) -> Option<(usize, usize)> {
        if range.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Listpack(lp) => lp_bounds(lp, |m, _| range.gte_min(m), |m, _| range.lte_max(m)),
            Repr::SkipList(sl) => {
                let lo = sl.count_prefix(|n| !range.gte_min(&n.member));
                let hi = sl.count_prefix(|n| range.lte_max(&n.member));
                (lo < hi).then(|| (lo, hi - 1))
            }
        }
    }

    fn bounded(&self, bounds: Option<(usize, usize)>, reverse: bool, offset: usize, limit: Option<usize>) -> ZIter<'_> {
        let Some((lo, hi)) = bounds else { return self.window(0, 0, reverse) };
        let n = hi - lo + 1;
        if offset >= n {
            return self.window(0, 0, reverse);
        }
        let count = limit.map_or(n - offset, |l| l.min(n - offset));
        let first = if reverse { hi - offset } else { lo + offset };
        self.window(first, count, reverse)
    }

    /// `ZRANGEBYSCORE`/`ZREVRANGEBYSCORE` with `LIMIT offset count` (a
    /// negative count is `None`): ascending from the lowest score in range,
    /// or descending from the highest when `reverse`. O(log n) to start.
    pub fn range_by_score(&self, range: &ScoreRange, reverse: bool, offset: usize, limit: Option<usize>) -> ZIter<'_> {
        self.bounded(self.score_bounds(range), reverse, offset, limit)
    }

    /// `ZRANGEBYLEX`/`ZREVRANGEBYLEX`, as [`ZSet::range_by_score`].
    pub fn range_by_lex(&self, range: &LexRange, reverse: bool, offset: usize, limit: Option<usize>) -> ZIter<'_> {
        self.bounded(self.lex_bounds(range), reverse, offset, limit)
    }

    /// `ZCOUNT`, in O(log n) for the skip list.
    pub fn count_by_score(&self, range: &ScoreRange) -> usize {
        self.score_bounds(range).map_or(0, |(lo, hi)| hi - lo + 1)
    }

    /// `ZLEXCOUNT`, in O(log n) for the skip list.
    pub fn count_by_lex(&self, range: &LexRange) -> usize {
        self.lex_bounds(range).map_or(0, |(lo, hi)| hi - lo + 1)
    }

    /// Removes ascending ranks `lo..=hi`, giving each removed element to `out`
    /// in ascending order.
    fn remove_window(&mut self, lo: usize, hi: usize, mut out: impl FnMut(Vec<u8>, f64)) -> usize {
        match &mut self.repr {
            Repr::Listpack(lp) => {
                let p = lp.seek(2 * lo as i64).expect("rank in range");
                let mut q = p;
                for _ in lo..=hi {
                    let sp = lp.skip(q);
                    out(lp.get(q).to_vec(), lp_score(lp, sp));
                    q = lp.skip(sp);
                }
                lp.delete_run(p, 2 * (hi - lo + 1)) / 2
            }
            Repr::SkipList(sl) => sl.remove_ranks(lo, hi, |m, s| out(m.into_vec(), s)),
        }
    }

    /// `ZREMRANGEBYRANK` with normalized ascending positions (clamped).
    pub fn remove_range_by_rank(&mut self, start: usize, end: usize) -> usize {
        let len = self.len();
        if start > end || start >= len {
            return 0;
        }
        self.remove_window(start, end.min(len - 1), |_, _| {})
    }

    /// `ZREMRANGEBYSCORE`.
    pub fn remove_range_by_score(&mut self, range: &ScoreRange) -> usize {
        match self.score_bounds(range) {
            Some((lo, hi)) => self.remove_window(lo, hi, |_, _| {}),
            None => 0,
        }
    }

    /// `ZREMRANGEBYLEX`.
    pub fn remove_range_by_lex(&mut self, range: &LexRange) -> usize {
        match self.lex_bounds(range) {
            Some((lo, hi)) => self.remove_window(lo, hi, |_, _| {}),
            None => 0,
        }
    }

    /// `ZPOPMIN`/`ZPOPMAX` (`max`): up to `count` elements in pop order.
    pub fn pop(&mut self, max: bool, count: usize) -> Vec<(Vec<u8>, f64)> {
        let len = self.len();
        let n = count.min(len);
        if n == 0 {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(n);
        let (lo, hi) = if max { (len - n, len - 1) } else { (0, n - 1) };
        self.remove_window(lo, hi, |m, s| out.push((m, s)));
        if max {
            out.reverse();
        }
        out
    }

    /// A uniformly random element (ZRANDMEMBER without count).
    pub fn random_member<R: FnMut() -> u64>(&self, rng: &mut R) -> Option<(&[u8], f64)> {
        if self.is_empty() {
            return None;
        }
        let i = table::rand_below(rng, self.len());
        self.window(i, 1, false).next()
    }

    /// `ZRANDMEMBER key count`: with `allow_repeats` (negative count),
    /// `count` independent picks; without, `min(count, len)` distinct
    /// elements (all, ascending, when `count >= len`). Lazy; each pick is
    /// O(log n) for the skip list.
    pub fn random_members<'a, R: FnMut() -> u64>(
        &'a self,
        count: usize,
        allow_repeats: bool,
        rng: &'a mut R,
    ) -> impl Iterator<Item = (&'a [u8], f64)> + 'a {
        let positions: Vec<usize> = match &self.repr {
            Repr::Listpack(lp) => {
                let mut v = Vec::with_capacity(lp.len() / 2);
                let mut p = lp.first();
                while let Some(q) = p {
                    v.push(q);
                    p = lp.next(lp.skip(q));
                }
                v
            }
            Repr::SkipList(_) => Vec::new(),
        };
        table::sample(self.len(), count, allow_repeats, rng).map(move |i| match &self.repr {
            Repr::Listpack(lp) => {
                let p = positions[i];
                (lp.get(p), lp_score(lp, lp.skip(p)))
            }
            Repr::SkipList(sl) => {
                let n = sl.node(sl.by_rank(i + 1));
                (&*n.member, n.score)
            }
        })
    }

    /// `ZSCAN`: see [`super::hash::Hash::scan`]. The listpack form reports
    /// everything and returns 0.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Listpack(_) => {
                for (m, s) in self.iter() {
                    f(m, s);
                }
                0
            }
            Repr::SkipList(sl) => sl.buckets.scan(&sl.nodes[..], cursor, count, |x| {
                let n = sl.node(x);
                f(&n.member, n.score)
            }),
        }
    }

    #[cfg(test)]
    fn check(&self) {
        if let Repr::SkipList(sl) = &self.repr {
            sl.check();
        }
    }
}

enum Cursor<'a> {
    Done,
    /// Position of the next member entry.
    Listpack(&'a Listpack, usize),
    SkipList(&'a SkipList, u32),
}

/// A stream of (member, score) from a [`ZSet`] range; knows its length.
pub struct ZIter<'a> {
    cur: Cursor<'a>,
    left: usize,
    reverse: bool,
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let more = self.left > 0;
        match &mut self.cur {
            Cursor::Done => None,
            Cursor::Listpack(lp, p) => {
                let lp: &'a Listpack = lp;
                let mp = *p;
                let sp = lp.skip(mp);
                let item = (lp.get(mp), lp_score(lp, sp));
                if more {
                    *p = if self.reverse {
                        lp.prev(lp.prev(mp).expect("score before")).expect("member before")
                    } else {
                        lp.skip(sp)
                    };
                }
                Some(item)
            }
            Cursor::SkipList(sl, x) => {
                let sl: &'a SkipList = sl;
                let n = sl.node(*x);
                *x = if self.reverse { n.back } else { n.levels[0].fwd };
                Some((&n.member, n.score))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for ZIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::hash::tests::rng;
    use crate::types::normalize_range;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const L: ZsetLimits = ZsetLimits { max_listpack_entries: 128, max_listpack_value: 64 };
    const NONE: AddFlags = AddFlags { nx: false, xx: false, gt: false, lt: false, incr: false };

    fn items(it: ZIter<'_>) -> Vec<(Vec<u8>, f64)> {
        it.map(|(m, s)| (m.to_vec(), s)).collect()
    }

    fn names(it: ZIter<'_>) -> Vec<String> {
        it.map(|(m, _)| String::from_utf8(m.to_vec()).unwrap()).collect()
    }

    #[test]
    fn strtod_like_c() {
        let t = |s: &str| strtod(s.as_bytes());
        assert_eq!(t("1.5"), (1.5, 3, false));
        assert_eq!(t("  -2e3x"), (-2000.0, 6, false));
        assert_eq!(t("1e"), (1.0, 1, false));
        assert_eq!(t("1e+"), (1.0, 1, false));
        assert_eq!(t(".5"), (0.5, 2, false));
        assert_eq!(t("5."), (5.0, 2, false));
        assert_eq!(t("."), (0.0, 0, false));
        assert_eq!(t("-"), (0.0, 0, false));
        assert_eq!(t(""), (0.0, 0, false));
        assert_eq!(t("inf"), (f64::INFINITY, 3, false));
        assert_eq!(t("-Infinity"), (f64::NEG_INFINITY, 9, false));
        assert_eq!(t("+infinit"), (f64::INFINITY, 4, false));
        assert!(t("nan").0.is_nan() && t("NaN(123)").1 == 8);
        assert_eq!(t("0x10"), (16.0, 4, false));
        assert_eq!(t("0x1.8p1"), (3.0, 7, false));
        assert_eq!(t("-0x.8"), (-0.5, 5, false));
        assert_eq!(t("0x"), (0.0, 1, false));
        assert_eq!(t("0xg"), (0.0, 1, false));
        assert_eq!(t("1e400"), (f64::INFINITY, 5, true));
        assert_eq!(t("1e-400"), (0.0, 6, true));
        assert_eq!(t("0e-400"), (0.0, 6, false));
        assert_eq!(t("4.9e-324").0, 5e-324);
        assert_eq!(t("0.1").0, 0.1);
        assert_eq!(t("123456789012345678901234567890").0, 1.2345678901234568e29);
    }

    #[test]
    fn listpack_keeps_negative_zero_as_zero() {
        let l = ZsetLimits::default();
        let mut z = ZSet::new();
        z.add(b"a", -0.0, AddFlags::default(), l);
        assert!(z.score(b"a").unwrap().is_sign_positive());
        // A skip list keeps the sign, until the set is converted back.
        let mut z = ZSet::create(200, 0, l);
        z.add(b"a", -0.0, AddFlags::default(), l);
        assert!(z.score(b"a").unwrap().is_sign_negative());
        z.convert_to_listpack_if_needed(l);
        assert!(z.score(b"a").unwrap().is_sign_positive());
    }

    #[test]
    fn parse_score_like_string2d() {
        let p = |s: &str| parse_score(s.as_bytes());
        assert_eq!(p("1"), Some(1.0));
        assert_eq!(p("-1.5e2"), Some(-150.0));
        assert_eq!(p("inf"), Some(f64::INFINITY));
        assert_eq!(p("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(p("+inf"), Some(f64::INFINITY));
        assert_eq!(p("1e-310"), Some(1e-310)); // subnormal but not zero
        for bad in ["", " 1", "1 ", "nan", "abc", "1e400", "1e-400", "1.5.5", "(1"] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn score_range_parsing() {
        let r = ScoreRange::parse(b"(1.5", b"+inf").unwrap();
        assert_eq!(r, ScoreRange { min: 1.5, max: f64::INFINITY, min_ex: true, max_ex: false });
        let r = ScoreRange::parse(b"-inf", b"(inf").unwrap();
        assert!(r.max_ex && r.min == f64::NEG_INFINITY);
        // C strtod quirks Redis inherits: "" and "(" are 0, spaces lead.
        assert_eq!(
            ScoreRange::parse(b"", b"(").unwrap(),
            ScoreRange { min: 0.0, max: 0.0, min_ex: false, max_ex: true }
        );
        assert_eq!(ScoreRange::parse(b" 1", b"2").unwrap().min, 1.0);
        assert_eq!(ScoreRange::parse(b"1\0junk", b"2").unwrap().min, 1.0);
        for (a, b) in [("x", "1"), ("1", "nan"), ("((1", "2"), ("1 ", "2"), ("1", "[2")] {
            assert_eq!(ScoreRange::parse(a.as_bytes(), b.as_bytes()), Err(ERR_NOT_FLOAT), "{a:?} {b:?}");
        }
        assert!(ScoreRange::parse(b"(1", b"1").unwrap().is_empty());
        assert!(ScoreRange::parse(b"2", b"1").unwrap().is_empty());
        assert!(!ScoreRange::parse(b"1", b"1").unwrap().is_empty());
    }

    #[test]
    fn lex_range_parsing() {
        let r = LexRange::parse(b"[a", b"(c").unwrap();
        assert_eq!(r.min, LexBound::Inclusive(b"a".to_vec()));
        assert_eq!(r.max, LexBound::Exclusive(b"c".to_vec()));
        assert_eq!(LexRange::parse(b"-", b"+").unwrap(), LexRange { min: LexBound::NegInf, max: LexBound::PosInf });
        assert_eq!(LexBound::parse(b"["), Ok(LexBound::Inclusive(vec![])));
        for bad in [&b""[..], b"a", b"+a", b"-a", b"++"] {
            assert_eq!(LexBound::parse(bad), Err(ERR_NOT_STRING_RANGE));
        }
        assert!(LexRange::parse(b"-", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"+", b"+").unwrap().is_empty());
        assert!(LexRange::parse(b"+", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"(a", b"[a").unwrap().is_empty());
        assert!(!LexRange::parse(b"[a", b"[a").unwrap().is_empty());
        assert!(LexRange::parse(b"[b", b"[a").unwrap().is_empty());
        let r = LexRange::parse(b"[b", b"+").unwrap();
        assert!(r.contains(b"b") && r.contains(b"zz") && !r.contains(b"a"));
        let r = LexRange::parse(b"-", b"(b").unwrap();
        assert!(r.contains(b"") && r.contains(b"az") && !r.contains(b"b"));
    }

    #[test]
    fn thresholds() {
        let mut z = ZSet::new();
        for i in 0..128 {
            assert_eq!(z.add(format!("m{i}").as_bytes(), i as f64, NONE, L), ZAdd::Added(i as f64));
        }
        assert_eq!(z.encoding(), "listpack");
        z.add(b"m3", 7.0, NONE, L);
        assert_eq!(z.encoding(), "listpack");
        z.add(b"m128", 1.0, NONE, L);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.len(), 129);
        z.check();

        let mut z = ZSet::new();
        z.add(&[b'x'; 64], 1.0, NONE, L);
        assert_eq!(z.encoding(), "listpack");
        z.add(&[b'y'; 65], 1.0, NONE, L);
        assert_eq!(z.encoding(), "skiplist");
        // XX on a long missing member adds nothing and does not convert.
        let mut z = ZSet::new();
        z.add(b"a", 1.0, NONE, L);
        assert_eq!(z.add(&[b'y'; 65], 1.0, AddFlags { xx: true, ..NONE }, L), ZAdd::Skipped);
        assert_eq!(z.encoding(), "listpack");

        assert_eq!(ZSet::create(128, 64, L).encoding(), "listpack");
        assert_eq!(ZSet::create(129, 1, L).encoding(), "skiplist");
        assert_eq!(ZSet::create(1, 65, L).encoding(), "skiplist");
        let mut z = ZSet::new();
        z.maybe_convert(128, L);
        assert_eq!(z.encoding(), "listpack");
        z.maybe_convert(129, L);
        assert_eq!(z.encoding(), "skiplist");

        // Back to a listpack only on request, when it fits.
        let mut z = ZSet::new();
        for i in 0..200 {
            z.add(format!("m{i}").as_bytes(), i as f64, NONE, L);
        }
        z.convert_to_listpack_if_needed(L);
        assert_eq!(z.encoding(), "skiplist");
        z.remove_range_by_rank(0, 71);
        assert_eq!(z.len(), 128);
        z.check();
        assert_eq!(z.encoding(), "skiplist");
        let before = items(z.iter());
        z.convert_to_listpack_if_needed(L);
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(items(z.iter()), before);
    }

    #[test]
    fn zadd_flags() {
        for big in [false, true] {
            let mut z = ZSet::new();
            if big {
                z.maybe_convert(1000, L);
            }
            assert_eq!(z.add(b"a", 1.0, NONE, L), ZAdd::Added(1.0));
            assert_eq!(z.add(b"a", 1.0, NONE, L), ZAdd::Unchanged(1.0));
            assert_eq!(z.add(b"a", 2.0, NONE, L), ZAdd::Updated { old: 1.0, new: 2.0 });
            assert_eq!(z.add(b"a", 5.0, AddFlags { nx: true, ..NONE }, L), ZAdd::Skipped);
            assert_eq!(z.add(b"b", 5.0, AddFlags { xx: true, ..NONE }, L), ZAdd::Skipped);
            assert!(!z.contains(b"b"));
            assert_eq!(z.add(b"a", 1.0, AddFlags { gt: true, ..NONE }, L), ZAdd::Skipped);
            assert_eq!(z.add(b"a", 2.0, AddFlags { gt: true, ..NONE }, L), ZAdd::Skipped);
            assert_eq!(z.add(b"a", 3.0, AddFlags { gt: true, ..NONE }, L), ZAdd::Updated { old: 2.0, new: 3.0 });
            assert_eq!(z.add(b"a", 4.0, AddFlags { lt: true, ..NONE }, L), ZAdd::Skipped);
            assert_eq!(
                z.add(b"a", 0.5, AddFlags { lt: true, xx: true, ..NONE }, L),
                ZAdd::Updated { old: 3.0, new: 0.5 }
            );
            // GT/LT do not stop new members.
            assert_eq!(z.add(b"c", 9.0, AddFlags { lt: true, ..NONE }, L), ZAdd::Added(9.0));
            let incr = AddFlags { incr: true, ..NONE };
            assert_eq!(z.add(b"a", 1.5, incr, L), ZAdd::Updated { old: 0.5, new: 2.0 });
            assert_eq!(z.add(b"a", 0.0, incr, L), ZAdd::Unchanged(2.0));
            assert_eq!(z.add(b"d", 4.0, incr, L), ZAdd::Added(4.0));
            assert_eq!(z.add(b"a", -1.0, AddFlags { gt: true, ..incr }, L), ZAdd::Skipped);
            assert_eq!(z.add(b"a", f64::NAN, NONE, L), ZAdd::NaN);
            assert_eq!(z.incr_by(b"e", f64::INFINITY, L), Ok(f64::INFINITY));
            assert_eq!(z.incr_by(b"e", f64::NEG_INFINITY, L), Err(ERR_NAN));
            assert_eq!(z.score(b"e"), Some(f64::INFINITY));
            assert_eq!(z.incr_by(b"e", 1.0, L), Ok(f64::INFINITY));
            assert_eq!(names(z.iter()), ["a", "d", "c", "e"]);
            assert_eq!(z.encoding(), if big { "skiplist" } else { "listpack" });
            z.check();
        }
    }

    fn sample(big: bool) -> ZSet {
        // a..j with scores 1..10, plus ties at 5.
        let mut z = ZSet::new();
        if big {
            z.maybe_convert(1000, L);
        }
        for (i, m) in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"].iter().enumerate() {
            z.add(m.as_bytes(), (i + 1) as f64, NONE, L);
        }
        z.add(b"e2", 5.0, NONE, L);
        z.add(b"e1", 5.0, NONE, L);
        z
    }

    #[test]
    fn ranges() {
        for big in [false, true] {
            let z = sample(big);
            z.check();
            assert_eq!(names(z.iter()), ["a", "b", "c", "d", "e", "e1", "e2", "f", "g", "h", "i", "j"]);
            assert_eq!(z.rank(b"e1", false), Some((5, 5.0)));
            assert_eq!(z.rank(b"e1", true), Some((6, 5.0)));
            assert_eq!(z.rank(b"zz", false), None);
            assert_eq!(names(z.range_by_rank(0, 2, false)), ["a", "b", "c"]);
            assert_eq!(names(z.range_by_rank(0, 2, true)), ["j", "i", "h"]);
            assert_eq!(names(z.range_by_rank(10, 100, false)), ["i", "j"]);
            assert_eq!(z.range_by_rank(12, 100, false).len(), 0);
            assert_eq!(z.range_by_rank(3, 2, false).len(), 0);
            let (s, e) = normalize_range(-3, -1, z.len()).unwrap();
            assert_eq!(names(z.range_by_rank(s, e, false)), ["h", "i", "j"]);
            assert_eq!(normalize_range(-100, 1, 12), Some((0, 1)));
            assert_eq!(normalize_range(5, -100, 12), None);
            assert_eq!(normalize_range(12, 20, 12), None);

            let r = ScoreRange::parse(b"(4", b"6").unwrap();
            assert_eq!(names(z.range_by_score(&r, false, 0, None)), ["e", "e1", "e2", "f"]);
            assert_eq!(names(z.range_by_score(&r, true, 0, None)), ["f", "e2", "e1", "e"]);
            assert_eq!(names(z.range_by_score(&r, false, 1, Some(2))), ["e1", "e2"]);
            assert_eq!(names(z.range_by_score(&r, true, 1, Some(2))), ["e2", "e1"]);
            assert_eq!(z.range_by_score(&r, false, 4, None).len(), 0);
            assert_eq!(z.count_by_score(&r), 4);
            let r = ScoreRange::parse(b"5", b"(5").unwrap();
            assert_eq!(z.count_by_score(&r), 0);
            assert_eq!(z.count_by_score(&ScoreRange::ALL), 12);
            let r = ScoreRange::parse(b"-inf", b"(1").unwrap();
            assert_eq!(z.count_by_score(&r), 0);
            let r = ScoreRange::parse(b"(10", b"+inf").unwrap();
            assert_eq!(z.range_by_score(&r, false, 0, None).len(), 0);
            let r = ScoreRange::parse(b"10", b"inf").unwrap();
            assert_eq!(names(z.range_by_score(&r, true, 0, Some(5))), ["j"]);

            // Lex on the tied run: only meaningful there.
            let mut t = ZSet::new();
            if big {
                t.maybe_convert(1000, L);
            }
            for m in ["a", "b", "c", "d", "e", "f", "g"] {
                t.add(m.as_bytes(), 0.0, NONE, L);
            }
            let r = LexRange::parse(b"[b", b"(e").unwrap();
            assert_eq!(names(t.range_by_lex(&r, false, 0, None)), ["b", "c", "d"]);
            assert_eq!(names(t.range_by_lex(&r, true, 0, None)), ["d", "c", "b"]);
            assert_eq!(names(t.range_by_lex(&r, false, 1, Some(1))), ["c"]);
            assert_eq!(t.count_by_lex(&r), 3);
            assert_eq!(t.count_by_lex(&LexRange::parse(b"-", b"+").unwrap()), 7);
            assert_eq!(t.count_by_lex(&LexRange::parse(b"(g", b"+").unwrap()), 0);
            assert_eq!(t.remove_range_by_lex(&LexRange::parse(b"-", b"[b").unwrap()), 2);
            assert_eq!(names(t.iter()), ["c", "d", "e", "f", "g"]);
            t.check();
        }
    }

    #[test]
    fn removals_and_pops() {
        for big in [false, true] {
            let mut z = sample(big);
            assert_eq!(z.remove_range_by_score(&ScoreRange::parse(b"5", b"5").unwrap()), 3);
            assert_eq!(z.remove_range_by_rank(0, 1), 2);
            assert_eq!(z.remove_range_by_rank(5, 3), 0);
            assert_eq!(names(z.iter()), ["c", "d", "f", "g", "h", "i", "j"]);
            assert_eq!(z.pop(false, 2), vec![(b"c".to_vec(), 3.0), (b"d".to_vec(), 4.0)]);
            assert_eq!(z.pop(true, 2), vec![(b"j".to_vec(), 10.0), (b"i".to_vec(), 9.0)]);
            assert!(z.remove(b"g"));
            assert!(!z.remove(b"g"));
            assert_eq!(z.pop(true, 10).len(), 2);
            assert!(z.is_empty());
            assert!(z.pop(false, 1).is_empty());
            z.check();
        }
    }

    #[test]
    fn big_skiplist_consistency() {
        let mut r = rng(5);
        let mut z = ZSet::new();
        z.maybe_convert(1000, L);
        for i in 0..3000u64 {
            let s = (r() % 100) as f64;
            z.add(format!("m{}", i % 1500).as_bytes(), s, NONE, L);
        }
        z.check();
        for i in 0..1400 {
            z.remove(format!("m{i}").as_bytes());
        }
        z.check(); // compacted by now
        assert_eq!(z.len(), 100);
        let mut prev: Option<(Vec<u8>, f64)> = None;
        for (m, s) in z.iter() {
            if let Some((pm, ps)) = &prev {
                assert!(*ps < s || (*ps == s && &pm[..] < m));
            }
            prev = Some((m.to_vec(), s));
        }
    }

    #[test]
    fn warm_is_only_a_hint() {
        let mut r = rng(7);
        let mut z = ZSet::new();
        z.maybe_convert(1000, L);
        for i in 0..2000u64 {
            z.add(format!("m{i}").as_bytes(), (r() % 50) as f64, NONE, L);
        }
        let before: Vec<(Vec<u8>, f64)> = items(z.iter());
        let names: Vec<String> = (0..100).map(|i| format!("m{}", i * 37)).collect();
        let mut touches: Vec<(&[u8], Touch)> = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let t = match i % 4 {
                0 => Touch::Find,
                1 => Touch::Position,
                2 => Touch::Place(i as f64),
                _ => Touch::Place(f64::NEG_INFINITY),
            };
            touches.push((n.as_bytes(), t));
        }
        touches.push((b"absent", Touch::Place(1.0)));
        touches.push((b"absent", Touch::Position));
        // More places than one walk takes, and none at all.
        z.warm(&touches);
        z.warm(&[]);
        z.check();
        assert_eq!(items(z.iter()), before);
    }

    #[test]
    fn random_and_scan() {
        let mut r = rng(9);
        for n in [50usize, 500] {
            let mut z = ZSet::new();
            for i in 0..n {
                z.add(format!("m{i}").as_bytes(), i as f64, NONE, L);
            }
            let (m, s) = z.random_member(&mut r).unwrap();
            assert_eq!(z.score(m), Some(s));
            let all: Vec<_> = z.random_members(n, false, &mut r).collect();
            assert_eq!(all, z.iter().collect::<Vec<_>>());
            let some: BTreeSet<_> = z.random_members(n / 3, false, &mut r).map(|p| p.0.to_vec()).collect();
            assert_eq!(some.len(), n / 3);
            let reps: BTreeSet<_> = z.random_members(n * 10, true, &mut r).map(|p| p.0.to_vec()).collect();
            assert!(reps.len() > n * 9 / 10);

            let mut seen = BTreeSet::new();
            let mut cursor = 0;
            let mut step = 0;
            loop {
                cursor = z.scan(cursor, 5, |m, s| {
                    assert_eq!(z.score(m), Some(s));
                    seen.insert(m.to_vec());
                });
                step += 1;
                // Grow between calls.
                for j in 0..20 {
                    z.add(format!("n{step}_{j}").as_bytes(), 1.0, NONE, L);
                }
                if cursor == 0 {
                    break;
                }
            }
            for i in 0..n {
                assert!(seen.contains(format!("m{i}").as_bytes()));
            }
        }
    }

    // -----------------------------------------------------------------------
    // Against a real Redis 7.2.

    fn redis_pairs(flat: Vec<Vec<u8>>) -> Vec<(Vec<u8>, f64)> {
        flat.chunks(2).map(|p| (p[0].clone(), parse_score(&p[1]).expect("score"))).collect()
    }

    fn score_text(r: &mut dyn FnMut() -> u64) -> String {
        match r() % 10 {
            0 => "inf".into(),
            1 => "-inf".into(),
            2 => "1.5".into(),
            3 => "0.1".into(),
            _ => format!("{}", (r() % 7) as i64 - 3),
        }
    }

    fn bound_text(r: &mut dyn FnMut() -> u64) -> String {
        let b = match r() % 8 {
            0 => "-inf".to_string(),
            1 => "+inf".to_string(),
            2 => "inf".to_string(),
            _ => format!("{}", (r() % 9) as f64 / 2.0 - 2.0),
        };
        if r().is_multiple_of(3) {
            format!("({b}")
        } else {
            b
        }
    }

    fn lex_text(r: &mut dyn FnMut() -> u64) -> String {
        match r() % 8 {
            0 => "-".into(),
            1 => "+".into(),
            2 => "[".into(),
            k => format!("{}m{}", if k % 2 == 0 { "[" } else { "(" }, r() % 12),
        }
    }

    #[test]
    #[ignore = "needs SHARDIS_REDIS72=/path/to/redis-7.2/redis-server"]
    fn matches_redis_72() {
        use crate::types::hash::tests::Redis72;
        let mut srv = Redis72::start();
        let mut r = rng(303);
        for round in 0..700 {
            let limits = if round % 4 == 0 {
                ZsetLimits::default()
            } else {
                ZsetLimits { max_listpack_entries: 1 + (r() % 10) as usize, max_listpack_value: 2 + (r() % 6) as usize }
            };
            srv.config("zset-max-listpack-entries", limits.max_listpack_entries);
            srv.config("zset-max-listpack-value", limits.max_listpack_value);
            let _: () = srv.run(redis::cmd("DEL").arg("z")).unwrap();
            let mut z: Option<ZSet> = None;
            // Lex rounds keep every score 0, where lex order is meaningful.
            let lex = r().is_multiple_of(3);
            let member = |r: &mut dyn FnMut() -> u64| -> Vec<u8> {
                if r().is_multiple_of(30) {
                    vec![b'L'; 1 + (r() % 10) as usize]
                } else {
                    format!("m{}", r() % 12).into_bytes()
                }
            };
            for _ in 0..(5 + r() % 40) {
                match r() % 12 {
                    0..=4 => {
                        let (nx, xx, gt, lt) = match r() % 7 {
                            1 => (true, false, false, false),
                            2 => (false, true, false, false),
                            3 => (false, false, true, false),
                            4 => (false, false, false, true),
                            5 => (false, true, true, false),
                            6 => (false, true, false, true),
                            _ => (false, false, false, false),
                        };
                        let incr = r().is_multiple_of(5);
                        let ch = r().is_multiple_of(2);
                        let n = if incr {
                            1
                        } else if r().is_multiple_of(15) {
                            1 + (r() % 15) as usize
                        } else {
                            1 + (r() % 3) as usize
                        };
                        let pairs: Vec<(String, Vec<u8>)> = (0..n)
                            .map(|_| (if lex { "0".to_string() } else { score_text(&mut r) }, member(&mut r)))
                            .collect();
                        let mut cmd = redis::cmd("ZADD");
                        cmd.arg("z");
                        for (on, name) in [(nx, "NX"), (xx, "XX"), (gt, "GT"), (lt, "LT"), (ch, "CH"), (incr, "INCR")] {
                            if on {
                                cmd.arg(name);
                            }
                        }
                        for (sc, m) in &pairs {
                            cmd.arg(sc).arg(m);
                        }
                        let flags = AddFlags { nx, xx, gt, lt, incr };
                        // zaddGenericCommand on our side.
                        let mut results = Vec::new();
                        if z.is_none() && !xx {
                            z = Some(ZSet::create(n, pairs[0].1.len(), limits));
                        } else if let Some(zs) = z.as_mut() {
                            zs.maybe_convert(n, limits);
                        }
                        if let Some(zs) = z.as_mut() {
                            for (sc, m) in &pairs {
                                let res = zs.add(m, parse_score(sc.as_bytes()).unwrap(), flags, limits);
                                results.push(res);
                                if res == ZAdd::NaN {
                                    break;
                                }
                            }
                        }
                        if incr {
                            let want: redis::RedisResult<Option<Vec<u8>>> = srv.run(&cmd);
                            match results.first() {
                                Some(ZAdd::NaN) => assert!(want.is_err()),
                                Some(ZAdd::Added(s) | ZAdd::Unchanged(s) | ZAdd::Updated { new: s, .. }) => {
                                    assert_eq!(parse_score(&want.unwrap().unwrap()), Some(*s))
                                }
                                Some(ZAdd::Skipped) | None => assert_eq!(want.unwrap(), None),
                            }
                        } else {
                            let want: usize = srv.run(&cmd).unwrap();
                            let got = results
                                .iter()
                                .filter(|x| matches!(x, ZAdd::Added(_)) || (ch && matches!(x, ZAdd::Updated { .. })))
                                .count();
                            assert_eq!(got, want, "{pairs:?} {flags:?} {results:?}");
                        }
                    }
                    5 => {
                        let m = member(&mut r);
                        let by = if lex { "0".to_string() } else { score_text(&mut r) };
                        let want: redis::RedisResult<Vec<u8>> =
                            srv.run(redis::cmd("ZINCRBY").arg("z").arg(&by).arg(&m));
                        let zs = z.get_or_insert_with(|| ZSet::create(1, m.len(), limits));
                        match zs.incr_by(&m, parse_score(by.as_bytes()).unwrap(), limits) {
                            Ok(s) => assert_eq!(parse_score(&want.unwrap()), Some(s)),
                            Err(_) => assert!(want.is_err()),
                        }
                    }
                    6 | 7 => {
                        let ms: Vec<Vec<u8>> = (0..1 + r() % 3).map(|_| member(&mut r)).collect();
                        let want: usize = srv.run(redis::cmd("ZREM").arg("z").arg(&ms)).unwrap();
                        let got = z.as_mut().map_or(0, |zs| ms.iter().filter(|m| zs.remove(m)).count());
                        assert_eq!(got, want);
                    }
                    8 => {
                        let (a, b) = (bound_text(&mut r), bound_text(&mut r));
                        let want: usize = srv.run(redis::cmd("ZREMRANGEBYSCORE").arg("z").arg(&a).arg(&b)).unwrap();
                        let range = ScoreRange::parse(a.as_bytes(), b.as_bytes()).unwrap();
                        assert_eq!(z.as_mut().map_or(0, |zs| zs.remove_range_by_score(&range)), want);
                    }
                    9 => {
                        let (a, b) = ((r() % 10) as i64 - 5, (r() % 10) as i64 - 5);
                        let want: usize = srv.run(redis::cmd("ZREMRANGEBYRANK").arg("z").arg(a).arg(b)).unwrap();
                        let got = z.as_mut().map_or(0, |zs| match normalize_range(a, b, zs.len()) {
                            Some((s, e)) => zs.remove_range_by_rank(s, e),
                            None => 0,
                        });
                        assert_eq!(got, want);
                    }
                    10 if lex => {
                        let (a, b) = (lex_text(&mut r), lex_text(&mut r));
                        let want: usize = srv.run(redis::cmd("ZREMRANGEBYLEX").arg("z").arg(&a).arg(&b)).unwrap();
                        let range = LexRange::parse(a.as_bytes(), b.as_bytes()).unwrap();
                        assert_eq!(z.as_mut().map_or(0, |zs| zs.remove_range_by_lex(&range)), want);
                    }
                    _ => {
                        let max = r().is_multiple_of(2);
                        let count = (r() % 4) as usize;
                        let name = if max { "ZPOPMAX" } else { "ZPOPMIN" };
                        let want = redis_pairs(srv.run(redis::cmd(name).arg("z").arg(count)).unwrap());
                        assert_eq!(z.as_mut().map(|zs| zs.pop(max, count)).unwrap_or_default(), want);
                    }
                }
                if z.as_ref().is_some_and(|zs| zs.is_empty()) {
                    z = None;
                }
                assert_eq!(z.as_ref().map(|zs| zs.encoding().to_string()), srv.encoding("z"), "{limits:?}");
                let all = redis_pairs(srv.run(redis::cmd("ZRANGE").arg("z").arg(0).arg(-1).arg("WITHSCORES")).unwrap());
                let Some(zs) = z.as_ref() else {
                    assert!(all.is_empty());
                    continue;
                };
                assert_eq!(items(zs.iter()), all);
                // Queries.
                let (a, b) = (bound_text(&mut r), bound_text(&mut r));
                let range = ScoreRange::parse(a.as_bytes(), b.as_bytes()).unwrap();
                let want: usize = srv.run(redis::cmd("ZCOUNT").arg("z").arg(&a).arg(&b)).unwrap();
                assert_eq!(zs.count_by_score(&range), want);
                let (off, cnt) = ((r() % 4) as i64, (r() % 5) as i64 - 1);
                let limit = (cnt >= 0).then_some(cnt as usize);
                let want = redis_pairs(
                    srv.run(
                        redis::cmd("ZRANGEBYSCORE")
                            .arg("z")
                            .arg(&a)
                            .arg(&b)
                            .arg("WITHSCORES")
                            .arg("LIMIT")
                            .arg(off)
                            .arg(cnt),
                    )
                    .unwrap(),
                );
                assert_eq!(items(zs.range_by_score(&range, false, off as usize, limit)), want);
                let want = redis_pairs(
                    srv.run(
                        redis::cmd("ZREVRANGEBYSCORE")
                            .arg("z")
                            .arg(&b)
                            .arg(&a)
                            .arg("WITHSCORES")
                            .arg("LIMIT")
                            .arg(off)
                            .arg(cnt),
                    )
                    .unwrap(),
                );
                assert_eq!(items(zs.range_by_score(&range, true, off as usize, limit)), want);
                let (s, e) = ((r() % 10) as i64 - 5, (r() % 10) as i64 - 5);
                let want = redis_pairs(
                    srv.run(redis::cmd("ZRANGE").arg("z").arg(s).arg(e).arg("REV").arg("WITHSCORES")).unwrap(),
                );
                let got = match normalize_range(s, e, zs.len()) {
                    Some((s, e)) => items(zs.range_by_rank(s, e, true)),
                    None => vec![],
                };
                assert_eq!(got, want);
                let m = member(&mut r);
                let want: Option<usize> = srv.run(redis::cmd("ZREVRANK").arg("z").arg(&m)).unwrap();
                assert_eq!(zs.rank(&m, true).map(|x| x.0), want);
                if lex {
                    let (a, b) = (lex_text(&mut r), lex_text(&mut r));
                    let range = LexRange::parse(a.as_bytes(), b.as_bytes()).unwrap();
                    let want: usize = srv.run(redis::cmd("ZLEXCOUNT").arg("z").arg(&a).arg(&b)).unwrap();
                    assert_eq!(zs.count_by_lex(&range), want);
                    let want: Vec<Vec<u8>> = srv
                        .run(redis::cmd("ZREVRANGEBYLEX").arg("z").arg(&b).arg(&a).arg("LIMIT").arg(off).arg(cnt))
                        .unwrap();
                    let got: Vec<Vec<u8>> =
                        zs.range_by_lex(&range, true, off as usize, limit).map(|p| p.0.to_vec()).collect();
                    assert_eq!(got, want);
                }
            }
        }
    }

    /// The parsers against Redis's own: random strings as ZADD scores and as
    /// score and lex range bounds, same acceptance and same values.
    #[test]
    #[ignore = "needs SHARDIS_REDIS72=/path/to/redis-7.2/redis-server"]
    fn parsers_match_redis_72() {
        use crate::types::hash::tests::Redis72;
        let mut srv = Redis72::start();
        let mut r = rng(404);
        let alphabet = b"0123456789.eE+-xXpPaAbBfFiInNtTyY( [\t\x00";
        for _ in 0..20000 {
            let len = (r() % 8) as usize;
            let s: Vec<u8> = (0..len).map(|_| alphabet[(r() % alphabet.len() as u64) as usize]).collect();
            let _: () = srv.run(redis::cmd("DEL").arg("p")).unwrap();
            let want: redis::RedisResult<usize> = srv.run(redis::cmd("ZADD").arg("p").arg(&s).arg("m"));
            match parse_score(&s) {
                Some(v) => {
                    assert_eq!(want.unwrap(), 1, "{s:?}");
                    let got: Vec<u8> = srv.run(redis::cmd("ZSCORE").arg("p").arg("m")).unwrap();
                    assert_eq!(parse_score(&got), Some(v), "{s:?}");
                }
                None => assert!(want.is_err(), "{s:?} accepted by Redis"),
            }
            let _: usize = srv.run(redis::cmd("ZADD").arg("p").arg(1).arg("m")).unwrap();
            let want: redis::RedisResult<Vec<Vec<u8>>> = srv.run(redis::cmd("ZRANGEBYSCORE").arg("p").arg(&s).arg(&s));
            match ScoreRange::parse(&s, &s) {
                Ok(range) => assert_eq!(want.unwrap().len(), usize::from(range.contains(1.0)), "{s:?}"),
                Err(e) => {
                    assert_eq!(Some(e), want.unwrap_err().detail().map(|d| format!("ERR {d}")).as_deref(), "{s:?}")
                }
            }
            let want: redis::RedisResult<Vec<Vec<u8>>> = srv.run(redis::cmd("ZRANGEBYLEX").arg("p").arg(&s).arg("+"));
            match LexBound::parse(&s) {
                Ok(_) => assert!(want.is_ok(), "{s:?}"),
                Err(e) => assert_eq!(Some(e), want.unwrap_err().detail().map(|d| format!("ERR {d}")).as_deref()),
            }
        }
    }

    // -----------------------------------------------------------------------
    // Model test: a sorted Vec<(f64, Vec<u8>)>.

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, i8, AddFlags),
        Remove(u8),
        RemRank(i8, i8),
        RemScore(i8, i8, bool, bool),
        Pop(bool, u8),
        ToListpack,
    }

    fn member(k: u8) -> Vec<u8> {
        if k.is_multiple_of(13) {
            vec![b'L'; 3 + k as usize % 5]
        } else {
            format!("m{}", k % 40).into_bytes()
        }
    }

    fn score(s: i8) -> f64 {
        match s {
            i8::MIN => f64::NEG_INFINITY,
            i8::MAX => f64::INFINITY,
            _ => (s % 8) as f64 / 2.0,
        }
    }

    fn flags() -> impl Strategy<Value = AddFlags> {
        (0u8..6, any::<bool>(), any::<bool>()).prop_map(|(k, xx, incr)| AddFlags {
            nx: k == 1,
            gt: k == 2,
            lt: k == 3,
            xx: xx && k != 1,
            incr,
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (any::<u8>(), any::<i8>(), flags()).prop_map(|(m, s, f)| Op::Add(m, s, f)),
            3 => any::<u8>().prop_map(Op::Remove),
            1 => (-6i8..6, -6i8..6).prop_map(|(a, b)| Op::RemRank(a, b)),
            1 => (any::<i8>(), any::<i8>(), any::<bool>(), any::<bool>()).prop_map(|(a, b, x, y)| Op::RemScore(a, b, x, y)),
            1 => (any::<bool>(), 0u8..4).prop_map(|(m, c)| Op::Pop(m, c)),
            1 => Just(Op::ToListpack),
        ]
    }

    type Model = Vec<(f64, Vec<u8>)>;

    fn model_sort(m: &mut Model) {
        m.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1)));
    }

    fn model_add(m: &mut Model, member: &[u8], score: f64, f: AddFlags) -> ZAdd {
        match m.iter().position(|e| e.1 == member) {
            Some(i) => {
                let cur = m[i].0;
                if f.nx {
                    return ZAdd::Skipped;
                }
                let new = if f.incr { cur + score } else { score };
                if new.is_nan() {
                    return ZAdd::NaN;
                }
                if (f.lt && new >= cur) || (f.gt && new <= cur) {
                    return ZAdd::Skipped;
                }
                if new == cur {
                    return ZAdd::Unchanged(new);
                }
                m[i].0 = new;
                model_sort(m);
                ZAdd::Updated { old: cur, new }
            }
            None if f.xx => ZAdd::Skipped,
            None => {
                m.push((score, member.to_vec()));
                model_sort(m);
                ZAdd::Added(score)
            }
        }
    }

    fn check_queries(z: &ZSet, m: &Model, r: &mut impl FnMut() -> u64) -> Result<(), TestCaseError> {
        z.check();
        prop_assert_eq!(z.len(), m.len());
        let got: Model = z.iter().map(|(k, s)| (s, k.to_vec())).collect();
        prop_assert_eq!(&got, m);
        let rev: Model = z.range_by_rank(0, usize::MAX - 1, true).map(|(k, s)| (s, k.to_vec())).collect();
        let mut mr = m.clone();
        mr.reverse();
        prop_assert_eq!(&rev, &mr);
        for (i, (s, k)) in m.iter().enumerate() {
            prop_assert_eq!(z.rank(k, false), Some((i, *s)));
            prop_assert_eq!(z.rank(k, true), Some((m.len() - 1 - i, *s)));
            prop_assert_eq!(z.score(k), Some(*s));
        }
        // Random score ranges, both directions, with offsets and limits.
        for _ in 0..6 {
            let a = score((r() % 256) as u8 as i8);
            let b = score((r() % 256) as u8 as i8);
            let range = ScoreRange {
                min: a.min(b),
                max: a.max(b),
                min_ex: r().is_multiple_of(2),
                max_ex: r().is_multiple_of(2),
            };
            let want: Model = m.iter().filter(|e| range.contains(e.0)).cloned().collect();
            prop_assert_eq!(z.count_by_score(&range), want.len());
            let offset = (r() % 4) as usize;
            let limit = if r().is_multiple_of(2) { None } else { Some((r() % 4) as usize) };
            let take =
                |v: &Model| -> Model { v.iter().skip(offset).take(limit.unwrap_or(usize::MAX)).cloned().collect() };
            let fwd: Model = z.range_by_score(&range, false, offset, limit).map(|(k, s)| (s, k.to_vec())).collect();
            prop_assert_eq!(&fwd, &take(&want));
            let mut wr = want.clone();
            wr.reverse();
            let it = z.range_by_score(&range, true, offset, limit);
            prop_assert_eq!(it.len(), take(&wr).len());
            let bwd: Model = it.map(|(k, s)| (s, k.to_vec())).collect();
            prop_assert_eq!(&bwd, &take(&wr));
        }
        // Rank windows from arbitrary Redis indexes.
        for _ in 0..4 {
            let (a, b) = ((r() % 14) as i64 - 7, (r() % 14) as i64 - 7);
            let want: Model = match normalize_range(a, b, m.len()) {
                Some((s, e)) => m[s..=e].to_vec(),
                None => vec![],
            };
            let got: Model = match normalize_range(a, b, z.len()) {
                Some((s, e)) => z.range_by_rank(s, e, false).map(|(k, s)| (s, k.to_vec())).collect(),
                None => vec![],
            };
            prop_assert_eq!(got, want);
        }
        let mut seen = BTreeSet::new();
        let mut c = 0;
        loop {
            c = z.scan(c, 2, |k, _| {
                seen.insert(k.to_vec());
            });
            if c == 0 {
                break;
            }
        }
        prop_assert_eq!(seen, m.iter().map(|e| e.1.clone()).collect::<BTreeSet<_>>());
        Ok(())
    }

    proptest! {
        #[test]
        fn model(ops in proptest::collection::vec(op(), 1..120), entries in 1usize..10, value in 2usize..8, seed in any::<u64>()) {
            let lim = ZsetLimits { max_listpack_entries: entries, max_listpack_value: value };
            let mut r = rng(seed);
            let mut z = ZSet::new();
            let mut m: Model = Vec::new();
            let mut big = false;
            for op in ops {
                match op {
                    Op::Add(k, s, f) => {
                        let k = member(k);
                        let want = model_add(&mut m, &k, score(s), f);
                        if matches!(want, ZAdd::Added(_)) && (m.len() > entries || k.len() > value) {
                            big = true;
                        }
                        prop_assert_eq!(z.add(&k, score(s), f, lim), want);
                    }
                    Op::Remove(k) => {
                        let k = member(k);
                        let had = m.iter().position(|e| e.1 == k).map(|i| m.remove(i)).is_some();
                        prop_assert_eq!(z.remove(&k), had);
                    }
                    Op::RemRank(a, b) => {
                        if let Some((s, e)) = normalize_range(a as i64, b as i64, m.len()) {
                            m.drain(s..=e);
                            prop_assert_eq!(z.remove_range_by_rank(s, e), e - s + 1);
                        }
                    }
                    Op::RemScore(a, b, x, y) => {
                        let range = ScoreRange { min: score(a), max: score(b), min_ex: x, max_ex: y };
                        let before = m.len();
                        m.retain(|e| !range.contains(e.0));
                        prop_assert_eq!(z.remove_range_by_score(&range), before - m.len());
                    }
                    Op::Pop(max, c) => {
                        let n = (c as usize).min(m.len());
                        let want: Vec<(Vec<u8>, f64)> = if max {
                            m.drain(m.len() - n..).rev().map(|(s, k)| (k, s)).collect()
                        } else {
                            m.drain(..n).map(|(s, k)| (k, s)).collect()
                        };
                        prop_assert_eq!(z.pop(max, c as usize), want);
                    }
                    Op::ToListpack => {
                        z.convert_to_listpack_if_needed(lim);
                        if m.len() <= entries && m.iter().all(|e| e.1.len() <= value) {
                            big = false;
                        }
                    }
                }
                prop_assert_eq!(z.encoding(), if big { "skiplist" } else { "listpack" });
                check_queries(&z, &m, &mut r)?;
            }
        }

        /// Lex queries on sets whose scores are all equal.
        #[test]
        fn lex_model(members in proptest::collection::btree_set(proptest::collection::vec(b'a'..b'e', 0..4), 0..40),
                     bounds in proptest::collection::vec((0u8..4, proptest::collection::vec(b'a'..b'e', 0..3), 0u8..4, proptest::collection::vec(b'a'..b'e', 0..3)), 1..10),
                     entries in 1usize..50) {
            let lim = ZsetLimits { max_listpack_entries: entries, max_listpack_value: 64 };
            let mut z = ZSet::new();
            for k in &members {
                z.add(k, 0.0, NONE, lim);
            }
            let sorted: Vec<Vec<u8>> = members.iter().cloned().collect();
            let mk = |kind: u8, s: &Vec<u8>| match kind {
                0 => LexBound::NegInf,
                1 => LexBound::PosInf,
                2 => LexBound::Inclusive(s.clone()),
                _ => LexBound::Exclusive(s.clone()),
            };
            for (ka, a, kb, b) in bounds {
                let range = LexRange { min: mk(ka, &a), max: mk(kb, &b) };
                let want: Vec<Vec<u8>> = sorted.iter().filter(|k| range.contains(k)).cloned().collect();
                prop_assert_eq!(z.count_by_lex(&range), want.len());
                let got: Vec<Vec<u8>> = z.range_by_lex(&range, false, 0, None).map(|p| p.0.to_vec()).collect();
                prop_assert_eq!(&got, &want);
                let got: Vec<Vec<u8>> = z.range_by_lex(&range, true, 1, Some(2)).map(|p| p.0.to_vec()).collect();
                let wr: Vec<Vec<u8>> = want.iter().rev().skip(1).take(2).cloned().collect();
                prop_assert_eq!(got, wr);
                let mut z2 = z.clone();
                prop_assert_eq!(z2.remove_range_by_lex(&range), want.len());
                let rest: Vec<Vec<u8>> = z2.iter().map(|p| p.0.to_vec()).collect();
                prop_assert_eq!(rest, sorted.iter().filter(|k| !range.contains(k)).cloned().collect::<Vec<_>>());
                z2.check();
            }
        }
    }
}
