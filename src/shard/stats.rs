//! Per-core counters, summed over cores by `INFO`.

#[derive(Debug, Clone, Copy, Default)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub commands_processed: u64,
    pub connections_received: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub error_replies: u64,
    /// Indexed by command id (see `cmd::registry`).
    pub commands: Vec<CommandStats>,
}

impl Stats {
    pub fn new(commands: usize) -> Stats {
        Stats { commands: vec![CommandStats::default(); commands], ..Stats::default() }
    }

    /// `CONFIG RESETSTAT`.
    pub fn reset(&mut self) {
        let n = self.commands.len();
        *self = Stats::new(n);
    }
}

impl Stats {
    /// A read of one key: counts `keyspace_hits` / `keyspace_misses`.
    pub fn count_lookup(&mut self, hit: bool) {
        if hit {
            self.keyspace_hits += 1;
        } else {
            self.keyspace_misses += 1;
        }
    }
}

impl Stats {
    /// One executed command: `INFO commandstats` and `total_commands_processed`.
    pub fn record_call(&mut self, id: u16, usec: u64, failed: bool) {
        self.commands_processed += 1;
        if let Some(c) = self.commands.get_mut(id as usize) {
            c.calls += 1;
            c.usec += usec;
            c.failed_calls += failed as u64;
        }
        self.error_replies += failed as u64;
    }

    /// A command refused before running (arity, auth): `rejected_calls`.
    pub fn record_rejected(&mut self, id: Option<u16>) {
        self.error_replies += 1;
        if let Some(c) = id.and_then(|id| self.commands.get_mut(id as usize)) {
            c.rejected_calls += 1;
        }
    }
}
