//! The slow log (SLOWLOG): commands that ran at least
//! `slowlog-log-slower-than` microseconds, newest first, at most
//! `slowlog-max-len` of them, as Redis's `slowlog.c`.
//!
//! One log for the server behind a lock: only slow commands and SLOWLOG
//! itself take it. A command is timed where it runs (a shard's batch, or
//! the connection) and logged by its connection, which knows the client's
//! address and name. Not logged yet: commands a cross-shard coordinator
//! runs (`server::cross`) and blocking commands that had to wait.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::cmd::{flag, Command};
use crate::config::Config;
use crate::server::client::Client;
use crate::server::shared::Shared;

/// Arguments kept of a logged command (`SLOWLOG_ENTRY_MAX_ARGC`).
const MAX_ARGC: usize = 32;
/// Bytes kept of an argument (`SLOWLOG_ENTRY_MAX_STRING`).
const MAX_STRING: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: u64,
    pub usec: u64,
    pub args: Vec<Vec<u8>>,
    /// `ip:port` of the client.
    pub peer: String,
    pub name: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct SlowLog {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// Newest first.
    entries: VecDeque<Entry>,
}

/// Whether a command that ran `usec` goes into the log.
pub fn is_slow(config: &Config, usec: u64) -> bool {
    let limit = config.slowlog_log_slower_than;
    limit >= 0 && usec >= limit as u64
}

/// The arguments as the log keeps them: at most 32, the last of a longer
/// list saying how many more there were; each at most 128 bytes, a longer
/// one saying how many bytes more.
fn kept<A: AsRef<[u8]>>(args: &[A]) -> Vec<Vec<u8>> {
    let n = args.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(n);
    for (i, a) in args[..n].iter().enumerate() {
        let a = a.as_ref();
        if i == MAX_ARGC - 1 && args.len() > MAX_ARGC {
            out.push(format!("... ({} more arguments)", args.len() - MAX_ARGC + 1).into_bytes());
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(s);
        } else {
            out.push(a.to_vec());
        }
    }
    out
}

impl SlowLog {
    /// Logs a command (`args`, its name first) that ran `usec`.
    pub fn push<A: AsRef<[u8]>>(&self, config: &Config, usec: u64, args: &[A], peer: String, name: Vec<u8>) {
        let max_len = config.slowlog_max_len as usize;
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let id = inner.next_id;
        inner.next_id += 1;
        let time = crate::server::shared::unix_ms() / 1000;
        inner.entries.push_front(Entry { id, time, usec, args: kept(args), peer, name });
        inner.entries.truncate(max_len);
    }

    /// The newest `count` entries (all when `None`), newest first.
    pub fn newest(&self, count: Option<usize>) -> Vec<Entry> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.iter().take(count.unwrap_or(usize::MAX)).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the log; ids keep counting, as in Redis.
    pub fn reset(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).entries.clear();
    }
}

/// Which arguments carry credentials that neither MONITOR nor the slow log
/// may show: every argument of AUTH, the user and password after HELLO's
/// AUTH, the values of sensitive settings (`requirepass`) in CONFIG SET.
fn credential_positions<A: AsRef<[u8]>>(name: &str, args: &[A]) -> Option<Box<dyn Fn(usize) -> bool>> {
    match name {
        "auth" => Some(Box::new(|i| i > 0)),
        "hello" => {
            let at = args.iter().position(|a| a.as_ref().eq_ignore_ascii_case(b"auth"))?;
            Some(Box::new(move |i| i == at + 1 || i == at + 2))
        }
        "config|set" => {
            let sensitive = |i: usize| crate::config::lookup(args[i].as_ref()).is_some_and(|s| s.is_sensitive());
            let values: Vec<usize> = (3..args.len()).step_by(2).filter(|&i| sensitive(i - 1)).collect();
            (!values.is_empty()).then(|| Box::new(move |i| values.contains(&i)) as Box<dyn Fn(usize) -> bool>)
        }
        _ => None,
    }
}

/// `args` with their credentials (see [`credential_positions`]) shown as
/// `(redacted)`, as MONITOR and the slow log show them; `None` when the
/// command carries none.
pub fn redacted<'a, A: AsRef<[u8]>>(name: &str, args: &'a [A]) -> Option<Vec<&'a [u8]>> {
    let secret = credential_positions(name, args)?;
    Some(args.iter().enumerate().map(|(i, a)| if secret(i) { &b"(redacted)"[..] } else { a.as_ref() }).collect())
}

/// Logs a command of `client` that ran `usec`, if that is slow.
/// (`config` is the caller's copy of the settings: no lock on the way.)
pub fn log<A: AsRef<[u8]>>(shared: &Shared, config: &Config, client: &Client, cmd: &Command, usec: u64, args: &[A]) {
    if !is_slow(config, usec) || cmd.has(flag::SKIP_SLOWLOG) {
        return;
    }
    let name = client.state.borrow().name.as_deref().unwrap_or_default().to_vec();
    let peer = client.addr.to_string();
    match redacted(cmd.name, args) {
        Some(shown) => shared.slowlog.push(config, usec, &shown, peer, name),
        None => shared.slowlog.push(config, usec, args, peer, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(slower_than: i64, max_len: u64) -> Config {
        Config { slowlog_log_slower_than: slower_than, slowlog_max_len: max_len, ..Config::default() }
    }

    #[test]
    fn threshold() {
        assert!(is_slow(&config(0, 1), 0));
        assert!(is_slow(&config(10, 1), 10));
        assert!(!is_slow(&config(10, 1), 9));
        assert!(!is_slow(&config(-1, 1), u64::MAX));
    }

    #[test]
    fn newest_first_capped_and_reset() {
        let log = SlowLog::default();
        let c = config(0, 2);
        for cmd in ["a", "b", "c"] {
            log.push(&c, 5, &[cmd], "1.2.3.4:5".into(), b"n".to_vec());
        }
        let got: Vec<(u64, Vec<u8>)> = log.newest(None).into_iter().map(|e| (e.id, e.args[0].clone())).collect();
        assert_eq!(got, [(2, b"c".to_vec()), (1, b"b".to_vec())]);
        assert_eq!(log.newest(Some(1)).len(), 1);
        log.reset();
        assert!(log.is_empty());
        log.push(&c, 5, &["d"], String::new(), Vec::new());
        assert_eq!(log.newest(None)[0].id, 3);
    }

    #[test]
    fn long_commands_are_trimmed_as_redis_does() {
        let args: Vec<Vec<u8>> = (0..40).map(|i| if i == 1 { vec![b'x'; 130] } else { b"a".to_vec() }).collect();
        let kept = kept(&args);
        assert_eq!(kept.len(), 32);
        assert_eq!(kept[1], [vec![b'x'; 128], b"... (2 more bytes)".to_vec()].concat());
        assert_eq!(kept[31], b"... (9 more arguments)");
        assert_eq!(kept[30], b"a");
    }
}
