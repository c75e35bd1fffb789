//! The socket transport under pressure: more data in flight than the
//! shards' receive buffer pools hold, and connections that come and go in
//! every state, leaving nothing behind.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::resp;

fn open_sockets(server: &common::Server) -> usize {
    sockets(server).len()
}

/// The server's open sockets (`socket:[inode]`); files such as the log
/// segments open lazily, so they are left out.
fn sockets(server: &common::Server) -> Vec<String> {
    let dir = format!("/proc/{}/fd", server.child.id());
    let mut targets: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok()).map(|p| p.display().to_string()).collect())
        .unwrap_or_default();
    targets.retain(|t| t.starts_with("socket:"));
    targets.sort();
    targets
}

fn read_exact_reply(s: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// 200 clients each send a 256 KB value at the same moment (50 MB at once,
/// against a pool of 2 MB per shard): every one is stored and read back.
#[test]
fn many_clients_sending_big_values_at_once() {
    const CLIENTS: usize = 200;
    const SIZE: usize = 256 * 1024;
    let server = common::Server::start();
    let port = server.port;
    let start = Arc::new(Barrier::new(CLIENTS));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let start = start.clone();
            thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let key = format!("big:{}", i);
                let value = vec![b'a' + (i % 26) as u8; SIZE];
                let mut req = resp(&[b"SET", key.as_bytes(), &value]);
                req.extend(resp(&[b"STRLEN", key.as_bytes()]));
                req.extend(resp(&[b"GETRANGE", key.as_bytes(), b"-3", b"-1"]));
                start.wait();
                s.write_all(&req).unwrap();
                let tail = String::from_utf8(vec![b'a' + (i % 26) as u8; 3]).unwrap();
                let expected = format!("+OK\r\n:{}\r\n$3\r\n{}\r\n", SIZE, tail);
                assert_eq!(String::from_utf8(read_exact_reply(&mut s, expected.len())).unwrap(), expected);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut con = server.client();
    let dbsize: i64 = common::cmd(&mut con, &["DBSIZE"]).unwrap();
    assert_eq!(dbsize, CLIENTS as i64);
}

/// Connections closed in every state — idle, mid-frame, with replies
/// unread, reset — release their socket: the server's open sockets come
/// back to what they were, and it still serves.
#[test]
fn closed_connections_leave_nothing_behind() {
    let server = common::Server::start();
    let mut con = server.client();
    let _: String = common::cmd(&mut con, &["SET", "k", "v"]).unwrap();
    let before_sockets = sockets(&server);
    let before = before_sockets.len();
    let big = resp(&[b"SET", b"k2", &vec![b'x'; 100_000]]);
    for round in 0..1500 {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        match round % 5 {
            // Idle.
            0 => {}
            // Half a frame.
            1 => s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc").unwrap(),
            // A pipeline whose replies are never read.
            2 => s.write_all(&resp(&[b"GET", b"k"]).repeat(2000)).unwrap(),
            // Reset with a big value half sent.
            3 => {
                s.write_all(&big[..50_000]).unwrap();
                socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
            }
            // A complete exchange, then a half close.
            _ => {
                s.write_all(b"PING\r\n").unwrap();
                assert_eq!(read_exact_reply(&mut s, 7), b"+PONG\r\n");
                s.shutdown(Shutdown::Write).unwrap();
            }
        }
    }
    // The server notices each close on its own time.
    let deadline = Instant::now() + Duration::from_secs(20);
    let connected = || -> i64 {
        let info: String = common::cmd(&mut server.client(), &["INFO", "clients"]).unwrap();
        info.lines().find_map(|l| l.strip_prefix("connected_clients:")).and_then(|v| v.trim().parse().ok()).unwrap()
    };
    // This connection and the one asking.
    while (open_sockets(&server) > before || connected() > 2) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    // The asking connection itself closes asynchronously too.
    while open_sockets(&server) > before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        open_sockets(&server),
        before,
        "sockets left open: {:?} before, {:?} now",
        before_sockets,
        sockets(&server)
    );
    assert_eq!(connected(), 2);
    let v: String = common::cmd(&mut con, &["GET", "k"]).unwrap();
    assert_eq!(v, "v");
}
