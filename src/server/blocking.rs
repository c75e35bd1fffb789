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
    /// The positions of the keys it waits on.
    positions: Vec<usize>,
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

/// How a wait ended.
pub enum Finish {
    /// The command's reply.
    Reply(Vec<u8>),
    /// Woken for a move across shards whose source was emptied first:
    /// waiting again, until the same deadline.
    Again(Blocked),
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
    let blocked = Blocked { cx, spec, waiter, rx, positions, registered: Vec::new(), deadline, started, cmd: r };
    blocked.attempt().await
}

impl Blocked {
    pub fn waiter(&self) -> &Arc<Waiter> {
        &self.waiter
    }

    /// Steps through the shards owning the keys, in key order: served on
    /// one (the reply), or registered on all (the wait).
    async fn attempt(mut self) -> Result<Vec<u8>, Blocked> {
        loop {
            // Consecutive keys of one shard are one step, in the command's key order.
            let mut i = 0;
            let mut served = false;
            while i < self.positions.len() {
                let shard = self.cx.shard_of(&self.waiter.args[self.positions[i]]);
                let mut keys = Vec::new();
                while i < self.positions.len() && self.cx.shard_of(&self.waiter.args[self.positions[i]]) == shard {
                    keys.push(self.waiter.args[self.positions[i]].clone());
                    i += 1;
                }
                let (w, step_keys) = (self.waiter.clone(), keys.clone());
                match self.cx.on_keys(shard, &keys, move |ctx| attempt(ctx, &w, &step_keys)).await {
                    Ok(Attempt::Registered) => self.registered.push((shard, keys)),
                    Ok(Attempt::Served | Attempt::Gone) => {
                        served = true;
                        break;
                    }
                    Err(e) => {
                        self.waiter.claim();
                        let out = self.cx.error(e);
                        self.unregister().await;
                        return Ok(out);
                    }
                }
            }
            if !served {
                BLOCKED_CLIENTS.fetch_add(1, Ordering::Relaxed);
                return Err(self);
            }
            let outcome = (&mut self.rx).await.ok();
            self.unregister().await;
            match self.reply(outcome).await {
                Some(out) => {
                    self.record(&out);
                    return Ok(out);
                }
                None => self.renew(),
            }
        }
    }

    /// A fresh waiter for another round of attempts.
    fn renew(&mut self) {
        let w = &self.waiter;
        let (waiter, rx) = Waiter::new(w.client_id, w.db, w.proto, w.args.clone(), self.spec);
        self.waiter = waiter;
        self.rx = rx;
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

    /// The reply once the wait ended with `wake`, or the wait again;
    /// removes the registrations.
    pub async fn finish(mut self, wake: Wake) -> Finish {
        BLOCKED_CLIENTS.fetch_sub(1, Ordering::Relaxed);
        let outcome = match wake {
            Wake::Delivered(o) => Some(o),
            // Too late to give up if a shard claimed it: its outcome is coming.
            Wake::GaveUp if self.waiter.claim() => None,
            Wake::GaveUp => (&mut self.rx).await.ok(),
        };
        self.unregister().await;
        if let Some(out) = self.reply(outcome).await {
            self.record(&out);
            return Finish::Reply(out);
        }
        self.renew();
        match self.attempt().await {
            Ok(out) => Finish::Reply(out),
            Err(blocked) => Finish::Again(blocked),
        }
    }

    /// The reply for `outcome`; None when a move across shards found the
    /// source empty again.
    async fn reply(&self, outcome: Option<Outcome>) -> Option<Vec<u8>> {
        Some(match outcome {
            Some(Outcome::Reply(out)) => out,
            Some(Outcome::Elsewhere) => return self.move_across().await,
            Some(Outcome::Unblocked { error: true }) => self.cx.error(UNBLOCKED),
            // Every blocking command, BLMOVE too, times out with a null
            // array (Redis's `replyToBlockedClientTimedOut`).
            Some(Outcome::Unblocked { error: false }) | None => self.cx.encode(|r| r.null_array()),
        })
    }

    /// BLMOVE whose destination is on another shard: the move, as one
    /// transaction over both keys.
    async fn move_across(&self) -> Option<Vec<u8>> {
        let Some(across) = self.spec.across else {
            return Some(self.cx.error("ERR internal blocking error"));
        };
        let args = self.waiter.args.clone();
        let keys = args.clone();
        let wrote = |out: &Option<Vec<u8>>| out.as_ref().is_some_and(|o| o.first() != Some(&b'-'));
        let run = self.cx.fresh().atomically(self.cmd.cmd, &keys, move |cx| across(cx, args), wrote);
        run.await.unwrap_or_else(|e| Some(self.cx.error(e)))
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
