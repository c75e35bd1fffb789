//! Keyspace notifications (`notify-keyspace-events`): a command that changes
//! a key publishes `__keyspace@<db>__:<key>` → event and
//! `__keyevent@<db>__:<event>` → key, as Redis's `notifyKeyspaceEvent`.
//!
//! They are fired on the shard that owns the key, while the command runs,
//! and delivered through the server-wide pub/sub directory like any
//! PUBLISH: no hop between shards, and nothing but a flag test when the
//! class is off or nobody subscribes.

use bytes::Bytes;

use crate::config::{ClientClass, Config};
use crate::server::shared::Shared;

/// Event classes, Redis's `NOTIFY_*` bits.
pub mod class {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    /// Excluded from `A` on purpose, as in Redis.
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 13; // d
    /// Excluded from `A`, as in Redis.
    pub const NEW: u32 = 1 << 14; // n
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// The class letters in the order Redis prints them, `A` aside.
const LETTERS: [(u8, u32); 11] = [
    (b'g', class::GENERIC),
    (b'$', class::STRING),
    (b'l', class::LIST),
    (b's', class::SET),
    (b'h', class::HASH),
    (b'z', class::ZSET),
    (b'x', class::EXPIRED),
    (b'e', class::EVICTED),
    (b't', class::STREAM),
    (b'd', class::MODULE),
    (b'n', class::NEW),
];

/// Redis's `keyspaceEventsStringToFlags`: None on a character that names
/// no class.
pub fn parse(classes: &[u8]) -> Option<u32> {
    classes.iter().try_fold(0, |flags, &c| {
        let bit = match c {
            b'A' => class::ALL,
            b'K' => class::KEYSPACE,
            b'E' => class::KEYEVENT,
            b'm' => class::KEY_MISS,
            c => LETTERS.iter().find(|(l, _)| *l == c)?.1,
        };
        Some(flags | bit)
    })
}

/// Redis's `keyspaceEventsFlagsToString`.
pub fn format(flags: u32) -> String {
    let mut out = String::new();
    if flags & class::ALL == class::ALL {
        // As Redis: `A` stands for every class letter, `n` too (which it
        // does not enable), so `An` reads back as `A`.
        out.push('A');
    } else {
        out.extend(LETTERS.iter().filter(|(_, bit)| flags & bit != 0).map(|(l, _)| *l as char));
    }
    for (letter, bit) in [('K', class::KEYSPACE), ('E', class::KEYEVENT), ('m', class::KEY_MISS)] {
        if flags & bit != 0 {
            out.push(letter);
        }
    }
    out
}

/// Whether an event of `class` would be published at all: its class is on
/// and someone subscribes to some channel or pattern. Cheap; callers that
/// must gather something to notify check it first.
pub fn wanted(config: &Config, shared: &Shared, class: u32) -> bool {
    config.notify_keyspace_events & class != 0 && !shared.pubsub.is_idle()
}

/// Publishes `event` on `key` of `db`, if its class is on.
pub fn notify(config: &Config, shared: &Shared, now_ms: u64, class: u32, event: &str, key: &[u8], db: usize) {
    if !wanted(config, shared, class) {
        return;
    }
    let flags = config.notify_keyspace_events;
    let limit = config.output_buffer_limit(ClientClass::Pubsub);
    let channel = |space: &str, name: &[u8]| {
        let mut c = Vec::with_capacity(16 + name.len());
        c.extend_from_slice(format!("__{}@{}__:", space, db).as_bytes());
        c.extend_from_slice(name);
        Bytes::from(c)
    };
    let kind = crate::pubsub::Kind::Channel;
    if flags & class::KEYSPACE != 0 {
        let event = Bytes::copy_from_slice(event.as_bytes());
        shared.pubsub.publish(kind, &channel("keyspace", key), &event, limit, now_ms);
    }
    if flags & class::KEYEVENT != 0 {
        let key = Bytes::copy_from_slice(key);
        shared.pubsub.publish(kind, &channel("keyevent", event.as_bytes()), &key, limit, now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_and_print_as_redis() {
        assert_eq!(parse(b""), Some(0));
        assert_eq!(parse(b"KEA"), Some(class::KEYSPACE | class::KEYEVENT | class::ALL));
        assert_eq!(parse(b"Kx"), Some(class::KEYSPACE | class::EXPIRED));
        assert_eq!(parse(b"Kq"), None);
        assert_eq!(format(parse(b"KEA").unwrap()), "AKE");
        assert_eq!(format(parse(b"g$lshzxetd").unwrap()), "A");
        assert_eq!(format(parse(b"AnmK").unwrap()), "AKm");
        assert_eq!(format(parse(b"gn").unwrap()), "gn");
        assert_eq!(format(parse(b"Elg").unwrap()), "glE");
        assert_eq!(format(0), "");
    }
}
