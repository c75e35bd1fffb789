//! A listpack: a sequence of byte strings packed into one contiguous buffer,
//! walkable in both directions. It is the small form of every collection
//! (Redis's `listpack` encoding) and the node of a big list (a quicklist node).
//!
//! Entry layout: `<len: LEB128 varint> <bytes> <backlen>`, where `backlen`
//! is the size of `len + bytes` written as Redis's listpack backlen (7 bits a
//! byte, most significant first, the continuation bit on every byte but the
//! first), so the entry before a position can be found by reading backwards.
//! A 10-byte value costs 12 bytes. Unlike Redis, integers are kept as their
//! decimal text: callers get `&[u8]` back without formatting, and
//! [`redis_entry_size`] says what Redis's own encoding would take where that
//! matters (list node limits are in bytes).
//!
//! Positions are byte offsets of entries. A position equal to
//! [`Listpack::end`] is one past the last entry.

use crate::num::string2ll;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    buf: Buf,
    len: usize,
}

/// A listpack's bytes, with room kept before them as well as after, so that
/// entries added or removed at the head (LPUSH, LPOP on a list's first node)
/// move no other entry: a plain vector moves them all, on average half a
/// node (4 KB) per push, 5% of an LPUSH run.
#[derive(Clone, Default)]
struct Buf {
    v: Vec<u8>,
    /// Where the bytes start in `v`; `v[..start]` is free.
    start: usize,
}

/// Most room [`Buf::open`] makes at the front at once: enough that pushes
/// at the head rarely move the node, little enough that a small collection
/// that once gained a new first member does not double in size.
const FRONT_ROOM: usize = 512;

impl std::ops::Deref for Buf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.v[self.start..]
    }
}

impl std::ops::DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.v[self.start..]
    }
}

impl PartialEq for Buf {
    fn eq(&self, other: &Buf) -> bool {
        **self == **other
    }
}

impl Eq for Buf {}

impl Buf {
    fn with_capacity(n: usize) -> Buf {
        Buf { v: Vec::with_capacity(n), start: 0 }
    }

    /// Opens `size` bytes at `pos` (up to the end), for the caller to fill.
    fn open(&mut self, pos: usize, size: usize) -> &mut [u8] {
        let len = self.len();
        if pos == len {
            self.v.resize(self.v.len() + size, 0);
        } else if pos == 0 && size <= self.start {
            self.start -= size;
        } else if pos == 0 {
            // Room in front is made once for many pushes, by moving the
            // bytes once into a vector that has it.
            let room = len.clamp(size, FRONT_ROOM.max(size));
            let mut v = Vec::with_capacity(room + len);
            v.resize(room, 0);
            v.extend_from_slice(self);
            self.v = v;
            self.start = room - size;
        } else {
            let at = self.start + pos;
            self.v.splice(at..at, std::iter::repeat_n(0u8, size));
        }
        &mut self[pos..pos + size]
    }

    /// Removes the bytes of `range`.
    fn close(&mut self, range: std::ops::Range<usize>) {
        if range.start == 0 && range.end < self.len() {
            self.start += range.end;
        } else if range.start == 0 {
            self.v.clear();
            self.start = 0;
        } else {
            self.v.drain(self.start + range.start..self.start + range.end);
        }
    }

    fn split_off(&mut self, at: usize) -> Buf {
        Buf { v: self.v.split_off(self.start + at), start: 0 }
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.v.extend_from_slice(bytes);
    }

    fn shrink_to_fit(&mut self) {
        self.v.drain(..self.start);
        self.start = 0;
        self.v.shrink_to_fit();
    }
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|e| String::from_utf8_lossy(e).into_owned())).finish()
    }
}

/// Bytes of a varint holding `n`.
fn varint_len(mut n: usize) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

/// Bytes of Redis's backlen for an entry of `l` bytes (`lpEncodeBacklen`).
fn backlen_len(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2097151 {
        3
    } else if l < 268435455 {
        4
    } else {
        5
    }
}

/// Total bytes one entry holding `n` data bytes takes here.
pub fn entry_size(n: usize) -> usize {
    let l = varint_len(n) + n;
    l + backlen_len(l)
}

/// Bytes Redis 7.2's listpack spends on one entry holding `v`: integers in
/// `string2ll` form get the integer encodings, the rest a string header.
/// Lists use it to make node-size decisions exactly where Redis does.
pub fn redis_entry_size(v: &[u8]) -> usize {
    let enc = match string2ll(v) {
        Some(i) => match i {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8388608..=8388607 => 4,
            -2147483648..=2147483647 => 5,
            _ => 9,
        },
        None => {
            let n = v.len();
            if n < 64 {
                1 + n
            } else if n < 4096 {
                2 + n
            } else {
                5 + n
            }
        }
    };
    enc + backlen_len(enc)
}

/// `lpBytes` of an empty Redis listpack: 6 bytes of header and the end byte.
pub const REDIS_LP_OVERHEAD: usize = 7;

/// Redis refuses to grow a listpack past 1 GB (`LISTPACK_MAX_SAFETY_SIZE`).
pub const MAX_SAFE_SIZE: usize = 1 << 30;

impl Listpack {
    pub fn new() -> Listpack {
        Listpack { buf: Buf::default(), len: 0 }
    }

    /// An empty listpack to point at where there is none (an iterator over
    /// nothing).
    pub const EMPTY: &'static Listpack = &Listpack { buf: Buf { v: Vec::new(), start: 0 }, len: 0 };

    pub fn with_capacity(bytes: usize) -> Listpack {
        Listpack { buf: Buf::with_capacity(bytes), len: 0 }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes used by the entries.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Whether adding `add` more bytes keeps it under Redis's safety size.
    pub fn safe_to_add(&self, add: usize) -> bool {
        self.buf.len() + add <= MAX_SAFE_SIZE
    }

    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// The position one past the last entry.
    pub fn end(&self) -> usize {
        self.buf.len()
    }

    pub fn first(&self) -> Option<usize> {
        if self.len == 0 {
            None
        } else {
            Some(0)
        }
    }

    pub fn last(&self) -> Option<usize> {
        if self.len == 0 {
            None
        } else {
            Some(self.start_before(self.buf.len()))
        }
    }

    /// Decodes the entry at `pos`: (data start, data length, end of entry).
    #[inline]
    fn decode(&self, pos: usize) -> (usize, usize, usize) {
        let b = &self.buf;
        // Entries under 128 bytes (most) have a one-byte length.
        if b[pos] < 0x80 {
            let n = b[pos] as usize;
            return (pos + 1, n, pos + 1 + n + backlen_len(1 + n));
        }
        let mut n = 0usize;
        let mut shift = 0;
        let mut p = pos;
        loop {
            let c = b[p];
            p += 1;
            n |= ((c & 0x7f) as usize) << shift;
            if c & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let l = p - pos + n;
        (p, n, pos + l + backlen_len(l))
    }

    /// The start of the entry that ends at `end`.
    #[inline]
    fn start_before(&self, end: usize) -> usize {
        let b = &self.buf;
        let mut p = end - 1;
        let mut l = 0usize;
        let mut shift = 0;
        loop {
            let c = b[p];
            l |= ((c & 0x7f) as usize) << shift;
            if c & 0x80 == 0 {
                break;
            }
            shift += 7;
            p -= 1;
        }
        p - l
    }

    /// The entry at `pos`.
    #[inline]
    pub fn get(&self, pos: usize) -> &[u8] {
        self.entry(pos).0
    }

    /// The entry at `pos` and the position after it (may be
    /// [`Listpack::end`]): a walk decodes each entry once.
    #[inline]
    pub fn entry(&self, pos: usize) -> (&[u8], usize) {
        let (s, n, after) = self.decode(pos);
        (&self.buf[s..s + n], after)
    }

    /// The position after the entry at `pos` (may be [`Listpack::end`]).
    #[inline]
    pub fn skip(&self, pos: usize) -> usize {
        self.decode(pos).2
    }

    /// The entry after the one at `pos`.
    pub fn next(&self, pos: usize) -> Option<usize> {
        let e = self.skip(pos);
        if e == self.buf.len() {
            None
        } else {
            Some(e)
        }
    }

    /// The entry before the one at `pos` (`pos` may be [`Listpack::end`]).
    pub fn prev(&self, pos: usize) -> Option<usize> {
        if pos == 0 {
            None
        } else {
            Some(self.start_before(pos))
        }
    }

    /// The position of entry `index`; negative counts from the tail (-1 is
    /// the last). Walks from whichever end is nearer, as `lpSeek`.
    pub fn seek(&self, index: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if index < 0 { len + index } else { index };
        if i < 0 || i >= len {
            return None;
        }
        if i < len / 2 {
            let mut p = 0;
            for _ in 0..i {
                p = self.skip(p);
            }
            Some(p)
        } else {
            let mut p = self.buf.len();
            for _ in 0..(len - i) {
                p = self.start_before(p);
            }
            Some(p)
        }
    }

    fn write_entry(out: &mut [u8], v: &[u8]) {
        let mut n = v.len();
        let mut i = 0;
        while n >= 0x80 {
            out[i] = (n as u8 & 0x7f) | 0x80;
            n >>= 7;
            i += 1;
        }
        out[i] = n as u8;
        i += 1;
        out[i..i + v.len()].copy_from_slice(v);
        i += v.len();
        let l = i;
        let bl = backlen_len(l);
        // Most significant group first; every byte after the first carries
        // the continuation bit (read backwards, it means "more before me").
        for k in 0..bl {
            let shift = 7 * (bl - 1 - k);
            let mut c = ((l >> shift) & 0x7f) as u8;
            if k > 0 {
                c |= 0x80;
            }
            out[i + k] = c;
        }
    }

    /// Inserts `v` as a new entry at byte position `pos` (an entry start or
    /// [`Listpack::end`]); the entry that was there follows it.
    pub fn insert(&mut self, pos: usize, v: &[u8]) {
        Self::write_entry(self.buf.open(pos, entry_size(v.len())), v);
        self.len += 1;
    }

    pub fn push_back(&mut self, v: &[u8]) {
        self.insert(self.buf.len(), v);
    }

    pub fn push_front(&mut self, v: &[u8]) {
        self.insert(0, v);
    }

    /// Removes the entry at `pos`. The entry that followed it (if any) is now
    /// at `pos`.
    pub fn delete(&mut self, pos: usize) {
        let e = self.skip(pos);
        self.buf.close(pos..e);
        self.len -= 1;
    }

    /// Removes `count` entries starting at `pos` (stops at the end).
    pub fn delete_run(&mut self, pos: usize, count: usize) -> usize {
        let mut e = pos;
        let mut n = 0;
        while n < count && e < self.buf.len() {
            e = self.skip(e);
            n += 1;
        }
        self.buf.close(pos..e);
        self.len -= n;
        n
    }

    /// Replaces the entry at `pos` with `v`.
    pub fn replace(&mut self, pos: usize, v: &[u8]) {
        let e = self.skip(pos);
        let size = entry_size(v.len());
        let old = e - pos;
        if size > old {
            self.buf.open(e, size - old);
        } else if size < old {
            self.buf.close(pos + size..e);
        }
        Self::write_entry(&mut self.buf[pos..pos + size], v);
    }

    /// Moves the entries from `pos` on into a new listpack.
    pub fn split_off(&mut self, pos: usize) -> Listpack {
        let mut n = 0;
        let mut p = pos;
        while p < self.buf.len() {
            p = self.skip(p);
            n += 1;
        }
        let tail = self.buf.split_off(pos);
        self.len -= n;
        Listpack { buf: tail, len: n }
    }

    /// Appends all entries of `other`.
    pub fn append(&mut self, other: &Listpack) {
        self.buf.extend_from_slice(&other.buf);
        self.len += other.len;
    }

    /// Finds the first entry equal to `v` starting at `pos`, looking only at
    /// every `skip + 1`-th entry (`skip = 1` finds hash fields, not values).
    pub fn find(&self, mut pos: usize, v: &[u8], skip: usize) -> Option<usize> {
        while pos < self.buf.len() {
            let (s, n, mut e) = self.decode(pos);
            if n == v.len() && &self.buf[s..s + n] == v {
                return Some(pos);
            }
            for _ in 0..skip {
                if e >= self.buf.len() {
                    break;
                }
                e = self.skip(e);
            }
            pos = e;
        }
        None
    }

    /// Forward and backward iterator over all entries.
    pub fn iter(&self) -> Iter<'_> {
        Iter { lp: self, front: 0, back: self.buf.len(), left: self.len }
    }
}

/// Iterator over listpack entries, from either end.
#[derive(Clone)]
pub struct Iter<'a> {
    lp: &'a Listpack,
    front: usize,
    back: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let (s, n, e) = self.lp.decode(self.front);
        self.front = e;
        self.left -= 1;
        Some(&self.lp.buf[s..s + n])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let p = self.lp.start_before(self.back);
        self.back = p;
        self.left -= 1;
        Some(self.lp.get(p))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entries(lp: &Listpack) -> Vec<Vec<u8>> {
        lp.iter().map(|e| e.to_vec()).collect()
    }

    #[test]
    fn entry_sizes() {
        assert_eq!(entry_size(0), 2);
        assert_eq!(entry_size(10), 12);
        assert_eq!(entry_size(126), 128);
        assert_eq!(entry_size(127), 130); // 1-byte varint, 2-byte backlen
        assert_eq!(entry_size(128), 132); // 2-byte varint, 2-byte backlen
        assert_eq!(entry_size(1000), 1000 + 2 + 2);
        assert_eq!(entry_size(20000), 20000 + 3 + 3);
    }

    #[test]
    fn redis_sizes() {
        // From Redis's listpack encodings: 7-bit uint, 13-bit int, ...
        assert_eq!(redis_entry_size(b"0"), 2);
        assert_eq!(redis_entry_size(b"127"), 2);
        assert_eq!(redis_entry_size(b"128"), 3);
        assert_eq!(redis_entry_size(b"-4096"), 3);
        assert_eq!(redis_entry_size(b"4096"), 4);
        assert_eq!(redis_entry_size(b"-32769"), 5);
        assert_eq!(redis_entry_size(b"8388608"), 6);
        assert_eq!(redis_entry_size(b"2147483648"), 10);
        assert_eq!(redis_entry_size(b"01"), 4); // not canonical: a string
        assert_eq!(redis_entry_size(b""), 2);
        assert_eq!(redis_entry_size(&[b'a'; 63]), 65);
        assert_eq!(redis_entry_size(&[b'a'; 64]), 66 + 1); // 66 > 127? no: 66 bytes, 1-byte backlen
        assert_eq!(redis_entry_size(&[b'a'; 126]), 128 + 2);
        assert_eq!(redis_entry_size(&[b'a'; 4096]), 4101 + 2);
    }

    #[test]
    fn seek_and_walk() {
        let mut lp = Listpack::new();
        for i in 0..10 {
            lp.push_back(format!("v{i}").as_bytes());
        }
        lp.push_front(&[b'x'; 300]);
        assert_eq!(lp.len(), 11);
        assert_eq!(lp.get(lp.seek(0).unwrap()), &[b'x'; 300][..]);
        assert_eq!(lp.get(lp.seek(-1).unwrap()), b"v9");
        assert_eq!(lp.get(lp.seek(5).unwrap()), b"v4");
        assert_eq!(lp.get(lp.seek(-3).unwrap()), b"v7");
        assert!(lp.seek(11).is_none());
        assert!(lp.seek(-12).is_none());
        let rev: Vec<_> = lp.iter().rev().map(|e| e.to_vec()).collect();
        let mut fwd = entries(&lp);
        fwd.reverse();
        assert_eq!(rev, fwd);
        assert_eq!(lp.find(0, b"v3", 0), lp.seek(4));
        assert_eq!(lp.find(0, b"v2", 1), None); // v2 is at an odd index
        assert_eq!(lp.find(0, b"v3", 1), lp.seek(4));
    }

    proptest! {
        #[test]
        fn matches_vec(ops in proptest::collection::vec((0u8..8, 0usize..40, proptest::collection::vec(any::<u8>(), 0..300)), 0..60)) {
            let mut lp = Listpack::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (op, i, v) in ops {
                match op {
                    0 => { lp.push_back(&v); model.push(v); }
                    1 => { lp.push_front(&v); model.insert(0, v); }
                    2 if !model.is_empty() => {
                        let i = i % model.len();
                        let p = lp.seek(i as i64).unwrap();
                        lp.delete(p);
                        model.remove(i);
                    }
                    3 if !model.is_empty() => {
                        let i = i % model.len();
                        let p = lp.seek(i as i64).unwrap();
                        lp.replace(p, &v);
                        model[i] = v;
                    }
                    4 => {
                        let i = i % (model.len() + 1);
                        let p = lp.seek(i as i64).unwrap_or(lp.end());
                        lp.insert(p, &v);
                        model.insert(i, v);
                    }
                    5 if !model.is_empty() => {
                        let i = i % model.len();
                        let p = lp.seek(i as i64).unwrap();
                        let mut tail = lp.split_off(p);
                        let mtail = model.split_off(i);
                        prop_assert_eq!(entries(&tail), mtail.clone());
                        lp.append(&tail);
                        tail.delete_run(0, 2);
                        model.extend(mtail);
                    }
                    // Pops at the head, as LPOP with a count.
                    6 => {
                        let n = lp.delete_run(0, i % 4);
                        prop_assert_eq!(n, (i % 4).min(model.len()));
                        model.drain(..n);
                    }
                    // Equal whatever room either keeps around its bytes.
                    7 => {
                        let mut fresh = Listpack::new();
                        model.iter().for_each(|v| fresh.push_back(v));
                        prop_assert_eq!(&fresh, &lp);
                        lp.shrink_to_fit();
                        prop_assert_eq!(&fresh, &lp);
                    }
                    _ => {}
                }
                prop_assert_eq!(lp.len(), model.len());
                prop_assert_eq!(entries(&lp), model.clone());
                let back: Vec<Vec<u8>> = lp.iter().rev().map(|e| e.to_vec()).collect();
                let mut mr = model.clone();
                mr.reverse();
                prop_assert_eq!(back, mr);
            }
        }
    }
}
