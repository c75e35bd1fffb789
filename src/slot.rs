//! Key → slot → shard, exactly as Redis Cluster hashes keys:
//! `slot = CRC16(key or its {hashtag}) mod 16384`, and `shard = slot mod N`.
//! Cluster mode later reuses the very same slots.

pub const SLOTS: u16 = 16384;

/// CRC16-CCITT (XMODEM), the variant Redis Cluster uses (`crc16.c`).
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| (crc << 8) ^ CRC16_TABLE[(((crc >> 8) as u8) ^ b) as usize])
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

    #[test]
    fn hash_tags() {
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"{abc"), b"{abc");
    }
}
