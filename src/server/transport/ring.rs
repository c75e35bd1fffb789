//! The shard's client-socket ring: an io_uring of its own, created with
//! `COOP_TASKRUN | TASKRUN_FLAG`, beside glommio's.
//!
//! Why not glommio's sockets: glommio's rings are set up without
//! `IORING_SETUP_COOP_TASKRUN`, so every socket completion interrupts the
//! shard with a reschedule IPI, and every read re-arms a poll (DESIGN.md,
//! "measured"). Here each connection has one multishot receive, armed once,
//! filling buffers from a shared pool; its completions wait as task work
//! until the shard enters the kernel anyway (a send, glommio's own
//! `io_uring_enter`).
//!
//! How glommio learns of them: an eventfd registered with this ring is
//! signalled whenever completions are posted, and the ring's driver task
//! waits for it with a glommio read (`BufferedFile::read_at` on the
//! eventfd), so a sleeping shard wakes in glommio's own `io_uring_enter`.
//! While completions keep coming, the driver drains the ring between other
//! tasks without sleeping.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use io_uring::{cqueue, opcode, squeue, types, IoUring};

use super::bufs::{self, BufPool};

/// Submission queue entries; the completion queue is four times as deep so
/// that a burst of receives on many connections does not overflow it.
const ENTRIES: u32 = 1024;

/// Receive buffers per shard and their size (Redis reads 16 KB at a time).
const RECV_BUFFERS: u16 = 128;
const RECV_BUFFER_SIZE: usize = 16 * 1024;

/// Received bytes one connection may have waiting before its receive is
/// paused: a client that keeps sending while its commands run (or its
/// replies wait for it to read) leaves the rest in the kernel's socket
/// buffer, as with Redis, instead of in ours.
const PAUSE_AT: usize = 256 * 1024;

/// The most one read hands the connection, as Redis reads at most so much
/// before it parses (the query buffer limit is checked between reads).
const READ_MAX: usize = 64 * 1024;

/// user_data of requests whose completion nobody waits for (cancels).
const UNWATCHED: u64 = u64::MAX;

thread_local! {
    /// Completions this thread's socket ring has handled: a sign of life of
    /// its clients, for the wake ticker (`server::spawn_wake_ticker`).
    static COMPLETIONS: Cell<u64> = const { Cell::new(0) };
}

/// Completions this thread's socket ring has handled so far.
pub fn completions() -> u64 {
    COMPLETIONS.with(Cell::get)
}

/// A request registered with the ring: an index into its slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpId(u32);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Recv,
    Accept,
}

/// A multishot request and what it brought that its owner has not taken.
struct Stream {
    kind: Kind,
    fd: RawFd,
    /// Received bytes, copied out of the pool as they complete so that pool
    /// buffers go straight back and no connection can hold on to them.
    data: BytesMut,
    /// Accepted connections (file descriptors) or accept errors (`-errno`).
    accepted: VecDeque<i32>,
    /// How the receive ended, after `data`: 0 for end of stream, or `-errno`.
    end: Option<i32>,
    /// In the kernel: completions may still come.
    armed: bool,
    /// A cancel for the pause at [`PAUSE_AT`] (or a detach) is on its way.
    pausing: bool,
    /// Its socket moves to another shard's ring: never re-armed here.
    detaching: bool,
}

impl Stream {
    /// Nothing in the kernel, not ended, and room for more: (re)arm it.
    fn wants_arming(&self) -> bool {
        !self.armed && !self.detaching && self.end.is_none() && self.data.len() < PAUSE_AT
    }
}

enum State {
    Free,
    Stream(Stream),
    /// A single-shot request: its result once it completed.
    Once(Option<i32>),
}

struct Slot {
    state: State,
    waker: Option<Waker>,
    /// The owner is gone: free the slot at the request's last completion.
    orphan: bool,
}

struct Inner {
    // Field order is drop order: the ring goes before the buffers it writes.
    ring: IoUring,
    pool: BufPool,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Receives that stopped for want of buffers; re-armed at the end of
    /// the turn, when the buffers of this turn are back.
    starved: Vec<OpId>,
    /// Entries pushed but not yet submitted.
    unsubmitted: bool,
    /// Entries that found the submission queue full.
    backlog: Vec<squeue::Entry>,
    /// Sockets to close once the backlog (holding their cancels) is in.
    closing: Vec<RawFd>,
    /// Scratch of `turn`: completions reaped, tasks to wake.
    reaped: Vec<cqueue::Entry>,
    wake: Vec<Waker>,
}

pub struct SocketRing {
    inner: RefCell<Inner>,
    /// The driver waits on the eventfd: a new entry must be submitted by
    /// whoever pushes it.
    parked: Cell<bool>,
    eventfd: std::mem::ManuallyDrop<glommio::io::BufferedFile>,
    eventfd_raw: RawFd,
}

impl SocketRing {
    pub fn new() -> io::Result<Rc<SocketRing>> {
        check_kernel()?;
        let ring: IoUring =
            IoUring::builder().setup_coop_taskrun().setup_taskrun_flag().setup_cqsize(ENTRIES * 4).build(ENTRIES)?;
        let pool = BufPool::register(&ring, RECV_BUFFERS, RECV_BUFFER_SIZE)?;
        // SAFETY: eventfd has no preconditions; the fd is checked below.
        let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        if let Err(e) = ring.submitter().register_eventfd(efd) {
            // SAFETY: closing the fd we just opened.
            unsafe { libc::close(efd) };
            return Err(e);
        }
        // SAFETY: the eventfd is ours; the file only ever reads 8 bytes at
        // a time from it and never closes it (see Drop).
        let eventfd = std::mem::ManuallyDrop::new(unsafe { glommio::io::BufferedFile::from_raw_fd(efd) });
        let inner = Inner {
            ring,
            pool,
            slots: Vec::new(),
            free: Vec::new(),
            starved: Vec::new(),
            unsubmitted: false,
            backlog: Vec::new(),
            closing: Vec::new(),
            reaped: Vec::new(),
            wake: Vec::new(),
        };
        Ok(Rc::new(SocketRing { inner: RefCell::new(inner), parked: Cell::new(false), eventfd, eventfd_raw: efd }))
    }

    /// Runs for as long as the shard: drains completions between the
    /// shard's other tasks, and sleeps on the eventfd when there are none.
    pub async fn drive(self: Rc<Self>) {
        loop {
            if self.turn() > 0 {
                crate::server::yield_once().await;
                continue;
            }
            self.parked.set(true);
            if let Err(e) = self.eventfd.read_at(0, 8).await {
                tracing::error!(error = %e, "socket ring: waiting on its eventfd failed");
                glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
            }
            self.parked.set(false);
        }
    }

    /// Submits what is pending, runs deferred completions, and hands out
    /// what completed. Returns how many completions it handled.
    fn turn(&self) -> usize {
        let mut inner = self.inner.borrow_mut();
        if !inner.backlog.is_empty() {
            inner.push_backlog();
        }
        let pending = {
            let sq = inner.ring.submission();
            !sq.is_empty() || sq.taskrun() || sq.cq_overflow()
        };
        if pending || inner.unsubmitted {
            inner.submit();
        }
        if !inner.closing.is_empty() && inner.backlog.is_empty() && !inner.unsubmitted {
            for fd in std::mem::take(&mut inner.closing) {
                // SAFETY: handed over by `close`, its cancel now submitted.
                unsafe { libc::close(fd) };
            }
        }
        // Reaped in one go (one head update), then filed; both vectors keep
        // their capacity from turn to turn.
        let Inner { ring, reaped, .. } = &mut *inner;
        reaped.extend(ring.completion());
        let handled = reaped.len();
        if handled > 0 {
            COMPLETIONS.with(|c| c.set(c.get() + handled as u64));
        }
        let mut reaped = std::mem::take(&mut inner.reaped);
        let mut wake = std::mem::take(&mut inner.wake);
        for cqe in reaped.drain(..) {
            if let Some(w) = inner.complete(cqe) {
                wake.push(w);
            }
        }
        inner.reaped = reaped;
        if !inner.starved.is_empty() {
            inner.rearm_starved();
        }
        if inner.unsubmitted {
            inner.submit();
        }
        drop(inner);
        for w in wake.drain(..) {
            w.wake();
        }
        self.inner.borrow_mut().wake = wake;
        handled
    }

    /// Entries pushed outside the driver go in now if it sleeps; otherwise
    /// its next turn takes them, together with everyone else's.
    fn flush(&self, inner: &mut Inner) {
        if self.parked.get() && inner.unsubmitted {
            inner.submit();
        }
    }

    /// Starts receiving from `fd` into the shard's buffer pool.
    pub fn recv(&self, fd: RawFd) -> OpId {
        self.stream(Kind::Recv, fd)
    }

    /// Starts accepting connections on the listening socket `fd`.
    pub fn accept(&self, fd: RawFd) -> OpId {
        self.stream(Kind::Accept, fd)
    }

    fn stream(&self, kind: Kind, fd: RawFd) -> OpId {
        let mut inner = self.inner.borrow_mut();
        let stream = Stream {
            kind,
            fd,
            data: BytesMut::new(),
            accepted: VecDeque::new(),
            end: None,
            armed: false,
            pausing: false,
            detaching: false,
        };
        let id = inner.alloc(State::Stream(stream));
        inner.arm(id);
        self.flush(&mut inner);
        id
    }

    /// The next accepted connection's file descriptor, or the accept's
    /// error as `-errno`.
    pub fn poll_accept(&self, id: OpId, cx: &mut Context<'_>) -> Poll<i32> {
        let mut inner = self.inner.borrow_mut();
        let stream = inner.stream(id);
        if let Some(fd) = stream.accepted.pop_front() {
            return Poll::Ready(fd);
        }
        if stream.wants_arming() {
            inner.arm(id);
            self.flush(&mut inner);
        }
        inner.slots[id.0 as usize].waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Appends what was received (up to [`READ_MAX`]) to `buf`: the byte
    /// count, 0 at end of stream, or the receive's error.
    pub fn poll_recv(&self, id: OpId, buf: &mut BytesMut, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut inner = self.inner.borrow_mut();
        let stream = inner.stream(id);
        let n = stream.data.len().min(READ_MAX);
        if n > 0 {
            if buf.is_empty() && n == stream.data.len() {
                // The usual case: hand over the whole buffer, no copy.
                std::mem::swap(buf, &mut stream.data);
            } else {
                buf.extend_from_slice(&stream.data[..n]);
                bytes::Buf::advance(&mut stream.data, n);
            }
            // What a burst grew is not kept for the connection's lifetime.
            if stream.data.is_empty() && stream.data.capacity() > 2 * READ_MAX {
                stream.data = BytesMut::new();
            }
        }
        let end = if n == 0 { stream.end } else { None };
        if stream.wants_arming() {
            inner.arm(id);
            self.flush(&mut inner);
        }
        match end {
            _ if n > 0 => Poll::Ready(Ok(n)),
            Some(0) => Poll::Ready(Ok(0)),
            Some(e) => Poll::Ready(Err(io::Error::from_raw_os_error(-e))),
            None => {
                inner.slots[id.0 as usize].waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Waits until `fd` is writable (or failed: the next send says how).
    pub fn writable(self: &Rc<Self>, fd: RawFd) -> Writable {
        let mut inner = self.inner.borrow_mut();
        let id = inner.alloc(State::Once(None));
        let entry = opcode::PollAdd::new(types::Fd(fd), libc::POLLOUT as u32).build().user_data(id.0 as u64);
        inner.push(&entry);
        self.flush(&mut inner);
        Writable { ring: self.clone(), id: Some(id) }
    }

    /// Stops receiving on `stream` but leaves its socket open, for another
    /// shard's ring to take over: ready, with what was received and not
    /// yet read, once the kernel has posted the receive's last completion.
    pub fn poll_detach(&self, id: OpId, cx: &mut Context<'_>) -> Poll<BytesMut> {
        let mut inner = self.inner.borrow_mut();
        let stream = inner.stream(id);
        stream.detaching = true;
        if !stream.armed {
            let data = std::mem::take(&mut stream.data);
            inner.release(id);
            return Poll::Ready(data);
        }
        if !stream.pausing {
            stream.pausing = true;
            let cancel = opcode::AsyncCancel::new(id.0 as u64).build().user_data(UNWATCHED);
            inner.push(&cancel);
            self.flush(&mut inner);
        }
        inner.slots[id.0 as usize].waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Stops every request on `fd`, releases `stream`, and closes `fd`.
    pub fn close(&self, fd: RawFd, stream: OpId) {
        let mut inner = self.inner.borrow_mut();
        let cancel =
            opcode::AsyncCancel2::new(types::CancelBuilder::fd(types::Fd(fd)).all()).build().user_data(UNWATCHED);
        inner.push(&cancel);
        inner.submit();
        inner.release(stream);
        // The cancel must reach the kernel while `fd` still names this
        // socket: if it could not be submitted yet, the close waits too.
        if inner.backlog.is_empty() && !inner.unsubmitted {
            // SAFETY: the caller owns `fd` and gives it up here.
            unsafe { libc::close(fd) };
        } else {
            inner.closing.push(fd);
        }
    }
}

/// Multishot receive, the one feature here younger than the rest, came
/// with Linux 6.0; older kernels would fail every connection's first read.
fn check_kernel() -> io::Result<()> {
    // SAFETY: uname fills the zeroed struct.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Ok(());
    }
    // SAFETY: uname NUL-terminates `release`.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) }.to_string_lossy().into_owned();
    let mut parts = release.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if version < (6, 0) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("shardis needs Linux 6.0 or later (io_uring multishot receive); this is {}", release),
        ));
    }
    Ok(())
}

impl Drop for SocketRing {
    fn drop(&mut self) {
        // SAFETY: the eventfd is ours; glommio's file wrapper is leaked on
        // purpose (its drop needs a live reactor, gone at shard exit).
        unsafe { libc::close(self.eventfd_raw) };
    }
}

impl Inner {
    fn alloc(&mut self, state: State) -> OpId {
        let slot = Slot { state, waker: None, orphan: false };
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                OpId(i)
            }
            None => {
                self.slots.push(slot);
                OpId(self.slots.len() as u32 - 1)
            }
        }
    }

    fn dealloc(&mut self, id: OpId) {
        let slot = &mut self.slots[id.0 as usize];
        slot.state = State::Free;
        slot.waker = None;
        slot.orphan = false;
        self.free.push(id.0);
    }

    fn stream(&mut self, id: OpId) -> &mut Stream {
        match &mut self.slots[id.0 as usize].state {
            State::Stream(s) => s,
            _ => unreachable!("not a stream"),
        }
    }

    fn push(&mut self, entry: &squeue::Entry) {
        self.unsubmitted = true;
        if self.backlog.is_empty() {
            // SAFETY: entries reference no memory of ours but the pool,
            // which outlives the ring.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return;
            }
            self.submit();
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return;
            }
        }
        // The queue is full and the kernel takes nothing now: the driver's
        // next turn moves these in, in order.
        self.backlog.push(entry.clone());
    }

    /// Moves waiting entries into the submission queue while it has room.
    fn push_backlog(&mut self) {
        let mut moved = 0;
        for entry in &self.backlog {
            // SAFETY: as in `push`.
            if unsafe { self.ring.submission().push(entry) }.is_err() {
                break;
            }
            moved += 1;
        }
        self.backlog.drain(..moved);
    }

    fn submit(&mut self) {
        match self.ring.submit() {
            Ok(_) => self.unsubmitted = false,
            // Busy: completions must be reaped first; the driver retries.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EAGAIN) | Some(libc::EINTR)) => {}
            Err(e) => tracing::error!(error = %e, "socket ring: submit failed"),
        }
    }

    /// (Re)starts a stream's multishot request.
    fn arm(&mut self, id: OpId) {
        let stream = self.stream(id);
        let entry = match stream.kind {
            Kind::Recv => opcode::RecvMulti::new(types::Fd(stream.fd), bufs::GROUP).build(),
            Kind::Accept => {
                opcode::AcceptMulti::new(types::Fd(stream.fd)).flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK).build()
            }
        };
        stream.armed = true;
        self.push(&entry.user_data(id.0 as u64));
    }

    fn starve(&mut self, id: OpId) {
        if !self.starved.contains(&id) {
            self.starved.push(id);
        }
    }

    fn rearm_starved(&mut self) {
        for id in std::mem::take(&mut self.starved) {
            let slot = &self.slots[id.0 as usize];
            if let State::Stream(s) = &slot.state {
                if !slot.orphan && s.wants_arming() {
                    self.arm(id);
                }
            }
        }
    }

    /// Files one completion; returns the waker to wake.
    fn complete(&mut self, cqe: cqueue::Entry) -> Option<Waker> {
        let ud = cqe.user_data();
        if ud == UNWATCHED {
            return None;
        }
        let id = OpId(ud as u32);
        let (res, flags) = (cqe.result(), cqe.flags());
        let more = cqueue::more(flags);
        let buf = cqueue::buffer_select(flags);
        let slot = &mut self.slots[id.0 as usize];
        match &mut slot.state {
            State::Free => unreachable!("completion for a free slot"),
            State::Once(result) => {
                if slot.orphan {
                    self.dealloc(id);
                    return None;
                }
                *result = Some(res);
                slot.waker.take()
            }
            State::Stream(stream) => {
                if !more {
                    stream.armed = false;
                    stream.pausing = false;
                }
                if let Some(bid) = buf {
                    if res > 0 && !slot.orphan {
                        stream.data.extend_from_slice(self.pool.filled(bid, res as usize));
                    }
                    self.pool.give_back(bid);
                }
                if slot.orphan {
                    if stream.kind == Kind::Accept && res >= 0 {
                        // SAFETY: a connection nobody will take.
                        unsafe { libc::close(res) };
                    }
                    if !more {
                        self.dealloc(id);
                    }
                    return None;
                }
                if stream.detaching {
                    // Whatever ended it, the detach waits for nothing more.
                    return if more { None } else { slot.waker.take() };
                }
                let mut pause = false;
                match stream.kind {
                    Kind::Recv if res > 0 => {
                        pause = more && !stream.pausing && stream.data.len() >= PAUSE_AT;
                        stream.pausing |= pause;
                    }
                    Kind::Recv if res == 0 => stream.end = Some(0),
                    // Out of buffers for now: re-armed at the end of the turn.
                    Kind::Recv if res == -libc::ENOBUFS => {
                        self.starve(id);
                        return None;
                    }
                    // Paused (or closing): re-armed by the next read.
                    _ if res == -libc::ECANCELED => {}
                    Kind::Recv => stream.end = Some(res),
                    Kind::Accept => stream.accepted.push_back(res),
                }
                let waker = self.slots[id.0 as usize].waker.take();
                if pause {
                    let cancel = opcode::AsyncCancel::new(ud).build().user_data(UNWATCHED);
                    self.push(&cancel);
                }
                waker
            }
        }
    }

    /// The owner of `id` is done with it: what it had not taken goes back,
    /// and the slot is freed once the kernel is done with it too.
    fn release(&mut self, id: OpId) {
        let slot = &mut self.slots[id.0 as usize];
        let armed = match &mut slot.state {
            State::Stream(stream) => {
                for fd in stream.accepted.drain(..).filter(|fd| *fd >= 0) {
                    // SAFETY: an accepted connection nobody took.
                    unsafe { libc::close(fd) };
                }
                stream.data = BytesMut::new();
                stream.armed
            }
            State::Once(result) => result.is_none(),
            State::Free => unreachable!("release of a free slot"),
        };
        self.starved.retain(|s| *s != id);
        if armed {
            let slot = &mut self.slots[id.0 as usize];
            slot.orphan = true;
            slot.waker = None;
        } else {
            self.dealloc(id);
        }
    }
}

/// A wait for a socket to become writable; dropping it early leaves the
/// poll to complete (or be cancelled at close) unwatched.
pub struct Writable {
    ring: Rc<SocketRing>,
    id: Option<OpId>,
}

impl Future for Writable {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(id) = self.id else { return Poll::Ready(Ok(())) };
        let mut inner = self.ring.inner.borrow_mut();
        let slot = &mut inner.slots[id.0 as usize];
        match slot.state {
            State::Once(Some(res)) => {
                inner.dealloc(id);
                drop(inner);
                self.id = None;
                if res < 0 {
                    Poll::Ready(Err(io::Error::from_raw_os_error(-res)))
                } else {
                    Poll::Ready(Ok(()))
                }
            }
            _ => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Writable {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.ring.inner.borrow_mut().release(id);
        }
    }
}
