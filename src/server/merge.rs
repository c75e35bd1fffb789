//! Reading shards' replies back: a multi-shard command's parts are RESP
//! frames written by the shards; these helpers take them apart to merge them.

use bytes::Bytes;

use crate::cmd::{ConnCtx, Merge};
use crate::resp::Reply;

/// The first part that is an error reply, if any.
pub fn first_error<'a>(parts: &[&'a [u8]]) -> Option<&'a [u8]> {
    parts.iter().copied().find(|p| p.first() == Some(&b'-'))
}

fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[1..end], end + 2))
}

fn number(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `:n\r\n` → n.
pub fn int_payload(frame: &[u8]) -> Option<i64> {
    if frame.first() != Some(&b':') {
        return None;
    }
    number(line(frame)?.0)
}

/// `$len\r\n<payload>\r\n` → payload.
pub fn bulk_payload(frame: &[u8]) -> Option<&[u8]> {
    if frame.first() != Some(&b'$') {
        return None;
    }
    let (len, start) = line(frame)?;
    let len = usize::try_from(number(len)?).ok()?;
    frame.get(start..start + len)
}

/// The length of the one complete reply frame at the start of `buf`
/// (RESP2 or RESP3), or None if it is not complete.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    let (head, mut at) = line(buf)?;
    match buf[0] {
        b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => Some(at),
        b'$' | b'=' | b'!' => {
            let n = number(head)?;
            if n < 0 {
                return Some(at);
            }
            let end = at + n as usize + 2;
            (end <= buf.len()).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = number(head)?;
            let items = if matches!(buf[0], b'%' | b'|') { 2 * n } else { n };
            for _ in 0..items.max(0) {
                at += frame_len(&buf[at..])?;
            }
            Some(at)
        }
        _ => None,
    }
}

/// Merges the parts of a command that ran on several shards.
/// `owners[i]` says which part answered the i-th key (for `Interleave`).
pub fn merge(kind: Merge, ctx: &mut ConnCtx, args: &[Bytes], parts: &[&[u8]], owners: &[u16], reply: &mut Reply) {
    if let Merge::Custom(f) = kind {
        return f(ctx, args, parts, reply);
    }
    if let Some(e) = first_error(parts) {
        return reply.buf.extend_from_slice(e);
    }
    match kind {
        Merge::SumInt => reply.int(parts.iter().filter_map(|p| int_payload(p)).sum()),
        Merge::AllOk => reply.ok(),
        Merge::Interleave => interleave(parts, owners, reply),
        Merge::Concat => concat(parts, reply),
        Merge::Custom(_) => unreachable!("handled above"),
    }
}

fn interleave(parts: &[&[u8]], owners: &[u16], reply: &mut Reply) {
    // Skip each part's array header; then take elements in key order.
    let mut cursors: Vec<usize> = parts.iter().map(|p| line(p).map_or(p.len(), |(_, at)| at)).collect();
    reply.array(owners.len());
    for &o in owners {
        let (part, at) = (parts[o as usize], &mut cursors[o as usize]);
        match frame_len(&part[*at..]) {
            Some(n) => {
                reply.buf.extend_from_slice(&part[*at..*at + n]);
                *at += n;
            }
            None => reply.null(),
        }
    }
}

fn concat(parts: &[&[u8]], reply: &mut Reply) {
    let mut n = 0;
    let mut bodies = Vec::with_capacity(parts.len());
    for p in parts {
        if let Some((head, at)) = line(p) {
            n += number(head).unwrap_or(0).max(0) as usize;
            bodies.push(&p[at..]);
        }
    }
    reply.array(n);
    for b in bodies {
        reply.buf.extend_from_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths() {
        assert_eq!(frame_len(b"+OK\r\nxx"), Some(5));
        assert_eq!(frame_len(b"$3\r\nfoo\r\n:1\r\n"), Some(9));
        assert_eq!(frame_len(b"$-1\r\n"), Some(5));
        assert_eq!(frame_len(b"*2\r\n$1\r\na\r\n_\r\n"), Some(14));
        assert_eq!(frame_len(b"%1\r\n+a\r\n:1\r\n"), Some(12));
        assert_eq!(frame_len(b"$3\r\nfo"), None);
    }

    #[test]
    fn payloads() {
        assert_eq!(int_payload(b":-42\r\n"), Some(-42));
        assert_eq!(bulk_payload(b"$3\r\na\r\n\r\n"), Some(&b"a\r\n"[..]));
        assert_eq!(first_error(&[b":1\r\n", b"-ERR x\r\n"]), Some(&b"-ERR x\r\n"[..]));
    }

    #[test]
    fn concatenates_arrays() {
        let mut out = Vec::new();
        concat(
            &[b"*1\r\n$1\r\na\r\n", b"*0\r\n", b"*2\r\n:1\r\n:2\r\n"],
            &mut Reply::new(&mut out, crate::resp::Proto::Resp2),
        );
        assert_eq!(out, b"*3\r\n$1\r\na\r\n:1\r\n:2\r\n");
    }

    #[test]
    fn interleaves_in_key_order() {
        let a: &[u8] = b"*2\r\n$1\r\n1\r\n$1\r\n3\r\n";
        let b: &[u8] = b"*1\r\n$-1\r\n";
        let mut out = Vec::new();
        let mut reply = Reply::new(&mut out, crate::resp::Proto::Resp2);
        interleave(&[a, b], &[0, 1, 0], &mut reply);
        assert_eq!(out, b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n");
    }
}
