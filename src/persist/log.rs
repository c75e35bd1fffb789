//! A shard's log, in memory: the frames its writes append, waiting for the
//! flusher ([`super::flush`]) to put them in the current segment, and the
//! replies waiting for them to be durable.
//!
//! Appending never does I/O and never waits: a command handler's write is
//! encoded into the open frame, and the frame is sealed when the flusher
//! takes the pending bytes (or the transaction id changes). The flusher
//! runs between batches, so one flush carries every write of a loop turn:
//! with `appendfsync always` that is one `fdatasync` for all of them
//! (group commit), and the replies of the batches it covers go out after it.

use std::collections::VecDeque;
use std::task::Waker;

use bytes::Bytes;

use super::codec::Put;
use super::format::{self, Kind, ENTRY_COMMAND, ENTRY_IMAGE};
use crate::config::FsyncPolicy;
use crate::shard::UnixMs;
use crate::tx::TxId;
use crate::types::Value;

/// Something to run once the bytes appended before it are durable.
pub type Waiter = Box<dyn FnOnce()>;

/// An argument vector to log, from borrowed arguments.
pub fn argv(args: &[&[u8]]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

/// Bytes for one segment, in append order.
pub struct Chunk {
    pub epoch: u64,
    pub buf: Vec<u8>,
}

pub struct ShardLog {
    /// `appendonly`: whether writes are logged at all.
    pub enabled: bool,
    pub policy: FsyncPolicy,
    /// The segment new frames go to.
    epoch: u64,
    chunks: Vec<Chunk>,
    /// The frame being filled: where it starts in the last chunk, and the
    /// transaction its entries belong to.
    open: Option<(usize, TxId)>,
    /// Bytes appended since start, and how many of them are durable (with
    /// `always`) or written (otherwise).
    appended: u64,
    durable: u64,
    waiters: VecDeque<(u64, Waiter)>,
    /// The flusher, asleep until there is something to write.
    flusher: Option<Waker>,
    /// The cross-shard transaction whose step is running, 0 outside one:
    /// entries appended meanwhile are tagged with it.
    pub tx: TxId,
    /// Writes since the last successful snapshot (`rdb_changes_since_last_save`).
    pub changes: u64,
    /// What the running command asks to be logged instead of itself (SPOP
    /// logs the SREM of what it popped: a replay must not draw again).
    pub rewrite: Option<Vec<Bytes>>,
    /// Sync the segment at the next flush whatever the policy (shutdown).
    pub sync_requested: bool,
}

impl ShardLog {
    pub fn new(enabled: bool, policy: FsyncPolicy, epoch: u64) -> ShardLog {
        ShardLog {
            enabled,
            policy,
            epoch,
            chunks: Vec::new(),
            open: None,
            appended: 0,
            durable: 0,
            waiters: VecDeque::new(),
            flusher: None,
            tx: 0,
            changes: 0,
            rewrite: None,
            sync_requested: false,
        }
    }

    /// Logs a command that ran with clock `now` in `db`.
    pub fn command(&mut self, now: u64, db: usize, args: &[Bytes]) {
        self.entry(ENTRY_COMMAND, now, db, |buf| {
            buf.put_u32(args.len() as u32);
            for a in args {
                buf.put_bytes(a);
            }
        });
    }

    /// Logs a key as a cross-shard step left it: its whole entry, or its
    /// absence.
    pub fn image(&mut self, now: u64, db: usize, key: &[u8], live: Option<(&Value, Option<UnixMs>)>) {
        self.entry(ENTRY_IMAGE, now, db, |buf| match live {
            Some((value, expire_at)) => {
                buf.push(1);
                super::codec::put_entry(buf, key, value, expire_at);
            }
            None => {
                buf.push(0);
                buf.put_bytes(key);
            }
        });
    }

    /// Appends one entry to the open frame: its tag, clock and db, then
    /// what `fill` writes. Counted as a change even when not logged.
    fn entry(&mut self, tag: u8, now: u64, db: usize, fill: impl FnOnce(&mut Vec<u8>)) {
        self.changes += 1;
        if !self.enabled {
            return;
        }
        let before = self.pending_len();
        let buf = self.entry_buf();
        buf.push(tag);
        buf.put_u64(now);
        buf.put_u32(db as u32);
        fill(buf);
        self.grew(before);
    }

    /// Logs the end of a writing cross-shard transaction here; `parts` is
    /// the number of shards it ran on, each of which logs its end.
    pub fn tx_end(&mut self, tx: TxId, parts: u32) {
        if !self.enabled {
            return;
        }
        self.seal();
        let before = self.pending_len();
        let buf = self.chunk_buf();
        format::frame(buf, Kind::TxEnd, |b| {
            b.put_u64(tx);
            b.put_u32(parts);
        });
        self.grew(before);
    }

    /// The open frame's buffer, opening one for the current transaction
    /// (sealing the open one if it belongs to another).
    fn entry_buf(&mut self) -> &mut Vec<u8> {
        if self.open.is_some_and(|(_, tx)| tx != self.tx) {
            self.seal();
        }
        if self.open.is_none() {
            let tx = self.tx;
            let buf = self.chunk_buf();
            let start = format::begin(buf, Kind::Entries);
            buf.put_u64(tx);
            self.open = Some((start, tx));
        }
        &mut self.chunks.last_mut().expect("open frame has a chunk").buf
    }

    /// The buffer of the current segment's chunk.
    fn chunk_buf(&mut self) -> &mut Vec<u8> {
        if self.chunks.last().is_none_or(|c| c.epoch != self.epoch) {
            self.chunks.push(Chunk { epoch: self.epoch, buf: Vec::new() });
        }
        &mut self.chunks.last_mut().expect("just pushed").buf
    }

    fn pending_len(&self) -> usize {
        self.chunks.iter().map(|c| c.buf.len()).sum()
    }

    /// Accounts for the bytes appended since the pending length was
    /// `before`, and wakes the flusher.
    fn grew(&mut self, before: usize) {
        self.appended += (self.pending_len() - before) as u64;
        if let Some(w) = self.flusher.take() {
            w.wake();
        }
    }

    /// Closes the open frame.
    pub fn seal(&mut self) {
        if let Some((start, _)) = self.open.take() {
            if let Some(c) = self.chunks.last_mut() {
                format::seal(&mut c.buf, start);
            }
        }
    }

    /// From now on frames go to segment `epoch` (a snapshot's cut).
    pub fn rotate(&mut self, epoch: u64) {
        self.seal();
        self.epoch = epoch;
    }

    /// Runs `then` once everything appended so far is durable: at once
    /// unless `appendfsync always` has bytes not yet synced.
    pub fn when_durable(&mut self, then: impl FnOnce() + 'static) {
        self.when_durable_since(0, then)
    }

    /// [`ShardLog::when_durable`] for work that appended nothing after
    /// [`ShardLog::mark`] `since` runs at once: a read does not wait for
    /// other clients' writes (nor for a disk that refuses them). Only a
    /// waiter is boxed: the common case allocates nothing.
    pub fn when_durable_since(&mut self, since: u64, then: impl FnOnce() + 'static) {
        if !self.must_wait_since(since) {
            return then();
        }
        self.waiters.push_back((self.appended, Box::new(then)));
    }

    /// Where the log stands: compare with a later mark to see whether some
    /// work appended anything.
    pub fn mark(&self) -> u64 {
        self.appended
    }

    /// Whether replies of work that began at `since` must wait for a sync.
    pub fn must_wait_since(&self, since: u64) -> bool {
        self.policy == FsyncPolicy::Always && self.appended > self.durable && self.appended > since
    }

    pub fn has_pending(&self) -> bool {
        !self.chunks.is_empty()
    }

    /// Everything appended has been written (and, with `always`, synced).
    pub fn is_drained(&self) -> bool {
        self.chunks.is_empty() && self.appended == self.durable
    }

    /// Asks the flusher for a sync and wakes it.
    pub fn request_sync(&mut self) {
        self.sync_requested = true;
        if let Some(w) = self.flusher.take() {
            w.wake();
        }
    }

    /// Everything appended, sealed, for the flusher; with the offset it
    /// reaches once written.
    pub fn take_pending(&mut self) -> (Vec<Chunk>, u64) {
        self.seal();
        (std::mem::take(&mut self.chunks), self.appended)
    }

    /// Puts back bytes the flusher could not write (disk full…), ahead of
    /// anything appended since, to be retried.
    pub fn put_back(&mut self, mut unwritten: Vec<Chunk>) {
        if unwritten.is_empty() {
            return;
        }
        // The open frame's start moves by what goes in front of its chunk.
        if let Some((start, tx)) = self.open {
            let first = self.chunks.first().map(|c| c.epoch);
            let ahead = match unwritten.last() {
                Some(last) if Some(last.epoch) == first && self.chunks.len() == 1 => last.buf.len(),
                _ => 0,
            };
            self.open = Some((start + ahead, tx));
        }
        let rest = std::mem::take(&mut self.chunks);
        for c in rest {
            match unwritten.last_mut() {
                Some(last) if last.epoch == c.epoch => last.buf.extend_from_slice(&c.buf),
                _ => unwritten.push(c),
            }
        }
        self.chunks = unwritten;
    }

    /// The bytes up to `upto` are durable (or written): returns the waiters
    /// that may go now. The caller runs them once it let go of the shard.
    pub fn durable_to(&mut self, upto: u64) -> Vec<Waiter> {
        self.durable = self.durable.max(upto);
        let mut ready = Vec::new();
        while self.waiters.front().is_some_and(|(at, _)| *at <= self.durable) {
            ready.push(self.waiters.pop_front().expect("checked").1);
        }
        ready
    }

    /// Waiters when the policy stops being `always`: nothing to wait for.
    pub fn release_waiters(&mut self) -> Vec<Waiter> {
        self.waiters.drain(..).map(|(_, w)| w).collect()
    }

    /// Parks the flusher until something is appended.
    pub fn park_flusher(&mut self, waker: Waker) {
        self.flusher = Some(waker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::format::{Frames, Next};
    use std::cell::Cell;
    use std::rc::Rc;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    fn frames(chunks: &[Chunk]) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        for c in chunks {
            let mut f = Frames::new(&c.buf);
            while let Next::Frame { payload, .. } = f.next_frame() {
                out.push((c.epoch, payload.to_vec()));
            }
            assert_eq!(f.next_frame(), Next::End);
        }
        out
    }

    #[test]
    fn one_frame_per_transaction_and_flush() {
        let mut log = ShardLog::new(true, FsyncPolicy::Everysec, 0);
        log.command(1, 0, &args(&["SET", "a", "1"]));
        log.command(1, 0, &args(&["SET", "b", "2"]));
        log.tx = 9;
        log.command(2, 0, &args(&["DEL", "a"]));
        log.tx_end(9, 2);
        log.tx = 0;
        log.rotate(1);
        log.command(3, 1, &args(&["SET", "c", "3"]));
        let (chunks, upto) = log.take_pending();
        let f = frames(&chunks);
        assert_eq!(f.iter().map(|(e, p)| (*e, p[0])).collect::<Vec<_>>(), [(0, 2), (0, 2), (0, 3), (1, 2)]);
        assert_eq!(&f[1].1[1..9], &9u64.to_le_bytes());
        assert_eq!(upto, chunks.iter().map(|c| c.buf.len() as u64).sum::<u64>());
        assert_eq!(log.changes, 4);
    }

    #[test]
    fn always_holds_replies_until_synced() {
        let mut log = ShardLog::new(true, FsyncPolicy::Always, 0);
        let ran = Rc::new(Cell::new(0));
        let r = ran.clone();
        log.when_durable(move || r.set(r.get() + 1));
        assert_eq!(ran.get(), 1, "nothing pending: at once");
        log.command(1, 0, &args(&["SET", "a", "1"]));
        let r = ran.clone();
        log.when_durable(move || r.set(r.get() + 1));
        assert_eq!(ran.get(), 1);
        let (_, upto) = log.take_pending();
        log.command(1, 0, &args(&["SET", "b", "1"]));
        let r = ran.clone();
        log.when_durable(move || r.set(r.get() + 10));
        for w in log.durable_to(upto) {
            w();
        }
        assert_eq!(ran.get(), 2, "only the waiter the flush covered");
    }

    #[test]
    fn reads_do_not_wait_for_other_writes() {
        let mut log = ShardLog::new(true, FsyncPolicy::Always, 0);
        log.command(1, 0, &args(&["SET", "a", "1"]));
        let mark = log.mark();
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        log.when_durable_since(mark, move || r.set(true));
        assert!(ran.get(), "appended nothing since its mark: no wait");
        assert!(log.must_wait_since(0));
    }

    #[test]
    fn unwritten_bytes_go_back_in_front() {
        let mut log = ShardLog::new(true, FsyncPolicy::Everysec, 0);
        log.command(1, 0, &args(&["SET", "a", "1"]));
        let (chunks, _) = log.take_pending();
        log.command(1, 0, &args(&["SET", "b", "2"]));
        log.put_back(chunks);
        log.command(1, 0, &args(&["SET", "c", "3"]));
        let (chunks, _) = log.take_pending();
        let f = frames(&chunks);
        assert_eq!(f.len(), 2, "a, then b and c in one frame");
        assert!(f[0].1.ends_with(b"a\x01\x31"));
    }

    #[test]
    fn disabled_logs_nothing_but_counts_changes() {
        let mut log = ShardLog::new(false, FsyncPolicy::Always, 0);
        log.command(1, 0, &args(&["SET", "a", "1"]));
        assert!(!log.has_pending());
        assert!(!log.must_wait_since(0));
        assert_eq!(log.changes, 1);
    }
}
