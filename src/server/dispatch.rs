//! The data path between a connection and the shards.
//!
//! A connection parses everything its last read delivered and *routes* each
//! command into a [`Pipeline`]: commands on one shard's keys go to that
//! shard's [`ShardBatch`]; multi-key and whole-keyspace commands are split
//! into one part per shard and merged later; connection commands answer at
//! once. Then the pipeline is *run*: one mesh message per remote destination
//! shard, the home shard's batch executed inline meanwhile, and the replies
//! re-assembled in the client's order into one buffer for one write.

use std::mem;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use futures::channel::oneshot;

use crate::cmd::{acl, flag, registry, zsets, Command, ConnCtx, Exec, Merge, Resolved};
use crate::resp::{Proto, Reply};
use crate::server::blocking::{self, Blocked};
use crate::server::migrate::Site;
use crate::server::shared::unix_ms;
use crate::server::slowlog;
use crate::server::Core;
use crate::server::{cross, merge};
use crate::shard::stats::error_of;
use crate::shard::{table, Db, Shard, ShardCtx};
use crate::tx::coord::Tx;
use crate::tx::sched::{self, Step};
use crate::tx::{watch, Intents, Mode, TxId};
use crate::types::zset::{self, Touch};
use crate::types::Value;

/// One command of a batch; its arguments are `args[start..start + argc]`.
pub struct ShardCmd {
    pub id: u16,
    pub start: u32,
    pub argc: u32,
    pub db: u16,
    pub proto: Proto,
    /// False for one part of a split command: the coordinator counts it once.
    pub counted: bool,
    pub client_id: u64,
}

/// The commands one pipeline sends to one shard, in client order.
#[derive(Default)]
pub struct ShardBatch {
    pub args: Vec<Bytes>,
    pub cmds: Vec<ShardCmd>,
    /// One transaction's commands (EXEC): clients blocked on keys it
    /// pushes to are served after the last one, not between them.
    pub atomic: bool,
}

impl ShardBatch {
    fn push(&mut self, cmd: ShardCmd, args: impl IntoIterator<Item = Bytes>) -> u32 {
        let start = self.args.len() as u32;
        self.args.extend(args);
        self.cmds.push(ShardCmd { start, argc: self.args.len() as u32 - start, ..cmd });
        self.cmds.len() as u32 - 1
    }

    fn clear(&mut self) {
        self.args.clear();
        self.cmds.clear();
        trim(&mut self.args, SCRATCH_ITEMS);
        trim(&mut self.cmds, SCRATCH_ITEMS);
    }
}

/// Scratch kept from round to round past these sizes is given back.
pub const SCRATCH_ITEMS: usize = 1024;
pub const SCRATCH_BYTES: usize = 64 * 1024;

/// A scratch vector emptied after a round keeps its capacity for the next
/// one (no allocation per command), unless one huge command or reply grew
/// it past `keep`: then it shrinks back, as Redis frees a client's argv
/// after each command and trims its buffers, so a connection does not hold
/// megabytes for a command it sent once.
pub fn trim<T>(v: &mut Vec<T>, keep: usize) {
    if v.capacity() > keep {
        v.shrink_to(keep);
    }
}

/// A batch's replies: RESP frames back to back, `ends[i]` closing the i-th;
/// `usec[i]` is how long the i-th command ran, for the commandstats of a
/// command split over shards (counted where it was routed).
#[derive(Default)]
pub struct BatchOutput {
    pub buf: Vec<u8>,
    pub ends: Vec<u32>,
    pub usec: Vec<u32>,
    /// The commands that go into the slow log (id, microseconds,
    /// arguments): the connection logs them, as it knows the client.
    pub slow: Vec<(u16, u64, Vec<Bytes>)>,
}

impl BatchOutput {
    pub fn reply(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    /// Empties it for the next batch; keeps capacity up to a bound.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.usec.clear();
        self.slow.clear();
        trim(&mut self.buf, SCRATCH_BYTES);
        trim(&mut self.ends, SCRATCH_ITEMS);
        trim(&mut self.usec, SCRATCH_ITEMS);
    }

    /// How long the parts `(shard, index)` of a split command ran, in all.
    pub fn usec_of(outputs: &[BatchOutput], parts: impl IntoIterator<Item = (usize, u32)>) -> u64 {
        parts.into_iter().map(|(shard, i)| outputs[shard].usec.get(i as usize).copied().unwrap_or(0) as u64).sum()
    }

    /// What a connection answers when a shard could not run its batch.
    pub fn unavailable(n: usize) -> BatchOutput {
        let mut out = BatchOutput::default();
        for _ in 0..n {
            out.buf.extend_from_slice(b"-ERR shard unavailable (server shutting down)\r\n");
            out.ends.push(out.buf.len() as u32);
            out.usec.push(0);
        }
        out
    }
}

/// A mesh message.
pub enum ShardRequest {
    /// A batch to run, and where to send its replies.
    Batch { batch: ShardBatch, done: oneshot::Sender<BatchOutput> },
    /// Work outside any transaction (a blocking command's attempt, a
    /// clean-up); with `intents`, it waits for conflicting locks first. The
    /// job sends its own result back.
    Job { intents: Option<Intents>, run: Step },
    /// Schedule transaction `id` here ([`crate::tx`]): accepted or refused.
    /// `end`: the shard count of a writing transaction (it logs its end).
    Schedule { id: TxId, intents: Intents, end: Option<u32>, done: oneshot::Sender<bool> },
    /// A step of transaction `id`, run when its turn comes.
    TxStep { id: TxId, step: Step },
    /// Transaction `id` ends here; with `touch`, the watched keys it
    /// changed count as touched; `aborted` when it never ran (refused);
    /// `ack` answers once its end is durable.
    Release { id: TxId, touch: bool, aborted: bool, ack: Option<oneshot::Sender<()>> },
}

/// Serves one mesh message on the shard that received it.
pub fn serve(shard: &mut Shard, req: ShardRequest) {
    match req {
        ShardRequest::Batch { batch, done } => {
            run_batch(shard, batch, Box::new(move |out| drop(done.send(out))));
        }
        ShardRequest::Job { intents: Some(intents), run } if shard.sched.locks().conflicts_with(&intents) => {
            sched::run_after_locks(shard, intents, run);
        }
        ShardRequest::Job { run, .. } => run(shard),
        ShardRequest::Schedule { id, intents, end, done } => {
            let _ = done.send(sched::schedule(shard, id, intents, end));
        }
        ShardRequest::TxStep { id, step } => sched::step(shard, id, step),
        ShardRequest::Release { id, touch, aborted, ack } => {
            sched::release(shard, id, touch, aborted);
            if let Some(ack) = ack {
                shard.persist.log.when_durable(move || {
                    let _ = ack.send(());
                });
            }
        }
    }
}

/// Where a batch's replies go once it ran.
pub type BatchDone = Box<dyn FnOnce(BatchOutput) + Send>;

/// Runs a batch now, or — when a transaction holds locks some of its
/// commands need — as a local transaction once those are released.
pub fn run_batch(shard: &mut Shard, batch: ShardBatch, done: BatchDone) {
    if !shard.sched.is_idle() {
        let intents = batch_intents(&batch);
        if shard.sched.locks().conflicts_with(&intents) {
            let work = Box::new(move |shard: &mut Shard| {
                let mut out = BatchOutput::default();
                let mark = shard.persist.log.mark();
                execute(shard, &batch, &mut out);
                shard.persist.log.when_durable_since(mark, move || done(out));
            });
            return sched::run_after_locks(shard, intents, work);
        }
    }
    let mut out = BatchOutput::default();
    let mark = shard.persist.log.mark();
    execute(shard, &batch, &mut out);
    // With `appendfsync always` the replies of writes wait for the log.
    shard.persist.log.when_durable_since(mark, move || done(out));
}

/// Looks up the keys of every command of the batch before any runs, so
/// that their cache misses overlap (see `Table::warm`): one command
/// on one key (or none) has nothing to overlap. Commands whose keys take
/// parsing to find (movable keys) are left out. Then, with the keys in the
/// cache, the members that hash, set and sorted-set commands name are
/// looked up in their collections, a run of commands on one collection at
/// a time ([`MemberRun`]). Where the argument after the key is not a member
/// (HSCAN's cursor) that costs one wasted lookup, nothing else.
fn prefetch_keys(shard: &Shard, batch: &ShardBatch) {
    let registry = registry();
    if let [only] = batch.cmds.as_slice() {
        let cmd = registry.by_id(only.id);
        if cmd.first_key == cmd.last_key {
            return;
        }
    }
    let args_of = |c: &ShardCmd| &batch.args[c.start as usize..(c.start + c.argc) as usize];
    let member_cmd = |cmd: &Command, args: &[Bytes]| {
        cmd.first_key == 1
            && cmd.last_key == 1
            && cmd.acl & (acl::HASH | acl::SET | acl::SORTEDSET) != 0
            && args.len() > 2
    };
    let mut members = false;
    let mut keys = KeyRun { db: None, keys: [&[]; table::WARM_KEYS], len: 0 };
    for c in &batch.cmds {
        let cmd = registry.by_id(c.id);
        let Some(db) = shard.dbs.get(c.db as usize) else { continue };
        if cmd.movable_keys.is_some() {
            continue;
        }
        let args = args_of(c);
        members |= member_cmd(cmd, args);
        for p in cmd.key_positions(args) {
            keys.push(db, &args[p]);
        }
    }
    keys.warm();
    if !members {
        return;
    }
    let mut run = MemberRun::new(0, &[], None);
    for c in &batch.cmds {
        let (cmd, args) = (registry.by_id(c.id), args_of(c));
        let Some(db) = shard.dbs.get(c.db as usize).filter(|_| member_cmd(cmd, args)) else { continue };
        if !run.holds(c.db, &args[1]) {
            run.warm();
            run = MemberRun::new(c.db, &args[1], db.value_hint(&args[1]));
        }
        match run.value {
            Some(Value::ZSet(_)) => zsets::touches(cmd.name, args, |member, touch| run.push(member, touch)),
            // The member or field after the key: HSET, HGET, SADD, SISMEMBER…
            Some(Value::Hash(_) | Value::Set(_)) => run.push(&args[2], Touch::Find),
            _ => {}
        }
    }
    run.warm();
}

/// Keys of consecutive commands of a batch on one db, looked up together
/// (`Table::warm`).
struct KeyRun<'a> {
    db: Option<&'a Db>,
    keys: [&'a [u8]; table::WARM_KEYS],
    len: usize,
}

impl<'a> KeyRun<'a> {
    fn push(&mut self, db: &'a Db, key: &'a [u8]) {
        if self.len == self.keys.len() || !self.db.is_some_and(|d| std::ptr::eq(d, db)) {
            self.warm();
            self.db = Some(db);
        }
        self.keys[self.len] = key;
        self.len += 1;
    }

    fn warm(&mut self) {
        if let Some(db) = self.db {
            db.warm(self.keys[..self.len].iter().copied());
        }
        self.len = 0;
    }
}

/// Consecutive commands of a batch on one hash, set or sorted set, whose
/// members are looked up together (`Buckets::warm`, `ZSet::warm`): each
/// lookup, and more so a skip-list walk, is a chain of dependent cache
/// misses, and taking several at once overlaps them.
struct MemberRun<'a> {
    db: u16,
    key: &'a [u8],
    value: Option<&'a Value>,
    touches: [(&'a [u8], Touch); MEMBER_RUN],
    len: usize,
}

/// Members warmed at a time: a ZADD that moves a member walks two places.
const MEMBER_RUN: usize = zset::WARM_PLACES / 2;

impl<'a> MemberRun<'a> {
    fn new(db: u16, key: &'a [u8], value: Option<&'a Value>) -> Self {
        MemberRun { db, key, value, touches: [(&[], Touch::Find); MEMBER_RUN], len: 0 }
    }

    fn holds(&self, db: u16, key: &[u8]) -> bool {
        self.db == db && self.key == key
    }

    fn push(&mut self, member: &'a [u8], touch: Touch) {
        if self.len == MEMBER_RUN {
            self.warm();
        }
        self.touches[self.len] = (member, touch);
        self.len += 1;
    }

    fn warm(&mut self) {
        let touches = &self.touches[..self.len];
        let members = touches.iter().map(|t| t.0);
        match self.value {
            Some(Value::Hash(h)) => h.warm(members),
            Some(Value::Set(s)) => s.warm(members),
            Some(Value::ZSet(z)) => z.warm(touches),
            _ => {}
        }
        self.len = 0;
    }
}

/// The shard that runs a single-key command: its key's owner; `home` (the
/// connection's own) for one without a key, or whose "key" is a shard
/// channel (SPUBLISH: delivered from anywhere, so not worth a hop).
pub fn keyed_shard(cmd: &Command, args: &[Bytes], shards: usize, home: usize) -> usize {
    match cmd.first_key {
        k if k > 0 && (k as usize) < args.len() && !cmd.has(flag::PUBSUB) => {
            crate::slot::shard_of_key(&args[k as usize], shards)
        }
        _ => home,
    }
}

/// What the commands of a batch touch, for the transaction locks.
pub fn batch_intents(batch: &ShardBatch) -> Intents {
    let registry = registry();
    let mut keys = Vec::new();
    let mut whole = false;
    for c in &batch.cmds {
        let args = &batch.args[c.start as usize..(c.start + c.argc) as usize];
        whole |= command_intents(registry.by_id(c.id), args, &mut keys);
    }
    let mut intents = Intents::from_keys(keys);
    if whole {
        intents.set_whole();
    }
    intents
}

/// Adds the keys `cmd` uses to `keys`, written or read as its flags say;
/// true if it uses the keyspace without naming its keys (FLUSHALL, KEYS,
/// RANDOMKEY), so it needs the whole shard.
pub fn command_intents(cmd: &Command, args: &[Bytes], keys: &mut Vec<(Bytes, Mode)>) -> bool {
    let mode = if cmd.has(flag::WRITE) { Mode::Write } else { Mode::Read };
    let before = keys.len();
    keys.extend(cmd.key_positions(args).filter_map(|p| args.get(p)).map(|k| (k.clone(), mode)));
    let keyless = keys.len() == before && cmd.has(flag::WRITE | flag::READONLY);
    keyless || cmd.coordinated_when.is_some_and(|reads_elsewhere| reads_elsewhere(args))
}

/// Runs a batch on the shard that owns it: synchronous, in order.
pub fn execute(shard: &mut Shard, batch: &ShardBatch, out: &mut BatchOutput) {
    let now = unix_ms();
    crate::shard::keyspace::set_clock(now);
    // Settings a handler reads (keyspace events, limits) as of this batch;
    // the dbs report expiries and new keys if someone listens for them.
    shard.listen();
    let registry = registry();
    prefetch_keys(shard, batch);
    let first = out.usec.len();
    let mut clock = BatchClock::start();
    for c in &batch.cmds {
        let cmd = registry.by_id(c.id);
        let args = &batch.args[c.start as usize..(c.start + c.argc) as usize];
        let before = out.buf.len();
        let watched = match cmd.has(flag::WRITE) {
            true => watch::snapshot_command(shard, c.db as usize, cmd, args),
            false => Vec::new(),
        };
        match cmd.exec {
            Exec::Keyed(h) | Exec::MultiKey(h, _) | Exec::AllShards(h, _) | Exec::Cross(h, _) => {
                let mut reply = Reply::new(&mut out.buf, c.proto);
                let mut ctx = ShardCtx { shard: &mut *shard, db: c.db as usize, now, client_id: c.client_id };
                h(&mut ctx, args, &mut reply);
            }
            // Inside MULTI a blocking command does not block.
            Exec::Blocking(spec) => {
                let mut reply = Reply::new(&mut out.buf, c.proto);
                let mut ctx = ShardCtx { shard: &mut *shard, db: c.db as usize, now, client_id: c.client_id };
                crate::shard::blocking::serve_now(&mut ctx, spec, args, &mut reply);
            }
            // Routing never sends these to a shard.
            Exec::Conn(_) | Exec::Server(_) | Exec::Container | Exec::Tx => {
                Reply::new(&mut out.buf, c.proto).error("ERR internal routing error");
            }
        }
        let instead = shard.persist.log.rewrite.take();
        if cmd.has(flag::WRITE) && out.buf.get(before) != Some(&b'-') {
            let logged = instead.as_deref().unwrap_or(args);
            shard.persist.log.command(now, c.db as usize, logged);
            // Redis counts a change per key written (MSET of 3 keys is 3).
            if logged.len() > 3 {
                shard.persist.log.changes += cmd.key_positions(logged).count().saturating_sub(1) as u64;
            }
        }
        if !watched.is_empty() {
            let reply = &out.buf[before..];
            let nothing = matches!(reply, b"$-1\r\n" | b"*-1\r\n" | b"_\r\n");
            if reply.first() != Some(&b'-') {
                watch::touch_changed(shard, watched, !nothing && watch::signals_always(cmd.name));
            }
        }
        if !batch.atomic {
            shard.after_command(now);
        } else {
            // Keyspace events stay in command order all the same.
            shard.flush_all_events(now);
        }
        out.ends.push(out.buf.len() as u32);
        out.usec.push(clock.lap());
    }
    if batch.atomic {
        shard.after_command(now);
    }
    clock.finish(&mut out.usec[first..]);
    for (i, c) in batch.cmds.iter().enumerate().filter(|(_, c)| c.counted) {
        let i = first + i;
        let usec = out.usec[i] as u64;
        shard.stats.record_call(c.id, usec, error_of(out.reply(i as u32)));
        // Only the threshold here, to copy no arguments in vain; the rest
        // of the rule is `slowlog::log`'s.
        if slowlog::is_slow(shard.config.get(), usec) {
            out.slow.push((c.id, usec, batch.args[c.start as usize..(c.start + c.argc) as usize].to_vec()));
        }
    }
}

/// Puts the commands the shards found slow into the slow log, as the
/// client's.
pub fn log_slow(core: &Core, ctx: &ConnCtx<'_>, outputs: &[BatchOutput]) {
    for &(id, usec, ref args) in outputs.iter().flat_map(|out| &out.slow) {
        slowlog::log(ctx.shared, core.shard.borrow().config.get(), ctx.client, registry().by_id(id), usec, args);
    }
}

/// Counts a command split over shards, once its parts are merged into
/// `reply`, and logs it if it was slow (the plain path and EXEC's).
pub fn record_split<A: AsRef<[u8]>>(core: &Core, ctx: &ConnCtx<'_>, id: u16, usec: u64, reply: &[u8], args: &[A]) {
    let mut shard = core.shard.borrow_mut();
    shard.stats.record_split(id, usec, error_of(reply));
    slowlog::log(ctx.shared, shard.config.get(), ctx.client, registry().by_id(id), usec, args);
}

/// Times the commands of a batch for their commandstats.
/// A clock reading costs about 35 ns on this kind of VM, 3-4% of a command
/// at pipeline 16, and the TSC about half that: so the clock is read twice
/// a batch and its time shared out between the commands by the TSC ticks
/// each took. The totals are the clock's, and no TSC frequency is needed.
struct BatchClock {
    started: Instant,
    last: u64,
}

impl BatchClock {
    fn start() -> BatchClock {
        BatchClock { started: Instant::now(), last: ticks() }
    }

    /// The ticks (in units of 16) since the last lap, for one command.
    fn lap(&mut self) -> u32 {
        let now = ticks();
        let lap = now.saturating_sub(self.last) >> 4;
        self.last = now;
        lap.min(u32::MAX as u64) as u32
    }

    /// Turns `laps` into microseconds of the batch's time.
    fn finish(self, laps: &mut [u32]) {
        share_out(self.started.elapsed().as_micros(), laps);
    }
}

/// Replaces each lap by its share of `total`, rounded so that the shares
/// add up to `total`: a batch of sixteen 0.4 µs commands counts 6 µs, not
/// sixteen times zero.
fn share_out(total: u128, laps: &mut [u32]) {
    let ticks: u128 = laps.iter().map(|&l| l as u128).sum();
    let (mut run, mut given) = (0u128, 0u128);
    for lap in laps {
        run += *lap as u128;
        let upto = (total * run).checked_div(ticks).unwrap_or(0);
        *lap = (upto - given).min(u32::MAX as u128) as u32;
        given = upto;
    }
}

/// A cheap monotonic counter: the TSC where there is one.
fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: RDTSC has no preconditions on x86_64.
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

enum Source {
    /// Answered by the connection itself: `inline[start..end]`.
    Inline { start: u32, end: u32 },
    /// The `idx`-th reply of `shard`'s batch.
    Shard { shard: u16, idx: u32 },
    /// Parts from several shards, merged.
    Split(u32),
    /// The round's cross-shard command, run after every batch: `cross_out`.
    Cross,
}

struct Slot {
    src: Source,
    hidden: bool,
}

struct Split {
    /// The command, for its commandstats.
    id: u16,
    merge: Merge,
    proto: Proto,
    /// Ranges into `Pipeline::{parts, owners, split_args}`.
    parts: (u32, u32),
    owners: (u32, u32),
    args: (u32, u32),
}

/// One round of a connection's commands on their way to the shards.
pub struct Pipeline {
    batches: Vec<ShardBatch>,
    outputs: Vec<BatchOutput>,
    slots: Vec<Slot>,
    inline: Vec<u8>,
    splits: Vec<Split>,
    parts: Vec<(u16, u32)>,
    owners: Vec<u16>,
    split_args: Vec<Bytes>,
    /// Remote batches in flight this round: (shard, commands, reply).
    pending: Vec<(usize, usize, Option<oneshot::Receiver<BatchOutput>>)>,
    /// A command whose keys span shards ends the round it is in; it runs
    /// once every command before it has.
    cross: Option<Barrier>,
    cross_out: Vec<u8>,
    /// The round holds a command split over shards that must look atomic
    /// (MSET, DEL, MGET, FLUSHALL…): it runs as one transaction.
    atomic: bool,
    /// Where the last round ran, for moving the connection there.
    site: Site,
}

/// What ends a round and runs after its batches.
enum Barrier {
    /// A cross-shard or blocking command.
    Command(Resolved, Target, Vec<Bytes>),
    /// EXEC of the client's queued transaction.
    Exec(Resolved, Target, crate::tx::exec::Queued),
}

/// Where a command's reply goes: its protocol, db and client.
#[derive(Clone, Copy)]
pub struct Target {
    pub db: u16,
    pub proto: Proto,
    pub client_id: u64,
}

impl Pipeline {
    pub fn new(shards: usize) -> Pipeline {
        Pipeline {
            batches: (0..shards).map(|_| ShardBatch::default()).collect(),
            outputs: (0..shards).map(|_| BatchOutput::default()).collect(),
            slots: Vec::new(),
            inline: Vec::new(),
            splits: Vec::new(),
            parts: Vec::new(),
            owners: Vec::new(),
            split_args: Vec::new(),
            pending: Vec::new(),
            cross: None,
            cross_out: Vec::new(),
            atomic: false,
            site: Site::Connection,
        }
    }

    /// Where the last round's commands ran.
    pub fn site(&self) -> Site {
        self.site
    }

    /// Where this round's commands are to run, before they do.
    fn site_of(&self, home: usize) -> Site {
        if self.atomic || self.cross.is_some() {
            return Site::Home;
        }
        let mut used = self.batches.iter().enumerate().filter(|(_, b)| !b.cmds.is_empty()).map(|(s, _)| s);
        match (used.next(), used.next()) {
            (None, _) => Site::Connection,
            (Some(s), None) if s != home => Site::Other(s),
            _ => Site::Home,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Answers a command in the connection: `write` fills the reply.
    pub fn answer(&mut self, proto: Proto, write: impl FnOnce(&mut Reply)) {
        let start = self.inline.len() as u32;
        write(&mut Reply::new(&mut self.inline, proto));
        self.slots.push(Slot { src: Source::Inline { start, end: self.inline.len() as u32 }, hidden: false });
    }

    /// Suppresses the reply of the command routed last (CLIENT REPLY OFF/SKIP).
    pub fn hide_last(&mut self) {
        if let Some(s) = self.slots.last_mut() {
            s.hidden = true;
        }
    }

    fn shard_cmd(r: Resolved, t: Target, counted: bool) -> ShardCmd {
        ShardCmd { id: r.id, start: 0, argc: 0, db: t.db, proto: t.proto, counted, client_id: t.client_id }
    }

    /// A command that runs whole on one shard. Its arguments move into the
    /// batch (an atomic reference count up and down less per argument)
    /// unless the caller `keep`s them, for MONITOR.
    pub fn to_shard(&mut self, shard: usize, r: Resolved, t: Target, args: &mut [Bytes], keep: bool) {
        let args = args.iter_mut().map(|a| if keep { a.clone() } else { std::mem::take(a) });
        let idx = self.batches[shard].push(Self::shard_cmd(r, t, true), args);
        self.slots.push(Slot { src: Source::Shard { shard: shard as u16, idx }, hidden: false });
    }

    /// A multi-key command: each shard gets the command over its own key
    /// groups (`keys` are (position, shard) pairs, groups `step` long).
    pub fn split_by_key(&mut self, r: Resolved, merge: Merge, t: Target, args: &[Bytes], keys: &[(usize, usize)]) {
        let step = r.cmd.step.max(1) as usize;
        let parts_start = self.parts.len() as u32;
        let owners_start = self.owners.len() as u32;
        let mut part_of_shard = vec![u16::MAX; self.batches.len()];
        for &(pos, shard) in keys {
            if part_of_shard[shard] == u16::MAX {
                part_of_shard[shard] = (self.parts.len() as u32 - parts_start) as u16;
                let idx = self.batches[shard].push(Self::shard_cmd(r, t, false), [args[0].clone()]);
                self.parts.push((shard as u16, idx));
            }
            let batch = &mut self.batches[shard];
            batch.args.extend(args[pos..pos + step].iter().cloned());
            if let Some(last) = batch.cmds.last_mut() {
                last.argc += step as u32;
            }
            self.owners.push(part_of_shard[shard]);
        }
        self.atomic |= r.cmd.has(flag::WRITE | flag::READONLY);
        self.push_split(r.id, merge, t.proto, parts_start, owners_start, args);
    }

    /// A command that needs keys of several shards together: it closes the
    /// round (the connection treats it as a barrier) and runs last.
    pub fn to_cross(&mut self, r: Resolved, t: Target, args: &[Bytes]) {
        debug_assert!(self.cross.is_none(), "a cross-shard command ends its round");
        self.cross = Some(Barrier::Command(r, t, args.to_vec()));
        self.slots.push(Slot { src: Source::Cross, hidden: false });
    }

    /// EXEC: like a cross-shard command, it closes the round and runs last.
    pub fn to_exec(&mut self, r: Resolved, t: Target, queued: crate::tx::exec::Queued) {
        debug_assert!(self.cross.is_none(), "EXEC ends its round");
        self.cross = Some(Barrier::Exec(r, t, queued));
        self.slots.push(Slot { src: Source::Cross, hidden: false });
    }

    /// A command every shard runs with the same arguments.
    pub fn to_all_shards(&mut self, r: Resolved, merge: Merge, t: Target, args: &[Bytes]) {
        let parts_start = self.parts.len() as u32;
        for shard in 0..self.batches.len() {
            let idx = self.batches[shard].push(Self::shard_cmd(r, t, false), args.iter().cloned());
            self.parts.push((shard as u16, idx));
        }
        let owners_start = self.owners.len() as u32;
        self.atomic |= self.batches.len() > 1 && r.cmd.has(flag::WRITE | flag::READONLY);
        self.push_split(r.id, merge, t.proto, parts_start, owners_start, args);
    }

    fn push_split(&mut self, id: u16, merge: Merge, proto: Proto, parts_start: u32, owners_start: u32, args: &[Bytes]) {
        let args_start = self.split_args.len() as u32;
        self.split_args.extend(args.iter().cloned());
        self.splits.push(Split {
            id,
            merge,
            proto,
            parts: (parts_start, self.parts.len() as u32),
            owners: (owners_start, self.owners.len() as u32),
            args: (args_start, self.split_args.len() as u32),
        });
        self.slots.push(Slot { src: Source::Split(self.splits.len() as u32 - 1), hidden: false });
    }

    /// Sends every remote batch (one message per shard), runs the home
    /// shard's batch inline, waits for the rest, and appends every reply in
    /// client order to `out`. A blocking command that has to wait (it ends
    /// the round) comes back instead: the connection waits for it, then
    /// calls [`Pipeline::finish_blocked`].
    pub async fn run(&mut self, core: &Rc<Core>, ctx: &mut ConnCtx<'_>, out: &mut Vec<u8>) -> Option<Blocked> {
        self.site = self.site_of(core.id);
        if std::mem::take(&mut self.atomic) {
            self.run_atomic(core).await;
        } else {
            self.run_batches(core).await;
        }
        match self.cross.take() {
            Some(Barrier::Command(r, t, args)) => {
                self.cross_out = match r.cmd.exec {
                    Exec::Blocking(spec) => match blocking::start(core, spec, r, t, args).await {
                        Ok(reply) => reply,
                        Err(blocked) => {
                            self.answer_before_blocking(core, ctx, out);
                            return Some(blocked);
                        }
                    },
                    _ => cross::run(core, r, t, args).await,
                }
            }
            Some(Barrier::Exec(r, t, queued)) => self.cross_out = crate::tx::exec::run(core, ctx, r, t, queued).await,
            None => {}
        }
        log_slow(core, ctx, &self.outputs);
        self.assemble(core, ctx, out);
        self.clear();
        None
    }

    /// The plain path: no transaction, one message per remote shard.
    async fn run_batches(&mut self, core: &Rc<Core>) {
        let home = core.id;
        let mut pending = std::mem::take(&mut self.pending);
        for shard in 0..self.batches.len() {
            if shard == home || self.batches[shard].cmds.is_empty() {
                continue;
            }
            let batch = mem::take(&mut self.batches[shard]);
            let n = batch.cmds.len();
            let (done, rx) = oneshot::channel();
            match core.mesh.send_to(shard, ShardRequest::Batch { batch, done }).await {
                Ok(()) => pending.push((shard, n, Some(rx))),
                Err(_) => pending.push((shard, n, None)),
            }
        }
        let mut synced = None;
        if !self.batches[home].cmds.is_empty() {
            let mut shard = core.shard.borrow_mut();
            if shard.sched.is_idle() {
                let mark = shard.persist.log.mark();
                execute(&mut shard, &self.batches[home], &mut self.outputs[home]);
                self.batches[home].clear();
                if shard.persist.log.must_wait_since(mark) {
                    let (tx, rx) = oneshot::channel::<()>();
                    shard.persist.log.when_durable(move || {
                        let _ = tx.send(());
                    });
                    synced = Some(rx);
                }
            } else {
                // A transaction is under way here: the batch may have to wait.
                let batch = mem::take(&mut self.batches[home]);
                let n = batch.cmds.len();
                let (done, rx) = oneshot::channel();
                run_batch(&mut shard, batch, Box::new(move |out| drop(done.send(out))));
                pending.push((home, n, Some(rx)));
            }
        }
        for (shard, n, rx) in pending.drain(..) {
            let output = match rx {
                Some(rx) => rx.await.ok(),
                None => None,
            };
            self.outputs[shard] = output.unwrap_or_else(|| BatchOutput::unavailable(n));
        }
        self.pending = pending;
        if let Some(rx) = synced {
            let _ = rx.await;
        }
    }

    /// A round holding a split command: its batches run as one transaction,
    /// scheduled on every shard they go to, each shard's batch one step.
    async fn run_atomic(&mut self, core: &Rc<Core>) {
        let shards: Vec<usize> = (0..self.batches.len()).filter(|&s| !self.batches[s].cmds.is_empty()).collect();
        let sizes: Vec<usize> = shards.iter().map(|&s| self.batches[s].cmds.len()).collect();
        let plan = shards.iter().map(|&s| (s, batch_intents(&self.batches[s]))).collect();
        let outputs = match Tx::begin(core, plan).await {
            Ok(tx) => {
                let steps: Vec<_> = shards
                    .iter()
                    .map(|&s| {
                        let batch = mem::take(&mut self.batches[s]);
                        tx.step(s, true, move |shard| {
                            let mut out = BatchOutput::default();
                            execute(shard, &batch, &mut out);
                            out
                        })
                    })
                    .collect();
                let outputs = futures::future::join_all(steps).await;
                tx.release(false).await;
                outputs
            }
            Err(e) => shards.iter().map(|_| Err(e)).collect(),
        };
        for ((shard, n), output) in shards.into_iter().zip(sizes).zip(outputs) {
            self.outputs[shard] = output.unwrap_or_else(|_| BatchOutput::unavailable(n));
            self.batches[shard].clear();
        }
    }

    /// The round's blocking command has to wait: the replies of the
    /// commands before it go to `out` now, as Redis writes a client's
    /// pending replies before it sleeps, so a client that reads each reply
    /// before it goes on is not left waiting for them. Only the blocking
    /// command's slot, the round's last, stays for [`Pipeline::finish_blocked`].
    fn answer_before_blocking(&mut self, core: &Core, ctx: &mut ConnCtx<'_>, out: &mut Vec<u8>) {
        log_slow(core, ctx, &self.outputs);
        let blocking = self.slots.pop();
        debug_assert!(matches!(blocking, Some(Slot { src: Source::Cross, .. })), "a blocking command ends its round");
        self.assemble(core, ctx, out);
        self.slots.clear();
        self.slots.extend(blocking);
    }

    /// Completes a round that ended in a blocking command, with its reply.
    pub fn finish_blocked(&mut self, core: &Core, reply: Vec<u8>, ctx: &mut ConnCtx<'_>, out: &mut Vec<u8>) {
        self.cross_out = reply;
        self.assemble(core, ctx, out);
        self.clear();
    }

    fn assemble(&mut self, core: &Core, ctx: &mut ConnCtx<'_>, out: &mut Vec<u8>) {
        for slot in &self.slots {
            if slot.hidden {
                continue;
            }
            match slot.src {
                Source::Inline { start, end } => out.extend_from_slice(&self.inline[start as usize..end as usize]),
                Source::Shard { shard, idx } => out.extend_from_slice(self.outputs[shard as usize].reply(idx)),
                Source::Cross => out.extend_from_slice(&self.cross_out),
                Source::Split(i) => {
                    let s = &self.splits[i as usize];
                    let parts: Vec<&[u8]> = self.parts[s.parts.0 as usize..s.parts.1 as usize]
                        .iter()
                        .map(|&(shard, idx)| self.outputs[shard as usize].reply(idx))
                        .collect();
                    let owners = &self.owners[s.owners.0 as usize..s.owners.1 as usize];
                    let args = &self.split_args[s.args.0 as usize..s.args.1 as usize];
                    let before = out.len();
                    merge::merge(s.merge, ctx, args, &parts, owners, &mut Reply::new(out, s.proto));
                    let parts = &self.parts[s.parts.0 as usize..s.parts.1 as usize];
                    let usec = BatchOutput::usec_of(&self.outputs, parts.iter().map(|&(shard, i)| (shard as usize, i)));
                    record_split(core, ctx, s.id, usec, &out[before..], args);
                }
            }
        }
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.inline.clear();
        self.splits.clear();
        self.parts.clear();
        self.owners.clear();
        self.split_args.clear();
        self.cross_out.clear();
        for o in &mut self.outputs {
            o.clear();
        }
        trim(&mut self.slots, SCRATCH_ITEMS);
        trim(&mut self.inline, SCRATCH_BYTES);
        trim(&mut self.splits, SCRATCH_ITEMS);
        trim(&mut self.parts, SCRATCH_ITEMS);
        trim(&mut self.owners, SCRATCH_ITEMS);
        trim(&mut self.split_args, SCRATCH_ITEMS);
        trim(&mut self.cross_out, SCRATCH_BYTES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_time_is_shared_out_by_ticks() {
        let mut laps = [10, 30, 0, 60];
        share_out(1000, &mut laps);
        assert_eq!(laps, [100, 300, 0, 600]);
        let mut even = [1; 16];
        share_out(6, &mut even);
        assert_eq!((even.iter().sum::<u32>(), even.iter().max()), (6, Some(&1)));
        let mut idle = [0, 0];
        share_out(5, &mut idle);
        assert_eq!(idle, [0, 0]);
        let mut clock = BatchClock::start();
        let mut laps = [clock.lap(), clock.lap()];
        clock.finish(&mut laps);
        assert!(laps.iter().all(|&us| us < 1_000_000));
    }
}
