//! Connection commands, black-box: PING, ECHO, QUIT, RESET, HELLO, AUTH,
//! SELECT, the CLIENT family and MONITOR, against the real binary (two
//! shards). Replies are compared byte for byte; where Redis 7.0 answers the
//! same bytes, the same session also runs against a real `redis-server`.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blackbox::{bulk_text, esc, ports, session, Conn, Oracle};
use common::Server;
use shardis::slot::shard_of_key;

/// Keys named `{prefix}{n}` that live on `shard` of the test server's two.
fn keys_on(prefix: &str, shard: usize, n: usize) -> Vec<String> {
    (0..).map(|i| format!("{}{}", prefix, i)).filter(|k| shard_of_key(k.as_bytes(), 2) == shard).take(n).collect()
}

#[test]
fn ping_and_echo() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    session(
        &ports(&server, &oracle),
        &[
            (&["PING"], "+PONG\r\n"),
            (&["PING", "hello world"], "$11\r\nhello world\r\n"),
            (&["PING", ""], "$0\r\n\r\n"),
            (&["PING", "a", "b"], "-ERR wrong number of arguments for 'ping' command\r\n"),
            (&["ECHO", "x\r\ny"], "$4\r\nx\r\ny\r\n"),
            (&["ECHO"], "-ERR wrong number of arguments for 'echo' command\r\n"),
            (&["ECHO", "a", "b"], "-ERR wrong number of arguments for 'echo' command\r\n"),
        ],
    );
    // RESP3 changes nothing for these.
    let mut c = Conn::open(server.port);
    c.call(&["HELLO", "3"]);
    c.expect(&["PING"], "+PONG\r\n");
    c.expect(&["PING", "x"], "$1\r\nx\r\n");
}

#[test]
fn quit_answers_ok_then_closes_and_runs_nothing_after() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    for port in ports(&server, &oracle) {
        let mut c = Conn::open(port);
        let mut req = encode_all(&[&["SET", "before", "1"], &["QUIT"], &["SET", "after", "1"], &["PING"]]);
        req.extend_from_slice(b"PING\r\n");
        c.send_raw(&req);
        assert_eq!(esc(&c.until_closed()), esc(b"+OK\r\n+OK\r\n"), "port {}", port);
        let mut d = Conn::open(port);
        d.expect(&["GET", "before"], "$1\r\n1\r\n");
        d.expect(&["GET", "after"], "$-1\r\n");
        // QUIT takes (and ignores) arguments.
        d.send(&["QUIT", "now"]);
        assert_eq!(esc(&d.until_closed()), esc(b"+OK\r\n"));
    }
}

fn encode_all(cmds: &[&[&str]]) -> Vec<u8> {
    cmds.iter().flat_map(|c| blackbox::encode(c)).collect()
}

#[test]
fn hello_reports_the_protocol_and_the_connection() {
    let server = Server::start();
    let mut c = Conn::open(server.port);
    let id = c.int(&["CLIENT", "ID"]);
    let body = |proto: u8| {
        format!(
            "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n$5\r\nproto\r\n:{}\r\n$2\r\nid\r\n:{}\r\n\
             $4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
            proto, id
        )
    };
    // No version: the current protocol, in the current protocol.
    c.expect(&["HELLO"], &format!("*14\r\n{}", body(2)));
    c.expect(&["HELLO", "2"], &format!("*14\r\n{}", body(2)));
    c.expect(&["HELLO", "3"], &format!("%7\r\n{}", body(3)));
    c.expect(&["HELLO"], &format!("%7\r\n{}", body(3)));
    // RESP3 from now on: a map for CONFIG GET, `_` for a missing value.
    c.expect(&["CONFIG", "GET", "timeout"], "%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n");
    c.expect(&["GET", "nosuchkey"], "_\r\n");
    c.expect(&["HELLO", "2"], &format!("*14\r\n{}", body(2)));
    c.expect(&["GET", "nosuchkey"], "$-1\r\n");
}

#[test]
fn hello_errors_and_setname() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    session(
        &ports(&server, &oracle),
        &[
            (&["HELLO", "4"], "-NOPROTO unsupported protocol version\r\n"),
            (&["HELLO", "1"], "-NOPROTO unsupported protocol version\r\n"),
            (&["HELLO", "abc"], "-ERR Protocol version is not an integer or out of range\r\n"),
            (&["HELLO", "3", "x"], "-ERR Syntax error in HELLO option 'x'\r\n"),
            (&["HELLO", "3", "AUTH", "default"], "-ERR Syntax error in HELLO option 'AUTH'\r\n"),
            (&["HELLO", "2", "SETNAME"], "-ERR Syntax error in HELLO option 'SETNAME'\r\n"),
            (
                &["HELLO", "2", "SETNAME", "a b"],
                "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
            ),
            // A failed HELLO leaves the protocol alone.
            (&["GET", "nosuchkey"], "$-1\r\n"),
            (&["CLIENT", "GETNAME"], "$-1\r\n"),
        ],
    );
    let mut c = Conn::open(server.port);
    let reply = c.call(&["HELLO", "3", "SETNAME", "myname"]);
    assert!(reply.starts_with(b"%7\r\n"), "{:?}", esc(&reply));
    c.expect(&["CLIENT", "GETNAME"], "$6\r\nmyname\r\n");
    assert!(c.text(&["CLIENT", "INFO"]).contains(" name=myname "));
}

#[test]
fn auth_without_a_password() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    session(
        &ports(&server, &oracle),
        &[
            (
                &["AUTH", "x"],
                "-ERR AUTH <password> called without any password configured for the default user. Are you sure \
                 your configuration is correct?\r\n",
            ),
            // The default user has no password: any password is fine for it.
            (&["AUTH", "default", "anything"], "+OK\r\n"),
            (&["AUTH", "someone", "x"], "-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
            (&["AUTH"], "-ERR wrong number of arguments for 'auth' command\r\n"),
            (&["AUTH", "a", "b", "c"], "-ERR syntax error\r\n"),
            (&["GET", "k"], "$-1\r\n"),
        ],
    );
}

const NOAUTH_HELLO: &str = "-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
                            HELLO AUTH <user> <pass> option can be used to authenticate the client and select the \
                            RESP protocol version at the same time\r\n";

#[test]
fn auth_with_requirepass() {
    let server = Server::start_with(&["--requirepass", "pw"]);
    let oracle = Oracle::start(&["--requirepass", "pw"]);
    let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    session(
        &ports(&server, &oracle),
        &[
            (&["GET", "k"], "-NOAUTH Authentication required.\r\n"),
            (&["PING"], "-NOAUTH Authentication required.\r\n"),
            (&["CLIENT", "ID"], "-NOAUTH Authentication required.\r\n"),
            (&["SELECT", "1"], "-NOAUTH Authentication required.\r\n"),
            (&["HELLO"], NOAUTH_HELLO),
            (&["HELLO", "3"], NOAUTH_HELLO),
            (&["HELLO", "3", "SETNAME", "n"], NOAUTH_HELLO),
            (&["HELLO", "3", "AUTH", "default", "wrong"], wrongpass),
            (&["AUTH", "wrong"], wrongpass),
            (&["AUTH", "default", "wrong"], wrongpass),
            (&["AUTH", "nobody", "pw"], wrongpass),
            (&["GET", "k"], "-NOAUTH Authentication required.\r\n"),
            (&["AUTH", "pw"], "+OK\r\n"),
            (&["GET", "k"], "$-1\r\n"),
            // A wrong password later does not log the connection out.
            (&["AUTH", "wrong"], wrongpass),
            (&["GET", "k"], "$-1\r\n"),
            // RESET does.
            (&["RESET"], "+RESET\r\n"),
            (&["GET", "k"], "-NOAUTH Authentication required.\r\n"),
            (&["AUTH", "default", "pw"], "+OK\r\n"),
            (&["SET", "k", "v"], "+OK\r\n"),
        ],
    );
    // QUIT works without authenticating.
    let mut q = Conn::open(server.port);
    q.send(&["QUIT"]);
    assert_eq!(esc(&q.until_closed()), esc(b"+OK\r\n"));
    // HELLO can authenticate, switch protocol and name the connection at once.
    let mut c = Conn::open(server.port);
    let reply = c.call(&["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "hi"]);
    assert!(reply.starts_with(b"%7\r\n$6\r\nserver\r\n"), "{:?}", esc(&reply));
    c.expect(&["GET", "k"], "$1\r\nv\r\n");
    c.expect(&["GET", "nokey"], "_\r\n");
    c.expect(&["CLIENT", "GETNAME"], "$2\r\nhi\r\n");
}

#[test]
fn select_ranges_and_per_connection_databases() {
    let server = Server::start_with(&["--databases", "4"]);
    let mut a = Conn::open(server.port);
    a.expect(&["SELECT", "4"], "-ERR DB index is out of range\r\n");
    a.expect(&["SELECT", "-1"], "-ERR DB index is out of range\r\n");
    a.expect(&["SELECT", "abc"], "-ERR value is not an integer or out of range\r\n");
    a.expect(&["SELECT", "1.5"], "-ERR value is not an integer or out of range\r\n");
    a.expect(&["SELECT", "99999999999999999999"], "-ERR value is not an integer or out of range\r\n");
    a.expect(&["SELECT", "3"], "+OK\r\n");
    a.expect(&["SELECT", "1"], "+OK\r\n");
    // Keys on both shards, in db 1.
    let keys: Vec<String> = keys_on("db1key", 0, 2).into_iter().chain(keys_on("db1key", 1, 2)).collect();
    for k in &keys {
        a.expect(&["SET", k, "v1"], "+OK\r\n");
    }
    a.expect(&["DBSIZE"], ":4\r\n");
    let mut b = Conn::open(server.port);
    for k in &keys {
        b.expect(&["GET", k], "$-1\r\n");
        b.expect(&["EXISTS", k], ":0\r\n");
    }
    b.expect(&["DBSIZE"], ":0\r\n");
    // The same names in db 0 are other keys.
    b.expect(&["SET", &keys[0], "v0"], "+OK\r\n");
    a.expect(&["GET", &keys[0]], "$2\r\nv1\r\n");
    b.expect(&["GET", &keys[0]], "$2\r\nv0\r\n");
    let mut args = vec!["MGET"];
    args.extend(keys.iter().map(String::as_str));
    a.expect(&args, "*4\r\n$2\r\nv1\r\n$2\r\nv1\r\n$2\r\nv1\r\n$2\r\nv1\r\n");
    b.expect(&args, "*4\r\n$2\r\nv0\r\n$-1\r\n$-1\r\n$-1\r\n");
    assert!(a.text(&["CLIENT", "INFO"]).contains(" db=1 "));
    assert!(b.text(&["CLIENT", "INFO"]).contains(" db=0 "));
    let keyspace = b.text(&["INFO", "keyspace"]);
    assert_eq!(keyspace, "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\ndb1:keys=4,expires=0,avg_ttl=0\r\n");
    // FLUSHDB empties the selected db only, on every shard.
    a.expect(&["FLUSHDB"], "+OK\r\n");
    a.expect(&["DBSIZE"], ":0\r\n");
    b.expect(&["DBSIZE"], ":1\r\n");
}

#[test]
fn client_id_setname_getname_info() {
    let server = Server::start();
    let mut a = Conn::open(server.port);
    let ida = a.int(&["CLIENT", "ID"]);
    // Accepted after `a` was (it answered), so a greater id.
    let idb = Conn::open(server.port).int(&["CLIENT", "ID"]);
    assert!(ida > 0 && idb > ida, "{} {}", ida, idb);
    a.expect(&["CLIENT", "ID"], &format!(":{}\r\n", ida));
    a.expect(&["CLIENT", "GETNAME"], "$-1\r\n");
    a.expect(&["CLIENT", "SETNAME", "conn-a"], "+OK\r\n");
    a.expect(&["CLIENT", "GETNAME"], "$6\r\nconn-a\r\n");
    let bad = "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
    for name in ["a b", "a\nb", "caf\u{e9}", "tab\there"] {
        a.expect(&["CLIENT", "SETNAME", name], bad);
    }
    a.expect(&["CLIENT", "GETNAME"], "$6\r\nconn-a\r\n");
    a.expect(&["CLIENT", "SETNAME"], "-ERR wrong number of arguments for 'client|setname' command\r\n");
    let info = a.text(&["CLIENT", "INFO"]);
    let prefix = format!("id={} addr={} laddr=127.0.0.1:{} fd=", ida, a.local_addr(), server.port);
    assert!(info.starts_with(&prefix), "{:?} does not start with {:?}", info, prefix);
    for field in [" name=conn-a ", " flags=N ", " db=0 ", " cmd=client|info ", " user=default ", " resp=2 "] {
        assert!(info.contains(field), "{:?} lacks {:?}", info, field);
    }
    assert!(info.ends_with('\n') && info.lines().count() == 1, "{:?}", info);
    // An empty name clears it.
    a.expect(&["CLIENT", "SETNAME", ""], "+OK\r\n");
    a.expect(&["CLIENT", "GETNAME"], "$-1\r\n");
    assert!(a.text(&["CLIENT", "INFO"]).contains(" name= "));
    // RESP3: CLIENT INFO is a verbatim string.
    a.call(&["HELLO", "3"]);
    let frame = a.call(&["CLIENT", "INFO"]);
    assert!(frame.starts_with(b"=") && frame[1..].windows(6).any(|w| w == b"\r\ntxt:"), "{:?}", esc(&frame));
    assert!(bulk_text(&frame).unwrap().contains(" resp=3 "));
}

#[test]
fn client_setinfo_no_evict_no_touch_help() {
    let server = Server::start();
    let mut c = Conn::open(server.port);
    c.expect(&["CLIENT", "SETINFO", "lib-name", "redis-rs"], "+OK\r\n");
    c.expect(&["CLIENT", "SETINFO", "LIB-VER", "0.27"], "+OK\r\n");
    let info = c.text(&["CLIENT", "INFO"]);
    assert!(info.ends_with(" lib-name=redis-rs lib-ver=0.27\n"), "{:?}", info);
    c.expect(&["CLIENT", "SETINFO", "foo", "x"], "-ERR Unrecognized option 'foo'\r\n");
    c.expect(&["CLIENT", "SETINFO", "foo", "a b"], "-ERR Unrecognized option 'foo'\r\n");
    c.expect(
        &["CLIENT", "SETINFO", "lib-name", "a b"],
        "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n",
    );
    c.expect(
        &["CLIENT", "SETINFO", "lib-name", "x", "y"],
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n",
    );
    c.expect(&["CLIENT", "NO-EVICT", "on"], "+OK\r\n");
    c.expect(&["CLIENT", "NO-TOUCH", "ON"], "+OK\r\n");
    assert!(c.text(&["CLIENT", "INFO"]).contains(" flags=eT "));
    c.expect(&["CLIENT", "NO-EVICT", "off"], "+OK\r\n");
    assert!(c.text(&["CLIENT", "INFO"]).contains(" flags=T "));
    c.expect(&["CLIENT", "NO-TOUCH", "off"], "+OK\r\n");
    assert!(c.text(&["CLIENT", "INFO"]).contains(" flags=N "));
    c.expect(&["CLIENT", "NO-EVICT", "maybe"], "-ERR syntax error\r\n");
    c.expect(&["CLIENT", "NO-TOUCH", "maybe"], "-ERR syntax error\r\n");
    c.expect(&["CLIENT", "FOO"], "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    c.expect(&["CLIENT"], "-ERR wrong number of arguments for 'client' command\r\n");
    let help = c.call(&["CLIENT", "HELP"]);
    let text = String::from_utf8_lossy(&help);
    assert!(
        text.starts_with("*45\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"),
        "{}",
        text
    );
    assert!(text.ends_with("+HELP\r\n+    Prints this help.\r\n"), "{}", text);
    for sub in ["+ID\r\n", "+KILL <ip:port>\r\n", "+REPLY (ON|OFF|SKIP)\r\n", "+NO-EVICT (ON|OFF)\r\n"] {
        assert!(text.contains(sub), "{}", text);
    }
}

/// Parses CLIENT LIST text into (id, line) pairs.
fn client_lines(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .map(|l| {
            let id = l.strip_prefix("id=").and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok());
            (id.unwrap_or_else(|| panic!("bad line {:?}", l)), l.to_string())
        })
        .collect()
}

#[test]
fn client_list_spans_shards_sorted_by_id() {
    let server = Server::start();
    // Connections land on either shard (SO_REUSEPORT): with 16 of them both
    // shards have some, save a 2^-15 chance; the list must hold all anyway.
    let mut conns: Vec<Conn> = (0..16).map(|_| Conn::open(server.port)).collect();
    let conn_ids: Vec<u64> = conns.iter_mut().map(|c| c.int(&["CLIENT", "ID"]) as u64).collect();
    let mut ids = conn_ids.clone();
    for (i, c) in conns.iter_mut().enumerate() {
        c.expect(&["CLIENT", "SETNAME", &format!("c{}", i)], "+OK\r\n");
    }
    ids.sort();
    settle(&mut conns[3], &ids);
    let list = conns[3].text(&["CLIENT", "LIST"]);
    let lines = client_lines(&list);
    let listed: Vec<u64> = lines.iter().map(|(id, _)| *id).collect();
    assert_eq!(listed, ids, "{}", list);
    for (i, c) in conns.iter().enumerate() {
        let line = &lines.iter().find(|(_, l)| l.contains(&format!(" addr={} ", c.local_addr()))).unwrap().1;
        assert!(line.contains(&format!(" name=c{} ", i)), "{}", line);
        let cmd = if i == 3 { "client|list" } else { "client|setname" };
        assert!(line.contains(&format!(" cmd={} ", cmd)), "{}", line);
    }
    // Filters.
    let normal = conns[0].text(&["CLIENT", "LIST", "TYPE", "normal"]);
    assert_eq!(client_lines(&normal).iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids);
    conns[0].expect(&["CLIENT", "LIST", "TYPE", "pubsub"], "$0\r\n\r\n");
    conns[0].expect(&["CLIENT", "LIST", "TYPE", "master"], "$0\r\n\r\n");
    let (a, b) = (ids[5].to_string(), ids[11].to_string());
    let two = conns[0].text(&["CLIENT", "LIST", "ID", &b, &a, "999999"]);
    assert_eq!(client_lines(&two).iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![ids[5], ids[11]]);
    conns[0].expect(&["CLIENT", "LIST", "ID", "abc"], "-ERR Invalid client ID\r\n");
    conns[0].expect(&["CLIENT", "LIST", "ID", "0"], "-ERR Invalid client ID\r\n");
    conns[0].expect(&["CLIENT", "LIST", "TYPE", "foo"], "-ERR Unknown client type 'foo'\r\n");
    conns[0].expect(&["CLIENT", "LIST", "ID"], "-ERR syntax error\r\n");
    conns[0].expect(&["CLIENT", "LIST", "foo", "bar"], "-ERR syntax error\r\n");
    // A closed connection leaves the list.
    drop(conns.remove(7));
    ids.retain(|&id| id != conn_ids[7]);
    settle(&mut conns[0], &ids);
}

/// `qbuf` as Redis reports it: for the client running CLIENT LIST or
/// CLIENT INFO, its whole input of the round (the command itself: 26
/// bytes); for another client, what it has sent and is not parsed yet (a
/// partial bulk's bytes, its header having been parsed).
#[test]
fn client_list_qbuf_counts_the_running_command_and_a_partial_bulk() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    for port in ports(&server, &oracle) {
        let mut partial = Conn::open(port);
        partial.expect(&["CLIENT", "SETNAME", "partial"], "+OK\r\n");
        let mut me = Conn::open(port);
        let mut info = me.text(&["CLIENT", "INFO"]);
        assert!(info.contains(" qbuf=26 "), "port {}: {}", port, info);
        partial.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n");
        partial.send_raw(&[b'x'; 50]);
        let mut line = String::new();
        for _ in 0..100 {
            let list = me.text(&["CLIENT", "LIST"]);
            line = list.lines().find(|l| l.contains(" name=partial ")).unwrap().to_string();
            if line.contains(" qbuf=50 ") {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(line.contains(" qbuf=50 "), "port {}: {}", port, line);
        info = me.text(&["CLIENT", "INFO"]);
        assert!(info.contains(" qbuf=26 "), "port {}: {}", port, info);
        partial.send_raw(&[b'x'; 50]);
        partial.send_raw(b"\r\n");
        assert_eq!(partial.frame(), b"+OK\r\n");
    }
}

/// Waits (polling CLIENT LIST) until exactly `ids` are connected: the
/// harness's readiness probe and closed connections leave asynchronously.
fn settle(c: &mut Conn, ids: &[u64]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let list = c.text(&["CLIENT", "LIST"]);
        let now: Vec<u64> = client_lines(&list).iter().map(|(id, _)| *id).collect();
        if now == ids {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "clients {:?}, expected {:?}", now, ids);
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn resp3_text_replies_are_verbatim() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    for port in ports(&server, &oracle) {
        let mut c = Conn::open(port);
        assert!(c.call(&["HELLO", "3"]).starts_with(b"%7\r\n"));
        c.expect(&["CLIENT", "LIST", "TYPE", "pubsub"], "=4\r\ntxt:\r\n");
        let info = c.call(&["INFO", "server"]);
        assert!(info.starts_with(b"=") && info.windows(16).any(|w| w == b"\r\ntxt:# Server\r\n"), "{:?}", esc(&info));
        let list = c.call(&["CLIENT", "LIST"]);
        assert!(list.windows(8).any(|w| w == b"\r\ntxt:id"), "{:?}", esc(&list));
    }
}

#[test]
fn client_kill_forms() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    for port in ports(&server, &oracle) {
        let mut a = Conn::open(port);
        // Old form: `CLIENT KILL addr` answers OK or an error.
        let mut victim = Conn::open(port);
        victim.expect(&["PING"], "+PONG\r\n");
        a.expect(&["CLIENT", "KILL", &victim.local_addr()], "+OK\r\n");
        assert_eq!(esc(&victim.until_closed()), esc(b""), "port {}", port);
        a.expect(&["CLIENT", "KILL", "1.2.3.4:5"], "-ERR No such client\r\n");
        // Filter form: the number of clients killed.
        let mut victim = Conn::open(port);
        let vid = victim.int(&["CLIENT", "ID"]).to_string();
        a.expect(&["CLIENT", "KILL", "ID", &vid], ":1\r\n");
        assert_eq!(esc(&victim.until_closed()), esc(b""));
        a.expect(&["CLIENT", "KILL", "ID", &vid], ":0\r\n");
        // A client killed earlier in the same pipeline is not counted again.
        let victim = Conn::open(port);
        let mut v2 = victim;
        let vid = v2.int(&["CLIENT", "ID"]).to_string();
        a.send_raw(&encode_all(&[&["CLIENT", "KILL", "ID", &vid], &["CLIENT", "KILL", "ID", &vid]]));
        assert_eq!(esc(&a.frame()), esc(b":1\r\n"));
        assert_eq!(esc(&a.frame()), esc(b":0\r\n"));
        v2.until_closed();
        let mut victim = Conn::open(port);
        victim.expect(&["PING"], "+PONG\r\n");
        a.expect(&["CLIENT", "KILL", "ADDR", &victim.local_addr(), "TYPE", "normal"], ":1\r\n");
        victim.until_closed();
        // The caller is skipped unless SKIPME no.
        let me = a.local_addr();
        let my_id = a.int(&["CLIENT", "ID"]).to_string();
        a.expect(&["CLIENT", "KILL", "ADDR", &me], ":0\r\n");
        a.expect(&["CLIENT", "KILL", "ID", &my_id, "SKIPME", "yes"], ":0\r\n");
        a.expect(&["CLIENT", "KILL", "TYPE", "master"], ":0\r\n");
        a.expect(&["CLIENT", "KILL", "TYPE", "pubsub"], ":0\r\n");
        a.expect(&["CLIENT", "KILL", "LADDR", "1.2.3.4:5"], ":0\r\n");
        a.expect(&["CLIENT", "KILL", "USER", "nobody"], "-ERR No such user 'nobody'\r\n");
        a.expect(&["CLIENT", "KILL", "ID", "0"], "-ERR client-id should be greater than 0\r\n");
        a.expect(&["CLIENT", "KILL", "ID", "abc"], "-ERR client-id should be greater than 0\r\n");
        a.expect(&["CLIENT", "KILL", "TYPE", "foo"], "-ERR Unknown client type 'foo'\r\n");
        a.expect(&["CLIENT", "KILL", "SKIPME", "maybe"], "-ERR syntax error\r\n");
        a.expect(&["CLIENT", "KILL", "foo", "bar"], "-ERR syntax error\r\n");
        a.expect(&["CLIENT", "KILL", "ID", "1", "ADDR"], "-ERR syntax error\r\n");
        a.expect(&["CLIENT", "KILL"], "-ERR wrong number of arguments for 'client|kill' command\r\n");
        a.send(&["CLIENT", "KILL", "ADDR", &me, "SKIPME", "no"]);
        assert_eq!(esc(&a.until_closed()), esc(b":1\r\n"), "port {}", port);
    }
}

#[test]
fn client_kill_reaches_clients_of_every_shard() {
    let server = Server::start();
    let mut admin = Conn::open(server.port);
    let mut victims: Vec<Conn> = (0..12).map(|_| Conn::open(server.port)).collect();
    let mut ids = vec![admin.int(&["CLIENT", "ID"]) as u64];
    ids.extend(victims.iter_mut().map(|v| v.int(&["CLIENT", "ID"]) as u64));
    ids.sort();
    settle(&mut admin, &ids);
    // Every normal client but the caller, wherever it lives.
    admin.expect(&["CLIENT", "KILL", "TYPE", "normal"], ":12\r\n");
    for v in &mut victims {
        assert_eq!(esc(&v.until_closed()), esc(b""));
    }
    admin.expect(&["PING"], "+PONG\r\n");
}

#[test]
fn client_reply_off_on_skip() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    for port in ports(&server, &oracle) {
        let mut c = Conn::open(port);
        c.send_raw(&encode_all(&[
            &["CLIENT", "REPLY", "OFF"],
            &["SET", "k", "1"],
            &["PING"],
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "maybe"],
            &["INCR", "k"],
            &["CLIENT", "REPLY", "ON"],
            &["GET", "k"],
            &["CLIENT", "REPLY", "SKIP"],
            &["INCR", "k"],
            &["INCR", "k"],
            &["PING", "end"],
        ]));
        for want in ["+OK\r\n", "$1\r\n2\r\n", ":4\r\n", "$3\r\nend\r\n"] {
            assert_eq!(esc(&c.frame()), esc(want.as_bytes()), "port {}", port);
        }
        c.expect(&["CLIENT", "REPLY", "maybe"], "-ERR syntax error\r\n");
        c.expect(&["CLIENT", "REPLY", "ON"], "+OK\r\n");
    }
}

/// Known difference (connection layer, `src/server/conn.rs`): Redis clears a
/// pending SKIP with `CLIENT REPLY ON` and answers it, and a SKIP sent while
/// the current reply is skipped skips the next command too.
#[test]
fn client_reply_skip_then_skip_or_on() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    for port in ports(&server, &oracle).into_iter().rev() {
        let mut c = Conn::open(port);
        c.send_raw(&encode_all(&[
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "SKIP"],
            &["PING", "skipped"],
            &["PING", "a"],
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "ON"],
            &["PING", "b"],
        ]));
        for want in ["$1\r\na\r\n", "+OK\r\n", "$1\r\nb\r\n"] {
            assert_eq!(esc(&c.frame()), esc(want.as_bytes()), "port {}", port);
        }
    }
}

#[test]
fn reset_restores_a_fresh_connection() {
    let server = Server::start();
    let mut c = Conn::open(server.port);
    let id = c.int(&["CLIENT", "ID"]);
    c.expect(&["CLIENT", "SETNAME", "before"], "+OK\r\n");
    c.expect(&["SELECT", "2"], "+OK\r\n");
    c.expect(&["SET", "in2", "x"], "+OK\r\n");
    c.expect(&["CLIENT", "NO-TOUCH", "on"], "+OK\r\n");
    c.expect(&["CLIENT", "SETINFO", "lib-name", "lib"], "+OK\r\n");
    assert!(c.call(&["HELLO", "3"]).starts_with(b"%7\r\n"));
    c.expect(&["GET", "missing"], "_\r\n");
    c.expect(&["RESET"], "+RESET\r\n");
    c.expect(&["GET", "missing"], "$-1\r\n");
    c.expect(&["GET", "in2"], "$-1\r\n");
    c.expect(&["CLIENT", "GETNAME"], "$-1\r\n");
    // Same connection, same id; lib-name stays (it names the library).
    c.expect(&["CLIENT", "ID"], &format!(":{}\r\n", id));
    let info = c.text(&["CLIENT", "INFO"]);
    for field in [" name= ", " db=0 ", " flags=N ", " resp=2 ", " lib-name=lib "] {
        assert!(info.contains(field), "{:?} lacks {:?}", info, field);
    }
    c.expect(&["RESET", "x"], "-ERR wrong number of arguments for 'reset' command\r\n");
    // Redis 7.0 keeps CLIENT NO-EVICT across RESET, and turns REPLY back on.
    c.expect(&["CLIENT", "NO-EVICT", "on"], "+OK\r\n");
    c.send_raw(&encode_all(&[&["CLIENT", "REPLY", "OFF"], &["RESET"], &["PING"]]));
    assert_eq!(esc(&c.frame()), esc(b"+RESET\r\n"));
    assert_eq!(esc(&c.frame()), esc(b"+PONG\r\n"));
    assert!(c.text(&["CLIENT", "INFO"]).contains(" flags=e "));
}

/// Sends MONITOR on `m` and waits until the server streams to it: shardis
/// subscribes the connection only after writing the `+OK` (see the report),
/// so a command sent right after the `+OK` could be missed. CLIENT LIST shows
/// flag O from the moment the subscription exists.
fn start_monitor(port: u16) -> Conn {
    let mut m = Conn::open(port);
    let id = m.int(&["CLIENT", "ID"]).to_string();
    m.expect(&["MONITOR"], "+OK\r\n");
    let mut admin = Conn::open(port);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !admin.text(&["CLIENT", "LIST", "ID", &id]).contains(" flags=O ") {
        assert!(std::time::Instant::now() < deadline, "MONITOR never took effect");
        std::thread::sleep(Duration::from_millis(1));
    }
    m
}

/// Reads one MONITOR line and checks its shape: `+<secs>.<usecs> [<db>
/// <addr>] <args>`, the time within a minute of now.
fn monitor_line(m: &mut Conn, db: u32, addr: &str, args: &str) {
    let frame = m.frame();
    let line = String::from_utf8_lossy(&frame).into_owned();
    let rest = line.strip_prefix('+').unwrap_or_else(|| panic!("{:?}", line));
    let (ts, rest) = rest.split_once(' ').unwrap();
    let (secs, usecs) = ts.split_once('.').unwrap_or_else(|| panic!("{:?}", line));
    assert_eq!(usecs.len(), 6, "{:?}", line);
    assert!(usecs.bytes().all(|b| b.is_ascii_digit()), "{:?}", line);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let secs: u64 = secs.parse().unwrap();
    assert!(secs.abs_diff(now) < 60, "{:?}", line);
    assert_eq!(rest, format!("[{} {}] {}\r\n", db, addr, args));
}

#[test]
fn monitor_streams_other_clients_commands() {
    let server = Server::start();
    let mut m = start_monitor(server.port);
    let mut c = Conn::open(server.port);
    let addr = c.local_addr();
    c.expect(&["set", "k", "v"], "+OK\r\n");
    monitor_line(&mut m, 0, &addr, "\"set\" \"k\" \"v\"");
    c.expect(&["GET", "bin\"\n\x01"], "$-1\r\n");
    monitor_line(&mut m, 0, &addr, "\"GET\" \"bin\\\"\\n\\x01\"");
    c.expect(&["PING"], "+PONG\r\n");
    monitor_line(&mut m, 0, &addr, "\"PING\"");
    // Credentials never show.
    c.call(&["AUTH", "user", "secret"]);
    monitor_line(&mut m, 0, &addr, "\"AUTH\" \"(redacted)\" \"(redacted)\"");
    c.expect(&["SELECT", "3"], "+OK\r\n");
    c.expect(&["SET", "in3", "x"], "+OK\r\n");
    // (Which db the SELECT line itself shows differs: see the ignored test.)
    let select = m.frame();
    assert!(select.ends_with(format!(" {}] \"SELECT\" \"3\"\r\n", addr).as_bytes()), "{:?}", esc(&select));
    monitor_line(&mut m, 3, &addr, "\"SET\" \"in3\" \"x\"");
    // Admin commands (CONFIG, CLIENT LIST) are not shown.
    c.call(&["CONFIG", "GET", "port"]);
    c.call(&["CLIENT", "LIST"]);
    c.expect(&["ECHO", "last"], "$4\r\nlast\r\n");
    monitor_line(&mut m, 3, &addr, "\"ECHO\" \"last\"");
    // The monitor shows as flag O.
    let list = c.text(&["CLIENT", "LIST"]);
    assert!(list.contains(&format!(" addr={} ", m.local_addr())), "{}", list);
    let mline = list.lines().find(|l| l.contains(&format!(" addr={} ", m.local_addr()))).unwrap();
    assert!(mline.contains(" flags=O "), "{}", mline);
}

#[test]
fn reset_leaves_monitor_mode() {
    let server = Server::start();
    let mut m = start_monitor(server.port);
    let mut c = Conn::open(server.port);
    c.expect(&["SET", "a", "1"], "+OK\r\n");
    assert!(m.frame().ends_with(b"\"SET\" \"a\" \"1\"\r\n"));
    m.expect(&["RESET"], "+RESET\r\n");
    // shardis feeds MONITOR before a command runs, so the monitor also gets
    // its own RESET line (Redis, feeding after, does not): tolerated here,
    // asserted in the ignored `monitor_select_and_hello_like_redis`.
    m.send(&["PING"]);
    let first = m.frame();
    if first != b"+PONG\r\n" {
        assert!(first.ends_with(format!("[0 {}] \"RESET\"\r\n", m.local_addr()).as_bytes()), "{:?}", esc(&first));
        assert_eq!(esc(&m.frame()), esc(b"+PONG\r\n"));
    }
    for _ in 0..3 {
        c.expect(&["SET", "a", "2"], "+OK\r\n");
        m.expect(&["PING"], "+PONG\r\n");
    }
    m.assert_silent(Duration::from_millis(100));
}

/// Known difference (connection layer, `src/server/conn.rs`): Redis feeds
/// MONITOR after a command ran, so `SELECT 1` shows db 1 and a monitor's own
/// RESET is not shown to it; and HELLO redacts only the AUTH credentials.
#[test]
fn monitor_select_and_hello_like_redis() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    // The oracle first: it shows what is expected.
    for port in ports(&server, &oracle).into_iter().rev() {
        let mut m = start_monitor(port);
        let mut c = Conn::open(port);
        let addr = c.local_addr();
        c.expect(&["SELECT", "1"], "+OK\r\n");
        monitor_line(&mut m, 1, &addr, "\"SELECT\" \"1\"");
        c.call(&["HELLO", "2", "AUTH", "default", "pw"]);
        monitor_line(&mut m, 1, &addr, "\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\"");
        // A monitor does not see its own RESET (it is no monitor once it ran).
        m.expect(&["RESET"], "+RESET\r\n");
        m.expect(&["PING"], "+PONG\r\n");
    }
}

/// Known difference (connection layer): when CLIENT KILL kills the caller,
/// Redis closes the connection right after the reply and runs nothing
/// pipelined after it.
#[test]
fn self_kill_stops_the_pipeline() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    for port in ports(&server, &oracle).into_iter().rev() {
        let mut c = Conn::open(port);
        let me = c.local_addr();
        c.send_raw(&encode_all(&[&["CLIENT", "KILL", &me], &["SET", "after", "1"]]));
        assert_eq!(esc(&c.until_closed()), esc(b"+OK\r\n"), "port {}", port);
        Conn::open(port).expect(&["GET", "after"], "$-1\r\n");
    }
}
