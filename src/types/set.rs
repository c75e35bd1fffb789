//! Redis sets, with Redis 7.2's three encodings (`t_set.c`):
//!
//! - `intset`: sorted integers (canonical `string2ll` forms only) in the
//!   narrowest of 16/32/64-bit, while every member is an integer and there
//!   are at most `set-max-intset-entries`;
//! - `listpack`: members in insertion order while there are at most
//!   `set-max-listpack-entries`, none longer than `set-max-listpack-value`;
//! - `hashtable`: anything else.
//!
//! Conversions follow `setTypeCreate`, `setTypeMaybeConvert` and
//! `setTypeAddAux`: a new set starts as an intset if its first member is an
//! integer and the size hint fits, else as a listpack if the hint fits, else
//! as a table. An intset that grows too big becomes a table; one that gets a
//! non-integer becomes a listpack if everything (including the integers'
//! lengths) fits a listpack, else a table. Sets never shrink back on their
//! own; only `SPOP` with a count (and the `*STORE` commands, via
//! [`Set::maybe_convert_to_intset`]) rebuild smaller encodings, as in Redis.

use super::dict::{self as table, Entry, Table, NIL};
use super::listpack::Listpack;
use crate::num::string2ll;
use std::ops::Deref;

/// Thresholds (`set-max-intset-entries`, `set-max-listpack-entries`,
/// `set-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetLimits {
    pub max_intset_entries: usize,
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for SetLimits {
    fn default() -> Self {
        SetLimits { max_intset_entries: 512, max_listpack_entries: 128, max_listpack_value: 64 }
    }
}

impl SetLimits {
    /// `intsetMaxEntries`: capped at 2^30 by intset internals.
    fn intset_max(&self) -> usize {
        self.max_intset_entries.min(1 << 30)
    }
}

/// Sorted integers in the narrowest width holding them all (Redis's intset
/// upgrades and never downgrades).
#[derive(Debug, Clone)]
enum Intset {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

macro_rules! each {
    ($s:expr, $v:ident => $e:expr) => {
        match $s {
            Intset::I16($v) => $e,
            Intset::I32($v) => $e,
            Intset::I64($v) => $e,
        }
    };
}

impl Intset {
    fn len(&self) -> usize {
        each!(self, v => v.len())
    }

    #[allow(clippy::useless_conversion)] // i64::from is the identity for the 64-bit arm
    fn get(&self, i: usize) -> i64 {
        each!(self, v => i64::from(v[i]))
    }

    /// `Ok(index)` if present, else `Err(insertion index)`.
    fn search(&self, x: i64) -> Result<usize, usize> {
        match self {
            Intset::I16(v) => match i16::try_from(x) {
                Ok(y) => v.binary_search(&y),
                Err(_) => Err(if x < 0 { 0 } else { v.len() }),
            },
            Intset::I32(v) => match i32::try_from(x) {
                Ok(y) => v.binary_search(&y),
                Err(_) => Err(if x < 0 { 0 } else { v.len() }),
            },
            Intset::I64(v) => v.binary_search(&x),
        }
    }

    fn contains(&self, x: i64) -> bool {
        self.search(x).is_ok()
    }

    #[allow(clippy::useless_conversion)]
    fn upgrade_for(&mut self, x: i64) {
        let need = if i16::try_from(x).is_ok() {
            0
        } else if i32::try_from(x).is_ok() {
            1
        } else {
            2
        };
        let have = match self {
            Intset::I16(_) => 0,
            Intset::I32(_) => 1,
            Intset::I64(_) => 2,
        };
        if need > have {
            let all: Vec<i64> = each!(&*self, v => v.iter().map(|&y| i64::from(y)).collect());
            *self = if need == 1 { Intset::I32(all.into_iter().map(|y| y as i32).collect()) } else { Intset::I64(all) };
        }
    }

    fn insert(&mut self, x: i64) -> bool {
        if self.contains(x) {
            return false;
        }
        self.upgrade_for(x);
        let at = self.search(x).unwrap_err();
        match self {
            Intset::I16(v) => v.insert(at, x as i16),
            Intset::I32(v) => v.insert(at, x as i32),
            Intset::I64(v) => v.insert(at, x),
        }
        true
    }

    #[allow(clippy::useless_conversion)]
    fn remove_at(&mut self, i: usize) -> i64 {
        each!(self, v => i64::from(v.remove(i)))
    }

    fn remove(&mut self, x: i64) -> bool {
        match self.search(x) {
            Ok(i) => {
                self.remove_at(i);
                true
            }
            Err(_) => false,
        }
    }
}

/// Decimal digits of `v`, with the sign (`sdigits10`).
fn sdigits10(v: i64) -> usize {
    itoa::Buffer::new().format(v).len()
}

#[derive(Debug, Clone)]
struct Elem {
    key: Box<[u8]>,
    hash: u32,
    next: u32,
}

impl Elem {
    fn new(key: &[u8]) -> Elem {
        Elem { key: key.into(), hash: table::hash_bytes(key), next: NIL }
    }
}

impl Entry for Elem {
    fn key(&self) -> &[u8] {
        &self.key
    }
    fn hash(&self) -> u32 {
        self.hash
    }
    fn next(&self) -> u32 {
        self.next
    }
    fn set_next(&mut self, n: u32) {
        self.next = n;
    }
}

#[derive(Debug, Clone)]
enum Repr {
    Intset(Intset),
    Listpack(Listpack),
    Table(Table<Elem>),
}

/// A Redis set.
#[derive(Debug, Clone)]
pub struct Set {
    repr: Repr,
}

/// A member as the set hands it out: borrowed bytes, or an intset integer
/// formatted on the stack. Derefs to the member's bytes.
#[derive(Clone, Copy)]
pub struct Member<'a>(MemberRepr<'a>);

#[derive(Clone, Copy)]
enum MemberRepr<'a> {
    Bytes(&'a [u8]),
    Int { buf: [u8; 20], len: u8 },
}

impl<'a> Member<'a> {
    fn bytes(b: &'a [u8]) -> Member<'a> {
        Member(MemberRepr::Bytes(b))
    }

    fn int(v: i64) -> Member<'static> {
        let mut buf = [0u8; 20];
        let mut f = itoa::Buffer::new();
        let s = f.format(v).as_bytes();
        buf[..s.len()].copy_from_slice(s);
        Member(MemberRepr::Int { buf, len: s.len() as u8 })
    }
}

impl Deref for Member<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            MemberRepr::Bytes(b) => b,
            MemberRepr::Int { buf, len } => &buf[..*len as usize],
        }
    }
}

impl std::fmt::Debug for Member<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl PartialEq for Member<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Member<'_> {}

impl Default for Set {
    fn default() -> Self {
        Set::new_intset()
    }
}

impl PartialEq for Set {
    /// Same members, whatever the encodings.
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(&m))
    }
}

impl Set {
    /// An empty intset (`createIntsetObject`; SUNIONSTORE/SDIFFSTORE start so).
    pub fn new_intset() -> Set {
        Set { repr: Repr::Intset(Intset::I16(Vec::new())) }
    }

    /// An empty listpack set (`createSetListpackObject`).
    pub fn new_listpack() -> Set {
        Set { repr: Repr::Listpack(Listpack::new()) }
    }

    /// `setTypeCreate`: the empty set a write starts a new key with, given
    /// its first member and how many members the command brings (SADD's
    /// argument count, 1 for SMOVE).
    pub fn create(first: &[u8], size_hint: usize, limits: SetLimits) -> Set {
        if string2ll(first).is_some() && size_hint <= limits.max_intset_entries {
            Set::new_intset()
        } else if size_hint <= limits.max_listpack_entries {
            Set::new_listpack()
        } else {
            Set { repr: Repr::Table(Table::with_capacity(size_hint)) }
        }
    }

    /// What `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Intset(_) => "intset",
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Intset(is) => is.len(),
            Repr::Listpack(lp) => lp.len(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts loading what looking up `members` will read (see
    /// `dict::Buckets::warm`); nothing for an intset or listpack.
    pub fn warm<'k>(&self, members: impl Iterator<Item = &'k [u8]>) {
        if let Repr::Table(t) = &self.repr {
            t.warm(members);
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Intset(is) => string2ll(m).is_some_and(|v| is.contains(v)),
            Repr::Listpack(lp) => lp.find(0, m, 0).is_some(),
            Repr::Table(t) => t.get(m).is_some(),
        }
    }

    fn convert_to_table(&mut self, capacity: usize) {
        let mut t = Table::with_capacity(capacity.max(self.len()));
        for m in self.iter() {
            t.insert_new(Elem::new(&m));
        }
        self.repr = Repr::Table(t);
    }

    fn convert_to_listpack(&mut self) {
        let mut lp = Listpack::new();
        for m in self.iter() {
            lp.push_back(&m);
        }
        self.repr = Repr::Listpack(lp);
    }

    /// `setTypeMaybeConvert`: before adding `size_hint` members, go straight
    /// to a table if they cannot all fit the current small encoding.
    pub fn maybe_convert(&mut self, size_hint: usize, limits: SetLimits) {
        let convert = match &self.repr {
            Repr::Listpack(_) => size_hint > limits.max_listpack_entries,
            Repr::Intset(_) => size_hint > limits.max_intset_entries,
            Repr::Table(_) => false,
        };
        if convert {
            self.convert_to_table(size_hint);
        }
    }

    /// `setTypeAdd`: adds `m`; returns whether it was new.
    pub fn add(&mut self, m: &[u8], limits: SetLimits) -> bool {
        match &mut self.repr {
            Repr::Table(t) => {
                if t.get(m).is_some() {
                    return false;
                }
                t.insert_new(Elem::new(m));
                true
            }
            Repr::Listpack(lp) => {
                if lp.find(0, m, 0).is_some() {
                    return false;
                }
                if lp.len() < limits.max_listpack_entries
                    && m.len() <= limits.max_listpack_value
                    && lp.safe_to_add(m.len())
                {
                    lp.push_back(m);
                } else {
                    let n = lp.len() + 1;
                    self.convert_to_table(n);
                    self.add(m, limits);
                }
                true
            }
            Repr::Intset(is) => {
                if let Some(v) = string2ll(m) {
                    if !is.insert(v) {
                        return false;
                    }
                    if is.len() > limits.intset_max() {
                        self.convert_to_table(0);
                    }
                    return true;
                }
                let n = is.len();
                let maxelelen = if n == 0 { 0 } else { sdigits10(is.get(0)).max(sdigits10(is.get(n - 1))) };
                if n < limits.max_listpack_entries
                    && m.len() <= limits.max_listpack_value
                    && maxelelen <= limits.max_listpack_value
                    && n * (maxelelen + 2) + m.len() <= super::listpack::MAX_SAFE_SIZE
                {
                    self.convert_to_listpack();
                } else {
                    self.convert_to_table(n + 1);
                }
                self.add(m, limits)
            }
        }
    }

    /// `SADD`: [`Set::maybe_convert`] for the argument count, then adds each;
    /// returns how many were new. For a new key, start from
    /// [`Set::create`]`(members[0], members.len(), limits)`.
    pub fn add_many<M: AsRef<[u8]>>(&mut self, members: &[M], limits: SetLimits) -> usize {
        self.maybe_convert(members.len(), limits);
        members.iter().filter(|m| self.add(m.as_ref(), limits)).count()
    }

    /// `SREM` of one member; returns whether it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Intset(is) => string2ll(m).is_some_and(|v| is.remove(v)),
            Repr::Listpack(lp) => match lp.find(0, m, 0) {
                Some(p) => {
                    lp.delete(p);
                    true
                }
                None => false,
            },
            Repr::Table(t) => t.remove(m).is_some(),
        }
    }

    /// All members: ascending for an intset, insertion order for a
    /// listpack, table order for a table.
    pub fn iter(&self) -> SetIter<'_> {
        SetIter(match &self.repr {
            Repr::Intset(is) => IterRepr::Intset(is, 0..is.len()),
            Repr::Listpack(lp) => IterRepr::Listpack(lp.iter()),
            Repr::Table(t) => IterRepr::Table(t.entries().iter()),
        })
    }

    /// The member at `i` in iteration order (O(1) except for listpacks).
    fn member_at(&self, i: usize) -> Member<'_> {
        match &self.repr {
            Repr::Intset(is) => Member::int(is.get(i)),
            Repr::Listpack(lp) => Member::bytes(lp.get(lp.seek(i as i64).expect("index in range"))),
            Repr::Table(t) => Member::bytes(&t.entry(i).key),
        }
    }

    /// A uniformly random member (`SRANDMEMBER` without count).
    pub fn random_member<R: FnMut() -> u64>(&self, rng: &mut R) -> Option<Member<'_>> {
        if self.is_empty() {
            return None;
        }
        Some(self.member_at(table::rand_below(rng, self.len())))
    }

    /// `SRANDMEMBER key count`: with `allow_repeats` (negative count),
    /// `count` independent picks; without, `min(count, len)` distinct members
    /// (the whole set in iteration order when `count >= len`). Lazy.
    pub fn random_members<'a, R: FnMut() -> u64>(
        &'a self,
        count: usize,
        allow_repeats: bool,
        rng: &'a mut R,
    ) -> impl Iterator<Item = Member<'a>> + 'a {
        let positions: Vec<usize> = match &self.repr {
            Repr::Listpack(lp) => {
                let mut v = Vec::with_capacity(lp.len());
                let mut p = lp.first();
                while let Some(q) = p {
                    v.push(q);
                    p = lp.next(q);
                }
                v
            }
            _ => Vec::new(),
        };
        table::sample(self.len(), count, allow_repeats, rng).map(move |i| match &self.repr {
            Repr::Listpack(lp) => Member::bytes(lp.get(positions[i])),
            _ => self.member_at(i),
        })
    }

    /// Removes the member at iteration index `i`, returning it.
    fn remove_at(&mut self, i: usize) -> Vec<u8> {
        match &mut self.repr {
            Repr::Intset(is) => itoa::Buffer::new().format(is.remove_at(i)).as_bytes().to_vec(),
            Repr::Listpack(lp) => {
                let p = lp.seek(i as i64).expect("index in range");
                let m = lp.get(p).to_vec();
                lp.delete(p);
                m
            }
            Repr::Table(t) => t.remove_at(i).key.into_vec(),
        }
    }

    /// `SPOP key`: removes and returns a uniformly random member.
    pub fn pop<R: FnMut() -> u64>(&mut self, rng: &mut R) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let i = table::rand_below(rng, self.len());
        Some(self.remove_at(i))
    }

    /// `SPOP key count`, with Redis 7.2's three cases: popping everything
    /// empties the set (the caller deletes the key); popping a few removes
    /// them in place; popping most (`remaining * 5 <= count`) rebuilds the
    /// set from the kept members, which may shrink its encoding (a table
    /// restarts as a listpack, an intset stays an intset) exactly as Redis.
    pub fn pop_many<R: FnMut() -> u64>(&mut self, count: usize, limits: SetLimits, rng: &mut R) -> Vec<Vec<u8>> {
        let size = self.len();
        if count == 0 {
            return Vec::new();
        }
        if count >= size {
            let all = self.iter().map(|m| m.to_vec()).collect();
            *self = Set::new_intset();
            return all;
        }
        let remaining = size - count;
        if remaining * 5 > count {
            // Case 2: pick `count` members and remove them.
            let mut idx: Vec<usize> = table::sample(size, count, false, rng).collect();
            let popped: Vec<Vec<u8>> = idx.iter().map(|&i| self.member_at(i).to_vec()).collect();
            match self.repr {
                Repr::Table(_) => {
                    for m in &popped {
                        self.remove(m);
                    }
                }
                _ => {
                    // Indices shift as we go: remove from the back.
                    idx.sort_unstable_by(|a, b| b.cmp(a));
                    for i in idx {
                        self.remove_at(i);
                    }
                }
            }
            popped
        } else {
            // Case 3: keep `remaining` random members in a new set.
            let keep: Vec<usize> = table::sample(size, remaining, false, rng).collect();
            let mut newset = match self.repr {
                Repr::Intset(_) => Set::new_intset(),
                _ => Set::new_listpack(),
            };
            let mut kept = vec![false; size];
            for &i in &keep {
                kept[i] = true;
                newset.add(&self.member_at(i), limits);
            }
            let popped = self.iter().enumerate().filter(|(i, _)| !kept[*i]).map(|(_, m)| m.to_vec()).collect();
            *self = newset;
            popped
        }
    }

    /// `SSCAN`: see [`super::hash::Hash::scan`]. Intsets and listpacks report
    /// everything at once and return 0.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        match &self.repr {
            Repr::Table(t) => t.scan(cursor, count, |e| f(&e.key)),
            _ => {
                for m in self.iter() {
                    f(&m);
                }
                0
            }
        }
    }

    /// `maybeConvertToIntset`: if every member is an integer and they fit
    /// an intset, become one (SINTERSTORE does this with its result).
    pub fn maybe_convert_to_intset(&mut self, limits: SetLimits) {
        if matches!(self.repr, Repr::Intset(_)) || self.len() > limits.intset_max() {
            return;
        }
        let mut is = Intset::I16(Vec::new());
        for m in self.iter() {
            match string2ll(&m) {
                Some(v) => {
                    is.insert(v);
                }
                None => return,
            }
        }
        self.repr = Repr::Intset(is);
    }

    /// Releases spare capacity (`lpShrinkToFit` after building a result).
    pub fn shrink_to_fit(&mut self) {
        if let Repr::Listpack(lp) = &mut self.repr {
            lp.shrink_to_fit();
        }
    }
}

/// Iterator over the members of a [`Set`].
pub struct SetIter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Intset(&'a Intset, std::ops::Range<usize>),
    Listpack(super::listpack::Iter<'a>),
    Table(std::slice::Iter<'a, Elem>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.0 {
            IterRepr::Intset(is, r) => r.next().map(|i| Member::int(is.get(i))),
            IterRepr::Listpack(it) => it.next().map(Member::bytes),
            IterRepr::Table(it) => it.next().map(|e| Member::bytes(&e.key)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            IterRepr::Intset(_, r) => r.len(),
            IterRepr::Listpack(it) => it.len(),
            IterRepr::Table(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for SetIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::hash::tests::rng;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const L: SetLimits = SetLimits { max_intset_entries: 512, max_listpack_entries: 128, max_listpack_value: 64 };

    fn sadd(s: &mut Option<Set>, ms: &[&[u8]], limits: SetLimits) -> usize {
        let set = s.get_or_insert_with(|| Set::create(ms[0], ms.len(), limits));
        set.add_many(ms, limits)
    }

    fn members(s: &Set) -> BTreeSet<Vec<u8>> {
        s.iter().map(|m| m.to_vec()).collect()
    }

    #[test]
    fn intset_basics_and_widths() {
        let mut s = Set::new_intset();
        for v in [5i64, -3, 300, 70000, -9223372036854775808, 9223372036854775807] {
            assert!(s.add(itoa::Buffer::new().format(v).as_bytes(), L));
        }
        assert!(!s.add(b"300", L));
        assert_eq!(s.encoding(), "intset");
        let got: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        let want: Vec<Vec<u8>> = ["-9223372036854775808", "-3", "5", "300", "70000", "9223372036854775807"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        assert_eq!(got, want);
        assert!(s.contains(b"70000"));
        assert!(!s.contains(b"070000"));
        assert!(!s.contains(b"abc"));
        assert!(s.remove(b"-3"));
        assert!(!s.remove(b"-3"));
        assert!(!s.remove(b"x"));
        assert_eq!(s.len(), 5);
        // Non-canonical integers are strings.
        assert!(s.add(b"01", L));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"70000") && s.contains(b"01") && !s.contains(b"1"));
    }

    #[test]
    fn create_rules() {
        assert_eq!(Set::create(b"1", 512, L).encoding(), "intset");
        assert_eq!(Set::create(b"1", 513, L).encoding(), "hashtable");
        assert_eq!(Set::create(b"a", 128, L).encoding(), "listpack");
        assert_eq!(Set::create(b"a", 129, L).encoding(), "hashtable");
        // SADD with many arguments converts even when they are duplicates.
        let mut s = None;
        let args: Vec<&[u8]> = vec![b"a"; 129];
        assert_eq!(sadd(&mut s, &args, L), 1);
        assert_eq!(s.unwrap().encoding(), "hashtable");
        let mut s = Some(Set::new_listpack());
        sadd(&mut s, &[b"a"], L);
        sadd(&mut s, &args, L);
        assert_eq!(s.unwrap().encoding(), "hashtable");
    }

    #[test]
    fn intset_thresholds() {
        let mut s = None;
        for i in 0..512 {
            sadd(&mut s, &[format!("{i}").as_bytes()], L);
        }
        assert_eq!(s.as_ref().unwrap().encoding(), "intset");
        sadd(&mut s, &[b"512"], L);
        // An intset that grows too big becomes a table, not a listpack.
        assert_eq!(s.as_ref().unwrap().encoding(), "hashtable");

        // A non-integer into a small intset: listpack.
        let mut s = None;
        for i in 0..127 {
            sadd(&mut s, &[format!("{i}").as_bytes()], L);
        }
        sadd(&mut s, &[b"x"], L);
        assert_eq!(s.as_ref().unwrap().encoding(), "listpack");
        assert_eq!(s.as_ref().unwrap().len(), 128);
        // ... unless the intset already holds 128 entries.
        let mut s = None;
        for i in 0..128 {
            sadd(&mut s, &[format!("{i}").as_bytes()], L);
        }
        sadd(&mut s, &[b"x"], L);
        assert_eq!(s.as_ref().unwrap().encoding(), "hashtable");
        // ... or the new member is too long.
        let mut s = None;
        sadd(&mut s, &[b"1"], L);
        sadd(&mut s, &[&[b'x'; 65]], L);
        assert_eq!(s.as_ref().unwrap().encoding(), "hashtable");
        // ... or an integer is longer than the value limit.
        let tiny = SetLimits { max_listpack_value: 3, ..L };
        let mut s = None;
        sadd(&mut s, &[b"1000"], tiny);
        sadd(&mut s, &[b"x"], tiny);
        assert_eq!(s.as_ref().unwrap().encoding(), "hashtable");
        let mut s = None;
        sadd(&mut s, &[b"-99"], tiny);
        sadd(&mut s, &[b"x"], tiny);
        assert_eq!(s.as_ref().unwrap().encoding(), "listpack");
    }

    #[test]
    fn listpack_thresholds() {
        let mut s = None;
        for i in 0..128 {
            sadd(&mut s, &[format!("m{i}").as_bytes()], L);
        }
        assert_eq!(s.as_ref().unwrap().encoding(), "listpack");
        sadd(&mut s, &[b"m5"], L);
        assert_eq!(s.as_ref().unwrap().encoding(), "listpack");
        sadd(&mut s, &[b"m128"], L);
        assert_eq!(s.as_ref().unwrap().encoding(), "hashtable");
        let mut s = None;
        sadd(&mut s, &[&[b'x'; 64]], L);
        assert_eq!(s.as_ref().unwrap().encoding(), "listpack");
        sadd(&mut s, &[&[b'y'; 65]], L);
        assert_eq!(s.as_ref().unwrap().encoding(), "hashtable");
    }

    #[test]
    fn spop_cases() {
        let mut r = rng(3);
        // Case 3 from a table: the rest is rebuilt as a listpack.
        let mut s = Set::new_listpack();
        for i in 0..1000 {
            s.add(format!("m{i}").as_bytes(), L);
        }
        assert_eq!(s.encoding(), "hashtable");
        let before = members(&s);
        let popped = s.pop_many(990, L, &mut r);
        assert_eq!(popped.len(), 990);
        assert_eq!(s.len(), 10);
        assert_eq!(s.encoding(), "listpack");
        let mut all: BTreeSet<Vec<u8>> = popped.into_iter().collect();
        assert_eq!(all.len(), 990);
        all.extend(members(&s));
        assert_eq!(all, before);
        // Case 3 from an intset stays an intset.
        let mut s = Set::new_intset();
        for i in 0..100 {
            s.add(format!("{i}").as_bytes(), L);
        }
        assert_eq!(s.pop_many(90, L, &mut r).len(), 90);
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.len(), 10);
        // Case 2 from a table leaves it a table.
        let mut s = Set::new_listpack();
        for i in 0..1000 {
            s.add(format!("m{i}").as_bytes(), L);
        }
        assert_eq!(s.pop_many(100, L, &mut r).len(), 100);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 900);
        // Case 1: everything.
        let n = s.len();
        assert_eq!(s.pop_many(n + 1, L, &mut r).len(), n);
        assert!(s.is_empty());
        // Single pops.
        let mut s = Set::new_intset();
        s.add(b"7", L);
        assert_eq!(s.pop(&mut r), Some(b"7".to_vec()));
        assert_eq!(s.pop(&mut r), None);
    }

    #[test]
    fn store_helpers() {
        let mut s = Set::new_listpack();
        for i in 0..200 {
            s.add(format!("{}", i * 3).as_bytes(), L);
        }
        assert_eq!(s.encoding(), "hashtable");
        s.maybe_convert_to_intset(L);
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.len(), 200);
        let mut s = Set::new_listpack();
        s.add(b"1", L);
        s.add(b"a", L);
        s.maybe_convert_to_intset(L);
        assert_eq!(s.encoding(), "listpack");
    }

    #[test]
    fn random_members() {
        let mut r = rng(11);
        for (kind, n) in [("intset", 50usize), ("listpack", 50), ("hashtable", 500)] {
            let mut s = if kind == "intset" { Set::new_intset() } else { Set::new_listpack() };
            for i in 0..n {
                let m = if kind == "intset" { format!("{i}") } else { format!("m{i}") };
                s.add(m.as_bytes(), L);
            }
            assert_eq!(s.encoding(), kind);
            assert!(s.contains(&s.random_member(&mut r).unwrap()));
            let all: Vec<_> = s.random_members(n, false, &mut r).map(|m| m.to_vec()).collect();
            assert_eq!(all, s.iter().map(|m| m.to_vec()).collect::<Vec<_>>());
            for count in [1, 2, n / 4, n - 1] {
                let got: BTreeSet<_> = s.random_members(count, false, &mut r).map(|m| m.to_vec()).collect();
                assert_eq!(got.len(), count);
                assert!(got.iter().all(|m| s.contains(m)));
            }
            let reps: Vec<_> = s.random_members(10 * n, true, &mut r).map(|m| m.to_vec()).collect();
            assert_eq!(reps.len(), 10 * n);
            assert!(reps.iter().all(|m| s.contains(m)));
            let distinct: BTreeSet<_> = reps.into_iter().collect();
            assert!(distinct.len() > n * 9 / 10);
        }
    }

    #[test]
    fn scan_guarantee_while_growing() {
        let mut s = Set::new_listpack();
        for i in 0..300 {
            s.add(format!("s{i}").as_bytes(), L);
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = s.scan(cursor, 5, |m| {
                seen.insert(m.to_vec());
            });
            step += 1;
            for j in 0..30 {
                s.add(format!("n{step}_{j}").as_bytes(), L);
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..300 {
            assert!(seen.contains(format!("s{i}").as_bytes()));
        }
    }

    #[test]
    #[ignore = "needs SHARDIS_REDIS72=/path/to/redis-7.2/redis-server"]
    fn matches_redis_72() {
        use crate::types::hash::tests::{value, Redis72};
        let mut srv = Redis72::start();
        let mut r = rng(202);
        let member = |r: &mut dyn FnMut() -> u64| -> Vec<u8> {
            match r() % 12 {
                0..=5 => format!("{}", (r() % 40) as i64 - 10).into_bytes(),
                6 => format!("{}", r() as i64).into_bytes(),
                7 => vec![b'x'; 1 + (r() % 30) as usize],
                _ => value(r, false),
            }
        };
        for round in 0..1000 {
            let limits = if round % 4 == 0 {
                SetLimits::default()
            } else {
                SetLimits {
                    max_intset_entries: 1 + (r() % 12) as usize,
                    max_listpack_entries: 1 + (r() % 12) as usize,
                    max_listpack_value: 1 + (r() % 25) as usize,
                }
            };
            srv.config("set-max-intset-entries", limits.max_intset_entries);
            srv.config("set-max-listpack-entries", limits.max_listpack_entries);
            srv.config("set-max-listpack-value", limits.max_listpack_value);
            let _: () = srv.run(redis::cmd("DEL").arg("s").arg("d")).unwrap();
            let (mut s, mut d): (Option<Set>, Option<Set>) = (None, None);
            // Mostly integers in some rounds, so intsets live a while.
            let ints_only = r().is_multiple_of(2);
            for _ in 0..(5 + r() % 40) {
                let pick = |r: &mut dyn FnMut() -> u64| {
                    if ints_only && !r().is_multiple_of(10) {
                        format!("{}", (r() % 40) as i64 - 10).into_bytes()
                    } else {
                        member(r)
                    }
                };
                match r() % 10 {
                    0..=5 => {
                        let n = if r().is_multiple_of(20) { 1 + (r() % 30) as usize } else { 1 + (r() % 4) as usize };
                        let ms: Vec<Vec<u8>> = (0..n).map(|_| pick(&mut r)).collect();
                        let want: usize = srv.run(redis::cmd("SADD").arg("s").arg(&ms)).unwrap();
                        let set = s.get_or_insert_with(|| Set::create(&ms[0], ms.len(), limits));
                        assert_eq!(set.add_many(&ms, limits), want);
                    }
                    6..=7 => {
                        let ms: Vec<Vec<u8>> = (0..1 + r() % 3).map(|_| pick(&mut r)).collect();
                        let want: usize = srv.run(redis::cmd("SREM").arg("s").arg(&ms)).unwrap();
                        let got = s.as_mut().map_or(0, |s| ms.iter().filter(|m| s.remove(m)).count());
                        assert_eq!(got, want);
                    }
                    _ => {
                        // SMOVE s d member (an existing one when possible).
                        let m = match &s {
                            Some(set) if !r().is_multiple_of(4) => set.random_member(&mut r).unwrap().to_vec(),
                            _ => pick(&mut r),
                        };
                        let want: bool = srv.run(redis::cmd("SMOVE").arg("s").arg("d").arg(&m)).unwrap();
                        let got = s.as_mut().is_some_and(|set| set.remove(&m));
                        if got {
                            d.get_or_insert_with(|| Set::create(&m, 1, limits)).add(&m, limits);
                        }
                        assert_eq!(got, want);
                    }
                }
                for (key, set) in [("s", &mut s), ("d", &mut d)] {
                    if set.as_ref().is_some_and(|x| x.is_empty()) {
                        *set = None;
                    }
                    assert_eq!(set.as_ref().map(|x| x.encoding().to_string()), srv.encoding(key), "{key} {limits:?}");
                    let want: BTreeSet<Vec<u8>> = srv.run(redis::cmd("SMEMBERS").arg(key)).unwrap();
                    assert_eq!(set.as_ref().map(members).unwrap_or_default(), want);
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(Vec<u16>),
        Rem(u16),
        Pop,
        PopMany(usize),
        ToIntset,
    }

    /// Members: mostly small integers, some strings, some long strings.
    fn member(k: u16) -> Vec<u8> {
        match k % 10 {
            0..=5 => format!("{}", k as i64 - 30).into_bytes(),
            6..=8 => format!("m{k}").into_bytes(),
            _ => vec![b'L'; 4 + (k as usize % 7)],
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => proptest::collection::vec(0u16..80, 1..6).prop_map(Op::Add),
            3 => (0u16..80).prop_map(Op::Rem),
            1 => Just(Op::Pop),
            1 => (0usize..12).prop_map(Op::PopMany),
            1 => Just(Op::ToIntset),
        ]
    }

    /// The encoding Redis would pick, tracked alongside the model.
    fn expect_after_add(enc: &str, m: &BTreeSet<Vec<u8>>, new: &[u8], lim: SetLimits) -> &'static str {
        match enc {
            "hashtable" => "hashtable",
            "listpack" => {
                if m.contains(new) || (m.len() < lim.max_listpack_entries && new.len() <= lim.max_listpack_value) {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            _ => {
                if m.contains(new) {
                    return "intset";
                }
                if string2ll(new).is_some() {
                    return if m.len() + 1 > lim.max_intset_entries { "hashtable" } else { "intset" };
                }
                let maxlen = m.iter().map(|x| x.len()).max().unwrap_or(0);
                if m.len() < lim.max_listpack_entries
                    && new.len() <= lim.max_listpack_value
                    && maxlen <= lim.max_listpack_value
                {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
        }
    }

    proptest! {
        #[test]
        fn model(ops in proptest::collection::vec(op(), 1..100), ie in 1usize..10, le in 1usize..8, lv in 2usize..10, seed in any::<u64>()) {
            let lim = SetLimits { max_intset_entries: ie, max_listpack_entries: le, max_listpack_value: lv };
            let mut r = rng(seed);
            let mut s: Option<Set> = None;
            let mut m: BTreeSet<Vec<u8>> = BTreeSet::new();
            let mut enc = "";
            for op in ops {
                match op {
                    Op::Add(ks) => {
                        let ms: Vec<Vec<u8>> = ks.iter().map(|&k| member(k)).collect();
                        let refs: Vec<&[u8]> = ms.iter().map(|v| &v[..]).collect();
                        if s.is_none() {
                            enc = if string2ll(&ms[0]).is_some() && ms.len() <= ie { "intset" }
                                else if ms.len() <= le { "listpack" } else { "hashtable" };
                        } else if (enc == "listpack" && ms.len() > le) || (enc == "intset" && ms.len() > ie) {
                            enc = "hashtable";
                        }
                        let mut added = 0;
                        for x in &ms {
                            enc = expect_after_add(enc, &m, x, lim);
                            if m.insert(x.clone()) { added += 1; }
                        }
                        prop_assert_eq!(sadd(&mut s, &refs, lim), added);
                    }
                    Op::Rem(k) => {
                        let x = member(k);
                        let was = m.remove(&x);
                        prop_assert_eq!(s.as_mut().is_some_and(|s| s.remove(&x)), was);
                    }
                    Op::Pop => {
                        if let Some(set) = s.as_mut() {
                            let p = set.pop(&mut r).unwrap();
                            prop_assert!(m.remove(&p));
                        }
                    }
                    Op::PopMany(c) => {
                        if let Some(set) = s.as_mut() {
                            let size = m.len();
                            let popped = set.pop_many(c, lim, &mut r);
                            prop_assert_eq!(popped.len(), c.min(size));
                            for p in popped { prop_assert!(m.remove(&p)); }
                            if c > 0 && c < size && (size - c) * 5 <= c {
                                // Rebuilt: a table restarts as a listpack.
                                if enc == "hashtable" {
                                    let mut e = "listpack";
                                    let mut sofar = BTreeSet::new();
                                    for x in set.iter() {
                                        e = expect_after_add(e, &sofar, &x, lim);
                                        sofar.insert(x.to_vec());
                                    }
                                    // Order of re-adding is random; only the
                                    // final size/length decides here.
                                    enc = e;
                                }
                            }
                        }
                    }
                    Op::ToIntset => {
                        if let Some(set) = s.as_mut() {
                            set.maybe_convert_to_intset(lim);
                            if m.len() <= ie && m.iter().all(|x| string2ll(x).is_some()) {
                                enc = "intset";
                            }
                        }
                    }
                }
                if m.is_empty() {
                    // Redis deletes the key.
                    s = None;
                    continue;
                }
                let set = s.as_ref().unwrap();
                prop_assert_eq!(set.encoding(), enc);
                prop_assert_eq!(set.len(), m.len());
                prop_assert_eq!(&members(set), &m);
                for k in 0..80 {
                    let x = member(k);
                    prop_assert_eq!(set.contains(&x), m.contains(&x));
                }
                let mut seen = BTreeSet::new();
                let mut c = 0;
                loop {
                    c = set.scan(c, 2, |x| { seen.insert(x.to_vec()); });
                    if c == 0 { break; }
                }
                prop_assert_eq!(&seen, &m);
            }
        }
    }
}
