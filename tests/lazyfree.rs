//! Big values are freed off the request path (Redis's lazyfree): DEL,
//! UNLINK, FLUSHDB/FLUSHALL and overwrites hand collections of more than 64
//! elements to a background thread, which INFO counts; the shard answers
//! other clients meanwhile.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use std::time::{Duration, Instant};

use blackbox::{info_field, Conn};
use common::Server;

fn lazyfreed(c: &mut Conn) -> u64 {
    let info = c.text(&["INFO", "memory"]);
    info_field(&info, "lazyfreed_objects").and_then(|v| v.parse().ok()).expect("lazyfreed_objects in INFO")
}

/// Waits until the background thread has freed `n` objects in total.
fn wait_freed(c: &mut Conn, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while lazyfreed(c) < n {
        assert!(Instant::now() < deadline, "lazyfreed_objects never reached {}", n);
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn fill(c: &mut Conn, key: &str, elements: usize) {
    let values: Vec<String> = (0..elements).map(|i| format!("element-{}", i)).collect();
    for chunk in values.chunks(1000) {
        let mut args = vec!["RPUSH", key];
        args.extend(chunk.iter().map(String::as_str));
        c.call(&args);
    }
}

#[test]
fn big_values_are_freed_in_the_background() {
    let s = Server::start();
    let mut c = Conn::open(s.port);
    let base = lazyfreed(&mut c);
    fill(&mut c, "big", 200_000);
    c.expect(&["DEL", "big"], ":1\r\n");
    wait_freed(&mut c, base + 1);
    fill(&mut c, "big", 1000);
    c.expect(&["UNLINK", "big"], ":1\r\n");
    wait_freed(&mut c, base + 2);
    // Overwriting a big value frees the old one in the background too.
    fill(&mut c, "big", 1000);
    c.expect(&["SET", "big", "small"], "+OK\r\n");
    wait_freed(&mut c, base + 3);
    // Small values are freed in place.
    c.expect(&["RPUSH", "small", "a"], ":1\r\n");
    c.expect(&["DEL", "small", "big"], ":2\r\n");
    assert_eq!(lazyfreed(&mut c), base + 3);
    // A flushed table goes as a whole (one per shard holding keys).
    fill(&mut c, "big", 1000);
    c.expect(&["FLUSHALL"], "+OK\r\n");
    wait_freed(&mut c, base + 4);
    c.expect(&["DBSIZE"], ":0\r\n");
    c.expect(&["FLUSHALL", "SYNC"], "+OK\r\n");
    c.expect(&["FLUSHALL", "LAZY"], "-ERR syntax error\r\n");
}

fn used_memory(c: &mut Conn) -> u64 {
    let info = c.text(&["INFO", "memory"]);
    info_field(&info, "used_memory").and_then(|v| v.parse().ok()).expect("used_memory in INFO")
}

/// Redis's "UNLINK can reclaim memory in background" (tests/unit/lazyfree.tcl):
/// a 100,000-member SADD and the set it made are given back once the set is
/// unlinked, while the client stays connected. The connection's scratch
/// (the query buffer, the parsed arguments, the batch) used to keep the
/// size of that one command for good, about 10 MB here.
#[test]
fn a_huge_command_and_its_value_give_their_memory_back() {
    let s = Server::start();
    let mut c = Conn::open(s.port);
    let before = used_memory(&mut c);
    let members: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "myset"];
    args.extend(members.iter().map(String::as_str));
    c.expect(&args, ":100000\r\n");
    let peak = used_memory(&mut c);
    assert!(peak > before + 1_000_000, "peak {peak}, before {before}");
    c.expect(&["UNLINK", "myset"], ":1\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = used_memory(&mut c);
        if now < peak && now < before * 2 {
            break;
        }
        assert!(Instant::now() < deadline, "used_memory {now} after UNLINK: before {before}, peak {peak}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
