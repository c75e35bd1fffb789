//! MONITOR: every command any client runs, streamed to the monitoring
//! connections wherever they live. The request path pays one relaxed atomic
//! load while nobody monitors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};

#[derive(Default)]
pub struct Monitors {
    count: AtomicUsize,
    subs: Mutex<Vec<(u64, UnboundedSender<Bytes>)>>,
}

impl Monitors {
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    pub fn add(&self, client_id: u64) -> UnboundedReceiver<Bytes> {
        let (tx, rx) = unbounded();
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.push((client_id, tx));
        self.count.store(subs.len(), Ordering::Relaxed);
        rx
    }

    pub fn remove(&self, client_id: u64) {
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|(id, _)| *id != client_id);
        self.count.store(subs.len(), Ordering::Relaxed);
    }

    pub fn feed(&self, line: Bytes) {
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|(_, tx)| tx.unbounded_send(line.clone()).is_ok());
        self.count.store(subs.len(), Ordering::Relaxed);
    }
}

/// One MONITOR line, as Redis prints it:
/// `+1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`.
pub fn format_line<A: AsRef<[u8]>>(unix_us: u64, db: usize, addr: &str, args: &[A]) -> Bytes {
    let mut out = Vec::with_capacity(64);
    out.push(b'+');
    out.extend_from_slice(format!("{}.{:06} [{} {}]", unix_us / 1_000_000, unix_us % 1_000_000, db, addr).as_bytes());
    for a in args {
        out.push(b' ');
        repr(a.as_ref(), &mut out);
    }
    out.extend_from_slice(b"\r\n");
    out.into()
}

/// Redis's `sdscatrepr`: a quoted, escaped, printable form of any bytes.
pub fn repr(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(c);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c),
            c => out.extend_from_slice(format!("\\x{:02x}", c).as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format() {
        let args = [Bytes::from_static(b"set"), Bytes::from_static(b"k\"\n\x01")];
        let line = format_line(1_339_518_083_107_412, 0, "127.0.0.1:60866", &args);
        assert_eq!(&line[..], &b"+1339518083.107412 [0 127.0.0.1:60866] \"set\" \"k\\\"\\n\\x01\"\r\n"[..]);
    }
}
