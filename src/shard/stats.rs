//! Per-core counters, summed over cores by `INFO`.

use std::collections::BTreeMap;
use std::time::Instant;

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
    /// `total_reads_processed` / `total_writes_processed`: socket reads
    /// and writes for clients.
    pub reads_processed: u64,
    pub writes_processed: u64,
    /// `total_error_replies`; always the sum of `errors`' counts unless the
    /// table is disabled.
    pub error_replies: u64,
    /// `INFO errorstats`: error replies by prefix.
    pub errors: ErrorStats,
    /// `instantaneous_*`: rates sampled by [`Stats::sample_rates`].
    pub rates: Rates,
    /// Indexed by command id (see `cmd::registry`).
    pub commands: Vec<CommandStats>,
}

impl Stats {
    pub fn new(commands: usize) -> Stats {
        Stats { commands: vec![CommandStats::default(); commands], ..Stats::default() }
    }

    /// `CONFIG RESETSTAT`: every counter, the error table and the rate
    /// samples (as Redis's `resetServerStats` and `resetErrorTableStats`).
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
    /// One read of `bytes` from a client.
    pub fn count_read(&mut self, bytes: u64) {
        self.reads_processed += 1;
        self.net_input_bytes += bytes;
    }

    /// One write of `bytes` to a client.
    pub fn count_write(&mut self, bytes: u64) {
        self.writes_processed += 1;
        self.net_output_bytes += bytes;
    }
}

impl Stats {
    /// One executed command: `INFO commandstats` and
    /// `total_commands_processed`; `error` is the error it replied with, if
    /// it failed (see [`error_of`]).
    pub fn record_call(&mut self, id: u16, usec: u64, error: Option<&[u8]>) {
        self.commands_processed += 1;
        if let Some(c) = self.commands.get_mut(id as usize) {
            c.calls += 1;
            c.usec += usec;
        }
        if let Some(e) = error {
            self.record_failed(id, e);
        }
    }

    /// A command already counted by [`Stats::record_call`] whose reply,
    /// known only later (merged from several shards), is `error`.
    #[cold]
    pub fn record_failed(&mut self, id: u16, error: &[u8]) {
        if let Some(c) = self.commands.get_mut(id as usize) {
            c.failed_calls += 1;
        }
        self.record_error(error);
    }

    /// Command `id`, split over shards (counted when routed), once its
    /// parts are merged: the time its parts ran, wherever they ran, and its
    /// reply's error if any.
    pub fn record_split(&mut self, id: u16, usec: u64, error: Option<&[u8]>) {
        if let Some(c) = self.commands.get_mut(id as usize) {
            c.usec += usec;
        }
        if let Some(e) = error {
            self.record_failed(id, e);
        }
    }

    /// A command refused before running (unknown, arity, auth), given the
    /// error it was answered with: `rejected_calls` and the error counts.
    #[cold]
    pub fn record_rejected(&mut self, id: Option<u16>, error: &[u8]) {
        if let Some(c) = id.and_then(|id| self.commands.get_mut(id as usize)) {
            c.rejected_calls += 1;
        }
        self.record_error(error);
    }

    /// Every error reply, whatever sent it (commands, protocol errors):
    /// `total_error_replies` and `errorstats`, counted together so they
    /// agree. `error` is the reply (`-PREFIX text\r\n`) or its text.
    #[cold]
    pub fn record_error(&mut self, error: &[u8]) {
        self.error_replies += 1;
        self.errors.count(error_prefix(error));
    }
}

/// `reply` if it is an error (`-…`: Redis's errors are always simple
/// errors, in RESP3 too), for [`Stats::record_call`].
pub fn error_of(reply: &[u8]) -> Option<&[u8]> {
    (reply.first() == Some(&b'-')).then_some(reply)
}

/// The prefix Redis's `afterErrorReply` counts an error under: its first
/// word, if a space ends it within the first 32 bytes of `-PREFIX text`,
/// else `ERR`. Takes the reply with or without its `-` and CRLF.
pub fn error_prefix(error: &[u8]) -> &[u8] {
    let text = error.strip_prefix(b"-").unwrap_or(error);
    let head = &text[..text.len().min(31)];
    match head.iter().position(|&b| b == b' ' || b == b'\r' || b == b'\n') {
        Some(end) if head[end] == b' ' => &head[..end],
        _ => b"ERR",
    }
}

/// Error replies counted by prefix, as Redis's `server.errors`: at most
/// [`ErrorStats::LIMIT`] prefixes; one more disables the table until
/// `CONFIG RESETSTAT`, leaving only `ERRORSTATS_DISABLED` with count 1
/// (Redis 7.4's guard against error prefixes made up by clients).
#[derive(Debug, Default)]
pub struct ErrorStats {
    counts: BTreeMap<Box<[u8]>, u64>,
    disabled: bool,
}

impl ErrorStats {
    /// Redis's `ERROR_STATS_NUMBER`.
    pub const LIMIT: usize = 128;
    pub const DISABLED: &'static [u8] = b"ERRORSTATS_DISABLED";

    fn count(&mut self, prefix: &[u8]) {
        if self.disabled {
            return;
        }
        if let Some(n) = self.counts.get_mut(prefix) {
            *n += 1;
        } else if self.counts.len() >= Self::LIMIT {
            self.disable();
        } else {
            self.counts.insert(prefix.into(), 1);
        }
    }

    fn disable(&mut self) {
        self.counts.clear();
        self.counts.insert(Self::DISABLED.into(), 1);
        self.disabled = true;
    }

    /// (prefix, count) in byte order, as Redis's rax lists them.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.counts.iter().map(|(k, &n)| (&**k, n))
    }
}

/// Samples per rate, and how often they are taken (Redis's
/// `STATS_METRIC_SAMPLES` and serverCron's `run_with_period(100)`).
const SAMPLES: usize = 16;
const PERIOD_US: u64 = 100_000;

/// The `instantaneous_*` rates of one shard: ops/s and input/output bytes/s.
#[derive(Debug, Default)]
pub struct Rates {
    last: Option<Instant>,
    ops: Rate,
    input: Rate,
    output: Rate,
}

/// One rate: the per-second rates of the last [`SAMPLES`] periods
/// (Redis's `inst_metric`).
#[derive(Debug, Default)]
struct Rate {
    samples: [u64; SAMPLES],
    idx: usize,
    last_value: u64,
}

impl Rate {
    /// Redis's `trackInstantaneousMetric`: the rate since the last sample.
    fn track(&mut self, value: u64, elapsed_us: u64) {
        let delta = value.saturating_sub(self.last_value);
        self.samples[self.idx] = (delta as u128 * 1_000_000 / elapsed_us.max(1) as u128) as u64;
        self.idx = (self.idx + 1) % SAMPLES;
        self.last_value = value;
    }

    /// The sum of the samples: INFO adds the shards' sums and divides by
    /// [`SAMPLES`] once (Redis's `getInstantaneousMetric` is their mean).
    fn sum(&self) -> u64 {
        self.samples.iter().sum()
    }
}

impl Stats {
    /// Takes a rate sample if a period has passed since the last one; called
    /// from the shard's periodic work. The first call only starts the clock.
    pub fn sample_rates(&mut self, now: Instant) {
        let Some(last) = self.rates.last else {
            self.rates.last = Some(now);
            self.rates.ops.last_value = self.commands_processed;
            self.rates.input.last_value = self.net_input_bytes;
            self.rates.output.last_value = self.net_output_bytes;
            return;
        };
        let elapsed = now.saturating_duration_since(last).as_micros() as u64;
        if elapsed < PERIOD_US {
            return;
        }
        self.rates.last = Some(now);
        self.rates.ops.track(self.commands_processed, elapsed);
        self.rates.input.track(self.net_input_bytes, elapsed);
        self.rates.output.track(self.net_output_bytes, elapsed);
    }

    /// (ops, input bytes, output bytes) per second, each summed over the
    /// last [`SAMPLES`] samples.
    pub fn rate_sums(&self) -> [u64; 3] {
        [self.rates.ops.sum(), self.rates.input.sum(), self.rates.output.sum()]
    }
}

/// Turns a sum of samples into Redis's mean.
pub fn rate_mean(sum: u64) -> u64 {
    sum / SAMPLES as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn prefixes_as_redis_counts_them() {
        assert_eq!(error_prefix(b"-WRONGTYPE Operation against a key\r\n"), b"WRONGTYPE");
        assert_eq!(error_prefix(b"ERR syntax error"), b"ERR");
        assert_eq!(error_prefix(b"-NOAUTH Authentication required.\r\n"), b"NOAUTH");
        // No space: ERR, whatever the word.
        assert_eq!(error_prefix(b"-OOPS\r\n"), b"ERR");
        assert_eq!(error_prefix(b"-\r\n"), b"ERR");
        // The space must be within the first 32 bytes of `-PREFIX…`.
        let p30 = [b'X'; 30];
        let e = [&b"-"[..], &p30, b" tail\r\n"].concat();
        assert_eq!(error_prefix(&e), &p30[..]);
        let e = [&b"-Y"[..], &p30, b" tail\r\n"].concat();
        assert_eq!(error_prefix(&e), b"ERR");
        assert_eq!(error_prefix(b"- leading space"), b"");
    }

    #[test]
    fn errors_agree_with_total() {
        let mut s = Stats::new(2);
        s.record_call(0, 1, error_of(b"+OK\r\n"));
        s.record_call(0, 1, error_of(b"-WRONGTYPE Operation\r\n"));
        s.record_call(1, 1, Some(b"ERR x"));
        s.record_rejected(None, b"ERR unknown command 'x'");
        s.record_error(b"-ERR Protocol error: x\r\n");
        assert_eq!(s.error_replies, 4);
        let got: Vec<_> = s.errors.iter().collect();
        assert_eq!(got, vec![(&b"ERR"[..], 3), (&b"WRONGTYPE"[..], 1)]);
        assert_eq!(s.commands[0].failed_calls, 1);
        s.reset();
        assert_eq!(s.errors.iter().count(), 0);
        assert_eq!(s.error_replies, 0);
    }

    #[test]
    fn table_disables_past_the_limit_until_reset() {
        let mut s = Stats::new(0);
        for i in 0..ErrorStats::LIMIT {
            s.record_error(format!("-E{} x", i).as_bytes());
        }
        s.record_error(b"-E0 x");
        assert_eq!(s.errors.iter().count(), ErrorStats::LIMIT);
        s.record_error(b"-ONEMORE x");
        s.record_error(b"-E1 x");
        let got: Vec<_> = s.errors.iter().collect();
        assert_eq!(got, vec![(ErrorStats::DISABLED, 1)]);
        assert_eq!(s.error_replies, ErrorStats::LIMIT as u64 + 3);
        s.reset();
        s.record_error(b"-E1 x");
        assert_eq!(s.errors.iter().collect::<Vec<_>>(), vec![(&b"E1"[..], 1)]);
    }

    #[test]
    fn rates_average_sixteen_samples() {
        let mut s = Stats::new(0);
        let t0 = Instant::now();
        s.sample_rates(t0);
        s.commands_processed = 50;
        s.net_input_bytes = 1000;
        // Too soon: no sample.
        s.sample_rates(t0 + Duration::from_millis(50));
        assert_eq!(s.rate_sums(), [0, 0, 0]);
        s.sample_rates(t0 + Duration::from_millis(100));
        assert_eq!(s.rate_sums(), [500, 10_000, 0]);
        assert_eq!(rate_mean(s.rate_sums()[0]), 31);
        // Sixteen more periods of nothing push the sample out.
        for i in 2..18 {
            s.sample_rates(t0 + Duration::from_millis(100 * i));
        }
        assert_eq!(s.rate_sums(), [0, 0, 0]);
    }
}
