//! A key as the keyspace stores it: short keys inside the table slot, long
//! ones in an allocation of their own.
//!
//! Most keys are short (`user:1000`, `key:000000012345`): kept inline they
//! cost no allocation, 16 bytes or more per key saved, for 8 more bytes of
//! slot than a boxed slice. It hashes, compares and borrows as its bytes, so
//! tables of `Key` are looked up with a plain `&[u8]`.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest key kept inline.
pub const INLINE: usize = 22;

#[derive(Clone)]
pub struct Key(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..*len as usize],
            Repr::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Key {
        if b.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..b.len()].copy_from_slice(b);
            Key(Repr::Inline { len: b.len() as u8, buf })
        } else {
            Key(Repr::Heap(b.into()))
        }
    }
}

impl From<Box<[u8]>> for Key {
    fn from(b: Box<[u8]>) -> Key {
        if b.len() <= INLINE {
            Key::from(&*b)
        } else {
            Key(Repr::Heap(b))
        }
    }
}

impl From<Vec<u8>> for Key {
    fn from(v: Vec<u8>) -> Key {
        if v.len() <= INLINE {
            Key::from(v.as_slice())
        } else {
            Key(Repr::Heap(v.into_boxed_slice()))
        }
    }
}

impl Deref for Key {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

// As its bytes, so that `Borrow<[u8]>` lookups find it.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_keys_read_back_and_hash_as_bytes() {
        let hasher = ahash::RandomState::new();
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let key = Key::from(bytes.as_slice());
            assert_eq!(key.as_bytes(), bytes.as_slice());
            assert_eq!(Key::from(bytes.clone()), key);
            assert_eq!(Key::from(bytes.clone().into_boxed_slice()), key);
            assert_eq!(hasher.hash_one(&key), hasher.hash_one(bytes.as_slice()), "len {}", len);
        }
    }
}
