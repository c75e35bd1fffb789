//! SLOWLOG and its settings, black-box against the real binary (two
//! shards); where Redis 7.0 answers the same bytes, the same requests also
//! go to a real `redis-server`.

#[path = "common/blackbox.rs"]
mod blackbox;
mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use blackbox::{ports, session, Conn, Oracle};
use common::Server;
use shardis::slot::shard_of_key;

#[test]
fn errors_help_and_what_gets_logged_match_redis() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    let ports = ports(&server, &oracle);
    let help = "*12\r\n\
        +SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n\
        +GET [<count>]\r\n\
        +    Return top <count> entries from the slowlog (default: 10, -1 mean all).\r\n\
        +    Entries are made of:\r\n\
        +    id, timestamp, time in microseconds, arguments array, client IP and port,\r\n\
        +    client name\r\n\
        +LEN\r\n\
        +    Return the length of the slowlog.\r\n\
        +RESET\r\n\
        +    Reset the slowlog.\r\n\
        +HELP\r\n\
        +    Prints this help.\r\n";
    let count_error = "-ERR count should be greater than or equal to -1\r\n";
    session(
        &ports,
        &[
            (&["SLOWLOG", "HELP"], help),
            (&["SLOWLOG"], "-ERR wrong number of arguments for 'slowlog' command\r\n"),
            (&["SLOWLOG", "NOPE"], "-ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP.\r\n"),
            (&["SLOWLOG", "GET", "-2"], count_error),
            (&["SLOWLOG", "GET", "abc"], count_error),
            (
                &["SLOWLOG", "GET", "1", "2"],
                "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.\r\n",
            ),
            (&["SLOWLOG", "LEN", "x"], "-ERR wrong number of arguments for 'slowlog|len' command\r\n"),
            (
                &["CONFIG", "SET", "slowlog-log-slower-than", "-5"],
                "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be \
                 between -1 and 9223372036854775807 inclusive\r\n",
            ),
            (
                &["CONFIG", "SET", "slowlog-max-len", "-1"],
                "-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 \
                 and 9223372036854775807 inclusive\r\n",
            ),
            (&["CONFIG", "GET", "slowlog-max-len"], "*2\r\n$15\r\nslowlog-max-len\r\n$3\r\n128\r\n"),
            // Off: nothing is logged.
            (&["CONFIG", "SET", "slowlog-log-slower-than", "-1"], "+OK\r\n"),
            (&["SLOWLOG", "RESET"], "+OK\r\n"),
            (&["SET", "k", "v"], "+OK\r\n"),
            (&["SLOWLOG", "LEN"], ":0\r\n"),
            (&["SLOWLOG", "GET"], "*0\r\n"),
            // Every command, the CONFIG SET that asks for it included, and
            // SLOWLOG itself once it has answered.
            (&["CONFIG", "SET", "slowlog-log-slower-than", "0"], "+OK\r\n"),
            (&["SLOWLOG", "LEN"], ":1\r\n"),
            (&["SLOWLOG", "LEN"], ":2\r\n"),
            (&["CONFIG", "SET", "slowlog-max-len", "2"], "+OK\r\n"),
            (&["SLOWLOG", "LEN"], ":2\r\n"),
            (&["SLOWLOG", "RESET"], "+OK\r\n"),
            (&["SLOWLOG", "LEN"], ":1\r\n"),
            (&["CONFIG", "SET", "slowlog-log-slower-than", "10000"], "+OK\r\n"),
            (&["SLOWLOG", "RESET"], "+OK\r\n"),
            (&["SLOWLOG", "LEN"], ":0\r\n"),
        ],
    );
}

/// One slow-log entry, with its time and duration left out.
#[derive(Debug, PartialEq)]
struct Logged {
    args: Vec<String>,
    peer: String,
    name: String,
}

/// SLOWLOG GET's reply, checking the ids count down and the times are now.
fn entries(c: &mut Conn, count: &str) -> Vec<Logged> {
    let frame = c.call(&["SLOWLOG", "GET", count]);
    let text = String::from_utf8(frame).unwrap();
    let mut lines = text.split("\r\n");
    let mut next = || lines.next().unwrap().to_string();
    let int = |l: String| l[1..].parse::<u64>().unwrap();
    let bulk = |next: &mut dyn FnMut() -> String| {
        next();
        next()
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let n = next()[1..].parse::<usize>().unwrap();
    let mut out = Vec::new();
    let mut last_id = None;
    for _ in 0..n {
        assert_eq!(next(), "*6");
        let id = int(next());
        assert!(last_id.is_none_or(|l| id < l), "ids count down");
        last_id = Some(id);
        let time = int(next());
        assert!(time + 60 >= now && time <= now + 1, "logged at {time}, now {now}");
        int(next());
        let argc = next()[1..].parse::<usize>().unwrap();
        let args = (0..argc).map(|_| bulk(&mut next)).collect();
        let peer = bulk(&mut next);
        let name = bulk(&mut next);
        out.push(Logged { args, peer, name });
    }
    out
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn entries_name_the_command_the_client_and_trim_long_ones() {
    let server = Server::start();
    let mut c = Conn::open(server.port);
    let peer = c.local_addr();
    // MSET's keys on both shards: one entry for the whole command.
    let a = (0..).map(|i| format!("a{i}")).find(|k| shard_of_key(k.as_bytes(), 2) == 0).unwrap();
    let b = (0..).map(|i| format!("b{i}")).find(|k| shard_of_key(k.as_bytes(), 2) == 1).unwrap();
    let long = "x".repeat(130);
    let mut push: Vec<String> = strings(&["RPUSH", "list", &long]);
    push.extend((0..40).map(|i| i.to_string()));
    c.expect(&["CONFIG", "SET", "slowlog-log-slower-than", "0"], "+OK\r\n");
    c.expect(&["CLIENT", "SETNAME", "bob"], "+OK\r\n");
    c.expect(&["SET", "k", "v"], "+OK\r\n");
    c.expect(&["MSET", &a, "1", &b, "2"], "+OK\r\n");
    c.expect(&push.iter().map(String::as_str).collect::<Vec<_>>(), ":41\r\n");
    let mut kept: Vec<String> = push[..31].to_vec();
    kept[2] = format!("{}... (2 more bytes)", "x".repeat(128));
    kept.push("... (12 more arguments)".into());
    let bob = |args: Vec<String>| Logged { args, peer: peer.clone(), name: "bob".into() };
    assert_eq!(
        entries(&mut c, "4"),
        [
            bob(kept),
            bob(strings(&["MSET", &a, "1", &b, "2"])),
            bob(strings(&["SET", "k", "v"])),
            bob(strings(&["CLIENT", "SETNAME", "bob"])),
        ]
    );
    // Another client's commands carry its own address and no name.
    let mut other = Conn::open(server.port);
    other.expect(&["GET", "k"], "$1\r\nv\r\n");
    let got = entries(&mut c, "1");
    assert_eq!(got, [Logged { args: strings(&["GET", "k"]), peer: other.local_addr(), name: String::new() }]);
    assert_eq!(entries(&mut c, "-1").len(), 8);
    c.expect(&["SLOWLOG", "RESET"], "+OK\r\n");
    c.expect(&["CONFIG", "SET", "slowlog-log-slower-than", "100000"], "+OK\r\n");
    c.expect(&["SET", "k", "w"], "+OK\r\n");
    // Only the reset, logged once it had emptied the log: the new
    // threshold applies to the CONFIG SET that set it.
    assert_eq!(c.int(&["SLOWLOG", "LEN"]), 1);
}

#[test]
fn credentials_are_redacted_as_redis_does() {
    let server = Server::start();
    let oracle = Oracle::start(&[]);
    let ports = ports(&server, &oracle);
    for port in ports {
        let mut c = Conn::open(port);
        c.expect(&["CONFIG", "SET", "slowlog-log-slower-than", "0"], "+OK\r\n");
        c.call(&["AUTH", "nobody", "secret"]);
        c.call(&["HELLO", "2", "AUTH", "default", "secret", "SETNAME", "carol"]);
        c.expect(&["CONFIG", "SET", "requirepass", "secret", "maxclients", "500"], "+OK\r\n");
        c.expect(&["AUTH", "secret"], "+OK\r\n");
        c.expect(&["CONFIG", "SET", "requirepass", ""], "+OK\r\n");
        let args: Vec<Vec<String>> = entries(&mut c, "5").into_iter().map(|e| e.args).collect();
        let want = [
            strings(&["CONFIG", "SET", "requirepass", "(redacted)"]),
            strings(&["AUTH", "(redacted)"]),
            strings(&["CONFIG", "SET", "requirepass", "(redacted)", "maxclients", "500"]),
            strings(&["HELLO", "2", "AUTH", "(redacted)", "(redacted)", "SETNAME", "carol"]),
            strings(&["AUTH", "(redacted)", "(redacted)"]),
        ];
        assert_eq!(args, want, "port {port}");
    }
}
