//! Client socket I/O, and nothing else: accept, read into the query buffer,
//! write a batch of replies, close. Kept behind this one small module so the
//! transport can change without touching parsing, routing or commands.
//!
//! Sockets go through the shard's own io_uring ([`SocketRing`], see
//! `ring.rs` for why not glommio's): multishot accept, multishot receive
//! into a shared buffer pool, and replies sent straight from the caller's
//! buffer with `send(MSG_DONTWAIT)`, waiting for `POLLOUT` only when the
//! socket is full.

mod bufs;
mod ring;

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use bytes::BytesMut;

use ring::OpId;
pub use ring::{completions, SocketRing};

pub struct Listener {
    ring: Rc<SocketRing>,
    fd: RawFd,
    accepts: OpId,
}

/// Binds `addr` with SO_REUSEPORT so every shard can listen on the same port
/// and the kernel spreads connections between them.
pub fn bind(ring: &Rc<SocketRing>, addr: SocketAddr, backlog: u32) -> io::Result<Listener> {
    let socket = tcp_socket(addr)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    let fd = socket.into_raw_fd();
    Ok(Listener { ring: ring.clone(), fd, accepts: ring.accept(fd) })
}

/// Fails if anything (another shardis, a redis-server) already listens on
/// `addr`: a socket without SO_REUSEPORT cannot share the port, so this
/// catches what our own SO_REUSEPORT bind would silently share with.
pub fn probe_free(addr: SocketAddr) -> io::Result<()> {
    tcp_socket(addr)?.bind(&addr.into())
}

/// A TCP socket for `addr` with SO_REUSEADDR (past TIME_WAIT leftovers of a
/// previous run; on Linux a bind still fails against a live listener), and
/// IPv6 sockets for IPv6 only, so `--bind 0.0.0.0 ::` binds both.
fn tcp_socket(addr: SocketAddr) -> io::Result<socket2::Socket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    Ok(socket)
}

impl Listener {
    /// `keepalive`: seconds between TCP keepalive probes (0 = off), Redis's
    /// `tcp-keepalive`.
    pub async fn accept(&self, keepalive: u64) -> io::Result<Conn> {
        let fd = std::future::poll_fn(|cx| self.ring.poll_accept(self.accepts, cx)).await;
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(-fd));
        }
        // SAFETY: the fd stays open while `sock` lives; it is closed by Conn.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let sock = socket2::SockRef::from(&borrowed);
        let _ = sock.set_nodelay(true);
        if keepalive > 0 {
            let every = std::time::Duration::from_secs(keepalive);
            let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(every).with_interval(every / 3));
        }
        let addrs = sock.peer_addr().and_then(|p| Ok((p, sock.local_addr()?)));
        let (peer, local) = match addrs.map(|(p, l)| (p.as_socket(), l.as_socket())) {
            Ok((Some(peer), Some(local))) => (peer, local),
            // Gone already (or not TCP): nothing to serve.
            other => {
                // SAFETY: ours, and nobody else has seen it.
                unsafe { libc::close(fd) };
                return Err(other.err().unwrap_or_else(|| io::Error::from(io::ErrorKind::NotConnected)));
            }
        };
        let rx = self.ring.recv(fd);
        Ok(Conn { ring: self.ring.clone(), fd, rx, peer, local })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.ring.close(self.fd, self.accepts);
    }
}

pub struct Conn {
    ring: Rc<SocketRing>,
    fd: RawFd,
    rx: OpId,
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

/// A connection on its way to another shard: the open socket and what
/// was received on it but not yet read.
pub struct Detached {
    fd: OwnedFd,
    peer: SocketAddr,
    local: SocketAddr,
    received: BytesMut,
}

impl Conn {
    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Takes the socket off this shard's ring, keeping it open.
    pub async fn detach(mut self) -> Detached {
        let received = std::future::poll_fn(|cx| self.ring.poll_detach(self.rx, cx)).await;
        // The ring let go of it: from here on the socket is `Detached`'s.
        let fd = std::mem::replace(&mut self.fd, -1);
        // SAFETY: our open socket, owned by nothing else now.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Detached { fd, peer: self.peer, local: self.local, received }
    }

    /// Serves a detached socket from `ring` (the shard it moved to).
    pub fn adopt(ring: &Rc<SocketRing>, socket: Detached) -> (Conn, BytesMut) {
        let fd = socket.fd.into_raw_fd();
        let conn = Conn { ring: ring.clone(), fd, rx: ring.recv(fd), peer: socket.peer, local: socket.local };
        (conn, socket.received)
    }

    /// Appends what the socket has to `buf`; 0 means the peer closed.
    /// Cancel safe: what arrives while nobody reads waits for the next call.
    pub async fn read(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.ring.poll_recv(self.rx, buf, cx)).await
    }

    /// Sends all of `data`: straight away while the socket takes it, then
    /// waiting for room.
    pub async fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            // SAFETY: a plain send from a live slice on our own socket.
            let n = unsafe {
                libc::send(self.fd, data.as_ptr().cast(), data.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
            };
            if n >= 0 {
                data = &data[n as usize..];
                continue;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => self.ring.writable(self.fd).await?,
                io::ErrorKind::Interrupted => {}
                _ => return Err(e),
            }
        }
        Ok(())
    }
}

/// Dropping a connection closes it.
impl Drop for Conn {
    fn drop(&mut self) {
        // -1: detached, the socket lives on elsewhere.
        if self.fd >= 0 {
            self.ring.close(self.fd, self.rx);
        }
    }
}
