//! `shardis::slot::key_slot` against a real Redis Cluster node's `CLUSTER
//! KEYSLOT`, for random binary keys and every hash-tag corner: the first `{`,
//! the first `}` after it, empty tags, nested and unbalanced braces.
//! (A cluster node answers KEYSLOT without any slot assigned.) Skipped, with
//! a note, when `redis-server` is not installed.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use blackbox::{esc, Conn, Oracle};
use common::oracle::Rng;
use shardis::slot::key_slot;

fn keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = [
        "",
        "a",
        "foo",
        "bar",
        "{a}b",
        "{a}c",
        "x{a}y",
        "{}a",
        "a{}",
        "{}",
        "{{a}}",
        "{{}}",
        "{a",
        "a}",
        "}a{b}",
        "{}{a}",
        "a{b}{c}",
        "{ab}{cd}",
        "{user1000}.following",
        "{user1000}.followers",
        "foo{}{bar}",
        "foo{{bar}}zap",
        "foo{bar}{zap}",
        "123456789",
        "{123456789}",
        "\u{e9}t\u{e9}",
        "{\u{e9}}x",
    ]
    .iter()
    .map(|k| k.as_bytes().to_vec())
    .collect();
    keys.push(vec![0, 0xff, b'{', 0x80, b'}', 1]);
    keys.push(b"\r\n{\r\n}".to_vec());
    let mut rng = Rng::new(0x5EED_1234_ABCD_0001);
    // Random bytes, with braces common enough to form every tag shape.
    for _ in 0..400 {
        let len = rng.below(24);
        let key: Vec<u8> = (0..len)
            .map(|_| match rng.below(8) {
                0 => b'{',
                1 => b'}',
                2..=4 => b'a' + rng.below(26) as u8,
                _ => rng.below(256) as u8,
            })
            .collect();
        keys.push(key);
    }
    keys
}

#[test]
fn key_slot_matches_redis_cluster_keyslot() {
    let nodes = tempfile::tempdir().unwrap();
    let conf = nodes.path().join("nodes.conf");
    let Some(redis) = Oracle::start(&["--cluster-enabled", "yes", "--cluster-config-file", conf.to_str().unwrap()])
    else {
        eprintln!("note: redis-server is not installed; key_slot is not compared with Redis");
        return;
    };
    let keys = keys();
    let mut c = Conn::open(redis.port);
    // One write for every request, then the replies in order.
    let mut req = Vec::new();
    for k in &keys {
        req.extend(common::resp(&[b"CLUSTER", b"KEYSLOT", k]));
    }
    c.send_raw(&req);
    let mut checked = 0;
    for k in &keys {
        let reply = c.frame();
        let want = format!(":{}\r\n", key_slot(k));
        assert_eq!(esc(&reply), esc(want.as_bytes()), "CLUSTER KEYSLOT {:?}", esc(k));
        checked += 1;
    }
    assert_eq!(checked, keys.len());
    assert!(checked > 400);
}

#[test]
fn known_slots() {
    // Values from the Redis Cluster specification and a real server.
    assert_eq!(key_slot(b"123456789"), 12739);
    assert_eq!(key_slot(b"{a}b"), 15495);
    assert_eq!(key_slot(b"{}a"), 10875);
    assert_eq!(key_slot(b""), 0);
    assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"{user1000}.followers"));
    assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
    assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
}
