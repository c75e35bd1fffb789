//! Key → slot → shard, exactly as Redis Cluster hashes keys:
//! `slot = CRC16(key or its {hashtag}) mod 16384`, and `shard = slot mod N`.
//! Cluster mode later reuses the very same slots.

pub const SLOTS: u16 = 16384;

/// CRC16-CCITT (XMODEM), the variant Redis Cluster uses (`crc16.c`), as
/// four tables: `TABLES[0]` is the byte-at-a-time table, and `TABLES[k]`
/// is `TABLES[0]` followed by `k` zero bytes. A CRC is linear in its input,
/// so four bytes are four independent lookups XORed together instead of a
/// chain of four dependent ones ("slicing by 4"): every command routed
/// between shards hashes its keys.
const TABLES: [[u16; 256]; 4] = {
    let mut t = [[0u16; 256]; 4];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 4 {
        let mut i = 0;
        while i < 256 {
            let c = t[k - 1][i];
            t[k][i] = (c << 8) ^ t[0][(c >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    t
};

pub fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        let [hi, lo] = crc.to_be_bytes();
        crc = TABLES[3][(hi ^ w[0]) as usize]
            ^ TABLES[2][(lo ^ w[1]) as usize]
            ^ TABLES[1][w[2] as usize]
            ^ TABLES[0][w[3] as usize];
    }
    words.remainder().iter().fold(crc, |crc, &b| (crc << 8) ^ TABLES[0][(((crc >> 8) as u8) ^ b) as usize])
}

/// The part of the key that is hashed: the content of the first `{...}` if
/// it is non-empty, else the whole key (Redis's `keyHashSlot`).
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) & (SLOTS - 1)
}

pub fn shard_of_slot(slot: u16, shards: usize) -> usize {
    slot as usize % shards
}

pub fn shard_of_key(key: &[u8], shards: usize) -> usize {
    if shards == 1 {
        return 0;
    }
    shard_of_slot(key_slot(key), shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from a real Redis `CLUSTER KEYSLOT`.
    #[test]
    fn matches_redis_cluster_keyslot() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"hello"), 866);
        assert_eq!(key_slot(b"somekey"), 11058);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"{user1000}.followers"), 3443);
        assert_eq!(key_slot(b""), 0);
    }

    /// The bitwise definition, one byte at a time.
    fn crc16_bitwise(data: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &b in data {
            crc ^= (b as u16) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            }
        }
        crc
    }

    proptest::proptest! {
        #[test]
        fn sliced_crc_matches_the_bitwise_one(data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            proptest::prop_assert_eq!(crc16(&data), crc16_bitwise(&data));
        }
    }

    #[test]
    fn hash_tags() {
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"{abc"), b"{abc");
    }
}
