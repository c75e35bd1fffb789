//! Connections moving to the shard that owns their keys: a client whose
//! rounds keep going to another core's shard is handed to that core, and
//! sees nothing of it but the hop it no longer pays. Its state, its
//! commands in flight and its identity go along; a connection tied to its
//! core (subscribed, watching) stays.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use blackbox::{info_field, Conn};
use common::Server;

/// Rounds in a row on one other shard before a connection moves: the
/// server's `migrate::MOVE_AFTER`.
const MOVE_AFTER: usize = 16;
/// ... and with margin.
const ROUNDS: usize = 40;

/// A key owned by `shard` of 2.
fn key_on(shard: usize, prefix: &str) -> String {
    (0..).map(|i| format!("{}:{}", prefix, i)).find(|k| shardis::slot::shard_of_key(k.as_bytes(), 2) == shard).unwrap()
}

fn migrated(server: &Server) -> u64 {
    let mut admin = Conn::open(server.port);
    info_field(&admin.text(&["INFO", "stats"]), "migrated_connections").unwrap().parse().unwrap()
}

/// Sends rounds to shard 0's keys, then (if the connection has not moved
/// by then) to shard 1's: whichever core accepted the connection, one of
/// the two runs on the other one. Returns how many connections moved.
fn rounds_until_moved(server: &Server, c: &mut Conn) -> u64 {
    let mut moved = 0;
    for shard in [0, 1] {
        let key = key_on(shard, "mover");
        for i in 0..ROUNDS {
            c.expect(&["SET", &key, &i.to_string()], "+OK\r\n");
        }
        moved = migrated(server);
        if moved > 0 {
            break;
        }
    }
    moved
}

#[test]
fn a_connection_moves_to_its_keys_shard_and_keeps_its_state() {
    let server = Server::start_with(&["--shards", "2"]);
    let mut c = Conn::open(server.port);
    c.expect(&["CLIENT", "SETNAME", "mover"], "+OK\r\n");
    c.expect(&["SELECT", "3"], "+OK\r\n");
    let id = c.int(&["CLIENT", "ID"]);
    assert!(c.call(&["HELLO", "3"]).starts_with(b"%"));
    assert_eq!(migrated(&server), 0);

    assert_eq!(rounds_until_moved(&server, &mut c), 1);

    // Same client, same name, db and protocol.
    assert_eq!(c.int(&["CLIENT", "ID"]), id);
    c.expect(&["CLIENT", "GETNAME"], "$5\r\nmover\r\n");
    let info = c.text(&["CLIENT", "INFO"]);
    assert!(info.contains(&format!("id={} ", id)), "{}", info);
    assert!(info.contains(" name=mover ") && info.contains(" db=3 ") && info.contains(" resp=3 "), "{}", info);
    let hash = key_on(1, "hash");
    c.expect(&["HSET", &hash, "f", "v"], ":1\r\n");
    c.expect(&["HGETALL", &hash], "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    let mut other = Conn::open(server.port);
    other.expect(&["SELECT", "3"], "+OK\r\n");
    other.expect(&["HGET", &hash, "f"], "$1\r\nv\r\n");

    // The registry of its new core lists it, once, and CLIENT KILL finds it.
    let list = other.text(&["CLIENT", "LIST"]);
    assert_eq!(list.matches(&format!("id={} ", id)).count(), 1, "{}", list);
    other.expect(&["CLIENT", "KILL", "ID", &id.to_string()], ":1\r\n");
    assert_eq!(c.until_closed(), b"");
}

/// Commands sent while the connection moves, without waiting for their
/// replies, are neither lost nor reordered, whichever ring they reach.
#[test]
fn commands_in_flight_while_moving_all_run_in_order() {
    let server = Server::start_with(&["--shards", "2"]);
    let mut c = Conn::open(server.port);
    const SENT: usize = 3000;
    for shard in [0, 1] {
        let key = key_on(shard, "counter");
        // One round short of moving; the next one moves it, while the
        // rest of the burst is still on its way.
        for i in 1..MOVE_AFTER {
            c.expect(&["INCR", &key], &format!(":{}\r\n", i));
        }
        for _ in MOVE_AFTER..=SENT {
            c.send(&["INCR", &key]);
        }
        for i in MOVE_AFTER..=SENT {
            assert_eq!(blackbox::esc(&c.frame()), blackbox::esc(format!(":{}\r\n", i).as_bytes()));
        }
        if migrated(&server) > 0 {
            break;
        }
    }
    assert_eq!(migrated(&server), 1);
    c.expect(&["PING"], "+PONG\r\n");
}

#[test]
fn a_subscribed_or_watching_connection_stays() {
    let server = Server::start_with(&["--shards", "2"]);

    let mut watcher = Conn::open(server.port);
    watcher.expect(&["WATCH", "watched"], "+OK\r\n");
    assert_eq!(rounds_until_moved(&server, &mut watcher), 0);
    watcher.expect(&["MULTI"], "+OK\r\n");
    watcher.expect(&["PING"], "+QUEUED\r\n");
    watcher.expect(&["EXEC"], "*1\r\n+PONG\r\n");

    let mut subscriber = Conn::open(server.port);
    assert!(subscriber.call(&["HELLO", "3"]).starts_with(b"%"));
    subscriber.expect(&["SUBSCRIBE", "news"], ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    assert_eq!(rounds_until_moved(&server, &mut subscriber), 0);
    let mut publisher = Conn::open(server.port);
    publisher.expect(&["PUBLISH", "news", "hi"], ":1\r\n");
    assert_eq!(subscriber.frame(), b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
}

#[test]
fn migrate_connections_no_keeps_connections_where_they_were_accepted() {
    let server = Server::start_with(&["--shards", "2"]);
    let mut admin = Conn::open(server.port);
    admin.expect(&["CONFIG", "GET", "migrate-connections"], "*2\r\n$19\r\nmigrate-connections\r\n$3\r\nyes\r\n");
    admin.expect(&["CONFIG", "SET", "migrate-connections", "no"], "+OK\r\n");
    let mut c = Conn::open(server.port);
    assert_eq!(rounds_until_moved(&server, &mut c), 0);

    admin.expect(&["CONFIG", "SET", "migrate-connections", "yes"], "+OK\r\n");
    assert_eq!(rounds_until_moved(&server, &mut c), 1);
}
