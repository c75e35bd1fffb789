//! Redis hashes: a listpack of field/value pairs while small, a hash table
//! once a field or value outgrows `hash-max-listpack-value` or the hash
//! outgrows `hash-max-listpack-entries` (Redis 7.2 `t_hash.c`). A hash never
//! converts back.
//!
//! The big form is [`super::dict::Table`], our own chained hash table rather than
//! `std`'s: HSCAN/SSCAN/ZSCAN need Redis's cursor guarantee (every element
//! present for the whole scan is returned, even while the table grows or
//! shrinks), which needs elements to sit in the bucket `hash & mask` and a
//! reverse-binary cursor over the buckets; `std`'s table exposes neither.
//! Entries live densely in one `Vec`, so a uniformly random element is one
//! index away (HRANDFIELD/SRANDMEMBER/SPOP).

use super::dict::{self as table, Entry, Table, NIL};
use super::listpack::Listpack;

/// Thresholds for the listpack form (`hash-max-listpack-entries`,
/// `hash-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        // Redis's defaults (`hash-max-listpack-entries 512`, `…-value 64`).
        HashLimits { max_listpack_entries: 512, max_listpack_value: 64 }
    }
}

/// One field/value pair of the table form.
#[derive(Debug, Clone)]
struct Pair {
    key: Box<[u8]>,
    val: Box<[u8]>,
    hash: u32,
    next: u32,
}

impl Entry for Pair {
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

impl Pair {
    fn new(key: &[u8], val: &[u8]) -> Pair {
        Pair { key: key.into(), val: val.into(), hash: table::hash_bytes(key), next: NIL }
    }
}

#[derive(Debug, Clone)]
enum Repr {
    /// Alternating field, value entries in insertion order.
    Listpack(Listpack),
    Table(Table<Pair>),
}

/// A Redis hash.
#[derive(Debug, Clone)]
pub struct Hash {
    repr: Repr,
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

impl PartialEq for Hash {
    /// Same field/value pairs, whatever the encodings and orders.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Hash {
    /// An empty hash in listpack form (what `HSET` on a new key starts with).
    pub fn new() -> Hash {
        Hash { repr: Repr::Listpack(Listpack::new()) }
    }

    /// What `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len() / 2,
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts loading what looking up `fields` will read (see
    /// `dict::Buckets::warm`); nothing for a listpack, which is small.
    pub fn warm<'k>(&self, fields: impl Iterator<Item = &'k [u8]>) {
        if let Repr::Table(t) = &self.repr {
            t.warm(fields);
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(0, field, 1).map(|p| lp.get(lp.skip(p))),
            Repr::Table(t) => t.get(field).map(|p| &*p.val),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(0, field, 1).is_some(),
            Repr::Table(t) => t.get(field).is_some(),
        }
    }

    /// `HSTRLEN`: the length of the value, 0 when the field is missing.
    pub fn strlen(&self, field: &[u8]) -> usize {
        self.get(field).map_or(0, |v| v.len())
    }

    fn convert(&mut self, capacity: usize) {
        if let Repr::Listpack(lp) = &self.repr {
            let mut t = Table::with_capacity(capacity.max(lp.len() / 2));
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                t.insert_new(Pair::new(f, v));
            }
            self.repr = Repr::Table(t);
        }
    }

    /// `hashTypeTryConversion`: before a write of `args` (alternating fields
    /// and values), move to the table form if there are more pairs than the
    /// listpack may hold (duplicates counted, as Redis guesses), or any
    /// argument is longer than `max_listpack_value`.
    pub fn try_conversion<A: AsRef<[u8]>>(&mut self, args: &[A], limits: HashLimits) {
        let Repr::Listpack(lp) = &self.repr else { return };
        let new_fields = args.len() / 2;
        if new_fields > limits.max_listpack_entries {
            self.convert(new_fields);
            return;
        }
        let mut sum = 0;
        for a in args {
            let l = a.as_ref().len();
            if l > limits.max_listpack_value {
                self.convert(0);
                return;
            }
            sum += l;
        }
        if !lp.safe_to_add(sum) {
            self.convert(0);
        }
    }

    /// `hashTypeSet`: sets `field` to `value`; returns whether the field is
    /// new. Converts to the table form first if either is too long for the
    /// listpack, and after adding if the listpack holds too many pairs.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if matches!(self.repr, Repr::Listpack(_))
            && (field.len() > limits.max_listpack_value || value.len() > limits.max_listpack_value)
        {
            self.convert(0);
        }
        match &mut self.repr {
            Repr::Listpack(lp) => {
                if let Some(p) = lp.find(0, field, 1) {
                    let vp = lp.skip(p);
                    lp.replace(vp, value);
                    return false;
                }
                lp.push_back(field);
                lp.push_back(value);
                if lp.len() / 2 > limits.max_listpack_entries {
                    self.convert(0);
                }
                true
            }
            Repr::Table(t) => match t.get_mut(field) {
                Some(p) => {
                    p.val = value.into();
                    false
                }
                None => {
                    t.insert_new(Pair::new(field, value));
                    true
                }
            },
        }
    }

    /// `HSET`/`HMSET`: `args` alternates fields and values (an odd trailing
    /// field is ignored). Returns how many fields were new.
    pub fn set_many<A: AsRef<[u8]>>(&mut self, args: &[A], limits: HashLimits) -> usize {
        self.try_conversion(args, limits);
        let mut added = 0;
        for pair in args.chunks_exact(2) {
            if self.set(pair[0].as_ref(), pair[1].as_ref(), limits) {
                added += 1;
            }
        }
        added
    }

    /// `HSETNX`: sets only if the field is missing; returns whether it set.
    pub fn set_nx(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if self.contains(field) {
            return false;
        }
        self.try_conversion(&[field, value], limits);
        self.set(field, value, limits)
    }

    /// Deletes `field`; returns whether it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => match lp.find(0, field, 1) {
                Some(p) => {
                    lp.delete_run(p, 2);
                    true
                }
                None => false,
            },
            Repr::Table(t) => t.remove(field).is_some(),
        }
    }

    /// All pairs: insertion order in the listpack form, table order after.
    pub fn iter(&self) -> HashIter<'_> {
        match &self.repr {
            Repr::Listpack(lp) => HashIter(IterRepr::Listpack(lp.iter())),
            Repr::Table(t) => HashIter(IterRepr::Table(t.entries().iter())),
        }
    }

    /// The pair at `i` in iteration order (O(1) for the table form).
    fn pair_at(&self, i: usize) -> (&[u8], &[u8]) {
        match &self.repr {
            Repr::Listpack(lp) => {
                let p = lp.seek(2 * i as i64).expect("index in range");
                (lp.get(p), lp.get(lp.skip(p)))
            }
            Repr::Table(t) => {
                let e = t.entry(i);
                (&e.key, &e.val)
            }
        }
    }

    /// A uniformly random pair (`HRANDFIELD` without count).
    pub fn random_pair<R: FnMut() -> u64>(&self, rng: &mut R) -> Option<(&[u8], &[u8])> {
        if self.is_empty() {
            return None;
        }
        Some(self.pair_at(table::rand_below(rng, self.len())))
    }

    /// `HRANDFIELD key count`: with `allow_repeats` (negative count),
    /// `count` independent uniform picks; without, `min(count, len)`
    /// distinct pairs, the whole hash in iteration order when `count >= len`.
    /// Lazy, so a huge repeat count costs nothing until consumed.
    pub fn random_pairs<'a, R: FnMut() -> u64>(
        &'a self,
        count: usize,
        allow_repeats: bool,
        rng: &'a mut R,
    ) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let all: Vec<(&[u8], &[u8])> =
            if matches!(self.repr, Repr::Listpack(_)) { self.iter().collect() } else { Vec::new() };
        table::sample(self.len(), count, allow_repeats, rng)
            .map(move |i| if all.is_empty() { self.pair_at(i) } else { all[i] })
    }

    /// `HSCAN`: calls `f` for the pairs of one or more buckets from `cursor`
    /// and returns the next cursor (0 when done). Every pair present from the
    /// first call to the last is reported at least once, even if the table
    /// resizes in between; some may be reported twice. The listpack form
    /// reports everything and returns 0, as Redis does. `count` is the
    /// `COUNT` hint: stop after about that many pairs or `10 * count` buckets.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.repr {
            Repr::Listpack(_) => {
                for (k, v) in self.iter() {
                    f(k, v);
                }
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |e| f(&e.key, &e.val)),
        }
    }
}

/// Iterator over the (field, value) pairs of a [`Hash`].
pub struct HashIter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Listpack(super::listpack::Iter<'a>),
    Table(std::slice::Iter<'a, Pair>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Listpack(it) => Some((it.next()?, it.next()?)),
            IterRepr::Table(it) => it.next().map(|p| (&*p.key, &*p.val)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            IterRepr::Listpack(it) => it.len() / 2,
            IterRepr::Table(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for HashIter<'_> {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// Deterministic xorshift64* for tests.
    pub fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed | 1;
        move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545F4914F6CDD1D)
        }
    }

    const L: HashLimits = HashLimits { max_listpack_entries: 128, max_listpack_value: 64 };

    /// A Redis 7.2 `redis-server` to compare encodings and results with:
    /// the binary named by `SHARDIS_REDIS72` (the installed one may be
    /// older, and 7.0 encodes lists and sets differently). The comparisons
    /// are `#[ignore]`d tests:
    /// `SHARDIS_REDIS72=/path/to/redis-server cargo test --lib types:: -- --ignored`.
    pub struct Redis72 {
        child: std::process::Child,
        pub con: redis::Connection,
        _dir: tempfile::TempDir,
    }

    impl Redis72 {
        pub fn start() -> Redis72 {
            let bin = std::env::var("SHARDIS_REDIS72")
                .expect("set SHARDIS_REDIS72 to a Redis 7.2 redis-server binary to run this comparison");
            for _ in 0..5 {
                let dir = tempfile::tempdir().unwrap();
                let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                let mut child = std::process::Command::new(&bin)
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                    .args(["--enable-debug-command", "yes"])
                    .arg("--dir")
                    .arg(dir.path())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                for _ in 0..100 {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}/")) else { continue };
                    let Ok(mut con) = client.get_connection() else { continue };
                    if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                        let version: String = redis::cmd("INFO").arg("server").query(&mut con).unwrap();
                        assert!(version.contains("redis_version:7.2"), "SHARDIS_REDIS72 is not Redis 7.2");
                        return Redis72 { child, con, _dir: dir };
                    }
                }
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!("could not start {bin}");
        }

        pub fn config(&mut self, name: &str, value: impl ToString) {
            let _: () = redis::cmd("CONFIG").arg("SET").arg(name).arg(value.to_string()).query(&mut self.con).unwrap();
        }

        /// `OBJECT ENCODING key`, or None when the key does not exist.
        pub fn encoding(&mut self, key: &str) -> Option<String> {
            redis::cmd("OBJECT").arg("ENCODING").arg(key).query(&mut self.con).unwrap()
        }

        pub fn run<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
            cmd.query(&mut self.con)
        }
    }

    impl Drop for Redis72 {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// A value for differential tests: integers of every listpack width,
    /// non-canonical integers, strings around the 63/64 and 4095/4096 header
    /// boundaries, and some long ones.
    pub fn value<R: FnMut() -> u64 + ?Sized>(r: &mut R, long: bool) -> Vec<u8> {
        let k = r() % 20;
        match k {
            0 => format!("{}", (r() % 256) as i64 - 128).into_bytes(),
            1 => format!("{}", (r() % 20000) as i64 - 10000).into_bytes(),
            2 => format!("{}", (r() % (1 << 26)) as i64 - (1 << 25)).into_bytes(),
            3 => format!("{}", r() as i64).into_bytes(),
            4 => format!("0{}", r() % 100).into_bytes(),
            5..=9 => format!("v{}", r() % 50).into_bytes(),
            10..=12 => vec![b'a' + (r() % 3) as u8; 60 + (r() % 8) as usize],
            13..=16 if long => vec![b'L'; 100 + (r() % 900) as usize],
            17 if long => vec![b'H'; 4090 + (r() % 10) as usize],
            _ => format!("s{}", r() % 10).into_bytes(),
        }
    }

    #[test]
    #[ignore = "needs SHARDIS_REDIS72=/path/to/redis-7.2/redis-server"]
    fn matches_redis_72() {
        let mut srv = Redis72::start();
        let mut r = rng(101);
        // Short rounds: a hash never converts back, so restart often.
        for round in 0..800 {
            let limits = if round % 3 == 0 {
                HashLimits::default()
            } else {
                HashLimits {
                    max_listpack_entries: 1 + (r() % 10) as usize,
                    max_listpack_value: 2 + (r() % 70) as usize,
                }
            };
            srv.config("hash-max-listpack-entries", limits.max_listpack_entries);
            srv.config("hash-max-listpack-value", limits.max_listpack_value);
            let _: () = srv.run(redis::cmd("DEL").arg("h")).unwrap();
            let mut h: Option<Hash> = None;
            let field = |r: &mut dyn FnMut() -> u64| -> Vec<u8> {
                if r().is_multiple_of(40) {
                    vec![b'F'; 1 + (r() % 80) as usize]
                } else {
                    format!("f{}", r() % 30).into_bytes()
                }
            };
            for _ in 0..(5 + r() % 40) {
                match r() % 10 {
                    0..=4 => {
                        let n = if r().is_multiple_of(30) { 1 + (r() % 200) as usize } else { 1 + (r() % 4) as usize };
                        let mut args = Vec::new();
                        for _ in 0..n {
                            args.push(field(&mut r));
                            args.push(value(&mut r, false));
                        }
                        let want: usize = srv.run(redis::cmd("HSET").arg("h").arg(&args)).unwrap();
                        let got = h.get_or_insert_with(Hash::new).set_many(&args, limits);
                        assert_eq!(got, want);
                    }
                    5 => {
                        let (f, v) = (field(&mut r), value(&mut r, false));
                        let want: bool = srv.run(redis::cmd("HSETNX").arg("h").arg(&f).arg(&v)).unwrap();
                        assert_eq!(h.get_or_insert_with(Hash::new).set_nx(&f, &v, limits), want);
                    }
                    6 => {
                        // HINCRBY on a counter field: get + set, as the command will.
                        let f = format!("n{}", r() % 3).into_bytes();
                        let want: i64 = srv.run(redis::cmd("HINCRBY").arg("h").arg(&f).arg(7)).unwrap();
                        let hh = h.get_or_insert_with(Hash::new);
                        let cur = hh.get(&f).map_or(0, |v| crate::num::string2ll(v).unwrap());
                        hh.set(&f, itoa::Buffer::new().format(cur + 7).as_bytes(), limits);
                        assert_eq!(cur + 7, want);
                    }
                    _ => {
                        let fs: Vec<Vec<u8>> = (0..1 + r() % 3).map(|_| field(&mut r)).collect();
                        let want: usize = srv.run(redis::cmd("HDEL").arg("h").arg(&fs)).unwrap();
                        let got = h.as_mut().map_or(0, |h| fs.iter().filter(|f| h.remove(f)).count());
                        assert_eq!(got, want);
                    }
                }
                if h.as_ref().is_some_and(|h| h.is_empty()) {
                    h = None;
                }
                assert_eq!(h.as_ref().map(|h| h.encoding().to_string()), srv.encoding("h"), "{limits:?}");
                let all: Vec<Vec<u8>> = srv.run(redis::cmd("HGETALL").arg("h")).unwrap();
                let want: BTreeMap<Vec<u8>, Vec<u8>> = all.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
                assert_eq!(h.as_ref().map(pairs).unwrap_or_default(), want);
            }
        }
    }

    fn pairs(h: &Hash) -> BTreeMap<Vec<u8>, Vec<u8>> {
        h.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
    }

    #[test]
    fn entry_threshold() {
        let mut h = Hash::new();
        for i in 0..128 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", L));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.set(b"f5", b"w", L));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.set(b"f128", b"v", L));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 129);
        assert_eq!(h.get(b"f5"), Some(&b"w"[..]));
        // Never converts back.
        for i in 0..129 {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        assert!(h.is_empty());
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn warm_is_only_a_hint() {
        let mut h = Hash::new();
        h.warm([&b"f1"[..]].into_iter());
        for i in 0..5000 {
            h.set(format!("f{i}").as_bytes(), b"v", L);
        }
        assert_eq!(h.encoding(), "hashtable");
        // Fields deep in their chains, absent ones, more than one warm takes.
        let fields: Vec<String> = (0..100).map(|i| format!("f{}", i * 97)).chain(["absent".into()]).collect();
        h.warm(fields.iter().map(|f| f.as_bytes()));
        assert_eq!(h.len(), 5000);
        assert_eq!((h.get(b"f97"), h.get(b"absent")), (Some(&b"v"[..]), None));
    }

    #[test]
    fn value_threshold() {
        let mut h = Hash::new();
        h.set(b"f", &[b'x'; 64], L);
        h.set(&[b'k'; 64], b"v", L);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"g", &[b'x'; 65], L);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        h.set(&[b'k'; 65], b"v", L);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn hset_many_pairs_converts_even_with_duplicates() {
        // hashTypeTryConversion counts argument pairs, not distinct fields.
        let args: Vec<&[u8]> = std::iter::repeat_n([&b"a"[..], b"1"], 129).flatten().collect();
        let mut h = Hash::new();
        assert_eq!(h.set_many(&args, L), 1);
        assert_eq!(h.len(), 1);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        assert_eq!(h.set_many(&args[..256], L), 1);
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn long_value_in_hset_converts_even_if_field_exists() {
        let mut h = Hash::new();
        h.set(b"a", b"1", L);
        let long = [b'z'; 65];
        // HSETNX on an existing field does not convert.
        assert!(!h.set_nx(b"a", &long, L));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.set_nx(b"b", b"2", L));
        assert_eq!(h.get(b"b"), Some(&b"2"[..]));
        h.set_many(&[&b"a"[..], &long[..]], L);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.strlen(b"a"), 65);
        assert_eq!(h.strlen(b"nope"), 0);
    }

    #[test]
    fn random_pairs() {
        let mut r = rng(7);
        let mut h = Hash::new();
        assert!(h.random_pair(&mut r).is_none());
        assert_eq!(h.random_pairs(5, true, &mut r).count(), 0);
        for big in [false, true] {
            let n = if big { 300 } else { 20 };
            for i in 0..n {
                h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), L);
            }
            assert_eq!(h.encoding(), if big { "hashtable" } else { "listpack" });
            let all: Vec<_> = h.random_pairs(n + 5, false, &mut r).collect();
            assert_eq!(all.len(), n);
            assert_eq!(all, h.iter().collect::<Vec<_>>());
            for count in [1, 3, n / 2, n - 1] {
                let got: Vec<_> = h.random_pairs(count, false, &mut r).collect();
                assert_eq!(got.len(), count);
                let distinct: BTreeSet<_> = got.iter().map(|p| p.0).collect();
                assert_eq!(distinct.len(), count);
                for (k, v) in got {
                    assert_eq!(h.get(k), Some(v));
                }
            }
            let reps: Vec<_> = h.random_pairs(5 * n, true, &mut r).collect();
            assert_eq!(reps.len(), 5 * n);
            // With 5n picks of n, nearly every field shows up.
            let distinct: BTreeSet<_> = reps.iter().map(|p| p.0).collect();
            assert!(distinct.len() > n * 9 / 10);
        }
    }

    #[test]
    fn scan_listpack_returns_all_at_once() {
        let mut h = Hash::new();
        h.set(b"a", b"1", L);
        h.set(b"b", b"2", L);
        let mut got = Vec::new();
        assert_eq!(h.scan(12345, 1, |k, v| got.push((k.to_vec(), v.to_vec()))), 0);
        assert_eq!(got.len(), 2);
    }

    /// Scans while adding (and removing other) fields between calls: every
    /// field present throughout must be reported.
    #[test]
    fn scan_guarantee_while_growing_and_shrinking() {
        for (seed, shrink) in [(1u64, false), (2, false), (3, true), (4, true)] {
            let mut r = rng(seed);
            let mut h = Hash::new();
            for i in 0..200 {
                h.set(format!("stable{i}").as_bytes(), b"v", L);
            }
            for i in 0..2000 {
                h.set(format!("temp{i}").as_bytes(), b"v", L);
            }
            let mut seen = BTreeSet::new();
            let mut cursor = 0;
            let mut step = 0;
            loop {
                cursor = h.scan(cursor, 7, |k, _| {
                    seen.insert(k.to_vec());
                });
                step += 1;
                if shrink {
                    for _ in 0..40 {
                        let i = r() % 2000;
                        h.remove(format!("temp{i}").as_bytes());
                    }
                } else {
                    for j in 0..40 {
                        h.set(format!("new{step}_{j}").as_bytes(), b"v", L);
                    }
                }
                if cursor == 0 {
                    break;
                }
                assert!(step < 100_000);
            }
            for i in 0..200 {
                assert!(seen.contains(format!("stable{i}").as_bytes()), "seed {seed} missed stable{i}");
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, Vec<u8>),
        SetNx(u8, Vec<u8>),
        SetMany(Vec<(u8, Vec<u8>)>),
        Del(u8),
    }

    fn field(f: u8) -> Vec<u8> {
        if f.is_multiple_of(17) {
            vec![b'F'; 3 + f as usize / 10] // sometimes longer than tiny limits
        } else {
            format!("f{f}").into_bytes()
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        let val = proptest::collection::vec(b'a'..b'e', 0..8);
        prop_oneof![
            4 => (0u8..40, val.clone()).prop_map(|(f, v)| Op::Set(f, v)),
            1 => (0u8..40, val.clone()).prop_map(|(f, v)| Op::SetNx(f, v)),
            1 => proptest::collection::vec((0u8..40, val), 0..5).prop_map(Op::SetMany),
            3 => (0u8..40).prop_map(Op::Del),
        ]
    }

    proptest! {
        #[test]
        fn model(ops in proptest::collection::vec(op(), 1..120), entries in 1usize..12, value in 2usize..9) {
            let limits = HashLimits { max_listpack_entries: entries, max_listpack_value: value };
            let mut h = Hash::new();
            let mut m: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            // Redis's rule: once a hashtable, always a hashtable; the listpack
            // holds at most `entries` pairs, none longer than `value`.
            let mut big = false;
            for op in ops {
                match op {
                    Op::Set(f, v) => {
                        let f = field(f);
                        big |= f.len() > value || v.len() > value;
                        prop_assert_eq!(h.set(&f, &v, limits), m.insert(f, v).is_none());
                    }
                    Op::SetNx(f, v) => {
                        let f = field(f);
                        let new = !m.contains_key(&f);
                        if new {
                            big |= f.len() > value || v.len() > value;
                            m.insert(f.clone(), v.clone());
                        }
                        prop_assert_eq!(h.set_nx(&f, &v, limits), new);
                    }
                    Op::SetMany(ps) => {
                        let args: Vec<Vec<u8>> = ps.iter().flat_map(|(f, v)| [field(*f), v.clone()]).collect();
                        big |= ps.len() > entries || args.iter().any(|a| a.len() > value);
                        let mut added = 0;
                        for (f, v) in ps {
                            if m.insert(field(f), v).is_none() { added += 1; }
                        }
                        prop_assert_eq!(h.set_many(&args, limits), added);
                    }
                    Op::Del(f) => {
                        let f = field(f);
                        prop_assert_eq!(h.remove(&f), m.remove(&f).is_some());
                    }
                }
                big |= m.len() > entries;
                prop_assert_eq!(h.encoding(), if big { "hashtable" } else { "listpack" });
                prop_assert_eq!(h.len(), m.len());
                prop_assert_eq!(&pairs(&h), &m);
                for f in 0..40u8 {
                    let f = field(f);
                    prop_assert_eq!(h.get(&f), m.get(&f).map(|v| &v[..]));
                }
                // A full scan from 0 reports everything.
                let mut seen = BTreeMap::new();
                let mut c = 0;
                loop {
                    c = h.scan(c, 3, |k, v| { seen.insert(k.to_vec(), v.to_vec()); });
                    if c == 0 { break; }
                }
                prop_assert_eq!(&seen, &m);
            }
        }
    }
}
