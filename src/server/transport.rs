//! Client socket I/O, and nothing else: accept, read into the query buffer,
//! write a batch of replies, close. Kept behind this one small module so the
//! transport can change (DESIGN.md: a per-shard io_uring ring with
//! COOP_TASKRUN) without touching parsing, routing or commands.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};

use bytes::BytesMut;
use futures::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};

/// Bytes asked of the kernel per read: Redis's PROTO_IOBUF_LEN is 16 KB; a
/// larger read halves the syscalls for big values at no cost for small ones.
const READ_CHUNK: usize = 64 * 1024;

pub struct Listener {
    inner: TcpListener,
}

/// Binds `addr` with SO_REUSEPORT so every shard can listen on the same port
/// and the kernel spreads connections between them.
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<Listener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    // SAFETY: we own the fd and hand it over exactly once.
    let inner = unsafe { TcpListener::from_raw_fd(socket.into_raw_fd()) };
    Ok(Listener { inner })
}

/// Fails if anything (another shardis, a redis-server) already listens on
/// `addr`: a socket without SO_REUSEPORT cannot share the port, so this
/// catches what our own SO_REUSEPORT bind would silently share with.
pub fn probe_free(addr: SocketAddr) -> io::Result<()> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // SO_REUSEADDR lets the probe past TIME_WAIT leftovers of a previous run,
    // yet on Linux it still fails against a live listener.
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())
}

impl Listener {
    /// `keepalive`: seconds between TCP keepalive probes (0 = off), Redis's
    /// `tcp-keepalive`.
    pub async fn accept(&self, keepalive: u64) -> io::Result<Conn> {
        let stream = self.inner.accept().await.map_err(io::Error::from)?;
        let _ = stream.set_nodelay(true);
        if keepalive > 0 {
            // SAFETY: the fd stays open while `stream` lives; BorrowedFd is scoped here.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(stream.as_raw_fd()) };
            let sock = socket2::SockRef::from(&fd);
            let every = std::time::Duration::from_secs(keepalive);
            let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(every).with_interval(every / 3));
        }
        let peer = stream.peer_addr().map_err(io::Error::from)?;
        let local = stream.local_addr().map_err(io::Error::from)?;
        Ok(Conn { stream, peer, local, chunk: vec![0; READ_CHUNK] })
    }
}

pub struct Conn {
    stream: TcpStream,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    chunk: Vec<u8>,
}

impl Conn {
    pub fn fd(&self) -> i32 {
        self.stream.as_raw_fd()
    }

    /// Appends what the socket has to `buf`; 0 means the peer closed.
    pub async fn read(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let n = self.stream.read(&mut self.chunk).await?;
        buf.extend_from_slice(&self.chunk[..n]);
        Ok(n)
    }

    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.write_all(data).await
    }

    pub async fn close(mut self) {
        let _ = self.stream.close().await;
    }
}
