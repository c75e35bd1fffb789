//! Moving a connection to the shard that owns its keys.
//!
//! A connection is served by the core that accepted it, and a command on a
//! key another core owns costs a round trip over the mesh. A client whose
//! rounds all go to one other shard (a benchmark on one key, an application
//! that hash-tags everything it touches into one slot) pays that hop on
//! every round; with as many threads as cores, every hop is also a sleep and
//! a wake-up of each core. After [`MOVE_AFTER`] such rounds in a row the
//! connection moves: its socket leaves this core's ring for the owner's,
//! its client state goes along, and the rest of its commands run where
//! their keys are. Dragonfly calls this connection migration.
//!
//! Only a plain connection moves (see `Connection::may_move`): pub/sub
//! subscriptions, MONITOR, MULTI, WATCH and blocked commands tie a client
//! to state on its core, and a half-parsed command to its parser.

use std::rc::Rc;
use std::sync::atomic::Ordering;

use super::client::{Client, Moving};
use super::dispatch::ShardRequest;
use super::transport::{self, Detached};
use super::Core;

/// Rounds in a row that ran wholly on one other shard before the
/// connection moves there: a client that alternates between shards does
/// not move back and forth, and one that settles on a shard moves early.
pub const MOVE_AFTER: u32 = 16;

/// Where a round's commands ran, as far as moving goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// Nowhere: the connection answered them itself (errors, QUEUED, PING
    /// in a transaction…). They run anywhere alike.
    Connection,
    /// On this core, or on several shards, or across shards.
    Home,
    /// Wholly on one other shard.
    Other(usize),
}

/// A connection's recent rounds: how many ran on one other shard in a row.
#[derive(Default)]
pub struct Affinity {
    shard: usize,
    rounds: u32,
}

impl Affinity {
    /// Counts a round; the shard to move to once [`MOVE_AFTER`] rounds in
    /// a row ran there alone.
    pub fn observe(&mut self, site: Site) -> Option<usize> {
        match site {
            Site::Connection => None,
            Site::Home => {
                self.rounds = 0;
                None
            }
            Site::Other(shard) => {
                if shard != self.shard {
                    self.shard = shard;
                    self.rounds = 0;
                }
                self.rounds += 1;
                (self.rounds >= MOVE_AFTER).then_some(shard)
            }
        }
    }
}

/// A connection between two cores: its socket and its client.
pub struct Arrival {
    socket: Detached,
    client: Moving,
}

impl Arrival {
    pub fn new(socket: Detached, client: Moving) -> Arrival {
        Arrival { socket, client }
    }
}

/// Hands the connection to `shard`, which serves it from then on. If that
/// shard is gone (shutdown), the connection closes.
pub async fn send(core: &Core, shard: usize, arrival: Arrival) {
    // A job runs with the shard borrowed, and glommio may start a task it
    // spawns right away: the connection starts once the job is over.
    let run = Box::new(move |_: &mut crate::shard::Shard| {
        glommio::spawn_local(async move {
            super::yield_once().await;
            arrive(Core::current(), arrival)
        })
        .detach();
    });
    if core.send(shard, ShardRequest::Job { intents: None, run }).await.is_ok() {
        core.shared.migrated_connections.fetch_add(1, Ordering::Relaxed);
    } else {
        core.shared.connected_clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Takes in a connection another core sent: on this core's ring, in its
/// registry, served here — unless this core is shutting down, when it
/// closes as every other client does.
fn arrive(core: Rc<Core>, arrival: Arrival) {
    if core.stopping.get() {
        core.shared.connected_clients.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    let (io, query) = transport::Conn::adopt(&core.sockets, arrival.socket);
    let client = Rc::new(Client::arrive(arrival.client));
    tracing::trace!(client = client.id, shard = core.id, "connection moved here");
    super::serve_client(core, io, client, query);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_after_enough_rounds_in_a_row_on_one_other_shard() {
        let mut a = Affinity::default();
        for _ in 1..MOVE_AFTER {
            assert_eq!(a.observe(Site::Other(1)), None);
            // Replies the connection makes itself neither count nor break the run.
            assert_eq!(a.observe(Site::Connection), None);
        }
        assert_eq!(a.observe(Site::Other(1)), Some(1));
    }

    #[test]
    fn a_round_at_home_or_elsewhere_starts_over() {
        let mut a = Affinity::default();
        for _ in 1..MOVE_AFTER {
            a.observe(Site::Other(1));
        }
        assert_eq!(a.observe(Site::Home), None);
        for _ in 1..MOVE_AFTER {
            assert_eq!(a.observe(Site::Other(1)), None);
        }
        assert_eq!(a.observe(Site::Other(2)), None);
        for _ in 2..MOVE_AFTER {
            assert_eq!(a.observe(Site::Other(2)), None);
        }
        assert_eq!(a.observe(Site::Other(2)), Some(2));
    }
}
