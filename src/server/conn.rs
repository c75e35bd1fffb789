//! One client connection: read, parse, route, run, write — until the client
//! leaves, is killed, or the server shuts down.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::future::{select, Either};
use futures::StreamExt;
use tracing::{debug, warn};

use crate::cmd::{err, flag, registry, transactions, After, ConnCtx, Exec, LookupError, Resolved};
use crate::resp::Proto;
use crate::resp::{ParseLimits, Parser, ProtocolError};
use crate::server::blocking::{Blocked, Finish, Wake};
use crate::server::client::Client;
use crate::server::dispatch::{Pipeline, Target};
use crate::server::migrate::{Affinity, Arrival};
use crate::server::monitor;
use crate::server::shared::unix_us;
use crate::server::slowlog;
use crate::server::transport;
use crate::server::Core;
use crate::shard::stats::error_of;
use crate::slot::shard_of_key;

pub struct Connection {
    core: Rc<Core>,
    client: Rc<Client>,
    io: transport::Conn,
    query: BytesMut,
    parser: Parser,
    args: Vec<Bytes>,
    pipeline: Pipeline,
    out: Vec<u8>,
    after: After,
    monitor: Option<futures::channel::mpsc::UnboundedReceiver<Bytes>>,
    /// Pub/sub messages for this connection, from any shard's PUBLISH.
    pushes: Option<crate::pubsub::Receiver>,
    /// (shard, position) scratch for splitting multi-key commands.
    keys: Vec<(usize, usize)>,
    /// Where its recent rounds ran, and the shard it is to move to.
    affinity: Affinity,
    move_to: Option<usize>,
}

enum Event {
    Read(std::io::Result<usize>),
    Monitor(Option<Bytes>),
    Push(Option<crate::pubsub::Push>),
    Killed,
    Idle,
}

impl Connection {
    /// `query`: what the client sent already (a connection that moved here).
    pub fn new(core: Rc<Core>, io: transport::Conn, client: Rc<Client>, mut query: BytesMut) -> Connection {
        let shards = core.shared.shards;
        let pushes = client.take_pushes();
        query.reserve(IO_BUFFER);
        Connection {
            core,
            client,
            io,
            query,
            parser: Parser::new(),
            args: Vec::new(),
            pipeline: Pipeline::new(shards),
            out: Vec::with_capacity(IO_BUFFER),
            after: After::default(),
            monitor: None,
            pushes,
            keys: Vec::new(),
            affinity: Affinity::default(),
            move_to: None,
        }
    }

    /// Serves the client until it leaves, or until it is to move to the
    /// shard that owns its keys: then what that shard needs to go on.
    pub async fn serve(mut self) -> Option<(usize, Arrival)> {
        self.run().await;
        if let Some(shard) = self.move_to {
            return self.leave(shard).await;
        }
        crate::cmd::pubsub::forget(&self.core.shared, &self.client);
        if self.monitor.is_some() {
            self.core.shared.monitors.remove(self.client.id);
        }
        // A client that leaves while WATCHing: its keys are forgotten everywhere.
        if !self.client.state.borrow().watched.is_empty() {
            let shards: Vec<usize> = (0..self.core.shared.shards).collect();
            crate::tx::exec::unwatch(&self.core, self.client.id, &shards).await;
        }
        None
    }

    /// Takes the socket off this core and packs the client up for `shard`.
    async fn leave(self, shard: usize) -> Option<(usize, Arrival)> {
        let socket = self.io.detach().await;
        // CLIENT KILL (from any core) meanwhile: it closes here.
        if self.client.is_killed() {
            return None;
        }
        Some((shard, Arrival::new(socket, self.client.moving())))
    }

    /// Nothing ties the client to this core but its registry entry: no
    /// subscription or message still queued, MONITOR, MULTI, WATCH, and no
    /// half-parsed command. (A blocked command has ended by now.)
    fn may_move(&self) -> bool {
        let state = self.client.state.borrow();
        self.query.is_empty()
            && self.monitor.is_none()
            && state.multi.is_none()
            && state.watched.is_empty()
            && !self.client.pubsub.borrow().active()
            && self.pushes.as_ref().is_none_or(|p| p.is_empty())
            && !self.after.close
            && !self.client.is_killed()
    }

    async fn run(&mut self) {
        // A connection that moved here may have brought commands along.
        if !self.query.is_empty() && (!self.handle_input().await || self.move_to.is_some()) {
            return;
        }
        loop {
            match self.next_event().await {
                Event::Killed => return,
                Event::Idle => {
                    debug!(client = self.client.id, "closing idle client");
                    return;
                }
                Event::Monitor(None) => self.monitor = None,
                Event::Monitor(Some(line)) => {
                    if self.io.write_all(&line).await.is_err() {
                        return;
                    }
                }
                // Past its output buffer limit: Redis closes the client.
                Event::Push(_) if self.pushes.as_ref().is_some_and(|p| p.overflowed()) => return,
                Event::Push(None) => self.pushes = None,
                Event::Push(Some(push)) => {
                    let proto = self.client.state.borrow().proto;
                    push.write(&mut self.out, proto);
                    self.drain_pushes();
                    self.core.shard.borrow_mut().stats.count_write(self.out.len() as u64);
                    let written = {
                        let write = std::pin::pin!(self.io.write_all(&self.out));
                        let overflow = async {
                            match &self.pushes {
                                Some(rx) => rx.overflow().await,
                                None => futures::future::pending().await,
                            }
                        };
                        match select(write, std::pin::pin!(overflow)).await {
                            Either::Left((written, _)) => written.is_ok(),
                            // It stopped reading and went past its limit.
                            Either::Right(_) => false,
                        }
                    };
                    self.out.clear();
                    if !written {
                        return;
                    }
                }
                Event::Read(Err(_)) | Event::Read(Ok(0)) => return,
                Event::Read(Ok(n)) => {
                    self.core.shard.borrow_mut().stats.count_read(n as u64);
                    if !self.handle_input().await || self.move_to.is_some() {
                        return;
                    }
                }
            }
        }
    }

    async fn next_event(&mut self) -> Event {
        let idle = {
            let timeout = self.core.shard.borrow_mut().config.refresh(&self.core.shared).timeout;
            async move {
                if timeout == 0 {
                    futures::future::pending::<()>().await
                } else {
                    glommio::timer::sleep(Duration::from_secs(timeout)).await
                }
            }
        };
        let is_monitor = self.monitor.is_some();
        let read = self.io.read(&mut self.query);
        let killed = self.client.killed();
        let monitor = async {
            match &mut self.monitor {
                Some(rx) => rx.next().await,
                None => futures::future::pending().await,
            }
        };
        let read = std::pin::pin!(read);
        let killed = std::pin::pin!(killed);
        let pushed = async {
            match &mut self.pushes {
                Some(rx) => rx.next().await,
                None => futures::future::pending().await,
            }
        };
        let monitor = std::pin::pin!(monitor);
        let pushed = std::pin::pin!(pushed);
        let idle = std::pin::pin!(idle);
        let first = select(select(read, killed), select(select(monitor, pushed), idle));
        match first.await {
            Either::Left((Either::Left((r, _)), _)) => Event::Read(r),
            Either::Left((Either::Right(((), _)), _)) => Event::Killed,
            Either::Right((Either::Left((Either::Left((m, _)), _)), _)) => Event::Monitor(m),
            Either::Right((Either::Left((Either::Right((p, _)), _)), _)) => Event::Push(p),
            Either::Right((Either::Right(((), _)), _)) if is_monitor => Event::Monitor(None),
            Either::Right((Either::Right(((), _)), _)) => Event::Idle,
        }
    }

    /// Parses and runs everything complete in the query buffer, writing
    /// each round's replies in one go. False when the connection must close.
    async fn handle_input(&mut self) -> bool {
        let (max_bulk_len, query_limit, migrate) = {
            let mut shard = self.core.shard.borrow_mut();
            let c = shard.config.refresh(&self.core.shared);
            (c.proto_max_bulk_len, c.client_query_buffer_limit, c.migrate_connections)
        };
        // Measured as Redis measures it: a command's complete arguments do
        // not count, so a multi-argument command may exceed the limit in total.
        if self.parser.query_buffer_len(self.query.len()) as u64 > query_limit {
            warn!(client = self.client.id, addr = %self.client.addr, "closing client that reached max query buffer length");
            return false;
        }
        loop {
            // Messages published before these commands run go out before
            // their replies (an UNSUBSCRIBE's confirmation comes after the
            // messages it no longer receives).
            self.drain_pushes();
            // CLIENT LIST's `qbuf` while this round runs: what the round
            // started with, its own commands included (Redis trims its
            // query buffer only after running what it parsed).
            self.client.state.borrow_mut().qbuf = self.parser.query_buffer_len(self.query.len());
            let mut protocol_error: Option<ProtocolError> = None;
            let mut barrier = false;
            while !self.after.close && !barrier {
                let limits = ParseLimits { max_bulk_len, authenticated: self.client.state.borrow().authenticated };
                match self.parser.next(&mut self.query, &mut self.args, &limits) {
                    Ok(Some(_)) => {
                        let mut args = std::mem::take(&mut self.args);
                        barrier = self.route(&mut args);
                        self.args = args;
                        self.args.clear();
                        super::dispatch::trim(&mut self.args, super::dispatch::SCRATCH_ITEMS);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        protocol_error = Some(e);
                        break;
                    }
                }
            }
            if let Some(need) = self.parser.bulk_remaining() {
                // One allocation for a big value instead of doubling in steps.
                self.query.reserve(need.min(max_bulk_len as usize + 2));
            }
            self.client.state.borrow_mut().last_active = Instant::now();
            let ran = !self.pipeline.is_empty();
            if ran {
                let mut ctx = ConnCtx {
                    client: &self.client,
                    shared: &self.core.shared,
                    shard_id: self.core.id,
                    after: &mut self.after,
                };
                if let Some(blocked) = self.pipeline.run(&self.core, &mut ctx, &mut self.out).await {
                    // What ran before it is answered before it waits.
                    if !self.write_out().await {
                        let _ = blocked.finish(Wake::GaveUp).await;
                        return false;
                    }
                    let Some(reply) = self.wait_blocked(blocked, query_limit).await else {
                        return false;
                    };
                    let mut ctx = ConnCtx {
                        client: &self.client,
                        shared: &self.core.shared,
                        shard_id: self.core.id,
                        after: &mut self.after,
                    };
                    self.pipeline.finish_blocked(&self.core, reply, &mut ctx, &mut self.out);
                }
            }
            if let Some(e) = &protocol_error {
                debug!(client = self.client.id, error = %e, "protocol error");
                let at = self.out.len();
                e.write_reply(&mut self.out);
                self.core.shard.borrow_mut().stats.record_error(&self.out[at..]);
            }
            if !self.write_out().await {
                return false;
            }
            // A big command grew the query buffer: once it is consumed, a
            // fresh one (Redis trims query buffers too), so the connection
            // does not hold that much memory for as long as it lives.
            if self.query.is_empty() && self.query.capacity() > super::dispatch::SCRATCH_BYTES {
                self.query = BytesMut::with_capacity(IO_BUFFER);
            }
            // Between rounds: what is left unparsed, as Redis counts it.
            self.client.state.borrow_mut().qbuf = self.parser.query_buffer_len(self.query.len());
            let open = protocol_error.is_none() && !self.after.close && !self.client.is_killed();
            if open && ran && migrate {
                if let Some(shard) = self.affinity.observe(self.pipeline.site()) {
                    if self.may_move() {
                        self.move_to = Some(shard);
                        return true;
                    }
                }
            }
            // After a barrier, what is left in the buffer runs in a new round.
            if !open || !barrier {
                return open;
            }
        }
    }

    /// Appends the pub/sub messages already queued to the output, up to a
    /// write's worth, in the connection's protocol.
    fn drain_pushes(&mut self) {
        let Some(rx) = self.pushes.as_mut() else { return };
        let proto = self.client.state.borrow().proto;
        while self.out.len() < PUSH_WRITE {
            match rx.try_next() {
                Some(push) => push.write(&mut self.out, proto),
                None => break,
            }
        }
    }

    /// Writes the replies gathered in `out`, if any; false if the
    /// connection failed.
    async fn write_out(&mut self) -> bool {
        if self.out.is_empty() {
            return true;
        }
        self.core.shard.borrow_mut().stats.count_write(self.out.len() as u64);
        let written = self.io.write_all(&self.out).await;
        self.out.clear();
        super::dispatch::trim(&mut self.out, super::dispatch::SCRATCH_BYTES);
        written.is_ok()
    }

    /// Waits out a blocked command: its reply, or None if the client left
    /// (or was killed, or overflowed its query buffer) meanwhile. What the
    /// client sends while blocked is buffered for after the reply.
    async fn wait_blocked(&mut self, mut blocked: Blocked, query_limit: u64) -> Option<Vec<u8>> {
        loop {
            *self.client.blocked.borrow_mut() = Some(blocked.waiter().clone());
            let (wake, alive) = loop {
                let read = {
                    let wait = std::pin::pin!(blocked.wait());
                    let read = std::pin::pin!(self.io.read(&mut self.query));
                    let killed = std::pin::pin!(self.client.killed());
                    match select(wait, select(read, killed)).await {
                        Either::Left((wake, _)) => break (wake, true),
                        Either::Right((Either::Left((Ok(n), _)), _)) if n > 0 => n,
                        Either::Right(_) => break (Wake::GaveUp, false),
                    }
                };
                self.core.shard.borrow_mut().stats.count_read(read as u64);
                if self.parser.query_buffer_len(self.query.len()) as u64 > query_limit {
                    break (Wake::GaveUp, false);
                }
            };
            *self.client.blocked.borrow_mut() = None;
            match blocked.finish(wake).await {
                Finish::Reply(reply) => return alive.then_some(reply),
                Finish::Again(again) if alive => blocked = again,
                Finish::Again(again) => {
                    // Gone meanwhile: end the new wait too.
                    let _ = again.finish(Wake::GaveUp).await;
                    return None;
                }
            }
        }
    }

    /// Sends one parsed command on its way: answered here, or queued for the
    /// shard(s) that own its keys.
    ///
    /// Returns true for a barrier: a command whose effect on this very
    /// connection (CLIENT KILL of itself) must be known before the commands
    /// after it are even routed, or a cross-shard command, which must run
    /// after the commands before it and before the ones after it.
    /// Redis's `-MISCONF` (a write while the log or the last snapshot
    /// failed) and `-LOADING` (anything not flagged `loading` while the data
    /// is being loaded), checked before a command runs or is queued.
    fn persistence_refusal(&self, cmd: &crate::cmd::Command) -> Option<String> {
        let global = &self.core.shared.persist;
        if global.is_loading() && !cmd.has(flag::LOADING) {
            return Some(crate::persist::LOADING.to_string());
        }
        // Redis refuses PING too, so a health check sees the failure.
        if (cmd.has(flag::WRITE) || cmd.name == "ping") && !global.writes_ok() {
            let stop = self.core.shard.borrow().config.get().stop_writes_on_bgsave_error;
            return global.write_refusal(stop);
        }
        None
    }

    fn route(&mut self, args: &mut [Bytes]) -> bool {
        let resolved = match registry().lookup(args) {
            Ok(r) => r,
            Err(e) => {
                let id = match &e {
                    LookupError::Arity(r) => Some(r.id),
                    _ => None,
                };
                self.core.shard.borrow_mut().stats.record_rejected(id, e.to_string().as_bytes());
                let proto = self.client.state.borrow().proto;
                if matches!(&e, LookupError::Arity(r) if r.cmd.name == "exec") {
                    // Redis's `execCommandAbort`: the transaction, if any, is gone.
                    let msg = e.to_string();
                    let msg = format!("EXECABORT Transaction discarded because of: {}", msg.trim_start_matches("ERR "));
                    self.pipeline.answer(proto, |r| r.error(&msg));
                    self.discard_transaction(proto);
                    return false;
                }
                self.pipeline.answer(proto, |r| e.write(r));
                self.flag_transaction();
                return false;
            }
        };
        let cmd = resolved.cmd;
        let (db, proto, authenticated, in_multi) = {
            let s = self.client.state.borrow();
            (s.db, s.proto, s.authenticated, s.multi.is_some())
        };
        if !authenticated && !cmd.has(flag::NO_AUTH) {
            self.core.shard.borrow_mut().stats.record_rejected(Some(resolved.id), err::NOAUTH.as_bytes());
            self.pipeline.answer(proto, |r| r.error(err::NOAUTH));
            self.flag_transaction();
            self.finish_command();
            return false;
        }
        self.client.state.borrow_mut().last_cmd = cmd.name;
        if let Some(refusal) = self.persistence_refusal(cmd) {
            self.core.shard.borrow_mut().stats.record_rejected(Some(resolved.id), refusal.as_bytes());
            self.pipeline.answer(proto, |r| r.error(&refusal));
            self.flag_transaction();
            self.finish_command();
            return false;
        }
        if proto == Proto::Resp2 && !allowed_when_subscribed(cmd.name) && self.client.pubsub.borrow().active() {
            let msg = format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                cmd.name
            );
            self.core.shard.borrow_mut().stats.record_rejected(Some(resolved.id), msg.as_bytes());
            self.pipeline.answer(proto, |r| r.error(&msg));
            self.flag_transaction();
            self.finish_command();
            return false;
        }
        if in_multi && !runs_inside_multi(cmd.name) {
            self.queue(resolved, args, proto);
            self.finish_command();
            return false;
        }
        let target = Target { db: db as u16, proto, client_id: self.client.id };
        let shards = self.core.shared.shards;
        let mut cross = false;
        let had_watches = !self.client.state.borrow().watched.is_empty();
        // Arguments move into a shard's batch unless a MONITOR is to see them.
        let keep = self.core.shared.monitors.active();
        match cmd.exec {
            Exec::Tx => {
                cross = self.route_exec(resolved, target);
            }
            Exec::MultiKey(..) if cmd.name == "watch" && in_multi => {
                let error = transactions::WATCH_IN_MULTI.as_bytes();
                self.core.shard.borrow_mut().stats.record_call(resolved.id, 0, Some(error));
                self.pipeline.answer(proto, |r| r.error(transactions::WATCH_IN_MULTI));
            }
            Exec::AllShards(..) if cmd.name == "unwatch" && !had_watches => {
                self.core.shard.borrow_mut().stats.record_call(resolved.id, 0, None);
                self.pipeline.answer(proto, |r| r.ok());
            }
            Exec::Conn(handler) => {
                let started = Instant::now();
                let mut ctx = ConnCtx {
                    client: &self.client,
                    shared: &self.core.shared,
                    shard_id: self.core.id,
                    after: &mut self.after,
                };
                let mut failed = false;
                self.pipeline.answer(proto, |reply| {
                    let before = reply.buf.len();
                    handler(&mut ctx, args, reply);
                    let usec = started.elapsed().as_micros() as u64;
                    let error = error_of(&reply.buf[before..]);
                    failed = error.is_some();
                    let shard = &mut *self.core.shard.borrow_mut();
                    shard.stats.record_call(resolved.id, usec, error);
                    // As of after the command: CONFIG SET of the threshold applies to itself.
                    let config = shard.config.refresh(&self.core.shared);
                    slowlog::log(&self.core.shared, config, &self.client, resolved.cmd, usec, args);
                });
                // DISCARD and RESET also forget the WATCHed keys.
                if had_watches && matches!(cmd.name, "discard" | "reset") && !failed {
                    self.unwatch_all(target);
                }
                if self.after.monitor && self.monitor.is_none() {
                    // Subscribe now, not after the reply is written, so no
                    // command sent right after `+OK` is missed.
                    self.client.state.borrow_mut().monitor = true;
                    self.monitor = Some(self.core.shared.monitors.add(self.client.id));
                }
            }
            Exec::Keyed(_) => {
                let shard = super::dispatch::keyed_shard(cmd, args, shards, self.core.id);
                self.pipeline.to_shard(shard, resolved, target, args, keep);
            }
            Exec::MultiKey(_, merge) => {
                if cmd.name == "watch" {
                    let mut s = self.client.state.borrow_mut();
                    s.watched.extend(cmd.key_positions(args).map(|p| (db, args[p].clone())));
                }
                let step = cmd.step.max(1) as usize;
                if step > 1 && !(args.len() - cmd.first_key as usize).is_multiple_of(step) {
                    let msg = LookupError::Arity(resolved).to_string();
                    self.core.shard.borrow_mut().stats.record_rejected(Some(resolved.id), msg.as_bytes());
                    self.pipeline.answer(proto, |r| r.error(&msg));
                    self.finish_command();
                    return false;
                }
                self.keys.clear();
                self.keys.extend(cmd.key_positions(args).map(|p| (p, shard_of_key(&args[p], shards))));
                let first = self.keys.first().map_or(self.core.id, |k| k.1);
                if self.keys.iter().all(|k| k.1 == first) {
                    self.pipeline.to_shard(first, resolved, target, args, keep);
                } else {
                    self.core.shard.borrow_mut().stats.record_call(resolved.id, 0, None);
                    let keys = std::mem::take(&mut self.keys);
                    self.pipeline.split_by_key(resolved, merge, target, args, &keys);
                    self.keys = keys;
                }
            }
            Exec::Cross(..) => {
                // The one shard owning every key; keyless ones (SCAN,
                // RANDOMKEY) walk every shard unless there is only one.
                // A malformed key list (bad numkeys) is reported by the handler.
                let mut owners = cmd.key_positions(args).map(|p| shard_of_key(&args[p], shards));
                let elsewhere = shards > 1 && cmd.coordinated_when.is_some_and(|reads| reads(args));
                let single = match owners.next() {
                    _ if elsewhere => None,
                    Some(first) => owners.all(|s| s == first).then_some(first),
                    None if cmd.movable_keys.is_some() => Some(self.core.id),
                    None => (shards == 1).then_some(0),
                };
                if let Some(shard) = single {
                    self.pipeline.to_shard(shard, resolved, target, args, keep);
                } else {
                    self.pipeline.to_cross(resolved, target, args);
                    cross = true;
                }
            }
            Exec::Blocking(_) => {
                self.pipeline.to_cross(resolved, target, args);
                cross = true;
            }
            // DEBUG RELOAD saves and loads: server-wide work, not a shard's.
            Exec::AllShards(..)
                if cmd.name == "debug" && args.len() == 2 && args[1].eq_ignore_ascii_case(b"reload") =>
            {
                let reload = Resolved { cmd: &crate::cmd::persistence::DEBUG_RELOAD, id: resolved.id };
                self.pipeline.to_cross(reload, target, args);
                cross = true;
            }
            Exec::AllShards(_, merge) => {
                self.core.shard.borrow_mut().stats.record_call(resolved.id, 0, None);
                self.pipeline.to_all_shards(resolved, merge, target, args);
                if cmd.name == "unwatch" {
                    self.client.state.borrow_mut().watched.clear();
                }
            }
            Exec::Server(_) => {
                self.pipeline.to_cross(resolved, target, args);
                cross = true;
            }
            Exec::Container => unreachable!("lookup resolves containers to their subcommands"),
        }
        // Monitors see a command after it ran, in the db it left selected
        // (Redis feeds them from `call()`); a RESET monitor no longer sees its own.
        if keep && self.core.shared.monitors.active() && !cmd.has(flag::ADMIN | flag::SKIP_MONITOR) {
            let db = self.client.state.borrow().db;
            self.feed_monitors(db, cmd.name, args);
        }
        self.finish_command_with(crate::cmd::pubsub::confirms_as_push(cmd.name));
        cross || cmd.name == "client|kill"
    }

    /// Queues a command inside MULTI (Redis's `queueMultiCommand`): +QUEUED,
    /// or an error that makes EXEC abort.
    fn queue(&mut self, r: Resolved, args: &[Bytes], proto: Proto) {
        let mut s = self.client.state.borrow_mut();
        let Some(multi) = s.multi.as_mut() else { return };
        if r.cmd.has(flag::NO_MULTI) {
            multi.failed = true;
            drop(s);
            let error = transactions::NOT_IN_MULTI.as_bytes();
            self.core.shard.borrow_mut().stats.record_rejected(Some(r.id), error);
            return self.pipeline.answer(proto, |reply| reply.error(transactions::NOT_IN_MULTI));
        }
        multi.cmds.push((r, args.to_vec()));
        self.pipeline.answer(proto, |reply| reply.simple("QUEUED"));
    }

    /// A command refused while queueing fails the transaction (`flagTransaction`).
    fn flag_transaction(&mut self) {
        if let Some(multi) = self.client.state.borrow_mut().multi.as_mut() {
            multi.failed = true;
        }
    }

    /// EXEC: runs the queue as a barrier, or answers at once (not in MULTI,
    /// aborted). True if it is a barrier.
    fn route_exec(&mut self, r: Resolved, t: Target) -> bool {
        let multi = self.client.state.borrow_mut().multi.take();
        match multi {
            None => {
                let error = transactions::EXEC_WITHOUT_MULTI.as_bytes();
                self.core.shard.borrow_mut().stats.record_call(r.id, 0, Some(error));
                self.pipeline.answer(t.proto, |reply| reply.error(transactions::EXEC_WITHOUT_MULTI));
                false
            }
            Some(m) if m.failed => {
                let error = crate::tx::exec::EXECABORT.as_bytes();
                self.core.shard.borrow_mut().stats.record_call(r.id, 0, Some(error));
                self.pipeline.answer(t.proto, |reply| reply.error(crate::tx::exec::EXECABORT));
                self.discard_transaction(t.proto);
                false
            }
            Some(m) => {
                self.pipeline.to_exec(r, t, m.cmds);
                true
            }
        }
    }

    /// Redis's `discardTransaction`: out of MULTI, nothing watched.
    fn discard_transaction(&mut self, proto: Proto) {
        let (db, watching) = {
            let mut s = self.client.state.borrow_mut();
            s.multi = None;
            (s.db, !s.watched.is_empty())
        };
        if watching {
            self.unwatch_all(Target { db: db as u16, proto, client_id: self.client.id });
        }
    }

    /// Forgets the client's WATCHed keys on every shard, in the order of its
    /// commands, with no reply of its own.
    fn unwatch_all(&mut self, t: Target) {
        self.client.state.borrow_mut().watched.clear();
        let Ok(r) = registry().lookup(&[Bytes::from_static(b"unwatch")]) else { return };
        if let Exec::AllShards(_, merge) = r.cmd.exec {
            self.pipeline.to_all_shards(r, merge, t, &[Bytes::from_static(b"unwatch")]);
            self.pipeline.hide_last();
        }
    }

    /// CLIENT REPLY: hides this command's reply if the client asked for it,
    /// then moves a pending SKIP onto the next command (Redis's `resetClient`).
    fn finish_command(&mut self) {
        self.finish_command_with(false);
    }

    /// CLIENT REPLY OFF/SKIP hide the command's reply, unless it is made
    /// of pushes (`pushes`), which Redis sends all the same.
    fn finish_command_with(&mut self, pushes: bool) {
        let mut s = self.client.state.borrow_mut();
        if s.reply_mode.hides() && !pushes {
            self.pipeline.hide_last();
        }
        s.reply_mode.command_done();
    }

    fn feed_monitors(&self, db: usize, name: &str, args: &[Bytes]) {
        let addr = self.client.addr.to_string();
        let line = match slowlog::redacted(name, args) {
            Some(shown) => monitor::format_line(unix_us(), db, &addr, &shown),
            None => monitor::format_line(unix_us(), db, &addr, args),
        };
        self.core.shared.monitors.feed(line);
    }
}

/// A connection's query and reply buffers start this big (Redis's
/// PROTO_IOBUF_LEN), and a query buffer a big command grew starts over so.
const IO_BUFFER: usize = 16 * 1024;

/// How many bytes of queued pub/sub messages a connection gathers into one write.
const PUSH_WRITE: usize = 64 * 1024;

/// What a subscribed RESP2 connection may run (Redis's `processCommand`).
fn allowed_when_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// The commands that run, rather than queue, inside MULTI (Redis's
/// `processCommand`).
fn runs_inside_multi(name: &str) -> bool {
    matches!(name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}
