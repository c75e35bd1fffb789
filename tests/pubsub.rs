//! Pub/Sub, black-box: the exact frames of (P)SUBSCRIBE / (P)UNSUBSCRIBE in
//! RESP2 and RESP3, the RESP2 subscribed mode (its error and PING), RESET,
//! message and pmessage frames with pattern edge cases, PUBLISH counts and
//! PUBSUB introspection with subscribers spread over both shards, the order
//! of a 100 k message burst at subscribers on both shards, and subscribers
//! leaving without disturbing the publisher, sharded pub/sub (SSUBSCRIBE,
//! SPUBLISH, PUBSUB SHARD*), INFO counts, and the output-buffer bound on a
//! subscriber that never reads (up to 1 GB published).
//!
//! The server picks a connection's shard (SO_REUSEPORT spreads accepted
//! connections over the shards' listeners) and does not show it, so the
//! cross-shard tests open many subscribers: with 16, all on one shard has a
//! chance of 2^-15. Expectations are literal and, when redis-server is
//! installed, checked against it byte for byte.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use std::thread;
use std::time::{Duration, Instant};

use blackbox::Conn;
use common::oracle::{encode, Pair};

fn steps(list: &[(&[&str], &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    list.iter().map(|(args, reply)| (encode(args), reply.as_bytes().to_vec())).collect()
}

/// A (un)subscribe confirmation or a message, RESP2 (`*`) or RESP3 (`>`).
fn frame(head: char, parts: &[Option<&str>], count: Option<i64>) -> String {
    let n = parts.len() + count.is_some() as usize;
    let mut s = format!("{}{}\r\n", head, n);
    for p in parts {
        match p {
            Some(p) => s.push_str(&format!("${}\r\n{}\r\n", p.len(), p)),
            None if head == '>' => s.push_str("_\r\n"),
            None => s.push_str("$-1\r\n"),
        }
    }
    if let Some(c) = count {
        s.push_str(&format!(":{}\r\n", c));
    }
    s
}

fn ack(what: &str, name: Option<&str>, count: i64) -> String {
    frame('*', &[Some(what), name], Some(count))
}

fn ack3(what: &str, name: Option<&str>, count: i64) -> String {
    frame('>', &[Some(what), name], Some(count))
}

fn message(channel: &str, payload: &str) -> String {
    frame('*', &[Some("message"), Some(channel), Some(payload)], None)
}

fn pmessage(pattern: &str, channel: &str, payload: &str) -> String {
    frame('*', &[Some("pmessage"), Some(pattern), Some(channel), Some(payload)], None)
}

fn not_allowed(cmd: &str) -> String {
    format!(
        "-ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
        cmd
    )
}

#[test]
fn resp2_confirmations_subscribed_mode_and_ping() {
    let p = Pair::start(&[]);
    let sub_ab = ack("subscribe", Some("a"), 1) + &ack("subscribe", Some("b"), 2);
    let again = ack("subscribe", Some("a"), 2);
    let psub = ack("psubscribe", Some("h*"), 3);
    p.session_raw(&steps(&[
        (&["SUBSCRIBE", "a", "b"], &sub_ab),
        (&["SUBSCRIBE", "a"], &again),
        (&["PSUBSCRIBE", "h*"], &psub),
        (&["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n"),
        (&["PING", "hi there"], "*2\r\n$4\r\npong\r\n$8\r\nhi there\r\n"),
        (&["GET", "k"], &not_allowed("get")),
        (&["CLIENT", "LIST"], &not_allowed("client|list")),
        (&["MULTI"], &not_allowed("multi")),
        (&["NOSUCHCOMMAND"], "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: \r\n"),
        (&["UNSUBSCRIBE", "a", "zz"], &(ack("unsubscribe", Some("a"), 2) + &ack("unsubscribe", Some("zz"), 2))),
        (&["PUNSUBSCRIBE"], &ack("punsubscribe", Some("h*"), 1)),
        (&["PUNSUBSCRIBE"], &ack("punsubscribe", None, 1)),
        (&["UNSUBSCRIBE"], &ack("unsubscribe", Some("b"), 0)),
        (&["UNSUBSCRIBE"], &ack("unsubscribe", None, 0)),
        (&["PUNSUBSCRIBE", "x"], &ack("punsubscribe", Some("x"), 0)),
        (&["GET", "k"], "$-1\r\n"),
        (&["PING"], "+PONG\r\n"),
    ]));
    // RESET leaves subscribed mode, and the subscriptions with it.
    p.session_raw(&steps(&[
        (&["SUBSCRIBE", "a"], &ack("subscribe", Some("a"), 1)),
        (&["PSUBSCRIBE", "a*"], &ack("psubscribe", Some("a*"), 2)),
        (&["RESET"], "+RESET\r\n"),
        (&["GET", "k"], "$-1\r\n"),
        (&["PUBSUB", "NUMSUB", "a"], "*2\r\n$1\r\na\r\n:0\r\n"),
        (&["PUBSUB", "NUMPAT"], ":0\r\n"),
        (&["UNSUBSCRIBE"], &ack("unsubscribe", None, 0)),
    ]));
}

#[test]
fn resp3_push_frames_and_commands_in_between() {
    let p = Pair::start(&[]);
    p.session_resp3_raw(&steps(&[
        (&["SUBSCRIBE", "a"], &ack3("subscribe", Some("a"), 1)),
        (&["PSUBSCRIBE", "a*"], &ack3("psubscribe", Some("a*"), 2)),
        (&["SET", "k", "v"], "+OK\r\n"),
        (&["GET", "k"], "$1\r\nv\r\n"),
        (&["PING"], "+PONG\r\n"),
        (&["PUBSUB", "NUMSUB", "a", "b"], "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:0\r\n"),
        (&["UNSUBSCRIBE"], &ack3("unsubscribe", Some("a"), 1)),
        (&["UNSUBSCRIBE"], &ack3("unsubscribe", None, 1)),
        (&["PUNSUBSCRIBE"], &ack3("punsubscribe", Some("a*"), 0)),
        (&["PUNSUBSCRIBE"], &ack3("punsubscribe", None, 0)),
        (&["DEL", "k"], ":1\r\n"),
    ]));
    // A RESP3 subscriber gets messages as push frames while it runs commands.
    for (name, port) in p.ports() {
        let mut sub = Conn::open(port);
        sub.call(&["HELLO", "3"]);
        sub.expect(&["SUBSCRIBE", "news"], &ack3("subscribe", Some("news"), 1));
        let mut publisher = Conn::open(port);
        publisher.expect(&["PUBLISH", "news", "one"], ":1\r\n");
        let push = frame('>', &[Some("message"), Some("news"), Some("one")], None);
        assert_eq!(String::from_utf8(sub.frame()).unwrap(), push, "{name}");
        sub.expect(&["ECHO", "x"], "$1\r\nx\r\n");
    }
}

#[test]
fn subcommand_errors_match_redis() {
    let p = Pair::start(&[]);
    p.session_raw(&steps(&[
        (&["SUBSCRIBE"], "-ERR wrong number of arguments for 'subscribe' command\r\n"),
        (&["PSUBSCRIBE"], "-ERR wrong number of arguments for 'psubscribe' command\r\n"),
        (&["PUBLISH", "a"], "-ERR wrong number of arguments for 'publish' command\r\n"),
        (&["PUBSUB", "NUMPAT", "x"], "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"),
        (
            &["PUBSUB", "channels", "a", "b"],
            "-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n",
        ),
        (&["PUBSUB", "NUMSUB"], "*0\r\n"),
        (&["PUBSUB", "CHANNELS"], "*0\r\n"),
        (&["PUBLISH", "nobody", "x"], ":0\r\n"),
        // Commands without keys still run inside a transaction.
        (&["MULTI"], "+OK\r\n"),
        (&["PUBLISH", "nobody", "x"], "+QUEUED\r\n"),
        (&["SPUBLISH", "nobody", "x"], "+QUEUED\r\n"),
        (&["EXEC"], "*2\r\n:0\r\n:0\r\n"),
    ]));
}

/// Each pattern against each channel: which `pmessage`s arrive, and PUBLISH's count.
#[test]
fn pattern_edge_cases_match_redis() {
    let patterns = ["*", "?", "h?llo", "h[a-e]llo", "h[^e]llo", "h\\*llo", "[z-a]", "a\\", "x[", "\\?"];
    let channels = ["hello", "hallo", "h*llo", "hxllo", "a", "?", "a\\", "x[", ""];
    let p = Pair::start(&[]);
    for (name, port) in p.ports() {
        let mut sub = Conn::open(port);
        for (i, pat) in patterns.iter().enumerate() {
            sub.expect(&["PSUBSCRIBE", pat], &ack("psubscribe", Some(pat), i as i64 + 1));
        }
        let mut publisher = Conn::open(port);
        for ch in channels {
            let matching: Vec<&str> =
                patterns.iter().copied().filter(|pat| redis_glob(pat.as_bytes(), ch.as_bytes())).collect();
            let n = publisher.int(&["PUBLISH", ch, "m"]);
            assert_eq!(n, matching.len() as i64, "{name}: PUBLISH {ch:?}");
            let mut got: Vec<String> = (0..n).map(|_| String::from_utf8(sub.frame()).unwrap()).collect();
            // Redis delivers the patterns in its dict's order: compare as sets.
            got.sort();
            let mut want: Vec<String> = matching.iter().map(|pat| pmessage(pat, ch, "m")).collect();
            want.sort();
            assert_eq!(got, want, "{name}: channel {ch:?}");
        }
        sub.assert_silent(Duration::from_millis(50));
    }
}

/// Which patterns match: shardis's port of `stringmatchlen`, itself checked
/// here against redis-server's deliveries.
fn redis_glob(pattern: &[u8], s: &[u8]) -> bool {
    shardis::glob::glob_match(pattern, s, false)
}

#[test]
fn channel_and_matching_pattern_deliver_twice() {
    let p = Pair::start(&[]);
    for (name, port) in p.ports() {
        let mut sub = Conn::open(port);
        sub.expect(&["SUBSCRIBE", "news.tech"], &ack("subscribe", Some("news.tech"), 1));
        sub.expect(&["PSUBSCRIBE", "news.*"], &ack("psubscribe", Some("news.*"), 2));
        let mut publisher = Conn::open(port);
        publisher.expect(&["PUBLISH", "news.tech", "rust"], ":2\r\n");
        publisher.expect(&["PUBLISH", "news.art", "oil"], ":1\r\n");
        let want = message("news.tech", "rust") + &pmessage("news.*", "news.tech", "rust");
        let want = want + &pmessage("news.*", "news.art", "oil");
        let got: Vec<u8> = (0..3).flat_map(|_| sub.frame()).collect();
        assert_eq!(String::from_utf8(got).unwrap(), want, "{name}");
    }
}

/// Subscribers on both shards: PUBLISH counts every one of them, each gets
/// its message and pmessage, and PUBSUB sees them all.
#[test]
fn counts_and_introspection_across_shards() {
    const N: usize = 16;
    let server = common::Server::start();
    let mut subs: Vec<Conn> = (0..N).map(|_| Conn::open(server.port)).collect();
    for (i, s) in subs.iter_mut().enumerate() {
        s.expect(&["SUBSCRIBE", "news"], &ack("subscribe", Some("news"), 1));
        if i % 2 == 0 {
            s.expect(&["PSUBSCRIBE", "n*"], &ack("psubscribe", Some("n*"), 2));
        }
        s.expect(
            &["SUBSCRIBE", &format!("own{i}")],
            &ack("subscribe", Some(&format!("own{i}")), 2 + (i % 2 == 0) as i64),
        );
    }
    let mut c = Conn::open(server.port);
    c.expect(&["PUBLISH", "news", "hi"], &format!(":{}\r\n", N + N / 2));
    for (i, s) in subs.iter_mut().enumerate() {
        let mut want = message("news", "hi");
        if i % 2 == 0 {
            want += &pmessage("n*", "news", "hi");
        }
        let got: Vec<u8> = (0..1 + (i % 2 == 0) as usize).flat_map(|_| s.frame()).collect();
        assert_eq!(String::from_utf8(got).unwrap(), want, "subscriber {i}");
    }
    c.expect(
        &["PUBSUB", "NUMSUB", "news", "own3", "none"],
        &format!("*6\r\n$4\r\nnews\r\n:{N}\r\n$4\r\nown3\r\n:1\r\n$4\r\nnone\r\n:0\r\n"),
    );
    c.expect(&["PUBSUB", "NUMPAT"], ":1\r\n");
    c.expect(&["PUBSUB", "CHANNELS", "news"], "*1\r\n$4\r\nnews\r\n");
    c.expect(&["PUBSUB", "CHANNELS", "x*"], "*0\r\n");
    let frame = c.call(&["PUBSUB", "CHANNELS"]);
    let mut all = blackbox::bulk_array(&frame);
    all.sort();
    let mut want: Vec<String> = (0..N).map(|i| format!("own{i}")).chain(["news".to_string()]).collect();
    want.sort();
    assert_eq!(all, want);
    // CLIENT LIST shows each subscriber's counts and the P flag.
    let list = c.text(&["CLIENT", "LIST"]);
    assert_eq!(
        list.lines().filter(|l| l.contains(" flags=P ") && l.contains(" sub=2 psub=1 ")).count(),
        N / 2,
        "{list}"
    );
    assert_eq!(
        list.lines().filter(|l| l.contains(" flags=P ") && l.contains(" sub=2 psub=0 ")).count(),
        N / 2,
        "{list}"
    );
    // Once unsubscribed everywhere, nothing is left.
    for s in subs.iter_mut() {
        s.send(&["RESET"]);
        assert_eq!(s.frame(), b"+RESET\r\n");
    }
    c.expect(&["PUBLISH", "news", "hi"], ":0\r\n");
    c.expect(&["PUBSUB", "NUMPAT"], ":0\r\n");
    c.expect(&["PUBSUB", "CHANNELS"], "*0\r\n");
}

/// A 100 k message burst from one publisher reaches subscribers on both
/// shards complete and in order (half RESP2 channel subscribers, half RESP3
/// pattern subscribers).
#[test]
fn burst_arrives_in_publish_order_on_every_shard() {
    const SUBS: usize = 16;
    const MESSAGES: usize = 100_000;
    let server = common::Server::start();
    let port = server.port;
    let mut readers = Vec::new();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    for i in 0..SUBS {
        let ready = ready_tx.clone();
        readers.push(thread::spawn(move || {
            let mut s = Conn::open(port);
            let pattern = i % 2 == 1;
            if pattern {
                s.call(&["HELLO", "3"]);
                s.expect(&["PSUBSCRIBE", "bur?t"], &ack3("psubscribe", Some("bur?t"), 1));
            } else {
                s.expect(&["SUBSCRIBE", "burst"], &ack("subscribe", Some("burst"), 1));
            }
            ready.send(()).unwrap();
            for n in 0..MESSAGES {
                let f = s.frame();
                let want = if pattern {
                    frame('>', &[Some("pmessage"), Some("bur?t"), Some("burst"), Some(&n.to_string())], None)
                } else {
                    message("burst", &n.to_string())
                };
                assert_eq!(String::from_utf8_lossy(&f), want, "subscriber {i}, message {n}");
            }
        }));
    }
    for _ in 0..SUBS {
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    let mut publisher = Conn::open(port);
    let started = Instant::now();
    for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(1000) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|n| encode(&["PUBLISH", "burst", &n.to_string()])).collect();
        publisher.send_raw(&bytes);
        for _ in chunk {
            assert_eq!(publisher.frame(), format!(":{SUBS}\r\n").as_bytes());
        }
    }
    for r in readers {
        r.join().unwrap();
    }
    eprintln!("{MESSAGES} messages to {SUBS} subscribers in {:?}", started.elapsed());
}

/// Subscribers that disconnect, one mid-burst, leave the publisher and the
/// other subscribers undisturbed; the count drops once they are gone.
#[test]
fn subscriber_leaving_does_not_disturb_the_publisher() {
    const MESSAGES: usize = 20_000;
    let server = common::Server::start();
    let mut stayers: Vec<Conn> = (0..4).map(|_| Conn::open(server.port)).collect();
    for s in stayers.iter_mut() {
        s.expect(&["SUBSCRIBE", "c"], &ack("subscribe", Some("c"), 1));
    }
    let mut leavers: Vec<Conn> = (0..4).map(|_| Conn::open(server.port)).collect();
    for s in leavers.iter_mut() {
        s.expect(&["PSUBSCRIBE", "*"], &ack("psubscribe", Some("*"), 1));
    }
    let bytes: Vec<u8> = (0..MESSAGES).flat_map(|n| encode(&["PUBLISH", "c", &n.to_string()])).collect();
    // The leavers read a little, then go, while the burst is under way.
    let leaving = thread::spawn(move || {
        for s in leavers.iter_mut() {
            s.frame();
        }
        drop(leavers);
    });
    let mut w = Conn::open(server.port);
    let writer = thread::spawn(move || {
        w.send_raw(&bytes);
        for _ in 0..MESSAGES {
            let count = w.frame();
            assert!(count.starts_with(b":") && count.len() == 4, "{:?}", String::from_utf8_lossy(&count));
        }
        w
    });
    for s in stayers.iter_mut() {
        for n in 0..MESSAGES {
            assert_eq!(String::from_utf8(s.frame()).unwrap(), message("c", &n.to_string()));
        }
    }
    leaving.join().unwrap();
    let mut w = writer.join().unwrap();
    // Gone subscribers are unregistered as their connections close.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = w.int(&["PUBLISH", "c", "last"]);
        for s in stayers.iter_mut() {
            assert_eq!(String::from_utf8(s.frame()).unwrap(), message("c", "last"));
        }
        if n == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "PUBLISH still counts {n}");
        thread::sleep(Duration::from_millis(20));
    }
    w.expect(&["PUBSUB", "NUMPAT"], ":0\r\n");
}

/// A subscriber that never reads is disconnected once its queued messages
/// pass `client-output-buffer-limit pubsub` (hard limit), as Redis does;
/// the publisher goes on undisturbed and the server's memory stays bounded.
#[test]
fn a_subscriber_that_never_reads_is_disconnected() {
    let server = common::Server::start();
    let mut admin = Conn::open(server.port);
    admin.expect(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 2mb 1mb 60"], "+OK\r\n");
    let mut reader = Conn::open(server.port);
    reader.expect(&["SUBSCRIBE", "c"], &ack("subscribe", Some("c"), 1));
    let mut sleeper = Conn::open(server.port);
    sleeper.expect(&["SUBSCRIBE", "c"], &ack("subscribe", Some("c"), 1));
    let payload = "x".repeat(100_000);
    let mut publisher = Conn::open(server.port);
    // Socket buffers take some megabytes first; 100 MB is far past both.
    let mut cut_after = None;
    for i in 0..1_000 {
        let receivers = publisher.int(&["PUBLISH", "c", &payload]);
        assert_eq!(String::from_utf8(reader.frame()).unwrap(), message("c", &payload));
        if receivers == 1 {
            cut_after = Some(i);
            break;
        }
    }
    let cut_after = cut_after.expect("the subscriber that never reads is still subscribed after 100 MB");
    eprintln!("cut off after {} messages of 100 kB", cut_after);
    // Its connection is closed: what it reads now ends.
    sleeper.until_closed();
    publisher.expect(&["PUBSUB", "NUMSUB", "c"], "*2\r\n$1\r\nc\r\n:1\r\n");
}

fn smessage(channel: &str, payload: &str) -> String {
    frame('*', &[Some("smessage"), Some(channel), Some(payload)], None)
}

/// Shard channels: their own namespace and count, `smessage` frames,
/// PUBSUB SHARDCHANNELS / SHARDNUMSUB, and no crossing with plain channels.
#[test]
fn sharded_pubsub_matches_redis() {
    let p = Pair::start(&[]);
    p.session_raw(&steps(&[
        (&["SSUBSCRIBE"], "-ERR wrong number of arguments for 'ssubscribe' command\r\n"),
        (&["SPUBLISH", "a"], "-ERR wrong number of arguments for 'spublish' command\r\n"),
        (&["SUNSUBSCRIBE"], &ack("sunsubscribe", None, 0)),
        (&["SUBSCRIBE", "a"], &ack("subscribe", Some("a"), 1)),
        (&["SSUBSCRIBE", "a", "b"], &(ack("ssubscribe", Some("a"), 1) + &ack("ssubscribe", Some("b"), 2))),
        (&["PSUBSCRIBE", "x*"], &ack("psubscribe", Some("x*"), 2)),
        (&["GET", "k"], &not_allowed("get")),
        (&["UNSUBSCRIBE"], &ack("unsubscribe", Some("a"), 1)),
        (&["PUNSUBSCRIBE"], &ack("punsubscribe", Some("x*"), 0)),
        // Still subscribed to shard channels: still in subscribed mode.
        (&["GET", "k"], &not_allowed("get")),
        (&["SUNSUBSCRIBE", "b", "zz"], &(ack("sunsubscribe", Some("b"), 1) + &ack("sunsubscribe", Some("zz"), 1))),
        (&["SUNSUBSCRIBE"], &ack("sunsubscribe", Some("a"), 0)),
        (&["GET", "k"], "$-1\r\n"),
        // Shard channels are in the key positions (cluster routing) but not keys.
        (&["COMMAND", "GETKEYS", "SPUBLISH", "ch", "m"], "-ERR The command has no key arguments\r\n"),
        (&["COMMAND", "GETKEYS", "SSUBSCRIBE", "c1", "c2"], "-ERR The command has no key arguments\r\n"),
    ]));
    for (name, port) in p.ports() {
        let mut subs: Vec<Conn> = (0..8).map(|_| Conn::open(port)).collect();
        for s in &mut subs {
            s.expect(&["SSUBSCRIBE", "orders", "news"], &ack("ssubscribe", Some("orders"), 1));
            assert_eq!(String::from_utf8(s.frame()).unwrap(), ack("ssubscribe", Some("news"), 2), "{name}");
        }
        subs[0].expect(&["SUBSCRIBE", "plain"], &ack("subscribe", Some("plain"), 1));
        let mut publisher = Conn::open(port);
        assert_eq!(publisher.int(&["SPUBLISH", "orders", "o1"]), 8, "{name}");
        // A plain PUBLISH does not reach shard-channel subscribers, nor the reverse.
        assert_eq!(publisher.int(&["PUBLISH", "orders", "p"]), 0, "{name}");
        assert_eq!(publisher.int(&["SPUBLISH", "plain", "p"]), 0, "{name}");
        for s in &mut subs {
            assert_eq!(String::from_utf8(s.frame()).unwrap(), smessage("orders", "o1"), "{name}");
            s.assert_silent(Duration::from_millis(20));
        }
        let mut listed = blackbox::bulk_array(&publisher.call(&["PUBSUB", "SHARDCHANNELS"]));
        listed.sort();
        assert_eq!(listed, ["news", "orders"], "{name}");
        publisher.expect(&["PUBSUB", "SHARDCHANNELS", "o*"], "*1\r\n$6\r\norders\r\n");
        publisher.expect(&["PUBSUB", "CHANNELS"], "*1\r\n$5\r\nplain\r\n");
        publisher
            .expect(&["PUBSUB", "SHARDNUMSUB", "orders", "plain"], "*4\r\n$6\r\norders\r\n:8\r\n$5\r\nplain\r\n:0\r\n");
        publisher.expect(&["PUBSUB", "NUMSUB", "orders", "plain"], "*4\r\n$6\r\norders\r\n:0\r\n$5\r\nplain\r\n:1\r\n");
        let info = String::from_utf8(publisher.call(&["INFO", "stats"])).unwrap();
        let field = |f| blackbox::info_field(&info, f);
        assert_eq!(field("pubsub_channels").as_deref(), Some("1"), "{name}");
        assert_eq!(field("pubsub_patterns").as_deref(), Some("0"), "{name}");
        assert_eq!(field("pubsubshard_channels").as_deref(), Some("2"), "{name}");
        drop(subs);
        // Connections that close leave no subscriptions behind.
        let deadline = Instant::now() + Duration::from_secs(5);
        while publisher.int(&["SPUBLISH", "orders", "o2"]) != 0 {
            assert!(Instant::now() < deadline, "{name}: closed subscribers still counted");
            thread::sleep(Duration::from_millis(10));
        }
        publisher.expect(&["PUBSUB", "SHARDCHANNELS"], "*0\r\n");
    }
}

/// The RESP3 frame of a shard message, and CLIENT LIST's counts.
#[test]
fn shard_messages_in_resp3_and_client_counts() {
    let p = Pair::start(&[]);
    for (name, port) in p.ports() {
        let mut sub = Conn::open(port);
        sub.call(&["HELLO", "3"]);
        sub.expect(&["SSUBSCRIBE", "s"], &ack3("ssubscribe", Some("s"), 1));
        sub.expect(&["SUBSCRIBE", "a", "b"], &ack3("subscribe", Some("a"), 1));
        assert_eq!(String::from_utf8(sub.frame()).unwrap(), ack3("subscribe", Some("b"), 2), "{name}");
        sub.expect(&["PSUBSCRIBE", "p*"], &ack3("psubscribe", Some("p*"), 3));
        let line = String::from_utf8(sub.call(&["CLIENT", "INFO"])).unwrap();
        assert!(line.contains(" sub=2 psub=1 ssub=1 "), "{name}: {line}");
        assert!(line.contains(" flags=P "), "{name}: {line}");
        let mut publisher = Conn::open(port);
        assert_eq!(publisher.int(&["SPUBLISH", "s", "hi"]), 1, "{name}");
        let push = frame('>', &[Some("smessage"), Some("s"), Some("hi")], None);
        assert_eq!(String::from_utf8(sub.frame()).unwrap(), push, "{name}");
    }
}

#[test]
fn pubsub_help_matches_redis() {
    let p = Pair::start(&[]);
    for (name, port) in p.ports() {
        let mut c = Conn::open(port);
        let help = String::from_utf8(c.call(&["PUBSUB", "HELP"])).unwrap();
        assert!(
            help.starts_with("*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"),
            "{name}: {help}"
        );
        assert!(help.contains("+SHARDNUMSUB [<shardchannel> ...]\r\n"), "{name}");
        assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"), "{name}");
    }
}

/// The bound: a subscriber that never reads while 1 GB is published
/// is cut off at the default `client-output-buffer-limit pubsub 32mb 8mb 60`;
/// the server's memory stays bounded, and a subscriber that reads gets
/// every message.
#[test]
fn a_gigabyte_to_a_subscriber_that_never_reads_stays_bounded() {
    let server = common::Server::start();
    let mut reader = Conn::open(server.port);
    reader.expect(&["SUBSCRIBE", "c"], &ack("subscribe", Some("c"), 1));
    let mut sleeper = Conn::open(server.port);
    sleeper.expect(&["SUBSCRIBE", "c"], &ack("subscribe", Some("c"), 1));
    let mut publisher = Conn::open(server.port);
    let rss = |c: &mut Conn| -> u64 {
        let info = String::from_utf8(c.call(&["INFO", "memory"])).unwrap();
        blackbox::info_field(&info, "used_memory_rss").unwrap().parse().unwrap()
    };
    let before = rss(&mut publisher);
    let payload = "y".repeat(1 << 20);
    let want = message("c", &payload);
    let (mut peak, mut cut_after) = (0, None);
    for i in 0..1024 {
        let receivers = publisher.int(&["PUBLISH", "c", &payload]);
        assert_eq!(String::from_utf8(reader.frame()).unwrap(), want, "message {i}");
        if receivers == 1 && cut_after.is_none() {
            cut_after = Some(i);
        }
        if i % 32 == 0 {
            peak = peak.max(rss(&mut publisher));
        }
    }
    let cut_after = cut_after.expect("the subscriber that never reads was never disconnected");
    eprintln!("cut off after {cut_after} MB; RSS {} MB before, peak {} MB", before >> 20, peak >> 20);
    assert!(cut_after < 64, "disconnected only after {cut_after} MB (limit 32 MB)");
    assert!(peak < before + (160 << 20), "RSS grew from {before} to {peak} while publishing 1 GB");
    sleeper.until_closed();
}

/// CLIENT REPLY OFF and SKIP silence replies, but not (un)subscribe
/// confirmations, which Redis sends as pushes (found by Redis's pubsub test
/// "PubSub messages with CLIENT REPLY OFF", which hung on shardis).
#[test]
fn subscribe_confirmations_ignore_client_reply_off_and_skip() {
    let p = Pair::start(&[]);
    let resp2 = [
        (&["CLIENT", "REPLY", "OFF"][..], String::new()),
        (&["SUBSCRIBE", "a"], ack("subscribe", Some("a"), 1)),
        (&["PSUBSCRIBE", "a*"], ack("psubscribe", Some("a*"), 2)),
        (&["PING"], String::new()),
        (&["UNSUBSCRIBE"], ack("unsubscribe", Some("a"), 1)),
        (&["PUNSUBSCRIBE"], ack("punsubscribe", Some("a*"), 0)),
        (&["UNSUBSCRIBE"], ack("unsubscribe", None, 0)),
        (&["SET", "k", "v"], String::new()),
        (&["CLIENT", "REPLY", "ON"], "+OK\r\n".to_string()),
        (&["CLIENT", "REPLY", "SKIP"], String::new()),
        (&["SUBSCRIBE", "b"], ack("subscribe", Some("b"), 1)),
        (&["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n".to_string()),
        (&["UNSUBSCRIBE", "b"], ack("unsubscribe", Some("b"), 0)),
        (&["GET", "k"], "$1\r\nv\r\n".to_string()),
        (&["DEL", "k"], ":1\r\n".to_string()),
    ];
    let list: Vec<(&[&str], &str)> = resp2.iter().map(|(a, r)| (*a, r.as_str())).collect();
    p.session_raw(&steps(&list));
    let resp3 = [
        (&["CLIENT", "REPLY", "OFF"][..], String::new()),
        (&["SUBSCRIBE", "a"], ack3("subscribe", Some("a"), 1)),
        (&["PING"], String::new()),
        (&["SSUBSCRIBE", "s"], ack3("ssubscribe", Some("s"), 1)),
        (&["SUNSUBSCRIBE"], ack3("sunsubscribe", Some("s"), 0)),
        (&["UNSUBSCRIBE", "a"], ack3("unsubscribe", Some("a"), 0)),
        (&["CLIENT", "REPLY", "ON"], "+OK\r\n".to_string()),
    ];
    let list: Vec<(&[&str], &str)> = resp3.iter().map(|(a, r)| (*a, r.as_str())).collect();
    p.session_resp3_raw(&steps(&list));
}
