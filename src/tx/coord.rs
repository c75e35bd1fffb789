//! The coordinator's handle on a transaction: schedule it on its shards,
//! send it steps, release it (see the protocol in [`crate::tx`]).

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;

use super::locks::{Intents, Mode};
use super::sched::{self, Step, TxId};
use crate::server::dispatch::ShardRequest;
use crate::server::Core;

/// The reply when a shard could not take a message (the server is stopping).
pub const UNAVAILABLE: &str = "ERR shard unavailable (server shutting down)";

/// A shard could not take a message: it is gone (the server is stopping).
#[derive(Debug, Clone, Copy)]
pub struct Unavailable;

impl From<Unavailable> for &'static str {
    fn from(_: Unavailable) -> &'static str {
        UNAVAILABLE
    }
}

/// A scheduled transaction. Release it with [`Tx::release`] (every path:
/// a transaction left scheduled would block its keys for good).
pub struct Tx {
    core: Rc<Core>,
    pub id: TxId,
    /// Shards where it is still scheduled.
    held: RefCell<Vec<usize>>,
}

impl Tx {
    /// Schedules a transaction with `intents` on each shard named (each
    /// shard once), retrying with a fresh id while some shard refuses.
    pub async fn begin(core: &Rc<Core>, intents: Vec<(usize, Intents)>) -> Result<Tx, &'static str> {
        // A writing transaction logs its end on each of its shards, so
        // recovery can tell whether all its parts made it to disk.
        let writes = intents.iter().any(|(_, i)| i.is_whole() || i.keys().any(|(_, m)| *m == Mode::Write));
        let end = writes.then_some(intents.len() as u32);
        loop {
            let id = sched::next_id();
            let answers = intents.iter().map(|(shard, i)| schedule_on(core, *shard, id, i.clone(), end));
            let answers = futures::future::join_all(answers).await;
            let accepted: Vec<usize> =
                intents.iter().zip(&answers).filter(|(_, a)| matches!(a, Ok(true))).map(|((s, _), _)| *s).collect();
            let tx = Tx { core: core.clone(), id, held: RefCell::new(accepted) };
            if answers.iter().all(|a| matches!(a, Ok(true))) {
                return Ok(tx);
            }
            tx.end(false, true).await;
            if answers.iter().any(|a| a.is_err()) {
                return Err(UNAVAILABLE);
            }
            // Let the transactions we collided with make progress first.
            glommio::executor().yield_task_queue_now().await;
        }
    }

    /// Runs `job` as a step of this transaction on `shard`; with `release`,
    /// the transaction ends there right after (one message for both).
    pub async fn step<R, F>(&self, shard: usize, release: bool, job: F) -> Result<R, &'static str>
    where
        R: Send + 'static,
        F: FnOnce(&mut crate::shard::Shard) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let id = self.id;
        let step: Step = Box::new(move |s| {
            let result = job(s);
            if !release {
                let _ = tx.send(result);
                return;
            }
            sched::release(s, id, false, false);
            // With `appendfsync always` the answer waits for the log.
            s.persist.log.when_durable(move || drop(tx.send(result)));
        });
        if release {
            self.held.borrow_mut().retain(|&s| s != shard);
        }
        self.core.send(shard, ShardRequest::TxStep { id, step }).await?;
        rx.await.map_err(|_| UNAVAILABLE)
    }

    /// Ends the transaction on every shard still holding it; with `touch`,
    /// the watched keys it changed count as touched. With `appendfsync
    /// always`, returns once its end is durable on every shard.
    pub async fn release(&self, touch: bool) {
        self.end(touch, false).await
    }

    async fn end(&self, touch: bool, aborted: bool) {
        let held = std::mem::take(&mut *self.held.borrow_mut());
        let wait = !aborted && self.core.shard.borrow().persist.log.policy == crate::config::FsyncPolicy::Always;
        let mut acks = Vec::new();
        for shard in held {
            let (ack, rx) = if wait {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            } else {
                (None, None)
            };
            if self.core.send(shard, ShardRequest::Release { id: self.id, touch, aborted, ack }).await.is_ok() {
                acks.extend(rx);
            }
        }
        for ack in acks {
            let _ = ack.await;
        }
    }
}

impl Drop for Tx {
    /// A coordinator that stopped half-way (its task was cancelled) still
    /// gives its locks back.
    fn drop(&mut self) {
        let held = std::mem::take(&mut *self.held.borrow_mut());
        if held.is_empty() {
            return;
        }
        let (core, id) = (self.core.clone(), self.id);
        glommio::spawn_local(async move {
            let tx = Tx { core, id, held: RefCell::new(held) };
            tx.release(false).await;
        })
        .detach();
    }
}

async fn schedule_on(
    core: &Rc<Core>,
    shard: usize,
    id: TxId,
    intents: Intents,
    end: Option<u32>,
) -> Result<bool, &'static str> {
    let (done, rx) = oneshot::channel();
    core.send(shard, ShardRequest::Schedule { id, intents, end, done }).await?;
    rx.await.map_err(|_| UNAVAILABLE)
}
