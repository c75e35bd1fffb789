//! A connected client as the rest of the server sees it: identity, the
//! per-connection state commands change (db, protocol, name, auth), and a
//! kill switch. Each core keeps a registry of the clients it accepted;
//! `CLIENT LIST/KILL` ask every core.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;

use crate::pubsub::{Kind, Subscriptions};
use crate::shard::blocking::Waiter;

use crate::resp::Proto;

/// CLIENT REPLY state, Redis's three flags: `off` hides every reply,
/// `skip` hides the current command's, `skip_next` becomes `skip` once the
/// command that set it (CLIENT REPLY SKIP) is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplyMode {
    pub off: bool,
    pub skip: bool,
    pub skip_next: bool,
}

impl ReplyMode {
    pub fn hides(&self) -> bool {
        self.off || self.skip
    }

    /// After each command (Redis's `resetClient`).
    pub fn command_done(&mut self) {
        self.skip = std::mem::take(&mut self.skip_next);
    }
}

pub struct ClientState {
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub proto: Proto,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    pub monitor: bool,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Full name of the last command, e.g. `client|list`.
    pub last_cmd: &'static str,
    pub last_active: Instant,
    pub qbuf: usize,
    /// Inside MULTI: the commands queued so far.
    pub multi: Option<crate::tx::exec::Multi>,
    /// The keys WATCHed since the last EXEC, DISCARD or UNWATCH, with their db.
    pub watched: Vec<(usize, Bytes)>,
}

pub struct Client {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: i32,
    pub created: Instant,
    pub state: RefCell<ClientState>,
    killed: Cell<bool>,
    waker: Cell<Option<Waker>>,
    /// The command this client is blocked in (BLPOP…), for CLIENT UNBLOCK.
    pub blocked: RefCell<Option<Arc<Waiter>>>,
    /// Its pub/sub subscriptions (see [`crate::pubsub`]).
    pub pubsub: RefCell<Subscriptions>,
    /// Where its pub/sub messages arrive; the connection takes it.
    pushes: Cell<Option<crate::pubsub::Receiver>>,
}

impl ClientState {
    fn new(authenticated: bool, now: Instant) -> ClientState {
        ClientState {
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            proto: Proto::Resp2,
            authenticated,
            reply_mode: ReplyMode::default(),
            monitor: false,
            no_evict: false,
            no_touch: false,
            last_cmd: "NULL",
            last_active: now,
            qbuf: 0,
            multi: None,
            watched: Vec::new(),
        }
    }
}

/// A client on its way to another core (see `server::migrate`): who it is
/// and the state its commands set, without anything tied to this core.
pub struct Moving {
    id: u64,
    addr: SocketAddr,
    laddr: SocketAddr,
    fd: i32,
    created: Instant,
    state: ClientState,
}

impl Client {
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i32, authenticated: bool) -> Client {
        let now = Instant::now();
        Client::arrive(Moving { id, addr, laddr, fd, created: now, state: ClientState::new(authenticated, now) })
    }

    /// The client as it continues on the core it moved to.
    pub fn arrive(m: Moving) -> Client {
        let (pubsub, pushes) = Subscriptions::new();
        Client {
            id: m.id,
            addr: m.addr,
            laddr: m.laddr,
            fd: m.fd,
            created: m.created,
            state: RefCell::new(m.state),
            killed: Cell::new(false),
            waker: Cell::new(None),
            blocked: RefCell::new(None),
            pubsub: RefCell::new(pubsub),
            pushes: Cell::new(Some(pushes)),
        }
    }

    /// Packs the client up to move: the caller made sure nothing of it is
    /// registered with this core beyond the client registry (no
    /// subscription, MONITOR, WATCH, MULTI or blocked command).
    pub fn moving(&self) -> Moving {
        let fresh = ClientState::new(false, self.created);
        let state = std::mem::replace(&mut *self.state.borrow_mut(), fresh);
        Moving { id: self.id, addr: self.addr, laddr: self.laddr, fd: self.fd, created: self.created, state }
    }

    /// The queue its pub/sub messages arrive on, for its connection (once).
    pub fn take_pushes(&self) -> Option<crate::pubsub::Receiver> {
        self.pushes.take()
    }

    /// Asks the connection to close after its in-flight batch.
    pub fn kill(&self) {
        self.killed.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    pub fn is_killed(&self) -> bool {
        self.killed.get()
    }

    /// Resolves once [`Client::kill`] was called: raced against socket reads.
    pub fn killed(&self) -> Killed<'_> {
        Killed(self)
    }

    /// The `CLIENT LIST` / `CLIENT INFO` line (Redis 7.2 fields).
    pub fn info_line(&self, out: &mut String) {
        use std::fmt::Write;
        let s = self.state.borrow();
        let now = Instant::now();
        let mut flags = String::new();
        if s.monitor {
            flags.push('O');
        }
        let subs = self.pubsub.borrow();
        if subs.active() {
            flags.push('P');
        }
        if self.blocked.borrow().is_some() {
            flags.push('b');
        }
        if s.no_evict {
            flags.push('e');
        }
        if s.no_touch {
            flags.push('T');
        }
        if s.multi.is_some() {
            flags.push('x');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let text = |b: &Option<Bytes>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        let _ = writeln!(
            out,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
             qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r \
             cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            text(&s.name),
            now.duration_since(self.created).as_secs(),
            now.duration_since(s.last_active).as_secs(),
            flags,
            s.db,
            subs.count(Kind::Channel),
            subs.count(Kind::Pattern),
            subs.count(Kind::Shard),
            s.multi.as_ref().map_or(-1, |m| m.cmds.len() as i64),
            s.qbuf,
            s.last_cmd,
            if s.proto == Proto::Resp3 { 3 } else { 2 },
            text(&s.lib_name),
            text(&s.lib_ver),
        );
    }
}

pub struct Killed<'a>(&'a Client);

impl Future for Killed<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.killed.get() {
            return Poll::Ready(());
        }
        self.0.waker.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}

/// The clients one core accepted, by id (ordered, so CLIENT LIST is too).
#[derive(Default)]
pub struct Clients {
    by_id: BTreeMap<u64, Rc<Client>>,
}

impl Clients {
    pub fn add(&mut self, c: Rc<Client>) {
        self.by_id.insert(c.id, c);
    }

    pub fn remove(&mut self, id: u64) {
        self.by_id.remove(&id);
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rc<Client>> {
        self.by_id.values()
    }

    pub fn kill_all(&self) {
        for c in self.by_id.values() {
            c.kill();
        }
    }
}
