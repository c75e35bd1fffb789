//! Blocking commands, the connection's side (the shard's side and the
//! protocol are in `shard::blocking`).
//!
//! A blocking command ends its pipeline round like a cross-shard command:
//! it runs after every command before it. [`start`] validates it, then
//! steps through the shards owning its keys in key order, each step trying
//! to serve it there and else registering it. If no step served it, the
//! connection waits ([`Blocked`]) for the first of: an outcome from a shard,
//! the timeout, CLIENT UNBLOCK, the client leaving or being killed. Then
//! [`Blocked::finish`] builds the reply and removes the registrations.

use std::rc::Rc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::channel::oneshot;

use crate::cmd::Resolved;
use crate::resp::Reply;
use crate::server::cross::Cross;
use crate::server::dispatch::Target;
use crate::server::shared::unix_ms;
use crate::server::Core;
use crate::shard::blocking::{attempt, Attempt, BlockSpec, Outcome, Waiter};

/// Clients blocked right now, server-wide (`INFO clients` blocked_clients).
static BLOCKED_CLIENTS: AtomicI64 = AtomicI64::new(0);

pub fn blocked_clients() -> i64 {
    BLOCKED_CLIENTS.load(Ordering::Relaxed).max(0)
}

/// The error a client unblocked with `CLIENT UNBLOCK id ERROR` gets.
const UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// A command waiting for its keys.
pub struct Blocked {
    cx: Cross,
    spec: &'static BlockSpec,
    waiter: Arc<Waiter>,
    rx: oneshot::Receiver<Outcome>,
    /// (shard, keys) of every registration, for the clean-up.
    registered: Vec<(usize, Vec<Bytes>)>,
    deadline: Option<Instant>,
    started: Instant,
    cmd: Resolved,
}

/// What ended the wait, as the connection saw it.
pub enum Wake {
    /// A shard (or CLIENT UNBLOCK) delivered an outcome.
    Delivered(Outcome),
    /// The timeout passed, or the client left: no outcome unless one is
    /// already on its way.
    GaveUp,
}

/// Runs a blocking command's first attempt: the reply if it completed
/// (served, or an error), else the wait to hand to the connection.
pub async fn start(
    core: &Rc<Core>,
    spec: &'static BlockSpec,
    r: Resolved,
    t: Target,
    args: Vec<Bytes>,
) -> Result<Vec<u8>, Blocked> {
    let started = Instant::now();
    let cx = Cross::new(core, t, unix_ms());
    let (positions, timeout_ms) = match (spec.parse)(&args) {
        Ok(p) => p,
        Err(e) => {
            let out = cx.error(&e);
            cx.record_call(r, started.elapsed().as_micros() as u64, &out);
            return Ok(out);
        }
    };
    // A deadline past what the clock can hold is forever.
    let deadline = (timeout_ms > 0).then(|| started.checked_add(Duration::from_millis(timeout_ms))).flatten();
    let (waiter, rx) = Waiter::new(t.client_id, t.db as usize, t.proto, args, spec);
    let mut blocked = Blocked { cx, spec, waiter, rx, registered: Vec::new(), deadline, started, cmd: r };
    // Consecutive keys of one shard are one step, in the command's key order.
    let mut i = 0;
    while i < positions.len() {
        let shard = blocked.cx.shard_of(&blocked.waiter.args[positions[i]]);
        let mut keys = Vec::new();
        while i < positions.len() && blocked.cx.shard_of(&blocked.waiter.args[positions[i]]) == shard {
            keys.push(blocked.waiter.args[positions[i]].clone());
            i += 1;
        }
        let (w, step_keys) = (blocked.waiter.clone(), keys.clone());
        match blocked.cx.on_keys(shard, &keys, move |ctx| attempt(ctx, &w, &step_keys)).await {
            Ok(Attempt::Registered) => blocked.registered.push((shard, keys)),
            Ok(Attempt::Served | Attempt::Gone) => return Ok(blocked.finish_now().await),
            Err(e) => {
                blocked.waiter.claim();
                let out = blocked.cx.error(e);
                blocked.unregister().await;
                return Ok(out);
            }
        }
    }
    BLOCKED_CLIENTS.fetch_add(1, Ordering::Relaxed);
    Err(blocked)
}

impl Blocked {
    pub fn waiter(&self) -> &Arc<Waiter> {
        &self.waiter
    }

    /// Waits for an outcome or the deadline (the connection races this
    /// with the client's socket and kill switch).
    pub async fn wait(&mut self) -> Wake {
        let outcome = &mut self.rx;
        match self.deadline {
            None => match outcome.await {
                Ok(o) => Wake::Delivered(o),
                Err(_) => Wake::GaveUp,
            },
            Some(deadline) => {
                let sleep = glommio::timer::sleep(deadline.saturating_duration_since(Instant::now()));
                match futures::future::select(outcome, std::pin::pin!(sleep)).await {
                    futures::future::Either::Left((Ok(o), _)) => Wake::Delivered(o),
                    _ => Wake::GaveUp,
                }
            }
        }
    }

    /// The reply once the wait ended with `wake`; removes the registrations.
    pub async fn finish(mut self, wake: Wake) -> Vec<u8> {
        BLOCKED_CLIENTS.fetch_sub(1, Ordering::Relaxed);
        let outcome = match wake {
            Wake::Delivered(o) => Some(o),
            // Too late to give up if a shard claimed it: its outcome is coming.
            Wake::GaveUp if self.waiter.claim() => None,
            Wake::GaveUp => (&mut self.rx).await.ok(),
        };
        let out = self.reply(outcome).await;
        self.unregister().await;
        self.record(&out);
        out
    }

    /// The end of a first attempt that was served (or claimed) at once.
    async fn finish_now(mut self) -> Vec<u8> {
        let outcome = (&mut self.rx).await.ok();
        let out = self.reply(outcome).await;
        self.unregister().await;
        self.record(&out);
        out
    }

    async fn reply(&self, outcome: Option<Outcome>) -> Vec<u8> {
        match outcome {
            Some(Outcome::Reply(out)) => out,
            Some(Outcome::Popped(elem)) => self.push_popped(elem).await,
            Some(Outcome::Unblocked { error: true }) => self.cx.error(UNBLOCKED),
            // Every blocking command, BLMOVE too, times out with a null
            // array (Redis's `replyToBlockedClientTimedOut`).
            Some(Outcome::Unblocked { error: false }) | None => self.cx.encode(|r| r.null_array()),
        }
    }

    /// BLMOVE across shards: the element was popped on the source's shard;
    /// push it on the destination's and reply.
    async fn push_popped(&self, elem: Vec<u8>) -> Vec<u8> {
        let Some(mv) = &self.spec.finish else {
            return self.cx.error("ERR internal blocking error");
        };
        let (push, restore) = (mv.push, mv.restore);
        let args = self.waiter.args.clone();
        let (proto, shard) = (self.cx.proto, self.cx.shard_of(&args[mv.dst_at]));
        let dst = [args[mv.dst_at].clone()];
        let step = self.cx.on_keys(shard, &dst, move |ctx| {
            let mut buf = Vec::new();
            let back = push(ctx, &args, elem, &mut Reply::new(&mut buf, proto));
            (buf, back, args)
        });
        let (out, back, args) = match step.await {
            Ok(done) => done,
            Err(e) => return self.cx.error(e),
        };
        if let Some(elem) = back {
            // Not lost: back to the source, and the client gets the error.
            let source = self.cx.shard_of(&args[1]);
            let src = [args[1].clone()];
            if let Err(e) = self.cx.on_keys(source, &src, move |ctx| restore(ctx, &args, elem)).await {
                return self.cx.error(e);
            }
        }
        out
    }

    async fn unregister(&mut self) {
        let (db, id) = (self.waiter.db, self.waiter.id);
        for (shard, keys) in std::mem::take(&mut self.registered) {
            let _ = self.cx.on(shard, move |ctx| ctx.shard.blocking.unregister(db, &keys, id)).await;
        }
    }

    fn record(&self, reply: &[u8]) {
        let usec = self.started.elapsed().as_micros() as u64;
        self.cx.record_call(self.cmd, usec, reply);
    }
}

/// `CLIENT UNBLOCK`: ends `w`'s wait if nobody has yet. True if it did.
pub fn unblock(w: &Waiter, error: bool) -> bool {
    if !w.claim() {
        return false;
    }
    w.deliver(Outcome::Unblocked { error });
    true
}
