//! Pub/Sub across shards.
//!
//! Subscriptions are server-wide: one [`Directory`] (in the shared state)
//! maps each channel, pattern and shard channel to its subscribers, each
//! with the sending end of its connection's push queue. The connection keeps
//! its own view ([`Subscriptions`]) for replies, counts and the RESP2
//! subscribed mode.
//!
//! PUBLISH and SPUBLISH run on the publisher's home shard, keyspace
//! notifications on the shard that changed the key: each delivers straight
//! into the subscribers' queues, which are thread-safe and wake the
//! subscriber's core. No message travels the mesh, and a publish nobody
//! listens to costs one lock.
//!
//! Order: a channel's messages are delivered under its stripe's lock, so
//! all subscribers of a channel see them in one order, and one publisher's
//! messages (its commands run in order) in the order it published them,
//! wherever publisher and subscribers are. On the subscriber's side the
//! queue is FIFO and the connection writes it in order.
//!
//! Sharded pub/sub (SSUBSCRIBE, SPUBLISH) uses the same directory with its
//! own namespace: one host owns every slot, so every shard channel is
//! served here (cluster routing to other hosts is the client's, by slot).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use indexmap::IndexSet;

use crate::config::OutputBufferLimit;
use crate::glob::glob_match;
use crate::resp::{Proto, Reply};

/// What a subscription is to: a channel, a pattern, or a shard channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel = 0,
    Pattern = 1,
    Shard = 2,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Channel, Kind::Pattern, Kind::Shard];

    fn subscribed(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsubscribed(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// A message on its way to one subscriber: encoded by the subscriber's
/// connection, in the protocol it speaks when it writes it.
#[derive(Debug, Clone)]
pub struct Push {
    /// `message`, `pmessage` or `smessage`.
    pub kind: &'static str,
    pub pattern: Option<Bytes>,
    pub channel: Bytes,
    pub message: Bytes,
}

impl Push {
    /// `message channel payload`, or `pmessage pattern channel payload`:
    /// an array in RESP2, a push frame in RESP3.
    pub fn write(&self, out: &mut Vec<u8>, proto: Proto) {
        let mut r = Reply::new(out, proto);
        r.push(if self.pattern.is_some() { 4 } else { 3 });
        r.bulk(self.kind.as_bytes());
        if let Some(p) = &self.pattern {
            r.bulk(p);
        }
        r.bulk(&self.channel);
        r.bulk(&self.message);
    }
}

impl Push {
    /// Roughly the bytes it takes as a reply frame (what Redis counts
    /// against `client-output-buffer-limit`).
    fn size(&self) -> u64 {
        let pattern = self.pattern.as_ref().map_or(0, |p| p.len() + 16);
        (self.kind.len() + self.channel.len() + self.message.len() + pattern + 40) as u64
    }
}

/// What a subscriber has queued and not yet taken to write, shared by the
/// shards that deliver to it and its connection.
#[derive(Default)]
struct Backlog {
    bytes: AtomicU64,
    /// Unix ms since which it has been over the soft limit (0: it is not).
    over_soft_since: AtomicU64,
    /// Past a limit: the connection closes, nothing more is queued.
    overflowed: AtomicBool,
    /// The soft limit last applied, for the receiver's side of the clock.
    soft: AtomicU64,
    /// The connection waiting to write, woken when the queue overflows (a
    /// subscriber that does not read leaves its connection stuck writing).
    writer: futures::task::AtomicWaker,
}

/// The sending end of a subscriber's queue: what shards deliver into.
#[derive(Clone)]
pub struct Sender {
    tx: UnboundedSender<Push>,
    backlog: Arc<Backlog>,
}

impl Sender {
    /// Queues `push` unless the subscriber is past `limit` (the `pubsub`
    /// class of `client-output-buffer-limit`): a subscriber that does not
    /// read is disconnected, as Redis does, instead of growing without end.
    fn send(&self, push: Push, limit: OutputBufferLimit, now_ms: u64) {
        let b = &self.backlog;
        if b.overflowed.load(Ordering::Relaxed) {
            return;
        }
        b.soft.store(limit.soft, Ordering::Relaxed);
        let queued = b.bytes.fetch_add(push.size(), Ordering::Relaxed) + push.size();
        let over_soft = limit.soft > 0 && queued > limit.soft;
        let since = match over_soft {
            true => match b.over_soft_since.compare_exchange(0, now_ms, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => now_ms,
                Err(since) => since,
            },
            false => 0,
        };
        let soft_expired = over_soft && now_ms.saturating_sub(since) >= limit.soft_seconds * 1000;
        if (limit.hard > 0 && queued > limit.hard) || soft_expired {
            b.overflowed.store(true, Ordering::Relaxed);
            tracing::warn!(queued, "Client scheduled to be closed ASAP for overcoming of output buffer limits.");
            self.tx.close_channel();
            b.writer.wake();
            return;
        }
        let _ = self.tx.unbounded_send(push);
    }
}

/// The receiving end, the subscriber's connection's.
pub struct Receiver {
    rx: UnboundedReceiver<Push>,
    backlog: Arc<Backlog>,
}

impl Receiver {
    /// The next message, waiting for one; None once the queue is closed.
    pub async fn next(&mut self) -> Option<Push> {
        use futures::StreamExt;
        let push = self.rx.next().await?;
        self.taken(&push);
        Some(push)
    }

    /// The next message if one is queued.
    pub fn try_next(&mut self) -> Option<Push> {
        let push = self.rx.try_recv().ok()?;
        self.taken(&push);
        Some(push)
    }

    /// Nothing queued.
    pub fn is_empty(&self) -> bool {
        self.backlog.bytes.load(Ordering::Relaxed) == 0
    }

    /// The subscriber went past its output buffer limit: close it.
    pub fn overflowed(&self) -> bool {
        self.backlog.overflowed.load(Ordering::Relaxed)
    }

    /// Resolves once the subscriber overflows: a write to a client that
    /// does not read races it.
    pub async fn overflow(&self) {
        futures::future::poll_fn(|cx| {
            self.backlog.writer.register(cx.waker());
            match self.overflowed() {
                true => std::task::Poll::Ready(()),
                false => std::task::Poll::Pending,
            }
        })
        .await
    }

    fn taken(&self, push: &Push) {
        let b = &self.backlog;
        let left = b.bytes.fetch_sub(push.size(), Ordering::Relaxed).saturating_sub(push.size());
        // Back under the soft limit: its clock starts again.
        if left <= b.soft.load(Ordering::Relaxed) {
            b.over_soft_since.store(0, Ordering::Relaxed);
        }
    }
}

/// One connection's subscriptions, in the order it made them.
pub struct Subscriptions {
    tx: Sender,
    sets: [IndexSet<Bytes, ahash::RandomState>; 3],
}

impl Subscriptions {
    /// A connection's empty subscriptions and the queue its pushes arrive on.
    pub fn new() -> (Subscriptions, Receiver) {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let backlog = Arc::new(Backlog::default());
        let tx = Sender { tx, backlog: backlog.clone() };
        (Subscriptions { tx, sets: Default::default() }, Receiver { rx, backlog })
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.sets[kind as usize].len()
    }

    /// Any subscription at all: a RESP2 connection is in subscribed mode.
    pub fn active(&self) -> bool {
        self.sets.iter().any(|s| !s.is_empty())
    }

    /// The count a (un)subscribe confirmation carries: channels and patterns
    /// together, shard channels on their own (Redis 7.2).
    fn reply_count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.count(Kind::Shard),
            _ => self.count(Kind::Channel) + self.count(Kind::Pattern),
        }
    }
}

/// The connections subscribed to one name: (client id, its queue).
type Subscribers = Vec<(u64, Sender)>;

type Table = HashMap<Bytes, Subscribers, ahash::RandomState>;

/// Channel tables are split by a hash of the name so publishers to different
/// channels on different cores do not wait for one lock.
const STRIPES: usize = 64;

/// Every subscription of the server, by name, with the queue of each
/// subscriber: PUBLISH, SPUBLISH and keyspace notifications deliver straight
/// into those queues from whichever core runs them (the queues are
/// thread-safe and wake the subscriber's core), so a message costs no hop
/// between shards and nothing is asked of shards without subscribers.
///
/// Order: a publisher delivers under the lock of its channel's stripe, so
/// every subscriber of a channel sees its messages in one order, and one
/// publisher's messages in the order it published them.
pub struct Directory {
    /// Channels and shard channels ([`Kind::Channel`], [`Kind::Shard`]).
    stripes: Box<[Mutex<[Table; 2]>]>,
    patterns: RwLock<Table>,
    /// How many names have subscribers, per kind: INFO, and the fast path
    /// of a notification nobody listens to.
    names: [AtomicUsize; 3],
    hasher: ahash::RandomState,
}

impl Default for Directory {
    fn default() -> Directory {
        Directory {
            stripes: (0..STRIPES).map(|_| Mutex::default()).collect(),
            patterns: RwLock::default(),
            names: Default::default(),
            hasher: ahash::RandomState::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Directory {
    fn stripe(&self, name: &[u8]) -> &Mutex<[Table; 2]> {
        &self.stripes[self.hasher.hash_one(name) as usize % STRIPES]
    }

    /// Runs `f` on the table of `kind` that holds `name`.
    fn with_table<R>(&self, kind: Kind, name: &[u8], f: impl FnOnce(&mut Table) -> R) -> R {
        match kind {
            Kind::Pattern => f(&mut self.patterns.write().unwrap_or_else(|p| p.into_inner())),
            Kind::Channel | Kind::Shard => f(&mut lock(self.stripe(name))[kind as usize / 2]),
        }
    }

    fn add(&self, kind: Kind, name: &Bytes, client: u64, tx: &Sender) {
        self.with_table(kind, name, |t| {
            let subs = t.entry(name.clone()).or_default();
            if subs.is_empty() {
                self.names[kind as usize].fetch_add(1, Ordering::Relaxed);
            }
            subs.push((client, tx.clone()));
        })
    }

    fn remove(&self, kind: Kind, name: &[u8], client: u64) {
        self.with_table(kind, name, |t| {
            if let Some(subs) = t.get_mut(name) {
                subs.retain(|(id, _)| *id != client);
                if subs.is_empty() {
                    t.remove(name);
                    self.names[kind as usize].fetch_sub(1, Ordering::Relaxed);
                }
            }
        })
    }

    /// How many distinct names of `kind` have subscribers (INFO's
    /// pubsub_channels, pubsub_patterns, pubsubshard_channels).
    pub fn count(&self, kind: Kind) -> usize {
        self.names[kind as usize].load(Ordering::Relaxed)
    }

    /// Nobody subscribes to any channel or pattern: a PUBLISH or a keyspace
    /// notification reaches no one.
    pub fn is_idle(&self) -> bool {
        self.count(Kind::Channel) == 0 && self.count(Kind::Pattern) == 0
    }

    /// Delivers `message` to the subscribers of `channel` (a shard channel
    /// for `Kind::Shard`), then to those whose patterns match it; returns
    /// how many deliveries that made. Subscribers past `limit` are
    /// disconnected instead (see [`Sender`]).
    pub fn publish(
        &self,
        kind: Kind,
        channel: &Bytes,
        message: &Bytes,
        limit: OutputBufferLimit,
        now_ms: u64,
    ) -> usize {
        // A connection that is gone drops its queue; it is unregistered as
        // it closes, and still counted meanwhile.
        let send = |tx: &Sender, push: Push| tx.send(push, limit, now_ms);
        let stripe = lock(self.stripe(channel));
        let mut n = 0;
        if let Some(subs) = stripe[kind as usize / 2].get(channel) {
            let kind = if kind == Kind::Shard { "smessage" } else { "message" };
            for (_, tx) in subs {
                send(tx, Push { kind, pattern: None, channel: channel.clone(), message: message.clone() });
            }
            n += subs.len();
        }
        if kind == Kind::Channel && self.count(Kind::Pattern) > 0 {
            let patterns = self.patterns.read().unwrap_or_else(|p| p.into_inner());
            for (pattern, subs) in patterns.iter() {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                for (_, tx) in subs {
                    let push = Push {
                        kind: "pmessage",
                        pattern: Some(pattern.clone()),
                        channel: channel.clone(),
                        message: message.clone(),
                    };
                    send(tx, push);
                }
                n += subs.len();
            }
        }
        n
    }

    /// The channels (or shard channels) with subscribers, those matching
    /// `pattern` if given (PUBSUB CHANNELS, SHARDCHANNELS); every pattern
    /// for `Kind::Pattern`.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let wanted = |c: &&Bytes| pattern.is_none_or(|p| glob_match(p, c, false));
        match kind {
            Kind::Pattern => {
                let patterns = self.patterns.read().unwrap_or_else(|p| p.into_inner());
                patterns.keys().filter(wanted).cloned().collect()
            }
            Kind::Channel | Kind::Shard => {
                let mut out = Vec::new();
                for stripe in self.stripes.iter() {
                    out.extend(lock(stripe)[kind as usize / 2].keys().filter(wanted).cloned());
                }
                out
            }
        }
    }

    /// How many connections subscribe to `name` (PUBSUB NUMSUB, SHARDNUMSUB).
    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.with_table(kind, name, |t| t.get(name).map_or(0, Vec::len))
    }
}

/// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE: one confirmation per name, with the
/// connection's count after it.
pub fn subscribe(subs: &mut Subscriptions, dir: &Directory, client: u64, kind: Kind, names: &[Bytes], r: &mut Reply) {
    for name in names {
        if subs.sets[kind as usize].insert(name.clone()) {
            dir.add(kind, name, client, &subs.tx);
        }
        confirm(r, kind.subscribed(), Some(name), subs.reply_count(kind));
    }
}

/// UNSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE: one confirmation per name
/// (subscribed or not); with no names, one per subscription of that kind,
/// or a single one with a null name when there is none.
pub fn unsubscribe(subs: &mut Subscriptions, dir: &Directory, client: u64, kind: Kind, names: &[Bytes], r: &mut Reply) {
    let all: Vec<Bytes>;
    let names = if names.is_empty() {
        all = subs.sets[kind as usize].iter().cloned().collect();
        if all.is_empty() {
            confirm(r, kind.unsubscribed(), None, subs.reply_count(kind));
            return;
        }
        &all[..]
    } else {
        names
    };
    for name in names {
        if subs.sets[kind as usize].shift_remove(name) {
            dir.remove(kind, name, client);
        }
        confirm(r, kind.unsubscribed(), Some(name), subs.reply_count(kind));
    }
}

/// Drops every subscription of a connection, without replies (RESET, or
/// the connection closing).
pub fn unsubscribe_all(subs: &mut Subscriptions, dir: &Directory, client: u64) {
    for kind in Kind::ALL {
        for name in std::mem::take(&mut subs.sets[kind as usize]) {
            dir.remove(kind, &name, client);
        }
    }
}

/// `subscribe channel count`: an array in RESP2, a push frame in RESP3.
fn confirm(r: &mut Reply, what: &str, name: Option<&Bytes>, count: usize) {
    r.push(3);
    r.bulk(what.as_bytes());
    match name {
        Some(n) => r.bulk(n),
        None => r.null(),
    }
    r.int(count as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn frames(out: &[u8]) -> String {
        String::from_utf8_lossy(out).replace("\r\n", " ")
    }

    #[test]
    fn confirmations_count_channels_and_patterns_together() {
        let reg = Directory::default();
        let (mut subs, _rx) = Subscriptions::new();
        let mut out = Vec::new();
        let mut r = Reply::new(&mut out, Proto::Resp2);
        subscribe(&mut subs, &reg, 1, Kind::Channel, &[b("a"), b("a")], &mut r);
        subscribe(&mut subs, &reg, 1, Kind::Pattern, &[b("h*")], &mut r);
        subscribe(&mut subs, &reg, 1, Kind::Shard, &[b("s")], &mut r);
        assert_eq!(
            frames(&out),
            "*3 $9 subscribe $1 a :1 *3 $9 subscribe $1 a :1 *3 $10 psubscribe $2 h* :2 *3 $10 ssubscribe $1 s :1 "
        );
        out.clear();
        let mut r = Reply::new(&mut out, Proto::Resp3);
        unsubscribe(&mut subs, &reg, 1, Kind::Channel, &[], &mut r);
        unsubscribe(&mut subs, &reg, 1, Kind::Channel, &[], &mut r);
        assert_eq!(frames(&out), ">3 $11 unsubscribe $1 a :1 >3 $11 unsubscribe _ :1 ");
        assert!(subs.active());
        unsubscribe_all(&mut subs, &reg, 1);
        assert!(!subs.active());
        assert!(Kind::ALL.iter().all(|&k| reg.count(k) == 0 && reg.names(k, None).is_empty()));
    }

    #[test]
    fn publish_reaches_channel_and_pattern_subscribers() {
        let reg = Directory::default();
        let (mut subs, mut rx) = Subscriptions::new();
        let mut out = Vec::new();
        let mut r = Reply::new(&mut out, Proto::Resp2);
        subscribe(&mut subs, &reg, 7, Kind::Channel, &[b("news")], &mut r);
        subscribe(&mut subs, &reg, 7, Kind::Pattern, &[b("n?ws"), b("x*")], &mut r);
        let none = OutputBufferLimit::default();
        assert_eq!(reg.publish(Kind::Channel, &b("news"), &b("hi"), none, 0), 2);
        assert_eq!(reg.publish(Kind::Shard, &b("news"), &b("hi"), none, 0), 0);
        let mut out = Vec::new();
        while let Some(p) = rx.try_next() {
            p.write(&mut out, Proto::Resp3);
        }
        assert_eq!(frames(&out), ">3 $7 message $4 news $2 hi >4 $8 pmessage $4 n?ws $4 news $2 hi ");
        assert_eq!(reg.names(Kind::Channel, Some(b"n*")), vec![b("news")]);
        assert_eq!(reg.subscribers(Kind::Channel, b"news"), 1);
    }

    #[test]
    fn a_subscriber_past_its_output_limit_is_cut_off() {
        let reg = Directory::default();
        let (mut subs, mut rx) = Subscriptions::new();
        let mut out = Vec::new();
        subscribe(&mut subs, &reg, 7, Kind::Channel, &[b("c")], &mut Reply::new(&mut out, Proto::Resp2));
        let message = Bytes::from(vec![b'x'; 1000]);
        let hard = OutputBufferLimit { hard: 10_000, soft: 0, soft_seconds: 0 };
        for _ in 0..9 {
            reg.publish(Kind::Channel, &b("c"), &message, hard, 0);
        }
        assert!(!rx.overflowed());
        // Taking messages makes room again.
        assert!(rx.try_next().is_some());
        reg.publish(Kind::Channel, &b("c"), &message, hard, 0);
        assert!(!rx.overflowed());
        reg.publish(Kind::Channel, &b("c"), &message, hard, 0);
        assert!(rx.overflowed(), "past the hard limit");
        // Over the soft limit for its whole period, under the hard one.
        let (mut subs, rx) = Subscriptions::new();
        subscribe(&mut subs, &reg, 8, Kind::Channel, &[b("d")], &mut Reply::new(&mut out, Proto::Resp2));
        let soft = OutputBufferLimit { hard: 0, soft: 2_000, soft_seconds: 60 };
        for now in [1_000, 30_000, 60_999] {
            reg.publish(Kind::Channel, &b("d"), &message, soft, now);
            reg.publish(Kind::Channel, &b("d"), &message, soft, now);
            assert!(!rx.overflowed(), "at {now} ms");
        }
        reg.publish(Kind::Channel, &b("d"), &message, soft, 61_000);
        assert!(rx.overflowed(), "over the soft limit for 60 s");
    }
}
