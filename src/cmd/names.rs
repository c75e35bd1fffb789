//! Command names to their entries, case-insensitively.
//!
//! Every request starts with this lookup, so it is built for that: an
//! open-addressed table whose hash reads the length and four bytes with
//! their case folded, probed with the raw name, and confirmed by comparing
//! it with the name in lower case, then upper case (what clients send),
//! then byte by byte ignoring case: no lowered copy of the name and no
//! keyed hasher (the names are ours, not the client's: nothing to flood).

/// A fixed set of names, each with its value.
pub struct NameTable<T> {
    /// 1 + an index into `entries`; 0 is an empty slot.
    slots: Box<[u16]>,
    entries: Vec<Entry<T>>,
    mask: usize,
    /// No name is longer: longer requests miss without hashing.
    longest: usize,
}

struct Entry<T> {
    lower: &'static [u8],
    upper: Box<[u8]>,
    value: T,
}

impl<T> Entry<T> {
    #[inline]
    fn is(&self, name: &[u8]) -> bool {
        self.lower.len() == name.len()
            && (self.lower == name || *self.upper == *name || self.lower.eq_ignore_ascii_case(name))
    }
}

impl<T> NameTable<T> {
    /// `entries` must have distinct names (ignoring case).
    pub fn new(entries: Vec<(&'static str, T)>) -> NameTable<T> {
        assert!(entries.len() < u16::MAX as usize, "too many names");
        debug_assert!(entries.iter().all(|(n, _)| n.bytes().all(|b| !b.is_ascii_uppercase())));
        debug_assert_eq!(
            entries.iter().map(|(n, _)| *n).collect::<std::collections::HashSet<_>>().len(),
            entries.len(),
            "duplicate names"
        );
        // At most a quarter full: a miss or a hit ends within a probe or two.
        let capacity = (entries.len() * 4).next_power_of_two().max(8);
        let mask = capacity - 1;
        let mut slots = vec![0u16; capacity].into_boxed_slice();
        for (i, (name, _)) in entries.iter().enumerate() {
            let mut at = fold(name.as_bytes()) as usize & mask;
            while slots[at] != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = i as u16 + 1;
        }
        let longest = entries.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        let entries = entries
            .into_iter()
            .map(|(name, value)| Entry {
                lower: name.as_bytes(),
                upper: name.to_ascii_uppercase().into_bytes().into(),
                value,
            })
            .collect();
        NameTable { slots, entries, mask, longest }
    }

    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<&T> {
        if name.len() > self.longest {
            return None;
        }
        let mut at = fold(name) as usize & self.mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let entry = &self.entries[slot as usize - 1];
            if entry.is(name) {
                return Some(&entry.value);
            }
            at = (at + 1) & self.mask;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The length and the first two and last two bytes, each with bit 5 set,
/// which is what lowering does to ASCII letters (`GET`, `get` and `GeT`
/// hash alike; some non-letters collide with others too, and the
/// comparison tells them apart), multiplied to spread them over the bits.
#[inline]
fn fold(name: &[u8]) -> u32 {
    let Some(last) = name.len().checked_sub(1) else { return 0 };
    let at = |i: usize| u32::from(name[i.min(last)] | 0x20);
    let x = (name.len() as u32) ^ (at(0) << 8) ^ (at(1) << 16) ^ (at(last) << 24) ^ (at(last.saturating_sub(1)) << 4);
    let h = x.wrapping_mul(0x9e37_79b1);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> NameTable<u32> {
        NameTable::new(vec![("get", 1), ("set", 2), ("getrange", 3), ("client|list", 4), ("[", 5)])
    }

    #[test]
    fn finds_names_in_any_case() {
        let t = table();
        assert_eq!(t.get(b"get"), Some(&1));
        assert_eq!(t.get(b"GET"), Some(&1));
        assert_eq!(t.get(b"gEt"), Some(&1));
        assert_eq!(t.get(b"SET"), Some(&2));
        assert_eq!(t.get(b"GetRange"), Some(&3));
        assert_eq!(t.get(b"CLIENT|LIST"), Some(&4));
        assert_eq!(t.get(b"["), Some(&5));
    }

    #[test]
    fn misses_what_only_hashes_alike() {
        let t = table();
        // `{` is `[` with bit 5 set: the same hash, not the same name.
        assert_eq!(t.get(b"{"), None);
        assert_eq!(t.get(b"ge"), None);
        assert_eq!(t.get(b"gets"), None);
        assert_eq!(t.get(b""), None);
        assert_eq!(t.get(b"get\0"), None);
        assert_eq!(t.get(&[b'g'; 10_000]), None);
    }

    #[test]
    fn every_registered_command_is_found_in_upper_case() {
        let r = crate::cmd::registry();
        for cmd in r.top_level() {
            let upper = cmd.name.to_ascii_uppercase();
            assert_eq!(r.find(upper.as_bytes()).map(|c| c.name), Some(cmd.name));
        }
    }
}
